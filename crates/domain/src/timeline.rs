//! Timelines and the status derived from them.
//!
//! A record's timeline is an append-only list of events; replicas that were apart each append their own, and the
//! merged timeline holds all of them (in an order every replica agrees on, but that order carries no meaning).
//! Status is never stored: it is computed from the *set* of events by joins that are commutative, associative and
//! idempotent (maximum of a stage rank, logical or of flags, union of FIR numbers, minimum of first times). So two
//! disconnected stations that validate and recover the same child merge to "recovered" everywhere, whatever order
//! the events arrive in and however often.

use std::collections::BTreeSet;

use hifazat_limits as limits;
use serde::{Deserialize, Serialize};

use crate::model::{RecordId, RecordKind, TrackingCode};
use crate::validate::{self, Invalid};

/// One thing that happened to a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    #[serde(flatten)]
    pub kind: EventKind,
    /// When it happened, milliseconds since the Unix epoch, by the writing node's clock.
    pub at_ms: u64,
    /// The acting user (as named in the signed entry that carries this event).
    pub by: String,
    /// The node where it was recorded.
    pub node: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Raised,
    Validated,
    Mobilised,
    Sighted,
    FirRegistered {
        fir_number: String,
    },
    UnderInvestigation,
    FastTracked,
    /// Escalated to a higher office: 1 = regional (RPO), 2 = provincial (IG), 3 = federal.
    Escalated {
        #[cfg_attr(feature = "openapi", schema(value_type = u8, minimum = 1, maximum = 3))]
        level: EscalationLevel,
    },
    Recovered,
    Reunited,
    ResolvedByReconciliation,
    Closed,
    /// A possible match between a found child and an alert, found by comparing faces on the node named in the
    /// event: on the alert, `other` is the found child's report; on the report, the alert. Written by nodes,
    /// never by users. The distance is in thousandths (dlib's measure).
    MatchSuggested {
        other: RecordId,
        distance: u16,
    },
    /// An officer who saw the child in person confirmed the match with `other`.
    MatchConfirmed {
        other: RecordId,
    },
    /// An officer ruled the match with `other` out; the pair is not suggested again.
    MatchRejected {
        other: RecordId,
    },
    /// A found child was handed to their family.
    HandedToFamily,
    /// A message on a case between its complainant and the police of its area; the text is the event's note.
    /// Written through the messages' own addresses, never as an event.
    Message {
        from: Party,
    },
    /// The police gave the case a new tracking code, which ends every earlier one (the newest such event wins,
    /// by time then code, on every replica). Never in any public view.
    TrackingCodeRenewed {
        code: TrackingCode,
    },
    /// An official was sent an SMS about the record, by the node named in the event. Written by nodes, never by
    /// users; one per official and reason, whichever node sends it.
    Notified {
        office: Office,
        reason: NoticeReason,
        /// The official's name as the node's SMS directory gives it (never a phone number).
        official: String,
    },
}

/// The office above the district that a record is escalated to; written as a number, 1 to 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum EscalationLevel {
    /// The Regional Police Officer.
    Region = 1,
    /// The Inspector General of the province.
    Province = 2,
    /// The federal level.
    Federal = 3,
}

impl EscalationLevel {
    /// What a level may be, as the error for any other number says it.
    pub const RULE: &'static str = "is 1 (region), 2 (province) or 3 (federal)";
}

impl TryFrom<u8> for EscalationLevel {
    type Error = String;

    fn try_from(n: u8) -> Result<EscalationLevel, String> {
        match n {
            1 => Ok(EscalationLevel::Region),
            2 => Ok(EscalationLevel::Province),
            3 => Ok(EscalationLevel::Federal),
            _ => Err(format!("escalation level {n}: {}", EscalationLevel::RULE)),
        }
    }
}

impl From<EscalationLevel> for u8 {
    fn from(level: EscalationLevel) -> u8 {
        level as u8
    }
}

/// A status's highest escalation in JSON: its number, or 0 for none (as before levels were typed).
mod level_or_zero {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::EscalationLevel;

