//! Shared mock state: the zone store (read by the API and the DNS server alike), the start-up
//! snapshot `reset` returns to, fault settings, the rate limiter and the request log.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::Serialize;

use crate::faults::{Faults, RateLimiter};
use crate::persist;
use crate::store::{Store, StoreError};

/// Oldest request-log entries are dropped beyond this, so a long run cannot exhaust memory.
const MAX_LOGGED_REQUESTS: usize = 100_000;

#[derive(Debug, Clone, Serialize)]
pub struct RequestEntry {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub time: String,
}

#[derive(Debug)]
pub struct Runtime {
    pub faults: Faults,
    /// 429s still to serve from the current `burst_429` setting.
    pub burst_remaining: u32,
    pub limiter: RateLimiter,
    pub requests: VecDeque<RequestEntry>,
}

#[derive(Debug)]
pub struct Settings {
    pub api_keys: Vec<String>,
    pub default_ttl: u32,
    pub rate_limit: f64,
    pub state_file: Option<PathBuf>,
}

#[derive(Debug)]
pub struct App {
    store: Arc<RwLock<Store>>,
    initial_store: Store,
    initial_faults: Faults,
    pub settings: Settings,
    runtime: Mutex<Runtime>,
}

impl App {
    pub fn new(store: Store, faults: Faults, settings: Settings) -> Self {
        Self {
            store: Arc::new(RwLock::new(store.clone())),
            initial_store: store,
            runtime: Mutex::new(Runtime {
                burst_remaining: faults.burst_429,
                faults: faults.clone(),
                limiter: RateLimiter::default(),
                requests: VecDeque::new(),
            }),
            initial_faults: faults,
            settings,
        }
    }

    /// The store handle the DNS server reads from.
    pub fn store_handle(&self) -> Arc<RwLock<Store>> {
        Arc::clone(&self.store)
    }

    pub fn read<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        // A panic elsewhere while holding the lock must not take the mock down with it.
        let guard = self.store.read().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    /// Applies a change and, when it succeeded, persists the new state before the lock is released
    /// (so the file always reflects the order in which changes were made).
    pub fn mutate<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.store.write().unwrap_or_else(|e| e.into_inner());
        let out = f(&mut guard)?;
        self.persist(&guard);
        Ok(out)
    }

    fn persist(&self, store: &Store) {
        if let Some(path) = &self.settings.state_file
            && let Err(e) = persist::save(path, store)
        {
            tracing::error!(error = %e, "state file not updated");
        }
    }

    pub fn runtime(&self) -> MutexGuard<'_, Runtime> {
        self.runtime.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Back to the start-up state: zones, faults, limiter and request log.
    pub fn reset(&self) {
        {
            let mut guard = self.store.write().unwrap_or_else(|e| e.into_inner());
            *guard = self.initial_store.clone();
            self.persist(&guard);
        }
        let mut runtime = self.runtime();
        runtime.faults = self.initial_faults.clone();
        runtime.burst_remaining = self.initial_faults.burst_429;
        runtime.limiter.clear();
        runtime.requests.clear();
    }

    pub fn log_request(&self, entry: RequestEntry) {
        let mut runtime = self.runtime();
        if runtime.requests.len() >= MAX_LOGGED_REQUESTS {
            runtime.requests.pop_front();
        }
        runtime.requests.push_back(entry);
    }
}
