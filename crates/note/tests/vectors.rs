//! Known answers from c2sp.org/signed-note and from the reference implementation's tests (golang.org/x/mod,
//! sumdb/note): Ed25519 signing is deterministic, so signing the same text with the same key must give the
//! published note byte for byte, and the published notes must verify. Then parsing and verification edge cases.

use hifazat_note::{Note, NoteError, SignerKey, VerifierKey};
use proptest::prelude::*;

const PETER_SIGNER: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_LINE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_LINE: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
const SPEC_KEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

#[test]
fn signing_reproduces_the_published_note() {
    let signer = SignerKey::parse(PETER_SIGNER).unwrap();
    assert_eq!(signer.verifier().to_string(), PETER);
    assert_eq!(signer.encode(), PETER_SIGNER);
    let note = Note::sign(TEXT, &signer).unwrap();
    assert_eq!(note.encode(), format!("{TEXT}\n{PETER_LINE}"));
}

#[test]
fn published_notes_verify() {
    let peter = VerifierKey::parse(PETER).unwrap();
    let enoch = VerifierKey::parse(ENOCH).unwrap();
    assert_eq!(peter.to_string(), PETER);
    let both = format!("{TEXT}\n{PETER_LINE}{ENOCH_LINE}");
    let note = Note::parse(both.as_bytes()).unwrap();
    assert_eq!(note.encode(), both);
    let (text, by) = note.verify(&[peter.clone(), enoch.clone()]).unwrap();
    assert_eq!(text, TEXT);
    assert_eq!(by, ["PeterNeumann", "EnochRoot"]);
    // One known key is enough; the other signature is ignored.
    assert_eq!(note.verify(&[enoch]).unwrap().1, ["EnochRoot"]);
    let spec = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    let (text, _) = spec
        .verify(&[VerifierKey::parse(SPEC_KEY).unwrap()])
        .unwrap();
    assert_eq!(text, "This is an example message.\n");
}

#[test]
fn a_changed_text_or_an_unknown_signer_fails() {
    let peter = VerifierKey::parse(PETER).unwrap();
    let changed = format!("{TEXT}\n{PETER_LINE}").replace("cryptography", "cryptographY");
    assert_eq!(
        Note::parse(changed.as_bytes()).unwrap().verify(&[peter]),
        Err(NoteError::BadSignature("PeterNeumann".into()))
    );
    let enoch = VerifierKey::parse(ENOCH).unwrap();
    let only_peter = Note::parse(format!("{TEXT}\n{PETER_LINE}").as_bytes()).unwrap();
    assert_eq!(
        only_peter.verify(&[enoch]),
        Err(NoteError::NoKnownSignature)
    );
    // Same name, another key: ignored as unknown, not accepted.
    let impostor = SignerKey::new("PeterNeumann", [9; 32]).unwrap().verifier();
    assert_eq!(
        only_peter.verify(&[impostor]),
        Err(NoteError::NoKnownSignature)
    );
}

#[test]
fn keys_with_wrong_ids_or_types_are_refused() {
    assert!(
        VerifierKey::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .is_err()
    );
    assert!(
        VerifierKey::parse("PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .is_err()
    );
    assert!(
        VerifierKey::parse("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .is_err()
    );
    assert!(VerifierKey::parse("PeterNeumann").is_err());
    assert!(SignerKey::parse(PETER).is_err());
}

/// Which error a malformed note must get.
type Expect = fn(&NoteError) -> bool;

#[test]
fn malformed_notes_are_refused_with_a_reason() {
    let ok = format!("{TEXT}\n{PETER_LINE}");
    let bad_line: Expect = |e| matches!(e, NoteError::BadSignatureLine { .. });
    let no_block: Expect = |e| matches!(e, NoteError::NoSignatureBlock);
    let cases: [(String, Expect); 7] = [
        (ok.replace('\u{2014}', "-"), bad_line),
        (ok.trim_end().to_owned(), no_block),
        (TEXT.to_owned(), no_block),
        (format!("\n{PETER_LINE}"), no_block),
        (ok.replace("problem,", "problem,\t"), |e| {
            matches!(e, NoteError::ControlCharacter(9))
        }),
        (
            ok.replace("PeterNeumann x08", "PeterNeumann !x08"),
            bad_line,
        ),
        (format!("{TEXT}\n{}", PETER_LINE.repeat(17)), |e| {
            matches!(e, NoteError::TooManySignatures)
        }),
    ];
    for (i, (bytes, expected)) in cases.iter().enumerate() {
        let err = Note::parse(bytes.as_bytes()).unwrap_err();
        assert!(expected(&err), "case {i}: {err:?}");
    }
    assert_eq!(Note::parse(&[0xff, b'\n']), Err(NoteError::NotUtf8));
    assert_eq!(
        Note::parse(&vec![b'a'; (1 << 20) + 1]),
        Err(NoteError::TooLarge)
    );
}

proptest! {
    #[test]
    fn sign_parse_verify_round_trips(
        seed in any::<[u8; 32]>(),
        lines in proptest::collection::vec("[a-zA-Z0-9 =\\[\\].,\"]{0,40}", 1..12),
        cosign in any::<bool>(),
    ) {
        let text = lines.join("\n") + "\n";
        let key = SignerKey::new("hifazat.example/root", seed).unwrap();
        let mut note = Note::sign(&text, &key).unwrap();
        let witness = SignerKey::new("hifazat.example/witness", [seed[0] ^ 0x55; 32]).unwrap();
        if cosign {
            note.add_signature(&witness).unwrap();
        }
        let parsed = Note::parse(note.encode().as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &note);
        let (got, by) = parsed.verify(&[key.verifier()]).unwrap();
        prop_assert_eq!(got, text.as_str());
        prop_assert_eq!(by, vec!["hifazat.example/root".to_owned()]);
        // Flipping any one byte of the encoded note is caught: at parse time or at verification.
        let encoded = note.encode().into_bytes();
        for i in 0..encoded.len() {
            let mut bad = encoded.clone();
            bad[i] ^= 0x01;
            let verdict = Note::parse(&bad).and_then(|n| n.verify(&[key.verifier()]).map(|(t, _)| t.to_owned()));
            prop_assert!(verdict.is_err() || verdict.as_deref() == Ok(text.as_str()) && i >= text.len(),
                "flip at {} gave {:?}", i, verdict);
        }
    }
}
