//! Who is told of an alert, when, and by which node: the decisions, without IO or clocks.
//!
//! - When an alert is raised, the DPO of its district and the RPO of its region are told. If it is not validated
//!   within `escalate_rpo_after_s`, it is escalated to the RPO (level 1), and after `escalate_ig_after_s` to the
//!   Inspector General (level 2).
//! - When a possible match with a found child is suggested on an alert, the DPO of its district is told (once
//!   per alert; the alert's page lists every suggestion).
//! - Each official is told by the node they are homed on. The parent of that node (a district's province, a
//!   province's federal node) covers: it tells the official `cover_after_s` after it first saw the alert, unless the
//!   home node's notification has reached it by then.
//! - Every notification is a `notified` event on the alert's timeline, and the event is what makes it once: a node
//!   never sends what the timeline says was sent. A home node that learns of an alert late (it was down, or cut
//!   off) waits `cover_after_s` too, so that catch-up can bring the parent's event first.
//!
//! What this does not promise: a home node and its parent that are cut off from each other for longer than
//! `cover_after_s`, while both are up and both see the alert, each send once.

use std::collections::BTreeSet;

use hifazat_domain::{EscalationLevel, NoticeReason, Office};

use crate::config::{Official, Timing};

/// Why this node acts for an official.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// The official is homed here.
    Home,
    /// The official's home node is a child of this one.
    Cover,
}

/// An alert as the planner needs to see it.
#[derive(Debug, Clone)]
pub struct Seen<'a> {
    pub district: &'a str,
    pub region: &'a str,
    pub province: &'a str,
    pub raised_ms: u64,
    /// When this node (this run of it) first saw the alert.
    pub first_seen_ms: u64,
    /// Validated, or further along.
    pub validated: bool,
    /// Recovered, reunited or closed: nobody needs telling any more.
    pub ended: bool,
    pub escalation_level: Option<EscalationLevel>,
    /// When a possible match with a found child was first suggested on the alert, if ever: the district's DPO is
    /// told (once).
    pub possible_match_ms: Option<u64>,
    /// The notifications the timeline already records: (office, reason, official's name).
    pub notified: &'a BTreeSet<(Office, NoticeReason, String)>,
}

/// One notification to send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Index into the officials given to [`plan`].
    pub official: usize,
    pub reason: NoticeReason,
    /// The escalation level to record first, when the alert is not yet at it.
    pub escalate: Option<EscalationLevel>,
}

/// What to do for an alert now, and when to look at it again.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub due: Vec<Task>,
    /// The earliest time a notification not yet due becomes due.
    pub next_ms: Option<u64>,
}

fn area_of<'a>(office: Office, seen: &Seen<'a>) -> &'a str {
    match office {
        Office::Dpo => seen.district,
        Office::Rpo => seen.region,
        Office::Ig => seen.province,
    }
}

/// The notifications an official gets about an alert, with the time each is owed from and the escalation
/// level that goes with it.
fn owed(
    office: Office,
    raised_ms: u64,
    possible_match_ms: Option<u64>,
    timing: &Timing,
) -> Vec<(NoticeReason, u64, Option<EscalationLevel>)> {
    let rpo = raised_ms.saturating_add(timing.escalate_rpo_after_s * 1_000);
    let ig = raised_ms.saturating_add(timing.escalate_ig_after_s * 1_000);
    match office {
        Office::Dpo => std::iter::once((NoticeReason::Raised, raised_ms, None))
            .chain(possible_match_ms.map(|at| (NoticeReason::PossibleMatch, at, None)))
            .collect(),
        Office::Rpo => vec![
            (NoticeReason::Raised, raised_ms, None),
            (NoticeReason::Escalated, rpo, Some(EscalationLevel::Region)),
        ],
        Office::Ig => vec![(NoticeReason::Escalated, ig, Some(EscalationLevel::Province))],
    }
}

