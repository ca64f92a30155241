//! The live dashboard: in a real headless Chromium, and its push stream
//! and pages with plain HTTP clients.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::browser::{Browser, http_get, http_request};
use common::toml_file::TomlFile;
use common::watched::{Watched, wait_for};
use common::*;
use serde_json::Value;

/// A copy of a shipped pipeline in `dir` with its output paths moved there.
fn pipeline_in(shipped: &str, dir: &Path) -> std::path::PathBuf {
    shipped_copy(shipped, dir, &dir.join(Path::new(shipped).file_stem().unwrap()))
}

fn run_command(pipelines: &[&Path], extra: &[&str]) -> std::process::Command {
    let mut command = buzz();
    command.arg("run").args(pipelines).args(extra);
    command
}

/// Two pipelines side by side, with the page open: buzz messages over a
/// file, and the smoker over the embedded Kafka broker, both paced so
/// values change.
fn buzz_and_smoker_live(dir: &Path) -> (Watched, Browser) {
    let buzz_file = pipeline_in("pipelines/buzz-file.toml", dir);
    let smoker = pipeline_in("pipelines/smoker.toml", dir);
    let (run, port) = run_with_dashboard(run_command(&[&buzz_file, &smoker], &["--set", "source.interval_ms=40"]));
    (run, Browser::open(&format!("http://127.0.0.1:{port}/")))
}

/// The `Author: count` tooltips of the buzz bar chart on the page, as a map.
const BAR_TOOLTIPS: &str = r#"Object.fromEntries([...document.querySelectorAll('section[data-pipeline="buzz-file"] .chart svg .buzz-tooltips title')].map(t => t.textContent.split(': ')).map(([k, v]) => [k, Number(v)]))"#;

#[test]
fn the_dashboard_shows_every_pipeline_live_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (mut run, mut browser) = buzz_and_smoker_live(dir.path());

    // Both charts arrive, with their titles, and the stats beside them.
    browser.wait_for("the buzz chart", r#"document.querySelector('section[data-pipeline="buzz-file"] .chart svg')?.textContent.includes('Basic Real-Time Author Message Counts')"#, Duration::from_secs(30));
    browser.wait_for(
        "the smoker chart",
        r#"document.querySelector('section[data-pipeline="smoker"] .chart svg')?.textContent.includes('Smart Smoker')"#,
        Duration::from_secs(30),
    );
    browser.wait_for("live stats", r#"Number(document.querySelector('section[data-pipeline="buzz-file"] .records-in').textContent.replace(/\D/g, '')) > 0"#, Duration::from_secs(30));
    assert_eq!(browser.eval("document.getElementById('connection').textContent"), "live");
    browser.wait_for(
        "the transport state",
        r#"document.querySelector('section[data-pipeline="smoker"] .transport').textContent.startsWith('connected')"#,
        Duration::from_secs(30),
    );

    // Records flow: the chart on the page changes to the new values.
    let before = browser.wait_for(
        "bars with tooltips",
        &format!("(() => {{ const t = {BAR_TOOLTIPS}; return Object.keys(t).length ? t : null }})()"),
        Duration::from_secs(30),
    );
    let total = |v: &Value| v.as_object().unwrap().values().map(|n| n.as_f64().unwrap()).sum::<f64>();
    let after = browser.wait_for(
        "the chart to show more messages",
        &format!("(() => {{ const t = {BAR_TOOLTIPS}; const sum = Object.values(t).reduce((a, b) => a + b, 0); return sum >= {} + 5 ? t : null }})()", total(&before)),
        Duration::from_secs(30),
    );
    assert!(total(&after) > total(&before));
    browser.screenshot(&repo_root().join("target/test-artifacts/dashboard.png"));

    // Each chart downloads as SVG, PNG and JSON from the page's links.
    for (kind, content_type) in [("svg", "image/svg+xml"), ("png", "image/png"), ("json", "application/json")] {
        let fetched = browser.eval(&format!(
            r#"(async () => {{ const r = await fetch(document.querySelector('section[data-pipeline="smoker"] a.{kind}').href); const b = await r.arrayBuffer(); return [r.status, r.headers.get('content-type'), r.headers.get('content-disposition'), b.byteLength] }})()"#
        ));
        assert_eq!(fetched[0], 200, "{kind}: {fetched}");
        assert_eq!(fetched[1], content_type, "{kind}: {fetched}");
        assert_eq!(fetched[2], format!("attachment; filename=\"smoker.{kind}\""));
        assert!(fetched[3].as_u64().unwrap() > 100, "{kind}: {fetched}");
    }
    assert!(run.interrupt().success(), "{}", run.text());
}

/// Reads server-sent events from the dashboard until `done` says stop;
/// fails if that takes longer than `limit` (the stream never ends by itself:
/// stats come every second).
fn read_events(port: u16, limit: Duration, mut done: impl FnMut(&str, &Value) -> bool) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(limit)).unwrap();
    write!(stream, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    let started = Instant::now();
    let mut event = String::new();
    for line in BufReader::new(stream).lines() {
        let line = line.expect("the event stream stays open");
        assert!(started.elapsed() < limit, "timed out reading events");
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.to_string();
        } else if let Some(data) = line.strip_prefix("data: ")
            && let Ok(data) = serde_json::from_str(data)
            && done(&event, &data)
        {
            return;
        }
    }
    panic!("the event stream ended");
}

