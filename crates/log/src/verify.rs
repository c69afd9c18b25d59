//! Signing, and the one signature rule every node and auditor applies, alone or in batches.
//!
//! The rule (docs/wire.md, "Signature rule") is cofactored ed25519 verification with strict encodings:
//! the public key A and the nonce point R must be canonical encodings of points that are not of small order, S must
//! be a canonical scalar, and `[8]([S]B - R - [k]A)` must be the identity, with `k = SHA-512(R || A || message)`.
//! Batch verification checks `[8] * sum(z_i * ([S_i]B - R_i - [k_i]A_i))` for 128-bit coefficients `z_i` drawn
//! from a hash of the whole batch; it accepts a batch exactly when every entry in it passes the single rule (up to
//! a 2^-125 chance, the bound for any batch verifier), and a failed batch is re-checked one by one so every entry
//! gets the single rule's own verdict. ARCHITECTURE.md says why this rule and not ed25519-dalek's `verify_strict`:
//! cofactorless `verify_strict` cannot be batched without disagreeing with itself on crafted signatures.

use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signer as _, SigningKey};
use hifazat_limits as limits;
use sha2::{Digest, Sha512};
use thiserror::Error;

use crate::entry::{Author, Content, DecodeError, Entry, SIGNATURE_CONTEXT};

/// An entry whose signature has passed the rule. Only [`Verifier`] and [`Signer`] make one; functions that
/// apply or store entries take this type, so an unverified entry cannot reach them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedEntry(Entry);

impl VerifiedEntry {
    pub fn entry(&self) -> &Entry {
        &self.0
    }

    pub fn into_entry(self) -> Entry {
        self.0
    }

    /// This entry as the head of its log.
    pub fn head(&self) -> crate::Head {
        crate::Head {
            seq: self.0.content().seq,
            hash: self.0.hash(),
        }
    }
}

impl std::ops::Deref for VerifiedEntry {
    type Target = Entry;
    fn deref(&self) -> &Entry {
        &self.0
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    #[error("author key is not a canonical encoding of a curve point")]
    AuthorKeyEncoding,
    #[error("author key is a point of small order")]
    AuthorKeyWeak,
    #[error("signature's R is not a canonical encoding of a curve point")]
    NonceEncoding,
    #[error("signature's R is a point of small order")]
    NonceWeak,
    #[error("signature's S is not a canonical scalar (S >= group order)")]
    ScalarNotCanonical,
    #[error("signature does not verify")]
    BadSignature,
}

/// A signature's parts, decoded and checked for the encoding conditions of the rule.
struct Prepared {
    a: EdwardsPoint,
    /// The author's key as encoded (canonical, so one encoding per point).
    a_bytes: [u8; 32],
    r: EdwardsPoint,
    /// R as encoded (canonical).
    r_bytes: [u8; 32],
    s: Scalar,
    k: Scalar,
}

/// Decodes a point, accepting only its canonical encoding. An encoding is canonical when its y coordinate is
/// below p = 2^255 - 19 and, where x = 0 (y = 1 or y = p - 1), the sign bit is clear. Checked on the bytes, so no
/// re-compression (a field inversion) is needed.
fn decompress_canonical(bytes: [u8; 32]) -> Option<EdwardsPoint> {
    let sign = bytes[31] >> 7;
    let mut y = bytes;
    y[31] &= 0x7f;
    // y >= p exactly when the high 247 bits are all ones and the low byte is at least 0xed.
    let y_too_big = y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed;
    // y = 1, or y = p - 1 (0x7fff...ffec): the points with x = 0, whose sign bit must be 0.
    let one = y[0] == 1 && y[1..].iter().all(|b| *b == 0);
    let minus_one = y[0] == 0xec && y[1..31].iter().all(|b| *b == 0xff) && y[31] == 0x7f;
    if y_too_big || (sign == 1 && (one || minus_one)) {
        return None;
    }
    CompressedEdwardsY(bytes).decompress()
}

/// Verifies entries under the rule. Keeps decoded author keys (a federation has a few hundred authors), bounded
/// by `TOPOLOGY_NODES_MAX`.
#[derive(Default)]
pub struct Verifier {
    keys: HashMap<Author, Result<EdwardsPoint, VerifyError>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier::default()
    }

