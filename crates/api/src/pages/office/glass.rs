//! Break-glass on the officials' pages: `POST /office/alerts/{id}/break-glass` and `/office/cases/{id}/break-glass`
//! (the form on an alert's page and on a case's page outside the officer's area), `GET /office/break-glass` (the
//! uses the official oversees), and the latest uses on the station's queue and the area's dashboard. Every grant
//! and list goes through the API's own handler with the official as its caller.

use axum::Json;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hifazat_domain::RecordKind;
use hifazat_domain::glass::{GlassDraft, GlassUse};
use hifazat_limits::{
    GLASS_MINUTES_MAX, GLASS_REASON_CHARS_MAX, GLASS_REASON_CHARS_MIN, GLASS_USES_PER_DAY,
};
use hifazat_web::pages::{self, Problem};
use hifazat_web::{Lang, Text};
use serde::Deserialize;

use super::super::{Reader, district_name, html};
use super::records::{alert_page_with, outside_case_with};
use super::{Ctx, Official, desk};
use crate::AppState;
use crate::error::ApiError;

/// The uses a dashboard shows.
const DASHBOARD_USES: usize = 5;
/// Uses on one page of the list.
const LIST_PAGE: usize = 50;
const DAY_MS: u64 = 24 * 60 * 60 * 1_000;

/// What the break-glass form sends.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GlassBody {
    csrf: String,
    reason: String,
    minutes: String,
}