/// The sum of the author counts in a buzz bar chart's SVG tooltips.
fn charted_in_svg(svg: &str) -> f64 {
    svg.split("<title>")
        .skip(1)
        .filter_map(|t| t.split("</title>").next()?.rsplit(": ").next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn a_late_client_gets_the_current_frame_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let buzz_file = pipeline_in("pipelines/buzz-file.toml", dir.path());
    // A finite source, soon exhausted: after that no new frame is drawn.
    let (mut run, port) =
        run_with_dashboard(run_command(&[&buzz_file], &["--set", "source.interval_ms=0", "--set", "source.count=500"]));
    // An early client follows the frames up to the one with all 500.
    let mut last = None;
    read_events(port, Duration::from_secs(30), |event, data| {
        if event == "frame" && charted_in_svg(data["svg"].as_str().unwrap()) == 500.0 {
            last = Some(data.clone());
            return true;
        }
        false
    });
    let last = last.unwrap();

    // The pipeline is idle now; a new client's first frame is that one (no
    // new frame has to be drawn for it to get one).
    let mut first = None;
    read_events(port, Duration::from_secs(10), |event, data| {
        if event == "frame" {
            first = Some(data.clone());
            return true;
        }
        false
    });
    let first = first.unwrap();
    assert_eq!(first["pipeline"], "buzz-file");
    assert_eq!(first["sequence"], last["sequence"], "the late client got another frame than the current one");
    assert_eq!(first["svg"], last["svg"]);
    assert!(first["svg"].as_str().unwrap().contains("Basic Real-Time Author Message Counts"));
    assert!(run.interrupt().success(), "{}", run.text());
}

/// Bytes queued on the loopback connection from `local_port` to
/// `remote_port` (/proc/net/tcp): (not yet sent, received but unread).
fn tcp_queues(local_port: u16, remote_port: u16) -> Option<(u64, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = |address: &str| u16::from_str_radix(address.rsplit(':').next()?, 16).ok();
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if port(fields[1])? != local_port || port(fields[2])? != remote_port {
            return None;
        }
        let (tx, rx) = fields[4].split_once(':')?;
        Some((u64::from_str_radix(tx, 16).ok()?, u64::from_str_radix(rx, 16).ok()?))
    })
}

