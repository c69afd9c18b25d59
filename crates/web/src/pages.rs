//! The pages, each an askama template checked at compile time, and the views they show. A view holds only what
//! its reader may see: the API crate builds it through the same calls and access rules as its JSON answers, so
//! a template never decides who sees what.

use askama::Template;

use crate::Text;

/// The names that views carry as data and pages show through the catalogue (`alert.stage.validated`, …).
pub const ALERT_STAGES: [&str; 7] = [
    "raised",
    "validated",
    "mobilised",
    "sighted",
    "recovered",
    "reunited",
    "closed",
];
pub const CASE_STAGES: [&str; 4] = ["filed", "under_investigation", "resolved", "closed"];
pub const SEXES: [&str; 4] = ["female", "male", "other", "unknown"];
pub const EVENTS: [&str; 13] = [
    "raised",
    "validated",
    "mobilised",
    "sighted",
    "fir_registered",
    "under_investigation",
    "fast_tracked",
    "escalated",
    "recovered",
    "reunited",
    "resolved_by_reconciliation",
    "closed",
    "notified",
];
pub const CATEGORIES: [&str; 10] = [
    "missing_child",
    "runaway_child",
    "vulnerable_child",
    "domestic_violence",
    "harassment",
    "sexual_violence",
    "acid_attack",
    "attempted_murder",
    "cyber_crime_against_child",
    "other",
];

/// The catalogue keys that pages build from data at run time.
pub fn run_time_keys() -> Vec<String> {
    let prefixed = |prefix: &str, names: &[&str]| -> Vec<String> {
        names.iter().map(|n| format!("{prefix}.{n}")).collect()
    };
    [
        prefixed("alert.stage", &ALERT_STAGES),
        prefixed("case.stage", &CASE_STAGES),
        prefixed("sex", &SEXES),
        prefixed("raise.sex", &SEXES),
        prefixed("event", &EVENTS),
        prefixed("case.category", &CATEGORIES),
        prefixed("escalation.level", &["1", "2", "3"]),
        prefixed("stats.map.title", &["cases", "alerts"]),
        prefixed("status.role", &["federal", "province", "district", "alone"]),
        prefixed("stats.map.show", &["cases", "alerts"]),
        COMPLAINT_FIELDS
            .iter()
            .map(|(_, key)| (*key).to_owned())
            .collect(),
        RAISE_FIELDS
            .iter()
            .map(|(_, key)| (*key).to_owned())
            .collect(),
    ]
    .concat()
}

/// What every page carries: the reader's catalogue, the node serving it, and the page's own path (the language
/// switch returns there).
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub t: &'a Text,
    /// The node's name in the topology.
    pub node: &'a str,
    /// This page's path and query, starting with `/`.
    pub here: &'a str,
}

impl Frame<'_> {
    /// The path of the stylesheet (fingerprinted, so it is cached for ever).
    pub fn style(&self) -> &'static str {
        crate::assets::STYLE.path()
    }

    /// The path of the home page's live-update script (fingerprinted).
    pub fn live(&self) -> &'static str {
        crate::assets::LIVE.path()
    }

    /// The language switch's address: the other language, then back here.
    pub fn switch(&self) -> String {
        format!(
            "/lang/{}?back={}",
            self.t.lang().other().code(),
            percent_encode(self.here)
        )
    }

    /// The other language's own name for itself, on the switch.
    pub fn other_name(&self) -> &'static str {
        match self.t.lang().other() {
            crate::Lang::En => "English",
            crate::Lang::Ur => "اردو",
        }
    }
}

/// Percent-encodes everything but unreserved characters, for a path or value carried in a query.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An alert as a card on the home page: its public part only.
#[derive(Debug, Clone)]
pub struct AlertCard {
    pub id: String,
    pub child_name: String,
    pub age_years: u8,
    /// One of [`SEXES`].
    pub sex: String,
    /// The district's name in the reader's language where the topology has it.
    pub district: String,
    pub last_seen: String,
    pub last_seen_at_ms: u64,
    /// One of [`ALERT_STAGES`].
    pub stage: String,
}

/// The home page: the active police-validated alerts, newest first.
#[derive(Debug, Template)]
#[template(path = "home.html")]
pub struct Home<'a> {
    pub frame: Frame<'a>,
    pub alerts: Vec<AlertCard>,
    /// The next page's `before`, when there are more.
    pub next: Option<String>,
    /// Whether the page loads the live-update script (the first page only: older pages do not change).
    pub live: bool,
}

