//! Break-glass access: an official sometimes must see a record outside their area (a Karachi DPO holding a child
//! who may be Lahore's). They state a reason and how long they need, and get a view of the record's restricted part
//! for that long. Every use is a signed entry of its own (`access/<district>/<area>` logs, which travel along the
//! record's district's line and the writing node's), so the record's own officials hear of it and auditors list it.

use hifazat_limits as limits;
use serde::{Deserialize, Serialize};

use crate::model::{RecordId, RecordKind};
use crate::validate::{self, Invalid};

/// What an official sends to look at a record outside their area.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GlassDraft {
    /// Why they must see it, 20 to 500 characters: the supervisors and auditors read it.
    pub reason: String,
    /// How long the view lasts, 1 to 60 minutes.
    pub minutes: u32,
}

/// One use, as its signed entry carries it (the entry's payload, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GlassUse {
    pub record: RecordId,
    pub kind: RecordKind,
    /// The record's district.
    pub district: String,
    /// The official, as `role:name` at the node.
    pub by: String,
    pub reason: String,
    pub minutes: u32,
    /// When it was granted, ms since the Unix epoch, by the node's clock.
    pub at_ms: u64,
    /// The node where the official saw the record.
    pub node: String,
}

impl GlassUse {
    /// When the view ends.
    pub fn until_ms(&self) -> u64 {
        self.at_ms.saturating_add(u64::from(self.minutes) * 60_000)
    }
}

impl GlassDraft {
    /// The reason (trimmed) and the minutes, or every field that is wrong.
    pub fn validate(&self) -> Result<(String, u32), Invalid> {
        let mut invalid = Invalid::default();
        let reason = invalid.check(
            "reason",
            validate::text(&self.reason, limits::GLASS_REASON_CHARS_MAX).and_then(|r| {
                if r.chars().count() < limits::GLASS_REASON_CHARS_MIN {
                    Err(format!(
                        "is too short to weigh: say why you must see this record, in at least {} characters",
                        limits::GLASS_REASON_CHARS_MIN
                    ))
                } else {
                    Ok(r)
                }
            }),
        );
        if !(1..=limits::GLASS_MINUTES_MAX).contains(&self.minutes) {
            invalid.push(
                "minutes",
                format!("is 1 to {} minutes", limits::GLASS_MINUTES_MAX),
            );
        }
        invalid.into_result()?;
        Ok((reason.unwrap_or_default(), self.minutes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_and_minutes_within_limits() {
        let draft = |reason: &str, minutes| GlassDraft {
            reason: reason.into(),
            minutes,
        };
        let why = "  A boy found at Saddar says he is from Lahore  ";
        assert_eq!(
            draft(why, 30).validate().unwrap(),
            (why.trim().to_owned(), 30)
        );
        let e = draft("need it", 0).validate().unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["reason", "minutes"]);
        assert!(draft(why, 61).validate().is_err());
        assert!(draft(&"x".repeat(501), 5).validate().is_err());
        assert!(
            draft("a\u{7}bcdefghijklmnopqrstuvwxyz", 5)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn the_view_ends_after_its_minutes() {
        let u = GlassUse {
            record: RecordId([0; 16]),
            kind: RecordKind::Alert,
            district: "PB-LHR".into(),
            by: "dpo:x".into(),
            reason: "r".into(),
            minutes: 2,
            at_ms: 1_000,
            node: "karachi-south".into(),
        };
        assert_eq!(u.until_ms(), 121_000);
    }
}
