//! Switchboard's settings, read once at start from environment variables.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use domain::upstream::UpstreamMode;

/// Anthropic's API, used when a key is set and `ANTHROPIC_BASE_URL` is not.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// Settings of one Switchboard server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `SWITCHBOARD_LISTEN`: where the console is served (default `127.0.0.1:3000`).
    pub listen: SocketAddr,
    /// `SWITCHBOARD_DATA_DIR`: where Switchboard keeps its data (default `./data`).
    pub data_dir: PathBuf,
    /// `SWITCHBOARD_SITE_ROOT`: the built browser assets (default `target/site`, as `site-build` writes them).
    pub site_root: PathBuf,
    pub upstream: UpstreamSettings,
    /// `SWITCHBOARD_MAX_UPLOAD_BYTES`: the largest file the console accepts (default 100 MiB, the
    /// embedded engine's own limit).
    pub max_upload_bytes: u64,
    /// `SWITCHBOARD_STREAM_GRACE_SECS`: how long a session's upstream event stream stays open once
    /// nobody watches it (default 30 s), so a reload or a quick tab switch does not reopen it.
    pub stream_grace: Duration,
    /// `SWITCHBOARD_HEARTBEAT_SECS`: how often a browser watching a session gets a heartbeat when
    /// nothing else happens (default 15 s).
    pub heartbeat: Duration,
    pub access: AccessSettings,
    pub inbox: InboxSettings,
    /// `SWITCHBOARD_SANDBOX_*`: what each process of a tool call may use in the embedded engine.
    pub sandbox: engine::SandboxLimits,
    /// `SWITCHBOARD_SANDBOX_TOOL_RUNNER`: the binary the embedded engine's sandbox runs for the
    /// file tools and the network relay (`<binary> sandbox-tool …`); default this binary.
    pub tool_runner: Option<PathBuf>,
    /// `SWITCHBOARD_SANDBOX_PIP_INDEX_URL`, `SWITCHBOARD_SANDBOX_NPM_REGISTRY`: mirrors the
    /// environments' packages install from.
    pub package_mirrors: engine::sandbox::packages::Mirrors,
    /// `SWITCHBOARD_ENGINE_MODEL_URL` and `SWITCHBOARD_ENGINE_MODEL_KEY`: the Messages endpoint the
    /// embedded engine runs real models against (default Anthropic's). The key is write-only.
    pub model: engine::ModelEndpoint,
    /// The hosts the embedded engine's MCP connections may reach on internal addresses
    /// (`SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS`).
    pub mcp_reach: engine::mcp::Reach,
    /// The hosts the embedded engine clones repositories from besides github.com
    /// (`SWITCHBOARD_ENGINE_GIT_HOSTS`).
    pub git_hosts: engine::repositories::GitHosts,
    /// `SWITCHBOARD_WEBHOOK_SECRET`: the `whsec_…` signing secret of the webhooks
    /// `/webhooks/anthropic` accepts. Without it the route answers 404, except that the embedded
    /// engine gets a secret of its own, made at start. Write-only.
    pub webhook_secret: Option<WebhookSecret>,
    /// Email of waiting calls, and the links in it.
    pub notify: NotifySettings,
    /// `SWITCHBOARD_SHARE_SECRET_PATTERNS`: regular expressions, one per line, of values a share
    /// link that masks secrets masks, on top of the built-in ones (`shares::BUILT_IN_PATTERNS`).
    pub share_secret_patterns: Vec<String>,
    /// `SWITCHBOARD_TRUSTED_PROXIES`: the reverse proxies (addresses or CIDR blocks) whose
    /// `X-Forwarded-For` names the client (`crate::support::proxies`); none by default.
    pub trusted_proxies: crate::support::proxies::TrustedProxies,
    /// `SWITCHBOARD_SECRET_KEY`: 32 random bytes in base64, the key the keys of the workspaces an
    /// admin connects are sealed with in the database (`crate::tenancy::workspaces`). Without it no second
    /// workspace can be connected. Write-only.
    pub secret_key: Option<SecretKey>,
    /// `SWITCHBOARD_METRICS_LISTEN` and `SWITCHBOARD_METRICS_TOKEN`: where Prometheus reads
    /// `/metrics`, if anywhere.
    pub metrics: MetricsSettings,
    pub database: DatabaseSettings,
}

/// Where Switchboard keeps its records (`crate::support::db`).
#[derive(Clone, Default)]
pub enum DatabaseSettings {
    /// `switchboard.db` in the data directory: one process.
    #[default]
    Sqlite,
    /// `SWITCHBOARD_DATABASE_URL=postgres://…`: one database any number of replicas share.
    Postgres {
        /// The URL; it may hold a password, so it is write-only.
        url: Secret,
        /// `SWITCHBOARD_DATABASE_CONNECTIONS`: the pool's size per replica (default 10).
        connections: u32,
    },
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite => f.write_str("Sqlite"),
            Self::Postgres { connections, .. } => {
                write!(f, "Postgres {{ url: [redacted], connections: {connections} }}")
            }
        }
    }
}

/// Prometheus' `/metrics` (`crate::web::observe`). With neither set, nothing is recorded and
/// `/metrics` is a 404.
#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// `SWITCHBOARD_METRICS_LISTEN`: a listener of its own (an internal network's address) that
    /// serves `/metrics` alone, without a credential. Never the console's own address.
    pub listen: Option<SocketAddr>,
    /// `SWITCHBOARD_METRICS_TOKEN`: `/metrics` on the console's listener for
    /// `Authorization: Bearer <token>`; at least [`MIN_METRICS_TOKEN`] characters. Write-only.
    pub token: Option<Secret>,
}

impl MetricsSettings {
    /// Whether `/metrics` is served anywhere, and so whether anything is recorded.
    pub fn wanted(&self) -> bool {
        self.listen.is_some() || self.token.is_some()
    }
}

/// The shortest `SWITCHBOARD_METRICS_TOKEN`: a guess at it is counted by the signed-out rate
/// limit, and 32 random characters are out of any guesser's reach.
pub const MIN_METRICS_TOKEN: usize = 32;

/// Notifications out: where people reach Switchboard, and the mail server.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// `SWITCHBOARD_PUBLIC_URL`: the origin people open Switchboard at, for the links in
    /// notifications (`None`: `http://` and the address it listens on).
    pub public_url: Option<String>,
    /// `SWITCHBOARD_SMTP_URL`: the mail server, as lettre reads it: `smtps://user:password@host`
    /// (TLS), `smtp://user:password@host:587?tls=required` (STARTTLS), or `smtp://host:port` (no
    /// TLS: a relay on this machine or a test sink). Without it nobody gets email. Write-only: it
    /// may hold a password.
    pub smtp_url: Option<Secret>,
    /// `SWITCHBOARD_SMTP_FROM`: the sender (default `Switchboard <switchboard@localhost>`).
    pub smtp_from: String,
    /// `SWITCHBOARD_NOTIFY_WINDOW_SECS`: calls that come within this long of the first go out in
    /// one message (default 30 s).
    pub window: Duration,
    /// `SWITCHBOARD_LINK_TTL_SECS`: how long a link in a notification opens its call (default 12 h).
    pub link_ttl: Duration,
    /// `SWITCHBOARD_ALLOW_PRIVATE_URLS`: the private addresses (addresses or CIDR blocks) a
    /// channel's URL may reach, such as a receiver on your network; none by default. A cloud
    /// metadata service is refused whatever it says (`crate::support::destinations`).
    pub destinations: crate::support::destinations::Destinations,
    /// `SWITCHBOARD_SLACK_API_URL`: Slack's Web API, where the workspaces' Slack apps post
    /// (default `https://slack.com/api`; a stand-in's address in tests).
    pub slack_api_url: String,
}

