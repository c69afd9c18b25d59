//! Membership through the sync state machine: a revoked member is cut off everywhere a newer topology reaches, a
//! topology signed by anyone but the root or no newer than the installed one changes nothing, and a vector from a
//! peer with a newer version makes a node ask for it.

use hifazat_sim::federation::{Federation, Layout};
use hifazat_sim::rng::Rng;
use hifazat_sync::{Effect, Input, Message};

#[test]
fn a_revocation_spreads_and_cuts_the_revoked_member_off() {
    let fed = Federation::new(Layout::Demo, &mut Rng::new(1));
    let mut punjab = fed.start("punjab", vec![]);
    let (lahore, federal) = (fed.key("lahore"), fed.key("federal"));
    for peer in [lahore, federal] {
        let effects = punjab.handle(Input::Connected { peer }, 0);
        assert!(effects.iter().any(|e| matches!(
            e,
            Effect::Send {
                message: Message::Vector { .. },
                ..
            }
        )));
    }
    // The federal node announces version 2; punjab asks for it.
    let effects = punjab.handle(
        Input::Message {
            peer: federal,
            message: Message::Vector {
                topology_version: 2,
                heads: vec![],
            },
        },
        10,
    );
    assert!(effects.contains(&Effect::Send {
        peer: federal,
        message: Message::TopologyRequest
    }));
    // Version 2 revokes lahore: punjab installs it, drops lahore and tells the others.
    let signed = fed.signed_without(2, &["lahore"]);
    let effects = punjab.handle(
        Input::Message {
            peer: federal,
            message: Message::Topology {
                signed: signed.clone(),
            },
        },
        20,
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::InstallTopology { version: 2, members, .. } if !members.contains(&lahore))));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Disconnect { peer, .. } if *peer == lahore))
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::Send { peer, message: Message::Vector { topology_version: 2, .. } } if *peer == federal)));
    // Lahore may no longer connect, and its messages go nowhere.
    let effects = punjab.handle(Input::Connected { peer: lahore }, 30);
    assert!(matches!(effects.as_slice(), [Effect::Disconnect { .. }]));
    assert_eq!(
        punjab.handle(
            Input::Message {
                peer: lahore,
                message: Message::TopologyRequest
            },
            31
        ),
        vec![]
    );
    assert!(punjab.counters().peers_refused >= 1 && punjab.counters().messages_refused >= 1);
    // The transport refuses lahore from now on: each refusal is counted, and changes nothing else.
    let before = punjab.counters().peers_refused;
    for peer in [Some(lahore), None] {
        assert_eq!(punjab.handle(Input::Refused { peer }, 32), vec![]);
    }
    assert_eq!(punjab.counters().peers_refused, before + 2);
}

#[test]
fn only_newer_topologies_signed_by_the_root_are_taken() {
    let fed = Federation::new(Layout::Demo, &mut Rng::new(2));
    let other = Federation::new(Layout::Demo, &mut Rng::new(3));
    let mut sindh = fed.start("sindh", vec![]);
    let federal = fed.key("federal");
    sindh.handle(Input::Connected { peer: federal }, 0);
    for (signed, why) in [
        (fed.signed(1), "the same version"),
        (other.signed(5), "another root"),
        (
            fed.signed_without(6, &["sindh"]),
            "a topology without this node",
        ),
        (b"not a note".to_vec(), "garbage"),
    ] {
        let effects = sindh.handle(
            Input::Message {
                peer: federal,
                message: Message::Topology { signed },
            },
            5,
        );
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::InstallTopology { .. })),
            "installed {why}"
        );
    }
    assert_eq!(sindh.topology().version, 1);
    assert_eq!(sindh.counters().topologies_refused, 4);
    // An operator's install of a newer, valid one is taken.
    let effects = sindh.handle(
        Input::Topology {
            signed: fed.signed(2),
        },
        6,
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::InstallTopology { version: 2, .. }))
    );
    assert_eq!(sindh.topology().version, 2);
}

