//! Rendering of what a request carried, as the original's HTML page or as JSON. Pure: no IO.
//!
//! The HTML keeps the original's four `<pre>` blocks in Python `repr`/`pprint` style (headers as
//! a list of `(name, value)` tuples, client as `(ip, port)`, the request line, the version) so
//! the demo output reads the same; every echoed byte goes through HTML escaping.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

/// The request's headers in arrival order: from the raw head (names as sent), or hyper's map
/// (lower-case names, repeated names grouped) when the raw head is not available.
#[derive(Debug, Clone, Copy)]
pub enum Headers<'a> {
    /// `[name start, name end, value start, value end]` offsets into the raw head.
    Raw {
        head: &'a [u8],
        fields: &'a [[u32; 4]],
    },
    Map(&'a HeaderMap),
}

impl Headers<'_> {
    fn for_each(&self, mut f: impl FnMut(usize, &[u8], &[u8])) {
        match self {
            Headers::Raw { head, fields } => {
                let part = |s: u32, e: u32| head.get(s as usize..e as usize).unwrap_or(&[]);
                for (i, &[ns, ne, vs, ve]) in fields.iter().enumerate() {
                    f(i, part(ns, ne), part(vs, ve));
                }
            }
            Headers::Map(map) => {
                for (i, (name, value)) in map.iter().enumerate() {
                    f(i, name.as_str().as_bytes(), value.as_bytes());
                }
            }
        }
    }
}

/// Everything echoed back for one request.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    pub headers: Headers<'a>,
    pub client: SocketAddr,
    /// The request line exactly as received, without its line ending.
    pub request_line: &'a [u8],
    pub version: &'static str,
    pub method: &'a str,
    /// The request target as sent (only the JSON answer shows it).
    pub target: &'a [u8],
    /// Length of the request body when the request had one.
    pub body_bytes: Option<u64>,
}

/// pprint's default line width: longer header lists are printed one tuple per line.
const PPRINT_WIDTH: usize = 80;

pub fn render_html(ex: &Exchange<'_>, out: &mut Vec<u8>) {
    let mut html = Html::new(out);
    html.out.extend_from_slice(b"<pre> ");
    // Rendered on one line, measuring the width as it goes; only a list wider than pprint's
    // limit is rendered again, one tuple per line.
    let start = html.out.len();
    headers_repr(ex.headers, b", ", &mut html);
    if html.width > PPRINT_WIDTH {
        html.out.truncate(start);
        headers_repr(ex.headers, b",\n ", &mut html);
    }
    html.out.extend_from_slice(b" </pre><pre> ('");
    push_client_ip(html.out, ex.client);
    html.out.extend_from_slice(b"', ");
    let mut port = itoa::Buffer::new();
    html.out
        .extend_from_slice(port.format(ex.client.port()).as_bytes());
    html.out.extend_from_slice(b") </pre><pre> ");
    str_repr(ex.request_line, &mut html);
    html.out.extend_from_slice(b" </pre><pre> ");
    str_repr(ex.version.as_bytes(), &mut html);
    html.out.extend_from_slice(b" </pre>");
    if let Some(n) = ex.body_bytes {
        html.out.extend_from_slice(b"<pre> body: ");
        html.out.extend_from_slice(port.format(n).as_bytes());
        html.out.extend_from_slice(b" bytes </pre>");
    }
    html.out.push(b'\n');
}

pub fn render_json(ex: &Exchange<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"headers\":[");
    ex.headers.for_each(|i, name, value| {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        push_json_str(out, name);
        out.push(b',');
        push_json_str(out, value);
        out.push(b']');
    });
    out.extend_from_slice(b"],\"client\":{\"ip\":\"");
    push_client_ip(out, ex.client);
    out.extend_from_slice(b"\",\"port\":");
    let mut num = itoa::Buffer::new();
    out.extend_from_slice(num.format(ex.client.port()).as_bytes());
    out.extend_from_slice(b"},\"request_line\":");
    push_json_str(out, ex.request_line);
    out.extend_from_slice(b",\"version\":");
    push_json_str(out, ex.version.as_bytes());
    out.extend_from_slice(b",\"method\":");
    push_json_str(out, ex.method.as_bytes());
    out.extend_from_slice(b",\"target\":");
    push_json_str(out, ex.target);
    out.extend_from_slice(b",\"body_bytes\":");
    match ex.body_bytes {
        Some(n) => out.extend_from_slice(num.format(n).as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b"}\n");
}

