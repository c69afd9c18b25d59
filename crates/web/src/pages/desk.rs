//! The police's pages: the station's work queue, an alert and a case with the steps the official may record, the
//! list of cases, and the node's links to its peers. The API crate fills each view through the same calls and
//! rules as its JSON answers.

use askama::Template;

use super::*;

/// An alert in the station's queue.
#[derive(Debug, Clone)]
pub struct QueueAlert {
    pub id: String,
    pub child_name: String,
    pub age_years: u8,
    /// Where the child was last seen, in people's words.
    pub place: String,
    /// The district's name in the reader's language.
    pub district: String,
    /// One of [`ALERT_STAGES`].
    pub stage: String,
    pub raised_ms: u64,
    /// How long since it was raised.
    pub waited_ms: u64,
    /// Time left before it goes to the RPO, while it waits for validation.
    pub left_ms: Option<u64>,
    /// How long past the time it should have gone to the RPO, while it still waits.
    pub overdue_ms: Option<u64>,
    /// The office it was escalated to (1 region, 2 province, 3 federal).
    pub escalated: Option<u8>,
    pub sightings: u64,
}

impl QueueAlert {
    /// The catalogue key of its escalation's level, if escalated.
    pub fn escalation(&self) -> Option<&'static str> {
        escalation_key(self.escalated)
    }
}

fn escalation_key(level: Option<u8>) -> Option<&'static str> {
    match level? {
        1 => Some("escalation.level.1"),
        2 => Some("escalation.level.2"),
        3 => Some("escalation.level.3"),
        _ => None,
    }
}

/// A sighting reported on an alert.
#[derive(Debug, Clone)]
pub struct SightingLine {
    pub alert: String,
    pub child_name: String,
    pub seen_at_ms: u64,
    pub place: String,
    pub description: String,
    /// Who reported it (restricted), or `None` for an anonymous tip or a reader who may not see it.
    pub reporter: Option<String>,
    /// One of [`CHANNELS`].
    pub channel: String,
}

/// A case in a list.
#[derive(Debug, Clone)]
pub struct CaseLine {
    pub id: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    /// The district's name in the reader's language.
    pub district: String,
    /// One of [`CASE_STAGES`].
    pub stage: String,
    pub filed_ms: u64,
    /// How long since its last step.
    pub idle_ms: u64,
    pub anonymous: bool,
    pub fir: bool,
}

/// How many of the area's records stand at one stage.
#[derive(Debug, Clone)]
pub struct StageCount {
    pub stage: &'static str,
    pub count: u64,
}

/// A text message the node sent or keeps.
#[derive(Debug, Clone)]
pub struct SmsLine {
    pub at_ms: u64,
    /// The official's name (never their number).
    pub official: String,
    /// The alert it is about, if it is about one.
    pub alert: Option<String>,
    /// One of [`SMS_STATES`].
    pub state: &'static str,
    /// What the gateway said when it failed.
    pub why: Option<String>,
}

/// The SMS the node sent: how many went and failed, and the newest.
#[derive(Debug, Clone)]
pub struct SmsBox {
    pub sent: u64,
    pub failed: u64,
    pub lines: Vec<SmsLine>,
}

/// The district station's work: alerts waiting for validation (with the time left before they go to the RPO), the
/// district's open alerts, new sightings, cases by stage, cases without a step for days, and the SMS sent.
#[derive(Debug, Template)]
#[template(path = "queue.html")]
pub struct QueuePage<'a> {
    pub frame: Frame<'a>,
    /// The district's name in the reader's language.
    pub district: String,
    pub waiting: Vec<QueueAlert>,
    pub open: Vec<QueueAlert>,
    pub sightings: Vec<SightingLine>,
    pub stages: Vec<StageCount>,
    pub stale: Vec<CaseLine>,
    /// Days without a step after which a case is listed as stale.
    pub stale_days: u64,
    /// The SMS box, for roles that read the outbox on a node with an SMS service.
    pub sms: Option<SmsBox>,
    /// How long an alert may wait for validation before it goes to the RPO.
    pub escalate_after_ms: u64,
    /// Found children of the district with possible matches waiting for a decision.
    pub found_to_check: usize,
    /// The latest break-glass uses the official oversees (of the district's records, or made at its node).
    pub glass: Vec<GlassLine>,
    /// How many of them were made in the last 24 hours.
    pub glass_today: usize,
}

