//! `GET /api/v1/events`: a live stream (server-sent events) of the records that change on this node and that the
//! caller may see: alerts for everyone (an event carries only the record's id, kind and scope, nothing of its
//! content), a case only for officials who see its district's cases.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use hifazat_access::Caller;
use hifazat_domain::RecordKind;
use hifazat_engine::Change;
use hifazat_limits as limits;
use hifazat_log::Scope;
use hifazat_topology::Topology;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::AppState;
use crate::caller::Who;
use crate::error::{ApiError, responses};

/// Which changes a client of the live stream wants.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventFilter {
    /// Only records of this kind.
    kind: Option<RecordKind>,
}

/// Whether `caller` may hear of `change`.
fn may_hear(caller: &Caller, topology: &Topology, change: &Change) -> bool {
    // A break-glass use: the record's own officials, the ministry and auditors (the officer's supervisors read it
    // in the list, which knows the node it was used at).
    if let Scope::Access { about, .. } = &change.scope {
        return caller.sees_glass_uses(topology, about.as_str(), "");
    }
    match change.kind {
        RecordKind::Alert => true,
        // A found child's report goes along its district's line, as its cases do, and is seen as they are.
        RecordKind::Case | RecordKind::Found => match &change.scope {
            Scope::Cases(district) => caller.sees_cases(topology, district.as_str()),
            _ => false,
        },
    }
}

/// Whether `caller` may hear of a possible match seen on a record: on an alert, the police of the alert's area
/// and the ministry (who see its restricted part); on a found child's report, those who see the report.
fn may_hear_suggestion(
    caller: &Caller,
    topology: &Topology,
    s: &hifazat_matcher::Suggested,
) -> bool {
    match s.seen_on {
        RecordKind::Alert => caller.sees_alert_restricted(topology, &s.district),
        _ => caller.sees_cases(topology, &s.district),
    }
}

/// Resolves when the node begins to stop (its signal turns true, or its sender is gone); never without a signal.
async fn stopped(stopping: &mut Option<watch::Receiver<bool>>) {
    match stopping {
        // An error means the sender is gone, which is the node stopping too.
        Some(rx) => {
            let _ = rx.wait_for(|stop| *stop).await;
        }
        None => std::future::pending().await,
    }
}

/// Each change is sent once it is durable, so a read made on hearing of it sees it. Each event is
/// `event: change` with the change as JSON data; a client too slow to keep up gets `event: lagged` with how many
/// it missed, and should read the lists again. A record's own police, the ministry and auditors hear
/// `event: break_glass` (the record, its kind and the use's log scope) when a break-glass use of the record reaches
/// this node: `GET /api/v1/break-glass` lists it. Officials who see an alert's district's cases also hear
/// `event: notified` when this node sends an official an SMS about one of its alerts. The police of an alert's
/// area, those who see a found child's report, and the ministry hear `event: suggestion` when a possible match
/// between the two reaches that record here (the alert, the report, the distance, the node that compared them).
#[utoipa::path(get, path = "/api/v1/events", tag = "live", params(EventFilter),
    responses(
        (status = 200, description = "Server-sent events: `change` (a `Change` as JSON), `break_glass` (a `Change` whose scope is the use's `access/…` log), `notified` (a `Notified`), `suggestion` (a possible match) and `lagged`", content_type = "text/event-stream", body = String),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Unavailable
    ))]
pub(crate) async fn events(
    State(state): State<AppState>,
    who: Who,
    filter: Result<Query<EventFilter>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(filter) = filter?;
    let permit = state.streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::Busy(format!(
            "{} live event streams are open, the most this node serves; try again later",
            limits::EVENT_STREAMS_MAX
        ))
    })?;
    let changes = state.engine.subscribe_changes();
    // A node without an SMS service has no notifications: a channel that never speaks stands in.
    let (silent, notices) = match &state.phone {
        Some(phone) => (None, phone.subscribe()),
        None => {
            let (tx, rx) = tokio::sync::broadcast::channel(1);
            (Some(tx), rx)
        }
    };
    // Likewise a node without face matching has no suggestions.
    let (quiet, matches) = match &state.matcher {
        Some(m) => (None, m.subscribe()),
        None => {
            let (tx, rx) = tokio::sync::broadcast::channel(1);
            (Some(tx), rx)
        }
    };
    let engine = state.engine.clone();
    let caller = who.caller;
    let stopping = state.stopping.clone();
    let stream = futures::stream::unfold(
        (
            changes,
            (notices, matches),
            (silent, quiet),
            permit,
            stopping,
        ),
        move |(mut changes, (mut notices, mut matches), silent, permit, mut stopping)| {
            let engine = engine.clone();
            let caller = caller.clone();
            async move {
                loop {
                    let event = tokio::select! {
                        change = changes.recv() => match change {
                            Ok(change)
                                if filter.kind.is_none_or(|k| k == change.kind)
                                    && may_hear(&caller, engine.topology(), &change) =>
                            {
                                let name = match change.scope {
                                    Scope::Access { .. } => "break_glass",
                                    _ => "change",
                                };
                                SseEvent::default().event(name).json_data(&change)
                            }
                            Ok(_) => continue,
                            Err(RecvError::Lagged(missed)) => SseEvent::default()
                                .event("lagged")
                                .json_data(json!({ "missed": missed })),
                            Err(RecvError::Closed) => return None,
                        },
                        notice = notices.recv() => match notice {
                            Ok(n)
                                if filter.kind.is_none_or(|k| k == RecordKind::Alert)
                                    && caller.sees_cases(engine.topology(), &n.district) =>
                            {
                                SseEvent::default().event("notified").json_data(&n)
                            }
                            Ok(_) | Err(RecvError::Lagged(_)) => continue,
                            // The stand-in's sender is held by the stream, so this is the node stopping.
                            Err(RecvError::Closed) => return None,
                        },
                        suggested = matches.recv() => match suggested {
                            Ok(s) if filter.kind.is_none_or(|k| k == s.seen_on)
                                && may_hear_suggestion(&caller, engine.topology(), &s) =>
                            {
                                SseEvent::default().event("suggestion").json_data(json!({
                                    "alert": s.alert,
                                    "found": s.found,
                                    "distance": s.distance,
                                    "node": s.node,
                                    "seen_on": s.seen_on,
                                    "district": s.district,
                                    "note": hifazat_matcher::NOTE,
                                }))
                            }
                            Ok(_) | Err(RecvError::Lagged(_)) => continue,
                            Err(RecvError::Closed) => return None,
                        },
                        () = stopped(&mut stopping) => return None,
                    };
                    // A change always serialises; should it ever not, the stream ends rather than lie.
                    return event.ok().map(|e| {
                        (
                            Ok(e),
                            (changes, (notices, matches), silent, permit, stopping),
                        )
                    });
                }
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(limits::EVENT_KEEPALIVE_SECS))))
}

