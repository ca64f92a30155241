//! The README as a user meets it: every picture it shows is in the
//! repository (a real PNG, small enough to load quickly), every shipped
//! pipeline's chart and the dashboard are among them, and it says how to
//! get a `buzz` command before its first example types one.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("runner is inside the workspace").to_path_buf()
}

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).unwrap()
}

/// The targets of Markdown images, `![alt](target)`.
fn image_targets(markdown: &str) -> Vec<String> {
    markdown
        .split("![")
        .skip(1)
        .filter_map(|rest| rest.split_once("](")?.1.split_once(')').map(|(target, _)| target.to_string()))
        .collect()
}

#[test]
fn every_picture_the_readme_shows_exists_and_is_a_small_png() {
    let targets = image_targets(&readme());
    assert!(!targets.is_empty(), "the README shows no pictures");
    for target in &targets {
        let path = repo_root().join(target);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("README shows {target}, which is missing: {e}"));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{target} is not a PNG");
        assert!(bytes.len() < 200 * 1024, "{target} is {} bytes, over 200 KB", bytes.len());
    }
    // Every shipped pipeline's chart, and the dashboard.
    for pipeline in std::fs::read_dir(repo_root().join("pipelines")).unwrap() {
        let name = pipeline.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned();
        let image = format!("docs/images/{name}.png");
        assert!(targets.contains(&image), "the README shows no chart of pipelines/{name}.toml ({image})");
    }
    assert!(targets.iter().any(|t| t == "docs/images/dashboard.png"), "no dashboard screenshot");
}

#[test]
fn the_readme_names_the_repository_it_replaces_near_the_top() {
    let readme = readme();
    let link = readme.find("(https://github.com/Elen-tesfai/buzzline-04-tesfai)").expect("no link to the seed");
    assert!(link < readme.find("\n## ").unwrap(), "the link is not in the introduction");
}

#[test]
fn buzz_is_put_on_the_path_before_an_example_types_it() {
    let readme = readme();
    let mut in_shell_block = false;
    let mut first_typed = None;
    let mut offset = 0;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_shell_block = line == "```sh";
        } else if in_shell_block && line.starts_with("buzz ") && first_typed.is_none() {
            first_typed = Some(offset);
        }
        offset += line.len() + 1;
    }
    let first_typed = first_typed.expect("no example types buzz");
    let told = readme.find("**Typing `buzz`.**").expect("the README never says how to get a buzz command");
    assert!(told < first_typed, "an example types buzz before the README says how to get it");
    assert!(readme[told..first_typed].contains("scripts/install"), "the way to install buzz is not given");
}
