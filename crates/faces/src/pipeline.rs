//! From a photo to its faces' descriptions: find each face ([`Detector`]), put the five points on it
//! ([`ShapePredictor`]), cut the aligned 150 × 150 face ([`face_chip`]), describe it ([`Recognizer`]).
//!
//! dlib's own pipeline (`face_recognition`'s default) doubles a photo before looking for faces, so that faces from
//! 40 pixels are found; on a large photo that costs seconds. A photo whose longer side is over
//! [`DETECTION_SIDE`] is instead searched at that size, without doubling, and the boxes scaled back: faces from a
//! tenth of the photo's longer side are found, which a photo of a child for an alert or a report has. The points,
//! the aligned face and the description are always taken from the photo at full size.

use crate::chip::{Rgb, face_chip};
use crate::detect::{Detector, resize};
use crate::landmarks::{FaceBox, Grey, ShapePredictor};
use crate::recognition::{Embedding, Recognizer, SIDE};

/// The longest side a photo is searched for faces at.
pub const DETECTION_SIDE: usize = 800;
/// The margin around the face in the aligned chip, as a share of the face (dlib's default for this network).
const CHIP_PADDING: f64 = 0.25;
/// At most this many faces are described in one photo (the most confident).
pub const FACES_MAX: usize = 8;

/// A face found in a photo.
#[derive(Debug, Clone)]
pub struct Face {
    pub face: FaceBox,
    pub confidence: f64,
    pub embedding: Embedding,
}

/// The three models, read once.
#[derive(Debug)]
pub struct Pipeline {
    detector: Detector,
    predictor: ShapePredictor,
    network: Recognizer,
}

impl Pipeline {
    /// The bundled models (reading them takes a fraction of a second; keep the pipeline).
    pub fn bundled() -> Pipeline {
        Pipeline {
            detector: Detector::bundled(),
            predictor: ShapePredictor::bundled(),
            network: Recognizer::bundled(),
        }
    }

    /// The faces in a photo, most confident first, at most [`FACES_MAX`].
    pub fn faces(&self, photo: &Rgb) -> Vec<Face> {
        let longer = photo.width.max(photo.height);
        let boxes: Vec<(FaceBox, f64)> = if longer > DETECTION_SIDE {
            let scale = DETECTION_SIDE as f64 / longer as f64;
            let small = resize(
                photo,
                ((photo.width as f64 * scale).round() as usize).max(1),
                ((photo.height as f64 * scale).round() as usize).max(1),
            );
            let (sx, sy) = (
                photo.width as f64 / small.width as f64,
                photo.height as f64 / small.height as f64,
            );
            self.detector
                .detect(&small, 0)
                .into_iter()
                .map(|d| {
                    let b = d.face;
                    (
                        FaceBox {
                            left: (b.left * sx).round(),
                            top: (b.top * sy).round(),
                            right: (b.right * sx).round(),
                            bottom: (b.bottom * sy).round(),
                        },
                        d.confidence,
                    )
                })
                .collect()
        } else {
            self.detector
                .detect(photo, 1)
                .into_iter()
                .map(|d| (d.face, d.confidence))
                .collect()
        };
        if boxes.is_empty() {
            return Vec::new();
        }
        let grey = Grey::from_rgb(photo.width, photo.height, &photo.data);
        boxes
            .into_iter()
            .take(FACES_MAX)
            .map(|(face, confidence)| {
                let points = self.predictor.predict(&grey, face);
                let chip = face_chip(photo, &points, SIDE, CHIP_PADDING);
                Face {
                    face,
                    confidence,
                    embedding: self.network.embed(&chip),
                }
            })
            .collect()
    }
}
