//! A client generated from the OpenAPI document, as a new user would point one at the demo: schemathesis (PyPI,
//! pinned by hash in `scripts/schemathesis/requirements.txt`, installed by `scripts/schemathesis/run.sh` into a
//! git-ignored virtualenv) fuzzes every operation of the document the node serves, with requests the document says
//! are valid and with requests it says are not, against the demo federation run as processes on 127.0.0.111-117:
//! as Lahore's DPO at Lahore's node, and as the register officer at the federal node. Its NDJSON report is judged
//! here: no answer is a 5xx; every answer's status, content type, headers and body conform to the document; and
//! most of the requests the document calls valid are taken (not answered 400 or 422: what the document cannot
//! state, such as a place inside Pakistan's outline rather than its bounding box or the rules between fields, is
//! what is left). The two live streams are left out: they never end, so a request to one can only time out.
//! Bounded: 30 s for the demo to come up, 20 examples per operation, 10 minutes per run.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hifazat_tests::{demo_without, moved_host, moved_layout, status_of, wait_until};
use serde_json::Value;

/// Where this test's layout starts: 127.0.0.111 (federal) to .117.
const BASE: u8 = 111;
/// The longest one schemathesis run may take.
const RUN_LIMIT: Duration = Duration::from_secs(600);
/// Of the requests the document calls valid, at least this share must be taken.
const TAKEN_MIN: f64 = 0.85;
/// The checks whose every failure fails the test: answers conform to the document and nothing is a 5xx.
/// (`positive_data_acceptance` is judged as a share below; `negative_data_rejection`, a request the document calls
/// invalid that the node takes, is reported, not failed: the node is more lenient than the document in places,
/// such as spaces in a mobile number.)
const STRICT: [&str; 5] = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
];

fn addr(name: &str) -> std::net::SocketAddr {
    format!("{}:8080", moved_host(BASE, name)).parse().unwrap()
}

/// The token of the demo official of `role` at `node`, from the demo's `demo-tokens.json`.
fn token(data: &Path, node: &str, role: &str) -> String {
    let text = std::fs::read_to_string(data.join("demo-tokens.json")).unwrap();
    let tokens: Value = serde_json::from_str(&text).unwrap();
    tokens
        .as_object()
        .unwrap()
        .iter()
        .find(|(key, o)| key.split('/').next() == Some(node) && o["role"] == role)
        .map(|(_, o)| o["token"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {role} at {node} in the demo's tokens"))
}

/// What one run's report says.
#[derive(Debug, Default)]
struct Verdict {
    /// Answers to requests the document calls valid, by status.
    valid: BTreeMap<u16, u64>,
    /// Valid requests answered 400 or 422, by operation.
    refused: BTreeMap<String, u64>,
    /// The first such answer's body, by operation (what the document could not say).
    why: BTreeMap<String, String>,
    /// Failures of the strict checks: (check, operation, what it said, the request).
    failures: Vec<String>,
    /// Requests the document calls invalid that were taken, by operation.
    lenient: BTreeMap<String, u64>,
    requests: u64,
    finished: bool,
}

fn judge(report: &Path) -> Verdict {
    let mut v = Verdict::default();
    let text = std::fs::read_to_string(report).unwrap();
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        if event.get("EngineFinished").is_some() {
            v.finished = true;
        }
        let Some(scenario) = event.get("ScenarioFinished") else {
            continue;
        };
        let recorder = &scenario["recorder"];
        let label = recorder["label"].as_str().unwrap_or("?").to_owned();
        let empty = serde_json::Map::new();
        let interactions = recorder["interactions"].as_object().unwrap_or(&empty);
        for (id, interaction) in interactions {
            v.requests += 1;
            let status = interaction["response"]["status_code"].as_u64().unwrap_or(0) as u16;
            let mode = recorder["cases"][id]["value"]["meta"]["generation"]["mode"].as_str();
            if mode == Some("positive") {
                *v.valid.entry(status).or_default() += 1;
                if matches!(status, 400 | 422) {
                    *v.refused.entry(label.clone()).or_default() += 1;
                    v.why.entry(label.clone()).or_insert_with(|| {
                        let body = &interaction["response"]["content"];
                        let text = match body["$base64"].as_str() {
                            Some(b) => {
                                String::from_utf8_lossy(&BASE64.decode(b).unwrap_or_default())
                                    .into_owned()
                            }
                            None => body.to_string(),
                        };
                        text.chars().take(300).collect()
                    });
                }
            }
        }
        for (id, checks) in recorder["checks"].as_object().unwrap_or(&empty) {
            for check in checks.as_array().into_iter().flatten() {
                if check["status"] != "failure" {
                    continue;
                }
                let name = check["name"].as_str().unwrap_or("?");
                if STRICT.contains(&name) {
                    let request = &recorder["cases"][id]["value"];
                    v.failures.push(format!(
                        "{name} on {label}: {} (request: {} {} {})",
                        check["failure_info"]["failure"]["message"],
                        request["method"],
                        request["path"],
                        request["body"]
                    ));
                } else if name == "negative_data_rejection" {
                    *v.lenient.entry(label.clone()).or_default() += 1;
                }
            }
        }
    }
    v
}

/// Runs schemathesis against `node` as `token`, and judges its report.
fn fuzz(node: std::net::SocketAddr, token: &str, reports: &Path) -> Verdict {
    std::fs::create_dir_all(reports).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/schemathesis/run.sh");
    let mut run = Command::new("bash")
        .arg(script)
        .arg(format!("http://{node}"))
        .arg(token)
        .args(["--max-examples", "20", "--continue-on-failure"])
        // The live streams never end, so a request to one only times out; they are tested on their own.
        .args(["--exclude-path", "/api/v1/events"])
        .args(["--exclude-path", "/api/v1/track/{code}/events"])
        .env("SCHEMATHESIS_REPORTS", reports)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if run.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = run.kill();
            let _ = run.wait();
            panic!("schemathesis against {node} took longer than {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let report = std::fs::read_dir(reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .unwrap_or_else(|| {
            panic!(
                "schemathesis wrote no NDJSON report in {}",
                reports.display()
            )
        });
    judge(&report)
}

