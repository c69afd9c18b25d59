//! Who may hold which log, from the topology alone.
//!
//! A log's scope says what it is about, and so who may hold it:
//! - `alerts`: every member (missing-child alerts are national);
//! - `photos`: every member (alerts' photos, which travel with the alerts);
//! - `cases/<district>`: the district's node, its province's node and the federal node (the case's line);
//! - `register` and anything under `register/`: the federal node only (it never leaves it);
//! - `notices/<district>`: register notifications sealed to the federal node's key at a district's node, carried
//!   along the district's line (its node, its province's node, the federal node) to the federal node, which alone
//!   opens them; `notices/<province>` likewise from a province's node (that node and the federal node);
//! - `access/<about>/<at>`: break-glass uses of district `about`'s records at a node of area `at` (a district or a
//!   province): the line of `about` (so the record's own officials hear of it) and the line of `at` (so the
//!   writer's own supervisors do);
//! - any other scope: nobody, so it is never sent nor accepted.
//!
//! An author may write a log exactly when it may hold it. Both sides of every exchange check these rules: a node
//! never offers, serves or pushes a log to a peer that may not hold it, and never accepts one it may not hold
//! itself, or one whose author may not write it.

use hifazat_log::Scope;

use crate::{Node, Role, Topology};

/// Whether `node` may hold logs of `scope` under `topology`.
pub fn may_hold(topology: &Topology, node: &Node, scope: &Scope) -> bool {
    match scope {
        Scope::Access { about, at } => {
            topology.district(about.as_str()).is_some()
                && (on_line(topology, node, about.as_str()) || on_line(topology, node, at.as_str()))
        }
        Scope::Alerts | Scope::Photos => true,
        Scope::Register | Scope::RegisterPart(_) => node.role == Role::Federal,
        Scope::Other(_) => false,
        Scope::Notices(code) if topology.district(code.as_str()).is_none() => {
            topology.province(code.as_str()).is_some()
                && match node.role {
                    Role::Federal => true,
                    Role::Province => node.province.as_deref() == Some(code.as_str()),
                    Role::District => false,
                }
        }
        Scope::Cases(code) | Scope::Notices(code) => {
            let Some(district) = topology.district(code.as_str()) else {
                return false;
            };
            match node.role {
                Role::Federal => true,
                Role::Province => node.province.as_deref() == Some(district.province.as_str()),
                Role::District => node.district.as_deref() == Some(district.code.as_str()),
            }
        }
    }
}

/// Whether `node` is on the line of area `code`: a district's node, its province's node and the federal node; a
/// province's node and the federal node. No node is on the line of a code the topology does not have.
fn on_line(topology: &Topology, node: &Node, code: &str) -> bool {
    let province = match topology.district(code) {
        Some(d) => {
            if node.role == Role::District {
                return node.district.as_deref() == Some(code);
            }
            d.province.as_str()
        }
        None if topology.province(code).is_some() => {
            if node.role == Role::District {
                return false;
            }
            code
        }
        None => return false,
    };
    match node.role {
        Role::Federal => true,
        Role::Province => node.province.as_deref() == Some(province),
        Role::District => false,
    }
}

/// The members a node keeps connections to: the federal node with every province and district; a province with
/// the federal node, the other provinces and its own districts; a district with its province and the federal
/// node. Two routes from every district to the federal node, so one outage does not cut it off.
pub fn neighbours<'a>(topology: &'a Topology, node: &Node) -> Vec<&'a Node> {
    let province_of = |n: &Node| -> Option<String> {
        match n.role {
            Role::Federal => None,
            Role::Province => n.province.clone(),
            Role::District => n
                .district
                .as_deref()
                .and_then(|d| topology.district(d))
                .map(|d| d.province.clone()),
        }
    };
    let mine = province_of(node);
    topology
        .nodes
        .iter()
        .filter(|other| other.name != node.name)
        .filter(|other| match (node.role, other.role) {
            (Role::Federal, _) | (_, Role::Federal) => true,
            (Role::Province, Role::Province) => true,
            (Role::Province, Role::District) | (Role::District, Role::Province) => {
                mine.is_some() && province_of(other) == mine
            }
            (Role::District, Role::District) => false,
        })
        .collect()
}