/// Decides, for one alert, what this node sends now among `officials` (each with this node's duty for them).
pub fn plan(seen: &Seen<'_>, officials: &[(Official, Duty)], timing: &Timing, now_ms: u64) -> Plan {
    let mut out = Plan::default();
    if seen.ended {
        return out;
    }
    let cover = timing.cover_after_s * 1_000;
    for (i, (official, duty)) in officials.iter().enumerate() {
        if official.area != area_of(official.office, seen) {
            continue;
        }
        for (reason, owed_ms, level) in owed(
            official.office,
            seen.raised_ms,
            seen.possible_match_ms,
            timing,
        ) {
            if reason == NoticeReason::Escalated && seen.validated {
                continue;
            }
            let key = (official.office, reason, official.name.clone());
            if seen.notified.contains(&key) {
                continue;
            }
            let at = match duty {
                Duty::Home if seen.first_seen_ms > owed_ms.saturating_add(cover) => {
                    seen.first_seen_ms.saturating_add(cover)
                }
                Duty::Home => owed_ms,
                Duty::Cover => owed_ms.max(seen.first_seen_ms).saturating_add(cover),
            };
            if now_ms >= at {
                out.due.push(Task {
                    official: i,
                    reason,
                    escalate: level.filter(|l| seen.escalation_level < Some(*l)),
                });
            } else {
                out.next_ms = Some(out.next_ms.map_or(at, |n| n.min(at)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000;

    fn official(name: &str, office: Office, area: &str) -> Official {
        Official {
            name: name.into(),
            office,
            area: area.into(),
            phone: "+923001234567".into(),
            home: "x".into(),
        }
    }

    fn timing() -> Timing {
        Timing {
            cover_after_s: 60,
            escalate_rpo_after_s: 600,
            escalate_ig_after_s: 1200,
        }
    }

    fn seen<'a>(notified: &'a BTreeSet<(Office, NoticeReason, String)>) -> Seen<'a> {
        Seen {
            district: "PB-LHR",
            region: "PB-LHR-R",
            province: "PB",
            raised_ms: 1_000 * S,
            first_seen_ms: 1_000 * S,
            validated: false,
            ended: false,
            escalation_level: None,
            possible_match_ms: None,
            notified,
        }
    }

    fn directory(duty: Duty) -> Vec<(Official, Duty)> {
        vec![
            (official("DPO Lahore", Office::Dpo, "PB-LHR"), duty),
            (official("DPO Multan", Office::Dpo, "PB-MUL"), duty),
            (official("RPO Lahore", Office::Rpo, "PB-LHR-R"), duty),
            (official("IG Punjab", Office::Ig, "PB"), duty),
        ]
    }

    fn reasons(plan: &Plan) -> Vec<(usize, NoticeReason, Option<EscalationLevel>)> {
        plan.due
            .iter()
            .map(|t| (t.official, t.reason, t.escalate))
            .collect()
    }

    #[test]
    fn the_home_node_tells_at_once_and_escalates_on_time() {
        let none = BTreeSet::new();
        let d = directory(Duty::Home);
        let t = timing();
        let p = plan(&seen(&none), &d, &t, 1_000 * S);
        assert_eq!(
            reasons(&p),
            vec![
                (0, NoticeReason::Raised, None),
                (2, NoticeReason::Raised, None)
            ]
        );
        assert_eq!(p.next_ms, Some(1_600 * S), "the RPO escalation is next");
        // Both told: nothing more until the escalation.
        let told: BTreeSet<_> = [
            (Office::Dpo, NoticeReason::Raised, "DPO Lahore".to_owned()),
            (Office::Rpo, NoticeReason::Raised, "RPO Lahore".to_owned()),
        ]
        .into();
        assert!(plan(&seen(&told), &d, &t, 1_599 * S).due.is_empty());
        let p = plan(&seen(&told), &d, &t, 1_600 * S);
        assert_eq!(
            reasons(&p),
            vec![(2, NoticeReason::Escalated, Some(EscalationLevel::Region))]
        );
        assert_eq!(p.next_ms, Some(2_200 * S));
        let p = plan(&seen(&told), &d, &t, 2_200 * S);
        assert_eq!(
            reasons(&p),
            vec![
                (2, NoticeReason::Escalated, Some(EscalationLevel::Region)),
                (3, NoticeReason::Escalated, Some(EscalationLevel::Province))
            ]
        );
        // Validated in time: no escalation at all.
        let mut v = seen(&told);
        v.validated = true;
        let p = plan(&v, &d, &t, 5_000 * S);
        assert!(p.due.is_empty() && p.next_ms.is_none());
        // Already escalated to level 1 by another node: the RPO is told, the level is not recorded again.
        let mut e = seen(&told);
        e.escalation_level = Some(EscalationLevel::Region);
        assert_eq!(
            reasons(&plan(&e, &d, &t, 1_600 * S)),
            vec![(2, NoticeReason::Escalated, None)]
        );
        // Ended: nothing.
        let mut x = seen(&none);
        x.ended = true;
        assert_eq!(plan(&x, &d, &t, 9_000 * S), Plan::default());
    }

    #[test]
    fn the_parent_covers_after_a_delay_and_a_late_home_node_waits() {
        let none = BTreeSet::new();
        let t = timing();
        let cover = directory(Duty::Cover);
        let p = plan(&seen(&none), &cover, &t, 1_000 * S);
        assert!(p.due.is_empty());
        assert_eq!(p.next_ms, Some(1_060 * S));
        assert_eq!(plan(&seen(&none), &cover, &t, 1_060 * S).due.len(), 2);
        // The home node's notification arrived in time: the parent sends nothing.
        let told: BTreeSet<_> = [
            (Office::Dpo, NoticeReason::Raised, "DPO Lahore".to_owned()),
            (Office::Rpo, NoticeReason::Raised, "RPO Lahore".to_owned()),
        ]
        .into();
        assert!(plan(&seen(&told), &cover, &t, 1_060 * S).due.is_empty());
        // A home node that first sees the alert late waits for catch-up before sending.
        let home = directory(Duty::Home);
        let mut late = seen(&none);
        late.first_seen_ms = 1_500 * S;
        let p = plan(&late, &home, &t, 1_500 * S);
        assert!(p.due.is_empty());
        assert_eq!(p.next_ms, Some(1_560 * S));
        // Seeing it a little late (within the cover delay) does not delay it.
        late.first_seen_ms = 1_030 * S;
        assert_eq!(plan(&late, &home, &t, 1_030 * S).due.len(), 2);
    }

    #[test]
    fn a_possible_match_is_told_to_the_district_dpo_once() {
        let told: BTreeSet<_> = [
            (Office::Dpo, NoticeReason::Raised, "DPO Lahore".to_owned()),
            (Office::Rpo, NoticeReason::Raised, "RPO Lahore".to_owned()),
        ]
        .into();
        let d = directory(Duty::Home);
        let t = timing();
        let mut s = seen(&told);
        s.validated = true;
        assert!(plan(&s, &d, &t, 1_100 * S).due.is_empty());
        s.possible_match_ms = Some(1_100 * S);
        let p = plan(&s, &d, &t, 1_100 * S);
        assert_eq!(reasons(&p), vec![(0, NoticeReason::PossibleMatch, None)]);
        // Once on the timeline, not again; and never once the child is found.
        let mut again = told.clone();
        again.insert((
            Office::Dpo,
            NoticeReason::PossibleMatch,
            "DPO Lahore".to_owned(),
        ));
        let mut s2 = seen(&again);
        s2.validated = true;
        s2.possible_match_ms = Some(1_100 * S);
        assert!(plan(&s2, &d, &t, 1_200 * S).due.is_empty());
        s.ended = true;
        assert!(plan(&s, &d, &t, 1_200 * S).due.is_empty());
    }
}
