//! Bundles verify offline with the root key alone, and any flipped byte, dropped, reordered or substituted entry is
//! detected and located.

use ed25519_dalek::SigningKey;
use hifazat_audit::{Kind, Reader, Report, export, verify};
use hifazat_log::{Content, LogId, Scope, Signer, VerifiedEntry, checkpoint_origin};
use hifazat_merkle::{Frontier, MemoryTree};
use hifazat_note::{Checkpoint, SignerKey, VerifierKey};
use hifazat_store::Store;

const NODES: [&str; 7] = [
    "federal",
    "punjab",
    "sindh",
    "lahore",
    "kasur",
    "karachi-south",
    "hyderabad",
];

fn seed(node: &str) -> [u8; 32] {
    [NODES.iter().position(|n| *n == node).unwrap() as u8 + 1; 32]
}

fn note_key(node: &str) -> SignerKey {
    SignerKey::new(node, seed(node)).unwrap()
}

fn root() -> SignerKey {
    SignerKey::new("hifazat.test/root", [99; 32]).unwrap()
}

fn signed_topology() -> Vec<u8> {
    let mut text = format!(
        "version = 1\n{}",
        include_str!("../../../topology/demo.toml")
    );
    for node in NODES {
        let key = SigningKey::from_bytes(&seed(node)).verifying_key();
        let marker = format!("name = \"{node}\"\n");
        text = text.replacen(
            &marker,
            &format!("{marker}key = \"{}\"\n", hex::encode(key.as_bytes())),
            1,
        );
    }
    hifazat_topology::Topology::sign(&text, &root())
        .unwrap()
        .into_bytes()
}

fn chain(node: &str, scope: Scope, n: u64, salt: u8) -> Vec<VerifiedEntry> {
    let signer = Signer::new(SigningKey::from_bytes(&seed(node)));
    let log = LogId {
        author: signer.author(),
        scope,
    };
    let mut head = None;
    (1..=n)
        .map(|seq| {
            let content = Content::following(
                log.clone(),
                head,
                seq,
                [(seq % 5) as u8 + salt; 16],
                format!("dpo:officer{}", seq % 3),
                vec![salt; 40 + seq as usize],
            );
            let e = signer.sign(content).unwrap();
            head = Some(e.head());
            e
        })
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    bundle: Vec<u8>,
}

/// The topology where Lahore signs with a new key now, and its old one (the fixture's) is revoked from `logs`
/// (TOML: scope = last valid entry).
fn rekeyed_topology(logs: &str) -> Vec<u8> {
    let text = String::from_utf8(signed_topology()).unwrap();
    let text = text[..text.find("\n\n\u{2014}").unwrap() + 1].to_owned();
    let old = SigningKey::from_bytes(&seed("lahore")).verifying_key();
    let new = SigningKey::from_bytes(&[77; 32]).verifying_key();
    let text = text.replacen(
        &format!("key = \"{}\"\n", hex::encode(old.as_bytes())),
        &format!(
            "key = \"{}\"\nrevoked = [{{ key = \"{}\", logs = {{ {logs} }} }}]\n",
            hex::encode(new.as_bytes()),
            hex::encode(old.as_bytes())
        ),
        1,
    );
    hifazat_topology::Topology::sign(&text, &root())
        .unwrap()
        .into_bytes()
}

/// Lahore's alerts (24 entries, a checkpoint at 16 cosigned by Punjab), Lahore's cases (6, no checkpoint),
/// Punjab's alerts (4, a checkpoint at 4), and Kasur's equivocation kept as evidence.
fn fixture() -> Fixture {
    fixture_with(&signed_topology())
}

