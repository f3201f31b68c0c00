//! Just enough of the Kubernetes protobuf encoding to accept the bodies kubectl's typed clients
//! send for the simple kinds (`kubectl create namespace|configmap|secret|serviceaccount`).
//! Other kinds in protobuf are refused with 415 by the caller.

use serde_json::{Map, Value, json};

const MAGIC: &[u8] = b"k8s\0";

#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error("not a Kubernetes protobuf envelope")]
    NoMagic,
    #[error("truncated or malformed protobuf")]
    Malformed,
    #[error("protobuf bodies for {0} are not supported; send JSON")]
    Unsupported(String),
}

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ProtoError> {
    let mut out = 0_u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or(ProtoError::Malformed)?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(ProtoError::Malformed)
}

fn fields(buf: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, ProtoError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let tag = varint(buf, &mut pos)?;
        let (num, wt) = (tag >> 3, tag & 7);
        let w = match wt {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            2 => {
                let len =
                    usize::try_from(varint(buf, &mut pos)?).map_err(|_| ProtoError::Malformed)?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or(ProtoError::Malformed)?;
                let b = &buf[pos..end];
                pos = end;
                Wire::Bytes(b)
            }
            1 => {
                pos = pos
                    .checked_add(8)
                    .filter(|e| *e <= buf.len())
                    .ok_or(ProtoError::Malformed)?;
                Wire::Other
            }
            5 => {
                pos = pos
                    .checked_add(4)
                    .filter(|e| *e <= buf.len())
                    .ok_or(ProtoError::Malformed)?;
                Wire::Other
            }
            _ => return Err(ProtoError::Malformed),
        };
        out.push((num, w));
    }
    Ok(out)
}

fn text(b: &[u8]) -> Result<String, ProtoError> {
    String::from_utf8(b.to_vec()).map_err(|_| ProtoError::Malformed)
}

/// A map entry (key = 1, value = 2).
fn entry(b: &[u8], bytes_value: bool) -> Result<(String, Value), ProtoError> {
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    for (n, w) in fields(b)? {
        if let Wire::Bytes(x) = w {
            match n {
                1 => k = text(x)?,
                2 => {
                    v = Value::String(if bytes_value {
                        crate::util::base64(x)
                    } else {
                        text(x)?
                    })
                }
                _ => {}
            }
        }
    }
    Ok((k, v))
}

