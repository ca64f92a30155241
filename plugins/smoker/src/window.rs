//! A fixed-size rolling window of readings.

use std::collections::VecDeque;

#[derive(Debug, Clone, Default)]
pub struct Window {
    size: usize,
    values: VecDeque<f64>,
}

impl Window {
    pub fn new(size: usize) -> Self {
        Window { size, values: VecDeque::with_capacity(size) }
    }

    /// Adds a reading, dropping the oldest once full.
    pub fn push(&mut self, value: f64) {
        if self.values.len() == self.size {
            self.values.pop_front();
        }
        self.values.push_back(value);
    }

    pub fn is_full(&self) -> bool {
        self.values.len() == self.size
    }

    /// max - min of the readings held (0 when empty).
    pub fn range(&self) -> f64 {
        let (min, max) =
            self.values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if self.values.is_empty() { 0.0 } else { max - min }
    }

    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.values.iter().copied()
    }

    /// A window of `size` holding the newest of `values`.
    pub fn from_values(size: usize, values: impl IntoIterator<Item = f64>) -> Self {
        let mut window = Window::new(size);
        for v in values {
            window.push(v);
        }
        window
    }
}
