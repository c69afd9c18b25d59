//! Replicas on several nodes: creation once at the origin, remote apply in batches, waiting for dependencies, and
//! convergence of concurrent offline edits.

use ed25519_dalek::SigningKey;
use hifazat_domain::*;
use hifazat_log::{Content, Head, LogId, Scope, Signer, VerifiedEntry};
use hifazat_replica::{NoChanges, Replicas};
use proptest::prelude::*;

struct Node {
    signer: Signer,
    head: Option<Head>,
    replicas: Replicas,
}

impl Node {
    fn new(seed: u8) -> Node {
        let signer = Signer::new(SigningKey::from_bytes(&[seed; 32]));
        let replicas = Replicas::new(signer.author().0);
        Node {
            signer,
            head: None,
            replicas,
        }
    }

    fn entry(&mut self, record: RecordId, payload: Vec<u8>) -> VerifiedEntry {
        let log = LogId {
            author: self.signer.author(),
            scope: Scope::alerts(),
        };
        let at_ms = 1_700_000_000_000 + self.head.map_or(1, |h| h.seq + 1);
        let content =
            Content::following(log, self.head, at_ms, record.0, "officer".into(), payload);
        let entry = self.signer.sign(content).unwrap();
        self.head = Some(entry.head());
        entry
    }

    fn create(&mut self, record: RecordId) -> VerifiedEntry {
        let change = self
            .replicas
            .create(record, &alert(), 1_700_000_000_000)
            .unwrap();
        self.entry(record, change)
    }

    fn event(&mut self, record: RecordId, kind: EventKind, at_ms: u64) -> VerifiedEntry {
        let event = Event {
            kind,
            at_ms,
            by: "officer".into(),
            node: "n".into(),
            note: None,
        };
        let change = self
            .replicas
            .append_event(record, &NoChanges, &event, at_ms)
            .unwrap();
        self.entry(record, change)
    }
}

fn alert() -> RecordDoc {
    RecordDoc::Alert(AlertDoc {
        intake: AlertIntake {
            public: AlertPublic {
                child_name: "Bilal".into(),
                age_years: 9,
                sex: Sex::Male,
                photo_ref: Some("12".repeat(32)),
                description: "Blue shalwar kameez".into(),
                last_seen: Place {
                    district: "PB-LHR".into(),
                    lat: 31.5,
                    lon: 74.3,
                    text: "Data Darbar".into(),
                },
                last_seen_at_ms: 1_699_999_000_000,
                contact_line: "1099".into(),
                channel: Channel::Helpline1099,
            },
            restricted: AlertRestricted {
                reporter: Contact {
                    name: "Father".into(),
                    mobile: Some("+923001234567".into()),
                    cnic: None,
                },
                office: None,
                police_notes: None,
            },
        },
        timeline: vec![Event {
            kind: EventKind::Raised,
            at_ms: 1,
            by: "o".into(),
            node: "n".into(),
            note: None,
        }],
        sightings: vec![],
    })
}

const ID: RecordId = RecordId([7; 16]);

#[test]
fn a_record_round_trips_through_its_document() {
    let mut origin = Node::new(1);
    origin.create(ID);
    origin.event(ID, EventKind::Validated, 10);
    let doc = origin.replicas.get(ID, &NoChanges).unwrap().unwrap();
    let RecordDoc::Alert(a) = doc else {
        panic!("an alert")
    };
    let RecordDoc::Alert(expected) = alert() else {
        unreachable!()
    };
    assert_eq!(a.intake, expected.intake);
    assert_eq!(a.timeline.len(), 2);
    assert_eq!(alert_status(&a.timeline).stage, AlertStage::Validated);
}

