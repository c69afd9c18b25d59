//! The entry rules, attacked: every tampered, reordered, dropped, replayed or foreign-signed entry is refused with a
//! reason, and batch verification gives each entry exactly the verdict of single verification.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::SigningKey;
use hifazat_log::*;
use proptest::prelude::*;

fn signer(seed: u8) -> Signer {
    Signer::new(SigningKey::from_bytes(&[seed; 32]))
}

fn chain(signer: &Signer, n: usize, payload_len: usize) -> Vec<VerifiedEntry> {
    let log = LogId {
        author: signer.author(),
        scope: Scope::alerts(),
    };
    let mut head = None;
    (1..=n as u64)
        .map(|seq| {
            let content = Content::following(
                log.clone(),
                head,
                1_700_000_000_000 + seq,
                [seq as u8; 16],
                "dpo-lahore".into(),
                vec![seq as u8; payload_len],
            );
            let entry = signer.sign(content).unwrap();
            head = Some(entry.head());
            entry
        })
        .collect()
}

fn bytes(entries: &[VerifiedEntry]) -> Vec<Vec<u8>> {
    entries.iter().map(|e| e.bytes().to_vec()).collect()
}

fn check(entries: &[Vec<u8>]) -> Result<usize, (usize, Fault)> {
    let refs: Vec<&[u8]> = entries.iter().map(|e| e.as_slice()).collect();
    verify_log(&mut Verifier::new(), &refs).map(|v| v.len())
}

#[test]
fn a_good_log_verifies_and_round_trips() {
    let entries = chain(&signer(1), 20, 100);
    let encoded = bytes(&entries);
    assert_eq!(check(&encoded), Ok(20));
    for (e, b) in entries.iter().zip(&encoded) {
        let decoded = Entry::decode(b).unwrap();
        assert_eq!(&decoded, e.entry());
        assert_eq!(decoded.content().encode(), decoded.content_bytes());
    }
}

#[test]
fn signing_refuses_what_decoding_would_refuse() {
    let s = signer(1);
    let log = LogId {
        author: s.author(),
        scope: Scope::alerts(),
    };
    let base = Content {
        log,
        seq: 1,
        prev: Hash::ZERO,
        timestamp_ms: 0,
        record: [0; 16],
        actor: String::new(),
        payload: vec![],
    };
    assert_eq!(
        s.sign(Content {
            seq: 0,
            ..base.clone()
        })
        .unwrap_err(),
        DecodeError::SeqZero
    );
    assert_eq!(
        s.sign(Content {
            seq: 2,
            ..base.clone()
        })
        .unwrap_err(),
        DecodeError::FirstPrev
    );
    assert!(matches!(
        s.sign(Content {
            payload: vec![0; hifazat_limits::PAYLOAD_BYTES_MAX + 1],
            ..base.clone()
        }),
        Err(DecodeError::PayloadTooLong(_))
    ));
    assert!(matches!(
        s.sign(Content {
            actor: "x".repeat(65),
            ..base
        }),
        Err(DecodeError::ActorTooLong(65))
    ));
}

#[test]
fn decoder_names_what_is_wrong() {
    let e = &chain(&signer(1), 1, 10)[0];
    let b = e.bytes();
    assert_eq!(
        Entry::decode(&b[..b.len() - 1]),
        Err(DecodeError::Truncated("signature"))
    );
    assert_eq!(
        Entry::decode(&b[..3]),
        Err(DecodeError::Truncated("author"))
    );
    let mut longer = b.to_vec();
    longer.push(0);
    assert_eq!(Entry::decode(&longer), Err(DecodeError::TrailingBytes(1)));
    let mut v2 = b.to_vec();
    v2[0] = 2;
    assert_eq!(Entry::decode(&v2), Err(DecodeError::Version(2)));
    let mut bad_scope = b.to_vec();
    bad_scope[34] = b'A';
    assert_eq!(Entry::decode(&bad_scope), Err(DecodeError::Scope));
    assert!(matches!(
        Entry::decode(&vec![1; 200_000]),
        Err(DecodeError::TooLong(200_000))
    ));
}

#[test]
fn dropped_reordered_and_replayed_entries_are_refused() {
    let encoded = bytes(&chain(&signer(1), 6, 10));
    let mut dropped = encoded.clone();
    dropped.remove(2);
    assert_eq!(
        check(&dropped),
        Err((
            2,
            Fault::Chain(ChainError::Gap {
                expected: 3,
                got: 4
            })
        ))
    );
    let mut swapped = encoded.clone();
    swapped.swap(3, 4);
    assert_eq!(
        check(&swapped),
        Err((
            3,
            Fault::Chain(ChainError::Gap {
                expected: 4,
                got: 5
            })
        ))
    );
    let mut replayed = encoded.clone();
    replayed.insert(4, encoded[1].clone());
    assert_eq!(
        check(&replayed),
        Err((4, Fault::Chain(ChainError::Behind { seq: 2 })))
    );
    let mut headless = encoded.clone();
    headless.remove(0);
    assert_eq!(
        check(&headless),
        Err((
            0,
            Fault::Chain(ChainError::Gap {
                expected: 1,
                got: 2
            })
        ))
    );
}