fn assert_good(who: &str, v: &Verdict) {
    assert!(v.finished, "{who}: the run did not finish");
    let valid: u64 = v.valid.values().sum();
    let refused: u64 = v.refused.values().sum();
    let taken = 1.0 - refused as f64 / valid.max(1) as f64;
    eprintln!(
        "schemathesis as {who}: {} requests, {valid} valid by the document, {refused} of them refused ({:.1}% taken); answers to valid requests by status {:?}; refused by operation {:?}; invalid requests taken by operation {:?}",
        v.requests,
        taken * 100.0,
        v.valid,
        v.refused,
        v.lenient
    );
    for (op, why) in &v.why {
        eprintln!("  {op} refused, e.g.: {why}");
    }
    assert!(
        v.failures.is_empty(),
        "{who}: {} failures:\n{}",
        v.failures.len(),
        v.failures.join("\n")
    );
    assert!(valid >= 100, "{who}: only {valid} valid requests were made");
    assert!(
        taken >= TAKEN_MIN,
        "{who}: {refused} of {valid} requests the document calls valid were refused: {:?}",
        v.refused
    );
}

#[test]
fn a_client_generated_from_the_document_is_answered_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout.toml");
    std::fs::write(&layout, moved_layout(BASE)).unwrap();
    let data = dir.path().join("data");
    let _demo = demo_without(&layout, &data, &[]);
    for node in ["lahore", "federal", "punjab"] {
        assert!(
            wait_until(Duration::from_secs(30), || status_of(
                addr(node),
                "/healthz"
            ) == 200)
            .is_some(),
            "{node} did not come up"
        );
    }
    // Connected, so the peers' page and the register's store-and-forward have a network to speak of.
    assert!(
        wait_until(Duration::from_secs(30), || {
            hifazat_tests::http_as(
                addr("lahore"),
                Some(&token(&data, "lahore", "dpo")),
                "GET",
                "/api/v1/peers",
                "",
            )
            .is_ok_and(|(s, body)| s == 200 && body.contains("\"connected\":true"))
        })
        .is_some(),
        "Lahore did not connect to its peers"
    );
    for (who, node, role) in [
        ("Lahore's DPO", "lahore", "dpo"),
        ("the register officer", "federal", "register_officer"),
    ] {
        let reports = dir.path().join(format!("reports-{node}"));
        let verdict = fuzz(addr(node), &token(&data, node, role), &reports);
        assert_good(who, &verdict);
    }
}
