//! The public pages in a real browser: Debian's chromium, driven by playwright-core with axe
//! (`tests/browser/pages.mjs`), against `hifazat serve` as a process on 127.0.0.32 holding a validated alert and
//! a complaint. Every page in English and Urdu at 360 and 1280 px: its status, `lang` and `dir`, no serious or
//! critical accessibility violation, no request leaving the node, nothing overflowing sideways, no heading
//! clipped, the Nastaliq font loaded and the layout mirrored in Urdu; and, with JavaScript off, an anonymous
//! complaint filed and tracked by its code, and a sighting of the alert reported. Screenshots go to `<target>/browser-screenshots`.
//!
//! Needs Node.js, `tests/browser/node_modules` (`npm ci --prefix tests/browser`) and `/usr/bin/chromium`, which
//! the README's test command installs; it fails, not skips, without them. Bounded: 30 s for the node to come up,
//! 5 minutes for the browser checks.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use hifazat_tests::{alert_body, http, http_as, id_of, lahore_with_officer, start, target_dir};

const HOST: &str = "127.0.0.32";
/// The longest the browser checks may take.
const BROWSER_LIMIT: Duration = Duration::from_secs(300);

#[test]
fn every_public_page_in_both_languages_in_a_real_browser() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run `npm ci --prefix tests/browser` (scripts/test.sh does)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: install Debian's chromium (scripts/test.sh does, as root)"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lahore");
    let token = lahore_with_officer(&data);
    let (node, addr) = start(HOST, &data);
    let _node = hifazat_tests::Stopper(node);
    let (status, body) =
        http_as(addr, Some(&token), "POST", "/api/v1/alerts", &alert_body(3)).unwrap();
    assert_eq!(status, 201, "{body}");
    let alert = id_of(&body);
    let (status, body) = http_as(
        addr,
        Some(&token),
        "POST",
        &format!("/api/v1/alerts/{alert}/events"),
        r#"{"type":"validated"}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(
        addr,
        "POST",
        "/api/v1/cases",
        r#"{"category":"harassment","district":"PB-LHR","description":"Followed from school","channel":"citizen_portal"}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let code: serde_json::Value = serde_json::from_str(&body).unwrap();
    let code = code["tracking_code"].as_str().unwrap().to_owned();

    let shots = target_dir().join("browser-screenshots");
    let checks = Command::new("node")
        .arg("pages.mjs")
        .arg(format!("http://{addr}"))
        .arg(&alert)
        .arg(&code)
        .arg(&shots)
        .current_dir(&browser_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Node.js (`node`) runs the browser checks");
    let pid = checks.id();
    // Its output is read as it comes (so a long report cannot fill the pipe and stall it), on a thread of its own.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(checks.wait_with_output());
    });
    let Ok(output) = finished.recv_timeout(BROWSER_LIMIT) else {
        // Only the process this test started, by its id.
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("the browser checks took longer than {BROWSER_LIMIT:?}");
    };
    let output = output.unwrap();
    let status = output.status;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}");
    assert!(
        status.success(),
        "the browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(", 0 failures"), "{stdout}");
    eprintln!("screenshots in {}", shots.display());
}
