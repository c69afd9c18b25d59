//! CNIC verification at the federal node: requests per second and latency for hits and for misses, on the register
//! service directly and over HTTP on loopback, beside raw sled insert + flush (each verification logs its
//! consultation durably before it answers) measured in this run at the same concurrency.
//!
//! A plain program (`cargo bench -p hifazat-bench --bench register`). The node serves on 127.0.0.32 with its own
//! runtime of 2 worker threads; `CLIENTS` clients send their requests one after another. Over HTTP every answer
//! waits for the fixed answer floor (`VERIFY_ANSWER_FLOOR_MS`), so latency there is the floor by design and
//! throughput is bounded by `CLIENTS / floor`. Bounded: a fixed number of requests per phase.

#![allow(clippy::print_stdout)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use hifazat_access::{Area, Directory, Role, Users};
use hifazat_api::Api;
use hifazat_bench::load::{Conn, Figures, figures, row};
use hifazat_engine::{Engine, EngineConfig};
use hifazat_log::Signer;
use hifazat_register::offender::{AddressDraft, Conviction, Parentage, Relation};
use hifazat_register::{
    Channel, GuardConfig, OffenderDraft, Outcome, Register, RegisterConfig, RegisterKeys, Requester,
};
use hifazat_store::Store;
use hifazat_topology::Topology;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HOST: &str = "127.0.0.32";
/// Concurrent clients.
const CLIENTS: usize = 64;
/// Requests per client in each phase.
const PER_CLIENT: usize = 200;
/// Offenders on the register.
const OFFENDERS: usize = 1_000;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn cnic(i: usize, on: bool) -> String {
    format!("{}{:07}1", if on { 35202 } else { 35203 }, i * 7)
}

/// `CLIENTS` threads, each running `per_client` calls one after another.
fn threads(per_client: usize, call: impl Fn(usize, usize) + Send + Sync + 'static) -> Figures {
    let call = Arc::new(call);
    let started = Instant::now();
    let handles: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let call = call.clone();
            std::thread::spawn(move || {
                (0..per_client)
                    .map(|i| {
                        let t = Instant::now();
                        call(c, i);
                        t.elapsed()
                    })
                    .collect::<Vec<Duration>>()
            })
        })
        .collect();
    let latencies: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    figures(latencies, started.elapsed())
}

fn raw_sled(dir: &std::path::Path) -> Figures {
    let db = sled::Config::new()
        .path(dir.join("raw"))
        .mode(sled::Mode::HighThroughput)
        .open()
        .unwrap();
    let value = vec![3u8; 300];
    threads(PER_CLIENT, move |c, i| {
        db.insert(
            ((c * PER_CLIENT + i) as u64).to_be_bytes(),
            value.as_slice(),
        )
        .unwrap();
        db.flush().unwrap();
    })
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::parse(include_str!("../../topology/demo.toml")).unwrap();
    let districts: BTreeSet<String> = topology.districts.iter().map(|d| d.code.clone()).collect();
    let config = RegisterConfig {
        guard: GuardConfig {
            user_per_day: 1_000_000,
            cnic_per_day: 1_000_000,
            ..GuardConfig::default()
        },
        ..RegisterConfig::default()
    };
    let register = Arc::new(
        Register::open(
            &dir.path().join("register"),
            RegisterKeys::from_secret(&[1; 32]),
            SigningKey::from_bytes(&[2; 32]),
            "federal",
            districts,
            config,
            now_ms(),
        )
        .unwrap(),
    );
    for i in 0..OFFENDERS {
        register
            .create(
                "register_officer:bench",
                &OffenderDraft {
                    cnic: cnic(i, true),
                    name: format!("Offender {i}"),
                    parentage: Parentage {
                        relation: Relation::SonOf,
                        name: format!("Parent {i}"),
                    },
                    aliases: vec![],
                    photo_ref: None,
                    convictions: vec![Conviction {
                        offence: "s.376 PPC".into(),
                        court: "Anti-Rape Special Court".into(),
                        date: "2021-05-01".into(),
                        sentence: "10 years".into(),
                    }],
                    address: AddressDraft {
                        address: "House 1, Street 2".into(),
                        district: "PB-LHR".into(),
                        since: "2021-06-01".into(),
                    },
                },
                now_ms(),
            )
            .unwrap();
    }
    println!(
        "{OFFENDERS} offenders on the register; {CLIENTS} clients × {PER_CLIENT} verifications per phase\n"
    );

    let raw = raw_sled(dir.path());
    row("raw sled insert + flush", raw, raw);
    for (label, on) in [("hits", true), ("misses", false)] {
        let r = register.clone();
        let f = threads(PER_CLIENT, move |c, i| {
            let requester = Requester::User(format!("verifier:client{c}"));
            let reply = r
                .verify(
                    &requester,
                    Channel::Api,
                    &cnic((c * 31 + i) % OFFENDERS, on),
                    now_ms(),
                )
                .unwrap();
            assert_eq!(reply.outcome == Outcome::Record, on);
        });
        row(&format!("verify, service directly, {label}"), f, raw);
    }

    // Over HTTP, on a federal node's router.
    let me = topology.node("federal").unwrap().clone();
    let (_, token) = Users::add(
        dir.path(),
        &topology,
        &me,
        "bench",
        Role::Verifier,
        Area::National,
    )
    .unwrap();
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let engine = server.block_on(async {
        Engine::start(EngineConfig {
            node_name: "federal".into(),
            clock: hifazat_domain::Clock::system(),
            topology: topology.clone(),
            signer: Signer::new(SigningKey::from_bytes(&[2; 32])),
            store: Store::open(&dir.path().join("store")).unwrap(),
        })
        .unwrap()
    });
    let router = Api::new(engine)
        .register(Some(register.clone()))
        .users(Directory::open(dir.path()).unwrap())
        .router();
    let listener = server
        .block_on(tokio::net::TcpListener::bind(format!("{HOST}:0")))
        .unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    server.spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    for (label, on) in [("hits", true), ("misses", false)] {
        let token = token.clone();
        let f = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let started = Instant::now();
                let tasks: Vec<_> = (0..CLIENTS)
                    .map(|c| {
                        let token = token.clone();
                        tokio::spawn(async move {
                            let mut conn = Conn::open(addr, &token).await;
                            let mut lat = Vec::with_capacity(PER_CLIENT);
                            for i in 0..PER_CLIENT {
                                let body = format!(
                                    r#"{{"cnic":"{}"}}"#,
                                    cnic((c * 31 + i) % OFFENDERS, on)
                                );
                                let t = Instant::now();
                                let status =
                                    conn.request("POST", "/api/v1/register/verify", &body).await;
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
        .unwrap();
        row(&format!("verify over HTTP, {label}"), f, raw);
    }
    println!(
        "\nOver HTTP every answer waits until {} ms after its request arrived (hit or miss alike).",
        hifazat_limits::VERIFY_ANSWER_FLOOR_MS
    );
}
