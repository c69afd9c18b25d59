//! The local write path and the remote apply path, each beside the raw stages it is built from, measured in the
//! same run. Run: `cargo bench -p hifazat-bench --bench core`. BENCHMARKS.md records the figures.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use automerge::transaction::{CommitOptions, Transactable};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer as _, SigningKey};
use hifazat_domain::*;
use hifazat_engine::{Engine, EngineConfig};
use hifazat_log::{Content, Entry, LogId, Scope, Signer, Verifier};
use hifazat_replica::{NoChanges, Replicas};
use hifazat_store::Store;
use hifazat_topology::Topology;

// The binary's allocator, so the raw stages and our paths run on what a node runs on.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const GROUP: usize = 64;
const CLIENTS: usize = 256;
const BATCH: usize = 256;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn topology() -> Topology {
    Topology::parse(include_str!("../../topology/demo.toml")).unwrap()
}

/// A node's engine over a new store in `dir`, with a key made from `seed`.
fn engine(dir: &std::path::Path, node_name: &str, seed: u8) -> Engine {
    Engine::start(EngineConfig {
        node_name: node_name.into(),
        clock: hifazat_domain::Clock::system(),
        topology: topology(),
        signer: Signer::new(SigningKey::from_bytes(&[seed; 32])),
        store: Store::open(dir).unwrap(),
    })
    .unwrap()
}

fn draft() -> AlertDraft {
    hifazat_bench::alert_draft(now_ms())
}

fn alert_doc() -> RecordDoc {
    let topology = topology();
    let intake = draft()
        .validate(&Context {
            districts: &topology,
            now_ms: now_ms(),
        })
        .unwrap();
    let raised = Event {
        kind: EventKind::Raised,
        at_ms: 1,
        by: "api".into(),
        node: "lahore".into(),
        note: None,
    };
    RecordDoc::Alert(AlertDoc {
        intake,
        timeline: vec![raised],
        sightings: vec![],
    })
}

/// The alert's document as an automerge tree, built directly (no serde), once, outside the measured loop.
fn raw_alert_tree() -> automerge::hydrate::Map {
    fn tree(value: &serde_json::Value) -> automerge::hydrate::Value {
        use automerge::{ScalarValue, hydrate::Value};
        match value {
            serde_json::Value::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), tree(v)))
                    .collect::<std::collections::HashMap<_, _>>()
                    .into(),
            ),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(tree).collect::<Vec<_>>().into())
            }
            serde_json::Value::String(s) => Value::Scalar(ScalarValue::Str(s.as_str().into())),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Scalar(ScalarValue::Int(i)),
                None => Value::Scalar(ScalarValue::F64(n.as_f64().unwrap())),
            },
            serde_json::Value::Bool(b) => Value::Scalar(ScalarValue::Boolean(*b)),
            serde_json::Value::Null => Value::Scalar(ScalarValue::Null),
        }
    }
    match tree(&serde_json::to_value(alert_doc()).unwrap()) {
        automerge::hydrate::Value::Map(map) => map,
        _ => unreachable!("a record is a map"),
    }
}

