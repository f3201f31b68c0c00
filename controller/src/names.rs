//! Names every part of the controller agrees on: finalizer, annotation and label keys, the CDN
//! ownership header, the DNS ownership record and the Event reasons (which are also metric labels).

/// Finalizer we put on every Ingress we publish, so deleting it waits until its CDN rules are gone.
pub const FINALIZER: &str = "edgio-ingress.dev/cleanup";

/// Ingress scope, written by the controller together with the finalizer: the owner id whose
/// finalizer it is. Several controllers share the finalizer name; each releases only its own.
pub const ANNOTATION_OWNER: &str = "edgio-ingress.dev/owner";

/// Ingress scope. Comma list of published protocols: `http,https` (default), `https` or `http`.
pub const ANNOTATION_PUBLISHED_PROTOCOLS: &str = "edgio-ingress.dev/published-protocols";

/// Ingress scope. Edgio `serviceProfileName` of every rule of the Ingress (default `LLNW-Generic`).
pub const ANNOTATION_SERVICE_PROFILE: &str = "edgio-ingress.dev/service-profile";

/// Default `serviceProfileName` when the Ingress does not name one.
pub const DEFAULT_SERVICE_PROFILE: &str = "LLNW-Generic";

/// Legacy Ingress annotation naming the class (before `spec.ingressClassName`).
pub const LEGACY_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// IngressClass annotation marking the cluster's default class.
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

/// Label the article's manifests put on Ingresses meant for this controller (`cdn=edgio`).
pub const CDN_LABEL_KEY: &str = "cdn";
/// Value of [`CDN_LABEL_KEY`] that selects this controller.
pub const CDN_LABEL_VALUE: &str = "edgio";

/// `req_send_header` name carrying `<owner-id>/<namespace>/<name>` on every rule we create. It is
/// our ownership marker on the CDN and tells the origin which Ingress published the request.
pub const OWNER_HEADER: &str = "X-Edgio-Ingress-Owner";

/// Edgio option name that adds a request header toward the origin.
pub const REQ_SEND_HEADER: &str = "req_send_header";

/// First label of the companion TXT record that says who owns the origin name's A records:
/// for origin `origin.example.com` it is `_edgio-ingress-owner.origin.example.com`.
pub const DNS_OWNER_LABEL: &str = "_edgio-ingress-owner";

/// `heritage=` value inside the ownership TXT record (external-dns style).
pub const HERITAGE: &str = "edgio-ingress";

/// Field manager name for our status patches.
pub const FIELD_MANAGER: &str = "edgio-ingress";

/// Kubernetes Event reasons. Each is also the `reason` label of `edgio_ingress_errors_total`.
pub mod reason {
    // Normal
    /// Rules were created or updated for the Ingress.
    pub const PUBLISHED: &str = "Published";
    /// Rules of an Ingress being deleted or leaving the class were removed.
    pub const UNPUBLISHED: &str = "Unpublished";
    /// `spec.tls` is present: the CDN terminates TLS with its own certificates.
    pub const TLS_TERMINATED_AT_EDGE: &str = "TlsTerminatedAtEdge";

    // Warnings from reading the Ingress (the route is skipped unless said otherwise)
    /// A rule has no `host`: the CDN needs a published hostname.
    pub const MISSING_HOST: &str = "MissingHost";
    /// A host is a wildcard or not a valid hostname.
    pub const INVALID_HOST: &str = "InvalidHost";
    /// A path is not a valid CDN path (must start with `/`, no `?`, `#` or whitespace).
    pub const INVALID_PATH: &str = "InvalidPath";
    /// Published anyway: the CDN's string prefix also matches paths the pathType would not.
    pub const LOOSE_MATCH: &str = "LooseMatch";
    /// Two paths of the Ingress map onto one CDN rule with different backends; the first wins.
    pub const DUPLICATE_ROUTE: &str = "DuplicateRoute";
    /// A backend is a `resource` backend, not a Service.
    pub const UNSUPPORTED_BACKEND: &str = "UnsupportedBackend";
    /// `spec.defaultBackend` is set but the Ingress has no host to publish it on.
    pub const DEFAULT_BACKEND_UNSUPPORTED: &str = "DefaultBackendUnsupported";
    /// The backend Service does not exist (yet).
    pub const SERVICE_NOT_FOUND: &str = "ServiceNotFound";
    /// The backend Service has no port with that name or number.
    pub const SERVICE_PORT_NOT_FOUND: &str = "ServicePortNotFound";
    /// The backend Service is not of type NodePort or LoadBalancer.
    pub const SERVICE_NOT_NODE_PORT: &str = "ServiceNotNodePort";
    /// The Service port has no nodePort allocated.
    pub const NODE_PORT_MISSING: &str = "NodePortMissing";
    /// An `edgio-ingress.dev/` annotation has a value we cannot use; the default applies.
    pub const INVALID_ANNOTATION: &str = "InvalidAnnotation";

    // Warnings from applying
    /// The CDN refused a rule because another rule (ours or another controller's) has the same
    /// host + path + protocol.
    pub const RULE_CONFLICT: &str = "RuleConflict";
    /// A CDN call failed with a retryable error (5xx, 429, timeout); retried with backoff.
    pub const CDN_UNAVAILABLE: &str = "CdnUnavailable";
    /// The CDN rejected a call permanently (4xx); not retried until something changes or a resync.
    pub const CDN_REJECTED: &str = "CdnRejected";
    /// A DNS call failed with a retryable error; retried with backoff.
    pub const DNS_UNAVAILABLE: &str = "DnsUnavailable";
    /// The DNS API rejected a call permanently.
    pub const DNS_REJECTED: &str = "DnsRejected";
    /// The origin name has records but no ownership TXT: someone else's name; left untouched.
    pub const DNS_NAME_TAKEN: &str = "DnsNameTaken";
    /// The origin name's ownership TXT names another owner id; left untouched.
    pub const DNS_OWNED_BY_OTHER: &str = "DnsOwnedByOther";
    /// No ready, schedulable node has an address of the configured types; DNS left as it is.
    pub const NO_READY_NODES: &str = "NoReadyNodes";
    /// A Kubernetes API call (finalizer, status) failed; retried with backoff.
    pub const KUBE_ERROR: &str = "KubeError";
}
