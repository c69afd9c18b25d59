//! A hit and a miss take the same time: 10,016 verifications of CNICs on the register and 10,016 of CNICs not on
//! it, from 32 clients at once, interleaved in a seeded random order through the router (guard, index, entry or decoy, the consultation
//! flushed to disk, the padded reply), and a two-sample Kolmogorov-Smirnov test over their times.
//!
//! Under identical distributions the test's p-value is uniform, so a single run at p = 0.01 would fail one honest
//! build in a hundred. A run whose p falls under 0.01 is therefore repeated with a fresh sample, and the test fails
//! only when both fall under it: a real difference shows up in both runs (at 10,000 samples each, a shift of a
//! few per cent of the spread gives p far below 0.01 every time), while two honest runs both fall under it one
//! time in 10,000.

mod common;

use std::time::Instant;

use axum::http::StatusCode;
use common::{node_with, within};
use hifazat_register::{GuardConfig, RegisterConfig};

const EACH: usize = 10_000;
const WARMUP: usize = 500;
const ALPHA: f64 = 0.01;

/// The asymptotic two-sample Kolmogorov-Smirnov test: the statistic D and its p-value.
fn ks(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    let en = (n * m / (n + m)).sqrt();
    let lambda = (en + 0.12 + 0.11 / en) * d;
    // Q_KS(λ) = 2 Σ (-1)^(k-1) exp(-2 k² λ²).
    let mut p = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = 2.0 * (-1f64).powf(k - 1.0) * (-2.0 * k * k * lambda * lambda).exp();
        p += term;
        if term.abs() < 1e-12 {
            break;
        }
    }
    (d, p.clamp(0.0, 1.0))
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn the_test_tells_different_times_apart_and_not_equal_ones() {
    let mut rng = Rng(1);
    let mut draw = |shift: f64| -> Vec<f64> {
        (0..EACH)
            .map(|_| 1000.0 + (rng.next() % 400) as f64 + shift)
            .collect()
    };
    let same = (draw(0.0), draw(0.0));
    assert!(ks(&same.0, &same.1).1 > ALPHA);
    // A shift of 2.5% of the spread is found.
    let shifted = (draw(0.0), draw(10.0));
    assert!(ks(&shifted.0, &shifted.1).1 < ALPHA);
}

fn cnic(i: usize, on: bool) -> String {
    format!("{}{:07}{}", if on { 35202 } else { 35203 }, i * 7_919, 1)
}

/// Clients asking at once: every answer waits for the same floor, so a run takes `2 × EACH / CLIENTS` floors.
const CLIENTS: usize = 32;

/// One verification as the verifier, timed in microseconds from the request to the last byte of the reply.
async fn timed(n: &common::Node, cnic: String) -> f64 {
    let body = format!(r#"{{"cnic":"{cnic}"}}"#);
    let started = Instant::now();
    let (status, _, bytes) = n
        .send("verifier", "POST", "/api/v1/register/verify", &body)
        .await;
    let micros = started.elapsed().as_secs_f64() * 1e6;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes.len(), hifazat_limits::VERIFY_REPLY_BYTES);
    micros
}

/// One run: times of at least `EACH` hits and `EACH` misses, warm-up excluded. Each client asks half hits and
/// half misses, in a random order.
async fn sample(n: &common::Node, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let warm = WARMUP.div_ceil(CLIENTS);
    let each = EACH.div_ceil(CLIENTS);
    let runs = (0..CLIENTS).map(|c| {
        let mut rng = Rng(seed ^ ((c as u64) << 32));
        let mut order: Vec<bool> = (0..2 * each).map(|i| i < each).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        async move {
            for i in 0..warm {
                timed(n, cnic(i % 50, i % 2 == 0)).await;
            }
            let mut out = Vec::with_capacity(order.len());
            for hit in order {
                let micros = timed(n, cnic((rng.next() % 50) as usize, hit)).await;
                out.push((hit, micros));
            }
            out
        }
    });
    let all: Vec<(bool, f64)> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    let hits: Vec<f64> = all.iter().filter(|(h, _)| *h).map(|&(_, t)| t).collect();
    let misses: Vec<f64> = all.iter().filter(|(h, _)| !*h).map(|&(_, t)| t).collect();
    assert!(hits.len() >= EACH && misses.len() >= EACH);
    (hits, misses)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_and_misses_take_the_same_time() {
    within(async {
        let n = node_with(
            "federal",
            (1000, 1000),
            RegisterConfig {
                guard: GuardConfig {
                    user_per_day: 1_000_000,
                    cnic_per_day: 1_000_000,
                    ..GuardConfig::default()
                },
                ..RegisterConfig::default()
            },
        );
        for i in 0..50 {
            let body = format!(
                r#"{{"cnic":"{}","name":"Offender {i}","parentage":{{"relation":"son_of","name":"Parent {i}"}},
                    "convictions":[{{"offence":"s.376 PPC","court":"Court","date":"2020-01-01","sentence":"5 years"}}],
                    "address":{{"address":"Somewhere","district":"PB-LHR","since":"2020-01-01"}}}}"#,
                cnic(i, true)
            );
            let (status, answer) = n.call("register_officer", "POST", "/api/v1/register/offenders", &body).await;
            assert_eq!(status, StatusCode::CREATED, "{answer}");
        }
        let mut p_values = Vec::new();
        for seed in [0x5eed_0001, 0x5eed_0002] {
            let (hits, misses) = sample(&n, seed).await;
            let (d, p) = ks(&hits, &misses);
            eprintln!(
                "seed {seed:#x}: {} hits, median {:.0} µs; {} misses, median {:.0} µs; KS D = {d:.4}, p = {p:.3}",
                hits.len(),
                median(&hits),
                misses.len(),
                median(&misses)
            );
            p_values.push(p);
            if p >= ALPHA {
                break;
            }
        }
        assert!(
            p_values.iter().any(|&p| p >= ALPHA),
            "hits and misses are told apart by their times in two runs: p = {p_values:?}"
        );
    })
    .await;
}
