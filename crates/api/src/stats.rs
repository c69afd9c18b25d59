//! Statistics: counts of alerts and cases by place, category and status, the figures the provincial centres
//! publish (FIRs, under investigation, fast-tracked, resolved), and median times to validation and recovery.
//!
//! Officials whose area covers every district asked about get exact figures. Everyone else gets the public
//! figures: a count of 1 to 4 is shown as `null` (suppressed), and when a breakdown would have exactly one
//! suppressed cell, its smallest other non-zero cell is suppressed too, so it cannot be worked out from the total.
//! Medians over fewer than 5 records are suppressed the same way. Public figures cover all time or a calendar
//! month (UTC); arbitrary time windows are for exact callers, since two close windows would single a record out.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use hifazat_domain::CaseStage;
use hifazat_domain::RecordKind;
use hifazat_domain::calendar::days_from_civil;
use hifazat_domain::suppress::{breakdown, count};
use hifazat_figures::{Cell, Durations, Window, month_of};
use hifazat_limits as limits;
use hifazat_topology::Topology;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::caller::Who;
use crate::error::{ApiError, responses};
use crate::{AppState, Places};

/// The middle of a set of durations, and how many there were.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct Median {
    /// Milliseconds; `null` with no samples, or when suppressed.
    pub median_ms: Option<u64>,
    pub samples: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AlertFigures {
    pub total: Option<u64>,
    pub by_status: BTreeMap<String, Option<u64>>,
    /// By how the alert came in (`helpline_1099`, `sms`).
    pub by_channel: BTreeMap<String, Option<u64>>,
    pub by_province: BTreeMap<String, Option<u64>>,
    pub by_region: BTreeMap<String, Option<u64>>,
    pub by_district: BTreeMap<String, Option<u64>>,
    pub fir_registered: Option<u64>,
    pub escalated: Option<u64>,
    /// Recovered or reunited.
    pub recovered: Option<u64>,
    /// From raising to the first validation.
    pub to_validation: Median,
    /// From raising to the first recovery or reunion.
    pub to_recovery: Median,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaseFigures {
    pub total: Option<u64>,
    pub by_category: BTreeMap<String, Option<u64>>,
    pub by_status: BTreeMap<String, Option<u64>>,
    /// By how the complaint came in (`citizen_portal`, `media_report`).
    pub by_channel: BTreeMap<String, Option<u64>>,
    pub by_province: BTreeMap<String, Option<u64>>,
    pub by_region: BTreeMap<String, Option<u64>>,
    pub by_district: BTreeMap<String, Option<u64>>,
    pub fir_registered: Option<u64>,
    /// Now at the stage of investigation.
    pub under_investigation: Option<u64>,
    pub fast_tracked: Option<u64>,
    /// Resolved (by reconciliation, or the victim recovered), whatever came after.
    pub resolved: Option<u64>,
    pub closed: Option<u64>,
    /// From filing to the first step of investigation.
    pub to_investigation: Median,
    /// From filing to resolution.
    pub to_resolution: Median,
}

/// `GET /api/v1/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Statistics {
    /// Whether the figures are exact; when not, counts of 1 to 4 are `null`.
    pub exact: bool,
    pub suppressed_below: Option<u64>,
    /// Records created in `[from_ms, until_ms)`.
    pub from_ms: u64,
    pub until_ms: Option<u64>,
    pub alerts: AlertFigures,
    pub cases: CaseFigures,
    /// Whether every record was counted (a node with more than `STATS_SCAN_MAX` of a kind counts the newest).
    pub complete: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatsQuery {
    district: Option<String>,
    region: Option<String>,
    province: Option<String>,
    /// A calendar month, `YYYY-MM` (UTC), from 2000-01; with `since` or `until`, narrowed by them.
    #[param(pattern = r"^[2-9][0-9]{3}-(0[1-9]|1[0-2])$")]
    month: Option<String>,
    /// Records created at or after this time (ms since the Unix epoch); officials asking within their area only
    /// (403 otherwise).
    since: Option<u64>,
    /// Records created before this time, after `since`; officials asking within their area only (403 otherwise).
    until: Option<u64>,
}

impl StatsQuery {
    /// What the public statistics page asks: a place and a month, no other time window.
    pub(crate) fn page(
        province: Option<String>,
        district: Option<String>,
        month: Option<String>,
    ) -> StatsQuery {
        StatsQuery {
            district,
            region: None,
            province,
            month,
            since: None,
            until: None,
        }
    }
}

/// The yes-or-no facts and durations the figures count, by kind (as `hifazat_figures::Facts` names them).
const ALERT_FLAGS: [&str; 3] = ["fir_registered", "escalated", "recovered"];
const ALERT_DURATIONS: [&str; 2] = ["to_validation", "to_recovery"];
const CASE_FLAGS: [&str; 5] = [
    "fir_registered",
    "under_investigation",
    "fast_tracked",
    "resolved",
    "closed",
];
const CASE_DURATIONS: [&str; 2] = ["to_investigation", "to_resolution"];

/// Counts before publication.
#[derive(Debug, Default)]
struct Tally {
    total: u64,
    breakdowns: BTreeMap<&'static str, BTreeMap<String, u64>>,
    counts: BTreeMap<&'static str, u64>,
    durations: BTreeMap<&'static str, Durations>,
}

impl Tally {
    fn by(&mut self, breakdown: &'static str, key: &str) {
        *self
            .breakdowns
            .entry(breakdown)
            .or_default()
            .entry(key.to_owned())
            .or_default() += 1;
    }

    fn count(&mut self, name: &'static str, yes: bool) {
        *self.counts.entry(name).or_default() += u64::from(yes);
    }

    fn duration(&mut self, name: &'static str, from_ms: u64, to_ms: Option<u64>) {
        let samples = self.durations.entry(name).or_default();
        if let Some(to) = to_ms {
            samples.add(to.saturating_sub(from_ms));
        }
    }

    /// Where a record of `district` counts.
    fn place(&mut self, topology: &Topology, district: &str) {
        self.total += 1;
        self.places(topology, district, 1);
    }

    /// Where `n` records of `district` count, by district, region and province.
    fn places(&mut self, topology: &Topology, district: &str, n: u64) {
        let (region, province) = match topology.district(district) {
            Some(d) => (d.region.as_str(), d.province.as_str()),
            None => ("unknown", "unknown"),
        };
        for (breakdown, key) in [
            ("district", district),
            ("region", region),
            ("province", province),
        ] {
            *self
                .breakdowns
                .entry(breakdown)
                .or_default()
                .entry(key.to_owned())
                .or_default() += n;
        }
    }

    /// The tally of a sum of the aggregates (`hifazat-figures`): the same counts as folding the summaries.
    fn of_cells(
        topology: &Topology,
        (cell, by_district): (Cell, BTreeMap<String, u64>),
        flags: &[&'static str],
        durations: &[&'static str],
    ) -> Tally {
        let mut tally = Tally {
            total: cell.records,
            ..Tally::default()
        };
        for (d, n) in &by_district {
            tally.places(topology, d, *n);
        }
        let (statuses, categories) = (cell.statuses(), cell.categories());
        if !statuses.is_empty() {
            tally.breakdowns.insert("status", statuses);
        }
        if !categories.is_empty() {
            tally.breakdowns.insert("category", categories);
        }
        let channels = cell.channels();
        if !channels.is_empty() {
            tally.breakdowns.insert("channel", channels);
        }
        for name in flags {
            tally.counts.insert(name, cell.flag(name));
        }
        for name in durations {
            if let Some(d) = cell.durations(name) {
                tally.durations.insert(name, d.clone());
            }
        }
        tally
    }

    fn publish(&mut self, suppress: bool) -> Published {
        let breakdowns = std::mem::take(&mut self.breakdowns)
            .into_iter()
            .map(|(name, cells)| (name, breakdown(cells, suppress)))
            .collect();
        let counts = std::mem::take(&mut self.counts)
            .into_iter()
            .map(|(name, n)| (name, count(n, suppress)))
            .collect();
        let durations = std::mem::take(&mut self.durations)
            .into_iter()
            .map(|(name, samples)| (name, median(samples, suppress)))
            .collect();
        Published {
            total: count(self.total, suppress),
            breakdowns,
            counts,
            durations,
        }
    }
}

struct Published {
    total: Option<u64>,
    breakdowns: BTreeMap<&'static str, BTreeMap<String, Option<u64>>>,
    counts: BTreeMap<&'static str, Option<u64>>,
    durations: BTreeMap<&'static str, Median>,
}

impl Published {
    fn breakdown(&mut self, name: &str) -> BTreeMap<String, Option<u64>> {
        self.breakdowns.remove(name).unwrap_or_default()
    }

    fn count(&self, name: &str) -> Option<u64> {
        self.counts.get(name).copied().unwrap_or(Some(0))
    }

    fn median(&mut self, name: &str) -> Median {
        self.durations.remove(name).unwrap_or(Median {
            median_ms: None,
            samples: Some(0),
        })
    }
}

/// The median of durations as published: not shown with fewer than `STATS_SUPPRESS_BELOW` samples when
/// suppressing (`hifazat_domain::suppress`), nor with none. Exact while few, else within 1 % (`hifazat-figures`).
fn median(samples: Durations, suppress: bool) -> Median {
    let n = samples.len();
    if n == 0 || (suppress && hifazat_domain::suppress::small(n)) {
        return Median {
            median_ms: None,
            samples: count(n, suppress),
        };
    }
    Median {
        median_ms: samples.median(),
        samples: Some(n),
    }
}

/// The first and the next month's first millisecond of a `YYYY-MM` month (UTC).
pub(crate) fn month_range(text: &str) -> Result<(u64, u64), String> {
    let why = || "is a month as YYYY-MM, from 2000-01".to_owned();
    let (y, m) = text.split_once('-').ok_or_else(why)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(why());
    }
    let year: i64 = y.parse().map_err(|_| why())?;
    let month: u32 = m.parse().map_err(|_| why())?;
    if !(2000..=9999).contains(&year) || !(1..=12).contains(&month) {
        return Err(why());
    }
    let start = days_from_civil(year, month, 1) * 86_400_000;
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let end = days_from_civil(ny, nm, 1) * 86_400_000;
    Ok((start as u64, end as u64))
}

/// A status or category as its JSON name (`under_investigation`, `domestic_violence`).
fn json_name<S: Serialize>(value: S) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".into(),
    }
}

