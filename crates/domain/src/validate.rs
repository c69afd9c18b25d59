//! Input validation: every check names the field it rejects and says why.

use std::fmt;

use serde::Serialize;

/// One rejected field: its path in the input (`last_seen.lat`) and the reason, in words a clerk can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// All the problems found in one input, so a caller can fix them in one go.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invalid {
    pub errors: Vec<FieldError>,
}

impl Invalid {
    pub fn one(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let mut invalid = Invalid::default();
        invalid.push(field, reason);
        invalid
    }

    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            reason: reason.into(),
        });
    }

    /// Records the error of `result` under `field`, if any, and returns its value.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(reason) => {
                self.push(field, reason);
                None
            }
        }
    }

    pub fn into_result(self) -> Result<(), Invalid> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

/// A trimmed text of 1..=`max` characters with no control characters other than newlines.
pub fn text(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    optional_text(value, max)
}

/// Like [`text`], but empty is allowed.
pub fn optional_text(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars > max {
        return Err(format!(
            "is {chars} characters long; at most {max} are allowed"
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(format!("contains the control character U+{:04X}", c as u32));
    }
    Ok(value.to_owned())
}

/// A CNIC (computerised national identity card number): 13 digits, written plain (`3520112345671`) or with the
/// card's dashes (`35201-1234567-1`). Returns the 13 digits.
pub fn cnic(value: &str) -> Result<String, String> {
    let value = value.trim();
    let digits: String = if value.contains('-') {
        let parts: Vec<&str> = value.split('-').collect();
        let shape_ok =
            parts.len() == 3 && parts[0].len() == 5 && parts[1].len() == 7 && parts[2].len() == 1;
        if !shape_ok {
            return Err(
                "with dashes, a CNIC is written as 5-7-1 digits, like 35201-1234567-1".into(),
            );
        }
        parts.concat()
    } else {
        value.to_owned()
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a CNIC has only digits (and optional dashes)".into());
    }
    if digits.len() != 13 {
        return Err(format!("a CNIC has 13 digits; this has {}", digits.len()));
    }
    if digits.starts_with('0') {
        return Err("a CNIC does not start with 0".into());
    }
    Ok(digits)
}

/// A Pakistani mobile number, written `03XXXXXXXXX`, `+923XXXXXXXXX`, `923XXXXXXXXX` or `00923XXXXXXXXX`, with
/// optional spaces or dashes. Returns it in E.164 form (`+923XXXXXXXXX`).
pub fn mobile(value: &str) -> Result<String, String> {
    let compact: String = value.chars().filter(|c| *c != ' ' && *c != '-').collect();
    let national = if let Some(rest) = compact.strip_prefix("+92") {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix("0092") {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix("92").filter(|r| r.len() == 10) {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix('0') {
        rest.to_owned()
    } else {
        return Err("a Pakistani mobile number starts with 03, +923, 923 or 00923".into());
    };
    if !national.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a mobile number has only digits after its prefix".into());
    }
    if national.len() != 10 {
        return Err(format!(
            "a Pakistani mobile number has 10 digits after the country code (3XXXXXXXXX); this has {}",
            national.len()
        ));
    }
    let network = &national[..2];
    if !matches!(network, "30" | "31" | "32" | "33" | "34" | "35") {
        return Err(format!(
            "0{network}… is not a Pakistani mobile network prefix (030 to 035)"
        ));
    }
    Ok(format!("+92{national}"))
}

/// 2000-01-01 00:00 UTC in milliseconds since the Unix epoch: the earliest time a report may give.
pub const YEAR_2000_MS: u64 = 946_684_800_000;

/// A time in milliseconds since the Unix epoch that is not in the future (with `skew_ms` of grace) and not before
/// 2000.
pub fn past_time(at_ms: u64, now_ms: u64, skew_ms: u64) -> Result<u64, String> {
    if at_ms < YEAR_2000_MS {
        return Err("is before the year 2000; times are milliseconds since 1970-01-01 UTC".into());
    }
    if at_ms > now_ms.saturating_add(skew_ms) {
        return Err("is in the future".into());
    }
    Ok(at_ms)
}

/// A day written `YYYY-MM-DD`, from 2000-01-01 and not after the day of `now_ms` (UTC, with a day of grace for
/// time zones ahead of UTC). Returns it as written.
pub fn past_day(value: &str, now_ms: u64) -> Result<String, String> {
    let value = value.trim();
    let shape = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape {
        return Err("is a day written YYYY-MM-DD, like 2026-03-14".into());
    }
    let (y, m, d) = (
        value[..4].parse::<i64>().unwrap_or(0),
        value[5..7].parse::<u32>().unwrap_or(0),
        value[8..].parse::<u32>().unwrap_or(0),
    );
    let days = crate::calendar::days_from_civil(y, m, d);
    if !(1..=12).contains(&m) || d == 0 || crate::calendar::civil_from_days(days) != (y, m, d) {
        return Err(format!("{value} is not a day of the calendar"));
    }
    if y < 2000 {
        return Err("is before the year 2000".into());
    }
    if days > (now_ms / 86_400_000) as i64 + 1 {
        return Err("is in the future".into());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_days() {
        let now = 1_780_000_000_000; // 2026-05-28
        assert_eq!(past_day(" 2026-03-14 ", now).unwrap(), "2026-03-14");
        assert_eq!(past_day("2024-02-29", now).unwrap(), "2024-02-29");
        assert!(
            past_day("2023-02-29", now)
                .unwrap_err()
                .contains("not a day")
        );
        assert!(
            past_day("2026-13-01", now)
                .unwrap_err()
                .contains("not a day")
        );
        assert!(
            past_day("2026-3-14", now)
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(past_day("1999-12-31", now).unwrap_err().contains("2000"));
        assert!(past_day("2026-06-30", now).unwrap_err().contains("future"));
    }

    #[test]
    fn cnic_forms() {
        assert_eq!(cnic("35201-1234567-1").unwrap(), "3520112345671");
        assert_eq!(cnic(" 3520112345671 ").unwrap(), "3520112345671");
        assert!(cnic("3520-11234567-1").unwrap_err().contains("5-7-1"));
        assert!(cnic("352011234567").unwrap_err().contains("13 digits"));
        assert!(cnic("35201123456712").unwrap_err().contains("13 digits"));
        assert!(cnic("3520112345a71").unwrap_err().contains("only digits"));
        assert!(cnic("0520112345671").is_err());
    }

    #[test]
    fn mobile_forms() {
        for ok in [
            "03001234567",
            "+923001234567",
            "923001234567",
            "00923001234567",
            "0300-1234567",
            "0345 123 4567",
        ] {
            assert!(mobile(ok).unwrap().starts_with("+923"), "{ok}");
        }
        assert_eq!(mobile("0321-1234567").unwrap(), "+923211234567");
        assert!(
            mobile("0421234567").is_err(),
            "a Lahore landline is not a mobile"
        );
        assert!(mobile("0370 1234567").unwrap_err().contains("prefix"));
        assert!(mobile("030012345").unwrap_err().contains("10 digits"));
        assert!(mobile("+913001234567").is_err());
        assert!(mobile("").is_err());
    }

    #[test]
    fn text_limits() {
        assert_eq!(text("  Ali ", 10).unwrap(), "Ali");
        assert!(text("   ", 10).unwrap_err().contains("empty"));
        assert!(
            text("abcdefghijk", 10)
                .unwrap_err()
                .contains("11 characters")
        );
        assert!(text("a\u{0}b", 10).unwrap_err().contains("U+0000"));
        // Urdu counts by characters, not bytes.
        assert_eq!(text("علی", 3).unwrap(), "علی");
    }

    #[test]
    fn times() {
        let now = 1_800_000_000_000;
        assert!(past_time(now, now, 0).is_ok());
        assert!(past_time(now + 10, now, 0).unwrap_err().contains("future"));
        assert!(past_time(5, now, 0).unwrap_err().contains("2000"));
    }
}
