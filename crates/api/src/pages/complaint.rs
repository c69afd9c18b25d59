//! Complaints: the form, the page that shows a new tracking code once, and tracking a case by its code.

use super::*;

#[derive(Debug, Deserialize)]
pub(crate) struct TrackQuery {
    code: Option<String>,
}

/// `GET /track`: the form, and with `?code=` the case it tracks with its messages and a form to write one, as
/// `GET /api/v1/track/{code}` shows it (the same per-address limit and wrong-code lockout), or the alert an
/// alert's code names.
pub(crate) async fn track(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    who: Result<Who, ApiError>,
    query: Result<Query<TrackQuery>, QueryRejection>,
) -> Response {
    let typed = query
        .ok()
        .and_then(|Query(q)| q.code)
        .map(|c| c.trim().to_owned())
        .unwrap_or_default();
    let (csrf, new) = csrf_token(&headers);
    let (status, page) = match tracked_page(&state, &reader, who, &typed, csrf.clone()).await {
        Ok(shown) => shown,
        Err(response) => return *response,
    };
    with_csrf(html(status, pages::render(&page)), &csrf, new)
}

/// The tracking page for `typed`: empty, a case with its conversation, or why not; an alert's code answers with
/// the alert's page (303) or the list of alerts sharing it. Errors other than the code's are whole pages.
async fn tracked_page<'a>(
    state: &'a AppState,
    reader: &'a Reader,
    who: Result<Who, ApiError>,
    typed: &str,
    csrf: String,
) -> Result<(StatusCode, pages::TrackPage<'a>), Box<Response>> {
    let frame = reader.frame(state);
    let mut page = pages::TrackPage {
        frame,
        code: typed.chars().take(64).collect(),
        error: None,
        found: None,
        alerts: Vec::new(),
        csrf,
        text: String::new(),
        text_problem: None,
    };
    if typed.is_empty() {
        return Ok((StatusCode::OK, page));
    }
    let who = as_public(who).map_err(|e| Box::new(reader.failed(state, e)))?;
    if typed.to_uppercase().parse::<TrackingCode>().is_err()
        && let Ok(code) = typed.parse::<hifazat_domain::AlertCode>()
    {
        who.public_request(&state.limiter)
            .map_err(|e| Box::new(reader.failed(state, e)))?;
        let found = state
            .engine
            .alerts_by_code(&code)
            .await
            .map_err(|e| Box::new(reader.failed(state, e.into())))?;
        return match found.len() {
            0 => {
                page.error = Some(Problem::NoSuchCode.message(frame.t));
                Ok((StatusCode::NOT_FOUND, page))
            }
            1 => Err(Box::new(
                Redirect::to(&format!("/alerts/{}", found[0].id)).into_response(),
            )),
            _ => {
                page.code = code.to_string();
                page.alerts = found
                    .into_iter()
                    .map(|s| super::alert::summary_card(state, reader.lang, s))
                    .collect();
                Ok((StatusCode::OK, page))
            }
        };
    }
    match crate::cases::case_by_code(state, &who, typed).await {
        Ok((code, case)) => {
            page.found = Some(pages::Tracked {
                code: code.as_str().to_owned(),
                category: name_of(&case.doc.intake.category),
                district: district_name(state, reader.lang, &case.doc.intake.district),
                stage: name_of(&case.status.stage),
                events: event_lines(
                    case.doc
                        .timeline
                        .iter()
                        .filter(|e| !e.kind.is_conversation())
                        .map(PublicEvent::of)
                        .collect(),
                ),
                messages: message_lines(&case.doc),
            });
            Ok((StatusCode::OK, page))
        }
        Err(ApiError::Invalid(_)) => {
            page.error = Some(Problem::BadCode.message(frame.t));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page))
        }
        Err(ApiError::NotFound(_)) => {
            page.error = Some(Problem::NoSuchCode.message(frame.t));
            Ok((StatusCode::NOT_FOUND, page))
        }
        Err(e) => Err(Box::new(reader.failed(state, e))),
    }
}

