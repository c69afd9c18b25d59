//! The register in a federation of real processes on 127.0.0.41-47 (the demo layout moved there):
//! - a notification recorded at Lahore while the federal node is down travels through Punjab, is taken in once
//!   the federal node is back (Lahore itself being down by then), and exactly once across a restart;
//! - no register bytes (names, CNICs with and without dashes, their plain and keyed hashes) are in any other
//!   node's files, in any node's captured sync and gossip traffic, or in any node's log output.
//!
//! Bounded: 30 s for nodes to come up, 60 s for each step to happen.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use hifazat_tests::{
    DEMO, Stopper, demo_tokens, exe, http_as, moved_host, moved_layout, serve_logged,
    wait_for_demo_setup, wait_until,
};

/// Where this test's layout starts: the demo's nodes on 127.0.0.41-47.
const BASE: u8 = 41;

fn host_of(name: &str) -> String {
    moved_host(BASE, name)
}

fn addr(name: &str) -> SocketAddr {
    format!("{}:8080", host_of(name)).parse().unwrap()
}

/// Starts `hifazat serve` for one node of the demo's data, capturing its traffic and its log output.
fn serve(data: &Path, name: &str) -> Stopper {
    let wire = data.join("wire").join(format!("{name}.wire"));
    serve_logged(
        data,
        name,
        addr(name),
        &["--capture".into(), wire.into()],
        "debug",
    )
}

/// Ends a node at once, as a crash would.
fn crash(mut node: Stopper) {
    let _ = Command::new("kill")
        .args(["-KILL", &node.0.id().to_string()])
        .status();
    let _ = node.0.wait();
}

