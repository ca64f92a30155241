//! `buzz new plugin NAME`: writes a plugin crate that builds, tests and
//! runs as it is: a source, a transform and a chart, their tests, and a
//! pipeline using them. Inside the buzz workspace it becomes a member in
//! `plugins/NAME`; anywhere else it is a crate of its own that builds
//! against this buzz's SDK and plotkit (what its chart draws with).

use std::path::{Path, PathBuf};

use crate::cli::NewPluginArgs;

/// The crate's files, `{{name}}`-style placeholders filled in by [`render`].
const SOURCES: &[(&str, &str)] = &[
    ("src/lib.rs", include_str!("new_plugin/lib.rs.tmpl")),
    ("src/counter.rs", include_str!("new_plugin/counter.rs.tmpl")),
    ("src/scale.rs", include_str!("new_plugin/scale.rs.tmpl")),
    ("src/bars.rs", include_str!("new_plugin/bars.rs.tmpl")),
    ("src/draw.rs", include_str!("new_plugin/draw.rs.tmpl")),
    ("README.md", include_str!("new_plugin/README.md.tmpl")),
];
const PIPELINE: &str = include_str!("new_plugin/pipeline.toml.tmpl");
const WORKSPACE_MANIFEST: &str = include_str!("new_plugin/workspace.Cargo.toml.tmpl");
const STANDALONE_MANIFEST: &str = include_str!("new_plugin/standalone.Cargo.toml.tmpl");
const GITIGNORE: &str = include_str!("new_plugin/gitignore.tmpl");
/// The repository's formatting, which the templates follow, for a crate of
/// its own (a workspace member has the workspace's rustfmt.toml).
const RUSTFMT: &str = include_str!("new_plugin/rustfmt.toml.tmpl");

/// Versions a standalone crate asks for: the workspace's own (a unit test
/// keeps them in step with the root Cargo.toml).
const SERDE_VERSION: &str = "1";
const SERDE_JSON_VERSION: &str = "1";
const SCHEMARS_VERSION: &str = "1";

pub fn new_plugin(args: &NewPluginArgs) -> i32 {
    let made = std::env::current_dir()
        .map_err(|e| format!("cannot read the current folder: {e}"))
        .and_then(|cwd| create(args, &cwd).map(|layout| (cwd, layout)));
    match made {
        Ok((cwd, layout)) => {
            print!("{}", next_steps(&args.name, &layout, &cwd));
            0
        }
        Err(message) => {
            eprintln!("buzz new plugin: {message}");
            1
        }
    }
}

/// Where the crate goes and what it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The crate's folder.
    pub folder: PathBuf,
    /// The root of the buzz workspace the crate joins, if it joins one.
    pub workspace: Option<PathBuf>,
}

/// Whether `dir` is the root of a buzz workspace that a crate in its
/// `plugins/` folder joins: a Cargo.toml with a `[workspace]` table that
/// offers `buzz-sdk` to its members, and a `plugins/` folder.
pub fn is_workspace_root(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else { return false };
    let Ok(manifest) = text.parse::<toml::Table>() else { return false };
    let offers_sdk = manifest
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .is_some_and(|deps| deps.get("buzz-sdk").is_some());
    offers_sdk && dir.join("plugins").is_dir()
}

/// Where `buzz new plugin NAME [--dir DIR]` run in `cwd` puts the crate.
pub fn layout(name: &str, cwd: &Path, dir: Option<&Path>) -> Layout {
    let parent = match dir {
        Some(dir) => cwd.join(dir),
        None if is_workspace_root(cwd) => cwd.join("plugins"),
        None => cwd.to_path_buf(),
    };
    // The workspace takes every plugins/* folder as a member.
    let workspace = match (parent.file_name(), parent.parent()) {
        (Some(folder), Some(root)) if folder == "plugins" && is_workspace_root(root) => Some(root.to_path_buf()),
        _ => None,
    };
    Layout { folder: parent.join(name), workspace }
}

