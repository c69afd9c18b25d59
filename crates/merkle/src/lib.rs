//! Merkle trees as RFC 6962 (section 2.1) defines them, over append-only logs.
//!
//! Leaves hash as `SHA-256(0x00 || data)`, interior nodes as `SHA-256(0x01 || left || right)`, and a tree of `n`
//! leaves splits at the largest power of two below `n`. A tree is read through [`Nodes`]: the hashes of its
//! *complete* subtrees (a subtree of `2^level` leaves starting at a multiple of `2^level`). Those never change as the
//! log grows, so one stored set of them answers the root, inclusion proofs and consistency proofs of every size the
//! log has had, each with O(log n) reads. [`Frontier`] appends leaves and yields the complete subtrees they finish.
//!
//! The checks ([`verify_inclusion`], [`verify_consistency`]) follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 and need
//! nothing but hashes. Pure: no I/O.

use sha2::{Digest as _, Sha256};
use thiserror::Error;

/// A SHA-256 digest: a leaf hash, a node hash or a root.
pub type Digest = [u8; 32];

/// The root of the empty tree: `SHA-256("")`.
pub const EMPTY_ROOT: Digest = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The largest tree this crate works with: 2^63 leaves (so sizes and indexes never overflow).
pub const SIZE_MAX: u64 = 1 << 63;

/// The most hashes a proof can hold for a tree of up to [`SIZE_MAX`] leaves (inclusion needs at most 63, consistency
/// at most 2 × 63 + 1).
pub const PROOF_HASHES_MAX: usize = 128;

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Where a tree's complete subtrees come from: `node(level, index)` is the hash of leaves
/// `index × 2^level .. (index + 1) × 2^level` (at level 0, the leaf hash itself).
pub trait Nodes {
    type Error;
    fn node(&self, level: u8, index: u64) -> Result<Digest, Self::Error>;
}

/// Why a proof could not be made.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProofError<E> {
    #[error("index {index} is not below the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("size {first} is larger than size {second}")]
    SizesOutOfOrder { first: u64, second: u64 },
    #[error("size {size} is larger than the tree ({held} leaves)")]
    TooLarge { size: u64, held: u64 },
    #[error("reading the tree: {0}")]
    Read(E),
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The hash of leaves `start .. start + len` (len ≥ 1), where every complete piece is aligned, as it is in every
/// subtree RFC 6962's recursion visits.
fn subtree<N: Nodes>(nodes: &N, start: u64, len: u64) -> Result<Digest, N::Error> {
    if len.is_power_of_two() {
        let level = len.trailing_zeros() as u8;
        return nodes.node(level, start >> level);
    }
    let k = split(len);
    let left = nodes.node(k.trailing_zeros() as u8, start >> k.trailing_zeros())?;
    let right = subtree(nodes, start + k, len - k)?;
    Ok(node_hash(&left, &right))
}

