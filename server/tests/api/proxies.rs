//! Forward auth through real proxies: a real `appcred` process, an echo
//! upstream (an axum app answering with the request's headers as JSON), and
//! real nginx and Caddy on loopback ports, configured with the
//! configurations docs/protect-an-api.md prints (only the addresses
//! replaced). nginx and Caddy must be installed (`scripts/setup --test`).

use crate::common::*;
use crate::procs::{basic, cli, free_port, http, request_token, Answer, Server};
use app::model::Role;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DOC: &str = include_str!("../../../docs/protect-an-api.md");
const BARE: &str = "Bearer realm=\"appcred\"";
const FORGED: &str = "forged-by-the-client";

/// The first fenced block of `lang` under `heading` of the document.
fn documented(heading: &str, lang: &str) -> String {
    let section = &DOC[DOC.find(heading).unwrap_or_else(|| panic!("docs/protect-an-api.md: no {heading}"))..];
    let start = section.find(&format!("```{lang}\n")).expect("a configuration block") + lang.len() + 4;
    let block = &section[start..];
    block[..block.find("```").expect("the block ends")].to_string()
}

/// The addresses of the documented configurations, replaced by the test's.
fn addressed(config: &str, appcred: u16, upstream: u16) -> String {
    let out = config
        .replace("http://appcred:3000", &format!("http://127.0.0.1:{appcred}"))
        .replace("http://backend:8000", &format!("http://127.0.0.1:{upstream}"));
    assert_ne!(out, config, "the documented addresses are still the ones this test replaces");
    out
}

fn installed(tool: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(tool)).find(|p| p.is_file()))
        .or_else(|| Some(Path::new("/usr/sbin").join(tool)).filter(|p| p.is_file()));
    found.unwrap_or_else(|| {
        panic!("`{tool}` is not installed: the forward-auth tests run real proxies. Install it with `scripts/setup --test` (CI does).")
    })
}

/// A proxy process, stopped by its PID (SIGTERM, so nginx's master takes
/// its workers down with it).
struct Proxy {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Proxy {
    fn spawn(mut cmd: Command, port: u16, dir: PathBuf) -> Proxy {
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start the proxy");
        Proxy { child, port, dir }
    }

    async fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("err")).unwrap_or_default();
                panic!("the proxy exited ({status}): {log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the proxy on port {} did not come up", self.port);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn work_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("appcred-proxy-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn nginx(appcred: u16, upstream: u16) -> Proxy {
    let bin = installed("nginx");
    let port = free_port();
    let dir = work_dir("nginx");
    let d = dir.display();
    let server = addressed(&documented("## Forward auth: nginx", "nginx"), appcred, upstream)
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
    let conf = format!(
        "daemon off;\npid {d}/nginx.pid;\nerror_log {d}/err;\nworker_processes 1;\nevents {{}}\nhttp {{\n\
         access_log off;\nclient_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n{server}}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg("-c").arg(dir.join("nginx.conf")).arg("-p").arg(&dir);
    let mut proxy = Proxy::spawn(cmd, port, dir);
    proxy.wait_listening().await;
    proxy
}

async fn caddy(appcred: u16, upstream: u16) -> Proxy {
    let bin = installed("caddy");
    let port = free_port();
    let dir = work_dir("caddy");
    let site = addressed(&documented("## Forward auth: Caddy", "caddy"), appcred, upstream)
        .replace("api.example.com {", &format!("http://127.0.0.1:{port} {{"));
    let global = format!("{{\n  admin off\n  auto_https off\n  storage file_system {}\n}}\n", dir.display());
    std::fs::write(dir.join("Caddyfile"), format!("{global}{site}")).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg("run").arg("--config").arg(dir.join("Caddyfile")).arg("--adapter").arg("caddyfile");
    cmd.env("HOME", &dir).env("XDG_DATA_HOME", &dir).env("XDG_CONFIG_HOME", &dir);
    let mut proxy = Proxy::spawn(cmd, port, dir);
    proxy.wait_listening().await;
    proxy
}

/// The upstream: answers every request with its headers as JSON.
async fn echo() -> u16 {
    async fn headers(req: axum::extract::Request) -> axum::Json<serde_json::Value> {
        let mut map = serde_json::Map::new();
        for (name, value) in req.headers() {
            // The token itself is never echoed (into a failing test's output).
            let value = if name == axum::http::header::AUTHORIZATION { "(sent)" } else { value.to_str().unwrap_or("") };
            map.insert(name.as_str().to_string(), value.into());
        }
        axum::Json(serde_json::Value::Object(map))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(headers)).await });
    port
}

/// alice (Work Creator) and bob (Auditor), each with a credential and a
/// token from the real server; a User Manager's token to change roles.
struct World {
    url: String,
    server: Server,
    upstream: u16,
    alice: String,
    alice_client: String,
    alice_token: String,
    bob_token: String,
    manager_token: String,
}

