//! Helpers every room of the server uses, depending on no feature: the database and the locks
//! replicas take in it, key files, the client's address behind trusted proxies, which outbound
//! destinations may be reached, the names of the metrics every feature records, and the trace
//! context a request carries in and out.

pub mod cluster;
pub mod db;
pub mod destinations;
pub mod key_locks;
pub mod keys;
pub mod meters;
pub mod proxies;
pub mod route;
pub mod signed;
pub mod trace_context;

/// A store that could not be read or written. The database's own error is for the log; a person
/// is told that their action failed and to try again (`From<StoreError> for AppError`).
#[derive(Debug, thiserror::Error)]
#[error("the database failed: {0}")]
pub struct StoreError(#[from] pub sqlx::Error);

/// A store's failure as a person hears it, by `?`: the database's own words (which name tables and
/// files) go to the log with the line that failed, the person is told to try again.
impl From<StoreError> for AppError {
    #[track_caller]
    fn from(error: StoreError) -> Self {
        let at = std::panic::Location::caller();
        tracing::error!(at = %at, "a store failed: {error}");
        AppError::internal(
            "Switchboard could not read or write its records. Try again; if it keeps failing, the cause is in the server's log.",
        )
    }
}

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use domain::error::AppError;

/// `N` random bytes as hex: login ids, setup tokens.
pub fn random_hex<const N: usize>() -> String {
    use rand::Rng;
    let bytes: [u8; N] = rand::rng().random();
    hex(&bytes)
}

/// Seconds since the epoch, now.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The SHA-256 of `secret`, in lowercase hex: what a store keeps of a credential (a login's
/// cookie, a share link's token, a personal access token, a device code), never the credential.
pub fn sha256_hex(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `text` with Slack's escaping of its three control characters (`&`, `<`, `>`), for a message's
/// `mrkdwn`: the team's Slack channels' batches and the Slack apps' messages.
pub fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A transport error in words, without the upstream's URL (the browser sees this text).
pub fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "the request timed out".to_owned()
    } else if error.is_connect() {
        "the connection was refused or could not be made".to_owned()
    } else {
        error_chain(&error.without_url())
    }
}

/// An error with its causes, `outer: inner: innermost` (a library's own message is often terse).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An error as a plain-text answer: what a download link shows when there is nothing to save.
pub fn error_page(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{error}\n")).into_response()
}

/// A directory of its own for one test, removed when dropped.
#[cfg(test)]
pub struct Scratch(pub std::path::PathBuf);

#[cfg(test)]
impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("switchboard-{name}-{}", random_hex::<8>()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self(dir)
    }
}

#[cfg(test)]
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use domain::error::{AppError, ErrorKind};

    use super::StoreError;

    /// What a store's failure says to a person, through `?`: that it failed and what to do, never
    /// the database's own words, which name its tables and files.
    #[test]
    fn a_store_failure_tells_a_person_to_try_again_without_the_databases_words() {
        fn read() -> Result<(), StoreError> {
            Err(StoreError(sqlx::Error::Protocol("table secret_rows in /var/lib/switchboard/data.db".into())))
        }
        fn action() -> Result<(), AppError> {
            read()?;
            Ok(())
        }
        let error = action().unwrap_err();
        assert_eq!((error.kind, error.status()), (ErrorKind::Internal, 500));
        assert!(error.message.contains("Try again"), "{error}");
        assert!(!error.message.contains("secret_rows") && !error.message.contains("data.db"), "{error}");
    }
}