/// One event of a timeline, in plain words: what, when, where.
#[derive(Debug, Clone)]
pub struct EventLine {
    /// One of [`EVENTS`].
    pub kind: String,
    /// An escalation's level (1 region, 2 province, 3 federal).
    pub level: Option<u8>,
    pub at_ms: u64,
    /// The node it was recorded at.
    pub node: String,
}

impl EventLine {
    /// The catalogue key of an escalation's level (`escalation.level.2`), for an escalation.
    pub fn escalation(&self) -> Option<&'static str> {
        match self.level? {
            1 => Some("escalation.level.1"),
            2 => Some("escalation.level.2"),
            3 => Some("escalation.level.3"),
            _ => None,
        }
    }
}

/// One alert's public part and its timeline, and the form to report a sighting of the child.
#[derive(Debug, Template)]
#[template(path = "alert.html")]
pub struct AlertPage<'a> {
    pub frame: Frame<'a>,
    pub card: AlertCard,
    pub description: String,
    pub contact_line: String,
    pub events: Vec<EventLine>,
    pub sightings: u64,
    pub sighting: SightingForm,
    /// The reader has just raised this alert: the page thanks them and says what happens next.
    pub raised: bool,
}

/// The form to report a sighting, empty or as the reader sent it with what to correct.
#[derive(Debug, Clone, Default)]
pub struct SightingForm {
    /// The form's anti-forgery token (the same value as its cookie).
    pub csrf: String,
    /// When the child was seen, as typed (`YYYY-MM-DDTHH:MM`, Pakistan Standard Time).
    pub seen_at: String,
    pub description: String,
    /// Whether the reporter leaves their name and number out.
    pub anonymous: bool,
    pub name: String,
    pub mobile: String,
    pub problems: Vec<FieldProblem>,
    /// A report was just taken: the page thanks the reader.
    pub sent: bool,
}

impl SightingForm {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }
}

/// The sighting's input fields, with the catalogue key of what to tell the reader when the node refuses each.
pub const SIGHTING_FIELDS: [(&str, &str); 4] = [
    ("seen_at", "sighting.problem.seen_at"),
    ("description", "sighting.problem.description"),
    ("name", "sighting.problem.name"),
    ("mobile", "sighting.problem.mobile"),
];

/// What to tell the reader about a refused sighting field, in their language.
pub fn sighting_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&SIGHTING_FIELDS, t, field)
}

/// What a tracking code shows: the case's category, district, stage and timeline; nobody's identity.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub code: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    pub district: String,
    /// One of [`CASE_STAGES`].
    pub stage: String,
    pub events: Vec<EventLine>,
}

/// The tracking page: the form, and what the code found or why it found nothing.
#[derive(Debug, Template)]
#[template(path = "track.html")]
pub struct TrackPage<'a> {
    pub frame: Frame<'a>,
    /// The code as the reader typed it.
    pub code: String,
    /// Why the code was refused or found nothing, in the reader's language.
    pub error: Option<String>,
    pub found: Option<Tracked>,
}

/// One language's half of a poster: its catalogue and the district's name in it.
#[derive(Debug, Clone)]
pub struct PosterHalf {
    pub t: &'static Text,
    pub district: String,
}

/// A printable poster of an alert's public part, in both languages (the reader's first), to put up in a
/// station, a market or a bus stand.
#[derive(Debug, Template)]
#[template(path = "poster.html")]
pub struct PosterPage<'a> {
    pub frame: Frame<'a>,
    pub card: AlertCard,
    pub description: String,
    pub contact_line: String,
    pub halves: Vec<PosterHalf>,
}

impl PosterPage<'_> {
    /// Whether the child is no longer missing (found, home, or the alert closed): the poster says so instead.
    pub fn ended(&self) -> bool {
        matches!(
            self.card.stage.as_str(),
            "recovered" | "reunited" | "closed"
        )
    }
}

/// The node's parent (the node that covers for it) as this node's network last saw it.
#[derive(Debug, Clone)]
pub struct ParentState {
    pub name: String,
    pub connected: bool,
    /// When its last state arrived (ms since the Unix epoch), if it has since this node started.
    pub heard_at_ms: Option<u64>,
    /// How long ago, in seconds.
    pub heard_ago_s: Option<u64>,
}

