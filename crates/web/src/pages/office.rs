//! The officials' pages: signing in with one's token, and the office page of who is signed in.

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

/// The official signed in: who, in which role and area, and how to sign out.
#[derive(Debug, Template)]
#[template(path = "office.html")]
pub struct OfficePage<'a> {
    pub frame: Frame<'a>,
    pub name: String,
    /// The role's name as data (`dpo`), shown through the catalogue.
    pub role: String,
    /// The area the role covers, in the reader's language.
    pub area: String,
    /// The session's anti-forgery token, carried by the sign-out form.
    pub csrf: String,
}

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
