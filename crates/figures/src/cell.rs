//! What one record adds to the figures (`Facts`), and a sum of such contributions (`Cell`).

use std::collections::BTreeMap;

use hifazat_domain::{AlertStatus, CaseCategory, CaseStage, CaseStatus, RecordKind};
use serde::{Deserialize, Serialize};

use crate::durations::Durations;

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
    pub fn alert(district: &str, created_ms: u64, status: &AlertStatus) -> Facts {
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

/// A sum of records' facts: how many, by stage and category, how many with each yes-or-no fact, and their
/// durations. Entries that fall to zero are dropped, so a sum equals one built afresh from what remains.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub records: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_status: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_category: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flags: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub durations: BTreeMap<String, Durations>,
}

fn up(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_owned()).or_default() += 1;
}

fn down(map: &mut BTreeMap<String, u64>, key: &str) {
    let n = map
        .get_mut(key)
        .filter(|n| **n > 0)
        .expect("a count taken away was added");
    *n -= 1;
    if *n == 0 {
        map.remove(key);
    }
}

impl Cell {
    /// The cell as stored (JSON).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a cell serialises")
    }

    /// A cell as stored, or `None` for bytes that are not one.
    pub fn decode(bytes: &[u8]) -> Option<Cell> {
        serde_json::from_slice(bytes).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Counts a record in.
    pub fn add(&mut self, f: &Facts) {
        self.records += 1;
        up(&mut self.by_status, &f.status);
        if let Some(c) = &f.category {
            up(&mut self.by_category, c);
        }
        for flag in &f.flags {
            up(&mut self.flags, flag);
        }
        for (name, ms) in &f.durations {
            self.durations
                .entry((*name).to_owned())
                .or_default()
                .add(*ms);
        }
    }

    /// Counts a record out: exactly what [`Cell::add`] counted in for the same facts.
    pub fn remove(&mut self, f: &Facts) {
        self.records = self
            .records
            .checked_sub(1)
            .expect("a record taken away was added");
        down(&mut self.by_status, &f.status);
        if let Some(c) = &f.category {
            down(&mut self.by_category, c);
        }
        for flag in &f.flags {
            down(&mut self.flags, flag);
        }
        for (name, ms) in &f.durations {
            let d = self
                .durations
                .get_mut(*name)
                .expect("a duration taken away was added");
            d.remove(*ms);
            if d.is_empty() {
                self.durations.remove(*name);
            }
        }
    }

    /// Adds another cell (for a query's sum).
    pub fn merge(&mut self, other: &Cell) {
        self.merge_counts(other);
        for (k, d) in &other.durations {
            self.durations.entry(k.clone()).or_default().merge(d);
        }
    }

    /// Adds another cell's counts, not its durations (for series that show no medians).
    pub fn merge_counts(&mut self, other: &Cell) {
        self.records += other.records;
        for (mine, theirs) in [
            (&mut self.by_status, &other.by_status),
            (&mut self.by_category, &other.by_category),
            (&mut self.flags, &other.flags),
        ] {
            for (k, n) in theirs {
                *mine.entry(k.clone()).or_default() += n;
            }
        }
    }

    /// How many records have the yes-or-no fact `name`.
    pub fn flag(&self, name: &str) -> u64 {
        self.flags.get(name).copied().unwrap_or(0)
    }

    /// Whether two cells count the same records, as far as each still knows its durations
    /// ([`Durations::same_samples`]).
    pub fn same(&self, other: &Cell) -> bool {
        self.records == other.records
            && self.by_status == other.by_status
            && self.by_category == other.by_category
            && self.flags == other.flags
            && self.durations.len() == other.durations.len()
            && self
                .durations
                .iter()
                .all(|(k, d)| other.durations.get(k).is_some_and(|o| d.same_samples(o)))
    }
}
