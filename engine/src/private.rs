//! Data at rest kept to the engine's (and the console's) own user: data directories made 0700
//! and SQLite files 0600, whatever the umask. A copy of a database is a copy of every session,
//! login and secret in it; no other user of the machine reads it. And once values are sealed or
//! hashed in place, [`scrub`] leaves no old copy of them in the files.

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

/// Rewrites the database of `pool` so that no free page keeps what was deleted or overwritten
/// (`VACUUM`), then empties its write-ahead log ([`empty_wal`]): after secrets were sealed or ids
/// hashed in place, no copy of the old values stays in the files. False when the log could not
/// be emptied yet.
pub async fn scrub(pool: &sqlx::SqlitePool) -> Result<bool, sqlx::Error> {
    sqlx::query("VACUUM").execute(pool).await?;
    empty_wal(pool).await
}

/// A truncating checkpoint: the write-ahead log's pages go into the database and the log is
/// emptied. False when a reader held it (it is emptied by a later checkpoint).
pub async fn empty_wal(pool: &sqlx::SqlitePool) -> Result<bool, sqlx::Error> {
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(pool).await?;
    Ok(busy == 0)
}
