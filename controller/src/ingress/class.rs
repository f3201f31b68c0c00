//! Which Ingresses are ours, and what to do with each (publish, clean up, ignore). Pure.

use std::sync::Arc;

use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::ResourceExt;

use crate::names::{
    CDN_LABEL_KEY, CDN_LABEL_VALUE, DEFAULT_CLASS_ANNOTATION, FINALIZER, LEGACY_CLASS_ANNOTATION,
};

/// The class name and controller name this controller answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassConfig {
    pub class_name: String,
    pub controller_name: String,
    /// Empty = every namespace.
    pub namespaces: Vec<String>,
}

impl ClassConfig {
    fn is_our_class_name(&self, name: &str, classes: &[Arc<IngressClass>]) -> bool {
        name == self.class_name
            || classes.iter().any(|c| c.name_any() == name && self.is_our_class(c))
    }

    fn is_our_class(&self, class: &IngressClass) -> bool {
        class.spec.as_ref().and_then(|s| s.controller.as_deref()) == Some(self.controller_name.as_str())
    }

    /// Whether the Ingress belongs to us, in this order: an explicit `spec.ingressClassName`, then
    /// the legacy annotation, then the article's `cdn=edgio` label, then the default class.
    pub fn is_ours(&self, ingress: &Ingress, classes: &[Arc<IngressClass>]) -> bool {
        if !self.namespaces.is_empty() {
            let ns = ingress.namespace().unwrap_or_default();
            if !self.namespaces.contains(&ns) {
                return false;
            }
        }
        let spec_class = ingress.spec.as_ref().and_then(|s| s.ingress_class_name.as_deref());
        if let Some(name) = spec_class.filter(|n| !n.is_empty()) {
            return self.is_our_class_name(name, classes);
        }
        if let Some(name) = ingress.annotations().get(LEGACY_CLASS_ANNOTATION).filter(|n| !n.is_empty()) {
            return self.is_our_class_name(name, classes);
        }
        if ingress.labels().get(CDN_LABEL_KEY).map(String::as_str) == Some(CDN_LABEL_VALUE) {
            return true;
        }
        classes.iter().any(|c| {
            self.is_our_class(c)
                && c.annotations().get(DEFAULT_CLASS_ANNOTATION).map(String::as_str) == Some("true")
        })
    }
}

/// What the reconciler must do with one Ingress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Ours and alive: publish its routes (after making sure our finalizer is on it).
    Publish,
    /// Carries our finalizer but is being deleted or left our class: remove its rules, then the
    /// finalizer.
    Cleanup,
    /// Not ours and nothing of ours on it.
    Ignore,
}

pub fn has_finalizer(ingress: &Ingress) -> bool {
    ingress.finalizers().iter().any(|f| f == FINALIZER)
}

pub fn lifecycle(ingress: &Ingress, classes: &[Arc<IngressClass>], config: &ClassConfig) -> Lifecycle {
    let deleting = ingress.metadata.deletion_timestamp.is_some();
    let ours = config.is_ours(ingress, classes);
    match (ours && !deleting, has_finalizer(ingress)) {
        (true, _) => Lifecycle::Publish,
        (false, true) => Lifecycle::Cleanup,
        (false, false) => Lifecycle::Ignore,
    }
}
