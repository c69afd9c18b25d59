//! What the engine's tests share: an engine on the demo layout, and an alert and a case to write.

#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use hifazat_domain::{AlertDraft, CaseDraft};
use hifazat_engine::{Engine, EngineConfig};
use hifazat_log::Signer;
use hifazat_store::Store;
use hifazat_topology::Topology;

/// An engine named `name` with the key of bytes `key`, its store in `dir/name` (opened again after a restart:
/// `Store::open` waits for the lock a stopped engine is letting go).
pub fn engine(dir: &std::path::Path, name: &str, key: u8) -> Engine {
    Engine::start(EngineConfig {
        node_name: name.into(),
        clock: hifazat_domain::Clock::system(),
        topology: Topology::parse(include_str!("../../../../topology/demo.toml")).unwrap(),
        signer: Signer::new(SigningKey::from_bytes(&[key; 32])),
        store: Store::open(&dir.join(name)).unwrap(),
    })
    .unwrap()
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub fn alert(district: &str) -> AlertDraft {
    serde_json::from_value(serde_json::json!({
        "child_name": "Zara", "age_years": 5, "sex": "female", "description": "yellow dress",
        "last_seen": {"district": district, "lat": 31.55, "lon": 74.34},
        "last_seen_at_ms": now_ms() - 1_000,
        "reporter": {"name": "Aunt", "mobile": "+923451234567"}, "channel": "police_station"
    }))
    .unwrap()
}

pub fn case() -> CaseDraft {
    serde_json::from_value(serde_json::json!({
        "category": "harassment", "district": "PB-LHR", "description": "followed home from school",
        "channel": "police_station"
    }))
    .unwrap()
}
