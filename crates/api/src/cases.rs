//! Complaint cases: file, list, read, timeline events, and the public's tracking by code.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hifazat_access::Caller;
use hifazat_domain::{
    CaseCategory, CaseDraft, CaseIntake, CaseStage, Channel, Event, Party, RecordId, Status,
    TrackingCode,
};
use hifazat_engine::{CaseMessage, CaseRecord, CaseSummary, Page, case_messages};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::alerts::{EventBody, PublicEvent, PublicStatus};
use crate::caller::Who;
use crate::error::{ApiError, responses};
use crate::{AppState, Places, record_id};

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Filed {
    pub(crate) id: RecordId,
    /// For the complainant: `GET /api/v1/track/{tracking_code}` follows the case.
    pub(crate) tracking_code: String,
}

/// `POST /api/v1/cases`: the public (through the portal or an app; anonymous when `complainant` is left out) and
/// the police of the case's district. A node files cases only for districts on its line.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CaseDraft,
    responses(
        (status = 201, description = "Filed and on disk, with the tracking code", body = Filed),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn file(
    State(state): State<AppState>,
    who: Who,
    body: Result<Json<CaseDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<Filed>), ApiError> {
    who.public_request(&state.limiter)?;
    let Json(draft) = body?;
    who.caller
        .may_file_case(state.engine.topology(), &draft.district)?;
    if who.caller == Caller::Public
        && !matches!(draft.channel, Channel::CitizenPortal | Channel::App)
    {
        return Err(ApiError::field(
            "channel",
            "the public files through the portal or an app: `citizen_portal` or `app`",
        ));
    }
    let (id, tracking_code) = state.engine.file_case(draft, who.caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(Filed { id, tracking_code })))
}

/// A case in full, for the police of its district and the ministry.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaseOut {
    pub(crate) id: RecordId,
    #[serde(flatten)]
    pub(crate) intake: CaseIntake,
    pub(crate) anonymous: bool,
    pub(crate) status: Status<CaseStage>,
    pub(crate) timeline: Vec<Event>,
    /// The conversation with the complainant, oldest first.
    pub(crate) messages: Vec<CaseMessage>,
    /// For a police officer outside the case's area: until when their break-glass view lasts (ms since the Unix
    /// epoch; `POST /api/v1/cases/{id}/break-glass`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) glass_until_ms: Option<u64>,
}

/// Whether an official may see `case` (the caller is known to be an official).
fn visible(state: &AppState, who: &Who, case: &CaseRecord) -> Result<(), ApiError> {
    if who
        .caller
        .sees_cases(state.engine.topology(), &case.doc.intake.district)
    {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "this case belongs to {}, outside what you may see",
            case.doc.intake.district
        )))
    }
}

/// `GET /api/v1/cases/{id}`: the police of its area and the ministry.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The case", body = CaseOut),
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
) -> Result<Json<CaseOut>, ApiError> {
    // Before the lookup, so the public cannot learn which case ids exist.
    who.official()?;
    let case = state.engine.case(record_id(&id)?).await?;
    let glass = crate::glass::view_until(&state, &who, case.id, &case.doc.intake.district).await?;
    if glass.is_none() {
        visible(&state, &who, &case)?;
    }
    let mut intake = case.doc.intake.clone();
    intake.tracking_code =
        hifazat_domain::current_tracking_code(&intake.tracking_code, &case.doc.timeline).clone();
    Ok(Json(CaseOut {
        id: case.id,
        anonymous: intake.complainant.is_none(),
        messages: case_messages(&case.doc),
        intake,
        status: case.status,
        timeline: case.doc.timeline,
        glass_until_ms: glass,
    }))
}

/// The filters of `GET /api/v1/cases`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseQuery {
    status: Option<CaseStage>,
    category: Option<CaseCategory>,
    district: Option<String>,
    region: Option<String>,
    province: Option<String>,
    /// Only cases filed at or after this time (ms since the Unix epoch).
    since: Option<u64>,
    /// Items per page, 1 to 200 (50 when left out).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9a-fA-F]{32}$")]
    before: Option<String>,
}

