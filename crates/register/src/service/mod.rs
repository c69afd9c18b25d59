//! The register as the federal node runs it: entries, their signed log, the CNIC index, consultations, alarms and
//! notifications from the field, in a [`Vault`] of their own with every value encrypted.
//!
//! Vault layout (one-byte trees; values are sealed with the register key unless said otherwise, each bound to its
//! tree and key):
//! - `L` seq (8 bytes, big-endian) → the register log's entry, as signed (its payload is the sealed change);
//!   `T` its Merkle tree and `K` its newest signed checkpoint, both unsealed and written in the entry's batch
//!   (see [`crate::log`]);
//! - `O` entry id (16 bytes) → the entry; the reserved id `ff…ff` holds a decoy that misses read instead, so a
//!   hit and a miss do the same work;
//! - `I` keyed CNIC hash (32 bytes) → entry id (not sealed: neither says anything without the key);
//! - `C` seq → a consultation; `A` seq → an alarm; `N` seq → a notification received;
//! - `U` notification log id (32 bytes) → the last sequence number applied from it (not sealed).
//!
//! Writes are applied under the state lock, so sequence numbers and the log's chain become durable in order, and
//! flushed after it, so concurrent requests share flushes. Nothing is answered before its flush.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;

use ed25519_dalek::SigningKey;
use hifazat_domain::{Invalid, validate};
use hifazat_limits as limits;
use hifazat_log::{Author, BackfillError, Head, LogEnd, LogId, Scope, Signer, backfill};
use hifazat_merkle::Frontier;
use hifazat_note::{Checkpoint, SignerKey};
use hifazat_store::{StoreError, Vault, VaultBatch};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::guard::{Alarm, Guard, GuardConfig, Refusal, Requester, Verdict};
use crate::keys::RegisterKeys;
use crate::log::{CHECKPOINT, LOG, RegisterLog, TREE, node_key, seq_key};
use crate::offender::{ApplyError, Change, Offender, OffenderDraft, Update};
use crate::reply::{Disclosure, VerifyReply};
use crate::seal;

mod consult;
mod notices;

pub use consult::{AlarmRecord, Channel, ConsultOutcome, Consultation};
pub use notices::{Notice, NoticeDraft, NoticeOutcome, NoticeRecord};

const OFFENDER: u8 = b'O';
const INDEX: u8 = b'I';
const CONSULTATION: u8 = b'C';
const ALARM: u8 = b'A';
const NOTICE: u8 = b'N';
const CURSOR: u8 = b'U';
const DECOY: [u8; 16] = [0xff; 16];
const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// Consultations read back per page when the guard's counts are restored at start-up.
const RESTORE_PAGE: usize = 10_000;

#[derive(Debug, Error)]
pub enum RegisterError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("no register entry with this id")]
    NotFound,
    #[error("an entry with this CNIC is on the register already: {id}")]
    Duplicate { id: String },
    #[error("the change does not apply: {0}")]
    Apply(#[from] ApplyError),
    #[error("refused: {}", reason.as_str())]
    Refused {
        reason: Refusal,
        retry_after_ms: u64,
    },
    #[error(
        "the register holds {} entries, its limit",
        limits::REGISTER_ENTRIES_MAX
    )]
    Full,
    #[error("the register's data does not open: {0}")]
    Damaged(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

/// An entry as register officers list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OffenderSummary {
    pub id: String,
    pub name: String,
    pub status: crate::offender::Status,
    /// The current address's district.
    pub district: String,
}

/// Counts for metrics. Deliberately no count of hits: `/metrics` is public, and a hit counter would tell anyone
/// who texts a CNIC whether it was on the register.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegisterStats {
    pub consultations: u64,
    pub refused: u64,
    pub alarms: u64,
    pub notices: u64,
}

/// The register's settings.
#[derive(Debug, Clone, Default)]
pub struct RegisterConfig {
    pub disclosure: Disclosure,
    pub guard: GuardConfig,
}

#[derive(Debug)]
struct State {
    /// The log's head and the right edge of its Merkle tree.
    end: LogEnd,
    index: HashMap<[u8; 32], [u8; 16]>,
    guard: Guard,
    /// The last sequence number of each of these trees (so also how many there are).
    consultations: u64,
    alarms: u64,
    notices: u64,
    /// Verifications refused by the guard since the node started.
    refused: u64,
}

