//! Photos and found children: uploading a photo (for an alert, or for a found child's report), reading an alert's
//! photo, and found children's reports with their possible matches, which an officer confirms or rules out.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hifazat_domain::{
    Decision, Event, EventKind, FoundDraft, FoundIntake, FoundStage, PlaceDraft, RecordId,
    SightingDraft, Status, Suggestion, suggestions,
};
use hifazat_engine::{FoundRecord, FoundSummary, Page};
use hifazat_limits as limits;
use hifazat_matcher::WorkerError;
use hifazat_photos::{PhotoError, PhotoId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::caller::Who;
use crate::error::{ApiError, responses};
use crate::{AppState, Created, Places, record_id};

/// What a photo is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Purpose {
    /// A missing child's photo, to be named by an alert (`photo_ref`): public, like a poster.
    Alert,
    /// A found child's photo, to be named by a report (`photos`): for officials, and never leaves this node.
    Found,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PhotoQuery {
    /// `alert` or `found`. A found child's photo must show a face.
    purpose: Purpose,
}

/// A face found in a photo: its box in the photo's pixels.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FaceOut {
    left: i32,
    top: i32,
    right: i32,
    bottom: i32,
}

/// An uploaded photo, as kept.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PhotoOut {
    /// The photo's id (SHA-256 of its clean bytes): put it in an alert's `photo_ref` or a report's `photos`.
    pub(crate) photo: String,
    width: u32,
    height: u32,
    /// The faces found in it.
    faces: Vec<FaceOut>,
    /// Until when the photo waits for a record to name it; dropped after that.
    kept_until_ms: u64,
}

/// A refused photo as an API error: too big 413, not a JPEG or PNG 415, unreadable or too small 422.
pub(crate) fn photo_refused(e: &PhotoError) -> ApiError {
    match e {
        PhotoError::TooLarge { .. } | PhotoError::TooDetailed { .. } => {
            ApiError::Malformed(StatusCode::PAYLOAD_TOO_LARGE, format!("photo: {e}"))
        }
        PhotoError::WrongType(_) | PhotoError::NotAnImage | PhotoError::Empty => {
            ApiError::Malformed(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("photo: {e}"))
        }
        PhotoError::Undecodable(_)
        | PhotoError::TooManyPixels { .. }
        | PhotoError::TooSmall { .. } => ApiError::field("photo", e.to_string()),
    }
}

/// Why an upload was not kept.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The photo itself, and why.
    Photo(PhotoError),
    /// A found child's photo with no face in it.
    NoFace,
    /// Too many photos wait, or the worker is gone.
    Busy(ApiError),
    /// Something else: as the API answers it.
    Other(ApiError),
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> ApiError {
        match r {
            Refused::Photo(e) => photo_refused(&e),
            Refused::NoFace => ApiError::field(
                "photo",
                "no face was found in this photo: a found child's photo must show the face from the front, in good light",
            ),
            Refused::Busy(e) | Refused::Other(e) => e,
        }
    }
}

/// Cleans and keeps an uploaded photo for `purpose`; what the JSON and the pages' forms both call.
pub(crate) async fn keep_upload(
    state: &AppState,
    bytes: Vec<u8>,
    purpose: Purpose,
) -> Result<PhotoOut, Refused> {
    let matcher = state.matcher.as_ref().ok_or_else(|| {
        Refused::Busy(ApiError::NotRunning(
            "photos are not taken on this node (no face matching here)".into(),
        ))
    })?;
    let uploaded = matcher.worker().upload(bytes).await.map_err(|e| match e {
        WorkerError::Photo(e) => Refused::Photo(e),
        WorkerError::Busy => Refused::Busy(ApiError::Busy(e.to_string())),
        WorkerError::Stopped => Refused::Busy(ApiError::Unavailable),
    })?;
    if purpose == Purpose::Found && uploaded.faces.is_empty() {
        return Err(Refused::NoFace);
    }
    let id = uploaded.photo.id;
    let (width, height) = (uploaded.photo.width, uploaded.photo.height);
    let faces = uploaded
        .faces
        .iter()
        .map(|f| FaceOut {
            left: f.face.left as i32,
            top: f.face.top as i32,
            right: f.face.right as i32,
            bottom: f.face.bottom as i32,
        })
        .collect();
    let encoded = hifazat_faces::pipeline::encode(&uploaded.faces);
    let engine_err = |e: hifazat_engine::EngineError| match e {
        hifazat_engine::EngineError::Busy(why) => Refused::Busy(ApiError::Busy(why)),
        e => Refused::Other(e.into()),
    };
    state
        .engine
        .keep_pending_photo(uploaded.photo, purpose == Purpose::Found)
        .await
        .map_err(engine_err)?;
    state
        .engine
        .set_faces(id, encoded)
        .await
        .map_err(engine_err)?;
    Ok(PhotoOut {
        photo: id.to_hex(),
        width,
        height,
        faces,
        kept_until_ms: state.engine.now_ms() + limits::PHOTO_PENDING_MS,
    })
}

