//! Running buzz processes whose log lines the test reads as they come.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A buzz process whose stderr lines are collected as they come.
pub struct Watched {
    pub child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Watched {
    /// Starts `command` logging at `info`, or at the `BUZZ_LOG` it sets
    /// beyond `warn` (a test that waits for a debug line).
    pub fn spawn(mut command: Command) -> Watched {
        let chosen = command.get_envs().find(|(k, _)| *k == "BUZZ_LOG").and_then(|(_, v)| v);
        if chosen.is_none_or(|v| v == "warn") {
            command.env("BUZZ_LOG", "info");
        }
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Watched { child, lines }
    }

    pub fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// How many log lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines.lock().unwrap().iter().filter(|l| l.contains(needle)).count()
    }

    /// Waits until more than `seen` log lines contain `needle`; a timeout
    /// fails with what buzz said.
    pub fn wait_for_more(&self, needle: &str, seen: usize, limit: Duration, what: &str) {
        let started = Instant::now();
        while self.count(needle) <= seen {
            assert!(started.elapsed() < limit, "timed out waiting for {what}\n--- buzz said:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The partitions held after the latest assignment, revocation or loss
    /// ("partitions assigned: [...]; holding [...]").
    pub fn assignment(&self) -> BTreeSet<i32> {
        let lines = self.lines.lock().unwrap();
        let Some(line) = lines.iter().rev().find(|l| l.contains("partitions ") && l.contains("; holding [")) else {
            return BTreeSet::new();
        };
        let held = &line[line.find("holding [").unwrap() + "holding [".len()..];
        held[..held.find(']').unwrap()].split(',').filter_map(|p| p.trim().parse().ok()).collect()
    }

    /// Waits for the process to exit by itself, up to `limit`.
    pub fn exit_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        let mut status = None;
        wait_for("the process to exit", limit, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.expect("waited for above")
    }

    /// Ctrl-C, then waits for the exit: a run that does not stop within a
    /// minute fails the test rather than hanging it.
    pub fn interrupt(&mut self) -> std::process::ExitStatus {
        assert!(Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().unwrap().success());
        self.exit_within(Duration::from_secs(60))
    }
}

/// A test that fails leaves no buzz process running behind it.
impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
