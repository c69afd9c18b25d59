//! dlib's frontal face detector, run from dlib's own model file: histograms of oriented gradients (Felzenszwalb's
//! fHOG, 31 numbers per 8 × 8 cell) over an image pyramid (each level 5/6 of the one above), five linear filters
//! (faces seen from the front, turned left, turned right, and tilted each way), and non-maximum suppression.
//!
//! The computation follows dlib (`image_processing/frontal_face_detector.h`, `scan_fhog_pyramid.h`,
//! `object_detector.h`, `image_transforms/fhog.h`, `image_pyramid.h`, `interpolation.h`) step by step, in the same
//! number types and, where it changes a result, in the same order: the photo is first doubled in size as dlib's
//! Python `detector(image, 1)` does (`pyramid_up`), each level is resized bilinearly as dlib resizes an RGB image,
//! each filter is applied as dlib applies it (as a sum of separable row and column filters from its singular value
//! decomposition, when that is cheaper, as it is for this model), and boxes are mapped back through the pyramid.

use crate::chip::Rgb;
use crate::dlib::{DlibError, Reader};
use crate::landmarks::FaceBox;

/// Bounds on what a model file may declare, so a damaged one fails rather than allocates without end.
const DETECTORS_MAX: usize = 64;
const DIMENSIONS_MAX: usize = 1 << 20;
const WINDOW_MAX: u64 = 1024;

/// The detector's model: `frontal_face_detector.dat`, written by dlib's Python
/// `dlib.get_frontal_face_detector().save(…)` (Boost Software License; see `models/README.md`).
pub const MODEL: &[u8] = include_bytes!("../models/frontal_face_detector.dat");

/// fHOG's 31 planes: 18 signed orientations, 9 unsigned, 4 texture energies.
const PLANES: usize = 31;

/// One of the model's linear filters over all planes, and the score a window must reach.
#[derive(Debug, Clone)]
struct Filter {
    /// Per plane, the filter whole (`rows × cols`, row by row).
    whole: Vec<Vec<f32>>,
    /// Per plane, the filter as a sum of products of a row filter (`cols` long) and a column filter (`rows`).
    terms: Vec<Vec<(Vec<f32>, Vec<f32>)>>,
    /// Whether dlib applies the separable form (it does when there are few enough terms).
    separable: bool,
    threshold: f64,
}

/// A face found: its box in the photo's pixels and how far its score passed the detector's threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub face: FaceBox,
    pub confidence: f64,
}

/// dlib's `rectangle`: integer corners, edges included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    l: i64,
    t: i64,
    r: i64,
    b: i64,
}

impl Rect {
    fn width(&self) -> i64 {
        if self.l > self.r {
            0
        } else {
            self.r - self.l + 1
        }
    }

    fn height(&self) -> i64 {
        if self.t > self.b {
            0
        } else {
            self.b - self.t + 1
        }
    }

    fn area(&self) -> i64 {
        self.width() * self.height()
    }

    fn intersect(&self, o: &Rect) -> Rect {
        Rect {
            l: self.l.max(o.l),
            t: self.t.max(o.t),
            r: self.r.min(o.r),
            b: self.b.min(o.b),
        }
    }

    /// The smallest rectangle holding both (dlib's `rectangle + rectangle`).
    fn union(&self, o: &Rect) -> Rect {
        Rect {
            l: self.l.min(o.l),
            t: self.t.min(o.t),
            r: self.r.max(o.r),
            b: self.b.max(o.b),
        }
    }

    /// `centered_rect(point(x, y), w, h)`.
    fn centred(x: i64, y: i64, w: i64, h: i64) -> Rect {
        let (l, t) = (x - w / 2, y - h / 2);
        Rect {
            l,
            t,
            r: l + w - 1,
            b: t + h - 1,
        }
    }

    /// A rectangle with real corners rounded as dlib turns a `drectangle` into a `rectangle` (`std::lround`).
    fn rounded(l: f64, t: f64, r: f64, b: f64) -> Rect {
        Rect {
            l: l.round() as i64,
            t: t.round() as i64,
            r: r.round() as i64,
            b: b.round() as i64,
        }
    }
}

/// `pyramid_down<6>`: one level down keeps 5/6 of each side.
fn down6(p: f64) -> f64 {
    (p - 0.3) * (5.0 / 6.0)
}

