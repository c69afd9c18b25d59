//! `hifazat log verify` against tampered stores: a node's store is filled through the real HTTP API, then copies
//! of it are tampered with in each way an attacker or a failing disk could, and the command must fail, name the
//! log and the entry, and give the rule it broke. Against 127.0.0.22 only.

use std::path::{Path, PathBuf};
use std::process::Command;

use ed25519_dalek::SigningKey;
use hifazat_log::{Entry, LogId, Signer};
use hifazat_store::Store;
use hifazat_tests::{add_user, alert_body, exe, http_as, init, start};

const HOST: &str = "127.0.0.22";
const ALERTS: usize = 300;

/// A node's data directory holding `ALERTS` alerts raised over HTTP.
fn populated(root: &Path) -> PathBuf {
    let data = root.join("pristine");
    assert!(init("lahore", &data).status.success());
    let token = add_user(
        &data,
        &[
            "--role",
            "dpo",
            "--name",
            "DPO Lahore",
            "--district",
            "PB-LHR",
        ],
    );
    let (mut child, addr) = start(HOST, &data);
    for n in 0..ALERTS {
        let (status, body) =
            http_as(addr, Some(&token), "POST", "/api/v1/alerts", &alert_body(n)).unwrap();
        assert_eq!(status, 201, "{body}");
    }
    child.kill().unwrap(); // the process this test started
    child.wait().unwrap();
    data
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.file_type().unwrap().is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), target).unwrap();
        }
    }
}

/// Runs `hifazat log verify`; returns whether it succeeded, and its standard output.
fn verify(data: &Path) -> (bool, String) {
    let out = Command::new(exe())
        .args(["log", "verify", "--data"])
        .arg(data)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

enum Tamper {
    /// One byte flipped as stored on disk: the checksum no longer matches.
    DiskBitFlip,
    /// One byte of the signed content changed and the checksum made to match: only the signature can tell.
    ContentEdit,
    /// The entry swapped for one validly signed by another key, for that key's own log.
    ForeignEntry,
    /// The entry removed.
    Removed,
}

fn tamper(store: &Store, log: &LogId, seq: u64, how: &Tamper) {
    let digest = log.digest();
    let bytes = store.entry(&digest, seq).unwrap().expect("stored");
    match how {
        Tamper::DiskBitFlip => {
            let mut framed = vec![1u8];
            framed.extend_from_slice(&crc32fast::hash(&bytes).to_be_bytes());
            framed.extend_from_slice(&bytes);
            let last = framed.len() - 100;
            framed[last] ^= 0x01;
            store.corrupt_for_test(&digest, seq, &framed).unwrap();
        }
        Tamper::ContentEdit => {
            let mut edited = bytes.clone();
            // A byte of the automerge payload, just before the 64-byte signature: still decodes.
            let at = edited.len() - 64 - 20;
            edited[at] ^= 0x01;
            assert!(Entry::decode(&edited).is_ok());
            store.tamper_for_test(&digest, seq, Some(&edited)).unwrap();
        }
        Tamper::ForeignEntry => {
            let original = Entry::decode(&bytes).unwrap();
            let other = Signer::new(SigningKey::from_bytes(&[0x42; 32]));
            let log = LogId {
                author: other.author(),
                scope: original.content().log.scope.clone(),
            };
            let mut content = original.content().clone();
            content.log = log;
            let foreign = other.sign(content).unwrap();
            store
                .tamper_for_test(&digest, seq, Some(foreign.bytes()))
                .unwrap();
        }
        Tamper::Removed => store.tamper_for_test(&digest, seq, None).unwrap(),
    }
}

#[test]
fn log_verify_finds_and_locates_tampering() {
    let root = tempfile::tempdir().unwrap();
    let pristine = populated(root.path());
    let (ok, out) = verify(&pristine);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("entries verified: {ALERTS}  failures: 0")),
        "{out}"
    );
    let log = {
        let store = Store::open(&pristine.join("store")).unwrap();
        let heads = store.heads().unwrap();
        assert_eq!(heads.len(), 1, "one log: this node's alerts");
        heads[0].log.clone()
    };

    // (what, entry tampered with, the entry verify must name, what it must say)
    let cases = [
        (Tamper::DiskBitFlip, 17, 17, "corrupt value"),
        (
            Tamper::ContentEdit,
            42,
            42,
            "signature rule: signature does not verify",
        ),
        (Tamper::ForeignEntry, 99, 99, "belongs to log"),
        (
            Tamper::Removed,
            150,
            151,
            "gap: the log's next entry is #150, this is #151",
        ),
        (
            Tamper::Removed,
            ALERTS as u64,
            ALERTS as u64,
            "entry missing from the store",
        ),
        (Tamper::ContentEdit, 1, 1, "signature rule"),
        (
            Tamper::DiskBitFlip,
            ALERTS as u64,
            ALERTS as u64,
            "corrupt value",
        ),
    ];
    for (i, (how, seq, named, reason)) in cases.iter().enumerate() {
        let copy = root.path().join(format!("case-{i}"));
        copy_dir(&pristine, &copy);
        {
            let store = Store::open(&copy.join("store")).unwrap();
            tamper(&store, &log, *seq, how);
        }
        let (ok, out) = verify(&copy);
        assert!(
            !ok,
            "case {i}: tampering with #{seq} went unnoticed:\n{out}"
        );
        assert!(out.contains("failures: 1"), "case {i}:\n{out}");
        let line = out
            .lines()
            .find(|l| l.contains("FAIL"))
            .unwrap_or_else(|| panic!("case {i}: no FAIL line:\n{out}"));
        assert!(
            line.contains(&log.to_string()),
            "case {i}: log not named: {line}"
        );
        assert!(
            line.contains(&format!("entry #{named}:")),
            "case {i}: wrong entry named: {line}"
        );
        assert!(line.contains(reason), "case {i}: reason missing: {line}");
    }
}
