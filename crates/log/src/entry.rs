//! The entry format, byte for byte as `docs/wire.md` specifies it.

use std::fmt;

use hifazat_limits as limits;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::scope::Scope;

/// Format version carried in every entry's first byte.
pub const ENTRY_VERSION: u8 = 1;
/// Domain separation for entry signatures: the signed message is this, then the entry's content bytes.
pub const SIGNATURE_CONTEXT: &[u8] = b"hifazat/entry/v1\0";
const LOG_ID_CONTEXT: &[u8] = b"hifazat/log-id/v1\0";
const SIGNATURE_BYTES: usize = 64;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The `prev` of a log's first entry.
    pub const ZERO: Hash = Hash([0; 32]);

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &self.to_hex()[..16])
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An ed25519 public key as 32 bytes (not yet checked to be a valid point).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Author(pub [u8; 32]);

impl fmt::Debug for Author {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Author({})", &hex::encode(self.0)[..16])
    }
}

impl fmt::Display for Author {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A log: one author writing about one scope. Its 32-byte [`LogId::digest`] keys it in stores and vectors.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct LogId {
    pub author: Author,
    pub scope: Scope,
}

impl LogId {
    /// SHA-256("hifazat/log-id/v1\0" || author || scope length (1 byte) || scope).
    pub fn digest(&self) -> Hash {
        let mut h = Sha256::new();
        h.update(LOG_ID_CONTEXT);
        h.update(self.author.0);
        let scope = self.scope.wire();
        h.update([scope.as_bytes().len() as u8]);
        h.update(scope.as_bytes());
        Hash(h.finalize().into())
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", &hex::encode(self.author.0)[..16], self.scope)
    }
}

/// Everything an entry says, before it is signed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Content {
    pub log: LogId,
    /// Position in the log, from 1.
    pub seq: u64,
    /// Content hash of entry `seq - 1`, or [`Hash::ZERO`] for `seq == 1`.
    pub prev: Hash,
    /// When the author wrote it, milliseconds since the Unix epoch (the author's claim).
    pub timestamp_ms: u64,
    /// The record whose document the payload changes.
    pub record: [u8; 16],
    /// The acting user, UTF-8, at most `ACTOR_BYTES_MAX` bytes (may be empty for a node's own actions).
    pub actor: String,
    /// One automerge change, as automerge encodes it.
    pub payload: Vec<u8>,
}

impl Content {
    /// The content of the entry that follows `head` in `log`: `seq = head.seq + 1` and `prev = head.hash`, or
    /// the log's first entry (`seq = 1`, `prev = 0…0`) when `head` is `None`. The one place the chain step is
    /// taken; [`crate::check_next`] is the one place it is checked.
    pub fn following(
        log: LogId,
        head: Option<crate::Head>,
        timestamp_ms: u64,
        record: [u8; 16],
        actor: String,
        payload: Vec<u8>,
    ) -> Content {
        let (seq, prev) = head.map_or((1, Hash::ZERO), |h| (h.seq + 1, h.hash));
        Content {
            log,
            seq,
            prev,
            timestamp_ms,
            record,
            actor,
            payload,
        }
    }

    /// Checks the limits the decoder enforces, so that nothing is signed that no peer would accept.
    pub fn check(&self) -> Result<(), DecodeError> {
        if self.seq == 0 {
            return Err(DecodeError::SeqZero);
        }
        if (self.seq == 1) != (self.prev == Hash::ZERO) {
            return Err(DecodeError::FirstPrev);
        }
        if self.actor.len() > limits::ACTOR_BYTES_MAX {
            return Err(DecodeError::ActorTooLong(self.actor.len()));
        }
        if self.payload.len() > limits::PAYLOAD_BYTES_MAX {
            return Err(DecodeError::PayloadTooLong(self.payload.len()));
        }
        Ok(())
    }

    /// The content bytes: every field of the entry but the signature, in wire order.
    pub fn encode(&self) -> Vec<u8> {
        let scope = self.log.scope.wire();
        let scope = scope.as_bytes();
        let mut out = Vec::with_capacity(
            limits::ENTRY_FIXED_BYTES - SIGNATURE_BYTES
                + scope.len()
                + self.actor.len()
                + self.payload.len(),
        );
        out.push(ENTRY_VERSION);
        out.extend_from_slice(&self.log.author.0);
        out.push(scope.len() as u8);
        out.extend_from_slice(scope);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.prev.0);
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out.extend_from_slice(&self.record);
        out.push(self.actor.len() as u8);
        out.extend_from_slice(self.actor.as_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }
}

