//! The node's engine: owns the store, the record replicas and the node key, and turns requests into signed,
//! persisted log entries.
//!
//! Actor shape: [`Engine`] is a cloneable handle over a bounded channel; the actor runs on its own thread (sled
//! and automerge work is blocking) and handles requests in groups of up to `COMMIT_GROUP_MAX`: each write is
//! validated, applied to its document and signed, the whole group goes to the store in one atomic batch and one
//! flush, and only then is any request of the group answered. So an answered write is on disk, and reads never
//! see anything that is not. A failed store write ends the process: it restarts and recovers from disk.

mod verify;

use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use hifazat_domain::{
    AlertDoc, AlertDraft, AlertStatus, Context, Event, EventKind, Invalid, RecordDoc, RecordId,
    RecordKind, alert_status,
};
use hifazat_limits as limits;
use hifazat_log::{Content, Entry, LogId, Scope, Signer, VerifiedEntry, Verifier};
use hifazat_replica::{ApplyReport, ChangeSource, Replicas};
use hifazat_store::{AppendError, RecordMeta, Store, StoreError};
use hifazat_topology::Topology;
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

pub use verify::{LogReport, VerifyReport, verify_store};

/// Record kinds as the store's record index writes them.
pub const KIND_ALERT: u8 = 1;
pub const KIND_CASE: u8 = 2;

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

/// An alert as the local API shows it for now: its public part, timeline, sightings count and derived status.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub id: RecordId,
    pub public: hifazat_domain::AlertPublic,
    pub timeline: Vec<Event>,
    pub sightings: usize,
    pub status: AlertStatus,
}

impl AlertView {
    fn new(id: RecordId, doc: AlertDoc) -> AlertView {
        let status = alert_status(&doc.timeline);
        AlertView {
            id,
            public: doc.intake.public,
            sightings: doc.sightings.len(),
            timeline: doc.timeline,
            status,
        }
    }
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
    RaiseAlert {
        draft: Box<AlertDraft>,
        actor: String,
        reply: oneshot::Sender<Result<RecordId, EngineError>>,
    },
    GetAlert {
        id: RecordId,
        reply: oneshot::Sender<Result<AlertView, EngineError>>,
    },
    ApplyRemote {
        entries: Vec<Vec<u8>>,
        reply: oneshot::Sender<RemoteReport>,
    },
    Stats {
        reply: oneshot::Sender<Stats>,
    },
}

/// What applying a batch of remote entries did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteReport {
    pub stored: usize,
    pub duplicate: usize,
    pub refused: Vec<String>,
    pub applied: ApplyReport,
}

/// A handle to the engine. Cheap to clone; the engine stops when every handle is dropped.
#[derive(Clone, Debug)]
pub struct Engine {
    tx: mpsc::Sender<Request>,
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

struct Actor {
    node_name: String,
    topology: Topology,
    signer: Signer,
    store: Store,
    replicas: Replicas,
    verifier: Verifier,
    stats: Stats,
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

/// A reply to send once the group it belongs to is on disk.
type Reply = Box<dyn FnOnce(&mut Actor) + Send>;

impl Engine {
    /// Starts the engine on its own thread.
    pub fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        let actor = Actor {
            replicas: Replicas::new(config.signer.author().0),
            node_name: config.node_name,
            topology: config.topology,
            signer: config.signer,
            store: config.store,
            verifier: Verifier::new(),
            stats: Stats::default(),
        };
        let (tx, rx) = mpsc::channel(limits::ENGINE_QUEUE_MAX);
        thread::Builder::new()
            .name("hifazat-engine".into())
            .spawn(move || actor.run(rx))
            .map_err(EngineError::Spawn)?;
        Ok(Engine { tx })
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

    /// Raises a missing-child alert. Answers once the alert is on disk.
    pub async fn raise_alert(
        &self,
        draft: AlertDraft,
        actor: String,
    ) -> Result<RecordId, EngineError> {
        self.call(|reply| Request::RaiseAlert {
            draft: Box::new(draft),
            actor,
            reply,
        })
        .await?
    }

    pub async fn alert(&self, id: RecordId) -> Result<AlertView, EngineError> {
        self.call(|reply| Request::GetAlert { id, reply }).await?
    }

    /// Verifies, stores and applies entries received from elsewhere.
    pub async fn apply_remote(&self, entries: Vec<Vec<u8>>) -> Result<RemoteReport, EngineError> {
        self.call(|reply| Request::ApplyRemote { entries, reply })
            .await
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
        let (reply, rx) = oneshot::channel();
        self.tx
            .blocking_send(Request::RaiseAlert {
                draft: Box::new(draft),
                actor,
                reply,
            })
            .map_err(|_| EngineError::Stopped)?;
        rx.blocking_recv().map_err(|_| EngineError::Stopped)?
    }
}

impl Actor {
    fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = self.store.batch();
            let mut replies: Vec<Reply> = Vec::new();
            let mut request = Some(first);
            let mut group = 0;
            while let Some(r) = request.take() {
                self.handle(r, &mut batch, &mut replies);
                group += 1;
                if group < limits::COMMIT_GROUP_MAX {
                    request = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                if let Err(e) = self.store.commit(batch) {
                    fatal(&e);
                }
                self.stats.commit_groups += 1;
            }
            for reply in replies {
                reply(&mut self);
            }
        }
    }

