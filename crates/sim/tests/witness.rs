//! Checkpoints through the sync state machine: the witness is asked to check and cosign its child's checkpoint
//! once it holds as many entries; a checkpoint not signed by the log's author is refused; an unsettled one is
//! ignored by anyone but the witness; a checkpoint that does not fit the log held makes the node fetch the entry at
//! its size from the peer that sent it.

use hifazat_log::{Hash, LogId, Scope};
use hifazat_note::{Checkpoint, SignerKey};
use hifazat_sim::federation::{Federation, Layout};
use hifazat_sim::rng::Rng;
use hifazat_sync::{CheckResult, Effect, Input, LogHead, Message};

fn checkpoint(log: &LogId, size: u64, signer: &SignerKey) -> Vec<u8> {
    Checkpoint {
        origin: hifazat_log::checkpoint_origin(&log.digest()),
        size,
        root: [size as u8; 32],
        extensions: vec![],
    }
    .sign(signer)
    .unwrap()
    .encode()
    .into_bytes()
}

fn checks(effects: &[Effect]) -> Vec<(u64, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Check { size, cosign, .. } => Some((*size, *cosign)),
            _ => None,
        })
        .collect()
}

#[test]
fn witnesses_check_what_they_hold_and_refuse_what_the_author_did_not_sign() {
    let fed = Federation::new(Layout::Demo, &mut Rng::new(3));
    let lahore = fed.key("lahore");
    let log = LogId {
        author: lahore,
        scope: Scope::alerts(),
    };
    let held = |seq| LogHead {
        log: log.clone(),
        seq,
        hash: Hash([seq as u8; 32]),
    };
    let mut punjab = fed.start("punjab", vec![held(2)]);
    let mut sindh = fed.start("sindh", vec![held(2)]);
    punjab.handle(Input::Connected { peer: lahore }, 0);
    sindh.handle(Input::Connected { peer: lahore }, 0);
    let signer = SignerKey::new("lahore", fed.seed("lahore")).unwrap();
    let offer = |note: Vec<u8>| Input::Message {
        peer: lahore,
        message: Message::Checkpoint {
            log: log.digest(),
            note,
        },
    };

    // Signed by someone else under Lahore's name: refused.
    let forger = SignerKey::new("lahore", fed.seed("kasur")).unwrap();
    let effects = punjab.handle(offer(checkpoint(&log, 2, &forger)), 1);
    assert!(checks(&effects).is_empty());
    assert_eq!(punjab.counters().checkpoints_refused, 1);

    // Lahore's own, uncosigned: Punjab, its witness, checks it to cosign; Sindh ignores it.
    let effects = punjab.handle(offer(checkpoint(&log, 2, &signer)), 2);
    assert_eq!(checks(&effects), [(2, true)]);
    let effects = sindh.handle(offer(checkpoint(&log, 2, &signer)), 2);
    assert!(checks(&effects).is_empty());
    assert_eq!(sindh.counters().checkpoints_refused, 0);

    // The roots differ: Punjab fetches Lahore's entry at the checkpoint's size, alone.
    let effects = punjab.handle(
        Input::Checked {
            peer: lahore,
            log: log.digest(),
            size: 2,
            result: CheckResult::Differs,
        },
        3,
    );
    assert!(effects.contains(&Effect::Send {
        peer: lahore,
        message: Message::Pull {
            log: log.digest(),
            after: 1,
            max: 1
        }
    }));

    // A larger checkpoint waits until Punjab holds that many entries.
    let effects = punjab.handle(offer(checkpoint(&log, 3, &signer)), 4);
    assert!(checks(&effects).is_empty());
    punjab.handle(
        Input::Stored {
            heads: vec![held(3)],
        },
        5,
    );
    let effects = punjab.handle(Input::Tick, 6);
    assert_eq!(checks(&effects), [(3, true)]);
}

#[test]
fn an_empty_checkpoint_that_differs_fetches_nothing() {
    let fed = Federation::new(Layout::Demo, &mut Rng::new(4));
    let lahore = fed.key("lahore");
    let log = LogId {
        author: lahore,
        scope: Scope::alerts(),
    };
    let mut punjab = fed.start(
        "punjab",
        vec![LogHead {
            log: log.clone(),
            seq: 1,
            hash: Hash([1; 32]),
        }],
    );
    punjab.handle(Input::Connected { peer: lahore }, 0);
    let effects = punjab.handle(
        Input::Checked {
            peer: lahore,
            log: log.digest(),
            size: 0,
            result: CheckResult::Differs,
        },
        1,
    );
    assert!(
        !effects.iter().any(|e| matches!(
            e,
            Effect::Send {
                message: Message::Pull { .. },
                ..
            }
        )),
        "{effects:?}"
    );
}
