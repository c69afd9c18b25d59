//! The bundle's framing (`docs/wire.md`, "Audit bundles"): a magic line, then records of one kind byte, a 4-byte
//! big-endian length and that many bytes, ending with an `End` record that counts the records before it and hashes
//! every byte before it.

use std::io::{Read, Write};

use sha2::{Digest as _, Sha256};
use thiserror::Error;

/// The first bytes of every bundle.
pub const MAGIC: &[u8] = b"hifazat-audit-bundle/1\n";

/// The largest record: a signed note or an entry, with room to spare.
pub const RECORD_BYTES_MAX: usize = hifazat_limits::SYNC_MESSAGE_BYTES_MAX;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The federal root's verifier key (note key text).
    Root = 1,
    /// The signed topology (a note).
    Topology = 2,
    /// A log begins: its id (32 bytes), how many entries follow (8), whether a checkpoint follows (1).
    Log = 3,
    /// The log's newest signed checkpoint, with cosignatures (a note).
    Checkpoint = 4,
    /// A consistency proof from the checkpoint's size to the log's: first (8), second (8), then 32-byte hashes.
    Consistency = 5,
    /// One entry, as signed (`docs/wire.md`).
    Entry = 6,
    /// Evidence of equivocation: the first entry's length (4), the first entry, the second.
    Evidence = 7,
    /// The end: records before it (8), SHA-256 of every byte before it (32).
    End = 0xff,
}

impl Kind {
    fn of(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Root,
            2 => Kind::Topology,
            3 => Kind::Log,
            4 => Kind::Checkpoint,
            5 => Kind::Consistency,
            6 => Kind::Entry,
            7 => Kind::Evidence,
            0xff => Kind::End,
            _ => return None,
        })
    }
}

#[derive(Debug, Error)]
pub enum BundleError {
    #[error("reading or writing the bundle: {0}")]
    Io(#[from] std::io::Error),
    #[error("not an audit bundle (its first line is not `hifazat-audit-bundle/1`)")]
    Magic,
    #[error("record {index}: unknown kind {kind:#04x}")]
    UnknownKind { index: u64, kind: u8 },
    #[error("record {index}: {len} bytes, more than the {max} a record may hold", max = RECORD_BYTES_MAX)]
    TooLarge { index: u64, len: usize },
    #[error("record {index}: the bundle ends inside it")]
    Truncated { index: u64 },
}

impl BundleError {
    /// The record the error is in, when it is in one.
    pub fn record(&self) -> Option<u64> {
        match self {
            BundleError::UnknownKind { index, .. }
            | BundleError::TooLarge { index, .. }
            | BundleError::Truncated { index } => Some(*index),
            BundleError::Io(_) | BundleError::Magic => None,
        }
    }
}

/// Writes records, counting and hashing them for the `End` record.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    records: u64,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W) -> Result<Writer<W>, BundleError> {
        out.write_all(MAGIC)?;
        let mut hash = Sha256::new();
        hash.update(MAGIC);
        Ok(Writer {
            out,
            records: 0,
            hash,
            bytes: MAGIC.len() as u64,
        })
    }

    pub fn record(&mut self, kind: Kind, body: &[u8]) -> Result<(), BundleError> {
        if body.len() > RECORD_BYTES_MAX {
            return Err(BundleError::TooLarge {
                index: self.records,
                len: body.len(),
            });
        }
        let mut header = [0u8; 5];
        header[0] = kind as u8;
        header[1..].copy_from_slice(&(body.len() as u32).to_be_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(body)?;
        self.hash.update(header);
        self.hash.update(body);
        self.records += 1;
        self.bytes += 5 + body.len() as u64;
        Ok(())
    }

    /// Writes the `End` record and returns the output and the bundle's size in bytes.
    pub fn finish(mut self) -> Result<(W, u64), BundleError> {
        let mut body = self.records.to_be_bytes().to_vec();
        body.extend_from_slice(&self.hash.clone().finalize());
        self.record(Kind::End, &body)?;
        self.out.flush()?;
        Ok((self.out, self.bytes))
    }
}

/// One record as read.
#[derive(Debug)]
pub struct Record {
    /// Its place in the bundle, from 0.
    pub index: u64,
    pub kind: Kind,
    pub body: Vec<u8>,
    /// For `End`: the count and hash of everything before it, as this reader computed them.
    pub before: Option<(u64, [u8; 32])>,
}

/// Reads records one by one.
#[derive(Debug)]
pub struct Reader<R: Read> {
    input: R,
    index: u64,
    hash: Sha256,
    /// Bytes read so far (for progress).
    pub bytes: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(mut input: R) -> Result<Reader<R>, BundleError> {
        let mut magic = vec![0u8; MAGIC.len()];
        input
            .read_exact(&mut magic)
            .map_err(|_| BundleError::Magic)?;
        if magic != MAGIC {
            return Err(BundleError::Magic);
        }
        let mut hash = Sha256::new();
        hash.update(MAGIC);
        Ok(Reader {
            input,
            index: 0,
            hash,
            bytes: MAGIC.len() as u64,
        })
    }

    /// The next record, or `None` at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<Record>, BundleError> {
        let index = self.index;
        let mut header = [0u8; 5];
        let mut got = 0;
        while got < header.len() {
            let n = self.input.read(&mut header[got..])?;
            if n == 0 {
                return if got == 0 {
                    Ok(None)
                } else {
                    Err(BundleError::Truncated { index })
                };
            }
            got += n;
        }
        let kind = Kind::of(header[0]).ok_or(BundleError::UnknownKind {
            index,
            kind: header[0],
        })?;
        let len = u32::from_be_bytes(header[1..].try_into().expect("4 bytes")) as usize;
        if len > RECORD_BYTES_MAX {
            return Err(BundleError::TooLarge { index, len });
        }
        let mut body = vec![0u8; len];
        self.input
            .read_exact(&mut body)
            .map_err(|_| BundleError::Truncated { index })?;
        let before = (kind == Kind::End).then(|| (index, self.hash.clone().finalize().into()));
        self.hash.update(header);
        self.hash.update(&body);
        self.index += 1;
        self.bytes += 5 + len as u64;
        Ok(Some(Record {
            index,
            kind,
            body,
            before,
        }))
    }
}