#[test]
fn stalled_and_vanishing_clients_do_not_hold_up_the_pipeline() {
    use std::os::fd::AsRawFd;

    let dir = tempfile::tempdir().unwrap();
    let buzz_file = pipeline_in("pipelines/buzz-file.toml", dir.path());
    let summary = dir.path().join("summary.json");
    let extra =
        ["--set", "source.interval_ms=1", "--set", "source.count=20000", "--summary", summary.to_str().unwrap()];
    let (mut run, port) = run_with_dashboard(run_command(&[&buzz_file], &extra));
    // A client that asks for the stream and never reads it, with a small
    // receive buffer so that it fills at once...
    let mut stalled = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let small: libc::c_int = 4096;
    // SAFETY: a valid socket and option; the value outlives the call.
    let set = unsafe {
        libc::setsockopt(
            stalled.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&small as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0);
    write!(stalled, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    // ...and many that come and go.
    for _ in 0..50 {
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(client, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    }
    // The stalled client's buffer is full and the dashboard has frames for
    // it that it cannot send.
    let client_port = stalled.local_addr().unwrap().port();
    wait_for("the stalled client's socket to fill", Duration::from_secs(30), || {
        let unread = tcp_queues(client_port, port).map_or(0, |(_, rx)| rx);
        let unsent = tcp_queues(port, client_port).map_or(0, |(tx, _)| tx);
        unread > 0 && unsent > 0
    });
    // The pipeline keeps going all the same: its counts rise past where
    // they were when the socket filled.
    let records = || -> u64 {
        serde_json::from_str::<Value>(&http_get(port, "/api/stats")).unwrap()[0]["records_in"].as_u64().unwrap()
    };
    let when_full = records();
    wait_for("the pipeline to go on past the stalled client", Duration::from_secs(30), || records() >= when_full + 500);
    assert!(tcp_queues(port, client_port).is_some_and(|(tx, _)| tx > 0), "the stalled client is still stalled");
    assert!(run.interrupt().success(), "{}", run.text());
    let summary = read_json(&summary);
    assert!(summary["records_in"].as_u64().unwrap() >= when_full + 500, "{summary}");
    assert_eq!(summary["records_in"], summary["records_out"]);
    drop(stalled);
}

#[test]
fn the_dashboard_serves_only_its_own_pages() {
    let dir = tempfile::tempdir().unwrap();
    let buzz_file = pipeline_in("pipelines/buzz-file.toml", dir.path());
    let (mut run, port) = run_with_dashboard(run_command(&[&buzz_file], &["--set", "source.interval_ms=50"]));
    assert!(http_get(port, "/").contains("<title>buzz: live charts</title>"));
    assert!(http_get(port, "/assets/app.js").contains("EventSource"));
    let pipelines: Value = serde_json::from_str(&http_get(port, "/api/pipelines")).unwrap();
    assert_eq!(pipelines[0]["name"], "buzz-file");
    for path in [
        "/../Cargo.toml",
        "/assets/../../Cargo.toml",
        "/etc/passwd",
        "/charts/nope/chart.svg",
        "/charts/buzz-file/../../README.md",
    ] {
        let (status, _) = http_request(port, path);
        assert!(status.contains(" 404 "), "{path}: {status}");
    }
    assert!(run.interrupt().success(), "{}", run.text());
}

/// The status line and body of a GET whose Host header is `host`.
fn request_for_host(port: u16, host: &str, path: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    std::io::Read::read_to_end(&mut stream, &mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head") + 4;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    (head.lines().next().unwrap_or_default().to_string(), response[split..].to_vec())
}

#[test]
fn only_loopback_the_listen_address_and_allowed_hosts_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let buzz_file = pipeline_in("pipelines/buzz-file.toml", dir.path());
    let (mut run, port) = run_with_dashboard(run_command(&[&buzz_file], &["--set", "source.interval_ms=50"]));
    // A DNS-rebinding page reaches loopback with its own name as the host.
    for path in ["/api/stats", "/", "/charts/buzz-file/chart.json", "/events"] {
        let (status, body) = request_for_host(port, &format!("rebind.example:{port}"), path);
        assert!(status.contains(" 403 "), "{path}: {status}");
        assert!(String::from_utf8_lossy(&body).contains("does not answer to the host \"rebind.example:"), "{path}");
    }
    // Addresses other than loopback's are refused while it listens on loopback.
    assert!(request_for_host(port, "192.168.1.10", "/api/stats").0.contains(" 403 "));
    for host in [format!("localhost:{port}"), "localhost".into(), format!("127.0.0.1:{port}"), format!("[::1]:{port}")]
    {
        let (status, _) = request_for_host(port, &host, "/api/stats");
        assert!(status.contains(" 200 "), "{host}: {status}");
    }
    assert!(run.interrupt().success(), "{}", run.text());

    // Listening on every interface, any address is answered, and the names
    // in allowed_hosts, but still no other name.
    let text = std::fs::read_to_string(&buzz_file).unwrap()
        + "\n[dashboard]\nlisten = \"0.0.0.0:0\"\nallowed_hosts = [\"Buzz.Test\"]\n";
    std::fs::write(&buzz_file, text).unwrap();
    let mut command = run_command(&[&buzz_file], &["--set", "source.interval_ms=50"]);
    command.env_remove("BUZZ_HTTP"); // the file's [dashboard] listen, not "off"
    let mut run = Watched::spawn(command);
    let mut port = None;
    wait_for("the dashboard address", Duration::from_secs(30), || {
        port = run
            .text()
            .lines()
            .find_map(|l| l.split("dashboard at http://0.0.0.0:").nth(1)?.trim_end_matches('/').parse().ok());
        port.is_some()
    });
    let port: u16 = port.unwrap();
    for host in [format!("buzz.test:{port}"), format!("10.1.2.3:{port}"), format!("localhost:{port}")] {
        let (status, _) = request_for_host(port, &host, "/api/stats");
        assert!(status.contains(" 200 "), "{host}: {status}");
    }
    assert!(request_for_host(port, &format!("rebind.example:{port}"), "/api/stats").0.contains(" 403 "));
    assert!(run.interrupt().success(), "{}", run.text());
}

/// `/api/renders`: PNGs drawn for downloads, and the most drawn at once.
fn renders(port: u16) -> Value {
    serde_json::from_str(&http_get(port, "/api/renders")).unwrap()
}

#[test]
fn downloads_of_one_frame_draw_its_png_once() {
    let dir = tempfile::tempdir().unwrap();
    let buzz_file = pipeline_in("pipelines/buzz-file.toml", dir.path());
    let (mut run, port) =
        run_with_dashboard(run_command(&[&buzz_file], &["--set", "source.interval_ms=0", "--set", "source.count=300"]));
    // The frame with all 300 is published; the source is exhausted, so the
    // frame no longer changes.
    read_events(port, Duration::from_secs(30), |event, data| {
        event == "frame" && charted_in_svg(data["svg"].as_str().unwrap()) == 300.0
    });
    assert_eq!(renders(port)["png_renders"], 0);
    let (first_status, first) = request_for_host(port, "127.0.0.1", "/charts/buzz-file/chart.png");
    let (second_status, second) = request_for_host(port, "127.0.0.1", "/charts/buzz-file/chart.png?download");
    assert!(first_status.contains(" 200 ") && second_status.contains(" 200 "), "{first_status} / {second_status}");
    assert!(first.starts_with(b"\x89PNG\r\n\x1a\n") && first.len() > 1000);
    assert_eq!(first, second);
    assert_eq!(renders(port)["png_renders"], 1, "the second download drew the frame again");
    assert!(run.interrupt().success(), "{}", run.text());
}

#[test]
fn parallel_png_downloads_never_draw_more_than_the_bound_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Two pipelines whose frames change 60 times a second: without a bound,
    // downloads of both would draw their PNGs side by side.
    let one = pipeline_in("pipelines/buzz-file.toml", dir.path());
    let two = dir.path().join("buzz-two.toml");
    let out = |name: &str| dir.path().join("buzz-two").join(name).display().to_string();
    let mut copy = TomlFile::open(&one);
    copy.set("name", "buzz-two").set("transport.path", out("buzz_two.json")).set("chart.output", out("buzz-two"));
    copy.save(&two);
    let extra = ["--set", "source.interval_ms=1", "--set", "chart.fps=60"];
    let (mut run, port) = run_with_dashboard(run_command(&[&one, &two], &extra));
    wait_for("both charts drawn", Duration::from_secs(30), || {
        ["buzz-file", "buzz-two"]
            .iter()
            .all(|p| http_request(port, &format!("/charts/{p}/chart.svg")).0.contains(" 200 "))
    });
    let until = Instant::now() + Duration::from_secs(3);
    let downloads: Vec<_> = (0..40)
        .map(|i| {
            std::thread::spawn(move || {
                let mut done = 0;
                while Instant::now() < until {
                    let pipeline = if i % 2 == 0 { "buzz-file" } else { "buzz-two" };
                    let (status, png) = request_for_host(port, "127.0.0.1", &format!("/charts/{pipeline}/chart.png"));
                    assert!(status.contains(" 200 ") && png.starts_with(b"\x89PNG"), "{status}");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let downloaded: u64 = downloads.into_iter().map(|d| d.join().unwrap()).sum();
    let counts = renders(port);
    let drawn = counts["png_renders"].as_u64().unwrap();
    assert!(drawn > 0 && drawn < downloaded, "{drawn} PNGs drawn for {downloaded} downloads");
    assert_eq!(counts["png_render_limit"], 1);
    assert_eq!(counts["png_renders_peak"], 1, "{counts}");
    assert!(run.interrupt().success(), "{}", run.text());
}

/// The stats panel of `pipeline` on the page, field by field.
fn panel(browser: &mut Browser, pipeline: &str) -> Value {
    browser.eval(&format!(
        r#"(() => {{ const s = document.querySelector('section[data-pipeline="{pipeline}"]'); const t = c => s.querySelector(c).textContent; return {{ records_in: t('.records-in'), records_out: t('.records-out'), rate: t('.rate'), dead_letter: t('.dead-letter'), last_reload: t('.last-reload'), transport: t('.transport') }} }})()"#
    ))
}

#[test]
fn the_stats_panel_shows_what_the_api_and_the_summary_say() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline_in("pipelines/buzz-file.toml", dir.path());
    let transport = dir.path().join("transport.jsonl");
    let line = |i: usize| {
        format!("{{\"message\": \"m{i}\", \"author\": \"Alice\", \"timestamp\": \"2026-01-01 00:00:00\"}}\n")
    };
    let mut text: String = (0..300).map(line).collect();
    text.push_str("not JSON\n{\"message\": 1}\n[]\n");
    std::fs::write(&transport, text).unwrap();
    let summary = dir.path().join("summary.json");
    let mut command = run_command(&[&pipeline], &["--role", "consume", "--summary", summary.to_str().unwrap()]);
    command.args(["--set", &format!("transport.path={}", transport.display())]);
    let (mut run, port) = run_with_dashboard(command);
    let mut browser = Browser::open(&format!("http://127.0.0.1:{port}/"));
    let api = || serde_json::from_str::<Value>(&http_get(port, "/api/stats")).unwrap()[0].clone();

    // Everything read: 300 charted, 3 dead letters, on the page as in the API.
    browser.wait_for(
        "the counts on the page",
        r#"document.querySelector('section[data-pipeline="buzz-file"] .records-in')?.textContent === '303'"#,
        Duration::from_secs(30),
    );
    // Records are counted in as read, out and dead once the batch is done.
    wait_for("the batch to be charted", Duration::from_secs(30), || {
        let stats = api();
        stats["records_out"].as_u64().unwrap_or(0) + stats["dead_letter"].as_u64().unwrap_or(0) >= 303
    });
    let stats = api();
    assert_eq!(
        (stats["records_in"].as_u64(), stats["records_out"].as_u64(), stats["dead_letter"].as_u64()),
        (Some(303), Some(300), Some(3))
    );
    browser.wait_for(
        "the dead letters on the page",
        r#"document.querySelector('section[data-pipeline="buzz-file"] .dead-letter')?.textContent === '3'"#,
        Duration::from_secs(30),
    );
    let shown = panel(&mut browser, "buzz-file");
    assert_eq!(
        (&shown["records_out"], &shown["dead_letter"], &shown["last_reload"]),
        (&"300".into(), &"3".into(), &"none".into())
    );
    assert!(shown["transport"].as_str().unwrap().starts_with(stats["transport"]["state"].as_str().unwrap()), "{shown}");

    // Records arriving: the rate on the page rises above 0.
    let mut file = std::fs::OpenOptions::new().append(true).open(&transport).unwrap();
    for i in 0..60 {
        file.write_all(line(1000 + i).as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(25));
    }
    browser.wait_for(
        "a rate above 0",
        r#"Number(document.querySelector('section[data-pipeline="buzz-file"] .rate').textContent) > 0"#,
        Duration::from_secs(10),
    );
    // A trickle keeps its decimal; a flood is a whole number.
    assert_eq!(
        browser.eval("[formatRate(0.4), formatRate(2.25), formatRate(0), formatRate(1234.4)]"),
        serde_json::json!(["0.4", "2.3", "0", "1,234"])
    );

    // A reload applied, then one refused: the page says which, with the error.
    let toml = std::fs::read_to_string(&pipeline).unwrap();
    TomlFile::parse(&toml).set("chart.title", "Panel").save(&pipeline);
    let applied = browser.wait_for(
        "the applied reload",
        r#"(() => { const t = document.querySelector('section[data-pipeline="buzz-file"] .last-reload').textContent; return t.startsWith('applied') ? t : null })()"#,
        Duration::from_secs(30),
    );
    assert!(applied.as_str().unwrap().ends_with(api()["last_reload"]["message"].as_str().unwrap()), "{applied}");
    assert!(applied.as_str().unwrap().contains("Panel"), "{applied}");
    // A header left open is not TOML: written as text, on purpose.
    std::fs::write(&pipeline, toml.replace("[chart]", "[chart")).unwrap();
    let refused = browser.wait_for(
        "the refused reload",
        r#"(() => { const t = document.querySelector('section[data-pipeline="buzz-file"] .last-reload'); return t.textContent.startsWith('refused') && t.classList.contains('error') ? t.textContent : null })()"#,
        Duration::from_secs(30),
    );
    let error = api()["last_reload"]["message"].as_str().unwrap().to_string();
    assert!(error.contains("invalid TOML") && error.contains(&format!("{}:", pipeline.display())), "{error}");
    assert!(refused.as_str().unwrap().ends_with(&error), "{refused}");

    // The summary agrees with the last figures on the page.
    browser.wait_for(
        "all 363 read",
        r#"document.querySelector('section[data-pipeline="buzz-file"] .records-in').textContent === '363'"#,
        Duration::from_secs(30),
    );
    let shown = panel(&mut browser, "buzz-file");
    assert!(run.interrupt().success(), "{}", run.text());
    let summary = read_json(&summary);
    assert_eq!(summary["records_in"], 363);
    assert_eq!(shown["records_out"], summary["records_out"].to_string());
    assert_eq!(shown["dead_letter"], summary["dead_letter"].to_string());
    assert_eq!((&summary["reloads_applied"], &summary["reloads_refused"]), (&1.into(), &1.into()));
}

/// Waits until the page has shown `more` frames of `pipeline` after now.
fn wait_for_frames(browser: &mut Browser, pipeline: &str, more: u64) {
    let sequence = |b: &mut Browser| {
        let expression =
            format!(r#"Number(document.querySelector('section[data-pipeline="{pipeline}"]').dataset.sequence || 0)"#);
        b.eval(&expression).as_u64().unwrap()
    };
    let target = sequence(browser) + more;
    browser.wait_for(
        &format!("{more} more frames of {pipeline}"),
        &format!(
            r#"Number(document.querySelector('section[data-pipeline="{pipeline}"]').dataset.sequence) >= {target}"#
        ),
        Duration::from_secs(30),
    );
}

/// Moves the mouse to (x, y) in the page, as a user would.
fn hover(browser: &mut Browser, at: &Value) {
    let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    browser.call("Input.dispatchMouseEvent", serde_json::json!({ "type": "mouseMoved", "x": x, "y": y }));
}

const TOOLTIP: &str =
    "(() => { const t = document.getElementById('tooltip'); return !t || t.hidden ? null : t.textContent })()";

#[test]
fn tooltips_stay_open_while_frames_arrive_and_line_points_have_them_too() {
    let dir = tempfile::tempdir().unwrap();
    let (mut run, mut browser) = buzz_and_smoker_live(dir.path());

    // The pointer on the tallest bar, once most authors have come (a new
    // one moves the bars); every bar's element is tagged, to see whether
    // later frames keep them or replace them.
    const TALLEST_BAR: &str = r#"(() => { const rects = [...document.querySelectorAll('section[data-pipeline="buzz-file"] .buzz-tooltips rect')]; if (!rects.length) return null; rects.forEach((e) => { e.probe = 'kept' }); const r = rects.reduce((a, b) => b.getBoundingClientRect().height > a.getBoundingClientRect().height ? b : a); const b = r.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height - 2] })()"#;
    browser.wait_for("a bar to hover", TALLEST_BAR, Duration::from_secs(30));
    wait_for_frames(&mut browser, "buzz-file", 20);
    let bar = browser.wait_for("a bar to hover", TALLEST_BAR, Duration::from_secs(30));
    hover(&mut browser, &bar);
    let shown = browser.wait_for("the bar's tooltip", TOOLTIP, Duration::from_secs(10));
    assert!(shown.as_str().unwrap().contains(": "), "{shown}");
    wait_for_frames(&mut browser, "buzz-file", 5);
    let at = format!("document.elementFromPoint({}, {})", bar[0], bar[1]);
    let after = browser.eval(&format!(
        "(() => {{ const e = {at}; return [e.probe || 'replaced', e.querySelector('title')?.textContent, {TOOLTIP}] }})()"
    ));
    assert_eq!(after[0], "kept", "the hovered bar was replaced by a new frame: {after}");
    assert_eq!(after[1], after[2], "the tooltip shows the hovered bar's current value: {after}");

    // On the line chart, the tooltip shows the point nearest the pointer.
    let point = browser.wait_for(
        "a point of the smoker line",
        r#"(() => { const svg = document.querySelector('section[data-pipeline="smoker"] .chart svg'); const g = svg?.querySelector('.buzz-points'); const points = g ? JSON.parse(g.dataset.points) : []; if (points.length < 5) return null; svg.scrollIntoView(); const [px, py] = points[Math.floor(points.length / 2)]; const p = new DOMPoint(px, py).matrixTransform(svg.getScreenCTM()); return [p.x + 2, p.y + 2] })()"#,
        Duration::from_secs(30),
    );
    hover(&mut browser, &point);
    let tip = browser.wait_for("the point's tooltip", TOOLTIP, Duration::from_secs(10));
    let tip = tip.as_str().unwrap();
    assert!(tip.starts_with("Temperature: ") && tip.contains(" at "), "{tip}");
    wait_for_frames(&mut browser, "smoker", 3);
    let tip = browser.eval(TOOLTIP);
    assert!(tip.as_str().is_some_and(|t| t.starts_with("Temperature: ")), "the tooltip closed after new frames: {tip}");
    assert!(run.interrupt().success(), "{}", run.text());
}

/// A line chart of the smoker readings over a file, whose `y` is misspelt:
/// every record is refused by the chart.
const MISSPELT: &str = r#"name = "misspelt"
[source]
type = "csv_replay"
path = "DATA/smoker.csv"
interval_ms = 4
loops = 40
[transport]
type = "file"
path = "OUT/misspelt.jsonl"
[transform]
type = "identity"
[chart]
type = "line_chart"
output = "OUT/misspelt"
x = "timestamp"
y = "temprature"
[dead_letter]
path = "OUT/misspelt.dead.jsonl"
"#;

#[test]
fn a_stage_refusing_most_records_is_warned_once_in_the_log_the_panel_and_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let text = MISSPELT
        .replace("DATA", &repo_root().join("data").display().to_string())
        .replace("OUT", &dir.path().display().to_string());
    let pipeline = dir.path().join("misspelt.toml");
    std::fs::write(&pipeline, &text).unwrap();
    let (mut run, port) = run_with_dashboard(run_command(&[&pipeline], &[]));
    let mut browser = Browser::open(&format!("http://127.0.0.1:{port}/"));
    let api = || serde_json::from_str::<Value>(&http_get(port, "/api/stats")).unwrap()[0].clone();
    let warnings = |run: &Watched| run.text().matches("records were refused").count();

    let shown = browser.wait_for(
        "the refusal on the page",
        r#"(() => { const s = document.querySelector('section[data-pipeline="misspelt"]'); if (!s) return null; const note = s.querySelector('.chart-note'); const empty = [...s.querySelectorAll('.chart svg text')].some(t => t.textContent === 'no data: the records are refused'); return !note.hidden && empty ? [s.querySelector('.stage-warning').textContent, note.textContent] : null })()"#,
        Duration::from_secs(30),
    );
    let refusing = api()["refusing"].as_str().unwrap().to_string();
    assert!(refusing.contains("chart line_chart") && refusing.contains("temprature"), "{refusing}");
    assert_eq!(shown[0], format!("warning: refusing records: {refusing}"));
    assert_eq!(shown[1], format!("Records refused: {refusing}"));
    // Hundreds more refused, and still one warning in the log.
    let seen = api()["records_in"].as_u64().unwrap();
    wait_for("more records", Duration::from_secs(30), || api()["records_in"].as_u64().unwrap() > seen + 300);
    assert_eq!(warnings(&run), 1, "{}", run.text());

    // Fixed: the warning goes; misspelt again: a second warning.
    TomlFile::parse(&text).set("chart.y", "temperature").save(&pipeline);
    wait_for("the refusal to clear", Duration::from_secs(30), || api()["refusing"].is_null());
    browser.wait_for(
        "the page to clear",
        r#"(() => { const s = document.querySelector('section[data-pipeline="misspelt"]'); return s.querySelector('.chart-note').hidden && s.querySelector('.stage-warning').textContent === 'ok' })()"#,
        Duration::from_secs(10),
    );
    std::fs::write(&pipeline, &text).unwrap();
    wait_for("the second refusal", Duration::from_secs(30), || api()["refusing"].is_string());
    assert_eq!(warnings(&run), 2, "{}", run.text());
    assert!(run.interrupt().success(), "{}", run.text());
}

/// The figures under branch `branch`'s chart on the page, and its note.
fn branch_figures(browser: &mut Browser, branch: &str) -> Value {
    browser.eval(&format!(
        r#"(() => {{ const s = document.querySelector('section[data-pipeline="three"]'); const f = s?.querySelector('.branch-figures[data-branch="{branch}"]'); if (!f) return null; const t = k => f.querySelector(`[data-figure="${{k}}"]`).textContent; const note = f.querySelector('.branch-note'); const texts = [...s.querySelector('.chart[data-branch="{branch}"]').querySelectorAll('svg text')].map(t => t.textContent); return {{ records_out: t('records_out'), dead_letter: t('dead_letter'), frames_drawn: t('frames_drawn'), last_draw: t('last_draw'), note: note.hidden ? null : note.textContent, refused_chart: texts.includes('no data: the records are refused'), drawn: texts.length > 0 }} }})()"#
    ))
}

#[test]
fn each_branch_shows_its_own_figures_and_refusals_under_its_chart() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = refusing_branches(dir.path(), 300);
    let (mut run, port) = run_with_dashboard(run_command(&[&pipeline], &["--no-reload"]));
    let mut browser = Browser::open(&format!("http://127.0.0.1:{port}/"));
    let api = || serde_json::from_str::<Value>(&http_get(port, "/api/stats")).unwrap()[0].clone();

    // Every record through each branch, on the page as in the API.
    browser.wait_for(
        "every branch's figures",
        r#"(() => { const f = b => document.querySelector(`section[data-pipeline="three"] .branch-figures[data-branch="${b}"] [data-figure="dead_letter"]`)?.textContent; return f('authors') === '0' && f('mood') === '300' && f('trend') === '300' })()"#,
        Duration::from_secs(30),
    );
    // Frames go on while the last records are drawn: the page catches up.
    let names = ["authors", "mood", "trend"];
    let mut stats = Value::Null;
    wait_for("the page to show the API's frames", Duration::from_secs(30), || {
        stats = api();
        let frames = |i: usize| stats["branches"][i]["chart"]["frames_drawn"].to_string();
        (0..3).all(|i| branch_figures(&mut browser, names[i])["frames_drawn"] == frames(i))
    });
    for (i, branch) in names.into_iter().enumerate() {
        let live = &stats["branches"][i];
        assert_eq!(live["name"], branch);
        let shown = branch_figures(&mut browser, branch);
        assert_eq!(shown["records_out"], live["records_out"].to_string(), "{branch}: {shown}");
        assert_eq!(shown["dead_letter"], live["dead_letter"].to_string(), "{branch}: {shown}");
        assert!(shown["last_draw"].as_str().unwrap().ends_with(" ms"), "{branch}: {shown}");
        match live["refusing"].as_str() {
            Some(why) => {
                assert_eq!(shown["note"], format!("Records refused: {why}"), "{branch}");
                assert_eq!(shown["refused_chart"], true, "{branch}'s empty chart says its records are refused");
            }
            None => {
                assert_eq!(shown["note"], Value::Null, "{branch}: {shown}");
                assert_eq!((&shown["refused_chart"], &shown["drawn"]), (&false.into(), &true.into()), "{branch}");
            }
        }
    }
    assert_eq!(stats["branches"][0]["records_out"], 300);
    assert!(stats["branches"][1]["refusing"].as_str().unwrap().contains("average_by"));
    assert!(stats["branches"][2]["refusing"].as_str().unwrap().contains("line_chart"));
    // The branches say which refuses: the pipeline's own note stays hidden.
    let pipeline_note = r#"document.querySelector('section[data-pipeline="three"] .chart-note').hidden"#;
    assert_eq!(browser.eval(pipeline_note), true);
    assert!(run.interrupt().success(), "{}", run.text());
}
