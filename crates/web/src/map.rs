//! The map of Pakistan the statistics page draws as inline SVG: the provinces and territories from Natural Earth's
//! admin-1 outlines (`assets/map/`, public domain; indicative, not official boundaries), with the former tribal
//! areas merged into Khyber Pakhtunkhwa, projected, simplified and turned into SVG paths once, the first time a
//! map is drawn. No tiles and no map library: the page's SVG is all there is.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

/// Each outline file with the topology's code of the province it is (two files are Khyber Pakhtunkhwa).
const SOURCES: [(&str, &str); 8] = [
    ("PB", include_str!("../assets/map/PK-PB.json")),
    ("SD", include_str!("../assets/map/PK-SD.json")),
    ("KP", include_str!("../assets/map/PK-NW.json")),
    ("KP", include_str!("../assets/map/PK-TA.json")),
    ("BA", include_str!("../assets/map/PK-BA.json")),
    ("IS", include_str!("../assets/map/PK-IS.json")),
    ("GB", include_str!("../assets/map/PK-NA.json")),
    ("AK", include_str!("../assets/map/PK-JK.json")),
];

/// The drawing's width in SVG units; its height follows from the projection.
pub const WIDTH: f64 = 600.0;
/// Points closer than this (in SVG units, about a pixel of the drawing at its full width) to the simplified line
/// are dropped.
const SIMPLIFY_TOLERANCE: f64 = 0.5;
/// Coordinates are compared after rounding to this many parts of a degree (about a metre), so the vertices two
/// neighbouring outlines share are recognised as the same.
const QUANTUM: f64 = 1e5;

#[derive(Deserialize)]
struct Feature {
    geometry: Geometry,
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geometry {
    Polygon(Vec<Vec<[f64; 2]>>),
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
}

/// A ring of (longitude, latitude) points, not repeating its first point at the end.
type Ring = Vec<(f64, f64)>;
/// A point rounded to [`QUANTUM`], and an edge between two.
type Key = (i64, i64);
type Edge = (Key, Key);

/// One province or territory as drawn.
#[derive(Debug)]
pub struct Area {
    /// The topology's province code.
    pub code: &'static str,
    /// The SVG path, in the drawing's units.
    pub d: String,
    /// Its outline in degrees (merged, not simplified), for testing places against it.
    rings: Vec<Ring>,
}

/// The drawing: its size and areas, and the projection that places a point on it.
#[derive(Debug)]
pub struct Map {
    pub width: f64,
    pub height: f64,
    pub areas: Vec<Area>,
    west: f64,
    north: f64,
    /// Longitude is shortened by the cosine of the middle latitude, so shapes keep their proportions.
    shrink: f64,
    scale: f64,
}

/// The map, built the first time it is asked for.
pub fn map() -> &'static Map {
    static MAP: OnceLock<Map> = OnceLock::new();
    MAP.get_or_init(build)
}

fn rings_of(json: &str) -> Vec<Ring> {
    // The files are compiled in and checked by this crate's tests: a file that does not parse is a build defect.
    let feature: Feature = serde_json::from_str(json).expect("a committed outline parses");
    let polygons = match feature.geometry {
        Geometry::Polygon(p) => vec![p],
        Geometry::MultiPolygon(ps) => ps,
    };
    polygons
        .into_iter()
        .flatten()
        .map(|ring| {
            let mut ring: Ring = ring.into_iter().map(|[lon, lat]| (lon, lat)).collect();
            if ring.len() > 1 && ring.first() == ring.last() {
                ring.pop();
            }
            ring
        })
        .filter(|ring| ring.len() >= 3)
        .collect()
}

fn signed_area(ring: &Ring) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f64>()
        / 2.0
}

fn key(p: (f64, f64)) -> Key {
    (
        (p.0 * QUANTUM).round() as i64,
        (p.1 * QUANTUM).round() as i64,
    )
}