/// Appends the client IP; its characters (digits, hex, `.`, `:`) need no escaping in HTML or JSON.
pub fn push_client_ip(out: &mut Vec<u8>, addr: SocketAddr) {
    use std::io::Write as _;
    // IPv4-mapped peers on a dual-stack socket are shown as the IPv4 address they are.
    let ip = match addr.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        // Hand-formatted: this runs for every request and `fmt` is comparatively slow.
        IpAddr::V4(v4) => {
            // Digits straight into a stack buffer, then one copy.
            let mut buf = [0u8; 15];
            let mut n = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[n] = b'.';
                    n += 1;
                }
                if octet >= 100 {
                    buf[n] = b'0' + octet / 100;
                    n += 1;
                }
                if octet >= 10 {
                    buf[n] = b'0' + octet / 10 % 10;
                    n += 1;
                }
                buf[n] = b'0' + octet % 10;
                n += 1;
            }
            out.extend_from_slice(&buf[..n]);
        }
        // Writing into a Vec cannot fail.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Decodes header bytes as UTF-8 when valid, else as Latin-1 (what Python's http.server does),
/// so every byte sequence has one faithful rendering.
pub fn decode_chars(bytes: &[u8]) -> impl Iterator<Item = char> + '_ {
    let utf8 = std::str::from_utf8(bytes).ok();
    let latin1 = utf8.is_none().then_some(bytes);
    utf8.into_iter()
        .flat_map(str::chars)
        .chain(latin1.into_iter().flatten().map(|&b| char::from(b)))
}

/// Appends `bytes` as a JSON string literal.
pub fn push_json_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    if let Ok(s) = std::str::from_utf8(bytes) {
        // Fast path: copy runs that need no escaping.
        let mut start = 0;
        for (i, &b) in s.as_bytes().iter().enumerate() {
            if b < 0x20 || b == b'"' || b == b'\\' {
                out.extend_from_slice(&s.as_bytes()[start..i]);
                push_json_escape(out, char::from(b));
                start = i + 1;
            }
        }
        out.extend_from_slice(&s.as_bytes()[start..]);
    } else {
        let mut tmp = [0u8; 4];
        for c in decode_chars(bytes) {
            if (c as u32) < 0x20 || c == '"' || c == '\\' {
                push_json_escape(out, c);
            } else {
                out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn push_json_escape(out: &mut Vec<u8>, c: char) {
    match c {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        c => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let v = c as u32;
            out.extend_from_slice(b"\\u00");
            out.push(HEX[((v >> 4) & 0xf) as usize]);
            out.push(HEX[(v & 0xf) as usize]);
        }
    }
}

/// Where repr output goes.
trait Sink {
    /// Text that may need escaping.
    fn push(&mut self, text: &[u8]);
    /// Text known to need no escaping (repr punctuation, or printable ASCII without HTML
    /// specials).
    fn raw(&mut self, text: &[u8]);
    /// `text` between single quotes; like `raw`, the text needs no escaping.
    fn quoted(&mut self, text: &[u8]);
}

/// HTML-escaped output that also measures the unescaped text's width in characters, as pprint
/// does.
struct Html<'a> {
    out: &'a mut Vec<u8>,
    width: usize,
}

impl<'a> Html<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out, width: 0 }
    }
}

impl Sink for Html<'_> {
    fn push(&mut self, text: &[u8]) {
        self.width += text.iter().filter(|&&b| b & 0xc0 != 0x80).count();
        push_html_escaped(self.out, text);
    }

    fn raw(&mut self, text: &[u8]) {
        self.width += text.len();
        self.out.extend_from_slice(text);
    }

    fn quoted(&mut self, text: &[u8]) {
        self.width += text.len() + 2;
        self.out.reserve(text.len() + 2);
        self.out.push(b'\'');
        self.out.extend_from_slice(text);
        self.out.push(b'\'');
    }
}

