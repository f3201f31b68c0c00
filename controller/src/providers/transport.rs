//! Providers: the HTTP plumbing both clients share — a token-bucket rate limit, the retry loop
//! with jittered exponential backoff and `Retry-After`, and the per-attempt call observer.
//!
//! Retry policy (see `controller/PROVIDERS.md`):
//! - Idempotent calls (GET, PUT, DELETE, Vultr PATCH, Edgio validate) are retried on 5xx, 429,
//!   408, timeouts and connection errors.
//! - Non-idempotent calls (POST that creates something) are retried only when the server cannot
//!   have acted: a 429, or a connection that never got established. A 5xx or a timeout after the
//!   request was sent is returned to the caller, which re-reads state before trying again;
//!   retrying blindly could create a duplicate.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::{CallObserver, CallRecord};

/// Whether a call may be sent twice without changing the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    Idempotent,
    /// Retried only when the server cannot have acted (429, connection never established).
    NotIdempotent,
}

/// Retry and backoff settings shared by both clients.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// Backoff before retry number `retry` (1-based): `initial * 2^(retry-1)`, capped at `max`,
    /// then "equal jitter" — uniformly in `[d/2, d]` — so clients that failed together spread out
    /// but still wait at least half the nominal delay.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let nominal = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let nanos = u64::try_from(nominal.as_nanos()).unwrap_or(u64::MAX);
        if nanos < 2 {
            return nominal;
        }
        let jittered = rand::rng().random_range(nanos / 2..=nanos);
        Duration::from_nanos(jittered)
    }
}

/// Parses `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // Not in the RFC, but some servers send fractional seconds; honour them rather than ignore.
    if let Ok(secs) = raw.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
        return None;
    }
    let when = httpdate::parse_http_date(raw).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A token bucket: `rate` tokens per second, at most `burst` stored. Callers reserve a token and
/// sleep until it is theirs, so concurrent callers are served in arrival order and the long-run
/// rate never exceeds `rate`. In any window of `t` seconds at most `burst + rate * t` calls start.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    /// May go negative: a negative balance is the queue of reservations not yet due.
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// `rate <= 0` (or not finite) disables limiting.
    pub(crate) fn new(rate: f64, burst: f64) -> Self {
        let burst = if burst.is_finite() {
            burst.max(1.0)
        } else {
            1.0
        };
        TokenBucket {
            rate,
            burst,
            state: Mutex::new(BucketState {
                tokens: burst,
                last: Instant::now(),
            }),
        }
    }

    fn enabled(&self) -> bool {
        self.rate.is_finite() && self.rate > 0.0
    }

    /// How long the caller must wait for its token (reserving it now).
    fn reserve(&self) -> Duration {
        if !self.enabled() {
            return Duration::ZERO;
        }
        // A poisoned lock only means another caller panicked mid-update; the state is two
        // numbers and still usable.
        let mut st = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(st.last).as_secs_f64();
        st.last = now;
        st.tokens = (st.tokens + elapsed * self.rate).min(self.burst);
        st.tokens -= 1.0;
        if st.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-st.tokens / self.rate)
        }
    }

    pub(crate) async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// A response read to the end.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The shared sender: one per client, cheap to clone (everything behind `Arc`).
#[derive(Clone)]
pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub limiter: Arc<TokenBucket>,
    pub policy: RetryPolicy,
    pub observer: Arc<dyn CallObserver>,
    pub provider: &'static str,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("provider", &self.provider)
            .field("policy", &self.policy)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

/// Why the loop stopped without a response.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The request could not be built (a bug or bad configuration, never retried).
    Build(String),
    /// No (complete) response: connection error, timeout, body cut short.
    Transport(reqwest::Error),
}

fn status_is_retryable(status: u16, idem: Idempotency) -> bool {
    match status {
        429 => true,
        408 | 500..=599 => idem == Idempotency::Idempotent,
        _ => false,
    }
}

fn error_is_retryable(err: &reqwest::Error, idem: Idempotency) -> bool {
    match idem {
        Idempotency::Idempotent => {
            err.is_connect() || err.is_timeout() || err.is_request() || err.is_body()
        }
        // A connect error means no byte of the request reached the server.
        Idempotency::NotIdempotent => err.is_connect(),
    }
}

