//! `GET /metrics`: the node's metrics in the OpenMetrics text format, which Prometheus scrapes.
//!
//! Requests are counted by method, route template (never the path itself, so no record id or tracking code
//! reaches a metric) and status, and timed by route. The engine's and the network's own counters are read at
//! scrape time. No metric carries a name, a number or any other field of a record.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hifazat_limits as limits;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;
use crate::error::{ApiError, responses};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

type Durations = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The request metrics, shared by every route.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    requests: Family<RequestLabels, Counter>,
    durations: Durations,
}

fn duration_histogram() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        Metrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
        }
    }
}

/// Counts and times each request of a matched route.
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let m = &state.metrics;
    m.requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status: response.status().as_u16().to_string(),
        })
        .inc();
    m.durations
        .get_or_create(&RouteLabels { method, route })
        .observe(started.elapsed().as_secs_f64());
    response
}

fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let c = Counter::<u64>::default();
    c.inc_by(value);
    registry.register(name, help, c);
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let g = Gauge::<i64>::default();
    g.set(value);
    registry.register(name, help, g);
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", tag = "node",
    responses(
        (status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String),
        responses::Unavailable
    ))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut registry = Registry::with_prefix("hifazat");
    let m = &state.metrics;
    registry.register(
        "http_requests",
        "HTTP requests answered, by method, route and status",
        m.requests.clone(),
    );
    registry.register(
        "http_request_duration_seconds",
        "Time to answer HTTP requests, by method and route",
        m.durations.clone(),
    );
    let stats = state.engine.stats().await?;
    counter(
        &mut registry,
        "engine_local_writes",
        "Entries written by this node",
        stats.local_writes,
    );
    counter(
        &mut registry,
        "engine_remote_applied",
        "Entries of other nodes applied",
        stats.remote_applied,
    );
    counter(
        &mut registry,
        "engine_remote_refused",
        "Entries of other nodes refused",
        stats.remote_refused,
    );
    counter(
        &mut registry,
        "engine_remote_revoked",
        "Entries of other nodes refused: signed by a key after its revocation",
        stats.remote_revoked,
    );
    counter(
        &mut registry,
        "engine_remote_set_aside",
        "Changes of other nodes set aside: a second creation of a record id, or a change building on one",
        stats.remote_set_aside,
    );
    counter(
        &mut registry,
        "engine_commit_groups",
        "Batches committed to disk",
        stats.commit_groups,
    );
    gauge(
        &mut registry,
        "engine_waiting_changes",
        "Changes waiting for their batch to reach the disk",
        stats.waiting_changes as i64,
    );
    gauge(
        &mut registry,
        "live_streams",
        "Live event streams open",
        (limits::EVENT_STREAMS_MAX - state.streams.available_permits()) as i64,
    );
    counter(
        &mut registry,
        "public_rate_limited",
        "Public requests refused by the per-address rate limit",
        state.limiter.refused(),
    );
    if let Some(register) = &state.register {
        // Counts only, and no count of hits: this page is public, and a hit counter would answer anyone's
        // verification for them.
        let r = register.stats();
        for (name, help, value) in [
            (
                "register_consultations",
                "Register consultations logged (verifications and officers' searches)",
                r.consultations,
            ),
            (
                "register_refused",
                "Verifications refused by the guard's limits",
                r.refused,
            ),
            ("register_alarms", "Scan alarms raised", r.alarms),
            (
                "register_notices",
                "Notifications from the field taken in",
                r.notices,
            ),
        ] {
            counter(&mut registry, name, help, value);
        }
    }
    if let Some(phone) = &state.phone {
        let p = phone.stats();
        for (name, help, value) in [
            (
                "sms_incoming",
                "Texts that came in through the gateway",
                p.incoming,
            ),
            (
                "sms_notifications",
                "Officials notified by this node",
                p.notifications,
            ),
            (
                "sms_escalations",
                "Alerts escalated by this node",
                p.escalations,
            ),
            (
                "sms_submitted",
                "Messages the gateway accepted",
                p.submitted,
            ),
            (
                "sms_delivered",
                "Messages the gateway reports delivered",
                p.delivered,
            ),
            ("sms_failed", "Messages that failed", p.failed),
        ] {
            counter(&mut registry, name, help, value);
        }
    }
    if let Some(net) = &state.net {
        let report = net.peers().await.map_err(|_| ApiError::Unavailable)?;
        let connected = report.peers.iter().filter(|p| p.connected).count();
        gauge(
            &mut registry,
            "peers_connected",
            "Members connected",
            connected as i64,
        );
        gauge(
            &mut registry,
            "topology_version",
            "Version of the signed topology this node runs",
            report.topology_version as i64,
        );
        let c = report.counters;
        for (name, help, value) in [
            (
                "sync_peers_refused",
                "Connections refused: not a member",
                c.peers_refused,
            ),
            (
                "sync_messages_refused",
                "Sync messages refused",
                c.messages_refused,
            ),
            (
                "sync_entries_refused",
                "Entries refused in sync",
                c.entries_refused,
            ),
            (
                "sync_entries_revoked",
                "Entries refused in sync: signed by a key after its revocation",
                c.entries_revoked,
            ),
            (
                "gossip_accepted",
                "Gossip messages accepted",
                c.gossip_accepted,
            ),
            (
                "gossip_ignored",
                "Gossip messages ignored (held, or a gap)",
                c.gossip_ignored,
            ),
            (
                "gossip_rejected",
                "Gossip messages rejected as invalid",
                c.gossip_rejected,
            ),
            ("sync_pulls_sent", "Range pulls sent", c.pulls_sent),
            (
                "sync_pulls_timed_out",
                "Range pulls that timed out",
                c.pulls_timed_out,
            ),
            (
                "sync_entries_stored",
                "Entries stored from sync and gossip",
                c.entries_stored,
            ),
            (
                "gossip_publish_failures",
                "Publications that reached no peer",
                report.publish_failures,
            ),
            (
                "sync_bytes_in",
                "Sync bytes received",
                report.traffic.sync_bytes_in,
            ),
            (
                "sync_bytes_out",
                "Sync bytes sent",
                report.traffic.sync_bytes_out,
            ),
            (
                "gossip_bytes_in",
                "Gossip bytes received",
                report.traffic.gossip_bytes_in,
            ),
            (
                "gossip_bytes_out",
                "Gossip bytes sent",
                report.traffic.gossip_bytes_out,
            ),
        ] {
            counter(&mut registry, name, help, value);
        }
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .map_err(|_| ApiError::Internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