    fn author_point(&mut self, author: Author) -> Result<EdwardsPoint, VerifyError> {
        if let Some(known) = self.keys.get(&author) {
            return known.clone();
        }
        let point = match decompress_canonical(author.0) {
            None => Err(VerifyError::AuthorKeyEncoding),
            Some(p) if p.is_small_order() => Err(VerifyError::AuthorKeyWeak),
            Some(p) => Ok(p),
        };
        if self.keys.len() >= limits::TOPOLOGY_NODES_MAX {
            self.keys.clear();
        }
        self.keys.insert(author, point.clone());
        point
    }

    fn prepare(&mut self, entry: &Entry) -> Result<Prepared, VerifyError> {
        self.prepare_parts(
            entry.content().log.author,
            entry.signature(),
            &[SIGNATURE_CONTEXT, entry.content_bytes()],
        )
    }

    /// Decodes a signature by `author` over the concatenation of `message` and checks its encodings.
    fn prepare_parts(
        &mut self,
        author: Author,
        signature: &[u8; 64],
        message: &[&[u8]],
    ) -> Result<Prepared, VerifyError> {
        let a = self.author_point(author)?;
        let r_bytes: [u8; 32] = signature[..32].try_into().expect("32 bytes");
        let s_bytes: [u8; 32] = signature[32..].try_into().expect("32 bytes");
        let r = decompress_canonical(r_bytes).ok_or(VerifyError::NonceEncoding)?;
        if r.is_small_order() {
            return Err(VerifyError::NonceWeak);
        }
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
            .ok_or(VerifyError::ScalarNotCanonical)?;
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(author.0);
        for part in message {
            h.update(part);
        }
        let k = Scalar::from_hash(h);
        Ok(Prepared {
            a,
            a_bytes: author.0,
            r,
            r_bytes,
            s,
            k,
        })
    }

