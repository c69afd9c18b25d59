//! What auditors read from a node: each log's Merkle tree head, inclusion and consistency proofs, the signed
//! checkpoints of this node's own logs, and a record's history. Every read answers only after an engine barrier
//! that follows it, so nothing that is not on disk is ever stated (a checkpoint over an entry lost in a crash would
//! contradict the entry the node writes in its place).

use hifazat_log::{ConsistencyProof, Entry, Evidence, Hash, InclusionProof, LogId, ProveError};
use hifazat_merkle::{Digest, ProofError, root};
use hifazat_note::{Checkpoint, Note, SignerKey};
use hifazat_store::{Store, StoreError, StoredHead};
use thiserror::Error;

use crate::{Engine, EngineError, Request};

/// A log's tree as this node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    pub log: LogId,
    /// Entries held (the tree's size).
    pub size: u64,
    pub root: Digest,
    /// The hash of the last entry.
    pub head: Hash,
}

/// What [`Engine::check_checkpoint`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointCheck {
    /// The roots agree; this note (cosigned, when asked) is kept on disk as the log's newest checkpoint.
    Kept(String),
    /// This node holds fewer entries than the checkpoint covers.
    Short,
    /// The roots differ: the checkpoint is not of the log this node holds.
    Differs,
    /// A larger checkpoint is kept already.
    Stale,
}

