//! A seeded, deterministic simulator of a Hifazat federation.
//!
//! Every node runs the real sync state machine (`hifazat-sync`), the real log verification and the real record
//! replicas, over an in-memory store that survives crashes. The network is a queue of timed events: messages are
//! dropped, duplicated and delayed (and so reordered), links are cut by partitions, nodes crash and restart, and
//! an outsider (a key that is not a member) keeps trying to connect and to inject entries. Records are raised and
//! edited on many nodes while all this happens. Then the faults stop, partitions heal, crashed nodes restart, and
//! [`Report::violations`] lists whatever breaks the federation's promises:
//! - every acknowledged write is held by every node entitled to its log;
//! - every record has the same automerge heads on every node that holds it;
//! - no node holds anything written by a non-member, and no outsider connection was kept;
//! - no node holds a log it may not hold, and no node served one to a peer that may not hold it;
//! - every node runs the newest topology.
//!
//! Nothing here reads a clock or an OS random source: a seed decides everything, so a run replays exactly.

pub mod federation;
pub mod node;
pub mod rng;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use hifazat_domain::{
    AlertDoc, AlertDraft, CaseCategory, CaseDoc, CaseDraft, Channel, ContactDraft, Context,
    Event as TimelineEvent, EventKind, PlaceDraft, RecordDoc, RecordId, Sex,
};
use hifazat_limits as limits;
use hifazat_log::{Author, Hash, Scope};
use hifazat_note::VerifierKey;
use hifazat_sync::{ALERTS_TOPIC, Effect, Input, LogHead, Message};
use hifazat_topology::may_hold;
use hifazat_topology::{Role, Topology};
use sha2::{Digest, Sha256};

use federation::Federation;
pub use federation::Layout;
use node::SimNode;
use rng::Rng;

/// How hostile the network is while faults are on.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Messages lost, per thousand.
    pub drop_per_mille: u32,
    /// Messages delivered twice, per thousand.
    pub duplicate_per_mille: u32,
    /// Delivery takes 1 ms to this (so messages overtake each other).
    pub delay_ms_max: u64,
    /// Partitions started during the faulty phase (each cuts a random set of nodes off for a while).
    pub partitions: u32,
    /// Node crashes during the faulty phase (each node comes back after a while, or at the heal).
    pub crashes: u32,
}

/// One run's shape.
#[derive(Debug, Clone)]
pub struct Plan {
    pub layout: Layout,
    pub faults: Faults,
    /// Writes (new alerts, new cases, timeline events) spread over the faulty phase.
    pub writes: u32,
    /// Length of the faulty phase, simulated milliseconds.
    pub fault_ms: u64,
    /// Longest the federation may take to converge after the heal, simulated milliseconds.
    pub settle_ms_max: u64,
    /// Whether the root publishes a second topology version in the middle of the run.
    pub topology_update: bool,
    /// Only new alerts are written, none before this time (simulated ms), and each one's spread is timed.
    pub propagation_from_ms: Option<u64>,
    /// One district node forks its alerts log: see [`Plan::fork`].
    pub fork: bool,
}

impl Plan {
    /// The demo federation under every kind of fault.
    pub fn demo() -> Plan {
        Plan {
            layout: Layout::Demo,
            faults: Faults {
                drop_per_mille: 100,
                duplicate_per_mille: 50,
                delay_ms_max: 200,
                partitions: 3,
                crashes: 3,
            },
            writes: 60,
            fault_ms: 60_000,
            settle_ms_max: 120_000,
            topology_update: true,
            propagation_from_ms: None,
            fork: false,
        }
    }

    /// The demo federation with one district node that forks its alerts log, and no other faults (links take 1 to
    /// 50 ms). The node writes alerts; at 10 s a partition leaves it with its province node (its witness) alone,
    /// and it writes one to three more (branch A, which the witness checks and cosigns); at 20 s it rewrites its
    /// log from where the partition began and joins the other side instead, where it writes one to three
    /// different entries (branch B). At 30 s the network heals. The run times how long after the first link
    /// between holders of different branches comes back some node holds evidence of the fork, and until every
    /// node does.
    pub fn fork() -> Plan {
        Plan {
            layout: Layout::Demo,
            faults: Faults {
                drop_per_mille: 0,
                duplicate_per_mille: 0,
                delay_ms_max: 50,
                partitions: 0,
                crashes: 0,
            },
            writes: 0,
            fault_ms: 30_000,
            settle_ms_max: 60_000,
            topology_update: false,
            propagation_from_ms: None,
            fork: true,
        }
    }

