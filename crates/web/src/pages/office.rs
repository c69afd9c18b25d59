//! The officials' pages: signing in with one's token, and what every official's page carries (the desk: who is
//! signed in, the pages their role opens, and whether the node is cut off from its parent).

use askama::Template;

use super::*;

/// The form to sign in: the official's token, once; then the node keeps a session.
#[derive(Debug, Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage<'a> {
    pub frame: Frame<'a>,
    /// The form's anti-forgery token (the same value as its cookie).
    pub csrf: String,
    /// Why the last try was refused, in the reader's language.
    pub error: Option<String>,
}

/// What every official's page carries: who is signed in, the pages their role opens, and the node's link upward.
#[derive(Debug, Clone)]
pub struct Desk {
    pub name: String,
    /// The role's name as data (`dpo`), shown through the catalogue.
    pub role: String,
    /// The area the role covers, in the reader's language.
    pub area: String,
    /// The session's anti-forgery token, carried by every form (signing out too).
    pub csrf: String,
    pub links: Vec<DeskLink>,
    /// Set while the node is cut off from its parent.
    pub offline: Option<Offline>,
}

/// One page in the desk's menu.
#[derive(Debug, Clone)]
pub struct DeskLink {
    pub href: &'static str,
    /// The catalogue key of its name (`desk.link.` and one of [`DESK_LINKS`]).
    pub key: &'static str,
    /// This is the page being read.
    pub current: bool,
}

/// The node is cut off from its parent: since when (the last time it was heard), and how many of this node's
/// changes wait to reach it.
#[derive(Debug, Clone)]
pub struct Offline {
    pub parent: String,
    /// When the parent was last heard from, if it has been since this node started.
    pub since_ms: Option<u64>,
    pub waiting: u64,
}

/// The desk's pages' names (`desk.link.queue`, …).
pub const DESK_LINKS: [&str; 17] = [
    "queue",
    "cases",
    "raise",
    "file",
    "node",
    "office",
    "alerts",
    "area",
    "national",
    "register",
    "register_new",
    "consultations",
    "alarms",
    "notices",
    "verify",
    "audit",
    "found",
];

/// The roles' names that office pages show (`role.dpo`, …).
pub const ROLES: [&str; 8] = [
    "station_officer",
    "dpo",
    "rpo",
    "ig",
    "ministry",
    "register_officer",
    "auditor",
    "verifier",
];
