//! Installing buzz: `scripts/install` lays out a prefix where the installed
//! binary finds its plugins with no setting, and the setup scripts say what
//! they install, or what to install when they cannot.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

#[test]
fn an_installed_buzz_finds_its_plugins_under_its_prefix() {
    require_plugins();
    let prefix = tempfile::tempdir().unwrap();
    let install = Command::new(repo_root().join("scripts/install"))
        .args(["--from".as_ref(), build_dir().as_os_str(), "--prefix".as_ref(), prefix.path().as_os_str()])
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
    let buzz = prefix.path().join("bin/buzz");
    let plugins = prefix.path().join("lib/buzz/plugins");
    let mut installed: Vec<String> =
        std::fs::read_dir(&plugins).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    installed.sort();
    assert!(installed.iter().all(|f| f.contains("buzz_plugin_")), "only plugins, no test fixtures: {installed:?}");

    // From another folder, with no plugin setting, it finds them there.
    let listed = Command::new(&buzz)
        .args(["plugins", "--json"])
        .current_dir(prefix.path())
        .env_remove("BUZZ_PLUGIN_PATH")
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let catalog: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let found: Vec<&Path> =
        catalog["plugins"].as_array().unwrap().iter().map(|p| Path::new(p["path"].as_str().unwrap())).collect();
    assert_eq!(found.len(), installed.len(), "{catalog}");
    assert!(found.iter().all(|p| p.starts_with(&plugins)), "{found:?}");
    assert_eq!(catalog["refused"], serde_json::json!([]));

    // The SDK, its ABI crate and plotkit stand alone there (no workspace settings to
    // inherit), and a plugin crate the installed buzz makes outside a
    // checkout uses them.
    let lib = prefix.path().join("lib/buzz").canonicalize().unwrap();
    for (folder, name) in [("abi", "buzz-abi"), ("sdk", "buzz-sdk"), ("plotkit", "buzz-plotkit")] {
        let manifest = std::fs::read_to_string(lib.join(folder).join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{name}\"")) && !manifest.contains("workspace = true"),
            "{manifest}"
        );
        assert!(lib.join(folder).join("src/lib.rs").is_file());
    }
    let elsewhere = tempfile::tempdir().unwrap();
    let made = Command::new(&buzz).current_dir(elsewhere.path()).args(["new", "plugin", "weather"]).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let crate_dir = elsewhere.path().join("weather");
    let crate_manifest: toml::Table = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap().parse().unwrap();
    let path_of =
        |dependency: &str| PathBuf::from(crate_manifest["dependencies"][dependency]["path"].as_str().unwrap());
    assert_eq!(path_of("buzz-sdk"), lib.join("sdk"));
    assert_eq!(path_of("buzz-plotkit"), lib.join("plotkit"));
    assert_builds_from_the_prefix_alone(&crate_dir, &lib, &buzz);

    // And it checks every shipped pipeline with them.
    let pipelines: Vec<String> = SHIPPED_PIPELINES.iter().map(|p| format!("pipelines/{p}")).collect();
    let checked = Command::new(&buzz)
        .arg("check")
        .args(&pipelines)
        .current_dir(repo_root())
        .env_remove("BUZZ_PLUGIN_PATH")
        .output()
        .unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
}