    /// The national federation with no faults, links that take 1 to 20 ms, and `alerts` new alerts raised at
    /// random nodes once the federation has connected: for timing how alerts spread.
    pub fn propagation(alerts: u32) -> Plan {
        Plan {
            layout: Layout::National,
            faults: Faults {
                drop_per_mille: 0,
                duplicate_per_mille: 0,
                delay_ms_max: 20,
                partitions: 0,
                crashes: 0,
            },
            writes: alerts,
            fault_ms: 60_000,
            settle_ms_max: 60_000,
            topology_update: false,
            propagation_from_ms: Some(10_000),
            fork: false,
        }
    }

    /// The national federation (a node per province and district) under faults.
    pub fn national() -> Plan {
        Plan {
            layout: Layout::National,
            faults: Faults {
                drop_per_mille: 50,
                duplicate_per_mille: 20,
                delay_ms_max: 150,
                partitions: 2,
                crashes: 6,
            },
            writes: 200,
            fault_ms: 30_000,
            settle_ms_max: 120_000,
            topology_update: true,
            propagation_from_ms: None,
            fork: false,
        }
    }
}

/// What a run did and what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub seed: u64,
    pub nodes: usize,
    pub acknowledged: usize,
    pub records: usize,
    pub messages: u64,
    pub message_bytes: u64,
    pub dropped: u64,
    pub outsider_attempts: u64,
    /// Simulated milliseconds from the heal until every node held everything it is entitled to.
    pub converged_after_ms: Option<u64>,
    /// Everything that went wrong; empty for a good run.
    pub violations: Vec<String>,
    /// A hash of every event processed and of the final state: equal for two runs of one seed.
    pub trace: [u8; 32],
    /// With [`Plan::propagation_from_ms`]: for each alert, simulated ms from its write until every node held it,
    /// and until every node would have had it by flooding over the same links with the same delays (raw gossip,
    /// no checks). Empty otherwise.
    pub spread_ms: Vec<(u64, u64)>,
    /// Checkpoints cosigned by witnesses.
    pub cosigned: u64,
    /// With [`Plan::fork`]: how the fork was caught.
    pub fork: Option<ForkReport>,
}

/// How a forking node was caught, in simulated milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkReport {
    /// When the first link between a holder of one branch and a holder of the other came up after the heal.
    pub reconnected_ms: Option<u64>,
    /// From then until the first node held evidence of the fork.
    pub first_caught_after_ms: Option<u64>,
    /// From then until every node held evidence of the fork.
    pub all_caught_after_ms: Option<u64>,
}

/// The forking run's state.
#[derive(Debug)]
struct Forking {
    node: usize,
    /// Entries of its alerts log before the first partition: the branches part after them.
    base: u64,
    /// The nodes that hold branch A (the first partition's side, the forker left out).
    branch_a: Vec<bool>,
    forked: bool,
    reconnected_ms: Option<u64>,
    /// When each node first held evidence.
    caught: Vec<Option<u64>>,
}

/// An alert being timed: when it was written, by whom, how many nodes still lack it, and when the last got it.
#[derive(Debug)]
struct Spread {
    written_ms: u64,
    from: usize,
    lacking: usize,
    done_ms: Option<u64>,
}

/// What the event queue carries.
#[derive(Debug)]
enum Event {
    Tick {
        node: usize,
        inc: u32,
    },
    Connect {
        a: usize,
        b: usize,
    },
    Deliver {
        from: usize,
        to: usize,
        inc: u32,
        message: Message,
    },
    Gossip {
        from: usize,
        to: usize,
        inc: u32,
        entry: Vec<u8>,
    },
    /// An input for a node's state machine, from its store (an apply, a check, evidence kept).
    Later {
        node: usize,
        inc: u32,
        input: Input,
    },
    /// A node signs checkpoints of its own logs that grew.
    Sign {
        node: usize,
        inc: u32,
    },
    /// The forking node rewrites its alerts log from where the partition began, and the partition moves.
    Fork,
    Write {
        node: usize,
    },
    Crash {
        node: usize,
        down_ms: u64,
    },
    Restart {
        node: usize,
    },
    Cut {
        side: Vec<bool>,
        ms: u64,
    },
    Mend,
    Outsider {
        node: usize,
    },
    Curious {
        node: usize,
    },
    TopologyUpdate,
    Heal,
}

