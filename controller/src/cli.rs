//! Command line: `edgio-ingress run | plan | version`. Every flag has an environment variable;
//! credentials are wrapped in [`Secret`] so they never reach a log line or `Debug` output.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ingress::ClassConfig;
use crate::plan::{DnsSettings, OwnerId, PlanSettings, RuleSettings, relative_name};

#[derive(Debug, Parser)]
#[command(
    name = "edgio-ingress",
    version,
    about = "Kubernetes Ingress controller publishing through Edgio Delivery CDN rules and Vultr DNS origin records"
)]
pub struct Cli {
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Json, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller.
    Run(RunArgs),
    /// Print the changes the controller would make against the live providers; writes nothing.
    Plan(PlanArgs),
    /// Print the version.
    Version,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: Common,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,
    /// Elect a leader through a Lease so several replicas are safe.
    #[arg(long, env = "LEADER_ELECT", default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// Name of the leader-election Lease.
    #[arg(long, env = "LEASE_NAME", default_value = "edgio-ingress-leader")]
    pub lease_name: String,
    /// Namespace of the Lease (the controller's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "edgio-ingress-system")]
    pub pod_namespace: String,
    /// Identity in the Lease and in Events (defaults to the host name).
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct Common {
    /// IngressClass name this controller serves.
    #[arg(long, env = "INGRESS_CLASS", default_value = "edgio")]
    pub ingress_class: String,
    /// `spec.controller` of the IngressClasses this controller serves.
    #[arg(
        long,
        env = "CONTROLLER_NAME",
        default_value = "edgio-ingress.dev/controller"
    )]
    pub controller_name: String,
    /// Comma list of namespaces to watch; empty = all.
    #[arg(long, env = "WATCH_NAMESPACES", default_value = "")]
    pub watch_namespaces: String,
    /// Per-cluster owner id written into every rule marker and the DNS ownership record.
    #[arg(long, env = "OWNER_ID", default_value = "default")]
    pub owner_id: String,
    /// Round-robin origin name the CDN fetches from, inside the DNS zone.
    #[arg(long, env = "ORIGIN_HOSTNAME")]
    pub origin_hostname: String,
    /// Vultr DNS zone holding the origin name.
    #[arg(long, env = "DNS_ZONE")]
    pub dns_zone: String,
    /// TTL of origin records we create.
    #[arg(long, env = "DNS_TTL", default_value_t = 60)]
    pub dns_ttl: u32,
    /// Node address types to publish, in order of preference (first type a node has wins).
    #[arg(
        long,
        env = "NODE_ADDRESS_TYPES",
        default_value = "ExternalIP,InternalIP"
    )]
    pub node_address_types: String,
    /// Period of the full resync (GC + drift repair): seconds or e.g. `5m`.
    #[arg(long, env = "RESYNC_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub resync_interval: Duration,
    #[arg(
        long,
        env = "EDGIO_BASE_URL",
        default_value = "https://apis.llnw.com/config-api/v1"
    )]
    pub edgio_base_url: String,
    /// Edgio account shortname holding the rules.
    #[arg(long, env = "EDGIO_SHORTNAME")]
    pub edgio_shortname: String,
    #[arg(long, env = "EDGIO_USERNAME")]
    pub edgio_username: String,
    /// Edgio shared key (hex).
    #[arg(long, env = "EDGIO_SHARED_KEY", hide_env_values = true)]
    pub edgio_shared_key: Secret,
    /// Vultr API base, including `/v2`.
    #[arg(
        long,
        env = "VULTR_BASE_URL",
        default_value = "https://api.vultr.com/v2"
    )]
    pub vultr_base_url: String,
    #[arg(long, env = "VULTR_API_KEY", hide_env_values = true)]
    pub vultr_api_key: Secret,
}

/// A credential: shown as `<redacted>` in every `Debug`/`Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Seconds (`300`) or a humantime-like span (`5m`, `1h30m`, `90s`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let d = if let Ok(secs) = s.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let sd: k8s_openapi::jiff::SignedDuration = s
            .parse()
            .map_err(|e| format!("invalid duration {s:?} (use seconds or e.g. 5m): {e}"))?;
        Duration::try_from(sd).map_err(|_| format!("duration {s:?} must not be negative"))?
    };
    if d.is_zero() {
        return Err("duration must be positive".into());
    }
    Ok(d)
}

