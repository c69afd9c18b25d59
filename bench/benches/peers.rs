//! Hifazat beside the systems users would deploy instead for offline-capable, replicated case records, measured
//! side by side in one run with the same records and the same durability: CouchDB's replication protocol
//! (`pouchdb-server`, as shipped and with every write synced), automerge-repo with its websocket network and a
//! storage that syncs, PostgreSQL 15 logical replication, and Hifazat as a district node and its province node.
//!
//! Each system runs alone: node A on core 0 and node B on core 1 (`taskset`), on loopback (A on 127.0.0.153, B on
//! 127.0.0.154), with every byte between them passing through one counting relay (127.0.0.151, and .152 for
//! Hifazat, whose nodes both dial). The records: one seeded missing-child alert of about 1 KiB each, one per
//! document or row. Measured for each system:
//! - write to readable: one write on A until B announces it (its live stream: Hifazat's event stream, CouchDB's
//!   changes feed, automerge-repo's sync events, a `NOTIFY` from a trigger on PostgreSQL's subscriber), p50, p95,
//!   p99 over 1,000 writes 50 ms apart;
//! - ingest: writes acknowledged per second on A, one client and then 64, each write answered only when durable
//!   (except CouchDB as shipped), and B's lag: from the last answer until B holds every record;
//! - catch-up: B stopped, 10,000 records written on A, B started: from B's start until it holds every record, and
//!   the bytes the relay carried;
//! - disk per record on A and on B (allocated blocks of each node's data, nodes stopped, over every record);
//! - syncs per write: `strace -c` of A over 200 more one-client writes (fsync, fdatasync and sync_file_range
//!   calls).
//!
//! `bash bench/peers/run.sh` installs the peers and runs this (it needs PostgreSQL 15, strace, node and npm;
//! bench/peers/README.md). Arguments after `--`: system names to run only those (`hifazat`, `couchdb`,
//! `couchdb-synced`, `automerge`, `postgres`), `--quick` for a tenth of every count (a trial, not a figure).
//! The table goes to standard output and `target/peers/table.md`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hifazat_bench::wire::{Http, Relay, Side, follow, follow_alerts};
use hifazat_bench::{Rng, hifazat_binary};

const A_HOST: &str = "127.0.0.153";
const B_HOST: &str = "127.0.0.154";
/// The relay's address towards A (B dials it), and towards B (Hifazat's A dials it too).
const RELAY_A: &str = "127.0.0.151";
const RELAY_B: &str = "127.0.0.152";
/// The relay listens on each system's port plus this: libp2p binds the sockets it dials from to its own listening
/// port on every address, which a relay on that port would hold.
const RELAYED: u16 = 100;
/// Where the peers' npm packages and scripts are.
const PEERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peers");
const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin";
/// How long any one wait (a node coming up, a record arriving, B catching up) may take before the run fails.
const WAIT_MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Counts {
    warm: u64,
    latency: u64,
    gap: Duration,
    ingest_one: u64,
    ingest_many: u64,
    clients: usize,
    catch_up: u64,
    traced: u64,
}

impl Counts {
    fn full() -> Counts {
        Counts {
            warm: 20,
            latency: 1_000,
            gap: Duration::from_millis(50),
            ingest_one: 2_000,
            ingest_many: 10_000,
            clients: 64,
            catch_up: 10_000,
            traced: 200,
        }
    }

    fn quick() -> Counts {
        let full = Counts::full();
        Counts {
            latency: full.latency / 10,
            ingest_one: full.ingest_one / 10,
            ingest_many: full.ingest_many / 10,
            catch_up: full.catch_up / 10,
            traced: full.traced / 4,
            ..full
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hifazat,
    Couch { synced: bool },
    Automerge,
    Postgres,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Hifazat,
        Kind::Couch { synced: false },
        Kind::Couch { synced: true },
        Kind::Automerge,
        Kind::Postgres,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Hifazat => "hifazat",
            Kind::Couch { synced: false } => "couchdb",
            Kind::Couch { synced: true } => "couchdb-synced",
            Kind::Automerge => "automerge",
            Kind::Postgres => "postgres",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Hifazat => "Hifazat (district → province; signed, Merkle trees, encrypted link)",
            Kind::Couch { synced: false } => {
                "CouchDB protocol: pouchdb-server 4.2.0, as shipped (no sync)"
            }
            Kind::Couch { synced: true } => {
                "CouchDB protocol: pouchdb-server 4.2.0, every write synced"
            }
            Kind::Automerge => "automerge-repo 2.5.6, websocket, synced file storage",
            Kind::Postgres => "PostgreSQL 15 logical replication",
        }
    }

    fn port(self) -> u16 {
        match self {
            Kind::Hifazat | Kind::Automerge => 9080,
            Kind::Couch { .. } => 5984,
            Kind::Postgres => 5432,
        }
    }
}