#[derive(Debug)]
struct Scheduled {
    at: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A running simulation.
#[derive(Debug)]
pub struct Sim {
    plan: Plan,
    seed: u64,
    rng: Rng,
    now_ms: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    fed: Federation,
    root: VerifierKey,
    /// The newest topology the root has published, and its version.
    newest: (Vec<u8>, u64),
    topology: Topology,
    nodes: Vec<SimNode>,
    by_key: BTreeMap<Author, usize>,
    links: BTreeSet<(usize, usize)>,
    /// The partition in force: nodes on the `true` side reach only each other.
    cut: Option<Vec<bool>>,
    faulty: bool,
    healed_at: Option<u64>,
    outsider: ed25519_dalek::SigningKey,
    acked: Vec<LogHead>,
    records: Vec<(RecordId, Scope)>,
    trace: Sha256,
    messages: u64,
    message_bytes: u64,
    dropped: u64,
    outsider_attempts: u64,
    violations: Vec<String>,
    spread: BTreeMap<(Hash, u64), Spread>,
    cosigned: u64,
    forking: Option<Forking>,
}

fn pair(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Sim {
    pub fn new(plan: Plan, seed: u64) -> Sim {
        let mut rng = Rng::new(seed);
        let fed = Federation::new(plan.layout, &mut rng);
        let root = fed.root.verifier();
        let signed = fed.signed(1);
        let topology = Topology::open_signed(&signed, &root).expect("simulated topology");
        let nodes: Vec<SimNode> = fed
            .members
            .iter()
            .map(|m| SimNode::new(m.name.clone(), m.seed, signed.clone()))
            .collect();
        let by_key = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.author, i))
            .collect();
        let outsider = ed25519_dalek::SigningKey::from_bytes(&rng.bytes());
        Sim {
            plan,
            seed,
            rng,
            now_ms: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            root,
            newest: (signed, 1),
            topology,
            fed,
            nodes,
            by_key,
            links: BTreeSet::new(),
            cut: None,
            faulty: true,
            healed_at: None,
            outsider,
            acked: Vec::new(),
            records: Vec::new(),
            trace: Sha256::new(),
            messages: 0,
            message_bytes: 0,
            dropped: 0,
            outsider_attempts: 0,
            violations: Vec::new(),
            spread: BTreeMap::new(),
            cosigned: 0,
            forking: None,
        }
    }

