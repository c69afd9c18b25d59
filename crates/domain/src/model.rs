//! The records Hifazat keeps: missing-child alerts with their sightings, and complaint cases.
//!
//! Each record type comes in two forms: a *draft* as it arrives from outside (strings as typed, nothing trusted),
//! and its validated *intake*, which is what a record document stores. Only `Draft::validate` makes an intake.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::timeline::Event;

/// The district codes that exist; implemented by the topology, so the domain needs no file of its own.
pub trait Districts {
    fn contains(&self, district_code: &str) -> bool;
}

impl Districts for std::collections::BTreeSet<String> {
    fn contains(&self, district_code: &str) -> bool {
        std::collections::BTreeSet::contains(self, district_code)
    }
}

/// What validation needs from the outside world, passed in so the domain stays pure.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub districts: &'a dyn Districts,
    /// Current time, milliseconds since the Unix epoch.
    pub now_ms: u64,
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

/// Clock skew tolerated on "time last seen" and similar fields, so a phone a few minutes fast is not refused.
pub const CLOCK_SKEW_MS: u64 = 10 * 60 * 1000;

/// A record's identity: 16 random bytes drawn once, at the record's origin. Shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"))]
#[serde(into = "String", try_from = "String")]
pub struct RecordId(pub [u8; 16]);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({self})")
    }
}

impl FromStr for RecordId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("a record id is 32 hexadecimal digits".into());
        }
        let mut id = [0u8; 16];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
        }
        Ok(RecordId(id))
    }
}

impl From<RecordId> for String {
    fn from(id: RecordId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for RecordId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// The kinds of record, each with its own document shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Alert,
    Case,
    /// A found child's report.
    Found,
}

impl RecordKind {
    /// The kind's one-byte code in stores (`docs/storage.md`): 1 = alert, 2 = case, 3 = found child.
    pub fn code(self) -> u8 {
        match self {
            RecordKind::Alert => 1,
            RecordKind::Case => 2,
            RecordKind::Found => 3,
        }
    }

