//! The register's pages (`/office/register/…`, register officers at the federal node) and the verification form
//! (`/office/verify`, authorised institutions). Each acts through the API's own register handlers as the
//! signed-in official, so the same rules, limits and logging apply: a search is a logged consultation, a
//! verification keeps its fixed size and time. CNICs come in form bodies, never in an address. On any other
//! node, or for any other role, nothing of the register is shown.

use axum::Json;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hifazat_access::Role;
use hifazat_register::{NoticeOutcome, Offender, OffenderDraft, Update};
use hifazat_web::pages::{self, Problem};
use hifazat_web::{Lang, Text};
use serde::Deserialize;

use super::super::{Posted, Reader, district_name, html, name_of};
use super::{Ctx, Official, desk, not_for_role};
use crate::AppState;
use crate::error::ApiError;
use crate::register::{CnicBody, OffendersQuery};
use crate::{SeqPage, SeqQuery};

/// Entries and journal lines on one page.
const PAGE: usize = 50;

/// Refuses any role but the register officers' (403, with why), and any node without the register (404).
fn keeper(cx: Ctx<'_>) -> Option<Response> {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    if official.who.caller.may_keep_register().is_err() {
        let t = Text::of(reader.lang);
        return Some(cx.problem(not_for_role(t, official.role)));
    }
    if state.register.is_none() {
        return Some(cx.problem(Problem::NotFound));
    }
    None
}

/// Every district, `chosen` selected.
fn district_choices(state: &AppState, lang: Lang, chosen: &str) -> Vec<pages::Choice> {
    state
        .engine
        .topology()
        .districts
        .iter()
        .map(|d| pages::Choice {
            value: d.code.clone(),
            label: lang.pick(&d.name, &d.name_ur).to_owned(),
            selected: d.code == chosen,
        })
        .collect()
}

/// The fields a register refusal names, in the reader's language (a field the forms do not have: the form in general).
fn register_problems(t: &Text, error: &ApiError) -> Vec<pages::FieldProblem> {
    match error {
        ApiError::Invalid(errors) => {
            let mut problems: Vec<pages::FieldProblem> = Vec::new();
            for e in errors {
                let last = e.field.rsplit('.').next().unwrap_or("");
                let field = pages::REGISTER_FIELDS
                    .iter()
                    .map(|(f, _)| *f)
                    .find(|f| {
                        *f == last
                            || (last == "name" && e.field.starts_with("parentage"))
                                .then_some("parent")
                                == Some(*f)
                    })
                    .unwrap_or("");
                if !problems.iter().any(|p| p.field == field) {
                    problems.push(pages::register_problem(t, field));
                }
            }
            problems
        }
        ApiError::Conflict(why) if why.contains("CNIC") => vec![pages::FieldProblem {
            field: "cnic",
            message: t.get("register.problem.duplicate").to_owned(),
        }],
        ApiError::Conflict(_) => vec![pages::FieldProblem {
            field: "",
            message: t.get("register.problem.conflict").to_owned(),
        }],
        _ => vec![pages::FieldProblem::unreadable(t)],
    }
}

