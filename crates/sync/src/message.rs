//! Sync messages, byte for byte as `docs/wire.md` specifies them.
//!
//! Every message starts with a version byte and a tag; integers are big-endian; every count and length is checked
//! against a limit before anything is allocated for it. A large message may travel packed (version 2): its tag and
//! body deflated, behind the length they inflate to.

use std::io::Write;

use hifazat_limits as limits;
use hifazat_log::{Author, Hash, LogId, Scope};
use thiserror::Error;

/// Version byte of every sync message as it is.
pub const MESSAGE_VERSION: u8 = 1;

/// Version byte of a packed message: `raw_len` u32, then the message's tag and body as one raw deflate stream
/// (RFC 1951) that inflates to exactly `raw_len` bytes.
pub const MESSAGE_VERSION_PACKED: u8 = 2;

/// Messages whose tag and body take at least this many bytes are packed when that makes them smaller. Below it
/// (vectors of a few logs, pulls, single small entries) deflating saves too little to pay for itself.
pub const PACK_MIN_BYTES: usize = 1024;

const TAG_VECTOR: u8 = 1;
const TAG_PULL: u8 = 2;
const TAG_ENTRIES: u8 = 3;
const TAG_TOPOLOGY_REQUEST: u8 = 4;
const TAG_TOPOLOGY: u8 = 5;
const TAG_CHECKPOINT: u8 = 6;
const TAG_EVIDENCE: u8 = 7;

/// One log's head as a node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHead {
    pub log: LogId,
    pub seq: u64,
    pub hash: Hash,
}

/// What peers say to each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The sender's topology version and the heads of the logs it holds that the receiver may hold too.
    Vector {
        topology_version: u64,
        heads: Vec<LogHead>,
    },
    /// Asks for up to `max` entries of a log, those after `after`.
    Pull { log: Hash, after: u64, max: u32 },
    /// Entries of one log, in order: the answer to a pull, or new entries pushed along a case's line.
    Entries { log: Hash, entries: Vec<Vec<u8>> },
    /// Asks for the sender's signed topology (the receiver announced a newer version).
    TopologyRequest,
    /// A signed topology (a signed note under the federal root key).
    Topology { signed: Vec<u8> },
    /// A signed checkpoint of a log (a signed note: the author's signature, and any cosignatures).
    Checkpoint { log: Hash, note: Vec<u8> },
    /// Evidence that a log's author forked it: two entries it signed that cannot both be true.
    Evidence { first: Vec<u8>, second: Vec<u8> },
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MessageError {
    #[error("message is {0} bytes; at most {max} are accepted", max = limits::SYNC_MESSAGE_BYTES_MAX)]
    TooLarge(usize),
    #[error("message ends early, in {0}")]
    Truncated(&'static str),
    #[error(
        "message version {0} is not supported (expected {MESSAGE_VERSION}, or {MESSAGE_VERSION_PACKED} packed)"
    )]
    Version(u8),
    #[error("packed message does not inflate to the {claimed} bytes it claims: {reason}")]
    Packed { claimed: usize, reason: String },
    #[error("unknown message tag {0}")]
    Tag(u8),
    #[error("{what} count {count} is over the limit of {max}")]
    Count {
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error("a scope in the vector is not valid")]
    Scope,
    #[error("{0} trailing bytes after the message")]
    Trailing(usize),
}