/// The register.
#[derive(Debug)]
pub struct Register {
    vault: Vault,
    keys: RegisterKeys,
    node_key: SigningKey,
    signer: Signer,
    /// The node key under the node's name in the topology, for the log's checkpoints.
    note_key: SignerKey,
    log: LogId,
    districts: BTreeSet<String>,
    disclosure: Disclosure,
    state: Mutex<State>,
}

fn context(tree: u8, key: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(1 + key.len());
    c.push(tree);
    c.extend_from_slice(key);
    c
}

fn last_seq(vault: &Vault, tree: u8) -> Result<u64, RegisterError> {
    Ok(match vault.last(tree)? {
        None => 0,
        Some((k, _)) => {
            u64::from_be_bytes(k.as_slice().try_into().map_err(|_| {
                RegisterError::Damaged("a sequence key has the wrong length".into())
            })?)
        }
    })
}

/// A consultation's reference: `R-` and 12 characters of Crockford base32 (60 random bits).
fn new_reference() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits = OsRng.next_u64();
    let mut out = String::with_capacity(14);
    out.push_str("R-");
    for i in 0..12 {
        out.push(ALPHABET[((bits >> (i * 5)) & 31) as usize] as char);
    }
    out
}

fn new_id() -> [u8; 16] {
    loop {
        let mut id = [0u8; 16];
        OsRng.fill_bytes(&mut id);
        if id != DECOY {
            return id;
        }
    }
}

fn parse_id(id: &str) -> Result<[u8; 16], RegisterError> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(id, &mut out).map_err(|_| RegisterError::NotFound)?;
    if out == DECOY {
        return Err(RegisterError::NotFound);
    }
    Ok(out)
}

/// A decoy entry of a typical size, read (and thrown away) by every miss.
fn decoy() -> Offender {
    let text = |n: usize| "x".repeat(n);
    Offender {
        id: hex::encode(DECOY),
        cnic: "0000000000000".into(),
        name: text(24),
        parentage: crate::offender::Parentage {
            relation: crate::offender::Relation::SonOf,
            name: text(24),
        },
        aliases: vec![text(20)],
        photo_ref: Some(text(40)),
        convictions: vec![crate::offender::Conviction {
            offence: text(40),
            court: text(40),
            date: "2000-01-01".into(),
            sentence: text(20),
        }],
        addresses: vec![crate::offender::Address {
            address: text(60),
            district: text(6),
            since: "2000-01-01".into(),
            until: None,
        }],
        travels: vec![],
        status: crate::offender::Status::Active,
        created_ms: 0,
        updated_ms: 0,
        changes: 1,
    }
}

impl Register {
    /// Opens (or creates) the register in `dir`: reads the log's head and tree, the CNIC index and the sequence
    /// numbers, and counts the last day's answers into the guard so its limits hold across a restart. `name` is
    /// the node's name in the topology, under which it signs the log's checkpoints. A log written before the
    /// register kept a tree gets its tree and a checkpoint now.
    pub fn open(
        dir: &Path,
        keys: RegisterKeys,
        node_key: SigningKey,
        name: &str,
        districts: BTreeSet<String>,
        config: RegisterConfig,
        now_ms: u64,
    ) -> Result<Register, RegisterError> {
        config.guard.check().map_err(|e| Invalid::one("guard", e))?;
        let vault = Vault::open(dir)?;
        let signer = Signer::new(node_key.clone());
        let note_key = SignerKey::new(name, node_key.to_bytes())
            .map_err(|e| Invalid::one("name", e.to_string()))?;
        let log = LogId {
            author: Author(node_key.verifying_key().to_bytes()),
            scope: Scope::Register,
        };
        let register = Register {
            vault,
            keys,
            node_key,
            signer,
            note_key,
            log: log.clone(),
            districts,
            disclosure: config.disclosure,
            state: Mutex::new(State {
                end: LogEnd::new(log.clone(), None, Frontier::new()),
                index: HashMap::new(),
                guard: Guard::new(config.guard),
                consultations: 0,
                alarms: 0,
                notices: 0,
                refused: 0,
            }),
        };
        register.load(now_ms)?;
        Ok(register)
    }

