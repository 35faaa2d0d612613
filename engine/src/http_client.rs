//! Where every HTTP client of Switchboard's binaries, tests and examples is built: [`builder`] is
//! `reqwest::Client::builder()` once rustls' `ring` provider is the process's default.
//!
//! reqwest is built with `rustls-no-provider`: its default provider, aws-lc-rs, is a C build of
//! about a minute per profile, and `ring` is in the tree already (sealing, HMACs, lettre's TLS).
//! Without a default provider, building a client panics, so nothing builds one but through here:
//! `scripts/shape.py` refuses `reqwest::Client::builder()` and `reqwest::Client::new()` elsewhere.

use std::sync::Once;

/// A client builder, with the crypto provider installed first.
pub fn builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

/// A client with reqwest's defaults (tests, examples and one-off requests).
pub fn client() -> reqwest::Client {
    builder().build().expect("an HTTP client with default settings builds")
}

/// Makes `ring` the process's rustls provider, once; a provider installed before is kept.
pub fn install_crypto_provider() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // Err only when a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
