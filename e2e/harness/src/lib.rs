//! End-to-end harness: runs the article's flow (apply, edit, delete, restart, faults, bad input)
//! against the local tier, a container tier, or any cluster given a kubeconfig.

pub mod bins;
