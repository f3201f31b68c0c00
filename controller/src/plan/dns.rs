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
    let fqdn_hint = if origin.is_empty() {
        "@".to_string()
    } else {
        origin.clone()
    };
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
    let a_records: Vec<&DnsRecord> = at_origin
        .iter()
        .copied()
        .filter(|r| r.record_type == "A")
        .collect();
    let mut plan = DnsPlan::default();

    if ours.is_empty() {
        if !wanted {
            return Ok(plan);
        }
        if let Some(other) = owner_txts.iter().find_map(|r| txt_owner(&r.data)) {
            return Err(PlanError::DnsOwnedByOther {
                name: fqdn_hint,
                owner: other,
            });
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
    plan.deletes
        .extend(ours.iter().skip(1).map(|r| (*r).clone()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::settings;

    fn rec(id: &str, name: &str, t: &str, data: &str) -> DnsRecord {
        DnsRecord {
            id: id.into(),
            name: name.into(),
            record_type: t.into(),
            data: data.into(),
            ttl: 60,
        }
    }

    fn ips(v: &[&str]) -> Vec<Ipv4Addr> {
        v.iter().filter_map(|s| s.parse().ok()).collect()
    }

    fn txt(owner: &str) -> DnsRecord {
        rec(
            "t1",
            "_edgio-ingress-owner.origin",
            "TXT",
            &format!("heritage=edgio-ingress,edgio-ingress/owner={owner}"),
        )
    }

    fn summary(plan: &DnsPlan) -> (Vec<String>, Vec<String>) {
        (
            plan.creates
                .iter()
                .map(|c| format!("{} {} {}", c.record_type, c.name, c.data))
                .collect(),
            plan.deletes.iter().map(|d| d.id.clone()).collect(),
        )
    }

    #[test]
    fn free_name_gets_the_ownership_txt_first_then_one_a_record_per_address() {
        let s = settings("cluster-a").dns;
        let plan = plan_dns(true, &ips(&["10.0.0.2", "10.0.0.1"]), &[], &s).expect("plan");
        assert_eq!(
            summary(&plan).0,
            vec![
                "TXT _edgio-ingress-owner.origin heritage=edgio-ingress,edgio-ingress/owner=cluster-a",
                "A origin 10.0.0.2",
                "A origin 10.0.0.1",
            ]
        );
    }

    #[test]
    fn owned_name_follows_the_nodes_creating_before_deleting() {
        let s = settings("cluster-a").dns;
        let records = [
            txt("cluster-a"),
            rec("a1", "origin", "A", "10.0.0.1"),
            rec("a2", "origin", "A", "10.0.0.2"),
        ];
        let plan = plan_dns(true, &ips(&["10.0.0.2", "10.0.0.3"]), &records, &s).expect("plan");
        assert_eq!(
            summary(&plan),
            (
                vec!["A origin 10.0.0.3".to_string()],
                vec!["a1".to_string()]
            )
        );
        let same = plan_dns(true, &ips(&["10.0.0.1", "10.0.0.2"]), &records, &s).expect("plan");
        assert!(same.is_empty());
    }

    #[test]
    fn unwanted_owned_name_deletes_a_records_before_its_txt() {
        let s = settings("cluster-a").dns;
        let records = [
            txt("cluster-a"),
            rec("a1", "origin", "A", "10.0.0.1"),
            rec("x", "www", "A", "10.9.9.9"),
        ];
        let plan = plan_dns(false, &ips(&["10.0.0.1"]), &records, &s).expect("plan");
        assert_eq!(
            summary(&plan),
            (vec![], vec!["a1".to_string(), "t1".to_string()])
        );
    }

    #[test]
    fn records_without_our_txt_are_someone_elses_and_refused() {
        let s = settings("cluster-a").dns;
        let hand = [rec("h", "origin", "A", "203.0.113.9")];
        assert_eq!(
            plan_dns(true, &ips(&["10.0.0.1"]), &hand, &s).map_err(|e| e.reason()),
            Err("DnsNameTaken")
        );
        let other = [txt("cluster-b"), rec("b1", "origin", "A", "10.1.0.1")];
        assert_eq!(
            plan_dns(true, &ips(&["10.0.0.1"]), &other, &s).map_err(|e| e.reason()),
            Err("DnsOwnedByOther")
        );
        // Not wanted: nothing to refuse, nothing touched.
        assert!(plan_dns(false, &[], &hand, &s).expect("plan").is_empty());
        assert!(plan_dns(false, &[], &other, &s).expect("plan").is_empty());
    }

    #[test]
    fn no_node_address_keeps_the_current_records_so_the_name_still_resolves() {
        let s = settings("cluster-a").dns;
        let records = [txt("cluster-a"), rec("a1", "origin", "A", "10.0.0.1")];
        let plan = plan_dns(true, &[], &records, &s).expect("plan");
        assert!(plan.is_empty());
        assert!(plan.no_addresses);
    }

    #[test]
    fn new_addresses_reuse_the_ttl_the_name_already_has() {
        let s = settings("cluster-a").dns;
        let mut a = rec("a1", "origin", "A", "10.0.0.1");
        a.ttl = 300;
        let plan = plan_dns(
            true,
            &ips(&["10.0.0.1", "10.0.0.2"]),
            &[txt("cluster-a"), a],
            &s,
        )
        .expect("plan");
        assert_eq!(plan.creates[0].ttl, 300);
    }

    #[test]
    fn txt_owner_parses_only_our_heritage() {
        assert_eq!(
            txt_owner("heritage=edgio-ingress,edgio-ingress/owner=x"),
            Some("x".into())
        );
        assert_eq!(
            txt_owner("\"heritage=edgio-ingress,edgio-ingress/owner=x\""),
            Some("x".into())
        );
        assert_eq!(
            txt_owner("heritage=external-dns,external-dns/owner=x"),
            None
        );
        assert_eq!(txt_owner("v=spf1 -all"), None);
    }

    #[test]
    fn relative_names_inside_and_outside_the_zone() {
        assert_eq!(
            relative_name("origin.example.com", "example.com"),
            Some("origin".into())
        );
        assert_eq!(
            relative_name("Example.com.", "example.com"),
            Some(String::new())
        );
        assert_eq!(relative_name("origin.example.org", "example.com"), None);
        assert_eq!(relative_name("badexample.com", "example.com"), None);
    }
}