/// A webhook signing secret; its `Debug` leaves it out.
#[derive(Clone)]
pub struct WebhookSecret(pub String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(whsec_…)")
    }
}

/// The approval inbox.
#[derive(Debug, Clone)]
pub struct InboxSettings {
    /// `SWITCHBOARD_INBOX_POLL_SECS`: how often the newest sessions are listed for calls that wait
    /// (default 2 s, at least 0.25 s).
    pub poll: Duration,
    /// `SWITCHBOARD_INBOX_AMBER_SECS`: a call that has waited this long shows amber (default 5 min).
    pub amber: Duration,
    /// `SWITCHBOARD_INBOX_RED_SECS`: …and this long, red (default 15 min; not less than amber).
    pub red: Duration,
}

/// Accounts and login sessions.
#[derive(Debug, Clone)]
pub struct AccessSettings {
    /// `SWITCHBOARD_ADMIN_PASSWORD`: when no account exists yet, the first admin (`admin`) is
    /// created with this password at start. Without it, the log prints a one-time setup link.
    pub admin_password: Option<Secret>,
    /// `SWITCHBOARD_COOKIE_SECURE`: send the login cookie only over HTTPS (`true` behind TLS;
    /// default `false`, since the console serves plain HTTP on loopback).
    pub cookie_secure: bool,
    /// `SWITCHBOARD_SESSION_IDLE_SECS`: a login ends after this long without a request (default 8 h).
    pub session_idle: Duration,
    /// `SWITCHBOARD_SESSION_MAX_SECS`: a login ends this long after it began, however busy
    /// (default 7 days).
    pub session_max: Duration,
    /// `SWITCHBOARD_AUDIT_RETENTION_DAYS`: audit entries older than this are removed (default 365).
    pub audit_retention_days: u32,
    /// `SWITCHBOARD_API_TOKEN_MAX_DAYS`: the longest life a personal access token may be given
    /// (default 90; a new one gets 30 unless its owner chooses).
    pub api_token_max_days: u32,
    /// `SWITCHBOARD_CLI_TOKEN_HOURS`: the life of the token `switchboard login` gets (default 12;
    /// no refresh: log in again).
    pub cli_token_hours: u32,
    /// `SWITCHBOARD_MAX_BODY_BYTES`: the largest request body outside file uploads (default 4 MiB).
    pub max_body_bytes: usize,
    /// `SWITCHBOARD_STREAMS_PER_PERSON` (default 40) and `SWITCHBOARD_REQUESTS_PER_MINUTE`
    /// (default 1,200): what one signed-in person may hold open and send; and
    /// `SWITCHBOARD_STREAMS_PER_ADDRESS` (default 200) and
    /// `SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE` (default 300): the streams of share links one
    /// address may hold open, and the requests it may send, without a sign-in (`crate::access::limits`).
    pub limits: LimitSettings,
    /// `SWITCHBOARD_OIDC_*`: single sign-on with an OpenID Connect provider (none by default).
    pub oidc: Option<OidcSettings>,
}

/// Single sign-on (`crate::access::oidc`).
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// `SWITCHBOARD_OIDC_ISSUER`: the provider's issuer URL, as its discovery document names it
    /// (`https://accounts.example.com`, `https://login.microsoftonline.com/<tenant>/v2.0`).
    pub issuer: String,
    /// `SWITCHBOARD_OIDC_CLIENT_ID` and `SWITCHBOARD_OIDC_CLIENT_SECRET` (write-only; none for a
    /// public client, which PKCE alone protects).
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// `SWITCHBOARD_OIDC_NAME`: the provider's name on the sign-in page's button (default
    /// "single sign-on").
    pub name: String,
    /// `SWITCHBOARD_OIDC_SCOPES`: space-separated (default `openid email profile`).
    pub scopes: Vec<String>,
    /// `SWITCHBOARD_OIDC_ALLOWED_DOMAINS`: comma-separated; when set, only people whose address
    /// the provider verified at one of these domains may sign in.
    pub allowed_domains: Vec<String>,
    /// `SWITCHBOARD_OIDC_ROLES_CLAIM`: the claim (in the ID token or from the userinfo endpoint)
    /// that lists a person's groups or roles (default `groups`).
    pub roles_claim: String,
    /// `SWITCHBOARD_OIDC_ROLE_MAP`: `value=role` pairs, comma-separated (`sb-admins=admin,
    /// oncall=approver`). When set, the provider decides: every sign-in sets the person's roles
    /// from the claim, and a person none of whose values maps is refused.
    pub role_map: Vec<(String, domain::auth::Role)>,
    /// `SWITCHBOARD_OIDC_DEFAULT_ROLES`: without a role map, the roles of an account made by its
    /// first sign-in (default `viewer`); `none` makes it disabled until an admin enables it and
    /// grants its roles on the Users page. Later sign-ins keep what the admin set.
    pub default_roles: Option<Vec<domain::auth::Role>>,
    /// Where the provider sends people back: `SWITCHBOARD_PUBLIC_URL` + `/auth/oidc/callback`
    /// (register it at the provider).
    pub redirect_url: String,
    /// Where the provider sends people after signing out there: `SWITCHBOARD_PUBLIC_URL` +
    /// `/login?error=signed_out` (register it as a post-logout redirect URI).
    pub post_logout_url: String,
    /// Programs that call `/v1/…` with the provider's own tokens (`crate::access::service_callers`),
    /// when `SWITCHBOARD_API_AUDIENCE` is set.
    pub api: Option<ServiceCallerSettings>,
}

/// Service callers: CI jobs and other programs with a token of the provider's (client
/// credentials) instead of a person's personal access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCallerSettings {
    /// `SWITCHBOARD_API_AUDIENCE`: the `aud` a provider's token must name to be taken by `/v1/…`.
    pub audience: String,
    /// `SWITCHBOARD_API_WORKSPACE_CLAIM`: the claim naming the workspace a token acts in.
    pub workspace_claim: Option<String>,
    /// `SWITCHBOARD_API_CLIENT_WORKSPACES`: `client=workspace` pairs, comma-separated: the
    /// workspace of a client's tokens that name none in the claim (else the default).
    pub client_workspaces: Vec<(String, String)>,
}

/// A secret setting (the API key, the first admin's password): printing it shows only that it is
/// set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// The upstream API's key.
pub type ApiKey = Secret;

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the places that use it: the upstream client's request headers, the
    /// first admin's password hash.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// 100 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;

/// Which upstream API to talk to, and with which key.
#[derive(Debug, Clone)]
pub enum UpstreamSettings {
    /// Anthropic's API (or one compatible with it).
    Anthropic {
        /// `ANTHROPIC_API_KEY`. Its `Debug` output is redacted; it is never sent to a browser.
        api_key: ApiKey,
        /// `ANTHROPIC_BASE_URL`, without a trailing slash.
        base_url: String,
    },
    /// No key: the embedded engine, started in this process.
    Embedded,
}

impl UpstreamSettings {
    pub fn mode(&self) -> UpstreamMode {
        match self {
            Self::Anthropic { .. } => UpstreamMode::Anthropic,
            Self::Embedded => UpstreamMode::Embedded,
        }
    }
}

/// The longest a login may last or stay idle: a year (in seconds).
pub const MOST_LOGIN_SECS: u64 = 366 * 86_400;
/// The longest audit entries may be kept: a hundred years (in days).
pub const MOST_RETENTION_DAYS: u64 = 36_525;