/// The node's public status: which node this is, whom it serves, and when it last heard from its parent.
#[derive(Debug, Template)]
#[template(path = "status.html")]
pub struct StatusPage<'a> {
    pub frame: Frame<'a>,
    /// `federal`, `province`, `district`, or `alone` (not in its topology).
    pub role: &'static str,
    /// The province or district it serves, in the reader's language.
    pub area: Option<String>,
    /// Whether it runs a network (a signed topology is installed).
    pub networked: bool,
    /// Whether its role has a parent (every node but the federal one).
    pub has_parent: bool,
    pub parent: Option<ParentState>,
}

/// A page that says what went wrong, in the reader's language.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub frame: Frame<'a>,
    pub status: u16,
    pub message: String,
}

/// A page rendered, or the reason it could not be (a bug in a template's data: the caller answers 500).
pub fn render(page: &impl Template) -> Result<String, crate::RenderError> {
    page.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lang;

    fn frame(lang: Lang) -> Frame<'static> {
        Frame {
            t: Text::of(lang),
            node: "lahore",
            here: "/alerts/ab?x=1&y=<2>",
        }
    }

    fn card() -> AlertCard {
        AlertCard {
            id: "0123".into(),
            child_name: "Ayesha <b>".into(),
            age_years: 7,
            sex: "female".into(),
            district: "Lahore".into(),
            last_seen: "Mall Road".into(),
            last_seen_at_ms: 1_796_461_500_000,
            stage: "validated".into(),
        }
    }

    #[test]
    fn pages_carry_their_language_and_direction_and_escape_what_they_show() {
        for lang in Lang::ALL {
            let html = render(&Home {
                frame: frame(lang),
                alerts: vec![card()],
                next: None,
                live: true,
            })
            .unwrap();
            assert!(
                html.contains(&format!(
                    "<html lang=\"{}\" dir=\"{}\">",
                    lang.code(),
                    lang.dir()
                )),
                "{html}"
            );
            assert!(
                html.contains("Ayesha &#60;b&#62;") || html.contains("Ayesha &lt;b&gt;"),
                "{html}"
            );
            assert!(!html.contains("<b>"), "unescaped: {html}");
            assert!(html.contains(Text::of(lang).get("alert.stage.validated")));
            // Lists take the language's own comma (Urdu's is U+060C).
            let comma = Text::of(lang).get("list.comma");
            assert!(html.contains(&format!("Mall Road{comma} Lahore")), "{html}");
            // The switch goes to the other language and back to this page, encoded.
            assert!(
                html.contains(&format!(
                    "/lang/{}?back=/alerts/ab%3Fx%3D1%26y%3D%3C2%3E",
                    lang.other().code()
                )),
                "{html}"
            );
            // No inline script or style: the CSP forbids them.
            assert!(
                !html.contains("<script>") && !html.contains("style="),
                "{html}"
            );
        }
    }

    #[test]
    fn the_map_shades_by_quarters_of_the_largest_count_and_hatches_what_is_not_shown() {
        let t = Text::of(Lang::En);
        let counted = |code, figure| Counted {
            code,
            name: code,
            at: None,
            figure,
        };
        let areas = [
            counted("PB", Some(8)),
            counted("SD", Some(3)),
            counted("KP", None),
        ];
        let points = [Counted {
            at: Some((31.5497, 74.3436)),
            ..counted("PB-LHR", Some(8))
        }];
        let m = MapView::build(t, Measure::Cases, &areas, &points, "/x".into());
        let class = |code: &str| {
            let i = crate::map::map()
                .areas
                .iter()
                .position(|a| a.code == code)
                .unwrap();
            m.areas[i].class
        };
        assert_eq!(
            (class("PB"), class("SD"), class("KP"), class("BA")),
            ("shade-4", "shade-2", "hidden", "shade-0")
        );
        let labels: Vec<&str> = m.legend.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels[..5], ["0", "1 to 2", "3 to 4", "5 to 6", "7 to 8"]);
        assert_eq!(m.points.len(), 1);
        assert_eq!(m.points[0].r, "14.0");
        // One record in all: the legend does not repeat a step.
        let m = MapView::build(
            t,
            Measure::Alerts,
            &[counted("PB", Some(1))],
            &[],
            "/x".into(),
        );
        let labels: Vec<&str> = m.legend.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["0", "1", t.get("stats.map.hidden")]);
    }

    #[test]
    fn a_position_is_read_as_a_maps_app_writes_it() {
        assert_eq!(parse_position("31.5497, 74.3436"), Some((31.5497, 74.3436)));
        assert_eq!(
            parse_position(" 31.5497 74.3436 "),
            Some((31.5497, 74.3436))
        );
        assert_eq!(
            parse_position("31.5497\u{060C}74.3436"),
            Some((31.5497, 74.3436))
        );
        for bad in [
            "",
            "31.5",
            "31.5, 74.3, 2",
            "north, east",
            "NaN, 74",
            "inf 74",
        ] {
            assert_eq!(parse_position(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_timeline_reads_in_plain_words() {
        let html = render(&AlertPage {
            frame: frame(Lang::En),
            card: card(),
            description: "Blue shirt".into(),
            contact_line: "15".into(),
            events: vec![
                EventLine {
                    kind: "raised".into(),
                    level: None,
                    at_ms: 1_796_461_500_000,
                    node: "lahore".into(),
                },
                EventLine {
                    kind: "escalated".into(),
                    level: Some(2),
                    at_ms: 1_796_461_600_000,
                    node: "punjab".into(),
                },
            ],
            sightings: 3,
            sighting: SightingForm::default(),
            raised: false,
        })
        .unwrap();
        let en = Text::of(Lang::En);
        assert!(html.contains(en.get("event.raised")), "{html}");
        assert!(html.contains(en.get("event.escalated")), "{html}");
        assert!(html.contains(en.get("escalation.level.2")), "{html}");
        assert!(html.contains("5 December 2026, 14:05"), "{html}");
        assert!(html.contains("/api/v1/alerts/0123/cap"), "{html}");
    }
}

/// Why a page cannot show what was asked; the API crate maps its errors to these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No such page, or no such record here.
    NotFound,
    /// A tracking code that is not one (the reason, from the validator, is in English: the page says it in the
    /// reader's language instead).
    BadCode,
    /// A well-formed tracking code that this node holds no case for.
    NoSuchCode,
    /// The reader may not do this here.
    Forbidden,
    /// Too many requests from this address: try again after this many seconds.
    RateLimited { seconds: u64 },
    /// The node is busy or a part of it is not running.
    Unavailable,
    /// Something failed inside the node.
    Internal,
}

impl Problem {
    /// The HTTP status a page with this problem answers with.
    pub fn status(&self) -> u16 {
        match self {
            Problem::NotFound | Problem::NoSuchCode => 404,
            Problem::BadCode => 422,
            Problem::Forbidden => 403,
            Problem::RateLimited { .. } => 429,
            Problem::Unavailable => 503,
            Problem::Internal => 500,
        }
    }

    /// What the reader is told, in their language.
    pub fn message(&self, t: &Text) -> String {
        match self {
            Problem::NotFound => t.get("problem.not_found").to_owned(),
            Problem::BadCode => t.get("problem.bad_code").to_owned(),
            Problem::NoSuchCode => t.get("problem.no_such_code").to_owned(),
            Problem::Forbidden => t.get("problem.forbidden").to_owned(),
            Problem::RateLimited { seconds } => format!(
                "{} {} {}",
                t.get("problem.rate_limited"),
                t.count(*seconds),
                t.get("problem.seconds")
            ),
            Problem::Unavailable => t.get("problem.unavailable").to_owned(),
            Problem::Internal => t.get("problem.internal").to_owned(),
        }
    }
}

/// One option of a choice.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A field the reader must correct: its input's id, and why, in the reader's language.
#[derive(Debug, Clone)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

impl FieldProblem {
    /// A form whose anti-forgery token is missing or not this node's: shown again, to be sent once more.
    pub fn expired(t: &Text) -> FieldProblem {
        FieldProblem {
            field: "",
            message: t.get("form.problem.expired").to_owned(),
        }
    }

    /// A form the node could not read at all.
    pub fn unreadable(t: &Text) -> FieldProblem {
        FieldProblem {
            field: "",
            message: t.get("form.problem.other").to_owned(),
        }
    }
}

/// The first problem named for `field`, if any.
fn problem_of<'a>(problems: &'a [FieldProblem], field: &str) -> Option<&'a str> {
    problems
        .iter()
        .find(|p| p.field == field)
        .map(|p| p.message.as_str())
}

