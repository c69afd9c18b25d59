//! An enumeration of 100,000 CNICs from 1,000 sender numbers gets a substantive answer for under 1% of them and
//! raises the alarm, whether it walks the number space in order or jumps around it. Each query goes through the
//! real service: guard, index, decoy or entry, and the consultation logged durably before the answer.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use ed25519_dalek::SigningKey;
use hifazat_register::offender::{AddressDraft, Conviction, Parentage, Relation};
use hifazat_register::{
    Channel, OffenderDraft, Outcome, Register, RegisterConfig, RegisterError, RegisterKeys,
    Requester, Signal,
};

const QUERIES: u64 = 100_000;
const SENDERS: u64 = 1_000;
const THREADS: u64 = 8;
const START: u64 = 1_760_000_000_000;
/// The attack lasts an hour of the guard's clock.
const SPACING_MS: u64 = 36;
const FIRST_CNIC: u64 = 3_520_200_000_000;

fn cnic_at(i: u64, walk: bool) -> u64 {
    if walk {
        FIRST_CNIC + i
    } else {
        // A permutation of the same 100,000 numbers spread over 3,520,200,000,000 + [0, 10^9).
        FIRST_CNIC + (i * 7_919_993) % 1_000_000_000
    }
}

fn run(walk: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let register = Register::open(
        dir.path(),
        RegisterKeys::from_secret(&[3; 32]),
        SigningKey::from_bytes(&[4; 32]),
        "federal",
        ["PB-LHR".to_string()].into_iter().collect::<BTreeSet<_>>(),
        RegisterConfig::default(),
        START,
    )
    .expect("open");
    // Some of the numbers scanned are on the register.
    for i in (0..QUERIES).step_by(997) {
        let cnic = cnic_at(i, walk);
        register
            .create(
                "register_officer:a",
                &OffenderDraft {
                    cnic: cnic.to_string(),
                    name: format!("Offender {i}"),
                    parentage: Parentage {
                        relation: Relation::SonOf,
                        name: "Parent".into(),
                    },
                    aliases: vec![],
                    photo_ref: None,
                    convictions: vec![Conviction {
                        offence: "s.376 PPC".into(),
                        court: "Court".into(),
                        date: "2020-01-01".into(),
                        sentence: "5 years".into(),
                    }],
                    address: AddressDraft {
                        address: "Somewhere".into(),
                        district: "PB-LHR".into(),
                        since: "2020-01-01".into(),
                    },
                },
                START - 1,
            )
            .expect("create");
    }
    let answered = AtomicUsize::new(0);
    let hits = AtomicUsize::new(0);
    let refused = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (register, answered, hits, refused) = (&register, &answered, &hits, &refused);
            s.spawn(move || {
                for i in (t..QUERIES).step_by(THREADS as usize) {
                    let sender = Requester::Phone(format!("+92300{:07}", i % SENDERS));
                    let now = START + i * SPACING_MS;
                    match register.verify(&sender, Channel::Sms, &cnic_at(i, walk).to_string(), now)
                    {
                        Ok(reply) => {
                            answered.fetch_add(1, Ordering::Relaxed);
                            if reply.outcome == Outcome::Record {
                                hits.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(RegisterError::Refused { .. }) => {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("query {i}: {e}"),
                    }
                }
            });
        }
    });
    let answered = answered.into_inner();
    let refused = refused.into_inner();
    eprintln!(
        "walk={walk}: {answered} answered ({} on the register), {refused} refused",
        hits.into_inner()
    );
    assert_eq!(answered + refused, QUERIES as usize);
    assert!(
        (answered as u64) * 100 < QUERIES,
        "{answered} of {QUERIES} got a substantive answer"
    );
    let alarms = register.alarms(None, 10).expect("alarms");
    assert!(!alarms.is_empty(), "no alarm");
    let expected = if walk {
        Signal::ClusteredCnics
    } else {
        Signal::NewSenders
    };
    assert_eq!(alarms.last().expect("first alarm").alarm.signal, expected);
    // Every query was logged.
    assert_eq!(register.stats().consultations, QUERIES);
}

#[test]
fn a_walk_through_the_number_space() {
    run(true);
}

#[test]
fn a_scattered_enumeration() {
    run(false);
}
