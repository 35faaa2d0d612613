//! `switchboard worker`: serves one self-hosted environment, against Anthropic's API or any
//! engine. It polls the environment's queue with the environment key, acks each item, and serves
//! several sessions at once (up to `--concurrency`): each with its lease kept by heartbeats and
//! its tool calls run in a sandbox of the engine's ([`item`]), or handed whole to a command of
//! the operator's (`--on-work`, with the `ANTHROPIC_*` variables the SDK's `handle_item()`
//! reads). SIGTERM or Ctrl-C stops the polling; each item finishes the call under way, posts its
//! result and is handed back (a last heartbeat asks for a 1-second lease), so that another
//! worker takes it at once. It needs no console and no database.

mod api;
mod item;

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use base64::Engine as _;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::{sync::watch, task::JoinSet};

use self::{
    api::Api,
    item::{Item, Serving},
};

const USAGE: &str = "usage: switchboard worker --environment ENV_ID [--base-url URL] [--concurrency N]
                          [--workdir DIR] [--max-idle SECONDS] [--worker-id ID] [--on-work COMMAND]
                          [--custom-tool NAME=COMMAND]...
  The environment key comes from ANTHROPIC_ENVIRONMENT_KEY, or from the file --environment-key-file
  names; never from a flag's value (command lines are seen by every user of the machine).
  The base URL is ANTHROPIC_BASE_URL when set, else https://api.anthropic.com.
  --custom-tool answers the agent's custom tool NAME: COMMAND runs with /bin/sh in the session's
  folder, the call's input as JSON on its standard input; what it prints is the result (an exit
  code other than 0 makes it an error).";

/// What the command line and the environment ask for.
#[derive(Debug)]
struct Options {
    environment_id: String,
    base_url: String,
    key: String,
    concurrency: usize,
    workdir: PathBuf,
    max_idle: Option<Duration>,
    worker_id: String,
    on_work: Option<String>,
    /// `--custom-tool NAME=COMMAND`: the agents' custom tools this worker answers.
    custom_tools: std::collections::BTreeMap<String, String>,
}

/// Runs the worker until SIGTERM or Ctrl-C; a usage error is exit code 2.
pub async fn main(args: &[String]) -> ExitCode {
    let options = match parse(args, |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty())) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("{problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let serving = match serving(&options) {
        Ok(serving) => serving,
        Err(problem) => {
            eprintln!("The worker could not start: {problem}");
            return ExitCode::FAILURE;
        }
    };
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("asked to stop: no more polling; the items under way finish their call and are handed back");
        let _ = stop.send(true);
    });
    tracing::info!(
        environment = %options.environment_id,
        base_url = %options.base_url,
        worker = %options.worker_id,
        concurrency = options.concurrency,
        "the worker is polling for work"
    );
    match poll_loop(&options, serving, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            tracing::error!("the worker stopped: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String], var: impl Fn(&str) -> Option<String>) -> Result<Options, String> {
    let mut flags: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    let known = [
        "--environment",
        "--base-url",
        "--concurrency",
        "--workdir",
        "--max-idle",
        "--worker-id",
        "--on-work",
        "--environment-key-file",
    ];
    let mut custom_tools = std::collections::BTreeMap::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (name, inline) = arg.split_once('=').map_or((arg.as_str(), None), |(n, v)| (n, Some(v.to_owned())));
        if name == "--environment-key" {
            return Err("--environment-key takes no value on the command line: set ANTHROPIC_ENVIRONMENT_KEY, or name a file with --environment-key-file.".to_owned());
        }
        if name == "--custom-tool" {
            let value = inline.or_else(|| rest.next().cloned()).ok_or("--custom-tool needs NAME=COMMAND")?;
            let (tool, command) = custom_tool(&value)?;
            if custom_tools.insert(tool.clone(), command).is_some() {
                return Err(format!("--custom-tool {tool} is given twice"));
            }
            continue;
        }
        let Some(flag) = known.iter().find(|k| **k == name) else {
            return Err(format!("unknown argument {arg:?}"));
        };
        let value = inline.or_else(|| rest.next().cloned()).ok_or(format!("{flag} needs a value"))?;
        flags.insert(flag, value);
    }
    let environment_id = flags
        .remove("--environment")
        .or_else(|| var("ANTHROPIC_ENVIRONMENT_ID"))
        .ok_or("--environment ENV_ID is required (the self-hosted environment to serve)")?;
    let key = match flags.remove("--environment-key-file") {
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read the environment key from {path}: {error}"))?
            .trim()
            .to_owned(),
        None => var("ANTHROPIC_ENVIRONMENT_KEY").ok_or(
            "no environment key: set ANTHROPIC_ENVIRONMENT_KEY, or name a file holding it with --environment-key-file",
        )?,
    };
    if key.is_empty() {
        return Err("the environment key is empty".to_owned());
    }
    let number = |name: &str, default: u64, max: u64| -> Result<u64, String> {
        match flags.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or(format!("{name} must be a whole number from 1 to {max}, not {text:?}")),
        }
    };
    let concurrency = number("--concurrency", 4, 256)? as usize;
    let max_idle = Some(Duration::from_secs(number("--max-idle", 60, 86_400)?));
    let base_url = flags
        .remove("--base-url")
        .or_else(|| var("ANTHROPIC_BASE_URL"))
        .unwrap_or_else(|| "https://api.anthropic.com".to_owned());
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(format!("the base URL must be an http:// or https:// URL, not {base_url:?}"));
    }
    Ok(Options {
        environment_id,
        base_url,
        key,
        concurrency,
        workdir: flags.remove("--workdir").map_or_else(|| PathBuf::from("switchboard-worker"), PathBuf::from),
        max_idle,
        worker_id: flags.remove("--worker-id").unwrap_or_else(default_worker_id),
        on_work: flags.remove("--on-work"),
        custom_tools,
    })
}

