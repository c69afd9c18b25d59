//! What a verification answers, in English and Urdu, under the node's disclosure policy; and the reply's bytes,
//! which have one fixed size whatever the answer.

use hifazat_limits as limits;
use serde::{Deserialize, Serialize};

use crate::offender::{Offender, Relation};

/// How much a hit discloses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// The message as the national register's SMS service sends it: the offender's name and parentage.
    #[default]
    Full,
    /// Only that a record exists and the consultation's reference, which the police turn into a managed
    /// disclosure to the person who asked.
    ReferenceOnly,
}

impl std::str::FromStr for Disclosure {
    type Err = String;
    fn from_str(s: &str) -> Result<Disclosure, String> {
        match s {
            "full" => Ok(Disclosure::Full),
            "reference_only" => Ok(Disclosure::ReferenceOnly),
            _ => Err(format!(
                "`{s}` is not a disclosure policy; one of full, reference_only"
            )),
        }
    }
}

/// The answer of one verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The CNIC belongs to an offender on the register.
    Record,
    /// No offender on the register has this CNIC.
    NoRecord,
}

/// A verification reply. Every reply, hit or miss, is exactly `VERIFY_REPLY_BYTES` of JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyReply {
    pub outcome: Outcome,
    /// This consultation's reference (the same length for every reply): quote it to the police or the register.
    pub reference: String,
    pub message_en: String,
    pub message_ur: String,
    /// Spaces that bring the reply to its fixed size, so its length says nothing.
    pub padding: String,
}

fn relation_en(r: Relation) -> &'static str {
    match r {
        Relation::SonOf => "son of",
        Relation::DaughterOf => "daughter of",
        Relation::WifeOf => "wife of",
    }
}

fn relation_ur(r: Relation) -> &'static str {
    match r {
        Relation::SonOf => "ولد",
        Relation::DaughterOf => "بنت",
        Relation::WifeOf => "زوجہ",
    }
}

/// The English and Urdu messages for an answer.
pub fn messages(found: Option<&Offender>, policy: Disclosure, reference: &str) -> (String, String) {
    match (found, policy) {
        (None, _) => (
            "No record: no convict with this CNIC is on the National Sex Offenders Register."
                .to_owned(),
            "کوئی ریکارڈ نہیں: اس شناختی کارڈ نمبر کا کوئی سزا یافتہ مجرم قومی رجسٹر میں درج نہیں۔"
                .to_owned(),
        ),
        (Some(o), Disclosure::Full) => {
            let pronoun = match o.parentage.relation {
                Relation::SonOf => "him",
                Relation::DaughterOf | Relation::WifeOf => "her",
            };
            (
                format!(
                    "Beware! {} {} {} is a convict. Don't let {pronoun} be around children and women.",
                    o.name,
                    relation_en(o.parentage.relation),
                    o.parentage.name
                ),
                format!(
                    "خبردار! {} {} {} سزا یافتہ مجرم ہے۔ اسے بچوں اور خواتین کے قریب نہ آنے دیں۔",
                    o.name,
                    relation_ur(o.parentage.relation),
                    o.parentage.name
                ),
            )
        }
        (Some(_), Disclosure::ReferenceOnly) => (
            format!(
                "A record exists for this CNIC. Take reference {reference} to your nearest police station, which will tell you what you need to know."
            ),
            format!(
                "اس شناختی کارڈ نمبر کا ریکارڈ موجود ہے۔ حوالہ {reference} قریبی تھانے لے جائیں، وہاں آپ کو ضروری معلومات دی جائیں گی۔"
            ),
        ),
    }
}

impl VerifyReply {
    pub fn new(found: Option<&Offender>, policy: Disclosure, reference: String) -> VerifyReply {
        let (message_en, message_ur) = messages(found, policy, &reference);
        VerifyReply {
            outcome: if found.is_some() {
                Outcome::Record
            } else {
                Outcome::NoRecord
            },
            reference,
            message_en,
            message_ur,
            padding: String::new(),
        }
    }

    /// The reply as JSON of exactly `VERIFY_REPLY_BYTES` bytes. The limits on names make every reply fit (checked
    /// at compile time in the limits crate); a reply that did not would be a bug.
    pub fn to_padded_json(mut self) -> Vec<u8> {
        self.padding.clear();
        let bare = serde_json::to_vec(&self).expect("a reply serialises");
        assert!(
            bare.len() <= limits::VERIFY_REPLY_BYTES,
            "verification reply of {} bytes exceeds its fixed size",
            bare.len()
        );
        self.padding = " ".repeat(limits::VERIFY_REPLY_BYTES - bare.len());
        let out = serde_json::to_vec(&self).expect("a reply serialises");
        assert_eq!(out.len(), limits::VERIFY_REPLY_BYTES);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offender::{Parentage, Status};

    fn offender(name: &str, parent: &str, relation: Relation) -> Offender {
        Offender {
            id: "00".into(),
            cnic: "3520212345671".into(),
            name: name.into(),
            parentage: Parentage {
                relation,
                name: parent.into(),
            },
            aliases: vec![],
            photo_ref: None,
            convictions: vec![],
            addresses: vec![],
            travels: vec![],
            status: Status::Active,
            created_ms: 0,
            updated_ms: 0,
            changes: 1,
        }
    }

    #[test]
    fn the_seeds_message_in_both_languages() {
        let o = offender("ABC", "XYZ", Relation::SonOf);
        let (en, ur) = messages(Some(&o), Disclosure::Full, "R1");
        assert_eq!(
            en,
            "Beware! ABC son of XYZ is a convict. Don't let him be around children and women."
        );
        assert!(ur.starts_with("خبردار! ABC ولد XYZ"));
        let (en, _) = messages(
            Some(&offender("A", "B", Relation::WifeOf)),
            Disclosure::Full,
            "R1",
        );
        assert!(en.contains("wife of B") && en.contains("let her"));
        let (en, ur) = messages(Some(&o), Disclosure::ReferenceOnly, "R-7Q2X");
        assert!(!en.contains("ABC") && !ur.contains("ABC"));
        assert!(en.contains("R-7Q2X") && ur.contains("R-7Q2X"));
        let (en, _) = messages(None, Disclosure::Full, "R1");
        assert!(en.starts_with("No record"));
    }

    #[test]
    fn every_reply_has_one_size() {
        let longest = "ض".repeat(limits::REGISTER_NAME_CHARS_MAX);
        let cases = [
            Some(offender(&longest, &longest, Relation::DaughterOf)),
            Some(offender("A", "B", Relation::SonOf)),
            None,
        ];
        for policy in [Disclosure::Full, Disclosure::ReferenceOnly] {
            for found in &cases {
                let bytes = VerifyReply::new(found.as_ref(), policy, "R-0123456789AB".into())
                    .to_padded_json();
                assert_eq!(bytes.len(), limits::VERIFY_REPLY_BYTES);
                let back: VerifyReply = serde_json::from_slice(&bytes).expect("json");
                assert_eq!(back.outcome == Outcome::Record, found.is_some());
            }
        }
    }
}
