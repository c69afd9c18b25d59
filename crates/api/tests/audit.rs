//! Auditors' routes: logs and their tree heads, signed checkpoints, inclusion and consistency proofs that verify
//! with nothing but hashes and the node's public key, a record's history, and who may read what.

use axum::http::StatusCode;
use hifazat_merkle::{Digest, verify_consistency, verify_inclusion};
use hifazat_note::{Checkpoint, Note, SignerKey};
use serde_json::Value;

mod common;

use common::*;

fn digest(v: &Value) -> Digest {
    hex::decode(v.as_str().expect("a hex string"))
        .unwrap()
        .try_into()
        .unwrap()
}

fn path(v: &Value) -> Vec<Digest> {
    v.as_array().unwrap().iter().map(digest).collect()
}

/// The checkpoint a checkpoint answer carries, opened under `key`; the answer's root is the checkpoint's.
fn opened(cp: &Value, key: &SignerKey) -> Checkpoint {
    let note = Note::parse(cp["checkpoint"].as_str().unwrap().as_bytes()).unwrap();
    let checkpoint = Checkpoint::open(&note, &key.verifier()).unwrap();
    assert_eq!(checkpoint.root, digest(&cp["root"]));
    checkpoint
}

/// An inclusion answer for entry `seq` states `root` and proves the entry in the tree of `size` entries there.
fn assert_included(p: &Value, seq: u64, size: u64, root: &Digest) {
    assert_eq!(digest(&p["root"]), *root);
    assert_eq!(
        verify_inclusion(&digest(&p["leaf"]), seq - 1, size, &path(&p["proof"]), root),
        Ok(())
    );
}

/// A consistency answer from `first` entries proves them a prefix of the tree of `size` entries at `root`.
fn assert_consistent(c: &Value, first: u64, size: u64, root: &Digest) {
    assert_eq!(
        verify_consistency(
            first,
            size,
            &digest(&c["first_root"]),
            root,
            &path(&c["proof"])
        ),
        Ok(())
    );
}