    fn check_one(p: &Prepared) -> bool {
        // [S]B - [k]A - R, then times the cofactor.
        let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&(-p.k), &p.a, &p.s);
        (sb_minus_ka - p.r).mul_by_cofactor().is_identity()
    }

    /// Checks a detached signature by `author` over `message` under the same rule: the signatures of signed
    /// notes (the signed topology, checkpoints). An entry's signed message starts with `SIGNATURE_CONTEXT`, which
    /// holds a NUL byte, and [`Signer::sign_detached`] refuses messages with one, so neither kind can pass for
    /// the other.
    pub fn verify_detached(
        &mut self,
        author: Author,
        message: &[u8],
        signature: &[u8; 64],
    ) -> Result<(), VerifyError> {
        if message.contains(&0) {
            return Err(VerifyError::BadSignature);
        }
        let prepared = self.prepare_parts(author, signature, &[message])?;
        if Self::check_one(&prepared) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }

    /// Verifies one entry under the rule.
    pub fn verify(&mut self, entry: Entry) -> Result<VerifiedEntry, VerifyError> {
        let prepared = self.prepare(&entry)?;
        if Self::check_one(&prepared) {
            Ok(VerifiedEntry(entry))
        } else {
            Err(VerifyError::BadSignature)
        }
    }

    /// Verifies many entries, in batches of at most `VERIFY_BATCH_ENTRIES_MAX`. Each entry gets the verdict the
    /// single rule gives it; results are in input order.
    pub fn verify_batch(
        &mut self,
        entries: Vec<Entry>,
    ) -> Vec<Result<VerifiedEntry, (Entry, VerifyError)>> {
        let mut results = Vec::with_capacity(entries.len());
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let chunk: Vec<Entry> = entries
                .by_ref()
                .take(limits::VERIFY_BATCH_ENTRIES_MAX)
                .collect();
            self.verify_chunk(chunk, &mut results);
        }
        results
    }

    fn verify_chunk(
        &mut self,
        chunk: Vec<Entry>,
        results: &mut Vec<Result<VerifiedEntry, (Entry, VerifyError)>>,
    ) {
        let prepared: Vec<Result<Prepared, VerifyError>> =
            chunk.iter().map(|e| self.prepare(e)).collect();
        let (batch_ok, ready_count) = {
            let ready: Vec<&Prepared> = prepared.iter().filter_map(|p| p.as_ref().ok()).collect();
            (ready.len() <= 1 || Self::check_batch(&ready), ready.len())
        };
        for (entry, prepared) in chunk.into_iter().zip(prepared) {
            let verdict = match prepared {
                Err(e) => Err(e),
                // A passing batch of two or more vouches for each entry in it.
                Ok(_) if batch_ok && ready_count > 1 => Ok(()),
                // A lone entry, or a failed batch: the single rule gives each entry its own verdict.
                Ok(p) if Self::check_one(&p) => Ok(()),
                Ok(_) => Err(VerifyError::BadSignature),
            };
            results.push(match verdict {
                Ok(()) => Ok(VerifiedEntry(entry)),
                Err(e) => Err((entry, e)),
            });
        }
    }

    fn check_batch(batch: &[&Prepared]) -> bool {
        // Coefficients from a hash of everything in the batch: a signer cannot choose them, and the same batch
        // always gets the same ones (no randomness source needed, so the check is reproducible). The encodings are
        // hashed as given: only canonical ones get here, so each names exactly one point.
        let mut seed = Sha512::new();
        seed.update(b"hifazat/batch/v1\0");
        for p in batch {
            seed.update(p.r_bytes);
            seed.update(p.a_bytes);
            seed.update(p.s.as_bytes());
            seed.update(p.k.as_bytes());
        }
        let seed = seed.finalize();
        let zs: Vec<Scalar> = (0..batch.len() as u64)
            .map(|i| {
                let mut h = Sha512::new();
                h.update(seed);
                h.update(i.to_be_bytes());
                let mut z = [0u8; 32];
                z[..16].copy_from_slice(&h.finalize()[..16]);
                Scalar::from_bytes_mod_order(z)
            })
            .collect();
        let b_coefficient: Scalar = batch.iter().zip(&zs).map(|(p, z)| z * p.s).sum();
        // Entries by one author share its key: one term per author, with the sum of their coefficients (the same
        // equation, with fewer points to multiply; a log's entries are all by one author).
        let mut authors: Vec<([u8; 32], EdwardsPoint, Scalar)> = Vec::new();
        for (p, z) in batch.iter().zip(&zs) {
            let term = -(z * p.k);
            match authors.iter_mut().find(|(bytes, _, _)| *bytes == p.a_bytes) {
                Some((_, _, sum)) => *sum += term,
                None => authors.push((p.a_bytes, p.a, term)),
            }
        }
        let scalars = std::iter::once(b_coefficient)
            .chain(authors.iter().map(|(_, _, sum)| *sum))
            .chain(zs.iter().map(|z| -z));
        let points = std::iter::once(ED25519_BASEPOINT_POINT)
            .chain(authors.iter().map(|(_, a, _)| *a))
            .chain(batch.iter().map(|p| p.r));
        EdwardsPoint::vartime_multiscalar_mul(scalars, points)
            .mul_by_cofactor()
            .is_identity()
    }
}

/// A node's signing key, and the only way entries are made.
pub struct Signer {
    key: SigningKey,
    author: Author,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.author)
    }
}

impl Signer {
    pub fn new(key: SigningKey) -> Signer {
        let author = Author(key.verifying_key().to_bytes());
        Signer { key, author }
    }

    pub fn author(&self) -> Author {
        self.author
    }

