//! The actor: takes requests in groups, signs local changes into this node's logs, and applies each group in one
//! atomic batch.

use super::*;

pub(crate) struct Actor {
    pub(crate) signer: Signer,
    pub(crate) store: Store,
    pub(crate) replicas: Replicas,
    pub(crate) stats: Stats,
    /// This group's own new entries.
    pub(crate) written: Vec<Vec<u8>>,
    /// The records this group changed.
    pub(crate) changes: Vec<Change>,
    /// The statistics aggregates, and the facts this group's summaries hold until its batch is applied.
    pub(crate) figures: SharedFigures,
    pub(crate) pending: Pending,
    /// This node's break-glass grants in the last day, by official, once read from the store (the actor alone
    /// writes them, so what it holds stays whole).
    pub(crate) glass_grants: std::collections::HashMap<String, Vec<hifazat_store::glass::Grant>>,
}

/// A change made here, ready to be signed into this node's log.
pub(crate) struct LocalChange<'a> {
    pub(crate) scope: Scope,
    pub(crate) record: RecordId,
    /// The acting user named in the entry.
    pub(crate) actor: &'a str,
    /// The automerge change.
    pub(crate) payload: Vec<u8>,
    /// Set when the change creates the record.
    pub(crate) meta: Option<RecordMeta>,
    pub(crate) now_ms: u64,
}

/// An answer, sent once everything it could have seen is on disk.
pub(crate) type Answer = Box<dyn FnOnce() + Send>;

/// A read, run once its group's writes are applied; it sees them and makes an answer.
pub(crate) type Read = Box<dyn FnOnce(&mut Actor) -> Answer + Send>;

