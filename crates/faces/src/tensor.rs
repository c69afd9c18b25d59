//! One image's feature map (height × width × channels, row-major, channels last, as TensorFlow lays it out) and
//! the operations dlib's ResNet needs. Padding follows TensorFlow: `Same` keeps `ceil(n / stride)` outputs and pads
//! the smaller half first; `Valid` uses only whole windows.

/// A feature map.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub data: Vec<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    Same,
    Valid,
}

/// Outputs along one side, and the padding before the first window.
fn geometry(n: usize, k: usize, stride: usize, padding: Padding) -> (usize, usize) {
    match padding {
        Padding::Valid => ((n.saturating_sub(k)) / stride + 1, 0),
        Padding::Same => {
            let out = n.div_ceil(stride);
            let total = ((out - 1) * stride + k).saturating_sub(n);
            (out, total / 2)
        }
    }
}

impl Map {
    pub fn zeros(h: usize, w: usize, c: usize) -> Map {
        Map {
            h,
            w,
            c,
            data: vec![0.0; h * w * c],
        }
    }

    /// A 2-D convolution by `filters` laid out as TensorFlow's HWIO (`k × k × self.c × out`), as one matrix
    /// product of the image's patches and the filters.
    pub fn conv2d(
        &self,
        filters: &[f32],
        k: usize,
        out: usize,
        stride: usize,
        padding: Padding,
    ) -> Map {
        assert_eq!(
            filters.len(),
            k * k * self.c * out,
            "filters for this input"
        );
        let (oh, top) = geometry(self.h, k, stride, padding);
        let (ow, left) = geometry(self.w, k, stride, padding);
        let depth = k * k * self.c;
        // Each output position's patch, as a row (zeros where the window leaves the image).
        let mut patches = vec![0.0f32; oh * ow * depth];
        for y in 0..oh {
            for x in 0..ow {
                let row = &mut patches[(y * ow + x) * depth..][..depth];
                for ky in 0..k {
                    let iy = (y * stride + ky) as isize - top as isize;
                    if iy < 0 || iy >= self.h as isize {
                        continue;
                    }
                    for kx in 0..k {
                        let ix = (x * stride + kx) as isize - left as isize;
                        if ix < 0 || ix >= self.w as isize {
                            continue;
                        }
                        let from = (iy as usize * self.w + ix as usize) * self.c;
                        let to = (ky * k + kx) * self.c;
                        row[to..to + self.c].copy_from_slice(&self.data[from..from + self.c]);
                    }
                }
            }
        }
        let (m, n) = (oh * ow, out);
        let a =
            ndarray::ArrayView2::from_shape((m, depth), &patches).expect("patches are m × depth");
        let f =
            ndarray::ArrayView2::from_shape((depth, n), filters).expect("filters are depth × n");
        let mut product = ndarray::Array2::<f32>::zeros((m, n));
        ndarray::linalg::general_mat_mul(1.0, &a, &f, 0.0, &mut product);
        Map {
            h: oh,
            w: ow,
            c: out,
            data: product.into_raw_vec_and_offset().0,
        }
    }

    /// `(x + bias) × weight + shift`, per channel.
    pub fn affine(&mut self, bias: &[f32], weight: &[f32], shift: &[f32]) {
        for px in self.data.chunks_exact_mut(self.c) {
            for (i, v) in px.iter_mut().enumerate() {
                *v = (*v + bias[i]) * weight[i] + shift[i];
            }
        }
    }

    pub fn relu(&mut self) {
        for v in &mut self.data {
            *v = v.max(0.0);
        }
    }

    /// Max over `k × k` windows `stride` apart, whole windows only.
    pub fn max_pool(&self, k: usize, stride: usize) -> Map {
        self.pool(k, stride, |window| window.fold(f32::NEG_INFINITY, f32::max))
    }

    /// Mean over `k × k` windows `stride` apart, whole windows only.
    pub fn avg_pool(&self, k: usize, stride: usize) -> Map {
        let n = (k * k) as f32;
        self.pool(k, stride, |window| window.sum::<f32>() / n)
    }

    fn pool(
        &self,
        k: usize,
        stride: usize,
        reduce: impl Fn(&mut dyn Iterator<Item = f32>) -> f32,
    ) -> Map {
        let (oh, _) = geometry(self.h, k, stride, Padding::Valid);
        let (ow, _) = geometry(self.w, k, stride, Padding::Valid);
        let mut out = Map::zeros(oh, ow, self.c);
        for y in 0..oh {
            for x in 0..ow {
                for ch in 0..self.c {
                    let mut window = (0..k).flat_map(|ky| {
                        (0..k).map(move |kx| {
                            self.data[((y * stride + ky) * self.w + x * stride + kx) * self.c + ch]
                        })
                    });
                    out.data[(y * ow + x) * self.c + ch] = reduce(&mut window);
                }
            }
        }
        out
    }

