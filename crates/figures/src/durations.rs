//! Durations kept for medians without keeping every sample: a count per bucket, each bucket 2 % wider than the
//! one before, so a median read from the buckets is within 1 % of the true one (under a second, within half a
//! second); and the samples themselves while there are few, so a small set's median is exact.

/// Samples kept exactly, at most, in one set (a cell of the aggregates, or a query's sum of cells).
pub const EXACT_MAX: usize = 32;
/// Each bucket's upper bound over its lower bound.
pub const BUCKET_RATIO: f64 = 1.02;
/// A median read from the buckets is within this share of the true median (half a bucket, geometrically), or
/// within `SUB_SECOND_ERROR_MS` of it under a second.
pub const MEDIAN_RELATIVE_ERROR: f64 = 0.01;
pub const SUB_SECOND_ERROR_MS: u64 = 500;

/// The bucket of a duration: 0 below a second, then `1 + floor(log_1.02(ms / 1000))`.
pub fn bucket(ms: u64) -> u32 {
    if ms < 1_000 {
        return 0;
    }
    1 + ((ms as f64 / 1_000.0).ln() / BUCKET_RATIO.ln()).floor() as u32
}

/// The duration a bucket stands for: the geometric middle of its bounds (half a second for bucket 0).
fn middle(bucket: u32) -> u64 {
    if bucket == 0 {
        return 500;
    }
    (1_000.0 * BUCKET_RATIO.powf(f64::from(bucket) - 0.5)).round() as u64
}

/// A multiset of durations in milliseconds: the samples themselves while few, then counts per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durations {
    n: u64,
    /// Every sample, sorted, while the set has never held more than `EXACT_MAX` (a query's sum: while the parts
    /// together hold no more); then `None`, and the buckets hold them.
    exact: Option<Vec<u64>>,
    /// Samples per bucket, sorted by bucket, with no zero counts; empty while the samples are kept.
    buckets: Vec<(u32, u32)>,
}

impl Default for Durations {
    fn default() -> Durations {
        Durations {
            n: 0,
            exact: Some(Vec::new()),
            buckets: Vec::new(),
        }
    }
}

/// A set's samples as stored: the samples themselves (`Ok`) or their buckets.
pub(crate) type Parts<'a> = Result<&'a [u64], &'a [(u32, u32)]>;

/// Adds `n` samples to `bucket` in a sorted bucket list.
fn bucket_add(buckets: &mut Vec<(u32, u32)>, bucket: u32, n: u32) {
    match buckets.binary_search_by_key(&bucket, |(b, _)| *b) {
        Ok(i) => buckets[i].1 += n,
        Err(i) => buckets.insert(i, (bucket, n)),
    }
}

/// Sorted samples as a bucket list.
fn bucketed(samples: &[u64]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for s in samples {
        let b = bucket(*s);
        match out.last_mut() {
            Some((last, n)) if *last == b => *n += 1,
            _ => out.push((b, 1)),
        }
    }
    out
}

impl Durations {
    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Whether the median is exact.
    pub fn is_exact(&self) -> bool {
        self.exact.is_some()
    }

    /// Stops keeping the samples: from now on only their buckets.
    fn forget_samples(&mut self) {
        if let Some(samples) = self.exact.take() {
            self.buckets = bucketed(&samples);
        }
    }

    pub fn add(&mut self, ms: u64) {
        self.n += 1;
        if let Some(samples) = &mut self.exact {
            if samples.len() < EXACT_MAX {
                let at = samples.partition_point(|s| *s <= ms);
                samples.insert(at, ms);
                return;
            }
            self.forget_samples();
        }
        bucket_add(&mut self.buckets, bucket(ms), 1);
    }

    /// Takes away one sample of `ms`, which must be there: the aggregates take away only what they added.
    pub fn remove(&mut self, ms: u64) {
        self.n = self
            .n
            .checked_sub(1)
            .expect("a duration taken away was added");
        if let Some(samples) = &mut self.exact {
            let at = samples
                .binary_search(&ms)
                .expect("a duration taken away was added");
            samples.remove(at);
            return;
        }
        let b = bucket(ms);
        let i = self
            .buckets
            .binary_search_by_key(&b, |(k, _)| *k)
            .expect("a duration taken away was added");
        self.buckets[i].1 -= 1;
        if self.buckets[i].1 == 0 {
            self.buckets.remove(i);
        }
    }

