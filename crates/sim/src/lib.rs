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

mod checks;
mod deliver;
mod faulty;
mod plan;
mod workload;

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
pub use plan::{Faults, Plan};
use rng::Rng;
pub use workload::alert_draft;

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
    /// With [`Plan::stolen`]: what the thief and the node did.
    pub stolen: Option<StolenReport>,
    /// With [`Plan::equivocating`]: what the faulty node's second creations came to.
    pub equivocation: Option<EquivocationReport>,
}

/// The equivocating run's outcome, counted at the end on the first honest node (the others agree with it, or the
/// run has a violation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquivocationReport {
    /// Second creations the faulty node signed.
    pub rivals: u64,
    /// Of those, how many won (their hash was smaller than the first creation's): the record is theirs now.
    pub won: u64,
    /// Changes set aside in all: losing creations and what builds on them.
    pub set_aside: u64,
}

/// The stolen run's outcome, counted at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StolenReport {
    /// Entries of the old key before the point (valid, and held by every honest node entitled to them).
    pub valid: u64,
    /// Entries the thief signed with the old key after the point (written on the machine before the theft but
    /// held nowhere else, and written by the thief since).
    pub thief_wrote: u64,
    /// Of those, writes acknowledged before the theft: lost with the machine.
    pub lost: u64,
    /// Entries the node wrote under its new key.
    pub new_key_wrote: u64,
    /// Entries refused on honest nodes because their key was revoked before them.
    pub refused_entries: u64,
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
    /// A district node's machine is stolen: see [`Plan::stolen`].
    Steal,
    /// A member forwards the thief's entries to a peer.
    Smuggle,
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
    /// In the stolen run, once the machine is stolen: the thief's place among the nodes (the node itself is
    /// another, started afresh under a new key).
    thief: Option<usize>,
    /// Acknowledged writes only the stolen machine held when it was stolen.
    lost: u64,
    /// In the equivocating run: the faulty node, and the second creations it signed.
    equivocator: Option<usize>,
    rivals: Vec<(RecordId, automerge::ChangeHash)>,
}

/// Which side of a partition node `i` is on (a node started after the partition began is on the `false` side).
fn on(side: &[bool], i: usize) -> bool {
    side.get(i).copied().unwrap_or(false)
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
            thief: None,
            lost: 0,
            equivocator: None,
            rivals: Vec::new(),
        }
    }

    fn equivocation_report(&mut self) -> EquivocationReport {
        let first = self
            .honest()
            .find(|&i| Some(i) != self.equivocator)
            .expect("an honest node");
        let n = &mut self.nodes[first];
        let won = self
            .rivals
            .iter()
            .filter(|(record, hash)| !n.replicas.set_aside(*record, &n.store).contains(hash))
            .count() as u64;
        let set_aside = self
            .records
            .iter()
            .map(|(record, _)| n.replicas.set_aside(*record, &n.store).len() as u64)
            .sum();
        EquivocationReport {
            rivals: self.rivals.len() as u64,
            won,
            set_aside,
        }
    }

    fn stolen_report(&self, thief: usize) -> StolenReport {
        let old = self.nodes[thief].author;
        let fresh = self.nodes.len() - 1;
        let (mut valid, mut thief_wrote) = (0, 0);
        for l in self.nodes[thief].store.logs.values() {
            if l.log.author == old {
                let up_to = self
                    .topology
                    .writer(&old.0)
                    .map_or(0, |w| w.valid_up_to(&l.log.scope));
                let held = l.entries.len() as u64;
                valid += held.min(up_to);
                thief_wrote += held.saturating_sub(up_to);
            }
        }
        let new_key_wrote = self.nodes[fresh]
            .store
            .logs
            .values()
            .filter(|l| l.log.author == self.nodes[fresh].author)
            .map(|l| l.entries.len() as u64)
            .sum();
        let refused_entries = self
            .honest()
            .filter_map(|i| self.nodes[i].sync.as_ref())
            .map(|s| s.counters().entries_revoked)
            .sum();
        StolenReport {
            valid,
            thief_wrote,
            lost: self.lost,
            new_key_wrote,
            refused_entries,
        }
    }

    /// The honest nodes: every node but the thief.
    pub(crate) fn honest(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(move |i| Some(*i) != self.thief)
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
            && self
                .cut
                .as_ref()
                .is_none_or(|side| on(side, a) == on(side, b))
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
        if self.plan.stolen {
            self.at(self.plan.fault_ms / 3, Event::Steal);
        }
        if self.plan.equivocating {
            self.equivocator = (0..n).find(|&i| {
                self.topology
                    .member(&self.nodes[i].author.0)
                    .is_some_and(|m| m.role == Role::District)
            });
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
        let stolen = self.thief.map(|thief| self.stolen_report(thief));
        let equivocation = self.equivocator.map(|_| self.equivocation_report());
        Report {
            equivocation,
            spread_ms,
            cosigned: self.cosigned,
            fork,
            stolen,
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
            Event::Steal => self.steal(),
            Event::Smuggle => self.smuggle(),
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
                    self.drop_links(|a, b| on(&side, a) != on(&side, b));
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
}

/// Runs one seed of `plan`.
pub fn run(plan: &Plan, seed: u64) -> Report {
    Sim::new(plan.clone(), seed).run()
}