async fn ok(n: &Node, who: &str, uri: &str) -> Value {
    let (status, body) = n.call(who, "GET", uri, "").await;
    assert_eq!(status, StatusCode::OK, "{who} {uri}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_proofs_and_histories_verify_with_public_keys_only() {
    within(async {
        // The test topology names the test nodes' key for the federal node only, so that is where this runs.
        let n = node("federal", (1000, 1000));
        let id = n.raise("Ayesha").await;
        for event in [r#"{"type":"validated"}"#, r#"{"type":"recovered"}"#] {
            let (status, body) = n
                .call(
                    "station_officer",
                    "POST",
                    &format!("/api/v1/alerts/{id}/events"),
                    event,
                )
                .await;
            assert!(status.is_success(), "{body}");
        }

        let logs = ok(&n, "auditor", "/api/v1/logs").await;
        let alerts = logs
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["scope"] == "alerts")
            .expect("the alerts log")
            .clone();
        assert_eq!(alerts["size"], 3);
        assert_eq!(alerts["node"], "federal");
        let log = alerts["log"].as_str().unwrap().to_owned();

        // No checkpoint until the node signs one; then it verifies under the node's key and states the tree head.
        let before = ok(&n, "dpo", &format!("/api/v1/logs/{log}/checkpoint")).await;
        assert_eq!(before["checkpoint"], Value::Null);
        let key = SignerKey::new("federal", node_key().to_bytes()).unwrap();
        let signed = n.engine.sign_checkpoints(&key).await.unwrap();
        assert_eq!(signed.len(), 1, "one log of its own grew");
        assert!(
            n.engine.sign_checkpoints(&key).await.unwrap().is_empty(),
            "nothing grew since"
        );
        let cp = ok(&n, "dpo", &format!("/api/v1/logs/{log}/checkpoint")).await;
        let checkpoint = opened(&cp, &key);
        assert_eq!(checkpoint.size, 3);
        assert_eq!(checkpoint.origin, format!("hifazat/log/{log}"));

        // Inclusion of each entry, and consistency of every earlier size with the checkpoint.
        for seq in 1..=3u64 {
            let p = ok(&n, "ig", &format!("/api/v1/logs/{log}/inclusion?seq={seq}")).await;
            assert_included(&p, seq, 3, &checkpoint.root);
            let c = ok(
                &n,
                "ig",
                &format!("/api/v1/logs/{log}/consistency?first={seq}"),
            )
            .await;
            assert_consistent(&c, seq, 3, &checkpoint.root);
        }

        // The history: three changes, oldest first, each with its signer, actor and a proof against the checkpoint.
        let h = ok(&n, "auditor", &format!("/api/v1/records/{id}/history")).await;
        assert_eq!(h["kind"], "alert");
        let changes = h["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 3);
        let actors: Vec<&str> = changes
            .iter()
            .map(|c| c["actor"].as_str().unwrap())
            .collect();
        assert_eq!(
            actors,
            [
                "dpo:dpo",
                "station_officer:station_officer",
                "station_officer:station_officer"
            ]
        );
        for (i, c) in changes.iter().enumerate() {
            assert_eq!(c["seq"], i as u64 + 1);
            assert_eq!(c["node"], "federal");
            assert_eq!(
                c["signer"],
                hex::encode(node_key().verifying_key().to_bytes())
            );
            let proof = &c["proof"];
            assert_eq!(proof["size"], 3);
            assert!(proof["checkpoint"].is_string());
            let entry: Digest = digest(&c["entry"]);
            let leaf = hifazat_merkle::leaf_hash(&entry);
            assert_eq!(
                verify_inclusion(&leaf, i as u64, 3, &path(&proof["path"]), &checkpoint.root),
                Ok(())
            );
        }
        // A change after the checkpoint is proved against the tree as the node holds it, with no checkpoint.
        let (status, body) = n
            .call(
                "station_officer",
                "POST",
                &format!("/api/v1/alerts/{id}/events"),
                r#"{"type":"closed"}"#,
            )
            .await;
        assert!(status.is_success(), "{body}");
        let h = ok(&n, "auditor", &format!("/api/v1/records/{id}/history")).await;
        let changes = h["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 4);
        assert_eq!(
            changes[2]["proof"]["size"], 3,
            "still against the checkpoint"
        );
        let last = &changes[3]["proof"];
        assert_eq!(
            (last["size"].clone(), last["checkpoint"].clone()),
            (4.into(), Value::Null)
        );
        let root4 = digest(&last["root"]);
        let leaf = hifazat_merkle::leaf_hash(&digest(&changes[3]["entry"]));
        assert_eq!(
            verify_inclusion(&leaf, 3, 4, &path(&last["path"]), &root4),
            Ok(())
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_read_and_what_bad_input_gets() {
    within(async {
        let n = node("lahore", (1000, 1000));
        // An alert last seen in Kasur: Lahore's DPO does not see its restricted part, so not its history either.
        let (_, body) = n
            .call(
                "dpo",
                "POST",
                "/api/v1/alerts",
                &alert("Bilal", "PB-KSR", "police_station"),
            )
            .await;
        let id = body["id"].as_str().unwrap().to_owned();
        let history = format!("/api/v1/records/{id}/history");
        for (who, want) in [
            ("public", StatusCode::UNAUTHORIZED),
            ("dpo", StatusCode::FORBIDDEN),
            ("station_officer", StatusCode::FORBIDDEN),
            ("rpo", StatusCode::OK),
            ("ig", StatusCode::OK),
            ("ministry", StatusCode::OK),
            ("auditor", StatusCode::OK),
        ] {
            let (status, body) = n.call(who, "GET", &history, "").await;
            assert_eq!(status, want, "{who}: {body}");
        }
        let (status, _) = n.call("public", "GET", "/api/v1/logs", "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let logs = ok(&n, "dpo", "/api/v1/logs").await;
        let log = logs[0]["log"].as_str().unwrap().to_owned();
        let unknown = "ab".repeat(32);
        for (uri, want, field) in [
            (
                "/api/v1/logs/xyz/checkpoint".to_owned(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("log"),
            ),
            (
                format!("/api/v1/logs/{unknown}/checkpoint"),
                StatusCode::NOT_FOUND,
                None,
            ),
            (
                format!("/api/v1/logs/{log}/inclusion?seq=0"),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("seq"),
            ),
            (
                format!("/api/v1/logs/{log}/inclusion?seq=2"),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("seq"),
            ),
            (
                format!("/api/v1/logs/{log}/inclusion?seq=1&size=9"),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("size"),
            ),
            (
                format!("/api/v1/logs/{log}/inclusion"),
                StatusCode::BAD_REQUEST,
                None,
            ),
            (
                format!("/api/v1/logs/{log}/consistency?first=2&second=1"),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("first"),
            ),
            (
                format!("/api/v1/logs/{log}/consistency?first=0&second=5"),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("second"),
            ),
            (
                "/api/v1/records/nothex/history".to_owned(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("id"),
            ),
            (
                format!("/api/v1/records/{}/history", "0".repeat(32)),
                StatusCode::NOT_FOUND,
                None,
            ),
        ] {
            let (status, body) = n.call("auditor", "GET", &uri, "").await;
            assert_eq!(status, want, "{uri}: {body}");
            if let Some(field) = field {
                assert_eq!(body["fields"][0]["field"], field, "{uri}: {body}");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_of_a_fork_is_kept_and_shown_to_auditors() {
    within(async {
        let n = node("federal", (1000, 1000));
        n.raise("Ayesha").await;
        let none = ok(&n, "auditor", "/api/v1/evidence").await;
        assert_eq!(none, serde_json::json!([]));

        // The same key signs another first entry of its alerts log, and a second entry after that one: neither
        // fits the log as held.
        let signer = hifazat_log::Signer::new(node_key());
        let log = hifazat_log::LogId {
            author: signer.author(),
            scope: hifazat_log::Scope::alerts(),
        };
        let content = |head, payload: Vec<u8>| {
            hifazat_log::Content::following(log.clone(), head, 1, [7; 16], "x".into(), payload)
        };
        let forged = signer.sign(content(None, vec![1])).unwrap();
        let next = signer
            .sign(content(
                Some(hifazat_log::Head {
                    seq: 1,
                    hash: forged.hash(),
                }),
                vec![2],
            ))
            .unwrap();
        let report = n
            .engine
            .apply_remote(vec![forged.bytes().to_vec(), next.bytes().to_vec()])
            .await
            .unwrap();
        assert_eq!(
            report.outcomes,
            [
                hifazat_engine::EntryOutcome::Conflict,
                hifazat_engine::EntryOutcome::Conflict
            ]
        );
        assert_eq!(report.evidence.len(), 2);

        let shown = ok(&n, "auditor", "/api/v1/evidence").await;
        let shown = shown.as_array().unwrap();
        assert_eq!(shown.len(), 2, "{shown:?}");
        let mut kinds: Vec<&str> = shown.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        kinds.sort();
        assert_eq!(kinds, ["broken-link", "same-position"]);
        for e in shown {
            assert_eq!(e["node"], "federal");
            assert_eq!(e["scope"], "alerts");
            assert_eq!(e["log"], log.digest().to_hex());
            // Auditors get the entries themselves, and they check out anywhere.
            let bytes = |k: &str| hex::decode(e[k]["bytes"].as_str().unwrap()).unwrap();
            hifazat_log::Evidence::verify(&bytes("first"), &bytes("second")).unwrap();
        }
        // Other officials see that a log forked, not the changes it carries; the public sees nothing.
        let dpo = ok(&n, "dpo", "/api/v1/evidence").await;
        assert_eq!(dpo.as_array().unwrap().len(), 2);
        assert_eq!(dpo[0]["first"]["bytes"], Value::Null);
        assert!(dpo[0]["first"]["signature"].is_string());
        let (status, _) = n.call("public", "GET", "/api/v1/evidence", "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_log_is_proved_to_auditors_and_register_officers_only() {
    within(async {
        let n = node("federal", (1000, 1000));
        let register_log = || {
            n.register
                .as_ref()
                .expect("the federal node's register")
                .log_id()
                .digest()
                .to_hex()
        };
        let log = register_log();
        // No entries yet: not listed, and no tree head to show.
        let logs = ok(&n, "auditor", "/api/v1/logs").await;
        assert!(!logs.to_string().contains(&log));
        let (status, _) = n
            .call(
                "auditor",
                "GET",
                &format!("/api/v1/logs/{log}/checkpoint"),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let id = n.add_offender().await;
        let (status, body) = n
            .call(
                "register_officer",
                "POST",
                &format!("/api/v1/register/offenders/{id}/updates"),
                r#"{"change":"set_status","status":"in_custody"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");

        for who in ["auditor", "register_officer"] {
            let logs = ok(&n, who, "/api/v1/logs").await;
            let listed = logs
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["log"] == log.as_str())
                .expect("the register log is listed");
            assert_eq!(listed["scope"], "register");
            assert_eq!(listed["node"], "federal");
            assert_eq!(listed["size"], 2);
        }
        // Its checkpoint is signed by the federal node's key and states the tree head.
        let cp = ok(&n, "auditor", &format!("/api/v1/logs/{log}/checkpoint")).await;
        let key = SignerKey::new("federal", node_key().to_bytes()).unwrap();
        let checkpoint = opened(&cp, &key);
        assert_eq!(checkpoint.size, 2);
        for seq in 1..=2u64 {
            let p = ok(
                &n,
                "auditor",
                &format!("/api/v1/logs/{log}/inclusion?seq={seq}"),
            )
            .await;
            assert_included(&p, seq, 2, &checkpoint.root);
        }
        let p = ok(
            &n,
            "register_officer",
            &format!("/api/v1/logs/{log}/consistency?first=1"),
        )
        .await;
        assert_eq!(digest(&p["second_root"]), checkpoint.root);
        assert_consistent(&p, 1, 2, &checkpoint.root);
        // Bad ranges name their field.
        for (uri, field) in [
            (format!("/api/v1/logs/{log}/inclusion?seq=3"), "seq"),
            (format!("/api/v1/logs/{log}/inclusion?seq=1&size=3"), "size"),
            (
                format!("/api/v1/logs/{log}/consistency?first=2&second=1"),
                "first",
            ),
        ] {
            let (status, body) = n.call("auditor", "GET", &uri, "").await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {body}");
            assert_eq!(body["fields"][0]["field"], field, "{uri}: {body}");
        }
        // Other officials see neither the log in the list nor its proofs.
        for who in ["ministry", "ig", "dpo"] {
            let logs = ok(&n, who, "/api/v1/logs").await;
            assert!(!logs.to_string().contains(&log), "{who}");
            for uri in [
                format!("/api/v1/logs/{log}/checkpoint"),
                format!("/api/v1/logs/{log}/inclusion?seq=1"),
                format!("/api/v1/logs/{log}/consistency?first=1"),
            ] {
                let (status, _) = n.call(who, "GET", &uri, "").await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{who} {uri}");
            }
        }
    })
    .await;
}