/// The fixture's store exported under `topology`.
fn fixture_with(topology: &[u8]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lahore_alerts = chain("lahore", Scope::alerts(), 24, 0);
    let lahore_cases = chain("lahore", Scope::cases("PB-LHR").unwrap(), 6, 50);
    let punjab_alerts = chain("punjab", Scope::alerts(), 4, 100);
    let mut batch = store.batch();
    for e in lahore_alerts
        .iter()
        .chain(&lahore_cases)
        .chain(&punjab_alerts)
    {
        store.append(&mut batch, e, None).unwrap();
    }
    let a = chain("kasur", Scope::alerts(), 1, 7);
    let b = chain("kasur", Scope::alerts(), 1, 8);
    store.add_evidence(&mut batch, a[0].bytes(), b[0].bytes());
    for (log, entries, size, witness) in [
        (&lahore_alerts, 24, 16u64, Some("punjab")),
        (&punjab_alerts, 4, 4, None),
    ] {
        let mut tree = MemoryTree::new();
        for e in &log[..size as usize] {
            tree.push(hifazat_log::tree_leaf(&e.hash()));
        }
        assert!(size <= entries);
        let digest = log[0].content().log.digest();
        let author = NODES
            .iter()
            .find(|n| {
                Signer::new(SigningKey::from_bytes(&seed(n))).author()
                    == log[0].content().log.author
            })
            .unwrap();
        let mut note = Checkpoint {
            origin: checkpoint_origin(&digest),
            size,
            root: tree.root(),
            extensions: vec![],
        }
        .sign(&note_key(author))
        .unwrap();
        if let Some(w) = witness {
            note.add_cosignature(&note_key(w), 1_790_000_000).unwrap();
        }
        store.set_checkpoint(&mut batch, &digest, &note.encode());
    }
    store.commit(batch).unwrap();
    let (bundle, summary) = export(
        &store,
        None,
        &root().verifier().to_string(),
        topology,
        Vec::new(),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(
        (
            summary.logs,
            summary.entries,
            summary.checkpoints,
            summary.evidence
        ),
        (3, 34, 2, 1)
    );
    Fixture { _dir: dir, bundle }
}

fn check(bundle: &[u8]) -> Report {
    verify(bundle, Some(&root().verifier()), &mut |_| {})
}

/// Each record's (kind, byte range) in a bundle.
fn records(bundle: &[u8]) -> Vec<(Kind, std::ops::Range<usize>)> {
    let mut reader = Reader::new(bundle).unwrap();
    let mut out = Vec::new();
    let mut at = hifazat_audit::MAGIC.len();
    while let Some(r) = reader.next_record().unwrap() {
        out.push((r.kind, at..at + 5 + r.body.len()));
        at += 5 + r.body.len();
    }
    out
}

fn rebuild(records: &[(Kind, Vec<u8>)]) -> Vec<u8> {
    let mut w = hifazat_audit::Writer::new(Vec::new()).unwrap();
    for (kind, body) in records {
        w.record(*kind, body).unwrap();
    }
    w.finish().unwrap().0
}

fn bodies(bundle: &[u8]) -> Vec<(Kind, Vec<u8>)> {
    let mut reader = Reader::new(bundle).unwrap();
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        if r.kind != Kind::End {
            out.push((r.kind, r.body));
        }
    }
    out
}

#[test]
fn a_whole_bundle_verifies_and_reports_who_changed_what() {
    let f = fixture();
    let report = check(&f.bundle);
    assert!(report.ok(), "{report}");
    assert_eq!(report.signatures, 34);
    assert_eq!(report.cosignatures, 1);
    assert_eq!(report.logs.len(), 3);
    let lahore = report
        .logs
        .iter()
        .find(|l| l.name.starts_with("lahore/alerts"))
        .unwrap();
    assert_eq!(lahore.entries, 24);
    assert_eq!(
        lahore.checkpoint,
        Some((16, vec![("punjab".to_owned(), 1_790_000_000)]))
    );
    assert_eq!(
        report.evidence,
        vec!["kasur signed two histories of alerts at entries #1 and #1"]
    );
    // Five records of Lahore's alerts, cases and Punjab's alerts each; every change names its node and actor.
    let changes: usize = report.history.values().map(Vec::len).sum();
    assert_eq!(changes, 34);
    let first = &report.history[&[1u8; 16]];
    assert!(
        first
            .iter()
            .all(|c| c.node == "lahore" && c.actor.starts_with("dpo:officer"))
    );
    let mut text = Vec::new();
    report.write_history(&mut text).unwrap();
    assert!(
        String::from_utf8(text)
            .unwrap()
            .contains("lahore dpo:officer1 alerts#1")
    );
    // The same bundle against another root key fails at its first record, and nothing else is trusted.
    let other = VerifierKey::new("hifazat.test/root", hifazat_log::Author([1; 32])).unwrap();
    let report = verify(f.bundle.as_slice(), Some(&other), &mut |_| {});
    assert!(!report.ok());
    assert_eq!(report.failures[0].record, Some(0), "{report}");
    // Without a root key the bundle's own is used, and the report says so.
    let report = verify(f.bundle.as_slice(), None, &mut |_| {});
    assert!(report.ok() && report.root_from_bundle);
    assert!(
        report
            .to_string()
            .contains("WARNING: no root key was given")
    );
}

