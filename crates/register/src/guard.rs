//! Keeps verification a check, not an oracle: rate limits per requester, per sender number and per queried CNIC,
//! a budget for the public's answers, and the detection of scanning, which raises an alarm for register officers
//! and shuts out new senders while it lasts. Pure: time comes in as an argument, and the guard never sees whether
//! a CNIC is on the register, so its decisions cannot depend on it.
//!
//! Signals of a scan, each counted over a sliding window:
//! - **new senders**: more phone numbers asking for the first time than the service ever sees in honest use
//!   (a scanner spreads its queries over many numbers to pass the per-number limit);
//! - **clustered CNICs**: many distinct CNICs from one block of a thousand consecutive numbers (a scanner walks
//!   the number space; honest checks are spread over the country);
//! - **senders at their limit**: many requesters turned away at their daily limit.
//!
//! While an alarm lasts, phone numbers first seen shortly before it or during it get no substantive answer;
//! numbers with earlier history and authorised institutions keep the service. The alarm ends after a quiet period
//! with no signal.

use std::collections::{HashMap, VecDeque};

use hifazat_limits as limits;
use serde::{Deserialize, Serialize};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
const HOUR_MS: u64 = 60 * 60 * 1000;
const SWEEP_EVERY_MS: u64 = 60 * 1000;

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Requester {
    /// An API user (an authorised institution or a register officer): `role:name`.
    User(String),
    /// A phone number that texted the short code (normalised, `+92…`).
    Phone(String),
}

impl Requester {
    pub fn is_public(&self) -> bool {
        matches!(self, Requester::Phone(_))
    }

    /// How the consultation log names the requester.
    pub fn label(&self) -> String {
        match self {
            Requester::User(u) => u.clone(),
            Requester::Phone(p) => format!("sms:{p}"),
        }
    }
}

/// The guard's settings. The defaults suit a national service: an institution checks up to 500 people a day, a
/// person 3, and one person is checked at most 10 times a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Answers one API user gets per 24 hours.
    pub user_per_day: u32,
    /// Answers one phone number gets per 24 hours.
    pub phone_per_day: u32,
    /// Answers about one CNIC per 24 hours, whoever asks.
    pub cnic_per_day: u32,
    /// Answers all phone numbers together get per hour.
    pub public_per_hour: u32,
    /// New phone numbers within `new_phones_window_ms` that raise the alarm.
    pub new_phones_alarm: u32,
    pub new_phones_window_ms: u64,
    /// Distinct CNICs of one block of 1,000 within an hour that raise the alarm.
    pub cluster_alarm: u32,
    /// Requesters turned away at their daily limit within an hour that raise the alarm.
    pub limited_alarm: u32,
    /// An alarm ends after this long without a signal.
    pub alarm_quiet_ms: u64,
}

impl Default for GuardConfig {
    fn default() -> GuardConfig {
        GuardConfig {
            user_per_day: 500,
            phone_per_day: 3,
            cnic_per_day: 10,
            public_per_hour: 2_000,
            new_phones_alarm: 100,
            new_phones_window_ms: 10 * 60 * 1000,
            cluster_alarm: 20,
            limited_alarm: 50,
            alarm_quiet_ms: HOUR_MS,
        }
    }
}

impl GuardConfig {
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("user_per_day", self.user_per_day),
            ("phone_per_day", self.phone_per_day),
            ("cnic_per_day", self.cnic_per_day),
            ("public_per_hour", self.public_per_hour),
            ("new_phones_alarm", self.new_phones_alarm),
            ("cluster_alarm", self.cluster_alarm),
            ("limited_alarm", self.limited_alarm),
        ];
        for (name, value) in positive {
            if value == 0 || value as usize > limits::VERIFY_TRACKED_MAX {
                return Err(format!(
                    "{name} must be 1 to {}",
                    limits::VERIFY_TRACKED_MAX
                ));
            }
        }
        if self.new_phones_window_ms == 0 || self.new_phones_window_ms > DAY_MS {
            return Err("new_phones_window_ms must be 1 ms to a day".into());
        }
        if self.alarm_quiet_ms == 0 || self.alarm_quiet_ms > 7 * DAY_MS {
            return Err("alarm_quiet_ms must be 1 ms to a week".into());
        }
        Ok(())
    }
}

/// Why a request gets no substantive answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    RequesterLimit,
    CnicLimit,
    PublicBudget,
    /// A scan is under way and this sender is new.
    Alarm,
    /// The guard remembers as many requesters as it may; new ones wait.
    Full,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::RequesterLimit => "requester_limit",
            Refusal::CnicLimit => "cnic_limit",
            Refusal::PublicBudget => "public_budget",
            Refusal::Alarm => "alarm",
            Refusal::Full => "full",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Answer,
    Refuse {
        reason: Refusal,
        retry_after_ms: u64,
    },
}