/// A setting that is present but unusable. The message says which variable and what to do.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("SWITCHBOARD_TRUSTED_PROXIES: {0}; list addresses or CIDR blocks, e.g. 10.0.0.0/8, 192.0.2.1")]
    TrustedProxies(crate::support::proxies::NotABlock),
    #[error(
        "SWITCHBOARD_ALLOW_PRIVATE_URLS: {0}; list the private addresses or CIDR blocks a notification channel may reach, e.g. 10.0.0.5, 192.168.1.0/24"
    )]
    AllowPrivateUrls(crate::support::proxies::NotABlock),
    #[error("SWITCHBOARD_LISTEN={value:?} is not an address to listen on; use host:port, e.g. 127.0.0.1:3000")]
    Listen { value: String },
    #[error("ANTHROPIC_BASE_URL={value:?} must start with http:// or https://")]
    BaseUrl { value: String },
    #[error("SWITCHBOARD_MAX_UPLOAD_BYTES={value:?} is not a positive number of bytes, e.g. 104857600 for 100 MiB")]
    MaxUpload { value: String },
    #[error("{name}={value:?} is not a number of seconds up to a day (86400), e.g. 30 or 0.5")]
    Seconds { name: &'static str, value: String },
    #[error("{name}={value:?} is not a positive whole number{hint}")]
    Count { name: &'static str, value: String, hint: &'static str },
    #[error("{name}={value} is more than {most}, the most it may be{hint}")]
    TooLarge { name: &'static str, value: u64, most: u64, hint: &'static str },
    #[error("{0}")]
    Sandbox(engine::config::ConfigError),
    #[error("{0}")]
    Model(engine::config::ConfigError),
    #[error("SWITCHBOARD_SMTP_FROM={value:?} is not a mail address; use e.g. Switchboard <switchboard@example.com>")]
    SmtpFrom { value: String },
    #[error(
        "SWITCHBOARD_PUBLIC_URL={value:?} is not an http:// or https:// origin, e.g. https://switchboard.example.com"
    )]
    PublicUrl { value: String },
    #[error("SWITCHBOARD_SLACK_API_URL={value:?} is not an http:// or https:// URL, e.g. https://slack.com/api")]
    SlackApiUrl { value: String },
    #[error("SWITCHBOARD_SHARE_SECRET_PATTERNS: line {line} is not a regular expression: {error}")]
    SecretPattern { line: usize, error: String },
    #[error("SWITCHBOARD_COOKIE_SECURE={value:?} is not true or false")]
    Flag { value: String },
    #[error(
        "SWITCHBOARD_WEBHOOK_SECRET is not a webhook signing secret: it is whsec_ and base64, as Anthropic's console shows it"
    )]
    WebhookSecret,
    #[error("{0}")]
    Oidc(String),
    #[error(
        "SWITCHBOARD_SECRET_KEY is not 32 bytes in base64; make one with `openssl rand -base64 32` and keep it: the workspaces' keys cannot be read without it"
    )]
    SecretKey,
    #[error(
        "SWITCHBOARD_INBOX_RED_SECS ({red} s) is less than SWITCHBOARD_INBOX_AMBER_SECS ({amber} s); red is the later warning"
    )]
    InboxThresholds { amber: u64, red: u64 },
    #[error("SWITCHBOARD_METRICS_LISTEN={value:?} is not an address to listen on; use host:port, e.g. 10.0.0.5:9464")]
    MetricsListen { value: String },
    #[error(
        "SWITCHBOARD_METRICS_LISTEN={metrics} is the console's own address (SWITCHBOARD_LISTEN={console}); give /metrics a port of its own, e.g. {example}, or set SWITCHBOARD_METRICS_TOKEN instead to serve it on the console's port behind a token"
    )]
    MetricsOnConsole { metrics: SocketAddr, console: SocketAddr, example: SocketAddr },
    #[error(
        "SWITCHBOARD_DATABASE_URL must be a PostgreSQL URL, postgres://user:password@host:5432/database; leave it unset for SQLite in the data directory"
    )]
    DatabaseUrl,
    #[error(
        "SWITCHBOARD_DATABASE_URL names PostgreSQL, for several replicas, but ANTHROPIC_API_KEY is not set: replicas share one upstream, Anthropic's API or one standalone `switchboard engine` (ANTHROPIC_BASE_URL and its key), never an embedded engine each. Set ANTHROPIC_API_KEY, or unset SWITCHBOARD_DATABASE_URL to run one Switchboard on SQLite with its embedded engine"
    )]
    EmbeddedOnPostgres,
    #[error(
        "SWITCHBOARD_DATABASE_URL names PostgreSQL, but SWITCHBOARD_SECRET_KEY is not set: replicas share their keys (sign-in devices, notification links, single sign-on) through the database, sealed with it. Make one with `openssl rand -base64 32` and give every replica the same"
    )]
    PostgresWithoutSecretKey,
    #[error(
        "SWITCHBOARD_METRICS_TOKEN is {length} characters; it must be at least 32 (anyone may guess at it): make one with `openssl rand -hex 32`"
    )]
    MetricsToken { length: usize },
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests). Empty values
    /// count as unset, so `ANTHROPIC_API_KEY=` selects the embedded engine.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let vars = Vars(lookup);
        let get = |name: &str| vars.get(name);
        let listen = match get("SWITCHBOARD_LISTEN") {
            Some(value) => value.parse().map_err(|_| SettingsError::Listen { value })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let max_upload_bytes = match get("SWITCHBOARD_MAX_UPLOAD_BYTES") {
            Some(value) => value.parse().ok().filter(|n| *n > 0).ok_or(SettingsError::MaxUpload { value })?,
            None => DEFAULT_MAX_UPLOAD_BYTES,
        };
        let notify = vars.notify()?;
        let mut access = vars.access()?;
        let upstream = vars.upstream()?;
        let secret_key = get("SWITCHBOARD_SECRET_KEY")
            .map(|value| SecretKey::parse(&value).ok_or(SettingsError::SecretKey))
            .transpose()?;
        let database = vars.database(&upstream, secret_key.is_some())?;
        access.oidc = oidc_settings(&get, notify.public_url.as_deref())?;
        Ok(Self {
            metrics: vars.metrics(listen)?,
            secret_key,
            database,
            share_secret_patterns: vars.share_secret_patterns()?,
            trusted_proxies: crate::support::proxies::TrustedProxies::parse(
                &get("SWITCHBOARD_TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(SettingsError::TrustedProxies)?,
            notify,
            webhook_secret: vars.webhook_secret()?,
            listen,
            data_dir: get("SWITCHBOARD_DATA_DIR").unwrap_or_else(|| "data".to_owned()).into(),
            site_root: get("SWITCHBOARD_SITE_ROOT").unwrap_or_else(|| "target/site".to_owned()).into(),
            upstream,
            max_upload_bytes,
            stream_grace: vars.seconds("SWITCHBOARD_STREAM_GRACE_SECS", 30.0)?,
            heartbeat: vars.seconds("SWITCHBOARD_HEARTBEAT_SECS", 15.0)?.max(Duration::from_millis(100)),
            access,
            inbox: vars.inbox()?,
            sandbox: engine::SandboxLimits::from_env(get).map_err(SettingsError::Sandbox)?,
            // Absolute: sandboxes start in the engine's own mount namespace, at its root.
            tool_runner: get("SWITCHBOARD_SANDBOX_TOOL_RUNNER")
                .map(|v| std::path::absolute(&v).unwrap_or_else(|_| PathBuf::from(v))),
            package_mirrors: engine::sandbox::packages::Mirrors::from_env(get).map_err(SettingsError::Sandbox)?,
            model: engine::ModelEndpoint::from_env(get).map_err(SettingsError::Model)?,
            mcp_reach: engine::mcp::Reach::from_env(get),
            git_hosts: engine::repositories::GitHosts::from_env(get),
        })
    }
}

/// The environment (or a test's map), read one setting at a time: values trimmed, empty ones
/// unset, each kind of value parsed the one way and refused with its name.
struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// Seconds, fractions allowed, a day at most: longer is a mistake, and would overflow the
    /// clock's arithmetic.
    fn seconds(&self, name: &'static str, default: f64) -> Result<Duration, SettingsError> {
        match self.get(name) {
            Some(value) => value
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .filter(|d| *d <= Duration::from_secs(86_400))
                .ok_or(SettingsError::Seconds { name, value }),
            None => Ok(Duration::from_secs_f64(default)),
        }
    }

    /// A whole number above 0.
    fn count(&self, name: &'static str, default: u64, hint: &'static str) -> Result<u64, SettingsError> {
        match self.get(name) {
            Some(value) => {
                value.parse::<u64>().ok().filter(|n| *n > 0).ok_or(SettingsError::Count { name, value, hint })
            }
            None => Ok(default),
        }
    }

    /// A count of at most `most`. Durations added to or taken from the clock: a value past what
    /// the clock can hold (or past any use) is refused here instead of panicking when a login or
    /// the audit's retention first uses it.
    fn at_most(&self, name: &'static str, default: u64, most: u64, hint: &'static str) -> Result<u64, SettingsError> {
        let value = self.count(name, default, hint)?;
        if value > most {
            return Err(SettingsError::TooLarge { name, value, most, hint });
        }
        Ok(value)
    }

    /// `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`, or the embedded engine.
    fn upstream(&self) -> Result<UpstreamSettings, SettingsError> {
        let Some(key) = self.get("ANTHROPIC_API_KEY") else { return Ok(UpstreamSettings::Embedded) };
        let base_url = self.get("ANTHROPIC_BASE_URL").unwrap_or_else(|| DEFAULT_ANTHROPIC_BASE_URL.to_owned());
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(SettingsError::BaseUrl { value: base_url });
        }
        Ok(UpstreamSettings::Anthropic {
            api_key: ApiKey::new(key),
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// `SWITCHBOARD_DATABASE_URL` (with `SWITCHBOARD_DATABASE_CONNECTIONS`): PostgreSQL, for
    /// replicas that share one upstream and one secret key; SQLite when unset.
    fn database(&self, upstream: &UpstreamSettings, secret_key: bool) -> Result<DatabaseSettings, SettingsError> {
        let Some(url) = self.get("SWITCHBOARD_DATABASE_URL") else { return Ok(DatabaseSettings::Sqlite) };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(SettingsError::DatabaseUrl);
        }
        if matches!(upstream, UpstreamSettings::Embedded) {
            return Err(SettingsError::EmbeddedOnPostgres);
        }
        if !secret_key {
            return Err(SettingsError::PostgresWithoutSecretKey);
        }
        let connections = self.at_most("SWITCHBOARD_DATABASE_CONNECTIONS", 10, 1000, ", e.g. 10")?;
        Ok(DatabaseSettings::Postgres { url: Secret::new(url), connections: connections as u32 })
    }

    /// Accounts, logins, the audit's retention, bodies and limits (single sign-on is added after).
    fn access(&self) -> Result<AccessSettings, SettingsError> {
        let cookie_secure = match self.get("SWITCHBOARD_COOKIE_SECURE").map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" || v == "1" => true,
            Some(v) if v == "false" || v == "0" => false,
            Some(value) => return Err(SettingsError::Flag { value }),
        };
        let login_secs = |name, default, hint| self.at_most(name, default, MOST_LOGIN_SECS, hint);
        Ok(AccessSettings {
            admin_password: self.get("SWITCHBOARD_ADMIN_PASSWORD").map(Secret),
            cookie_secure,
            session_idle: Duration::from_secs(login_secs(
                "SWITCHBOARD_SESSION_IDLE_SECS",
                8 * 3600,
                ", e.g. 28800 for 8 hours",
            )?),
            session_max: Duration::from_secs(login_secs(
                "SWITCHBOARD_SESSION_MAX_SECS",
                7 * 86_400,
                ", e.g. 604800 for 7 days",
            )?),
            audit_retention_days: self.at_most(
                "SWITCHBOARD_AUDIT_RETENTION_DAYS",
                365,
                MOST_RETENTION_DAYS,
                " of days, e.g. 365",
            )? as u32,
            api_token_max_days: self.at_most("SWITCHBOARD_API_TOKEN_MAX_DAYS", 90, 3650, " of days, e.g. 90")? as u32,
            cli_token_hours: self.at_most("SWITCHBOARD_CLI_TOKEN_HOURS", 12, 24 * 90, " of hours, e.g. 12")? as u32,
            max_body_bytes: self
                .count("SWITCHBOARD_MAX_BODY_BYTES", 4 * 1024 * 1024, " of bytes, e.g. 4194304 for 4 MiB")?
                .min(usize::MAX as u64) as usize,
            limits: self.limits()?,
            oidc: None,
        })
    }

    /// The per-person and signed-out limits.
    fn limits(&self) -> Result<LimitSettings, SettingsError> {
        Ok(LimitSettings {
            streams_per_person: self.at_most("SWITCHBOARD_STREAMS_PER_PERSON", 40, 10_000, " of streams, e.g. 40")?
                as usize,
            requests_per_minute: self.at_most(
                "SWITCHBOARD_REQUESTS_PER_MINUTE",
                1200,
                1_000_000,
                " of requests, e.g. 1200",
            )? as u32,
            streams_per_address: self.at_most(
                "SWITCHBOARD_STREAMS_PER_ADDRESS",
                200,
                100_000,
                " of streams, e.g. 200",
            )? as usize,
            signed_out_requests_per_minute: self.at_most(
                "SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE",
                300,
                1_000_000,
                " of requests, e.g. 300",
            )? as u32,
        })
    }

    /// The inbox's poll and its amber and red thresholds (red not before amber).
    fn inbox(&self) -> Result<InboxSettings, SettingsError> {
        let inbox = InboxSettings {
            poll: self.seconds("SWITCHBOARD_INBOX_POLL_SECS", 2.0)?.max(Duration::from_millis(250)),
            amber: self.seconds("SWITCHBOARD_INBOX_AMBER_SECS", 300.0)?,
            red: self.seconds("SWITCHBOARD_INBOX_RED_SECS", 900.0)?,
        };
        if inbox.red < inbox.amber {
            return Err(SettingsError::InboxThresholds { amber: inbox.amber.as_secs(), red: inbox.red.as_secs() });
        }
        Ok(inbox)
    }

    /// `SWITCHBOARD_METRICS_LISTEN` (not the console's `listen`) and `SWITCHBOARD_METRICS_TOKEN`.
    fn metrics(&self, console: SocketAddr) -> Result<MetricsSettings, SettingsError> {
        let listen = match self.get("SWITCHBOARD_METRICS_LISTEN") {
            Some(value) => Some(value.parse::<SocketAddr>().map_err(|_| SettingsError::MetricsListen { value })?),
            None => None,
        };
        if let Some(metrics) = listen
            && clashes(metrics, console)
        {
            let example = SocketAddr::new(metrics.ip(), 9464);
            return Err(SettingsError::MetricsOnConsole { metrics, console, example });
        }
        let token = self.get("SWITCHBOARD_METRICS_TOKEN");
        if let Some(token) = &token
            && token.chars().count() < MIN_METRICS_TOKEN
        {
            return Err(SettingsError::MetricsToken { length: token.chars().count() });
        }
        Ok(MetricsSettings { listen, token: token.map(Secret) })
    }

    /// `SWITCHBOARD_WEBHOOK_SECRET`, checked as Standard Webhooks reads it.
    fn webhook_secret(&self) -> Result<Option<WebhookSecret>, SettingsError> {
        let Some(secret) = self.get("SWITCHBOARD_WEBHOOK_SECRET") else { return Ok(None) };
        standardwebhooks::Webhook::new(&secret).map_err(|_| SettingsError::WebhookSecret)?;
        Ok(Some(WebhookSecret(secret)))
    }

    /// Email, links and the destinations outbound notifications may reach.
    fn notify(&self) -> Result<NotifySettings, SettingsError> {
        let smtp_from =
            self.get("SWITCHBOARD_SMTP_FROM").unwrap_or_else(|| "Switchboard <switchboard@localhost>".to_owned());
        if smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(SettingsError::SmtpFrom { value: smtp_from });
        }
        let public_url = match self.get("SWITCHBOARD_PUBLIC_URL") {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            Some(value) => return Err(SettingsError::PublicUrl { value }),
            None => None,
        };
        Ok(NotifySettings {
            public_url,
            smtp_url: self.get("SWITCHBOARD_SMTP_URL").map(Secret::new),
            smtp_from,
            window: self.seconds("SWITCHBOARD_NOTIFY_WINDOW_SECS", 30.0)?,
            link_ttl: self.seconds("SWITCHBOARD_LINK_TTL_SECS", 12.0 * 3600.0)?.max(Duration::from_secs(1)),
            destinations: crate::support::destinations::Destinations::parse(
                &self.get("SWITCHBOARD_ALLOW_PRIVATE_URLS").unwrap_or_default(),
            )
            .map_err(SettingsError::AllowPrivateUrls)?,
            slack_api_url: match self.get("SWITCHBOARD_SLACK_API_URL") {
                Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                    url.trim_end_matches('/').to_owned()
                }
                Some(value) => return Err(SettingsError::SlackApiUrl { value }),
                None => "https://slack.com/api".to_owned(),
            },
        })
    }

    /// `SWITCHBOARD_SHARE_SECRET_PATTERNS`: one regular expression a line, each checked.
    fn share_secret_patterns(&self) -> Result<Vec<String>, SettingsError> {
        let mut patterns = Vec::new();
        for (n, line) in self.get("SWITCHBOARD_SHARE_SECRET_PATTERNS").unwrap_or_default().lines().enumerate() {
            let pattern = line.trim();
            if pattern.is_empty() {
                continue;
            }
            regex::Regex::new(pattern)
                .map_err(|e| SettingsError::SecretPattern { line: n + 1, error: e.to_string() })?;
            patterns.push(pattern.to_owned());
        }
        Ok(patterns)
    }
}