#[test]
fn every_flipped_byte_is_detected_and_located() {
    let f = fixture();
    let layout = records(&f.bundle);
    let log_of = |r: usize| layout[..=r].iter().rposition(|(k, _)| *k == Kind::Log);
    let mut flips = 0;
    for at in 0..f.bundle.len() {
        for mask in [0x01u8, 0x80] {
            let mut bad = f.bundle.clone();
            bad[at] ^= mask;
            let report = check(&bad);
            assert!(!report.ok(), "byte {at} ^ {mask:#x} went unnoticed");
            flips += 1;
            let Some(r) = layout.iter().position(|(_, range)| range.contains(&at)) else {
                continue; // the magic line: "not an audit bundle"
            };
            // Located: a failure names the record holding the byte; for a log's header, a record of that log.
            let log_end = layout[r + 1..]
                .iter()
                .position(|(k, _)| *k == Kind::Log || *k == Kind::Evidence || *k == Kind::End)
                .map_or(layout.len(), |p| r + 1 + p);
            let located = report.failures.iter().any(|fl| {
                fl.record == Some(r as u64)
                    || (layout[r].0 == Kind::Log
                        && log_of(r) == Some(r)
                        && fl
                            .record
                            .is_some_and(|x| (r as u64..log_end as u64).contains(&x)))
            });
            assert!(
                located,
                "byte {at} ^ {mask:#x} (record {r}, {:?}) not located:\n{report}",
                layout[r].0
            );
        }
    }
    assert!(flips > 20_000, "{flips}");
}

#[test]
fn dropped_reordered_and_substituted_entries_are_located() {
    let f = fixture();
    let records = bodies(&f.bundle);
    let entries: Vec<usize> = (0..records.len())
        .filter(|i| records[*i].0 == Kind::Entry)
        .collect();
    let seq_of = |body: &[u8]| hifazat_log::Entry::decode(body).unwrap().content().seq;

    // Dropping any one entry: the entry after it no longer follows, or the log comes up short.
    for &i in &entries {
        let mut r = records.clone();
        let (_, dropped) = r.remove(i);
        let report = check(&rebuild(&r));
        assert!(!report.ok());
        let seq = seq_of(&dropped);
        let named = report
            .failures
            .iter()
            .any(|f| f.rule.contains(&format!("#{seq}")) || f.rule.contains("entries; "));
        assert!(named, "dropping entry #{seq} (record {i}):\n{report}");
    }

    // Swapping two neighbours of one log: located at the first of them.
    for pair in entries.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b != a + 1 {
            continue;
        }
        let mut r = records.clone();
        r.swap(a, b);
        let report = check(&rebuild(&r));
        assert!(!report.ok());
        assert!(
            report.failures.iter().any(|f| f.record == Some(a as u64)),
            "swapping records {a} and {b}:\n{report}"
        );
    }

    // Substituting a validly signed entry from another log: located at that record.
    let foreign = chain("punjab", Scope::cases("PB-KSR").unwrap(), 3, 9);
    let i = entries[5];
    let mut r = records.clone();
    r[i].1 = foreign[2].bytes().to_vec();
    let report = check(&rebuild(&r));
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.record == Some(i as u64) && f.rule.contains("another log")),
        "{report}"
    );

    // Substituting Lahore's own, validly signed other version of entry #6 (equivocation): the chain breaks
    // right after it.
    let twin = chain("lahore", Scope::alerts(), 6, 1);
    let i = entries[5];
    assert_eq!(seq_of(&records[i].1), 6);
    let mut r = records.clone();
    r[i].1 = twin[5].bytes().to_vec();
    // Its prev is the twin chain's #5, so it is caught at once.
    let report = check(&rebuild(&r));
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.record == Some(i as u64) && f.seq == Some(6)),
        "{report}"
    );
    // A twin that follows Lahore's real #5 passes the chain check itself; the next entry does not follow it.
    let signer = Signer::new(SigningKey::from_bytes(&seed("lahore")));
    let real5 = hifazat_log::Entry::decode(&records[entries[4]].1).unwrap();
    let head = hifazat_log::Head {
        seq: 5,
        hash: real5.hash(),
    };
    let forged = signer
        .sign(Content::following(
            real5.content().log.clone(),
            Some(head),
            6,
            [9; 16],
            "dpo:x".into(),
            vec![1, 2, 3],
        ))
        .unwrap();
    let mut r = records.clone();
    r[i].1 = forged.bytes().to_vec();
    let report = check(&rebuild(&r));
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.record == Some(i as u64 + 1) && f.rule.contains("#6")),
        "{report}"
    );
}

