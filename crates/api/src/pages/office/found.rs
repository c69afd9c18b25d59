//! Found children's pages: the list (`/office/found`), the report form with its photos (`/office/found/new`),
//! a report with its photos and possible matches (`/office/found/{id}`), an officer's decision on a match and the
//! report's steps. Each reads and writes through the API's own handlers (`crate::found`) as the signed-in official.

use axum::Json;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hifazat_domain::{Care, Decision, FoundDraft, PlaceDraft, Sex};
use hifazat_web::pages::{self, Problem};
use hifazat_web::{Text, parse_local_time};
use serde::Deserialize;

use super::super::alert::{alert_card, with_photo};
use super::super::{Posted, Reader, district_name, html, name_of, photo_problem, read_sent};
use super::records::{event_line, outside_found};
use super::{Ctx, Official, desk, not_for_role};
use crate::AppState;
use crate::error::ApiError;
use crate::found::{FoundOut, FoundQuery, FoundStep, FoundStepKind, Purpose};
use crate::record_id;

/// The districts this official reports found children for: theirs, where this node keeps that district's line.
fn report_districts(state: &AppState, official: &Official) -> Vec<String> {
    let topology = state.engine.topology();
    topology
        .districts
        .iter()
        .filter(|d| {
            official
                .who
                .caller
                .may_work_found(topology, &d.code)
                .is_ok()
                && state.engine.files_cases_for(&d.code)
        })
        .map(|d| d.code.clone())
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    open: Option<String>,
    before: Option<String>,
}

/// `GET /office/found`: the found children's reports the official sees (the police of their area, the ministry),
/// newest first; `?open=1` those with possible matches to decide.
pub(crate) async fn list(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/found").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    if official.who.caller.may_list_cases().is_err() {
        return cx.problem(not_for_role(Text::of(reader.lang), official.role));
    }
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let open_only = q.open.as_deref() == Some("1");
    let listed = crate::found::list_found(
        &state,
        &official.who,
        FoundQuery {
            open_suggestions: open_only.then_some(true),
            before: q.before.clone(),
            limit: Some(50),
            ..FoundQuery::default()
        },
    )
    .await;
    let page = match listed {
        Ok(page) => page,
        Err(e) => return cx.failed(e),
    };
    let reports = page
        .items
        .iter()
        .map(|s| pages::FoundLine {
            id: s.id.to_string(),
            district: district_name(&state, reader.lang, &s.district),
            found_at_ms: s.found_at_ms,
            age_years: s.apparent_age_years,
            sex: name_of(&s.sex),
            care: name_of(&s.care),
            care_name: s.care_name.clone(),
            stage: name_of(&s.status.stage),
            open_suggestions: s.open_suggestions,
        })
        .collect();
    let next = page.next.map(|n| {
        format!(
            "/office/found?{}before={n}",
            if open_only { "open=1&" } else { "" }
        )
    });
    let view = pages::FoundListPage {
        frame: cx.frame(),
        reports,
        open_only,
        next,
        may_report: !report_districts(&state, &official).is_empty(),
    };
    html(StatusCode::OK, pages::render(&view))
}

/// What the report form sends (every field as text, so a bad one is shown again as typed).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct FoundBody {
    csrf: String,
    district: String,
    place: String,
    position: String,
    found_at: String,
    age: String,
    sex: String,
    description: String,
    care: String,
    care_name: String,
    police_notes: String,
    /// Photos received with an earlier sending of the form, comma-separated ids.
    photo_ids: String,
}

impl Posted for FoundBody {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl FoundBody {
    fn photos(&self) -> Vec<String> {
        self.photo_ids
            .split(',')
            .map(str::trim)
            .filter(|p| hifazat_domain::is_photo_id(p))
            .map(str::to_owned)
            .collect()
    }

