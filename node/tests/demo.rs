//! The README's first command: `hifazat demo` starts the seven demo nodes as processes on 127.0.0.2-8, each
//! serving under the signed topology it installed, and stops them all on SIGTERM. Bounded: 30 s to come up.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{exe, http};

/// The demo process this test started. Stopped with SIGTERM, so it stops its nodes, also when the test fails.
struct Stopper(std::process::Child);

impl Stopper {
    fn stop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = Command::new("kill").arg(self.0.id().to_string()).status();
            let _ = self.0.wait();
        }
    }
}

impl Drop for Stopper {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn demo_starts_seven_signed_nodes_and_stops_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    let mut demo = Command::new(exe())
        .args(["demo", "--data"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(demo.stdout.take().unwrap()).lines();
    let mut demo = Stopper(demo);
    let lines: Vec<String> = reader
        .by_ref()
        .map(|l| l.unwrap())
        .take_while(|l| !l.starts_with("Ctrl-C"))
        .collect();
    // The nodes write to the same pipe: keep draining it, or their writes would fail.
    std::thread::spawn(move || reader.for_each(drop));
    let out = lines.join("\n");
    assert!(
        out.contains("demo topology signed by hifazat.demo/root+"),
        "{out}"
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
    // Each node holds the same signed topology, and the root key stayed with the demo's data.
    let signed = std::fs::read(data.join("topology.signed")).unwrap();
    for node in ["federal", "lahore", "hyderabad"] {
        assert_eq!(
            std::fs::read(data.join(node).join("topology.signed")).unwrap(),
            signed
        );
    }
    // SIGTERM to the demo process this test started: it stops every node it started.
    demo.stop();
    for addr in &addrs {
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