/// `NAME=COMMAND` of `--custom-tool`: a custom tool's name as agents declare it (letters,
/// digits, `_` and `-`, at most 64) and the command that answers it.
fn custom_tool(value: &str) -> Result<(String, String), String> {
    let (name, command) = value.split_once('=').ok_or(format!("--custom-tool takes NAME=COMMAND, not {value:?}"))?;
    let valid =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(format!(
            "--custom-tool: {name:?} is not a tool's name (letters, digits, _ and -, at most 64 characters)"
        ));
    }
    if command.trim().is_empty() {
        return Err(format!("--custom-tool {name}: the command is empty"));
    }
    Ok((name.to_owned(), command.to_owned()))
}

/// `<hostname>-<12 hex>`, as the SDK's worker names itself.
fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    let suffix: String = (0..12).map(|_| format!("{:x}", rand::rng().random_range(0..16u8))).collect();
    format!("{}-{suffix}", if host.is_empty() { "worker" } else { host })
}

fn serving(options: &Options) -> Result<Serving, String> {
    std::fs::create_dir_all(&options.workdir)
        .map_err(|error| format!("cannot make the folder {}: {error}", options.workdir.display()))?;
    let workdir = std::fs::canonicalize(&options.workdir).map_err(|error| error.to_string())?;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let limits = crate::SandboxLimits::from_env(var).map_err(|error| error.to_string())?;
    Ok(Serving {
        api: Api::new(&options.base_url)?,
        workdir,
        limits,
        tool_runner: std::env::current_exe().map_err(|error| format!("cannot find this program: {error}"))?,
        max_idle: options.max_idle,
        install_lock: Arc::default(),
        custom_tools: Arc::new(options.custom_tools.clone()),
    })
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Polls while a slot is free; each acked item is served in a task of its own. Returns once
/// asked to stop and every item is done or handed back.
async fn poll_loop(options: &Options, serving: Serving, mut shutdown: watch::Receiver<bool>) -> Result<(), String> {
    let slots = Arc::new(tokio::sync::Semaphore::new(options.concurrency));
    let mut items = JoinSet::new();
    let mut failures = 0u32;
    loop {
        while items.try_join_next().is_some() {}
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(|e| e.to_string())?,
            _ = shutdown.changed() => break,
        };
        if *shutdown.borrow() {
            break;
        }
        let polled = tokio::select! {
            polled = poll(&serving.api, options) => polled,
            _ = shutdown.changed() => break,
        };
        let Some(item) = (match polled {
            Ok(item) => {
                failures = 0;
                item
            }
            Err(error) if error.fatal() => return Err(format!("polling: {error}")),
            Err(error) => {
                failures += 1;
                let wait = Duration::from_secs(2u64.pow(failures.min(6)).min(60)) + jitter(0.0, 1.0);
                tracing::warn!("polling failed ({error}); trying again in {:.1} s", wait.as_secs_f64());
                sleep_or_stop(wait, &mut shutdown).await;
                continue;
            }
        }) else {
            // Nothing waited: as the SDK's worker, a second or three before the next poll.
            sleep_or_stop(jitter(1.0, 3.0), &mut shutdown).await;
            continue;
        };
        let Some(item) = claim(&serving.api, options, &item).await else { continue };
        let (serving, options_on_work, key) = (serving.clone(), options.on_work.clone(), options.key.clone());
        let shutdown = shutdown.clone();
        items.spawn(async move {
            let _slot = slot;
            match options_on_work {
                Some(command) => on_work(&command, &serving, &item, &key, shutdown).await,
                None => item::serve(&serving, &item, shutdown).await,
            }
        });
    }
    tracing::info!(items = items.len(), "stopping: waiting for the items under way");
    while items.join_next().await.is_some() {}
    Ok(())
}

