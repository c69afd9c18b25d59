//! The dashboards above the station: the region's and the province's (their districts side by side, escalations
//! addressed to them, the map of their area), the ministry's national one (figures, monthly charts, the map, each
//! node's freshness), and the list of alerts they drill down into.

use askama::Template;

use super::*;
use crate::chart::Chart;

/// One district of an area, side by side with the others.
#[derive(Debug, Clone)]
pub struct DistrictRow {
    pub code: String,
    /// Its name in the reader's language.
    pub name: String,
    /// Alerts not yet ended (raised, validated, mobilised or sighted).
    pub open: u64,
    /// Alerts still waiting for validation past the time they go to the RPO.
    pub late: u64,
    /// Alerts ever escalated above the district.
    pub escalated: u64,
    /// Cases at each of [`CASE_STAGES`], in that order.
    pub stages: Vec<u64>,
    /// FIRs registered, on alerts and cases.
    pub firs: u64,
}

/// The dashboard of a region (RPO) or a province (IG).
#[derive(Debug, Template)]
#[template(path = "area.html")]
pub struct AreaPage<'a> {
    pub frame: Frame<'a>,
    /// The area's name in the reader's language.
    pub area: String,
    /// `region` or `province`.
    pub kind: &'static str,
    /// The level escalations to this office carry (1 region, 2 province).
    pub level: u8,
    /// Open alerts escalated to this office or above, newest first.
    pub escalated: Vec<QueueAlert>,
    pub rows: Vec<DistrictRow>,
    /// The area's cases by category, in the reader's language.
    pub categories: Vec<Row>,
    pub map: MapView,
    pub escalate_after_ms: u64,
    /// The latest break-glass uses the official oversees (of the area's records, or made at its nodes).
    pub glass: Vec<GlassLine>,
    /// How many of them were made in the last 24 hours.
    pub glass_today: usize,
}

impl AreaPage<'_> {
    /// The catalogue key of the office escalations to this one reach.
    pub fn level_key(&self) -> &'static str {
        if self.level == 1 {
            "escalation.level.1"
        } else {
            "escalation.level.2"
        }
    }
}

/// A node of the federation, and how fresh this node's picture of its work is.
#[derive(Debug, Clone)]
pub struct NodeFresh {
    pub name: String,
    /// `federal`, `province` or `district`.
    pub role: &'static str,
    /// The newest change from it held here (by its own clock), and how long ago that was.
    pub newest_ms: Option<u64>,
    pub ago_ms: Option<u64>,
    /// Whether this node is linked to it now (for its neighbours and any connected peer).
    pub connected: Option<bool>,
}

/// The catalogue keys of the national dashboard's charts and their lines.
pub const CHART_KEYS: [&str; 6] = [
    "chart.alerts",
    "chart.alerts_raised",
    "chart.alerts_recovered",
    "chart.cases",
    "chart.cases_filed",
    "chart.cases_resolved",
];

/// The months' short names (`month.short.1` is January's), for the charts' axes.
pub const SHORT_MONTHS: [&str; 12] = [
    "month.short.1",
    "month.short.2",
    "month.short.3",
    "month.short.4",
    "month.short.5",
    "month.short.6",
    "month.short.7",
    "month.short.8",
    "month.short.9",
    "month.short.10",
    "month.short.11",
    "month.short.12",
];

/// A chart with its title's catalogue key.
#[derive(Debug, Clone)]
pub struct Titled {
    pub key: &'static str,
    pub chart: Chart,
}

/// The ministry's national dashboard.
#[derive(Debug, Template)]
#[template(path = "national.html")]
pub struct NationalPage<'a> {
    pub frame: Frame<'a>,
    pub figures: Figures,
    /// Alerts and cases at each stage.
    pub alert_stages: Vec<StageCount>,
    pub case_stages: Vec<StageCount>,
    pub charts: Vec<Titled>,
    pub map: MapView,
    pub nodes: Vec<NodeFresh>,
}

impl NationalPage<'_> {
    /// A figure as the reader reads it (the ministry's are exact; a missing one reads as not shown).
    pub fn figure(&self, figure: &Figure) -> String {
        match figure {
            Some(n) => self.frame.t.count(*n),
            None => self.frame.t.get("stats.hidden").to_owned(),
        }
    }
}

/// An official's list of alerts: filters, and one page.
#[derive(Debug, Template)]
#[template(path = "alerts.html")]
pub struct AlertListPage<'a> {
    pub frame: Frame<'a>,
    pub stages: Vec<Choice>,
    /// The districts of the official's area, when more than one.
    pub districts: Vec<Choice>,
    pub alerts: Vec<QueueAlert>,
    pub next: Option<String>,
    /// Why the filters were refused, in the reader's language.
    pub problem: Option<String>,
    /// An alert's code as typed, when the official looked one up.
    pub code: String,
}
