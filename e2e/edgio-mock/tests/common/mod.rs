//! Test fixtures: the real `edgio-mock` binary on ephemeral ports, a request signer written
//! from the spec (independent of the controller's client), a scriptable DNS server, and
//! header-echoing HTTP origins.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA};
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub const KEY: &str = "00112233445566778899aabbccddeeff";
pub const OTHER_KEY: &str = "ffeeddccbbaa99887766554433221100";

/// A running mock; killed on drop.
pub struct Mock {
    child: Child,
    pub api: String,
    pub edge: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Mock {
    /// Starts the mock with the demo user (`demo` on `demo,cstradtman`), a second user `other`
    /// (on `other`), and the extra arguments.
    pub fn start(extra: &[&str]) -> Mock {
        let mut args: Vec<String> = vec![
            "--user".into(),
            format!("demo:{KEY}:demo,cstradtman"),
            "--user".into(),
            format!("other:{OTHER_KEY}:other"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        Mock::start_raw(&args, &[]).unwrap_or_else(|e| panic!("mock did not start: {e}"))
    }

    /// Starts the binary with exactly these arguments (plus ephemeral listen addresses); Err
    /// carries stderr when the process exits before announcing its ports.
    pub fn start_raw(args: &[String], envs: &[(&str, &str)]) -> Result<Mock, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgio-mock"));
        cmd.args(["--listen", "127.0.0.1:0", "--edge-listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("EDGIO_MOCK_USERS")
            .env_remove("EDGIO_MOCK_CLOCK_MS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
        let stdout_pipe = child.stdout.take().ok_or("no stdout")?;
        let mut stderr_pipe = child.stderr.take().ok_or("no stderr")?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        {
            let stdout = stdout.clone();
            std::thread::spawn(move || {
                let mut first = true;
                for line in BufReader::new(stdout_pipe).lines().map_while(Result::ok) {
                    if first {
                        let _ = tx.send(line.clone());
                        first = false;
                    }
                    stdout.lock().unwrap().push(line);
                }
            });
        }
        {
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr_pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stderr
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let first = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                // Give the stderr reader a moment to drain what the process wrote.
                for _ in 0..50 {
                    if !stderr.lock().unwrap().is_empty() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                return Err(format!(
                    "exited ({status:?}) before announcing its ports; stderr: {}",
                    stderr.lock().unwrap()
                ));
            }
        };
        let v: Value = serde_json::from_str(&first).map_err(|e| format!("{first}: {e}"))?;
        Ok(Mock {
            child,
            api: v["api"].as_str().ok_or("no api")?.to_string(),
            edge: v["edge"].as_str().ok_or("no edge")?.to_string(),
            stdout,
            stderr,
        })
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Terminates the process and waits for it.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn api_url(&self, path: &str) -> String {
        format!("{}/config-api/v1/{path}", self.api)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The spec's token: hex(HMAC-SHA256(hexdecode(key), METHOD+URL+QUERY+TS+BODY)).
pub fn token(key_hex: &str, method: &str, url: &str, query: &str, ts: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&hex::decode(key_hex).unwrap()).unwrap();
    mac.update(method.as_bytes());
    mac.update(url.as_bytes());
    mac.update(query.as_bytes());
    mac.update(ts.as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

/// A signing client for one principal.
pub struct Client {
    pub http: reqwest::Client,
    pub user: String,
    pub key: String,
}

impl Client {
    pub fn demo() -> Client {
        Client::new("demo", KEY)
    }

    pub fn new(user: &str, key: &str) -> Client {
        Client {
            http: reqwest::Client::new(),
            user: user.into(),
            key: key.into(),
        }
    }

    /// Signs and sends `method url` (the URL may carry a raw query) at timestamp `ts`.
    pub async fn send_at(&self, method: &str, url: &str, body: Option<&[u8]>, ts: u64) -> Reply {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let ts = ts.to_string();
        let tok = token(&self.key, method, base, query, &ts, body.unwrap_or(b""));
        self.send_signed(method, url, body, &ts, &tok).await
    }

    pub async fn send_signed(
        &self,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
        ts: &str,
        tok: &str,
    ) -> Reply {
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .header("X-LLNW-Security-Principal", &self.user)
            .header("X-LLNW-Security-Timestamp", ts)
            .header("X-LLNW-Security-Token", tok);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_vec());
        }
        let resp = req.send().await.expect("request reaches the mock");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            json,
        }
    }

    pub async fn send(&self, method: &str, url: &str, body: Option<&[u8]>) -> Reply {
        self.send_at(method, url, body, now_ms()).await
    }

    pub async fn get(&self, url: &str) -> Reply {
        self.send("GET", url, None).await
    }

    pub async fn post_json(&self, url: &str, v: &Value) -> Reply {
        self.send(
            "POST",
            url,
            Some(serde_json::to_string(v).unwrap().as_bytes()),
        )
        .await
    }

    pub async fn put_json(&self, url: &str, v: &Value) -> Reply {
        self.send(
            "PUT",
            url,
            Some(serde_json::to_string(v).unwrap().as_bytes()),
        )
        .await
    }
}

/// A create document for `host` + `path` whose origin is `origin_host:port`.
pub fn instance_doc(
    shortname: &str,
    host: &str,
    path: &str,
    origin_host: &str,
    port: u16,
) -> Value {
    json!({
        "accounts": [{"shortname": shortname}],
        "body": {
            "serviceKey": {"name": "delivery"},
            "serviceProfileName": "LLNW-Generic",
            "publishedHostname": host,
            "publishedUrlPath": path,
            "sourceHostname": origin_host,
            "sourceUrlPath": "",
            "protocolSets": [{
                "publishedProtocol": "http",
                "sourceProtocol": "http",
                "sourcePort": port,
                "options": []
            }]
        }
    })
}

/// A UDP DNS server answering A/AAAA from a table that tests can change; TTL 0.
pub struct TestDns {
    pub addr: SocketAddr,
    records: Arc<Mutex<HashMap<String, Vec<IpAddr>>>>,
}

impl TestDns {
    pub fn start() -> TestDns {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let records: Arc<Mutex<HashMap<String, Vec<IpAddr>>>> = Arc::default();
        let table = records.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok((n, peer)) = socket.recv_from(&mut buf) {
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut reply = Message::new();
                reply
                    .set_id(query.id())
                    .set_message_type(MessageType::Response)
                    .set_op_code(query.op_code())
                    .set_authoritative(true)
                    .set_recursion_desired(query.recursion_desired())
                    .set_recursion_available(true);
                for q in query.queries() {
                    reply.add_query(q.clone());
                    let name = q
                        .name()
                        .to_ascii()
                        .trim_end_matches('.')
                        .to_ascii_lowercase();
                    let ips = table.lock().unwrap().get(&name).cloned();
                    match ips {
                        None => {
                            reply.set_response_code(ResponseCode::NXDomain);
                        }
                        Some(ips) => {
                            for ip in ips {
                                let rdata = match (ip, q.query_type()) {
                                    (IpAddr::V4(v4), RecordType::A) => RData::A(A(v4)),
                                    (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(v6)),
                                    _ => continue,
                                };
                                reply.add_answer(Record::from_rdata(q.name().clone(), 0, rdata));
                            }
                        }
                    }
                }
                if let Ok(bytes) = reply.to_vec() {
                    let _ = socket.send_to(&bytes, peer);
                }
            }
        });
        TestDns { addr, records }
    }

    pub fn set(&self, name: &str, ips: &[IpAddr]) {
        self.records
            .lock()
            .unwrap()
            .insert(name.to_ascii_lowercase(), ips.to_vec());
    }
}

/// An HTTP origin that answers every request with JSON describing it:
/// `{"origin": label, "method", "path", "headers": {name: value}, "body"}`.
pub async fn start_origin(addr: SocketAddr, label: &'static str) -> std::io::Result<SocketAddr> {
    use http_body_util::{BodyExt, Full};
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let svc = service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| async move {
                        let method = req.method().to_string();
                        let path = req
                            .uri()
                            .path_and_query()
                            .map(|p| p.as_str().to_string())
                            .unwrap_or_default();
                        let mut headers = serde_json::Map::new();
                        for name in req.headers().keys() {
                            let values: Vec<&str> = req
                                .headers()
                                .get_all(name)
                                .iter()
                                .filter_map(|v| v.to_str().ok())
                                .collect();
                            headers.insert(name.to_string(), json!(values.join(", ")));
                        }
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|c| c.to_bytes())
                            .unwrap_or_default();
                        let doc = json!({
                            "origin": label, "method": method, "path": path, "headers": headers,
                            "body": String::from_utf8_lossy(&body),
                        });
                        let resp = hyper::Response::builder()
                            .header("content-type", "application/json")
                            .header("x-origin", label)
                            .header("connection", "close, x-origin-private")
                            .header("x-origin-private", "hop")
                            .body(Full::new(bytes::Bytes::from(doc.to_string())))
                            .unwrap();
                        Ok::<_, std::convert::Infallible>(resp)
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(bound)
}

/// Waits until `cond` holds, polling; panics after `timeout` naming `what`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if cond().await {
            return;
        }
        if std::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
