//! A node's SMS settings (`serve --sms FILE`, TOML): the gateway, the notification times and the officials'
//! directory. One directory may be given to every node of a province: each node keeps the officials homed on it
//! and those homed on the nodes it covers for, and ignores the rest.
//!
//! ```toml
//! [gateway]
//! backend = "kannel"            # or "outbox" (the default): messages are kept, not sent
//! sendsms_url = "http://127.0.0.1:13013/cgi-bin/sendsms"
//! username = "hifazat"
//! password = "…"
//! sender = "8484"                # the short code texts come from
//! callback_url = "http://127.0.0.5:8080"   # where the gateway reaches this node (delivery reports)
//! callback_key = "…"             # the secret delivery reports and incoming texts must carry (16+ characters)
//!
//! [timing]
//! cover_after_s = 120            # a parent node sends for a child node's officials after this long
//! escalate_rpo_after_s = 1800    # an alert not validated by then is escalated to the RPO …
//! escalate_ig_after_s = 3600     # … and by then to the Inspector General
//!
//! [[official]]
//! name = "DPO Lahore"
//! office = "dpo"                 # dpo (area: a district), rpo (a region) or ig (a province)
//! area = "PB-LHR"
//! phone = "+923001234567"
//! home = "lahore"                # the node the official is homed on
//!
//! [[register_officer]]            # told by SMS of the register's enumeration alarms (federal node only)
//! name = "Register duty officer"
//! phone = "+923001234599"
//! ```

use std::collections::BTreeSet;

use hifazat_domain::Office;
use serde::Deserialize;

use crate::phone;

/// Officials one directory may hold.
pub const OFFICIALS_MAX: usize = 5_000;
/// The shortest secret a gateway's callbacks may carry.
pub const CALLBACK_KEY_CHARS_MIN: usize = 16;
/// The longest any time setting may be: a week.
const TIMING_S_MAX: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    #[serde(default)]
    pub gateway: Gateway,
    #[serde(default)]
    pub timing: Timing,
    #[serde(default, rename = "official")]
    pub officials: Vec<Official>,
    #[serde(default, rename = "register_officer")]
    pub register_officers: Vec<RegisterOfficer>,
}

/// A register officer told by SMS when the register's guard raises an alarm (read by the federal node alone).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterOfficer {
    pub name: String,
    pub phone: String,
}

/// Register officers one directory may hold.
pub const REGISTER_OFFICERS_MAX: usize = 100;

/// Where messages go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "backend", rename_all = "snake_case", deny_unknown_fields)]
pub enum Gateway {
    /// Kept in the node's outbox (readable through the API and the logs), not sent anywhere.
    #[default]
    Outbox,
    /// Sent through a Kannel smsbox's sendsms interface.
    Kannel(Kannel),
}

#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kannel {
    pub sendsms_url: String,
    pub username: String,
    pub password: String,
    pub sender: String,
    pub callback_url: String,
    pub callback_key: String,
}

impl std::fmt::Debug for Kannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kannel")
            .field("sendsms_url", &self.sendsms_url)
            .field("username", &self.username)
            .field("sender", &self.sender)
            .field("callback_url", &self.callback_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    pub cover_after_s: u64,
    pub escalate_rpo_after_s: u64,
    pub escalate_ig_after_s: u64,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            cover_after_s: 120,
            escalate_rpo_after_s: 30 * 60,
            escalate_ig_after_s: 60 * 60,
        }
    }
}

/// One official in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Official {
    pub name: String,
    pub office: Office,
    /// A district code (DPO), region code (RPO) or province code (IG).
    pub area: String,
    pub phone: String,
    /// The node the official is homed on.
    pub home: String,
}

/// What a directory is checked against: the topology's places and nodes.
pub trait Places {
    fn has_district(&self, code: &str) -> bool;
    fn has_region(&self, code: &str) -> bool;
    fn has_province(&self, code: &str) -> bool;
    fn has_node(&self, name: &str) -> bool;
}

impl SmsConfig {
    /// Reads a settings file's text and checks it; every problem is named, with the official it is in.
    pub fn parse(text: &str, places: &dyn Places) -> Result<SmsConfig, String> {
        let mut config: SmsConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check(places)?;
        Ok(config)
    }

