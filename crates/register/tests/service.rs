//! The register service over a real vault: entries, verification, consultations, notifications, restarts, and
//! what its files hold.

use std::collections::BTreeSet;
use std::path::Path;

use ed25519_dalek::SigningKey;
use hifazat_log::Verifier;
use hifazat_register::offender::Status;
use hifazat_register::{
    Channel, ConsultOutcome, Disclosure, GuardConfig, NoticeDraft, NoticeOutcome, Outcome, Refusal,
    Register, RegisterConfig, RegisterError, RegisterKeys, Requester, Update,
};

mod common;

use common::{draft, node_key};

const SECRET: [u8; 32] = [42; 32];
const NOW: u64 = 1_760_000_000_000;

fn districts() -> BTreeSet<String> {
    ["PB-LHR", "PB-KSR", "SD-KHS"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn open(dir: &Path, config: RegisterConfig) -> Register {
    Register::open(
        dir,
        RegisterKeys::from_secret(&SECRET),
        node_key(),
        "federal",
        districts(),
        config,
        NOW,
    )
    .expect("open")
}

fn institution() -> Requester {
    Requester::User("verifier:beaconhouse".into())
}

#[test]
fn entries_verification_and_the_consultation_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let register = open(dir.path(), RegisterConfig::default());
    let officer = "register_officer:nasreen";
    let entry = register
        .create(officer, &draft("35102-7654321-3", "Shahid Mehmood"), NOW)
        .expect("create");
    assert!(matches!(
        register.create(officer, &draft("3510276543213", "Someone"), NOW),
        Err(RegisterError::Duplicate { id }) if id == entry.id
    ));
    let hit = register
        .verify(&institution(), Channel::Api, "35102-7654321-3", NOW + 1)
        .expect("verify");
    assert_eq!(hit.outcome, Outcome::Record);
    assert_eq!(
        hit.message_en,
        "Beware! Shahid Mehmood son of Ghulam Rasool is a convict. Don't let him be around children and women."
    );
    let miss = register
        .verify(&institution(), Channel::Api, "3510276543214", NOW + 2)
        .expect("verify");
    assert_eq!(miss.outcome, Outcome::NoRecord);
    assert_eq!(
        hit.clone().to_padded_json().len(),
        miss.clone().to_padded_json().len()
    );
    let err = register
        .verify(&institution(), Channel::Api, "12345", NOW + 3)
        .expect_err("not a CNIC");
    assert!(matches!(err, RegisterError::Invalid(i) if i.errors[0].field == "cnic"));

    // Every consultation is logged, newest first: who, when, how, the keyed hash, the outcome.
    let log = register.consultations(None, 10).expect("consultations");
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].outcome, ConsultOutcome::Invalid);
    assert_eq!(log[0].cnic_hash, None);
    assert_eq!(log[1].outcome, ConsultOutcome::NoRecord);
    assert_eq!(log[2].outcome, ConsultOutcome::Record);
    assert_eq!(log[2].requester, "verifier:beaconhouse");
    assert_eq!(log[2].channel, Channel::Api);
    assert_eq!(log[2].at_ms, NOW + 1);
    assert_eq!(log[2].reference.as_deref(), Some(hit.reference.as_str()));
    let keys = RegisterKeys::from_secret(&SECRET);
    assert_eq!(
        log[2].cnic_hash.as_deref(),
        Some(hex::encode(keys.cnic_hash("3510276543213")).as_str())
    );
    assert_eq!(
        register
            .consultations(Some(log[1].seq), 10)
            .expect("page")
            .len(),
        1
    );
    // A page asked from far past the last number starts at the last (and at once: no walk down from u64::MAX).
    assert_eq!(
        register
            .consultations(Some(u64::MAX), 10)
            .expect("page")
            .len(),
        3
    );

    // A removed entry no longer answers; an officer still finds it (and that is logged too).
    register
        .update(
            officer,
            &entry.id,
            &Update::SetStatus {
                status: Status::Removed,
            },
            NOW + 4,
        )
        .expect("update");
    let after = register
        .verify(&institution(), Channel::Api, "3510276543213", NOW + 5)
        .expect("verify");
    assert_eq!(after.outcome, Outcome::NoRecord);
    let found = register
        .find(officer, "3510276543213", NOW + 6)
        .expect("find");
    assert_eq!(found.map(|o| o.status), Some(Status::Removed));
    assert_eq!(
        register.consultations(None, 1).expect("log")[0].channel,
        Channel::Officer
    );
    assert!(matches!(
        register.update(officer, "00", &Update::AddAlias { alias: "x".into() }, NOW),
        Err(RegisterError::NotFound)
    ));
    assert!(matches!(
        register.offender(&"ff".repeat(16)),
        Err(RegisterError::NotFound)
    ));
    let listed = register.list(None, 10).expect("list");
    assert_eq!(listed.len(), 1, "the decoy is never listed");
    assert_eq!(listed[0].district, "PB-KSR");
}

