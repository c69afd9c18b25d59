//! Helpers shared by the system tests beside this crate (`tests/*.rs`), which run `hifazat` as real processes:
//! finding the binary, starting nodes and demos, HTTP requests over real sockets, request bodies, waiting with a
//! bound, and stopping exactly the processes a test started. `tests/README.md` says what each test proves.

pub mod netns;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `hifazat` binary under test: `HIFAZAT_BIN` when set, else this checkout's binary, built first (by cargo,
/// once per test process) in the same profile and target directory as the running test, so a test never runs a
/// stale binary. The build names the whole workspace, so its features are those `cargo test --workspace` built
/// with and nothing is compiled twice.
pub fn exe() -> &'static str {
    static EXE: OnceLock<String> = OnceLock::new();
    EXE.get_or_init(|| {
        if let Some(bin) = std::env::var_os("HIFAZAT_BIN") {
            return bin.into_string().expect("HIFAZAT_BIN is not UTF-8");
        }
        build_hifazat().display().to_string()
    })
}

/// The directory the running test was built in (`<target>/<profile>`, from `<target>/<profile>/deps/<test>`).
fn profile_dir() -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    test.parent()
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps")
        .to_owned()
}

/// The cargo target directory the running test was built in (for what tests leave for people to look at, such
/// as screenshots; git ignores it).
pub fn target_dir() -> PathBuf {
    profile_dir()
        .parent()
        .expect("a target directory")
        .to_owned()
}

/// Builds `hifazat` beside the running test (`<target>/<profile>/deps/<test>` → `<target>/<profile>/hifazat`).
fn build_hifazat() -> PathBuf {
    let profile_dir = profile_dir();
    let target_dir = target_dir();
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a profile directory");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args([
            "build",
            "--quiet",
            "--locked",
            "--workspace",
            "--bin",
            "hifazat",
        ])
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    match profile {
        "debug" => {}
        "release" => {
            cargo.arg("--release");
        }
        other => {
            cargo.args(["--profile", other]);
        }
    }
    let status = cargo.status().expect("running cargo to build hifazat");
    assert!(status.success(), "building hifazat failed: {status}");
    let bin = profile_dir.join("hifazat");
    assert!(bin.exists(), "{} is missing after the build", bin.display());
    bin
}

/// One HTTP/1.1 request with `Connection: close`, as the public; returns the status and body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    http_as(addr, None, method, path, body)
}

/// One HTTP/1.1 request with `Connection: close`, carrying `token` when given; returns the status and body.
pub fn http_as(
    addr: SocketAddr,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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

/// POSTs raw bytes (a photo) with `token`; the status and the body as text.
pub fn post_bytes(addr: SocketAddr, token: &str, path: &str, bytes: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    )
    .unwrap();
    stream.write_all(bytes).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// GETs `path` as bytes: the status and the body.
pub fn get_bytes(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return (0, Vec::new());
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (0, Vec::new());
    };
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response[split + 4..].to_vec())
}

/// A reference photograph (face_recognition 1.3.0's test images, which `scripts/faces/reference.sh` puts in
/// `target/faces/photos`; the test command runs it first).
pub fn reference_photo(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/faces/photos"
    ));
    std::fs::read(dir.join(name)).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run `bash scripts/faces/reference.sh` first (scripts/test.sh does)",
            dir.join(name).display()
        )
    })
}

pub fn start(host: &str, data: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(exe())
        .args(["serve", "--listen", &format!("{host}:0"), "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hifazat serve");
    // A node with a signed topology first reports its peer-to-peer address; the HTTP line follows.
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("listening on http://") {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("hifazat serve ended before it listened");
        }
    }
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("address in {line:?}"));
    (child, addr)
}

/// The text of a signed note (a signed topology): everything before the blank line that leads its signatures.
pub fn note_text(signed: &[u8]) -> String {
    let text = String::from_utf8(signed.to_vec()).unwrap();
    let at = text.find("\n\n\u{2014} ").expect("a signed note");
    text[..=at].to_owned()
}

/// The demo layout's node names, in its order.
pub fn demo_names() -> Vec<String> {
    hifazat_topology::Topology::parse(include_str!("../../topology/demo.toml"))
        .unwrap()
        .nodes
        .into_iter()
        .map(|n| n.name)
        .collect()
}

/// The demo layout's node names, in the order of their addresses (127.0.0.2 up).
pub const DEMO: [&str; 7] = [
    "federal",
    "punjab",
    "sindh",
    "lahore",
    "kasur",
    "karachi-south",
    "hyderabad",
];

/// The address of demo node `name` in the layout moved to start at 127.0.0.`base` ([`moved_layout`]).
pub fn moved_host(base: u8, name: &str) -> String {
    let i = DEMO.iter().position(|n| *n == name).unwrap();
    format!("127.0.0.{}", usize::from(base) + i)
}

/// The demo layout with every node moved from 127.0.0.(2 + i) to 127.0.0.(`base` + i), so tests running at once
/// do not share addresses.
pub fn moved_layout(base: u8) -> String {
    let mut text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../topology/demo.toml"
    ))
    .unwrap();
    for (i, _) in DEMO.iter().enumerate() {
        text = text.replacen(
            &format!("host = \"127.0.0.{}\"", 2 + i),
            &format!("host = \"127.0.0.{}\"", usize::from(base) + i),
            1,
        );
    }
    text
}

