//! Is a point inside Pakistan? A coarse outline (including Gilgit-Baltistan and Azad Jammu & Kashmir), drawn a few
//! kilometres outside the border so that no real place near it is refused. It catches swapped latitude and
//! longitude, points in neighbouring countries' cities and points at sea; it is not a survey-grade boundary.

/// Outline vertices as (latitude, longitude) in degrees, clockwise from the Iranian border at the coast.
const OUTLINE: &[(f64, f64)] = &[
    (24.95, 61.55),
    (26.60, 63.20),
    (27.30, 63.35),
    (28.20, 62.75),
    (28.90, 61.60),
    (29.88, 60.84),
    (29.50, 62.50),
    (29.45, 64.20),
    (29.95, 66.30),
    (31.00, 66.30),
    (31.35, 67.00),
    (31.60, 67.85),
    (31.95, 69.05),
    (32.55, 69.30),
    (33.05, 69.60),
    (33.70, 69.80),
    (34.05, 69.95),
    (34.05, 70.90),
    (34.45, 71.05),
    (34.95, 71.10),
    (35.55, 71.40),
    (36.05, 71.10),
    (36.55, 71.50),
    (36.95, 72.40),
    (37.10, 73.80),
    (37.10, 74.60),
    (36.95, 75.45),
    (36.60, 75.95),
    (36.00, 76.35),
    (35.70, 77.05),
    (35.50, 77.85),
    (35.00, 76.60),
    (34.75, 75.80),
    (34.90, 75.00),
    (34.50, 74.30),
    (34.20, 73.95),
    (33.80, 74.25),
    (33.40, 74.15),
    (33.00, 74.35),
    (32.80, 74.50),
    (32.55, 74.70),
    (32.40, 75.40),
    (32.00, 75.20),
    (31.60, 74.62),
    (31.10, 74.65),
    (30.40, 73.95),
    (29.90, 73.45),
    (29.00, 72.95),
    (28.50, 72.15),
    (27.90, 71.00),
    (27.70, 70.60),
    (26.50, 70.20),
    (25.60, 70.60),
    (24.70, 71.15),
    (24.25, 71.15),
    (24.00, 70.00),
    (23.70, 68.80),
    (23.60, 68.15),
    (24.10, 67.30),
    (24.65, 66.60),
    (25.15, 66.15),
    (25.15, 65.00),
    (25.05, 63.50),
    (24.95, 62.30),
];

/// The outline's bounding box: (southmost latitude, northmost latitude, westmost longitude, eastmost longitude).
pub fn bounds() -> (f64, f64, f64, f64) {
    OUTLINE.iter().fold(
        (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
        |(s, n, w, e), &(lat, lon)| (s.min(lat), n.max(lat), w.min(lon), e.max(lon)),
    )
}

/// Whether (`lat`, `lon`) lies inside the outline (even-odd rule).
pub fn inside_pakistan(lat: f64, lon: f64) -> bool {
    if !lat.is_finite() || !lon.is_finite() {
        return false;
    }
    let mut inside = false;
    let mut previous = OUTLINE[OUTLINE.len() - 1];
    for &(yi, xi) in OUTLINE {
        let (yj, xj) = previous;
        if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        previous = (yi, xi);
    }
    inside
}

/// Validates a coordinate pair, naming which of the two is wrong where that can be told.
pub fn coordinates(lat: f64, lon: f64) -> Result<(f64, f64), String> {
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err("latitude must be within -90..90 and longitude within -180..180".into());
    }
    if inside_pakistan(lat, lon) {
        return Ok((lat, lon));
    }
    if inside_pakistan(lon, lat) {
        return Err("is outside Pakistan; latitude and longitude look swapped".into());
    }
    Err(format!("({lat}, {lon}) is outside Pakistan"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cities_inside() {
        for (name, lat, lon) in [
            ("Lahore", 31.5497, 74.3436),
            ("Karachi", 24.8607, 67.0011),
            ("Quetta", 30.1798, 66.9750),
            ("Peshawar", 34.0151, 71.5249),
            ("Gwadar", 25.1264, 62.3225),
            ("Gilgit", 35.9208, 74.3144),
            ("Skardu", 35.2971, 75.6333),
            ("Muzaffarabad", 34.3700, 73.4711),
            ("Sialkot", 32.4945, 74.5229),
            ("Chaman", 30.9210, 66.4597),
            ("Nagarparkar", 24.3566, 70.7547),
            ("Parachinar", 33.8991, 70.1008),
            ("Chitral", 35.8518, 71.7864),
            ("Taftan", 28.9650, 61.5950),
        ] {
            assert!(inside_pakistan(lat, lon), "{name} should be inside");
        }
    }

    #[test]
    fn neighbours_outside() {
        for (name, lat, lon) in [
            ("Amritsar", 31.6340, 74.8723),
            ("Delhi", 28.6139, 77.2090),
            ("Jaisalmer", 26.9157, 70.9083),
            ("Srinagar", 34.0837, 74.7973),
            ("Jammu", 32.7266, 74.8570),
            ("Kabul", 34.5553, 69.2075),
            ("Kandahar", 31.6289, 65.7372),
            ("Zahedan", 29.4963, 60.8629),
            ("Dubai", 25.2048, 55.2708),
            ("Arabian Sea", 23.0, 65.0),
        ] {
            assert!(!inside_pakistan(lat, lon), "{name} should be outside");
        }
    }

    #[test]
    fn swapped_and_bad_values() {
        assert!(
            coordinates(74.3436, 31.5497)
                .unwrap_err()
                .contains("swapped")
        );
        assert!(coordinates(f64::NAN, 70.0).is_err());
        assert!(coordinates(95.0, 70.0).unwrap_err().contains("-90..90"));
        assert!(
            coordinates(0.0, 0.0)
                .unwrap_err()
                .contains("outside Pakistan")
        );
    }
}