/// `POST /api/v1/photos?purpose=alert|found`: the photo's bytes as the body (a JPEG or PNG, at most 5 MB). The
/// photo is decoded, turned upright, scaled to at most 1600 pixels a side and re-encoded without any metadata
/// (no EXIF, so no GPS); only that is kept, for a day, until a record names it by the id answered. For an alert:
/// whoever may raise one; for a found child: the police, and the photo must show a face.
#[utoipa::path(post, path = "/api/v1/photos", tag = "photos", params(PhotoQuery),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "A JPEG or PNG photo"),
    responses(
        (status = 201, description = "Cleaned and kept; its id, size and faces", body = PhotoOut),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::TooLarge,
        (status = 415, description = "Not a JPEG or PNG photo", body = crate::error::ErrorBody),
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<PhotoQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PhotoOut>), ApiError> {
    who.public_request(&state.limiter)?;
    let Query(q) = query?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::Malformed(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "photo: the photo is more than {} bytes, the most taken",
                    limits::PHOTO_BYTES_MAX
                ),
            )
        } else {
            ApiError::Malformed(e.status(), format!("photo: {}", e.body_text()))
        }
    })?;
    who.caller.may_upload_photo(q.purpose == Purpose::Found)?;
    let out = keep_upload(&state, body.to_vec(), q.purpose).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

fn jpeg(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            // A photo's name is its hash: its bytes never change.
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response()
}

fn photo_id(id: &str) -> Result<PhotoId, ApiError> {
    id.parse()
        .map_err(|reason: String| ApiError::field("id", reason))
}

/// `GET /api/v1/photos/{id}`: an alert's photo (public, like the alert), once all of it has reached this node.
/// Found children's photos are not served here.
#[utoipa::path(get, path = "/api/v1/photos/{id}", tag = "photos",
    params(("id" = String, Path, description = "The photo's id (64 lower-case hex digits)", pattern = "^[0-9a-f]{64}$")),
    responses(
        (status = 200, description = "The photo", content_type = "image/jpeg", body = Vec<u8>),
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn photo(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = photo_id(&id)?;
    match state.engine.photo(id).await? {
        Some(bytes) => Ok(jpeg(bytes)),
        None => Err(ApiError::NotFound(
            "no alert's photo with this id has reached this node (yet)".into(),
        )),
    }
}

/// `POST /api/v1/found`: the police of the district where the child was found.
#[utoipa::path(post, path = "/api/v1/found", tag = "found", request_body = FoundDraft,
    responses(
        (status = 201, description = "Reported and on disk", body = Created),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn report(
    State(state): State<AppState>,
    who: Who,
    body: Result<Json<FoundDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    who.official()?;
    let Json(draft) = body?;
    who.caller
        .may_work_found(state.engine.topology(), draft.place.district.trim())?;
    let id = state.engine.report_found(draft, who.caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(Created::id(id))))
}

/// A found child's report in full, for the police of its district's line and the ministry.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FoundOut {
    pub(crate) id: RecordId,
    #[serde(flatten)]
    pub(crate) intake: FoundIntake,
    pub(crate) status: Status<FoundStage>,
    pub(crate) timeline: Vec<Event>,
    /// Possible matches with alerts, nearest first: each a "possible match, confirm in person", never a
    /// decision.
    pub(crate) suggestions: Vec<Suggestion>,
    /// Whether this node holds the photos (only the node that took them does).
    pub(crate) photos_here: bool,
}

/// A report the caller may see, or 403.
pub(crate) async fn visible_found(
    state: &AppState,
    who: &Who,
    id: RecordId,
) -> Result<FoundRecord, ApiError> {
    let report = state.engine.found(id).await?;
    let district = &report.doc.intake.place.district;
    if who.caller.sees_cases(state.engine.topology(), district) {
        Ok(report)
    } else {
        Err(ApiError::Forbidden(format!(
            "this report belongs to {district}, outside what you may see"
        )))
    }
}