    /// Checks the settings and writes every phone number in E.164.
    pub fn check(&mut self, places: &dyn Places) -> Result<(), String> {
        let mut problems = Vec::new();
        if let Gateway::Kannel(k) = &self.gateway {
            for (field, url) in [
                ("sendsms_url", &k.sendsms_url),
                ("callback_url", &k.callback_url),
            ] {
                if !url.starts_with("http://") && !url.starts_with("https://") {
                    problems.push(format!(
                        "gateway.{field}: must be an http:// or https:// address"
                    ));
                }
            }
            if k.callback_key.chars().count() < CALLBACK_KEY_CHARS_MIN
                || !k
                    .callback_key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                problems.push(format!(
                    "gateway.callback_key: at least {CALLBACK_KEY_CHARS_MIN} letters, digits, `-` or `_`"
                ));
            }
            if k.sender.is_empty() || k.sender.len() > 16 {
                problems.push("gateway.sender: 1 to 16 characters (the short code)".to_owned());
            }
        }
        let t = self.timing;
        for (field, value) in [
            ("cover_after_s", t.cover_after_s),
            ("escalate_rpo_after_s", t.escalate_rpo_after_s),
            ("escalate_ig_after_s", t.escalate_ig_after_s),
        ] {
            if !(1..=TIMING_S_MAX).contains(&value) {
                problems.push(format!("timing.{field}: 1 to {TIMING_S_MAX} seconds"));
            }
        }
        if t.escalate_ig_after_s <= t.escalate_rpo_after_s {
            problems.push(
                "timing.escalate_ig_after_s: must be later than escalate_rpo_after_s".to_owned(),
            );
        }
        if self.officials.len() > OFFICIALS_MAX {
            problems.push(format!("official: at most {OFFICIALS_MAX}"));
        }
        let mut names = BTreeSet::new();
        for (i, o) in self.officials.iter_mut().enumerate() {
            let at = format!("official[{i}]");
            let name = o.name.trim();
            if name.is_empty()
                || name.chars().count() > hifazat_limits::NAME_CHARS_MAX
                || name.chars().any(char::is_control)
            {
                problems.push(format!(
                    "{at}.name: 1 to {} characters",
                    hifazat_limits::NAME_CHARS_MAX
                ));
            } else if !names.insert(name.to_owned()) {
                problems.push(format!("{at}.name: `{name}` is in the directory twice"));
            }
            o.area = o.area.trim().to_ascii_uppercase();
            let known = match o.office {
                Office::Dpo => places.has_district(&o.area),
                Office::Rpo => places.has_region(&o.area),
                Office::Ig => places.has_province(&o.area),
            };
            if !known {
                let what = match o.office {
                    Office::Dpo => "district",
                    Office::Rpo => "region",
                    Office::Ig => "province",
                };
                problems.push(format!(
                    "{at}.area: `{}` is not a {what} of the topology",
                    o.area
                ));
            }
            match phone::normalise(&o.phone) {
                Ok(p) => o.phone = p,
                Err(why) => problems.push(format!("{at}.phone: {why}")),
            }
            if !places.has_node(&o.home) {
                problems.push(format!(
                    "{at}.home: `{}` is not a node of the topology",
                    o.home
                ));
            }
        }
        if self.register_officers.len() > REGISTER_OFFICERS_MAX {
            problems.push(format!("register_officer: at most {REGISTER_OFFICERS_MAX}"));
        }
        for (i, o) in self.register_officers.iter_mut().enumerate() {
            let at = format!("register_officer[{i}]");
            o.name = o.name.trim().to_owned();
            if o.name.is_empty()
                || o.name.chars().count() > hifazat_limits::NAME_CHARS_MAX
                || o.name.chars().any(char::is_control)
            {
                problems.push(format!(
                    "{at}.name: 1 to {} characters",
                    hifazat_limits::NAME_CHARS_MAX
                ));
            }
            match phone::normalise(&o.phone) {
                Ok(p) => o.phone = p,
                Err(why) => problems.push(format!("{at}.phone: {why}")),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Demo;
    impl Places for Demo {
        fn has_district(&self, code: &str) -> bool {
            code == "PB-LHR"
        }
        fn has_region(&self, code: &str) -> bool {
            code == "PB-LHR-R"
        }
        fn has_province(&self, code: &str) -> bool {
            code == "PB"
        }
        fn has_node(&self, name: &str) -> bool {
            name == "lahore"
        }
    }

    #[test]
    fn register_officers_are_checked() {
        let ok = SmsConfig::parse(
            "[[register_officer]]\nname = \" Duty officer \"\nphone = \"0300 1234599\"\n",
            &Demo,
        )
        .unwrap();
        assert_eq!(ok.register_officers[0].phone, "+923001234599");
        assert_eq!(ok.register_officers[0].name, "Duty officer");
        let bad = SmsConfig::parse("[[register_officer]]\nname = \"\"\nphone = \"12\"\n", &Demo)
            .unwrap_err();
        assert!(
            bad.contains("register_officer[0].name") && bad.contains("register_officer[0].phone"),
            "{bad}"
        );
    }

    #[test]
    fn a_directory_is_checked_field_by_field() {
        let good = r#"
            [timing]
            cover_after_s = 5
            [[official]]
            name = "DPO Lahore"
            office = "dpo"
            area = "pb-lhr"
            phone = "0300 1234567"
            home = "lahore"
        "#;
        let config = SmsConfig::parse(good, &Demo).expect("good");
        assert_eq!(config.gateway, Gateway::Outbox);
        assert_eq!(config.timing.cover_after_s, 5);
        assert_eq!(config.timing.escalate_rpo_after_s, 1800);
        assert_eq!(config.officials[0].phone, "+923001234567");
        assert_eq!(config.officials[0].area, "PB-LHR");

        let bad = r#"
            [gateway]
            backend = "kannel"
            sendsms_url = "ftp://x"
            username = "u"
            password = "p"
            sender = "8484"
            callback_url = "http://127.0.0.5:8080"
            callback_key = "short"
            [timing]
            escalate_rpo_after_s = 100
            escalate_ig_after_s = 50
            [[official]]
            name = "A"
            office = "rpo"
            area = "PB-LHR"
            phone = "12"
            home = "nowhere"
            [[official]]
            name = "A"
            office = "ig"
            area = "PB"
            phone = "+923001234567"
            home = "lahore"
        "#;
        let why = SmsConfig::parse(bad, &Demo).expect_err("bad");
        for part in [
            "gateway.sendsms_url",
            "gateway.callback_key",
            "timing.escalate_ig_after_s",
            "official[0].area: `PB-LHR` is not a region",
            "official[0].phone",
            "official[0].home",
            "official[1].name: `A` is in the directory twice",
        ] {
            assert!(why.contains(part), "{part} in {why}");
        }
        assert!(SmsConfig::parse("[gateway]\nbackend = \"carrier-pigeon\"", &Demo).is_err());
        assert!(SmsConfig::parse("surprise = 1", &Demo).is_err());
    }
}