/// A statistics request's places, checked against the topology, and whether the caller gets exact figures: an
/// official who sees the cases of every district the places leave. Counts against the public's rate limit.
fn asked(
    state: &AppState,
    who: &Who,
    district: Option<&str>,
    region: Option<&str>,
    province: Option<&str>,
) -> Result<(Topology, Places, bool), ApiError> {
    who.public_request(&state.limiter)?;
    let topology = state.engine.topology().clone();
    let places = Places::check(&topology, district, region, province)?;
    let exact = who.caller.sees_exact_figures(
        &topology,
        topology
            .districts
            .iter()
            .map(|d| d.code.as_str())
            .filter(|d| places.hold(&topology, d)),
    );
    Ok((topology, places, exact))
}

/// One of the node's `STATS_CONCURRENCY_MAX` statistics computations, or 503.
fn permit(state: &AppState) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
    state.stats.try_acquire().map_err(|_| {
        ApiError::Busy(format!(
            "{} statistics are being computed; try again shortly",
            limits::STATS_CONCURRENCY_MAX
        ))
    })
}

/// `GET /api/v1/stats`: for everyone; exact for officials within their area, suppressed below 5 otherwise.
#[utoipa::path(get, path = "/api/v1/stats", tag = "statistics", params(StatsQuery),
    responses(
        (status = 200, description = "The figures", body = Statistics),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn stats(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<Statistics>, ApiError> {
    let Query(q) = query?;
    let (topology, places, exact) = asked(
        &state,
        &who,
        q.district.as_deref(),
        q.region.as_deref(),
        q.province.as_deref(),
    )?;
    // Other windows than a month are for exact callers: two close windows would single a record out.
    let window_asked = q.since.is_some() || q.until.is_some();
    if window_asked && !exact {
        return Err(ApiError::Forbidden(
            "time windows other than a month (`since`, `until`) are for officials asking within their area"
                .into(),
        ));
    }
    let mut fields = Vec::new();
    // Records created in [from_ms, until_ms): the month, narrowed by `since` and `until` where given.
    let (mut from_ms, mut until_ms) = (q.since.unwrap_or(0), q.until);
    let mut month = None;
    if let Some(text) = &q.month {
        match month_range(text) {
            Ok((a, b)) => {
                month = Some(a);
                from_ms = from_ms.max(a);
                until_ms = Some(until_ms.map_or(b, |u| u.min(b)));
            }
            Err(why) => fields.push(("month", why)),
        }
    }
    if let (Some(a), Some(b)) = (q.since, q.until)
        && a >= b
    {
        fields.push(("until", "is after since".into()));
    }
    if !fields.is_empty() {
        return Err(ApiError::fields(fields));
    }
    let _permit = permit(&state)?;
    // All time, a month, or whole days (UTC) are read from the aggregates; any other window (and an empty one,
    // a month that `since` and `until` leave nothing of) is counted by folding the summaries.
    let window = match month {
        Some(start) if !window_asked => Some(Window::Month(month_of(start))),
        _ if until_ms.is_some_and(|u| u <= from_ms) => None,
        _ => Window::of_times(from_ms, until_ms),
    };
    let ((mut alerts, alerts_complete), (mut cases, cases_complete)) = match window {
        Some(w) => {
            let (t, p) = (topology.clone(), places.clone());
            state
                .engine
                .read_figures(move |f| {
                    let holds = |d: &str| p.hold(&t, d);
                    let a = f.sum(RecordKind::Alert, w, holds);
                    let c = f.sum(RecordKind::Case, w, holds);
                    (
                        (Tally::of_cells(&t, a, &ALERT_FLAGS, &ALERT_DURATIONS), true),
                        (Tally::of_cells(&t, c, &CASE_FLAGS, &CASE_DURATIONS), true),
                    )
                })
                .await?
        }
        None => {
            let within =
                move |created: u64| created >= from_ms && until_ms.is_none_or(|u| created < u);
            let (t, p) = (topology.clone(), places.clone());
            let alerts = state
                .engine
                .fold_alerts(Tally::default(), move |tally, a| {
                    if !within(a.created_ms) || !p.hold(&t, &a.district) {
                        return;
                    }
                    tally.place(&t, &a.district);
                    tally.by("status", &json_name(a.status.stage));
                    tally.by("channel", &json_name(a.channel));
                    tally.count("fir_registered", !a.status.fir_numbers.is_empty());
                    tally.count("escalated", a.status.escalation_level.is_some());
                    tally.count("recovered", a.status.first_resolved_ms.is_some());
                    tally.duration("to_validation", a.created_ms, a.status.first_validated_ms);
                    tally.duration("to_recovery", a.created_ms, a.status.first_resolved_ms);
                })
                .await?;
            let (t, p) = (topology, places);
            let cases = state
                .engine
                .fold_cases(Tally::default(), move |tally, c| {
                    if !within(c.created_ms) || !p.hold(&t, &c.district) {
                        return;
                    }
                    tally.place(&t, &c.district);
                    tally.by("category", &json_name(c.category));
                    tally.by("status", &json_name(c.status.stage));
                    tally.by("channel", &json_name(c.channel));
                    tally.count("fir_registered", !c.status.fir_numbers.is_empty());
                    tally.count(
                        "under_investigation",
                        c.status.stage == CaseStage::UnderInvestigation,
                    );
                    tally.count("fast_tracked", c.status.fast_tracked);
                    tally.count("resolved", c.status.first_resolved_ms.is_some());
                    tally.count("closed", c.status.stage == CaseStage::Closed);
                    tally.duration(
                        "to_investigation",
                        c.created_ms,
                        c.status.first_validated_ms,
                    );
                    tally.duration("to_resolution", c.created_ms, c.status.first_resolved_ms);
                })
                .await?;
            (alerts, cases)
        }
    };
    let mut a = alerts.publish(!exact);
    let mut c = cases.publish(!exact);
    Ok(Json(Statistics {
        exact,
        suppressed_below: (!exact).then_some(limits::STATS_SUPPRESS_BELOW),
        from_ms,
        until_ms,
        alerts: AlertFigures {
            total: a.total,
            by_status: a.breakdown("status"),
            by_channel: a.breakdown("channel"),
            by_province: a.breakdown("province"),
            by_region: a.breakdown("region"),
            by_district: a.breakdown("district"),
            fir_registered: a.count("fir_registered"),
            escalated: a.count("escalated"),
            recovered: a.count("recovered"),
            to_validation: a.median("to_validation"),
            to_recovery: a.median("to_recovery"),
        },
        cases: CaseFigures {
            total: c.total,
            by_category: c.breakdown("category"),
            by_status: c.breakdown("status"),
            by_channel: c.breakdown("channel"),
            by_province: c.breakdown("province"),
            by_region: c.breakdown("region"),
            by_district: c.breakdown("district"),
            fir_registered: c.count("fir_registered"),
            under_investigation: c.count("under_investigation"),
            fast_tracked: c.count("fast_tracked"),
            resolved: c.count("resolved"),
            closed: c.count("closed"),
            to_investigation: c.median("to_investigation"),
            to_resolution: c.median("to_resolution"),
        },
        complete: alerts_complete && cases_complete,
    }))
}

/// Monthly series, oldest month first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Trends {
    /// Whether the figures are exact; when not, counts of 1 to 4 are `null`.
    pub exact: bool,
    /// The months, `YYYY-MM` (UTC), oldest first, ending with the current one.
    pub months: Vec<String>,
    /// Alerts raised in each month.
    pub alerts_raised: Vec<Option<u64>>,
    /// Alerts whose child was first recovered or reunited in each month.
    pub alerts_recovered: Vec<Option<u64>>,
    /// Cases filed in each month.
    pub cases_filed: Vec<Option<u64>>,
    /// Cases filed in each month, by category.
    pub cases_by_category: BTreeMap<String, Vec<Option<u64>>>,
    /// Cases first resolved in each month.
    pub cases_resolved: Vec<Option<u64>>,
    pub complete: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrendsQuery {
    district: Option<String>,
    region: Option<String>,
    province: Option<String>,
    /// How many months back, the current one included: 1 to 60, 12 when not given.
    #[param(minimum = 1, maximum = 60)]
    months: Option<u32>,
}

impl TrendsQuery {
    /// The last `months` months over the whole of what the node holds.
    pub(crate) fn national(months: u32) -> TrendsQuery {
        TrendsQuery {
            district: None,
            region: None,
            province: None,
            months: Some(months),
        }
    }
}

/// The longest series `GET /api/v1/stats/trends` gives.
const TREND_MONTHS_MAX: u32 = 60;

#[derive(Debug, Default)]
struct Series {
    alerts_raised: BTreeMap<i64, u64>,
    alerts_recovered: BTreeMap<i64, u64>,
    cases_filed: BTreeMap<i64, u64>,
    cases_resolved: BTreeMap<i64, u64>,
    cases_by_category: BTreeMap<i64, BTreeMap<String, u64>>,
}

/// `GET /api/v1/stats/trends`: monthly series over the whole country or a place (the federal node's national view;
/// any node over what it holds). For everyone, exact for officials within their area, suppressed below 5 otherwise.
#[utoipa::path(get, path = "/api/v1/stats/trends", tag = "statistics", params(TrendsQuery),
    responses(
        (status = 200, description = "Monthly series", body = Trends),
        responses::Malformed,
        responses::Unauthenticated,
        responses::InvalidFields,
        responses::RateLimited,
        responses::Unavailable
    ))]
