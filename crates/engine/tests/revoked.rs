//! A node that took a key's entries past the point it was later revoked from: when the engine starts under the
//! revoking topology, those entries leave the store, and the records they made or changed are read again from
//! what is left. A record made after the point goes from the lists, the places, the short codes and the
//! statistics; an event after the point leaves its record's timeline; entries before the point stay.

mod common;

use std::time::Duration;

use ed25519_dalek::SigningKey;
use hifazat_domain::{EventKind, RecordKind};
use hifazat_engine::{Engine, EngineConfig, EngineError, FiguresCheck, Narrow};
use hifazat_figures::Window;
use hifazat_log::{Scope, Signer};
use hifazat_store::Store;
use hifazat_topology::Topology;

use common::{alert, engine};

fn key_hex(seed: u8) -> String {
    SigningKey::from_bytes(&[seed; 32])
        .verifying_key()
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The demo layout with Lahore under key 9, its former key 1 revoked after `alerts` entries of its alerts log.
fn revoking(alerts: u64) -> Topology {
    let text = include_str!("../../../topology/demo.toml").replacen(
        "name = \"lahore\"\n",
        &format!(
            "name = \"lahore\"\nkey = \"{}\"\nrevoked = [{{ key = \"{}\", logs = {{ \"alerts\" = {alerts} }} }}]\n",
            key_hex(9),
            key_hex(1)
        ),
        1,
    );
    Topology::parse(&text).unwrap()
}

fn punjab(dir: &std::path::Path, topology: Topology) -> Engine {
    Engine::start(EngineConfig {
        node_name: "punjab".into(),
        clock: hifazat_domain::Clock::system(),
        topology,
        signer: Signer::new(SigningKey::from_bytes(&[2; 32])),
        store: Store::open(&dir.join("punjab")).unwrap(),
    })
    .unwrap()
}

async fn alerts_counted(engine: &Engine) -> u64 {
    engine
        .read_figures(|f| f.sum(RecordKind::Alert, Window::All, |_| true).0.records)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_past_a_revoked_keys_point_leave_the_store_and_their_records_when_the_engine_starts()
 {
    let dir = tempfile::tempdir().unwrap();
    let lahore = engine(dir.path(), "lahore", 1);
    let mut written = lahore.subscribe_written();
    // Lahore's alerts log: 1 raises A, 2 raises B, 3 validates A, 4 raises C, 5 records A's recovery.
    let a = lahore
        .raise_alert(alert("PB-LHR"), "clerk".into())
        .await
        .unwrap();
    let b = lahore
        .raise_alert(alert("PB-LHR"), "clerk".into())
        .await
        .unwrap();
    lahore
        .add_event(a, EventKind::Validated, None, "dpo".into())
        .await
        .unwrap();
    let c = lahore
        .raise_alert(alert("PB-LHR"), "clerk".into())
        .await
        .unwrap();
    lahore
        .add_event(a, EventKind::Recovered, None, "dpo".into())
        .await
        .unwrap();
    let mut entries = Vec::new();
    while entries.len() < 5 {
        let batch = tokio::time::timeout(Duration::from_secs(10), written.recv())
            .await
            .unwrap()
            .unwrap();
        entries.extend(batch.iter().cloned());
    }

    // Sindh only ever took the first three, in order: what Punjab must come back to.
    let sindh = engine(dir.path(), "sindh", 3);
    let first_three: Vec<Vec<u8>> = entries
        .iter()
        .filter(|e| hifazat_log::Entry::decode(e).unwrap().content().seq <= 3)
        .cloned()
        .collect();
    assert_eq!(sindh.apply_remote(first_three).await.unwrap().stored(), 3);
    let reference = sindh.tree_heads().await.unwrap();

    // Punjab takes all five while the key is still Lahore's.
    let before = punjab(
        dir.path(),
        Topology::parse(include_str!("../../../topology/demo.toml")).unwrap(),
    );
    assert_eq!(before.apply_remote(entries).await.unwrap().stored(), 5);
    assert_eq!(alerts_counted(&before).await, 3);
    let timeline = before.alert(a).await.unwrap().doc.timeline.len();
    drop(before);

    // Started again under the topology that revokes the key after entry 3.
    let after = punjab(dir.path(), revoking(3));
    let heads = after.heads().await.unwrap();
    let log = heads
        .iter()
        .find(|h| {
            h.log.scope == Scope::alerts()
                && h.log.author.0 == SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes()
        })
        .expect("Lahore's old alerts log");
    assert_eq!(log.head.seq, 3);
    // Its tree is the tree of those three: the same root and head as Sindh's, and a proof of entry 3 against it.
    assert_eq!(after.tree_heads().await.unwrap(), reference);
    assert!(
        after
            .inclusion_proof(log.log.digest(), 3, None)
            .await
            .is_ok()
    );
    assert!(matches!(
        after.alert(c).await,
        Err(EngineError::NotFound(_))
    ));
    assert!(after.alert(b).await.is_ok());
    assert_eq!(
        after.alert(a).await.unwrap().doc.timeline.len(),
        timeline - 1,
        "the recovery, entry 5, is gone from A's timeline"
    );
    let listed: Vec<_> = after
        .list_alerts(|_, _| true, Narrow::default(), None, 10)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(!listed.contains(&c));
    assert_eq!(alerts_counted(&after).await, 2);
    assert!(after.check_figures().await.unwrap().is_empty());
    assert_eq!(after.stats().await.unwrap().remote_revoked, 2);
    drop(after);

    // The store opens cleanly again (its heads, trees and indexes agree), the figures agree with a rebuild from
    // the records' entries, and a second start under the same topology removes nothing more.
    let store = Store::open(&dir.path().join("punjab")).unwrap();
    match hifazat_engine::verify_figures(&store, |_| {}).unwrap() {
        FiguresCheck::Checked {
            records,
            differences,
            ..
        } => assert_eq!((records, differences.len()), (2, 0)),
        other => panic!("{other:?}"),
    }
    drop(store);
    let again = punjab(dir.path(), revoking(3));
    assert_eq!(again.stats().await.unwrap().remote_revoked, 0);
    assert_eq!(alerts_counted(&again).await, 2);
}
