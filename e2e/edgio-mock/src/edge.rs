//! The CDN edge: matches a request to a published rule (host equality, longest
//! `publishedUrlPath` string prefix), resolves the origin through DNS, rotates over its
//! addresses and proxies the request with the forwarding headers and the rule's header options.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::clock;
use crate::model::{DeliveryBody, Protocol, ProtocolSet};
use crate::resolve::OriginResolver;
use crate::server::{BoxError, RespBody, json_response};
use crate::store::{EdgeRule, Store};

const VIA: &str = "1.1 edgio-mock";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Edge {
    pub store: Arc<Store>,
    pub resolver: OriginResolver,
    pub origin_timeout: Duration,
    /// Per-origin-hostname rotation counters.
    rotation: Mutex<HashMap<String, Arc<AtomicUsize>>>,
}

impl Edge {
    pub fn new(store: Arc<Store>, resolver: OriginResolver, origin_timeout: Duration) -> Self {
        Edge {
            store,
            resolver,
            origin_timeout,
            rotation: Mutex::new(HashMap::new()),
        }
    }

    fn next_index(&self, host: &str) -> usize {
        let counter = {
            let mut map = self.rotation.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(host.to_ascii_lowercase()).or_default().clone()
        };
        counter.fetch_add(1, Ordering::Relaxed)
    }
}

/// What the access log line records about one request; written when the response body ends.
struct AccessRecord {
    started: Instant,
    client: String,
    host: String,
    method: String,
    path: String,
    status: u16,
    rule: Option<String>,
    origin: Option<String>,
}

impl AccessRecord {
    fn emit(&self, bytes: u64) {
        let line = json!({
            "time": clock::rfc3339_ms(clock::now_ms()),
            "listener": "edge",
            "client": self.client,
            "host": self.host,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "bytes": bytes,
            "duration_ms": crate::millis(self.started),
            "rule": self.rule,
            "origin": self.origin,
        });
        crate::access_log(&line);
    }
}

/// Counts the bytes sent to the client and writes the access log line when the body is done
/// (or dropped, for a client that went away).
struct LoggedBody {
    inner: RespBody,
    bytes: u64,
    record: Option<AccessRecord>,
}

impl Body for LoggedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.bytes += data.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                if let Some(r) = self.record.take() {
                    r.emit(self.bytes);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let Some(r) = self.record.take() {
            r.emit(self.bytes);
        }
    }
}

fn logged(resp: Response<RespBody>, mut record: AccessRecord) -> Response<RespBody> {
    record.status = resp.status().as_u16();
    resp.map(|inner| {
        LoggedBody {
            inner,
            bytes: 0,
            record: Some(record),
        }
        .boxed_unsync()
    })
}

fn edge_error(status: StatusCode, message: String, extra: Value) -> Response<RespBody> {
    let mut body = json!({
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
    });
    if let (Some(obj), Value::Object(more)) = (body.as_object_mut(), extra) {
        obj.extend(more);
    }
    let mut resp = json_response(status, &body);
    resp.headers_mut()
        .insert(header::VIA, HeaderValue::from_static(VIA));
    resp
}

/// Request host without port or trailing dot, lower-cased.
fn request_host(req: &Request<Incoming>) -> Option<String> {
    let raw = match req.uri().host() {
        Some(h) => h.to_string(),
        None => {
            let v = req.headers().get(header::HOST)?.to_str().ok()?;
            let auth: http::uri::Authority = v.parse().ok()?;
            auth.host().to_string()
        }
    };
    let h = raw.trim_end_matches('.').to_ascii_lowercase();
    (!h.is_empty()).then_some(h)
}

/// The rule whose `publishedUrlPath` is the longest string prefix of `path`; among equal
/// prefixes, one publishing plain HTTP wins. Returns the rule and the protocol set to use.
pub fn select<'a>(rules: &'a [EdgeRule], path: &str) -> Option<(&'a EdgeRule, &'a ProtocolSet)> {
    let candidate = |r: &'a EdgeRule| {
        let set = r
            .delivery
            .protocol_sets
            .iter()
            .find(|s| s.published_protocol == Protocol::Http)
            .or_else(|| r.delivery.protocol_sets.first())?;
        Some((r, set))
    };
    rules
        .iter()
        .filter(|r| path.starts_with(&r.delivery.published_url_path))
        .filter_map(candidate)
        .max_by_key(|(r, set)| {
            (
                r.delivery.published_url_path.len(),
                set.published_protocol == Protocol::Http,
            )
        })
}