/// Refuses a name that cannot be a crate, library and stage name at once.
pub fn check_name(name: &str) -> Result<(), String> {
    let starts_well = name.starts_with(|c: char| c.is_ascii_lowercase());
    let only_allowed = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if starts_well && only_allowed && name.len() <= 40 {
        return Ok(());
    }
    let hint = if name.contains('-') && !name.is_empty() {
        format!(" (try {:?})", name.replace('-', "_").to_ascii_lowercase())
    } else {
        String::new()
    };
    Err(format!(
        "{name:?} is not a valid plugin name{hint}: use up to 40 lower-case letters, digits and underscores, \
         starting with a letter; the crate becomes buzz-plugin-NAME and the library buzz_plugin_NAME"
    ))
}

/// The crates a plugin outside the workspace builds against.
#[derive(Debug, Clone, PartialEq)]
pub struct Libraries {
    pub sdk: PathBuf,
    /// The SDK's ABI crate (an installed SDK asks for it by version).
    pub abi: PathBuf,
    pub plotkit: PathBuf,
}

/// The SDK as [`find_sdk`] finds it, and plotkit at `plotkit` (relative to
/// `cwd`), else beside the SDK: one buzz's pair, so that plotkit's own
/// buzz-sdk is that SDK. The ABI crate is always the one beside the SDK.
fn find_libraries(
    args: &NewPluginArgs,
    cwd: &Path,
    exe: Option<&Path>,
    built_from: &Path,
) -> Result<Libraries, String> {
    let sdk = find_sdk(args.sdk.as_deref(), cwd, exe, built_from)?;
    let plotkit = match &args.plotkit {
        Some(path) => given_crate(cwd, path, "plotkit")?,
        None => beside_sdk(&sdk, "plotkit").map_err(|missing| {
            format!(
                "{missing}: pass --plotkit PATH with the plugins/plotkit folder of the same buzz checkout as the SDK"
            )
        })?,
    };
    let abi = beside_sdk(&sdk, "abi").map_err(|missing| {
        format!("{missing}: the SDK speaks the ABI of the buzz-abi crate beside it; reinstall buzz, or pass --sdk PATH")
    })?;
    Ok(Libraries { sdk, abi, plotkit })
}

/// The crate buzz-`what` in the folder `what` beside the SDK (plugins/`what`
/// in a checkout, lib/buzz/`what` when installed), or why not.
fn beside_sdk(sdk: &Path, what: &str) -> Result<PathBuf, String> {
    let beside = sdk.parent().unwrap_or(sdk).join(what);
    is_crate(&beside, &format!("buzz-{what}")).ok_or_else(|| {
        format!("no buzz-{what} crate beside the SDK at {} (looked in {})", sdk.display(), beside.display())
    })
}

/// The buzz-sdk crate at `given` (relative to `cwd`), else the first of
/// [`sdk_candidates`] that is one. The path written into the crate is
/// absolute, so it must name a folder that outlives a moved binary.
fn find_sdk(given: Option<&Path>, cwd: &Path, exe: Option<&Path>, built_from: &Path) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return given_crate(cwd, path, "sdk");
    }
    let candidates = sdk_candidates(exe, built_from);
    candidates.iter().find_map(|path| is_crate(path, "buzz-sdk")).ok_or_else(|| {
        let searched: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        format!(
            "found no buzz-sdk crate for a plugin outside the buzz workspace (searched {}): \
             pass --sdk PATH with the plugins/sdk folder of a buzz checkout",
            searched.join(", ")
        )
    })
}

/// Where an SDK may be, in order: beside an installed binary
/// (`<prefix>/bin/buzz` and `<prefix>/lib/buzz/sdk`), in the checkout
/// holding the binary (`<checkout>/target/<profile>/buzz`, even if the
/// checkout was moved), then in the checkout it was built from.
fn sdk_candidates(exe: Option<&Path>, built_from: &Path) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(bin) = exe.and_then(Path::parent) {
        if let Some(prefix) = bin.parent() {
            candidates.push(prefix.join("lib/buzz/sdk"));
        }
        if let Some(checkout) = bin.parent().and_then(Path::parent) {
            candidates.push(checkout.join("plugins/sdk"));
        }
    }
    candidates.push(built_from.join("../plugins/sdk"));
    candidates
}

