//! Gossip through the sync state machine: an alert entry that is the next one of its log is passed on as soon as
//! its signature holds, before it is stored (the store is asked afterwards, with the verified entry); the next entry
//! may follow one still being applied; anything else (a gap, a duplicate, a log frozen by a fork) waits for the
//! store's outcome before any verdict, and a bad signature is refused without reaching the store. When the store
//! does not keep a relayed entry, the next entry of its log is judged against what the store holds.

use hifazat_log::{Author, Content, Hash, LogId, Scope, Signer, VerifiedEntry};
use hifazat_sim::federation::{Federation, Layout};
use hifazat_sim::rng::Rng;
use hifazat_sync::{Effect, Input, Outcome, Sync, Verdict};

/// Entry `seq` of Lahore's alerts log, after `prev`.
fn entry(signer: &Signer, log: &LogId, seq: u64, prev: Hash) -> VerifiedEntry {
    signer
        .sign(Content {
            log: log.clone(),
            seq,
            prev,
            timestamp_ms: 1_700_000_000_000 + seq,
            record: [seq as u8; 16],
            actor: "officer".into(),
            payload: vec![1, 2, 3],
        })
        .expect("signs")
}

/// What the state machine did with one gossip message: its verdict (if given at once), and whether it asked for the
/// entry to be applied as verified (`Relay`) or to be verified and applied (`Apply`).
#[derive(Debug, PartialEq)]
enum Did {
    Relayed(Verdict),
    Applied,
    Refused(Verdict),
}

fn did(effects: &[Effect]) -> (Did, Option<u64>) {
    let verdict = effects.iter().find_map(|e| match e {
        Effect::Verdict { verdict, .. } => Some(*verdict),
        _ => None,
    });
    let relay = effects.iter().find_map(|e| match e {
        Effect::Relay { ticket, .. } => Some(*ticket),
        _ => None,
    });
    let apply = effects.iter().find_map(|e| match e {
        Effect::Apply { ticket, .. } => Some(*ticket),
        _ => None,
    });
    match (verdict, relay, apply) {
        (Some(v), Some(t), None) => (Did::Relayed(v), Some(t)),
        (None, None, Some(t)) => (Did::Applied, Some(t)),
        (Some(v), None, None) => (Did::Refused(v), None),
        other => panic!("unexpected effects {other:?}: {effects:?}"),
    }
}

/// The demo federation's Punjab, connected to Lahore; Lahore's key, signer and alerts log.
fn punjab_hearing_lahore() -> (Author, Signer, LogId, Sync) {
    let fed = Federation::new(Layout::Demo, &mut Rng::new(5));
    let lahore = fed.key("lahore");
    let signer = Signer::new(ed25519_dalek::SigningKey::from_bytes(&fed.seed("lahore")));
    let log = LogId {
        author: lahore,
        scope: Scope::alerts(),
    };
    let mut punjab = fed.start("punjab", vec![]);
    punjab.handle(Input::Connected { peer: lahore }, 0);
    (lahore, signer, log, punjab)
}

