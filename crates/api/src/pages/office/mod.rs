//! The officials' pages. `GET /office/sign-in` and `POST /office/sign-in` (the token, once; the node then keeps a
//! session), `GET /office` (the role's own first page), `POST /office/sign-out`, and `GET /office/events` (the
//! live stream of what the official may hear of). The session is the node's own (`hifazat_access::sessions`); its
//! id travels in a cookie that scripts cannot read and other sites cannot send (HttpOnly, SameSite=Strict), and
//! every form after signing in carries the session's own anti-forgery token.
//!
//! Each page acts as its official through the API's own handlers and rules (`Official::who` is the caller the
//! API would see with their token): the station's work (`station`), alerts and cases with the steps the official
//! may record (`records`), intake on a citizen's behalf (`intake`), and the node's links (`node`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hifazat_access::{Area, Caller, Current, Role, SESSION_COOKIE};
use hifazat_web::pages::{self, Desk, DeskLink, Frame, Problem};
use hifazat_web::{Lang, Text};
use serde::Deserialize;

use super::{Posted, Reader, checked, cookie, csrf_token, html, with_csrf};
use crate::AppState;
use crate::caller::Who;
use crate::error::ApiError;

mod audit;
mod dashboards;
mod found;
mod glass;
mod intake;
mod node;
mod records;
mod register;
mod station;
pub(crate) use audit::{history as audit_history, log as audit_log};
pub(crate) use dashboards::alerts as alert_list;
pub(crate) use found::{
    decide as found_decide, list as found_list, new_form as found_new_form, page as found_page,
    photo as found_photo, report as found_report, step as found_step,
};
pub(crate) use glass::{alert as glass_alert, case as glass_case, list as glass_list};
pub(crate) use intake::{file_case, file_form, raise_alert, raise_form};
pub(crate) use node::node;
pub(crate) use records::{
    alert, alert_sighting, alert_step, case, case_channels, case_message, case_new_code, case_step,
    cases, intake_channels,
};
pub(crate) use register::{
    create as register_create, entries as register_entries, journal as register_journal,
    new_form as register_new_form, offender as register_offender, search as register_search,
    update as register_update, verify,
};

/// How long the browser keeps the session's cookie, in seconds: the session's own lifetime.
const SESSION_COOKIE_MAX_AGE_SECS: u64 = hifazat_limits::SESSION_LIFETIME_MS / 1_000;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

impl Posted for SignInForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// The session the browser's cookie names, if it is live and its user still exists: its id and official.
fn session(state: &AppState, headers: &HeaderMap) -> Option<(String, Current)> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let current = state
        .sessions
        .current(&state.users, &id, state.engine.now_ms())?;
    Some((id, current))
}

fn set_session_cookie(response: &mut Response, value: &str, max_age: u64) {
    let value =
        format!("{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; SameSite=Strict; HttpOnly");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn sign_in_page(
    state: &AppState,
    reader: &Reader,
    status: StatusCode,
    csrf: &str,
    new: bool,
    error: Option<String>,
) -> Response {
    let page = pages::SignInPage {
        frame: reader.frame(state),
        csrf: csrf.to_owned(),
        error,
    };
    with_csrf(html(status, pages::render(&page)), csrf, new)
}

/// `GET /office/sign-in`: the form; an official already signed in goes on to their office.
pub(crate) async fn sign_in_form(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
) -> Response {
    if session(&state, &headers).is_some() {
        return Redirect::to("/office").into_response();
    }
    let (csrf, new) = csrf_token(&headers);
    sign_in_page(&state, &reader, StatusCode::OK, &csrf, new, None)
}

/// `POST /office/sign-in`: a token a user of this node holds begins a session (303 to the office); any other is
/// refused (401), and the form comes back saying why, in the reader's language.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    body: Result<axum::Form<SignInForm>, FormRejection>,
) -> Response {
    let t = Text::of(reader.lang);
    let (csrf, new) = csrf_token(&headers);
    let form = match checked(body, &csrf, new, t) {
        Ok(form) => form,
        Err((_, status, problems)) => {
            let error = problems.into_iter().next().map(|p| p.message);
            return sign_in_page(&state, &reader, status, &csrf, new, error);
        }
    };
    match state
        .sessions
        .sign_in(&state.users, &form.token, state.engine.now_ms())
    {
        Ok(signed) => {
            if let Caller::User { name, role, .. } = &signed.caller {
                tracing::info!(user = %name, role = %role, "signed in to the pages");
            }
            let mut response = Redirect::to("/office").into_response();
            set_session_cookie(&mut response, &signed.id, SESSION_COOKIE_MAX_AGE_SECS);
            response
        }
        Err(_) => {
            let error = Some(t.get("sign_in.unknown").to_owned());
            sign_in_page(&state, &reader, StatusCode::UNAUTHORIZED, &csrf, new, error)
        }
    }
}