    pub fn serialize<S: Serializer>(
        level: &Option<EscalationLevel>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u8(level.map_or(0, u8::from))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<EscalationLevel>, D::Error> {
        match u8::deserialize(d)? {
            0 => Ok(None),
            n => EscalationLevel::try_from(n)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// The police offices that are told of alerts by SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Office {
    /// District Police Officer: the alert's district.
    Dpo,
    /// Regional Police Officer: the district's region.
    Rpo,
    /// Inspector General of Police: the district's province.
    Ig,
}

impl Office {
    pub fn as_str(self) -> &'static str {
        match self {
            Office::Dpo => "dpo",
            Office::Rpo => "rpo",
            Office::Ig => "ig",
        }
    }
}

/// Why an official was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeReason {
    /// The alert was raised.
    Raised,
    /// The alert was not validated in time and was escalated to this official's office.
    Escalated,
    /// A found child may be the alert's: a possible match was reported.
    PossibleMatch,
}

/// Who wrote a message on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The holder of the case's tracking code (anonymous when the complaint was).
    Complainant,
    /// The police of the case's area.
    Police,
}

/// The case's tracking code as it now stands: the newest renewal's (by time, then code), else the one given at
/// filing. The same on every replica holding the same events.
pub fn current_tracking_code<'a>(
    filed: &'a TrackingCode,
    timeline: &'a [Event],
) -> &'a TrackingCode {
    timeline
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TrackingCodeRenewed { code } => Some((e.at_ms, code)),
            _ => None,
        })
        .max()
        .map_or(filed, |(_, code)| code)
}

impl EventKind {
    /// Whether this event belongs to a case's conversation or its code (a message, a new tracking code): kept out
    /// of every timeline the public sees.
    pub fn is_conversation(&self) -> bool {
        matches!(
            self,
            EventKind::Message { .. } | EventKind::TrackingCodeRenewed { .. }
        )
    }

    /// Whether this event is about a possible match between a found child and an alert (for officials only).
    pub fn is_match(&self) -> bool {
        matches!(
            self,
            EventKind::MatchSuggested { .. }
                | EventKind::MatchConfirmed { .. }
                | EventKind::MatchRejected { .. }
        )
    }

    /// One event of every type, with placeholder fields: for listing the types (the OpenAPI document states
    /// which of them an official may post on each kind of record). A new type is a compile error in the match
    /// below until it is listed here too.
    pub fn one_of_each() -> Vec<EventKind> {
        use EventKind::*;
        let other = RecordId([0; 16]);
        let all = vec![
            Raised,
            Validated,
            Mobilised,
            Sighted,
            FirRegistered {
                fir_number: "1/2026".into(),
            },
            UnderInvestigation,
            FastTracked,
            Escalated {
                level: EscalationLevel::Region,
            },
            Recovered,
            Reunited,
            ResolvedByReconciliation,
            Closed,
            MatchSuggested { other, distance: 0 },
            MatchConfirmed { other },
            MatchRejected { other },
            HandedToFamily,
            Message {
                from: Party::Police,
            },
            TrackingCodeRenewed {
                code: TrackingCode::from_random([0; crate::model::TRACKING_RANDOM_BYTES]),
            },
            Notified {
                office: Office::Dpo,
                reason: NoticeReason::Raised,
                official: "DPO".into(),
            },
        ];
        // Each type's place in the list above; the match is exhaustive, so a new type must be placed.
        let place = |e: &EventKind| match e {
            Raised => 0,
            Validated => 1,
            Mobilised => 2,
            Sighted => 3,
            FirRegistered { .. } => 4,
            UnderInvestigation => 5,
            FastTracked => 6,
            Escalated { .. } => 7,
            Recovered => 8,
            Reunited => 9,
            ResolvedByReconciliation => 10,
            Closed => 11,
            MatchSuggested { .. } => 12,
            MatchConfirmed { .. } => 13,
            MatchRejected { .. } => 14,
            HandedToFamily => 15,
            Message { .. } => 16,
            TrackingCodeRenewed { .. } => 17,
            Notified { .. } => 18,
        };
        debug_assert!(all.iter().enumerate().all(|(i, e)| place(e) == i));
        all
    }

