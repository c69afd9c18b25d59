//! Catch-up: what this node lacks, pulled from peers that hold it, within `SYNC_PULLS_MAX` pulls in flight, and
//! what the engine made of entries handed to it.

use super::*;

/// Catch-up: pulls in flight, one per log, and the applies under way, each under a ticket given once.
#[derive(Debug)]
pub(super) struct CatchUp {
    pub(super) pulls: BTreeMap<Hash, Pull>,
    pub(super) applying: BTreeMap<Ticket, Origin>,
    pub(super) next_ticket: Ticket,
}

impl Default for CatchUp {
    fn default() -> CatchUp {
        CatchUp {
            pulls: BTreeMap::new(),
            applying: BTreeMap::new(),
            next_ticket: 1,
        }
    }
}

impl CatchUp {
    /// Pulls and applies within their limits; every ticket under way was given.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.pulls.len() > limits::SYNC_PULLS_MAX {
            return Err(format!("{} pulls in flight", self.pulls.len()));
        }
        if self.applying.len() > limits::SYNC_APPLYING_MAX + limits::SYNC_PULLS_MAX {
            return Err(format!("{} applies under way", self.applying.len()));
        }
        if let Some(ticket) = self.applying.keys().find(|t| **t >= self.next_ticket) {
            return Err(format!("ticket {ticket} was never given"));
        }
        Ok(())
    }
}

impl Sync {
    pub(super) fn entries(
        &mut self,
        peer: Author,
        node: &Node,
        log: Hash,
        entries: Vec<Vec<u8>>,
        out: &mut Vec<Effect>,
    ) {
        let is_pull = self.catchup.pulls.get(&log).is_some_and(|p| p.peer == peer);
        let mut keep = Vec::with_capacity(entries.len());
        for bytes in entries {
            let ok = match Entry::decode(&bytes) {
                Ok(e) => {
                    let c = e.content();
                    if c.log.digest() == log
                        && self.acceptable(&c.log)
                        && may_hold(&self.topology, node, &c.log.scope)
                    {
                        // Counted as revoked, not as refused.
                        Some(!self.revoked_past(&c.log, c.seq))
                    } else {
                        None
                    }
                }
                Err(_) => None,
            };
            match ok {
                Some(true) => keep.push(bytes),
                Some(false) => {}
                None => self.counters.entries_refused += 1,
            }
        }
        if keep.is_empty() {
            if is_pull {
                self.catchup.pulls.remove(&log);
            }
            return;
        }
        let origin = if is_pull {
            Origin::Pull { log }
        } else {
            Origin::Push {
                peer,
                entries: keep.clone(),
            }
        };
        if !is_pull && self.catchup.applying.len() >= limits::SYNC_APPLYING_MAX {
            // Shed pushes under load; the periodic vectors bring what was dropped.
            return;
        }
        self.apply(origin, keep, out);
    }

    pub(super) fn apply(&mut self, origin: Origin, entries: Vec<Vec<u8>>, out: &mut Vec<Effect>) {
        let ticket = self.ticket(origin);
        out.push(Effect::Apply { ticket, entries });
    }

    /// A ticket for entries on their way to the store, remembering where they came from.
    pub(super) fn ticket(&mut self, origin: Origin) -> Ticket {
        let ticket = self.catchup.next_ticket;
        self.catchup.next_ticket += 1;
        self.catchup.applying.insert(ticket, origin);
        ticket
    }

    pub(super) fn advance(&mut self, log: &LogId, seq: u64, hash: Hash) {
        let held = self.heads.entry(log.digest()).or_insert(Held {
            log: log.clone(),
            seq: 0,
            hash: Hash::ZERO,
        });
        if seq > held.seq {
            held.seq = seq;
            held.hash = hash;
            self.epoch += 1;
        }
    }