/// `GET /api/v1/track/{code}/events`: the complainant's live stream of the case their code reads: `event: message`
/// (a `CaseMessage`) for each message that reaches the case here after the stream opens, `event: change` when
/// anything else of the case changes (read `GET /api/v1/track/{code}` again), `lagged` as on the officials' stream.
/// Opening it counts as a lookup by code (the public's limit and the wrong-code lockout). The stream ends when
/// the code is ended by a new one.
#[utoipa::path(get, path = "/api/v1/track/{code}/events", tag = "live",
    params(("code" = String, Path, description = "The case's tracking code",
        pattern = r"^[Hh][Zz](-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}){2}((-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}){2})?$")),
    responses(
        (status = 200, description = "Server-sent events: `message` (a `CaseMessage`), `change` and `lagged`", content_type = "text/event-stream", body = String),
        responses::NotFound,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn track_events(
    State(state): State<AppState>,
    who: Who,
    axum::extract::Path(code): axum::extract::Path<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let (code, case) = crate::cases::case_by_code(&state, &who, &code).await?;
    let permit = state.streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::Busy(format!(
            "{} live event streams are open, the most this node serves; try again later",
            limits::EVENT_STREAMS_MAX
        ))
    })?;
    let changes = state.engine.subscribe_changes();
    let seen: std::collections::HashSet<(u64, String, String)> =
        hifazat_engine::case_messages(&case.doc)
            .into_iter()
            .map(|m| (m.at_ms, m.node, m.text))
            .collect();
    let engine = state.engine.clone();
    let (id, code) = (case.id, code.as_str().to_owned());
    let stopping = state.stopping.clone();
    let stream = futures::stream::unfold(
        (changes, seen, Vec::<SseEvent>::new(), permit, stopping),
        move |(mut changes, mut seen, mut queued, permit, mut stopping)| {
            let (engine, code) = (engine.clone(), code.clone());
            async move {
                loop {
                    if let Some(event) = queued.pop() {
                        return Some((Ok(event), (changes, seen, queued, permit, stopping)));
                    }
                    tokio::select! {
                        change = changes.recv() => match change {
                            // A break-glass use is for officials, never the complainant's stream.
                            Ok(change)
                                if change.record == id
                                    && !matches!(change.scope, Scope::Access { .. }) =>
                            {
                                let Ok(Some(case)) = engine.case_by_tracking(&code).await else {
                                    // The code was ended (or the case cannot be read): the stream ends.
                                    return None;
                                };
                                let mut fresh: Vec<SseEvent> = Vec::new();
                                for m in hifazat_engine::case_messages(&case.doc) {
                                    if seen.insert((m.at_ms, m.node.clone(), m.text.clone()))
                                        && let Ok(e) = SseEvent::default().event("message").json_data(&m)
                                    {
                                        fresh.push(e);
                                    }
                                }
                                // Sent oldest first: the queue is popped from its end.
                                queued.push(SseEvent::default().event("change").data("{}"));
                                queued.extend(fresh.into_iter().rev());
                            }
                            Ok(_) => continue,
                            Err(RecvError::Lagged(missed)) => {
                                if let Ok(e) = SseEvent::default().event("lagged").json_data(json!({ "missed": missed })) {
                                    queued.push(e);
                                }
                            }
                            Err(RecvError::Closed) => return None,
                        },
                        () = stopped(&mut stopping) => return None,
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(limits::EVENT_KEEPALIVE_SECS))))
}