impl CaseQuery {
    /// What the officials' list of cases asks: a stage, a category, a district, a page.
    pub(crate) fn page(
        status: Option<CaseStage>,
        category: Option<CaseCategory>,
        district: Option<String>,
        before: Option<String>,
        limit: usize,
    ) -> CaseQuery {
        CaseQuery {
            status,
            category,
            district,
            region: None,
            province: None,
            since: None,
            limit: Some(limit),
            before,
        }
    }
}

/// `GET /api/v1/cases`: officials who see cases, over their area only.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseQuery),
    responses(
        (status = 200, description = "A page of the cases the caller may see", body = Page<CaseSummary>),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<CaseQuery>, QueryRejection>,
) -> Result<Json<Page<CaseSummary>>, ApiError> {
    who.official()?;
    let Query(q) = query?;
    who.caller.may_list_cases()?;
    let places = Places::check(
        state.engine.topology(),
        q.district.as_deref(),
        q.region.as_deref(),
        q.province.as_deref(),
    )?;
    let limit = crate::page_limit(q.limit)?;
    let before = q.before.as_deref().map(record_id).transpose()?;
    let topology = state.engine.topology().clone();
    let caller = who.caller.clone();
    let (status, category, since) = (q.status, q.category, q.since.unwrap_or(0));
    let narrow = places.narrow(&topology, |d| caller.sees_cases(&topology, d), status);
    let page = state
        .engine
        .list_cases(
            move |s| {
                caller.sees_cases(&topology, &s.district)
                    && status.is_none_or(|st| s.status.stage == st)
                    && category.is_none_or(|c| s.category == c)
                    && s.created_ms >= since
                    && places.hold(&topology, &s.district)
            },
            narrow,
            before,
            limit,
        )
        .await?;
    Ok(Json(page))
}

/// `POST /api/v1/cases/{id}/events`: the police of the case's district.
#[utoipa::path(post, path = "/api/v1/cases/{id}/events", tag = "cases", params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")), request_body = EventBody,
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
    let case = state.engine.case(id).await?;
    who.caller
        .may_add_case_event(state.engine.topology(), &case.doc.intake.district)?;
    body.record(&state, &who, id).await
}

/// What the holder of a tracking code sees: what the case is about, where, how it stands, and the messages with
/// the police. No one's identity: not the complainant's, not the officers'.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Tracked {
    tracking_code: String,
    category: CaseCategory,
    district: String,
    status: PublicStatus<CaseStage>,
    timeline: Vec<PublicEvent>,
    /// The conversation with the police of the case's area, oldest first.
    messages: Vec<CaseMessage>,
}

/// The case a tracking code reads, for `who`: counted against the public's rate limit; a code that is malformed
/// or that no case here has counts as a wrong try, and an address with `TRACKING_WRONG_MAX` of those within
/// `TRACKING_LOCK_SECS` gets 429 until then. An ended code (the police gave a new one) reads nothing.
pub(crate) async fn case_by_code(
    state: &AppState,
    who: &Who,
    code: &str,
) -> Result<(TrackingCode, CaseRecord), ApiError> {
    state.lockout.check(who)?;
    who.public_request(&state.limiter)?;
    let code: TrackingCode = match code.to_uppercase().parse() {
        Ok(code) => code,
        Err(reason) => {
            state.lockout.wrong(who);
            return Err(ApiError::field("code", reason));
        }
    };
    match state.engine.case_by_tracking(code.as_str()).await? {
        Some(case) => Ok((code, case)),
        None => {
            state.lockout.wrong(who);
            Err(ApiError::NotFound(
                "no case with this tracking code here".into(),
            ))
        }
    }
}

impl Tracked {
    pub(crate) fn of(code: &TrackingCode, case: &CaseRecord) -> Tracked {
        Tracked {
            tracking_code: code.as_str().to_owned(),
            category: case.doc.intake.category,
            district: case.doc.intake.district.clone(),
            status: PublicStatus::of(&case.status),
            timeline: case
                .doc
                .timeline
                .iter()
                .filter(|e| !e.kind.is_conversation())
                .map(PublicEvent::of)
                .collect(),
            messages: case_messages(&case.doc),
        }
    }
}

