//! Kill -9 in mid-stream: `hifazat serve` runs as a real process, writers raise alerts over HTTP, the process is
//! killed with SIGKILL at a moment picked from a seed, restarted, and every alert whose creation was acknowledged
//! (201 with an id) must still be there. Many rounds, zero lost. Bounded: a fixed number of rounds, each with a
//! time limit, against 127.0.0.21 only.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hifazat_tests::{alert_body, exe, http, http_as, id_of, init, lahore_with_officer, start};

const ROUNDS: u64 = 12;
const WRITERS: usize = 4;
const HOST: &str = "127.0.0.21";

#[test]
fn acknowledged_alerts_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let token = lahore_with_officer(&data);

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut seed: u64 = 0x5eed;
    for round in 0..ROUNDS {
        let (mut child, addr) = start(HOST, &data);
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
                let (acked, stop, token) = (acked.clone(), stop.clone(), token.clone());
                std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(10);
                    let mut n = w * 1_000_000 + round as usize * 10_000;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        n += 1;
                        match http_as(addr, Some(&token), "POST", "/api/v1/alerts", &alert_body(n))
                        {
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
    let (mut child, addr) = start(HOST, &data);
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
