//! Settings that carry secrets (a password, a token, a private key) are
//! used but never shown: not in logs, reload messages, error messages, the
//! summary or the dashboard. A setting is secret by its name, the way
//! operators and librdkafka name them (`password`, `sasl.password`,
//! `ssl.key.password`, `api_token`, `client_secret`, `ssl.key.pem`,
//! `sasl.oauthbearer.config`...).

use serde_json::Value as Json;

/// What is shown instead of a secret value.
pub const REDACTED: &str = "<redacted>";

/// Parts of a setting's name that make it secret.
const SECRET_WORDS: [&str; 11] = [
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "private",
    "api_key",
    "key.pem",
    "jaas",
    "oauthbearer.config",
];

/// True if the setting named `key` (a name or a dotted path) holds a secret.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| key.contains(word)) || key.ends_with("apikey")
}

/// `settings` with the value of every secret setting, at any depth, replaced.
pub fn redacted(settings: &Json) -> Json {
    match settings {
        Json::Object(map) => {
            Json::Object(map.iter().map(|(key, value)| (key.clone(), redacted_value(key, value))).collect())
        }
        Json::Array(items) => Json::Array(items.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

/// The value of the setting `key` as it may be shown.
pub fn redacted_value(key: &str, value: &Json) -> Json {
    if is_secret(key) { Json::from(REDACTED) } else { redacted(value) }
}

/// A `--set key.path=value` argument as it may be shown: the value hidden
/// if the path names a secret, or if the value does (an inline table
/// holding one).
pub fn shown_override(arg: &str) -> String {
    match super::overrides::split_path(arg) {
        Ok((path, value)) if is_secret(&path.join(".")) || is_secret(value) => {
            format!("{}={REDACTED}", &arg[..arg.len() - value.len() - 1])
        }
        // Malformed: all after the first `=` may be the secret.
        Err(_) if is_secret(arg) => format!("{}={REDACTED}", arg.split('=').next().unwrap_or_default()),
        _ => arg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_settings_are_named_as_operators_name_them() {
        for key in [
            "password",
            "sasl.password",
            "ssl.key.password",
            "ssl.keystore.password",
            "api_token",
            "client_secret",
            "apiKey",
            "ssl.key.pem",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.config",
            "sasl.oauthbearer.assertion.private.key.passphrase",
            "sasl.jaas.config",
        ] {
            assert!(is_secret(key), "{key}");
        }
        for key in ["path", "author", "sasl.username", "sasl.mechanism", "ssl.ca.location", "topic", "key", "field"] {
            assert!(!is_secret(key), "{key}");
        }
    }

    #[test]
    fn secrets_are_replaced_at_any_depth_and_the_rest_kept() {
        let settings = json!({"user": "ann", "password": "hunter2", "tls": {"private_key": "k", "ca": "c"}});
        assert_eq!(
            redacted(&settings),
            json!({"user": "ann", "password": REDACTED, "tls": {"private_key": REDACTED, "ca": "c"}})
        );
        assert_eq!(shown_override("source.password=hunter2"), "source.password=<redacted>");
        assert_eq!(shown_override("source.interval_ms=0"), "source.interval_ms=0");
        assert_eq!(
            shown_override(r#"transport.properties."sasl.password"=a=b"#),
            r#"transport.properties."sasl.password"=<redacted>"#
        );
        assert_eq!(shown_override(r#"a."x=y".password=z"#), r#"a."x=y".password=<redacted>"#);
        assert_eq!(
            shown_override(r#"transport.properties={ "sasl.password" = "z" }"#),
            "transport.properties=<redacted>"
        );
        assert_eq!(shown_override(r#"a."sasl.password=hunter2"#), r#"a."sasl.password=<redacted>"#);
    }
}
