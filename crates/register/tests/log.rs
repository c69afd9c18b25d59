//! The register log's Merkle tree and signed checkpoint: kept with every change, proved against, rebuilt for a log
//! written before the register kept them.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::node_key;
use hifazat_log::{Author, Entry, tree_leaf};
use hifazat_merkle::{MemoryTree, verify_consistency, verify_inclusion};
use hifazat_note::{Checkpoint, Note, VerifierKey};
use hifazat_register::{
    OffenderDraft, Register, RegisterConfig, RegisterError, RegisterKeys, RegisterLog, Update,
};
use hifazat_store::{Vault, VaultBatch};

const NOW: u64 = 1_760_000_000_000;

fn open(dir: &Path) -> Register {
    Register::open(
        dir,
        RegisterKeys::from_secret(&[42; 32]),
        node_key(),
        "federal",
        ["PB-KSR".to_string()].into_iter().collect::<BTreeSet<_>>(),
        RegisterConfig::default(),
        NOW,
    )
    .expect("open")
}

fn draft(i: u64) -> OffenderDraft {
    common::draft(&format!("35102{:08}", 10_000_000 + i), "Muhammad Aslam")
}

/// `n` changes: entries created, every other one then moved.
fn write(register: &Register, from: u64, n: u64) {
    let mut last: Option<String> = None;
    for i in from..from + n {
        if let (1, Some(id)) = (i % 2, &last) {
            register
                .update(
                    "register_officer:a",
                    id,
                    &Update::Move {
                        address: format!("Street {i}"),
                        district: "PB-KSR".into(),
                        since: "2025-01-01".into(),
                    },
                    NOW + i,
                )
                .expect("update");
        } else {
            let e = register
                .create("register_officer:a", &draft(i), NOW + i)
                .expect("create");
            last = Some(e.id);
        }
    }
}

/// The tree of every entry in the log, built here from the entries alone.
fn tree_of(log: &RegisterLog) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for bytes in log.entries(1, 1000).expect("entries") {
        let entry = Entry::decode(&bytes).expect("decodes");
        tree.push(tree_leaf(&entry.hash()));
    }
    tree
}

fn federal() -> VerifierKey {
    VerifierKey::new("federal", Author(node_key().verifying_key().to_bytes())).expect("key")
}

fn field(e: RegisterError) -> String {
    match e {
        RegisterError::Invalid(i) => i.to_string(),
        other => panic!("expected a bad field, got {other}"),
    }
}

#[test]
fn every_change_is_in_the_tree_and_under_a_checkpoint_the_federal_key_signs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let register = open(dir.path());
    let log = register.log();
    assert_eq!(log.checkpoint().expect("read"), None);
    assert_eq!(
        log.tree_head().expect("head"),
        (0, hifazat_merkle::EMPTY_ROOT)
    );
    write(&register, 0, 7);
    let tree = tree_of(&log);
    assert_eq!(tree.size(), 7);
    assert_eq!(log.tree_head().expect("head"), (7, tree.root()));

    let note =
        Note::parse(log.checkpoint().expect("read").expect("kept").as_bytes()).expect("note");
    let checkpoint = Checkpoint::open(&note, &federal()).expect("signed by the federal key");
    assert_eq!(checkpoint.size, 7);
    assert_eq!(checkpoint.root, tree.root());
    assert_eq!(
        checkpoint.origin,
        hifazat_log::checkpoint_origin(&register.log_id().digest())
    );

    // Every entry in every tree that holds it; every pair of sizes consistent.
    let mut roots = vec![hifazat_merkle::EMPTY_ROOT];
    roots.extend((1..=7).map(|size| log.consistency(0, Some(size)).expect("p").second_root));
    for size in 1..=7u64 {
        for seq in 1..=size {
            let p = log.inclusion(seq, Some(size)).expect("inclusion");
            assert_eq!(p.root, roots[size as usize]);
            verify_inclusion(&tree_leaf(&p.entry), seq - 1, size, &p.path, &p.root)
                .expect("inclusion verifies");
        }
        for first in 0..=size {
            let p = log.consistency(first, Some(size)).expect("consistency");
            verify_consistency(first, size, &p.first_root, &p.second_root, &p.path)
                .expect("consistency verifies");
        }
    }

    // Bad ranges name their field.
    assert!(field(log.inclusion(0, None).unwrap_err()).contains("seq"));
    assert!(field(log.inclusion(3, Some(8)).unwrap_err()).contains("size"));
    assert!(field(log.inclusion(5, Some(4)).unwrap_err()).contains("seq"));
    assert!(field(log.consistency(5, Some(3)).unwrap_err()).contains("first"));
    assert!(field(log.consistency(1, Some(9)).unwrap_err()).contains("second"));

    // After a restart the tree goes on from where it was: the old checkpoint is a prefix of the new one.
    drop((register, log));
    let register = open(dir.path());
    write(&register, 100, 1);
    let log = register.log();
    let note =
        Note::parse(log.checkpoint().expect("read").expect("kept").as_bytes()).expect("note");
    let after = Checkpoint::open(&note, &federal()).expect("signed");
    assert_eq!(after.size, 8);
    assert_eq!(after.root, tree_of(&log).root());
    let p = log.consistency(7, None).expect("consistency");
    verify_consistency(7, 8, &checkpoint.root, &after.root, &p.path).expect("an extension");
}

#[test]
fn a_log_written_without_a_tree_gets_its_tree_and_checkpoint_on_opening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (head, checkpoint) = {
        let register = open(dir.path());
        write(&register, 0, 5);
        let log = register.log();
        (
            log.tree_head().expect("head"),
            log.checkpoint().expect("read"),
        )
    };
    assert!(checkpoint.is_some());
    // As a register from before trees were kept: the entries alone.
    {
        let vault = Vault::open(dir.path()).expect("vault");
        let mut batch = VaultBatch::default();
        let nodes = vault.scan(b'T', None, 1000).expect("scan");
        assert!(nodes.len() >= 5, "a node per entry at least");
        for (k, _) in nodes {
            batch.remove(b'T', &k);
        }
        batch.remove(b'K', &[]);
        vault.commit(batch).expect("commit");
        drop(vault);
        let log = RegisterLog::open(dir.path()).expect("open");
        assert_eq!(log.checkpoint().expect("read"), None);
        assert!(matches!(log.tree_head(), Err(RegisterError::Damaged(_))));
    }
    let register = open(dir.path());
    let log = register.log();
    assert_eq!(log.tree_head().expect("head"), head);
    // Signatures are deterministic: the same checkpoint, signed again.
    assert_eq!(log.checkpoint().expect("read"), checkpoint);
    write(&register, 10, 1);
    assert_eq!(log.tree_head().expect("head").1, tree_of(&log).root());
}

#[test]
fn actors_are_logged_whole_and_a_long_one_is_cut_at_a_character() {
    let dir = tempfile::tempdir().expect("tempdir");
    let register = open(dir.path());
    let long = format!("register_officer:{}", "ن".repeat(40));
    register
        .create("register_officer:nasreen", &draft(1), NOW)
        .expect("create");
    register.create(&long, &draft(2), NOW).expect("create");
    let actors: Vec<String> = register
        .log()
        .entries(1, 10)
        .expect("entries")
        .iter()
        .map(|b| Entry::decode(b).expect("decodes").into_content().actor)
        .collect();
    assert_eq!(actors[0], "register_officer:nasreen");
    assert!(long.starts_with(&actors[1]));
    // 17 ASCII bytes, then 23 two-byte letters: 63 bytes, the most that fits in 64 at a character's edge.
    assert_eq!(actors[1].len(), 63);
}
