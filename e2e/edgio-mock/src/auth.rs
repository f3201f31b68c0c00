//! HMAC-SHA256 request authentication, exactly as the Config API specifies:
//! `hex(HMAC(hexdecode(key), METHOD + URL_WITHOUT_QUERY + RAW_QUERY + TIMESTAMP_MS + RAW_BODY))`.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

use crate::cli::User;

pub const PRINCIPAL: &str = "x-llnw-security-principal";
pub const TIMESTAMP: &str = "x-llnw-security-timestamp";
pub const TOKEN: &str = "x-llnw-security-token";

/// Replay window, both into the past and into the future.
pub const WINDOW_MS: u64 = 300_000;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthError {
    #[error("missing or non-ASCII header {0}")]
    MissingHeader(&'static str),
    #[error("{TIMESTAMP} {0:?} is not a decimal epoch time in milliseconds")]
    BadTimestamp(String),
    #[error("{TIMESTAMP} is {0} ms in the past, outside the 300 s window")]
    Stale(u64),
    #[error("{TIMESTAMP} is {0} ms in the future, outside the 300 s window")]
    Future(u64),
    #[error("unknown principal {0:?}")]
    UnknownPrincipal(String),
    #[error("{TOKEN} does not match the request signature")]
    BadToken,
}

/// The scheme, authority and path prefix a client uses to reach us, from `--public-base-url`.
#[derive(Debug, Clone)]
pub struct PublicBase {
    scheme: String,
    authority: String,
    path_prefix: String,
}

impl PublicBase {
    pub fn parse(s: &str) -> Result<PublicBase, String> {
        let url = url::Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
        let scheme = url.scheme().to_string();
        if scheme != "http" && scheme != "https" {
            return Err(format!("{s:?} must be an http or https URL"));
        }
        let host = url.host_str().ok_or_else(|| format!("{s:?} has no host"))?;
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{s:?} must not have a query or fragment"));
        }
        Ok(PublicBase {
            scheme,
            authority,
            path_prefix: url.path().trim_end_matches('/').to_string(),
        })
    }
}

/// The absolute URLs (without query) the client may have signed for a request to `path`.
///
/// With a public base its scheme and authority replace ours; its path is a prefix a proxy may
/// have stripped, prepended unless the path already carries it. Otherwise the scheme is
/// `X-Forwarded-Proto` or `http`, and the authority is the `Host` header. Each URL is offered
/// with and without the scheme's default port, since clients differ on which one they sign.
pub fn candidate_urls(
    public: Option<&PublicBase>,
    headers: &HeaderMap,
    uri_authority: Option<&str>,
    path: &str,
) -> Vec<String> {
    let (scheme, authority, full_path) = match public {
        Some(p) => {
            let full = if p.path_prefix.is_empty() || path.starts_with(&p.path_prefix) {
                path.to_string()
            } else {
                format!("{}{path}", p.path_prefix)
            };
            (p.scheme.clone(), p.authority.clone(), full)
        }
        None => {
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| s == "http" || s == "https")
                .unwrap_or_else(|| "http".to_string());
            let authority = uri_authority
                .map(str::to_string)
                .or_else(|| {
                    headers
                        .get(http::header::HOST)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                })
                .unwrap_or_default();
            (scheme, authority, path.to_string())
        }
    };
    let default_port = if scheme == "https" { "443" } else { "80" };
    let (host, port) = split_authority(&authority);
    let mut authorities = vec![authority.clone()];
    match port {
        None => authorities.push(format!("{host}:{default_port}")),
        Some(p) if p == default_port => authorities.push(host.to_string()),
        Some(_) => {}
    }
    authorities
        .into_iter()
        .map(|a| format!("{scheme}://{a}{full_path}"))
        .collect()
}

/// `host[:port]` → (host, port); handles bracketed IPv6 literals.
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    let after_bracket = authority.rfind(']').map(|i| i + 1).unwrap_or(0);
    match authority[after_bracket..].rfind(':') {
        Some(i) => {
            let at = after_bracket + i;
            (&authority[..at], Some(&authority[at + 1..]))
        }
        None => (authority, None),
    }
}

/// The lowercase hex token a client computes.
#[cfg(test)]
pub fn sign(
    key: &[u8],
    method: &str,
    url: &str,
    raw_query: &str,
    timestamp: &str,
    body: &[u8],
) -> String {
    hex::encode(
        mac(key, method, url, raw_query, timestamp, body)
            .finalize()
            .into_bytes(),
    )
}

fn mac(
    key: &[u8],
    method: &str,
    url: &str,
    raw_query: &str,
    timestamp: &str,
    body: &[u8],
) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(method.to_ascii_uppercase().as_bytes());
    m.update(url.as_bytes());
    m.update(raw_query.as_bytes());
    m.update(timestamp.as_bytes());
    m.update(body);
    m
}

