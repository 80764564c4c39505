//! One typed configuration, from command-line flags and environment
//! variables (each flag names its variable in `--help`), validated before
//! anything starts.

use app::backend::db::DbKind;
use app::backend::secrets::SecretKey;
use clap::{Args, Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "appcred",
    version,
    about = "Self-hosted OAuth 2.0 application credentials service",
    long_about = "Runs the appcred server (the default), or manages users from the command line.\n\
                  Every option can also be set through the environment variable shown with it.",
    after_help = "Secrets are never command-line arguments (they would show in `ps`): the server key comes \
                  from APPCRED_SECRET_KEY or the file named by APPCRED_SECRET_KEY_FILE, the first \
                  administrator's password from APPCRED_ADMIN_PASSWORD or the file named by \
                  APPCRED_ADMIN_PASSWORD_FILE."
)]
pub struct Cli {
    /// Database URL: sqlite://PATH (embedded default) or postgres://...
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/appcred.db", global = true)]
    pub database_url: String,

    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "APPCRED_BIND")]
    pub bind: Option<SocketAddr>,

    /// The URL people and clients use to reach this server (the OAuth
    /// issuer): an origin, https unless it names this machine (loopback).
    /// When it is https, session cookies get `Secure` and the `__Host-`
    /// prefix. Defaults to http://<bind>.
    #[arg(long, env = "APPCRED_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Password for the `admin` user created on first start with an empty
    /// database; only from the environment (`APPCRED_ADMIN_PASSWORD`, read
    /// by [`ServeArgs::read_secrets_from_env`]), never an argument. When
    /// unset, a random one is generated and printed once.
    #[arg(skip)]
    pub admin_password: Option<String>,

    /// A file holding the first administrator's password (one line; the
    /// alternative to APPCRED_ADMIN_PASSWORD).
    #[arg(long, env = "APPCRED_ADMIN_PASSWORD_FILE")]
    pub admin_password_file: Option<PathBuf>,

    /// Reverse proxies whose X-Forwarded-For header is trusted
    /// (comma-separated IP addresses). Others' headers are ignored.
    #[arg(long = "trusted-proxy", env = "APPCRED_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,

    /// The server key (32 bytes, hex or base64url) from which every key is
    /// derived (`app/src/backend/keys.rs`); only from the environment
    /// (`APPCRED_SECRET_KEY`), never an argument. Every instance must share
    /// it. With SQLite and no key given, one is generated into secret.key
    /// next to the database file.
    #[arg(skip)]
    pub secret_key: Option<String>,

    /// A file holding the server key (the alternative to APPCRED_SECRET_KEY;
    /// 32 bytes, hex or base64url). Every instance must share it. With
    /// SQLite and no key given, one is generated into secret.key next to
    /// the database file.
    #[arg(long, env = "APPCRED_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// Log format: `pretty` for people, `json` for log collectors.
    #[arg(long, env = "APPCRED_LOG_FORMAT", default_value = "pretty", value_parser = ["pretty", "json"])]
    pub log_format: String,

    /// Directory holding the compiled site (wasm, js, css).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
}

