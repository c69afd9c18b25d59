//! Notifications sealed to the federal node: anyone with its public key can seal, only its secret key opens.
//!
//! An anonymous sealed box, like libsodium's `crypto_box_seal` and age's `ssh-ed25519` recipients: the federal
//! node's ed25519 key is mapped to its X25519 form (the birationally equivalent Montgomery point, and the
//! clamped scalar of its secret key); the sender makes a one-time X25519 key, and HKDF-SHA256 over the shared
//! secret, bound to both public keys, gives a one-time ChaCha20-Poly1305 key. Relays carry the box and learn
//! nothing but its length.
//!
//! Layout: version byte (1), the sender's one-time X25519 public key (32 bytes), then ciphertext and tag.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{SigningKey, VerifyingKey};
use hifazat_limits as limits;
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use thiserror::Error;
use zeroize::Zeroizing;

const SEAL_VERSION: u8 = 1;
const SEAL_LABEL: &[u8] = b"hifazat/notice-seal/v1";
const HEADER_BYTES: usize = 1 + 32;
const TAG_BYTES: usize = 16;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SealError {
    #[error("the recipient's key is not a valid ed25519 public key")]
    Recipient,
    #[error("the sealed notification is too large ({0} bytes)")]
    TooLarge(usize),
    #[error("the sealed notification is malformed: {0}")]
    Malformed(&'static str),
    #[error(
        "the sealed notification does not open with this key (damaged, or sealed to another node)"
    )]
    Open,
}

fn box_key(
    shared: &MontgomeryPoint,
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    hk.expand(SEAL_LABEL, key.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 length");
    key
}

/// Seals `plain` to the holder of the ed25519 secret key whose public key is `recipient`.
pub fn seal(recipient: &[u8; 32], plain: &[u8]) -> Result<Vec<u8>, SealError> {
    let total = HEADER_BYTES + plain.len() + TAG_BYTES;
    if total > limits::NOTICE_SEALED_BYTES_MAX {
        return Err(SealError::TooLarge(total));
    }
    let point = VerifyingKey::from_bytes(recipient)
        .map_err(|_| SealError::Recipient)?
        .to_montgomery();
    let mut secret = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(secret.as_mut());
    let ephemeral = MontgomeryPoint::mul_base_clamped(*secret).to_bytes();
    let shared = point.mul_clamped(*secret);
    if shared.to_bytes() == [0u8; 32] {
        return Err(SealError::Recipient);
    }
    let key = box_key(&shared, &ephemeral, recipient);
    // The key is used once, so a fixed nonce is safe.
    let body = ChaCha20Poly1305::new(key.as_ref().into())
        .encrypt(Nonce::from_slice(&[0u8; 12]), plain)
        .expect("ChaCha20-Poly1305 encrypts any length this process can hold");
    let mut out = Vec::with_capacity(total);
    out.push(SEAL_VERSION);
    out.extend_from_slice(&ephemeral);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Opens a box sealed to `key`'s public key.
pub fn open(key: &SigningKey, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() > limits::NOTICE_SEALED_BYTES_MAX {
        return Err(SealError::TooLarge(sealed.len()));
    }
    if sealed.len() < HEADER_BYTES + TAG_BYTES {
        return Err(SealError::Malformed("shorter than its header and tag"));
    }
    if sealed[0] != SEAL_VERSION {
        return Err(SealError::Malformed("unknown version"));
    }
    let ephemeral: [u8; 32] = sealed[1..HEADER_BYTES].try_into().expect("32 bytes");
    let shared = MontgomeryPoint(ephemeral).mul_clamped(key.to_scalar_bytes());
    if shared.to_bytes() == [0u8; 32] {
        return Err(SealError::Open);
    }
    let box_key = box_key(&shared, &ephemeral, key.verifying_key().as_bytes());
    ChaCha20Poly1305::new(box_key.as_ref().into())
        .decrypt(Nonce::from_slice(&[0u8; 12]), &sealed[HEADER_BYTES..])
        .map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn only_the_recipient_opens_and_any_change_is_refused() {
        let federal = key(1);
        let sealed = seal(federal.verifying_key().as_bytes(), b"new address").expect("seal");
        assert_eq!(open(&federal, &sealed).expect("open"), b"new address");
        assert_eq!(open(&key(2), &sealed), Err(SealError::Open));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x40;
            assert!(open(&federal, &bad).is_err(), "byte {i}");
        }
        assert!(open(&federal, &sealed[..sealed.len() - 1]).is_err());
        // Two boxes of the same text share no bytes a relay could match.
        let again = seal(federal.verifying_key().as_bytes(), b"new address").expect("seal");
        assert_ne!(sealed[1..33], again[1..33]);
        assert_ne!(sealed[33..], again[33..]);
    }

    #[test]
    fn limits_and_bad_keys_are_refused() {
        let federal = key(3);
        let big = vec![0u8; limits::NOTICE_SEALED_BYTES_MAX];
        assert!(matches!(
            seal(federal.verifying_key().as_bytes(), &big),
            Err(SealError::TooLarge(_))
        ));
        // The identity point's encoding is a valid key for dalek but maps to a low-order Montgomery point.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(seal(&identity, b"x"), Err(SealError::Recipient));
        let mut low_order = vec![SEAL_VERSION];
        low_order.extend_from_slice(&[0u8; 32]);
        low_order.extend_from_slice(&[0u8; 20]);
        assert_eq!(open(&federal, &low_order), Err(SealError::Open));
    }
}
