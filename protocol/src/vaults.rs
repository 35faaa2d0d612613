//! Vaults and their credentials: secrets an agent uses (MCP OAuth / bearer tokens, environment
//! variables). Secrets are write-only: they appear in request types only, never in responses.
//!
//! SDK: `beta_managed_agents_vault.py`, `vaults/*.py`, `vault_{create,update}_params.py`.

use serde::{Deserialize, Serialize};

use crate::common::{Deleted, Empty, Metadata, MetadataPatch, Page, Timestamp};

crate::literal_type! {
    /// `"vault"`.
    pub VaultTag = "vault"
}
crate::literal_type! {
    /// `"vault_deleted"`.
    pub VaultDeletedTag = "vault_deleted"
}
crate::literal_type! {
    /// `"vault_credential"`.
    pub CredentialTag = "vault_credential"
}
crate::literal_type! {
    /// `"vault_credential_deleted"`.
    pub CredentialDeletedTag = "vault_credential_deleted"
}
crate::literal_type! {
    /// `"vault_credential_validation"`.
    pub CredentialValidationTag = "vault_credential_validation"
}

/// A vault holding credentials for sessions (attached via `vault_ids`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vault {
    /// `vlt_…`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub display_name: String,
    pub metadata: Metadata,
    pub r#type: VaultTag,
    pub updated_at: Timestamp,
}

/// `GET /v1/vaults`.
pub type VaultPage = Page<Vault>;
/// `DELETE /v1/vaults/{id}`.
pub type VaultDeleted = Deleted<VaultDeletedTag>;

/// A credential stored in a vault (without its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    /// `vcrd_…`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
    pub auth: CredentialAuth,
    pub created_at: Timestamp,
    pub metadata: Metadata,
    pub r#type: CredentialTag,
    pub updated_at: Timestamp,
    pub vault_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `GET /v1/vaults/{id}/credentials`.
pub type CredentialPage = Page<Credential>;
/// `DELETE /v1/vaults/{id}/credentials/{credential_id}`.
pub type CredentialDeleted = Deleted<CredentialDeletedTag>;

crate::open_union! {
    /// What a credential authenticates (response form, secrets omitted).
    pub enum CredentialAuth {
        McpOauth(McpOauthAuth) = "mcp_oauth",
        StaticBearer(StaticBearerAuth) = "static_bearer",
        EnvironmentVariable(EnvironmentVariableAuth) = "environment_variable",
    }
}

/// OAuth credential of an MCP server (matched to agent MCP servers by URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpOauthAuth {
    pub mcp_server_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<McpOauthRefresh>,
}

/// Refresh configuration of an OAuth credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpOauthRefresh {
    pub client_id: String,
    pub token_endpoint: String,
    pub token_endpoint_auth: TokenEndpointAuth,
    /// OAuth resource indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

crate::open_union! {
    /// How the client authenticates to the token endpoint (response form).
    pub enum TokenEndpointAuth {
        None(Empty) = "none",
        ClientSecretBasic(Empty) = "client_secret_basic",
        ClientSecretPost(Empty) = "client_secret_post",
    }
}

/// Static bearer token of an MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaticBearerAuth {
    pub mcp_server_url: String,
}

/// A secret substituted into the agent's outbound requests where its placeholder appears.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentVariableAuth {
    pub injection_location: InjectionLocation,
    pub networking: CredentialNetworking,
    /// Name of the environment variable; immutable.
    pub secret_name: String,
}

/// Where in an outbound request the secret is substituted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectionLocation {
    pub body: bool,
    pub header: bool,
}

crate::open_union! {
    /// Hosts the secret is substituted on (request and response form).
    pub enum CredentialNetworking {
        Unrestricted(Empty) = "unrestricted",
        Limited(CredentialLimitedNetworking) = "limited",
    }
}

/// Substitute only on requests to these hosts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialLimitedNetworking {
    /// ≤ 16 hostnames, IPv4 addresses or `*.` wildcards (which do not match the apex).
    pub allowed_hosts: Vec<String>,
}

/// Result of `POST …/credentials/{id}/mcp_oauth_validate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialValidation {
    pub credential_id: String,
    pub has_refresh_token: bool,
    /// The failing MCP step, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_probe: Option<McpProbe>,
    /// The refresh attempted after a 401, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshAttempt>,
    pub status: ValidationStatus,
    pub r#type: CredentialValidationTag,
    pub validated_at: Timestamp,
    pub vault_id: String,
}

/// Overall verdict of a validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationStatus {
    Valid,
    Invalid,
    Unknown,
    #[serde(untagged)]
    Other(String),
}

