//! Missing-child alerts: raise, list, read, timeline events, sightings.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hifazat_access::Caller;
use hifazat_domain::{
    AlertCode, AlertDraft, AlertPublic, AlertRestricted, AlertStage, Event, EventKind, RecordId,
    Sighting, SightingDraft, Status,
};
use hifazat_engine::{AlertRecord, AlertSummary, Page};
use hifazat_limits as limits;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::caller::Who;
use crate::error::{ApiError, responses};
use crate::{AppState, Created, Places, record_id};

/// An event as the public sees it: what happened (its type, and an escalation's level), when and where it was
/// recorded; not who did it, their note, or an FIR's number.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicEvent {
    /// The event's type, as in `EventKind`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// An escalation's level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) level: Option<u8>,
    pub(crate) at_ms: u64,
    pub(crate) node: String,
}

impl PublicEvent {
    pub(crate) fn of(e: &Event) -> PublicEvent {
        let kind = match serde_json::to_value(&e.kind) {
            Ok(serde_json::Value::Object(map)) => map
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("unknown")
                .to_owned(),
            _ => "unknown".to_owned(),
        };
        let level = match e.kind {
            EventKind::Escalated { level } => Some(u8::from(level)),
            _ => None,
        };
        PublicEvent {
            kind,
            level,
            at_ms: e.at_ms,
            node: e.node.clone(),
        }
    }
}

/// A status as the public sees it: whether an FIR was registered, not its number.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicStatus<S> {
    stage: S,
    fir_registered: bool,
    fast_tracked: bool,
    escalation_level: u8,
    first_validated_ms: Option<u64>,
    first_resolved_ms: Option<u64>,
}

impl<S: Copy> PublicStatus<S> {
    pub(crate) fn of(s: &hifazat_domain::Status<S>) -> PublicStatus<S> {
        PublicStatus {
            stage: s.stage,
            fir_registered: !s.fir_numbers.is_empty(),
            fast_tracked: s.fast_tracked,
            escalation_level: s.escalation_level.map_or(0, u8::from),
            first_validated_ms: s.first_validated_ms,
            first_resolved_ms: s.first_resolved_ms,
        }
    }
}

/// An alert as a caller may see it. The public part for everyone; the restricted part (reporter, office, police
/// notes), the sightings' details, each event's actor and note, and FIR numbers only for the police of the area
/// and the ministry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum AlertOut {
    Public {
        id: RecordId,
        /// The short code people read out and send by text (`STATUS AL-7K3M-Q9TD`).
        code: AlertCode,
        public: AlertPublic,
        status: PublicStatus<AlertStage>,
        timeline: Vec<PublicEvent>,
        sightings: usize,
    },
    Full {
        id: RecordId,
        code: AlertCode,
        public: AlertPublic,
        status: Status<AlertStage>,
        timeline: Vec<Event>,
        sightings: usize,
        restricted: AlertRestricted,
        sighting_reports: Vec<Sighting>,
        /// For a police officer outside the alert's area: until when their break-glass view lasts (ms since the
        /// Unix epoch; `POST /api/v1/alerts/{id}/break-glass`).
        #[serde(skip_serializing_if = "Option::is_none")]
        glass_until_ms: Option<u64>,
    },
}

impl AlertOut {
    pub(crate) fn for_caller(alert: AlertRecord, caller: &Caller, state: &AppState) -> AlertOut {
        AlertOut::seen(alert, caller, state, None)
    }

    /// As [`AlertOut::for_caller`], with the caller's break-glass view lasting until `glass_until_ms` (which shows
    /// the restricted part outside their area).
    pub(crate) fn seen(
        alert: AlertRecord,
        caller: &Caller,
        state: &AppState,
        glass_until_ms: Option<u64>,
    ) -> AlertOut {
        let district = alert.doc.intake.public.last_seen.district.clone();
        if caller.sees_alert_restricted(state.engine.topology(), &district)
            || glass_until_ms.is_some()
        {
            AlertOut::Full {
                id: alert.id,
                code: AlertCode::of(&alert.id),
                sightings: alert.doc.sightings.len(),
                public: alert.doc.intake.public,
                status: alert.status,
                timeline: alert.doc.timeline,
                restricted: alert.doc.intake.restricted,
                sighting_reports: alert.doc.sightings,
                glass_until_ms,
            }
        } else {
            AlertOut::Public {
                id: alert.id,
                code: AlertCode::of(&alert.id),
                public: alert.doc.intake.public,
                status: PublicStatus::of(&alert.status),
                // Possible matches are for the police of both sides, never the public: a family is told only
                // once an officer has seen the child.
                timeline: alert
                    .doc
                    .timeline
                    .iter()
                    .filter(|e| !e.kind.is_match())
                    .map(PublicEvent::of)
                    .collect(),
                sightings: alert.doc.sightings.len(),
            }
        }
    }
}