/// A record: its key on the peers, and its body (a missing-child alert as Hifazat's API takes one, about 1 KiB),
/// the same for every system. Its free text is made of words from a seeded generator (common words among made-up
/// ones of two to four syllables), so that it compresses about as much as written prose does and no more (gzip
/// takes the records to about a third of their size, as it does prose; the run prints the figure), where text of a
/// few repeated words would flatter every system that compresses on the wire or on disk.
fn record(n: u64) -> (String, serde_json::Value) {
    const COMMON: [&str; 24] = [
        "the", "a", "was", "seen", "near", "with", "her", "his", "and", "in", "at", "of",
        "wearing", "school", "bazaar", "mother", "father", "road", "shop", "bus", "red", "blue",
        "black", "white",
    ];
    const SYLLABLES: [&str; 32] = [
        "ka", "ra", "ma", "na", "sa", "ta", "la", "ha", "za", "ba", "da", "ga", "ja", "pa", "fa",
        "ya", "ki", "ri", "mi", "ni", "si", "ti", "li", "hi", "ku", "ru", "mu", "nu", "su", "tu",
        "lu", "hu",
    ];
    let mut rng = Rng::of(n);
    let word = |rng: &mut Rng| -> String {
        if rng.below(10) < 4 {
            return COMMON[rng.below(COMMON.len() as u64) as usize].to_owned();
        }
        (0..2 + rng.below(3))
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
            .collect()
    };
    let text = |rng: &mut Rng, chars: usize| -> String {
        let mut out = String::new();
        while out.len() < chars {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&word(rng));
        }
        out
    };
    let description = text(&mut rng, 700);
    let place = text(&mut rng, 30);
    let child = format!("{} {}", text(&mut rng, 5), text(&mut rng, 6));
    let reporter = text(&mut rng, 8);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let key = format!("r{n:08}");
    let body = serde_json::json!({
        "child_name": child,
        "age_years": 3 + rng.below(12),
        "sex": if rng.below(2) == 0 { "female" } else { "male" },
        "description": description,
        "last_seen": {
            "district": "PB-LHR",
            "lat": 31.45 + rng.below(2_000) as f64 / 10_000.0,
            "lon": 74.25 + rng.below(2_000) as f64 / 10_000.0,
            "text": place
        },
        "last_seen_at_ms": now - 60_000 - rng.below(3_600_000),
        "reporter": {"name": reporter, "mobile": format!("0300{:07}", rng.below(10_000_000))},
        "channel": "helpline1099"
    });
    (key, body)
}

/// The records' size as JSON, and gzip's share of it (`gzip -6`), over the first `count`.
fn record_sizes(count: u64) -> (f64, f64) {
    let mut json = Vec::new();
    for n in 0..count {
        json.extend_from_slice(record(n).1.to_string().as_bytes());
    }
    let mut gzip = Command::new("gzip")
        .arg("-6c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut input = gzip.stdin.take().expect("gzip's input");
    let writer = std::thread::spawn(move || input.write_all(&json).map(|()| json.len()));
    let out = gzip.wait_with_output().expect("gzip's output");
    let size = writer.join().expect("writer").expect("write to gzip");
    (
        size as f64 / count as f64,
        out.stdout.len() as f64 / size as f64,
    )
}

/// How a client reaches node A to write.
#[derive(Debug, Clone)]
enum Target {
    Hifazat { addr: SocketAddr, token: String },
    Couch { addr: SocketAddr },
    Automerge { addr: SocketAddr },
    Postgres { config: String },
}

/// One client of node A.
enum Writer {
    Http(Http, Target),
    Postgres(postgres::Client, postgres::Statement),
}

impl Target {
    fn connect(&self) -> Writer {
        match self {
            Target::Hifazat { addr, token } => Writer::Http(
                Http::open(*addr, token).expect("connect to A"),
                self.clone(),
            ),
            Target::Couch { addr } | Target::Automerge { addr } => {
                Writer::Http(Http::open(*addr, "").expect("connect to A"), self.clone())
            }
            Target::Postgres { config } => {
                let mut client =
                    postgres::Client::connect(config, postgres::NoTls).expect("connect to A");
                let insert = client
                    .prepare("INSERT INTO records (id, body) VALUES ($1, CAST($2::text AS jsonb))")
                    .expect("prepare");
                Writer::Postgres(client, insert)
            }
        }
    }
}

impl Writer {
    /// Writes record `n`; returns the key B will announce it by once A has acknowledged it.
    fn write(&mut self, n: u64) -> String {
        let (key, body) = record(n);
        match self {
            Writer::Http(http, Target::Hifazat { .. }) => {
                let (status, answer) = http
                    .request("POST", "/api/v1/alerts", &body.to_string())
                    .expect("POST an alert");
                let answer = String::from_utf8_lossy(&answer);
                assert_eq!(status, 201, "Hifazat's answer: {answer}");
                let answer: serde_json::Value = serde_json::from_str(&answer).expect("json");
                answer["id"].as_str().expect("an id").to_owned()
            }
            Writer::Http(http, Target::Couch { .. }) => {
                let (status, answer) = http
                    .request("PUT", &format!("/records/{key}"), &body.to_string())
                    .expect("PUT a document");
                assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
                key
            }
            Writer::Http(http, _) => {
                let mut body = body;
                body["id"] = key.clone().into();
                let (status, answer) = http
                    .request("POST", "/records", &body.to_string())
                    .expect("POST a record");
                assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
                key
            }
            Writer::Postgres(client, insert) => {
                client
                    .execute(&*insert, &[&key, &body.to_string()])
                    .expect("INSERT");
                key
            }
        }
    }
}

/// One system under measurement: its two nodes, the relay between them, and what B announces.
struct Peer {
    kind: Kind,
    dir: PathBuf,
    relay: Relay,
    a: Option<Child>,
    b: Option<Child>,
    target: Target,
    /// Hifazat: the province's token (to count what B holds).
    b_token: String,
    seen_tx: mpsc::Sender<(String, Instant)>,
    seen: mpsc::Receiver<(String, Instant)>,
    /// automerge-repo: records B has announced since it started.
    announced: Arc<AtomicU64>,
    /// PostgreSQL: a connection to B, for counting.
    b_client: Option<postgres::Client>,
}

fn addr(host: &str, port: u16) -> SocketAddr {
    format!("{host}:{port}").parse().expect("an address")
}

/// Waits until `ready` holds, checking every 20 ms, for at most [`WAIT_MAX`]; panics with `what` after that.
fn wait(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_MAX;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {WAIT_MAX:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A command run on one core (`taskset`).
fn pinned(core: usize, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("taskset");
    command
        .arg("-c")
        .arg(core.to_string())
        .arg(program)
        .stdin(Stdio::null());
    command
}

/// Whether this process runs as root (then PostgreSQL runs as the `postgres` user).
fn root() -> bool {
    // /proc/self belongs to the effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The user and group PostgreSQL's files and processes belong to when this runs as root.
fn postgres_ids() -> (u32, u32) {
    let out = Command::new("id")
        .arg("-u")
        .arg("postgres")
        .output()
        .expect("id");
    let uid = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("postgres's uid");
    let out = Command::new("id")
        .arg("-g")
        .arg("postgres")
        .output()
        .expect("id");
    let gid = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("postgres's gid");
    (uid, gid)
}

/// A PostgreSQL program, as the `postgres` user when this runs as root.
fn postgres_command(program: &str) -> Command {
    let path = Path::new(POSTGRES_BIN).join(program);
    if !root() {
        return Command::new(path);
    }
    let (uid, gid) = postgres_ids();
    let mut command = Command::new("setpriv");
    command
        .args([
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--clear-groups".to_owned(),
        ])
        .arg(&path);
    command
}

/// Stops `child` with `signal` and waits for it (30 s at most, then SIGKILL).
fn stop(child: &mut Child, signal: &str) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Ok(None) = child.try_wait() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.wait();
    }
}

/// Bytes the disk holds for everything under `path` (allocated blocks).
fn disk(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| disk(&e.path())).sum())
            .unwrap_or(0)
            + meta.blocks() * 512
    } else {
        meta.blocks() * 512
    }
}

