//! Vaults and their credentials: the checks the API makes on them, and their rows in the store
//! (`store::vaults`).
//!
//! Secrets (`access_token`, `refresh_token`, `client_secret`, `token`, `secret_value`) are taken
//! from request bodies into [`Secrets`] at once and stored apart from the credential's body; no
//! answer, error message included, ever contains one.

use std::net::Ipv4Addr;

use protocol::{
    common::Empty,
    vaults::{
        Credential, CredentialAuth, CredentialAuthCreate, CredentialAuthUpdate, CredentialCreate, CredentialNetworking,
        CredentialTag, CredentialUpdate, CredentialValidation, CredentialValidationTag, EnvironmentVariableAuth,
        InjectionLocation, InjectionLocationParams, McpOauthAuth, McpOauthRefresh, McpOauthRefreshUpdate,
        McpOauthUpdate, StaticBearerAuth, TokenEndpointAuth, TokenEndpointAuthCreate, TokenEndpointAuthUpdate,
        ValidationStatus, Vault, VaultCreate, VaultTag, VaultUpdate,
    },
};
use serde_json::{Value, json};

use super::Paging;
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{format_micros, new_id, now, parse_datetime},
    resolve,
    store::{
        Filter, from_json, to_json,
        vaults::{AddCredential, Secrets},
    },
};

/// Most hosts an `environment_variable` credential's `limited` networking may list.
const MAX_ALLOWED_HOSTS: usize = 16;
/// Longest `display_name` of a vault or credential.
const MAX_DISPLAY_NAME: usize = 255;
/// Longest URL (`mcp_server_url`, `token_endpoint`).
const MAX_URL: usize = 2048;

impl EngineState {
    /// Creates a vault; answers it.
    pub async fn create_vault(&self, body: VaultCreate) -> ApiResult<Value> {
        display_name(&body.display_name, "display_name")?;
        let metadata = body.metadata.unwrap_or_default();
        resolve::metadata(&metadata)?;
        let at = now();
        let vault = Vault {
            id: new_id("vlt"),
            archived_at: None,
            created_at: at.text.clone(),
            display_name: body.display_name,
            metadata,
            r#type: VaultTag,
            updated_at: at.text,
        };
        let json = vault_json(&vault)?;
        self.store.insert_object("vaults", &vault.id, &json, at.micros).await?;
        self.announce("vault.created", &vault.id);
        Ok(json)
    }

    /// A vault as the API answers it.
    pub async fn vault(&self, id: &str) -> ApiResult<Value> {
        Ok(self.store.vault(id).await?.1)
    }

    /// Applies `body` to a vault that is not archived; answers it.
    pub async fn update_vault(&self, id: &str, body: VaultUpdate) -> ApiResult<Value> {
        let (archived, stored) = self.store.vault(id).await?;
        if archived {
            return Err(ApiError::invalid(format!("Vault {id} is archived and cannot be changed.")));
        }
        let mut vault: Vault = from_json(stored)?;
        if let Some(name) = &body.display_name {
            display_name(name, "display_name")?;
            vault.display_name = name.clone();
        }
        if let Some(patch) = &body.metadata {
            resolve::patch_metadata(&mut vault.metadata, patch, false)?;
        }
        vault.updated_at = now().text;
        let json = vault_json(&vault)?;
        self.store.write_vault(id, &json).await?;
        Ok(json)
    }

    /// A page of vaults, newest first: archived ones only when `include_archived`.
    pub async fn list_vaults(&self, include_archived: bool, paging: Paging) -> ApiResult<Value> {
        self.list_archivable("vaults", vec![], include_archived, paging).await
    }

    /// Archives a vault (again: no change) with every credential in it, as the API does: their
    /// secrets are forgotten, and no credential can be added to an archived vault.
    pub async fn archive_vault(&self, id: &str) -> ApiResult<Value> {
        let (archived, mut body) = self.store.vault(id).await?;
        if !archived {
            let at = now().text;
            body["archived_at"] = json!(at);
            body["updated_at"] = json!(at);
            let credentials = self.store.archive_vault(id, &body, &at).await?;
            self.announce("vault.archived", id);
            for credential in &credentials {
                self.announce_credential("vault_credential.archived", id, credential);
            }
        }
        Ok(body)
    }

