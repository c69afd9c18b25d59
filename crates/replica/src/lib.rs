//! Record replicas: one automerge document per record, created once at its origin.
//!
//! A local write changes the document and hands back the change's bytes, which the caller wraps in a signed log
//! entry. Remote entries, once verified, are applied in batches per record; a change whose automerge dependencies
//! are not here yet waits in a bounded queue. Documents materialise into the domain's [`RecordDoc`].
//! Pure: no storage, no clock. Documents not in the (bounded) cache are rebuilt from the change bytes a
//! [`ChangeSource`] supplies, which in a node is the store.
//!
//! A record is created once, by one change without dependencies. Two different such changes for one record id
//! (equivocation: only a faulty member or a stolen key can sign them) are settled the same way on every node,
//! whatever order they arrive in: the creation with the smallest change hash is the record's, and the other, with
//! every change that builds on it, is set aside. A set-aside change stays in its log, signed, as evidence; it is
//! never part of the record's document.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ObjType, ReadDoc, ScalarValue, hydrate};
use hifazat_domain::{Event, RecordDoc, RecordId, RecordKind, Sighting};
use hifazat_limits as limits;
use hifazat_log::VerifiedEntry;
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReplicaError {
    #[error("record {0} is not known here")]
    Unknown(RecordId),
    #[error("record {0} is a {1:?}; this change is for another kind")]
    WrongKind(RecordId, RecordKind),
    #[error("record {0} already has {1} {2}; no more are accepted")]
    Full(RecordId, usize, &'static str),
    #[error("record {0}: the document does not read as a record: {1}")]
    Malformed(RecordId, String),
    #[error("record {0}: automerge refused the change: {1}")]
    Automerge(RecordId, String),
}

/// Where documents not in memory are rebuilt from: every change payload stored for a record, in any order.
pub trait ChangeSource {
    fn changes(&self, record: RecordId) -> Vec<Vec<u8>>;
}

/// A source with nothing in it (a node with an empty store, or a test).
#[derive(Debug, Default)]
pub struct NoChanges;

impl ChangeSource for NoChanges {
    fn changes(&self, _record: RecordId) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

/// What one batch of remote entries did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// Changes now part of their documents.
    pub applied: usize,
    /// Changes already present (duplicates, or our own).
    pub duplicate: usize,
    /// Changes waiting for dependencies.
    pub waiting: usize,
    /// Payloads refused: not an automerge change, or refused by automerge.
    pub refused: Vec<(RecordId, String)>,
    /// Changes set aside (see the crate's documentation): a losing creation of a record, or a change that builds
    /// on one. Includes changes that were part of a document until a winning creation arrived.
    pub set_aside: Vec<(RecordId, ChangeHash)>,
    /// Waiting changes dropped because the queue was full (still in the store; a rebuild includes them).
    pub dropped: usize,
    /// Records whose documents changed.
    pub touched: Vec<RecordId>,
}

struct Waiting {
    record: RecordId,
    change: Change,
}

/// The node's record documents: a bounded cache in front of a [`ChangeSource`], and the queue of changes
/// waiting for dependencies.
pub struct Replicas {
    actor: ActorId,
    docs: HashMap<RecordId, AutoCommit>,
    /// Cache order, oldest first, for eviction.
    order: VecDeque<RecordId>,
    waiting: VecDeque<Waiting>,
    /// For each cached record that has any: the changes set aside, losing creations and what builds on them.
    aside: HashMap<RecordId, BTreeSet<ChangeHash>>,
    /// Evicted documents not yet freed; see [`Replicas::take_evicted`].
    evicted: Vec<AutoCommit>,
}

/// Documents evicted from the cache. Dropping this frees them, on whichever thread drops it.
pub struct Evicted(Vec<AutoCommit>);

impl std::fmt::Debug for Evicted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Evicted").field(&self.0.len()).finish()
    }
}

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas")
            .field("cached", &self.docs.len())
            .field("waiting", &self.waiting.len())
            .finish()
    }
}