    /// Adds another set's samples (for a query's sum over cells). The sum keeps the samples only while both
    /// parts did and they are together no more than `EXACT_MAX`.
    pub fn merge(&mut self, other: &Durations) {
        self.n += other.n;
        if let (Some(mine), Some(theirs)) = (&mut self.exact, &other.exact)
            && mine.len() + theirs.len() <= EXACT_MAX
        {
            let mut merged = Vec::with_capacity(mine.len() + theirs.len());
            let (mut a, mut b) = (mine.iter().peekable(), theirs.iter().peekable());
            while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
                if x <= y {
                    merged.push(*a.next().expect("peeked"));
                } else {
                    merged.push(*b.next().expect("peeked"));
                }
            }
            merged.extend(a);
            merged.extend(b);
            *mine = merged;
            return;
        }
        self.forget_samples();
        match &other.exact {
            Some(samples) => {
                for s in samples {
                    bucket_add(&mut self.buckets, bucket(*s), 1);
                }
            }
            None => {
                for (b, n) in &other.buckets {
                    bucket_add(&mut self.buckets, *b, *n);
                }
            }
        }
    }

    /// The median: exact while the samples are kept, else read from the buckets (within
    /// `MEDIAN_RELATIVE_ERROR`). An even number of samples takes the mean of the middle two. `None` when empty.
    pub fn median(&self) -> Option<u64> {
        if self.n == 0 {
            return None;
        }
        let (lo, hi) = ((self.n - 1) / 2, self.n / 2);
        let (a, b) = match &self.exact {
            Some(samples) => (samples[lo as usize], samples[hi as usize]),
            None => (self.at_rank(lo), self.at_rank(hi)),
        };
        // The mean of the two, without overflow.
        Some(a / 2 + b / 2 + (a % 2 + b % 2) / 2)
    }

    /// The sample of rank `rank` (from 0), as its bucket's middle.
    fn at_rank(&self, rank: u64) -> u64 {
        let mut seen = 0;
        for (b, n) in &self.buckets {
            seen += u64::from(*n);
            if seen > rank {
                return middle(*b);
            }
        }
        unreachable!("rank {rank} of {} samples", self.n)
    }

    /// Whether two sets hold the same samples, as far as each still knows them: the same count in every bucket,
    /// and the same samples where both kept them. (A set that once had more than `EXACT_MAX` no longer keeps its
    /// samples, while one built afresh from the same samples may.)
    pub fn same_samples(&self, other: &Durations) -> bool {
        let buckets = |d: &Durations| match &d.exact {
            Some(samples) => bucketed(samples),
            None => d.buckets.clone(),
        };
        self.n == other.n
            && match (&self.exact, &other.exact) {
                (Some(a), Some(b)) => a == b,
                _ => buckets(self) == buckets(other),
            }
    }

    /// The parts as stored: the count, then the samples or the buckets.
    pub(crate) fn parts(&self) -> (u64, Parts<'_>) {
        match &self.exact {
            Some(samples) => (self.n, Ok(samples)),
            None => (self.n, Err(&self.buckets)),
        }
    }

    /// A set from its stored parts, or `None` when they do not agree (unsorted, zero counts, a count that does not
    /// add up, more samples than are kept).
    pub(crate) fn from_parts(
        n: u64,
        parts: Result<Vec<u64>, Vec<(u32, u32)>>,
    ) -> Option<Durations> {
        match parts {
            Ok(samples) => {
                (samples.len() as u64 == n && samples.len() <= EXACT_MAX && samples.is_sorted())
                    .then_some(Durations {
                        n,
                        exact: Some(samples),
                        buckets: Vec::new(),
                    })
            }
            Err(buckets) => (buckets.iter().map(|(_, c)| u64::from(*c)).sum::<u64>() == n
                && buckets.iter().all(|(_, c)| *c > 0)
                && buckets.windows(2).all(|w| w[0].0 < w[1].0))
            .then_some(Durations {
                n,
                exact: None,
                buckets,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn exact_median(mut v: Vec<u64>) -> u64 {
        v.sort_unstable();
        let (a, b) = (v[(v.len() - 1) / 2], v[v.len() / 2]);
        a / 2 + b / 2 + (a % 2 + b % 2) / 2
    }

    #[test]
    fn buckets_grow_by_two_percent() {
        assert_eq!((bucket(0), bucket(999), bucket(1_000)), (0, 0, 1));
        for b in 1..1_200 {
            let m = middle(b);
            assert_eq!(bucket(m), b, "the middle of bucket {b} is in it");
        }
    }

    #[test]
    fn a_small_set_is_exact() {
        let mut d = Durations::default();
        for ms in [5_000, 1_000, 3_000] {
            d.add(ms);
        }
        assert_eq!(d.median(), Some(3_000));
        d.add(4_000);
        assert_eq!(d.median(), Some(3_500));
        d.remove(1_000);
        assert_eq!((d.median(), d.len()), (Some(4_000), 3));
        assert!(d.is_exact());
    }

    proptest! {
        /// Past `EXACT_MAX` samples the median comes from the buckets, within the stated error.
        #[test]
        fn a_large_set_is_within_the_stated_error(samples in prop::collection::vec(0u64..2_000_000_000, 33..400)) {
            let mut d = Durations::default();
            for s in &samples {
                d.add(*s);
            }
            prop_assert!(!d.is_exact());
            let truth = exact_median(samples.clone());
            let got = d.median().unwrap();
            let allowed = (truth as f64 * MEDIAN_RELATIVE_ERROR).max(SUB_SECOND_ERROR_MS as f64) + 1.0;
            prop_assert!((got as f64 - truth as f64).abs() <= allowed, "{got} for {truth}");
        }

        /// Adding and taking away leave the buckets as a set built from what remains.
        #[test]
        fn taking_away_undoes_adding(samples in prop::collection::vec(0u64..100_000_000, 0..80), keep in 0usize..80) {
            let mut d = Durations::default();
            for s in &samples {
                d.add(*s);
            }
            let keep = keep.min(samples.len());
            for s in &samples[keep..] {
                d.remove(*s);
            }
            let mut fresh = Durations::default();
            for s in &samples[..keep] {
                fresh.add(*s);
            }
            prop_assert!(d.same_samples(&fresh));
            if d.is_exact() {
                prop_assert_eq!(d.median(), fresh.median());
            }
        }
    }
}
