//! The register: verification for authorised institutions, the register officers' work (entries, searches,
//! consultations, alarms, notifications received), and notifications from the police of other nodes.
//!
//! Only the federal node holds the register; elsewhere its routes answer 404, except sending a notification,
//! which is sealed at the node where it is recorded. A verification reply is the same size and shape whatever it
//! says. CNICs travel in request bodies, never in paths or queries, so they reach no access log or metric.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hifazat_register::{
    AlarmRecord, Channel, Consultation, NoticeDraft, NoticeRecord, Offender, OffenderDraft,
    OffenderSummary, Refusal, Register, RegisterError, Requester, Update, VerifyReply,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::caller::Who;
use crate::error::{ApiError, responses};
use crate::{AppState, SeqPage, SeqQuery};

/// A CNIC, 13 digits with or without dashes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CnicBody {
    pub(crate) cnic: String,
}

fn here(state: &AppState) -> Result<Arc<Register>, ApiError> {
    state
        .register
        .clone()
        .ok_or_else(|| ApiError::NotFound("the register is held by the federal node only".into()))
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> ApiError {
        match e {
            RegisterError::Invalid(invalid) => ApiError::Invalid(invalid.errors),
            RegisterError::NotFound => ApiError::NotFound("no such register entry".into()),
            RegisterError::Duplicate { id } => {
                ApiError::Conflict(format!("an entry with this CNIC is on the register: {id}"))
            }
            RegisterError::Apply(e) => ApiError::Conflict(e.to_string()),
            RegisterError::Refused {
                reason,
                retry_after_ms,
            } => ApiError::Throttled {
                message: refusal_text(reason).into(),
                seconds: retry_after_ms.div_ceil(1000).max(1),
            },
            RegisterError::Full => ApiError::Busy(e.to_string()),
            RegisterError::Damaged(_) | RegisterError::Store(_) => {
                tracing::error!(error = %e, "register request failed inside the node");
                ApiError::Internal
            }
        }
    }
}

fn refusal_text(reason: Refusal) -> &'static str {
    match reason {
        Refusal::RequesterLimit => {
            "you have made as many verifications as allowed today; try again later"
        }
        Refusal::CnicLimit => {
            "this CNIC has been checked as often as allowed today; try again later or ask your police station"
        }
        Refusal::PublicBudget | Refusal::Full => {
            "the verification service is busy; try again later"
        }
        Refusal::Alarm => {
            "the verification service is restricted while unusual traffic is looked into; try again later or ask your police station"
        }
    }
}

/// Runs a blocking register call (each write is flushed before it returns) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RegisterError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(ApiError::from)
}