#[test]
fn foreign_signatures_and_spliced_logs_are_refused() {
    let mine = chain(&signer(1), 3, 10);
    let theirs = chain(&signer(2), 3, 10);
    // Another key signs content that claims my authorship: the signature fails under my key.
    let forged = {
        let mut b = theirs[1].bytes().to_vec();
        b[1..33].copy_from_slice(&mine[1].content().log.author.0);
        b
    };
    let mut encoded = bytes(&mine);
    encoded[1] = forged;
    assert_eq!(
        check(&encoded),
        Err((1, Fault::Signature(VerifyError::BadSignature)))
    );
    // A valid entry of another log spliced in.
    let mut spliced = bytes(&mine);
    spliced[1] = theirs[1].bytes().to_vec();
    assert!(matches!(check(&spliced), Err((1, Fault::WrongLog { .. }))));
}

#[test]
fn equivocation_is_evidence_anyone_can_check() {
    let s = signer(3);
    let a = chain(&s, 3, 10);
    let b = chain(&s, 3, 11); // same author and positions, different payloads: a second history
    let evidence = Evidence::verify(a[1].bytes(), b[1].bytes()).unwrap();
    assert_eq!(evidence.first.content().seq, 2);
    // Consecutive entries where the later does not follow the earlier are evidence too.
    // b[1] follows b[0], which differs from a[0]: the author signed two first entries.
    assert!(Evidence::verify(a[0].bytes(), b[1].bytes()).is_ok());
    assert!(Evidence::verify(a[1].bytes(), b[2].bytes()).is_ok());
    // Two copies of one entry, or entries of different logs, prove nothing.
    assert_eq!(
        Evidence::verify(a[1].bytes(), a[1].bytes()).unwrap_err(),
        EvidenceError::NoConflict
    );
    assert_eq!(
        Evidence::verify(a[0].bytes(), a[1].bytes()).unwrap_err(),
        EvidenceError::NoConflict
    );
    let other = chain(&signer(4), 2, 10);
    assert_eq!(
        Evidence::verify(a[1].bytes(), other[1].bytes()).unwrap_err(),
        EvidenceError::DifferentLogs
    );
    // Evidence with a forged signature is refused.
    let mut forged = b[1].bytes().to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(matches!(
        Evidence::verify(a[1].bytes(), &forged),
        Err(EvidenceError::Signature(2, _))
    ));
}

/// Signs `entry`'s content again as its key holder would, with a nonce point `rB + T` where T is a torsion point.
fn torsioned_signature(entry: &Entry, torsion: usize) -> [u8; 64] {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use sha2::{Digest, Sha512};
    let key = SigningKey::from_bytes(&[5; 32]);
    let a = key.to_scalar();
    let nonce = Scalar::from_bytes_mod_order([42; 32]);
    let r_point = (ED25519_BASEPOINT_POINT * nonce + EIGHT_TORSION[torsion]).compress();
    let mut h = Sha512::new();
    h.update(r_point.0);
    h.update(key.verifying_key().to_bytes());
    h.update(b"hifazat/entry/v1\0");
    h.update(entry.content_bytes());
    let k = Scalar::from_hash(h);
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_point.0);
    sig[32..].copy_from_slice((nonce + k * a).as_bytes());
    sig
}

/// Signatures crafted at the edges of the rule, with what the rule says of each.
fn crafted() -> Vec<(Entry, bool, &'static str)> {
    let good = chain(&signer(5), 1, 10).remove(0).into_entry();
    let with_sig = |f: &dyn Fn(&mut [u8; 64])| {
        let mut b = good.bytes().to_vec();
        let n = b.len();
        let mut sig: [u8; 64] = b[n - 64..].try_into().unwrap();
        f(&mut sig);
        b[n - 64..].copy_from_slice(&sig);
        Entry::decode(&b).unwrap()
    };
    let r = CompressedEdwardsY(good.signature()[..32].try_into().unwrap())
        .decompress()
        .unwrap();
    vec![
        (good.clone(), true, "honest"),
        // A third party who adds torsion to R changes k, so the signature fails: no one but the key holder can
        // make a second signature of the same content.
        (
            with_sig(&|s| s[..32].copy_from_slice(&(r + EIGHT_TORSION[1]).compress().0)),
            false,
            "R + torsion, old S",
        ),
        // The key holder can sign with a nonce point that has a torsion component. The cofactored rule accepts
        // it, alone and in any batch (verify_strict would refuse it alone, and a cofactorless batch would accept
        // it one time in eight: the disagreement this rule exists to remove).
        (
            with_sig(&|s| *s = torsioned_signature(&good, 1)),
            true,
            "key holder's R with order-8 torsion",
        ),
        (
            with_sig(&|s| *s = torsioned_signature(&good, 4)),
            true,
            "key holder's R with order-2 torsion",
        ),
        (
            with_sig(&|s| s[..32].copy_from_slice(&EIGHT_TORSION[2].compress().0)),
            false,
            "small-order R",
        ),
        (
            with_sig(&|s| {
                // S + l: the same value mod l, but not canonical.
                let l = Scalar::ZERO - Scalar::ONE;
                let mut wide = [0u8; 33];
                let sv = s[32..].to_vec();
                let lb = l.to_bytes();
                let mut carry = 1u16; // l = (l - 1) + 1
                for i in 0..32 {
                    let v = sv[i] as u16 + lb[i] as u16 + carry;
                    wide[i] = v as u8;
                    carry = v >> 8;
                }
                s[32..].copy_from_slice(&wide[..32]);
            }),
            false,
            "S + l",
        ),
        (with_sig(&|s| s[0] ^= 1), false, "flipped R bit"),
        (with_sig(&|s| s[40] ^= 1), false, "flipped S bit"),
        (
            with_sig(&|s| s[..32].fill(0xff)),
            false,
            "R not on the curve",
        ),
    ]
}