/// `GET /api/v1/track/{code}`: anyone holding the code, at any node on the case's line.
#[utoipa::path(get, path = "/api/v1/track/{code}", tag = "cases",
    params(("code" = String, Path, description = "The tracking code given when the case was filed (or the newest the police gave)",
        pattern = r"^[Hh][Zz](-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}){2}((-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}){2})?$")),
    responses(
        (status = 200, description = "Where the case stands, and its messages", body = Tracked),
        responses::Unauthenticated,
        responses::NotFound,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn track(
    State(state): State<AppState>,
    who: Who,
    Path(code): Path<String>,
) -> Result<Json<Tracked>, ApiError> {
    let (code, case) = case_by_code(&state, &who, &code).await?;
    Ok(Json(Tracked::of(&code, &case)))
}

/// A message to write on a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageBody {
    /// 1 to 500 characters.
    pub(crate) text: String,
}

/// `POST /api/v1/track/{code}/messages`: the complainant writes to the police of the case's area, holding the code
/// (the public's rate limit and the wrong-code lockout apply; at most 30 messages a day from each side).
#[utoipa::path(post, path = "/api/v1/track/{code}/messages", tag = "cases",
    params(("code" = String, Path, description = "The case's tracking code",
        pattern = r"^[Hh][Zz](-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}){2}((-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}){2})?$")),
    request_body = MessageBody,
    responses(
        (status = 201, description = "The message as written, on disk", body = CaseMessage),
        responses::Malformed,
        responses::Unauthenticated,
        responses::NotFound,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn complainant_message(
    State(state): State<AppState>,
    who: Who,
    Path(code): Path<String>,
    body: Result<Json<MessageBody>, JsonRejection>,
) -> Result<(StatusCode, Json<CaseMessage>), ApiError> {
    let Json(body) = body?;
    let (_, case) = case_by_code(&state, &who, &code).await?;
    let message = state
        .engine
        .add_message(
            case.id,
            Party::Complainant,
            &body.text,
            COMPLAINANT_ACTOR.into(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// The actor the complainant's messages are written under: never a name, so an anonymous complainant stays so.
pub(crate) const COMPLAINANT_ACTOR: &str = "complainant";

/// `POST /api/v1/cases/{id}/messages`: the police of the case's area write to its complainant.
#[utoipa::path(post, path = "/api/v1/cases/{id}/messages", tag = "cases",
    params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")),
    request_body = MessageBody,
    responses(
        (status = 201, description = "The message as written, on disk", body = CaseMessage),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn police_message(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Result<Json<MessageBody>, JsonRejection>,
) -> Result<(StatusCode, Json<CaseMessage>), ApiError> {
    who.official()?;
    let id = record_id(&id)?;
    let Json(body) = body?;
    let case = state.engine.case(id).await?;
    who.caller
        .may_add_case_event(state.engine.topology(), &case.doc.intake.district)?;
    let message = state
        .engine
        .add_message(id, Party::Police, &body.text, who.caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// A case's new tracking code.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NewCode {
    /// Give it to the complainant; the code before no longer reads or writes anything.
    pub(crate) tracking_code: TrackingCode,
}

/// `POST /api/v1/cases/{id}/tracking-code`: the police of the case's area give it a new tracking code (the old one
/// was lost or seen by someone else), which ends the old one at every node once the change reaches it.
#[utoipa::path(post, path = "/api/v1/cases/{id}/tracking-code", tag = "cases",
    params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")),
    responses(
        (status = 201, description = "The new code, on disk", body = NewCode),
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn renew_code(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<NewCode>), ApiError> {
    who.official()?;
    let id = record_id(&id)?;
    let case = state.engine.case(id).await?;
    who.caller
        .may_add_case_event(state.engine.topology(), &case.doc.intake.district)?;
    let tracking_code = state
        .engine
        .renew_tracking_code(id, who.caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(NewCode { tracking_code })))
}