fn object_meta(b: &[u8]) -> Result<Value, ProtoError> {
    let mut m = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    for (n, w) in fields(b)? {
        let Wire::Bytes(x) = w else { continue };
        match n {
            1..=3 => {
                let s = text(x)?;
                let k = ["name", "generateName", "namespace"][(n - 1) as usize];
                if !s.is_empty() {
                    m.insert(k.into(), json!(s));
                }
            }
            11 => {
                let (k, v) = entry(x, false)?;
                labels.insert(k, v);
            }
            12 => {
                let (k, v) = entry(x, false)?;
                annotations.insert(k, v);
            }
            14 => finalizers.push(json!(text(x)?)),
            _ => {}
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    Ok(Value::Object(m))
}

fn typed(kind: &str, raw: &[u8]) -> Result<Map<String, Value>, ProtoError> {
    let mut out = Map::new();
    let mut data = Map::new();
    let mut binary = Map::new();
    let mut string_data = Map::new();
    for (n, w) in fields(raw)? {
        match (kind, n, w) {
            (_, 1, Wire::Bytes(x)) => {
                out.insert("metadata".into(), object_meta(x)?);
            }
            ("ConfigMap", 2, Wire::Bytes(x)) => {
                let (k, v) = entry(x, false)?;
                data.insert(k, v);
            }
            ("ConfigMap", 3, Wire::Bytes(x)) => {
                let (k, v) = entry(x, true)?;
                binary.insert(k, v);
            }
            ("ConfigMap", 4, Wire::Varint(v)) | ("Secret", 5, Wire::Varint(v)) => {
                out.insert("immutable".into(), json!(v != 0));
            }
            ("Secret", 2, Wire::Bytes(x)) => {
                let (k, v) = entry(x, true)?;
                data.insert(k, v);
            }
            ("Secret", 3, Wire::Bytes(x)) => {
                let t = text(x)?;
                if !t.is_empty() {
                    out.insert("type".into(), json!(t));
                }
            }
            ("Secret", 4, Wire::Bytes(x)) => {
                let (k, v) = entry(x, false)?;
                string_data.insert(k, v);
            }
            ("Namespace", 2, Wire::Bytes(x)) => {
                let fins: Vec<Value> = fields(x)?
                    .into_iter()
                    .filter_map(|(n, w)| match (n, w) {
                        (1, Wire::Bytes(f)) => Some(text(f).map(Value::String)),
                        _ => None,
                    })
                    .collect::<Result<_, _>>()?;
                if !fins.is_empty() {
                    out.insert("spec".into(), json!({"finalizers": fins}));
                }
            }
            ("ServiceAccount", 4, Wire::Varint(v)) => {
                out.insert("automountServiceAccountToken".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    for (k, m) in [
        ("data", data),
        ("binaryData", binary),
        ("stringData", string_data),
    ] {
        if !m.is_empty() {
            out.insert(k.into(), Value::Object(m));
        }
    }
    Ok(out)
}

/// Decodes a `k8s\0` protobuf envelope into the equivalent JSON object.
pub fn decode(body: &[u8]) -> Result<Value, ProtoError> {
    let rest = body.strip_prefix(MAGIC).ok_or(ProtoError::NoMagic)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, w) in fields(rest)? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (n, w) in fields(tm)? {
                    if let Wire::Bytes(x) = w {
                        match n {
                            1 => api_version = text(x)?,
                            2 => kind = text(x)?,
                            _ => {}
                        }
                    }
                }
            }
            (2, Wire::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    // Access reviews are answered without looking at their spec, so only the type matters.
    if api_version == "authorization.k8s.io/v1" && kind.ends_with("AccessReview") {
        return Ok(json!({"apiVersion": api_version, "kind": kind, "metadata": {}}));
    }
    if api_version != "v1"
        || !matches!(
            kind.as_str(),
            "Namespace" | "ConfigMap" | "Secret" | "ServiceAccount"
        )
    {
        return Err(ProtoError::Unsupported(format!("{api_version}/{kind}")));
    }
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(api_version));
    out.insert("kind".into(), json!(kind));
    out.extend(typed(&kind, raw)?);
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
            .collect()
    }

    #[test]
    fn decodes_the_configmap_kubectl_create_sends() {
        // Captured from `kubectl create configmap x -n default --from-literal=a=b --from-literal=c=d`.
        let body = hex(
            "6b3873000a0f0a0276311209436f6e6669674d6170122a0a180a017812001a0764656661756c7422002a0032003800420012060a016112016212060a01631201641a002200",
        );
        let v = decode(&body).expect("decodes");
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"},
                             "data": {"a": "b", "c": "d"}})
        );
    }

    #[test]
    fn decodes_secret_bytes_as_base64_and_namespace() {
        let secret = hex(
            "6b3873000a0c0a0276311206536563726574122a0a180a017312001a0764656661756c7422002a0032003800420012060a016b1201761a064f70617175651a002200",
        );
        let v = decode(&secret).expect("decodes");
        assert_eq!(v["data"], json!({"k": "dg=="}));
        assert_eq!(v["type"], "Opaque");
        let ns = hex(
            "6b3873000a0f0a02763112094e616d657370616365121a0a120a026e3112001a0022002a0032003800420012001a020a001a002200",
        );
        assert_eq!(decode(&ns).expect("decodes")["metadata"]["name"], "n1");
    }

    #[test]
    fn garbage_and_other_kinds_are_errors_not_panics() {
        assert!(decode(b"not protobuf").is_err());
        assert!(decode(b"k8s\0\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
        assert!(decode(b"k8s\0\x0a\x05\x0a\x02v1").is_err());
        assert_eq!(
            crate::util::base64(b"any carnal pleas"),
            "YW55IGNhcm5hbCBwbGVhcw=="
        );
    }
}
