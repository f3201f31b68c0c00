//! Stage 2 of the pipeline (pure, no IO): the desired CDN rules and DNS records, diffed against
//! what the providers report. Returns create / update / delete lists; ownership rules live here:
//! a rule is ours when it carries our owner marker, the origin records are ours when the
//! companion ownership TXT names our owner id.

pub mod dns;
pub mod full;
pub mod model;
pub mod rules;

use std::fmt;

pub use dns::{DnsPlan, DnsSettings, plan_dns, relative_name};
pub use full::{FullPlan, IngressPlan, PlanSettings, full_plan, live_ingresses};
pub use model::{DnsRecord, Marker, NewDnsRecord, ProtocolSpec, RemoteRule, RuleOption, RuleSpec};
pub use rules::{RulePlan, RuleSettings, desired_rules, diff_rules, orphans};

use crate::names::reason;

/// Why a plan step refuses to act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("DNS name {name} has records but no ownership TXT record: not ours, left untouched")]
    DnsNameTaken { name: String },
    #[error("DNS name {name} is owned by owner id {owner:?}: not ours, left untouched")]
    DnsOwnedByOther { name: String, owner: String },
    #[error("rule {host}{path} already exists and is not ours ({holder}); not created")]
    RuleConflict {
        host: String,
        path: String,
        holder: String,
    },
}

impl PlanError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::DnsNameTaken { .. } => reason::DNS_NAME_TAKEN,
            Self::DnsOwnedByOther { .. } => reason::DNS_OWNED_BY_OTHER,
            Self::RuleConflict { .. } => reason::RULE_CONFLICT,
        }
    }

    /// Never: someone must remove the other party's object first.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// A validated owner id: it is written into rule markers (`<owner>/<namespace>/<name>`) and the
/// ownership TXT record, so it must not contain `/`, `,`, `=`, quotes or whitespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OwnerId(String);

impl OwnerId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "owner id {s:?} must be 1-63 characters of [A-Za-z0-9._-]"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
