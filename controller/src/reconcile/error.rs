//! Errors of the reconcile step. Each knows whether it is worth retrying and its short reason
//! (the Event reason and the `reason` label of `edgio_ingress_errors_total`).

use super::backend::ProviderError;
use crate::names::reason;
use crate::plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("failed to list CDN rules: {0}")]
    ListRules(#[source] ProviderError),
    #[error("failed to list DNS records: {0}")]
    ListRecords(#[source] ProviderError),
    #[error("failed to create CDN rule for {target}: {source}")]
    CreateRule {
        target: String,
        source: ProviderError,
    },
    #[error("failed to update CDN rule for {target}: {source}")]
    UpdateRule {
        target: String,
        source: ProviderError,
    },
    #[error("failed to delete CDN rule for {target}: {source}")]
    DeleteRule {
        target: String,
        source: ProviderError,
    },
    #[error("failed to create DNS record {target}: {source}")]
    CreateRecord {
        target: String,
        source: ProviderError,
    },
    #[error("failed to delete DNS record {target}: {source}")]
    DeleteRecord {
        target: String,
        source: ProviderError,
    },
    #[error(transparent)]
    Refused(#[from] PlanError),
    #[error("failed to {action} on Ingress {target}: {source}")]
    Kube {
        action: &'static str,
        target: String,
        source: kube::Error,
    },
}

impl ReconcileError {
    fn provider(&self) -> Option<&ProviderError> {
        match self {
            Self::ListRules(e) | Self::ListRecords(e) => Some(e),
            Self::CreateRule { source, .. }
            | Self::UpdateRule { source, .. }
            | Self::DeleteRule { source, .. }
            | Self::CreateRecord { source, .. }
            | Self::DeleteRecord { source, .. } => Some(source),
            Self::Refused(_) | Self::Kube { .. } => None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Refused(e) => e.is_retryable(),
            Self::Kube { .. } => true,
            _ => self.provider().is_some_and(|p| p.retryable),
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            Self::Refused(e) => e.reason(),
            Self::Kube { .. } => reason::KUBE_ERROR,
            Self::CreateRule { source, .. } | Self::UpdateRule { source, .. }
                if source.conflict =>
            {
                reason::RULE_CONFLICT
            }
            Self::ListRules(p)
            | Self::CreateRule { source: p, .. }
            | Self::UpdateRule { source: p, .. }
            | Self::DeleteRule { source: p, .. } => {
                if p.retryable {
                    reason::CDN_UNAVAILABLE
                } else {
                    reason::CDN_REJECTED
                }
            }
            Self::ListRecords(p)
            | Self::CreateRecord { source: p, .. }
            | Self::DeleteRecord { source: p, .. } => {
                if p.retryable {
                    reason::DNS_UNAVAILABLE
                } else {
                    reason::DNS_REJECTED
                }
            }
        }
    }
}
