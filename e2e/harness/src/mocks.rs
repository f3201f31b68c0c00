//! The two mocks seen from outside: their admin API (`/__admin/state`, `/__admin/requests`,
//! `/__admin/faults`, `/__admin/reset`), typed views of their state, real DNS answers from the
//! Vultr mock's DNS server, and real HTTP traffic.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

/// One mock's admin API.
#[derive(Debug, Clone)]
pub struct MockAdmin {
    pub name: &'static str,
    /// Base URL of the server that serves `/__admin/` (no trailing slash).
    pub base: String,
    http: reqwest::Client,
}

/// One API call from a mock's request log.
#[derive(Debug, Clone, Deserialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub time: Option<String>,
}

impl LoggedRequest {
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
}

impl std::fmt::Display for LoggedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(q) = self.query.as_deref().filter(|q| !q.is_empty()) {
            write!(f, "?{q}")?;
        }
        if let Some(s) = self.status {
            write!(f, " → {s}")?;
        }
        if let Some(t) = &self.time {
            write!(f, " at {t}")?;
        }
        Ok(())
    }
}

impl MockAdmin {
    pub fn new(name: &'static str, base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            name,
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/__admin/{path}", self.base)
    }

    pub async fn state(&self) -> Result<Value> {
        let resp = self.http.get(self.url("state")).send().await;
        let resp = resp.with_context(|| format!("{} admin state", self.name))?;
        let status = resp.status();
        if !status.is_success() {
            bail!("{} admin state returned {status}", self.name);
        }
        resp.json()
            .await
            .with_context(|| format!("{} admin state is not JSON", self.name))
    }

    pub async fn requests(&self) -> Result<Vec<LoggedRequest>> {
        let resp = self.http.get(self.url("requests")).send().await;
        let resp = resp.with_context(|| format!("{} request log", self.name))?;
        let status = resp.status();
        if !status.is_success() {
            bail!("{} request log returned {status}", self.name);
        }
        resp.json()
            .await
            .with_context(|| format!("{} request log is not a list", self.name))
    }

    pub async fn clear_requests(&self) -> Result<()> {
        let resp = self.http.delete(self.url("requests")).send().await;
        check(resp, self.name, "clear request log").await
    }

    /// Replaces the fault settings (`PUT /__admin/faults`; missing fields mean "no fault").
    pub async fn set_faults(&self, faults: &Value) -> Result<()> {
        let resp = self.http.put(self.url("faults")).json(faults).send().await;
        check(resp, self.name, "set faults").await
    }

    pub async fn clear_faults(&self) -> Result<()> {
        self.set_faults(&serde_json::json!({})).await
    }

    pub async fn reset(&self) -> Result<()> {
        let resp = self.http.post(self.url("reset")).send().await;
        check(resp, self.name, "reset").await
    }
}

async fn check(resp: reqwest::Result<reqwest::Response>, name: &str, what: &str) -> Result<()> {
    let resp = resp.with_context(|| format!("{name}: {what}"))?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        let body = resp.text().await.unwrap_or_default();
        bail!("{name}: {what} returned {status}: {body}")
    }
}

/// A CDN rule (Edgio delivery service instance), reduced to what the scenarios assert on.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub uuid: String,
    pub version: i64,
    pub shortname: String,
    pub host: String,
    pub path: String,
    pub source_host: String,
    /// `sourcePort` of every protocol set.
    pub source_ports: Vec<Option<i64>>,
    /// `req_send_header` options as (name, value).
    pub sent_headers: Vec<(String, String)>,
    pub raw: Value,
}

impl Rule {
    fn from_instance(v: &Value) -> Option<Rule> {
        let body = v.get("body")?;
        let s = |val: Option<&Value>| val.and_then(Value::as_str).unwrap_or_default().to_owned();
        let sets = body
            .get("protocolSets")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut sent_headers = Vec::new();
        for set in &sets {
            for opt in set
                .get("options")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if opt.get("name").and_then(Value::as_str) == Some("req_send_header") {
                    let params: Vec<String> = opt
                        .get("parameters")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|p| match p {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect();
                    if let [name, value, ..] = params.as_slice() {
                        sent_headers.push((name.clone(), value.clone()));
                    }
                }
            }
        }
        Some(Rule {
            uuid: s(v.get("uuid")),
            version: v
                .pointer("/revision/versionNumber")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            shortname: s(v.get("shortname")),
            host: s(body.get("publishedHostname")),
            path: s(body.get("publishedUrlPath")),
            source_host: s(body.get("sourceHostname")),
            source_ports: sets
                .iter()
                .map(|p| p.get("sourcePort").and_then(Value::as_i64))
                .collect(),
            sent_headers,
            raw: v.clone(),
        })
    }

