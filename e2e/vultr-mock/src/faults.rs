//! Fault injection and rate limiting: what stands between a client and the API handlers. The
//! configuration shape is shared with the Edgio mock (`GET`/`PUT /__admin/faults`).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Instant;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultError {
    #[error("error rate for {method} must be between 0 and 1, got {rate}")]
    Rate { method: String, rate: f64 },
    #[error("{field} must be a finite number of at least 0, got {value}")]
    Negative { field: &'static str, value: f64 },
    #[error("expected METHOD=FRACTION, got {0:?}")]
    Syntax(String),
}

/// Fault configuration. `PUT /__admin/faults` replaces it whole; missing fields take defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Fraction of requests per HTTP method (`*` = any method) answered with a 5xx.
    pub error_rate: BTreeMap<String, f64>,
    /// Delay added before every API answer.
    pub latency_ms: u64,
    /// The next N API requests get 429 (the count goes down as they are served).
    pub burst_429: u32,
    /// `Retry-After` sent with the burst 429s.
    pub retry_after_secs: u64,
    /// Overrides `--rate-limit` when set (0 = off); `null` = use the start-up value.
    pub rate_limit_per_sec: Option<f64>,
    /// Accepted for parity with the Edgio mock; the Vultr API has nothing asynchronous.
    pub processing_seconds: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_rate: BTreeMap::new(),
            latency_ms: 0,
            burst_429: 0,
            retry_after_secs: 1,
            rate_limit_per_sec: None,
            processing_seconds: 0.0,
        }
    }
}

impl Faults {
    /// Normalises method names to upper case and checks every rate is a fraction.
    pub fn validated(mut self) -> Result<Self, FaultError> {
        let mut rates = BTreeMap::new();
        for (method, rate) in self.error_rate {
            if !(rate.is_finite() && (0.0..=1.0).contains(&rate)) {
                return Err(FaultError::Rate { method, rate });
            }
            rates.insert(method.to_ascii_uppercase(), rate);
        }
        self.error_rate = rates;
        if let Some(rate) = self.rate_limit_per_sec
            && !(rate.is_finite() && rate >= 0.0)
        {
            return Err(FaultError::Negative {
                field: "rate_limit_per_sec",
                value: rate,
            });
        }
        if !(self.processing_seconds.is_finite() && self.processing_seconds >= 0.0) {
            return Err(FaultError::Negative {
                field: "processing_seconds",
                value: self.processing_seconds,
            });
        }
        Ok(self)
    }

    /// The injected-error probability for one request.
    pub fn error_rate_for(&self, method: &str) -> f64 {
        self.error_rate
            .get(method)
            .or_else(|| self.error_rate.get("*"))
            .copied()
            .unwrap_or(0.0)
    }
}

/// Parses one `--error-rate METHOD=FRACTION`.
pub fn parse_error_rate(raw: &str) -> Result<(String, f64), FaultError> {
    let (method, rate) = raw
        .split_once('=')
        .ok_or_else(|| FaultError::Syntax(raw.to_string()))?;
    let rate: f64 = rate
        .trim()
        .parse()
        .map_err(|_| FaultError::Syntax(raw.to_string()))?;
    let method = method.trim().to_ascii_uppercase();
    if method.is_empty() {
        return Err(FaultError::Syntax(raw.to_string()));
    }
    if !(0.0..=1.0).contains(&rate) {
        return Err(FaultError::Rate { method, rate });
    }
    Ok((method, rate))
}

/// A token bucket per client IP: `rate` tokens per second, bursts of up to `rate` requests (at
/// least one, so a fractional rate still lets a request through now and then).
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: HashMap<IpAddr, Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// Takes one token for `ip`; when none is left returns the whole seconds to wait.
    pub fn check(&mut self, ip: IpAddr, rate: f64, now: Instant) -> Result<(), u64> {
        if !(rate.is_finite() && rate > 0.0) {
            return Ok(());
        }
        let capacity = rate.max(1.0);
        let bucket = self.buckets.entry(ip).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / rate;
            Err((wait.ceil() as u64).max(1))
        }
    }

    pub fn clear(&mut self) {
        self.buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn limiter_allows_rate_then_refuses_until_refill() {
        let mut limiter = RateLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let start = Instant::now();
        for _ in 0..30 {
            assert_eq!(limiter.check(ip, 30.0, start), Ok(()));
        }
        assert_eq!(limiter.check(ip, 30.0, start), Err(1));
        // Another client has its own bucket.
        assert_eq!(
            limiter.check("127.0.0.2".parse().unwrap(), 30.0, start),
            Ok(())
        );
        assert_eq!(
            limiter.check(ip, 30.0, start + Duration::from_millis(100)),
            Ok(())
        );
    }

    #[test]
    fn fractional_rate_allows_one_request_then_waits() {
        let mut limiter = RateLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let now = Instant::now();
        assert_eq!(limiter.check(ip, 0.5, now), Ok(()));
        assert_eq!(limiter.check(ip, 0.5, now), Err(2));
    }

    #[test]
    fn zero_rate_disables_the_limiter() {
        let mut limiter = RateLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(limiter.check(ip, 0.0, now), Ok(()));
        }
    }

    #[test]
    fn error_rate_flags_parse_and_reject_bad_fractions() {
        assert_eq!(parse_error_rate("post=0.25"), Ok(("POST".into(), 0.25)));
        assert_eq!(parse_error_rate("*=1"), Ok(("*".into(), 1.0)));
        assert!(parse_error_rate("POST").is_err());
        assert!(parse_error_rate("POST=1.5").is_err());
    }

    #[test]
    fn method_specific_rate_wins_over_wildcard() {
        let faults = Faults {
            error_rate: [("POST".to_string(), 0.5), ("*".to_string(), 0.1)].into(),
            ..Default::default()
        };
        assert_eq!(faults.error_rate_for("POST"), 0.5);
        assert_eq!(faults.error_rate_for("GET"), 0.1);
    }

    #[test]
    fn missing_fault_fields_take_defaults() {
        let faults: Faults = serde_json::from_str(r#"{"latency_ms":5}"#).unwrap();
        assert_eq!(faults.latency_ms, 5);
        assert_eq!(faults.retry_after_secs, 1);
        assert_eq!(faults.rate_limit_per_sec, None);
    }
}
