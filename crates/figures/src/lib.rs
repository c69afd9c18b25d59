//! Statistics kept as aggregates, so a figure is read, not computed by scanning every record.
//!
//! Each record adds its [`Facts`] to a few [`Cell`]s, by kind and district: one for all time, one for the month
//! and one for the day it was raised or filed (UTC), and one for the month it was first resolved, if it was (the
//! trends count resolutions by that month). A change to a record takes its old facts out of their cells and puts
//! its new facts in ([`Figures::change`]), so the cells always equal a sum over the records' current facts,
//! whatever order changes come in. Counts are exact. Medians are exact while a cell's durations are few
//! (`durations::EXACT_MAX`), else read from buckets within `durations::MEDIAN_RELATIVE_ERROR`. Pure: where the
//! cells are kept, and in which batch, is the caller's business.
//!
//! What is stored stays small, since every change rewrites its cells: a day's cell counts everything, a month's
//! only the counts (its medians are read from its days), a month of resolution only the records, and the
//! all-time cells are not stored at all: they are the sum of the days, made when the cells are loaded
//! ([`Figures::load`]) and kept in memory.

use std::collections::BTreeMap;

use hifazat_domain::RecordKind;

mod cell;
mod codec;
pub mod durations;
pub mod names;

pub use cell::{Cell, Facts, Part};
pub use durations::Durations;

const DAY_MS: u64 = 86_400_000;

/// A day: days since the Unix epoch (UTC).
pub fn day_of(ms: u64) -> i64 {
    (ms / DAY_MS) as i64
}

/// A month: months since year 0 (`year * 12 + month - 1`, UTC).
pub fn month_of(ms: u64) -> i64 {
    let (y, m, _) = hifazat_domain::calendar::civil_from_days(day_of(ms));
    y * 12 + i64::from(m) - 1
}

/// The first day of a month (as [`month_of`] and [`day_of`] number them).
fn first_day(month: i64) -> i64 {
    hifazat_domain::calendar::days_from_civil(
        month.div_euclid(12),
        month.rem_euclid(12) as u32 + 1,
        1,
    )
}

/// Which records a cell sums: those raised or filed in a period, or those first resolved in a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    All,
    Month(i64),
    Day(i64),
    ResolvedIn(i64),
}

/// A cell's place: the kind of record, the period, then the district (so a period's cells over all districts
/// are next to each other).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub kind: RecordKind,
    pub period: Period,
    pub district: String,
}

impl Key {
    /// The key as stored: the kind's code, the period's tag and number (big-endian, sign bit flipped, so keys sort
    /// as they compare), then the district.
    pub fn encode(&self) -> Vec<u8> {
        let (tag, n) = match self.period {
            Period::All => (0u8, 0i64),
            Period::Month(m) => (1, m),
            Period::Day(d) => (2, d),
            Period::ResolvedIn(m) => (3, m),
        };
        let mut out = Vec::with_capacity(10 + self.district.len());
        out.push(self.kind.code());
        out.push(tag);
        out.extend_from_slice(&((n as u64) ^ (1 << 63)).to_be_bytes());
        out.extend_from_slice(self.district.as_bytes());
        out
    }

    /// A key as stored, or `None` for bytes that are not one.
    pub fn decode(bytes: &[u8]) -> Option<Key> {
        if bytes.len() < 10 {
            return None;
        }
        let kind = RecordKind::from_code(bytes[0])?;
        let n = (u64::from_be_bytes(bytes[2..10].try_into().ok()?) ^ (1 << 63)) as i64;
        let period = match bytes[1] {
            0 => Period::All,
            1 => Period::Month(n),
            2 => Period::Day(n),
            3 => Period::ResolvedIn(n),
            _ => return None,
        };
        let district = std::str::from_utf8(&bytes[10..]).ok()?.to_owned();
        Some(Key {
            kind,
            period,
            district,
        })
    }
}