fn up6(p: f64) -> f64 {
    p * (6.0 / 5.0) + 0.3
}

/// dlib's `image_to_fhog` for one point (integer division truncates toward zero, as in C++).
fn image_to_fhog(p: i64, cell: i64, padding: i64) -> i64 {
    (p - 1) / cell - 1 + (padding - 1) / 2
}

/// dlib's `fhog_to_image` for one point: the centre of the cell.
fn fhog_to_image(p: i64, cell: i64, padding: i64) -> i64 {
    let p = (p + 1 - (padding - 1) / 2) * cell + 1;
    if p >= 0 { p + cell / 2 } else { p - cell / 2 }
}

/// dlib's frontal face detector.
#[derive(Debug, Clone)]
pub struct Detector {
    cell: usize,
    /// The filters' size in cells.
    rows: usize,
    cols: usize,
    /// The detection box's size in cells (the filter less the scanner's padding).
    box_rows: usize,
    box_cols: usize,
    min_layer_width: i64,
    min_layer_height: i64,
    max_levels: u64,
    overlap_iou: f64,
    overlap_covered: f64,
    filters: Vec<Filter>,
}

impl Detector {
    /// The detector bundled with the crate.
    pub fn bundled() -> Detector {
        Detector::read(MODEL).expect("the bundled face detector is a valid dlib object detector")
    }

    /// Reads a dlib `object_detector<scan_fhog_pyramid<pyramid_down<6>>>` (version 2).
    pub fn read(bytes: &[u8]) -> Result<Detector, DlibError> {
        let mut r = Reader::new(bytes);
        let bad = |why: String| DlibError::Bad { at: 0, why };
        if r.signed()? != 2 {
            return Err(bad("not an object detector of version 2".into()));
        }
        if r.signed()? != 1 {
            return Err(bad("not a scan_fhog_pyramid of version 1".into()));
        }
        // The scanner's feature extractor writes nothing; then its cached feature pyramid, empty in a saved model.
        let (_max, held) = (r.unsigned()?, r.unsigned()?);
        if held != 0 {
            return Err(bad("a detector saved with an image loaded".into()));
        }
        let cell = r.signed()?;
        let padding = r.unsigned()?;
        let window_width = r.unsigned()?;
        let window_height = r.unsigned()?;
        let max_levels = r.unsigned()?;
        let min_layer_width = r.unsigned()?;
        let min_layer_height = r.unsigned()?;
        let _nuclear_norm = r.double()?;
        let dims = r.signed()?;
        if !(1..=64).contains(&cell)
            || padding > 16
            || !(1..=WINDOW_MAX).contains(&window_width)
            || !(1..=WINDOW_MAX).contains(&window_height)
            || min_layer_width > WINDOW_MAX
            || min_layer_height > WINDOW_MAX
        {
            return Err(bad("scanner settings out of range".into()));
        }
        // compute_fhog_window_size: the window, centred on the origin, in cells, grown by the padding.
        let window = Rect::centred(0, 0, window_width as i64, window_height as i64);
        let to = |p| image_to_fhog(p, cell, 1);
        let (cols, rows) = (
            (to(window.r) - to(window.l) + 1 + 2 * padding as i64) as usize,
            (to(window.b) - to(window.t) + 1 + 2 * padding as i64) as usize,
        );
        if rows == 0 || cols == 0 || dims != (rows * cols * PLANES) as i64 {
            return Err(bad(format!(
                "{dims} dimensions for a {rows} × {cols} window"
            )));
        }
        let overlap_iou = r.double()?;
        let overlap_covered = r.double()?;
        let count = r.count(DETECTORS_MAX)?;
        let mut filters = Vec::with_capacity(count);
        for _ in 0..count {
            let w = r.double_column(DIMENSIONS_MAX)?;
            if w.len() != dims as usize + 1 {
                return Err(bad(format!("a weight vector of {} numbers", w.len())));
            }
            let size = rows * cols;
            let whole: Vec<Vec<f32>> = (0..PLANES)
                .map(|p| {
                    w[p * size..(p + 1) * size]
                        .iter()
                        .map(|&v| v as f32)
                        .collect()
                })
                .collect();
            let terms: Vec<_> = (0..PLANES)
                .map(|p| separate(&w[p * size..(p + 1) * size], rows, cols))
                .collect();
            // apply_filters_to_fhog's choice: the separable form only when there are few enough terms.
            let count: usize = terms.iter().map(Vec::len).sum();
            filters.push(Filter {
                whole,
                terms,
                separable: count as f64 <= (PLANES * rows.min(cols)) as f64 / 3.0,
                threshold: w[dims as usize],
            });
        }
        if !r.done() {
            return Err(bad("bytes after the detector".into()));
        }
        Ok(Detector {
            cell: cell as usize,
            rows,
            cols,
            box_rows: rows - 2 * padding as usize,
            box_cols: cols - 2 * padding as usize,
            min_layer_width: min_layer_width as i64,
            min_layer_height: min_layer_height as i64,
            max_levels,
            overlap_iou,
            overlap_covered,
            filters,
        })
    }
}