impl Message {
    /// A short name for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Vector { .. } => "vector",
            Message::Pull { .. } => "pull",
            Message::Entries { .. } => "entries",
            Message::TopologyRequest => "topology-request",
            Message::Topology { .. } => "topology",
            Message::Checkpoint { .. } => "checkpoint",
            Message::Evidence { .. } => "evidence",
        }
    }

    /// The message's bytes: packed when it is at least [`PACK_MIN_BYTES`] long and deflating makes it smaller
    /// (entries of records, whose text and repeated keys compress as prose does), else as it is.
    pub fn encode(&self) -> Vec<u8> {
        let plain = self.encode_plain();
        if plain.len() - 1 < PACK_MIN_BYTES {
            return plain;
        }
        let mut out = Vec::with_capacity(plain.len() / 2);
        out.push(MESSAGE_VERSION_PACKED);
        out.extend_from_slice(&((plain.len() - 1) as u32).to_be_bytes());
        let mut deflate = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
        deflate
            .write_all(&plain[1..])
            .expect("deflating into memory does not fail");
        let packed = deflate
            .finish()
            .expect("deflating into memory does not fail");
        if packed.len() < plain.len() {
            packed
        } else {
            plain
        }
    }

    /// The message's bytes as it is (version 1), never packed.
    pub fn encode_plain(&self) -> Vec<u8> {
        let mut out = vec![MESSAGE_VERSION];
        match self {
            Message::Vector {
                topology_version,
                heads,
            } => {
                out.push(TAG_VECTOR);
                out.extend_from_slice(&topology_version.to_be_bytes());
                out.extend_from_slice(&(heads.len() as u32).to_be_bytes());
                for h in heads {
                    let scope = h.log.scope.wire();
                    let scope = scope.as_bytes();
                    out.extend_from_slice(&h.log.author.0);
                    out.push(scope.len() as u8);
                    out.extend_from_slice(scope);
                    out.extend_from_slice(&h.seq.to_be_bytes());
                    out.extend_from_slice(&h.hash.0);
                }
            }
            Message::Pull { log, after, max } => {
                out.push(TAG_PULL);
                out.extend_from_slice(&log.0);
                out.extend_from_slice(&after.to_be_bytes());
                out.extend_from_slice(&max.to_be_bytes());
            }
            Message::Entries { log, entries } => {
                out.push(TAG_ENTRIES);
                out.extend_from_slice(&log.0);
                out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
                for e in entries {
                    out.extend_from_slice(&(e.len() as u32).to_be_bytes());
                    out.extend_from_slice(e);
                }
            }
            Message::TopologyRequest => out.push(TAG_TOPOLOGY_REQUEST),
            Message::Topology { signed } => {
                out.push(TAG_TOPOLOGY);
                out.extend_from_slice(&(signed.len() as u32).to_be_bytes());
                out.extend_from_slice(signed);
            }
            Message::Checkpoint { log, note } => {
                out.push(TAG_CHECKPOINT);
                out.extend_from_slice(&log.0);
                out.extend_from_slice(&(note.len() as u32).to_be_bytes());
                out.extend_from_slice(note);
            }
            Message::Evidence { first, second } => {
                out.push(TAG_EVIDENCE);
                for e in [first, second] {
                    out.extend_from_slice(&(e.len() as u32).to_be_bytes());
                    out.extend_from_slice(e);
                }
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Message, MessageError> {
        if bytes.len() > limits::SYNC_MESSAGE_BYTES_MAX {
            return Err(MessageError::TooLarge(bytes.len()));
        }
        let mut r = Reader(bytes);
        match r.u8("version")? {
            MESSAGE_VERSION => Self::decode_body(r),
            MESSAGE_VERSION_PACKED => {
                // The length is checked before anything is allocated; what inflates past it, or short of it,
                // or leaves bytes after the deflate stream, is refused.
                let claimed = r.count("packed length", limits::SYNC_MESSAGE_BYTES_MAX - 1)?;
                let mut raw = Vec::with_capacity(claimed);
                let mut inflate = flate2::Decompress::new(false);
                let status = inflate
                    .decompress_vec(r.0, &mut raw, flate2::FlushDecompress::Finish)
                    .map_err(|e| MessageError::Packed {
                        claimed,
                        reason: e.to_string(),
                    })?;
                let consumed = inflate.total_in() as usize;
                if status != flate2::Status::StreamEnd || raw.len() != claimed {
                    return Err(MessageError::Packed {
                        claimed,
                        reason: format!(
                            "{} bytes inflated{}",
                            raw.len(),
                            if status == flate2::Status::StreamEnd {
                                ""
                            } else {
                                " before the stream ended"
                            }
                        ),
                    });
                }
                if consumed < r.0.len() {
                    return Err(MessageError::Trailing(r.0.len() - consumed));
                }
                Self::decode_body(Reader(&raw))
            }
            version => Err(MessageError::Version(version)),
        }
    }

    /// A message's tag and body.
    fn decode_body(mut r: Reader<'_>) -> Result<Message, MessageError> {
        let message = match r.u8("tag")? {
            TAG_VECTOR => {
                let topology_version = r.u64("topology version")?;
                let count = r.count("vector heads", limits::SYNC_VECTOR_LOGS_MAX)?;
                let mut heads = Vec::with_capacity(count);
                for _ in 0..count {
                    let author = Author(r.array("head author")?);
                    let len = r.u8("scope length")? as usize;
                    let scope =
                        Scope::decode(r.take(len, "scope")?).map_err(|_| MessageError::Scope)?;
                    let seq = r.u64("head seq")?;
                    let hash = Hash(r.array("head hash")?);
                    heads.push(LogHead {
                        log: LogId { author, scope },
                        seq,
                        hash,
                    });
                }
                Message::Vector {
                    topology_version,
                    heads,
                }
            }
            TAG_PULL => Message::Pull {
                log: Hash(r.array("pull log")?),
                after: r.u64("pull after")?,
                max: r.u32("pull max")?,
            },
            TAG_ENTRIES => {
                let log = Hash(r.array("entries log")?);
                let count = r.count("entries", limits::SYNC_PULL_ENTRIES_MAX)?;
                let mut entries = Vec::with_capacity(count);
                for _ in 0..count {
                    let len = r.u32("entry length")? as usize;
                    if len > limits::ENTRY_BYTES_MAX {
                        return Err(MessageError::Count {
                            what: "entry bytes",
                            count: len,
                            max: limits::ENTRY_BYTES_MAX,
                        });
                    }
                    entries.push(r.take(len, "entry")?.to_vec());
                }
                Message::Entries { log, entries }
            }
            TAG_TOPOLOGY_REQUEST => Message::TopologyRequest,
            TAG_TOPOLOGY => {
                let len = r.count("topology bytes", limits::NOTE_BYTES_MAX)?;
                Message::Topology {
                    signed: r.take(len, "topology")?.to_vec(),
                }
            }
            TAG_CHECKPOINT => {
                let log = Hash(r.array("checkpoint log")?);
                let len = r.count("checkpoint bytes", limits::CHECKPOINT_NOTE_BYTES_MAX)?;
                Message::Checkpoint {
                    log,
                    note: r.take(len, "checkpoint")?.to_vec(),
                }
            }
            TAG_EVIDENCE => {
                let len = r.count("evidence entry bytes", limits::ENTRY_BYTES_MAX)?;
                let first = r.take(len, "evidence entry")?.to_vec();
                let len = r.count("evidence entry bytes", limits::ENTRY_BYTES_MAX)?;
                let second = r.take(len, "evidence entry")?.to_vec();
                Message::Evidence { first, second }
            }
            tag => return Err(MessageError::Tag(tag)),
        };
        if !r.0.is_empty() {
            return Err(MessageError::Trailing(r.0.len()));
        }
        Ok(message)
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], MessageError> {
        if self.0.len() < n {
            return Err(MessageError::Truncated(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], MessageError> {
        Ok(self.take(N, what)?.try_into().expect("took N bytes"))
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, MessageError> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, MessageError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, MessageError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    fn count(&mut self, what: &'static str, max: usize) -> Result<usize, MessageError> {
        let count = self.u32(what)? as usize;
        if count > max {
            return Err(MessageError::Count { what, count, max });
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_head() -> impl Strategy<Value = LogHead> {
        (
            any::<[u8; 32]>(),
            "[a-z0-9/-]{1,48}",
            any::<u64>(),
            any::<[u8; 32]>(),
        )
            .prop_map(|(a, s, seq, h)| LogHead {
                log: LogId {
                    author: Author(a),
                    scope: Scope::parse(&s).expect("scope"),
                },
                seq,
                hash: Hash(h),
            })
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        prop_oneof![
            (any::<u64>(), proptest::collection::vec(arb_head(), 0..8)).prop_map(
                |(topology_version, heads)| Message::Vector {
                    topology_version,
                    heads
                }
            ),
            (any::<[u8; 32]>(), any::<u64>(), any::<u32>()).prop_map(|(l, after, max)| {
                Message::Pull {
                    log: Hash(l),
                    after,
                    max,
                }
            }),
            (
                any::<[u8; 32]>(),
                proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)
            )
                .prop_map(|(l, entries)| Message::Entries {
                    log: Hash(l),
                    entries
                }),
            // Entries large enough to be packed: words, which deflate.
            (
                any::<[u8; 32]>(),
                proptest::collection::vec("[a-z]{1,9}", 150..600)
            )
                .prop_map(|(l, words)| Message::Entries {
                    log: Hash(l),
                    entries: vec![words.join(" ").into_bytes(), words.concat().into_bytes()],
                }),
            Just(Message::TopologyRequest),
            proptest::collection::vec(any::<u8>(), 0..256)
                .prop_map(|signed| Message::Topology { signed }),
            (
                any::<[u8; 32]>(),
                proptest::collection::vec(any::<u8>(), 0..256)
            )
                .prop_map(|(l, note)| Message::Checkpoint { log: Hash(l), note }),
            (
                proptest::collection::vec(any::<u8>(), 0..128),
                proptest::collection::vec(any::<u8>(), 0..128)
            )
                .prop_map(|(first, second)| Message::Evidence { first, second }),
        ]
    }

    proptest! {
        #[test]
        fn messages_round_trip(m in arb_message()) {
            prop_assert_eq!(Message::decode(&m.encode()), Ok(m));
        }

        #[test]
        fn any_truncation_or_extension_is_refused(m in arb_message(), cut in any::<prop::sample::Index>()) {
            let bytes = m.encode();
            let n = cut.index(bytes.len());
            prop_assert!(Message::decode(&bytes[..n]).is_err());
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert_eq!(Message::decode(&longer), Err(MessageError::Trailing(1)));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Message::decode(&bytes);
        }
    }

    #[test]
    fn counts_over_their_limits_are_refused_before_allocating() {
        let mut bytes = vec![MESSAGE_VERSION, TAG_ENTRIES];
        bytes.extend_from_slice(&[0; 32]);
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Message::decode(&bytes),
            Err(MessageError::Count {
                what: "entries",
                ..
            })
        ));
        let mut bytes = vec![MESSAGE_VERSION, TAG_VECTOR];
        bytes.extend_from_slice(&1u64.to_be_bytes());
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Message::decode(&bytes),
            Err(MessageError::Count {
                what: "vector heads",
                ..
            })
        ));
        assert_eq!(Message::decode(&[3, 1]), Err(MessageError::Version(3)));
        let mut bytes = vec![MESSAGE_VERSION, TAG_CHECKPOINT];
        bytes.extend_from_slice(&[0; 32]);
        bytes.extend_from_slice(&(limits::CHECKPOINT_NOTE_BYTES_MAX as u32 + 1).to_be_bytes());
        assert!(matches!(
            Message::decode(&bytes),
            Err(MessageError::Count {
                what: "checkpoint bytes",
                ..
            })
        ));
        let mut bytes = vec![MESSAGE_VERSION, TAG_EVIDENCE];
        bytes.extend_from_slice(&(limits::ENTRY_BYTES_MAX as u32 + 1).to_be_bytes());
        assert!(matches!(
            Message::decode(&bytes),
            Err(MessageError::Count {
                what: "evidence entry bytes",
                ..
            })
        ));
        assert_eq!(Message::decode(&[1, 9]), Err(MessageError::Tag(9)));
        let mut bytes = vec![MESSAGE_VERSION_PACKED];
        bytes.extend_from_slice(&(limits::SYNC_MESSAGE_BYTES_MAX as u32).to_be_bytes());
        assert!(matches!(
            Message::decode(&bytes),
            Err(MessageError::Count {
                what: "packed length",
                ..
            })
        ));
    }

    /// Entries of text, as records' entries are: the answer to a pull of them travels packed, smaller, and comes
    /// back the same.
    fn text_entries() -> Message {
        let words = [
            "missing", "child", "last", "seen", "near", "the", "bus", "stand", "wearing", "blue",
        ];
        let entries = (0..256u32)
            .map(|i| {
                (0..150u32)
                    .map(|j| words[((i * 7 + j * j) % 10) as usize])
                    .collect::<Vec<_>>()
                    .join(" ")
                    .into_bytes()
            })
            .collect();
        Message::Entries {
            log: Hash([7; 32]),
            entries,
        }
    }

    #[test]
    fn large_messages_travel_packed() {
        let m = text_entries();
        let plain = m.encode_plain();
        let packed = m.encode();
        assert_eq!(packed[0], MESSAGE_VERSION_PACKED);
        assert!(
            packed.len() * 2 < plain.len(),
            "{} of {}",
            packed.len(),
            plain.len()
        );
        assert_eq!(Message::decode(&packed), Ok(m.clone()));
        assert_eq!(Message::decode(&plain), Ok(m));
        let small = Message::Pull {
            log: Hash([1; 32]),
            after: 5,
            max: 256,
        };
        assert_eq!(small.encode(), small.encode_plain());
    }

    #[test]
    fn a_packed_message_must_inflate_to_its_claimed_length() {
        let packed = text_entries().encode();
        let claimed = u32::from_be_bytes(packed[1..5].try_into().unwrap());
        for lie in [claimed - 1, claimed + 1] {
            let mut bytes = packed.clone();
            bytes[1..5].copy_from_slice(&lie.to_be_bytes());
            assert!(
                matches!(Message::decode(&bytes), Err(MessageError::Packed { claimed, .. }) if claimed == lie as usize),
                "claimed {lie}"
            );
        }
        let mut bytes = packed[..5].to_vec();
        bytes.extend_from_slice(&[0xff; 16]);
        assert!(matches!(
            Message::decode(&bytes),
            Err(MessageError::Packed { .. })
        ));
    }
}