#[test]
fn the_next_entry_of_a_log_is_passed_on_before_it_is_applied_and_others_wait_for_the_store() {
    let (lahore, signer, log, mut punjab) = punjab_hearing_lahore();
    let mut id = 0u8;
    let mut gossip = |sync: &mut Sync, bytes: Vec<u8>| {
        id += 1;
        did(&sync.handle(
            Input::Gossip {
                from: lahore,
                id: Hash([id; 32]),
                entry: bytes,
            },
            1,
        ))
    };
    let first = entry(&signer, &log, 1, Hash::ZERO);
    let second = entry(&signer, &log, 2, first.hash());
    let third = entry(&signer, &log, 3, second.hash());

    // Entry 1 of a log not held yet: accepted at once, then applied as verified.
    let (d, t1) = gossip(&mut punjab, first.bytes().to_vec());
    assert_eq!(d, Did::Relayed(Verdict::Accept));
    // Entry 2 follows entry 1 while entry 1 is still being applied.
    let (d, t2) = gossip(&mut punjab, second.bytes().to_vec());
    assert_eq!(d, Did::Relayed(Verdict::Accept));
    assert_eq!(punjab.counters().gossip_accepted, 2);

    // Entry 3 with its signature spoiled: refused, and the store never sees it.
    let mut forged = third.bytes().to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(gossip(&mut punjab, forged).0, Did::Refused(Verdict::Reject));
    assert_eq!(punjab.counters().gossip_rejected, 1);

    // A gap (entry 5 while 3 is missing) is the store's to judge: no verdict before its outcome.
    let fifth = entry(&signer, &log, 5, Hash([9; 32]));
    let (d, t5) = gossip(&mut punjab, fifth.bytes().to_vec());
    assert_eq!(d, Did::Applied);
    let effects = punjab.handle(
        Input::Applied {
            ticket: t5.unwrap(),
            outcomes: vec![Outcome::Gap],
        },
        2,
    );
    assert!(effects.contains(&Effect::Verdict {
        id: Hash([4; 32]),
        verdict: Verdict::Ignore
    }));

    // Entry 1 turns out not to be stored (say its record's change did not apply) while entry 2 is still being
    // applied: the next gossiped entry must follow what the store holds, so entry 3 now waits for the store.
    punjab.handle(
        Input::Applied {
            ticket: t1.unwrap(),
            outcomes: vec![Outcome::Invalid("the change does not apply".into())],
        },
        3,
    );
    assert_eq!(gossip(&mut punjab, third.bytes().to_vec()).0, Did::Applied);
    punjab.handle(
        Input::Applied {
            ticket: t2.unwrap(),
            outcomes: vec![Outcome::Gap],
        },
        3,
    );
    // Entry 1 again: the next entry of a log held nowhere yet, so passed on at once.
    assert_eq!(
        gossip(&mut punjab, first.bytes().to_vec()).0,
        Did::Relayed(Verdict::Accept)
    );
}

/// Under a burst, every gossiped entry after a lost one is a gap. The node asks the sender for its heads (its vector)
/// once, not once per gap: a vector and its answer for each flooded the connection's streams.
#[test]
fn a_burst_of_gaps_asks_the_sender_for_its_heads_once() {
    let (lahore, signer, log, mut punjab) = punjab_hearing_lahore();
    let vectors_to_lahore = |effects: &[Effect]| {
        effects
            .iter()
            .filter(|e| {
                matches!(e, Effect::Send { peer, message: hifazat_sync::Message::Vector { .. } } if *peer == lahore)
            })
            .count()
    };
    // Entries 5 to 40 arrive while 1 to 4 are missing: each is a gap for the store. The applied outcomes come
    // 5 ms apart, from t = 20 s on.
    let mut sent = Vec::new();
    for seq in 5..=40u64 {
        let at = 20_000 + (seq - 5) * 5;
        let e = entry(&signer, &log, seq, Hash([seq as u8; 32]));
        let (d, ticket) = did(&punjab.handle(
            Input::Gossip {
                from: lahore,
                id: Hash([seq as u8; 32]),
                entry: e.bytes().to_vec(),
            },
            at,
        ));
        assert_eq!(d, Did::Applied);
        let effects = punjab.handle(
            Input::Applied {
                ticket: ticket.unwrap(),
                outcomes: vec![Outcome::Gap],
            },
            at,
        );
        sent.push((at, vectors_to_lahore(&effects)));
    }
    // 36 gaps over 175 ms: one vector, for the first.
    assert_eq!(sent.iter().map(|(_, n)| n).sum::<usize>(), 1, "{sent:?}");
    assert_eq!(sent[0], (20_000, 1));
    // A gap after the pause asks again.
    let e = entry(&signer, &log, 41, Hash([41; 32]));
    let at = 20_000 + hifazat_limits::SYNC_GAP_VECTOR_MS;
    let (_, ticket) = did(&punjab.handle(
        Input::Gossip {
            from: lahore,
            id: Hash([41; 32]),
            entry: e.bytes().to_vec(),
        },
        at,
    ));
    let effects = punjab.handle(
        Input::Applied {
            ticket: ticket.unwrap(),
            outcomes: vec![Outcome::Gap],
        },
        at,
    );
    assert_eq!(vectors_to_lahore(&effects), 1);
}