#[test]
fn a_checkpoint_over_another_history_fails_at_the_checkpoint() {
    let f = fixture();
    let mut records = bodies(&f.bundle);
    // Re-sign Punjab's checkpoint over a root of other entries: signature fine, tree wrong.
    let cp_at = records
        .iter()
        .rposition(|(k, _)| *k == Kind::Checkpoint)
        .unwrap();
    let text = String::from_utf8(records[cp_at].1.clone()).unwrap();
    let note = hifazat_note::Note::parse(text.as_bytes()).unwrap();
    let mut cp = Checkpoint::parse(note.text_unverified()).unwrap();
    let mut frontier = Frontier::new();
    frontier.push([3; 32]);
    cp.root = frontier.root();
    records[cp_at].1 = cp.sign(&note_key("punjab")).unwrap().encode().into_bytes();
    let report = check(&rebuild(&records));
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.record == Some(cp_at as u64) && f.rule.contains("another root")),
        "{report}"
    );
}

/// A register at `node` (with that node's key) holding three changes: two entries created, one moved.
fn register_log(dir: &std::path::Path, node: &str) -> hifazat_register::RegisterLog {
    use hifazat_register::offender::{AddressDraft, Conviction, Parentage, Relation};
    let register = hifazat_register::Register::open(
        dir,
        hifazat_register::RegisterKeys::from_secret(&[5; 32]),
        SigningKey::from_bytes(&seed(node)),
        node,
        ["PB-KSR".to_string()].into_iter().collect(),
        hifazat_register::RegisterConfig::default(),
        1_790_000_000_000,
    )
    .unwrap();
    let draft = |cnic: &str| hifazat_register::OffenderDraft {
        cnic: cnic.into(),
        name: "Muhammad Aslam".into(),
        parentage: Parentage {
            relation: Relation::SonOf,
            name: "Ghulam Rasool".into(),
        },
        aliases: vec![],
        photo_ref: None,
        convictions: vec![Conviction {
            offence: "s.376 PPC".into(),
            court: "Anti-Rape Special Court Kasur".into(),
            date: "2022-03-14".into(),
            sentence: "10 years".into(),
        }],
        address: AddressDraft {
            address: "Mohalla Rasheedabad".into(),
            district: "PB-KSR".into(),
            since: "2024-01-01".into(),
        },
    };
    let t = 1_790_000_000_000;
    let a = register
        .create("register_officer:a", &draft("3510211111111"), t)
        .unwrap();
    register
        .create("register_officer:b", &draft("3510222222222"), t + 1)
        .unwrap();
    let moved = hifazat_register::Update::Move {
        address: "Street 9".into(),
        district: "PB-KSR".into(),
        since: "2025-01-01".into(),
    };
    register
        .update("register_officer:a", &a.id, &moved, t + 2)
        .unwrap();
    drop(register);
    hifazat_register::RegisterLog::open(dir).unwrap()
}

