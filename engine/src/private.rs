//! Data at rest kept to the engine's (and the console's) own user: data directories made 0700
//! and SQLite files 0600, whatever the umask. A copy of a database is a copy of every session,
//! login and secret in it; no other user of the machine reads it. And once values are sealed or
//! hashed in place, `store::scrub` leaves no old copy of them in the files.

use std::{
    fs,
    io::{self, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::Path,
};

/// Makes `dir` and the folders above it where missing; the ones made here are 0700. A folder
/// that was there already keeps its mode: when others may read it, the answer says so, with the
/// fix, for the caller to log at start-up.
pub fn make_private_dir(dir: &Path) -> io::Result<Option<String>> {
    if !dir.exists() {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        // DirBuilder's mode passes through the umask: set it outright.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        return Ok(None);
    }
    let mode = fs::metadata(dir)?.permissions().mode() & 0o777;
    Ok((mode & 0o077 != 0).then(|| {
        format!(
            "the data directory {} can be read by other users of this machine (mode {mode:o}): its databases hold sessions, logins and sealed secrets. Run `chmod 700 {}`.",
            dir.display(),
            dir.display()
        )
    }))
}

/// Makes the SQLite database `path` 0600 before SQLite opens it: created empty with that mode
/// when missing (SQLite takes an empty file as a new database), set to it when not. SQLite makes
/// its `-wal` and `-shm` files with the database's own mode; those an older run left are set too.
pub fn private_database(path: &Path) -> io::Result<()> {
    let mut file = fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    file.flush()?;
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        match fs::set_permissions(&companion, fs::Permissions::from_mode(0o600)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    Ok(())
}