impl Period {
    /// How much of each record a cell of this period counts.
    pub fn part(self) -> Part {
        match self {
            Period::All | Period::Day(_) => Part::Full,
            Period::Month(_) => Part::Counts,
            Period::ResolvedIn(_) => Part::Records,
        }
    }

    /// Whether cells of this period are stored (the all-time ones are made from the days when loading).
    pub fn stored(self) -> bool {
        self != Period::All
    }
}

/// The keys a record's facts count under.
fn keys(f: &Facts) -> impl Iterator<Item = Key> + '_ {
    let created = [
        Period::All,
        Period::Month(month_of(f.created_ms)),
        Period::Day(day_of(f.created_ms)),
    ];
    created
        .into_iter()
        .chain(f.resolved_ms.map(|ms| Period::ResolvedIn(month_of(ms))))
        .map(|period| Key {
            kind: f.kind,
            period,
            district: f.district.clone(),
        })
}

/// Which records a query counts by when they were raised or filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    All,
    /// One month (as [`month_of`] numbers them).
    Month(i64),
    /// Whole days, `[from, until)` (as [`day_of`] numbers them).
    Days(i64, i64),
}

impl Window {
    /// The window of `[from_ms, until_ms)` when it can be read from cells: no bounds, or bounds on UTC midnights.
    pub fn of_times(from_ms: u64, until_ms: Option<u64>) -> Option<Window> {
        match (from_ms, until_ms) {
            (0, None) => Some(Window::All),
            (from, until) if from % DAY_MS == 0 && until.is_none_or(|u| u % DAY_MS == 0) => {
                Some(Window::Days(day_of(from), until.map_or(i64::MAX, day_of)))
            }
            _ => None,
        }
    }
}

/// The cells of a node's records. Days' cells, the most numerous (every district, every day), are held as
/// stored ([`Cell::encode`]), a few dozen bytes each, and read when a query or a change needs them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    cells: BTreeMap<Key, Cell>,
    days: BTreeMap<Key, Box<[u8]>>,
}

fn is_day(key: &Key) -> bool {
    matches!(key.period, Period::Day(_))
}

fn day_cell(bytes: &[u8]) -> Cell {
    Cell::decode(bytes).expect("a day's cell held here reads back")
}

impl Figures {
    pub fn new() -> Figures {
        Figures::default()
    }

    /// Applies `edit` to the cell under `key` (empty if none), dropping it when it counts nothing.
    fn edit(&mut self, key: &Key, edit: impl FnOnce(&mut Cell)) {
        if is_day(key) {
            let mut cell = self.days.get(key).map(|b| day_cell(b)).unwrap_or_default();
            edit(&mut cell);
            if cell.is_empty() {
                self.days.remove(key);
            } else {
                self.days
                    .insert(key.clone(), cell.encode().into_boxed_slice());
            }
        } else {
            let cell = self.cells.entry(key.clone()).or_default();
            edit(cell);
            if cell.is_empty() {
                self.cells.remove(key);
            }
        }
    }

    /// A record's facts changed from `old` (none for a record new here) to `new`. Returns the keys of the stored
    /// cells that changed, for the caller to write beside the change ([`Figures::encoded`]).
    /// Takes a record's facts out (a record no longer held); returns the stored cells that moved.
    pub fn remove(&mut self, old: &Facts) -> Vec<Key> {
        let mut touched = Vec::new();
        for key in keys(old) {
            assert!(self.cell_exists(&key), "a record's old facts were counted");
            self.edit(&key, |cell| cell.remove(old, key.period.part()));
            if key.period.stored() {
                touched.push(key);
            }
        }
        touched
    }

    pub fn change(&mut self, old: Option<&Facts>, new: &Facts) -> Vec<Key> {
        if old == Some(new) {
            return Vec::new();
        }
        let mut touched = old.map(|old| self.remove(old)).unwrap_or_default();
        for key in keys(new) {
            self.edit(&key, |cell| cell.add(new, key.period.part()));
            if key.period.stored() && !touched.contains(&key) {
                touched.push(key);
            }
        }
        touched
    }

