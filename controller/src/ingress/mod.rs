//! Stage 1 of the pipeline (pure, no IO): read an Ingress, the Services it names and the Nodes into
//! a typed route model. "Is this Ingress ours?" ([`class`]), "what does it publish?"
//! ([`translate`]) and "which addresses does the origin name list?" ([`nodes`]).

pub mod class;
pub mod nodes;
pub mod translate;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::ResourceExt;

use crate::names::reason;

pub use class::{ClassConfig, Lifecycle, lifecycle};
pub use nodes::origin_addresses;
pub use translate::{IngressRoutes, PathType, Protocols, Route, translate};

/// A read-only view of the cluster objects the pipeline needs (from the watch caches).
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub ingresses: Vec<Arc<Ingress>>,
    pub services: Vec<Arc<Service>>,
    pub nodes: Vec<Arc<Node>>,
    pub classes: Vec<Arc<IngressClass>>,
}

impl Cluster {
    pub fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .map(|s| s.as_ref())
            .find(|s| s.name_any() == name && s.namespace().as_deref() == Some(namespace))
    }

    pub fn ingress(&self, namespace: &str, name: &str) -> Option<&Ingress> {
        self.ingresses
            .iter()
            .map(|i| i.as_ref())
            .find(|i| i.name_any() == name && i.namespace().as_deref() == Some(namespace))
    }
}

/// What is wrong (or worth saying) about one Ingress. Each finding becomes one Event on the
/// Ingress; none of them stops the other routes from being published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngressError {
    #[error("rule with path {path:?} has no host: the CDN needs a published hostname, skipped")]
    MissingHost { path: String },
    #[error("host {host:?} cannot be published: {why}")]
    InvalidHost { host: String, why: &'static str },
    #[error("path {path:?} of host {host} cannot be published: {why}")]
    InvalidPath {
        host: String,
        path: String,
        why: &'static str,
    },
    #[error(
        "{host}{path} ({path_type}) is published as CDN prefix {cdn_path:?}, which also matches {example:?}"
    )]
    LooseMatch {
        host: String,
        path: String,
        path_type: PathType,
        cdn_path: String,
        example: String,
    },
    #[error("{host}{cdn_path} is requested twice with different backends; the first path wins")]
    DuplicateRoute { host: String, cdn_path: String },
    #[error("{host}{path} has a resource backend; only Service backends can be published")]
    UnsupportedBackend { host: String, path: String },
    #[error("spec.defaultBackend is set but no rule has a host to publish it on")]
    DefaultBackendUnsupported,
    #[error("Service {service} not found (route {host}{path})")]
    ServiceNotFound {
        service: String,
        host: String,
        path: String,
    },
    #[error("Service {service} has no port {port} (route {host}{path})")]
    ServicePortNotFound {
        service: String,
        port: String,
        host: String,
        path: String,
    },
    #[error(
        "Service {service} is of type {service_type}, not NodePort or LoadBalancer (route {host}{path})"
    )]
    ServiceNotNodePort {
        service: String,
        service_type: String,
        host: String,
        path: String,
    },
    #[error("Service {service} port {port} has no nodePort (route {host}{path})")]
    NodePortMissing {
        service: String,
        port: String,
        host: String,
        path: String,
    },
    #[error("annotation {key}={value:?} is not valid ({why}); using the default")]
    InvalidAnnotation {
        key: &'static str,
        value: String,
        why: &'static str,
    },
    #[error(
        "spec.tls is served by the CDN with its own certificates for {hosts}; the Secrets are not used"
    )]
    TlsTerminatedAtEdge { hosts: String },
}

impl IngressError {
    /// Short reason: the Event reason and the metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingHost { .. } => reason::MISSING_HOST,
            Self::InvalidHost { .. } => reason::INVALID_HOST,
            Self::InvalidPath { .. } => reason::INVALID_PATH,
            Self::LooseMatch { .. } => reason::LOOSE_MATCH,
            Self::DuplicateRoute { .. } => reason::DUPLICATE_ROUTE,
            Self::UnsupportedBackend { .. } => reason::UNSUPPORTED_BACKEND,
            Self::DefaultBackendUnsupported => reason::DEFAULT_BACKEND_UNSUPPORTED,
            Self::ServiceNotFound { .. } => reason::SERVICE_NOT_FOUND,
            Self::ServicePortNotFound { .. } => reason::SERVICE_PORT_NOT_FOUND,
            Self::ServiceNotNodePort { .. } => reason::SERVICE_NOT_NODE_PORT,
            Self::NodePortMissing { .. } => reason::NODE_PORT_MISSING,
            Self::InvalidAnnotation { .. } => reason::INVALID_ANNOTATION,
            Self::TlsTerminatedAtEdge { .. } => reason::TLS_TERMINATED_AT_EDGE,
        }
    }

    /// Never: these are fixed by editing the Ingress or the Service, which the watches notice.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// The route (or defaultBackend) was not published because of this finding. These are the
    /// findings counted in `edgio_ingress_errors_total`.
    pub fn skips_route(&self) -> bool {
        !matches!(
            self,
            Self::LooseMatch { .. }
                | Self::InvalidAnnotation { .. }
                | Self::TlsTerminatedAtEdge { .. }
        )
    }

    /// Informational findings become Normal Events; the rest are Warnings.
    pub fn is_warning(&self) -> bool {
        !matches!(self, Self::TlsTerminatedAtEdge { .. })
    }
}
