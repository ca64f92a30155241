//! `buzz run`: start pipelines, stop them cleanly on Ctrl-C (or when done),
//! write the final charts and the summary.

use std::path::Path;

use crate::cli::RunArgs;
use crate::config::{self, DEFAULT_PORT, Listen, Override, PipelineSpec};
use crate::dashboard;
use crate::pipeline::{self, Role, RunOptions, Running, Summary};
use crate::plugin_host::Catalog;
use crate::transport::{self, kafka::hosting::HostedBroker};

use super::two_terminals;

pub fn run(args: RunArgs) -> i32 {
    let overrides = match super::parse_overrides(&args.set) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let mut loaded = Vec::new();
    for path in &args.pipelines {
        match config::load(path, &overrides, &Catalog::search) {
            Ok(spec) => loaded.push(spec),
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                return 1;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return 1;
        }
    };
    let (specs, hosts) = match runtime.block_on(find_hosts(loaded, args.role, &overrides)) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let listens: Vec<Option<String>> = specs.iter().map(|(s, _)| s.dashboard_listen.clone()).collect();
    let listen = match config::resolve_listen(args.http.as_deref(), &listens) {
        Ok(listen) => listen,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let options = RunOptions { role: args.role, exit_when_done: args.exit_when_done };
    let summaries = match runtime.block_on(run_all(specs, options, !args.no_reload, listen, hosts)) {
        Ok(summaries) => summaries,
        Err(code) => return code,
    };
    for s in &summaries {
        tracing::info!(
            pipeline = %s.pipeline,
            "done: {} records in, {} out, {} dead letters, {} frames in {:.2} s",
            s.records_in,
            s.records_out,
            s.dead_letter,
            s.frames,
            s.elapsed_s
        );
        for b in &s.branches {
            let refusing = b.refusing.as_ref().map(|why| format!("; refusing: {why}")).unwrap_or_default();
            tracing::info!(
                pipeline = %s.pipeline,
                "branch {}: {} out, {} dead letters, {} frames{refusing}",
                b.name.as_deref().unwrap_or_default(),
                b.records_out,
                b.dead_letter,
                b.chart.frames_drawn
            );
        }
    }
    if let Some(path) = &args.summary
        && let Err(e) = write_summary(path, &summaries)
    {
        eprintln!("cannot write the summary to {}: {e}", path.display());
        return 1;
    }
    match summaries.iter().find_map(|s| s.error.as_ref().map(|e| (&s.pipeline, e))) {
        Some((pipeline, error)) => {
            eprintln!("pipeline {pipeline} stopped: {error}");
            1
        }
        None => 0,
    }
}

/// Points consumers on the embedded broker at the process hosting it,
/// waiting for one (Ctrl-C stops the wait); each pipeline gets its overrides.
async fn find_hosts(
    loaded: Vec<PipelineSpec>,
    role: Role,
    overrides: &[Override],
) -> Result<(Vec<(PipelineSpec, Vec<Override>)>, Vec<HostedBroker>), i32> {
    let (mut specs, mut hosts) = (Vec::new(), Vec::new());
    for spec in loaded {
        let mut own = overrides.to_vec();
        let path = spec.file.path.clone();
        let found = tokio::select! {
            found = two_terminals::find_host(spec, role, &mut own) => found,
            () = shutdown_signal() => {
                tracing::info!("stopped while waiting for a host");
                return Err(0);
            }
        };
        match found {
            Ok((spec, host)) => {
                specs.push((spec, own));
                hosts.extend(host);
            }
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return Err(1);
            }
        }
    }
    Ok((specs, hosts))
}