/// The rings of neighbouring outlines merged into one area: every ring turned anticlockwise, then each edge that
/// two rings share (run one way by one and the other way by the other) dropped, and what is left chained back
/// into rings. Rings that share nothing come back as they were.
fn merge(rings: Vec<Ring>) -> Vec<Ring> {
    if rings.len() < 2 {
        return rings;
    }
    let mut points: HashMap<Key, (f64, f64)> = HashMap::new();
    let mut edges: Vec<Edge> = Vec::new();
    for mut ring in rings {
        if signed_area(&ring) < 0.0 {
            ring.reverse();
        }
        let n = ring.len();
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            points.insert(key(a), a);
            points.insert(key(b), b);
            if key(a) != key(b) {
                edges.push((key(a), key(b)));
            }
        }
    }
    let mut count: HashMap<Edge, usize> = HashMap::new();
    for e in &edges {
        *count.entry(*e).or_default() += 1;
    }
    let kept: Vec<_> = edges
        .iter()
        .filter(|(a, b)| !count.contains_key(&(*b, *a)))
        .copied()
        .collect();
    // Chain the kept edges: from each point, the edges leaving it, in the order they were found.
    let mut leaving: BTreeMap<Key, Vec<Key>> = BTreeMap::new();
    for (a, b) in &kept {
        leaving.entry(*a).or_default().push(*b);
    }
    let mut out = Vec::new();
    for (start, _) in &kept {
        if leaving.get(start).is_none_or(Vec::is_empty) {
            continue;
        }
        let mut ring = Vec::new();
        let mut at = *start;
        while let Some(next) = leaving.get_mut(&at).and_then(Vec::pop) {
            ring.push(points[&at]);
            at = next;
            if at == *start {
                break;
            }
        }
        if ring.len() >= 3 {
            out.push(ring);
        }
    }
    out
}

