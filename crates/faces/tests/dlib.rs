//! The port agrees with dlib itself. `scripts/faces/reference.sh` (run by `scripts/test.sh`) has dlib, from PyPI,
//! align the faces of face_recognition 1.3.0's test photographs and describe them; here the bundled network
//! describes the same aligned faces. Checked: each description is close to dlib's (the weights are quantised to 8
//! bits, so not equal), and every pair of photographs is judged the same person or not exactly as dlib judges it
//! at dlib's threshold of 0.6, with distances close to dlib's. Also: the bundled weights are the files their
//! README names, by SHA-256.

use std::path::PathBuf;

use hifazat_faces::recognition::{MODEL_BIN, MODEL_MANIFEST};
use hifazat_faces::{Embedding, Recognizer};
use sha2::{Digest, Sha256};

/// dlib's threshold: two faces closer than this are taken for one person.
const SAME_PERSON: f32 = 0.6;
/// How far the port's description of a face may lie from dlib's (measured: 0.034 to 0.039).
const AGREEMENT: f32 = 0.06;
/// How far the port's distance between two faces may lie from dlib's (measured: at most 0.015).
const PAIR_AGREEMENT: f32 = 0.03;

fn reference_dir() -> PathBuf {
    std::env::var_os("HIFAZAT_FACES_REFERENCE").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/faces/reference"
            ))
        },
        PathBuf::from,
    )
}

#[test]
fn the_bundled_weights_are_the_files_named() {
    assert_eq!(
        hex::encode(Sha256::digest(MODEL_BIN)),
        "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"
    );
    assert_eq!(
        hex::encode(Sha256::digest(MODEL_MANIFEST)),
        "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b"
    );
}

#[test]
fn descriptions_and_decisions_agree_with_dlib() {
    let dir = reference_dir();
    let text = std::fs::read(dir.join("reference.json")).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run `bash scripts/faces/reference.sh` first (scripts/test.sh does)",
            dir.display()
        )
    });
    let reference: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let network = Recognizer::bundled();
    let mut faces: Vec<(String, Embedding, Embedding)> = Vec::new();
    for (photo, entry) in reference["photos"].as_object().unwrap() {
        for face in entry["faces"].as_array().unwrap() {
            let chip = image::open(dir.join("chips").join(face["chip"].as_str().unwrap()))
                .unwrap()
                .to_rgb8();
            let dlib = Embedding(
                face["descriptor"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect(),
            );
            faces.push((photo.clone(), network.embed(chip.as_raw()), dlib));
        }
    }
    assert!(faces.len() >= 6, "the reference has {} faces", faces.len());
    let mut worst = 0.0f32;
    for (photo, port, dlib) in &faces {
        let d = port.distance(dlib);
        worst = worst.max(d);
        assert!(
            d < AGREEMENT,
            "{photo}: the port's description is {d} from dlib's"
        );
    }
    let (mut pairs, mut worst_pair) = (0, 0.0f32);
    for (i, a) in faces.iter().enumerate() {
        for b in &faces[i + 1..] {
            let (port, dlib) = (a.1.distance(&b.1), a.2.distance(&b.2));
            assert_eq!(
                port < SAME_PERSON,
                dlib < SAME_PERSON,
                "{} and {}: the port says {port}, dlib {dlib}",
                a.0,
                b.0
            );
            // The photographs' names say who is in them: Obama's are one person, Biden another.
            let same = a.0.starts_with("obama") == b.0.starts_with("obama");
            assert_eq!(
                dlib < SAME_PERSON,
                same,
                "{} and {}: dlib says {dlib}",
                a.0,
                b.0
            );
            worst_pair = worst_pair.max((port - dlib).abs());
            pairs += 1;
        }
    }
    assert!(
        worst_pair < PAIR_AGREEMENT,
        "a pair's distance differs by {worst_pair}"
    );
    eprintln!(
        "{} faces: the port's descriptions within {worst:.4} of dlib's; {pairs} pairs, distances within \
         {worst_pair:.4} of dlib's, every same-or-not decision at {SAME_PERSON} as dlib's",
        faces.len()
    );
}

#[test]
fn landmarks_and_aligned_faces_agree_with_dlib() {
    use hifazat_faces::chip::{Rgb, face_chip};
    use hifazat_faces::landmarks::{FaceBox, Grey, ShapePredictor};

    let dir = reference_dir();
    let text = std::fs::read(dir.join("reference.json")).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run `bash scripts/faces/reference.sh` first (scripts/test.sh does)",
            dir.display()
        )
    });
    let reference: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let model = std::fs::read(reference["five_point_model"].as_str().unwrap()).unwrap();
    let predictor = ShapePredictor::read(&model).unwrap();
    assert_eq!(predictor.parts(), 5);
    let network = Recognizer::bundled();
    let decoded = dir.join("decoded");
    let (mut worst_point, mut worst_embedding, mut worst_chip) = (0.0f64, 0.0f32, 0usize);
    let mut n = 0;
    for (photo, entry) in reference["photos"].as_object().unwrap() {
        // The pixels as dlib decoded the JPEG, so the computations are compared from the very same input.
        let image = image::open(decoded.join(format!("{photo}.png")))
            .unwrap()
            .to_rgb8();
        let (width, height) = (image.width() as usize, image.height() as usize);
        let grey = Grey::from_rgb(width, height, image.as_raw());
        let rgb = Rgb {
            width,
            height,
            data: image.into_raw(),
        };
        for face in entry["faces"].as_array().unwrap() {
            let b: Vec<f64> = face["box"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let points = predictor.predict(
                &grey,
                FaceBox {
                    left: b[0],
                    top: b[1],
                    right: b[2],
                    bottom: b[3],
                },
            );
            for (mine, theirs) in points.iter().zip(face["landmarks"].as_array().unwrap()) {
                let (x, y) = (theirs[0].as_f64().unwrap(), theirs[1].as_f64().unwrap());
                worst_point = worst_point.max((mine.0 - x).abs().max((mine.1 - y).abs()));
            }
            let chip = face_chip(&rgb, &points, 150, 0.25);
            let theirs = image::open(dir.join("chips").join(face["chip"].as_str().unwrap()))
                .unwrap()
                .to_rgb8();
            let off = chip
                .iter()
                .zip(theirs.as_raw())
                .filter(|(a, b)| a.abs_diff(**b) > 1)
                .count();
            worst_chip = worst_chip.max(off);
            let dlib = Embedding(
                face["descriptor"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect(),
            );
            let d = network.embed(&chip).distance(&dlib);
            worst_embedding = worst_embedding.max(d);
            n += 1;
        }
    }
    eprintln!(
        "{n} faces from dlib's boxes: landmarks within {worst_point} px of dlib's; at most {worst_chip} of a \
         chip's 67,500 values more than one level from dlib's; the whole pipeline's descriptions within \
         {worst_embedding:.4} of dlib's"
    );
    // From the very same pixels the computations are dlib's: the same landmarks, the same chip but for rounding.
    assert_eq!(
        worst_point, 0.0,
        "a landmark is {worst_point} px from dlib's"
    );
    assert!(
        worst_chip < 100,
        "{worst_chip} of a chip's values differ from dlib's"
    );
    assert!(
        worst_embedding < AGREEMENT,
        "a description is {worst_embedding} from dlib's"
    );
}
