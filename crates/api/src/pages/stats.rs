//! The statistics page, with its map.

use super::*;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StatsPageQuery {
    province: String,
    district: String,
    month: String,
    /// The map's measure: `alerts`, or complaints otherwise.
    map: String,
}

/// `GET /statistics`: the public figures, exactly as `GET /api/v1/stats` gives them to the public (the same
/// computation, suppression and per-address limit), by province, district and month.
pub(crate) async fn statistics(
    State(state): State<AppState>,
    reader: Reader,
    who: Result<Who, ApiError>,
    query: Result<Query<StatsPageQuery>, QueryRejection>,
) -> Response {
    let frame = reader.frame(&state);
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let topology = state.engine.topology();
    let choice = |value: &str, label: &str, chosen: &str| pages::Choice {
        value: value.to_owned(),
        label: label.to_owned(),
        selected: value == chosen,
    };
    let mut page = pages::StatsPage {
        frame,
        provinces: topology
            .provinces
            .iter()
            .map(|p| choice(&p.code, reader.lang.pick(&p.name, &p.name_ur), &q.province))
            .collect(),
        districts: topology
            .districts
            .iter()
            .map(|d| choice(&d.code, reader.lang.pick(&d.name, &d.name_ur), &q.district))
            .collect(),
        month: q.month.chars().take(16).collect(),
        problems: vec![],
        figures: None,
        map: None,
    };
    // The public's figures, counted as the API counts the public's (inside the handler).
    let who = match as_public(who) {
        Ok(who) => who,
        Err(e) => return reader.failed(&state, e),
    };
    let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let asked =
        crate::stats::StatsQuery::page(given(&q.province), given(&q.district), given(&q.month));
    let stats = match crate::stats::stats(State(state.clone()), who, Ok(Query(asked))).await {
        Ok(axum::Json(stats)) => stats,
        Err(ApiError::Invalid(fields)) => {
            for f in fields {
                let field = match f.field.as_str() {
                    "province" => "province",
                    "district" => "district",
                    "month" => "month",
                    _ => "",
                };
                if !page.problems.iter().any(|p| p.field == field) {
                    page.problems.push(pages::stats_problem(frame.t, field));
                }
            }
            return html(StatusCode::UNPROCESSABLE_ENTITY, pages::render(&page));
        }
        Err(e) => return reader.failed(&state, e),
    };
    let measure = pages::Measure::from_query(&q.map);
    let other = match measure {
        pages::Measure::Cases => pages::Measure::Alerts,
        pages::Measure::Alerts => pages::Measure::Cases,
    };
    let other = format!(
        "/statistics?province={}&district={}&month={}&map={}",
        pages::percent_encode(&q.province),
        pages::percent_encode(&q.district),
        pages::percent_encode(&q.month),
        other.name()
    );
    page.map = Some(map_view(&state, reader.lang, &stats, measure, other));
    page.figures = Some(figures_view(&state, reader.lang, &stats));
    html(StatusCode::OK, pages::render(&page))
}

/// A province's name in `lang` (its code when the topology has no such province).
fn province_name(state: &AppState, lang: Lang, code: &str) -> String {
    state.engine.topology().province(code).map_or_else(
        || code.to_owned(),
        |p| lang.pick(&p.name, &p.name_ur).to_owned(),
    )
}

/// The figures of `stats` as a page shows them, in `lang`.
pub(crate) fn figures_view(
    state: &AppState,
    lang: Lang,
    stats: &crate::stats::Statistics,
) -> pages::Figures {
    let t = Text::of(lang);
    let places = |alerts: &std::collections::BTreeMap<String, Option<u64>>,
                  cases: &std::collections::BTreeMap<String, Option<u64>>,
                  name: &dyn Fn(&str) -> String| {
        let codes: std::collections::BTreeSet<&String> =
            alerts.keys().chain(cases.keys()).collect();
        codes
            .into_iter()
            .map(|code| pages::PlaceRow {
                name: name(code),
                alerts: alerts.get(code).copied().unwrap_or(Some(0)),
                cases: cases.get(code).copied().unwrap_or(Some(0)),
            })
            .collect()
    };
    pages::Figures {
        exact: stats.exact,
        alerts: stats.alerts.total,
        recovered: stats.alerts.recovered,
        alerts_fir: stats.alerts.fir_registered,
        cases: stats.cases.total,
        resolved: stats.cases.resolved,
        cases_fir: stats.cases.fir_registered,
        under_investigation: stats.cases.under_investigation,
        fast_tracked: stats.cases.fast_tracked,
        categories: stats
            .cases
            .by_category
            .iter()
            .map(|(category, figure)| pages::Row {
                label: t.named("case.category", category).to_owned(),
                figure: *figure,
            })
            .collect(),
        channels: places(&stats.alerts.by_channel, &stats.cases.by_channel, &|code| {
            t.named("channel", code).to_owned()
        }),
        provinces: places(
            &stats.alerts.by_province,
            &stats.cases.by_province,
            &|code| province_name(state, lang, code),
        ),
        districts: places(
            &stats.alerts.by_district,
            &stats.cases.by_district,
            &|code| district_name(state, lang, code),
        ),
        complete: stats.complete,
    }
}

/// The map of `stats` for `measure`, provinces shaded and districts as points; `other` is the address of the map
/// of the other measure.
pub(crate) fn map_view(
    state: &AppState,
    lang: Lang,
    stats: &crate::stats::Statistics,
    measure: pages::Measure,
    other: String,
) -> pages::MapView {
    let topology = state.engine.topology();
    let (area_counts, point_counts) = match measure {
        pages::Measure::Cases => (&stats.cases.by_province, &stats.cases.by_district),
        pages::Measure::Alerts => (&stats.alerts.by_province, &stats.alerts.by_district),
    };
    let names: Vec<String> = area_counts
        .keys()
        .map(|code| province_name(state, lang, code))
        .collect();
    let areas: Vec<pages::Counted<'_>> = area_counts
        .iter()
        .zip(&names)
        .map(|((code, n), name)| pages::Counted {
            code,
            name,
            at: None,
            figure: *n,
        })
        .collect();
    let district_names: Vec<String> = point_counts
        .keys()
        .map(|code| district_name(state, lang, code))
        .collect();
    let points: Vec<pages::Counted<'_>> = point_counts
        .iter()
        .zip(&district_names)
        .map(|((code, n), name)| pages::Counted {
            code,
            name,
            at: topology.district(code).map(|d| (d.lat, d.lon)),
            figure: *n,
        })
        .collect();
    pages::MapView::build(Text::of(lang), measure, &areas, &points, other)
}
