//! Audit bundle verification beside raw batch ed25519 verification of the same signatures, on one core, in the same
//! run; and the sizes of proofs and checkpoints at 10^3 and 10^6 entries.
//!
//! A plain program (`cargo bench -p hifazat-bench --bench audit`). The bundle holds `LOGS` logs of
//! `PER_LOG` entries each (alert-sized payloads), each with a signed checkpoint, as `hifazat audit export` writes
//! them. The baseline verifies the same entries' signatures with `ed25519_dalek::verify_batch`, in batches of the
//! size the bundle's verifier uses, and nothing else. Each figure is the best of `RUNS` runs. Bounded: fixed sizes.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use hifazat_log::{Content, Entry, LogId, SIGNATURE_CONTEXT, Scope, Signer, checkpoint_origin};
use hifazat_merkle::{MemoryTree, consistency_proof, inclusion_proof, root};
use hifazat_note::{Checkpoint, SignerKey};
use hifazat_store::Store;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NODES: [&str; 7] = [
    "federal",
    "punjab",
    "sindh",
    "lahore",
    "kasur",
    "karachi-south",
    "hyderabad",
];
const LOGS: usize = 5;
const PER_LOG: u64 = 10_000;
const PAYLOAD: usize = 700;
const RUNS: usize = 5;

fn seed(i: usize) -> [u8; 32] {
    [i as u8 + 1; 32]
}

fn root_key() -> SignerKey {
    SignerKey::new("hifazat.bench/root", [99; 32]).unwrap()
}

fn signed_topology() -> Vec<u8> {
    let mut text = format!("version = 1\n{}", include_str!("../../topology/demo.toml"));
    for (i, node) in NODES.iter().enumerate() {
        let key = SigningKey::from_bytes(&seed(i)).verifying_key();
        let marker = format!("name = \"{node}\"\n");
        text = text.replacen(
            &marker,
            &format!("{marker}key = \"{}\"\n", hex::encode(key.as_bytes())),
            1,
        );
    }
    hifazat_topology::Topology::sign(&text, &root_key())
        .unwrap()
        .into_bytes()
}

/// Builds a store of `LOGS` logs with checkpoints and exports it; returns the bundle and its entries.
fn bundle() -> (Vec<u8>, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut all = Vec::new();
    for (i, node) in NODES.iter().enumerate().take(LOGS) {
        let signer = Signer::new(SigningKey::from_bytes(&seed(i)));
        let log = LogId {
            author: signer.author(),
            scope: Scope::alerts(),
        };
        let mut head = None;
        let mut tree = MemoryTree::new();
        for seq in 1..=PER_LOG {
            let mut batch = store.batch();
            let content = Content::following(
                log.clone(),
                head,
                seq,
                (seq as u128).to_be_bytes(),
                "station_officer:officer".into(),
                vec![(seq % 251) as u8; PAYLOAD],
            );
            let e = signer.sign(content).unwrap();
            head = Some(e.head());
            tree.push(hifazat_log::tree_leaf(&e.hash()));
            store.append(&mut batch, &e, None).unwrap();
            store.apply(batch).unwrap();
            all.push(e.bytes().to_vec());
        }
        let size = PER_LOG * 9 / 10;
        let note = Checkpoint {
            origin: checkpoint_origin(&log.digest()),
            size,
            root: root(&tree, size).unwrap(),
            extensions: vec![],
        }
        .sign(&SignerKey::new(node, seed(i)).unwrap())
        .unwrap();
        let mut batch = store.batch();
        store.set_checkpoint(&mut batch, &log.digest(), &note.encode());
        store.commit(batch).unwrap();
    }
    let (bytes, _) = hifazat_audit::export(
        &store,
        None,
        &root_key().verifier().to_string(),
        &signed_topology(),
        Vec::new(),
        &mut |_, _| {},
    )
    .unwrap();
    (bytes, all)
}

