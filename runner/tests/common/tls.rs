//! Kafka over TLS for the tests: a CA and a server certificate made here
//! with the openssl CLI, and Debian's stunnel terminating TLS in front of
//! tansu (whose own TLS does not work: see measured-facts.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::broker::{Listening, Tansu, free_port};

/// A Debian package scripts/setup-test installs.
fn debian_tool(path: &str) -> &str {
    assert!(Path::new(path).exists(), "{path} is not installed: run scripts/setup-test (scripts/test does)");
    path
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new(debian_tool("/usr/bin/openssl")).current_dir(dir).args(args).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// A fresh CA (`ca.pem`, returned) and a certificate it signed for
/// 127.0.0.1 and localhost (`server.pem`, `server.key`), in `dir`.
pub fn make_certificates(dir: &Path) -> PathBuf {
    let new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let ca = ["req", "-x509", "-subj", "/CN=buzz test CA", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem"];
    openssl(dir, &[&ca[..], &new_key].concat());
    let request = ["req", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"];
    openssl(dir, &[&request[..], &new_key].concat());
    std::fs::write(dir.join("san.ext"), "subjectAltName = IP:127.0.0.1, DNS:localhost\n").unwrap();
    let sign = ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"];
    openssl(dir, &[&sign[..], &["-days", "2", "-extfile", "san.ext", "-out", "server.pem"]].concat());
    dir.join("ca.pem")
}

/// stunnel on `port`, passing the bytes to `target`, with the certificate
/// [`make_certificates`] made in `dir`.
fn stunnel(dir: &Path, port: u16, target: u16) -> Listening {
    let config = dir.join("stunnel.conf");
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    let settings = format!(
        "foreground = yes\npid =\n[kafka]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{target}\n\
         cert = {}\nkey = {}\n",
        cert.display(),
        key.display()
    );
    std::fs::write(&config, settings).unwrap();
    let log = dir.join("stunnel.log");
    let mut command = Command::new(debian_tool("/usr/bin/stunnel4"));
    command.arg(&config).stderr(std::fs::File::create(&log).unwrap());
    Listening::spawn("stunnel", command, port, &log)
}

/// tansu reached only through TLS: clients connect to `address` and trust `ca`.
pub struct TlsKafka {
    _stunnel: Listening,
    _tansu: Tansu,
    pub address: String,
    pub ca: PathBuf,
}

impl TlsKafka {
    /// tansu with memory storage, open to anyone who speaks TLS.
    pub fn start(dir: &Path) -> TlsKafka {
        let (port, advertised) = (free_port(), free_port());
        Self::around(dir, advertised, Tansu::start_behind(port, advertised))
    }

    /// Durable tansu that admits only the SCRAM `users` (name, password,
    /// mechanism `scram256` or `scram512`).
    pub fn with_users(dir: &Path, users: &[(&str, &str, &str)]) -> TlsKafka {
        let (port, advertised) = (free_port(), free_port());
        Self::around(dir, advertised, Tansu::start_with_users(port, advertised, dir, users))
    }

    fn around(dir: &Path, advertised: u16, tansu: Tansu) -> TlsKafka {
        let ca = make_certificates(dir);
        let stunnel = stunnel(dir, advertised, tansu.port);
        TlsKafka { _stunnel: stunnel, _tansu: tansu, address: format!("127.0.0.1:{advertised}"), ca }
    }
}
