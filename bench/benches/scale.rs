//! The store at scale: space on disk, open time, the first record read after opening, and full re-verification,
//! for stores of 100,000 and 1,000,000 alerts, each beside raw sled holding as many values of the same size,
//! measured in the same run.
//!
//! Run: `cargo bench -p hifazat-bench --bench scale` (sizes: `HIFAZAT_SCALE=100000,1000000`, the default).
//! Needs about 4 GB of free disk in the temporary directory at 1,000,000. BENCHMARKS.md records the figures.

// A benchmark program: its table on standard output is the result.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use hifazat_domain::{AlertDoc, Context, Event, EventKind, RecordDoc, RecordId};
use hifazat_log::{Content, Head, LogId, Scope, Signer};
use hifazat_replica::NewRecord;
use hifazat_store::{RecordMeta, Store};
use hifazat_topology::Topology;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Authors writing into the store (a province node holds the logs of its districts and more).
const AUTHORS: usize = 64;
const BATCH: usize = 1_024;
const NOW_MS: u64 = 1_780_000_000_000;

/// One real alert's creation change: the payload every entry carries (the store does not read payloads).
fn alert_change() -> Vec<u8> {
    let topology = Topology::parse(include_str!("../../topology/demo.toml")).unwrap();
    let draft = hifazat_bench::alert_draft(NOW_MS);
    let intake = draft
        .validate(&Context {
            districts: &topology,
            now_ms: NOW_MS,
        })
        .unwrap();
    let doc = RecordDoc::Alert(AlertDoc {
        intake,
        timeline: vec![Event {
            kind: EventKind::Raised,
            at_ms: NOW_MS,
            by: "officer".into(),
            node: "lahore".into(),
            note: None,
        }],
        sightings: vec![],
    });
    NewRecord::build([7; 32], RecordId([1; 16]), &doc, NOW_MS)
        .unwrap()
        .change()
        .to_vec()
}

fn record_id(n: u64) -> RecordId {
    let mut id = [0u8; 16];
    id[..6].copy_from_slice(&(NOW_MS + n).to_be_bytes()[2..]);
    id[8..].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    RecordId(id)
}

