//! The public pages (`hifazat-web` renders them), served beside `/api/v1`: the active alerts, one alert, tracking
//! a complaint by its code, the language switch and the assets. Each reads through the same engine calls, public
//! views and per-address limits as the JSON answers it mirrors, so a page shows the public nothing the API would
//! not.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hifazat_domain::{AlertStage, TrackingCode};
use hifazat_web::pages::{self, AlertCard, EventLine, Frame, Problem};
use hifazat_web::{
    CSRF_COOKIE, FILED_COOKIE, LANG_COOKIE, Lang, RenderError, SECURITY_HEADERS, Text,
};
use serde::Deserialize;

use crate::alerts::PublicEvent;
use crate::caller::Who;
use crate::error::ApiError;
use crate::{AppState, record_id};

mod raise;
mod status;
pub(crate) use raise::{raise_alert, raise_form};
pub(crate) use status::status;

/// Alerts on one page of the home page.
const HOME_PAGE_ALERTS: usize = 20;
/// How long a reader's choice of language is kept, in seconds (a year).
const LANG_COOKIE_MAX_AGE_SECS: u64 = 365 * 24 * 3600;

/// Who reads a page: their language, and the page's own path (for the language switch).
#[derive(Debug)]
pub(crate) struct Reader {
    lang: Lang,
    here: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Reader {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Reader, Self::Rejection> {
        let cookie = cookie(&parts.headers, LANG_COOKIE);
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        Ok(Reader {
            lang: Lang::choose(cookie.as_deref(), accept),
            here,
        })
    }
}

impl Reader {
    fn frame<'a>(&'a self, state: &'a AppState) -> Frame<'a> {
        Frame {
            t: Text::of(self.lang),
            node: state.engine.node_name(),
            here: &self.here,
        }
    }