fn jitter(from: f64, to: f64) -> Duration {
    Duration::from_secs_f64(rand::rng().random_range(from..to))
}

async fn sleep_or_stop(wait: Duration, shutdown: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        _ = shutdown.changed() => {}
    }
}

async fn poll(api: &Api, options: &Options) -> Result<Option<Value>, api::CallError> {
    let path = format!("/v1/environments/{}/work/poll", options.environment_id);
    let query = [("block_ms", "999".to_owned())];
    let answer = api
        .call_with_worker(Method::GET, &path, &options.key, &query, &options.worker_id, Duration::from_secs(30))
        .await?;
    Ok((!answer.is_null()).then_some(answer))
}

/// Acks a polled item; `None` when it is not ours to serve (taken, not a session, or refused).
async fn claim(api: &Api, options: &Options, polled: &Value) -> Option<Item> {
    let work_id = polled["id"].as_str()?.to_owned();
    let session_id = polled["data"]["id"].as_str().unwrap_or_default().to_owned();
    let secret = polled["secret"].as_str().map(str::to_owned);
    let credential = sessions_token(secret.as_deref()).unwrap_or_else(|| options.key.clone());
    let item = Item { work_id, environment_id: options.environment_id.clone(), session_id, credential, secret };
    let path = format!("/v1/environments/{}/work/{}/ack", item.environment_id, item.work_id);
    match api.call(Method::POST, &path, &options.key, &[], None, Duration::from_secs(30)).await {
        Ok(_) => {}
        Err(error) if error.status() == Some(StatusCode::CONFLICT) => return None,
        Err(error) if error.fatal() => {
            tracing::warn!(work = %item.work_id, "could not ack the item ({error}); stopping it");
            item::force_stop(api, &item, &options.key).await;
            return None;
        }
        Err(error) => {
            tracing::warn!(work = %item.work_id, "could not ack the item: {error}");
            return None;
        }
    }
    if polled["data"]["type"] != "session" {
        item::force_stop(api, &item, &item.credential).await;
        return None;
    }
    tracing::info!(work = %item.work_id, session = %item.session_id, "took an item");
    Some(item)
}

/// The `sessions_token` in a work item's secret (unpadded base64url of a JSON object).
fn sessions_token(secret: Option<&str>) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(secret?.trim_end_matches('=')).ok()?;
    let object: Value = serde_json::from_slice(&bytes).ok()?;
    object["sessions_token"].as_str().filter(|t| !t.is_empty()).map(str::to_owned)
}

