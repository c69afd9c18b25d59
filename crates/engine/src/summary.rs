//! Record summaries: what lists, their filters and statistics need of a record, kept in the
//! store beside the entries that change it (written in the same batch), so a list never materialises documents.

use hifazat_domain::RecordKind;
use hifazat_domain::{
    AlertStage, Care, CaseCategory, CaseStage, Channel, FoundStage, RecordDoc, RecordId, Sex,
    Status, alert_status, case_status, found_status,
};
use hifazat_figures::Facts;
use serde::{Deserialize, Serialize};

/// An alert as lists show it: only its public part, and its status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertSummary {
    pub id: RecordId,
    pub child_name: String,
    pub age_years: u8,
    pub sex: Sex,
    /// Where the child was last seen: the district code and how people describe the place.
    pub district: String,
    pub last_seen: String,
    pub last_seen_at_ms: u64,
    pub channel: Channel,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub sightings: usize,
    /// The child's photo's id, when the alert has one (`GET /api/v1/photos/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    pub status: Status<AlertStage>,
}

/// A summary as stored: for alerts, with the lower-case text that `text` filters search (the name, the
/// description and the place).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Stored<T> {
    #[serde(flatten)]
    pub summary: T,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub search: String,
}

/// A case as lists show it to officials entitled to it: what it is about, where, and its status. No complainant
/// and no description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseSummary {
    pub id: RecordId,
    pub category: CaseCategory,
    pub district: String,
    pub channel: Channel,
    pub anonymous: bool,
    pub victim_age_years: Option<u8>,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub status: Status<CaseStage>,
}

/// A found child's report as lists show it to officials entitled to it: where and when, who the child seems
/// to be, where the child is now, how many photos and possible matches, and its status. No description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FoundSummary {
    pub id: RecordId,
    pub district: String,
    pub found_at_ms: u64,
    pub apparent_age_years: u8,
    pub sex: Sex,
    pub care: Care,
    pub care_name: String,
    /// The photos' ids; the photos themselves are at the node that took them.
    pub photos: Vec<String>,
    /// Possible matches not yet confirmed or ruled out.
    pub open_suggestions: usize,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub status: Status<FoundStage>,
}

/// Any summary, an alert's with its searchable text, a case's with its current tracking code (filed in the store's
/// index of codes with every change, never stored in the summary).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Summary {
    Alert(AlertSummary, String),
    Case(CaseSummary, String),
    Found(FoundSummary),
}

impl Summary {
    /// The summary of a record's document, as of `updated_ms`; `created_ms` is when the record was raised or
    /// filed (the first event of its timeline, or `updated_ms` if none is held yet).
    pub fn of(id: RecordId, doc: &RecordDoc, updated_ms: u64) -> Summary {
        let created_ms = doc
            .timeline()
            .iter()
            .map(|e| e.at_ms)
            .min()
            .unwrap_or(updated_ms);
        let updated_ms = doc
            .timeline()
            .iter()
            .map(|e| e.at_ms)
            .max()
            .unwrap_or(updated_ms)
            .max(created_ms);
        match doc {
            RecordDoc::Alert(a) => {
                let p = &a.intake.public;
                let search = format!("{}\n{}\n{}", p.child_name, p.description, p.last_seen.text)
                    .to_lowercase();
                Summary::Alert(
                    AlertSummary {
                        id,
                        child_name: p.child_name.clone(),
                        age_years: p.age_years,
                        sex: p.sex,
                        district: p.last_seen.district.clone(),
                        last_seen: p.last_seen.text.clone(),
                        last_seen_at_ms: p.last_seen_at_ms,
                        channel: p.channel,
                        created_ms,
                        updated_ms,
                        sightings: a.sightings.len(),
                        photo: p.photo_ref.clone(),
                        status: alert_status(&a.timeline),
                    },
                    search,
                )
            }
            RecordDoc::Case(c) => Summary::Case(
                CaseSummary {
                    id,
                    category: c.intake.category,
                    district: c.intake.district.clone(),
                    channel: c.intake.channel,
                    anonymous: c.intake.complainant.is_none(),
                    victim_age_years: c.intake.victim_age_years,
                    created_ms,
                    updated_ms,
                    status: case_status(&c.timeline),
                },
                hifazat_domain::current_tracking_code(&c.intake.tracking_code, &c.timeline)
                    .as_str()
                    .to_owned(),
            ),
            RecordDoc::Found(f) => Summary::Found(FoundSummary {
                id,
                district: f.intake.place.district.clone(),
                found_at_ms: f.intake.found_at_ms,
                apparent_age_years: f.intake.apparent_age_years,
                sex: f.intake.sex,
                care: f.intake.care,
                care_name: f.intake.care_name.clone(),
                photos: f.intake.photos.clone(),
                open_suggestions: hifazat_domain::suggestions(&f.timeline)
                    .iter()
                    .filter(|s| s.decision.is_none())
                    .count(),
                created_ms,
                updated_ms,
                status: found_status(&f.timeline),
            }),
        }
    }

    /// A case's tracking code as it now stands.
    pub(crate) fn tracking_code(&self) -> Option<&str> {
        match self {
            Summary::Case(_, code) => Some(code),
            _ => None,
        }
    }

    /// What the record adds to the statistics aggregates.
    pub(crate) fn facts(&self) -> Facts {
        match self {
            Summary::Alert(a, _) => Facts::alert(&a.district, a.created_ms, a.channel, &a.status),
            Summary::Case(c, _) => {
                Facts::case(&c.district, c.created_ms, c.category, c.channel, &c.status)
            }
            Summary::Found(f) => Facts::found(&f.district, f.created_ms, &f.status),
        }
    }

    /// The facts of a summary as stored, or `None` for bytes that are not one of `kind`.
    pub(crate) fn stored_facts(kind: RecordKind, bytes: &[u8]) -> Option<Facts> {
        match kind {
            RecordKind::Alert => serde_json::from_slice::<Stored<AlertSummary>>(bytes)
                .ok()
                .map(|s| {
                    Facts::alert(
                        &s.summary.district,
                        s.summary.created_ms,
                        s.summary.channel,
                        &s.summary.status,
                    )
                }),
            RecordKind::Case => serde_json::from_slice::<Stored<CaseSummary>>(bytes)
                .ok()
                .map(|s| {
                    Facts::case(
                        &s.summary.district,
                        s.summary.created_ms,
                        s.summary.category,
                        s.summary.channel,
                        &s.summary.status,
                    )
                }),
            RecordKind::Found => serde_json::from_slice::<Stored<FoundSummary>>(bytes)
                .ok()
                .map(|s| {
                    Facts::found(&s.summary.district, s.summary.created_ms, &s.summary.status)
                }),
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serialising plain data cannot fail.
        match self {
            Summary::Alert(a, search) => serde_json::to_vec(&Stored {
                summary: a,
                search: search.clone(),
            }),
            Summary::Case(c, _) => serde_json::to_vec(&Stored {
                summary: c,
                search: String::new(),
            }),
            Summary::Found(f) => serde_json::to_vec(&Stored {
                summary: f,
                search: String::new(),
            }),
        }
        .expect("a summary serialises")
    }
}

/// One page of a list: the items, newest first, and where the next page starts (pass it as `before`), if the
/// list goes on.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<RecordId>,
    /// Summaries looked at to fill this page; a page that stopped at the scan limit has fewer items than asked and
    /// a `next` to go on from.
    pub scanned: usize,
}
