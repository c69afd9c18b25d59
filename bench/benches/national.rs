//! The federal node at national scale, as a process, and a district node catching up after a week offline.
//!
//! 1. The curve: one federal node's store grows through the sizes asked for (10,000 to 3,000,000 records by
//!    default). Records are alerts (one in four) and cases over every district of `topology/pakistan.toml`, from
//!    a seeded generator, written through the engine (`raise_alert`, `file_case`, `add_event`: validations,
//!    recoveries, investigations, FIRs, resolutions, about 1.6 entries per record) by 64 writers, under a clock
//!    that moves evenly, so the largest size spans five years (and 1,000,000 of 5,000,000 the first year). At each
//!    size the real node (`hifazat serve`, the binary built by `cargo build --release`) is started on the store
//!    and asked over HTTP, one request at a time, by the ministry's token: national statistics (all time, and one
//!    month), a province's, twelve months of trends, and a filtered list page of cases and of alerts. Measured:
//!    open (start until `/healthz` answers), p50 and p99 of each query, the node's resident memory after them,
//!    the write throughput while the store grew, and disk use. After the largest size, `hifazat log verify`
//!    against ed25519-dalek's `verify_batch` over the same store's entries on one core (as `log verify` runs).
//! 2. Catch-up: a federal, a Punjab and a Lahore node (`hifazat demo --skip lahore`, Lahore started here). Lahore
//!    is asked (alerts list, its district's statistics) while idle; then it stops, Punjab takes a week's work for
//!    Lahore over HTTP (`HIFAZAT_CATCHUP` entries, 50,000 by default: four alerts for every case), and Lahore
//!    starts again. Measured: the time until Lahore holds all of them, and its API latency while it catches up,
//!    beside idle.
//!
//! Run: `cargo build --release && cargo bench -p hifazat-bench --bench national`. Sizes: `HIFAZAT_NATIONAL`
//! (`10000,100000,1000000,3000000`); where the stores go: `HIFAZAT_NATIONAL_DIR` (the temporary directory;
//! 3,000,000 records take about 25 GB of disk, 5,000,000 about 41 GB; `HIFAZAT_NATIONAL_KEEP=1` keeps them). Nodes on 127.0.0.91-93. Bounded: fixed counts, every wait with a limit.

// A benchmark program: its tables on standard output are the result.
#![allow(clippy::print_stdout)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use hifazat_bench::Rng;
use hifazat_bench::load::Conn;
use hifazat_domain::{CaseCategory, CaseDraft, Channel, Clock, EventKind};
use hifazat_engine::{Engine, EngineConfig};
use hifazat_log::Signer;
use hifazat_store::Store;
use hifazat_topology::Topology;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PAKISTAN: &str = include_str!("../../topology/pakistan.toml");
const NODES: &str = r#"
[[node]]
name = "federal"
role = "federal"
host = "127.0.0.91"

[[node]]
name = "punjab"
role = "province"
province = "PB"
host = "127.0.0.92"

[[node]]
name = "lahore"
role = "district"
district = "PB-LHR"
host = "127.0.0.93"
"#;
const FEDERAL: &str = "127.0.0.91:8080";
const PUNJAB: &str = "127.0.0.92:8080";
const LAHORE: &str = "127.0.0.93:8080";

/// The first record's time (2021-12-01 UTC); the largest size's last lands five years later.
const START_MS: u64 = 1_638_316_800_000;
const SPAN_MS: u64 = 5 * 365 * 86_400_000;
/// Concurrent writers.
const WRITERS: usize = 64;
/// Timed requests per query, after `WARM` untimed ones.
const REQUESTS: usize = 200;
const WARM: usize = 20;
/// Entries whose signatures the raw baseline checks (read back from the store, untimed).
const RAW_VERIFY_MAX: usize = 1_000_000;

fn topology_text() -> String {
    format!("{PAKISTAN}\n{NODES}")
}

