//! The district station's work queue (`GET /office` for station officers and DPOs): alerts waiting for validation
//! with the time left before they go to the RPO, the district's open alerts, the newest sightings, cases by stage,
//! cases without a step for days, and, for those who read the outbox, the SMS sent. Read through the engine's
//! lists narrowed to the district (its index of places) and the statistics the API gives the same official.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hifazat_domain::{AlertStage, CaseStage};
use hifazat_engine::{AlertSummary, Narrow};
use hifazat_phone::outbox::{Purpose, State as SmsState};
use hifazat_web::pages;

use super::super::{Reader, district_name, html, name_of};
use super::{Ctx, Official};
use crate::AppState;
use crate::stats::StatsQuery;

/// Days without a step after which an open case is listed as needing attention.
pub(crate) const STALE_CASE_DAYS: u64 = 7;
/// The most alerts the queue lists in each of its lists.
const QUEUE_ALERTS_MAX: usize = 100;
/// The open alerts whose sightings the queue reads, and the most sightings it lists.
const SIGHTING_ALERTS_MAX: usize = 10;
const SIGHTINGS_MAX: usize = 20;
/// The outbox messages the queue reads and lists.
const SMS_READ_MAX: usize = 200;
const SMS_LINES_MAX: usize = 20;
const DAY_MS: u64 = 86_400_000;

/// The alerts of `district` at `stage`, newest first.
async fn alerts_at(
    state: &AppState,
    district: &str,
    stage: AlertStage,
) -> Result<Vec<AlertSummary>, crate::ApiError> {
    let narrow = Narrow {
        districts: Some(vec![district.to_owned()]),
        stage: Some(name_of(&stage)),
    };
    let page = state
        .engine
        .list_alerts(
            move |s, _| s.status.stage == stage,
            narrow,
            None,
            QUEUE_ALERTS_MAX,
        )
        .await?;
    Ok(page.items)
}

/// An alert as a line of the queue and the dashboards' lists, in `lang`.
pub(crate) fn queue_alert(
    state: &AppState,
    lang: hifazat_web::Lang,
    a: &AlertSummary,
    now_ms: u64,
    escalate_after_ms: u64,
) -> pages::QueueAlert {
    let waited_ms = now_ms.saturating_sub(a.created_ms);
    let waiting = a.status.stage == AlertStage::Raised && a.status.escalation_level.is_none();
    pages::QueueAlert {
        id: a.id.to_string(),
        child_name: a.child_name.clone(),
        age_years: a.age_years,
        place: a.last_seen.clone(),
        district: district_name(state, lang, &a.district),
        stage: name_of(&a.status.stage),
        raised_ms: a.created_ms,
        waited_ms,
        left_ms: (waiting && waited_ms < escalate_after_ms).then(|| escalate_after_ms - waited_ms),
        overdue_ms: (waiting && waited_ms >= escalate_after_ms)
            .then(|| waited_ms - escalate_after_ms),
        escalated: a.status.escalation_level.map(u8::from),
        sightings: a.sightings as u64,
    }
}

/// How long an alert may wait for validation before it goes to the RPO: this node's SMS timing, or its default.
pub(crate) fn escalate_rpo_after_ms(state: &AppState) -> u64 {
    let timing = state
        .phone
        .as_ref()
        .map_or_else(hifazat_phone::Timing::default, |p| p.timing());
    timing.escalate_rpo_after_s * 1_000
}

/// The station's queue for `official`, whose district it is.
pub(super) async fn queue(cx: Ctx<'_>) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    let Some(district) = official.district() else {
        return cx.problem(super::not_for_role(
            hifazat_web::Text::of(reader.lang),
            official.role,
        ));
    };
    let frame = cx.frame();
    match gather(state, reader, official, district, frame).await {
        Ok(mut page) => {
            (page.glass, page.glass_today) = super::glass::latest(cx).await;
            html(StatusCode::OK, pages::render(&page))
        }
        Err(e) => cx.failed(e),
    }
}

