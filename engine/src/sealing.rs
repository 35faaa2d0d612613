//! Secrets sealed at rest: ChaCha20-Poly1305 under a 32-byte key, each sealed value bound to the
//! row it belongs to (its associated data), so that a sealed value copied to another row does
//! not open. The engine seals its vaults' credentials with `SWITCHBOARD_ENGINE_SECRET_KEY`
//! (embedded in the console, a key derived from the console's `SWITCHBOARD_SECRET_KEY`); the
//! console seals workspace keys and notification channels with its own.

use std::fmt;

use base64::Engine as _;
use ring::{aead, hmac};

/// A 32-byte sealing key. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(…)")
    }
}

impl SealKey {
    /// 32 bytes in standard base64 (`openssl rand -base64 32`); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key of its own for `purpose`, derived from this one (HMAC-SHA-256): one key set by the
    /// operator, a different key for each use, none of which opens another's values.
    pub fn derive(&self, purpose: &str) -> SealKey {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.0), purpose.as_bytes());
        Self(tag.as_ref().try_into().expect("HMAC-SHA-256 is 32 bytes"))
    }

    fn key(&self) -> aead::LessSafeKey {
        aead::LessSafeKey::new(
            aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &self.0).expect("a 32-byte key is a ChaCha20 key"),
        )
    }

    /// `plain` sealed and bound to `associated`: a random nonce, then the ciphertext and tag.
    pub fn seal(&self, associated: &[u8], plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; aead::NONCE_LEN] = rand::random();
        let mut sealed = plain.to_vec();
        self.key()
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(associated),
                &mut sealed,
            )
            .expect("a secret's length is far below ChaCha20-Poly1305's limit");
        [nonce.as_slice(), &sealed].concat()
    }

    /// What [`SealKey::seal`] sealed with this key for `associated`; `None` otherwise.
    pub fn open(&self, associated: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < aead::NONCE_LEN {
            return None;
        }
        let (nonce, rest) = sealed.split_at(aead::NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = rest.to_vec();
        let plain = self.key().open_in_place(nonce, aead::Aad::from(associated), &mut buffer).ok()?;
        Some(plain.to_vec())
    }

    /// [`SealKey::seal`] as text for a TEXT column: [`SEALED_PREFIX`] and base64.
    pub fn seal_text(&self, associated: &str, plain: &str) -> String {
        let sealed = self.seal(associated.as_bytes(), plain.as_bytes());
        format!("{SEALED_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(sealed))
    }

    /// What [`SealKey::seal_text`] made, opened; `None` when it is not sealed text, or not this
    /// key's for `associated`.
    pub fn open_text(&self, associated: &str, text: &str) -> Option<String> {
        let sealed = base64::engine::general_purpose::STANDARD.decode(text.strip_prefix(SEALED_PREFIX)?).ok()?;
        String::from_utf8(self.open(associated.as_bytes(), &sealed)?).ok()
    }
}

/// How sealed text starts: no plain value stored beside it does (JSON objects start with `{`,
/// URLs with a scheme).
pub const SEALED_PREFIX: &str = "sealed:v1:";

/// True when `text` is sealed text ([`SealKey::seal_text`]).
pub fn is_sealed(text: &str) -> bool {
    text.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_its_key_and_for_its_row() {
        let key = SealKey::from_bytes([7; 32]);
        let sealed = key.seal_text("vcrd_1", "s3cret");
        assert!(is_sealed(&sealed) && !sealed.contains("s3cret"));
        assert_eq!(key.open_text("vcrd_1", &sealed).as_deref(), Some("s3cret"));
        assert_eq!(key.open_text("vcrd_2", &sealed), None, "bound to its row");
        assert_eq!(key.derive("other").open_text("vcrd_1", &sealed), None, "a derived key is another key");
        assert_eq!(key.open_text("vcrd_1", "{\"token\":\"x\"}"), None);
        assert_ne!(key.seal_text("vcrd_1", "s3cret"), sealed, "a fresh nonce each time");
        assert_eq!(format!("{key:?}"), "SealKey(…)");
        assert!(SealKey::parse("c2hvcnQ=").is_none());
        assert!(SealKey::parse(&base64::engine::general_purpose::STANDARD.encode([1u8; 32])).is_some());
    }
}