/// Douglas–Peucker on an open line: the points kept, first and last always.
fn simplify(line: &[(f64, f64)], tolerance: f64, keep: &mut Vec<(f64, f64)>) {
    let (Some(&first), Some(&last)) = (line.first(), line.last()) else {
        return;
    };
    let (dx, dy) = (last.0 - first.0, last.1 - first.1);
    let length = (dx * dx + dy * dy).sqrt();
    let distance = |p: (f64, f64)| {
        if length == 0.0 {
            ((p.0 - first.0).powi(2) + (p.1 - first.1).powi(2)).sqrt()
        } else {
            ((p.0 - first.0) * dy - (p.1 - first.1) * dx).abs() / length
        }
    };
    let farthest = line
        .iter()
        .enumerate()
        .skip(1)
        .take(line.len().saturating_sub(2))
        .map(|(i, p)| (i, distance(*p)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match farthest {
        Some((i, d)) if d > tolerance => {
            simplify(&line[..=i], tolerance, keep);
            keep.pop();
            simplify(&line[i..], tolerance, keep);
        }
        _ => {
            keep.push(first);
            if line.len() > 1 {
                keep.push(last);
            }
        }
    }
}

fn build() -> Map {
    let mut by_code: BTreeMap<&'static str, Vec<Ring>> = BTreeMap::new();
    for (code, json) in SOURCES {
        by_code.entry(code).or_default().extend(rings_of(json));
    }
    let all = || by_code.values().flatten().flatten();
    let west = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let east = all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let north = all().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let south = all().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let shrink = ((north + south) / 2.0).to_radians().cos();
    let scale = WIDTH / ((east - west) * shrink);
    let mut map = Map {
        width: WIDTH,
        height: ((north - south) * scale).ceil(),
        areas: Vec::new(),
        west,
        north,
        shrink,
        scale,
    };
    // Provinces first in the order of the sources (the topology's), so the drawing's order is stable.
    let mut order: Vec<&'static str> = Vec::new();
    for (code, _) in SOURCES {
        if !order.contains(&code) {
            order.push(code);
        }
    }
    for code in order {
        let rings = merge(by_code.remove(code).unwrap_or_default());
        let mut d = String::new();
        for ring in &rings {
            let mut projected: Vec<(f64, f64)> = ring
                .iter()
                .map(|&(lon, lat)| map.project(lat, lon))
                .collect();
            projected.push(projected[0]);
            let mut kept = Vec::new();
            simplify(&projected, SIMPLIFY_TOLERANCE, &mut kept);
            kept.pop();
            if kept.len() < 3 {
                continue;
            }
            for (i, (x, y)) in kept.iter().enumerate() {
                d.push_str(if i == 0 { "M" } else { "L" });
                d.push_str(&format!("{x:.1} {y:.1}"));
            }
            d.push('Z');
        }
        map.areas.push(Area { code, d, rings });
    }
    map
}

impl Map {
    /// Where (`lat`, `lon`) falls on the drawing.
    pub fn project(&self, lat: f64, lon: f64) -> (f64, f64) {
        (
            (lon - self.west) * self.shrink * self.scale,
            (self.north - lat) * self.scale,
        )
    }

    /// The area of province `code`.
    pub fn area(&self, code: &str) -> Option<&Area> {
        self.areas.iter().find(|a| a.code == code)
    }
}

impl Area {
    /// Whether (`lat`, `lon`) is inside this area's outline (even-odd rule).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let mut inside = false;
        for ring in &self.rings {
            let n = ring.len();
            for i in 0..n {
                let ((xi, yi), (xj, yj)) = (ring[i], ring[(i + n - 1) % n]);
                if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// How far (`lat`, `lon`) is from this area's outline, in kilometres (near enough at these latitudes).
    pub fn distance_km(&self, lat: f64, lon: f64) -> f64 {
        let shrink = lat.to_radians().cos();
        let mut best = f64::INFINITY;
        for ring in &self.rings {
            let n = ring.len();
            for i in 0..n {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                let (ax, ay) = ((a.0 - lon) * shrink, a.1 - lat);
                let (bx, by) = ((b.0 - lon) * shrink, b.1 - lat);
                let (dx, dy) = (bx - ax, by - ay);
                let along = dx * dx + dy * dy;
                let t = if along == 0.0 {
                    0.0
                } else {
                    (-(ax * dx + ay * dy) / along).clamp(0.0, 1.0)
                };
                let (px, py) = (ax + t * dx, ay + t * dy);
                best = best.min((px * px + py * py).sqrt() * 111.2);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_province_and_territory_is_drawn_and_the_tribal_areas_are_part_of_khyber_pakhtunkhwa() {
        let m = map();
        let codes: Vec<&str> = m.areas.iter().map(|a| a.code).collect();
        assert_eq!(codes, ["PB", "SD", "KP", "BA", "IS", "GB", "AK"]);
        for a in &m.areas {
            assert!(a.d.starts_with('M') && a.d.ends_with('Z'), "{}", a.code);
        }
        // Merged: one outline, the border between the two files gone. Peshawar (in the old province) and
        // Miranshah (in the old tribal areas) are both inside it.
        let kp = m.area("KP").unwrap();
        assert_eq!(kp.rings.len(), 1, "one outline");
        assert!(kp.contains(34.0151, 71.5249) && kp.contains(33.0, 70.07));
        // Sindh's outline has its islands.
        assert!(m.area("SD").unwrap().rings.len() >= 2);
        // Within its box, and small enough for a page: a few tens of kilobytes for every path together.
        let bytes: usize = m.areas.iter().map(|a| a.d.len()).sum();
        assert!(bytes < 40_000, "{bytes} bytes of paths");
        let (x, y) = m.project(31.5497, 74.3436);
        assert!((0.0..=m.width).contains(&x) && (0.0..=m.height).contains(&y));
    }

    #[test]
    fn every_district_headquarters_is_in_its_province_on_the_map() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../topology/pakistan.toml");
        let topology = hifazat_topology::Topology::load(std::path::Path::new(path)).unwrap();
        let m = map();
        for d in &topology.districts {
            let area = m.area(&d.province).unwrap();
            // Inside, or on the coast or a border within a few kilometres of it (the outlines are indicative:
            // Keamari's port and Darel's valley are within about a kilometre of theirs).
            assert!(
                area.contains(d.lat, d.lon) || area.distance_km(d.lat, d.lon) < 3.0,
                "{} ({}, {}) is {:.1} km outside {}",
                d.code,
                d.lat,
                d.lon,
                area.distance_km(d.lat, d.lon),
                d.province
            );
        }
    }

    #[test]
    fn merging_drops_the_shared_edge_only() {
        // Two unit squares side by side, one clockwise: one rectangle of six corners.
        let left = vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
        let right = vec![(1.0, 0.0), (1.0, 1.0), (2.0, 1.0), (2.0, 0.0)];
        let merged = merge(vec![left.clone(), right]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].len(), 6);
        assert!((signed_area(&merged[0]) - 2.0).abs() < 1e-9);
        // Apart, nothing changes.
        let far = vec![(5.0, 5.0), (6.0, 5.0), (6.0, 6.0)];
        assert_eq!(merge(vec![left, far]).len(), 2);
    }

    #[test]
    fn simplifying_keeps_the_corners() {
        let line = vec![(0.0, 0.0), (1.0, 0.1), (2.0, 0.0), (2.0, 5.0), (0.0, 5.0)];
        let mut kept = Vec::new();
        simplify(&line, 0.5, &mut kept);
        assert_eq!(kept, vec![(0.0, 0.0), (2.0, 0.0), (2.0, 5.0), (0.0, 5.0)]);
    }
}
