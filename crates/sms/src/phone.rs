//! Phone numbers, as gateways hand them over (`923001234567`, `+92 300 1234567`, `03001234567`, `0092…`) and as
//! Hifazat keeps them: E.164 with its `+` (`+923001234567`). A number written the national way (one leading `0`)
//! is read as Pakistani.

/// Digits an E.164 number has at most (the country code included).
const E164_DIGITS_MAX: usize = 15;
/// Digits a number this system texts has at least (short codes are not phones).
const PHONE_DIGITS_MIN: usize = 8;

/// A number in E.164 form, or why it is not a phone number.
pub fn normalise(raw: &str) -> Result<String, String> {
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = if let Some(rest) = compact.strip_prefix('+') {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix('0') {
        format!("92{rest}")
    } else {
        compact.clone()
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{raw}` is not a phone number: only digits, after an optional +"
        ));
    }
    if !(PHONE_DIGITS_MIN..=E164_DIGITS_MAX).contains(&digits.len()) || digits.starts_with('0') {
        return Err(format!(
            "`{raw}` is not a phone number: {PHONE_DIGITS_MIN} to {E164_DIGITS_MAX} digits with the country code"
        ));
    }
    Ok(format!("+{digits}"))
}

/// A number as shown in logs: the country code and the last two digits, the rest hidden.
pub fn masked(e164: &str) -> String {
    let n = e164.len();
    if n <= 6 {
        return "+…".to_owned();
    }
    format!("{}…{}", &e164[..3], &e164[n - 2..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ways_numbers_are_written() {
        for raw in [
            "923001234567",
            "+923001234567",
            "+92 300 1234567",
            "03001234567",
            "0092-300-1234567",
        ] {
            assert_eq!(normalise(raw).as_deref(), Ok("+923001234567"), "{raw}");
        }
        for raw in ["", "+", "8484", "abc", "+92300123456789012", "+0300"] {
            assert!(normalise(raw).is_err(), "{raw}");
        }
        assert_eq!(masked("+923001234567"), "+92…67");
    }
}
