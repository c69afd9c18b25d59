//! The forms' views and what they share: choices, the problems a reader must correct (beside each field, in the
//! reader's language), the sighting, complaint and raise-an-alert forms, and the page of a new tracking code.

use askama::Template;

use super::*;
use crate::Text;

/// The form to report a sighting, empty or as the reader sent it with what to correct.
#[derive(Debug, Clone, Default)]
pub struct SightingForm {
    /// The form's anti-forgery token (the same value as its cookie).
    pub csrf: String,
    /// When the child was seen, as typed (`YYYY-MM-DDTHH:MM`, Pakistan Standard Time).
    pub seen_at: String,
    pub description: String,
    /// Whether the reporter leaves their name and number out.
    pub anonymous: bool,
    pub name: String,
    pub mobile: String,
    pub problems: Vec<FieldProblem>,
    /// A report was just taken: the page thanks the reader.
    pub sent: bool,
    /// On an official's page, the channels it may have come in on ([`INTAKE_CHANNELS`]); empty for the public.
    pub channels: Vec<Choice>,
}

impl SightingForm {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }
}

/// The sighting's input fields, with the catalogue key of what to tell the reader when the node refuses each.
pub const SIGHTING_FIELDS: [(&str, &str); 4] = [
    ("seen_at", "sighting.problem.seen_at"),
    ("description", "sighting.problem.description"),
    ("name", "sighting.problem.name"),
    ("mobile", "sighting.problem.mobile"),
];

/// What to tell the reader about a refused sighting field, in their language.
pub fn sighting_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&SIGHTING_FIELDS, t, field)
}

/// One option of a choice.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A field the reader must correct: its input's id, and why, in the reader's language.
#[derive(Debug, Clone)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

impl FieldProblem {
    /// A form whose anti-forgery token is missing or not this node's: shown again, to be sent once more.
    pub fn expired(t: &Text) -> FieldProblem {
        FieldProblem {
            field: "",
            message: t.get("form.problem.expired").to_owned(),
        }
    }

    /// A form the node could not read at all.
    pub fn unreadable(t: &Text) -> FieldProblem {
        FieldProblem {
            field: "",
            message: t.get("form.problem.other").to_owned(),
        }
    }
}

/// The first problem named for `field`, if any.
pub(super) fn problem_of<'a>(problems: &'a [FieldProblem], field: &str) -> Option<&'a str> {
    problems
        .iter()
        .find(|p| p.field == field)
        .map(|p| p.message.as_str())
}

/// What to tell the reader about refused `field` of a form whose fields (with their catalogue keys) are `fields`;
/// a field the form does not have gets the general "check the form".
pub(super) fn form_problem(fields: &[(&str, &str)], t: &Text, field: &'static str) -> FieldProblem {
    let key = fields
        .iter()
        .find(|(f, _)| *f == field)
        .map_or("form.problem.other", |(_, key)| *key);
    FieldProblem {
        field,
        message: t.get(key).to_owned(),
    }
}

/// The complaint form, empty or as the reader sent it with what to correct.
#[derive(Debug, Template)]
#[template(path = "complaint.html")]
pub struct ComplaintForm<'a> {
    pub frame: Frame<'a>,
    /// The form's anti-forgery token (the same value as its cookie).
    pub csrf: String,
    /// Every category ([`CATEGORIES`]), the chosen one selected.
    pub category: String,
    /// The districts this node files complaints for (value: code, label: name); with more than one, the form
    /// starts with an empty choice, so nobody files for a district they did not pick.
    pub districts: Vec<Choice>,
    pub description: String,
    pub victim_age: String,
    /// Whether the complainant leaves their name and number out.
    pub anonymous: bool,
    pub name: String,
    pub mobile: String,
    pub problems: Vec<FieldProblem>,
    /// Where the form posts: `/complaint`, or `/office/cases/new` on an official's page.
    pub action: &'static str,
    /// On an official's page, the channels the complaint may have come in on; empty for the public.
    pub channels: Vec<Choice>,
    /// On an official's page, a media report's outlet, day (`YYYY-MM-DD`) and link or reference, as typed.
    pub media_outlet: String,
    pub media_published_on: String,
    pub media_reference: String,
}

impl ComplaintForm<'_> {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }

    /// The categories as choices, in the reader's language.
    pub fn categories(&self) -> Vec<Choice> {
        CATEGORIES
            .iter()
            .map(|c| Choice {
                value: (*c).to_owned(),
                label: self.frame.t.named("case.category", c).to_owned(),
                selected: *c == self.category,
            })
            .collect()
    }
}

