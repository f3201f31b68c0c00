//! Black-box tests: start the real `pywai` binary on an ephemeral port and talk raw HTTP/1.1 to
//! it, so header case, order and framing are exactly what the test wrote.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pywai");
const WAIT: Duration = Duration::from_secs(10);

struct Server {
    child: Child,
    addr: SocketAddr,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

fn lines(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Server {
    fn start(args: &[&str]) -> Server {
        Self::start_with(args, &[], "127.0.0.1:0")
    }

    fn start_with(args: &[&str], env: &[(&str, &str)], listen: &str) -> Server {
        let mut cmd = Command::new(BIN);
        if !listen.is_empty() {
            cmd.args(["--listen", listen]);
        }
        cmd.args(args)
            .env_remove("PORT")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn pywai");
        let stdout = lines(child.stdout.take().expect("stdout"));
        let stderr = lines(child.stderr.take().expect("stderr"));
        let mut server = Server {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
            stdout,
            stderr,
        };
        let ready = server.wait_stderr(|v| v["msg"] == "listening");
        let mut addr: SocketAddr = ready["addr"].as_str().unwrap().parse().unwrap();
        if addr.ip().is_unspecified() {
            addr.set_ip("127.0.0.1".parse().unwrap());
        }
        server.addr = addr;
        server
    }

    /// Waits for a JSON stderr event matching `pred`.
    fn wait_stderr(&mut self, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    let v: serde_json::Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line}"));
                    if pred(&v) {
                        return v;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("timed out waiting for a stderr event"),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    panic!("pywai exited before the expected stderr event: {status:?}")
                }
            }
        }
    }

    fn next_access_log(&self) -> serde_json::Value {
        let line = self
            .stdout
            .recv_timeout(WAIT)
            .expect("an access-log line on stdout");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(WAIT)).unwrap();
        s
    }

    fn exchange(&self, raw: &[u8]) -> Response {
        let mut s = self.connect();
        s.write_all(raw).unwrap();
        let head_only = raw.starts_with(b"HEAD ");
        read_response(&mut BufReader::new(s), head_only)
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(ok.success());
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "pywai did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

fn read_response(r: &mut impl BufRead, head_only: bool) -> Response {
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).expect("header line");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').expect("header has a colon");
        headers.push((n.to_owned(), v.trim().to_owned()));
    }
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if !head_only {
        let len: usize = resp
            .header("content-length")
            .expect("content-length")
            .parse()
            .unwrap();
        resp.body = vec![0; len];
        r.read_exact(&mut resp.body).expect("body");
    }
    resp
}