/// The area a role covers, in the reader's language.
pub(crate) fn area_name(state: &AppState, lang: Lang, area: &Area) -> String {
    let topology = state.engine.topology();
    match area {
        Area::District(code) => topology.district(code).map_or_else(
            || code.clone(),
            |d| lang.pick(&d.name, &d.name_ur).to_owned(),
        ),
        Area::Region(code) => topology.region(code).map_or_else(
            || code.clone(),
            |r| lang.pick(&r.name, &r.name_ur).to_owned(),
        ),
        Area::Province(code) => topology.province(code).map_or_else(
            || code.clone(),
            |p| lang.pick(&p.name, &p.name_ur).to_owned(),
        ),
        Area::National => Text::of(lang).get("area.national").to_owned(),
    }
}

/// An official signed in to the pages: the caller the API would see with their token (and the client's address),
/// and their session's anti-forgery token. A request without a live session is sent to the sign-in form.
#[derive(Debug, Clone)]
pub(crate) struct Official {
    pub(crate) who: Who,
    pub(crate) role: Role,
    pub(crate) area: Area,
    name: String,
    current: Current,
}

impl FromRequestParts<AppState> for Official {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Official, Response> {
        let signed_out = || Redirect::to("/office/sign-in").into_response();
        let (_, current) = session(state, &parts.headers).ok_or_else(signed_out)?;
        let Caller::User { name, role, area } = current.caller.clone() else {
            return Err(signed_out());
        };
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(Official {
            who: Who {
                caller: current.caller.clone(),
                client,
            },
            role,
            area,
            name,
            current,
        })
    }
}

impl Official {
    /// Whether a posted form carries this session's anti-forgery token.
    pub(crate) fn csrf_matches(&self, given: &str) -> bool {
        self.current.csrf_matches(given)
    }

    pub(crate) fn csrf(&self) -> &str {
        &self.current.csrf
    }

    /// A form posted from one of this official's pages: read, and carrying the session's anti-forgery token; else
    /// the page that says why (a form that cannot be read answers as a bad address does, 404; one without the
    /// session's token, forged from elsewhere, 403).
    pub(crate) fn posted<B: Posted>(
        &self,
        state: &AppState,
        reader: &Reader,
        desk: &Desk,
        body: Result<axum::Form<B>, FormRejection>,
    ) -> Result<B, Box<Response>> {
        self.posted_form(state, reader, desk, body.ok().map(|axum::Form(b)| b))
    }

    /// As [`Official::posted`], for a form already read (or not: `None`).
    pub(crate) fn posted_form<B: Posted>(
        &self,
        state: &AppState,
        reader: &Reader,
        desk: &Desk,
        body: Option<B>,
    ) -> Result<B, Box<Response>> {
        let Some(form) = body else {
            return Err(Box::new(reader.desk_problem(
                state,
                desk,
                Problem::NotFound,
            )));
        };
        if !self.csrf_matches(form.csrf()) {
            return Err(Box::new(reader.desk_problem(
                state,
                desk,
                Problem::Forbidden,
            )));
        }
        Ok(form)
    }

    /// The district a station's roles (station officer, DPO) work in.
    pub(crate) fn district(&self) -> Option<&str> {
        match (&self.area, self.role) {
            (Area::District(d), Role::StationOfficer | Role::Dpo) => Some(d),
            _ => None,
        }
    }
}

/// An official's request as their pages answer it: the node, the reader, who is signed in, and their desk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) reader: &'a Reader,
    pub(crate) official: &'a Official,
    pub(crate) desk: &'a Desk,
}

