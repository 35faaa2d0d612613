//! An environment's `packages`, installed into the session's own prefix: `/opt/packages` in the
//! sandbox, a folder on the session's disk (`/usr` is the host's, read-only). They are installed
//! before the session's first tool call, and again when the environment's list changes, inside
//! the sandbox itself (the same limits, disk and egress proxy as any call: an install script is
//! agent-chosen code). Every call then finds them on its `PATH`, `PYTHONPATH`, `NODE_PATH` and
//! `GEM_PATH`.
//!
//! - `pip`: `python3 -m pip install --target /opt/packages/python`;
//! - `npm`: `npm install --global --prefix /opt/packages/npm`;
//! - `cargo`, `gem`, `go`: `cargo install --root`, `gem install --install-dir`, `go install`
//!   with `GOBIN`, when the host has the tool;
//! - `apt`: refused in words (it installs into `/usr`).
//!
//! What was installed, or why not, is told to the agent before the first call's output.

use serde_json::Value;

use crate::config::ConfigError;

/// Where the packages are inside the sandbox.
pub const PREFIX: &str = "/opt/packages";
/// The name of the record of what was installed, in the session's packages folder.
pub const RECORD: &str = ".installed.json";

/// Package mirrors the engine installs from instead of the public registries (for hosts without
/// the internet, or with a registry of their own). Their hosts are opened to `limited`
/// environments with `allow_package_managers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors {
    /// A PyPI "simple" index (`SWITCHBOARD_SANDBOX_PIP_INDEX_URL`).
    pub pip: Option<String>,
    /// An npm registry (`SWITCHBOARD_SANDBOX_NPM_REGISTRY`).
    pub npm: Option<String>,
}

impl Mirrors {
    /// From `SWITCHBOARD_SANDBOX_PIP_INDEX_URL` and `SWITCHBOARD_SANDBOX_NPM_REGISTRY`.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let url = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(value) => match host_of(&value) {
                    Some(_) => Ok(Some(value)),
                    None => Err(ConfigError::MirrorNotWeb { name, value }),
                },
            }
        };
        Ok(Self { pip: url("SWITCHBOARD_SANDBOX_PIP_INDEX_URL")?, npm: url("SWITCHBOARD_SANDBOX_NPM_REGISTRY")? })
    }

    /// Where the mirrors are (host, port), for the egress proxy. The operator named them, so the
    /// proxy connects to them even at a private address.
    pub fn endpoints(&self) -> Vec<(String, u16)> {
        [&self.pip, &self.npm].into_iter().flatten().filter_map(|url| endpoint_of(url)).collect()
    }
}

/// The host (lower case) and port of an `http(s)://` URL.
fn endpoint_of(url: &str) -> Option<(String, u16)> {
    let uri: axum::http::Uri = url.parse().ok()?;
    let port = match uri.scheme_str() {
        Some("http") => 80,
        Some("https") => 443,
        _ => return None,
    };
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    Some((host, uri.port_u16().unwrap_or(port)))
}

fn host_of(url: &str) -> Option<String> {
    endpoint_of(url).map(|(host, _)| host)
}