fn best(mut f: impl FnMut() -> u64) -> f64 {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let n = f();
            n as f64 / start.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn main() {
    let (bundle, entries) = bundle();
    let n = entries.len() as u64;
    println!(
        "bundle: {LOGS} logs x {PER_LOG} entries ({} bytes; {:.0} bytes an entry)",
        bundle.len(),
        bundle.len() as f64 / n as f64
    );

    // The baseline: the same signatures, raw batch verification, nothing else.
    let prepared: Vec<(Vec<u8>, Signature, VerifyingKey)> = entries
        .iter()
        .map(|bytes| {
            let e = Entry::decode(bytes).unwrap();
            let mut message = SIGNATURE_CONTEXT.to_vec();
            message.extend_from_slice(e.content_bytes());
            let signature = Signature::from_slice(e.signature()).unwrap();
            let key = VerifyingKey::from_bytes(&e.content().log.author.0).unwrap();
            (message, signature, key)
        })
        .collect();
    let raw = best(|| {
        for chunk in prepared.chunks(hifazat_limits::VERIFY_BATCH_ENTRIES_MAX) {
            let messages: Vec<&[u8]> = chunk.iter().map(|(m, _, _)| m.as_slice()).collect();
            let signatures: Vec<Signature> = chunk.iter().map(|(_, s, _)| *s).collect();
            let keys: Vec<VerifyingKey> = chunk.iter().map(|(_, _, k)| *k).collect();
            ed25519_dalek::verify_batch(&messages, &signatures, &keys).unwrap();
        }
        n
    });
    let decode = best(|| {
        for bytes in &entries {
            std::hint::black_box(Entry::decode(bytes).unwrap());
        }
        n
    });
    let decoded: Vec<Entry> = entries.iter().map(|b| Entry::decode(b).unwrap()).collect();
    let rule = best(|| {
        let mut verifier = hifazat_log::Verifier::new();
        let results = verifier.verify_batch(decoded.clone());
        assert!(results.iter().all(Result::is_ok));
        n
    });
    let ours = best(|| {
        let report =
            hifazat_audit::verify(bundle.as_slice(), Some(&root_key().verifier()), &mut |_| {});
        assert!(report.ok(), "{report}");
        report.signatures
    });
    println!(
        "| raw batch ed25519 verification (ed25519-dalek verify_batch), one core | {:.1} K signatures/s |",
        raw / 1e3
    );
    println!(
        "| audit verify: whole bundle (decode, signatures in batches, chains, Merkle trees, checkpoints, proofs, report), one core | {:.1} K entries/s |",
        ours / 1e3
    );
    println!(
        "| decode alone (parse, SHA-256 of the content) | {:.1} K entries/s |",
        decode / 1e3
    );
    println!(
        "| the project's signature rule alone (hifazat-log verify_batch, cofactored) | {:.1} K entries/s |",
        rule / 1e3
    );
    println!(
        "ratio: {:.2} of raw batch verification (goal >= 0.90)",
        ours / raw
    );

    // Proof sizes.
    for size in [1_000u64, 1_000_000] {
        let mut tree = MemoryTree::new();
        for i in 0..size {
            tree.push(hifazat_merkle::leaf_hash(&i.to_be_bytes()));
        }
        let inclusion: Vec<usize> = [0, size / 3, size / 2, size - 1]
            .iter()
            .map(|i| inclusion_proof(&tree, *i, size).unwrap().len())
            .collect();
        let consistency: Vec<usize> = [1, size / 3, size / 2 + 1, size - 1]
            .iter()
            .map(|m| consistency_proof(&tree, *m, size).unwrap().len())
            .collect();
        let checkpoint = Checkpoint {
            origin: checkpoint_origin(&hifazat_log::Hash([7; 32])),
            size,
            root: tree.root(),
            extensions: vec![],
        };
        let mut note = checkpoint
            .sign(&SignerKey::new("lahore", [1; 32]).unwrap())
            .unwrap();
        note.add_cosignature(&SignerKey::new("punjab", [2; 32]).unwrap(), 1_790_000_000)
            .unwrap();
        println!(
            "size {size}: inclusion proof {}..{} hashes ({}..{} bytes); consistency proof {}..{} hashes ({}..{} bytes); \
             checkpoint with one cosignature {} bytes",
            inclusion.iter().min().unwrap(),
            inclusion.iter().max().unwrap(),
            inclusion.iter().min().unwrap() * 32,
            inclusion.iter().max().unwrap() * 32,
            consistency.iter().min().unwrap(),
            consistency.iter().max().unwrap(),
            consistency.iter().min().unwrap() * 32,
            consistency.iter().max().unwrap() * 32,
            note.encode().len()
        );
    }
}
