//! Fault injection for the Config API: error rates, 429 bursts, a rate limit, latency, and the
//! `PROCESSING` period. Configured by flags and replaced at run time through `PUT /__admin/faults`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The admin API's fault document; missing fields take the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Method (upper case, or `*`) → fraction of calls answered 503.
    pub error_rate: BTreeMap<String, f64>,
    pub latency_ms: u64,
    /// Calls still to be answered 429 (counts down; GET shows what is left).
    pub burst_429: u64,
    pub retry_after_secs: u64,
    /// Calls per second; `null` = unlimited.
    pub rate_limit_per_sec: Option<f64>,
    pub processing_seconds: f64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            error_rate: BTreeMap::new(),
            latency_ms: 0,
            burst_429: 0,
            retry_after_secs: 1,
            rate_limit_per_sec: None,
            processing_seconds: 0.0,
        }
    }
}

impl FaultConfig {
    /// Upper-cases method keys and checks ranges; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        for (method, rate) in &self.error_rate {
            if !rate.is_finite() || !(0.0..=1.0).contains(rate) {
                return Err(format!(
                    "error_rate.{method} must be between 0 and 1, got {rate}"
                ));
            }
            if method != "*" && !method.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(format!(
                    "error_rate key {method:?} is not an HTTP method or '*'"
                ));
            }
        }
        if let Some(r) = self.rate_limit_per_sec
            && (!r.is_finite() || r < 0.0)
        {
            return Err(format!(
                "rate_limit_per_sec must be a positive number, got {r}"
            ));
        }
        if !self.processing_seconds.is_finite() || self.processing_seconds < 0.0 {
            return Err(format!(
                "processing_seconds must be 0 or more, got {}",
                self.processing_seconds
            ));
        }
        Ok(())
    }

    fn normalised(mut self) -> Self {
        self.error_rate = self
            .error_rate
            .into_iter()
            .map(|(m, r)| (m.to_ascii_uppercase(), r))
            .collect();
        // 0 means "off" for the flag, so treat it the same here.
        self.rate_limit_per_sec = self.rate_limit_per_sec.filter(|r| *r > 0.0);
        self
    }
}

/// What the fault layer decided for one API call.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Pass,
    /// 429 with `Retry-After` seconds.
    TooMany {
        retry_after_secs: u64,
        reason: &'static str,
    },
    /// 503, with the rate that triggered it.
    Error {
        rate: f64,
    },
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

struct Inner {
    config: FaultConfig,
    bucket: Bucket,
}

pub struct Faults {
    inner: Mutex<Inner>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        let config = config.normalised();
        let tokens = config.rate_limit_per_sec.unwrap_or(1.0).max(1.0);
        Faults {
            inner: Mutex::new(Inner {
                config,
                bucket: Bucket {
                    tokens,
                    last: Instant::now(),
                },
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means another request panicked mid-update; the data is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self) -> FaultConfig {
        self.lock().config.clone()
    }

    pub fn set(&self, config: FaultConfig) {
        let config = config.normalised();
        let mut inner = self.lock();
        inner.bucket = Bucket {
            tokens: config.rate_limit_per_sec.unwrap_or(1.0).max(1.0),
            last: Instant::now(),
        };
        inner.config = config;
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.lock().config.latency_ms)
    }

    pub fn processing_ms(&self) -> u64 {
        let secs = self.lock().config.processing_seconds;
        // Saturating float-to-int conversion: absurd values just mean "forever".
        (secs * 1000.0) as u64
    }

    /// Decides the fate of one API call: rate limit, then burst, then error rate.
    pub fn decide(&self, method: &str, roll: f64) -> Verdict {
        let mut inner = self.lock();
        if let Some(rate) = inner.config.rate_limit_per_sec {
            let now = Instant::now();
            let capacity = rate.max(1.0);
            let elapsed = now.duration_since(inner.bucket.last).as_secs_f64();
            inner.bucket.tokens = (inner.bucket.tokens + elapsed * rate).min(capacity);
            inner.bucket.last = now;
            if inner.bucket.tokens >= 1.0 {
                inner.bucket.tokens -= 1.0;
            } else {
                let wait = (1.0 - inner.bucket.tokens) / rate;
                return Verdict::TooMany {
                    retry_after_secs: (wait.ceil() as u64).max(1),
                    reason: "rate limit exceeded",
                };
            }
        }
        if inner.config.burst_429 > 0 {
            inner.config.burst_429 -= 1;
            return Verdict::TooMany {
                retry_after_secs: inner.config.retry_after_secs,
                reason: "burst of 429s injected",
            };
        }
        let rate = inner
            .config
            .error_rate
            .get(method)
            .or_else(|| inner.config.error_rate.get("*"))
            .copied()
            .unwrap_or(0.0);
        if rate > 0.0 && roll < rate {
            return Verdict::Error { rate };
        }
        Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_answers_exactly_n_calls_with_429() {
        let f = Faults::new(FaultConfig {
            burst_429: 2,
            retry_after_secs: 7,
            ..FaultConfig::default()
        });
        for _ in 0..2 {
            assert!(matches!(
                f.decide("GET", 0.5),
                Verdict::TooMany {
                    retry_after_secs: 7,
                    ..
                }
            ));
        }
        assert_eq!(f.decide("GET", 0.5), Verdict::Pass);
        assert_eq!(f.get().burst_429, 0);
    }

    #[test]
    fn method_rate_overrides_wildcard() {
        let f = Faults::new(FaultConfig {
            error_rate: [("post".to_string(), 1.0), ("*".to_string(), 0.0)].into(),
            ..FaultConfig::default()
        });
        assert_eq!(f.decide("POST", 0.99), Verdict::Error { rate: 1.0 });
        assert_eq!(f.decide("GET", 0.0), Verdict::Pass);
    }

    #[test]
    fn rate_limit_rejects_calls_beyond_the_bucket() {
        let f = Faults::new(FaultConfig {
            rate_limit_per_sec: Some(2.0),
            ..FaultConfig::default()
        });
        assert_eq!(f.decide("GET", 1.0), Verdict::Pass);
        assert_eq!(f.decide("GET", 1.0), Verdict::Pass);
        assert!(matches!(f.decide("GET", 1.0), Verdict::TooMany { .. }));
    }

    #[test]
    fn out_of_range_values_fail_validation() {
        let mut c = FaultConfig::default();
        c.error_rate.insert("GET".into(), 1.5);
        assert!(c.validate().is_err());
        let c = FaultConfig {
            processing_seconds: -1.0,
            ..FaultConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