impl<'a> Ctx<'a> {
    pub(crate) fn of(
        state: &'a AppState,
        reader: &'a Reader,
        official: &'a Official,
        desk: &'a Desk,
    ) -> Ctx<'a> {
        Ctx {
            state,
            reader,
            official,
            desk,
        }
    }

    /// The frame of the page: the public frame with the desk.
    pub(crate) fn frame(&self) -> Frame<'a> {
        self.reader.desk_frame(self.state, self.desk)
    }

    /// The page that says what went wrong.
    pub(crate) fn problem(&self, problem: Problem) -> Response {
        self.reader.desk_problem(self.state, self.desk, problem)
    }

    /// The page for an API error, in the reader's language.
    pub(crate) fn failed(&self, error: ApiError) -> Response {
        self.reader.desk_failed(self.state, self.desk, error)
    }

    /// A form already read, checked (`Official::posted_form`).
    pub(crate) fn posted_form<B: Posted>(&self, body: Option<B>) -> Result<B, Box<Response>> {
        self.official
            .posted_form(self.state, self.reader, self.desk, body)
    }

    /// A posted form, read and checked (`Official::posted`).
    pub(crate) fn posted<B: Posted>(
        &self,
        body: Result<axum::Form<B>, FormRejection>,
    ) -> Result<B, Box<Response>> {
        self.official
            .posted(self.state, self.reader, self.desk, body)
    }
}

/// The pages each role opens, in its menu's order (the first is `/office`).
fn links_of(role: Role) -> &'static [(&'static str, &'static str)] {
    const STATION: &[(&str, &str)] = &[
        ("/office", "desk.link.queue"),
        ("/office/alerts", "desk.link.alerts"),
        ("/office/cases", "desk.link.cases"),
        ("/office/found", "desk.link.found"),
        ("/office/raise", "desk.link.raise"),
        ("/office/cases/new", "desk.link.file"),
        ("/office/break-glass", "desk.link.glass"),
        ("/office/node", "desk.link.node"),
    ];
    const POLICE_ABOVE: &[(&str, &str)] = &[
        ("/office", "desk.link.area"),
        ("/office/alerts", "desk.link.alerts"),
        ("/office/cases", "desk.link.cases"),
        ("/office/found", "desk.link.found"),
        ("/office/raise", "desk.link.raise"),
        ("/office/cases/new", "desk.link.file"),
        ("/office/break-glass", "desk.link.glass"),
        ("/office/node", "desk.link.node"),
    ];
    const MINISTRY: &[(&str, &str)] = &[
        ("/office", "desk.link.national"),
        ("/office/alerts", "desk.link.alerts"),
        ("/office/cases", "desk.link.cases"),
        ("/office/found", "desk.link.found"),
        ("/office/break-glass", "desk.link.glass"),
        ("/office/node", "desk.link.node"),
    ];
    const REGISTER: &[(&str, &str)] = &[
        ("/office", "desk.link.register"),
        ("/office/register/new", "desk.link.register_new"),
        ("/office/register/consultations", "desk.link.consultations"),
        ("/office/register/alarms", "desk.link.alarms"),
        ("/office/register/notices", "desk.link.notices"),
        ("/office/node", "desk.link.node"),
    ];
    const AUDITOR: &[(&str, &str)] = &[
        ("/office", "desk.link.audit"),
        ("/office/break-glass", "desk.link.glass"),
        ("/office/node", "desk.link.node"),
    ];
    const VERIFIER: &[(&str, &str)] = &[("/office", "desk.link.verify")];
    match role {
        Role::StationOfficer | Role::Dpo => STATION,
        Role::Rpo | Role::Ig => POLICE_ABOVE,
        Role::Ministry => MINISTRY,
        Role::RegisterOfficer => REGISTER,
        Role::Auditor => AUDITOR,
        Role::Verifier => VERIFIER,
    }
}

/// What an official's page carries: who, their pages (with `current` marked), and, while this node is cut off
/// from its parent, since when and how many changes wait to reach it.
pub(crate) async fn desk(
    state: &AppState,
    reader: &Reader,
    official: &Official,
    current: &str,
) -> Desk {
    let links = links_of(official.role)
        .iter()
        .map(|(href, key)| DeskLink {
            href,
            key,
            current: *href == current,
        })
        .collect();
    Desk {
        name: official.name.clone(),
        role: official.role.as_str().to_owned(),
        area: area_name(state, reader.lang, &official.area),
        csrf: official.csrf().to_owned(),
        links,
        offline: offline(state).await,
    }
}

