//! The engine's commands: `serve` (the engine on its own) and `sandbox-tool` (what runs inside
//! the sandbox). Both the `switchboard-engine` and the `switchboard` binaries offer them.

use std::{io::Write, net::SocketAddr, path::PathBuf, process::ExitCode};

use crate::{Engine, EngineConfig, config::ConfigError};

/// Switchboard's data directory without `SWITCHBOARD_DATA_DIR`; the engine keeps its own under
/// `<data>/engine`, whether it runs inside the console or on its own.
pub const DEFAULT_DATA_DIR: &str = "data";

/// `sandbox-tool <name>`: runs one file tool inside the sandbox; `sandbox-tool net <program>…`
/// runs a command with the sandbox's network relay (see [`crate::sandbox::egress`]).
pub fn sandbox_tool(args: &[String]) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("net") => ExitCode::from(crate::sandbox::egress::inside(&args[1..]) as u8),
        Some(name) => ExitCode::from(crate::sandbox::tool_main(name) as u8),
        None => {
            eprintln!(
                "usage: sandbox-tool <read|write|edit|glob|grep> (input JSON on stdin)\n       sandbox-tool net <program> [args…]"
            );
            ExitCode::from(2)
        }
    }
}

/// `<SWITCHBOARD_DATA_DIR>/engine` (default `data/engine`): where the engine keeps its data,
/// whether it runs inside the console or on its own.
fn engine_data_dir() -> PathBuf {
    std::env::var_os("SWITCHBOARD_DATA_DIR")
        .map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from)
        .join("engine")
}

/// `environment-key ENV_ID`: issues a key for a self-hosted environment of the engine whose data
/// is in `<SWITCHBOARD_DATA_DIR>/engine` (the console's embedded engine's too), and prints it: the
/// one time it is shown. A running engine takes it at once. `environment-key --list ENV_ID`
/// lists the environment's keys without their values; `environment-key --revoke KEY_ID` revokes
/// one, which a running engine refuses from its next request on.
pub async fn environment_key(args: &[String]) -> ExitCode {
    let usage = || {
        eprintln!(
            "usage: environment-key ENV_ID            issue a key for a self-hosted environment (env_…)\n       environment-key --list ENV_ID     its keys, without their values\n       environment-key --revoke KEY_ID   revoke one (envkey_…)"
        );
        ExitCode::from(2)
    };
    let command = match args {
        [flag, id] if flag == "--list" => KeyCommand::List(id),
        [flag, id] if flag == "--revoke" => KeyCommand::Revoke(id),
        [id] if !id.starts_with('-') => KeyCommand::Issue(id),
        _ => return usage(),
    };
    let data_dir = engine_data_dir();
    if !data_dir.join("engine.db").exists() {
        eprintln!(
            "No engine database in {}: set SWITCHBOARD_DATA_DIR to the data directory of the engine (or console) that serves the environment.",
            data_dir.display()
        );
        return ExitCode::FAILURE;
    }
    let store = match crate::store::Store::open(&data_dir).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("Cannot open the engine's database in {}: {error}", data_dir.display());
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    let outcome = match command {
        KeyCommand::Issue(environment_id) => {
            crate::domain::work::issue_environment_key(&store, environment_id).await.map(|key| {
                let _ = writeln!(out, "{key}");
                eprintln!(
                    "The environment key of {environment_id} is above; it is shown this once (the engine keeps only its hash). Give it to workers in ANTHROPIC_ENVIRONMENT_KEY or a file, never on a command line."
                );
            })
        }
        KeyCommand::List(environment_id) => {
            crate::domain::work::list_environment_keys(&store, environment_id).await.map(|keys| {
                if keys.is_empty() {
                    eprintln!("Environment {environment_id} has no keys; issue one with: environment-key {environment_id}");
                }
                for key in keys {
                    let _ = writeln!(out, "{}", key_line(&key));
                }
            })
        }
        KeyCommand::Revoke(key_id) => {
            crate::domain::work::revoke_environment_key(&store, None, key_id).await.map(|key| {
                let _ = writeln!(out, "{}", key_line(&key));
                eprintln!("Key {key_id} is revoked: a running engine refuses it from its next request on.");
            })
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", error.message);
            ExitCode::FAILURE
        }
    }
}

