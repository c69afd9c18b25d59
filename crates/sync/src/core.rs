//! The sync state machine: `handle(input, now) -> effects`, with no IO, clock or randomness inside.

use std::collections::{BTreeMap, BTreeSet};

use hifazat_limits as limits;
use hifazat_log::{
    Author, Entry, Evidence, Hash, LogId, VerifiedEntry, Verifier, checkpoint_origin, evidence_id,
};
use hifazat_note::{Checkpoint, Note, VerifierKey};
use hifazat_topology::{Node, Role, Topology};

use crate::entitle::{ScopeKind, may_hold, neighbours, witness_of};
use crate::message::{LogHead, Message};

/// The gossip topic every member subscribes to: new entries of `alerts` logs.
pub const ALERTS_TOPIC: &str = "hifazat/alerts/1";

/// A gossip message's id, given by the gossip layer (a hash of its content).
pub type GossipId = Hash;

/// Names one [`Effect::Apply`] so its [`Input::Applied`] finds its way back.
pub type Ticket = u64;

/// What happens to a node, from the outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A connection to `peer` is up (its key proven by the transport's handshake).
    Connected { peer: Author },
    /// The last connection to `peer` is gone.
    Disconnected { peer: Author },
    /// The transport refused a connection whose other end proved a key that is not a member of the newest
    /// topology (`None`: a key that is not an ed25519 key at all). Counted in `peers_refused`.
    Refused { peer: Option<Author> },
    /// A sync message from a connected peer.
    Message { peer: Author, message: Message },
    /// One entry published on the alerts topic, as the gossip layer received it from `from`. It waits for a
    /// [`Effect::Verdict`] before the gossip layer forwards it.
    Gossip {
        from: Author,
        id: GossipId,
        entry: Vec<u8>,
    },
    /// This node's own new entries, now durable: announce them.
    Written { entries: Vec<Vec<u8>> },
    /// The result of an [`Effect::Apply`]: one outcome per entry, in order. Stored entries are applied (another
    /// node's entries need not be flushed yet: they are fetched again if a crash loses them).
    Applied {
        ticket: Ticket,
        outcomes: Vec<Outcome>,
    },
    /// Time passes: periodic vectors, pull timeouts, dials.
    Tick,
    /// The store durably holds these heads (for a driver that missed announcements and re-read them).
    Stored { heads: Vec<LogHead> },
    /// An operator offers a signed topology here (it is taken if it is valid and newer, and then spreads).
    Topology { signed: Vec<u8> },
    /// This node signed a checkpoint of one of its own logs, and keeps it durably: offer it.
    Signed { log: Hash, note: Vec<u8> },
    /// The answer to an [`Effect::Check`].
    Checked {
        peer: Author,
        log: Hash,
        size: u64,
        result: CheckResult,
    },
    /// This node durably holds this evidence of a fork (found here, or kept for an [`Effect::KeepEvidence`]):
    /// pass it on. `from` is the peer it came from, if it came from one.
    Evidence {
        first: Vec<u8>,
        second: Vec<u8>,
        from: Option<Author>,
    },
}

/// What a node's own copy of a log said of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    /// The roots agree. The node keeps this note durably as the log's newest checkpoint (with its own
    /// cosignature when it was asked to cosign).
    Kept { note: Vec<u8> },
    /// The node holds fewer entries than the checkpoint covers (it waits for them).
    Short,
    /// The roots differ: the author signed a tree that is not the log this node holds.
    Differs,
    /// The node already keeps a checkpoint at least as new (nothing changed).
    Stale,
}

/// What the node's store and replicas made of one entry handed to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Verified, stored durably and applied; the log's head is now this.
    Stored(LogHead),
    /// Already held.
    Duplicate,
    /// Entries before it are missing.
    Gap,
    /// Another entry is held at its place, or it follows another entry than the one held before it: the author
    /// forked the log. Both entries are kept as evidence (and reported with [`Input::Evidence`]).
    Conflict,
    /// Refused: does not decode, bad signature, breaks its chain.
    Invalid(String),
}

/// What the node must do for the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Connect to a member (address from the topology).
    Dial {
        peer: Author,
        host: std::net::IpAddr,
        port: u16,
    },
    /// Close every connection to `peer`.
    Disconnect {
        peer: Author,
        reason: String,
    },
    Send {
        peer: Author,
        message: Message,
    },
    /// Publish one of our own entries on a gossip topic.
    Publish {
        topic: &'static str,
        entry: Vec<u8>,
    },
    /// Tell the gossip layer whether to forward a message.
    Verdict {
        id: GossipId,
        verdict: Verdict,
    },
    /// Verify, store and apply these entries, then answer with [`Input::Applied`].
    Apply {
        ticket: Ticket,
        entries: Vec<Vec<u8>>,
    },
    /// Store and apply this entry, already verified here and passed on by gossip, then answer with
    /// [`Input::Applied`]. Entries of one log come in order: the driver keeps that order on the way to the store.
    Relay {
        ticket: Ticket,
        entry: VerifiedEntry,
    },
    /// Send `peer` a [`Message::Entries`] with this log's entries after `after`, up to `up_to` (durable, so at
    /// most our head), within [`limits::SYNC_PULL_BYTES_MAX`].
    Serve {
        peer: Author,
        log: Hash,
        after: u64,
        up_to: u64,
    },
    /// A newer signed topology verified: persist it. The members allowed to connect are now `members`.
    InstallTopology {
        signed: Vec<u8>,
        version: u64,
        members: Vec<Author>,
    },
    /// Check a checkpoint of `log` (its author's signature verified; it covers `size` entries, and this node
    /// holds at least that many) against this node's own copy of the log: compute the root of the first `size`
    /// entries and compare. With `cosign`, this node is the author's witness: if the roots agree, add this node's
    /// cosignature and keep the cosigned note durably before answering, so nothing is vouched for that a crash
    /// could make the witness forget. Without it, keep the note as it is if the roots agree. Answer with
    /// [`Input::Checked`].
    Check {
        peer: Author,
        log: Hash,
        size: u64,
        note: Vec<u8>,
        cosign: bool,
    },
    /// Keep this evidence of a fork (verified: two entries its author signed that cannot both be true) durably,
    /// then answer with [`Input::Evidence`].
    KeepEvidence {
        first: Vec<u8>,
        second: Vec<u8>,
        from: Author,
    },
}