/// A word as the shell reads it, whatever it holds.
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// One manager's install: what it is called and the bash script that installs its packages, or
/// why it cannot.
#[derive(Debug, PartialEq)]
pub enum Step {
    Run { manager: &'static str, specs: Vec<String>, script: String },
    Refuse { manager: &'static str, specs: Vec<String>, why: String },
}

/// The steps an environment's `packages` (as the API returns them) need.
pub fn steps(packages: &Value, mirrors: &Mirrors) -> Vec<Step> {
    let list = |manager: &str| -> Vec<String> {
        packages[manager].as_array().into_iter().flatten().filter_map(|s| s.as_str()).map(str::to_owned).collect()
    };
    let words = |specs: &[String]| specs.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(" ");
    let needs = |tool: &str| {
        format!(
            "command -v {tool} >/dev/null || {{ echo '{tool} is not installed on the engine'\"'\"'s host, so its packages cannot be installed.'; exit 127; }}\n"
        )
    };
    let mut steps = Vec::new();
    let pip = list("pip");
    if !pip.is_empty() {
        let mut options = String::new();
        if let Some(index) = &mirrors.pip {
            options.push_str(&format!(" --index-url {}", quoted(index)));
            if index.starts_with("http://")
                && let Some(host) = host_of(index)
            {
                options.push_str(&format!(" --trusted-host {}", quoted(&host)));
            }
        }
        let script = format!(
            "{}python3 -m pip install --disable-pip-version-check --no-input --no-cache-dir --progress-bar off --target {PREFIX}/python{options} -- {}",
            needs("python3"),
            words(&pip)
        );
        steps.push(Step::Run { manager: "pip", specs: pip, script });
    }
    let npm = list("npm");
    if !npm.is_empty() {
        let registry = mirrors.npm.as_ref().map(|r| format!(" --registry {}", quoted(r))).unwrap_or_default();
        let script = format!(
            "{}npm_config_cache=/tmp/npm-cache npm install --global --prefix {PREFIX}/npm --no-audit --no-fund --loglevel=error{registry} -- {}",
            needs("npm"),
            words(&npm)
        );
        steps.push(Step::Run { manager: "npm", specs: npm, script });
    }
    let cargo = list("cargo");
    if !cargo.is_empty() {
        let script =
            format!("{}CARGO_HOME=/tmp/cargo-home cargo install --root {PREFIX} -- {}", needs("cargo"), words(&cargo));
        steps.push(Step::Run { manager: "cargo", specs: cargo, script });
    }
    let gem = list("gem");
    if !gem.is_empty() {
        let script = format!(
            "{}gem install --no-document --install-dir {PREFIX}/gem --bindir {PREFIX}/bin -- {}",
            needs("gem"),
            words(&gem)
        );
        steps.push(Step::Run { manager: "gem", specs: gem, script });
    }
    let go = list("go");
    if !go.is_empty() {
        let script = format!(
            "{}for spec in {}; do GOPATH=/tmp/go GOCACHE=/tmp/go-cache GOBIN={PREFIX}/bin go install \"$spec\" || exit; done",
            needs("go"),
            words(&go)
        );
        steps.push(Step::Run { manager: "go", specs: go, script });
    }
    let apt = list("apt");
    if !apt.is_empty() {
        steps.push(Step::Refuse {
            manager: "apt",
            specs: apt,
            why: "apt installs into /usr, which the embedded engine's sandboxes share read-only with the host; install them on the host, or use pip or npm".to_owned(),
        });
    }
    steps
}

/// The environment every call gets, so that it finds the packages.
pub fn variables() -> Vec<(&'static str, String)> {
    vec![
        ("PATH", format!("{PREFIX}/bin:{PREFIX}/npm/bin:/usr/local/bin:/usr/bin:/bin")),
        ("PYTHONPATH", format!("{PREFIX}/python")),
        ("NODE_PATH", format!("{PREFIX}/npm/lib/node_modules")),
        ("GEM_PATH", format!("{PREFIX}/gem")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_manager_installs_into_the_prefix_with_its_specs_quoted_and_apt_is_refused() {
        let packages = json!({ "pip": ["pandas==2.2.0", "x'; rm -rf /"], "npm": ["left-pad"], "apt": ["cowsay"],
                               "cargo": [], "gem": [], "go": [] });
        let mirrors = Mirrors { pip: Some("http://mirror.test:8080/simple".into()), npm: None };
        let steps = steps(&packages, &mirrors);
        assert_eq!(steps.len(), 3);
        let Step::Run { manager: "pip", script, .. } = &steps[0] else { panic!("{steps:?}") };
        assert!(script.contains("--target /opt/packages/python --index-url 'http://mirror.test:8080/simple' --trusted-host 'mirror.test' -- 'pandas==2.2.0' 'x'\\''; rm -rf /'"), "{script}");
        let Step::Run { manager: "npm", script, .. } = &steps[1] else { panic!("{steps:?}") };
        assert!(script.contains("--prefix /opt/packages/npm") && script.ends_with("-- 'left-pad'"), "{script}");
        assert!(matches!(&steps[2], Step::Refuse { manager: "apt", why, .. } if why.contains("read-only")));
        assert!(super::steps(&json!({ "pip": [], "apt": [] }), &mirrors).is_empty());
    }

    #[test]
    fn mirrors_are_urls_and_give_their_hosts() {
        let get = |name: &str| match name {
            "SWITCHBOARD_SANDBOX_PIP_INDEX_URL" => Some("https://PyPI.Example.com:8443/simple".to_owned()),
            _ => None,
        };
        let mirrors = Mirrors::from_env(get).unwrap();
        assert_eq!(mirrors.endpoints(), vec![("pypi.example.com".to_owned(), 8443)]);
        let bad = |_: &str| Some("pypi.example.com".to_owned());
        let refused = ConfigError::MirrorNotWeb {
            name: "SWITCHBOARD_SANDBOX_PIP_INDEX_URL",
            value: "pypi.example.com".to_owned(),
        };
        assert_eq!(Mirrors::from_env(bad).unwrap_err(), refused);
    }
}