/// Waits (30 s at most) until a `hifazat demo` writing into `data` has set every node up (its tokens are written
/// last).
pub fn wait_for_demo_setup(data: &Path) {
    assert!(
        wait_until(Duration::from_secs(30), || data
            .join("demo-tokens.json")
            .exists())
        .is_some(),
        "the demo did not set up"
    );
}

/// Starts `hifazat demo` on the layout in `layout`, writing into `data`, without the nodes in `skip` (the test
/// runs those itself), its output discarded; waits until it has set every node up.
pub fn demo_without(layout: &Path, data: &Path, skip: &[&str]) -> Stopper {
    let mut demo = Command::new(exe());
    demo.args(["demo", "--topology"])
        .arg(layout)
        .arg("--data")
        .arg(data);
    for name in skip {
        demo.args(["--skip", name]);
    }
    let demo = Stopper(
        demo.stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_demo_setup(data);
    demo
}

/// Starts `hifazat serve` for node `name` of a demo's data directory, with `args` after `--data`, its output
/// appended to `<data>/logs/<name>.out` and `.err` at log level `rust_log`, and waits until it answers at `addr`
/// (at most 30 s).
pub fn serve_logged(
    data: &Path,
    name: &str,
    addr: SocketAddr,
    args: &[std::ffi::OsString],
    rust_log: &str,
) -> Stopper {
    let logs = data.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let append = |file: String| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(file))
            .unwrap()
    };
    let child = Command::new(exe())
        .args(["serve", "--data"])
        .arg(data.join(name))
        .args(args)
        .env("RUST_LOG", rust_log)
        .stdout(append(format!("{name}.out")))
        .stderr(append(format!("{name}.err")))
        .spawn()
        .unwrap();
    let node = Stopper(child);
    assert!(
        wait_until(Duration::from_secs(30), || http(
            addr, "GET", "/healthz", ""
        )
        .is_ok_and(|(s, _)| s == 200))
        .is_some(),
        "{name} did not come up"
    );
    node
}

/// Runs `hifazat init` for a node of the demo topology.
pub fn init(node: &str, data: &Path) -> std::process::Output {
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

/// Makes node `lahore` of the demo layout in `data`, alone (no signed topology), with one station officer of
/// Lahore; returns the officer's token.
pub fn lahore_with_officer(data: &Path) -> String {
    let out = init("lahore", data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    add_user(
        data,
        &[
            "--role",
            "station_officer",
            "--name",
            "Officer",
            "--district",
            "PB-LHR",
        ],
    )
}

pub fn alert_body(n: usize) -> String {
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

pub fn id_of(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

/// A body for `POST /api/v1/cases` in `district`; anonymous.
pub fn case_body(district: &str, n: usize) -> String {
    format!(
        r#"{{"category":"harassment","district":"{district}","description":"Case {n}: followed from school",
            "channel":"helpline1099"}}"#
    )
}

/// An alert body last seen in `district` at (`lat`, `lon`).
pub fn alert_body_in(district: &str, lat: f64, lon: f64, n: usize) -> String {
    alert_body(n)
        .replace("\"PB-LHR\"", &format!("\"{district}\""))
        .replace("\"lat\":31.55", &format!("\"lat\":{lat}"))
        .replace("\"lon\":74.34", &format!("\"lon\":{lon}"))
}

/// A process a test started, stopped with SIGTERM (so a `hifazat demo` stops its nodes too) when the test ends,
/// whether it passes or fails. Only this process, by its own id.
#[derive(Debug)]
pub struct Stopper(pub Child);

impl Stopper {
    pub fn stop(&mut self) {
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

/// Polls `check` every 100 ms until it holds or `limit` passes; returns how long it took.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = std::time::Instant::now();
    loop {
        if check() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The status of `GET path` at `addr` (0 if the node does not answer).
pub fn status_of(addr: SocketAddr, path: &str) -> u16 {
    http(addr, "GET", path, "").map_or(0, |(s, _)| s)
}

/// The status of a GET made with `token`; 0 when the node does not answer.
pub fn status_as(addr: SocketAddr, token: &str, path: &str) -> u16 {
    http_as(addr, Some(token), "GET", path, "").map_or(0, |(s, _)| s)
}

/// The demo officials' tokens (`demo-tokens.json` in a demo's data directory), by node name.
pub fn demo_tokens(data: &Path) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(data.join("demo-tokens.json")).expect("the demo's tokens");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(node, o)| (node.clone(), o["token"].as_str().unwrap().to_owned()))
        .collect()
}

/// Adds an API user to a node with `hifazat user add` (`args` after `--data`), and returns the printed token.
pub fn add_user(data: &Path, args: &[&str]) -> String {
    let out = Command::new(exe())
        .args(["user", "add", "--data"])
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.split_once("token (shown once; keep it secret): "))
        .map(|(_, t)| t.trim().to_owned())
        .expect("a token line")
}

/// A register entry as a register officer posts it.
pub fn offender_body(name: &str) -> String {
    format!(
        r#"{{"cnic":"35102-7654321-3","name":"{name}","parentage":{{"relation":"son_of","name":"Ghulam Rasool"}},
        "convictions":[{{"offence":"s.376 PPC","court":"Anti-Rape Special Court Kasur","date":"2022-03-14","sentence":"10 years"}}],
        "address":{{"address":"Mohalla Rasheedabad Kasur","district":"PB-KSR","since":"2019-06-01"}}}}"#
    )
}
