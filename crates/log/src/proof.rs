//! Proofs about a log's Merkle tree as auditors ask for them: a size or position to check first (named by the
//! field it came in), then the proof with the roots it proves against. Shared by every log a node serves, whatever
//! holds its tree.

use hifazat_merkle::{Digest, Nodes, ProofError, consistency_proof, inclusion_proof, root};

use crate::Hash;

/// An entry's inclusion proof, with what it proves against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub seq: u64,
    /// The size of the tree it proves against, and that tree's root.
    pub size: u64,
    pub root: Digest,
    /// The entry's hash (its leaf is `tree_leaf` of it).
    pub entry: Hash,
    pub path: Vec<Digest>,
}

/// A consistency proof between two sizes of a log's tree, with both roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub first: u64,
    pub second: u64,
    pub first_root: Digest,
    pub second_root: Digest,
    pub path: Vec<Digest>,
}

/// Why a proof was not made.
#[derive(Debug)]
pub enum ProveError<E> {
    /// A size or position asked for is out of range: the field it came in, and why.
    Range { field: &'static str, reason: String },
    /// The tree could not make it: a read failed, or the tree does not hold what the log's size says.
    Tree(ProofError<E>),
}

fn read<E>(e: E) -> ProveError<E> {
    ProveError::Tree(ProofError::Read(e))
}

/// `size` when given and not past `held` (the log's size), else `held`.
fn size_within<E>(field: &'static str, size: Option<u64>, held: u64) -> Result<u64, ProveError<E>> {
    match size {
        None => Ok(held),
        Some(size) if size <= held => Ok(size),
        Some(size) => Err(ProveError::Range {
            field,
            reason: format!("{size} is past the log's {held} entries"),
        }),
    }
}

impl InclusionProof {
    /// Entry `seq`'s proof (leaf `seq − 1`) in the tree of `size` entries of a log of `held` (all of it when
    /// `None`), with that tree's root and the entry's hash, which `entry` reads.
    pub fn make<N: Nodes>(
        tree: &N,
        held: u64,
        seq: u64,
        size: Option<u64>,
        entry: impl FnOnce() -> Result<Hash, N::Error>,
    ) -> Result<InclusionProof, ProveError<N::Error>> {
        let size = size_within("size", size, held)?;
        if seq == 0 || seq > size {
            return Err(ProveError::Range {
                field: "seq",
                reason: format!("is 1 to the tree size ({size})"),
            });
        }
        let path = inclusion_proof(tree, seq - 1, size).map_err(ProveError::Tree)?;
        Ok(InclusionProof {
            seq,
            size,
            entry: entry().map_err(read)?,
            root: root(tree, size).map_err(read)?,
            path,
        })
    }
}

impl ConsistencyProof {
    /// The proof between the trees of `first` and `second` entries of a log of `held` (all of it when `None`),
    /// with both roots.
    pub fn make<N: Nodes>(
        tree: &N,
        held: u64,
        first: u64,
        second: Option<u64>,
    ) -> Result<ConsistencyProof, ProveError<N::Error>> {
        let second = size_within("second", second, held)?;
        if first > second {
            return Err(ProveError::Range {
                field: "first",
                reason: format!("is 0 to second ({second})"),
            });
        }
        let path = consistency_proof(tree, first, second).map_err(ProveError::Tree)?;
        Ok(ConsistencyProof {
            first,
            second,
            first_root: root(tree, first).map_err(read)?,
            second_root: root(tree, second).map_err(read)?,
            path,
        })
    }
}