pub(crate) async fn trends(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<TrendsQuery>, QueryRejection>,
) -> Result<Json<Trends>, ApiError> {
    let Query(q) = query?;
    let (topology, places, exact) = asked(
        &state,
        &who,
        q.district.as_deref(),
        q.region.as_deref(),
        q.province.as_deref(),
    )?;
    let months = q.months.unwrap_or(12);
    if !(1..=TREND_MONTHS_MAX).contains(&months) {
        return Err(ApiError::field(
            "months",
            format!("is 1 to {TREND_MONTHS_MAX}"),
        ));
    }
    let _permit = permit(&state)?;
    let now = state.engine.now_ms();
    let last = month_of(now);
    let first = last - i64::from(months) + 1;
    let (t, p) = (topology, places);
    let mut series = state
        .engine
        .read_figures(move |f| {
            let holds = |d: &str| p.hold(&t, d);
            let raised = f.by_month(RecordKind::Alert, first, last, holds);
            let filed = f.by_month(RecordKind::Case, first, last, holds);
            Series {
                alerts_raised: raised.iter().map(|(m, c)| (*m, c.records)).collect(),
                alerts_recovered: f.resolved_by_month(RecordKind::Alert, first, last, holds),
                cases_filed: filed.iter().map(|(m, c)| (*m, c.records)).collect(),
                cases_resolved: f.resolved_by_month(RecordKind::Case, first, last, holds),
                cases_by_category: filed.iter().map(|(m, c)| (*m, c.categories())).collect(),
            }
        })
        .await?;
    let suppress = !exact;
    let line = |m: &BTreeMap<i64, u64>| -> Vec<Option<u64>> {
        (first..=last)
            .map(|i| count(m.get(&i).copied().unwrap_or(0), suppress))
            .collect()
    };
    let mut cases_by_category: BTreeMap<String, Vec<Option<u64>>> = BTreeMap::new();
    let categories: std::collections::BTreeSet<String> = series
        .cases_by_category
        .values()
        .flat_map(|cells| cells.keys().cloned())
        .collect();
    for (i, month) in (first..=last).enumerate() {
        let mut cells = series.cases_by_category.remove(&month).unwrap_or_default();
        for c in &categories {
            cells.entry(c.clone()).or_default();
        }
        for (category, n) in breakdown(cells, suppress) {
            cases_by_category
                .entry(category)
                .or_insert_with(|| vec![Some(0); months as usize])[i] = n;
        }
    }
    Ok(Json(Trends {
        exact,
        months: (first..=last)
            .map(|m| format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1))
            .collect(),
        alerts_raised: line(&series.alerts_raised),
        alerts_recovered: line(&series.alerts_recovered),
        cases_filed: line(&series.cases_filed),
        cases_by_category,
        cases_resolved: line(&series.cases_resolved),
        complete: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    #[test]
    fn exact_breakdowns_are_untouched() {
        let out = breakdown(cells(&[("a", 1), ("b", 7)]), false);
        assert_eq!(out["a"], Some(1));
        assert_eq!(out["b"], Some(7));
    }

    #[test]
    fn small_cells_are_suppressed_and_a_lone_one_takes_a_second_with_it() {
        // One small cell: the smallest other non-zero cell goes too, so a - total cannot reveal it.
        let out = breakdown(cells(&[("a", 2), ("b", 9), ("c", 6), ("d", 0)]), true);
        assert_eq!(out["a"], None);
        assert_eq!(out["c"], None);
        assert_eq!(out["b"], Some(9));
        assert_eq!(out["d"], Some(0));
        // Two small cells hide each other already.
        let out = breakdown(cells(&[("a", 2), ("b", 9), ("c", 4)]), true);
        assert_eq!(out["a"], None);
        assert_eq!(out["c"], None);
        assert_eq!(out["b"], Some(9));
        // Counts of five and over, and zero, stand.
        let out = breakdown(cells(&[("a", 5), ("b", 0)]), true);
        assert_eq!(out["a"], Some(5));
        assert_eq!(out["b"], Some(0));
        assert_eq!(count(4, true), None);
        assert_eq!(count(4, false), Some(4));
    }

    fn samples(v: &[u64]) -> Durations {
        let mut d = Durations::default();
        for ms in v {
            d.add(*ms);
        }
        d
    }

    #[test]
    fn medians_are_middles_and_small_sets_are_suppressed() {
        assert_eq!(median(samples(&[5, 1, 3]), false).median_ms, Some(3));
        assert_eq!(median(samples(&[4, 1, 3, 10]), false).median_ms, Some(3));
        assert_eq!(
            median(samples(&[u64::MAX, u64::MAX]), false).median_ms,
            Some(u64::MAX)
        );
        assert_eq!(median(samples(&[]), false).median_ms, None);
        let hidden = median(samples(&[1, 2, 3, 4]), true);
        assert_eq!((hidden.median_ms, hidden.samples), (None, None));
        let shown = median(samples(&[1, 2, 3, 4, 5]), true);
        assert_eq!((shown.median_ms, shown.samples), (Some(3), Some(5)));
    }

    #[test]
    fn months_of_times() {
        // 2026-11-01T00:00:00Z is in November 2026; a millisecond earlier is October.
        assert_eq!(month_of(1_793_491_200_000), 2026 * 12 + 10);
        assert_eq!(month_of(1_793_491_199_999), 2026 * 12 + 9);
        assert_eq!(month_of(0), 1970 * 12);
    }

    #[test]
    fn months_are_calendar_months_in_utc() {
        // 2026-11-01T00:00:00Z and 2026-12-01T00:00:00Z.
        assert_eq!(
            month_range("2026-11"),
            Ok((1_793_491_200_000, 1_796_083_200_000))
        );
        // December runs into the next year; February 2028 has 29 days.
        assert_eq!(
            month_range("2026-12").map(|(a, _)| a),
            Ok(1_796_083_200_000)
        );
        let (a, b) = month_range("2028-02").expect("month");
        assert_eq!((b - a) / 86_400_000, 29);
        for bad in [
            "2026", "2026-13", "2026-00", "26-11", "2026-1", "1999-12", "abcd-ef",
        ] {
            assert!(month_range(bad).is_err(), "{bad}");
        }
    }
}
