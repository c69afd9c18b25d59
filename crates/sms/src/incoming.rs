//! What a text to the short code asks for: a CNIC to verify (13 digits, dashes and spaces allowed), an alert in
//! the documented format, or how an alert stands (`STATUS <alert code>`); anything else gets a reply that says how
//! to write one.
//!
//! The alert format, one line: `ALERT <district code> <age> <M|F> <child's name>; <where last seen>`, e.g.
//! `ALERT PB-LHR 7 F Ayesha Bibi; Anarkali Bazaar near gate 2`. Keywords and codes are case-insensitive.

use hifazat_domain::{AlertCode, Districts, Sex, validate};
use hifazat_limits as limits;

/// Longest incoming text read, in characters; the rest is not looked at.
pub const INCOMING_CHARS_MAX: usize = 1_000;

/// A missing child reported by text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertText {
    pub district: String,
    pub age_years: u8,
    pub sex: Sex,
    pub child_name: String,
    pub place: String,
}

/// What an incoming text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Verify this CNIC (13 digits).
    Verify(String),
    Alert(AlertText),
    /// How the alerts with this short code stand.
    Status(AlertCode),
    /// Not understood: why, for the reply.
    Unclear(String),
}

/// The help text sent back to a text that is not understood, in English and Urdu.
pub const HELP: &str = "Send a 13-digit CNIC to check it against the sex-offender register, report a missing child: ALERT <district code> <age> <M/F> <name>; <where last seen>, or ask how an alert stands: STATUS <code>. / شناختی کارڈ نمبر (13 ہندسے) بھیجیں، گمشدہ بچے کی اطلاع: ALERT ضلع کوڈ عمر M/F نام؛ جگہ، یا الرٹ کی صورتحال: STATUS کوڈ";

/// Reads an incoming text.
pub fn parse(text: &str, districts: &dyn Districts) -> Request {
    let text: String = text.chars().take(INCOMING_CHARS_MAX).collect();
    let text = text.trim();
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.is_empty() && compact.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return match validate::cnic(&compact) {
            Ok(cnic) => Request::Verify(cnic),
            Err(why) => Request::Unclear(format!("the CNIC {why}")),
        };
    }
    if let Some(code) = text
        .get(..7)
        .filter(|head| head.eq_ignore_ascii_case("status "))
        .map(|_| &text[7..])
    {
        return match code.parse::<AlertCode>() {
            Ok(code) => Request::Status(code),
            Err(why) => Request::Unclear(why),
        };
    }
    let Some(rest) = text
        .get(..6)
        .filter(|head| head.eq_ignore_ascii_case("alert "))
        .map(|_| &text[6..])
    else {
        return Request::Unclear("send a CNIC, or a text starting with ALERT or STATUS".into());
    };
    let (head, place) = match rest.split_once([';', '؛']) {
        Some((h, p)) => (h.trim(), p.trim()),
        None => return Request::Unclear("put `;` between the child's name and the place".into()),
    };
    let mut words = head.split_whitespace();
    let (Some(district), Some(age), Some(sex)) = (words.next(), words.next(), words.next()) else {
        return Request::Unclear("write the district code, age, M or F, then the name".into());
    };
    let district = district.to_ascii_uppercase();
    if !districts.contains(&district) {
        return Request::Unclear(format!("`{district}` is not a district code"));
    }
    let Ok(age_years) = age.parse::<u8>() else {
        return Request::Unclear(format!("`{age}` is not an age in years"));
    };
    if age_years > limits::CHILD_AGE_YEARS_MAX {
        return Request::Unclear(format!(
            "alerts are for children up to {} years",
            limits::CHILD_AGE_YEARS_MAX
        ));
    }
    let sex = match sex.to_ascii_uppercase().as_str() {
        "F" => Sex::Female,
        "M" => Sex::Male,
        other => return Request::Unclear(format!("`{other}` is not M or F")),
    };
    let child_name = words.collect::<Vec<_>>().join(" ");
    if child_name.is_empty() || child_name.chars().count() > limits::NAME_CHARS_MAX {
        return Request::Unclear("write the child's name after M or F".into());
    }
    if place.is_empty() || place.chars().count() > limits::PLACE_TEXT_CHARS_MAX {
        return Request::Unclear("write where the child was last seen after `;`".into());
    }
    Request::Alert(AlertText {
        district,
        age_years,
        sex,
        child_name,
        place: place.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn districts() -> BTreeSet<String> {
        ["PB-LHR".to_owned()].into_iter().collect()
    }

    #[test]
    fn status_asks_by_an_alerts_code_as_people_write_it() {
        let d = districts();
        let code: AlertCode = "AL-7K3M-Q9TD".parse().unwrap();
        for text in [
            "STATUS AL-7K3M-Q9TD",
            "status al 7k3m q9td",
            " Status 7K3MQ9TD ",
        ] {
            assert_eq!(parse(text, &d), Request::Status(code.clone()), "{text}");
        }
        assert!(
            matches!(parse("STATUS AL-7K3M", &d), Request::Unclear(w) if w.contains("AL-7K3M-Q9TD"))
        );
        assert!(matches!(parse("STATUS", &d), Request::Unclear(_)));
    }

    #[test]
    fn cnics_alerts_and_everything_else() {
        let d = districts();
        assert_eq!(
            parse(" 35202-1234567-1 ", &d),
            Request::Verify("3520212345671".into())
        );
        assert_eq!(
            parse("3520212345671", &d),
            Request::Verify("3520212345671".into())
        );
        assert!(
            matches!(parse("352021234567", &d), Request::Unclear(w) if w.contains("13 digits"))
        );
        assert_eq!(
            parse(
                "alert pb-lhr 7 f Ayesha Bibi; Anarkali Bazaar near gate 2",
                &d
            ),
            Request::Alert(AlertText {
                district: "PB-LHR".into(),
                age_years: 7,
                sex: Sex::Female,
                child_name: "Ayesha Bibi".into(),
                place: "Anarkali Bazaar near gate 2".into(),
            })
        );
        // The Urdu semicolon works too.
        assert!(matches!(
            parse("ALERT PB-LHR 9 M Ali؛ Data Darbar", &d),
            Request::Alert(_)
        ));
        for (text, why) in [
            ("hello", "ALERT"),
            ("ALERT PB-LHR 7 F Ayesha", "`;`"),
            ("ALERT XX-NOPE 7 F Ayesha; x", "not a district"),
            ("ALERT PB-LHR seven F Ayesha; x", "not an age"),
            ("ALERT PB-LHR 30 F Ayesha; x", "children up to"),
            ("ALERT PB-LHR 7 X Ayesha; x", "not M or F"),
            ("ALERT PB-LHR 7 F; x", "name"),
            ("ALERT PB-LHR 7 F Ayesha;", "last seen"),
            ("", "ALERT"),
        ] {
            match parse(text, &d) {
                Request::Unclear(w) => assert!(w.contains(why), "{text}: {w}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        // The help fits in the parts a reply may take.
        assert!(crate::split(HELP).is_ok());
    }
}
