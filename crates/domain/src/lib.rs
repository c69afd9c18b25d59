//! The domain model: alerts, sightings, cases, their timelines and derived status, and input validation.
//!
//! Pure: no I/O, no clock, no randomness. Time and random bytes are arguments. Everything that comes from outside
//! is a *draft* until `validate` turns it into an intake; a validation failure names every field it rejects.

pub mod calendar;
mod clock;
pub mod found;
pub mod geo;
pub mod glass;
mod intake;
pub mod model;
pub mod suppress;
pub mod timeline;
pub mod validate;

pub use clock::Clock;
pub use found::{Care, Decision, FoundDoc, FoundDraft, FoundIntake, Suggestion, suggestions};
pub use intake::is_photo_id;
pub use model::*;
pub use timeline::{
    AlertStage, AlertStatus, CaseStage, CaseStatus, EscalationLevel, Event, EventKind, FoundStage,
    FoundStatus, NoticeReason, Office, Party, Status, alert_status, case_status,
    current_tracking_code, found_status,
};
pub use validate::{FieldError, Invalid};
