//! The DNS listener, checked with a real resolver (hickory-resolver, over UDP and over TCP) right
//! after API changes, plus raw packets for the response codes a resolver hides.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use common::Mock;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::xfer::Protocol;
use hickory_resolver::config::{
    NameServerConfig, NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::{ResolveError, Resolver, TokioResolver};
use serde_json::json;
use tokio::net::UdpSocket;

const ZONE: &str = "example.com";
const RECORDS: &str = "/v2/domains/example.com/records";

/// A resolver that only talks to the mock, over one protocol, without a cache (each check must see
/// the current state, not an earlier answer).
fn resolver(addr: SocketAddr, protocol: Protocol) -> TokioResolver {
    let mut server = NameServerConfig::new(addr, protocol);
    server.trust_negative_responses = true;
    let config =
        ResolverConfig::from_parts(None, vec![], NameServerConfigGroup::from(vec![server]));
    let mut options = ResolverOpts::default();
    options.cache_size = 0;
    options.attempts = 2;
    options.timeout = Duration::from_secs(3);
    options.use_hosts_file = ResolveHosts::Never;
    options.ndots = 0;
    Resolver::builder_with_config(config, TokioConnectionProvider::default())
        .with_options(options)
        .build()
}

async fn lookup(
    addr: SocketAddr,
    protocol: Protocol,
    name: &str,
    rtype: RecordType,
) -> Result<BTreeSet<String>, ResolveError> {
    let answer = resolver(addr, protocol).lookup(name, rtype).await?;
    Ok(answer
        .record_iter()
        .filter(|r| r.record_type() == rtype)
        .map(|r| r.data().to_string())
        .collect())
}

fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| v.to_string()).collect()
}

const PROTOCOLS: [Protocol; 2] = [Protocol::Udp, Protocol::Tcp];

