//! Environments: creation, reading, updates, lists, archiving and deletion, and how a config in
//! a request resolves over the stored one.

use protocol::{
    common::Empty,
    environments::{
        CloudConfig, Environment, EnvironmentConfig, EnvironmentConfigParams, EnvironmentCreate, EnvironmentScope,
        EnvironmentTag, EnvironmentUpdate, LimitedNetwork, Networking, NetworkingParams, Packages, PackagesParams,
        PackagesTag,
    },
};
use serde_json::{Value, json};

use super::Paging;
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    resolve,
    store::{from_json, to_json},
};

impl EngineState {
    pub async fn create_environment(&self, body: EnvironmentCreate) -> ApiResult<Value> {
        resolve::name(&body.name, "name")?;
        let metadata = body.metadata.clone().unwrap_or_default();
        resolve::metadata(&metadata)?;
        let at = now();
        let environment = Environment {
            id: new_id("env"),
            archived_at: None,
            config: resolve_config(body.config.as_ref(), None)?,
            created_at: at.text.clone(),
            description: body.description.clone(),
            metadata,
            name: body.name.clone(),
            r#type: EnvironmentTag,
            updated_at: at.text,
            scope: Some(body.scope.as_ref().map(scope_of).transpose()?.unwrap_or(EnvironmentScope::Organization)),
        };
        let json = to_json(&environment)?;
        self.store.insert_object("environments", &environment.id, &json, at.micros).await?;
        self.announce("environment.created", &environment.id);
        Ok(json)
    }

    /// (archived, body) of an environment.
    pub async fn environment(&self, id: &str) -> ApiResult<(bool, Value)> {
        self.store.archivable("environments", "environment", id).await
    }

    /// Applies `body` to an environment that is not archived; answers it.
    pub async fn update_environment(&self, id: &str, body: EnvironmentUpdate) -> ApiResult<Value> {
        let (archived, stored) = self.environment(id).await?;
        if archived {
            return Err(ApiError::invalid(format!("Environment {id} is archived and cannot be changed."))
                .with_code("environment_archived"));
        }
        let mut environment: Environment = from_json(stored)?;
        let before = environment.clone();
        if let Some(name) = &body.name {
            resolve::name(name, "name")?;
            environment.name = name.clone();
        }
        if let Some(description) = &body.description {
            environment.description = description.clone();
        }
        if let Some(config) = &body.config {
            environment.config = resolve_config(Some(config), Some(&environment.config))?;
        }
        if let Some(patch) = &body.metadata {
            resolve::patch_metadata(&mut environment.metadata, patch, true)?;
        }
        if let Some(scope) = &body.scope {
            environment.scope = Some(scope_of(scope)?);
        }
        let changed = environment != before;
        environment.updated_at = now().text;
        let body = to_json(&environment)?;
        self.store.write_environment(id, &body, false).await?;
        if changed {
            self.announce("environment.updated", id);
        }
        Ok(body)
    }

    /// A page of environments, newest first: archived ones only when `include_archived`.
    pub async fn list_environments(&self, include_archived: bool, paging: Paging) -> ApiResult<Value> {
        self.list_archivable("environments", vec![], include_archived, paging).await
    }

    /// Archives an environment (again: no change) and answers it.
    pub async fn archive_environment(&self, id: &str) -> ApiResult<Value> {
        let (archived, mut body) = self.environment(id).await?;
        if !archived {
            let at = now().text;
            body["archived_at"] = json!(at);
            body["updated_at"] = json!(at);
            self.store.write_environment(id, &body, true).await?;
            // Its workers' keys die with it (a key of an archived environment is refused anyway).
            self.revoke_environment_keys(id).await?;
            self.announce("environment.archived", id);
        }
        Ok(body)
    }

    /// Deletes an environment no session that is not archived uses.
    pub async fn delete_environment(&self, id: &str) -> ApiResult<()> {
        self.environment(id).await?;
        let in_use = self.store.sessions_using_environment(id).await?;
        if in_use > 0 {
            return Err(ApiError::conflict(format!(
                "Environment {id} is used by {in_use} session(s) that are not archived; archive or delete them first, or archive the environment instead."
            )));
        }
        self.store.delete_environment(id).await?;
        self.delete_environment_keys(id).await?;
        self.announce("environment.deleted", id);
        Ok(())
    }
}

