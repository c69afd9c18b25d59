//! The API's one error type: every 4xx names what was wrong and why; a 5xx says nothing internal.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hifazat_domain::{EscalationLevel, FieldError};
use hifazat_engine::EngineError;
use serde::Serialize;

#[derive(Debug)]
pub enum ApiError {
    /// The input is wrong: which fields, and why.
    Invalid(Vec<FieldError>),
    /// The body or the query is not what the route takes.
    Malformed(StatusCode, String),
    NotFound(String),
    /// The credentials are missing where needed, malformed or unknown (401).
    Unauthenticated(String),
    /// The caller may not do this (403), and why.
    Forbidden(String),
    /// Too many requests from this client (429); try again after this many seconds.
    RateLimited(u64),
    /// A limit other than the per-address one refused the request (429): why, and when to try again.
    Throttled {
        message: String,
        seconds: u64,
    },
    /// The request conflicts with what is stored (409), and how.
    Conflict(String),
    /// A part of the node that this request needs is not running (and why).
    NotRunning(String),
    /// Something failed inside the node. Logged; the client learns nothing more.
    Internal,
    Unavailable,
    /// A limit is reached (which, and what to do).
    Busy(String),
}

impl ApiError {
    pub fn field(field: &str, reason: impl Into<String>) -> ApiError {
        ApiError::fields(vec![(field, reason.into())])
    }

    /// Several bad fields at once, each with its reason.
    pub fn fields(fields: Vec<(&str, String)>) -> ApiError {
        ApiError::Invalid(
            fields
                .into_iter()
                .map(|(field, reason)| FieldError {
                    field: field.into(),
                    reason,
                })
                .collect(),
        )
    }
}

/// Every error's body: what went wrong, and for invalid input each field with its reason.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut retry_after = None;
        let (status, message, fields) = match self {
            ApiError::Invalid(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "the request has invalid fields".to_owned(),
                fields,
            ),
            ApiError::Malformed(status, message) => (status, message, vec![]),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, what, vec![]),
            ApiError::Unauthenticated(why) => (StatusCode::UNAUTHORIZED, why, vec![]),
            ApiError::Forbidden(why) => (StatusCode::FORBIDDEN, why, vec![]),
            ApiError::RateLimited(seconds) => {
                retry_after = Some(seconds);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many requests from this address; try again in {seconds} s"),
                    vec![],
                )
            }
            ApiError::Throttled { message, seconds } => {
                retry_after = Some(seconds);
                (StatusCode::TOO_MANY_REQUESTS, message, vec![])
            }
            ApiError::Conflict(what) => (StatusCode::CONFLICT, what, vec![]),
            ApiError::NotRunning(what) => (StatusCode::SERVICE_UNAVAILABLE, what, vec![]),
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
            ApiError::Busy(what) => (StatusCode::SERVICE_UNAVAILABLE, what, vec![]),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: message,
                fields,
            }),
        )
            .into_response();
        if let Some(seconds) = retry_after
            && let Ok(value) = seconds.to_string().parse()
        {
            response.headers_mut().insert("retry-after", value);
        }
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::Invalid(invalid) => ApiError::Invalid(invalid.errors),
            EngineError::NotFound(id) => ApiError::NotFound(format!("no record {id} here")),
            EngineError::Stopped => ApiError::Unavailable,
            EngineError::Busy(why) => ApiError::Busy(why),
            EngineError::TooMany(why, seconds) => {
                tracing::info!(%why, "a writer reached its limit");
                ApiError::RateLimited(seconds)
            }
            other => {
                tracing::error!(error = %other, "request failed inside the node");
                ApiError::Internal
            }
        }
    }
}

impl From<hifazat_access::Denied> for ApiError {
    fn from(denied: hifazat_access::Denied) -> ApiError {
        ApiError::Forbidden(denied.0)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let text = rejection.body_text();
        // A typed value's own rule, broken: the field it names is invalid, as the engine's checks say it.
        if text.contains(EscalationLevel::RULE) {
            return ApiError::field("level", EscalationLevel::RULE);
        }
        // axum's text names the field and the reason, e.g. "missing field `child_name` at line 1 column 20".
        ApiError::Malformed(rejection.status(), text)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::Malformed(rejection.status(), rejection.body_text())
    }
}

/// The error responses as the OpenAPI document names them, one type per status, each with the error body. These
/// types only describe answers (the answers themselves are [`ApiError`]); handlers list the ones they give.
#[allow(dead_code)]
pub(crate) mod responses {
    use super::ErrorBody;

    /// The query or the body is not what the route takes (unknown parameter, bad JSON, wrong type).
    #[derive(utoipa::IntoResponses)]
    #[response(status = 400)]
    pub(crate) struct Malformed(ErrorBody);

    /// No token where an official's is needed, or a token that is malformed or unknown.
    #[derive(utoipa::IntoResponses)]
    #[response(status = 401)]
    pub(crate) struct Unauthenticated(ErrorBody);

    /// The caller's role or area does not allow this; the error says why.
    #[derive(utoipa::IntoResponses)]
    #[response(status = 403)]
    pub(crate) struct Forbidden(ErrorBody);

    /// No such record (or tracking code) on this node.
    #[derive(utoipa::IntoResponses)]
    #[response(status = 404)]
    pub(crate) struct NotFound(ErrorBody);

    /// The body is larger than the limit (256 KiB).
    #[derive(utoipa::IntoResponses)]
    #[response(status = 413)]
    pub(crate) struct TooLarge(ErrorBody);

    /// The body is not `application/json`.
    #[derive(utoipa::IntoResponses)]
    #[response(status = 415)]
    pub(crate) struct NotJson(ErrorBody);

    /// Invalid fields: each named, with the reason.
    #[derive(utoipa::IntoResponses)]
    #[response(status = 422)]
    pub(crate) struct InvalidFields(ErrorBody);

    /// Too many requests (public requests from this address, or verifications under the register's limits);
    /// `Retry-After` says when to try again.
    #[derive(utoipa::IntoResponses)]
    #[response(status = 429)]
    pub(crate) struct RateLimited(ErrorBody);

    /// A limit is reached, a part of the node this needs is not running (peers without a network), or the node
    /// is shutting down.
    #[derive(utoipa::IntoResponses)]
    #[response(status = 503)]
    pub(crate) struct Unavailable(ErrorBody);
}