/// The root of the first `size` leaves (`MTH(D[0:size])`).
pub fn root<N: Nodes>(nodes: &N, size: u64) -> Result<Digest, N::Error> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    subtree(nodes, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 6962 `PATH(index, D[0:size])`).
pub fn inclusion_proof<N: Nodes>(
    nodes: &N,
    index: u64,
    size: u64,
) -> Result<Vec<Digest>, ProofError<N::Error>> {
    if index >= size || size > SIZE_MAX {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Walk down from the whole tree, remembering the sibling at each step; the proof lists them bottom-up.
    let mut path = Vec::new();
    let (mut start, mut len, mut m) = (0u64, size, index);
    while len > 1 {
        let k = split(len);
        if m < k {
            path.push(subtree(nodes, start + k, len - k).map_err(ProofError::Read)?);
            len = k;
        } else {
            path.push(subtree(nodes, start, k).map_err(ProofError::Read)?);
            start += k;
            len -= k;
            m -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof between the trees of the first `first` and the first `second` leaves (RFC 6962
/// `PROOF(first, D[0:second])`); empty when `first` is 0 or equals `second`.
pub fn consistency_proof<N: Nodes>(
    nodes: &N,
    first: u64,
    second: u64,
) -> Result<Vec<Digest>, ProofError<N::Error>> {
    if first > second {
        return Err(ProofError::SizesOutOfOrder { first, second });
    }
    if second > SIZE_MAX {
        return Err(ProofError::TooLarge {
            size: second,
            held: SIZE_MAX,
        });
    }
    if first == 0 || first == second {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[start:start+len], b), iteratively: collect the siblings top-down, then reverse.
    let mut proof = Vec::new();
    let (mut start, mut len, mut m, mut whole) = (0u64, second, first, true);
    while m != len {
        let k = split(len);
        if m <= k {
            proof.push(subtree(nodes, start + k, len - k).map_err(ProofError::Read)?);
            len = k;
        } else {
            proof.push(subtree(nodes, start, k).map_err(ProofError::Read)?);
            start += k;
            len -= k;
            m -= k;
            whole = false;
        }
    }
    if !whole {
        proof.push(subtree(nodes, start, len).map_err(ProofError::Read)?);
    }
    proof.reverse();
    Ok(proof)
}

/// Why a proof does not hold.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    #[error("index {index} is not below the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("size {first} is larger than size {second}")]
    SizesOutOfOrder { first: u64, second: u64 },
    #[error("the proof has {got} hashes; a tree of this size needs {want}")]
    WrongLength { got: usize, want: usize },
    #[error("the proof does not lead to the first root")]
    FirstRootMismatch,
    #[error("the proof does not lead to the root")]
    RootMismatch,
}

/// An inclusion proof of `index` in a tree of `size` leaves, split as RFC 9162 does: `inner` hashes below the point
/// where the leaf's path leaves the tree's right edge, `border` hashes along that edge.
fn decompose(index: u64, size: u64) -> (u32, u32) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner, border)
}

/// How many hashes an inclusion proof of `index` in a tree of `size` leaves has.
fn inclusion_len(index: u64, size: u64) -> usize {
    let (inner, border) = decompose(index, size);
    (inner + border) as usize
}

/// How many hashes a consistency proof from `first` to `second` leaves has (0 < first < second).
fn consistency_len(first: u64, second: u64) -> usize {
    let (inner, border) = decompose(first - 1, second);
    let shift = first.trailing_zeros();
    // When the first tree is a complete subtree, its root is the proof's seed and is not sent.
    let seed = u32::from(!first.is_power_of_two());
    (seed + inner - shift + border) as usize
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root` (RFC 9162 2.1.3.2).
pub fn verify_inclusion(
    leaf: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let want = inclusion_len(index, size);
    if proof.len() != want {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(VerifyError::WrongLength {
                got: proof.len(),
                want,
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 || r != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `second` leaves with root `second_root` extends the tree of `first` leaves with root
/// `first_root` (RFC 9162 2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Digest,
    second_root: &Digest,
    proof: &[Digest],
) -> Result<(), VerifyError> {
    if first > second {
        return Err(VerifyError::SizesOutOfOrder { first, second });
    }
    if first == second {
        if !proof.is_empty() {
            return Err(VerifyError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        return if first_root == second_root {
            Ok(())
        } else {
            Err(VerifyError::RootMismatch)
        };
    }
    if first == 0 {
        // Every tree extends the empty one; the proof is empty.
        if !proof.is_empty() {
            return Err(VerifyError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        return if *first_root == EMPTY_ROOT {
            Ok(())
        } else {
            Err(VerifyError::FirstRootMismatch)
        };
    }
    let want = consistency_len(first, second);
    if proof.len() != want {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let mut path: Vec<Digest> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if s == 0 {
            return Err(VerifyError::WrongLength {
                got: proof.len(),
                want,
            });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    if fr != *first_root {
        return Err(VerifyError::FirstRootMismatch);
    }
    if sr != *second_root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// The right edge of a growing tree: the roots of its complete subtrees, one per set bit of its size, largest first.
/// Enough to append leaves and to compute the current root, with no other storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash), levels strictly decreasing.
    hashes: Vec<(u8, Digest)>,
}

/// A complete subtree that an append finished: `(level, index, hash)`, as [`Nodes::node`] names them.
pub type Finished = (u8, u64, Digest);

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// The frontier of the first `size` leaves of a tree, read from its complete subtrees.
    pub fn of<N: Nodes>(nodes: &N, size: u64) -> Result<Frontier, N::Error> {
        let mut hashes = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size & (1 << level) != 0 {
                hashes.push((level, nodes.node(level, start >> level)?));
                start += 1 << level;
            }
        }
        Ok(Frontier { size, hashes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf (its leaf hash) and returns every complete subtree it finishes, the leaf itself first.
    pub fn push(&mut self, leaf: Digest) -> Vec<Finished> {
        let index = self.size;
        let mut out = vec![(0, index, leaf)];
        let mut carry = (0u8, leaf);
        while let Some(&(level, left)) = self.hashes.last() {
            if level != carry.0 {
                break;
            }
            self.hashes.pop();
            let merged = node_hash(&left, &carry.1);
            carry = (level + 1, merged);
            out.push((level + 1, index >> (level + 1), merged));
        }
        self.hashes.push(carry);
        self.size += 1;
        out
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Digest {
        let mut iter = self.hashes.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return EMPTY_ROOT;
        };
        for (_, h) in iter {
            acc = node_hash(h, &acc);
        }
        acc
    }
}

/// A whole tree in memory: every complete subtree's hash, level by level. For tools and tests that hold a log's
/// leaves anyway; a node keeps its trees in its store.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Digest>>,
}

impl MemoryTree {
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Digest) {
        let mut level = 0;
        let mut hash = leaf;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
            let len = self.levels[level].len();
            if !len.is_multiple_of(2) {
                break;
            }
            hash = node_hash(&self.levels[level][len - 2], &self.levels[level][len - 1]);
            level += 1;
        }
    }

    pub fn root(&self) -> Digest {
        root(self, self.size()).expect("every complete subtree is held")
    }
}

/// Asked for a subtree the tree does not hold (yet).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("the tree holds no complete subtree at level {level}, index {index}")]
pub struct Missing {
    pub level: u8,
    pub index: u64,
}

impl Nodes for MemoryTree {
    type Error = Missing;
    fn node(&self, level: u8, index: u64) -> Result<Digest, Missing> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(Missing { level, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_the_hash_of_nothing() {
        let h: Digest = Sha256::digest([]).into();
        assert_eq!(h, EMPTY_ROOT);
        assert_eq!(MemoryTree::new().root(), EMPTY_ROOT);
        assert_eq!(Frontier::new().root(), EMPTY_ROOT);
    }

    #[test]
    fn split_is_the_largest_power_of_two_below() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1 << 40, 1 << 39),
        ] {
            assert_eq!(split(n), k, "n = {n}");
        }
    }

    #[test]
    fn frontier_matches_the_whole_tree_and_names_finished_subtrees() {
        let mut tree = MemoryTree::new();
        let mut frontier = Frontier::new();
        for i in 0..200u32 {
            let leaf = leaf_hash(&i.to_be_bytes());
            tree.push(leaf);
            for (level, index, hash) in frontier.push(leaf) {
                assert_eq!(tree.node(level, index), Ok(hash));
            }
            assert_eq!(frontier.root(), tree.root());
            assert_eq!(Frontier::of(&tree, tree.size()).as_ref(), Ok(&frontier));
        }
    }

    #[test]
    fn a_proof_past_the_tree_is_refused() {
        let mut tree = MemoryTree::new();
        tree.push(leaf_hash(b"a"));
        assert_eq!(
            inclusion_proof(&tree, 1, 1),
            Err(ProofError::IndexOutOfRange { index: 1, size: 1 })
        );
        assert_eq!(
            consistency_proof(&tree, 2, 1),
            Err(ProofError::SizesOutOfOrder {
                first: 2,
                second: 1
            })
        );
        assert_eq!(
            root(&tree, 2),
            Err(Missing { level: 1, index: 0 }),
            "a size the tree has not reached has no root"
        );
    }
}