/// The crate buzz-`what` at `path` (relative to `cwd`), given as `--what`.
fn given_crate(cwd: &Path, path: &Path, what: &str) -> Result<PathBuf, String> {
    let path = cwd.join(path);
    is_crate(&path, &format!("buzz-{what}")).ok_or_else(|| {
        format!(
            "no buzz-{what} crate at {}: pass --{what} with the plugins/{what} folder of a buzz checkout",
            path.display()
        )
    })
}

/// `path`, made absolute, if it holds the crate `name`.
fn is_crate(path: &Path, name: &str) -> Option<PathBuf> {
    let path = path.canonicalize().ok()?;
    let manifest = std::fs::read_to_string(path.join("Cargo.toml")).ok()?;
    let manifest = manifest.parse::<toml::Table>().ok()?;
    (manifest.get("package")?.get("name")?.as_str() == Some(name)).then_some(path)
}

/// Fills `{{key}}` placeholders.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_string(), |text, (key, value)| text.replace(&format!("{{{{{key}}}}}"), value))
}

/// What differs between a workspace member and a crate of its own.
struct Flavour {
    manifest: &'static str,
    /// Where the plugin-authoring guide is.
    guide: String,
    /// The pipeline's first line, pointing editors at the schema.
    schema_line: String,
    plugins_dir_line: String,
    /// The pipeline file as `buzz run` is given it.
    pipeline_path: String,
    build_steps: String,
    /// How `buzz plugins` finds this plugin.
    plugins_command: String,
    /// The SDK's, its ABI crate's and plotkit's folders as TOML strings.
    sdk_path: String,
    abi_path: String,
    plotkit_path: String,
}

fn flavour(name: &str, layout: &Layout, libraries: Option<&Libraries>) -> Flavour {
    match (&layout.workspace, libraries) {
        (Some(_), _) => {
            let pipeline_path = format!("plugins/{name}/{name}.toml");
            Flavour {
                manifest: WORKSPACE_MANIFEST,
                guide: "plugins/README.md in the buzz repository".into(),
                schema_line: "#:schema ../../schemas/pipeline.schema.json\n".into(),
                plugins_dir_line: String::new(),
                build_steps: format!(
                    "# at the root of the buzz repository\ncargo build --workspace\ncargo test -p buzz-plugin-{name}\n\
                     target/debug/buzz run {pipeline_path}"
                ),
                plugins_command: "buzz plugins".into(),
                pipeline_path,
                sdk_path: String::new(),
                abi_path: String::new(),
                plotkit_path: String::new(),
            }
        }
        (None, libraries) => {
            let toml_path = |path: &Path| toml::Value::String(path.display().to_string()).to_string();
            let (sdk, abi, plotkit) =
                libraries.map(|l| (l.sdk.clone(), l.abi.clone(), l.plotkit.clone())).unwrap_or_default();
            let guide = sdk.parent().map(|plugins| plugins.join("README.md").display().to_string());
            Flavour {
                manifest: STANDALONE_MANIFEST,
                guide: guide.unwrap_or_else(|| "plugins/README.md in the buzz repository".into()),
                schema_line: String::new(),
                plugins_dir_line: "# Where `cargo build` puts the plugin.\nplugins_dir = \"target/debug\"\n".into(),
                pipeline_path: format!("{name}.toml"),
                build_steps: format!("cargo build\ncargo test\nbuzz run {name}.toml"),
                plugins_command: "buzz plugins --plugins-dir target/debug".into(),
                sdk_path: toml_path(&sdk),
                abi_path: toml_path(&abi),
                plotkit_path: toml_path(&plotkit),
            }
        }
    }
}

