//! The node's SMS service: the outbox, the Kannel gateway, officials' notifications and escalations, and texts
//! that come in (CNIC verification at the federal node, alerts, help).
//!
//! - [`Phone::open`] reads nothing but what it is given: the node's settings (`hifazat_sms::SmsConfig`), its
//!   engine, its register (federal node) and the outbox directory.
//! - [`Phone::run`] is the node's notifier: it watches alerts (every one this node holds when it starts, and each
//!   that changes), asks `hifazat_sms::plan` what is due, and for each notification queues the message (keyed,
//!   so once), records the `escalated` and `notified` events on the alert's timeline, then hands the message to
//!   the gateway. It also hands queued messages to the gateway again while it is unreachable.
//! - [`Phone::incoming`] answers a text from the gateway; [`Phone::report`] takes a delivery report.

pub mod kannel;
mod notifier;
pub mod outbox;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hifazat_domain::{
    AlertDraft, Channel, ContactDraft, NoticeReason, Office, PlaceDraft, RecordId,
};
use hifazat_engine::{Engine, EngineError};
use hifazat_register::{Register, RegisterError, Requester};
use hifazat_sms::{Duty, Official, Places, Request, SmsConfig, phone, template};
use hifazat_topology::Topology;
use serde::Serialize;
use tokio::sync::broadcast;

pub use hifazat_sms::Timing;
pub use outbox::{Message, Outbox, OutboxError, Outgoing, Purpose, ReplyAbout, State};

/// How often queued messages are handed to the gateway again while it does not take them.
pub const RETRY_EVERY: Duration = Duration::from_secs(15);
/// How long a message is tried before it is failed.
pub const RETRY_FOR_MS: u64 = 24 * 3600 * 1000;
/// How often the register's alarms are looked at for officers to tell.
const ALARM_POLL: Duration = Duration::from_secs(5);
/// Alarms looked at each time (the newest).
const ALARMS_READ_MAX: usize = 20;
/// An alarm first seen later than this after it started is not told by SMS (a node that was down, or a new
/// directory): it stays on the register's page.
const ALARM_TOLD_WITHIN: Duration = Duration::from_secs(3_600);
/// Break-glass uses looked at each time (the newest), for the record's officials to tell.
const GLASS_READ_MAX: usize = 50;
/// A use first seen later than this after it was made is not told by SMS: it is in the list of uses.
const GLASS_TOLD_WITHIN: Duration = Duration::from_secs(3_600);
/// Texts one number may send in a day that get an answer (verifications have the register's own limits too).
pub const INCOMING_PER_NUMBER_DAY: u32 = 20;
/// Alerts one number may raise by text in a day.
pub const ALERTS_PER_NUMBER_DAY: u32 = 3;
/// Numbers the daily counts remember; past that, new numbers wait for the next day.
const NUMBERS_TRACKED_MAX: usize = 200_000;
const DAY_MS: u64 = 24 * 3600 * 1000;

/// The actor named in the timeline events the notifier writes.
pub const NOTIFIER_ACTOR: &str = "system:notifier";
/// The actor named on alerts raised by text.
pub const SMS_ACTOR: &str = "public:sms";

/// An official told of an alert, as the live event stream announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notified {
    pub record: String,
    pub district: String,
    pub office: Office,
    pub reason: NoticeReason,
    pub official: String,
    /// The outbox message that carries it.
    pub message: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    #[error("{0}")]
    Outbox(#[from] OutboxError),
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("the register: {0}")]
    Register(#[from] RegisterError),
}

/// Counts for the metrics page.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PhoneStats {
    pub incoming: u64,
    pub notifications: u64,
    pub escalations: u64,
    pub submitted: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// The SMS service of one node.
#[derive(Debug)]
pub struct Phone {
    engine: Engine,
    register: Option<Arc<Register>>,
    config: SmsConfig,
    /// The officials this node acts for, and why.
    duties: Vec<(Official, Duty)>,
    outbox: Outbox,
    kannel: Option<kannel::Kannel>,
    live: broadcast::Sender<Notified>,
    state: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    in_flight: HashSet<u64>,
    /// Per number: the day, the answered texts and the alerts raised that day.
    numbers: HashMap<String, (u64, u32, u32)>,
    stats: PhoneStats,
}