    fn load(&self, now_ms: u64) -> Result<(), RegisterError> {
        let mut st = self.lock();
        // The decoy is written once, by the first open; its value opens with this key or the key is wrong.
        match self.vault.get(OFFENDER, &DECOY)? {
            Some(_) => {
                self.read_offender(&DECOY)?;
            }
            None => {
                let mut batch = VaultBatch::default();
                self.put_offender(&mut batch, &DECOY, &decoy());
                self.vault.commit(batch)?;
            }
        }
        let head = self.log().head()?.map(|(_, head)| head);
        st.end = self.load_tree(head)?;
        let mut from: Option<Vec<u8>> = None;
        loop {
            let page = self.vault.scan(INDEX, from.as_deref(), 10_000)?;
            let last = page.len() < 10_000;
            for (k, v) in &page {
                let (Ok(hash), Ok(id)) = (
                    <[u8; 32]>::try_from(k.as_slice()),
                    <[u8; 16]>::try_from(v.as_slice()),
                ) else {
                    return Err(RegisterError::Damaged(
                        "a CNIC index item has the wrong length".into(),
                    ));
                };
                st.index.insert(hash, id);
            }
            if last {
                break;
            }
            let mut next = page.last().expect("a full page").0.clone();
            next.push(0);
            from = Some(next);
        }
        st.consultations = last_seq(&self.vault, CONSULTATION)?;
        st.alarms = last_seq(&self.vault, ALARM)?;
        st.notices = last_seq(&self.vault, NOTICE)?;
        // The last day's answers count against today's limits: read back from the newest, a page at a time,
        // until a consultation older than a day (or as many as the guard remembers).
        let day = now_ms.saturating_sub(DAY_MS);
        let mut before: Option<Vec<u8>> = None;
        let mut read = 0;
        'pages: while read < limits::VERIFY_TRACKED_MAX {
            let page = self
                .vault
                .scan_rev(CONSULTATION, before.as_deref(), RESTORE_PAGE)?;
            let Some((last, _)) = page.last() else {
                break;
            };
            before = Some(last.clone());
            for (k, v) in &page {
                read += 1;
                let c: Consultation = self.open_json(CONSULTATION, k, v)?;
                if c.at_ms < day {
                    break 'pages;
                }
                let answered =
                    matches!(c.outcome, ConsultOutcome::Record | ConsultOutcome::NoRecord);
                let mut h = [0u8; 32];
                if let (true, Some(hash)) = (answered, &c.cnic_hash)
                    && hex::decode_to_slice(hash, &mut h).is_ok()
                {
                    let requester = match c.requester.strip_prefix("sms:") {
                        Some(phone) => Requester::Phone(phone.to_owned()),
                        None => Requester::User(c.requester.clone()),
                    };
                    st.guard.restore(&requester, &h, c.at_ms);
                }
            }
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock is a bug; the state is still consistent with what was applied (each
        // change is applied as one batch), so go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        tree: u8,
        key: &[u8],
        sealed: &[u8],
    ) -> Result<T, RegisterError> {
        let plain = self.keys.open(&context(tree, key), sealed).map_err(|e| {
            RegisterError::Damaged(format!("{} {}: {e}", tree as char, hex::encode(key)))
        })?;
        serde_json::from_slice(&plain).map_err(|e| {
            RegisterError::Damaged(format!("{} {}: {e}", tree as char, hex::encode(key)))
        })
    }

    fn put_sealed<T: Serialize>(&self, batch: &mut VaultBatch, tree: u8, key: &[u8], value: &T) {
        let plain = serde_json::to_vec(value).expect("register values serialise");
        batch.put(tree, key, &self.keys.seal(&context(tree, key), &plain));
    }

    fn put_offender(&self, batch: &mut VaultBatch, id: &[u8; 16], offender: &Offender) {
        self.put_sealed(batch, OFFENDER, id, offender);
    }

    fn read_offender(&self, id: &[u8; 16]) -> Result<Offender, RegisterError> {
        let sealed = self
            .vault
            .get(OFFENDER, id)?
            .ok_or(RegisterError::NotFound)?;
        self.open_json(OFFENDER, id, &sealed)
    }

    /// Signs `change` about entry `id` into the register log (its payload sealed), in `batch`.
    fn log_change(
        &self,
        st: &mut State,
        batch: &mut VaultBatch,
        id: &[u8; 16],
        actor: &str,
        change: &Change,
        now_ms: u64,
    ) -> Result<(), RegisterError> {
        let seq = st.end.head().map_or(1, |h| h.seq + 1);
        let plain = serde_json::to_vec(change).expect("a change serialises");
        let payload = self.keys.seal(&context(LOG, &seq_key(seq)), &plain);
        // The actor is cut at a character's edge to the bytes an entry allows (user names are shorter than that).
        let (entry, tree) = st
            .end
            .write(&self.signer, now_ms, *id, actor, payload)
            .map_err(|e| Invalid::one("(entry)", e.to_string()))?;
        batch.put(LOG, &seq_key(seq), entry.entry().bytes());
        for (level, index, hash) in tree {
            batch.put(TREE, &node_key(level, index), &hash);
        }
        batch.put(
            CHECKPOINT,
            &[],
            self.checkpoint(st.end.frontier()).as_bytes(),
        );
        Ok(())
    }

    /// A signed checkpoint of the log's tree as `frontier` has it.
    fn checkpoint(&self, frontier: &Frontier) -> String {
        Checkpoint {
            origin: hifazat_log::checkpoint_origin(&self.log.digest()),
            size: frontier.size(),
            root: frontier.root(),
            extensions: Vec::new(),
        }
        .sign(&self.note_key)
        .expect("a checkpoint's text is a valid note text")
        .encode()
    }

    /// Reads the tree's right edge; writes the tree (and a checkpoint) of a log written before the register kept
    /// one, a page of entries per batch; signs a checkpoint if the newest kept does not cover the whole log.
    fn load_tree(&self, head: Option<Head>) -> Result<LogEnd, RegisterError> {
        let size = head.map_or(0, |h| h.seq);
        let log = self.log();
        if size > 0 && self.vault.get(TREE, &node_key(0, size - 1))?.is_none() {
            tracing::info!(entries = size, "writing the register log's Merkle tree");
            backfill(
                size,
                |from| log.entries(from, RESTORE_PAGE),
                |nodes| {
                    let mut batch = VaultBatch::default();
                    for (level, index, hash) in nodes {
                        batch.put(TREE, &node_key(level, index), &hash);
                    }
                    Ok(self.vault.commit(batch)?)
                },
            )
            .map_err(|e| match e {
                BackfillError::Io(e) => e,
                BackfillError::Missing { seq } => RegisterError::Damaged(format!(
                    "register log entry #{seq} is missing, below the head #{size}"
                )),
                BackfillError::Damaged { seq, error } => {
                    RegisterError::Damaged(format!("register log entry #{seq}: {error}"))
                }
            })?;
        }
        let end = LogEnd::new(self.log.clone(), head, Frontier::of(&log, size)?);
        let kept = log
            .checkpoint()?
            .and_then(|text| Checkpoint::read_unverified(text.as_bytes()))
            .map_or(0, |c| c.size);
        if size > 0 && kept != size {
            let mut batch = VaultBatch::default();
            batch.put(CHECKPOINT, &[], self.checkpoint(end.frontier()).as_bytes());
            self.vault.commit(batch)?;
        }
        Ok(end)
    }

    /// Flushes, or stops the process: a register that cannot write must not answer as if it had.
    fn flush(&self) {
        if let Err(e) = self.vault.flush() {
            tracing::error!(error = %e, "register storage failed; stopping so the node restarts and recovers from disk");
            eprintln!("hifazat: register storage failed: {e}");
            std::process::abort();
        }
    }

    fn apply(&self, batch: VaultBatch) {
        if let Err(e) = self.vault.apply(batch) {
            tracing::error!(error = %e, "register storage failed; stopping so the node restarts and recovers from disk");
            eprintln!("hifazat: register storage failed: {e}");
            std::process::abort();
        }
    }

    /// Puts a new entry on the register.
    pub fn create(
        &self,
        actor: &str,
        draft: &OffenderDraft,
        now_ms: u64,
    ) -> Result<Offender, RegisterError> {
        let new = draft.validate(&self.districts)?;
        let hash = self.keys.cnic_hash(&new.cnic);
        let mut st = self.lock();
        if let Some(existing) = st.index.get(&hash) {
            return Err(RegisterError::Duplicate {
                id: hex::encode(existing),
            });
        }
        if st.index.len() >= limits::REGISTER_ENTRIES_MAX {
            return Err(RegisterError::Full);
        }
        let id = new_id();
        let mut batch = VaultBatch::default();
        self.log_change(
            &mut st,
            &mut batch,
            &id,
            actor,
            &Change::Create(new.clone()),
            now_ms,
        )?;
        let offender = Offender::created(hex::encode(id), new, now_ms);
        self.put_offender(&mut batch, &id, &offender);
        batch.put(INDEX, &hash, &id);
        self.apply(batch);
        st.index.insert(hash, id);
        drop(st);
        self.flush();
        Ok(offender)
    }

    /// Applies a change to an entry.
    pub fn update(
        &self,
        actor: &str,
        id: &str,
        update: &Update,
        now_ms: u64,
    ) -> Result<Offender, RegisterError> {
        let id = parse_id(id)?;
        let update = update.validate(&self.districts)?;
        let mut st = self.lock();
        let offender = self.change(&mut st, &id, actor, &update, now_ms, VaultBatch::default())?;
        drop(st);
        self.flush();
        Ok(offender)
    }

    /// Applies `update` to entry `id` and logs it, with `batch`'s other writes, under the state lock.
    fn change(
        &self,
        st: &mut State,
        id: &[u8; 16],
        actor: &str,
        update: &Update,
        now_ms: u64,
        mut batch: VaultBatch,
    ) -> Result<Offender, RegisterError> {
        let mut offender = self.read_offender(id)?;
        offender.apply(update, now_ms)?;
        self.log_change(
            st,
            &mut batch,
            id,
            actor,
            &Change::Update(update.clone()),
            now_ms,
        )?;
        self.put_offender(&mut batch, id, &offender);
        self.apply(batch);
        Ok(offender)
    }

    /// An entry by id, for register officers.
    pub fn offender(&self, id: &str) -> Result<Offender, RegisterError> {
        self.read_offender(&parse_id(id)?)
    }

    /// Entries in id order after `after`, at most `limit`.
    pub fn list(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<OffenderSummary>, RegisterError> {
        let from = match after {
            Some(a) => {
                let mut k = parse_id(a)?.to_vec();
                k.push(0);
                Some(k)
            }
            None => None,
        };
        let mut out = Vec::new();
        for (k, v) in self.vault.scan(
            OFFENDER,
            from.as_deref(),
            limit.min(limits::REGISTER_PAGE_MAX) + 1,
        )? {
            if k == DECOY {
                continue;
            }
            let o: Offender = self.open_json(OFFENDER, &k, &v)?;
            out.push(OffenderSummary {
                district: o
                    .addresses
                    .last()
                    .map(|a| a.district.clone())
                    .unwrap_or_default(),
                id: o.id,
                name: o.name,
                status: o.status,
            });
        }
        out.truncate(limit.min(limits::REGISTER_PAGE_MAX));
        Ok(out)
    }

    /// The register log, its tree and checkpoint, as applied (some of it perhaps not on disk yet): for tests and
    /// tools. What the node states to others goes through [`Register::read_log`].
    pub fn log(&self) -> RegisterLog {
        RegisterLog::of(self.vault.clone())
    }

    /// Runs `read` on the register log with no change in flight and every change applied so far on disk, so
    /// nothing it states can be lost in a crash: a checkpoint an auditor was given is never contradicted by the log
    /// the node writes after a restart.
    pub fn read_log<T>(
        &self,
        read: impl FnOnce(&RegisterLog) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let _st = self.lock();
        self.flush();
        read(&self.log())
    }

    /// The register log's id (the federal node's key, scope `register`).
    pub fn log_id(&self) -> &LogId {
        &self.log
    }

    /// The register log's head.
    pub fn head(&self) -> Option<Head> {
        self.lock().end.head()
    }

    pub fn stats(&self) -> RegisterStats {
        let st = self.lock();
        RegisterStats {
            consultations: st.consultations,
            refused: st.refused,
            alarms: st.alarms,
            notices: st.notices,
        }
    }
}