/// The gossip layer's three answers (as libp2p gossipsub names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and new: forward it.
    Accept,
    /// Not forwarded, no penalty: a duplicate, or its dependencies are missing (catch-up will fetch them).
    Ignore,
    /// Invalid: not forwarded, and the sender is penalised.
    Reject,
}

/// Everything the state machine starts from.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node's key.
    pub me: Author,
    /// The federal root's verifier key: the only signer of topologies.
    pub root: VerifierKey,
    /// The installed signed topology.
    pub signed_topology: Vec<u8>,
    /// The heads of every log the store holds (at start, all durable).
    pub heads: Vec<LogHead>,
    /// The newest checkpoint the store keeps of each log: (log, signed note).
    pub checkpoints: Vec<(Hash, Vec<u8>)>,
    /// The evidence of forks the store keeps: pairs of entries.
    pub evidence: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the installed topology: {0}")]
    Topology(#[from] hifazat_topology::TopologyError),
    #[error("this node's key {0} is not in the installed topology")]
    NotMember(Author),
}

/// Counters, for metrics and the simulator's checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Connections refused because the other end is not a member of the newest topology (or is this node's own
    /// key): refused by the transport as soon as the handshake proves who it is, or by this machine.
    pub peers_refused: u64,
    pub messages_refused: u64,
    pub entries_refused: u64,
    pub gossip_accepted: u64,
    pub gossip_ignored: u64,
    pub gossip_rejected: u64,
    pub pulls_sent: u64,
    pub pulls_timed_out: u64,
    pub entries_stored: u64,
    pub topologies_installed: u64,
    pub topologies_refused: u64,
    /// Checkpoints refused: a bad signature, another log's, one this node may not hold.
    pub checkpoints_refused: u64,
    /// Checkpoints this node checked against its own copy and kept (cosigned, when it is the witness).
    pub checkpoints_kept: u64,
    /// Checkpoints whose root is not that of the log this node holds.
    pub checkpoints_differing: u64,
    /// Evidence of forks that this node holds, found here or received.
    pub evidence_held: u64,
    /// Evidence refused (not two conflicting entries signed by the author, or a log this node may not hold).
    pub evidence_refused: u64,
}

/// A peer as `/api/v1/peers` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    pub key: Author,
    pub name: String,
    pub role: Role,
    pub neighbour: bool,
    pub connected: bool,
    /// The topology version it last announced.
    pub topology_version: Option<u64>,
    /// Entries it announced that this node does not hold yet, over the logs both may hold.
    pub entries_behind: u64,
    /// Entries this node holds that it has not announced, over the logs both may hold.
    pub entries_ahead: u64,
    /// When its last vector arrived (the caller's clock, milliseconds).
    pub last_vector_ms: Option<u64>,
    /// Pulls in flight to it.
    pub pulls: usize,
}

#[derive(Debug, Default)]
struct Peer {
    connected: bool,
    /// Its last vector: log -> (seq, hash). Only logs both may hold are kept.
    vector: BTreeMap<Hash, (u64, Hash)>,
    topology_version: Option<u64>,
    last_vector_ms: Option<u64>,
    /// `epoch` when we last sent it our vector, and when.
    vector_sent: Option<(u64, u64)>,
    next_dial_ms: u64,
    dial_backoff_ms: u64,
}

#[derive(Debug)]
struct Pull {
    peer: Author,
    sent_ms: u64,
}

#[derive(Debug)]
enum Origin {
    Gossip {
        id: GossipId,
        from: Author,
    },
    /// A gossiped entry that was next in its log: verified, given its verdict and passed on before it was applied.
    Relayed {
        log: Hash,
        seq: u64,
        from: Author,
    },
    Pull {
        log: Hash,
    },
    Push {
        peer: Author,
        entries: Vec<Vec<u8>>,
    },
}

#[derive(Debug)]
struct Held {
    log: LogId,
    seq: u64,
    hash: Hash,
}

/// The newest checkpoint this node keeps of a log.
#[derive(Debug)]
struct KeptCheckpoint {
    size: u64,
    /// Cosigned by the author's witness (or the author has none): fit to pass on to anyone who may hold the log.
    settled: bool,
    note: Vec<u8>,
}

