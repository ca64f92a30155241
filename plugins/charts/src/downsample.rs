//! A line of any length in bounded memory. Points go into at most
//! `capacity` buckets of consecutive points; each bucket keeps its first,
//! last, lowest and highest point, so the drawn line keeps its envelope
//! (spikes survive) however far it is thinned. When every bucket is full the
//! neighbours are merged pairwise and each bucket takes twice as many
//! points from then on.

use serde::{Deserialize, Serialize};

/// An (x, y) point; serialised as `[x, y]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point(pub f64, pub f64);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub count: u64,
    pub first: Point,
    pub last: Point,
    pub min: Point,
    pub max: Point,
}

impl Bucket {
    fn new(p: Point) -> Self {
        Bucket { count: 1, first: p, last: p, min: p, max: p }
    }

    fn add(&mut self, p: Point) {
        self.count += 1;
        self.last = p;
        // Strict comparisons keep the earliest of equal extremes.
        if p.1 < self.min.1 {
            self.min = p;
        }
        if p.1 > self.max.1 {
            self.max = p;
        }
    }

    fn merge(&self, next: &Bucket) -> Bucket {
        Bucket {
            count: self.count + next.count,
            first: self.first,
            last: next.last,
            min: if next.min.1 < self.min.1 { next.min } else { self.min },
            max: if next.max.1 > self.max.1 { next.max } else { self.max },
        }
    }

    /// The bucket's distinct summary points in x order.
    fn summary(&self, out: &mut Vec<[f64; 2]>) {
        if self.count == 1 {
            out.push([self.first.0, self.first.1]);
            return;
        }
        let mut points = [self.first, self.min, self.max, self.last];
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let start = out.len();
        for p in points {
            if !out[start..].contains(&[p.0, p.1]) {
                out.push([p.0, p.1]);
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Downsampler {
    capacity: usize,
    /// Points per bucket; every bucket but the last is full.
    span: u64,
    buckets: Vec<Bucket>,
    total: u64,
}

impl Downsampler {
    pub fn new(capacity: usize) -> Self {
        Downsampler { capacity: capacity.max(2), span: 1, buckets: Vec::new(), total: 0 }
    }

    pub fn push(&mut self, p: Point) {
        self.total += 1;
        if self.add_to_last(p) {
            return;
        }
        if self.buckets.len() >= self.capacity {
            self.halve();
            if self.add_to_last(p) {
                return;
            }
        }
        self.buckets.push(Bucket::new(p));
    }

    fn add_to_last(&mut self, p: Point) -> bool {
        match self.buckets.last_mut() {
            Some(last) if last.count < self.span => {
                last.add(p);
                true
            }
            _ => false,
        }
    }

    /// Merges neighbouring buckets pairwise: half the buckets, twice the span.
    fn halve(&mut self) {
        let merged: Vec<Bucket> = self
            .buckets
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => a.merge(b),
                [a] => a.clone(),
                _ => unreachable!("chunks(2) yields one or two buckets"),
            })
            .collect();
        self.buckets = merged;
        self.span = self.span.saturating_mul(2);
    }

    /// Adopts a new capacity (a restyled chart), merging until it fits.
    /// Also repairs a hand-edited state's span.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(2);
        self.span = self.span.max(1);
        while self.buckets.len() > self.capacity {
            self.halve();
        }
    }

    /// Points received so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Points per bucket at the current resolution.
    pub fn span(&self) -> u64 {
        self.span
    }

    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// The summary points of every bucket, sorted by x (stable, so points
    /// that arrived in x order stay in arrival order).
    pub fn points(&self) -> Vec<[f64; 2]> {
        let mut out = Vec::with_capacity(self.buckets.len() * 4);
        for bucket in &self.buckets {
            bucket.summary(&mut out);
        }
        if !out.is_sorted_by(|a, b| a[0] <= b[0]) {
            out.sort_by(|a, b| a[0].total_cmp(&b[0]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_point_below_capacity() {
        let mut d = Downsampler::new(16);
        for i in 0..16 {
            d.push(Point(i as f64, (i * i) as f64));
        }
        assert_eq!(d.span(), 1);
        let expected: Vec<[f64; 2]> = (0..16).map(|i| [i as f64, (i * i) as f64]).collect();
        assert_eq!(d.points(), expected);
    }

    #[test]
    fn stays_bounded_and_keeps_the_envelope() {
        let mut d = Downsampler::new(16);
        let n = 1_000_000u64;
        for i in 0..n {
            // A sawtooth with one big spike and one deep dip.
            let y = match i {
                123_456 => 1000.0,
                654_321 => -1000.0,
                _ => (i % 100) as f64,
            };
            d.push(Point(i as f64, y));
            assert!(d.buckets().len() <= 16);
        }
        assert_eq!(d.total(), n);
        let counted: u64 = d.buckets().iter().map(|b| b.count).sum();
        assert_eq!(counted, n);
        let points = d.points();
        assert!(points.contains(&[123_456.0, 1000.0]));
        assert!(points.contains(&[654_321.0, -1000.0]));
        assert_eq!(points.first(), Some(&[0.0, 0.0]));
        assert_eq!(points.last(), Some(&[(n - 1) as f64, 99.0]));
        // Every bucket but the last is full.
        let span = d.span();
        let buckets = d.buckets();
        assert!(buckets[..buckets.len() - 1].iter().all(|b| b.count == span));
    }

    #[test]
    fn odd_capacity_and_shrinking_work() {
        let mut d = Downsampler::new(17);
        for i in 0..10_000 {
            d.push(Point(i as f64, 1.0));
        }
        assert!(d.buckets().len() <= 17);
        d.set_capacity(5);
        assert!(d.buckets().len() <= 5);
        assert_eq!(d.buckets().iter().map(|b| b.count).sum::<u64>(), 10_000);
    }
}
