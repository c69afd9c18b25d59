//! A simulated node: the real sync state machine, log verification and record replicas over an in-memory store
//! that survives crashes (as the sled store does once flushed).

use std::collections::{BTreeMap, BTreeSet};

use hifazat_domain::{RecordDoc, RecordId};
use hifazat_log::{Author, Content, Entry, Hash, LogId, Scope, Signer, Verifier, check_next};
use hifazat_replica::{ChangeSource, Replicas};
use hifazat_sync::{Config, LogHead, Outcome, Sync};

/// One log as the store holds it.
#[derive(Debug, Clone)]
pub struct MemLog {
    pub log: LogId,
    pub entries: Vec<Vec<u8>>,
    pub hashes: Vec<Hash>,
}

/// What a node keeps across crashes: its logs, the record index, the newest checkpoint of each log, and evidence
/// of forks.
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    pub logs: BTreeMap<Hash, MemLog>,
    /// Each record's entries, as (log, seq), in arrival order.
    pub records: BTreeMap<RecordId, Vec<(Hash, u64)>>,
    /// Each log's newest checkpoint kept (a signed note) and its size.
    pub checkpoints: BTreeMap<Hash, (u64, Vec<u8>)>,
    /// Pairs of entries that cannot both be true, in the order of their bytes.
    pub evidence: BTreeSet<(Vec<u8>, Vec<u8>)>,
}

/// Two entries that cannot both be true.
pub type EvidencePair = (Vec<u8>, Vec<u8>);

/// A pair of entries in a fixed order, so one piece of evidence is kept once.
fn evidence_pair(a: Vec<u8>, b: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    if a <= b { (a, b) } else { (b, a) }
}

impl MemStore {
    pub fn heads(&self) -> Vec<LogHead> {
        self.logs
            .values()
            .filter(|l| !l.entries.is_empty())
            .map(|l| LogHead {
                log: l.log.clone(),
                seq: l.entries.len() as u64,
                hash: *l.hashes.last().expect("not empty"),
            })
            .collect()
    }

    fn head(&self, log: &Hash) -> Option<hifazat_log::Head> {
        let l = self.logs.get(log)?;
        Some(hifazat_log::Head {
            seq: l.entries.len() as u64,
            hash: *l.hashes.last()?,
        })
    }

    /// Entries `after + 1 ..= up_to` of a log, stopping before `bytes_max` would be passed.
    pub fn range(&self, log: &Hash, after: u64, up_to: u64, bytes_max: usize) -> Vec<Vec<u8>> {
        let Some(l) = self.logs.get(log) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut bytes = 0;
        for e in l.entries.iter().take(up_to as usize).skip(after as usize) {
            if bytes + e.len() > bytes_max && !out.is_empty() {
                break;
            }
            bytes += e.len();
            out.push(e.clone());
        }
        out
    }

    /// The Merkle root of a log's first `size` entries, if that many are held.
    pub fn root(&self, log: &Hash, size: u64) -> Option<hifazat_merkle::Digest> {
        let l = self.logs.get(log)?;
        if (l.hashes.len() as u64) < size {
            return None;
        }
        let mut tree = hifazat_merkle::MemoryTree::new();
        for h in &l.hashes[..size as usize] {
            tree.push(hifazat_log::tree_leaf(h));
        }
        Some(tree.root())
    }

    /// Keeps evidence; returns whether it is new.
    pub fn keep_evidence(&mut self, first: Vec<u8>, second: Vec<u8>) -> bool {
        self.evidence.insert(evidence_pair(first, second))
    }

    /// The entry at `seq` of a log, if held.
    pub fn hash_at(&self, log: &Hash, seq: u64) -> Option<Hash> {
        let l = self.logs.get(log)?;
        l.hashes.get(seq.checked_sub(1)? as usize).copied()
    }

    fn push(&mut self, entry: &hifazat_log::VerifiedEntry) -> LogHead {
        let digest = entry.content().log.digest();
        let l = self.logs.entry(digest).or_insert_with(|| MemLog {
            log: entry.content().log.clone(),
            entries: Vec::new(),
            hashes: Vec::new(),
        });
        l.entries.push(entry.bytes().to_vec());
        l.hashes.push(entry.hash());
        self.records
            .entry(RecordId(entry.content().record))
            .or_default()
            .push((digest, entry.content().seq));
        LogHead {
            log: entry.content().log.clone(),
            seq: entry.content().seq,
            hash: entry.hash(),
        }
    }

