//! A stolen machine, with real processes on 127.0.0.121-127 (the demo layout moved there): Lahore writes three
//! alerts, which reach Punjab and the federal node; its machine is stolen. The operator makes a new Lahore
//! (`init`, a new key), the root signs a topology that names the new key and revokes the old one after the three
//! entries its alerts log held, and it is installed at Punjab (installing it on the stolen copy is refused: that
//! key is not the node's any more). The thief runs the stolen copy and writes two more alerts, which the federal
//! node, whose operator has not installed the topology yet, takes; installed there, the federal node takes them
//! back out when it starts. The thief runs again: Punjab refuses and counts it, and neither node holds its alerts
//! while both keep the three before the point. The new
//! Lahore starts empty, takes the old key's three entries back from its peers, and writes under its new key;
//! Punjab's audit bundle, with both keys' logs, verifies offline with the root key alone.
//!
//! Bounded: 30 s for each node to come up, 60 s for each spread or refusal to be seen.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hifazat_tests::{
    DEMO, add_user, alert_body, demo_tokens, demo_without, exe, http_as, id_of, moved_host,
    moved_layout, note_text, serve_logged, status_as, wait_until,
};

/// Where this test's layout starts: the demo's nodes on 127.0.0.121-127.
const BASE: u8 = 121;

fn addr(name: &str) -> SocketAddr {
    format!("{}:8080", moved_host(BASE, name)).parse().unwrap()
}