/// What to tell the reader about refused `field` of a form whose fields (with their catalogue keys) are `fields`;
/// a field the form does not have gets the general "check the form".
fn form_problem(fields: &[(&str, &str)], t: &Text, field: &'static str) -> FieldProblem {
    let key = fields
        .iter()
        .find(|(f, _)| *f == field)
        .map_or("form.problem.other", |(_, key)| *key);
    FieldProblem {
        field,
        message: t.get(key).to_owned(),
    }
}

/// The complaint form, empty or as the reader sent it with what to correct.
#[derive(Debug, Template)]
#[template(path = "complaint.html")]
pub struct ComplaintForm<'a> {
    pub frame: Frame<'a>,
    /// The form's anti-forgery token (the same value as its cookie).
    pub csrf: String,
    /// Every category ([`CATEGORIES`]), the chosen one selected.
    pub category: String,
    /// The districts this node files complaints for (value: code, label: name); with more than one, the form
    /// starts with an empty choice, so nobody files for a district they did not pick.
    pub districts: Vec<Choice>,
    pub description: String,
    pub victim_age: String,
    /// Whether the complainant leaves their name and number out.
    pub anonymous: bool,
    pub name: String,
    pub mobile: String,
    pub problems: Vec<FieldProblem>,
}

impl ComplaintForm<'_> {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }

    /// The categories as choices, in the reader's language.
    pub fn categories(&self) -> Vec<Choice> {
        CATEGORIES
            .iter()
            .map(|c| Choice {
                value: (*c).to_owned(),
                label: self.frame.t.named("case.category", c).to_owned(),
                selected: *c == self.category,
            })
            .collect()
    }
}

