//! The engine's data at rest is its own user's: a fresh data directory is 0700 and every SQLite
//! file in it 0600, even under a umask that would let everyone read them. The only test of this
//! binary, so that the umask it sets changes no other test.

use crate::support;

use std::os::unix::fs::PermissionsExt;

use serde_json::json;
use support::{config, spawn_engine, temp_dir};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_data_directory_and_its_databases_are_private_whatever_the_umask() {
    // SAFETY: umask only sets this process's file mode mask.
    unsafe { libc::umask(0) };
    let data = temp_dir().join("fresh").join("engine");
    let engine = spawn_engine(config(data.clone())).await;
    // A write, so that the write-ahead log and its index exist.
    engine.post("/v1/environments", json!({ "name": "private", "config": { "type": "cloud" } })).await;
    assert_eq!(mode(&data), 0o700, "the data directory");
    for file in ["engine.db", "engine.db-wal", "engine.db-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
}

#[test]
fn an_existing_readable_data_directory_is_named_with_the_fix() {
    let dir = temp_dir();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let warning = engine::private::make_private_dir(&dir).unwrap().expect("a warning");
    assert!(warning.contains(&format!("chmod 700 {}", dir.display())), "{warning}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(engine::private::make_private_dir(&dir).unwrap(), None);
    // An older database made 0644 is made 0600 when opened.
    let database = dir.join("old.db");
    std::fs::write(&database, "").unwrap();
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    engine::private::private_database(&database).unwrap();
    assert_eq!(mode(&database), 0o600);
}
