//! Break-glass uses in the engine: a Karachi South officer's use of a Lahore alert is signed into an
//! `access/pb-lhr/sd-khs` log, filed where it is written and where it arrives (Lahore, Punjab), listed there, and
//! leaves the alert's document whole after a restart on every side; the daily limit holds across a restart.

mod common;

use hifazat_domain::RecordKind;
use hifazat_domain::glass::GlassDraft;
use hifazat_engine::{Engine, EngineError};

use common::{alert, engine};

fn draft(minutes: u32) -> GlassDraft {
    GlassDraft {
        reason: "A boy at Saddar station says he is from Anarkali, Lahore".into(),
        minutes,
    }
}

async fn uses(engine: &Engine) -> Vec<hifazat_domain::glass::GlassUse> {
    engine
        .glass_uses(None, 50, |_| true)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, u)| u)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_use_travels_is_listed_and_leaves_the_record_whole() {
    let dir = tempfile::tempdir().unwrap();
    let lahore = engine(dir.path(), "lahore", 1);
    let punjab = engine(dir.path(), "punjab", 2);
    let mut karachi = engine(dir.path(), "karachi-south", 3);
    let mut from_lahore = lahore.subscribe_written();
    let id = lahore
        .raise_alert(alert("PB-LHR"), "dpo:lahore".into())
        .await
        .unwrap();
    let raised = from_lahore.recv().await.unwrap();
    karachi.apply_remote(raised.to_vec()).await.unwrap();
    karachi.alert(id).await.unwrap();

    let mut from_karachi = karachi.subscribe_written();
    let glass = karachi
        .break_glass(id, RecordKind::Alert, "PB-LHR", &draft(10), "dpo:karachi")
        .await
        .unwrap();
    assert_eq!((glass.record, glass.minutes), (id, 10));
    assert_eq!(glass.node, "karachi-south");
    let written = from_karachi.recv().await.unwrap();
    assert_eq!(written.len(), 1);
    let entry = hifazat_log::Entry::decode(&written[0]).unwrap();
    assert_eq!(
        entry.content().log.scope.to_string(),
        "access/pb-lhr/sd-khs"
    );
    assert_ne!(
        entry.content().record,
        id.0,
        "a use is no change of the record's document"
    );

    // Where it arrives, it is filed and listed like the writer's own.
    for node in [&lahore, &punjab] {
        let report = node.apply_remote(written.to_vec()).await.unwrap();
        assert_eq!(report.stored(), 1);
    }
    for node in [&karachi, &lahore, &punjab] {
        assert_eq!(uses(node).await, std::slice::from_ref(&glass));
    }
    assert_eq!(
        karachi.glass_until("dpo:karachi", id).await.unwrap(),
        Some(glass.until_ms())
    );
    assert_eq!(karachi.glass_until("dpo:other", id).await.unwrap(), None);

    // Two more uses, then the limit, which a restart does not reset.
    for _ in 0..2 {
        karachi
            .break_glass(id, RecordKind::Alert, "PB-LHR", &draft(1), "dpo:karachi")
            .await
            .unwrap();
    }
    let over = karachi
        .break_glass(id, RecordKind::Alert, "PB-LHR", &draft(1), "dpo:karachi")
        .await;
    assert!(matches!(over, Err(EngineError::TooMany(..))), "{over:?}");
    drop(karachi);
    karachi = engine(dir.path(), "karachi-south", 3);
    let over = karachi
        .break_glass(id, RecordKind::Alert, "PB-LHR", &draft(1), "dpo:karachi")
        .await;
    assert!(matches!(over, Err(EngineError::TooMany(..))), "{over:?}");
    // Another officer has their own three.
    karachi
        .break_glass(id, RecordKind::Alert, "PB-LHR", &draft(1), "dpo:another")
        .await
        .unwrap();

    // After a restart, the alert's document reads on both sides, and the uses are still listed.
    drop(lahore);
    let lahore = engine(dir.path(), "lahore", 1);
    for node in [&karachi, &lahore] {
        let record = node.alert(id).await.unwrap();
        assert_eq!(record.doc.intake.public.child_name, "Zara");
    }
    assert_eq!(uses(&karachi).await.len(), 4);
    assert_eq!(uses(&lahore).await, [glass]);
}
