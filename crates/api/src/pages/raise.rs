//! The form to raise a missing-child alert (`GET /raise`, `POST /raise`): the public raises through the citizen
//! portal exactly as `POST /api/v1/alerts` lets the public raise (the same rules, per-address limit and
//! validation), then reads the new alert's own page.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hifazat_domain::{AlertDraft, Channel, ContactDraft, PlaceDraft, Sex};
use hifazat_web::pages::{self, Frame};
use serde::Deserialize;

use super::{Posted, Reader, checked_form, counted_public, csrf_token, html, read_sent, with_csrf};
use crate::AppState;
use crate::caller::Who;
use crate::error::ApiError;

/// What the form sends (every field as text, so a bad one is shown again as it was typed).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RaiseBody {
    pub(crate) csrf: String,
    child_name: String,
    age_years: String,
    sex: String,
    description: String,
    district: String,
    place: String,
    last_seen_at: String,
    position: String,
    name: String,
    mobile: String,
    /// Officials' form only: how the report came in, the government office, the police's notes.
    pub(crate) channel: String,
    pub(crate) office: String,
    pub(crate) police_notes: String,
    /// A photo received with an earlier sending of the form (its id), kept so it is not sent again.
    pub(crate) photo_ref: String,
}

impl Posted for RaiseBody {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl RaiseBody {
    /// The form as it was sent, with what to correct: the public's, or with `channels` an official's.
    pub(crate) fn form<'a>(
        self,
        state: &AppState,
        frame: Frame<'a>,
        csrf: String,
        problems: Vec<pages::FieldProblem>,
    ) -> pages::RaiseForm<'a> {
        let official = frame.desk.is_some();
        let channels = if official {
            super::office::intake_channels(frame.t, &self.channel)
        } else {
            Vec::new()
        };
        let lang = frame.t.lang();
        let topology = state.engine.topology();
        let districts = topology
            .provinces
            .iter()
            .map(|p| pages::ChoiceGroup {
                label: lang.pick(&p.name, &p.name_ur).to_owned(),
                choices: topology
                    .districts
                    .iter()
                    .filter(|d| d.province == p.code)
                    .map(|d| pages::Choice {
                        value: d.code.clone(),
                        label: lang.pick(&d.name, &d.name_ur).to_owned(),
                        selected: d.code == self.district,
                    })
                    .collect(),
            })
            .filter(|g| !g.choices.is_empty())
            .collect();
        pages::RaiseForm {
            frame,
            csrf,
            child_name: self.child_name,
            age_years: self.age_years,
            sex: self.sex,
            description: self.description,
            districts,
            place: self.place,
            last_seen_at: self.last_seen_at,
            position: self.position,
            name: self.name,
            mobile: self.mobile,
            problems,
            action: if official { "/office/raise" } else { "/raise" },
            channels,
            office: self.office,
            police_notes: self.police_notes,
            photo_ref: self.photo_ref,
        }
    }

    /// Takes the photo sent with the form, if any: cleaned and kept for the alert (its id then rides with the
    /// form), or why not. A photo sent earlier (`photo_ref`) stays unless a new one replaces it.
    pub(crate) async fn take_photo(
        &mut self,
        state: &AppState,
        t: &hifazat_web::Text,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<(), pages::FieldProblem> {
        let Some((_, bytes)) = files.into_iter().find(|(name, _)| name == "photo") else {
            return Ok(());
        };
        match crate::found::keep_upload(state, bytes, crate::found::Purpose::Alert).await {
            Ok(out) => {
                self.photo_ref = out.photo;
                Ok(())
            }
            Err(refused) => Err(super::photo_problem(t, "photo", &refused)),
        }
    }

    /// The draft the API would be sent, or the fields that cannot become one. Coordinates left empty are the
    /// district headquarters' (from the topology).
    pub(crate) fn draft(
        &self,
        state: &AppState,
        t: &hifazat_web::Text,
    ) -> Result<AlertDraft, Vec<pages::FieldProblem>> {
        let mut problems = Vec::new();
        let age = self.age_years.trim().parse::<u8>();
        if age.is_err() {
            problems.push(pages::raise_problem(t, "age_years"));
        }
        let sex = serde_json::from_value::<Sex>(serde_json::Value::String(self.sex.clone()));
        if sex.is_err() {
            problems.push(pages::raise_problem(t, "sex"));
        }
        let district = state.engine.topology().district(self.district.trim());
        if district.is_none() {
            problems.push(pages::raise_problem(t, "district"));
        }
        let last_seen_at = hifazat_web::parse_local_time(&self.last_seen_at);
        if last_seen_at.is_none() {
            problems.push(pages::raise_problem(t, "last_seen_at"));
        }
        let position = match self.position.trim() {
            "" => district.map(|d| (d.lat, d.lon)),
            typed => {
                let parsed = pages::parse_position(typed);
                if parsed.is_none() {
                    problems.push(pages::raise_problem(t, "position"));
                }
                parsed
            }
        };
        let (Ok(age_years), Ok(sex), Some(district), Some(last_seen_at_ms), Some((lat, lon))) =
            (age, sex, district, last_seen_at, position)
        else {
            return Err(problems);
        };
        Ok(AlertDraft {
            child_name: self.child_name.clone(),
            age_years,
            sex,
            photo_ref: Some(self.photo_ref.trim().to_owned()).filter(|p| !p.is_empty()),
            description: self.description.clone(),
            last_seen: PlaceDraft {
                district: district.code.clone(),
                lat,
                lon,
                text: self.place.clone(),
            },
            last_seen_at_ms,
            reporter: ContactDraft {
                name: self.name.clone(),
                mobile: Some(self.mobile.trim().to_owned()).filter(|m| !m.is_empty()),
                cnic: None,
            },
            channel: Channel::CitizenPortal,
            contact_line: None,
            office: None,
            police_notes: None,
        })
    }
}

