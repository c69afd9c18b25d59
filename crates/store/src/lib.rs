//! The node's durable state, on sled. The only crate that uses sled.
//!
//! What is stored (byte layouts in `docs/storage.md`): every log entry as received or signed, each log's head, an
//! index from records to the entries that change them, the list of records, evidence of equivocation, and node
//! metadata. Record documents are not stored: they are rebuilt from their entries, so entries are the single
//! source of truth and there is nothing to keep consistent with them.
//!
//! Writes go in a [`WriteBatch`] that [`Store::commit`] applies atomically and then flushes: when `commit`
//! returns, the batch is on disk. Every value carries a CRC-32; a value that fails it is reported as
//! [`StoreError::Corrupt`] and never returned.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use hifazat_domain::{RecordId, RecordKind};
use hifazat_log::{
    Author, BackfillError, ChainError, Entry, Hash, Head, LogEnd, LogId, Scope, VerifiedEntry,
    backfill, check_next, evidence_id,
};
use hifazat_merkle::{Digest, Frontier, Nodes};
use thiserror::Error;

pub mod glass;
pub mod photo;
mod purge;
pub mod vault;
pub use photo::{Kept, LocalPhoto};
pub use vault::{Vault, VaultBatch};

const FRAME_VERSION: u8 = 1;
/// A framed payload stored deflated ([`frame_packed`]).
const FRAME_VERSION_PACKED: u8 = 2;
const FRAME_HEADER: usize = 5;
/// Entries and summaries of this many bytes or more are stored deflated when that makes them smaller; up to
/// [`PACK_MAX`], so the pieces of photos (compressed already) are not deflated in vain.
const PACK_MIN: usize = 512;
const PACK_MAX: usize = 16 * 1024;

const ENTRY: u8 = b'E';
const HEAD: u8 = b'H';
const RECORD_ENTRY: u8 = b'R';
const RECORD: u8 = b'K';
const EVIDENCE: u8 = b'V';
const META: u8 = b'M';
const SUMMARY: u8 = b'S';
const TRACKING: u8 = b'T';
const TREE: u8 = b'N';
const FIGURE: u8 = b'F';
const PLACE: u8 = b'P';

#[derive(Debug, Error)]
pub enum StoreError {
    /// The database itself failed (disk full, I/O error). Not recoverable in-process: the node stops, restarts
    /// and recovers from what was flushed.
    #[error("storage failed: {0}")]
    Sled(#[from] sled::Error),
    /// A stored value failed its checksum or does not decode. It is never served.
    #[error("corrupt value at {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

/// How long an open waits for the directory's lock while another handle in this process is still letting it go.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// What sled may keep of the store in memory (its default is 1 GiB): a node must fit in well under 1 GB with
/// everything else it holds.
const CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// Opens the sled database in `dir`. Dropping a handle does not release the directory's lock at once: a write
/// of its last log buffer may still be finishing on sled's IO pool, which holds the file (and its lock) until
/// it is done. An open in the same process right after a drop (a tool, a test) would then fail, so a lock held
/// elsewhere is retried for up to [`LOCK_WAIT`]. A lock still held after that (another process serving the
/// same directory) is the error it was.
pub(crate) fn open_db(dir: &Path) -> Result<sled::Db, sled::Error> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .cache_capacity(CACHE_BYTES)
            .open()
        {
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            opened => return opened,
        }
    }
}