/// Escapes text for HTML element content. The output never goes into an attribute, so `&`, `<`
/// and `>` are what can change its meaning; quotes stay readable for curl users.
pub fn push_html_escaped(out: &mut Vec<u8>, text: &[u8]) {
    // Most echoed strings are short and clean: a plain scan beats setting up a SIMD search.
    if text.len() < 64 && !text.iter().any(|&b| matches!(b, b'&' | b'<' | b'>')) {
        out.extend_from_slice(text);
        return;
    }
    let mut start = 0;
    for i in memchr::memchr3_iter(b'&', b'<', b'>', text) {
        let esc: &[u8] = match text[i] {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            _ => b"&gt;",
        };
        out.extend_from_slice(&text[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
}

fn headers_repr(headers: Headers<'_>, sep: &[u8], sink: &mut impl Sink) {
    sink.raw(b"[");
    headers.for_each(|i, name, value| {
        if i > 0 {
            sink.raw(sep);
        }
        sink.raw(b"(");
        str_repr(name, sink);
        sink.raw(b", ");
        str_repr(value, sink);
        sink.raw(b")");
    });
    sink.raw(b"]");
}

/// Bytes that stand for themselves in a Python repr and in HTML text: printable ASCII except
/// the backslash, quotes (which may need escaping in a repr) and `&`, `<`, `>`.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = !matches!(b as u8, b'\\' | b'\'' | b'"' | b'&' | b'<' | b'>');
        b += 1;
    }
    t
};

/// Python's `repr()` of a str: single quotes unless the text has `'` and no `"`.
fn str_repr(bytes: &[u8], sink: &mut impl Sink) {
    // Most echoed text (header names, hosts, request lines) needs neither repr nor HTML escaping:
    // one table scan decides, and the text is copied in one piece.
    if bytes.iter().all(|&b| PLAIN[usize::from(b)]) {
        sink.quoted(bytes);
        return;
    }
    // One pass to classify: quotes present, and whether anything needs escaping at all.
    let (mut single, mut double, mut special) = (false, false, false);
    for &b in bytes {
        single |= b == b'\'';
        double |= b == b'"';
        special |= !(0x20..0x7f).contains(&b) || b == b'\\';
    }
    let quote = if single && !double { b'"' } else { b'\'' };
    sink.raw(&[quote]);
    if !(special || (single && double)) {
        sink.push(bytes);
    } else {
        let mut tmp = [0u8; 4];
        for c in decode_chars(bytes) {
            match c {
                '\\' => sink.raw(b"\\\\"),
                '\n' => sink.raw(b"\\n"),
                '\r' => sink.raw(b"\\r"),
                '\t' => sink.raw(b"\\t"),
                c if c as u32 == u32::from(quote) => sink.raw(&[b'\\', quote]),
                c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let v = c as u32;
                    sink.raw(&[
                        b'\\',
                        b'x',
                        HEX[((v >> 4) & 0xf) as usize],
                        HEX[(v & 0xf) as usize],
                    ]);
                }
                c => sink.push(c.encode_utf8(&mut tmp).as_bytes()),
            }
        }
    }
    sink.raw(&[quote]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw head holding `pairs`, and the offsets of each name and value in it.
    fn head(pairs: &[(&str, &[u8])]) -> (Vec<u8>, Vec<[u32; 4]>) {
        let mut raw = Vec::new();
        let mut fields = Vec::new();
        for (name, value) in pairs {
            let ns = raw.len() as u32;
            raw.extend_from_slice(name.as_bytes());
            let ne = raw.len() as u32;
            raw.extend_from_slice(b": ");
            let vs = raw.len() as u32;
            raw.extend_from_slice(value);
            fields.push([ns, ne, vs, raw.len() as u32]);
            raw.extend_from_slice(b"\r\n");
        }
        (raw, fields)
    }

    fn exchange<'a>(h: &'a (Vec<u8>, Vec<[u32; 4]>), body: Option<u64>) -> Exchange<'a> {
        Exchange {
            headers: Headers::Raw {
                head: &h.0,
                fields: &h.1,
            },
            client: "127.0.0.1:54321".parse().unwrap(),
            request_line: b"GET /x?y=1 HTTP/1.1",
            version: "HTTP/1.1",
            method: "GET",
            target: b"/x?y=1",
            body_bytes: body,
        }
    }

    fn hdr<'a>(name: &'a str, value: &'a [u8]) -> (&'a str, &'a [u8]) {
        (name, value)
    }

    #[test]
    fn both_quote_kinds_use_single_quotes_with_escapes() {
        let mut out = Vec::new();
        str_repr(b"a'b\"c", &mut Html::new(&mut out));
        assert_eq!(String::from_utf8(out).unwrap(), "'a\\'b\"c'");
    }

    #[test]
    fn map_fallback_and_ipv6_clients_render() {
        let mut map = HeaderMap::new();
        map.insert("x-a", http::HeaderValue::from_static("1"));
        let empty = head(&[]);
        let mut ex = exchange(&empty, None);
        ex.headers = Headers::Map(&map);
        ex.client = "[::1]:80".parse().unwrap();
        let out = html(&ex);
        assert!(
            out.starts_with("<pre> [('x-a', '1')] </pre><pre> ('::1', 80) </pre>"),
            "{out}"
        );
        ex.client = "[::ffff:10.1.2.3]:80".parse().unwrap();
        assert!(html(&ex).contains("('10.1.2.3', 80)"));
    }

    #[test]
    fn ipv4_clients_render_every_octet_width() {
        for (addr, want) in [
            ("0.9.10.99:1", "0.9.10.99"),
            ("100.109.250.255:1", "100.109.250.255"),
            ("[::ffff:1.20.200.0]:1", "1.20.200.0"),
        ] {
            let mut out = Vec::new();
            push_client_ip(&mut out, addr.parse().unwrap());
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    fn html(ex: &Exchange<'_>) -> String {
        let mut out = Vec::new();
        render_html(ex, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn short_header_list_renders_like_pprint_on_one_line() {
        let h = &head(&[hdr("Host", b"localhost:8000"), hdr("Accept", b"*/*")]);
        assert_eq!(
            html(&exchange(h, None)),
            "<pre> [('Host', 'localhost:8000'), ('Accept', '*/*')] </pre>\
<pre> ('127.0.0.1', 54321) </pre><pre> 'GET /x?y=1 HTTP/1.1' </pre><pre> 'HTTP/1.1' </pre>\n"
        );
    }

    #[test]
    fn line_width_counts_characters_before_escaping() {
        // 80 columns as pprint counts them (`<` is one character), longer once escaped.
        let value = "<".repeat(80 - "[('X', '')]".len());
        let h = &head(&[hdr("X", value.as_bytes())]);
        let out = html(&exchange(h, None));
        let escaped = "&lt;".repeat(value.len());
        assert!(
            out.starts_with(&format!("<pre> [('X', '{escaped}')] </pre>")),
            "{out}"
        );
        // Wider than 80 columns: one tuple per line.
        let value = format!("{value}é");
        let h = &head(&[hdr("X", value.as_bytes()), hdr("Y", b"1")]);
        let out = html(&exchange(h, None));
        assert!(out.contains("'),\n ('Y', '1')]"), "{out}");
    }

    #[test]
    fn long_header_list_renders_one_tuple_per_line() {
        let h = &head(&[
            hdr("Host", b"localhost:8000"),
            hdr("User-Agent", b"Mozilla/5.0 (X11; Linux x86_64)"),
            hdr("Accept", b"*/*"),
        ]);
        let out = html(&exchange(h, None));
        assert!(out.starts_with(
            "<pre> [('Host', 'localhost:8000'),\n ('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64)'),\n ('Accept', '*/*')] </pre>"
        ), "{out}");
    }

    #[test]
    fn markup_in_header_values_is_escaped() {
        let h = &head(&[hdr("X-Evil", b"<script>alert('&')</script>")]);
        let out = html(&exchange(h, None));
        assert!(
            out.contains(r#"('X-Evil', "&lt;script&gt;alert('&amp;')&lt;/script&gt;")"#),
            "{out}"
        );
        assert!(!out.contains("<script>"));
    }

    #[test]
    fn body_length_block_appears_only_with_a_body() {
        assert!(html(&exchange(&head(&[]), Some(5))).contains("<pre> body: 5 bytes </pre>"));
        assert!(!html(&exchange(&head(&[]), None)).contains("body:"));
    }

    #[test]
    fn repr_escapes_control_bytes_backslashes_and_latin1() {
        let mut out = Vec::new();
        str_repr(b"a\\b\tc\x01\xe9", &mut Html::new(&mut out));
        assert_eq!(String::from_utf8(out).unwrap(), "'a\\\\b\\tc\\x01é'");
    }

    #[test]
    fn json_keeps_order_duplicates_and_case_and_parses() {
        let h = &head(&[hdr("X-A", b"1"), hdr("x-b", b"\"q\"\x01"), hdr("X-A", b"2")]);
        let mut out = Vec::new();
        render_json(&exchange(h, Some(3)), &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["headers"],
            serde_json::json!([["X-A", "1"], ["x-b", "\"q\"\u{1}"], ["X-A", "2"]])
        );
        assert_eq!(
            v["client"],
            serde_json::json!({"ip": "127.0.0.1", "port": 54321})
        );
        assert_eq!(v["request_line"], "GET /x?y=1 HTTP/1.1");
        assert_eq!(v["body_bytes"], 3);
    }

    #[test]
    fn json_strings_decode_invalid_utf8_as_latin1() {
        let mut out = Vec::new();
        push_json_str(&mut out, b"caf\xe9");
        let s: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(s, "café");
    }
}