impl Peer {
    fn new(kind: Kind, dir: PathBuf) -> Peer {
        let port = kind.port();
        let mut routes = vec![(addr(RELAY_A, port + RELAYED), addr(A_HOST, port), Side::A)];
        if kind == Kind::Hifazat {
            routes.push((addr(RELAY_B, port + RELAYED), addr(B_HOST, port), Side::B));
        }
        let relay = Relay::start(&routes).expect("start the relay");
        let target = match kind {
            Kind::Hifazat => Target::Hifazat {
                addr: addr(A_HOST, 8080),
                token: String::new(),
            },
            Kind::Couch { .. } => Target::Couch {
                addr: addr(A_HOST, 5984),
            },
            Kind::Automerge => Target::Automerge {
                addr: addr(A_HOST, 8080),
            },
            Kind::Postgres => Target::Postgres {
                config: format!("host={A_HOST} port=5432 user=postgres dbname=postgres"),
            },
        };
        let (seen_tx, seen) = mpsc::channel();
        let mut peer = Peer {
            kind,
            dir,
            relay,
            a: None,
            b: None,
            target,
            b_token: String::new(),
            seen_tx,
            seen,
            announced: Arc::new(AtomicU64::new(0)),
            b_client: None,
        };
        peer.set_up();
        peer
    }

    fn a_dir(&self) -> PathBuf {
        match self.kind {
            Kind::Hifazat => self.dir.join("lahore"),
            _ => self.dir.join("a"),
        }
    }

    fn b_dir(&self) -> PathBuf {
        match self.kind {
            Kind::Hifazat => self.dir.join("punjab"),
            _ => self.dir.join("b"),
        }
    }

