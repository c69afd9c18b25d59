//! The statistics aggregates kept with every change: equal to a rebuild from the summaries after local writes
//! (several in one group), remote entries and duplicates, read back the same after a restart, and built once for
//! a store that has none.

mod common;

use ed25519_dalek::SigningKey;
use hifazat_domain::{EscalationLevel, EventKind, RecordKind};
use hifazat_engine::{Engine, EngineConfig, FiguresCheck};
use hifazat_figures::Window;
use hifazat_log::Signer;
use hifazat_store::Store;
use hifazat_topology::Topology;

use common::{alert, case, engine};

async fn totals(engine: &Engine) -> (u64, u64, u64, u64) {
    engine
        .read_figures(|f| {
            let (alerts, _) = f.sum(RecordKind::Alert, Window::All, |_| true);
            let (cases, _) = f.sum(RecordKind::Case, Window::All, |_| true);
            (
                alerts.records,
                alerts.flag("escalated"),
                alerts.flag("recovered"),
                cases.records,
            )
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_aggregates_equal_a_rebuild_through_local_remote_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let lahore = engine(dir.path(), "lahore", 1);
    let punjab = engine(dir.path(), "punjab", 2);
    let mut written = lahore.subscribe_written();

    let mut alerts = Vec::new();
    for _ in 0..3 {
        alerts.push(
            lahore
                .raise_alert(alert("PB-LHR"), "clerk".into())
                .await
                .unwrap(),
        );
    }
    lahore.file_case(case(), "clerk".into()).await.unwrap();
    // Several events on one record at once, so some share a group: each moves the facts from the last.
    let (a, b, c) = tokio::join!(
        lahore.add_event(alerts[0], EventKind::Validated, None, "dpo".into()),
        lahore.add_event(
            alerts[0],
            EventKind::Escalated {
                level: EscalationLevel::Region,
            },
            None,
            "dpo".into()
        ),
        lahore.add_event(alerts[0], EventKind::Recovered, None, "dpo".into()),
    );
    for done in [a, b, c] {
        done.unwrap();
    }
    lahore
        .add_event(alerts[1], EventKind::Validated, None, "dpo".into())
        .await
        .unwrap();
    assert_eq!(totals(&lahore).await, (3, 1, 1, 1));
    assert!(lahore.check_figures().await.unwrap().is_empty());

    // The same records at Punjab, from the entries, in one apply and then again (duplicates change nothing).
    let mut entries = Vec::new();
    while entries.len() < 8 {
        entries.extend(written.recv().await.unwrap().iter().cloned());
    }
    punjab.apply_remote(entries.clone()).await.unwrap();
    punjab.apply_remote(entries).await.unwrap();
    assert_eq!(totals(&punjab).await, (3, 1, 1, 1));
    assert!(punjab.check_figures().await.unwrap().is_empty());

    // After a restart the stored cells read back the same.
    drop(punjab);
    let store = Store::open(&dir.path().join("punjab")).unwrap();
    let punjab = Engine::start(EngineConfig {
        node_name: "punjab".into(),
        clock: hifazat_domain::Clock::system(),
        topology: Topology::parse(include_str!("../../../topology/demo.toml")).unwrap(),
        signer: Signer::new(SigningKey::from_bytes(&[2; 32])),
        store: store.clone(),
    })
    .unwrap();
    assert_eq!(totals(&punjab).await, (3, 1, 1, 1));
    assert!(punjab.check_figures().await.unwrap().is_empty());

    // `log verify`'s check: rebuilt from the records' entries, they agree with the stored cells.
    match hifazat_engine::verify_figures(&store, |_| {}).unwrap() {
        FiguresCheck::Checked {
            records,
            differences,
            ..
        } => assert_eq!((records, differences.len()), (4, 0)),
        other => panic!("{other:?}"),
    }

    // A store written before the aggregates were kept (or in their first, JSON form) gets them built once when
    // the engine starts on it; a cell of the old form is taken away, not read.
    drop(punjab);
    store
        .drop_figures_for_test(hifazat_engine::FIGURES_BUILT)
        .unwrap();
    assert_eq!(
        hifazat_engine::verify_figures(&store, |_| {}).unwrap(),
        FiguresCheck::NotBuilt
    );
    let stale = hifazat_figures::Key {
        kind: RecordKind::Alert,
        period: hifazat_figures::Period::All,
        district: "PB-ZZZ".into(),
    };
    let mut batch = store.batch();
    store.set_figure(&mut batch, &stale.encode(), Some(br#"{"records":7}"#));
    store.commit(batch).unwrap();
    // The index of places likewise: built once on open, and a list narrowed to Lahore finds its alerts again.
    store
        .drop_places_for_test(hifazat_engine::PLACES_BUILT)
        .unwrap();
    assert_eq!(store.places(RecordKind::Alert, "PB-LHR", None).count(), 0);
    drop(store);
    let punjab = engine(dir.path(), "punjab", 2);
    assert_eq!(totals(&punjab).await, (3, 1, 1, 1));
    assert!(punjab.check_figures().await.unwrap().is_empty());
    let lahore_only = hifazat_engine::Narrow {
        districts: Some(vec!["PB-LHR".into()]),
        stage: Some("recovered".into()),
    };
    let page = punjab
        .list_alerts(|_, _| true, lahore_only, None, 10)
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![alerts[0]]
    );
    drop(punjab);
    let store = Store::open(&dir.path().join("punjab")).unwrap();
    match hifazat_engine::verify_figures(&store, |_| {}).unwrap() {
        FiguresCheck::Checked { differences, .. } => assert_eq!(differences, Vec::<String>::new()),
        other => panic!("{other:?}"),
    }
}
