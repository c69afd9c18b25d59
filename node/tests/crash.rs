//! Kill -9 in mid-stream: `hifazat serve` runs as a real process, writers raise alerts over HTTP, the process is
//! killed with SIGKILL at a moment picked from a seed, restarted, and every alert whose creation was acknowledged
//! (201 with an id) must still be there. Many rounds, zero lost. Bounded: a fixed number of rounds, each with a
//! time limit, against 127.0.0.21 only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ROUNDS: u64 = 12;
const WRITERS: usize = 4;
const HOST: &str = "127.0.0.21";

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_hifazat")
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and body.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn start(data: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(exe())
        .args(["serve", "--listen", &format!("{HOST}:0"), "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hifazat serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("address in {line:?}"));
    (child, addr)
}

/// Runs `hifazat init` for a node of the demo topology.
fn init(node: &str, data: &Path) -> std::process::Output {
    Command::new(exe())
        .args([
            "init",
            "--topology",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../topology/demo.toml"),
        ])
        .args(["--node", node, "--data"])
        .arg(data)
        .output()
        .unwrap()
}

fn alert_body(n: usize) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!(
        r#"{{"child_name":"Child {n}","age_years":{},"sex":"female","description":"Round-trip {n}",
            "last_seen":{{"district":"PB-LHR","lat":31.55,"lon":74.34,"text":"Mall Road"}},
            "last_seen_at_ms":{now},"reporter":{{"name":"Parent","mobile":"03001234567"}},"channel":"helpline15"}}"#,
        n % 18
    )
}

fn id_of(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

#[test]
fn acknowledged_alerts_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    assert!(init("lahore", &data).status.success());

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut seed: u64 = 0x5eed;
    for round in 0..ROUNDS {
        let (mut child, addr) = start(&data);
        // Everything acknowledged before must be here after the restart.
        for id in acked.lock().unwrap().iter() {
            let (status, body) = http(addr, "GET", &format!("/api/v1/alerts/{id}"), "").unwrap();
            assert_eq!(
                status, 200,
                "round {round}: acknowledged alert {id} lost: {body}"
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (acked, stop) = (acked.clone(), stop.clone());
                std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(10);
                    let mut n = w * 1_000_000 + round as usize * 10_000;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        n += 1;
                        match http(addr, "POST", "/api/v1/alerts", &alert_body(n)) {
                            Ok((201, body)) => acked.lock().unwrap().push(id_of(&body)),
                            Ok((status, body)) => panic!("unexpected {status}: {body}"),
                            Err(_) => return, // the server is gone
                        }
                    }
                })
            })
            .collect();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(100 + (seed >> 33) % 400));
        child.kill().unwrap(); // SIGKILL, to the process this test started
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
    }
    let (mut child, addr) = start(&data);
    let ids = acked.lock().unwrap().clone();
    assert!(
        ids.len() > ROUNDS as usize * 10,
        "too few writes to mean anything: {}",
        ids.len()
    );
    for id in &ids {
        let (status, _) = http(addr, "GET", &format!("/api/v1/alerts/{id}"), "").unwrap();
        assert_eq!(status, 200, "acknowledged alert {id} lost");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let verify = Command::new(exe())
        .args(["log", "verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "log verify failed: {stdout}");
    assert!(stdout.contains("failures: 0"), "{stdout}");
    eprintln!(
        "{} acknowledged alerts over {ROUNDS} kills, none lost",
        ids.len()
    );
}

#[test]
fn init_guards_the_node_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    assert!(init("kasur", &data).status.success());
    // A second init refuses to overwrite the key.
    let again = init("kasur", &data);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("node.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // An unknown node is refused with the list of known ones.
    let unknown = init("quetta", &dir.path().join("other"));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("has no node `quetta`"));
}
