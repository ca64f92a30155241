//! A bound on the distinct categories a stage keeps (groups of an
//! aggregate, bars of a chart): untrusted data with a million distinct
//! authors must not make a million groups, bars and SVG rectangles. Past
//! the bound, new categories are folded into one named [`OTHER`], and the
//! stage says so once in the log (which the runner also shows on the
//! dashboard).

/// The category everything past the bound is folded into.
pub const OTHER: &str = "other";

/// The usual bound, for a stage's `max_categories` setting.
pub const DEFAULT_MAX_CATEGORIES: usize = 1000;

pub fn default_max_categories() -> usize {
    DEFAULT_MAX_CATEGORIES
}

/// Which categories keep their own place; warns once when one is folded.
#[derive(Debug, Clone)]
pub struct CategoryLimit {
    max: usize,
    /// What is counted, for the warning: `count_by groups of "author"`.
    what: String,
    warned: bool,
}

impl Default for CategoryLimit {
    fn default() -> Self {
        CategoryLimit::new(DEFAULT_MAX_CATEGORIES, "categories")
    }
}

impl CategoryLimit {
    pub fn new(max: usize, what: impl Into<String>) -> Self {
        CategoryLimit { max: max.max(1), what: what.into(), warned: false }
    }

    /// The name `key` is kept under: its own if it is `known` already or
    /// fewer than the bound are `kept`, else [`OTHER`].
    pub fn name<'k>(&mut self, key: &'k str, known: bool, kept: usize) -> &'k str {
        if known || key == OTHER || kept < self.max {
            return key;
        }
        if !self.warned {
            self.warned = true;
            log::warn!(
                "more than {} {}: the rest are folded into {OTHER:?} (raise max_categories to keep more)",
                self.max,
                self.what
            );
        }
        OTHER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_bound_new_categories_fold_and_known_ones_stay() {
        let mut limit = CategoryLimit::new(2, "bars");
        assert_eq!(limit.name("a", false, 0), "a");
        assert_eq!(limit.name("b", false, 1), "b");
        assert_eq!(limit.name("c", false, 2), OTHER);
        assert_eq!(limit.name("a", true, 3), "a");
        assert_eq!(limit.name(OTHER, false, 3), OTHER);
    }
}
