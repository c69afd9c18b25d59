//! Face embeddings on the node's CPU, in plain Rust.
//!
//! - [`weights`]: reads a TensorFlow.js weights manifest and its binary shard (the format `@vladmandic/face-api`
//!   publishes its models in), with 8-bit quantised weights expanded to `f32`.
//! - [`tensor`]: the few operations the network needs, on one image at a time (height × width × channels):
//!   convolution (as a matrix product: ndarray's, on `matrixmultiply`'s SGEMM), per-channel scale and shift, ReLU, pooling.
//! - [`recognition`]: dlib's face-recognition ResNet (`dlib_face_recognition_resnet_model_v1`), which maps an
//!   aligned 150 × 150 face to 128 numbers; two photos of one person lie closer than 0.6 (dlib's threshold).
//!
//! Pure: bytes and pixels in, numbers out.

pub mod recognition;
pub mod tensor;
pub mod weights;

pub use recognition::{Embedding, Recognizer};
pub use weights::{Weights, WeightsError};
