//! The auditors' pages: the logs this node holds with their tree heads, a log's signed checkpoint and its
//! cosignatures, a record's signed history, the evidence of any fork, and the commands that export and check a
//! bundle offline.

use askama::Template;

use super::*;

/// A log as this node holds it.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// 64 hex digits.
    pub log: String,
    /// Its author's node name, when a member of the topology.
    pub node: Option<String>,
    pub scope: String,
    /// Entries held (the size of its Merkle tree).
    pub size: u64,
    pub root: String,
    pub head: String,
}

/// Evidence that a log's author signed two different entries at one place.
#[derive(Debug, Clone)]
pub struct ForkLine {
    pub log: String,
    pub node: Option<String>,
    pub seq: u64,
    /// The two entries' hashes.
    pub hashes: Vec<String>,
}

/// The auditors' first page.
#[derive(Debug, Template)]
#[template(path = "audit.html")]
pub struct AuditPage<'a> {
    pub frame: Frame<'a>,
    pub logs: Vec<LogLine>,
    pub forks: Vec<ForkLine>,
    /// The record id typed into the history form, and why it found nothing.
    pub record: String,
    pub problem: Option<String>,
}

/// One log: its tree head and newest signed checkpoint, with who signed it.
#[derive(Debug, Template)]
#[template(path = "audit_log.html")]
pub struct AuditLogPage<'a> {
    pub frame: Frame<'a>,
    pub line: LogLine,
    /// The checkpoint's note text, as signed (c2sp.org/tlog-checkpoint).
    pub checkpoint: Option<String>,
    /// The names of the keys that signed it: the author first, then its cosigners.
    pub signers: Vec<String>,
}

/// One change of a record, as signed.
#[derive(Debug, Clone)]
pub struct ChangeLine {
    pub at_ms: u64,
    pub node: Option<String>,
    pub actor: String,
    pub scope: String,
    pub seq: u64,
    pub entry: String,
    pub signature: String,
    /// The tree the inclusion proof is against, and whether a signed checkpoint covers it.
    pub proof_size: u64,
    pub proof_root: String,
    pub checkpointed: bool,
    /// Not part of the record: a losing second creation of its id, or a change building on one (evidence).
    pub set_aside: bool,
}

/// A record's signed history.
#[derive(Debug, Template)]
#[template(path = "audit_history.html")]
pub struct HistoryPage<'a> {
    pub frame: Frame<'a>,
    pub record: String,
    /// `alert` or `case`.
    pub kind: String,
    pub changes: Vec<ChangeLine>,
}
