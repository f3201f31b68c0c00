//! Providers: the Vultr DNS API v2 client (Bearer auth, relative record names, TXT quoting,
//! cursor pagination). Contract: `shared/specs/vultr-dns-api.md`; retry, rate-limit and error
//! behaviour: `controller/PROVIDERS.md`.

pub mod model;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;

pub use model::{Domain, Extra, NewRecord, Record, RecordPatch};
use model::{
    DomainEnvelope, DomainList, RecordEnvelope, RecordList, is_txt, quote_txt, unquote_txt,
};

use super::edgio::signing::encode_component;
use super::transport::{
    Idempotency, RawResponse, RetryPolicy, SendError, TokenBucket, Transport, excerpt, http_client,
    server_message, status_line,
};
use super::{CallObserver, NoopObserver};

/// The public Vultr API base (includes `/v2`).
pub const DEFAULT_BASE_URL: &str = "https://api.vultr.com/v2";
/// The largest page Vultr serves; fewer pages means fewer calls against the rate limit.
pub const PAGE_SIZE: u32 = 500;
/// Stop following cursors after this many pages (a cursor loop must not run forever).
const MAX_PAGES: u32 = 10_000;

/// Settings of a [`VultrClient`].
#[derive(Clone)]
pub struct VultrConfig {
    /// E.g. `https://api.vultr.com/v2` (includes `/v2`); a trailing `/` is dropped.
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>`.
    pub api_key: String,
    /// Per-attempt timeout (connect to last body byte).
    pub timeout: Duration,
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// Client-side limit, shared by all clones of one client; `0` disables it. Vultr allows 30
    /// per second per source IP: keep `requests_per_second + burst` under 30.
    pub requests_per_second: f64,
    /// Calls allowed at once before the rate applies (at least 1).
    pub burst: u32,
    /// First backoff delay; doubles per retry, jittered to `[d/2, d]`.
    pub initial_backoff: Duration,
    /// Cap on one backoff delay.
    pub max_backoff: Duration,
    /// Cap on a server's `Retry-After`.
    pub max_retry_after: Duration,
}

impl VultrConfig {
    /// Defaults: 30 s timeout, 5 retries, 20 requests/s with a burst of 5 (at most 25 calls in
    /// any second, under Vultr's 30), backoff 250 ms doubling to 10 s, `Retry-After` honoured up
    /// to 60 s.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        VultrConfig {
            base_url: base_url.into(),
            api_key: api_key.into(),
            timeout: Duration::from_secs(30),
            max_retries: 5,
            requests_per_second: 20.0,
            burst: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl std::fmt::Debug for VultrConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VultrConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("requests_per_second", &self.requests_per_second)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

/// Errors of the Vultr client. Each names the call (`create_record`, ...) and the object.
#[derive(Debug, thiserror::Error)]
pub enum VultrError {
    /// Bad settings (base URL, API key); nothing was sent.
    #[error("invalid Vultr client configuration: {0}")]
    Config(String),
    /// The request could not be built; nothing was sent.
    #[error("vultr {call} {target}: cannot build request: {detail}")]
    Request {
        call: &'static str,
        target: String,
        detail: String,
    },
    /// The server answered with a non-success status (after any retries).
    #[error("vultr {call} {target}: {}: {message}", status_line(*.status))]
    Status {
        call: &'static str,
        target: String,
        status: u16,
        message: String,
    },
    /// No response: connection error or timeout (after any retries).
    #[error("vultr {call} {target}: no response: {source}")]
    Transport {
        call: &'static str,
        target: String,
        #[source]
        source: reqwest::Error,
    },
    /// A success status with a body that is not the expected JSON, or a broken cursor chain.
    #[error("vultr {call} {target}: unexpected response ({status}): {detail}")]
    Decode {
        call: &'static str,
        target: String,
        status: u16,
        detail: String,
    },
}

impl VultrError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            VultrError::Status { status, .. } | VultrError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Worth trying again later: 429, 408, 5xx, timeouts and connection errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            VultrError::Status { status, .. } => matches!(*status, 408 | 429 | 500..=599),
            VultrError::Transport { .. } => true,
            _ => false,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// 409; Vultr reports most conflicts (duplicates, CNAME clashes, mixed TTLs) as 400.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Short CamelCase reason, used as metric label and Kubernetes Event reason.
    pub fn reason(&self) -> &'static str {
        match self {
            VultrError::Config(_) | VultrError::Request { .. } => "VultrConfigInvalid",
            VultrError::Transport { .. } => "ProviderUnavailable",
            VultrError::Decode { .. } => "VultrBadResponse",
            VultrError::Status { status, .. } => match *status {
                400 | 422 => "VultrInvalidRecord",
                401 => "VultrUnauthorized",
                403 => "VultrForbidden",
                404 => "VultrNotFound",
                409 => "VultrConflict",
                429 => "VultrRateLimited",
                408 | 500..=599 => "ProviderUnavailable",
                _ => "VultrRequestFailed",
            },
        }
    }

    /// Vultr's `error` message, when it answered with an error.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            VultrError::Status { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// Client of the Vultr DNS API. Cheap to clone; clones share the rate limit.
#[derive(Clone)]
pub struct VultrClient {
    base_url: Arc<str>,
    auth: HeaderValue,
    transport: Transport,
}

impl std::fmt::Debug for VultrClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VultrClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

struct Call<'a> {
    op: &'static str,
    target: &'a str,
}

impl Call<'_> {
    fn status_error(&self, resp: &RawResponse) -> VultrError {
        VultrError::Status {
            call: self.op,
            target: self.target.to_owned(),
            status: resp.status,
            message: server_message(&resp.body),
        }
    }

    /// `Ok` on a 2xx; any other status is a `Status` error with the server's message.
    fn check(&self, resp: &RawResponse) -> Result<(), VultrError> {
        if is_success(resp.status) {
            Ok(())
        } else {
            Err(self.status_error(resp))
        }
    }

    /// The body of a 2xx response as `T`; any other status is a `Status` error.
    fn decode<T: DeserializeOwned>(&self, resp: &RawResponse) -> Result<T, VultrError> {
        self.check(resp)?;
        serde_json::from_slice(&resp.body).map_err(|e| VultrError::Decode {
            call: self.op,
            target: self.target.to_owned(),
            status: resp.status,
            detail: format!("{e}; body: {}", excerpt(&resp.body)),
        })
    }

    fn send_error(&self, err: SendError) -> VultrError {
        match err {
            SendError::Build(detail) => VultrError::Request {
                call: self.op,
                target: self.target.to_owned(),
                detail,
            },
            SendError::Transport(source) => VultrError::Transport {
                call: self.op,
                target: self.target.to_owned(),
                source,
            },
        }
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Turns a name given as an FQDN in `zone` (or `@`) into Vultr's relative form; relative names
/// pass unchanged and case is kept. Not `plan::relative_name`, which lowercases and refuses names
/// outside the zone: this one only normalises what callers hand to the API.
fn wire_name(zone: &str, name: &str) -> String {
    let name = name.trim_end_matches('.');
    let zone = zone.trim_end_matches('.');
    if name == "@" || name.eq_ignore_ascii_case(zone) {
        return String::new();
    }
    let suffix_len = zone.len() + 1;
    if name.len() > suffix_len {
        let split = name.len() - suffix_len;
        if name.is_char_boundary(split)
            && name[split..].starts_with('.')
            && name[split + 1..].eq_ignore_ascii_case(zone)
        {
            return name[..split].to_owned();
        }
    }
    name.to_owned()
}

/// Record data as callers see it: TXT unquoted.
fn from_wire(mut record: Record) -> Record {
    if is_txt(&record.record_type) {
        record.data = unquote_txt(&record.data);
    }
    record
}

impl VultrClient {
    /// Validates the settings without any network traffic.
    pub fn new(cfg: VultrConfig) -> Result<Self, VultrError> {
        let base_url =
            super::transport::normalise_base_url(&cfg.base_url).map_err(VultrError::Config)?;
        if cfg.api_key.trim().is_empty() {
            return Err(VultrError::Config("API key is empty".to_owned()));
        }
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", cfg.api_key.trim())).map_err(|_| {
                VultrError::Config("API key contains characters not allowed in a header".to_owned())
            })?;
        auth.set_sensitive(true);
        let http = http_client(
            cfg.timeout,
            concat!("edgio-ingress/", env!("CARGO_PKG_VERSION")),
        )
        .map_err(|e| VultrError::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(VultrClient {
            base_url: base_url.into(),
            auth,
            transport: Transport {
                http,
                limiter: Arc::new(TokenBucket::new(
                    cfg.requests_per_second,
                    f64::from(cfg.burst),
                )),
                policy: RetryPolicy {
                    max_retries: cfg.max_retries,
                    initial_backoff: cfg.initial_backoff,
                    max_backoff: cfg.max_backoff,
                    max_retry_after: cfg.max_retry_after,
                },
                observer: Arc::new(NoopObserver),
                provider: "vultr",
            },
        })
    }

    /// Reports every attempt to `observer` (metrics).
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.transport.observer = observer;
        self
    }

    /// The base URL, without trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn execute(
        &self,
        call: &Call<'_>,
        idem: Idempotency,
        method: Method,
        path: &str,
        query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, VultrError> {
        let full = if query.is_empty() {
            format!("{}/{}", self.base_url, path)
        } else {
            format!("{}/{}?{}", self.base_url, path, query)
        };
        let url = url::Url::parse(&full)
            .map_err(|e| call.send_error(SendError::Build(format!("invalid URL {full}: {e}"))))?;
        // A record id of `..` would otherwise resolve to the zone itself: refuse any URL the
        // parser rewrites rather than send it somewhere else.
        if url.as_str() != full {
            return Err(call.send_error(SendError::Build(format!(
                "URL {full} would be sent as {url}"
            ))));
        }
        let build = || -> Result<reqwest::Request, String> {
            let mut req = reqwest::Request::new(method.clone(), url.clone());
            let headers = req.headers_mut();
            headers.insert(AUTHORIZATION, self.auth.clone());
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Some(bytes) = &body {
                *req.body_mut() = Some(reqwest::Body::from(bytes.clone()));
            }
            Ok(req)
        };
        self.transport
            .send(call.op, idem, build)
            .await
            .map_err(|e| call.send_error(e))
    }

    fn json_body<T: serde::Serialize>(call: &Call<'_>, value: &T) -> Result<Vec<u8>, VultrError> {
        serde_json::to_vec(value)
            .map_err(|e| call.send_error(SendError::Build(format!("cannot serialise body: {e}"))))
    }

    /// Follows `meta.links.next` from the first page to the end.
    async fn paged<P, T>(
        &self,
        op: &'static str,
        path: &str,
        target: &str,
        items: impl Fn(P) -> (Vec<T>, model::ListMeta),
    ) -> Result<Vec<T>, VultrError>
    where
        P: DeserializeOwned,
    {
        let call = Call { op, target };
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let query = match &cursor {
                None => format!("per_page={PAGE_SIZE}"),
                Some(c) => format!("per_page={PAGE_SIZE}&cursor={}", encode_component(c)),
            };
            let resp = self
                .execute(
                    &call,
                    Idempotency::Idempotent,
                    Method::GET,
                    path,
                    &query,
                    None,
                )
                .await?;
            let page: P = call.decode(&resp)?;
            let (batch, meta) = items(page);
            all.extend(batch);
            let next = meta.links.and_then(|l| l.next).filter(|n| !n.is_empty());
            match next {
                None => return Ok(all),
                Some(n) if cursor.as_deref() == Some(n.as_str()) => {
                    return Err(VultrError::Decode {
                        call: op,
                        target: target.to_owned(),
                        status: resp.status,
                        detail: format!("server returned the same cursor {n:?} twice"),
                    });
                }
                Some(n) => cursor = Some(n),
            }
        }
        Err(VultrError::Decode {
            call: op,
            target: target.to_owned(),
            status: 200,
            detail: format!("still more pages after {MAX_PAGES}"),
        })
    }

    /// `GET /domains`, all pages.
    pub async fn list_domains(&self) -> Result<Vec<Domain>, VultrError> {
        self.paged("list_domains", "domains", "domains", |p: DomainList| {
            (p.domains, p.meta)
        })
        .await
    }

    /// `GET /domains/{zone}`; `None` when the zone does not exist.
    pub async fn get_domain(&self, zone: &str) -> Result<Option<Domain>, VultrError> {
        let path = format!("domains/{}", encode_component(zone));
        let call = Call {
            op: "get_domain",
            target: zone,
        };
        let resp = self
            .execute(&call, Idempotency::Idempotent, Method::GET, &path, "", None)
            .await?;
        match resp.status {
            404 => Ok(None),
            _ => call.decode::<DomainEnvelope>(&resp).map(|e| Some(e.domain)),
        }
    }

    /// `POST /domains`. With `ip`, Vultr seeds apex A, `*` CNAME, MX and NS records; without it
    /// the zone starts empty. Retried only on 429 or when no connection was made.
    pub async fn create_domain(
        &self,
        zone: &str,
        ip: Option<IpAddr>,
    ) -> Result<Domain, VultrError> {
        let call = Call {
            op: "create_domain",
            target: zone,
        };
        let mut body = serde_json::Map::new();
        body.insert("domain".into(), zone.into());
        if let Some(ip) = ip {
            body.insert("ip".into(), ip.to_string().into());
        }
        let bytes = Self::json_body(&call, &body)?;
        let resp = self
            .execute(
                &call,
                Idempotency::NotIdempotent,
                Method::POST,
                "domains",
                "",
                Some(bytes),
            )
            .await?;
        call.decode::<DomainEnvelope>(&resp).map(|e| e.domain)
    }

    /// `DELETE /domains/{zone}`; `Ok(false)` when it did not exist.
    pub async fn delete_domain(&self, zone: &str) -> Result<bool, VultrError> {
        let path = format!("domains/{}", encode_component(zone));
        let call = Call {
            op: "delete_domain",
            target: zone,
        };
        let resp = self
            .execute(
                &call,
                Idempotency::Idempotent,
                Method::DELETE,
                &path,
                "",
                None,
            )
            .await?;
        match resp.status {
            404 => Ok(false),
            _ => call.check(&resp).map(|()| true),
        }
    }

    /// `GET /domains/{zone}/records`, every page (500 per page); TXT data unquoted.
    pub async fn list_records(&self, zone: &str) -> Result<Vec<Record>, VultrError> {
        let path = format!("domains/{}/records", encode_component(zone));
        let target = format!("{zone} records");
        let records = self
            .paged("list_records", &path, &target, |p: RecordList| {
                (p.records, p.meta)
            })
            .await?;
        Ok(records.into_iter().map(from_wire).collect())
    }

    /// `GET /domains/{zone}/records/{id}`; `None` when the record (or zone) does not exist.
    pub async fn get_record(&self, zone: &str, id: &str) -> Result<Option<Record>, VultrError> {
        let path = format!(
            "domains/{}/records/{}",
            encode_component(zone),
            encode_component(id)
        );
        let target = format!("{zone} record {id}");
        let call = Call {
            op: "get_record",
            target: &target,
        };
        let resp = self
            .execute(&call, Idempotency::Idempotent, Method::GET, &path, "", None)
            .await?;
        match resp.status {
            404 => Ok(None),
            _ => call
                .decode::<RecordEnvelope>(&resp)
                .map(|e| Some(from_wire(e.record))),
        }
    }

    /// `POST /domains/{zone}/records`. The name is sent relative to the zone; TXT data is
    /// quoted. Retried only on 429 or when no connection was made.
    pub async fn create_record(
        &self,
        zone: &str,
        record: &NewRecord,
    ) -> Result<Record, VultrError> {
        let path = format!("domains/{}/records", encode_component(zone));
        let mut wire = record.clone();
        wire.name = wire_name(zone, &record.name);
        if is_txt(&wire.record_type) {
            wire.data = quote_txt(&wire.data);
        }
        let target = format!(
            "{zone} record {} {} {}",
            display_name(&wire.name),
            wire.record_type,
            record.data
        );
        let call = Call {
            op: "create_record",
            target: &target,
        };
        let bytes = Self::json_body(&call, &wire)?;
        let resp = self
            .execute(
                &call,
                Idempotency::NotIdempotent,
                Method::POST,
                &path,
                "",
                Some(bytes),
            )
            .await?;
        call.decode::<RecordEnvelope>(&resp)
            .map(|e| from_wire(e.record))
    }

    /// `PATCH /domains/{zone}/records/{id}` with only the fields set in `patch`. TXT data is
    /// quoted when `patch.record_type` says TXT. A patch sets absolute values, so it is retried
    /// like a PUT.
    pub async fn update_record(
        &self,
        zone: &str,
        id: &str,
        patch: &RecordPatch,
    ) -> Result<(), VultrError> {
        let path = format!(
            "domains/{}/records/{}",
            encode_component(zone),
            encode_component(id)
        );
        let target = format!("{zone} record {id}");
        let call = Call {
            op: "update_record",
            target: &target,
        };
        let mut wire = patch.clone();
        if let Some(name) = &mut wire.name {
            *name = wire_name(zone, name);
        }
        if let (Some(data), Some(t)) = (&mut wire.data, &patch.record_type)
            && is_txt(t)
        {
            *data = quote_txt(data);
        }
        let bytes = Self::json_body(&call, &wire)?;
        let resp = self
            .execute(
                &call,
                Idempotency::Idempotent,
                Method::PATCH,
                &path,
                "",
                Some(bytes),
            )
            .await?;
        call.check(&resp)
    }

    /// `DELETE /domains/{zone}/records/{id}`; `Ok(false)` when it was already gone.
    pub async fn delete_record(&self, zone: &str, id: &str) -> Result<bool, VultrError> {
        let path = format!(
            "domains/{}/records/{}",
            encode_component(zone),
            encode_component(id)
        );
        let target = format!("{zone} record {id}");
        let call = Call {
            op: "delete_record",
            target: &target,
        };
        let resp = self
            .execute(
                &call,
                Idempotency::Idempotent,
                Method::DELETE,
                &path,
                "",
                None,
            )
            .await?;
        match resp.status {
            404 => Ok(false),
            _ => call.check(&resp).map(|()| true),
        }
    }
}

fn display_name(name: &str) -> &str {
    if name.is_empty() { "@" } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_names_become_relative_and_relative_names_pass() {
        assert_eq!(wire_name("example.com", "origin.example.com"), "origin");
        assert_eq!(wire_name("example.com", "origin.example.com."), "origin");
        assert_eq!(wire_name("example.com", "example.com"), "");
        assert_eq!(wire_name("example.com", "@"), "");
        assert_eq!(wire_name("example.com", ""), "");
        assert_eq!(wire_name("example.com", "origin"), "origin");
        assert_eq!(wire_name("example.com", "a.b.EXAMPLE.com"), "a.b");
        assert_eq!(wire_name("example.com", "notexample.com"), "notexample.com");
    }

    #[test]
    fn empty_api_key_is_a_config_error() {
        let err = VultrClient::new(VultrConfig::new(DEFAULT_BASE_URL, " ")).unwrap_err();
        assert_eq!(err.reason(), "VultrConfigInvalid");
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let cfg = VultrConfig::new(DEFAULT_BASE_URL, "secret-key-123");
        assert!(!format!("{cfg:?}").contains("secret-key-123"));
        let client = VultrClient::new(cfg).unwrap();
        assert!(!format!("{client:?}").contains("secret-key-123"));
    }

    #[test]
    fn rate_limited_error_is_retryable_with_its_reason() {
        let err = VultrError::Status {
            call: "list_records",
            target: "example.com records".into(),
            status: 429,
            message: "Rate limit reached".into(),
        };
        assert!(err.is_retryable());
        assert_eq!(err.reason(), "VultrRateLimited");
        assert_eq!(
            err.to_string(),
            "vultr list_records example.com records: 429 Too Many Requests: Rate limit reached"
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn fqdn_in_zone_becomes_its_relative_name(
                name in "([a-z0-9_*-]{1,10})(\\.[a-z0-9-]{1,10}){0,2}",
                zone in "[a-z0-9-]{1,10}\\.[a-z]{2,6}",
            ) {
                prop_assert_eq!(wire_name(&zone, &format!("{name}.{zone}")), name.clone());
                prop_assert_eq!(wire_name(&zone, &format!("{name}.{zone}.")), name.clone());
                // A relative name passes unchanged, unless it happens to end in the zone.
                if !name.ends_with(&format!(".{zone}")) && name != zone {
                    prop_assert_eq!(wire_name(&zone, &name), name);
                }
            }
        }
    }
}
