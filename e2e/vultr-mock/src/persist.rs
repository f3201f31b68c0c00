//! The optional state file: the whole store as JSON, written atomically (temporary file in the
//! same directory, then rename) after every change and read back at start-up.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::Store;

const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is corrupt (delete it or fix it): {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "state file {path} has format version {found}, this mock writes version {FORMAT_VERSION}"
    )]
    Version { path: PathBuf, found: u32 },
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the state: {0}")]
    Encode(serde_json::Error),
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    store: Store,
}

/// Reads the state file; `Ok(None)` when it does not exist yet.
pub fn load(path: &Path) -> Result<Option<Store>, PersistError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let file: StateFile =
        serde_json::from_slice(&bytes).map_err(|source| PersistError::Corrupt {
            path: path.to_path_buf(),
            source,
        })?;
    if file.version != FORMAT_VERSION {
        return Err(PersistError::Version {
            path: path.to_path_buf(),
            found: file.version,
        });
    }
    Ok(Some(file.store))
}

/// Replaces the state file so a crash leaves either the old or the new content, never half.
pub fn save(path: &Path, store: &Store) -> Result<(), PersistError> {
    let body = serde_json::to_vec_pretty(&StateFile {
        version: FORMAT_VERSION,
        store: store.clone(),
    })
    .map_err(PersistError::Encode)?;
    let write_err = |source| PersistError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".to_string());
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp).map_err(write_err)?;
    file.write_all(&body).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(write_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewDomain;

    #[test]
    fn saved_state_loads_back_identical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(load(&path).unwrap().is_none());
        let mut store = Store::default();
        store
            .create_domain(
                NewDomain {
                    domain: "example.com".into(),
                    ip: Some("192.0.2.1".into()),
                    dns_sec: None,
                },
                "2026-01-01T00:00:00+00:00",
                7,
            )
            .unwrap();
        save(&path, &store).unwrap();
        assert_eq!(load(&path).unwrap(), Some(store));
    }

    #[test]
    fn corrupt_state_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{not json").unwrap();
        let err = load(&path).unwrap_err();
        assert!(matches!(err, PersistError::Corrupt { .. }));
        assert!(err.to_string().contains("is corrupt"));
    }
}