/// Replaces the matched prefix by `sourceUrlPath` when that is non-empty; a `/` at the seam is
/// not doubled.
pub fn origin_path(d: &DeliveryBody, path: &str) -> String {
    if d.source_url_path.is_empty() {
        return path.to_string();
    }
    let rest = &path[d.published_url_path.len().min(path.len())..];
    let mut out = d.source_url_path.clone();
    if out.ends_with('/') && rest.starts_with('/') {
        out.push_str(&rest[1..]);
    } else {
        out.push_str(rest);
    }
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

/// Headers that describe one connection and must not be forwarded (RFC 9110 §7.6.1).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

fn append_via(headers: &mut HeaderMap) {
    headers.append(header::VIA, HeaderValue::from_static(VIA));
}

/// Entry point of the edge listener.
pub async fn handle(
    edge: Arc<Edge>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<RespBody> {
    let client_ip = peer.ip().to_canonical();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let mut record = AccessRecord {
        started: Instant::now(),
        client: client_ip.to_string(),
        host: String::new(),
        method: req.method().to_string(),
        path: path_and_query,
        status: 0,
        rule: None,
        origin: None,
    };
    let Some(host) = request_host(&req) else {
        let resp = edge_error(
            StatusCode::BAD_REQUEST,
            "the request has no usable Host header".into(),
            json!({}),
        );
        return logged(resp, record);
    };
    record.host = host.clone();
    let path = req.uri().path().to_string();
    let rules = edge.store.edge_rules(&host, clock::now_ms());
    let Some((rule, set)) = select(&rules, &path) else {
        let message = if rules.is_empty() {
            format!("no CDN rule publishes host {host:?}")
        } else {
            let published: Vec<&str> = rules
                .iter()
                .map(|r| r.delivery.published_url_path.as_str())
                .collect();
            format!(
                "no CDN rule on host {host:?} matches path {path:?} (published paths: {})",
                published.join(", ")
            )
        };
        let resp = edge_error(
            StatusCode::NOT_FOUND,
            message,
            json!({"host": host, "path": path}),
        );
        return logged(resp, record);
    };
    record.rule = Some(rule.uuid.clone());
    let resp = proxy(&edge, req, client_ip, rule, set, &mut record).await;
    logged(resp, record)
}

async fn proxy(
    edge: &Edge,
    req: Request<Incoming>,
    client_ip: IpAddr,
    rule: &EdgeRule,
    set: &ProtocolSet,
    record: &mut AccessRecord,
) -> Response<RespBody> {
    let d = &rule.delivery;
    let port = set.source_port();
    let origin =
        json!({"origin": {"hostname": d.source_hostname, "port": port}, "rule": rule.uuid});
    if set.source_protocol == Protocol::Https {
        return edge_error(
            StatusCode::BAD_GATEWAY,
            format!(
                "origin https://{}:{port}: the mock edge does not speak TLS to origins",
                d.source_hostname
            ),
            origin,
        );
    }
    let ips = match edge.resolver.lookup(&d.source_hostname).await {
        Ok(ips) => ips,
        Err(e) => {
            tracing::error!(rule = %rule.uuid, origin = %d.source_hostname, port, error = %e, "origin DNS failed");
            return edge_error(
                StatusCode::BAD_GATEWAY,
                format!(
                    "origin {}:{port} cannot be resolved: {e}",
                    d.source_hostname
                ),
                origin,
            );
        }
    };

    // Round robin over the answers; on a refused or timed-out connect try the next address.
    let start = edge.next_index(&d.source_hostname);
    let mut failures = Vec::new();
    let mut connected = None;
    for k in 0..ips.len() {
        let addr = SocketAddr::new(ips[(start + k) % ips.len()], port);
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                connected = Some((addr, stream));
                break;
            }
            Ok(Err(e)) => failures.push(format!("{addr}: {e}")),
            Err(_) => failures.push(format!("{addr}: connect timed out")),
        }
    }
    let Some((addr, stream)) = connected else {
        let message = format!(
            "origin {}:{port} is unreachable: {}",
            d.source_hostname,
            failures.join("; ")
        );
        tracing::error!(rule = %rule.uuid, "{message}");
        return edge_error(StatusCode::BAD_GATEWAY, message, origin);
    };
    record.origin = Some(addr.to_string());
    let _ = stream.set_nodelay(true);

    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let mut target = origin_path(d, &path);
    if let Some(q) = parts.uri.query() {
        target.push('?');
        target.push_str(q);
    }
    let uri: Uri = match target.parse() {
        Ok(u) => u,
        Err(e) => {
            return edge_error(
                StatusCode::BAD_GATEWAY,
                format!("the rewritten origin path {target:?} is not a valid URI: {e}"),
                origin,
            );
        }
    };
    let headers = &mut parts.headers;
    strip_hop_by_hop(headers);
    let host_value = HeaderValue::from_str(&d.source_hostname);
    if let Ok(v) = host_value {
        headers.insert(header::HOST, v);
    }
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.trim().is_empty() => format!("{prev}, {client_ip}"),
        _ => client_ip.to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        headers.insert("x-forwarded-for", v);
    }
    if let Ok(v) = HeaderValue::from_str(&d.published_hostname) {
        headers.insert("x-forwarded-host", v);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    append_via(headers);
    for (name, value) in &set.req_headers {
        headers.insert(name.clone(), value.clone());
    }
    let mut upstream = Request::from_parts(parts, body);
    *upstream.uri_mut() = uri;
    *upstream.version_mut() = http::Version::HTTP_11;

    let exchange = async {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "origin connection ended with an error");
            }
        });
        sender.send_request(upstream).await
    };
    let response = match tokio::time::timeout(edge.origin_timeout, exchange).await {
        Err(_) => {
            let message = format!(
                "origin {}:{port} ({addr}) did not answer within {:?}",
                d.source_hostname, edge.origin_timeout
            );
            tracing::error!(rule = %rule.uuid, "{message}");
            return edge_error(StatusCode::GATEWAY_TIMEOUT, message, origin);
        }
        Ok(Err(e)) => {
            let message = format!("origin {}:{port} ({addr}) failed: {e}", d.source_hostname);
            tracing::error!(rule = %rule.uuid, "{message}");
            return edge_error(StatusCode::BAD_GATEWAY, message, origin);
        }
        Ok(Ok(r)) => r,
    };

    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    append_via(&mut parts.headers);
    for (name, value) in &set.reply_headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    Response::from_parts(parts, body.map_err(BoxError::from).boxed_unsync())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(uuid: &str, published: &str, source: &str, protocols: &[Protocol]) -> EdgeRule {
        EdgeRule {
            uuid: uuid.into(),
            delivery: DeliveryBody {
                published_hostname: "demo.s.llnwi.net".into(),
                published_url_path: published.into(),
                source_hostname: "origin.example.com".into(),
                source_url_path: source.into(),
                protocol_sets: protocols
                    .iter()
                    .map(|p| ProtocolSet {
                        published_protocol: *p,
                        source_protocol: Protocol::Http,
                        source_port: None,
                        req_headers: vec![],
                        reply_headers: vec![],
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn longest_prefix_wins_and_http_breaks_ties() {
        let rules = vec![
            rule("root", "/", "", &[Protocol::Http]),
            rule("fred", "/fred", "", &[Protocol::Http]),
            rule("fredx", "/fred/x", "", &[Protocol::Https]),
            rule("fredx-http", "/fred/x", "", &[Protocol::Http]),
        ];
        assert_eq!(select(&rules, "/fred/y").unwrap().0.uuid, "fred");
        assert_eq!(select(&rules, "/fredo").unwrap().0.uuid, "fred");
        assert_eq!(select(&rules, "/other").unwrap().0.uuid, "root");
        assert_eq!(select(&rules, "/fred/x/1").unwrap().0.uuid, "fredx-http");
        assert!(select(&rules[1..], "/other").is_none());
    }

    #[test]
    fn matched_prefix_is_replaced_only_by_a_nonempty_source_path() {
        let keep = rule("a", "/fred", "", &[Protocol::Http]).delivery;
        assert_eq!(origin_path(&keep, "/fred/x"), "/fred/x");
        let swap = rule("b", "/fred", "/api", &[Protocol::Http]).delivery;
        assert_eq!(origin_path(&swap, "/fred/x"), "/api/x");
        assert_eq!(origin_path(&swap, "/fred"), "/api");
        let slash = rule("c", "/fred", "/", &[Protocol::Http]).delivery;
        assert_eq!(origin_path(&slash, "/fred/x"), "/x");
        assert_eq!(origin_path(&slash, "/fred"), "/");
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "close, x-secret".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        h.insert("x-keep", "1".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-keep"));
    }
}