    fn handle(
        &mut self,
        request: Request,
        batch: &mut hifazat_store::WriteBatch,
        replies: &mut Vec<Reply>,
    ) {
        match request {
            Request::RaiseAlert {
                draft,
                actor,
                reply,
            } => {
                let result = self.raise_alert(&draft, &actor, batch);
                replies.push(Box::new(move |_| {
                    let _ = reply.send(result);
                }));
            }
            // Reads are answered after the group's writes are on disk, so they see them.
            Request::GetAlert { id, reply } => replies.push(Box::new(move |actor: &mut Actor| {
                let _ = reply.send(actor.get_alert(id));
            })),
            Request::ApplyRemote { entries, reply } => {
                let report = self.apply_remote(entries, batch);
                replies.push(Box::new(move |_| {
                    let _ = reply.send(report);
                }));
            }
            Request::Stats { reply } => replies.push(Box::new(move |actor: &mut Actor| {
                actor.stats.waiting_changes = actor.replicas.waiting();
                let _ = reply.send(actor.stats.clone());
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
            Ok(()) => {}
            Err(AppendError::Store(e)) => fatal(&e),
            // The content was built on the head the store gave; refusing it is a bug.
            Err(e) => panic!("own entry {entry:?} refused by the store: {e}"),
        }
        self.stats.local_writes += 1;
        Ok(())
    }

    fn raise_alert(
        &mut self,
        draft: &AlertDraft,
        actor: &str,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<RecordId, EngineError> {
        let now = now_ms();
        let intake = draft.validate(&Context {
            districts: &self.topology,
            now_ms: now,
        })?;
        let actor = actor_name(actor)?;
        let mut id = [0u8; 16];
        OsRng.fill_bytes(&mut id);
        let id = RecordId(id);
        let raised = Event {
            kind: EventKind::Raised,
            at_ms: now,
            by: actor.clone(),
            node: self.node_name.clone(),
            note: None,
        };
        let doc = RecordDoc::Alert(AlertDoc {
            intake,
            timeline: vec![raised],
            sightings: vec![],
        });
        let change = self.replicas.create(id, &doc, now)?;
        let meta = RecordMeta {
            kind: KIND_ALERT,
            created_ms: now,
        };
        let change = LocalChange {
            scope: Scope::alerts(),
            record: id,
            actor: &actor,
            payload: change,
            meta: Some(meta),
            now_ms: now,
        };
        self.write(change, batch)?;
        Ok(id)
    }

    fn get_alert(&mut self, id: RecordId) -> Result<AlertView, EngineError> {
        match self.replicas.get(id, &StoreSource(&self.store))? {
            Some(RecordDoc::Alert(doc)) => Ok(AlertView::new(id, doc)),
            _ => Err(EngineError::NotFound(id)),
        }
    }

    fn apply_remote(
        &mut self,
        raw: Vec<Vec<u8>>,
        batch: &mut hifazat_store::WriteBatch,
    ) -> RemoteReport {
        let mut report = RemoteReport::default();
        let mut decoded = Vec::with_capacity(raw.len());
        for bytes in raw {
            match Entry::decode(&bytes) {
                Ok(e) => decoded.push(e),
                Err(e) => report.refused.push(format!("does not decode: {e}")),
            }
        }
        let mut accepted: Vec<VerifiedEntry> = Vec::with_capacity(decoded.len());
        for result in self.verifier.verify_batch(decoded) {
            match result {
                Err((entry, e)) => report.refused.push(format!("{entry:?}: {e}")),
                Ok(entry) => match self.store.append(batch, &entry, None) {
                    Ok(()) => {
                        report.stored += 1;
                        accepted.push(entry);
                    }
                    Err(AppendError::Duplicate) => report.duplicate += 1,
                    Err(AppendError::Conflict { stored }) => {
                        self.store.add_evidence(batch, &stored, entry.bytes());
                        report
                            .refused
                            .push(format!("{entry:?}: equivocation; kept as evidence"));
                    }
                    Err(AppendError::Chain(e)) => report.refused.push(format!("{entry:?}: {e}")),
                    Err(AppendError::Store(e)) => fatal(&e),
                },
            }
        }
        report.applied = self.replicas.apply(&accepted, &StoreSource(&self.store));
        // The earliest entry time per record, taken in one pass, dates records new to this node.
        let mut first_ms: std::collections::HashMap<[u8; 16], u64> =
            std::collections::HashMap::new();
        for e in &accepted {
            let t = first_ms
                .entry(e.content.record)
                .or_insert(e.content.timestamp_ms);
            *t = (*t).min(e.content.timestamp_ms);
        }
        for record in &report.applied.touched {
            let created_ms = first_ms.get(&record.0).copied().unwrap_or(0);
            self.index_record(*record, created_ms, batch);
        }
        self.stats.remote_applied += report.applied.applied as u64;
        self.stats.remote_refused += report.refused.len() as u64;
        report
    }

    /// Adds a record that arrived from elsewhere to the store's record index, once its document reads.
    fn index_record(
        &mut self,
        record: RecordId,
        created_ms: u64,
        batch: &mut hifazat_store::WriteBatch,
    ) {
        if matches!(self.store.record(&record), Ok(Some(_))) {
            return;
        }
        let Ok(Some(doc)) = self.replicas.get(record, &StoreSource(&self.store)) else {
            return;
        };
        let kind = match doc.kind() {
            RecordKind::Alert => KIND_ALERT,
            RecordKind::Case => KIND_CASE,
        };
        self.store
            .set_record(batch, &record, RecordMeta { kind, created_ms });
    }
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
