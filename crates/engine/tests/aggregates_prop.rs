//! Property: whatever records are raised and filed, whatever events follow, at whichever node, and in whatever
//! order their entries reach another node (across logs, with duplicates, through a restart), that node's
//! statistics aggregates equal a rebuild from its records' summaries (the full scan) and those of a node that took
//! the same entries in order once; and its lists narrowed to places (the index of places) list exactly what a full
//! scan lists.

mod common;

use hifazat_domain::{CaseDraft, EscalationLevel, EventKind, RecordId};
use hifazat_engine::{Engine, Narrow};
use hifazat_figures::Figures;
use proptest::prelude::*;

use common::{alert, engine};

#[derive(Debug, Clone)]
enum Op {
    /// An alert raised at node `at` (0 Lahore, 1 Kasur) for one of the two districts.
    Raise { at: usize, district: usize },
    /// A case filed at node `at`, for its own district.
    File { at: usize },
    /// An event at node `at` on the `record`-th record it holds (modulo), of kind `kind` (modulo).
    Event {
        at: usize,
        record: usize,
        kind: usize,
    },
    /// Node `to` takes every entry the other node holds, in order.
    Sync { to: usize },
}

const DISTRICTS: [&str; 2] = ["PB-LHR", "PB-KSR"];

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            3 => (0usize..2, 0usize..2).prop_map(|(at, district)| Op::Raise { at, district }),
            2 => (0usize..2).prop_map(|at| Op::File { at }),
            5 => (0usize..2, 0usize..64, 0usize..8).prop_map(|(at, record, kind)| Op::Event { at, record, kind }),
            1 => (0usize..2).prop_map(|to| Op::Sync { to }),
        ],
        1..28,
    )
}

fn event(kind: usize, n: usize) -> EventKind {
    match kind {
        0 => EventKind::Validated,
        1 => EventKind::Recovered,
        2 => EventKind::Escalated {
            level: EscalationLevel::Province,
        },
        3 => EventKind::FirRegistered {
            fir_number: format!("FIR-{n}"),
        },
        4 => EventKind::UnderInvestigation,
        5 => EventKind::FastTracked,
        6 => EventKind::ResolvedByReconciliation,
        _ => EventKind::Closed,
    }
}

fn case(district: &str) -> CaseDraft {
    serde_json::from_value(serde_json::json!({
        "category": "domestic_violence", "district": district, "description": "beaten at home",
        "channel": "helpline15"
    }))
    .unwrap()
}

/// Every entry a node holds, log by log, each log in order.
async fn entries(node: &Engine) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for head in node.heads().await.unwrap() {
        let mut after = 0;
        while after < head.head.seq {
            let got = node
                .log_range(head.log.digest(), after, head.head.seq, usize::MAX)
                .await
                .unwrap();
            after += got.len() as u64;
            out.extend(got);
        }
    }
    out
}

async fn figures(node: &Engine) -> Figures {
    node.read_figures(|f| f.clone()).await.unwrap()
}

/// The ids a list gives, page by page (pages of 3, so paging is exercised).
async fn listed(
    node: &Engine,
    alerts: bool,
    districts: &[&str],
    stage: Option<&str>,
) -> Vec<RecordId> {
    let (mut out, mut before) = (Vec::new(), None);
    loop {
        let narrow = Narrow {
            districts: Some(districts.iter().map(|d| (*d).to_owned()).collect()),
            stage: stage.map(str::to_owned),
        };
        let (ids, next): (Vec<RecordId>, _) = if alerts {
            let p = node
                .list_alerts(|_, _| true, narrow, before, 3)
                .await
                .unwrap();
            (p.items.iter().map(|s| s.id).collect(), p.next)
        } else {
            let p = node.list_cases(|_| true, narrow, before, 3).await.unwrap();
            (p.items.iter().map(|s| s.id).collect(), p.next)
        };
        out.extend(ids);
        match next {
            Some(n) => before = Some(n),
            None => return out,
        }
    }
}

