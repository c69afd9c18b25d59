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
/// How far the node's description of a photograph may lie from dlib's default pipeline's (measured: at most
/// 0.103): the node looks for faces in a large photo at 800 pixels without doubling it, where dlib doubles the
/// photo at full size, so its boxes, and so the aligned faces, differ a little.
const PIPELINE_AGREEMENT: f32 = 0.15;
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

/// dlib's reference (`reference.json` in `dir`), or a failure saying how to make it.
fn reference(dir: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read(dir.join("reference.json")).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run `bash scripts/faces/reference.sh` first (scripts/test.sh does)",
            dir.display()
        )
    });
    serde_json::from_slice(&text).unwrap()
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
    assert_eq!(
        hex::encode(Sha256::digest(hifazat_faces::landmarks::MODEL)),
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
    );
    assert_eq!(
        hex::encode(Sha256::digest(hifazat_faces::detect::MODEL)),
        "f3f7aa833fb4a14a46fc48689f45b98d85ef72d6dfaf8bdc012b7d3c522a5426"
    );
}

#[test]
fn descriptions_and_decisions_agree_with_dlib() {
    let dir = reference_dir();
    let reference = reference(&dir);
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
    let reference = reference(&dir);
    // The bundled model is the very file dlib read.
    let model = std::fs::read(reference["five_point_model"].as_str().unwrap()).unwrap();
    assert!(model == hifazat_faces::landmarks::MODEL);
    let predictor = ShapePredictor::bundled();
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

#[test]
fn the_detector_puts_the_boxes_where_dlib_puts_them() {
    use hifazat_faces::chip::Rgb;
    use hifazat_faces::detect::Detector;

    let dir = reference_dir();
    let reference = reference(&dir);
    let detector = Detector::bundled();
    let mut n = 0;
    for (photo, entry) in reference["photos"].as_object().unwrap() {
        let image = image::open(dir.join("decoded").join(format!("{photo}.png")))
            .unwrap()
            .to_rgb8();
        let rgb = Rgb {
            width: image.width() as usize,
            height: image.height() as usize,
            data: image.into_raw(),
        };
        let started = std::time::Instant::now();
        let found: Vec<[f64; 4]> = detector
            .detect(&rgb, 1)
            .iter()
            .map(|d| [d.face.left, d.face.top, d.face.right, d.face.bottom])
            .collect();
        let theirs: Vec<[f64; 4]> = entry["faces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let b = f["box"].as_array().unwrap();
                std::array::from_fn(|i| b[i].as_f64().unwrap())
            })
            .collect();
        eprintln!(
            "{photo} ({} × {}): {found:?} in {:?}; dlib {theirs:?}",
            rgb.width,
            rgb.height,
            started.elapsed()
        );
        assert_eq!(found, theirs, "{photo}: the boxes differ from dlib's");
        n += found.len();
    }
    assert!(n >= 6, "{n} faces found");
}

#[test]
fn the_whole_pipeline_from_the_photographs_agrees_with_dlib() {
    use hifazat_faces::chip::Rgb;
    use hifazat_faces::pipeline::Pipeline;

    let dir = reference_dir();
    let reference = reference(&dir);
    let pipeline = Pipeline::bundled();
    let mut faces: Vec<(String, Embedding, Embedding)> = Vec::new();
    for (photo, entry) in reference["photos"].as_object().unwrap() {
        // The photograph itself, decoded by this crate's JPEG decoder, as a node would take it.
        let image = image::open(dir.join("../photos").join(photo))
            .unwrap()
            .to_rgb8();
        let rgb = Rgb {
            width: image.width() as usize,
            height: image.height() as usize,
            data: image.into_raw(),
        };
        let started = std::time::Instant::now();
        let found = pipeline.faces(&rgb);
        let took = started.elapsed();
        let theirs = entry["faces"].as_array().unwrap();
        assert_eq!(found.len(), theirs.len(), "{photo}: faces found");
        for (mine, theirs) in found.iter().zip(theirs) {
            let dlib = Embedding(
                theirs["descriptor"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect(),
            );
            eprintln!(
                "{photo}: box {:?} (dlib {}), description {:.4} from dlib's, in {took:?}",
                mine.face,
                theirs["box"],
                mine.embedding.distance(&dlib)
            );
            faces.push((photo.clone(), mine.embedding.clone(), dlib));
        }
    }
    for (a, a_port, a_dlib) in &faces {
        assert!(a_port.distance(a_dlib) < PIPELINE_AGREEMENT, "{a}");
        for (b, b_port, b_dlib) in &faces {
            assert_eq!(
                a_port.distance(b_port) < SAME_PERSON,
                a_dlib.distance(b_dlib) < SAME_PERSON,
                "{a} and {b}"
            );
        }
    }
}
