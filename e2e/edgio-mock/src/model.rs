//! The Delivery Service Instance: its stored shape, and the validation the real API enforces.
//! `body` is kept as raw JSON so unknown fields survive a round trip; `DeliveryBody` is the typed
//! view the duplicate check and the edge need.

use std::net::IpAddr;

use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub created_by: String,
    pub created_date: u64,
    pub version_number: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub shortname: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub uuid: String,
    pub is_latest: bool,
    pub is_enabled: bool,
    pub revision: Revision,
    pub meta: Value,
    pub status: Status,
    pub accounts: Vec<Account>,
    pub shortname: String,
    pub body: Map<String, Value>,
}

pub fn meta() -> Value {
    serde_json::json!({
        "manifestVersion": "4",
        "serviceIdentifier": "deliverysvcinst",
        "serviceKey": "delivery"
    })
}

/// One `{"field": .., "message": ..}` entry of an error body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn fe(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Https,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }
    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Http => 80,
            Protocol::Https => 443,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolSet {
    pub published_protocol: Protocol,
    pub source_protocol: Protocol,
    pub source_port: Option<u16>,
    /// `(name, value)` pairs of `req_send_header` options.
    pub req_headers: Vec<(HeaderName, HeaderValue)>,
    /// `(name, value)` pairs of `reply_send_header` options.
    pub reply_headers: Vec<(HeaderName, HeaderValue)>,
}

impl ProtocolSet {
    pub fn source_port(&self) -> u16 {
        self.source_port
            .unwrap_or(self.source_protocol.default_port())
    }
}

/// The typed view of a valid `body`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryBody {
    pub published_hostname: String,
    pub published_url_path: String,
    pub source_hostname: String,
    pub source_url_path: String,
    pub protocol_sets: Vec<ProtocolSet>,
}

/// What a create/replace/validate request carries, after parsing and validation.
#[derive(Debug, Clone)]
pub struct Submission {
    pub accounts: Vec<Account>,
    pub is_enabled: Option<bool>,
    pub uuid: Option<String>,
    /// The normalised body (leading `/` on `publishedUrlPath`), unknown fields kept.
    pub body: Map<String, Value>,
    pub delivery: DeliveryBody,
}

/// Parses a request document (create, replace or validate). Accounts come from `accounts`, or
/// from a top-level `shortname` when `accounts` is absent; `fallback_accounts` (the stored
/// instance's, on replace) is used when neither is given.
pub fn parse_submission(
    doc: &Value,
    fallback_accounts: Option<&[Account]>,
) -> Result<Submission, Vec<FieldError>> {
    let Some(obj) = doc.as_object() else {
        return Err(vec![fe("", "the request body must be a JSON object")]);
    };
    let mut errors = Vec::new();

    let accounts = match obj.get("accounts") {
        Some(Value::Array(items)) => {
            let mut accounts = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.get("shortname").and_then(Value::as_str) {
                    Some(s) if !s.trim().is_empty() => accounts.push(Account {
                        shortname: s.to_string(),
                    }),
                    _ => errors.push(fe(
                        format!("accounts[{i}].shortname"),
                        "must be a non-empty string",
                    )),
                }
            }
            if items.is_empty() {
                errors.push(fe("accounts", "must name at least one account"));
            }
            accounts
        }
        Some(Value::Null) | None => match obj.get("shortname").and_then(Value::as_str) {
            Some(s) if !s.trim().is_empty() => vec![Account {
                shortname: s.to_string(),
            }],
            _ => match fallback_accounts {
                Some(a) => a.to_vec(),
                None => {
                    errors.push(fe("accounts", "is required: [{\"shortname\": \"...\"}]"));
                    Vec::new()
                }
            },
        },
        Some(_) => {
            errors.push(fe(
                "accounts",
                "must be an array of {\"shortname\": \"...\"}",
            ));
            Vec::new()
        }
    };

    let is_enabled = match obj.get("isEnabled") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(fe("isEnabled", "must be a boolean"));
            None
        }
    };
    let uuid = match obj.get("uuid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(fe("uuid", "must be a string"));
            None
        }
    };

    let body = match obj.get("body") {
        Some(Value::Object(b)) => Some(normalise_body(b.clone())),
        Some(_) => {
            errors.push(fe("body", "must be an object"));
            None
        }
        None => {
            errors.push(fe("body", "is required"));
            None
        }
    };
    let delivery = body.as_ref().and_then(|b| match parse_body(b) {
        Ok(d) => Some(d),
        Err(mut e) => {
            errors.append(&mut e);
            None
        }
    });

    match (body, delivery) {
        (Some(body), Some(delivery)) if errors.is_empty() => Ok(Submission {
            accounts,
            is_enabled,
            uuid,
            body,
            delivery,
        }),
        _ => Err(errors),
    }
}