    /// Whether this event belongs on a record of `kind`.
    pub fn allowed_for(&self, kind: RecordKind) -> bool {
        use EventKind::*;
        match kind {
            RecordKind::Alert => matches!(
                self,
                Raised
                    | Validated
                    | Mobilised
                    | Sighted
                    | FirRegistered { .. }
                    | Escalated { .. }
                    | Recovered
                    | Reunited
                    | Closed
                    | Notified { .. }
                    | MatchSuggested { .. }
                    | MatchConfirmed { .. }
                    | MatchRejected { .. }
            ),
            RecordKind::Case => matches!(
                self,
                Raised
                    | FirRegistered { .. }
                    | UnderInvestigation
                    | FastTracked
                    | Escalated { .. }
                    | ResolvedByReconciliation
                    | Recovered
                    | Closed
                    | Message { .. }
                    | TrackingCodeRenewed { .. }
            ),
            RecordKind::Found => matches!(
                self,
                Raised
                    | MatchSuggested { .. }
                    | MatchConfirmed { .. }
                    | MatchRejected { .. }
                    | HandedToFamily
                    | Closed
            ),
        }
    }

    /// Checks the event's own fields.
    pub fn validate(&self, kind: RecordKind) -> Result<(), Invalid> {
        if !self.allowed_for(kind) {
            return Err(Invalid::one(
                "type",
                format!("this event does not apply to a {kind:?} record"),
            ));
        }
        match self {
            EventKind::FirRegistered { fir_number } => {
                validate::text(fir_number, limits::FIR_NUMBER_CHARS_MAX)
                    .map_err(|reason| Invalid::one("fir_number", reason))?;
            }
            EventKind::Notified { official, .. } => {
                validate::text(official, limits::NAME_CHARS_MAX)
                    .map_err(|reason| Invalid::one("official", reason))?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Where a missing-child alert stands. The order is the lattice: later stages win on merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertStage {
    Raised,
    Validated,
    Mobilised,
    Sighted,
    Recovered,
    Reunited,
    Closed,
}

/// Where a complaint case stands. The order is the lattice: later stages win on merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CaseStage {
    Filed,
    UnderInvestigation,
    Resolved,
    Closed,
}

/// Where a found child's report stands. The order is the lattice: later stages win on merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FoundStage {
    Reported,
    /// A match with an alert was confirmed in person.
    Matched,
    HandedToFamily,
    Closed,
}

/// A record's derived status: a stage plus facts that accumulate alongside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Status<S> {
    pub stage: S,
    /// Every FIR number registered, on any replica (two stations registering different FIRs keep both).
    pub fir_numbers: BTreeSet<String>,
    pub fast_tracked: bool,
    /// Highest office the record was escalated to, if any (0 in JSON for none).
    #[serde(with = "level_or_zero")]
    #[cfg_attr(feature = "openapi", schema(value_type = u8))]
    pub escalation_level: Option<EscalationLevel>,
    /// First time it was validated (alerts) or taken up for investigation (cases).
    pub first_validated_ms: Option<u64>,
    /// First time it was recovered, reunited or resolved.
    pub first_resolved_ms: Option<u64>,
}

pub type AlertStatus = Status<AlertStage>;
pub type CaseStatus = Status<CaseStage>;
pub type FoundStatus = Status<FoundStage>;

fn min_opt(a: Option<u64>, b: u64) -> Option<u64> {
    Some(a.map_or(b, |a| a.min(b)))
}

fn accumulate<S: Ord + Copy>(
    bottom: S,
    events: &[Event],
    stage_of: impl Fn(&EventKind) -> Option<S>,
) -> Status<S> {
    let mut status = Status {
        stage: bottom,
        fir_numbers: BTreeSet::new(),
        fast_tracked: false,
        escalation_level: None,
        first_validated_ms: None,
        first_resolved_ms: None,
    };
    for event in events {
        if let Some(stage) = stage_of(&event.kind) {
            status.stage = status.stage.max(stage);
        }
        match &event.kind {
            EventKind::FirRegistered { fir_number } => {
                status.fir_numbers.insert(fir_number.clone());
            }
            EventKind::FastTracked => status.fast_tracked = true,
            EventKind::Escalated { level } => {
                status.escalation_level = status.escalation_level.max(Some(*level))
            }
            EventKind::Validated | EventKind::UnderInvestigation => {
                status.first_validated_ms = min_opt(status.first_validated_ms, event.at_ms);
            }
            EventKind::Recovered
            | EventKind::Reunited
            | EventKind::ResolvedByReconciliation
            | EventKind::HandedToFamily => {
                status.first_resolved_ms = min_opt(status.first_resolved_ms, event.at_ms);
            }
            _ => {}
        }
    }
    status
}

/// The status of an alert with these events.
pub fn alert_status(events: &[Event]) -> AlertStatus {
    accumulate(AlertStage::Raised, events, |kind| match kind {
        EventKind::Validated => Some(AlertStage::Validated),
        EventKind::Mobilised => Some(AlertStage::Mobilised),
        EventKind::Sighted => Some(AlertStage::Sighted),
        EventKind::Recovered => Some(AlertStage::Recovered),
        EventKind::Reunited => Some(AlertStage::Reunited),
        EventKind::Closed => Some(AlertStage::Closed),
        _ => None,
    })
}

/// The status of a case with these events.
pub fn case_status(events: &[Event]) -> CaseStatus {
    accumulate(CaseStage::Filed, events, |kind| match kind {
        EventKind::UnderInvestigation
        | EventKind::FirRegistered { .. }
        | EventKind::FastTracked => Some(CaseStage::UnderInvestigation),
        EventKind::ResolvedByReconciliation | EventKind::Recovered => Some(CaseStage::Resolved),
        EventKind::Closed => Some(CaseStage::Closed),
        _ => None,
    })
}

/// The status of a found child's report with these events.
pub fn found_status(events: &[Event]) -> FoundStatus {
    accumulate(FoundStage::Reported, events, |kind| match kind {
        EventKind::MatchConfirmed { .. } => Some(FoundStage::Matched),
        EventKind::HandedToFamily => Some(FoundStage::HandedToFamily),
        EventKind::Closed => Some(FoundStage::Closed),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn event_kind() -> impl Strategy<Value = EventKind> {
        prop_oneof![
            Just(EventKind::Raised),
            Just(EventKind::Validated),
            Just(EventKind::Mobilised),
            Just(EventKind::Sighted),
            "[A-Z]{2}-[0-9]{1,3}".prop_map(|fir_number| EventKind::FirRegistered { fir_number }),
            Just(EventKind::UnderInvestigation),
            Just(EventKind::FastTracked),
            (1u8..=3).prop_map(|n| EventKind::Escalated {
                level: EscalationLevel::try_from(n).expect("1 to 3")
            }),
            Just(EventKind::Recovered),
            Just(EventKind::Reunited),
            Just(EventKind::ResolvedByReconciliation),
            Just(EventKind::Closed),
            Just(EventKind::HandedToFamily),
            (0u8..3, 0u16..600).prop_map(|(n, distance)| EventKind::MatchSuggested {
                other: RecordId([n; 16]),
                distance
            }),
            (0u8..3).prop_map(|n| EventKind::MatchConfirmed {
                other: RecordId([n; 16])
            }),
            (0u8..3).prop_map(|n| EventKind::MatchRejected {
                other: RecordId([n; 16])
            }),
            (0usize..3, any::<bool>()).prop_map(|(o, escalated)| EventKind::Notified {
                office: [Office::Dpo, Office::Rpo, Office::Ig][o],
                reason: if escalated {
                    NoticeReason::Escalated
                } else {
                    NoticeReason::Raised
                },
                official: format!("official {o}"),
            }),
        ]
    }

    fn event() -> impl Strategy<Value = Event> {
        (event_kind(), 0u64..1_000, 0usize..3).prop_map(|(kind, at_ms, n)| Event {
            kind,
            at_ms,
            by: format!("user{n}"),
            node: format!("node{n}"),
            note: None,
        })
    }

    /// Merges two replicas' timelines the way automerge does for concurrent list appends: all of both, in some
    /// interleaving chosen by `picks`, with duplicates of already-shared events removed.
    fn interleave(shared: &[Event], a: &[Event], b: &[Event], picks: &[bool]) -> Vec<Event> {
        let mut merged = shared.to_vec();
        let (mut i, mut j) = (0, 0);
        let mut p = picks.iter().cycle();
        while i < a.len() || j < b.len() {
            let take_a = j >= b.len() || (i < a.len() && *p.next().unwrap_or(&true));
            if take_a {
                merged.push(a[i].clone());
                i += 1;
            } else {
                merged.push(b[j].clone());
                j += 1;
            }
        }
        merged
    }

    proptest! {
        /// Two disconnected replicas append events; however their timelines interleave on merge, every replica
        /// derives the same status, and that status depends only on the set of events.
        #[test]
        fn status_is_a_join_over_the_event_set(
            shared in prop::collection::vec(event(), 0..6),
            a in prop::collection::vec(event(), 0..8),
            b in prop::collection::vec(event(), 0..8),
            picks1 in prop::collection::vec(any::<bool>(), 1..16),
            picks2 in prop::collection::vec(any::<bool>(), 1..16),
            dup in any::<bool>(),
        ) {
            let m1 = interleave(&shared, &a, &b, &picks1);
            let mut m2 = interleave(&shared, &b, &a, &picks2);
            if dup {
                // Re-delivery of already-merged events changes nothing.
                m2.extend(a.iter().cloned());
            }
            prop_assert_eq!(alert_status(&m1), alert_status(&m2));
            prop_assert_eq!(case_status(&m1), case_status(&m2));
            prop_assert_eq!(found_status(&m1), found_status(&m2));
            prop_assert_eq!(crate::found::suggestions(&m1), crate::found::suggestions(&m2));
            let mut reversed = m1.clone();
            reversed.reverse();
            prop_assert_eq!(alert_status(&m1), alert_status(&reversed));
        }

        /// Status only moves up the lattice as events are added (monotone), so merging never loses progress.
        #[test]
        fn status_is_monotone(events in prop::collection::vec(event(), 0..20), extra in event()) {
            let before = alert_status(&events);
            let mut more = events.clone();
            more.push(extra);
            let after = alert_status(&more);
            prop_assert!(after.stage >= before.stage);
            prop_assert!(after.fir_numbers.is_superset(&before.fir_numbers));
            prop_assert!(after.escalation_level >= before.escalation_level);
            prop_assert!(after.fast_tracked >= before.fast_tracked);
        }
    }

    #[test]
    fn concurrent_validation_and_recovery_merge_to_recovered() {
        let at = |kind, at_ms| Event {
            kind,
            at_ms,
            by: "u".into(),
            node: "n".into(),
            note: None,
        };
        let district = [at(EventKind::Validated, 10), at(EventKind::Mobilised, 20)];
        let province = [at(EventKind::Recovered, 15), at(EventKind::Validated, 5)];
        let merged: Vec<Event> = district.iter().chain(&province).cloned().collect();
        let status = alert_status(&merged);
        assert_eq!(status.stage, AlertStage::Recovered);
        assert_eq!(status.first_validated_ms, Some(5));
        assert_eq!(status.first_resolved_ms, Some(15));
    }

    #[test]
    fn events_are_checked_against_the_record_kind() {
        assert!(EventKind::Mobilised.validate(RecordKind::Case).is_err());
        assert!(EventKind::FastTracked.validate(RecordKind::Alert).is_err());
        // A level out of range cannot be made, nor read from JSON.
        assert!(EscalationLevel::try_from(9).is_err());
        let nine = serde_json::from_str::<EventKind>(r#"{"type":"escalated","level":9}"#);
        assert!(
            nine.unwrap_err()
                .to_string()
                .contains(EscalationLevel::RULE)
        );
        let two = serde_json::from_str::<EventKind>(r#"{"type":"escalated","level":2}"#);
        assert_eq!(
            two.unwrap(),
            EventKind::Escalated {
                level: EscalationLevel::Province
            }
        );
        assert!(
            EventKind::FirRegistered {
                fir_number: " ".into()
            }
            .validate(RecordKind::Case)
            .is_err()
        );
        assert!(
            EventKind::FirRegistered {
                fir_number: "123/2026".into()
            }
            .validate(RecordKind::Case)
            .is_ok()
        );
    }
}