pub(crate) fn scope_of(scope: &EnvironmentScope) -> ApiResult<EnvironmentScope> {
    match scope {
        EnvironmentScope::Organization => Ok(EnvironmentScope::Organization),
        _ => Err(ApiError::invalid(
            "scope: the embedded engine has one organization and no accounts; use \"organization\".",
        )),
    }
}

/// The resolved config: request fields over the stored ones (or the defaults at creation).
pub(crate) fn resolve_config(
    params: Option<&EnvironmentConfigParams>,
    stored: Option<&EnvironmentConfig>,
) -> ApiResult<EnvironmentConfig> {
    let default_cloud = CloudConfig { networking: Networking::Unrestricted(Empty {}), packages: packages(None, None) };
    match (params, stored) {
        (None, None) => Ok(EnvironmentConfig::Cloud(default_cloud)),
        (None, Some(stored)) => Ok(stored.clone()),
        (Some(EnvironmentConfigParams::Unknown(v)), _) => {
            Err(ApiError::invalid(format!("config.type: unknown config type {v}; use cloud or self_hosted.")))
        }
        (Some(EnvironmentConfigParams::SelfHosted(_)), None | Some(EnvironmentConfig::SelfHosted(_))) => {
            Ok(EnvironmentConfig::SelfHosted(Empty {}))
        }
        (Some(EnvironmentConfigParams::Cloud(cloud)), stored @ (None | Some(EnvironmentConfig::Cloud(_)))) => {
            let base = match stored {
                Some(EnvironmentConfig::Cloud(c)) => c.clone(),
                _ => default_cloud,
            };
            let networking = match &cloud.networking {
                None => base.networking,
                Some(NetworkingParams::Unrestricted(_)) => Networking::Unrestricted(Empty {}),
                Some(NetworkingParams::Limited(limited)) => {
                    let hosts = limited.allowed_hosts.clone().unwrap_or_default();
                    if hosts.iter().any(|h| h.trim().is_empty() || h.contains('/')) {
                        return Err(ApiError::invalid(
                            "config.networking.allowed_hosts: each entry must be a host name such as api.example.com.",
                        ));
                    }
                    Networking::Limited(LimitedNetwork {
                        allow_mcp_servers: limited.allow_mcp_servers.unwrap_or(false),
                        allow_package_managers: limited.allow_package_managers.unwrap_or(false),
                        allowed_hosts: hosts,
                    })
                }
                Some(NetworkingParams::Unknown(v)) => {
                    return Err(ApiError::invalid(format!(
                        "config.networking.type: unknown networking {v}; use unrestricted or limited."
                    )));
                }
            };
            let packages = packages(cloud.packages.as_ref(), Some(&base.packages));
            if let Networking::Limited(limited) = &networking {
                let any = [&packages.apt, &packages.cargo, &packages.gem, &packages.go, &packages.npm, &packages.pip]
                    .iter()
                    .any(|l| !l.is_empty());
                if any && !limited.allow_package_managers {
                    return Err(ApiError::invalid(
                        "config: packages need allow_package_managers: true when networking is limited.",
                    ));
                }
            }
            Ok(EnvironmentConfig::Cloud(CloudConfig { networking, packages }))
        }
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "config.type cannot change after the environment is created; create a new environment instead.",
        )
        .with_code("invalid_config_type_change")),
    }
}

fn packages(params: Option<&PackagesParams>, stored: Option<&Packages>) -> Packages {
    let empty = Packages {
        apt: vec![],
        cargo: vec![],
        gem: vec![],
        go: vec![],
        npm: vec![],
        pip: vec![],
        r#type: Some(PackagesTag),
    };
    let base = stored.cloned().unwrap_or(empty);
    let Some(p) = params else { return base };
    let pick = |new: &Option<Vec<String>>, old: &Vec<String>| new.clone().unwrap_or_else(|| old.clone());
    Packages {
        apt: pick(&p.apt, &base.apt),
        cargo: pick(&p.cargo, &base.cargo),
        gem: pick(&p.gem, &base.gem),
        go: pick(&p.go, &base.go),
        npm: pick(&p.npm, &base.npm),
        pip: pick(&p.pip, &base.pip),
        r#type: Some(PackagesTag),
    }
}