    pub(super) fn applied(
        &mut self,
        ticket: Ticket,
        outcomes: Vec<Outcome>,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) {
        let Some(origin) = self.catchup.applying.remove(&ticket) else {
            return;
        };
        for o in &outcomes {
            if let Outcome::Stored(head) = o {
                self.counters.entries_stored += 1;
                self.advance(&head.log, head.seq, head.hash);
            }
        }
        match origin {
            Origin::Gossip { id, from } => {
                let verdict = match outcomes.first() {
                    Some(Outcome::Stored(_)) => Verdict::Accept,
                    Some(Outcome::Invalid(_)) => Verdict::Reject,
                    _ => Verdict::Ignore,
                };
                match verdict {
                    Verdict::Accept => self.counters.gossip_accepted += 1,
                    Verdict::Ignore => self.counters.gossip_ignored += 1,
                    Verdict::Reject => self.counters.gossip_rejected += 1,
                }
                out.push(Effect::Verdict { id, verdict });
                if outcomes.contains(&Outcome::Gap) {
                    // The sender holds what we miss: learn its heads (it answers our vector with its own).
                    self.gap_vector(from, now_ms, out);
                }
            }
            Origin::Relayed { log, seq, from } => {
                let stored = matches!(outcomes.first(), Some(Outcome::Stored(_)));
                // Once the newest relayed entry is applied, or any of them was not stored, the next gossiped
                // entry must follow what the store holds.
                if !stored
                    || self
                        .relay
                        .relaying
                        .get(&log)
                        .is_some_and(|(s, _)| *s <= seq)
                {
                    self.relay.relaying.remove(&log);
                }
                if outcomes.contains(&Outcome::Gap) {
                    self.gap_vector(from, now_ms, out);
                }
            }
            Origin::Pull { log } => {
                self.catchup.pulls.remove(&log);
            }
            Origin::Push { peer, entries } => {
                // Pass on along the case's line what was new here.
                let stored: Vec<Vec<u8>> = entries
                    .into_iter()
                    .zip(&outcomes)
                    .filter(|(_, o)| matches!(o, Outcome::Stored(_)))
                    .map(|(e, _)| e)
                    .collect();
                if let Some(Outcome::Stored(head)) =
                    outcomes.iter().find(|o| matches!(o, Outcome::Stored(_)))
                {
                    self.push(head.log.digest(), &stored, Some(peer), out);
                }
                if outcomes.contains(&Outcome::Gap) {
                    self.gap_vector(peer, now_ms, out);
                }
            }
        }
        self.plan_pulls(now_ms, out);
    }

    /// An entry from `peer` did not follow what the store holds: sends `peer` our vector, so it answers with its
    /// own and catch-up pulls what is missing; not again within [`limits::SYNC_GAP_VECTOR_MS`] of the last vector
    /// to it, which asked the same (a burst's gaps come many at a time).
    fn gap_vector(&mut self, peer: Author, now_ms: u64, out: &mut Vec<Effect>) {
        let recent = self
            .membership
            .peers
            .get(&peer)
            .and_then(|p| p.vector_sent)
            .is_some_and(|(_, at)| now_ms < at + limits::SYNC_GAP_VECTOR_MS);
        if !recent {
            self.send_vector(peer, now_ms, out);
        }
    }

    /// Starts pulls for logs some connected peer holds further than we do, one pull per log at a time, from the
    /// peer that holds most of it.
    pub(super) fn plan_pulls(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let mut best: BTreeMap<Hash, (u64, Author)> = BTreeMap::new();
        for (key, p) in &self.membership.peers {
            if !p.connected {
                continue;
            }
            for (log, (seq, _)) in &p.vector {
                let ours = self.heads.get(log).map_or(0, |h| h.seq);
                if *seq > ours
                    && !self.forks.forked.contains(log)
                    && best.get(log).is_none_or(|(s, _)| seq > s)
                {
                    best.insert(*log, (*seq, *key));
                }
            }
        }
        for (log, (_, peer)) in best {
            if self.catchup.pulls.len() >= limits::SYNC_PULLS_MAX {
                break;
            }
            if self.catchup.pulls.contains_key(&log) {
                continue;
            }
            let after = self.heads.get(&log).map_or(0, |h| h.seq);
            let max = limits::SYNC_PULL_ENTRIES_MAX as u32;
            self.pull(peer, log, after, max, now_ms, out);
        }
    }

    /// Asks `peer` for up to `max` entries of `log` after `after` (the log's one pull in flight).
    pub(super) fn pull(
        &mut self,
        peer: Author,
        log: Hash,
        after: u64,
        max: u32,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) {
        self.catchup.pulls.insert(
            log,
            Pull {
                peer,
                sent_ms: now_ms,
            },
        );
        self.counters.pulls_sent += 1;
        out.push(Effect::Send {
            peer,
            message: Message::Pull { log, after, max },
        });
    }
}
