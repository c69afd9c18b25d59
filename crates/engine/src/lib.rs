//! The node's engine: owns the store, the record replicas and the node key, and turns requests into signed,
//! persisted log entries.
//!
//! Actor shape: [`Engine`] is a cloneable handle over a bounded channel. Callers validate their input and build new
//! records' documents on their own threads. The actor runs on its own thread (sled and automerge work is
//! blocking) and handles requests in groups of up to `COMMIT_GROUP_MAX`: each write is applied to its document
//! and signed, and the whole group goes to the store in one atomic batch. A flusher thread then makes the group
//! durable (one flush may cover several groups) and only then sends any of its answers, while the actor goes on
//! with the next group; when no request waits and the flusher is idle, the actor does this itself. So an
//! answered write is on disk, and reads never answer with anything that is not. The one exception is
//! [`Engine::relay_remote`], which answers the network once other nodes' entries are applied, so it can forward
//! them without waiting for this node's disk. A failed store write or flush ends the process: it restarts and
//! recovers from disk.

mod audit;
mod summary;
mod verify;

use std::sync::Arc;
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use hifazat_domain::{
    AlertDoc, AlertDraft, AlertStatus, CaseDoc, CaseDraft, CaseStatus, Context, Event, EventKind,
    Invalid, RecordDoc, RecordId, RecordKind, Sighting, SightingDraft, alert_status, case_status,
};
use hifazat_limits as limits;
use hifazat_log::{Content, Entry, Hash, LogId, Scope, Signer, VerifiedEntry, Verifier};
use hifazat_replica::{ApplyReport, ChangeSource, NewRecord, ReplicaError, Replicas};
use hifazat_store::{AppendError, RecordMeta, Store, StoreError};
use hifazat_topology::Topology;
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

pub use audit::{AuditError, CheckpointCheck, TreeHead};
pub use hifazat_log::{ConsistencyProof, InclusionProof};
use summary::Summary;
pub use summary::{AlertSummary, CaseSummary, Page};
pub use verify::{LogReport, VerifyReport, verify_store};

/// Record kinds as the store's record index writes them.
pub const KIND_ALERT: u8 = 1;
pub const KIND_CASE: u8 = 2;

/// A record kind's code in the store.
fn kind_code(kind: RecordKind) -> u8 {
    match kind {
        RecordKind::Alert => KIND_ALERT,
        RecordKind::Case => KIND_CASE,
    }
}

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("no record {0}")]
    NotFound(RecordId),
    #[error("the engine has stopped")]
    Stopped,
    #[error("the engine thread could not start: {0}")]
    Spawn(std::io::Error),
    #[error("record could not be read: {0}")]
    Replica(#[from] hifazat_replica::ReplicaError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// An alert as this node holds it, whole: the API decides what of it a caller may see.
#[derive(Debug, Clone)]
pub struct AlertRecord {
    pub id: RecordId,
    pub doc: AlertDoc,
    pub status: AlertStatus,
}

/// A case as this node holds it, whole: the API decides what of it a caller may see.
#[derive(Debug, Clone)]
pub struct CaseRecord {
    pub id: RecordId,
    pub doc: CaseDoc,
    pub status: CaseStatus,
}

/// Counts the engine keeps about itself.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub local_writes: u64,
    pub remote_applied: u64,
    pub remote_refused: u64,
    pub commit_groups: u64,
    pub waiting_changes: usize,
}

enum Request {
    Create {
        new: Box<Created>,
        reply: oneshot::Sender<Result<RecordId, EngineError>>,
    },
    GetAlert {
        id: RecordId,
        reply: oneshot::Sender<Result<AlertRecord, EngineError>>,
    },
    GetCase {
        id: RecordId,
        reply: oneshot::Sender<Result<CaseRecord, EngineError>>,
    },
    AddEvent {
        id: RecordId,
        event: Event,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    AddSighting {
        id: RecordId,
        sighting: Box<Sighting>,
        actor: String,
        now_ms: u64,
        reply: oneshot::Sender<Result<usize, EngineError>>,
    },
    /// Answers once everything applied before it is durable.
    Barrier {
        reply: oneshot::Sender<()>,
    },
    ApplyRemote {
        checked: Box<Checked>,
        /// Answer once applied, before the flush (see [`Engine::relay_remote`]).
        early: bool,
        reply: oneshot::Sender<RemoteReport>,
    },
    Stats {
        reply: oneshot::Sender<Stats>,
    },
    Notice {
        scope: Scope,
        sealed: Vec<u8>,
        actor: String,
        now_ms: u64,
        reply: oneshot::Sender<Result<NoticeWritten, EngineError>>,
    },
}

/// Where a sealed register notification went: this node's notices log and its place there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeWritten {
    pub log: LogId,
    pub seq: u64,
}