#[tokio::test]
async fn api_changes_are_visible_in_dns_at_once() {
    let mock = Mock::start(&["--domain", ZONE, "--rate-limit", "0"]);
    let name = "origin.example.com.";
    for protocol in PROTOCOLS {
        let err = lookup(mock.dns, protocol, name, RecordType::A)
            .await
            .expect_err("no record yet");
        assert!(err.is_nx_domain(), "{protocol}: {err}");
    }

    let first = mock
        .create_record(
            ZONE,
            json!({"name":"origin","type":"A","data":"192.0.2.1","ttl":60}),
        )
        .await;
    mock.create_record(
        ZONE,
        json!({"name":"origin","type":"A","data":"192.0.2.2","ttl":60}),
    )
    .await;
    for protocol in PROTOCOLS {
        assert_eq!(
            lookup(mock.dns, protocol, name, RecordType::A)
                .await
                .expect("A"),
            set(&["192.0.2.1", "192.0.2.2"]),
            "{protocol}"
        );
    }
    // TTLs on the wire are the records'.
    let answer = resolver(mock.dns, Protocol::Udp)
        .lookup(name, RecordType::A)
        .await
        .expect("A");
    assert!(answer.record_iter().all(|r| r.ttl() == 60));

    assert_eq!(
        mock.patch(&format!("{RECORDS}/{first}"), r#"{"data":"192.0.2.3"}"#)
            .await
            .status,
        204
    );
    for protocol in PROTOCOLS {
        assert_eq!(
            lookup(mock.dns, protocol, name, RecordType::A)
                .await
                .expect("A"),
            set(&["192.0.2.2", "192.0.2.3"]),
            "{protocol}"
        );
    }

    assert_eq!(mock.delete(&format!("{RECORDS}/{first}")).await.status, 204);
    for protocol in PROTOCOLS {
        assert_eq!(
            lookup(mock.dns, protocol, name, RecordType::A)
                .await
                .expect("A"),
            set(&["192.0.2.2"]),
            "{protocol}"
        );
    }

    // The name exists, so another type is NODATA (NOERROR), not NXDOMAIN.
    for protocol in PROTOCOLS {
        let err = lookup(mock.dns, protocol, name, RecordType::AAAA)
            .await
            .expect_err("no AAAA");
        assert!(
            err.is_no_records_found() && !err.is_nx_domain(),
            "{protocol}: {err}"
        );
    }
}

#[tokio::test]
async fn txt_cname_and_apex_records_are_served() {
    let mock = Mock::start(&["--domain", ZONE, "--rate-limit", "0"]);
    mock.create_record(ZONE, json!({"name":"origin","type":"A","data":"192.0.2.1"}))
        .await;
    mock.create_record(
        ZONE,
        json!({"name":"alias","type":"CNAME","data":"origin.example.com"}),
    )
    .await;
    mock.create_record(
        ZONE,
        json!({"name":"_owner","type":"TXT","data":"\"heritage=demo owner=x\""}),
    )
    .await;

    for protocol in PROTOCOLS {
        // TXT comes back without the API's quotes.
        let txt = resolver(mock.dns, protocol)
            .txt_lookup("_owner.example.com.")
            .await
            .expect("TXT");
        let values: Vec<String> = txt.iter().map(|t| t.to_string()).collect();
        assert_eq!(values, vec!["heritage=demo owner=x"], "{protocol}");

        let a = lookup(mock.dns, protocol, "alias.example.com.", RecordType::A)
            .await
            .expect("A through CNAME");
        assert_eq!(a, set(&["192.0.2.1"]), "{protocol}");
        let cname = lookup(mock.dns, protocol, "alias.example.com.", RecordType::CNAME)
            .await
            .expect("CNAME");
        assert_eq!(cname, set(&["origin.example.com."]), "{protocol}");

        let soa = resolver(mock.dns, protocol)
            .soa_lookup("example.com.")
            .await
            .expect("SOA");
        let soa = soa.iter().next().expect("one SOA");
        assert_eq!(soa.mname().to_string(), "ns1.vultr.com.");
        assert_eq!(soa.rname().to_string(), "dnsadm.vultr.com.");
        let ns = lookup(mock.dns, protocol, "example.com.", RecordType::NS)
            .await
            .expect("NS");
        assert_eq!(ns, set(&["ns1.vultr.com.", "ns2.vultr.com."]), "{protocol}");
    }

    // Once the zone has its own NS records, those are served instead.
    mock.create_record(ZONE, json!({"name":"","type":"NS","data":"ns.example.net"}))
        .await;
    let ns = lookup(mock.dns, Protocol::Udp, "example.com.", RecordType::NS)
        .await
        .expect("NS");
    assert_eq!(ns, set(&["ns.example.net."]));

    // A SOA change through the API shows in DNS, with a higher serial.
    let before = resolver(mock.dns, Protocol::Udp)
        .soa_lookup("example.com.")
        .await
        .expect("SOA")
        .iter()
        .next()
        .map(|s| s.serial())
        .expect("serial");
    assert_eq!(
        mock.patch(
            "/v2/domains/example.com/soa",
            r#"{"nsprimary":"ns9.example.net"}"#
        )
        .await
        .status,
        204
    );
    let after = resolver(mock.dns, Protocol::Udp)
        .soa_lookup("example.com.")
        .await
        .expect("SOA");
    let after = after.iter().next().expect("one SOA");
    assert_eq!(after.mname().to_string(), "ns9.example.net.");
    assert!(after.serial() > before);
}

#[tokio::test]
async fn zones_created_through_the_api_are_served() {
    let mock = Mock::start(&["--rate-limit", "0"]);
    assert_eq!(
        mock.post(
            "/v2/domains",
            r#"{"domain":"seeded.test","ip":"192.0.2.7"}"#
        )
        .await
        .status,
        200
    );
    for protocol in PROTOCOLS {
        let apex = lookup(mock.dns, protocol, "seeded.test.", RecordType::A)
            .await
            .expect("apex A");
        assert_eq!(apex, set(&["192.0.2.7"]));
        // The seeded `*` CNAME answers for any name.
        let any = lookup(mock.dns, protocol, "whatever.seeded.test.", RecordType::A)
            .await
            .expect("wildcard");
        assert_eq!(any, set(&["192.0.2.7"]));
    }
    assert_eq!(mock.delete("/v2/domains/seeded.test").await.status, 204);
    let reply = raw_query(mock.dns, "seeded.test.", RecordType::A).await;
    assert_eq!(reply.response_code(), ResponseCode::Refused);
}

/// One query over plain UDP, for the response codes and flags a resolver does not expose.
async fn raw_query(addr: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let mut query = Message::new();
    query
        .set_id(4242)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .add_query(Query::query(Name::from_ascii(name).expect("name"), rtype));
    socket
        .send_to(&query.to_vec().expect("encode"), addr)
        .await
        .expect("send");
    let mut buf = vec![0u8; 4096];
    let (len, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .expect("answer within 5s")
        .expect("recv");
    let reply = Message::from_vec(&buf[..len]).expect("decode");
    assert_eq!(reply.id(), 4242);
    reply
}

#[tokio::test]
async fn response_codes_are_authoritative_and_outside_names_are_refused() {
    let mock = Mock::start(&["--domain", ZONE, "--rate-limit", "0"]);
    mock.create_record(ZONE, json!({"name":"www","type":"A","data":"192.0.2.1"}))
        .await;

    let found = raw_query(mock.dns, "www.example.com.", RecordType::A).await;
    assert_eq!(found.response_code(), ResponseCode::NoError);
    assert!(found.authoritative());
    assert_eq!(found.answers().len(), 1);

    let missing = raw_query(mock.dns, "nope.example.com.", RecordType::A).await;
    assert_eq!(missing.response_code(), ResponseCode::NXDomain);
    assert!(missing.authoritative());
    assert!(
        matches!(
            missing.name_servers().first().map(|r| r.data()),
            Some(RData::SOA(_))
        ),
        "NXDOMAIN carries the SOA"
    );

    let outside = raw_query(mock.dns, "example.org.", RecordType::A).await;
    assert_eq!(outside.response_code(), ResponseCode::Refused);
    assert!(outside.answers().is_empty());
}

#[tokio::test]
async fn large_round_robin_sets_truncate_over_udp_and_come_whole_over_tcp() {
    let mock = Mock::start(&["--domain", ZONE, "--rate-limit", "0"]);
    const COUNT: usize = 300;
    let mut expected = BTreeSet::new();
    for i in 0..COUNT {
        let ip = format!("10.1.{}.{}", i / 256, i % 256);
        mock.create_record(ZONE, json!({"name":"big","type":"A","data":ip}))
            .await;
        expected.insert(ip);
    }
    // 300 A records do not fit a UDP answer: the server says so with the TC flag...
    let udp = raw_query(mock.dns, "big.example.com.", RecordType::A).await;
    assert!(udp.truncated());
    assert!(udp.answers().len() < COUNT);
    // ...and TCP carries them all.
    let tcp = lookup(mock.dns, Protocol::Tcp, "big.example.com.", RecordType::A)
        .await
        .expect("A over TCP");
    assert_eq!(tcp, expected);
}

#[tokio::test]
async fn malformed_packets_do_not_stop_the_server() {
    let mock = Mock::start(&["--domain", ZONE, "--rate-limit", "0"]);
    mock.create_record(ZONE, json!({"name":"www","type":"A","data":"192.0.2.1"}))
        .await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    for garbage in [
        &b""[..],
        &b"\x00"[..],
        &b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff\xff"[..],
        &[0xffu8; 600][..],
    ] {
        socket.send_to(garbage, mock.dns).await.expect("send");
    }
    // Garbage over TCP too: a length prefix promising more than is sent, then a hang-up.
    {
        use tokio::io::AsyncWriteExt;
        let mut tcp = tokio::net::TcpStream::connect(mock.dns).await.expect("tcp");
        tcp.write_all(b"\x00\x40\x01\x02\x03").await.expect("write");
    }
    for protocol in PROTOCOLS {
        assert_eq!(
            lookup(mock.dns, protocol, "www.example.com.", RecordType::A)
                .await
                .expect("still answering"),
            set(&["192.0.2.1"])
        );
    }
}
