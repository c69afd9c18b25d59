//! Benchmarks live in `benches/`; see BENCHMARKS.md for what they measure and how to run them. This library holds
//! what they share.

use hifazat_domain::AlertDraft;

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
                .map(|e| ed25519_dalek::Signature::from_bytes(&e.signature))
                .collect(),
            keys: entries
                .iter()
                .map(|e| ed25519_dalek::VerifyingKey::from_bytes(&e.content.log.author.0).unwrap())
                .collect(),
        }
    }

    /// Runs ed25519-dalek's batch verification; panics if it fails.
    pub fn verify(&self) {
        let refs: Vec<&[u8]> = self.messages.iter().map(|m| m.as_slice()).collect();
        ed25519_dalek::verify_batch(&refs, &self.signatures, &self.keys).unwrap();
    }
}
