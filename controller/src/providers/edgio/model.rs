//! Providers: the Edgio Delivery Service Instance model (serde, camelCase). Every object keeps
//! fields it does not know in a flattened `extra` map, so a GET followed by a replace sends them
//! back unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Unknown JSON fields, kept so they round-trip.
pub type Extra = Map<String, Value>;

/// A Delivery Service Instance: one CDN delivery rule.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// Assigned by the server on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_latest: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    /// Server-managed; never sent on create or replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Server-managed; never sent on create or replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<InstanceStatus>,
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// Server-managed; never sent on create or replace (the account is named in `accounts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortname: Option<String>,
    pub body: InstanceBody,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Instance {
    /// A new instance for `shortname`'s account with the given body.
    pub fn new(shortname: impl Into<String>, body: InstanceBody) -> Self {
        Instance {
            accounts: vec![Account::new(shortname)],
            body,
            ..Instance::default()
        }
    }

    /// The version number from `revision`, if the server sent one.
    pub fn version(&self) -> Option<u64> {
        self.revision.as_ref().map(|r| r.version_number)
    }

    /// The account shortname: the top-level `shortname`, else the first of `accounts`.
    pub fn account_shortname(&self) -> Option<&str> {
        self.shortname
            .as_deref()
            .or_else(|| self.accounts.first().map(|a| a.shortname.as_str()))
    }

    /// The JSON sent on create and replace: the instance without `revision`, `shortname` and
    /// `status` (the server owns those), unknown fields included.
    pub fn to_write_json(&self) -> Result<Value, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Value::Object(map) = &mut value {
            map.shift_remove("revision");
            map.shift_remove("shortname");
            map.shift_remove("status");
        }
        Ok(value)
    }

    /// `host + path` for messages, e.g. `demo.s.llnwi.net/fred`.
    pub fn describe(&self) -> String {
        self.body.describe()
    }
}

/// The rule itself.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceBody {
    #[serde(default)]
    pub service_key: ServiceKey,
    /// E.g. `LLNW-Generic`.
    #[serde(default)]
    pub service_profile_name: String,
    /// Public hostname (an FQDN, not an IP).
    #[serde(default)]
    pub published_hostname: String,
    /// Public path prefix; the server prepends `/` if missing.
    #[serde(default)]
    pub published_url_path: String,
    /// Origin hostname.
    #[serde(default)]
    pub source_hostname: String,
    /// Origin path prefix, may be `""`.
    #[serde(default)]
    pub source_url_path: String,
    #[serde(default)]
    pub protocol_sets: Vec<ProtocolSet>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl InstanceBody {
    /// `host + path` for messages, e.g. `demo.s.llnwi.net/fred`.
    pub fn describe(&self) -> String {
        let path = &self.published_url_path;
        if path.starts_with('/') || path.is_empty() {
            format!("{}{}", self.published_hostname, path)
        } else {
            format!("{}/{}", self.published_hostname, path)
        }
    }
}

/// `{"name":"delivery"}`, the only service this API configures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceKey {
    pub name: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for ServiceKey {
    fn default() -> Self {
        ServiceKey {
            name: "delivery".to_owned(),
            extra: Extra::new(),
        }
    }
}