/// Whether this node holds the report's first photo (only the node that took them does).
pub(crate) async fn photos_here(state: &AppState, report: &FoundRecord) -> bool {
    match report
        .doc
        .intake
        .photos
        .first()
        .and_then(|p| p.parse::<PhotoId>().ok())
    {
        Some(p) => matches!(state.engine.local_photo(p).await, Ok(Some(_))),
        None => false,
    }
}

/// `GET /api/v1/found/{id}`: the police of its district's line and the ministry.
#[utoipa::path(get, path = "/api/v1/found/{id}", tag = "found", params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The report", body = FoundOut),
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
) -> Result<Json<FoundOut>, ApiError> {
    who.official()?;
    let report = visible_found(&state, &who, record_id(&id)?).await?;
    let here = photos_here(&state, &report).await;
    Ok(Json(FoundOut {
        id: report.id,
        suggestions: suggestions(&report.doc.timeline),
        intake: report.doc.intake,
        status: report.status,
        timeline: report.doc.timeline,
        photos_here: here,
    }))
}

/// `GET /api/v1/found/{id}/photos/{n}`: the report's `n`-th photo (from 0), at the node that took it, for those who
/// see the report.
#[utoipa::path(get, path = "/api/v1/found/{id}/photos/{n}", tag = "found",
    params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$"), ("n" = usize, Path, minimum = 0, maximum = 3, description = "Which photo, from 0")),
    responses(
        (status = 200, description = "The photo", content_type = "image/jpeg", body = Vec<u8>),
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn found_photo(
    State(state): State<AppState>,
    who: Who,
    Path((id, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    who.official()?;
    let n: usize = n
        .parse()
        .ok()
        .filter(|n| *n < limits::FOUND_PHOTOS_MAX)
        .ok_or_else(|| {
            ApiError::field(
                "n",
                format!("is which photo: 0 to {}", limits::FOUND_PHOTOS_MAX - 1),
            )
        })?;
    let report = visible_found(&state, &who, record_id(&id)?).await?;
    let photo = report
        .doc
        .intake
        .photos
        .get(n)
        .and_then(|p| p.parse::<PhotoId>().ok())
        .ok_or_else(|| ApiError::NotFound(format!("the report has no photo {n}")))?;
    match state.engine.local_photo(photo).await? {
        Some(local) => Ok((
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "private, no-store"),
            ],
            local.bytes,
        )
            .into_response()),
        None => Err(ApiError::NotFound(
            "the report's photos stay at the node that took them; ask there".into(),
        )),
    }
}

/// The filters of `GET /api/v1/found`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FoundQuery {
    pub(crate) status: Option<FoundStage>,
    pub(crate) district: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) province: Option<String>,
    /// Only reports with possible matches not yet decided.
    pub(crate) open_suggestions: Option<bool>,
    /// Items per page, 1 to 200 (50 when left out).
    #[param(minimum = 1, maximum = 200)]
    pub(crate) limit: Option<usize>,
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9a-fA-F]{32}$")]
    pub(crate) before: Option<String>,
}

/// `GET /api/v1/found`: officials who see cases, over their area only.
#[utoipa::path(get, path = "/api/v1/found", tag = "found", params(FoundQuery),
    responses(
        (status = 200, description = "A page of the reports the caller may see", body = Page<FoundSummary>),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<FoundQuery>, QueryRejection>,
) -> Result<Json<Page<FoundSummary>>, ApiError> {
    let Query(q) = query?;
    Ok(Json(list_found(&state, &who, q).await?))
}

pub(crate) async fn list_found(
    state: &AppState,
    who: &Who,
    q: FoundQuery,
) -> Result<Page<FoundSummary>, ApiError> {
    who.official()?;
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
    let (status, open) = (q.status, q.open_suggestions);
    let narrow = places.narrow(&topology, |d| caller.sees_cases(&topology, d), status);
    Ok(state
        .engine
        .list_found(
            move |s| {
                caller.sees_cases(&topology, &s.district)
                    && status.is_none_or(|st| s.status.stage == st)
                    && open.is_none_or(|o| (s.open_suggestions > 0) == o)
                    && places.hold(&topology, &s.district)
            },
            narrow,
            before,
            limit,
        )
        .await?)
}

/// A step on a report: handed to the family, or closed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FoundStep {
    /// `handed_to_family` or `closed`.
    #[serde(rename = "type")]
    pub(crate) kind: FoundStepKind,
    #[serde(default)]
    pub(crate) note: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FoundStepKind {
    HandedToFamily,
    Closed,
}