#[test]
fn reference_only_disclosure_names_nobody() {
    let dir = tempfile::tempdir().expect("tempdir");
    let register = open(
        dir.path(),
        RegisterConfig {
            disclosure: Disclosure::ReferenceOnly,
            guard: GuardConfig::default(),
        },
    );
    register
        .create(
            "register_officer:a",
            &draft("4210112345671", "Shahid Mehmood"),
            NOW,
        )
        .expect("create");
    let hit = register
        .verify(&institution(), Channel::Sms, "4210112345671", NOW)
        .expect("verify");
    assert_eq!(hit.outcome, Outcome::Record);
    assert!(!hit.message_en.contains("Shahid") && !hit.message_ur.contains("Shahid"));
    assert!(hit.message_en.contains(&hit.reference));
}

#[test]
fn limits_refuse_and_are_logged_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let phone = Requester::Phone("+923001234567".into());
    {
        let register = open(dir.path(), RegisterConfig::default());
        for i in 0..3 {
            register
                .verify(
                    &phone,
                    Channel::Sms,
                    &format!("35202{:07}1", i * 1237),
                    NOW + i,
                )
                .expect("answered");
        }
        let refused = register
            .verify(&phone, Channel::Sms, "3520299999991", NOW + 10)
            .expect_err("limit");
        assert!(matches!(
            refused,
            RegisterError::Refused {
                reason: Refusal::RequesterLimit,
                ..
            }
        ));
        assert_eq!(
            register.consultations(None, 1).expect("log")[0].outcome,
            ConsultOutcome::Refused {
                reason: Refusal::RequesterLimit
            }
        );
        assert_eq!(register.stats().refused, 1);
    }
    // After a restart the day's answers still count.
    let register = open(dir.path(), RegisterConfig::default());
    assert!(matches!(
        register.verify(&phone, Channel::Sms, "3520299999991", NOW + 20),
        Err(RegisterError::Refused { .. })
    ));
    assert_eq!(register.stats().consultations, 5);
}

#[test]
fn notices_open_only_at_the_federal_node_and_apply_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let federal = node_key();
    let entry_id;
    let log = [5u8; 32];
    let rename = NoticeDraft {
        cnic: "35102-7654321-3".into(),
        update: Update::Rename {
            name: "Shahid Iqbal".into(),
        },
    };
    let sealed = rename
        .seal(
            federal.verifying_key().as_bytes(),
            &districts(),
            "dpo:kasur",
            "kasur",
            NOW,
        )
        .expect("seal");
    assert!(!String::from_utf8_lossy(&sealed).contains("Shahid"));
    // Nothing but the federal key opens it.
    assert!(hifazat_register::seal::open(&SigningKey::from_bytes(&[1; 32]), &sealed).is_err());
    {
        let register = open(dir.path(), RegisterConfig::default());
        entry_id = register
            .create(
                "register_officer:a",
                &draft("3510276543213", "Shahid Mehmood"),
                NOW,
            )
            .expect("create")
            .id;
        let got = register
            .take_notice(&log, 1, &sealed, NOW)
            .expect("take")
            .expect("new");
        assert_eq!(
            got.outcome,
            NoticeOutcome::Applied {
                offender: entry_id.clone()
            }
        );
        assert_eq!(
            register.take_notice(&log, 1, &sealed, NOW).expect("take"),
            None
        );
        assert!(
            register.take_notice(&log, 3, &sealed, NOW).is_err(),
            "skips ahead"
        );
    }
    let register = open(dir.path(), RegisterConfig::default());
    // A repeat after a restart is still a repeat.
    assert_eq!(
        register.take_notice(&log, 1, &sealed, NOW).expect("take"),
        None
    );
    let o = register.offender(&entry_id).expect("entry");
    assert_eq!(o.name, "Shahid Iqbal");
    assert_eq!(o.aliases, ["Billa", "Shahid Mehmood"]);
    assert_eq!(o.changes, 2);
    // An unknown CNIC is kept for the officers; a damaged box is rejected; both advance the cursor.
    let unknown = NoticeDraft {
        cnic: "6110111111111".into(),
        update: Update::Travel {
            destination: "Dubai".into(),
            depart: "2026-12-01".into(),
            back: None,
        },
    }
    .seal(
        federal.verifying_key().as_bytes(),
        &districts(),
        "dpo:kasur",
        "kasur",
        NOW,
    )
    .expect("seal");
    assert_eq!(
        register
            .take_notice(&log, 2, &unknown, NOW)
            .expect("take")
            .expect("new")
            .outcome,
        NoticeOutcome::Unmatched
    );
    let mut damaged = sealed.clone();
    damaged[40] ^= 1;
    assert!(matches!(
        register
            .take_notice(&log, 3, &damaged, NOW)
            .expect("take")
            .expect("new")
            .outcome,
        NoticeOutcome::Rejected { .. }
    ));
    assert_eq!(register.notice_cursor(&log).expect("cursor"), 3);
    assert_eq!(register.notices(None, 10).expect("notices").len(), 3);
    // The field does not set an entry's status.
    let status = NoticeDraft {
        cnic: "3510276543213".into(),
        update: Update::SetStatus {
            status: Status::Removed,
        },
    };
    let err = status
        .seal(
            federal.verifying_key().as_bytes(),
            &districts(),
            "dpo:kasur",
            "kasur",
            NOW,
        )
        .expect_err("refused");
    assert_eq!(err.errors[0].field, "update.change");
}

