//! Making groups durable: the flusher, and the rule that an answer is sent only once everything it could have
//! seen is on disk. A store that fails a write or a flush ends the process.

use super::*;

pub(crate) struct StoreSource<'a>(pub(crate) &'a Store);

impl ChangeSource for StoreSource<'_> {
    fn changes(&self, record: RecordId) -> Vec<Vec<u8>> {
        match self.0.record_changes(&record) {
            Ok(changes) => changes,
            Err(e) => fatal(&e),
        }
    }
}

pub(crate) fn fatal(e: &StoreError) -> ! {
    // docs/style.md, habit 7: a store that cannot be read or written leaves the process in no state worth keeping.
    tracing::error!(error = %e, "store failure; stopping so the node restarts and recovers from disk");
    eprintln!("hifazat: store failure: {e}");
    std::process::abort()
}

/// A group's answers, on their way to the flusher.
pub(crate) struct Applied {
    /// Whether the group wrote anything (a read-only group needs no flush of its own: whatever it could see was
    /// applied by an earlier group, which the flusher finishes first).
    pub(crate) dirty: bool,
    pub(crate) answers: Vec<Answer>,
    /// Documents the group evicted from the cache, freed once the group's answers are sent.
    pub(crate) evicted: hifazat_replica::Evicted,
    /// The group's own new entries, announced once durable.
    pub(crate) written: Vec<Vec<u8>>,
    /// The records the group changed, announced once durable.
    pub(crate) changes: Vec<Change>,
}

/// Where the flusher announces what became durable.
pub(crate) struct Announce {
    pub(crate) written: tokio::sync::broadcast::Sender<Written>,
    pub(crate) changes: tokio::sync::broadcast::Sender<Change>,
}

/// The flusher: makes applied groups durable, several at once when they queue up, then sends their answers.
/// It runs on its own thread so the engine applies the next group while the disk syncs the last.
pub(crate) fn flusher(rx: std::sync::mpsc::Receiver<Applied>, finisher: Finisher) {
    while let Ok(first) = rx.recv() {
        let mut groups = vec![first];
        groups.extend(rx.try_iter());
        let n = groups.len();
        finisher.finish(groups);
        finisher
            .queued
            .fetch_sub(n, std::sync::atomic::Ordering::Release);
    }
}

/// Makes applied groups durable, then hands their new entries to the network, answers them and announces their
/// changes, in order; on the flusher thread, or on the engine's own when nothing else waits (see [`Actor::run`]).
#[derive(Clone)]
pub(crate) struct Finisher {
    pub(crate) store: Store,
    pub(crate) announce: Arc<Announce>,
    /// Groups handed to the flusher and not yet finished.
    pub(crate) queued: Arc<std::sync::atomic::AtomicUsize>,
}

impl Finisher {
    pub(crate) fn finish(&self, mut groups: Vec<Applied>) {
        // Persist before answering: a group that wrote no batch carries no new entry and no change to announce,
        // so the flush below (or an earlier group's) covers everything any answer could have seen.
        for g in &groups {
            assert!(
                g.dirty || (g.written.is_empty() && g.changes.is_empty()),
                "a group with new entries or changes wrote nothing"
            );
        }
        if groups.iter().any(|g| g.dirty)
            && let Err(e) = self.store.flush()
        {
            fatal(&e);
        }
        // New entries go to the network first: gossip has the furthest to go, and waking the network's task
        // before the callers' lets the runtime publish before it writes the answers.
        let written: Vec<Vec<u8>> = groups
            .iter_mut()
            .flat_map(|g| std::mem::take(&mut g.written))
            .collect();
        // Nobody listening is fine; a listener that fell behind is told so, and reads the store again.
        if !written.is_empty() {
            let _ = self.announce.written.send(Arc::new(written));
        }
        let mut evicted = Vec::new();
        let mut changes = Vec::new();
        for group in groups {
            group.answers.into_iter().for_each(|answer| answer());
            evicted.push(group.evicted);
            changes.extend(group.changes);
        }
        if self.announce.changes.receiver_count() > 0 {
            for change in changes {
                let _ = self.announce.changes.send(change);
            }
        }
        drop(evicted);
    }
}