/// `--on-work`: the item handed to a command of the operator's, as `ant` hands it, with the
/// variables the SDK's `EnvironmentWorker.handle_item()` reads. The command keeps the lease; a
/// SIGTERM to the worker is passed on to it.
async fn on_work(command_line: &str, serving: &Serving, item: &Item, key: &str, mut shutdown: watch::Receiver<bool>) {
    let mut command = tokio::process::Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(command_line)
        .env("ANTHROPIC_WORK_ID", &item.work_id)
        .env("ANTHROPIC_ENVIRONMENT_ID", &item.environment_id)
        .env("ANTHROPIC_SESSION_ID", &item.session_id)
        .env("ANTHROPIC_BASE_URL", serving.api.base());
    // The secret as poll gave it. The environment key only when it holds no sessions token:
    // `handle_item()` needs it then alone, and a command that serves one item should not hold
    // what polls them all (it is not inherited from the worker's own environment either).
    if let Some(secret) = &item.secret {
        command.env("ANTHROPIC_WORK_SECRET", secret);
    }
    if sessions_token(item.secret.as_deref()).is_some() {
        command.env_remove("ANTHROPIC_ENVIRONMENT_KEY");
    } else {
        command.env("ANTHROPIC_ENVIRONMENT_KEY", key);
    }
    let spawned = command.spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            tracing::error!(work = %item.work_id, "could not start the --on-work command: {error}");
            item::force_stop(&serving.api, item, &item.credential).await;
            return;
        }
    };
    tracing::info!(work = %item.work_id, session = %item.session_id, "the --on-work command serves the item");
    let status = tokio::select! {
        status = child.wait() => status,
        _ = shutdown.changed() => {
            if let Some(pid) = child.id() {
                // SAFETY: kill(2) on the child's own pid, which has not been reaped yet.
                unsafe { libc::kill(pid as i32, libc::SIGTERM) };
            }
            child.wait().await
        }
    };
    match status {
        Ok(status) if status.success() => tracing::info!(work = %item.work_id, "the --on-work command finished"),
        Ok(status) => tracing::warn!(work = %item.work_id, %status, "the --on-work command failed"),
        Err(error) => tracing::warn!(work = %item.work_id, "the --on-work command: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_key_comes_from_the_environment_never_from_a_flag() {
        let env = |name: &str| (name == "ANTHROPIC_ENVIRONMENT_KEY").then(|| "envk_x".to_owned());
        let options = parse(&args(&["--environment", "env_1", "--concurrency=8"]), env).unwrap();
        assert_eq!((options.key.as_str(), options.concurrency), ("envk_x", 8));
        assert_eq!(options.base_url, "https://api.anthropic.com");
        let refused = parse(&args(&["--environment", "env_1", "--environment-key", "envk_x"]), env).unwrap_err();
        assert!(refused.contains("ANTHROPIC_ENVIRONMENT_KEY"), "{refused}");
        let none = parse(&args(&["--environment", "env_1"]), |_| None).unwrap_err();
        assert!(none.contains("no environment key"), "{none}");
        let zero = parse(&args(&["--environment", "env_1", "--concurrency", "0"]), env).unwrap_err();
        assert!(zero.contains("--concurrency"), "{zero}");
    }

    #[test]
    fn custom_tools_are_named_once_each_with_a_command() {
        let env = |name: &str| (name == "ANTHROPIC_ENVIRONMENT_KEY").then(|| "envk_x".to_owned());
        let given =
            ["--environment", "env_1", "--custom-tool", "lookup_order=jq -r .order", "--custom-tool=a-b=echo x=y"];
        let options = parse(&args(&given), env).unwrap();
        let tools: Vec<(&str, &str)> = options.custom_tools.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(tools, [("a-b", "echo x=y"), ("lookup_order", "jq -r .order")]);
        for (bad, says) in [
            ("lookup order=x", "not a tool's name"),
            ("=x", "not a tool's name"),
            ("lookup", "NAME=COMMAND"),
            ("lookup= ", "the command is empty"),
        ] {
            let refused = parse(&args(&["--environment", "env_1", "--custom-tool", bad]), env).unwrap_err();
            assert!(refused.contains(says), "{bad}: {refused}");
        }
        let twice = parse(&args(&["--environment", "env_1", "--custom-tool", "a=x", "--custom-tool", "a=y"]), env);
        assert!(twice.unwrap_err().contains("given twice"));
    }

    #[test]
    fn a_secret_yields_its_sessions_token_and_anything_else_none() {
        let secret = crate::domain::work::secret_of("wst_abc");
        assert_eq!(sessions_token(Some(&secret)).as_deref(), Some("wst_abc"));
        assert_eq!(sessions_token(Some("not base64!")), None);
        assert_eq!(sessions_token(None), None);
    }
}