fn percentile(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// `VmRSS` and `VmHWM` of a process, in MB.
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn disk_mb(path: &Path) -> f64 {
    fn walk(p: &Path) -> u64 {
        std::fs::read_dir(p).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
    }
    walk(path) as f64 / 1e6
}

/// Sends SIGTERM to a process this benchmark started, and waits for it.
fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `addr` answers `/healthz` (at most ten minutes); the time it took.
async fn until_up(addr: &str, started: Instant) -> Duration {
    let addr: SocketAddr = addr.parse().expect("address");
    loop {
        if let Ok(Ok(stream)) = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            drop(stream);
            let mut conn = Conn::open(addr, "").await;
            if conn.request("GET", "/healthz", "").await == 200 {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{addr} did not come up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A federation set up by `hifazat demo` in `data` (keys, signed topology, officials), running `except` none or
/// all but the nodes skipped; returns the demo process and the officials' tokens by node.
fn demo(data: &Path, skip: &[&str]) -> (Child, serde_json::Value) {
    let layout = data.join("layout.toml");
    std::fs::create_dir_all(data).expect("data directory");
    std::fs::write(&layout, topology_text()).expect("layout");
    let mut command = Command::new(hifazat_bench::hifazat_binary());
    command
        .args(["demo", "--topology"])
        .arg(&layout)
        .arg("--data")
        .arg(data);
    for s in skip {
        command.args(["--skip", s]);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(data.join("demo.log")).expect("log"))
        .spawn()
        .expect("hifazat demo");
    let rt = runtime();
    for (name, addr) in [("federal", FEDERAL), ("punjab", PUNJAB), ("lahore", LAHORE)] {
        if !skip.contains(&name) {
            rt.block_on(until_up(addr, Instant::now()));
        }
    }
    let tokens =
        serde_json::from_slice(&std::fs::read(data.join("demo-tokens.json")).expect("demo tokens"))
            .expect("tokens");
    (child, tokens)
}

fn token(tokens: &serde_json::Value, node: &str) -> String {
    tokens[node]["token"]
        .as_str()
        .expect("a node's token")
        .to_owned()
}

fn serve(data: &Path, node: &str) -> Child {
    Command::new(hifazat_bench::hifazat_binary())
        .args(["serve", "--data"])
        .arg(data.join(node))
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(data.join(format!("{node}.log")))
                .expect("log"),
        )
        .spawn()
        .expect("hifazat serve")
}

// ---------------------------------------------------------------------------------------------------------------
// 1. The curve.

/// The federal node's engine on its store, under a clock the writers move.
fn federal_engine(data: &Path, clock: Arc<AtomicU64>) -> Engine {
    let dir = data.join("federal");
    let hex_key = std::fs::read_to_string(dir.join("node.key")).expect("node.key");
    let key: [u8; 32] = hex::decode(hex_key.trim())
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    Engine::start(EngineConfig {
        node_name: "federal".into(),
        clock: Clock::from_fn(move || clock.load(Ordering::SeqCst)),
        topology: Topology::parse(&topology_text()).expect("layout"),
        signer: Signer::new(SigningKey::from_bytes(&key)),
        store: Store::open(&dir.join("store")).expect("store"),
    })
    .expect("engine")
}

const CATEGORIES: [CaseCategory; 6] = [
    CaseCategory::DomesticViolence,
    CaseCategory::Harassment,
    CaseCategory::SexualViolence,
    CaseCategory::MissingChild,
    CaseCategory::Harassment,
    CaseCategory::DomesticViolence,
];
const CHANNELS: [Channel; 4] = [
    Channel::PoliceStation,
    Channel::Helpline1099,
    Channel::Helpline15,
    Channel::CitizenPortal,
];

/// Writes records `from..to`; the entries written.
async fn write_records(
    engine: Engine,
    clock: Arc<AtomicU64>,
    districts: Arc<Vec<(String, f64, f64)>>,
    from: usize,
    to: usize,
    step_ms: u64,
) -> u64 {
    let next = Arc::new(AtomicUsize::new(from));
    let entries = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (engine, clock, districts, next, entries) = (
                engine.clone(),
                clock.clone(),
                districts.clone(),
                next.clone(),
                entries.clone(),
            );
            tokio::spawn(async move {
                let actor = "bench officer".to_owned();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= to {
                        return;
                    }
                    clock.fetch_max(START_MS + i as u64 * step_ms, Ordering::SeqCst);
                    let now = clock.load(Ordering::SeqCst);
                    let mut r = Rng::of(i as u64);
                    let (code, lat, lon) = &districts[r.below(districts.len() as u64) as usize];
                    let mut events = Vec::new();
                    let id = if r.below(4) == 0 {
                        let draft = hifazat_sim::alert_draft(code, *lat, *lon, now);
                        let id = engine
                            .raise_alert(draft, actor.clone())
                            .await
                            .expect("alert");
                        if r.below(2) == 0 {
                            events.push(EventKind::Validated);
                        }
                        if r.below(4) == 0 {
                            events.push(EventKind::Recovered);
                        }
                        id
                    } else {
                        let draft = CaseDraft {
                            category: CATEGORIES[r.below(CATEGORIES.len() as u64) as usize],
                            district: code.clone(),
                            place: None,
                            description: "Followed home from school twice this week".into(),
                            channel: CHANNELS[r.below(CHANNELS.len() as u64) as usize],
                            victim_age_years: Some(14),
                            complainant: None,
                            media: None,
                        };
                        let (id, _) = engine.file_case(draft, actor.clone()).await.expect("case");
                        if r.below(4) == 0 {
                            events.push(EventKind::UnderInvestigation);
                        }
                        if r.below(8) == 0 {
                            events.push(EventKind::FirRegistered {
                                fir_number: format!("FIR-{i}"),
                            });
                        }
                        if r.below(8) == 0 {
                            events.push(EventKind::ResolvedByReconciliation);
                        }
                        id
                    };
                    entries.fetch_add(1 + events.len() as u64, Ordering::Relaxed);
                    for kind in events {
                        engine
                            .add_event(id, kind, None, actor.clone())
                            .await
                            .expect("event");
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer");
    }
    engine.barrier().await.expect("barrier");
    entries.load(Ordering::Relaxed)
}

struct Query {
    name: &'static str,
    path: String,
}

fn queries(month: &str) -> Vec<Query> {
    vec![
        Query {
            name: "national statistics, all time",
            path: "/api/v1/stats".into(),
        },
        Query {
            name: "national statistics, one month",
            path: format!("/api/v1/stats?month={month}"),
        },
        Query {
            name: "a province's statistics (Punjab)",
            path: "/api/v1/stats?province=PB".into(),
        },
        Query {
            name: "national trends, 12 months",
            path: "/api/v1/stats/trends?months=12".into(),
        },
        Query {
            name: "national trends, 60 months",
            path: "/api/v1/stats/trends?months=60".into(),
        },
        Query {
            name: "cases page: Lahore, under investigation, 50",
            path: "/api/v1/cases?district=PB-LHR&status=under_investigation&limit=50".into(),
        },
        Query {
            name: "cases page: Punjab, harassment, 50",
            path: "/api/v1/cases?province=PB&category=harassment&limit=50".into(),
        },
        Query {
            name: "alerts page: Lahore, validated, 50",
            path: "/api/v1/alerts?district=PB-LHR&status=validated&limit=50".into(),
        },
    ]
}

/// The officials' pages asked by the ministry's page session: the national dashboard (its figures, twelve months'
/// trends, the map, each node's freshness) and the list of cases.
fn page_queries() -> Vec<Query> {
    vec![
        Query {
            name: "page: the national dashboard (the ministry's /office)",
            path: "/office".into(),
        },
        Query {
            name: "page: the ministry's cases, first page",
            path: "/office/cases".into(),
        },
        Query {
            name: "page: Lahore's cases, under investigation",
            path: "/office/cases?district=PB-LHR&stage=under_investigation".into(),
        },
    ]
}

/// Each query `WARM` times untimed, then `REQUESTS` times timed, round robin on one connection (the ministry's
/// token for the API, its page session for pages); p50 and p99.
async fn ask(addr: &str, token: &str, queries: &[Query]) -> Vec<(f64, f64)> {
    let addr = addr.parse().expect("address");
    let mut conn = if queries.iter().all(|q| q.path.starts_with("/office")) {
        let cookie = hifazat_bench::load::sign_in(addr, token).await;
        Conn::with_cookie(addr, &cookie).await
    } else {
        Conn::open(addr, token).await
    };
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); queries.len()];
    for round in 0..WARM + REQUESTS {
        for (q, s) in queries.iter().zip(&mut samples) {
            let t = Instant::now();
            let (status, body) = conn.fetch("GET", &q.path, "").await;
            let took = t.elapsed();
            assert_eq!(
                status,
                200,
                "{}: {}",
                q.path,
                String::from_utf8_lossy(&body)
            );
            if round >= WARM {
                s.push(took);
            }
        }
    }
    samples
        .iter_mut()
        .map(|s| (percentile(s, 0.5), percentile(s, 0.99)))
        .collect()
}

/// ed25519-dalek's `verify_batch` over up to `RAW_VERIFY_MAX` of the store's entries, in batches of 256 on one
/// thread (reads untimed): entries per second.
fn raw_verify_rate(store: &Store) -> f64 {
    let (mut total, mut done) = (Duration::ZERO, 0usize);
    for head in store.heads().expect("heads") {
        let digest = head.log.digest();
        let mut next = 1;
        while next <= head.head.seq && done < RAW_VERIFY_MAX {
            let chunk = store.entries(&digest, next, 256).expect("entries");
            let entries: Vec<_> = chunk
                .iter()
                .map(|b| hifazat_log::Entry::decode(b).expect("entry"))
                .collect();
            let dalek = hifazat_bench::DalekBatch::new(&entries);
            let t = Instant::now();
            dalek.verify();
            total += t.elapsed();
            done += entries.len();
            next += chunk.len() as u64;
        }
    }
    done as f64 / total.as_secs_f64()
}

/// `hifazat log verify` on the federal node's store: entries verified, seconds for the entries, seconds for the
/// aggregates' rebuild, and whether it passed.
fn log_verify(data: &Path) -> (u64, f64, f64, bool) {
    let started = Instant::now();
    let mut child = Command::new(hifazat_bench::hifazat_binary())
        .args(["log", "verify", "--data"])
        .arg(data.join("federal"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hifazat log verify");
    let (mut entries, mut entries_s, mut figures_s) = (0u64, 0.0, 0.0);
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line = line.expect("line");
        if let Some(rest) = line.split("entries verified: ").nth(1) {
            entries = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            entries_s = started.elapsed().as_secs_f64();
        }
        if line.starts_with("statistics aggregates:") {
            figures_s = started.elapsed().as_secs_f64() - entries_s;
        }
    }
    let ok = child.wait().expect("log verify").success();
    (entries, entries_s, figures_s, ok)
}

fn curve(base: &Path, sizes: &[usize]) {
    let data = base.join("curve");
    let (demo_process, tokens) = demo(&data, &[]);
    stop(demo_process);
    let ministry = token(&tokens, "federal");
    let topology = Topology::parse(&topology_text()).expect("layout");
    let districts: Arc<Vec<(String, f64, f64)>> = Arc::new(
        topology
            .districts
            .iter()
            .map(|d| (d.code.clone(), d.lat, d.lon))
            .collect(),
    );
    let largest = *sizes.iter().max().expect("a size");
    let step_ms = SPAN_MS / largest as u64;
    let clock = Arc::new(AtomicU64::new(START_MS));
    let rt = runtime();
    println!(
        "## The curve: {} districts, records written under a clock moving {step_ms} ms a record",
        districts.len()
    );
    let mut rows = Vec::new();
    let mut written = (0usize, 0u64);
    for &n in sizes {
        let (from, to) = (written.0, n);
        let started = Instant::now();
        let engine = federal_engine(&data, clock.clone());
        let entries = rt.block_on(write_records(
            engine,
            clock.clone(),
            districts.clone(),
            from,
            to,
            step_ms,
        ));
        let took = started.elapsed();
        written = (n, written.1 + entries);
        // The engine lets go of the store once its last handle is gone; open it here to be sure before the node.
        drop(Store::open(&data.join("federal").join("store")).expect("store free"));
        eprintln!(
            "{n} records: wrote {entries} entries in {:.0} s",
            took.as_secs_f64()
        );
        let start = Instant::now();
        let node = serve(&data, "federal");
        let open = rt.block_on(until_up(FEDERAL, start));
        let month = {
            let m = hifazat_figures::month_of(START_MS + (n as u64 * step_ms) / 2);
            format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
        };
        let mut qs = queries(&month);
        let mut times = rt.block_on(ask(FEDERAL, &ministry, &qs));
        let pages = page_queries();
        times.extend(rt.block_on(ask(FEDERAL, &ministry, &pages)));
        qs.extend(pages);
        let (rss, peak) = memory_mb(node.id());
        stop(node);
        rows.push((
            n,
            written.1,
            entries as f64 / took.as_secs_f64(),
            open,
            rss,
            peak,
            disk_mb(&data.join("federal").join("store")),
            times,
            qs,
        ));
    }
    println!(
        "| records | entries | write (entries/s, while growing to it) | open | resident memory after the queries (peak) | store on disk |"
    );
    println!("|---|---|---|---|---|---|");
    for (n, entries, rate, open, rss, peak, disk, _, _) in &rows {
        println!(
            "| {n} | {entries} | {rate:.0} | {:.2} s | {rss:.0} MB ({peak:.0} MB) | {:.0} MB |",
            open.as_secs_f64(),
            disk
        );
    }
    println!();
    let names: Vec<&str> = rows[0].8.iter().map(|q| q.name).collect();
    print!("| query (p50 / p99, ms) |");
    for (n, ..) in &rows {
        print!(" {n} |");
    }
    println!();
    println!("|---|{}", "---|".repeat(rows.len()));
    for (i, name) in names.iter().enumerate() {
        print!("| {name} |");
        for row in &rows {
            let (p50, p99) = row.7[i];
            print!(" {p50:.2} / {p99:.2} |");
        }
        println!();
    }
    println!();
    let (entries, entries_s, figures_s, ok) = log_verify(&data);
    let raw = {
        let store = Store::open(&data.join("federal").join("store")).expect("store");
        raw_verify_rate(&store)
    };
    let ours = entries as f64 / entries_s;
    println!(
        "`hifazat log verify` at {} records: {entries} entries in {entries_s:.1} s ({ours:.0}/s, {:.2} of raw `verify_batch` on one core, {raw:.0}/s); the aggregates rebuilt from the records' entries in {figures_s:.1} s; {}",
        written.0,
        ours / raw,
        if ok { "passed" } else { "FAILED" }
    );
    println!();
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Catch-up.

fn alert_json(now: u64, n: usize) -> String {
    serde_json::json!({
        "child_name": "Ayesha", "age_years": 7, "sex": "female",
        "description": format!("Red frock, plastic sandals; report {n}"),
        "last_seen": {"district": "PB-LHR", "lat": 31.55, "lon": 74.34, "text": "Anarkali Bazaar"},
        "last_seen_at_ms": now - 60_000,
        "reporter": {"name": "Mother", "mobile": "03001234567"}, "channel": "helpline1099"
    })
    .to_string()
}

fn case_json(n: usize) -> String {
    serde_json::json!({
        "category": "harassment", "district": "PB-LHR", "channel": "police_station",
        "description": format!("Followed home from school; report {n}")
    })
    .to_string()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis() as u64
}

/// Lahore's district totals (alerts, cases) by its station officer.
async fn lahore_totals(conn: &mut Conn) -> (u64, u64) {
    let (status, body) = conn.fetch("GET", "/api/v1/stats?district=PB-LHR", "").await;
    if status != 200 {
        return (0, 0);
    }
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    (
        v["alerts"]["total"].as_u64().unwrap_or(0),
        v["cases"]["total"].as_u64().unwrap_or(0),
    )
}

/// One client asking Lahore, one request after another, until `done` says stop: the latencies.
async fn keep_asking(token: String, done: Arc<AtomicUsize>) -> Vec<Duration> {
    let mut conn = Conn::open(LAHORE.parse().expect("address"), &token).await;
    let paths = [
        "/api/v1/alerts?limit=50",
        "/api/v1/stats?district=PB-LHR",
        "/api/v1/cases?limit=50",
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while done.load(Ordering::SeqCst) == 0 {
        let t = Instant::now();
        let status = conn.request("GET", paths[i % paths.len()], "").await;
        assert_eq!(status, 200);
        out.push(t.elapsed());
        i += 1;
    }
    out
}

fn catch_up(base: &Path, entries: usize) {
    let data = base.join("catch-up");
    let (demo_process, tokens) = demo(&data, &["lahore"]);
    let (ig, officer) = (token(&tokens, "punjab"), token(&tokens, "lahore"));
    let rt = runtime();
    let lahore = serve(&data, "lahore");
    rt.block_on(until_up(LAHORE, Instant::now()));
    // Idle: Lahore holds nothing of the week yet, and nothing arrives.
    let stop_idle = Arc::new(AtomicUsize::new(0));
    let idle = rt.block_on(async {
        let asking = tokio::spawn(keep_asking(officer.clone(), stop_idle.clone()));
        tokio::time::sleep(Duration::from_secs(10)).await;
        stop_idle.store(1, Ordering::SeqCst);
        asking.await.expect("asking")
    });
    stop(lahore);
    // A week's work for Lahore, taken at Punjab while Lahore is off.
    let cases = entries / 5;
    let alerts = entries - cases;
    let started = Instant::now();
    rt.block_on(async {
        let next = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..WRITERS)
            .map(|_| {
                let (ig, next) = (ig.clone(), next.clone());
                tokio::spawn(async move {
                    let mut conn = Conn::open(PUNJAB.parse().expect("address"), &ig).await;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= entries {
                            return;
                        }
                        let (path, body) = if i < alerts {
                            ("/api/v1/alerts", alert_json(now_ms(), i))
                        } else {
                            ("/api/v1/cases", case_json(i))
                        };
                        let (status, answer) = conn.fetch("POST", path, &body).await;
                        assert_eq!(status, 201, "{path}: {}", String::from_utf8_lossy(&answer));
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.expect("client");
        }
    });
    let writing = started.elapsed();
    eprintln!(
        "catch-up: Punjab took {entries} records in {:.1} s",
        writing.as_secs_f64()
    );
    // Lahore comes back.
    let started = Instant::now();
    let lahore = serve(&data, "lahore");
    let (open, caught_up, busy, requests_during) = rt.block_on(async {
        let open = until_up(LAHORE, started).await;
        let done = Arc::new(AtomicUsize::new(0));
        let asking = tokio::spawn(keep_asking(officer.clone(), done.clone()));
        let mut poll = Conn::open(LAHORE.parse().expect("address"), &officer).await;
        loop {
            let (a, c) = lahore_totals(&mut poll).await;
            if a >= alerts as u64 && c >= cases as u64 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1_800),
                "Lahore caught up {a} alerts and {c} cases of {alerts} and {cases} in 30 minutes"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caught_up = started.elapsed();
        done.store(1, Ordering::SeqCst);
        let mut busy = asking.await.expect("asking");
        let n = busy.len();
        (open, caught_up, percentile_pair(&mut busy), n)
    });
    let stop_after = Arc::new(AtomicUsize::new(0));
    let after = rt.block_on(async {
        let asking = tokio::spawn(keep_asking(officer.clone(), stop_after.clone()));
        tokio::time::sleep(Duration::from_secs(10)).await;
        stop_after.store(1, Ordering::SeqCst);
        asking.await.expect("asking")
    });
    stop(lahore);
    stop(demo_process);
    let (mut idle, mut after) = (idle, after);
    println!(
        "## Catch-up: Lahore offline while Punjab took {entries} records for it ({alerts} alerts, {cases} cases; one entry each), in {:.1} s over HTTP",
        writing.as_secs_f64()
    );
    println!(
        "| Lahore | time | API p50 / p99 (alerts page, district statistics, cases page; one client) | requests |"
    );
    println!("|---|---|---|---|");
    println!(
        "| idle, before | | {:.2} / {:.2} ms | {} |",
        percentile(&mut idle, 0.5),
        percentile(&mut idle, 0.99),
        idle.len()
    );
    println!(
        "| restarted: open until `/healthz` | {:.2} s | | |",
        open.as_secs_f64()
    );
    println!(
        "| restarted: catching up, until it holds all {entries} | {:.1} s ({:.0} entries/s) | {:.2} / {:.2} ms | {requests_during} |",
        caught_up.as_secs_f64(),
        entries as f64 / (caught_up - open).as_secs_f64(),
        busy.0,
        busy.1
    );
    println!(
        "| idle, after | | {:.2} / {:.2} ms | {} |",
        percentile(&mut after, 0.5),
        percentile(&mut after, 0.99),
        after.len()
    );
    println!();
}

fn percentile_pair(samples: &mut [Duration]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    (percentile(samples, 0.5), percentile(samples, 0.99))
}

fn main() {
    assert!(
        hifazat_bench::hifazat_binary().exists(),
        "{} is missing: run `cargo build --release` first",
        hifazat_bench::hifazat_binary().display()
    );
    let sizes: Vec<usize> = std::env::var("HIFAZAT_NATIONAL")
        .unwrap_or_else(|_| "10000,100000,1000000,3000000".into())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .expect("HIFAZAT_NATIONAL: comma-separated counts")
        })
        .collect();
    assert!(
        sizes.windows(2).all(|w| w[0] < w[1]),
        "HIFAZAT_NATIONAL: increasing sizes (one store grows through them)"
    );
    let catch_up_entries: usize = std::env::var("HIFAZAT_CATCHUP")
        .map_or(50_000, |v| v.parse().expect("HIFAZAT_CATCHUP: a count"));
    let base = match std::env::var_os("HIFAZAT_NATIONAL_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("a directory for the stores");
    if catch_up_entries > 0 {
        catch_up(base.path(), catch_up_entries);
    }
    if !sizes.is_empty() {
        curve(base.path(), &sizes);
    }
    if std::env::var_os("HIFAZAT_NATIONAL_KEEP").is_some() {
        eprintln!("stores kept in {}", base.keep().display());
    }
}