/// The form field a refusal of the engine's validator names.
pub(crate) fn field_of(refused: &str) -> &'static str {
    match refused {
        "child_name" => "child_name",
        "age_years" => "age_years",
        "sex" => "sex",
        "description" => "description",
        "last_seen.district" => "district",
        "last_seen.text" => "place",
        "last_seen.lat" | "last_seen.lon" => "position",
        "last_seen_at_ms" => "last_seen_at",
        "reporter.name" => "name",
        "reporter.mobile" => "mobile",
        "channel" => "channel",
        "office" => "office",
        "police_notes" => "police_notes",
        "photo_ref" => "photo",
        _ => "",
    }
}

/// `GET /raise`: the form to raise a missing-child alert.
pub(crate) async fn raise_form(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
) -> Response {
    let (csrf, new) = csrf_token(&headers);
    let form = RaiseBody::default().form(&state, reader.frame(&state), csrf.clone(), vec![]);
    with_csrf(html(StatusCode::OK, pages::render(&form)), &csrf, new)
}

/// `POST /raise`: raises the alert as the public raises through `POST /api/v1/alerts` (channel `citizen_portal`,
/// the same per-address limit and rules), then sends the reader to the alert's page. A refused field is shown again
/// beside the form's field, in the reader's language.
pub(crate) async fn raise_alert(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    who: Result<Who, ApiError>,
    body: axum::extract::Request,
) -> Response {
    let frame = reader.frame(&state);
    let (csrf, new) = csrf_token(&headers);
    let refuse = |body: RaiseBody, status: StatusCode, problems: Vec<pages::FieldProblem>| {
        let form = body.form(&state, frame, csrf.clone(), problems);
        with_csrf(html(status, pages::render(&form)), &csrf, new)
    };
    let sent = read_sent::<RaiseBody>(body).await;
    if sent.too_large {
        let problem = pages::FieldProblem {
            field: "photo",
            message: frame.t.get("photo.problem.too_large").to_owned(),
        };
        return refuse(
            RaiseBody::default(),
            StatusCode::PAYLOAD_TOO_LARGE,
            vec![problem],
        );
    }
    let mut body = match checked_form(sent.form, &csrf, new, frame.t) {
        Ok(body) => body,
        Err((body, status, problems)) => return refuse(body, status, problems),
    };
    let who = match counted_public(&reader, &state, who) {
        Ok(who) => who,
        Err(page) => return *page,
    };
    if let Err(e) = who.caller.may_raise_alert() {
        return reader.failed(&state, e.into());
    }
    if let Err(problem) = body.take_photo(&state, frame.t, sent.files).await {
        return refuse(body, StatusCode::UNPROCESSABLE_ENTITY, vec![problem]);
    }
    let draft = match body.draft(&state, frame.t) {
        Ok(draft) => draft,
        Err(problems) => return refuse(body, StatusCode::UNPROCESSABLE_ENTITY, problems),
    };
    // The public's rules for a draft, as the API applies them (the form fills only what the public may).
    if !who.caller.alert_draft_refusals(&draft).is_empty() {
        return reader.failed(
            &state,
            ApiError::Forbidden("not the public's to fill".into()),
        );
    }
    match state.engine.raise_alert(draft, who.caller.actor()).await {
        Ok(id) => Redirect::to(&format!("/alerts/{id}?raised=1")).into_response(),
        Err(hifazat_engine::EngineError::Invalid(invalid)) => {
            let mut problems: Vec<pages::FieldProblem> = Vec::new();
            for error in invalid.errors {
                let field = field_of(&error.field);
                if !problems.iter().any(|p| p.field == field) {
                    problems.push(pages::raise_problem(frame.t, field));
                }
            }
            refuse(body, StatusCode::UNPROCESSABLE_ENTITY, problems)
        }
        Err(e) => reader.failed(&state, e.into()),
    }
}
