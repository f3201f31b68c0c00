//! Command line and start-up configuration: flags (each with an env var), users, fault flags.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

use crate::faults::FaultConfig;

/// Mock of the Edgio Delivery Configuration API with a CDN edge serving the published hostnames.
#[derive(Debug, Parser)]
#[command(name = "edgio-mock", version)]
pub struct Args {
    /// Address of the Config API (`/config-api/v1/`) and admin API (`/__admin/`); port 0 = any.
    #[arg(long, env = "EDGIO_MOCK_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: String,

    /// Address of the CDN edge (plain HTTP); port 0 = any.
    #[arg(long, env = "EDGIO_MOCK_EDGE_LISTEN", default_value = "127.0.0.1:8082")]
    pub edge_listen: String,

    /// A user: `NAME:HEXKEY:SHORT1[,SHORT2]`. Repeatable; in the env var entries are separated by `;`.
    #[arg(long = "user", env = "EDGIO_MOCK_USERS", value_delimiter = ';')]
    pub users: Vec<String>,

    /// JSON file with users: `{"users":[{"name":..,"key":"<hex>","shortnames":[..]}]}`.
    #[arg(long, env = "EDGIO_MOCK_CONFIG")]
    pub config: Option<PathBuf>,

    /// The base URL clients use (`https://apis.llnw.com`), to rebuild the signed URL behind a
    /// proxy or port mapping. Without it the URL is rebuilt from `Host` and the scheme.
    #[arg(long, env = "EDGIO_MOCK_PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,

    /// JSON file holding the instances; written atomically after every change, read at start-up.
    #[arg(long, env = "EDGIO_MOCK_STATE_FILE")]
    pub state_file: Option<PathBuf>,

    /// DNS server (`HOST:PORT`, HOST may be a name) used by the edge to resolve origins.
    /// Without it the system resolver configuration is used.
    #[arg(long, env = "EDGIO_MOCK_DNS_SERVER")]
    pub dns_server: Option<String>,

    /// Seconds the edge waits for an origin's response headers before answering 504.
    #[arg(long, env = "EDGIO_MOCK_ORIGIN_TIMEOUT_SECS", default_value_t = 30.0)]
    pub origin_timeout_secs: f64,

    /// Fault: `METHOD=FRACTION` of API calls answered 503 (`*` = any method). Repeatable; the env
    /// var takes a comma list.
    #[arg(
        long = "error-rate",
        env = "EDGIO_MOCK_ERROR_RATE",
        value_delimiter = ','
    )]
    pub error_rate: Vec<String>,

    /// Fault: milliseconds added before every API call is handled.
    #[arg(long, env = "EDGIO_MOCK_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Fault: the next N API calls are answered 429 with `Retry-After`.
    #[arg(long = "burst-429", env = "EDGIO_MOCK_BURST_429", default_value_t = 0)]
    pub burst_429: u64,

    /// `Retry-After` seconds sent with burst 429s.
    #[arg(long, env = "EDGIO_MOCK_RETRY_AFTER", default_value_t = 1)]
    pub retry_after: u64,

    /// Fault: API calls per second over which the mock answers 429 + `Retry-After` (0 = off).
    #[arg(long, env = "EDGIO_MOCK_RATE_LIMIT", default_value_t = 0.0)]
    pub rate_limit: f64,

    /// Fault: seconds a created or replaced instance reports `status.state` `PROCESSING`.
    #[arg(long, env = "EDGIO_MOCK_PROCESSING_SECONDS", default_value_t = 0.0)]
    pub processing_seconds: f64,

    /// Test only: pins the clock used for the signature time window (epoch ms).
    #[arg(long, env = "EDGIO_MOCK_CLOCK_MS", hide = true)]
    pub clock_ms: Option<u64>,
}

/// One API user: HMAC key bytes and the account shortnames it may touch.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub key: Vec<u8>,
    pub shortnames: HashSet<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid --user {entry:?}: {reason} (expected NAME:HEXKEY:SHORT1[,SHORT2])")]
    BadUser { entry: String, reason: String },
    #[error("cannot read config file {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid JSON of the form {{\"users\":[...]}}: {source}")]
    ParseConfig {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("user {name:?} in {path}: {reason}")]
    BadConfigUser {
        path: PathBuf,
        name: String,
        reason: String,
    },
    #[error("user {0:?} is defined twice")]
    DuplicateUser(String),
    #[error("invalid --error-rate {entry:?}: {reason} (expected METHOD=FRACTION, e.g. POST=0.2)")]
    BadErrorRate { entry: String, reason: String },
    #[error("invalid {flag}: {reason}")]
    BadValue { flag: &'static str, reason: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    users: Vec<ConfigUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigUser {
    name: String,
    key: String,
    shortnames: Vec<String>,
}

