//! Nodes that misbehave: one that signs two histories, a thief with a stolen machine's key, an outsider that is
//! not a member, and a member that asks for what it may not hold.

use super::*;

impl Sim {
    /// Schedules the forking run (see [`Plan::fork`]): the forker is the first district node.
    pub(crate) fn plan_fork(&mut self) {
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

    /// The stolen run's theft (see [`Plan::stolen`]): the first district node's machine, running, goes to the
    /// thief; the root revokes its key after the entries its logs hold now and names a new one; every other node
    /// installs that topology; the node starts again, empty, under the new key; the thief goes on writing.
    pub(crate) fn steal(&mut self) {
        let node = (0..self.nodes.len())
            .find(|&i| {
                self.topology
                    .member(&self.nodes[i].author.0)
                    .is_some_and(|m| m.role == Role::District)
            })
            .expect("a district node");
        if !self.nodes[node].up() {
            self.restart(node);
        }
        let old = self.nodes[node].author;
        // The point of each of its logs: as far as the rest of the federation holds it, which is what the root
        // can learn. What only the stolen machine held is lost with it.
        let points: BTreeMap<String, u64> = self.nodes[node]
            .store
            .logs
            .iter()
            .filter(|(_, l)| l.log.author == old)
            .map(|(digest, l)| {
                let held = (0..self.nodes.len())
                    .filter(|&i| i != node)
                    .filter_map(|i| self.nodes[i].store.logs.get(digest))
                    .map(|l| l.entries.len() as u64)
                    .max()
                    .unwrap_or(0);
                (l.log.scope.to_string(), held)
            })
            .collect();
        let before = self.acked.len();
        self.acked.retain(|h| {
            h.log.author != old
                || h.seq <= points.get(&h.log.scope.to_string()).copied().unwrap_or(0)
        });
        self.lost = (before - self.acked.len()) as u64;
        let name = self.nodes[node].name.clone();
        let seed = self.rng.bytes();
        self.fed.rekey(&name, seed, points);
        let version = self.newest.1 + 1;
        let signed = self.fed.signed(version);
        self.newest = (signed.clone(), version);
        self.topology = Topology::open_signed(&signed, &self.root).expect("the new topology");
        self.trace.update([5, node as u8]);
        // The thief keeps the machine: its key, its data, the old topology.
        self.thief = Some(node);
        self.nodes[node].name = format!("{name} (stolen)");
        // The node again, on a new machine: empty, under its new key, with the new topology.
        let fresh = self.nodes.len();
        self.nodes.push(SimNode::new(name, seed, signed.clone()));
        self.by_key.insert(self.nodes[fresh].author, fresh);
        self.restart(fresh);
        // Every other node's operator installs it (on disk; and at once where the node is running).
        for i in 0..fresh {
            if i == node {
                continue;
            }
            self.nodes[i].topology = signed.clone();
            if self.nodes[i].up() {
                self.input(
                    i,
                    Input::Topology {
                        signed: signed.clone(),
                    },
                );
            }
        }
        // The thief goes on writing, and what it writes is smuggled to honest nodes by members that forward it;
        // the node goes on under its new key.
        let left = self.plan.fault_ms.saturating_sub(self.now_ms).max(1);
        for _ in 0..self.rng.between(3, 8) {
            let t = self.rng.below(left);
            self.at(t, Event::Write { node });
            let t = self.rng.below(left);
            self.at(t, Event::Smuggle);
        }
        for _ in 0..self.rng.between(2, 5) {
            let t = self.rng.below(left);
            self.at(t, Event::Write { node: fresh });
        }
    }

    /// A member forwards the thief's newest alerts (signed with the revoked key after its point) to a node it is
    /// linked with, as a push and as gossip: the receiver must refuse them, whoever carries them.
    pub(crate) fn smuggle(&mut self) {
        let Some(thief) = self.thief else {
            return;
        };
        let old = self.nodes[thief].author;
        let log = hifazat_log::LogId {
            author: old,
            scope: Scope::alerts(),
        };
        let digest = log.digest();
        let up_to = self
            .topology
            .writer(&old.0)
            .map_or(0, |w| w.valid_up_to(&log.scope)) as usize;
        let Some(held) = self.nodes[thief].store.logs.get(&digest) else {
            return;
        };
        let entries: Vec<Vec<u8>> = held.entries.iter().skip(up_to).cloned().collect();
        let links: Vec<(usize, usize)> = self
            .links
            .iter()
            .copied()
            .filter(|&(a, b)| a != thief && b != thief)
            .collect();
        if entries.is_empty() || links.is_empty() {
            return;
        }
        let (a, b) = *self.rng.pick(&links);
        let (from, to) = if self.rng.chance(500) { (a, b) } else { (b, a) };
        let peer = self.nodes[from].author;
        let entry = entries[entries.len() - 1].clone();
        let id = Hash(Sha256::digest(&entry).into());
        self.trace.update([6, from as u8, to as u8]);
        self.input(
            to,
            Input::Message {
                peer,
                message: Message::Entries {
                    log: digest,
                    entries,
                },
            },
        );
        if self.nodes[to].gossip_seen.insert(id) {
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

    /// The forker rewrites its alerts log from where the partition began (as a node restored from an old copy
    /// of its disk, or one that lies, would), restarts, and the partition moves it to the other side.
    pub(crate) fn fork(&mut self) {
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
        self.drop_links(|a, b| on(&side, a) != on(&side, b));
        self.restart(node);
    }

    /// The outsider (a valid key, but no member) tries to connect to `node` and to slip it an entry.
    pub(crate) fn outsider(&mut self, node: usize) {
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
    pub(crate) fn curious(&mut self, node: usize) {
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
}
