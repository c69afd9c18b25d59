//! The public pages (`hifazat-web` renders them), served beside `/api/v1`: the alerts (`alert`), raising one
//! (`raise`), complaints and tracking (`complaint`), statistics (`stats`), the node's status (`status`), and here
//! what they share (the reader, the public's allowance, cookies, the anti-forgery token, the HTML answer), the
//! language switch and the assets. Each reads through the same engine calls, public views and per-address limits
//! as the JSON answers it mirrors, so a page shows the public nothing the API would not.

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

mod alert;
mod complaint;
mod office;
mod raise;
mod stats;
mod status;
pub(crate) use alert::{alert, home, poster, sighting};
pub(crate) use complaint::{complaint_file, complaint_filed, complaint_form, track, track_message};
pub(crate) use office::{
    alert as office_alert, alert_list as office_alerts, alert_sighting as office_sighting,
    alert_step, audit_history, audit_log, case as office_case, case_message, case_new_code,
    case_step, cases as office_cases, events as office_events, file_case as office_file,
    file_form as office_file_form, found_decide, found_list, found_new_form, found_page,
    found_photo, found_report, found_step, glass_alert, glass_case, glass_list,
    node as office_node, office, raise_alert as office_raise, raise_form as office_raise_form,
    register_create, register_entries, register_journal, register_new_form, register_offender,
    register_search, register_update, sign_in, sign_in_form, sign_out, verify,
};
pub(crate) use raise::{raise_alert, raise_form};
pub(crate) use stats::statistics;
pub(crate) use status::status;

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
            desk: None,
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
        self.problem(state, problem_of(error))
    }
}

/// What a page says of an API error.
fn problem_of(error: ApiError) -> Problem {
    match error {
        ApiError::NotFound(_) | ApiError::Invalid(_) => Problem::NotFound,
        ApiError::Forbidden(_) | ApiError::Unauthenticated(_) => Problem::Forbidden,
        ApiError::RateLimited(seconds) | ApiError::Throttled { seconds, .. } => {
            Problem::RateLimited { seconds }
        }
        ApiError::Unavailable | ApiError::Busy(_) | ApiError::NotRunning(_) => Problem::Unavailable,
        _ => Problem::Internal,
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

/// A form's fields as posted, with the anti-forgery token they carry.
pub(crate) trait Posted: Default {
    fn csrf(&self) -> &str;
}

/// What went wrong with a posted form before its fields were looked at: the fields to show again (empty when the
/// form could not be read), the status to answer with, and why.
type Unchecked<B> = (B, StatusCode, Vec<pages::FieldProblem>);

/// A posted form's fields, when the node could read them and they carry the anti-forgery token this node gave
/// the reader's browser (`csrf`; `new` when the browser sent none); else what to show again.
fn checked<B: Posted>(
    body: Result<axum::Form<B>, axum::extract::rejection::FormRejection>,
    csrf: &str,
    new: bool,
    t: &Text,
) -> Result<B, Unchecked<B>> {
    checked_form(body.ok().map(|axum::Form(b)| b), csrf, new, t)
}

/// As [`checked`], for a form already read (or not: `None`).
fn checked_form<B: Posted>(
    form: Option<B>,
    csrf: &str,
    new: bool,
    t: &Text,
) -> Result<B, Unchecked<B>> {
    match form {
        None => Err((
            B::default(),
            StatusCode::BAD_REQUEST,
            vec![pages::FieldProblem::unreadable(t)],
        )),
        // A form posted from elsewhere has no token of ours.
        Some(b) if new || b.csrf() != csrf => Err((
            b,
            StatusCode::FORBIDDEN,
            vec![pages::FieldProblem::expired(t)],
        )),
        Some(b) => Ok(b),
    }
}

/// A form posted as `multipart/form-data` (the forms that take photos): its text fields read as `B`, as a
/// urlencoded form's would be, and each file sent (an empty file input sends none), with its field's name.
pub(crate) struct Sent<B> {
    pub(crate) form: Option<B>,
    pub(crate) files: Vec<(String, Vec<u8>)>,
    /// The body was more than the route takes.
    pub(crate) too_large: bool,
}

/// Reads a posted form (see [`Sent`]): `multipart/form-data` with its files, or a urlencoded form without; a
/// body that cannot be read gives no form.
pub(crate) async fn read_sent<B: serde::de::DeserializeOwned>(
    request: axum::extract::Request,
) -> Sent<B> {
    use axum::extract::FromRequest as _;
    let mut sent = Sent {
        form: None,
        files: Vec::new(),
        too_large: false,
    };
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        match axum::Form::<B>::from_request(request, &()).await {
            Ok(axum::Form(form)) => sent.form = Some(form),
            Err(e) => sent.too_large = e.status() == StatusCode::PAYLOAD_TOO_LARGE,
        }
        return sent;
    }
    let Ok(mut multipart) = axum::extract::Multipart::from_request(request, &()).await else {
        return sent;
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                let file = field.file_name().is_some();
                match field.bytes().await {
                    Ok(bytes) if file => {
                        if !bytes.is_empty() {
                            sent.files.push((name, bytes.to_vec()));
                        }
                    }
                    Ok(bytes) => match String::from_utf8(bytes.to_vec()) {
                        Ok(value) => fields.push((name, value)),
                        Err(_) => return sent,
                    },
                    Err(e) => {
                        sent.too_large = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
                        sent.files.clear();
                        return sent;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                sent.too_large = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
                sent.files.clear();
                return sent;
            }
        }
    }
    sent.form = serde_urlencoded::to_string(&fields)
        .ok()
        .and_then(|q| serde_urlencoded::from_str(&q).ok());
    sent
}

/// What to tell the reader about a photo that was not kept, in their language, beside `field`.
pub(crate) fn photo_problem(
    t: &Text,
    field: &'static str,
    refused: &crate::found::Refused,
) -> pages::FieldProblem {
    use crate::found::Refused;
    use hifazat_photos::PhotoError;
    let key = match refused {
        Refused::Photo(PhotoError::TooLarge { .. } | PhotoError::TooDetailed { .. }) => {
            "photo.problem.too_large"
        }
        Refused::Photo(PhotoError::WrongType(_) | PhotoError::NotAnImage | PhotoError::Empty) => {
            "photo.problem.type"
        }
        Refused::Photo(_) | Refused::Other(_) => "photo.problem.unreadable",
        Refused::NoFace => "photo.problem.no_face",
        Refused::Busy(_) => "photo.problem.busy",
    };
    pages::FieldProblem {
        field,
        message: t.get(key).to_owned(),
    }
}

/// `response`, setting the anti-forgery cookie when the browser had none (`new`).
fn with_csrf(mut response: Response, csrf: &str, new: bool) -> Response {
    if new {
        set_csrf_cookie(&mut response, csrf);
    }
    response
}

/// Sets the anti-forgery cookie (sent back only to this node, by pages of this node).
fn set_csrf_cookie(response: &mut Response, token: &str) {
    let value = format!("{CSRF_COOKIE}={token}; Path=/; SameSite=Strict; HttpOnly");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
