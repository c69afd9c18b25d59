//! Found children's pages for officials, and the possible matches shown on an alert: views only.

use askama::Template;

use super::forms::form_problem;
use super::{AlertCard, Choice, DeskEvent, FieldProblem, Frame, SEXES};
use crate::Text;

/// Where a found child may be looked after, as the API names them.
pub const CARES: [&str; 4] = ["shelter", "police_station", "hospital", "other"];
/// A found child's report's stages, in their order.
pub const FOUND_STAGES: [&str; 4] = ["reported", "matched", "handed_to_family", "closed"];

/// The words every possible match is shown with: what it is, and what it is not.
pub const MATCH_WORDS: &str = "match.words";

/// A found child's report in a list.
#[derive(Debug, Clone)]
pub struct FoundLine {
    pub id: String,
    pub district: String,
    pub found_at_ms: u64,
    pub age_years: u8,
    /// One of [`SEXES`].
    pub sex: String,
    /// One of [`CARES`].
    pub care: String,
    pub care_name: String,
    /// One of [`FOUND_STAGES`].
    pub stage: String,
    pub open_suggestions: usize,
}

/// The list of found children's reports the official sees.
#[derive(Debug, Template)]
#[template(path = "found_list.html")]
pub struct FoundListPage<'a> {
    pub frame: Frame<'a>,
    pub reports: Vec<FoundLine>,
    /// Only reports with possible matches to decide.
    pub open_only: bool,
    pub next: Option<String>,
    /// Whether the official may report a found child here.
    pub may_report: bool,
}

/// The fields of the found child's form, with the catalogue key of what to say when each is refused.
pub const FOUND_FIELDS: [(&str, &str); 11] = [
    ("district", "raise.problem.district"),
    ("place", "raise.problem.place"),
    ("position", "raise.problem.position"),
    ("found_at", "found.problem.found_at"),
    ("age", "found.problem.age"),
    ("sex", "raise.problem.sex"),
    ("description", "raise.problem.description"),
    ("care", "found.problem.care"),
    ("care_name", "found.problem.care_name"),
    ("police_notes", "intake.problem.police_notes"),
    ("photos", "found.problem.photos"),
];

/// What to tell the reader about a refused field of the found child's form.
pub fn found_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&FOUND_FIELDS, t, field)
}

/// The form to report a found child, empty or as sent with what to correct.
#[derive(Debug, Template)]
#[template(path = "found_new.html")]
pub struct FoundForm<'a> {
    pub frame: Frame<'a>,
    pub csrf: String,
    /// The districts this official reports for.
    pub districts: Vec<Choice>,
    pub place: String,
    pub position: String,
    pub found_at: String,
    pub age: String,
    pub sex: String,
    pub description: String,
    pub care: String,
    pub care_name: String,
    pub police_notes: String,
    /// Photos already received with an earlier sending of this form (their ids), kept so they are not sent again.
    pub photos: Vec<String>,
    pub problems: Vec<FieldProblem>,
}

impl FoundForm<'_> {
    pub fn problem(&self, field: &str) -> Option<&str> {
        super::forms::problem_of(&self.problems, field)
    }

    pub fn sexes(&self) -> Vec<Choice> {
        SEXES
            .iter()
            .map(|s| Choice {
                value: (*s).to_owned(),
                label: self.frame.t.named("raise.sex", s).to_owned(),
                selected: *s == self.sex,
            })
            .collect()
    }

    pub fn cares(&self) -> Vec<Choice> {
        CARES
            .iter()
            .map(|c| Choice {
                value: (*c).to_owned(),
                label: self.frame.t.named("found.care", c).to_owned(),
                selected: *c == self.care,
            })
            .collect()
    }
}

/// A possible match as the found child's report shows it: the alert's public part and photo, how close the faces
/// were, where and when it was found, what was decided, and where to decide.
#[derive(Debug, Clone)]
pub struct MatchLine {
    pub alert: AlertCard,
    /// The distance, as shown (two decimals).
    pub distance: String,
    pub at_ms: u64,
    pub node: String,
    /// `confirmed` or `rejected`, once decided.
    pub decision: Option<String>,
}

/// A found child's report as the police of its area and the ministry see it.
#[derive(Debug, Template)]
#[template(path = "desk_found.html")]
pub struct DeskFoundPage<'a> {
    pub frame: Frame<'a>,
    pub id: String,
    pub district: String,
    pub place: String,
    pub found_at_ms: u64,
    pub age_years: u8,
    pub sex: String,
    pub description: String,
    pub care: String,
    pub care_name: String,
    pub police_notes: Option<String>,
    /// The photos' addresses, at the node that took them; elsewhere none, and `photos_elsewhere` says so.
    pub photos: Vec<String>,
    pub photos_elsewhere: bool,
    /// One of [`FOUND_STAGES`].
    pub stage: String,
    pub events: Vec<DeskEvent>,
    pub matches: Vec<MatchLine>,
    /// Whether the official may decide matches and record steps (the police of the report's district).
    pub may_work: bool,
    pub csrf: String,
    /// What was just done, or what went wrong, in the reader's language.
    pub done: Option<String>,
    pub problem: Option<String>,
}

impl DeskFoundPage<'_> {
    pub fn decide_action(&self, alert: &str) -> String {
        format!("/office/found/{}/matches/{alert}", self.id)
    }

    pub fn step_action(&self) -> String {
        format!("/office/found/{}/steps", self.id)
    }

    pub fn open(&self) -> bool {
        self.stage == "reported" || self.stage == "matched"
    }
}

/// A possible match as an alert's page shows it to the police of the alert's area: the found child's report (whose
/// photos and details stay with the police where the child was found), how close, where, when, what was decided.
#[derive(Debug, Clone)]
pub struct AlertMatchLine {
    pub found: String,
    pub distance: String,
    pub at_ms: u64,
    /// Where the child was found: the district of the node that compared the faces.
    pub place: String,
    pub decision: Option<String>,
}