    /// Deletes a vault with every credential in it.
    pub async fn delete_vault(&self, id: &str) -> ApiResult<()> {
        let Some(credentials) = self.store.delete_vault(id).await? else {
            return Err(ApiError::not_found("vault", id));
        };
        self.announce("vault.deleted", id);
        for credential in &credentials {
            self.announce_credential("vault_credential.deleted", id, credential);
        }
        Ok(())
    }

    /// Creates a credential in a vault that is not archived; answers it (never its secrets).
    pub async fn create_credential(&self, vault_id: &str, body: CredentialCreate) -> ApiResult<Value> {
        // A missing vault is a 404 before anything in the body is judged.
        self.store.vault(vault_id).await?;
        let (auth, secrets) = auth_of_create(&body.auth)?;
        if let Some(name) = &body.display_name {
            display_name(name, "display_name")?;
        }
        let metadata = body.metadata.unwrap_or_default();
        resolve::metadata(&metadata)?;
        let at = now();
        let credential = Credential {
            id: new_id("vcrd"),
            archived_at: None,
            auth,
            created_at: at.text.clone(),
            metadata,
            r#type: CredentialTag,
            updated_at: at.text,
            vault_id: vault_id.to_owned(),
            display_name: body.display_name,
        };
        let json = credential_json(&credential)?;
        match self.store.insert_credential(vault_id, &credential.id, &json, &secrets, at.micros).await? {
            AddCredential::Added => {
                self.announce_credential("vault_credential.created", vault_id, &credential.id);
                Ok(json)
            }
            AddCredential::NoVault => Err(ApiError::not_found("vault", vault_id)),
            AddCredential::VaultArchived => Err(ApiError::invalid(format!(
                "Vault {vault_id} is archived: no credentials can be added to it. Create a new vault instead."
            ))),
        }
    }

    /// A credential of a vault as the API answers it.
    pub async fn credential(&self, vault_id: &str, id: &str) -> ApiResult<Value> {
        self.store.vault(vault_id).await?;
        Ok(self.store.credential(vault_id, id).await?.body)
    }

    /// Applies `body` to a credential (`raw_auth`: its `auth` as sent, for the fields fixed at
    /// creation, which the update types do not carry); neither it nor its vault may be archived.
    pub async fn update_credential(
        &self,
        vault_id: &str,
        id: &str,
        body: CredentialUpdate,
        raw_auth: &Value,
    ) -> ApiResult<Value> {
        let (vault_archived, _) = self.store.vault(vault_id).await?;
        let stored = self.store.credential(vault_id, id).await?;
        if vault_archived {
            return Err(ApiError::invalid(format!(
                "Vault {vault_id} is archived: the credentials in it cannot be changed."
            )));
        }
        if stored.archived {
            return Err(ApiError::invalid(format!(
                "Credential {id} is archived and cannot be changed; create a new credential instead."
            )));
        }
        let mut credential: Credential = from_json(stored.body)?;
        let mut secrets = stored.secrets;
        if let Some(update) = &body.auth {
            apply_auth_update(id, &mut credential.auth, &mut secrets, update, raw_auth)?;
        }
        match &body.display_name {
            None => {}
            Some(None) => credential.display_name = None,
            Some(Some(name)) => {
                display_name(name, "display_name")?;
                credential.display_name = Some(name.clone());
            }
        }
        if let Some(patch) = &body.metadata {
            resolve::patch_metadata(&mut credential.metadata, patch, false)?;
        }
        credential.updated_at = now().text;
        let json = credential_json(&credential)?;
        self.store.write_credential(vault_id, id, &json, &secrets).await?;
        Ok(json)
    }

    /// A page of a vault's credentials, newest first: archived ones only when `include_archived`.
    pub async fn list_credentials(&self, vault_id: &str, include_archived: bool, paging: Paging) -> ApiResult<Value> {
        let filters = vec![Filter::Eq("vault_id", vault_id.to_owned())];
        self.list_archivable("vault_credentials", filters, include_archived, paging).await
    }

