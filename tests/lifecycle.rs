//! `hifazat serve` as a service manager runs it, against 127.0.0.31 only:
//! - SIGTERM stops it cleanly: it takes no new connections, a request already under way is answered, live event
//!   streams end, the process exits with status 0 (not killed by the signal), and everything it answered is in its
//!   store afterwards, which `hifazat log verify` passes;
//! - its log written to a pipe carries no terminal colour codes.
//!
//! Bounded: 30 s for the node to come up and for each step.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use hifazat_tests::{
    alert_body, exe, http, http_as, id_of, init, lahore_with_officer, start, wait_until,
};

const HOST: &str = "127.0.0.31";

/// Sends SIGTERM to the process with this id (one this test started).
fn terminate(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_finishes_the_answers_in_flight_and_exits_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lahore");
    let token = lahore_with_officer(&data);
    let (mut node, addr) = start(HOST, &data);
    let (status, body) =
        http_as(addr, Some(&token), "POST", "/api/v1/alerts", &alert_body(1)).unwrap();
    assert_eq!(status, 201, "{body}");
    let first = id_of(&body);

    // A live stream, open when the signal comes; it must not hold the node up.
    let mut live = TcpStream::connect(addr).unwrap();
    live.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        live,
        "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    // A request under way: its headers and half its body sent.
    let body = alert_body(2);
    let (head, tail) = body.split_at(body.len() / 2);
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        slow,
        "POST /api/v1/alerts HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    slow.flush().unwrap();
    // Let the node read the headers before the signal.
    std::thread::sleep(Duration::from_millis(300));

    terminate(node.id());
    // The node stops taking connections once it has the signal.
    assert!(
        wait_until(Duration::from_secs(30), || TcpStream::connect_timeout(
            &addr,
            Duration::from_secs(1)
        )
        .is_err())
        .is_some(),
        "still taking connections after SIGTERM"
    );
    // The request under way is finished and answered.
    slow.write_all(tail.as_bytes()).unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let second = id_of(answer.split_once("\r\n\r\n").unwrap().1);
    // The live stream ended rather than keep the node up.
    let mut rest = Vec::new();
    let _ = live.read_to_end(&mut rest);

    let exit = wait_until(Duration::from_secs(30), || {
        node.try_wait().unwrap().is_some()
    });
    assert!(
        exit.is_some(),
        "the node did not stop within 30 s of SIGTERM"
    );
    let status = node.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");

    // Everything answered is in the store, and the store verifies.
    let verify = Command::new(exe())
        .args(["log", "verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{report}");
    assert!(report.contains("failures: 0"), "{report}");
    let (mut node, addr) = start(HOST, &data);
    for id in [&first, &second] {
        let (status, _) = http(addr, "GET", &format!("/api/v1/alerts/{id}"), "").unwrap();
        assert_eq!(status, 200, "alert {id} lost across the stop");
    }
    terminate(node.id());
    assert_eq!(node.wait().unwrap().code(), Some(0));
}

#[test]
fn logs_in_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kasur");
    assert!(init("kasur", &data).status.success());
    // A node without a signed topology warns at start-up; its standard error is a pipe here.
    let mut node = Command::new(exe())
        .args(["serve", "--listen", &format!("{HOST}:0"), "--data"])
        .arg(&data)
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = node.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    std::thread::sleep(Duration::from_secs(2));
    terminate(node.id());
    let status = node.wait().unwrap();
    let text = reader.join().unwrap();
    assert!(
        text.contains("no signed topology installed"),
        "the warning is missing: {text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "terminal escape codes in a piped log: {text:?}"
    );
    assert_eq!(status.code(), Some(0), "{status:?}");
}
