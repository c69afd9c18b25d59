//! The auditors' pages: `GET /office` for auditors (the logs held here, evidence of forks, a record's history, the
//! bundle commands), `GET /office/audit/logs/{log}` (a log's tree head and signed checkpoint with its signers) and
//! `GET /office/audit/history?record=` (a record's signed history). They read through the API's own audit
//! handlers as the signed-in official, and show what those answer: the same rules (the register's log for
//! auditors and register officers only; a record's history for auditors and those who see the record).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hifazat_web::Text;
use hifazat_web::pages::{self, Problem};
use serde::Deserialize;
use serde_json::Value;

use super::super::{Reader, html};
use super::{Ctx, Official, desk, not_for_role};
use crate::AppState;
use crate::error::ApiError;

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

fn log_line(v: &Value) -> pages::LogLine {
    pages::LogLine {
        log: text(v, "log"),
        node: v["node"].as_str().map(str::to_owned),
        scope: text(v, "scope"),
        size: v["size"].as_u64().unwrap_or(0),
        root: text(v, "root"),
        head: text(v, "head"),
    }
}

/// The auditors' first page, with the history form's record and why it found nothing.
pub(super) async fn home(
    cx: Ctx<'_>,
    record: String,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    let t = Text::of(reader.lang);
    if official.who.caller.may_audit_logs().is_err() {
        return cx.problem(not_for_role(t, official.role));
    }
    let logs = crate::audit::logs(State(state.clone()), official.who.clone()).await;
    let evidence = crate::audit::evidence(State(state.clone()), official.who.clone()).await;
    let (logs, evidence) = match (logs, evidence) {
        (Ok(Json(logs)), Ok(Json(evidence))) => (
            serde_json::to_value(logs).unwrap_or_default(),
            serde_json::to_value(evidence).unwrap_or_default(),
        ),
        (Err(e), _) | (_, Err(e)) => return cx.failed(e),
    };
    let page = pages::AuditPage {
        frame: cx.frame(),
        logs: logs
            .as_array()
            .into_iter()
            .flatten()
            .map(log_line)
            .collect(),
        forks: evidence
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| pages::ForkLine {
                log: text(e, "log"),
                node: e["node"].as_str().map(str::to_owned),
                seq: e["second"]["seq"].as_u64().unwrap_or(0),
                hashes: vec![text(&e["first"], "hash"), text(&e["second"], "hash")],
            })
            .collect(),
        record,
        problem,
    };
    html(status, pages::render(&page))
}

/// `GET /office/audit/logs/{log}`: a log's tree head and newest signed checkpoint, and who signed it.
pub(crate) async fn log(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(log): Path<String>,
) -> Response {
    let desk = desk(&state, &reader, &official, "").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let got = crate::audit::checkpoint(State(state.clone()), official.who.clone(), Path(log)).await;
    let value = match got {
        Ok(Json(c)) => serde_json::to_value(c).unwrap_or_default(),
        Err(ApiError::Forbidden(_) | ApiError::Unauthenticated(_)) => {
            let t = Text::of(reader.lang);
            return cx.problem(not_for_role(t, official.role));
        }
        Err(ApiError::Invalid(_)) => return cx.problem(Problem::NotFound),
        Err(e) => return cx.failed(e),
    };
    let checkpoint = value["checkpoint"].as_str().map(str::to_owned);
    // A signed note's signature lines begin with an em dash and the signer's key name.
    let signers = checkpoint
        .as_deref()
        .map(|note| {
            note.lines()
                .filter_map(|l| l.strip_prefix("\u{2014} "))
                .filter_map(|l| l.split(' ').next())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let page = pages::AuditLogPage {
        frame: cx.frame(),
        line: log_line(&value),
        checkpoint,
        signers,
    };
    html(StatusCode::OK, pages::render(&page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct HistoryQuery {
    record: String,
}

/// `GET /office/audit/history?record=`: a record's signed history; a bad or unknown id comes back to the form
/// with why.
pub(crate) async fn history(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    let record = query.map(|Query(q)| q.record).unwrap_or_default();
    let record = record.trim().to_lowercase();
    let got = crate::audit::history(
        State(state.clone()),
        official.who.clone(),
        Path(record.clone()),
    )
    .await;
    let value = match got {
        Ok(Json(h)) => serde_json::to_value(h).unwrap_or_default(),
        Err(e) => {
            let (why, status) = match e {
                ApiError::Invalid(_) => ("audit.record.bad", StatusCode::UNPROCESSABLE_ENTITY),
                ApiError::NotFound(_) => ("audit.record.none", StatusCode::NOT_FOUND),
                ApiError::Forbidden(_) => {
                    return cx.problem(not_for_role(t, official.role));
                }
                e => return cx.failed(e),
            };
            let typed: String = record.chars().take(40).collect();
            let problem = Some(t.get(why).to_owned());
            if official.role == hifazat_access::Role::Auditor {
                return home(cx, typed, problem, status).await;
            }
            return cx.problem(Problem::NotFound);
        }
    };
    let page = pages::HistoryPage {
        frame: cx.frame(),
        record: text(&value, "record"),
        kind: text(&value, "kind"),
        changes: value["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| pages::ChangeLine {
                at_ms: c["at_ms"].as_u64().unwrap_or(0),
                node: c["node"].as_str().map(str::to_owned),
                actor: text(c, "actor"),
                scope: text(c, "scope"),
                seq: c["seq"].as_u64().unwrap_or(0),
                entry: text(c, "entry"),
                signature: text(c, "signature"),
                proof_size: c["proof"]["size"].as_u64().unwrap_or(0),
                proof_root: text(&c["proof"], "root"),
                checkpointed: c["proof"]["checkpoint"].is_string(),
                set_aside: c["set_aside"].as_bool().unwrap_or(false),
            })
            .collect(),
    };
    html(StatusCode::OK, pages::render(&page))
}
