//! From a pipeline file on disk to a checked [`PipelineSpec`], collecting
//! every problem (not just the first) as `file:line:col: message`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::diagnostics::{Diagnostics, Origin, SourceFile};
use super::document::{self, Node, Table, Value};
use super::runner_settings::{
    CHART_OUTPUT_KEYS, ChartOutputSettings, DashboardSettings, DeadLetterSettings, FileTransportSettings, FsyncPolicy,
    KafkaTransportSettings, MemoryTransportSettings, RECORD_CHECK_KEYS, RecordCheckSettings, RecordFormat,
    StateSettings, schema_of,
};
use super::schema_check::{self, Subject};
use super::suggest::did_you_mean;
use super::{
    BranchSpec, Brokers, ChartOutput, DeadLetterTarget, FileTransport, Fsync, KafkaTransport, MemoryTransport,
    Override, PipelineSpec, RecordCheck, RecordSchema, StageSpec, StartAt, TransportSpec, interpolate,
    kafka_properties, overrides,
};
use crate::plugin_host::{Catalog, LookupError, StageKind};

const TOP_LEVEL_KEYS: [&str; 11] = [
    "name",
    "description",
    "plugins_dir",
    "source",
    "transport",
    "transform",
    "chart",
    "branches",
    "dead_letter",
    "dashboard",
    "state",
];
const TRANSPORT_TYPES: [&str; 3] = ["file", "kafka", "memory"];
const BRANCH_KEYS: [&str; 2] = ["transform", "chart"];

/// Finds the plugins that provide a pipeline's stages: given the folders its
/// file names (`plugins_dir`), the catalog its stage types are looked up in.
/// Passed in by the caller (`plugin_host::Catalog::search`), so that loading
/// a file reads it and nothing more.
pub type FindPlugins<'a> = &'a dyn Fn(Vec<PathBuf>) -> Catalog;

/// Loads and checks a pipeline file with `--set` overrides applied, taking
/// `${VAR}` values from the process environment.
pub fn load(path: &Path, overrides: &[Override], plugins: FindPlugins) -> Result<PipelineSpec, Diagnostics> {
    load_with(path, overrides, &|name| std::env::var(name).ok(), plugins)
}

pub fn load_with(
    path: &Path,
    overrides: &[Override],
    env: &dyn Fn(&str) -> Option<String>,
    plugins: FindPlugins,
) -> Result<PipelineSpec, Diagnostics> {
    let file = SourceFile::read(path)?;
    let mut root = document::parse(&file)?;
    overrides::apply(&mut root, overrides)?;
    let mut errors = Vec::new();
    interpolate::interpolate_table(&file, &mut root, env, &mut errors);
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Loader { file: &file, env, plugins, errors: Diagnostics::default() }.pipeline(root)
}

/// Says which branch each of `errors` is about (`branch mood: transform.valu: ...`).
pub fn in_branch(errors: &mut [super::Diagnostic], name: &str) {
    for error in errors {
        error.message = format!("branch {name}: {}", error.message);
    }
}

struct Loader<'a> {
    file: &'a SourceFile,
    env: &'a dyn Fn(&str) -> Option<String>,
    plugins: FindPlugins<'a>,
    errors: Diagnostics,
}

