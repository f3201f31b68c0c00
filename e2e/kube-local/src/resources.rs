//! The resource table: every served resource is one `ResourceDef` over the generic store.
//! Adding a resource means adding a row here (plus, optionally, defaults in `admission`).

/// How a stored object is seen through this endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Stored as served.
    Identity,
    /// events.k8s.io/v1 view of objects stored as core/v1 Events.
    EventsV1,
}

#[derive(Debug)]
pub struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Has a `/status` subresource (status ignored on the main resource and vice versa).
    pub status: bool,
    /// Maintains `metadata.generation`.
    pub generation: bool,
    /// Store key shared by every view of the same objects.
    pub storage: &'static str,
    /// The group validation errors name (kube-apiserver's internal group; `extensions` for Ingress).
    pub internal_group: &'static str,
    /// Field labels usable in fieldSelector besides metadata.name / metadata.namespace.
    pub field_labels: &'static [&'static str],
    pub deletecollection: bool,
    /// PUT must carry metadata.resourceVersion (Services).
    pub update_requires_rv: bool,
    pub view: View,
    pub storage_version_hash: &'static str,
}

impl ResourceDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Review kinds (access reviews) are answered, never stored.
    pub fn is_review(&self) -> bool {
        self.kind.ends_with("Review")
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        if self.is_review() {
            return vec!["create"];
        }
        let mut v = vec!["create", "delete"];
        if self.deletecollection {
            v.push("deletecollection");
        }
        v.extend(["get", "list", "patch", "update", "watch"]);
        v
    }

    /// Base URL path of the collection (without namespace).
    pub fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

macro_rules! res {
    ($group:expr, $version:expr, $plural:expr, $kind:expr, ns=$ns:expr, short=$short:expr,
     cat=$cat:expr, status=$status:expr, gen=$gen:expr, storage=$storage:expr, internal=$internal:expr,
     fields=$fields:expr, dc=$dc:expr, rv=$rv:expr, view=$view:expr, hash=$hash:expr) => {
        ResourceDef {
            group: $group,
            version: $version,
            plural: $plural,
            kind: $kind,
            namespaced: $ns,
            short_names: $short,
            categories: $cat,
            status: $status,
            generation: $gen,
            storage: $storage,
            internal_group: $internal,
            field_labels: $fields,
            deletecollection: $dc,
            update_requires_rv: $rv,
            view: $view,
            storage_version_hash: $hash,
        }
    };
}

