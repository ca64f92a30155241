//! The pipelines of project messages (author, category, sentiment,
//! timestamp) that the branch and chain tests run, built in one place:
//! a seeded source over a file transport, each chart named after its
//! branch, and everything they write inside one folder.

use std::path::{Path, PathBuf};

use super::toml_file::TomlFile;

/// The average sentiment per category, and its bars.
pub const AVERAGE_SENTIMENT: &str = "type = \"average_by\"\ngroup = \"category\"\nvalue = \"sentiment\"";
pub const AVERAGE_BARS: &str = "type = \"bar_chart\"\ncategory = \"category\"\nvalue = \"average\"";

/// A pipeline `name` of project messages, written to `dir/NAME.toml`.
pub struct ProjectPipeline {
    name: String,
    dir: PathBuf,
    file: TomlFile,
}

impl ProjectPipeline {
    /// `count` messages (0: endless) from a source seeded with `seed`,
    /// unpaced, over the file `dir/transport.jsonl`, dead letters in
    /// `dir/dead.jsonl`; no transform or chart yet.
    pub fn new(name: &str, dir: &Path, count: u64, seed: u64) -> ProjectPipeline {
        let mut file = TomlFile::default();
        file.set("name", name)
            .set("source.type", "project_messages")
            .set("source.interval_ms", 0)
            .set("source.count", count as i64)
            .set("source.seed", seed as i64)
            .set("transport.type", "file")
            .set("transport.path", in_dir(dir, "transport.jsonl"))
            .set("dead_letter.path", in_dir(dir, "dead.jsonl"));
        ProjectPipeline { name: name.into(), dir: dir.into(), file }
    }

    /// The pipeline written at `path` by [`ProjectPipeline::write`], to
    /// edit further.
    pub fn reopen(path: &Path) -> ProjectPipeline {
        let name = path.file_stem().expect("a file name").to_string_lossy().into_owned();
        ProjectPipeline { name, dir: path.parent().expect("a folder").into(), file: TomlFile::open(path) }
    }

    /// The source also writes what it made to `dir/archive.jsonl`.
    pub fn archived(mut self) -> ProjectPipeline {
        self.file.set("source.archive_path", in_dir(&self.dir, "archive.jsonl"));
        self
    }

    /// Another transport (TOML key/values) in place of the file.
    pub fn transport(mut self, entries: &str) -> ProjectPipeline {
        self.file.set_table("transport", entries);
        self
    }

    /// `[branches.NAME]`: `transform` into `chart` (TOML key/values), which
    /// draws to `dir/NAME`.
    pub fn branch(mut self, name: &str, transform: &str, chart: &str) -> ProjectPipeline {
        self.file.set_table(&format!("branches.{name}.transform"), transform);
        self.chart_at(&format!("branches.{name}.chart"), chart, name)
    }

    /// `[branches.NAME]` counting messages per `field`, as bars.
    pub fn counting(self, name: &str, field: &str) -> ProjectPipeline {
        let transform = format!("type = \"count_by\"\nfield = \"{field}\"");
        let chart = format!("type = \"bar_chart\"\ncategory = \"{field}\"\nvalue = \"count\"");
        self.branch(name, &transform, &chart)
    }

    /// `[[transform]]` tables, each feeding the next, into a `[chart]`
    /// drawing to `dir/chart`.
    pub fn chain(mut self, transforms: &[&str], chart: &str) -> ProjectPipeline {
        for transform in transforms {
            self.file.push_table("transform", transform);
        }
        self.chart_at("chart", chart, "chart")
    }

    /// Sets one value (see [`TomlFile::set`]).
    pub fn set(mut self, path: &str, value: impl Into<toml_edit::Value>) -> ProjectPipeline {
        self.file.set(path, value);
        self
    }

    /// Moves `[branches.NAME]` before the branch `before` in the file.
    pub fn move_before(mut self, name: &str, before: &str) -> ProjectPipeline {
        self.file.move_before(&format!("branches.{name}"), before);
        self
    }

    fn chart_at(mut self, path: &str, chart: &str, output: &str) -> ProjectPipeline {
        self.file.set_table(path, chart).set(&format!("{path}.output"), in_dir(&self.dir, output));
        self
    }

    pub fn write(self) -> PathBuf {
        let path = self.dir.join(format!("{}.toml", self.name));
        self.file.save(&path);
        path
    }
}

fn in_dir(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}
