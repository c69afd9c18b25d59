//! Face matching's costs on one core (a plain program: `cargo bench -p hifazat-bench --bench faces`).
//!
//! - The network alone: one aligned face described (`Recognizer::embed`), and dlib itself describing the same
//!   face in the same run (its Python module from the reference's virtualenv, when there).
//! - Alignment: dlib's 5-point landmarks and the face chip cut from a photo, from dlib's box.
//! - Detection as dlib does it (the photo doubled first), beside dlib itself on the same photo; and the node's
//!   whole pipeline on a photo (faces found at 800 pixels, aligned, described), beside face_recognition's default
//!   pipeline in dlib itself.
//! - Matching one face against 10,000 and 100,000 faces held (`Gallery::within`), beside the raw scan it is made
//!   of: the same squared distances over the same array, keeping only the least.
//!
//! The photographs, boxes and landmark model are the reference `scripts/faces/reference.sh` makes (under
//! `target/faces`); without it the alignment row is left out and the network reads a synthetic face. Each figure
//! is the p50 and p99 over its runs, after a warm-up.

#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hifazat_bench::Rng;
use hifazat_faces::chip::{Rgb, face_chip};
use hifazat_faces::detect::Detector;
use hifazat_faces::gallery::DIMENSIONS;
use hifazat_faces::landmarks::{FaceBox, Grey, ShapePredictor};
use hifazat_faces::pipeline::Pipeline;
use hifazat_faces::{Embedding, Gallery, Recognizer};

const RUNS: usize = 200;
const WARM: usize = 20;
/// Runs of the slower photo-sized measures.
const PHOTO_RUNS: usize = 20;

fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..(runs / 10).clamp(2, WARM) {
        f();
    }
    let started = Instant::now();
    let samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    let f = hifazat_bench::load::figures(samples, started.elapsed());
    (f.p50_ms, f.p99_ms)
}

/// dlib's p50 and p99 for one of `time_dlib.py`'s modes, run from the reference's virtualenv when it is there.
fn dlib_times(reference: &Path, mode: &str, file: &Path, runs: usize) -> Option<(String, String)> {
    let python = reference.join("../venv/bin/python");
    if !python.exists() {
        return None;
    }
    let out = std::process::Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/faces/time_dlib.py"
        ))
        .arg(mode)
        .arg(file)
        .arg(runs.to_string())
        .env("OMP_NUM_THREADS", "1")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    Some((it.next()?.to_string(), it.next()?.to_string()))
}

fn random_face(rng: &mut Rng) -> Embedding {
    Embedding(
        (0..DIMENSIONS)
            .map(|_| (rng.below(2000) as f32 - 1000.0) / 10_000.0)
            .collect(),
    )
}

