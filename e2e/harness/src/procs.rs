//! Child processes of the local tier: started with their output in a log file under the run
//! directory, killed when dropped (also on Ctrl-C and failures), and read for their start-up
//! JSON line (the bound addresses).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// A running child; killed (SIGKILL) when dropped, so no process outlives the harness run.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    pub log: PathBuf,
    child: Child,
    /// Stdout lines that parse as JSON objects, in order (start-up announcements).
    json_lines: mpsc::UnboundedReceiver<Value>,
}

impl Proc {
    /// Starts `cmd`; stdout and stderr go to `<dir>/<name>.log` (appended, so a restarted
    /// controller keeps one log).
    pub async fn spawn(name: &str, mut cmd: Command, dir: &Path) -> Result<Proc> {
        let log = dir.join(format!("{name}.log"));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .await
            .with_context(|| format!("opening {}", log.display()))?;
        let (tx, json_lines) = mpsc::unbounded_channel();
        let (line_tx, mut line_rx) = mpsc::unbounded_channel::<String>();
        if let Some(out) = child.stdout.take() {
            let line_tx = line_tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&line) {
                        let _ = tx.send(v);
                    }
                    if line_tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        if let Some(err) = child.stderr.take() {
            let line_tx = line_tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line_tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        drop(line_tx);
        tokio::spawn(async move {
            let mut file = file;
            while let Some(line) = line_rx.recv().await {
                let _ = file.write_all(line.as_bytes()).await;
                let _ = file.write_all(b"\n").await;
                let _ = file.flush().await;
            }
        });
        Ok(Proc {
            name: name.to_owned(),
            log,
            child,
            json_lines,
        })
    }

    /// Waits for the first stdout JSON line for which `pick` returns a value (e.g. the line that
    /// announces the bound address). Fails if the process exits first.
    pub async fn announcement<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(&Value) -> Option<T>,
    ) -> Result<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            tokio::select! {
                line = self.json_lines.recv() => match line {
                    Some(v) => if let Some(t) = pick(&v) { return Ok(t) },
                    None => bail!("{} closed stdout before announcing its address; log: {}\n{}",
                        self.name, self.log.display(), tail(&self.log, 20)),
                },
                _ = tokio::time::sleep_until(deadline) => bail!(
                    "{} did not announce its address within {}s; log: {}\n{}",
                    self.name, timeout.as_secs(), self.log.display(), tail(&self.log, 20)),
            }
        }
    }

    /// Whether the process has exited, and how.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills the process (SIGKILL) and waits for it, so its port is free afterwards.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Asks the process to stop (SIGTERM), then kills it if it has not exited within `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
            if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
                return;
            }
        }
        self.kill().await;
    }
}

/// The last `n` lines of a log file (empty when unreadable).
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Finds `"listening"`-style addresses in a start-up line: the first string value under any of
/// `keys` (e.g. `["listening", "listen", "api"]`).
pub fn string_field(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned))
}
