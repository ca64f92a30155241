//! Kafka brokers for the tests: the embedded one (inside each buzz process)
//! and a real, independent tansu process started on a free loopback port.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::repo_root;

/// The tansu binary installed by scripts/setup-test.
pub fn tansu_binary() -> PathBuf {
    let path = repo_root().join(".tools/bin/tansu");
    assert!(path.exists(), "tansu is not installed at {}: run scripts/setup-test (scripts/test does)", path.display());
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("bound").port()
}

/// A running tansu broker, killed when dropped.
pub struct Tansu {
    child: Child,
    pub port: u16,
    pub address: String,
}

impl Tansu {
    pub fn start() -> Tansu {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Tansu {
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::env::temp_dir().join(format!("buzz-tansu-{port}.log"));
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("tansu log file"))
            .spawn()
            .expect("tansu starts");
        let tansu = Tansu { child, port, address: format!("127.0.0.1:{port}") };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "tansu did not listen on {port} (log: {})",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        tansu
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
