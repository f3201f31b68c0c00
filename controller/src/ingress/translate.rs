//! Ingress → routes. Every rule × path becomes a [`Route`]: published host and CDN path → backend
//! Service port → that Service's nodePort. Pure: the Services come from a [`Cluster`] snapshot.

use std::collections::BTreeSet;
use std::fmt;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, IngressBackend};
use kube::ResourceExt;

use super::{Cluster, IngressError};
use crate::names::{
    ANNOTATION_PUBLISHED_PROTOCOLS, ANNOTATION_SERVICE_PROFILE, DEFAULT_SERVICE_PROFILE,
};

/// Kubernetes `pathType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathType {
    Exact,
    Prefix,
    ImplementationSpecific,
}

impl PathType {
    fn parse(s: &str) -> Self {
        match s {
            "Exact" => Self::Exact,
            "Prefix" => Self::Prefix,
            // The API server rejects anything else; treat unknown values like the CDN does.
            _ => Self::ImplementationSpecific,
        }
    }
}

impl fmt::Display for PathType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Exact => "Exact",
            Self::Prefix => "Prefix",
            Self::ImplementationSpecific => "ImplementationSpecific",
        })
    }
}

/// Which published protocols the CDN rule offers. The origin is always plain http at the nodePort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocols {
    pub http: bool,
    pub https: bool,
}

impl Default for Protocols {
    fn default() -> Self {
        Self {
            http: true,
            https: true,
        }
    }
}

impl Protocols {
    fn parse(value: &str) -> Option<Self> {
        let mut p = Self {
            http: false,
            https: false,
        };
        for part in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "http" => p.http = true,
                "https" => p.https = true,
                _ => return None,
            }
        }
        (p.http || p.https).then_some(p)
    }
}

/// One published host + CDN path and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Published hostname, lowercase.
    pub host: String,
    /// The CDN's `publishedUrlPath` (a string prefix).
    pub cdn_path: String,
    /// The path as written in the Ingress (`"/"` for a defaultBackend).
    pub path: String,
    pub path_type: PathType,
    pub service: String,
    /// The Service port as the Ingress named it (`"http"` or `"80"`).
    pub port: String,
    pub node_port: u16,
}

/// Everything the Ingress asks for, ready for the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressRoutes {
    pub namespace: String,
    pub name: String,
    pub routes: Vec<Route>,
    /// (host, CDN path) of routes that failed to resolve (e.g. Service missing): rules already
    /// published there are kept as they are rather than deleted, until the route resolves again.
    pub held: BTreeSet<(String, String)>,
    pub problems: Vec<IngressError>,
    pub protocols: Protocols,
    pub service_profile: String,
}

/// Maps a Kubernetes path onto the CDN's string prefix. Returns the CDN path and, when the CDN
/// would match more than the pathType allows, an example of such a request path.
pub fn cdn_path(
    path_type: PathType,
    path: Option<&str>,
) -> Result<(String, Option<String>), &'static str> {
    let path = match path {
        None | Some("") => "/",
        Some(p) => p,
    };
    if !path.starts_with('/') {
        return Err("must start with /");
    }
    if path
        .chars()
        .any(|c| c == '?' || c == '#' || c.is_whitespace() || c.is_control())
    {
        return Err("must not contain ?, # or whitespace");
    }
    match path_type {
        // The CDN has no exact match: `/fred` also serves `/fred/x` and `/fredx`.
        PathType::Exact => {
            let example = if path.ends_with('/') {
                format!("{path}x")
            } else {
                format!("{path}/x")
            };
            Ok((path.to_string(), Some(example)))
        }
        // Prefix matches whole segments and ignores a trailing slash; the CDN prefix `/fred`
        // serves `/fred` and `/fred/x` as required, but also `/fredx`.
        PathType::Prefix => {
            let trimmed = path.trim_end_matches('/');
            if trimmed.is_empty() {
                Ok(("/".to_string(), None))
            } else {
                Ok((trimmed.to_string(), Some(format!("{trimmed}x"))))
            }
        }
        // Our implementation-specific meaning is the CDN's own: a plain string prefix.
        PathType::ImplementationSpecific => Ok((path.to_string(), None)),
    }
}