/// One published-protocol → source-protocol mapping.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolSet {
    /// `http` or `https`.
    pub published_protocol: String,
    /// `http` or `https`.
    pub source_protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_port: Option<u16>,
    /// `None` is sent as `null` (the server then uses 80 for http, 443 for https).
    #[serde(default)]
    pub source_port: Option<u16>,
    #[serde(default)]
    pub options: Vec<ProtocolOption>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A named option with positional parameters (strings or integers).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProtocolOption {
    pub name: String,
    #[serde(default)]
    pub parameters: Vec<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ProtocolOption {
    /// `req_send_header [name, value]`: a request header added toward the origin.
    pub fn req_send_header(name: impl Into<String>, value: impl Into<String>) -> Self {
        ProtocolOption {
            name: "req_send_header".to_owned(),
            parameters: vec![Value::String(name.into()), Value::String(value.into())],
            extra: Extra::new(),
        }
    }

    /// `reply_send_header [name, value]`: a response header added toward the client.
    pub fn reply_send_header(name: impl Into<String>, value: impl Into<String>) -> Self {
        ProtocolOption {
            name: "reply_send_header".to_owned(),
            parameters: vec![Value::String(name.into()), Value::String(value.into())],
            extra: Extra::new(),
        }
    }
}

/// Server-assigned revision; `version_number` is 1 on create and +1 on each replace.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<i64>,
    #[serde(default)]
    pub version_number: u64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `{manifestVersion:"4", serviceIdentifier:"deliverysvcinst", serviceKey:"delivery"}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_key: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `{state}`: `"COMPLETED"`, or `"PROCESSING"` while the change propagates.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InstanceStatus {
    #[serde(default)]
    pub state: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An account reference.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Account {
    pub shortname: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Account {
    pub fn new(shortname: impl Into<String>) -> Self {
        Account {
            shortname: shortname.into(),
            extra: Extra::new(),
        }
    }
}

/// A page of a list or search: `{"results":[...]}`, plus `total`, `page` and `size` when the
/// server sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// The answer of `validate`: `{"Success": bool, "errors": [...]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Validation {
    #[serde(rename = "Success")]
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<FieldError>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One field-level validation failure.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FieldError {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn server_instance() -> Value {
        json!({
            "uuid": "6f1c2d3e-0000-4000-8000-000000000001",
            "isLatest": true,
            "isEnabled": true,
            "revision": {"createdBy": "demo", "createdDate": 1664380000000i64, "versionNumber": 3},
            "meta": {"manifestVersion": "4", "serviceIdentifier": "deliverysvcinst", "serviceKey": "delivery"},
            "status": {"state": "COMPLETED"},
            "accounts": [{"shortname": "demo"}],
            "shortname": "demo",
            "futureTopLevel": {"x": 1},
            "body": {
                "serviceKey": {"name": "delivery"},
                "serviceProfileName": "LLNW-Generic",
                "publishedHostname": "demo.s.llnwi.net",
                "publishedUrlPath": "/fred",
                "sourceHostname": "origin.example.com",
                "sourceUrlPath": "",
                "futureBodyField": [1, 2],
                "protocolSets": [{
                    "publishedProtocol": "https",
                    "sourceProtocol": "http",
                    "publishedPort": 443,
                    "sourcePort": 30080,
                    "futureSetField": "y",
                    "options": [{"name": "req_send_header", "parameters": ["X-Name", "value"]}]
                }]
            }
        })
    }

    #[test]
    fn unknown_fields_are_kept_and_written_back() {
        let inst: Instance = serde_json::from_value(server_instance()).unwrap();
        assert_eq!(inst.extra.get("futureTopLevel"), Some(&json!({"x": 1})));
        assert_eq!(inst.body.extra.get("futureBodyField"), Some(&json!([1, 2])));
        assert_eq!(inst.version(), Some(3));
        let back = serde_json::to_value(&inst).unwrap();
        assert_eq!(back, server_instance());
    }

    #[test]
    fn write_json_drops_revision_shortname_and_status_only() {
        let inst: Instance = serde_json::from_value(server_instance()).unwrap();
        let put = inst.to_write_json().unwrap();
        let mut expected = server_instance();
        let map = expected.as_object_mut().unwrap();
        map.shift_remove("revision");
        map.shift_remove("shortname");
        map.shift_remove("status");
        assert_eq!(put, expected);
    }

    #[test]
    fn absent_source_port_is_sent_as_null_and_absent_published_port_is_omitted() {
        let set = ProtocolSet {
            published_protocol: "http".into(),
            source_protocol: "http".into(),
            ..ProtocolSet::default()
        };
        assert_eq!(
            serde_json::to_value(&set).unwrap(),
            json!({"publishedProtocol":"http","sourceProtocol":"http","sourcePort":null,"options":[]})
        );
    }

    #[test]
    fn describe_joins_host_and_path() {
        let body = InstanceBody {
            published_hostname: "demo.s.llnwi.net".into(),
            published_url_path: "fred".into(),
            ..InstanceBody::default()
        };
        assert_eq!(body.describe(), "demo.s.llnwi.net/fred");
    }
}
