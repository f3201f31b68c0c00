//! Providers: the Vultr DNS API v2 objects. Names are relative to the zone (apex `""`); TXT data
//! is raw text here — the client adds the quotes Vultr wants on write and strips them on read.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Unknown JSON fields, kept so nothing the server adds breaks decoding.
pub type Extra = Map<String, Value>;

/// A DNS zone.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Domain {
    pub domain: String,
    #[serde(default)]
    pub date_created: String,
    /// `"enabled"` or `"disabled"`.
    #[serde(default)]
    pub dns_sec: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One record. Round-robin sets are several records with the same name and type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(rename = "type")]
    pub record_type: String,
    /// Relative to the zone; the apex is `""`.
    #[serde(default)]
    pub name: String,
    /// For TXT records, the text without the surrounding quotes.
    #[serde(default)]
    pub data: String,
    /// `-1` for types other than MX and SRV.
    #[serde(default = "minus_one")]
    pub priority: i32,
    #[serde(default)]
    pub ttl: u32,
    #[serde(flatten)]
    pub extra: Extra,
}

fn minus_one() -> i32 {
    -1
}

/// The body of a record create. `ttl` and `priority` are omitted when `None`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewRecord {
    /// Relative to the zone; the apex is `""`.
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    /// For TXT, the raw text (the client adds the quotes).
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
}

impl NewRecord {
    pub fn new(
        name: impl Into<String>,
        record_type: impl Into<String>,
        data: impl Into<String>,
    ) -> Self {
        NewRecord {
            name: name.into(),
            record_type: record_type.into(),
            data: data.into(),
            ttl: None,
            priority: None,
        }
    }

    pub fn with_ttl(mut self, ttl: u32) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

/// The body of a record PATCH: every field optional, absent ones are not sent (the server keeps
/// them). `Some("")` is a real value: the apex name or empty data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecordPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For TXT (see `record_type`), the raw text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// The type of the record being patched. Never sent (a PATCH cannot change the type); it
    /// tells the client to quote `data` when the record is TXT. Without it `data` goes as given.
    #[serde(skip)]
    pub record_type: Option<String>,
}

impl RecordPatch {
    /// An empty patch for `record` (remembers its type, so TXT data gets quoted).
    pub fn for_record(record: &Record) -> Self {
        RecordPatch {
            record_type: Some(record.record_type.clone()),
            ..RecordPatch::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.data.is_none() && self.ttl.is_none() && self.priority.is_none()
    }
}

/// `meta` of a list answer.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct ListMeta {
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub links: Option<Links>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct Links {
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DomainList {
    pub domains: Vec<Domain>,
    #[serde(default)]
    pub meta: ListMeta,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RecordList {
    pub records: Vec<Record>,
    #[serde(default)]
    pub meta: ListMeta,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DomainEnvelope {
    pub domain: Domain,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RecordEnvelope {
    pub record: Record,
}

/// True for the TXT type, in any case.
pub(crate) fn is_txt(record_type: &str) -> bool {
    record_type.eq_ignore_ascii_case("TXT")
}

/// Wraps TXT text in the double quotes Vultr requires. Text already wrapped is sent as is, so a
/// caller passing a quoted value does not get doubled quotes.
pub(crate) fn quote_txt(text: &str) -> String {
    if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
        text.to_owned()
    } else {
        format!("\"{text}\"")
    }
}

/// Strips one pair of surrounding double quotes from TXT data read from Vultr.
pub(crate) fn unquote_txt(data: &str) -> String {
    data.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(data)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn txt_quoting_wraps_once_and_unquoting_strips_once() {
        assert_eq!(quote_txt("heritage=x"), "\"heritage=x\"");
        assert_eq!(quote_txt("\"already\""), "\"already\"");
        assert_eq!(quote_txt(""), "\"\"");
        assert_eq!(unquote_txt("\"heritage=x\""), "heritage=x");
        assert_eq!(unquote_txt("bare"), "bare");
        assert_eq!(unquote_txt("\""), "\"");
    }

    #[test]
    fn patch_omits_absent_fields_and_keeps_empty_strings() {
        let patch = RecordPatch {
            name: Some(String::new()),
            ttl: Some(60),
            record_type: Some("A".into()),
            ..RecordPatch::default()
        };
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!({"name": "", "ttl": 60})
        );
        assert_eq!(
            serde_json::to_value(RecordPatch::default()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn record_tolerates_unknown_and_missing_optional_fields() {
        let r: Record = serde_json::from_value(json!({
            "id": "abc", "type": "A", "name": "", "data": "192.0.2.1", "ttl": 300, "new": true
        }))
        .unwrap();
        assert_eq!(r.priority, -1);
        assert_eq!(r.extra.get("new"), Some(&json!(true)));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn txt_text_round_trips_through_quoting(text in "[^\"]{0,40}") {
                let wire = quote_txt(&text);
                prop_assert!(wire.starts_with('"') && wire.ends_with('"') && wire.len() == text.len() + 2);
                prop_assert_eq!(unquote_txt(&wire), text);
            }
        }
    }
}
