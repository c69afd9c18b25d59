//! The notifier: which alerts to look at, and when. The decisions are `hifazat_sms::plan`'s; this keeps the
//! alerts it watches, reads each when it changes or when something planned for it comes due, and carries out
//! what is due.
//!
//! Carrying out one notification, in this order, makes it once across crashes: (1) the message is queued in the
//! outbox under a key naming the alert, office, reason and official (a second queueing returns the first);
//! (2) the escalation, if any, and the `notified` event are recorded on the alert's timeline, signed and on disk;
//! (3) the message goes to the gateway. A crash after (1) replans, finds the key, and records the events without
//! queueing again; the outbox's retries send what is queued.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use hifazat_domain::{
    AlertStage, EscalationLevel, EventKind, NoticeReason, Office, RecordId, RecordKind,
};
use hifazat_engine::AlertRecord;
use hifazat_sms::{Seen, template};
use tokio::sync::broadcast::error::RecvError;

use crate::{NOTIFIER_ACTOR, Notified, Outgoing, Phone, Purpose, notification_key};

/// Alerts watched at once; past that, the oldest watched are let go (a change brings one back).
pub const WATCHED_MAX: usize = 100_000;
/// The longest the notifier sleeps without looking at its alerts.
const IDLE: Duration = Duration::from_secs(60);
/// Alerts read per page when the notifier starts.
const START_PAGE: usize = 500;

struct Watch {
    first_seen_ms: u64,
    next_ms: u64,
}

