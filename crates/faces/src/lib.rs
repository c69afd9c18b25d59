//! Face embeddings on the node's CPU, in plain Rust.
//!
//! - [`weights`]: reads a TensorFlow.js weights manifest and its binary shard (the format `@vladmandic/face-api`
//!   publishes its models in), with 8-bit quantised weights expanded to `f32`.
//! - [`tensor`]: the few operations the network needs, on one image at a time (height × width × channels):
//!   convolution (as a matrix product: ndarray's, on `matrixmultiply`'s SGEMM), per-channel scale and shift, ReLU, pooling.
//! - [`recognition`]: dlib's face-recognition ResNet (`dlib_face_recognition_resnet_model_v1`), which maps an
//!   aligned 150 × 150 face to 128 numbers; two photos of one person lie closer than 0.6 (dlib's threshold).
//!
//! - [`detect`]: dlib's frontal face detector (HOG features over an image pyramid, five linear filters), read from
//!   dlib's own model file, putting each face's box exactly where dlib puts it.
//! - [`landmarks`]: dlib's 5-point shape predictor, read from dlib's own model file ([`dlib`] reads dlib's
//!   serialisation), puts the eyes' corners and the nose's base on a face found in a box.
//! - [`chip`]: cuts the aligned 150 × 150 face from the photo by those points, as dlib's `get_face_chip` does.
//!
//! - [`pipeline`]: a photo's faces found, aligned and described, with the three bundled models.
//!
//! - [`gallery`]: the faces a node holds, and those within a threshold of a new one, nearest first.
//! - [`evaluate`]: the threshold for a stated false-match rate on a node's own pairs of photos, and the share of
//!   true pairs it matches.
//!
//! Pure: bytes and pixels in, numbers out.

pub mod chip;
pub mod detect;
pub mod dlib;
pub mod evaluate;
pub mod gallery;
pub mod landmarks;
pub mod pipeline;
pub mod recognition;
pub mod tensor;
pub mod weights;

pub use gallery::{Gallery, Match};
pub use pipeline::{Face, Pipeline};
pub use recognition::{Embedding, Recognizer};
pub use weights::{Weights, WeightsError};
