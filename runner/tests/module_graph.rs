//! The runner's top-level modules import one another in one direction:
//! no two modules reach each other through `crate::` paths, so each can be
//! read (and changed) knowing only what it imports. Read from the sources,
//! so a new cycle fails here before review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module -> module it names -> files of the first that name the second.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The modules `lib.rs` declares.
fn top_level_modules(src: &Path) -> Vec<String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let declared = lib.lines().filter_map(|l| l.trim().strip_prefix("pub mod")?.trim().strip_suffix(';'));
    declared.map(str::to_string).collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The identifiers after each `crate::` in `code`, comments left out.
fn crate_paths(code: &str) -> impl Iterator<Item = &str> {
    code.lines().map(|l| l.split("//").next().unwrap_or_default()).flat_map(|line| {
        line.match_indices("crate::").map(move |(at, found)| {
            let rest = &line[at + found.len()..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            &rest[..end]
        })
    })
}

fn module_graph(src: &Path) -> Graph {
    let modules = top_level_modules(src);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap().to_string_lossy().into_owned();
        let owner = relative.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        if !modules.contains(&owner) {
            continue; // lib.rs, main.rs
        }
        let code = std::fs::read_to_string(&file).unwrap();
        for named in crate_paths(&code).filter(|m| modules.iter().any(|n| n == m) && *m != owner) {
            let edges = graph.entry(owner.clone()).or_default();
            edges.entry(named.to_string()).or_default().insert(relative.clone());
        }
    }
    graph
}

/// Groups of modules that reach one another (each group is a cycle).
fn cycles(graph: &Graph) -> Vec<BTreeSet<String>> {
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut next = vec![from.to_string()];
        while let Some(module) = next.pop() {
            for to in graph.get(&module).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(to.clone()) {
                    next.push(to.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> = graph.keys().map(|m| (m, reaches(m))).collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for (module, reached) in &reach {
        if !reached.contains(*module) || groups.iter().any(|g| g.contains(*module)) {
            continue;
        }
        let group = reached.iter().filter(|other| reach.get(other).is_some_and(|r| r.contains(*module)));
        groups.push(group.cloned().collect());
    }
    groups
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let graph = module_graph(&src());
    assert!(graph.len() > 5, "the module graph was not read: {graph:?}");
    let cycles = cycles(&graph);
    let explain = |group: &BTreeSet<String>| {
        let edges = group.iter().flat_map(|from| {
            let inside = graph[from].iter().filter(|(to, _)| group.contains(*to));
            inside.map(move |(to, files)| {
                format!("  {from} -> {to} ({})", files.iter().cloned().collect::<Vec<_>>().join(", "))
            })
        });
        format!("cycle between {group:?}:\n{}", edges.collect::<Vec<_>>().join("\n"))
    };
    let report: Vec<String> = cycles.iter().map(explain).collect();
    assert!(cycles.is_empty(), "top-level modules that import each other:\n{}", report.join("\n"));
}

#[test]
fn a_cycle_is_found_and_comments_do_not_count() {
    let edge = |from: &str, to: &str| (from.to_string(), BTreeMap::from([(to.to_string(), BTreeSet::new())]));
    let graph: Graph = [edge("a", "b"), edge("b", "c"), edge("c", "a"), edge("d", "a")].into();
    assert_eq!(cycles(&graph), vec![BTreeSet::from(["a".into(), "b".into(), "c".into()])]);
    let code = "use crate::pipeline::Shared; // crate::dashboard\n/// crate::cli\nlet x = crate::config::load(p);";
    assert_eq!(crate_paths(code).collect::<Vec<_>>(), ["pipeline", "config"]);
}
