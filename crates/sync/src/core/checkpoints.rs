//! Checkpoints and witnessing: signed tree heads kept, offered and checked against this node's own copy of a log,
//! and cosigned by the author's witness.

use super::*;

/// Checkpoints and witnessing: the newest checkpoint kept per log, those waiting until this node holds what they
/// cover, and the logs with a check under way.
#[derive(Debug, Default)]
pub(super) struct Witness {
    pub(super) checkpoints: BTreeMap<Hash, KeptCheckpoint>,
    pub(super) waiting: BTreeMap<Hash, WaitingCheckpoint>,
    /// Logs with a check under way.
    pub(super) checking: BTreeSet<Hash>,
}

impl Witness {
    /// Waiting checkpoints within their limit.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.waiting.len() > limits::SYNC_CHECKPOINTS_PENDING_MAX {
            return Err(format!("{} checkpoints waiting", self.waiting.len()));
        }
        Ok(())
    }
}

impl Sync {
    /// Opens a checkpoint note of `log`: the author's signature verifies and it names the log. Returns it and
    /// whether it is settled (cosigned by the author's witness, or the author has none that may hold the log).
    pub(super) fn open_checkpoint(&self, log: &LogId, note: &[u8]) -> Option<(Checkpoint, bool)> {
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
    pub(super) fn is_witness(&self, author: &Author, key: Author) -> bool {
        self.member(author)
            .and_then(|a| witness_of(&self.topology, a))
            .is_some_and(|w| w.key == Some(key.0))
    }

    /// Whether a checkpoint of `size` entries, settled or not, is news beside the one kept for `log`.
    pub(super) fn newer_checkpoint(&self, log: &Hash, size: u64, settled: bool) -> bool {
        self.witness
            .checkpoints
            .get(log)
            .is_none_or(|k| size > k.size || (size == k.size && settled && !k.settled))
    }

    /// Records a checkpoint kept durably (this node's own, or one it checked). Returns whether it was news.
    pub(super) fn keep_checkpoint(&mut self, log: Hash, note: Vec<u8>) -> bool {
        let Some(held) = self.heads.get(&log) else {
            return false;
        };
        let Some((checkpoint, settled)) = self.open_checkpoint(&held.log.clone(), &note) else {
            return false;
        };
        if !self.newer_checkpoint(&log, checkpoint.size, settled) {
            return false;
        }
        self.witness.checkpoints.insert(
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
    pub(super) fn send_checkpoint(&self, peer: Author, log: Hash, out: &mut Vec<Effect>) {
        let (Some(kept), Some(held), Some(node)) = (
            self.witness.checkpoints.get(&log),
            self.heads.get(&log),
            self.member(&peer),
        ) else {
            return;
        };
        if !may_hold(&self.topology, node, &held.log.scope) || self.forks.forked.contains(&log) {
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
    pub(super) fn offer_checkpoint(
        &self,
        log: Hash,
        except: Option<Author>,
        out: &mut Vec<Effect>,
    ) {
        for peer in self.connected_peers() {
            if Some(peer) != except {
                self.send_checkpoint(peer, log, out);
            }
        }
    }

    pub(super) fn checkpoint_offered(
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
        if self.forks.forked.contains(&log)
            || !self.newer_checkpoint(&log, size, true)
            || self
                .witness
                .waiting
                .get(&log)
                .is_some_and(|w| w.size >= size)
            || (!self.witness.waiting.contains_key(&log)
                && self.witness.waiting.len() >= limits::SYNC_CHECKPOINTS_PENDING_MAX)
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
        self.witness.waiting.insert(
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
    pub(super) fn start_checks(&mut self, out: &mut Vec<Effect>) {
        let ready: Vec<Hash> = self
            .witness
            .waiting
            .iter()
            .filter(|(log, w)| {
                !self.witness.checking.contains(*log)
                    && self.heads.get(*log).is_some_and(|h| h.seq >= w.size)
            })
            .map(|(log, _)| *log)
            .collect();
        for log in ready {
            let w = self.witness.waiting.remove(&log).expect("listed");
            self.witness.checking.insert(log);
            out.push(Effect::Check {
                peer: w.peer,
                log,
                size: w.size,
                note: w.note,
                cosign: w.cosign,
            });
        }
    }

    pub(super) fn checked(
        &mut self,
        peer: Author,
        log: Hash,
        size: u64,
        result: CheckResult,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) {
        self.witness.checking.remove(&log);
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
                    && !self.forks.forked.contains(&log)
                    && !self.catchup.pulls.contains_key(&log)
                    && self
                        .membership
                        .peers
                        .get(&peer)
                        .is_some_and(|p| p.connected)
                {
                    self.pull(peer, log, size - 1, 1, now_ms, out);
                }
            }
            CheckResult::Short | CheckResult::Stale => {}
        }
        self.start_checks(out);
    }
}
