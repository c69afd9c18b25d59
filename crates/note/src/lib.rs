//! Signed notes, as c2sp.org/signed-note specifies them, with Ed25519 keys (signature type `0x01`).
//!
//! A note is a UTF-8 text ending in a newline, then a blank line, then one or more signature lines
//! `— <key name> <base64(key id (4 bytes) || signature)>`. The key id is
//! `SHA-256(key name || 0x0A || 0x01 || public key)[:4]`. Verifier keys are written
//! `<name>+<key id, 8 hex digits>+<base64(0x01 || public key)>`, signer keys
//! `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || 32-byte seed)>`.
//!
//! Signatures are checked under the project's one signature rule (`hifazat_log::Verifier::verify_detached`), which
//! accepts every signature RFC 8032 signing produces. Pure: no I/O.

pub mod checkpoint;
pub use checkpoint::{Checkpoint, CheckpointError, Cosigned, cosignature_key_id};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;
use hifazat_limits as limits;
use hifazat_log::{Author, Signer, Verifier};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The signature type byte of Ed25519 in signed notes.
const ED25519: u8 = 0x01;
const SIGNATURE_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NoteError {
    #[error("the note is larger than {} bytes", limits::NOTE_BYTES_MAX)]
    TooLarge,
    #[error("the note is not valid UTF-8")]
    NotUtf8,
    #[error("the note holds a control character (byte {0:#04x}) other than newline")]
    ControlCharacter(u8),
    #[error("the note has no blank line separating its text from its signatures")]
    NoSignatureBlock,
    #[error("the note text is empty or does not end in a newline")]
    BadText,
    #[error("signature line {line} is malformed: {reason}")]
    BadSignatureLine { line: usize, reason: String },
    #[error("the note has more than {} signatures", limits::NOTE_SIGNATURES_MAX)]
    TooManySignatures,
    #[error("key name {0:?} is empty, too long, or holds a space or a '+'")]
    BadKeyName(String),
    #[error("key {0:?} is malformed: {1}")]
    BadKey(String, String),
    #[error("the signature by {0} (a known key) does not verify")]
    BadSignature(String),
    #[error("no signature by a known key")]
    NoKnownSignature,
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name.len() > limits::NOTE_KEY_NAME_BYTES_MAX
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(NoteError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// The key id of an Ed25519 key under `name`.
fn key_id(name: &str, key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519]);
    h.update(key);
    h.finalize()[..4].try_into().expect("4 bytes")
}

/// A public key that can check signatures on notes: a name and an Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub key: Author,
}

impl VerifierKey {
    pub fn new(name: &str, key: Author) -> Result<VerifierKey, NoteError> {
        check_name(name)?;
        Ok(VerifierKey {
            name: name.to_owned(),
            key,
        })
    }

    pub fn id(&self) -> [u8; 4] {
        key_id(&self.name, &self.key.0)
    }

    /// Parses `<name>+<key id hex>+<base64(0x01 || key)>`, checking the key id against the key.
    pub fn parse(text: &str) -> Result<VerifierKey, NoteError> {
        let bad = |why: &str| NoteError::BadKey(text.to_owned(), why.to_owned());
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name+keyid+key"));
        };
        check_name(name)?;
        let material = BASE64
            .decode(material)
            .map_err(|_| bad("the key is not base64"))?;
        let [ED25519, key @ ..] = material.as_slice() else {
            return Err(bad("not an Ed25519 key (type byte 0x01)"));
        };
        let key: [u8; 32] = key.try_into().map_err(|_| bad("the key is not 32 bytes"))?;
        let vk = VerifierKey {
            name: name.to_owned(),
            key: Author(key),
        };
        if id.len() != 8 || hex_id(&vk.id()) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(vk)
    }
}

fn hex_id(id: &[u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut material = vec![ED25519];
        material.extend_from_slice(&self.key.0);
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex_id(&self.id()),
            BASE64.encode(material)
        )
    }
}

/// A secret key that signs notes under a name.
pub struct SignerKey {
    name: String,
    seed: [u8; 32],
    signer: Signer,
}

