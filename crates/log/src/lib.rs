//! Signed, hash-chained logs: the unit of replication and of audit.
//!
//! Every node writes only its own logs, one per (author, scope). An entry carries one automerge change for one
//! record, signed by the author's ed25519 key and chained to the entry before it by hash. This crate is pure: it
//! encodes and decodes entries (`docs/wire.md`), signs them, verifies them under one pinned rule alone or in
//! batches, checks their place in a chain, and keeps the evidence when an author signs two histories.
//! The only way to get a [`VerifiedEntry`] is through [`Verifier`] (or our own [`Signer`]).

pub mod append;
pub mod chain;
pub mod entry;
pub mod proof;
pub mod scope;
pub mod verify;

pub use append::{BackfillError, LogEnd, backfill};
pub use chain::{ChainError, Evidence, EvidenceError, Head, check_next, evidence_id};
pub use entry::{Author, Content, DecodeError, Entry, Hash, LogId, SIGNATURE_CONTEXT};
pub use proof::{ConsistencyProof, InclusionProof, ProveError};
pub use scope::{AreaCode, Scope, Unparsed, WireScope};
pub use verify::{Signer, VerifiedEntry, Verifier, VerifyError};

/// An entry's leaf in its log's RFC 6962 Merkle tree: the leaf hash of its 32-byte hash (the hash of its content,
/// so the tree, like the chain, does not depend on which of several valid signatures an entry carries). Entry
/// `seq` is leaf `seq − 1`.
pub fn tree_leaf(entry_hash: &Hash) -> hifazat_merkle::Digest {
    hifazat_merkle::leaf_hash(&entry_hash.0)
}

/// The origin line of a log's checkpoints: `hifazat/log/<log id, 64 hex digits>`.
pub fn checkpoint_origin(log: &Hash) -> String {
    format!("hifazat/log/{}", log.to_hex())
}

/// Why an entry in a sequence was refused: the rule it broke.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Fault {
    #[error("does not decode: {0}")]
    Decode(#[from] DecodeError),
    #[error("signature rule: {0}")]
    Signature(#[from] VerifyError),
    #[error("chain rule: {0}")]
    Chain(#[from] ChainError),
    #[error("belongs to log {found}, not {expected}")]
    WrongLog { expected: String, found: String },
}

/// Verifies a whole log from its first entry: every entry decodes, meets the signature rule (checked in batches)
/// and follows its predecessor. Returns the verified entries, or the index of the first bad one and why.
pub fn verify_log(
    verifier: &mut Verifier,
    entries: &[&[u8]],
) -> Result<Vec<VerifiedEntry>, (usize, Fault)> {
    let mut decoded = Vec::with_capacity(entries.len());
    for (i, bytes) in entries.iter().enumerate() {
        decoded.push(Entry::decode(bytes).map_err(|e| (i, Fault::from(e)))?);
    }
    let mut head: Option<Head> = None;
    let mut log: Option<LogId> = None;
    let mut out = Vec::with_capacity(decoded.len());
    for (i, result) in verifier.verify_batch(decoded).into_iter().enumerate() {
        let entry = result.map_err(|(_, e)| (i, Fault::from(e)))?;
        match &log {
            None => log = Some(entry.content().log.clone()),
            Some(l) if *l != entry.content().log => {
                return Err((
                    i,
                    Fault::WrongLog {
                        expected: l.to_string(),
                        found: entry.content().log.to_string(),
                    },
                ));
            }
            Some(_) => {}
        }
        check_next(head, &entry).map_err(|e| (i, Fault::from(e)))?;
        head = Some(entry.head());
        out.push(entry);
    }
    Ok(out)
}