/// The crate in `crate_dir` builds offline with every buzz crate it uses
/// taken from the installed `lib` (none from the checkout), and the
/// installed `buzz` loads the plugin it makes.
fn assert_builds_from_the_prefix_alone(crate_dir: &Path, lib: &Path, buzz: &Path) {
    let build = cargo_in(crate_dir, &["build", "--offline", "--message-format=json"]);
    assert!(build.status.success(), "cargo build failed:\n{}", String::from_utf8_lossy(&build.stderr));
    let built: Vec<PathBuf> = String::from_utf8_lossy(&build.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter_map(|artifact| artifact["manifest_path"].as_str().map(PathBuf::from))
        .collect();
    for name in ["abi", "sdk", "plotkit"] {
        assert!(built.contains(&lib.join(name).join("Cargo.toml")), "{name} was not built from {}", lib.display());
    }
    let from_checkout: Vec<&PathBuf> = built.iter().filter(|p| p.starts_with(repo_root())).collect();
    assert!(from_checkout.is_empty(), "built from the checkout: {from_checkout:?}");

    let listed = Command::new(buzz)
        .args(["plugins", "--json", "--plugins-dir"])
        .arg(scaffold_target().join("debug"))
        .env_remove("BUZZ_PLUGIN_PATH")
        .output()
        .unwrap();
    let catalog: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let names: Vec<&str> = catalog["plugins"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(names.contains(&"weather"), "the installed buzz does not load the plugin: {catalog}");
}

/// The first `scripts/buzz` build says what it builds and how long it
/// takes, and lets cargo's progress through (a stand-in `cargo` prints a
/// progress line and fails, so nothing is built).
#[test]
fn the_first_build_shows_its_progress() {
    let bin = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let args_file = bin.path().join("args");
    let fake_cargo = bin.path().join("cargo");
    let script = format!(
        "#!/bin/sh\necho \"$@\" > '{}'\necho '   Compiling rdkafka-sys (stand-in)' >&2\nexit 3\n",
        args_file.display()
    );
    std::fs::write(&fake_cargo, script).unwrap();
    std::fs::set_permissions(&fake_cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap());
    let run = Command::new(repo_root().join("scripts/buzz"))
        .arg("--version")
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", target.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("scripts/buzz: first build of buzz and its plugins (release"), "{stderr}");
    assert!(stderr.contains("several minutes on 2 cores"), "{stderr}");
    assert!(stderr.contains("Compiling rdkafka-sys (stand-in)"), "cargo's progress is hidden: {stderr}");
    let args = std::fs::read_to_string(&args_file).unwrap();
    assert!(args.starts_with("build --release --workspace"), "{args}");
    assert!(!args.contains("--quiet"), "{args}");
}

/// A folder for a user other than root: a PATH of the commands named
/// (found in /usr/bin or /bin), that anyone may read.
fn path_of(commands: &[&str]) -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for command in commands {
        let found = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
            .iter()
            .map(|dir| Path::new(dir).join(command))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{command} is not installed"));
        std::os::unix::fs::symlink(found, bin.path().join(command)).unwrap();
    }
    bin
}

/// `scripts/install-packages setup-test <packages>` run as the user nobody
/// with `path` as its PATH (from a copy there: the checkout's folders may
/// be closed to other users).
fn install_packages_as_nobody(path: &Path, packages: &[&str]) -> std::process::Output {
    let script = path.join("install-packages");
    std::fs::copy(repo_root().join("scripts/install-packages"), &script).unwrap();
    Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&script)
        .arg("setup-test")
        .args(packages)
        .env_clear()
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn a_user_without_sudo_is_told_which_packages_to_install() {
    let bin = path_of(&["bash", "env", "id", "apt-get"]);
    let run = install_packages_as_nobody(bin.path(), &["pkg-one", "pkg-two"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sudo is not available): pkg-one pkg-two"), "{stderr}");
    assert!(stderr.contains("as root, run: apt-get install pkg-one pkg-two"), "{stderr}");
}

#[test]
fn a_user_with_sudo_installs_through_it_after_naming_the_packages() {
    let bin = path_of(&["bash", "env", "id", "apt-get"]);
    // A sudo that only records what it was asked to run, in a file nobody
    // may write: the packages are not really installed.
    let record = bin.path().join("sudo.log");
    std::fs::write(&record, "").unwrap();
    std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o666)).unwrap();
    let sudo = bin.path().join("sudo");
    std::fs::write(&sudo, format!("#!/bin/sh\necho \"$*\" >> {}\n", record.display())).unwrap();
    std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = install_packages_as_nobody(bin.path(), &["pkg-one", "pkg-two"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("setup-test: installing pkg-one pkg-two with apt-get (through sudo)"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&record).unwrap(),
        "apt-get update -qq\nenv DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-one pkg-two\n"
    );
}