/// The node's parent as its network sees it now: `Some` while the link to it is down.
async fn offline(state: &AppState) -> Option<pages::Offline> {
    let topology = state.engine.topology();
    let me = topology.node(state.engine.node_name())?;
    let parent = hifazat_topology::parent_of(topology, me)?;
    let report = state.net.as_ref()?.peers().await.ok()?;
    let view = report.peers.iter().find(|p| p.name == parent.name);
    if view.is_some_and(|p| p.connected) {
        return None;
    }
    let since_ms = view.and_then(|p| p.last_vector_ms).map(|heard| {
        let ago = report.now_ms.saturating_sub(heard);
        state.engine.now_ms().saturating_sub(ago)
    });
    Some(pages::Offline {
        parent: parent.name.clone(),
        since_ms,
        waiting: view.map_or(0, |p| p.entries_ahead),
    })
}

impl Reader {
    /// The frame of an official's page: the public frame with the desk.
    pub(crate) fn desk_frame<'a>(&'a self, state: &'a AppState, desk: &'a Desk) -> Frame<'a> {
        Frame {
            desk: Some(desk),
            ..self.frame(state)
        }
    }

    /// An official's page that says what went wrong, with the desk.
    pub(crate) fn desk_problem(&self, state: &AppState, desk: &Desk, problem: Problem) -> Response {
        let frame = self.desk_frame(state, desk);
        let page = pages::ErrorPage {
            frame,
            status: problem.status(),
            message: problem.message(frame.t),
        };
        let status = StatusCode::from_u16(problem.status()).unwrap_or(StatusCode::FORBIDDEN);
        html(status, pages::render(&page))
    }

    /// The page for an API error on an official's page, in the reader's language.
    pub(crate) fn desk_failed(&self, state: &AppState, desk: &Desk, error: ApiError) -> Response {
        self.desk_problem(state, desk, super::problem_of(error))
    }
}

/// Why a page is not for this official's role, in the reader's language (403).
pub(crate) fn not_for_role(t: &Text, role: Role) -> Problem {
    Problem::Refused(format!(
        "{} {}{}",
        t.get("problem.role_pages"),
        t.named("role", role.as_str()),
        t.get("sentence.end")
    ))
}

/// Why a record of `district` is outside this official's area, in the reader's language: `lead` says what.
pub(crate) fn outside_area(
    state: &AppState,
    lang: Lang,
    official: &Official,
    lead: &str,
    district: &str,
) -> String {
    let t = Text::of(lang);
    format!(
        "{} {}{} {} {}{}",
        t.get(lead),
        super::district_name(state, lang, district),
        t.get("list.comma"),
        t.get("problem.your_area"),
        area_name(state, lang, &official.area),
        t.get("sentence.end")
    )
}

/// `GET /office`: the role's first page: the station's work queue for station officers and DPOs, the area's
/// dashboard for RPOs and IGs, the national dashboard for the ministry, the register for register officers, the
/// logs for auditors, the verification form for verifying institutions. Without a session, the sign-in form (303).
pub(crate) async fn office(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    query: Result<Query<dashboards::MapQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let query = query.map(|Query(q)| q).unwrap_or_default();
    match official.role {
        Role::StationOfficer | Role::Dpo => station::queue(cx).await,
        Role::Rpo | Role::Ig => dashboards::area(cx, query).await,
        Role::Ministry => dashboards::national(cx, query).await,
        Role::RegisterOfficer => register::home(cx, None, None, StatusCode::OK).await,
        Role::Auditor => audit::home(cx, String::new(), None, StatusCode::OK).await,
        Role::Verifier => register::verify_page(cx, None, None, StatusCode::OK),
    }
}

/// `GET /office/events`: the live stream `GET /api/v1/events` gives this official, for the pages' live updates.
pub(crate) async fn events(
    State(state): State<AppState>,
    official: Official,
    query: Result<Query<crate::live::EventFilter>, QueryRejection>,
) -> Response {
    match crate::live::events(State(state), official.who, query).await {
        Ok(stream) => stream.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /office/sign-out`: ends the session (its form must carry the session's anti-forgery token, else 403)
/// and clears the cookie; then the sign-in form (303).
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    body: Result<axum::Form<SignOutForm>, FormRejection>,
) -> Response {
    let Some((id, current)) = session(&state, &headers) else {
        return Redirect::to("/office/sign-in").into_response();
    };
    match body {
        Ok(axum::Form(form)) if current.csrf_matches(&form.csrf) => {
            state.sessions.sign_out(&id);
            let mut response = Redirect::to("/office/sign-in").into_response();
            set_session_cookie(&mut response, "", 0);
            response
        }
        _ => reader.problem(&state, Problem::Forbidden),
    }
}
