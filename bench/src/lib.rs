//! Benchmarks live in `benches/`; see BENCHMARKS.md for what they measure and how to run them. This library holds
//! what they share.

use hifazat_domain::AlertDraft;

pub mod load;
pub mod wire;

/// The `hifazat` binary the process benchmarks run: `HIFAZAT_BIN`, else the workspace's release build.
pub fn hifazat_binary() -> std::path::PathBuf {
    std::env::var_os("HIFAZAT_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/release/hifazat"
            ))
        })
}

/// A small seeded generator (xorshift64*), so every run of a benchmark makes the same records.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// A generator for item `n` of a run, so an item does not depend on which writer made it.
    pub fn of(n: u64) -> Rng {
        Rng((n + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The alert every benchmark raises: a child last seen in Lahore a minute before `now_ms` (the simulator's alert).
pub fn alert_draft(now_ms: u64) -> AlertDraft {
    hifazat_sim::alert_draft("PB-LHR", 31.55, 74.34, now_ms)
}

/// The inputs of ed25519-dalek's own `verify_batch` for `entries`: each entry's signed message (the entry
/// context, then the content bytes), signature and author key. The raw baseline beside our verification.
#[derive(Debug)]
pub struct DalekBatch {
    messages: Vec<Vec<u8>>,
    signatures: Vec<ed25519_dalek::Signature>,
    keys: Vec<ed25519_dalek::VerifyingKey>,
}

impl DalekBatch {
    pub fn new(entries: &[hifazat_log::Entry]) -> DalekBatch {
        DalekBatch {
            messages: entries
                .iter()
                .map(|e| [hifazat_log::SIGNATURE_CONTEXT, e.content_bytes()].concat())
                .collect(),
            signatures: entries
                .iter()
                .map(|e| ed25519_dalek::Signature::from_bytes(e.signature()))
                .collect(),
            keys: entries
                .iter()
                .map(|e| {
                    ed25519_dalek::VerifyingKey::from_bytes(&e.content().log.author.0).unwrap()
                })
                .collect(),
        }
    }

    /// Runs ed25519-dalek's batch verification; panics if it fails.
    pub fn verify(&self) {
        let refs: Vec<&[u8]> = self.messages.iter().map(|m| m.as_slice()).collect();
        ed25519_dalek::verify_batch(&refs, &self.signatures, &self.keys).unwrap();
    }
}

/// A plain libp2p gossipsub node, the raw baseline beside the federation: TCP, noise and yamux as the nodes use,
/// anonymous messages with content-hash message ids and the nodes' heartbeat (the nodes' gossipsub settings),
/// subscribed to one topic and listening on `listen`. Nothing is verified, stored or applied.
pub fn raw_gossip_swarm(
    listen: libp2p::Multiaddr,
    topic: &libp2p::gossipsub::IdentTopic,
) -> libp2p::Swarm<libp2p::gossipsub::Behaviour> {
    use libp2p::gossipsub::{self, MessageId};
    use sha2::{Digest, Sha256};
    use std::time::Duration;
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .message_id_fn(|m: &gossipsub::Message| MessageId::new(&Sha256::digest(&m.data)))
        .heartbeat_interval(Duration::from_millis(hifazat_limits::GOSSIP_HEARTBEAT_MS))
        .build()
        .expect("gossipsub config");
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| {
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
                .expect("gossipsub")
        })
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm.behaviour_mut().subscribe(topic).expect("subscribe");
    swarm.listen_on(listen).expect("listen");
    swarm
}
