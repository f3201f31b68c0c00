//! Test fixture: runs the real `vultr-mock` binary on ephemeral ports and talks to it with plain
//! reqwest calls (never the controller's client, so the mock is checked against the spec alone).
#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

pub const KEY: &str = "demo-vultr-key";
const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Mock {
    child: Child,
    pub api: String,
    pub dns: SocketAddr,
    pub http: reqwest::Client,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vultr-mock"));
    cmd.args(["--listen", "127.0.0.1:0", "--dns-listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("VULTR_MOCK_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The response of one call: status, headers and body text.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
    }

    /// A Vultr error: the given status and `{"error":<non-empty>,"status":<same>}`.
    pub fn assert_error(&self, status: u16, contains: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.content_type(), Some("application/json"));
        let body = self.json();
        assert_eq!(body["status"], status, "body: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty() && message.contains(contains),
            "error {message:?} should contain {contains:?}"
        );
        assert_eq!(body.as_object().map(|o| o.len()), Some(2), "body: {body}");
    }
}

impl Mock {
    /// Starts the mock with `args` (plus ephemeral ports) and waits for its readiness line.
    pub fn start(args: &[&str]) -> Mock {
        Self::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Mock {
        let mut cmd = command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn vultr-mock");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel();
        // Keep draining stdout (the access log) so the mock never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("vultr-mock printed no readiness line");
            }
        };
        let ready: Value = serde_json::from_str(&line).expect("readiness line is JSON");
        let api = ready["api"].as_str().expect("api address").to_string();
        let dns = ready["dns"]
            .as_str()
            .expect("dns address")
            .parse()
            .expect("dns address parses");
        Mock {
            child,
            api,
            dns,
            http: reqwest::Client::new(),
        }
    }

    /// Runs the mock expecting it to fail at start-up; returns its stderr.
    pub fn start_failure(args: &[&str]) -> String {
        let mut child = command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vultr-mock");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr piped")
            .read_to_string(&mut stderr)
            .expect("read stderr");
        let status = child.wait().expect("wait");
        assert!(!status.success(), "vultr-mock should have failed to start");
        stderr
    }

    /// Stops the process (SIGKILL: nothing may depend on a clean shutdown).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        self.call_as(method, path, body, Some(KEY)).await
    }

    /// One API call the way the official Go client makes it: Bearer key, `Accept` and
    /// `Content-Type: application/json` on every method.
    pub async fn call_as(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        key: Option<&str>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api))
            .header("accept", "application/json")
            .header("content-type", "application/json");
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body read");
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Reply {
        self.call("POST", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &str) -> Reply {
        self.call("PATCH", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call("DELETE", path, None).await
    }

    /// Creates a record and returns its id, asserting the 201.
    pub async fn create_record(&self, zone: &str, body: Value) -> String {
        let reply = self
            .post(&format!("/v2/domains/{zone}/records"), &body.to_string())
            .await;
        assert_eq!(reply.status, 201, "create {body}: {}", reply.body);
        reply.json()["record"]["id"]
            .as_str()
            .expect("record id")
            .to_string()
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        self.call_as(method, path, body, None).await
    }
}
