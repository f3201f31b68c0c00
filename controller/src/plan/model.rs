//! Provider-neutral shapes of a CDN rule and a DNS record, as the planner sees them.

use std::fmt;

use serde_json::Value;

use crate::names::{OWNER_HEADER, REQ_SEND_HEADER};

/// An Edgio option, e.g. `req_send_header ["X-Name", "value"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOption {
    pub name: String,
    pub parameters: Vec<Value>,
}

/// One published protocol of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolSpec {
    pub published_protocol: String,
    pub published_port: Option<u16>,
    pub source_protocol: String,
    pub source_port: Option<u16>,
    pub options: Vec<RuleOption>,
}

fn default_port(protocol: &str) -> u16 {
    if protocol.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    }
}

impl ProtocolSpec {
    /// Ports with the protocol defaults filled in, so an omitted port equals its default.
    fn normalised(&self) -> (String, u16, String, u16, &[RuleOption]) {
        (
            self.published_protocol.to_ascii_lowercase(),
            self.published_port
                .unwrap_or_else(|| default_port(&self.published_protocol)),
            self.source_protocol.to_ascii_lowercase(),
            self.source_port
                .unwrap_or_else(|| default_port(&self.source_protocol)),
            &self.options,
        )
    }
}

/// The fields of a CDN rule (Edgio delivery service instance) that this controller manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub published_host: String,
    pub published_path: String,
    pub source_host: String,
    pub source_path: String,
    pub service_profile: String,
    pub protocol_sets: Vec<ProtocolSpec>,
}

/// Who created a rule: the value of our `req_send_header` marker, `<owner>/<namespace>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Marker {
    pub owner: String,
    pub namespace: String,
    pub name: String,
}

impl Marker {
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.splitn(3, '/');
        let owner = parts.next()?.to_string();
        let namespace = parts.next()?.to_string();
        let name = parts.next()?.to_string();
        if owner.is_empty() || namespace.is_empty() || name.is_empty() || name.contains('/') {
            return None;
        }
        Some(Self {
            owner,
            namespace,
            name,
        })
    }
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.owner, self.namespace, self.name)
    }
}

impl RuleSpec {
    /// The CDN identity of a rule: published host + path.
    pub fn key(&self) -> (String, String) {
        (
            self.published_host.to_ascii_lowercase(),
            self.published_path.clone(),
        )
    }

    pub fn published_protocols(&self) -> Vec<String> {
        self.protocol_sets
            .iter()
            .map(|p| p.published_protocol.to_ascii_lowercase())
            .collect()
    }

    /// The ownership marker, if every protocol set carries the same one. A rule whose protocol
    /// sets disagree (edited by hand) still counts as marked by the first marker found, so we
    /// can repair it.
    pub fn marker(&self) -> Option<Marker> {
        self.protocol_sets.iter().find_map(|p| {
            p.options.iter().find_map(|o| {
                if o.name != REQ_SEND_HEADER || o.parameters.len() != 2 {
                    return None;
                }
                let header = o.parameters[0].as_str()?;
                if !header.eq_ignore_ascii_case(OWNER_HEADER) {
                    return None;
                }
                Marker::parse(o.parameters[1].as_str()?)
            })
        })
    }

    /// Equal as the CDN would serve them: case-insensitive host and protocols, default ports filled
    /// in, protocol sets in any order.
    pub fn same_as(&self, other: &RuleSpec) -> bool {
        fn sets(r: &RuleSpec) -> Vec<(String, u16, String, u16, &[RuleOption])> {
            let mut v: Vec<_> = r
                .protocol_sets
                .iter()
                .map(ProtocolSpec::normalised)
                .collect();
            v.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            v
        }
        self.published_host
            .eq_ignore_ascii_case(&other.published_host)
            && self.published_path == other.published_path
            && self.source_host.eq_ignore_ascii_case(&other.source_host)
            && self.source_path == other.source_path
            && self.service_profile == other.service_profile
            && sets(self) == sets(other)
    }

    /// Short human form for logs, Events and `plan`: `host/path -> source:port (http,https)`.
    pub fn describe(&self) -> String {
        let port = self
            .protocol_sets
            .first()
            .and_then(|p| p.source_port)
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        format!(
            "{}{} -> {}{}{} ({})",
            self.published_host,
            self.published_path,
            self.source_host,
            port,
            self.source_path,
            self.published_protocols().join(",")
        )
    }
}

/// A rule as the CDN reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRule {
    pub uuid: String,
    pub spec: RuleSpec,
}

/// A DNS record as the provider reports it; names are relative to the zone (apex `""`), TXT data
/// unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    pub id: String,
    pub name: String,
    pub record_type: String,
    pub data: String,
    pub ttl: u32,
}

/// A record to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDnsRecord {
    pub name: String,
    pub record_type: String,
    pub data: String,
    pub ttl: u32,
}
