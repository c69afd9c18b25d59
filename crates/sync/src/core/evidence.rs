//! Evidence of forks: pairs of entries that prove an author signed two histories, held, offered to peers and
//! freezing the log they are against.

use super::*;

/// Evidence of forks: the pairs of conflicting entries held, and the logs they freeze.
#[derive(Debug, Default)]
pub(super) struct Forks {
    pub(super) evidence: BTreeMap<Hash, HeldEvidence>,
    /// Logs with evidence against them: frozen here at what this node holds (no more pulls, no checkpoints).
    pub(super) forked: BTreeSet<Hash>,
}

impl Forks {
    /// Evidence within its limit, and every piece of it freezes its log.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.evidence.len() > limits::SYNC_EVIDENCE_MAX {
            return Err(format!("{} pieces of evidence held", self.evidence.len()));
        }
        match self
            .evidence
            .values()
            .find(|e| !self.forked.contains(&e.log.digest()))
        {
            Some(e) => Err(format!("evidence against {} leaves it unfrozen", e.log)),
            None => Ok(()),
        }
    }
}

impl Sync {
    /// Records evidence this node holds durably. Returns its id when it is news.
    pub(super) fn hold_evidence(
        &mut self,
        first: Vec<u8>,
        second: Vec<u8>,
        from: Option<Author>,
    ) -> Option<Hash> {
        let log = Entry::decode(&first).ok()?.into_content().log;
        let digest = log.digest();
        self.forks.forked.insert(digest);
        self.witness.waiting.remove(&digest);
        let id = evidence_id(&first, &second);
        if let Some(held) = self.forks.evidence.get_mut(&id) {
            held.known.extend(from);
            return None;
        }
        self.counters.evidence_held += 1;
        if self.forks.evidence.len() < limits::SYNC_EVIDENCE_MAX {
            self.forks.evidence.insert(
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
    pub(super) fn send_evidence(&mut self, peer: Author, id: Hash, out: &mut Vec<Effect>) {
        let Some(node) = self.member(&peer).cloned() else {
            return;
        };
        let Some(held) = self.forks.evidence.get_mut(&id) else {
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
    pub(super) fn offer_evidence(&mut self, id: Hash, out: &mut Vec<Effect>) {
        for peer in self.connected_peers() {
            self.send_evidence(peer, id, out);
        }
    }

    pub(super) fn evidence_offered(
        &mut self,
        peer: Author,
        node: &Node,
        first: Vec<u8>,
        second: Vec<u8>,
        out: &mut Vec<Effect>,
    ) {
        let id = evidence_id(&first, &second);
        if let Some(held) = self.forks.evidence.get_mut(&id) {
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
