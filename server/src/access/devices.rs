//! Trusted devices: a browser that signs in to an account gets a cookie for it, signed with the
//! server's device key (`device.key` in the data directory). Its later sign-ins to that account
//! are throttled on their own ([`crate::access::throttle::Client::Device`]), so guesses made elsewhere,
//! however many, never keep the account's owner out of a browser they have used before.
//!
//! The cookie is `switchboard_device=<id>.<mac>`: a random id, and an HMAC-SHA256 over the id and
//! the account's username. It is sent only to `/auth/login` and means nothing without the
//! password: it lets its browser try at its own pace, nothing more.

use axum::http::HeaderMap;

use crate::support::keys::{CookieKey, KeyStore};

/// The cookie's name.
pub const COOKIE: &str = "switchboard_device";
/// What the cookie's signature is of (before the username and the id).
const LABEL: &str = "switchboard-device";
/// How long a browser stays trusted after its last sign-in.
const MAX_AGE_SECS: u64 = 365 * 86_400;

/// Signs and checks device cookies.
pub struct DeviceKey {
    key: CookieKey,
    secure: bool,
}

impl DeviceKey {
    /// The key `device` of `keys`, made on first start. `secure`: the cookie goes over HTTPS only
    /// (`SWITCHBOARD_COOKIE_SECURE`).
    pub async fn open(keys: &KeyStore, secure: bool) -> std::io::Result<Self> {
        Ok(Self { key: keys.cookie_key("device").await?, secure })
    }

    /// The device id of the request's cookie, when it was made for `username` by this server.
    pub fn device_of(&self, headers: &HeaderMap, username: &str) -> Option<String> {
        let (id, tag) = super::cookie(headers, COOKIE)?.split_once('.')?;
        let plain = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        (plain && self.key.verify(LABEL, &[username, id], tag)).then(|| id.to_owned())
    }

    /// The `Set-Cookie` value that trusts this browser for `username`, keeping `device` (its id
    /// when it had a cookie for the account already).
    pub fn cookie(&self, username: &str, device: Option<&str>) -> String {
        let id = device.map(str::to_owned).unwrap_or_else(crate::support::random_hex::<16>);
        let tag = self.key.tag(LABEL, &[username, &id]);
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{COOKIE}={id}.{tag}; Path=/auth/login; Max-Age={MAX_AGE_SECS}; HttpOnly; SameSite=Strict{secure}")
    }
}

#[cfg(test)]
mod tests {
    use super::{super::sending_cookie, *};

    #[tokio::test]
    async fn a_device_cookie_counts_for_its_own_account_on_its_own_server_only() {
        let dir = std::env::temp_dir().join(format!("switchboard-devices-{}", crate::support::random_hex::<8>()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = DeviceKey::open(&KeyStore::Files(dir.clone()), false).await.unwrap();
        let set = key.cookie("ada", None);
        assert!(set.contains("Path=/auth/login") && set.contains("HttpOnly") && !set.contains("Secure"), "{set}");
        let id = key.device_of(&sending_cookie(&set), "ada").expect("Ada's own cookie");
        assert_eq!(id.len(), 32);
        assert_eq!(key.device_of(&sending_cookie(&set), "grace"), None, "not another account's");
        assert_eq!(key.cookie("ada", Some(&id)), set, "signing in again keeps the id");
        // Tampered with, or made by another server's key.
        let forged = set.replacen(&id[..4], "0000", 1);
        assert_eq!(key.device_of(&sending_cookie(&forged), "ada"), None);
        let other_dir = dir.join("other");
        std::fs::create_dir_all(&other_dir).unwrap();
        assert_eq!(
            DeviceKey::open(&KeyStore::Files(other_dir), true).await.unwrap().device_of(&sending_cookie(&set), "ada"),
            None
        );
        assert_eq!(key.device_of(&HeaderMap::new(), "ada"), None);
        // The key survives a restart.
        assert_eq!(
            DeviceKey::open(&KeyStore::Files(dir.clone()), false)
                .await
                .unwrap()
                .device_of(&sending_cookie(&set), "ada"),
            Some(id)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
