//! The sync state machine: `handle(input, now) -> effects`, with no IO, clock or randomness inside.

use std::collections::{BTreeMap, BTreeSet};

use hifazat_limits as limits;
use hifazat_log::{
    Author, Entry, Evidence, Hash, LogId, VerifiedEntry, Verifier, checkpoint_origin, evidence_id,
};
use hifazat_note::{Checkpoint, Note, VerifierKey};
use hifazat_topology::{Node, Role, Topology};

use crate::message::{LogHead, Message};
use hifazat_topology::{may_hold, neighbours, witness_of};

mod catchup;
mod checkpoints;
mod evidence;
mod gossip;
mod membership;

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
    /// Entries refused because their author's key was revoked before them (the topology's point for its log).
    pub entries_revoked: u64,
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
    counters: Counters,
    verifier: Verifier,
    /// Each sub-protocol's own state, beside the code that drives it.
    membership: membership::Membership,
    catchup: catchup::CatchUp,
    relay: gossip::Relay,
    witness: checkpoints::Witness,
    forks: evidence::Forks,
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
            counters: Counters::default(),
            membership: membership::Membership::default(),
            catchup: catchup::CatchUp::default(),
            relay: gossip::Relay::default(),
            witness: checkpoints::Witness::default(),
            forks: evidence::Forks::default(),
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

    /// Checks what must hold between any two inputs, whatever the peers sent: pulls in flight within their
    /// limit and each to a connected peer; applies under way within theirs (gossip's limit, and pulls') and each
    /// under a ticket already given; checkpoints waiting within their limit; every check under way on a log this
    /// node holds; every head kept under its log's digest. Run after every input in debug builds, and by the
    /// simulator after every input in any build.
    pub fn check(&self) -> Result<(), String> {
        self.membership.check()?;
        self.catchup.check()?;
        self.witness.check()?;
        self.forks.check()?;
        // Across sub-protocols: a pull goes to a connected peer; a check is of a log this node holds.
        if let Some((log, pull)) = self.catchup.pulls.iter().find(|(_, p)| {
            !self
                .membership
                .peers
                .get(&p.peer)
                .is_some_and(|peer| peer.connected)
        }) {
            return Err(format!("a pull of {log} to {} is not connected", pull.peer));
        }
        if let Some(log) = self
            .witness
            .checking
            .iter()
            .find(|log| !self.heads.contains_key(*log))
        {
            return Err(format!("a check of {log}, which this node does not hold"));
        }
        if let Some((key, held)) = self.heads.iter().find(|(k, h)| **k != h.log.digest()) {
            return Err(format!(
                "the head of {} is kept under {key}",
                held.log.digest()
            ));
        }
        Ok(())
    }

    /// Whether any pull or apply is under way.
    pub fn busy(&self) -> bool {
        !self.catchup.pulls.is_empty() || !self.catchup.applying.is_empty()
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
                let peer = self.membership.peers.get(&key);
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
                    pulls: self
                        .catchup
                        .pulls
                        .values()
                        .filter(|p| p.peer == key)
                        .count(),
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
                if let Some(p) = self.membership.peers.get_mut(&peer) {
                    p.connected = false;
                    p.vector.clear();
                    p.vector_sent = None;
                    p.next_dial_ms = now_ms + limits::SYNC_DIAL_BACKOFF_MIN_MS;
                }
                self.catchup.pulls.retain(|_, pull| pull.peer != peer);
                self.plan_pulls(now_ms, &mut out);
            }
            Input::Message { peer, message } => {
                if self
                    .membership
                    .peers
                    .get(&peer)
                    .is_some_and(|p| p.connected)
                {
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
        #[cfg(debug_assertions)]
        if let Err(broken) = self.check() {
            panic!("sync state broken after an input: {broken}");
        }
        out
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
                let mut capped = BTreeSet::new();
                for h in heads {
                    // Only logs both may hold count; anything else in a vector is a peer's mistake.
                    if may_hold(&self.topology, &node, &h.log.scope)
                        && may_hold(&self.topology, self.me_node(), &h.log.scope)
                        && self.writer_ok(&h.log)
                    {
                        // A revoked key's log counts up to its point only: what follows is never pulled.
                        let up_to = self.valid_up_to(&h.log);
                        let digest = h.log.digest();
                        let (seq, hash) = if h.seq > up_to {
                            capped.insert(digest);
                            let held = self.heads.get(&digest).filter(|held| held.seq == up_to);
                            (up_to, held.map_or(Hash::ZERO, |held| held.hash))
                        } else {
                            (h.seq, h.hash)
                        };
                        vector.insert(digest, (seq, hash));
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
                        && !capped.contains(log)
                        && held.hash != *hash
                        && !self.forks.forked.contains(log)
                        && !self.catchup.pulls.contains_key(log)
                        && self.catchup.pulls.len() < limits::SYNC_PULLS_MAX
                    {
                        self.pull(peer, *log, *seq - 1, 1, now_ms, out);
                    }
                }
                let p = self.membership.peers.entry(peer).or_default();
                p.vector = vector;
                p.topology_version = Some(topology_version);
                p.last_vector_ms = Some(now_ms);
                if topology_version > self.topology.version
                    && self
                        .membership
                        .topology_asked_ms
                        .is_none_or(|t| now_ms >= t + limits::SYNC_PULL_TIMEOUT_MS)
                {
                    self.membership.topology_asked_ms = Some(now_ms);
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
                let up_to = held
                    .seq
                    .min(after.saturating_add(max))
                    .min(self.valid_up_to(&held.log));
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

    /// Whether the log's author is a member that may write it, or was (a revoked key, valid up to its point).
    fn writer_ok(&self, log: &LogId) -> bool {
        self.topology
            .writer(&log.author.0)
            .is_some_and(|w| may_hold(&self.topology, w.node(), &log.scope))
    }

    /// The last entry of `log` its author may have written: all of them for a member's key, up to the point of
    /// its revocation for a revoked key, none for any other.
    pub(super) fn valid_up_to(&self, log: &LogId) -> u64 {
        self.topology
            .writer(&log.author.0)
            .map_or(0, |w| w.valid_up_to(&log.scope))
    }

    /// Whether entry `seq` of `log` comes after its author's key was revoked: refused and counted.
    pub(super) fn revoked_past(&mut self, log: &LogId, seq: u64) -> bool {
        let past = seq > self.valid_up_to(log) && self.topology.writer(&log.author.0).is_some();
        if past {
            self.counters.entries_revoked += 1;
        }
        past
    }

    /// Whether an entry of `log` may come here at all: we may hold it and its author may write it.
    fn acceptable(&self, log: &LogId) -> bool {
        may_hold(&self.topology, self.me_node(), &log.scope) && self.writer_ok(log)
    }
}
