//! The officials' pages in a real browser, across real nodes, through a real partition. The demo federation runs
//! as processes on a [`Cut`]'s links, with Lahore inside a network namespace: its peer-to-peer link can be cut
//! while the browser still reaches its pages over the control link. `tests/browser/offices.mjs` (Debian's
//! chromium, playwright-core, axe) then checks, for every role of the demo, each of its pages in English and
//! Urdu at 360 and 1280 px (status, `lang` and `dir`, no serious or critical accessibility violation, no request
//! leaving the node, nothing overflowing), and that each role signs in, sees its area and acts; live across
//! nodes (a DPO page at Lahore and the IG's at Punjab, an alert raised at Lahore appearing on both without a
//! reload, its validation showing at Punjab); and offline (Lahore cut off: the banner, work done there, the
//! heal, the banner gone and the work at Punjab); and break-glass (Karachi South's DPO opens Lahore's alert with a
//! reason, and Lahore's DPO sees the use on their queue). Screenshots go to `<target>/browser-screenshots/offices`.
//!
//! Needs root and iproute2 (for the namespace), Node.js, `tests/browser/node_modules` and `/usr/bin/chromium`,
//! which the README's test command installs; it fails, not skips, without them. Bounded: 30 s for the nodes to
//! come up, 10 minutes for the browser checks.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use hifazat_tests::netns::{Cut, host_http, inside_http, layout};
use hifazat_tests::{
    Stopper, alert_body, case_body, demo_tokens, demo_without, exe, http_as, id_of, post_bytes,
    reference_photo, status_of, target_dir, wait_until,
};

/// The longest the browser checks may take.
const BROWSER_LIMIT: Duration = Duration::from_secs(600);

