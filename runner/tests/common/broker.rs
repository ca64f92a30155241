//! Kafka brokers for the tests: the embedded one (inside each buzz process)
//! and a real, independent tansu process started on a free loopback port.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::repo_root;

/// A tool installed by scripts/setup-test under .tools/bin.
pub fn installed(name: &str) -> PathBuf {
    let path = repo_root().join(".tools/bin").join(name);
    assert!(path.exists(), "{name} is not installed at {}: run scripts/setup-test (scripts/test does)", path.display());
    path
}

/// The tansu binary installed by scripts/setup-test (memory storage).
pub fn tansu_binary() -> PathBuf {
    installed("tansu")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("bound").port()
}

/// A running tansu broker, killed when dropped.
pub struct Tansu {
    _process: Listening,
    pub port: u16,
    pub address: String,
}

impl Tansu {
    pub fn start() -> Tansu {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Tansu {
        Self::launch(Command::new(tansu_binary()), port, port, "memory://tansu/", &[])
    }

    /// A broker on `port` that sends its clients to `advertised`: a TLS
    /// terminator in front of it.
    pub fn start_behind(port: u16, advertised: u16) -> Tansu {
        Self::launch(Command::new(tansu_binary()), port, advertised, "memory://tansu/", &[])
    }

    /// A durable broker in `dir` behind `advertised` that admits only the
    /// SCRAM `users` (name, password, mechanism `scram256` or `scram512`).
    /// tansu keeps credentials in SQL storage and takes new users only
    /// without `--authentication`: they are made first, then it restarts.
    pub fn start_with_users(port: u16, advertised: u16, dir: &Path, users: &[(&str, &str, &str)]) -> Tansu {
        let durable = || {
            let mut command = Command::new(installed("tansu-sqlite"));
            command.current_dir(dir);
            command
        };
        let open = Self::launch(durable(), port, port, "sqlite://tansu.db", &[]);
        for (name, password, mechanism) in users {
            let made = durable()
                .args(["user", "create", name, password, "--mechanism", mechanism, "--broker"])
                .arg(format!("tcp://127.0.0.1:{port}"))
                .output()
                .expect("tansu user create runs");
            assert!(made.status.success(), "tansu user create {name}: {}", String::from_utf8_lossy(&made.stderr));
        }
        drop(open);
        Self::launch(durable(), port, advertised, "sqlite://tansu.db", &["--authentication"])
    }

    /// A broker that keeps its data (topics, records, committed offsets,
    /// producer state) in a SQLite file in `dir`, so it can be stopped and
    /// started again like a production broker.
    pub fn start_durable_on(port: u16, dir: &Path) -> Tansu {
        let mut command = Command::new(installed("tansu-sqlite"));
        // tansu resolves the database path against its working directory.
        command.current_dir(dir);
        Self::launch(command, port, port, "sqlite://tansu.db", &[])
    }

    fn launch(mut command: Command, port: u16, advertised: u16, storage: &str, extra: &[&str]) -> Tansu {
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised = format!("tcp://127.0.0.1:{advertised}");
        let log = std::env::temp_dir().join(format!("buzz-tansu-{port}.log"));
        command
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &advertised])
            .args(["--storage-engine", storage])
            .args(extra)
            // Appended: a broker restarted on the same port keeps both logs.
            .stderr(std::fs::File::options().create(true).append(true).open(&log).expect("tansu log file"));
        Tansu { _process: Listening::spawn("tansu", command, port, &log), port, address: format!("127.0.0.1:{port}") }
    }
}

/// A server process for a test, killed when dropped.
pub struct Listening(Child);

impl Listening {
    /// Starts `command` and waits until it listens on `port`; `log` is
    /// where its stderr goes, named if it never listens.
    pub fn spawn(what: &str, mut command: Command, port: u16, log: &Path) -> Listening {
        let process = Listening(command.stdout(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{what} starts: {e}")));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{what} did not listen on {port} (log: {})",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        process
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where a test's buzz processes find Kafka.
pub enum Broker {
    Embedded,
    Tansu(Tansu),
}

impl Broker {
    pub fn tansu() -> Broker {
        Broker::Tansu(Tansu::start())
    }

    /// Points a buzz command at this broker (the pipelines read KAFKA_BROKERS).
    pub fn apply(&self, command: &mut Command) {
        match self {
            Broker::Embedded => command.env_remove("KAFKA_BROKERS"),
            Broker::Tansu(t) => command.env("KAFKA_BROKERS", &t.address),
        };
    }

    pub fn address(&self) -> Option<&str> {
        match self {
            Broker::Embedded => None,
            Broker::Tansu(t) => Some(&t.address),
        }
    }
}

/// A topic (and group) name no other test uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `create_topic.py`: the Python client makes `topic` with `partitions`.
pub fn python_creates_topic(address: &str, topic: &str, partitions: u32) {
    super::interop("create_topic.py", &[address, topic, &partitions.to_string()]);
}

/// The first `count` records of `topic`, read from the beginning by the
/// Python client (an independent Kafka client): {"value", "key",
/// "partition", "offset"} each.
pub fn python_reads(address: &str, topic: &str, count: usize) -> Vec<serde_json::Value> {
    super::json_lines(&super::interop("consume.py", &[address, topic, &count.to_string()]))
}

/// The JSON messages of [`python_reads`].
pub fn python_reads_messages(address: &str, topic: &str, count: usize) -> Vec<serde_json::Value> {
    let records = python_reads(address, topic, count);
    records.iter().map(|r| serde_json::from_str(r["value"].as_str().expect("a text value")).unwrap()).collect()
}
