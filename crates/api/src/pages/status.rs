//! `GET /status`: the node's own state for the public: which node this is and whom it serves, and when it last
//! heard from its parent (the node that covers for it), so a reader can tell whether what they see is current.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use hifazat_topology::Role;
use hifazat_web::pages;

use super::{Reader, html};
use crate::AppState;

/// The node's name, role and area, and its parent's state as this node's network last saw it.
pub(crate) async fn status(State(state): State<AppState>, reader: Reader) -> Response {
    let topology = state.engine.topology();
    let lang = reader.lang;
    let me = topology.node(state.engine.node_name());
    let role = me.map(|n| match n.role {
        Role::Federal => "federal",
        Role::Province => "province",
        Role::District => "district",
    });
    let area = me.and_then(|n| match n.role {
        Role::Federal => None,
        Role::Province => n
            .province
            .as_deref()
            .and_then(|p| topology.province(p))
            .map(|p| lang.pick(&p.name, &p.name_ur).to_owned()),
        Role::District => n
            .district
            .as_deref()
            .and_then(|d| topology.district(d))
            .map(|d| lang.pick(&d.name, &d.name_ur).to_owned()),
    });
    let parent_name = me
        .and_then(|n| hifazat_topology::parent_of(topology, n))
        .map(|p| p.name.as_str());
    let mut parent = None;
    if let (Some(name), Some(net)) = (parent_name, &state.net) {
        // The network's report; a network that does not answer leaves the parent's state unknown.
        if let Ok(report) = net.peers().await {
            let view = report.peers.iter().find(|p| p.name == name);
            let ago = view
                .and_then(|p| p.last_vector_ms)
                .map(|t| report.now_ms.saturating_sub(t));
            parent = Some(pages::ParentState {
                name: name.to_owned(),
                connected: view.is_some_and(|p| p.connected),
                heard_at_ms: ago.map(|ago| state.engine.now_ms().saturating_sub(ago)),
                heard_ago_s: ago.map(|ago| ago / 1_000),
            });
        }
    }
    let page = pages::StatusPage {
        frame: reader.frame(&state),
        role: role.unwrap_or("alone"),
        area,
        networked: state.net.is_some(),
        has_parent: parent_name.is_some(),
        parent,
    };
    html(StatusCode::OK, pages::render(&page))
}
