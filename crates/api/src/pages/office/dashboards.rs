//! The dashboards above the station: the region's and the province's (`GET /office` for RPOs and IGs), the
//! ministry's national one (`GET /office` for the ministry), and the list of alerts they drill down into (`GET
//! /office/alerts`). Figures come from the node's aggregates, through the statistics the API gives the same
//! official (exact within their area); lists from the engine's lists narrowed to their area.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hifazat_access::{Area, Role};
use hifazat_domain::{AlertStage, RecordKind};
use hifazat_engine::{AlertSummary, Narrow};
use hifazat_figures::{Key, Period};
use hifazat_topology::Role as NodeRole;
use hifazat_web::Text;
use hifazat_web::chart::{Chart, Series};
use hifazat_web::pages;
use serde::Deserialize;

use super::super::stats::{figures_view, map_view};
use super::super::{Reader, district_name, html, name_of};
use super::station::{escalate_rpo_after_ms, queue_alert};
use super::{Ctx, Official, desk, not_for_role};
use crate::AppState;
use crate::alerts::AlertQuery;
use crate::error::ApiError;
use crate::stats::{StatsQuery, TrendsQuery};

/// The most alerts a dashboard lists as escalated, and each list page's length.
const LISTED_MAX: usize = 50;
/// The months the national charts cover, the current one included.
const CHART_MONTHS: u32 = 12;
/// Stages at which an alert is still open.
const OPEN: [AlertStage; 4] = [
    AlertStage::Raised,
    AlertStage::Validated,
    AlertStage::Mobilised,
    AlertStage::Sighted,
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MapQuery {
    /// The map's measure: `alerts`, or cases otherwise.
    map: String,
}

/// The districts of `area` this node holds cases of, in the topology's order.
fn districts_of(state: &AppState, area: &Area) -> Vec<String> {
    let topology = state.engine.topology();
    topology
        .districts
        .iter()
        .filter(|d| area.covers(topology, &d.code) && state.engine.files_cases_for(&d.code))
        .map(|d| d.code.clone())
        .collect()
}

/// The alerts of `districts` at any of `stages` that `keep` keeps, newest first, at most `LISTED_MAX`.
async fn alerts_in(
    state: &AppState,
    districts: &[String],
    stages: &[AlertStage],
    keep: impl Fn(&AlertSummary) -> bool + Clone + Send + Sync + 'static,
) -> Result<Vec<AlertSummary>, ApiError> {
    let mut found = Vec::new();
    for stage in stages {
        let stage = *stage;
        let narrow = Narrow {
            districts: Some(districts.to_vec()),
            stage: Some(name_of(&stage)),
        };
        let keep = keep.clone();
        let page = state
            .engine
            .list_alerts(
                move |s, _| s.status.stage == stage && keep(s),
                narrow,
                None,
                LISTED_MAX,
            )
            .await?;
        found.extend(page.items);
    }
    found.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
    found.truncate(LISTED_MAX);
    Ok(found)
}

/// The dashboard of an RPO's region or an IG's province.
pub(super) async fn area(cx: Ctx<'_>, query: MapQuery) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    let t = Text::of(reader.lang);
    let level: u8 = match official.role {
        Role::Rpo => 1,
        Role::Ig => 2,
        role => return cx.problem(not_for_role(t, role)),
    };
    let districts = districts_of(state, &official.area);
    let now_ms = state.engine.now_ms();
    let escalate_after_ms = escalate_rpo_after_ms(state);
    let built: Result<pages::AreaPage<'_>, ApiError> = async {
        let escalated = alerts_in(state, &districts, &OPEN, move |s| {
            s.status.escalation_level.map(u8::from) >= Some(level)
        })
        .await?;
        let waiting = alerts_in(state, &districts, &[AlertStage::Raised], |_| true).await?;
        let mut late: BTreeMap<&str, u64> = BTreeMap::new();
        for a in &waiting {
            if now_ms.saturating_sub(a.created_ms) >= escalate_after_ms {
                *late.entry(a.district.as_str()).or_default() += 1;
            }
        }
        let codes = districts.clone();
        let cells = state
            .engine
            .read_figures(move |f| {
                codes
                    .iter()
                    .map(|code| {
                        let cell = |kind| {
                            f.cell(&Key {
                                kind,
                                period: Period::All,
                                district: code.clone(),
                            })
                            .unwrap_or_default()
                        };
                        (cell(RecordKind::Alert), cell(RecordKind::Case))
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
        let mut categories: BTreeMap<String, u64> = BTreeMap::new();
        let mut rows = Vec::new();
        for (code, (alerts, cases)) in districts.iter().zip(&cells) {
            let statuses = alerts.statuses();
            let stages = cases.statuses();
            for (c, n) in cases.categories() {
                *categories.entry(c).or_default() += n;
            }
            rows.push(pages::DistrictRow {
                code: code.clone(),
                name: district_name(state, reader.lang, code),
                open: OPEN
                    .iter()
                    .map(|s| statuses.get(&name_of(s)).copied().unwrap_or(0))
                    .sum(),
                late: late.get(code.as_str()).copied().unwrap_or(0),
                escalated: alerts.flag("escalated"),
                stages: pages::CASE_STAGES
                    .iter()
                    .map(|s| stages.get(*s).copied().unwrap_or(0))
                    .collect(),
                firs: alerts.flag("fir_registered") + cases.flag("fir_registered"),
            });
        }
        // The map: the area's province shaded by the area's count, its districts as points, the rest outside.
        let measure = pages::Measure::from_query(&query.map);
        let count = |(a, c): &(hifazat_figures::Cell, hifazat_figures::Cell)| match measure {
            pages::Measure::Cases => c.records,
            pages::Measure::Alerts => a.records,
        };
        let province = match &official.area {
            Area::Province(p) => Some(p.clone()),
            Area::Region(r) => state
                .engine
                .topology()
                .region(r)
                .map(|r| r.province.clone()),
            _ => None,
        };
        let area_name = super::area_name(state, reader.lang, &official.area);
        let total: u64 = cells.iter().map(count).sum();
        let names: Vec<String> = districts
            .iter()
            .map(|d| district_name(state, reader.lang, d))
            .collect();
        let topology = state.engine.topology();
        let points: Vec<pages::Counted<'_>> = districts
            .iter()
            .zip(&names)
            .zip(&cells)
            .map(|((code, name), cell)| pages::Counted {
                code,
                name,
                at: topology.district(code).map(|d| (d.lat, d.lon)),
                figure: Some(count(cell)),
            })
            .collect();
        let areas: Vec<pages::Counted<'_>> = province
            .iter()
            .map(|p| pages::Counted {
                code: p,
                name: &area_name,
                at: None,
                figure: Some(total),
            })
            .collect();
        let other = match measure {
            pages::Measure::Cases => "/office?map=alerts",
            pages::Measure::Alerts => "/office?map=cases",
        };
        let map = pages::MapView::build(t, measure, &areas, &points, other.to_owned())
            .within(t, |code| province.as_deref() == Some(code))
            .exact();
        let (glass, glass_today) = super::glass::latest(cx).await;
        Ok(pages::AreaPage {
            frame: cx.frame(),
            area: area_name.clone(),
            kind: if level == 1 { "region" } else { "province" },
            level,
            escalated: escalated
                .iter()
                .map(|a| queue_alert(state, reader.lang, a, now_ms, escalate_after_ms))
                .collect(),
            rows,
            categories: categories
                .into_iter()
                .map(|(c, n)| pages::Row {
                    label: t.named("case.category", &c).to_owned(),
                    figure: Some(n),
                })
                .collect(),
            map,
            escalate_after_ms,
            glass,
            glass_today,
        })
    }
    .await;
    match built {
        Ok(page) => html(StatusCode::OK, pages::render(&page)),
        Err(e) => cx.failed(e),
    }
}

/// A month number (`year * 12 + month - 1`, as the figures count them) from its `YYYY-MM` label, as the axis
/// shows it in `t`'s language.
fn month_label(t: &Text, label: &str) -> String {
    let month = label
        .split_once('-')
        .and_then(|(_, m)| m.parse::<usize>().ok())
        .filter(|m| (1..=12).contains(m));
    match month {
        Some(m) => format!("{} {}", t.get(pages::SHORT_MONTHS[m - 1]), &label[2..4]),
        None => label.to_owned(),
    }
}

/// The ministry's national dashboard.
pub(super) async fn national(cx: Ctx<'_>, query: MapQuery) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    let t = Text::of(reader.lang);
    if official.role != Role::Ministry {
        return cx.problem(not_for_role(t, official.role));
    }
    let built: Result<pages::NationalPage<'_>, ApiError> = async {
        let Json(stats) = crate::stats::stats(
            State(state.clone()),
            official.who.clone(),
            Ok(Query(StatsQuery::page(None, None, None))),
        )
        .await?;
        let Json(trends) = crate::stats::trends(
            State(state.clone()),
            official.who.clone(),
            Ok(Query(TrendsQuery::national(CHART_MONTHS))),
        )
        .await?;
        let labels: Vec<String> = trends.months.iter().map(|m| month_label(t, m)).collect();
        let line = |key, class, values: &[Option<u64>]| Series {
            key,
            class,
            values: values.iter().map(|v| v.unwrap_or(0)).collect(),
        };
        let charts = vec![
            pages::Titled {
                key: "chart.alerts",
                chart: Chart::lines(
                    labels.clone(),
                    vec![
                        line("chart.alerts_raised", "series-a", &trends.alerts_raised),
                        line(
                            "chart.alerts_recovered",
                            "series-b",
                            &trends.alerts_recovered,
                        ),
                    ],
                ),
            },
            pages::Titled {
                key: "chart.cases",
                chart: Chart::lines(
                    labels,
                    vec![
                        line("chart.cases_filed", "series-a", &trends.cases_filed),
                        line("chart.cases_resolved", "series-b", &trends.cases_resolved),
                    ],
                ),
            },
        ];
        let stages = |names: &[&'static str], by: &BTreeMap<String, Option<u64>>| {
            names
                .iter()
                .map(|stage| pages::StageCount {
                    stage,
                    count: by.get(*stage).copied().flatten().unwrap_or(0),
                })
                .collect()
        };
        let measure = pages::Measure::from_query(&query.map);
        let other = match measure {
            pages::Measure::Cases => "/office?map=alerts",
            pages::Measure::Alerts => "/office?map=cases",
        };
        let map = map_view(state, reader.lang, &stats, measure, other.to_owned()).exact();
        Ok(pages::NationalPage {
            frame: cx.frame(),
            figures: figures_view(state, reader.lang, &stats),
            alert_stages: stages(&pages::ALERT_STAGES, &stats.alerts.by_status),
            case_stages: stages(&pages::CASE_STAGES, &stats.cases.by_status),
            charts,
            map,
            nodes: freshness(state).await?,
        })
    }
    .await;
    match built {
        Ok(page) => html(StatusCode::OK, pages::render(&page)),
        Err(e) => cx.failed(e),
    }
}

/// Every node of the topology but this one, with the newest change from it held here and whether it is linked now.
async fn freshness(state: &AppState) -> Result<Vec<pages::NodeFresh>, ApiError> {
    let newest = state.engine.newest_by_author().await?;
    let report = match &state.net {
        Some(net) => net.peers().await.ok(),
        None => None,
    };
    let now_ms = state.engine.now_ms();
    let me = state.engine.node_name();
    Ok(state
        .engine
        .topology()
        .nodes
        .iter()
        .filter(|n| n.name != me)
        .map(|n| {
            let newest_ms = n
                .key
                .and_then(|key| newest.get(&hifazat_log::Author(key)).copied());
            pages::NodeFresh {
                name: n.name.clone(),
                role: match n.role {
                    NodeRole::Federal => "federal",
                    NodeRole::Province => "province",
                    NodeRole::District => "district",
                },
                newest_ms,
                ago_ms: newest_ms.map(|t| now_ms.saturating_sub(t)),
                connected: report.as_ref().and_then(|r| {
                    r.peers
                        .iter()
                        .find(|p| p.name == n.name)
                        .map(|p| p.connected)
                }),
            }
        })
        .collect())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AlertsQuery {
    stage: String,
    district: String,
    before: String,
    /// An alert's short code: the alert it names is opened (or, when several share it, they are listed).
    code: String,
}

/// `GET /office/alerts`: the alerts of the official's area (a district of it when chosen), filtered by stage and in
/// pages, as `GET /api/v1/alerts` lists them.
pub(crate) async fn alerts(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    query: Result<Query<AlertsQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/alerts").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    if !official.role.is_police() && official.role != Role::Ministry {
        return cx.problem(not_for_role(t, official.role));
    }
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let topology = state.engine.topology();
    let mine: Vec<&hifazat_topology::District> = topology
        .districts
        .iter()
        .filter(|d| official.area.covers(topology, &d.code))
        .collect();
    let stage: Result<Option<AlertStage>, ()> = match q.stage.as_str() {
        "" => Ok(None),
        s => serde_json::from_value(serde_json::Value::String(s.to_owned()))
            .map(Some)
            .map_err(|_| ()),
    };
    let district_ok = q.district.is_empty() || mine.iter().any(|d| d.code == q.district);
    let mut page = pages::AlertListPage {
        frame: cx.frame(),
        stages: pages::ALERT_STAGES
            .iter()
            .map(|s| pages::Choice {
                value: (*s).to_owned(),
                label: t.named("alert.stage", s).to_owned(),
                selected: *s == q.stage,
            })
            .collect(),
        districts: if mine.len() > 1 {
            mine.iter()
                .map(|d| pages::Choice {
                    value: d.code.clone(),
                    label: reader.lang.pick(&d.name, &d.name_ur).to_owned(),
                    selected: d.code == q.district,
                })
                .collect()
        } else {
            Vec::new()
        },
        alerts: Vec::new(),
        next: None,
        problem: None,
        code: String::new(),
    };
    let (Ok(stage), true) = (stage, district_ok) else {
        page.problem = Some(t.get("cases.problem").to_owned());
        return html(StatusCode::UNPROCESSABLE_ENTITY, pages::render(&page));
    };
    if !q.code.trim().is_empty() {
        page.code = q.code.chars().take(40).collect();
        let found = match q.code.parse::<hifazat_domain::AlertCode>() {
            Ok(code) => match state.engine.alerts_by_code(&code).await {
                Ok(found) => found,
                Err(e) => return cx.failed(e.into()),
            },
            Err(_) => Vec::new(),
        };
        if found.len() == 1 {
            return Redirect::to(&format!("/office/alerts/{}", found[0].id)).into_response();
        }
        if found.is_empty() {
            page.problem = Some(t.get("alerts.problem.code").to_owned());
            return html(StatusCode::NOT_FOUND, pages::render(&page));
        }
        let (now_ms, after) = (state.engine.now_ms(), escalate_rpo_after_ms(&state));
        page.alerts = found
            .iter()
            .map(|a| queue_alert(&state, reader.lang, a, now_ms, after))
            .collect();
        return html(StatusCode::OK, pages::render(&page));
    }
    // Narrowed to the chosen district, else to the official's area.
    let given = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    let (district, region, province) = match (&official.area, given(&q.district)) {
        (_, Some(d)) => (Some(d), None, None),
        (Area::District(d), None) => (Some(d.clone()), None, None),
        (Area::Region(r), None) => (None, Some(r.clone()), None),
        (Area::Province(p), None) => (None, None, Some(p.clone())),
        (Area::National, None) => (None, None, None),
    };
    let asked = AlertQuery::page(
        stage,
        district,
        region,
        province,
        given(&q.before),
        LISTED_MAX,
    );
    let listed =
        crate::alerts::list(State(state.clone()), official.who.clone(), Ok(Query(asked))).await;
    let listed = match listed {
        Ok(Json(listed)) => listed,
        Err(e) => return cx.failed(e),
    };
    let now_ms = state.engine.now_ms();
    let after = escalate_rpo_after_ms(&state);
    page.alerts = listed
        .items
        .iter()
        .map(|a| queue_alert(&state, reader.lang, a, now_ms, after))
        .collect();
    page.next = listed.next.map(|next| {
        format!(
            "/office/alerts?stage={}&district={}&before={next}",
            pages::percent_encode(&q.stage),
            pages::percent_encode(&q.district)
        )
    });
    html(StatusCode::OK, pages::render(&page))
}