#[derive(Debug, Error)]
pub enum AppendError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// An entry at this position is already stored with other content, or the entry follows another entry than
    /// the one stored before it: the author forked the log. The stored entry (at its position, or before it) is
    /// returned so the two can be kept as evidence.
    #[error("another entry is stored at this position")]
    Conflict { stored: Vec<u8> },
    /// Exactly this entry is already stored.
    #[error("entry already stored")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_HEADER + payload.len());
    out.push(FRAME_VERSION);
    out.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Frames `payload` deflated (version 2: CRC-32 of the payload as it is, its length in 4 bytes, then a raw deflate
/// stream) when it is between [`PACK_MIN`] and [`PACK_MAX`] bytes and deflating saves bytes, else as [`frame`] does.
/// Entries (automerge changes of records, whose text and keys deflate) and summaries are stored so: on disk they
/// take about a quarter less, and sled, which keeps each value in its log-structured pages more than once, writes
/// less.
fn frame_packed(payload: &[u8]) -> Vec<u8> {
    if (PACK_MIN..=PACK_MAX).contains(&payload.len()) {
        let mut out = Vec::with_capacity(payload.len());
        out.push(FRAME_VERSION_PACKED);
        out.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        let mut deflate = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
        deflate
            .write_all(payload)
            .expect("deflating into memory does not fail");
        let packed = deflate
            .finish()
            .expect("deflating into memory does not fail");
        if packed.len() < FRAME_HEADER + payload.len() {
            return packed;
        }
    }
    frame(payload)
}

/// The payload of a framed value, checked against its CRC-32 (inflated first if it was stored deflated).
fn unframe<'a>(key: &[u8], value: &'a [u8]) -> Result<Cow<'a, [u8]>, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: hex::encode(key),
        reason: reason.to_owned(),
    };
    if value.len() < FRAME_HEADER {
        return Err(corrupt("shorter than its frame header"));
    }
    let crc = u32::from_be_bytes(value[1..5].try_into().expect("4 bytes"));
    let payload = match value[0] {
        FRAME_VERSION => Cow::Borrowed(&value[FRAME_HEADER..]),
        FRAME_VERSION_PACKED => {
            let Some(len) = value.get(FRAME_HEADER..FRAME_HEADER + 4) else {
                return Err(corrupt("shorter than its frame header"));
            };
            let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
            if len > PACK_MAX {
                return Err(corrupt("deflated length over the limit"));
            }
            let stream = &value[FRAME_HEADER + 4..];
            let mut raw = Vec::with_capacity(len);
            let mut inflate = flate2::Decompress::new(false);
            let status = inflate
                .decompress_vec(stream, &mut raw, flate2::FlushDecompress::Finish)
                .map_err(|e| corrupt(&format!("does not inflate: {e}")))?;
            if status != flate2::Status::StreamEnd
                || raw.len() != len
                || inflate.total_in() as usize != stream.len()
            {
                return Err(corrupt("does not inflate to its length"));
            }
            Cow::Owned(raw)
        }
        _ => return Err(corrupt("unknown frame version")),
    };
    if crc32fast::hash(&payload) != crc {
        return Err(corrupt("checksum mismatch"));
    }
    Ok(payload)
}

/// A key: its one-byte prefix, then `parts` in order.
fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(prefix);
    for part in parts {
        k.extend_from_slice(part);
    }
    k
}

/// A record's key in the index of places: kind, district, a zero byte, then its id (when given).
fn place_key(kind: RecordKind, district: &str, record: Option<&RecordId>) -> Vec<u8> {
    let id: &[u8] = record.map_or(&[], |r| &r.0);
    key(PLACE, &[&[kind.code()], district.as_bytes(), &[0], id])
}

fn entry_key(log: &Hash, seq: u64) -> Vec<u8> {
    key(ENTRY, &[&log.0, &seq.to_be_bytes()])
}

fn head_key(log: &Hash) -> Vec<u8> {
    key(HEAD, &[&log.0])
}

fn record_entry_key(record: &RecordId, log: &Hash, seq: u64) -> Vec<u8> {
    key(RECORD_ENTRY, &[&record.0, &log.0, &seq.to_be_bytes()])
}

fn record_key(record: &RecordId) -> Vec<u8> {
    key(RECORD, &[&record.0])
}

fn summary_key(kind: RecordKind, record: &RecordId) -> Vec<u8> {
    key(SUMMARY, &[&[kind.code()], &record.0])
}

/// A complete subtree of a log's Merkle tree: `level` (leaves are 0), then its index at that level.
fn tree_key(log: &Hash, level: u8, index: u64) -> Vec<u8> {
    key(TREE, &[&log.0, &[level], &index.to_be_bytes()])
}

/// The metadata name under which a log's newest signed checkpoint is kept.
fn checkpoint_meta(log: &Hash) -> String {
    format!("checkpoint/{}", log.to_hex())
}

fn tracking_key(code: &str) -> Vec<u8> {
    key(TRACKING, &[code.as_bytes()])
}

/// An alert's short code in the index of codes: the code's text, then the alert's id (codes are not unique).
fn alert_code_key(code: &str, record: Option<&RecordId>) -> Vec<u8> {
    key(
        TRACKING,
        &[code.as_bytes(), record.map_or(&[][..], |r| &r.0)],
    )
}

/// Alerts one short code answers at most (two alerts share a code about once in two million alerts).
pub const ALERTS_PER_CODE_MAX: usize = 16;

/// A log's head as stored, with the log it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHead {
    pub log: LogId,
    pub head: Head,
}

fn encode_head(h: &StoredHead) -> Vec<u8> {
    let scope = h.log.scope.wire();
    let scope = scope.as_bytes();
    let mut out = Vec::with_capacity(8 + 32 + 32 + 1 + scope.len());
    out.extend_from_slice(&h.head.seq.to_be_bytes());
    out.extend_from_slice(&h.head.hash.0);
    out.extend_from_slice(&h.log.author.0);
    out.push(scope.len() as u8);
    out.extend_from_slice(scope);
    out
}