/// The topology as the SMS settings are checked against it.
#[derive(Debug)]
pub struct TopologyPlaces<'a>(pub &'a Topology);

impl Places for TopologyPlaces<'_> {
    fn has_district(&self, code: &str) -> bool {
        self.0.district(code).is_some()
    }
    fn has_region(&self, code: &str) -> bool {
        self.0.region(code).is_some()
    }
    fn has_province(&self, code: &str) -> bool {
        self.0.province(code).is_some()
    }
    fn has_node(&self, name: &str) -> bool {
        self.0.node(name).is_some()
    }
}

/// The name of the node that covers for node `name` ([`hifazat_topology::parent_of`]).
fn parent_name<'a>(topology: &'a Topology, name: &str) -> Option<&'a str> {
    let node = topology.node(name)?;
    hifazat_topology::parent_of(topology, node).map(|p| p.name.as_str())
}

/// The officials of a directory that node `me` acts for.
pub fn duties(topology: &Topology, me: &str, officials: &[Official]) -> Vec<(Official, Duty)> {
    officials
        .iter()
        .filter_map(|o| {
            if o.home == me {
                Some((o.clone(), Duty::Home))
            } else if parent_name(topology, &o.home) == Some(me) {
                Some((o.clone(), Duty::Cover))
            } else {
                None
            }
        })
        .collect()
}

fn day(now_ms: u64) -> u64 {
    now_ms / DAY_MS
}

