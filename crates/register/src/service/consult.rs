//! Consultations: verifying a CNIC for an institution, a register officer's search, and the logs of both and of
//! the alarms the guard raises.

use super::*;

/// How a consultation arrived. (Named `ConsultationChannel` in the OpenAPI document, apart from the channel a
/// report came in on.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ConsultationChannel))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// `POST /api/v1/register/verify`.
    Api,
    /// A text to the short code.
    Sms,
    /// A register officer's search.
    Officer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsultOutcome {
    Record,
    NoRecord,
    Refused {
        reason: Refusal,
    },
    /// The input was not a CNIC.
    Invalid,
}

/// One consultation, as logged before it is answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consultation {
    pub seq: u64,
    pub at_ms: u64,
    /// `role:name` for API users, `sms:+92…` for texts.
    pub requester: String,
    pub channel: Channel,
    /// The keyed hash of the CNIC asked about, in hex; absent when the input was not a CNIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnic_hash: Option<String>,
    pub outcome: ConsultOutcome,
    /// The reference the reply carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// An alarm, as kept for register officers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlarmRecord {
    pub seq: u64,
    #[serde(flatten)]
    pub alarm: Alarm,
}

/// Who asked about what, how, and when.
struct Asked<'a> {
    requester: &'a Requester,
    channel: Channel,
    cnic_hash: Option<&'a [u8; 32]>,
    now_ms: u64,
}

impl Register {
    /// The CNIC as asked, checked; a malformed one is refused and its consultation logged as invalid.
    fn checked_cnic(
        &self,
        requester: &Requester,
        channel: Channel,
        cnic: &str,
        now_ms: u64,
    ) -> Result<String, RegisterError> {
        validate::cnic(cnic).map_err(|reason| {
            self.consulted(
                Asked {
                    requester,
                    channel,
                    cnic_hash: None,
                    now_ms,
                },
                ConsultOutcome::Invalid,
                None,
                None,
            );
            Invalid::one("cnic", reason).into()
        })
    }

    /// Logs one consultation (and the alarm it started) and makes it durable.
    fn consulted(
        &self,
        asked: Asked<'_>,
        outcome: ConsultOutcome,
        reference: Option<String>,
        alarm: Option<Alarm>,
    ) {
        let Asked {
            requester,
            channel,
            cnic_hash,
            now_ms,
        } = asked;
        let mut st = self.lock();
        st.consultations += 1;
        let consultation = Consultation {
            seq: st.consultations,
            at_ms: now_ms,
            requester: requester.label(),
            channel,
            cnic_hash: cnic_hash.map(hex::encode),
            outcome,
            reference,
        };
        let mut batch = VaultBatch::default();
        self.put_sealed(
            &mut batch,
            CONSULTATION,
            &seq_key(consultation.seq),
            &consultation,
        );
        if matches!(consultation.outcome, ConsultOutcome::Refused { .. }) {
            st.refused += 1;
        }
        if let Some(alarm) = alarm {
            st.alarms += 1;
            tracing::warn!(
                signal = ?alarm.signal,
                count = alarm.count,
                "register verification alarm: a scan may be under way; new senders get no answers while it lasts"
            );
            let record = AlarmRecord {
                seq: st.alarms,
                alarm,
            };
            self.put_sealed(&mut batch, ALARM, &seq_key(record.seq), &record);
        }
        self.apply(batch);
        drop(st);
        self.flush();
    }

    /// Verifies a CNIC. The consultation is on disk before this returns. A hit and a miss do the same work: both
    /// read and decrypt an entry (a miss reads the decoy) and log the same way; the guard decides before the
    /// index is read, without knowing the outcome.
    pub fn verify(
        &self,
        requester: &Requester,
        channel: Channel,
        cnic: &str,
        now_ms: u64,
    ) -> Result<VerifyReply, RegisterError> {
        let cnic = self.checked_cnic(requester, channel, cnic, now_ms)?;
        let hash = self.keys.cnic_hash(&cnic);
        let (verdict, alarm, id) = {
            let mut st = self.lock();
            let (verdict, alarm) = st.guard.check(requester, &cnic, &hash, now_ms);
            (verdict, alarm, st.index.get(&hash).copied())
        };
        if let Verdict::Refuse {
            reason,
            retry_after_ms,
        } = verdict
        {
            self.consulted(
                Asked {
                    requester,
                    channel,
                    cnic_hash: Some(&hash),
                    now_ms,
                },
                ConsultOutcome::Refused { reason },
                None,
                alarm,
            );
            return Err(RegisterError::Refused {
                reason,
                retry_after_ms,
            });
        }
        let read = self.read_offender(id.as_ref().unwrap_or(&DECOY))?;
        let found = (id.is_some() && read.answers()).then_some(read);
        let reference = new_reference();
        let reply = VerifyReply::new(found.as_ref(), self.disclosure, reference.clone());
        let outcome = if found.is_some() {
            ConsultOutcome::Record
        } else {
            ConsultOutcome::NoRecord
        };
        self.consulted(
            Asked {
                requester,
                channel,
                cnic_hash: Some(&hash),
                now_ms,
            },
            outcome,
            Some(reference),
            alarm,
        );
        Ok(reply)
    }

    /// A register officer's search by CNIC: the entry, if any (whatever its status). Logged as a consultation.
    pub fn find(
        &self,
        officer: &str,
        cnic: &str,
        now_ms: u64,
    ) -> Result<Option<Offender>, RegisterError> {
        let requester = Requester::User(officer.to_owned());
        let cnic = self.checked_cnic(&requester, Channel::Officer, cnic, now_ms)?;
        let hash = self.keys.cnic_hash(&cnic);
        let id = self.lock().index.get(&hash).copied();
        let found = id.map(|id| self.read_offender(&id)).transpose()?;
        let outcome = if found.is_some() {
            ConsultOutcome::Record
        } else {
            ConsultOutcome::NoRecord
        };
        self.consulted(
            Asked {
                requester: &requester,
                channel: Channel::Officer,
                cnic_hash: Some(&hash),
                now_ms,
            },
            outcome,
            None,
            None,
        );
        Ok(found)
    }

    /// Consultations, newest first, before `before` (a sequence number), at most `limit`.
    pub fn consultations(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Consultation>, RegisterError> {
        self.page(CONSULTATION, before, limit)
    }

    /// Alarms, newest first.
    pub fn alarms(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AlarmRecord>, RegisterError> {
        self.page(ALARM, before, limit)
    }

    pub(super) fn page<T: serde::de::DeserializeOwned>(
        &self,
        tree: u8,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<T>, RegisterError> {
        let limit = limit.min(limits::REGISTER_PAGE_MAX);
        // Sequence numbers run from 1 to the last without gaps; a `before` past the last starts at the last,
        // so a client's large number costs no walk through numbers never given.
        let last = last_seq(&self.vault, tree)?;
        let top = before.map_or(last, |b| b.saturating_sub(1).min(last));
        let mut out = Vec::with_capacity(limit);
        let mut seq = top;
        while seq >= 1 && out.len() < limit {
            if let Some(v) = self.vault.get(tree, &seq_key(seq))? {
                out.push(self.open_json(tree, &seq_key(seq), &v)?);
            }
            seq -= 1;
        }
        Ok(out)
    }
}
