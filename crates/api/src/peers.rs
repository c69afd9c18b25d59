//! `GET /api/v1/peers`: the node's peers, their sync state and lag (officials only).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::json;

use crate::AppState;
use crate::caller::Who;
use crate::error::{ApiError, responses};

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
#[utoipa::path(get, path = "/api/v1/peers", tag = "node",
    responses(
        (status = 200, description = "Peers, sync counters and traffic", body = Object),
        responses::Unauthenticated,
        responses::Forbidden,
        responses::Unavailable
    ))]
pub(crate) async fn peers(
    State(state): State<AppState>,
    who: Who,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.official()?;
    who.caller.may_see_peers()?;
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
            "entries_revoked": c.entries_revoked,
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