impl super::super::Posted for GlassBody {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Whether this official is offered break-glass on a record of `district`: police outside its area. (The API
/// refuses every other role, whatever they send.)
pub(crate) fn offered(cx: Ctx<'_>, district: &str) -> bool {
    matches!(
        cx.official
            .who
            .caller
            .may_break_glass(cx.state.engine.topology(), district),
        Ok(true)
    )
}

/// The form with the limits it is held to, as `body` was sent (empty when `None`), with what to correct.
fn form(
    official: &Official,
    body: Option<&GlassBody>,
    problems: Vec<pages::FieldProblem>,
) -> pages::GlassForm {
    pages::GlassForm {
        csrf: official.csrf().to_owned(),
        reason: body.map(|b| b.reason.clone()).unwrap_or_default(),
        minutes: body.map_or_else(|| "15".to_owned(), |b| b.minutes.clone()),
        problems,
        reason_min: GLASS_REASON_CHARS_MIN,
        reason_max: GLASS_REASON_CHARS_MAX,
        minutes_max: GLASS_MINUTES_MAX,
        per_day: GLASS_USES_PER_DAY,
    }
}

/// The empty form.
pub(crate) fn empty_form(official: &Official) -> pages::GlassForm {
    form(official, None, Vec::new())
}

/// The draft the API is sent, or the fields to correct (minutes that are not a number never reach it).
fn draft(t: &Text, body: &GlassBody) -> Result<GlassDraft, Vec<pages::FieldProblem>> {
    let minutes = body.minutes.trim().parse::<u32>();
    let mut problems = Vec::new();
    if body.reason.trim().chars().count() < GLASS_REASON_CHARS_MIN {
        problems.push(pages::glass_problem(t, "reason"));
    }
    match minutes {
        Ok(minutes) if problems.is_empty() => Ok(GlassDraft {
            reason: body.reason.clone(),
            minutes,
        }),
        Ok(_) => Err(problems),
        Err(_) => {
            problems.push(pages::glass_problem(t, "minutes"));
            Err(problems)
        }
    }
}

/// What the API's refusal says to correct, in the reader's language; `None` when it is not the form's to correct.
fn problems_of(t: &Text, error: &ApiError) -> Option<Vec<pages::FieldProblem>> {
    match error {
        ApiError::Invalid(errors) => {
            let mut problems: Vec<pages::FieldProblem> = Vec::new();
            for e in errors {
                let field = if e.field == "minutes" {
                    "minutes"
                } else {
                    "reason"
                };
                if !problems.iter().any(|p| p.field == field) {
                    problems.push(pages::glass_problem(t, field));
                }
            }
            Some(problems)
        }
        ApiError::RateLimited(_) => Some(vec![pages::FieldProblem {
            field: "",
            message: pages::glass_problem(t, "limit").message,
        }]),
        _ => None,
    }
}

/// The status a refusal the form shows again is answered with.
fn status_of(error: &ApiError) -> StatusCode {
    match error {
        ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// `POST /office/alerts/{id}/break-glass`: the grant as `POST /api/v1/alerts/{id}/break-glass` gives it, then the
/// alert's page, open (303); refused, the page again with the form and what to correct.
pub(crate) async fn alert(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    body: Result<axum::Form<GlassBody>, FormRejection>,
) -> Response {
    open(&state, &reader, &official, &id, RecordKind::Alert, body).await
}

/// `POST /office/cases/{id}/break-glass`: as for alerts, for a case this node holds outside the officer's area.
pub(crate) async fn case(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    body: Result<axum::Form<GlassBody>, FormRejection>,
) -> Response {
    open(&state, &reader, &official, &id, RecordKind::Case, body).await
}

/// Asks the API for a view of record `id` (an alert, or else a case) for the reason and minutes posted.
async fn open(
    state: &AppState,
    reader: &Reader,
    official: &Official,
    id: &str,
    kind: RecordKind,
    body: Result<axum::Form<GlassBody>, FormRejection>,
) -> Response {
    let desk = desk(state, reader, official, "").await;
    let cx = Ctx::of(state, reader, official, &desk);
    let t = Text::of(reader.lang);
    let body = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let draft = match draft(t, &body) {
        Ok(draft) => draft,
        Err(problems) => {
            let form = form(official, Some(&body), problems);
            return again(cx, id, kind, form, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let (who, path, json) = (official.who.clone(), Path(id.to_owned()), Ok(Json(draft)));
    let granted = match kind {
        RecordKind::Case => crate::glass::case(State(state.clone()), who, path, json).await,
        _ => crate::glass::alert(State(state.clone()), who, path, json).await,
    };
    match granted {
        // In the officer's area after all (their area or the record's moved): the page shows it whole.
        Ok(_) | Err(ApiError::Conflict(_)) => Redirect::to(&page_of(kind, id)).into_response(),
        Err(e) => match problems_of(t, &e) {
            Some(problems) => {
                let form = form(official, Some(&body), problems);
                again(cx, id, kind, form, status_of(&e)).await
            }
            None => cx.failed(e),
        },
    }
}

/// The officials' page of record `id`.
fn page_of(kind: RecordKind, id: &str) -> String {
    match kind {
        RecordKind::Case => format!("/office/cases/{id}"),
        _ => format!("/office/alerts/{id}"),
    }
}

/// The page the form was on, again, with the form as sent and what to correct.
async fn again(
    cx: Ctx<'_>,
    id: &str,
    kind: RecordKind,
    form: pages::GlassForm,
    status: StatusCode,
) -> Response {
    match kind {
        RecordKind::Case => outside_case_with(cx, id, Some(form), status).await,
        _ => {
            let sighting = pages::SightingForm::default();
            alert_page_with(cx, id, None, sighting, Some(form), status).await
        }
    }
}

/// A use as the pages list it.
fn line(state: &AppState, lang: Lang, u: GlassUse) -> pages::GlassLine {
    pages::GlassLine {
        record: u.record.to_string(),
        kind: match u.kind {
            RecordKind::Case => "case",
            _ => "alert",
        },
        district: district_name(state, lang, &u.district),
        by: u.by,
        reason: u.reason,
        minutes: u.minutes,
        at_ms: u.at_ms,
        node: u.node,
    }
}

/// The latest uses the official oversees, for a dashboard, and how many of them are from the last 24 hours; none
/// for roles that list none.
pub(crate) async fn latest(cx: Ctx<'_>) -> (Vec<pages::GlassLine>, usize) {
    let query = crate::glass::GlassQuery::first(DASHBOARD_USES);
    let listed = crate::glass::list(
        State(cx.state.clone()),
        cx.official.who.clone(),
        Ok(Query(query)),
    )
    .await;
    let Ok(Json(page)) = listed else {
        return (Vec::new(), 0);
    };
    let since = cx.state.engine.now_ms().saturating_sub(DAY_MS);
    let today = page.items.iter().filter(|u| u.at_ms >= since).count();
    let lines = page
        .items
        .into_iter()
        .map(|u| line(cx.state, cx.reader.lang, u))
        .collect();
    (lines, today)
}

/// The page asked for: the `next` of the previous one.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListQuery {
    before: Option<String>,
}

/// `GET /office/break-glass`: every use the official oversees, newest first, a page at a time: for the police,
/// uses of their area's records and uses made at their nodes; for the ministry and auditors, every one.
pub(crate) async fn list(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/break-glass").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    if official.who.caller.may_list_glass().is_err() {
        return cx.problem(super::not_for_role(Text::of(reader.lang), official.role));
    }
    let Ok(Query(q)) = query else {
        return cx.problem(Problem::NotFound);
    };
    let mut query = crate::glass::GlassQuery::first(LIST_PAGE);
    query.before = q.before;
    let listed =
        crate::glass::list(State(state.clone()), official.who.clone(), Ok(Query(query))).await;
    let page = match listed {
        Ok(Json(page)) => page,
        Err(ApiError::Invalid(_)) => return cx.problem(Problem::NotFound),
        Err(e) => return cx.failed(e),
    };
    let view = pages::GlassListPage {
        frame: cx.frame(),
        next: page.next.map(|n| format!("/office/break-glass?before={n}")),
        uses: page
            .items
            .into_iter()
            .map(|u| line(&state, reader.lang, u))
            .collect(),
    };
    html(StatusCode::OK, pages::render(&view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_sends_the_api_what_it_checks_and_says_what_to_correct() {
        let t = Text::of(Lang::En);
        let body = |reason: &str, minutes: &str| GlassBody {
            csrf: String::new(),
            reason: reason.to_owned(),
            minutes: minutes.to_owned(),
        };
        let reason = "A boy at Saddar station says he is from Anarkali";
        let fields = |r: Result<GlassDraft, Vec<pages::FieldProblem>>| {
            r.err()
                .map(|p| p.iter().map(|p| p.field).collect::<Vec<_>>())
        };
        assert_eq!(
            draft(t, &body(reason, " 15 ")).ok(),
            Some(GlassDraft {
                reason: reason.to_owned(),
                minutes: 15
            })
        );
        assert_eq!(fields(draft(t, &body("short", "15"))), Some(vec!["reason"]));
        assert_eq!(
            fields(draft(t, &body("short", "a quarter"))),
            Some(vec!["reason", "minutes"])
        );
        // A number out of range is the API's to refuse, with the same words.
        assert!(draft(t, &body(reason, "600")).is_ok());
        let refused = ApiError::field("minutes", "1 to 60");
        let said = problems_of(t, &refused).expect("a field to correct");
        assert_eq!(said[0].field, "minutes");
        assert_eq!(said[0].message, t.get("glass.problem.minutes"));
    }
}