/// What set an alarm off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    NewSenders,
    ClusteredCnics,
    SendersAtLimit,
}

/// An alarm as it starts: when, why, and the count that crossed its threshold (no CNIC, no number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alarm {
    pub at_ms: u64,
    pub signal: Signal,
    pub count: u32,
}

#[derive(Debug)]
struct Active {
    since_ms: u64,
    last_signal_ms: u64,
}

/// The guard's state.
#[derive(Debug)]
pub struct Guard {
    config: GuardConfig,
    /// Answers per requester within the last day, oldest first.
    answered: HashMap<Requester, VecDeque<u64>>,
    /// Answers per keyed CNIC hash within the last day.
    per_cnic: HashMap<[u8; 32], VecDeque<u64>>,
    /// Answers to phone numbers within the last hour.
    public: VecDeque<u64>,
    /// When each phone number first asked.
    first_seen: HashMap<String, u64>,
    /// First requests of new numbers within the window.
    new_phones: VecDeque<u64>,
    /// Per block of 1,000 CNICs: the last three digits asked within the hour, with when.
    blocks: HashMap<u64, VecDeque<(u64, u16)>>,
    /// Requesters turned away at their daily limit, with when (last time).
    limited: HashMap<Requester, u64>,
    alarm: Option<Active>,
    last_sweep_ms: u64,
}

fn drop_before(q: &mut VecDeque<u64>, cutoff: u64) {
    while q.front().is_some_and(|&t| t < cutoff) {
        q.pop_front();
    }
}

impl Guard {
    pub fn new(config: GuardConfig) -> Guard {
        Guard {
            config,
            answered: HashMap::new(),
            per_cnic: HashMap::new(),
            public: VecDeque::new(),
            first_seen: HashMap::new(),
            new_phones: VecDeque::new(),
            blocks: HashMap::new(),
            limited: HashMap::new(),
            alarm: None,
            last_sweep_ms: 0,
        }
    }

    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// Whether an alarm is on, and since when.
    pub fn alarm_since(&self) -> Option<u64> {
        self.alarm.as_ref().map(|a| a.since_ms)
    }

    /// Counts an answer given before a restart (from the consultation log), so limits hold across restarts.
    pub fn restore(&mut self, requester: &Requester, cnic_hash: &[u8; 32], at_ms: u64) {
        self.answered
            .entry(requester.clone())
            .or_default()
            .push_back(at_ms);
        self.per_cnic
            .entry(*cnic_hash)
            .or_default()
            .push_back(at_ms);
        if let Requester::Phone(p) = requester {
            self.first_seen.entry(p.clone()).or_insert(at_ms);
            self.public.push_back(at_ms);
        }
    }

    fn sweep(&mut self, now_ms: u64) {
        let day = now_ms.saturating_sub(DAY_MS);
        let hour = now_ms.saturating_sub(HOUR_MS);
        self.answered.retain(|_, q| {
            drop_before(q, day);
            !q.is_empty()
        });
        self.per_cnic.retain(|_, q| {
            drop_before(q, day);
            !q.is_empty()
        });
        self.blocks.retain(|_, q| {
            while q.front().is_some_and(|&(t, _)| t < hour) {
                q.pop_front();
            }
            !q.is_empty()
        });
        self.limited.retain(|_, t| *t >= hour);
        // A number is "new" for a month; older first sightings are forgotten when memory is short.
        if self.first_seen.len() >= limits::VERIFY_TRACKED_MAX {
            let month = now_ms.saturating_sub(30 * DAY_MS);
            self.first_seen.retain(|_, t| *t >= month);
        }
        self.last_sweep_ms = now_ms;
    }

    fn signal(&mut self, signal: Signal, count: u32, now_ms: u64) -> Option<Alarm> {
        match &mut self.alarm {
            Some(active) => {
                active.last_signal_ms = now_ms;
                None
            }
            None => {
                self.alarm = Some(Active {
                    since_ms: now_ms,
                    last_signal_ms: now_ms,
                });
                Some(Alarm {
                    at_ms: now_ms,
                    signal,
                    count,
                })
            }
        }
    }