/// One event of a timeline as an official of its area sees it: who recorded it, their note, an FIR's number and
/// whom an SMS told.
#[derive(Debug, Clone)]
pub struct DeskEvent {
    pub line: EventLine,
    pub by: String,
    pub note: Option<String>,
    pub fir: Option<String>,
    /// An SMS sent about the record: the official's name.
    pub notified: Option<String>,
}

/// A record's status as officials see it.
#[derive(Debug, Clone)]
pub struct StatusView {
    pub stage: String,
    pub firs: Vec<String>,
    pub escalated: Option<u8>,
    pub fast_tracked: bool,
}

impl StatusView {
    /// The catalogue key of its escalation's level, if escalated.
    pub fn escalation(&self) -> Option<&'static str> {
        escalation_key(self.escalated)
    }
}

/// A person who can be called back: restricted to the police of the area and the ministry.
#[derive(Debug, Clone)]
pub struct ContactView {
    pub name: String,
    pub mobile: Option<String>,
    pub cnic: Option<String>,
}

/// The form to record a step on a record's timeline: the steps the official may record there, and the fields some
/// steps need.
#[derive(Debug, Clone, Default)]
pub struct StepForm {
    pub csrf: String,
    /// The steps this official may record ([`STEPS`] names), in order.
    pub steps: Vec<&'static str>,
    /// The step chosen, when the form comes back.
    pub chosen: String,
    pub fir_number: String,
    /// `1`, `2` or `3`.
    pub level: String,
    pub note: String,
    pub problems: Vec<FieldProblem>,
    /// A step just recorded (its name), which the page confirms.
    pub done: Option<String>,
}

impl StepForm {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }

    /// Whether the official may record step `name` here.
    pub fn offers(&self, name: &str) -> bool {
        self.steps.contains(&name)
    }

    /// Whether step `name` is the one chosen.
    pub fn is_chosen(&self, name: &str) -> bool {
        self.chosen == name
    }

    /// Whether escalation level `level` is the one chosen.
    pub fn level_is(&self, level: &str) -> bool {
        self.level == level
    }
}

/// The steps officials record through the pages, as the API's event types name them.
pub const STEPS: [&str; 11] = [
    "validated",
    "mobilised",
    "fir_registered",
    "under_investigation",
    "fast_tracked",
    "escalated",
    "sighted",
    "recovered",
    "reunited",
    "resolved_by_reconciliation",
    "closed",
];

/// The step form's fields, with the catalogue key of what to tell the reader when one is refused.
pub const STEP_FIELDS: [(&str, &str); 4] = [
    ("step", "step.problem.step"),
    ("fir_number", "step.problem.fir_number"),
    ("level", "step.problem.level"),
    ("note", "step.problem.note"),
];

/// What to tell the reader about a refused step field, in their language.
pub fn step_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&STEP_FIELDS, t, field)
}

/// Every channel a record may have come in on, as pages name them.
pub const CHANNELS: [&str; 8] = [
    "police_station",
    "helpline15",
    "helpline1099",
    "government_office",
    "citizen_portal",
    "app",
    "sms",
    "media_report",
];

/// The channels an official chooses from when entering a report taken in person or by phone.
pub const INTAKE_CHANNELS: [&str; 4] = [
    "police_station",
    "helpline15",
    "helpline1099",
    "government_office",
];

/// The channels an official chooses from when filing a complaint: those of [`INTAKE_CHANNELS`], and a case found
/// in the media.
pub const CASE_INTAKE_CHANNELS: [&str; 5] = [
    "police_station",
    "helpline15",
    "helpline1099",
    "government_office",
    "media_report",
];

/// Where a text message stands, as the outbox says.
pub const SMS_STATES: [&str; 5] = ["queued", "kept", "submitted", "delivered", "failed"];

