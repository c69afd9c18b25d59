//! The remote path: entries from other nodes decoded and verified off the engine thread, then checked against
//! their logs, stored and applied.

use super::*;

/// Remote entries after decoding and signature checks, in their order: each verified, or why not.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) slots: Vec<Result<VerifiedEntry, String>>,
    /// How many were refused because their author's key was revoked before them.
    pub(crate) revoked: usize,
}

impl Checked {
    /// Decodes and verifies `raw`; an entry signed by a revoked key after its point in `topology` is refused
    /// with why, whatever its signature.
    pub(crate) fn new(raw: Vec<Vec<u8>>, topology: &Topology) -> Checked {
        let mut slots: Vec<Result<VerifiedEntry, String>> = Vec::with_capacity(raw.len());
        let mut decoded = Vec::with_capacity(raw.len());
        let mut places = Vec::with_capacity(raw.len());
        for bytes in raw {
            match Entry::decode(&bytes) {
                Ok(e) => {
                    places.push(slots.len());
                    slots.push(Err(String::new()));
                    decoded.push(e);
                }
                Err(e) => slots.push(Err(format!("does not decode: {e}"))),
            }
        }
        let mut revoked = 0;
        for (place, result) in places
            .into_iter()
            .zip(Verifier::new().verify_batch(decoded))
        {
            slots[place] = result
                .map_err(|(entry, e)| format!("{entry:?}: {e}"))
                .and_then(|entry| not_revoked(entry, topology, &mut revoked));
        }
        Checked { slots, revoked }
    }

    /// Entries whose signatures the caller verified, with the revocation rule applied.
    pub(crate) fn verified(entries: Vec<VerifiedEntry>, topology: &Topology) -> Checked {
        let mut revoked = 0;
        let slots = entries
            .into_iter()
            .map(|entry| not_revoked(entry, topology, &mut revoked))
            .collect();
        Checked { slots, revoked }
    }
}

/// The entry, unless `topology` says its author's key was revoked before it (then why, counted in `revoked`).
fn not_revoked(
    entry: VerifiedEntry,
    topology: &Topology,
    revoked: &mut usize,
) -> Result<VerifiedEntry, String> {
    let c = entry.content();
    match topology.written(&c.log, c.seq) {
        Err(e @ hifazat_topology::NotWritten::Revoked { .. }) => {
            *revoked += 1;
            Err(format!("{entry:?}: {e}"))
        }
        // Membership is the network's to check; a topology without keys (tools, tests) knows no key.
        _ => Ok(entry),
    }
}

/// What became of one remote entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    /// Verified, stored (durably, once the report arrives) and applied: the log's head is now this entry.
    Stored { log: LogId, seq: u64, hash: Hash },
    /// Already held.
    Duplicate,
    /// Entries before it in its log are missing.
    Gap,
    /// Another entry is held at its place, or it follows another entry than the one held before it (the author
    /// forked the log): both are kept as evidence.
    Conflict,
    /// Refused, with the reason.
    Invalid(String),
}

/// What applying a batch of remote entries did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteReport {
    /// One outcome per entry given, in order.
    pub outcomes: Vec<EntryOutcome>,
    /// What the stored entries did to their records' documents.
    pub applied: ApplyReport,
    /// Evidence of forks found in this batch (each kept in the store): pairs of entries.
    pub evidence: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RemoteReport {
    pub(crate) fn count(&self, which: impl Fn(&EntryOutcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| which(o)).count()
    }

    /// Entries stored.
    pub fn stored(&self) -> usize {
        self.count(|o| matches!(o, EntryOutcome::Stored { .. }))
    }

    /// Entries already held.
    pub fn duplicate(&self) -> usize {
        self.count(|o| *o == EntryOutcome::Duplicate)
    }

    /// Entries not stored for any other reason (invalid, out of order, equivocating).
    pub fn refused(&self) -> usize {
        self.outcomes.len() - self.stored() - self.duplicate()
    }
}

