//! The register's pages, for register officers at the federal node: entries (search by CNIC, list, one entry
//! with its changes, a new entry), consultations, alarms and notifications from the field; and the verification
//! form for authorised institutions. CNICs are typed into forms and travel in request bodies only.

use askama::Template;

use super::forms::{form_problem, problem_of};
use super::*;
use crate::Text;

/// An entry in the list.
#[derive(Debug, Clone)]
pub struct OffenderLine {
    pub id: String,
    pub name: String,
    /// One of [`OFFENDER_STATUSES`].
    pub status: String,
    /// The current address's district, in the reader's language.
    pub district: String,
}

/// The register officers' first page: search by CNIC, the entries, and what needs looking into.
#[derive(Debug, Template)]
#[template(path = "register.html")]
pub struct RegisterHome<'a> {
    pub frame: Frame<'a>,
    pub csrf: String,
    /// The CNIC typed into the search, shown again when it found nothing or was refused.
    pub cnic: String,
    /// Why the search found nothing or was refused, in the reader's language.
    pub search: Option<String>,
    pub entries: Vec<OffenderLine>,
    pub next: Option<String>,
    /// Alarms and unmatched notifications among the newest.
    pub alarms: usize,
    pub unmatched: usize,
}

/// A conviction as shown.
#[derive(Debug, Clone)]
pub struct ConvictionView {
    pub offence: String,
    pub court: String,
    pub date: String,
    pub sentence: String,
}

/// An address as shown.
#[derive(Debug, Clone)]
pub struct AddressView {
    pub address: String,
    pub district: String,
    pub since: String,
    pub until: Option<String>,
}

/// A notified journey.
#[derive(Debug, Clone)]
pub struct TravelView {
    pub destination: String,
    pub depart: String,
    pub back: Option<String>,
}

/// One register entry in full.
#[derive(Debug, Template)]
#[template(path = "offender.html")]
pub struct OffenderPage<'a> {
    pub frame: Frame<'a>,
    pub csrf: String,
    pub id: String,
    pub cnic: String,
    pub name: String,
    /// `son_of` and the like (one of [`RELATIONS`]), and the parent's or husband's name.
    pub relation: String,
    pub parent: String,
    pub aliases: Vec<String>,
    pub convictions: Vec<ConvictionView>,
    pub addresses: Vec<AddressView>,
    pub travels: Vec<TravelView>,
    pub status: String,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub changes: u64,
    /// Every district (value: code), for the move form.
    pub districts: Vec<Choice>,
    /// What to correct in the change just sent, in the reader's language.
    pub problems: Vec<FieldProblem>,
    /// A change was just recorded.
    pub done: bool,
}

impl OffenderPage<'_> {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }
}

/// The form for a new register entry, empty or as sent with what to correct.
#[derive(Debug, Template)]
#[template(path = "offender_new.html")]
pub struct OffenderForm<'a> {
    pub frame: Frame<'a>,
    pub csrf: String,
    pub cnic: String,
    pub name: String,
    pub relation: String,
    pub parent: String,
    /// Comma-separated, as typed.
    pub aliases: String,
    pub offence: String,
    pub court: String,
    pub date: String,
    pub sentence: String,
    pub address: String,
    pub districts: Vec<Choice>,
    pub since: String,
    pub problems: Vec<FieldProblem>,
}

impl OffenderForm<'_> {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }

    /// The relations as choices, in the reader's language.
    pub fn relations(&self) -> Vec<Choice> {
        RELATIONS
            .iter()
            .map(|r| Choice {
                value: (*r).to_owned(),
                label: self.frame.t.named("register.relation", r).to_owned(),
                selected: *r == self.relation,
            })
            .collect()
    }
}