async fn gather<'a>(
    state: &AppState,
    reader: &Reader,
    official: &Official,
    district: &str,
    frame: pages::Frame<'a>,
) -> Result<pages::QueuePage<'a>, crate::ApiError> {
    let now_ms = state.engine.now_ms();
    let escalate_after_ms = escalate_rpo_after_ms(state);
    let waiting: Vec<pages::QueueAlert> = alerts_at(state, district, AlertStage::Raised)
        .await?
        .iter()
        .map(|a| queue_alert(state, reader.lang, a, now_ms, escalate_after_ms))
        .collect();
    let mut open = Vec::new();
    for stage in [
        AlertStage::Validated,
        AlertStage::Mobilised,
        AlertStage::Sighted,
    ] {
        open.extend(alerts_at(state, district, stage).await?);
    }
    open.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
    open.truncate(QUEUE_ALERTS_MAX);
    // The sightings of the open alerts that changed last.
    let mut seen: Vec<&AlertSummary> = open.iter().filter(|a| a.sightings > 0).collect();
    seen.sort_by_key(|a| std::cmp::Reverse(a.updated_ms));
    let mut sightings = Vec::new();
    for a in seen.into_iter().take(SIGHTING_ALERTS_MAX) {
        let record = state.engine.alert(a.id).await?;
        for s in record.doc.sightings {
            sightings.push(pages::SightingLine {
                alert: a.id.to_string(),
                child_name: a.child_name.clone(),
                seen_at_ms: s.seen_at_ms,
                place: s.place.map(|p| p.text).unwrap_or_default(),
                description: s.description,
                reporter: None,
                channel: name_of(&s.channel),
            });
        }
    }
    sightings.sort_by_key(|s| std::cmp::Reverse(s.seen_at_ms));
    sightings.truncate(SIGHTINGS_MAX);
    let open = open
        .iter()
        .map(|a| queue_alert(state, reader.lang, a, now_ms, escalate_after_ms))
        .collect();
    // Cases by stage, from the statistics this official gets (exact over their district).
    let axum::Json(figures) = crate::stats::stats(
        State(state.clone()),
        official.who.clone(),
        Ok(Query(StatsQuery::page(
            None,
            Some(district.to_owned()),
            None,
        ))),
    )
    .await?;
    let stages = pages::CASE_STAGES
        .iter()
        .map(|stage| pages::StageCount {
            stage,
            count: figures
                .cases
                .by_status
                .get(*stage)
                .copied()
                .flatten()
                .unwrap_or(0),
        })
        .collect();
    let stale = stale_cases(state, reader, district, now_ms).await?;
    let sms = sms_box(state, official);
    // Found children of the district whose possible matches wait for a decision.
    let to_check = crate::found::list_found(
        state,
        &official.who,
        crate::found::FoundQuery {
            district: Some(district.to_owned()),
            open_suggestions: Some(true),
            limit: Some(hifazat_limits::LIST_PAGE_MAX),
            ..crate::found::FoundQuery::default()
        },
    )
    .await
    .map_or(0, |page| page.items.len());
    Ok(pages::QueuePage {
        frame,
        district: district_name(state, reader.lang, district),
        waiting,
        open,
        sightings,
        stages,
        stale,
        stale_days: STALE_CASE_DAYS,
        sms,
        escalate_after_ms,
        found_to_check: to_check,
        glass: Vec::new(),
        glass_today: 0,
    })
}

/// Open cases of `district` without a step for more than `STALE_CASE_DAYS`, longest idle first.
async fn stale_cases(
    state: &AppState,
    reader: &Reader,
    district: &str,
    now_ms: u64,
) -> Result<Vec<pages::CaseLine>, crate::ApiError> {
    let cutoff = now_ms.saturating_sub(STALE_CASE_DAYS * DAY_MS);
    let mut stale = Vec::new();
    for stage in [CaseStage::Filed, CaseStage::UnderInvestigation] {
        let narrow = Narrow {
            districts: Some(vec![district.to_owned()]),
            stage: Some(name_of(&stage)),
        };
        let page = state
            .engine
            .list_cases(
                move |s| s.status.stage == stage && s.updated_ms < cutoff,
                narrow,
                None,
                QUEUE_ALERTS_MAX,
            )
            .await?;
        stale.extend(page.items);
    }
    stale.sort_by_key(|c| c.updated_ms);
    stale.truncate(QUEUE_ALERTS_MAX);
    Ok(stale
        .into_iter()
        .map(|c| super::records::case_line(state, reader.lang, &c, now_ms))
        .collect())
}

/// The SMS the node sent, for those who read its outbox on a node with an SMS service.
fn sms_box(state: &AppState, official: &Official) -> Option<pages::SmsBox> {
    official.who.caller.may_read_outbox().ok()?;
    let phone = state.phone.as_ref()?;
    // An outbox that cannot be read leaves the box out rather than failing the queue.
    let messages = phone.outbox().page(None, SMS_READ_MAX).ok()?;
    let (mut sent, mut failed) = (0, 0);
    let mut lines = Vec::new();
    for m in messages {
        let Purpose::Notification {
            record, official, ..
        } = m.purpose
        else {
            continue;
        };
        let state_name = sms_state(&m.state);
        match m.state {
            SmsState::Failed { .. } => failed += 1,
            SmsState::Queued => {}
            _ => sent += 1,
        }
        if lines.len() < SMS_LINES_MAX {
            lines.push(pages::SmsLine {
                at_ms: m.updated_ms,
                official,
                alert: Some(record),
                state: state_name,
                why: match m.state {
                    SmsState::Failed { reason } => Some(reason),
                    _ => None,
                },
            });
        }
    }
    Some(pages::SmsBox {
        sent,
        failed,
        lines,
    })
}

/// A message's state as [`pages::SMS_STATES`] names it.
pub(crate) fn sms_state(state: &SmsState) -> &'static str {
    match state {
        SmsState::Queued => "queued",
        SmsState::Kept => "kept",
        SmsState::Submitted => "submitted",
        SmsState::Delivered => "delivered",
        SmsState::Failed { .. } => "failed",
    }
}
