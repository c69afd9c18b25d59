//! The pages, each an askama template checked at compile time, and the views they show. A view holds only what
//! its reader may see: the API crate builds it through the same calls and access rules as its JSON answers, so
//! a template never decides who sees what.

use askama::Template;

use crate::Text;

mod alerts;
mod audit;
mod dashboards;
mod desk;
mod forms;
mod found;
mod glass;
mod office;
mod register;
mod stats;
pub use alerts::*;
pub use audit::*;
pub use dashboards::*;
pub use desk::*;
pub use forms::*;
pub use found::*;
pub use glass::*;
pub use office::*;
pub use register::*;
pub use stats::*;

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
pub const EVENTS: [&str; 17] = [
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
    "match_suggested",
    "match_confirmed",
    "match_rejected",
    "handed_to_family",
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
        prefixed("role", &ROLES),
        prefixed("step", &STEPS),
        prefixed("channel", &CHANNELS),
        prefixed("sms.state", &SMS_STATES),
        prefixed("desk.link", &DESK_LINKS),
        STEP_FIELDS
            .iter()
            .map(|(_, key)| (*key).to_owned())
            .collect(),
        prefixed("stats.map.show", &["cases", "alerts"]),
        COMPLAINT_FIELDS
            .iter()
            .map(|(_, key)| (*key).to_owned())
            .collect(),
        RAISE_FIELDS
            .iter()
            .map(|(_, key)| (*key).to_owned())
            .collect(),
        FOUND_FIELDS
            .iter()
            .map(|(_, key)| (*key).to_owned())
            .collect(),
        prefixed("found.care", &CARES),
        prefixed("found.stage", &FOUND_STAGES),
        prefixed("match.decision", &["confirmed", "rejected"]),
        prefixed(
            "photo.problem",
            &["unreadable", "too_large", "type", "no_face", "busy"],
        ),
        prefixed("found.done", &["reported", "confirmed", "rejected", "step"]),
        vec!["queue.found".to_owned(), "problem.outside_found".to_owned()],
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
    /// On an official's pages: who is signed in, the pages their role opens and the node's link upward.
    pub desk: Option<&'a Desk>,
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
    /// The conversation with the police, oldest first.
    pub messages: Vec<MessageLine>,
}

/// One message on a case, as both sides' pages show it.
#[derive(Debug, Clone)]
pub struct MessageLine {
    /// `complainant` or `police`.
    pub from: &'static str,
    pub at_ms: u64,
    pub text: String,
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
    /// The alerts an alert's code found, when it found more than one (one is opened at once).
    pub alerts: Vec<AlertCard>,
    /// The message form's anti-forgery token.
    pub csrf: String,
    /// A message sent back to be corrected, as typed, and why, in the reader's language.
    pub text: String,
    pub text_problem: Option<String>,
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
            desk: None,
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
            photo: None,
            code: "AL-0000-0001".into(),
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
    /// The reader may not do this here, and why, already in their language.
    Refused(String),
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
            Problem::Forbidden | Problem::Refused(_) => 403,
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
            Problem::Refused(why) => why.clone(),
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