    /// Verifies entries and appends those that extend their logs, as the node's engine does. Returns the
    /// outcomes, the entries stored, and the new evidence of forks (kept).
    pub fn apply(
        &mut self,
        verifier: &mut Verifier,
        entries: &[Vec<u8>],
    ) -> (
        Vec<Outcome>,
        Vec<hifazat_log::VerifiedEntry>,
        Vec<EvidencePair>,
    ) {
        let mut outcomes = Vec::with_capacity(entries.len());
        let mut stored = Vec::new();
        let mut evidence = Vec::new();
        for bytes in entries {
            let entry = match Entry::decode(bytes) {
                Ok(e) => e,
                Err(e) => {
                    outcomes.push(Outcome::Invalid(e.to_string()));
                    continue;
                }
            };
            let verified = match verifier.verify(entry) {
                Ok(v) => v,
                Err(e) => {
                    outcomes.push(Outcome::Invalid(e.to_string()));
                    continue;
                }
            };
            let digest = verified.content().log.digest();
            match check_next(self.head(&digest), &verified) {
                Ok(()) => {
                    outcomes.push(Outcome::Stored(self.push(&verified)));
                    stored.push(verified);
                }
                Err(hifazat_log::ChainError::Gap { .. }) => outcomes.push(Outcome::Gap),
                Err(hifazat_log::ChainError::Behind { seq })
                    if self.hash_at(&digest, seq) == Some(verified.hash()) =>
                {
                    outcomes.push(Outcome::Duplicate);
                }
                Err(
                    hifazat_log::ChainError::Behind { seq }
                    | hifazat_log::ChainError::PrevMismatch { prev_seq: seq, .. },
                ) => {
                    let held = self.logs[&digest].entries[seq as usize - 1].clone();
                    let pair = (held, verified.bytes().to_vec());
                    if self.keep_evidence(pair.0.clone(), pair.1.clone()) {
                        evidence.push(pair);
                    }
                    outcomes.push(Outcome::Conflict);
                }
            }
        }
        (outcomes, stored, evidence)
    }
}

impl ChangeSource for MemStore {
    fn changes(&self, record: RecordId) -> Vec<Vec<u8>> {
        let Some(places) = self.records.get(&record) else {
            return Vec::new();
        };
        places
            .iter()
            .filter_map(|(log, seq)| {
                let bytes = self.logs.get(log)?.entries.get(*seq as usize - 1)?;
                Some(Entry::decode(bytes).ok()?.into_content().payload)
            })
            .collect()
    }
}

/// A simulated node.
#[derive(Debug)]
pub struct SimNode {
    pub name: String,
    pub author: Author,
    pub signer: Signer,
    /// `None` while crashed.
    pub sync: Option<Sync>,
    /// Raised at every restart; events addressed to an older incarnation are dropped.
    pub incarnation: u32,
    pub store: MemStore,
    pub replicas: Replicas,
    pub verifier: Verifier,
    /// The installed signed topology (durable).
    pub topology: Vec<u8>,
    /// Gossip ids this incarnation has seen, and who sent each first (to forward away from them).
    pub gossip_seen: BTreeSet<Hash>,
    pub gossip_from: BTreeMap<Hash, (usize, Vec<u8>)>,
    /// The node's key under its topology name, for checkpoints and cosignatures.
    pub note_key: hifazat_note::SignerKey,
}

impl SimNode {
    pub fn new(name: String, seed: [u8; 32], topology: Vec<u8>) -> SimNode {
        let signer = Signer::new(ed25519_dalek::SigningKey::from_bytes(&seed));
        let author = signer.author();
        let note_key =
            hifazat_note::SignerKey::new(&name, seed).expect("a topology name is a key name");
        SimNode {
            note_key,
            name,
            author,
            signer,
            sync: None,
            incarnation: 0,
            store: MemStore::default(),
            replicas: Replicas::new(author.0),
            verifier: Verifier::new(),
            topology,
            gossip_seen: BTreeSet::new(),
            gossip_from: BTreeMap::new(),
        }
    }

    pub fn up(&self) -> bool {
        self.sync.is_some()
    }

