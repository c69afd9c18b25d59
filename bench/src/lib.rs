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
