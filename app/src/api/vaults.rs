//! Vaults and their credentials. Secrets go upstream and never come back: the API does not return
//! them, and no server function here echoes what it was sent.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use protocol::{
    common::Page,
    vaults::{Credential, Vault},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::JsonResponse;
#[cfg(feature = "ssr")]
use super::server::{Kind, delete, list_archivable, segment, upstream, walk};
use crate::error::AppError;

/// A vault as the pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaultRow {
    pub id: String,
    pub display_name: String,
    pub updated_at: String,
    pub archived: bool,
    /// Who made it through Switchboard (none: made elsewhere, or before it kept the record).
    #[serde(default)]
    pub created_by: Option<domain::creators::Creator>,
}

impl VaultRow {
    pub fn of(vault: &Vault) -> Self {
        Self {
            id: vault.id.clone(),
            display_name: vault.display_name.clone(),
            updated_at: vault.updated_at.clone(),
            archived: vault.archived_at.is_some(),
            created_by: None,
        }
    }
}

/// A credential as the vault page shows it. No secret: the API never returns one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialItem {
    pub id: String,
    pub vault_id: String,
    pub display_name: Option<String>,
    /// `static_bearer`, `mcp_oauth`, `environment_variable`, or a type this version does not know.
    pub kind: String,
    /// "Bearer token for https://…", "Environment variable GITHUB_TOKEN".
    pub description: String,
    pub updated_at: String,
    pub archived: bool,
    /// The non-secret fields of its `auth`, as the API returns them.
    pub auth: Value,
}

impl CredentialItem {
    pub fn of(credential: &Credential) -> Self {
        let auth = serde_json::to_value(&credential.auth).unwrap_or_default();
        let text = |k: &str| auth.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
        let kind = auth.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
        let description = match kind.as_str() {
            "static_bearer" => format!("Bearer token for {}", text("mcp_server_url")),
            "mcp_oauth" => format!("OAuth token for {}", text("mcp_server_url")),
            "environment_variable" => format!("Environment variable {}", text("secret_name")),
            "" => "Credential of an unknown type".to_owned(),
            other => format!("Credential of type {other}"),
        };
        Self {
            id: credential.id.clone(),
            vault_id: credential.vault_id.clone(),
            display_name: credential.display_name.clone(),
            kind,
            description,
            updated_at: credential.updated_at.clone(),
            archived: credential.archived_at.is_some(),
            auth,
        }
    }
}

#[access(Viewer)]
#[server(endpoint = "vaults/list", input = GetUrl, output = JsonResponse)]
pub async fn list_vaults(
    include_archived: bool,
    page: Option<String>,
    #[server(default)] mine: bool,
) -> Result<Page<VaultRow>, AppError> {
    list_archivable(("/v1/vaults", "Listing vaults", Kind::Vault), (include_archived, mine), page, VaultRow::of).await
}

made_by!(VaultRow);

/// A vault and all its credentials, archived ones too (pages of 100 walked, up to 1,000).
#[access(Viewer)]
#[server(endpoint = "vaults/get", input = GetUrl, output = JsonResponse)]
pub async fn get_vault(id: String) -> Result<(VaultRow, Vec<CredentialItem>), AppError> {
    let id = segment(&id)?;
    let (vault_path, credentials_path) = (format!("/v1/vaults/{id}"), format!("/v1/vaults/{id}/credentials"));
    let api = upstream()?;
    let vault = api.get(&vault_path, vec![]);
    let credentials = walk::<Credential>(
        &credentials_path,
        "Listing the vault's credentials",
        vec![("include_archived".into(), "true".into())],
        1000,
    );
    let (vault, credentials) = futures::join!(vault, credentials);
    let vault: Vault = vault.map_err(|e| AppError::upstream(&format!("Loading vault {id}"), e))?;
    Ok((VaultRow::of(&vault), credentials?.iter().map(CredentialItem::of).collect()))
}

#[access(Admin)]
#[server(endpoint = "vaults/create", output = JsonResponse)]
pub async fn create_vault(display_name: String) -> Result<VaultRow, AppError> {
    let name = display_name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(AppError::bad_input("display_name", "Give the vault a name of 1–255 characters."));
    }
    upstream()?
        .post("/v1/vaults", &json!({ "display_name": name }))
        .await
        .map(|v| VaultRow::of(&v))
        .map_err(|e| AppError::upstream("Creating the vault", e))
}

#[access(Admin)]
#[server(endpoint = "vaults/archive", output = JsonResponse)]
pub async fn archive_vault(id: String) -> Result<VaultRow, AppError> {
    let id = segment(&id)?;
    upstream()?
        .post(&format!("/v1/vaults/{id}/archive"), &json!({}))
        .await
        .map(|v| VaultRow::of(&v))
        .map_err(|e| AppError::upstream("Archiving the vault", e))
}

#[access(Admin)]
#[server(endpoint = "vaults/delete", output = JsonResponse)]
pub async fn delete_vault(id: String) -> Result<(), AppError> {
    let id = segment(&id)?;
    delete(&format!("/v1/vaults/{id}"), "Deleting the vault").await
}

/// The credential form. Secret fields are write-only: the page never fills them in.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialForm {
    /// `static_bearer`, `mcp_oauth` or `environment_variable`.
    pub kind: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub mcp_server_url: String,
    /// The secret: bearer token, OAuth access token, or the variable's value.
    #[serde(default)]
    pub secret: String,
    #[serde(default)]
    pub expires_at: String,
    #[serde(default)]
    pub secret_name: String,
    /// `unrestricted` or `limited` (environment variables).
    #[serde(default)]
    pub networking: String,
    #[serde(default)]
    pub allowed_hosts: String,
    #[serde(default)]
    pub inject_header: Option<String>,
    #[serde(default)]
    pub inject_body: Option<String>,
}

