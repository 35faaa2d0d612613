//! The environment form: its fields as the browser posts them, and the request they become.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{DraftError, entries, metadata_from_lines};

/// Package managers a cloud environment installs from, in the form's order.
pub const PACKAGE_MANAGERS: [&str; 6] = ["apt", "cargo", "gem", "go", "npm", "pip"];

/// The form's fields. Lists are text, one entry per line (or separated by spaces or commas).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentForm {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `cloud` or `self_hosted`.
    #[serde(default = "cloud")]
    pub kind: String,
    /// `unrestricted` or `limited`.
    #[serde(default = "unrestricted")]
    pub networking: String,
    #[serde(default)]
    pub allowed_hosts: String,
    /// Checkboxes: present when ticked.
    #[serde(default)]
    pub allow_mcp_servers: Option<String>,
    #[serde(default)]
    pub allow_package_managers: Option<String>,
    #[serde(default)]
    pub apt: String,
    #[serde(default)]
    pub cargo: String,
    #[serde(default)]
    pub gem: String,
    #[serde(default)]
    pub go: String,
    #[serde(default)]
    pub npm: String,
    #[serde(default)]
    pub pip: String,
    /// `key=value` lines.
    #[serde(default)]
    pub metadata: String,
}

fn cloud() -> String {
    "cloud".to_owned()
}
fn unrestricted() -> String {
    "unrestricted".to_owned()
}

impl EnvironmentForm {
    pub fn packages(&self, manager: &str) -> &str {
        match manager {
            "apt" => &self.apt,
            "cargo" => &self.cargo,
            "gem" => &self.gem,
            "go" => &self.go,
            "npm" => &self.npm,
            _ => &self.pip,
        }
    }

