//! Register entries (offenders) and the changes that make them: drafts (untrusted input) validated into changes,
//! and changes applied to an entry in the order the register's signed log holds them.

use hifazat_domain::{Districts, Invalid, calendar, validate};
use hifazat_limits as limits;
use serde::{Deserialize, Serialize};

/// How the offender's parent or husband is named: "son of", "daughter of", "wife of" (s/o, d/o, w/o on a CNIC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    SonOf,
    DaughterOf,
    WifeOf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Parentage {
    pub relation: Relation,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conviction {
    pub offence: String,
    pub court: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub sentence: String,
}

/// One address; the history keeps every earlier one with the date it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    pub address: String,
    /// The district code, as the topology writes it.
    pub district: String,
    /// `YYYY-MM-DD`.
    pub since: String,
    /// `YYYY-MM-DD`, once the offender moved on; absent for the current address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A journey the offender notified, as the law requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Travel {
    pub destination: String,
    /// `YYYY-MM-DD`.
    pub depart: String,
    /// `YYYY-MM-DD`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back: Option<String>,
}

/// Where an entry stands. Only `active` entries answer verification with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    /// Serving a sentence.
    InCustody,
    Deceased,
    /// Taken off the register (a court order, an acquittal on appeal).
    Removed,
}

/// A register entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offender {
    /// 32 hex digits; random, so it says nothing of the person.
    pub id: String,
    /// 13 digits.
    pub cnic: String,
    pub name: String,
    pub parentage: Parentage,
    pub aliases: Vec<String>,
    /// Where the photograph is kept (a reference, not the image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_ref: Option<String>,
    pub convictions: Vec<Conviction>,
    /// Oldest first; the last without `until` is the current address.
    pub addresses: Vec<Address>,
    pub travels: Vec<Travel>,
    pub status: Status,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// Changes made to the entry, the first included.
    pub changes: u64,
}

impl Offender {
    /// Whether verification answers with this entry.
    pub fn answers(&self) -> bool {
        matches!(self.status, Status::Active | Status::InCustody)
    }
}

/// A new entry as a register officer submits it.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OffenderDraft {
    pub cnic: String,
    pub name: String,
    pub parentage: Parentage,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub photo_ref: Option<String>,
    pub convictions: Vec<Conviction>,
    pub address: AddressDraft,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddressDraft {
    pub address: String,
    pub district: String,
    /// `YYYY-MM-DD`.
    pub since: String,
}

/// A change to an existing entry, from a register officer or a notification from the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "change", rename_all = "snake_case", deny_unknown_fields)]
pub enum Update {
    /// A change of name; the old name becomes an alias.
    Rename {
        name: String,
    },
    AddAlias {
        alias: String,
    },
    /// A move: the current address ends the day the new one starts.
    Move {
        address: String,
        district: String,
        since: String,
    },
    Travel {
        destination: String,
        depart: String,
        #[serde(default)]
        back: Option<String>,
    },
    Convict(Conviction),
    SetStatus {
        status: Status,
    },
    SetPhoto {
        photo_ref: String,
    },
}

/// A new entry, validated: what a register officer's draft becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    pub cnic: String,
    pub name: String,
    pub parentage: Parentage,
    pub aliases: Vec<String>,
    pub photo_ref: Option<String>,
    pub convictions: Vec<Conviction>,
    pub address: Address,
}

/// What the register's log records: an entry created, or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    Create(NewEntry),
    Update(Update),
}

fn name(field: &str, value: &str, invalid: &mut Invalid) -> String {
    invalid
        .check(
            field,
            validate::text(value, limits::REGISTER_NAME_CHARS_MAX),
        )
        .map(|v| v.replace('\n', " "))
        .unwrap_or_default()
}

fn text(field: &str, value: &str, invalid: &mut Invalid) -> String {
    invalid
        .check(
            field,
            validate::text(value, limits::REGISTER_TEXT_CHARS_MAX),
        )
        .unwrap_or_default()
}

