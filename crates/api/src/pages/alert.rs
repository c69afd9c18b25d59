//! The alert pages: the home page's list, one alert with its sighting form, and its poster.

use super::*;

/// Alerts on one page of the home page.
const HOME_PAGE_ALERTS: usize = 20;

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
            hifazat_engine::Narrow::default(),
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
        .map(|s| summary_card(&state, reader.lang, s))
        .collect::<Vec<_>>();
    // Only photos that have all arrived here are shown.
    let mut alerts = alerts;
    for card in &mut alerts {
        if let Some(p) = card
            .photo
            .take()
            .and_then(|p| p.parse::<hifazat_photos::PhotoId>().ok())
            && matches!(state.engine.photo_held(p).await, Ok(true))
        {
            card.photo = Some(p.to_hex());
        }
    }
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
    let page = alert_page(&state, &reader, &id, sighting, raised, StatusCode::OK).await;
    with_csrf(page, &csrf, new)
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
    // Possible matches are for officials only (as in the JSON's public view).
    let events = record
        .doc
        .timeline
        .iter()
        .filter(|e| !e.kind.is_match())
        .map(PublicEvent::of)
        .collect();
    let card = with_photo(state, alert_card(state, reader.lang, &record)).await;
    let public = record.doc.intake.public;
    let page = pages::AlertPage {
        frame: reader.frame(state),
        card,
        description: public.description,
        contact_line: public.contact_line,
        events: event_lines(events),
        sightings,
        sighting,
        raised,
    };
    html(status, pages::render(&page))
}

/// An alert's summary as a card, in `lang`.
pub(crate) fn summary_card(
    state: &AppState,
    lang: Lang,
    s: hifazat_engine::AlertSummary,
) -> AlertCard {
    AlertCard {
        id: s.id.to_string(),
        child_name: s.child_name,
        age_years: s.age_years,
        sex: name_of(&s.sex),
        district: district_name(state, lang, &s.district),
        last_seen: s.last_seen,
        last_seen_at_ms: s.last_seen_at_ms,
        stage: name_of(&s.status.stage),
        photo: s.photo,
        code: hifazat_domain::AlertCode::of(&s.id).to_string(),
    }
}

/// An alert's public part as a card, in `lang`.
pub(crate) fn alert_card(
    state: &AppState,
    lang: Lang,
    record: &hifazat_engine::AlertRecord,
) -> AlertCard {
    let public = &record.doc.intake.public;
    AlertCard {
        id: record.id.to_string(),
        child_name: public.child_name.clone(),
        age_years: public.age_years,
        sex: name_of(&public.sex),
        district: district_name(state, lang, &public.last_seen.district),
        last_seen: public.last_seen.text.clone(),
        last_seen_at_ms: public.last_seen_at_ms,
        stage: name_of(&record.status.stage),
        photo: None,
        code: hifazat_domain::AlertCode::of(&record.id).to_string(),
    }
}

/// The card with the alert's photo, when it has one and all of it is on this node.
pub(crate) async fn with_photo(state: &AppState, mut card: AlertCard) -> AlertCard {
    let Some(photo) = card_photo(state, &card.id).await else {
        return card;
    };
    card.photo = Some(photo);
    card
}

async fn card_photo(state: &AppState, id: &str) -> Option<String> {
    let record = state.engine.alert(id.parse().ok()?).await.ok()?;
    let photo: hifazat_photos::PhotoId = record
        .doc
        .intake
        .public
        .photo_ref
        .as_deref()?
        .parse()
        .ok()?;
    state
        .engine
        .photo_held(photo)
        .await
        .ok()?
        .then(|| photo.to_hex())
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
    let card = with_photo(&state, alert_card(&state, reader.lang, &record)).await;
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
        card,
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
    pub(crate) csrf: String,
    seen_at: String,
    description: String,
    anonymous: String,
    name: String,
    mobile: String,
    /// How it came in (officials' form only).
    pub(crate) channel: String,
}

impl Posted for SightingBody {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl SightingBody {
    /// The form as it was sent, with what to correct.
    pub(crate) fn form(
        &self,
        csrf: &str,
        problems: Vec<pages::FieldProblem>,
    ) -> pages::SightingForm {
        pages::SightingForm {
            csrf: csrf.to_owned(),
            seen_at: self.seen_at.clone(),
            description: self.description.clone(),
            anonymous: self.anonymous != "no",
            name: self.name.clone(),
            mobile: self.mobile.clone(),
            problems,
            sent: false,
            channels: Vec::new(),
        }
    }

    /// The draft the API would be sent, on `channel`, or the field that cannot become one.
    pub(crate) fn draft(
        &self,
        t: &Text,
        channel: hifazat_domain::Channel,
    ) -> Result<hifazat_domain::SightingDraft, pages::FieldProblem> {
        let seen_at_ms = hifazat_web::parse_local_time(&self.seen_at)
            .ok_or_else(|| pages::sighting_problem(t, "seen_at"))?;
        Ok(hifazat_domain::SightingDraft {
            seen_at_ms,
            place: None,
            description: self.description.clone(),
            reporter: (self.anonymous == "no").then(|| hifazat_domain::ContactDraft {
                name: self.name.clone(),
                mobile: Some(self.mobile.trim().to_owned()).filter(|m| !m.is_empty()),
                cnic: None,
            }),
            channel,
        })
    }
}

/// The sighting form's fields the validator's refusals name, each said once in the reader's language.
pub(crate) fn sighting_problems(
    t: &Text,
    errors: &[hifazat_domain::FieldError],
) -> Vec<pages::FieldProblem> {
    let mut problems: Vec<pages::FieldProblem> = Vec::new();
    for error in errors {
        let field = match error.field.as_str() {
            "seen_at_ms" => "seen_at",
            "description" => "description",
            "reporter.name" => "name",
            "reporter.mobile" => "mobile",
            _ => "",
        };
        if !problems.iter().any(|p| p.field == field) {
            problems.push(pages::sighting_problem(t, field));
        }
    }
    problems
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
    let respond = |response: Response| with_csrf(response, &csrf, new);
    let body = match checked(body, &csrf, new, frame.t) {
        Ok(body) => body,
        Err((body, status, problems)) => {
            let sighting = body.form(&csrf, problems);
            return respond(alert_page(&state, &reader, &id, sighting, false, status).await);
        }
    };
    let who = match counted_public(&reader, &state, who) {
        Ok(who) => who,
        Err(page) => return *page,
    };
    let Ok(record) = record_id(&id) else {
        return reader.problem(&state, Problem::NotFound);
    };
    let draft = match body.draft(frame.t, hifazat_domain::Channel::CitizenPortal) {
        Ok(draft) => draft,
        Err(problem) => {
            let sighting = body.form(&csrf, vec![problem]);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return respond(alert_page(&state, &reader, &id, sighting, false, status).await);
        }
    };
    match state
        .engine
        .add_sighting(record, draft, who.caller.actor())
        .await
    {
        Ok(_) => Redirect::to(&format!("/alerts/{record}?sent=1#sighting")).into_response(),
        Err(hifazat_engine::EngineError::Invalid(invalid)) => {
            let sighting = body.form(&csrf, sighting_problems(frame.t, &invalid.errors));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            respond(alert_page(&state, &reader, &id, sighting, false, status).await)
        }
        Err(e) => reader.failed(&state, e.into()),
    }
}