    /// Archives a credential (again: no change) and forgets its secrets.
    pub async fn archive_credential(&self, vault_id: &str, id: &str) -> ApiResult<Value> {
        self.store.vault(vault_id).await?;
        let stored = self.store.credential(vault_id, id).await?;
        let mut body = stored.body;
        if !stored.archived {
            let at = now().text;
            body["archived_at"] = json!(at);
            body["updated_at"] = json!(at);
            self.store.archive_credential(vault_id, id, &body).await?;
            self.announce_credential("vault_credential.archived", vault_id, id);
        }
        Ok(body)
    }

    /// Deletes a credential.
    pub async fn delete_credential(&self, vault_id: &str, id: &str) -> ApiResult<()> {
        self.store.vault(vault_id).await?;
        if !self.store.delete_credential(vault_id, id).await? {
            return Err(ApiError::not_found("credential", id));
        }
        self.announce_credential("vault_credential.deleted", vault_id, id);
        Ok(())
    }

    /// `mcp_oauth_validate`: the engine does not probe the MCP server or the token endpoint here
    /// (it does when a session uses the credential, `runtime::mcp`). It answers with status
    /// `unknown` (no probe, no refresh attempted).
    pub async fn validate_credential(&self, vault_id: &str, id: &str) -> ApiResult<Value> {
        self.store.vault(vault_id).await?;
        let stored = self.store.credential(vault_id, id).await?;
        let credential: Credential = from_json(stored.body)?;
        if !matches!(credential.auth, CredentialAuth::McpOauth(_)) {
            return Err(ApiError::invalid(format!(
                "Credential {id} is a {} credential; only mcp_oauth credentials can be validated.",
                credential.auth.type_name()
            )));
        }
        if stored.archived {
            return Err(ApiError::invalid(format!("Credential {id} is archived; there is nothing left to validate.")));
        }
        let validation = CredentialValidation {
            credential_id: id.to_owned(),
            has_refresh_token: stored.secrets.refresh_token.is_some(),
            mcp_probe: None,
            refresh: None,
            status: ValidationStatus::Unknown,
            r#type: CredentialValidationTag,
            validated_at: now().text,
            vault_id: vault_id.to_owned(),
        };
        let mut json = to_json(&validation)?;
        json["mcp_probe"] = Value::Null;
        json["refresh"] = Value::Null;
        Ok(json)
    }
}

// --- answers -------------------------------------------------------------------------------------

/// A vault as the API writes it (`archived_at` always present, `null` until archived).
fn vault_json(vault: &Vault) -> ApiResult<Value> {
    let mut json = to_json(vault)?;
    json["archived_at"] = json!(vault.archived_at);
    Ok(json)
}

/// A credential as the API writes it (`archived_at` and `display_name` always present).
fn credential_json(credential: &Credential) -> ApiResult<Value> {
    let mut json = to_json(credential)?;
    json["archived_at"] = json!(credential.archived_at);
    json["display_name"] = json!(credential.display_name);
    Ok(json)
}

// --- checks --------------------------------------------------------------------------------------

/// A display name: not blank, at most [`MAX_DISPLAY_NAME`] characters.
fn display_name(name: &str, at: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_DISPLAY_NAME {
        return Err(ApiError::invalid(format!("{at} must be 1–{MAX_DISPLAY_NAME} characters and not blank.")));
    }
    Ok(())
}

/// A secret must be given; it is never quoted back.
fn secret(value: &str, at: &str) -> ApiResult<String> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(format!("{at} must not be empty.")));
    }
    Ok(value.to_owned())
}

/// An http(s) URL with a host, no spaces or control characters, at most [`MAX_URL`] bytes.
fn http_url(url: &str, at: &str) -> ApiResult<()> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host = rest.and_then(|r| r.split(['/', '?', '#']).next()).unwrap_or("");
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if host.is_empty() || !clean || url.len() > MAX_URL {
        return Err(ApiError::invalid(format!(
            "{at} must be an http(s) URL of at most {MAX_URL} bytes, such as https://mcp.example.com/mcp; got {url:?}."
        )));
    }
    Ok(())
}

/// An RFC 3339 time in the future, in the engine's own form.
fn future_time(text: &str, at: &str) -> ApiResult<String> {
    let micros = parse_datetime(text)
        .ok_or_else(|| ApiError::invalid(format!("{at} must be an RFC 3339 datetime, not {text:?}.")))?;
    if micros <= now().micros {
        return Err(ApiError::invalid(format!("{at} must be in the future; {text:?} has passed.")));
    }
    Ok(format_micros(micros))
}