async fn world() -> World {
    let setup = spawn().await;
    let alice = setup.create_user("alice", ADMIN_PASSWORD, &[Role::WorkCreator]).await;
    let bob = setup.create_user("bob", ADMIN_PASSWORD, &[Role::Auditor]).await;
    let manny = setup.create_user("manny", ADMIN_PASSWORD, &[Role::UserManager]).await;
    let a = credential_for(&setup, &alice, "Nightly export", &["work_creator"]).await;
    let b = credential_for(&setup, &bob, "audit", &["auditor"]).await;
    let m = credential_for(&setup, &manny, "ops", &["user_manager"]).await;
    let server = Server::start(&setup.db_url).await;
    let token = |c: Client| {
        let port = server.port;
        async move { request_token(port, &basic(&c.id, &c.secret)).await.expect("a token").0 }
    };
    let alice_client = a.id.clone();
    let (alice_token, bob_token, manager_token) = (token(a).await, token(b).await, token(m).await);
    World {
        url: setup.db_url.clone(),
        server,
        upstream: echo().await,
        alice,
        alice_client,
        alice_token,
        bob_token,
        manager_token,
    }
}

async fn through(proxy: &Proxy, path: &str, token: Option<&str>) -> Answer {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("X-Appcred-Client-Id", FORGED),
        ("X-Appcred-Subject", FORGED),
        ("X-Appcred-Username", FORGED),
        ("X-Appcred-Roles", "administrator"),
        ("X-Appcred-Credential", FORGED),
        ("X-Appcred-Require-Roles", "auditor"),
    ];
    if let Some(b) = &bearer {
        headers.push(("Authorization", b));
    }
    http(proxy.port, "GET", path, &headers, "").await.expect("an answer from the proxy")
}

/// What every proxy must do; `revoke` takes alice's role away; without
/// appcred, the proxy answers `unreachable` (docs/protect-an-api.md).
async fn exercise(proxy: &Proxy, w: World, revoke: impl std::future::Future<Output = ()>, unreachable: u16) {
    // A token with the role reaches the upstream, which sees who called,
    // and none of the client's forged X-Appcred-* headers.
    let ok = through(proxy, "/orders/123456?page=2", Some(&w.alice_token)).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let seen = ok.json();
    assert_eq!(seen["x-appcred-client-id"], w.alice_client.as_str(), "{seen}");
    assert_eq!(seen["x-appcred-subject"], w.alice.as_str(), "{seen}");
    assert_eq!(seen["x-appcred-username"], "alice", "{seen}");
    assert_eq!(seen["x-appcred-roles"], "work_creator", "{seen}");
    assert_eq!(seen["x-appcred-credential"], "Nightly%20export", "{seen}");
    assert!(!ok.body.contains(FORGED) && !ok.body.contains("administrator"), "{seen}");

    // A token without the role: 403, even when the client names its own
    // requirements in the query or the headers.
    for path in ["/orders", "/orders?roles=auditor", "/orders?audience=x&match=any"] {
        let refused = through(proxy, path, Some(&w.bob_token)).await;
        assert_eq!(refused.status, 403, "{path}: {refused:?}");
        assert!(!refused.body.contains("x-appcred"), "the upstream was not reached: {refused:?}");
    }

    // No token: 401 with the bare challenge.
    let none = through(proxy, "/orders", None).await;
    assert_eq!(none.status, 401, "{none:?}");
    assert_eq!(none.header("www-authenticate"), Some(BARE), "{none:?}");

    // The owner loses the role: the very next request is refused.
    revoke.await;
    let after = through(proxy, "/orders", Some(&w.alice_token)).await;
    assert_eq!(after.status, 401, "{after:?}");
    assert!(after.header("www-authenticate").is_some_and(|c| c.contains("invalid_token")), "{after:?}");

    // appcred gone: refused, and the upstream is not reached.
    w.server.stop();
    let down = through(proxy, "/orders", Some(&w.alice_token)).await;
    assert_eq!(down.status, unreachable, "{down:?}");
    assert!(!down.body.contains("x-appcred"), "{down:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_admits_refuses_and_strips_as_documented() {
    let w = world().await;
    let proxy = nginx(w.server.port, w.upstream).await;
    let url = w.url.clone();
    let revoke = async move {
        tokio::task::spawn_blocking(move || {
            cli(&url, &["user", "revoke", "--username", "alice", "--role", "work_creator"])
        })
        .await
        .unwrap();
    };
    exercise(&proxy, w, revoke, 500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_admits_refuses_and_strips_as_documented() {
    let w = world().await;
    let proxy = caddy(w.server.port, w.upstream).await;
    let (port, alice, manager) = (w.server.port, w.alice.clone(), w.manager_token.clone());
    let revoke = async move {
        let path = format!("/api/v1/users/{alice}/roles/work_creator");
        let res = crate::procs::bearer(port, "DELETE", &path, &manager).await.expect("an answer");
        assert_eq!(res.status, 204, "{res:?}");
    };
    exercise(&proxy, w, revoke, 502).await;
}
