//! The zone store: domains and records as the Vultr DNS API v2 exposes them, with every validation
//! rule of the contract (`shared/specs/vultr-dns-api.md`). Pure: no IO. The HTTP API mutates it and
//! the DNS server reads the very same value, so an API change is visible in DNS at once.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::{Name, RData, RecordType as WireType};
use hickory_proto::serialize::txt::RDataParser;
use serde::{Deserialize, Serialize};

/// Name servers Vultr delegates its zones to; synthesised at the apex when a zone has no NS.
pub const VULTR_NAME_SERVERS: [&str; 2] = ["ns1.vultr.com", "ns2.vultr.com"];
/// SOA values of a new zone (what `GET /domains/{d}/soa` returns until changed).
pub const DEFAULT_SOA_NSPRIMARY: &str = "ns1.vultr.com";
pub const DEFAULT_SOA_EMAIL: &str = "dnsadm@vultr.com";
/// TTL of the records seeded by `ip` on domain create; the contract fixes it at 300.
pub const SEED_TTL: u32 = 300;
/// Largest TTL accepted (RFC 2181: TTLs are 31-bit).
const MAX_TTL: i64 = i32::MAX as i64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("Domain {0} not found")]
    DomainNotFound(String),
    #[error("Record {0} not found")]
    RecordNotFound(String),
    #[error("Domain {0} already exists")]
    DomainExists(String),
    #[error("Invalid domain name {0:?}")]
    InvalidDomain(String),
    #[error("Invalid dns_sec value {0:?}: expected \"enabled\" or \"disabled\"")]
    InvalidDnsSec(String),
    #[error("Invalid ip {0:?}: expected an IPv4 or IPv6 address")]
    InvalidSeedIp(String),
    #[error(
        "Invalid record type {0:?}: accepted types are A, AAAA, CNAME, NS, MX, SRV, TXT, CAA, SSHFP"
    )]
    InvalidType(String),
    #[error("Invalid record name {0:?}")]
    InvalidName(String),
    #[error("Record data must be enclosed in quotes")]
    TxtNotQuoted,
    #[error("Record data must not contain quotes inside the enclosing quotes")]
    TxtInnerQuotes,
    #[error("Invalid {rtype} record data {data:?}: {reason}")]
    InvalidData {
        rtype: RecordType,
        data: String,
        reason: String,
    },
    #[error("Invalid ttl {0}: expected 0 to 2147483647")]
    InvalidTtl(i64),
    #[error("Invalid priority {0}: expected 0 to 65535")]
    InvalidPriority(i64),
    #[error("priority is required for {0} records")]
    MissingPriority(RecordType),
    #[error(
        "All {rtype} records named {name:?} must share one TTL: existing records have ttl {existing}"
    )]
    TtlMismatch {
        name: String,
        rtype: RecordType,
        existing: u32,
    },
    #[error("A CNAME record cannot coexist with other records named {0:?}")]
    CnameConflict(String),
    #[error("A CNAME record cannot be created at the zone apex")]
    CnameAtApex,
    #[error("Duplicate record: a {rtype} record named {name:?} with this data already exists")]
    Duplicate { name: String, rtype: RecordType },
}

impl StoreError {
    /// The HTTP status Vultr answers with for this failure.
    pub fn status(&self) -> u16 {
        match self {
            Self::DomainNotFound(_) | Self::RecordNotFound(_) => 404,
            _ => 400,
        }
    }
}

/// The record types the API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum RecordType {
    A,
    AAAA,
    CNAME,
    NS,
    MX,
    SRV,
    TXT,
    CAA,
    SSHFP,
}