/// Whether entries of `scope` carry something other than automerge changes (sealed register notifications):
/// they are stored, chained and relayed like any entry, but never applied to a record.
pub fn is_opaque(scope: &Scope) -> bool {
    matches!(
        hifazat_sync::ScopeKind::of(scope),
        hifazat_sync::ScopeKind::Notices(_)
    )
}

/// Remote entries after decoding and signature checks, in their order: each verified, or why not.
#[derive(Debug)]
struct Checked {
    slots: Vec<Result<VerifiedEntry, String>>,
}

impl Checked {
    fn new(raw: Vec<Vec<u8>>) -> Checked {
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
        for (place, result) in places
            .into_iter()
            .zip(Verifier::new().verify_batch(decoded))
        {
            slots[place] = result.map_err(|(entry, e)| format!("{entry:?}: {e}"));
        }
        Checked { slots }
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
    fn count(&self, which: impl Fn(&EntryOutcome) -> bool) -> usize {
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

/// This node's own new entries, announced once they are durable.
pub type Written = Arc<Vec<Vec<u8>>>;

/// Where a change to a record was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Through this node's API.
    Local,
    /// At another node; it arrived over the network.
    Remote,
}

/// A record that changed on this node, announced once the change is durable, so a read made on hearing of it
/// sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub record: RecordId,
    pub kind: RecordKind,
    /// The scope of the log the change came in (`alerts`, `cases/<district>`): who may see it follows from it.
    pub scope: String,
    /// Whether the record is new to this node.
    pub created: bool,
    pub origin: Origin,
}

/// A handle to the engine. Cheap to clone; the engine stops when every handle is dropped.
///
/// Work that needs no engine state (validating a draft, building a new record's document) runs on the caller's
/// thread, so callers on other cores do it in parallel and the engine thread keeps to what must be in order:
/// signing into the log, the store and the cached documents.
#[derive(Clone, Debug)]
pub struct Engine {
    tx: mpsc::Sender<Request>,
    local: Arc<Local>,
}

/// What callers need to prepare a write (this node's name, the topology and the node's public key), and what
/// they may read without the engine thread: durable log entries, and the announcements of our own new ones.
#[derive(Debug)]
struct Local {
    node_name: String,
    topology: Topology,
    author: [u8; 32],
    store: Store,
    written: tokio::sync::broadcast::Sender<Written>,
    changes: tokio::sync::broadcast::Sender<Change>,
}

/// A new record made on the caller's thread, ready for the engine to sign and store.
#[derive(Debug)]
struct Created {
    scope: Scope,
    record: NewRecord,
    actor: String,
    kind: RecordKind,
    meta: RecordMeta,
    now_ms: u64,
    summary: Summary,
    /// A case's tracking code.
    tracking: Option<String>,
}

impl Local {
    /// Validates an alert draft and builds its record's document.
    fn new_alert(&self, draft: &AlertDraft, actor: &str) -> Result<Created, EngineError> {
        let now = now_ms();
        let intake = draft.validate(&Context {
            districts: &self.topology,
            now_ms: now,
        })?;
        self.created(Scope::alerts(), actor, now, |raised| {
            RecordDoc::Alert(AlertDoc {
                intake,
                timeline: vec![raised],
                sightings: vec![],
            })
        })
    }

    /// A new record at time `now`: its document (made by `doc` from the `raised` event that opens its
    /// timeline), under a fresh id, ready to be signed into this node's log for `scope`.
    fn created(
        &self,
        scope: Scope,
        actor: &str,
        now: u64,
        doc: impl FnOnce(Event) -> RecordDoc,
    ) -> Result<Created, EngineError> {
        let actor = actor_name(actor)?;
        let raised = Event {
            kind: EventKind::Raised,
            at_ms: now,
            by: actor.clone(),
            node: self.node_name.clone(),
            note: None,
        };
        let doc = doc(raised);
        let id = new_record_id(now);
        let tracking = match &doc {
            RecordDoc::Case(c) => Some(c.intake.tracking_code.as_str().to_owned()),
            RecordDoc::Alert(_) => None,
        };
        Ok(Created {
            scope,
            record: NewRecord::build(self.author, id, &doc, now)?,
            actor,
            kind: doc.kind(),
            meta: RecordMeta {
                kind: kind_code(doc.kind()),
                created_ms: now,
            },
            now_ms: now,
            summary: Summary::of(id, &doc, now),
            tracking,
        })
    }

    /// Whether this node files complaints for `district` (see [`Engine::files_cases_for`]).
    fn files_cases_for(&self, district: &str) -> bool {
        Scope::cases(district).is_ok_and(|scope| {
            self.topology
                .node(&self.node_name)
                .is_some_and(|me| hifazat_sync::may_hold(&self.topology, me, &scope))
        })
    }

