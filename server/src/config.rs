//! One typed configuration, from command-line flags and environment
//! variables (each flag names its variable in `--help`), validated before
//! anything starts.

use clap::{Args, Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};

#[derive(Parser)]
#[command(
    name = "appcred",
    version,
    about = "Self-hosted OAuth 2.0 application credentials service",
    long_about = "Runs the appcred server (the default), or manages users from the command line.\n\
                  Every option can also be set through the environment variable shown with it."
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
    /// issuer). When it is https, session cookies get `Secure` and the
    /// `__Host-` prefix. Defaults to http://<bind>.
    #[arg(long, env = "APPCRED_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Password for the `admin` user created on first start with an empty
    /// database. When unset, a random one is generated and printed once.
    #[arg(long, env = "APPCRED_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Reverse proxies whose X-Forwarded-For header is trusted
    /// (comma-separated IP addresses). Others' headers are ignored.
    #[arg(long = "trusted-proxy", env = "APPCRED_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,

    /// Log format: `pretty` for people, `json` for log collectors.
    #[arg(long, env = "APPCRED_LOG_FORMAT", default_value = "pretty", value_parser = ["pretty", "json"])]
    pub log_format: String,

    /// Directory holding the compiled site (wasm, js, css).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
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
            .finish()
    }
}

/// Drops the password from a database URL before it is shown anywhere.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:[redacted]@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

impl ServeConfig {
    pub fn from_cli(database_url: &str, args: &ServeArgs) -> anyhow::Result<Self> {
        app::backend::db::DbKind::from_url(database_url)?;
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
        let secure = if let Some(rest) = public_url.strip_prefix("https://") {
            rest
        } else if let Some(rest) = public_url.strip_prefix("http://") {
            rest
        } else {
            anyhow::bail!("--public-url must start with http:// or https:// (got {public_url:?})");
        };
        if secure.is_empty() || secure.contains(['?', '#']) {
            anyhow::bail!("--public-url must be a plain origin such as https://auth.example.com");
        }
        if let Some(p) = &args.admin_password {
            app::backend::auth::password::check_policy(p, "admin")
                .map_err(|m| anyhow::anyhow!("APPCRED_ADMIN_PASSWORD is not acceptable: {m}"))?;
        }
        Ok(ServeConfig {
            database_url: database_url.to_string(),
            bind,
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            admin_password: args.admin_password.clone(),
            trusted_proxies: args.trusted_proxies.clone(),
            json_logs: args.log_format == "json",
            site_root: args.site_root.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Cli {
        let mut v = vec!["appcred"];
        v.extend_from_slice(extra);
        Cli::parse_from(v)
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
    fn bad_configuration_fails_fast_with_a_reason() {
        let cli = args(&["--public-url", "ftp://x", "--bind", "127.0.0.1:9"]);
        assert!(ServeConfig::from_cli(&cli.database_url, &cli.serve).is_err());
        let cli = args(&["--bind", "127.0.0.1:9", "--admin-password", "short"]);
        let err = ServeConfig::from_cli(&cli.database_url, &cli.serve).err().unwrap().to_string();
        assert!(err.contains("APPCRED_ADMIN_PASSWORD") && !err.contains("short"));
        let cli = args(&["--database-url", "mysql://x", "--bind", "127.0.0.1:9"]);
        assert!(ServeConfig::from_cli(&cli.database_url, &cli.serve).is_err());
    }

    #[test]
    fn debug_output_hides_passwords() {
        let cli = args(&[
            "--bind",
            "127.0.0.1:9",
            "--admin-password",
            "a-very-long-password",
            "--database-url",
            "postgres://app:pw123@db/x",
        ]);
        let cfg = ServeConfig::from_cli(&cli.database_url, &cli.serve).unwrap();
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("a-very-long-password") && !shown.contains("pw123"), "{shown}");
    }
}