impl RecordType {
    /// Parses a submitted type; case-insensitive, as Vultr's UI and tools send either case.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        Ok(match raw.to_ascii_uppercase().as_str() {
            "A" => Self::A,
            "AAAA" => Self::AAAA,
            "CNAME" => Self::CNAME,
            "NS" => Self::NS,
            "MX" => Self::MX,
            "SRV" => Self::SRV,
            "TXT" => Self::TXT,
            "CAA" => Self::CAA,
            "SSHFP" => Self::SSHFP,
            _ => return Err(StoreError::InvalidType(raw.to_string())),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::AAAA => "AAAA",
            Self::CNAME => "CNAME",
            Self::NS => "NS",
            Self::MX => "MX",
            Self::SRV => "SRV",
            Self::TXT => "TXT",
            Self::CAA => "CAA",
            Self::SSHFP => "SSHFP",
        }
    }

    pub fn wire(self) -> WireType {
        match self {
            Self::A => WireType::A,
            Self::AAAA => WireType::AAAA,
            Self::CNAME => WireType::CNAME,
            Self::NS => WireType::NS,
            Self::MX => WireType::MX,
            Self::SRV => WireType::SRV,
            Self::TXT => WireType::TXT,
            Self::CAA => WireType::CAA,
            Self::SSHFP => WireType::SSHFP,
        }
    }

    fn has_priority(self) -> bool {
        matches!(self, Self::MX | Self::SRV)
    }
}

impl std::fmt::Display for RecordType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Soa {
    pub nsprimary: String,
    pub email: String,
}

/// A record as stored: TXT data without its quotes, plus a creation sequence number that orders
/// listings and anchors pagination cursors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    pub name: String,
    pub data: String,
    pub priority: i64,
    pub ttl: u32,
    pub seq: u64,
}

/// A record as the API shows it (TXT data quoted again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    pub name: String,
    pub data: String,
    pub priority: i64,
    pub ttl: u32,
}

impl StoredRecord {
    pub fn to_api(&self) -> ApiRecord {
        let data = match self.rtype {
            RecordType::TXT => format!("\"{}\"", self.data),
            _ => self.data.clone(),
        };
        ApiRecord {
            id: self.id.clone(),
            rtype: self.rtype,
            name: self.name.clone(),
            data,
            priority: self.priority,
            ttl: self.ttl,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub domain: String,
    pub date_created: String,
    pub dns_sec: String,
    pub soa: Soa,
    /// SOA serial; bumped on every change so DNS observers can tell the zone moved.
    pub serial: u32,
    pub seq: u64,
    pub records: Vec<StoredRecord>,
}

/// A domain as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiDomain {
    pub domain: String,
    pub date_created: String,
    pub dns_sec: String,
}

impl Domain {
    pub fn to_api(&self) -> ApiDomain {
        ApiDomain {
            domain: self.domain.clone(),
            date_created: self.date_created.clone(),
            dns_sec: self.dns_sec.clone(),
        }
    }

    pub fn record(&self, id: &str) -> Result<&StoredRecord, StoreError> {
        self.records
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| StoreError::RecordNotFound(id.to_string()))
    }

    fn bump_serial(&mut self) {
        self.serial = self.serial.wrapping_add(1);
    }
}

/// What `POST /domains` carries.
#[derive(Debug, Clone, Default)]
pub struct NewDomain {
    pub domain: String,
    pub ip: Option<String>,
    pub dns_sec: Option<String>,
}

/// What `POST /domains/{d}/records` carries.
#[derive(Debug, Clone, Default)]
pub struct NewRecord {
    pub name: String,
    pub rtype: String,
    pub data: String,
    pub ttl: Option<i64>,
    pub priority: Option<i64>,
}

/// What `PATCH /domains/{d}/records/{id}` carries: absent fields keep their value.
#[derive(Debug, Clone, Default)]
pub struct RecordPatch {
    pub name: Option<String>,
    pub data: Option<String>,
    pub ttl: Option<i64>,
    pub priority: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Store {
    pub domains: Vec<Domain>,
    pub next_seq: u64,
}

impl Store {
    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    pub fn domain(&self, name: &str) -> Result<&Domain, StoreError> {
        let key = domain_key(name);
        self.domains
            .iter()
            .find(|d| d.domain == key)
            .ok_or_else(|| StoreError::DomainNotFound(name.to_string()))
    }

    fn domain_mut(&mut self, name: &str) -> Result<&mut Domain, StoreError> {
        let key = domain_key(name);
        self.domains
            .iter_mut()
            .find(|d| d.domain == key)
            .ok_or_else(|| StoreError::DomainNotFound(name.to_string()))
    }

