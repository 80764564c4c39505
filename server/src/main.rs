use appcred_server::{cli, config::Cli};
use clap::Parser;
use tracing_subscriber::{fmt, EnvFilter};

/// glibc's allocator spent about a sixth of the server's CPU under load
/// (`malloc_consolidate`, `unlink_chunk`; docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,sqlx=warn"));
    // Logs go to stderr: stdout is for the CLI's answers (JSON a script
    // can parse) and the start-up banner.
    if json {
        fmt().json().with_env_filter(filter).with_current_span(false).with_writer(std::io::stderr).init();
    } else {
        fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Before anything can create a file (appcred_server::files).
    appcred_server::files::restrict_new_files();
    let mut cli = Cli::parse();
    cli.serve.read_secrets_from_env();
    init_tracing(cli.serve.log_format == "json");
    match cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("appcred: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
