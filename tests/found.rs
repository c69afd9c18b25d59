//! Found children meet alerts across the demo federation of real processes (on 127.0.0.101-107, every node's
//! traffic captured):
//! - Lahore's DPO raises an alert with a child's photo; the photo reaches every node, in pieces through the
//!   `photos` log, and reads back there as the very bytes its id names;
//! - Karachi South's DPO reports a found child with another photo of the same person; Karachi South compares the
//!   faces and the possible match appears on the report there and on the alert at Lahore, and on both nodes' live
//!   streams to their police;
//! - no byte of the found child's photo is in any other node's files, or in any node's captured sync and gossip
//!   traffic.
//!
//! The photographs are face_recognition 1.3.0's test images (`scripts/faces/reference.sh` puts them in
//! `target/faces/photos`; the test command runs it first). Bounded: 30 s for the nodes to come up, 90 s for the
//! photo to travel and the match to be made.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hifazat_tests::{
    DEMO, Stopper, demo_tokens, exe, get_bytes, http_as, id_of, moved_host, moved_layout,
    post_bytes, reference_photo, status_of, wait_for_demo_setup, wait_until,
};

const BASE: u8 = 101;

fn addr(name: &str) -> SocketAddr {
    format!("{}:8080", moved_host(BASE, name)).parse().unwrap()
}

