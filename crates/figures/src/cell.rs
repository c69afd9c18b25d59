//! What one record adds to the figures (`Facts`), and a sum of such contributions (`Cell`).

use std::collections::BTreeMap;

use hifazat_domain::{
    AlertStatus, CaseCategory, CaseStage, CaseStatus, Channel, FoundStage, FoundStatus, RecordKind,
};
use serde::Serialize;

use crate::durations::Durations;
use crate::names::{self, Counts};

/// A status or category as its JSON name (`under_investigation`, `domestic_violence`).
fn json_name<S: Serialize>(value: S) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".into(),
    }
}

/// What one record adds to the figures, from its summary: where and when it was raised or filed, its stage and
/// category, the yes-or-no facts counted, the durations medians are taken of, and when it was first resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub kind: RecordKind,
    pub district: String,
    pub created_ms: u64,
    pub status: String,
    pub category: Option<String>,
    /// How the record reached the system (`helpline_1099`, `media_report`), as its JSON name.
    pub channel: String,
    /// The yes-or-no facts that hold, by name.
    pub flags: Vec<&'static str>,
    /// Durations from creation, by name; a duration not yet known is left out.
    pub durations: Vec<(&'static str, u64)>,
    /// When the record was first recovered, reunited or resolved.
    pub resolved_ms: Option<u64>,
}

impl Facts {
    /// An alert's facts: FIR registered, escalated, recovered (or reunited); from raising to the first validation
    /// and to the first recovery.
    pub fn alert(district: &str, created_ms: u64, channel: Channel, status: &AlertStatus) -> Facts {
        let flags = [
            ("fir_registered", !status.fir_numbers.is_empty()),
            ("escalated", status.escalation_level.is_some()),
            ("recovered", status.first_resolved_ms.is_some()),
        ];
        let durations = [
            ("to_validation", status.first_validated_ms),
            ("to_recovery", status.first_resolved_ms),
        ];
        Facts::of(
            RecordKind::Alert,
            district,
            created_ms,
            json_name(status.stage),
            None,
            json_name(channel),
            &flags,
            &durations,
            status.first_resolved_ms,
        )
    }

    /// A case's facts: FIR registered, now under investigation, fast-tracked, resolved (whatever came after),
    /// closed; from filing to the first step of investigation and to resolution.
    pub fn case(
        district: &str,
        created_ms: u64,
        category: CaseCategory,
        channel: Channel,
        status: &CaseStatus,
    ) -> Facts {
        let flags = [
            ("fir_registered", !status.fir_numbers.is_empty()),
            (
                "under_investigation",
                status.stage == CaseStage::UnderInvestigation,
            ),
            ("fast_tracked", status.fast_tracked),
            ("resolved", status.first_resolved_ms.is_some()),
            ("closed", status.stage == CaseStage::Closed),
        ];
        let durations = [
            ("to_investigation", status.first_validated_ms),
            ("to_resolution", status.first_resolved_ms),
        ];
        Facts::of(
            RecordKind::Case,
            district,
            created_ms,
            json_name(status.stage),
            Some(json_name(category)),
            json_name(channel),
            &flags,
            &durations,
            status.first_resolved_ms,
        )
    }