/// Whether two listeners would be one: the same port (0 picks a free one each), on the same
/// address or with either on every address.
fn clashes(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && a.port() != 0 && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// `SWITCHBOARD_OIDC_*`, when `SWITCHBOARD_OIDC_ISSUER` is set.
fn oidc_settings(
    get: &impl Fn(&str) -> Option<String>,
    public_url: Option<&str>,
) -> Result<Option<OidcSettings>, SettingsError> {
    use domain::auth::Role;
    let error = |m: String| SettingsError::Oidc(m);
    let api = service_caller_settings(get)?;
    let Some(issuer) = get("SWITCHBOARD_OIDC_ISSUER") else {
        if get("SWITCHBOARD_OIDC_CLIENT_ID").is_some() {
            return Err(error("SWITCHBOARD_OIDC_CLIENT_ID is set but SWITCHBOARD_OIDC_ISSUER is not; set the provider's issuer URL, e.g. https://accounts.example.com".into()));
        }
        if api.is_some() {
            return Err(error("SWITCHBOARD_API_AUDIENCE is set but SWITCHBOARD_OIDC_ISSUER is not; service callers' tokens are checked against the single sign-on provider's keys, so set that up first".into()));
        }
        return Ok(None);
    };
    if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
        return Err(error(format!(
            "SWITCHBOARD_OIDC_ISSUER={issuer:?} is not a URL; use the issuer your provider's discovery document names, e.g. https://accounts.example.com"
        )));
    }
    let client_id = get("SWITCHBOARD_OIDC_CLIENT_ID").ok_or_else(|| {
        error("SWITCHBOARD_OIDC_ISSUER is set but SWITCHBOARD_OIDC_CLIENT_ID is not; register Switchboard at the provider and set its client id".into())
    })?;
    if api.as_ref().is_some_and(|api| api.audience == client_id) {
        return Err(error("SWITCHBOARD_API_AUDIENCE is Switchboard's own client id: the ID tokens people sign in with would then open the API. Give the API an audience of its own at the provider, e.g. https://switchboard.example.com/v1".into()));
    }
    let public_url = public_url.ok_or_else(|| {
        error("single sign-on needs SWITCHBOARD_PUBLIC_URL, the address people open Switchboard at: the provider sends them back to <SWITCHBOARD_PUBLIC_URL>/auth/oidc/callback".into())
    })?;
    let role = |name: &str, value: &str| {
        Role::parse(value.trim())
            .ok_or_else(|| error(format!("{name}: {value:?} is not a role; use viewer, operator, approver or admin")))
    };
    let mut role_map = Vec::new();
    for pair in get("SWITCHBOARD_OIDC_ROLE_MAP").unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty())
    {
        let (value, to) = pair.rsplit_once('=').ok_or_else(|| {
            error(format!("SWITCHBOARD_OIDC_ROLE_MAP: {pair:?} is not value=role, e.g. switchboard-admins=admin"))
        })?;
        role_map.push((value.trim().to_owned(), role("SWITCHBOARD_OIDC_ROLE_MAP", to)?));
    }
    let default_roles = match get("SWITCHBOARD_OIDC_DEFAULT_ROLES").map(|v| v.to_ascii_lowercase()) {
        None => Some(vec![Role::Viewer]),
        Some(v) if v == "none" => None,
        Some(v) => Some(
            v.split([',', ' '])
                .filter(|r| !r.is_empty())
                .map(|r| role("SWITCHBOARD_OIDC_DEFAULT_ROLES", r))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let allowed_domains: Vec<String> = get("SWITCHBOARD_OIDC_ALLOWED_DOMAINS")
        .unwrap_or_default()
        .split(',')
        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    if allowed_domains.is_empty() && role_map.is_empty() {
        return Err(error("single sign-on needs SWITCHBOARD_OIDC_ALLOWED_DOMAINS (e.g. example.com) or SWITCHBOARD_OIDC_ROLE_MAP: without either, anyone with an account at the provider could sign in".into()));
    }
    let scopes = get("SWITCHBOARD_OIDC_SCOPES").unwrap_or_else(|| "openid email profile".to_owned());
    Ok(Some(OidcSettings {
        issuer,
        client_id,
        client_secret: get("SWITCHBOARD_OIDC_CLIENT_SECRET").map(Secret::new),
        name: get("SWITCHBOARD_OIDC_NAME").unwrap_or_else(|| "single sign-on".to_owned()),
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        allowed_domains,
        roles_claim: get("SWITCHBOARD_OIDC_ROLES_CLAIM").unwrap_or_else(|| "groups".to_owned()),
        role_map,
        default_roles,
        redirect_url: format!("{public_url}/auth/oidc/callback"),
        post_logout_url: format!("{public_url}/login?error=signed_out"),
        api,
    }))
}

/// `SWITCHBOARD_API_*`: service callers with the provider's tokens, when
/// `SWITCHBOARD_API_AUDIENCE` is set (the workspace settings without it are a mistake).
fn service_caller_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<ServiceCallerSettings>, SettingsError> {
    let error = |m: String| SettingsError::Oidc(m);
    let workspace_claim = get("SWITCHBOARD_API_WORKSPACE_CLAIM").map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    let mut client_workspaces = Vec::new();
    for pair in
        get("SWITCHBOARD_API_CLIENT_WORKSPACES").unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty())
    {
        let parsed = pair
            .split_once('=')
            .map(|(client, workspace)| (client.trim(), workspace.trim()))
            .filter(|(client, workspace)| !client.is_empty() && !workspace.is_empty() && !workspace.contains('='));
        let Some((client, workspace)) = parsed else {
            return Err(error(format!(
                "SWITCHBOARD_API_CLIENT_WORKSPACES: {pair:?} is not client=workspace, e.g. ci-deployer=staging"
            )));
        };
        client_workspaces.push((client.to_owned(), workspace.to_owned()));
    }
    let Some(audience) = get("SWITCHBOARD_API_AUDIENCE").map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()) else {
        if workspace_claim.is_some() || !client_workspaces.is_empty() {
            return Err(error("SWITCHBOARD_API_WORKSPACE_CLAIM or SWITCHBOARD_API_CLIENT_WORKSPACES is set but SWITCHBOARD_API_AUDIENCE is not; set the audience your provider puts in the tokens it gives Switchboard's API, e.g. https://switchboard.example.com/v1".into()));
        }
        return Ok(None);
    };
    Ok(Some(ServiceCallerSettings { audience, workspace_claim, client_workspaces }))
}

