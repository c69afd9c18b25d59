//! The statistics aggregates at national scale, in memory (what the engine keeps and the API sums): building them
//! from N records' facts, their number and the resident memory they add, and the time to sum the national statistics (all time, and one month) and a
//! year of trends, beside a fold over the same facts (the scan the API did before), measured in the same run.
//! Records are spread over every district of `topology/pakistan.toml` and over five years, from a seeded generator.
//!
//! Run: `cargo bench -p hifazat-bench --bench figures` (sizes: `HIFAZAT_FIGURES=10000,100000,1000000,5000000`,
//! the default). Not the HTTP path: the API adds the suppression, JSON and a barrier (BENCHMARKS.md).

// A benchmark program: its table on standard output is the result.
#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use hifazat_bench::Rng;
use hifazat_domain::{AlertStage, CaseCategory, CaseStage, Channel, RecordKind, Status};
use hifazat_figures::{Facts, Figures, Window, month_of};
use hifazat_topology::Topology;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const START_MS: u64 = 1_640_995_200_000; // 2022-01-01
const SPAN_MS: u64 = 5 * 365 * 86_400_000;
const QUERIES: usize = 200;

fn facts(rng: &mut Rng, districts: &[String]) -> Facts {
    let district = &districts[rng.below(districts.len() as u64) as usize];
    let created = START_MS + rng.below(SPAN_MS);
    let validated = (rng.below(4) > 0).then(|| created + rng.below(6 * 3_600_000));
    let resolved = (rng.below(3) > 0).then(|| created + rng.below(40 * 86_400_000));
    let fir = rng.below(2) == 0;
    let channel = [
        Channel::Helpline1099,
        Channel::CitizenPortal,
        Channel::PoliceStation,
    ][rng.below(3) as usize];
    if rng.below(4) == 0 {
        let stage = if resolved.is_some() {
            AlertStage::Recovered
        } else {
            AlertStage::Validated
        };
        Facts::alert(
            district,
            created,
            channel,
            &status(stage, fir, validated, resolved),
        )
    } else {
        let stage = if resolved.is_some() {
            CaseStage::Resolved
        } else {
            CaseStage::UnderInvestigation
        };
        let category = [
            CaseCategory::DomesticViolence,
            CaseCategory::Harassment,
            CaseCategory::MissingChild,
            CaseCategory::SexualViolence,
        ][rng.below(4) as usize];
        Facts::case(
            district,
            created,
            category,
            channel,
            &status(stage, fir, validated, resolved),
        )
    }
}

fn status<S>(stage: S, fir: bool, validated: Option<u64>, resolved: Option<u64>) -> Status<S> {
    Status {
        stage,
        fir_numbers: if fir {
            BTreeSet::from(["FIR".to_owned()])
        } else {
            BTreeSet::new()
        },
        fast_tracked: false,
        escalation_level: None,
        first_validated_ms: validated,
        first_resolved_ms: resolved,
    }
}

/// The process's resident memory, in MB (Linux).
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() * 99 / 100]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let sizes: Vec<usize> = std::env::var("HIFAZAT_FIGURES")
        .unwrap_or_else(|_| "10000,100000,1000000,5000000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("HIFAZAT_FIGURES: comma-separated counts")
        })
        .collect();
    let topology = Topology::parse(include_str!("../../topology/pakistan.toml")).unwrap();
    let districts: Vec<String> = topology.districts.iter().map(|d| d.code.clone()).collect();
    println!(
        "{} districts; records over five years from 2022; {QUERIES} queries each",
        districts.len()
    );
    println!(
        "| records | build | cells | resident memory the cells added | national all time p99 | national month p99 | trends 12 months p99 | fold over facts (scan) p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for n in sizes {
        let mut rng = Rng(0x5eed_0000 + n as u64);
        let all: Vec<Facts> = (0..n).map(|_| facts(&mut rng, &districts)).collect();
        let before = rss_mb();
        let started = Instant::now();
        let mut figures = Figures::new();
        for f in &all {
            figures.change(None, f);
        }
        let build = started.elapsed();
        let memory = rss_mb() - before;
        let cells = figures.len();
        let month = month_of(START_MS + SPAN_MS / 2);
        let time = |q: &dyn Fn() -> u64| -> Duration {
            p99((0..QUERIES)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(q());
                    t.elapsed()
                })
                .collect())
        };
        let national = time(&|| {
            let (a, _) = figures.sum(RecordKind::Alert, Window::All, |_| true);
            let (c, _) = figures.sum(RecordKind::Case, Window::All, |_| true);
            a.records
                + c.records
                + ["to_validation", "to_recovery"]
                    .iter()
                    .filter_map(|n| a.durations(n)?.median())
                    .sum::<u64>()
        });
        let in_month = time(&|| {
            let (a, _) = figures.sum(RecordKind::Alert, Window::Month(month), |_| true);
            let (c, _) = figures.sum(RecordKind::Case, Window::Month(month), |_| true);
            a.records + c.records
        });
        let trends = time(&|| {
            let a = figures.by_month(RecordKind::Alert, month - 11, month, |_| true);
            let c = figures.by_month(RecordKind::Case, month - 11, month, |_| true);
            let r = figures.resolved_by_month(RecordKind::Case, month - 11, month, |_| true);
            (a.len() + c.len() + r.len()) as u64
        });
        // The scan the API did before, over facts already in memory (no reads, no JSON): a lower bound on it.
        let scans = if n <= 1_000_000 { 5 } else { 1 };
        let fold = p99((0..scans)
            .map(|_| {
                let t = Instant::now();
                let mut by: BTreeMap<&str, u64> = BTreeMap::new();
                for f in &all {
                    *by.entry(f.district.as_str()).or_default() += 1;
                }
                std::hint::black_box(by);
                t.elapsed()
            })
            .collect());
        println!(
            "| {n} | {:.1} s | {cells} | {memory:.0} MB | {} | {} | {} | {} |",
            build.as_secs_f64(),
            ms(national),
            ms(in_month),
            ms(trends),
            ms(fold)
        );
    }
}
