//! How a text travels as SMS: in the GSM 03.38 7-bit alphabet when every character is in it (160 septets in one
//! message, 153 per part of a longer one, the rest going to the concatenation header), otherwise as UCS-2 (70
//! UTF-16 code units in one message, 67 per part). Urdu needs UCS-2. A part never splits an escaped GSM character
//! or a UTF-16 surrogate pair.

use thiserror::Error;

/// Parts one text may take; a longer text is refused rather than sent as a costly flood.
pub const SMS_PARTS_MAX: usize = 8;

const GSM_SINGLE: usize = 160;
const GSM_PART: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;

/// The GSM 03.38 basic character set (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (an escape septet, then one more).
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// How a text is coded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gsm7,
    Ucs2,
}

/// A text split into the parts it is sent as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub coding: Coding,
    pub parts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the text needs {parts} SMS parts, more than {max}")]
pub struct TooLong {
    pub parts: usize,
    pub max: usize,
}

/// The septets a character takes in GSM 7-bit, or `None` when it is not in the alphabet.
fn septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The coding a text needs.
pub fn coding(text: &str) -> Coding {
    if text.chars().all(|c| septets(c).is_some()) {
        Coding::Gsm7
    } else {
        Coding::Ucs2
    }
}

/// Splits `text` into the parts it is sent as. An empty text is one empty part.
pub fn split(text: &str) -> Result<Split, TooLong> {
    let coding = coding(text);
    let size = |c: char| match coding {
        Coding::Gsm7 => septets(c).expect("every character is in the alphabet"),
        Coding::Ucs2 => c.len_utf16(),
    };
    let (single, part) = match coding {
        Coding::Gsm7 => (GSM_SINGLE, GSM_PART),
        Coding::Ucs2 => (UCS2_SINGLE, UCS2_PART),
    };
    let total: usize = text.chars().map(size).sum();
    if total <= single {
        return Ok(Split {
            coding,
            parts: vec![text.to_owned()],
        });
    }
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut used = 0;
    for c in text.chars() {
        let n = size(c);
        if used + n > part {
            parts.push(std::mem::take(&mut current));
            used = 0;
        }
        current.push(c);
        used += n;
    }
    parts.push(current);
    if parts.len() > SMS_PARTS_MAX {
        return Err(TooLong {
            parts: parts.len(),
            max: SMS_PARTS_MAX,
        });
    }
    Ok(Split { coding, parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str, coding: Coding) -> usize {
        s.chars()
            .map(|c| match coding {
                Coding::Gsm7 => septets(c).unwrap(),
                Coding::Ucs2 => c.len_utf16(),
            })
            .sum()
    }

    #[test]
    fn gsm_texts_take_160_then_153_per_part() {
        let one = "a".repeat(160);
        assert_eq!(split(&one).unwrap().parts.len(), 1);
        let two = "a".repeat(161);
        let s = split(&two).unwrap();
        assert_eq!(s.coding, Coding::Gsm7);
        assert_eq!(
            s.parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [153, 8]
        );
        // An escaped character counts twice and is never split from its escape.
        let euros = "€".repeat(80);
        assert_eq!(split(&euros).unwrap().parts.len(), 1);
        let euros = format!("a{}", "€".repeat(80));
        let s = split(&euros).unwrap();
        assert_eq!(s.parts.len(), 2);
        assert!(s.parts.iter().all(|p| units(p, Coding::Gsm7) <= 153));
        assert_eq!(s.parts.concat(), euros);
    }

    #[test]
    fn urdu_goes_as_ucs2_70_then_67_per_part() {
        let urdu = "خبردار! یہ سزا یافتہ مجرم ہے۔";
        assert_eq!(coding(urdu), Coding::Ucs2);
        let one = "ب".repeat(70);
        assert_eq!(split(&one).unwrap().parts.len(), 1);
        let two = "ب".repeat(71);
        let s = split(&two).unwrap();
        assert_eq!(
            s.parts
                .iter()
                .map(|p| p.chars().count())
                .collect::<Vec<_>>(),
            [67, 4]
        );
        // One character outside GSM makes the whole text UCS-2.
        assert_eq!(coding("Beware! ABC ولد XYZ"), Coding::Ucs2);
        assert_eq!(coding("Beware! ABC son of XYZ is a convict."), Coding::Gsm7);
    }

    #[test]
    fn surrogate_pairs_stay_whole_and_limits_hold() {
        let text = format!("a{}", "😀".repeat(40));
        let s = split(&text).unwrap();
        assert!(s.parts.iter().all(|p| units(p, Coding::Ucs2) <= 67));
        assert_eq!(s.parts.concat(), text);
        let long = "a".repeat(153 * SMS_PARTS_MAX + 1);
        assert_eq!(
            split(&long),
            Err(TooLong {
                parts: SMS_PARTS_MAX + 1,
                max: SMS_PARTS_MAX
            })
        );
    }
}
