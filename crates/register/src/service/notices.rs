//! Notifications from the field: sealed at a district's or province's node, carried along its line, opened and
//! applied exactly once at the federal node.

use super::*;

/// What a district officer reports about an offender, before it is sealed.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NoticeDraft {
    /// The offender's CNIC.
    pub cnic: String,
    /// A change of name, an alias, a move, travel plans, or a new conviction.
    pub update: Update,
}

/// A notification as sealed: what was reported, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    pub cnic: String,
    pub update: Update,
    /// The reporting officer, `role:name`.
    pub by: String,
    /// The node it was recorded at.
    pub node: String,
    pub at_ms: u64,
}

impl NoticeDraft {
    /// Validates the draft and seals it to the federal node's key. Only changes the field may report are taken:
    /// the register officers alone set an entry's status or photograph.
    pub fn seal(
        &self,
        federal: &[u8; 32],
        districts: &dyn hifazat_domain::Districts,
        by: &str,
        node: &str,
        now_ms: u64,
    ) -> Result<Vec<u8>, Invalid> {
        let mut invalid = Invalid::default();
        let cnic = invalid.check("cnic", validate::cnic(&self.cnic));
        if matches!(
            self.update,
            Update::SetStatus { .. } | Update::SetPhoto { .. }
        ) {
            invalid.push(
                "update.change",
                "the field reports a rename, an alias, a move, travel or a conviction; the register officers set status and photo",
            );
        }
        let update = match self.update.validate(districts) {
            Ok(u) => Some(u),
            Err(e) => {
                for f in e.errors {
                    invalid.push(format!("update.{}", f.field), f.reason);
                }
                None
            }
        };
        let (Some(cnic), Some(update), true) = (cnic, update, invalid.errors.is_empty()) else {
            return Err(invalid);
        };
        let notice = Notice {
            cnic,
            update,
            by: by.to_owned(),
            node: node.to_owned(),
            at_ms: now_ms,
        };
        let plain = serde_json::to_vec(&notice).expect("a notice serialises");
        seal::seal(federal, &plain).map_err(|e| Invalid::one("update", e.to_string()))
    }
}

/// What became of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum NoticeOutcome {
    /// Applied to the entry with this id.
    Applied { offender: String },
    /// No entry has this CNIC: for the register officers to look into.
    Unmatched,
    /// It could not be opened, read or applied.
    Rejected { reason: String },
}

/// A notification as received at the federal node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeRecord {
    pub seq: u64,
    pub received_ms: u64,
    /// The notification log it came in (hex), and its place there.
    pub log: String,
    pub log_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    pub outcome: NoticeOutcome,
}

impl Register {
    /// Notifications received, newest first.
    pub fn notices(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<NoticeRecord>, RegisterError> {
        self.page(NOTICE, before, limit)
    }

    /// The last sequence number applied from notification log `log` (its 32-byte id), or 0.
    pub fn notice_cursor(&self, log: &[u8; 32]) -> Result<u64, RegisterError> {
        Ok(match self.vault.get(CURSOR, log)? {
            None => 0,
            Some(v) => u64::from_be_bytes(v.as_slice().try_into().map_err(|_| {
                RegisterError::Damaged("a notification cursor has the wrong length".into())
            })?),
        })
    }

    /// Takes in entry `log_seq` of notification log `log`: opens it, applies it to the entry with its CNIC (or
    /// keeps it as unmatched for the officers), and advances the log's cursor, all in one atomic write, so each
    /// notification is applied exactly once across crashes and repeats. Returns `None` for one already taken in;
    /// refuses one that skips ahead of the cursor.
    pub fn take_notice(
        &self,
        log: &[u8; 32],
        log_seq: u64,
        sealed: &[u8],
        now_ms: u64,
    ) -> Result<Option<NoticeRecord>, RegisterError> {
        let mut st = self.lock();
        let cursor = self.notice_cursor(log)?;
        if log_seq <= cursor {
            return Ok(None);
        }
        if log_seq != cursor + 1 {
            return Err(Invalid::one(
                "log_seq",
                format!("notification #{log_seq} skips ahead of #{cursor}"),
            )
            .into());
        }
        let mut batch = VaultBatch::default();
        batch.put(CURSOR, log, &log_seq.to_be_bytes());
        st.notices += 1;
        let seq = st.notices;
        let opened = seal::open(&self.node_key, sealed)
            .map_err(|e| e.to_string())
            .and_then(|plain| {
                serde_json::from_slice::<Notice>(&plain).map_err(|e| format!("does not read: {e}"))
            });
        let (notice, outcome) = match opened {
            Err(reason) => (None, NoticeOutcome::Rejected { reason }),
            Ok(notice) => {
                let validated = validate::cnic(&notice.cnic)
                    .map_err(|e| format!("cnic: {e}"))
                    .and_then(|cnic| {
                        notice
                            .update
                            .validate(&self.districts)
                            .map(|u| (cnic, u))
                            .map_err(|e| e.to_string())
                    });
                match validated {
                    Err(reason) => (Some(notice), NoticeOutcome::Rejected { reason }),
                    Ok((cnic, update)) => {
                        match st.index.get(&self.keys.cnic_hash(&cnic)).copied() {
                            None => (Some(notice), NoticeOutcome::Unmatched),
                            Some(id) => {
                                let actor = format!("notice:{}", notice.by);
                                let record = NoticeRecord {
                                    seq,
                                    received_ms: now_ms,
                                    log: hex::encode(log),
                                    log_seq,
                                    notice: Some(notice.clone()),
                                    outcome: NoticeOutcome::Applied {
                                        offender: hex::encode(id),
                                    },
                                };
                                let mut with = VaultBatch::default();
                                with.put(CURSOR, log, &log_seq.to_be_bytes());
                                self.put_sealed(&mut with, NOTICE, &seq_key(seq), &record);
                                match self.change(&mut st, &id, &actor, &update, now_ms, with) {
                                    Ok(_) => {
                                        drop(st);
                                        self.flush();
                                        return Ok(Some(record));
                                    }
                                    Err(e) => (
                                        Some(notice),
                                        NoticeOutcome::Rejected {
                                            reason: e.to_string(),
                                        },
                                    ),
                                }
                            }
                        }
                    }
                }
            }
        };
        let record = NoticeRecord {
            seq,
            received_ms: now_ms,
            log: hex::encode(log),
            log_seq,
            notice,
            outcome,
        };
        self.put_sealed(&mut batch, NOTICE, &seq_key(seq), &record);
        self.apply(batch);
        drop(st);
        self.flush();
        Ok(Some(record))
    }
}