/// A plane's filter (`rows × cols`, row by row) as dlib's `build_fhog_filterbank` separates it: by its singular
/// value decomposition, largest first, dropping the singular values below a thousandth of the largest (and below
/// 10⁻⁴); each term is a row filter and a column filter, each scaled by the root of its singular value.
fn separate(f: &[f64], rows: usize, cols: usize) -> Vec<(Vec<f32>, Vec<f32>)> {
    let (u, s, v) = svd(f, rows, cols);
    let largest = s.iter().copied().fold(0.0, f64::max);
    let threshold = f64::max(1e-4, largest * 0.001);
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    order
        .into_iter()
        .filter(|&j| s[j].abs() >= threshold)
        .map(|j| {
            let root = s[j].sqrt();
            (
                (0..cols).map(|i| (v[i * cols + j] * root) as f32).collect(),
                (0..rows).map(|i| (u[i * cols + j] * root) as f32).collect(),
            )
        })
        .collect()
}

/// The singular value decomposition `f = U · diag(s) · Vᵀ` of a small `rows × cols` matrix, by one-sided Jacobi
/// rotations: columns of `U` (`rows × cols`), the singular values, columns of `V` (`cols × cols`), all row by row.
fn svd(f: &[f64], rows: usize, cols: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut a = f.to_vec();
    let mut v = vec![0.0; cols * cols];
    for i in 0..cols {
        v[i * cols + i] = 1.0;
    }
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..cols {
            for q in p + 1..cols {
                let (mut alpha, mut beta, mut gamma) = (0.0, 0.0, 0.0);
                for i in 0..rows {
                    let (x, y) = (a[i * cols + p], a[i * cols + q]);
                    alpha += x * x;
                    beta += y * y;
                    gamma += x * y;
                }
                if gamma.abs() <= 1e-15 * (alpha * beta).sqrt() || gamma == 0.0 {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for m in [&mut a[..], &mut v[..]] {
                    for i in 0..m.len() / cols {
                        let (x, y) = (m[i * cols + p], m[i * cols + q]);
                        m[i * cols + p] = c * x - s * y;
                        m[i * cols + q] = s * x + c * y;
                    }
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let s: Vec<f64> = (0..cols)
        .map(|j| {
            (0..rows)
                .map(|i| a[i * cols + j].powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    for (j, &sj) in s.iter().enumerate() {
        for i in 0..rows {
            a[i * cols + j] = if sj > 0.0 { a[i * cols + j] / sj } else { 0.0 };
        }
    }
    (a, s, v)
}

/// `resize_image(in, out)` for RGB images, bilinear, as dlib computes it: four output pixels at a time in `f32`
/// (the source column advancing by repeated addition, results truncated), the last few in `f64`.
pub(crate) fn resize(src: &Rgb, width: usize, height: usize) -> Rgb {
    let mut out = Rgb {
        width,
        height,
        data: vec![0; width * height * 3],
    };
    if width == 0 || height == 0 || src.width == 0 || src.height == 0 {
        return out;
    }
    let (iw, ih) = (src.width as i64, src.height as i64);
    let at = |r: i64, c: i64, ch: usize| src.data[(r as usize * src.width + c as usize) * 3 + ch];
    let x_scale = (iw - 1) as f64 / (width as i64 - 1).max(1) as f64;
    let y_scale = (ih - 1) as f64 / (height as i64 - 1).max(1) as f64;
    let mut y = -y_scale;
    for r in 0..height {
        y += y_scale;
        let top = y.floor() as i64;
        let bottom = (top + 1).min(ih - 1);
        let tb = y - top as f64;
        let x = -4.0 * x_scale;
        let (tb4, itb4, step) = (tb as f32, (1.0 - tb) as f32, (4.0 * x_scale) as f32);
        let mut xs = [
            x as f32,
            (x + x_scale) as f32,
            (x + 2.0 * x_scale) as f32,
            (x + 3.0 * x_scale) as f32,
        ];
        let mut c = 0usize;
        loop {
            for v in &mut xs {
                *v += step;
            }
            let left = xs.map(|v| v as i32);
            if i64::from(left[3]) + 1 >= iw {
                break;
            }
            for lane in 0..4 {
                let lr = xs[lane] - left[lane] as f32;
                let ilr = 1.0 - lr;
                let (tlf, trf, blf, brf) = (itb4 * ilr, itb4 * lr, tb4 * ilr, tb4 * lr);
                let (l, rr) = (i64::from(left[lane]), i64::from(left[lane]) + 1);
                for ch in 0..3 {
                    let v = tlf * f32::from(at(top, l, ch))
                        + trf * f32::from(at(top, rr, ch))
                        + blf * f32::from(at(bottom, l, ch))
                        + brf * f32::from(at(bottom, rr, ch));
                    out.data[(r * width + c + lane) * 3 + ch] = v as i32 as u8;
                }
            }
            c += 4;
        }
        let mut x = -x_scale + c as f64 * x_scale;
        for c in c..width {
            x += x_scale;
            let left = x.floor() as i64;
            let right = (left + 1).min(iw - 1);
            let lr = x - left as f64;
            for ch in 0..3 {
                let p = |row, col| f64::from(at(row, col, ch));
                let v = (1.0 - tb) * ((1.0 - lr) * p(top, left) + lr * p(top, right))
                    + tb * ((1.0 - lr) * p(bottom, left) + lr * p(bottom, right));
                out.data[(r * width + c) * 3 + ch] = v as u8;
            }
        }
    }
    out
}

/// `pyramid_up(img, out, pyramid_down<2>)`: the image doubled (to the size `rect_up` gives its rectangle).
fn pyramid_up(img: &Rgb) -> Rgb {
    let up = |p: f64, shift: f64| (p + shift) * 2.0;
    let rect = Rect::rounded(
        up(0.0, 1.25),
        up(0.0, 0.75),
        up(img.width as f64 - 1.0, 1.25),
        up(img.height as f64 - 1.0, 0.75),
    );
    resize(
        img,
        (rect.r + 1).max(0) as usize,
        (rect.b + 1).max(0) as usize,
    )
}

/// dlib's fHOG directions: nine unit vectors from 0° to 160°.
const DIRECTIONS: [(f32, f32); 9] = [
    (1.0000, 0.0000),
    (0.9397, 0.3420),
    (0.7660, 0.6428),
    (0.500, 0.8660),
    (0.1736, 0.9848),
    (-0.1736, 0.9848),
    (-0.5000, 0.8660),
    (-0.7660, 0.6428),
    (-0.9397, 0.3420),
];

/// The 31 fHOG planes of one image, each `rows × cols`, with a zero border for the filters.
struct Planes {
    rows: usize,
    cols: usize,
    data: Vec<Vec<f32>>,
}

/// The gradient at a pixel: of the channel where it is strongest. dlib picks differently on a tie in its vector
/// code (eight pixels at a time) and its scalar code (the rest of a row), so both are kept.
fn gradient(img: &Rgb, y: usize, x: usize, vector: bool) -> (i32, i32, i32) {
    let w = img.width;
    let px = |r: usize, c: usize, ch: usize| i32::from(img.data[(r * w + c) * 3 + ch]);
    let g = |ch| {
        let gx = px(y, x + 1, ch) - px(y, x - 1, ch);
        let gy = px(y + 1, x, ch) - px(y - 1, x, ch);
        (gx, gy, gx * gx + gy * gy)
    };
    let (red, green, blue) = (g(0), g(1), g(2));
    if vector {
        let t = if red.2 > green.2 { red } else { green };
        if t.2 > blue.2 { t } else { blue }
    } else {
        let mut best = red;
        if green.2 > best.2 {
            best = green;
        }
        if blue.2 > best.2 {
            best = blue;
        }
        best
    }
}

/// `extract_fhog_features` with cells of `cell` pixels, for filters of `pad_rows × pad_cols` cells.
fn fhog(img: &Rgb, cell: usize, pad_rows: usize, pad_cols: usize) -> Option<Planes> {
    let (nr, nc) = (img.height as i64, img.width as i64);
    let cells_nr = (nr as f32 / cell as f32 + 0.5) as i64;
    let cells_nc = (nc as f32 / cell as f32 + 0.5) as i64;
    let hog_nr = (cells_nr - 2).max(0);
    let hog_nc = (cells_nc - 2).max(0);
    if hog_nr == 0 || hog_nc == 0 {
        return None;
    }
    let hist_cols = (cells_nc + 2) as usize;
    let mut hist = vec![0f32; (cells_nr + 2) as usize * hist_cols * 18];
    let bin = |r: i64, c: i64, o: usize| (r as usize * hist_cols + c as usize) * 18 + o;
    let visible_nr = (cells_nr * cell as i64).min(nr) - 1;
    let visible_nc = (cells_nc * cell as i64).min(nc) - 1;
    // dlib's vector code takes x = 1, 9, 17, … while x < visible_nc − 7; its scalar code the rest.
    let mut vector_end = 1;
    while vector_end < visible_nc - 7 {
        vector_end += 8;
    }
    let cf = cell as f32;
    for y in 1..visible_nr {
        let yp = ((y as f64 + 0.5) / f64::from(cf) - 0.5) as f32;
        let iyp = yp.floor() as i64;
        let vy0 = yp - iyp as f32;
        let vy1 = 1.0 - vy0;
        for x in 1..visible_nc {
            let vector = x < vector_end;
            let (gx, gy, len) = gradient(img, y as usize, x as usize, vector);
            let (gx, gy) = (gx as f32, gy as f32);
            let mut best_dot = 0f32;
            let mut best_o = 0usize;
            for (o, d) in DIRECTIONS.iter().enumerate() {
                let dot = gx * d.0 + gy * d.1;
                if dot > best_dot {
                    best_dot = dot;
                    best_o = o;
                } else if -dot > best_dot {
                    best_dot = -dot;
                    best_o = o + 9;
                }
            }
            let v = (len as f32).sqrt();
            if vector {
                let xp = (x as f32 + 0.5) / cf + 0.5;
                let ixp = xp as i32 as i64;
                let vx0 = xp - ixp as f32;
                let vx1 = (1.0 - vx0) * v;
                let vx0 = vx0 * v;
                hist[bin(iyp + 1, ixp, best_o)] += vy1 * vx1;
                hist[bin(iyp + 2, ixp, best_o)] += vy0 * vx1;
                hist[bin(iyp + 1, ixp + 1, best_o)] += vy1 * vx0;
                hist[bin(iyp + 2, ixp + 1, best_o)] += vy0 * vx0;
            } else {
                let xp = ((x as f64 + 0.5) / cell as f64 - 0.5) as f32;
                let ixp = xp.floor() as i64;
                let vx0 = xp - ixp as f32;
                let vx1 = 1.0 - vx0;
                hist[bin(iyp + 1, ixp + 1, best_o)] += vy1 * vx1 * v;
                hist[bin(iyp + 2, ixp + 1, best_o)] += vy0 * vx1 * v;
                hist[bin(iyp + 1, ixp + 2, best_o)] += vy1 * vx0 * v;
                hist[bin(iyp + 2, ixp + 2, best_o)] += vy0 * vx0 * v;
            }
        }
    }
    let ncells = cells_nc as usize;
    let mut norm = vec![0f32; cells_nr as usize * ncells];
    for r in 0..cells_nr {
        for c in 0..cells_nc {
            let n = &mut norm[r as usize * ncells + c as usize];
            for o in 0..9 {
                let s = hist[bin(r + 1, c + 1, o)] + hist[bin(r + 1, c + 1, o + 9)];
                *n += s * s;
            }
        }
    }
    let rows = hog_nr as usize + pad_rows - 1;
    let cols = hog_nc as usize + pad_cols - 1;
    let mut data = vec![vec![0f32; rows * cols]; PLANES];
    let (oy, ox) = ((pad_rows - 1) / 2, (pad_cols - 1) / 2);
    let n = |r: usize, c: usize| norm[r * ncells + c];
    let sum4 = |v: [f32; 4]| (v[0] + v[1]) + (v[2] + v[3]);
    for y in 0..hog_nr as usize {
        for x in 0..hog_nc as usize {
            let z1 = [n(y + 1, x + 1), n(y, x + 1), n(y + 1, x), n(y, x)];
            let z2 = [n(y + 1, x + 2), n(y, x + 2), n(y + 1, x + 1), n(y, x + 1)];
            let z3 = [n(y + 2, x + 1), n(y + 1, x + 1), n(y + 2, x), n(y + 1, x)];
            let z4 = [
                n(y + 2, x + 2),
                n(y + 1, x + 2),
                n(y + 2, x + 1),
                n(y + 1, x + 1),
            ];
            let nn: [f32; 4] =
                std::array::from_fn(|i| 0.2 * (z1[i] + z2[i] + z3[i] + z4[i] + 0.0001f32).sqrt());
            let inv: [f32; 4] = nn.map(|v| 0.1 / v);
            let h = &hist[bin(y as i64 + 2, x as i64 + 2, 0)..][..18];
            let at = (y + oy) * cols + x + ox;
            let mut t = [0f32; 4];
            for o in 0..18 {
                let hv: [f32; 4] = std::array::from_fn(|i| h[o].min(nn[i]) * inv[i]);
                data[o][at] = sum4(hv);
                for i in 0..4 {
                    t[i] += hv[i];
                }
            }
            for o in 0..9 {
                let s = h[o] + h[o + 9];
                let hv: [f32; 4] = std::array::from_fn(|i| s.min(nn[i]) * inv[i]);
                data[18 + o][at] = sum4(hv);
            }
            for i in 0..4 {
                data[27 + i][at] = t[i] * (2.0 * 0.2357) as f32;
            }
        }
    }
    Some(Planes { rows, cols, data })
}

/// One pass of a separable filter over the columns `from..to` of a line: `sums[0][c] = Σₙ source(n)[c − from] ·
/// taps[n]`, each sum taken in dlib's order. Its eight-wide vector code (columns `from..split`) keeps three running
/// sums, over every third tap, the taps left over going to the first, then adds the first to the other two's sum;
/// its scalar code (columns `split..to`) adds the taps in turn. Taps outermost, so the compiler vectorises it.
#[inline(never)]
fn separable_pass<'a>(
    source: impl Fn(usize) -> &'a [f32],
    taps: &[f32],
    (from, split, to): (usize, usize, usize),
    sums: &mut [Vec<f32>; 3],
) {
    let [a, b, c] = sums;
    for s in [&mut *a, &mut *b, &mut *c] {
        s[from..to].fill(0.0);
    }
    let threes = if taps.len() >= 3 {
        (taps.len() - 3) / 3 * 3 + 3
    } else {
        0
    };
    let vector = split - from;
    for (n, &t) in taps.iter().enumerate() {
        let line = &source(n)[..to - from];
        let into = match n {
            n if n >= threes || n % 3 == 0 => &mut *a,
            n if n % 3 == 1 => &mut *b,
            _ => &mut *c,
        };
        for (s, v) in into[from..split].iter_mut().zip(&line[..vector]) {
            *s += v * t;
        }
        for (s, v) in a[split..to].iter_mut().zip(&line[vector..]) {
            *s += v * t;
        }
    }
    for ((x, y), z) in a[from..split]
        .iter_mut()
        .zip(&b[from..split])
        .zip(&c[from..split])
    {
        *x += y + z;
    }
}

impl Detector {
    /// The sum of one filter's responses over the planes, and the rectangle (in cells) where it is defined.
    fn saliency(&self, filter: &Filter, planes: &Planes) -> (Vec<f32>, Rect) {
        let (nr, nc) = (planes.rows as i64, planes.cols as i64);
        let mut out = vec![0f32; planes.rows * planes.cols];
        let (fr, fc) = (self.rows as i64, self.cols as i64);
        let (first_row, first_col) = (fr / 2, fc / 2);
        let (last_row, last_col) = (nr - (fr - 1) / 2, nc - (fc - 1) / 2);
        let area = Rect {
            l: first_col,
            t: first_row,
            r: last_col - 1,
            b: last_row - 1,
        };
        if area.width() == 0 || area.height() == 0 {
            return (out, area);
        }
        let w = planes.cols;
        // dlib's vector code takes c = first_col, first_col + 8, … while c < last_col − 7.
        if filter.separable {
            // Computed a row at a time with the taps outermost, so the compiler can vectorise it, while every
            // pixel's sum is still taken in dlib's order (see `dot_vector` and `dot_scalar`).
            let split = (first_col + ((last_col - 7 - first_col).max(0) + 7) / 8 * 8).min(last_col);
            let (fc0, split, lc) = (first_col as usize, split as usize, last_col as usize);
            let mut scratch = vec![0f32; planes.rows * planes.cols];
            let mut sums = [vec![0f32; w], vec![0f32; w], vec![0f32; w]];
            for (p, terms) in filter.terms.iter().enumerate() {
                let plane = &planes.data[p];
                for (row, col) in terms {
                    for r in 0..nr as usize {
                        let line = &plane[r * w..(r + 1) * w];
                        separable_pass(|n| &line[n..], row, (fc0, split, lc), &mut sums);
                        scratch[r * w + fc0..r * w + lc].copy_from_slice(&sums[0][fc0..lc]);
                    }
                    for r in first_row as usize..last_row as usize {
                        let top = r - first_row as usize;
                        let scratch = &scratch;
                        separable_pass(
                            |m| &scratch[(top + m) * w + fc0..],
                            col,
                            (fc0, split, lc),
                            &mut sums,
                        );
                        for (o, v) in out[r * w + fc0..r * w + lc]
                            .iter_mut()
                            .zip(&sums[0][fc0..lc])
                        {
                            *o += v;
                        }
                    }
                }
            }
        } else {
            for (p, f) in filter.whole.iter().enumerate() {
                let plane = &planes.data[p];
                for r in first_row..last_row {
                    for c in first_col..last_col {
                        let mut v = 0f32;
                        for m in 0..self.rows {
                            for n in 0..self.cols {
                                let at = (r - first_row) as usize + m;
                                v += plane[at * w + (c - first_col) as usize + n]
                                    * f[m * self.cols + n];
                            }
                        }
                        out[r as usize * w + c as usize] += v;
                    }
                }
            }
        }
        (out, area)
    }

    /// Whether dlib's `test_box_overlap` counts two boxes as one face.
    fn overlaps(&self, a: &Rect, b: &Rect) -> bool {
        let inner = a.intersect(b).area() as f64;
        if inner == 0.0 {
            return false;
        }
        let outer = a.union(b).area() as f64;
        inner / outer > self.overlap_iou
            || inner / a.area() as f64 > self.overlap_covered
            || inner / b.area() as f64 > self.overlap_covered
    }

    /// The faces in an image, as dlib's `detector(image, upsample)` finds them: the image is doubled `upsample`
    /// times first (to find faces smaller than the detector's 80 × 80 window), and boxes are given in the
    /// image's own pixels, most confident first.
    pub fn detect(&self, image: &Rgb, upsample: u32) -> Vec<Detection> {
        let mut img = image.clone();
        for _ in 0..upsample {
            img = pyramid_up(&img);
        }
        // The pyramid's depth: levels while the level is at least the smallest size (the last may be smaller).
        let mut levels = 0u64;
        let mut rect = Rect {
            l: 0,
            t: 0,
            r: img.width as i64 - 1,
            b: img.height as i64 - 1,
        };
        loop {
            rect = Rect::rounded(
                down6(rect.l as f64),
                down6(rect.t as f64),
                down6(rect.r as f64),
                down6(rect.b as f64),
            );
            levels += 1;
            if !(rect.width() >= self.min_layer_width
                && rect.height() >= self.min_layer_height
                && levels < self.max_levels)
            {
                break;
            }
        }
        let mut found: Vec<(f64, usize, Rect)> = Vec::new();
        let mut per_filter: Vec<Vec<(f64, Rect)>> = vec![Vec::new(); self.filters.len()];
        let mut level = img;
        for l in 0..levels {
            if l > 0 {
                level = resize(&level, 5 * level.width / 6, 5 * level.height / 6);
            }
            let Some(planes) = fhog(&level, self.cell, self.rows, self.cols) else {
                continue;
            };
            for (i, filter) in self.filters.iter().enumerate() {
                let (saliency, area) = self.saliency(filter, &planes);
                for r in area.t..=area.b {
                    for c in area.l..=area.r {
                        let score = saliency[r as usize * planes.cols + c as usize];
                        if f64::from(score) < filter.threshold {
                            continue;
                        }
                        let cells = Rect::centred(c, r, self.box_cols as i64, self.box_rows as i64);
                        let (cell, pr, pc) = (self.cell as i64, self.rows as i64, self.cols as i64);
                        let mut corners = [
                            fhog_to_image(cells.l, cell, pc) as f64,
                            fhog_to_image(cells.t, cell, pr) as f64,
                            fhog_to_image(cells.r, cell, pc) as f64,
                            fhog_to_image(cells.b, cell, pr) as f64,
                        ];
                        for _ in 0..l {
                            corners = corners.map(up6);
                        }
                        let [a, b, c2, d] = corners;
                        per_filter[i].push((f64::from(score), Rect::rounded(a, b, c2, d)));
                    }
                }
            }
        }
        for (i, dets) in per_filter.iter_mut().enumerate() {
            dets.sort_by(|a, b| b.0.total_cmp(&a.0));
            let threshold = self.filters[i].threshold;
            found.extend(
                dets.iter()
                    .map(|&(score, rect)| (score - threshold, i, rect)),
            );
        }
        if self.filters.len() > 1 {
            found.sort_by(|a, b| b.0.total_cmp(&a.0));
        }
        let mut kept: Vec<(f64, Rect)> = Vec::new();
        for (confidence, _, rect) in found {
            if kept.iter().any(|(_, k)| self.overlaps(k, &rect)) {
                continue;
            }
            kept.push((confidence, rect));
        }
        kept.into_iter()
            .map(|(confidence, rect)| {
                // Back through the doublings (`pyramid_down<2>::rect_down`).
                let mut c = [rect.l as f64, rect.t as f64, rect.r as f64, rect.b as f64];
                for _ in 0..upsample {
                    c = [
                        c[0] / 2.0 - 1.25,
                        c[1] / 2.0 - 0.75,
                        c[2] / 2.0 - 1.25,
                        c[3] / 2.0 - 0.75,
                    ];
                }
                let r = Rect::rounded(c[0], c[1], c[2], c[3]);
                Detection {
                    face: FaceBox {
                        left: r.l as f64,
                        top: r.t as f64,
                        right: r.r as f64,
                        bottom: r.b as f64,
                    },
                    confidence,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svd_rebuilds_the_matrix() {
        let f: Vec<f64> = (0..12)
            .map(|i| ((i * 7 % 5) as f64) - 1.5 + i as f64 * 0.1)
            .collect();
        let (u, s, v) = svd(&f, 3, 4);
        for r in 0..3 {
            for c in 0..4 {
                let x: f64 = (0..4).map(|j| u[r * 4 + j] * s[j] * v[c * 4 + j]).sum();
                assert!(
                    (x - f[r * 4 + c]).abs() < 1e-9,
                    "{r},{c}: {x} vs {}",
                    f[r * 4 + c]
                );
            }
        }
        // A rank-one matrix separates into one term.
        let g: Vec<f64> = (0..9).map(|i| ((i / 3 + 1) * (i % 3 + 2)) as f64).collect();
        assert_eq!(separate(&g, 3, 3).len(), 1);
    }

    #[test]
    fn the_bundled_detector_reads_and_finds_nothing_in_a_flat_image() {
        let d = Detector::bundled();
        assert_eq!(d.filters.len(), 5);
        assert_eq!((d.rows, d.cols, d.cell), (10, 10, 8));
        let flat = Rgb {
            width: 200,
            height: 160,
            data: vec![128; 200 * 160 * 3],
        };
        assert!(d.detect(&flat, 1).is_empty());
    }

    #[test]
    fn cells_map_to_pixels_as_dlib_maps_them() {
        assert_eq!(image_to_fhog(-40, 8, 1), -6);
        assert_eq!(image_to_fhog(39, 8, 1), 3);
        assert_eq!(fhog_to_image(0, 8, 10), -27);
        assert_eq!(fhog_to_image(5, 8, 10), 21);
    }
}