    fn form<'a>(
        self,
        cx: &Ctx<'a>,
        districts: &[String],
        problems: Vec<pages::FieldProblem>,
    ) -> pages::FoundForm<'a> {
        let lang = cx.reader.lang;
        let photos = self.photos();
        pages::FoundForm {
            frame: cx.frame(),
            csrf: cx.official.csrf().to_owned(),
            districts: districts
                .iter()
                .map(|d| pages::Choice {
                    value: d.clone(),
                    label: district_name(cx.state, lang, d),
                    selected: *d == self.district,
                })
                .collect(),
            place: self.place,
            position: self.position,
            found_at: self.found_at,
            age: self.age,
            sex: self.sex,
            description: self.description,
            care: if self.care.is_empty() {
                "shelter".into()
            } else {
                self.care
            },
            care_name: self.care_name,
            police_notes: self.police_notes,
            photos,
            problems,
        }
    }

    /// The draft the API would be sent, or the fields that cannot become one. Coordinates left empty are the
    /// district headquarters'.
    fn draft(&self, state: &AppState, t: &Text) -> Result<FoundDraft, Vec<pages::FieldProblem>> {
        let mut problems = Vec::new();
        let district = state.engine.topology().district(self.district.trim());
        if district.is_none() {
            problems.push(pages::found_problem(t, "district"));
        }
        let age = self.age.trim().parse::<u8>();
        if age.is_err() {
            problems.push(pages::found_problem(t, "age"));
        }
        let sex = serde_json::from_value::<Sex>(serde_json::Value::String(self.sex.clone()));
        if sex.is_err() {
            problems.push(pages::found_problem(t, "sex"));
        }
        let care = serde_json::from_value::<Care>(serde_json::Value::String(self.care.clone()));
        if care.is_err() {
            problems.push(pages::found_problem(t, "care"));
        }
        let found_at = parse_local_time(&self.found_at);
        if found_at.is_none() {
            problems.push(pages::found_problem(t, "found_at"));
        }
        let position = match self.position.trim() {
            "" => district.map(|d| (d.lat, d.lon)),
            typed => {
                let parsed = pages::parse_position(typed);
                if parsed.is_none() {
                    problems.push(pages::found_problem(t, "position"));
                }
                parsed
            }
        };
        let (Some(district), Ok(age), Ok(sex), Ok(care), Some(found_at_ms), Some((lat, lon))) =
            (district, age, sex, care, found_at, position)
        else {
            return Err(problems);
        };
        Ok(FoundDraft {
            place: PlaceDraft {
                district: district.code.clone(),
                lat,
                lon,
                text: self.place.clone(),
            },
            found_at_ms,
            apparent_age_years: age,
            sex,
            description: self.description.clone(),
            care,
            care_name: self.care_name.clone(),
            photos: self.photos(),
            police_notes: Some(self.police_notes.trim().to_owned()).filter(|n| !n.is_empty()),
        })
    }
}

/// The form field a refusal of the API's validator names.
fn found_field(refused: &str) -> &'static str {
    match refused {
        "place.district" => "district",
        "place.text" => "place",
        "place.lat" | "place.lon" => "position",
        "found_at_ms" => "found_at",
        "apparent_age_years" => "age",
        "sex" => "sex",
        "description" => "description",
        "care" => "care",
        "care_name" => "care_name",
        "police_notes" => "police_notes",
        f if f.starts_with("photos") => "photos",
        _ => "",
    }
}

/// `GET /office/found/new`: the form to report a found child (the police of a district this node keeps).
pub(crate) async fn new_form(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/found").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let districts = report_districts(&state, &official);
    if districts.is_empty() {
        return cx.problem(not_for_role(Text::of(reader.lang), official.role));
    }
    let body = FoundBody {
        district: districts[0].clone(),
        ..FoundBody::default()
    };
    html(
        StatusCode::OK,
        pages::render(&body.form(&cx, &districts, vec![])),
    )
}

