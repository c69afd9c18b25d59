//! What every run must show: the invariants checked after every step, convergence, and the spread of alerts.

use super::*;

impl Sim {
    /// For each timed alert: how long it took to reach every node, and how long flooding it over the links the
    /// federation has at the end (every neighbour pair, with no faults) would take, each hop drawing a delay from
    /// the same distribution.
    pub(crate) fn spread_times(&mut self) -> Vec<(u64, u64)> {
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
    pub(crate) fn converged(&self) -> bool {
        self.missing().next().is_none()
            && self.honest().all(|i| {
                self.nodes[i]
                    .sync
                    .as_ref()
                    .is_some_and(|s| s.topology().version == self.newest.1 && !s.busy())
            })
    }

    /// (node, acknowledged write) pairs where an entitled node lacks the write.
    pub(crate) fn missing(&self) -> impl Iterator<Item = (usize, &LogHead)> + '_ {
        self.acked.iter().flat_map(move |head| {
            let digest = head.log.digest();
            self.honest().filter_map(move |i| {
                let member = self.topology.member(&self.nodes[i].author.0)?;
                (may_hold(&self.topology, member, &head.log.scope)
                    && self.nodes[i].store.hash_at(&digest, head.seq) != Some(head.hash))
                .then_some((i, head))
            })
        })
    }

    pub(crate) fn check(&mut self) {
        let missing: Vec<String> = self
            .missing()
            .take(5)
            .map(|(i, h)| format!("{} lacks {}#{}", self.nodes[i].name, h.log, h.seq))
            .collect();
        self.violations.extend(missing);
        let outsider = Author(self.outsider.verifying_key().to_bytes());
        let honest: Vec<usize> = self.honest().collect();
        for &i in &honest {
            let name = self.nodes[i].name.clone();
            let member = self.topology.member(&self.nodes[i].author.0).cloned();
            for l in self.nodes[i].store.logs.values() {
                // A member's log, or a revoked key's up to its point and no further.
                match self.topology.writer(&l.log.author.0) {
                    _ if l.log.author == outsider => self
                        .violations
                        .push(format!("{name} holds {} by a non-member", l.log)),
                    None => self
                        .violations
                        .push(format!("{name} holds {} by a non-member", l.log)),
                    Some(w) if l.entries.len() as u64 > w.valid_up_to(&l.log.scope) => {
                        self.violations.push(format!(
                            "{name} holds {} entries of {}, whose key was revoked after {}",
                            l.entries.len(),
                            l.log,
                            w.valid_up_to(&l.log.scope)
                        ))
                    }
                    Some(_) => {}
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
        for &i in &honest {
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
        // Record states: the same automerge heads, and the same changes set aside, on every node that holds the
        // record (the faulty nodes left out: a thief, and an equivocator, which never hears its own entries back).
        for (record, _) in self.records.clone() {
            let mut seen: Option<(String, _)> = None;
            let (thief, equivocator) = (self.thief, self.equivocator);
            for (i, n) in self.nodes.iter_mut().enumerate() {
                if Some(i) == thief
                    || Some(i) == equivocator
                    || !n.store.records.contains_key(&record)
                {
                    continue;
                }
                let heads = (
                    n.replicas.heads(record, &n.store).unwrap_or_default(),
                    n.replicas.set_aside(record, &n.store),
                );
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