    /// The kind with this store code, if any.
    pub fn from_code(code: u8) -> Option<RecordKind> {
        [RecordKind::Alert, RecordKind::Case, RecordKind::Found]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// How a report reached the system (the channels the seeds name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The Pakistan Citizen Portal, or this node's public portal.
    CitizenPortal,
    /// The Ministry of Human Rights helpline 1099.
    Helpline1099,
    /// The police emergency helpline 15.
    Helpline15,
    /// A mobile app (Women Safety, Punjab Police, Mera Pyara).
    App,
    /// Raised at a government office on behalf of a citizen without internet access.
    GovernmentOffice,
    /// A text message to the short code.
    Sms,
    /// At a police station.
    PoliceStation,
    /// Found by officials monitoring the media (a newspaper, a channel, a website): cases only, with the outlet,
    /// the date and the link or reference ([`MediaReport`]).
    MediaReport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

/// A place: the district it is in, its coordinates, and how people describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Place {
    pub district: String,
    pub lat: f64,
    pub lon: f64,
    pub text: String,
}

/// A person who can be called back. Restricted: never in public views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub name: String,
    /// E.164 mobile number (`+923XXXXXXXXX`).
    pub mobile: Option<String>,
    /// 13-digit CNIC.
    pub cnic: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------------
// Drafts: what arrives from outside. Every field is checked by `validate`, which names the field it rejects.

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlaceDraft {
    pub district: String,
    pub lat: f64,
    pub lon: f64,
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactDraft {
    pub name: String,
    #[serde(default)]
    pub mobile: Option<String>,
    #[serde(default)]
    pub cnic: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertDraft {
    pub child_name: String,
    pub age_years: u8,
    pub sex: Sex,
    #[serde(default)]
    pub photo_ref: Option<String>,
    pub description: String,
    pub last_seen: PlaceDraft,
    pub last_seen_at_ms: u64,
    pub reporter: ContactDraft,
    pub channel: Channel,
    /// The public line to call with information; the 1099 helpline when not given.
    #[serde(default)]
    pub contact_line: Option<String>,
    /// For alerts raised at a government office: which office.
    #[serde(default)]
    pub office: Option<String>,
    #[serde(default)]
    pub police_notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SightingDraft {
    pub seen_at_ms: u64,
    #[serde(default)]
    pub place: Option<PlaceDraft>,
    pub description: String,
    /// Absent for an anonymous tip.
    #[serde(default)]
    pub reporter: Option<ContactDraft>,
    pub channel: Channel,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CaseDraft {
    pub category: CaseCategory,
    pub district: String,
    #[serde(default)]
    pub place: Option<PlaceDraft>,
    pub description: String,
    pub channel: Channel,
    #[serde(default)]
    pub victim_age_years: Option<u8>,
    /// Absent for an anonymous complaint: then no identity is stored at all.
    #[serde(default)]
    pub complainant: Option<ContactDraft>,
    /// For the channel `media_report` (and only for it): where the report appeared.
    #[serde(default)]
    pub media: Option<MediaDraft>,
}

/// Where a media report appeared, as an official enters it.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MediaDraft {
    /// The newspaper, channel or website, 1 to 100 characters.
    pub outlet: String,
    /// The day it was published or broadcast, `YYYY-MM-DD`, not in the future.
    pub published_on: String,
    /// The link, or a reference such as the page or the programme, 1 to 500 characters.
    pub reference: String,
}

/// Where a media report appeared: validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaReport {
    pub outlet: String,
    /// `YYYY-MM-DD`.
    pub published_on: String,
    pub reference: String,
}

// ---------------------------------------------------------------------------------------------------------------
// Intakes: validated, and what record documents store.

/// The part of an alert anyone may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertPublic {
    pub child_name: String,
    pub age_years: u8,
    pub sex: Sex,
    pub photo_ref: Option<String>,
    pub description: String,
    pub last_seen: Place,
    pub last_seen_at_ms: u64,
    pub contact_line: String,
    pub channel: Channel,
}

/// The part of an alert only officials entitled to it may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRestricted {
    pub reporter: Contact,
    pub office: Option<String>,
    pub police_notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertIntake {
    pub public: AlertPublic,
    pub restricted: AlertRestricted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sighting {
    pub seen_at_ms: u64,
    pub place: Option<Place>,
    pub description: String,
    pub reporter: Option<Contact>,
    pub channel: Channel,
}

/// Complaint categories, as the Punjab virtual centres report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CaseCategory {
    MissingChild,
    RunawayChild,
    VulnerableChild,
    DomesticViolence,
    Harassment,
    SexualViolence,
    AcidAttack,
    AttemptedMurder,
    CyberCrimeAgainstChild,
    Other,
}

impl CaseCategory {
    pub const ALL: [CaseCategory; 10] = [
        CaseCategory::MissingChild,
        CaseCategory::RunawayChild,
        CaseCategory::VulnerableChild,
        CaseCategory::DomesticViolence,
        CaseCategory::Harassment,
        CaseCategory::SexualViolence,
        CaseCategory::AcidAttack,
        CaseCategory::AttemptedMurder,
        CaseCategory::CyberCrimeAgainstChild,
        CaseCategory::Other,
    ];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseIntake {
    pub category: CaseCategory,
    pub district: String,
    pub place: Option<Place>,
    pub description: String,
    pub channel: Channel,
    pub victim_age_years: Option<u8>,
    /// `None` for an anonymous complaint.
    pub complainant: Option<Contact>,
    pub tracking_code: TrackingCode,
    /// For a case from a media report: where it appeared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaReport>,
}

/// A code the complainant uses to follow a case and write to its police, like `HZ-7K3M-Q9TD-X4BZ-2M8P`: 80 random
/// bits in Crockford base 32 (no I, L, O or U, so it survives being read aloud over a helpline). It is a secret
/// that reads and writes a conversation, so it is long enough that guessing fails for years at the public rate
/// limit (README, "Messages on a case"). Codes given before messages existed have 40 bits (`HZ-7K3M-Q9TD`) and
/// still read; the police may give a case a new code, which ends the old one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "HZ-7K3M-Q9TD-X4BZ-2M8P",
    pattern = r"^[Hh][Zz](-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}){2}((-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}){2})?$"))]
#[serde(try_from = "String", into = "String")]
pub struct TrackingCode(String);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Random bytes in a tracking code.
pub const TRACKING_RANDOM_BYTES: usize = 10;

impl TrackingCode {
    /// Makes a code from random bytes supplied by the caller (the domain draws no randomness itself).
    pub fn from_random(bytes: [u8; TRACKING_RANDOM_BYTES]) -> Self {
        let a = crockford(bytes[..5].try_into().expect("5 bytes"));
        let b = crockford(bytes[5..].try_into().expect("5 bytes"));
        TrackingCode(format!(
            "HZ-{}-{}-{}-{}",
            &a[..4],
            &a[4..],
            &b[..4],
            &b[4..]
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TrackingCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let why = "a tracking code looks like HZ-XXXX-XXXX-XXXX-XXXX (or, if given before 2027, HZ-XXXX-XXXX), with digits and letters other than I, L, O, U";
        let upper = s.trim().to_ascii_uppercase();
        let body = upper.strip_prefix("HZ-").ok_or(why)?;
        let groups: Vec<&str> = body.split('-').collect();
        let ok = (groups.len() == 2 || groups.len() == 4)
            && groups
                .iter()
                .all(|g| g.len() == 4 && g.bytes().all(|b| CROCKFORD.contains(&b)));
        if !ok {
            return Err(why.into());
        }
        Ok(TrackingCode(upper))
    }
}

impl TryFrom<String> for TrackingCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<TrackingCode> for String {
    fn from(code: TrackingCode) -> String {
        code.0
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An alert's short code, like `AL-7K3M-Q9TD`, for people to read out over a helpline or send by text
/// (`STATUS AL-7K3M-Q9TD`): 40 bits of the alert's id (from its random part) in Crockford base 32. Every node
/// derives it from the id, so nothing is stored in the alert and every node can answer it. Codes are not unique
/// (two alerts in a million share one by chance about once in two million alerts): a lookup answers every alert with
/// the code. Read back as Crockford reads: any case, dashes and spaces ignored, `AL` optional, `I` and `L` read
/// as 1, `O` as 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "AL-7K3M-Q9TD",
    pattern = r"^([Aa][Ll]-?)?[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}-?[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{4}$"))]
#[serde(try_from = "String", into = "String")]
pub struct AlertCode(String);

impl AlertCode {
    /// The code of an alert: bytes 8 to 12 of its id, the first five of its random part.
    pub fn of(id: &RecordId) -> AlertCode {
        let bytes: [u8; 5] = id.0[8..13].try_into().expect("5 bytes");
        let s = crockford(bytes);
        AlertCode(format!("AL-{}-{}", &s[..4], &s[4..]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 40 bits as 8 Crockford base-32 characters.
fn crockford(bytes: [u8; 5]) -> String {
    let mut bits = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut chars = [0u8; 8];
    for c in chars.iter_mut().rev() {
        *c = CROCKFORD[(bits & 31) as usize];
        bits >>= 5;
    }
    String::from_utf8(chars.to_vec()).expect("alphabet is ASCII")
}

impl FromStr for AlertCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let why =
            || "an alert's code looks like AL-7K3M-Q9TD: AL, then 8 digits and letters".to_owned();
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let body = compact
            .strip_prefix("AL")
            .filter(|b| b.len() == 8)
            .unwrap_or(&compact);
        if body.len() != 8 {
            return Err(why());
        }
        let mut read = String::with_capacity(8);
        for c in body.chars() {
            let c = match c {
                'I' | 'L' => '1',
                'O' => '0',
                c => c,
            };
            if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
                return Err(why());
            }
            read.push(c);
        }
        Ok(AlertCode(format!("AL-{}-{}", &read[..4], &read[4..])))
    }
}

impl TryFrom<String> for AlertCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<AlertCode> for String {
    fn from(code: AlertCode) -> String {
        code.0
    }
}

impl fmt::Display for AlertCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Documents: the shape a record's automerge document has, as serde types.

/// An alert's document. `timeline` and `sightings` only ever grow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertDoc {
    pub intake: AlertIntake,
    #[serde(default)]
    pub timeline: Vec<Event>,
    #[serde(default)]
    pub sightings: Vec<Sighting>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseDoc {
    pub intake: CaseIntake,
    #[serde(default)]
    pub timeline: Vec<Event>,
}

/// Any record document, tagged by its kind (the `kind` key at the document's root).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordDoc {
    Alert(AlertDoc),
    Case(CaseDoc),
    Found(crate::found::FoundDoc),
}

impl RecordDoc {
    pub fn kind(&self) -> RecordKind {
        match self {
            RecordDoc::Alert(_) => RecordKind::Alert,
            RecordDoc::Case(_) => RecordKind::Case,
            RecordDoc::Found(_) => RecordKind::Found,
        }
    }

