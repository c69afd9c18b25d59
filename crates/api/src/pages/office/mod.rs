//! The officials' pages: `GET /office/sign-in` and `POST /office/sign-in` (the token, once; the node then keeps a
//! session), `GET /office` (who is signed in, in which role and area) and `POST /office/sign-out`. The session is
//! the node's own (`hifazat_access::sessions`); its id travels in a cookie that scripts cannot read and other
//! sites cannot send (HttpOnly, SameSite=Strict), and every form after signing in carries the session's own
//! anti-forgery token.

use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hifazat_access::{Area, Caller, Current, SESSION_COOKIE};
use hifazat_web::pages::{self, Problem};
use hifazat_web::{Lang, Text};
use serde::Deserialize;

use super::{Posted, Reader, checked, cookie, csrf_token, html, name_of, with_csrf};
use crate::AppState;

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
fn area_name(state: &AppState, lang: Lang, area: &Area) -> String {
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

/// `GET /office`: who is signed in; without a session, the sign-in form (303).
pub(crate) async fn office(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
) -> Response {
    let Some((_, current)) = session(&state, &headers) else {
        return Redirect::to("/office/sign-in").into_response();
    };
    let Caller::User { name, role, area } = &current.caller else {
        return Redirect::to("/office/sign-in").into_response();
    };
    let page = pages::OfficePage {
        frame: reader.frame(&state),
        name: name.clone(),
        role: name_of(role),
        area: area_name(&state, reader.lang, area),
        csrf: current.csrf.clone(),
    };
    html(StatusCode::OK, pages::render(&page))
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
