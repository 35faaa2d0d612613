//! What is wrong with a setting of the engine (`SWITCHBOARD_ENGINE_*`, `SWITCHBOARD_SANDBOX_*`),
//! each in the words its operator reads at start: which variable, and what it must be.
//!
//! The modules that read the settings (`sandbox`, `model`, `webhooks`, `cli`) all say their
//! faults here, so this one imports none of them.

/// Anthropic's Messages API: where `SWITCHBOARD_ENGINE_MODEL_URL` points without a value.
pub const ANTHROPIC_URL: &str = "https://api.anthropic.com";

/// A setting that is present but unusable; nothing is set when one is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A sandbox limit that is not a positive whole number (or overflows in bytes).
    #[error("{name} must be a whole number above 0, not {value:?}.")]
    NotACount { name: &'static str, value: String },
    /// A package mirror that is not a web URL.
    #[error("{name} must be an http:// or https:// URL, not {value:?}.")]
    MirrorNotWeb { name: &'static str, value: String },
    #[error("SWITCHBOARD_ENGINE_MODEL_URL must be an http:// or https:// URL such as {ANTHROPIC_URL}, not {url:?}.")]
    ModelUrlNotWeb { url: String },
    /// The model URL is logged; a secret belongs in `SWITCHBOARD_ENGINE_MODEL_KEY`.
    #[error(
        "SWITCHBOARD_ENGINE_MODEL_URL must not carry a user or password (it is logged); put the key in SWITCHBOARD_ENGINE_MODEL_KEY."
    )]
    ModelUrlWithUser,
    #[error("SWITCHBOARD_ENGINE_WEBHOOK_*: {0}")]
    Webhook(WebhookProblem),
    #[error(
        "SWITCHBOARD_ENGINE_WEBHOOK_URL is set without SWITCHBOARD_ENGINE_WEBHOOK_SECRET, the secret its webhooks are signed with."
    )]
    WebhookUrlWithoutSecret,
    #[error("SWITCHBOARD_ENGINE_WEBHOOK_SECRET is set without SWITCHBOARD_ENGINE_WEBHOOK_URL, where the webhooks go.")]
    WebhookSecretWithoutUrl,
    #[error("SWITCHBOARD_ENGINE_SECRET_KEY must be 32 bytes in base64 (openssl rand -base64 32).")]
    SecretKey,
}

/// What is wrong with a webhook target's URL or signing secret (from the environment, or the
/// console's own).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookProblem {
    #[error("{url:?} is not a URL")]
    NotAUrl { url: String },
    #[error("{url:?} must be an http:// or https:// URL")]
    NotWeb { url: String },
    /// The URL is logged.
    #[error("the URL must not carry a user or password (it is logged)")]
    UserInUrl,
    #[error(
        "the secret must be whsec_ and the base64 of at least 16 random bytes (`echo whsec_$(openssl rand -base64 32)` makes one)"
    )]
    WeakSecret,
}
