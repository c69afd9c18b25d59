//! Break-glass on the officials' pages: the form a police officer outside a record's area fills to see its
//! restricted part for a while, the page that offers it for a case, and the uses listed for the records' officials,
//! the ministry and auditors.

use askama::Template;

use super::*;

/// The fields of the break-glass form and the catalogue keys of what to say when one is refused.
pub const GLASS_FIELDS: [(&str, &str); 3] = [
    ("reason", "glass.problem.reason"),
    ("minutes", "glass.problem.minutes"),
    ("limit", "glass.problem.limit"),
];

/// What to tell the reader about a refused break-glass field (or the day's limit), in their language.
pub fn glass_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&GLASS_FIELDS, t, field)
}

/// The break-glass form, empty or as the officer sent it with what to correct.
#[derive(Debug, Clone, Default)]
pub struct GlassForm {
    /// The session's anti-forgery token.
    pub csrf: String,
    pub reason: String,
    /// As typed.
    pub minutes: String,
    pub problems: Vec<FieldProblem>,
    /// The limits the node holds the request to, for the hints.
    pub reason_min: usize,
    pub reason_max: usize,
    pub minutes_max: u32,
    pub per_day: usize,
}

impl GlassForm {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }
}

/// One break-glass use as the pages list it.
#[derive(Debug, Clone)]
pub struct GlassLine {
    pub record: String,
    /// `alert` or `case`.
    pub kind: &'static str,
    /// The record's district, in the reader's language.
    pub district: String,
    /// The officer, as the log names them (role and account).
    pub by: String,
    pub reason: String,
    pub minutes: u32,
    pub at_ms: u64,
    /// The node it was used at.
    pub node: String,
}

impl GlassLine {
    /// The record's page on the officials' pages.
    pub fn href(&self) -> String {
        if self.kind == "case" {
            format!("/office/cases/{}", self.record)
        } else {
            format!("/office/alerts/{}", self.record)
        }
    }
}

/// A case outside the officer's area: why it is closed to them, and the break-glass form (403).
#[derive(Debug, Template)]
#[template(path = "glass.html")]
pub struct DeskGlassPage<'a> {
    pub frame: Frame<'a>,
    pub id: String,
    /// Whose case it is and what the officer's area is, in their language.
    pub outside: String,
    pub form: GlassForm,
}

/// Every break-glass use the official may see, newest first, a page at a time.
#[derive(Debug, Template)]
#[template(path = "glass_list.html")]
pub struct GlassListPage<'a> {
    pub frame: Frame<'a>,
    pub uses: Vec<GlassLine>,
    /// The next page's address, when there are more.
    pub next: Option<String>,
}

impl DeskGlassPage<'_> {
    /// Where the form posts.
    pub fn action(&self) -> String {
        format!("/office/cases/{}/break-glass", self.id)
    }
}
