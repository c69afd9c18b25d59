//! Audit bundles through the binary: a node of the demo federation (on 127.0.0.61-67) signs checkpoints of its own
//! logs as they grow, and its province's node, its witness, checks and cosigns them over sync; once stopped,
//! `hifazat audit export` writes its history and `hifazat audit verify` checks it offline with the root key alone
//! (exit 0), and fails, naming the record, on a flipped byte or a wrong root key (exit 1). The federal node's
//! register log goes into its bundle with `--with-register` only, and verifies under its checkpoint. A break-glass
//! use at Karachi South of a Lahore alert reaches Lahore, Punjab, Sindh and the federal node (and not Kasur), and
//! is in Lahore's bundle, verified. Bounded: 30 s for nodes to come up, for each use to arrive and for the
//! cosigned checkpoint.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use hifazat_tests::{
    alert_body, demo_tokens, demo_without, exe, http_as, id_of, moved_host, moved_layout,
    offender_body, serve_logged, wait_until,
};

const BASE: u8 = 61;

fn addr(name: &str) -> SocketAddr {
    format!("{}:8080", moved_host(BASE, name)).parse().unwrap()
}

fn run(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = Command::new(exe()).args(args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `hifazat audit export` of the node in `data` to `out`, with `--with-register` when asked.
fn export(data: &std::path::Path, out: &std::path::Path, with_register: bool) -> (bool, String) {
    let mut args = vec![
        "audit".as_ref(),
        "export".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ];
    if with_register {
        args.push("--with-register".as_ref());
    }
    run(&args)
}

#[test]
fn a_stopped_nodes_history_exports_and_verifies_offline() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout.toml");
    std::fs::write(&layout, moved_layout(BASE)).unwrap();
    let data = dir.path().join("data");
    let mut demo = demo_without(&layout, &data, &["lahore", "punjab"]);
    let tokens = demo_tokens(&data);
    let token = tokens["lahore"].clone();
    let mut lahore = serve_logged(&data, "lahore", addr("lahore"), &[], "info");
    let mut punjab = serve_logged(&data, "punjab", addr("punjab"), &[], "info");
    // Two changes to the register at the federal node.
    let officer = tokens["federal/register_officer"].clone();
    let offender = offender_body("Muhammad Aslam");
    let (status, body) = http_as(
        addr("federal"),
        Some(&officer),
        "POST",
        "/api/v1/register/offenders",
        &offender,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let offender_id = id_of(&body);
    let (status, body) = http_as(
        addr("federal"),
        Some(&officer),
        "POST",
        &format!("/api/v1/register/offenders/{offender_id}/updates"),
        r#"{"change":"set_status","status":"in_custody"}"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let mut ids = Vec::new();
    for i in 0..3 {
        let (status, body) = http_as(
            addr("lahore"),
            Some(&token),
            "POST",
            "/api/v1/alerts",
            &alert_body(i),
        )
        .unwrap();
        assert_eq!(status, 201, "{body}");
        ids.push(id_of(&body));
    }
    // Break-glass: once Lahore's first alert is at Karachi South, its DPO sees the alert's restricted part for a
    // reason. The use reaches the record's line (Lahore's DPO, Punjab's IG, the ministry) and the writer's
    // (Sindh's IG), and no other node (Kasur holds no access log).
    let karachi_dpo = tokens["karachi-south/dpo"].clone();
    let arrived = wait_until(Duration::from_secs(30), || {
        http_as(
            addr("karachi-south"),
            Some(&karachi_dpo),
            "GET",
            &format!("/api/v1/alerts/{}", ids[0]),
            "",
        )
        .is_ok_and(|(status, _)| status == 200)
    });
    assert!(arrived.is_some(), "the alert did not reach Karachi South");
    let (status, body) = http_as(
        addr("karachi-south"),
        Some(&karachi_dpo),
        "POST",
        &format!("/api/v1/alerts/{}/break-glass", ids[0]),
        r#"{"reason":"A boy at Saddar station says he is from Anarkali, Lahore","minutes":5}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    for (node, who) in [
        ("lahore", "lahore/dpo"),
        ("punjab", "punjab"),
        ("sindh", "sindh"),
        ("federal", "federal"),
    ] {
        let heard = wait_until(Duration::from_secs(30), || {
            http_as(
                addr(node),
                Some(&tokens[who]),
                "GET",
                "/api/v1/break-glass",
                "",
            )
            .is_ok_and(|(status, body)| {
                status == 200 && body.contains("Saddar") && body.contains(&ids[0])
            })
        });
        assert!(heard.is_some(), "{who} at {node} never listed the use");
    }
    let (status, logs) = http_as(
        addr("kasur"),
        Some(&tokens["kasur/dpo"]),
        "GET",
        "/api/v1/logs",
        "",
    )
    .unwrap();
    assert_eq!(status, 200, "{logs}");
    assert!(logs.contains("\"scope\":\"alerts\""), "{logs}");
    assert!(
        !logs.contains("access/"),
        "Kasur holds a log about neither its line nor its area: {logs}"
    );

    // The node signs a checkpoint of its alerts log within a few seconds.
    let (_, logs) = http_as(addr("lahore"), Some(&token), "GET", "/api/v1/logs", "").unwrap();
    let logs: serde_json::Value = serde_json::from_str(&logs).unwrap();
    let log = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["scope"] == "alerts" && l["node"] == "lahore")
        .expect("lahore's alerts log")["log"]
        .as_str()
        .unwrap()
        .to_owned();
    // Punjab, its witness, checks it against its own copy and cosigns it; Lahore gets the cosignature back.
    let cosigned = |at: &str, token: &str| {
        http_as(
            addr(at),
            Some(token),
            "GET",
            &format!("/api/v1/logs/{log}/checkpoint"),
            "",
        )
        .is_ok_and(|(_, body)| body.contains("\\n3\\n") && body.contains("\u{2014} punjab "))
    };
    let checkpointed = wait_until(Duration::from_secs(30), || cosigned("lahore", &token));
    assert!(
        checkpointed.is_some(),
        "no cosigned checkpoint of 3 entries at lahore"
    );
    assert!(
        cosigned("punjab", &tokens["punjab"]),
        "punjab keeps the checkpoint it cosigned"
    );
    punjab.stop();
    let (status, history) = http_as(
        addr("lahore"),
        Some(&token),
        "GET",
        &format!("/api/v1/records/{}/history", ids[0]),
        "",
    )
    .unwrap();
    assert_eq!(status, 200, "{history}");
    assert!(history.contains("\"node\":\"lahore\""), "{history}");
    lahore.stop();

    let bundle = dir.path().join("lahore.bundle");
    let node = data.join("lahore");
    let (ok, out) = export(&node, &bundle, false);
    assert!(ok, "{out}");
    assert!(out.contains(" checkpoints"), "{out}");
    let root = node.join("root.pub");
    let verify = |bundle: &std::path::Path, root: &std::path::Path| {
        run(&[
            "audit".as_ref(),
            "verify".as_ref(),
            bundle.as_os_str(),
            "--root".as_ref(),
            root.as_os_str(),
        ])
    };
    let (ok, out) = verify(&bundle, &root);
    assert!(ok, "{out}");
    assert!(out.contains("result: every check passed"), "{out}");
    assert!(out.contains("lahore/alerts"), "{out}");
    assert!(
        out.contains("karachi-south/access/pb-lhr/sd-khs"),
        "the break-glass use is in the bundle: {out}"
    );
    assert!(out.contains("checkpoint at 3, cosigned by punjab"), "{out}");
    assert!(out.contains(&format!("record {}:", ids[0])), "{out}");

    // A flipped byte in the middle: exit 1, and the failure names a record.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    let bad = dir.path().join("bad.bundle");
    std::fs::write(&bad, bytes).unwrap();
    let (ok, out) = verify(&bad, &root);
    assert!(!ok, "{out}");
    assert!(
        out.contains("failure(s)") && out.contains("record "),
        "{out}"
    );

    // Another root key: exit 1 at the first record.
    let other = dir.path().join("other.pub");
    let (ok, out) = run(&[
        "topology".as_ref(),
        "keygen".as_ref(),
        "--name".as_ref(),
        "hifazat.demo/root".as_ref(),
        "--out".as_ref(),
        dir.path().join("other.key").as_os_str(),
    ]);
    assert!(ok, "{out}");
    let public = out
        .lines()
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("hifazat.demo/root+"))
        })
        .expect("the new public key")
        .to_owned();
    std::fs::write(&other, public).unwrap();
    let (ok, out) = verify(&bundle, &other);
    assert!(!ok, "{out}");
    assert!(out.contains("record 0: the bundle's root key"), "{out}");

    // The register log leaves the federal node only when asked for, and only from the federal node.
    let (ok, out) = export(&node, &dir.path().join("no.bundle"), true);
    assert!(!ok && out.contains("holds no register"), "{out}");
    demo.stop();
    let federal = data.join("federal");
    let with = dir.path().join("federal-register.bundle");
    let (ok, out) = export(&federal, &with, true);
    assert!(ok, "{out}");
    assert!(
        out.contains("the bundle holds the register log (2 entries"),
        "{out}"
    );
    let (ok, out) = verify(&with, &root);
    assert!(ok, "{out}");
    assert!(out.contains("federal/register ("), "{out}");
    assert!(out.contains(": 2 entries, root "), "{out}");
    assert!(out.contains("checkpoint at 2, not cosigned"), "{out}");
    assert!(out.contains(&format!("record {offender_id}:")), "{out}");
    assert!(out.contains("federal register_officer:"), "{out}");
    assert!(
        !std::fs::read(&with)
            .unwrap()
            .windows(6)
            .any(|w| w == b"Aslam\"")
    );
    let without = dir.path().join("federal.bundle");
    let (ok, out) = export(&federal, &without, false);
    assert!(ok && !out.contains("register log"), "{out}");
    let (ok, out) = verify(&without, &root);
    assert!(ok && !out.contains("/register ("), "{out}");
}