impl Loader<'_> {
    fn pipeline(mut self, mut root: Table) -> Result<PipelineSpec, Diagnostics> {
        for entry in &root.entries {
            if !TOP_LEVEL_KEYS.contains(&entry.key.as_str()) {
                let hint = did_you_mean(&entry.key, TOP_LEVEL_KEYS);
                self.error(&entry.key_origin, format!("unknown top-level key `{}`{hint}; a pipeline has name, description, plugins_dir and the tables [source], [transport], [transform], [chart], [dead_letter], [dashboard], [state]", entry.key));
            }
        }
        let name = match root.get("name") {
            Some(e) => e.node.as_str().map(str::to_string).unwrap_or_else(|| {
                self.error(&e.node.origin, format!("`name` must be a string, found {}", e.node.type_name()));
                String::new()
            }),
            None => self
                .file
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "pipeline".into()),
        };
        let dirs = self.plugin_dirs(root.get("plugins_dir").map(|e| &e.node));
        let catalog = (self.plugins)(dirs);

        let source = self.stage(&mut root, "source", StageKind::Source, &catalog);
        let named_branches = root.get("branches").is_some();
        let branches = self.branches(&mut root, &name, &catalog);
        let record_check = self.record_check(&root);
        let transport_properties_origin = Self::origin_of(&root, "transport", "properties");
        let transport = self.transport(&mut root, &name);
        let dead_letter_origin = Self::origin_of(&root, "dead_letter", "path");
        let dead_letter = self.dead_letter(&mut root, &name, transport.as_ref());
        let dashboard = self.dashboard(&mut root);
        let checkpoint_every = self.state(&mut root);
        if let (Some(source), Some(branches)) = (&source, &branches) {
            let schema = record_check.as_ref().and_then(|c| c.schema.as_ref());
            let records = schema.and_then(|s| super::field_check::SchemaFields::of(&s.path, &s.schema));
            for branch in branches {
                let (transforms, chart) = (&branch.transforms, &branch.chart);
                let mut errors = super::field_check::check(self.file, source, transforms, chart, records.as_ref());
                if named_branches {
                    in_branch(&mut errors, &branch.name);
                }
                self.errors.0.extend(errors);
            }
        }

        match (source, branches, transport, dead_letter, dashboard, record_check) {
            (Some(source), Some(branches), Some(transport), Some(dead_letter), Some(dashboard), Some(record_check))
                if self.errors.is_empty() =>
            {
                Ok(PipelineSpec {
                    checkpoint_every: checkpoint_every.unwrap_or(Duration::from_secs(1)),
                    file: self.file.clone(),
                    name,
                    source,
                    transport,
                    branches,
                    named_branches,
                    dead_letter,
                    dead_letter_origin,
                    transport_properties_origin,
                    dashboard_listen: dashboard.listen,
                    dashboard_allowed_hosts: dashboard.allowed_hosts,
                    record_check,
                })
            }
            _ => Err(self.errors),
        }
    }

    /// The branches: `[transform]` and `[chart]` make one, named after the
    /// pipeline; `[branches.NAME]` tables (each with a `transform` and a
    /// `chart` table) make one each. A file has one shape or the other.
    fn branches(&mut self, root: &mut Table, name: &str, catalog: &Catalog) -> Option<Vec<BranchSpec>> {
        let Some(entry) = root.remove("branches") else {
            return self.branch(root, name, &format!("out/{name}"), catalog).map(|b| vec![b]);
        };
        for section in ["transform", "chart"] {
            if let Some(e) = root.get(section) {
                let message = format!(
                    "[{section}] and [branches] do not go together: put the {section} in a branch (`[branches.NAME.{section}]`)"
                );
                self.error(&e.key_origin, message);
            }
        }
        let Value::Table(table) = entry.node.value else {
            let found = entry.node.type_name();
            self.error(
                &entry.node.origin,
                format!("`branches` must be a table of named branches ([branches.NAME]), found {found}"),
            );
            return None;
        };
        if table.entries.is_empty() {
            self.error(
                &entry.key_origin,
                "[branches] names no branch: add `[branches.NAME]` with a `transform` and a `chart`",
            );
            return None;
        }
        let mut branches = Some(Vec::new());
        for branch in table.entries {
            let built = match branch.node.value {
                Value::Table(mut body) => {
                    for e in body.entries.iter().filter(|e| !BRANCH_KEYS.contains(&e.key.as_str())) {
                        let hint = did_you_mean(&e.key, BRANCH_KEYS);
                        let message = format!(
                            "unknown key `{}` in branch `{}`{hint}; a branch has a `transform` and a `chart`",
                            e.key, branch.key
                        );
                        self.errors.push(self.file.error(&e.key_origin, message));
                    }
                    let missing: Vec<&str> = BRANCH_KEYS.into_iter().filter(|k| body.get(k).is_none()).collect();
                    if missing.is_empty() {
                        let from = self.errors.0.len();
                        let built = self.branch(&mut body, &branch.key, &format!("out/{name}-{}", branch.key), catalog);
                        in_branch(&mut self.errors.0[from..], &branch.key);
                        built
                    } else {
                        let message = format!(
                            "branch `{}` has no `{}`: a branch has a `transform` and a `chart` table",
                            branch.key,
                            missing.join("` or `")
                        );
                        self.error(&branch.key_origin, message);
                        None
                    }
                }
                _ => {
                    let found = branch.node.type_name();
                    self.error(
                        &branch.node.origin,
                        format!(
                            "branch `{}` must be a table with a `transform` and a `chart`, found {found}",
                            branch.key
                        ),
                    );
                    None
                }
            };
            match (built, branches.as_mut()) {
                (Some(b), Some(all)) => all.push(b),
                _ => branches = None,
            }
        }
        branches
    }

    /// One branch from the `transform` and `chart` tables of `table`.
    fn branch(&mut self, table: &mut Table, name: &str, output: &str, catalog: &Catalog) -> Option<BranchSpec> {
        let transforms = self.transforms(table, catalog);
        let chart_output = self.chart_output(table, output);
        let chart = self.stage(table, "chart", StageKind::Chart, catalog);
        Some(BranchSpec { name: name.to_string(), transforms: transforms?, chart: chart?, chart_output: chart_output? })
    }

    /// `[transform]`, a chain of one, or `[[transform]]` tables, a chain
    /// in which each transform feeds the next.
    fn transforms(&mut self, table: &mut Table, catalog: &Catalog) -> Option<Vec<StageSpec>> {
        let chain = match table.get("transform").map(|e| &e.node.value) {
            Some(Value::Array(_)) => table.remove("transform").map(|e| (e.key_origin, e.node)),
            _ => return self.stage(table, "transform", StageKind::Transform, catalog).map(|t| vec![t]),
        };
        let (key_origin, Node { value: Value::Array(items), .. }) = chain? else { return None };
        if items.is_empty() {
            self.error(&key_origin, "`transform` is an empty chain: give it at least one `[[transform]]` table");
            return None;
        }
        let several = items.len() > 1;
        let mut chain = Some(Vec::new());
        for (place, item) in items.into_iter().enumerate() {
            let place = several.then_some(place);
            let stage = match item.value {
                Value::Table(body) => {
                    self.stage_of(body, item.origin, "transform", place, StageKind::Transform, catalog)
                }
                _ => {
                    let what = super::stage_label("transform", place);
                    self.error(&item.origin, format!("`{what}` must be a table, found {}", item.type_name()));
                    None
                }
            };
            match (stage, chain.as_mut()) {
                (Some(stage), Some(all)) => all.push(stage),
                _ => chain = None,
            }
        }
        chain
    }

    fn error(&mut self, origin: &Origin, message: impl Into<String>) {
        self.errors.push(self.file.error(origin, message));
    }

    fn plugin_dirs(&mut self, node: Option<&Node>) -> Vec<PathBuf> {
        let Some(node) = node else { return Vec::new() };
        let items: Vec<&Node> = match &node.value {
            Value::String(_) => vec![node],
            Value::Array(items) => items.iter().collect(),
            _ => {
                self.error(
                    &node.origin,
                    format!("`plugins_dir` must be a folder or a list of folders, found {}", node.type_name()),
                );
                return Vec::new();
            }
        };
        let mut dirs = Vec::new();
        for item in items {
            match item.as_str() {
                Some(dir) if Path::new(dir).is_dir() => dirs.push(PathBuf::from(dir)),
                Some(dir) => self.error(&item.origin, format!("plugins folder {dir:?} does not exist")),
                None => {
                    self.error(&item.origin, format!("a plugins folder must be a string, found {}", item.type_name()))
                }
            }
        }
        dirs
    }

    /// The `[section]` table and its origin; reports it if missing.
    fn take_table(&mut self, root: &mut Table, section: &str, required: bool) -> Option<(Table, Origin)> {
        match root.remove(section) {
            Some(entry) => match entry.node.value {
                Value::Table(t) => Some((t, entry.key_origin)),
                _ => {
                    self.error(
                        &entry.node.origin,
                        format!("`{section}` must be a table ([{section}]), found {}", entry.node.type_name()),
                    );
                    None
                }
            },
            None if required => {
                self.error(
                    &Origin::File(0..0),
                    format!(
                        "missing [{section}] table: every pipeline names a source, a transport, a transform and a chart"
                    ),
                );
                None
            }
            None => Some((Table::default(), Origin::Default)),
        }
    }

    /// `type = "..."` of a table, removed from it.
    fn take_type(
        &mut self,
        table: &mut Table,
        section: &str,
        origin: &Origin,
        choices: &[&str],
    ) -> Option<(String, Origin)> {
        match table.remove("type") {
            Some(entry) => match entry.node.as_str() {
                Some(t) => Some((t.to_string(), entry.node.origin)),
                None => {
                    self.error(
                        &entry.node.origin,
                        format!("`{section}.type` must be a string, found {}", entry.node.type_name()),
                    );
                    None
                }
            },
            None => {
                let choices =
                    if choices.is_empty() { String::new() } else { format!(": one of {}", choices.join(", ")) };
                self.error(origin, format!("[{section}] needs a `type`{choices}"));
                None
            }
        }
    }

    fn stage(
        &mut self,
        root: &mut Table,
        section: &'static str,
        kind: StageKind,
        catalog: &Catalog,
    ) -> Option<StageSpec> {
        let (table, table_origin) = self.take_table(root, section, true)?;
        self.stage_of(table, table_origin, section, None, kind, catalog)
    }

    /// The stage a `[section]` table (or one table of a chain) names.
    fn stage_of(
        &mut self,
        mut table: Table,
        table_origin: Origin,
        section: &'static str,
        place: Option<usize>,
        kind: StageKind,
        catalog: &Catalog,
    ) -> Option<StageSpec> {
        let label = super::stage_label(section, place);
        if section == "chart" {
            for key in CHART_OUTPUT_KEYS {
                table.remove(key);
            }
        }
        let of_kind: Vec<&str> = catalog
            .plugins
            .iter()
            .flat_map(|p| p.stages.iter().filter(|s| s.kind == kind).map(|s| s.type_name.as_str()))
            .collect();
        let (type_name, type_origin) = self.take_type(&mut table, &label, &table_origin, &of_kind)?;
        let (plugin, info) = match catalog.lookup(&type_name) {
            Ok(found) => found,
            Err(LookupError::Unknown) => {
                let hint = did_you_mean(&type_name, catalog.stage_types());
                let available = if of_kind.is_empty() { "none".to_string() } else { of_kind.join(", ") };
                let refused = if catalog.refused.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; refused: {}",
                        catalog.refused.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("; ")
                    )
                };
                self.error(
                    &type_origin,
                    format!("no plugin provides {section} type `{type_name}`{hint} (available {section} types: {available}; plugins searched in: {}{refused})", catalog.searched()),
                );
                return None;
            }
            Err(LookupError::Ambiguous(options)) => {
                self.error(
                    &type_origin,
                    format!("several plugins provide `{type_name}`; name one: {}", options.join(", ")),
                );
                return None;
            }
        };
        if info.kind != kind {
            self.error(&type_origin, format!("`{type_name}` is a {} stage, not a {section}", info.kind));
            return None;
        }
        let settings = self.settings(&label, &type_name, &mut table, &table_origin, &info.settings)?;
        let origins: BTreeMap<String, Origin> =
            table.entries.iter().map(|e| (e.key.clone(), e.node.origin.clone())).collect();
        let type_name = info.type_name.clone();
        Some(StageSpec { section, place, type_name, plugin, settings, origins, table_origin })
    }

    fn settings(
        &mut self,
        section: &str,
        stage: &str,
        table: &mut Table,
        origin: &Origin,
        schema: &Json,
    ) -> Option<Json> {
        let runner_keys: &[&str] = if section == "chart" { &CHART_OUTPUT_KEYS } else { &[] };
        let subject = Subject { section, stage, origin, runner_keys };
        match schema_check::check(self.file, &subject, table, schema) {
            Ok(json) => Some(json),
            Err(errors) => {
                errors.into_iter().for_each(|e| self.errors.push(e));
                None
            }
        }
    }

    /// Checks runner-owned settings against their schema and decodes them.
    fn runner_settings<T: DeserializeOwned + schemars::JsonSchema>(
        &mut self,
        section: &str,
        stage: &str,
        table: &mut Table,
        origin: &Origin,
    ) -> Option<T> {
        let json = self.settings(section, stage, table, origin, &schema_of::<T>())?;
        match serde_json::from_value(json) {
            Ok(value) => Some(value),
            Err(e) => {
                self.error(origin, format!("[{section}]: {e}"));
                None
            }
        }
    }

    fn transport(&mut self, root: &mut Table, name: &str) -> Option<TransportSpec> {
        let (mut table, origin) = self.take_table(root, "transport", true)?;
        for key in RECORD_CHECK_KEYS {
            table.remove(key);
        }
        let (type_name, type_origin) = self.take_type(&mut table, "transport", &origin, &TRANSPORT_TYPES)?;
        match type_name.as_str() {
            "file" => {
                let s: FileTransportSettings = self.runner_settings("transport", "file", &mut table, &origin)?;
                Some(TransportSpec::File(FileTransport {
                    path: s.path.map(PathBuf::from).unwrap_or_else(|| PathBuf::from(format!("out/{name}.jsonl"))),
                    start: s.start,
                    group: s.group,
                    poll: Duration::from_millis(s.poll_ms),
                    fsync: match s.fsync {
                        FsyncPolicy::Always => Fsync::Always,
                        FsyncPolicy::Interval => Fsync::Interval(Duration::from_millis(s.fsync_interval_ms)),
                        FsyncPolicy::Never => Fsync::Never,
                    },
                }))
            }
            "kafka" => {
                self.check_properties("transport", &table);
                let s: KafkaTransportSettings = self.runner_settings("transport", "kafka", &mut table, &origin)?;
                Some(TransportSpec::Kafka(KafkaTransport {
                    pipeline: name.to_string(),
                    brokers: self.brokers(s.brokers),
                    topic: s.topic,
                    group: s.group.unwrap_or_else(|| format!("{name}_group")),
                    partitions: s.partitions,
                    replication: s.replication,
                    start: s.start,
                    key: s.key,
                    idempotence: s.idempotence,
                    create_topic: s.create_topic,
                    session_timeout_ms: s.session_timeout_ms,
                    properties: s.properties,
                }))
            }
            "memory" => {
                let s: MemoryTransportSettings = self.runner_settings("transport", "memory", &mut table, &origin)?;
                Some(TransportSpec::Memory(MemoryTransport {
                    name: s.name.unwrap_or_else(|| name.to_string()),
                    capacity: s.capacity,
                }))
            }
            other => {
                let hint = did_you_mean(other, TRANSPORT_TYPES);
                self.error(
                    &type_origin,
                    format!("unknown transport type `{other}`{hint}; transports are: {}", TRANSPORT_TYPES.join(", ")),
                );
                None
            }
        }
    }

    /// A copy of the runner's own `keys` of a stage table (the rest of the
    /// table belongs to the stage), with the table's origin.
    /// Where `section.key` is written, else its table, else nowhere.
    fn origin_of(root: &Table, section: &str, key: &str) -> Origin {
        let (table, origin) = Self::own_keys(root, section, &[key]);
        table.get(key).map_or(origin, |e| e.node.origin.clone())
    }

    fn own_keys(root: &Table, section: &str, keys: &[&str]) -> (Table, Origin) {
        let (table, origin) = match root.get(section) {
            Some(e) => (e.node.as_table().cloned().unwrap_or_default(), e.key_origin.clone()),
            None => (Table::default(), Origin::Default),
        };
        (Table { entries: table.entries.into_iter().filter(|e| keys.contains(&e.key.as_str())).collect() }, origin)
    }

    fn record_check(&mut self, root: &Table) -> Option<RecordCheck> {
        let (mut own, origin) = Self::own_keys(root, "transport", &RECORD_CHECK_KEYS);
        let schema_origin = own.get("schema").map(|e| e.node.origin.clone());
        let s: RecordCheckSettings = self.runner_settings("transport", "records", &mut own, &origin)?;
        let schema = match (s.schema, schema_origin) {
            (Some(path), Some(at)) => match RecordSchema::read(Path::new(&path)) {
                Ok(schema) => Some(schema),
                Err(e) => {
                    self.error(&at, format!("transport.schema: {e}"));
                    return None;
                }
            },
            _ => None,
        };
        Some(RecordCheck {
            json: s.format == RecordFormat::Json || schema.is_some(),
            schema,
            max_bytes: s.max_record_bytes,
        })
    }

    /// `output` defaults to `default_base` (`out/<pipeline>`, or
    /// `out/<pipeline>-<branch>` for a named branch).
    fn chart_output(&mut self, root: &mut Table, default_base: &str) -> Option<ChartOutput> {
        let (mut own, origin) = Self::own_keys(root, "chart", &CHART_OUTPUT_KEYS);
        let output_origin = own.get("output").map_or_else(|| origin.clone(), |e| e.node.origin.clone());
        let s: ChartOutputSettings = self.runner_settings("chart", "output", &mut own, &origin)?;
        Some(ChartOutput {
            origin: output_origin,
            base: PathBuf::from(s.output.as_deref().unwrap_or(default_base)),
            min_frame_interval: Duration::from_secs_f64(1.0 / s.fps),
            png_interval: Duration::from_millis(s.png_interval_ms),
        })
    }

    fn state(&mut self, root: &mut Table) -> Option<Duration> {
        let (mut table, origin) = self.take_table(root, "state", false)?;
        let s: StateSettings = self.runner_settings("state", "settings", &mut table, &origin)?;
        Some(Duration::from_millis(s.checkpoint_ms))
    }

    /// The `[dashboard]` table; a `listen` address `buzz run` would refuse
    /// is an error here too.
    fn dashboard(&mut self, root: &mut Table) -> Option<DashboardSettings> {
        let listen_origin = Self::origin_of(root, "dashboard", "listen");
        let (mut table, origin) = self.take_table(root, "dashboard", false)?;
        let settings: DashboardSettings = self.runner_settings("dashboard", "settings", &mut table, &origin)?;
        if let Some(listen) = &settings.listen
            && let Err(e) = super::parse_listen(listen)
        {
            self.errors.push(self.file.error(&listen_origin, format!("`dashboard.listen`: {e}")));
            return None;
        }
        Some(settings)
    }

    fn dead_letter(
        &mut self,
        root: &mut Table,
        name: &str,
        transport: Option<&TransportSpec>,
    ) -> Option<DeadLetterTarget> {
        let (mut table, origin) = self.take_table(root, "dead_letter", false)?;
        self.check_properties("dead_letter", &table);
        let s: DeadLetterSettings = self.runner_settings("dead_letter", "output", &mut table, &origin)?;
        let Some(topic) = s.topic else {
            return Some(DeadLetterTarget::File(
                s.path.map(PathBuf::from).unwrap_or_else(|| PathBuf::from(format!("out/{name}.dead.jsonl"))),
            ));
        };
        let brokers = match &s.brokers {
            Some(brokers) => self.brokers(Some(brokers.clone())),
            None => match transport {
                Some(TransportSpec::Kafka(k)) => k.brokers.clone(),
                _ => self.brokers(None),
            },
        };
        // The transport's client settings (TLS, SASL...) go with its
        // brokers, never to another cluster.
        let mut properties = match transport {
            Some(TransportSpec::Kafka(k)) if k.brokers == brokers => k.properties.clone(),
            _ => Default::default(),
        };
        properties.extend(s.properties);
        Some(DeadLetterTarget::Kafka(KafkaTransport {
            pipeline: name.to_string(),
            brokers,
            topic,
            group: format!("{name}_dead_letters"),
            partitions: s.partitions,
            replication: s.replication,
            start: StartAt::Beginning,
            key: None,
            idempotence: true,
            create_topic: true,
            session_timeout_ms: 6000,
            properties,
        }))
    }

    /// librdkafka's verdict on the table's `properties`, at each key.
    fn check_properties(&mut self, section: &str, table: &Table) {
        let properties = table.get("properties").map(|e| &e.node);
        self.errors.0.extend(kafka_properties::check(self.file, section, properties));
    }

    /// Brokers from a setting, else `KAFKA_BROKERS`, else the embedded broker.
    fn brokers(&self, setting: Option<String>) -> Brokers {
        match setting.or_else(|| (self.env)("KAFKA_BROKERS")).filter(|b| !b.trim().is_empty()) {
            Some(b) if !b.trim().eq_ignore_ascii_case("embedded") => Brokers::Servers(b.trim().to_string()),
            _ => Brokers::Embedded,
        }
    }
}
