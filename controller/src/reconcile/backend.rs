//! The two small traits the reconciler applies plans through, and their implementations for the
//! Edgio and Vultr clients. Tests implement them in memory (`crate::testing`).

use std::sync::Arc;

use async_trait::async_trait;

use crate::plan::{DnsRecord, NewDnsRecord, ProtocolSpec, RemoteRule, RuleOption, RuleSpec};
use crate::providers::edgio::{
    EdgioClient, EdgioError, Instance, InstanceBody, ProtocolOption, ProtocolSet,
};
use crate::providers::vultr::{NewRecord, Record, VultrClient, VultrError};

/// A failed provider call, reduced to what the reconciler decides on.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub provider: &'static str,
    pub status: Option<u16>,
    pub retryable: bool,
    pub not_found: bool,
    pub conflict: bool,
    pub message: String,
}

impl ProviderError {
    /// Helper for fakes and tests: an error with an HTTP status, classified like the real clients.
    pub fn http(provider: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self {
            provider,
            status: Some(status),
            retryable: matches!(status, 408 | 429 | 500..=599),
            not_found: status == 404,
            conflict: status == 409,
            message: message.into(),
        }
    }
}

impl From<EdgioError> for ProviderError {
    fn from(e: EdgioError) -> Self {
        Self {
            provider: "edgio",
            status: e.status(),
            retryable: e.is_retryable(),
            not_found: e.is_not_found(),
            conflict: e.is_conflict(),
            message: e.to_string(),
        }
    }
}

impl From<VultrError> for ProviderError {
    fn from(e: VultrError) -> Self {
        Self {
            provider: "vultr",
            status: e.status(),
            retryable: e.is_retryable(),
            not_found: e.is_not_found(),
            conflict: e.is_conflict(),
            message: e.to_string(),
        }
    }
}

/// CDN rules of one account.
#[async_trait]
pub trait CdnApi: Send + Sync {
    /// Every rule of the account (all pages): one "list" as far as the plan is concerned.
    async fn list_rules(&self) -> Result<Vec<RemoteRule>, ProviderError>;
    async fn create_rule(&self, spec: &RuleSpec) -> Result<RemoteRule, ProviderError>;
    async fn replace_rule(&self, uuid: &str, spec: &RuleSpec) -> Result<RemoteRule, ProviderError>;
    /// Ok when the rule is gone afterwards, including when it was already gone.
    async fn delete_rule(&self, uuid: &str) -> Result<(), ProviderError>;
}

/// Records of one DNS zone.
#[async_trait]
pub trait DnsApi: Send + Sync {
    async fn list_records(&self) -> Result<Vec<DnsRecord>, ProviderError>;
    async fn create_record(&self, record: &NewDnsRecord) -> Result<DnsRecord, ProviderError>;
    /// Ok when the record is gone afterwards, including when it was already gone.
    async fn delete_record(&self, id: &str) -> Result<(), ProviderError>;
}

/// [`CdnApi`] over the Edgio Configuration API for one shortname.
#[derive(Debug, Clone)]
pub struct EdgioCdn {
    pub client: Arc<EdgioClient>,
    pub shortname: String,
}

pub fn rule_from_instance(inst: &Instance) -> Option<RemoteRule> {
    let uuid = inst.uuid.clone()?;
    let b = &inst.body;
    Some(RemoteRule {
        uuid,
        spec: RuleSpec {
            published_host: b.published_hostname.clone(),
            published_path: b.published_url_path.clone(),
            source_host: b.source_hostname.clone(),
            source_path: b.source_url_path.clone(),
            service_profile: b.service_profile_name.clone(),
            protocol_sets: b
                .protocol_sets
                .iter()
                .map(|p| ProtocolSpec {
                    published_protocol: p.published_protocol.clone(),
                    published_port: p.published_port,
                    source_protocol: p.source_protocol.clone(),
                    source_port: p.source_port,
                    options: p
                        .options
                        .iter()
                        .map(|o| RuleOption {
                            name: o.name.clone(),
                            parameters: o.parameters.clone(),
                        })
                        .collect(),
                })
                .collect(),
        },
    })
}

