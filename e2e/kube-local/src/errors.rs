//! Kubernetes `Status` failure bodies, shaped exactly like kube-apiserver's (see
//! k8s-reference/errors.md): the group/kind quirks live here so handlers only pick a variant.

use serde_json::{Map, Value, json};

use crate::resources::ResourceDef;

/// One entry of `details.causes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub reason: &'static str,
    pub message: String,
    pub field: String,
}

impl Cause {
    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Cause {
            reason: "FieldValueRequired",
            message,
            field: field.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        Cause {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {}: {detail}", go_value(value)),
            field: field.into(),
        }
    }

    pub fn not_supported(field: impl Into<String>, value: &Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        Cause {
            reason: "FieldValueNotSupported",
            message: format!(
                "Unsupported value: {}: supported values: {}",
                go_value(value),
                list.join(", ")
            ),
            field: field.into(),
        }
    }

    pub fn duplicate(field: impl Into<String>, value: &Value) -> Self {
        Cause {
            reason: "FieldValueDuplicate",
            message: format!("Duplicate value: {}", go_value(value)),
            field: field.into(),
        }
    }

    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Cause {
            reason: "FieldValueForbidden",
            message: format!("Forbidden: {detail}"),
            field: field.into(),
        }
    }

    fn to_json(&self) -> Value {
        json!({"reason": self.reason, "message": self.message, "field": self.field})
    }
}

/// Renders a value the way Go's validation messages do: strings quoted, numbers bare.
pub fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Null => "\"\"".to_string(),
        other => other.to_string(),
    }
}

/// An API failure; `status()` renders the wire body.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{resource} {name:?} not found")]
    NotFound {
        group: String,
        resource: String,
        name: String,
    },
    /// The generic 404 for an unknown resource in a served group version.
    #[error("the server could not find the requested resource")]
    UnknownResource,
    #[error("{resource} {name:?} already exists")]
    AlreadyExists {
        group: String,
        resource: String,
        name: String,
    },
    #[error("conflict on {resource} {name:?}")]
    Conflict {
        group: String,
        resource: String,
        name: String,
    },
    /// A failed delete precondition; uses the internal group/Kind like validation errors.
    #[error("precondition failed on {name:?}")]
    PreconditionConflict {
        group: String,
        kind: String,
        name: String,
        message: String,
    },
    #[error("{kind} {name:?} is invalid")]
    Invalid {
        group: String,
        kind: String,
        name: String,
        causes: Vec<Cause>,
    },
    /// 422 with the generic text and empty details (JSON-patch failures).
    #[error("the server rejected our request due to an error in our request")]
    InvalidGeneric,
    /// 422 for a patched object that cannot be decoded (empty kind/name, field `patch`).
    #[error("patch result invalid: {0}")]
    InvalidPatch(String),
    /// 422 on options (ListOptions / PatchOptions) with a meta.k8s.io kind.
    #[error("{kind} options invalid")]
    InvalidOptions { kind: String, causes: Vec<Cause> },
    #[error("apply conflicts")]
    ApplyConflict { causes: Vec<Cause> },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("forbidden: {message}")]
    Forbidden {
        message: String,
        resource: String,
        name: String,
        causes: Vec<Cause>,
    },
    #[error("namespace terminating")]
    NamespaceTerminating {
        resource: String,
        name: String,
        namespace: String,
    },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("not acceptable")]
    NotAcceptable(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("unauthorized")]
    Unauthorized,
    #[error("gone: {0}")]
    Gone(String),
    #[error("timeout: {0}")]
    TooLargeResourceVersion(String),
}

impl ApiError {
    pub fn not_found(def: &ResourceDef, name: &str) -> Self {
        ApiError::NotFound {
            group: def.group.to_string(),
            resource: def.plural.to_string(),
            name: name.to_string(),
        }
    }

    pub fn already_exists(def: &ResourceDef, name: &str) -> Self {
        ApiError::AlreadyExists {
            group: def.group.to_string(),
            resource: def.plural.to_string(),
            name: name.to_string(),
        }
    }

    pub fn conflict(def: &ResourceDef, name: &str) -> Self {
        ApiError::Conflict {
            group: def.group.to_string(),
            resource: def.plural.to_string(),
            name: name.to_string(),
        }
    }