    fn cell_exists(&self, key: &Key) -> bool {
        if is_day(key) {
            self.days.contains_key(key)
        } else {
            self.cells.contains_key(key)
        }
    }

    /// The cell under `key`, if any record counts there.
    pub fn cell(&self, key: &Key) -> Option<Cell> {
        if is_day(key) {
            self.days.get(key).map(|b| day_cell(b))
        } else {
            self.cells.get(key).cloned()
        }
    }

    /// The cell under `key` as stored, if any record counts there.
    pub fn encoded(&self, key: &Key) -> Option<Vec<u8>> {
        if is_day(key) {
            self.days.get(key).map(|b| b.to_vec())
        } else {
            self.cells.get(key).map(Cell::encode)
        }
    }

    /// Puts a cell as read from storage (an empty one, or one of a period not stored, is not kept); a day's cell
    /// also adds to its district's all-time cell.
    pub fn load(&mut self, key: Key, cell: Cell) {
        if cell.is_empty() || !key.period.stored() {
            return;
        }
        if is_day(&key) {
            let all = Key {
                period: Period::All,
                ..key.clone()
            };
            self.cells.entry(all).or_default().merge(&cell);
            self.days.insert(key, cell.encode().into_boxed_slice());
        } else {
            self.cells.insert(key, cell);
        }
    }

