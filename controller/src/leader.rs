//! Leader election on a `coordination.k8s.io/v1` Lease, so only one replica reconciles. kube 5 has
//! no ready-made elector; this is the client-go algorithm in small: take the Lease when it is free
//! or expired, renew it while leading, every write guarded by the resourceVersion we read (a
//! replica that raced us gets 409 and stays a follower).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, PostParams};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("failed to read or write Lease {lease}: {source}")]
    Kube { lease: String, source: kube::Error },
    #[error("lost Lease {lease}: not renewed within {duration:?}")]
    Lost { lease: String, duration: Duration },
}

impl LeaderError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Kube { .. } => "LeaseError",
            Self::Lost { .. } => "LeaseLost",
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Kube { .. })
    }
}

#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub name: String,
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub duration: Duration,
    /// How often the leader renews and followers retry.
    pub retry: Duration,
}

impl LeaseConfig {
    pub fn new(name: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            retry: Duration::from_secs(2),
        }
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

/// The decision for a Lease as read (pure, so it is unit-tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseDecision {
    /// We hold it: renew.
    Renew,
    /// Free or expired: take it over.
    TakeOver,
    /// Someone else holds a live Lease.
    Wait,
}

pub fn decide(
    spec: Option<&LeaseSpec>,
    identity: &str,
    now: Timestamp,
    default_duration: Duration,
) -> LeaseDecision {
    let Some(spec) = spec else {
        return LeaseDecision::TakeOver;
    };
    match spec.holder_identity.as_deref() {
        Some(h) if h == identity => LeaseDecision::Renew,
        None | Some("") => LeaseDecision::TakeOver,
        Some(_) => {
            let secs = spec
                .lease_duration_seconds
                .map(i64::from)
                .unwrap_or(default_duration.as_secs() as i64);
            match spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) {
                Some(MicroTime(t)) if *t + SignedDuration::from_secs(secs) > now => {
                    LeaseDecision::Wait
                }
                _ => LeaseDecision::TakeOver,
            }
        }
    }
}

pub struct Elector {
    api: Api<Lease>,
    cfg: LeaseConfig,
}

impl Elector {
    pub fn new(api: Api<Lease>, cfg: LeaseConfig) -> Self {
        Self { api, cfg }
    }

    fn kube(&self, source: kube::Error) -> LeaderError {
        LeaderError::Kube {
            lease: self.cfg.name.clone(),
            source,
        }
    }

    /// One attempt to acquire or renew. `Ok(true)` while we lead.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, LeaderError> {
        let now = Timestamp::now();
        let duration_secs = i32::try_from(self.cfg.duration.as_secs()).unwrap_or(15);
        let existing = self
            .api
            .get_opt(&self.cfg.name)
            .await
            .map_err(|e| self.kube(e))?;
        let Some(mut lease) = existing else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.cfg.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.cfg.identity.clone()),
                    lease_duration_seconds: Some(duration_secs),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(e) if is_conflict(&e) => Ok(false),
                Err(e) => Err(self.kube(e)),
            };
        };
        let decision = decide(
            lease.spec.as_ref(),
            &self.cfg.identity,
            now,
            self.cfg.duration,
        );
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        match decision {
            LeaseDecision::Wait => return Ok(false),
            LeaseDecision::Renew => spec.renew_time = Some(MicroTime(now)),
            LeaseDecision::TakeOver => {
                spec.holder_identity = Some(self.cfg.identity.clone());
                spec.acquire_time = Some(MicroTime(now));
                spec.renew_time = Some(MicroTime(now));
                spec.lease_duration_seconds = Some(duration_secs);
                spec.lease_transitions =
                    Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
            }
        }
        // `lease` carries the resourceVersion we read: a concurrent writer makes this a 409.
        match self
            .api
            .replace(&self.cfg.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(self.kube(e)),
        }
    }

    /// Waits until we lead, or `None` when `cancel` fires first.
    pub async fn acquire(&self, cancel: &CancellationToken) -> Option<()> {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => return Some(()),
                Ok(false) => {
                    tracing::debug!(lease = %self.cfg.name, "another replica leads; waiting")
                }
                Err(e) => tracing::warn!(error = %e, "leader election attempt failed"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return None,
                _ = tokio::time::sleep(self.cfg.retry) => {}
            }
        }
    }

    /// Renews until `cancel` fires (Ok) or the Lease could not be renewed for a whole duration.
    pub async fn hold(&self, cancel: &CancellationToken) -> Result<(), LeaderError> {
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(self.cfg.retry) => {}
            }
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewed = tokio::time::Instant::now(),
                Ok(false) => {
                    return Err(LeaderError::Lost {
                        lease: self.cfg.name.clone(),
                        duration: self.cfg.duration,
                    });
                }
                Err(e) => tracing::warn!(error = %e, "failed to renew Lease"),
            }
            // Stop before the Lease can expire in others' eyes, so two leaders never overlap.
            if last_renewed.elapsed() + self.cfg.retry >= self.cfg.duration {
                return Err(LeaderError::Lost {
                    lease: self.cfg.name.clone(),
                    duration: self.cfg.duration,
                });
            }
        }
    }

    /// Gives the Lease up on shutdown so a standby takes over at once.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.cfg.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.cfg.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        if let Err(e) = self
            .api
            .replace(&self.cfg.name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!(error = %e, "failed to release Lease");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: Option<&str>, renewed_secs_ago: i64, duration: i32) -> LeaseSpec {
        let now = Timestamp::now();
        LeaseSpec {
            holder_identity: holder.map(str::to_string),
            renew_time: Some(MicroTime(now - SignedDuration::from_secs(renewed_secs_ago))),
            lease_duration_seconds: Some(duration),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn lease_decisions_follow_holder_and_expiry() {
        let d = Duration::from_secs(15);
        let now = Timestamp::now();
        let table: Vec<(&str, Option<LeaseSpec>, LeaseDecision)> = vec![
            ("no spec", None, LeaseDecision::TakeOver),
            (
                "ours",
                Some(spec(Some("me"), 100, 15)),
                LeaseDecision::Renew,
            ),
            ("free", Some(spec(None, 0, 15)), LeaseDecision::TakeOver),
            (
                "released (empty holder)",
                Some(spec(Some(""), 0, 15)),
                LeaseDecision::TakeOver,
            ),
            (
                "other, fresh",
                Some(spec(Some("other"), 5, 15)),
                LeaseDecision::Wait,
            ),
            (
                "other, expired",
                Some(spec(Some("other"), 16, 15)),
                LeaseDecision::TakeOver,
            ),
            (
                "other, never renewed",
                Some(LeaseSpec {
                    holder_identity: Some("other".into()),
                    ..LeaseSpec::default()
                }),
                LeaseDecision::TakeOver,
            ),
        ];
        for (what, s, want) in table {
            assert_eq!(decide(s.as_ref(), "me", now, d), want, "{what}");
        }
    }
}
