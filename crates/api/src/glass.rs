//! Break-glass access: a police officer states why they must see a record outside their area and for how long,
//! and sees its restricted part for that long; every use is a signed entry that travels to the record's own
//! officials and the writer's supervisors (`hifazat_engine::Engine::break_glass`); the record's officials, the
//! ministry and auditors list the uses.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hifazat_domain::glass::{GlassDraft, GlassUse};
use hifazat_domain::{RecordId, RecordKind};
use hifazat_engine::UsePlace;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::caller::Who;
use crate::error::{ApiError, ErrorBody, responses};
use crate::{AppState, record_id};

/// A granted view.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Granted {
    /// The use as it was signed.
    #[serde(rename = "use")]
    pub(crate) glass: GlassUse,
    /// Until when the record's restricted part shows to you (`GET` the record), ms since the Unix epoch.
    pub(crate) until_ms: u64,
}

/// Until when the caller's break-glass view of `record` (of `district`) lasts, for police outside its area; `None`
/// for everyone else (who see it by their area, or never).
pub(crate) async fn view_until(
    state: &AppState,
    who: &Who,
    record: RecordId,
    district: &str,
) -> Result<Option<u64>, ApiError> {
    match who
        .caller
        .may_break_glass(state.engine.topology(), district)
    {
        Ok(true) => Ok(state
            .engine
            .glass_until(&who.caller.actor(), record)
            .await?),
        _ => Ok(None),
    }
}

/// Signs a use of `record` and answers the grant, once the caller is known to be police outside its area.
async fn grant(
    state: &AppState,
    who: &Who,
    record: RecordId,
    kind: RecordKind,
    district: &str,
    body: Result<Json<GlassDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<Granted>), ApiError> {
    if !who
        .caller
        .may_break_glass(state.engine.topology(), district)?
    {
        return Err(ApiError::Conflict(
            "you see this record's restricted part already: it is in your area".into(),
        ));
    }
    let Json(draft) = body?;
    let glass = state
        .engine
        .break_glass(record, kind, district, &draft, &who.caller.actor())
        .await?;
    let until_ms = glass.until_ms();
    Ok((StatusCode::CREATED, Json(Granted { glass, until_ms })))
}

/// `POST /api/v1/alerts/{id}/break-glass`: a police officer outside the alert's area sees its restricted part
/// (who reported it, the police notes, the sightings' reporters) for the minutes asked, for the reason given. The
/// use is signed and logged, its area's officials are told, and each officer may make 3 a day at a node. Never
/// for other roles (403), whatever the reason.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/break-glass", tag = "break-glass",
    params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")),
    request_body = GlassDraft,
    responses(
        (status = 201, description = "Granted and logged, on disk", body = Granted),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        (status = 409, description = "The alert is in your area: you see it already", body = ErrorBody),
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn alert(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Result<Json<GlassDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<Granted>), ApiError> {
    who.official()?;
    let alert = state.engine.alert(record_id(&id)?).await?;
    let district = alert.doc.intake.public.last_seen.district.clone();
    grant(&state, &who, alert.id, RecordKind::Alert, &district, body).await
}

/// `POST /api/v1/cases/{id}/break-glass`: a police officer at a node that holds the case, outside its area, sees
/// the whole case for the minutes asked, for the reason given; as for alerts.
#[utoipa::path(post, path = "/api/v1/cases/{id}/break-glass", tag = "break-glass",
    params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")),
    request_body = GlassDraft,
    responses(
        (status = 201, description = "Granted and logged, on disk", body = Granted),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        (status = 409, description = "The case is in your area: you see it already", body = ErrorBody),
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn case(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    body: Result<Json<GlassDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<Granted>), ApiError> {
    who.official()?;
    // Before the lookup, so a role that may never see a case learns nothing of which exist.
    who.caller.may_list_cases()?;
    let case = state.engine.case(record_id(&id)?).await?;
    let district = case.doc.intake.district.clone();
    grant(&state, &who, case.id, RecordKind::Case, &district, body).await
}

/// The page of `GET /api/v1/break-glass`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct GlassQuery {
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9a-f]{96}$")]
    pub(crate) before: Option<String>,
    /// 1 to 200; 50 when not given.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
}

impl GlassQuery {
    /// The first page of `limit` uses.
    pub(crate) fn first(limit: usize) -> GlassQuery {
        GlassQuery {
            before: None,
            limit: Some(limit),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GlassPage {
    /// Newest first.
    pub(crate) items: Vec<GlassUse>,
    /// Pass as `before` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<String>,
}

/// `GET /api/v1/break-glass`: the break-glass uses this node holds that the caller may see: for the police, those
/// of records in their area (made anywhere); for the ministry and auditors, every one. Each with who, which record,
/// the reason, when, for how long and at which node.
#[utoipa::path(get, path = "/api/v1/break-glass", tag = "break-glass", params(GlassQuery),
    responses(
        (status = 200, description = "A page of uses, newest first", body = GlassPage),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<GlassQuery>, QueryRejection>,
) -> Result<Json<GlassPage>, ApiError> {
    who.official()?;
    who.caller.may_list_glass()?;
    let Query(q) = query?;
    let limit = crate::page_limit(q.limit)?;
    let before = match &q.before {
        None => None,
        Some(text) => Some(
            hex::decode(text)
                .ok()
                .and_then(|b| UsePlace::try_from(b).ok())
                .ok_or_else(|| {
                    ApiError::field("before", "is the `next` of a page: 96 hex digits")
                })?,
        ),
    };
    let (caller, topology) = (who.caller.clone(), state.engine.topology().clone());
    let found = state
        .engine
        .glass_uses(before, limit, move |u| {
            caller.sees_glass_uses(&topology, &u.district, &u.node)
        })
        .await?;
    let next = match found.last() {
        Some((place, _)) if found.len() == limit => Some(hex::encode(place)),
        _ => None,
    };
    let items = found.into_iter().map(|(_, u)| u).collect();
    Ok(Json(GlassPage { items, next }))
}
