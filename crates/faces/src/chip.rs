//! The aligned face the network takes, cut from a photo exactly as dlib's `get_face_chip` cuts it
//! (`dlib/image_transforms/interpolation.h`): the least-squares similarity transform that puts dlib's template of
//! the five points (with a margin of `padding` of the face on every side) onto the points found gives the chip's
//! place in the photo (a rectangle and an angle); when that place is much larger than the chip, the photo around
//! it is first shrunk by dlib's image pyramid (`pyramid_down<2>`: a 5 × 5 filter of weights 1 4 6 4 1, every other
//! row and column kept) as many times as needed; then each chip pixel is read bilinearly, black outside the photo.

/// dlib's template of the five points in a face, in the unit square (`get_face_chip_details`).
const TEMPLATE: [(f64, f64); 5] = [
    (0.8595674595992, 0.2134981538014),
    (0.6460604764104, 0.2289674387677),
    (0.1205750620789, 0.2137274526848),
    (0.3340850613712, 0.2290642403242),
    (0.4901123135679, 0.6277975316475),
];

/// An RGB image, row by row.
#[derive(Debug, Clone)]
pub struct Rgb {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

/// A rectangle with real corners, edges included (dlib's `drectangle`: its width is `right − left + 1`).
#[derive(Debug, Clone, Copy)]
struct Rect {
    l: f64,
    t: f64,
    r: f64,
    b: f64,
}

impl Rect {
    fn area(&self) -> f64 {
        if self.l > self.r || self.t > self.b {
            return 0.0;
        }
        (self.r - self.l + 1.0) * (self.b - self.t + 1.0)
    }

    fn centre(&self) -> (f64, f64) {
        ((self.l + self.r) / 2.0, (self.t + self.b) / 2.0)
    }

    /// The same place one pyramid level down (`pyramid_down<2>::rect_down`).
    fn down(&self) -> Rect {
        let p = |x: f64, y: f64| (x / 2.0 - 1.25, y / 2.0 - 0.75);
        let (l, t) = p(self.l, self.t);
        let (r, b) = p(self.r, self.b);
        Rect { l, t, r, b }
    }
}

/// `p` turned by `angle` about `c`.
fn rotate(c: (f64, f64), p: (f64, f64), angle: f64) -> (f64, f64) {
    let (s, co) = angle.sin_cos();
    let (x, y) = (p.0 - c.0, p.1 - c.1);
    (co * x - s * y + c.0, s * x + co * y + c.1)
}

impl Rgb {
    /// The part from column `x0` and row `y0`, `w × h`.
    fn crop(&self, x0: usize, y0: usize, w: usize, h: usize) -> Rgb {
        let mut data = Vec::with_capacity(w * h * 3);
        for y in y0..y0 + h {
            data.extend_from_slice(
                &self.data[(y * self.width + x0) * 3..(y * self.width + x0 + w) * 3],
            );
        }
        Rgb {
            width: w,
            height: h,
            data,
        }
    }

    /// One level down dlib's pyramid (`pyramid_down<2>` on RGB): a 5 × 5 filter of weights 1 4 6 4 1 in integers,
    /// every other row and column kept, `(n − 3) / 2` of each.
    fn pyramid_down(&self) -> Rgb {
        if self.width <= 8 || self.height <= 8 {
            return Rgb {
                width: 0,
                height: 0,
                data: Vec::new(),
            };
        }
        let (tw, th) = ((self.width - 3) / 2, self.height);
        let mut rows = vec![0u32; tw * th * 3];
        for y in 0..th {
            for x in 0..tw {
                for c in 0..3 {
                    let p = |k: usize| u32::from(self.data[(y * self.width + 2 * x + k) * 3 + c]);
                    rows[(y * tw + x) * 3 + c] = p(0) + 4 * p(1) + 6 * p(2) + 4 * p(3) + p(4);
                }
            }
        }
        let h = (self.height - 3) / 2;
        let mut data = vec![0u8; tw * h * 3];
        for (dr, r) in (2..th.saturating_sub(2)).step_by(2).enumerate().take(h) {
            for x in 0..tw {
                for c in 0..3 {
                    let q = |k: usize| rows[(k * tw + x) * 3 + c];
                    let v = q(r - 2) + 4 * q(r - 1) + 6 * q(r) + 4 * q(r + 1) + q(r + 2);
                    data[(dr * tw + x) * 3 + c] = (v / 256) as u8;
                }
            }
        }
        Rgb {
            width: tw,
            height: h,
            data,
        }
    }