/// `POST /api/v1/register/verify`: authorised institutions (and register officers) check a CNIC. The
/// consultation is logged durably before the answer. Every 200 reply has the same size, hit or miss, and every
/// answer leaves `VERIFY_ANSWER_FLOOR_MS` after the request arrived, so neither size nor time tells them apart.
#[utoipa::path(post, path = "/api/v1/register/verify", tag = "register", request_body = CnicBody,
    responses(
        (status = 200, description = "The answer, in English and Urdu, padded to a fixed size", body = VerifyReply),
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
pub(crate) async fn verify(
    State(state): State<AppState>,
    who: Who,
    body: Result<Json<CnicBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let deadline = tokio::time::Instant::now()
        + std::time::Duration::from_millis(hifazat_limits::VERIFY_ANSWER_FLOOR_MS);
    who.caller.may_verify()?;
    let register = here(&state)?;
    let Json(body) = body?;
    let requester = Requester::User(who.caller.actor());
    let now = state.engine.now_ms();
    let reply = blocking(move || register.verify(&requester, Channel::Api, &body.cnic, now)).await;
    tokio::time::sleep_until(deadline).await;
    let reply = reply?.to_padded_json();
    Ok(([(header::CONTENT_TYPE, "application/json")], reply).into_response())
}

/// `POST /api/v1/register/offenders`: a register officer puts an offender on the register.
#[utoipa::path(post, path = "/api/v1/register/offenders", tag = "register", request_body = OffenderDraft,
    responses(
        (status = 201, description = "On the register and on disk", body = Offender),
        (status = 409, description = "An entry with this CNIC exists", body = crate::error::ErrorBody),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    who: Who,
    body: Result<Json<OffenderDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<Offender>), ApiError> {
    who.caller.may_keep_register()?;
    let register = here(&state)?;
    let Json(draft) = body?;
    let actor = who.caller.actor();
    let now = state.engine.now_ms();
    let offender = blocking(move || register.create(&actor, &draft, now)).await?;
    Ok((StatusCode::CREATED, Json(offender)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct OffendersQuery {
    /// Go on after this entry id (from `next`).
    #[param(pattern = "^[0-9a-fA-F]{32}$")]
    pub(crate) after: Option<String>,
    /// 1 to 200; 50 when not given.
    #[param(minimum = 1, maximum = 200)]
    pub(crate) limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OffenderPage {
    pub(crate) items: Vec<OffenderSummary>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<String>,
}

/// `GET /api/v1/register/offenders`: register officers list the entries, in id order.
#[utoipa::path(get, path = "/api/v1/register/offenders", tag = "register", params(OffendersQuery),
    responses(
        (status = 200, description = "A page of entries", body = OffenderPage),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<OffendersQuery>, QueryRejection>,
) -> Result<Json<OffenderPage>, ApiError> {
    who.caller.may_keep_register()?;
    let register = here(&state)?;
    let Query(query) = query?;
    let limit = crate::page_limit(query.limit)?;
    if let Some(after) = &query.after
        && (after.len() != 32 || !after.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(ApiError::field("after", "is an entry id: 32 hex digits"));
    }
    let items = blocking(move || register.list(query.after.as_deref(), limit)).await?;
    let next = (items.len() == limit)
        .then(|| items.last().map(|i| i.id.clone()))
        .flatten();
    Ok(Json(OffenderPage { items, next }))
}

/// `GET /api/v1/register/offenders/{id}`: an entry in full, for register officers.
#[utoipa::path(get, path = "/api/v1/register/offenders/{id}", tag = "register",
    params(("id" = String, Path, description = "The entry id, 32 hex digits", pattern = "^[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The entry", body = Offender),
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::Unavailable
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
) -> Result<Json<Offender>, ApiError> {
    who.caller.may_keep_register()?;
    let register = here(&state)?;
    Ok(Json(blocking(move || register.offender(&id)).await?))
}

/// `POST /api/v1/register/offenders/{id}/updates`: a register officer changes an entry (a rename, an alias, a
/// move, travel, a conviction, the status or the photograph). Every change goes into the register's signed log.
#[utoipa::path(post, path = "/api/v1/register/offenders/{id}/updates", tag = "register", request_body = Update,
    params(("id" = String, Path, description = "The entry id, 32 hex digits", pattern = "^[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The entry as changed, on disk", body = Offender),
        (status = 409, description = "The change does not apply to the entry as it is", body = crate::error::ErrorBody),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn update(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Result<Json<Update>, JsonRejection>,
) -> Result<Json<Offender>, ApiError> {
    who.caller.may_keep_register()?;
    let register = here(&state)?;
    let Json(update) = body?;
    let actor = who.caller.actor();
    let now = state.engine.now_ms();
    Ok(Json(
        blocking(move || register.update(&actor, &id, &update, now)).await?,
    ))
}

/// `POST /api/v1/register/search`: a register officer finds the entry with a CNIC, whatever its status. Logged
/// as a consultation.
#[utoipa::path(post, path = "/api/v1/register/search", tag = "register", request_body = CnicBody,
    responses(
        (status = 200, description = "The entry", body = Offender),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn search(
    State(state): State<AppState>,
    who: Who,
    body: Result<Json<CnicBody>, JsonRejection>,
) -> Result<Json<Offender>, ApiError> {
    who.caller.may_keep_register()?;
    let register = here(&state)?;
    let Json(body) = body?;
    let actor = who.caller.actor();
    let now = state.engine.now_ms();
    blocking(move || register.find(&actor, &body.cnic, now))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no register entry has this CNIC".into()))
}

/// Reads a page of a sequence (consultations, alarms, notifications): newest first, before a number, a limit.
type PageRead<T> = fn(&Register, Option<u64>, usize) -> Result<Vec<T>, RegisterError>;

async fn seq_page<T: Send + 'static>(
    state: &AppState,
    who: &Who,
    query: Result<Query<SeqQuery>, QueryRejection>,
    read: PageRead<T>,
    seq: fn(&T) -> u64,
) -> Result<Json<SeqPage<T>>, ApiError> {
    who.caller.may_keep_register()?;
    let register = here(state)?;
    let Query(query) = query?;
    let (before, limit) = query.checked()?;
    let items = blocking(move || read(&register, before, limit)).await?;
    Ok(Json(SeqPage::new(items, limit, seq)))
}

/// `GET /api/v1/register/consultations`: every consultation, newest first: who, when, the channel, the CNIC's
/// keyed hash, the outcome. For register officers.
#[utoipa::path(get, path = "/api/v1/register/consultations", tag = "register", params(SeqQuery),
    responses(
        (status = 200, description = "A page of consultations", body = SeqPage<Consultation>),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn consultations(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<SeqQuery>, QueryRejection>,
) -> Result<Json<SeqPage<Consultation>>, ApiError> {
    seq_page(&state, &who, query, Register::consultations, |c| c.seq).await
}

/// `GET /api/v1/register/alarms`: scans detected, newest first. For register officers.
#[utoipa::path(get, path = "/api/v1/register/alarms", tag = "register", params(SeqQuery),
    responses(
        (status = 200, description = "A page of alarms", body = SeqPage<AlarmRecord>),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn alarms(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<SeqQuery>, QueryRejection>,
) -> Result<Json<SeqPage<AlarmRecord>>, ApiError> {
    seq_page(&state, &who, query, Register::alarms, |a| a.seq).await
}

/// `GET /api/v1/register/notices`: notifications from the field as the federal node received them, newest first,
/// with what became of each (applied, unmatched, rejected). For register officers.
#[utoipa::path(get, path = "/api/v1/register/notices", tag = "register", params(SeqQuery),
    responses(
        (status = 200, description = "A page of notifications", body = SeqPage<NoticeRecord>),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn notices(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<SeqQuery>, QueryRejection>,
) -> Result<Json<SeqPage<NoticeRecord>>, ApiError> {
    seq_page(&state, &who, query, Register::notices, |n| n.seq).await
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NoticeSent {
    /// The notices log it went into (its author and scope).
    log: String,
    seq: u64,
}

/// `POST /api/v1/register/notices`: a police officer at a district or province node records an offender's change
/// of name or address, travel plans, or a new conviction. It is sealed here to the federal node's key, kept in
/// this node's notices log and carried along the line to the federal node, which applies it exactly once. The
/// answer comes once it is on disk here; nobody but the federal node can read it.
#[utoipa::path(post, path = "/api/v1/register/notices", tag = "register", request_body = NoticeDraft,
    responses(
        (status = 202, description = "Sealed, on disk here, on its way to the federal node", body = NoticeSent),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn notify(
    State(state): State<AppState>,
    who: Who,
    body: Result<Json<NoticeDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<NoticeSent>), ApiError> {
    who.official()?;
    who.caller.may_notify_register()?;
    let Json(draft) = body?;
    let topology = state.engine.topology();
    let federal = topology
        .nodes
        .iter()
        .find(|n| n.role == hifazat_topology::Role::Federal)
        .and_then(|n| n.key)
        .ok_or_else(|| {
            ApiError::NotRunning(
                "this node's topology names no federal key to seal to; install the signed topology"
                    .into(),
            )
        })?;
    let actor = who.caller.actor();
    let node = state.engine.node_name().to_owned();
    let sealed = draft
        .seal(&federal, topology, &actor, &node, state.engine.now_ms())
        .map_err(|invalid| ApiError::Invalid(invalid.errors))?;
    let written = state.engine.notify_register(sealed, &actor).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(NoticeSent {
            log: written.log.to_string(),
            seq: written.seq,
        }),
    ))
}