enum KeyCommand<'a> {
    Issue(&'a str),
    List(&'a str),
    Revoke(&'a str),
}

/// One key as `--list` prints it: id, what it ends with, when it was made and last used, and
/// whether it still works. Never its value.
fn key_line(key: &crate::domain::work::EnvironmentKey) -> String {
    let ends = key.hint.as_deref().map_or_else(|| "(issued before hints)".to_owned(), |h| format!("…{h}"));
    let used = key.last_used_at.as_deref().map_or_else(|| "never used".to_owned(), |at| format!("last used {at}"));
    let state = key.revoked_at.as_deref().map_or_else(|| "live".to_owned(), |at| format!("revoked {at}"));
    format!("{}\t{ends}\tcreated {}\t{used}\t{state}", key.id, key.created_at)
}

/// `serve --listen ADDR`: serves the engine alone. The key is `SWITCHBOARD_ENGINE_KEY`, or a new
/// one printed at start; data lives in `<SWITCHBOARD_DATA_DIR>/engine` (default `data/engine`).
pub async fn serve(args: &[String], shutdown: impl Future<Output = ()> + Send + 'static) -> ExitCode {
    let listen = match listen_address(args) {
        Ok(listen) => listen,
        Err(code) => return code,
    };
    let data_dir = engine_data_dir();
    let (api_key, generated) = match std::env::var("SWITCHBOARD_ENGINE_KEY") {
        Ok(key) if !key.trim().is_empty() => (key.trim().to_owned(), false),
        _ => (crate::generate_api_key(), true),
    };
    let mut config = EngineConfig::new(data_dir.clone(), api_key.clone());
    if let Err(error) = configure_from_env(&mut config) {
        eprintln!("The engine could not start: {error}");
        return ExitCode::FAILURE;
    }
    let engine = match Engine::open(config).await {
        Ok(engine) => engine,
        Err(error) => {
            eprintln!("The engine could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("The engine cannot listen on {listen}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().map_or(listen, |a| a);
    // Written so that a closed stdout (a parent that read the first line and went on) is no
    // reason to stop serving: `println!` would panic on the broken pipe.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "Switchboard engine: serving the Managed Agents API on http://{address}");
    if generated {
        let _ = writeln!(out, "API key (set SWITCHBOARD_ENGINE_KEY to choose one): {api_key}");
    }
    let _ = writeln!(out, "Data directory: {}", data_dir.display());
    let _ = out.flush();
    match axum::serve(listener, engine.router()).with_graceful_shutdown(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("The engine stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The address `--listen ADDR` (or `--listen=ADDR`) names, 127.0.0.1:4010 without one; a usage
/// line and exit code 2 for anything else.
fn listen_address(args: &[String]) -> Result<SocketAddr, ExitCode> {
    let mut listen: SocketAddr = ([127, 0, 0, 1], 4010).into();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let value = match arg.as_str() {
            "--listen" => rest.next().map(String::as_str),
            other => other.strip_prefix("--listen="),
        };
        match value.map(str::parse::<SocketAddr>) {
            Some(Ok(address)) => listen = address,
            Some(Err(_)) | None => {
                eprintln!("usage: engine --listen 127.0.0.1:PORT  ({arg:?} is not an address such as 127.0.0.1:4010)");
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(listen)
}

/// Sets the sandbox limits, model endpoint, package mirrors, webhook and secret key from the
/// environment; nothing is set when any of them is wrong.
fn configure_from_env(config: &mut EngineConfig) -> Result<(), ConfigError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let limits = crate::SandboxLimits::from_env(var)?;
    let model = crate::ModelEndpoint::from_env(var)?;
    let mirrors = crate::sandbox::packages::Mirrors::from_env(var)?;
    let webhook = crate::webhooks::WebhookTarget::from_env(var)?;
    let secret_key = match var("SWITCHBOARD_ENGINE_SECRET_KEY") {
        None => None,
        Some(text) => Some(crate::sealing::SealKey::parse(&text).ok_or(ConfigError::SecretKey)?),
    };
    let work_lease_seconds = match var("SWITCHBOARD_ENGINE_WORK_LEASE_SECONDS") {
        None => config.work_lease_seconds,
        Some(text) => {
            text.trim().parse::<u64>().ok().filter(|n| (1..=3600).contains(n)).ok_or(ConfigError::NotACount {
                name: "SWITCHBOARD_ENGINE_WORK_LEASE_SECONDS (1 to 3600)",
                value: text,
            })?
        }
    };
    config.work_lease_seconds = work_lease_seconds;
    config.mcp_reach = crate::mcp::Reach::from_env(var);
    config.git_hosts = crate::repositories::GitHosts::from_env(var);
    (config.sandbox_limits, config.model, config.package_mirrors) = (limits, model, mirrors);
    (config.webhook, config.secret_key) = (webhook, secret_key);
    Ok(())
}