fn decode_head(key: &[u8], bytes: &[u8]) -> Result<StoredHead, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: hex::encode(key),
        reason: reason.to_owned(),
    };
    if bytes.len() < 73 || bytes.len() != 73 + bytes[72] as usize {
        return Err(corrupt("head has the wrong length"));
    }
    let head = StoredHead {
        head: Head {
            seq: u64::from_be_bytes(bytes[..8].try_into().expect("8")),
            hash: Hash(bytes[8..40].try_into().expect("32")),
        },
        log: LogId {
            author: Author(bytes[40..72].try_into().expect("32")),
            scope: Scope::decode(&bytes[73..]).map_err(|_| corrupt("scope is not valid"))?,
        },
    };
    // Read back: a head is kept under its own log's key, and a log has at least one entry.
    if key != head_key(&head.log.digest()).as_slice() {
        return Err(corrupt("head is kept under another log's key"));
    }
    if head.head.seq == 0 {
        return Err(corrupt("head of a log with no entry"));
    }
    Ok(head)
}

/// Two conflicting entries' bytes, as stored.
pub type EvidencePair = (Vec<u8>, Vec<u8>);

/// What the store remembers of a record besides its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMeta {
    pub kind: RecordKind,
    /// When the creating entry was written, milliseconds since the Unix epoch.
    pub created_ms: u64,
}

/// A record's index entry, 9 bytes checked by the caller: the kind's code, then the creation time.
fn decode_meta(key: &[u8], v: &[u8]) -> Result<RecordMeta, StoreError> {
    Ok(RecordMeta {
        kind: RecordKind::from_code(v[0]).ok_or_else(|| StoreError::Corrupt {
            key: hex::encode(key),
            reason: format!("record kind {} is not known", v[0]),
        })?,
        created_ms: u64::from_be_bytes(v[1..9].try_into().expect("8")),
    })
}

/// Writes to be committed together. Tracks the heads it advances so several entries of one log can go in one
/// batch.
#[derive(Debug)]
pub struct WriteBatch {
    batch: sled::Batch,
    heads: HashMap<Hash, StoredHead>,
    /// Entries added to this batch, by (log id, seq): sled cannot read a batch back, and a later entry at a
    /// position behind the head must be compared with what is here as well as with what is on disk.
    entries: HashMap<(Hash, u64), Vec<u8>>,
    /// The end of each log this batch extends (its head and the right edge of its tree) as the batch leaves it.
    ends: HashMap<Hash, LogEnd>,
    /// Keys written, of any kind.
    writes: usize,
}

impl WriteBatch {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes += 1;
        self.batch.insert(key, value);
    }

    fn delete(&mut self, key: Vec<u8>) {
        self.writes += 1;
        self.batch.remove(key);
    }

    /// Entries added.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing at all is written: no entry, and no other key (evidence, metadata, a record's summary).
    pub fn is_empty(&self) -> bool {
        self.writes == 0
    }
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
}

impl Store {
    /// Opens the store in `dir` without checking its heads, for a tool that checks everything itself and must
    /// report damage rather than stop at it (`hifazat log verify`). Values still fail their checksums on read.
    pub fn open_unchecked(dir: &Path) -> Result<Store, StoreError> {
        Ok(Store { db: open_db(dir)? })
    }

