//! The request handler: reads (and counts) the body, renders the echo, writes the access log.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body as _, Incoming};

use crate::echo::{self, Exchange};
use crate::log;
use crate::tap::{HeadQueue, RecordedHead};

const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const CLOSE: HeaderValue = HeaderValue::from_static("close");

/// Per-worker settings the handler needs.
#[derive(Debug)]
pub struct HandlerConfig {
    pub access_log: bool,
    pub max_body: u64,
    pub body_read_timeout: std::time::Duration,
}

/// Per-worker state: settings, whether a log flush is already scheduled, and the buffers
/// response bodies are rendered into.
#[derive(Debug)]
pub struct Worker {
    pub cfg: HandlerConfig,
    pub flush_scheduled: Cell<bool>,
    scratch: RefCell<Vec<u8>>,
    arena: RefCell<BytesMut>,
}

/// Response bodies are cut from a shared block of this size, so most responses cost no
/// allocation; a block is freed once every response cut from it has been sent.
const ARENA_BLOCK: usize = 16 * 1024;
/// Scratch capacity above which the render buffer is not kept.
const MAX_SCRATCH: usize = 64 * 1024;

impl Worker {
    pub fn new(cfg: HandlerConfig) -> Self {
        Self {
            cfg,
            flush_scheduled: Cell::new(false),
            scratch: RefCell::new(Vec::with_capacity(1024)),
            arena: RefCell::new(BytesMut::with_capacity(ARENA_BLOCK)),
        }
    }

    /// Renders into the scratch buffer and returns the result as a `Bytes` from the arena.
    fn render(&self, f: impl FnOnce(&mut Vec<u8>)) -> Bytes {
        let (Ok(mut scratch), Ok(mut arena)) =
            (self.scratch.try_borrow_mut(), self.arena.try_borrow_mut())
        else {
            // Not reachable (no re-entrancy), but a fresh buffer is always a correct answer.
            let mut out = Vec::new();
            f(&mut out);
            return Bytes::from(out);
        };
        scratch.clear();
        f(&mut scratch);
        if arena.capacity() < scratch.len() {
            arena.reserve(scratch.len().max(ARENA_BLOCK));
        }
        arena.extend_from_slice(&scratch);
        if scratch.capacity() > MAX_SCRATCH {
            *scratch = Vec::with_capacity(1024);
        }
        arena.split().freeze()
    }
}

/// Per-connection state.
#[derive(Debug)]
pub struct Conn {
    pub peer: SocketAddr,
    pub heads: HeadQueue,
    pub worker: Rc<Worker>,
}

#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("request body exceeds the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("reading the request body failed: {0}")]
    Read(#[from] hyper::Error),
    #[error("request body not received within the body read timeout")]
    Timeout,
}

impl BodyError {
    fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Read(_) => StatusCode::BAD_REQUEST,
            BodyError::Timeout => StatusCode::REQUEST_TIMEOUT,
        }
    }
}

pub async fn handle(
    req: Request<Incoming>,
    conn: Rc<Conn>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let started = conn
        .worker
        .cfg
        .access_log
        .then(|| (SystemTime::now(), Instant::now()));
    // The tap recorded this request's head before hyper could parse it, so it is at the front.
    let raw_head = conn.heads.borrow_mut().pop();
    let (mut parts, body) = req.into_parts();
    // Use the raw head only if it is certainly this request's (same method, same header count).
    let raw = raw_head.as_ref().filter(|h| {
        h.slice(h.method) == parts.method.as_str().as_bytes()
            && h.fields.len() == parts.headers.len()
    });

    let resp = if parts.method == Method::CONNECT {
        // A 2xx would mean "tunnel established"; pywai is not a proxy.
        plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not supported\n",
            true,
        )
    } else {
        let counted = if body.is_end_stream() {
            // The tap already looked for these headers; the map lookups are the fallback.
            let declared = raw.map_or_else(|| declares_body(&parts.headers), |h| h.declares_body);
            Ok(declared.then_some(0))
        } else {
            // Boxed: only requests with a body pay for the body-reading state, and the handler
            // future hyper moves around per request stays small.
            Box::pin(read_body(&parts.headers, body, &conn.worker.cfg)).await
        };
        match counted {
            Err(e) => plain(e.status(), &format!("{e}\n"), true),
            Ok(_) if parts.uri.path() == "/healthz" => plain(StatusCode::OK, "ok\n", false),
            Ok(body_bytes) => echo_response(&conn.worker, &parts, raw, conn.peer, body_bytes),
        }
    };

    if let Some((wall, t0)) = started {
        write_access_log(&conn, &parts, raw, &resp, wall, t0);
    }
    if let Some(head) = raw_head {
        conn.heads.borrow_mut().recycle(head);
    }
    // The response's headers go into the request's map, emptied: it already has room, and hyper
    // hands the response's map back as the next request's, so keep-alive traffic allocates and
    // frees no header storage per request.
    let mut headers = std::mem::take(&mut parts.headers);
    headers.clear();
    Ok(resp.into_response(headers))
}

/// A response before its headers are written into a map.
struct Answer {
    status: StatusCode,
    content_type: HeaderValue,
    body: Bytes,
    /// HEAD: the body is not sent, only its length is announced.
    head: bool,
    /// The connection cannot carry another request (e.g. an unread body).
    close: bool,
}

impl Answer {
    fn into_response(self, mut headers: HeaderMap) -> Response<Full<Bytes>> {
        headers.insert(header::CONTENT_TYPE, self.content_type);
        if self.close {
            headers.insert(header::CONNECTION, CLOSE);
        }
        let body = if self.head {
            // The length GET would have sent, as RFC 9110 asks for HEAD.
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(self.body.len()));
            Bytes::new()
        } else {
            self.body
        };
        let mut resp = Response::new(Full::new(body));
        *resp.status_mut() = self.status;
        *resp.headers_mut() = headers;
        resp
    }

    /// Body bytes sent (0 for HEAD).
    fn sent_bytes(&self) -> u64 {
        if self.head { 0 } else { self.body.len() as u64 }
    }
}

