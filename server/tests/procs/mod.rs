//! A harness for tests that run real `appcred` processes: start N servers
//! on one database (a SQLite file or a PostgreSQL database), run CLI
//! commands against it, drive them over HTTP, and stop them by their PID.
//! Every process gets the test harness's server key, so the in-process
//! `TestApp` of `common` can set up and inspect the same database.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The harness's server key (`common::SERVER_KEY`), as the environment
/// gives it to a process.
pub fn server_key_hex() -> String {
    app::backend::secrets::hex(&crate::common::SERVER_KEY)
}

/// The environment every process of a test gets.
fn configure(cmd: &mut Command, db_url: &str) {
    cmd.env("DATABASE_URL", db_url)
        .env("APPCRED_SECRET_KEY", server_key_hex())
        .env("LEPTOS_SITE_ROOT", concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"))
        .env_remove("APPCRED_ADMIN_PASSWORD")
        .env_remove("APPCRED_SECRET_KEY_FILE");
}

/// A running server process.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// Starts a server on `db_url` and waits until it answers `/healthz`.
    pub async fn start(db_url: &str) -> Server {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_appcred"));
        configure(&mut cmd, db_url);
        let child = cmd
            .env("APPCRED_BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let server = Server { child, port };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(Answer { status: 200, .. }) = http(self.port, "GET", "/healthz", &[], "").await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server on port {} did not come up", self.port);
    }

    /// Stops the process by its PID (SIGKILL) and reaps it.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `appcred <args>` against `db_url` and returns what it printed;
/// panics when it fails.
pub fn cli(db_url: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_appcred"));
    configure(&mut cmd, db_url);
    let out = cmd.args(args).env("RUST_LOG", "error").stdin(Stdio::null()).output().expect("run the CLI");
    assert!(out.status.success(), "appcred {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A complete HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The header fields, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One HTTP/1.1 request over a fresh connection; `None` when the connection
/// broke or the answer was cut short.
pub async fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Option<Answer> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(req.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status: u16 = text.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse::<usize>()))
        .and_then(Result::ok);
    if length.is_some_and(|n| n != body.len()) {
        return None;
    }
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Answer { status, headers, body: body.to_string() })
}

/// `Authorization: Basic …` for a client.
pub fn basic(id: &str, secret: &str) -> String {
    crate::common::basic(id, secret)
}

/// A token request with client credentials: the access token and its
/// scope on success.
pub async fn request_token(port: u16, basic: &str) -> Option<(String, String)> {
    let headers = [("Authorization", basic), ("Content-Type", "application/x-www-form-urlencoded")];
    let answer = http(port, "POST", "/oauth/token", &headers, "grant_type=client_credentials").await?;
    if answer.status != 200 {
        return None;
    }
    let v = answer.json();
    Some((v["access_token"].as_str()?.to_owned(), v["scope"].as_str()?.to_owned()))
}

/// A bearer call.
pub async fn bearer(port: u16, method: &str, path: &str, token: &str) -> Option<Answer> {
    http(port, method, path, &[("Authorization", &format!("Bearer {token}"))], "").await
}
