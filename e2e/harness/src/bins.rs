//! Where the workspace's binaries are. Tests and the harness start the real binaries, built by
//! `cargo build --workspace --bins` (the Makefile does this before any test that needs them).

use std::path::PathBuf;

/// The target triple every binary is built for (see `.cargo/config.toml`).
pub const TARGET_TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// The workspace's target directory: `$CARGO_TARGET_DIR`, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target"),
    }
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")))
}

/// Path of a workspace binary, e.g. `binary("edgio-mock")`. `E2E_PROFILE` picks the profile
/// directory (`debug` unless set).
pub fn binary(name: &str) -> Result<PathBuf, String> {
    let profile = std::env::var("E2E_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    let path = target_dir().join(TARGET_TRIPLE).join(profile).join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "binary {name} not found at {}; run `cargo build --workspace --bins` first",
            path.display()
        ))
    }
}