/// The register officers' first page: search, entries, and counts of alarms and unmatched notifications among the
/// newest (`GET /office` for them).
pub(super) async fn home(
    cx: Ctx<'_>,
    after: Option<String>,
    search: Option<(String, String)>,
    status: StatusCode,
) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    if let Some(refused) = keeper(cx) {
        return refused;
    }
    let listed = crate::register::list(
        State(state.clone()),
        official.who.clone(),
        Ok(Query(OffendersQuery {
            after,
            limit: Some(PAGE),
        })),
    )
    .await;
    let page = match listed {
        Ok(Json(page)) => page,
        Err(e) => return cx.failed(e),
    };
    let newest = || {
        Ok(Query(SeqQuery {
            before: None,
            limit: Some(PAGE),
        }))
    };
    let alarms = crate::register::alarms(State(state.clone()), official.who.clone(), newest())
        .await
        .map_or(0, |Json(p)| p.items.len());
    let unmatched = crate::register::notices(State(state.clone()), official.who.clone(), newest())
        .await
        .map_or(0, |Json(p)| {
            p.items
                .iter()
                .filter(|n| n.outcome == NoticeOutcome::Unmatched)
                .count()
        });
    let (cnic, search) = search.map_or((String::new(), None), |(c, why)| (c, Some(why)));
    let home = pages::RegisterHome {
        frame: cx.frame(),
        csrf: official.csrf().to_owned(),
        cnic,
        search,
        entries: page
            .items
            .into_iter()
            .map(|e| pages::OffenderLine {
                id: e.id,
                name: e.name,
                status: name_of(&e.status),
                district: district_name(state, reader.lang, &e.district),
            })
            .collect(),
        next: page.next.map(|n| format!("/office/register?after={n}")),
        alarms,
        unmatched,
    };
    html(status, pages::render(&home))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AfterQuery {
    after: Option<String>,
}

