//! Writing a node's store out as a bundle: the root key and signed topology, then every log with its newest
//! checkpoint, a consistency proof from that checkpoint to the log's head, and its entries; then the evidence of
//! equivocation the node holds.

use std::io::Write;

use hifazat_merkle::consistency_proof;
use hifazat_note::{Checkpoint, Note};
use hifazat_store::{Store, StoreError};
use thiserror::Error;

use crate::bundle::{BundleError, Kind, Writer};

#[derive(Debug, Error)]
pub enum ExportError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("reading the store: {0}")]
    Store(#[from] StoreError),
}

/// What went into a bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub logs: usize,
    pub entries: u64,
    pub checkpoints: usize,
    pub evidence: usize,
    pub bytes: u64,
}

/// Entries read from the store at a time.
const CHUNK: usize = 4096;

/// Writes `store` as a bundle to `out`. `progress(done, total)` is called as entries are written.
pub fn export<W: Write>(
    store: &Store,
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
    let total: u64 = heads.iter().map(|h| h.head.seq).sum();
    let mut summary = ExportSummary::default();
    for head in heads {
        let digest = head.log.digest();
        let size = head.head.seq;
        // Only a checkpoint this node's entries can back: its size at most the entries held.
        let checkpoint = store.checkpoint(&digest)?.and_then(|text| {
            let note = Note::parse(text.as_bytes()).ok()?;
            let c = Checkpoint::parse(note.text_unverified()).ok()?;
            (c.size <= size).then_some((text, c.size))
        });
        let mut header = digest.0.to_vec();
        header.extend_from_slice(&size.to_be_bytes());
        header.push(u8::from(checkpoint.is_some()));
        w.record(Kind::Log, &header)?;
        if let Some((text, first)) = checkpoint {
            w.record(Kind::Checkpoint, text.as_bytes())?;
            let proof =
                consistency_proof(&store.tree(digest), first, size).map_err(|e| match e {
                    hifazat_merkle::ProofError::Read(e) => ExportError::Store(e),
                    other => ExportError::Store(StoreError::Corrupt {
                        key: digest.to_hex(),
                        reason: other.to_string(),
                    }),
                })?;
            let mut body = first.to_be_bytes().to_vec();
            body.extend_from_slice(&size.to_be_bytes());
            for h in proof {
                body.extend_from_slice(&h);
            }
            w.record(Kind::Consistency, &body)?;
            summary.checkpoints += 1;
        }
        let mut seq = 1;
        while seq <= size {
            let chunk = store.entries(&digest, seq, CHUNK.min((size - seq + 1) as usize))?;
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
    }
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
