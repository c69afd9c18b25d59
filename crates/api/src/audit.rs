//! What auditors read: each log's tree head and signed checkpoint, inclusion and consistency proofs (RFC 6962,
//! hashes in hex), and a record's history with each change's author, time, signer and proof (officials only).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use hifazat_engine::{AuditError, TreeHead};
use hifazat_log::{Hash, LogId};
use hifazat_merkle::Digest;
use hifazat_register::{Register, RegisterError, RegisterLog};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::caller::Who;
use crate::error::{ApiError, responses};
use crate::register::blocking;
use crate::{AppState, record_id};

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> ApiError {
        match e {
            AuditError::NoLog(log) => ApiError::NotFound(format!("no log {log} here")),
            AuditError::Range { field, reason } => ApiError::field(field, reason),
            AuditError::Engine(e) => e.into(),
        }
    }
}

fn log_id(text: &str) -> Result<Hash, ApiError> {
    let bytes = hex::decode(text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    bytes
        .map(Hash)
        .ok_or_else(|| ApiError::field("log", "is a log id: 64 hexadecimal digits"))
}

/// The caller may read logs: the log's id.
fn audited_log(who: &Who, log: &str) -> Result<Hash, ApiError> {
    who.official()?;
    who.caller.may_audit_logs()?;
    log_id(log)
}

/// The register, when `log` is its log (at the federal node) and the caller may audit it.
fn register_log(
    state: &AppState,
    who: &Who,
    log: &Hash,
) -> Result<Option<Arc<Register>>, ApiError> {
    match &state.register {
        Some(register) if register.log_id().digest() == *log => {
            who.caller.may_audit_register()?;
            Ok(Some(register.clone()))
        }
        _ => Ok(None),
    }
}

/// The register log's tree head, once it has an entry.
fn register_head(log: &RegisterLog) -> Result<Option<TreeHead>, RegisterError> {
    let Some((id, head)) = log.head()? else {
        return Ok(None);
    };
    Ok(Some(TreeHead {
        log: id,
        size: head.seq,
        root: hifazat_merkle::root(log, head.seq)?,
        head: head.hash,
    }))
}

fn hexes(proof: &[Digest]) -> Vec<String> {
    proof.iter().map(hex::encode).collect()
}

/// A log as this node holds it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LogJson {
    /// The log's id (SHA-256 of author and scope), 64 hex digits.
    log: String,
    /// The author's ed25519 public key, hex.
    author: String,
    /// The author's node name in the topology, when it is a member or was one (a revoked key).
    node: Option<String>,
    scope: String,
    /// Entries held: the size of the log's Merkle tree.
    size: u64,
    /// The RFC 6962 root of those entries, hex.
    root: String,
    /// The hash of the last entry, hex.
    head: String,
}

impl LogJson {
    fn of(head: TreeHead, state: &AppState) -> LogJson {
        LogJson {
            log: head.log.digest().to_hex(),
            author: head.log.author.to_string(),
            node: state
                .engine
                .topology()
                .writer(&head.log.author.0)
                .map(|w| w.node().name.clone()),
            scope: head.log.scope.to_string(),
            size: head.size,
            root: hex::encode(head.root),
            head: head.head.to_hex(),
        }
    }
}

/// The logs this node holds, with their tree heads (at the federal node, the register log too for auditors and
/// register officers).
#[utoipa::path(get, path = "/api/v1/logs", tag = "audit",
    responses(
        (status = 200, description = "Every log held, by id", body = Vec<LogJson>),
        responses::Unauthenticated,
        responses::Forbidden,
        responses::Unavailable
    ))]
pub(crate) async fn logs(
    State(state): State<AppState>,
    who: Who,
) -> Result<Json<Vec<LogJson>>, ApiError> {
    who.official()?;
    who.caller.may_audit_logs()?;
    let mut heads = state.engine.tree_heads().await?;
    if let Some(register) = &state.register
        && who.caller.may_audit_register().is_ok()
    {
        let register = register.clone();
        heads.extend(blocking(move || register.read_log(register_head)).await?);
    }
    heads.sort_by_key(|h| h.log.digest());
    Ok(Json(
        heads.into_iter().map(|h| LogJson::of(h, &state)).collect(),
    ))
}

