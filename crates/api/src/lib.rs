//! The node's local HTTP API (axum). The only crate that uses axum.
//!
//! Built by [`router`], which tests call with `oneshot` and no socket. Every route has a body limit, a timeout
//! and a share of a concurrency limit. Errors go through one type, [`ApiError`]: a 4xx says exactly which field
//! was wrong and why; a 5xx says nothing internal.
//!
//! This is the foundation's part of the API: health, raising an alert and reading it back. Authentication,
//! roles, cases, sightings, lists, statistics and live events are the API issue's, and missing here.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hifazat_domain::{AlertDraft, FieldError, RecordId};
use hifazat_engine::{AlertView, Engine, EngineError};
use hifazat_limits as limits;
use serde::Serialize;
use serde_json::json;
use tower::ServiceBuilder;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// The acting user recorded in entries written through this API until authentication (the API issue) names
/// the real one.
pub const UNAUTHENTICATED_ACTOR: &str = "local-api";

/// The one error type of the API.
#[derive(Debug)]
pub enum ApiError {
    /// The input is wrong: which fields, and why.
    Invalid(Vec<FieldError>),
    /// The body is not the JSON the route takes.
    BadJson(StatusCode, String),
    NotFound(String),
    /// Something failed inside the node. Logged; the client learns nothing more.
    Internal,
    Unavailable,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message, fields) = match self {
            ApiError::Invalid(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "the request has invalid fields".to_owned(),
                fields,
            ),
            ApiError::BadJson(status, message) => (status, message, vec![]),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, what, vec![]),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error".to_owned(),
                vec![],
            ),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the node is shutting down".to_owned(),
                vec![],
            ),
        };
        (
            status,
            Json(ErrorBody {
                error: &message,
                fields,
            }),
        )
            .into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::Invalid(invalid) => ApiError::Invalid(invalid.errors),
            EngineError::NotFound(id) => ApiError::NotFound(format!("no alert {id}")),
            EngineError::Stopped => ApiError::Unavailable,
            other => {
                tracing::error!(error = %other, "request failed inside the node");
                ApiError::Internal
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        // axum's text names the field and the reason, e.g. "missing field `child_name` at line 1 column 20".
        ApiError::BadJson(rejection.status(), rejection.body_text())
    }
}

/// The API's routes over `engine`.
pub fn router(engine: Engine) -> Router {
    let api = Router::new()
        .route("/alerts", post(raise_alert))
        .route("/alerts/{id}", get(get_alert));
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(
            ServiceBuilder::new()
                // Answers 408 Request Timeout when a request takes longer than the limit.
                .layer(TimeoutLayer::new(Duration::from_millis(
                    limits::HTTP_TIMEOUT_MS,
                )))
                .layer(ConcurrencyLimitLayer::new(limits::HTTP_CONCURRENCY_MAX))
                // Bodies past the limit are refused with 413 by the extractors that read them.
                .layer(DefaultBodyLimit::max(limits::HTTP_BODY_BYTES_MAX)),
        )
        .with_state(engine)
}

async fn healthz(State(engine): State<Engine>) -> Result<Json<serde_json::Value>, ApiError> {
    let stats = engine.stats().await?;
    Ok(Json(json!({ "status": "ok", "stats": stats })))
}

#[derive(Serialize)]
struct Created {
    id: RecordId,
}

async fn raise_alert(
    State(engine): State<Engine>,
    body: Result<Json<AlertDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Json(draft) = body?;
    let id = engine
        .raise_alert(draft, UNAUTHENTICATED_ACTOR.to_owned())
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

async fn get_alert(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    let id: RecordId = id.parse().map_err(|reason: String| {
        ApiError::Invalid(vec![FieldError {
            field: "id".into(),
            reason,
        }])
    })?;
    Ok(Json(engine.alert(id).await?))
}
