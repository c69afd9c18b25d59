//! Benchmarks live in `benches/`; see BENCHMARKS.md for what they measure and how to run them. This library holds
//! what they share.

use hifazat_domain::{AlertDraft, Channel, ContactDraft, PlaceDraft, Sex};

/// The alert every benchmark raises: a child last seen in Lahore a minute before `now_ms`.
pub fn alert_draft(now_ms: u64) -> AlertDraft {
    AlertDraft {
        child_name: "Ayesha".into(),
        age_years: 7,
        sex: Sex::Female,
        photo_ref: Some("photo/abc.jpg".into()),
        description: "Red frock, plastic sandals, answers to Ashi".into(),
        last_seen: PlaceDraft {
            district: "PB-LHR".into(),
            lat: 31.55,
            lon: 74.34,
            text: "Anarkali Bazaar".into(),
        },
        last_seen_at_ms: now_ms - 60_000,
        reporter: ContactDraft {
            name: "Mother".into(),
            mobile: Some("03001234567".into()),
            cnic: None,
        },
        channel: Channel::Helpline1099,
        contact_line: None,
        office: None,
        police_notes: None,
    }
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