    /// Creates a zone; with `ip`, seeds it the way Vultr does (apex A/AAAA, `*` CNAME, apex MX and
    /// NS). `now` is the RFC 3339 creation time and `serial` the initial SOA serial.
    pub fn create_domain(
        &mut self,
        new: NewDomain,
        now: &str,
        serial: u32,
    ) -> Result<ApiDomain, StoreError> {
        let zone = normalize_domain(&new.domain)?;
        if self.domains.iter().any(|d| d.domain == zone) {
            return Err(StoreError::DomainExists(zone));
        }
        let dns_sec = match new.dns_sec.as_deref() {
            None | Some("disabled") => "disabled",
            Some("enabled") => "enabled",
            Some(other) => return Err(StoreError::InvalidDnsSec(other.to_string())),
        };
        let seed_ip = match new.ip.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(
                raw.parse::<IpAddr>()
                    .map_err(|_| StoreError::InvalidSeedIp(raw.to_string()))?,
            ),
        };
        let seq = self.take_seq();
        let mut domain = Domain {
            domain: zone.clone(),
            date_created: now.to_string(),
            dns_sec: dns_sec.to_string(),
            soa: Soa {
                nsprimary: DEFAULT_SOA_NSPRIMARY.to_string(),
                email: DEFAULT_SOA_EMAIL.to_string(),
            },
            serial,
            seq,
            records: Vec::new(),
        };
        if let Some(ip) = seed_ip {
            let apex_type = if ip.is_ipv4() {
                RecordType::A
            } else {
                RecordType::AAAA
            };
            let mut seeds = vec![
                (apex_type, "", ip.to_string(), -1),
                (RecordType::CNAME, "*", zone.clone(), -1),
                (RecordType::MX, "", zone.clone(), 10),
            ];
            for ns in VULTR_NAME_SERVERS {
                seeds.push((RecordType::NS, "", ns.to_string(), -1));
            }
            for (rtype, name, data, priority) in seeds {
                let seq = self.take_seq();
                domain.records.push(StoredRecord {
                    id: new_id(),
                    rtype,
                    name: name.to_string(),
                    data,
                    priority,
                    ttl: SEED_TTL,
                    seq,
                });
            }
        }
        let api = domain.to_api();
        self.domains.push(domain);
        Ok(api)
    }

    pub fn delete_domain(&mut self, name: &str) -> Result<(), StoreError> {
        let key = domain_key(name);
        let before = self.domains.len();
        self.domains.retain(|d| d.domain != key);
        if self.domains.len() == before {
            return Err(StoreError::DomainNotFound(name.to_string()));
        }
        Ok(())
    }

    /// `PUT /domains/{d}`: only `dns_sec` can change.
    pub fn update_domain(&mut self, name: &str, dns_sec: &str) -> Result<(), StoreError> {
        let value = match dns_sec {
            "enabled" | "disabled" => dns_sec,
            other => return Err(StoreError::InvalidDnsSec(other.to_string())),
        };
        let domain = self.domain_mut(name)?;
        domain.dns_sec = value.to_string();
        Ok(())
    }

    /// `PATCH /domains/{d}/soa`: absent fields keep their value.
    pub fn update_soa(
        &mut self,
        name: &str,
        nsprimary: Option<String>,
        email: Option<String>,
    ) -> Result<(), StoreError> {
        let domain = self.domain_mut(name)?;
        if let Some(ns) = nsprimary {
            domain.soa.nsprimary = ns;
        }
        if let Some(email) = email {
            domain.soa.email = email;
        }
        domain.bump_serial();
        Ok(())
    }

    pub fn create_record(
        &mut self,
        zone: &str,
        new: NewRecord,
        default_ttl: u32,
    ) -> Result<ApiRecord, StoreError> {
        let zone_name = self.domain(zone)?.domain.clone();
        let rtype = RecordType::parse(&new.rtype)?;
        let name = normalize_name(&new.name, &zone_name)?;
        let data = validate_data(rtype, &new.data)?;
        let ttl = match new.ttl {
            Some(ttl) => validate_ttl(ttl)?,
            None => default_ttl,
        };
        let priority = if rtype.has_priority() {
            validate_priority(new.priority.ok_or(StoreError::MissingPriority(rtype))?)?
        } else {
            -1
        };
        let seq = self.take_seq();
        let candidate = StoredRecord {
            id: new_id(),
            rtype,
            name,
            data,
            priority,
            ttl,
            seq,
        };
        let domain = self.domain_mut(zone)?;
        check_against_zone(&domain.records, &candidate)?;
        let api = candidate.to_api();
        domain.records.push(candidate);
        domain.bump_serial();
        Ok(api)
    }