/// The register's fields on its forms, with the catalogue key of what to tell the reader when one is refused.
pub const REGISTER_FIELDS: [(&str, &str); 16] = [
    ("cnic", "register.problem.cnic"),
    ("name", "register.problem.name"),
    ("relation", "register.problem.relation"),
    ("parent", "register.problem.name"),
    ("aliases", "register.problem.name"),
    ("alias", "register.problem.name"),
    ("offence", "register.problem.text"),
    ("court", "register.problem.text"),
    ("date", "register.problem.date"),
    ("sentence", "register.problem.text"),
    ("address", "register.problem.text"),
    ("district", "register.problem.district"),
    ("since", "register.problem.date"),
    ("destination", "register.problem.text"),
    ("depart", "register.problem.date"),
    ("back", "register.problem.date"),
];

/// What to tell the reader about a refused register field, in their language.
pub fn register_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&REGISTER_FIELDS, t, field)
}

/// The relations a parentage names.
pub const RELATIONS: [&str; 3] = ["son_of", "daughter_of", "wife_of"];
/// Where an entry stands.
pub const OFFENDER_STATUSES: [&str; 4] = ["active", "in_custody", "deceased", "removed"];

/// A consultation of the register.
#[derive(Debug, Clone)]
pub struct ConsultationLine {
    pub seq: u64,
    pub at_ms: u64,
    pub requester: String,
    /// `api`, `sms` or `officer`.
    pub channel: String,
    /// `record`, `no_record`, `refused` or `invalid`.
    pub outcome: String,
    pub reference: Option<String>,
}

/// An alarm: when, why, and the count that crossed its threshold.
#[derive(Debug, Clone)]
pub struct AlarmLine {
    pub seq: u64,
    pub at_ms: u64,
    /// One of [`SIGNALS`].
    pub signal: String,
    pub count: u32,
}

/// A notification from the field as received here.
#[derive(Debug, Clone)]
pub struct NoticeLine {
    pub seq: u64,
    pub received_ms: u64,
    /// `applied`, `unmatched` or `rejected`.
    pub outcome: String,
    /// The entry it was applied to.
    pub offender: Option<String>,
    /// The CNIC it names, what it reports (an update's kind), by whom and where.
    pub cnic: Option<String>,
    pub change: Option<String>,
    pub by: Option<String>,
    pub node: Option<String>,
    pub reason: Option<String>,
}

/// One of the register's journals, a page at a time: consultations, alarms or notifications.
#[derive(Debug, Template)]
#[template(path = "register_log.html")]
pub struct RegisterLogPage<'a> {
    pub frame: Frame<'a>,
    /// `consultations`, `alarms` or `notices`.
    pub which: &'static str,
    pub consultations: Vec<ConsultationLine>,
    pub alarms: Vec<AlarmLine>,
    pub notices: Vec<NoticeLine>,
    pub next: Option<String>,
}

/// What sets an alarm off.
pub const SIGNALS: [&str; 3] = ["new_senders", "clustered_cnics", "senders_at_limit"];
/// The kinds of change a notification or an update makes.
pub const CHANGES: [&str; 7] = [
    "rename",
    "add_alias",
    "move",
    "travel",
    "convict",
    "set_status",
    "set_photo",
];
/// A consultation's and a notification's outcomes, and the journals.
pub const REGISTER_OUTCOMES: [&str; 7] = [
    "record",
    "no_record",
    "refused",
    "invalid",
    "applied",
    "unmatched",
    "rejected",
];
pub const REGISTER_JOURNALS: [&str; 3] = ["consultations", "alarms", "notices"];

/// The verification form for authorised institutions, and the answer.
#[derive(Debug, Template)]
#[template(path = "verify.html")]
pub struct VerifyPage<'a> {
    pub frame: Frame<'a>,
    pub csrf: String,
    /// What to correct, or why there is no answer, in the reader's language.
    pub problem: Option<String>,
    /// The answer: whether there is a record, its reference, and the register's own words in the reader's
    /// language.
    pub answer: Option<(bool, String, String)>,
}
