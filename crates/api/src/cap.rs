//! Alerts as OASIS CAP 1.2 (`hifazat-cap`): one alert's current message, and an Atom feed of the alerts the police
//! have validated that are active, or that ended in the last `FEED_ENDED_DAYS` days (so subscribers see the
//! Update or Cancel). Alerts not yet validated are served one by one (certainty `Possible`), never in the feed.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use hifazat_cap::{AlertView, Entry, Feed};
use hifazat_domain::AlertStage;
use hifazat_engine::AlertRecord;
use hifazat_limits as limits;

use crate::caller::Who;
use crate::error::{ApiError, responses};
use crate::{AppState, record_id};

const CAP_TYPE: &str = "application/cap+xml; charset=utf-8";

fn message(alert: &AlertRecord, state: &AppState) -> hifazat_cap::Message {
    hifazat_cap::message(
        &AlertView {
            id: &alert.id,
            public: &alert.doc.intake.public,
            status: &alert.status,
            timeline: &alert.doc.timeline,
        },
        state.engine.topology(),
    )
}

/// The address clients reached this node at, from the `Host` header when it is a plain host and port.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// `GET /api/v1/alerts/{id}/cap`.
#[utoipa::path(get, path = "/api/v1/alerts/{id}/cap", tag = "alerts",
    params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The alert's current CAP 1.2 message: Alert, Update (recovered) or Cancel (closed)",
            content_type = "application/cap+xml", body = String),
        responses::Unauthenticated,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn alert(
    State(state): State<AppState>,
    _who: Who,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let alert = state.engine.alert(record_id(&id)?).await?;
    let m = message(&alert, &state);
    Ok(([(header::CONTENT_TYPE, CAP_TYPE)], m.document()).into_response())
}

/// `GET /api/v1/alerts.atom`.
#[utoipa::path(get, path = "/api/v1/alerts.atom", tag = "alerts",
    responses(
        (status = 200, description = "Atom feed of validated alerts, each entry with its CAP 1.2 message inline",
            content_type = "application/atom+xml", body = String),
        responses::Unauthenticated,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn feed(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    who.public_request(&state.limiter)?;
    let now = state.engine.now_ms();
    let ended_since = now.saturating_sub(limits::FEED_ENDED_DAYS * 86_400_000);
    let page = state
        .engine
        .list_alerts(
            move |s, _| {
                s.status.first_validated_ms.is_some()
                    && (s.status.stage < AlertStage::Recovered || s.updated_ms >= ended_since)
            },
            hifazat_engine::Narrow::default(),
            None,
            limits::FEED_ENTRIES_MAX,
        )
        .await?;
    let base = base_url(&headers);
    let mut entries = Vec::with_capacity(page.items.len());
    for summary in page.items {
        let alert = match state.engine.alert(summary.id).await {
            Ok(alert) => alert,
            Err(hifazat_engine::EngineError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        entries.push(Entry {
            cap_url: format!("{base}/api/v1/alerts/{}/cap", alert.id),
            message: message(&alert, &state),
        });
    }
    let url = format!("{base}/api/v1/alerts.atom");
    let atom = hifazat_cap::feed(
        &Feed {
            url: &url,
            title: "Hifazat: missing children",
            now_ms: now,
        },
        &entries,
    );
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        atom,
    )
        .into_response())
}