/// An alert as an official sees it: the whole record for the police of its area and the ministry (the reporter,
/// the office, the police notes, every sighting and who recorded each step), its public part for others, and the
/// steps the official may record.
#[derive(Debug, Template)]
#[template(path = "desk_alert.html")]
pub struct DeskAlertPage<'a> {
    pub frame: Frame<'a>,
    pub card: AlertCard,
    pub description: String,
    pub contact_line: String,
    /// One of [`CHANNELS`].
    pub channel: String,
    /// The restricted part, for those who see it.
    pub reporter: Option<ContactView>,
    pub office: Option<String>,
    pub police_notes: Option<String>,
    /// Why only the public part is shown, when it is.
    pub outside: Option<String>,
    pub status: StatusView,
    pub events: Vec<DeskEvent>,
    pub sightings: Vec<SightingLine>,
    /// How many sightings the alert has (all of them, where the details are not shown).
    pub sighting_count: u64,
    /// The messages this node's outbox holds about it, for those who read the outbox.
    pub sms: Option<Vec<SmsLine>>,
    pub step: StepForm,
    /// The form to record a sighting taken at the station or by phone.
    pub sighting: SightingForm,
    /// Possible matches with found children, for those who see the restricted part.
    pub matches: Vec<super::AlertMatchLine>,
    /// For a police officer outside the alert's area: the break-glass form.
    pub glass: Option<GlassForm>,
    /// Until when the officer's break-glass view lasts, while it does.
    pub glass_until_ms: Option<u64>,
}

/// The filters of the list of cases, and one page of it.
#[derive(Debug, Template)]
#[template(path = "cases.html")]
pub struct CaseListPage<'a> {
    pub frame: Frame<'a>,
    pub stages: Vec<Choice>,
    pub categories: Vec<Choice>,
    /// The districts the official sees, when more than one.
    pub districts: Vec<Choice>,
    pub cases: Vec<CaseLine>,
    /// The next page's address, when there are more.
    pub next: Option<String>,
    /// Why the filters were refused, in the reader's language.
    pub problem: Option<String>,
}

/// A case as the police of its area and the ministry see it, with the steps the official may record.
#[derive(Debug, Template)]
#[template(path = "desk_case.html")]
pub struct DeskCasePage<'a> {
    pub frame: Frame<'a>,
    pub id: String,
    pub category: String,
    pub district: String,
    pub place: Option<String>,
    pub description: String,
    pub channel: String,
    pub victim_age: Option<u8>,
    /// `None` for an anonymous complaint.
    pub complainant: Option<ContactView>,
    pub tracking_code: String,
    /// For a case from a media report: where it appeared.
    pub media: Option<hifazat_domain::MediaReport>,
    pub filed_ms: u64,
    pub status: StatusView,
    pub events: Vec<DeskEvent>,
    pub step: StepForm,
    /// The conversation with the complainant, oldest first.
    pub messages: Vec<MessageLine>,
    /// Whether this official writes on the case (the police of its area): the message form and a new code.
    pub may_write: bool,
    /// The session's anti-forgery token, for the message and new-code forms.
    pub csrf: String,
    /// A message sent back to be corrected, as typed, and why.
    pub message_text: String,
    pub message_problem: Option<String>,
    /// Until when the officer's break-glass view lasts, for a case outside their area.
    pub glass_until_ms: Option<u64>,
}

/// A peer of this node as its network last saw it.
#[derive(Debug, Clone)]
pub struct PeerLine {
    pub name: String,
    /// `federal`, `province` or `district`.
    pub role: &'static str,
    /// The topology makes it a neighbour (this node keeps a link to it).
    pub neighbour: bool,
    /// It is this node's parent.
    pub parent: bool,
    pub connected: bool,
    /// When it was last heard from, and how long ago.
    pub heard_at_ms: Option<u64>,
    pub heard_ago_ms: Option<u64>,
    /// Entries it holds that this node does not yet.
    pub behind: u64,
    /// Entries this node holds that it has not announced holding.
    pub ahead: u64,
}

/// The node's links: each peer, when last heard, and what waits to move either way.
#[derive(Debug, Template)]
#[template(path = "node.html")]
pub struct NodePage<'a> {
    pub frame: Frame<'a>,
    /// Whether the node runs a network at all.
    pub networked: bool,
    /// The network did not answer.
    pub unknown: bool,
    pub peers: Vec<PeerLine>,
}

impl DeskAlertPage<'_> {
    /// Where the step form posts.
    pub fn step_action(&self) -> String {
        format!("/office/alerts/{}/steps", self.card.id)
    }

    /// Where the sighting form posts.
    pub fn sighting_action(&self) -> String {
        format!("/office/alerts/{}/sightings", self.card.id)
    }

    /// Where the break-glass form posts.
    pub fn glass_action(&self) -> String {
        format!("/office/alerts/{}/break-glass", self.card.id)
    }
}

impl DeskCasePage<'_> {
    /// Where the step form posts.
    pub fn step_action(&self) -> String {
        format!("/office/cases/{}/steps", self.id)
    }
}