/// `POST /api/v1/alerts`. Police raise alerts on any channel; the public through the citizen portal only, and
/// without police notes or an office.
#[utoipa::path(post, path = "/api/v1/alerts", tag = "alerts", request_body = AlertDraft,
    responses(
        (status = 201, description = "Raised and on disk", body = Created),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn raise(
    State(state): State<AppState>,
    who: Who,
    body: Result<Json<AlertDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    who.public_request(&state.limiter)?;
    who.caller.may_raise_alert()?;
    let Json(draft) = body?;
    let refused = who.caller.alert_draft_refusals(&draft);
    if !refused.is_empty() {
        return Err(ApiError::fields(refused));
    }
    let id = state.engine.raise_alert(draft, who.caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(Created::id(id))))
}

/// `GET /api/v1/alerts/{id}`: the public view for everyone, the full one for the police of its area and the
/// ministry.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The alert as the caller may see it", body = AlertOut),
        responses::Unauthenticated,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
) -> Result<Json<AlertOut>, ApiError> {
    let alert = state.engine.alert(record_id(&id)?).await?;
    let district = alert.doc.intake.public.last_seen.district.clone();
    let glass = crate::glass::view_until(&state, &who, alert.id, &district).await?;
    Ok(Json(AlertOut::seen(alert, &who.caller, &state, glass)))
}

/// The alerts with one short code.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ByCode {
    pub(crate) code: AlertCode,
    /// Usually one; a code is shared by chance about once in two million alerts. Each as the caller may see it.
    pub(crate) alerts: Vec<AlertOut>,
}

/// `GET /api/v1/alerts/by-code/{code}`: the alerts with this short code, each as `GET /api/v1/alerts/{id}` shows
/// it to the caller. The public's lookups share the per-address limit of its writes.
#[utoipa::path(get, path = "/api/v1/alerts/by-code/{code}", tag = "alerts",
    params(("code" = String, Path, description = "An alert's short code, `AL-` and 8 Crockford base-32 digits and letters (any case; dashes optional)",
        pattern = r"^([Aa][Ll]-?)?[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}-?[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}$")),
    responses(
        (status = 200, description = "The alerts with the code", body = ByCode),
        responses::Unauthenticated,
        responses::NotFound,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn by_code(
    State(state): State<AppState>,
    who: Who,
    Path(code): Path<String>,
) -> Result<Json<ByCode>, ApiError> {
    who.public_request(&state.limiter)?;
    let code: AlertCode = code.parse().map_err(|why| ApiError::field("code", why))?;
    let found = state.engine.alerts_by_code(&code).await?;
    if found.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no alert with the code {code} here"
        )));
    }
    let mut alerts = Vec::with_capacity(found.len());
    for a in found {
        let alert = state.engine.alert(a.id).await?;
        alerts.push(AlertOut::for_caller(alert, &who.caller, &state));
    }
    Ok(Json(ByCode { code, alerts }))
}

/// The filters of `GET /api/v1/alerts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertQuery {
    status: Option<AlertStage>,
    district: Option<String>,
    region: Option<String>,
    province: Option<String>,
    /// Only alerts raised at or after this time (ms since the Unix epoch).
    since: Option<u64>,
    /// Words in the child's name, the description or the place (case does not matter).
    text: Option<String>,
    /// Items per page, 1 to 200 (50 when left out).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9a-fA-F]{32}$")]
    before: Option<String>,
}

impl AlertQuery {
    /// What the officials' list of alerts asks: a stage, a place, a page.
    pub(crate) fn page(
        status: Option<AlertStage>,
        district: Option<String>,
        region: Option<String>,
        province: Option<String>,
        before: Option<String>,
        limit: usize,
    ) -> AlertQuery {
        AlertQuery {
            status,
            district,
            region,
            province,
            since: None,
            text: None,
            limit: Some(limit),
            before,
        }
    }
}

