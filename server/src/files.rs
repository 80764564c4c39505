//! The files the server keeps beside a SQLite database (the database, its
//! `-wal` and `-shm` files, `secret.key`) hold every secret digest, session
//! and audit row, and the key itself: they are for this user only.
//!
//! New files: [`restrict_new_files`] sets the process umask to 077 before
//! anything is opened, so whatever the process creates, including the
//! `-wal` and `-shm` files SQLite creates later on its own, is 0600 and
//! every directory 0700. Existing files: [`warn_about_open_files`] names
//! each one more open than that at start-up (it changes nothing: the
//! operator may have reasons, such as a group-readable backup directory).

use std::path::{Path, PathBuf};

/// Sets the umask of the whole process to 077 (new files 0600, new
/// directories 0700). Call it first in `main`, before any thread starts.
pub fn restrict_new_files() {
    #[cfg(unix)]
    #[allow(unsafe_code)]
    // SAFETY: umask(2) cannot fail and only sets the process's file mode
    // creation mask; it touches no memory.
    unsafe {
        libc::umask(0o077);
    }
}

/// The files and directories of a SQLite database, existing or not: the
/// directory, the database, `-wal`, `-shm`, `secret.key`, and a key file
/// named by the configuration. Nothing for PostgreSQL.
pub fn private_paths(database_url: &str, key_file: Option<&Path>) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if database_url.starts_with("sqlite:") {
        let db = crate::config::sqlite_file(database_url);
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            paths.push(dir.to_path_buf());
        }
        paths.push(db.to_path_buf());
        for suffix in ["-wal", "-shm"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            paths.push(PathBuf::from(name));
        }
        paths.push(crate::config::sqlite_sidecar(database_url, "secret.key"));
    }
    paths.extend(key_file.map(Path::to_path_buf));
    paths
}

/// Logs a warning for each of [`private_paths`] that exists and that its
/// group or others may read, write or enter. Returns those paths.
pub fn warn_about_open_files(database_url: &str, key_file: Option<&Path>) -> Vec<PathBuf> {
    let mut open = Vec::new();
    #[cfg(unix)]
    for path in private_paths(database_url, key_file) {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let wanted = if meta.is_dir() { "0700" } else { "0600" };
            tracing::warn!(
                path = %path.display(),
                mode = %format!("{mode:04o}"),
                wanted,
                "this file of appcred's is open to other users of the machine; restrict it with chmod"
            );
            open.push(path);
        }
    }
    open
}