/// An environment variable's name: a letter or `_`, then letters, digits and `_`.
fn secret_name(name: &str) -> ApiResult<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') || name.len() > 256 {
        return Err(ApiError::invalid(format!(
            "auth.secret_name must be an environment variable name (a letter or _, then letters, digits and _; at most 256), not {name:?}."
        )));
    }
    Ok(())
}

/// A bare host name, an IPv4 address, or a `*.` wildcard over a host name.
fn allowed_host(entry: &str) -> bool {
    let (wildcard, name) = match entry.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, entry),
    };
    let labels: Vec<&str> = name.split('.').collect();
    let numeric = labels.last().is_some_and(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()));
    if numeric {
        return !wildcard && name.parse::<Ipv4Addr>().is_ok();
    }
    name.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn networking(value: &CredentialNetworking, at: &str) -> ApiResult<CredentialNetworking> {
    match value {
        CredentialNetworking::Unrestricted(_) => Ok(value.clone()),
        CredentialNetworking::Limited(limited) => {
            let hosts = &limited.allowed_hosts;
            if hosts.is_empty() {
                return Err(ApiError::invalid(format!(
                    "{at}.allowed_hosts: list at least one host, or use networking unrestricted."
                )));
            }
            if hosts.len() > MAX_ALLOWED_HOSTS {
                return Err(ApiError::invalid(format!(
                    "{at}.allowed_hosts: at most {MAX_ALLOWED_HOSTS} hosts, not {}.",
                    hosts.len()
                )));
            }
            if let Some((i, host)) = hosts.iter().enumerate().find(|(_, h)| !allowed_host(h)) {
                return Err(ApiError::invalid(format!(
                    "{at}.allowed_hosts[{i}]: {host:?} is not a host name (api.example.com), an IPv4 address or a *. wildcard (*.example.com); URLs, ports, paths and IPv6 are not accepted."
                )));
            }
            Ok(value.clone())
        }
        CredentialNetworking::Unknown(v) => Err(ApiError::invalid(format!(
            "{at}.type: unknown networking {}; use unrestricted or limited.",
            type_of(v)
        ))),
    }
}

/// Injection locations: the given ones over `base`; at least one must stay enabled.
fn injection(params: Option<&InjectionLocationParams>, base: InjectionLocation) -> ApiResult<InjectionLocation> {
    let mut location = base;
    if let Some(params) = params {
        location.body = params.body.unwrap_or(location.body);
        location.header = params.header.unwrap_or(location.header);
    }
    if !location.body && !location.header {
        return Err(ApiError::invalid(
            "auth.injection_location: enable body, header or both; with neither the secret is never substituted.",
        ));
    }
    Ok(location)
}

fn type_of(value: &Value) -> String {
    match value.get("type") {
        Some(Value::String(t)) => format!("{t:?}"),
        _ => "(no type)".to_owned(),
    }
}

fn unknown_auth(value: &Value) -> ApiError {
    ApiError::invalid(format!(
        "auth.type: unknown credential type {}; use mcp_oauth, static_bearer or environment_variable.",
        type_of(value)
    ))
}

