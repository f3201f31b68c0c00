//! Label and field selectors (parsing and matching), as list and watch use them.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum LabelReq {
    Exists(String),
    NotExists(String),
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<LabelReq>);

fn split_top_level(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

fn valid_label_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && (v.is_empty()
            || (v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && v.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())))
}

fn valid_label_key(k: &str) -> bool {
    let name = match k.rsplit_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty() || prefix.len() > 253 {
                return false;
            }
            name
        }
        None => k,
    };
    !name.is_empty() && valid_label_value(name)
}

fn check_value(v: &str) -> Result<(), SelectorError> {
    if let Some(word) = v.split_whitespace().nth(1) {
        // The Go lexer ends an identifier at the first special character.
        let word: String = word
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
            .collect();
        return Err(SelectorError(format!(
            "found '{word}', expected: ',' or 'end of string'"
        )));
    }
    if !valid_label_value(v) {
        return Err(SelectorError(format!(
            "unable to parse requirement: values[0]: Invalid value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        )));
    }
    Ok(())
}

fn check_key(k: &str) -> Result<(), SelectorError> {
    if !valid_label_key(k) {
        return Err(SelectorError(format!(
            "unable to parse requirement: key: Invalid value: \"{k}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )));
    }
    Ok(())
}

fn parse_set(key: &str, rest: &str) -> Result<Vec<String>, SelectorError> {
    let rest = rest.trim();
    let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) else {
        let found = rest.split_whitespace().next().unwrap_or("");
        return Err(SelectorError(format!(
            "unable to parse requirement: found '{found}' expected: '('"
        )));
    };
    let vals: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    for v in &vals {
        check_value(v)?;
    }
    check_key(key)?;
    Ok(vals)
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(LabelSelector(reqs));
        }
        for part in split_top_level(s) {
            let p = part.trim();
            if p.is_empty() {
                return Err(SelectorError("found ',', expected: identifier".into()));
            }
            if let Some(k) = p.strip_prefix('!') {
                let k = k.trim();
                check_key(k)?;
                reqs.push(LabelReq::NotExists(k.to_string()));
            } else if let Some((k, v)) = p.split_once("!=") {
                check_key(k.trim())?;
                check_value(v.trim())?;
                reqs.push(LabelReq::NotEq(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                check_key(k.trim())?;
                check_value(v.trim())?;
                reqs.push(LabelReq::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, rest)) = split_word(p, "notin") {
                let vals = parse_set(&k, &rest)?;
                reqs.push(LabelReq::NotIn(k, vals));
            } else if let Some((k, rest)) = split_word(p, "in") {
                let vals = parse_set(&k, &rest)?;
                reqs.push(LabelReq::In(k, vals));
            } else {
                if let Some(word) = p.split_whitespace().nth(1) {
                    return Err(SelectorError(format!(
                        "found '{word}', expected: in, notin, =, ==, !=, gt, lt"
                    )));
                }
                check_key(p)?;
                reqs.push(LabelReq::Exists(p.to_string()));
            }
        }
        Ok(LabelSelector(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => get(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
        })
    }
}

/// Splits `key <word> rest` where word is a whole token.
fn split_word(p: &str, word: &str) -> Option<(String, String)> {
    let mut it = p.splitn(2, char::is_whitespace);
    let key = it.next()?.trim();
    let rest = it.next()?.trim_start();
    let after = rest.strip_prefix(word)?;
    if after.starts_with(|c: char| c.is_whitespace() || c == '(') {
        Some((key.to_string(), after.to_string()))
    } else {
        None
    }
}

#[derive(Debug, Clone, PartialEq)]
struct FieldReq {
    field: String,
    value: String,
    equal: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<FieldReq>);

impl FieldSelector {
    /// Parses a selector, accepting only `metadata.name`, `metadata.namespace` and the
    /// resource's own field labels. `aliases` maps alternative names (events.k8s.io
    /// `regarding.*`) onto stored labels.
    pub fn parse(s: &str, extra: &[&str], aliases: &[(&str, &str)]) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(FieldSelector(reqs));
        }
        for part in s.split(',') {
            let p = part.trim();
            let (field, value, equal) = if let Some((f, v)) = p.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                (f, v, true)
            } else {
                return Err(SelectorError(format!(
                    "invalid selector: '{s}'; can't understand '{p}'"
                )));
            };
            let mut field = field.trim().to_string();
            if let Some((_, to)) = aliases.iter().find(|(from, _)| *from == field) {
                field = to.to_string();
            }
            let known = field == "metadata.name"
                || field == "metadata.namespace"
                || extra.contains(&field.as_str());
            if !known {
                let mut all = vec![
                    "metadata.name".to_string(),
                    "metadata.namespace".to_string(),
                ];
                all.extend(extra.iter().map(|s| s.to_string()));
                let list: Vec<String> = all.iter().map(|f| format!("\"{f}\"")).collect();
                return Err(SelectorError(format!(
                    "\"{field}\" is not a known field selector: only {}",
                    list.join(", ")
                )));
            }
            reqs.push(FieldReq {
                field,
                value: value.trim().to_string(),
                equal,
            });
        }
        Ok(FieldSelector(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|r| {
            let actual = field_value(obj, &r.field);
            (actual == r.value) == r.equal
        })
    }
}

/// The string value of a field label; missing fields compare as "".
fn field_value(obj: &Value, field: &str) -> String {
    let path = match field {
        "source" => "source.component",
        other => other,
    };
    let mut cur = obj;
    for seg in path.split('.') {
        match cur.get(seg) {
            Some(v) => cur = v,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "one", "namespace": "sel", "labels": labels}})
    }

    #[test]
    fn label_selectors_match_like_kube_apiserver() {
        let a = obj(json!({"app": "pywai", "tier": "edge"}));
        let b = obj(json!({"app": "pywai"}));
        let c = obj(json!({}));
        let sel = |s: &str| LabelSelector::parse(s).expect(s);
        assert!(sel("app=pywai").matches(&a));
        assert!(sel("app==pywai").matches(&b));
        assert!(!sel("app in (pywai,other),tier!=edge").matches(&a));
        assert!(sel("app in (pywai,other),tier!=edge").matches(&b));
        assert!(sel("app notin (other)").matches(&c));
        assert!(sel("tier").matches(&a) && !sel("tier").matches(&b));
        assert!(sel("!tier").matches(&b) && !sel("!tier").matches(&a));
    }

    #[test]
    fn malformed_label_selectors_are_rejected_with_parser_messages() {
        let e = LabelSelector::parse("app in pywai").expect_err("must fail");
        assert_eq!(
            e.0,
            "unable to parse requirement: found 'pywai' expected: '('"
        );
        let e = LabelSelector::parse("app=not valid!").expect_err("must fail");
        assert_eq!(e.0, "found 'valid', expected: ',' or 'end of string'");
    }

    #[test]
    fn unknown_field_selector_lists_supported_labels() {
        let e = FieldSelector::parse("spec.ingressClassName=cdn", &[], &[]).expect_err("must fail");
        assert_eq!(
            e.0,
            "\"spec.ingressClassName\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        let e = FieldSelector::parse("metadata.name in (one)", &[], &[]).expect_err("must fail");
        assert!(e.0.starts_with("invalid selector"));
    }

    #[test]
    fn field_selectors_support_equality_and_inequality() {
        let o = obj(json!({}));
        assert!(
            FieldSelector::parse("metadata.name=one", &[], &[])
                .expect("ok")
                .matches(&o)
        );
        assert!(
            !FieldSelector::parse("metadata.name!=one", &[], &[])
                .expect("ok")
                .matches(&o)
        );
        let ev = json!({"involvedObject": {"kind": "Ingress", "name": "web"}});
        let fs = FieldSelector::parse(
            "regarding.name=web",
            &["involvedObject.name"],
            &[("regarding.name", "involvedObject.name")],
        )
        .expect("ok");
        assert!(fs.matches(&ev));
    }
}
