//! dlib's face-recognition ResNet (`dlib_face_recognition_resnet_model_v1`, trained by dlib's author on about
//! three million faces; public domain), run from the weights `@vladmandic/face-api` publishes (MIT): an aligned
//! 150 × 150 RGB face in, 128 numbers out. The layers, as dlib defines them and face-api runs them:
//!
//! - each pixel less dlib's mean colour (122.782, 117.001, 104.298), divided by 256 (as dlib's input layer does);
//! - a 7 × 7 convolution, stride 2, then 3 × 3 max pooling, stride 2;
//! - residual blocks of two 3 × 3 convolutions: three at 32 channels, a down block and three at 64, a down block and
//!   two at 128, a down block and two at 256, and a last down block; a down block's first convolution has stride
//!   2 and its shortcut is a 2 × 2 average pool with the new channels zero;
//! - every convolution followed by a per-channel scale (dlib's affine layer), then ReLU except before a sum;
//! - the mean over the map, then a 256 × 128 matrix.

use crate::tensor::{Map, Padding};
use crate::weights::{Weights, WeightsError};

/// The side of the aligned face the network takes.
pub const SIDE: usize = 150;
/// dlib's mean colour, subtracted from every pixel.
const MEAN_RGB: [f32; 3] = [122.782, 117.001, 104.298];
/// What dlib divides by after subtracting the mean.
const DIVISOR: f32 = 256.0;

/// A face's 128 numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding(pub Vec<f32>);

impl Embedding {
    /// The Euclidean distance to another face's: dlib's measure (under 0.6 for one person, in its tests).
    pub fn distance(&self, other: &Embedding) -> f32 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
    }
}

/// One convolution with its bias and affine scale.
#[derive(Debug)]
struct Conv {
    filters: Vec<f32>,
    k: usize,
    out: usize,
    bias: Vec<f32>,
    weight: Vec<f32>,
    shift: Vec<f32>,
}

impl Conv {
    fn read(w: &Weights, prefix: &str) -> Result<Conv, WeightsError> {
        let (shape, filters) = w.get(&format!("{prefix}/conv/filters"))?;
        let (k, out) = (shape[0], shape[3]);
        Ok(Conv {
            filters: filters.to_vec(),
            k,
            out,
            bias: w.get(&format!("{prefix}/conv/bias"))?.1.to_vec(),
            weight: w.get(&format!("{prefix}/scale/weights"))?.1.to_vec(),
            shift: w.get(&format!("{prefix}/scale/biases"))?.1.to_vec(),
        })
    }

    fn run(&self, x: &Map, stride: usize, padding: Padding, relu: bool) -> Map {
        let mut y = x.conv2d(&self.filters, self.k, self.out, stride, padding);
        y.affine(&self.bias, &self.weight, &self.shift);
        if relu {
            y.relu();
        }
        y
    }
}

/// A residual block: two convolutions and a shortcut.
#[derive(Debug)]
struct Block {
    first: Conv,
    second: Conv,
    down: bool,
}

impl Block {
    fn run(&self, x: &Map) -> Map {
        if !self.down {
            let mut y = self.first.run(x, 1, Padding::Same, true);
            y = self.second.run(&y, 1, Padding::Same, false);
            y.add(x);
            y.relu();
            return y;
        }
        let mut y = self.first.run(x, 2, Padding::Valid, true);
        y = self.second.run(&y, 1, Padding::Same, false);
        let pooled = x.avg_pool(2, 2);
        // The two paths may differ by a row and a column (the convolution's window is wider than the pool's):
        // both are grown with zeros to the larger, and the shortcut's missing channels are zero.
        let (h, w) = (y.h.max(pooled.h), y.w.max(pooled.w));
        let mut sum = y.grown(h, w, y.c);
        sum.add(&pooled.grown(h, w, y.c));
        sum.relu();
        sum
    }
}

/// The weights compiled in (`models/README.md`: where from, and their hashes).
pub const MODEL_BIN: &[u8] = include_bytes!("../models/face_recognition_model.bin");
pub const MODEL_MANIFEST: &[u8] =
    include_bytes!("../models/face_recognition_model-weights_manifest.json");

/// The network, ready to embed faces.
#[derive(Debug)]
pub struct Recognizer {
    stem: Conv,
    blocks: Vec<Block>,
    /// 256 × 128, row-major.
    fc: Vec<f32>,
}

impl Recognizer {
    /// The network from the weights compiled in.
    pub fn bundled() -> Recognizer {
        // The files are part of the build and their hashes are tested: failing to read them is a broken build.
        let weights = Weights::read(MODEL_MANIFEST, MODEL_BIN)
            .unwrap_or_else(|e| panic!("the bundled face model does not read: {e}"));
        Recognizer::new(&weights).unwrap_or_else(|e| panic!("the bundled face model: {e}"))
    }

    /// The network from face-api's `face_recognition_model` weights.
    pub fn new(weights: &Weights) -> Result<Recognizer, WeightsError> {
        let names: [(&str, bool); 15] = [
            ("conv32_1", false),
            ("conv32_2", false),
            ("conv32_3", false),
            ("conv64_down", true),
            ("conv64_1", false),
            ("conv64_2", false),
            ("conv64_3", false),
            ("conv128_down", true),
            ("conv128_1", false),
            ("conv128_2", false),
            ("conv256_down", true),
            ("conv256_1", false),
            ("conv256_2", false),
            ("conv256_down_out", true),
            ("", false),
        ];
        let mut blocks = Vec::new();
        for (name, down) in names.iter().filter(|(n, _)| !n.is_empty()) {
            blocks.push(Block {
                first: Conv::read(weights, &format!("{name}/conv1"))?,
                second: Conv::read(weights, &format!("{name}/conv2"))?,
                down: *down,
            });
        }
        let (shape, fc) = weights.get("fc")?;
        if shape != [256, 128] {
            return Err(WeightsError::Weight {
                name: "fc".into(),
                why: format!("is {shape:?}, not [256, 128]"),
            });
        }
        Ok(Recognizer {
            stem: Conv::read(weights, "conv32_down")?,
            blocks,
            fc: fc.to_vec(),
        })
    }

    /// The embedding of an aligned face: `SIDE × SIDE` RGB pixels, row by row.
    pub fn embed(&self, rgb: &[u8]) -> Embedding {
        assert_eq!(rgb.len(), SIDE * SIDE * 3, "an aligned 150 × 150 RGB face");
        let data = rgb
            .chunks_exact(3)
            .flat_map(|p| (0..3).map(move |i| (f32::from(p[i]) - MEAN_RGB[i]) / DIVISOR))
            .collect();
        let x = Map {
            h: SIDE,
            w: SIDE,
            c: 3,
            data,
        };
        let mut y = self.stem.run(&x, 2, Padding::Valid, true).max_pool(3, 2);
        for block in &self.blocks {
            y = block.run(&y);
        }
        let means = y.channel_means();
        let mut out = vec![0.0f32; 128];
        for (i, m) in means.iter().enumerate() {
            for (o, v) in out.iter_mut().enumerate() {
                *v += m * self.fc[i * 128 + o];
            }
        }
        Embedding(out)
    }
}
