//! Writing a node's store out as a bundle: the root key and signed topology, then every log with its newest
//! checkpoint, a consistency proof from that checkpoint to the log's head, and its entries; then, when asked, the
//! register log of the federal node (from its vault); then the evidence of equivocation the node holds.

use std::io::Write;

use hifazat_log::Hash;
use hifazat_merkle::{Digest, ProofError, consistency_proof};
use hifazat_note::Checkpoint;
use hifazat_register::{RegisterError, RegisterLog};
use hifazat_store::{Store, StoreError};
use thiserror::Error;

use crate::bundle::{BundleError, Kind, Writer};

#[derive(Debug, Error)]
pub enum ExportError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("reading the store: {0}")]
    Store(#[from] StoreError),
    #[error("reading the register log: {0}")]
    Register(#[from] RegisterError),
}

/// What went into a bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub logs: usize,
    pub entries: u64,
    pub checkpoints: usize,
    pub evidence: usize,
    /// Entries of the register log (included only when asked for).
    pub register_entries: Option<u64>,
    pub bytes: u64,
}

/// A log as a bundle needs it.
trait LogSource {
    fn digest(&self) -> Hash;
    /// Entries held.
    fn size(&self) -> u64;
    /// The newest signed checkpoint, note text.
    fn checkpoint(&self) -> Result<Option<String>, ExportError>;
    fn consistency(&self, first: u64, second: u64) -> Result<Vec<Digest>, ExportError>;
    fn entries(&self, from: u64, limit: usize) -> Result<Vec<Vec<u8>>, ExportError>;
}

struct StoreLog<'a> {
    store: &'a Store,
    digest: Hash,
    size: u64,
}

impl LogSource for StoreLog<'_> {
    fn digest(&self) -> Hash {
        self.digest
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn checkpoint(&self) -> Result<Option<String>, ExportError> {
        Ok(self.store.checkpoint(&self.digest)?)
    }
    fn consistency(&self, first: u64, second: u64) -> Result<Vec<Digest>, ExportError> {
        consistency_proof(&self.store.tree(self.digest), first, second).map_err(|e| match e {
            ProofError::Read(e) => ExportError::Store(e),
            other => ExportError::Store(StoreError::Corrupt {
                key: self.digest.to_hex(),
                reason: other.to_string(),
            }),
        })
    }
    fn entries(&self, from: u64, limit: usize) -> Result<Vec<Vec<u8>>, ExportError> {
        Ok(self.store.entries(&self.digest, from, limit)?)
    }
}

struct RegisterSource<'a> {
    log: &'a RegisterLog,
    digest: Hash,
    size: u64,
}

impl LogSource for RegisterSource<'_> {
    fn digest(&self) -> Hash {
        self.digest
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn checkpoint(&self) -> Result<Option<String>, ExportError> {
        Ok(self.log.checkpoint()?)
    }
    fn consistency(&self, first: u64, second: u64) -> Result<Vec<Digest>, ExportError> {
        Ok(self.log.consistency(first, Some(second))?.path)
    }
    fn entries(&self, from: u64, limit: usize) -> Result<Vec<Vec<u8>>, ExportError> {
        Ok(self.log.entries(from, limit)?)
    }
}

/// Entries read at a time.
const CHUNK: usize = 4096;

/// Writes `store` as a bundle to `out`, with the register log when `register` is given. `progress(done, total)`
/// is called as entries are written.
pub fn export<W: Write>(
    store: &Store,
    register: Option<&RegisterLog>,
    root_key: &str,
    signed_topology: &[u8],
    out: W,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(W, ExportSummary), ExportError> {
    let mut w = Writer::new(out)?;
    w.record(Kind::Root, root_key.trim().as_bytes())?;
    w.record(Kind::Topology, signed_topology)?;
    let mut heads = store.heads()?;
    heads.sort_by_key(|h| h.log.digest());
    let asked = register.is_some();
    // An empty register log has no id yet (it comes from its first entry) and nothing to write.
    let register = match register {
        Some(log) => log.head()?.map(|(id, head)| RegisterSource {
            log,
            digest: id.digest(),
            size: head.seq,
        }),
        None => None,
    };
    let mut total: u64 = heads.iter().map(|h| h.head.seq).sum();
    total += register.as_ref().map_or(0, |r| r.size);
    let mut summary = ExportSummary::default();
    for head in heads {
        let log = StoreLog {
            store,
            digest: head.log.digest(),
            size: head.head.seq,
        };
        write_log(&mut w, &log, &mut summary, total, progress)?;
    }
    let before = summary.entries;
    if let Some(log) = register {
        write_log(&mut w, &log, &mut summary, total, progress)?;
    }
    summary.register_entries = asked.then_some(summary.entries - before);
    for (first, second) in store.evidence()? {
        let mut body = (first.len() as u32).to_be_bytes().to_vec();
        body.extend_from_slice(&first);
        body.extend_from_slice(&second);
        w.record(Kind::Evidence, &body)?;
        summary.evidence += 1;
    }
    let (out, bytes) = w.finish()?;
    summary.bytes = bytes;
    Ok((out, summary))
}

/// Writes one log: its header, its checkpoint (only one its entries can back: its size at most the entries held)
/// and a consistency proof from it to the head, then its entries.
fn write_log<W: Write>(
    w: &mut Writer<W>,
    log: &dyn LogSource,
    summary: &mut ExportSummary,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), ExportError> {
    let digest = log.digest();
    let size = log.size();
    let checkpoint = log.checkpoint()?.and_then(|text| {
        let c = Checkpoint::read_unverified(text.as_bytes())?;
        (c.size <= size).then_some((text, c.size))
    });
    let mut header = digest.0.to_vec();
    header.extend_from_slice(&size.to_be_bytes());
    header.push(u8::from(checkpoint.is_some()));
    w.record(Kind::Log, &header)?;
    if let Some((text, first)) = checkpoint {
        w.record(Kind::Checkpoint, text.as_bytes())?;
        let mut body = first.to_be_bytes().to_vec();
        body.extend_from_slice(&size.to_be_bytes());
        for h in log.consistency(first, size)? {
            body.extend_from_slice(&h);
        }
        w.record(Kind::Consistency, &body)?;
        summary.checkpoints += 1;
    }
    let mut seq = 1;
    while seq <= size {
        let chunk = log.entries(seq, CHUNK.min((size - seq + 1) as usize))?;
        if chunk.is_empty() {
            return Err(StoreError::Corrupt {
                key: digest.to_hex(),
                reason: format!("entry #{seq} is not stored, below the head #{size}"),
            }
            .into());
        }
        for bytes in &chunk {
            w.record(Kind::Entry, bytes)?;
        }
        seq += chunk.len() as u64;
        summary.entries += chunk.len() as u64;
        progress(summary.entries, total);
    }
    summary.logs += 1;
    Ok(())
}