    /// A page that says what went wrong, with the problem's status.
    fn problem(&self, state: &AppState, problem: Problem) -> Response {
        let frame = self.frame(state);
        let page = pages::ErrorPage {
            frame,
            status: problem.status(),
            message: problem.message(frame.t),
        };
        let status =
            StatusCode::from_u16(problem.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = html(status, pages::render(&page));
        if let Problem::RateLimited { seconds } = problem
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    /// The page for an API error, in the reader's language.
    fn failed(&self, state: &AppState, error: ApiError) -> Response {
        let problem = match error {
            ApiError::NotFound(_) | ApiError::Invalid(_) => Problem::NotFound,
            ApiError::Forbidden(_) | ApiError::Unauthenticated(_) => Problem::Forbidden,
            ApiError::RateLimited(seconds) | ApiError::Throttled { seconds, .. } => {
                Problem::RateLimited { seconds }
            }
            ApiError::Unavailable | ApiError::Busy(_) | ApiError::NotRunning(_) => {
                Problem::Unavailable
            }
            _ => Problem::Internal,
        };
        self.problem(state, problem)
    }
}

/// The reader as the public: pages are the public's, whatever a browser may send. A token is not looked at; the
/// client's address is kept for the public's per-address limit.
fn as_public(who: Result<Who, ApiError>) -> Result<Who, ApiError> {
    Ok(Who {
        caller: hifazat_access::Caller::Public,
        client: who?.client,
    })
}

/// The reader as the public, counted against the public's per-address allowance, as the API counts the public's
/// writes and lookups; or the page that says why not.
fn counted_public(
    reader: &Reader,
    state: &AppState,
    who: Result<Who, ApiError>,
) -> Result<Who, Box<Response>> {
    let refused = |e| Box::new(reader.failed(state, e));
    let who = as_public(who).map_err(refused)?;
    who.public_request(&state.limiter).map_err(refused)?;
    Ok(who)
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// An HTML answer with the security headers; a template that failed to render is logged and answered 500.
fn html(status: StatusCode, rendered: Result<String, RenderError>) -> Response {
    let (status, body) = match rendered {
        Ok(body) => (status, body),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!DOCTYPE html><title>Error</title><p>This page could not be shown.</p>"
                    .to_owned(),
            )
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages change as records do; the language they are in follows the cookie and Accept-Language.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::VARY,
        HeaderValue::from_static("accept-language, cookie"),
    );
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The district's name in the topology, in `lang` (its code when the topology has no such district).
fn district_name(state: &AppState, lang: Lang, code: &str) -> String {
    state.engine.topology().district(code).map_or_else(
        || code.to_owned(),
        |d| lang.pick(&d.name, &d.name_ur).to_owned(),
    )
}

/// A value's name as its JSON says it (`validated`, `female`, …), which the catalogue keys use.
fn name_of(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "unknown".to_owned(),
    }
}

fn event_lines(events: Vec<PublicEvent>) -> Vec<EventLine> {
    events
        .into_iter()
        .map(|e| EventLine {
            kind: e.kind,
            level: e.level,
            at_ms: e.at_ms,
            node: e.node,
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub(crate) struct HomeQuery {
    before: Option<String>,
}

/// `GET /`: the active police-validated alerts (validated, mobilised or sighted), newest first.
pub(crate) async fn home(
    State(state): State<AppState>,
    reader: Reader,
    query: Result<Query<HomeQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return reader.problem(&state, Problem::NotFound);
    };
    let before = match query.before {
        None => None,
        Some(b) => match record_id(&b) {
            Ok(id) => Some(id),
            Err(_) => return reader.problem(&state, Problem::NotFound),
        },
    };
    let listed = state
        .engine
        .list_alerts(
            |s, _| {
                matches!(
                    s.status.stage,
                    AlertStage::Validated | AlertStage::Mobilised | AlertStage::Sighted
                )
            },
            before,
            HOME_PAGE_ALERTS,
        )
        .await;
    let page = match listed {
        Ok(page) => page,
        Err(e) => return reader.failed(&state, e.into()),
    };
    let alerts = page
        .items
        .into_iter()
        .map(|s| AlertCard {
            id: s.id.to_string(),
            child_name: s.child_name,
            age_years: s.age_years,
            sex: name_of(&s.sex),
            district: district_name(&state, reader.lang, &s.district),
            last_seen: s.last_seen,
            last_seen_at_ms: s.last_seen_at_ms,
            stage: name_of(&s.status.stage),
        })
        .collect();
    let home = pages::Home {
        frame: reader.frame(&state),
        alerts,
        next: page.next.map(|n| n.to_string()),
        live: before.is_none(),
    };
    html(StatusCode::OK, pages::render(&home))
}

#[derive(Debug, Deserialize)]
pub(crate) struct AlertQuery {
    /// Set after a sighting was taken: the page thanks the reader.
    sent: Option<String>,
    /// Set after the reader raised this alert: the page thanks them and says what happens next.
    raised: Option<String>,
}

/// `GET /alerts/{id}`: one alert's public part and timeline, as `GET /api/v1/alerts/{id}` shows the public, and
/// the form to report a sighting.
pub(crate) async fn alert(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<AlertQuery>, QueryRejection>,
) -> Response {
    let (csrf, new) = csrf_token(&headers);
    let query = query.map(|Query(q)| q).ok();
    let sighting = pages::SightingForm {
        csrf: csrf.clone(),
        anonymous: true,
        sent: query.as_ref().is_some_and(|q| q.sent.is_some()),
        ..pages::SightingForm::default()
    };
    let raised = query.is_some_and(|q| q.raised.is_some());
    let mut response = alert_page(&state, &reader, &id, sighting, raised, StatusCode::OK).await;
    if new {
        set_csrf_cookie(&mut response, &csrf);
    }
    response
}

/// The alert page of record `id`, with this sighting form, answered with `status`.
async fn alert_page(
    state: &AppState,
    reader: &Reader,
    id: &str,
    sighting: pages::SightingForm,
    raised: bool,
    status: StatusCode,
) -> Response {
    let Ok(id) = record_id(id) else {
        return reader.problem(state, Problem::NotFound);
    };
    let record = match state.engine.alert(id).await {
        Ok(record) => record,
        Err(e) => return reader.failed(state, e.into()),
    };
    let sightings = record.doc.sightings.len() as u64;
    let events = record.doc.timeline.iter().map(PublicEvent::of).collect();
    let public = record.doc.intake.public;
    let page = pages::AlertPage {
        frame: reader.frame(state),
        card: AlertCard {
            id: record.id.to_string(),
            child_name: public.child_name,
            age_years: public.age_years,
            sex: name_of(&public.sex),
            district: district_name(state, reader.lang, &public.last_seen.district),
            last_seen: public.last_seen.text,
            last_seen_at_ms: public.last_seen_at_ms,
            stage: name_of(&record.status.stage),
        },
        description: public.description,
        contact_line: public.contact_line,
        events: event_lines(events),
        sightings,
        sighting,
        raised,
    };
    html(status, pages::render(&page))
}

/// `GET /alerts/{id}/poster`: a printable poster of the alert's public part, in both languages, the reader's first.
pub(crate) async fn poster(
    State(state): State<AppState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = record_id(&id) else {
        return reader.problem(&state, Problem::NotFound);
    };
    let record = match state.engine.alert(id).await {
        Ok(record) => record,
        Err(e) => return reader.failed(&state, e.into()),
    };
    let public = record.doc.intake.public;
    let halves = [reader.lang, reader.lang.other()]
        .into_iter()
        .map(|lang| pages::PosterHalf {
            t: Text::of(lang),
            district: district_name(&state, lang, &public.last_seen.district),
        })
        .collect();
    let page = pages::PosterPage {
        frame: reader.frame(&state),
        card: AlertCard {
            id: record.id.to_string(),
            child_name: public.child_name,
            age_years: public.age_years,
            sex: name_of(&public.sex),
            district: district_name(&state, reader.lang, &public.last_seen.district),
            last_seen: public.last_seen.text,
            last_seen_at_ms: public.last_seen_at_ms,
            stage: name_of(&record.status.stage),
        },
        description: public.description,
        contact_line: public.contact_line,
        halves,
    };
    html(StatusCode::OK, pages::render(&page))
}

/// What the sighting form sends (every field as text, so a bad one is shown again as it was typed).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SightingBody {
    csrf: String,
    seen_at: String,
    description: String,
    anonymous: String,
    name: String,
    mobile: String,
}

/// `POST /alerts/{id}/sighting`: records a sighting as `POST /api/v1/alerts/{id}/sightings` records the public's
/// (the same rules and per-address limit), then shows the alert again with thanks. A refused field is shown
/// beside the form's field, in the reader's language.
pub(crate) async fn sighting(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    who: Result<Who, ApiError>,
    Path(id): Path<String>,
    body: Result<axum::Form<SightingBody>, axum::extract::rejection::FormRejection>,
) -> Response {
    let frame = reader.frame(&state);
    let (csrf, new) = csrf_token(&headers);
    let body = body.map(|axum::Form(b)| b);
    let form = |body: &SightingBody, problems: Vec<pages::FieldProblem>| pages::SightingForm {
        csrf: csrf.clone(),
        seen_at: body.seen_at.clone(),
        description: body.description.clone(),
        anonymous: body.anonymous != "no",
        name: body.name.clone(),
        mobile: body.mobile.clone(),
        problems,
        sent: false,
    };
    let refused = match &body {
        Err(_) => Some((
            StatusCode::BAD_REQUEST,
            form(
                &SightingBody::default(),
                vec![pages::FieldProblem::unreadable(frame.t)],
            ),
        )),
        // The token must be the one this node gave the reader's browser: a form posted from elsewhere has none.
        Ok(b) if new || b.csrf != csrf => Some((
            StatusCode::FORBIDDEN,
            form(b, vec![pages::FieldProblem::expired(frame.t)]),
        )),
        Ok(_) => None,
    };
    let respond = |response: Response| {
        let mut response = response;
        if new {
            set_csrf_cookie(&mut response, &csrf);
        }
        response
    };
    if let Some((status, sighting)) = refused {
        return respond(alert_page(&state, &reader, &id, sighting, false, status).await);
    }
    let Ok(body) = body else {
        return reader.problem(&state, Problem::Internal);
    };
    let who = match counted_public(&reader, &state, who) {
        Ok(who) => who,
        Err(page) => return *page,
    };
    let Ok(record) = record_id(&id) else {
        return reader.problem(&state, Problem::NotFound);
    };
    let Some(seen_at_ms) = hifazat_web::parse_local_time(&body.seen_at) else {
        let sighting = form(&body, vec![pages::sighting_problem(frame.t, "seen_at")]);
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return respond(alert_page(&state, &reader, &id, sighting, false, status).await);
    };
    let draft = hifazat_domain::SightingDraft {
        seen_at_ms,
        place: None,
        description: body.description.clone(),
        reporter: (body.anonymous == "no").then(|| hifazat_domain::ContactDraft {
            name: body.name.clone(),
            mobile: Some(body.mobile.trim().to_owned()).filter(|m| !m.is_empty()),
            cnic: None,
        }),
        channel: hifazat_domain::Channel::CitizenPortal,
    };
    match state
        .engine
        .add_sighting(record, draft, who.caller.actor())
        .await
    {
        Ok(_) => Redirect::to(&format!("/alerts/{record}?sent=1#sighting")).into_response(),
        Err(hifazat_engine::EngineError::Invalid(invalid)) => {
            let mut problems: Vec<pages::FieldProblem> = Vec::new();
            for error in invalid.errors {
                let field = match error.field.as_str() {
                    "seen_at_ms" => "seen_at",
                    "description" => "description",
                    "reporter.name" => "name",
                    "reporter.mobile" => "mobile",
                    _ => "",
                };
                if !problems.iter().any(|p| p.field == field) {
                    problems.push(pages::sighting_problem(frame.t, field));
                }
            }
            let sighting = form(&body, problems);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            respond(alert_page(&state, &reader, &id, sighting, false, status).await)
        }
        Err(e) => reader.failed(&state, e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct TrackQuery {
    code: Option<String>,
}

/// `GET /track`: the form, and with `?code=` the case it tracks, as `GET /api/v1/track/{code}` shows it (the
/// same per-address limit).
pub(crate) async fn track(
    State(state): State<AppState>,
    reader: Reader,
    who: Result<Who, ApiError>,
    query: Result<Query<TrackQuery>, QueryRejection>,
) -> Response {
    let typed = query
        .ok()
        .and_then(|Query(q)| q.code)
        .map(|c| c.trim().to_owned())
        .unwrap_or_default();
    let frame = reader.frame(&state);
    let mut page = pages::TrackPage {
        frame,
        code: typed.chars().take(64).collect(),
        error: None,
        found: None,
    };
    if typed.is_empty() {
        return html(StatusCode::OK, pages::render(&page));
    }
    if let Err(page) = counted_public(&reader, &state, who) {
        return *page;
    }
    let status = match typed.to_uppercase().parse::<TrackingCode>() {
        Err(_) => {
            page.error = Some(Problem::BadCode.message(frame.t));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Ok(code) => match state.engine.case_by_tracking(code.as_str()).await {
            Err(e) => return reader.failed(&state, e.into()),
            Ok(None) => {
                page.error = Some(Problem::NoSuchCode.message(frame.t));
                StatusCode::NOT_FOUND
            }
            Ok(Some(case)) => {
                page.found = Some(pages::Tracked {
                    code: code.as_str().to_owned(),
                    category: name_of(&case.doc.intake.category),
                    district: district_name(&state, reader.lang, &case.doc.intake.district),
                    stage: name_of(&case.status.stage),
                    events: event_lines(case.doc.timeline.iter().map(PublicEvent::of).collect()),
                });
                StatusCode::OK
            }
        },
    };
    html(status, pages::render(&page))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SwitchQuery {
    back: Option<String>,
}

/// `GET /lang/{code}?back=/path`: keeps the reader's choice of language in a cookie and returns them to the page
/// they were on (a path on this node only).
pub(crate) async fn switch(
    State(state): State<AppState>,
    reader: Reader,
    Path(code): Path<String>,
    query: Result<Query<SwitchQuery>, QueryRejection>,
) -> Response {
    let Some(lang) = Lang::from_code(&code) else {
        return reader.problem(&state, Problem::NotFound);
    };
    let back = query
        .ok()
        .and_then(|Query(q)| q.back)
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let mut response = Redirect::to(&back).into_response();
    let value = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE_SECS}; SameSite=Lax; HttpOnly",
        lang.code()
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `GET /assets/{name}`: a stylesheet (or other asset) under its fingerprinted name, cached for ever.
pub(crate) async fn asset(
    State(state): State<AppState>,
    reader: Reader,
    Path(name): Path<String>,
) -> Response {
    let Some(asset) = hifazat_web::assets::by_path(&format!("/assets/{name}")) else {
        return reader.problem(&state, Problem::NotFound);
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Any other path outside `/api/`: a page that says there is no such page, in the reader's language.
pub(crate) async fn not_found(State(state): State<AppState>, reader: Reader) -> Response {
    reader.problem(&state, Problem::NotFound)
}

/// A form's anti-forgery token: the cookie's when it holds one (so several open forms all work), else a new
/// one of 128 random bits.
fn csrf_token(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, CSRF_COOKIE) {
        Some(token) if token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (token, false)
        }
        _ => {
            let mut bytes = [0u8; 16];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
            (hex::encode(bytes), true)
        }
    }
}

/// Sets the anti-forgery cookie (sent back only to this node, by pages of this node).
fn set_csrf_cookie(response: &mut Response, token: &str) {
    let value = format!("{CSRF_COOKIE}={token}; Path=/; SameSite=Strict; HttpOnly");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// What the complaint form sends (every field as text, so a bad one is shown again as it was typed).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ComplaintBody {
    csrf: String,
    category: String,
    district: String,
    description: String,
    victim_age: String,
    anonymous: String,
    name: String,
    mobile: String,
}

impl ComplaintBody {
    /// The form as it was sent, with what to correct.
    fn form<'a>(
        self,
        state: &AppState,
        frame: Frame<'a>,
        csrf: String,
        problems: Vec<pages::FieldProblem>,
    ) -> pages::ComplaintForm<'a> {
        pages::ComplaintForm {
            districts: complaint_districts(state, frame.t.lang(), &self.district),
            frame,
            csrf,
            category: self.category,
            description: self.description,
            victim_age: self.victim_age,
            anonymous: self.anonymous != "no",
            name: self.name,
            mobile: self.mobile,
            problems,
        }
    }
}

/// The districts this node files complaints for, `chosen` selected.
fn complaint_districts(state: &AppState, lang: Lang, chosen: &str) -> Vec<pages::Choice> {
    state
        .engine
        .topology()
        .districts
        .iter()
        .filter(|d| state.engine.files_cases_for(&d.code))
        .map(|d| pages::Choice {
            value: d.code.clone(),
            label: lang.pick(&d.name, &d.name_ur).to_owned(),
            selected: d.code == chosen,
        })
        .collect()
}

/// `GET /complaint`: the complaint form.
pub(crate) async fn complaint_form(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
) -> Response {
    let (csrf, new) = csrf_token(&headers);
    let frame = reader.frame(&state);
    let form = ComplaintBody {
        anonymous: "yes".into(),
        ..ComplaintBody::default()
    }
    .form(&state, frame, csrf.clone(), vec![]);
    let mut response = html(StatusCode::OK, pages::render(&form));
    if new {
        set_csrf_cookie(&mut response, &csrf);
    }
    response
}

/// How long the page that shows a new tracking code may be opened after filing, in seconds.
const FILED_COOKIE_MAX_AGE_SECS: u64 = 600;

/// `POST /complaint`: files the complaint as the public files through the API (channel `citizen_portal`, the same
/// per-address limit and rules), then sends the reader to the page that shows its tracking code once. A refused
/// field is shown again beside the form's field, in the reader's language.
pub(crate) async fn complaint_file(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    who: Result<Who, ApiError>,
    body: Result<axum::Form<ComplaintBody>, axum::extract::rejection::FormRejection>,
) -> Response {
    let frame = reader.frame(&state);
    let (csrf, new) = csrf_token(&headers);
    let refuse = |body: ComplaintBody, status: StatusCode, problems: Vec<pages::FieldProblem>| {
        let form = body.form(&state, frame, csrf.clone(), problems);
        let mut response = html(status, pages::render(&form));
        if new {
            set_csrf_cookie(&mut response, &csrf);
        }
        response
    };
    let Ok(axum::Form(body)) = body else {
        let unreadable = pages::FieldProblem::unreadable(frame.t);
        return refuse(
            ComplaintBody::default(),
            StatusCode::BAD_REQUEST,
            vec![unreadable],
        );
    };
    // The token must be the one this node gave the reader's browser: a form posted from elsewhere has none.
    if new || body.csrf != csrf {
        return refuse(
            body,
            StatusCode::FORBIDDEN,
            vec![pages::FieldProblem::expired(frame.t)],
        );
    }
    let who = match counted_public(&reader, &state, who) {
        Ok(who) => who,
        Err(page) => return *page,
    };
    let mut problems = Vec::new();
    let category = serde_json::from_value::<hifazat_domain::CaseCategory>(
        serde_json::Value::String(body.category.clone()),
    );
    if category.is_err() {
        problems.push(pages::complaint_problem(frame.t, "category"));
    }
    if !state.engine.files_cases_for(&body.district) {
        problems.push(pages::complaint_problem(frame.t, "district"));
    }
    let victim_age = match body.victim_age.trim() {
        "" => Ok(None),
        age => age.parse::<u8>().map(Some),
    };
    if victim_age.is_err() {
        problems.push(pages::complaint_problem(frame.t, "victim_age"));
    }
    let complainant = (body.anonymous == "no").then(|| hifazat_domain::ContactDraft {
        name: body.name.clone(),
        mobile: Some(body.mobile.trim().to_owned()).filter(|m| !m.is_empty()),
        cnic: None,
    });
    let (Ok(category), Ok(victim_age)) = (category, victim_age) else {
        return refuse(body, StatusCode::UNPROCESSABLE_ENTITY, problems);
    };
    if !problems.is_empty() {
        return refuse(body, StatusCode::UNPROCESSABLE_ENTITY, problems);
    }
    let draft = hifazat_domain::CaseDraft {
        category,
        district: body.district.clone(),
        place: None,
        description: body.description.clone(),
        channel: hifazat_domain::Channel::CitizenPortal,
        victim_age_years: victim_age,
        complainant,
    };
    match state.engine.file_case(draft, who.caller.actor()).await {
        Ok((_, code)) => {
            let mut response = Redirect::to("/complaint/filed").into_response();
            let value = format!(
                "{FILED_COOKIE}={code}; Path=/complaint/filed; Max-Age={FILED_COOKIE_MAX_AGE_SECS}; SameSite=Strict; HttpOnly"
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(hifazat_engine::EngineError::Invalid(invalid)) => {
            let mut problems: Vec<pages::FieldProblem> = Vec::new();
            for error in invalid.errors {
                let field = match error.field.as_str() {
                    "category" => "category",
                    "district" | "place.district" => "district",
                    "description" => "description",
                    "victim_age_years" => "victim_age",
                    "complainant.name" => "name",
                    "complainant.mobile" => "mobile",
                    _ => "",
                };
                if !problems.iter().any(|p| p.field == field) {
                    problems.push(pages::complaint_problem(frame.t, field));
                }
            }
            refuse(body, StatusCode::UNPROCESSABLE_ENTITY, problems)
        }
        Err(e) => reader.failed(&state, e.into()),
    }
}

/// `GET /complaint/filed`: the new complaint's tracking code, shown once (its cookie is cleared as it is shown).
pub(crate) async fn complaint_filed(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
) -> Response {
    let code = cookie(&headers, FILED_COOKIE).and_then(|c| c.parse::<TrackingCode>().ok());
    let Some(code) = code else {
        // Nothing to show (already shown, or never filed): the tracking page is where a code is used.
        return Redirect::to("/track").into_response();
    };
    let page = pages::FiledPage {
        frame: reader.frame(&state),
        code: code.as_str().to_owned(),
    };
    let mut response = html(StatusCode::OK, pages::render(&page));
    let clear =
        format!("{FILED_COOKIE}=; Path=/complaint/filed; Max-Age=0; SameSite=Strict; HttpOnly");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

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
    let province_name = |code: &str| {
        topology
            .provinces
            .iter()
            .find(|p| p.code == code)
            .map_or_else(
                || code.to_owned(),
                |p| reader.lang.pick(&p.name, &p.name_ur).to_owned(),
            )
    };
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
    let measure = pages::Measure::from_query(&q.map);
    let (area_counts, point_counts) = match measure {
        pages::Measure::Cases => (&stats.cases.by_province, &stats.cases.by_district),
        pages::Measure::Alerts => (&stats.alerts.by_province, &stats.alerts.by_district),
    };
    let names: Vec<(String, Option<u64>)> = area_counts
        .iter()
        .map(|(code, n)| (province_name(code), *n))
        .collect();
    let areas: Vec<pages::Counted<'_>> = area_counts
        .iter()
        .zip(&names)
        .map(|((code, _), (name, n))| pages::Counted {
            code,
            name,
            at: None,
            figure: *n,
        })
        .collect();
    let district_names: Vec<String> = point_counts
        .keys()
        .map(|code| district_name(&state, reader.lang, code))
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
    page.map = Some(pages::MapView::build(
        frame.t, measure, &areas, &points, other,
    ));
    page.figures = Some(pages::Figures {
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
                label: frame.t.named("case.category", category).to_owned(),
                figure: *figure,
            })
            .collect(),
        provinces: places(
            &stats.alerts.by_province,
            &stats.cases.by_province,
            &province_name,
        ),
        districts: places(
            &stats.alerts.by_district,
            &stats.cases.by_district,
            &|code| district_name(&state, reader.lang, code),
        ),
        complete: stats.complete,
    });
    html(StatusCode::OK, pages::render(&page))
}
