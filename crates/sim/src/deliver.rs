//! Carrying what the state machines say to each other: sync messages and gossip over the simulated links, and
//! each effect turned into the next inputs.

use super::*;

impl Sim {
    pub(crate) fn send(&mut self, from: usize, to: usize, message: Message) {
        let bytes = message.encode().len() as u64;
        self.messages += 1;
        self.message_bytes += bytes;
        self.trace.update([4, from as u8, to as u8]);
        self.trace.update(bytes.to_be_bytes());
        if !self.links.contains(&pair(from, to)) {
            self.dropped += 1;
            return;
        }
        if self.faulty && self.rng.chance(self.plan.faults.drop_per_mille) {
            self.dropped += 1;
            return;
        }
        let copies = if self.faulty && self.rng.chance(self.plan.faults.duplicate_per_mille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self.delay();
            let inc = self.nodes[to].incarnation;
            self.at(
                delay,
                Event::Deliver {
                    from,
                    to,
                    inc,
                    message: message.clone(),
                },
            );
        }
    }

    /// Gossip to every linked neighbour but `except` (gossipsub's mesh, with every member subscribed).
    pub(crate) fn gossip(&mut self, from: usize, except: Option<usize>, entry: &[u8]) {
        let peers: Vec<usize> = self
            .links
            .iter()
            .filter_map(|&(a, b)| match (a == from, b == from) {
                (true, _) => Some(b),
                (_, true) => Some(a),
                _ => None,
            })
            .filter(|&p| Some(p) != except)
            .collect();
        for to in peers {
            self.messages += 1;
            self.message_bytes += entry.len() as u64;
            if self.faulty && self.rng.chance(self.plan.faults.drop_per_mille) {
                self.dropped += 1;
                continue;
            }
            let delay = self.delay();
            let inc = self.nodes[to].incarnation;
            self.at(
                delay,
                Event::Gossip {
                    from,
                    to,
                    inc,
                    entry: entry.to_vec(),
                },
            );
        }
    }

    pub(crate) fn effect(&mut self, node: usize, effect: Effect) {
        match effect {
            Effect::Dial { peer, .. } => {
                if let Some(&other) = self.by_key.get(&peer)
                    && self.reachable(node, other)
                    && !self.links.contains(&pair(node, other))
                {
                    let delay = self.delay();
                    self.at(delay, Event::Connect { a: node, b: other });
                }
            }
            Effect::Disconnect { peer, .. } => {
                if let Some(&other) = self.by_key.get(&peer) {
                    self.drop_links(|a, b| pair(a, b) == pair(node, other));
                }
            }
            Effect::Send { peer, message } => {
                if peer == Author(self.outsider.verifying_key().to_bytes()) {
                    self.violations.push(format!(
                        "{} sent a {} to the outsider",
                        self.nodes[node].name,
                        message.kind()
                    ));
                } else if let Some(&to) = self.by_key.get(&peer) {
                    self.send(node, to, message);
                }
            }
            Effect::Publish { topic, entry } => {
                assert_eq!(topic, ALERTS_TOPIC);
                self.gossip(node, None, &entry);
            }
            Effect::Verdict { id, verdict } => {
                if let Some((from, entry)) = self.nodes[node].gossip_from.remove(&id)
                    && verdict == hifazat_sync::Verdict::Accept
                {
                    self.gossip(node, Some(from), &entry);
                }
            }
            Effect::Apply { ticket, entries } => self.apply(node, ticket, &entries),
            Effect::Relay { ticket, entry } => self.apply(node, ticket, &[entry.bytes().to_vec()]),
            Effect::Serve {
                peer,
                log,
                after,
                up_to,
            } => {
                let Some(&to) = self.by_key.get(&peer) else {
                    self.violations.push(format!(
                        "{} served a log to a non-member",
                        self.nodes[node].name
                    ));
                    return;
                };
                let scope = self.nodes[node]
                    .store
                    .logs
                    .get(&log)
                    .map(|l| l.log.scope.clone());
                let entitled = scope.as_ref().is_some_and(|s| {
                    self.topology
                        .member(&self.nodes[to].author.0)
                        .is_some_and(|n| may_hold(&self.topology, n, s))
                });
                if !entitled {
                    self.violations.push(format!(
                        "{} served {:?} to {}, which may not hold it",
                        self.nodes[node].name, scope, self.nodes[to].name
                    ));
                    return;
                }
                let entries =
                    self.nodes[node]
                        .store
                        .range(&log, after, up_to, limits::SYNC_PULL_BYTES_MAX);
                self.send(node, to, Message::Entries { log, entries });
            }
            Effect::InstallTopology { signed, .. } => {
                self.nodes[node].topology = signed;
            }
            Effect::Check {
                peer,
                log,
                size,
                note,
                cosign,
            } => {
                let time_s = self.now_ms / 1000;
                let result = self.nodes[node].check_checkpoint(log, &note, cosign, time_s);
                if cosign && matches!(result, hifazat_sync::CheckResult::Kept { .. }) {
                    self.cosigned += 1;
                }
                self.later(
                    node,
                    Input::Checked {
                        peer,
                        log,
                        size,
                        result,
                    },
                );
            }
            Effect::KeepEvidence {
                first,
                second,
                from,
            } => {
                let new = self.nodes[node]
                    .store
                    .keep_evidence(first.clone(), second.clone());
                self.evidence_held(node, new, first, second, Some(from));
            }
        }
    }

    /// A node stores and applies remote entries; the state machine hears of it a simulated moment later.
    pub(crate) fn apply(&mut self, node: usize, ticket: hifazat_sync::Ticket, entries: &[Vec<u8>]) {
        let (outcomes, evidence) = self.nodes[node].apply(entries);
        for o in &outcomes {
            if let hifazat_sync::Outcome::Stored(h) = o
                && let Some(s) = self.spread.get_mut(&(h.log.digest(), h.seq))
            {
                s.lacking -= 1;
                if s.lacking == 0 {
                    s.done_ms = Some(self.now_ms);
                }
            }
        }
        self.later(node, Input::Applied { ticket, outcomes });
        for (first, second) in evidence {
            self.evidence_held(node, true, first, second, None);
        }
    }

    /// Feeds `input` to `node` a millisecond from now (its store's answer), unless it crashes first.
    pub(crate) fn later(&mut self, node: usize, input: Input) {
        let inc = self.nodes[node].incarnation;
        self.at(1, Event::Later { node, inc, input });
    }

    /// `node`'s store holds this evidence now (`new`: it did not before): note when it first held any (for the
    /// forking run's timings), and tell its state machine.
    pub(crate) fn evidence_held(
        &mut self,
        node: usize,
        new: bool,
        first: Vec<u8>,
        second: Vec<u8>,
        from: Option<Author>,
    ) {
        if new && let Some(f) = &mut self.forking {
            f.caught[node].get_or_insert(self.now_ms);
        }
        self.later(
            node,
            Input::Evidence {
                first,
                second,
                from,
            },
        );
    }
}
