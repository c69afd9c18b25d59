//! Found children: a child found alone (at a shelter, a police station, a hospital) whose family is not known,
//! reported by the police of the district where the child was found, so that a missing-child alert raised
//! anywhere may meet it. A report is restricted: officials along its district's line see it, as they see the
//! district's cases; its photos stay on the node where they were taken.

use serde::{Deserialize, Serialize};

use crate::intake::{is_photo_id, place};
use crate::model::{Context, Place, PlaceDraft, RecordId, Sex};
use crate::timeline::Event;
use crate::validate::{self, Invalid};
use hifazat_limits as limits;

/// Where a found child is being looked after now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Care {
    Shelter,
    PoliceStation,
    Hospital,
    Other,
}

impl Care {
    pub const ALL: [Care; 4] = [
        Care::Shelter,
        Care::PoliceStation,
        Care::Hospital,
        Care::Other,
    ];
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FoundDraft {
    /// Where the child was found; its district is the report's.
    pub place: PlaceDraft,
    /// When, ms since the Unix epoch.
    pub found_at_ms: u64,
    /// The age the child appears to be.
    pub apparent_age_years: u8,
    pub sex: Sex,
    /// What the child looks like, wears, says.
    pub description: String,
    /// Where the child is now.
    pub care: Care,
    /// The shelter's, station's or hospital's name and address.
    pub care_name: String,
    /// Ids of photos uploaded to this node (`POST /api/v1/photos?purpose=found`), at most 4.
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub police_notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FoundIntake {
    pub place: Place,
    pub found_at_ms: u64,
    pub apparent_age_years: u8,
    pub sex: Sex,
    pub description: String,
    pub care: Care,
    pub care_name: String,
    /// The photos' ids (SHA-256 of their clean bytes); the bytes stay on the node where they were taken.
    #[serde(default)]
    pub photos: Vec<String>,
    pub police_notes: Option<String>,
}

/// A found-child report's document. `timeline` only grows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FoundDoc {
    pub intake: FoundIntake,
    #[serde(default)]
    pub timeline: Vec<Event>,
}

impl FoundDraft {
    pub fn validate(&self, ctx: &Context<'_>) -> Result<FoundIntake, Invalid> {
        let mut invalid = Invalid::default();
        let place = place(&mut invalid, "place", &self.place, ctx);
        let found_at_ms = invalid.check(
            "found_at_ms",
            validate::past_time(self.found_at_ms, ctx.now_ms, crate::CLOCK_SKEW_MS),
        );
        if self.apparent_age_years > limits::CHILD_AGE_YEARS_MAX {
            invalid.push(
                "apparent_age_years",
                format!(
                    "is {}; a found-child report is for children who look 0 to {}",
                    self.apparent_age_years,
                    limits::CHILD_AGE_YEARS_MAX
                ),
            );
        }
        let description = invalid.check(
            "description",
            validate::text(&self.description, limits::DESCRIPTION_CHARS_MAX),
        );
        let care_name = invalid.check(
            "care_name",
            validate::text(&self.care_name, limits::NAME_CHARS_MAX),
        );
        if self.photos.len() > limits::FOUND_PHOTOS_MAX {
            invalid.push(
                "photos",
                format!(
                    "names {} photos; at most {} are kept with a report",
                    self.photos.len(),
                    limits::FOUND_PHOTOS_MAX
                ),
            );
        }
        let mut photos: Vec<String> = Vec::new();
        for (i, p) in self.photos.iter().enumerate() {
            let p = p.trim();
            if !is_photo_id(p) {
                invalid.push(
                    format!("photos[{i}]"),
                    "is a photo's id as the node gave it when the photo was uploaded (64 lower-case hexadecimal digits)",
                );
            } else if !photos.iter().any(|q| q == p) {
                photos.push(p.to_owned());
            }
        }
        let police_notes = match self
            .police_notes
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => Some(None),
            Some(v) => invalid
                .check("police_notes", validate::text(v, limits::NOTE_CHARS_MAX))
                .map(Some),
        };
        invalid.into_result()?;
        let lost = || Invalid::one("(report)", "a checked field was lost");
        Ok(FoundIntake {
            place: place.ok_or_else(lost)?,
            found_at_ms: found_at_ms.ok_or_else(lost)?,
            apparent_age_years: self.apparent_age_years,
            sex: self.sex,
            description: description.ok_or_else(lost)?,
            care: self.care,
            care_name: care_name.ok_or_else(lost)?,
            photos,
            police_notes: police_notes.ok_or_else(lost)?,
        })
    }
}

/// A possible match between a found child and an alert, as a report's or an alert's timeline tells it: the
/// other record, how close the faces were, the node that found it, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suggestion {
    /// The other record: the alert on a report, the report on an alert.
    pub other: RecordId,
    /// The distance between the faces (dlib's measure; under the threshold, or it would not be suggested).
    pub distance: f32,
    pub node: String,
    pub at_ms: u64,
    pub decision: Option<Decision>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Confirmed,
    Rejected,
}

/// The suggestions a timeline holds, nearest first, each with its decision (a confirmation outweighs a
/// rejection, so the merge of two stations' decisions is the same everywhere).
pub fn suggestions(timeline: &[Event]) -> Vec<Suggestion> {
    use crate::timeline::EventKind;
    let mut out: Vec<Suggestion> = Vec::new();
    for e in timeline {
        if let EventKind::MatchSuggested { other, distance } = &e.kind {
            let d = f32::from(*distance) / 1000.0;
            // The nearest wins, then the earliest node name and time, so every order gives the same.
            match out.iter_mut().find(|s| s.other == *other) {
                Some(s) if (s.distance, &s.node, s.at_ms) <= (d, &e.node, e.at_ms) => {}
                Some(s) => {
                    s.distance = d;
                    s.node = e.node.clone();
                    s.at_ms = e.at_ms;
                }
                None => out.push(Suggestion {
                    other: *other,
                    distance: d,
                    node: e.node.clone(),
                    at_ms: e.at_ms,
                    decision: None,
                }),
            }
        }
    }
    for e in timeline {
        let (other, decision) = match &e.kind {
            EventKind::MatchConfirmed { other } => (other, Decision::Confirmed),
            EventKind::MatchRejected { other } => (other, Decision::Rejected),
            _ => continue,
        };
        if let Some(s) = out.iter_mut().find(|s| s.other == *other) {
            s.decision = Some(match (s.decision, decision) {
                (Some(Decision::Confirmed), _) | (_, Decision::Confirmed) => Decision::Confirmed,
                _ => Decision::Rejected,
            });
        }
    }
    out.sort_by(|a, b| {
        a.distance
            .total_cmp(&b.distance)
            .then(a.other.cmp(&b.other))
    });
    out
}