/// `GET /api/v1/alerts`: newest first, public summaries for everyone.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    responses(
        (status = 200, description = "A page of alerts", body = Page<AlertSummary>),
        responses::Malformed,
        responses::Unauthenticated,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    // Bad credentials are refused here too, though everyone may list.
    _who: Who,
    query: Result<Query<AlertQuery>, QueryRejection>,
) -> Result<Json<Page<AlertSummary>>, ApiError> {
    let Query(q) = query?;
    let places = Places::check(
        state.engine.topology(),
        q.district.as_deref(),
        q.region.as_deref(),
        q.province.as_deref(),
    )?;
    let text = match q.text {
        Some(t) if t.chars().count() > limits::SEARCH_CHARS_MAX => {
            return Err(ApiError::field(
                "text",
                format!("is at most {} characters", limits::SEARCH_CHARS_MAX),
            ));
        }
        Some(t) => t.trim().to_lowercase(),
        None => String::new(),
    };
    let limit = crate::page_limit(q.limit)?;
    let before = q.before.as_deref().map(record_id).transpose()?;
    let topology = state.engine.topology().clone();
    let (status, since) = (q.status, q.since.unwrap_or(0));
    let narrow = places.narrow(&topology, |_| true, status);
    let page = state
        .engine
        .list_alerts(
            move |s, search| {
                status.is_none_or(|st| s.status.stage == st)
                    && s.created_ms >= since
                    && places.hold(&topology, &s.district)
                    && (text.is_empty() || search.contains(&text))
            },
            narrow,
            before,
            limit,
        )
        .await?;
    Ok(Json(page))
}

/// A timeline event as it is posted: its type and fields, and an optional note.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct EventBody {
    #[serde(flatten)]
    pub(crate) kind: EventKind,
    #[serde(default)]
    pub(crate) note: Option<String>,
}

impl EventBody {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        match self.kind {
            EventKind::Raised => Err(ApiError::field(
                "type",
                "`raised` is recorded when the record is raised or filed",
            )),
            EventKind::Notified { .. } => Err(ApiError::field(
                "type",
                "`notified` is recorded by the node that sends an official's SMS",
            )),
            EventKind::MatchSuggested { .. } => Err(ApiError::field(
                "type",
                "`match_suggested` is recorded by the node that compared the faces",
            )),
            EventKind::Message { .. } => Err(ApiError::field(
                "type",
                "messages are written through POST /api/v1/cases/{id}/messages",
            )),
            EventKind::TrackingCodeRenewed { .. } => Err(ApiError::field(
                "type",
                "a new tracking code is given through POST /api/v1/cases/{id}/tracking-code",
            )),
            EventKind::MatchConfirmed { .. } | EventKind::MatchRejected { .. } => {
                Err(ApiError::field(
                    "type",
                    "a possible match is confirmed or ruled out on the found child's report (POST /api/v1/found/{id}/matches/{alert})",
                ))
            }
            _ => Ok(()),
        }
    }

    /// Adds the event to record `id`'s timeline in the caller's name (once the caller has been allowed to).
    pub(crate) async fn record(
        self,
        state: &AppState,
        who: &Who,
        id: RecordId,
    ) -> Result<(StatusCode, Json<Event>), ApiError> {
        let event = state
            .engine
            .add_event(id, self.kind, self.note, who.caller.actor())
            .await?;
        Ok((StatusCode::CREATED, Json(event)))
    }
}

/// `POST /api/v1/alerts/{id}/events`: police; validating, mobilising, FIRs, escalation and closing only in
/// their area.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/events", tag = "alerts", params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")), request_body = EventBody,
    responses(
        (status = 201, description = "The event as recorded", body = Event),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn add_event(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Result<Json<EventBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Event>), ApiError> {
    who.official()?;
    let id = record_id(&id)?;
    let Json(body) = body?;
    body.check()?;
    let alert = state.engine.alert(id).await?;
    let district = &alert.doc.intake.public.last_seen.district;
    who.caller
        .may_add_alert_event(state.engine.topology(), district, &body.kind)?;
    body.record(&state, &who, id).await
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SightingAdded {
    sightings: usize,
}

/// `POST /api/v1/alerts/{id}/sightings`: anyone, anonymously if they wish (leave out `reporter`).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/sightings", tag = "alerts", params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")),
    request_body = SightingDraft,
    responses(
        (status = 201, description = "Recorded; how many sightings the alert has", body = SightingAdded),
        responses::Malformed,
        responses::Unauthenticated,
        responses::NotFound,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn add_sighting(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Result<Json<SightingDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<SightingAdded>), ApiError> {
    who.public_request(&state.limiter)?;
    let id = record_id(&id)?;
    let Json(draft) = body?;
    let sightings = state
        .engine
        .add_sighting(id, draft, who.caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(SightingAdded { sightings })))
}