/// The stored `auth` and the secrets of a create body.
fn auth_of_create(auth: &CredentialAuthCreate) -> ApiResult<(CredentialAuth, Secrets)> {
    let mut secrets = Secrets::default();
    let auth = match auth {
        CredentialAuthCreate::McpOauth(oauth) => {
            http_url(&oauth.mcp_server_url, "auth.mcp_server_url")?;
            secrets.access_token = Some(secret(&oauth.access_token, "auth.access_token")?);
            let expires_at = oauth.expires_at.as_deref().map(|t| future_time(t, "auth.expires_at")).transpose()?;
            let refresh = match &oauth.refresh {
                None => None,
                Some(refresh) => {
                    if refresh.client_id.trim().is_empty() {
                        return Err(ApiError::invalid("auth.refresh.client_id must not be empty."));
                    }
                    http_url(&refresh.token_endpoint, "auth.refresh.token_endpoint")?;
                    secrets.refresh_token = Some(secret(&refresh.refresh_token, "auth.refresh.refresh_token")?);
                    let token_endpoint_auth = match &refresh.token_endpoint_auth {
                        TokenEndpointAuthCreate::None(_) => TokenEndpointAuth::None(Empty {}),
                        TokenEndpointAuthCreate::ClientSecretBasic(c) => {
                            secrets.client_secret =
                                Some(secret(&c.client_secret, "auth.refresh.token_endpoint_auth.client_secret")?);
                            TokenEndpointAuth::ClientSecretBasic(Empty {})
                        }
                        TokenEndpointAuthCreate::ClientSecretPost(c) => {
                            secrets.client_secret =
                                Some(secret(&c.client_secret, "auth.refresh.token_endpoint_auth.client_secret")?);
                            TokenEndpointAuth::ClientSecretPost(Empty {})
                        }
                        TokenEndpointAuthCreate::Unknown(v) => {
                            return Err(ApiError::invalid(format!(
                                "auth.refresh.token_endpoint_auth.type: unknown {}; use none, client_secret_basic or client_secret_post.",
                                type_of(v)
                            )));
                        }
                    };
                    Some(McpOauthRefresh {
                        client_id: refresh.client_id.clone(),
                        token_endpoint: refresh.token_endpoint.clone(),
                        token_endpoint_auth,
                        resource: refresh.resource.clone().filter(|r| !r.is_empty()),
                        scope: refresh.scope.clone().filter(|s| !s.is_empty()),
                    })
                }
            };
            CredentialAuth::McpOauth(McpOauthAuth { mcp_server_url: oauth.mcp_server_url.clone(), expires_at, refresh })
        }
        CredentialAuthCreate::StaticBearer(bearer) => {
            http_url(&bearer.mcp_server_url, "auth.mcp_server_url")?;
            secrets.token = Some(secret(&bearer.token, "auth.token")?);
            CredentialAuth::StaticBearer(StaticBearerAuth { mcp_server_url: bearer.mcp_server_url.clone() })
        }
        CredentialAuthCreate::EnvironmentVariable(variable) => {
            secret_name(&variable.secret_name)?;
            secrets.secret_value = Some(secret(&variable.secret_value, "auth.secret_value")?);
            // Unless told otherwise, the secret is substituted wherever its placeholder appears.
            let everywhere = InjectionLocation { body: true, header: true };
            CredentialAuth::EnvironmentVariable(EnvironmentVariableAuth {
                injection_location: injection(variable.injection_location.as_ref(), everywhere)?,
                networking: networking(&variable.networking, "auth.networking")?,
                secret_name: variable.secret_name.clone(),
            })
        }
        CredentialAuthCreate::Unknown(v) => return Err(unknown_auth(v)),
    };
    Ok((auth, secrets))
}

/// Refuses a change to a field that is fixed at creation. Sending the stored value is no change.
fn immutable(sent: &Value, stored: &str, at: &str, hint: &str) -> ApiResult<()> {
    if sent.as_str() == Some(stored) {
        return Ok(());
    }
    Err(ApiError::invalid(format!("{at} cannot change after the credential is created; {hint}")))
}

/// Applies an `auth` update of the stored type; the type itself never changes.
fn apply_auth_update(
    id: &str,
    stored: &mut CredentialAuth,
    secrets: &mut Secrets,
    update: &CredentialAuthUpdate,
    raw: &Value,
) -> ApiResult<()> {
    let absent = |key: &str| raw.get(key).is_none();
    match (stored, update) {
        (_, CredentialAuthUpdate::Unknown(v)) => return Err(unknown_auth(v)),
        (CredentialAuth::McpOauth(oauth), CredentialAuthUpdate::McpOauth(u)) => {
            update_mcp_oauth(id, oauth, secrets, u, raw)?;
        }
        (CredentialAuth::StaticBearer(bearer), CredentialAuthUpdate::StaticBearer(u)) => {
            if !absent("mcp_server_url") {
                immutable(
                    &raw["mcp_server_url"],
                    &bearer.mcp_server_url,
                    "auth.mcp_server_url",
                    "create a new credential for another server.",
                )?;
            }
            if let Some(token) = &u.token {
                secrets.token = Some(secret(token, "auth.token")?);
            }
        }
        (CredentialAuth::EnvironmentVariable(variable), CredentialAuthUpdate::EnvironmentVariable(u)) => {
            if !absent("secret_name") {
                immutable(
                    &raw["secret_name"],
                    &variable.secret_name,
                    "auth.secret_name",
                    "create a new credential for another variable.",
                )?;
            }
            if let Some(value) = &u.secret_value {
                secrets.secret_value = Some(secret(value, "auth.secret_value")?);
            }
            if let Some(replacement) = &u.networking {
                variable.networking = networking(replacement, "auth.networking")?;
            }
            variable.injection_location =
                injection(u.injection_location.as_ref(), variable.injection_location.clone())?;
        }
        (stored, update) => {
            return Err(ApiError::invalid(format!(
                "auth.type cannot change: credential {id} is {}, not {}. Create a new credential of type {} instead.",
                stored.type_name(),
                update.type_name(),
                update.type_name()
            )));
        }
    }
    Ok(())
}

