//! The real binary's files and arguments: what it creates is private to its
//! user (data directory 0700; database, SQLite's `-wal` and `-shm`, and
//! `secret.key` 0600), it warns about existing files that are more open,
//! and no secret is taken as a command-line argument (it would show in `ps`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "3333333333333333333333333333333333333333333333333333333333333333";

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("appcred-files-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    )
}

fn appcred(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_appcred"));
    c.env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("LEPTOS_SITE_ROOT", concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"))
        .env("APPCRED_LOG_FORMAT", "json")
        .env_remove("APPCRED_SECRET_KEY")
        .env_remove("APPCRED_ADMIN_PASSWORD")
        .env_remove("RUST_LOG");
    c
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_server_creates_its_directory_and_files_private() {
    let root = temp_dir();
    let data = root.join("data");
    let db = data.join("appcred.db");
    let password_file = root.join("admin-password");
    std::fs::write(&password_file, "a long operator passphrase\n").unwrap();
    let port = free_port();
    let mut child = appcred(&db)
        .env("APPCRED_BIND", format!("127.0.0.1:{port}"))
        .env("APPCRED_ADMIN_PASSWORD_FILE", &password_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        std::thread::sleep(Duration::from_millis(100));
    }
    let modes = [
        (data.clone(), mode(&data)),
        (db.clone(), mode(&db)),
        (data.join("appcred.db-wal"), mode(&data.join("appcred.db-wal"))),
        (data.join("appcred.db-shm"), mode(&data.join("appcred.db-shm"))),
        (data.join("secret.key"), mode(&data.join("secret.key"))),
    ];
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let banner = String::from_utf8_lossy(&out.stdout);
    assert_eq!(modes[0].1, 0o700, "{}", modes[0].0.display());
    for (path, m) in &modes[1..] {
        assert_eq!(*m, 0o600, "{} is {m:o}", path.display());
    }
    assert!(!banner.contains("Password:"), "the password came from APPCRED_ADMIN_PASSWORD_FILE: {banner}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn existing_files_more_open_than_private_are_warned_about() {
    let root = temp_dir();
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let key = data.join("secret.key");
    std::fs::write(&key, KEY).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = data.join("appcred.db");
    let out = appcred(&db).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let logs = String::from_utf8_lossy(&out.stderr);
    let warned =
        |path: &Path| logs.lines().any(|l| l.contains("\"WARN\"") && l.contains(&format!("\"{}\"", path.display())));
    assert!(warned(&key), "no warning about the 0644 secret.key: {logs}");
    assert!(warned(&data), "no warning about the 0755 data directory: {logs}");
    assert!(!logs.contains(KEY), "the key itself is never logged");
    assert!(!warned(&db), "the database was created private: {logs}");

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = appcred(&db).arg("migrate").output().unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(!logs.contains("\"WARN\""), "private files are not warned about: {logs}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn secrets_are_not_command_line_arguments_and_the_environment_still_works() {
    let help = appcred(Path::new("/nonexistent/x.db")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("APPCRED_SECRET_KEY_FILE"), "{help}");
    for flag in ["--admin-password", "--secret-key"] {
        let file_flag = format!("{flag}-file");
        assert!(help.contains(&file_flag), "{help}");
        assert!(!help.replace(&file_flag, "").contains(flag), "{flag} is listed: {help}");
    }
    for flag in ["--secret-key", "--admin-password"] {
        let out = appcred(Path::new("/nonexistent/x.db")).args([flag, KEY, "migrate"]).output().unwrap();
        assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument"), "{flag} is refused: {out:?}");
    }

    // the key from the environment: no secret.key is generated
    let root = temp_dir();
    let db = root.join("data").join("appcred.db");
    let add = ["user", "add", "--username", "bob", "--display-name", "Bob"];
    let out = appcred(&db).env("APPCRED_SECRET_KEY", KEY).args(add).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!root.join("data").join("secret.key").exists(), "the key came from APPCRED_SECRET_KEY");
    // the same key from a file verifies the keyed audit chain; another key does not
    let key_file = root.join("key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let out = appcred(&db).env("APPCRED_SECRET_KEY_FILE", &key_file).args(["audit", "verify"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let other = "44".repeat(32);
    let out = appcred(&db).env("APPCRED_SECRET_KEY", &other).args(["audit", "verify"]).output().unwrap();
    assert!(!out.status.success(), "the chain is keyed: {out:?}");
    let _ = std::fs::remove_dir_all(&root);
}
