//! Keys Switchboard makes for itself and keeps in its data directory: the notification links'
//! key (`link.key`), the trusted-device key (`device.key`) and the single sign-on key (`sso.key`). Each is 32 random bytes, made on
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

/// A key of the data directory that signs what a cookie carries: an HMAC-SHA256, in hex, over a
/// label that says what is signed and the parts of the value, each after a newline.
pub struct CookieKey(Vec<u8>);

impl CookieKey {
    /// The key in `data_dir/name`, made now when there is none.
    pub fn open(data_dir: &Path, name: &str) -> io::Result<Self> {
        key_file(data_dir, name).map(Self)
    }

    /// The signature of `parts` under `label`.
    pub fn tag(&self, label: &str, parts: &[&str]) -> String {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(label.as_bytes());
        for part in parts {
            mac.update(b"\n");
            mac.update(part.as_bytes());
        }
        crate::support::hex(&mac.finalize().into_bytes())
    }

    /// Whether `tag` is the signature of `parts` under `label` (compared in constant time).
    pub fn verify(&self, label: &str, parts: &[&str], tag: &str) -> bool {
        bool::from(subtle::ConstantTimeEq::ct_eq(tag.as_bytes(), self.tag(label, parts).as_bytes()))
    }
}