    fn at(&mut self, delay_ms: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at: self.now_ms + delay_ms,
            seq: self.seq,
            event,
        }));
    }

    fn delay(&mut self) -> u64 {
        self.rng.between(1, self.plan.faults.delay_ms_max.max(1))
    }

    fn reachable(&self, a: usize, b: usize) -> bool {
        self.nodes[a].up()
            && self.nodes[b].up()
            && self.cut.as_ref().is_none_or(|side| side[a] == side[b])
    }

    /// Runs the plan to its end and checks the outcome.
    pub fn run(mut self) -> Report {
        let n = self.nodes.len();
        for i in 0..n {
            self.nodes[i].start(&self.root);
            let inc = self.nodes[i].incarnation;
            let phase = self.rng.below(limits::SYNC_TICK_MS);
            self.at(phase, Event::Tick { node: i, inc });
            let phase = self.rng.below(limits::CHECKPOINT_EVERY_MS);
            self.at(phase, Event::Sign { node: i, inc });
        }
        if self.plan.fork {
            self.plan_fork();
        }
        let fault_ms = self.plan.fault_ms;
        let first_write_ms = self.plan.propagation_from_ms.unwrap_or(0);
        for _ in 0..self.plan.writes {
            let node = self.rng.below(n as u64) as usize;
            let t = self.rng.between(first_write_ms, fault_ms - 1);
            self.at(t, Event::Write { node });
        }
        for _ in 0..self.plan.faults.crashes {
            let node = self.rng.below(n as u64) as usize;
            let t = self.rng.below(fault_ms);
            let down_ms = self.rng.between(1_000, fault_ms / 3);
            self.at(t, Event::Crash { node, down_ms });
        }
        for _ in 0..self.plan.faults.partitions {
            let t = self.rng.below(fault_ms);
            let ms = self.rng.between(2_000, fault_ms / 3);
            let side: Vec<bool> = (0..n).map(|_| self.rng.chance(300)).collect();
            self.at(t, Event::Cut { side, ms });
        }
        for _ in 0..8 {
            let node = self.rng.below(n as u64) as usize;
            let t = self.rng.below(fault_ms);
            self.at(t, Event::Outsider { node });
            let node = self.rng.below(n as u64) as usize;
            let t = self.rng.below(fault_ms);
            self.at(t, Event::Curious { node });
        }
        if self.plan.topology_update {
            let t = self.rng.between(fault_ms / 4, fault_ms * 3 / 4);
            self.at(t, Event::TopologyUpdate);
        }
        self.at(fault_ms, Event::Heal);
        let end = fault_ms + self.plan.settle_ms_max;
        let mut converged_after_ms = None;
        let mut next_check = fault_ms;
        while let Some(Reverse(s)) = self.queue.pop() {
            if s.at > end {
                break;
            }
            self.now_ms = s.at;
            self.trace.update(s.at.to_be_bytes());
            self.event(s.event);
            if let Some(healed) = self.healed_at
                && self.now_ms >= next_check
            {
                next_check = self.now_ms + 500;
                if self.converged()
                    && self
                        .forking
                        .as_ref()
                        .is_none_or(|f| f.caught.iter().all(Option::is_some))
                {
                    converged_after_ms = Some(self.now_ms - healed);
                    break;
                }
            }
        }
        if converged_after_ms.is_none() {
            self.violations.push(format!(
                "not converged {} ms after the heal",
                self.plan.settle_ms_max
            ));
        }
        self.check();
        for node in &self.nodes {
            for h in node.store.heads() {
                self.trace.update(h.hash.0);
            }
        }
        let spread_ms = self.spread_times();
        let fork = self.forking.as_ref().map(|f| {
            let after = |t: Option<u64>| Some(t?.saturating_sub(f.reconnected_ms?));
            ForkReport {
                reconnected_ms: f.reconnected_ms,
                first_caught_after_ms: after(f.caught.iter().flatten().min().copied()),
                all_caught_after_ms: if f.caught.iter().all(Option::is_some) {
                    after(f.caught.iter().flatten().max().copied())
                } else {
                    None
                },
            }
        });
        Report {
            spread_ms,
            cosigned: self.cosigned,
            fork,
            seed: self.seed,
            nodes: n,
            acknowledged: self.acked.len(),
            records: self.records.len(),
            messages: self.messages,
            message_bytes: self.message_bytes,
            dropped: self.dropped,
            outsider_attempts: self.outsider_attempts,
            converged_after_ms,
            violations: self.violations,
            trace: self.trace.finalize().into(),
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Tick { node, inc } => {
                if self.nodes[node].incarnation == inc && self.nodes[node].up() {
                    self.input(node, Input::Tick);
                    self.at(limits::SYNC_TICK_MS, Event::Tick { node, inc });
                }
            }
            Event::Connect { a, b } => {
                if self.reachable(a, b) && self.links.insert(pair(a, b)) {
                    self.trace.update([1, a as u8, b as u8]);
                    let now = self.now_ms;
                    if let Some(f) = &mut self.forking
                        && f.forked
                        && self.healed_at.is_some()
                        && f.reconnected_ms.is_none()
                        && f.branch_a[a] != f.branch_a[b]
                    {
                        f.reconnected_ms = Some(now);
                    }
                    let (ka, kb) = (self.nodes[a].author, self.nodes[b].author);
                    self.input(a, Input::Connected { peer: kb });
                    // The first side may have refused the connection already.
                    if self.links.contains(&pair(a, b)) {
                        self.input(b, Input::Connected { peer: ka });
                    }
                }
            }
            Event::Deliver {
                from,
                to,
                inc,
                message,
            } => {
                if self.nodes[to].incarnation == inc
                    && self.links.contains(&pair(from, to))
                    && self.reachable(from, to)
                {
                    let peer = self.nodes[from].author;
                    self.input(to, Input::Message { peer, message });
                }
            }
            Event::Gossip {
                from,
                to,
                inc,
                entry,
            } => {
                if self.nodes[to].incarnation == inc
                    && self.links.contains(&pair(from, to))
                    && self.reachable(from, to)
                {
                    let id = Hash(Sha256::digest(&entry).into());
                    // The gossip layer drops what it has seen before validation.
                    if self.nodes[to].gossip_seen.insert(id) {
                        self.nodes[to].gossip_from.insert(id, (from, entry.clone()));
                        let peer = self.nodes[from].author;
                        self.input(
                            to,
                            Input::Gossip {
                                from: peer,
                                id,
                                entry,
                            },
                        );
                    }
                }
            }
            Event::Later { node, inc, input } => {
                if self.nodes[node].incarnation == inc && self.nodes[node].up() {
                    self.input(node, input);
                }
            }
            Event::Sign { node, inc } => {
                if self.nodes[node].incarnation == inc && self.nodes[node].up() {
                    for (log, note) in self.nodes[node].sign_checkpoints() {
                        self.input(node, Input::Signed { log, note });
                    }
                    self.at(limits::CHECKPOINT_EVERY_MS, Event::Sign { node, inc });
                }
            }
            Event::Fork => self.fork(),
            Event::Write { node } => self.write(node),
            Event::Crash { node, down_ms } => {
                if self.nodes[node].up() {
                    self.trace.update([2, node as u8]);
                    self.nodes[node].crash();
                    self.drop_links(|a, b| a == node || b == node);
                    self.at(down_ms, Event::Restart { node });
                }
            }
            Event::Restart { node } => self.restart(node),
            Event::Cut { side, ms } => {
                if let Some(f) = &mut self.forking {
                    let log = hifazat_log::LogId {
                        author: self.nodes[f.node].author,
                        scope: Scope::alerts(),
                    }
                    .digest();
                    f.base = self.nodes[f.node]
                        .store
                        .logs
                        .get(&log)
                        .map_or(0, |l| l.entries.len() as u64);
                }
                if self.faulty && self.cut.is_none() {
                    self.cut = Some(side.clone());
                    self.drop_links(|a, b| side[a] != side[b]);
                    self.at(ms, Event::Mend);
                }
            }
            Event::Mend => self.cut = None,
            Event::Outsider { node } => self.outsider(node),
            Event::Curious { node } => self.curious(node),
            Event::TopologyUpdate => {
                let version = self.newest.1 + 1;
                let signed = self.fed.signed(version);
                self.newest = (signed.clone(), version);
                // The operator installs it at the federal node; if that one is down, at the first node up.
                if let Some(node) = (0..self.nodes.len()).find(|&i| self.nodes[i].up()) {
                    self.input(node, Input::Topology { signed });
                }
            }
            Event::Heal => {
                self.faulty = false;
                self.cut = None;
                self.healed_at = Some(self.now_ms);
                for node in 0..self.nodes.len() {
                    if !self.nodes[node].up() {
                        self.restart(node);
                    }
                }
            }
        }
    }

    fn restart(&mut self, node: usize) {
        if self.nodes[node].up() {
            return;
        }
        self.trace.update([3, node as u8]);
        self.nodes[node].start(&self.root);
        let inc = self.nodes[node].incarnation;
        self.at(1, Event::Tick { node, inc });
        self.at(limits::CHECKPOINT_EVERY_MS, Event::Sign { node, inc });
    }

    fn drop_links(&mut self, cut: impl Fn(usize, usize) -> bool) {
        let gone: Vec<(usize, usize)> = self
            .links
            .iter()
            .copied()
            .filter(|&(a, b)| cut(a, b))
            .collect();
        for (a, b) in gone {
            self.links.remove(&(a, b));
            for (me, other) in [(a, b), (b, a)] {
                if self.nodes[me].up() {
                    let peer = self.nodes[other].author;
                    self.input(me, Input::Disconnected { peer });
                }
            }
        }
    }

    /// Feeds one input to a node and carries out what it asks.
    fn input(&mut self, node: usize, input: Input) {
        let now = self.now_ms;
        let Some(sync) = self.nodes[node].sync.as_mut() else {
            return;
        };
        let effects = sync.handle(input, now);
        // The state's own invariants, after every input, in any build.
        if let Err(broken) = sync.check() {
            self.violations
                .push(format!("node {node}'s sync state after an input: {broken}"));
        }
        for effect in effects {
            self.effect(node, effect);
        }
    }

    fn send(&mut self, from: usize, to: usize, message: Message) {
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
    fn gossip(&mut self, from: usize, except: Option<usize>, entry: &[u8]) {
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

    fn effect(&mut self, node: usize, effect: Effect) {
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
    fn apply(&mut self, node: usize, ticket: hifazat_sync::Ticket, entries: &[Vec<u8>]) {
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
    fn later(&mut self, node: usize, input: Input) {
        let inc = self.nodes[node].incarnation;
        self.at(1, Event::Later { node, inc, input });
    }

    /// `node`'s store holds this evidence now (`new`: it did not before): note when it first held any (for the
    /// forking run's timings), and tell its state machine.
    fn evidence_held(
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

    /// One write at `node`: a new alert, a new case on the node's line, or an event on a record it holds.
    fn write(&mut self, node: usize) {
        if !self.faulty || !self.nodes[node].up() {
            return;
        }
        let now = self.now_ms;
        let me = self
            .topology
            .member(&self.nodes[node].author.0)
            .expect("member")
            .clone();
        let held: Vec<(RecordId, Scope)> = self
            .records
            .iter()
            .filter(|(r, _)| self.nodes[node].store.records.contains_key(r))
            .cloned()
            .collect();
        let forker = self.forking.as_ref().is_some_and(|f| f.node == node);
        let roll = if self.plan.propagation_from_ms.is_some() || forker {
            // Alerts only.
            3 + self.rng.below(4)
        } else {
            self.rng.below(10)
        };
        let (head, bytes) = if roll < 3 && !held.is_empty() {
            let (record, scope) = self.rng.pick(&held).clone();
            let event = TimelineEvent {
                kind: EventKind::Mobilised,
                at_ms: now,
                by: "sim".into(),
                node: self.nodes[node].name.clone(),
                note: Some(format!("step {}", self.seq)),
            };
            let n = &mut self.nodes[node];
            let change = match n.replicas.append_event(record, &n.store, &event, now) {
                Ok(c) => c,
                Err(_) => return,
            };
            n.write(scope, record, change, now)
        } else {
            let record = RecordId(self.rng.bytes());
            let districts: Vec<String> = self
                .topology
                .districts
                .iter()
                .filter(|d| match me.role {
                    Role::Federal => true,
                    Role::Province => me.province.as_deref() == Some(d.province.as_str()),
                    Role::District => me.district.as_deref() == Some(d.code.as_str()),
                })
                .map(|d| d.code.clone())
                .collect();
            let district = self.rng.pick(&districts).clone();
            let d = self.topology.district(&district).expect("district").clone();
            let ctx = Context {
                districts: &self.topology,
                now_ms: now + 1_600_000_000_000,
            };
            let (scope, doc) = if roll < 7 {
                let intake = alert_draft(&d.code, d.lat, d.lon, ctx.now_ms)
                    .validate(&ctx)
                    .expect("a valid alert");
                (
                    Scope::alerts(),
                    RecordDoc::Alert(AlertDoc {
                        intake,
                        timeline: vec![],
                        sightings: vec![],
                    }),
                )
            } else {
                let intake = case_draft(&d.code)
                    .validate(&ctx, self.rng.bytes())
                    .expect("a valid case");
                (
                    Scope::cases(&d.code).expect("scope"),
                    RecordDoc::Case(CaseDoc {
                        intake,
                        timeline: vec![],
                    }),
                )
            };
            self.records.push((record, scope.clone()));
            self.nodes[node].create(scope, record, &doc, now)
        };
        self.trace.update(head.hash.0);
        if self.plan.propagation_from_ms.is_some() {
            self.spread.insert(
                (head.log.digest(), head.seq),
                Spread {
                    written_ms: now,
                    from: node,
                    lacking: self.nodes.len() - 1,
                    done_ms: None,
                },
            );
        }
        if !forker {
            // The forker's writes are on two branches: no node can hold them all.
            self.acked.push(head);
        }
        self.input(
            node,
            Input::Written {
                entries: vec![bytes],
            },
        );
    }

    /// Schedules the forking run (see [`Plan::fork`]): the forker is the first district node.
    fn plan_fork(&mut self) {
        let n = self.nodes.len();
        let node = (0..n)
            .find(|&i| {
                self.topology
                    .member(&self.nodes[i].author.0)
                    .is_some_and(|m| m.role == Role::District)
            })
            .expect("a district node");
        let me = self
            .topology
            .member(&self.nodes[node].author.0)
            .expect("member");
        let witness = hifazat_topology::witness_of(&self.topology, me).expect("a witness");
        let witness = self.by_key[&Author(witness.key.expect("keyed"))];
        let side: Vec<bool> = (0..n).map(|i| i == node || i == witness).collect();
        let mut branch_a = side.clone();
        branch_a[node] = false;
        self.forking = Some(Forking {
            node,
            base: 0,
            branch_a,
            forked: false,
            reconnected_ms: None,
            caught: vec![None; n],
        });
        for t in [2_000, 5_000] {
            self.at(t, Event::Write { node });
        }
        self.at(10_000, Event::Cut { side, ms: 20_000 });
        for i in 0..self.rng.between(1, 3) {
            self.at(12_000 + 2_000 * i, Event::Write { node });
        }
        self.at(20_000, Event::Fork);
        for i in 0..self.rng.between(1, 3) {
            self.at(22_000 + 2_000 * i, Event::Write { node });
        }
    }

    /// The forker rewrites its alerts log from where the partition began (as a node restored from an old copy
    /// of its disk, or one that lies, would), restarts, and the partition moves it to the other side.
    fn fork(&mut self) {
        let Some(f) = &mut self.forking else {
            return;
        };
        let node = f.node;
        f.forked = true;
        let base = f.base;
        let side: Vec<bool> = f.branch_a.iter().map(|a| !a).collect();
        let log = hifazat_log::LogId {
            author: self.nodes[node].author,
            scope: Scope::alerts(),
        }
        .digest();
        let store = &mut self.nodes[node].store;
        if let Some(l) = store.logs.get_mut(&log) {
            l.entries.truncate(base as usize);
            l.hashes.truncate(base as usize);
        }
        for places in store.records.values_mut() {
            places.retain(|(l, seq)| *l != log || *seq <= base);
        }
        store.records.retain(|_, places| !places.is_empty());
        store
            .checkpoints
            .retain(|l, (size, _)| *l != log || *size <= base);
        self.nodes[node].crash();
        self.drop_links(|a, b| a == node || b == node);
        self.cut = Some(side.clone());
        self.drop_links(|a, b| side[a] != side[b]);
        self.restart(node);
    }

    /// The outsider (a valid key, but no member) tries to connect to `node` and to slip it an entry.
    fn outsider(&mut self, node: usize) {
        if !self.nodes[node].up() {
            return;
        }
        self.outsider_attempts += 1;
        let key = Author(self.outsider.verifying_key().to_bytes());
        let now = self.now_ms;
        let sync = self.nodes[node].sync.as_mut().expect("up");
        let effects = sync.handle(Input::Connected { peer: key }, now);
        if !effects
            .iter()
            .any(|e| matches!(e, Effect::Disconnect { peer, .. } if *peer == key))
        {
            self.violations.push(format!(
                "{} kept a connection from a non-member",
                self.nodes[node].name
            ));
        }
        let signer = hifazat_log::Signer::new(self.outsider.clone());
        let content = hifazat_log::Content::following(
            hifazat_log::LogId {
                author: key,
                scope: Scope::alerts(),
            },
            None,
            now,
            self.rng.bytes(),
            "outsider".into(),
            vec![1, 2, 3],
        );
        let entry = signer.sign(content).expect("entry").bytes().to_vec();
        let id = Hash(Sha256::digest(&entry).into());
        for input in [
            Input::Gossip {
                from: key,
                id,
                entry: entry.clone(),
            },
            Input::Message {
                peer: key,
                message: Message::Entries {
                    log: hifazat_log::LogId {
                        author: key,
                        scope: Scope::alerts(),
                    }
                    .digest(),
                    entries: vec![entry.clone()],
                },
            },
            Input::Message {
                peer: key,
                message: Message::TopologyRequest,
            },
        ] {
            self.input(node, input);
        }
    }

    /// A member asks a peer for a case log it may not hold; the peer must not serve it.
    fn curious(&mut self, node: usize) {
        let me = self.nodes[node].author;
        let Some(me_node) = self.topology.member(&me.0).cloned() else {
            return;
        };
        let forbidden: Vec<(Hash, usize)> = (0..self.nodes.len())
            .flat_map(|holder| {
                self.nodes[holder]
                    .store
                    .logs
                    .iter()
                    .filter(|(_, l)| !may_hold(&self.topology, &me_node, &l.log.scope))
                    .map(move |(h, _)| (*h, holder))
            })
            .filter(|(_, holder)| self.links.contains(&pair(node, *holder)))
            .collect();
        if forbidden.is_empty() {
            return;
        }
        let (log, holder) = *self.rng.pick(&forbidden);
        self.input(
            holder,
            Input::Message {
                peer: me,
                message: Message::Pull {
                    log,
                    after: 0,
                    max: 16,
                },
            },
        );
        // And a leaky peer pushes that log to it: it must not keep it.
        let entries = self.nodes[holder]
            .store
            .range(&log, 0, 16, limits::SYNC_PULL_BYTES_MAX);
        let peer = self.nodes[holder].author;
        self.input(
            node,
            Input::Message {
                peer,
                message: Message::Entries { log, entries },
            },
        );
    }

    /// For each timed alert: how long it took to reach every node, and how long flooding it over the links the
    /// federation has at the end (every neighbour pair, with no faults) would take, each hop drawing a delay from
    /// the same distribution.
    fn spread_times(&mut self) -> Vec<(u64, u64)> {
        let n = self.nodes.len();
        let mut adjacent = vec![Vec::new(); n];
        for &(a, b) in &self.links {
            adjacent[a].push(b);
            adjacent[b].push(a);
        }
        let timed: Vec<(u64, usize, Option<u64>)> = self
            .spread
            .values()
            .map(|s| (s.written_ms, s.from, s.done_ms))
            .collect();
        let mut out = Vec::new();
        for (written, from, done) in timed {
            let Some(done) = done else {
                continue;
            };
            // Dijkstra over the links, a fresh random delay per hop: the first arrival at each node.
            let mut arrival = vec![u64::MAX; n];
            arrival[from] = 0;
            let mut queue = BinaryHeap::new();
            queue.push(Reverse((0u64, from)));
            while let Some(Reverse((t, node))) = queue.pop() {
                if t > arrival[node] {
                    continue;
                }
                for &next in &adjacent[node] {
                    let at = t + self.delay();
                    if at < arrival[next] {
                        arrival[next] = at;
                        queue.push(Reverse((at, next)));
                    }
                }
            }
            let raw = arrival.iter().copied().max().unwrap_or(0);
            out.push((done - written, raw));
        }
        out
    }

    /// Whether every node holds every acknowledged write it is entitled to, and runs the newest topology.
    fn converged(&self) -> bool {
        self.missing().next().is_none()
            && self.nodes.iter().all(|n| {
                n.sync
                    .as_ref()
                    .is_some_and(|s| s.topology().version == self.newest.1 && !s.busy())
            })
    }

    /// (node, acknowledged write) pairs where an entitled node lacks the write.
    fn missing(&self) -> impl Iterator<Item = (usize, &LogHead)> + '_ {
        self.acked.iter().flat_map(move |head| {
            let digest = head.log.digest();
            (0..self.nodes.len()).filter_map(move |i| {
                let member = self.topology.member(&self.nodes[i].author.0)?;
                (may_hold(&self.topology, member, &head.log.scope)
                    && self.nodes[i].store.hash_at(&digest, head.seq) != Some(head.hash))
                .then_some((i, head))
            })
        })
    }

    fn check(&mut self) {
        let missing: Vec<String> = self
            .missing()
            .take(5)
            .map(|(i, h)| format!("{} lacks {}#{}", self.nodes[i].name, h.log, h.seq))
            .collect();
        self.violations.extend(missing);
        let outsider = Author(self.outsider.verifying_key().to_bytes());
        for i in 0..self.nodes.len() {
            let name = self.nodes[i].name.clone();
            let member = self.topology.member(&self.nodes[i].author.0).cloned();
            for l in self.nodes[i].store.logs.values() {
                if l.log.author == outsider || self.topology.member(&l.log.author.0).is_none() {
                    self.violations
                        .push(format!("{name} holds {} by a non-member", l.log));
                }
                if !member
                    .as_ref()
                    .is_some_and(|m| may_hold(&self.topology, m, &l.log.scope))
                {
                    self.violations
                        .push(format!("{name} holds {}, which it may not", l.log));
                }
                if matches!(l.log.scope, Scope::Register | Scope::RegisterPart(_)) {
                    self.violations.push(format!("{name} holds a register log"));
                }
            }
            if self.nodes[i].topology != self.newest.0 {
                self.violations
                    .push(format!("{name} did not install the newest topology"));
            }
        }
        // Evidence only against the forker, and, in the forking run, held by every node in the end.
        let forker = self.forking.as_ref().map(|f| self.nodes[f.node].author);
        for i in 0..self.nodes.len() {
            let name = self.nodes[i].name.clone();
            for (first, _) in &self.nodes[i].store.evidence {
                let author = hifazat_log::Entry::decode(first).map(|e| e.content().log.author);
                if author.ok() != forker {
                    self.violations
                        .push(format!("{name} holds evidence against an honest node"));
                }
            }
            if forker.is_some() && self.nodes[i].store.evidence.is_empty() {
                self.violations
                    .push(format!("{name} holds no evidence of the fork"));
            }
            // Every checkpoint a node keeps is of the log it holds.
            for (log, (size, note)) in &self.nodes[i].store.checkpoints {
                let root = hifazat_note::Checkpoint::read_unverified(note).map(|c| c.root);
                if root.is_none() || root != self.nodes[i].store.root(log, *size) {
                    self.violations.push(format!(
                        "{name} keeps a checkpoint of {log} at {size} that is not of its copy"
                    ));
                }
            }
        }
        // Record states: the same automerge heads on every node that holds the record.
        for (record, _) in self.records.clone() {
            let mut seen: Option<(String, Vec<_>)> = None;
            for n in &mut self.nodes {
                if !n.store.records.contains_key(&record) {
                    continue;
                }
                let heads = n.replicas.heads(record, &n.store).unwrap_or_default();
                match &seen {
                    None => seen = Some((n.name.clone(), heads)),
                    Some((first, h)) if *h != heads => {
                        self.violations.push(format!(
                            "record {record} has different heads on {first} and {}",
                            n.name
                        ));
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
    }
}

/// An alert for a child last seen in `district` at (`lat`, `lon`) a minute before `now_ms`: the one the simulator
/// raises, and (in Lahore) the benchmarks too.
pub fn alert_draft(district: &str, lat: f64, lon: f64, now_ms: u64) -> AlertDraft {
    AlertDraft {
        child_name: "Ayesha".into(),
        age_years: 7,
        sex: Sex::Female,
        photo_ref: Some("photo/abc.jpg".into()),
        description: "Red frock, plastic sandals, answers to Ashi".into(),
        last_seen: PlaceDraft {
            district: district.into(),
            lat,
            lon,
            text: "Anarkali Bazaar".into(),
        },
        last_seen_at_ms: now_ms - 60_000,
        reporter: ContactDraft {
            name: "Mother".into(),
            mobile: Some("03001234567".into()),
            cnic: None,
        },
        channel: Channel::Helpline1099,
        contact_line: None,
        office: None,
        police_notes: None,
    }
}

fn case_draft(district: &str) -> CaseDraft {
    CaseDraft {
        category: CaseCategory::Harassment,
        district: district.into(),
        place: None,
        description: "Harassed on the way to school".into(),
        channel: Channel::Helpline1099,
        victim_age_years: Some(14),
        complainant: None,
    }
}

/// Runs one seed of `plan`.
pub fn run(plan: &Plan, seed: u64) -> Report {
    Sim::new(plan.clone(), seed).run()
}