/// A calendar date `YYYY-MM-DD` that exists.
pub fn date(value: &str) -> Result<String, String> {
    let bad = || format!("`{value}` is not a date as YYYY-MM-DD");
    let parts: Vec<&str> = value.split('-').collect();
    if parts.len() != 3
        || parts[0].len() != 4
        || parts[1].len() != 2
        || parts[2].len() != 2
        || !value.bytes().all(|b| b.is_ascii_digit() || b == b'-')
    {
        return Err(bad());
    }
    let y: i64 = parts[0].parse().map_err(|_| bad())?;
    let m: u32 = parts[1].parse().map_err(|_| bad())?;
    let d: u32 = parts[2].parse().map_err(|_| bad())?;
    if !(1900..=2200).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return Err(bad());
    }
    let days = calendar::days_from_civil(y, m, d);
    if calendar::civil_from_days(days) != (y, m, d) {
        return Err(format!("`{value}` is not a day of the calendar"));
    }
    Ok(value.to_owned())
}

fn date_field(field: &str, value: &str, invalid: &mut Invalid) -> String {
    invalid.check(field, date(value)).unwrap_or_default()
}

fn district(field: &str, value: &str, districts: &dyn Districts, invalid: &mut Invalid) -> String {
    let code = value.trim();
    if districts.contains(code) {
        code.to_owned()
    } else {
        invalid.push(field, format!("`{code}` is not a district in the topology"));
        String::new()
    }
}

fn conviction(field: &str, c: &Conviction, invalid: &mut Invalid) -> Conviction {
    Conviction {
        offence: text(&format!("{field}.offence"), &c.offence, invalid),
        court: text(&format!("{field}.court"), &c.court, invalid),
        date: date_field(&format!("{field}.date"), &c.date, invalid),
        sentence: text(&format!("{field}.sentence"), &c.sentence, invalid),
    }
}

impl OffenderDraft {
    /// Validates every field, naming each one that is wrong.
    pub fn validate(&self, districts: &dyn Districts) -> Result<NewEntry, Invalid> {
        let mut invalid = Invalid::default();
        let cnic = invalid
            .check("cnic", validate::cnic(&self.cnic))
            .unwrap_or_default();
        let name = name("name", &self.name, &mut invalid);
        let parentage = Parentage {
            relation: self.parentage.relation,
            name: self::name("parentage.name", &self.parentage.name, &mut invalid),
        };
        if self.aliases.len() > limits::REGISTER_ALIASES_MAX {
            invalid.push(
                "aliases",
                format!("at most {} aliases", limits::REGISTER_ALIASES_MAX),
            );
        }
        let aliases = self
            .aliases
            .iter()
            .enumerate()
            .map(|(i, a)| self::name(&format!("aliases[{i}]"), a, &mut invalid))
            .collect();
        let photo_ref = self
            .photo_ref
            .as_deref()
            .map(|p| text("photo_ref", p, &mut invalid));
        if self.convictions.is_empty() {
            invalid.push(
                "convictions",
                "an entry needs the conviction that puts the offender on the register",
            );
        }
        if self.convictions.len() > limits::REGISTER_DRAFT_CONVICTIONS_MAX {
            invalid.push(
                "convictions",
                format!(
                    "at most {} convictions in a new entry; add more as updates",
                    limits::REGISTER_DRAFT_CONVICTIONS_MAX
                ),
            );
        }
        let convictions = self
            .convictions
            .iter()
            .enumerate()
            .map(|(i, c)| conviction(&format!("convictions[{i}]"), c, &mut invalid))
            .collect();
        let address = Address {
            address: text("address.address", &self.address.address, &mut invalid),
            district: district(
                "address.district",
                &self.address.district,
                districts,
                &mut invalid,
            ),
            since: date_field("address.since", &self.address.since, &mut invalid),
            until: None,
        };
        invalid.into_result()?;
        Ok(NewEntry {
            cnic,
            name,
            parentage,
            aliases,
            photo_ref,
            convictions,
            address,
        })
    }
}