impl Transport {
    /// Sends the request `build` makes (called once per attempt, so signatures and timestamps
    /// are fresh), retrying per the policy. Returns the last response, whatever its status.
    pub(crate) async fn send<F>(
        &self,
        operation: &'static str,
        idem: Idempotency,
        mut build: F,
    ) -> Result<RawResponse, SendError>
    where
        F: FnMut() -> Result<reqwest::Request, String>,
    {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.limiter.acquire().await;
            let request = build().map_err(SendError::Build)?;
            let started = Instant::now();
            let result = self.attempt(request).await;
            self.observer.observe(&CallRecord {
                provider: self.provider,
                operation,
                status: result.as_ref().ok().map(|r| r.status),
                duration: started.elapsed(),
                attempt,
            });
            let may_retry = attempt <= self.policy.max_retries;
            match result {
                Ok(resp) => {
                    if !(may_retry && status_is_retryable(resp.status, idem)) {
                        return Ok(resp);
                    }
                    let delay = match parse_retry_after(&resp.headers) {
                        Some(d) => d.min(self.policy.max_retry_after),
                        None => self.policy.backoff(attempt),
                    };
                    tracing::debug!(
                        provider = self.provider,
                        operation,
                        status = resp.status,
                        attempt,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "retrying provider call"
                    );
                    tokio::time::sleep(delay).await;
                }
                Err(err) => {
                    if !(may_retry && error_is_retryable(&err, idem)) {
                        return Err(SendError::Transport(err));
                    }
                    let delay = self.policy.backoff(attempt);
                    tracing::debug!(
                        provider = self.provider,
                        operation,
                        attempt,
                        error = %err.without_url(),
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "retrying provider call after transport error"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn attempt(&self, request: reqwest::Request) -> Result<RawResponse, reqwest::Error> {
        let resp = self.http.execute(request).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?.to_vec();
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }
}

/// Builds the reqwest client both providers use: rustls, no redirects (a redirect would break
/// Edgio signatures and leak the Vultr bearer token to another host), per-request timeout.
pub(crate) fn http_client(
    timeout: Duration,
    user_agent: &str,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        // Shorter than common server idle timeouts, so a create is rarely sent on a connection
        // the server is closing (such a create fails without a retry, see above).
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(user_agent)
        .build()
}

/// The server's message from an error body: the JSON `message` (else `error`) field, plus any
/// per-field `errors`, else a short excerpt of the body.
pub(crate) fn server_message(body: &[u8]) -> String {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        let main = ["message", "error"]
            .iter()
            .filter_map(|k| map.get(*k).and_then(|v| v.as_str()))
            .find(|s| !s.trim().is_empty())
            .map(str::to_owned);
        let fields: Vec<String> = map
            .get("errors")
            .and_then(|v| v.as_array())
            .map(|errs| {
                errs.iter()
                    .filter_map(|e| {
                        let msg = e.get("message").and_then(|m| m.as_str())?;
                        Some(match e.get("field").and_then(|f| f.as_str()) {
                            Some(field) if !field.is_empty() => format!("{field}: {msg}"),
                            _ => msg.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        match (main, fields.is_empty()) {
            (Some(m), true) => return m,
            (Some(m), false) => {
                let joined = fields.join("; ");
                // Avoid repeating a message the server already put in both places.
                return if m.contains(&joined) {
                    m
                } else {
                    format!("{m} ({joined})")
                };
            }
            (None, false) => return fields.join("; "),
            (None, true) => {}
        }
    }
    excerpt(body)
}

/// The first 200 characters of a body, on one line, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut out: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// `"409 Conflict"` for error messages.
pub(crate) fn status_line(status: u16) -> String {
    match http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// Parses and re-serialises the base URL (lowercased host, default port dropped) so the URL we
/// sign is the URL the HTTP stack sends, and drops trailing slashes.
pub(crate) fn normalise_base_url(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let parsed = url::Url::parse(trimmed).map_err(|e| format!("base URL {trimmed:?}: {e}"))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(format!(
            "base URL {trimmed:?}: scheme must be http or https"
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "base URL {trimmed:?}: must not have a query or fragment"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("base URL must not carry credentials".to_owned());
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers_with_retry_after(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn retry_after_seconds_are_parsed() {
        assert_eq!(
            parse_retry_after(&headers_with_retry_after("3")),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn retry_after_http_date_in_the_future_gives_remaining_time() {
        let when = SystemTime::now() + Duration::from_secs(120);
        let h = headers_with_retry_after(&httpdate::fmt_http_date(when));
        let d = parse_retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
    }

    #[test]
    fn retry_after_http_date_in_the_past_means_no_wait() {
        let h = headers_with_retry_after("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_garbage_is_ignored() {
        assert_eq!(parse_retry_after(&headers_with_retry_after("soon")), None);
        assert_eq!(parse_retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_doubles_within_jitter_and_respects_cap() {
        let p = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            max_retry_after: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b2 = p.backoff(2);
            assert!(b2 >= Duration::from_millis(100) && b2 <= Duration::from_millis(200));
            let b4 = p.backoff(4);
            assert!(b4 >= Duration::from_millis(175) && b4 <= Duration::from_millis(350));
        }
    }

    #[test]
    fn token_bucket_allows_burst_then_spaces_calls_at_rate() {
        let bucket = TokenBucket::new(10.0, 2.0);
        assert_eq!(bucket.reserve(), Duration::ZERO);
        assert_eq!(bucket.reserve(), Duration::ZERO);
        let third = bucket.reserve();
        assert!(
            third > Duration::from_millis(80) && third <= Duration::from_millis(100),
            "{third:?}"
        );
        let fourth = bucket.reserve();
        assert!(
            fourth > Duration::from_millis(180) && fourth <= Duration::from_millis(200),
            "{fourth:?}"
        );
    }

    #[test]
    fn token_bucket_with_zero_rate_never_waits() {
        let bucket = TokenBucket::new(0.0, 1.0);
        for _ in 0..100 {
            assert_eq!(bucket.reserve(), Duration::ZERO);
        }
    }

    #[test]
    fn server_message_prefers_message_then_error_then_excerpt() {
        assert_eq!(
            server_message(br#"{"status":409,"error":"Conflict","message":"duplicate of abc"}"#),
            "duplicate of abc"
        );
        assert_eq!(
            server_message(br#"{"error":"Invalid API token.","status":401}"#),
            "Invalid API token."
        );
        assert_eq!(
            server_message(b"<html>\n  Bad   Gateway</html>"),
            "<html> Bad Gateway</html>"
        );
        assert_eq!(server_message(b""), "(empty body)");
    }

    #[test]
    fn server_message_lists_field_errors() {
        let body = br#"{"status":400,"error":"Bad Request","message":"validation failed","errors":[{"field":"body.publishedHostname","message":"must be a hostname"}]}"#;
        assert_eq!(
            server_message(body),
            "validation failed (body.publishedHostname: must be a hostname)"
        );
    }
}