/// Why a proof was not given.
#[derive(Debug, Error)]
pub enum AuditError {
    #[error("this node holds no log {0}")]
    NoLog(Hash),
    /// An argument is out of range: which, and why.
    #[error("{field}: {reason}")]
    Range { field: &'static str, reason: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for AuditError {
    fn from(e: StoreError) -> Self {
        AuditError::Engine(e.into())
    }
}

/// A proof's refusal as the engine states it: `field` names what a tree that does not hold the log's size fails
/// (it cannot happen once the size is checked).
fn prove_error(field: &'static str) -> impl Fn(ProveError<StoreError>) -> AuditError {
    move |e| match e {
        ProveError::Range { field, reason } => AuditError::Range { field, reason },
        ProveError::Tree(ProofError::Read(e)) => e.into(),
        ProveError::Tree(other) => AuditError::Range {
            field,
            reason: other.to_string(),
        },
    }
}

fn tree_head(store: &Store, head: StoredHead) -> Result<TreeHead, StoreError> {
    let digest = head.log.digest();
    Ok(TreeHead {
        root: root(&store.tree(digest), head.head.seq)?,
        size: head.head.seq,
        head: head.head.hash,
        log: head.log,
    })
}

/// The log's size here.
fn held(store: &Store, log: Hash) -> Result<u64, AuditError> {
    Ok(store.head(&log)?.ok_or(AuditError::NoLog(log))?.head.seq)
}

impl Engine {
    /// Runs `f` on the blocking pool with the store.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, AuditError> + Send + 'static,
    ) -> Result<T, AuditError> {
        let store = self.local.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|_| AuditError::Engine(EngineError::Stopped))?
    }

    /// Runs `f` on the blocking pool with the store, and answers once everything it could have seen is durable.
    async fn read_durable<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, AuditError> + Send + 'static,
    ) -> Result<T, AuditError> {
        let out = self.blocking(f).await?;
        self.call(|reply| Request::Barrier { reply }).await?;
        Ok(out)
    }

    /// Commits what `f` writes in one batch, on disk before returning.
    async fn write_durable(
        &self,
        f: impl FnOnce(&Store, &mut hifazat_store::WriteBatch) + Send + 'static,
    ) -> Result<(), AuditError> {
        self.blocking(move |store| {
            let mut batch = store.batch();
            f(store, &mut batch);
            Ok(store.commit(batch)?)
        })
        .await
    }

    /// Every log's tree head.
    pub async fn tree_heads(&self) -> Result<Vec<TreeHead>, AuditError> {
        self.read_durable(|store| {
            let heads = store.heads()?;
            let mut out = Vec::with_capacity(heads.len());
            for h in heads {
                out.push(tree_head(store, h)?);
            }
            Ok(out)
        })
        .await
    }

    /// One log's tree head.
    pub async fn tree_head(&self, log: Hash) -> Result<TreeHead, AuditError> {
        self.read_durable(move |store| {
            let head = store.head(&log)?.ok_or(AuditError::NoLog(log))?;
            Ok(tree_head(store, head)?)
        })
        .await
    }

    /// The inclusion proof of entry `seq` (leaf `seq − 1`) in the log's tree of `size` entries (the whole log
    /// when `None`), read at once with that tree's root and the entry's hash.
    pub async fn inclusion_proof(
        &self,
        log: Hash,
        seq: u64,
        size: Option<u64>,
    ) -> Result<InclusionProof, AuditError> {
        self.read_durable(move |store| {
            let entry = || {
                let bytes = store.entry(&log, seq)?.ok_or_else(|| StoreError::Corrupt {
                    key: log.to_hex(),
                    reason: format!("entry #{seq} is not stored, below the head"),
                })?;
                let entry = Entry::decode(&bytes).map_err(|e| StoreError::Corrupt {
                    key: log.to_hex(),
                    reason: format!("entry #{seq}: {e}"),
                })?;
                Ok(entry.hash())
            };
            InclusionProof::make(&store.tree(log), held(store, log)?, seq, size, entry)
                .map_err(prove_error("seq"))
        })
        .await
    }

    /// The consistency proof between the log's trees of `first` and `second` entries (the whole log when
    /// `None`), read at once with both roots.
    pub async fn consistency_proof(
        &self,
        log: Hash,
        first: u64,
        second: Option<u64>,
    ) -> Result<ConsistencyProof, AuditError> {
        self.read_durable(move |store| {
            ConsistencyProof::make(&store.tree(log), held(store, log)?, first, second)
                .map_err(prove_error("first"))
        })
        .await
    }

    /// Every entry that changed `record`, ordered by the author's timestamp, then log and position, each with
    /// whether its change is set aside (a losing creation of the record's id, or a change building on one: kept
    /// as evidence, not part of the record; `hifazat_replica::settle`).
    pub async fn record_entries(&self, record: [u8; 16]) -> Result<Vec<(Entry, bool)>, AuditError> {
        self.read_durable(move |store| {
            let mut entries = store.record_entries(&hifazat_domain::RecordId(record))?;
            entries.sort_by(|a, b| {
                (
                    a.content().timestamp_ms,
                    a.content().log.digest(),
                    a.content().seq,
                )
                    .cmp(&(
                        b.content().timestamp_ms,
                        b.content().log.digest(),
                        b.content().seq,
                    ))
            });
            let hashes: Vec<Option<automerge::ChangeHash>> = entries
                .iter()
                .map(|e| {
                    automerge::Change::from_bytes(e.content().payload.clone())
                        .ok()
                        .map(|c| c.hash())
                })
                .collect();
            let changes = entries
                .iter()
                .filter_map(|e| automerge::Change::from_bytes(e.content().payload.clone()).ok())
                .collect();
            let (_, aside) = hifazat_replica::settle(changes, Default::default());
            Ok(entries
                .into_iter()
                .zip(hashes)
                .map(|(e, h)| (e, h.is_some_and(|h| aside.contains(&h))))
                .collect())
        })
        .await
    }

    /// The newest signed checkpoint this node keeps for a log, as note text: its own logs' (cosigned by its
    /// witness once that answered), and other nodes' logs' that it checked against its own copy.
    pub async fn checkpoint(&self, log: Hash) -> Result<Option<String>, AuditError> {
        self.blocking(move |store| Ok(store.checkpoint(&log)?))
            .await
    }

    /// Every checkpoint kept: (log, note text).
    pub async fn checkpoints(&self) -> Result<Vec<(Hash, String)>, AuditError> {
        self.blocking(|store| Ok(store.checkpoints()?)).await
    }

    /// Every piece of evidence of a fork kept: pairs of entries.
    pub async fn evidence(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>, AuditError> {
        self.blocking(|store| Ok(store.evidence()?)).await
    }

    /// Every piece of evidence of a fork kept, checked again (both signatures, and the conflict): a store damaged
    /// on disk shows as an error, never as evidence.
    pub async fn evidence_checked(&self) -> Result<Vec<Evidence>, AuditError> {
        let mut out = Vec::new();
        for (first, second) in self.evidence().await? {
            let e = Evidence::verify(&first, &second).map_err(|e| StoreError::Corrupt {
                key: "evidence".into(),
                reason: e.to_string(),
            })?;
            out.push(e);
        }
        Ok(out)
    }

    /// Keeps evidence of a fork (checked by the caller) durably, before returning.
    pub async fn keep_evidence(&self, first: Vec<u8>, second: Vec<u8>) -> Result<(), AuditError> {
        self.write_durable(move |store, batch| store.add_evidence(batch, &first, &second))
            .await
    }

    /// Checks a checkpoint of `log` whose signature the caller verified against this node's own copy of the log:
    /// the root of its first `size` entries must be the checkpoint's root. If it is, the note is kept durably as
    /// the log's newest checkpoint (unless a larger one is kept), with `cosign`'s cosignature added first when
    /// given (a witness's): the cosigned note is on disk before this returns, so the witness never vouches for
    /// what it could forget. Reads what is applied: the commit that keeps the note flushes those entries with it
    /// (sled flushes everything applied), and nothing else this answers is stated to anyone.
    pub async fn check_checkpoint(
        &self,
        log: Hash,
        note: Vec<u8>,
        cosign: Option<std::sync::Arc<SignerKey>>,
    ) -> Result<CheckpointCheck, AuditError> {
        let clock = self.local.clock.clone();
        self.blocking(move |store| {
            let mut note = Note::parse(&note).map_err(|e| AuditError::Range {
                field: "note",
                reason: e.to_string(),
            })?;
            let checkpoint =
                Checkpoint::parse(note.text_unverified()).map_err(|e| AuditError::Range {
                    field: "note",
                    reason: e.to_string(),
                })?;
            let held = store.head(&log)?.map_or(0, |h| h.head.seq);
            if held < checkpoint.size {
                return Ok(CheckpointCheck::Short);
            }
            if root(&store.tree(log), checkpoint.size)? != checkpoint.root {
                return Ok(CheckpointCheck::Differs);
            }
            let kept = store
                .checkpoint(&log)?
                .and_then(|text| Checkpoint::read_unverified(text.as_bytes()))
                .map_or(0, |c| c.size);
            if kept > checkpoint.size {
                return Ok(CheckpointCheck::Stale);
            }
            if let Some(key) = cosign {
                note.add_cosignature(&key, clock.now_ms() / 1000)
                    .map_err(|e| AuditError::Range {
                        field: "note",
                        reason: e.to_string(),
                    })?;
            }
            let text = note.encode();
            let mut batch = store.batch();
            store.set_checkpoint(&mut batch, &log, &text);
            store.commit(batch)?;
            Ok(CheckpointCheck::Kept(text))
        })
        .await
    }

    /// Keeps a signed checkpoint of a log as its newest, durably, before returning.
    pub async fn keep_checkpoint(&self, log: Hash, note: String) -> Result<(), AuditError> {
        self.write_durable(move |store, batch| store.set_checkpoint(batch, &log, &note))
            .await
    }

    /// Signs a checkpoint of each of this node's own logs that grew since its last one, keeps it (on disk) and
    /// returns the new ones. `key` must be this node's key, named as the topology names the node.
    pub async fn sign_checkpoints(
        &self,
        key: &SignerKey,
    ) -> Result<Vec<(LogId, Note)>, AuditError> {
        assert_eq!(
            key.verifier().key.0,
            self.local.author,
            "checkpoints are signed with the node's own key"
        );
        let mut out = Vec::new();
        let own: Vec<Hash> = self
            .heads()
            .await?
            .into_iter()
            .filter(|h| h.log.author.0 == self.local.author)
            .map(|h| h.log.digest())
            .collect();
        for digest in own {
            let head = self.tree_head(digest).await?;
            let last = self
                .checkpoint(digest)
                .await?
                .and_then(|text| Checkpoint::read_unverified(text.as_bytes()))
                .map_or(0, |c| c.size);
            if head.size <= last {
                continue;
            }
            let checkpoint = Checkpoint {
                origin: hifazat_log::checkpoint_origin(&digest),
                size: head.size,
                root: head.root,
                extensions: Vec::new(),
            };
            let note = checkpoint
                .sign(key)
                .expect("a checkpoint's text is a valid note text");
            self.keep_checkpoint(digest, note.encode()).await?;
            out.push((head.log, note));
        }
        Ok(out)
    }
}
