//! The register log as auditors see it: its entries as signed (payloads sealed), its RFC 6962 Merkle tree and the
//! federal node's newest signed checkpoint of it, read from the register's vault.
//!
//! None of this needs the register key: entries are stored as signed (only their payloads are sealed), tree nodes
//! are hashes of those entries, and the checkpoint is a signed note. So `hifazat audit export --with-register` can
//! read it with the node stopped, and an auditor checks it with the federal node's public key alone. What it does
//! show (how many changes, each change's time, actor and entry id) leaves the federal node only when the operator
//! asks for it.
//!
//! Vault trees used here (beside the register's own, `service`):
//! - `L` seq (8 bytes, big-endian) → the entry, as signed;
//! - `T` level (1 byte), index (8 bytes, big-endian) → the hash of a complete subtree (not sealed);
//! - `K` (no key) → the newest signed checkpoint, note text (not sealed). It is written in the same batch as the
//!   entry it covers, so it is never ahead of the entries on disk, nor behind them.

use std::path::Path;

use hifazat_log::{ConsistencyProof, Entry, Head, InclusionProof, LogId, ProveError};
use hifazat_merkle::{Digest, Nodes, ProofError, root};
use hifazat_store::Vault;

use crate::service::RegisterError;

pub(crate) const LOG: u8 = b'L';
pub(crate) const TREE: u8 = b'T';
pub(crate) const CHECKPOINT: u8 = b'K';

pub(crate) fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

pub(crate) fn node_key(level: u8, index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = level;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

/// The register log in a vault (read only).
#[derive(Debug, Clone)]
pub struct RegisterLog {
    vault: Vault,
}

impl Nodes for RegisterLog {
    type Error = RegisterError;
    fn node(&self, level: u8, index: u64) -> Result<Digest, RegisterError> {
        let key = node_key(level, index);
        let value = self.vault.get(TREE, &key)?.ok_or_else(|| {
            RegisterError::Damaged(format!(
                "the register log's Merkle tree node {level}/{index} is not stored"
            ))
        })?;
        value.try_into().map_err(|_| {
            RegisterError::Damaged(format!(
                "the register log's Merkle tree node {level}/{index} is not 32 bytes"
            ))
        })
    }
}

/// A proof's refusal as the register states it: a range named by its field; a tree that cannot make a proof of
/// a checked size is damaged.
fn prove_error(e: ProveError<RegisterError>) -> RegisterError {
    match e {
        ProveError::Range { field, reason } => {
            RegisterError::Invalid(hifazat_domain::Invalid::one(field, reason))
        }
        ProveError::Tree(ProofError::Read(e)) => e,
        ProveError::Tree(other) => RegisterError::Damaged(other.to_string()),
    }
}

impl RegisterLog {
    pub(crate) fn of(vault: Vault) -> RegisterLog {
        RegisterLog { vault }
    }

    /// Opens the register's vault directory (the node must be stopped: the vault is locked while it runs).
    pub fn open(dir: &Path) -> Result<RegisterLog, RegisterError> {
        if !dir.exists() {
            return Err(RegisterError::Damaged(format!(
                "{} does not exist: this node keeps no register",
                dir.display()
            )));
        }
        Ok(RegisterLog {
            vault: Vault::open(dir)?,
        })
    }

    /// The newest entry's head, read from disk.
    pub fn head(&self) -> Result<Option<(LogId, Head)>, RegisterError> {
        let Some((k, bytes)) = self.vault.last(LOG)? else {
            return Ok(None);
        };
        let entry = Entry::decode(&bytes).map_err(|e| {
            RegisterError::Damaged(format!("register log entry {}: {e}", hex::encode(&k)))
        })?;
        // Read back: the newest entry is kept under its own sequence number.
        if k != seq_key(entry.content().seq) {
            return Err(RegisterError::Damaged(format!(
                "register log entry {} is kept under another number",
                hex::encode(&k)
            )));
        }
        Ok(Some((
            entry.content().log.clone(),
            Head {
                seq: entry.content().seq,
                hash: entry.hash(),
            },
        )))
    }

    /// The log's size: the entries it holds.
    fn size(&self) -> Result<u64, RegisterError> {
        Ok(self.head()?.map_or(0, |(_, h)| h.seq))
    }

    /// Entries from `from_seq`, at most `limit`, as signed.
    pub fn entries(&self, from_seq: u64, limit: usize) -> Result<Vec<Vec<u8>>, RegisterError> {
        Ok(self
            .vault
            .scan(LOG, Some(&seq_key(from_seq)), limit)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// The newest signed checkpoint (note text), if the log has one.
    pub fn checkpoint(&self) -> Result<Option<String>, RegisterError> {
        match self.vault.get(CHECKPOINT, &[])? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
                RegisterError::Damaged("the register log's checkpoint is not UTF-8".into())
            }),
        }
    }

    /// The size (entries) and root of the tree as stored.
    pub fn tree_head(&self) -> Result<(u64, Digest), RegisterError> {
        let size = self.size()?;
        Ok((size, root(self, size)?))
    }

    /// Entry `seq`'s inclusion proof in the tree of `size` entries (the whole log when `None`).
    pub fn inclusion(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof, RegisterError> {
        let entry = || {
            let bytes = self.entries(seq, 1)?.into_iter().next().ok_or_else(|| {
                RegisterError::Damaged(format!("register log entry #{seq} is missing"))
            })?;
            let entry = Entry::decode(&bytes)
                .map_err(|e| RegisterError::Damaged(format!("register log entry #{seq}: {e}")))?;
            Ok(entry.hash())
        };
        InclusionProof::make(self, self.size()?, seq, size, entry).map_err(prove_error)
    }

    /// A consistency proof from `first` entries to `second` (the whole log when `None`).
    pub fn consistency(
        &self,
        first: u64,
        second: Option<u64>,
    ) -> Result<ConsistencyProof, RegisterError> {
        ConsistencyProof::make(self, self.size()?, first, second).map_err(prove_error)
    }
}
