//! Two creations of one record id (only a faulty member or a stolen key can sign them): every node keeps the one
//! with the smaller change hash, whichever arrived first, even when the two are of different kinds; the other
//! stays stored, marked set aside in the record's history, and counted.

mod common;

use std::time::Duration;

use ed25519_dalek::SigningKey;
use hifazat_domain::{RecordDoc, RecordKind};
use hifazat_engine::{Engine, Narrow};
use hifazat_figures::Window;
use hifazat_log::{Content, LogId, Scope, Signer};
use hifazat_replica::NewRecord;

use common::{alert, case, engine, now_ms};

async fn totals(engine: &Engine) -> (u64, u64) {
    engine
        .read_figures(|f| {
            let (alerts, _) = f.sum(RecordKind::Alert, Window::All, |_| true);
            let (cases, _) = f.sum(RecordKind::Case, Window::All, |_| true);
            (alerts.records, cases.records)
        })
        .await
        .unwrap()
}

fn creation_hash(entry: &[u8]) -> automerge::ChangeHash {
    let entry = hifazat_log::Entry::decode(entry).unwrap();
    automerge::Change::from_bytes(entry.content().payload.clone())
        .unwrap()
        .hash()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smaller_creation_wins_on_every_node_whatever_the_order_and_the_other_is_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let lahore = engine(dir.path(), "lahore", 1);
    let mut written = lahore.subscribe_written();
    let id = lahore
        .raise_alert(alert("PB-LHR"), "clerk".into())
        .await
        .unwrap();
    let (other_case, _) = lahore.file_case(case(), "clerk".into()).await.unwrap();
    let mut entries = Vec::new();
    while entries.len() < 2 {
        let batch = tokio::time::timeout(Duration::from_secs(10), written.recv())
            .await
            .unwrap()
            .unwrap();
        entries.extend(batch.iter().cloned());
    }
    let honest = entries
        .into_iter()
        .find(|e| hifazat_log::Entry::decode(e).unwrap().content().record == id.0)
        .unwrap();

    // A faulty key signs a case under the alert's id: a second, different first version of the record.
    let case_doc = lahore.case(other_case).await.unwrap().doc;
    let faulty = Signer::new(SigningKey::from_bytes(&[7; 32]));
    let rival =
        NewRecord::build(faulty.author().0, id, &RecordDoc::Case(case_doc), now_ms()).unwrap();
    let log = LogId {
        author: faulty.author(),
        scope: Scope::parse("cases/pb-lhr").unwrap(),
    };
    let content = Content::following(
        log,
        None,
        now_ms(),
        id.0,
        "clerk".into(),
        rival.change().to_vec(),
    );
    let rival = faulty.sign(content).unwrap().bytes().to_vec();
    let alert_wins = creation_hash(&honest) < creation_hash(&rival);
    let (winner, loser) = if alert_wins {
        (&honest, &rival)
    } else {
        (&rival, &honest)
    };

    // One node hears the alert first, the other the rival: one of them keeps the loser until the winner comes.
    let punjab = engine(dir.path(), "punjab", 2);
    let federal = engine(dir.path(), "federal", 3);
    for (node, order) in [(&punjab, [&honest, &rival]), (&federal, [&rival, &honest])] {
        for entry in order {
            let report = node.apply_remote(vec![entry.clone()]).await.unwrap();
            assert_eq!(report.stored(), 1, "{report:?}");
        }
    }
    for node in [&punjab, &federal] {
        let alert = node.alert(id).await;
        let case = node.case(id).await;
        assert_eq!(alert.is_ok(), alert_wins, "{alert:?}");
        assert_eq!(case.is_ok(), !alert_wins, "{case:?}");
        let alerts = node
            .list_alerts(|_, _| true, Narrow::default(), None, 10)
            .await
            .unwrap();
        let cases = node
            .list_cases(|_| true, Narrow::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(alerts.items.iter().any(|a| a.id == id), alert_wins);
        assert_eq!(cases.items.iter().any(|c| c.id == id), !alert_wins);
        // Counted once, under the winner's kind, and the kept figures agree with a rebuild.
        let expected = if alert_wins { (1, 0) } else { (0, 1) };
        assert_eq!(totals(node).await, expected);
        assert!(node.check_figures().await.unwrap().is_empty());
        // Both entries stay, the loser marked.
        let history = node.record_entries(id.0).await.unwrap();
        assert_eq!(history.len(), 2);
        for (entry, set_aside) in history {
            assert_eq!(entry.bytes() == loser.as_slice(), set_aside);
            assert_eq!(entry.bytes() == winner.as_slice(), !set_aside);
        }
        assert_eq!(node.stats().await.unwrap().remote_set_aside, 1);
    }

    // After a restart, the record rebuilt from the store is the same.
    drop(federal);
    let federal = engine(dir.path(), "federal", 3);
    assert_eq!(federal.alert(id).await.is_ok(), alert_wins);
    assert_eq!(
        totals(&federal).await,
        if alert_wins { (1, 0) } else { (0, 1) }
    );
}
