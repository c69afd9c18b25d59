//! How well matching works on a node's own photos: from distances between pairs of photos known to be of the same
//! child and pairs known to be of different children, the threshold that keeps the false-match rate at a stated
//! level, and the share of true pairs matched at it. The models were trained on adults and are weaker on
//! children, so the threshold is set from local data rather than taken from dlib's adult benchmark.

/// The threshold for a false-match rate, and what it gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Pairs of one child, and of different children, measured.
    pub same_pairs: usize,
    pub different_pairs: usize,
    /// The false-match rate asked for, and the one reached (no more than asked).
    pub false_match_rate: f64,
    pub reached_false_match_rate: f64,
    /// Distances under this are matches.
    pub threshold: f32,
    /// The share of same-child pairs under the threshold.
    pub true_match_rate: f64,
}

/// The evaluation at `false_match_rate` (0 to 1), or `None` without pairs of both kinds.
pub fn evaluate(same: &[f32], different: &[f32], false_match_rate: f64) -> Option<Evaluation> {
    if same.is_empty() || different.is_empty() || !(0.0..=1.0).contains(&false_match_rate) {
        return None;
    }
    let mut diff: Vec<f32> = different
        .iter()
        .copied()
        .filter(|d| d.is_finite())
        .collect();
    diff.sort_by(f32::total_cmp);
    // The most different-child pairs allowed under the threshold, and the threshold that lets exactly those in
    // (distances under it match): the next different pair's distance.
    let allowed = (false_match_rate * diff.len() as f64).floor() as usize;
    let threshold = diff.get(allowed).copied().unwrap_or(f32::INFINITY);
    let false_matches = diff.iter().filter(|d| **d < threshold).count();
    let true_matches = same.iter().filter(|d| **d < threshold).count();
    Some(Evaluation {
        same_pairs: same.len(),
        different_pairs: diff.len(),
        false_match_rate,
        reached_false_match_rate: false_matches as f64 / diff.len() as f64,
        threshold,
        true_match_rate: true_matches as f64 / same.len() as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded generator of numbers in [0, 1).
    fn uniform(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn synthetic_embeddings_give_the_rates_they_were_made_with() {
        // Synthetic faces: each child a random point; their photos the point plus noise. Same-child distances then
        // come out small, different-child ones large, as with a real model.
        let mut seed = 42;
        let mut point = || -> Vec<f32> { (0..16).map(|_| uniform(&mut seed) as f32).collect() };
        let children: Vec<Vec<f32>> = (0..60).map(|_| point()).collect();
        let mut seed2 = 7;
        let mut photo = |c: &Vec<f32>, noise: f64| -> Vec<f32> {
            c.iter()
                .map(|v| v + ((uniform(&mut seed2) - 0.5) * noise) as f32)
                .collect()
        };
        let dist = |a: &Vec<f32>, b: &Vec<f32>| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f32>()
                .sqrt()
        };
        let photos: Vec<(Vec<f32>, Vec<f32>)> = children
            .iter()
            .map(|c| (photo(c, 0.3), photo(c, 0.3)))
            .collect();
        let same: Vec<f32> = photos.iter().map(|(a, b)| dist(a, b)).collect();
        let mut different = Vec::new();
        for i in 0..photos.len() {
            for j in i + 1..photos.len() {
                different.push(dist(&photos[i].0, &photos[j].1));
            }
        }
        let e = evaluate(&same, &different, 0.001).unwrap();
        assert_eq!((e.same_pairs, e.different_pairs), (60, 1770));
        assert!(e.reached_false_match_rate <= 0.001, "{e:?}");
        assert!(e.true_match_rate > 0.95, "{e:?}");
        // Asking for no false match at all keeps every different pair out.
        let strict = evaluate(&same, &different, 0.0).unwrap();
        assert_eq!(strict.reached_false_match_rate, 0.0);
        assert!(strict.threshold <= different.iter().copied().fold(f32::INFINITY, f32::min));
        // A looser rate never lowers the true-match rate.
        let loose = evaluate(&same, &different, 0.05).unwrap();
        assert!(loose.true_match_rate >= e.true_match_rate && loose.threshold >= e.threshold);
        assert_eq!(evaluate(&[], &different, 0.01), None);
        assert_eq!(evaluate(&same, &different, 1.5), None);
    }
}