    /// Validates a complaint and builds its case's document. A node files cases only for districts on its own
    /// line (its district; a province's districts; any district at the federal node), since only those nodes
    /// may hold the case's log.
    fn new_case(&self, draft: &CaseDraft, actor: &str) -> Result<Created, EngineError> {
        let now = now_ms();
        let mut tracking = [0u8; 5];
        OsRng.fill_bytes(&mut tracking);
        let intake = draft.validate(
            &Context {
                districts: &self.topology,
                now_ms: now,
            },
            tracking,
        )?;
        let scope = Scope::cases(&intake.district)
            .map_err(|_| Invalid::one("district", "is not a valid district code"))?;
        if !self.files_cases_for(&intake.district) {
            return Err(Invalid::one(
                "district",
                format!(
                    "`{}` is not on this node's line; file it at that district's, province's or the federal node",
                    intake.district
                ),
            )
            .into());
        }
        self.created(scope, actor, now, |filed| {
            RecordDoc::Case(CaseDoc {
                intake,
                timeline: vec![filed],
            })
        })
    }
}

/// Everything the engine needs to start.
#[derive(Debug)]
pub struct EngineConfig {
    pub node_name: String,
    pub topology: Topology,
    pub signer: Signer,
    pub store: Store,
}

struct StoreSource<'a>(&'a Store);

impl ChangeSource for StoreSource<'_> {
    fn changes(&self, record: RecordId) -> Vec<Vec<u8>> {
        match self.0.record_changes(&record) {
            Ok(changes) => changes,
            Err(e) => fatal(&e),
        }
    }
}

fn fatal(e: &StoreError) -> ! {
    // Style rule 7: a store that cannot be read or written leaves the process in no state worth keeping.
    tracing::error!(error = %e, "store failure; stopping so the node restarts and recovers from disk");
    eprintln!("hifazat: store failure: {e}");
    std::process::abort()
}

/// The wall clock, in milliseconds since the Unix epoch: what entries are stamped with, and what the node's other
/// parts read the time from.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

struct Actor {
    signer: Signer,
    store: Store,
    replicas: Replicas,
    stats: Stats,
    /// This group's own new entries.
    written: Vec<Vec<u8>>,
    /// The records this group changed.
    changes: Vec<Change>,
}

/// A change made here, ready to be signed into this node's log.
struct LocalChange<'a> {
    scope: Scope,
    record: RecordId,
    /// The acting user named in the entry.
    actor: &'a str,
    /// The automerge change.
    payload: Vec<u8>,
    /// Set when the change creates the record.
    meta: Option<RecordMeta>,
    now_ms: u64,
}

/// An answer, sent once everything it could have seen is on disk.
type Answer = Box<dyn FnOnce() + Send>;

/// A read, run once its group's writes are applied; it sees them and makes an answer.
type Read = Box<dyn FnOnce(&mut Actor) -> Answer + Send>;

/// A group's answers, on their way to the flusher.
struct Applied {
    /// Whether the group wrote anything (a read-only group needs no flush of its own: whatever it could see was
    /// applied by an earlier group, which the flusher finishes first).
    dirty: bool,
    answers: Vec<Answer>,
    /// Documents the group evicted from the cache, freed once the group's answers are sent.
    evicted: hifazat_replica::Evicted,
    /// The group's own new entries, announced once durable.
    written: Vec<Vec<u8>>,
    /// The records the group changed, announced once durable.
    changes: Vec<Change>,
}

/// Where the flusher announces what became durable.
struct Announce {
    written: tokio::sync::broadcast::Sender<Written>,
    changes: tokio::sync::broadcast::Sender<Change>,
}