/// Fills `store` with `n` alert creations over `AUTHORS` logs; returns the entries' total bytes.
fn fill(store: &Store, n: usize, payload: &[u8]) -> u64 {
    let signers: Vec<Signer> = (0..AUTHORS)
        .map(|i| Signer::new(SigningKey::from_bytes(&[i as u8 + 1; 32])))
        .collect();
    let mut heads: Vec<Option<Head>> = vec![None; AUTHORS];
    let mut bytes = 0u64;
    let mut batch = store.batch();
    let started = Instant::now();
    for i in 0..n {
        let a = i % AUTHORS;
        let log = LogId {
            author: signers[a].author(),
            scope: Scope::alerts(),
        };
        let seq = heads[a].map_or(1, |h| h.seq + 1);
        let record = record_id(i as u64);
        let content = Content::following(
            log,
            heads[a],
            NOW_MS + i as u64,
            record.0,
            "officer".into(),
            payload.to_vec(),
        );
        debug_assert_eq!(content.seq, seq);
        let entry = signers[a].sign(content).unwrap();
        heads[a] = Some(entry.head());
        bytes += entry.bytes().len() as u64;
        let meta = RecordMeta {
            kind: hifazat_domain::RecordKind::Alert,
            created_ms: NOW_MS + i as u64,
        };
        store.append(&mut batch, &entry, Some(meta)).unwrap();
        if batch.len() >= BATCH {
            store
                .commit(std::mem::replace(&mut batch, store.batch()))
                .unwrap();
        }
        if (i + 1) % 100_000 == 0 {
            eprintln!(
                "  filled {}/{n} ({:.0}/s)",
                i + 1,
                (i + 1) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    store.commit(batch).unwrap();
    bytes
}

/// Raw sled with `n` values of `value_len` bytes under sequential 40-byte keys, flushed every `BATCH`.
fn raw_fill(dir: &Path, n: usize, value_len: usize) {
    let db = sled::Config::new()
        .path(dir)
        .mode(sled::Mode::HighThroughput)
        .open()
        .unwrap();
    let value = vec![0x5a; value_len];
    let mut batch = sled::Batch::default();
    for i in 0..n {
        let mut key = [0u8; 40];
        key[..8].copy_from_slice(&((i % AUTHORS) as u64).to_be_bytes());
        key[32..].copy_from_slice(&(i as u64).to_be_bytes());
        batch.insert(&key[..], value.as_slice());
        if (i + 1) % BATCH == 0 {
            db.apply_batch(std::mem::take(&mut batch)).unwrap();
            db.flush().unwrap();
        }
    }
    db.apply_batch(batch).unwrap();
    db.flush().unwrap();
}

fn du(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                du(&e.path())
            } else {
                e.metadata().unwrap().len()
            }
        })
        .sum()
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn main() {
    // Criterion-style arguments (`--bench`, filters) are accepted and ignored.
    let sizes: Vec<usize> = std::env::var("HIFAZAT_SCALE")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("HIFAZAT_SCALE: comma-separated counts")
        })
        .collect();
    let payload = alert_change();
    println!(
        "payload: one alert creation change, {} bytes",
        payload.len()
    );
    println!(
        "| alerts | logical bytes | on disk | raw sled on disk | open | raw sled open | record read after open | log verify | raw verify_batch |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        let tmp = tempfile::tempdir().unwrap();
        let ours = tmp.path().join("ours");
        eprintln!("{n} alerts: filling the store");
        let logical = {
            let store = Store::open(&ours).unwrap();
            fill(&store, n, &payload)
        };
        let raw = tmp.path().join("raw");
        eprintln!("{n} alerts: filling raw sled");
        raw_fill(&raw, n, (logical / n as u64) as usize);
        let ours_disk = du(&ours);
        let raw_disk = du(&raw);
        // Open: ours checks every log's head against its stored entry; raw sled only opens.
        let (store, open) = time(|| Store::open(&ours).unwrap());
        let (_, raw_open) = time(|| {
            sled::Config::new()
                .path(&raw)
                .mode(sled::Mode::HighThroughput)
                .open()
                .unwrap()
        });
        let (changes, first_read) =
            time(|| store.record_changes(&record_id(n as u64 / 2)).unwrap());
        assert_eq!(changes.len(), 1);
        eprintln!("{n} alerts: re-verifying every entry");
        let (report, verify) = time(|| hifazat_engine::verify_store(&store, |_| {}).unwrap());
        assert_eq!(report.entries, n as u64);
        assert_eq!(report.failures, 0);
        // Raw: ed25519-dalek's batch verification over the same number of entries' messages, in batches of 256.
        let raw_verify = raw_verify_time(&store, n);
        println!(
            "| {n} | {:.0} MB | {:.0} MB ({:.2}x raw) | {:.0} MB | {:.0} ms ({:.2}x raw) | {:.0} ms | {:.2} ms | {:.0}/s ({:.2} of raw) | {:.0}/s |",
            logical as f64 / 1e6,
            ours_disk as f64 / 1e6,
            ours_disk as f64 / raw_disk as f64,
            raw_disk as f64 / 1e6,
            open.as_secs_f64() * 1e3,
            open.as_secs_f64() / raw_open.as_secs_f64(),
            raw_open.as_secs_f64() * 1e3,
            first_read.as_secs_f64() * 1e3,
            n as f64 / verify.as_secs_f64(),
            raw_verify.as_secs_f64() / verify.as_secs_f64(),
            n as f64 / raw_verify.as_secs_f64(),
        );
    }
}

/// ed25519-dalek's `verify_batch` over the entries' signed messages (read back from the store, not timed), in
/// batches of 256; the time for all `n`.
fn raw_verify_time(store: &Store, n: usize) -> Duration {
    let mut total = Duration::ZERO;
    for head in store.heads().unwrap() {
        let digest = head.log.digest();
        let mut next = 1;
        while next <= head.head.seq {
            let chunk = store.entries(&digest, next, 256).unwrap();
            let entries: Vec<_> = chunk
                .iter()
                .map(|b| hifazat_log::Entry::decode(b).unwrap())
                .collect();
            // The per-entry key decoding in `new` is outside the timing, as the messages are.
            let dalek = hifazat_bench::DalekBatch::new(&entries);
            let start = Instant::now();
            dalek.verify();
            total += start.elapsed();
            next += chunk.len() as u64;
        }
    }
    assert!(n > 0);
    total
}