    /// Decides one request for `cnic` (13 digits) with keyed hash `cnic_hash`. Returns the verdict and the alarm
    /// this request set off, if it started one.
    pub fn check(
        &mut self,
        requester: &Requester,
        cnic: &str,
        cnic_hash: &[u8; 32],
        now_ms: u64,
    ) -> (Verdict, Option<Alarm>) {
        if now_ms.saturating_sub(self.last_sweep_ms) >= SWEEP_EVERY_MS {
            self.sweep(now_ms);
        }
        if let Some(active) = &self.alarm
            && now_ms.saturating_sub(active.last_signal_ms) >= self.config.alarm_quiet_ms
        {
            self.alarm = None;
        }
        let mut started = None;
        let tracked_full = self.answered.len() >= limits::VERIFY_TRACKED_MAX
            || self.per_cnic.len() >= limits::VERIFY_TRACKED_MAX
            || self.first_seen.len() >= limits::VERIFY_TRACKED_MAX;

        // Signal: new numbers.
        let mut first_ms = None;
        if let Requester::Phone(p) = requester {
            let first = match self.first_seen.get(p) {
                Some(&t) => t,
                None if tracked_full => now_ms,
                None => {
                    self.first_seen.insert(p.clone(), now_ms);
                    self.new_phones.push_back(now_ms);
                    now_ms
                }
            };
            first_ms = Some(first);
            drop_before(
                &mut self.new_phones,
                now_ms.saturating_sub(self.config.new_phones_window_ms),
            );
            let n = self.new_phones.len() as u32;
            if n >= self.config.new_phones_alarm {
                started = started.or(self.signal(Signal::NewSenders, n, now_ms));
            }
        }

        // Signal: CNICs clustered in one block.
        if let Ok(number) = cnic.parse::<u64>() {
            let (block, low) = (number / 1000, (number % 1000) as u16);
            let q = self.blocks.entry(block).or_default();
            let hour = now_ms.saturating_sub(HOUR_MS);
            while q.front().is_some_and(|&(t, _)| t < hour) {
                q.pop_front();
            }
            q.retain(|&(_, l)| l != low);
            q.push_back((now_ms, low));
            let n = q.len() as u32;
            if n >= self.config.cluster_alarm {
                started = started.or(self.signal(Signal::ClusteredCnics, n, now_ms));
            }
        }

        let refuse = |reason, retry_after_ms| Verdict::Refuse {
            reason,
            retry_after_ms,
        };

        if tracked_full && !self.answered.contains_key(requester) {
            return (refuse(Refusal::Full, HOUR_MS), started);
        }
        if let (Some(active), Some(first)) = (&self.alarm, first_ms)
            && first + self.config.new_phones_window_ms >= active.since_ms
        {
            return (refuse(Refusal::Alarm, self.config.alarm_quiet_ms), started);
        }

        let day = now_ms.saturating_sub(DAY_MS);
        let limit = match requester {
            Requester::User(_) => self.config.user_per_day,
            Requester::Phone(_) => self.config.phone_per_day,
        };
        let answers = self.answered.entry(requester.clone()).or_default();
        drop_before(answers, day);
        if answers.len() as u32 >= limit {
            let retry = answers.front().map_or(DAY_MS, |&t| t + DAY_MS - now_ms);
            self.limited.insert(requester.clone(), now_ms);
            let hour = now_ms.saturating_sub(HOUR_MS);
            let n = self.limited.values().filter(|&&t| t >= hour).count() as u32;
            if n >= self.config.limited_alarm {
                started = started.or(self.signal(Signal::SendersAtLimit, n, now_ms));
            }
            return (refuse(Refusal::RequesterLimit, retry), started);
        }
        let about = self.per_cnic.entry(*cnic_hash).or_default();
        drop_before(about, day);
        if about.len() as u32 >= self.config.cnic_per_day {
            let retry = about.front().map_or(DAY_MS, |&t| t + DAY_MS - now_ms);
            return (refuse(Refusal::CnicLimit, retry), started);
        }
        if requester.is_public() {
            drop_before(&mut self.public, now_ms.saturating_sub(HOUR_MS));
            if self.public.len() as u32 >= self.config.public_per_hour {
                let retry = self
                    .public
                    .front()
                    .map_or(HOUR_MS, |&t| t + HOUR_MS - now_ms);
                return (refuse(Refusal::PublicBudget, retry), started);
            }
            self.public.push_back(now_ms);
        }
        self.answered
            .get_mut(requester)
            .expect("inserted above")
            .push_back(now_ms);
        self.per_cnic
            .get_mut(cnic_hash)
            .expect("inserted above")
            .push_back(now_ms);
        (Verdict::Answer, started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(cnic: u64) -> [u8; 32] {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&cnic.to_be_bytes());
        h
    }

    fn ask(g: &mut Guard, who: &Requester, cnic: u64, now: u64) -> (Verdict, Option<Alarm>) {
        g.check(who, &cnic.to_string(), &hash(cnic), now)
    }

    #[test]
    fn limits_per_number_per_cnic_and_for_the_public() {
        let mut g = Guard::new(GuardConfig::default());
        let phone = Requester::Phone("+923001234567".into());
        for i in 0..3 {
            assert_eq!(
                ask(&mut g, &phone, 3520100000001 + i * 7919, i).0,
                Verdict::Answer
            );
        }
        assert!(matches!(
            ask(&mut g, &phone, 3520100999999, 10).0,
            Verdict::Refuse { reason: Refusal::RequesterLimit, retry_after_ms } if retry_after_ms == DAY_MS - 10
        ));
        // A day later the number is served again.
        assert_eq!(
            ask(&mut g, &phone, 3520100999999, DAY_MS + 1).0,
            Verdict::Answer
        );

        let mut g = Guard::new(GuardConfig::default());
        for i in 0..10u64 {
            let user = Requester::User(format!("verifier:school{i}"));
            assert_eq!(ask(&mut g, &user, 4210112345671, i).0, Verdict::Answer);
        }
        let user = Requester::User("verifier:school99".into());
        assert!(matches!(
            ask(&mut g, &user, 4210112345671, 20).0,
            Verdict::Refuse {
                reason: Refusal::CnicLimit,
                ..
            }
        ));

        let mut g = Guard::new(GuardConfig {
            public_per_hour: 5,
            new_phones_alarm: 1_000,
            ..GuardConfig::default()
        });
        for i in 0..5u64 {
            let phone = Requester::Phone(format!("+92300000000{i}"));
            assert_eq!(
                ask(&mut g, &phone, 1000000000000 + i * 1_000_003, i).0,
                Verdict::Answer
            );
        }
        let phone = Requester::Phone("+923009999999".into());
        assert!(matches!(
            ask(&mut g, &phone, 6110112345671, 6).0,
            Verdict::Refuse {
                reason: Refusal::PublicBudget,
                ..
            }
        ));
        // Institutions are outside the public budget.
        assert_eq!(
            ask(
                &mut g,
                &Requester::User("verifier:x".into()),
                6110112345671,
                6
            )
            .0,
            Verdict::Answer
        );
    }

    #[test]
    fn a_surge_of_new_numbers_raises_the_alarm_and_shuts_them_out_but_not_others() {
        let mut g = Guard::new(GuardConfig::default());
        let old = Requester::Phone("+923110000000".into());
        assert_eq!(ask(&mut g, &old, 3520112345671, 0).0, Verdict::Answer);
        let start = DAY_MS;
        let mut alarms = vec![];
        let mut answered = 0;
        for i in 0..500u64 {
            // Random-looking CNICs, so only the new-number signal can fire.
            let cnic = 1000000000000 + (i * 7_777_777_777) % 8_999_999_999_999;
            let phone = Requester::Phone(format!("+9232{i:08}"));
            let (verdict, alarm) = ask(&mut g, &phone, cnic, start + i * 100);
            answered += usize::from(verdict == Verdict::Answer);
            alarms.extend(alarm);
        }
        assert_eq!(alarms.len(), 1, "one alarm, however long the surge");
        assert_eq!(alarms[0].signal, Signal::NewSenders);
        assert!(answered < 100, "{answered} answered");
        // A number with history before the surge is still served; an institution too.
        assert_eq!(
            ask(&mut g, &old, 3520112345672, start + 60_000).0,
            Verdict::Answer
        );
        assert_eq!(
            ask(
                &mut g,
                &Requester::User("verifier:x".into()),
                1,
                start + 60_000
            )
            .0,
            Verdict::Answer
        );
        // After a quiet hour the alarm ends.
        let later = start + 60_000 + HOUR_MS + 1;
        let late = Requester::Phone("+923339999999".into());
        assert_eq!(ask(&mut g, &late, 3520112345673, later).0, Verdict::Answer);
        assert_eq!(g.alarm_since(), None);
    }

    #[test]
    fn walking_a_block_of_cnics_raises_the_alarm() {
        let mut g = Guard::new(GuardConfig::default());
        let mut alarm = None;
        // One established institution walking consecutive numbers.
        let user = Requester::User("verifier:agency".into());
        for i in 0..30u64 {
            if let (_, Some(a)) = ask(&mut g, &user, 3520112345000 + i, i * 1000) {
                alarm = Some(a);
                break;
            }
        }
        let alarm = alarm.expect("alarm");
        assert_eq!(alarm.signal, Signal::ClusteredCnics);
        assert_eq!(alarm.count, 20);
        // Asking one number again and again is not a walk.
        let mut g = Guard::new(GuardConfig::default());
        for i in 0..30u64 {
            assert_eq!(ask(&mut g, &user, 3520112345000, i).1, None);
        }
    }
}