/// The complaint's input fields, in the form's order, with the catalogue key of what to tell the reader when the
/// node refuses each (the node names the field it refuses; these say it in the reader's language).
pub const COMPLAINT_FIELDS: [(&str, &str); 6] = [
    ("category", "complaint.problem.category"),
    ("district", "complaint.problem.district"),
    ("description", "complaint.problem.description"),
    ("victim_age", "complaint.problem.victim_age"),
    ("name", "complaint.problem.name"),
    ("mobile", "complaint.problem.mobile"),
];

/// What to tell the reader about a refused complaint field, in their language.
pub fn complaint_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&COMPLAINT_FIELDS, t, field)
}

/// A group of choices under a heading (the districts of one province).
#[derive(Debug, Clone)]
pub struct ChoiceGroup {
    pub label: String,
    pub choices: Vec<Choice>,
}

/// The form to raise a missing-child alert (channel `citizen_portal`), empty or as the reader sent it with what to
/// correct.
#[derive(Debug, Template)]
#[template(path = "raise.html")]
pub struct RaiseForm<'a> {
    pub frame: Frame<'a>,
    /// The form's anti-forgery token (the same value as its cookie).
    pub csrf: String,
    pub child_name: String,
    pub age_years: String,
    /// One of [`SEXES`], or empty before the reader chooses.
    pub sex: String,
    pub description: String,
    /// Every district of the topology, by province, the chosen one selected.
    pub districts: Vec<ChoiceGroup>,
    /// Where the child was last seen, in the reader's words.
    pub place: String,
    /// When, as typed (`YYYY-MM-DDTHH:MM`, Pakistan Standard Time).
    pub last_seen_at: String,
    /// The map position as typed (`latitude, longitude`), or empty for the district headquarters.
    pub position: String,
    pub name: String,
    pub mobile: String,
    pub problems: Vec<FieldProblem>,
}

impl RaiseForm<'_> {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }

    /// The sexes as choices, in the reader's language.
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
}

/// The alert's input fields, in the form's order, with the catalogue key of what to tell the reader when the node
/// refuses each.
pub const RAISE_FIELDS: [(&str, &str); 10] = [
    ("child_name", "raise.problem.child_name"),
    ("age_years", "raise.problem.age_years"),
    ("sex", "raise.problem.sex"),
    ("description", "raise.problem.description"),
    ("district", "raise.problem.district"),
    ("place", "raise.problem.place"),
    ("last_seen_at", "raise.problem.last_seen_at"),
    ("position", "raise.problem.position"),
    ("name", "raise.problem.name"),
    ("mobile", "raise.problem.mobile"),
];