/// A checkpoint to check once this node holds as many entries as it covers.
#[derive(Debug)]
struct WaitingCheckpoint {
    peer: Author,
    size: u64,
    note: Vec<u8>,
    cosign: bool,
}

/// A piece of evidence this node holds, and the peers known to hold it too.
#[derive(Debug)]
struct HeldEvidence {
    log: LogId,
    first: Vec<u8>,
    second: Vec<u8>,
    known: BTreeSet<Author>,
}

/// One node's sync state.
#[derive(Debug)]
pub struct Sync {
    me: Author,
    root: VerifierKey,
    topology: Topology,
    signed_topology: Vec<u8>,
    /// Members by key: index into `topology.nodes`.
    members: BTreeMap<Author, usize>,
    heads: BTreeMap<Hash, Held>,
    /// Raised whenever a head moves, so vectors are sent only when there is news (or to refresh).
    epoch: u64,
    peers: BTreeMap<Author, Peer>,
    pulls: BTreeMap<Hash, Pull>,
    applying: BTreeMap<Ticket, Origin>,
    next_ticket: Ticket,
    topology_asked_ms: Option<u64>,
    counters: Counters,
    checkpoints: BTreeMap<Hash, KeptCheckpoint>,
    waiting: BTreeMap<Hash, WaitingCheckpoint>,
    /// Logs with a check under way.
    checking: BTreeSet<Hash>,
    evidence: BTreeMap<Hash, HeldEvidence>,
    /// Logs with evidence against them: frozen here at what this node holds (no more pulls, no checkpoints).
    forked: BTreeSet<Hash>,
    /// Per log, the newest gossiped entry passed on before it was applied (seq, hash): the next one follows it.
    relaying: BTreeMap<Hash, (u64, Hash)>,
    verifier: Verifier,
}

fn members_of(topology: &Topology) -> BTreeMap<Author, usize> {
    topology
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.key.map(|k| (Author(k), i)))
        .collect()
}