/// `SWITCHBOARD_SECRET_KEY`: the key the workspaces' keys are sealed with. Its `Debug` leaves it
/// out.
#[derive(Clone)]
pub struct SecretKey(engine::sealing::SealKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// 32 bytes in standard base64 (`openssl rand -base64 32`).
    pub fn parse(text: &str) -> Option<Self> {
        engine::sealing::SealKey::parse(text).map(Self)
    }

    /// The embedded engine's key (`SWITCHBOARD_ENGINE_SECRET_KEY`), derived from this one: one
    /// key for the operator to keep, none of the values one seals opened by the other.
    pub fn engine_key(&self) -> engine::sealing::SealKey {
        self.0.derive("switchboard engine secret key")
    }

    /// The key Switchboard's own keys are sealed with in a shared database
    /// (`support::keys::KeyStore`), derived from this one.
    pub fn keys_key(&self) -> engine::sealing::SealKey {
        self.0.derive("switchboard keys")
    }

    /// The key the audit log seals its entries' decided inputs with, derived from this one.
    pub fn audit_key(&self) -> engine::sealing::SealKey {
        self.0.derive("switchboard audit")
    }

    /// The key notification channels are sealed with, derived from this one.
    pub fn channels_key(&self) -> engine::sealing::SealKey {
        self.0.derive("switchboard notification channels")
    }

    /// `plain` sealed for workspace `id` at `base_url` (both are authenticated with it, so a
    /// sealed key moved to another row, or a row pointed at another address, does not open): a
    /// random nonce, then the ciphertext and tag.
    pub fn seal(&self, id: &str, base_url: &str, plain: &str) -> Vec<u8> {
        self.0.seal(&associated(id, base_url), plain.as_bytes())
    }

    /// What [`SecretKey::seal`] sealed for `id` at `base_url`; `None` when this key did not seal
    /// it for them.
    pub fn open(&self, id: &str, base_url: &str, sealed: &[u8]) -> Option<String> {
        String::from_utf8(self.0.open(&associated(id, base_url), sealed)?).ok()
    }
}

