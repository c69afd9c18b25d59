//! The catalogues: every string the pages show, one file per language (`i18n/en.toml`, `i18n/ur.toml`), keys
//! named by meaning (`home.title`), compiled into the binary; and how each language writes dates and counts.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::Lang;

/// Pakistan Standard Time, UTC+5 all year (no daylight saving), in milliseconds.
const PKT_OFFSET_MS: i64 = 5 * 3_600_000;

/// A whole number as templates hold it: by value, or behind however many references a template's loops and
/// matches add.
pub trait Number {
    fn number(&self) -> u64;
}

impl Number for u64 {
    fn number(&self) -> u64 {
        *self
    }
}

impl Number for usize {
    fn number(&self) -> u64 {
        *self as u64
    }
}

impl<T: Number + ?Sized> Number for &T {
    fn number(&self) -> u64 {
        (**self).number()
    }
}

/// One language's strings.
#[derive(Debug)]
pub struct Text {
    lang: Lang,
    strings: BTreeMap<String, String>,
}

static EN: LazyLock<Text> =
    LazyLock::new(|| Text::parse(Lang::En, include_str!("../i18n/en.toml")));
static UR: LazyLock<Text> =
    LazyLock::new(|| Text::parse(Lang::Ur, include_str!("../i18n/ur.toml")));

impl Text {
    /// The catalogue of `lang`.
    pub fn of(lang: Lang) -> &'static Text {
        match lang {
            Lang::En => &EN,
            Lang::Ur => &UR,
        }
    }

    fn parse(lang: Lang, source: &str) -> Text {
        // The files are part of the binary and checked by the tests: a broken one is a bug, found at the first
        // page and in every test run.
        let strings: BTreeMap<String, String> = toml::from_str(source)
            .unwrap_or_else(|e| panic!("the {} catalogue does not parse: {e}", lang.code()));
        Text { lang, strings }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The string for `key`. Every key a template uses is in both catalogues (the crate's tests check it); a key
    /// that is not would show as itself rather than fail the page.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.strings.get(key).map_or(key, String::as_str)
    }

    /// The string for a name that data carries (`named("alert.stage", "validated")` reads
    /// `alert.stage.validated`); the name itself if the catalogue lacks it.
    pub fn named<'a>(&'a self, prefix: &str, name: &'a str) -> &'a str {
        self.strings
            .get(&format!("{prefix}.{name}"))
            .map_or(name, String::as_str)
    }

    /// Every key, for the tests.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.strings.keys().map(String::as_str)
    }

    /// A count with thousands grouped (`12,345`), in digits both languages read.
    pub fn count(&self, n: impl Number) -> String {
        let digits = n.number().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    /// A moment (ms since the Unix epoch) in Pakistan Standard Time, as this language writes it:
    /// `5 December 2026, 14:05` in English, `5 دسمبر 2026، 14:05` in Urdu.
    pub fn when(&self, ms: impl Number) -> String {
        let local = i64::try_from(ms.number()).unwrap_or(i64::MAX - PKT_OFFSET_MS) + PKT_OFFSET_MS;
        let days = local.div_euclid(86_400_000);
        let in_day = local.rem_euclid(86_400_000);
        let (year, month, day) = hifazat_domain::calendar::civil_from_days(days);
        let (hour, minute) = (in_day / 3_600_000, in_day % 3_600_000 / 60_000);
        let month_name = self.get(MONTHS[(month - 1) as usize]);
        let comma = match self.lang {
            Lang::En => ",",
            Lang::Ur => "\u{060C}",
        };
        format!("{day} {month_name} {year}{comma} {hour:02}:{minute:02}")
    }
}