/// The server prepends `/` to a `publishedUrlPath` that lacks it.
fn normalise_body(mut body: Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::String(p)) = body.get_mut("publishedUrlPath")
        && !p.starts_with('/')
    {
        p.insert(0, '/');
    }
    body
}

/// Validates a (normalised) `body` and returns its typed view; field names are `body.`-prefixed.
pub fn parse_body(body: &Map<String, Value>) -> Result<DeliveryBody, Vec<FieldError>> {
    let mut errors = Vec::new();

    match body.get("serviceKey").and_then(|k| k.get("name")) {
        Some(Value::String(n)) if n == "delivery" => {}
        Some(_) => errors.push(fe("body.serviceKey.name", "must be \"delivery\"")),
        None => errors.push(fe(
            "body.serviceKey",
            "is required: {\"name\": \"delivery\"}",
        )),
    }
    if let Some(v) = body.get("serviceProfileName")
        && !v.is_string()
        && !v.is_null()
    {
        errors.push(fe("body.serviceProfileName", "must be a string"));
    }

    let mut hostname = |field: &str| -> String {
        match body.get(field) {
            Some(Value::String(h)) => {
                if let Err(msg) = check_hostname(h) {
                    errors.push(fe(format!("body.{field}"), msg));
                }
                h.clone()
            }
            Some(_) => {
                errors.push(fe(format!("body.{field}"), "must be a string"));
                String::new()
            }
            None => {
                errors.push(fe(format!("body.{field}"), "is required"));
                String::new()
            }
        }
    };
    let published_hostname = hostname("publishedHostname");
    let source_hostname = hostname("sourceHostname");

    let published_url_path = match body.get("publishedUrlPath") {
        Some(Value::String(p)) => {
            if let Err(msg) = check_path(p) {
                errors.push(fe("body.publishedUrlPath", msg));
            }
            p.clone()
        }
        Some(_) => {
            errors.push(fe("body.publishedUrlPath", "must be a string"));
            String::new()
        }
        None => {
            errors.push(fe("body.publishedUrlPath", "is required"));
            String::new()
        }
    };
    let source_url_path = match body.get("sourceUrlPath") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(p)) => {
            if !p.is_empty()
                && let Err(msg) = check_path(p)
            {
                errors.push(fe("body.sourceUrlPath", msg));
            }
            p.clone()
        }
        Some(_) => {
            errors.push(fe("body.sourceUrlPath", "must be a string"));
            String::new()
        }
    };

    let mut protocol_sets = Vec::new();
    match body.get("protocolSets") {
        Some(Value::Array(sets)) => {
            if sets.is_empty() || sets.len() > 2 {
                errors.push(fe(
                    "body.protocolSets",
                    format!("must have 1 or 2 entries, got {}", sets.len()),
                ));
            }
            for (i, set) in sets.iter().enumerate() {
                if let Some(ps) =
                    parse_protocol_set(&format!("body.protocolSets[{i}]"), set, &mut errors)
                {
                    if protocol_sets
                        .iter()
                        .any(|p: &ProtocolSet| p.published_protocol == ps.published_protocol)
                    {
                        errors.push(fe(
                            format!("body.protocolSets[{i}].publishedProtocol"),
                            format!(
                                "{} is already published by another protocol set",
                                ps.published_protocol.as_str()
                            ),
                        ));
                    }
                    protocol_sets.push(ps);
                }
            }
        }
        Some(_) => errors.push(fe("body.protocolSets", "must be an array")),
        None => errors.push(fe("body.protocolSets", "is required")),
    }

    if errors.is_empty() {
        Ok(DeliveryBody {
            published_hostname,
            published_url_path,
            source_hostname,
            source_url_path,
            protocol_sets,
        })
    } else {
        Err(errors)
    }
}