impl Actor {
    /// Takes requests in groups; applies each group's writes in one atomic batch; hands the group's answers to
    /// the flusher, which sends them once the group is durable. When no request waits and the flusher has nothing
    /// queued, the engine flushes the group itself: there is nothing to overlap the flush with, and handing it
    /// over would only add a thread's wake-up to the write's latency.
    pub(crate) fn run(
        mut self,
        mut rx: mpsc::Receiver<Request>,
        to_flusher: std::sync::mpsc::SyncSender<Applied>,
        flusher: thread::JoinHandle<()>,
        finisher: Finisher,
    ) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = self.store.batch();
            let mut answers: Vec<Answer> = Vec::new();
            let mut reads: Vec<Read> = Vec::new();
            let mut early_answers: Vec<Answer> = Vec::new();
            let mut request = Some(first);
            let mut group = 0;
            while let Some(r) = request.take() {
                self.handle(r, &mut batch, &mut answers, &mut early_answers, &mut reads);
                group += 1;
                if group < limits::COMMIT_GROUP_MAX {
                    request = rx.try_recv().ok();
                }
            }
            let dirty = !batch.is_empty();
            if dirty {
                if let Err(e) = self.store.apply(batch) {
                    fatal(&e);
                }
                self.stats.commit_groups += 1;
            }
            self.pending.clear();
            // Relayed entries are answered once applied, without waiting for the flush.
            early_answers.into_iter().for_each(|answer| answer());
            for read in reads {
                answers.push(read(&mut self));
            }
            let evicted = self.replicas.take_evicted();
            let written = std::mem::take(&mut self.written);
            let changes = merged(std::mem::take(&mut self.changes));
            let applied = Applied {
                dirty,
                answers,
                evicted,
                written,
                changes,
            };
            // Every group queued earlier is finished once `queued` reads zero, so finishing this one here keeps
            // the order in which groups are answered and announced.
            if rx.is_empty() && finisher.queued.load(std::sync::atomic::Ordering::Acquire) == 0 {
                finisher.finish(vec![applied]);
                continue;
            }
            finisher
                .queued
                .fetch_add(1, std::sync::atomic::Ordering::Release);
            if to_flusher.send(applied).is_err() {
                break;
            }
        }
        drop(to_flusher);
        let _ = flusher.join();
    }

    pub(crate) fn handle(
        &mut self,
        request: Request,
        batch: &mut hifazat_store::WriteBatch,
        answers: &mut Vec<Answer>,
        early_answers: &mut Vec<Answer>,
        reads: &mut Vec<Read>,
    ) {
        match request {
            Request::Create { new, reply } => {
                let result = self.create(*new, batch);
                answers.push(Box::new(move || {
                    let _ = reply.send(result);
                }));
            }
            Request::GetAlert { id, reply } => reads.push(Box::new(move |actor: &mut Actor| {
                let result = actor.get_alert(id);
                Box::new(move || {
                    let _ = reply.send(result);
                })
            })),
            Request::GetFound { id, reply } => reads.push(Box::new(move |actor: &mut Actor| {
                let result = actor.get_found(id);
                Box::new(move || {
                    let _ = reply.send(result);
                })
            })),
            Request::GetCase { id, reply } => reads.push(Box::new(move |actor: &mut Actor| {
                let result = actor.get_case(id);
                Box::new(move || {
                    let _ = reply.send(result);
                })
            })),
            Request::AddEvent { id, event, reply } => {
                let result = self.add_event(id, event, batch);
                answers.push(Box::new(move || {
                    let _ = reply.send(result);
                }));
            }
            Request::AddSighting {
                id,
                sighting,
                actor,
                now_ms,
                reply,
            } => {
                let result = self.add_sighting(id, &sighting, &actor, now_ms, batch);
                answers.push(Box::new(move || {
                    let _ = reply.send(result);
                }));
            }
            Request::Barrier { reply } => reads.push(Box::new(move |_: &mut Actor| {
                Box::new(move || {
                    let _ = reply.send(());
                })
            })),
            Request::ApplyRemote {
                checked,
                early,
                reply,
            } => {
                let report = self.apply_remote(*checked, batch);
                let answer: Answer = Box::new(move || {
                    let _ = reply.send(report);
                });
                if early {
                    early_answers.push(answer);
                } else {
                    answers.push(answer);
                }
            }
            Request::Notice {
                scope,
                sealed,
                actor,
                now_ms,
                reply,
            } => {
                let result = self.notice(scope, sealed, &actor, now_ms, batch);
                answers.push(Box::new(move || {
                    let _ = reply.send(result);
                }));
            }
            Request::Glass {
                scope,
                glass,
                reply,
            } => {
                let result = self.glass(scope, *glass, batch);
                answers.push(Box::new(move || {
                    let _ = reply.send(result);
                }));
            }
            Request::Photo { op, now_ms, reply } => {
                let result = self.photo(op, now_ms, batch);
                answers.push(Box::new(move || {
                    let _ = reply.send(result);
                }));
            }
            Request::Stats { reply } => reads.push(Box::new(move |actor: &mut Actor| {
                actor.stats.waiting_changes = actor.replicas.waiting();
                let stats = actor.stats.clone();
                Box::new(move || {
                    let _ = reply.send(stats);
                })
            })),
        }
    }

    /// Signs a local change as the next entry of this node's log for its scope, and adds it to `batch`.
    pub(crate) fn write(
        &mut self,
        change: LocalChange<'_>,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<(), EngineError> {
        let LocalChange {
            scope,
            record,
            actor,
            payload,
            meta,
            now_ms,
        } = change;
        let log = LogId {
            author: self.signer.author(),
            scope,
        };
        // The store knows the head, including entries already added to this group's batch.
        let head = match self.store.head_in(batch, &log.digest()) {
            Ok(head) => head.map(|h| h.head),
            Err(e) => fatal(&e),
        };
        let content = Content::following(log, head, now_ms, record.0, actor.to_owned(), payload);
        let entry = match self.signer.sign(content) {
            Ok(entry) => entry,
            Err(e) => {
                self.replicas.forget(record);
                return Err(
                    Invalid::one("(record)", format!("the change cannot be carried: {e}")).into(),
                );
            }
        };
        match self.store.append(batch, &entry, meta) {
            Ok(()) => {
                self.index_photo_piece(&entry, batch);
                self.written.push(entry.bytes().to_vec());
            }
            Err(AppendError::Store(e)) => fatal(&e),
            // The content was built on the head the store gave; refusing it is a bug.
            Err(e) => panic!("own entry {entry:?} refused by the store: {e}"),
        }
        self.stats.local_writes += 1;
        Ok(())
    }

    /// Signs a sealed register notification into this node's notices log. Its record id is random: it names no
    /// record, only the notification.
    pub(crate) fn notice(
        &mut self,
        scope: Scope,
        sealed: Vec<u8>,
        actor: &str,
        now_ms: u64,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<NoticeWritten, EngineError> {
        let log = LogId {
            author: self.signer.author(),
            scope: scope.clone(),
        };
        self.write(
            LocalChange {
                scope,
                record: new_record_id(now_ms),
                actor,
                payload: sealed,
                meta: None,
                now_ms,
            },
            batch,
        )?;
        let seq = match self.store.head_in(batch, &log.digest()) {
            Ok(Some(head)) => head.head.seq,
            Ok(None) => unreachable!("the notice was just added to the batch"),
            Err(e) => fatal(&e),
        };
        Ok(NoticeWritten { log, seq })
    }

    /// Signs and stores a record made on a caller's thread, then keeps its document.
    pub(crate) fn create(
        &mut self,
        new: Created,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<RecordId, EngineError> {
        // The photos it names must be here, before anything is written.
        for (photo, use_) in &new.photos {
            self.photo_ready(*photo, *use_)?;
        }
        let record = new.record.record();
        let announced = Change {
            record,
            kind: new.kind,
            scope: new.scope.clone(),
            created: true,
            origin: Origin::Local,
        };
        let change = LocalChange {
            scope: new.scope,
            record,
            actor: &new.actor,
            payload: new.record.change().to_vec(),
            meta: Some(new.meta),
            now_ms: new.now_ms,
        };
        self.write(change, batch)?;
        self.replicas.adopt(new.record);
        self.put_summary(batch, new.meta.kind, record, &new.summary, true);
        if new.meta.kind == RecordKind::Alert {
            let code = hifazat_domain::AlertCode::of(&record);
            self.store.set_alert_code(batch, code.as_str(), &record);
        }
        for (id, use_) in new.photos {
            let op = match use_ {
                PhotoUse::Publish => photos::PhotoOp::Publish {
                    id,
                    actor: new.actor.clone(),
                },
                PhotoUse::KeepFound => photos::PhotoOp::KeepFound { id },
            };
            self.photo(op, new.now_ms, batch)
                .expect("a photo found ready is published or kept");
        }
        self.changes.push(announced);
        Ok(record)
    }

    pub(crate) fn get_alert(&mut self, id: RecordId) -> Result<AlertRecord, EngineError> {
        match self.replicas.get(id, &StoreSource(&self.store))? {
            Some(RecordDoc::Alert(doc)) => Ok(AlertRecord {
                id,
                status: alert_status(&doc.timeline),
                doc,
            }),
            _ => Err(EngineError::NotFound(id)),
        }
    }

    pub(crate) fn get_found(&mut self, id: RecordId) -> Result<FoundRecord, EngineError> {
        match self.replicas.get(id, &StoreSource(&self.store))? {
            Some(RecordDoc::Found(doc)) => Ok(FoundRecord {
                id,
                status: hifazat_domain::found_status(&doc.timeline),
                doc,
            }),
            _ => Err(EngineError::NotFound(id)),
        }
    }

    pub(crate) fn get_case(&mut self, id: RecordId) -> Result<CaseRecord, EngineError> {
        match self.replicas.get(id, &StoreSource(&self.store))? {
            Some(RecordDoc::Case(doc)) => Ok(CaseRecord {
                id,
                status: case_status(&doc.timeline),
                doc,
            }),
            _ => Err(EngineError::NotFound(id)),
        }
    }

    /// The log scope a change to `doc` goes in: alerts in this node's alerts log, a case in its district's.
    pub(crate) fn scope_of(doc: &RecordDoc) -> Result<Scope, EngineError> {
        match doc {
            RecordDoc::Alert(_) => Ok(Scope::alerts()),
            RecordDoc::Case(c) => Scope::cases(&c.intake.district)
                .map_err(|_| Invalid::one("district", "the case's district is not valid").into()),
            // A found child's report goes along its district's line, as the district's cases do.
            RecordDoc::Found(f) => Scope::cases(&f.intake.place.district).map_err(|_| {
                Invalid::one("place.district", "the report's district is not valid").into()
            }),
        }
    }

    pub(crate) fn add_event(
        &mut self,
        id: RecordId,
        event: Event,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<(), EngineError> {
        let mut doc = self
            .replicas
            .get(id, &StoreSource(&self.store))?
            .ok_or(EngineError::NotFound(id))?;
        event.kind.validate(doc.kind())?;
        let scope = Self::scope_of(&doc)?;
        let payload = appended(self.replicas.append_event(
            id,
            &StoreSource(&self.store),
            &event,
            event.at_ms,
        ))?;
        // The document as it now is, for its summary, without reading it again.
        doc.timeline_mut().push(event.clone());
        self.updated(id, &doc, scope, &event.by, payload, event.at_ms, batch)
    }

    pub(crate) fn add_sighting(
        &mut self,
        id: RecordId,
        sighting: &Sighting,
        actor: &str,
        now_ms: u64,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<usize, EngineError> {
        let mut doc = self
            .replicas
            .get(id, &StoreSource(&self.store))?
            .ok_or(EngineError::NotFound(id))?;
        let RecordDoc::Alert(alert) = &mut doc else {
            return Err(EngineError::NotFound(id));
        };
        let payload = appended(self.replicas.append_sighting(
            id,
            &StoreSource(&self.store),
            sighting,
            now_ms,
        ))?;
        alert.sightings.push(sighting.clone());
        let count = alert.sightings.len();
        self.updated(id, &doc, Scope::alerts(), actor, payload, now_ms, batch)?;
        Ok(count)
    }

    /// Signs a change to an existing record into this node's log for `scope`, and writes the summary of `doc`,
    /// the record with the change.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn updated(
        &mut self,
        record: RecordId,
        doc: &RecordDoc,
        scope: Scope,
        actor: &str,
        payload: Vec<u8>,
        now_ms: u64,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<(), EngineError> {
        let announced = Change {
            record,
            kind: doc.kind(),
            scope: scope.clone(),
            created: false,
            origin: Origin::Local,
        };
        self.write(
            LocalChange {
                scope,
                record,
                actor,
                payload,
                meta: None,
                now_ms,
            },
            batch,
        )?;
        let summary = Summary::of(record, doc, now_ms);
        self.put_summary(batch, doc.kind(), record, &summary, false);
        self.changes.push(announced);
        Ok(())
    }
}

/// A record at its limit of events or sightings is the caller's to know (422); other replica failures are the
/// node's.
pub(crate) fn appended(result: Result<Vec<u8>, ReplicaError>) -> Result<Vec<u8>, EngineError> {
    match result {
        Err(e @ ReplicaError::Full(..)) => Err(Invalid::one("(record)", e.to_string()).into()),
        other => Ok(other?),
    }
}

/// One announcement per record for a group, in the order the records first changed: a record that two requests
/// of one group touched is announced once, as created if either created it.
pub(crate) fn merged(changes: Vec<Change>) -> Vec<Change> {
    if changes.len() < 2 {
        return changes;
    }
    // A break-glass use is announced on its record apart from the record's own changes.
    let mut at: std::collections::HashMap<(RecordId, bool), usize> =
        std::collections::HashMap::new();
    let mut out: Vec<Change> = Vec::with_capacity(changes.len());
    for change in changes {
        let key = (change.record, matches!(change.scope, Scope::Access { .. }));
        match at.get(&key) {
            Some(&i) => out[i].created |= change.created,
            None => {
                at.insert(key, out.len());
                out.push(change);
            }
        }
    }
    out
}