    /// Whether any ownership marker on the rule names `needle` (owner id, namespace/name).
    pub fn mentions(&self, needle: &str) -> bool {
        self.sent_headers
            .iter()
            .any(|(n, v)| n.contains(needle) || v.contains(needle))
    }

    /// Whether the rule's path is `path` (the CDN may or may not keep a trailing slash).
    pub fn has_path(&self, path: &str) -> bool {
        self.path.trim_end_matches('/') == path.trim_end_matches('/')
    }

    pub fn short(&self) -> String {
        format!(
            "{}{} → {}:{:?} (uuid {}, v{})",
            self.host, self.path, self.source_host, self.source_ports, self.uuid, self.version
        )
    }
}

/// All CDN rules in the Edgio mock.
pub async fn rules(edgio: &MockAdmin) -> Result<Vec<Rule>> {
    let state = edgio.state().await?;
    let list = state
        .get("instances")
        .and_then(Value::as_array)
        .context("edgio state has no `instances` list")?;
    Ok(list.iter().filter_map(Rule::from_instance).collect())
}

/// One DNS record in the Vultr mock.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct Record {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub data: String,
    #[serde(default)]
    pub ttl: i64,
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} (ttl {}, id {})",
            self.name, self.kind, self.data, self.ttl, self.id
        )
    }
}

/// All records of `zone` in the Vultr mock.
pub async fn records(vultr: &MockAdmin, zone: &str) -> Result<Vec<Record>> {
    let state = vultr.state().await?;
    let domains = state
        .get("domains")
        .and_then(Value::as_array)
        .context("vultr state has no `domains` list")?;
    let Some(domain) = domains
        .iter()
        .find(|d| d.get("domain").and_then(Value::as_str) == Some(zone))
    else {
        bail!("zone {zone} is not in the vultr mock");
    };
    let list = domain
        .get("records")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    serde_json::from_value(list).context("vultr records do not parse")
}

/// The relative name of `fqdn` in `zone` (`origin.example.com` in `example.com` → `origin`).
pub fn relative_name(fqdn: &str, zone: &str) -> String {
    let fqdn = fqdn.trim_end_matches('.');
    if fqdn == zone {
        return String::new();
    }
    fqdn.strip_suffix(&format!(".{zone}"))
        .unwrap_or(fqdn)
        .to_owned()
}

/// Real DNS answers from the Vultr mock's DNS server (UDP), with no cache, so each call sees
/// the server's current data.
pub async fn resolve_a(dns: SocketAddr, name: &str) -> Result<BTreeSet<Ipv4Addr>> {
    use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
    use hickory_resolver::name_server::TokioConnectionProvider;
    use hickory_resolver::proto::ProtoErrorKind;
    use hickory_resolver::{ResolveErrorKind, TokioResolver};

    let group = NameServerConfigGroup::from_ips_clear(&[dns.ip()], dns.port(), true);
    let config = ResolverConfig::from_parts(None, vec![], group);
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 2;
    opts.timeout = Duration::from_secs(2);
    let resolver = TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        .with_options(opts)
        .build();
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    match resolver.ipv4_lookup(fqdn.as_str()).await {
        Ok(answer) => Ok(answer.iter().map(|a| a.0).collect()),
        Err(e) => {
            // NXDOMAIN and NODATA are answers ("no addresses"), not failures.
            if let ResolveErrorKind::Proto(p) = e.kind()
                && matches!(p.kind(), ProtoErrorKind::NoRecordsFound { .. })
            {
                return Ok(BTreeSet::new());
            }
            Err(anyhow::anyhow!("DNS query for {name} at {dns} failed: {e}"))
        }
    }
}

/// The A answer as sorted text, for logs.
pub fn show_ips(ips: &BTreeSet<Ipv4Addr>) -> String {
    if ips.is_empty() {
        return "(no addresses)".to_owned();
    }
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An HTTP response reduced to what the scenarios check.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub body: String,
}

/// GET `url`, optionally with a `Host` header (how the CDN edge is addressed by published host).
pub async fn http_get(url: &str, host: Option<&str>) -> Result<Page> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .context("HTTP client")?;
    let mut req = client.get(url);
    if let Some(host) = host {
        req = req.header(reqwest::header::HOST, host);
    }
    let resp = req.send().await.with_context(|| format!("GET {url}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .text()
        .await
        .with_context(|| format!("GET {url}: body"))?;
    Ok(Page { status, body })
}

/// Whether pywai's echo page shows a request header (case-insensitive, whatever the quoting).
pub fn echo_has_header(body: &str, name: &str) -> bool {
    body.to_ascii_lowercase()
        .contains(&name.to_ascii_lowercase())
}

/// Parses `HOST:PORT` where HOST is an IP address.
pub fn parse_addr(s: &str) -> Result<SocketAddr> {
    s.parse().with_context(|| format!("`{s}` is not IP:PORT"))
}

/// True when `ip` is an IPv4 address in `set`.
pub fn contains_ip(set: &BTreeSet<Ipv4Addr>, ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if set.contains(v4))
}

