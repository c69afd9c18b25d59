//! Messages on a case between its complainant and the police of its area, and new tracking codes. Both are
//! timeline events (`EventKind::Message`, `EventKind::TrackingCodeRenewed`), so they travel with the case along
//! its district's line and nowhere else, and merge as every event does.

use hifazat_domain::{
    CaseDoc, EventKind, Party, TRACKING_RANDOM_BYTES, TrackingCode, current_tracking_code,
};

use super::*;

const DAY_MS: u64 = 86_400_000;

/// One message, as both sides see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseMessage {
    pub from: Party,
    pub at_ms: u64,
    /// The node where it was written.
    pub node: String,
    pub text: String,
}

/// A case's messages, oldest first (by time; within one millisecond in the timeline's order, which every replica
/// holding the same events agrees on).
pub fn messages(doc: &CaseDoc) -> Vec<CaseMessage> {
    let mut out: Vec<CaseMessage> = doc
        .timeline
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message { from } => Some(CaseMessage {
                from: *from,
                at_ms: e.at_ms,
                node: e.node.clone(),
                text: e.note.clone().unwrap_or_default(),
            }),
            _ => None,
        })
        .collect();
    out.sort_by_key(|m| m.at_ms);
    out
}

impl Engine {
    /// Writes a message on case `id` from `from`, acted by `actor`. Refused when the text is empty or longer than
    /// `MESSAGE_CHARS_MAX`, when the case holds `MESSAGES_PER_CASE_MAX` messages, and (`TooMany`, with the seconds
    /// until one more is allowed) when this side wrote `MESSAGES_PER_SIDE_DAY` in the last 24 hours.
    pub async fn add_message(
        &self,
        id: RecordId,
        from: Party,
        text: &str,
        actor: String,
    ) -> Result<CaseMessage, EngineError> {
        let text = hifazat_domain::validate::text(text, limits::MESSAGE_CHARS_MAX)
            .map_err(|reason| Invalid::one("text", reason))?;
        let case = self.case(id).await?;
        let now = self.now_ms();
        let all = messages(&case.doc);
        if all.len() >= limits::MESSAGES_PER_CASE_MAX {
            return Err(Invalid::one(
                "text",
                format!(
                    "this case holds {} messages, the most it may; call the police station",
                    limits::MESSAGES_PER_CASE_MAX
                ),
            )
            .into());
        }
        let recent: Vec<u64> = all
            .iter()
            .filter(|m| m.from == from && m.at_ms + DAY_MS > now)
            .map(|m| m.at_ms)
            .collect();
        if recent.len() >= limits::MESSAGES_PER_SIDE_DAY {
            let oldest = recent.iter().min().copied().unwrap_or(now);
            let wait_s = (oldest + DAY_MS).saturating_sub(now).div_ceil(1_000).max(1);
            return Err(EngineError::TooMany(
                format!(
                    "{} messages a day from each side of a case; the next may be sent in {wait_s} s",
                    limits::MESSAGES_PER_SIDE_DAY
                ),
                wait_s,
            ));
        }
        let event = self
            .add_event(id, EventKind::Message { from }, Some(text), actor)
            .await?;
        Ok(CaseMessage {
            from,
            at_ms: event.at_ms,
            node: event.node,
            text: event.note.unwrap_or_default(),
        })
    }

    /// Gives case `id` a new tracking code, which ends the one before; the new code.
    pub async fn renew_tracking_code(
        &self,
        id: RecordId,
        actor: String,
    ) -> Result<TrackingCode, EngineError> {
        let mut random = [0u8; TRACKING_RANDOM_BYTES];
        OsRng.fill_bytes(&mut random);
        let code = TrackingCode::from_random(random);
        self.add_event(
            id,
            EventKind::TrackingCodeRenewed { code: code.clone() },
            None,
            actor,
        )
        .await?;
        Ok(code)
    }
}

/// Whether `code` is the case's tracking code as it now stands (an ended one is not).
pub(crate) fn is_current(doc: &CaseDoc, code: &str) -> bool {
    current_tracking_code(&doc.intake.tracking_code, &doc.timeline).as_str() == code
}