/// A log's tree head here and its newest signed checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckpointJson {
    #[serde(flatten)]
    log: LogJson,
    /// The newest checkpoint this node keeps for the log (c2sp.org/tlog-checkpoint, a signed note), with any
    /// cosignatures; absent when it has none yet.
    checkpoint: Option<String>,
}

/// A log's tree head and newest signed checkpoint.
#[utoipa::path(get, path = "/api/v1/logs/{log}/checkpoint", tag = "audit",
    params(("log" = String, Path, description = "The log id, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The tree head and checkpoint", body = CheckpointJson),
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn checkpoint(
    State(state): State<AppState>,
    who: Who,
    Path(log): Path<String>,
) -> Result<Json<CheckpointJson>, ApiError> {
    let log = audited_log(&who, &log)?;
    if let Some(register) = register_log(&state, &who, &log)? {
        let (head, checkpoint) =
            blocking(move || register.read_log(|log| Ok((register_head(log)?, log.checkpoint()?))))
                .await?;
        let head =
            head.ok_or_else(|| ApiError::NotFound("the register log has no entries yet".into()))?;
        return Ok(Json(CheckpointJson {
            log: LogJson::of(head, &state),
            checkpoint,
        }));
    }
    let head = state.engine.tree_head(log).await?;
    let checkpoint = state.engine.checkpoint(log).await?;
    Ok(Json(CheckpointJson {
        log: LogJson::of(head, &state),
        checkpoint,
    }))
}

/// Which entry, in which tree.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct InclusionQuery {
    /// The entry's sequence number (leaf `seq − 1`).
    seq: u64,
    /// The tree size; the log's whole tree when left out.
    size: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InclusionJson {
    log: String,
    seq: u64,
    size: u64,
    /// The entry's hash and its leaf hash (SHA-256 of 0x00 and the entry's hash), hex.
    entry: String,
    leaf: String,
    /// The root of the tree of `size` entries, hex.
    root: String,
    /// The audit path, bottom up, hex.
    proof: Vec<String>,
}

/// An entry's inclusion proof.
#[utoipa::path(get, path = "/api/v1/logs/{log}/inclusion", tag = "audit",
    params(("log" = String, Path, description = "The log id, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$"), InclusionQuery),
    responses(
        (status = 200, description = "The inclusion proof", body = InclusionJson),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    who: Who,
    Path(log): Path<String>,
    query: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<InclusionJson>, ApiError> {
    let log = audited_log(&who, &log)?;
    let Query(q) = query?;
    let p = match register_log(&state, &who, &log)? {
        Some(register) => {
            blocking(move || register.read_log(|log| log.inclusion(q.seq, q.size))).await?
        }
        None => state.engine.inclusion_proof(log, q.seq, q.size).await?,
    };
    Ok(Json(InclusionJson {
        log: log.to_hex(),
        seq: p.seq,
        size: p.size,
        entry: p.entry.to_hex(),
        leaf: hex::encode(hifazat_log::tree_leaf(&p.entry)),
        root: hex::encode(p.root),
        proof: hexes(&p.path),
    }))
}

/// Two tree sizes of one log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    first: u64,
    /// The log's whole tree when left out.
    second: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsistencyJson {
    log: String,
    first: u64,
    second: u64,
    first_root: String,
    second_root: String,
    /// The consistency proof (RFC 6962 PROOF), hex.
    proof: Vec<String>,
}

/// A consistency proof between two sizes of a log's tree.
#[utoipa::path(get, path = "/api/v1/logs/{log}/consistency", tag = "audit",
    params(("log" = String, Path, description = "The log id, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$"), ConsistencyQuery),
    responses(
        (status = 200, description = "The consistency proof", body = ConsistencyJson),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn consistency(
    State(state): State<AppState>,
    who: Who,
    Path(log): Path<String>,
    query: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ConsistencyJson>, ApiError> {
    let log = audited_log(&who, &log)?;
    let Query(q) = query?;
    let p = match register_log(&state, &who, &log)? {
        Some(register) => {
            blocking(move || register.read_log(|log| log.consistency(q.first, q.second))).await?
        }
        None => {
            state
                .engine
                .consistency_proof(log, q.first, q.second)
                .await?
        }
    };
    Ok(Json(ConsistencyJson {
        log: log.to_hex(),
        first: p.first,
        second: p.second,
        first_root: hex::encode(p.first_root),
        second_root: hex::encode(p.second_root),
        proof: hexes(&p.path),
    }))
}

/// One change of a record.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChangeJson {
    /// The log the change was signed into: its id, scope and author.
    log: String,
    scope: String,
    /// The signing node's public key (hex) and its name in the topology (also for a key since revoked).
    signer: String,
    node: Option<String>,
    /// The acting user (`role:name`), or the node itself (`system:…`).
    actor: String,
    /// When the author wrote it, ms since the Unix epoch (the author's claim, covered by its signature).
    at_ms: u64,
    seq: u64,
    /// The entry's hash and its ed25519 signature, hex.
    entry: String,
    signature: String,
    /// The change is not part of the record: a second creation of its id that lost to the first (the one with
    /// the smaller change hash wins on every node), or a change building on one. Kept, signed, as evidence.
    set_aside: bool,
    /// The entry's inclusion in its log's tree: against the newest signed checkpoint that covers it, else against
    /// the tree as this node holds it.
    proof: ProofJson,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProofJson {
    size: u64,
    root: String,
    path: Vec<String>,
    /// The signed checkpoint (note text) the proof is against, when there is one.
    checkpoint: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HistoryJson {
    record: String,
    /// `alert` or `case`.
    kind: String,
    /// Oldest first (by the author's time).
    changes: Vec<ChangeJson>,
}

/// A record's full history: each change's author, time, signer and proof.
#[utoipa::path(get, path = "/api/v1/records/{id}/history", tag = "audit",
    params(("id" = String, Path, description = "The record id, 32 hex digits", pattern = "^[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The record's changes", body = HistoryJson),
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn history(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
) -> Result<Json<HistoryJson>, ApiError> {
    // Before the lookup, so the public cannot learn which records exist.
    who.official()?;
    let id = record_id(&id)?;
    let topology = state.engine.topology();
    let kind = match state.engine.alert(id).await {
        Ok(alert) => {
            let district = &alert.doc.intake.public.last_seen.district;
            who.caller.may_read_history(topology, district, false)?;
            "alert"
        }
        Err(hifazat_engine::EngineError::NotFound(_)) => {
            let case = state.engine.case(id).await?;
            who.caller
                .may_read_history(topology, &case.doc.intake.district, true)?;
            "case"
        }
        Err(e) => return Err(e.into()),
    };
    let entries = state.engine.record_entries(id.0).await?;
    let mut changes = Vec::with_capacity(entries.len());
    // Each log's tree to prove against, read once however many of its entries changed the record.
    let mut checkpoints: HashMap<Hash, Option<(u64, String)>> = HashMap::new();
    for (entry, set_aside) in entries {
        let c = &entry.content();
        let digest = c.log.digest();
        changes.push(ChangeJson {
            log: digest.to_hex(),
            scope: c.log.scope.to_string(),
            signer: c.log.author.to_string(),
            node: topology
                .writer(&c.log.author.0)
                .map(|w| w.node().name.clone()),
            actor: c.actor.clone(),
            at_ms: c.timestamp_ms,
            seq: c.seq,
            entry: entry.hash().to_hex(),
            signature: hex::encode(entry.signature()),
            set_aside,
            proof: proof_for(&state, &mut checkpoints, &c.log, c.seq).await?,
        });
    }
    Ok(Json(HistoryJson {
        record: id.to_string(),
        kind: kind.into(),
        changes,
    }))
}

/// An entry's inclusion proof against the newest signed checkpoint of its log that covers it (each log's read
/// once into `checkpoints`), else against the tree as this node holds it.
async fn proof_for(
    state: &AppState,
    checkpoints: &mut HashMap<Hash, Option<(u64, String)>>,
    log: &LogId,
    seq: u64,
) -> Result<ProofJson, ApiError> {
    let digest = log.digest();
    if let std::collections::hash_map::Entry::Vacant(slot) = checkpoints.entry(digest) {
        let signed = state.engine.checkpoint(digest).await?.and_then(|text| {
            let size = hifazat_note::Checkpoint::read_unverified(text.as_bytes())?.size;
            Some((size, text))
        });
        slot.insert(signed);
    }
    let (size, checkpoint) = match &checkpoints[&digest] {
        Some((size, text)) if seq <= *size => (Some(*size), Some(text.clone())),
        _ => (None, None),
    };
    let p = state.engine.inclusion_proof(digest, seq, size).await?;
    Ok(ProofJson {
        size: p.size,
        root: hex::encode(p.root),
        path: hexes(&p.path),
        checkpoint,
    })
}

/// One entry of a piece of evidence.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvidenceEntryJson {
    seq: u64,
    /// The entry's hash, hex.
    hash: String,
    /// The hash of the entry it follows, hex.
    prev: String,
    /// The author's signature, hex.
    signature: String,
    /// The whole entry (docs/wire.md), hex, so its signature can be checked anywhere: for auditors only (it
    /// carries the record change).
    bytes: Option<String>,
}

/// Evidence that a log's author forked it: two entries it signed that cannot both be true.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvidenceJson {
    /// The forked log's id, hex.
    log: String,
    /// The author's ed25519 public key, hex.
    author: String,
    /// The author's node name in the topology, when it is a member or was one (a revoked key).
    node: Option<String>,
    scope: String,
    /// `same-position`: two entries at one position; `broken-link`: the second follows another entry than the
    /// first, at the position before it.
    kind: String,
    first: EvidenceEntryJson,
    second: EvidenceEntryJson,
}

/// Evidence of forks this node holds: found here, or passed on by peers (each piece checked on arrival).
#[utoipa::path(get, path = "/api/v1/evidence", tag = "audit",
    responses(
        (status = 200, description = "Every piece of evidence held", body = Vec<EvidenceJson>),
        responses::Unauthenticated,
        responses::Forbidden,
        responses::Unavailable
    ))]
pub(crate) async fn evidence(
    State(state): State<AppState>,
    who: Who,
) -> Result<Json<Vec<EvidenceJson>>, ApiError> {
    who.official()?;
    who.caller.may_audit_logs()?;
    let with_bytes = who.caller.role() == Some(hifazat_access::Role::Auditor);
    let topology = state.engine.topology();
    let mut out = Vec::new();
    for e in state.engine.evidence_checked().await? {
        let entry = |v: &hifazat_log::VerifiedEntry| EvidenceEntryJson {
            seq: v.content().seq,
            hash: v.hash().to_hex(),
            prev: v.content().prev.to_hex(),
            signature: hex::encode(v.signature()),
            bytes: with_bytes.then(|| hex::encode(v.bytes())),
        };
        let log = e.log();
        out.push(EvidenceJson {
            log: log.digest().to_hex(),
            author: log.author.to_string(),
            node: topology
                .writer(&log.author.0)
                .map(|w| w.node().name.clone()),
            scope: log.scope.to_string(),
            kind: if e.first.content().seq == e.second.content().seq {
                "same-position"
            } else {
                "broken-link"
            }
            .into(),
            first: entry(&e.first),
            second: entry(&e.second),
        });
    }
    out.sort_by(|a, b| (&a.log, a.first.seq).cmp(&(&b.log, b.first.seq)));
    Ok(Json(out))
}
