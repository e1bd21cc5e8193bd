//! `config.json`: where the API is and which region this copy of the site belongs to.
//!
//! The legacy shape is `{"host": ..., "region": ...}`. `host` may be relative (`/api`), absolute
//! with a stage path (`https://abc.execute-api.us-east-1.amazonaws.com/Production`), or carry a
//! trailing slash that a hand edit left behind.

use serde::Deserialize;

/// The settings of one deployment of the storefront.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiConfig {
    /// The API base URL with no trailing slash; empty means the site's own origin.
    pub host: String,
    /// The region this copy of the site was published to.
    pub region: String,
    /// Where to send a call again when `host` does not answer (`/api-standby` behind CloudFront);
    /// none in the legacy shape.
    pub standby_host: Option<String>,
}

/// Why `config.json` could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("config.json is not valid JSON with a \"host\" text: {0}")]
    Malformed(String),
    #[error("config.json's host \"{0}\" must start with http://, https:// or /")]
    BadHost(String),
}

#[derive(Deserialize)]
struct RawConfig {
    host: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default, rename = "standbyHost")]
    standby_host: Option<String>,
}

impl ApiConfig {
    /// Reads `config.json`'s text.
    pub fn parse(json: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig =
            crate::json::from_str(json).map_err(|e| ConfigError::Malformed(e.to_string()))?;
        let standby_host = match raw.standby_host {
            Some(standby) if !standby.trim().is_empty() => Some(clean_host(&standby)?),
            _ => None,
        };
        Ok(ApiConfig {
            host: clean_host(&raw.host)?,
            region: raw.region.unwrap_or_default().trim().to_owned(),
            standby_host,
        })
    }

    /// The URL of an API path on the standby base, when one is configured.
    pub fn standby_url(&self, path: &str) -> Option<String> {
        self.standby_host
            .as_ref()
            .map(|host| format!("{host}/{}", path.trim_start_matches('/')))
    }

    /// The URL of an API path (`/unicorns/`), with exactly one slash between base and path.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.host, path.trim_start_matches('/'))
    }
}

/// Checks a base URL and drops its trailing slashes.
fn clean_host(raw: &str) -> Result<String, ConfigError> {
    let host = raw.trim();
    let lower = host.to_ascii_lowercase();
    let absolute = lower.starts_with("http://") || lower.starts_with("https://");
    if !(absolute || host.is_empty() || host.starts_with('/')) || host.starts_with("//") {
        return Err(ConfigError::BadHost(raw.to_owned()));
    }
    Ok(host.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_relative_and_absolute_hosts_with_trailing_slashes() {
        let dev = ApiConfig::parse(r#"{"host": "/api/", "region": "us-east-1"}"#).expect("parses");
        assert_eq!(dev.url("/unicorns/"), "/api/unicorns/");
        let stage = ApiConfig::parse(
            r#"{"host": "https://abc.execute-api.us-west-1.amazonaws.com/Production", "region": "us-west-1"}"#,
        )
        .expect("parses");
        assert_eq!(
            stage.url("health"),
            "https://abc.execute-api.us-west-1.amazonaws.com/Production/health"
        );
        assert_eq!(stage.region, "us-west-1");
        let same_origin = ApiConfig::parse(r#"{"host": ""}"#).expect("parses");
        assert_eq!(same_origin.url("/health"), "/health");
        assert_eq!(same_origin.region, "");
        assert_eq!(same_origin.standby_url("/health"), None);
    }

    #[test]
    fn reads_the_extended_shape_with_a_standby_base() {
        let config = ApiConfig::parse(
            r#"{"host": "/api", "region": "us-east-1", "standbyHost": "/api-standby/"}"#,
        )
        .expect("parses");
        assert_eq!(
            config.standby_url("orders").as_deref(),
            Some("/api-standby/orders")
        );
        assert!(matches!(
            ApiConfig::parse(r#"{"host": "/api", "standbyHost": "standby"}"#),
            Err(ConfigError::BadHost(_))
        ));
    }

    #[test]
    fn refuses_hosts_the_browser_would_misread() {
        for host in [
            "api.example.com",
            "ftp://x",
            "//evil.example",
            "javascript:alert(1)",
        ] {
            let json = serde_json::json!({ "host": host }).to_string();
            assert_eq!(
                ApiConfig::parse(&json),
                Err(ConfigError::BadHost(host.to_owned()))
            );
        }
        assert!(matches!(
            ApiConfig::parse("{}"),
            Err(ConfigError::Malformed(_))
        ));
        assert!(matches!(
            ApiConfig::parse("<html>"),
            Err(ConfigError::Malformed(_))
        ));
    }
}