/// What to tell the reader about a refused alert field, in their language.
pub fn raise_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&RAISE_FIELDS, t, field)
}

/// A map position as people copy it from a maps app: `latitude, longitude` in decimal degrees (a space, comma or
/// both between them). `None` when it is not two finite numbers.
pub fn parse_position(typed: &str) -> Option<(f64, f64)> {
    let mut parts = typed
        .split(|c: char| c == ',' || c == '\u{060C}' || c.is_whitespace())
        .filter(|p| !p.is_empty());
    let lat: f64 = parts.next()?.parse().ok()?;
    let lon: f64 = parts.next()?.parse().ok()?;
    (parts.next().is_none() && lat.is_finite() && lon.is_finite()).then_some((lat, lon))
}

/// The page that shows a new complaint's tracking code, once.
#[derive(Debug, Template)]
#[template(path = "filed.html")]
pub struct FiledPage<'a> {
    pub frame: Frame<'a>,
    pub code: String,
}

/// A published count: `None` when it is not shown (small numbers, and any that would let one be worked out).
pub type Figure = Option<u64>;

/// One row of a breakdown: what it counts and the count.
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub figure: Figure,
}

/// A place's alerts and complaints.
#[derive(Debug, Clone)]
pub struct PlaceRow {
    pub name: String,
    pub alerts: Figure,
    pub cases: Figure,
}

/// The public figures, as `GET /api/v1/stats` gives them to the public.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Exact, or with small counts hidden.
    pub exact: bool,
    pub alerts: Figure,
    pub recovered: Figure,
    pub alerts_fir: Figure,
    pub cases: Figure,
    pub resolved: Figure,
    pub cases_fir: Figure,
    pub under_investigation: Figure,
    pub fast_tracked: Figure,
    /// By category, in the reader's language.
    pub categories: Vec<Row>,
    pub provinces: Vec<PlaceRow>,
    pub districts: Vec<PlaceRow>,
    /// Whether every record was counted.
    pub complete: bool,
}

/// The statistics page: its filters, and the figures or why there are none.
#[derive(Debug, Template)]
#[template(path = "stats.html")]
pub struct StatsPage<'a> {
    pub frame: Frame<'a>,
    pub provinces: Vec<Choice>,
    pub districts: Vec<Choice>,
    /// The month asked for, `YYYY-MM`, as typed.
    pub month: String,
    pub problems: Vec<FieldProblem>,
    pub figures: Option<Figures>,
    /// The map of the figures, when there are figures.
    pub map: Option<MapView>,
}

impl StatsPage<'_> {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }

    /// A figure as the reader reads it: the count, or that it is not shown.
    pub fn figure(&self, figure: &Figure) -> String {
        match figure {
            Some(n) => self.frame.t.count(*n),
            None => self.frame.t.get("stats.hidden").to_owned(),
        }
    }
}

/// What the map counts: complaints or alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Cases,
    Alerts,
}

impl Measure {
    /// The measure named in the page's address (`map=alerts`); complaints otherwise.
    pub fn from_query(value: &str) -> Measure {
        if value == "alerts" {
            Measure::Alerts
        } else {
            Measure::Cases
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Measure::Cases => "cases",
            Measure::Alerts => "alerts",
        }
    }
}

/// A province or territory on the map, shaded by its count.
#[derive(Debug, Clone)]
pub struct MapArea {
    pub d: &'static str,
    /// `shade-0` (none) to `shade-4` (the most), or `hidden`.
    pub class: &'static str,
    /// Its name and count, as a tooltip and for screen readers.
    pub title: String,
}

/// A district's headquarters on the map, sized by its count.
#[derive(Debug, Clone)]
pub struct MapPoint {
    pub x: String,
    pub y: String,
    pub r: String,
    /// `point`, or `point hidden` for a count not shown.
    pub class: &'static str,
    pub title: String,
}

/// One step of the map's legend.
#[derive(Debug, Clone)]
pub struct LegendStep {
    pub class: &'static str,
    pub label: String,
}

/// The map of one measure: provinces shaded by their count, district headquarters as points sized by theirs, the
/// legend, and the address of the map of the other measure.
#[derive(Debug, Clone)]
pub struct MapView {
    pub width: f64,
    pub height: f64,
    pub measure: Measure,
    pub areas: Vec<MapArea>,
    pub points: Vec<MapPoint>,
    pub legend: Vec<LegendStep>,
    /// The same page with the other measure's map.
    pub other: String,
}

