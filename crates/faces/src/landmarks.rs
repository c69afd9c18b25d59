//! dlib's shape predictor (Kazemi and Sullivan's ensemble of regression trees), run from dlib's own model file:
//! `shape_predictor_5_face_landmarks.dat` (public domain / CC0) puts five points on a face found in a box: the
//! outer and inner corners of each eye and the base of the nose, in that order as dlib numbers them. The
//! computation follows `dlib/image_processing/shape_predictor.h`: from the model's mean shape, each cascade
//! reads grey pixels at points placed relative to the current shape, walks its trees, and adds their leaves.

use crate::dlib::{DlibError, Reader};

/// A grey image: `(r + g + b) / 3` of each RGB pixel, as dlib takes an RGB image's intensity.
#[derive(Debug, Clone)]
pub struct Grey {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Grey {
    pub fn from_rgb(width: usize, height: usize, rgb: &[u8]) -> Grey {
        Grey {
            width,
            height,
            data: rgb
                .chunks_exact(3)
                .map(|p| ((u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3) as u8)
                .collect(),
        }
    }
}

/// A face's box in pixels, edges included (dlib's `rectangle`: left, top, right, bottom).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceBox {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

#[derive(Debug)]
struct Tree {
    /// Each split: the two feature pixels compared, and the threshold on their difference.
    splits: Vec<(usize, usize, f32)>,
    leaves: Vec<Vec<f32>>,
}

/// A shape predictor read from a dlib model file.
#[derive(Debug)]
pub struct ShapePredictor {
    /// The mean shape, x and y interleaved, in the box's unit square.
    initial: Vec<f32>,
    cascades: Vec<Vec<Tree>>,
    /// Per cascade, each feature pixel's nearest shape point and its offset from it.
    anchors: Vec<Vec<usize>>,
    deltas: Vec<Vec<(f32, f32)>>,
}

/// dlib's 5-point model, as `face_recognition_models` 0.3.0 ships it (CC0; see `models/README.md`).
pub const MODEL: &[u8] = include_bytes!("../models/shape_predictor_5_face_landmarks.dat");

/// Bounds on what a model file may declare, so a damaged one fails rather than allocates without end.
const PARTS_MAX: usize = 200;
const CASCADES_MAX: usize = 64;
const TREES_MAX: usize = 2_000;
const SPLITS_MAX: usize = 1 << 12;
const FEATURES_MAX: usize = 10_000;

/// `a × b` for 2 × 2 matrices as `[m00, m01, m10, m11]`, applied to a point.
fn apply(m: [f32; 4], (x, y): (f32, f32)) -> (f32, f32) {
    (m[0] * x + m[1] * y, m[2] * x + m[3] * y)
}

/// The least-squares similarity transform taking the points `from` onto the points `to`, as dlib's
/// `find_similarity_transform` makes it (Umeyama's method; in two dimensions it has this closed form, the rotation
/// never a reflection): `(a, b, shift)` for `x' = a·x − b·y + shift.0`, `y' = b·x + a·y + shift.1`.
pub(crate) fn similarity(from: &[(f64, f64)], to: &[(f64, f64)]) -> (f64, f64, (f64, f64)) {
    let n = from.len() as f64;
    let mean = |s: &[(f64, f64)]| {
        s.iter()
            .fold((0.0, 0.0), |m, p| (m.0 + p.0 / n, m.1 + p.1 / n))
    };
    let (mf, mt) = (mean(from), mean(to));
    let (mut a, mut b, mut sigma) = (0.0, 0.0, 0.0);
    for (f, t) in from.iter().zip(to) {
        let (dfx, dfy, dtx, dty) = (f.0 - mf.0, f.1 - mf.1, t.0 - mt.0, t.1 - mt.1);
        a += dtx * dfx + dty * dfy;
        b += dty * dfx - dtx * dfy;
        sigma += dfx * dfx + dfy * dfy;
    }
    let (a, b) = if sigma == 0.0 {
        (1.0, 0.0)
    } else {
        (a / sigma, b / sigma)
    };
    (
        a,
        b,
        (mt.0 - (a * mf.0 - b * mf.1), mt.1 - (b * mf.0 + a * mf.1)),
    )
}

/// A shape's points (x and y interleaved) as pairs.
fn points(shape: &[f32]) -> Vec<(f64, f64)> {
    shape
        .chunks_exact(2)
        .map(|p| (f64::from(p[0]), f64::from(p[1])))
        .collect()
}

impl ShapePredictor {
    /// Reads a dlib `shape_predictor` model file.
    /// The 5-point predictor bundled with the crate.
    pub fn bundled() -> ShapePredictor {
        ShapePredictor::read(MODEL)
            .expect("the bundled 5-point model is a valid dlib shape predictor")
    }

