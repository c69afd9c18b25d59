//! What the register's tests share: the federal node's key and an entry's draft.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use hifazat_register::OffenderDraft;
use hifazat_register::offender::{AddressDraft, Conviction, Parentage, Relation};

pub fn node_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

pub fn draft(cnic: &str, name: &str) -> OffenderDraft {
    OffenderDraft {
        cnic: cnic.into(),
        name: name.into(),
        parentage: Parentage {
            relation: Relation::SonOf,
            name: "Ghulam Rasool".into(),
        },
        aliases: vec!["Billa".into()],
        photo_ref: Some("nsor/photos/8812".into()),
        convictions: vec![Conviction {
            offence: "s.376 PPC".into(),
            court: "Anti-Rape Special Court Kasur".into(),
            date: "2022-03-14".into(),
            sentence: "10 years".into(),
        }],
        address: AddressDraft {
            address: "Mohalla Rasheedabad".into(),
            district: "PB-KSR".into(),
            since: "2019-06-01".into(),
        },
    }
}