fn metric(name: &str, token: &str, metric: &str) -> f64 {
    http_as(addr(name), Some(token), "GET", "/metrics", "")
        .ok()
        .and_then(|(_, text)| {
            text.lines()
                .find(|l| l.starts_with(metric))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0.0)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn register_data_stays_at_the_federal_node_and_notifications_arrive_once() {
    let dir = tempfile::tempdir().unwrap();
    let layout_file = dir.path().join("layout.toml");
    std::fs::write(&layout_file, moved_layout(BASE)).unwrap();
    let data = dir.path().join("data");
    let wire = data.join("wire");
    std::fs::create_dir_all(&wire).unwrap();
    let logs = data.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let demo_out = std::fs::File::create(logs.join("demo.out")).unwrap();
    let demo_err = std::fs::File::create(logs.join("demo.err")).unwrap();
    let demo = Command::new(exe())
        .args([
            "demo",
            "--skip",
            "federal",
            "--skip",
            "lahore",
            "--topology",
        ])
        .arg(&layout_file)
        .arg("--data")
        .arg(&data)
        .arg("--capture")
        .arg(&wire)
        .env("RUST_LOG", "debug")
        .stdout(demo_out)
        .stderr(demo_err)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let _demo = Stopper(demo);
    wait_for_demo_setup(&data);
    let tokens = demo_tokens(&data);
    let token = |key: &str| tokens[key].clone();
    let federal = serve(&data, "federal");
    let lahore = serve(&data, "lahore");

    // The register officer puts an offender on the register; an institution verifies, hit and miss.
    let name = "Shahid Mehmood";
    let parent = "Ghulam Rasool";
    let cnic = "3510276543213";
    let entry = format!(
        r#"{{"cnic":"35102-7654321-3","name":"{name}","parentage":{{"relation":"son_of","name":"{parent}"}},
            "aliases":["Billa Kasai"],
            "convictions":[{{"offence":"s.376 PPC","court":"Anti-Rape Special Court Kasur","date":"2022-03-14",
            "sentence":"10 years"}}],
            "address":{{"address":"Mohalla Rasheedabad Kasur","district":"PB-KSR","since":"2019-06-01"}}}}"#
    );
    let officer = token("federal/register_officer");
    let (status, body) = http_as(
        addr("federal"),
        Some(&officer),
        "POST",
        "/api/v1/register/offenders",
        &entry,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for probe in [cnic, "3510276543214"] {
        let (status, body) = http_as(
            addr("federal"),
            Some(&token("federal/verifier")),
            "POST",
            "/api/v1/register/verify",
            &format!(r#"{{"cnic":"{probe}"}}"#),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
    }

    // The federal node goes down; Lahore's police record the offender's move.
    crash(federal);
    let punjab = token("punjab");
    let stored_before = metric("punjab", &punjab, "hifazat_sync_entries_stored_total");
    let new_address = "House 7 Model Town Lahore";
    let notice = format!(
        r#"{{"cnic":"{cnic}","update":{{"change":"move","address":"{new_address}","district":"PB-LHR","since":"2026-01-10"}}}}"#
    );
    let (status, body) = http_as(
        addr("lahore"),
        Some(&token("lahore")),
        "POST",
        "/api/v1/register/notices",
        &notice,
    )
    .unwrap();
    assert_eq!(status, 202, "{body}");
    // It reaches Punjab (the only other holder on its line that is up); then Lahore goes down too.
    assert!(
        wait_until(Duration::from_secs(60), || metric(
            "punjab",
            &punjab,
            "hifazat_sync_entries_stored_total"
        ) > stored_before)
        .is_some(),
        "the notification did not reach Punjab"
    );
    crash(lahore);

    // The federal node comes back, fetches the notification from Punjab and applies it.
    let federal = serve(&data, "federal");
    let applied = || -> Option<serde_json::Value> {
        let (status, body) = http_as(
            addr("federal"),
            Some(&officer),
            "GET",
            &format!("/api/v1/register/offenders/{id}"),
            "",
        )
        .ok()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (status == 200 && v["changes"] == 2).then_some(v)
    };
    assert!(
        wait_until(Duration::from_secs(60), || applied().is_some()).is_some(),
        "the notification was not applied at the federal node"
    );
    let entry = applied().unwrap();
    assert_eq!(entry["addresses"][1]["address"], new_address);
    // Once, across a restart too.
    crash(federal);
    let federal = serve(&data, "federal");
    std::thread::sleep(Duration::from_secs(3));
    let (_, body) = http_as(
        addr("federal"),
        Some(&officer),
        "GET",
        "/api/v1/register/notices",
        "",
    )
    .unwrap();
    let notices: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(notices["items"].as_array().unwrap().len(), 1, "{notices}");
    assert_eq!(notices["items"][0]["outcome"]["result"], "applied");
    assert_eq!(applied().unwrap()["changes"], 2);
    drop(federal);

    // Nothing of the register outside the federal node: not in the other nodes' files, not in anyone's traffic,
    // not in anyone's log output (the federal node's included).
    let keys = hifazat_register::read_key_file(&data.join("federal").join("register.key")).unwrap();
    let plain: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(cnic.as_bytes()).into();
    let keyed = keys.cnic_hash(cnic);
    let needles: Vec<Vec<u8>> = vec![
        name.into(),
        parent.into(),
        "Billa Kasai".into(),
        "Mohalla Rasheedabad".into(),
        new_address.into(),
        cnic.into(),
        "35102-7654321-3".into(),
        plain.to_vec(),
        hex::encode(plain).into(),
        keyed.to_vec(),
        hex::encode(keyed).into(),
    ];
    let mut scanned = Vec::new();
    for node in DEMO.iter().filter(|n| **n != "federal") {
        scanned.extend(files_under(&data.join(node)));
    }
    scanned.extend(files_under(&wire));
    scanned.extend(files_under(&logs));
    let mut bytes_scanned = 0;
    let mut messages = 0;
    for file in &scanned {
        let bytes = std::fs::read(file).unwrap();
        bytes_scanned += bytes.len();
        if file.extension().is_some_and(|e| e == "wire") {
            messages += hifazat_net::Capture::read(&bytes).len();
        }
        for needle in &needles {
            assert!(
                !contains(&bytes, needle),
                "{} holds register data ({})",
                file.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    eprintln!(
        "scanned {} files, {bytes_scanned} bytes, {messages} captured messages",
        scanned.len()
    );
    // The scan saw real traffic and logs: the capture holds the notification's journey, the logs are not empty.
    assert!(messages >= 20, "{messages} captured messages");
    let federal_log = std::fs::read_to_string(logs.join("federal.err")).unwrap();
    assert!(
        federal_log.contains("register notification taken in"),
        "{federal_log}"
    );
    // The sealed notification is among what was scanned: Punjab received Lahore's notices log.
    let punjab_wire = std::fs::read(wire.join("punjab.wire")).unwrap();
    assert!(
        hifazat_net::Capture::read(&punjab_wire)
            .iter()
            .any(|(direction, _, bytes)| *direction == b'<' && contains(bytes, b"notices/pb-lhr")),
        "Punjab's capture holds no notification"
    );
}
