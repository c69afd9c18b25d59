//! The alert pages' views: the home page's cards, one alert with its timeline, and its poster.

use askama::Template;

use super::*;
use crate::Text;

/// An alert as a card on the home page: its public part only.
#[derive(Debug, Clone)]
pub struct AlertCard {
    pub id: String,
    pub child_name: String,
    pub age_years: u8,
    /// One of [`SEXES`].
    pub sex: String,
    /// The district's name in the reader's language where the topology has it.
    pub district: String,
    pub last_seen: String,
    pub last_seen_at_ms: u64,
    /// One of [`ALERT_STAGES`].
    pub stage: String,
    /// The child's photo's id, when the alert has one and all of it is on this node (served at
    /// `/api/v1/photos/{id}`).
    pub photo: Option<String>,
    /// The alert's short code (`AL-7K3M-Q9TD`).
    pub code: String,
}

/// The home page: the active police-validated alerts, newest first.
#[derive(Debug, Template)]
#[template(path = "home.html")]
pub struct Home<'a> {
    pub frame: Frame<'a>,
    pub alerts: Vec<AlertCard>,
    /// The next page's `before`, when there are more.
    pub next: Option<String>,
    /// Whether the page loads the live-update script (the first page only: older pages do not change).
    pub live: bool,
}

/// One event of a timeline, in plain words: what, when, where.
#[derive(Debug, Clone)]
pub struct EventLine {
    /// One of [`EVENTS`].
    pub kind: String,
    /// An escalation's level (1 region, 2 province, 3 federal).
    pub level: Option<u8>,
    pub at_ms: u64,
    /// The node it was recorded at.
    pub node: String,
}

impl EventLine {
    /// The catalogue key of an escalation's level (`escalation.level.2`), for an escalation.
    pub fn escalation(&self) -> Option<&'static str> {
        match self.level? {
            1 => Some("escalation.level.1"),
            2 => Some("escalation.level.2"),
            3 => Some("escalation.level.3"),
            _ => None,
        }
    }
}

/// One alert's public part and its timeline, and the form to report a sighting of the child.
#[derive(Debug, Template)]
#[template(path = "alert.html")]
pub struct AlertPage<'a> {
    pub frame: Frame<'a>,
    pub card: AlertCard,
    pub description: String,
    pub contact_line: String,
    pub events: Vec<EventLine>,
    pub sightings: u64,
    pub sighting: SightingForm,
    /// The reader has just raised this alert: the page thanks them and says what happens next.
    pub raised: bool,
}

impl AlertPage<'_> {
    /// Where the sighting form posts.
    pub fn sighting_action(&self) -> String {
        format!("/alerts/{}/sighting", self.card.id)
    }
}

/// One language's half of a poster: its catalogue and the district's name in it.
#[derive(Debug, Clone)]
pub struct PosterHalf {
    pub t: &'static Text,
    pub district: String,
}

/// A printable poster of an alert's public part, in both languages (the reader's first), to put up in a
/// station, a market or a bus stand.
#[derive(Debug, Template)]
#[template(path = "poster.html")]
pub struct PosterPage<'a> {
    pub frame: Frame<'a>,
    pub card: AlertCard,
    pub description: String,
    pub contact_line: String,
    pub halves: Vec<PosterHalf>,
}

impl PosterPage<'_> {
    /// Whether the child is no longer missing (found, home, or the alert closed): the poster says so instead.
    pub fn ended(&self) -> bool {
        matches!(
            self.card.stage.as_str(),
            "recovered" | "reunited" | "closed"
        )
    }
}
