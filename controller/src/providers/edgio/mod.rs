//! Providers: the Edgio Delivery (Limelight) Configuration API client. Every call is signed with
//! HMAC-SHA256 over the exact URL, query string and body bytes it sends (see `signing`).
//! Contract: `shared/specs/edgio-config-api.md`; retry and error behaviour: `controller/PROVIDERS.md`.

pub mod model;
pub mod signing;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;

pub use model::{
    Account, Extra, FieldError, Instance, InstanceBody, InstanceStatus, Meta, Page, ProtocolOption,
    ProtocolSet, Revision, ServiceKey, Validation,
};

use super::transport::{
    Idempotency, RawResponse, RetryPolicy, SendError, TokenBucket, Transport, excerpt, http_client,
    normalise_base_url, server_message, status_line,
};
use super::{CallObserver, NoopObserver};

/// The public Edgio Configuration API base.
pub const DEFAULT_BASE_URL: &str = "https://apis.llnw.com/config-api/v1";
/// Page size `list_all` asks for (the API's default).
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Stop paging after this many pages: a server that ignores `page` must not loop us forever.
const MAX_PAGES: u32 = 10_000;

/// Settings of an [`EdgioClient`].
#[derive(Clone)]
pub struct EdgioConfig {
    /// E.g. `https://apis.llnw.com/config-api/v1`; a trailing `/` is dropped.
    pub base_url: String,
    /// Sent as `X-LLNW-Security-Principal`.
    pub username: String,
    /// The shared key, hex (decoded to bytes for the HMAC key).
    pub shared_key_hex: String,
    /// Per-attempt timeout (connect to last body byte).
    pub timeout: Duration,
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// Client-side limit, shared by all clones of one client; `0` disables it.
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

impl EdgioConfig {
    /// Defaults: 30 s timeout, 4 retries, 10 requests/s with a burst of 5, backoff 250 ms
    /// doubling to 10 s, `Retry-After` honoured up to 60 s.
    pub fn new(
        base_url: impl Into<String>,
        username: impl Into<String>,
        shared_key_hex: impl Into<String>,
    ) -> Self {
        EdgioConfig {
            base_url: base_url.into(),
            username: username.into(),
            shared_key_hex: shared_key_hex.into(),
            timeout: Duration::from_secs(30),
            max_retries: 4,
            requests_per_second: 10.0,
            burst: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl std::fmt::Debug for EdgioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgioConfig")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("shared_key_hex", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("requests_per_second", &self.requests_per_second)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

/// Errors of the Edgio client. Each names the call (`create`, `get`, ...) and the object.
#[derive(Debug, thiserror::Error)]
pub enum EdgioError {
    /// Bad settings (base URL, key, username); nothing was sent.
    #[error("invalid Edgio client configuration: {0}")]
    Config(String),
    /// The request could not be built (e.g. an invalid URL); nothing was sent.
    #[error("edgio {call} {target}: cannot build request: {detail}")]
    Request {
        call: &'static str,
        target: String,
        detail: String,
    },
    /// The server answered with a non-success status (after any retries).
    #[error("edgio {call} {target}: {}: {message}", status_line(*.status))]
    Status {
        call: &'static str,
        target: String,
        status: u16,
        message: String,
    },
    /// No response: connection error or timeout (after any retries).
    #[error("edgio {call} {target}: no response: {source}")]
    Transport {
        call: &'static str,
        target: String,
        #[source]
        source: reqwest::Error,
    },
    /// A success status with a body that is not the expected JSON.
    #[error("edgio {call} {target}: unexpected response body ({status}): {detail}")]
    Decode {
        call: &'static str,
        target: String,
        status: u16,
        detail: String,
    },
}

impl EdgioError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            EdgioError::Status { status, .. } | EdgioError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Worth trying again later: 429, 408, 5xx, timeouts and connection errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            EdgioError::Status { status, .. } => matches!(*status, 408 | 429 | 500..=599),
            EdgioError::Transport { .. } => true,
            _ => false,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// 409: a rule with the same published host, path and protocol exists.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Short CamelCase reason, used as metric label and Kubernetes Event reason.
    pub fn reason(&self) -> &'static str {
        match self {
            EdgioError::Config(_) | EdgioError::Request { .. } => "EdgioConfigInvalid",
            EdgioError::Transport { .. } => "ProviderUnavailable",
            EdgioError::Decode { .. } => "EdgioBadResponse",
            EdgioError::Status { status, .. } => match *status {
                400 | 422 => "EdgioInvalidRule",
                401 => "EdgioUnauthorized",
                403 => "EdgioForbidden",
                404 => "EdgioNotFound",
                409 => "EdgioConflict",
                429 => "EdgioRateLimited",
                408 | 500..=599 => "ProviderUnavailable",
                _ => "EdgioRequestFailed",
            },
        }
    }

    /// The server's message, when it answered with an error.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            EdgioError::Status { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// Client of the Edgio Configuration API. Cheap to clone; clones share the rate limit.
#[derive(Clone)]
pub struct EdgioClient {
    base_url: Arc<str>,
    username: HeaderValue,
    key: Arc<[u8]>,
    transport: Transport,
}

impl std::fmt::Debug for EdgioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgioClient")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// One call's identity, for errors and the observer.
struct Call<'a> {
    op: &'static str,
    target: &'a str,
}

impl Call<'_> {
    fn status_error(&self, resp: &RawResponse) -> EdgioError {
        EdgioError::Status {
            call: self.op,
            target: self.target.to_owned(),
            status: resp.status,
            message: server_message(&resp.body),
        }
    }

