//! Origin name resolution for the edge: A and AAAA through one configured DNS server (UDP, then
//! TCP), caching no longer than a record's TTL and never more than a second, so a changed record
//! is seen almost at once.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::{ResolveError, TokioResolver};

/// How long the address of a DNS server given by name is trusted before it is looked up again.
const SERVER_NAME_TTL: Duration = Duration::from_secs(30);
const MAX_CACHE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ResolveFailure {
    #[error("DNS server {server:?} cannot be resolved: {reason}")]
    Server { server: String, reason: String },
    #[error("DNS lookup via {server} failed: {source}")]
    Lookup {
        server: String,
        source: Box<ResolveError>,
    },
    #[error("libc lookup failed: {0}")]
    Libc(String),
    #[error("DNS via {server} returned no A or AAAA records")]
    Empty { server: String },
}

enum Mode {
    /// `/etc/resolv.conf` (and /etc/hosts).
    System(TokioResolver),
    /// No resolver configuration could be read: the libc resolver, without rotation-friendly TTLs.
    Libc,
    /// One server, given as `HOST:PORT`; HOST may be a name.
    Server {
        spec: String,
        current: Mutex<Option<(SocketAddr, TokioResolver, Instant)>>,
    },
}

pub struct OriginResolver {
    mode: Mode,
}

fn options() -> ResolverOpts {
    let mut opts = ResolverOpts::default();
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    opts.positive_max_ttl = Some(MAX_CACHE);
    opts.negative_max_ttl = Some(MAX_CACHE);
    opts.timeout = Duration::from_secs(2);
    opts.attempts = 2;
    opts
}

fn single_server(addr: SocketAddr) -> TokioResolver {
    let group = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
    let mut opts = options();
    opts.use_hosts_file = ResolveHosts::Never;
    TokioResolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], group),
        TokioConnectionProvider::default(),
    )
    .with_options(opts)
    .build()
}

impl OriginResolver {
    pub fn new(dns_server: Option<&str>) -> Result<OriginResolver, String> {
        let mode = match dns_server {
            None => match TokioResolver::builder_tokio() {
                Ok(builder) => Mode::System(builder.with_options(options()).build()),
                Err(e) => {
                    tracing::warn!(error = %e, "no system resolver configuration; origins are resolved with the libc resolver");
                    Mode::Libc
                }
            },
            Some(spec) => {
                let (host, port) = spec
                    .rsplit_once(':')
                    .ok_or_else(|| format!("--dns-server {spec:?} must be HOST:PORT"))?;
                if host.is_empty() || port.parse::<u16>().is_err() {
                    return Err(format!("--dns-server {spec:?} must be HOST:PORT"));
                }
                Mode::Server {
                    spec: spec.to_string(),
                    current: Mutex::new(None),
                }
            }
        };
        Ok(OriginResolver { mode })
    }

    pub fn describe(&self) -> String {
        match &self.mode {
            Mode::System(_) => "the system resolver".into(),
            Mode::Libc => "the libc resolver".into(),
            Mode::Server { spec, .. } => spec.clone(),
        }
    }

    /// All A and AAAA addresses of `name`, sorted so rotation order is stable.
    pub async fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, ResolveFailure> {
        let (resolver, server) = match &self.mode {
            Mode::System(r) => (r.clone(), "the system resolver".to_string()),
            Mode::Libc => return libc_lookup(name).await,
            Mode::Server { spec, current } => {
                (self.server_resolver(spec, current).await?, spec.clone())
            }
        };
        // A trailing dot makes the name absolute: no search domains.
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        };
        let lookup =
            resolver
                .lookup_ip(fqdn.as_str())
                .await
                .map_err(|source| ResolveFailure::Lookup {
                    server: server.clone(),
                    source: Box::new(source),
                })?;
        let mut ips: Vec<IpAddr> = lookup.iter().collect();
        ips.sort();
        ips.dedup();
        if ips.is_empty() {
            return Err(ResolveFailure::Empty { server });
        }
        Ok(ips)
    }

    async fn server_resolver(
        &self,
        spec: &str,
        current: &Mutex<Option<(SocketAddr, TokioResolver, Instant)>>,
    ) -> Result<TokioResolver, ResolveFailure> {
        {
            let guard = current.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, r, at)) = guard.as_ref()
                && at.elapsed() < SERVER_NAME_TTL
            {
                return Ok(r.clone());
            }
        }
        let addr = resolve_server(spec)
            .await
            .map_err(|reason| ResolveFailure::Server {
                server: spec.to_string(),
                reason,
            })?;
        let mut guard = current.lock().unwrap_or_else(|p| p.into_inner());
        let resolver = match guard.take() {
            // Same address: keep the resolver (and its short cache).
            Some((old, r, _)) if old == addr => r,
            _ => single_server(addr),
        };
        *guard = Some((addr, resolver.clone(), Instant::now()));
        Ok(resolver)
    }
}

async fn libc_lookup(name: &str) -> Result<Vec<IpAddr>, ResolveFailure> {
    let server = "the libc resolver".to_string();
    let addrs = tokio::net::lookup_host((name, 0))
        .await
        .map_err(|e| ResolveFailure::Libc(e.to_string()))?;
    let mut ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
    ips.sort();
    ips.dedup();
    if ips.is_empty() {
        return Err(ResolveFailure::Empty { server });
    }
    Ok(ips)
}

/// `HOST:PORT` → a socket address; a name goes through the system resolver (in a cluster, the
/// Vultr mock's Service name).
async fn resolve_server(spec: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = spec.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = spec
        .rsplit_once(':')
        .ok_or_else(|| "expected HOST:PORT".to_string())?;
    let port: u16 = port.parse().map_err(|_| format!("bad port {port:?}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    match TokioResolver::builder_tokio() {
        Ok(b) => {
            let r = b.build();
            match r.lookup_ip(host).await {
                Ok(l) => {
                    if let Some(ip) = l.iter().next() {
                        return Ok(SocketAddr::new(ip, port));
                    }
                }
                Err(e) => {
                    tracing::debug!(host, error = %e, "system DNS lookup of the DNS server failed")
                }
            }
        }
        Err(e) => tracing::debug!(error = %e, "no system resolver configuration"),
    }
    // Last resort: the libc resolver (covers /etc/hosts-only environments).
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| format!("{host} has no address"))
}