/// Checks the three security headers; returns the authenticated user.
pub fn verify<'u>(
    users: &'u [User],
    headers: &HeaderMap,
    method: &str,
    urls: &[String],
    raw_query: &str,
    body: &[u8],
    now_ms: u64,
) -> Result<&'u User, AuthError> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(AuthError::MissingHeader(name))
    };
    let principal = header(PRINCIPAL)?;
    let timestamp = header(TIMESTAMP)?;
    let token = header(TOKEN)?;

    if !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::BadTimestamp(timestamp.to_string()));
    }
    let ts: u64 = timestamp
        .parse()
        .map_err(|_| AuthError::BadTimestamp(timestamp.to_string()))?;
    if ts.saturating_add(WINDOW_MS) < now_ms {
        return Err(AuthError::Stale(now_ms - ts));
    }
    if ts > now_ms.saturating_add(WINDOW_MS) {
        return Err(AuthError::Future(ts - now_ms));
    }

    let user = users
        .iter()
        .find(|u| u.name == principal)
        .ok_or_else(|| AuthError::UnknownPrincipal(principal.to_string()))?;
    let given = hex::decode(token).map_err(|_| AuthError::BadToken)?;
    // The body DELETE carries (`null` or nothing) is hashed as sent, so both forms verify.
    for url in urls {
        if mac(&user.key, method, url, raw_query, timestamp, body)
            .verify_slice(&given)
            .is_ok()
        {
            return Ok(user);
        }
    }
    Err(AuthError::BadToken)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "00112233445566778899aabbccddeeff";
    const TS: &str = "1664380000000";
    const BASE: &str = "https://apis.llnw.com/config-api/v1/svcinst/delivery";

    fn key() -> Vec<u8> {
        hex::decode(KEY).unwrap()
    }

    #[test]
    fn spec_vectors_produce_the_published_tokens() {
        let url1 = format!("{BASE}/shortname/cstradtman/searchAuto");
        let q1 = "body.publishedUrlPath=%2Fbob&body.publishedHostname=cstradtman.s.llnwi.net";
        assert_eq!(
            sign(&key(), "GET", &url1, q1, TS, b""),
            "4611841d1314d4f2515bdf83d27b87f7c1c57704a121b31c0a0d222f69ca7862"
        );
        assert_eq!(
            sign(
                &key(),
                "POST",
                BASE,
                "",
                TS,
                br#"{"accounts":[{"shortname":"demo"}]}"#
            ),
            "876403dc18cf7df04ab959d37730209adead975978dbdd35e27356a706a59b9e"
        );
        let url3 = format!("{BASE}/6f1c2d3e-0000-4000-8000-000000000001");
        assert_eq!(
            sign(&key(), "DELETE", &url3, "", TS, b"null"),
            "eb48171816757adecc6afe004f588e75de9364ffae137ce38c34c7a10f3119c2"
        );
        assert_eq!(
            sign(&key(), "DELETE", &url3, "", TS, b""),
            "c891b89da7ebe9433d954b29230d8cdcaf3b0eea04e79398c9adcd03cbeaa18c"
        );
    }

    fn headers(ts: &str, token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(PRINCIPAL, "demo".parse().unwrap());
        h.insert(TIMESTAMP, ts.parse().unwrap());
        h.insert(TOKEN, token.parse().unwrap());
        h
    }

    fn users() -> Vec<User> {
        vec![User {
            name: "demo".into(),
            key: key(),
            shortnames: ["demo".to_string()].into(),
        }]
    }

    #[test]
    fn window_rejects_stale_and_future_timestamps() {
        let urls = vec![BASE.to_string()];
        let now = 1_664_380_000_000u64;
        let token = sign(&key(), "GET", BASE, "", TS, b"");
        let u = users();
        // The same request signed at TS, checked by a server whose clock reads `server_ms`.
        let check_at =
            |server_ms| verify(&u, &headers(TS, &token), "GET", &urls, "", b"", server_ms);
        assert!(check_at(now + WINDOW_MS).is_ok());
        assert!(matches!(
            check_at(now + WINDOW_MS + 1),
            Err(AuthError::Stale(_))
        ));
        assert!(matches!(
            check_at(now - WINDOW_MS - 1),
            Err(AuthError::Future(_))
        ));
    }

    #[test]
    fn candidate_urls_cover_default_port_both_ways() {
        let mut h = HeaderMap::new();
        h.insert(http::header::HOST, "mock.local".parse().unwrap());
        let urls = candidate_urls(None, &h, None, "/config-api/v1/x");
        assert_eq!(
            urls,
            vec![
                "http://mock.local/config-api/v1/x".to_string(),
                "http://mock.local:80/config-api/v1/x".to_string()
            ]
        );
        let public = PublicBase::parse("https://apis.llnw.com:443/config-api/v1/").unwrap();
        let urls = candidate_urls(Some(&public), &h, None, "/config-api/v1/x");
        assert!(urls.contains(&"https://apis.llnw.com/config-api/v1/x".to_string()));
        assert!(urls.contains(&"https://apis.llnw.com:443/config-api/v1/x".to_string()));
        let stripped = candidate_urls(Some(&public), &h, None, "/x");
        assert_eq!(stripped[0], "https://apis.llnw.com/config-api/v1/x");
    }

    #[test]
    fn ipv6_authority_splits_port_after_bracket() {
        assert_eq!(split_authority("[::1]:8081"), ("[::1]", Some("8081")));
        assert_eq!(split_authority("[::1]"), ("[::1]", None));
        assert_eq!(split_authority("h:80"), ("h", Some("80")));
    }
}
