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

/// What a node keeps across crashes: its logs and the record index. (Equivocation evidence is the store's and the
/// engine's business; the simulator's members are honest.)
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    pub logs: BTreeMap<Hash, MemLog>,
    /// Each record's entries, as (log, seq), in arrival order.
    pub records: BTreeMap<RecordId, Vec<(Hash, u64)>>,
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

    /// The entry at `seq` of a log, if held.
    pub fn hash_at(&self, log: &Hash, seq: u64) -> Option<Hash> {
        let l = self.logs.get(log)?;
        l.hashes.get(seq.checked_sub(1)? as usize).copied()
    }

    fn push(&mut self, entry: &hifazat_log::VerifiedEntry) -> LogHead {
        let digest = entry.content.log.digest();
        let l = self.logs.entry(digest).or_insert_with(|| MemLog {
            log: entry.content.log.clone(),
            entries: Vec::new(),
            hashes: Vec::new(),
        });
        l.entries.push(entry.bytes().to_vec());
        l.hashes.push(entry.hash());
        self.records
            .entry(RecordId(entry.content.record))
            .or_default()
            .push((digest, entry.content.seq));
        LogHead {
            log: entry.content.log.clone(),
            seq: entry.content.seq,
            hash: entry.hash(),
        }
    }

    /// Verifies entries and appends those that extend their logs, as the node's engine does.
    pub fn apply(
        &mut self,
        verifier: &mut Verifier,
        entries: &[Vec<u8>],
    ) -> (Vec<Outcome>, Vec<hifazat_log::VerifiedEntry>) {
        let mut outcomes = Vec::with_capacity(entries.len());
        let mut stored = Vec::new();
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
            let digest = verified.content.log.digest();
            match check_next(self.head(&digest), &verified) {
                Ok(()) => {
                    outcomes.push(Outcome::Stored(self.push(&verified)));
                    stored.push(verified);
                }
                Err(hifazat_log::ChainError::Gap { .. }) => outcomes.push(Outcome::Gap),
                Err(hifazat_log::ChainError::Behind { seq }) => {
                    if self.hash_at(&digest, seq) == Some(verified.hash()) {
                        outcomes.push(Outcome::Duplicate);
                    } else {
                        outcomes.push(Outcome::Conflict);
                    }
                }
                Err(e) => outcomes.push(Outcome::Invalid(e.to_string())),
            }
        }
        (outcomes, stored)
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
                Some(Entry::decode(bytes).ok()?.content.payload)
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
}

impl SimNode {
    pub fn new(name: String, seed: [u8; 32], topology: Vec<u8>) -> SimNode {
        let signer = Signer::new(ed25519_dalek::SigningKey::from_bytes(&seed));
        let author = signer.author();
        SimNode {
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
        })
        .expect("a simulated node starts from a valid topology");
        self.sync = Some(sync);
    }

    pub fn crash(&mut self) {
        self.sync = None;
    }

    /// Applies entries from elsewhere: store, then replicas.
    pub fn apply(&mut self, entries: &[Vec<u8>]) -> Vec<Outcome> {
        let (outcomes, stored) = self.store.apply(&mut self.verifier, entries);
        if !stored.is_empty() {
            self.replicas.apply(&stored, &self.store);
        }
        outcomes
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
