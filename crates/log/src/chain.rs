//! Where an entry may go in its log, and the evidence left when an author signs two histories.

use thiserror::Error;

use crate::entry::{Entry, Hash, LogId};
use crate::verify::{VerifiedEntry, Verifier, VerifyError};

/// The last entry of a log as a node holds it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Head {
    pub seq: u64,
    pub hash: Hash,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// Entries before this one are missing; hold it until they come (or fetch them).
    #[error("gap: the log's next entry is #{expected}, this is #{got}")]
    Gap { expected: u64, got: u64 },
    /// The log already has an entry at this position: the same one (a replay) or another (equivocation).
    #[error("the log already has entry #{seq}")]
    Behind { seq: u64 },
    /// The entry follows on from an entry this node does not hold: the author has forked the log.
    #[error("entry #{seq} does not follow from the entry held at #{prev_seq}")]
    PrevMismatch { seq: u64, prev_seq: u64 },
}

/// Checks that `entry` extends a log whose head is `head` (`None`: the log is empty here).
pub fn check_next(head: Option<Head>, entry: &VerifiedEntry) -> Result<(), ChainError> {
    let seq = entry.content().seq;
    let expected = head.map_or(1, |h| h.seq + 1);
    if seq < expected {
        return Err(ChainError::Behind { seq });
    }
    if seq > expected {
        return Err(ChainError::Gap { expected, got: seq });
    }
    let prev = head.map_or(Hash::ZERO, |h| h.hash);
    if entry.content().prev != prev {
        return Err(ChainError::PrevMismatch {
            seq,
            prev_seq: seq - 1,
        });
    }
    Ok(())
}

/// A piece of evidence's name: SHA-256 of the length of the byte-wise smaller entry (8 bytes, big-endian), that
/// entry and the other, so either order of the two names it. Stores and sync key evidence by it.
pub fn evidence_id(first: &[u8], second: &[u8]) -> Hash {
    use sha2::{Digest as _, Sha256};
    let (a, b) = if first <= second {
        (first, second)
    } else {
        (second, first)
    };
    let mut h = Sha256::new();
    h.update((a.len() as u64).to_be_bytes());
    h.update(a);
    h.update(b);
    Hash(h.finalize().into())
}

/// Proof that an author signed two histories of one log that cannot both be true. Anyone holding the author's
/// public key can check it with [`Evidence::verify`]: no trust in whoever relayed it is needed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Evidence {
    pub first: VerifiedEntry,
    pub second: VerifiedEntry,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EvidenceError {
    #[error("entry {0} of the evidence: {1}")]
    Signature(u8, VerifyError),
    #[error("entry {0} of the evidence does not decode: {1}")]
    Decode(u8, crate::entry::DecodeError),
    #[error("the two entries are from different logs")]
    DifferentLogs,
    #[error("the two entries do not conflict")]
    NoConflict,
}

impl Evidence {
    /// Evidence from two verified entries of one log, if they conflict: the same position with different content,
    /// or consecutive positions where the later does not follow from the earlier.
    pub fn new(first: VerifiedEntry, second: VerifiedEntry) -> Result<Evidence, EvidenceError> {
        if first.content().log != second.content().log {
            return Err(EvidenceError::DifferentLogs);
        }
        let (a, b) = if first.content().seq <= second.content().seq {
            (first, second)
        } else {
            (second, first)
        };
        let same_seq = a.content().seq == b.content().seq && a.hash() != b.hash();
        let broken_link = b.content().seq == a.content().seq + 1 && b.content().prev != a.hash();
        if same_seq || broken_link {
            Ok(Evidence {
                first: a,
                second: b,
            })
        } else {
            Err(EvidenceError::NoConflict)
        }
    }

    /// Checks evidence received as bytes: both entries decode, both signatures meet the rule, and they conflict.
    pub fn verify(first: &[u8], second: &[u8]) -> Result<Evidence, EvidenceError> {
        let mut verifier = Verifier::new();
        let mut check = |i: u8, bytes: &[u8]| -> Result<VerifiedEntry, EvidenceError> {
            let entry = Entry::decode(bytes).map_err(|e| EvidenceError::Decode(i, e))?;
            verifier
                .verify(entry)
                .map_err(|e| EvidenceError::Signature(i, e))
        };
        let a = check(1, first)?;
        let b = check(2, second)?;
        Evidence::new(a, b)
    }

    pub fn log(&self) -> &LogId {
        &self.first.content().log
    }
}