impl Sync {
    pub fn new(config: Config) -> Result<Sync, StartError> {
        let topology = Topology::open_signed(&config.signed_topology, &config.root)?;
        let members = members_of(&topology);
        if !members.contains_key(&config.me) {
            return Err(StartError::NotMember(config.me));
        }
        let heads = config
            .heads
            .into_iter()
            .map(|h| {
                (
                    h.log.digest(),
                    Held {
                        log: h.log,
                        seq: h.seq,
                        hash: h.hash,
                    },
                )
            })
            .collect();
        let mut sync = Sync {
            me: config.me,
            root: config.root,
            topology,
            signed_topology: config.signed_topology,
            members,
            heads,
            epoch: 0,
            peers: BTreeMap::new(),
            pulls: BTreeMap::new(),
            applying: BTreeMap::new(),
            next_ticket: 1,
            topology_asked_ms: None,
            counters: Counters::default(),
            checkpoints: BTreeMap::new(),
            waiting: BTreeMap::new(),
            checking: BTreeSet::new(),
            evidence: BTreeMap::new(),
            forked: BTreeSet::new(),
            relaying: BTreeMap::new(),
            verifier: Verifier::new(),
        };
        for (log, note) in config.checkpoints {
            sync.keep_checkpoint(log, note);
        }
        for (first, second) in config.evidence {
            sync.hold_evidence(first, second, None);
        }
        Ok(sync)
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The keys allowed to connect: the members of the newest valid topology, this node excepted.
    pub fn members(&self) -> Vec<Author> {
        self.members
            .keys()
            .copied()
            .filter(|k| *k != self.me)
            .collect()
    }

    /// The member with this key, if it is one.
    pub fn member(&self, key: &Author) -> Option<&Node> {
        self.members.get(key).map(|&i| &self.topology.nodes[i])
    }

    fn me_node(&self) -> &Node {
        self.member(&self.me).expect("this node is a member")
    }

    /// Whether any pull or apply is under way.
    pub fn busy(&self) -> bool {
        !self.pulls.is_empty() || !self.applying.is_empty()
    }

    /// The peers: every neighbour, and any other member that is connected.
    pub fn peers(&self) -> Vec<PeerView> {
        let me = self.me_node();
        let neighbours: BTreeSet<Author> = neighbours(&self.topology, me)
            .iter()
            .filter_map(|n| n.key.map(Author))
            .collect();
        let mut keys: BTreeSet<Author> = neighbours.clone();
        keys.extend(self.connected_peers());
        keys.into_iter()
            .filter_map(|key| {
                let node = self.member(&key)?;
                let peer = self.peers.get(&key);
                let (mut behind, mut ahead) = (0u64, 0u64);
                if let Some(p) = peer.filter(|p| p.last_vector_ms.is_some()) {
                    for (log, (seq, _)) in &p.vector {
                        let ours = self.heads.get(log).map_or(0, |h| h.seq);
                        behind += seq.saturating_sub(ours);
                    }
                    for (log, held) in &self.heads {
                        if may_hold(&self.topology, node, &held.log.scope) {
                            let theirs = p.vector.get(log).map_or(0, |v| v.0);
                            ahead += held.seq.saturating_sub(theirs);
                        }
                    }
                }
                Some(PeerView {
                    key,
                    name: node.name.clone(),
                    role: node.role,
                    neighbour: neighbours.contains(&key),
                    connected: peer.is_some_and(|p| p.connected),
                    topology_version: peer.and_then(|p| p.topology_version),
                    entries_behind: behind,
                    entries_ahead: ahead,
                    last_vector_ms: peer.and_then(|p| p.last_vector_ms),
                    pulls: self.pulls.values().filter(|p| p.peer == key).count(),
                })
            })
            .collect()
    }

    /// Handles one input at time `now_ms` (milliseconds on the caller's clock) and says what to do.
    pub fn handle(&mut self, input: Input, now_ms: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        match input {
            Input::Connected { peer } => self.connected(peer, now_ms, &mut out),
            Input::Refused { .. } => self.counters.peers_refused += 1,
            Input::Disconnected { peer } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.connected = false;
                    p.vector.clear();
                    p.vector_sent = None;
                    p.next_dial_ms = now_ms + limits::SYNC_DIAL_BACKOFF_MIN_MS;
                }
                self.pulls.retain(|_, pull| pull.peer != peer);
                self.plan_pulls(now_ms, &mut out);
            }
            Input::Message { peer, message } => {
                if self.peers.get(&peer).is_some_and(|p| p.connected) {
                    self.message(peer, message, now_ms, &mut out);
                } else {
                    self.counters.messages_refused += 1;
                }
            }
            Input::Gossip { from, id, entry } => self.gossip(from, id, entry, &mut out),
            Input::Written { entries } => self.written(entries, &mut out),
            Input::Applied { ticket, outcomes } => self.applied(ticket, outcomes, now_ms, &mut out),
            Input::Tick => self.tick(now_ms, &mut out),
            Input::Stored { heads } => {
                for h in heads {
                    self.advance(&h.log, h.seq, h.hash);
                }
            }
            Input::Topology { signed } => self.topology_offered(signed, now_ms, &mut out),
            Input::Signed { log, note } => {
                if self.keep_checkpoint(log, note) {
                    self.offer_checkpoint(log, None, &mut out);
                }
            }
            Input::Checked {
                peer,
                log,
                size,
                result,
            } => self.checked(peer, log, size, result, now_ms, &mut out),
            Input::Evidence {
                first,
                second,
                from,
            } => {
                if let Some(id) = self.hold_evidence(first, second, from) {
                    self.offer_evidence(id, &mut out);
                }
            }
        }
        out
    }

    fn connected(&mut self, peer: Author, now_ms: u64, out: &mut Vec<Effect>) {
        if peer == self.me || !self.members.contains_key(&peer) {
            self.counters.peers_refused += 1;
            out.push(Effect::Disconnect {
                peer,
                reason: "not a member of the newest topology".into(),
            });
            return;
        }
        let p = self.peers.entry(peer).or_default();
        p.connected = true;
        p.dial_backoff_ms = 0;
        p.vector_sent = None;
        self.send_vector(peer, now_ms, out);
        // What it may not have heard while apart: checkpoints and evidence.
        let logs: Vec<Hash> = self.checkpoints.keys().copied().collect();
        for log in logs {
            self.send_checkpoint(peer, log, out);
        }
        let ids: Vec<Hash> = self.evidence.keys().copied().collect();
        for id in ids {
            self.send_evidence(peer, id, out);
        }
    }

    /// Sends `peer` our vector: the heads of the logs it may hold.
    fn send_vector(&mut self, peer: Author, now_ms: u64, out: &mut Vec<Effect>) {
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
        if let Some(p) = self.peers.get_mut(&peer) {
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

    fn message(&mut self, peer: Author, message: Message, now_ms: u64, out: &mut Vec<Effect>) {
        let Some(node) = self.member(&peer).cloned() else {
            self.counters.messages_refused += 1;
            return;
        };
        match message {
            Message::Vector {
                topology_version,
                heads,
            } => {
                let mut vector = BTreeMap::new();
                for h in heads {
                    // Only logs both may hold count; anything else in a vector is a peer's mistake.
                    if may_hold(&self.topology, &node, &h.log.scope)
                        && may_hold(&self.topology, self.me_node(), &h.log.scope)
                        && self.writer_ok(&h.log)
                    {
                        vector.insert(h.log.digest(), (h.seq, h.hash));
                        // Remember logs we have never seen, so a pull can name them.
                        self.heads.entry(h.log.digest()).or_insert(Held {
                            log: h.log,
                            seq: 0,
                            hash: Hash::ZERO,
                        });
                    } else {
                        self.counters.entries_refused += 1;
                    }
                }
                // The same position with another hash: the author forked the log. Fetch the peer's entry there;
                // storing it finds the conflict and keeps both as evidence.
                for (log, (seq, hash)) in &vector {
                    if let Some(held) = self.heads.get(log)
                        && held.seq == *seq
                        && *seq > 0
                        && held.hash != *hash
                        && !self.forked.contains(log)
                        && !self.pulls.contains_key(log)
                        && self.pulls.len() < limits::SYNC_PULLS_MAX
                    {
                        self.pull(peer, *log, *seq - 1, 1, now_ms, out);
                    }
                }
                let p = self.peers.entry(peer).or_default();
                p.vector = vector;
                p.topology_version = Some(topology_version);
                p.last_vector_ms = Some(now_ms);
                if topology_version > self.topology.version
                    && self
                        .topology_asked_ms
                        .is_none_or(|t| now_ms >= t + limits::SYNC_PULL_TIMEOUT_MS)
                {
                    self.topology_asked_ms = Some(now_ms);
                    out.push(Effect::Send {
                        peer,
                        message: Message::TopologyRequest,
                    });
                }
                self.plan_pulls(now_ms, out);
            }
            Message::Pull { log, after, max } => {
                let Some(held) = self.heads.get(&log) else {
                    return self.refuse_message();
                };
                if !may_hold(&self.topology, &node, &held.log.scope) {
                    return self.refuse_message();
                }
                let max = u64::from(max).clamp(1, limits::SYNC_PULL_ENTRIES_MAX as u64);
                let up_to = held.seq.min(after.saturating_add(max));
                if up_to > after {
                    out.push(Effect::Serve {
                        peer,
                        log,
                        after,
                        up_to,
                    });
                } else {
                    out.push(Effect::Send {
                        peer,
                        message: Message::Entries {
                            log,
                            entries: Vec::new(),
                        },
                    });
                }
            }
            Message::Entries { log, entries } => self.entries(peer, &node, log, entries, out),
            Message::TopologyRequest => out.push(Effect::Send {
                peer,
                message: Message::Topology {
                    signed: self.signed_topology.clone(),
                },
            }),
            Message::Topology { signed } => self.topology_offered(signed, now_ms, out),
            Message::Checkpoint { log, note } => {
                self.checkpoint_offered(peer, &node, log, note, out)
            }
            Message::Evidence { first, second } => {
                self.evidence_offered(peer, &node, first, second, out)
            }
        }
    }

    fn refuse_message(&mut self) {
        self.counters.messages_refused += 1;
    }

    /// Whether the log's author is a member that may write it.
    fn writer_ok(&self, log: &LogId) -> bool {
        self.member(&log.author)
            .is_some_and(|n| may_hold(&self.topology, n, &log.scope))
    }

    /// Whether an entry of `log` may come here at all: we may hold it and its author may write it.
    fn acceptable(&self, log: &LogId) -> bool {
        may_hold(&self.topology, self.me_node(), &log.scope) && self.writer_ok(log)
    }

    fn entries(
        &mut self,
        peer: Author,
        node: &Node,
        log: Hash,
        entries: Vec<Vec<u8>>,
        out: &mut Vec<Effect>,
    ) {
        let is_pull = self.pulls.get(&log).is_some_and(|p| p.peer == peer);
        let mut keep = Vec::with_capacity(entries.len());
        for bytes in entries {
            let ok = match Entry::decode(&bytes) {
                Ok(e) => {
                    e.content.log.digest() == log
                        && self.acceptable(&e.content.log)
                        && may_hold(&self.topology, node, &e.content.log.scope)
                }
                Err(_) => false,
            };
            if ok {
                keep.push(bytes);
            } else {
                self.counters.entries_refused += 1;
            }
        }
        if keep.is_empty() {
            if is_pull {
                self.pulls.remove(&log);
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
        if !is_pull && self.applying.len() >= limits::SYNC_APPLYING_MAX {
            // Shed pushes under load; the periodic vectors bring what was dropped.
            return;
        }
        self.apply(origin, keep, out);
    }

    fn apply(&mut self, origin: Origin, entries: Vec<Vec<u8>>, out: &mut Vec<Effect>) {
        let ticket = self.ticket(origin);
        out.push(Effect::Apply { ticket, entries });
    }

    /// A ticket for entries on their way to the store, remembering where they came from.
    fn ticket(&mut self, origin: Origin) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.applying.insert(ticket, origin);
        ticket
    }

    fn gossip(&mut self, from: Author, id: GossipId, entry: Vec<u8>, out: &mut Vec<Effect>) {
        let verdict = |v| Effect::Verdict { id, verdict: v };
        if !self.peers.get(&from).is_some_and(|p| p.connected) {
            self.counters.gossip_rejected += 1;
            return out.push(verdict(Verdict::Reject));
        }
        let decoded = match Entry::decode(&entry) {
            Ok(e)
                if ScopeKind::of(&e.content.log.scope) == ScopeKind::Alerts
                    && self.acceptable(&e.content.log) =>
            {
                e
            }
            _ => {
                self.counters.gossip_rejected += 1;
                return out.push(verdict(Verdict::Reject));
            }
        };
        if self.applying.len() >= limits::SYNC_APPLYING_MAX {
            self.counters.gossip_ignored += 1;
            return out.push(verdict(Verdict::Ignore));
        }
        let log = decoded.content.log.digest();
        if !self.follows(log, &decoded) {
            // A duplicate, a gap or a fork: the store judges it, and the verdict follows its outcome.
            return self.apply(Origin::Gossip { id, from }, vec![entry], out);
        }
        // The next entry of its log: passed on as soon as its signature holds, then stored and applied.
        match self.verifier.verify(decoded) {
            Ok(verified) => {
                self.counters.gossip_accepted += 1;
                out.push(verdict(Verdict::Accept));
                let (seq, hash) = (verified.content.seq, verified.hash());
                self.relaying.insert(log, (seq, hash));
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
    fn follows(&self, log: Hash, entry: &Entry) -> bool {
        let (seq, hash) = self
            .relaying
            .get(&log)
            .copied()
            .or_else(|| self.heads.get(&log).map(|h| (h.seq, h.hash)))
            .unwrap_or((0, Hash::ZERO));
        !self.forked.contains(&log) && entry.content.seq == seq + 1 && entry.content.prev == hash
    }

    fn written(&mut self, entries: Vec<Vec<u8>>, out: &mut Vec<Effect>) {
        // Entries of one log go out together, in order.
        let mut by_log: BTreeMap<Hash, Vec<Vec<u8>>> = BTreeMap::new();
        for bytes in entries {
            let Ok(e) = Entry::decode(&bytes) else {
                continue;
            };
            assert_eq!(
                e.content.log.author, self.me,
                "Written carries only our own entries"
            );
            self.advance(&e.content.log, e.content.seq, e.hash());
            match ScopeKind::of(&e.content.log.scope) {
                ScopeKind::Alerts => out.push(Effect::Publish {
                    topic: ALERTS_TOPIC,
                    entry: bytes,
                }),
                // Cases and sealed register notifications go along their line.
                ScopeKind::Cases(_) | ScopeKind::Notices(_) => by_log
                    .entry(e.content.log.digest())
                    .or_default()
                    .push(bytes),
                // The register never leaves this node; other scopes go nowhere.
                ScopeKind::Register | ScopeKind::Unknown => {}
            }
        }
        for (log, entries) in by_log {
            self.push(log, &entries, None, out);
        }
    }

    /// Pushes a case log's new entries to every connected peer that may hold it, but `except`.
    fn push(&self, log: Hash, entries: &[Vec<u8>], except: Option<Author>, out: &mut Vec<Effect>) {
        let Some(held) = self.heads.get(&log) else {
            return;
        };
        for (key, p) in &self.peers {
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

    fn advance(&mut self, log: &LogId, seq: u64, hash: Hash) {
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

    fn applied(
        &mut self,
        ticket: Ticket,
        outcomes: Vec<Outcome>,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) {
        let Some(origin) = self.applying.remove(&ticket) else {
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
                    self.send_vector(from, now_ms, out);
                }
            }
            Origin::Relayed { log, seq, from } => {
                let stored = matches!(outcomes.first(), Some(Outcome::Stored(_)));
                // Once the newest relayed entry is applied, or any of them was not stored, the next gossiped
                // entry must follow what the store holds.
                if !stored || self.relaying.get(&log).is_some_and(|(s, _)| *s <= seq) {
                    self.relaying.remove(&log);
                }
                if outcomes.contains(&Outcome::Gap) {
                    self.send_vector(from, now_ms, out);
                }
            }
            Origin::Pull { log } => {
                self.pulls.remove(&log);
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
                    self.send_vector(peer, now_ms, out);
                }
            }
        }
        self.plan_pulls(now_ms, out);
    }

    /// Starts pulls for logs some connected peer holds further than we do, one pull per log at a time, from the
    /// peer that holds most of it.
    fn plan_pulls(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let mut best: BTreeMap<Hash, (u64, Author)> = BTreeMap::new();
        for (key, p) in &self.peers {
            if !p.connected {
                continue;
            }
            for (log, (seq, _)) in &p.vector {
                let ours = self.heads.get(log).map_or(0, |h| h.seq);
                if *seq > ours
                    && !self.forked.contains(log)
                    && best.get(log).is_none_or(|(s, _)| seq > s)
                {
                    best.insert(*log, (*seq, *key));
                }
            }
        }
        for (log, (_, peer)) in best {
            if self.pulls.len() >= limits::SYNC_PULLS_MAX {
                break;
            }
            if self.pulls.contains_key(&log) {
                continue;
            }
            let after = self.heads.get(&log).map_or(0, |h| h.seq);
            let max = limits::SYNC_PULL_ENTRIES_MAX as u32;
            self.pull(peer, log, after, max, now_ms, out);
        }
    }

    fn tick(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let before = self.pulls.len();
        self.pulls
            .retain(|_, p| now_ms < p.sent_ms + limits::SYNC_PULL_TIMEOUT_MS);
        self.counters.pulls_timed_out += (before - self.pulls.len()) as u64;
        // Vectors: when there is news (at most every interval), and a refresh now and then in any case.
        let epoch = self.epoch;
        let due: Vec<Author> = self
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
            let p = self.peers.entry(key).or_default();
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

    fn topology_offered(&mut self, signed: Vec<u8>, now_ms: u64, out: &mut Vec<Effect>) {
        self.topology_asked_ms = None;
        let topology = match Topology::open_signed(&signed, &self.root) {
            Ok(t) => t,
            Err(_) => {
                self.counters.topologies_refused += 1;
                return;
            }
        };
        let members = members_of(&topology);
        if topology.version <= self.topology.version || !members.contains_key(&self.me) {
            // Old news, or a topology without this node (this node keeps its last one and is refused by peers
            // that take the new one).
            self.counters.topologies_refused += 1;
            return;
        }
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
            .peers
            .iter()
            .filter(|(k, p)| p.connected && !self.members.contains_key(k))
            .map(|(k, _)| *k)
            .collect();
        for peer in gone {
            self.peers.remove(&peer);
            self.pulls.retain(|_, p| p.peer != peer);
            out.push(Effect::Disconnect {
                peer,
                reason: "no longer a member of the newest topology".into(),
            });
        }
        self.peers.retain(|k, _| self.members.contains_key(k));
        // Tell everyone: the new version in our vector makes them ask for it.
        for peer in self.connected_peers() {
            self.send_vector(peer, now_ms, out);
        }
    }

    /// Asks `peer` for up to `max` entries of `log` after `after` (the log's one pull in flight).
    fn pull(
        &mut self,
        peer: Author,
        log: Hash,
        after: u64,
        max: u32,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) {
        self.pulls.insert(
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

    /// Opens a checkpoint note of `log`: the author's signature verifies and it names the log. Returns it and
    /// whether it is settled (cosigned by the author's witness, or the author has none that may hold the log).
    fn open_checkpoint(&self, log: &LogId, note: &[u8]) -> Option<(Checkpoint, bool)> {
        let author = self.member(&log.author)?;
        let key = VerifierKey::new(&author.name, log.author).ok()?;
        let note = Note::parse(note).ok()?;
        let checkpoint = Checkpoint::open(&note, &key).ok()?;
        if checkpoint.origin != checkpoint_origin(&log.digest()) {
            return None;
        }
        let settled = match witness_of(&self.topology, author)
            .filter(|w| may_hold(&self.topology, w, &log.scope))
        {
            None => true,
            Some(w) => {
                let key = VerifierKey::new(&w.name, Author(w.key?)).ok()?;
                // A cosignature line by the witness that does not verify makes the whole note suspect.
                !note.cosignatures(&[key]).ok()?.is_empty()
            }
        };
        Some((checkpoint, settled))
    }

    /// Whether `key` is the witness of `author` (its parent in the topology).
    fn is_witness(&self, author: &Author, key: Author) -> bool {
        self.member(author)
            .and_then(|a| witness_of(&self.topology, a))
            .is_some_and(|w| w.key == Some(key.0))
    }

    /// Whether a checkpoint of `size` entries, settled or not, is news beside the one kept for `log`.
    fn newer_checkpoint(&self, log: &Hash, size: u64, settled: bool) -> bool {
        self.checkpoints
            .get(log)
            .is_none_or(|k| size > k.size || (size == k.size && settled && !k.settled))
    }

    /// Records a checkpoint kept durably (this node's own, or one it checked). Returns whether it was news.
    fn keep_checkpoint(&mut self, log: Hash, note: Vec<u8>) -> bool {
        let Some(held) = self.heads.get(&log) else {
            return false;
        };
        let Some((checkpoint, settled)) = self.open_checkpoint(&held.log.clone(), &note) else {
            return false;
        };
        if !self.newer_checkpoint(&log, checkpoint.size, settled) {
            return false;
        }
        self.checkpoints.insert(
            log,
            KeptCheckpoint {
                size: checkpoint.size,
                settled,
                note,
            },
        );
        true
    }

    /// Sends `peer` the checkpoint kept for `log`, if it may hold the log and should have it: a settled one goes
    /// to anyone who may hold the log; an unsettled one only to the author's witness.
    fn send_checkpoint(&self, peer: Author, log: Hash, out: &mut Vec<Effect>) {
        let (Some(kept), Some(held), Some(node)) = (
            self.checkpoints.get(&log),
            self.heads.get(&log),
            self.member(&peer),
        ) else {
            return;
        };
        if !may_hold(&self.topology, node, &held.log.scope) || self.forked.contains(&log) {
            return;
        }
        if kept.settled || self.is_witness(&held.log.author, peer) {
            out.push(Effect::Send {
                peer,
                message: Message::Checkpoint {
                    log,
                    note: kept.note.clone(),
                },
            });
        }
    }

    /// Offers the checkpoint kept for `log` to every connected peer but `except`.
    fn offer_checkpoint(&self, log: Hash, except: Option<Author>, out: &mut Vec<Effect>) {
        for peer in self.connected_peers() {
            if Some(peer) != except {
                self.send_checkpoint(peer, log, out);
            }
        }
    }

    /// The peers connected now.
    fn connected_peers(&self) -> Vec<Author> {
        self.peers
            .iter()
            .filter(|(_, p)| p.connected)
            .map(|(k, _)| *k)
            .collect()
    }

    fn checkpoint_offered(
        &mut self,
        peer: Author,
        node: &Node,
        log: Hash,
        note: Vec<u8>,
        out: &mut Vec<Effect>,
    ) {
        let Some(held) = self.heads.get(&log) else {
            self.counters.checkpoints_refused += 1;
            return;
        };
        let id = held.log.clone();
        if !self.acceptable(&id) || !may_hold(&self.topology, node, &id.scope) {
            self.counters.checkpoints_refused += 1;
            return;
        }
        // Every neighbour passes the same checkpoints on: old news is dropped before any signature is checked.
        let Some(size) = Checkpoint::read_unverified(&note).map(|c| c.size) else {
            self.counters.checkpoints_refused += 1;
            return;
        };
        if self.forked.contains(&log)
            || !self.newer_checkpoint(&log, size, true)
            || self.waiting.get(&log).is_some_and(|w| w.size >= size)
            || (!self.waiting.contains_key(&log)
                && self.waiting.len() >= limits::SYNC_CHECKPOINTS_PENDING_MAX)
        {
            return;
        }
        let Some((_, settled)) = self.open_checkpoint(&id, &note) else {
            self.counters.checkpoints_refused += 1;
            return;
        };
        let cosign = !settled && self.is_witness(&id.author, self.me);
        if !(settled || cosign) {
            return;
        }
        self.waiting.insert(
            log,
            WaitingCheckpoint {
                peer,
                size,
                note,
                cosign,
            },
        );
        self.start_checks(out);
    }

    /// Starts a check of each waiting checkpoint this node holds enough entries for (one per log at a time).
    fn start_checks(&mut self, out: &mut Vec<Effect>) {
        let ready: Vec<Hash> = self
            .waiting
            .iter()
            .filter(|(log, w)| {
                !self.checking.contains(*log)
                    && self.heads.get(*log).is_some_and(|h| h.seq >= w.size)
            })
            .map(|(log, _)| *log)
            .collect();
        for log in ready {
            let w = self.waiting.remove(&log).expect("listed");
            self.checking.insert(log);
            out.push(Effect::Check {
                peer: w.peer,
                log,
                size: w.size,
                note: w.note,
                cosign: w.cosign,
            });
        }
    }

    fn checked(
        &mut self,
        peer: Author,
        log: Hash,
        size: u64,
        result: CheckResult,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) {
        self.checking.remove(&log);
        match result {
            CheckResult::Kept { note } => {
                if self.keep_checkpoint(log, note) {
                    self.counters.checkpoints_kept += 1;
                    // A witness sends its cosignature back to the author too; anyone else passes the checkpoint
                    // on to all but the peer it came from.
                    let witnessed = self
                        .heads
                        .get(&log)
                        .is_some_and(|h| self.is_witness(&h.log.author, self.me));
                    self.offer_checkpoint(log, (!witnessed).then_some(peer), out);
                }
            }
            CheckResult::Differs => {
                // The peer vouched for (or wrote) the tree the checkpoint names, so it holds an entry at `size`
                // other than ours: fetch it, and storing it keeps both as evidence.
                self.counters.checkpoints_differing += 1;
                // (An empty tree has one root: a signed checkpoint of size 0 with another is only a bad note.)
                if size > 0
                    && !self.forked.contains(&log)
                    && !self.pulls.contains_key(&log)
                    && self.peers.get(&peer).is_some_and(|p| p.connected)
                {
                    self.pull(peer, log, size - 1, 1, now_ms, out);
                }
            }
            CheckResult::Short | CheckResult::Stale => {}
        }
        self.start_checks(out);
    }

    /// Records evidence this node holds durably. Returns its id when it is news.
    fn hold_evidence(
        &mut self,
        first: Vec<u8>,
        second: Vec<u8>,
        from: Option<Author>,
    ) -> Option<Hash> {
        let log = Entry::decode(&first).ok()?.content.log;
        let digest = log.digest();
        self.forked.insert(digest);
        self.waiting.remove(&digest);
        let id = evidence_id(&first, &second);
        if let Some(held) = self.evidence.get_mut(&id) {
            held.known.extend(from);
            return None;
        }
        self.counters.evidence_held += 1;
        if self.evidence.len() < limits::SYNC_EVIDENCE_MAX {
            self.evidence.insert(
                id,
                HeldEvidence {
                    log,
                    first,
                    second,
                    known: from.into_iter().collect(),
                },
            );
        }
        Some(id)
    }

    /// Sends `peer` a piece of evidence, if it may hold the log and is not known to hold the evidence.
    fn send_evidence(&mut self, peer: Author, id: Hash, out: &mut Vec<Effect>) {
        let Some(node) = self.member(&peer).cloned() else {
            return;
        };
        let Some(held) = self.evidence.get_mut(&id) else {
            return;
        };
        if held.known.contains(&peer) || !may_hold(&self.topology, &node, &held.log.scope) {
            return;
        }
        held.known.insert(peer);
        out.push(Effect::Send {
            peer,
            message: Message::Evidence {
                first: held.first.clone(),
                second: held.second.clone(),
            },
        });
    }

    /// Passes a piece of evidence on to every connected peer that may hold its log.
    fn offer_evidence(&mut self, id: Hash, out: &mut Vec<Effect>) {
        for peer in self.connected_peers() {
            self.send_evidence(peer, id, out);
        }
    }

    fn evidence_offered(
        &mut self,
        peer: Author,
        node: &Node,
        first: Vec<u8>,
        second: Vec<u8>,
        out: &mut Vec<Effect>,
    ) {
        let id = evidence_id(&first, &second);
        if let Some(held) = self.evidence.get_mut(&id) {
            held.known.insert(peer);
            return;
        }
        let ok = Evidence::verify(&first, &second).is_ok_and(|e| {
            self.acceptable(e.log()) && may_hold(&self.topology, node, &e.log().scope)
        });
        if !ok {
            self.counters.evidence_refused += 1;
            return;
        }
        out.push(Effect::KeepEvidence {
            first,
            second,
            from: peer,
        });
    }
}