/// Every file of the crate, as (path in the crate, contents).
pub fn files(name: &str, layout: &Layout, libraries: Option<&Libraries>) -> Vec<(String, String)> {
    let f = flavour(name, layout, libraries);
    let run_command = format!("buzz run {} --set source.interval_ms=0 --exit-when-done", f.pipeline_path);
    let values = [
        ("name", name),
        ("guide", &f.guide),
        ("schema_line", &f.schema_line),
        ("plugins_dir_line", &f.plugins_dir_line),
        ("run_command", &run_command),
        ("build_steps", &f.build_steps),
        ("pipeline_path", &f.pipeline_path),
        ("plugins_command", &f.plugins_command),
        ("sdk_path", &f.sdk_path),
        ("abi_path", &f.abi_path),
        ("plotkit_path", &f.plotkit_path),
        ("serde_version", SERDE_VERSION),
        ("serde_json_version", SERDE_JSON_VERSION),
        ("schemars_version", SCHEMARS_VERSION),
    ];
    let mut files: Vec<(String, String)> =
        SOURCES.iter().map(|(path, template)| (path.to_string(), render(template, &values))).collect();
    files.push(("Cargo.toml".into(), render(f.manifest, &values)));
    files.push((format!("{name}.toml"), render(PIPELINE, &values)));
    if layout.workspace.is_none() {
        files.push((".gitignore".into(), GITIGNORE.to_string()));
        files.push(("rustfmt.toml".into(), RUSTFMT.to_string()));
    }
    files
}

/// Checks the name and place, then writes the crate.
pub fn create(args: &NewPluginArgs, cwd: &Path) -> Result<Layout, String> {
    check_name(&args.name)?;
    let layout = layout(&args.name, cwd, args.dir.as_deref());
    if layout.folder.exists() {
        return Err(format!("{} already exists: choose another name or folder", layout.folder.display()));
    }
    let libraries = match layout.workspace {
        Some(_) => None,
        None => {
            let exe = std::env::current_exe().ok();
            Some(find_libraries(args, cwd, exe.as_deref(), Path::new(env!("CARGO_MANIFEST_DIR")))?)
        }
    };
    let written = write_all(&layout.folder, &files(&args.name, &layout, libraries.as_ref()));
    if let Err(e) = written {
        // Half a crate would only be refused next time as "already exists".
        let _ = std::fs::remove_dir_all(&layout.folder);
        return Err(e);
    }
    Ok(layout)
}

