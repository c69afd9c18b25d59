//! The README's first command: `hifazat demo` starts the seven demo nodes as processes on 127.0.0.2-8, each
//! serving under the signed topology it installed; they connect and sync (an alert raised at one district
//! reaches every node, a case reaches only its line); the root's verifier key is written for auditors and named
//! on every run; `--capture` makes its directory; SIGTERM stops them all. Bounded: 30 s to come up, 30 s for each
//! record to spread.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hifazat_tests::{
    Stopper, alert_body, case_body, demo_names, demo_tokens, exe, http, http_as, id_of, status_as,
    status_of, wait_until,
};

/// Starts `hifazat demo` with `args`, and returns it with the lines it printed before "Ctrl-C …".
fn start_demo(args: &[&std::ffi::OsStr]) -> (Stopper, Vec<String>) {
    let mut demo = Command::new(exe())
        .arg("demo")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(demo.stdout.take().unwrap()).lines();
    let demo = Stopper(demo);
    let lines: Vec<String> = reader
        .by_ref()
        .map(|l| l.unwrap())
        .take_while(|l| !l.starts_with("Ctrl-C"))
        .collect();
    // The nodes write to the same pipe: keep draining it, or their writes would fail.
    std::thread::spawn(move || reader.for_each(drop));
    (demo, lines)
}