    pub fn invalid(def: &ResourceDef, name: &str, causes: Vec<Cause>) -> Self {
        ApiError::Invalid {
            group: def.internal_group.to_string(),
            kind: def.kind.to_string(),
            name: name.to_string(),
            causes,
        }
    }

    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownResource => 404,
            ApiError::AlreadyExists { .. }
            | ApiError::Conflict { .. }
            | ApiError::PreconditionConflict { .. }
            | ApiError::ApplyConflict { .. } => 409,
            ApiError::Invalid { .. }
            | ApiError::InvalidGeneric
            | ApiError::InvalidPatch(_)
            | ApiError::InvalidOptions { .. } => 422,
            ApiError::BadRequest(_) => 400,
            ApiError::Forbidden { .. } | ApiError::NamespaceTerminating { .. } => 403,
            ApiError::MethodNotAllowed => 405,
            ApiError::NotAcceptable(_) => 406,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Unauthorized => 401,
            ApiError::Gone(_) => 410,
            ApiError::TooLargeResourceVersion(_) => 504,
        }
    }

    /// The `Status` object sent on the wire.
    pub fn status(&self) -> Value {
        let (message, reason, details): (String, Option<&str>, Option<Value>) = match self {
            ApiError::NotFound {
                group,
                resource,
                name,
            } => (
                format!("{} \"{name}\" not found", qualified(resource, group)),
                Some("NotFound"),
                Some(details(Some(name), group, resource, None)),
            ),
            ApiError::UnknownResource => (
                "the server could not find the requested resource".into(),
                Some("NotFound"),
                Some(json!({})),
            ),
            ApiError::AlreadyExists {
                group,
                resource,
                name,
            } => (
                format!("{} \"{name}\" already exists", qualified(resource, group)),
                Some("AlreadyExists"),
                Some(details(Some(name), group, resource, None)),
            ),
            ApiError::Conflict {
                group,
                resource,
                name,
            } => (
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    qualified(resource, group)
                ),
                Some("Conflict"),
                Some(details(Some(name), group, resource, None)),
            ),
            ApiError::PreconditionConflict {
                group,
                kind,
                name,
                message,
            } => (
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": {message}",
                    qualified(kind, group)
                ),
                Some("Conflict"),
                Some(details(Some(name), group, kind, None)),
            ),
            ApiError::Invalid {
                group,
                kind,
                name,
                causes,
            } => {
                // kube-apiserver lists some causes twice but its message names each once.
                let mut msgs: Vec<String> = Vec::new();
                for c in causes {
                    let m = format!("{}: {}", c.field, c.message);
                    if !msgs.contains(&m) {
                        msgs.push(m);
                    }
                }
                let joined = if msgs.len() == 1 {
                    msgs[0].clone()
                } else {
                    format!("[{}]", msgs.join(", "))
                };
                let name_opt = if name.is_empty() { None } else { Some(name) };
                (
                    format!("{} \"{name}\" is invalid: {joined}", qualified(kind, group)),
                    Some("Invalid"),
                    Some(details(name_opt, group, kind, Some(causes))),
                )
            }
            ApiError::InvalidGeneric => (
                "the server rejected our request due to an error in our request".into(),
                Some("Invalid"),
                Some(json!({})),
            ),
            ApiError::InvalidPatch(msg) => {
                let cause = Cause {
                    reason: "FieldValueInvalid",
                    message: format!("Invalid value: {msg}"),
                    field: "patch".into(),
                };
                (
                    format!(" \"\" is invalid: patch: Invalid value: {msg}"),
                    Some("Invalid"),
                    Some(json!({"causes": [cause.to_json()]})),
                )
            }
            ApiError::InvalidOptions { kind, causes } => {
                let msgs: Vec<String> = causes
                    .iter()
                    .map(|c| format!("{}: {}", c.field, c.message))
                    .collect();
                (
                    format!("{kind}.meta.k8s.io \"\" is invalid: {}", msgs.join(", ")),
                    Some("Invalid"),
                    Some(details(None, "meta.k8s.io", kind, Some(causes))),
                )
            }
            ApiError::ApplyConflict { causes } => {
                let list: Vec<String> = causes
                    .iter()
                    .map(|c| format!("{}: {}", c.message, c.field))
                    .collect();
                let n = causes.len();
                let noun = if n == 1 { "conflict" } else { "conflicts" };
                let message = if n == 1 {
                    format!("Apply failed with 1 conflict: {}", list.join(""))
                } else {
                    format!("Apply failed with {n} {noun}: {}", list.join("\n"))
                };
                let causes: Vec<Value> = causes.iter().map(Cause::to_json).collect();
                (message, Some("Conflict"), Some(json!({"causes": causes})))
            }
            ApiError::BadRequest(msg) => (msg.clone(), Some("BadRequest"), None),
            ApiError::Forbidden {
                message,
                resource,
                name,
                causes,
            } => {
                let mut d = details(Some(name), "", resource, None);
                if !causes.is_empty()
                    && let Some(m) = d.as_object_mut()
                {
                    m.insert(
                        "causes".into(),
                        Value::Array(causes.iter().map(Cause::to_json).collect()),
                    );
                }
                (message.clone(), Some("Forbidden"), Some(d))
            }
            ApiError::NamespaceTerminating {
                resource,
                name,
                namespace,
            } => {
                let cause = Cause {
                    reason: "NamespaceTerminating",
                    message: format!("namespace {namespace} is being terminated"),
                    field: "metadata.namespace".into(),
                };
                (
                    format!(
                        "{resource} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated"
                    ),
                    Some("Forbidden"),
                    Some(details(
                        Some(name),
                        "",
                        resource,
                        Some(std::slice::from_ref(&cause)),
                    )),
                )
            }
            ApiError::MethodNotAllowed => (
                "the server does not allow this method on the requested resource".into(),
                Some("MethodNotAllowed"),
                Some(json!({})),
            ),
            ApiError::NotAcceptable(msg) => (msg.clone(), Some("NotAcceptable"), None),
            ApiError::UnsupportedMediaType => (
                "415: Unsupported Media Type".into(),
                Some("UnsupportedMediaType"),
                Some(json!({})),
            ),
            ApiError::Unauthorized => ("Unauthorized".into(), Some("Unauthorized"), None),
            ApiError::Gone(msg) => (msg.clone(), Some("Expired"), None),
            ApiError::TooLargeResourceVersion(msg) => (
                msg.clone(),
                Some("Timeout"),
                Some(json!({
                    "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                    "retryAfterSeconds": 1
                })),
            ),
        };
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(message));
        if let Some(r) = reason {
            m.insert("reason".into(), json!(r));
        }
        if let Some(d) = details {
            m.insert("details".into(), d);
        }
        m.insert("code".into(), json!(self.code()));
        Value::Object(m)
    }
}

fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn details(name: Option<&String>, group: &str, kind: &str, causes: Option<&[Cause]>) -> Value {
    let mut d = Map::new();
    if let Some(n) = name {
        d.insert("name".into(), json!(n));
    }
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    d.insert("kind".into(), json!(kind));
    if let Some(c) = causes {
        d.insert(
            "causes".into(),
            Value::Array(c.iter().map(Cause::to_json).collect()),
        );
    }
    Value::Object(d)
}

/// The `Status` returned by a successful immediate delete.
pub fn delete_success(def: &ResourceDef, name: &str, uid: &str) -> Value {
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    if !def.group.is_empty() {
        d.insert("group".into(), json!(def.group));
    }
    d.insert("kind".into(), json!(def.plural));
    d.insert("uid".into(), json!(uid));
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": Value::Object(d)})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources;

    #[test]
    fn not_found_names_plural_resource_and_group() {
        let def = resources::find("networking.k8s.io", "v1", "ingresses").expect("ingresses");
        let s = ApiError::not_found(def, "nope").status();
        assert_eq!(
            s["message"],
            "ingresses.networking.k8s.io \"nope\" not found"
        );
        assert_eq!(
            s["details"],
            json!({"name": "nope", "group": "networking.k8s.io", "kind": "ingresses"})
        );
        assert_eq!(s["code"], 404);
    }

    #[test]
    fn ingress_validation_error_uses_extensions_group_and_kind() {
        let def = resources::find("networking.k8s.io", "v1", "ingresses").expect("ingresses");
        let s = ApiError::invalid(
            def,
            "",
            vec![Cause::required(
                "metadata.name",
                "name or generateName is required",
            )],
        )
        .status();
        assert_eq!(
            s["message"],
            "Ingress.extensions \"\" is invalid: metadata.name: Required value: name or generateName is required"
        );
        assert_eq!(s["details"]["group"], "extensions");
        assert!(s["details"].get("name").is_none());
    }

    #[test]
    fn core_not_found_has_no_group_key() {
        let def = resources::find("", "v1", "services").expect("services");
        let s = ApiError::not_found(def, "x").status();
        assert!(s["details"].get("group").is_none());
        assert_eq!(s["message"], "services \"x\" not found");
    }
}