    /// Opens (or creates) the store in `dir`, and checks that every log head points at a stored entry with that
    /// hash and that nothing is stored past it.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let store = Store::open_unchecked(dir)?;
        for head in store.heads()? {
            let digest = head.log.digest();
            let entry =
                store
                    .entry(&digest, head.head.seq)?
                    .ok_or_else(|| StoreError::Corrupt {
                        key: hex::encode(head_key(&digest)),
                        reason: format!("head names entry #{} that is not stored", head.head.seq),
                    })?;
            let decoded = Entry::decode(&entry).map_err(|e| StoreError::Corrupt {
                key: hex::encode(entry_key(&digest, head.head.seq)),
                reason: e.to_string(),
            })?;
            if decoded.hash() != head.head.hash
                || store.entry(&digest, head.head.seq + 1)?.is_some()
            {
                return Err(StoreError::Corrupt {
                    key: hex::encode(head_key(&digest)),
                    reason: "head does not match the entries stored".into(),
                });
            }
            if store
                .get(&tree_key(&digest, 0, head.head.seq - 1))?
                .is_none()
            {
                store.build_tree(&head)?;
            }
        }
        Ok(store)
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.db.get(key)? {
            None => Ok(None),
            Some(value) => Ok(Some(unframe(key, &value)?.into_owned())),
        }
    }

    /// Every log's head.
    pub fn heads(&self) -> Result<Vec<StoredHead>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix([HEAD]) {
            let (k, v) = item?;
            out.push(decode_head(&k, &unframe(&k, &v)?)?);
        }
        Ok(out)
    }

    pub fn head(&self, log: &Hash) -> Result<Option<StoredHead>, StoreError> {
        let key = head_key(log);
        self.get(&key)?.map(|v| decode_head(&key, &v)).transpose()
    }

    /// The stored bytes of entry `seq` of a log.
    pub fn entry(&self, log: &Hash, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&entry_key(log, seq))
    }

    /// Entries of a log from `from_seq` on, at most `limit`, in order.
    pub fn entries(
        &self,
        log: &Hash,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let start = entry_key(log, from_seq);
        let end = entry_key(log, u64::MAX);
        let mut out = Vec::new();
        for item in self.db.range(start..=end).take(limit) {
            let (k, v) = item?;
            out.push(unframe(&k, &v)?.into_owned());
        }
        Ok(out)
    }

    /// The automerge change of every stored entry for `record`.
    pub fn record_changes(&self, record: &RecordId) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .record_entries(record)?
            .into_iter()
            .map(|e| e.into_content().payload)
            .collect())
    }

    /// Every stored entry for `record`, decoded, in index order (by log, then sequence number).
    pub fn record_entries(&self, record: &RecordId) -> Result<Vec<Entry>, StoreError> {
        let prefix = key(RECORD_ENTRY, &[&record.0]);
        let mut out = Vec::new();
        for item in self.db.scan_prefix(&prefix) {
            let (k, _) = item?;
            let log = Hash(k[17..49].try_into().expect("key layout"));
            let seq = u64::from_be_bytes(k[49..57].try_into().expect("key layout"));
            let bytes = self.entry(&log, seq)?.ok_or_else(|| StoreError::Corrupt {
                key: hex::encode(&k),
                reason: "index names an entry that is not stored".into(),
            })?;
            let entry = Entry::decode(&bytes).map_err(|e| StoreError::Corrupt {
                key: hex::encode(entry_key(&log, seq)),
                reason: e.to_string(),
            })?;
            out.push(entry);
        }
        Ok(out)
    }

    pub fn record(&self, record: &RecordId) -> Result<Option<RecordMeta>, StoreError> {
        let key = record_key(record);
        self.get(&key)?
            .map(|v| {
                if v.len() != 9 {
                    return Err(StoreError::Corrupt {
                        key: hex::encode(&key),
                        reason: "record meta length".into(),
                    });
                }
                decode_meta(&key, &v)
            })
            .transpose()
    }

    /// Every record id, in id order.
    pub fn records(&self) -> Result<Vec<(RecordId, RecordMeta)>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix([RECORD]) {
            let (k, v) = item?;
            let v = unframe(&k, &v)?;
            if k.len() != 17 || v.len() != 9 {
                return Err(StoreError::Corrupt {
                    key: hex::encode(&k),
                    reason: "record meta length".into(),
                });
            }
            out.push((
                RecordId(k[1..17].try_into().expect("16")),
                decode_meta(&k, &v)?,
            ));
        }
        Ok(out)
    }

    /// Stored evidence: pairs of conflicting entries' bytes.
    pub fn evidence(&self) -> Result<Vec<EvidencePair>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix([EVIDENCE]) {
            let (k, v) = item?;
            let v = unframe(&k, &v)?;
            let split = v
                .get(..4)
                .map(|n| u32::from_be_bytes(n.try_into().expect("4 bytes")) as usize);
            let Some(split) = split.filter(|split| v.len() >= 4 + split) else {
                return Err(StoreError::Corrupt {
                    key: hex::encode(&k),
                    reason: "evidence length".into(),
                });
            };
            out.push((v[4..4 + split].to_vec(), v[4 + split..].to_vec()));
        }
        Ok(out)
    }

    pub fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&key(META, &[name.as_bytes()]))
    }

    /// A new, empty batch.
    pub fn batch(&self) -> WriteBatch {
        WriteBatch {
            batch: sled::Batch::default(),
            heads: HashMap::new(),
            entries: HashMap::new(),
            ends: HashMap::new(),
            writes: 0,
        }
    }

    /// A log's head as it will be once `batch` is committed: the batch's own, else the stored one.
    pub fn head_in(
        &self,
        batch: &WriteBatch,
        log: &Hash,
    ) -> Result<Option<StoredHead>, StoreError> {
        match batch.heads.get(log) {
            Some(h) => Ok(Some(h.clone())),
            None => self.head(log),
        }
    }

    /// Entry `seq` of a log, at or below its head as it will be once `batch` is committed.
    fn entry_in(&self, batch: &WriteBatch, log: &Hash, seq: u64) -> Result<Vec<u8>, StoreError> {
        match batch.entries.get(&(*log, seq)) {
            Some(bytes) => Ok(bytes.clone()),
            None => self.entry(log, seq)?.ok_or_else(|| StoreError::Corrupt {
                key: hex::encode(entry_key(log, seq)),
                reason: "at or below the log's head, yet not stored".into(),
            }),
        }
    }

    /// Adds a verified entry to `batch`, if it extends its log. `record` is given for an entry that creates a
    /// record.
    pub fn append(
        &self,
        batch: &mut WriteBatch,
        entry: &VerifiedEntry,
        record: Option<RecordMeta>,
    ) -> Result<(), AppendError> {
        let digest = entry.content().log.digest();
        let head = self.head_in(batch, &digest)?;
        match check_next(head.as_ref().map(|h| h.head), entry) {
            Ok(()) => {}
            Err(ChainError::Behind { seq }) => {
                let stored = self.entry_in(batch, &digest, seq)?;
                return if stored == entry.bytes() {
                    Err(AppendError::Duplicate)
                } else {
                    Err(AppendError::Conflict { stored })
                };
            }
            Err(ChainError::PrevMismatch { prev_seq, .. }) => {
                // The author signed this after another entry than the one held: a fork, like equivocation.
                return Err(AppendError::Conflict {
                    stored: self.entry_in(batch, &digest, prev_seq)?,
                });
            }
            Err(e) => return Err(e.into()),
        }
        let seq = entry.content().seq;
        let record_id = RecordId(entry.content().record);
        batch.put(entry_key(&digest, seq), frame_packed(entry.bytes()));
        batch.put(record_entry_key(&record_id, &digest, seq), frame(&[]));
        if let Some(meta) = record {
            self.set_record(batch, &record_id, meta);
        }
        let new_head = StoredHead {
            log: entry.content().log.clone(),
            head: entry.head(),
        };
        batch.put(head_key(&digest), frame(&encode_head(&new_head)));
        let end = match batch.ends.entry(digest) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let head = head.map(|h| h.head);
                let frontier = Frontier::of(&self.tree(digest), head.map_or(0, |h| h.seq))?;
                v.insert(LogEnd::new(new_head.log.clone(), head, frontier))
            }
        };
        // The tree and the head move together: the tree now covers exactly the entries up to this one.
        let finished = end.place(entry).expect("checked to follow the head above");
        for (level, index, hash) in finished {
            batch.put(tree_key(&digest, level, index), frame(&hash));
        }
        batch.heads.insert(digest, new_head);
        batch.entries.insert((digest, seq), entry.bytes().to_vec());
        Ok(())
    }

    /// A log's Merkle tree as stored: every complete subtree of the entries applied so far.
    pub fn tree(&self, log: Hash) -> LogTree<'_> {
        LogTree { store: self, log }
    }

    /// Writes the Merkle tree of a log whose entries were stored without one (a store from before trees were
    /// kept), from its entries. Returns how many entries it read.
    fn build_tree(&self, head: &StoredHead) -> Result<u64, StoreError> {
        let digest = head.log.digest();
        let frontier = backfill(
            head.head.seq,
            |from| self.entries(&digest, from, 4096),
            |nodes| {
                let mut batch = self.batch();
                for (level, index, hash) in nodes {
                    batch.put(tree_key(&digest, level, index), frame(&hash));
                }
                self.apply(batch)
            },
        );
        let frontier = match frontier {
            Ok(frontier) => frontier,
            // Read up to the gap, as before: log verify names a missing entry itself.
            Err(BackfillError::Missing { seq }) => return self.flush().map(|()| seq - 1),
            Err(BackfillError::Damaged { seq, error }) => {
                return Err(StoreError::Corrupt {
                    key: hex::encode(entry_key(&digest, seq)),
                    reason: error.to_string(),
                });
            }
            Err(BackfillError::Io(e)) => return Err(e),
        };
        self.flush()?;
        Ok(frontier.size())
    }

    /// Adds or replaces a record's entry in the record index.
    pub fn set_record(&self, batch: &mut WriteBatch, record: &RecordId, meta: RecordMeta) {
        let mut v = vec![meta.kind.code()];
        v.extend_from_slice(&meta.created_ms.to_be_bytes());
        batch.put(record_key(record), frame(&v));
    }

    /// Sets a record's summary (the engine's bytes, for lists) in `batch`, beside the entries
    /// that changed it, so the two never disagree on disk.
    pub fn set_summary(
        &self,
        batch: &mut WriteBatch,
        kind: RecordKind,
        record: &RecordId,
        summary: &[u8],
    ) {
        batch.put(summary_key(kind, record), frame_packed(summary));
    }

    /// Removes a record's summary under `kind` (a record whose winning creation is of another kind than the one
    /// it was filed under) in `batch`.
    pub fn remove_summary(&self, batch: &mut WriteBatch, kind: RecordKind, record: &RecordId) {
        batch.delete(summary_key(kind, record));
    }

    /// A record's summary, as stored.
    pub fn summary(
        &self,
        kind: RecordKind,
        record: &RecordId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&summary_key(kind, record))
    }

    /// Sets one cell of the statistics aggregates (its key and bytes as `hifazat-figures` writes them) in `batch`,
    /// beside the summaries whose change moved it; `None` removes it.
    pub fn set_figure(&self, batch: &mut WriteBatch, cell_key: &[u8], cell: Option<&[u8]>) {
        let k = key(FIGURE, &[cell_key]);
        match cell {
            Some(bytes) => batch.put(k, frame(bytes)),
            None => batch.delete(k),
        }
    }

    /// Every cell of the statistics aggregates: its key (without the store's prefix) and bytes.
    pub fn figures(&self) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + '_ {
        self.db.scan_prefix([FIGURE]).map(|item| {
            let (k, v) = item?;
            Ok((k[1..].to_vec(), unframe(&k, &v)?.into_owned()))
        })
    }

    /// Summaries of records of `kind`, newest id first, starting below `before` when given. Ids begin with their
    /// creation time, so this is newest first.
    pub fn summaries(
        &self,
        kind: RecordKind,
        before: Option<&RecordId>,
    ) -> impl Iterator<Item = Result<(RecordId, Vec<u8>), StoreError>> + '_ {
        let start = summary_key(kind, &RecordId([0; 16]));
        let end = match before {
            Some(record) => summary_key(kind, record),
            None => key(SUMMARY, &[&[kind.code() + 1]]),
        };
        self.db.range(start..end).rev().map(|item| {
            let (k, v) = item?;
            if k.len() != 18 {
                return Err(StoreError::Corrupt {
                    key: hex::encode(&k),
                    reason: "summary key length".into(),
                });
            }
            let record = RecordId(k[2..18].try_into().expect("16"));
            Ok((record, unframe(&k, &v)?.into_owned()))
        })
    }

    /// Files a record under its district in `batch`, with its stage's name (the index of lists narrowed to a
    /// place); `None` takes it out.
    pub fn set_place(
        &self,
        batch: &mut WriteBatch,
        kind: RecordKind,
        district: &str,
        record: &RecordId,
        stage: Option<&str>,
    ) {
        let k = place_key(kind, district, Some(record));
        match stage {
            Some(stage) => batch.put(k, frame(stage.as_bytes())),
            None => batch.delete(k),
        }
    }

    /// The records of `kind` filed under `district` ([`Store::set_place`]), newest id first, starting below
    /// `before` when given: each id and its stage's name.
    pub fn places(
        &self,
        kind: RecordKind,
        district: &str,
        before: Option<&RecordId>,
    ) -> impl Iterator<Item = Result<(RecordId, Vec<u8>), StoreError>> + '_ {
        let start = place_key(kind, district, None);
        let mut end = start.clone();
        match before {
            Some(record) => end.extend_from_slice(&record.0),
            // Past every id: the separator after the district, plus one.
            None => *end.last_mut().expect("a separator") += 1,
        }
        let id_at = start.len();
        self.db.range(start..end).rev().map(move |item| {
            let (k, v) = item?;
            if k.len() != id_at + 16 {
                return Err(StoreError::Corrupt {
                    key: hex::encode(&k),
                    reason: "place key length".into(),
                });
            }
            let record = RecordId(k[id_at..].try_into().expect("16"));
            Ok((record, unframe(&k, &v)?.into_owned()))
        })
    }

    /// Takes every record out of the index of places (before it is built again); how many there were.
    pub fn clear_places(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        let mut batch = sled::Batch::default();
        for item in self.db.scan_prefix([PLACE]) {
            batch.remove(item?.0);
            n += 1;
            if n % 4_096 == 0 {
                self.db.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        self.db.apply_batch(batch)?;
        Ok(n)
    }

    /// Files a case's tracking code in `batch`.
    pub fn set_tracking(&self, batch: &mut WriteBatch, code: &str, record: &RecordId) {
        batch.put(tracking_key(code), frame(&record.0));
    }

    /// The record a tracking code was given to.
    pub fn tracking(&self, code: &str) -> Result<Option<RecordId>, StoreError> {
        let key = tracking_key(code);
        self.get(&key)?
            .map(|v| {
                v.as_slice()
                    .try_into()
                    .map(RecordId)
                    .map_err(|_| StoreError::Corrupt {
                        key: hex::encode(&key),
                        reason: "tracking value length".into(),
                    })
            })
            .transpose()
    }

    /// Files an alert's short code (`hifazat_domain::AlertCode`) in `batch`.
    pub fn set_alert_code(&self, batch: &mut WriteBatch, code: &str, record: &RecordId) {
        batch.put(alert_code_key(code, Some(record)), frame(&[]));
    }

    /// The alerts with this short code, at most [`ALERTS_PER_CODE_MAX`].
    pub fn alert_code(&self, code: &str) -> Result<Vec<RecordId>, StoreError> {
        let prefix = alert_code_key(code, None);
        let mut out = Vec::new();
        for item in self.db.scan_prefix(&prefix).take(ALERTS_PER_CODE_MAX) {
            let (k, v) = item?;
            unframe(&k, &v)?;
            let id =
                k[prefix.len()..]
                    .try_into()
                    .map(RecordId)
                    .map_err(|_| StoreError::Corrupt {
                        key: hex::encode(&k),
                        reason: "alert code key length".into(),
                    })?;
            out.push(id);
        }
        Ok(out)
    }

    /// Adds evidence of equivocation (two conflicting entries' bytes) to `batch`.
    pub fn add_evidence(&self, batch: &mut WriteBatch, first: &[u8], second: &[u8]) {
        let evidence_key = key(EVIDENCE, &[&evidence_id(first, second).0]);
        let mut v = Vec::with_capacity(4 + first.len() + second.len());
        v.extend_from_slice(&(first.len() as u32).to_be_bytes());
        v.extend_from_slice(first);
        v.extend_from_slice(second);
        batch.put(evidence_key, frame(&v));
    }

    /// The newest signed checkpoint kept for a log (note text), if any.
    pub fn checkpoint(&self, log: &Hash) -> Result<Option<String>, StoreError> {
        let name = checkpoint_meta(log);
        self.meta(&name)?
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| StoreError::Corrupt {
                    key: name.clone(),
                    reason: "checkpoint is not UTF-8".into(),
                })
            })
            .transpose()
    }

    /// Every checkpoint kept: (log, note text).
    pub fn checkpoints(&self) -> Result<Vec<(Hash, String)>, StoreError> {
        let prefix = key(META, &[b"checkpoint/"]);
        let mut out = Vec::new();
        for item in self.db.scan_prefix(&prefix) {
            let (k, v) = item?;
            let corrupt = |reason: &str| StoreError::Corrupt {
                key: String::from_utf8_lossy(&k).into_owned(),
                reason: reason.into(),
            };
            let log = hex::decode(&k[prefix.len()..])
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(Hash)
                .ok_or_else(|| corrupt("checkpoint key names no log"))?;
            let note = String::from_utf8(unframe(&k, &v)?.into_owned())
                .map_err(|_| corrupt("checkpoint is not UTF-8"))?;
            out.push((log, note));
        }
        Ok(out)
    }

    /// Keeps `note` as the newest signed checkpoint of a log, in `batch`.
    pub fn set_checkpoint(&self, batch: &mut WriteBatch, log: &Hash, note: &str) {
        self.set_meta(batch, &checkpoint_meta(log), note.as_bytes());
    }

    /// Sets a metadata value in `batch`.
    pub fn set_meta(&self, batch: &mut WriteBatch, name: &str, value: &[u8]) {
        batch.put(key(META, &[name.as_bytes()]), frame(value));
    }

    /// Applies `batch` atomically and flushes it to disk. When this returns `Ok`, the batch survives a crash.
    pub fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.apply(batch)?;
        self.flush()
    }

    /// Applies a batch atomically, without waiting for the disk: reads see it at once, but nothing it wrote may
    /// be acknowledged until a [`Store::flush`] that starts after this returns. [`Store::commit`] does both.
    pub fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        // Before a batch is written: every log's new head is the newest entry the batch adds to it, and its tree
        // covers exactly its entries (docs/style.md, habit 8; cheap, so kept in release builds).
        for (log, head) in &batch.heads {
            let newest = batch
                .entries
                .keys()
                .filter(|(l, _)| l == log)
                .map(|(_, seq)| *seq)
                .max();
            assert_eq!(
                newest,
                Some(head.head.seq),
                "the batch's head of {log} is not its newest entry"
            );
            if let Some(end) = batch.ends.get(log) {
                assert_eq!(
                    end.frontier().size(),
                    head.head.seq,
                    "the batch's tree of {log} lags its head"
                );
            }
        }
        self.db.apply_batch(batch.batch)?;
        Ok(())
    }

    /// Makes everything applied before this call durable (written and fsynced). Any clone of the store may call
    /// it, from any thread, while another thread applies further batches.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Writes raw bytes under a raw key, bypassing framing: only for tests that corrupt the store on purpose.
    #[doc(hidden)]
    pub fn corrupt_for_test(&self, log: &Hash, seq: u64, value: &[u8]) -> Result<(), StoreError> {
        self.db.insert(entry_key(log, seq), value)?;
        self.db.flush()?;
        Ok(())
    }

    /// Removes the index of places and its marker, as a store written before it was kept would lack them: only
    /// for tests.
    #[doc(hidden)]
    pub fn drop_places_for_test(&self, marker: &str) -> Result<(), StoreError> {
        self.clear_places()?;
        self.db.remove(key(META, &[marker.as_bytes()]))?;
        self.db.flush()?;
        Ok(())
    }

    /// Removes the statistics aggregates and the meta entry `marker`, as a store written before they were kept
    /// would lack them: only for tests.
    #[doc(hidden)]
    pub fn drop_figures_for_test(&self, marker: &str) -> Result<(), StoreError> {
        for item in self.db.scan_prefix([FIGURE]) {
            self.db.remove(item?.0)?;
        }
        self.db.remove(key(META, &[marker.as_bytes()]))?;
        self.db.flush()?;
        Ok(())
    }

    /// Removes a log's Merkle tree, as a store written before trees were kept would lack it: only for tests.
    #[doc(hidden)]
    pub fn drop_tree_for_test(&self, log: &Hash) -> Result<(), StoreError> {
        for item in self.db.scan_prefix(key(TREE, &[&log.0])) {
            self.db.remove(item?.0)?;
        }
        self.db.flush()?;
        Ok(())
    }

    /// Replaces a stored entry with other bytes, framed with a valid checksum (so only the entry's own checks
    /// can catch it), or removes it when `bytes` is `None`: only for tests that tamper with a store on purpose.
    #[doc(hidden)]
    pub fn tamper_for_test(
        &self,
        log: &Hash,
        seq: u64,
        bytes: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        match bytes {
            Some(bytes) => self.db.insert(entry_key(log, seq), frame_packed(bytes))?,
            None => self.db.remove(entry_key(log, seq))?,
        };
        self.db.flush()?;
        Ok(())
    }
}