impl Actor {
    pub(crate) fn apply_remote(
        &mut self,
        checked: Checked,
        batch: &mut hifazat_store::WriteBatch,
    ) -> RemoteReport {
        let mut report = RemoteReport::default();
        let revoked = checked.revoked;
        let mut accepted: Vec<VerifiedEntry> = Vec::with_capacity(checked.slots.len());
        for slot in checked.slots {
            let entry = match slot {
                Ok(entry) => entry,
                Err(reason) => {
                    report.outcomes.push(EntryOutcome::Invalid(reason));
                    continue;
                }
            };
            let outcome = match self.store.append(batch, &entry, None) {
                Ok(()) => {
                    self.index_photo_piece(&entry, batch);
                    self.index_glass(&entry, batch);
                    let outcome = EntryOutcome::Stored {
                        log: entry.content().log.clone(),
                        seq: entry.content().seq,
                        hash: entry.hash(),
                    };
                    accepted.push(entry);
                    outcome
                }
                Err(AppendError::Duplicate) => EntryOutcome::Duplicate,
                Err(AppendError::Conflict { stored }) => {
                    self.store.add_evidence(batch, &stored, entry.bytes());
                    report.evidence.push((stored, entry.bytes().to_vec()));
                    EntryOutcome::Conflict
                }
                Err(AppendError::Chain(hifazat_log::ChainError::Gap { .. })) => EntryOutcome::Gap,
                Err(AppendError::Chain(e)) => EntryOutcome::Invalid(format!("{entry:?}: {e}")),
                Err(AppendError::Store(e)) => fatal(&e),
            };
            report.outcomes.push(outcome);
        }
        // Sealed notifications are kept and relayed, never applied to a record.
        accepted.retain(|e| !is_opaque(&e.content().log.scope));
        report.applied = self.replicas.apply(&accepted, &StoreSource(&self.store));
        // The earliest entry time per record, taken in one pass, dates records new to this node; the entries'
        // log scope says who may hear of the change.
        let mut first: std::collections::HashMap<[u8; 16], (u64, &Scope)> =
            std::collections::HashMap::new();
        for e in &accepted {
            let t = first
                .entry(e.content().record)
                .or_insert((e.content().timestamp_ms, &e.content().log.scope));
            t.0 = t.0.min(e.content().timestamp_ms);
        }
        for record in &report.applied.touched {
            let Some((created_ms, scope)) = first.get(&record.0).copied() else {
                continue;
            };
            if let Some((kind, created)) = self.remote_touched(*record, created_ms, batch) {
                self.changes.push(Change {
                    record: *record,
                    kind,
                    scope: scope.clone(),
                    created,
                    origin: Origin::Remote,
                });
            }
        }
        self.stats.remote_applied += report.applied.applied as u64;
        self.stats.remote_refused += report.refused() as u64;
        self.stats.remote_revoked += revoked as u64;
        self.stats.remote_set_aside += report.applied.set_aside.len() as u64;
        for (record, change) in &report.applied.set_aside {
            tracing::warn!(%record, %change, "a second creation of a record, or a change building on one, set aside: the record keeps the creation with the smaller hash, the other stays in its log as evidence");
        }
        report
    }

    /// Brings the store's indexes up to date for a record that entries from elsewhere changed, once its document
    /// reads (read once, here): a record new to this node goes into the record index (and a case's tracking code
    /// into its index), and every touched record's summary is written again. Returns the record's kind and
    /// whether it is new here, or nothing while its document does not read yet.
    pub(crate) fn remote_touched(
        &mut self,
        record: RecordId,
        created_ms: u64,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Option<(RecordKind, bool)> {
        let doc = self
            .replicas
            .get(record, &StoreSource(&self.store))
            .ok()
            .flatten()?;
        let code = doc.kind();
        let filed = match self.store.record(&record) {
            Ok(meta) => meta,
            Err(e) => fatal(&e),
        };
        let new = filed.is_none();
        // A record whose winning creation turned out to be of another kind (`put_summary` moves it).
        let moved = filed.is_some_and(|m| m.kind != code);
        if moved && let RecordDoc::Alert(_) = &doc {
            let code = hifazat_domain::AlertCode::of(&record);
            self.store.set_alert_code(batch, code.as_str(), &record);
        }
        if new {
            self.store.set_record(
                batch,
                &record,
                RecordMeta {
                    kind: code,
                    created_ms,
                },
            );
            // A case's tracking code is filed with its summary (`put_summary`).
            if let RecordDoc::Alert(_) = &doc {
                let code = hifazat_domain::AlertCode::of(&record);
                self.store.set_alert_code(batch, code.as_str(), &record);
            }
        }
        let summary = Summary::of(record, &doc, created_ms);
        self.put_summary(batch, code, record, &summary, new);
        Some((doc.kind(), new))
    }
}