impl Text {
    /// A length of time as this language says it, to the minute: `under a minute`, `25 min`, `3 h 5 min`,
    /// `2 days 4 h`.
    pub fn duration(&self, ms: impl Number) -> String {
        let minutes = ms.number() / 60_000;
        let (days, hours, mins) = (minutes / 1_440, minutes % 1_440 / 60, minutes % 60);
        let unit = |n: u64, one: &str, many: &str| {
            format!("{n} {}", self.get(if n == 1 { one } else { many }))
        };
        match (days, hours, mins) {
            (0, 0, 0) => self.get("time.under_minute").to_owned(),
            (0, 0, m) => unit(m, "time.minute", "time.minutes"),
            (0, h, m) => format!(
                "{} {}",
                unit(h, "time.hour", "time.hours"),
                unit(m, "time.minute", "time.minutes")
            ),
            (d, h, _) => format!(
                "{} {}",
                unit(d, "time.day", "time.days"),
                unit(h, "time.hour", "time.hours")
            ),
        }
    }
}

/// A moment the reader typed in Pakistan Standard Time, `YYYY-MM-DDTHH:MM` (as a browser's date-and-time field
/// sends it) or with a space for the `T`, as ms since the Unix epoch; `None` if it is not one.
pub fn parse_local_time(typed: &str) -> Option<u64> {
    let typed = typed.trim();
    let (date, time) = typed.split_once(['T', ' '])?;
    let mut date = date.split('-');
    let year: i64 = date.next()?.parse().ok()?;
    let month: u32 = date.next()?.parse().ok()?;
    let day: u32 = date.next()?.parse().ok()?;
    let mut time = time.trim().split(':');
    let hour: i64 = time.next()?.parse().ok()?;
    let minute: i64 = time.next()?.parse().ok()?;
    if date.next().is_some()
        || time.next().is_some()
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(1970..=9999).contains(&year)
    {
        return None;
    }
    let days = hifazat_domain::calendar::days_from_civil(year, month, day);
    // A day past the month's end (31 April) comes back as another date: refused rather than moved.
    if hifazat_domain::calendar::civil_from_days(days) != (year, month, day) {
        return None;
    }
    let ms = days * 86_400_000 + hour * 3_600_000 + minute * 60_000 - PKT_OFFSET_MS;
    u64::try_from(ms).ok()
}

