//! What the engine's handle asks its actor: one request per operation, each with its answer's channel.

use super::*;

pub(crate) enum Request {
    Create {
        new: Box<Created>,
        reply: oneshot::Sender<Result<RecordId, EngineError>>,
    },
    GetAlert {
        id: RecordId,
        reply: oneshot::Sender<Result<AlertRecord, EngineError>>,
    },
    GetFound {
        id: RecordId,
        reply: oneshot::Sender<Result<FoundRecord, EngineError>>,
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
    Glass {
        scope: Scope,
        glass: Box<hifazat_domain::glass::GlassUse>,
        reply: oneshot::Sender<Result<hifazat_domain::glass::GlassUse, EngineError>>,
    },
    Photo {
        op: photos::PhotoOp,
        now_ms: u64,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
}