/// `POST /api/v1/found/{id}/events`: the police of the report's district.
#[utoipa::path(post, path = "/api/v1/found/{id}/events", tag = "found", params(("id" = String, Path, description = "The record's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")), request_body = FoundStep,
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
    body: Result<Json<FoundStep>, JsonRejection>,
) -> Result<(StatusCode, Json<Event>), ApiError> {
    who.official()?;
    let id = record_id(&id)?;
    let Json(step) = body?;
    let report = state.engine.found(id).await?;
    who.caller
        .may_work_found(state.engine.topology(), &report.doc.intake.place.district)?;
    let kind = match step.kind {
        FoundStepKind::HandedToFamily => EventKind::HandedToFamily,
        FoundStepKind::Closed => EventKind::Closed,
    };
    let event = state
        .engine
        .add_event(id, kind, step.note, who.caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(event)))
}

/// An officer's decision on a possible match.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatchDecision {
    /// `confirmed` (seen in person: the alert gets a sighting) or `rejected` (not suggested again).
    pub(crate) decision: Decision,
    #[serde(default)]
    pub(crate) note: Option<String>,
}

/// What a decision recorded.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Decided {
    pub(crate) decision: Decision,
    /// The sightings the alert now has (a confirmation adds one).
    pub(crate) alert_sightings: Option<usize>,
}

/// Records an officer's decision on the possible match between report `id` and `alert`: on both timelines, and
/// for a confirmation a sighting on the alert (where and when the child was found, and where the child is now),
/// through the usual events; nothing is closed or changed otherwise.
pub(crate) async fn decide_match(
    state: &AppState,
    who: &Who,
    id: RecordId,
    alert: RecordId,
    decision: Decision,
    note: Option<String>,
) -> Result<Decided, ApiError> {
    who.official()?;
    let report = state.engine.found(id).await?;
    who.caller
        .may_work_found(state.engine.topology(), &report.doc.intake.place.district)?;
    if !suggestions(&report.doc.timeline)
        .iter()
        .any(|s| s.other == alert)
    {
        return Err(ApiError::NotFound(format!(
            "no possible match with alert {alert} on this report"
        )));
    }
    state.engine.alert(alert).await?;
    let kind = |other| match decision {
        Decision::Confirmed => EventKind::MatchConfirmed { other },
        Decision::Rejected => EventKind::MatchRejected { other },
    };
    let actor = who.caller.actor();
    state
        .engine
        .add_event(id, kind(alert), note.clone(), actor.clone())
        .await?;
    state
        .engine
        .add_event(alert, kind(id), note, actor.clone())
        .await?;
    let mut alert_sightings = None;
    if decision == Decision::Confirmed {
        let i = &report.doc.intake;
        let sighting = SightingDraft {
            seen_at_ms: i.found_at_ms,
            place: Some(PlaceDraft {
                district: i.place.district.clone(),
                lat: i.place.lat,
                lon: i.place.lon,
                text: i.place.text.clone(),
            }),
            description: format!(
                "Found child (report {id}) confirmed in person as this child; now at {}",
                i.care_name
            ),
            reporter: None,
            channel: hifazat_domain::Channel::PoliceStation,
        };
        alert_sightings = Some(state.engine.add_sighting(alert, sighting, actor).await?);
    }
    Ok(Decided {
        decision,
        alert_sightings,
    })
}

/// `POST /api/v1/found/{id}/matches/{alert}`: the police of the report's district, who see the child, confirm a
/// possible match or rule it out.
#[utoipa::path(post, path = "/api/v1/found/{id}/matches/{alert}", tag = "found",
    params(("id" = String, Path, description = "The report's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$"), ("alert" = String, Path, description = "The alert's id (32 hex digits)", pattern = "^[0-9a-fA-F]{32}$")),
    request_body = MatchDecision,
    responses(
        (status = 201, description = "Recorded on both records", body = Decided),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::TooLarge,
        responses::NotJson,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn decide(
    State(state): State<AppState>,
    who: Who,
    Path((id, alert)): Path<(String, String)>,
    body: Result<Json<MatchDecision>, JsonRejection>,
) -> Result<(StatusCode, Json<Decided>), ApiError> {
    who.official()?;
    let (id, alert) = (record_id(&id)?, record_id(&alert)?);
    let Json(d) = body?;
    let decided = decide_match(&state, &who, id, alert, d.decision, d.note).await?;
    Ok((StatusCode::CREATED, Json(decided)))
}