pub(crate) async fn run(phone: Arc<Phone>) {
    if phone.duties.is_empty() {
        tracing::info!("no officials to notify from this node");
        return;
    }
    let mut changes = phone.engine.subscribe_changes();
    let mut watched: HashMap<RecordId, Watch> = HashMap::new();
    watch_all(&phone, &mut watched).await;
    loop {
        let now = phone.engine.now_ms();
        let due: Vec<RecordId> = watched
            .iter()
            .filter(|(_, w)| w.next_ms <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let first_seen_ms = watched.get(&id).map_or(now, |w| w.first_seen_ms);
            match look_at(&phone, id, first_seen_ms).await {
                Ok(Some(next_ms)) => {
                    if let Some(w) = watched.get_mut(&id) {
                        w.next_ms = next_ms;
                    }
                }
                Ok(None) => {
                    watched.remove(&id);
                }
                Err(()) => {
                    // Try again a little later.
                    if let Some(w) = watched.get_mut(&id) {
                        w.next_ms = now + 5_000;
                    }
                }
            }
        }
        let next = watched.values().map(|w| w.next_ms).min();
        let sleep = next.map_or(IDLE, |n| {
            Duration::from_millis(n.saturating_sub(phone.engine.now_ms())).min(IDLE)
        });
        tokio::select! {
            change = changes.recv() => match change {
                Ok(change) if change.kind == RecordKind::Alert => {
                    let now = phone.engine.now_ms();
                    watched
                        .entry(change.record)
                        .and_modify(|w| w.next_ms = now)
                        .or_insert(Watch { first_seen_ms: now, next_ms: now });
                    if watched.len() > WATCHED_MAX {
                        let oldest = watched.iter().min_by_key(|(_, w)| w.first_seen_ms).map(|(id, _)| *id);
                        if let Some(id) = oldest {
                            watched.remove(&id);
                        }
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the notifier missed changes; reading every alert again");
                    watch_all(&phone, &mut watched).await;
                }
                Err(RecvError::Closed) => return,
            },
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Watches every alert the node holds that is still open.
async fn watch_all(phone: &Phone, watched: &mut HashMap<RecordId, Watch>) {
    let now = phone.engine.now_ms();
    let mut before = None;
    loop {
        let page = match phone
            .engine
            .list_alerts(
                |s, _| s.status.stage < AlertStage::Recovered,
                hifazat_engine::Narrow::default(),
                before,
                START_PAGE,
            )
            .await
        {
            Ok(page) => page,
            Err(e) => {
                tracing::error!(error = %e, "the notifier could not list alerts");
                return;
            }
        };
        for s in &page.items {
            if watched.len() >= WATCHED_MAX {
                tracing::warn!(
                    max = WATCHED_MAX,
                    "more open alerts than the notifier watches"
                );
                return;
            }
            watched.entry(s.id).or_insert(Watch {
                first_seen_ms: now,
                next_ms: now,
            });
        }
        match page.next {
            Some(next) => before = Some(next),
            None => return,
        }
    }
}

/// Reads an alert and carries out what is due for it. The time to look again, or `None` when nothing more is
/// planned; `Err` when something failed (logged).
async fn look_at(phone: &Arc<Phone>, id: RecordId, first_seen_ms: u64) -> Result<Option<u64>, ()> {
    let alert = phone.engine.alert(id).await.map_err(|e| {
        tracing::error!(record = %id, error = %e, "the notifier could not read an alert");
    })?;
    let topology = phone.engine.topology();
    let district_code = alert.doc.intake.public.last_seen.district.clone();
    let Some(district) = topology.district(&district_code).cloned() else {
        return Ok(None);
    };
    let notified: BTreeSet<(Office, NoticeReason, String)> = alert
        .doc
        .timeline
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Notified {
                office,
                reason,
                official,
            } => Some((*office, *reason, official.clone())),
            _ => None,
        })
        .collect();
    let raised_ms = alert
        .doc
        .timeline
        .iter()
        .filter(|e| e.kind == EventKind::Raised)
        .map(|e| e.at_ms)
        .min()
        .unwrap_or(first_seen_ms);
    let seen = Seen {
        district: &district.code,
        region: &district.region,
        province: &district.province,
        raised_ms,
        first_seen_ms,
        validated: alert.status.stage >= AlertStage::Validated,
        ended: alert.status.stage >= AlertStage::Recovered,
        escalation_level: alert.status.escalation_level,
        possible_match_ms: alert
            .doc
            .timeline
            .iter()
            .filter(|e| matches!(e.kind, EventKind::MatchSuggested { .. }))
            .map(|e| e.at_ms)
            .min(),
        notified: &notified,
    };
    let now = phone.engine.now_ms();
    let plan = hifazat_sms::plan(&seen, &phone.duties, &phone.config.timing, now);
    let mut escalated = alert.status.escalation_level;
    for task in &plan.due {
        let (official, _) = &phone.duties[task.official];
        let level = task.escalate.filter(|l| escalated < Some(*l));
        carry_out(
            phone,
            &alert,
            official,
            task.reason,
            level,
            &district,
            raised_ms,
        )
        .await?;
        if let Some(l) = level {
            escalated = escalated.max(Some(l));
        }
    }
    Ok(plan.next_ms)
}

async fn carry_out(
    phone: &Arc<Phone>,
    alert: &AlertRecord,
    official: &hifazat_sms::Official,
    reason: NoticeReason,
    escalate: Option<EscalationLevel>,
    district: &hifazat_topology::District,
    raised_ms: u64,
) -> Result<(), ()> {
    let now = phone.engine.now_ms();
    let public = &alert.doc.intake.public;
    // For a possible match, the place named is where the found child was reported: the district of the node that
    // compared the faces (of the nearest suggestion).
    let place = match reason {
        NoticeReason::PossibleMatch => hifazat_domain::suggestions(&alert.doc.timeline)
            .first()
            .map(|s| {
                let topology = phone.engine.topology();
                topology
                    .node(&s.node)
                    .and_then(|n| n.district.as_deref())
                    .and_then(|d| topology.district(d))
                    .map_or_else(|| s.node.clone(), |d| d.name.clone())
            })
            .unwrap_or_default(),
        _ => public.last_seen.text.clone(),
    };
    let facts = template::AlertFacts {
        reference: hifazat_domain::AlertCode::of(&alert.id).to_string(),
        child_name: public.child_name.clone(),
        age_years: public.age_years,
        sex: public.sex,
        district_name: district.name.clone(),
        district_name_ur: district.name_ur.clone(),
        place,
        waited_ms: now.saturating_sub(raised_ms),
    };
    let out = Outgoing {
        key: Some(notification_key(
            alert.id,
            official.office,
            reason,
            &official.name,
        )),
        to: official.phone.clone(),
        text: template::alert_notice(official.office, reason, &facts),
        secret: false,
        purpose: Purpose::Notification {
            record: alert.id.to_string(),
            office: official.office,
            reason,
            official: official.name.clone(),
        },
    };
    // (1) Queued, keyed: once.
    let (message, _) = phone.outbox.enqueue(out, now).map_err(|e| {
        tracing::error!(record = %alert.id, error = %e, "a notification could not be queued");
    })?;
    // (2) On the timeline.
    if let Some(level) = escalate {
        phone
            .engine
            .add_event(
                alert.id,
                EventKind::Escalated { level },
                Some(format!("not validated in time; escalated to the {}", official.office.as_str().to_uppercase())),
                NOTIFIER_ACTOR.into(),
            )
            .await
            .map_err(|e| tracing::error!(record = %alert.id, error = %e, "an escalation could not be recorded"))?;
        phone.lock().stats.escalations += 1;
        tracing::info!(record = %alert.id, level = u8::from(level), "alert escalated");
    }
    phone
        .engine
        .add_event(
            alert.id,
            EventKind::Notified {
                office: official.office,
                reason,
                official: official.name.clone(),
            },
            None,
            NOTIFIER_ACTOR.into(),
        )
        .await
        .map_err(|e| tracing::error!(record = %alert.id, error = %e, "a notification could not be recorded"))?;
    phone.lock().stats.notifications += 1;
    tracing::info!(
        record = %alert.id,
        office = official.office.as_str(),
        ?reason,
        official = %official.name,
        message = message.id,
        "official notified"
    );
    phone.announce(Notified {
        record: alert.id.to_string(),
        district: public.last_seen.district.clone(),
        office: official.office,
        reason,
        official: official.name.clone(),
        message: message.id,
    });
    // (3) To the gateway.
    if message.state == crate::State::Queued {
        phone.hand_over(message);
    }
    Ok(())
}
