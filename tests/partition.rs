//! A real partition between real processes. The demo layout runs as separate `hifazat` processes: six on the
//! host side of a veth pair, Hyderabad inside a network namespace this test creates, reachable only over that
//! pair (its HTTP API is on a second pair, so the test can still talk to it). The test takes the link down,
//! writes alerts and cases on both sides, checks the cut is real, brings the link up and asserts that every
//! write reaches every node entitled to it within the stated bound, and no node outside a case's line. It removes
//! the namespace (and with it both pairs) when it ends, pass or fail.
//!
//! Nothing leaves the machine: while the test holds the namespace, each of its subnets has an `unreachable` route
//! behind the link's own, so with the host end down a packet for Hyderabad is refused at once rather than taking
//! the default route out of the machine; the test checks that a connection to the cut address fails that way.
//! It also checks that both sides declare each other gone within the documented limit
//! (`P2P_PEER_SILENT_MAX_MS`, checked every `SYNC_TICK_MS`).
//!
//! Needs root and iproute2 (CI runs as root); it fails, not skips, without them.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use hifazat_limits as limits;

use hifazat_tests::netns::{Cut, layout};
use hifazat_tests::{
    Stopper, alert_body_in, case_body, demo_tokens, exe, http_as, id_of, status_as, status_of,
    wait_until,
};