/// A case's messages as pages show them.
pub(crate) fn message_lines(doc: &hifazat_domain::CaseDoc) -> Vec<pages::MessageLine> {
    hifazat_engine::case_messages(doc)
        .into_iter()
        .map(|m| pages::MessageLine {
            from: match m.from {
                hifazat_domain::Party::Complainant => "complainant",
                hifazat_domain::Party::Police => "police",
            },
            at_ms: m.at_ms,
            text: m.text,
        })
        .collect()
}

/// What the tracking page's message form sends.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MessageForm {
    csrf: String,
    code: String,
    text: String,
}

impl Posted for MessageForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /track/messages`: the complainant's message, written as `POST /api/v1/track/{code}/messages` writes it,
/// then back to the conversation (303); refused, the page again with the message as typed and why.
pub(crate) async fn track_message(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    who: Result<Who, ApiError>,
    body: Result<axum::Form<MessageForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let (csrf, new) = csrf_token(&headers);
    let t = Text::of(reader.lang);
    let who = match as_public(who) {
        Ok(who) => who,
        Err(e) => return reader.failed(&state, e),
    };
    let (body, problem) = match checked(body, &csrf, new, t) {
        Ok(body) => {
            let written = match crate::cases::case_by_code(&state, &who, &body.code).await {
                Ok((_, case)) => state
                    .engine
                    .add_message(
                        case.id,
                        hifazat_domain::Party::Complainant,
                        &body.text,
                        crate::cases::COMPLAINANT_ACTOR.into(),
                    )
                    .await
                    .map_err(ApiError::from),
                Err(e) => Err(e),
            };
            match written {
                Ok(_) => {
                    return Redirect::to(&format!(
                        "/track?code={}#messages-title",
                        pages::percent_encode(&body.code)
                    ))
                    .into_response();
                }
                Err(ApiError::Invalid(_)) => (body, t.get("messages.problem.text").to_owned()),
                Err(ApiError::RateLimited(_)) => (body, t.get("messages.problem.limit").to_owned()),
                Err(e) => return reader.failed(&state, e),
            }
        }
        Err((body, _, problems)) => {
            let why = problems
                .first()
                .map(|p| p.message.clone())
                .unwrap_or_default();
            (body, why)
        }
    };
    // The conversation again, as the reader would see it, with the message to correct.
    let (status, mut page) =
        match tracked_page(&state, &reader, Ok(who), &body.code, csrf.clone()).await {
            Ok(shown) => shown,
            Err(response) => return *response,
        };
    page.text = body.text;
    page.text_problem = Some(problem);
    let status = if status == StatusCode::OK {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    with_csrf(html(status, pages::render(&page)), &csrf, new)
}

/// What the complaint form sends (every field as text, so a bad one is shown again as it was typed).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ComplaintBody {
    pub(crate) csrf: String,
    category: String,
    pub(crate) district: String,
    description: String,
    victim_age: String,
    pub(crate) anonymous: String,
    name: String,
    mobile: String,
    /// Officials' form only: how the complaint came in.
    pub(crate) channel: String,
    /// Officials' form only: where a media report appeared.
    media_outlet: String,
    media_published_on: String,
    media_reference: String,
}

impl Posted for ComplaintBody {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl ComplaintBody {
    /// The form as it was sent, with what to correct: the public's, or on an official's page (`may_file` then
    /// says which districts they file for) with the channels.
    pub(crate) fn form<'a>(
        self,
        state: &AppState,
        frame: Frame<'a>,
        csrf: String,
        problems: Vec<pages::FieldProblem>,
        may_file: impl Fn(&str) -> bool,
    ) -> pages::ComplaintForm<'a> {
        let official = frame.desk.is_some();
        pages::ComplaintForm {
            districts: complaint_districts(state, frame.t.lang(), &self.district, may_file),
            action: if official {
                "/office/cases/new"
            } else {
                "/complaint"
            },
            channels: if official {
                super::office::case_channels(frame.t, &self.channel)
            } else {
                Vec::new()
            },
            frame,
            csrf,
            category: self.category,
            description: self.description,
            victim_age: self.victim_age,
            anonymous: self.anonymous != "no",
            name: self.name,
            mobile: self.mobile,
            problems,
            media_outlet: self.media_outlet,
            media_published_on: self.media_published_on,
            media_reference: self.media_reference,
        }
    }
}

impl ComplaintBody {
    /// The draft the API would be sent, on `channel`, or the fields that cannot become one.
    pub(crate) fn draft(
        &self,
        state: &AppState,
        t: &Text,
        channel: hifazat_domain::Channel,
    ) -> Result<hifazat_domain::CaseDraft, Vec<pages::FieldProblem>> {
        let mut problems = Vec::new();
        let category = serde_json::from_value::<hifazat_domain::CaseCategory>(
            serde_json::Value::String(self.category.clone()),
        );
        if category.is_err() {
            problems.push(pages::complaint_problem(t, "category"));
        }
        if !state.engine.files_cases_for(&self.district) {
            problems.push(pages::complaint_problem(t, "district"));
        }
        let victim_age = match self.victim_age.trim() {
            "" => Ok(None),
            age => age.parse::<u8>().map(Some),
        };
        if victim_age.is_err() {
            problems.push(pages::complaint_problem(t, "victim_age"));
        }
        let complainant = (self.anonymous == "no").then(|| hifazat_domain::ContactDraft {
            name: self.name.clone(),
            mobile: Some(self.mobile.trim().to_owned()).filter(|m| !m.is_empty()),
            cnic: None,
        });
        let media = [
            &self.media_outlet,
            &self.media_published_on,
            &self.media_reference,
        ]
        .iter()
        .any(|f| !f.trim().is_empty())
        .then(|| hifazat_domain::MediaDraft {
            outlet: self.media_outlet.clone(),
            published_on: self.media_published_on.clone(),
            reference: self.media_reference.clone(),
        });
        match (category, victim_age) {
            (Ok(category), Ok(victim_age)) if problems.is_empty() => {
                Ok(hifazat_domain::CaseDraft {
                    category,
                    district: self.district.clone(),
                    place: None,
                    description: self.description.clone(),
                    channel,
                    victim_age_years: victim_age,
                    complainant,
                    media,
                })
            }
            _ => Err(problems),
        }
    }
}

/// The complaint form's fields the validator's refusals name, each said once in the reader's language.
pub(crate) fn case_problems(
    t: &Text,
    errors: &[hifazat_domain::FieldError],
) -> Vec<pages::FieldProblem> {
    let mut problems: Vec<pages::FieldProblem> = Vec::new();
    for error in errors {
        let field = match error.field.as_str() {
            "category" => "category",
            "district" | "place.district" => "district",
            "description" => "description",
            "victim_age_years" => "victim_age",
            "complainant.name" => "name",
            "complainant.mobile" => "mobile",
            "channel" => "channel",
            "media" => "media",
            "media.outlet" => "media_outlet",
            "media.published_on" => "media_published_on",
            "media.reference" => "media_reference",
            _ => "",
        };
        if !problems.iter().any(|p| p.field == field) {
            problems.push(pages::complaint_problem(t, field));
        }
    }
    problems
}

/// The districts this node files complaints for that `may_file` allows, `chosen` selected.
fn complaint_districts(
    state: &AppState,
    lang: Lang,
    chosen: &str,
    may_file: impl Fn(&str) -> bool,
) -> Vec<pages::Choice> {
    state
        .engine
        .topology()
        .districts
        .iter()
        .filter(|d| state.engine.files_cases_for(&d.code) && may_file(&d.code))
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
    .form(&state, frame, csrf.clone(), vec![], |_| true);
    with_csrf(html(StatusCode::OK, pages::render(&form)), &csrf, new)
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
        let form = body.form(&state, frame, csrf.clone(), problems, |_| true);
        with_csrf(html(status, pages::render(&form)), &csrf, new)
    };
    let body = match checked(body, &csrf, new, frame.t) {
        Ok(body) => body,
        Err((body, status, problems)) => return refuse(body, status, problems),
    };
    let who = match counted_public(&reader, &state, who) {
        Ok(who) => who,
        Err(page) => return *page,
    };
    let draft = match body.draft(&state, frame.t, hifazat_domain::Channel::CitizenPortal) {
        Ok(draft) => draft,
        Err(problems) => return refuse(body, StatusCode::UNPROCESSABLE_ENTITY, problems),
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
            let problems = case_problems(frame.t, &invalid.errors);
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