/// The failing step of an MCP validation probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpProbe {
    /// Absent e.g. after a timeout, DNS or TLS failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_response: Option<ProbeHttpResponse>,
    /// e.g. `initialize`, `tools/list`.
    pub method: String,
}

/// Outcome of a refresh-token exchange during validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshAttempt {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_response: Option<ProbeHttpResponse>,
    pub status: RefreshStatus,
}

/// Result of a refresh attempt.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshStatus {
    Succeeded,
    Failed,
    ConnectError,
    NoRefreshToken,
    #[serde(untagged)]
    Other(String),
}

/// An HTTP response captured by a probe (body scrubbed, maybe truncated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeHttpResponse {
    pub body: String,
    pub body_truncated: bool,
    pub content_type: String,
    pub status_code: u16,
}

// --- request bodies ----------------------------------------------------------------------------

/// `POST /v1/vaults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaultCreate {
    /// 1–255 chars.
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// `POST /v1/vaults/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VaultUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataPatch>,
}

/// `POST /v1/vaults/{id}/credentials`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialCreate {
    pub auth: CredentialAuthCreate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

crate::open_union! {
    /// `auth` of a credential create body (with its secrets).
    pub enum CredentialAuthCreate {
        McpOauth(McpOauthCreate) = "mcp_oauth",
        StaticBearer(StaticBearerCreate) = "static_bearer",
        EnvironmentVariable(EnvironmentVariableCreate) = "environment_variable",
    }
}

/// New MCP OAuth credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpOauthCreate {
    /// Write-only.
    pub access_token: String,
    pub mcp_server_url: String,
    /// Must be in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<McpOauthRefreshCreate>,
}

/// Refresh configuration of a new OAuth credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpOauthRefreshCreate {
    pub client_id: String,
    /// Write-only.
    pub refresh_token: String,
    pub token_endpoint: String,
    pub token_endpoint_auth: TokenEndpointAuthCreate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

crate::open_union! {
    /// Token-endpoint client authentication in a create body.
    pub enum TokenEndpointAuthCreate {
        None(Empty) = "none",
        ClientSecretBasic(ClientSecret) = "client_secret_basic",
        ClientSecretPost(ClientSecret) = "client_secret_post",
    }
}

/// An OAuth client secret (write-only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSecret {
    pub client_secret: String,
}

/// New static bearer credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaticBearerCreate {
    /// Write-only.
    pub token: String,
    pub mcp_server_url: String,
}

/// New environment-variable credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentVariableCreate {
    pub networking: CredentialNetworking,
    /// Immutable after create.
    pub secret_name: String,
    /// Write-only.
    pub secret_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injection_location: Option<InjectionLocationParams>,
}

/// Where the secret may be substituted (request form; on update an omitted location keeps its
/// setting, and at least one must stay enabled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InjectionLocationParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
}

/// `POST /v1/vaults/{id}/credentials/{credential_id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialUpdate {
    /// Same `type` as stored (immutable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<CredentialAuthUpdate>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub display_name: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataPatch>,
}

crate::open_union! {
    /// `auth` of a credential update body.
    pub enum CredentialAuthUpdate {
        McpOauth(McpOauthUpdate) = "mcp_oauth",
        StaticBearer(StaticBearerUpdate) = "static_bearer",
        EnvironmentVariable(EnvironmentVariableUpdate) = "environment_variable",
    }
}

/// MCP OAuth update (server URL and client id are immutable).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct McpOauthUpdate {
    /// Write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Send with a new token; omitted keeps the old expiry.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub expires_at: Option<Option<Timestamp>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<McpOauthRefreshUpdate>,
}

/// Refresh configuration update.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct McpOauthRefreshUpdate {
    /// Write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// `""` clears.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth: Option<TokenEndpointAuthUpdate>,
}

crate::open_union! {
    /// Token-endpoint authentication update (only the secret kinds).
    pub enum TokenEndpointAuthUpdate {
        ClientSecretBasic(ClientSecretUpdate) = "client_secret_basic",
        ClientSecretPost(ClientSecretUpdate) = "client_secret_post",
    }
}

/// An optional new client secret (write-only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientSecretUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Static bearer update.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StaticBearerUpdate {
    /// Write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Environment-variable update (`secret_name` is immutable).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentVariableUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injection_location: Option<InjectionLocationParams>,
    /// Replaces the stored scope as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking: Option<CredentialNetworking>,
    /// Write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_value: Option<String>,
}