fn export_with(
    register: Option<&hifazat_register::RegisterLog>,
) -> (Vec<u8>, hifazat_audit::ExportSummary) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    export(
        &store,
        register,
        &root().verifier().to_string(),
        &signed_topology(),
        Vec::new(),
        &mut |_, _| {},
    )
    .unwrap()
}

#[test]
fn the_register_log_goes_in_only_when_asked_and_verifies_with_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let log = register_log(dir.path(), "federal");
    let (bundle, summary) = export_with(None);
    assert_eq!((summary.logs, summary.register_entries), (0, None));
    assert!(check(&bundle).ok());

    let (bundle, summary) = export_with(Some(&log));
    assert_eq!(
        (
            summary.logs,
            summary.entries,
            summary.checkpoints,
            summary.register_entries
        ),
        (1, 3, 1, Some(3))
    );
    let report = check(&bundle);
    assert!(report.ok(), "{report}");
    assert_eq!(report.logs.len(), 1);
    assert!(report.logs[0].name.starts_with("federal/register ("));
    assert_eq!(report.logs[0].checkpoint, Some((3, vec![])));
    assert_eq!(report.logs[0].root, log.tree_head().unwrap().1);
    // Who changed which register entry when; what they changed stays sealed.
    assert_eq!(report.history.len(), 2);
    let mut text = Vec::new();
    report.write_history(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("federal register_officer:a register#1"),
        "{text}"
    );
    assert!(
        text.contains("federal register_officer:a register#3"),
        "{text}"
    );
    assert!(!text.contains("Aslam") && !bundle.windows(6).any(|w| w == b"Aslam "));

    // A byte of a sealed payload flipped: that entry's signature fails, located.
    let records = bodies(&bundle);
    let third = records
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| *k == Kind::Entry)
        .nth(2)
        .unwrap()
        .0;
    let mut bad = records.clone();
    let n = bad[third].1.len();
    bad[third].1[n - 70] ^= 1;
    let report = check(&rebuild(&bad));
    assert!(!report.ok());
    let f = &report.failures[0];
    assert_eq!((f.record, f.seq), (Some(third as u64), Some(3)), "{report}");
}

#[test]
fn a_register_log_by_any_node_but_the_federal_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let log = register_log(dir.path(), "lahore");
    let (bundle, _) = export_with(Some(&log));
    let report = check(&bundle);
    assert!(!report.ok());
    let f = &report.failures[0];
    assert_eq!(f.seq, Some(1), "{report}");
    assert!(
        f.rule
            .contains("only the federal node writes the register log"),
        "{report}"
    );
}

#[test]
fn a_revoked_keys_entries_verify_up_to_its_point_and_fail_after_it() {
    // Revoked after everything the bundle holds of it: every entry and the checkpoint still verify.
    let report =
        check(&fixture_with(&rekeyed_topology(r#""alerts" = 24, "cases/pb-lhr" = 6"#)).bundle);
    assert!(report.ok(), "{:#?}", report.failures);
    assert_eq!(report.signatures, 34);

    // Revoked after entry 20 of its alerts: entry 21 fails, located, and nothing else.
    let report =
        check(&fixture_with(&rekeyed_topology(r#""alerts" = 20, "cases/pb-lhr" = 6"#)).bundle);
    assert_eq!(report.failures.len(), 1, "{:#?}", report.failures);
    let f = &report.failures[0];
    assert_eq!(f.seq, Some(21));
    assert!(f.rule.contains("revoked after entry 20"), "{}", f.rule);

    // Revoked before its checkpoint (at 16): the checkpoint fails. Its cases log, not named: its first entry fails.
    let report = check(&fixture_with(&rekeyed_topology(r#""alerts" = 12"#)).bundle);
    let rules: Vec<&str> = report.failures.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert!(
        rules
            .iter()
            .any(|r| r.contains("checkpoint") && r.contains("past its point")),
        "{rules:?}"
    );
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.seq == Some(1) && f.rule.contains("revoked after entry 0")),
        "{rules:?}"
    );
}