/// A log's Merkle tree in the store (see [`Store::tree`]). A subtree that is not stored is reported as corrupt:
/// every complete subtree of every applied entry is written in the entry's own batch.
#[derive(Debug, Clone, Copy)]
pub struct LogTree<'a> {
    store: &'a Store,
    log: Hash,
}

impl Nodes for LogTree<'_> {
    type Error = StoreError;
    fn node(&self, level: u8, index: u64) -> Result<Digest, StoreError> {
        let key = tree_key(&self.log, level, index);
        let value = self.store.get(&key)?.ok_or_else(|| StoreError::Corrupt {
            key: hex::encode(&key),
            reason: "Merkle tree node is not stored".into(),
        })?;
        value.try_into().map_err(|_| StoreError::Corrupt {
            key: hex::encode(&key),
            reason: "Merkle tree node is not 32 bytes".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Vec<u8> {
        let words = [
            "last", "seen", "near", "the", "bus", "stand", "in", "a", "blue", "shirt",
        ];
        (0..n)
            .map(|i| words[(i * i + 3 * i) % words.len()])
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes()
    }

    #[test]
    fn text_is_stored_deflated_and_read_back_whole() {
        let payload = text(200);
        let packed = frame_packed(&payload);
        assert_eq!(packed[0], FRAME_VERSION_PACKED);
        assert!(
            packed.len() * 2 < payload.len(),
            "{} of {}",
            packed.len(),
            payload.len()
        );
        assert_eq!(&*unframe(b"k", &packed).unwrap(), &payload[..]);
        // Short values, and values that deflating would not shrink, are framed as they are.
        assert_eq!(frame_packed(b"short")[0], FRAME_VERSION);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        assert_eq!(frame_packed(&noise), frame(&noise));
        let large = text(5000);
        assert!(large.len() > PACK_MAX);
        assert_eq!(frame_packed(&large), frame(&large));
    }

    #[test]
    fn a_damaged_deflated_value_is_reported_not_served() {
        let payload = text(200);
        let packed = frame_packed(&payload);
        let corrupt = |v: &[u8]| matches!(unframe(b"k", v), Err(StoreError::Corrupt { .. }));
        // A flipped bit anywhere: an error, or (where the bit does not change what the stream inflates to) the
        // payload itself. Never another value.
        let mut refused = 0;
        for at in 0..packed.len() {
            let mut bad = packed.clone();
            bad[at] ^= 0x40;
            match unframe(b"k", &bad) {
                Err(StoreError::Corrupt { .. }) => refused += 1,
                Ok(p) => assert_eq!(
                    &*p,
                    &payload[..],
                    "a flipped byte at {at} was served as another value"
                ),
                Err(e) => panic!("{e}"),
            }
        }
        assert!(
            refused * 10 > packed.len() * 9,
            "{refused} of {} flips refused",
            packed.len()
        );
        assert!(
            corrupt(&packed[..packed.len() - 3]),
            "a cut value was served"
        );
        let mut longer = packed.clone();
        longer.push(0);
        assert!(
            corrupt(&longer),
            "a value with bytes after its stream was served"
        );
        let mut claim = packed.clone();
        claim[5..9].copy_from_slice(&((PACK_MAX + 1) as u32).to_be_bytes());
        assert!(corrupt(&claim));
    }
}