/// Edgio rules made or changed "by hand": through the real Config API with the account's
/// credentials (signed requests), as an operator or another tool would.
pub struct EdgioByHand {
    client: edgio_ingress::providers::edgio::EdgioClient,
    shortname: String,
}

impl EdgioByHand {
    pub fn new(api: &str, user: &str, key: &str, shortname: &str) -> Result<Self> {
        use edgio_ingress::providers::edgio::{EdgioClient, EdgioConfig};
        let client = EdgioClient::new(EdgioConfig::new(api, user, key)).context("Edgio client")?;
        Ok(Self {
            client,
            shortname: shortname.to_owned(),
        })
    }

    /// Creates a rule with no ownership marker; returns its uuid.
    pub async fn create(&self, host: &str, path: &str, origin: &str, port: u16) -> Result<String> {
        let inst: edgio_ingress::providers::edgio::Instance =
            serde_json::from_value(serde_json::json!({
                "accounts": [{"shortname": self.shortname}],
                "body": {"serviceKey": {"name": "delivery"}, "serviceProfileName": "LLNW-Generic",
                    "publishedHostname": host, "publishedUrlPath": path,
                    "sourceHostname": origin, "sourceUrlPath": "",
                    "protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http",
                        "sourcePort": port, "options": []}]}
            }))
            .context("hand-made instance")?;
        let made = self
            .client
            .create(&inst)
            .await
            .with_context(|| format!("creating {host}{path} by hand"))?;
        made.uuid.context("the created rule has no uuid")
    }

    pub async fn delete(&self, uuid: &str) -> Result<()> {
        self.client
            .delete(uuid)
            .await
            .with_context(|| format!("deleting rule {uuid} by hand"))?;
        Ok(())
    }

    /// Replaces the source port of every protocol set of a rule (an edit made by hand).
    pub async fn set_source_port(&self, uuid: &str, port: u16) -> Result<()> {
        let mut inst = self
            .client
            .get(uuid)
            .await
            .with_context(|| format!("reading rule {uuid}"))?
            .with_context(|| format!("rule {uuid} does not exist"))?;
        for set in &mut inst.body.protocol_sets {
            set.source_port = Some(port);
        }
        self.client
            .replace(uuid, &inst)
            .await
            .with_context(|| format!("editing rule {uuid} by hand"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_parses_into_host_path_source_ports_and_owner_headers() {
        let v = serde_json::json!({
            "uuid": "u1", "shortname": "demo", "revision": {"versionNumber": 3},
            "body": {"publishedHostname": "demo.s.llnwi.net", "publishedUrlPath": "/fred",
                "sourceHostname": "origin.example.com", "protocolSets": [
                    {"publishedProtocol": "http", "sourceProtocol": "http", "sourcePort": 30080,
                     "options": [{"name": "req_send_header", "parameters": ["X-Owner", "o/default/i"]}]},
                    {"publishedProtocol": "https", "sourceProtocol": "http", "sourcePort": null}]}
        });
        let rule = Rule::from_instance(&v).expect("an instance with a body parses");
        assert_eq!(
            (rule.host.as_str(), rule.path.as_str(), rule.version),
            ("demo.s.llnwi.net", "/fred", 3)
        );
        assert_eq!(rule.source_ports, vec![Some(30080), None]);
        assert_eq!(
            rule.sent_headers,
            vec![("X-Owner".to_owned(), "o/default/i".to_owned())]
        );
        assert!(rule.mentions("o/default/") && !rule.mentions("other/"));
        assert!(rule.has_path("/fred/") && !rule.has_path("/fre"));
    }

    #[test]
    fn names_are_made_relative_to_the_zone_and_the_apex_is_empty() {
        assert_eq!(relative_name("origin.example.com", "example.com"), "origin");
        assert_eq!(
            relative_name("origin.example.com.", "example.com"),
            "origin"
        );
        assert_eq!(relative_name("example.com", "example.com"), "");
        assert_eq!(
            relative_name("elsewhere.org", "example.com"),
            "elsewhere.org"
        );
    }

    #[test]
    fn writes_are_every_method_but_get_head_and_options() {
        let r = |m: &str| LoggedRequest {
            method: m.into(),
            path: "/".into(),
            query: None,
            status: None,
            time: None,
        };
        assert!(!r("GET").is_write() && !r("HEAD").is_write());
        assert!(
            r("POST").is_write()
                && r("PUT").is_write()
                && r("PATCH").is_write()
                && r("DELETE").is_write()
        );
    }
}
