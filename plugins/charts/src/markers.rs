//! Marked points (a stall, say) in bounded memory: every one is kept until
//! there are more than the line has buckets, then one per bucket span.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Marked {
    /// The record's sequence number among accepted points.
    pub seq: u64,
    pub x: f64,
    pub y: f64,
    /// First marker of a run of consecutive marked records: it gets the label.
    pub run_start: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Markers {
    items: Vec<Marked>,
    /// Once thinned, new markers are kept only one per bucket span.
    thinned: bool,
    /// A dropped marker started a run: the next kept one labels it instead.
    carry_run_start: bool,
}

impl Markers {
    /// Adds a marker. `span` is the line's current points per bucket and
    /// `capacity` its bucket count.
    pub fn push(&mut self, mut marker: Marked, span: u64, capacity: usize) {
        let group = span.max(1);
        if self.thinned && self.items.last().is_some_and(|last| last.seq / group == marker.seq / group) {
            self.carry_run_start |= marker.run_start;
            return;
        }
        marker.run_start |= std::mem::take(&mut self.carry_run_start);
        self.items.push(marker);
        if self.items.len() > capacity {
            self.fit(span, capacity);
        }
    }

    /// Thins to at most `capacity` markers: one per span of `span` records,
    /// then coarser if that is still too many (only after a restyle).
    pub fn fit(&mut self, span: u64, capacity: usize) {
        let mut group = span.max(1);
        while self.items.len() > capacity {
            self.thin(group);
            group = group.saturating_mul(2);
        }
    }

    /// Keeps the first marker of each group of `group` sequence numbers.
    fn thin(&mut self, group: u64) {
        let mut kept: Vec<Marked> = Vec::with_capacity(self.items.len() / 2 + 1);
        let mut carry = false;
        for mut m in self.items.drain(..) {
            if kept.last().is_some_and(|last| last.seq / group == m.seq / group) {
                carry |= m.run_start;
                continue;
            }
            m.run_start |= std::mem::take(&mut carry);
            kept.push(m);
        }
        self.items = kept;
        self.carry_run_start |= carry;
        self.thinned = true;
    }

    /// Appends another line's markers after these, their sequence numbers
    /// moved past this line's `seq_shift` points (and x by `x_shift`), then
    /// thins to `capacity` as `push` would.
    pub fn merge(&mut self, other: Markers, seq_shift: u64, x_shift: f64, span: u64, capacity: usize) {
        let start = self.items.len();
        self.items.extend(other.items.into_iter().map(|m| Marked {
            seq: m.seq + seq_shift,
            x: m.x + x_shift,
            y: m.y,
            run_start: m.run_start,
        }));
        if let Some(first) = self.items.get_mut(start) {
            first.run_start |= std::mem::take(&mut self.carry_run_start);
        }
        self.carry_run_start |= other.carry_run_start;
        self.thinned |= other.thinned;
        self.fit(span, capacity);
    }

    pub fn items(&self) -> &[Marked] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(seq: u64, run_start: bool) -> Marked {
        Marked { seq, x: seq as f64, y: 0.0, run_start }
    }

    #[test]
    fn keeps_all_until_capacity_then_one_per_span() {
        let mut m = Markers::default();
        for seq in 0..16 {
            m.push(marked(seq, seq == 0), 1, 16);
        }
        assert_eq!(m.items().len(), 16);
        // The 17th marker arrives when the line's buckets hold 2 points each.
        m.push(marked(16, false), 2, 16);
        assert_eq!(m.items().len(), 9);
        assert!(m.items()[0].run_start);
        for seq in 17..100_000u64 {
            // The span a 16-bucket line has after seq + 1 points.
            let span = (seq + 1).div_ceil(16).next_power_of_two();
            m.push(marked(seq, false), span, 16);
            assert!(m.items().len() <= 16);
        }
    }

    #[test]
    fn a_dropped_run_start_moves_to_the_next_kept_marker() {
        let mut m = Markers::default();
        for seq in 0..=20 {
            m.push(marked(seq, false), 4, 16);
        }
        // seq 21 starts a run but shares seq 20's span; 24 is kept and labels it.
        m.push(marked(21, true), 4, 16);
        m.push(marked(24, false), 4, 16);
        let last = m.items().last().unwrap();
        assert_eq!((last.seq, last.run_start), (24, true));
    }
}