/// A place and its count, for the map.
#[derive(Debug, Clone)]
pub struct Counted<'a> {
    /// A province's code, for an area.
    pub code: &'a str,
    pub name: &'a str,
    /// A district headquarters' position, for a point.
    pub at: Option<(f64, f64)>,
    pub figure: Figure,
}

/// The shading classes, least to most.
const SHADES: [&str; 5] = ["shade-0", "shade-1", "shade-2", "shade-3", "shade-4"];
/// The largest point's radius, in the drawing's units.
const POINT_RADIUS_MAX: f64 = 14.0;

impl MapView {
    /// The map of `measure`: `areas` by province code, `points` by headquarters position. `other` is the address of
    /// this page showing the other measure.
    pub fn build(
        t: &Text,
        measure: Measure,
        areas: &[Counted<'_>],
        points: &[Counted<'_>],
        other: String,
    ) -> MapView {
        let map = crate::map::map();
        let what = t.get(match measure {
            Measure::Cases => "stats.map.cases",
            Measure::Alerts => "stats.map.alerts",
        });
        let said = |c: &Counted<'_>| match c.figure {
            Some(n) => format!("{}: {} {what}", c.name, t.count(n)),
            None => format!("{}: {}", c.name, t.get("stats.map.hidden")),
        };
        let most = areas.iter().filter_map(|c| c.figure).max().unwrap_or(0);
        // Quarter steps of the largest count: 0, up to a quarter, up to a half, ...
        let bound = |q: u64| (most * q).div_ceil(4);
        let shade = |n: u64| -> &'static str {
            if n == 0 {
                SHADES[0]
            } else {
                SHADES[(1..=4).find(|&q| n <= bound(q)).unwrap_or(4) as usize]
            }
        };
        let drawn = map
            .areas
            .iter()
            .map(|area| {
                let counted = areas.iter().find(|c| c.code == area.code);
                MapArea {
                    d: area.d.as_str(),
                    class: match counted.map(|c| c.figure) {
                        Some(None) => "hidden",
                        Some(Some(n)) => shade(n),
                        None => SHADES[0],
                    },
                    title: counted.map_or_else(|| area.code.to_owned(), said),
                }
            })
            .collect();
        let most_point = points.iter().filter_map(|c| c.figure).max().unwrap_or(0);
        let dots = points
            .iter()
            .filter(|c| c.figure != Some(0))
            .filter_map(|c| {
                let (lat, lon) = c.at?;
                let (x, y) = map.project(lat, lon);
                let (r, class) = match c.figure {
                    Some(n) => (
                        3.0 + (POINT_RADIUS_MAX - 3.0)
                            * (n as f64 / most_point.max(1) as f64).sqrt(),
                        "point",
                    ),
                    None => (3.0, "point hidden"),
                };
                Some(MapPoint {
                    x: format!("{x:.1}"),
                    y: format!("{y:.1}"),
                    r: format!("{r:.1}"),
                    class,
                    title: said(c),
                })
            })
            .collect();
        let mut legend = vec![LegendStep {
            class: SHADES[0],
            label: t.count(0u64),
        }];
        let mut low = 1;
        for q in 1..=4u64 {
            let high = bound(q);
            if high >= low {
                legend.push(LegendStep {
                    class: SHADES[q as usize],
                    label: if high == low {
                        t.count(high)
                    } else {
                        format!("{}{}{}", t.count(low), t.get("range.to"), t.count(high))
                    },
                });
                low = high + 1;
            }
        }
        legend.push(LegendStep {
            class: "hidden",
            label: t.get("stats.map.hidden").to_owned(),
        });
        MapView {
            width: map.width,
            height: map.height,
            measure,
            areas: drawn,
            points: dots,
            legend,
            other,
        }
    }
}

/// The statistics filters, with the catalogue key of what to tell the reader when one is refused.
pub const STATS_FIELDS: [(&str, &str); 3] = [
    ("province", "stats.problem.province"),
    ("district", "stats.problem.district"),
    ("month", "stats.problem.month"),
];

/// What to tell the reader about a refused statistics filter, in their language.
pub fn stats_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&STATS_FIELDS, t, field)
}
