//! Intake on a citizen's behalf: `GET`/`POST /office/raise` (an alert reported at the station, on helpline 15 or
//! 1099, or at a government office) and `GET`/`POST /office/cases/new` (a complaint, anonymous allowed). The same
//! forms as the public's with what only officials fill (the channel, the office, police notes), written through
//! `POST /api/v1/alerts` and `POST /api/v1/cases` with the official as their caller.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hifazat_web::Text;
use hifazat_web::pages;

use super::super::complaint::{ComplaintBody, case_problems};
use super::super::raise::{RaiseBody, field_of};
use super::super::{Reader, html, read_sent};
use super::records::{case_channel, intake_channel};
use super::{Ctx, Official, desk, not_for_role};
use crate::AppState;
use crate::error::ApiError;

/// `GET /office/raise`: the form to raise an alert on a citizen's behalf (police only).
pub(crate) async fn raise_form(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/raise").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    if official.who.caller.may_raise_alert().is_err() {
        let t = Text::of(reader.lang);
        return cx.problem(not_for_role(t, official.role));
    }
    let mut body = RaiseBody::default();
    body.channel = "police_station".into();
    let form = body.form(&state, cx.frame(), official.csrf().to_owned(), vec![]);
    html(StatusCode::OK, pages::render(&form))
}

/// `POST /office/raise`: raises the alert as `POST /api/v1/alerts` does for this official, then opens it (303).
pub(crate) async fn raise_alert(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    body: axum::extract::Request,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/raise").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    let refuse = |body: RaiseBody, problems: Vec<pages::FieldProblem>| {
        let frame = cx.frame();
        let form = body.form(&state, frame, official.csrf().to_owned(), problems);
        html(StatusCode::UNPROCESSABLE_ENTITY, pages::render(&form))
    };
    let sent = read_sent::<RaiseBody>(body).await;
    if sent.too_large {
        let problem = pages::FieldProblem {
            field: "photo",
            message: t.get("photo.problem.too_large").to_owned(),
        };
        return refuse(RaiseBody::default(), vec![problem]);
    }
    let mut body = match cx.posted_form(sent.form) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    if official.who.caller.may_raise_alert().is_err() {
        return cx.problem(not_for_role(t, official.role));
    }
    if let Err(problem) = body.take_photo(&state, t, sent.files).await {
        return refuse(body, vec![problem]);
    }
    let channel = intake_channel(&body.channel);
    let mut draft = match (body.draft(&state, t), channel) {
        (Ok(draft), Some(channel)) => hifazat_domain::AlertDraft { channel, ..draft },
        (drafted, _) => {
            let mut problems = drafted.err().unwrap_or_default();
            if channel.is_none() {
                problems.insert(0, pages::raise_problem(t, "channel"));
            }
            return refuse(body, problems);
        }
    };
    draft.office = Some(body.office.trim().to_owned()).filter(|o| !o.is_empty());
    draft.police_notes = Some(body.police_notes.trim().to_owned()).filter(|n| !n.is_empty());
    let raised =
        crate::alerts::raise(State(state.clone()), official.who.clone(), Ok(Json(draft))).await;
    match raised {
        Ok((_, Json(created))) => {
            Redirect::to(&format!("/office/alerts/{}", created.id)).into_response()
        }
        Err(ApiError::Invalid(errors)) => {
            let mut problems: Vec<pages::FieldProblem> = Vec::new();
            for error in errors {
                let field = field_of(&error.field);
                if !problems.iter().any(|p| p.field == field) {
                    problems.push(pages::raise_problem(t, field));
                }
            }
            refuse(body, problems)
        }
        Err(e) => cx.failed(e),
    }
}

/// Whether `official` files cases for `district` (the API's rule).
fn may_file(state: &AppState, official: &Official, district: &str) -> bool {
    official
        .who
        .caller
        .may_file_case(state.engine.topology(), district)
        .is_ok()
}

/// `GET /office/cases/new`: the form to file a complaint taken at the station or by phone (police only, for the
/// districts of their area this node files for).
pub(crate) async fn file_form(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/cases/new").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    if !official.role.is_police() {
        let t = Text::of(reader.lang);
        return cx.problem(not_for_role(t, official.role));
    }
    let mut body = ComplaintBody::default();
    body.anonymous = "yes".into();
    body.channel = "police_station".into();
    body.district = official.district().unwrap_or_default().to_owned();
    let form = body.form(
        &state,
        cx.frame(),
        official.csrf().to_owned(),
        vec![],
        |d| may_file(&state, &official, d),
    );
    html(StatusCode::OK, pages::render(&form))
}

/// `POST /office/cases/new`: files the complaint as `POST /api/v1/cases` does for this official, then opens the
/// case, whose page shows the tracking code to give the complainant (303).
pub(crate) async fn file_case(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    body: Result<axum::Form<ComplaintBody>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/cases/new").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    let body = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    if !official.role.is_police() {
        return cx.problem(not_for_role(t, official.role));
    }
    let refuse = |body: ComplaintBody, problems: Vec<pages::FieldProblem>| {
        let frame = cx.frame();
        let form = body.form(&state, frame, official.csrf().to_owned(), problems, |d| {
            may_file(&state, &official, d)
        });
        html(StatusCode::UNPROCESSABLE_ENTITY, pages::render(&form))
    };
    let channel = case_channel(&body.channel);
    let district_ok = may_file(&state, &official, &body.district);
    let draft = match (
        body.draft(&state, t, hifazat_domain::Channel::PoliceStation),
        channel,
    ) {
        (Ok(draft), Some(channel)) if district_ok => hifazat_domain::CaseDraft { channel, ..draft },
        (drafted, _) => {
            let mut problems = drafted.err().unwrap_or_default();
            if channel.is_none() {
                problems.insert(0, pages::complaint_problem(t, "channel"));
            }
            if !district_ok && !problems.iter().any(|p| p.field == "district") {
                problems.push(pages::complaint_problem(t, "district"));
            }
            return refuse(body, problems);
        }
    };
    let filed =
        crate::cases::file(State(state.clone()), official.who.clone(), Ok(Json(draft))).await;
    match filed {
        Ok((_, Json(filed))) => {
            Redirect::to(&format!("/office/cases/{}", filed.id)).into_response()
        }
        Err(ApiError::Invalid(errors)) => refuse(body, case_problems(t, &errors)),
        Err(e) => cx.failed(e),
    }
}
