//! The API under load on loopback: raise-alert and list-alerts through HTTP on one node, beside the same operations
//! called on the engine directly (no HTTP) and raw sled insert + flush, all measured in this run.
//!
//! A plain program (`cargo bench -p hifazat-bench --bench api`). The node serves on 127.0.0.31 with its own
//! runtime (2 worker threads, as on the project's 2-core machine); the load generator runs `CLIENTS` keep-alive
//! connections on a runtime of its own thread, each sending its requests one after another. Bounded: a fixed
//! number of requests per phase, each request with a time limit.

#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use hifazat_access::{Area, Directory, Role, Users};
use hifazat_api::Api;
use hifazat_bench::alert_draft;
use hifazat_bench::load::{Conn, Figures, figures, row};
use hifazat_engine::{Engine, EngineConfig};
use hifazat_log::Signer;
use hifazat_store::Store;
use hifazat_topology::Topology;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HOST: &str = "127.0.0.31";
/// Concurrent clients.
const CLIENTS: usize = 64;
/// Requests per client in each phase.
const PER_CLIENT: usize = 150;
/// Rounds of the four phases.
const ROUNDS: usize = 2;
/// Alerts listed per page.
const PAGE: usize = 50;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The benchmarks' alert (`hifazat_bench::alert_draft`) as the JSON body a client posts.
fn alert_json(now: u64) -> String {
    let d = alert_draft(now);
    format!(
        r#"{{"child_name":"{}","age_years":{},"sex":"female","photo_ref":"{}","description":"{}",
"last_seen":{{"district":"{}","lat":{},"lon":{},"text":"{}"}},"last_seen_at_ms":{},
"reporter":{{"name":"{}","mobile":"{}"}},"channel":"helpline1099"}}"#,
        d.child_name,
        d.age_years,
        d.photo_ref.unwrap_or_default(),
        d.description,
        d.last_seen.district,
        d.last_seen.lat,
        d.last_seen.lon,
        d.last_seen.text,
        d.last_seen_at_ms,
        d.reporter.name,
        d.reporter.mobile.unwrap_or_default(),
    )
}

/// Runs `CLIENTS` clients of `PER_CLIENT` calls each on a runtime of its own thread.
fn load<F, Fut>(make: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<Duration>> + Send + 'static,
{
    let make = Arc::new(make);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let started = Instant::now();
            let tasks: Vec<_> = (0..CLIENTS)
                .map(|c| tokio::spawn(tokio::time::timeout(Duration::from_secs(120), make(c))))
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

fn raw_sled_insert_flush(dir: &std::path::Path) -> Figures {
    let db = sled::Config::new()
        .path(dir.join("raw"))
        .mode(sled::Mode::HighThroughput)
        .open()
        .unwrap();
    let value = vec![3u8; 800];
    let mut latencies = Vec::with_capacity(4000);
    let started = Instant::now();
    for i in 0..4000u64 {
        let t = Instant::now();
        db.insert(i.to_be_bytes(), value.as_slice()).unwrap();
        db.flush().unwrap();
        latencies.push(t.elapsed());
    }
    figures(latencies, started.elapsed())
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::parse(include_str!("../../topology/demo.toml")).unwrap();
    let me = topology.node("lahore").unwrap().clone();
    let (_, token) = Users::add(
        dir.path(),
        &topology,
        &me,
        "load",
        Role::Dpo,
        Area::District("PB-LHR".into()),
    )
    .unwrap();
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
    let router = Api::new(engine.clone())
        .users(Directory::open(dir.path()).unwrap())
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

    println!(
        "{CLIENTS} clients × {PER_CLIENT} requests each, per phase; server runtime 2 threads; node at {addr}\n"
    );
    let raw = raw_sled_insert_flush(dir.path());
    // Warm-up: the store and the caches past their first growth, and connections' first use.
    server.block_on(async {
        for _ in 0..20 {
            let writes: Vec<_> = (0..CLIENTS)
                .map(|_| {
                    let e = engine.clone();
                    tokio::spawn(async move {
                        e.raise_alert(alert_draft(now_ms()), "bench".into()).await
                    })
                })
                .collect();
            for w in writes {
                w.await.unwrap().unwrap();
            }
        }
    });

    // Each pair of phases twice, the engine directly and then HTTP, so neither always runs on a colder node.
    for round in 1..=ROUNDS {
        println!("round {round}");
        // Raise: the engine directly (no HTTP), then over HTTP.
        let e = engine.clone();
        let handle = server.handle().clone();
        let direct_raise = load(move |_| {
            let (e, handle) = (e.clone(), handle.clone());
            async move {
                let mut lat = Vec::with_capacity(PER_CLIENT);
                for _ in 0..PER_CLIENT {
                    let t = Instant::now();
                    let e = e.clone();
                    handle
                        .spawn(
                            async move { e.raise_alert(alert_draft(now_ms()), "bench".into()).await },
                        )
                        .await
                        .unwrap()
                        .unwrap();
                    lat.push(t.elapsed());
                }
                lat
            }
        });
        let t = token.clone();
        let http_raise = load(move |_| {
            let t = t.clone();
            async move {
                let mut conn = Conn::open(addr, &t).await;
                let mut lat = Vec::with_capacity(PER_CLIENT);
                for _ in 0..PER_CLIENT {
                    let body = alert_json(now_ms());
                    let started = Instant::now();
                    let status = conn.request("POST", "/api/v1/alerts", &body).await;
                    assert_eq!(status, 201);
                    lat.push(started.elapsed());
                }
                lat
            }
        });

        // List: the newest page of alerts in Lahore, on a store now holding both phases' alerts.
        let e = engine.clone();
        let handle = server.handle().clone();
        let direct_list = load(move |_| {
            let (e, handle) = (e.clone(), handle.clone());
            async move {
                let mut lat = Vec::with_capacity(PER_CLIENT);
                for _ in 0..PER_CLIENT {
                    let t = Instant::now();
                    let e = e.clone();
                    let page = handle
                        .spawn(async move {
                            let narrow = hifazat_engine::Narrow {
                                districts: Some(vec!["PB-LHR".into()]),
                                stage: None,
                            };
                            e.list_alerts(|s, _| s.district == "PB-LHR", narrow, None, PAGE)
                                .await
                        })
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(page.items.len(), PAGE);
                    lat.push(t.elapsed());
                }
                lat
            }
        });
        let t = token.clone();
        let http_list = load(move |_| {
            let t = t.clone();
            async move {
                let mut conn = Conn::open(addr, &t).await;
                let mut lat = Vec::with_capacity(PER_CLIENT);
                let path = format!("/api/v1/alerts?district=PB-LHR&limit={PAGE}");
                for _ in 0..PER_CLIENT {
                    let started = Instant::now();
                    assert_eq!(conn.request("GET", &path, "").await, 200);
                    lat.push(started.elapsed());
                }
                lat
            }
        });

        println!("baseline: raw sled insert + flush, one at a time");
        row("  raw sled insert + flush", raw, raw);
        println!("raise alert (baseline: the engine's raise_alert, no HTTP, same clients)");
        row("  engine raise_alert", direct_raise, direct_raise);
        row("  POST /api/v1/alerts", http_raise, direct_raise);
        println!(
            "  POST /api/v1/alerts against raw sled insert + flush: {:.2}× its throughput",
            http_raise.per_second / raw.per_second
        );
        println!("list alerts, {PAGE} per page (baseline: the engine's list_alerts, no HTTP)");
        row("  engine list_alerts", direct_list, direct_list);
        row("  GET /api/v1/alerts", http_list, direct_list);
    }
    drop(server);
}