    /// `Ok` on a 2xx; any other status is a `Status` error with the server's message.
    fn check(&self, resp: &RawResponse) -> Result<(), EdgioError> {
        if is_success(resp.status) {
            Ok(())
        } else {
            Err(self.status_error(resp))
        }
    }

    /// The body of a 2xx response as `T`; any other status is a `Status` error.
    fn decode<T: DeserializeOwned>(&self, resp: &RawResponse) -> Result<T, EdgioError> {
        self.check(resp)?;
        serde_json::from_slice(&resp.body).map_err(|e| EdgioError::Decode {
            call: self.op,
            target: self.target.to_owned(),
            status: resp.status,
            detail: format!("{e}; body: {}", excerpt(&resp.body)),
        })
    }

    fn send_error(&self, err: SendError) -> EdgioError {
        match err {
            SendError::Build(detail) => EdgioError::Request {
                call: self.op,
                target: self.target.to_owned(),
                detail,
            },
            SendError::Transport(source) => EdgioError::Transport {
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl EdgioClient {
    /// Validates the settings (URL, hex key, username) without any network traffic.
    pub fn new(cfg: EdgioConfig) -> Result<Self, EdgioError> {
        let base_url = normalise_base_url(&cfg.base_url).map_err(EdgioError::Config)?;
        let key = signing::decode_key(&cfg.shared_key_hex)
            .map_err(|e| EdgioError::Config(format!("shared key is not valid hex: {e}")))?;
        if key.is_empty() {
            return Err(EdgioError::Config("shared key is empty".to_owned()));
        }
        if cfg.username.is_empty() {
            return Err(EdgioError::Config("username is empty".to_owned()));
        }
        let username = HeaderValue::from_str(&cfg.username).map_err(|_| {
            EdgioError::Config("username contains characters not allowed in a header".to_owned())
        })?;
        let http = http_client(
            cfg.timeout,
            concat!("edgio-ingress/", env!("CARGO_PKG_VERSION")),
        )
        .map_err(|e| EdgioError::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(EdgioClient {
            base_url: base_url.into(),
            username,
            key: key.into(),
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
                provider: "edgio",
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

    /// Sends one signed request. `path` is relative to the base and already percent-encoded;
    /// `query` is the raw query string (no `?`). The body is serialised once by the caller and
    /// these exact bytes are signed and sent; without one, the empty body is signed.
    async fn execute(
        &self,
        call: &Call<'_>,
        idem: Idempotency,
        method: Method,
        path: &str,
        query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, EdgioError> {
        let url_without_query = format!("{}/{}", self.base_url, path);
        let full = if query.is_empty() {
            url_without_query.clone()
        } else {
            format!("{url_without_query}?{query}")
        };
        let url = url::Url::parse(&full)
            .map_err(|e| call.send_error(SendError::Build(format!("invalid URL {full}: {e}"))))?;
        // The URL parser must not have changed a byte, or the server would see a different
        // string than the one signed.
        if url.as_str() != full {
            return Err(call.send_error(SendError::Build(format!(
                "URL {full} would be sent as {url}, which breaks the signature"
            ))));
        }
        let build = || -> Result<reqwest::Request, String> {
            let ts = now_ms();
            let token = signing::sign(
                &self.key,
                method.as_str(),
                &url_without_query,
                query,
                ts,
                body.as_deref().unwrap_or_default(),
            );
            let mut req = reqwest::Request::new(method.clone(), url.clone());
            let headers = req.headers_mut();
            headers.insert(signing::PRINCIPAL_HEADER, self.username.clone());
            headers.insert(signing::TIMESTAMP_HEADER, HeaderValue::from(ts));
            let mut token =
                HeaderValue::from_str(&token).map_err(|e| format!("token header: {e}"))?;
            token.set_sensitive(true);
            headers.insert(signing::TOKEN_HEADER, token);
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
            if let Some(bytes) = &body {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                *req.body_mut() = Some(reqwest::Body::from(bytes.clone()));
            }
            Ok(req)
        };
        self.transport
            .send(call.op, idem, build)
            .await
            .map_err(|e| call.send_error(e))
    }

    fn write_body(call: &Call<'_>, inst: &Instance) -> Result<Vec<u8>, EdgioError> {
        inst.to_write_json()
            .and_then(|v| serde_json::to_vec(&v))
            .map_err(|e| {
                call.send_error(SendError::Build(format!("cannot serialise instance: {e}")))
            })
    }

    /// `POST svcinst/delivery`. Retried only on 429 or when no connection was made (a retried
    /// create after a 5xx could duplicate the rule; the caller re-reads and decides).
    pub async fn create(&self, inst: &Instance) -> Result<Instance, EdgioError> {
        let target = format!("svcinst/delivery for {}", inst.describe());
        let call = Call {
            op: "create",
            target: &target,
        };
        let body = Self::write_body(&call, inst)?;
        let resp = self
            .execute(
                &call,
                Idempotency::NotIdempotent,
                Method::POST,
                "svcinst/delivery",
                "",
                Some(body),
            )
            .await?;
        call.decode(&resp)
    }

    /// `GET svcinst/delivery/{uuid}`; `None` when unknown or deleted (404).
    pub async fn get(&self, uuid: &str) -> Result<Option<Instance>, EdgioError> {
        let path = format!("svcinst/delivery/{}", signing::encode_component(uuid));
        let call = Call {
            op: "get",
            target: &path,
        };
        let resp = self
            .execute(&call, Idempotency::Idempotent, Method::GET, &path, "", None)
            .await?;
        match resp.status {
            404 => Ok(None),
            _ => call.decode(&resp).map(Some),
        }
    }

    /// `PUT svcinst/delivery/{uuid}`: replaces the rule; the answer carries the new revision.
    /// The body is `inst` without `revision`, `shortname` and `status`.
    pub async fn replace(&self, uuid: &str, inst: &Instance) -> Result<Instance, EdgioError> {
        let path = format!("svcinst/delivery/{}", signing::encode_component(uuid));
        let target = format!("{path} for {}", inst.describe());
        let call = Call {
            op: "replace",
            target: &target,
        };
        let body = Self::write_body(&call, inst)?;
        let resp = self
            .execute(
                &call,
                Idempotency::Idempotent,
                Method::PUT,
                &path,
                "",
                Some(body),
            )
            .await?;
        call.decode(&resp)
    }

    /// `DELETE svcinst/delivery/{uuid}`, sent without a body (the server accepts none or
    /// `null`). `Ok(false)` when it was already gone (404), so deletion never wedges.
    pub async fn delete(&self, uuid: &str) -> Result<bool, EdgioError> {
        let path = format!("svcinst/delivery/{}", signing::encode_component(uuid));
        let call = Call {
            op: "delete",
            target: &path,
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

    /// `GET svcinst/delivery/shortname/{shortname}?size=&page=` (`page` is 1-based).
    pub async fn list(
        &self,
        shortname: &str,
        page: u32,
        size: u32,
    ) -> Result<Page<Instance>, EdgioError> {
        let path = format!(
            "svcinst/delivery/shortname/{}",
            signing::encode_component(shortname)
        );
        let target = format!("{path} page {page}");
        let call = Call {
            op: "list",
            target: &target,
        };
        let query = format!("size={size}&page={page}");
        let resp = self
            .execute(
                &call,
                Idempotency::Idempotent,
                Method::GET,
                &path,
                &query,
                None,
            )
            .await?;
        call.decode(&resp)
    }

    /// Every instance of the account, paging (size 100). Stops at an empty page, once `total`
    /// instances have been read, or (when the server sends no `total`) at a page shorter than
    /// the page size the server reports (it may cap `size` below what was asked).
    pub async fn list_all(&self, shortname: &str) -> Result<Vec<Instance>, EdgioError> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let got = self.list(shortname, page, DEFAULT_PAGE_SIZE).await?;
            let n = got.results.len();
            let page_size = got
                .size
                .filter(|s| *s > 0)
                .unwrap_or(u64::from(DEFAULT_PAGE_SIZE));
            all.extend(got.results);
            let done = match got.total {
                Some(total) => all.len() as u64 >= total,
                None => (n as u64) < page_size,
            };
            if n == 0 || done {
                return Ok(all);
            }
        }
        Err(EdgioError::Decode {
            call: "list_all",
            target: format!("svcinst/delivery/shortname/{shortname}"),
            status: 200,
            detail: format!("still more results after {MAX_PAGES} pages; server ignores paging?"),
        })
    }

    /// `GET svcinst/delivery/shortname/{shortname}/searchAuto?body.<field>=<value>&...`: the
    /// instances whose body fields equal every given value. Field names are body field names
    /// (`publishedHostname`); a `body.` prefix is added unless present.
    pub async fn search(
        &self,
        shortname: &str,
        fields: &[(&str, &str)],
    ) -> Result<Vec<Instance>, EdgioError> {
        let path = format!(
            "svcinst/delivery/shortname/{}/searchAuto",
            signing::encode_component(shortname)
        );
        let keys: Vec<String> = fields
            .iter()
            .map(|(k, _)| {
                if k.starts_with("body.") {
                    (*k).to_owned()
                } else {
                    format!("body.{k}")
                }
            })
            .collect();
        let pairs: Vec<(&str, &str)> = keys
            .iter()
            .zip(fields)
            .map(|(k, (_, v))| (k.as_str(), *v))
            .collect();
        let query = signing::encode_query(&pairs);
        let described: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let target = format!("{path} for {}", described.join(","));
        let call = Call {
            op: "search",
            target: &target,
        };
        let resp = self
            .execute(
                &call,
                Idempotency::Idempotent,
                Method::GET,
                &path,
                &query,
                None,
            )
            .await?;
        call.decode::<Page<Instance>>(&resp).map(|p| p.results)
    }

    /// `POST svcinst/delivery/validate`: the server's verdict on `inst` (no side effects, so it
    /// is retried like a read).
    pub async fn validate(&self, inst: &Instance) -> Result<Validation, EdgioError> {
        let target = format!("svcinst/delivery/validate for {}", inst.describe());
        let call = Call {
            op: "validate",
            target: &target,
        };
        let body = Self::write_body(&call, inst)?;
        let resp = self
            .execute(
                &call,
                Idempotency::Idempotent,
                Method::POST,
                "svcinst/delivery/validate",
                "",
                Some(body),
            )
            .await?;
        call.decode(&resp)
    }

    /// `GET health/check`: `Ok` on any 2xx.
    pub async fn health(&self) -> Result<(), EdgioError> {
        let call = Call {
            op: "health",
            target: "health/check",
        };
        let resp = self
            .execute(
                &call,
                Idempotency::Idempotent,
                Method::GET,
                "health/check",
                "",
                None,
            )
            .await?;
        call.check(&resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_loses_trailing_slash_and_default_port() {
        assert_eq!(
            normalise_base_url("https://APIS.llnw.com:443/config-api/v1/").unwrap(),
            "https://apis.llnw.com/config-api/v1"
        );
        assert_eq!(
            normalise_base_url("http://127.0.0.1:8081/config-api/v1").unwrap(),
            "http://127.0.0.1:8081/config-api/v1"
        );
        assert!(normalise_base_url("ftp://x/y").is_err());
        assert!(normalise_base_url("not a url").is_err());
    }

    #[test]
    fn bad_hex_key_is_a_config_error() {
        let err = EdgioClient::new(EdgioConfig::new(DEFAULT_BASE_URL, "demo", "zz")).unwrap_err();
        assert!(matches!(err, EdgioError::Config(_)), "{err}");
        assert_eq!(err.reason(), "EdgioConfigInvalid");
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let cfg = EdgioConfig::new(DEFAULT_BASE_URL, "demo", "00112233445566778899aabbccddeeff");
        assert!(!format!("{cfg:?}").contains("0011223344"));
        let client = EdgioClient::new(cfg).unwrap();
        assert!(!format!("{client:?}").contains("0011223344"));
    }

    #[test]
    fn status_error_names_call_object_status_and_message() {
        let err = EdgioError::Status {
            call: "create",
            target: "svcinst/delivery for demo.s.llnwi.net/fred".into(),
            status: 409,
            message: "duplicate of 6f1c".into(),
        };
        assert_eq!(
            err.to_string(),
            "edgio create svcinst/delivery for demo.s.llnwi.net/fred: 409 Conflict: duplicate of 6f1c"
        );
        assert!(err.is_conflict() && !err.is_retryable());
        assert_eq!(err.reason(), "EdgioConflict");
    }
}