/// An entry decoded from bytes: well-formed, but its signature and place in the chain are not yet checked.
/// Immutable once made: its content, signature and hash are read from the bytes it was decoded from (or made
/// into), so a check of one cannot be undone by a change to another.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    content: Content,
    /// The full encoding, kept so it is relayed and stored exactly as received.
    bytes: Vec<u8>,
    /// SHA-256 of the content bytes (`bytes` without the signature). This is the entry's identity: the next
    /// entry's `prev`, and what equivocation compares.
    hash: Hash,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Entry({} #{} {:?})",
            self.content.log, self.content.seq, self.hash
        )
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("entry is {0} bytes; at most {max} are allowed", max = limits::ENTRY_BYTES_MAX)]
    TooLong(usize),
    #[error("entry ends early, inside field `{0}`")]
    Truncated(&'static str),
    #[error("entry has {0} bytes after its signature")]
    TrailingBytes(usize),
    #[error("unknown entry version {0}")]
    Version(u8),
    #[error("scope is empty, too long or has characters other than a-z 0-9 - _ / :")]
    Scope,
    #[error("sequence number 0 (logs start at 1)")]
    SeqZero,
    #[error("`prev` must be all zeros exactly when seq is 1")]
    FirstPrev,
    #[error("actor is {0} bytes; at most {max} are allowed", max = limits::ACTOR_BYTES_MAX)]
    ActorTooLong(usize),
    #[error("actor is not UTF-8")]
    ActorNotUtf8,
    #[error("payload is {0} bytes; at most {max} are allowed", max = limits::PAYLOAD_BYTES_MAX)]
    PayloadTooLong(usize),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(DecodeError::Truncated(field))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        Ok(self
            .take(N, field)?
            .try_into()
            .expect("take returned N bytes"))
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }
}

fn content_hash(content_bytes: &[u8]) -> Hash {
    Hash(Sha256::digest(content_bytes).into())
}

impl Entry {
    /// Decodes and checks the structure and limits of an entry. Says nothing yet about its signature.
    pub fn decode(bytes: &[u8]) -> Result<Entry, DecodeError> {
        if bytes.len() > limits::ENTRY_BYTES_MAX {
            return Err(DecodeError::TooLong(bytes.len()));
        }
        let mut r = Reader { bytes, at: 0 };
        let version = r.u8("version")?;
        if version != ENTRY_VERSION {
            return Err(DecodeError::Version(version));
        }
        let author = Author(r.array("author")?);
        let scope_len = r.u8("scope_len")? as usize;
        let scope = Scope::decode(r.take(scope_len, "scope")?)?;
        let seq = r.u64("seq")?;
        let prev = Hash(r.array("prev")?);
        let timestamp_ms = r.u64("timestamp_ms")?;
        let record = r.array("record")?;
        let actor_len = r.u8("actor_len")? as usize;
        if actor_len > limits::ACTOR_BYTES_MAX {
            return Err(DecodeError::ActorTooLong(actor_len));
        }
        let actor = std::str::from_utf8(r.take(actor_len, "actor")?)
            .map_err(|_| DecodeError::ActorNotUtf8)?;
        let payload_len = u32::from_be_bytes(r.array("payload_len")?) as usize;
        if payload_len > limits::PAYLOAD_BYTES_MAX {
            return Err(DecodeError::PayloadTooLong(payload_len));
        }
        let payload = r.take(payload_len, "payload")?.to_vec();
        let content_end = r.at;
        r.take(SIGNATURE_BYTES, "signature")?;
        if r.at != bytes.len() {
            return Err(DecodeError::TrailingBytes(bytes.len() - r.at));
        }
        let content = Content {
            log: LogId { author, scope },
            seq,
            prev,
            timestamp_ms,
            record,
            actor: actor.to_owned(),
            payload,
        };
        content.check()?;
        Ok(Entry {
            content,
            bytes: bytes.to_vec(),
            hash: content_hash(&bytes[..content_end]),
        })
    }

    /// Joins content and a signature into an entry. The signature is not checked here.
    pub(crate) fn assemble(content: Content, content_bytes: Vec<u8>, signature: [u8; 64]) -> Entry {
        let hash = content_hash(&content_bytes);
        let mut bytes = content_bytes;
        bytes.extend_from_slice(&signature);
        Entry {
            content,
            bytes,
            hash,
        }
    }

    /// Everything the entry says but its signature.
    pub fn content(&self) -> &Content {
        &self.content
    }

    /// The content, for a caller done with the entry.
    pub fn into_content(self) -> Content {
        self.content
    }

    /// The full encoding: content bytes, then the 64 signature bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The content bytes (what the signature covers, after the context string).
    pub fn content_bytes(&self) -> &[u8] {
        &self.bytes[..self.bytes.len() - SIGNATURE_BYTES]
    }

    /// SHA-256 of the content bytes: the entry's identity.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// The author's signature (over the context string and the content bytes).
    pub fn signature(&self) -> &[u8; 64] {
        self.bytes[self.bytes.len() - SIGNATURE_BYTES..]
            .try_into()
            .expect("an entry ends with its signature")
    }
}