/// Entries 1..=n of the alerts log of the key with seed `seed`.
fn alerts_by(seed: [u8; 32], n: u64) -> Vec<hifazat_log::VerifiedEntry> {
    let signer = hifazat_log::Signer::new(ed25519_dalek::SigningKey::from_bytes(&seed));
    let log = hifazat_log::LogId {
        author: signer.author(),
        scope: hifazat_log::Scope::alerts(),
    };
    let mut head = None;
    (1..=n)
        .map(|seq| {
            let content = hifazat_log::Content::following(
                log.clone(),
                head,
                seq,
                [seq as u8; 16],
                "dpo:officer".into(),
                vec![seq as u8; 8],
            );
            let e = signer.sign(content).unwrap();
            head = Some(e.head());
            e
        })
        .collect()
}

#[test]
fn a_revoked_keys_entries_count_up_to_its_point_only() {
    let mut fed = Federation::new(Layout::Demo, &mut Rng::new(4));
    let old_seed = fed.seed("lahore");
    let old: Vec<Vec<u8>> = alerts_by(old_seed, 4)
        .iter()
        .map(|e| e.bytes().to_vec())
        .collect();
    let log = hifazat_log::Entry::decode(&old[0])
        .unwrap()
        .content()
        .log
        .clone();
    fed.rekey("lahore", [42; 32], [("alerts".to_owned(), 2)].into());
    let federal = fed.key("federal");

    // Pushed entries 1 to 4: the first two are applied, the last two refused and counted.
    let mut punjab = fed.start("punjab", vec![]);
    punjab.handle(Input::Connected { peer: federal }, 0);
    let effects = punjab.handle(
        Input::Message {
            peer: federal,
            message: Message::Entries {
                log: log.digest(),
                entries: old.clone(),
            },
        },
        1,
    );
    let applied: Vec<usize> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Apply { entries, .. } => Some(entries.len()),
            _ => None,
        })
        .collect();
    assert_eq!(applied, [2]);
    assert_eq!(punjab.counters().entries_revoked, 2);
    assert_eq!(punjab.counters().entries_refused, 0);

    // Gossip of entry 3: rejected, never passed on.
    let effects = punjab.handle(
        Input::Gossip {
            from: federal,
            id: hifazat_log::Hash([3; 32]),
            entry: old[2].clone(),
        },
        2,
    );
    assert!(
        effects.iter().any(|e| matches!(
            e,
            Effect::Verdict {
                verdict: hifazat_sync::Verdict::Reject,
                ..
            }
        )),
        "{effects:?}"
    );
    assert_eq!(punjab.counters().entries_revoked, 3);

    // A peer announcing the log at 4 is behind by 2 at most; a node holding 4 (from before) serves 2.
    let mut sindh = fed.start("sindh", vec![]);
    sindh.handle(Input::Connected { peer: federal }, 0);
    let head = |seq: u64| hifazat_sync::LogHead {
        log: log.clone(),
        seq,
        hash: hifazat_log::Entry::decode(&old[seq as usize - 1])
            .unwrap()
            .hash(),
    };
    sindh.handle(
        Input::Message {
            peer: federal,
            message: Message::Vector {
                topology_version: 1,
                heads: vec![head(4)],
            },
        },
        3,
    );
    let peer = sindh
        .peers()
        .into_iter()
        .find(|p| p.key == federal)
        .unwrap();
    assert_eq!(peer.entries_behind, 2);
    let mut holder = fed.start("punjab", vec![head(4)]);
    holder.handle(Input::Connected { peer: federal }, 0);
    let effects = holder.handle(
        Input::Message {
            peer: federal,
            message: Message::Pull {
                log: log.digest(),
                after: 0,
                max: 100,
            },
        },
        4,
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Serve { up_to: 2, .. })),
        "{effects:?}"
    );
}