pub static RESOURCES: &[ResourceDef] = &[
    res!("", "v1", "configmaps", "ConfigMap", ns=true, short=&["cm"], cat=&[], status=false, gen=false,
        storage="configmaps", internal="", fields=&[], dc=true, rv=false, view=View::Identity, hash="qFsyl6wFWjQ="),
    res!("", "v1", "endpoints", "Endpoints", ns=true, short=&["ep"], cat=&[], status=false, gen=false,
        storage="endpoints", internal="", fields=&[], dc=true, rv=false, view=View::Identity, hash="fWeeMqaN/OA="),
    res!("", "v1", "events", "Event", ns=true, short=&["ev"], cat=&[], status=false, gen=false,
        storage="events", internal="", fields=EVENT_FIELDS, dc=true, rv=false, view=View::Identity, hash="r2yiGXH7wu8="),
    res!("", "v1", "namespaces", "Namespace", ns=false, short=&["ns"], cat=&[], status=true, gen=false,
        storage="namespaces", internal="", fields=&["status.phase"], dc=false, rv=false, view=View::Identity, hash="Q3oi5N2YM8M="),
    res!("", "v1", "nodes", "Node", ns=false, short=&["no"], cat=&[], status=true, gen=false,
        storage="nodes", internal="", fields=&["spec.unschedulable"], dc=true, rv=false, view=View::Identity, hash="XwShjMxG9Fs="),
    res!("", "v1", "pods", "Pod", ns=true, short=&["po"], cat=&["all"], status=true, gen=false,
        storage="pods", internal="", fields=&["spec.nodeName", "status.phase", "status.podIP", "spec.serviceAccountName"],
        dc=true, rv=false, view=View::Identity, hash="xPOwRZ+Yhw8="),
    res!("", "v1", "secrets", "Secret", ns=true, short=&[], cat=&[], status=false, gen=false,
        storage="secrets", internal="", fields=&["type"], dc=true, rv=false, view=View::Identity, hash="S6u1pOWzb84="),
    res!("", "v1", "serviceaccounts", "ServiceAccount", ns=true, short=&["sa"], cat=&[], status=false, gen=false,
        storage="serviceaccounts", internal="", fields=&[], dc=true, rv=false, view=View::Identity, hash="pbx9ZvyFpBE="),
    res!("", "v1", "services", "Service", ns=true, short=&["svc"], cat=&["all"], status=true, gen=false,
        storage="services", internal="", fields=&[], dc=false, rv=true, view=View::Identity, hash="0/CO1lhkEBI="),
    res!("apps", "v1", "deployments", "Deployment", ns=true, short=&["deploy"], cat=&["all"], status=true, gen=true,
        storage="deployments.apps", internal="apps", fields=&[], dc=true, rv=false, view=View::Identity, hash="8aSe+NMegvE="),
    res!("apps", "v1", "replicasets", "ReplicaSet", ns=true, short=&["rs"], cat=&["all"], status=true, gen=true,
        storage="replicasets.apps", internal="apps", fields=&[], dc=true, rv=false, view=View::Identity, hash="P1RzHs8/mWQ="),
    res!("coordination.k8s.io", "v1", "leases", "Lease", ns=true, short=&[], cat=&[], status=false, gen=false,
        storage="leases.coordination.k8s.io", internal="coordination.k8s.io", fields=&[], dc=true, rv=false,
        view=View::Identity, hash="/sY7hl8ol1U="),
    res!(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "EndpointSlice",
        ns = true,
        short = &[],
        cat = &[],
        status = false,
        gen = false,
        storage = "endpointslices.discovery.k8s.io",
        internal = "discovery.k8s.io",
        fields = &[],
        dc = true,
        rv = false,
        view = View::Identity,
        hash = "Nx3SIv6I0mE="
    ),
    res!("events.k8s.io", "v1", "events", "Event", ns=true, short=&["ev"], cat=&[], status=false, gen=false,
        storage="events", internal="", fields=EVENT_FIELDS, dc=true, rv=false, view=View::EventsV1, hash="r2yiGXH7wu8="),
    res!("networking.k8s.io", "v1", "ingressclasses", "IngressClass", ns=false, short=&[], cat=&[], status=false, gen=true,
        storage="ingressclasses.networking.k8s.io", internal="networking.k8s.io", fields=&[], dc=true, rv=false,
        view=View::Identity, hash="6upRfBq0FOI="),
    res!("networking.k8s.io", "v1", "ingresses", "Ingress", ns=true, short=&["ing"], cat=&[], status=true, gen=true,
        storage="ingresses.networking.k8s.io", internal="extensions", fields=&[], dc=true, rv=false,
        view=View::Identity, hash="ZOAfGflaKd0="),
    res!("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", ns=false, short=&[],
        cat=&[], status=false, gen=false, storage="selfsubjectaccessreviews.authorization.k8s.io",
        internal="authorization.k8s.io", fields=&[], dc=false, rv=false, view=View::Identity, hash=""),
    res!("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", ns=false, short=&[],
        cat=&[], status=false, gen=false, storage="subjectaccessreviews.authorization.k8s.io",
        internal="authorization.k8s.io", fields=&[], dc=false, rv=false, view=View::Identity, hash=""),
    res!("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", ns=false, short=&[], cat=&[],
        status=false, gen=false, storage="clusterrolebindings.rbac.authorization.k8s.io",
        internal="rbac.authorization.k8s.io", fields=&[], dc=true, rv=false, view=View::Identity, hash="48tpQ8gZHFc="),
    res!("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", ns=false, short=&[], cat=&[],
        status=false, gen=false, storage="clusterroles.rbac.authorization.k8s.io",
        internal="rbac.authorization.k8s.io", fields=&[], dc=true, rv=false, view=View::Identity, hash="bYE5ZWDrJ44="),
    res!("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", ns=true, short=&[], cat=&[],
        status=false, gen=false, storage="rolebindings.rbac.authorization.k8s.io",
        internal="rbac.authorization.k8s.io", fields=&[], dc=true, rv=false, view=View::Identity, hash="eGsCzGH6b1g="),
    res!("rbac.authorization.k8s.io", "v1", "roles", "Role", ns=true, short=&[], cat=&[],
        status=false, gen=false, storage="roles.rbac.authorization.k8s.io",
        internal="rbac.authorization.k8s.io", fields=&[], dc=true, rv=false, view=View::Identity, hash="7FuwZcIIItM="),
];

/// Groups in discovery order (preferred version first).
pub fn groups() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in RESOURCES {
        if !r.group.is_empty() && !out.contains(&r.group) {
            out.push(r.group);
        }
    }
    out
}

pub fn versions_of(group: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group) {
        if !out.contains(&r.version) {
            out.push(r.version);
        }
    }
    out
}

pub fn in_group_version<'a>(
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'static ResourceDef> + 'a {
    RESOURCES
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The canonical (Identity-view) definition for a storage key.
pub fn by_storage(storage: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.storage == storage && r.view == View::Identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_storage_key_has_exactly_one_identity_view() {
        for r in RESOURCES {
            let n = RESOURCES
                .iter()
                .filter(|o| o.storage == r.storage && o.view == View::Identity)
                .count();
            assert_eq!(n, 1, "{}", r.storage);
        }
    }

    #[test]
    fn short_names_are_unique() {
        let mut seen = std::collections::BTreeMap::new();
        for r in RESOURCES {
            for s in r.short_names {
                if let Some(prev) = seen.insert(*s, r.storage) {
                    assert_eq!(prev, r.storage, "short name {s} used twice");
                }
            }
        }
    }
}