/// How long the federation may take to converge after the link comes back (the README states this bound).
const CONVERGENCE_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn a_district_cut_off_for_real_converges_after_the_heal() {
    let id = std::process::id() % 10_000;
    let net = id % 200 + 20;
    let cut = Cut::new(id, net);
    let dir = tempfile::tempdir().unwrap();
    let layout_file = dir.path().join("layout.toml");
    std::fs::write(&layout_file, layout(net, "hyderabad")).unwrap();
    let data = dir.path().join("data");
    let mut demo = Command::new(exe())
        .args(["demo", "--skip", "hyderabad", "--topology"])
        .arg(&layout_file)
        .arg("--data")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = demo.stdout.take().unwrap();
    let _demo = Stopper(demo);
    // The nodes share the demo's stdout: keep draining it.
    std::thread::spawn(move || std::io::copy(&mut { out }, &mut std::io::sink()));
    let host = |port: u16| -> SocketAddr { format!("10.213.{net}.1:{port}").parse().unwrap() };
    let nodes: Vec<(&str, SocketAddr)> = vec![
        ("federal", host(18080)),
        ("punjab", host(18081)),
        ("sindh", host(18082)),
        ("lahore", host(18083)),
        ("kasur", host(18084)),
        ("karachi-south", host(18085)),
        (
            "hyderabad",
            format!("10.214.{net}.2:18090").parse().unwrap(),
        ),
    ];
    let addr = |name: &str| nodes.iter().find(|(n, _)| *n == name).unwrap().1;
    // The demo sets Hyderabad up with the others; it runs inside the namespace. `ip netns exec` replaces itself
    // with the node, so this child is the node process.
    assert!(
        wait_until(Duration::from_secs(30), || data
            .join("hyderabad/topology.signed")
            .exists())
        .is_some(),
        "the demo did not set Hyderabad up"
    );
    let hyderabad = Command::new("ip")
        .args(["netns", "exec", &cut.ns, exe(), "serve", "--listen"])
        .arg(addr("hyderabad").to_string())
        .arg("--data")
        .arg(data.join("hyderabad"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _hyderabad = Stopper(hyderabad);
    let tokens = demo_tokens(&data);
    let token = |name: &str| tokens[name].clone();
    let connected = |name: &str, peer: &str| -> bool {
        http_as(addr(name), Some(&token(name)), "GET", "/api/v1/peers", "").is_ok_and(
            |(s, body)| {
                s == 200
                    && serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| {
                        v["peers"].as_array().is_some_and(|ps| {
                            ps.iter()
                                .any(|p| p["name"] == peer && p["connected"] == true)
                        })
                    })
            },
        )
    };
    assert!(
        wait_until(Duration::from_secs(30), || connected("hyderabad", "sindh")
            && connected("hyderabad", "federal"))
        .is_some(),
        "Hyderabad did not connect to its peers"
    );

    let post = |name: &str, path: &str, body: &str| -> String {
        let (status, text) = http_as(addr(name), Some(&token(name)), "POST", path, body).unwrap();
        assert_eq!(status, 201, "{name} {path}: {text}");
        id_of(&text)
    };
    // Cut Hyderabad off, and write on both sides.
    cut.link(false);
    // The cut address is refused on this machine at once: no route, rather than the default one out of it.
    let cut_address: SocketAddr = format!("10.213.{net}.2:19090").parse().unwrap();
    match TcpStream::connect_timeout(&cut_address, Duration::from_secs(5)) {
        Err(e) if e.kind() == ErrorKind::HostUnreachable => {}
        other => {
            panic!("a connection to the cut address {cut_address} did not fail at once: {other:?}")
        }
    }
    // Both sides declare the other gone within the documented limit (checked every tick; the rest is slack
    // for this test's own polling on a loaded machine).
    let gone_limit =
        Duration::from_millis(limits::P2P_PEER_SILENT_MAX_MS + limits::SYNC_TICK_MS + 3_000);
    let gone = wait_until(gone_limit, || {
        !connected("sindh", "hyderabad") && !connected("hyderabad", "sindh")
    });
    assert!(
        gone.is_some(),
        "Sindh and Hyderabad still see each other {gone_limit:?} after the cut"
    );
    eprintln!(
        "the cut was noticed on both sides after {:?}",
        gone.unwrap()
    );
    let mut alerts = Vec::new();
    let mut cases: Vec<(String, [&str; 3])> = Vec::new();
    for n in 0..5 {
        alerts.push(post(
            "hyderabad",
            "/api/v1/alerts",
            &alert_body_in("SD-HYD", 25.39, 68.36, n),
        ));
        alerts.push(post(
            "lahore",
            "/api/v1/alerts",
            &alert_body_in("PB-LHR", 31.55, 74.34, n),
        ));
        alerts.push(post(
            "karachi-south",
            "/api/v1/alerts",
            &alert_body_in("SD-KHS", 24.85, 67.01, n),
        ));
    }
    for n in 0..3 {
        cases.push((
            post("hyderabad", "/api/v1/cases", &case_body("SD-HYD", n)),
            ["hyderabad", "sindh", "federal"],
        ));
        // Filed at the province for one of its districts: it must reach Hyderabad, not the other districts.
        cases.push((
            post("sindh", "/api/v1/cases", &case_body("SD-HYD", 10 + n)),
            ["hyderabad", "sindh", "federal"],
        ));
        cases.push((
            post("lahore", "/api/v1/cases", &case_body("PB-LHR", 20 + n)),
            ["lahore", "punjab", "federal"],
        ));
    }
    // The cut is real: a few seconds on, nothing written on one side is on the other.
    std::thread::sleep(Duration::from_secs(3));
    for id in &alerts {
        let here = status_of(addr("hyderabad"), &format!("/api/v1/alerts/{id}"));
        let there = status_of(addr("sindh"), &format!("/api/v1/alerts/{id}"));
        assert!(here != there, "alert {id} is on both sides of the cut");
    }

    // Heal, and wait for every write to reach every node entitled to it.
    cut.link(true);
    let converged = wait_until(CONVERGENCE_LIMIT, || {
        alerts.iter().all(|id| {
            nodes
                .iter()
                .all(|(_, a)| status_of(*a, &format!("/api/v1/alerts/{id}")) == 200)
        }) && cases.iter().all(|(id, line)| {
            line.iter()
                .all(|n| status_as(addr(n), &token(n), &format!("/api/v1/cases/{id}")) == 200)
        })
    });
    let missing: Vec<String> = alerts
        .iter()
        .flat_map(|id| {
            nodes
                .iter()
                .filter(move |(_, a)| status_of(*a, &format!("/api/v1/alerts/{id}")) != 200)
                .map(move |(n, _)| format!("alert {id} at {n}"))
        })
        .chain(cases.iter().flat_map(|(id, line)| {
            line.iter()
                .filter(move |n| {
                    status_as(addr(n), &token(n), &format!("/api/v1/cases/{id}")) != 200
                })
                .map(move |n| format!("case {id} at {n}"))
        }))
        .collect();
    assert!(
        converged.is_some(),
        "not converged {CONVERGENCE_LIMIT:?} after the heal; missing: {missing:?}"
    );
    eprintln!("converged {:?} after the heal", converged.unwrap());
    // Cases stayed on their lines.
    for (id, line) in &cases {
        for (name, a) in &nodes {
            if !line.contains(name) {
                assert_eq!(
                    status_as(*a, &token(name), &format!("/api/v1/cases/{id}")),
                    404,
                    "case {id} reached {name}, outside its line"
                );
            }
        }
    }
}