impl Update {
    /// Validates the change's fields, naming each one that is wrong, and returns it normalised.
    pub fn validate(&self, districts: &dyn Districts) -> Result<Update, Invalid> {
        let mut invalid = Invalid::default();
        let out = match self {
            Update::Rename { name } => Update::Rename {
                name: self::name("name", name, &mut invalid),
            },
            Update::AddAlias { alias } => Update::AddAlias {
                alias: self::name("alias", alias, &mut invalid),
            },
            Update::Move {
                address,
                district,
                since,
            } => Update::Move {
                address: text("address", address, &mut invalid),
                district: self::district("district", district, districts, &mut invalid),
                since: date_field("since", since, &mut invalid),
            },
            Update::Travel {
                destination,
                depart,
                back,
            } => {
                let depart = date_field("depart", depart, &mut invalid);
                let back = back.as_deref().map(|b| date_field("back", b, &mut invalid));
                if let Some(b) = &back
                    && !depart.is_empty()
                    && !b.is_empty()
                    && b < &depart
                {
                    invalid.push("back", "is before `depart`");
                }
                Update::Travel {
                    destination: text("destination", destination, &mut invalid),
                    depart,
                    back,
                }
            }
            Update::Convict(c) => Update::Convict(conviction("conviction", c, &mut invalid)),
            Update::SetStatus { status } => Update::SetStatus { status: *status },
            Update::SetPhoto { photo_ref } => Update::SetPhoto {
                photo_ref: text("photo_ref", photo_ref, &mut invalid),
            },
        };
        invalid.into_result()?;
        Ok(out)
    }
}

/// Why a change does not apply to an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}")]
    Full(String),
    #[error("the new address starts on {since}, before the current one ({current})")]
    MovesBack { since: String, current: String },
}

impl Offender {
    /// The entry a new entry's creation makes.
    pub fn created(id: String, new: NewEntry, now_ms: u64) -> Offender {
        Offender {
            id,
            cnic: new.cnic,
            name: new.name,
            parentage: new.parentage,
            aliases: new.aliases,
            photo_ref: new.photo_ref,
            convictions: new.convictions,
            addresses: vec![new.address],
            travels: vec![],
            status: Status::Active,
            created_ms: now_ms,
            updated_ms: now_ms,
            changes: 1,
        }
    }

