//! The public pages under load on loopback, beside the JSON API's same reads, measured in the same run: the home
//! page beside `GET /api/v1/alerts?status=validated&limit=20`, an alert's page beside `GET /api/v1/alerts/{id}`,
//! the statistics page beside `GET /api/v1/stats`; and each page's weight.
//!
//! A plain program (`cargo bench -p hifazat-bench --bench pages`). One node (Lahore of the demo layout, no
//! network) serves on 127.0.0.34 with its own runtime of 2 worker threads; the load generator runs `CLIENTS`
//! keep-alive connections as the public (no token) on a runtime of its own thread, each sending its requests one
//! after another. Bounded: a fixed number of requests per phase, each phase with a time limit.

#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use hifazat_api::Api;
use hifazat_bench::alert_draft;
use hifazat_bench::load::{Conn, Figures, figures, row};
use hifazat_domain::{CaseCategory, CaseDraft, Channel, EventKind};
use hifazat_engine::{Engine, EngineConfig};
use hifazat_log::Signer;
use hifazat_store::Store;
use hifazat_topology::Topology;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HOST: &str = "127.0.0.34";
/// Concurrent clients.
const CLIENTS: usize = 32;
/// Requests per client in each phase.
const PER_CLIENT: usize = 100;
/// Rounds of the phases.
const ROUNDS: usize = 2;
/// Validated alerts the node holds.
const ALERTS: usize = 2_000;
/// Complaints the node holds.
const CASES: usize = 2_000;
/// The most a page may weigh before the font, as the portal's issue sets it.
const PAGE_BYTES_GOAL: usize = 100 * 1024;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Runs `clients` public clients of `PER_CLIENT` GETs each, client `c` asking for `path(c, i)`, on a runtime of
/// its own thread.
fn load(
    addr: SocketAddr,
    clients: usize,
    path: impl Fn(usize, usize) -> String + Send + Sync + 'static,
) -> Figures {
    let path = Arc::new(path);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let started = Instant::now();
            let tasks: Vec<_> = (0..clients)
                .map(|c| {
                    let path = path.clone();
                    tokio::spawn(tokio::time::timeout(Duration::from_secs(300), async move {
                        let mut conn = Conn::open(addr, "").await;
                        let mut lat = Vec::with_capacity(PER_CLIENT);
                        for i in 0..PER_CLIENT {
                            let p = path(c, i);
                            let t = Instant::now();
                            let (status, _) = conn.exchange("GET", &p, "").await;
                            assert_eq!(status, 200, "{p}");
                            lat.push(t.elapsed());
                        }
                        lat
                    }))
                })
                .collect();
            let mut latencies = Vec::new();
            for t in tasks {
                latencies.extend(t.await.unwrap().expect("the phase finishes in time"));
            }
            figures(latencies, started.elapsed())
        })
    })
    .join()
    .unwrap()
}