    /// A found child's report's facts: matched to an alert, handed to the family; from reporting to handing over.
    /// Found children are reported by officials, so they count under the channel `police_station`.
    pub fn found(district: &str, created_ms: u64, status: &FoundStatus) -> Facts {
        let flags = [
            ("matched", status.stage >= FoundStage::Matched),
            ("handed_to_family", status.first_resolved_ms.is_some()),
        ];
        let durations = [("to_family", status.first_resolved_ms)];
        Facts::of(
            RecordKind::Found,
            district,
            created_ms,
            json_name(status.stage),
            None,
            json_name(Channel::PoliceStation),
            &flags,
            &durations,
            status.first_resolved_ms,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn of(
        kind: RecordKind,
        district: &str,
        created_ms: u64,
        status: String,
        category: Option<String>,
        channel: String,
        flags: &[(&'static str, bool)],
        durations: &[(&'static str, Option<u64>)],
        resolved_ms: Option<u64>,
    ) -> Facts {
        Facts {
            kind,
            district: district.to_owned(),
            created_ms,
            status,
            category,
            channel,
            flags: flags
                .iter()
                .filter(|(_, yes)| *yes)
                .map(|(n, _)| *n)
                .collect(),
            durations: durations
                .iter()
                .filter_map(|(n, to)| to.map(|to| (*n, to.saturating_sub(created_ms))))
                .collect(),
            resolved_ms,
        }
    }
}

/// How much of a record a cell counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Everything: counts and durations.
    Full,
    /// The counts, not the durations.
    Counts,
    /// Only that the record is there.
    Records,
}

/// A sum of records' facts: how many, by stage and category, how many with each yes-or-no fact, and their
/// durations. Entries that fall to zero are dropped, so a sum equals one built afresh from what remains. Small in
/// memory (names as one-byte codes, counts in short sorted vectors), since a national node keeps hundreds of
/// thousands of them; stored in a compact binary form (`codec`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub records: u64,
    pub(crate) by_status: Counts,
    pub(crate) by_category: Counts,
    pub(crate) by_channel: Counts,
    pub(crate) flags: Counts,
    /// Durations by name's code, sorted by code.
    pub(crate) durations: Vec<(u8, Durations)>,
}

impl Cell {
    /// The cell as stored.
    pub fn encode(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// A cell as stored, or `None` for bytes that are not one.
    pub fn decode(bytes: &[u8]) -> Option<Cell> {
        crate::codec::decode(bytes)
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Records by stage (`validated`, `under_investigation`).
    pub fn statuses(&self) -> BTreeMap<String, u64> {
        self.by_status
            .iter()
            .map(|(k, n)| (k.to_owned(), n))
            .collect()
    }

    /// Cases by category (`harassment`).
    pub fn categories(&self) -> BTreeMap<String, u64> {
        self.by_category
            .iter()
            .map(|(k, n)| (k.to_owned(), n))
            .collect()
    }

    /// Records by channel (`helpline_1099`, `media_report`).
    pub fn channels(&self) -> BTreeMap<String, u64> {
        self.by_channel
            .iter()
            .map(|(k, n)| (k.to_owned(), n))
            .collect()
    }

    /// How many records have the yes-or-no fact `name`.
    pub fn flag(&self, name: &str) -> u64 {
        self.flags.get(name)
    }

    /// The durations named `name`, if any record has one.
    pub fn durations(&self, name: &str) -> Option<&Durations> {
        let code = names::code(name)?;
        self.durations
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, d)| d)
    }

    fn durations_mut(&mut self, code: u8) -> &mut Durations {
        let i = match self.durations.binary_search_by_key(&code, |(c, _)| *c) {
            Ok(i) => i,
            Err(i) => {
                self.durations.insert(i, (code, Durations::default()));
                i
            }
        };
        &mut self.durations[i].1
    }

    /// Counts a record in, as much of it as `part` says.
    pub fn add(&mut self, f: &Facts, part: Part) {
        self.records += 1;
        if part == Part::Records {
            return;
        }
        self.by_status.add(names::known(&f.status), 1);
        if let Some(c) = &f.category {
            self.by_category.add(names::known(c), 1);
        }
        self.by_channel.add(names::known(&f.channel), 1);
        for flag in &f.flags {
            self.flags.add(names::known(flag), 1);
        }
        if part == Part::Counts {
            return;
        }
        for (name, ms) in &f.durations {
            self.durations_mut(names::known(name)).add(*ms);
        }
    }

    /// Counts a record out: exactly what [`Cell::add`] counted in for the same facts and part.
    pub fn remove(&mut self, f: &Facts, part: Part) {
        self.records = self
            .records
            .checked_sub(1)
            .expect("a record taken away was added");
        if part == Part::Records {
            return;
        }
        self.by_status.take_one(names::known(&f.status));
        if let Some(c) = &f.category {
            self.by_category.take_one(names::known(c));
        }
        self.by_channel.take_one(names::known(&f.channel));
        for flag in &f.flags {
            self.flags.take_one(names::known(flag));
        }
        if part == Part::Counts {
            return;
        }
        for (name, ms) in &f.durations {
            let code = names::known(name);
            let i = self
                .durations
                .binary_search_by_key(&code, |(c, _)| *c)
                .expect("a duration taken away was added");
            self.durations[i].1.remove(*ms);
            if self.durations[i].1.is_empty() {
                self.durations.remove(i);
            }
        }
    }

    /// Adds another cell (for a query's sum).
    pub fn merge(&mut self, other: &Cell) {
        self.merge_counts(other);
        for (code, d) in &other.durations {
            self.durations_mut(*code).merge(d);
        }
    }

    /// Adds another cell's durations, not its counts (a month's medians, from its days).
    pub fn merge_durations(&mut self, other: &Cell) {
        for (code, d) in &other.durations {
            self.durations_mut(*code).merge(d);
        }
    }

    /// Adds another cell's counts, not its durations (for series that show no medians).
    pub fn merge_counts(&mut self, other: &Cell) {
        self.records += other.records;
        self.by_status.merge(&other.by_status);
        self.by_category.merge(&other.by_category);
        self.by_channel.merge(&other.by_channel);
        self.flags.merge(&other.flags);
    }

    /// Whether two cells count the same records, as far as each still knows its durations
    /// ([`Durations::same_samples`]).
    pub fn same(&self, other: &Cell) -> bool {
        self.records == other.records
            && self.by_status == other.by_status
            && self.by_category == other.by_category
            && self.by_channel == other.by_channel
            && self.flags == other.flags
            && self.durations.len() == other.durations.len()
            && self
                .durations
                .iter()
                .zip(&other.durations)
                .all(|((a, x), (b, y))| a == b && x.same_samples(y))
    }
}
