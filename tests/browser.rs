//! The public pages in a real browser: Debian's chromium, driven by playwright-core with axe
//! (`tests/browser/pages.mjs`), against the demo federation run as processes on 127.0.0.81-87 (`hifazat demo`
//! on the demo layout moved there), reading Lahore's node, which holds a validated alert with a photo and a
//! complaint. Every page in English and Urdu at 360 and 1280 px: its status, `lang` and `dir`, no serious or
//! critical accessibility violation, no request leaving the node, nothing overflowing sideways, no heading
//! clipped, the Nastaliq font loaded and the layout mirrored in Urdu. Flows: with JavaScript off, an alert raised
//! with the form and, once the police validate it, found listed; an anonymous complaint filed and tracked by its
//! code; a sighting of the alert reported; with JavaScript on, an alert raised and validated at Kasur's node
//! appearing on Lahore's open home page without a reload. Screenshots go to `<target>/browser-screenshots`.
//!
//! Needs Node.js, `tests/browser/node_modules` (`npm ci --prefix tests/browser`) and `/usr/bin/chromium`, which
//! the README's test command installs; it fails, not skips, without them. Bounded: 30 s for the demo to come up,
//! 5 minutes for the browser checks.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use hifazat_tests::{
    alert_body, case_body, demo_tokens, demo_without, http, http_as, id_of, moved_host,
    moved_layout, status_of, target_dir, wait_until,
};

/// Where this test's layout starts: 127.0.0.81 (federal) to .87.
const BASE: u8 = 81;
/// The longest the browser checks may take.
const BROWSER_LIMIT: Duration = Duration::from_secs(300);

fn addr(name: &str) -> std::net::SocketAddr {
    format!("{}:8080", moved_host(BASE, name)).parse().unwrap()
}

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
    let layout = dir.path().join("layout.toml");
    std::fs::write(&layout, moved_layout(BASE)).unwrap();
    let data = dir.path().join("data");
    let _demo = demo_without(&layout, &data, &[]);
    let tokens = demo_tokens(&data);
    let (lahore, kasur) = (addr("lahore"), addr("kasur"));
    for node in [lahore, kasur] {
        assert!(
            wait_until(Duration::from_secs(30), || status_of(node, "/healthz")
                == 200)
            .is_some(),
            "{node} did not come up"
        );
    }
    let token = &tokens["lahore"];
    // The alert has the child's photo, so the home page's card, the alert's page and its poster show one.
    let (status, body) = hifazat_tests::post_bytes(
        lahore,
        token,
        "/api/v1/photos?purpose=alert",
        &hifazat_tests::reference_photo("obama.jpg"),
    );
    assert_eq!(status, 201, "{body}");
    let photo: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut with_photo: serde_json::Value = serde_json::from_str(&alert_body(3)).unwrap();
    with_photo["photo_ref"] = photo["photo"].clone();
    let (status, body) = http_as(
        lahore,
        Some(token),
        "POST",
        "/api/v1/alerts",
        &with_photo.to_string(),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let alert = id_of(&body);
    let (status, body) = http_as(
        lahore,
        Some(token),
        "POST",
        &format!("/api/v1/alerts/{alert}/events"),
        r#"{"type":"validated"}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(
        lahore,
        "POST",
        "/api/v1/cases",
        r#"{"category":"harassment","district":"PB-LHR","description":"Followed from school","channel":"citizen_portal"}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let code: serde_json::Value = serde_json::from_str(&body).unwrap();
    let code = code["tracking_code"].as_str().unwrap().to_owned();
    // Enough complaints in Lahore for the statistics map to shade Punjab and size Lahore's point (counts below 5
    // are hidden).
    for n in 0..6 {
        let (status, body) = http_as(
            lahore,
            Some(token),
            "POST",
            "/api/v1/cases",
            &case_body("PB-LHR", n),
        )
        .unwrap();
        assert_eq!(status, 201, "{body}");
    }

    let shots = target_dir().join("browser-screenshots");
    let config = serde_json::json!({
        "base": format!("http://{lahore}"),
        "token": token,
        "alert": alert,
        "code": code,
        "other": { "base": format!("http://{kasur}"), "token": tokens["kasur"] },
        "shots": shots,
    });
    let checks = Command::new("node")
        .arg("pages.mjs")
        .arg(config.to_string())
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