    pub fn timeline(&self) -> &[Event] {
        match self {
            RecordDoc::Alert(a) => &a.timeline,
            RecordDoc::Case(c) => &c.timeline,
            RecordDoc::Found(f) => &f.timeline,
        }
    }

    /// The timeline, to add to.
    pub fn timeline_mut(&mut self) -> &mut Vec<Event> {
        match self {
            RecordDoc::Alert(a) => &mut a.timeline,
            RecordDoc::Case(c) => &mut c.timeline,
            RecordDoc::Found(f) => &mut f.timeline,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn districts() -> BTreeSet<String> {
        ["PB-LHR".to_owned(), "SD-KHS".to_owned()]
            .into_iter()
            .collect()
    }

    fn draft() -> AlertDraft {
        AlertDraft {
            child_name: "Ayesha".into(),
            age_years: 7,
            sex: Sex::Female,
            photo_ref: None,
            description: "Red frock, plastic sandals".into(),
            last_seen: PlaceDraft {
                district: "PB-LHR".into(),
                lat: 31.55,
                lon: 74.34,
                text: "Anarkali".into(),
            },
            last_seen_at_ms: 1_700_000_000_000,
            reporter: ContactDraft {
                name: "Parent".into(),
                mobile: Some("0300-1234567".into()),
                cnic: None,
            },
            channel: Channel::Helpline1099,
            contact_line: None,
            office: None,
            police_notes: None,
        }
    }

    #[test]
    fn valid_alert() {
        let d = districts();
        let ctx = Context {
            districts: &d,
            now_ms: 1_700_000_100_000,
        };
        let intake = draft().validate(&ctx).unwrap();
        assert_eq!(intake.public.contact_line, "1099");
        assert_eq!(
            intake.restricted.reporter.mobile.as_deref(),
            Some("+923001234567")
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let d = districts();
        let ctx = Context {
            districts: &d,
            now_ms: 1_700_000_100_000,
        };
        let mut bad = draft();
        bad.child_name = " ".into();
        bad.age_years = 30;
        bad.last_seen.district = "XX-NOPE".into();
        bad.last_seen.lat = 51.5;
        bad.last_seen_at_ms = 1_800_000_000_000;
        bad.reporter.mobile = Some("12345".into());
        let err = bad.validate(&ctx).unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "child_name",
                "age_years",
                "last_seen.district",
                "last_seen.lat",
                "last_seen_at_ms",
                "reporter.mobile"
            ]
        );
    }

    #[test]
    fn anonymous_case_keeps_no_identity() {
        let d = districts();
        let ctx = Context {
            districts: &d,
            now_ms: 1_700_000_100_000,
        };
        let case = CaseDraft {
            category: CaseCategory::Harassment,
            district: "SD-KHS".into(),
            place: None,
            description: "Harassed at the bus stop".into(),
            channel: Channel::App,
            victim_age_years: Some(24),
            complainant: None,
            media: None,
        };
        let intake = case
            .validate(&ctx, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
            .unwrap();
        assert!(intake.complainant.is_none());
        assert!(intake.tracking_code.as_str().starts_with("HZ-"));
    }

    #[test]
    fn alert_codes_are_read_back_as_people_say_them() {
        let id = RecordId([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0x12, 0x34, 0x56, 9, 9, 9]);
        let code = AlertCode::of(&id);
        assert_eq!(code.as_str().len(), 12);
        assert!(code.as_str().starts_with("AL-"));
        assert_eq!(
            code,
            AlertCode::of(&RecordId(
                [1; 8]
                    .into_iter()
                    .chain(id.0[8..].iter().copied())
                    .collect::<Vec<_>>()
                    .try_into()
                    .unwrap()
            ))
        );
        let body = code.as_str()[3..].replace('-', "");
        for said in [
            code.as_str().to_owned(),
            code.as_str().to_lowercase(),
            body.clone(),
            format!("al {} {}", &body[..4], &body[4..]),
        ] {
            assert_eq!(said.parse::<AlertCode>().as_ref(), Ok(&code), "{said}");
        }
        assert_eq!("AL-0000-0001".parse::<AlertCode>(), "al-oooo-ooo1".parse());
        assert_eq!("AL-1111-0000".parse::<AlertCode>(), "AL-ILil-0000".parse());
        for bad in [
            "AL-0000-000",
            "AL-0000-000U",
            "HZ-0000-0000",
            "",
            "AL-0000-0000-0",
        ] {
            assert!(bad.parse::<AlertCode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn record_ids_and_tracking_codes_round_trip() {
        let id = RecordId([0xab; 16]);
        assert_eq!(id.to_string().parse::<RecordId>().unwrap(), id);
        assert!("xyz".parse::<RecordId>().is_err());
        let code = TrackingCode::from_random([0xff, 0, 0x12, 0x34, 0x56, 1, 2, 3, 4, 5]);
        assert_eq!(code.as_str().len(), 22);
        assert!(
            "HZ-7K3M-Q9TD".parse::<TrackingCode>().is_ok(),
            "a code given before"
        );
        assert_eq!(
            code.as_str()
                .to_lowercase()
                .parse::<TrackingCode>()
                .unwrap(),
            code
        );
        assert!("HZ-ILOU-0000".parse::<TrackingCode>().is_err());
        assert!("HZ-0000-0000-0000".parse::<TrackingCode>().is_err());
        assert!("HZ-0000-0000-0000-00000".parse::<TrackingCode>().is_err());
    }
}