/// Runs the pipelines (each with its overrides) to their end; with
/// `reload`, each one's file and plugins are watched and changes applied
/// live. `hosts` are the embedded brokers of other processes they use.
async fn run_all(
    specs: Vec<(PipelineSpec, Vec<Override>)>,
    options: RunOptions,
    reload: bool,
    listen: Listen,
    hosts: Vec<HostedBroker>,
) -> Result<Vec<Summary>, i32> {
    let mut running: Vec<Running> = Vec::new();
    let mut reloaders = Vec::new();
    let mut hosting = Vec::new();
    for (spec, overrides) in &specs {
        warn_about_lone_producer(spec, options);
        match pipeline::start(spec, options) {
            Ok(r) => {
                let charts: Vec<String> =
                    spec.branches.iter().map(|b| format!("{}.svg", b.chart_output.base.display())).collect();
                let (noun, charts) = (if charts.len() > 1 { "charts" } else { "chart" }, charts.join(", "));
                tracing::info!(pipeline = %spec.name, role = options.role.name(), "running {}; {noun}: {charts}", spec.outline());
                hosting.extend(two_terminals::host(spec, options.role));
                if reload {
                    match crate::reload::spawn(&spec.file.path, overrides, spec.clone(), r.handle()) {
                        Ok(thread) => reloaders.push(thread),
                        Err(e) => {
                            tracing::warn!(pipeline = %spec.name, "cannot watch {} for changes (hot reload is off): {e}", spec.file.path.display())
                        }
                    }
                }
                running.push(r);
            }
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                for r in running {
                    r.stop_token().stop();
                    r.wait();
                }
                return Err(1);
            }
        }
    }
    if options.role.consumes() {
        let views = running.iter().zip(&specs).map(|(r, (spec, _))| dashboard_view(&spec.name, r)).collect();
        let allowed_hosts: Vec<String> = specs.iter().flat_map(|(s, _)| s.dashboard_allowed_hosts.clone()).collect();
        serve_dashboard(listen, views, &allowed_hosts).await;
    }
    let tokens: Vec<_> = running.iter().map(Running::stop_token).collect();
    two_terminals::watch_hosts(hosts, tokens.clone());
    let waiter = tokio::task::spawn_blocking(move || running.into_iter().map(Running::wait).collect::<Vec<_>>());
    tokio::pin!(waiter);
    let joined = tokio::select! {
        joined = &mut waiter => {
            if !hosting.is_empty() && !options.exit_when_done {
                // Consumers in other processes still read from this broker.
                tracing::info!("the source is done; the embedded broker stays up for consumers in other processes until this process is stopped (Ctrl-C)");
                shutdown_signal().await;
            }
            joined
        }
        () = shutdown_signal() => {
            tracing::info!("stopping: finishing the records in flight and writing the final charts (press Ctrl-C again to quit at once)");
            tokens.iter().for_each(|t| t.stop());
            tokio::spawn(async {
                shutdown_signal().await;
                eprintln!("stopped at once");
                std::process::exit(130);
            });
            waiter.await
        }
    };
    for reloader in reloaders {
        let _ = reloader.join();
    }
    drop(hosting);
    joined.map_err(|e| {
        eprintln!("a pipeline thread failed: {e}");
        1
    })
}

/// What the dashboard shows of a running pipeline.
fn dashboard_view(name: &str, running: &Running) -> dashboard::PipelineView {
    dashboard::PipelineView {
        name: name.to_string(),
        shared: running.shared().clone(),
        files: running.chart_files().first().cloned(),
    }
}

/// Starts the dashboard (a failure to serve it is reported, not fatal).
async fn serve_dashboard(listen: Listen, views: Vec<dashboard::PipelineView>, allowed_hosts: &[String]) {
    let loopback = |port| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let bound = match listen {
        Listen::Off => return,
        Listen::At(addr) => dashboard::serve(addr, views, allowed_hosts).await,
        Listen::Default => match dashboard::serve(loopback(DEFAULT_PORT), views.clone(), allowed_hosts).await {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                tracing::info!("port {DEFAULT_PORT} is taken; the dashboard uses a free port instead");
                dashboard::serve(loopback(0), views, allowed_hosts).await
            }
            other => other,
        },
    };
    match bound {
        Ok(addr) => tracing::info!("dashboard at http://{addr}/"),
        Err(e) => tracing::error!("cannot serve the dashboard: {e}; the pipelines run without it"),
    }
}

/// A producer alone may need to know what its transport costs it (the
/// embedded broker it hosts for consumers in other processes is an
/// in-memory test broker).
fn warn_about_lone_producer(spec: &PipelineSpec, options: RunOptions) {
    if options.role == Role::Produce
        && let Some(warning) = transport::lone_producer_warning(&spec.transport)
    {
        tracing::warn!(pipeline = %spec.name, "{warning}");
    }
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await,
        };
        tokio::select! {
            () = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

fn write_summary(path: &Path, summaries: &[Summary]) -> std::io::Result<()> {
    let json = match summaries {
        [one] => serde_json::to_value(one),
        many => serde_json::to_value(serde_json::json!({ "pipelines": many })),
    }
    .map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    crate::atomic_write::write_atomic(
        path,
        serde_json::to_string_pretty(&json).map_err(std::io::Error::other)?.as_bytes(),
    )
}
