//! The statistics aggregates (`hifazat-figures`), kept with every change: each summary the engine writes moves
//! the record's facts in the cells, and the cells it moved go into the same atomic batch. Loaded when the engine
//! starts; a store written before they were kept gets them built once from its summaries.

use std::collections::HashMap;
use std::sync::RwLock;

use hifazat_figures::{Facts, Figures, Key};

use super::*;

/// The store's marker that its aggregates are complete: written in the batch that finishes building them. A store
/// with only an earlier form's marker gets them built again: `figures-v1` stored cells as JSON, `figures-v2`
/// stored all-time cells and months with durations, `figures-v3` counted no channels.
pub const BUILT: &str = "figures-v4";
/// Cells written per batch while building.
const BUILD_BATCH_CELLS: usize = 4_096;

/// The aggregates, shared: the actor writes them, reads take them under the lock and then wait for a barrier,
/// so they answer only with what is on disk.
pub(crate) type SharedFigures = Arc<RwLock<Figures>>;

/// The facts of summaries written in the group not yet applied: the store cannot be read for them.
#[derive(Default)]
pub(crate) struct Pending(HashMap<RecordId, Facts>);

impl Pending {
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

impl Actor {
    /// Writes a record's summary, moves its facts in the aggregates and files it in the index of places under its
    /// district and stage (`places`), in one batch. `new_record` says the record has no summary yet (so none is
    /// read).
    pub(crate) fn put_summary(
        &mut self,
        batch: &mut hifazat_store::WriteBatch,
        kind: RecordKind,
        record: RecordId,
        summary: &summary::Summary,
        new_record: bool,
    ) {
        if let Some(code) = summary.tracking_code() {
            // Written with every change, so a new code is found as soon as it is held; an ended code's key stays,
            // and a lookup checks the code against the case (`Engine::case_by_tracking`).
            self.store.set_tracking(batch, code, &record);
        }
        let new = summary.facts();
        let old = match self.pending.0.remove(&record) {
            Some(facts) => Some(facts),
            None if new_record => None,
            None => {
                let filed = match self.store.record(&record) {
                    Ok(meta) => meta.map_or(kind, |m| m.kind),
                    Err(e) => fatal(&e),
                };
                match self.store.summary(filed, &record) {
                    Ok(bytes) => bytes.and_then(|b| summary::Summary::stored_facts(filed, &b)),
                    Err(e) => fatal(&e),
                }
            }
        };
        if let Some(o) = old.as_ref().filter(|o| o.kind != kind) {
            // The record's winning creation is of another kind than the one it was filed under (two creations of
            // one id, `hifazat_replica::settle`): it moves, and its old facts leave the figures below.
            self.store.remove_summary(batch, o.kind, &record);
            self.store
                .set_place(batch, o.kind, &o.district, &record, None);
            let created_ms = o.created_ms;
            self.store
                .set_record(batch, &record, RecordMeta { kind, created_ms });
        }
        let moved = old
            .as_ref()
            .is_none_or(|o| o.kind != kind || o.district != new.district || o.status != new.status);
        if moved {
            if let Some(o) = old
                .as_ref()
                .filter(|o| o.kind == kind && o.district != new.district)
            {
                self.store
                    .set_place(batch, kind, &o.district, &record, None);
            }
            self.store
                .set_place(batch, kind, &new.district, &record, Some(&new.status));
        }
        let mut figures = self.figures.write().expect("figures lock");
        for key in figures.change(old.as_ref(), &new) {
            let cell = figures.encoded(&key);
            self.store.set_figure(batch, &key.encode(), cell.as_deref());
        }
        drop(figures);
        self.store
            .set_summary(batch, kind, &record, &summary.encode());
        self.pending.0.insert(record, new);
    }
}

/// The aggregates of the store's summaries, built afresh.
pub(crate) fn rebuild(store: &Store) -> Result<Figures, StoreError> {
    let mut figures = Figures::new();
    for kind in [RecordKind::Alert, RecordKind::Case, RecordKind::Found] {
        for (n, item) in store.summaries(kind, None).enumerate() {
            let (_, bytes) = item?;
            if let Some(facts) = summary::Summary::stored_facts(kind, &bytes) {
                figures.change(None, &facts);
            }
            if (n + 1) % 100_000 == 0 {
                tracing::info!(kind = ?kind, summaries = n + 1, "building the statistics aggregates");
            }
        }
    }
    Ok(figures)
}

/// The aggregates as stored, or `None` when the store has not built them yet.
fn stored(store: &Store) -> Result<Option<Figures>, StoreError> {
    if store.meta(BUILT)?.is_none() {
        return Ok(None);
    }
    let mut figures = Figures::new();
    for item in store.figures() {
        let (k, v) = item?;
        let damaged = |what: &str| StoreError::Corrupt {
            key: k.iter().map(|b| format!("{b:02x}")).collect(),
            reason: format!("a statistics aggregate's {what} does not read"),
        };
        let key = Key::decode(&k).ok_or_else(|| damaged("key"))?;
        let cell = hifazat_figures::Cell::decode(&v).ok_or_else(|| damaged("cell"))?;
        figures.load(key, cell);
    }
    Ok(Some(figures))
}

/// What `hifazat log verify` found of the statistics aggregates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FiguresCheck {
    /// The store has none yet (it builds them when a node next starts on it).
    NotBuilt,
    /// Rebuilt from the records' documents (from their entries): the cells that differ from the stored ones.
    Checked {
        records: u64,
        cells: usize,
        differences: Vec<String>,
    },
}

