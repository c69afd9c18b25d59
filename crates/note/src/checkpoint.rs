//! Checkpoints (c2sp.org/tlog-checkpoint) of a log's Merkle tree, and Ed25519 cosignatures of them
//! (c2sp.org/tlog-cosignature, version 1).
//!
//! A checkpoint is a signed note whose text is the log's origin, its tree size in decimal and its root hash in
//! base64, one per line, then any extension lines. A cosignature is a note signature of type `0x04` by a witness:
//! key id `SHA-256(name || 0x0A || 0x04 || key)[:4]`, signature `timestamp (8 bytes, big-endian) || Ed25519
//! signature` over `"cosignature/v1\ntime <timestamp>\n" || checkpoint text`. It states that, at that time, this is
//! the largest consistent tree the witness has seen of the log.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hifazat_log::Verifier;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::{Note, NoteError, NoteSignature, SignerKey, VerifierKey, check_name};

/// The signature type byte of Ed25519 cosignatures (tlog-cosignature v1).
const COSIGNATURE: u8 = 0x04;
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// The tree head a checkpoint states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Names the log, unique among logs (the first line).
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
    /// Lines after the root, kept as they are (a cosignature covers them too).
    pub extensions: Vec<String>,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("the checkpoint has {0} lines; it needs origin, size and root")]
    TooShort(usize),
    #[error("line 1 (origin) is empty or not a valid name")]
    Origin,
    #[error("line 2 (size) is not a decimal number without leading zeros")]
    Size,
    #[error("line 3 (root) is not the base64 of 32 bytes")]
    Root,
    #[error("an extension line is empty")]
    Extension,
    #[error("the note: {0}")]
    Note(#[from] NoteError),
}

impl Checkpoint {
    /// The note text: origin, size, root, extension lines, each ending in a newline.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Parses a checkpoint's text (a note's text, once its signatures are checked).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::TooShort(0))?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::TooShort(lines.len()));
        }
        let origin = lines[0];
        // The origin is a name like a key name; the cosignature header can never be one (it would let a
        // cosignature pass for a checkpoint signature under a key that signs both).
        if check_name(origin).is_err() || format!("{origin}\n") == COSIGNATURE_HEADER {
            return Err(CheckpointError::Origin);
        }
        let size_line = lines[1];
        if size_line.is_empty()
            || !size_line.bytes().all(|b| b.is_ascii_digit())
            || (size_line.len() > 1 && size_line.starts_with('0'))
        {
            return Err(CheckpointError::Size);
        }
        let size = size_line.parse().map_err(|_| CheckpointError::Size)?;
        let root = BASE64
            .decode(lines[2])
            .ok()
            .and_then(|r| <[u8; 32]>::try_from(r).ok())
            .ok_or(CheckpointError::Root)?;
        if BASE64.encode(root) != lines[2] {
            return Err(CheckpointError::Root);
        }
        let extensions: Vec<String> = lines[3..].iter().map(|l| (*l).to_owned()).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Extension);
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint as its log's author.
    pub fn sign(&self, key: &SignerKey) -> Result<Note, NoteError> {
        Note::sign(&self.text(), key)
    }

    /// The checkpoint a signed note states, read without checking any signature: to compare sizes before
    /// verifying, or to read a note this node kept after checking it. `None` when it is not a checkpoint note.
    pub fn read_unverified(note: &[u8]) -> Option<Checkpoint> {
        let note = Note::parse(note).ok()?;
        Checkpoint::parse(note.text_unverified()).ok()
    }

    /// Checks a checkpoint note against its log's key and parses it.
    pub fn open(note: &Note, log_key: &VerifierKey) -> Result<Checkpoint, CheckpointError> {
        let (text, _) = note.verify(std::slice::from_ref(log_key))?;
        Checkpoint::parse(text)
    }
}

/// The key id of a witness's Ed25519 cosigning key under `name`.
pub fn cosignature_key_id(name: &str, key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', COSIGNATURE]);
    h.update(key);
    h.finalize()[..4].try_into().expect("4 bytes")
}

fn cosigned_message(time: u64, text: &str) -> String {
    format!("{COSIGNATURE_HEADER}time {time}\n{text}")
}

/// A cosignature that verified: who and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    pub witness: String,
    /// Seconds since the Unix epoch.
    pub time: u64,
}

impl Note {
    /// Adds `witness`'s cosignature made at `time` (seconds since the Unix epoch, at most 2^63 − 1).
    pub fn add_cosignature(&mut self, witness: &SignerKey, time: u64) -> Result<(), NoteError> {
        if self.signatures.len() >= hifazat_limits::NOTE_SIGNATURES_MAX {
            return Err(NoteError::TooManySignatures);
        }
        let time = time.min(i64::MAX as u64);
        let signature = witness
            .signer
            .sign_detached(cosigned_message(time, &self.text).as_bytes())
            .expect("a note text holds no NUL");
        let mut raw = time.to_be_bytes().to_vec();
        raw.extend_from_slice(&signature);
        let key = witness.verifier();
        self.signatures.push(NoteSignature {
            name: key.name.clone(),
            id: cosignature_key_id(&key.name, &key.key.0),
            signature: raw,
        });
        Ok(())
    }

