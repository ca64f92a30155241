//! Word wrapping for terminal listings, so `buzz plugins` fits 80 columns.

/// The width listings are wrapped to.
pub const WIDTH: usize = 80;

/// `text` wrapped to `WIDTH` columns at spaces: the first line indented by
/// `first` spaces, the others by `rest`. Runs of spaces inside a line
/// (column padding) are kept; a word longer than a line (a long path)
/// gets a line of its own rather than being cut.
pub fn wrap(text: &str, first: usize, rest: usize) -> String {
    let mut out = String::new();
    let mut line = " ".repeat(first);
    let mut words = 0;
    // Between two words of `text` split at single spaces, empty pieces
    // stand for the extra spaces of padding.
    for word in text.split(' ') {
        let width = line.chars().count();
        if !word.is_empty() && words > 0 && width + 1 + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = " ".repeat(rest);
            words = 0;
        }
        if words > 0 {
            line.push(' ');
        }
        line.push_str(word);
        words += usize::from(!word.is_empty());
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_the_width_with_indents() {
        let text = "word ".repeat(40);
        let wrapped = wrap(&text, 2, 6);
        assert!(wrapped.lines().all(|l| l.chars().count() <= WIDTH), "{wrapped}");
        assert!(wrapped.starts_with("  word") && wrapped.lines().nth(1).unwrap().starts_with("      word"));
        let long = format!("in {}", "x".repeat(100));
        assert_eq!(wrap(&long, 0, 4), format!("in\n    {}\n", "x".repeat(100)));
        assert_eq!(wrap("name    integer  default 10", 4, 8), "    name    integer  default 10\n");
    }
}