    /// Starts (or restarts) the node from what it has on disk.
    pub fn start(&mut self, root: &hifazat_note::VerifierKey) {
        self.incarnation += 1;
        self.replicas = Replicas::new(self.author.0);
        self.gossip_seen.clear();
        self.gossip_from.clear();
        let sync = Sync::new(Config {
            me: self.author,
            root: root.clone(),
            signed_topology: self.topology.clone(),
            heads: self.store.heads(),
            checkpoints: self
                .store
                .checkpoints
                .iter()
                .map(|(log, (_, note))| (*log, note.clone()))
                .collect(),
            evidence: self.store.evidence.iter().cloned().collect(),
        })
        .expect("a simulated node starts from a valid topology");
        self.sync = Some(sync);
    }

    pub fn crash(&mut self) {
        self.sync = None;
    }

    /// Applies entries from elsewhere: store, then replicas. Returns the outcomes and new evidence of forks.
    pub fn apply(&mut self, entries: &[Vec<u8>]) -> (Vec<Outcome>, Vec<EvidencePair>) {
        let (outcomes, stored, evidence) = self.store.apply(&mut self.verifier, entries);
        if !stored.is_empty() {
            self.replicas.apply(&stored, &self.store);
        }
        (outcomes, evidence)
    }

    /// Signs a checkpoint of each of this node's own logs that grew since its last one, and keeps it. Returns
    /// (log, note) for each.
    pub fn sign_checkpoints(&mut self) -> Vec<(Hash, Vec<u8>)> {
        let own: Vec<(Hash, u64)> = self
            .store
            .logs
            .iter()
            .filter(|(_, l)| l.log.author == self.author)
            .map(|(d, l)| (*d, l.entries.len() as u64))
            .filter(|(d, size)| self.store.checkpoints.get(d).is_none_or(|(s, _)| s < size))
            .collect();
        let mut out = Vec::new();
        for (log, size) in own {
            let checkpoint = hifazat_note::Checkpoint {
                origin: hifazat_log::checkpoint_origin(&log),
                size,
                root: self.store.root(&log, size).expect("held"),
                extensions: Vec::new(),
            };
            let note = checkpoint
                .sign(&self.note_key)
                .expect("a checkpoint is a note")
                .encode()
                .into_bytes();
            self.store.checkpoints.insert(log, (size, note.clone()));
            out.push((log, note));
        }
        out
    }

    /// Checks a checkpoint against this node's copy of the log, as the node's engine does (cosigning it at
    /// `time_s` when `cosign`).
    pub fn check_checkpoint(
        &mut self,
        log: Hash,
        note: &[u8],
        cosign: bool,
        time_s: u64,
    ) -> hifazat_sync::CheckResult {
        use hifazat_sync::CheckResult;
        let Some(mut note) = hifazat_note::Note::parse(note).ok() else {
            return CheckResult::Stale;
        };
        let Ok(checkpoint) = hifazat_note::Checkpoint::parse(note.text_unverified()) else {
            return CheckResult::Stale;
        };
        match self.store.root(&log, checkpoint.size) {
            None => return CheckResult::Short,
            Some(root) if root != checkpoint.root => return CheckResult::Differs,
            Some(_) => {}
        }
        if self
            .store
            .checkpoints
            .get(&log)
            .is_some_and(|(s, _)| *s > checkpoint.size)
        {
            return CheckResult::Stale;
        }
        if cosign {
            note.add_cosignature(&self.note_key, time_s)
                .expect("room for a cosignature");
        }
        let bytes = note.encode().into_bytes();
        self.store
            .checkpoints
            .insert(log, (checkpoint.size, bytes.clone()));
        CheckResult::Kept { note: bytes }
    }

    /// Signs a change to `record` into this node's log for `scope` and stores it: the write is acknowledged.
    pub fn write(
        &mut self,
        scope: Scope,
        record: RecordId,
        payload: Vec<u8>,
        now_ms: u64,
    ) -> (LogHead, Vec<u8>) {
        let log = LogId {
            author: self.author,
            scope,
        };
        let head = self.store.head(&log.digest());
        let content = Content::following(log, head, now_ms, record.0, "sim".into(), payload);
        let entry = self
            .signer
            .sign(content)
            .expect("a simulated change fits an entry");
        let bytes = entry.bytes().to_vec();
        (self.store.push(&entry), bytes)
    }

    /// Creates a record here and writes its creation change.
    pub fn create(
        &mut self,
        scope: Scope,
        record: RecordId,
        doc: &RecordDoc,
        now_ms: u64,
    ) -> (LogHead, Vec<u8>) {
        let change = self
            .replicas
            .create(record, doc, now_ms)
            .expect("a simulated record builds");
        self.write(scope, record, change, now_ms)
    }
}