    /// The body of `POST /v1/environments` (or of an update: the same fields, all replaced).
    pub fn to_request(&self) -> Result<Value, DraftError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(DraftError::new("name", "Give the environment a name."));
        }
        let config = match self.kind.as_str() {
            "self_hosted" => json!({ "type": "self_hosted" }),
            "cloud" => {
                let networking = match self.networking.as_str() {
                    "limited" => {
                        let hosts = entries(&self.allowed_hosts);
                        if let Some(bad) = hosts.iter().find(|h| h.contains('/') || h.contains(':')) {
                            return Err(DraftError::new(
                                "allowed_hosts",
                                format!(
                                    "{bad:?} is not a host name; write hosts like api.example.com, without a scheme or path."
                                ),
                            ));
                        }
                        json!({
                            "type": "limited",
                            "allowed_hosts": hosts,
                            "allow_mcp_servers": self.allow_mcp_servers.is_some(),
                            "allow_package_managers": self.allow_package_managers.is_some(),
                        })
                    }
                    "unrestricted" => json!({ "type": "unrestricted" }),
                    other => {
                        return Err(DraftError::new(
                            "networking",
                            format!("Unknown networking {other:?}; choose unrestricted or limited."),
                        ));
                    }
                };
                let mut packages = Map::new();
                for manager in PACKAGE_MANAGERS {
                    packages.insert(manager.to_owned(), json!(entries(self.packages(manager))));
                }
                let any_packages = packages.values().any(|v| v.as_array().is_some_and(|a| !a.is_empty()));
                if any_packages && self.networking == "limited" && self.allow_package_managers.is_none() {
                    return Err(DraftError::new(
                        "allow_package_managers",
                        "Packages are listed but limited networking blocks the package registries. Tick \"Allow package managers\" or remove the packages.",
                    ));
                }
                json!({ "type": "cloud", "networking": networking, "packages": packages })
            }
            other => {
                return Err(DraftError::new(
                    "kind",
                    format!("Unknown environment type {other:?}; choose cloud or self-hosted."),
                ));
            }
        };
        let mut body = json!({ "name": name, "config": config, "metadata": metadata_from_lines(&self.metadata)? });
        if !self.description.trim().is_empty() {
            body["description"] = json!(self.description.trim());
        }
        Ok(body)
    }

    /// The form filled in from an environment as the API returns it.
    pub fn from_environment(env: &Value) -> Self {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let lines = |v: Option<&Value>| {
            v.and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"))
                .unwrap_or_default()
        };
        let config = env.get("config");
        let networking = config.and_then(|c| c.get("networking"));
        let packages = config.and_then(|c| c.get("packages"));
        let flag = |key: &str| {
            networking.and_then(|n| n.get(key)).and_then(Value::as_bool).unwrap_or(false).then(|| "on".to_owned())
        };
        let metadata = env
            .get("metadata")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join("\n")
            })
            .unwrap_or_default();
        Self {
            name: s(env.get("name")),
            description: s(env.get("description")),
            kind: config.and_then(|c| c.get("type")).and_then(Value::as_str).unwrap_or("cloud").to_owned(),
            networking: networking
                .and_then(|n| n.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("unrestricted")
                .to_owned(),
            allowed_hosts: lines(networking.and_then(|n| n.get("allowed_hosts"))),
            allow_mcp_servers: flag("allow_mcp_servers"),
            allow_package_managers: flag("allow_package_managers"),
            apt: lines(packages.and_then(|p| p.get("apt"))),
            cargo: lines(packages.and_then(|p| p.get("cargo"))),
            gem: lines(packages.and_then(|p| p.get("gem"))),
            go: lines(packages.and_then(|p| p.get("go"))),
            npm: lines(packages.and_then(|p| p.get("npm"))),
            pip: lines(packages.and_then(|p| p.get("pip"))),
            metadata,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limited_cloud_environment_becomes_the_api_request_and_back() {
        let form = EnvironmentForm {
            name: "build".into(),
            kind: "cloud".into(),
            networking: "limited".into(),
            allowed_hosts: "api.example.com\n*.pypi.org".into(),
            allow_package_managers: Some("on".into()),
            pip: "requests==2.32.0, pytest".into(),
            metadata: "team=ops".into(),
            ..Default::default()
        };
        let body = form.to_request().unwrap();
        assert_eq!(body["config"]["networking"]["allowed_hosts"], json!(["api.example.com", "*.pypi.org"]));
        assert_eq!(body["config"]["networking"]["allow_mcp_servers"], false);
        assert_eq!(body["config"]["packages"]["pip"], json!(["requests==2.32.0", "pytest"]));
        assert_eq!(body["metadata"], json!({"team": "ops"}));
        let mut env = body.clone();
        env["id"] = json!("env_1");
        let back = EnvironmentForm::from_environment(&env);
        assert_eq!(back.to_request().unwrap(), body);
    }

    #[test]
    fn mistakes_name_the_field_and_the_fix() {
        let form = EnvironmentForm {
            name: " ".into(),
            kind: "cloud".into(),
            networking: "unrestricted".into(),
            ..Default::default()
        };
        assert_eq!(form.to_request().unwrap_err().field, "name");
        let form = EnvironmentForm {
            name: "x".into(),
            kind: "cloud".into(),
            networking: "limited".into(),
            allowed_hosts: "https://example.com/path".into(),
            ..Default::default()
        };
        assert_eq!(form.to_request().unwrap_err().field, "allowed_hosts");
        let form = EnvironmentForm {
            name: "x".into(),
            kind: "cloud".into(),
            networking: "limited".into(),
            npm: "left-pad".into(),
            ..Default::default()
        };
        assert_eq!(form.to_request().unwrap_err().field, "allow_package_managers");
        let form = EnvironmentForm {
            name: "x".into(),
            kind: "cloud".into(),
            networking: "unrestricted".into(),
            metadata: "novalue".into(),
            ..Default::default()
        };
        assert!(form.to_request().unwrap_err().message.contains("key=value"));
    }
}
