//! Change announcements: every record that changes on a node is announced once durable, local or remote, and a
//! read made on hearing of it sees the change.

mod common;

use std::time::Duration;

use hifazat_domain::RecordKind;
use hifazat_engine::{Change, Narrow, Origin};
use hifazat_log::Scope;
use tokio::sync::broadcast::Receiver;

use common::{alert, case, engine};

async fn next(rx: &mut Receiver<Change>) -> Change {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a change within 10 s")
        .expect("a change")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_and_remote_changes_are_announced_once_readable() {
    let dir = tempfile::tempdir().unwrap();
    let lahore = engine(dir.path(), "lahore", 1);
    let punjab = engine(dir.path(), "punjab", 2);
    let mut at_lahore = lahore.subscribe_changes();
    let mut at_punjab = punjab.subscribe_changes();
    let mut written = lahore.subscribe_written();

    let alert_id = lahore
        .raise_alert(alert("PB-LHR"), "clerk".into())
        .await
        .unwrap();
    let (case_id, code) = lahore.file_case(case(), "clerk".into()).await.unwrap();
    let first = next(&mut at_lahore).await;
    assert_eq!(
        first,
        Change {
            record: alert_id,
            kind: RecordKind::Alert,
            scope: Scope::parse("alerts").unwrap(),
            created: true,
            origin: Origin::Local,
        }
    );
    let second = next(&mut at_lahore).await;
    assert_eq!(
        (second.record, second.kind, second.scope),
        (
            case_id,
            RecordKind::Case,
            Scope::parse("cases/pb-lhr").unwrap()
        )
    );

    // Lahore's entries reach Punjab: each record is announced there as new and remote, and reads at once.
    let mut entries = Vec::new();
    while entries.len() < 2 {
        entries.extend(written.recv().await.unwrap().iter().cloned());
    }
    let report = punjab.apply_remote(entries.clone()).await.unwrap();
    assert_eq!(report.stored(), 2);
    let mut heard = vec![next(&mut at_punjab).await, next(&mut at_punjab).await];
    heard.sort_by_key(|c| c.kind == RecordKind::Case);
    assert_eq!(heard[0].record, alert_id);
    assert_eq!(heard[1].record, case_id);
    for change in &heard {
        assert!(change.created, "{change:?}");
        assert_eq!(change.origin, Origin::Remote);
    }
    assert_eq!(
        punjab
            .alert(alert_id)
            .await
            .unwrap()
            .doc
            .intake
            .public
            .child_name,
        "Zara"
    );
    assert!(punjab.case(case_id).await.is_ok());
    // Arrived records are listed and tracked there too.
    let page = punjab
        .list_alerts(|_, _| true, Narrow::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, alert_id);
    assert_eq!(
        punjab
            .list_cases(|_| true, Narrow::default(), None, 10)
            .await
            .unwrap()
            .items[0]
            .id,
        case_id
    );
    assert_eq!(
        punjab.case_by_tracking(&code).await.unwrap().unwrap().id,
        case_id
    );

    // The same entries again change nothing, so nothing is announced.
    let again = punjab.apply_remote(entries).await.unwrap();
    assert_eq!(again.duplicate(), 2);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), at_punjab.recv())
            .await
            .is_err(),
        "duplicates announced a change"
    );
}
