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

/// The faces found in a photo as the node stores them: a version byte (1), the count, then per face its box
/// (four `i32`, big-endian), its confidence (`f32`) and its 128 numbers (`f32`, little-endian).
pub fn encode(faces: &[Face]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + faces.len() * (20 + 4 * crate::gallery::DIMENSIONS));
    out.push(1);
    out.push(faces.len().min(FACES_MAX) as u8);
    for f in faces.iter().take(FACES_MAX) {
        for v in [f.face.left, f.face.top, f.face.right, f.face.bottom] {
            out.extend_from_slice(&(v as i32).to_be_bytes());
        }
        out.extend_from_slice(&(f.confidence as f32).to_be_bytes());
        for v in &f.embedding.0 {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Reads what [`encode`] wrote; `None` for bytes that are not that.
pub fn decode(bytes: &[u8]) -> Option<Vec<Face>> {
    let per = 20 + 4 * crate::gallery::DIMENSIONS;
    let (&version, rest) = bytes.split_first()?;
    let (&count, rest) = rest.split_first()?;
    if version != 1 || usize::from(count) > FACES_MAX || rest.len() != usize::from(count) * per {
        return None;
    }
    Some(
        rest.chunks_exact(per)
            .map(|c| {
                let int = |i: usize| {
                    f64::from(i32::from_be_bytes(
                        c[i * 4..i * 4 + 4].try_into().expect("4"),
                    ))
                };
                Face {
                    face: FaceBox {
                        left: int(0),
                        top: int(1),
                        right: int(2),
                        bottom: int(3),
                    },
                    confidence: f64::from(f32::from_be_bytes(c[16..20].try_into().expect("4"))),
                    embedding: Embedding(
                        c[20..]
                            .chunks_exact(4)
                            .map(|b| f32::from_le_bytes(b.try_into().expect("4")))
                            .collect(),
                    ),
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_read_back_as_written() {
        let faces: Vec<Face> = (0..3)
            .map(|i| Face {
                face: FaceBox {
                    left: -5.0 + f64::from(i),
                    top: 10.0,
                    right: 200.0,
                    bottom: 210.0,
                },
                confidence: 0.5 * f64::from(i),
                embedding: Embedding(
                    (0..128)
                        .map(|j| (j as f32 - 64.0) / 100.0 + i as f32)
                        .collect(),
                ),
            })
            .collect();
        let back = decode(&encode(&faces)).unwrap();
        assert_eq!(back.len(), 3);
        for (a, b) in faces.iter().zip(&back) {
            assert_eq!(a.face, b.face);
            assert_eq!(a.embedding, b.embedding);
            assert!((a.confidence - b.confidence).abs() < 1e-6);
        }
        assert!(decode(&encode(&[])).unwrap().is_empty());
        assert!(decode(&[2, 0]).is_none());
        assert!(decode(&encode(&faces)[..100]).is_none());
    }
}
