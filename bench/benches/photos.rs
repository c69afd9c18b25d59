//! A node keeps serving its API while photos are described: list-alerts through HTTP with the node idle, then the
//! same while a batch of 100 photos is uploaded (each cleaned, its faces found and described on the node's one
//! photo worker thread), measured in the same run; and how long the batch took.
//!
//! A plain program (`cargo bench -p hifazat-bench --bench photos`). The node serves on 127.0.0.35 with its own
//! runtime (2 worker threads, as on the project's 2-core machine); `CLIENTS` keep-alive clients list alerts one
//! request after another on a runtime of their own thread, and one more client uploads the photos one after
//! another, as an office importing a batch would. The photos are face_recognition 1.3.0's six test photographs
//! (`scripts/faces/reference.sh` puts them in `target/faces/photos`), each uploaded in turn until 100 are done.
//! Bounded: a fixed number of requests, each with a time limit.

#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

const HOST: &str = "127.0.0.35";
/// Clients listing alerts at once.
const CLIENTS: usize = 8;
/// Photos in the batch.
const PHOTOS: usize = 100;
/// Alerts the node holds.
const ALERTS: usize = 2_000;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Lists alerts from `CLIENTS` clients until `stop` is set (after `min` requests each at least, and at most
/// `max`); the figures of every request.
fn list_while(
    addr: SocketAddr,
    token: String,
    stop: Arc<AtomicBool>,
    min: usize,
    max: usize,
) -> Figures {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let started = Instant::now();
            let tasks: Vec<_> = (0..CLIENTS)
                .map(|_| {
                    let (token, stop) = (token.clone(), stop.clone());
                    tokio::spawn(async move {
                        let mut conn = Conn::open(addr, &token).await;
                        let mut lat = Vec::new();
                        while lat.len() < max && (lat.len() < min || !stop.load(Ordering::Relaxed))
                        {
                            let t = Instant::now();
                            let status = tokio::time::timeout(
                                Duration::from_secs(30),
                                conn.request("GET", "/api/v1/alerts?limit=50", ""),
                            )
                            .await
                            .expect("a list within 30 s");
                            assert_eq!(status, 200);
                            lat.push(t.elapsed());
                        }
                        lat
                    })
                })
                .collect();
            let mut latencies = Vec::new();
            for t in tasks {
                latencies.extend(t.await.unwrap());
            }
            figures(latencies, started.elapsed())
        })
    })
    .join()
    .unwrap()
}

fn main() {
    let photos_dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/faces/photos"
    ));
    let mut photos: Vec<Vec<u8>> = std::fs::read_dir(&photos_dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}: run `bash scripts/faces/reference.sh` first",
                photos_dir.display()
            )
        })
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jpg"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    photos.sort();
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
    let (engine, router) = server.block_on(async {
        let engine = Engine::start(EngineConfig {
            node_name: "lahore".into(),
            clock: hifazat_domain::Clock::system(),
            topology,
            signer: Signer::new(SigningKey::from_bytes(&[5; 32])),
            store: Store::open(&dir.path().join("store")).unwrap(),
        })
        .unwrap();
        let matcher = hifazat_matcher::Matcher::start(
            engine.clone(),
            hifazat_matcher::Worker::start().unwrap(),
            hifazat_matcher::DEFAULT_THRESHOLD,
        );
        let router = Api::new(engine.clone())
            .users(Directory::open(dir.path()).unwrap())
            .matcher(Some(matcher))
            .router();
        (engine, router)
    });
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
    server.block_on(async {
        for _ in 0..ALERTS / 50 {
            let writes: Vec<_> = (0..50)
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
    println!(
        "{CLIENTS} clients listing alerts (50 a page of {ALERTS}); node at {addr} with a 2-thread runtime and one photo worker\n"
    );
    // Warm-up, then the idle figures.
    let stop = Arc::new(AtomicBool::new(true));
    list_while(addr, token.clone(), stop.clone(), 50, 50);
    let idle = list_while(addr, token.clone(), stop.clone(), 400, 400);
    // The batch, one upload after another, while the clients list until it is done.
    stop.store(false, Ordering::Relaxed);
    let lister = {
        let (token, stop) = (token.clone(), stop.clone());
        std::thread::spawn(move || list_while(addr, token, stop, 50, 1_000_000))
    };
    let upload = {
        let (token, stop) = (token.clone(), stop.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut conn = Conn::open(addr, &token).await;
                let started = Instant::now();
                let mut lat = Vec::with_capacity(PHOTOS);
                for i in 0..PHOTOS {
                    let t = Instant::now();
                    let (status, _, body) = tokio::time::timeout(
                        Duration::from_secs(60),
                        conn.send_bytes(
                            "POST",
                            "/api/v1/photos?purpose=alert",
                            "image/jpeg",
                            &photos[i % photos.len()],
                        ),
                    )
                    .await
                    .expect("an upload within 60 s");
                    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
                    lat.push(t.elapsed());
                }
                stop.store(true, Ordering::Relaxed);
                figures(lat, started.elapsed())
            })
        })
    };
    let uploads = upload.join().unwrap();
    let busy = lister.join().unwrap();
    row("list alerts, idle", idle, idle);
    row("list alerts, while 100 photos are described", busy, idle);
    println!(
        "100 photos cleaned and described: {:.1} photos/s; per photo p50 {:.0} ms, p99 {:.0} ms",
        uploads.per_second, uploads.p50_ms, uploads.p99_ms
    );
}
