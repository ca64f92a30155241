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

    /// Folds in another line (another partition's, say): the summary points
    /// of both, with `x_shift` added to the other's x, are pushed again in x
    /// order (this line's first among equal x) into this line's capacity.
    /// While neither line has been thinned that is exactly the union of
    /// their points; after, every bucket's first, last, lowest and highest
    /// point goes in, so both envelopes survive. The totals add.
    pub fn merge(&mut self, other: &Downsampler, x_shift: f64) {
        let total = self.total + other.total;
        if self.buckets.is_empty() && x_shift == 0.0 {
            let capacity = self.capacity;
            *self = other.clone();
            self.set_capacity(capacity);
        } else if !other.buckets.is_empty() {
            let ours = self.points();
            let theirs: Vec<[f64; 2]> = other.points().into_iter().map(|[x, y]| [x + x_shift, y]).collect();
            let mut merged = Downsampler::new(self.capacity);
            let (mut i, mut j) = (0, 0);
            while i < ours.len() || j < theirs.len() {
                let take_ours = j == theirs.len() || (i < ours.len() && ours[i][0] <= theirs[j][0]);
                let [x, y] = if take_ours { ours[i] } else { theirs[j] };
                if take_ours {
                    i += 1;
                } else {
                    j += 1;
                }
                merged.push(Point(x, y));
            }
            *self = merged;
        }
        self.total = total;
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
    fn merging_unthinned_lines_is_their_union_in_x_order() {
        let mut a = Downsampler::new(16);
        let mut b = Downsampler::new(16);
        for i in 0..6 {
            a.push(Point((2 * i) as f64, 1.0));
            b.push(Point((2 * i + 1) as f64, 2.0));
        }
        a.merge(&b, 0.0);
        assert_eq!(a.total(), 12);
        let expected: Vec<[f64; 2]> = (0..12).map(|i| [i as f64, if i % 2 == 0 { 1.0 } else { 2.0 }]).collect();
        assert_eq!(a.points(), expected);
        // Shifted past this line's end: the other line follows it.
        let mut c = Downsampler::new(16);
        c.push(Point(0.0, 5.0));
        c.merge(&b, 10.0);
        assert_eq!(c.points()[..3], [[0.0, 5.0], [11.0, 2.0], [13.0, 2.0]]);
    }

    #[test]
    fn merging_thinned_lines_stays_bounded_and_keeps_both_envelopes() {
        let mut a = Downsampler::new(16);
        let mut b = Downsampler::new(16);
        for i in 0..10_000u64 {
            let x = i as f64;
            a.push(Point(x, if i == 1234 { 500.0 } else { 0.0 }));
            b.push(Point(x + 0.5, if i == 8765 { -500.0 } else { 1.0 }));
        }
        a.merge(&b, 0.0);
        assert!(a.buckets().len() <= 16);
        assert_eq!(a.total(), 20_000);
        let points = a.points();
        assert!(points.contains(&[1234.0, 500.0]));
        assert!(points.contains(&[8765.5, -500.0]));
        assert_eq!((points.first(), points.last()), (Some(&[0.0, 0.0]), Some(&[9999.5, 1.0])));
        assert!(points.is_sorted_by(|p, q| p[0] <= q[0]));
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