/// Waits until nothing answers at `addrs` (10 s at most).
fn assert_stopped(addrs: &[SocketAddr]) {
    for addr in addrs {
        let deadline = Instant::now() + Duration::from_secs(10);
        while http(*addr, "GET", "/healthz", "").is_ok() {
            assert!(
                Instant::now() < deadline,
                "{addr} still serving after the demo stopped"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn demo_starts_seven_signed_nodes_and_stops_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    // A capture directory that does not exist yet, two levels deep.
    let capture = dir.path().join("wire").join("first");
    let (mut demo, lines) = start_demo(&[
        "--data".as_ref(),
        data.as_os_str(),
        "--capture".as_ref(),
        capture.as_os_str(),
    ]);
    let out = lines.join("\n");
    assert!(
        out.contains("demo topology signed by hifazat.demo/root+"),
        "{out}"
    );
    // Where to open the public pages: a district node's home page, which answers with a page.
    let portal = lines
        .iter()
        .find_map(|l| l.strip_prefix("Open the public pages in a browser: http://"))
        .and_then(|rest| rest.split('/').next())
        .map(|a| a.parse::<SocketAddr>().unwrap())
        .unwrap_or_else(|| panic!("no portal address in {out}"));
    // The root's verifier key, for auditors, is the key every node trusts, and the demo says where it is.
    let root_pub = data.join("root.pub");
    assert!(
        out.contains(&format!(
            "The root's verifier key is in {} (for `hifazat audit verify --root`).",
            root_pub.display()
        )),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&root_pub).unwrap(),
        std::fs::read_to_string(data.join("federal").join("root.pub")).unwrap()
    );
    let addrs: Vec<SocketAddr> = lines
        .iter()
        // The table's lines; the nodes' own "listening on" lines share the pipe and may come first.
        .filter(|l| l.ends_with("/healthz"))
        .filter_map(|l| l.split("http://").nth(1))
        .map(|a| a.trim_end_matches("/healthz").parse().unwrap())
        .collect();
    assert_eq!(addrs.len(), 7, "{out}");
    let deadline = Instant::now() + Duration::from_secs(30);
    for addr in &addrs {
        loop {
            match http(*addr, "GET", "/healthz", "") {
                Ok((200, _)) => break,
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                other => panic!("{addr} not up: {other:?}"),
            }
        }
    }
    // The seven nodes share the machine's cores for their network and API threads, at least one each.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = (cores / 7).max(1).to_string();
    // The demo's child processes, whichever of its threads started them.
    let mut children = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{}/task", demo.0.id())).unwrap() {
        let listed = std::fs::read_to_string(task.unwrap().path().join("children")).unwrap();
        children.extend(listed.split_whitespace().map(str::to_owned));
    }
    assert_eq!(children.len(), 7, "{children:?}");
    for child in children {
        let args = std::fs::read_to_string(format!("/proc/{child}/cmdline")).unwrap();
        let args: Vec<&str> = args.split('\0').collect();
        let at = args.iter().position(|a| *a == "--threads");
        assert_eq!(at.map(|i| args[i + 1]), Some(threads.as_str()), "{args:?}");
    }
    // Each node holds the same signed topology, and the root key stayed with the demo's data.
    let signed = std::fs::read(data.join("topology.signed")).unwrap();
    for node in ["federal", "lahore", "hyderabad"] {
        assert_eq!(
            std::fs::read(data.join(node).join("topology.signed")).unwrap(),
            signed
        );
    }
    let (status, home) = http(portal, "GET", "/", "").unwrap();
    assert_eq!(status, 200, "{home}");
    assert!(home.contains("<html lang=\"en\" dir=\"ltr\">"), "{home}");
    // Federation: an alert raised at Lahore reaches every node; a case filed at Karachi South reaches Sindh and
    // the federal node, and no one else.
    let names = demo_names();
    let node = |name: &str| addrs[names.iter().position(|n| n == name).unwrap()];
    let tokens = demo_tokens(&data);
    let token = |name: &str| tokens[name].clone();
    let (status, body) = http_as(
        node("lahore"),
        Some(&token("lahore")),
        "POST",
        "/api/v1/alerts",
        &alert_body(1),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let alert = id_of(&body);
    let spread = wait_until(Duration::from_secs(30), || {
        addrs
            .iter()
            .all(|a| status_of(*a, &format!("/api/v1/alerts/{alert}")) == 200)
    });
    assert!(spread.is_some(), "the alert did not reach every node");
    let (status, body) = http_as(
        node("karachi-south"),
        Some(&token("karachi-south")),
        "POST",
        "/api/v1/cases",
        &case_body("SD-KHS", 1),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let case = id_of(&body);
    let line = wait_until(Duration::from_secs(30), || {
        ["sindh", "federal"]
            .iter()
            .all(|n| status_as(node(n), &token(n), &format!("/api/v1/cases/{case}")) == 200)
    });
    assert!(
        line.is_some(),
        "the case did not reach its province and the federal node"
    );
    for outside in ["punjab", "lahore", "kasur", "hyderabad"] {
        assert_eq!(
            status_as(
                node(outside),
                &token(outside),
                &format!("/api/v1/cases/{case}")
            ),
            404,
            "{outside} holds a case outside its line"
        );
    }
    let (status, _) = http(node("lahore"), "GET", "/api/v1/peers", "").unwrap();
    assert_eq!(status, 401, "peers are for officials");
    let (status, body) = http_as(
        node("lahore"),
        Some(&token("lahore")),
        "GET",
        "/api/v1/peers",
        "",
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let peers: serde_json::Value = serde_json::from_str(&body).unwrap();
    let connected: Vec<&str> = peers["peers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["connected"] == true)
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        connected.contains(&"punjab") && connected.contains(&"federal"),
        "{body}"
    );
    // Every node's traffic went to the capture directory the demo made.
    for name in &names {
        let wire = capture.join(format!("{name}.wire"));
        assert!(
            std::fs::metadata(&wire).is_ok_and(|m| m.len() > 0),
            "{} is missing or empty",
            wire.display()
        );
    }
    // SIGTERM to the demo process this test started: it stops every node it started.
    demo.stop();
    assert_stopped(&addrs);
    // A later run on the same data writes the root's verifier key again and says where it is.
    std::fs::remove_file(&root_pub).unwrap();
    let (mut demo, lines) = start_demo(&["--data".as_ref(), data.as_os_str()]);
    let out = lines.join("\n");
    assert!(
        !out.contains("demo topology signed by"),
        "signed again on a later run: {out}"
    );
    assert!(
        out.contains(&format!(
            "The root's verifier key is in {}",
            root_pub.display()
        )),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&root_pub).unwrap(),
        std::fs::read_to_string(data.join("lahore").join("root.pub")).unwrap()
    );
    demo.stop();
    assert_stopped(&addrs);
}

#[test]
fn serve_refuses_a_thread_count_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "257", "many"] {
        let out = Command::new(exe())
            .args(["serve", "--data"])
            .arg(dir.path())
            .args(["--threads", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--threads {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--threads") && err.contains(bad),
            "--threads {bad}: {err}"
        );
    }
}