#[test]
fn remote_entries_apply_in_any_order_and_wait_for_dependencies() {
    let mut origin = Node::new(1);
    let entries = vec![
        origin.create(ID),
        origin.event(ID, EventKind::Validated, 10),
        origin.event(ID, EventKind::Mobilised, 20),
    ];
    let mut remote = Node::new(2);
    // The later changes first: they wait.
    let report = remote.replicas.apply(&entries[1..], &NoChanges);
    assert_eq!((report.applied, report.waiting), (0, 2));
    assert!(remote.replicas.get(ID, &NoChanges).unwrap().is_none());
    // The creation arrives; everything applies, once.
    let report = remote.replicas.apply(&entries[..1], &NoChanges);
    assert_eq!((report.applied, report.waiting), (3, 0));
    assert_eq!(remote.replicas.waiting(), 0);
    let again = remote.replicas.apply(&entries, &NoChanges);
    assert_eq!((again.applied, again.duplicate), (0, 3));
    assert_eq!(
        remote.replicas.heads(ID, &NoChanges),
        origin.replicas.heads(ID, &NoChanges)
    );
}

#[test]
fn garbage_is_refused() {
    let mut c = Node::new(3);
    let garbage = c.entry(RecordId([9; 16]), b"not automerge".to_vec());
    let report = c.replicas.apply(&[garbage], &NoChanges);
    assert!(report.refused[0].1.contains("not an automerge change"));
}

/// Every change payload of some entries, as a store would give them back.
struct Payloads(Vec<Vec<u8>>);

impl hifazat_replica::ChangeSource for Payloads {
    fn changes(&self, _record: RecordId) -> Vec<Vec<u8>> {
        self.0.clone()
    }
}

fn hash_of(entry: &VerifiedEntry) -> automerge::ChangeHash {
    automerge::Change::from_bytes(entry.content().payload.clone())
        .unwrap()
        .hash()
}

