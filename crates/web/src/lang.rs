//! The page language: English or Urdu, chosen by the reader's switch (a cookie) or else their browser's
//! `Accept-Language`, English when neither says.

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Ur,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ur];

    /// The BCP 47 code, for `<html lang>` and the switch.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ur => "ur",
        }
    }

    /// The writing direction, for `<html dir>`.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::En => "ltr",
            Lang::Ur => "rtl",
        }
    }

    /// The other language (the switch on every page offers it).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ur,
            Lang::Ur => Lang::En,
        }
    }

    /// Of a name written in both languages (a place in the topology), the one in this language.
    pub fn pick<'a>(self, en: &'a str, ur: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Ur => ur,
        }
    }

    /// The language of a code (`en`, `ur`, also with a region such as `ur-PK`), if the pages have it.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ur" => Some(Lang::Ur),
            _ => None,
        }
    }

    /// The reader's language: the switch's cookie value when it names one, else the first language in
    /// `Accept-Language` (by quality) that the pages have, else English.
    pub fn choose(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = cookie.and_then(Lang::from_code) {
            return lang;
        }
        let Some(header) = accept_language else {
            return Lang::En;
        };
        let mut best: Option<(u16, Lang)> = None;
        // Bounded: a header of many ranges is read no further than its first few.
        for range in header.split(',').take(LANGUAGE_RANGES_MAX) {
            let mut parts = range.split(';');
            let Some(lang) = parts.next().and_then(Lang::from_code) else {
                continue;
            };
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, quality_per_mille);
            if quality > 0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }
}

/// Ranges of `Accept-Language` read at most.
const LANGUAGE_RANGES_MAX: usize = 16;

/// A quality value (`0` to `1`, up to three decimals) in thousandths; an unreadable one counts as 0.
fn quality_per_mille(q: &str) -> u16 {
    let q = q.trim();
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
    match (whole, digits.parse::<u16>()) {
        ("1", _) => 1000,
        ("0", Ok(n)) if fraction.len() <= 3 => n,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_wins_then_the_browser_then_english() {
        assert_eq!(Lang::choose(Some("ur"), Some("en-GB")), Lang::Ur);
        assert_eq!(Lang::choose(Some("fr"), Some("ur-PK,en;q=0.5")), Lang::Ur);
        assert_eq!(Lang::choose(None, Some("en-US,ur;q=0.9")), Lang::En);
        assert_eq!(Lang::choose(None, Some("ur;q=0.4, en;q=0.8")), Lang::En);
        assert_eq!(Lang::choose(None, Some("pa-PK, ur;q=0.7")), Lang::Ur);
        assert_eq!(Lang::choose(None, Some("fr, de;q=0.5")), Lang::En);
        assert_eq!(Lang::choose(None, Some("ur;q=0")), Lang::En);
        assert_eq!(Lang::choose(None, Some("ur;q=banana")), Lang::En);
        assert_eq!(Lang::choose(None, None), Lang::En);
        assert_eq!(Lang::choose(None, Some("")), Lang::En);
    }

    #[test]
    fn qualities() {
        assert_eq!(quality_per_mille("1"), 1000);
        assert_eq!(quality_per_mille("1.0"), 1000);
        assert_eq!(quality_per_mille("0.5"), 500);
        assert_eq!(quality_per_mille("0.125"), 125);
        assert_eq!(quality_per_mille("0.1234"), 0);
        assert_eq!(quality_per_mille("2"), 0);
    }
}
