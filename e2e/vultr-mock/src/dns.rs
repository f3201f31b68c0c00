//! The authoritative DNS server: answers from the very store the API mutates (no copy, so an API
//! change is visible at once). `answer` is pure; `DnsHandler` plugs it into hickory-server, which
//! owns the UDP/TCP listeners, truncation and FORMERR answers to malformed packets.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, RwLock};

use hickory_proto::op::{Edns, Header, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType as WireType};
use hickory_proto::serialize::txt::RDataParser;
use hickory_server::authority::MessageResponseBuilder;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};

use crate::store::{
    Domain, RecordType, Store, StoredRecord, VULTR_NAME_SERVERS, hostname, parse_srv,
};

/// SOA timers (Vultr's values) and a short negative-caching TTL, so a resolver that asked before a
/// record existed sees it soon after it is created.
const SOA_REFRESH: i32 = 7_200;
const SOA_RETRY: i32 = 3_600;
const SOA_EXPIRE: i32 = 1_209_600;
const SOA_MINIMUM: u32 = 30;
const APEX_TTL: u32 = 300;
/// Longest CNAME chain followed inside served zones.
const MAX_CNAME_HOPS: usize = 8;

/// One response, before it is put on the wire.
#[derive(Debug, Default)]
pub struct Answer {
    pub rcode: ResponseCode,
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
}

/// Answers one question from the store.
pub fn answer(store: &Store, qname: &Name, qtype: WireType) -> Answer {
    let mut owner = qname.clone();
    let refused = Answer {
        rcode: ResponseCode::Refused,
        ..Answer::default()
    };
    // Zone transfers are not offered (Vultr does not offer them to the public either).
    if matches!(qtype, WireType::AXFR | WireType::IXFR) {
        return refused;
    }
    let Some(mut zone) = zone_for(store, &owner) else {
        return refused;
    };
    let mut out = Answer {
        rcode: ResponseCode::NoError,
        authoritative: true,
        ..Answer::default()
    };
    for _ in 0..MAX_CNAME_HOPS {
        let rel = relative(zone, &owner);
        let Some(node) = lookup_node(zone, &rel) else {
            out.rcode = ResponseCode::NXDomain;
            break;
        };
        let rrs = node_records(zone, &rel, &node, &owner);
        let matching: Vec<Record> = rrs
            .iter()
            .filter(|r| qtype == WireType::ANY || r.record_type() == qtype)
            .cloned()
            .collect();
        if !matching.is_empty() {
            out.answers.extend(matching);
            return out;
        }
        let cname = rrs.iter().find(|r| r.record_type() == WireType::CNAME);
        let Some(cname) = cname else {
            break; // NODATA
        };
        out.answers.push(cname.clone());
        let RData::CNAME(CNAME(target)) = cname.data() else {
            return out;
        };
        let target = target.clone();
        // Follow the chain while it stays inside served zones; outside, the resolver takes over.
        match zone_for(store, &target) {
            Some(next) => {
                zone = next;
                owner = target;
            }
            None => return out,
        }
    }
    out.authority.push(soa_record(zone));
    out
}

/// The served zone `name` belongs to (the longest match), if any.
fn zone_for<'a>(store: &'a Store, name: &Name) -> Option<&'a Domain> {
    let text = plain(name);
    store
        .domains
        .iter()
        .filter(|d| text == d.domain || text.ends_with(&format!(".{}", d.domain)))
        .max_by_key(|d| d.domain.len())
}

/// `name` in lower case without the final dot.
fn plain(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// `name` relative to `zone`, the apex as `""` (the store's form).
fn relative(zone: &Domain, name: &Name) -> String {
    let text = plain(name);
    if text == zone.domain {
        return String::new();
    }
    text.strip_suffix(&format!(".{}", zone.domain))
        .unwrap_or(&text)
        .to_string()
}

/// A name exists when it owns records, is the apex, or has names below it (empty non-terminal).
fn node_exists(zone: &Domain, rel: &str) -> bool {
    let suffix = format!(".{rel}");
    rel.is_empty()
        || zone
            .records
            .iter()
            .any(|r| r.name == rel || r.name.ends_with(&suffix))
}

/// The records owning `rel`, synthesised from a wildcard when the name does not exist (RFC 4592:
/// the wildcard at the closest encloser). `None` means NXDOMAIN.
fn lookup_node<'a>(zone: &'a Domain, rel: &str) -> Option<Vec<&'a StoredRecord>> {
    if node_exists(zone, rel) {
        return Some(zone.records.iter().filter(|r| r.name == rel).collect());
    }
    let mut encloser = rel;
    loop {
        encloser = match encloser.split_once('.') {
            Some((_, parent)) => parent,
            None => "",
        };
        if node_exists(zone, encloser) {
            break;
        }
    }
    let wildcard = if encloser.is_empty() {
        "*".to_string()
    } else {
        format!("*.{encloser}")
    };
    let found: Vec<_> = zone.records.iter().filter(|r| r.name == wildcard).collect();
    (!found.is_empty()).then_some(found)
}

