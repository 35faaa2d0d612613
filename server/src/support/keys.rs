//! Keys Switchboard makes for itself: the notification links' key (`link`), the trusted-device
//! key (`device`), the single sign-on key (`sso`) and the one-time setup link's token (`setup`).
//! Each is 32 random bytes, made on first start, and never leaves the server. [`KeyStore`] keeps
//! them: in the data directory (`link.key`, readable by the owner only) on SQLite; in the
//! database on PostgreSQL, sealed with `SWITCHBOARD_SECRET_KEY`, so that a link or cookie one
//! replica made opens on every other.

use std::{
    io,
    path::{Path, PathBuf},
};

use sqlx::AnyPool;

/// Where Switchboard's own keys are kept.
#[derive(Clone)]
pub enum KeyStore {
    /// `<name>.key` files in this directory.
    Files(PathBuf),
    /// The `shared_keys` table, each key sealed with `seal` and bound to its name.
    Database { pool: AnyPool, seal: engine::sealing::SealKey },
}

impl KeyStore {
    /// The key called `name`, made now when there is none. Replicas starting at once agree on
    /// one: the first written is the one every replica reads back.
    pub async fn key(&self, name: &str) -> io::Result<Vec<u8>> {
        match self {
            Self::Files(dir) => key_file(dir, &format!("{name}.key")),
            Self::Database { pool, seal } => {
                let made: [u8; 32] = rand::random();
                let associated = format!("switchboard key {name}");
                sqlx::query(
                    "INSERT INTO shared_keys (name, sealed, made_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(seal.seal(associated.as_bytes(), &made))
                .bind(domain::format::rfc3339(time::OffsetDateTime::now_utc()))
                .execute(pool)
                .await
                .map_err(io::Error::other)?;
                let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed FROM shared_keys WHERE name = $1")
                    .bind(name)
                    .fetch_one(pool)
                    .await
                    .map_err(io::Error::other)?;
                seal.open(associated.as_bytes(), &sealed).filter(|key| key.len() >= 32).ok_or_else(|| {
                    io::Error::other(format!(
                        "the shared key {name:?} does not open with this SWITCHBOARD_SECRET_KEY: every replica needs the same one"
                    ))
                })
            }
        }
    }

    /// The key called `name` as a [`CookieKey`].
    pub async fn cookie_key(&self, name: &str) -> io::Result<CookieKey> {
        self.key(name).await.map(CookieKey)
    }
}

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
    pub fn from_bytes(key: Vec<u8>) -> Self {
        Self(key)
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