    /// The colour at a point between pixels, bilinearly (truncated, as dlib's conversion to bytes); `None` when the
    /// four pixels around it are not all in the image.
    fn bilinear(&self, x: f64, y: f64, out: &mut [u8]) -> bool {
        let (left, top) = (x.floor(), y.floor());
        if left < 0.0
            || top < 0.0
            || left + 1.0 >= self.width as f64
            || top + 1.0 >= self.height as f64
        {
            return false;
        }
        let (l, t) = (left as usize, top as usize);
        let (fx, fy) = (x - left, y - top);
        for (c, o) in out.iter_mut().enumerate() {
            let p = |xx: usize, yy: usize| f64::from(self.data[(yy * self.width + xx) * 3 + c]);
            let v = (1.0 - fy) * ((1.0 - fx) * p(l, t) + fx * p(l + 1, t))
                + fy * ((1.0 - fx) * p(l, t + 1) + fx * p(l + 1, t + 1));
            *o = v as u8;
        }
        true
    }
}

/// The `size × size` aligned face from `image`, given the five points dlib's 5-point predictor puts on it.
pub fn face_chip(image: &Rgb, points: &[(f64, f64)], size: usize, padding: f64) -> Vec<u8> {
    assert_eq!(points.len(), 5, "the five points of dlib's 5-point model");
    let s = size as f64;
    let from: Vec<(f64, f64)> = TEMPLATE
        .iter()
        .map(|(x, y)| {
            (
                (padding + x) / (2.0 * padding + 1.0) * s,
                (padding + y) / (2.0 * padding + 1.0) * s,
            )
        })
        .collect();
    // The similarity transform from the chip to the photo, by least squares (dlib's `find_similarity_transform`).
    let (a, b, shift) = crate::landmarks::similarity(&from, points);
    let transform = |x: f64, y: f64| (a * x - b * y + shift.0, b * x + a * y + shift.1);
    // The chip's place: its centre, its side in the photo and its angle (`chip_details`).
    let angle = b.atan2(a);
    let scale = (a * a + b * b).sqrt();
    let (cx, cy) = transform(s / 2.0, s / 2.0);
    let half = (s * scale - 1.0) / 2.0;
    let rect = Rect {
        l: cx - half,
        t: cy - half,
        r: cx + half,
        b: cy + half,
    };
    let chip_area = s * s;
    // How deep a pyramid, and the part of the photo around the chip it is made of (`extract_image_chips`).
    let (mut depth, mut grow) = (0usize, 2.0f64);
    let mut r = rect.down();
    while r.area() > chip_area {
        r = r.down();
        depth += 1;
        grow = grow * 2.0 + 2.0;
    }
    let c = rect.centre();
    let corners = [
        (rect.l, rect.t),
        (rect.r, rect.t),
        (rect.l, rect.b),
        (rect.r, rect.b),
    ]
    .map(|p| rotate(c, p, angle));
    let (mut l, mut t, mut rr, mut bb) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in corners {
        (l, t, rr, bb) = (l.min(x), t.min(y), rr.max(x), bb.max(y));
    }
    let (l, t) = ((l - grow).max(0.0), (t - grow).max(0.0));
    let (rr, bb) = (
        (rr + grow).min((image.width - 1) as f64),
        (bb + grow).min((image.height - 1) as f64),
    );
    let mut chip = vec![0u8; size * size * 3];
    if l > rr || t > bb {
        return chip;
    }
    // dlib rounds the part to whole pixels (`std::lround`).
    let (bl, bt, br, bb) = (
        l.round() as usize,
        t.round() as usize,
        rr.round() as usize,
        bb.round() as usize,
    );
    let part = image.crop(bl, bt, br - bl + 1, bb - bt + 1);
    let mut levels: Vec<Rgb> = Vec::with_capacity(depth);
    for i in 0..depth {
        let next = if i == 0 {
            part.pyramid_down()
        } else {
            levels[i - 1].pyramid_down()
        };
        levels.push(next);
    }
    // Which level the chip is read from, and where the chip lies there.
    let mut level: Option<usize> = None;
    let mut r = Rect {
        l: rect.l - bl as f64,
        t: rect.t - bt as f64,
        r: rect.r - bl as f64,
        b: rect.b - bt as f64,
    };
    while r.down().area() > chip_area {
        level = Some(level.map_or(0, |l| l + 1));
        r = r.down();
    }
    let source = match level {
        None => &part,
        Some(i) => levels.get(i).unwrap_or(&part),
    };
    let c = r.centre();
    let tl = rotate(c, (r.l, r.t), angle);
    let tr = rotate(c, (r.r, r.t), angle);
    let bl_ = rotate(c, (r.l, r.b), angle);
    let last = (size - 1) as f64;
    for y in 0..size {
        for x in 0..size {
            let (u, v) = (x as f64 / last, y as f64 / last);
            let px = tl.0 + u * (tr.0 - tl.0) + v * (bl_.0 - tl.0);
            let py = tl.1 + u * (tr.1 - tl.1) + v * (bl_.1 - tl.1);
            let out = &mut chip[(y * size + x) * 3..][..3];
            if !source.bilinear(px, py, out) {
                out.fill(0);
            }
        }
    }
    chip
}
