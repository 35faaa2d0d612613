//! Signed tokens: `base64url(claims as JSON).base64url(HMAC-SHA-256)` under a key of the server's,
//! the MAC taken over a context (so that tokens made for one purpose never pass as another's made
//! with the same key) and the first part. Notification links and Slack links are such tokens.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Serialize, de::DeserializeOwned};
use sha2::Sha256;

fn mac(key: &[u8], context: &[u8], body: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(context);
    mac.update(body.as_bytes());
    mac
}

/// `claims` signed with `key` for `context`.
pub fn sign(key: &[u8], context: &[u8], claims: &impl Serialize) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signature = URL_SAFE_NO_PAD.encode(mac(key, context, &body).finalize().into_bytes());
    format!("{body}.{signature}")
}

/// The claims of `token` when `key` signed it for `context` (checked in constant time).
pub fn open<T: DeserializeOwned>(key: &[u8], context: &[u8], token: &str) -> Option<T> {
    let (body, signature) = token.split_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    mac(key, context, body).verify_slice(&signature).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_with_its_key_and_context_only() {
        let token = sign(b"key", b"one:", &("ann", 7));
        assert_eq!(open::<(String, i64)>(b"key", b"one:", &token), Some(("ann".to_owned(), 7)));
        assert_eq!(open::<(String, i64)>(b"key", b"two:", &token), None, "another context");
        assert_eq!(open::<(String, i64)>(b"other", b"one:", &token), None, "another key");
        let (body, signature) = token.split_once('.').unwrap();
        let forged = format!("{}.{signature}", &body[1..]);
        assert_eq!(open::<(String, i64)>(b"key", b"one:", &forged), None, "another body");
    }
}