    /// How many cells there are, all-time ones included.
    pub fn len(&self) -> usize {
        self.cells.len() + self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many cells are stored ([`Period::stored`]).
    pub fn stored_len(&self) -> usize {
        self.cells.keys().filter(|k| k.period.stored()).count() + self.days.len()
    }

    /// Every stored cell ([`Period::stored`]) as stored: months' and months of resolution first, then days.
    pub fn stored_cells(&self) -> impl Iterator<Item = (&Key, Vec<u8>)> {
        self.cells
            .iter()
            .filter(|(k, _)| k.period.stored())
            .map(|(k, c)| (k, c.encode()))
            .chain(self.days.iter().map(|(k, b)| (k, b.to_vec())))
    }

    fn range<V>(
        map: &BTreeMap<Key, V>,
        kind: RecordKind,
        from: Period,
        until: Period,
    ) -> impl Iterator<Item = (&Key, &V)> {
        let at = |period| Key {
            kind,
            period,
            district: String::new(),
        };
        map.range(at(from)..at(until))
    }

    /// The sum of `kind`'s records raised or filed in `window`, in the districts `holds` accepts, with each
    /// district's own count (for breakdowns by place).
    pub fn sum(
        &self,
        kind: RecordKind,
        window: Window,
        holds: impl Fn(&str) -> bool,
    ) -> (Cell, BTreeMap<String, u64>) {
        let mut sum = Cell::default();
        let mut by_district: BTreeMap<String, u64> = BTreeMap::new();
        let mut count = |k: &Key, cell: &Cell, sum: &mut Cell| {
            sum.merge(cell);
            *by_district.entry(k.district.clone()).or_default() += cell.records;
        };
        match window {
            Window::All => {
                for (k, cell) in
                    Self::range(&self.cells, kind, Period::All, Period::Month(i64::MIN))
                {
                    if holds(&k.district) {
                        count(k, cell, &mut sum);
                    }
                }
            }
            Window::Month(m) => {
                for (k, cell) in
                    Self::range(&self.cells, kind, Period::Month(m), Period::Month(m + 1))
                {
                    if holds(&k.district) {
                        count(k, cell, &mut sum);
                    }
                }
                // A month's cells count without durations: its medians come from its days.
                let (first, next) = (first_day(m), first_day(m + 1));
                for (k, bytes) in
                    Self::range(&self.days, kind, Period::Day(first), Period::Day(next))
                {
                    if holds(&k.district) {
                        sum.merge_durations(&day_cell(bytes));
                    }
                }
            }
            Window::Days(a, b) => {
                for (k, bytes) in Self::range(&self.days, kind, Period::Day(a), Period::Day(b)) {
                    if holds(&k.district) {
                        count(k, &day_cell(bytes), &mut sum);
                    }
                }
            }
        }
        (sum, by_district)
    }

    /// Per month in `[first, last]`, the counts (not the durations) of `kind`'s records raised or filed that month
    /// in the districts `holds` accepts.
    pub fn by_month(
        &self,
        kind: RecordKind,
        first: i64,
        last: i64,
        holds: impl Fn(&str) -> bool,
    ) -> BTreeMap<i64, Cell> {
        let mut out: BTreeMap<i64, Cell> = BTreeMap::new();
        for (k, cell) in Self::range(
            &self.cells,
            kind,
            Period::Month(first),
            Period::Month(last + 1),
        ) {
            if let Period::Month(m) = k.period
                && holds(&k.district)
            {
                out.entry(m).or_default().merge_counts(cell);
            }
        }
        out
    }

    /// Per month in `[first, last]`, how many of `kind`'s records in the districts `holds` accepts were first
    /// resolved that month.
    pub fn resolved_by_month(
        &self,
        kind: RecordKind,
        first: i64,
        last: i64,
        holds: impl Fn(&str) -> bool,
    ) -> BTreeMap<i64, u64> {
        let mut out = BTreeMap::new();
        for (k, cell) in Self::range(
            &self.cells,
            kind,
            Period::ResolvedIn(first),
            Period::ResolvedIn(last + 1),
        ) {
            if let Period::ResolvedIn(m) = k.period
                && holds(&k.district)
            {
                *out.entry(m).or_default() += cell.records;
            }
        }
        out
    }

    /// Whether two sets of figures count the same, as far as each still knows its durations
    /// ([`Cell::same`]); the keys of those that differ otherwise.
    pub fn differences(&self, other: &Figures) -> Vec<Key> {
        let mine: BTreeMap<&Key, Cell> = self.every().collect();
        let theirs: BTreeMap<&Key, Cell> = other.every().collect();
        let mut out: Vec<Key> = mine
            .iter()
            .filter(|(k, c)| theirs.get(*k).is_none_or(|o| !c.same(o)))
            .map(|(k, _)| (*k).clone())
            .collect();
        out.extend(
            theirs
                .keys()
                .filter(|k| !mine.contains_key(*k))
                .map(|k| (*k).clone()),
        );
        out
    }

    /// Every cell, read.
    fn every(&self) -> impl Iterator<Item = (&Key, Cell)> {
        self.cells
            .iter()
            .map(|(k, c)| (k, c.clone()))
            .chain(self.days.iter().map(|(k, b)| (k, day_cell(b))))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use hifazat_domain::{AlertStage, CaseCategory, CaseStage, Channel, EscalationLevel, Status};
    use proptest::prelude::*;

    use super::*;

    const DISTRICTS: [&str; 3] = ["PB-LHR", "PB-KSR", "SD-HYD"];
    const T0: u64 = 1_767_225_600_000; // 2026-01-01

    fn status<S>(
        stage: S,
        fir: bool,
        esc: bool,
        validated: Option<u64>,
        resolved: Option<u64>,
    ) -> Status<S> {
        Status {
            stage,
            fir_numbers: if fir {
                BTreeSet::from(["FIR-1".to_owned()])
            } else {
                BTreeSet::new()
            },
            fast_tracked: esc,
            escalation_level: esc.then_some(EscalationLevel::Region),
            first_validated_ms: validated,
            first_resolved_ms: resolved,
        }
    }

    fn facts() -> impl Strategy<Value = Facts> {
        (
            any::<bool>(),
            0usize..3,
            0u64..(200 * DAY_MS),
            0usize..4,
            any::<bool>(),
            any::<bool>(),
            prop::option::of(0u64..(30 * DAY_MS)),
            prop::option::of(0u64..(90 * DAY_MS)),
            0usize..3,
        )
            .prop_map(|(alert, d, at, stage, fir, esc, v, r, via)| {
                let created = T0 + at;
                let channel = [Channel::Sms, Channel::Helpline1099, Channel::MediaReport][via];
                let (v, r) = (v.map(|x| created + x), r.map(|x| created + x));
                if alert {
                    let stage = [
                        AlertStage::Raised,
                        AlertStage::Validated,
                        AlertStage::Recovered,
                        AlertStage::Closed,
                    ][stage];
                    Facts::alert(
                        DISTRICTS[d],
                        created,
                        channel,
                        &status(stage, fir, esc, v, r),
                    )
                } else {
                    let stage = [
                        CaseStage::Filed,
                        CaseStage::UnderInvestigation,
                        CaseStage::Resolved,
                        CaseStage::Closed,
                    ][stage];
                    let category =
                        [CaseCategory::DomesticViolence, CaseCategory::Harassment][d % 2];
                    Facts::case(
                        DISTRICTS[d],
                        created,
                        category,
                        channel,
                        &status(stage, fir, esc, v, r),
                    )
                }
            })
    }

    /// The figures built afresh from the records' current facts.
    fn scan(records: &BTreeMap<u8, Facts>) -> Figures {
        let mut f = Figures::new();
        for facts in records.values() {
            f.change(None, facts);
        }
        f
    }

    proptest! {
        /// After any sequence of changes (new records, changed facts, the same change twice), the figures equal
        /// those built afresh from the records as they now are, and every query agrees with a count over them.
        #[test]
        fn kept_figures_equal_a_full_scan(changes in prop::collection::vec((0u8..24, facts()), 1..120)) {
            let mut kept = Figures::new();
            let mut records: BTreeMap<u8, Facts> = BTreeMap::new();
            for (id, new) in changes {
                let old = records.get(&id).cloned();
                kept.change(old.as_ref(), &new);
                records.insert(id, new);
            }
            prop_assert!(kept.differences(&scan(&records)).is_empty());
            // Stored and loaded again (the all-time cells made from the days), they count the same.
            let mut loaded = Figures::new();
            for (k, c) in kept.stored_cells() {
                loaded.load(Key::decode(&k.encode()).unwrap(), Cell::decode(&c).unwrap());
            }
            prop_assert!(kept.differences(&loaded).is_empty());
            for kind in [RecordKind::Alert, RecordKind::Case] {
                let mine = |f: &&Facts| f.kind == kind && f.district != "SD-HYD";
                let holds = |d: &str| d != "SD-HYD";
                let (all, by_district) = kept.sum(kind, Window::All, holds);
                prop_assert_eq!(all.records, records.values().filter(mine).count() as u64);
                prop_assert_eq!(by_district.values().sum::<u64>(), all.records);
                prop_assert_eq!(
                    all.flag("fir_registered"),
                    records.values().filter(mine).filter(|f| f.flags.contains(&"fir_registered")).count() as u64
                );
                let month = month_of(T0 + 40 * DAY_MS);
                let (m, _) = kept.sum(kind, Window::Month(month), holds);
                let in_month = |f: &&Facts| month_of(f.created_ms) == month;
                prop_assert_eq!(m.records, records.values().filter(mine).filter(in_month).count() as u64);
                // A month's medians come from its days: every duration of the month's records, and no other.
                let name = if kind == RecordKind::Alert { "to_recovery" } else { "to_resolution" };
                prop_assert_eq!(
                    m.durations(name).map_or(0, |d| d.len()),
                    records.values().filter(mine).filter(in_month).filter(|f| f.durations.iter().any(|(n, _)| *n == name)).count() as u64
                );
                let (a, b) = (day_of(T0) + 10, day_of(T0) + 70);
                let (days, _) = kept.sum(kind, Window::Days(a, b), holds);
                prop_assert_eq!(days.records, records.values().filter(mine).filter(|f| (a..b).contains(&day_of(f.created_ms))).count() as u64);
                let resolved = kept.resolved_by_month(kind, month_of(T0), month_of(T0) + 12, holds);
                let expected = records.values().filter(mine).filter(|f| f.resolved_ms.is_some_and(|r| month_of(r) <= month_of(T0) + 12)).count() as u64;
                prop_assert_eq!(resolved.values().sum::<u64>(), expected);
                // Medians: exact where the samples are kept, else within the stated error.
                let mut samples: Vec<u64> = records.values().filter(mine).flat_map(|f| f.durations.iter().filter(|(n, _)| *n == "to_validation" || *n == "to_investigation").map(|(_, ms)| *ms)).collect();
                let name = if kind == RecordKind::Alert { "to_validation" } else { "to_investigation" };
                let d = all.durations(name).cloned().unwrap_or_default();
                prop_assert_eq!(d.len(), samples.len() as u64);
                if !samples.is_empty() {
                    samples.sort_unstable();
                    let (x, y) = (samples[(samples.len() - 1) / 2], samples[samples.len() / 2]);
                    let truth = x / 2 + y / 2 + (x % 2 + y % 2) / 2;
                    let got = d.median().unwrap();
                    if d.is_exact() {
                        prop_assert_eq!(got, truth);
                    } else {
                        let allowed = (truth as f64 * durations::MEDIAN_RELATIVE_ERROR).max(durations::SUB_SECOND_ERROR_MS as f64) + 1.0;
                        prop_assert!((got as f64 - truth as f64).abs() <= allowed);
                    }
                }
            }
        }
    }

    proptest! {
        /// A cell reads back as it was stored, whether its durations are kept exactly or in buckets; no strict
        /// prefix of a stored cell reads as one.
        #[test]
        fn cells_read_back_as_stored(all in prop::collection::vec(facts(), 1..90)) {
            let mut cell = Cell::default();
            for f in &all {
                cell.add(f, Part::Full);
            }
            let bytes = cell.encode();
            prop_assert_eq!(Cell::decode(&bytes), Some(cell.clone()));
            for cut in 0..bytes.len() {
                prop_assert!(Cell::decode(&bytes[..cut]).is_none());
            }
        }
    }

    #[test]
    fn keys_and_cells_read_back_as_stored() {
        let mut f = Figures::new();
        f.change(
            None,
            &Facts::alert(
                "PB-LHR",
                T0,
                Channel::Helpline1099,
                &status(
                    AlertStage::Recovered,
                    true,
                    true,
                    Some(T0 + 9),
                    Some(T0 + 99_999),
                ),
            ),
        );
        let mut keys: Vec<Key> = Vec::new();
        for (k, c) in f.stored_cells() {
            assert_eq!(Key::decode(&k.encode()).as_ref(), Some(k));
            assert_eq!(Cell::decode(&c), f.cell(k));
            keys.push(k.clone());
        }
        // Stored keys sort as the keys do.
        keys.sort();
        assert!(keys.windows(2).all(|w| w[0].encode() < w[1].encode()));
        assert_eq!(keys.len(), 3);
        let before = Key {
            kind: RecordKind::Alert,
            period: Period::Day(-3),
            district: "X".into(),
        };
        assert_eq!(Key::decode(&before.encode()), Some(before));
        assert_eq!(Key::decode(b"short"), None);
    }

    #[test]
    fn windows_on_midnights_are_read_from_cells() {
        assert_eq!(Window::of_times(0, None), Some(Window::All));
        assert_eq!(
            Window::of_times(T0, Some(T0 + 3 * DAY_MS)),
            Some(Window::Days(day_of(T0), day_of(T0) + 3))
        );
        assert_eq!(Window::of_times(T0 + 1, None), None);
        assert_eq!(month_of(T0), 2026 * 12);
    }
}
