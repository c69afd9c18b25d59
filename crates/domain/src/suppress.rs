//! Small-count suppression: how a count, a breakdown and a median are published to those who may see only
//! aggregates (the public). A count of 1 to `STATS_SUPPRESS_BELOW - 1` is not shown; when a breakdown would hide
//! exactly one cell, its smallest other non-zero cell is hidden too, so the hidden one cannot be worked out from
//! the total; a median over too few samples is not shown. Zero is always shown (it identifies nobody). Pure.

use std::collections::BTreeMap;

use hifazat_limits as limits;

/// Whether `n` is small enough to identify someone: 1 to `STATS_SUPPRESS_BELOW - 1`.
pub fn small(n: u64) -> bool {
    (1..limits::STATS_SUPPRESS_BELOW).contains(&n)
}

/// A count as published: `None` when suppressed.
pub fn count(n: u64, suppress: bool) -> Option<u64> {
    if suppress && small(n) { None } else { Some(n) }
}

/// A breakdown as published: small cells suppressed, and when exactly one is, the smallest other non-zero cell
/// too (its value could otherwise be had from the total). Ties go to the first cell by name.
pub fn breakdown(cells: BTreeMap<String, u64>, suppress: bool) -> BTreeMap<String, Option<u64>> {
    if !suppress {
        return cells.into_iter().map(|(k, n)| (k, Some(n))).collect();
    }
    let hidden = cells.values().filter(|&&n| small(n)).count();
    let also = if hidden == 1 {
        cells
            .iter()
            .filter(|(_, n)| **n > 0 && !small(**n))
            .min_by_key(|(k, n)| (**n, (*k).clone()))
            .map(|(k, _)| k.clone())
    } else {
        None
    };
    cells
        .into_iter()
        .map(|(k, n)| {
            let out = if small(n) || also.as_deref() == Some(k.as_str()) {
                None
            } else {
                Some(n)
            };
            (k, out)
        })
        .collect()
}

/// The median of `samples` as published, and their number as published: the median is not shown with fewer than
/// `STATS_SUPPRESS_BELOW` samples (nor with none). An even number of samples takes the mean of the middle two.
pub fn median(mut samples: Vec<u64>, suppress: bool) -> (Option<u64>, Option<u64>) {
    let n = samples.len() as u64;
    if samples.is_empty() || (suppress && small(n)) {
        return (None, count(n, suppress));
    }
    samples.sort_unstable();
    let mid = samples.len() / 2;
    let median = if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        // The mean of the middle two, without overflow.
        samples[mid - 1] / 2 + samples[mid] / 2 + (samples[mid - 1] % 2 + samples[mid] % 2) / 2
    };
    (Some(median), Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
    }

    #[test]
    fn small_counts_are_hidden_and_zero_is_not() {
        assert_eq!(
            [0, 1, 4, 5, 6].map(|n| count(n, true)),
            [Some(0), None, None, Some(5), Some(6)]
        );
        assert_eq!(count(3, false), Some(3));
    }

    #[test]
    fn a_single_hidden_cell_takes_the_smallest_other_with_it() {
        let out = breakdown(cells(&[("a", 3), ("b", 9), ("c", 7), ("d", 0)]), true);
        assert_eq!(out["a"], None);
        assert_eq!(out["c"], None, "the smallest other non-zero cell");
        assert_eq!((out["b"], out["d"]), (Some(9), Some(0)));
        // Two hidden cells already hide each other.
        let out = breakdown(cells(&[("a", 3), ("b", 2), ("c", 7)]), true);
        assert_eq!((out["a"], out["b"], out["c"]), (None, None, Some(7)));
        // Ties go to the first by name.
        let out = breakdown(cells(&[("a", 1), ("b", 6), ("c", 6)]), true);
        assert_eq!((out["b"], out["c"]), (None, Some(6)));
        // Not suppressed: everything as it is.
        assert_eq!(breakdown(cells(&[("a", 1)]), false)["a"], Some(1));
    }

    #[test]
    fn a_median_needs_enough_samples() {
        assert_eq!(median(vec![], true), (None, Some(0)));
        assert_eq!(median(vec![5, 1, 3], true), (None, None));
        assert_eq!(median(vec![5, 1, 3], false), (Some(3), Some(3)));
        assert_eq!(median(vec![4, 1, 3, 2, 9, 7], true), (Some(3), Some(6)));
        assert_eq!(
            median(vec![u64::MAX, u64::MAX - 1], false),
            (Some(u64::MAX - 1), Some(2))
        );
    }
}