    pub fn read(bytes: &[u8]) -> Result<ShapePredictor, DlibError> {
        let mut r = Reader::new(bytes);
        let version = r.signed()?;
        if version != 1 {
            return Err(DlibError::Bad {
                at: 0,
                why: format!("shape predictor version {version}, not 1"),
            });
        }
        let initial = r.column(2 * PARTS_MAX)?;
        let mut cascades = Vec::new();
        for _ in 0..r.count(CASCADES_MAX)? {
            let mut trees = Vec::new();
            for _ in 0..r.count(TREES_MAX)? {
                let mut splits = Vec::new();
                for _ in 0..r.count(SPLITS_MAX)? {
                    let i1 = r.unsigned()? as usize;
                    let i2 = r.unsigned()? as usize;
                    splits.push((i1, i2, r.float()?));
                }
                let mut leaves = Vec::new();
                for _ in 0..r.count(SPLITS_MAX + 1)? {
                    leaves.push(r.column(2 * PARTS_MAX)?);
                }
                trees.push(Tree { splits, leaves });
            }
            cascades.push(trees);
        }
        let mut anchors = Vec::new();
        for _ in 0..r.count(CASCADES_MAX)? {
            let n = r.count(FEATURES_MAX)?;
            anchors.push(
                (0..n)
                    .map(|_| r.unsigned().map(|v| v as usize))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let mut deltas = Vec::new();
        for _ in 0..r.count(CASCADES_MAX)? {
            let n = r.count(FEATURES_MAX)?;
            let mut d = Vec::with_capacity(n);
            for _ in 0..n {
                d.push((r.float()?, r.float()?));
            }
            deltas.push(d);
        }
        let parts = initial.len() / 2;
        let consistent = r.done()
            && cascades.len() == anchors.len()
            && anchors.len() == deltas.len()
            && anchors
                .iter()
                .zip(&deltas)
                .all(|(a, d)| a.len() == d.len() && a.iter().all(|i| *i < parts))
            && cascades.iter().zip(&anchors).all(|(trees, a)| {
                trees.iter().all(|t| {
                    t.leaves.len() == t.splits.len() + 1
                        && t.leaves.iter().all(|l| l.len() == initial.len())
                        && t.splits
                            .iter()
                            .all(|(i1, i2, _)| *i1 < a.len() && *i2 < a.len())
                })
            });
        if !consistent {
            return Err(DlibError::Bad {
                at: bytes.len(),
                why: "the model's parts do not fit together".into(),
            });
        }
        Ok(ShapePredictor {
            initial,
            cascades,
            anchors,
            deltas,
        })
    }

    /// How many points it puts on a face.
    pub fn parts(&self) -> usize {
        self.initial.len() / 2
    }

    /// The points on the face in `face`, in image pixels, rounded as dlib rounds them.
    pub fn predict(&self, image: &Grey, face: FaceBox) -> Vec<(f64, f64)> {
        let (w, h) = (face.right - face.left, face.bottom - face.top);
        let to_image =
            |(x, y): (f32, f32)| (face.left + f64::from(x) * w, face.top + f64::from(y) * h);
        let mut shape = self.initial.clone();
        let mut features = Vec::new();
        for (((trees, anchors), deltas), _) in self
            .cascades
            .iter()
            .zip(&self.anchors)
            .zip(&self.deltas)
            .zip(0..)
        {
            // The linear part only, cast to `float` as dlib casts it.
            let (a, b, _) = similarity(&points(&self.initial), &points(&shape));
            let m = [a as f32, -b as f32, b as f32, a as f32];
            features.clear();
            for (anchor, delta) in anchors.iter().zip(deltas) {
                let (dx, dy) = apply(m, *delta);
                let (x, y) = to_image((shape[2 * anchor] + dx, shape[2 * anchor + 1] + dy));
                let (x, y) = ((x + 0.5).floor(), (y + 0.5).floor());
                let inside = x >= 0.0
                    && y >= 0.0
                    && (x as usize) < image.width
                    && (y as usize) < image.height;
                features.push(if inside {
                    f32::from(image.data[y as usize * image.width + x as usize])
                } else {
                    0.0
                });
            }
            for tree in trees {
                let mut i = 0;
                while i < tree.splits.len() {
                    let (a, b, threshold) = tree.splits[i];
                    i = if features[a] - features[b] > threshold {
                        2 * i + 1
                    } else {
                        2 * i + 2
                    };
                }
                for (s, v) in shape.iter_mut().zip(&tree.leaves[i - tree.splits.len()]) {
                    *s += v;
                }
            }
        }
        shape
            .chunks_exact(2)
            .map(|p| {
                let (x, y) = to_image((p[0], p[1]));
                ((x + 0.5).floor(), (y + 0.5).floor())
            })
            .collect()
    }
}
