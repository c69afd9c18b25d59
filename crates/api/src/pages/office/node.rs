//! `GET /office/node`: the node's links as its network sees them now (any official, as `GET /api/v1/peers`): each
//! peer, whether it is this node's parent, when it was last heard from, and how many changes wait to move either
//! way.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use hifazat_topology::Role as NodeRole;
use hifazat_web::Text;
use hifazat_web::pages;

use super::super::{Reader, html};
use super::{Ctx, Official, desk, not_for_role};
use crate::AppState;

pub(crate) async fn node(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/node").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    if official.who.caller.may_see_peers().is_err() {
        let t = Text::of(reader.lang);
        return cx.problem(not_for_role(t, official.role));
    }
    let topology = state.engine.topology();
    let parent = topology
        .node(state.engine.node_name())
        .and_then(|me| hifazat_topology::parent_of(topology, me))
        .map(|p| p.name.clone());
    let report = match &state.net {
        Some(net) => net.peers().await.ok(),
        None => None,
    };
    let now_ms = state.engine.now_ms();
    let peers = report
        .as_ref()
        .map(|r| {
            r.peers
                .iter()
                .map(|p| {
                    let ago = p.last_vector_ms.map(|t| r.now_ms.saturating_sub(t));
                    pages::PeerLine {
                        name: p.name.clone(),
                        role: match p.role {
                            NodeRole::Federal => "federal",
                            NodeRole::Province => "province",
                            NodeRole::District => "district",
                        },
                        neighbour: p.neighbour,
                        parent: parent.as_deref() == Some(p.name.as_str()),
                        connected: p.connected,
                        heard_at_ms: ago.map(|ago| now_ms.saturating_sub(ago)),
                        heard_ago_ms: ago,
                        behind: p.entries_behind,
                        ahead: p.entries_ahead,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let page = pages::NodePage {
        frame: cx.frame(),
        networked: state.net.is_some(),
        unknown: state.net.is_some() && report.is_none(),
        peers,
    };
    html(StatusCode::OK, pages::render(&page))
}