/// Opens `addr`'s live stream as `token` and sends on `tx` the data of every `suggestion` event it hears.
fn listen(addr: SocketAddr, token: &str, tx: mpsc::Sender<String>) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    write!(
        stream,
        "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                return;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            while let Some(at) = text.find("event: suggestion\n") {
                let rest = &text[at..];
                let Some(end) = rest.find("\n\n") else { break };
                let data = rest[..end]
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap_or_default()
                    .to_owned();
                text = rest[end..].to_owned();
                if tx.send(data).is_err() {
                    return;
                }
            }
        }
    });
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

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_found_child_at_karachi_meets_the_alert_raised_at_lahore_and_its_photo_stays_there() {
    let dir = tempfile::tempdir().unwrap();
    let layout_file = dir.path().join("layout.toml");
    std::fs::write(&layout_file, moved_layout(BASE)).unwrap();
    let data = dir.path().join("data");
    let wire = data.join("wire");
    std::fs::create_dir_all(&wire).unwrap();
    let logs = data.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut demo = Stopper(
        Command::new(exe())
            .args(["demo", "--topology"])
            .arg(&layout_file)
            .arg("--data")
            .arg(&data)
            .arg("--capture")
            .arg(&wire)
            .stdout(std::fs::File::create(logs.join("demo.out")).unwrap())
            .stderr(std::fs::File::create(logs.join("demo.err")).unwrap())
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_demo_setup(&data);
    for name in DEMO {
        assert!(
            wait_until(Duration::from_secs(30), || status_of(
                addr(name),
                "/healthz"
            ) == 200)
            .is_some(),
            "{name} did not come up"
        );
    }
    let tokens = demo_tokens(&data);
    let lahore_dpo = tokens["lahore/dpo"].clone();
    let karachi_dpo = tokens["karachi-south/dpo"].clone();
    let (lahore, karachi) = (addr("lahore"), addr("karachi-south"));
    let (heard_at_lahore, lahore_hears) = mpsc::channel();
    listen(lahore, &lahore_dpo, heard_at_lahore);
    let (heard_at_karachi, karachi_hears) = mpsc::channel();
    listen(karachi, &karachi_dpo, heard_at_karachi);

    // Lahore: the child's photo, then the alert naming it.
    let (status, body) = post_bytes(
        lahore,
        &lahore_dpo,
        "/api/v1/photos?purpose=alert",
        &reference_photo("obama.jpg"),
    );
    assert_eq!(status, 201, "{body}");
    let alert_photo = json(&body)["photo"].as_str().unwrap().to_owned();
    let mut alert = json(&hifazat_tests::alert_body(1));
    alert["photo_ref"] = serde_json::Value::String(alert_photo.clone());
    let (status, body) = http_as(
        lahore,
        Some(&lahore_dpo),
        "POST",
        "/api/v1/alerts",
        &alert.to_string(),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let alert_id = id_of(&body);
    // The photo travels with the alert to every node, and reads back there as the bytes its id names.
    let everywhere = wait_until(Duration::from_secs(90), || {
        DEMO.iter().all(|n| {
            let (status, bytes) = get_bytes(addr(n), &format!("/api/v1/photos/{alert_photo}"));
            status == 200
                && hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)) == alert_photo
        })
    });
    assert!(
        everywhere.is_some(),
        "the alert's photo did not reach every node"
    );

    // Karachi South: the found child's photo, then the report naming it.
    let found_bytes = reference_photo("obama2.jpg");
    let (status, body) = post_bytes(
        karachi,
        &karachi_dpo,
        "/api/v1/photos?purpose=found",
        &found_bytes,
    );
    assert_eq!(status, 201, "{body}");
    let found_photo = json(&body)["photo"].as_str().unwrap().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let report = format!(
        r#"{{"place":{{"district":"SD-KHS","lat":24.85,"lon":67.01,"text":"Saddar bus stand"}},"found_at_ms":{now},
            "apparent_age_years":6,"sex":"male","description":"Blue shirt","care":"shelter",
            "care_name":"Edhi Home, Kharadar","photos":["{found_photo}"]}}"#
    );
    let (status, body) = http_as(
        karachi,
        Some(&karachi_dpo),
        "POST",
        "/api/v1/found",
        &report,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let found_id = id_of(&body);

    // The suggestion on the report at Karachi South, and on the alert at Lahore.
    let mut distance = 0.0;
    let on_report = wait_until(Duration::from_secs(90), || {
        let (_, body) = http_as(
            karachi,
            Some(&karachi_dpo),
            "GET",
            &format!("/api/v1/found/{found_id}"),
            "",
        )
        .unwrap();
        let v = json(&body);
        match v["suggestions"].as_array().and_then(|s| s.first()) {
            Some(s) if s["other"] == alert_id.as_str() => {
                distance = s["distance"].as_f64().unwrap();
                true
            }
            _ => false,
        }
    });
    if on_report.is_none() {
        let log = std::fs::read_to_string(logs.join("demo.err")).unwrap_or_default();
        let out = std::fs::read_to_string(logs.join("demo.out")).unwrap_or_default();
        let lines: Vec<&str> = log
            .lines()
            .chain(out.lines())
            .filter(|l| {
                l.contains("match")
                    || l.contains("photo")
                    || l.contains("face")
                    || l.contains("ERROR")
                    || l.contains("WARN")
            })
            .collect();
        panic!(
            "no suggestion on the report at Karachi South; the nodes said:\n{}",
            lines.join("\n")
        );
    }
    assert!(distance < 0.6, "{distance}");
    let on_alert = wait_until(Duration::from_secs(60), || {
        let (_, body) = http_as(
            lahore,
            Some(&lahore_dpo),
            "GET",
            &format!("/api/v1/alerts/{alert_id}"),
            "",
        )
        .unwrap();
        json(&body)["timeline"].as_array().is_some_and(|t| {
            t.iter().any(|e| {
                e["type"] == "match_suggested"
                    && e["other"] == found_id.as_str()
                    && e["node"] == "karachi-south"
            })
        })
    });
    assert!(on_alert.is_some(), "no suggestion on the alert at Lahore");
    // Heard live on both sides.
    for (side, hears) in [("Lahore", &lahore_hears), ("Karachi South", &karachi_hears)] {
        let data = hears
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{side}'s live stream did not tell of the suggestion"));
        let v = json(&data);
        assert_eq!(v["alert"], alert_id.as_str(), "{data}");
        assert_eq!(v["found"], found_id.as_str(), "{data}");
    }
    // Lahore's police cannot read the report, at Lahore or anywhere.
    let (status, _) = http_as(
        lahore,
        Some(&lahore_dpo),
        "GET",
        &format!("/api/v1/found/{found_id}"),
        "",
    )
    .unwrap();
    assert!(status == 403 || status == 404, "{status}");

    // No byte of the found child's photo anywhere but Karachi South's own data: not in any other node's files,
    // not in any node's captured traffic (Karachi South's included), not in the logs.
    let (status, kept) = {
        let (s, b) = http_as(
            karachi,
            Some(&karachi_dpo),
            "GET",
            &format!("/api/v1/found/{found_id}"),
            "",
        )
        .unwrap();
        (s, b)
    };
    assert_eq!(status, 200, "{kept}");
    let clean = {
        // The bytes as kept: read back through the report's photo route.
        let mut stream = TcpStream::connect_timeout(&karachi, Duration::from_secs(2)).unwrap();
        write!(
            stream,
            "GET /api/v1/found/{found_id}/photos/0 HTTP/1.1\r\nHost: {karachi}\r\nAuthorization: Bearer {karachi_dpo}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        response[split + 4..].to_vec()
    };
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&clean)),
        found_photo
    );
    // Windows from the photo's coded data (its first bytes, the JPEG header, are the same in every photo the
    // node writes); the upload as sent, likewise.
    let needles: Vec<&[u8]> = [&clean[..], &found_bytes[..]]
        .iter()
        .flat_map(|b| [b.len() / 3, b.len() / 2, 2 * b.len() / 3].map(|at| &b[at..at + 48]))
        .collect();
    // Karachi South's own data holds it (so the needles are right), under its store.
    let own = files_under(&data.join("karachi-south"));
    assert!(
        own.iter()
            .any(|f| std::fs::read(f).is_ok_and(|b| contains(&b, needles[0]))),
        "the needle is not even in Karachi South's store"
    );
    let mut elsewhere: Vec<PathBuf> = Vec::new();
    for name in DEMO.iter().filter(|n| **n != "karachi-south") {
        elsewhere.extend(files_under(&data.join(name)));
    }
    elsewhere.extend(files_under(&wire));
    elsewhere.extend(files_under(&logs));
    assert!(
        elsewhere
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "wire")),
        "no captures"
    );
    for file in &elsewhere {
        let bytes = std::fs::read(file).unwrap();
        for needle in &needles {
            assert!(
                !contains(&bytes, needle),
                "found child's photo bytes in {}",
                file.display()
            );
        }
    }

    // Karachi South's DPO confirms the match in person; stopped, the node's confirmed matches are what
    // `hifazat faces evaluate --data` measures (one pair of one child here, none of two: it says so).
    let (status, body) = http_as(
        karachi,
        Some(&karachi_dpo),
        "POST",
        &format!("/api/v1/found/{found_id}/matches/{alert_id}"),
        r#"{"decision":"confirmed"}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    demo.stop();
    let out = Command::new(exe())
        .args(["faces", "evaluate", "--data"])
        .arg(data.join("karachi-south"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains("1 pairs of one child and 0 of two"), "{said}");
}

/// A seeded generator of numbers in [0, 1).
fn uniform(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}

/// `hifazat faces evaluate` on synthetic descriptions: 60 children, three photos each, each photo its child's
/// point plus noise; the rates it prints are those worked out here from the same numbers.
#[test]
fn faces_evaluate_prints_the_rates_of_synthetic_descriptions() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 42u64;
    let mut lines = String::new();
    let mut faces: Vec<(usize, Vec<f32>)> = Vec::new();
    for child in 0..60 {
        let centre: Vec<f64> = (0..128)
            .map(|_| (uniform(&mut seed) - 0.5) * 0.16)
            .collect();
        for _ in 0..3 {
            let e: Vec<f32> = centre
                .iter()
                .map(|c| (c + (uniform(&mut seed) - 0.5) * 0.2) as f32)
                .collect();
            lines.push_str(
                &serde_json::json!({"child": format!("child {child}"), "embedding": e}).to_string(),
            );
            lines.push('\n');
            faces.push((child, e));
        }
    }
    let file = dir.path().join("embeddings.jsonl");
    std::fs::write(&file, &lines).unwrap();
    // The rates, worked out here.
    let distance = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f32>()
            .sqrt()
    };
    let (mut same, mut different) = (Vec::new(), Vec::new());
    for (i, (a, fa)) in faces.iter().enumerate() {
        for (b, fb) in &faces[i + 1..] {
            if a == b {
                same.push(distance(fa, fb))
            } else {
                different.push(distance(fa, fb))
            }
        }
    }
    different.sort_by(f32::total_cmp);
    let fmr = 0.01;
    let threshold = different[(fmr * different.len() as f64).floor() as usize];
    let tmr = same.iter().filter(|d| **d < threshold).count() as f64 / same.len() as f64;
    let out = Command::new(exe())
        .args([
            "faces",
            "evaluate",
            "--json",
            "--false-match-rate",
            "0.01",
            "--embeddings",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(v["same_pairs"], 60 * 3, "{v}");
    assert_eq!(v["different_pairs"], 180 * 179 / 2 - 180, "{v}");
    assert!(
        (v["threshold"].as_f64().unwrap() - f64::from(threshold)).abs() < 1e-6,
        "{v} vs {threshold}"
    );
    assert!(
        (v["true_match_rate"].as_f64().unwrap() - tmr).abs() < 1e-9,
        "{v} vs {tmr}"
    );
    assert!(v["reached_false_match_rate"].as_f64().unwrap() <= fmr);
    // The noise was chosen so neither rate is trivial.
    assert!(tmr > 0.0 && tmr < 1.0, "{tmr}");
    // A line that is not a description is refused by its place.
    std::fs::write(&file, "{\"child\":\"a\",\"embedding\":[1,2]}\n").unwrap();
    let out = Command::new(exe())
        .args(["faces", "evaluate", "--embeddings"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("embeddings.jsonl:1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
