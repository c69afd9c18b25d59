//! The store keeps what it acknowledged, reopens to the same state, and never serves corrupt bytes.

use ed25519_dalek::SigningKey;
use hifazat_domain::RecordId;
use hifazat_log::{Content, Entry, LogId, Scope, Signer, VerifiedEntry};
use hifazat_store::{AppendError, RecordMeta, Store, StoreError};

fn chain(seed: u8, n: u64, payload: u8) -> Vec<VerifiedEntry> {
    let signer = Signer::new(SigningKey::from_bytes(&[seed; 32]));
    let log = LogId {
        author: signer.author(),
        scope: Scope::alerts(),
    };
    let mut head = None;
    (1..=n)
        .map(|seq| {
            let content = Content::following(
                log.clone(),
                head,
                seq,
                [(seq % 4) as u8; 16],
                "a".into(),
                vec![payload; 50],
            );
            let e = signer.sign(content).unwrap();
            head = Some(e.head());
            e
        })
        .collect()
}

/// Opens a store that was open in this process a moment ago (`Store::open` waits for the lock the dropped handle is
/// still letting go).
fn reopen(dir: &std::path::Path) -> Store {
    Store::open(dir).expect("reopening the store")
}

fn snapshot(store: &Store) -> String {
    let mut heads = store.heads().unwrap();
    heads.sort_by_key(|h| h.log.digest());
    let mut out = format!("{heads:?}\n{:?}\n", store.records().unwrap());
    for h in heads {
        out += &format!(
            "{:?}\n",
            store.entries(&h.log.digest(), 1, usize::MAX).unwrap()
        );
    }
    for r in 0..4u8 {
        out += &format!("{:?}\n", store.record_changes(&RecordId([r; 16])).unwrap());
    }
    out
}

#[test]
fn reopening_gives_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let entries = chain(1, 40, 1);
    let before = {
        let store = Store::open(dir.path()).unwrap();
        for group in entries.chunks(7) {
            let mut batch = store.batch();
            for e in group {
                let meta = (e.content().seq <= 4).then_some(RecordMeta {
                    kind: hifazat_domain::RecordKind::Alert,
                    created_ms: e.content().seq,
                });
                store.append(&mut batch, e, meta).unwrap();
            }
            store.commit(batch).unwrap();
        }
        snapshot(&store)
    };
    let store = reopen(dir.path());
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.records().unwrap().len(), 4);
    assert_eq!(store.record_changes(&RecordId([1; 16])).unwrap().len(), 10);
    let head = store
        .head(&entries[0].content().log.digest())
        .unwrap()
        .unwrap();
    assert_eq!((head.head.seq, head.head.hash), (40, entries[39].hash()));
}