fn parse_protocol_set(
    prefix: &str,
    set: &Value,
    errors: &mut Vec<FieldError>,
) -> Option<ProtocolSet> {
    let Some(obj) = set.as_object() else {
        errors.push(fe(prefix, "must be an object"));
        return None;
    };
    let before = errors.len();
    let mut protocol = |field: &str| match obj.get(field).and_then(Value::as_str) {
        Some("http") => Some(Protocol::Http),
        Some("https") => Some(Protocol::Https),
        _ => {
            errors.push(fe(
                format!("{prefix}.{field}"),
                "must be \"http\" or \"https\"",
            ));
            None
        }
    };
    let published = protocol("publishedProtocol");
    let source = protocol("sourceProtocol");
    let mut port = |field: &str| -> Option<u16> {
        match obj.get(field) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64().and_then(|p| u16::try_from(p).ok()) {
                Some(p) if p >= 1 => Some(p),
                _ => {
                    errors.push(fe(
                        format!("{prefix}.{field}"),
                        "must be an integer from 1 to 65535 or null",
                    ));
                    None
                }
            },
        }
    };
    let _published_port = port("publishedPort");
    let source_port = port("sourcePort");

    let mut req_headers = Vec::new();
    let mut reply_headers = Vec::new();
    match obj.get("options") {
        None | Some(Value::Null) => {}
        Some(Value::Array(options)) => {
            for (i, opt) in options.iter().enumerate() {
                let at = format!("{prefix}.options[{i}]");
                let Some(name) = opt.get("name").and_then(Value::as_str) else {
                    errors.push(fe(format!("{at}.name"), "must be a string"));
                    continue;
                };
                let params: Vec<String> = match opt.get("parameters") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(ps)) => {
                        let mut out = Vec::new();
                        for (j, p) in ps.iter().enumerate() {
                            match p {
                                Value::String(s) => out.push(s.clone()),
                                Value::Number(n) if n.is_i64() || n.is_u64() => {
                                    out.push(n.to_string())
                                }
                                _ => errors.push(fe(
                                    format!("{at}.parameters[{j}]"),
                                    "must be a string or an integer",
                                )),
                            }
                        }
                        out
                    }
                    Some(_) => {
                        errors.push(fe(format!("{at}.parameters"), "must be an array"));
                        continue;
                    }
                };
                if name == "req_send_header" || name == "reply_send_header" {
                    match header_pair(&params) {
                        Ok(pair) if name == "req_send_header" => req_headers.push(pair),
                        Ok(pair) => reply_headers.push(pair),
                        Err(msg) => errors.push(fe(format!("{at}.parameters"), msg)),
                    }
                }
            }
        }
        Some(_) => errors.push(fe(format!("{prefix}.options"), "must be an array")),
    }

    if errors.len() > before {
        return None;
    }
    Some(ProtocolSet {
        published_protocol: published?,
        source_protocol: source?,
        source_port,
        req_headers,
        reply_headers,
    })
}

fn header_pair(params: &[String]) -> Result<(HeaderName, HeaderValue), String> {
    let [name, value] = params else {
        return Err(format!(
            "needs exactly 2 parameters [header name, value], got {}",
            params.len()
        ));
    };
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not a valid header name"))?;
    let value = HeaderValue::from_str(value)
        .map_err(|_| format!("{value:?} is not a valid header value"))?;
    Ok((name, value))
}

/// A DNS hostname with at least two labels; IP addresses are rejected.
pub fn check_hostname(h: &str) -> Result<(), String> {
    let trimmed = h.strip_suffix('.').unwrap_or(h);
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    let unbracketed = trimmed.trim_start_matches('[').trim_end_matches(']');
    if unbracketed.parse::<IpAddr>().is_ok() {
        return Err(format!("{h:?} is an IP address; a hostname is required"));
    }
    if trimmed.len() > 253 {
        return Err(format!("{h:?} is longer than 253 characters"));
    }
    let labels: Vec<&str> = trimmed.split('.').collect();
    if labels.len() < 2 {
        return Err(format!(
            "{h:?} is not a fully qualified domain name (needs a dot)"
        ));
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!("{h:?} has an invalid label {label:?}"));
        }
    }
    if labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("{h:?} has an all-numeric top-level label"));
    }
    Ok(())
}

fn check_path(p: &str) -> Result<(), String> {
    if p.bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'?' || b == b'#')
    {
        return Err(format!(
            "{p:?} must not contain whitespace, control characters, '?' or '#'"
        ));
    }
    if p.len() > 2048 {
        return Err("is longer than 2048 characters".into());
    }
    Ok(())
}

/// Case-insensitive hostname comparison ignoring a trailing dot.
pub fn same_host(a: &str, b: &str) -> bool {
    a.strip_suffix('.')
        .unwrap_or(a)
        .eq_ignore_ascii_case(b.strip_suffix('.').unwrap_or(b))
}