    /// Makes both nodes' data, starts them, and joins them.
    fn set_up(&mut self) {
        match self.kind {
            Kind::Hifazat => {
                // `hifazat demo` on a layout of the federal node (never started), Punjab and Lahore, their
                // addresses the relay's, makes the keys, the signed topology and the officials, and starts none.
                let layout = self.dir.join("layout.toml");
                std::fs::write(&layout, LAYOUT).expect("write the layout");
                let mut demo = Command::new(hifazat_binary())
                    .args(["demo", "--topology"])
                    .arg(&layout)
                    .arg("--data")
                    .arg(&self.dir)
                    .args(["--skip", "federal", "--skip", "punjab", "--skip", "lahore"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("hifazat demo");
                let tokens = self.dir.join("demo-tokens.json");
                wait("the demo's set-up", || tokens.exists());
                stop(&mut demo, "-TERM");
                let tokens: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&tokens).expect("tokens")).expect("json");
                let token =
                    |name: &str| tokens[name]["token"].as_str().expect("a token").to_owned();
                self.target = Target::Hifazat {
                    addr: addr(A_HOST, 8080),
                    token: token("lahore"),
                };
                self.b_token = token("punjab");
            }
            Kind::Couch { .. } | Kind::Automerge => {
                for d in ["a", "b", "a-run", "b-run"] {
                    std::fs::create_dir_all(self.dir.join(d)).expect("mkdir");
                }
            }
            Kind::Postgres => {
                if root() {
                    // PostgreSQL runs as its own user, who must reach the folder.
                    let mut permissions = std::fs::metadata(&self.dir).expect("stat").permissions();
                    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
                    std::fs::set_permissions(&self.dir, permissions).expect("chmod");
                }
                for d in ["a", "b"] {
                    let data = self.dir.join(d);
                    std::fs::create_dir_all(&data).expect("mkdir");
                    if root() {
                        let (uid, gid) = postgres_ids();
                        std::os::unix::fs::chown(&data, Some(uid), Some(gid)).expect("chown");
                    }
                    let out = postgres_command("initdb")
                        .args([
                            "-A",
                            "trust",
                            "-U",
                            "postgres",
                            "--no-locale",
                            "-E",
                            "UTF8",
                            "-D",
                        ])
                        .arg(&data)
                        .output()
                        .expect("initdb");
                    assert!(
                        out.status.success(),
                        "initdb: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        }
        self.start_a(None);
        self.start_b();
        match self.kind {
            Kind::Couch { .. } => {
                for host in [A_HOST, B_HOST] {
                    let (status, body) = Http::open(addr(host, 5984), "")
                        .expect("connect")
                        .request("PUT", "/records", "")
                        .expect("create the database");
                    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
                }
                self.replicate();
            }
            Kind::Postgres => {
                let mut a = postgres::Client::connect(
                    &format!("host={A_HOST} port=5432 user=postgres dbname=postgres"),
                    postgres::NoTls,
                )
                .expect("connect to A");
                a.batch_execute(
                    "CREATE TABLE records (id text PRIMARY KEY, body jsonb NOT NULL);
                     CREATE PUBLICATION records FOR TABLE records;",
                )
                .expect("A's table");
                let b = self.b_client.as_mut().expect("B's connection");
                b.batch_execute(
                    "CREATE TABLE records (id text PRIMARY KEY, body jsonb NOT NULL);
                     CREATE FUNCTION announce() RETURNS trigger LANGUAGE plpgsql AS
                       $$ BEGIN PERFORM pg_notify('records', NEW.id); RETURN NEW; END $$;
                     CREATE TRIGGER announce AFTER INSERT ON records FOR EACH ROW EXECUTE FUNCTION announce();
                     ALTER TABLE records ENABLE ALWAYS TRIGGER announce;",
                )
                .expect("B's table");
                // A statement of its own: a subscription that makes its slot cannot be made in a transaction.
                b.batch_execute(&format!(
                    "CREATE SUBSCRIPTION records
                       CONNECTION 'host={RELAY_A} port={} user=postgres dbname=postgres'
                       PUBLICATION records;",
                    5432 + RELAYED
                ))
                .expect("B's subscription");
            }
            Kind::Hifazat | Kind::Automerge => {}
        }
        self.watch();
    }

    /// The command that runs node `side` of this system on its own core (A on 0, B on 1); with `trace`, under
    /// `strace -c` writing its summary there.
    fn command(&self, side: Side, trace: Option<&Path>) -> Command {
        let (core, host, data, node) = match side {
            Side::A => (0, A_HOST, self.a_dir(), "a"),
            Side::B => (1, B_HOST, self.b_dir(), "b"),
        };
        // The node's own command line, then put on its core (behind strace when traced).
        let mut inner = match self.kind {
            Kind::Postgres => postgres_command("postgres"),
            _ => Command::new(self.program()),
        };
        let (stdout, stderr) = match self.kind {
            Kind::Hifazat => {
                inner
                    .args(["serve", "--data"])
                    .arg(&data)
                    .args(["--listen", &format!("{host}:8080")])
                    .args(["--p2p-listen", &format!("{host}:9080")])
                    .env("RUST_LOG", log_level());
                (Stdio::null(), log_file(&self.dir, node))
            }
            Kind::Couch { synced } => {
                if synced {
                    inner.args(["--require", &format!("{PEERS}/sync.cjs")]);
                }
                inner
                    .arg(format!(
                        "{PEERS}/node_modules/pouchdb-server/bin/pouchdb-server"
                    ))
                    .args([
                        "--host",
                        host,
                        "--port",
                        "5984",
                        "--no-stdout-logs",
                        "--dir",
                    ])
                    .arg(&data)
                    .current_dir(self.dir.join(format!("{node}-run")));
                (Stdio::null(), Stdio::null())
            }
            Kind::Automerge => {
                inner.arg(format!("{PEERS}/automerge.mjs"));
                match side {
                    Side::A => inner
                        .args(["a", "--http", &format!("{host}:8080")])
                        .args(["--ws", &format!("{host}:9080")]),
                    Side::B => inner.args([
                        "b",
                        "--connect",
                        &format!("ws://{RELAY_A}:{}", 9080 + RELAYED),
                    ]),
                };
                inner.arg("--dir").arg(&data);
                // B's announcements come on its standard output.
                let stdout = match side {
                    Side::A => Stdio::null(),
                    Side::B => Stdio::piped(),
                };
                (stdout, errors(&self.dir, node))
            }
            Kind::Postgres => {
                inner.arg("-D").arg(&data).args(postgres_settings(host));
                if side == Side::A {
                    inner.args(["-c", "wal_level=logical"]);
                }
                (Stdio::null(), Stdio::null())
            }
        };
        let mut command = match trace {
            None => pinned(core, inner.get_program()),
            Some(out) => {
                let mut strace = pinned(core, "strace");
                strace
                    .args([
                        "-f",
                        "-c",
                        "-e",
                        "trace=fsync,fdatasync,sync_file_range",
                        "-o",
                    ])
                    .arg(out)
                    .arg(inner.get_program());
                strace
            }
        };
        command.args(inner.get_args());
        for (key, value) in inner.get_envs() {
            if let Some(value) = value {
                command.env(key, value);
            }
        }
        if let Some(dir) = inner.get_current_dir() {
            command.current_dir(dir);
        }
        command.stdout(stdout).stderr(stderr);
        command
    }

    /// Starts node A; with `trace`, under `strace -c` writing its summary there.
    fn start_a(&mut self, trace: Option<&Path>) {
        let mut command = self.command(Side::A, trace);
        self.a = Some(command.spawn().expect("start A"));
        self.wait_up(A_HOST);
    }

    /// Starts node B.
    fn start_b(&mut self) {
        let mut command = self.command(Side::B, None);
        let mut child = command.spawn().expect("start B");
        if self.kind == Kind::Automerge {
            // B's announcements come on its standard output.
            let out = BufReader::new(child.stdout.take().expect("B's output"));
            let announced = Arc::new(AtomicU64::new(0));
            self.announced = announced.clone();
            let seen = self.seen_tx.clone();
            let (ready_tx, ready) = mpsc::channel();
            std::thread::spawn(move || {
                for line in out.lines() {
                    let at = Instant::now();
                    let Ok(line) = line else { return };
                    if line == "ready" {
                        let _ = ready_tx.send(());
                    } else if let Some(key) = line.strip_prefix("seen ") {
                        announced.fetch_add(1, Ordering::SeqCst);
                        let _ = seen.send((key.to_owned(), at));
                    }
                }
            });
            ready.recv_timeout(WAIT_MAX).expect("B ready");
        }
        self.b = Some(child);
        self.wait_up(B_HOST);
        if self.kind == Kind::Postgres {
            self.b_client = Some(
                postgres::Client::connect(
                    &format!("host={B_HOST} port=5432 user=postgres dbname=postgres"),
                    postgres::NoTls,
                )
                .expect("connect to B"),
            );
        }
    }

    /// The program a node of this system runs (PostgreSQL's is set by [`postgres_command`]).
    fn program(&self) -> PathBuf {
        match self.kind {
            Kind::Hifazat => hifazat_binary(),
            _ => PathBuf::from("node"),
        }
    }

    /// Waits until the node on `host` answers; fails at once if its process ends.
    fn wait_up(&mut self, host: &str) {
        let what = format!("{} on {host} coming up", self.kind.name());
        let is_a = host == A_HOST;
        let host = host.to_owned();
        let mut up: Box<dyn FnMut() -> bool> = match self.kind {
            Kind::Hifazat => Box::new(move || {
                Http::open(addr(&host, 8080), "")
                    .and_then(|mut h| h.request("GET", "/healthz", ""))
                    .is_ok_and(|(s, _)| s == 200)
            }),
            Kind::Couch { .. } => Box::new(move || {
                Http::open(addr(&host, 5984), "")
                    .and_then(|mut h| h.request("GET", "/", ""))
                    .is_ok_and(|(s, _)| s == 200)
            }),
            // B says `ready` on its output (read where it starts); A's HTTP server is its last step.
            Kind::Automerge if !is_a => Box::new(|| true),
            Kind::Automerge => Box::new(move || {
                std::net::TcpStream::connect_timeout(&addr(&host, 8080), Duration::from_secs(1))
                    .is_ok()
            }),
            Kind::Postgres => Box::new(move || {
                postgres::Client::connect(
                    &format!("host={host} port=5432 user=postgres dbname=postgres"),
                    postgres::NoTls,
                )
                .is_ok()
            }),
        };
        let child = if is_a {
            self.a.as_mut()
        } else {
            self.b.as_mut()
        };
        let child = child.expect("a node process");
        wait(&what, || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{what}: the process ended ({status})");
            }
            up()
        });
    }

    /// CouchDB: B replicates continuously from A, through the relay (asked again each time B starts).
    fn replicate(&self) {
        let body = format!(
            r#"{{"source":"http://{RELAY_A}:{}/records","target":"records","continuous":true}}"#,
            5984 + RELAYED
        );
        let (status, answer) = Http::open(addr(B_HOST, 5984), "")
            .expect("connect to B")
            .request("POST", "/_replicate", &body)
            .expect("start replication");
        assert!(
            (200..300).contains(&status),
            "_replicate: {}",
            String::from_utf8_lossy(&answer)
        );
    }

    /// Follows what B announces, into `seen` (automerge-repo's B announces on its output, read since it started).
    fn watch(&self) {
        let seen = self.seen_tx.clone();
        // Writes begin once B's stream is open: an announcement made before it would be missed, and the write
        // waited for until the phase's bound.
        let (opened_tx, opened) = mpsc::channel::<()>();
        let opened_tx = move || {
            let _ = opened_tx.send(());
        };
        match self.kind {
            Kind::Hifazat => {
                let b = addr(B_HOST, 8080);
                std::thread::spawn(move || {
                    follow_alerts(b, opened_tx, |record, at| seen.send((record, at)).is_ok());
                });
            }
            Kind::Couch { .. } => {
                let b = addr(B_HOST, 5984);
                std::thread::spawn(move || {
                    follow(
                        b,
                        "/records/_changes?feed=continuous&since=now&heartbeat=10000",
                        opened_tx,
                        |line, at| {
                            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
                                && let Some(id) = v["id"].as_str()
                            {
                                return seen.send((id.to_owned(), at)).is_ok();
                            }
                            true
                        },
                    );
                });
            }
            // B's announcements come on its output, read from its start.
            Kind::Automerge => return,
            Kind::Postgres => {
                let mut client = postgres::Client::connect(
                    &format!("host={B_HOST} port=5432 user=postgres dbname=postgres"),
                    postgres::NoTls,
                )
                .expect("connect to B");
                client.batch_execute("LISTEN records").expect("LISTEN");
                opened_tx();
                std::thread::spawn(move || {
                    let mut notifications = client.notifications();
                    let mut each = notifications.blocking_iter();
                    while let Ok(Some(n)) =
                        postgres::fallible_iterator::FallibleIterator::next(&mut each)
                    {
                        if seen.send((n.payload().to_owned(), Instant::now())).is_err() {
                            return;
                        }
                    }
                });
            }
        }
        opened
            .recv_timeout(WAIT_MAX)
            .unwrap_or_else(|e| panic!("{}: B's stream did not open: {e}", self.kind.name()));
    }

    /// Records B holds.
    fn count_b(&mut self) -> u64 {
        match self.kind {
            Kind::Hifazat => {
                let Ok((200, body)) = Http::open(addr(B_HOST, 8080), &self.b_token)
                    .and_then(|mut h| h.request("GET", "/api/v1/logs", ""))
                else {
                    return 0;
                };
                let logs: serde_json::Value = serde_json::from_slice(&body).expect("json");
                logs.as_array()
                    .expect("an array")
                    .iter()
                    .filter(|l| l["node"] == "lahore" && l["scope"] == "alerts")
                    .filter_map(|l| l["size"].as_u64())
                    .sum()
            }
            Kind::Couch { .. } => {
                let Ok((200, body)) = Http::open(addr(B_HOST, 5984), "")
                    .and_then(|mut h| h.request("GET", "/records", ""))
                else {
                    return 0;
                };
                let info: serde_json::Value = serde_json::from_slice(&body).expect("json");
                info["doc_count"].as_u64().expect("doc_count")
            }
            Kind::Automerge => self.announced.load(Ordering::SeqCst),
            Kind::Postgres => {
                let client = self.b_client.as_mut().expect("B's connection");
                client
                    .query_one("SELECT count(*) FROM records", &[])
                    .map(|row| row.get::<_, i64>(0) as u64)
                    .unwrap_or(0)
            }
        }
    }

    /// Waits until B holds `total` records; the time it took. Fails when B's process ends.
    fn wait_for_b(&mut self, total: u64) -> Duration {
        let start = Instant::now();
        let what = format!("{}: B holding {total} records", self.kind.name());
        wait(&what, || {
            if let Some(Ok(Some(status))) = self.b.as_mut().map(Child::try_wait) {
                panic!("{what}: B ended ({status}) holding {}", self.count_b());
            }
            self.count_b() >= total
        });
        start.elapsed()
    }

    fn stop_b(&mut self) {
        self.b_client = None;
        if let Some(mut b) = self.b.take() {
            stop(&mut b, self.stop_signal());
        }
    }

    fn stop_a(&mut self) {
        if let Some(mut a) = self.a.take() {
            stop(&mut a, self.stop_signal());
        }
    }

    fn stop_signal(&self) -> &'static str {
        // PostgreSQL's fast shutdown; every other node stops cleanly on SIGTERM.
        if self.kind == Kind::Postgres {
            "-INT"
        } else {
            "-TERM"
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop_b();
        self.stop_a();
    }
}

/// The settings both PostgreSQL clusters run with: their own address, no Unix socket (clients come over TCP),
/// and otherwise PostgreSQL's defaults (`fsync` and `synchronous_commit` on).
fn postgres_settings(host: &str) -> Vec<String> {
    vec![
        "-c".into(),
        format!("listen_addresses={host}"),
        "-c".into(),
        "port=5432".into(),
        "-c".into(),
        "unix_socket_directories=".into(),
    ]
}

/// Hifazat's log level: `HIFAZAT_PEERS_LOG` (the nodes then log to `a.err` and `b.err` in the system's folder),
/// else warnings only, discarded.
fn log_level() -> String {
    std::env::var("HIFAZAT_PEERS_LOG").unwrap_or_else(|_| "warn".to_owned())
}

fn log_file(dir: &Path, node: &str) -> Stdio {
    if std::env::var_os("HIFAZAT_PEERS_LOG").is_none() {
        return Stdio::null();
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{node}.err")))
        .map_or(Stdio::null(), Stdio::from)
}

/// Where a node script's errors go: `<node>.err` in the system's folder, kept for a failed run.
fn errors(dir: &Path, node: &str) -> Stdio {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{node}.err")))
        .map_or(Stdio::null(), Stdio::from)
}

/// Hifazat's layout for this benchmark: the federal node (never started), Punjab and Lahore at the relay's
/// addresses and port, so every connection between them passes through it.
const LAYOUT: &str = r#"name = "peers"

[[province]]
code = "PB"
name = "Punjab"
name_ur = "پنجاب"
kind = "province"

[[region]]
code = "PB-LAHORE"
province = "PB"
name = "Lahore"
name_ur = "لاہور"
districts = [
  { code = "PB-LHR", name = "Lahore", name_ur = "لاہور", hq = "Lahore", lat = 31.5497, lon = 74.3436 },
]

[[node]]
name = "federal"
role = "federal"
host = "127.0.0.150"

[[node]]
name = "punjab"
role = "province"
province = "PB"
host = "127.0.0.152"
p2p_port = 9180

[[node]]
name = "lahore"
role = "district"
district = "PB-LHR"
host = "127.0.0.151"
p2p_port = 9180
"#;

/// One system's figures.
#[derive(Debug, Clone)]
struct Row {
    kind: Kind,
    latency_ms: [f64; 3],
    one_per_s: f64,
    one_lag: Duration,
    many_per_s: f64,
    many_lag: Duration,
    catch_up: Duration,
    catch_up_bytes: (u64, u64),
    disk_a: f64,
    disk_b: f64,
    syncs_per_write: f64,
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// Writes records `from..to` on A with `clients` clients at once; the rate of acknowledged writes. Fails when
/// the writes take longer than [`WAIT_MAX`] (the clients take no new record after that) or a client fails.
fn ingest(target: &Target, from: u64, to: u64, clients: usize) -> f64 {
    let deadline = Instant::now() + WAIT_MAX;
    let next = Arc::new(AtomicU64::new(from));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(clients + 1));
    let finished = Arc::new(Mutex::new(None::<Instant>));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (target, next, start, finished, acknowledged) = (
                target.clone(),
                next.clone(),
                start.clone(),
                finished.clone(),
                acknowledged.clone(),
            );
            std::thread::spawn(move || {
                let mut writer = target.connect();
                start.wait();
                loop {
                    if Instant::now() > deadline {
                        return;
                    }
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= to {
                        break;
                    }
                    writer.write(n);
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
                let done = Instant::now();
                let mut last = finished.lock().expect("lock");
                *last = Some(last.map_or(done, |l| l.max(done)));
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    for t in threads {
        if let Err(e) = t.join() {
            panic!("a client: {}", panic_text(&*e));
        }
    }
    let acknowledged = acknowledged.load(Ordering::SeqCst);
    assert!(
        acknowledged == to - from,
        "{acknowledged} of {} writes acknowledged within {WAIT_MAX:?}",
        to - from
    );
    let last = finished.lock().expect("lock").expect("a last write");
    (to - from) as f64 / (last - began).as_secs_f64()
}

/// The message a panic carried.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// Reads `strace -c`'s summary: fsync, fdatasync and sync_file_range calls.
fn syncs(summary: &Path) -> u64 {
    let text = std::fs::read_to_string(summary).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let name = *fields.last()?;
            if !matches!(name, "fsync" | "fdatasync" | "sync_file_range") {
                return None;
            }
            // % time, seconds, usecs/call, calls, [errors,] syscall
            fields.get(3)?.parse::<u64>().ok()
        })
        .sum()
}

fn measure(kind: Kind, counts: Counts, root: &Path) -> Row {
    let dir = root.join(kind.name());
    std::fs::create_dir_all(&dir).expect("mkdir");
    let say = |what: &str| eprintln!("{:>15}: {what}", kind.name());
    say("setting up");
    let mut peer = Peer::new(kind, dir);
    let mut n = 0u64;
    let mut writer = peer.target.connect();
    let mut early: HashMap<String, Instant> = HashMap::new();
    // Every write, one at a time, until B announces it.
    let mut one = |writer: &mut Writer, peer: &mut Peer, n: u64| -> Duration {
        let start = Instant::now();
        let key = writer.write(n);
        let deadline = start + WAIT_MAX;
        let at = loop {
            if let Some(at) = early.remove(&key) {
                break at;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match peer.seen.recv_timeout(left) {
                Ok((k, at)) if k == key => break at,
                Ok((k, at)) => {
                    early.insert(k, at);
                }
                Err(e) => panic!("{}: record {key} never announced by B: {e}", kind.name()),
            }
        };
        at.saturating_duration_since(start)
    };
    say(&format!(
        "{} writes to warm up (connections form)",
        counts.warm
    ));
    for _ in 0..counts.warm {
        one(&mut writer, &mut peer, n);
        n += 1;
    }
    say(&format!(
        "write to readable: {} writes {} ms apart",
        counts.latency,
        counts.gap.as_millis()
    ));
    let mut latencies = Vec::with_capacity(counts.latency as usize);
    for _ in 0..counts.latency {
        let start = Instant::now();
        latencies.push(one(&mut writer, &mut peer, n));
        n += 1;
        std::thread::sleep(counts.gap.saturating_sub(start.elapsed()));
    }
    latencies.sort();
    drop(writer);
    early.clear();
    say(&format!("ingest: {} writes, one client", counts.ingest_one));
    let one_per_s = ingest(&peer.target, n, n + counts.ingest_one, 1);
    n += counts.ingest_one;
    let one_lag = peer.wait_for_b(n);
    say(&format!(
        "ingest: {} writes, {} clients",
        counts.ingest_many, counts.clients
    ));
    let many_per_s = ingest(&peer.target, n, n + counts.ingest_many, counts.clients);
    n += counts.ingest_many;
    let many_lag = peer.wait_for_b(n);
    say(&format!("catch-up: B stopped, {} writes", counts.catch_up));
    peer.stop_b();
    ingest(&peer.target, n, n + counts.catch_up, counts.clients);
    n += counts.catch_up;
    peer.relay.reset();
    let started = Instant::now();
    peer.start_b();
    if let Kind::Couch { .. } = kind {
        peer.replicate();
    }
    peer.wait_for_b(n);
    let catch_up = started.elapsed();
    let catch_up_bytes = peer.relay.bytes();
    say("disk");
    peer.stop_b();
    peer.stop_a();
    let disk_a = disk(&peer.a_dir()) as f64 / n as f64;
    let disk_b = disk(&peer.b_dir()) as f64 / n as f64;
    say(&format!(
        "syncs per write: {} writes on A under strace -c",
        counts.traced
    ));
    let summary = root.join(format!("{}.strace", kind.name()));
    peer.start_a(Some(&summary));
    let mut writer = peer.target.connect();
    for _ in 0..counts.traced {
        writer.write(n);
        n += 1;
    }
    drop(writer);
    stop_traced(&mut peer);
    let syncs_per_write = syncs(&summary) as f64 / counts.traced as f64;
    drop(peer);
    Row {
        kind,
        latency_ms: [
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.95),
            percentile(&latencies, 0.99),
        ],
        one_per_s,
        one_lag,
        many_per_s,
        many_lag,
        catch_up,
        catch_up_bytes,
        disk_a,
        disk_b,
        syncs_per_write,
    }
}

/// Stops A running under strace: the traced process is strace's child, and strace writes its summary when that
/// ends.
fn stop_traced(peer: &mut Peer) {
    let Some(mut strace) = peer.a.take() else {
        return;
    };
    let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", strace.id()))
        .unwrap_or_default();
    for pid in children.split_whitespace() {
        let _ = Command::new("kill")
            .args([peer.stop_signal(), pid])
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Ok(None) = strace.try_wait() {
        if Instant::now() > deadline {
            stop(&mut strace, "-KILL");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn table(rows: &[Row], counts: Counts) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "| system | write → readable on B, p50 / p95 / p99 (ms) | ingest, 1 client (writes/s; B's lag) | ingest, {} clients (writes/s; B's lag) | catch-up of {} (s; MB A→B + B→A) | disk per record, A / B (bytes) | syncs per write on A |\n",
        counts.clients, counts.catch_up
    ));
    out.push_str("|---|---|---|---|---|---|---|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {:.1} / {:.1} / {:.1} | {:.0}; {:.2} s | {:.0}; {:.2} s | {:.2}; {:.2} + {:.2} | {:.0} / {:.0} | {:.2} |\n",
            r.kind.title(),
            r.latency_ms[0],
            r.latency_ms[1],
            r.latency_ms[2],
            r.one_per_s,
            r.one_lag.as_secs_f64(),
            r.many_per_s,
            r.many_lag.as_secs_f64(),
            r.catch_up.as_secs_f64(),
            r.catch_up_bytes.0 as f64 / 1e6,
            r.catch_up_bytes.1 as f64 / 1e6,
            r.disk_a,
            r.disk_b,
            r.syncs_per_write
        ));
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let names: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    if let Some(unknown) = names
        .iter()
        .find(|n| !Kind::ALL.iter().any(|k| k.name() == **n))
    {
        panic!(
            "no system {unknown}: choose from {:?}",
            Kind::ALL.map(Kind::name)
        );
    }
    let kinds: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| names.is_empty() || names.contains(&k.name()))
        .collect();
    assert!(
        Path::new(PEERS).join("node_modules").exists() || kinds == [Kind::Hifazat],
        "the peers are not installed: run `bash bench/peers/run.sh`"
    );
    assert!(
        hifazat_binary().exists(),
        "{} is missing: run `cargo build --release` first",
        hifazat_binary().display()
    );
    let counts = if quick {
        Counts::quick()
    } else {
        Counts::full()
    };
    let (size, gzipped) = record_sizes(1_000);
    eprintln!(
        "records: {size:.0} bytes of JSON each on average; gzip takes them to {gzipped:.2} of that"
    );
    let root = tempfile::tempdir().expect("tempdir");
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for kind in kinds {
        // A system that fails a measure (a node ends, a record never arrives) is reported and the run goes on;
        // its nodes are stopped as its `Peer` is dropped.
        match std::panic::catch_unwind(|| measure(kind, counts, root.path())) {
            Ok(row) => {
                eprintln!("{}", table(std::slice::from_ref(&row), counts));
                rows.push(row);
            }
            Err(e) => {
                let why = panic_text(&*e);
                eprintln!("{}: failed: {why}", kind.name());
                failed.push(format!("- {}: failed: {why}\n", kind.title()));
            }
        }
    }
    let text = format!(
        "{}\n{}Records: {size:.0} bytes of JSON each on average; gzip takes them to {gzipped:.2} of that.\n",
        table(&rows, counts),
        failed.concat()
    );
    println!("{text}");
    if std::env::var_os("HIFAZAT_PEERS_KEEP").is_some() {
        eprintln!("kept every system's folder under {}", root.keep().display());
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/peers");
    std::fs::create_dir_all(&out).expect("mkdir");
    let mut file = std::fs::File::create(out.join("table.md")).expect("create the table");
    file.write_all(text.as_bytes()).expect("write the table");
}
