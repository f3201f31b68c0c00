//! Logging per the edge module contract: one JSON access-log line per request on stdout, JSON
//! error/lifecycle events on stderr.
//!
//! Access-log lines are gathered in a per-worker-thread buffer and written with one `write` per
//! batch (at most 50 ms or 64 KiB after the batch's first line, and when the worker stops), so
//! logging costs a copy per request rather than a syscall.

use std::cell::RefCell;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::echo::push_json_str;

/// Flush early once a batch gets this large, to bound the buffer under heavy load.
const FLUSH_AT: usize = 64 * 1024;
/// Longest a line waits in the batch.
pub const FLUSH_DELAY: Duration = Duration::from_millis(50);

thread_local! {
    static ACCESS_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// One served request, as written to the access log.
#[derive(Debug)]
pub struct AccessRecord<'a> {
    pub time: SystemTime,
    pub client: SocketAddr,
    pub method: &'a str,
    pub path: &'a [u8],
    pub protocol: &'a str,
    pub status: u16,
    pub bytes: u64,
    pub duration: Duration,
    pub user_agent: Option<&'a [u8]>,
}

/// Appends the record to this thread's batch. Returns true when the batch was empty before, i.e.
/// the caller should arrange a flush.
pub fn access(rec: &AccessRecord<'_>) -> bool {
    ACCESS_BUF.with(|buf| {
        let Ok(mut buf) = buf.try_borrow_mut() else {
            return false;
        };
        let was_empty = buf.is_empty();
        format_access(rec, &mut buf);
        if buf.len() >= FLUSH_AT {
            write_stdout(&buf);
            buf.clear();
            return false;
        }
        was_empty
    })
}

/// Writes this thread's pending access-log lines to stdout.
pub fn flush_access() {
    ACCESS_BUF.with(|buf| {
        if let Ok(mut buf) = buf.try_borrow_mut()
            && !buf.is_empty()
        {
            write_stdout(&buf);
            buf.clear();
        }
    });
}

fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    // A closed stdout must not take the server down; the access log is best effort.
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

pub fn format_access(rec: &AccessRecord<'_>, out: &mut Vec<u8>) {
    let mut num = itoa::Buffer::new();
    out.extend_from_slice(b"{\"time\":\"");
    push_rfc3339_millis(out, rec.time);
    out.extend_from_slice(b"\",\"client\":\"");
    // A socket address's text form needs no JSON escaping.
    match rec.client {
        SocketAddr::V4(v4) => {
            crate::echo::push_client_ip(out, rec.client);
            out.push(b':');
            out.extend_from_slice(num.format(v4.port()).as_bytes());
        }
        SocketAddr::V6(_) => {
            let _ = write!(out, "{}", rec.client);
        }
    }
    out.extend_from_slice(b"\",\"method\":");
    push_json_str(out, rec.method.as_bytes());
    out.extend_from_slice(b",\"path\":");
    push_json_str(out, rec.path);
    out.extend_from_slice(b",\"protocol\":\"");
    out.extend_from_slice(rec.protocol.as_bytes());
    out.extend_from_slice(b"\",\"status\":");
    out.extend_from_slice(num.format(rec.status).as_bytes());
    out.extend_from_slice(b",\"bytes\":");
    out.extend_from_slice(num.format(rec.bytes).as_bytes());
    out.extend_from_slice(b",\"duration_ms\":");
    let micros = rec.duration.as_micros();
    out.extend_from_slice(num.format(micros / 1000).as_bytes());
    out.push(b'.');
    let frac = (micros % 1000) as u16;
    out.extend_from_slice(&[
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
    out.extend_from_slice(b",\"user_agent\":");
    match rec.user_agent {
        Some(ua) => push_json_str(out, ua),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b"}\n");
}

/// Severity of a stderr event.
#[derive(Debug, Clone, Copy)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Writes one JSON event line to stderr: `{"time":..,"level":..,"msg":..,<fields>}`.
pub fn event(level: Level, msg: &str, fields: &[(&str, serde_json::Value)]) {
    let mut line = Vec::with_capacity(128);
    line.extend_from_slice(b"{\"time\":\"");
    push_rfc3339_millis(&mut line, SystemTime::now());
    line.extend_from_slice(b"\",\"level\":\"");
    line.extend_from_slice(level.as_str().as_bytes());
    line.extend_from_slice(b"\",\"msg\":");
    push_json_str(&mut line, msg.as_bytes());
    for (key, value) in fields {
        line.push(b',');
        push_json_str(&mut line, key.as_bytes());
        line.push(b':');
        // Serializing a Value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut line, value);
    }
    line.extend_from_slice(b"}\n");
    let _ = std::io::stderr().lock().write_all(&line);
}

/// Lets through at most `per_sec` events per second; used for per-connection errors so a hostile
/// client cannot flood stderr.
#[derive(Debug, Default)]
pub struct RateLimit {
    /// Upper 32 bits: the second; lower 32 bits: events in it.
    state: AtomicU64,
}

impl RateLimit {
    pub const fn new() -> Self {
        Self {
            state: AtomicU64::new(0),
        }
    }

    pub fn allow(&self, per_sec: u32) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()) as u32;
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let (sec, n) = ((cur >> 32) as u32, cur as u32);
            let next = if sec == now {
                (n + 1).min(u32::MAX - 1)
            } else {
                1
            };
            if sec == now && n >= per_sec {
                return false;
            }
            let new = (u64::from(now) << 32) | u64::from(next);
            match self
                .state
                .compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }
}

/// `2026-11-23T01:40:00.123Z`
pub fn push_rfc3339_millis(out: &mut Vec<u8>, t: SystemTime) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, mo, da) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    let (h, mi, s) = (sod / 3600, sod / 60 % 60, sod % 60);
    let ms = d.subsec_millis();
    let _ = write!(out, "{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z");
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, millis: u64) -> String {
        let mut out = Vec::new();
        push_rfc3339_millis(
            &mut out,
            UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis),
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_millis() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.007Z");
        assert_eq!(at(1_795_398_000, 123), "2026-11-23T01:40:00.123Z");
    }

    #[test]
    fn access_line_is_one_json_object_with_the_contract_fields() {
        let mut out = Vec::new();
        format_access(
            &AccessRecord {
                time: UNIX_EPOCH,
                client: "[::1]:4000".parse().unwrap(),
                method: "GET",
                path: b"/a\"b",
                protocol: "HTTP/1.1",
                status: 200,
                bytes: 42,
                duration: Duration::from_micros(1_234),
                user_agent: Some(b"curl/8"),
            },
            &mut out,
        );
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["client"], "[::1]:4000");
        assert_eq!(v["path"], "/a\"b");
        assert_eq!(v["status"], 200);
        assert_eq!(v["bytes"], 42);
        assert_eq!(v["duration_ms"], 1.234);
        assert_eq!(v["user_agent"], "curl/8");
        assert_eq!(v["time"], "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn rate_limit_stops_after_the_budget_within_a_second() {
        let rl = RateLimit::new();
        let allowed = (0..10).filter(|_| rl.allow(3)).count();
        // A second boundary may fall inside the loop, which can only allow more.
        assert!((3..=6).contains(&allowed), "{allowed}");
    }
}