/// Do two bodies publish the same (host, path, protocol)? Returns the shared protocol.
pub fn collides(a: &DeliveryBody, b: &DeliveryBody) -> Option<Protocol> {
    if !same_host(&a.published_hostname, &b.published_hostname)
        || a.published_url_path != b.published_url_path
    {
        return None;
    }
    a.protocol_sets.iter().find_map(|pa| {
        b.protocol_sets
            .iter()
            .any(|pb| pb.published_protocol == pa.published_protocol)
            .then_some(pa.published_protocol)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "accounts": [{"shortname": "demo"}],
            "body": {
                "serviceKey": {"name": "delivery"},
                "serviceProfileName": "LLNW-Generic",
                "publishedHostname": "demo.s.llnwi.net",
                "publishedUrlPath": "fred",
                "sourceHostname": "origin.example.com",
                "sourceUrlPath": "",
                "protocolSets": [{
                    "publishedProtocol": "http", "sourceProtocol": "http",
                    "sourcePort": 30080,
                    "options": [{"name": "req_send_header", "parameters": ["X-Name", "v"]},
                                {"name": "some_option", "parameters": [1, "x"]}]
                }],
                "futureField": {"kept": true}
            }
        })
    }

    #[test]
    fn valid_submission_gets_leading_slash_and_keeps_unknown_fields() {
        let s = parse_submission(&doc(), None).unwrap();
        assert_eq!(s.delivery.published_url_path, "/fred");
        assert_eq!(s.body["publishedUrlPath"], "/fred");
        assert_eq!(s.body["futureField"]["kept"], true);
        assert_eq!(s.delivery.protocol_sets[0].source_port(), 30080);
        assert_eq!(s.delivery.protocol_sets[0].req_headers.len(), 1);
    }

    #[test]
    fn invalid_fields_are_all_reported_with_their_paths() {
        let mut d = doc();
        d["body"]["publishedHostname"] = json!("10.0.0.1");
        d["body"]["serviceKey"]["name"] = json!("other");
        d["body"]["protocolSets"][0]["sourceProtocol"] = json!("ftp");
        d["body"]["protocolSets"][0]["sourcePort"] = json!(70000);
        let errs = parse_submission(&d, None).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"body.publishedHostname"), "{fields:?}");
        assert!(fields.contains(&"body.serviceKey.name"), "{fields:?}");
        assert!(
            fields.contains(&"body.protocolSets[0].sourceProtocol"),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"body.protocolSets[0].sourcePort"),
            "{fields:?}"
        );
    }

    #[test]
    fn protocol_set_count_must_be_one_or_two() {
        let mut d = doc();
        d["body"]["protocolSets"] = json!([]);
        assert!(parse_submission(&d, None).is_err());
        let set = doc()["body"]["protocolSets"][0].clone();
        let mut https = set.clone();
        https["publishedProtocol"] = json!("https");
        d["body"]["protocolSets"] = json!([set.clone(), https.clone(), set]);
        assert!(parse_submission(&d, None).is_err());
    }

    #[test]
    fn hostnames_must_be_fqdns_not_ips() {
        assert!(check_hostname("demo.s.llnwi.net").is_ok());
        assert!(check_hostname("origin.example.com.").is_ok());
        assert!(check_hostname("::1").is_err());
        assert!(check_hostname("1.2.3.4").is_err());
        assert!(check_hostname("localhost").is_err());
        assert!(check_hostname("bad_label.example.com").is_err());
        assert!(check_hostname("-a.example.com").is_err());
    }

    #[test]
    fn bad_header_option_is_rejected() {
        let mut d = doc();
        d["body"]["protocolSets"][0]["options"] =
            json!([{"name": "req_send_header", "parameters": ["Bad Name", "v"]}]);
        let errs = parse_submission(&d, None).unwrap_err();
        assert_eq!(errs[0].field, "body.protocolSets[0].options[0].parameters");
    }

    #[test]
    fn missing_accounts_fall_back_to_shortname_then_stored_accounts() {
        let mut d = doc();
        d.as_object_mut().unwrap().remove("accounts");
        assert!(parse_submission(&d, None).is_err());
        let stored = vec![Account {
            shortname: "demo".into(),
        }];
        assert_eq!(
            parse_submission(&d, Some(&stored)).unwrap().accounts,
            stored
        );
        d["shortname"] = json!("other");
        assert_eq!(
            parse_submission(&d, None).unwrap().accounts[0].shortname,
            "other"
        );
    }

    #[test]
    fn collision_needs_same_host_path_and_a_shared_protocol() {
        let a = parse_submission(&doc(), None).unwrap().delivery;
        let mut b = a.clone();
        b.published_hostname = "DEMO.s.llnwi.net.".into();
        assert_eq!(collides(&a, &b), Some(Protocol::Http));
        b.protocol_sets[0].published_protocol = Protocol::Https;
        assert_eq!(collides(&a, &b), None);
        let mut c = a.clone();
        c.published_url_path = "/fred2".into();
        assert_eq!(collides(&a, &c), None);
    }
}