/// The catalogue keys of the months, January first.
const MONTHS: [&str; 12] = [
    "month.1", "month.2", "month.3", "month.4", "month.5", "month.6", "month.7", "month.8",
    "month.9", "month.10", "month.11", "month.12",
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn both_catalogues_have_every_key_and_no_empty_string() {
        let en: BTreeSet<&str> = Text::of(Lang::En).keys().collect();
        let ur: BTreeSet<&str> = Text::of(Lang::Ur).keys().collect();
        let only_en: Vec<_> = en.difference(&ur).collect();
        let only_ur: Vec<_> = ur.difference(&en).collect();
        assert!(only_en.is_empty(), "missing in Urdu: {only_en:?}");
        assert!(only_ur.is_empty(), "missing in English: {only_ur:?}");
        for lang in Lang::ALL {
            let text = Text::of(lang);
            for key in text.keys() {
                assert!(
                    !text.get(key).trim().is_empty(),
                    "{} {key} is empty",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn every_template_is_scanned_for_the_keys_it_uses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let files = std::fs::read_dir(dir).unwrap().count();
        assert_eq!(
            crate::TEMPLATE_SOURCES.len(),
            files,
            "every file in templates/ belongs in TEMPLATE_SOURCES"
        );
    }

    #[test]
    fn every_key_the_templates_and_code_use_is_in_the_catalogues() {
        let mut used = BTreeSet::new();
        let sources = crate::TEMPLATE_SOURCES.iter().copied().chain([
            include_str!("pages/mod.rs"),
            include_str!("pages/alerts.rs"),
            include_str!("pages/forms.rs"),
            include_str!("pages/stats.rs"),
            include_str!("pages/office.rs"),
            include_str!("pages/desk.rs"),
            include_str!("pages/dashboards.rs"),
            include_str!("pages/register.rs"),
            include_str!("pages/audit.rs"),
            include_str!("pages/found.rs"),
            include_str!("chart.rs"),
            include_str!("text.rs"),
        ]);
        for source in sources {
            for piece in source.split("t.get(\"").skip(1) {
                used.insert(piece.split('"').next().unwrap().to_owned());
            }
            let month = |p: &&str| {
                p.strip_prefix("month.")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            };
            for piece in source.split('"').filter(month) {
                used.insert(piece.to_owned());
            }
        }
        for key in crate::pages::run_time_keys() {
            used.insert(key);
        }
        assert!(used.len() > 20, "the scan found too few keys: {used:?}");
        for lang in Lang::ALL {
            let keys: BTreeSet<&str> = Text::of(lang).keys().collect();
            let missing: Vec<&String> =
                used.iter().filter(|k| !keys.contains(k.as_str())).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.code());
        }
    }

    #[test]
    fn numbers_inside_urdu_text_keep_their_order() {
        // A phone number with a space in right-to-left text is reordered unless isolated (LRI … PDI).
        for key in ["complaint.mobile.hint", "complaint.problem.mobile"] {
            assert!(
                Text::of(Lang::Ur)
                    .get(key)
                    .contains("\u{2066}0300 1234567\u{2069}"),
                "{key}"
            );
        }
    }

    #[test]
    fn typed_times_are_read_in_pakistan_standard_time() {
        // 14:05 in Pakistan is 09:05 UTC, the moment `when` writes as 14:05.
        assert_eq!(
            parse_local_time("2026-12-05T14:05"),
            Some(1_796_461_500_000)
        );
        assert_eq!(
            parse_local_time(" 2026-12-05 14:05 "),
            Some(1_796_461_500_000)
        );
        let en = Text::of(Lang::En);
        assert_eq!(
            en.when(parse_local_time("2027-01-01T00:00").unwrap()),
            "1 January 2027, 00:00"
        );
        for bad in [
            "",
            "2026-12-05",
            "14:05",
            "2026-13-05T10:00",
            "2026-04-31T10:00",
            "2026-12-05T24:00",
            "2026-12-05T10:60",
            "2026-12-05T10:00:00",
            "05/12/2026 10:00",
            "1969-12-31T23:00",
        ] {
            assert_eq!(parse_local_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_example_code_in_urdu_text_stays_whole() {
        // Isolated, so it reads left to right, and with non-breaking hyphens, so a narrow screen does not split it.
        let message = Text::of(Lang::Ur).get("problem.bad_code");
        assert!(
            message.contains("\u{2066}HZ\u{2011}7K3M\u{2011}Q9TD\u{2069}"),
            "{message}"
        );
    }

    #[test]
    fn dates_and_counts_per_language() {
        // 2026-12-05 09:05 UTC is 14:05 in Pakistan.
        let ms = 1_796_461_500_000u64;
        assert_eq!(Text::of(Lang::En).when(ms), "5 December 2026, 14:05");
        assert_eq!(Text::of(Lang::Ur).when(ms), "5 دسمبر 2026\u{060C} 14:05");
        // 19:00 UTC on New Year's Eve is already the new year in Pakistan.
        assert_eq!(
            Text::of(Lang::En).when(1_798_743_600_000u64),
            "1 January 2027, 00:00"
        );
        let en = Text::of(Lang::En);
        assert_eq!(en.count(0u64), "0");
        assert_eq!(en.count(999u64), "999");
        assert_eq!(en.count(1_000u64), "1,000");
        assert_eq!(en.count(82_639u64), "82,639");
        assert_eq!(en.count(5_000_000u64), "5,000,000");
        assert_eq!(en.duration(59_999_u64), "under a minute");
        assert_eq!(en.duration(60_000_u64), "1 min");
        assert_eq!(en.duration(25 * 60_000_u64), "25 min");
        assert_eq!(en.duration((3 * 60 + 5_u64) * 60_000), "3 h 5 min");
        assert_eq!(
            en.duration((2 * 1_440 + 4 * 60 + 9_u64) * 60_000),
            "2 days 4 h"
        );
        assert_eq!(en.duration(1_440 * 60_000_u64), "1 day 0 h");
    }
}
