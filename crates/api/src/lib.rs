//! The node's local HTTP API (axum). The only crate that uses axum.
//!
//! Built by [`router`], which tests call with `oneshot` and no socket. Every route has a body limit, a timeout
//! and a share of a concurrency limit. Errors go through one type, [`ApiError`]: a 4xx says exactly which field
//! was wrong and why; a 5xx says nothing internal.
//!
//! What there is so far: health, raising an alert and reading it back, filing a case (on this node's line) and
//! reading it back, the node's peers, and a live stream of the records that change here. Authentication, roles,
//! sightings, timeline events, lists, tracking and statistics are the API issue's, and missing here; until roles
//! exist, the live stream carries every change the node holds, as the reads show every record.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use hifazat_domain::{AlertDraft, CaseDraft, FieldError, RecordId, RecordKind};
use hifazat_engine::{AlertView, CaseView, Engine, EngineError};
use hifazat_limits as limits;
use hifazat_net::Net;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::sync::broadcast::error::RecvError;
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
    /// The body or the query is not what the route takes.
    Malformed(StatusCode, String),
    NotFound(String),
    /// A part of the node that this request needs is not running (and why).
    NotRunning(String),
    /// Something failed inside the node. Logged; the client learns nothing more.
    Internal,
    Unavailable,
    /// A limit is reached (which, and what to do).
    Busy(String),
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
            ApiError::Malformed(status, message) => (status, message, vec![]),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, what, vec![]),
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
            EngineError::NotFound(id) => ApiError::NotFound(format!("no record {id} here")),
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
        ApiError::Malformed(rejection.status(), rejection.body_text())
    }
}

/// What the handlers share: the engine, the network when the node runs one, and the permits for live event
/// streams.
#[derive(Clone, Debug)]
pub struct AppState {
    pub engine: Engine,
    pub net: Option<Net>,
    streams: Arc<Semaphore>,
}

impl axum::extract::FromRef<AppState> for Engine {
    fn from_ref(state: &AppState) -> Engine {
        state.engine.clone()
    }
}

/// The API's routes over `engine` and, when the node has one, its network.
pub fn router(engine: Engine, net: Option<Net>) -> Router {
    // Live event streams last as long as their clients listen: they have their own limit, and no timeout.
    let live = Router::new().route("/api/v1/events", get(events));
    let api = Router::new()
        .route("/alerts", post(raise_alert))
        .route("/alerts/{id}", get(get_alert))
        .route("/cases", post(file_case))
        .route("/cases/{id}", get(get_case))
        .route("/peers", get(peers));
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api)
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
        .merge(live)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(AppState {
            engine,
            net,
            streams: Arc::new(Semaphore::new(limits::EVENT_STREAMS_MAX)),
        })
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

fn record_id(id: &str) -> Result<RecordId, ApiError> {
    id.parse().map_err(|reason: String| {
        ApiError::Invalid(vec![FieldError {
            field: "id".into(),
            reason,
        }])
    })
}

async fn get_alert(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    Ok(Json(engine.alert(record_id(&id)?).await?))
}

async fn file_case(
    State(engine): State<Engine>,
    body: Result<Json<CaseDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Json(draft) = body?;
    let id = engine
        .file_case(draft, UNAUTHENTICATED_ACTOR.to_owned())
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

async fn get_case(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(engine.case(record_id(&id)?).await?))
}

#[derive(Serialize)]
struct PeerJson {
    name: String,
    key: String,
    role: hifazat_topology::Role,
    /// Whether the topology makes it a neighbour (one this node keeps a connection to).
    neighbour: bool,
    connected: bool,
    topology_version: Option<u64>,
    /// Entries it holds that this node does not yet (over the logs both may hold).
    entries_behind: u64,
    /// Entries this node holds that it has not announced.
    entries_ahead: u64,
    /// Milliseconds since its last vector arrived.
    last_vector_age_ms: Option<u64>,
    pulls_in_flight: usize,
}

/// This node's peers, their sync state and lag.
async fn peers(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(net) = state.net else {
        return Err(ApiError::NotRunning(
            "this node runs without a network: no signed topology is installed".into(),
        ));
    };
    let report = net.peers().await.map_err(|_| ApiError::Unavailable)?;
    let peers: Vec<PeerJson> = report
        .peers
        .into_iter()
        .map(|p| PeerJson {
            name: p.name,
            key: p.key.to_string(),
            role: p.role,
            neighbour: p.neighbour,
            connected: p.connected,
            topology_version: p.topology_version,
            entries_behind: p.entries_behind,
            entries_ahead: p.entries_ahead,
            last_vector_age_ms: p.last_vector_ms.map(|t| report.now_ms.saturating_sub(t)),
            pulls_in_flight: p.pulls,
        })
        .collect();
    let c = report.counters;
    Ok(Json(json!({
        "peer_id": net.peer_id.to_string(),
        "listening": net.listening.to_string(),
        "topology_version": report.topology_version,
        "peers": peers,
        "counters": {
            "peers_refused": c.peers_refused,
            "messages_refused": c.messages_refused,
            "entries_refused": c.entries_refused,
            "gossip_accepted": c.gossip_accepted,
            "gossip_ignored": c.gossip_ignored,
            "gossip_rejected": c.gossip_rejected,
            "pulls_sent": c.pulls_sent,
            "pulls_timed_out": c.pulls_timed_out,
            "entries_stored": c.entries_stored,
            "topologies_installed": c.topologies_installed,
            "topologies_refused": c.topologies_refused,
            "publish_failures": report.publish_failures,
        },
        "traffic": {
            "sync_bytes_in": report.traffic.sync_bytes_in,
            "sync_bytes_out": report.traffic.sync_bytes_out,
            "gossip_bytes_in": report.traffic.gossip_bytes_in,
            "gossip_bytes_out": report.traffic.gossip_bytes_out,
        },
    })))
}

/// Which changes a client of the live stream wants.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventFilter {
    /// Only records of this kind.
    kind: Option<RecordKind>,
}

/// `GET /api/v1/events`: a live stream (server-sent events) of the records that change on this node, each sent
/// once the change is durable, so a read made on hearing of it sees it. Each event is `event: change` with the
/// change as JSON data; a client too slow to keep up gets `event: lagged` with how many it missed, and should
/// read the lists again.
async fn events(
    State(state): State<AppState>,
    filter: Result<Query<EventFilter>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::Malformed(e.status(), e.body_text()))?;
    let permit = state.streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::Busy(format!(
            "{} live event streams are open, the most this node serves; try again later",
            limits::EVENT_STREAMS_MAX
        ))
    })?;
    let changes = state.engine.subscribe_changes();
    let stream =
        futures::stream::unfold((changes, permit), move |(mut changes, permit)| async move {
            loop {
                let event = match changes.recv().await {
                    Ok(change) if filter.kind.is_none_or(|k| k == change.kind) => {
                        SseEvent::default().event("change").json_data(&change)
                    }
                    Ok(_) => continue,
                    Err(RecvError::Lagged(missed)) => SseEvent::default()
                        .event("lagged")
                        .json_data(json!({ "missed": missed })),
                    Err(RecvError::Closed) => return None,
                };
                // A change always serialises; should it ever not, the stream ends rather than lie.
                return event.ok().map(|e| (Ok(e), (changes, permit)));
            }
        });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(limits::EVENT_KEEPALIVE_SECS))))
}
