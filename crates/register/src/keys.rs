//! The register's secret key, and what is derived from it: the AEAD key that encrypts every value at rest, and the
//! key of the CNIC index's keyed hash.
//!
//! One 32-byte secret lives in its own file (`register.key`, mode 0600, beside but apart from the node key). Two
//! keys are derived from it with HKDF-SHA256 under distinct labels, so the index key and the encryption key never
//! coincide. Neither the secret nor anything derived from it leaves the federal node.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use thiserror::Error;
use zeroize::Zeroizing;

const KEY_FILE_VERSION: &str = "hifazat-register-key-v1";
const AEAD_LABEL: &[u8] = b"hifazat/register/aead/v1";
const INDEX_LABEL: &[u8] = b"hifazat/register/cnic-index/v1";
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("cannot read the register key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the register key {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("the register key {path} is not a register key file ({reason})")]
    Format { path: String, reason: String },
    #[error("the register key {path} may be read by others (mode {mode:o}); it must be 0600")]
    Mode { path: String, mode: u32 },
    #[error("the register key {path} exists already; refusing to replace it")]
    Exists { path: String },
}

/// A value did not decrypt: it was damaged, moved to another key, or encrypted under another secret.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("a register value does not decrypt (damaged, moved, or under another key)")]
pub struct OpenError;

/// The register's keys. Debug output shows nothing secret.
pub struct RegisterKeys {
    aead: XChaCha20Poly1305,
    index: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for RegisterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegisterKeys(..)")
    }
}

impl RegisterKeys {
    /// Derives both keys from the 32-byte secret.
    pub fn from_secret(secret: &[u8; 32]) -> RegisterKeys {
        let hk = Hkdf::<Sha256>::new(None, secret);
        let mut aead = Zeroizing::new([0u8; 32]);
        let mut index = Zeroizing::new([0u8; 32]);
        hk.expand(AEAD_LABEL, aead.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 length");
        hk.expand(INDEX_LABEL, index.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 length");
        RegisterKeys {
            aead: XChaCha20Poly1305::new(aead.as_ref().into()),
            index,
        }
    }

    /// A fresh secret from the operating system's generator.
    pub fn generate_secret() -> Zeroizing<[u8; 32]> {
        let mut secret = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(secret.as_mut());
        secret
    }

    /// The keyed hash of a CNIC (13 digits, as the domain normalises it): HMAC-SHA256 under the index key. It
    /// indexes register entries and names the CNIC in the consultation log. Without the key nobody can test a
    /// CNIC against it, which a plain hash of a 13-digit number would allow in minutes.
    pub fn cnic_hash(&self, cnic: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.index.as_ref())
            .expect("HMAC takes keys of any length");
        mac.update(cnic.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Encrypts `plain` with a random 24-byte nonce, binding `context` (where the value is kept: its tree and
    /// key), so a value copied to another place no longer opens. Output: nonce, then ciphertext and tag.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let body = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any length this process can hold");
        let mut out = Vec::with_capacity(NONCE_BYTES + body.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        out
    }

    /// Decrypts what [`RegisterKeys::seal`] made for the same `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_BYTES + TAG_BYTES {
            return Err(OpenError);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        self.aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .map_err(|_| OpenError)
    }
}

/// Writes a new secret to `path` with mode 0600, refusing to replace an existing file (losing the secret loses
/// the register). The file is one line: a version tag and the secret in hex.
pub fn create_key_file(path: &Path) -> Result<RegisterKeys, KeyError> {
    let shown = path.display().to_string();
    let secret = RegisterKeys::generate_secret();
    let line = Zeroizing::new(format!(
        "{KEY_FILE_VERSION} {}\n",
        hex::encode(secret.as_ref())
    ));
    hifazat_files::create_new(path, line.as_bytes(), hifazat_files::Access::OwnerOnly).map_err(
        |source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists { path: shown }
            } else {
                KeyError::Write {
                    path: shown,
                    source,
                }
            }
        },
    )?;
    Ok(RegisterKeys::from_secret(&secret))
}

/// Reads the secret at `path`; refuses a file others may read.
pub fn read_key_file(path: &Path) -> Result<RegisterKeys, KeyError> {
    let shown = path.display().to_string();
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: shown.clone(),
            source,
        })?,
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|source| KeyError::Read {
                path: shown.clone(),
                source,
            })?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Mode { path: shown, mode });
        }
    }
    let format = |reason: &str| KeyError::Format {
        path: shown.clone(),
        reason: reason.to_owned(),
    };
    let (tag, hex_secret) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| format("expected a version tag and a secret"))?;
    if tag != KEY_FILE_VERSION {
        return Err(format("unknown version tag"));
    }
    let mut secret = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex_secret, secret.as_mut())
        .map_err(|_| format("the secret is not 64 hex digits"))?;
    Ok(RegisterKeys::from_secret(&secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_open_only_in_their_place_and_under_their_key() {
        let keys = RegisterKeys::from_secret(&[7; 32]);
        let sealed = keys.seal(b"entry/1", b"secret text");
        assert_eq!(
            keys.open(b"entry/1", &sealed).expect("opens"),
            b"secret text"
        );
        assert_eq!(keys.open(b"entry/2", &sealed), Err(OpenError));
        let other = RegisterKeys::from_secret(&[8; 32]);
        assert_eq!(other.open(b"entry/1", &sealed), Err(OpenError));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(keys.open(b"entry/1", &bad), Err(OpenError), "byte {i}");
        }
        assert_eq!(keys.open(b"entry/1", &sealed[..20]), Err(OpenError));
        // Two seals of one value differ (random nonces), so equal values are not visible at rest.
        assert_ne!(keys.seal(b"x", b"same"), keys.seal(b"x", b"same"));
    }

    #[test]
    fn the_cnic_hash_is_keyed() {
        let a = RegisterKeys::from_secret(&[1; 32]);
        let b = RegisterKeys::from_secret(&[2; 32]);
        assert_eq!(a.cnic_hash("3520112345671"), a.cnic_hash("3520112345671"));
        assert_ne!(a.cnic_hash("3520112345671"), a.cnic_hash("3520112345672"));
        assert_ne!(a.cnic_hash("3520112345671"), b.cnic_hash("3520112345671"));
        let plain: [u8; 32] = <Sha256 as sha2::Digest>::digest(b"3520112345671").into();
        assert_ne!(a.cnic_hash("3520112345671"), plain);
    }

    #[test]
    fn the_key_file_is_private_and_never_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("register.key");
        let made = create_key_file(&path).expect("create");
        let read = read_key_file(&path).expect("read");
        assert_eq!(made.cnic_hash("1"), read.cnic_hash("1"));
        assert!(matches!(
            create_key_file(&path),
            Err(KeyError::Exists { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(read_key_file(&path), Err(KeyError::Mode { .. })));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        std::fs::write(&path, "something else\n").expect("write");
        assert!(matches!(read_key_file(&path), Err(KeyError::Format { .. })));
    }
}