/// `GET /office/register`: the entries from a place in the list on.
pub(crate) async fn entries(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    query: Result<Query<AfterQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let after = query.ok().and_then(|Query(q)| q.after);
    home(cx, after, None, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CnicForm {
    csrf: String,
    cnic: String,
}

impl Posted for CnicForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /office/register/search`: finds the entry with a CNIC (a logged consultation, as the API's search) and
/// opens it; or says, beside the field, that none has it.
pub(crate) async fn search(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    body: Result<axum::Form<CnicForm>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    if let Some(refused) = keeper(cx) {
        return refused;
    }
    let form = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let found = crate::register::search(
        State(state.clone()),
        official.who.clone(),
        Ok(Json(CnicBody {
            cnic: form.cnic.clone(),
        })),
    )
    .await;
    let why = match found {
        Ok(Json(offender)) => {
            return Redirect::to(&format!("/office/register/offenders/{}", offender.id))
                .into_response();
        }
        Err(ApiError::NotFound(_)) => t.get("register.search.none"),
        Err(ApiError::Invalid(_)) => t.get("register.problem.cnic"),
        Err(e) => return cx.failed(e),
    };
    let typed: String = form.cnic.chars().take(20).collect();
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    home(cx, None, Some((typed, why.to_owned())), status).await
}

/// An entry's page, with what to correct in the change just sent.
async fn offender_page(
    cx: Ctx<'_>,
    offender: Offender,
    problems: Vec<pages::FieldProblem>,
    done: bool,
    status: StatusCode,
) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    let lang = reader.lang;
    let page = pages::OffenderPage {
        frame: cx.frame(),
        csrf: official.csrf().to_owned(),
        id: offender.id,
        cnic: offender.cnic,
        name: offender.name,
        relation: name_of(&offender.parentage.relation),
        parent: offender.parentage.name,
        aliases: offender.aliases,
        convictions: offender
            .convictions
            .into_iter()
            .map(|c| pages::ConvictionView {
                offence: c.offence,
                court: c.court,
                date: c.date,
                sentence: c.sentence,
            })
            .collect(),
        addresses: offender
            .addresses
            .into_iter()
            .map(|a| pages::AddressView {
                district: district_name(state, lang, &a.district),
                address: a.address,
                since: a.since,
                until: a.until,
            })
            .collect(),
        travels: offender
            .travels
            .into_iter()
            .map(|j| pages::TravelView {
                destination: j.destination,
                depart: j.depart,
                back: j.back,
            })
            .collect(),
        status: name_of(&offender.status),
        created_ms: offender.created_ms,
        updated_ms: offender.updated_ms,
        changes: offender.changes,
        districts: district_choices(state, lang, ""),
        problems,
        done,
    };
    html(status, pages::render(&page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

/// `GET /office/register/offenders/{id}`: one entry in full, with the forms that change it.
pub(crate) async fn offender(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    if let Some(refused) = keeper(cx) {
        return refused;
    }
    let done = query.is_ok_and(|Query(q)| q.done.is_some());
    match crate::register::get(State(state.clone()), official.who.clone(), Path(id)).await {
        Ok(Json(offender)) => offender_page(cx, offender, vec![], done, StatusCode::OK).await,
        Err(e) => cx.failed(e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UpdateForm {
    csrf: String,
    kind: String,
    name: String,
    alias: String,
    address: String,
    district: String,
    since: String,
    destination: String,
    depart: String,
    back: String,
    offence: String,
    court: String,
    date: String,
    sentence: String,
    status: String,
}

impl Posted for UpdateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl UpdateForm {
    /// The change the API would be sent (its JSON, read as the API reads it).
    fn update(&self) -> Option<Update> {
        let value = match self.kind.as_str() {
            "rename" => serde_json::json!({ "change": "rename", "name": self.name }),
            "add_alias" => serde_json::json!({ "change": "add_alias", "alias": self.alias }),
            "move" => serde_json::json!({
                "change": "move", "address": self.address, "district": self.district, "since": self.since
            }),
            "travel" => serde_json::json!({
                "change": "travel", "destination": self.destination, "depart": self.depart,
                "back": Some(self.back.trim()).filter(|b| !b.is_empty()),
            }),
            "convict" => serde_json::json!({
                "change": "convict", "offence": self.offence, "court": self.court, "date": self.date,
                "sentence": self.sentence,
            }),
            "set_status" => serde_json::json!({ "change": "set_status", "status": self.status }),
            _ => return None,
        };
        serde_json::from_value(value).ok()
    }
}

/// `POST /office/register/offenders/{id}/updates`: records a change as the API's update does for this officer.
pub(crate) async fn update(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    body: Result<axum::Form<UpdateForm>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    if let Some(refused) = keeper(cx) {
        return refused;
    }
    let form = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let result = match form.update() {
        Some(update) => {
            crate::register::update(
                State(state.clone()),
                official.who.clone(),
                Path(id.clone()),
                Ok(Json(update)),
            )
            .await
        }
        None => Err(ApiError::field("status", "is not one of the statuses")),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/office/register/offenders/{id}?done=1")).into_response(),
        Err(e @ (ApiError::Invalid(_) | ApiError::Conflict(_))) => {
            let problems = register_problems(t, &e);
            match crate::register::get(State(state.clone()), official.who.clone(), Path(id)).await {
                Ok(Json(offender)) => {
                    let status = StatusCode::UNPROCESSABLE_ENTITY;
                    offender_page(cx, offender, problems, false, status).await
                }
                Err(e) => cx.failed(e),
            }
        }
        Err(e) => cx.failed(e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewForm {
    csrf: String,
    cnic: String,
    name: String,
    relation: String,
    parent: String,
    aliases: String,
    offence: String,
    court: String,
    date: String,
    sentence: String,
    address: String,
    district: String,
    since: String,
}

impl Posted for NewForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl NewForm {
    fn page<'a>(
        self,
        state: &AppState,
        reader: &'a Reader,
        frame: pages::Frame<'a>,
        csrf: String,
        problems: Vec<pages::FieldProblem>,
    ) -> pages::OffenderForm<'a> {
        pages::OffenderForm {
            districts: district_choices(state, reader.lang, &self.district),
            frame,
            csrf,
            cnic: self.cnic,
            name: self.name,
            relation: self.relation,
            parent: self.parent,
            aliases: self.aliases,
            offence: self.offence,
            court: self.court,
            date: self.date,
            sentence: self.sentence,
            address: self.address,
            since: self.since,
            problems,
        }
    }

    /// The draft the API would be sent (its JSON, read as the API reads it), or why not.
    fn draft(&self) -> Result<OffenderDraft, ApiError> {
        let aliases: Vec<&str> = self
            .aliases
            .split([',', '\u{060C}'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        let value = serde_json::json!({
            "cnic": self.cnic,
            "name": self.name,
            "parentage": { "relation": self.relation, "name": self.parent },
            "aliases": aliases,
            "convictions": [{
                "offence": self.offence, "court": self.court, "date": self.date, "sentence": self.sentence,
            }],
            "address": { "address": self.address, "district": self.district, "since": self.since },
        });
        serde_json::from_value(value).map_err(|_| ApiError::field("relation", "is not a relation"))
    }
}

/// `GET /office/register/new`: the form for a new entry.
pub(crate) async fn new_form(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/register/new").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    if let Some(refused) = keeper(cx) {
        return refused;
    }
    let form = NewForm {
        relation: "son_of".into(),
        ..NewForm::default()
    };
    let frame = cx.frame();
    let page = form.page(&state, &reader, frame, official.csrf().to_owned(), vec![]);
    html(StatusCode::OK, pages::render(&page))
}

/// `POST /office/register/new`: puts the entry on the register as the API's create does, then opens it.
pub(crate) async fn create(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    body: Result<axum::Form<NewForm>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/register/new").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    if let Some(refused) = keeper(cx) {
        return refused;
    }
    let form = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let created = match form.draft() {
        Ok(draft) => {
            crate::register::create(State(state.clone()), official.who.clone(), Ok(Json(draft)))
                .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok((_, Json(offender))) => Redirect::to(&format!(
            "/office/register/offenders/{}?done=1",
            offender.id
        ))
        .into_response(),
        Err(e @ (ApiError::Invalid(_) | ApiError::Conflict(_))) => {
            let problems = register_problems(t, &e);
            let frame = cx.frame();
            let page = form.page(&state, &reader, frame, official.csrf().to_owned(), problems);
            html(StatusCode::UNPROCESSABLE_ENTITY, pages::render(&page))
        }
        Err(e) => cx.failed(e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BeforeQuery {
    before: Option<u64>,
}

/// `GET /office/register/{consultations,alarms,notices}`: one of the register's journals, newest first.
pub(crate) async fn journal(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(which): Path<String>,
    query: Result<Query<BeforeQuery>, QueryRejection>,
) -> Response {
    let Some(which) = pages::REGISTER_JOURNALS.iter().find(|j| **j == which) else {
        let desk = desk(&state, &reader, &official, "").await;
        let cx = Ctx::of(&state, &reader, &official, &desk);
        return cx.problem(Problem::NotFound);
    };
    let here: &'static str = match *which {
        "consultations" => "/office/register/consultations",
        "alarms" => "/office/register/alarms",
        _ => "/office/register/notices",
    };
    let desk = desk(&state, &reader, &official, here).await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    if let Some(refused) = keeper(cx) {
        return refused;
    }
    let before = query.ok().and_then(|Query(q)| q.before);
    let asked = || {
        Ok(Query(SeqQuery {
            before,
            limit: Some(PAGE),
        }))
    };
    let (s, who) = (State(state.clone()), official.who.clone());
    let mut page = pages::RegisterLogPage {
        frame: cx.frame(),
        which,
        consultations: Vec::new(),
        alarms: Vec::new(),
        notices: Vec::new(),
        next: None,
    };
    let next = |n: Option<u64>| n.map(|n| format!("{here}?before={n}"));
    let read = match *which {
        "consultations" => crate::register::consultations(s, who, asked())
            .await
            .map(|Json(p)| {
                page.next = next(p.next);
                page.consultations = p
                    .items
                    .into_iter()
                    .map(|c| pages::ConsultationLine {
                        seq: c.seq,
                        at_ms: c.at_ms,
                        requester: c.requester,
                        channel: name_of(&c.channel),
                        outcome: match c.outcome {
                            hifazat_register::ConsultOutcome::Refused { .. } => "refused".into(),
                            other => name_of(&other),
                        },
                        reference: c.reference,
                    })
                    .collect();
            }),
        "alarms" => crate::register::alarms(s, who, asked())
            .await
            .map(|Json(p)| {
                page.next = next(p.next);
                page.alarms = p
                    .items
                    .into_iter()
                    .map(|a| pages::AlarmLine {
                        seq: a.seq,
                        at_ms: a.alarm.at_ms,
                        signal: name_of(&a.alarm.signal),
                        count: a.alarm.count,
                    })
                    .collect();
            }),
        _ => crate::register::notices(s, who, asked())
            .await
            .map(|Json(p): Json<SeqPage<_>>| {
                page.next = next(p.next);
                page.notices = p
                    .items
                    .into_iter()
                    .map(|n| {
                        let (outcome, offender, reason) = match n.outcome {
                            NoticeOutcome::Applied { offender } => {
                                ("applied", Some(offender), None)
                            }
                            NoticeOutcome::Unmatched => ("unmatched", None, None),
                            NoticeOutcome::Rejected { reason } => ("rejected", None, Some(reason)),
                        };
                        pages::NoticeLine {
                            seq: n.seq,
                            received_ms: n.received_ms,
                            outcome: outcome.to_owned(),
                            offender,
                            cnic: n.notice.as_ref().map(|x| x.cnic.clone()),
                            change: n.notice.as_ref().map(|x| update_name(&x.update)),
                            by: n.notice.as_ref().map(|x| x.by.clone()),
                            node: n.notice.as_ref().map(|x| x.node.clone()),
                            reason,
                        }
                    })
                    .collect();
            }),
    };
    match read {
        Ok(()) => html(StatusCode::OK, pages::render(&page)),
        Err(e) => cx.failed(e),
    }
}

/// A change's kind as its JSON names it (`move`), which the catalogue keys use.
fn update_name(update: &Update) -> String {
    serde_json::to_value(update)
        .ok()
        .and_then(|v| v.get("change").and_then(|c| c.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The verification form, with an answer or why there is none (`GET /office` for verifiers).
pub(super) fn verify_page(
    cx: Ctx<'_>,
    problem: Option<String>,
    answer: Option<(bool, String, String)>,
    status: StatusCode,
) -> Response {
    let Ctx { official, .. } = cx;
    let page = pages::VerifyPage {
        frame: cx.frame(),
        csrf: official.csrf().to_owned(),
        problem,
        answer,
    };
    html(status, pages::render(&page))
}

/// `POST /office/verify`: checks a CNIC as `POST /api/v1/register/verify` does for this institution (logged, its
/// limits applied, the answer the same size and time whatever it says), and shows the answer in the reader's
/// language.
pub(crate) async fn verify(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    body: Result<axum::Form<CnicForm>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    if official.role != Role::Verifier {
        return cx.problem(not_for_role(t, official.role));
    }
    if state.register.is_none() {
        return cx.problem(Problem::NotFound);
    }
    let form = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let asked = crate::register::verify(
        State(state.clone()),
        official.who.clone(),
        Ok(Json(CnicBody { cnic: form.cnic })),
    )
    .await;
    let bad = StatusCode::UNPROCESSABLE_ENTITY;
    let response = match asked {
        Ok(response) => response,
        Err(ApiError::Invalid(_)) => {
            let problem = Some(t.get("verify.problem").to_owned());
            return verify_page(cx, problem, None, bad);
        }
        Err(e) => return cx.failed(e),
    };
    let bytes =
        axum::body::to_bytes(response.into_body(), hifazat_limits::HTTP_BODY_BYTES_MAX).await;
    let reply = bytes
        .ok()
        .and_then(|b| serde_json::from_slice::<hifazat_register::VerifyReply>(&b).ok());
    let Some(reply) = reply else {
        return cx.problem(Problem::Internal);
    };
    let record = reply.outcome == hifazat_register::Outcome::Record;
    let message = match reader.lang {
        Lang::En => reply.message_en,
        Lang::Ur => reply.message_ur,
    };
    verify_page(
        cx,
        None,
        Some((record, reply.reference, message)),
        StatusCode::OK,
    )
}