/// `POST /office/found/new`: takes the photos (each cleaned, and refused without a face), then reports the child
/// as `POST /api/v1/found` does for this official; then the report (303).
pub(crate) async fn report(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    body: axum::extract::Request,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/found").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    let districts = report_districts(&state, &official);
    if districts.is_empty() {
        return cx.problem(not_for_role(t, official.role));
    }
    let refuse = |body: FoundBody, status: StatusCode, problems: Vec<pages::FieldProblem>| {
        html(status, pages::render(&body.form(&cx, &districts, problems)))
    };
    let sent = read_sent::<FoundBody>(body).await;
    if sent.too_large {
        let problem = pages::FieldProblem {
            field: "photos",
            message: t.get("photo.problem.too_large").to_owned(),
        };
        return refuse(
            FoundBody::default(),
            StatusCode::PAYLOAD_TOO_LARGE,
            vec![problem],
        );
    }
    let mut body = match cx.posted_form(sent.form) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    // The photos first, so that those taken are kept with the form whatever else must be corrected.
    let mut ids = body.photos();
    let files: Vec<Vec<u8>> = sent
        .files
        .into_iter()
        .filter(|(name, _)| name == "photos")
        .map(|(_, bytes)| bytes)
        .collect();
    if ids.len() + files.len() > hifazat_limits::FOUND_PHOTOS_MAX {
        let problem = pages::found_problem(t, "photos");
        return refuse(body, StatusCode::UNPROCESSABLE_ENTITY, vec![problem]);
    }
    let mut problems = Vec::new();
    for bytes in files {
        match crate::found::keep_upload(&state, bytes, Purpose::Found).await {
            Ok(out) => ids.push(out.photo),
            Err(refused) => {
                problems.push(photo_problem(t, "photos", &refused));
                break;
            }
        }
    }
    body.photo_ids = ids.join(",");
    if !problems.is_empty() {
        return refuse(body, StatusCode::UNPROCESSABLE_ENTITY, problems);
    }
    let draft = match body.draft(&state, t) {
        Ok(draft) => draft,
        Err(problems) => return refuse(body, StatusCode::UNPROCESSABLE_ENTITY, problems),
    };
    let reported =
        crate::found::report(State(state.clone()), official.who.clone(), Ok(Json(draft))).await;
    match reported {
        Ok((_, Json(created))) => {
            Redirect::to(&format!("/office/found/{}?done=reported", created.id)).into_response()
        }
        Err(ApiError::Invalid(errors)) => {
            let mut problems: Vec<pages::FieldProblem> = Vec::new();
            for error in errors {
                let field = found_field(&error.field);
                if !problems.iter().any(|p| p.field == field) {
                    problems.push(pages::found_problem(t, field));
                }
            }
            refuse(body, StatusCode::UNPROCESSABLE_ENTITY, problems)
        }
        Err(e) => cx.failed(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

/// What a `done` in the address says, in the reader's language.
fn done_text(t: &Text, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "reported" => "found.done.reported",
        "confirmed" => "found.done.confirmed",
        "rejected" => "found.done.rejected",
        "step" => "found.done.step",
        _ => return None,
    };
    Some(t.get(key).to_owned())
}

/// The report's page, with `done` or `problem` said at its top.
async fn report_page(
    cx: Ctx<'_>,
    id: &str,
    done: Option<String>,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let Ctx {
        state,
        reader,
        official,
        ..
    } = cx;
    let got = crate::found::get(
        State(state.clone()),
        official.who.clone(),
        Path(id.to_owned()),
    )
    .await;
    let report: FoundOut = match got {
        Ok(Json(report)) => report,
        Err(ApiError::Forbidden(_)) => return outside_found(cx, id).await,
        Err(e) => return cx.failed(e),
    };
    let district = report.intake.place.district.clone();
    let mut matches = Vec::new();
    for s in &report.suggestions {
        let Ok(alert) = state.engine.alert(s.other).await else {
            continue;
        };
        let card = with_photo(state, alert_card(state, reader.lang, &alert)).await;
        matches.push(pages::MatchLine {
            alert: card,
            distance: format!("{:.2}", s.distance),
            at_ms: s.at_ms,
            node: s.node.clone(),
            decision: s.decision.map(|d| name_of(&d)),
        });
    }
    let photos = if report.photos_here {
        (0..report.intake.photos.len())
            .map(|n| format!("/office/found/{}/photos/{n}", report.id))
            .collect()
    } else {
        Vec::new()
    };
    let page = pages::DeskFoundPage {
        frame: cx.frame(),
        id: report.id.to_string(),
        district: district_name(state, reader.lang, &district),
        place: report.intake.place.text.clone(),
        found_at_ms: report.intake.found_at_ms,
        age_years: report.intake.apparent_age_years,
        sex: name_of(&report.intake.sex),
        description: report.intake.description.clone(),
        care: name_of(&report.intake.care),
        care_name: report.intake.care_name.clone(),
        police_notes: report.intake.police_notes.clone(),
        photos_elsewhere: !report.photos_here && !report.intake.photos.is_empty(),
        photos,
        stage: name_of(&report.status.stage),
        events: report.timeline.iter().map(event_line).collect(),
        matches,
        may_work: official
            .who
            .caller
            .may_work_found(state.engine.topology(), &district)
            .is_ok(),
        csrf: official.csrf().to_owned(),
        done,
        problem,
    };
    html(status, pages::render(&page))
}

/// `GET /office/found/{id}`: the report, for the police of its area and the ministry, with its possible matches.
pub(crate) async fn page(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/found").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let done = query.ok().and_then(|Query(q)| q.done);
    let done = done_text(Text::of(reader.lang), done.as_deref());
    report_page(cx, &id, done, None, StatusCode::OK).await
}

/// `GET /office/found/{id}/photos/{n}`: a photo of the report, at the node that took it, for those who see it.
pub(crate) async fn photo(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path((id, n)): Path<(String, String)>,
) -> Response {
    match crate::found::found_photo(State(state.clone()), official.who.clone(), Path((id, n))).await
    {
        Ok(response) => response,
        Err(e) => {
            let desk = desk(&state, &reader, &official, "/office/found").await;
            Ctx::of(&state, &reader, &official, &desk).failed(e)
        }
    }
}

/// What the decision form sends.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DecideBody {
    csrf: String,
    decision: String,
    note: String,
}

impl Posted for DecideBody {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /office/found/{id}/matches/{alert}`: the police of the report's district confirm a possible match in
/// person (the alert gets a sighting where the child was found) or rule it out, as the API does; then the report.
pub(crate) async fn decide(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path((id, alert)): Path<(String, String)>,
    body: Result<axum::Form<DecideBody>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/found").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let t = Text::of(reader.lang);
    let body = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let (Ok(report), Ok(alert_id)) = (record_id(&id), record_id(&alert)) else {
        return cx.problem(Problem::NotFound);
    };
    let decision = match body.decision.as_str() {
        "confirmed" => Decision::Confirmed,
        "rejected" => Decision::Rejected,
        _ => return cx.problem(Problem::NotFound),
    };
    let note = Some(body.note.trim().to_owned()).filter(|n| !n.is_empty());
    match crate::found::decide_match(&state, &official.who, report, alert_id, decision, note).await
    {
        Ok(_) => Redirect::to(&format!(
            "/office/found/{id}?done={}#matches",
            body.decision
        ))
        .into_response(),
        Err(ApiError::Forbidden(_)) => outside_found(cx, &id).await,
        Err(ApiError::Invalid(errors)) => {
            let why = errors.first().map_or_else(
                || t.get("form.problem.other").to_owned(),
                |e| e.reason.clone(),
            );
            report_page(cx, &id, None, Some(why), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => cx.failed(e),
    }
}

/// What the step form sends.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StepBody {
    csrf: String,
    step: String,
    note: String,
}

impl Posted for StepBody {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /office/found/{id}/steps`: handed to the family, or closed, as `POST /api/v1/found/{id}/events` does.
pub(crate) async fn step(
    State(state): State<AppState>,
    reader: Reader,
    official: Official,
    Path(id): Path<String>,
    body: Result<axum::Form<StepBody>, FormRejection>,
) -> Response {
    let desk = desk(&state, &reader, &official, "/office/found").await;
    let cx = Ctx::of(&state, &reader, &official, &desk);
    let body = match cx.posted(body) {
        Ok(form) => form,
        Err(page) => return *page,
    };
    let kind = match body.step.as_str() {
        "handed_to_family" => FoundStepKind::HandedToFamily,
        "closed" => FoundStepKind::Closed,
        _ => return cx.problem(Problem::NotFound),
    };
    let note = Some(body.note.trim().to_owned()).filter(|n| !n.is_empty());
    let added = crate::found::add_event(
        State(state.clone()),
        official.who.clone(),
        Path(id.clone()),
        Ok(Json(FoundStep { kind, note })),
    )
    .await;
    match added {
        Ok(_) => Redirect::to(&format!("/office/found/{id}?done=step")).into_response(),
        Err(ApiError::Forbidden(_)) => outside_found(cx, &id).await,
        Err(e) => cx.failed(e),
    }
}