/// Invalid settings: the process refuses to start (exit code 2) with this message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    OwnerId(String),
    #[error("origin hostname {origin:?} is not inside DNS zone {zone:?}")]
    OriginOutsideZone { origin: String, zone: String },
    #[error("invalid origin hostname {0:?}: {1}")]
    OriginHostname(String, &'static str),
    #[error("NODE_ADDRESS_TYPES is empty")]
    NoAddressTypes,
    #[error("{name} must not be empty")]
    Missing { name: &'static str },
}

impl ConfigError {
    pub fn reason(&self) -> &'static str {
        "InvalidConfiguration"
    }
    pub fn is_retryable(&self) -> bool {
        false
    }
}

impl Common {
    pub fn namespaces(&self) -> Vec<String> {
        self.watch_namespaces
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn plan_settings(&self) -> Result<PlanSettings, ConfigError> {
        for (name, value) in [
            ("EDGIO_SHORTNAME", self.edgio_shortname.as_str()),
            ("EDGIO_USERNAME", self.edgio_username.as_str()),
            ("EDGIO_SHARED_KEY", self.edgio_shared_key.expose()),
            ("VULTR_API_KEY", self.vultr_api_key.expose()),
            ("INGRESS_CLASS", self.ingress_class.as_str()),
        ] {
            if value.trim().is_empty() {
                return Err(ConfigError::Missing { name });
            }
        }
        let owner_id = OwnerId::parse(&self.owner_id).map_err(ConfigError::OwnerId)?;
        let origin = crate::ingress::translate::validate_host(&self.origin_hostname)
            .map_err(|why| ConfigError::OriginHostname(self.origin_hostname.clone(), why))?;
        let origin_name = relative_name(&origin, &self.dns_zone).ok_or_else(|| {
            ConfigError::OriginOutsideZone {
                origin: origin.clone(),
                zone: self.dns_zone.clone(),
            }
        })?;
        let node_address_types: Vec<String> = self
            .node_address_types
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if node_address_types.is_empty() {
            return Err(ConfigError::NoAddressTypes);
        }
        Ok(PlanSettings {
            rules: RuleSettings {
                owner_id: owner_id.clone(),
                origin_hostname: origin,
            },
            dns: DnsSettings {
                owner_id,
                origin_name,
                ttl: self.dns_ttl,
            },
            class: ClassConfig {
                class_name: self.ingress_class.clone(),
                controller_name: self.controller_name.clone(),
                namespaces: self.namespaces(),
                owner_id: self.owner_id.clone(),
            },
            node_address_types,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_seconds_and_spans_and_reject_nonsense() {
        assert_eq!(parse_duration("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        for bad in ["0", "", "soon", "-5m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let mut full = vec!["edgio-ingress", "plan"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full)
    }

    const REQUIRED: &[&str] = &[
        "--origin-hostname",
        "origin.example.com",
        "--dns-zone",
        "example.com",
        "--edgio-shortname",
        "demo",
        "--edgio-username",
        "demo",
        "--edgio-shared-key",
        "00112233445566778899aabbccddeeff",
        "--vultr-api-key",
        "demo-vultr-key",
    ];

    #[test]
    fn settings_derive_the_relative_origin_name_and_never_print_credentials() {
        let cli = parse(REQUIRED).expect("parses");
        let Command::Plan(args) = cli.command else {
            panic!("plan expected")
        };
        let settings = args.common.plan_settings().expect("valid");
        assert_eq!(settings.dns.origin_name, "origin");
        assert_eq!(
            settings.dns.owner_record_name(),
            "_edgio-ingress-owner.origin"
        );
        assert_eq!(
            settings.node_address_types,
            vec!["ExternalIP", "InternalIP"]
        );
        let debug = format!("{args:?}");
        assert!(!debug.contains("0011223344"), "shared key in Debug output");
        assert!(!debug.contains("demo-vultr-key"), "API key in Debug output");
    }

    #[test]
    fn invalid_settings_are_configuration_errors() {
        // Replaces a flag's value in REQUIRED, or appends the flag.
        let with = |extra: &[&str]| {
            let mut v = REQUIRED.to_vec();
            for pair in extra.chunks(2) {
                match v.iter().position(|a| *a == pair[0]) {
                    Some(i) => v[i + 1] = pair[1],
                    None => v.extend_from_slice(pair),
                }
            }
            let cli = parse(&v).expect("parses");
            let Command::Plan(args) = cli.command else {
                panic!("plan expected")
            };
            args.common.plan_settings().map(|_| ())
        };
        assert!(matches!(
            with(&["--owner-id", "a/b"]),
            Err(ConfigError::OwnerId(_))
        ));
        assert!(matches!(
            with(&["--origin-hostname", "origin.example.org"]),
            Err(ConfigError::OriginOutsideZone { .. })
        ));
        assert!(matches!(
            with(&["--node-address-types", " , "]),
            Err(ConfigError::NoAddressTypes)
        ));
        assert!(with(&[]).is_ok());
    }
}
