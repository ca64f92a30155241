//! Runs of a pipeline file to its end, killed mid-run, and their charts
//! compared (the branch and chain tests share them).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::buzz;
use super::watched::wait_for;

/// `buzz run` of `pipeline` to its end, without watching the file.
pub fn run(pipeline: &Path, extra: &[&str]) -> Command {
    let mut command = buzz();
    command.arg("run").arg(pipeline).args(["--no-reload", "--exit-when-done"]).args(extra);
    command
}

/// Runs `command` to success; its log.
pub fn finish(mut command: Command) -> String {
    let output = command.output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "buzz failed:\n{log}");
    log
}

/// Starts `command` three times, killing it (SIGKILL) once `progress()`
/// reaches 10,000, 20,000 and 30,000; asserts at least two kills landed mid-run.
pub fn kill_9_three_times(command: impl Fn() -> Command, progress: impl Fn() -> usize) {
    let mut killed_mid_run = 0;
    for kill in 1..=3 {
        let mut child = command().spawn().unwrap();
        wait_for("records to flow", Duration::from_secs(60), || {
            progress() >= kill * 10_000 || child.try_wait().unwrap().is_some()
        });
        killed_mid_run += usize::from(child.try_wait().unwrap().is_none());
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(killed_mid_run >= 2, "{killed_mid_run} of 3 kills landed mid-run: make the run longer");
}

/// Same keys, and values equal but for the last bits of sums.
pub fn assert_close(actual: &BTreeMap<String, f64>, expected: &BTreeMap<String, f64>) {
    assert_eq!(actual.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{actual:?} vs {expected:?}");
    for (key, value) in expected {
        assert!((actual[key] - value).abs() < 1e-9, "{key}: {} vs {value}", actual[key]);
    }
}
