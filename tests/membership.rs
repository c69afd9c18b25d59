//! Membership at the transport, with real processes on 127.0.0.71-77 (the demo layout moved there): a node that
//! holds a new key, not the one the signed topology names (a station's laptop re-installed, or a stranger at its
//! address), keeps dialling its neighbours. Every member it reaches refuses it as soon as the handshake proves its
//! key, counts each refusal (`peers_refused` at `/api/v1/peers`, `hifazat_sync_peers_refused_total` at
//! `/metrics`) and logs it at INFO, at most once a minute per peer; the stranger is never shown as connected.
//!
//! The stranger runs the binary as an operator would: `init` gives it the new key, and a topology signed by a
//! root of its own names that key for Kasur and the federation's real keys for everyone else, so it dials the
//! real Punjab and federal nodes.
//!
//! Bounded: 30 s for nodes to come up, 60 s for the refusals to be seen.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hifazat_tests::{
    Stopper, demo_tokens, demo_without, exe, http_as, moved_host, moved_layout, note_text,
    serve_logged, wait_until,
};

/// Where this test's layout starts: the demo's nodes on 127.0.0.71-77.
const BASE: u8 = 71;

fn addr(name: &str) -> SocketAddr {
    format!("{}:8080", moved_host(BASE, name)).parse().unwrap()
}

/// Runs `hifazat` with `args`; panics with its output unless it succeeds; returns its standard output.
fn hifazat(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(exe()).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "hifazat {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Sets a stranger up in `dir`: node `kasur` of the federation's layout under a new key, trusting a root of its
/// own that signed the federation's topology with Kasur's key replaced by the new one.
fn stranger(federation: &Path, dir: &Path) {
    let layout = dir.join("layout.toml");
    std::fs::write(&layout, moved_layout(BASE)).unwrap();
    let node = dir.join("kasur");
    let printed = hifazat(&[
        "init".as_ref(),
        "--topology".as_ref(),
        layout.as_os_str(),
        "--node".as_ref(),
        "kasur".as_ref(),
        "--data".as_ref(),
        node.as_os_str(),
    ]);
    let new_key = printed
        .split("public key ")
        .nth(1)
        .and_then(|k| k.strip_suffix(")\n"))
        .expect("init prints the public key")
        .to_owned();
    let text = note_text(&std::fs::read(federation.join("topology.signed")).unwrap());
    let at = text
        .find("name = \"kasur\"\nkey = \"")
        .expect("kasur's key line");
    let key_start = at + "name = \"kasur\"\nkey = \"".len();
    let old_key = &text[key_start..key_start + 64];
    assert_ne!(old_key, new_key);
    let rekeyed = text.replacen(old_key, &new_key, 1);
    let unsigned = dir.join("rekeyed.toml");
    std::fs::write(&unsigned, rekeyed).unwrap();
    let root_key = dir.join("root.key");
    let verifier = hifazat(&[
        "topology".as_ref(),
        "keygen".as_ref(),
        "--name".as_ref(),
        "stranger.example/root".as_ref(),
        "--out".as_ref(),
        root_key.as_os_str(),
    ]);
    let signed = dir.join("rekeyed.signed");
    hifazat(&[
        "topology".as_ref(),
        "sign".as_ref(),
        "--key".as_ref(),
        root_key.as_os_str(),
        "--in".as_ref(),
        unsigned.as_os_str(),
        "--out".as_ref(),
        signed.as_os_str(),
    ]);
    hifazat(&[
        "topology".as_ref(),
        "install".as_ref(),
        "--data".as_ref(),
        node.as_os_str(),
        "--root".as_ref(),
        verifier.trim().as_ref(),
        signed.as_os_str(),
    ]);
}

/// `peers_refused` and whether `peer` shows as connected, from `/api/v1/peers` at node `name`.
fn peers(name: &str, token: &str, peer: &str) -> (u64, bool) {
    let (status, body) = http_as(addr(name), Some(token), "GET", "/api/v1/peers", "").unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let connected = v["peers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == peer && p["connected"] == true);
    (v["counters"]["peers_refused"].as_u64().unwrap(), connected)
}

/// `hifazat_sync_peers_refused_total` from `/metrics` at node `name`.
fn refused_metric(name: &str, token: &str) -> u64 {
    let (status, text) = http_as(addr(name), Some(token), "GET", "/metrics", "").unwrap();
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find(|l| l.starts_with("hifazat_sync_peers_refused_total "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no hifazat_sync_peers_refused_total in {text}"))
}

#[test]
fn a_node_under_a_key_the_topology_does_not_name_is_refused_counted_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout.toml");
    std::fs::write(&layout, moved_layout(BASE)).unwrap();
    let data = dir.path().join("federation");
    // The federation without Kasur (its address is the stranger's) and Punjab (started here, its log kept).
    let _federation = demo_without(&layout, &data, &["kasur", "punjab"]);
    let _punjab = serve_logged(&data, "punjab", addr("punjab"), &[], "info");
    let tokens = demo_tokens(&data);
    let punjab_token = tokens["punjab"].clone();

    let strange = dir.path().join("stranger");
    std::fs::create_dir_all(&strange).unwrap();
    stranger(&data, &strange);
    let (before, _) = peers("punjab", &punjab_token, "kasur");
    assert_eq!(before, 0, "refusals before the stranger started");
    let _stranger = Stopper(
        Command::new(exe())
            .args(["serve", "--data"])
            .arg(strange.join("kasur"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );

    // Punjab refuses it again and again (the stranger redials with its back-off), and counts every refusal.
    let refused = wait_until(Duration::from_secs(60), || {
        peers("punjab", &punjab_token, "kasur").0 >= 3
    });
    assert!(
        refused.is_some(),
        "Punjab counted {} refusals in 60 s",
        peers("punjab", &punjab_token, "kasur").0
    );
    let (count, connected) = peers("punjab", &punjab_token, "kasur");
    assert!(!connected, "the stranger shows as connected");
    // Read after the count above, from the same counter, which only grows.
    let metric = refused_metric("punjab", &punjab_token);
    assert!(metric >= count, "metrics {metric}, peers {count}");
    // Logged at INFO, rate-limited: fewer lines than refusals, at least one naming the refusal.
    let log = std::fs::read_to_string(data.join("logs").join("punjab.err")).unwrap();
    let lines = log
        .lines()
        .filter(|l| l.contains("refused a connection from a peer that is not a member"))
        .count();
    assert!(lines >= 1, "no refusal logged: {log}");
    assert!(
        (lines as u64) < count,
        "{lines} log lines for {count} refusals: not rate-limited"
    );
    // The federal node, which the stranger dials too, refuses and counts it as well.
    let federal_token = tokens["federal"].clone();
    assert!(
        wait_until(Duration::from_secs(60), || peers(
            "federal",
            &federal_token,
            "kasur"
        )
        .0 >= 1)
        .is_some(),
        "the federal node counted no refusal"
    );
}