/// The complaint's input fields, in the form's order, with the catalogue key of what to tell the reader when the
/// node refuses each (the node names the field it refuses; these say it in the reader's language).
pub const COMPLAINT_FIELDS: [(&str, &str); 11] = [
    ("category", "complaint.problem.category"),
    ("district", "complaint.problem.district"),
    ("description", "complaint.problem.description"),
    ("victim_age", "complaint.problem.victim_age"),
    ("name", "complaint.problem.name"),
    ("mobile", "complaint.problem.mobile"),
    ("channel", "intake.problem.channel"),
    ("media", "media.problem.media"),
    ("media_outlet", "media.problem.outlet"),
    ("media_published_on", "media.problem.published_on"),
    ("media_reference", "media.problem.reference"),
];

/// What to tell the reader about a refused complaint field, in their language.
pub fn complaint_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&COMPLAINT_FIELDS, t, field)
}

/// A group of choices under a heading (the districts of one province).
#[derive(Debug, Clone)]
pub struct ChoiceGroup {
    pub label: String,
    pub choices: Vec<Choice>,
}

/// The form to raise a missing-child alert (channel `citizen_portal`), empty or as the reader sent it with what to
/// correct.
#[derive(Debug, Template)]
#[template(path = "raise.html")]
pub struct RaiseForm<'a> {
    pub frame: Frame<'a>,
    /// The form's anti-forgery token (the same value as its cookie).
    pub csrf: String,
    pub child_name: String,
    pub age_years: String,
    /// One of [`SEXES`], or empty before the reader chooses.
    pub sex: String,
    pub description: String,
    /// Every district of the topology, by province, the chosen one selected.
    pub districts: Vec<ChoiceGroup>,
    /// Where the child was last seen, in the reader's words.
    pub place: String,
    /// When, as typed (`YYYY-MM-DDTHH:MM`, Pakistan Standard Time).
    pub last_seen_at: String,
    /// The map position as typed (`latitude, longitude`), or empty for the district headquarters.
    pub position: String,
    pub name: String,
    pub mobile: String,
    pub problems: Vec<FieldProblem>,
    /// Where the form posts: `/raise`, or `/office/raise` on an official's page.
    pub action: &'static str,
    /// On an official's page, the channels the report may have come in on; empty for the public, who raise
    /// through the portal.
    pub channels: Vec<Choice>,
    /// The government office it was raised at (officials only).
    pub office: String,
    /// The police's own notes (officials only; never public).
    pub police_notes: String,
    /// The id of a photo received with an earlier sending of this form, kept so it is not sent again.
    pub photo_ref: String,
}

impl RaiseForm<'_> {
    /// Why `field` must be corrected, if it must.
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }

    /// The sexes as choices, in the reader's language.
    pub fn sexes(&self) -> Vec<Choice> {
        SEXES
            .iter()
            .map(|s| Choice {
                value: (*s).to_owned(),
                label: self.frame.t.named("raise.sex", s).to_owned(),
                selected: *s == self.sex,
            })
            .collect()
    }
}

/// The alert's input fields, in the form's order, with the catalogue key of what to tell the reader when the node
/// refuses each.
pub const RAISE_FIELDS: [(&str, &str); 14] = [
    ("child_name", "raise.problem.child_name"),
    ("age_years", "raise.problem.age_years"),
    ("sex", "raise.problem.sex"),
    ("description", "raise.problem.description"),
    ("district", "raise.problem.district"),
    ("place", "raise.problem.place"),
    ("last_seen_at", "raise.problem.last_seen_at"),
    ("position", "raise.problem.position"),
    ("name", "raise.problem.name"),
    ("mobile", "raise.problem.mobile"),
    ("channel", "intake.problem.channel"),
    ("office", "intake.problem.office"),
    ("police_notes", "intake.problem.police_notes"),
    ("photo", "photo.problem.unreadable"),
];

/// What to tell the reader about a refused alert field, in their language.
pub fn raise_problem(t: &Text, field: &'static str) -> FieldProblem {
    form_problem(&RAISE_FIELDS, t, field)
}

/// A map position as people copy it from a maps app: `latitude, longitude` in decimal degrees (a space, comma or
/// both between them). `None` when it is not two finite numbers.
pub fn parse_position(typed: &str) -> Option<(f64, f64)> {
    let mut parts = typed
        .split(|c: char| c == ',' || c == '\u{060C}' || c.is_whitespace())
        .filter(|p| !p.is_empty());
    let lat: f64 = parts.next()?.parse().ok()?;
    let lon: f64 = parts.next()?.parse().ok()?;
    (parts.next().is_none() && lat.is_finite() && lon.is_finite()).then_some((lat, lon))
}

/// The page that shows a new complaint's tracking code, once.
#[derive(Debug, Template)]
#[template(path = "filed.html")]
pub struct FiledPage<'a> {
    pub frame: Frame<'a>,
    pub code: String,
}
