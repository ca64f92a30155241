//! Shared by the in-process benchmarks: paths, temporary pipelines, and
//! running a pipeline to its end.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use buzz::config::{self, Override, PipelineSpec};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Writes `text` as a pipeline file in `dir` and loads it with `overrides`.
pub fn pipeline(dir: &Path, name: &str, text: &str, overrides: &[String]) -> PipelineSpec {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let overrides: Vec<Override> = overrides.iter().map(|o| Override::parse(o).unwrap()).collect();
    config::load(&path, &overrides).unwrap_or_else(|d| panic!("{name}: {d}"))
}

/// Pins this process (and the threads it starts from now on) to one core.
pub fn pin_to_one_core() -> bool {
    // SAFETY: a plain CPU set for the calling thread; new threads inherit it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// CPU seconds this process has used (all threads).
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
