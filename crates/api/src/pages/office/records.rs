//! Alerts and cases as an official sees them, and the steps they record: `GET /office/alerts/{id}` (the whole
//! record for the police of its area and the ministry; its public part, with why, for others), `POST
//! /office/alerts/{id}/steps` and `/sightings`, `GET /office/cases` (filters and pages), `GET /office/cases/{id}`
//! and `POST /office/cases/{id}/steps`. Every read and write goes through the API's own handler with the official
//! as its caller, so a page allows exactly what the API allows that official.

use axum::Json;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hifazat_access::Caller;
use hifazat_domain::{
    CaseCategory, CaseStage, Channel, EscalationLevel, Event, EventKind, RecordKind,
};
use hifazat_engine::CaseSummary;
use hifazat_web::pages::{self, Problem};
use hifazat_web::{Lang, Text};
use serde::Deserialize;

use super::super::alert::{SightingBody, alert_card, sighting_problems};
use super::super::{Reader, district_name, html, name_of};
use super::{Ctx, Official, desk, outside_area};
use crate::alerts::{AlertOut, EventBody};
use crate::cases::{CaseOut, CaseQuery};
use crate::error::ApiError;
use crate::{AppState, record_id};

/// Cases on one page of the list.
const CASES_PAGE: usize = 50;
/// The outbox messages read for an alert's page.
const SMS_READ_MAX: usize = 200;

/// A case as a line of a list.
pub(crate) fn case_line(
    state: &AppState,
    lang: Lang,
    c: &CaseSummary,
    now_ms: u64,
) -> pages::CaseLine {
    pages::CaseLine {
        id: c.id.to_string(),
        category: name_of(&c.category),
        district: district_name(state, lang, &c.district),
        stage: name_of(&c.status.stage),
        filed_ms: c.created_ms,
        idle_ms: now_ms.saturating_sub(c.updated_ms),
        anonymous: c.anonymous,
        fir: !c.status.fir_numbers.is_empty(),
    }
}

/// The event a step names, with stand-ins for the fields it needs (for asking whether it is allowed).
fn step_kind(step: &str, fir_number: &str, level: EscalationLevel) -> Option<EventKind> {
    Some(match step {
        "validated" => EventKind::Validated,
        "mobilised" => EventKind::Mobilised,
        "fir_registered" => EventKind::FirRegistered {
            fir_number: fir_number.to_owned(),
        },
        "under_investigation" => EventKind::UnderInvestigation,
        "fast_tracked" => EventKind::FastTracked,
        "escalated" => EventKind::Escalated { level },
        "sighted" => EventKind::Sighted,
        "recovered" => EventKind::Recovered,
        "reunited" => EventKind::Reunited,
        "resolved_by_reconciliation" => EventKind::ResolvedByReconciliation,
        "closed" => EventKind::Closed,
        _ => return None,
    })
}

/// The steps `caller` may record on a record of `kind` in `district`, as the API's rules allow them.
fn steps_for(
    state: &AppState,
    caller: &Caller,
    kind: RecordKind,
    district: &str,
) -> Vec<&'static str> {
    let topology = state.engine.topology();
    pages::STEPS
        .iter()
        .copied()
        .filter(|step| {
            let Some(event) = step_kind(step, "-", EscalationLevel::Region) else {
                return false;
            };
            event.allowed_for(kind)
                && match kind {
                    RecordKind::Alert => caller
                        .may_add_alert_event(topology, district, &event)
                        .is_ok(),
                    RecordKind::Case => caller.may_add_case_event(topology, district).is_ok(),
                    RecordKind::Found => caller.may_work_found(topology, district).is_ok(),
                }
        })
        .collect()
}

/// What the step form sends.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StepBody {
    csrf: String,
    step: String,
    fir_number: String,
    level: String,
    note: String,
}

