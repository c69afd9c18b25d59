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

mod actor;
mod aggregates;
mod audit;
mod codes;
mod glass;
pub use glass::UsePlace;
mod commit;
mod handle;
mod ids;
mod local;
mod messages;
mod photos;
mod places;
mod remote;
mod request;
mod revoked;
mod summary;
mod verify;

use std::sync::Arc;
use std::thread;

use hifazat_domain::{
    AlertDoc, AlertDraft, AlertStatus, CaseDoc, CaseDraft, CaseStatus, Context, Event, EventKind,
    FoundDoc, FoundDraft, Invalid, RecordDoc, RecordId, RecordKind, Sighting, SightingDraft,
    alert_status, case_status,
};
use hifazat_limits as limits;
use hifazat_log::{Content, Entry, Hash, LogId, Scope, Signer, VerifiedEntry, Verifier};
use hifazat_photos::PhotoId;
use hifazat_replica::{ApplyReport, ChangeSource, NewRecord, ReplicaError, Replicas};
use hifazat_store::{AppendError, RecordMeta, Store, StoreError};
use hifazat_topology::Topology;
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use actor::*;
pub use aggregates::{BUILT as FIGURES_BUILT, FiguresCheck, verify_figures};
use aggregates::{Pending, SharedFigures};
pub use audit::{AuditError, CheckpointCheck, TreeHead};
use commit::*;
pub use hifazat_domain::Clock;
pub use hifazat_log::{ConsistencyProof, InclusionProof};
pub use hifazat_store::StoredHead;
use ids::*;
use local::*;
pub use messages::{CaseMessage, messages as case_messages};
pub use photos::{ConfirmedPair, confirmed_pairs};
pub use places::{BUILT as PLACES_BUILT, Narrow};
use remote::*;
pub use remote::{EntryOutcome, RemoteReport};
use request::*;
use summary::Summary;
pub use summary::{AlertSummary, CaseSummary, FoundSummary, Page};
pub use verify::{LogReport, VerifyReport, verify_store};

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
    /// A limit is reached: which, and what to do.
    #[error("{0}")]
    Busy(String),
    /// The caller wrote as much as a limit allows for now: why, and in how many seconds it may write again.
    #[error("{0}")]
    TooMany(String, u64),
}

/// An alert as this node holds it, whole: the API decides what of it a caller may see.
#[derive(Debug, Clone)]
pub struct AlertRecord {
    pub id: RecordId,
    pub doc: AlertDoc,
    pub status: AlertStatus,
}

/// A found child's report as this node holds it, whole: the API decides what of it a caller may see.
#[derive(Debug, Clone)]
pub struct FoundRecord {
    pub id: RecordId,
    pub doc: hifazat_domain::FoundDoc,
    pub status: hifazat_domain::FoundStatus,
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
    /// Remote entries refused because their author's key was revoked before them.
    pub remote_revoked: u64,
    /// Changes of other nodes set aside: a losing creation of a record id already created (equivocation), or a
    /// change building on one. Their entries are stored, as evidence; they are not part of any record.
    pub remote_set_aside: u64,
    pub commit_groups: u64,
    pub waiting_changes: usize,
}

/// Where a sealed register notification went: this node's notices log and its place there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeWritten {
    pub log: LogId,
    pub seq: u64,
}

/// Whether entries of `scope` carry something other than automerge changes (sealed register notifications, pieces
/// of alerts' photos, break-glass uses): they are stored, chained and relayed like any entry, but never applied to
/// a record.
pub fn is_opaque(scope: &Scope) -> bool {
    matches!(
        scope,
        Scope::Notices(_) | Scope::Photos | Scope::Access { .. }
    )
}

/// A scope in JSON, as on the wire.
fn wire_scope<S: serde::Serializer>(scope: &Scope, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(scope)
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
    #[serde(serialize_with = "wire_scope")]
    pub scope: Scope,
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

/// Everything the engine needs to start.
#[derive(Debug)]
pub struct EngineConfig {
    pub node_name: String,
    /// Where the engine reads the time (entries' stamps, events, new ids); the node's other parts read it
    /// through [`Engine::clock`].
    pub clock: hifazat_domain::Clock,
    pub topology: Topology,
    pub signer: Signer,
    pub store: Store,
}
