//! The tree against published vectors (transparency-dev/merkle's test data) and, on 100,000 random cases, against
//! a second implementation written straight from RFC 6962's recursive definitions over slices of leaves.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hifazat_merkle::{
    Digest, EMPTY_ROOT, Frontier, MemoryTree, Nodes, VerifyError, consistency_proof,
    inclusion_proof, leaf_hash, node_hash, root, verify_consistency, verify_inclusion,
};

#[derive(serde::Deserialize)]
struct Vectors {
    leaf_inputs_hex: Vec<String>,
    node_hashes_hex: Vec<Vec<String>>,
    root_hashes_hex: Vec<String>,
    inclusion: Vec<Inclusion>,
    consistency: Vec<Consistency>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Inclusion {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Consistency {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("vectors.json")).expect("vectors parse")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn digest(bytes: &[u8]) -> Option<Digest> {
    bytes.try_into().ok()
}

fn b64(s: &str) -> Vec<u8> {
    BASE64.decode(s).expect("base64")
}

fn proof(p: &Option<Vec<String>>) -> Vec<Digest> {
    p.iter()
        .flatten()
        .map(|s| digest(&b64(s)).expect("32 bytes"))
        .collect()
}

#[test]
fn published_tree_vectors() {
    let v = vectors();
    let mut tree = MemoryTree::new();
    let mut frontier = Frontier::new();
    assert_eq!(tree.root().to_vec(), unhex(&v.root_hashes_hex[0]));
    for (i, input) in v.leaf_inputs_hex.iter().enumerate() {
        let leaf = leaf_hash(&unhex(input));
        tree.push(leaf);
        frontier.push(leaf);
        assert_eq!(
            tree.root().to_vec(),
            unhex(&v.root_hashes_hex[i + 1]),
            "root of size {}",
            i + 1
        );
        assert_eq!(frontier.root(), tree.root());
    }
    for (level, hashes) in v.node_hashes_hex.iter().enumerate() {
        for (index, h) in hashes.iter().enumerate() {
            assert_eq!(
                tree.node(level as u8, index as u64).unwrap().to_vec(),
                unhex(h)
            );
        }
    }
    // Every root of every earlier size is still answered by the same nodes.
    for (size, want) in v.root_hashes_hex.iter().enumerate() {
        assert_eq!(root(&tree, size as u64).unwrap().to_vec(), unhex(want));
    }
}

#[test]
fn published_inclusion_vectors() {
    let v = vectors();
    let mut tree = MemoryTree::new();
    for input in &v.leaf_inputs_hex {
        tree.push(leaf_hash(&unhex(input)));
    }
    for case in &v.inclusion {
        let got_proof = proof(&case.proof);
        let root = digest(&b64(&case.root));
        let leaf = digest(&b64(&case.leaf_hash));
        let verdict = match (root, leaf) {
            (Some(root), Some(leaf)) => {
                verify_inclusion(&leaf, case.leaf_idx, case.tree_size, &got_proof, &root)
            }
            _ => Err(VerifyError::RootMismatch),
        };
        assert_eq!(
            verdict.is_err(),
            case.want_err,
            "{} ({:?})",
            case.desc,
            verdict
        );
        if !case.want_err {
            assert_eq!(
                inclusion_proof(&tree, case.leaf_idx, case.tree_size).unwrap(),
                got_proof,
                "our proof for {} in {}",
                case.leaf_idx,
                case.tree_size
            );
        }
    }
}

#[test]
fn published_consistency_vectors() {
    let v = vectors();
    let mut tree = MemoryTree::new();
    for input in &v.leaf_inputs_hex {
        tree.push(leaf_hash(&unhex(input)));
    }
    for case in &v.consistency {
        let got_proof = proof(&case.proof);
        let verdict = match (digest(&b64(&case.root1)), digest(&b64(&case.root2))) {
            (Some(r1), Some(r2)) => {
                verify_consistency(case.size1, case.size2, &r1, &r2, &got_proof)
            }
            _ => Err(VerifyError::RootMismatch),
        };
        assert_eq!(
            verdict.is_err(),
            case.want_err,
            "{} ({:?})",
            case.desc,
            verdict
        );
        if !case.want_err {
            assert_eq!(
                consistency_proof(&tree, case.size1, case.size2).unwrap(),
                got_proof
            );
        }
    }
}

/// RFC 6962 section 2.1, literally: MTH, PATH and PROOF over slices of leaf hashes. Subtree hashes are memoised by
/// (start, length) so that 100,000 cases stay fast; nothing else is shared with the crate under test.
struct Reference<'a> {
    leaves: &'a [Digest],
    memo: HashMap<(usize, usize), Digest>,
}

impl Reference<'_> {
    fn k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn mth(&mut self, start: usize, n: usize) -> Digest {
        if n == 0 {
            return EMPTY_ROOT;
        }
        if n == 1 {
            return self.leaves[start];
        }
        if let Some(h) = self.memo.get(&(start, n)) {
            return *h;
        }
        let k = Self::k(n);
        let h = node_hash(&self.mth(start, k), &self.mth(start + k, n - k));
        self.memo.insert((start, n), h);
        h
    }

