//! Latency histogram with bounded memory and percentiles.
//!
//! Values (nanoseconds) go into log-linear buckets: values below 128 are
//! exact, larger ones share a bucket with neighbours within 1/128 (0.8 %)
//! of them. 7424 counters cover the whole `u64` range, so a run of any
//! length records every message without growing.

use std::time::Duration;

/// Sub-buckets per power of two: 2^7.
const SUB_BITS: u32 = 7;
const SUB: usize = 1 << SUB_BITS;
/// 128 exact buckets, then 128 per power of two from 2^7 to 2^63.
const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;

/// A histogram of durations in nanoseconds.
#[derive(Clone)]
pub struct LatencyHistogram {
    counts: Box<[u64]>,
    total: u64,
    min: u64,
    max: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("total", &self.total)
            .field("min", &self.min)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// The bucket a value falls in.
fn bucket_of(value: u64) -> usize {
    if value < SUB as u64 {
        return value as usize;
    }
    let exponent = 63 - value.leading_zeros(); // at least SUB_BITS
    let shift = exponent - SUB_BITS;
    let sub = (value >> shift) as usize - SUB;
    SUB + shift as usize * SUB + sub
}

/// The smallest and largest value of a bucket.
fn bucket_range(bucket: usize) -> (u64, u64) {
    if bucket < SUB {
        return (bucket as u64, bucket as u64);
    }
    let shift = (bucket - SUB) / SUB;
    let sub = (bucket - SUB) % SUB;
    let low = ((SUB + sub) as u64) << shift;
    (low, low + ((1u64 << shift) - 1))
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        LatencyHistogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Record one value, in nanoseconds.
    pub fn record_ns(&mut self, value: u64) {
        self.counts[bucket_of(value)] += 1;
        self.total += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Record one duration.
    pub fn record(&mut self, latency: Duration) {
        self.record_ns(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Number of values recorded.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Largest value recorded (exact), if any.
    pub fn max_ns(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max)
    }

    /// The `p`-th percentile (0 < p ≤ 100) by the nearest-rank definition,
    /// within the bucket precision: the middle of the bucket that holds the
    /// value of rank ⌈p/100 · n⌉, kept within the exact minimum and maximum.
    /// `None` when empty.
    pub fn percentile_ns(&self, p: f64) -> Option<u64> {
        let rank = nearest_rank(self.total, p)?;
        let mut seen = 0u64;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, high) = bucket_range(bucket);
                let middle = low + (high - low) / 2;
                return Some(middle.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

/// The 1-based rank of the `p`-th percentile among `n` values (nearest-rank
/// definition: ⌈p/100 · n⌉, at least 1). `None` when `n` is 0.
pub fn nearest_rank(n: u64, p: f64) -> Option<u64> {
    if n == 0 {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let rank = (p / 100.0 * n as f64).ceil() as u64;
    Some(rank.clamp(1, n))
}

/// The exact `p`-th percentile (nearest rank) of sorted values.
pub fn percentile_of_sorted(sorted: &[u64], p: f64) -> Option<u64> {
    let rank = nearest_rank(sorted.len() as u64, p)?;
    sorted.get(rank as usize - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_definition() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile_of_sorted(&v, 50.0), Some(50));
        assert_eq!(percentile_of_sorted(&v, 99.0), Some(99));
        assert_eq!(percentile_of_sorted(&v, 100.0), Some(100));
        assert_eq!(percentile_of_sorted(&v, 0.0), Some(1));
        assert_eq!(percentile_of_sorted(&[7], 99.0), Some(7));
        assert_eq!(percentile_of_sorted(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(percentile_of_sorted(&[1, 2, 3, 4, 5], 50.0), Some(3));
        assert_eq!(percentile_of_sorted(&[], 50.0), None);
    }

    #[test]
    fn buckets_tile_the_range() {
        let mut expected_low = 0u64;
        for bucket in 0..BUCKETS {
            let (low, high) = bucket_range(bucket);
            assert_eq!(low, expected_low, "bucket {bucket}");
            assert!(high >= low);
            assert_eq!(bucket_of(low), bucket);
            assert_eq!(bucket_of(high), bucket);
            expected_low = high.wrapping_add(1);
        }
        assert_eq!(expected_low, 0, "the last bucket ends at u64::MAX");
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = LatencyHistogram::new();
        for v in 0..100u64 {
            h.record_ns(v);
        }
        assert_eq!(h.percentile_ns(50.0), Some(49));
        assert_eq!(h.percentile_ns(99.0), Some(98));
        assert_eq!(h.max_ns(), Some(99));
        assert_eq!(h.len(), 100);
    }

    #[test]
    fn histogram_matches_exact_percentiles_within_precision() {
        // A skewed, deterministic sample: mostly ~50 µs, a tail to ~20 ms.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut values = Vec::new();
        let mut h = LatencyHistogram::new();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = if state.is_multiple_of(100) {
                1_000_000 + state % 19_000_000
            } else {
                40_000 + state % 20_000
            };
            values.push(v);
            h.record_ns(v);
        }
        values.sort_unstable();
        for p in [1.0, 50.0, 90.0, 99.0, 99.9, 100.0] {
            let exact = percentile_of_sorted(&values, p).unwrap() as f64;
            let approx = h.percentile_ns(p).unwrap() as f64;
            assert!(
                (approx - exact).abs() <= exact / 128.0,
                "p{p}: {approx} vs {exact}"
            );
        }
        assert_eq!(h.max_ns(), values.last().copied());
    }

    #[test]
    fn empty_and_huge() {
        let mut h = LatencyHistogram::new();
        assert!(h.is_empty());
        assert_eq!(h.percentile_ns(50.0), None);
        h.record(Duration::from_secs(u64::MAX));
        assert_eq!(h.percentile_ns(50.0), Some(u64::MAX));
    }
}