impl Phone {
    /// Opens the SMS service of a node: its outbox in `dir`, its settings checked already.
    pub fn open(
        dir: &std::path::Path,
        engine: Engine,
        register: Option<Arc<Register>>,
        config: SmsConfig,
        now_ms: u64,
    ) -> Result<Arc<Phone>, PhoneError> {
        let duties = duties(engine.topology(), engine.node_name(), &config.officials);
        let kannel = match &config.gateway {
            hifazat_sms::Gateway::Outbox => None,
            hifazat_sms::Gateway::Kannel(k) => Some(kannel::Kannel::new(k.clone())),
        };
        let (live, _) = broadcast::channel(hifazat_limits::CHANGES_QUEUE_MAX);
        Ok(Arc::new(Phone {
            outbox: Outbox::open(dir, now_ms)?,
            engine,
            register,
            config,
            duties,
            kannel,
            live,
            state: Mutex::new(Inner::default()),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The officials this node acts for, and why.
    /// When alerts not validated go to the RPO and the IG, and when a parent covers for a silent district.
    pub fn timing(&self) -> Timing {
        self.config.timing
    }

    pub fn duties(&self) -> &[(Official, Duty)] {
        &self.duties
    }

    pub fn stats(&self) -> PhoneStats {
        self.lock().stats
    }

    /// Notifications as they are sent, for the live event stream.
    pub fn subscribe(&self) -> broadcast::Receiver<Notified> {
        self.live.subscribe()
    }

    /// The secret incoming texts and delivery reports must carry; `None` without a gateway (nothing comes in).
    pub fn callback_key(&self) -> Option<&str> {
        match &self.config.gateway {
            hifazat_sms::Gateway::Kannel(k) => Some(&k.callback_key),
            hifazat_sms::Gateway::Outbox => None,
        }
    }

    /// Queues a message and hands it to the gateway (in the background). A keyed message already queued is not
    /// queued again; the message is returned with whether it is new.
    pub fn send(
        self: &Arc<Self>,
        out: Outgoing,
        now_ms: u64,
    ) -> Result<(Message, bool), PhoneError> {
        let (message, new) = self.outbox.enqueue(out, now_ms)?;
        if message.state == State::Queued {
            self.hand_over(message.clone());
        }
        Ok((message, new))
    }

    /// Hands a queued message to the gateway in the background, unless it is being handed over already.
    fn hand_over(self: &Arc<Self>, message: Message) {
        if !self.lock().in_flight.insert(message.id) {
            return;
        }
        let phone = self.clone();
        tokio::spawn(async move {
            let id = message.id;
            phone.submit(message).await;
            phone.lock().in_flight.remove(&id);
        });
    }

    async fn submit(&self, message: Message) {
        let now = self.engine.now_ms();
        let Some(text) = self.outbox.text_of(&message) else {
            self.finish(
                message.id,
                State::Failed {
                    reason: "its text is gone".into(),
                },
                None,
            );
            return;
        };
        let Some(kannel) = &self.kannel else {
            // No gateway: the message is kept, and the log shows it (a secret text is not logged).
            tracing::info!(
                id = message.id,
                to = %phone::masked(&message.to),
                text = message.text.as_deref().unwrap_or("(a verification's reply, not logged)"),
                "sms kept in the outbox (no gateway)"
            );
            self.finish(message.id, State::Kept, None);
            return;
        };
        match kannel
            .submit(message.id, &message.to, &text, message.coding == "ucs2")
            .await
        {
            Ok(kannel::Submitted::Accepted(said)) => {
                tracing::info!(id = message.id, to = %phone::masked(&message.to), parts = message.parts, "sms handed to the gateway");
                self.lock().stats.submitted += 1;
                self.finish(message.id, State::Submitted, Some(said));
            }
            Ok(kannel::Submitted::Refused(said)) => {
                tracing::warn!(id = message.id, %said, "the gateway refused an sms");
                self.finish(
                    message.id,
                    State::Failed {
                        reason: "the gateway refused it".into(),
                    },
                    Some(said),
                );
            }
            Err(why) if now.saturating_sub(message.created_ms) > RETRY_FOR_MS => {
                self.finish(message.id, State::Failed { reason: why }, None);
            }
            Err(why) => {
                // Stays queued; the retry loop hands it over again.
                tracing::warn!(id = message.id, %why, "sms not handed over yet");
            }
        }
    }

    fn finish(&self, id: u64, state: State, said: Option<String>) {
        let failed = matches!(state, State::Failed { .. });
        match self.outbox.set_state(id, state, said, self.engine.now_ms()) {
            Ok(_) if failed => self.lock().stats.failed += 1,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(id, error = %e, "the outbox could not record a message's state")
            }
        }
    }

    /// A delivery report from the gateway for message `id`: Kannel's report type and the SMS centre's words.
    pub fn report(
        &self,
        id: u64,
        status: u8,
        said: Option<String>,
    ) -> Result<Option<Message>, PhoneError> {
        let Some(state) = kannel::report(status) else {
            return Err(PhoneError::Invalid {
                field: "status",
                why: format!("{status} is not a delivery report type (1, 2, 4, 8, 16)"),
            });
        };
        let delivered = state == State::Delivered;
        let failed = matches!(state, State::Failed { .. });
        let message = self
            .outbox
            .set_state(id, state, said, self.engine.now_ms())?;
        if message.is_some() {
            let mut inner = self.lock();
            inner.stats.delivered += u64::from(delivered);
            inner.stats.failed += u64::from(failed);
        }
        Ok(message)
    }

    /// Hands every queued message to the gateway again, every `RETRY_EVERY`, until the engine stops.
    async fn retry_queued(self: Arc<Self>) {
        let mut tick = tokio::time::interval(RETRY_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.outbox.queued() {
                Ok(queued) => queued.into_iter().for_each(|m| self.hand_over(m)),
                Err(e) => tracing::error!(error = %e, "reading the outbox"),
            }
        }
    }

    /// Runs the notifier, the retries and (with a register and register officers to tell) the watch on the
    /// register's alarms until the engine stops.
    pub async fn run(self: Arc<Self>) {
        tokio::spawn(self.clone().retry_queued());
        if self.register.is_some() && !self.config.register_officers.is_empty() {
            tokio::spawn(self.clone().watch_alarms());
        }
        if self
            .duties
            .iter()
            .any(|(o, d)| *d == Duty::Home && matches!(o.office, Office::Dpo | Office::Rpo))
        {
            tokio::spawn(self.clone().watch_glass());
        }
        notifier::run(self).await;
    }

    /// Tells the DPO and the RPO of a record's district, where they are homed on this node, of each break-glass
    /// use of the record that reaches it, once (the outbox key `glass/<use>/<number>` keeps a restart from telling
    /// again). Uses older than `GLASS_TOLD_WITHIN` when first seen are not told: they are in the list of uses.
    async fn watch_glass(self: Arc<Self>) {
        let mut tick = tokio::time::interval(ALARM_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.tell_glass().await {
                tracing::error!(error = %e, "telling officials of break-glass uses");
            }
        }
    }

    /// One look at the newest break-glass uses this node holds; the messages queued.
    pub async fn tell_glass(self: &Arc<Self>) -> Result<usize, PhoneError> {
        let topology = self.engine.topology().clone();
        let officials: Vec<Official> = self
            .duties
            .iter()
            .filter(|(o, d)| *d == Duty::Home && matches!(o.office, Office::Dpo | Office::Rpo))
            .map(|(o, _)| o.clone())
            .collect();
        if officials.is_empty() {
            return Ok(0);
        }
        let uses = self
            .engine
            .glass_uses(None, GLASS_READ_MAX, |_| true)
            .await?;
        let now = self.engine.now_ms();
        let mut queued = 0;
        for (place, glass) in uses {
            if now.saturating_sub(glass.at_ms) > GLASS_TOLD_WITHIN.as_millis() as u64 {
                continue;
            }
            let region = topology
                .district(&glass.district)
                .map(|d| d.region.clone())
                .unwrap_or_default();
            let code = match glass.kind {
                hifazat_domain::RecordKind::Alert => {
                    hifazat_domain::AlertCode::of(&glass.record).to_string()
                }
                _ => glass.record.to_string(),
            };
            let text = template::break_glass(
                &glass.by,
                &glass.node,
                &code,
                glass.minutes,
                now.saturating_sub(glass.at_ms) / 60_000,
            );
            for official in officials.iter().filter(|o| match o.office {
                Office::Dpo => o.area == glass.district,
                Office::Rpo => o.area == region,
                Office::Ig => false,
            }) {
                let out = Outgoing {
                    key: Some(format!("glass/{}/{}", hex::encode(place), official.phone)),
                    to: official.phone.clone(),
                    text: text.clone(),
                    secret: false,
                    purpose: Purpose::BreakGlass {
                        record: glass.record.to_string(),
                        office: official.office,
                        official: official.name.clone(),
                    },
                };
                let (_, new) = self.send(out, now)?;
                if new {
                    tracing::warn!(record = %glass.record, official = %official.name, by = %glass.by, "an official told of a break-glass use by SMS");
                    queued += 1;
                }
            }
        }
        Ok(queued)
    }

    /// Tells every register officer of each new alarm of the register's guard, once (the outbox key
    /// `alarm/<seq>/<number>` keeps a restart from telling again). Alarms older than `ALARM_TOLD_WITHIN` when
    /// first seen are not told: they are on the register's page.
    async fn watch_alarms(self: Arc<Self>) {
        let mut tick = tokio::time::interval(ALARM_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.tell_alarms().await {
                tracing::error!(error = %e, "telling register officers of alarms");
            }
        }
    }

    /// One look at the register's newest alarms; the messages queued.
    pub async fn tell_alarms(self: &Arc<Self>) -> Result<usize, PhoneError> {
        let Some(register) = self.register.clone() else {
            return Ok(0);
        };
        let alarms = tokio::task::spawn_blocking(move || register.alarms(None, ALARMS_READ_MAX))
            .await
            .map_err(|_| PhoneError::Engine(EngineError::Stopped))??;
        let now = self.engine.now_ms();
        let mut queued = 0;
        for record in alarms {
            if now.saturating_sub(record.alarm.at_ms) > ALARM_TOLD_WITHIN.as_millis() as u64 {
                continue;
            }
            let signal = match serde_json::to_value(record.alarm.signal) {
                Ok(serde_json::Value::String(s)) => s,
                _ => String::new(),
            };
            let text = template::register_alarm(
                &signal,
                record.alarm.count,
                now.saturating_sub(record.alarm.at_ms) / 60_000,
            );
            for officer in &self.config.register_officers {
                let out = Outgoing {
                    key: Some(format!("alarm/{}/{}", record.seq, officer.phone)),
                    to: officer.phone.clone(),
                    text: text.clone(),
                    secret: false,
                    purpose: Purpose::RegisterAlarm {
                        seq: record.seq,
                        officer: officer.name.clone(),
                    },
                };
                let (_, new) = self.send(out, now)?;
                if new {
                    tracing::warn!(seq = record.seq, officer = %officer.name, "a register officer told of an alarm by SMS");
                    queued += 1;
                }
            }
        }
        Ok(queued)
    }

    /// Answers a text that came in through the gateway (its id, for texts the gateway hands over twice). Returns
    /// the reply queued, or `None` when the text gets none (a repeat, a number over its daily limit, or the
    /// register's guard during an alarm).
    pub async fn incoming(
        self: &Arc<Self>,
        gateway_id: &str,
        from: &str,
        text: &str,
        now_ms: u64,
    ) -> Result<Option<Message>, PhoneError> {
        let from =
            phone::normalise(from).map_err(|why| PhoneError::Invalid { field: "from", why })?;
        if gateway_id.is_empty() || gateway_id.len() > 64 {
            return Err(PhoneError::Invalid {
                field: "id",
                why: "the gateway's message id, 1 to 64 characters".into(),
            });
        }
        let key = format!("in/{gateway_id}");
        if self.outbox.has_key(&key)? {
            return Ok(None);
        }
        let request = hifazat_sms::parse(text, self.engine.topology());
        {
            let mut inner = self.lock();
            inner.stats.incoming += 1;
            let tracked = inner.numbers.len();
            let entry = match inner.numbers.get_mut(&from) {
                Some(e) => e,
                None if tracked >= NUMBERS_TRACKED_MAX => {
                    inner.numbers.retain(|_, e| e.0 == day(now_ms));
                    if inner.numbers.len() >= NUMBERS_TRACKED_MAX {
                        return Ok(None);
                    }
                    inner.numbers.entry(from.clone()).or_default()
                }
                None => inner.numbers.entry(from.clone()).or_default(),
            };
            if entry.0 != day(now_ms) {
                *entry = (day(now_ms), 0, 0);
            }
            if entry.1 >= INCOMING_PER_NUMBER_DAY {
                tracing::warn!(from = %phone::masked(&from), "a number is over its daily texts; no answer");
                return Ok(None);
            }
            entry.1 += 1;
            if matches!(request, Request::Alert(_)) {
                if entry.2 >= ALERTS_PER_NUMBER_DAY {
                    drop(inner);
                    return self
                        .reply(key, from, template::alert_refused(&format!(
                            "a number may raise {ALERTS_PER_NUMBER_DAY} alerts a day by text; call 15 or 1099"
                        )), ReplyAbout::Alert, false, now_ms)
                        .map(Some);
                }
                entry.2 += 1;
            }
        }
        let (text, about, secret) = match request {
            Request::Verify(cnic) => match self.verify(&from, cnic, now_ms).await {
                Some(text) => (text, ReplyAbout::Verification, true),
                None => return Ok(None),
            },
            Request::Alert(alert) => (
                self.raise(&from, alert, now_ms).await?,
                ReplyAbout::Alert,
                false,
            ),
            Request::Status(code) => (self.standing(&code).await?, ReplyAbout::Status, false),
            Request::Unclear(why) => (template::help(&why), ReplyAbout::Help, false),
        };
        self.reply(key, from, text, about, secret, now_ms).map(Some)
    }

    fn reply(
        self: &Arc<Self>,
        key: String,
        to: String,
        text: String,
        about: ReplyAbout,
        secret: bool,
        now_ms: u64,
    ) -> Result<Message, PhoneError> {
        let out = Outgoing {
            key: Some(key),
            to,
            text,
            secret,
            purpose: Purpose::Reply { about },
        };
        Ok(self.send(out, now_ms)?.0)
    }

    /// The reply to a CNIC, or `None` when the register's guard says no answer at all.
    async fn verify(&self, from: &str, cnic: String, now_ms: u64) -> Option<String> {
        let Some(register) = self.register.clone() else {
            return Some(template::help(
                "CNICs are verified at the register's short code, not at this number",
            ));
        };
        let requester = Requester::Phone(from.to_owned());
        let answer = tokio::task::spawn_blocking(move || {
            register.verify(&requester, hifazat_register::Channel::Sms, &cnic, now_ms)
        })
        .await;
        match answer {
            Ok(Ok(reply)) => Some(template::verify(&reply.message_ur, &reply.message_en)),
            Ok(Err(RegisterError::Refused {
                reason: hifazat_register::Refusal::Alarm,
                ..
            })) => {
                tracing::warn!(from = %phone::masked(from), "verification by text refused during an alarm; no answer");
                None
            }
            Ok(Err(RegisterError::Refused { retry_after_ms, .. })) => {
                Some(template::verify_refused(retry_after_ms))
            }
            Ok(Err(RegisterError::Invalid(why))) => Some(template::help(&why.to_string())),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "a verification by text failed");
                Some(template::help(
                    "the register could not answer now; try again later",
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "a verification by text failed");
                None
            }
        }
    }

    /// Raises an alert from a text; the reply gives its reference, or why it was not raised.
    async fn raise(
        &self,
        from: &str,
        alert: hifazat_sms::AlertText,
        now_ms: u64,
    ) -> Result<String, PhoneError> {
        let Some(district) = self.engine.topology().district(&alert.district).cloned() else {
            return Ok(template::help(&format!(
                "`{}` is not a district code",
                alert.district
            )));
        };
        let draft = AlertDraft {
            child_name: alert.child_name,
            age_years: alert.age_years,
            sex: alert.sex,
            photo_ref: None,
            description: "Reported by text to the short code.".into(),
            last_seen: PlaceDraft {
                district: district.code.clone(),
                // The district's headquarters: a text gives no coordinates.
                lat: district.lat,
                lon: district.lon,
                text: alert.place,
            },
            last_seen_at_ms: now_ms,
            reporter: ContactDraft {
                name: "Reporter by text".into(),
                mobile: Some(from.to_owned()),
                cnic: None,
            },
            channel: Channel::Sms,
            contact_line: None,
            office: None,
            police_notes: None,
        };
        match self.engine.raise_alert(draft, SMS_ACTOR.into()).await {
            Ok(id) => {
                tracing::info!(record = %id, district = %district.code, "alert raised by text");
                Ok(template::alert_taken(
                    hifazat_domain::AlertCode::of(&id).as_str(),
                    &district.name,
                    &district.name_ur,
                ))
            }
            Err(EngineError::Invalid(why)) => Ok(template::alert_refused(&why.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// The answer to `STATUS <code>`: how the alerts with the code stand, as the public may know.
    async fn standing(&self, code: &hifazat_domain::AlertCode) -> Result<String, PhoneError> {
        let alerts = self.engine.alerts_by_code(code).await?;
        let topology = self.engine.topology();
        let standings: Vec<template::AlertStanding> = alerts
            .iter()
            .map(|a| {
                let district = topology.district(&a.district);
                template::AlertStanding {
                    code: code.as_str().to_owned(),
                    child_name: a.child_name.clone(),
                    district_name: district.map_or(a.district.clone(), |d| d.name.clone()),
                    district_name_ur: district.map_or(a.district.clone(), |d| d.name_ur.clone()),
                    stage: a.status.stage,
                }
            })
            .collect();
        Ok(template::status(code.as_str(), &standings))
    }

    /// Announces a notification on the live event stream.
    fn announce(&self, notified: Notified) {
        let _ = self.live.send(notified);
    }
}

/// The outbox key of an official's notification: the alert, the office, the reason and the official.
pub fn notification_key(
    record: RecordId,
    office: Office,
    reason: NoticeReason,
    official: &str,
) -> String {
    format!("note/{record}/{}/{reason:?}/{official}", office.as_str())
}