/// The member that covers for `node`: a district's province node, a province's federal node. The federal node
/// has none. It is the node's witness, and the node its officials' SMS falls back to.
pub fn parent_of<'a>(topology: &'a Topology, node: &Node) -> Option<&'a Node> {
    match node.role {
        Role::Federal => None,
        Role::Province => topology.nodes.iter().find(|n| n.role == Role::Federal),
        Role::District => {
            let province = topology
                .district(node.district.as_deref()?)?
                .province
                .clone();
            topology
                .nodes
                .iter()
                .find(|n| n.role == Role::Province && n.province.as_deref() == Some(&province))
        }
    }
}

/// The member that witnesses `node`'s logs, checking and cosigning their checkpoints: its parent. The federal
/// node has none (its checkpoints stand on its own signature).
pub fn witness_of<'a>(topology: &'a Topology, node: &Node) -> Option<&'a Node> {
    parent_of(topology, node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Topology {
        Topology::parse(include_str!("../../../topology/demo.toml")).expect("demo topology")
    }

    fn scope(s: &str) -> Scope {
        Scope::parse(s).expect("scope")
    }

    #[test]
    fn cases_stay_on_their_line_and_the_register_on_the_federal_node() {
        let t = demo();
        let holders = |s: &str| -> Vec<&str> {
            t.nodes
                .iter()
                .filter(|n| may_hold(&t, n, &scope(s)))
                .map(|n| n.name.as_str())
                .collect()
        };
        assert_eq!(holders("cases/pb-lhr"), ["federal", "punjab", "lahore"]);
        assert_eq!(holders("cases/sd-hyd"), ["federal", "sindh", "hyderabad"]);
        assert_eq!(holders("alerts").len(), t.nodes.len());
        assert_eq!(holders("register"), ["federal"]);
        assert_eq!(holders("register/notifications"), ["federal"]);
        assert_eq!(holders("notices/pb-ksr"), ["federal", "punjab", "kasur"]);
        assert_eq!(holders("notices/sd"), ["federal", "sindh"]);
        assert!(holders("notices/xx").is_empty());
        assert!(holders("cases/xx-nowhere").is_empty());
        assert!(holders("statistics").is_empty());
        // A break-glass use at Karachi South of a Lahore record: both lines, and no one else.
        assert_eq!(
            holders("access/pb-lhr/sd-khs"),
            ["federal", "punjab", "sindh", "lahore", "karachi-south"]
        );
        assert_eq!(
            holders("access/pb-lhr/sd"),
            ["federal", "punjab", "sindh", "lahore"]
        );
        assert_eq!(
            holders("access/pb-lhr/pb-lhr"),
            ["federal", "punjab", "lahore"]
        );
        assert!(holders("access/xx-nowhere/pb-lhr").is_empty());
        assert_eq!(holders("access/pb-lhr/xx"), ["federal", "punjab", "lahore"]);
    }

    #[test]
    fn witnesses_are_parents_and_may_hold_what_they_witness() {
        let t = demo();
        let witness = |n: &str| witness_of(&t, t.node(n).expect("node")).map(|w| w.name.as_str());
        assert_eq!(witness("lahore"), Some("punjab"));
        assert_eq!(witness("hyderabad"), Some("sindh"));
        assert_eq!(witness("punjab"), Some("federal"));
        assert_eq!(witness("federal"), None);
        // Every log a node may write, its witness may hold: the witness checks against its own copy.
        for n in &t.nodes {
            let Some(w) = witness_of(&t, n) else { continue };
            for code in t.districts.iter().map(|d| d.code.to_ascii_lowercase()) {
                for s in [
                    format!("cases/{code}"),
                    format!("notices/{code}"),
                    format!("access/{code}/sd-khs"),
                    format!("access/{code}/pb"),
                    "alerts".into(),
                ] {
                    if may_hold(&t, n, &scope(&s)) {
                        assert!(may_hold(&t, w, &scope(&s)), "{} may not hold {s}", w.name);
                    }
                }
            }
        }
    }

    #[test]
    fn neighbours_follow_the_hierarchy() {
        let t = demo();
        let names = |n: &str| -> Vec<&str> {
            neighbours(&t, t.node(n).expect("node"))
                .iter()
                .map(|n| n.name.as_str())
                .collect()
        };
        assert_eq!(names("lahore"), ["federal", "punjab"]);
        assert_eq!(names("punjab"), ["federal", "sindh", "lahore", "kasur"]);
        assert_eq!(names("federal").len(), t.nodes.len() - 1);
        // Symmetric: a node is its neighbour's neighbour.
        for n in &t.nodes {
            for m in neighbours(&t, n) {
                assert!(neighbours(&t, m).iter().any(|x| x.name == n.name));
            }
        }
    }
}