    fn path(&mut self, m: usize, start: usize, n: usize) -> Vec<Digest> {
        if n == 1 {
            return Vec::new();
        }
        let k = Self::k(n);
        if m < k {
            let mut p = self.path(m, start, k);
            p.push(self.mth(start + k, n - k));
            p
        } else {
            let mut p = self.path(m - k, start + k, n - k);
            p.push(self.mth(start, k));
            p
        }
    }

    fn subproof(&mut self, m: usize, start: usize, n: usize, b: bool) -> Vec<Digest> {
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![self.mth(start, n)]
            };
        }
        let k = Self::k(n);
        if m <= k {
            let mut p = self.subproof(m, start, k, b);
            p.push(self.mth(start + k, n - k));
            p
        } else {
            let mut p = self.subproof(m - k, start + k, n - k, false);
            p.push(self.mth(start, k));
            p
        }
    }
}

/// splitmix64: a small seeded generator, so the cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn corrupt(proof: &[Digest], rng: &mut Rng) -> Vec<Digest> {
    let mut p = proof.to_vec();
    match rng.below(3) {
        0 if !p.is_empty() => {
            let i = rng.below(p.len() as u64) as usize;
            p[i][rng.below(32) as usize] ^= 1 << rng.below(8);
        }
        1 if !p.is_empty() => {
            p.remove(rng.below(p.len() as u64) as usize);
        }
        _ => {
            let at = rng.below(p.len() as u64 + 1) as usize;
            p.insert(at, leaf_hash(&rng.next().to_be_bytes()));
        }
    }
    p
}

#[test]
fn agrees_with_the_rfc_definitions_on_100000_random_cases() {
    const BATCHES: usize = 100;
    const CASES_PER_BATCH: usize = 1000;
    let mut rng = Rng(0x6869_6661_7a61_7401);
    let mut cases = 0;
    for _ in 0..BATCHES {
        let size = 1 + rng.below(3000) as usize;
        let leaves: Vec<Digest> = (0..size)
            .map(|_| leaf_hash(&rng.next().to_le_bytes()))
            .collect();
        let mut tree = MemoryTree::new();
        for l in &leaves {
            tree.push(*l);
        }
        let mut reference = Reference {
            leaves: &leaves,
            memo: HashMap::new(),
        };
        for _ in 0..CASES_PER_BATCH {
            let n = 1 + rng.below(size as u64);
            let m = 1 + rng.below(n);
            let index = rng.below(n);
            let root_n = root(&tree, n).unwrap();
            let root_m = root(&tree, m).unwrap();
            assert_eq!(root_n, reference.mth(0, n as usize), "root of {n}");
            assert_eq!(root_m, reference.mth(0, m as usize), "root of {m}");

            let inclusion = inclusion_proof(&tree, index, n).unwrap();
            assert_eq!(
                inclusion,
                reference.path(index as usize, 0, n as usize),
                "PATH({index}, {n})"
            );
            let leaf = leaves[index as usize];
            assert_eq!(
                verify_inclusion(&leaf, index, n, &inclusion, &root_n),
                Ok(())
            );
            let bad = corrupt(&inclusion, &mut rng);
            assert!(
                verify_inclusion(&leaf, index, n, &bad, &root_n).is_err(),
                "corrupted PATH({index}, {n})"
            );
            if n > 1 {
                let other = (index + 1 + rng.below(n - 1)) % n;
                assert!(
                    verify_inclusion(&leaf, other, n, &inclusion, &root_n).is_err(),
                    "PATH({index}, {n}) passed for index {other}"
                );
            }

            let consistency = consistency_proof(&tree, m, n).unwrap();
            let want = if m == n {
                Vec::new()
            } else {
                reference.subproof(m as usize, 0, n as usize, true)
            };
            assert_eq!(consistency, want, "PROOF({m}, {n})");
            assert_eq!(
                verify_consistency(m, n, &root_m, &root_n, &consistency),
                Ok(())
            );
            if m < n {
                let bad = corrupt(&consistency, &mut rng);
                assert!(
                    verify_consistency(m, n, &root_m, &root_n, &bad).is_err(),
                    "corrupted PROOF({m}, {n})"
                );
                let wrong = root(&tree, m - 1).unwrap();
                assert!(verify_consistency(m, n, &wrong, &root_n, &consistency).is_err());
            }
            cases += 1;
        }
    }
    assert_eq!(cases, 100_000);
}

#[test]
fn proofs_at_a_million_leaves_are_short() {
    let mut tree = MemoryTree::new();
    for i in 0..1_000_000u32 {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    let n = tree.size();
    let r = tree.root();
    let p = inclusion_proof(&tree, 123_456, n).unwrap();
    assert_eq!(p.len(), 20);
    assert_eq!(
        verify_inclusion(&leaf_hash(&123_456u32.to_be_bytes()), 123_456, n, &p, &r),
        Ok(())
    );
    let c = consistency_proof(&tree, 999, n).unwrap();
    assert_eq!(
        verify_consistency(999, n, &root(&tree, 999).unwrap(), &r, &c),
        Ok(())
    );
    assert!(c.len() <= 2 * 20);
}
