//! Waiting on conditions: poll with a deadline, never a bare sleep as synchronisation.

use std::future::Future;
use std::time::Duration;

use anyhow::{Result, bail};
use tokio::time::Instant;

/// How often a condition is polled.
pub const POLL: Duration = Duration::from_millis(250);

/// Polls `check` until it returns `Ok(value)` or `timeout` passes. `Err(reason)` means "not yet";
/// the last reason is reported on timeout so a failure says what was still missing.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return Ok(value),
            Err(reason) => {
                if Instant::now() >= deadline {
                    bail!(
                        "timed out after {}s waiting for {what}: {reason}",
                        timeout.as_secs()
                    );
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Checks that `check` keeps returning `Ok` for the whole of `period` (a "nothing changes"
/// assertion); the first `Err` fails at once.
pub async fn holds<F, Fut>(what: &str, period: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<(), String>>,
{
    let deadline = Instant::now() + period;
    loop {
        if let Err(reason) = check().await {
            bail!("{what} stopped holding: {reason}");
        }
        if Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}
