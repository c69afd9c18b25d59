//! The texts Hifazat sends, in Urdu and English. Each fits in `SMS_PARTS_MAX` parts: free text (names, places)
//! is shortened until it does.

use hifazat_domain::{AlertStage, NoticeReason, Office, Sex};

use crate::segment::split;

/// What an official's notification says about an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertFacts {
    /// The alert's short code (`AL-7K3M-Q9TD`): the reference to look it up by.
    pub reference: String,
    pub child_name: String,
    pub age_years: u8,
    pub sex: Sex,
    pub district_name: String,
    /// The district's name in Urdu script, for the Urdu half.
    pub district_name_ur: String,
    pub place: String,
    /// Milliseconds since it was raised (for escalations).
    pub waited_ms: u64,
}

fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(chars.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Builds with free text of at most `room` characters, halving it until the text fits.
fn fit(build: impl Fn(usize) -> String) -> String {
    let mut room = 200;
    loop {
        let text = build(room);
        if split(&text).is_ok() || room <= 8 {
            return text;
        }
        room /= 2;
    }
}

/// A wait as people say it: seconds under two minutes, then minutes.
fn waited(ms: u64) -> String {
    if ms < 120_000 {
        format!("{} s", ms / 1_000)
    } else {
        format!("{} min", ms / 60_000)
    }
}

fn sex_en(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "girl",
        Sex::Male => "boy",
        Sex::Other | Sex::Unknown => "child",
    }
}

fn sex_ur(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "لڑکی",
        Sex::Male => "لڑکا",
        Sex::Other | Sex::Unknown => "بچے",
    }
}

fn office_en(office: Office) -> &'static str {
    match office {
        Office::Dpo => "DPO",
        Office::Rpo => "RPO",
        Office::Ig => "IG",
    }
}

/// An official's notification: a new alert, or one escalated to the official's office.
pub fn alert_notice(office: Office, reason: NoticeReason, a: &AlertFacts) -> String {
    fit(|room| {
        let name = shorten(&a.child_name, room / 2);
        let place = shorten(&a.place, room);
        match reason {
            NoticeReason::Raised => format!(
                "حفاظت: {district_ur} میں گمشدہ {sex_ur} کا الرٹ: {name}، عمر {age}، آخری بار {place}۔ حوالہ {r}\n\
                 Hifazat: missing child alert, {district}: {name}, {sex_en}, {age}, last seen {place}. Ref {r}. {office}: please validate.",
                district_ur = a.district_name_ur,
                district = a.district_name,
                sex_ur = sex_ur(a.sex),
                sex_en = sex_en(a.sex),
                age = a.age_years,
                r = a.reference,
                office = office_en(office),
            ),
            NoticeReason::Escalated => format!(
                "حفاظت: الرٹ {waited} سے تصدیق کے بغیر، آپ کو بھیجا گیا: {name}، {district_ur}۔ حوالہ {r}\n\
                 Hifazat ESCALATED to {office}: alert not validated after {waited}: {name}, {sex_en}, {age}, {district}, last seen {place}. Ref {r}",
                waited = waited(a.waited_ms),
                district_ur = a.district_name_ur,
                district = a.district_name,
                sex_en = sex_en(a.sex),
                age = a.age_years,
                r = a.reference,
                office = office_en(office),
            ),
            // `place` is where the found child was reported (the reporting node's district).
            NoticeReason::PossibleMatch => format!(
                "حفاظت: {name} ({district_ur}) کا ممکنہ میچ: {place} میں ملا بچہ۔ ذاتی طور پر تصدیق کریں۔ حوالہ {r}\n\
                 Hifazat POSSIBLE MATCH for alert {name}, {sex_en}, {age}, {district}: a child found at {place} may be this child. Confirm in person. Ref {r}",
                district_ur = a.district_name_ur,
                district = a.district_name,
                sex_en = sex_en(a.sex),
                age = a.age_years,
                r = a.reference,
            ),
        }
    })
}

/// The answer to an alert raised by text (the district named in English and in Urdu script): its short code, to
/// ask how it stands.
pub fn alert_taken(code: &str, district_name: &str, district_name_ur: &str) -> String {
    format!(
        "الرٹ درج ہو گیا۔ کوڈ: {code}۔ {district_name_ur} پولیس کو اطلاع دے دی گئی۔ صورتحال: STATUS {code}\n\
         Alert raised. Code: {code}. The police of {district_name} are told. To follow it: STATUS {code}"
    )
}

