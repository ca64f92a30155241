//! Where the dashboard listens: `--http`, else the first pipeline file's
//! `[dashboard] listen`, else loopback port 8080 (or any free port when that
//! one is taken).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The dashboard's address, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    Off,
    At(SocketAddr),
    /// The default port, falling back to a free one if it is taken.
    Default,
}

pub const DEFAULT_PORT: u16 = 8080;

/// Reads "off", a port ("0", "8080") or an address ("0.0.0.0:8080").
pub fn parse_listen(text: &str) -> Result<Listen, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(Listen::Off);
    }
    if let Ok(port) = text.parse::<u16>() {
        return Ok(Listen::At(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)));
    }
    text.parse::<SocketAddr>().map(Listen::At).map_err(|_| {
        format!("dashboard address {text:?} is not \"off\", a port (8080, or 0 for any free one) or host:port (127.0.0.1:8080)")
    })
}

/// The address from the command line, else from the pipeline files.
pub fn resolve_listen(cli: Option<&str>, files: &[Option<String>]) -> Result<Listen, String> {
    match cli.or_else(|| files.iter().flatten().map(String::as_str).next()) {
        Some(text) => parse_listen(text),
        None => Ok(Listen::Default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_addresses_and_off() {
        assert_eq!(parse_listen("0").unwrap(), Listen::At("127.0.0.1:0".parse().unwrap()));
        assert_eq!(parse_listen("9000").unwrap(), Listen::At("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(parse_listen("0.0.0.0:80").unwrap(), Listen::At("0.0.0.0:80".parse().unwrap()));
        assert_eq!(parse_listen("OFF").unwrap(), Listen::Off);
        assert!(parse_listen("localhost").unwrap_err().contains("is not \"off\""));
    }

    #[test]
    fn the_command_line_wins_over_the_files() {
        let files = [None, Some("9001".to_string())];
        assert_eq!(resolve_listen(Some("0"), &files).unwrap(), Listen::At("127.0.0.1:0".parse().unwrap()));
        assert_eq!(resolve_listen(None, &files).unwrap(), Listen::At("127.0.0.1:9001".parse().unwrap()));
        assert_eq!(resolve_listen(None, &[None]).unwrap(), Listen::Default);
    }
}