#[test]
fn custom_headers_are_echoed_in_arrival_order_with_names_as_sent_and_markup_escaped() {
    let server = Server::start(&["--access-log", "off"]);
    let resp = server.exchange(
        b"GET /echo?a=1 HTTP/1.1\r\nHost: demo.example\r\nX-First: 1\r\nx-MiXeD-CaSe: two\r\n\
X-Evil: <script>alert('x')</script>\r\nX-First: 3\r\n\r\n",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = resp.text();
    assert!(!html.contains("<script>"), "{html}");
    let expected = "[('Host', 'demo.example'),\n ('X-First', '1'),\n ('x-MiXeD-CaSe', 'two'),\n \
('X-Evil', \"&lt;script&gt;alert('x')&lt;/script&gt;\"),\n ('X-First', '3')]";
    assert!(
        html.starts_with(&format!("<pre> {expected} </pre>")),
        "{html}"
    );
    assert!(html.contains("<pre> 'GET /echo?a=1 HTTP/1.1' </pre><pre> 'HTTP/1.1' </pre>"));
    assert_eq!(html.matches("<pre>").count(), 4, "{html}");
}

#[test]
fn json_mode_by_accept_header_or_query_returns_the_same_data() {
    let server = Server::start(&["--access-log", "off"]);
    let mut s = server.connect();
    let local_port = s.local_addr().unwrap().port();
    s.write_all(
        b"GET /j HTTP/1.1\r\nHost: h\r\nAccept: application/json\r\nX-Dup: a\r\nx-dup: b\r\n\r\n",
    )
    .unwrap();
    let resp = read_response(&mut BufReader::new(s), false);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let v = resp.json();
    assert_eq!(
        v["headers"],
        serde_json::json!([
            ["Host", "h"],
            ["Accept", "application/json"],
            ["X-Dup", "a"],
            ["x-dup", "b"]
        ])
    );
    assert_eq!(v["client"]["ip"], "127.0.0.1");
    assert_eq!(v["client"]["port"], local_port);
    assert_eq!(v["request_line"], "GET /j HTTP/1.1");
    assert_eq!(v["version"], "HTTP/1.1");
    assert_eq!(v["method"], "GET");
    assert_eq!(v["body_bytes"], serde_json::Value::Null);

    let resp = server.exchange(b"GET /q?format=json HTTP/1.0\r\nHost: h\r\n\r\n");
    let v = resp.json();
    assert_eq!(v["version"], "HTTP/1.0");
    assert_eq!(v["target"], "/q?format=json");
    assert_eq!(v["headers"], serde_json::json!([["Host", "h"]]));
}

#[test]
fn head_sends_headers_only_and_the_connection_stays_usable() {
    let server = Server::start(&["--access-log", "off"]);
    let s = server.connect();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    // Pipelined: if HEAD leaked a body, the GET's status line would not parse.
    w.write_all(b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /g HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    let head = read_response(&mut r, true);
    assert_eq!(head.status, 200);
    let len: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(len > 0);
    let get = read_response(&mut r, false);
    assert_eq!(get.status, 200);
    assert!(get.text().contains("'GET /g HTTP/1.1'"));
}

#[test]
fn every_method_echoes_and_request_body_length_is_reported() {
    let server = Server::start(&["--access-log", "off"]);
    let resp = server.exchange(
        b"POST /p?format=json HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["body_bytes"], 11);

    let resp = server.exchange(
        b"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert_eq!(resp.status, 200);
    assert!(
        resp.text().contains("<pre> body: 8 bytes </pre>"),
        "{}",
        resp.text()
    );

    for method in ["DELETE", "OPTIONS", "PATCH", "BREW"] {
        let resp = server.exchange(format!("{method} /m HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
        assert_eq!(resp.status, 200, "{method}");
        assert!(
            resp.text().contains(&format!("'{method} /m HTTP/1.1'")),
            "{method}"
        );
    }
}

#[test]
fn bodies_over_the_limit_get_413() {
    let server = Server::start(&["--access-log", "off", "--max-body", "1KiB"]);
    let resp = server.exchange(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2048\r\n\r\n");
    assert_eq!(resp.status, 413);
    assert_eq!(resp.header("connection"), Some("close"));

    // Chunked bodies have no declared length; they are cut off while reading.
    let mut req = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"200\r\n");
        req.extend(std::iter::repeat_n(b'x', 0x200));
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(server.exchange(&req).status, 413);

    // Exactly at the limit is fine.
    let mut req =
        b"POST /?format=json HTTP/1.1\r\nHost: h\r\nContent-Length: 1024\r\n\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'y', 1024));
    let resp = server.exchange(&req);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["body_bytes"], 1024);
}

#[test]
fn healthz_answers_200() {
    let server = Server::start(&["--access-log", "off"]);
    let resp = server.exchange(b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "ok\n");
}

#[test]
fn access_log_line_is_json_with_the_contract_fields() {
    let server = Server::start(&[]);
    let s = server.connect();
    let client = s.local_addr().unwrap().to_string();
    let mut w = s.try_clone().unwrap();
    w.write_all(b"GET /logged?x=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: test-agent/1.0\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut BufReader::new(s), false);
    let v = server.next_access_log();
    let time = v["time"].as_str().expect("time");
    assert!(time.ends_with('Z') && time.len() == 24, "{time}");
    assert_eq!(v["client"], client);
    assert_eq!(v["method"], "GET");
    assert_eq!(v["path"], "/logged?x=1");
    assert_eq!(v["status"], 200);
    assert_eq!(v["bytes"], resp.body.len());
    assert!(v["duration_ms"].as_f64().expect("duration_ms") >= 0.0);
    assert_eq!(v["user_agent"], "test-agent/1.0");
}

#[test]
fn access_log_off_writes_nothing_to_stdout() {
    let mut server = Server::start(&["--access-log", "off"]);
    assert_eq!(
        server.exchange(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").status,
        200
    );
    server.signal("INT");
    assert!(server.wait_exit().success());
    // The pipe is closed once the process is gone; nothing was written before that.
    assert!(matches!(
        server.stdout.recv_timeout(WAIT),
        Err(RecvTimeoutError::Disconnected)
    ));
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_zero() {
    let mut server = Server::start(&["--shutdown-timeout", "10s"]);
    let s = server.connect();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(
        b"POST /slow?format=json HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    // 100 Continue means the handler is reading the body: the request is in flight.
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 100"), "{line}");
    line.clear();
    r.read_line(&mut line).unwrap();
    w.write_all(b"12345").unwrap();

    server.signal("TERM");
    server.wait_stderr(|v| {
        v["msg"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutting down"))
    });
    // Listeners close as the workers notice the signal; then new connections are refused.
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect(server.addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }

    w.write_all(b"67890").unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["body_bytes"], 10);
    assert_eq!(resp.header("connection"), Some("close"));
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(server.next_access_log()["path"], "/slow?format=json");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start(&["--access-log", "off"]);
    let s = server.connect();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut batch = Vec::new();
    for i in 0..5 {
        batch.extend_from_slice(
            format!("POST /{i}?format=json HTTP/1.1\r\nHost: h\r\nX-N: {i}\r\nContent-Length: {i}\r\n\r\n")
                .as_bytes(),
        );
        batch.extend(std::iter::repeat_n(b'b', i));
    }
    w.write_all(&batch).unwrap();
    for i in 0..5 {
        let v = read_response(&mut r, false).json();
        assert_eq!(v["target"], format!("/{i}?format=json"));
        assert_eq!(v["headers"][1], serde_json::json!(["X-N", i.to_string()]));
        assert_eq!(v["body_bytes"], i);
    }
}

#[test]
fn oversized_request_head_gets_431() {
    let server = Server::start(&["--access-log", "off", "--max-header-size", "4KiB"]);
    let big = "a".repeat(8 * 1024);
    let resp =
        server.exchange(format!("GET / HTTP/1.1\r\nHost: h\r\nX-Big: {big}\r\n\r\n").as_bytes());
    assert_eq!(resp.status, 431);
}

#[test]
fn slow_loris_sender_is_disconnected_after_the_header_timeout() {
    let server = Server::start(&["--access-log", "off", "--header-read-timeout", "500ms"]);
    let mut s = server.connect();
    let started = Instant::now();
    s.write_all(b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: ")
        .unwrap();
    let mut buf = [0u8; 256];
    // The server gives up: either a close (0 bytes / reset) or an error status, never a 200.
    match s.read(&mut buf) {
        Ok(0) | Err(_) => {}
        Ok(n) => {
            let text = String::from_utf8_lossy(&buf[..n]);
            assert!(!text.starts_with("HTTP/1.1 200"), "{text}");
        }
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[test]
fn header_timeout_spares_slow_bodies_and_restarts_for_each_request() {
    let server = Server::start(&["--access-log", "off", "--header-read-timeout", "800ms"]);
    let s = server.connect();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(b"POST /?format=json HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab")
        .unwrap();
    // The deliberate pause is the point of the test: a body slower than the header timeout.
    std::thread::sleep(Duration::from_millis(2000));
    w.write_all(b"cd").unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["body_bytes"], 4);
    // A second request on the same connection within the timeout is served too.
    w.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut r, false).status, 200);
    // Then the idle connection is closed.
    let started = Instant::now();
    let mut buf = [0u8; 16];
    assert!(matches!(r.read(&mut buf), Ok(0) | Err(_)));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn connections_over_the_cap_get_503() {
    let server = Server::start(&["--access-log", "off", "--max-connections", "2"]);
    // Two connections that have each been served are certainly counted.
    let mut held = Vec::new();
    for _ in 0..2 {
        let s = server.connect();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        w.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut r, false).status, 200);
        held.push(r);
    }
    let mut third = server.connect();
    let mut text = String::new();
    let _ = third.read_to_string(&mut text);
    assert!(text.starts_with("HTTP/1.1 503"), "{text:?}");

    // Freeing a slot lets new connections in again.
    drop(held.pop());
    let deadline = Instant::now() + WAIT;
    loop {
        let s = server.connect();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        if w.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").is_ok() {
            let mut line = String::new();
            if r.read_line(&mut line).is_ok() && line.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(Instant::now() < deadline, "slot never freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn port_env_var_sets_the_port_when_no_listen_flag_is_given() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start_with(&["--access-log", "off"], &[("PORT", &port.to_string())], "");
    assert_eq!(server.addr.port(), port);
    assert_eq!(
        server.exchange(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").status,
        200
    );
}

#[test]
fn ipv6_listen_address_serves_requests() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; nothing to test");
        return;
    }
    let server = Server::start_with(&["--access-log", "off"], &[], "[::1]:0");
    assert!(server.addr.is_ipv6());
    let v = server
        .exchange(b"GET /?format=json HTTP/1.1\r\nHost: h\r\n\r\n")
        .json();
    assert_eq!(v["client"]["ip"], "::1");
}

#[test]
fn validate_accepts_a_good_configuration_and_explains_a_bad_one() {
    let ok = Command::new(BIN)
        .args(["validate", "--listen", "127.0.0.1:0", "--max-body", "2MiB"])
        .env_remove("PORT")
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("configuration OK"));

    let bad = Command::new(BIN)
        .args(["validate", "--max-body", "5XB"])
        .env_remove("PORT")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--max-body \"5XB\": unknown unit"));

    // An address that is already taken is reported, not discovered at start-up.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let busy = Command::new(BIN)
        .args(["validate", "--listen", &addr])
        .env_remove("PORT")
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&busy.stderr).contains(&format!("cannot listen on {addr}")));
}

#[test]
fn help_documents_the_command_line() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "[PORT]",
        "--listen",
        "env: PORT",
        "--access-log",
        "validate",
        "--max-body",
        "--max-connections",
        "--header-read-timeout",
        "--shutdown-timeout",
        "SIGTERM",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}