impl super::super::Posted for StepBody {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl StepBody {
    /// The event the API would be sent, or the fields to correct.
    fn event(&self, t: &Text) -> Result<EventBody, Vec<pages::FieldProblem>> {
        let mut problems = Vec::new();
        let level = match self.step.as_str() {
            "escalated" => match self
                .level
                .trim()
                .parse::<u8>()
                .map(EscalationLevel::try_from)
            {
                Ok(Ok(level)) => level,
                _ => {
                    problems.push(pages::step_problem(t, "level"));
                    EscalationLevel::Region
                }
            },
            _ => EscalationLevel::Region,
        };
        let fir_number = self.fir_number.trim();
        if self.step == "fir_registered" && fir_number.is_empty() {
            problems.push(pages::step_problem(t, "fir_number"));
        }
        let kind = step_kind(&self.step, fir_number, level);
        if kind.is_none() {
            problems.push(pages::step_problem(t, "step"));
        }
        match kind {
            Some(kind) if problems.is_empty() => Ok(EventBody {
                kind,
                note: Some(self.note.clone()).filter(|n| !n.trim().is_empty()),
            }),
            _ => Err(problems),
        }
    }

    /// The form as it was sent, with what to correct.
    fn form(
        &self,
        official: &Official,
        steps: Vec<&'static str>,
        problems: Vec<pages::FieldProblem>,
    ) -> pages::StepForm {
        pages::StepForm {
            csrf: official.csrf().to_owned(),
            steps,
            chosen: self.step.clone(),
            fir_number: self.fir_number.clone(),
            level: self.level.clone(),
            note: self.note.clone(),
            problems,
            done: None,
        }
    }
}

/// The step form's fields the API's refusal names, said in the reader's language.
fn step_problems(t: &Text, error: &ApiError) -> Vec<pages::FieldProblem> {
    let ApiError::Invalid(errors) = error else {
        return vec![pages::FieldProblem::unreadable(t)];
    };
    let mut problems: Vec<pages::FieldProblem> = Vec::new();
    for e in errors {
        let field = match e.field.as_str() {
            "fir_number" => "fir_number",
            "note" => "note",
            "level" => "level",
            _ => "step",
        };
        if !problems.iter().any(|p| p.field == field) {
            problems.push(pages::step_problem(t, field));
        }
    }
    problems
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DoneQuery {
    /// A step just recorded.
    done: Option<String>,
    /// A sighting just recorded.
    sent: Option<String>,
}

/// The name of a step just recorded, if it is one (it is shown back through the catalogue).
fn done_step(done: Option<&str>) -> Option<String> {
    let done = done?;
    pages::STEPS.contains(&done).then(|| done.to_owned())
}

/// The channels an official chooses from, `chosen` selected.
pub(crate) fn intake_channels(t: &Text, chosen: &str) -> Vec<pages::Choice> {
    channel_choices(t, chosen, &pages::INTAKE_CHANNELS)
}

/// The channels an official chooses from when filing a complaint, `chosen` selected.
pub(crate) fn case_channels(t: &Text, chosen: &str) -> Vec<pages::Choice> {
    channel_choices(t, chosen, &pages::CASE_INTAKE_CHANNELS)
}

fn channel_choices(t: &Text, chosen: &str, channels: &[&str]) -> Vec<pages::Choice> {
    channels
        .iter()
        .map(|c| pages::Choice {
            value: (*c).to_owned(),
            label: t.named("channel", c).to_owned(),
            selected: *c == chosen,
        })
        .collect()
}

/// A channel an official chose, if it is one they may choose.
pub(crate) fn intake_channel(value: &str) -> Option<Channel> {
    channel_of(value, &pages::INTAKE_CHANNELS)
}

/// A channel an official chose for a complaint, if it is one they may choose.
pub(crate) fn case_channel(value: &str) -> Option<Channel> {
    channel_of(value, &pages::CASE_INTAKE_CHANNELS)
}

fn channel_of(value: &str, channels: &[&str]) -> Option<Channel> {
    if !channels.contains(&value) {
        return None;
    }
    serde_json::from_value(serde_json::Value::String(value.to_owned())).ok()
}

pub(crate) fn event_line(e: &Event) -> pages::DeskEvent {
    let public = crate::alerts::PublicEvent::of(e);
    let (fir, notified) = match &e.kind {
        EventKind::FirRegistered { fir_number } => (Some(fir_number.clone()), None),
        EventKind::Notified { official, .. } => (None, Some(official.clone())),
        _ => (None, None),
    };
    pages::DeskEvent {
        line: pages::EventLine {
            kind: public.kind,
            level: public.level,
            at_ms: public.at_ms,
            node: public.node,
        },
        by: e.by.clone(),
        note: e.note.clone(),
        fir,
        notified,
    }
}

fn status_view<S: serde::Serialize>(s: &hifazat_domain::Status<S>) -> pages::StatusView {
    pages::StatusView {
        stage: name_of(&s.stage),
        firs: s.fir_numbers.iter().cloned().collect(),
        escalated: s.escalation_level.map(u8::from),
        fast_tracked: s.fast_tracked,
    }
}

fn contact_view(c: &hifazat_domain::Contact) -> pages::ContactView {
    pages::ContactView {
        name: c.name.clone(),
        mobile: c.mobile.clone(),
        cnic: c.cnic.clone(),
    }
}

/// The alert page of record `id` for `official`, with these forms, answered with `status`.
async fn alert_page(
    cx: Ctx<'_>,
    id: &str,
    step: Option<pages::StepForm>,
    sighting: pages::SightingForm,
    status: StatusCode,
) -> Response {
    alert_page_with(cx, id, step, sighting, None, status).await
}

/// The alert page, with a break-glass form sent back to be corrected when there is one.
pub(crate) async fn alert_page_with(
    cx: Ctx<'_>,
    id: &str,
    step: Option<pages::StepForm>,
    mut sighting: pages::SightingForm,
    glass: Option<pages::GlassForm>,
    status: StatusCode,
) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    let Ok(record_id) = record_id(id) else {
        return cx.problem(Problem::NotFound);
    };
    let record = match state.engine.alert(record_id).await {
        Ok(record) => record,
        Err(e) => return cx.failed(e.into()),
    };
    let t = Text::of(reader.lang);
    let card =
        super::super::alert::with_photo(state, alert_card(state, reader.lang, &record)).await;
    let district = record.doc.intake.public.last_seen.district.clone();
    let matches = alert_matches(state, reader.lang, &record.doc.timeline);
    let steps = steps_for(state, &official.who.caller, RecordKind::Alert, &district);
    let step = step.unwrap_or_else(|| StepBody::default().form(official, steps, Vec::new()));
    sighting.csrf = official.csrf().to_owned();
    sighting.channels = intake_channels(t, "police_station");
    let sms = alert_sms(state, official, id);
    let status_of = status_view(&record.status);
    let glass_until =
        match crate::glass::view_until(state, &official.who, record.id, &district).await {
            Ok(until) => until,
            Err(e) => return cx.failed(e),
        };
    let page = match AlertOut::seen(record, &official.who.caller, state, glass_until) {
        AlertOut::Full {
            public,
            timeline,
            restricted,
            sighting_reports,
            glass_until_ms,
            ..
        } => pages::DeskAlertPage {
            frame: cx.frame(),
            sighting_count: sighting_reports.len() as u64,
            sightings: sighting_reports
                .into_iter()
                .rev()
                .map(|s| pages::SightingLine {
                    alert: id.to_owned(),
                    child_name: card.child_name.clone(),
                    seen_at_ms: s.seen_at_ms,
                    place: s.place.map(|p| p.text).unwrap_or_default(),
                    description: s.description,
                    reporter: s.reporter.map(|r| {
                        let mobile = r.mobile.map(|m| format!(" {m}")).unwrap_or_default();
                        format!("{}{mobile}", r.name)
                    }),
                    channel: name_of(&s.channel),
                })
                .collect(),
            card,
            description: public.description,
            contact_line: public.contact_line,
            channel: name_of(&public.channel),
            reporter: Some(contact_view(&restricted.reporter)),
            office: restricted.office,
            police_notes: restricted.police_notes,
            outside: None,
            status: status_of,
            events: timeline.iter().map(event_line).collect(),
            sms,
            step,
            sighting,
            matches,
            // A form sent back (the day's limit reached while a view lasts) is shown with why.
            glass: glass.filter(|_| super::glass::offered(cx, &district)),
            glass_until_ms,
        },
        AlertOut::Public {
            public,
            status: _,
            timeline,
            sightings,
            ..
        } => {
            // The restricted part is for the police of its area and the ministry: the page says so, in words.
            let outside = if official.role.is_police() {
                outside_area(
                    state,
                    reader.lang,
                    official,
                    "problem.outside_alert",
                    &district,
                )
            } else {
                format!(
                    "{} {}{}",
                    t.get("problem.public_part"),
                    t.named("role", official.role.as_str()),
                    t.get("sentence.end")
                )
            };
            // FIR numbers are for the police of the area, as in the API's public view.
            let status = pages::StatusView {
                firs: Vec::new(),
                ..status_of
            };
            pages::DeskAlertPage {
                frame: cx.frame(),
                sighting_count: sightings as u64,
                sightings: Vec::new(),
                card,
                description: public.description,
                contact_line: public.contact_line,
                channel: name_of(&public.channel),
                reporter: None,
                office: None,
                police_notes: None,
                outside: Some(outside),
                status,
                events: timeline
                    .into_iter()
                    .map(|e| pages::DeskEvent {
                        line: pages::EventLine {
                            kind: e.kind,
                            level: e.level,
                            at_ms: e.at_ms,
                            node: e.node,
                        },
                        by: String::new(),
                        note: None,
                        fir: None,
                        notified: None,
                    })
                    .collect(),
                sms: None,
                step,
                sighting,
                matches: Vec::new(),
                // Police outside its area may open it by break-glass; no other role ever may.
                glass: super::glass::offered(cx, &district)
                    .then(|| glass.unwrap_or_else(|| super::glass::empty_form(official))),
                glass_until_ms: None,
            }
        }
    };
    html(status, pages::render(&page))
}

/// The possible matches on an alert's timeline, for its page: where the child was found (the district of the
/// node that compared the faces), how close, when, and what was decided.
fn alert_matches(
    state: &AppState,
    lang: hifazat_web::Lang,
    timeline: &[Event],
) -> Vec<pages::AlertMatchLine> {
    let topology = state.engine.topology();
    hifazat_domain::suggestions(timeline)
        .into_iter()
        .map(|s| pages::AlertMatchLine {
            found: s.other.to_string(),
            distance: format!("{:.2}", s.distance),
            at_ms: s.at_ms,
            place: topology
                .node(&s.node)
                .and_then(|n| n.district.as_deref())
                .map_or_else(|| s.node.clone(), |d| district_name(state, lang, d)),
            decision: s.decision.map(|d| name_of(&d)),
        })
        .collect()
}

/// The messages this node's outbox holds about alert `id`, for those who read the outbox.
fn alert_sms(state: &AppState, official: &Official, id: &str) -> Option<Vec<pages::SmsLine>> {
    official.who.caller.may_read_outbox().ok()?;
    let phone = state.phone.as_ref()?;
    let messages = phone.outbox().page(None, SMS_READ_MAX).ok()?;
    Some(
        messages
            .into_iter()
            .filter_map(|m| match m.purpose {
                hifazat_phone::Purpose::Notification {
                    record, official, ..
                } if record == id => Some(pages::SmsLine {
                    at_ms: m.updated_ms,
                    official,
                    alert: Some(record),
                    state: super::station::sms_state(&m.state),
                    why: match m.state {
                        hifazat_phone::State::Failed { reason } => Some(reason),
                        _ => None,
                    },
                }),
                _ => None,
            })
            .collect(),
    )
}

/// `GET /office/alerts/{id}`: the alert as this official sees it, with the steps they may record.
pub(crate) async fn alert(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let sighting = pages::SightingForm {
        anonymous: true,
        sent: query.sent.is_some(),
        ..pages::SightingForm::default()
    };
    let mut step = None;
    if let Some(done) = done_step(query.done.as_deref())
        && let Ok(r) = record_id(&id)
        && let Ok(a) = state.engine.alert(r).await
    {
        let district = a.doc.intake.public.last_seen.district;
        let steps = steps_for(&state, &official.who.caller, RecordKind::Alert, &district);
        let mut form = StepBody::default().form(&official, steps, Vec::new());
        form.done = Some(done);
        step = Some(form);
    }
    alert_page(cx, &id, step, sighting, StatusCode::OK).await
}

/// `POST /office/alerts/{id}/steps`: records the step as `POST /api/v1/alerts/{id}/events` does for this official;
/// then the alert again, saying so (303). A step the official may not record answers 403 with why.
pub(crate) async fn alert_step(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    body: Result<axum::Form<StepBody>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    let body = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let retry = |problems: Vec<pages::FieldProblem>, district: String| {
        let steps = steps_for(&state, &official.who.caller, RecordKind::Alert, &district);
        body.form(&official, steps, problems)
    };
    let district = match record_id(&id) {
        Ok(r) => match state.engine.alert(r).await {
            Ok(a) => a.doc.intake.public.last_seen.district,
            Err(e) => return cx.failed(e.into()),
        },
        Err(_) => return cx.problem(Problem::NotFound),
    };
    let event = match body.event(t) {
        Ok(event) => event,
        Err(problems) => {
            let step = retry(problems, district);
            let sighting = pages::SightingForm::default();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return alert_page(cx, &id, Some(step), sighting, status).await;
        }
    };
    let added = crate::alerts::add_event(
        State(state.clone()),
        official.who.clone(),
        Path(id.clone()),
        Ok(Json(event)),
    )
    .await;
    match added {
        Ok(_) => {
            Redirect::to(&format!("/office/alerts/{id}?done={}#step", body.step)).into_response()
        }
        Err(ApiError::Forbidden(_)) => {
            let why = outside_area(
                &state,
                reader.lang,
                &official,
                "problem.outside_step",
                &district,
            );
            cx.problem(Problem::Refused(why))
        }
        Err(e @ ApiError::Invalid(_)) => {
            let step = retry(step_problems(t, &e), district);
            let sighting = pages::SightingForm::default();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            alert_page(cx, &id, Some(step), sighting, status).await
        }
        Err(e) => cx.failed(e),
    }
}

/// `POST /office/alerts/{id}/sightings`: records a sighting taken at the station or by phone, as `POST
/// /api/v1/alerts/{id}/sightings` does for this official, on the channel it came in on.
pub(crate) async fn alert_sighting(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    body: Result<axum::Form<SightingBody>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    let body = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    let Some(channel) = intake_channel(&body.channel) else {
        let sighting = body.form(official.csrf(), vec![pages::FieldProblem::unreadable(t)]);
        return alert_page(cx, &id, None, sighting, status).await;
    };
    let draft = match body.draft(t, channel) {
        Ok(draft) => draft,
        Err(problem) => {
            let sighting = body.form(official.csrf(), vec![problem]);
            return alert_page(cx, &id, None, sighting, status).await;
        }
    };
    let added = crate::alerts::add_sighting(
        State(state.clone()),
        official.who.clone(),
        Path(id.clone()),
        Ok(Json(draft)),
    )
    .await;
    match added {
        Ok(_) => Redirect::to(&format!("/office/alerts/{id}?sent=1#sighting")).into_response(),
        Err(ApiError::Invalid(errors)) => {
            let sighting = body.form(official.csrf(), sighting_problems(t, &errors));
            alert_page(cx, &id, None, sighting, status).await
        }
        Err(e) => cx.failed(e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CasesQuery {
    stage: String,
    category: String,
    district: String,
    before: String,
}

/// A filter's value as the API's type, `None` when left empty; `Err` when it is not one.
fn filter<T: serde::de::DeserializeOwned>(value: &str) -> Result<Option<T>, ()> {
    if value.is_empty() {
        return Ok(None);
    }
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map(Some)
        .map_err(|_| ())
}

/// `GET /office/cases`: the cases this official sees, filtered and in pages, as `GET /api/v1/cases` lists them.
pub(crate) async fn cases(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    query: Result<Query<CasesQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/cases").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    if official.who.caller.may_list_cases().is_err() {
        return cx.problem(super::not_for_role(t, official.role));
    }
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let topology = state.engine.topology();
    let visible: Vec<&hifazat_topology::District> = topology
        .districts
        .iter()
        .filter(|d| state.engine.files_cases_for(&d.code))
        .filter(|d| official.who.caller.sees_cases(topology, &d.code))
        .collect();
    let stage = filter::<CaseStage>(&q.stage);
    let category = filter::<CaseCategory>(&q.category);
    let district_ok = q.district.is_empty() || visible.iter().any(|d| d.code == q.district);
    let before_ok = q.before.is_empty() || record_id(&q.before).is_ok();
    let choices = |names: &[&str], prefix: &str, chosen: &str| -> Vec<pages::Choice> {
        names
            .iter()
            .map(|n| pages::Choice {
                value: (*n).to_owned(),
                label: t.named(prefix, n).to_owned(),
                selected: *n == chosen,
            })
            .collect()
    };
    let mut page = pages::CaseListPage {
        frame: cx.frame(),
        stages: choices(&pages::CASE_STAGES, "case.stage", &q.stage),
        categories: choices(&pages::CATEGORIES, "case.category", &q.category),
        districts: if visible.len() > 1 {
            visible
                .iter()
                .map(|d| pages::Choice {
                    value: d.code.clone(),
                    label: reader.lang.pick(&d.name, &d.name_ur).to_owned(),
                    selected: d.code == q.district,
                })
                .collect()
        } else {
            Vec::new()
        },
        cases: Vec::new(),
        next: None,
        problem: None,
    };
    let (Ok(stage), Ok(category), true, true) = (stage, category, district_ok, before_ok) else {
        page.problem = Some(t.get("cases.problem").to_owned());
        return html(StatusCode::UNPROCESSABLE_ENTITY, pages::render(&page));
    };
    let asked = CaseQuery::page(
        stage,
        category,
        Some(q.district.clone()).filter(|d| !d.is_empty()),
        Some(q.before.clone()).filter(|b| !b.is_empty()),
        CASES_PAGE,
    );
    let listed =
        crate::cases::list(State(state.clone()), official.who.clone(), Ok(Query(asked))).await;
    let listed = match listed {
        Ok(Json(listed)) => listed,
        Err(e) => return cx.failed(e),
    };
    let now_ms = state.engine.now_ms();
    page.cases = listed
        .items
        .iter()
        .map(|c| case_line(&state, reader.lang, c, now_ms))
        .collect();
    page.next = listed.next.map(|next| {
        format!(
            "/office/cases?stage={}&category={}&district={}&before={next}",
            pages::percent_encode(&q.stage),
            pages::percent_encode(&q.category),
            pages::percent_encode(&q.district)
        )
    });
    html(StatusCode::OK, pages::render(&page))
}

/// The case page of record `id` for `official`, with this step form, answered with `status`; a case outside
/// what they see answers 403 with why.
async fn case_page(
    cx: Ctx<'_>,
    id: &str,
    step: Option<pages::StepForm>,
    status: StatusCode,
) -> Response {
    case_page_with(cx, id, step, None, status).await
}

/// A case's page, with a message sent back to be corrected (as typed, and why) when there is one.
async fn case_page_with(
    cx: Ctx<'_>,
    id: &str,
    step: Option<pages::StepForm>,
    message: Option<(String, String)>,
    status: StatusCode,
) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    let got = crate::cases::get(
        State(state.clone()),
        official.who.clone(),
        Path(id.to_owned()),
    )
    .await;
    let case: CaseOut = match got {
        Ok(Json(case)) => case,
        Err(ApiError::Forbidden(_)) => {
            return outside_case(cx, id).await;
        }
        Err(e) => return cx.failed(e),
    };
    let district = case.intake.district.clone();
    let steps = steps_for(state, &official.who.caller, RecordKind::Case, &district);
    let step = step.unwrap_or_else(|| StepBody::default().form(official, steps, Vec::new()));
    let filed_ms = case.timeline.first().map_or(0, |e| e.at_ms);
    let page = pages::DeskCasePage {
        frame: cx.frame(),
        id: case.id.to_string(),
        category: name_of(&case.intake.category),
        district: district_name(state, reader.lang, &district),
        place: case
            .intake
            .place
            .as_ref()
            .map(|p| p.text.clone())
            .filter(|p| !p.is_empty()),
        description: case.intake.description.clone(),
        channel: name_of(&case.intake.channel),
        victim_age: case.intake.victim_age_years,
        complainant: case.intake.complainant.as_ref().map(contact_view),
        tracking_code: case.intake.tracking_code.as_str().to_owned(),
        media: case.intake.media.clone(),
        filed_ms,
        status: status_view(&case.status),
        events: case
            .timeline
            .iter()
            .filter(|e| !e.kind.is_conversation())
            .map(event_line)
            .collect(),
        step,
        messages: case
            .messages
            .iter()
            .map(|m| pages::MessageLine {
                from: match m.from {
                    hifazat_domain::Party::Complainant => "complainant",
                    hifazat_domain::Party::Police => "police",
                },
                at_ms: m.at_ms,
                text: m.text.clone(),
            })
            .collect(),
        may_write: official
            .who
            .caller
            .may_add_case_event(state.engine.topology(), &district)
            .is_ok(),
        csrf: official.csrf().to_owned(),
        message_text: message.as_ref().map(|m| m.0.clone()).unwrap_or_default(),
        message_problem: message.map(|m| m.1),
        glass_until_ms: case.glass_until_ms,
    };
    html(status, pages::render(&page))
}

/// 403 for a case outside what the official sees, saying whose it is and what their area is (with the
/// break-glass form, for police).
async fn outside_case(cx: Ctx<'_>, id: &str) -> Response {
    outside_case_with(cx, id, None, StatusCode::FORBIDDEN).await
}

/// As [`outside_case`], with a break-glass form sent back to be corrected, answered with `status`.
pub(crate) async fn outside_case_with(
    cx: Ctx<'_>,
    id: &str,
    glass: Option<pages::GlassForm>,
    status: StatusCode,
) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    let district = match record_id(id) {
        Ok(r) => state
            .engine
            .case(r)
            .await
            .ok()
            .map(|c| c.doc.intake.district),
        Err(_) => None,
    };
    let problem = match district {
        Some(d) if official.who.caller.may_list_cases().is_ok() => {
            let outside = outside_area(state, reader.lang, official, "problem.outside_case", &d);
            if super::glass::offered(cx, &d) {
                let page = pages::DeskGlassPage {
                    frame: cx.frame(),
                    id: id.to_owned(),
                    outside,
                    form: glass.unwrap_or_else(|| super::glass::empty_form(official)),
                };
                return html(status, pages::render(&page));
            }
            Problem::Refused(outside)
        }
        _ => super::not_for_role(Text::of(reader.lang), official.role),
    };
    cx.problem(problem)
}

/// 403 for a found child's report outside what the official sees, saying whose it is and what their area is.
pub(crate) async fn outside_found(cx: Ctx<'_>, id: &str) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    let district = match record_id(id) {
        Ok(r) => state
            .engine
            .found(r)
            .await
            .ok()
            .map(|f| f.doc.intake.place.district),
        Err(_) => None,
    };
    let problem =
        match district {
            Some(d) if official.who.caller.may_list_cases().is_ok() => Problem::Refused(
                outside_area(state, reader.lang, official, "problem.outside_found", &d),
            ),
            _ => super::not_for_role(Text::of(reader.lang), official.role),
        };
    cx.problem(problem)
}

