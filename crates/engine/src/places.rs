//! The index of places: every record filed under its district with its stage's name (store prefix `P`), written
//! in the batch of each summary that moves it (`aggregates::put_summary`). A list narrowed to a district, a
//! region or a province reads those districts' records only, newest first, merged across districts, instead of
//! scanning every record the node holds.

use std::collections::BinaryHeap;

use super::*;

/// The store's marker that its index of places is complete.
pub const BUILT: &str = "places-v1";
/// Records filed per batch while building.
const BUILD_BATCH: usize = 4_096;

/// What a list is narrowed to, so that only those records are read: `keep` still decides what is listed, this
/// only chooses what is looked at. The default reads every record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Narrow {
    /// The districts the records must be in; `None` for anywhere.
    pub districts: Option<Vec<String>>,
    /// The name of the stage the records must be at (`under_investigation`), read from the index before the
    /// summary is.
    pub stage: Option<String>,
}

/// Builds the index from the summaries when the store has none yet (written before it was kept, or cut short).
pub(crate) fn ensure(store: &Store) -> Result<(), StoreError> {
    if store.meta(BUILT)?.is_some() {
        return Ok(());
    }
    let cleared = store.clear_places()?;
    tracing::info!(cleared, "building the index of places");
    for kind in [RecordKind::Alert, RecordKind::Case, RecordKind::Found] {
        let mut batch = store.batch();
        for (n, item) in store.summaries(kind, None).enumerate() {
            let (id, bytes) = item?;
            if let Some(facts) = summary::Summary::stored_facts(kind, &bytes) {
                store.set_place(&mut batch, kind, &facts.district, &id, Some(&facts.status));
            }
            if (n + 1) % BUILD_BATCH == 0 {
                store.apply(std::mem::replace(&mut batch, store.batch()))?;
            }
            if (n + 1) % 100_000 == 0 {
                tracing::info!(kind = ?kind, summaries = n + 1, "building the index of places");
            }
        }
        store.apply(batch)?;
    }
    // The marker last, in the flush that makes every key durable: a crash before it builds the index again.
    let mut batch = store.batch();
    store.set_meta(&mut batch, BUILT, b"1");
    store.commit(batch)
}

/// A page of `kind`'s records in `districts`, newest first below `before`, at `stage` when given, that `pick`
/// keeps: the index's lists of each district merged by id (ids begin with their creation time). Stops at `limit`
/// items or after looking at `LIST_SCAN_MAX` records, and says where to go on.
pub(crate) fn page<T>(
    store: &Store,
    kind: RecordKind,
    narrow: &Narrow,
    districts: &[String],
    before: Option<&RecordId>,
    limit: usize,
    pick: impl Fn(&[u8]) -> Option<T>,
) -> Result<Page<T>, StoreError> {
    let mut lists: Vec<_> = districts
        .iter()
        .map(|d| store.places(kind, d, before))
        .collect();
    let mut heads = BinaryHeap::new();
    for (i, list) in lists.iter_mut().enumerate() {
        if let Some(item) = list.next() {
            let (id, stage) = item?;
            heads.push((id, i, stage));
        }
    }
    let mut page = Page {
        items: Vec::new(),
        next: None,
        scanned: 0,
    };
    while let Some((id, i, stage)) = heads.pop() {
        if let Some(item) = lists[i].next() {
            let (next, stage) = item?;
            heads.push((next, i, stage));
        }
        page.scanned += 1;
        if narrow.stage.as_ref().is_none_or(|s| s.as_bytes() == stage)
            && let Some(bytes) = store.summary(kind, &id)?
            && let Some(t) = pick(&bytes)
        {
            page.items.push(t);
        }
        if page.items.len() == limit || page.scanned == limits::LIST_SCAN_MAX {
            page.next = Some(id);
            break;
        }
    }
    Ok(page)
}