    /// Signs `content` (whose log must be this signer's). Our own signature made with our own key meets the rule
    /// by construction, so the result is a [`VerifiedEntry`] without a verification pass.
    pub fn sign(&self, content: Content) -> Result<VerifiedEntry, DecodeError> {
        assert_eq!(
            content.log.author, self.author,
            "a node signs only its own logs"
        );
        content.check()?;
        let content_bytes = content.encode();
        let mut message = Vec::with_capacity(SIGNATURE_CONTEXT.len() + content_bytes.len());
        message.extend_from_slice(SIGNATURE_CONTEXT);
        message.extend_from_slice(&content_bytes);
        let signature = self.key.sign(&message).to_bytes();
        Ok(VerifiedEntry(Entry::assemble(
            content,
            content_bytes,
            signature,
        )))
    }

    /// Signs `message` as a detached signature (for signed notes). `None` when the message holds a NUL byte:
    /// such a message could be an entry's signed message, which must come only from [`Signer::sign`].
    pub fn sign_detached(&self, message: &[u8]) -> Option<[u8; 64]> {
        (!message.contains(&0)).then(|| self.key.sign(message).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition: decode, then re-encode and compare.
    fn by_reencoding(bytes: [u8; 32]) -> Option<EdwardsPoint> {
        let point = CompressedEdwardsY(bytes).decompress()?;
        (point.compress().0 == bytes).then_some(point)
    }

    fn agree(bytes: [u8; 32]) {
        assert_eq!(
            decompress_canonical(bytes),
            by_reencoding(bytes),
            "{}",
            hex::encode(bytes)
        );
    }

    #[test]
    fn an_entry_message_cannot_be_signed_or_verified_as_detached() {
        let signer = Signer::new(SigningKey::from_bytes(&[3; 32]));
        let message = [SIGNATURE_CONTEXT, b"content"].concat();
        assert_eq!(signer.sign_detached(&message), None);
        let raw = SigningKey::from_bytes(&[3; 32]).sign(&message).to_bytes();
        assert!(
            Verifier::new()
                .verify_detached(signer.author(), &message, &raw)
                .is_err()
        );
    }

    #[test]
    fn canonical_check_agrees_with_reencoding_on_every_edge_case() {
        // Every y from p - 2 up to 2^255 - 1 (the 19 non-canonical ones and their neighbours), and small y, with
        // both sign bits.
        let mut edge = Vec::new();
        for low in 0xe0..=0xffu8 {
            let mut y = [0xffu8; 32];
            y[31] = 0x7f;
            y[0] = low;
            edge.push(y);
        }
        for low in 0..=4u8 {
            let mut y = [0u8; 32];
            y[0] = low;
            edge.push(y);
        }
        for y in edge {
            for sign in [0u8, 0x80] {
                let mut bytes = y;
                bytes[31] |= sign;
                agree(bytes);
            }
        }
    }

    proptest! {
        #[test]
        fn canonical_check_agrees_with_reencoding(bytes in any::<[u8; 32]>()) {
            agree(bytes);
        }

        #[test]
        fn detached_signatures_verify_and_only_over_their_message(
            seed in any::<[u8; 32]>(),
            message in proptest::collection::vec(1u8..=255, 0..300),
            flip in any::<usize>(),
        ) {
            let signer = Signer::new(SigningKey::from_bytes(&seed));
            let signature = signer.sign_detached(&message).unwrap();
            let mut verifier = Verifier::new();
            prop_assert_eq!(verifier.verify_detached(signer.author(), &message, &signature), Ok(()));
            // Any other message, or another key, fails.
            let mut other = message.clone();
            other.push(b'x');
            prop_assert!(verifier.verify_detached(signer.author(), &other, &signature).is_err());
            let mut bad = signature;
            bad[flip % 64] ^= 1 << (flip % 8);
            prop_assert!(verifier.verify_detached(signer.author(), &message, &bad).is_err());
            let stranger = Signer::new(SigningKey::from_bytes(&[seed[0].wrapping_add(1); 32]));
            prop_assert!(verifier.verify_detached(stranger.author(), &message, &signature).is_err());
        }

        #[test]
        fn canonical_check_accepts_real_points(seed in any::<[u8; 32]>()) {
            let key = SigningKey::from_bytes(&seed);
            agree(key.verifying_key().to_bytes());
            prop_assert!(decompress_canonical(key.verifying_key().to_bytes()).is_some());
        }
    }
}
