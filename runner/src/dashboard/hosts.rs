//! Which `Host` headers the dashboard answers. A DNS-rebinding page (a name
//! its author controls, pointed at 127.0.0.1 after the page loaded) reaches
//! the dashboard as the same origin as itself, with its own name in `Host`:
//! answering only names the user chose keeps such a page from reading the
//! stats and charts.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The names and addresses the dashboard answers to.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    bound: SocketAddr,
    /// `[dashboard] allowed_hosts`, lowercase; "*" allows every name.
    names: Vec<String>,
}

impl AllowedHosts {
    pub fn new(bound: SocketAddr, names: &[String]) -> Self {
        AllowedHosts { bound, names: names.iter().map(|n| n.trim().to_ascii_lowercase()).collect() }
    }

    /// Whether a request whose `Host` is `host` (name or address, with or
    /// without a port) is answered.
    pub fn allows(&self, host: &str) -> bool {
        let name = name_of(host).to_ascii_lowercase();
        if name == "localhost" || self.names.iter().any(|n| n == "*" || *n == name) {
            return true;
        }
        // An address cannot be rebound: a browser sends the one it connects to.
        // Listening on all interfaces, any of the machine's addresses (or one a
        // NAT forwards) may be typed; otherwise only loopback and the bound one.
        match name.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback() || self.bound.ip().is_unspecified() || ip == self.bound.ip(),
            Err(_) => false,
        }
    }
}

/// `host` without its port (and an IPv6 address without its brackets).
fn name_of(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// Refuses requests for a host the dashboard does not answer to.
pub async fn check(State(hosts): State<AllowedHosts>, request: Request, next: Next) -> Response {
    // HTTP/2 carries the host in the URI; HTTP/1.1 in the header.
    let host = match request.uri().authority() {
        Some(authority) => Some(authority.as_str().to_string()),
        None => request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string),
    };
    match host {
        Some(host) if hosts.allows(&host) => next.run(request).await,
        Some(host) => {
            tracing::debug!("dashboard: refused a request for host {host:?}");
            let message = format!(
                "this dashboard does not answer to the host {host:?}: open it as localhost or by IP address, or add the name to [dashboard] allowed_hosts\n"
            );
            (StatusCode::FORBIDDEN, message).into_response()
        }
        None => (StatusCode::FORBIDDEN, "this dashboard answers only requests that name their host\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(bound: &str, names: &[&str]) -> AllowedHosts {
        AllowedHosts::new(bound.parse().unwrap(), &names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn loopback_names_with_or_without_a_port() {
        let h = hosts("127.0.0.1:8080", &[]);
        for ok in ["localhost", "LOCALHOST:8080", "127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:8080"] {
            assert!(h.allows(ok), "{ok}");
        }
        for refused in ["evil.example", "evil.example:8080", "localhost.evil.example", "192.168.1.10:8080", ""] {
            assert!(!h.allows(refused), "{refused}");
        }
    }

    #[test]
    fn the_listen_address_and_the_allowed_names() {
        let specific = hosts("192.168.1.10:8080", &["MyHost.lan"]);
        assert!(specific.allows("192.168.1.10:8080") && specific.allows("myhost.lan:8080"));
        assert!(!specific.allows("10.0.0.2:8080") && !specific.allows("otherhost.lan"));
        let everywhere = hosts("0.0.0.0:8080", &[]);
        assert!(everywhere.allows("10.0.0.2:8080") && everywhere.allows("[fe80::1]:8080"));
        assert!(!everywhere.allows("myhost.lan:8080"));
        assert!(hosts("0.0.0.0:8080", &["*"]).allows("anything.example"));
    }
}
