//! Entries a revoked key signed after its point, which this node took before the topology that revokes the key
//! reached it: taken out when the engine starts under that topology, and every record they changed read again
//! from what remains.

use std::collections::{BTreeSet, HashMap};

use hifazat_topology::Writer;

use super::*;

impl Actor {
    /// For each log held here whose key `topology` revokes, and which reaches past the key's point: its entries
    /// after the point removed (`Store::truncate_log`), then each record they changed read again from the entries
    /// left; a record with none left (or none that reads as a record) leaves the lists, the places and the
    /// statistics. Returns how many entries were removed. Called once, before the engine takes any request.
    pub(crate) fn purge_revoked(&mut self, topology: &Topology) -> Result<u64, StoreError> {
        let mut batch = self.store.batch();
        let mut cut: HashMap<Hash, u64> = HashMap::new();
        let mut records: BTreeSet<RecordId> = BTreeSet::new();
        let mut removed = 0u64;
        for head in self.store.heads()? {
            let Some(writer @ Writer::Revoked(node, _)) = topology.writer(&head.log.author.0)
            else {
                continue;
            };
            let point = writer.valid_up_to(&head.log.scope);
            if head.head.seq <= point {
                continue;
            }
            let gone = self.store.truncate_log(&mut batch, &head.log, point)?;
            tracing::warn!(
                log = %head.log,
                node = %node.name,
                point,
                removed = gone.len(),
                "entries signed by a revoked key after its point taken out"
            );
            removed += gone.len() as u64;
            cut.insert(head.log.digest(), point);
            if !is_opaque(&head.log.scope) {
                records.extend(gone.iter().map(|e| RecordId(e.content().record)));
            }
        }
        if removed == 0 {
            return Ok(0);
        }
        // The records are read from the entries the batch leaves, and written in the same batch: a crash keeps
        // both as they were, or both as they are now.
        for record in records {
            self.replicas.forget(record);
            self.reread(record, &cut, &mut batch)?;
        }
        self.store.commit(batch)?;
        self.replicas.take_evicted();
        self.pending.clear();
        self.stats.remote_revoked += removed;
        Ok(removed)
    }

    /// Brings a record's summary, place and figures up to date with the entries held for it, or takes it out of
    /// them when none is left that reads as a record.
    fn reread(
        &mut self,
        record: RecordId,
        cut: &HashMap<Hash, u64>,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<(), StoreError> {
        let Some(meta) = self.store.record(&record)? else {
            return Ok(());
        };
        let left = Left {
            store: &self.store,
            cut,
        };
        let doc = self.replicas.get(record, &left);
        // Read from the entries left; the next use reads it from the store, which then holds just those.
        self.replicas.forget(record);
        if let Ok(Some(doc)) = doc {
            let summary = Summary::of(record, &doc, meta.created_ms);
            self.put_summary(batch, doc.kind(), record, &summary, false);
            return Ok(());
        }
        if let Some(old) = self
            .store
            .summary(meta.kind, &record)?
            .and_then(|b| Summary::stored_facts(meta.kind, &b))
        {
            self.store.remove_summary(batch, meta.kind, &record);
            self.store
                .set_place(batch, meta.kind, &old.district, &record, None);
            let mut figures = self.figures.write().expect("figures lock");
            for key in figures.remove(&old) {
                let cell = figures.encoded(&key);
                self.store.set_figure(batch, &key.encode(), cell.as_deref());
            }
        }
        if meta.kind == RecordKind::Alert {
            let code = hifazat_domain::AlertCode::of(&record);
            self.store.remove_alert_code(batch, code.as_str(), &record);
        }
        self.store.remove_record(batch, &record);
        Ok(())
    }
}

/// A record's changes from the entries a purge leaves: those of the store less each cut log's past its point.
struct Left<'a> {
    store: &'a Store,
    cut: &'a HashMap<Hash, u64>,
}

impl ChangeSource for Left<'_> {
    fn changes(&self, record: RecordId) -> Vec<Vec<u8>> {
        let entries = match self.store.record_entries(&record) {
            Ok(entries) => entries,
            Err(e) => fatal(&e),
        };
        entries
            .into_iter()
            .filter(|e| {
                let c = e.content();
                self.cut
                    .get(&c.log.digest())
                    .is_none_or(|point| c.seq <= *point)
            })
            .map(|e| e.into_content().payload)
            .collect()
    }
}
