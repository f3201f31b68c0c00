//! Kubernetes Ingress controller for Edgio Delivery CDN rules and Vultr DNS origin records.

pub mod providers;