#[test]
fn crafted_signatures_get_the_rule_verdict_alone_and_in_batches() {
    let cases = crafted();
    for (entry, expected, name) in &cases {
        assert_eq!(
            Verifier::new().verify(entry.clone()).is_ok(),
            *expected,
            "{name}"
        );
    }
    // Every subset of the crafted cases, as a batch, gives each entry its single verdict.
    for mask in 0u32..(1 << cases.len()) {
        let batch: Vec<&(Entry, bool, &str)> = cases
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, c)| c)
            .collect();
        let results = Verifier::new().verify_batch(batch.iter().map(|c| c.0.clone()).collect());
        for (result, (_, expected, name)) in results.iter().zip(&batch) {
            assert_eq!(result.is_ok(), *expected, "{name} in batch {mask:b}");
        }
    }
}

#[test]
fn weak_and_malformed_author_keys_are_refused() {
    let good = chain(&signer(6), 1, 10).remove(0).into_entry();
    for (key, err) in [
        (EIGHT_TORSION[1].compress().0, VerifyError::AuthorKeyWeak),
        ([0xff; 32], VerifyError::AuthorKeyEncoding),
    ] {
        let mut b = good.bytes().to_vec();
        b[1..33].copy_from_slice(&key);
        let e = Entry::decode(&b).unwrap();
        assert_eq!(Verifier::new().verify(e.clone()).unwrap_err(), err);
        assert_eq!(
            Verifier::new().verify_batch(vec![e.clone(), good.clone()])[0]
                .as_ref()
                .unwrap_err()
                .1,
            err
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Flipping any bit of any entry makes the log fail, at that entry or (for a later entry's `prev`) no later
    /// than the next one, with a reason.
    #[test]
    fn any_flipped_bit_is_refused(n in 1usize..6, which in any::<prop::sample::Index>(),
                                  at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut encoded = bytes(&chain(&signer(7), n, 40));
        let i = which.index(n);
        let pos = at.index(encoded[i].len());
        encoded[i][pos] ^= 1 << bit;
        let refs: Vec<&[u8]> = encoded.iter().map(|e| e.as_slice()).collect();
        let result = verify_log(&mut Verifier::new(), &refs);
        prop_assert!(result.is_err(), "flip at entry {} byte {} accepted", i, pos);
        let (index, _fault) = result.unwrap_err();
        prop_assert_eq!(index, i);
    }

    /// A random mix of good and corrupted entries by three authors, interleaved (the batch merges each author's
    /// terms): the batch verdict of each equals its single verdict.
    #[test]
    fn batch_verdicts_equal_single_verdicts(flips in prop::collection::vec(
        prop::option::of((any::<prop::sample::Index>(), 0u8..8)), 1..40)) {
        let chains: Vec<Vec<VerifiedEntry>> = (8..11).map(|s| chain(&signer(s), flips.len(), 16)).collect();
        let entries: Vec<VerifiedEntry> = (0..flips.len()).map(|i| chains[i % 3][i / 3].clone()).collect();
        let mut candidates = Vec::new();
        for (e, flip) in entries.iter().zip(&flips) {
            let mut b = e.bytes().to_vec();
            if let Some((at, bit)) = flip {
                let pos = at.index(b.len());
                b[pos] ^= 1 << bit;
            }
            if let Ok(decoded) = Entry::decode(&b) {
                candidates.push(decoded);
            }
        }
        let singles: Vec<bool> = candidates.iter().map(|e| Verifier::new().verify(e.clone()).is_ok()).collect();
        let batch: Vec<bool> = Verifier::new().verify_batch(candidates).iter().map(|r| r.is_ok()).collect();
        prop_assert_eq!(singles, batch);
    }
}