/// What a register officer is told when the register's guard raises an alarm: what crossed which threshold, and
/// that new senders get no answers while it lasts (no CNIC, no number: the alarm carries none).
pub fn register_alarm(signal: &str, count: u32, minutes_ago: u64) -> String {
    let (ur, en) = match signal {
        "new_senders" => (
            "نئے نمبروں سے اچانک بہت سی تصدیقیں",
            "a burst of verifications from new numbers",
        ),
        "clustered_cnics" => (
            "ایک ہی سلسلے کے بہت سے شناختی کارڈ نمبر",
            "many CNICs of one block asked",
        ),
        "senders_at_limit" => (
            "بہت سے نمبر اپنی یومیہ حد پر",
            "many senders at their daily limit",
        ),
        _ => ("غیر معمولی سرگرمی", "unusual activity"),
    };
    format!(
        "حفاظت رجسٹر الارم: {ur} ({count})۔ نئے نمبروں کو جواب نہیں دیا جا رہا۔\n\
         Hifazat REGISTER ALARM: {en} ({count}), {minutes_ago} min ago. A scan may be under way; new senders get no answers while it lasts. See /office/register."
    )
}

/// What a record's DPO or RPO is told when an officer elsewhere opened the record by break-glass: who, at which
/// node, which record (an alert's short code, else its id), for how long. The reason is not sent by SMS: it is in
/// the list of uses.
pub fn break_glass(by: &str, node: &str, record: &str, minutes: u32, minutes_ago: u64) -> String {
    format!(
        "حفاظت: {node} پر {by} نے آپ کے علاقے کا ریکارڈ {record} {minutes} منٹ کے لیے کھولا (بریک گلاس)۔ وجہ بریک گلاس کی فہرست میں درج ہے۔\n\
         Hifazat BREAK-GLASS: {by} at {node} opened your area's record {record} for {minutes} min, {minutes_ago} min ago. The reason is in the list of uses (GET /api/v1/break-glass)."
    )
}

/// One alert as `STATUS` answers it: its code, the child's first name, the district, and its public stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertStanding {
    pub code: String,
    pub child_name: String,
    pub district_name: String,
    pub district_name_ur: String,
    pub stage: AlertStage,
}

/// A public stage in Urdu and in English.
fn stage_words(stage: AlertStage) -> (&'static str, &'static str) {
    match stage {
        AlertStage::Raised => (
            "پولیس کی تصدیق کا انتظار",
            "reported, waiting for the police to confirm",
        ),
        AlertStage::Validated => ("پولیس نے تصدیق کر دی", "confirmed by the police"),
        AlertStage::Mobilised => ("پولیس ٹیمیں تلاش میں", "police teams searching"),
        AlertStage::Sighted => ("الرٹ کے بعد دیکھا گیا", "seen since the alert"),
        AlertStage::Recovered => ("بچہ مل گیا", "found"),
        AlertStage::Reunited => ("بچہ گھر والوں کے پاس", "back with the family"),
        AlertStage::Closed => ("بند", "closed"),
    }
}

/// Alerts one `STATUS` answer names at most (a code is shared by chance once in about two million alerts).
const STANDINGS_MAX: usize = 3;

/// The answer to `STATUS <code>`: how each alert with the code stands (the first few), or that none is known here.
pub fn status(code: &str, alerts: &[AlertStanding]) -> String {
    if alerts.is_empty() {
        return format!(
            "کوڈ {code} کا کوئی الرٹ نہیں ملا۔ کوڈ دوبارہ دیکھیں یا 1099 پر کال کریں۔\n\
             No alert with the code {code}. Check the code, or call 1099."
        );
    }
    fit(|room| {
        let lines: Vec<String> = alerts
            .iter()
            .take(STANDINGS_MAX)
            .map(|a| {
                let (ur, en) = stage_words(a.stage);
                let name = shorten(&a.child_name, room.min(30));
                format!(
                    "{code} {name} ({district_ur}): {ur}\n{code} {name} ({district}): {en}",
                    code = a.code,
                    district_ur = a.district_name_ur,
                    district = a.district_name,
                )
            })
            .collect();
        lines.join("\n")
    })
}

/// The answer to an alert text that was well formed but could not be raised.
pub fn alert_refused(why: &str) -> String {
    fit(|room| {
        format!(
            "الرٹ درج نہیں ہو سکا۔\nThe alert was not raised: {}",
            shorten(why, room)
        )
    })
}

/// A verification's answer: Urdu first, then English.
pub fn verify(message_ur: &str, message_en: &str) -> String {
    fit(|room| {
        format!(
            "{}\n{}",
            shorten(message_ur, room),
            shorten(message_en, room)
        )
    })
}