/// Users from `--user` entries and the optional config file, in that order.
pub fn load_users(entries: &[String], config: Option<&Path>) -> Result<Vec<User>, ConfigError> {
    let mut users = Vec::new();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        users.push(parse_user(entry)?);
    }
    if let Some(path) = config {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadConfig {
            path: path.to_path_buf(),
            source,
        })?;
        let file: ConfigFile =
            serde_json::from_str(&text).map_err(|source| ConfigError::ParseConfig {
                path: path.to_path_buf(),
                source,
            })?;
        for u in file.users {
            let bad = |reason: String| ConfigError::BadConfigUser {
                path: path.to_path_buf(),
                name: u.name.clone(),
                reason,
            };
            users.push(
                build_user(&u.name, &u.key, u.shortnames.iter().map(String::as_str))
                    .map_err(bad)?,
            );
        }
    }
    let mut seen = HashSet::new();
    for u in &users {
        if !seen.insert(u.name.clone()) {
            return Err(ConfigError::DuplicateUser(u.name.clone()));
        }
    }
    Ok(users)
}

fn parse_user(entry: &str) -> Result<User, ConfigError> {
    let bad = |reason: &str| ConfigError::BadUser {
        entry: entry.to_string(),
        reason: reason.to_string(),
    };
    let mut parts = entry.splitn(3, ':');
    let (Some(name), Some(key), Some(shorts)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("it needs three ':'-separated parts"));
    };
    build_user(name, key, shorts.split(',')).map_err(|r| ConfigError::BadUser {
        entry: entry.to_string(),
        reason: r,
    })
}

fn build_user<'a>(
    name: &str,
    key_hex: &str,
    shortnames: impl Iterator<Item = &'a str>,
) -> Result<User, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("the user name is empty".into());
    }
    let key = hex::decode(key_hex.trim()).map_err(|e| format!("the key is not hex: {e}"))?;
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    let shortnames: HashSet<String> = shortnames
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if shortnames.is_empty() {
        return Err("no shortname given".into());
    }
    Ok(User {
        name: name.to_string(),
        key,
        shortnames,
    })
}

/// The fault configuration the flags describe.
pub fn faults_from_args(args: &Args) -> Result<FaultConfig, ConfigError> {
    let mut error_rate = BTreeMap::new();
    for entry in args
        .error_rate
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
    {
        let bad = |reason: &str| ConfigError::BadErrorRate {
            entry: entry.to_string(),
            reason: reason.to_string(),
        };
        let (method, rate) = entry.split_once('=').ok_or_else(|| bad("missing '='"))?;
        let rate: f64 = rate
            .trim()
            .parse()
            .map_err(|_| bad("the fraction is not a number"))?;
        let method = method.trim().to_ascii_uppercase();
        if method.is_empty() {
            return Err(bad("the method is empty"));
        }
        error_rate.insert(method, rate);
    }
    let rate_limit = if args.rate_limit > 0.0 {
        Some(args.rate_limit)
    } else {
        None
    };
    let config = FaultConfig {
        error_rate,
        latency_ms: args.latency_ms,
        burst_429: args.burst_429,
        retry_after_secs: args.retry_after,
        rate_limit_per_sec: rate_limit,
        processing_seconds: args.processing_seconds,
    };
    config.validate().map_err(|reason| ConfigError::BadValue {
        flag: "fault flags",
        reason,
    })?;
    if !args.origin_timeout_secs.is_finite() || args.origin_timeout_secs <= 0.0 {
        return Err(ConfigError::BadValue {
            flag: "--origin-timeout-secs",
            reason: "must be a positive number".into(),
        });
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_entry_parses_name_key_and_shortnames() {
        let u = parse_user("demo:00112233445566778899aabbccddeeff:demo, other").unwrap();
        assert_eq!(u.name, "demo");
        assert_eq!(u.key.len(), 16);
        assert!(u.shortnames.contains("demo") && u.shortnames.contains("other"));
    }

    #[test]
    fn user_entry_with_bad_hex_or_missing_parts_is_rejected() {
        assert!(parse_user("demo:zz:demo").is_err());
        assert!(parse_user("demo:0011").is_err());
        assert!(parse_user("demo:0011:").is_err());
        assert!(parse_user(":0011:demo").is_err());
    }

    #[test]
    fn duplicate_users_are_rejected() {
        let entries = vec!["a:00:x".to_string(), "a:01:y".to_string()];
        assert!(matches!(
            load_users(&entries, None),
            Err(ConfigError::DuplicateUser(_))
        ));
    }

    #[test]
    fn config_file_users_are_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        std::fs::write(
            &path,
            r#"{"users":[{"name":"demo","key":"0011","shortnames":["demo","b"]}]}"#,
        )
        .unwrap();
        let users = load_users(&[], Some(&path)).unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].key, vec![0x00, 0x11]);
        std::fs::write(
            &path,
            r#"{"users":[{"name":"demo","key":"xx","shortnames":["a"]}]}"#,
        )
        .unwrap();
        assert!(matches!(
            load_users(&[], Some(&path)),
            Err(ConfigError::BadConfigUser { .. })
        ));
    }
}