/// Whether the request announced a body (possibly empty).
fn declares_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::CONTENT_LENGTH) || headers.contains_key(header::TRANSFER_ENCODING)
}

/// Counts the body without keeping it. `None` when the request carried no body at all.
async fn read_body(
    headers: &HeaderMap,
    mut body: Incoming,
    cfg: &HandlerConfig,
) -> Result<Option<u64>, BodyError> {
    if body.is_end_stream() {
        return Ok(declares_body(headers).then_some(0));
    }
    let limit = cfg.max_body;
    // Refuse a declared oversize body before the client sends it (no 100 Continue goes out).
    if body.size_hint().lower() > limit {
        return Err(BodyError::TooLarge { limit });
    }
    let count = async {
        let mut n: u64 = 0;
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame?.data_ref() {
                n += data.len() as u64;
                if n > limit {
                    return Err(BodyError::TooLarge { limit });
                }
            }
        }
        Ok(Some(n))
    };
    tokio::time::timeout(cfg.body_read_timeout, count)
        .await
        .unwrap_or(Err(BodyError::Timeout))
}

fn plain(status: StatusCode, text: &str, close: bool) -> Answer {
    Answer {
        status,
        content_type: TEXT,
        body: Bytes::copy_from_slice(text.as_bytes()),
        head: false,
        // The body may be unread, so the connection cannot carry another request.
        close,
    }
}

fn wants_json(parts: &Parts, raw: Option<&RecordedHead>) -> bool {
    if let Some(q) = parts.uri.query() {
        for pair in q.split('&') {
            match pair {
                "format=json" => return true,
                "format=html" => return false,
                _ => {}
            }
        }
    }
    let accept = match raw {
        Some(h) => h
            .accept
            .and_then(|i| h.fields.get(i as usize))
            .map(|&[_, _, start, end]| h.slice([start, end])),
        None => parts.headers.get(header::ACCEPT).map(|v| v.as_bytes()),
    };
    accept.is_some_and(|accept| {
        contains_ignore_case(accept, b"application/json")
            && !contains_ignore_case(accept, b"text/html")
    })
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/?",
    }
}

fn echo_response(
    worker: &Worker,
    parts: &Parts,
    // Already checked to be this request's head.
    raw: Option<&RecordedHead>,
    peer: SocketAddr,
    body_bytes: Option<u64>,
) -> Answer {
    let json = wants_json(parts, raw);
    let version = version_str(parts.version);

    let fallback_line;
    let ex = match raw {
        Some(h) => Exchange {
            headers: echo::Headers::Raw {
                head: &h.raw,
                fields: &h.fields,
            },
            client: peer,
            request_line: h.slice(h.line),
            version,
            method: parts.method.as_str(),
            target: h.slice(h.target),
            body_bytes,
        },
        None => {
            let target = parts
                .uri
                .path_and_query()
                .map_or(parts.uri.path(), |pq| pq.as_str());
            fallback_line = format!("{} {} {}", parts.method, target, version);
            Exchange {
                headers: echo::Headers::Map(&parts.headers),
                client: peer,
                request_line: fallback_line.as_bytes(),
                version,
                method: parts.method.as_str(),
                target: target.as_bytes(),
                body_bytes,
            }
        }
    };

    let body = worker.render(|out| {
        if json {
            echo::render_json(&ex, out);
        } else {
            echo::render_html(&ex, out);
        }
    });
    Answer {
        status: StatusCode::OK,
        content_type: if json { JSON } else { HTML },
        body,
        head: parts.method == Method::HEAD,
        close: false,
    }
}

fn write_access_log(
    conn: &Conn,
    parts: &Parts,
    raw_head: Option<&RecordedHead>,
    resp: &Answer,
    wall: SystemTime,
    t0: Instant,
) {
    let path = raw_head
        .map(|h| h.slice(h.target))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| parts.uri.path().as_bytes());
    let rec = log::AccessRecord {
        time: wall,
        client: conn.peer,
        method: parts.method.as_str(),
        path,
        protocol: version_str(parts.version),
        status: resp.status.as_u16(),
        bytes: resp.sent_bytes(),
        duration: t0.elapsed(),
        user_agent: parts.headers.get(header::USER_AGENT).map(|v| v.as_bytes()),
    };
    if log::access(&rec) && !conn.worker.flush_scheduled.replace(true) {
        let worker = conn.worker.clone();
        // Lines written within the next few milliseconds join this batch: one write per batch,
        // like nginx's `access_log ... buffer= flush=`.
        tokio::task::spawn_local(async move {
            tokio::time::sleep(log::FLUSH_DELAY).await;
            worker.flush_scheduled.set(false);
            log::flush_access();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, accept: Option<&str>) -> Parts {
        let mut b = Request::builder().uri(uri);
        if let Some(a) = accept {
            b = b.header(header::ACCEPT, a);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn wants_json_map(parts: &Parts) -> bool {
        wants_json(parts, None)
    }

    #[test]
    fn json_is_chosen_by_query_or_accept_but_not_for_browsers() {
        assert!(wants_json_map(&parts("/?format=json", None)));
        assert!(wants_json_map(&parts("/", Some("application/json"))));
        assert!(!wants_json_map(&parts(
            "/?format=html",
            Some("application/json")
        )));
        assert!(!wants_json_map(&parts(
            "/",
            Some("text/html,application/xhtml+xml,application/json;q=0.9")
        )));
        assert!(!wants_json_map(&parts("/", None)));
    }
}