fn commit(doc: &mut AutoCommit, now_ms: u64) -> Option<Change> {
    doc.commit_with(CommitOptions::default().with_time((now_ms / 1000) as i64))?;
    doc.get_last_local_change()
}

fn json_to_scalar(value: &Value) -> ScalarValue {
    match value {
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => ScalarValue::Int(i),
            (None, Some(u), _) => ScalarValue::Uint(u),
            (_, _, Some(f)) => ScalarValue::F64(f),
            _ => ScalarValue::Null,
        },
        Value::String(s) => ScalarValue::Str(s.as_str().into()),
        Value::Null | Value::Array(_) | Value::Object(_) => ScalarValue::Null,
    }
}

/// `value` as an automerge tree: maps and lists become automerge objects, recursively. Written with automerge's
/// batch operations, which splice a whole tree into the document at once instead of one operation per field.
fn to_hydrate(value: &Value) -> hydrate::Value {
    match value {
        Value::Object(map) => hydrate::Value::Map(hydrate_map(map)),
        Value::Array(items) => {
            hydrate::Value::List(items.iter().map(to_hydrate).collect::<Vec<_>>().into())
        }
        scalar => hydrate::Value::Scalar(json_to_scalar(scalar)),
    }
}

fn hydrate_map(map: &serde_json::Map<String, Value>) -> hydrate::Map {
    map.iter()
        .map(|(k, v)| (k.clone(), to_hydrate(v)))
        .collect::<HashMap<String, hydrate::Value>>()
        .into()
}

/// `value` as JSON: what automerge's `AutoSerde` makes of the same document (each map key's and list element's
/// winning value; text as a string; scalars as they serialise), built from one pass over the document instead of
/// a lookup per key and per list index.
fn from_hydrate(value: &hydrate::Value) -> Value {
    match value {
        hydrate::Value::Map(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), from_hydrate(&v.value)))
                .collect(),
        ),
        hydrate::Value::List(list) => {
            Value::Array(list.iter().map(|v| from_hydrate(&v.value)).collect())
        }
        hydrate::Value::Text(text) => Value::String(text.to_string()),
        // A scalar serialises to JSON without fail (bytes as numbers, as `AutoSerde` writes them).
        hydrate::Value::Scalar(s) => serde_json::to_value(s).unwrap_or(Value::Null),
    }
}

/// Reads a document as a record.
pub fn read(record: RecordId, doc: &AutoCommit) -> Result<RecordDoc, ReplicaError> {
    let root = doc
        .hydrate(automerge::ROOT, None)
        .map_err(|e| ReplicaError::Malformed(record, e.to_string()))?;
    serde_json::from_value(from_hydrate(&root))
        .map_err(|e| ReplicaError::Malformed(record, e.to_string()))
}

/// A record's document created at its origin, with its creation change. Building one needs no replica set, so
/// callers build it on their own thread; [`Replicas::adopt`] takes the document in once the change is stored.
pub struct NewRecord {
    record: RecordId,
    doc: AutoCommit,
    change: Vec<u8>,
}

impl std::fmt::Debug for NewRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRecord")
            .field("record", &self.record)
            .field("change_bytes", &self.change.len())
            .finish()
    }
}

impl NewRecord {
    /// Writes `content` into a new document whose automerge actor is `author` (the node's public key), and
    /// commits it.
    pub fn build(
        author: [u8; 32],
        record: RecordId,
        content: &RecordDoc,
        now_ms: u64,
    ) -> Result<NewRecord, ReplicaError> {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(author));
        let json = serde_json::to_value(content)
            .map_err(|e| ReplicaError::Malformed(record, e.to_string()))?;
        let Value::Object(root) = json else {
            return Err(ReplicaError::Malformed(record, "not a map".into()));
        };
        doc.init_root_from_hydrate(&hydrate_map(&root))
            .map_err(|e| ReplicaError::Automerge(record, e.to_string()))?;
        let change = commit(&mut doc, now_ms)
            .expect("a new record's document has a change")
            .raw_bytes()
            .to_vec();
        Ok(NewRecord {
            record,
            doc,
            change,
        })
    }

    pub fn record(&self) -> RecordId {
        self.record
    }

    /// The creation change: the payload of the entry that carries it.
    pub fn change(&self) -> &[u8] {
        &self.change
    }
}

