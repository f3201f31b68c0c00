//! The generic object store: JSON objects keyed by storage name, namespace and name, one
//! global resourceVersion counter (like etcd's revision), a bounded change history that watches
//! replay from, and a broadcast channel for live watches.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

pub type Key = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub storage: String,
    pub key: Key,
    pub kind: ChangeKind,
    /// The new state (for DELETED: the last stored state carrying the deletion revision).
    pub object: Value,
    /// The previous state, so label-selector watches can turn enter/leave into ADDED/DELETED.
    pub old: Option<Value>,
}

#[derive(Default)]
pub struct Inner {
    rv: u64,
    objects: HashMap<String, BTreeMap<Key, Value>>,
    history: VecDeque<Arc<Change>>,
    /// Revision of the newest change evicted from history; watches from before it are too old.
    compacted: u64,
}

pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Change>>,
    history_limit: usize,
}

/// A locked view of the store; writes record history and notify watchers.
pub struct Txn<'a> {
    inner: MutexGuard<'a, Inner>,
    tx: &'a broadcast::Sender<Arc<Change>>,
    history_limit: usize,
}

/// What a watch starts from.
pub enum WatchStart {
    /// Replay of changes after the requested revision.
    Replay(Vec<Arc<Change>>),
    /// Too old: the revision reported in the 410 message.
    TooOld(u64),
}

impl Store {
    pub fn new(history_limit: usize) -> Arc<Self> {
        let (tx, _) = broadcast::channel(8192);
        Arc::new(Store {
            inner: Mutex::new(Inner {
                rv: 1,
                ..Default::default()
            }),
            tx,
            history_limit: history_limit.max(1),
        })
    }

    /// Live changes from now on (for in-process controllers).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    pub fn txn(&self) -> Txn<'_> {
        // A poisoned lock only means another request panicked mid-write; the data is still
        // a consistent JSON map, so keep serving.
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Txn {
            inner,
            tx: &self.tx,
            history_limit: self.history_limit,
        }
    }
}

pub fn key(ns: Option<&str>, name: &str) -> Key {
    (ns.unwrap_or("").to_string(), name.to_string())
}

impl Txn<'_> {
    pub fn current_rv(&self) -> u64 {
        self.inner.rv
    }

    pub fn get(&self, storage: &str, key: &Key) -> Option<&Value> {
        self.inner.objects.get(storage).and_then(|m| m.get(key))
    }

    /// Objects of a storage key, optionally only one namespace, in (namespace, name) order.
    pub fn list(&self, storage: &str, ns: Option<&str>) -> Vec<Value> {
        let Some(m) = self.inner.objects.get(storage) else {
            return Vec::new();
        };
        m.iter()
            .filter(|((n, _), _)| ns.is_none_or(|want| want == n))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Objects as they were at revision `rv` (rolled back through the history; the caller
    /// checks that `rv` is not older than `compacted()`).
    pub fn list_at(&self, storage: &str, ns: Option<&str>, rv: u64) -> Vec<Value> {
        let mut map: BTreeMap<Key, Value> = self
            .inner
            .objects
            .get(storage)
            .map(|m| {
                m.iter()
                    .filter(|((n, _), _)| ns.is_none_or(|w| w == n))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for c in self
            .inner
            .history
            .iter()
            .rev()
            .filter(|c| c.rv > rv && c.storage == storage)
        {
            let k = c.key.clone();
            if ns.is_some_and(|w| w != k.0) {
                continue;
            }
            match (c.kind, &c.old) {
                (ChangeKind::Added, _) => {
                    map.remove(&k);
                }
                (_, Some(old)) => {
                    map.insert(k, old.clone());
                }
                (_, None) => {}
            }
        }
        map.into_values().collect()
    }

    /// Every namespaced object in a namespace, across storage keys.
    pub fn in_namespace(&self, ns: &str) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for (storage, m) in &self.inner.objects {
            for ((n, _), v) in m {
                if n == ns {
                    out.push((storage.clone(), v.clone()));
                }
            }
        }
        out
    }

    fn record(&mut self, change: Change) {
        let change = Arc::new(change);
        self.inner.history.push_back(change.clone());
        while self.inner.history.len() > self.history_limit {
            if let Some(old) = self.inner.history.pop_front() {
                self.inner.compacted = old.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(change);
    }

    /// Stores `obj` with a fresh resourceVersion and returns the stored object.
    pub fn put(&mut self, storage: &str, key: Key, mut obj: Value) -> Value {
        self.inner.rv += 1;
        let rv = self.inner.rv;
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let old = self
            .inner
            .objects
            .entry(storage.to_string())
            .or_default()
            .insert(key.clone(), obj.clone());
        let kind = if old.is_some() {
            ChangeKind::Modified
        } else {
            ChangeKind::Added
        };
        self.record(Change {
            rv,
            storage: storage.to_string(),
            key,
            kind,
            object: obj.clone(),
            old,
        });
        obj
    }

    /// Removes an object; the DELETED event carries `last` with the deletion revision.
    pub fn delete(&mut self, storage: &str, key: &Key, last: Value) -> Option<Value> {
        let old = self.inner.objects.get_mut(storage)?.remove(key)?;
        self.inner.rv += 1;
        let rv = self.inner.rv;
        let mut obj = last;
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        self.record(Change {
            rv,
            storage: storage.to_string(),
            key: key.clone(),
            kind: ChangeKind::Deleted,
            object: obj,
            old: Some(old.clone()),
        });
        Some(old)
    }

    /// Subscribes to live changes and returns what must be replayed first.
    pub fn watch_from(
        &self,
        storage: &str,
        rv: u64,
    ) -> (WatchStart, broadcast::Receiver<Arc<Change>>) {
        let rx = self.tx.subscribe();
        if rv < self.inner.compacted {
            return (WatchStart::TooOld(self.inner.compacted), rx);
        }
        let replay = self
            .inner
            .history
            .iter()
            .filter(|c| c.rv > rv && c.storage == storage)
            .cloned()
            .collect::<Vec<_>>();
        (WatchStart::Replay(replay), rx)
    }

    /// Oldest revision a continue token or watch may still refer to.
    pub fn compacted(&self) -> u64 {
        self.inner.compacted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_write_bumps_the_global_revision_and_history_evicts_oldest() {
        let store = Store::new(2);
        let mut t = store.txn();
        let a = t.put(
            "cm",
            key(Some("d"), "a"),
            json!({"metadata": {"name": "a"}}),
        );
        let b = t.put(
            "svc",
            key(Some("d"), "b"),
            json!({"metadata": {"name": "b"}}),
        );
        assert_eq!(a["metadata"]["resourceVersion"], "2");
        assert_eq!(b["metadata"]["resourceVersion"], "3");
        t.put(
            "cm",
            key(Some("d"), "a"),
            json!({"metadata": {"name": "a", "labels": {"x": "y"}}}),
        );
        assert_eq!(t.compacted(), 2);
        match t.watch_from("cm", 1).0 {
            WatchStart::TooOld(rv) => assert_eq!(rv, 2),
            WatchStart::Replay(_) => panic!("expected too old"),
        }
        let at2 = t.list_at("cm", None, 2);
        assert_eq!(at2.len(), 1);
        assert!(
            at2[0]["metadata"].get("labels").is_none(),
            "state before the label change"
        );
        match t.watch_from("cm", 2).0 {
            WatchStart::Replay(c) => assert_eq!(c.len(), 1),
            WatchStart::TooOld(_) => panic!("expected replay"),
        }
    }
}