/// The wire records of a node, with the apex SOA and (when the zone has none) NS synthesised.
fn node_records(zone: &Domain, rel: &str, node: &[&StoredRecord], owner: &Name) -> Vec<Record> {
    let mut out: Vec<Record> = node.iter().filter_map(|r| to_wire(r, owner)).collect();
    if rel.is_empty() {
        out.push(soa_record(zone));
        if !node.iter().any(|r| r.rtype == RecordType::NS) {
            for ns in VULTR_NAME_SERVERS {
                if let Some(target) = hostname(ns) {
                    out.push(Record::from_rdata(
                        owner.clone(),
                        APEX_TTL,
                        RData::NS(NS(target)),
                    ));
                }
            }
        }
    }
    out
}

fn apex_name(zone: &Domain) -> Name {
    hostname(&zone.domain).unwrap_or_else(Name::root)
}

fn soa_record(zone: &Domain) -> Record {
    let mname = hostname(&zone.soa.nsprimary).unwrap_or_else(Name::root);
    // The mailbox `user@host` is written `user.host` in an SOA.
    let rname = hostname(&zone.soa.email.replacen('@', ".", 1)).unwrap_or_else(Name::root);
    Record::from_rdata(
        apex_name(zone),
        APEX_TTL,
        RData::SOA(SOA::new(
            mname,
            rname,
            zone.serial,
            SOA_REFRESH,
            SOA_RETRY,
            SOA_EXPIRE,
            SOA_MINIMUM,
        )),
    )
}

/// A stored record on the wire. Data that cannot be represented (never accepted by the API, but a
/// hand-edited state file could hold it) is skipped rather than answered wrongly.
fn to_wire(record: &StoredRecord, owner: &Name) -> Option<Record> {
    let priority = u16::try_from(record.priority).unwrap_or(0);
    let rdata = match record.rtype {
        RecordType::A => RData::A(A(record.data.parse::<Ipv4Addr>().ok()?)),
        RecordType::AAAA => RData::AAAA(AAAA(record.data.parse::<Ipv6Addr>().ok()?)),
        RecordType::CNAME => RData::CNAME(CNAME(hostname(&record.data)?)),
        RecordType::NS => RData::NS(NS(hostname(&record.data)?)),
        RecordType::MX => RData::MX(MX::new(priority, hostname(&record.data)?)),
        RecordType::SRV => {
            let (weight, port, target) = parse_srv(&record.data)?;
            RData::SRV(SRV::new(priority, weight, port, target))
        }
        RecordType::TXT => RData::TXT(TXT::new(txt_strings(&record.data))),
        RecordType::CAA | RecordType::SSHFP => {
            RData::try_from_str(record.rtype.wire(), &record.data).ok()?
        }
    };
    Some(Record::from_rdata(owner.clone(), record.ttl, rdata))
}