    /// The same map grown to `h × w × c` with zeros after what it holds (rows, columns and channels).
    pub fn grown(&self, h: usize, w: usize, c: usize) -> Map {
        let mut out = Map::zeros(h, w, c);
        for y in 0..self.h.min(h) {
            for x in 0..self.w.min(w) {
                let from = (y * self.w + x) * self.c;
                let to = (y * w + x) * c;
                let n = self.c.min(c);
                out.data[to..to + n].copy_from_slice(&self.data[from..from + n]);
            }
        }
        out
    }

    /// Adds another map of the same shape.
    pub fn add(&mut self, other: &Map) {
        assert_eq!((self.h, self.w, self.c), (other.h, other.w, other.c));
        for (a, b) in self.data.iter_mut().zip(&other.data) {
            *a += b;
        }
    }

    /// The mean of each channel over the whole map.
    pub fn channel_means(&self) -> Vec<f32> {
        let mut sums = vec![0.0f64; self.c];
        for px in self.data.chunks_exact(self.c) {
            for (s, v) in sums.iter_mut().zip(px) {
                *s += f64::from(*v);
            }
        }
        let n = (self.h * self.w) as f64;
        sums.into_iter().map(|s| (s / n) as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A convolution written the slow, obvious way, to check the fast one.
    fn naive(x: &Map, f: &[f32], k: usize, out: usize, stride: usize, padding: Padding) -> Map {
        let (oh, top) = geometry(x.h, k, stride, padding);
        let (ow, left) = geometry(x.w, k, stride, padding);
        let mut r = Map::zeros(oh, ow, out);
        for y in 0..oh {
            for xx in 0..ow {
                for o in 0..out {
                    let mut s = 0.0;
                    for ky in 0..k {
                        for kx in 0..k {
                            let iy = (y * stride + ky) as isize - top as isize;
                            let ix = (xx * stride + kx) as isize - left as isize;
                            if iy < 0 || ix < 0 || iy >= x.h as isize || ix >= x.w as isize {
                                continue;
                            }
                            for ci in 0..x.c {
                                s += x.data[(iy as usize * x.w + ix as usize) * x.c + ci]
                                    * f[((ky * k + kx) * x.c + ci) * out + o];
                            }
                        }
                    }
                    r.data[(y * ow + xx) * out + o] = s;
                }
            }
        }
        r
    }

    #[test]
    fn convolution_matches_the_obvious_loop_for_each_padding_and_stride() {
        let x = Map {
            h: 9,
            w: 8,
            c: 3,
            data: (0..9 * 8 * 3)
                .map(|i| ((i * 37 % 17) as f32 - 8.0) / 7.0)
                .collect(),
        };
        for (k, stride, padding) in [
            (3, 1, Padding::Same),
            (3, 2, Padding::Valid),
            (7, 2, Padding::Valid),
            (3, 2, Padding::Same),
        ] {
            let f: Vec<f32> = (0..k * k * 3 * 4)
                .map(|i| ((i * 13 % 11) as f32 - 5.0) / 9.0)
                .collect();
            let fast = x.conv2d(&f, k, 4, stride, padding);
            let slow = naive(&x, &f, k, 4, stride, padding);
            assert_eq!(
                (fast.h, fast.w),
                (slow.h, slow.w),
                "{k} {stride} {padding:?}"
            );
            for (a, b) in fast.data.iter().zip(&slow.data) {
                assert!((a - b).abs() < 1e-4, "{a} {b}");
            }
        }
        // TensorFlow's output sizes.
        assert_eq!(geometry(150, 7, 2, Padding::Valid), (72, 0));
        assert_eq!(geometry(35, 3, 1, Padding::Same), (35, 1));
        assert_eq!(geometry(36, 3, 2, Padding::Valid), (17, 0));
    }

    #[test]
    fn pooling_and_growing() {
        let x = Map {
            h: 4,
            w: 4,
            c: 1,
            data: (0..16).map(|i| i as f32).collect(),
        };
        assert_eq!(x.max_pool(3, 2).data, vec![10.0]);
        assert_eq!(x.avg_pool(2, 2).data, vec![2.5, 4.5, 10.5, 12.5]);
        let g = x.avg_pool(2, 2).grown(3, 3, 2);
        assert_eq!(g.data[..4], [2.5, 0.0, 4.5, 0.0]);
        assert_eq!(g.data[4..6], [0.0, 0.0], "a new column");
        assert_eq!(x.channel_means(), vec![7.5]);
    }
}