fn main() {
    let reference = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/faces/reference"
    ));
    let json: Option<serde_json::Value> = std::fs::read(reference.join("reference.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let network = Recognizer::bundled();
    println!("| what | p50 (ms) | p99 (ms) |");
    println!("|---|---|---|");
    // A face to describe: a reference chip, or a synthetic one.
    let chip_file: Option<PathBuf> = json.as_ref().and_then(|j| {
        let first = j["photos"].as_object()?.values().next()?["faces"][0]["chip"].as_str()?;
        Some(reference.join("chips").join(first))
    });
    let chip: Vec<u8> = chip_file
        .as_ref()
        .and_then(|f| Some(image::open(f).ok()?.to_rgb8().into_raw()))
        .unwrap_or_else(|| (0..150 * 150 * 3).map(|i| (i * 7 % 251) as u8).collect());
    let (a, b) = time(RUNS, || {
        std::hint::black_box(network.embed(&chip));
    });
    println!("| the network: one aligned face described (the port) | {a:.2} | {b:.2} |");
    // dlib itself on the same face, in the same run (its Python module, one thread), where the reference's
    // virtualenv is there.
    if let Some(chip_file) = &chip_file
        && let Some((a, b)) = dlib_times(&reference, "chip", chip_file, RUNS)
    {
        println!("| dlib 20.0.1 itself (PyPI's `dlib-bin`), the same face | {a} | {b} |");
    }
    let photo = json.as_ref().and_then(|j| {
        j["photos"]
            .as_object()?
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
    });
    if let Some((name, entry)) = photo {
        let predictor = ShapePredictor::bundled();
        let decoded = reference.join("decoded").join(format!("{name}.png"));
        let image = image::open(&decoded).expect("a decoded photo").to_rgb8();
        let (w, h) = (image.width() as usize, image.height() as usize);
        let b: Vec<f64> = entry["faces"][0]["box"]
            .as_array()
            .expect("a box")
            .iter()
            .map(|v| v.as_f64().unwrap_or_default())
            .collect();
        let face = FaceBox {
            left: b[0],
            top: b[1],
            right: b[2],
            bottom: b[3],
        };
        let rgb = Rgb {
            width: w,
            height: h,
            data: image.into_raw(),
        };
        let (a, b) = time(RUNS / 4, || {
            let grey = Grey::from_rgb(w, h, &rgb.data);
            let points = predictor.predict(&grey, face);
            std::hint::black_box(face_chip(&rgb, &points, 150, 0.25));
        });
        println!(
            "| alignment: landmarks and chip from a {w} × {h} photo (grey conversion included) | {a:.2} | {b:.2} |"
        );
        let detector = Detector::bundled();
        let (a, b) = time(PHOTO_RUNS, || {
            std::hint::black_box(detector.detect(&rgb, 1));
        });
        println!(
            "| detection as dlib does it (photo doubled), the port, {w} × {h} | {a:.2} | {b:.2} |"
        );
        if let Some((a, b)) = dlib_times(&reference, "detect", &decoded, PHOTO_RUNS) {
            println!("| dlib itself, the same detection | {a} | {b} |");
        }
        let pipeline = Pipeline::bundled();
        let (a, b) = time(PHOTO_RUNS, || {
            std::hint::black_box(pipeline.faces(&rgb));
        });
        println!(
            "| the node's whole pipeline on that photo: faces found (at 800 px), aligned, described | {a:.2} | {b:.2} |"
        );
        if let Some((a, b)) = dlib_times(&reference, "photo", &decoded, PHOTO_RUNS) {
            println!(
                "| dlib itself, face_recognition's default pipeline on the same photo | {a} | {b} |"
            );
        }
    }
    let mut rng = Rng::of(7);
    for n in [10_000usize, 100_000] {
        let mut gallery = Gallery::default();
        let faces: Vec<Embedding> = (0..n).map(|_| random_face(&mut rng)).collect();
        for (i, f) in faces.iter().enumerate() {
            gallery.insert(i, f);
        }
        let flat: Vec<f32> = faces.iter().flat_map(|f| f.0.iter().copied()).collect();
        let queries: Vec<Embedding> = (0..RUNS + WARM).map(|_| random_face(&mut rng)).collect();
        let mut q = queries.iter().cycle();
        let (a, b) = time(RUNS, || {
            std::hint::black_box(gallery.within(q.next().unwrap_or(&faces[0]), 0.6));
        });
        println!(
            "| matching one face against {n} held (`Gallery::within`, threshold 0.6) | {a:.2} | {b:.2} |"
        );
        let mut q = queries.iter().cycle();
        let (a, b) = time(RUNS, || {
            let query = q.next().unwrap_or(&faces[0]);
            let least = flat
                .chunks_exact(DIMENSIONS)
                .map(|f| {
                    f.iter()
                        .zip(&query.0)
                        .map(|(x, y)| (x - y) * (x - y))
                        .sum::<f32>()
                })
                .fold(f32::INFINITY, f32::min);
            std::hint::black_box(least);
        });
        println!("| raw: the same distances over {n} faces, keeping the least | {a:.2} | {b:.2} |");
    }
}
