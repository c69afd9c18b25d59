//! Membership and dialing: peers connecting, the vectors of log heads exchanged with them, the timer that
//! dials and refreshes, and newer signed topologies offered by peers.

use super::*;

/// Membership and dialing: the peers this node knows (connected or to dial) and when it last asked for a newer
/// topology.
#[derive(Debug, Default)]
pub(super) struct Membership {
    pub(super) peers: BTreeMap<Author, Peer>,
    pub(super) topology_asked_ms: Option<u64>,
}

impl Membership {
    /// A peer's dial back-off stays within its bounds once it has one.
    pub(super) fn check(&self) -> Result<(), String> {
        match self
            .peers
            .iter()
            .find(|(_, p)| p.dial_backoff_ms > limits::SYNC_DIAL_BACKOFF_MAX_MS)
        {
            Some((peer, p)) => Err(format!(
                "{peer} waits {} ms between dials",
                p.dial_backoff_ms
            )),
            None => Ok(()),
        }
    }
}

impl Sync {
    pub(super) fn connected(&mut self, peer: Author, now_ms: u64, out: &mut Vec<Effect>) {
        if peer == self.me || !self.members.contains_key(&peer) {
            self.counters.peers_refused += 1;
            out.push(Effect::Disconnect {
                peer,
                reason: "not a member of the newest topology".into(),
            });
            return;
        }
        let p = self.membership.peers.entry(peer).or_default();
        p.connected = true;
        p.dial_backoff_ms = 0;
        p.vector_sent = None;
        self.send_vector(peer, now_ms, out);
        // What it may not have heard while apart: checkpoints and evidence.
        let logs: Vec<Hash> = self.witness.checkpoints.keys().copied().collect();
        for log in logs {
            self.send_checkpoint(peer, log, out);
        }
        let ids: Vec<Hash> = self.forks.evidence.keys().copied().collect();
        for id in ids {
            self.send_evidence(peer, id, out);
        }
    }

    /// Sends `peer` our vector: the heads of the logs it may hold.
    pub(super) fn send_vector(&mut self, peer: Author, now_ms: u64, out: &mut Vec<Effect>) {
        let Some(node) = self.member(&peer) else {
            return;
        };
        let heads: Vec<LogHead> = self
            .heads
            .values()
            .filter(|h| may_hold(&self.topology, node, &h.log.scope))
            .take(limits::SYNC_VECTOR_LOGS_MAX)
            .map(|h| LogHead {
                log: h.log.clone(),
                seq: h.seq,
                hash: h.hash,
            })
            .collect();
        let epoch = self.epoch;
        if let Some(p) = self.membership.peers.get_mut(&peer) {
            p.vector_sent = Some((epoch, now_ms));
        }
        out.push(Effect::Send {
            peer,
            message: Message::Vector {
                topology_version: self.topology.version,
                heads,
            },
        });
    }

    pub(super) fn tick(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let before = self.catchup.pulls.len();
        self.catchup
            .pulls
            .retain(|_, p| now_ms < p.sent_ms + limits::SYNC_PULL_TIMEOUT_MS);
        self.counters.pulls_timed_out += (before - self.catchup.pulls.len()) as u64;
        // Vectors: when there is news (at most every interval), and a refresh now and then in any case.
        let epoch = self.epoch;
        let due: Vec<Author> = self
            .membership
            .peers
            .iter()
            .filter(|(_, p)| p.connected)
            .filter(|(_, p)| match p.vector_sent {
                None => true,
                Some((sent_epoch, at)) => {
                    (sent_epoch != epoch && now_ms >= at + limits::SYNC_VECTOR_INTERVAL_MS)
                        || now_ms >= at + limits::SYNC_VECTOR_REFRESH_MS
                }
            })
            .map(|(k, _)| *k)
            .collect();
        for peer in due {
            self.send_vector(peer, now_ms, out);
        }
        self.plan_pulls(now_ms, out);
        self.start_checks(out);
        // Dial neighbours that are not connected, backing off (doubling, capped) while they stay away.
        let me = self.me_node().clone();
        let mut dials = Vec::new();
        for n in neighbours(&self.topology, &me) {
            let Some(key) = n.key.map(Author) else {
                continue;
            };
            let p = self.membership.peers.entry(key).or_default();
            if p.connected || now_ms < p.next_dial_ms {
                continue;
            }
            p.dial_backoff_ms = (p.dial_backoff_ms * 2).clamp(
                limits::SYNC_DIAL_BACKOFF_MIN_MS,
                limits::SYNC_DIAL_BACKOFF_MAX_MS,
            );
            p.next_dial_ms = now_ms + p.dial_backoff_ms;
            dials.push(Effect::Dial {
                peer: key,
                host: n.host,
                port: n.p2p_port,
            });
        }
        out.extend(dials);
    }

    pub(super) fn topology_offered(&mut self, signed: Vec<u8>, now_ms: u64, out: &mut Vec<Effect>) {
        self.membership.topology_asked_ms = None;
        // Old news, or a topology without this node, is not taken: this node keeps its last one (and is refused
        // by peers that take the new one).
        let running = Some(self.topology.version);
        let Ok(topology) = Topology::take_signed(&signed, &self.root, &self.me.0, None, running)
        else {
            self.counters.topologies_refused += 1;
            return;
        };
        let members = members_of(&topology);
        self.topology = topology;
        self.members = members;
        self.signed_topology = signed.clone();
        self.counters.topologies_installed += 1;
        out.push(Effect::InstallTopology {
            signed,
            version: self.topology.version,
            members: self.members(),
        });
        let gone: Vec<Author> = self
            .membership
            .peers
            .iter()
            .filter(|(k, p)| p.connected && !self.members.contains_key(k))
            .map(|(k, _)| *k)
            .collect();
        for peer in gone {
            self.membership.peers.remove(&peer);
            self.catchup.pulls.retain(|_, p| p.peer != peer);
            out.push(Effect::Disconnect {
                peer,
                reason: "no longer a member of the newest topology".into(),
            });
        }
        self.membership
            .peers
            .retain(|k, _| self.members.contains_key(k));
        // Tell everyone: the new version in our vector makes them ask for it.
        for peer in self.connected_peers() {
            self.send_vector(peer, now_ms, out);
        }
    }

    /// The peers connected now.
    pub(super) fn connected_peers(&self) -> Vec<Author> {
        self.membership
            .peers
            .iter()
            .filter(|(_, p)| p.connected)
            .map(|(k, _)| *k)
            .collect()
    }
}
