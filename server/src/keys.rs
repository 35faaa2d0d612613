//! Keys Switchboard makes for itself and keeps in its data directory: the notification links'
//! key (`link.key`) and the trusted-device key (`device.key`). Each is 32 random bytes, made on
//! first start, readable by the owner only, and never leaves the server.

use std::{io, path::Path};

/// The key in `data_dir/name`, made now when there is none.
pub fn key_file(data_dir: &Path, name: &str) -> io::Result<Vec<u8>> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = data_dir.join(name);
    match std::fs::read(&path) {
        Ok(key) if key.len() >= 32 => return Ok(key),
        Ok(_) => return Err(io::Error::other(format!("{} is shorter than a key; remove it", path.display()))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let key: [u8; 32] = rand::random();
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
    file.write_all(&key)?;
    Ok(key.to_vec())
}