    pub fn update_record(
        &mut self,
        zone: &str,
        id: &str,
        patch: RecordPatch,
    ) -> Result<(), StoreError> {
        let domain = self.domain_mut(zone)?;
        let current = domain.record(id)?.clone();
        let mut updated = current.clone();
        if let Some(name) = patch.name {
            updated.name = normalize_name(&name, &domain.domain)?;
        }
        if let Some(data) = patch.data {
            updated.data = validate_data(updated.rtype, &data)?;
        }
        if let Some(ttl) = patch.ttl {
            updated.ttl = validate_ttl(ttl)?;
        }
        if let Some(priority) = patch.priority
            && updated.rtype.has_priority()
        {
            updated.priority = validate_priority(priority)?;
        }
        if updated == current {
            return Ok(());
        }
        check_against_zone(&domain.records, &updated)?;
        if let Some(slot) = domain.records.iter_mut().find(|r| r.id == id) {
            *slot = updated;
        }
        domain.bump_serial();
        Ok(())
    }

    pub fn delete_record(&mut self, zone: &str, id: &str) -> Result<(), StoreError> {
        let domain = self.domain_mut(zone)?;
        let before = domain.records.len();
        domain.records.retain(|r| r.id != id);
        if domain.records.len() == before {
            return Err(StoreError::RecordNotFound(id.to_string()));
        }
        domain.bump_serial();
        Ok(())
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// How a zone is looked up: case-insensitive, a trailing dot ignored.
fn domain_key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Validates a zone name: at least two labels of letters, digits and hyphens.
pub fn normalize_domain(raw: &str) -> Result<String, StoreError> {
    let zone = domain_key(raw);
    let labels: Vec<&str> = zone.split('.').collect();
    let valid = zone.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(zone)
    } else {
        Err(StoreError::InvalidDomain(raw.to_string()))
    }
}

/// Turns a submitted record name into the stored relative form: lower case, the apex as `""`
/// (`"@"` is accepted as the apex, the zone-file convention), an FQDN ending in `.<zone>` (with or
/// without the final dot) made relative. Labels may hold letters, digits, `-` and `_`; `*` may only
/// be the whole leftmost label.
pub fn normalize_name(raw: &str, zone: &str) -> Result<String, StoreError> {
    let invalid = || StoreError::InvalidName(raw.to_string());
    let lowered = raw.to_ascii_lowercase();
    let trimmed = lowered.strip_suffix('.').unwrap_or(&lowered);
    let relative = if trimmed == "@" || trimmed == zone {
        ""
    } else if let Some(prefix) = trimmed.strip_suffix(zone)
        && let Some(prefix) = prefix.strip_suffix('.')
    {
        prefix
    } else {
        trimmed
    };
    if relative.is_empty() {
        return Ok(String::new());
    }
    if relative.len() + zone.len() + 1 > 253 {
        return Err(invalid());
    }
    for (index, label) in relative.split('.').enumerate() {
        let ok = if label == "*" {
            index == 0
        } else {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !ok {
            return Err(invalid());
        }
    }
    Ok(relative.to_string())
}

fn validate_ttl(ttl: i64) -> Result<u32, StoreError> {
    if (0..=MAX_TTL).contains(&ttl) {
        u32::try_from(ttl).map_err(|_| StoreError::InvalidTtl(ttl))
    } else {
        Err(StoreError::InvalidTtl(ttl))
    }
}

fn validate_priority(priority: i64) -> Result<i64, StoreError> {
    if (0..=i64::from(u16::MAX)).contains(&priority) {
        Ok(priority)
    } else {
        Err(StoreError::InvalidPriority(priority))
    }
}

/// Validates record data and returns the stored form (TXT loses its enclosing quotes).
pub fn validate_data(rtype: RecordType, raw: &str) -> Result<String, StoreError> {
    let invalid = |reason: &str| StoreError::InvalidData {
        rtype,
        data: raw.to_string(),
        reason: reason.to_string(),
    };
    match rtype {
        RecordType::A => {
            raw.parse::<Ipv4Addr>()
                .map_err(|_| invalid("not an IPv4 address"))?;
        }
        RecordType::AAAA => {
            raw.parse::<Ipv6Addr>()
                .map_err(|_| invalid("not an IPv6 address"))?;
        }
        RecordType::CNAME | RecordType::NS | RecordType::MX => {
            hostname(raw).ok_or_else(|| invalid("not a host name"))?;
        }
        RecordType::SRV => {
            parse_srv(raw).ok_or_else(|| invalid("expected \"<weight> <port> <target>\""))?;
        }
        RecordType::TXT => return unquote_txt(raw),
        RecordType::CAA | RecordType::SSHFP => {
            RData::try_from_str(rtype.wire(), raw).map_err(|e| invalid(&e.to_string()))?;
        }
    }
    Ok(raw.to_string())
}

/// TXT data must arrive wrapped in double quotes, with no quote inside.
fn unquote_txt(raw: &str) -> Result<String, StoreError> {
    let inner = raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or(StoreError::TxtNotQuoted)?;
    if inner.contains('"') {
        return Err(StoreError::TxtInnerQuotes);
    }
    Ok(inner.to_string())
}

/// Parses a host name as an absolute DNS name (Vultr data never carries the final dot).
pub fn hostname(raw: &str) -> Option<Name> {
    let bare = raw.strip_suffix('.').unwrap_or(raw);
    let ok = !bare.is_empty()
        && bare.len() <= 253
        && bare.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !ok {
        return None;
    }
    Name::from_ascii(format!("{bare}.")).ok()
}

/// SRV data on Vultr is `weight port target`; the priority is its own field.
pub fn parse_srv(raw: &str) -> Option<(u16, u16, Name)> {
    let mut parts = raw.split_whitespace();
    let weight = parts.next()?.parse().ok()?;
    let port = parts.next()?.parse().ok()?;
    let target = hostname(parts.next()?)?;
    if parts.next().is_some() {
        return None;
    }
    Some((weight, port, target))
}

/// The key under which two data values count as the same (for duplicate detection).
fn data_key(rtype: RecordType, data: &str) -> String {
    match rtype {
        RecordType::A | RecordType::AAAA => data
            .parse::<IpAddr>()
            .map(|ip| ip.to_string())
            .unwrap_or_else(|_| data.to_string()),
        RecordType::CNAME | RecordType::NS | RecordType::MX => {
            data.trim_end_matches('.').to_ascii_lowercase()
        }
        _ => data.to_string(),
    }
}

/// The zone-wide rules a new or changed record must satisfy against the other records.
fn check_against_zone(
    records: &[StoredRecord],
    candidate: &StoredRecord,
) -> Result<(), StoreError> {
    if candidate.rtype == RecordType::CNAME && candidate.name.is_empty() {
        return Err(StoreError::CnameAtApex);
    }
    let same_name = records
        .iter()
        .filter(|r| r.id != candidate.id && r.name == candidate.name);
    let key = data_key(candidate.rtype, &candidate.data);
    for other in same_name {
        let same_type = other.rtype == candidate.rtype;
        let same_data = same_type && data_key(other.rtype, &other.data) == key;
        let either_cname = candidate.rtype == RecordType::CNAME || other.rtype == RecordType::CNAME;
        // Two different CNAMEs at one name are as invalid as a CNAME beside other data.
        if either_cname && !same_data {
            return Err(StoreError::CnameConflict(candidate.name.clone()));
        }
        if !same_type {
            continue;
        }
        if same_data {
            return Err(StoreError::Duplicate {
                name: candidate.name.clone(),
                rtype: candidate.rtype,
            });
        }
        if other.ttl != candidate.ttl {
            return Err(StoreError::TtlMismatch {
                name: candidate.name.clone(),
                rtype: candidate.rtype,
                existing: other.ttl,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_zone() -> Store {
        let mut store = Store::default();
        store
            .create_domain(
                NewDomain {
                    domain: "example.com".into(),
                    ..Default::default()
                },
                "2026-01-01T00:00:00+00:00",
                1,
            )
            .unwrap();
        store
    }

    fn record(name: &str, rtype: &str, data: &str, ttl: Option<i64>) -> NewRecord {
        NewRecord {
            name: name.into(),
            rtype: rtype.into(),
            data: data.into(),
            ttl,
            priority: None,
        }
    }

    #[test]
    fn names_are_normalised_to_the_relative_form() {
        let cases = [
            ("", ""),
            ("@", ""),
            ("example.com", ""),
            ("example.com.", ""),
            ("WWW", "www"),
            ("www.example.com", "www"),
            ("www.example.com.", "www"),
            ("*", "*"),
            ("*.sub", "*.sub"),
            ("_sip._tcp", "_sip._tcp"),
            ("a.b.c", "a.b.c"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_name(raw, "example.com").unwrap(), want, "{raw:?}");
        }
    }

    proptest::proptest! {
        /// Normalising is idempotent, and the FQDN form of a relative name normalises back to it.
        #[test]
        fn normalised_names_are_stable(labels in proptest::collection::vec("[a-zA-Z0-9_-]{1,10}", 0..4)) {
            let raw = labels.join(".");
            let once = normalize_name(&raw, "example.com").unwrap();
            proptest::prop_assert_eq!(&normalize_name(&once, "example.com").unwrap(), &once);
            let fqdn = if once.is_empty() {
                "example.com.".to_string()
            } else {
                format!("{once}.example.com.")
            };
            proptest::prop_assert_eq!(normalize_name(&fqdn, "example.com").unwrap(), once);
        }
    }

    #[test]
    fn malformed_names_are_rejected() {
        for raw in ["a b", "a..b", "sub.*", "a*", "x/y", ".www", &"a".repeat(64)] {
            assert!(
                matches!(
                    normalize_name(raw, "example.com"),
                    Err(StoreError::InvalidName(_))
                ),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn txt_quoting_rules_hold() {
        assert_eq!(validate_data(RecordType::TXT, "\"a b\"").unwrap(), "a b");
        assert_eq!(validate_data(RecordType::TXT, "\"\"").unwrap(), "");
        assert_eq!(
            validate_data(RecordType::TXT, "\"open"),
            Err(StoreError::TxtNotQuoted)
        );
        assert_eq!(
            validate_data(RecordType::TXT, "close\""),
            Err(StoreError::TxtNotQuoted)
        );
        assert_eq!(
            validate_data(RecordType::TXT, "bare"),
            Err(StoreError::TxtNotQuoted)
        );
        assert_eq!(
            validate_data(RecordType::TXT, "\"in\"ner\""),
            Err(StoreError::TxtInnerQuotes)
        );
    }

    #[test]
    fn data_is_validated_per_type() {
        let ok = [
            (RecordType::A, "192.0.2.1"),
            (RecordType::AAAA, "2001:db8::1"),
            (RecordType::CNAME, "target.example.net"),
            (RecordType::NS, "ns1.example.net."),
            (RecordType::MX, "mail.example.com"),
            (RecordType::SRV, "5 5060 sip.example.com"),
            (RecordType::CAA, "0 issue \"letsencrypt.org\""),
            (
                RecordType::SSHFP,
                "1 1 0123456789abcdef0123456789abcdef01234567",
            ),
        ];
        for (rtype, data) in ok {
            assert!(validate_data(rtype, data).is_ok(), "{rtype} {data}");
        }
        let bad = [
            (RecordType::A, "2001:db8::1"),
            (RecordType::A, "192.0.2"),
            (RecordType::AAAA, "192.0.2.1"),
            (RecordType::CNAME, "not a host"),
            (RecordType::MX, ""),
            (RecordType::SRV, "5 sip.example.com"),
            (RecordType::CAA, "nonsense"),
            (RecordType::SSHFP, "1 1 nothex"),
        ];
        for (rtype, data) in bad {
            assert!(
                matches!(
                    validate_data(rtype, data),
                    Err(StoreError::InvalidData { .. })
                ),
                "{rtype} {data}"
            );
        }
    }

    #[test]
    fn round_robin_records_must_share_one_ttl() {
        let mut store = store_with_zone();
        store
            .create_record(
                "example.com",
                record("origin", "A", "192.0.2.1", Some(60)),
                300,
            )
            .unwrap();
        let err = store
            .create_record("example.com", record("origin", "A", "192.0.2.2", None), 300)
            .unwrap_err();
        assert!(matches!(err, StoreError::TtlMismatch { existing: 60, .. }));
        store
            .create_record(
                "example.com",
                record("origin", "A", "192.0.2.2", Some(60)),
                300,
            )
            .unwrap();
        // A different type at the same name has its own TTL.
        store
            .create_record(
                "example.com",
                record("origin", "AAAA", "2001:db8::1", None),
                300,
            )
            .unwrap();
    }

    #[test]
    fn cname_is_exclusive_and_not_at_the_apex() {
        let mut store = store_with_zone();
        store
            .create_record("example.com", record("www", "A", "192.0.2.1", None), 300)
            .unwrap();
        assert_eq!(
            store.create_record(
                "example.com",
                record("www", "CNAME", "x.example.net", None),
                300
            ),
            Err(StoreError::CnameConflict("www".into()))
        );
        store
            .create_record(
                "example.com",
                record("alias", "CNAME", "x.example.net", None),
                300,
            )
            .unwrap();
        assert_eq!(
            store.create_record(
                "example.com",
                record("alias", "CNAME", "y.example.net", None),
                300
            ),
            Err(StoreError::CnameConflict("alias".into()))
        );
        assert_eq!(
            store.create_record("example.com", record("alias", "TXT", "\"x\"", None), 300),
            Err(StoreError::CnameConflict("alias".into()))
        );
        assert_eq!(
            store.create_record(
                "example.com",
                record("", "CNAME", "x.example.net", None),
                300
            ),
            Err(StoreError::CnameAtApex)
        );
    }

    #[test]
    fn exact_duplicates_are_rejected() {
        let mut store = store_with_zone();
        store
            .create_record("example.com", record("www", "A", "192.0.2.1", None), 300)
            .unwrap();
        assert!(matches!(
            store.create_record(
                "example.com",
                record("WWW.example.com", "A", "192.0.2.1", None),
                300
            ),
            Err(StoreError::Duplicate { .. })
        ));
    }

    #[test]
    fn priority_is_kept_only_for_mx_and_srv() {
        let mut store = store_with_zone();
        let mut mx = record("", "MX", "mail.example.com", None);
        assert_eq!(
            store.create_record("example.com", mx.clone(), 300),
            Err(StoreError::MissingPriority(RecordType::MX))
        );
        mx.priority = Some(10);
        assert_eq!(
            store
                .create_record("example.com", mx, 300)
                .unwrap()
                .priority,
            10
        );
        let mut a = record("www", "A", "192.0.2.1", None);
        a.priority = Some(10);
        assert_eq!(
            store.create_record("example.com", a, 300).unwrap().priority,
            -1
        );
    }

    #[test]
    fn patch_keeps_absent_fields_and_moves_to_apex_on_empty_name() {
        let mut store = store_with_zone();
        let created = store
            .create_record(
                "example.com",
                record("www", "TXT", "\"v=1\"", Some(120)),
                300,
            )
            .unwrap();
        store
            .update_record(
                "example.com",
                &created.id,
                RecordPatch {
                    name: Some(String::new()),
                    ..Default::default()
                },
            )
            .unwrap();
        let stored = store
            .domain("example.com")
            .unwrap()
            .record(&created.id)
            .unwrap();
        assert_eq!(stored.name, "");
        assert_eq!(stored.data, "v=1");
        assert_eq!(stored.ttl, 120);
        assert_eq!(stored.rtype, RecordType::TXT);
    }

    #[test]
    fn ip_seeds_the_documented_records() {
        let mut store = Store::default();
        store
            .create_domain(
                NewDomain {
                    domain: "seeded.test".into(),
                    ip: Some("192.0.2.7".into()),
                    dns_sec: None,
                },
                "2026-01-01T00:00:00+00:00",
                1,
            )
            .unwrap();
        let mut got: Vec<(String, RecordType, String, i64, u32)> = store
            .domain("seeded.test")
            .unwrap()
            .records
            .iter()
            .map(|r| (r.name.clone(), r.rtype, r.data.clone(), r.priority, r.ttl))
            .collect();
        got.sort_by(|a, b| (a.1.as_str(), &a.2).cmp(&(b.1.as_str(), &b.2)));
        assert_eq!(
            got,
            vec![
                ("".into(), RecordType::A, "192.0.2.7".into(), -1, 300),
                ("*".into(), RecordType::CNAME, "seeded.test".into(), -1, 300),
                ("".into(), RecordType::MX, "seeded.test".into(), 10, 300),
                ("".into(), RecordType::NS, "ns1.vultr.com".into(), -1, 300),
                ("".into(), RecordType::NS, "ns2.vultr.com".into(), -1, 300),
            ]
        );
    }
}