/// The flusher: makes applied groups durable, several at once when they queue up, then sends their answers.
/// It runs on its own thread so the engine applies the next group while the disk syncs the last.
fn flusher(rx: std::sync::mpsc::Receiver<Applied>, finisher: Finisher) {
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
struct Finisher {
    store: Store,
    announce: Arc<Announce>,
    /// Groups handed to the flusher and not yet finished.
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

impl Finisher {
    fn finish(&self, mut groups: Vec<Applied>) {
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

impl Engine {
    /// Starts the engine on its own thread.
    pub fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        let (written, _) = tokio::sync::broadcast::channel(limits::WRITTEN_QUEUE_MAX);
        let (changes, _) = tokio::sync::broadcast::channel(limits::CHANGES_QUEUE_MAX);
        let local = Arc::new(Local {
            node_name: config.node_name,
            topology: config.topology,
            author: config.signer.author().0,
            store: config.store.clone(),
            written: written.clone(),
            changes: changes.clone(),
        });
        let actor = Actor {
            replicas: Replicas::new(local.author),
            signer: config.signer,
            store: config.store,
            stats: Stats::default(),
            written: Vec::new(),
            changes: Vec::new(),
        };
        let (to_flusher, flusher_rx) = std::sync::mpsc::sync_channel(limits::FLUSH_QUEUE_MAX);
        let finisher = Finisher {
            store: actor.store.clone(),
            announce: Arc::new(Announce { written, changes }),
            queued: Arc::default(),
        };
        let flushing = finisher.clone();
        let flusher = thread::Builder::new()
            .name("hifazat-flush".into())
            .spawn(move || flusher(flusher_rx, flushing))
            .map_err(EngineError::Spawn)?;
        let (tx, rx) = mpsc::channel(limits::ENGINE_QUEUE_MAX);
        thread::Builder::new()
            .name("hifazat-engine".into())
            .spawn(move || actor.run(rx, to_flusher, flusher, finisher))
            .map_err(EngineError::Spawn)?;
        Ok(Engine { tx, local })
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)
    }

    /// Signs a register notification, already sealed to the federal node's key, into this node's notices log, which
    /// the sync layer carries along the node's line to the federal node. Answers once it is on disk. Only district
    /// and province nodes keep such a log.
    pub async fn notify_register(
        &self,
        sealed: Vec<u8>,
        actor: &str,
    ) -> Result<NoticeWritten, EngineError> {
        let actor = actor_name(actor)?;
        let me = self
            .local
            .topology
            .node(&self.local.node_name)
            .ok_or_else(|| Invalid::one("(node)", "this node is not in its topology"))?;
        let code = match me.role {
            hifazat_topology::Role::District => me.district.clone(),
            hifazat_topology::Role::Province => me.province.clone(),
            hifazat_topology::Role::Federal => None,
        }
        .ok_or_else(|| {
            Invalid::one(
                "(node)",
                "the federal node holds the register itself: change the entry there",
            )
        })?;
        if sealed.len() > limits::NOTICE_SEALED_BYTES_MAX {
            return Err(Invalid::one("(notice)", "the sealed notification is too large").into());
        }
        let scope = Scope::notices(&code)
            .map_err(|_| Invalid::one("(node)", "this node's code does not make a scope"))?;
        let now_ms = now_ms();
        self.call(|reply| Request::Notice {
            scope,
            sealed,
            actor,
            now_ms,
            reply,
        })
        .await?
    }

    /// Raises a missing-child alert. Answers once the alert is on disk.
    pub async fn raise_alert(
        &self,
        draft: AlertDraft,
        actor: String,
    ) -> Result<RecordId, EngineError> {
        let new = Box::new(self.local.new_alert(&draft, &actor)?);
        self.call(|reply| Request::Create { new, reply }).await?
    }

    pub async fn alert(&self, id: RecordId) -> Result<AlertRecord, EngineError> {
        self.call(|reply| Request::GetAlert { id, reply }).await?
    }

    /// Adds an event to a record's timeline, acted by `actor`, recorded at this node now. Answers once it is on
    /// disk, with the event as recorded.
    pub async fn add_event(
        &self,
        id: RecordId,
        kind: EventKind,
        note: Option<String>,
        actor: String,
    ) -> Result<Event, EngineError> {
        let actor = actor_name(&actor)?;
        let note = note
            .map(|n| hifazat_domain::validate::optional_text(&n, limits::NOTE_CHARS_MAX))
            .transpose()
            .map_err(|reason| Invalid::one("note", reason))?
            .filter(|n| !n.is_empty());
        let event = Event {
            kind,
            at_ms: now_ms(),
            by: actor,
            node: self.local.node_name.clone(),
            note,
        };
        let sent = event.clone();
        self.call(|reply| Request::AddEvent {
            id,
            event: sent,
            reply,
        })
        .await??;
        Ok(event)
    }

    /// Adds a sighting to an alert. Answers once it is on disk, with the alert's number of sightings.
    pub async fn add_sighting(
        &self,
        id: RecordId,
        draft: SightingDraft,
        actor: String,
    ) -> Result<usize, EngineError> {
        let actor = actor_name(&actor)?;
        let now = now_ms();
        let sighting = draft.validate(&Context {
            districts: &self.local.topology,
            now_ms: now,
        })?;
        self.call(|reply| Request::AddSighting {
            id,
            sighting: Box::new(sighting),
            actor,
            now_ms: now,
            reply,
        })
        .await?
    }

    /// A page of this node's alerts, newest first, that `keep` keeps (given each summary and its lower-case
    /// searchable text: name, description, place): at most `limit`, starting below `before`. Stops after looking
    /// at `LIST_SCAN_MAX` summaries and says where to go on.
    pub async fn list_alerts(
        &self,
        keep: impl Fn(&AlertSummary, &str) -> bool + Send + 'static,
        before: Option<RecordId>,
        limit: usize,
    ) -> Result<Page<AlertSummary>, EngineError> {
        self.list(RecordKind::Alert, before, limit, move |bytes| {
            serde_json::from_slice::<summary::Stored<AlertSummary>>(bytes)
                .ok()
                .filter(|s| keep(&s.summary, &s.search))
                .map(|s| s.summary)
        })
        .await
    }

    /// A page of this node's cases, as [`Engine::list_alerts`].
    pub async fn list_cases(
        &self,
        keep: impl Fn(&CaseSummary) -> bool + Send + 'static,
        before: Option<RecordId>,
        limit: usize,
    ) -> Result<Page<CaseSummary>, EngineError> {
        self.list(RecordKind::Case, before, limit, move |bytes| {
            serde_json::from_slice::<summary::Stored<CaseSummary>>(bytes)
                .ok()
                .map(|s| s.summary)
                .filter(|s| keep(s))
        })
        .await
    }

    async fn list<T: Send + 'static>(
        &self,
        kind: RecordKind,
        before: Option<RecordId>,
        limit: usize,
        pick: impl Fn(&[u8]) -> Option<T> + Send + 'static,
    ) -> Result<Page<T>, EngineError> {
        let store = self.local.store.clone();
        let limit = limit.clamp(1, limits::LIST_PAGE_MAX);
        let page = tokio::task::spawn_blocking(move || -> Result<Page<T>, StoreError> {
            let mut page = Page {
                items: Vec::new(),
                next: None,
                scanned: 0,
            };
            for item in store.summaries(kind_code(kind), before.as_ref()) {
                let (id, bytes) = item?;
                page.scanned += 1;
                if let Some(t) = pick(&bytes) {
                    page.items.push(t);
                }
                if page.items.len() == limit || page.scanned == limits::LIST_SCAN_MAX {
                    page.next = Some(id);
                    break;
                }
            }
            Ok(page)
        })
        .await
        .map_err(|_| EngineError::Stopped)??;
        // What the scan saw was applied before this barrier: it answers once that is on disk.
        self.call(|reply| Request::Barrier { reply }).await?;
        Ok(page)
    }

    /// Folds every alert summary of this node into `acc` (for statistics), on a blocking thread, reading at most
    /// `STATS_SCAN_MAX`. Answers with the result and whether every summary was read.
    pub async fn fold_alerts<A: Send + 'static>(
        &self,
        acc: A,
        f: impl FnMut(&mut A, AlertSummary) + Send + 'static,
    ) -> Result<(A, bool), EngineError> {
        self.fold(RecordKind::Alert, acc, f).await
    }

    /// Folds every case summary of this node into `acc`, as [`Engine::fold_alerts`].
    pub async fn fold_cases<A: Send + 'static>(
        &self,
        acc: A,
        f: impl FnMut(&mut A, CaseSummary) + Send + 'static,
    ) -> Result<(A, bool), EngineError> {
        self.fold(RecordKind::Case, acc, f).await
    }

    async fn fold<A: Send + 'static, T: serde::de::DeserializeOwned>(
        &self,
        kind: RecordKind,
        mut acc: A,
        mut f: impl FnMut(&mut A, T) + Send + 'static,
    ) -> Result<(A, bool), EngineError> {
        let store = self.local.store.clone();
        let folded = tokio::task::spawn_blocking(move || -> Result<(A, bool), StoreError> {
            for (scanned, item) in store.summaries(kind_code(kind), None).enumerate() {
                if scanned == limits::STATS_SCAN_MAX {
                    return Ok((acc, false));
                }
                let (_, bytes) = item?;
                if let Ok(s) = serde_json::from_slice::<summary::Stored<T>>(&bytes) {
                    f(&mut acc, s.summary);
                }
            }
            Ok((acc, true))
        })
        .await
        .map_err(|_| EngineError::Stopped)??;
        self.call(|reply| Request::Barrier { reply }).await?;
        Ok(folded)
    }

    /// The case a tracking code was given to, if this node holds it.
    pub async fn case_by_tracking(&self, code: &str) -> Result<Option<CaseRecord>, EngineError> {
        let store = self.local.store.clone();
        let code = code.to_owned();
        let id = tokio::task::spawn_blocking(move || store.tracking(&code))
            .await
            .map_err(|_| EngineError::Stopped)??;
        match id {
            None => Ok(None),
            Some(id) => match self.case(id).await {
                Ok(case) => Ok(Some(case)),
                Err(EngineError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// This node's name in the topology.
    pub fn node_name(&self) -> &str {
        &self.local.node_name
    }

    /// The topology this engine checks districts against.
    pub fn topology(&self) -> &Topology {
        &self.local.topology
    }

    /// Whether this node files complaints for `district`: districts on its own line only (its district; a
    /// province's districts; any district at the federal node), since only those nodes may hold the case's log.
    pub fn files_cases_for(&self, district: &str) -> bool {
        self.local.files_cases_for(district)
    }

    /// Files a complaint case. Answers once it is on disk, with the case's id and its tracking code (for the
    /// complainant, who follows the case with it).
    pub async fn file_case(
        &self,
        draft: CaseDraft,
        actor: String,
    ) -> Result<(RecordId, String), EngineError> {
        let new = Box::new(self.local.new_case(&draft, &actor)?);
        let code = new.tracking.clone().unwrap_or_default();
        let id = self.call(|reply| Request::Create { new, reply }).await??;
        Ok((id, code))
    }

    pub async fn case(&self, id: RecordId) -> Result<CaseRecord, EngineError> {
        self.call(|reply| Request::GetCase { id, reply }).await?
    }

    /// Verifies, stores and applies entries received from elsewhere. Decoding and signature checks run on the
    /// blocking pool, beside the engine thread; the engine then checks chains, stores and applies.
    pub async fn apply_remote(&self, entries: Vec<Vec<u8>>) -> Result<RemoteReport, EngineError> {
        self.remote(entries, false).await
    }

    /// Like [`Engine::apply_remote`], but answers as soon as the entries are applied, before they are flushed:
    /// for relaying other nodes' entries onward without waiting for this node's disk. Nothing is lost if this
    /// node crashes before the flush: the entries are the authors' signed entries, held by whoever sent them,
    /// and catch-up fetches them again. Never for this node's own entries, which are announced only once durable.
    pub async fn relay_remote(&self, entries: Vec<Vec<u8>>) -> Result<RemoteReport, EngineError> {
        self.remote(entries, true).await
    }

    /// Like [`Engine::relay_remote`], for entries whose signatures the caller has verified. The request is queued
    /// before this returns (unless the engine's queue is full), so entries given in successive calls are applied
    /// in that order; the future waits for the answer.
    pub fn relay_verified(
        &self,
        entries: Vec<VerifiedEntry>,
    ) -> impl Future<Output = Result<RemoteReport, EngineError>> + Send + 'static {
        let (reply, rx) = oneshot::channel();
        let request = Request::ApplyRemote {
            checked: Box::new(Checked {
                slots: entries.into_iter().map(Ok).collect(),
            }),
            early: true,
            reply,
        };
        let queued = match self.tx.try_send(request) {
            Ok(()) => Ok(None),
            Err(mpsc::error::TrySendError::Full(request)) => Ok(Some((self.tx.clone(), request))),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(EngineError::Stopped),
        };
        async move {
            if let Some((tx, request)) = queued? {
                tx.send(request).await.map_err(|_| EngineError::Stopped)?;
            }
            rx.await.map_err(|_| EngineError::Stopped)
        }
    }

    async fn remote(
        &self,
        entries: Vec<Vec<u8>>,
        early: bool,
    ) -> Result<RemoteReport, EngineError> {
        let checked = tokio::task::spawn_blocking(move || Checked::new(entries))
            .await
            .map_err(|_| EngineError::Stopped)?;
        self.call(|reply| Request::ApplyRemote {
            checked: Box::new(checked),
            early,
            reply,
        })
        .await
    }

    /// Answers once everything applied before this call is on disk.
    pub async fn barrier(&self) -> Result<(), EngineError> {
        self.call(|reply| Request::Barrier { reply }).await
    }

    /// Our own new entries, each batch announced once it is durable. A receiver that falls more than
    /// `WRITTEN_QUEUE_MAX` batches behind is told it lagged, and should read the heads again.
    pub fn subscribe_written(&self) -> tokio::sync::broadcast::Receiver<Written> {
        self.local.written.subscribe()
    }

    /// Every record that changes on this node, local or remote, each announced once durable. A receiver that
    /// falls more than `CHANGES_QUEUE_MAX` changes behind is told it lagged.
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.local.changes.subscribe()
    }

    /// The heads of every log in the store. Reads only what has been applied; everything this engine applies is
    /// flushed before any answer depends on it.
    pub async fn heads(&self) -> Result<Vec<hifazat_store::StoredHead>, EngineError> {
        let store = self.local.store.clone();
        Ok(tokio::task::spawn_blocking(move || store.heads())
            .await
            .map_err(|_| EngineError::Stopped)??)
    }

    /// Entries `after + 1 ..= up_to` of a log, in order, stopping before their bytes would pass `bytes_max`
    /// (at least one entry is returned if there is one).
    pub async fn log_range(
        &self,
        log: Hash,
        after: u64,
        up_to: u64,
        bytes_max: usize,
    ) -> Result<Vec<Vec<u8>>, EngineError> {
        let store = self.local.store.clone();
        let limit = up_to
            .saturating_sub(after)
            .min(limits::SYNC_PULL_ENTRIES_MAX as u64) as usize;
        let entries = tokio::task::spawn_blocking(move || store.entries(&log, after + 1, limit))
            .await
            .map_err(|_| EngineError::Stopped)??;
        let mut out = Vec::with_capacity(entries.len());
        let mut bytes = 0;
        for e in entries {
            if bytes + e.len() > bytes_max && !out.is_empty() {
                break;
            }
            bytes += e.len();
            out.push(e);
        }
        Ok(out)
    }

    pub async fn stats(&self) -> Result<Stats, EngineError> {
        self.call(|reply| Request::Stats { reply }).await
    }

    /// A blocking variant of [`Engine::raise_alert`] for callers outside an async runtime (benchmarks, tools).
    pub fn raise_alert_blocking(
        &self,
        draft: AlertDraft,
        actor: String,
    ) -> Result<RecordId, EngineError> {
        let new = Box::new(self.local.new_alert(&draft, &actor)?);
        let (reply, rx) = oneshot::channel();
        self.tx
            .blocking_send(Request::Create { new, reply })
            .map_err(|_| EngineError::Stopped)?;
        rx.blocking_recv().map_err(|_| EngineError::Stopped)?
    }
}

impl Actor {
    /// Takes requests in groups; applies each group's writes in one atomic batch; hands the group's answers to
    /// the flusher, which sends them once the group is durable. When no request waits and the flusher has nothing
    /// queued, the engine flushes the group itself: there is nothing to overlap the flush with, and handing it
    /// over would only add a thread's wake-up to the write's latency.
    fn run(
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

    fn handle(
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
    fn write(
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
            Ok(()) => self.written.push(entry.bytes().to_vec()),
            Err(AppendError::Store(e)) => fatal(&e),
            // The content was built on the head the store gave; refusing it is a bug.
            Err(e) => panic!("own entry {entry:?} refused by the store: {e}"),
        }
        self.stats.local_writes += 1;
        Ok(())
    }

    /// Signs a sealed register notification into this node's notices log. Its record id is random: it names no
    /// record, only the notification.
    fn notice(
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
    fn create(
        &mut self,
        new: Created,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<RecordId, EngineError> {
        let record = new.record.record();
        let announced = Change {
            record,
            kind: new.kind,
            scope: new.scope.as_str().to_owned(),
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
        self.store
            .set_summary(batch, new.meta.kind, &record, &new.summary.encode());
        if let Some(code) = &new.tracking {
            self.store.set_tracking(batch, code, &record);
        }
        self.changes.push(announced);
        Ok(record)
    }

    fn get_alert(&mut self, id: RecordId) -> Result<AlertRecord, EngineError> {
        match self.replicas.get(id, &StoreSource(&self.store))? {
            Some(RecordDoc::Alert(doc)) => Ok(AlertRecord {
                id,
                status: alert_status(&doc.timeline),
                doc,
            }),
            _ => Err(EngineError::NotFound(id)),
        }
    }

    fn get_case(&mut self, id: RecordId) -> Result<CaseRecord, EngineError> {
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
    fn scope_of(doc: &RecordDoc) -> Result<Scope, EngineError> {
        match doc {
            RecordDoc::Alert(_) => Ok(Scope::alerts()),
            RecordDoc::Case(c) => Scope::cases(&c.intake.district)
                .map_err(|_| Invalid::one("district", "the case's district is not valid").into()),
        }
    }

    fn add_event(
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
        match &mut doc {
            RecordDoc::Alert(a) => a.timeline.push(event.clone()),
            RecordDoc::Case(c) => c.timeline.push(event.clone()),
        }
        self.updated(id, &doc, scope, &event.by, payload, event.at_ms, batch)
    }

    fn add_sighting(
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
    fn updated(
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
            scope: scope.as_str().to_owned(),
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
        self.store
            .set_summary(batch, kind_code(doc.kind()), &record, &summary.encode());
        self.changes.push(announced);
        Ok(())
    }

    fn apply_remote(
        &mut self,
        checked: Checked,
        batch: &mut hifazat_store::WriteBatch,
    ) -> RemoteReport {
        let mut report = RemoteReport::default();
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
                    let outcome = EntryOutcome::Stored {
                        log: entry.content.log.clone(),
                        seq: entry.content.seq,
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
        accepted.retain(|e| !is_opaque(&e.content.log.scope));
        report.applied = self.replicas.apply(&accepted, &StoreSource(&self.store));
        // The earliest entry time per record, taken in one pass, dates records new to this node; the entries'
        // log scope says who may hear of the change.
        let mut first: std::collections::HashMap<[u8; 16], (u64, &Scope)> =
            std::collections::HashMap::new();
        for e in &accepted {
            let t = first
                .entry(e.content.record)
                .or_insert((e.content.timestamp_ms, &e.content.log.scope));
            t.0 = t.0.min(e.content.timestamp_ms);
        }
        for record in &report.applied.touched {
            let Some((created_ms, scope)) = first.get(&record.0).copied() else {
                continue;
            };
            if let Some((kind, created)) = self.remote_touched(*record, created_ms, batch) {
                self.changes.push(Change {
                    record: *record,
                    kind,
                    scope: scope.as_str().to_owned(),
                    created,
                    origin: Origin::Remote,
                });
            }
        }
        self.stats.remote_applied += report.applied.applied as u64;
        self.stats.remote_refused += report.refused() as u64;
        report
    }

    /// Brings the store's indexes up to date for a record that entries from elsewhere changed, once its document
    /// reads (read once, here): a record new to this node goes into the record index (and a case's tracking code
    /// into its index), and every touched record's summary is written again. Returns the record's kind and
    /// whether it is new here, or nothing while its document does not read yet.
    fn remote_touched(
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
        let code = kind_code(doc.kind());
        let new = !matches!(self.store.record(&record), Ok(Some(_)));
        if new {
            self.store.set_record(
                batch,
                &record,
                RecordMeta {
                    kind: code,
                    created_ms,
                },
            );
            if let RecordDoc::Case(c) = &doc {
                self.store
                    .set_tracking(batch, c.intake.tracking_code.as_str(), &record);
            }
        }
        let summary = Summary::of(record, &doc, created_ms);
        self.store
            .set_summary(batch, code, &record, &summary.encode());
        Some((doc.kind(), new))
    }
}

/// A record at its limit of events or sightings is the caller's to know (422); other replica failures are the
/// node's.
fn appended(result: Result<Vec<u8>, ReplicaError>) -> Result<Vec<u8>, EngineError> {
    match result {
        Err(e @ ReplicaError::Full(..)) => Err(Invalid::one("(record)", e.to_string()).into()),
        other => Ok(other?),
    }
}

/// One announcement per record for a group, in the order the records first changed: a record that two requests
/// of one group touched is announced once, as created if either created it.
fn merged(changes: Vec<Change>) -> Vec<Change> {
    if changes.len() < 2 {
        return changes;
    }
    let mut at: std::collections::HashMap<RecordId, usize> = std::collections::HashMap::new();
    let mut out: Vec<Change> = Vec::with_capacity(changes.len());
    for change in changes {
        match at.get(&change.record) {
            Some(&i) => out[i].created |= change.created,
            None => {
                at.insert(change.record, out.len());
                out.push(change);
            }
        }
    }
    out
}

/// The prefix of the newest record id this process made: its millisecond (48 bits), then a count within that
/// millisecond (16 bits).
static LAST_ID_PREFIX: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A new record's id: the creation time in milliseconds (6 bytes, big-endian), a count of the ids this process
/// made in that millisecond (2 bytes), then 8 random bytes. Ids made later sort later, even within one
/// millisecond, so lists are newest first and the store's indexes grow at their ends instead of at random places
/// (random keys cost a B-tree page rewrite each); 64 random bits keep ids made on different nodes apart. A clock
/// that steps back, or more than 65,536 ids in one millisecond, moves the time part on past the clock's reading.
fn new_record_id(now_ms: u64) -> RecordId {
    use std::sync::atomic::Ordering;
    let floor = (now_ms & 0xffff_ffff_ffff) << 16;
    let next = |last: u64| floor.max(last.saturating_add(1));
    let last = LAST_ID_PREFIX
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(next(last))
        })
        .unwrap_or_else(|last| last);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&next(last).to_be_bytes());
    OsRng.fill_bytes(&mut id[8..]);
    RecordId(id)
}

/// The acting user's name as it goes into entries: 1 to `ACTOR_BYTES_MAX` bytes, no control characters.
fn actor_name(actor: &str) -> Result<String, Invalid> {
    let actor = actor.trim();
    if actor.is_empty()
        || actor.len() > limits::ACTOR_BYTES_MAX
        || actor.chars().any(char::is_control)
    {
        return Err(Invalid::one(
            "actor",
            format!("must be 1 to {} bytes of text", limits::ACTOR_BYTES_MAX),
        ));
    }
    Ok(actor.to_owned())
}

#[cfg(test)]
mod tests {
    use super::new_record_id;

    fn time_part(id: &super::RecordId) -> u64 {
        let mut ms = [0u8; 8];
        ms[2..].copy_from_slice(&id.0[..6]);
        u64::from_be_bytes(ms)
    }

    #[test]
    fn record_ids_sort_in_the_order_they_were_made() {
        // Ids made in one millisecond, then with a clock that stepped back: each sorts after the one before.
        let now = super::now_ms();
        let mut ids: Vec<_> = (0..1_000).map(|_| new_record_id(now)).collect();
        ids.push(new_record_id(now - 5_000));
        assert!(ids.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ids.iter().all(|id| time_part(id) >= now));
        // A later millisecond is the id's time part, and its count starts again.
        let later = now + 60_000;
        let id = new_record_id(later);
        assert_eq!(time_part(&id), later);
        assert_eq!(id.0[6..8], [0, 0]);
        assert!(ids.iter().all(|i| i.0 < id.0));
    }
}
