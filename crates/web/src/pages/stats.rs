//! The statistics page's views: the public figures, and the map drawn from them.

use askama::Template;

use super::forms::{form_problem, problem_of};
use super::*;
use crate::Text;

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
    /// By how reports came in (helplines, the portal, media reports), in the reader's language.
    pub channels: Vec<PlaceRow>,
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
    /// The province's or territory's code.
    pub code: &'static str,
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
                    code: area.code,
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

impl MapView {
    /// The same map for an official who gets exact figures: nothing on it is hidden, so the legend does not
    /// explain hiding.
    pub fn exact(mut self) -> MapView {
        self.legend.retain(|step| step.class != "hidden");
        self
    }

    /// The same map for an official whose area is part of the country: provinces `keep` refuses are drawn as
    /// outside the area, without a count, and the legend says so.
    pub fn within(mut self, t: &Text, keep: impl Fn(&str) -> bool) -> MapView {
        let mut any = false;
        for area in &mut self.areas {
            if !keep(area.code) {
                area.class = "outside";
                area.title = format!("{}: {}", area.code, t.get("map.outside"));
                any = true;
            }
        }
        if any {
            self.legend.push(LegendStep {
                class: "outside",
                label: t.get("map.outside").to_owned(),
            });
        }
        self
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