/// The size of one public GET's body.
fn weight(addr: SocketAddr, path: &str) -> usize {
    let path = path.to_owned();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let mut conn = Conn::open(addr, "").await;
                let (status, bytes) = conn.exchange("GET", &path, "").await;
                assert_eq!(status, 200, "{path}");
                bytes
            })
    })
    .join()
    .unwrap()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::parse(include_str!("../../topology/demo.toml")).unwrap();
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let engine = server.block_on(async {
        Engine::start(EngineConfig {
            node_name: "lahore".into(),
            clock: hifazat_domain::Clock::system(),
            topology,
            signer: Signer::new(SigningKey::from_bytes(&[5; 32])),
            store: Store::open(&dir.path().join("store")).unwrap(),
        })
        .unwrap()
    });
    // The public's per-address limit off: every request here comes from one address.
    let router = Api::new(engine.clone())
        .public_rate(u32::MAX, u32::MAX)
        .router();
    let listener = server
        .block_on(tokio::net::TcpListener::bind(format!("{HOST}:0")))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    server.spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });

    // The node's records: validated alerts and complaints in Lahore, written in groups of 64 at once.
    let ids = server.block_on(async {
        let mut ids = Vec::with_capacity(ALERTS);
        for _ in 0..ALERTS / 64 {
            let writes: Vec<_> = (0..64)
                .map(|_| {
                    let e = engine.clone();
                    tokio::spawn(async move {
                        let id = e
                            .raise_alert(alert_draft(now_ms()), "bench".into())
                            .await
                            .unwrap();
                        e.add_event(id, EventKind::Validated, None, "bench".into())
                            .await
                            .unwrap();
                        id
                    })
                })
                .collect();
            for w in writes {
                ids.push(w.await.unwrap());
            }
        }
        for _ in 0..CASES / 64 {
            let writes: Vec<_> = (0..64)
                .map(|i| {
                    let e = engine.clone();
                    tokio::spawn(async move {
                        let draft = CaseDraft {
                            category: if i % 3 == 0 {
                                CaseCategory::Harassment
                            } else {
                                CaseCategory::DomesticViolence
                            },
                            district: "PB-LHR".into(),
                            place: None,
                            description: "Followed home from school".into(),
                            channel: Channel::Helpline1099,
                            victim_age_years: Some(15),
                            complainant: None,
                            media: None,
                        };
                        e.file_case(draft, "bench".into()).await.unwrap();
                    })
                })
                .collect();
            for w in writes {
                w.await.unwrap();
            }
        }
        ids
    });
    let ids: Arc<Vec<String>> = Arc::new(ids.iter().map(|id| id.to_string()).collect());
    println!(
        "{} validated alerts and {} complaints on the node; {CLIENTS} public clients × {PER_CLIENT} requests \
         each, per phase; server runtime 2 threads; node at {addr}\n",
        ids.len(),
        CASES / 64 * 64
    );

    // Each pair twice, JSON first then the page, so neither always runs on a colder node.
    for round in 1..=ROUNDS {
        println!("round {round}");
        let json_home = load(addr, CLIENTS, |_, _| {
            "/api/v1/alerts?status=validated&limit=20".to_owned()
        });
        let page_home = load(addr, CLIENTS, |_, _| "/".to_owned());
        let (a, b) = (ids.clone(), ids.clone());
        let json_alert = load(addr, CLIENTS, move |c, i| {
            format!("/api/v1/alerts/{}", a[(c * PER_CLIENT + i) % a.len()])
        });
        let page_alert = load(addr, CLIENTS, move |c, i| {
            format!("/alerts/{}", b[(c * PER_CLIENT + i) % b.len()])
        });
        // The node computes at most `STATS_CONCURRENCY_MAX` statistics at once and answers 503 past that, so
        // these phases run that many clients.
        let stats_clients = hifazat_limits::STATS_CONCURRENCY_MAX;
        let json_stats = load(addr, stats_clients, |_, _| "/api/v1/stats".to_owned());
        let page_stats = load(addr, stats_clients, |_, _| "/statistics".to_owned());
        println!("the 20 newest validated alerts (baseline: the JSON list)");
        row(
            "  GET /api/v1/alerts?status=validated&limit=20",
            json_home,
            json_home,
        );
        row("  GET / (home page)", page_home, json_home);
        println!("one alert (baseline: its JSON)");
        row("  GET /api/v1/alerts/{id}", json_alert, json_alert);
        row("  GET /alerts/{id} (its page)", page_alert, json_alert);
        println!("statistics, {stats_clients} clients (baseline: the JSON figures)");
        row("  GET /api/v1/stats", json_stats, json_stats);
        row("  GET /statistics (with its map)", page_stats, json_stats);
    }

    // Page weight: each page's HTML, and what it loads from the node beside the font.
    let css = weight(addr, hifazat_web::assets::STYLE.path());
    let js = weight(addr, hifazat_web::assets::LIVE.path());
    let fonts: usize = hifazat_web::assets::NASTALIQ
        .iter()
        .map(|f| weight(addr, f.path()))
        .sum();
    println!(
        "\npage weight (HTML + stylesheet {css} B, + script {js} B on the home page; goal under {PAGE_BYTES_GOAL} B before the font)"
    );
    let first = ids[0].clone();
    for (name, path, script) in [
        ("home", "/".to_owned(), true),
        ("alert", format!("/alerts/{first}"), false),
        ("poster", format!("/alerts/{first}/poster"), false),
        ("raise", "/raise".to_owned(), false),
        ("complaint", "/complaint".to_owned(), false),
        ("track", "/track".to_owned(), false),
        ("statistics", "/statistics".to_owned(), false),
        ("status", "/status".to_owned(), false),
    ] {
        let html = weight(addr, &path);
        let total = html + css + if script { js } else { 0 };
        println!(
            "  {name:<11} HTML {html:>6} B, with what it loads {total:>6} B{}",
            if total < PAGE_BYTES_GOAL {
                ""
            } else {
                "  OVER THE GOAL"
            }
        );
    }
    println!(
        "  the Urdu font, loaded by Urdu pages only: {fonts} B (both weights), cached for ever under its versioned name"
    );
    drop(server);
}
