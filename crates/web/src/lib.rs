//! The node's pages: templates checked at compile time (askama), one catalogue of strings per language (English
//! and Urdu), the page language, and the assets compiled into the binary. This crate renders only; the API crate
//! serves the pages beside `/api/v1`, reading their data through the same calls and access rules as its JSON
//! answers, so a page can never show what the API would refuse the same caller.
//!
//! Pages are plain HTML that works with JavaScript off, right-to-left by construction in Urdu (CSS logical
//! properties only), and load nothing from outside the node ([`SECURITY_HEADERS`]).

pub mod assets;
pub mod chart;
mod lang;
pub mod map;
pub mod pages;
mod text;

pub use askama::Error as RenderError;
pub use lang::Lang;
pub use text::{Number, Text, parse_local_time};

/// Headers every page is sent with: nothing loads from anywhere but the node, no inline script or style, no
/// framing, no guessing of types, no referrer leaving the node.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// The name of the cookie that holds a form's anti-forgery token (the form carries the same value).
pub const CSRF_COOKIE: &str = "hifazat_csrf";

/// The name of the cookie that carries a new complaint's tracking code to the page that shows it once.
pub const FILED_COOKIE: &str = "hifazat_filed";

/// The name of the cookie that keeps the reader's choice of language.
pub const LANG_COOKIE: &str = "hifazat_lang";

/// Every template's source, for the catalogue tests.
#[cfg(test)]
const TEMPLATE_SOURCES: [&str; 35] = [
    include_str!("../templates/forms.html"),
    include_str!("../templates/stats.html"),
    include_str!("../templates/complaint.html"),
    include_str!("../templates/filed.html"),
    include_str!("../templates/base.html"),
    include_str!("../templates/home.html"),
    include_str!("../templates/alert.html"),
    include_str!("../templates/track.html"),
    include_str!("../templates/error.html"),
    include_str!("../templates/raise.html"),
    include_str!("../templates/poster.html"),
    include_str!("../templates/status.html"),
    include_str!("../templates/sign_in.html"),
    include_str!("../templates/queue.html"),
    include_str!("../templates/desk_alert.html"),
    include_str!("../templates/cases.html"),
    include_str!("../templates/desk_case.html"),
    include_str!("../templates/node.html"),
    include_str!("../templates/map.html"),
    include_str!("../templates/area.html"),
    include_str!("../templates/national.html"),
    include_str!("../templates/alerts.html"),
    include_str!("../templates/register.html"),
    include_str!("../templates/offender.html"),
    include_str!("../templates/offender_new.html"),
    include_str!("../templates/register_log.html"),
    include_str!("../templates/verify.html"),
    include_str!("../templates/audit.html"),
    include_str!("../templates/audit_log.html"),
    include_str!("../templates/audit_history.html"),
    include_str!("../templates/found_list.html"),
    include_str!("../templates/found_new.html"),
    include_str!("../templates/desk_found.html"),
    include_str!("../templates/glass.html"),
    include_str!("../templates/glass_list.html"),
];
