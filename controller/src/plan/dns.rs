//! The origin name's round-robin A records and their ownership TXT record.
//!
//! Ownership (external-dns style): the TXT record `_edgio-ingress-owner.<origin>` holds
//! `heritage=edgio-ingress,edgio-ingress/owner=<owner-id>`. We manage the A records at the origin
//! name only while that TXT names our owner id; a name with records but no TXT, or a TXT naming
//! another owner, is someone else's and is never touched.

use std::net::Ipv4Addr;

use super::model::{DnsRecord, NewDnsRecord};
use super::{OwnerId, PlanError};
use crate::names::{DNS_OWNER_LABEL, HERITAGE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSettings {
    pub owner_id: OwnerId,
    /// Origin name relative to the zone (`origin` for `origin.example.com` in `example.com`).
    pub origin_name: String,
    /// TTL for records we create when none exist yet.
    pub ttl: u32,
}

impl DnsSettings {
    /// Relative name of the ownership TXT record.
    pub fn owner_record_name(&self) -> String {
        if self.origin_name.is_empty() {
            DNS_OWNER_LABEL.to_string()
        } else {
            format!("{DNS_OWNER_LABEL}.{}", self.origin_name)
        }
    }

    pub fn owner_record_data(&self) -> String {
        format!("heritage={HERITAGE},{HERITAGE}/owner={}", self.owner_id)
    }
}

/// Relative name of `fqdn` inside `zone`, or `None` when it is not in the zone.
pub fn relative_name(fqdn: &str, zone: &str) -> Option<String> {
    let fqdn = fqdn.trim_end_matches('.').to_ascii_lowercase();
    let zone = zone.trim_end_matches('.').to_ascii_lowercase();
    if fqdn == zone {
        return Some(String::new());
    }
    fqdn.strip_suffix(&format!(".{zone}")).map(str::to_string)
}

/// The owner id named by an ownership TXT value, if it is one of ours (any owner).
pub fn txt_owner(data: &str) -> Option<String> {
    let data = data.trim().trim_matches('"');
    let mut heritage = false;
    let mut owner = None;
    for part in data.split(',') {
        let part = part.trim();
        if part == format!("heritage={HERITAGE}") {
            heritage = true;
        } else if let Some(o) = part.strip_prefix(&format!("{HERITAGE}/owner=")) {
            owner = Some(o.to_string());
        }
    }
    if heritage { owner } else { None }
}

/// Ordered DNS changes: apply `creates` in order (ownership TXT first), then `deletes` in order
/// (A records first, the TXT last), so the name is never left without addresses while we hold it
/// and never holds our addresses without our TXT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsPlan {
    pub creates: Vec<NewDnsRecord>,
    pub deletes: Vec<DnsRecord>,
    /// Records are wanted but no node address is known: the current A records are kept.
    pub no_addresses: bool,
}

impl DnsPlan {
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.deletes.is_empty()
    }

    pub fn writes(&self) -> usize {
        self.creates.len() + self.deletes.len()
    }
}

/// Plans the origin records. `wanted` is true while any rule of ours uses the origin name.
pub fn plan_dns(
    wanted: bool,
    addresses: &[Ipv4Addr],
    records: &[DnsRecord],
    settings: &DnsSettings,
) -> Result<DnsPlan, PlanError> {
    let owner_name = settings.owner_record_name();
    let origin = &settings.origin_name;
    let fqdn_hint = if origin.is_empty() { "@".to_string() } else { origin.clone() };
    let owner_txts: Vec<&DnsRecord> = records
        .iter()
        .filter(|r| r.name == owner_name && r.record_type == "TXT")
        .collect();
    let ours: Vec<&DnsRecord> = owner_txts
        .iter()
        .copied()
        .filter(|r| txt_owner(&r.data).as_deref() == Some(settings.owner_id.as_str()))
        .collect();
    let at_origin: Vec<&DnsRecord> = records
        .iter()
        .filter(|r| &r.name == origin && matches!(r.record_type.as_str(), "A" | "AAAA" | "CNAME"))
        .collect();
    let a_records: Vec<&DnsRecord> = at_origin.iter().copied().filter(|r| r.record_type == "A").collect();
    let mut plan = DnsPlan::default();

    if ours.is_empty() {
        if !wanted {
            return Ok(plan);
        }
        if let Some(other) = owner_txts.iter().find_map(|r| txt_owner(&r.data)) {
            return Err(PlanError::DnsOwnedByOther { name: fqdn_hint, owner: other });
        }
        if !at_origin.is_empty() {
            return Err(PlanError::DnsNameTaken { name: fqdn_hint });
        }
        if addresses.is_empty() {
            plan.no_addresses = true;
            return Ok(plan);
        }
        plan.creates.push(NewDnsRecord {
            name: owner_name,
            record_type: "TXT".into(),
            data: settings.owner_record_data(),
            ttl: settings.ttl,
        });
        for a in addresses {
            plan.creates.push(NewDnsRecord {
                name: origin.clone(),
                record_type: "A".into(),
                data: a.to_string(),
                ttl: settings.ttl,
            });
        }
        return Ok(plan);
    }

    if !wanted {
        plan.deletes.extend(a_records.iter().map(|r| (*r).clone()));
        plan.deletes.extend(ours.iter().map(|r| (*r).clone()));
        return Ok(plan);
    }

    // Extra copies of our TXT (e.g. from a crash between create and list) are harmless but untidy.
    plan.deletes.extend(ours.iter().skip(1).map(|r| (*r).clone()));
    if addresses.is_empty() {
        plan.no_addresses = true;
        return Ok(plan);
    }
    // Round-robin records of one name must share a TTL: keep whatever the name already uses.
    let ttl = a_records.first().map(|r| r.ttl).unwrap_or(settings.ttl);
    let mut seen: Vec<Ipv4Addr> = Vec::new();
    let mut stale: Vec<DnsRecord> = Vec::new();
    for r in &a_records {
        match r.data.parse::<Ipv4Addr>() {
            Ok(ip) if addresses.contains(&ip) && !seen.contains(&ip) => seen.push(ip),
            _ => stale.push((*r).clone()),
        }
    }
    for a in addresses.iter().filter(|a| !seen.contains(a)) {
        plan.creates.push(NewDnsRecord {
            name: origin.clone(),
            record_type: "A".into(),
            data: a.to_string(),
            ttl,
        });
    }
    // Stale A records go after the creates, and before the extra TXT copies.
    stale.append(&mut plan.deletes);
    plan.deletes = stale;
    Ok(plan)
}