/// The data a sealed key is bound to.
fn associated(id: &str, base_url: &str) -> Vec<u8> {
    format!("{id}\n{base_url}").into_bytes()
}

/// The per-person and signed-out limits' settings (`access::limits`).
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    /// Event streams one person may hold open at once.
    pub streams_per_person: usize,
    /// Requests one person may send per minute (and at once, as a burst).
    pub requests_per_minute: u32,
    /// Streams one address may hold open without a sign-in (a share link's audience).
    pub streams_per_address: usize,
    /// Requests one address may send per minute without a sign-in (and at once, as a burst).
    pub signed_out_requests_per_minute: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            streams_per_person: 40,
            requests_per_minute: 1200,
            streams_per_address: 200,
            signed_out_requests_per_minute: 300,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    #[test]
    fn a_webhook_secret_must_be_one_and_is_never_shown() {
        assert!(settings(&[]).unwrap().webhook_secret.is_none());
        let secret = engine::webhooks::generate_secret();
        let s = settings(&[("SWITCHBOARD_WEBHOOK_SECRET", &secret)]).unwrap();
        assert_eq!(s.webhook_secret.as_ref().map(|w| w.0.as_str()), Some(secret.as_str()));
        assert!(!format!("{s:?}").contains(&secret[6..]), "the secret is left out of Debug");
        let error = settings(&[("SWITCHBOARD_WEBHOOK_SECRET", "whsec_!!not base64")]).unwrap_err();
        assert!(error.to_string().contains("whsec_ and base64"), "{error}");
    }

    #[test]
    fn the_secret_key_is_32_bytes_in_base64_and_is_never_shown() {
        assert!(settings(&[]).unwrap().secret_key.is_none());
        let key = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
        let s = settings(&[("SWITCHBOARD_SECRET_KEY", key)]).unwrap();
        assert!(s.secret_key.is_some());
        assert!(!format!("{s:?}").contains(&key[..20]), "the key is left out of Debug");
        for wrong in ["not base64!", "c2hvcnQ=", &format!("{key}{key}")] {
            let error = settings(&[("SWITCHBOARD_SECRET_KEY", wrong)]).unwrap_err();
            assert!(error.to_string().contains("openssl rand -base64 32"), "{error}");
        }
    }

    #[test]
    fn service_callers_need_single_sign_on_and_an_audience() {
        let sso = [
            ("SWITCHBOARD_OIDC_ISSUER", "https://id.example.com"),
            ("SWITCHBOARD_OIDC_CLIENT_ID", "switchboard"),
            ("SWITCHBOARD_PUBLIC_URL", "https://sb.example.com"),
            ("SWITCHBOARD_OIDC_ROLE_MAP", "ci=operator"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = sso.to_vec();
            vars.extend_from_slice(extra);
            settings(&vars)
        };
        assert_eq!(with(&[]).unwrap().access.oidc.unwrap().api, None, "no audience: no service callers");
        let api = with(&[
            ("SWITCHBOARD_API_AUDIENCE", " https://sb.example.com/v1 "),
            ("SWITCHBOARD_API_WORKSPACE_CLAIM", "switchboard_workspace"),
            ("SWITCHBOARD_API_CLIENT_WORKSPACES", "ci-deployer=staging, nightly = default"),
        ])
        .unwrap()
        .access
        .oidc
        .unwrap()
        .api
        .unwrap();
        assert_eq!(api.audience, "https://sb.example.com/v1");
        assert_eq!(api.workspace_claim.as_deref(), Some("switchboard_workspace"));
        assert_eq!(
            api.client_workspaces,
            [("ci-deployer".to_owned(), "staging".to_owned()), ("nightly".to_owned(), "default".to_owned())]
        );

        // An audience without a provider, or a workspace setting without an audience: refused, with
        // what to set.
        let err = settings(&[("SWITCHBOARD_API_AUDIENCE", "https://sb.example.com/v1")]).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_OIDC_ISSUER"), "{err}");
        for setting in [
            ("SWITCHBOARD_API_WORKSPACE_CLAIM", "switchboard_workspace"),
            ("SWITCHBOARD_API_CLIENT_WORKSPACES", "ci-deployer=staging"),
        ] {
            let err = with(&[setting]).unwrap_err().to_string();
            assert!(err.contains("SWITCHBOARD_API_AUDIENCE"), "{err}");
        }
        for pair in ["ci-deployer", "=staging", "ci=", "a=b=c"] {
            let err = settings(&[
                ("SWITCHBOARD_OIDC_ISSUER", "https://id.example.com"),
                ("SWITCHBOARD_OIDC_CLIENT_ID", "switchboard"),
                ("SWITCHBOARD_PUBLIC_URL", "https://sb.example.com"),
                ("SWITCHBOARD_OIDC_ROLE_MAP", "ci=operator"),
                ("SWITCHBOARD_API_AUDIENCE", "https://sb.example.com/v1"),
                ("SWITCHBOARD_API_CLIENT_WORKSPACES", pair),
            ])
            .unwrap_err()
            .to_string();
            assert!(err.contains("is not client=workspace"), "{pair}: {err}");
        }
        // The console's own client id as the API's audience would let people's ID tokens open it.
        let err = with(&[("SWITCHBOARD_API_AUDIENCE", "switchboard")]).unwrap_err().to_string();
        assert!(err.contains("own client id"), "{err}");
    }

    #[test]
    fn single_sign_on_needs_its_client_and_a_public_url_and_keeps_its_secret() {
        assert!(settings(&[]).unwrap().access.oidc.is_none());
        let base = [
            ("SWITCHBOARD_OIDC_ISSUER", "https://id.example.com"),
            ("SWITCHBOARD_OIDC_CLIENT_ID", "switchboard"),
            ("SWITCHBOARD_OIDC_CLIENT_SECRET", "very-secret-client-secret"),
            ("SWITCHBOARD_PUBLIC_URL", "https://sb.example.com/"),
            ("SWITCHBOARD_OIDC_ALLOWED_DOMAINS", "Example.com, @example.org"),
            ("SWITCHBOARD_OIDC_ROLE_MAP", "sb-admins=admin, team=ops=approver"),
        ];
        let s = settings(&base).unwrap();
        let oidc = s.access.oidc.as_ref().unwrap();
        assert_eq!(oidc.redirect_url, "https://sb.example.com/auth/oidc/callback");
        assert_eq!(oidc.allowed_domains, ["example.com", "example.org"]);
        use domain::auth::Role;
        assert_eq!(oidc.role_map, [("sb-admins".to_owned(), Role::Admin), ("team=ops".to_owned(), Role::Approver)]);
        assert_eq!(oidc.default_roles, Some(vec![Role::Viewer]));
        assert_eq!(oidc.scopes, ["openid", "email", "profile"]);
        assert!(!format!("{s:?}").contains("very-secret-client-secret"), "the secret is left out of Debug");

        let without = |name: &str| base.iter().filter(|(n, _)| *n != name).copied().collect::<Vec<_>>();
        let err = settings(&without("SWITCHBOARD_PUBLIC_URL")).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_PUBLIC_URL") && err.contains("/auth/oidc/callback"), "{err}");
        let err = settings(&without("SWITCHBOARD_OIDC_CLIENT_ID")).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_OIDC_CLIENT_ID"), "{err}");
        let err = settings(&without("SWITCHBOARD_OIDC_ISSUER")).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_OIDC_ISSUER"), "a client id alone is a mistake: {err}");
        let mut bad = base.to_vec();
        bad.push(("SWITCHBOARD_OIDC_ROLE_MAP", "sb-admins=superuser"));
        let err = settings(&bad).unwrap_err().to_string();
        assert!(err.contains("\"superuser\" is not a role"), "{err}");
        let open = without("SWITCHBOARD_OIDC_ROLE_MAP")
            .into_iter()
            .filter(|(n, _)| *n != "SWITCHBOARD_OIDC_ALLOWED_DOMAINS")
            .collect::<Vec<_>>();
        let err = settings(&open).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_OIDC_ALLOWED_DOMAINS") && err.contains("anyone"), "{err}");
        let mut waiting = base.to_vec();
        waiting.retain(|(n, _)| *n != "SWITCHBOARD_OIDC_ROLE_MAP");
        waiting.push(("SWITCHBOARD_OIDC_DEFAULT_ROLES", "none"));
        assert_eq!(settings(&waiting).unwrap().access.oidc.unwrap().default_roles, None);
    }

    #[test]
    fn no_key_selects_the_embedded_engine() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.upstream.mode(), UpstreamMode::Embedded);
        assert_eq!(s.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(s.data_dir, PathBuf::from("data"));
        // An empty key is a common leftover of `export ANTHROPIC_API_KEY=`: still no key.
        assert_eq!(settings(&[("ANTHROPIC_API_KEY", " ")]).unwrap().upstream.mode(), UpstreamMode::Embedded);
    }

    #[test]
    fn a_key_selects_anthropic_with_the_default_or_given_base_url() {
        let s = settings(&[("ANTHROPIC_API_KEY", "sk-test")]).unwrap();
        assert_eq!(s.upstream.mode(), UpstreamMode::Anthropic);
        assert_eq!(base_url(&s), Some(DEFAULT_ANTHROPIC_BASE_URL));
        let s = settings(&[("ANTHROPIC_API_KEY", "sk-test"), ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/")]).unwrap();
        assert_eq!(base_url(&s), Some("http://127.0.0.1:9"));
    }

    #[test]
    fn bad_values_name_the_variable_and_the_fix() {
        let err = settings(&[("SWITCHBOARD_LISTEN", "localhost")]).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_LISTEN") && err.contains("host:port"), "{err}");
        let err =
            settings(&[("ANTHROPIC_API_KEY", "k"), ("ANTHROPIC_BASE_URL", "api.example")]).unwrap_err().to_string();
        assert!(err.contains("ANTHROPIC_BASE_URL"), "{err}");
        let err = settings(&[("SWITCHBOARD_MAX_UPLOAD_BYTES", "100MB")]).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_MAX_UPLOAD_BYTES"), "{err}");
        let err = settings(&[("SWITCHBOARD_STREAM_GRACE_SECS", "-1")]).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_STREAM_GRACE_SECS") && err.contains("seconds"), "{err}");
        let err = settings(&[("SWITCHBOARD_HEARTBEAT_SECS", "1e19")]).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_HEARTBEAT_SECS"), "{err}");
        let err = settings(&[("SWITCHBOARD_SESSION_IDLE_SECS", "0")]).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_SESSION_IDLE_SECS") && err.contains("8 hours"), "{err}");
        // Issue 20: these once passed here and panicked at the first login or audit purge.
        for (name, most) in [
            ("SWITCHBOARD_SESSION_MAX_SECS", MOST_LOGIN_SECS),
            ("SWITCHBOARD_SESSION_IDLE_SECS", MOST_LOGIN_SECS),
            ("SWITCHBOARD_AUDIT_RETENTION_DAYS", MOST_RETENTION_DAYS),
        ] {
            let err = settings(&[(name, "18446744073709551615")]).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(&format!("more than {most}")), "{err}");
            assert!(settings(&[(name, &most.to_string())]).is_ok(), "{name}={most} is allowed");
        }
        let err = settings(&[("SWITCHBOARD_COOKIE_SECURE", "yes please")]).unwrap_err().to_string();
        assert!(err.contains("true or false"), "{err}");
        let err = settings(&[("SWITCHBOARD_INBOX_AMBER_SECS", "600"), ("SWITCHBOARD_INBOX_RED_SECS", "60")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SWITCHBOARD_INBOX_RED_SECS (60 s)") && err.contains("AMBER"), "{err}");
    }

    #[test]
    fn tokens_live_90_days_at_most_and_a_terminals_12_hours_unless_told() {
        let s = settings(&[]).unwrap();
        assert_eq!((s.access.api_token_max_days, s.access.cli_token_hours), (90, 12));
        let s = settings(&[("SWITCHBOARD_API_TOKEN_MAX_DAYS", "7"), ("SWITCHBOARD_CLI_TOKEN_HOURS", "1")]).unwrap();
        assert_eq!((s.access.api_token_max_days, s.access.cli_token_hours), (7, 1));
        for (name, most) in [("SWITCHBOARD_API_TOKEN_MAX_DAYS", 3650), ("SWITCHBOARD_CLI_TOKEN_HOURS", 2160)] {
            let err = settings(&[(name, &(most + 1).to_string())]).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(&format!("more than {most}")), "{err}");
            let err = settings(&[(name, "0")]).unwrap_err().to_string();
            assert!(err.contains(name), "a token that lives no time is refused: {err}");
        }
    }

    #[test]
    fn the_inbox_polls_every_two_seconds_unless_told_and_never_faster_than_four_times_a_second() {
        let s = settings(&[]).unwrap();
        assert_eq!(
            (s.inbox.poll, s.inbox.amber, s.inbox.red),
            (Duration::from_secs(2), Duration::from_secs(300), Duration::from_secs(900))
        );
        let s = settings(&[
            ("SWITCHBOARD_INBOX_POLL_SECS", "0.01"),
            ("SWITCHBOARD_INBOX_RED_SECS", "60"),
            ("SWITCHBOARD_INBOX_AMBER_SECS", "30"),
        ])
        .unwrap();
        assert_eq!(
            (s.inbox.poll, s.inbox.amber, s.inbox.red),
            (Duration::from_millis(250), Duration::from_secs(30), Duration::from_secs(60))
        );
    }

    #[test]
    fn notification_settings_are_checked_and_the_mail_servers_password_never_shown() {
        let s = settings(&[]).unwrap();
        assert_eq!((s.notify.public_url.as_deref(), s.notify.smtp_url.is_none()), (None, true));
        assert_eq!((s.notify.window, s.notify.link_ttl), (Duration::from_secs(30), Duration::from_secs(12 * 3600)));
        let s = settings(&[
            ("SWITCHBOARD_PUBLIC_URL", "https://switchboard.example.com/"),
            ("SWITCHBOARD_SMTP_URL", "smtps://bot:mail-distinctive@smtp.example.com"),
        ])
        .unwrap();
        assert_eq!(s.notify.public_url.as_deref(), Some("https://switchboard.example.com"));
        assert!(!format!("{s:?}").contains("distinctive"));
        let error = settings(&[("SWITCHBOARD_PUBLIC_URL", "switchboard.example.com")]).unwrap_err();
        assert!(error.to_string().contains("https://switchboard.example.com"), "{error}");
        let error = settings(&[("SWITCHBOARD_SMTP_FROM", "not an address")]).unwrap_err();
        assert!(error.to_string().contains("Switchboard <switchboard@example.com>"), "{error}");
        assert_eq!(s.notify.destinations, crate::support::destinations::Destinations::default(), "no private address");
        let error = settings(&[("SWITCHBOARD_ALLOW_PRIVATE_URLS", "10.0.0.5, hooks.internal")]).unwrap_err();
        assert!(error.to_string().starts_with("SWITCHBOARD_ALLOW_PRIVATE_URLS: \"hooks.internal\""), "{error}");
    }

    #[test]
    fn the_admin_password_never_shows_in_debug_output() {
        let s = settings(&[("SWITCHBOARD_ADMIN_PASSWORD", "hunter2-distinctive")]).unwrap();
        assert_eq!(s.access.admin_password.as_ref().map(Secret::expose), Some("hunter2-distinctive"));
        assert!(!format!("{s:?}").contains("distinctive"));
    }

    #[test]
    fn the_engines_model_key_never_shows_in_debug_output() {
        let s = settings(&[
            ("SWITCHBOARD_ENGINE_MODEL_KEY", "model-key-distinctive-456"),
            ("SWITCHBOARD_ENGINE_MODEL_URL", "http://127.0.0.1:8080/"),
        ])
        .unwrap();
        assert!(s.model.has_key());
        assert_eq!(s.model.url, "http://127.0.0.1:8080");
        let printed = format!("{s:?}");
        assert!(!printed.contains("distinctive"), "{printed}");
        let refused = settings(&[("SWITCHBOARD_ENGINE_MODEL_URL", "api.anthropic.com")]).unwrap_err();
        assert!(refused.to_string().contains("must be an http:// or https:// URL"), "{refused}");
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let s = settings(&[("ANTHROPIC_API_KEY", "test-key-distinctive-123")]).unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("distinctive"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn the_signed_out_rate_is_a_whole_number_of_requests() {
        assert_eq!(settings(&[]).unwrap().access.limits.signed_out_requests_per_minute, 300);
        let s = settings(&[("SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE", "60")]).unwrap();
        assert_eq!(s.access.limits.signed_out_requests_per_minute, 60);
        for wrong in ["0", "ten", "-5"] {
            let error = settings(&[("SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE", wrong)]).unwrap_err().to_string();
            assert!(
                error.starts_with("SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE=") && error.contains("e.g. 300"),
                "{error}"
            );
        }
    }

    #[test]
    fn metrics_get_a_listener_of_their_own_or_a_long_token_and_the_token_is_never_shown() {
        let s = settings(&[]).unwrap();
        assert!(!s.metrics.wanted(), "nothing is recorded unless asked");
        let token = "0123456789abcdef".repeat(2);
        let s = settings(&[("SWITCHBOARD_METRICS_LISTEN", "10.0.0.5:9464"), ("SWITCHBOARD_METRICS_TOKEN", &token)])
            .unwrap();
        assert_eq!(s.metrics.listen, Some("10.0.0.5:9464".parse().unwrap()));
        assert_eq!(s.metrics.token.as_ref().map(Secret::expose), Some(token.as_str()));
        assert!(!format!("{s:?}").contains(&token), "the token is left out of Debug");

        let error = settings(&[("SWITCHBOARD_METRICS_TOKEN", &token[..31])]).unwrap_err().to_string();
        assert!(
            error.contains("SWITCHBOARD_METRICS_TOKEN is 31 characters") && error.contains("at least 32"),
            "{error}"
        );
        let error = settings(&[("SWITCHBOARD_METRICS_LISTEN", "9464")]).unwrap_err().to_string();
        assert!(error.starts_with("SWITCHBOARD_METRICS_LISTEN=\"9464\"") && error.contains("host:port"), "{error}");
        for (console, metrics) in
            [("127.0.0.1:3000", "127.0.0.1:3000"), ("0.0.0.0:3000", "127.0.0.1:3000"), ("127.0.0.1:3000", "[::]:3000")]
        {
            let error = settings(&[("SWITCHBOARD_LISTEN", console), ("SWITCHBOARD_METRICS_LISTEN", metrics)])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("is the console's own address") && error.contains("SWITCHBOARD_METRICS_TOKEN"),
                "{error}"
            );
        }
        assert!(
            settings(&[("SWITCHBOARD_LISTEN", "127.0.0.1:3000"), ("SWITCHBOARD_METRICS_LISTEN", "127.0.0.2:3000")])
                .is_ok()
        );
        assert!(
            settings(&[("SWITCHBOARD_LISTEN", "127.0.0.1:0"), ("SWITCHBOARD_METRICS_LISTEN", "127.0.0.1:0")]).is_ok()
        );
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_secret_and_for_its_workspace() {
        let secret = SecretKey(engine::sealing::SealKey::from_bytes([7; 32]));
        let url = "https://api.anthropic.com";
        let sealed = secret.seal("staging", url, "sk-ant-secret");
        assert!(!sealed.windows(6).any(|w| w == b"secret"), "the key is not stored in the clear");
        assert_eq!(secret.open("staging", url, &sealed).as_deref(), Some("sk-ant-secret"));
        assert_eq!(secret.open("prod", url, &sealed), None, "a sealed key moved to another row does not open");
        assert_eq!(secret.open("staging", "https://evil.example", &sealed), None, "nor one pointed elsewhere");
        assert_eq!(SecretKey(engine::sealing::SealKey::from_bytes([8; 32])).open("staging", url, &sealed), None);
        assert_ne!(secret.seal("staging", url, "sk-ant-secret"), sealed, "each seal has its own nonce");
        assert_eq!(secret.open("staging", url, &sealed[..5]), None);
    }

    use super::*;

    fn base_url(s: &Settings) -> Option<&str> {
        match &s.upstream {
            UpstreamSettings::Anthropic { base_url, .. } => Some(base_url),
            UpstreamSettings::Embedded => None,
        }
    }

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }
}
