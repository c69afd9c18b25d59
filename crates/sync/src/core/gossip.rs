//! Gossip relay and case push: alerts passed on as they arrive, this node's own new entries announced, and case
//! entries pushed along their line to the peers that may hold them.

use super::*;
use hifazat_log::Scope;

/// Gossip relay: per log, the newest gossiped entry passed on before it was applied (seq, hash); the next one
/// relayed must follow it.
#[derive(Debug, Default)]
pub(super) struct Relay {
    pub(super) relaying: BTreeMap<Hash, (u64, Hash)>,
}

impl Sync {
    pub(super) fn gossip(
        &mut self,
        from: Author,
        id: GossipId,
        entry: Vec<u8>,
        out: &mut Vec<Effect>,
    ) {
        let verdict = |v| Effect::Verdict { id, verdict: v };
        if !self
            .membership
            .peers
            .get(&from)
            .is_some_and(|p| p.connected)
        {
            self.counters.gossip_rejected += 1;
            return out.push(verdict(Verdict::Reject));
        }
        let decoded = match Entry::decode(&entry) {
            Ok(e)
                if e.content().log.scope == Scope::Alerts && self.acceptable(&e.content().log) =>
            {
                e
            }
            _ => {
                self.counters.gossip_rejected += 1;
                return out.push(verdict(Verdict::Reject));
            }
        };
        if self.revoked_past(&decoded.content().log, decoded.content().seq) {
            // Signed by a key after its revocation: never passed on.
            self.counters.gossip_rejected += 1;
            return out.push(verdict(Verdict::Reject));
        }
        if self.catchup.applying.len() >= limits::SYNC_APPLYING_MAX {
            self.counters.gossip_ignored += 1;
            return out.push(verdict(Verdict::Ignore));
        }
        let log = decoded.content().log.digest();
        if !self.follows(log, &decoded) {
            // A duplicate, a gap or a fork: the store judges it, and the verdict follows its outcome.
            return self.apply(Origin::Gossip { id, from }, vec![entry], out);
        }
        // The next entry of its log: passed on as soon as its signature holds, then stored and applied.
        match self.verifier.verify(decoded) {
            Ok(verified) => {
                self.counters.gossip_accepted += 1;
                out.push(verdict(Verdict::Accept));
                let (seq, hash) = (verified.content().seq, verified.hash());
                self.relay.relaying.insert(log, (seq, hash));
                let ticket = self.ticket(Origin::Relayed { log, seq, from });
                out.push(Effect::Relay {
                    ticket,
                    entry: verified,
                });
            }
            Err(_) => {
                self.counters.gossip_rejected += 1;
                out.push(verdict(Verdict::Reject));
            }
        }
    }

    /// Whether `entry` is the next entry of its log after what this node holds or is applying, in a log not
    /// frozen by evidence.
    pub(super) fn follows(&self, log: Hash, entry: &Entry) -> bool {
        let (seq, hash) = self
            .relay
            .relaying
            .get(&log)
            .copied()
            .or_else(|| self.heads.get(&log).map(|h| (h.seq, h.hash)))
            .unwrap_or((0, Hash::ZERO));
        !self.forks.forked.contains(&log)
            && entry.content().seq == seq + 1
            && entry.content().prev == hash
    }

    pub(super) fn written(&mut self, entries: Vec<Vec<u8>>, out: &mut Vec<Effect>) {
        // Entries of one log go out together, in order.
        let mut by_log: BTreeMap<Hash, Vec<Vec<u8>>> = BTreeMap::new();
        for bytes in entries {
            let Ok(e) = Entry::decode(&bytes) else {
                continue;
            };
            assert_eq!(
                e.content().log.author,
                self.me,
                "Written carries only our own entries"
            );
            self.advance(&e.content().log, e.content().seq, e.hash());
            match &e.content().log.scope {
                Scope::Alerts => out.push(Effect::Publish {
                    topic: ALERTS_TOPIC,
                    entry: bytes,
                }),
                // Cases and sealed register notifications go along their line; alerts' photos, too big for gossip,
                // to every neighbour, and on from there by catch-up.
                Scope::Photos | Scope::Cases(_) | Scope::Notices(_) | Scope::Access { .. } => {
                    by_log
                        .entry(e.content().log.digest())
                        .or_default()
                        .push(bytes)
                }
                // The register never leaves this node; other scopes go nowhere.
                Scope::Register | Scope::RegisterPart(_) | Scope::Other(_) => {}
            }
        }
        for (log, entries) in by_log {
            self.push(log, &entries, None, out);
        }
    }

    /// Pushes a case log's new entries to every connected peer that may hold it, but `except`.
    pub(super) fn push(
        &self,
        log: Hash,
        entries: &[Vec<u8>],
        except: Option<Author>,
        out: &mut Vec<Effect>,
    ) {
        let Some(held) = self.heads.get(&log) else {
            return;
        };
        for (key, p) in &self.membership.peers {
            if !p.connected || Some(*key) == except {
                continue;
            }
            let Some(node) = self.member(key) else {
                continue;
            };
            if may_hold(&self.topology, node, &held.log.scope) {
                for chunk in entries.chunks(limits::SYNC_PULL_ENTRIES_MAX) {
                    out.push(Effect::Send {
                        peer: *key,
                        message: Message::Entries {
                            log,
                            entries: chunk.to_vec(),
                        },
                    });
                }
            }
        }
    }
}