pub fn instance_from_spec(shortname: &str, spec: &RuleSpec) -> Instance {
    Instance::new(
        shortname,
        InstanceBody {
            service_profile_name: spec.service_profile.clone(),
            published_hostname: spec.published_host.clone(),
            published_url_path: spec.published_path.clone(),
            source_hostname: spec.source_host.clone(),
            source_url_path: spec.source_path.clone(),
            protocol_sets: spec
                .protocol_sets
                .iter()
                .map(|p| ProtocolSet {
                    published_protocol: p.published_protocol.clone(),
                    source_protocol: p.source_protocol.clone(),
                    published_port: p.published_port,
                    source_port: p.source_port,
                    options: p
                        .options
                        .iter()
                        .map(|o| ProtocolOption {
                            name: o.name.clone(),
                            parameters: o.parameters.clone(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
    )
}

fn missing_uuid(op: &str, spec: &RuleSpec) -> ProviderError {
    ProviderError {
        provider: "edgio",
        status: None,
        retryable: true,
        not_found: false,
        conflict: false,
        message: format!(
            "edgio {op} {}{}: answer has no uuid",
            spec.published_host, spec.published_path
        ),
    }
}

#[async_trait]
impl CdnApi for EdgioCdn {
    async fn list_rules(&self) -> Result<Vec<RemoteRule>, ProviderError> {
        let all = self.client.list_all(&self.shortname).await?;
        Ok(all.iter().filter_map(rule_from_instance).collect())
    }

    async fn create_rule(&self, spec: &RuleSpec) -> Result<RemoteRule, ProviderError> {
        let inst = self
            .client
            .create(&instance_from_spec(&self.shortname, spec))
            .await?;
        rule_from_instance(&inst).ok_or_else(|| missing_uuid("create", spec))
    }

    async fn replace_rule(&self, uuid: &str, spec: &RuleSpec) -> Result<RemoteRule, ProviderError> {
        let mut body = instance_from_spec(&self.shortname, spec);
        body.uuid = Some(uuid.to_string());
        let inst = self.client.replace(uuid, &body).await?;
        let mut rule = rule_from_instance(&inst).ok_or_else(|| missing_uuid("replace", spec))?;
        rule.uuid = uuid.to_string();
        Ok(rule)
    }

    async fn delete_rule(&self, uuid: &str) -> Result<(), ProviderError> {
        self.client.delete(uuid).await?;
        Ok(())
    }
}

/// [`DnsApi`] over the Vultr DNS API for one zone.
#[derive(Debug, Clone)]
pub struct VultrDns {
    pub client: Arc<VultrClient>,
    pub zone: String,
}

fn record_from(r: &Record) -> DnsRecord {
    DnsRecord {
        id: r.id.clone(),
        name: r.name.clone(),
        record_type: r.record_type.to_ascii_uppercase(),
        data: r.data.clone(),
        ttl: r.ttl,
    }
}

#[async_trait]
impl DnsApi for VultrDns {
    async fn list_records(&self) -> Result<Vec<DnsRecord>, ProviderError> {
        Ok(self
            .client
            .list_records(&self.zone)
            .await?
            .iter()
            .map(record_from)
            .collect())
    }

    async fn create_record(&self, record: &NewDnsRecord) -> Result<DnsRecord, ProviderError> {
        let new = NewRecord::new(
            record.name.clone(),
            record.record_type.clone(),
            record.data.clone(),
        )
        .with_ttl(record.ttl);
        Ok(record_from(
            &self.client.create_record(&self.zone, &new).await?,
        ))
    }

    async fn delete_record(&self, id: &str) -> Result<(), ProviderError> {
        self.client.delete_record(&self.zone, id).await?;
        Ok(())
    }
}