/// `items` in the order `picks` gives (each pick chooses among those left).
fn shuffled<T: Clone>(items: &[T], picks: &[prop::sample::Index]) -> Vec<T> {
    let mut left = items.to_vec();
    let mut out = Vec::new();
    for (i, pick) in picks.iter().enumerate().take(items.len()) {
        let _ = i;
        out.push(left.remove(pick.index(left.len())));
    }
    out.extend(left);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Two nodes create the same record id (only a faulty or stolen key would), and each adds events on its own
    /// version. Nodes that receive everything, in any order and any batches, and a node that loads it all from
    /// its store, end with the same document: the creation with the smaller hash and what builds on it. The other
    /// creation and its events are set aside, on every node alike, the creators' own included.
    #[test]
    fn equivocating_creations_have_one_winner_everywhere(
        events_a in 0usize..4,
        events_b in 0usize..4,
        order_c in prop::collection::vec(any::<prop::sample::Index>(), 8),
        order_d in prop::collection::vec(any::<prop::sample::Index>(), 8),
        batch_c in 1usize..4,
        batch_d in 1usize..4,
    ) {
        let mut a = Node::new(1);
        let mut b = Node::new(2);
        let mut from_a = vec![a.create(ID)];
        from_a.extend((0..events_a).map(|i| a.event(ID, EventKind::Mobilised, i as u64)));
        let mut from_b = vec![b.create(ID)];
        from_b.extend((0..events_b).map(|i| b.event(ID, EventKind::Validated, 100 + i as u64)));
        let a_wins = hash_of(&from_a[0]) < hash_of(&from_b[0]);
        let (winner, loser) = if a_wins { (&from_a, &from_b) } else { (&from_b, &from_a) };
        let mut expected_aside: Vec<_> = loser.iter().map(hash_of).collect();
        expected_aside.sort();
        let all: Vec<VerifiedEntry> = from_a.iter().chain(&from_b).cloned().collect();

        let mut c = Node::new(3);
        for batch in shuffled(&all, &order_c).chunks(batch_c) {
            c.replicas.apply(batch, &NoChanges);
        }
        let mut d = Node::new(4);
        let mut aside_reported = Vec::new();
        for batch in shuffled(&all, &order_d).chunks(batch_d) {
            let report = d.replicas.apply(batch, &NoChanges);
            aside_reported.extend(report.set_aside.iter().map(|(_, h)| *h));
        }
        aside_reported.sort();
        prop_assert_eq!(&aside_reported, &expected_aside);
        let mut e = Node::new(5);
        let stored = Payloads(all.iter().map(|x| x.content().payload.clone()).collect());
        let heads = e.replicas.heads(ID, &stored);
        prop_assert!(heads.is_some());
        prop_assert_eq!(e.replicas.set_aside(ID, &stored), expected_aside.clone());

        // The creators hear of each other's version.
        a.replicas.apply(&from_b, &NoChanges);
        b.replicas.apply(&from_a, &NoChanges);
        for n in [&mut a, &mut b, &mut c, &mut d] {
            prop_assert_eq!(n.replicas.waiting(), 0);
            prop_assert_eq!(n.replicas.heads(ID, &NoChanges), heads.clone());
            prop_assert_eq!(n.replicas.set_aside(ID, &NoChanges), expected_aside.clone());
        }
        let doc = c.replicas.get(ID, &NoChanges).unwrap().unwrap();
        // The creation holds one event; each entry after it adds one.
        prop_assert_eq!(doc.timeline().len(), winner.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Two stations receive an alert, each adds events while cut off from the other, then they exchange entries
    /// in an arbitrary order. Both end with the same heads, the same timeline and the same status.
    #[test]
    fn concurrent_offline_edits_converge(
        events_a in prop::collection::vec(0usize..6, 0..6),
        events_b in prop::collection::vec(0usize..6, 0..6),
        shuffle in any::<prop::sample::Index>(),
    ) {
        let kinds = [EventKind::Validated, EventKind::Mobilised, EventKind::Sighted,
                     EventKind::Recovered, EventKind::Escalated { level: EscalationLevel::Region }, EventKind::Closed];
        let mut origin = Node::new(1);
        let creation = origin.create(ID);
        let mut a = Node::new(2);
        let mut b = Node::new(3);
        a.replicas.apply(std::slice::from_ref(&creation), &NoChanges);
        b.replicas.apply(std::slice::from_ref(&creation), &NoChanges);
        let from_a: Vec<_> = events_a.iter().enumerate().map(|(i, k)| a.event(ID, kinds[*k].clone(), i as u64)).collect();
        let mut from_b: Vec<_> = events_b.iter().enumerate().map(|(i, k)| b.event(ID, kinds[*k].clone(), 100 + i as u64)).collect();
        if !from_b.is_empty() {
            let at = shuffle.index(from_b.len());
            from_b.rotate_left(at); // out of order: some wait for their dependencies
        }
        a.replicas.apply(&from_b, &NoChanges);
        b.replicas.apply(&from_a, &NoChanges);
        prop_assert_eq!(a.replicas.waiting(), 0);
        prop_assert_eq!(a.replicas.heads(ID, &NoChanges), b.replicas.heads(ID, &NoChanges));
        let da = a.replicas.get(ID, &NoChanges).unwrap().unwrap();
        let db = b.replicas.get(ID, &NoChanges).unwrap().unwrap();
        prop_assert_eq!(alert_status(da.timeline()), alert_status(db.timeline()));
        prop_assert_eq!(&da, &db);
        prop_assert_eq!(da.timeline().len(), 1 + events_a.len() + events_b.len());
    }
}

#[test]
fn sightings_go_on_alerts_and_cases_round_trip() {
    let mut node = Node::new(4);
    node.create(ID);
    let sighting = Sighting {
        seen_at_ms: 1_700_000_000_500,
        place: None,
        description: "Seen near the railway station".into(),
        reporter: None,
        channel: Channel::Helpline15,
    };
    node.replicas
        .append_sighting(ID, &NoChanges, &sighting, 1_700_000_001_000)
        .unwrap();
    let Some(RecordDoc::Alert(alert)) = node.replicas.get(ID, &NoChanges).unwrap() else {
        panic!("an alert")
    };
    assert_eq!(alert.sightings, vec![sighting.clone()]);

    let case_id = RecordId([8; 16]);
    let case = RecordDoc::Case(CaseDoc {
        intake: CaseIntake {
            category: CaseCategory::DomesticViolence,
            district: "PB-LHR".into(),
            place: None,
            description: "Complaint by phone".into(),
            channel: Channel::Helpline15,
            victim_age_years: Some(31),
            complainant: None,
            tracking_code: TrackingCode::from_random([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
            media: None,
        },
        timeline: vec![],
    });
    node.replicas.create(case_id, &case, 1).unwrap();
    assert_eq!(node.replicas.get(case_id, &NoChanges).unwrap(), Some(case));
    let refused = node
        .replicas
        .append_sighting(case_id, &NoChanges, &sighting, 2);
    assert!(
        matches!(refused, Err(hifazat_replica::ReplicaError::WrongKind(..))),
        "{refused:?}"
    );
}

/// The document as automerge's own serde view reads it: a key or list element at a time.
fn read_by_lookup(doc: &automerge::AutoCommit) -> RecordDoc {
    let json = serde_json::to_value(automerge::AutoSerde::from(doc)).unwrap();
    serde_json::from_value(json).unwrap()
}

/// A document holding exactly these entries' changes.
fn document_of(entries: &[VerifiedEntry]) -> automerge::AutoCommit {
    let mut doc = automerge::AutoCommit::new();
    doc.apply_changes(
        entries
            .iter()
            .map(|e| automerge::Change::from_bytes(e.content().payload.clone()).unwrap()),
    )
    .unwrap();
    doc
}

#[test]
fn a_document_reads_as_automerges_own_serde_view_does_with_conflicts_and_concurrent_lists() {
    use automerge::transaction::Transactable;
    use automerge::{ROOT, ReadDoc};

    let mut a = Node::new(5);
    let mut b = Node::new(6);
    let created = a.create(ID);
    b.replicas.apply(std::slice::from_ref(&created), &NoChanges);
    // Offline on both sides: events and sightings added to the same lists concurrently.
    let sighting = |note: &str| Sighting {
        seen_at_ms: 1_700_000_000_500,
        place: None,
        description: note.into(),
        reporter: None,
        channel: Channel::Helpline15,
    };
    let mut entries = vec![created];
    for (node, note) in [(&mut a, "first"), (&mut b, "second")] {
        entries.push(node.event(ID, EventKind::Validated, 20));
        let change = node
            .replicas
            .append_sighting(ID, &NoChanges, &sighting(note), 1_700_000_001_000)
            .unwrap();
        entries.push(node.entry(ID, change));
    }
    let mut doc = document_of(&entries);
    // The same key written on two sides: a conflict, which both readings must settle alike.
    let mut fork = doc.fork();
    for (d, name) in [(&mut doc, "Bilal A"), (&mut fork, "Bilal B")] {
        let (_, intake) = d.get(ROOT, "intake").unwrap().unwrap();
        let (_, public) = d.get(&intake, "public").unwrap().unwrap();
        d.put(&public, "child_name", name).unwrap();
    }
    doc.merge(&mut fork).unwrap();
    let (_, intake) = doc.get(ROOT, "intake").unwrap().unwrap();
    let (_, public) = doc.get(&intake, "public").unwrap().unwrap();
    assert_eq!(doc.get_all(&public, "child_name").unwrap().len(), 2);

    let read = hifazat_replica::read(ID, &doc).unwrap();
    assert_eq!(read, read_by_lookup(&doc));
    let RecordDoc::Alert(alert) = read else {
        panic!("an alert")
    };
    assert_eq!(alert.timeline.len(), 3);
    assert_eq!(alert.sightings.len(), 2);
    assert!(["Bilal A", "Bilal B"].contains(&alert.intake.public.child_name.as_str()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever events a record gathers, both readings agree.
    #[test]
    fn both_readings_agree_on_any_history(kinds in proptest::collection::vec(0usize..5, 0..12)) {
        let mut origin = Node::new(7);
        let mut entries = vec![origin.create(ID)];
        for (i, k) in kinds.iter().enumerate() {
            let kind = [
                EventKind::Validated,
                EventKind::Mobilised,
                EventKind::FirRegistered { fir_number: format!("FIR-{i}") },
                EventKind::Escalated { level: EscalationLevel::Province },
                EventKind::Recovered,
            ][*k]
                .clone();
            entries.push(origin.event(ID, kind, 10 + i as u64));
        }
        let doc = document_of(&entries);
        prop_assert_eq!(hifazat_replica::read(ID, &doc).unwrap(), read_by_lookup(&doc));
    }
}