#[test]
fn every_role_works_in_the_browser_live_and_offline() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run `npm ci --prefix tests/browser` (scripts/test.sh does)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: install Debian's chromium (scripts/test.sh does, as root)"
    );
    let id = std::process::id() % 10_000;
    // Subnets 10.213-214.225-254: apart from the partition test's (20 to 219).
    let net = id % 30 + 225;
    let cut = Cut::new(id, net);
    let dir = tempfile::tempdir().unwrap();
    let layout_file = dir.path().join("layout.toml");
    std::fs::write(&layout_file, layout(net, "lahore")).unwrap();
    let data = dir.path().join("data");
    let _demo = demo_without(&layout_file, &data, &["lahore"]);
    // Lahore runs inside the namespace; `ip netns exec` replaces itself with the node.
    let lahore = inside_http(net);
    let _lahore = Stopper(
        Command::new("ip")
            .args(["netns", "exec", &cut.ns, exe(), "serve", "--listen"])
            .arg(lahore.to_string())
            .arg("--data")
            .arg(data.join("lahore"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let punjab = host_http(net, "lahore", "punjab");
    let federal = host_http(net, "lahore", "federal");
    let karachi_south = host_http(net, "lahore", "karachi-south");
    for node in [lahore, punjab, federal, karachi_south] {
        assert!(
            wait_until(Duration::from_secs(30), || status_of(node, "/healthz")
                == 200)
            .is_some(),
            "{node} did not come up"
        );
    }
    let tokens = demo_tokens(&data);
    // What the role pages show: a validated alert and a complaint at Lahore, an entry on the register.
    let dpo = &tokens["lahore/dpo"];
    let (status, body) =
        http_as(lahore, Some(dpo), "POST", "/api/v1/alerts", &alert_body(7)).unwrap();
    assert_eq!(status, 201, "{body}");
    let alert = id_of(&body);
    let path = format!("/api/v1/alerts/{alert}/events");
    let (status, body) =
        http_as(lahore, Some(dpo), "POST", &path, r#"{"type":"validated"}"#).unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, body) = http_as(
        lahore,
        Some(dpo),
        "POST",
        "/api/v1/cases",
        &case_body("PB-LHR", 1),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let case = id_of(&body);
    let (status, body) = http_as(
        federal,
        Some(&tokens["federal/register_officer"]),
        "POST",
        "/api/v1/register/offenders",
        &hifazat_tests::offender_body("Shahid Mehmood"),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let offender = id_of(&body);
    // The alert reaches Punjab, the federal node and Karachi South (whose DPO opens it by break-glass) before
    // the pages there are looked at.
    assert!(
        wait_until(Duration::from_secs(30), || [punjab, federal, karachi_south]
            .iter()
            .all(|n| status_of(*n, &format!("/api/v1/alerts/{alert}")) == 200))
        .is_some(),
        "the alert did not reach Punjab, the federal node and Karachi South"
    );

    // A found child at Lahore who may be the child of an alert with a photo: the report with its possible match,
    // and the alert with its photo and the match, are pages too.
    let (status, body) = post_bytes(
        lahore,
        dpo,
        "/api/v1/photos?purpose=alert",
        &reference_photo("obama.jpg"),
    );
    assert_eq!(status, 201, "{body}");
    let photo: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut with_photo: serde_json::Value = serde_json::from_str(&alert_body(8)).unwrap();
    with_photo["photo_ref"] = photo["photo"].clone();
    let (status, body) = http_as(
        lahore,
        Some(dpo),
        "POST",
        "/api/v1/alerts",
        &with_photo.to_string(),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let photo_alert = id_of(&body);
    let (status, body) = post_bytes(
        lahore,
        dpo,
        "/api/v1/photos?purpose=found",
        &reference_photo("obama2.jpg"),
    );
    assert_eq!(status, 201, "{body}");
    let found_photo: serde_json::Value = serde_json::from_str(&body).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let report = format!(
        r#"{{"place":{{"district":"PB-LHR","lat":31.55,"lon":74.34,"text":"Data Darbar"}},"found_at_ms":{now},
            "apparent_age_years":6,"sex":"male","description":"Blue shirt","care":"police_station",
            "care_name":"Police Station Data Darbar","photos":[{}]}}"#,
        found_photo["photo"]
    );
    let (status, body) = http_as(lahore, Some(dpo), "POST", "/api/v1/found", &report).unwrap();
    assert_eq!(status, 201, "{body}");
    let found = id_of(&body);
    assert!(
        wait_until(Duration::from_secs(60), || {
            http_as(
                lahore,
                Some(dpo),
                "GET",
                &format!("/api/v1/found/{found}"),
                "",
            )
            .is_ok_and(|(_, b)| b.contains(&photo_alert))
        })
        .is_some(),
        "no possible match on the found child's report"
    );

    let shots = target_dir().join("browser-screenshots/offices");
    let config = serde_json::json!({
        "lahore": format!("http://{lahore}"),
        "punjab": format!("http://{punjab}"),
        "federal": format!("http://{federal}"),
        "karachiSouth": format!("http://{karachi_south}"),
        "tokens": tokens,
        "alert": alert,
        "case": case,
        "offender": offender,
        "found": found,
        "photoAlert": photo_alert,
        "cnic": "3510276543213",
        "cut": ["ip", "link", "set", cut.p2p_device(), "down"],
        "heal": ["ip", "link", "set", cut.p2p_device(), "up"],
        "shots": shots,
    });
    let checks = Command::new("node")
        .arg("offices.mjs")
        .arg(config.to_string())
        .current_dir(&browser_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Node.js (`node`) runs the browser checks");
    let pid = checks.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(checks.wait_with_output());
    });
    let Ok(output) = finished.recv_timeout(BROWSER_LIMIT) else {
        // Only the process this test started, by its id.
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("the browser checks took longer than {BROWSER_LIMIT:?}");
    };
    // Whatever happened to the link in the script, it is up again before the namespace goes.
    cut.link(true);
    let output = output.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "the browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(", 0 failures"), "{stdout}");
    eprintln!("screenshots in {}", shots.display());
}