    /// The cosignatures by `witnesses` on this note. Cosignature lines of unknown witnesses are ignored; one by a
    /// known witness that does not verify is an error naming the witness.
    pub fn cosignatures(&self, witnesses: &[VerifierKey]) -> Result<Vec<Cosigned>, NoteError> {
        let mut verifier = Verifier::new();
        let mut out: Vec<Cosigned> = Vec::new();
        for s in &self.signatures {
            let Some(key) = witnesses
                .iter()
                .find(|k| k.name == s.name && cosignature_key_id(&k.name, &k.key.0) == s.id)
            else {
                continue;
            };
            let bad = || NoteError::BadSignature(format!("{} (cosignature)", s.name));
            if s.signature.len() != 72 {
                return Err(bad());
            }
            let time = u64::from_be_bytes(s.signature[..8].try_into().expect("8 bytes"));
            if time > i64::MAX as u64 {
                return Err(bad());
            }
            let signature: [u8; 64] = s.signature[8..].try_into().expect("64 bytes");
            verifier
                .verify_detached(
                    key.key,
                    cosigned_message(time, &self.text).as_bytes(),
                    &signature,
                )
                .map_err(|_| bad())?;
            if !out.iter().any(|c| c.witness == s.name) {
                out.push(Cosigned {
                    witness: s.name.clone(),
                    time,
                });
            }
        }
        Ok(out)
    }

    /// The note's text, unverified: for a cosigner that checks the text's claims itself, or to compare notes.
    pub fn text_unverified(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, seed: u8) -> SignerKey {
        SignerKey::new(name, [seed; 32]).unwrap()
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "hifazat/log/00ff".into(),
            size: 20852163,
            root: [7; 32],
            extensions: Vec::new(),
        }
    }

    #[test]
    fn text_round_trips_and_bad_lines_are_named() {
        let c = checkpoint();
        assert_eq!(Checkpoint::parse(&c.text()), Ok(c.clone()));
        let root = BASE64.encode([7u8; 32]);
        for (text, want) in [
            ("a\n1\n".to_owned(), CheckpointError::TooShort(2)),
            (format!("\n1\n{root}\n"), CheckpointError::Origin),
            (format!("a b\n1\n{root}\n"), CheckpointError::Origin),
            (
                format!("cosignature/v1\n1\n{root}\n"),
                CheckpointError::Origin,
            ),
            (format!("a\n01\n{root}\n"), CheckpointError::Size),
            (format!("a\n-1\n{root}\n"), CheckpointError::Size),
            (
                format!("a\n99999999999999999999\n{root}\n"),
                CheckpointError::Size,
            ),
            ("a\n1\nAAAA\n".to_owned(), CheckpointError::Root),
            (format!("a\n1\n{root}\n\n"), CheckpointError::Extension),
        ] {
            assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
        }
        let with_ext = format!("a\n1\n{root}\next one\n");
        assert_eq!(
            Checkpoint::parse(&with_ext).unwrap().extensions,
            vec!["ext one"]
        );
    }

    #[test]
    fn signed_and_cosigned_checkpoints_verify_by_the_right_keys_only() {
        let log = key("lahore", 1);
        let witness = key("punjab", 2);
        let stranger = key("punjab", 3);
        let mut note = checkpoint().sign(&log).unwrap();
        note.add_cosignature(&witness, 1_679_315_147).unwrap();
        let note = Note::parse(note.encode().as_bytes()).unwrap();
        assert_eq!(Checkpoint::open(&note, &log.verifier()), Ok(checkpoint()));
        // The cosignature is not a signature of type 0x01 by the witness's key, nor the other way round.
        assert!(note.verify(&[witness.verifier()]).is_err());
        assert_eq!(note.cosignatures(&[log.verifier()]), Ok(vec![]));
        assert_eq!(
            note.cosignatures(&[witness.verifier(), stranger.verifier()]),
            Ok(vec![Cosigned {
                witness: "punjab".into(),
                time: 1_679_315_147
            }])
        );
        // A cosignature moved onto another checkpoint fails, and names its witness.
        let mut other = checkpoint();
        other.size += 1;
        let mut forged = other.sign(&log).unwrap();
        forged.signatures.push(note.signatures()[1].clone());
        assert_eq!(
            forged.cosignatures(&[witness.verifier()]),
            Err(NoteError::BadSignature("punjab (cosignature)".into()))
        );
        // So does one whose timestamp was changed.
        let mut retimed = note.clone();
        retimed.signatures[1].signature[7] ^= 1;
        assert!(retimed.cosignatures(&[witness.verifier()]).is_err());
    }

    #[test]
    fn the_cosignature_message_is_the_specified_one() {
        // tlog-cosignature v1: header line, time line, then the checkpoint body.
        assert_eq!(
            cosigned_message(
                1679315147,
                "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
            ),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }
}
