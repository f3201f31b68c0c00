//! End-to-end harness: runs the article's flow (apply, edit, delete, restart, faults, bad input)
//! against the local tier, a container tier, or any cluster given a kubeconfig.
//!
//! - [`scenarios`]: the scenarios, written once against [`platform::Env`] and
//!   [`platform::Platform`].
//! - [`local`], [`containers`], [`cluster`]: the three tiers.
//! - [`mocks`], [`k8s`]: what the scenarios read and write (mock admin APIs, DNS, HTTP, kube).

pub mod bins;
pub mod cluster;
pub mod containers;
pub mod demo;
pub mod k8s;
pub mod local;
pub mod mocks;
pub mod platform;
pub mod procs;
pub mod report;
pub mod scenarios;
pub mod wait;
