//! Errors a user can act on: `file:line:col: message`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A byte range in the pipeline file.
    File(Range<usize>),
    /// A `--set key=value` argument (as the user typed it).
    Override(String),
    /// A default filled in by buzz.
    Default,
}

/// A pipeline file's text, for turning byte offsets into lines and columns.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn read(path: &Path) -> Result<Self, Diagnostic> {
        let text = std::fs::read_to_string(path).map_err(|e| Diagnostic {
            location: Location::FileOnly(path.to_path_buf()),
            message: match e.kind() {
                std::io::ErrorKind::NotFound => "pipeline file not found; check the path".to_string(),
                std::io::ErrorKind::InvalidData => "pipeline file is not UTF-8 text".to_string(),
                _ => format!("cannot read pipeline file: {e}"),
            },
        })?;
        Ok(SourceFile { path: path.to_path_buf(), text })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    pub fn locate(&self, origin: &Origin) -> Location {
        match origin {
            Origin::File(range) => {
                let (line, col) = self.line_col(range.start);
                Location::File { path: self.path.clone(), line, col }
            }
            Origin::Override(arg) => Location::Override(arg.clone()),
            Origin::Default => Location::FileOnly(self.path.clone()),
        }
    }

    /// A diagnostic at `origin`.
    pub fn error(&self, origin: &Origin, message: impl Into<String>) -> Diagnostic {
        Diagnostic { location: self.locate(origin), message: message.into() }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    File { path: PathBuf, line: usize, col: usize },
    Override(String),
    FileOnly(PathBuf),
}

/// One problem, printed as `file:line:col: message`.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub location: Location,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::File { path, line, col } => write!(f, "{}:{line}:{col}: {}", path.display(), self.message),
            Location::Override(arg) => write!(f, "--set {}: {}", super::secrets::shown_override(arg), self.message),
            Location::FileOnly(path) => write!(f, "{}: {}", path.display(), self.message),
        }
    }
}

/// Several diagnostics, one per line.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` if nothing was reported, else the diagnostics.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines_and_columns() {
        let file = SourceFile { path: "p.toml".into(), text: "a = 1\n[source]\ntype = \"x\"\n".into() };
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(6), (2, 1));
        assert_eq!(file.line_col(22), (3, 8));
        let d = file.error(&Origin::File(22..25), "unknown source type");
        assert_eq!(d.to_string(), "p.toml:3:8: unknown source type");
    }
}