/// Applies an `mcp_oauth` update (`raw`: the update as sent) to credential `id`'s stored auth.
fn update_mcp_oauth(
    id: &str,
    oauth: &mut McpOauthAuth,
    secrets: &mut Secrets,
    update: &McpOauthUpdate,
    raw: &Value,
) -> ApiResult<()> {
    if raw.get("mcp_server_url").is_some() {
        immutable(
            &raw["mcp_server_url"],
            &oauth.mcp_server_url,
            "auth.mcp_server_url",
            "create a new credential for another server.",
        )?;
    }
    if let Some(token) = &update.access_token {
        secrets.access_token = Some(secret(token, "auth.access_token")?);
    }
    match &update.expires_at {
        None => {}
        Some(None) => oauth.expires_at = None,
        Some(Some(t)) => oauth.expires_at = Some(future_time(t, "auth.expires_at")?),
    }
    if let Some(r) = &update.refresh {
        let Some(refresh) = oauth.refresh.as_mut() else {
            return Err(ApiError::invalid(format!(
                "auth.refresh: credential {id} was created without refresh settings, so there are none to update; create a new credential with refresh instead."
            )));
        };
        update_refresh(id, refresh, secrets, r, &raw["refresh"])?;
    }
    Ok(())
}

/// Applies a `refresh` update (`raw`: as sent) to the refresh settings of credential `id`.
fn update_refresh(
    id: &str,
    refresh: &mut McpOauthRefresh,
    secrets: &mut Secrets,
    update: &McpOauthRefreshUpdate,
    raw: &Value,
) -> ApiResult<()> {
    if raw.get("client_id").is_some() {
        immutable(
            &raw["client_id"],
            &refresh.client_id,
            "auth.refresh.client_id",
            "create a new credential for another OAuth client.",
        )?;
    }
    if let Some(token) = &update.refresh_token {
        secrets.refresh_token = Some(secret(token, "auth.refresh.refresh_token")?);
    }
    if let Some(scope) = &update.scope {
        refresh.scope = Some(scope.clone()).filter(|s| !s.is_empty());
    }
    match &update.token_endpoint_auth {
        None => {}
        Some(TokenEndpointAuthUpdate::Unknown(v)) => {
            return Err(ApiError::invalid(format!(
                "auth.refresh.token_endpoint_auth.type: {} cannot be set on update; use client_secret_basic or client_secret_post to replace the client secret.",
                type_of(v)
            )));
        }
        Some(TokenEndpointAuthUpdate::ClientSecretBasic(c) | TokenEndpointAuthUpdate::ClientSecretPost(c)) => {
            // The stored method stays, whichever of the two secret methods is named.
            if matches!(refresh.token_endpoint_auth, TokenEndpointAuth::None(_)) {
                return Err(ApiError::invalid(format!(
                    "auth.refresh.token_endpoint_auth: credential {id} authenticates to its token endpoint with none, so it has no client secret to replace; create a new credential instead."
                )));
            }
            if let Some(client_secret) = &c.client_secret {
                secrets.client_secret = Some(secret(client_secret, "auth.refresh.token_endpoint_auth.client_secret")?);
            }
        }
    }
    Ok(())
}
