//! Audit bundles through the binary: a node of the demo federation (on 127.0.0.61-67) signs checkpoints of its own
//! logs as they grow, and its province's node, its witness, checks and cosigns them over sync; once stopped,
//! `hifazat audit export` writes its history and `hifazat audit verify` checks it offline with the root key alone
//! (exit 0), and fails, naming the record, on a flipped byte or a wrong root key (exit 1). Bounded: 30 s for nodes
//! to come up and for the cosigned checkpoint.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use common::{
    alert_body, demo_tokens, demo_without, exe, http_as, id_of, moved_host, moved_layout,
    serve_logged, wait_until,
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

#[test]
fn a_stopped_nodes_history_exports_and_verifies_offline() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout.toml");
    std::fs::write(&layout, moved_layout(BASE)).unwrap();
    let data = dir.path().join("data");
    let _demo = demo_without(&layout, &data, &["lahore", "punjab"]);
    let tokens = demo_tokens(&data);
    let token = tokens["lahore"].clone();
    let mut lahore = serve_logged(&data, "lahore", addr("lahore"), &[], "info");
    let mut punjab = serve_logged(&data, "punjab", addr("punjab"), &[], "info");
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
    let (ok, out) = run(&[
        "audit".as_ref(),
        "export".as_ref(),
        "--data".as_ref(),
        node.as_os_str(),
        "--out".as_ref(),
        bundle.as_os_str(),
    ]);
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
}