/// The same list by a full scan, filtering every summary.
async fn scanned(
    node: &Engine,
    alerts: bool,
    districts: &[&str],
    stage: Option<&str>,
) -> Vec<RecordId> {
    let ds: Vec<String> = districts.iter().map(|d| (*d).to_owned()).collect();
    let stage = stage.map(str::to_owned);
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    if alerts {
        let page = node
            .list_alerts(
                move |s, _| {
                    ds.contains(&s.district)
                        && stage.as_ref().is_none_or(|st| {
                            *st == name(serde_json::to_value(s.status.stage).unwrap())
                        })
                },
                Narrow::default(),
                None,
                200,
            )
            .await
            .unwrap();
        page.items.iter().map(|s| s.id).collect()
    } else {
        let page = node
            .list_cases(
                move |s| {
                    ds.contains(&s.district)
                        && stage.as_ref().is_none_or(|st| {
                            *st == name(serde_json::to_value(s.status.stage).unwrap())
                        })
                },
                Narrow::default(),
                None,
                200,
            )
            .await
            .unwrap();
        page.items.iter().map(|s| s.id).collect()
    }
}

async fn run(ops: Vec<Op>, seed: u64, restart_at: usize) {
    let dir = tempfile::tempdir().unwrap();
    let nodes = [
        engine(dir.path(), "lahore", 1),
        engine(dir.path(), "kasur", 3),
    ];
    let mut holds: [Vec<RecordId>; 2] = [Vec::new(), Vec::new()];
    let own: [&str; 2] = ["PB-LHR", "PB-KSR"];
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Raise { at, district } => {
                let id = nodes[at]
                    .raise_alert(alert(DISTRICTS[district]), "clerk".into())
                    .await
                    .unwrap();
                holds[at].push(id);
            }
            Op::File { at } => {
                let (id, _) = nodes[at]
                    .file_case(case(own[at]), "clerk".into())
                    .await
                    .unwrap();
                holds[at].push(id);
            }
            Op::Event { at, record, kind } => {
                if !holds[at].is_empty() {
                    let id = holds[at][record % holds[at].len()];
                    // An event a record's kind does not take is refused; that is part of the sequence too.
                    let _ = nodes[at]
                        .add_event(id, event(kind, n), None, "dpo".into())
                        .await;
                }
            }
            Op::Sync { to } => {
                let from = &nodes[1 - to];
                nodes[to].apply_remote(entries(from).await).await.unwrap();
                // What it now holds: every alert (alerts go everywhere); cases stay on their district's line.
                let theirs: Vec<RecordId> = holds[1 - to].clone();
                for id in theirs {
                    if nodes[to].alert(id).await.is_ok() && !holds[to].contains(&id) {
                        holds[to].push(id);
                    }
                }
            }
        }
    }
    // Punjab takes both nodes' entries shuffled across logs (so events may come before their record's creation),
    // some twice, restarting part-way; then all of them again in order, as a catch-up would.
    let mut all = entries(&nodes[0]).await;
    all.extend(entries(&nodes[1]).await);
    let mut shuffled = all.clone();
    let mut s = seed | 1;
    for i in (1..shuffled.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        shuffled.swap(i, (s % (i as u64 + 1)) as usize);
    }
    let mut punjab = engine(dir.path(), "punjab", 2);
    for (i, chunk) in shuffled.chunks(3).enumerate() {
        if i == restart_at {
            drop(punjab);
            punjab = engine(dir.path(), "punjab", 2);
        }
        punjab.apply_remote(chunk.to_vec()).await.unwrap();
        if i % 2 == 0 {
            punjab.apply_remote(chunk.to_vec()).await.unwrap();
        }
    }
    punjab.apply_remote(all.clone()).await.unwrap();
    let federal = engine(dir.path(), "federal", 4);
    federal.apply_remote(all).await.unwrap();

    assert_eq!(
        punjab.check_figures().await.unwrap(),
        Vec::new(),
        "kept equal a rebuild"
    );
    let (p, f) = (figures(&punjab).await, figures(&federal).await);
    assert_eq!(
        p.differences(&f),
        Vec::new(),
        "shuffled, duplicated, restarted equal in order, once"
    );
    for alerts in [true, false] {
        for districts in [&["PB-LHR"][..], &["PB-KSR"], &["PB-LHR", "PB-KSR"]] {
            for stage in [
                None,
                Some("validated"),
                Some("recovered"),
                Some("filed"),
                Some("under_investigation"),
            ] {
                assert_eq!(
                    listed(&punjab, alerts, districts, stage).await,
                    scanned(&punjab, alerts, districts, stage).await,
                    "alerts {alerts}, {districts:?}, {stage:?}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn aggregates_and_places_equal_a_full_scan(ops in ops(), seed in any::<u64>(), restart_at in 0usize..12) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(ops, seed, restart_at));
    }
}