/// TXT character-strings hold at most 255 bytes: longer data is split on character boundaries.
fn txt_strings(data: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in data.chars() {
        if current.len() + c.len_utf8() > 255 {
            out.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// hickory-server glue: one `answer` per request, computed under the read lock and sent after it
/// is released.
pub struct DnsHandler {
    store: Arc<RwLock<Store>>,
}

impl DnsHandler {
    pub fn new(store: Arc<RwLock<Store>>) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl RequestHandler for DnsHandler {
    async fn handle_request<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let mut header = Header::response_from_request(request.header());
        let result =
            if request.message_type() != MessageType::Query || request.op_code() != OpCode::Query {
                Answer {
                    rcode: ResponseCode::NotImp,
                    ..Answer::default()
                }
            } else {
                match request.request_info() {
                    Ok(info) => {
                        let qname: Name = info.query.name().clone().into();
                        let qtype = info.query.query_type();
                        let store = self.store.read().unwrap_or_else(|e| e.into_inner());
                        answer(&store, &qname, qtype)
                    }
                    Err(_) => Answer {
                        rcode: ResponseCode::FormErr,
                        ..Answer::default()
                    },
                }
            };
        header.set_response_code(result.rcode);
        header.set_authoritative(result.authoritative);
        header.set_recursion_available(false);
        tracing::debug!(
            target: "vultr_mock::dns",
            src = %request.src(),
            rcode = %result.rcode,
            answers = result.answers.len(),
            "dns query"
        );
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(edns) = request.edns() {
            let mut reply = Edns::new();
            reply.set_max_payload(edns.max_payload().max(512));
            reply.set_version(0);
            builder.edns(reply);
        }
        let response = builder.build(
            header,
            result.answers.iter(),
            std::iter::empty(),
            result.authority.iter(),
            std::iter::empty(),
        );
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(e) => {
                tracing::error!(error = %e, "dns response not sent");
                let mut failed = Header::response_from_request(request.header());
                failed.set_response_code(ResponseCode::ServFail);
                failed.into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewDomain, NewRecord};

    fn zone() -> Store {
        let mut store = Store::default();
        store
            .create_domain(
                NewDomain {
                    domain: "example.com".into(),
                    ..Default::default()
                },
                "2026-01-01T00:00:00+00:00",
                5,
            )
            .unwrap();
        for (name, rtype, data) in [
            ("origin", "A", "192.0.2.1"),
            ("origin", "A", "192.0.2.2"),
            ("alias", "CNAME", "origin.example.com"),
            ("a.deep", "TXT", "\"x\""),
            ("*.wild", "A", "192.0.2.9"),
        ] {
            store
                .create_record(
                    "example.com",
                    NewRecord {
                        name: name.into(),
                        rtype: rtype.into(),
                        data: data.into(),
                        ttl: None,
                        priority: None,
                    },
                    300,
                )
                .unwrap();
        }
        store
    }

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn round_robin_set_is_answered_whole() {
        let got = answer(&zone(), &name("origin.example.com."), WireType::A);
        assert_eq!(got.rcode, ResponseCode::NoError);
        assert_eq!(got.answers.len(), 2);
    }

    #[test]
    fn absent_name_is_nxdomain_with_soa() {
        let got = answer(&zone(), &name("nope.example.com."), WireType::A);
        assert_eq!(got.rcode, ResponseCode::NXDomain);
        assert!(got.answers.is_empty());
        assert_eq!(got.authority[0].record_type(), WireType::SOA);
    }

    #[test]
    fn other_type_and_empty_non_terminal_are_nodata() {
        for (q, t) in [
            ("origin.example.com.", WireType::AAAA),
            ("deep.example.com.", WireType::A),
        ] {
            let got = answer(&zone(), &name(q), t);
            assert_eq!(got.rcode, ResponseCode::NoError, "{q}");
            assert!(got.answers.is_empty(), "{q}");
            assert_eq!(got.authority.len(), 1, "{q}");
        }
    }

    #[test]
    fn names_outside_served_zones_are_refused() {
        let got = answer(&zone(), &name("example.org."), WireType::A);
        assert_eq!(got.rcode, ResponseCode::Refused);
    }

    #[test]
    fn zone_transfers_are_refused() {
        let got = answer(&zone(), &name("example.com."), WireType::AXFR);
        assert_eq!(got.rcode, ResponseCode::Refused);
        assert!(got.answers.is_empty());
    }

    #[test]
    fn cname_is_followed_inside_the_zone() {
        let got = answer(&zone(), &name("alias.example.com."), WireType::A);
        let types: Vec<_> = got.answers.iter().map(|r| r.record_type()).collect();
        assert_eq!(types, vec![WireType::CNAME, WireType::A, WireType::A]);
    }

    #[test]
    fn wildcard_answers_for_absent_names_below_it() {
        let got = answer(&zone(), &name("x.wild.example.com."), WireType::A);
        assert_eq!(got.answers.len(), 1);
        assert_eq!(got.answers[0].name(), &name("x.wild.example.com."));
    }

    #[test]
    fn apex_has_synthesised_soa_and_vultr_ns() {
        let store = zone();
        let soa = answer(&store, &name("example.com."), WireType::SOA);
        assert_eq!(soa.answers.len(), 1);
        let ns = answer(&store, &name("EXAMPLE.com."), WireType::NS);
        let targets: Vec<String> = ns.answers.iter().map(|r| r.data().to_string()).collect();
        assert_eq!(targets, vec!["ns1.vultr.com.", "ns2.vultr.com."]);
    }

    #[test]
    fn long_txt_is_split_into_255_byte_strings() {
        let parts = txt_strings(&"a".repeat(600));
        assert_eq!(
            parts.iter().map(String::len).collect::<Vec<_>>(),
            vec![255, 255, 90]
        );
        assert_eq!(txt_strings(""), vec![String::new()]);
    }
}
