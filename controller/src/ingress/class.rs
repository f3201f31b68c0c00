//! Which Ingresses are ours, and what to do with each (publish, clean up, ignore). Pure.

use std::sync::Arc;

use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::ResourceExt;

use crate::names::{
    ANNOTATION_OWNER, CDN_LABEL_KEY, CDN_LABEL_VALUE, DEFAULT_CLASS_ANNOTATION, FINALIZER,
    LEGACY_CLASS_ANNOTATION,
};

/// The class name and controller name this controller answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassConfig {
    pub class_name: String,
    pub controller_name: String,
    /// Empty = every namespace.
    pub namespaces: Vec<String>,
    /// Our owner id: written next to our finalizer, so we never release another owner's.
    pub owner_id: String,
}

impl ClassConfig {
    fn is_our_class_name(&self, name: &str, classes: &[Arc<IngressClass>]) -> bool {
        name == self.class_name
            || classes
                .iter()
                .any(|c| c.name_any() == name && self.is_our_class(c))
    }

    fn is_our_class(&self, class: &IngressClass) -> bool {
        class.spec.as_ref().and_then(|s| s.controller.as_deref())
            == Some(self.controller_name.as_str())
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
        let spec_class = ingress
            .spec
            .as_ref()
            .and_then(|s| s.ingress_class_name.as_deref());
        if let Some(name) = spec_class.filter(|n| !n.is_empty()) {
            return self.is_our_class_name(name, classes);
        }
        if let Some(name) = ingress
            .annotations()
            .get(LEGACY_CLASS_ANNOTATION)
            .filter(|n| !n.is_empty())
        {
            return self.is_our_class_name(name, classes);
        }
        if ingress.labels().get(CDN_LABEL_KEY).map(String::as_str) == Some(CDN_LABEL_VALUE) {
            return true;
        }
        classes.iter().any(|c| {
            self.is_our_class(c)
                && c.annotations()
                    .get(DEFAULT_CLASS_ANNOTATION)
                    .map(String::as_str)
                    == Some("true")
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

/// The owner id recorded next to the finalizer, if any.
pub fn finalizer_owner(ingress: &Ingress) -> Option<&str> {
    ingress
        .annotations()
        .get(ANNOTATION_OWNER)
        .map(String::as_str)
}

/// Our finalizer is on the Ingress and no other owner id claims it (an Ingress finalized before
/// the owner annotation existed counts as ours).
pub fn finalizer_is_ours(ingress: &Ingress, owner_id: &str) -> bool {
    has_finalizer(ingress) && finalizer_owner(ingress).is_none_or(|o| o == owner_id)
}

pub fn lifecycle(
    ingress: &Ingress,
    classes: &[Arc<IngressClass>],
    config: &ClassConfig,
) -> Lifecycle {
    let deleting = ingress.metadata.deletion_timestamp.is_some();
    let ours = config.is_ours(ingress, classes);
    match (
        ours && !deleting,
        finalizer_is_ours(ingress, &config.owner_id),
    ) {
        (true, _) => Lifecycle::Publish,
        (false, true) => Lifecycle::Cleanup,
        (false, false) => Lifecycle::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn ownership_follows_class_name_then_annotation_then_label_then_default_class() {
        let cfg = class_config();
        let ours_by_controller = Arc::new(ingress_class("cdn", CONTROLLER, false));
        let foreign_default = Arc::new(ingress_class("nginx", "k8s.io/ingress-nginx", true));
        let ours_default = Arc::new(ingress_class("cdn", CONTROLLER, true));
        let table: Vec<(&str, Ingress, Vec<Arc<IngressClass>>, bool)> = vec![
            ("class name flag", ingress("a").build(), vec![], true),
            (
                "other class",
                ingress("a").class(Some("nginx")).build(),
                vec![],
                false,
            ),
            (
                "class with our controller",
                ingress("a").class(Some("cdn")).build(),
                vec![ours_by_controller.clone()],
                true,
            ),
            (
                "legacy annotation",
                ingress("a")
                    .class(None)
                    .annotation(LEGACY_CLASS_ANNOTATION, "edgio")
                    .build(),
                vec![],
                true,
            ),
            (
                "legacy annotation other",
                ingress("a")
                    .class(None)
                    .annotation(LEGACY_CLASS_ANNOTATION, "nginx")
                    .build(),
                vec![],
                false,
            ),
            (
                "label",
                ingress("a")
                    .class(None)
                    .label(CDN_LABEL_KEY, CDN_LABEL_VALUE)
                    .build(),
                vec![],
                true,
            ),
            (
                "explicit other class beats label",
                ingress("a")
                    .class(Some("nginx"))
                    .label(CDN_LABEL_KEY, CDN_LABEL_VALUE)
                    .build(),
                vec![],
                false,
            ),
            ("classless", ingress("a").class(None).build(), vec![], false),
            (
                "classless, our default class",
                ingress("a").class(None).build(),
                vec![ours_default],
                true,
            ),
            (
                "classless, foreign default class",
                ingress("a").class(None).build(),
                vec![foreign_default],
                false,
            ),
            ("article manifest", article_ingress(), vec![], true),
        ];
        for (what, ing, classes, want) in table {
            assert_eq!(cfg.is_ours(&ing, &classes), want, "{what}");
        }
    }

    #[test]
    fn namespace_filter_excludes_other_namespaces() {
        let mut cfg = class_config();
        cfg.namespaces = vec!["team-a".into()];
        assert!(cfg.is_ours(&ingress("a").namespace("team-a").build(), &[]));
        assert!(!cfg.is_ours(&ingress("a").build(), &[]));
    }

    #[test]
    fn lifecycle_cleans_up_deleted_or_departed_ingresses_only_when_they_carry_our_finalizer() {
        let cfg = class_config();
        let table: Vec<(&str, Ingress, Lifecycle)> = vec![
            ("ours", ingress("a").build(), Lifecycle::Publish),
            (
                "ours with finalizer",
                ingress("a").finalizer().build(),
                Lifecycle::Publish,
            ),
            (
                "deleting with finalizer",
                ingress("a").finalizer().deleting().build(),
                Lifecycle::Cleanup,
            ),
            (
                "left class with finalizer",
                ingress("a").class(Some("nginx")).finalizer().build(),
                Lifecycle::Cleanup,
            ),
            (
                "left class without finalizer",
                ingress("a").class(Some("nginx")).build(),
                Lifecycle::Ignore,
            ),
            (
                "deleting without finalizer",
                ingress("a").deleting().build(),
                Lifecycle::Ignore,
            ),
            (
                "another owner's finalizer is not ours to release",
                ingress("a")
                    .class(Some("other"))
                    .finalizer()
                    .annotation(ANNOTATION_OWNER, "cluster-b")
                    .build(),
                Lifecycle::Ignore,
            ),
            (
                "our recorded finalizer on a departed Ingress",
                ingress("a")
                    .class(Some("other"))
                    .finalizer()
                    .annotation(ANNOTATION_OWNER, "cluster-a")
                    .build(),
                Lifecycle::Cleanup,
            ),
        ];
        for (what, ing, want) in table {
            assert_eq!(lifecycle(&ing, &[], &cfg), want, "{what}");
        }
    }
}