fn write_all(folder: &Path, files: &[(String, String)]) -> Result<(), String> {
    for (path, contents) in files {
        let path = folder.join(path);
        let parent = path.parent().unwrap_or(folder);
        std::fs::create_dir_all(parent)
            .and_then(|()| std::fs::write(&path, contents))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// What to do next, with paths as the user can type them from `cwd`.
fn next_steps(name: &str, layout: &Layout, cwd: &Path) -> String {
    let folder = layout.folder.strip_prefix(cwd).unwrap_or(&layout.folder).display().to_string();
    let stages = format!("a source ({name}_counter), a transform ({name}_scale) and a chart ({name}_bars)");
    let steps = match &layout.workspace {
        Some(root) => {
            let at_root = if root.as_path() == cwd { String::new() } else { format!("  cd {}\n", root.display()) };
            format!(
                "{at_root}  cargo build --workspace                  # the plugin joins the workspace, no edit needed\n  \
                 cargo test -p buzz-plugin-{name}\n  \
                 target/debug/buzz run plugins/{name}/{name}.toml  # chart in out/{name}.svg\n\n\
                 The guide to writing plugins is plugins/README.md.\n"
            )
        }
        None => {
            let buzz = std::env::current_exe().map_or_else(|_| "buzz".into(), |exe| exe.display().to_string());
            format!(
                "  cd {folder}\n  cargo build\n  cargo test\n  {buzz} run {name}.toml  # finds the plugin in target/debug; chart in out/{name}.svg\n"
            )
        }
    };
    format!("Created the {name} plugin in {folder}: {stages}, with tests and a pipeline.\n\nNext:\n{steps}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_copy() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let manifest =
            "[workspace]\nmembers = [\"plugins/*\"]\n[workspace.dependencies]\nbuzz-sdk = { path = \"sdk\" }\n";
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        std::fs::create_dir(dir.path().join("plugins")).unwrap();
        dir
    }

    #[test]
    fn names_must_be_lower_snake_case_identifiers() {
        for good in ["weather", "quakes2", "air_quality", "a"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in ["", "2fast", "_x", "Weather", "air quality", "café", "x/../y", &"a".repeat(41)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("air-quality").unwrap_err().contains("try \"air_quality\""));
    }

    #[test]
    fn at_the_workspace_root_the_crate_joins_the_workspace() {
        let root = workspace_copy();
        let layout = layout("weather", root.path(), None);
        assert_eq!(layout.folder, root.path().join("plugins/weather"));
        assert_eq!(layout.workspace.as_deref(), Some(root.path()));
        // --dir plugins says the same.
        assert_eq!(super::layout("weather", root.path(), Some(Path::new("plugins"))), layout);
        // From elsewhere, a --dir naming the workspace's plugins folder too;
        // and from inside plugins/ (the members glob takes the crate anyway).
        let from_elsewhere = super::layout("weather", Path::new("/"), Some(&root.path().join("plugins")));
        assert_eq!(from_elsewhere.workspace.as_deref(), Some(root.path()));
        assert_eq!(super::layout("weather", &root.path().join("plugins"), None), layout);
    }

    #[test]
    fn elsewhere_the_crate_stands_alone() {
        let root = workspace_copy();
        // A folder inside the workspace other than plugins/: the crate is
        // not a member and needs a [workspace] of its own.
        let other_folder = root.path().join("tools");
        assert_eq!(layout("w", &other_folder, None), Layout { folder: other_folder.join("w"), workspace: None });
        let other = tempfile::tempdir().unwrap();
        assert_eq!(layout("w", other.path(), None).workspace, None);
        assert_eq!(layout("w", root.path(), Some(Path::new("elsewhere"))).workspace, None);
        // A workspace that does not offer buzz-sdk is not a buzz workspace.
        std::fs::write(root.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        assert!(!is_workspace_root(root.path()));
        assert!(!is_workspace_root(Path::new("/nonexistent")));
    }

    #[test]
    fn this_repository_is_a_buzz_workspace() {
        assert!(is_workspace_root(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")));
    }

    #[test]
    fn every_placeholder_is_filled() {
        let standalone = Layout { folder: "/tmp/w".into(), workspace: None };
        let member = Layout { folder: "/r/plugins/w".into(), workspace: Some("/r".into()) };
        let libraries = Libraries {
            sdk: "/r/plugins/sdk".into(),
            abi: "/r/plugins/abi".into(),
            plotkit: "/r/plugins/plotkit".into(),
        };
        for (layout, libraries) in [(standalone, Some(&libraries)), (member, None)] {
            for (path, text) in files("weather", &layout, libraries) {
                assert!(!text.contains("{{"), "{path} has a placeholder left: {text}");
            }
        }
    }

    #[test]
    fn a_standalone_manifest_is_its_own_workspace_with_the_workspace_versions() {
        let layout = Layout { folder: "/tmp/w".into(), workspace: None };
        let libraries = Libraries {
            sdk: "/opt/buzz \"x\"/plugins/sdk".into(),
            abi: "/opt/buzz \"x\"/plugins/abi".into(),
            plotkit: "/opt/buzz \"x\"/plugins/plotkit".into(),
        };
        let files = files("weather", &layout, Some(&libraries));
        let manifest = &files.iter().find(|(p, _)| p == "Cargo.toml").unwrap().1;
        let manifest: toml::Table = manifest.parse().unwrap();
        assert!(manifest.contains_key("workspace"));
        assert_eq!(manifest["lib"]["name"].as_str(), Some("buzz_plugin_weather"));
        let deps = &manifest["dependencies"];
        assert_eq!(deps["buzz-sdk"]["path"].as_str(), Some("/opt/buzz \"x\"/plugins/sdk"));
        assert_eq!(deps["buzz-plotkit"]["path"].as_str(), Some("/opt/buzz \"x\"/plugins/plotkit"));
        // An installed plotkit names buzz-sdk by version: the patch makes that the SDK above.
        assert_eq!(manifest["patch"]["crates-io"]["buzz-sdk"]["path"].as_str(), Some("/opt/buzz \"x\"/plugins/sdk"));
        // And an installed SDK names buzz-abi by version: the ABI crate beside it.
        assert_eq!(manifest["patch"]["crates-io"]["buzz-abi"]["path"].as_str(), Some("/opt/buzz \"x\"/plugins/abi"));
        // The root manifest's versions, so both build with the same crates.
        let root: toml::Table = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
        let workspace_deps = &root["workspace"]["dependencies"];
        // scripts/install packages plotkit and the SDK with these as their dependencies' versions.
        for name in ["buzz-sdk", "buzz-abi"] {
            assert_eq!(workspace_deps[name]["version"].as_str(), root["workspace"]["package"]["version"].as_str());
        }
        for name in ["serde", "serde_json", "schemars"] {
            let ours = deps[name].get("version").unwrap_or(&deps[name]);
            let theirs = workspace_deps[name].get("version").unwrap_or(&workspace_deps[name]);
            assert_eq!(ours.as_str(), theirs.as_str(), "{name}");
        }
        let pipeline = &files.iter().find(|(p, _)| p == "weather.toml").unwrap().1;
        let pipeline: toml::Table = pipeline.parse().unwrap();
        assert_eq!(pipeline["plugins_dir"].as_str(), Some("target/debug"));
        assert_eq!(pipeline["chart"]["type"].as_str(), Some("weather_bars"));
    }

    #[test]
    fn standalone_crates_are_formatted_like_the_repository() {
        let ours: toml::Table = RUSTFMT.parse().unwrap();
        let root = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../rustfmt.toml")).unwrap();
        assert_eq!(ours, root.parse::<toml::Table>().unwrap());
    }

    #[test]
    fn a_member_manifest_takes_everything_from_the_workspace() {
        let layout = Layout { folder: "/r/plugins/w".into(), workspace: Some("/r".into()) };
        let files = files("weather", &layout, None);
        let manifest: toml::Table = files.iter().find(|(p, _)| p == "Cargo.toml").unwrap().1.parse().unwrap();
        assert!(!manifest.contains_key("workspace"));
        assert_eq!(manifest["dependencies"]["buzz-sdk"]["workspace"].as_bool(), Some(true));
        assert_eq!(manifest["dependencies"]["buzz-plotkit"]["path"].as_str(), Some("../plotkit"));
        assert_eq!(manifest["package"]["version"]["workspace"].as_bool(), Some(true));
        let pipeline: toml::Table = files.iter().find(|(p, _)| p == "weather.toml").unwrap().1.parse().unwrap();
        assert!(!pipeline.contains_key("plugins_dir"), "plugins are found next to buzz in the workspace");
        assert!(!files.iter().any(|(p, _)| p == ".gitignore" || p == "rustfmt.toml"));
    }

    fn fake_crate(at: &Path, name: &str) {
        std::fs::create_dir_all(at).unwrap();
        std::fs::write(at.join("Cargo.toml"), format!("[package]\nname = \"{name}\"\n")).unwrap();
    }

    fn fake_sdk(at: &Path) {
        fake_crate(at, "buzz-sdk");
    }

    #[test]
    fn a_moved_binary_finds_the_installed_sdk_or_says_to_pass_sdk() {
        let dir = tempfile::tempdir().unwrap();
        let (prefix, gone) = (dir.path().join("prefix"), dir.path().join("deleted-checkout/runner"));
        let exe = prefix.join("bin/buzz");
        let err = find_sdk(None, dir.path(), Some(&exe), &gone).unwrap_err();
        assert!(err.contains("pass --sdk PATH") && err.contains("lib/buzz/sdk"), "{err}");
        fake_sdk(&prefix.join("lib/buzz/sdk"));
        let found = find_sdk(None, dir.path(), Some(&exe), &gone).unwrap();
        assert_eq!(found, prefix.join("lib/buzz/sdk").canonicalize().unwrap());
        // --sdk wins over what is found.
        fake_sdk(&dir.path().join("mine"));
        let given = find_sdk(Some(Path::new("mine")), dir.path(), Some(&exe), &gone).unwrap();
        assert_eq!(given, dir.path().join("mine").canonicalize().unwrap());
    }

    #[test]
    fn a_binary_in_a_moved_checkout_finds_that_checkout_sdk() {
        let dir = tempfile::tempdir().unwrap();
        let checkout = dir.path().join("moved");
        fake_sdk(&checkout.join("plugins/sdk"));
        let exe = checkout.join("target/release/buzz");
        let found = find_sdk(None, dir.path(), Some(&exe), &dir.path().join("gone/runner")).unwrap();
        assert_eq!(found, checkout.join("plugins/sdk").canonicalize().unwrap());
    }

    #[test]
    fn an_existing_folder_and_a_missing_sdk_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("taken")).unwrap();
        let args = |name: &str, sdk: Option<&str>| NewPluginArgs {
            name: name.into(),
            dir: Some(dir.path().to_path_buf()),
            sdk: sdk.map(PathBuf::from),
            plotkit: None,
        };
        let err = create(&args("taken", None), dir.path()).unwrap_err();
        assert!(err.contains("already exists"), "{err}");
        let err = create(&args("fresh", Some("no/such/sdk")), dir.path()).unwrap_err();
        assert!(err.contains("--sdk"), "{err}");
        assert!(!dir.path().join("fresh").exists(), "nothing is written when refused");
    }

    #[test]
    fn plotkit_is_found_beside_the_sdk_or_given_or_asked_for_and_the_abi_crate_beside_the_sdk() {
        let dir = tempfile::tempdir().unwrap();
        let installed = dir.path().join("prefix/lib/buzz");
        fake_sdk(&installed.join("sdk"));
        let exe = dir.path().join("prefix/bin/buzz");
        let gone = dir.path().join("gone/runner");
        let args = |plotkit: Option<&str>| NewPluginArgs {
            name: "w".into(),
            dir: None,
            sdk: None,
            plotkit: plotkit.map(PathBuf::from),
        };
        let err = find_libraries(&args(None), dir.path(), Some(&exe), &gone).unwrap_err();
        assert!(err.contains("--plotkit PATH") && err.contains("lib/buzz/plotkit"), "{err}");
        fake_crate(&installed.join("plotkit"), "buzz-plotkit");
        // An install from before the ABI crate had a folder of its own.
        let err = find_libraries(&args(None), dir.path(), Some(&exe), &gone).unwrap_err();
        assert!(err.contains("no buzz-abi crate beside the SDK") && err.contains("lib/buzz/abi"), "{err}");
        fake_crate(&installed.join("abi"), "buzz-abi");
        let found = find_libraries(&args(None), dir.path(), Some(&exe), &gone).unwrap();
        assert_eq!(found.plotkit, installed.join("plotkit").canonicalize().unwrap());
        assert_eq!(found.sdk, installed.join("sdk").canonicalize().unwrap());
        assert_eq!(found.abi, installed.join("abi").canonicalize().unwrap());
        // --plotkit wins, and must name a plotkit crate.
        fake_crate(&dir.path().join("mine"), "buzz-plotkit");
        let given = find_libraries(&args(Some("mine")), dir.path(), Some(&exe), &gone).unwrap();
        assert_eq!(given.plotkit, dir.path().join("mine").canonicalize().unwrap());
        let err = find_libraries(&args(Some("prefix/lib/buzz/sdk")), dir.path(), Some(&exe), &gone).unwrap_err();
        assert!(err.contains("no buzz-plotkit crate at") && err.contains("--plotkit"), "{err}");
    }
}