#[test]
fn the_log_verifies_with_the_public_key_and_the_files_hold_nothing_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names = [
        "Shahid Mehmood",
        "Ghulam Rasool",
        "Billa",
        "Mohalla Rasheedabad",
        "Anti-Rape Special Court Kasur",
    ];
    let cnic = "3510276543213";
    {
        let register = open(dir.path(), RegisterConfig::default());
        let e = register
            .create("register_officer:a", &draft(cnic, names[0]), NOW)
            .expect("create");
        register
            .update(
                "register_officer:a",
                &e.id,
                &Update::Move {
                    address: "Street 9 Township".into(),
                    district: "PB-LHR".into(),
                    since: "2025-01-01".into(),
                },
                NOW + 1,
            )
            .expect("update");
        register
            .verify(&institution(), Channel::Api, cnic, NOW + 2)
            .expect("verify");
        // The log: two entries, chained and signed by the federal key; their payloads are sealed.
        let entries = register.log().entries(1, 10).expect("log");
        assert_eq!(entries.len(), 2);
        let refs: Vec<&[u8]> = entries.iter().map(|e| e.as_slice()).collect();
        let verified = hifazat_log::verify_log(&mut Verifier::new(), &refs).expect("verifies");
        assert_eq!(verified[1].content().seq, 2);
        assert_eq!(
            verified[0].content().log.author.0,
            node_key().verifying_key().to_bytes()
        );
        assert_eq!(verified[0].content().log.scope.to_string(), "register");
        assert_eq!(verified[0].content().actor, "register_officer:a");
    }
    // Nothing on disk reads as a name, a CNIC (with or without dashes) or a hash of one.
    let keys = RegisterKeys::from_secret(&SECRET);
    let mut needles: Vec<Vec<u8>> = names.iter().map(|n| n.as_bytes().to_vec()).collect();
    needles.push(cnic.as_bytes().to_vec());
    needles.push(b"35102-7654321-3".to_vec());
    let plain: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(cnic.as_bytes()).into();
    needles.push(plain.to_vec());
    needles.push(hex::encode(plain).into_bytes());
    needles.push(hex::encode(keys.cnic_hash(cnic)).into_bytes());
    let mut files = Vec::new();
    for entry in walk(dir.path()) {
        files.push(std::fs::read(entry).expect("read"));
    }
    assert!(!files.is_empty());
    for needle in &needles {
        for file in &files {
            assert!(
                !file.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{} found on disk",
                String::from_utf8_lossy(needle)
            );
        }
    }
    // Under another key nothing opens: the register refuses to start.
    let wrong = Register::open(
        dir.path(),
        RegisterKeys::from_secret(&[1; 32]),
        node_key(),
        "federal",
        districts(),
        RegisterConfig::default(),
        NOW,
    );
    assert!(matches!(wrong, Err(RegisterError::Damaged(_))));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