/// `GET /office/cases/{id}`: the case, for the police of its area and the ministry, with the steps the official
/// may record.
pub(crate) async fn case(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let mut step = None;
    if let Some(done) = done_step(query.done.as_deref())
        && let Ok(r) = record_id(&id)
        && let Ok(c) = state.engine.case(r).await
    {
        let steps = steps_for(
            &state,
            &official.who.caller,
            RecordKind::Case,
            &c.doc.intake.district,
        );
        let mut form = StepBody::default().form(&official, steps, Vec::new());
        form.done = Some(done);
        step = Some(form);
    }
    case_page(cx, &id, step, StatusCode::OK).await
}

/// `POST /office/cases/{id}/steps`: records the step as `POST /api/v1/cases/{id}/events` does for this official;
/// then the case again, saying so (303).
pub(crate) async fn case_step(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    body: Result<axum::Form<StepBody>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    let body = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let district = match record_id(&id) {
        Ok(r) => match state.engine.case(r).await {
            Ok(c) => c.doc.intake.district,
            Err(e) => return cx.failed(e.into()),
        },
        Err(_) => return cx.problem(Problem::NotFound),
    };
    let retry = |problems| {
        let steps = steps_for(&state, &official.who.caller, RecordKind::Case, &district);
        Some(body.form(&official, steps, problems))
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    let event = match body.event(t) {
        Ok(event) => event,
        Err(problems) => {
            return case_page(cx, &id, retry(problems), status).await;
        }
    };
    let added = crate::cases::add_event(
        State(state.clone()),
        official.who.clone(),
        Path(id.clone()),
        Ok(Json(event)),
    )
    .await;
    match added {
        Ok(_) => {
            Redirect::to(&format!("/office/cases/{id}?done={}#step", body.step)).into_response()
        }
        Err(ApiError::Forbidden(_)) => outside_case(cx, &id).await,
        Err(e @ ApiError::Invalid(_)) => {
            let step = retry(step_problems(t, &e));
            case_page(cx, &id, step, status).await
        }
        Err(e) => cx.failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_name_every_channel_and_step_as_the_api_does() {
        for channel in pages::CHANNELS {
            let parsed: Channel = serde_json::from_value(serde_json::Value::String(channel.into()))
                .unwrap_or_else(|e| panic!("{channel}: {e}"));
            assert_eq!(name_of(&parsed), channel);
        }
        for channel in pages::INTAKE_CHANNELS {
            assert!(intake_channel(channel).is_some(), "{channel}");
        }
        for channel in pages::CASE_INTAKE_CHANNELS {
            assert!(case_channel(channel).is_some(), "{channel}");
        }
        assert!(intake_channel("citizen_portal").is_none());
        assert!(intake_channel("media_report").is_none());
        assert!(case_channel("citizen_portal").is_none());
        for step in pages::STEPS {
            let kind = step_kind(step, "1/2026", EscalationLevel::Province).unwrap();
            assert_eq!(
                crate::alerts::PublicEvent::of(&Event {
                    kind,
                    at_ms: 0,
                    by: String::new(),
                    node: String::new(),
                    note: None,
                })
                .kind,
                step
            );
        }
    }
}

/// What an official's message form sends.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MessageBody {
    csrf: String,
    text: String,
}

impl super::super::Posted for MessageBody {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /office/cases/{id}/messages`: a message to the complainant, written as `POST /api/v1/cases/{id}/messages`
/// writes it, then back to the conversation (303); refused, the page again with the message and why.
pub(crate) async fn case_message(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    body: Result<axum::Form<MessageBody>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    let body = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let written = crate::cases::police_message(
        State(state.clone()),
        official.who.clone(),
        Path(id.clone()),
        Ok(Json(crate::cases::MessageBody {
            text: body.text.clone(),
        })),
    )
    .await;
    let why = match written {
        Ok(_) => return Redirect::to(&format!("/office/cases/{id}#messages")).into_response(),
        Err(ApiError::Forbidden(_)) => return outside_case(cx, &id).await,
        Err(ApiError::Invalid(_)) => t.get("messages.problem.text"),
        Err(ApiError::RateLimited(_)) => t.get("messages.problem.limit"),
        Err(e) => return cx.failed(e),
    };
    case_page_with(
        cx,
        &id,
        None,
        Some((body.text, why.to_owned())),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `POST /office/cases/{id}/tracking-code`: a new tracking code for the case, as the API gives one; the case's page
/// then shows it (303).
pub(crate) async fn case_new_code(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    body: Result<axum::Form<MessageBody>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    if let Err(page) = cx.posted(body) {
        return *page;
    }
    let renewed =
        crate::cases::renew_code(State(state.clone()), official.who.clone(), Path(id.clone()))
            .await;
    match renewed {
        Ok(_) => Redirect::to(&format!("/office/cases/{id}")).into_response(),
        Err(ApiError::Forbidden(_)) => outside_case(cx, &id).await,
        Err(e) => cx.failed(e),
    }
}