/// Rebuilds the statistics aggregates from every record's document, read from its entries, and compares them with
/// the stored ones; `progress` hears the records done.
pub fn verify_figures(
    store: &Store,
    mut progress: impl FnMut(u64),
) -> Result<FiguresCheck, StoreError> {
    let Some(kept) = stored(store)? else {
        return Ok(FiguresCheck::NotBuilt);
    };
    let mut fresh = Figures::new();
    let mut replicas = Replicas::new([0; 32]);
    let records = store.records()?;
    for (n, (id, meta)) in records.iter().enumerate() {
        if let Ok(Some(doc)) = replicas.get(*id, &StoreSource(store)) {
            fresh.change(
                None,
                &summary::Summary::of(*id, &doc, meta.created_ms).facts(),
            );
        }
        replicas.take_evicted();
        progress(n as u64 + 1);
    }
    Ok(FiguresCheck::Checked {
        records: records.len() as u64,
        cells: kept.stored_len(),
        differences: kept
            .differences(&fresh)
            .iter()
            .map(|k| format!("{:?} {:?} {}", k.kind, k.period, k.district))
            .collect(),
    })
}

/// The aggregates as stored; built from the summaries and written first when the store has none yet.
pub(crate) fn load(store: &Store) -> Result<Figures, StoreError> {
    if let Some(figures) = stored(store)? {
        return Ok(figures);
    }
    // Cells left by an earlier form, or by a build a crash cut short, go first.
    let old: Vec<Vec<u8>> = store
        .figures()
        .map(|item| item.map(|(k, _)| k))
        .collect::<Result<_, _>>()?;
    for chunk in old.chunks(BUILD_BATCH_CELLS) {
        let mut batch = store.batch();
        for k in chunk {
            store.set_figure(&mut batch, k, None);
        }
        store.apply(batch)?;
    }
    let figures = rebuild(store)?;
    let cells: Vec<(Key, Vec<u8>)> = figures
        .stored_cells()
        .map(|(k, c)| (k.clone(), c))
        .collect();
    tracing::info!(cells = cells.len(), "writing the statistics aggregates");
    for chunk in cells.chunks(BUILD_BATCH_CELLS) {
        let mut batch = store.batch();
        for (k, c) in chunk {
            store.set_figure(&mut batch, &k.encode(), Some(c));
        }
        store.apply(batch)?;
    }
    // The marker last, in the flush that makes every cell durable: a crash before it builds them again.
    let mut batch = store.batch();
    store.set_meta(&mut batch, BUILT, b"1");
    store.commit(batch)?;
    Ok(figures)
}

impl Engine {
    /// Reads the statistics aggregates, then waits until everything they count is on disk.
    pub async fn read_figures<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Figures) -> T + Send + 'static,
    ) -> Result<T, EngineError> {
        let figures = self.local.figures.clone();
        let out = tokio::task::spawn_blocking(move || read(&figures.read().expect("figures lock")))
            .await
            .map_err(|_| EngineError::Stopped)?;
        self.call(|reply| Request::Barrier { reply }).await?;
        Ok(out)
    }

    /// The cells of the aggregates that differ from a rebuild from the stored summaries (none when they agree).
    pub async fn check_figures(&self) -> Result<Vec<Key>, EngineError> {
        self.call(|reply| Request::Barrier { reply }).await?;
        let (store, figures) = (self.local.store.clone(), self.local.figures.clone());
        tokio::task::spawn_blocking(move || -> Result<Vec<Key>, StoreError> {
            let fresh = rebuild(&store)?;
            Ok(figures.read().expect("figures lock").differences(&fresh))
        })
        .await
        .map_err(|_| EngineError::Stopped)?
        .map_err(EngineError::from)
    }
}