    /// Applies a validated update. Leaves the entry unchanged when it does not apply.
    pub fn apply(&mut self, update: &Update, now_ms: u64) -> Result<(), ApplyError> {
        let full = |what: &str, max: usize| {
            ApplyError::Full(format!("the entry holds {max} {what} already"))
        };
        match update {
            Update::Rename { name } => {
                if *name != self.name {
                    if self.aliases.len() >= limits::REGISTER_ALIASES_MAX {
                        return Err(full("aliases", limits::REGISTER_ALIASES_MAX));
                    }
                    let old = std::mem::replace(&mut self.name, name.clone());
                    if !self.aliases.contains(&old) {
                        self.aliases.push(old);
                    }
                }
            }
            Update::AddAlias { alias } => {
                if !self.aliases.contains(alias) && *alias != self.name {
                    if self.aliases.len() >= limits::REGISTER_ALIASES_MAX {
                        return Err(full("aliases", limits::REGISTER_ALIASES_MAX));
                    }
                    self.aliases.push(alias.clone());
                }
            }
            Update::Move {
                address,
                district,
                since,
            } => {
                if self.addresses.len() >= limits::REGISTER_ADDRESSES_MAX {
                    return Err(full("addresses", limits::REGISTER_ADDRESSES_MAX));
                }
                if let Some(current) = self.addresses.last_mut() {
                    if since < &current.since {
                        return Err(ApplyError::MovesBack {
                            since: since.clone(),
                            current: current.since.clone(),
                        });
                    }
                    current.until = Some(since.clone());
                }
                self.addresses.push(Address {
                    address: address.clone(),
                    district: district.clone(),
                    since: since.clone(),
                    until: None,
                });
            }
            Update::Travel {
                destination,
                depart,
                back,
            } => {
                if self.travels.len() >= limits::REGISTER_TRAVELS_MAX {
                    return Err(full("travel notifications", limits::REGISTER_TRAVELS_MAX));
                }
                self.travels.push(Travel {
                    destination: destination.clone(),
                    depart: depart.clone(),
                    back: back.clone(),
                });
            }
            Update::Convict(c) => {
                if self.convictions.len() >= limits::REGISTER_CONVICTIONS_MAX {
                    return Err(full("convictions", limits::REGISTER_CONVICTIONS_MAX));
                }
                self.convictions.push(c.clone());
            }
            Update::SetStatus { status } => self.status = *status,
            Update::SetPhoto { photo_ref } => self.photo_ref = Some(photo_ref.clone()),
        }
        self.updated_ms = now_ms;
        self.changes += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two;
    impl Districts for Two {
        fn contains(&self, code: &str) -> bool {
            code == "PB-LHR" || code == "PB-KSR"
        }
    }

    fn draft() -> OffenderDraft {
        OffenderDraft {
            cnic: "35202-1234567-1".into(),
            name: "Imran Ali".into(),
            parentage: Parentage {
                relation: Relation::SonOf,
                name: "Muhammad Ali".into(),
            },
            aliases: vec![],
            photo_ref: None,
            convictions: vec![Conviction {
                offence: "s.376 PPC".into(),
                court: "Anti-Rape Special Court, Kasur".into(),
                date: "2022-03-14".into(),
                sentence: "10 years".into(),
            }],
            address: AddressDraft {
                address: "House 12, Street 4".into(),
                district: "PB-KSR".into(),
                since: "2021-01-01".into(),
            },
        }
    }

    #[test]
    fn a_draft_becomes_an_entry_and_updates_keep_history() {
        let change = draft().validate(&Two).expect("valid");
        let mut o = Offender::created("00".into(), change, 1);
        assert_eq!(o.cnic, "3520212345671");
        assert!(o.answers());
        let rename = Update::Rename {
            name: "Imran Khan".into(),
        }
        .validate(&Two)
        .expect("valid");
        o.apply(&rename, 2).expect("apply");
        assert_eq!(o.name, "Imran Khan");
        assert_eq!(o.aliases, ["Imran Ali"]);
        let moved = Update::Move {
            address: "Flat 3".into(),
            district: "PB-LHR".into(),
            since: "2024-05-01".into(),
        };
        o.apply(&moved.validate(&Two).expect("valid"), 3)
            .expect("apply");
        assert_eq!(o.addresses.len(), 2);
        assert_eq!(o.addresses[0].until.as_deref(), Some("2024-05-01"));
        assert_eq!(o.addresses[1].until, None);
        let back = Update::Move {
            address: "Old".into(),
            district: "PB-LHR".into(),
            since: "2020-01-01".into(),
        };
        assert!(matches!(
            o.apply(&back, 4),
            Err(ApplyError::MovesBack { .. })
        ));
        assert_eq!(o.changes, 3);
        o.apply(
            &Update::SetStatus {
                status: Status::Removed,
            },
            5,
        )
        .expect("apply");
        assert!(!o.answers());
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut d = draft();
        d.cnic = "123".into();
        d.name = " ".into();
        d.parentage.name = "x".repeat(limits::REGISTER_NAME_CHARS_MAX + 1);
        d.convictions[0].date = "2023-02-30".into();
        d.address.district = "XX-NONE".into();
        let err = d.validate(&Two).expect_err("invalid");
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "cnic",
                "name",
                "parentage.name",
                "convictions[0].date",
                "address.district"
            ]
        );
        let mut d = draft();
        d.convictions.clear();
        assert_eq!(
            d.validate(&Two).expect_err("invalid").errors[0].field,
            "convictions"
        );
        let travel = Update::Travel {
            destination: "Dubai".into(),
            depart: "2025-01-10".into(),
            back: Some("2025-01-01".into()),
        };
        assert_eq!(
            travel.validate(&Two).expect_err("invalid").errors[0].field,
            "back"
        );
    }

    #[test]
    fn dates() {
        assert!(date("2024-02-29").is_ok());
        assert!(date("2023-02-29").is_err());
        assert!(date("2023-2-01").is_err());
        assert!(date("+123-02-01").is_err());
        assert!(date("1800-01-01").is_err());
    }
}