/// Raw automerge: a new document with the alert's tree written by automerge's batch creation, commit, take the
/// change: the same automerge work the write path does, without our mapping.
fn raw_automerge_create(tree: &automerge::hydrate::Map) -> Vec<u8> {
    let mut doc = automerge::AutoCommit::new();
    doc.init_root_from_hydrate(tree).unwrap();
    doc.commit_with(CommitOptions::default().with_time(1));
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

fn write_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("write");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    let key = SigningKey::from_bytes(&[1; 32]);
    let message = vec![7u8; 700];
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_ed25519_sign", |b| b.iter(|| key.sign(&message)));
    let tree = raw_alert_tree();
    g.bench_function("raw_automerge_commit", |b| {
        b.iter(|| raw_automerge_create(&tree))
    });
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new()
        .path(dir.path().join("raw"))
        .mode(sled::Mode::HighThroughput)
        .open()
        .unwrap();
    let value = vec![3u8; 800];
    let mut i = 0u64;
    g.bench_function("raw_sled_insert_flush", |b| {
        b.iter(|| {
            i += 1;
            db.insert(i.to_be_bytes(), value.as_slice()).unwrap();
            db.flush().unwrap();
        })
    });
    let engine = engine(&dir.path().join("node"), "lahore", 2);
    g.bench_function("hifazat_raise_alert_one_by_one", |b| {
        b.iter(|| {
            engine
                .raise_alert_blocking(draft(), "bench".into())
                .unwrap()
        })
    });

    g.throughput(Throughput::Elements(GROUP as u64));
    g.bench_function("raw_sled_insert_flush_grouped_64", |b| {
        b.iter(|| {
            for _ in 0..GROUP {
                i += 1;
                db.insert(i.to_be_bytes(), value.as_slice()).unwrap();
            }
            db.flush().unwrap();
        })
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // 64 clients, each raising alerts one after another (a closed loop with no barrier between rounds).
    g.throughput(Throughput::Elements(1));
    g.bench_function("hifazat_raise_alert_64_concurrent", |b| {
        b.iter_custom(|iters| {
            let per_client = iters.div_ceil(CLIENTS as u64);
            let start = std::time::Instant::now();
            rt.block_on(async {
                let clients: Vec<_> = (0..CLIENTS)
                    .map(|_| {
                        let engine = engine.clone();
                        tokio::spawn(async move {
                            for _ in 0..per_client {
                                engine.raise_alert(draft(), "bench".into()).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for c in clients {
                    c.await.unwrap();
                }
            });
            // Time per alert actually raised (the rounding up may raise a few more than asked).
            start
                .elapsed()
                .mul_f64(iters as f64 / (per_client * CLIENTS as u64) as f64)
        })
    });
    g.finish();
}

/// `BATCH` entries from one remote author, each creating a different record.
fn remote_entries() -> Vec<Vec<u8>> {
    let signer = Signer::new(SigningKey::from_bytes(&[9; 32]));
    let mut replicas = Replicas::new(signer.author().0);
    let doc = alert_doc();
    let log = LogId {
        author: signer.author(),
        scope: Scope::alerts(),
    };
    let mut head = None;
    (1..=BATCH as u64)
        .map(|seq| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&seq.to_be_bytes());
            let payload = replicas.create(RecordId(id), &doc, 1).unwrap();
            let content = Content::following(log.clone(), head, seq, id, "officer".into(), payload);
            let e = signer.sign(content).unwrap();
            head = Some(e.head());
            e.bytes().to_vec()
        })
        .collect()
}

fn remote_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("remote");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(BATCH as u64));
    let raw = remote_entries();
    let entries: Vec<Entry> = raw.iter().map(|b| Entry::decode(b).unwrap()).collect();

    // Raw: ed25519-dalek's own batch verification over the same messages and signatures.
    let dalek = hifazat_bench::DalekBatch::new(&entries);
    g.bench_function("raw_ed25519_verify_batch", |b| b.iter(|| dalek.verify()));
    // Raw: automerge applying the same changes, one batch per document.
    let changes: Vec<automerge::Change> = entries
        .iter()
        .map(|e| automerge::Change::from_bytes(e.content().payload.clone()).unwrap())
        .collect();
    g.bench_function("raw_automerge_apply", |b| {
        b.iter_batched(
            || changes.clone(),
            |changes| {
                for change in changes {
                    let mut doc = automerge::AutoCommit::new();
                    doc.apply_changes_batch([change]).unwrap();
                }
            },
            BatchSize::LargeInput,
        )
    });
    // Ours: decode, verify under the pinned rule in batches, apply in batches per record (no store).
    g.bench_function("hifazat_verify_and_apply", |b| {
        b.iter_batched(
            || raw.clone(),
            |raw| {
                let decoded: Vec<Entry> = raw.iter().map(|b| Entry::decode(b).unwrap()).collect();
                let verified: Vec<_> = Verifier::new()
                    .verify_batch(decoded)
                    .into_iter()
                    .map(|r| r.unwrap())
                    .collect();
                let mut replicas = Replicas::new([5; 32]);
                let report = replicas.apply(&verified, &NoChanges);
                assert_eq!(report.applied, BATCH);
            },
            BatchSize::LargeInput,
        )
    });
    // Ours, whole: the engine verifies, appends to the store, flushes once, and applies.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    g.bench_function("hifazat_engine_apply_remote_with_flush", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let engine = engine(dir.path(), "punjab", 3);
                (dir, engine, raw.clone())
            },
            |(dir, engine, raw)| {
                let report = rt.block_on(engine.apply_remote(raw)).unwrap();
                assert_eq!(report.stored(), BATCH);
                drop(engine);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, write_path, remote_path);
criterion_main!(benches);