/// Runs `hifazat` with `args`: its status, and its standard output and error together.
fn hifazat(args: &[&OsStr]) -> (bool, String) {
    let out = Command::new(exe()).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs `hifazat` with `args`; panics with its output unless it succeeds.
fn ok(args: &[&OsStr]) -> String {
    let (success, text) = hifazat(args);
    assert!(success, "hifazat {args:?}: {text}");
    text
}

/// The logs `name` holds, from `/api/v1/logs`: (author key, node name, scope, size).
fn logs(name: &str, token: &str) -> Vec<(String, Option<String>, String, u64)> {
    let (status, body) = http_as(addr(name), Some(token), "GET", "/api/v1/logs", "").unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["author"].as_str().unwrap().to_owned(),
                l["node"].as_str().map(str::to_owned),
                l["scope"].as_str().unwrap().to_owned(),
                l["size"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// How many entries of the alerts log signed by `key` node `name` holds (0 when it has none).
fn alerts_by(name: &str, token: &str, key: &str) -> u64 {
    logs(name, token)
        .into_iter()
        .find(|(author, _, scope, _)| author == key && scope == "alerts")
        .map_or(0, |l| l.3)
}

/// `peers_refused` from `/api/v1/peers` at node `name`.
fn refused(name: &str, token: &str) -> u64 {
    let (status, body) = http_as(addr(name), Some(token), "GET", "/api/v1/peers", "").unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["counters"]["peers_refused"].as_u64().unwrap()
}

fn raise(name: &str, token: &str, n: usize) -> String {
    let (status, body) = http_as(
        addr(name),
        Some(token),
        "POST",
        "/api/v1/alerts",
        &alert_body(n),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

/// Waits up to 60 s for `check`, and says what was awaited if it never holds.
fn wait(what: &str, check: impl FnMut() -> bool) {
    assert!(
        wait_until(Duration::from_secs(60), check).is_some(),
        "waited 60 s for {what}"
    );
}

/// A new machine for Lahore in `dir/lahore`: `init` on the layout; returns its key.
fn new_lahore(layout: &Path, dir: &Path) -> String {
    let printed = ok(&[
        "init".as_ref(),
        "--topology".as_ref(),
        layout.as_os_str(),
        "--node".as_ref(),
        "lahore".as_ref(),
        "--data".as_ref(),
        dir.join("lahore").as_os_str(),
    ]);
    printed
        .split("public key ")
        .nth(1)
        .and_then(|k| k.split(')').next())
        .expect("init prints the public key")
        .to_owned()
}

#[test]
fn a_stolen_key_revoked_at_a_point_is_refused_and_the_node_goes_on_under_a_new_one() {
    let t0 = std::time::Instant::now();
    let stage = |what: &str| eprintln!("revocation: {what} at {:.1} s", t0.elapsed().as_secs_f64());
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout.toml");
    std::fs::write(&layout, moved_layout(BASE)).unwrap();
    let data = dir.path().join("federation");
    // The demo sets every node up (keys, the signed topology, officials); this test runs the three it needs.
    let _demo = demo_without(&layout, &data, &DEMO);
    stage("demo set up");
    let tokens = demo_tokens(&data);
    let (federal_token, punjab_token) = (tokens["federal"].clone(), tokens["punjab"].clone());
    let mut federal = serve_logged(&data, "federal", addr("federal"), &[], "info");
    let mut punjab = serve_logged(&data, "punjab", addr("punjab"), &[], "info");
    let mut lahore = serve_logged(&data, "lahore", addr("lahore"), &[], "info");

    // Lahore's alerts reach Punjab and the federal node.
    let first: Vec<String> = (0..3)
        .map(|n| raise("lahore", &tokens["lahore"], n))
        .collect();
    let old_key = logs("lahore", &tokens["lahore"])
        .into_iter()
        .find(|(_, node, scope, _)| node.as_deref() == Some("lahore") && scope == "alerts")
        .expect("Lahore's alerts log")
        .0;
    wait(
        "Lahore's three alerts at Punjab and the federal node",
        || {
            alerts_by("punjab", &punjab_token, &old_key) == 3
                && alerts_by("federal", &federal_token, &old_key) == 3
        },
    );

    stage("alerts spread");
    // The machine is stolen: its data, key and topology go with the thief.
    lahore.stop();
    let stolen = dir.path().join("stolen");
    std::fs::create_dir_all(&stolen).unwrap();
    let copied = Command::new("cp")
        .arg("-a")
        .arg(data.join("lahore"))
        .arg(&stolen)
        .status()
        .unwrap();
    assert!(copied.success());
    std::fs::remove_dir_all(data.join("lahore")).unwrap();

    // A new machine, a new key; the root signs a topology that names it and revokes the old key after 3.
    let fresh = dir.path().join("fresh");
    let new_key = new_lahore(&layout, &fresh);
    assert_ne!(new_key, old_key);
    let text = note_text(&std::fs::read(data.join("topology.signed")).unwrap());
    assert!(text.starts_with("version = 1\n"), "{text}");
    let key_line = format!("key = \"{old_key}\"\n");
    assert!(text.contains(&key_line));
    let revoking = text.replacen("version = 1\n", "version = 2\n", 1).replacen(
        &key_line,
        &format!(
            "key = \"{new_key}\"\nrevoked = [{{ key = \"{old_key}\", logs = {{ \"alerts\" = 3 }} }}]\n"
        ),
        1,
    );
    let unsigned = dir.path().join("revoking.toml");
    std::fs::write(&unsigned, revoking).unwrap();
    let signed = dir.path().join("revoking.signed");
    ok(&[
        "topology".as_ref(),
        "sign".as_ref(),
        "--key".as_ref(),
        data.join("root.key").as_os_str(),
        "--in".as_ref(),
        unsigned.as_os_str(),
        "--out".as_ref(),
        signed.as_os_str(),
    ]);
    let root = std::fs::read_to_string(data.join("root.pub")).unwrap();
    let verified = ok(&[
        "topology".as_ref(),
        "verify".as_ref(),
        "--root".as_ref(),
        root.trim().as_ref(),
        signed.as_os_str(),
    ]);
    assert!(verified.contains(&old_key[..16]), "{verified}");
    let install = |node: &Path| {
        hifazat(&[
            "topology".as_ref(),
            "install".as_ref(),
            "--data".as_ref(),
            node.as_os_str(),
            "--root".as_ref(),
            root.trim().as_ref(),
            signed.as_os_str(),
        ])
    };
    // Not on the stolen copy: the topology does not name its key for the node any more.
    let (installed, why) = install(&stolen.join("lahore"));
    assert!(!installed, "installed on the stolen key's copy: {why}");
    punjab.stop();
    federal.stop();
    for node in [data.join("punjab"), fresh.join("lahore")] {
        let (installed, why) = install(&node);
        assert!(installed, "{}: {why}", node.display());
    }
    stage("installed at Punjab");

    // The federal node's operator is late: still on the old topology, it takes the thief's two new alerts.
    let mut federal = serve_logged(&data, "federal", addr("federal"), &[], "info");
    let mut thief = serve_logged(&stolen, "lahore", addr("lahore"), &[], "info");
    let theirs: Vec<String> = (3..5)
        .map(|n| raise("lahore", &tokens["lahore"], n))
        .collect();
    assert_eq!(alerts_by("lahore", &tokens["lahore"], &old_key), 5);
    wait(
        "the federal node, on the old topology, taking the thief's alerts",
        || alerts_by("federal", &federal_token, &old_key) == 5,
    );
    thief.stop();
    federal.stop();
    // Installed there now, it takes them back out when it starts.
    let (installed, why) = install(&data.join("federal"));
    assert!(installed, "federal: {why}");
    let _federal = serve_logged(&data, "federal", addr("federal"), &[], "info");
    let log = std::fs::read_to_string(data.join("logs").join("federal.err")).unwrap();
    assert!(
        log.contains("entries signed by a revoked key after its point taken out"),
        "{log}"
    );
    stage("the federal node took the thief's alerts out");

    // The thief runs the copy again and dials its old neighbours: refused and counted, its alerts held nowhere.
    let mut punjab = serve_logged(&data, "punjab", addr("punjab"), &[], "info");
    let before = refused("punjab", &punjab_token);
    let mut thief = serve_logged(&stolen, "lahore", addr("lahore"), &[], "info");
    wait("Punjab refusing the stolen key twice", || {
        refused("punjab", &punjab_token) >= before + 2
    });
    for (name, token) in [("punjab", &punjab_token), ("federal", &federal_token)] {
        assert_eq!(alerts_by(name, token, &old_key), 3, "{name}");
        for id in &theirs {
            assert_eq!(
                status_as(addr(name), token, &format!("/api/v1/alerts/{id}")),
                404,
                "{name} holds the thief's alert {id}"
            );
        }
        for id in &first {
            assert_eq!(
                status_as(addr(name), token, &format!("/api/v1/alerts/{id}")),
                200,
                "{name} lost alert {id}, written before the point"
            );
        }
    }
    stage("thief refused");
    thief.stop();

    // The new Lahore starts empty, takes the old key's entries up to the point back, and writes under its key.
    let officer = add_user(
        &fresh.join("lahore"),
        &[
            "--role",
            "station_officer",
            "--name",
            "Officer",
            "--district",
            "PB-LHR",
        ],
    );
    let _lahore = serve_logged(&fresh, "lahore", addr("lahore"), &[], "info");
    wait("the new Lahore holding the old key's three alerts", || {
        alerts_by("lahore", &officer, &old_key) == 3
    });
    for id in &first {
        assert_eq!(
            status_as(addr("lahore"), &officer, &format!("/api/v1/alerts/{id}")),
            200
        );
    }
    stage("new lahore caught up");
    let written = raise("lahore", &officer, 6);
    wait("the new key's alert at Punjab", || {
        alerts_by("punjab", &punjab_token, &new_key) == 1
    });
    assert_eq!(
        status_as(
            addr("punjab"),
            &punjab_token,
            &format!("/api/v1/alerts/{written}")
        ),
        200
    );
    let names: Vec<Option<String>> = logs("punjab", &punjab_token)
        .into_iter()
        .filter(|(author, _, scope, _)| {
            scope == "alerts" && (*author == old_key || *author == new_key)
        })
        .map(|l| l.1)
        .collect();
    assert_eq!(names.len(), 2, "both of Lahore's alerts logs at Punjab");
    assert!(
        names.iter().all(|n| n.as_deref() == Some("lahore")),
        "{names:?}"
    );

    stage("new key spread");
    // Punjab's bundle, with the old key's entries up to the point and the new key's, verifies offline.
    punjab.stop();
    let bundle = dir.path().join("punjab.bundle");
    ok(&[
        "audit".as_ref(),
        "export".as_ref(),
        "--data".as_ref(),
        data.join("punjab").as_os_str(),
        "--out".as_ref(),
        bundle.as_os_str(),
    ]);
    let report = ok(&[
        "audit".as_ref(),
        "verify".as_ref(),
        bundle.as_os_str(),
        "--root".as_ref(),
        data.join("root.pub").as_os_str(),
        "--summary".as_ref(),
    ]);
    assert!(!report.contains("FAIL"), "{report}");
    stage("audited");
}