/// Prints everything but the secret, so a logged request never holds one.
impl std::fmt::Debug for CredentialForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialForm")
            .field("kind", &self.kind)
            .field("display_name", &self.display_name)
            .field("mcp_server_url", &self.mcp_server_url)
            .field("secret", &"[redacted]")
            .field("secret_name", &self.secret_name)
            .finish_non_exhaustive()
    }
}

impl CredentialForm {
    /// The `auth` object of a create (`creating`) or rotate request.
    pub fn auth(&self, creating: bool) -> Result<Value, AppError> {
        let secret = self.secret.trim();
        if secret.is_empty() {
            return Err(AppError::bad_input(
                "secret",
                "Enter the secret. It is sent to the API and never shown again.",
            ));
        }
        let url = self.mcp_server_url.trim();
        let needs_url = || -> Result<(), AppError> {
            if creating && !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(AppError::bad_input(
                    "mcp_server_url",
                    "Enter the MCP server's URL (https://…); it matches the credential to the agent's MCP server.",
                ));
            }
            Ok(())
        };
        Ok(match self.kind.as_str() {
            "static_bearer" => {
                needs_url()?;
                if creating {
                    json!({ "type": "static_bearer", "mcp_server_url": url, "token": secret })
                } else {
                    json!({ "type": "static_bearer", "token": secret })
                }
            }
            "mcp_oauth" => {
                needs_url()?;
                let mut auth = if creating {
                    json!({ "type": "mcp_oauth", "mcp_server_url": url, "access_token": secret })
                } else {
                    json!({ "type": "mcp_oauth", "access_token": secret })
                };
                if !self.expires_at.trim().is_empty() {
                    auth["expires_at"] = json!(self.expires_at.trim());
                }
                auth
            }
            "environment_variable" => {
                if !creating {
                    return Ok(json!({ "type": "environment_variable", "secret_value": secret }));
                }
                let name = self.secret_name.trim();
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(AppError::bad_input(
                        "secret_name",
                        "Name the variable with letters, digits and _ (e.g. GITHUB_TOKEN).",
                    ));
                }
                let networking = if self.networking == "limited" {
                    let hosts = crate::drafts::entries(&self.allowed_hosts);
                    if hosts.is_empty() || hosts.len() > 16 {
                        return Err(AppError::bad_input("allowed_hosts", "List 1–16 hosts the secret may be sent to."));
                    }
                    json!({ "type": "limited", "allowed_hosts": hosts })
                } else {
                    json!({ "type": "unrestricted" })
                };
                let (header, body) = (self.inject_header.is_some(), self.inject_body.is_some());
                if !header && !body {
                    return Err(AppError::bad_input(
                        "injection",
                        "Choose where the secret may be substituted: headers, bodies or both.",
                    ));
                }
                json!({
                    "type": "environment_variable", "secret_name": name, "secret_value": secret, "networking": networking,
                    "injection_location": { "header": header, "body": body },
                })
            }
            other => return Err(AppError::bad_input("kind", format!("Unknown credential type {other:?}."))),
        })
    }
}

#[access(Admin)]
#[server(endpoint = "vaults/credentials/create", output = JsonResponse)]
pub async fn create_credential(vault_id: String, form: CredentialForm) -> Result<CredentialItem, AppError> {
    let id = segment(&vault_id)?;
    let mut body = json!({ "auth": form.auth(true)? });
    if !form.display_name.trim().is_empty() {
        body["display_name"] = json!(form.display_name.trim());
    }
    upstream()?
        .post(&format!("/v1/vaults/{id}/credentials"), &body)
        .await
        .map(|v| CredentialItem::of(&v))
        .map_err(|e| AppError::upstream("Creating the credential", e))
}

/// Replaces a credential's secret.
#[access(Admin)]
#[server(endpoint = "vaults/credentials/rotate", output = JsonResponse)]
pub async fn rotate_credential(
    vault_id: String,
    credential_id: String,
    form: CredentialForm,
) -> Result<CredentialItem, AppError> {
    let (id, cred) = (segment(&vault_id)?, segment(&credential_id)?);
    upstream()?
        .post(&format!("/v1/vaults/{id}/credentials/{cred}"), &json!({ "auth": form.auth(false)? }))
        .await
        .map(|c| CredentialItem::of(&c))
        .map_err(|e| AppError::upstream("Rotating the credential", e))
}

#[access(Admin)]
#[server(endpoint = "vaults/credentials/archive", output = JsonResponse)]
pub async fn archive_credential(vault_id: String, credential_id: String) -> Result<CredentialItem, AppError> {
    let (id, cred) = (segment(&vault_id)?, segment(&credential_id)?);
    upstream()?
        .post(&format!("/v1/vaults/{id}/credentials/{cred}/archive"), &json!({}))
        .await
        .map(|v| CredentialItem::of(&v))
        .map_err(|e| AppError::upstream("Archiving the credential", e))
}

#[access(Admin)]
#[server(endpoint = "vaults/credentials/delete", output = JsonResponse)]
pub async fn delete_credential(vault_id: String, credential_id: String) -> Result<(), AppError> {
    let (id, cred) = (segment(&vault_id)?, segment(&credential_id)?);
    delete(&format!("/v1/vaults/{id}/credentials/{cred}"), "Deleting the credential").await
}