/// Checks a published hostname: a lowercase DNS name with at least two labels, not an IP address
/// and not a wildcard (the CDN publishes concrete hostnames only).
pub fn validate_host(host: &str) -> Result<String, &'static str> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.starts_with("*.") || host.contains('*') {
        return Err("wildcard hosts cannot be published on the CDN");
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Err("an IP address is not a hostname");
    }
    if host.len() > 253 || !host.contains('.') {
        return Err("not a fully qualified hostname");
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !host.split('.').all(label_ok) {
        return Err("not a valid DNS name");
    }
    Ok(host)
}

/// Resolves a backend to the nodePort of the Service port it names.
fn node_port(
    namespace: &str,
    backend: &IngressBackend,
    cluster: &Cluster,
    host: &str,
    path: &str,
) -> Result<(String, String, u16), IngressError> {
    let Some(svc_backend) = backend.service.as_ref() else {
        return Err(IngressError::UnsupportedBackend {
            host: host.into(),
            path: path.into(),
        });
    };
    let service_name = svc_backend.name.clone();
    let (port_name, port_number) = match svc_backend.port.as_ref() {
        Some(p) => (p.name.clone().filter(|n| !n.is_empty()), p.number),
        None => (None, None),
    };
    let port_label = port_name
        .clone()
        .or_else(|| port_number.map(|n| n.to_string()))
        .unwrap_or_else(|| "<none>".to_string());
    let Some(service) = cluster.service(namespace, &service_name) else {
        return Err(IngressError::ServiceNotFound {
            service: service_name,
            host: host.into(),
            path: path.into(),
        });
    };
    let np =
        service_node_port(service, port_name.as_deref(), port_number).map_err(|e| match e {
            PortProblem::NoSuchPort => IngressError::ServicePortNotFound {
                service: service_name.clone(),
                port: port_label.clone(),
                host: host.into(),
                path: path.into(),
            },
            PortProblem::WrongType(t) => IngressError::ServiceNotNodePort {
                service: service_name.clone(),
                service_type: t,
                host: host.into(),
                path: path.into(),
            },
            PortProblem::NoNodePort => IngressError::NodePortMissing {
                service: service_name.clone(),
                port: port_label.clone(),
                host: host.into(),
                path: path.into(),
            },
        })?;
    Ok((service_name, port_label, np))
}

enum PortProblem {
    NoSuchPort,
    WrongType(String),
    NoNodePort,
}

fn service_node_port(
    service: &Service,
    name: Option<&str>,
    number: Option<i32>,
) -> Result<u16, PortProblem> {
    let spec = service.spec.as_ref();
    let service_type = spec
        .and_then(|s| s.type_.clone())
        .unwrap_or_else(|| "ClusterIP".to_string());
    let ports = spec
        .and_then(|s| s.ports.as_ref())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let port = ports.iter().find(|p| match (name, number) {
        (Some(n), _) => p.name.as_deref() == Some(n),
        (None, Some(num)) => p.port == num,
        (None, None) => false,
    });
    let port = port.ok_or(PortProblem::NoSuchPort)?;
    if service_type != "NodePort" && service_type != "LoadBalancer" {
        return Err(PortProblem::WrongType(service_type));
    }
    port.node_port
        .and_then(|n| u16::try_from(n).ok())
        .filter(|n| *n > 0)
        .ok_or(PortProblem::NoNodePort)
}