/// The answer when a verification is refused for now.
pub fn verify_refused(retry_after_ms: u64) -> String {
    let hours = retry_after_ms.div_ceil(3_600_000).max(1);
    format!(
        "اس وقت جواب نہیں دیا جا سکتا، {hours} گھنٹے بعد دوبارہ کوشش کریں۔\n\
         No answer now: the limit for verifications is reached. Try again in {hours} h."
    )
}

/// The answer to a text that was not understood: why, then how to write one.
pub fn help(why: &str) -> String {
    fit(|room| format!("Not understood: {}.\n{}", shorten(why, room), crate::HELP))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{Coding, SMS_PARTS_MAX};

    #[test]
    fn register_alarms_fit_one_message() {
        for signal in [
            "new_senders",
            "clustered_cnics",
            "senders_at_limit",
            "other",
        ] {
            let text = register_alarm(signal, 120, 3);
            assert!(
                text.contains("REGISTER ALARM") && text.contains("(120)"),
                "{text}"
            );
            assert!(split(&text).is_ok(), "{text}");
        }
    }

    #[test]
    fn status_answers_fit_and_say_the_stage() {
        let one = AlertStanding {
            code: "AL-7K3M-Q9TD".into(),
            child_name: "Ayesha Bibi".into(),
            district_name: "Lahore".into(),
            district_name_ur: "لاہور".into(),
            stage: AlertStage::Mobilised,
        };
        let text = status("AL-7K3M-Q9TD", std::slice::from_ref(&one));
        assert!(
            text.contains("police teams searching") && text.contains("Ayesha Bibi"),
            "{text}"
        );
        assert!(split(&text).is_ok());
        let many = vec![
            AlertStanding {
                child_name: "ب".repeat(100),
                ..one.clone()
            };
            16
        ];
        let text = status("AL-7K3M-Q9TD", &many);
        assert!(split(&text).is_ok(), "{text}");
        let none = status("AL-0000-0000", &[]);
        assert!(none.contains("No alert with the code AL-0000-0000"));
        assert!(split(&none).is_ok());
    }

    fn facts(name_chars: usize) -> AlertFacts {
        AlertFacts {
            reference: "0123456789abcdef0123456789abcdef".into(),
            child_name: "A".repeat(name_chars),
            age_years: 7,
            sex: Sex::Female,
            district_name: "Lahore".into(),
            district_name_ur: "لاہور".into(),
            place: "Anarkali Bazaar near gate 2 ".repeat(7),
            waited_ms: 30 * 60_000,
        }
    }

    #[test]
    fn every_text_fits_and_is_bilingual() {
        for reason in [
            NoticeReason::Raised,
            NoticeReason::Escalated,
            NoticeReason::PossibleMatch,
        ] {
            for office in [Office::Dpo, Office::Rpo, Office::Ig] {
                for name in [5, 100] {
                    let text = alert_notice(office, reason, &facts(name));
                    let parts = split(&text).expect("fits");
                    assert_eq!(parts.coding, Coding::Ucs2, "Urdu needs UCS-2");
                    assert!(parts.parts.len() <= SMS_PARTS_MAX);
                    assert!(text.contains("0123456789abcdef0123456789abcdef"));
                    assert!(text.contains("Hifazat"));
                }
            }
        }
        assert!(
            alert_notice(Office::Rpo, NoticeReason::Escalated, &facts(5))
                .contains("ESCALATED to RPO")
        );
        for text in [
            alert_taken("0123456789abcdef0123456789abcdef", "Lahore", "لاہور"),
            alert_refused(&"x".repeat(2_000)),
            verify(&"ب".repeat(900), &"b".repeat(900)),
            verify_refused(5_000_000),
            help(&"y".repeat(3_000)),
        ] {
            assert!(split(&text).is_ok(), "{text}");
        }
        assert!(verify_refused(5_000_000).contains("2 h"));
        // The Urdu half names the district in Urdu script, the English half in English.
        let raised = alert_notice(Office::Dpo, NoticeReason::Raised, &facts(5));
        let (ur, en) = raised.split_once('\n').unwrap();
        assert!(ur.contains("لاہور") && !ur.contains("Lahore"), "{ur}");
        assert!(en.contains("Lahore"), "{en}");
        let taken = alert_taken("0123456789abcdef0123456789abcdef", "Lahore", "لاہور");
        assert!(
            taken.split_once('\n').unwrap().0.contains("لاہور"),
            "{taken}"
        );
    }
}
