//! The instance store: in memory, optionally persisted to a JSON state file (written atomically
//! after every change, reloaded at start-up).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::model::{self, Account, DeliveryBody, Instance, Protocol, Revision, Status, Submission};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no delivery service instance {0}")]
    NotFound(String),
    #[error(
        "publishedHostname {host:?}, publishedUrlPath {path:?} and publishedProtocol {protocol} are already used by instance {uuid} in account {account:?}"
    )]
    Conflict {
        uuid: String,
        account: String,
        host: String,
        path: String,
        protocol: &'static str,
    },
    #[error("cannot write state file {path}: {source}")]
    Persist {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is corrupt (expected {{\"instances\":[...]}}): {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("state file {path}: instance {uuid} is invalid: {reason}")]
    Invalid {
        path: PathBuf,
        uuid: String,
        reason: String,
    },
}

/// The state file and `GET /__admin/state` share this shape.
#[derive(Debug, Serialize, Deserialize)]
pub struct StateDoc {
    pub instances: Vec<Instance>,
}

#[derive(Clone)]
struct Entry {
    instance: Instance,
    delivery: DeliveryBody,
    /// Epoch ms until which `status.state` reads `PROCESSING`.
    ready_at_ms: u64,
}

struct Inner {
    /// In creation order, so listings are stable.
    entries: Vec<Entry>,
    generation: u64,
}

pub struct Store {
    inner: Mutex<Inner>,
    initial: Vec<Entry>,
    state_file: Option<PathBuf>,
    /// Generation last written to disk; serialises writers so an older snapshot never wins.
    written: tokio::sync::Mutex<u64>,
}

/// A route the edge may serve: an enabled, completed instance.
#[derive(Debug, Clone)]
pub struct EdgeRule {
    pub uuid: String,
    pub delivery: DeliveryBody,
}

impl Store {
    /// An empty store, or the instances of `state_file` if it exists.
    pub fn open(state_file: Option<PathBuf>) -> Result<Store, LoadError> {
        let entries = match &state_file {
            Some(path) => load(path)?,
            None => Vec::new(),
        };
        Ok(Store {
            inner: Mutex::new(Inner {
                entries: entries.clone(),
                generation: 0,
            }),
            initial: entries,
            state_file,
            written: tokio::sync::Mutex::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn create(
        &self,
        sub: Submission,
        user: &str,
        now_ms: u64,
        processing_ms: u64,
    ) -> Result<Instance, StoreError> {
        let mut inner = self.lock();
        check_conflict(&inner.entries, None, &sub.accounts, &sub.delivery)?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let instance = Instance {
            uuid,
            is_latest: true,
            is_enabled: sub.is_enabled.unwrap_or(true),
            revision: Revision {
                created_by: user.to_string(),
                created_date: now_ms,
                version_number: 1,
            },
            meta: model::meta(),
            status: Status {
                state: "COMPLETED".into(),
            },
            shortname: sub.accounts[0].shortname.clone(),
            accounts: sub.accounts,
            body: sub.body,
        };
        let entry = Entry {
            instance,
            delivery: sub.delivery,
            ready_at_ms: now_ms.saturating_add(processing_ms),
        };
        let out = with_status(&entry, now_ms);
        inner.entries.push(entry);
        inner.generation += 1;
        Ok(out)
    }

    pub fn get(&self, uuid: &str, now_ms: u64) -> Option<Instance> {
        let inner = self.lock();
        inner
            .entries
            .iter()
            .find(|e| e.instance.uuid == uuid)
            .map(|e| with_status(e, now_ms))
    }

    pub fn replace(
        &self,
        uuid: &str,
        sub: Submission,
        user: &str,
        now_ms: u64,
        processing_ms: u64,
    ) -> Result<Instance, StoreError> {
        let mut inner = self.lock();
        let Some(idx) = inner.entries.iter().position(|e| e.instance.uuid == uuid) else {
            return Err(StoreError::NotFound(uuid.to_string()));
        };
        check_conflict(&inner.entries, Some(uuid), &sub.accounts, &sub.delivery)?;
        let entry = &mut inner.entries[idx];
        let i = &mut entry.instance;
        i.revision = Revision {
            created_by: user.to_string(),
            created_date: now_ms,
            version_number: i.revision.version_number + 1,
        };
        if let Some(enabled) = sub.is_enabled {
            i.is_enabled = enabled;
        }
        i.shortname = sub.accounts[0].shortname.clone();
        i.accounts = sub.accounts;
        i.body = sub.body;
        entry.delivery = sub.delivery;
        entry.ready_at_ms = now_ms.saturating_add(processing_ms);
        let out = with_status(entry, now_ms);
        inner.generation += 1;
        Ok(out)
    }

    pub fn delete(&self, uuid: &str, now_ms: u64) -> Result<Instance, StoreError> {
        let mut inner = self.lock();
        let Some(idx) = inner.entries.iter().position(|e| e.instance.uuid == uuid) else {
            return Err(StoreError::NotFound(uuid.to_string()));
        };
        let entry = inner.entries.remove(idx);
        inner.generation += 1;
        Ok(with_status(&entry, now_ms))
    }

    /// Every instance, in creation order, with its current status.
    pub fn all(&self, now_ms: u64) -> Vec<Instance> {
        let inner = self.lock();
        inner
            .entries
            .iter()
            .map(|e| with_status(e, now_ms))
            .collect()
    }

    /// Enabled, completed instances publishing `host`.
    pub fn edge_rules(&self, host: &str, now_ms: u64) -> Vec<EdgeRule> {
        let inner = self.lock();
        inner
            .entries
            .iter()
            .filter(|e| e.instance.is_enabled && now_ms >= e.ready_at_ms)
            .filter(|e| model::same_host(&e.delivery.published_hostname, host))
            .map(|e| EdgeRule {
                uuid: e.instance.uuid.clone(),
                delivery: e.delivery.clone(),
            })
            .collect()
    }

    /// Back to the instances loaded at start-up.
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.entries = self.initial.clone();
        inner.generation += 1;
    }

    /// Writes the current state to the state file, if there is one. Concurrent callers are
    /// serialised and a snapshot older than the one already written is skipped.
    pub async fn persist(&self) -> Result<(), StoreError> {
        let Some(path) = self.state_file.clone() else {
            return Ok(());
        };
        let mut written = self.written.lock().await;
        let (generation, bytes) = {
            let inner = self.lock();
            let doc = StateDoc {
                instances: inner.entries.iter().map(|e| e.instance.clone()).collect(),
            };
            // Serialising plain data cannot fail; an empty document would still be loadable.
            let bytes =
                serde_json::to_vec_pretty(&doc).unwrap_or_else(|_| b"{\"instances\":[]}".to_vec());
            (inner.generation, bytes)
        };
        if generation <= *written {
            return Ok(());
        }
        let target = path.clone();
        let result = tokio::task::spawn_blocking(move || write_atomically(&target, &bytes)).await;
        match result {
            Ok(Ok(())) => {
                *written = generation;
                Ok(())
            }
            Ok(Err(source)) => Err(StoreError::Persist { path, source }),
            Err(join) => Err(StoreError::Persist {
                path,
                source: std::io::Error::other(join.to_string()),
            }),
        }
    }
}

fn with_status(entry: &Entry, now_ms: u64) -> Instance {
    let mut i = entry.instance.clone();
    i.status.state = if now_ms < entry.ready_at_ms {
        "PROCESSING".into()
    } else {
        "COMPLETED".into()
    };
    i
}

fn check_conflict(
    entries: &[Entry],
    skip_uuid: Option<&str>,
    accounts: &[Account],
    delivery: &DeliveryBody,
) -> Result<(), StoreError> {
    for e in entries {
        if Some(e.instance.uuid.as_str()) == skip_uuid {
            continue;
        }
        let Some(shared) = e
            .instance
            .accounts
            .iter()
            .find(|a| accounts.iter().any(|b| b.shortname == a.shortname))
        else {
            continue;
        };
        if let Some(protocol) = model::collides(&e.delivery, delivery) {
            return Err(StoreError::Conflict {
                uuid: e.instance.uuid.clone(),
                account: shared.shortname.clone(),
                host: delivery.published_hostname.clone(),
                path: delivery.published_url_path.clone(),
                protocol: protocol_name(protocol),
            });
        }
    }
    Ok(())
}

fn protocol_name(p: Protocol) -> &'static str {
    p.as_str()
}

fn load(path: &Path) -> Result<Vec<Entry>, LoadError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LoadError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let doc: StateDoc = serde_json::from_slice(&text).map_err(|source| LoadError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    let mut entries: Vec<Entry> = Vec::new();
    for instance in doc.instances {
        let invalid = |reason: String| LoadError::Invalid {
            path: path.to_path_buf(),
            uuid: instance.uuid.clone(),
            reason,
        };
        if entries.iter().any(|e| e.instance.uuid == instance.uuid) {
            return Err(invalid("the uuid appears twice".into()));
        }
        if instance.accounts.is_empty() {
            return Err(invalid("it has no accounts".into()));
        }
        let delivery = model::parse_body(&instance.body).map_err(|errs| {
            invalid(
                errs.iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        entries.push(Entry {
            instance,
            delivery,
            ready_at_ms: 0,
        });
    }
    Ok(entries)
}

/// Write to a temporary file in the same directory, fsync, then rename over the target, so a
/// crash leaves either the old or the new file, never a torn one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{file_name}.tmp.{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // Make the rename itself durable; not every filesystem supports syncing a directory.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn submission(host: &str, path: &str, protocol: &str) -> Submission {
        model::parse_submission(
            &json!({
                "accounts": [{"shortname": "demo"}],
                "body": {
                    "serviceKey": {"name": "delivery"},
                    "publishedHostname": host, "publishedUrlPath": path,
                    "sourceHostname": "origin.example.com", "sourceUrlPath": "",
                    "protocolSets": [{"publishedProtocol": protocol, "sourceProtocol": "http"}]
                }
            }),
            None,
        )
        .unwrap()
    }

    #[test]
    fn duplicate_create_conflicts_naming_the_existing_uuid() {
        let s = Store::open(None).unwrap();
        let a = s
            .create(submission("a.example.com", "/x", "http"), "u", 1, 0)
            .unwrap();
        match s.create(submission("a.example.com", "x", "http"), "u", 2, 0) {
            Err(StoreError::Conflict { uuid, .. }) => assert_eq!(uuid, a.uuid),
            other => panic!("expected conflict, got {other:?}"),
        }
        assert!(
            s.create(submission("a.example.com", "/x", "https"), "u", 3, 0)
                .is_ok()
        );
    }

    #[test]
    fn replace_bumps_version_and_processing_reports_until_ready() {
        let s = Store::open(None).unwrap();
        let a = s
            .create(submission("a.example.com", "/x", "http"), "u", 1000, 500)
            .unwrap();
        assert_eq!(a.status.state, "PROCESSING");
        assert_eq!(s.get(&a.uuid, 1500).unwrap().status.state, "COMPLETED");
        assert!(s.edge_rules("a.example.com", 1499).is_empty());
        let b = s
            .replace(
                &a.uuid,
                submission("a.example.com", "/y", "http"),
                "v",
                2000,
                0,
            )
            .unwrap();
        assert_eq!(b.revision.version_number, 2);
        assert_eq!(b.revision.created_by, "v");
        assert_eq!(b.body["publishedUrlPath"], "/y");
    }

    #[tokio::test]
    async fn state_file_round_trips_and_corruption_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let s = Store::open(Some(path.clone())).unwrap();
        let a = s
            .create(submission("a.example.com", "/x", "http"), "u", 1, 0)
            .unwrap();
        s.persist().await.unwrap();
        let again = Store::open(Some(path.clone())).unwrap();
        assert_eq!(again.get(&a.uuid, 2).unwrap().body, a.body);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(
            Store::open(Some(path)),
            Err(LoadError::Parse { .. })
        ));
    }
}