impl std::fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SignerKey {
    pub fn new(name: &str, seed: [u8; 32]) -> Result<SignerKey, NoteError> {
        check_name(name)?;
        Ok(SignerKey {
            name: name.to_owned(),
            seed,
            signer: Signer::new(SigningKey::from_bytes(&seed)),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key: self.signer.author(),
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`.
    pub fn parse(text: &str) -> Result<SignerKey, NoteError> {
        let bad = |why: &str| NoteError::BadKey("PRIVATE+KEY+…".into(), why.to_owned());
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("does not start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected PRIVATE+KEY+name+keyid+key"));
        };
        let material = BASE64
            .decode(material)
            .map_err(|_| bad("the key is not base64"))?;
        let [ED25519, seed @ ..] = material.as_slice() else {
            return Err(bad("not an Ed25519 key (type byte 0x01)"));
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| bad("the key is not 32 bytes"))?;
        let key = SignerKey::new(name, seed)?;
        if hex_id(&key.verifier().id()) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(key)
    }

    /// The key in its text form. Secret: write it only to a file readable by its owner.
    pub fn encode(&self) -> String {
        let mut material = vec![ED25519];
        material.extend_from_slice(&self.seed);
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex_id(&self.verifier().id()),
            BASE64.encode(material)
        )
    }
}

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub id: [u8; 4],
    /// The signature bytes after the key id (64 for Ed25519; other types may differ).
    pub signature: Vec<u8>,
}

/// A signed note, parsed but not yet verified: its text must not be trusted before [`Note::verify`] says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.len() > limits::NOTE_BYTES_MAX {
        return Err(NoteError::TooLarge);
    }
    if let Some(b) = text.bytes().find(|b| *b < 0x20 && *b != b'\n') {
        return Err(NoteError::ControlCharacter(b));
    }
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::BadText);
    }
    Ok(())
}

impl Note {
    /// Signs `text` (which must end in a newline and hold no control character but newline) with `key`.
    pub fn sign(text: &str, key: &SignerKey) -> Result<Note, NoteError> {
        check_text(text)?;
        let mut note = Note {
            text: text.to_owned(),
            signatures: Vec::new(),
        };
        note.add_signature(key)?;
        Ok(note)
    }

    /// Adds `key`'s signature (a cosignature, when the note is already signed).
    pub fn add_signature(&mut self, key: &SignerKey) -> Result<(), NoteError> {
        if self.signatures.len() >= limits::NOTE_SIGNATURES_MAX {
            return Err(NoteError::TooManySignatures);
        }
        let signature = key
            .signer
            .sign_detached(self.text.as_bytes())
            .expect("a note text holds no NUL");
        self.signatures.push(NoteSignature {
            name: key.name.clone(),
            id: key.verifier().id(),
            signature: signature.to_vec(),
        });
        Ok(())
    }

    /// Parses a note's bytes (without checking signatures).
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > limits::NOTE_BYTES_MAX {
            return Err(NoteError::TooLarge);
        }
        let all = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        if let Some(b) = all.bytes().find(|b| *b < 0x20 && *b != b'\n') {
            return Err(NoteError::ControlCharacter(b));
        }
        // The text ends at the last blank line: "\n\n" splits the text (with its final newline) from the block.
        let split = all.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, block) = (&all[..split + 1], &all[split + 2..]);
        check_text(text)?;
        if block.is_empty() || !block.ends_with('\n') {
            return Err(NoteError::NoSignatureBlock);
        }
        let mut signatures = Vec::new();
        for (i, line) in block[..block.len() - 1].split('\n').enumerate() {
            let bad = |reason: &str| NoteError::BadSignatureLine {
                line: i + 1,
                reason: reason.to_owned(),
            };
            let rest = line
                .strip_prefix(SIGNATURE_PREFIX)
                .ok_or_else(|| bad("does not start with an em dash and a space"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad("expected a key name and a signature"))?;
            check_name(name).map_err(|_| bad("bad key name"))?;
            let raw = BASE64
                .decode(b64)
                .map_err(|_| bad("the signature is not base64"))?;
            if raw.len() < 5 {
                return Err(bad("the signature is too short"));
            }
            if signatures.len() >= limits::NOTE_SIGNATURES_MAX {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                id: raw[..4].try_into().expect("4 bytes"),
                signature: raw[4..].to_vec(),
            });
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note's bytes: text, blank line, signature lines.
    pub fn encode(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            let mut raw = s.id.to_vec();
            raw.extend_from_slice(&s.signature);
            out.push_str(SIGNATURE_PREFIX);
            out.push_str(&s.name);
            out.push(' ');
            out.push_str(&BASE64.encode(raw));
            out.push('\n');
        }
        out
    }

    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Checks the note against `known` keys, as the specification asks: signatures by unknown keys are ignored;
    /// every signature by a known key must verify; at least one must. Returns the text and the names of the known
    /// keys that signed it.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<(&str, Vec<String>), NoteError> {
        let mut verifier = Verifier::new();
        let mut signed_by = Vec::new();
        for s in &self.signatures {
            let Some(key) = known.iter().find(|k| k.name == s.name && k.id() == s.id) else {
                continue;
            };
            let signature: [u8; 64] = s
                .signature
                .as_slice()
                .try_into()
                .map_err(|_| NoteError::BadSignature(s.name.clone()))?;
            verifier
                .verify_detached(key.key, self.text.as_bytes(), &signature)
                .map_err(|_| NoteError::BadSignature(s.name.clone()))?;
            if !signed_by.contains(&s.name) {
                signed_by.push(s.name.clone());
            }
        }
        if signed_by.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok((&self.text, signed_by))
    }
}