#[test]
fn duplicates_gaps_and_conflicts_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mine = chain(2, 3, 1);
    let other_history = chain(2, 3, 2);
    let mut batch = store.batch();
    store.append(&mut batch, &mine[0], None).unwrap();
    assert!(matches!(
        store.append(&mut batch, &mine[2], None),
        Err(AppendError::Chain(_))
    ));
    store.append(&mut batch, &mine[1], None).unwrap();
    store.commit(batch).unwrap();
    let mut batch = store.batch();
    assert!(matches!(
        store.append(&mut batch, &mine[1], None),
        Err(AppendError::Duplicate)
    ));
    match store.append(&mut batch, &other_history[1], None) {
        Err(AppendError::Conflict { stored }) => {
            assert_eq!(stored, mine[1].bytes());
            store.add_evidence(&mut batch, &stored, other_history[1].bytes());
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    store.commit(batch).unwrap();
    let evidence = store.evidence().unwrap();
    assert_eq!(evidence.len(), 1);
    hifazat_log::Evidence::verify(&evidence[0].0, &evidence[0].1).unwrap();
}

#[test]
fn a_corrupt_value_is_reported_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let entries = chain(3, 2, 1);
    let mut batch = store.batch();
    for e in &entries {
        store.append(&mut batch, e, None).unwrap();
    }
    store.commit(batch).unwrap();
    let log = entries[0].content().log.digest();
    let mut bad = store.entry(&log, 1).unwrap().unwrap();
    bad[10] ^= 0xff;
    let mut framed = vec![1u8];
    framed.extend_from_slice(&crc32fast::hash(entries[0].bytes()).to_be_bytes());
    framed.extend_from_slice(&bad);
    store.corrupt_for_test(&log, 1, &framed).unwrap();
    assert!(matches!(
        store.entry(&log, 1),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.record_changes(&RecordId([1; 16])),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(
        store.entry(&log, 2).unwrap().is_some(),
        "other values are still served"
    );
}

/// Flip bytes in the database files on disk: opening fails, or every value read is either the one written or an
/// error. Never a wrong value.
#[test]
fn bytes_flipped_on_disk_are_never_served() {
    let entries = chain(4, 30, 9);
    for seed in 0..12u64 {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let mut batch = store.batch();
            for e in &entries {
                store.append(&mut batch, e, None).unwrap();
            }
            store.commit(batch).unwrap();
        }
        let mut files: Vec<_> = walk(dir.path());
        files.sort();
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        for _ in 0..8 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let file = &files[(x >> 33) as usize % files.len()];
            let mut bytes = std::fs::read(file).unwrap();
            if bytes.is_empty() {
                continue;
            }
            let at = (x >> 17) as usize % bytes.len();
            bytes[at] ^= 1 << (x % 8);
            std::fs::write(file, bytes).unwrap();
        }
        let outcome = std::panic::catch_unwind(|| {
            let Ok(store) = Store::open(dir.path()) else {
                return;
            };
            let log = entries[0].content().log.digest();
            for e in &entries {
                if let Ok(Some(bytes)) = store.entry(&log, e.content().seq) {
                    assert_eq!(bytes, e.bytes(), "seed {seed}: a wrong value was served");
                    assert!(Entry::decode(&bytes).is_ok());
                }
            }
        });
        if let Err(panic) = outcome {
            let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(!msg.contains("wrong value"), "{msg}");
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Two conflicting entries arriving in one batch are evidence too, not a duplicate.
#[test]
fn a_conflict_inside_one_batch_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mine = chain(5, 2, 1);
    let other_history = chain(5, 2, 2);
    let mut batch = store.batch();
    store.append(&mut batch, &mine[0], None).unwrap();
    store.append(&mut batch, &mine[1], None).unwrap();
    assert!(matches!(
        store.append(&mut batch, &mine[0], None),
        Err(AppendError::Duplicate)
    ));
    match store.append(&mut batch, &other_history[0], None) {
        Err(AppendError::Conflict { stored }) => assert_eq!(stored, mine[0].bytes()),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn every_log_keeps_its_merkle_tree_for_every_past_size() {
    use hifazat_merkle::{MemoryTree, Nodes, consistency_proof, inclusion_proof, root};
    let dir = tempfile::tempdir().unwrap();
    let entries = chain(3, 77, 3);
    let digest = entries[0].content().log.digest();
    let mut memory = MemoryTree::new();
    let mut roots = vec![root(&memory, 0).unwrap()];
    {
        let store = Store::open(dir.path()).unwrap();
        // Batches of uneven sizes, so subtrees are finished both inside a batch and across batches.
        let mut rest = entries.as_slice();
        for take in [1, 2, 5, 1, 13, 8, 30, 17] {
            let (group, tail) = rest.split_at(take);
            let mut batch = store.batch();
            for e in group {
                store.append(&mut batch, e, None).unwrap();
                memory.push(hifazat_log::tree_leaf(&e.hash()));
                roots.push(memory.root());
            }
            store.commit(batch).unwrap();
            rest = tail;
        }
        assert!(rest.is_empty());
    }
    let check = |store: &Store| {
        let tree = store.tree(digest);
        for (size, want) in roots.iter().enumerate() {
            assert_eq!(
                root(&tree, size as u64).unwrap(),
                *want,
                "root of size {size}"
            );
        }
        for (size, index) in [(77, 0), (77, 76), (40, 13), (1, 0)] {
            assert_eq!(
                inclusion_proof(&tree, index, size).unwrap(),
                inclusion_proof(&memory, index, size).unwrap()
            );
        }
        assert_eq!(
            consistency_proof(&tree, 13, 77).unwrap(),
            consistency_proof(&memory, 13, 77).unwrap()
        );
        assert!(tree.node(0, 77).is_err(), "no leaf past the head");
    };
    let store = reopen(dir.path());
    check(&store);
    // A store without trees (written before they were kept) gets them back from its entries when it opens.
    store.drop_tree_for_test(&digest).unwrap();
    assert!(store.tree(digest).node(0, 0).is_err());
    drop(store);
    let store = reopen(dir.path());
    check(&store);
}

/// Dropping a handle lets its directory's lock go a little later (sled's IO pool may still be writing its last
/// buffer): an open in the same process waits for that, and a lock still held after `LOCK_WAIT` is an error
/// that says so.
#[test]
fn an_open_waits_for_a_lock_being_let_go_and_names_one_kept() {
    use std::time::{Duration, Instant};

    use hifazat_store::LOCK_WAIT;
    use hifazat_store::vault::Vault;

    let dir = tempfile::tempdir().unwrap();
    let held = Store::open(dir.path()).unwrap();
    let letting_go = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    });
    let reopened = Store::open(dir.path()).expect("opens once the lock is let go");
    letting_go.join().unwrap();
    drop(reopened);

    let other = tempfile::tempdir().unwrap();
    let _kept = Vault::open(other.path()).unwrap();
    let started = Instant::now();
    let err = Vault::open(other.path()).unwrap_err();
    assert!(err.to_string().contains("could not acquire lock"), "{err}");
    assert!(
        started.elapsed() >= LOCK_WAIT,
        "gave up after {:?}",
        started.elapsed()
    );
}