/// Reads one Ingress into routes. Never fails as a whole: every problem is reported per route.
pub fn translate(ingress: &Ingress, cluster: &Cluster) -> IngressRoutes {
    let namespace = ingress.namespace().unwrap_or_else(|| "default".to_string());
    let mut out = IngressRoutes {
        namespace: namespace.clone(),
        name: ingress.name_any(),
        routes: Vec::new(),
        held: BTreeSet::new(),
        problems: Vec::new(),
        protocols: Protocols::default(),
        service_profile: DEFAULT_SERVICE_PROFILE.to_string(),
    };
    let annotations = ingress.annotations();
    if let Some(v) = annotations.get(ANNOTATION_PUBLISHED_PROTOCOLS) {
        match Protocols::parse(v) {
            Some(p) => out.protocols = p,
            None => out.problems.push(IngressError::InvalidAnnotation {
                key: ANNOTATION_PUBLISHED_PROTOCOLS,
                value: v.clone(),
                why: "expected a comma list of http, https",
            }),
        }
    }
    if let Some(v) = annotations.get(ANNOTATION_SERVICE_PROFILE) {
        let v = v.trim();
        if v.is_empty() || v.len() > 128 || v.chars().any(|c| c.is_control()) {
            out.problems.push(IngressError::InvalidAnnotation {
                key: ANNOTATION_SERVICE_PROFILE,
                value: v.to_string(),
                why: "expected a profile name",
            });
        } else {
            out.service_profile = v.to_string();
        }
    }

    let Some(spec) = ingress.spec.as_ref() else {
        return out;
    };
    let mut hosts: Vec<String> = Vec::new();
    for rule in spec.rules.iter().flatten() {
        let paths = rule
            .http
            .as_ref()
            .map(|h| h.paths.as_slice())
            .unwrap_or(&[]);
        let host = match rule.host.as_deref() {
            None | Some("") => {
                for p in paths {
                    out.problems.push(IngressError::MissingHost {
                        path: p.path.clone().unwrap_or_else(|| "/".into()),
                    });
                }
                continue;
            }
            Some(h) => match validate_host(h) {
                Ok(h) => h,
                Err(why) => {
                    out.problems.push(IngressError::InvalidHost {
                        host: h.to_string(),
                        why,
                    });
                    continue;
                }
            },
        };
        if !hosts.contains(&host) {
            hosts.push(host.clone());
        }
        for p in paths {
            let path_type = PathType::parse(&p.path_type);
            let raw_path = p.path.clone().unwrap_or_default();
            let (cdn, loose) = match cdn_path(path_type, Some(&raw_path)) {
                Ok(v) => v,
                Err(why) => {
                    out.problems.push(IngressError::InvalidPath {
                        host: host.clone(),
                        path: raw_path,
                        why,
                    });
                    continue;
                }
            };
            add_route(
                &mut out, cluster, &namespace, &host, &raw_path, path_type, cdn, loose, &p.backend,
            );
        }
    }

    // defaultBackend serves what no path matches: on the CDN that is the `/` prefix of each host
    // (longest prefix wins, so every explicit path still takes precedence).
    if let Some(backend) = spec.default_backend.as_ref() {
        if hosts.is_empty() {
            out.problems.push(IngressError::DefaultBackendUnsupported);
        } else {
            for host in &hosts {
                let taken = out
                    .routes
                    .iter()
                    .any(|r| &r.host == host && r.cdn_path == "/")
                    || out.held.contains(&(host.clone(), "/".to_string()));
                if !taken {
                    add_route(
                        &mut out,
                        cluster,
                        &namespace,
                        host,
                        "/",
                        PathType::ImplementationSpecific,
                        "/".into(),
                        None,
                        backend,
                    );
                }
            }
        }
    }

    let tls_hosts: BTreeSet<String> = spec
        .tls
        .iter()
        .flatten()
        .flat_map(|t| t.hosts.iter().flatten().cloned())
        .collect();
    if !spec.tls.as_ref().is_none_or(|t| t.is_empty()) {
        let hosts = if tls_hosts.is_empty() {
            "all hosts".to_string()
        } else {
            tls_hosts.into_iter().collect::<Vec<_>>().join(", ")
        };
        out.problems
            .push(IngressError::TlsTerminatedAtEdge { hosts });
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn add_route(
    out: &mut IngressRoutes,
    cluster: &Cluster,
    namespace: &str,
    host: &str,
    raw_path: &str,
    path_type: PathType,
    cdn: String,
    loose: Option<String>,
    backend: &IngressBackend,
) {
    match node_port(namespace, backend, cluster, host, raw_path) {
        Ok((service, port, np)) => {
            if let Some(existing) = out
                .routes
                .iter()
                .find(|r| r.host == host && r.cdn_path == cdn)
            {
                if existing.node_port != np {
                    out.problems.push(IngressError::DuplicateRoute {
                        host: host.into(),
                        cdn_path: cdn,
                    });
                }
                return;
            }
            if out.held.contains(&(host.to_string(), cdn.clone())) {
                out.problems.push(IngressError::DuplicateRoute {
                    host: host.into(),
                    cdn_path: cdn,
                });
                return;
            }
            if let Some(example) = loose {
                out.problems.push(IngressError::LooseMatch {
                    host: host.into(),
                    path: raw_path.into(),
                    path_type,
                    cdn_path: cdn.clone(),
                    example,
                });
            }
            out.routes.push(Route {
                host: host.into(),
                cdn_path: cdn,
                path: raw_path.into(),
                path_type,
                service,
                port,
                node_port: np,
            });
        }
        Err(e) => {
            let holds = !matches!(e, IngressError::UnsupportedBackend { .. });
            if holds
                && !out
                    .routes
                    .iter()
                    .any(|r| r.host == host && r.cdn_path == cdn)
            {
                out.held.insert((host.to_string(), cdn));
            }
            out.problems.push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use proptest::prelude::*;

    #[test]
    fn path_types_map_onto_cdn_prefixes_as_documented() {
        // (pathType, path, CDN path, looser example)
        let table: &[(PathType, Option<&str>, &str, Option<&str>)] = &[
            (PathType::Exact, Some("/fred"), "/fred", Some("/fred/x")),
            (PathType::Exact, Some("/fred/"), "/fred/", Some("/fred/x")),
            (PathType::Exact, Some("/"), "/", Some("/x")),
            (PathType::Prefix, Some("/fred"), "/fred", Some("/fredx")),
            (PathType::Prefix, Some("/fred/"), "/fred", Some("/fredx")),
            (PathType::Prefix, Some("/fred//"), "/fred", Some("/fredx")),
            (PathType::Prefix, Some("/"), "/", None),
            (PathType::Prefix, None, "/", None),
            (
                PathType::ImplementationSpecific,
                Some("/fred"),
                "/fred",
                None,
            ),
            (
                PathType::ImplementationSpecific,
                Some("/fred/"),
                "/fred/",
                None,
            ),
            (PathType::ImplementationSpecific, Some(""), "/", None),
        ];
        for (pt, path, cdn, loose) in table {
            let got = cdn_path(*pt, *path);
            assert_eq!(
                got,
                Ok((cdn.to_string(), loose.map(str::to_string))),
                "{pt} {path:?}"
            );
        }
    }

    #[test]
    fn paths_the_cdn_cannot_express_are_rejected() {
        for bad in ["fred", "/a?b", "/a#b", "/a b", "/a\tb"] {
            assert!(
                cdn_path(PathType::Prefix, Some(bad)).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn hosts_are_validated_and_lowercased() {
        let table: &[(&str, Result<&str, ()>)] = &[
            ("demo.s.llnwi.net", Ok("demo.s.llnwi.net")),
            ("Demo.S.LLNWI.net.", Ok("demo.s.llnwi.net")),
            ("*.example.com", Err(())),
            ("192.0.2.1", Err(())),
            ("localhost", Err(())),
            ("-bad.example.com", Err(())),
            ("under_score.example.com", Err(())),
        ];
        for (host, want) in table {
            assert_eq!(
                validate_host(host).map_err(|_| ()),
                want.map(str::to_string),
                "{host}"
            );
        }
    }

    #[test]
    fn article_ingress_becomes_one_route_to_the_node_port_with_a_loose_match_warning() {
        let c = cluster(&[], &[pywai_service()], &[]);
        let out = translate(&article_ingress(), &c);
        assert_eq!(
            out.routes,
            vec![Route {
                host: "demo.s.llnwi.net".into(),
                cdn_path: "/fred".into(),
                path: "/fred".into(),
                path_type: PathType::Exact,
                service: "pywai-inline-service".into(),
                port: "http".into(),
                node_port: 30080,
            }]
        );
        assert_eq!(out.problems.len(), 1);
        assert_eq!(out.problems[0].reason(), "LooseMatch");
        assert!(out.held.is_empty());
        assert_eq!(
            out.protocols,
            Protocols {
                http: true,
                https: true
            }
        );
    }

    #[test]
    fn backend_port_resolves_by_name_or_by_number() {
        let svc = service(
            "multi",
            "NodePort",
            &[("http", 80, Some(30080)), ("admin", 9000, Some(30900))],
        );
        let c = cluster(&[], &[svc], &[]);
        let ing = ingress("i")
            .path(
                "a.example.com",
                "/web",
                "Prefix",
                "multi",
                Port::Name("http"),
            )
            .path(
                "a.example.com",
                "/admin",
                "Prefix",
                "multi",
                Port::Number(9000),
            )
            .build();
        let ports: Vec<u16> = translate(&ing, &c)
            .routes
            .iter()
            .map(|r| r.node_port)
            .collect();
        assert_eq!(ports, vec![30080, 30900]);
    }

    #[test]
    fn each_backend_failure_skips_its_route_holds_it_and_names_the_reason() {
        let c = cluster(
            &[],
            &[
                service("clusterip", "ClusterIP", &[("http", 80, None)]),
                service("noport", "NodePort", &[("http", 80, None)]),
                pywai_service(),
            ],
            &[],
        );
        let table: &[(&str, Port<'_>, &str)] = &[
            ("missing", Port::Name("http"), "ServiceNotFound"),
            (
                "pywai-inline-service",
                Port::Name("nope"),
                "ServicePortNotFound",
            ),
            (
                "pywai-inline-service",
                Port::Number(81),
                "ServicePortNotFound",
            ),
            ("clusterip", Port::Name("http"), "ServiceNotNodePort"),
            ("noport", Port::Name("http"), "NodePortMissing"),
        ];
        for (svc, port, reason) in table {
            let ing = ingress("i")
                .path("a.example.com", "/x", "Prefix", svc, *port)
                .build();
            let out = translate(&ing, &c);
            assert!(out.routes.is_empty(), "{svc}: route kept");
            assert_eq!(
                out.problems.iter().map(|p| p.reason()).collect::<Vec<_>>(),
                vec![*reason],
                "{svc}"
            );
            assert!(
                out.held
                    .contains(&("a.example.com".to_string(), "/x".to_string())),
                "{svc}: not held"
            );
        }
    }

    #[test]
    fn load_balancer_services_publish_their_node_port() {
        let c = cluster(
            &[],
            &[service("lb", "LoadBalancer", &[("http", 80, Some(31000))])],
            &[],
        );
        let ing = ingress("i")
            .path("a.example.com", "/", "Prefix", "lb", Port::Name("http"))
            .build();
        assert_eq!(translate(&ing, &c).routes[0].node_port, 31000);
    }

    #[test]
    fn rule_without_host_is_skipped_with_missing_host_and_other_rules_still_publish() {
        let c = cluster(&[], &[pywai_service()], &[]);
        let ing = ingress("i")
            .path(
                "",
                "/nohost",
                "Prefix",
                "pywai-inline-service",
                Port::Name("http"),
            )
            .path(
                "a.example.com",
                "/ok",
                "ImplementationSpecific",
                "pywai-inline-service",
                Port::Name("http"),
            )
            .build();
        let out = translate(&ing, &c);
        assert_eq!(out.routes.len(), 1);
        assert_eq!(out.routes[0].cdn_path, "/ok");
        assert_eq!(
            out.problems.iter().map(|p| p.reason()).collect::<Vec<_>>(),
            vec!["MissingHost"]
        );
    }

    #[test]
    fn default_backend_is_published_as_root_of_each_host_without_one() {
        let c = cluster(
            &[],
            &[
                pywai_service(),
                service("fallback", "NodePort", &[("http", 80, Some(30999))]),
            ],
            &[],
        );
        let ing = ingress("i")
            .path(
                "a.example.com",
                "/app",
                "ImplementationSpecific",
                "pywai-inline-service",
                Port::Name("http"),
            )
            .path(
                "b.example.com",
                "/",
                "Prefix",
                "pywai-inline-service",
                Port::Name("http"),
            )
            .default_backend("fallback", Port::Name("http"))
            .build();
        let out = translate(&ing, &c);
        let got: Vec<(String, String, u16)> = out
            .routes
            .iter()
            .map(|r| (r.host.clone(), r.cdn_path.clone(), r.node_port))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.example.com".into(), "/app".into(), 30080),
                ("b.example.com".into(), "/".into(), 30080),
                ("a.example.com".into(), "/".into(), 30999),
            ]
        );
    }

    #[test]
    fn default_backend_without_any_host_is_reported_unsupported() {
        let c = cluster(&[], &[pywai_service()], &[]);
        let ing = ingress("i")
            .default_backend("pywai-inline-service", Port::Name("http"))
            .build();
        let out = translate(&ing, &c);
        assert!(out.routes.is_empty());
        assert_eq!(
            out.problems.iter().map(|p| p.reason()).collect::<Vec<_>>(),
            vec!["DefaultBackendUnsupported"]
        );
    }

    #[test]
    fn two_paths_on_one_cdn_prefix_with_different_backends_keep_the_first_and_warn() {
        let c = cluster(
            &[],
            &[
                pywai_service(),
                service("other", "NodePort", &[("http", 80, Some(30001))]),
            ],
            &[],
        );
        let ing = ingress("i")
            .path(
                "a.example.com",
                "/x",
                "ImplementationSpecific",
                "pywai-inline-service",
                Port::Name("http"),
            )
            .path(
                "a.example.com",
                "/x/",
                "Prefix",
                "other",
                Port::Name("http"),
            )
            .build();
        let out = translate(&ing, &c);
        assert_eq!(out.routes.len(), 1);
        assert_eq!(out.routes[0].node_port, 30080);
        assert!(out.problems.iter().any(|p| p.reason() == "DuplicateRoute"));
    }

    #[test]
    fn tls_is_noted_as_terminated_at_the_edge_and_does_not_block_publishing() {
        let c = cluster(&[], &[pywai_service()], &[]);
        let ing = ingress("i")
            .path(
                "a.example.com",
                "/",
                "Prefix",
                "pywai-inline-service",
                Port::Name("http"),
            )
            .tls(&["a.example.com"], "a-cert")
            .build();
        let out = translate(&ing, &c);
        assert_eq!(out.routes.len(), 1);
        let tls: Vec<_> = out
            .problems
            .iter()
            .filter(|p| p.reason() == "TlsTerminatedAtEdge")
            .collect();
        assert_eq!(tls.len(), 1);
        assert!(!tls[0].is_warning());
    }

    #[test]
    fn protocol_annotation_selects_published_protocols_and_bad_values_fall_back() {
        let c = cluster(&[], &[pywai_service()], &[]);
        let table: &[(&str, Protocols, bool)] = &[
            (
                "https",
                Protocols {
                    http: false,
                    https: true,
                },
                false,
            ),
            (
                "http",
                Protocols {
                    http: true,
                    https: false,
                },
                false,
            ),
            (
                "HTTP, https",
                Protocols {
                    http: true,
                    https: true,
                },
                false,
            ),
            ("ftp", Protocols::default(), true),
            ("", Protocols::default(), true),
        ];
        for (value, want, warns) in table {
            let ing = ingress("i")
                .annotation(crate::names::ANNOTATION_PUBLISHED_PROTOCOLS, value)
                .path(
                    "a.example.com",
                    "/",
                    "Prefix",
                    "pywai-inline-service",
                    Port::Name("http"),
                )
                .build();
            let out = translate(&ing, &c);
            assert_eq!(out.protocols, *want, "{value:?}");
            assert_eq!(
                out.problems
                    .iter()
                    .any(|p| p.reason() == "InvalidAnnotation"),
                *warns,
                "{value:?}"
            );
        }
    }

    /// Does Kubernetes' Prefix pathType match `request` for `prefix` (segment-wise)?
    fn k8s_prefix_matches(prefix: &str, request: &str) -> bool {
        let p: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
        let r: Vec<&str> = request.split('/').filter(|s| !s.is_empty()).collect();
        r.len() >= p.len() && p.iter().zip(&r).all(|(a, b)| a == b)
    }

    proptest! {
        #[test]
        fn cdn_prefix_is_never_stricter_than_the_kubernetes_path_type(
            segs in proptest::collection::vec("[a-z]{1,3}", 0..4),
            extra in proptest::collection::vec("[a-z]{1,3}", 0..3),
            trailing in any::<bool>(),
        ) {
            let mut path = format!("/{}", segs.join("/"));
            if trailing && path != "/" { path.push('/'); }
            let request = if extra.is_empty() { path.clone() } else {
                format!("{}/{}", path.trim_end_matches('/'), extra.join("/"))
            };
            let (cdn, _) = cdn_path(PathType::Prefix, Some(&path)).map_err(TestCaseError::fail)?;
            if k8s_prefix_matches(&path, &request) {
                prop_assert!(request.starts_with(&cdn) || format!("{request}/").starts_with(&cdn),
                    "k8s matches {request} under {path} but CDN prefix {cdn} does not");
            }
            let (exact, loose) = cdn_path(PathType::Exact, Some(&path)).map_err(TestCaseError::fail)?;
            prop_assert_eq!(&exact, &path);
            prop_assert!(loose.is_some());
            prop_assert!(cdn.starts_with('/'));
            prop_assert!(cdn == "/" || !cdn.ends_with('/'));
        }

        #[test]
        fn translation_never_panics_and_routes_are_unique_per_host_and_path(
            rules in proptest::collection::vec(
                ("[a-c]{0,2}(\\.example\\.com)?", "/?[a-z/]{0,6}", 0usize..3, "(svc|gone|cip)", 0usize..3),
                0..8,
            ),
        ) {
            let types = ["Exact", "Prefix", "ImplementationSpecific"];
            let ports = [Port::Name("http"), Port::Number(80), Port::Name("x")];
            let c = cluster(&[], &[
                service("svc", "NodePort", &[("http", 80, Some(30080))]),
                service("cip", "ClusterIP", &[("http", 80, None)]),
            ], &[]);
            let mut b = ingress("p");
            for (host, path, t, svc, port) in &rules {
                b = b.path(host, path, types[*t], svc, ports[*port]);
            }
            let out = translate(&b.build(), &c);
            let mut keys: Vec<(String, String)> = out.routes.iter().map(|r| (r.host.clone(), r.cdn_path.clone())).collect();
            let n = keys.len();
            keys.sort();
            keys.dedup();
            prop_assert_eq!(keys.len(), n);
            for r in &out.routes {
                prop_assert!(validate_host(&r.host).is_ok());
                prop_assert!(r.cdn_path.starts_with('/'));
                prop_assert_eq!(r.node_port, 30080);
            }
        }
    }
}