impl ServeArgs {
    /// Takes the secrets that only the environment may carry: the server key
    /// and the first administrator's password.
    pub fn read_secrets_from_env(&mut self) {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        self.secret_key = var("APPCRED_SECRET_KEY");
        self.admin_password = var("APPCRED_ADMIN_PASSWORD");
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the server (the default when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Provision application credentials for a user (same rules as the web app).
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Manage protected APIs (resource servers; docs/protect-an-api.md).
    #[command(subcommand)]
    ProtectedApi(ProtectedApiCommand),
    /// Work with the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the whole audit log. Exits 0 when intact;
    /// otherwise names the first broken event and exits 1.
    Verify {
        /// A head printed earlier by `appcred audit head` (SEQ:HASH): also
        /// fail when the log is shorter than SEQ or event SEQ does not carry
        /// HASH, so a cut tail is found.
        #[arg(long, value_name = "SEQ:HASH")]
        head: Option<app::backend::audit::Anchor>,
    },
    /// Print the head of the chain as SEQ:HASH (the last event and its
    /// hash), to be kept where the database's writers cannot reach it.
    Head,
}

#[derive(Subcommand)]
pub enum CredentialCommand {
    /// Create a credential; prints the client ID and the secret once, as JSON.
    Create {
        /// The owner: the credential acts on this user's behalf.
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// Last day the credential works (YYYY-MM-DD, UTC); default: the longest allowed, at most 365 days.
        #[arg(long)]
        expires_on: Option<String>,
        /// A role slug the owner holds (repeatable).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// List a user's credentials as JSON (never a secret).
    List {
        #[arg(long)]
        username: String,
    },
    /// Replace a credential's secret; prints the new one once, as JSON.
    Regenerate {
        #[arg(long)]
        username: String,
        /// The client ID.
        #[arg(long)]
        client_id: String,
    },
    /// Delete a credential; its tokens die at once.
    Delete {
        #[arg(long)]
        username: String,
        #[arg(long)]
        client_id: String,
    },
}

#[derive(Subcommand)]
pub enum ProtectedApiCommand {
    /// Register a protected API; prints its client ID and secret once, as JSON.
    Create {
        #[arg(long)]
        name: String,
        /// The absolute URI clients name as `resource` (https, or http on localhost).
        #[arg(long)]
        audience: String,
    },
    /// List the protected APIs as JSON (never a secret).
    List,
    /// Change a protected API's name and audience; another audience ends the tokens bound to the old one.
    Edit {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        audience: String,
    },
    /// Replace a protected API's secret; prints the new one once, as JSON.
    Regenerate {
        #[arg(long)]
        client_id: String,
    },
    /// Delete a protected API; the tokens bound to it die at once.
    Delete {
        #[arg(long)]
        client_id: String,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from stdin with --password-stdin,
    /// otherwise a random one is generated and printed once.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// A role slug (repeatable), e.g. --role work_creator --role team_leader.
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password and end all their sessions.
    Passwd {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Grant a role to a user.
    Grant {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
    },
    /// Revoke a role from a user.
    Revoke {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
    },
    /// Deactivate a user: every token of their credentials dies and their sessions end.
    Deactivate {
        #[arg(long)]
        username: String,
    },
    /// Reactivate a deactivated user.
    Activate {
        #[arg(long)]
        username: String,
    },
    /// List users and their roles as JSON.
    List,
}

/// The validated serving configuration.
#[derive(Clone)]
pub struct ServeConfig {
    pub database_url: String,
    pub bind: SocketAddr,
    pub public_url: String,
    pub secure_cookies: bool,
    pub admin_password: Option<String>,
    pub trusted_proxies: Vec<IpAddr>,
    pub json_logs: bool,
    pub site_root: String,
    pub secret_key: std::sync::Arc<SecretKey>,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("database", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("secure_cookies", &self.secure_cookies)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "[redacted]"))
            .field("trusted_proxies", &self.trusted_proxies)
            .field("secret_key", &self.secret_key)
            .finish()
    }
}

/// Drops the password from a database URL before it is shown anywhere:
/// the one in the userinfo (`user:pass@`) and a `password=` query
/// parameter (libpq's connection URIs accept both).
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &base[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:[redacted]@{}", &base[..s], user, &base[at + 1..])
        }
        _ => base.to_string(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=[redacted]"),
                _ => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

impl ServeConfig {
    pub fn from_cli(database_url: &str, args: &ServeArgs) -> anyhow::Result<Self> {
        let kind = DbKind::from_url(database_url)?;
        let bind = match args.bind {
            Some(b) => b,
            None => std::env::var("LEPTOS_SITE_ADDR")
                .ok()
                .map(|s| s.parse())
                .transpose()
                .map_err(|e| anyhow::anyhow!("LEPTOS_SITE_ADDR is not an address: {e}"))?
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000))),
        };
        let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{bind}"));
        let public_url = public_url.trim_end_matches('/').to_string();
        let (https, authority) = if let Some(rest) = public_url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = public_url.strip_prefix("http://") {
            (false, rest)
        } else {
            anyhow::bail!("--public-url must start with http:// or https:// (got {public_url:?})");
        };
        if authority.is_empty() || authority.contains(['?', '#', '/']) {
            anyhow::bail!("--public-url must be a plain origin such as https://auth.example.com");
        }
        // Secrets and tokens cross this URL: plain http only on this machine
        // (R6749-01, R8414-02: the issuer is an https URL).
        if !https && !is_loopback_authority(authority) {
            anyhow::bail!(
                "--public-url {public_url} would send client secrets and tokens unencrypted: serve appcred \
                 behind TLS and set APPCRED_PUBLIC_URL=https://… (plain http is only for loopback addresses)"
            );
        }
        let admin_password = match (&args.admin_password, &args.admin_password_file) {
            (Some(_), Some(_)) => {
                anyhow::bail!("set APPCRED_ADMIN_PASSWORD or APPCRED_ADMIN_PASSWORD_FILE, not both")
            }
            (Some(p), None) => Some(p.clone()),
            (None, Some(path)) => Some(read_secret_line(path)?),
            (None, None) => None,
        };
        if let Some(p) = &admin_password {
            app::backend::password::check_policy(p, "admin")
                .map_err(|m| anyhow::anyhow!("APPCRED_ADMIN_PASSWORD is not acceptable: {m}"))?;
        }
        Ok(ServeConfig {
            database_url: database_url.to_string(),
            bind,
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            admin_password,
            trusted_proxies: args.trusted_proxies.clone(),
            json_logs: args.log_format == "json",
            site_root: args.site_root.clone(),
            secret_key: std::sync::Arc::new(load_secret_key(database_url, kind, args)?),
        })
    }
}

/// The server key: from the environment, from a file, or (SQLite only)
/// generated once into `secret.key` beside the database.
pub fn load_secret_key(database_url: &str, kind: DbKind, args: &ServeArgs) -> anyhow::Result<SecretKey> {
    if let Some(text) = &args.secret_key {
        return SecretKey::parse(text).map_err(|e| anyhow::anyhow!("APPCRED_SECRET_KEY: {e}"));
    }
    if let Some(path) = &args.secret_key_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("could not read the key file {}: {e}", path.display()))?;
        return SecretKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    if kind == DbKind::Postgres {
        anyhow::bail!(
            "with PostgreSQL every instance must share the server key: set APPCRED_SECRET_KEY or \
             APPCRED_SECRET_KEY_FILE (32 random bytes, e.g. `openssl rand -hex 32`)"
        );
    }
    let path = sqlite_sidecar(database_url, "secret.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("could not read the key file {}: {e}", path.display()))?;
        return SecretKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    // A new key only for a new database: with an existing one, a new key
    // would make every secret, session and keyed audit row unverifiable.
    let db_file = sqlite_file(database_url);
    if db_file.exists() {
        anyhow::bail!(
            "the database {} exists but its server key {} is missing: restore the key file from the backup \
             (a new key would invalidate every client secret, session and keyed audit event), or set \
             APPCRED_SECRET_KEY / APPCRED_SECRET_KEY_FILE",
            db_file.display(),
            path.display()
        );
    }
    let key = SecretKey::generate();
    if let Some(dir) = path.parent() {
        app::backend::db::create_private_dir(dir)?;
    }
    write_private(&path, &key.to_hex())?;
    tracing::info!(path = %path.display(), "generated a new server key");
    Ok(key)
}

/// The first line of a file holding a secret, without its line ending.
fn read_secret_line(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("could not read the password file {}: {e}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

/// The database file of a `sqlite:` URL (its path, without the query).
pub fn sqlite_file(database_url: &str) -> &Path {
    let rest = database_url.trim_start_matches("sqlite:").trim_start_matches("//");
    Path::new(rest.split('?').next().unwrap_or(rest))
}

pub fn sqlite_sidecar(database_url: &str, file: &str) -> PathBuf {
    sqlite_file(database_url).parent().map(|p| p.join(file)).unwrap_or_else(|| PathBuf::from(file))
}

/// `host[:port]` naming this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(host, _port)| host),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| anyhow::anyhow!("could not create {}: {e}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    /// Parses a command line; unless the test is about databases or keys, a
    /// key is supplied so nothing is written to disk.
    fn args(extra: &[&str]) -> Cli {
        let mut v = vec!["appcred"];
        v.extend_from_slice(extra);
        let mut cli = Cli::parse_from(v);
        if !extra.contains(&"--database-url") {
            cli.serve.secret_key = Some(TEST_KEY.into());
        }
        cli
    }

    /// [`args`] with secrets as the environment would give them.
    fn with_secrets(extra: &[&str], key: Option<&str>, admin_password: Option<&str>) -> Cli {
        let mut cli = args(extra);
        cli.serve.secret_key = key.map(str::to_string);
        cli.serve.admin_password = admin_password.map(str::to_string);
        cli
    }

    #[test]
    fn https_public_urls_turn_on_secure_cookies() {
        let cli = args(&["--public-url", "https://auth.example.com/", "--bind", "127.0.0.1:9"]);
        let cfg = ServeConfig::from_cli(&cli.database_url, &cli.serve).unwrap();
        assert!(cfg.secure_cookies);
        assert_eq!(cfg.public_url, "https://auth.example.com");
        let cli = args(&["--bind", "127.0.0.1:9"]);
        let cfg = ServeConfig::from_cli(&cli.database_url, &cli.serve).unwrap();
        assert!(!cfg.secure_cookies);
        assert_eq!(cfg.public_url, "http://127.0.0.1:9");
    }

    #[test]
    fn plain_http_is_refused_beyond_loopback() {
        // R6749-01, R8414-02: the issuer is https, except on this machine
        for url in ["http://auth.example.com", "http://10.0.0.5:3000", "http://[2001:db8::1]:80"] {
            let cli = args(&["--public-url", url, "--bind", "127.0.0.1:9"]);
            let err = ServeConfig::from_cli(&cli.database_url, &cli.serve).expect_err(url).to_string();
            assert!(err.contains("unencrypted") && err.contains("https://"), "{err}");
        }
        let cli = args(&["--bind", "0.0.0.0:3000"]);
        assert!(ServeConfig::from_cli(&cli.database_url, &cli.serve).is_err(), "the default URL of a public bind");
        for url in ["http://localhost:3000", "http://127.0.0.2", "http://[::1]:3000", "https://10.0.0.5"] {
            let cli = args(&["--public-url", url, "--bind", "127.0.0.1:9"]);
            assert!(ServeConfig::from_cli(&cli.database_url, &cli.serve).is_ok(), "{url}");
        }
        let cli = args(&["--public-url", "https://auth.example.com/base", "--bind", "127.0.0.1:9"]);
        assert!(ServeConfig::from_cli(&cli.database_url, &cli.serve).is_err(), "an origin, not a path");
    }

    #[test]
    fn bad_configuration_fails_fast_with_a_reason() {
        let cli = args(&["--public-url", "ftp://x", "--bind", "127.0.0.1:9"]);
        assert!(ServeConfig::from_cli(&cli.database_url, &cli.serve).is_err());
        let cli = with_secrets(&["--bind", "127.0.0.1:9"], Some(TEST_KEY), Some("short"));
        let err = ServeConfig::from_cli(&cli.database_url, &cli.serve).err().unwrap().to_string();
        assert!(err.contains("APPCRED_ADMIN_PASSWORD") && !err.contains("short"));
        let cli = with_secrets(&["--database-url", "mysql://x", "--bind", "127.0.0.1:9"], Some(TEST_KEY), None);
        assert!(ServeConfig::from_cli(&cli.database_url, &cli.serve).is_err());
    }

    #[test]
    fn with_sqlite_a_key_is_generated_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("appcred-key-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}/x.db", dir.display());
        let cli = args(&["--bind", "127.0.0.1:9", "--database-url", &url]);
        let a = ServeConfig::from_cli(&cli.database_url, &cli.serve).unwrap().secret_key;
        let b = ServeConfig::from_cli(&cli.database_url, &cli.serve).unwrap().secret_key;
        assert_eq!(a.digest("x"), b.digest("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("secret.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_existing_sqlite_database_without_its_key_is_refused_not_given_a_new_key() {
        let dir = std::env::temp_dir().join(format!("appcred-key-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("x.db"), b"").unwrap();
        let url = format!("sqlite://{}/x.db", dir.display());
        let cli = args(&["--bind", "127.0.0.1:9", "--database-url", &url]);
        let err = ServeConfig::from_cli(&cli.database_url, &cli.serve).unwrap_err();
        assert!(format!("{err}").contains("restore the key file"), "{err}");
        assert!(!dir.join("secret.key").exists(), "no new key was written");
    }

    #[test]
    fn postgres_needs_a_shared_key() {
        let cli = args(&["--bind", "127.0.0.1:9", "--database-url", "postgres://db/x"]);
        let err = ServeConfig::from_cli(&cli.database_url, &cli.serve).err().unwrap().to_string();
        assert!(err.contains("APPCRED_SECRET_KEY"), "{err}");
        let key = "11".repeat(32);
        let cli = with_secrets(&["--bind", "127.0.0.1:9", "--database-url", "postgres://db/x"], Some(&key), None);
        assert!(ServeConfig::from_cli(&cli.database_url, &cli.serve).is_ok());
    }

    #[test]
    fn debug_output_hides_passwords() {
        let cli = with_secrets(
            &["--bind", "127.0.0.1:9", "--database-url", "postgres://app:pw123@db/x"],
            Some(TEST_KEY),
            Some("a-very-long-password"),
        );
        let cfg = ServeConfig::from_cli(&cli.database_url, &cli.serve).unwrap();
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("a-very-long-password") && !shown.contains("pw123"), "{shown}");
        assert!(!shown.contains("2222"), "the server key is hidden too: {shown}");
    }

    #[test]
    fn database_urls_are_shown_without_any_password() {
        for (url, secret) in [
            ("postgres://app:pw123@db/x", "pw123"),
            ("postgres://db/appcred?user=app&password=pw123&sslmode=require", "pw123"),
            ("postgresql:///appcred?host=/run/postgresql&PASSWORD=pw%20123", "pw%20123"),
            ("postgres://app:pw123@db/x?password=other456", "other456"),
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains(secret) && !shown.contains("pw123"), "{url} is shown as {shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
        let shown = redact_url("postgres://db/appcred?user=app&password=pw123&sslmode=require");
        assert!(shown.contains("user=app") && shown.contains("sslmode=require"), "{shown}");
        assert_eq!(redact_url("sqlite://data/appcred.db"), "sqlite://data/appcred.db");
    }
}