impl Replicas {
    /// `author` is this node's public key; it is the automerge actor of every change this node makes.
    pub fn new(author: [u8; 32]) -> Replicas {
        Replicas {
            actor: ActorId::from(author.as_slice()),
            docs: HashMap::new(),
            order: VecDeque::new(),
            waiting: VecDeque::new(),
            aside: HashMap::new(),
            evicted: Vec::new(),
        }
    }

    /// Drops a record's cached document, so the next use rebuilds it from the source. Used when a change made
    /// here could not be persisted: the document must not keep a change no entry carries.
    pub fn forget(&mut self, record: RecordId) {
        if self.docs.remove(&record).is_some() {
            self.order.retain(|r| *r != record);
        }
        self.aside.remove(&record);
    }

    /// Changes waiting for dependencies.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn cache(&mut self, record: RecordId, doc: AutoCommit) {
        if self.docs.insert(record, doc).is_none() {
            self.order.push_back(record);
        }
        while self.docs.len() > limits::RECORD_CACHE_MAX {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.aside.remove(&oldest);
            if let Some(doc) = self.docs.remove(&oldest) {
                // Freeing a document costs about as much as signing an entry; the owner may free them on
                // another thread (`take_evicted`). Left untaken, they are freed here beyond a bound.
                if self.evicted.len() < limits::COMMIT_GROUP_MAX {
                    self.evicted.push(doc);
                }
            }
        }
    }

    /// Documents evicted from the cache since the last call, for the caller to free off its hot thread.
    pub fn take_evicted(&mut self) -> Evicted {
        Evicted(std::mem::take(&mut self.evicted))
    }

    /// The record's document, rebuilt from `source` when not cached. `None` when there is no change for it.
    fn doc(&mut self, record: RecordId, source: &dyn ChangeSource) -> Option<&mut AutoCommit> {
        let unplaced = self.load(record, source)?;
        self.queue(record, unplaced, None);
        self.docs.get_mut(&record)
    }

    /// Makes sure the record's document is cached, rebuilding it from `source`; returns the stored changes the
    /// rebuild could not place yet (their dependencies are not stored), for the caller to apply or queue. `None`
    /// when there is no change for the record.
    fn load(&mut self, record: RecordId, source: &dyn ChangeSource) -> Option<Vec<Change>> {
        if self.docs.contains_key(&record) {
            return Some(Vec::new());
        }
        let changes: Vec<Change> = source
            .changes(record)
            .into_iter()
            .filter_map(|bytes| Change::from_bytes(bytes).ok())
            .collect();
        if changes.is_empty() {
            return None;
        }
        let (doc, aside, unplaced) = self.build(changes, BTreeSet::new())?;
        self.cache(record, doc);
        if !aside.is_empty() {
            self.aside.insert(record, aside);
        }
        Some(unplaced)
    }

    /// A document of `changes` less those set aside, the set-aside changes' hashes (`aside` and the new ones), and
    /// the changes whose dependencies are not among them: those wait, rather than in automerge's own queue, so
    /// that one found later to build on a losing creation is set aside, not held in the document for ever.
    /// `None` when automerge refuses them.
    fn build(
        &self,
        changes: Vec<Change>,
        aside: BTreeSet<ChangeHash>,
    ) -> Option<(AutoCommit, BTreeSet<ChangeHash>, Vec<Change>)> {
        let (kept, aside) = settle(changes, aside);
        let (ready, unplaced) = placeable(kept);
        let mut doc = AutoCommit::new().with_actor(self.actor.clone());
        doc.apply_changes_batch(ready).ok()?;
        Some((doc, aside, unplaced))
    }

    /// Puts changes in the queue of those waiting for dependencies, dropping the oldest beyond its bound.
    fn queue(
        &mut self,
        record: RecordId,
        changes: Vec<Change>,
        mut report: Option<&mut ApplyReport>,
    ) {
        for change in changes {
            if let Some(r) = report.as_deref_mut() {
                r.waiting += 1;
            }
            if self.waiting.len() >= limits::PENDING_CHANGES_MAX {
                self.waiting.pop_front();
                if let Some(r) = report.as_deref_mut() {
                    r.dropped += 1;
                }
            }
            self.waiting.push_back(Waiting { record, change });
        }
    }

    /// The changes set aside for `record` (see the crate's documentation), in hash order: empty when its
    /// creation was never contested, or the record is unknown.
    pub fn set_aside(&mut self, record: RecordId, source: &dyn ChangeSource) -> Vec<ChangeHash> {
        if self.doc(record, source).is_none() {
            return Vec::new();
        }
        self.aside
            .get(&record)
            .map(|a| a.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Creates a record's document (at its origin) and returns the creation change. The same as
    /// [`NewRecord::build`] followed by [`Replicas::adopt`].
    pub fn create(
        &mut self,
        record: RecordId,
        content: &RecordDoc,
        now_ms: u64,
    ) -> Result<Vec<u8>, ReplicaError> {
        let new = NewRecord::build(self.actor(), record, content, now_ms)?;
        let change = new.change.clone();
        self.adopt(new);
        Ok(change)
    }

    /// Takes a document built by [`NewRecord::build`] into the cache, once its creation change is stored.
    pub fn adopt(&mut self, new: NewRecord) {
        self.cache(new.record, new.doc);
    }

    /// This node's automerge actor (its public key), for building new records off the replica set's thread.
    pub fn actor(&self) -> [u8; 32] {
        self.actor
            .to_bytes()
            .try_into()
            .expect("the actor is a 32-byte key")
    }

    fn append(
        &mut self,
        record: RecordId,
        source: &dyn ChangeSource,
        list: &'static str,
        max: usize,
        value: Value,
        now_ms: u64,
    ) -> Result<Vec<u8>, ReplicaError> {
        let doc = self
            .doc(record, source)
            .ok_or(ReplicaError::Unknown(record))?;
        let am = |e: automerge::AutomergeError| ReplicaError::Automerge(record, e.to_string());
        let list_id = match doc.get(automerge::ROOT, list).map_err(am)? {
            Some((automerge::Value::Object(ObjType::List), id)) => id,
            _ => return Err(ReplicaError::Malformed(record, format!("no `{list}` list"))),
        };
        let len = doc.length(&list_id);
        if len >= max {
            return Err(ReplicaError::Full(record, len, list));
        }
        let written = match &value {
            Value::Object(_) | Value::Array(_) => doc
                .batch_create_object(&list_id, len, &to_hydrate(&value), true)
                .map(|_| ()),
            scalar => doc.insert(&list_id, len, json_to_scalar(scalar)),
        };
        if let Err(e) = written {
            doc.rollback();
            return Err(am(e));
        }
        Ok(commit(doc, now_ms)
            .expect("an append makes a change")
            .raw_bytes()
            .to_vec())
    }

    /// Appends an event to a record's timeline and returns the change.
    pub fn append_event(
        &mut self,
        record: RecordId,
        source: &dyn ChangeSource,
        event: &Event,
        now_ms: u64,
    ) -> Result<Vec<u8>, ReplicaError> {
        let value = serde_json::to_value(event)
            .map_err(|e| ReplicaError::Malformed(record, e.to_string()))?;
        self.append(
            record,
            source,
            "timeline",
            limits::TIMELINE_EVENTS_MAX,
            value,
            now_ms,
        )
    }

    /// Adds a sighting to an alert and returns the change.
    pub fn append_sighting(
        &mut self,
        record: RecordId,
        source: &dyn ChangeSource,
        sighting: &Sighting,
        now_ms: u64,
    ) -> Result<Vec<u8>, ReplicaError> {
        // The kind alone, read from the document's root: no need to materialise the whole record.
        if let Some(kind @ (RecordKind::Case | RecordKind::Found)) = self.kind(record, source) {
            return Err(ReplicaError::WrongKind(record, kind));
        }
        let value = serde_json::to_value(sighting)
            .map_err(|e| ReplicaError::Malformed(record, e.to_string()))?;
        self.append(
            record,
            source,
            "sightings",
            limits::SIGHTINGS_MAX,
            value,
            now_ms,
        )
    }

    /// The record, materialised; `None` if there is nothing for it here.
    pub fn get(
        &mut self,
        record: RecordId,
        source: &dyn ChangeSource,
    ) -> Result<Option<RecordDoc>, ReplicaError> {
        match self.doc(record, source) {
            None => Ok(None),
            Some(doc) => read(record, doc).map(Some),
        }
    }

    /// The record's kind, read from its document's root without materialising the rest. `None` when the
    /// record is unknown or its document has no readable kind yet.
    pub fn kind(&mut self, record: RecordId, source: &dyn ChangeSource) -> Option<RecordKind> {
        let doc = self.doc(record, source)?;
        match doc.get(automerge::ROOT, "kind") {
            Ok(Some((automerge::Value::Scalar(s), _))) => match s.as_ref() {
                ScalarValue::Str(kind) => {
                    serde_json::from_value(Value::String(kind.to_string())).ok()
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The record's automerge heads (equal on two replicas exactly when they hold the same changes).
    pub fn heads(
        &mut self,
        record: RecordId,
        source: &dyn ChangeSource,
    ) -> Option<Vec<ChangeHash>> {
        self.doc(record, source).map(|d| d.get_heads())
    }

    /// Applies verified remote entries, grouped by record, each group as one automerge batch. Changes whose
    /// dependencies are missing wait (bounded); waiting changes whose dependencies arrive are applied too.
    pub fn apply(&mut self, entries: &[VerifiedEntry], source: &dyn ChangeSource) -> ApplyReport {
        let mut report = ApplyReport::default();
        let mut by_record: HashMap<RecordId, Vec<Change>> = HashMap::new();
        let mut order = Vec::new();
        for entry in entries {
            let record = RecordId(entry.content().record);
            match Change::from_bytes(entry.content().payload.clone()) {
                Ok(change) => {
                    if !by_record.contains_key(&record) {
                        order.push(record);
                    }
                    by_record.entry(record).or_default().push(change);
                }
                Err(e) => report
                    .refused
                    .push((record, format!("payload is not an automerge change: {e}"))),
            }
        }
        // Waiting changes for these records get another chance with this batch.
        let mut still = VecDeque::new();
        for w in self.waiting.drain(..) {
            match by_record.get_mut(&w.record) {
                Some(list) => list.push(w.change),
                None => still.push_back(w),
            }
        }
        self.waiting = still;
        for record in order {
            let changes = by_record.remove(&record).unwrap_or_default();
            self.apply_record(record, changes, source, &mut report);
        }
        report
    }

    /// The hash of the creation change of a cached record's document, if it has one.
    fn root(&mut self, record: RecordId) -> Option<ChangeHash> {
        let doc = self.docs.get_mut(&record)?;
        if doc.get_heads().is_empty() {
            return None;
        }
        doc.get_changes(&[])
            .iter()
            .find(|c| c.deps().is_empty())
            .map(Change::hash)
    }

    /// Builds a record's document again from what it holds, `incoming` and what waits for it, settling
    /// its creations afresh (see the crate's documentation).
    fn rebuild(&mut self, record: RecordId, incoming: Vec<Change>, report: &mut ApplyReport) {
        let mut all: Vec<Change> = match self.docs.get_mut(&record) {
            Some(doc) => doc.get_changes(&[]),
            None => Vec::new(),
        };
        let mut held: HashSet<ChangeHash> = all.iter().map(Change::hash).collect();
        let old_aside = self.aside.remove(&record).unwrap_or_default();
        let mut fresh: HashSet<ChangeHash> = HashSet::new();
        for change in incoming {
            let hash = change.hash();
            if old_aside.contains(&hash) || !held.insert(hash) {
                report.duplicate += 1;
            } else {
                fresh.insert(hash);
                all.push(change);
            }
        }
        let Some((doc, aside, unplaced)) = self.build(all, old_aside.clone()) else {
            report
                .refused
                .push((record, "automerge refused the record's changes".into()));
            self.forget(record);
            return;
        };
        self.queue(record, unplaced, Some(report));
        report.applied += fresh
            .iter()
            .filter(|h| doc.get_change_by_hash(h).is_some())
            .count();
        // Set aside now: the new losers, and what the document held of the creation it lost.
        for hash in aside.difference(&old_aside) {
            report.set_aside.push((record, *hash));
        }
        report.touched.push(record);
        self.cache(record, doc);
        if !aside.is_empty() {
            self.aside.insert(record, aside);
        }
    }

    fn apply_record(
        &mut self,
        record: RecordId,
        changes: Vec<Change>,
        source: &dyn ChangeSource,
        report: &mut ApplyReport,
    ) {
        let actor = self.actor.clone();
        // Stored changes a rebuild of the document could not place get their chance with this batch.
        let loaded = self.load(record, source);
        let exists = loaded.is_some();
        let mut changes = changes;
        changes.extend(loaded.unwrap_or_default());
        if !exists {
            self.cache(record, AutoCommit::new().with_actor(actor));
        }
        // A creation that beats the document's own: the document is built again from the winner. (Only a batch
        // with a creation in it reads the document's root.)
        let root = if changes.iter().any(|c| c.deps().is_empty()) {
            self.root(record)
        } else {
            None
        };
        let beaten = root.is_some_and(|root| {
            changes
                .iter()
                .any(|c| c.deps().is_empty() && c.hash() < root)
        });
        if beaten {
            self.rebuild(record, changes, report);
            return;
        }
        let mut aside = self.aside.remove(&record).unwrap_or_default();
        let doc = self.docs.get_mut(&record).expect("cached above");
        // The smallest creation in this batch is the one a new document takes (a document has one root).
        let first = changes
            .iter()
            .filter(|c| c.deps().is_empty())
            .map(Change::hash)
            .min();
        let root = root.or(first);
        let mut seen: HashSet<ChangeHash> = HashSet::new();
        let mut fresh: Vec<Change> = Vec::new();
        for change in changes {
            let hash = change.hash();
            if doc.get_change_by_hash(&hash).is_some()
                || aside.contains(&hash)
                || !seen.insert(hash)
            {
                report.duplicate += 1;
            } else {
                fresh.push(change);
            }
        }
        // Losing creations, then what builds on them (to a fixed point, whatever order the batch has them in).
        aside.extend(
            fresh
                .iter()
                .filter(|c| c.deps().is_empty() && Some(c.hash()) != root)
                .map(Change::hash),
        );
        loop {
            let n = aside.len();
            for c in &fresh {
                if c.deps().iter().any(|d| aside.contains(d)) {
                    aside.insert(c.hash());
                }
            }
            if aside.len() == n {
                break;
            }
        }
        let mut pending: Vec<Change> = Vec::new();
        for change in fresh {
            if aside.contains(&change.hash()) {
                report.set_aside.push((record, change.hash()));
            } else {
                pending.push(change);
            }
        }
        if !aside.is_empty() {
            self.aside.insert(record, aside);
        }
        let doc = self.docs.get_mut(&record).expect("cached above");
        let mut touched = false;
        // Move changes whose dependencies are all present to `ready`, until nothing more moves; apply them; and go
        // again, since applying may have placed changes automerge itself held back (stored changes read when the
        // document was loaded), on which some still pending depend.
        loop {
            let mut ready: Vec<Change> = Vec::new();
            let mut ready_hashes: HashSet<ChangeHash> = HashSet::new();
            loop {
                let before = pending.len();
                let mut rest = Vec::new();
                for change in pending {
                    let deps_met = change
                        .deps()
                        .iter()
                        .all(|d| ready_hashes.contains(d) || doc.get_change_by_hash(d).is_some());
                    if deps_met {
                        ready_hashes.insert(change.hash());
                        ready.push(change);
                    } else {
                        rest.push(change);
                    }
                }
                pending = rest;
                if pending.len() == before {
                    break;
                }
            }
            if ready.is_empty() {
                break;
            }
            let n = ready.len();
            match doc.apply_changes_batch(ready) {
                Ok(()) => {
                    report.applied += n;
                    touched = true;
                }
                Err(e) => {
                    report
                        .refused
                        .push((record, format!("automerge refused the batch: {e}")));
                    break;
                }
            }
            if pending.is_empty() {
                break;
            }
        }
        if touched {
            report.touched.push(record);
        }
        if doc.get_heads().is_empty() {
            // Nothing applied to a document we made for this batch: forget it again.
            self.docs.remove(&record);
            self.order.retain(|r| *r != record);
        }
        self.queue(record, pending, Some(report));
    }
}

/// Splits a record's changes into those of its document and those set aside: when there are several creations
/// (changes without dependencies), the one with the smallest hash wins, and every other, with each change that
/// builds on one of them, is set aside. `aside` holds changes already set aside (whose descendants are set aside
/// too), and comes back with the new ones. A change whose dependencies are not among `changes` is kept: nothing
/// says yet what it builds on. Duplicates are dropped.
pub fn settle(
    changes: Vec<Change>,
    mut aside: BTreeSet<ChangeHash>,
) -> (Vec<Change>, BTreeSet<ChangeHash>) {
    let winner = changes
        .iter()
        .filter(|c| c.deps().is_empty())
        .map(Change::hash)
        .min();
    for c in &changes {
        if c.deps().is_empty() && Some(c.hash()) != winner {
            aside.insert(c.hash());
        }
    }
    if !aside.is_empty() {
        // Descendants of a losing creation, to a fixed point (each pass reaches at least one more generation).
        loop {
            let before = aside.len();
            for c in &changes {
                if !aside.contains(&c.hash()) && c.deps().iter().any(|d| aside.contains(d)) {
                    aside.insert(c.hash());
                }
            }
            if aside.len() == before {
                break;
            }
        }
    }
    let mut seen = HashSet::new();
    let kept = changes
        .into_iter()
        .filter(|c| !aside.contains(&c.hash()) && seen.insert(c.hash()))
        .collect();
    (kept, aside)
}

/// Changes for a new document split into those that can go in (each one's dependencies among those before it)
/// and the rest.
fn placeable(changes: Vec<Change>) -> (Vec<Change>, Vec<Change>) {
    let mut ready: Vec<Change> = Vec::new();
    let mut hashes: HashSet<ChangeHash> = HashSet::new();
    let mut pending = changes;
    loop {
        let before = pending.len();
        let mut rest = Vec::new();
        for change in pending {
            if change.deps().iter().all(|d| hashes.contains(d)) {
                hashes.insert(change.hash());
                ready.push(change);
            } else {
                rest.push(change);
            }
        }
        pending = rest;
        if pending.len() == before {
            return (ready, pending);
        }
    }
}
