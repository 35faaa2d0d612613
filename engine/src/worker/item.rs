//! One work item, as the SDK's worker serves it: a lease kept by heartbeats beside a runner that
//! follows the session's stream, runs each built-in tool call the session routes to the worker
//! (in a sandbox of the engine's) and posts its `user.tool_result`. How it ends says what
//! becomes of the item: a session that is done (or an item told to stop) is force-stopped; a
//! lost lease is left to whoever holds it now; a worker shutting down hands its item back.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::api::{Api, CallError};
use crate::sandbox::{Sandbox, SandboxLimits, egress::Egress, packages::Mirrors};

/// The built-in tools a worker runs; a call to any other tool is left for another client.
const TOOLS: &[&str] = &["bash", "read", "write", "edit", "glob", "grep"];
/// The lease a worker assumes until its first heartbeat answers.
const FIRST_TTL: Duration = Duration::from_secs(90);

/// A claimed item and what reaches it.
#[derive(Clone)]
pub struct Item {
    pub work_id: String,
    pub environment_id: String,
    pub session_id: String,
    /// The sessions token from the item's secret, else the environment key.
    pub credential: String,
    /// The item's `secret` as poll handed it out, for an `--on-work` command.
    pub secret: Option<String>,
}

/// What a worker needs to serve items.
#[derive(Clone)]
pub struct Serving {
    pub api: Api,
    pub workdir: PathBuf,
    pub limits: SandboxLimits,
    pub tool_runner: PathBuf,
    /// How long a session may sit idle (its turn ended) before the worker lets its item go.
    pub max_idle: Option<Duration>,
    pub install_lock: Arc<tokio::sync::Mutex<()>>,
    /// The agents' custom tools this worker answers, each with its command (`--custom-tool`).
    pub custom_tools: Arc<std::collections::BTreeMap<String, String>>,
}

/// How serving an item ended.
#[derive(Debug, PartialEq)]
pub enum End {
    /// The session is done (idle past `max_idle`, terminated, deleted): stop the item.
    Done,
    /// The API asked for the item to stop (`stopping`, or a lease it did not extend).
    Stopping,
    /// Another worker holds the lease now (a 412, or no heartbeat got through for a whole lease).
    LeaseLost,
    /// The worker is shutting down mid-turn; the call under way finished and its result was
    /// posted.
    HandedBack,
    /// Something failed that trying again would not mend.
    Failed(String),
}

/// The last heartbeat, echoed by the next one.
type LastBeat = Arc<Mutex<Option<String>>>;

/// Serves `item` until it ends; then stops it, hands it back or leaves it, as [`End`] says.
pub async fn serve(serving: &Serving, item: &Item, shutdown: watch::Receiver<bool>) {
    let last: LastBeat = Arc::default();
    let end = tokio::select! {
        end = heartbeats(&serving.api, item, last.clone()) => end,
        end = Runner::new(serving, item).run(shutdown) => end,
    };
    let work = &item.work_id;
    match &end {
        End::LeaseLost => tracing::warn!(%work, session = %item.session_id, "lease lost: another worker has the item"),
        End::HandedBack => hand_back(&serving.api, item, &last).await,
        End::Done | End::Stopping | End::Failed(_) => {
            if let End::Failed(why) = &end {
                tracing::error!(%work, session = %item.session_id, "the item failed: {why}");
            }
            force_stop(&serving.api, item, &item.credential).await;
        }
    }
    tracing::info!(%work, session = %item.session_id, ?end, "done with the item");
}

async fn heartbeat(api: &Api, item: &Item, expected: &str, ttl: Option<u64>) -> Result<Value, CallError> {
    let path = format!("/v1/environments/{}/work/{}/heartbeat", item.environment_id, item.work_id);
    let mut query = vec![("expected_last_heartbeat", expected.to_owned())];
    if let Some(ttl) = ttl {
        query.push(("desired_ttl_seconds", ttl.to_string()));
    }
    api.call(Method::POST, &path, &item.credential, &query, None, Duration::from_secs(30)).await
}

/// Keeps the lease: a beat every half lease (at most 30 s), until the API says stop or the lease
/// is lost.
async fn heartbeats(api: &Api, item: &Item, last: LastBeat) -> End {
    let mut ttl = FIRST_TTL;
    let mut last_success = Instant::now();
    loop {
        let expected = last.lock().expect("heartbeat lock").clone().unwrap_or_else(|| "NO_HEARTBEAT".to_owned());
        match heartbeat(api, item, &expected, None).await {
            Ok(beat) => {
                last_success = Instant::now();
                *last.lock().expect("heartbeat lock") = beat["last_heartbeat"].as_str().map(str::to_owned);
                if let Some(seconds) = beat["ttl_seconds"].as_u64().filter(|s| *s > 0) {
                    ttl = Duration::from_secs(seconds);
                }
                let stopping = matches!(beat["state"].as_str(), Some("stopping" | "stopped"));
                if stopping || beat["lease_extended"] == false {
                    return End::Stopping;
                }
            }
            Err(error) if error.status() == Some(StatusCode::PRECONDITION_FAILED) => return End::LeaseLost,
            Err(error) if error.fatal() => return End::Failed(format!("heartbeat: {error}")),
            Err(error) => {
                tracing::warn!(work = %item.work_id, "a heartbeat failed: {error}");
                if last_success.elapsed() >= ttl {
                    return End::LeaseLost;
                }
            }
        }
        let interval = (ttl / 2).clamp(Duration::from_secs(1), Duration::from_secs(30));
        tokio::time::sleep(interval).await;
    }
}

/// A last heartbeat asking for a 1-second lease: it runs out at once, and the next poll hands
/// the item to another worker, which finds the calls still unanswered.
async fn hand_back(api: &Api, item: &Item, last: &LastBeat) {
    let expected = last.lock().expect("heartbeat lock").clone().unwrap_or_else(|| "NO_HEARTBEAT".to_owned());
    match heartbeat(api, item, &expected, Some(1)).await {
        Ok(_) => tracing::info!(work = %item.work_id, "handed the item back: its lease ends in a second"),
        Err(error) => tracing::warn!(work = %item.work_id, "could not shorten the lease ({error}); it ends on its own"),
    }
}

/// Stops an item at once; one stopped already (409) is no error.
pub async fn force_stop(api: &Api, item: &Item, credential: &str) {
    let path = format!("/v1/environments/{}/work/{}/stop", item.environment_id, item.work_id);
    let body = json!({ "force": true });
    match api.call(Method::POST, &path, credential, &[], Some(&body), Duration::from_secs(30)).await {
        Ok(_) => {}
        Err(error) if error.status() == Some(StatusCode::CONFLICT) => {}
        Err(error) => tracing::warn!(work = %item.work_id, "could not stop the item: {error}"),
    }
}

/// A tool call of the session: (event id, tool, input, evaluated permission), and whether it
/// is a custom tool's (`agent.custom_tool_use`).
struct Call {
    id: String,
    name: String,
    input: Value,
    permission: Option<String>,
    custom: bool,
}

/// The longest a custom tool's command may run (the SDK's worker gives a call 150 s).
const CUSTOM_TOOL_TIMEOUT: Duration = Duration::from_secs(150);
/// The most a custom tool's output keeps: its last 100 KiB, as bash's.
const CUSTOM_TOOL_OUTPUT: usize = 102_400;

/// Follows one session and answers its calls, one at a time, in order.
struct Runner<'a> {
    serving: &'a Serving,
    item: &'a Item,
    sandbox: Sandbox,
    seen: HashSet<String>,
    calls: Vec<Call>,
    answered: HashSet<String>,
    /// Calls run (or given up) since the last reconcile.
    done: HashSet<String>,
    confirmations: HashMap<String, bool>,
    idle_since: Option<Instant>,
}

impl<'a> Runner<'a> {
    fn new(serving: &'a Serving, item: &'a Item) -> Self {
        let sandbox = sandbox_for(serving, &item.session_id);
        Runner {
            serving,
            item,
            sandbox,
            seen: HashSet::new(),
            calls: Vec::new(),
            answered: HashSet::new(),
            done: HashSet::new(),
            confirmations: HashMap::new(),
            idle_since: None,
        }
    }

    async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> End {
        let (api, item) = (&self.serving.api, self.item);
        let mut backoff = Duration::from_millis(500);
        loop {
            if *shutdown.borrow() {
                return self.leaving();
            }
            let mut stream = match api.stream(&item.session_id, &item.credential).await {
                Ok(stream) => Box::pin(stream),
                Err(error) if error.fatal() => return End::Failed(format!("the session's stream: {error}")),
                Err(error) => {
                    tracing::warn!(session = %item.session_id, "the session's stream failed: {error}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            };
            if let Some(end) = self.reconcile(&shutdown).await {
                return end;
            }
            loop {
                let idle = self.idle_deadline();
                tokio::select! {
                    event = stream.next() => match event {
                        Some(Ok(event)) => {
                            backoff = Duration::from_millis(500);
                            if let Some(end) = self.observe(&event) {
                                return end;
                            }
                            if let Some(end) = self.route(&shutdown).await {
                                return end;
                            }
                        }
                        Some(Err(_)) | None => break,
                    },
                    () = sleep_until(idle) => return End::Done,
                    _ = shutdown.changed() => return self.leaving(),
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }

    /// Reads the whole history, then runs what is left unanswered.
    async fn reconcile(&mut self, shutdown: &watch::Receiver<bool>) -> Option<End> {
        let (api, item) = (&self.serving.api, self.item);
        self.done.clear();
        match api.history(&item.session_id, &item.credential).await {
            Ok(events) => {
                for event in &events {
                    if let Some(end) = self.observe(event) {
                        return Some(end);
                    }
                }
                // A session with no events yet (created, never sent anything) holds no turn: the
                // worker lets it go after `max_idle` too, and its first message queues a new item.
                if events.is_empty() && self.idle_since.is_none() {
                    self.idle_since = Some(Instant::now());
                }
                self.route(shutdown).await
            }
            Err(error) => {
                tracing::warn!(session = %item.session_id, "could not read the session's history: {error}");
                None
            }
        }
    }

    /// How the item ends when the worker shuts down: a session whose turn ended has nothing for
    /// another worker to do (stop the item; new input queues a new one), one mid-turn is handed
    /// back.
    fn leaving(&self) -> End {
        if self.idle_since.is_some() { End::Done } else { End::HandedBack }
    }

    fn idle_deadline(&self) -> Option<Instant> {
        Some(self.idle_since? + self.serving.max_idle?)
    }

    /// Takes in one event; says when it ends the session.
    fn observe(&mut self, event: &Value) -> Option<End> {
        if let Some(id) = event["id"].as_str()
            && !self.seen.insert(id.to_owned())
        {
            return None;
        }
        let kind = event["type"].as_str().unwrap_or_default();
        match kind {
            "agent.tool_use" | "agent.custom_tool_use" => {
                let id = event["id"].as_str().unwrap_or_default().to_owned();
                let name = event["name"].as_str().unwrap_or_default().to_owned();
                let permission = event["evaluated_permission"].as_str().map(str::to_owned);
                let custom = kind == "agent.custom_tool_use";
                self.calls.push(Call { id, name, input: event["input"].clone(), permission, custom });
            }
            "user.tool_result" | "agent.tool_result" => {
                self.answered.insert(event["tool_use_id"].as_str().unwrap_or_default().to_owned());
            }
            "user.custom_tool_result" => {
                self.answered.insert(event["custom_tool_use_id"].as_str().unwrap_or_default().to_owned());
            }
            "user.tool_confirmation" => {
                let id = event["tool_use_id"].as_str().unwrap_or_default().to_owned();
                self.confirmations.insert(id, event["result"] == "allow");
                return None;
            }
            "session.status_terminated" | "session.deleted" => return Some(End::Done),
            "session.thread_status_terminated" => return None,
            _ => {}
        }
        let turn_ended = kind == "session.status_idle" && event["stop_reason"]["type"] != "requires_action";
        self.idle_since = turn_ended.then(Instant::now);
        None
    }

    /// Runs, in order, every call that is the worker's to run and has not been answered.
    async fn route(&mut self, shutdown: &watch::Receiver<bool>) -> Option<End> {
        loop {
            if *shutdown.borrow() {
                return Some(self.leaving());
            }
            let next = self.calls.iter().position(|call| {
                !self.answered.contains(&call.id) && !self.done.contains(&call.id) && self.runnable(call)
            });
            let index = next?;
            let call = &self.calls[index];
            let (id, name, input, custom) = (call.id.clone(), call.name.clone(), call.input.clone(), call.custom);
            self.done.insert(id.clone());
            self.idle_since = None;
            if let Some(end) = self.run_call(&id, &name, &input, custom).await {
                return Some(end);
            }
        }
    }

    /// A call the worker runs now: a built-in tool's, allowed by its policy or by a person, or
    /// a custom tool's it has a command for (another client answers the others).
    fn runnable(&self, call: &Call) -> bool {
        if call.custom {
            return self.serving.custom_tools.contains_key(&call.name);
        }
        TOOLS.contains(&call.name.as_str())
            && match call.permission.as_deref() {
                None | Some("allow") => true,
                Some("deny") => false,
                _ => self.confirmations.get(&call.id) == Some(&true),
            }
    }

    async fn run_call(&mut self, id: &str, name: &str, input: &Value, custom: bool) -> Option<End> {
        let (api, item) = (&self.serving.api, self.item);
        tracing::info!(session = %item.session_id, call = %id, tool = name, "running a tool call");
        let started = Instant::now();
        let output = match self.serving.custom_tools.get(name).filter(|_| custom) {
            Some(command) => run_custom_tool(name, command, input, &self.sandbox.workspace).await,
            None => self.sandbox.run(name, input).await,
        };
        let text = if output.text.is_empty() { "(no output)".to_owned() } else { output.text };
        let (kind, answers) = if custom {
            ("user.custom_tool_result", "custom_tool_use_id")
        } else {
            ("user.tool_result", "tool_use_id")
        };
        let result = json!({
            "type": kind,
            answers: id,
            "is_error": output.is_error,
            "content": [{ "type": "text", "text": text }],
        });
        match api.send_result(&item.session_id, &item.credential, &result).await {
            Ok(()) => {
                self.answered.insert(id.to_owned());
                let took = started.elapsed().as_millis();
                tracing::info!(session = %item.session_id, call = %id, tool = name, is_error = output.is_error, took_ms = took as u64, "posted the result");
                None
            }
            Err(error) if error.status() == Some(StatusCode::UNAUTHORIZED) => Some(End::LeaseLost),
            // Tried again at the next reconcile (a result the session already has is refused).
            Err(error) => {
                tracing::warn!(session = %item.session_id, call = %id, "could not post the result: {error}");
                None
            }
        }
    }
}

/// Runs a custom tool's command of the operator's (`/bin/sh -c`, in the session's folder on this
/// worker, as the SDK's worker runs its Python tools in its own process): the call's input as JSON
/// on its standard input, never on its command line, and none of the worker's `ANTHROPIC_*`
/// variables (its key among them). What it prints is the result (its last 100 KiB); an exit code
/// other than 0, a command that cannot start or runs past 150 s, an error. The command runs in a
/// process group of its own, killed whole at the deadline; its input is written and its output
/// read while it runs, so a command that reads nothing or prints without end holds up nothing.
async fn run_custom_tool(name: &str, command: &str, input: &Value, folder: &Path) -> crate::sandbox::ToolOutput {
    let failed = |text: String| crate::sandbox::ToolOutput { text, is_error: true };
    if let Err(error) = tokio::fs::create_dir_all(folder).await {
        return failed(format!("{name}: the session's folder could not be made: {error}"));
    }
    let mut process = tokio::process::Command::new("/bin/sh");
    process
        .arg("-c")
        .arg(command)
        .current_dir(folder)
        .env("SWITCHBOARD_TOOL_NAME", name)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (variable, _) in std::env::vars_os() {
        if variable.to_string_lossy().starts_with("ANTHROPIC_") {
            process.env_remove(variable);
        }
    }
    let mut child = match process.spawn() {
        Ok(child) => child,
        Err(error) => return failed(format!("{name}: the tool's command could not start: {error}")),
    };
    let group = child.id();
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let input = input.to_string();
    let ran = tokio::time::timeout(CUSTOM_TOOL_TIMEOUT, async {
        let write = async move {
            if let Some(mut stdin) = stdin {
                let _ = tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes()).await;
            }
        };
        let (_, out, err, status) = tokio::join!(write, last_bytes(stdout), last_bytes(stderr), child.wait());
        (out, err, status)
    })
    .await;
    let (mut out, err, status) = match ran {
        Ok((out, err, Ok(status))) => (out, err, status),
        Ok((_, _, Err(error))) => return failed(format!("{name}: {error}")),
        Err(_) => {
            if let Some(group) = group {
                // SAFETY: kill(2) of the process group the command leads, which it has not left.
                unsafe { libc::kill(-(group as i32), libc::SIGKILL) };
            }
            return failed(format!("tool '{name}' timed out"));
        }
    };
    if !status.success() {
        out.1.extend_from_slice(&err.1);
        out.0 |= err.0;
    }
    let (cut, bytes) = out;
    let kept = &bytes[bytes.len().saturating_sub(CUSTOM_TOOL_OUTPUT)..];
    let text = String::from_utf8_lossy(kept).trim_end_matches('\n').to_owned();
    let text = if cut || bytes.len() > CUSTOM_TOOL_OUTPUT { format!("[output truncated]\n{text}") } else { text };
    crate::sandbox::ToolOutput { text, is_error: !status.success() }
}

/// The last [`CUSTOM_TOOL_OUTPUT`] bytes a pipe gives until it closes, and whether more came.
async fn last_bytes(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> (bool, Vec<u8>) {
    let Some(mut pipe) = pipe else { return (false, Vec::new()) };
    let (mut kept, mut cut, mut chunk) = (Vec::new(), false, vec![0u8; 16 * 1024]);
    loop {
        match tokio::io::AsyncReadExt::read(&mut pipe, &mut chunk).await {
            Ok(0) | Err(_) => return (cut, kept),
            Ok(n) => {
                kept.extend_from_slice(&chunk[..n]);
                if kept.len() > 2 * CUSTOM_TOOL_OUTPUT {
                    kept.drain(..kept.len() - CUSTOM_TOOL_OUTPUT);
                    cut = true;
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// The sandbox of a session on this worker: its own folder under the worker's, the engine's
/// limits, the machine's network, no control groups or disk of its own (a worker runs
/// unprivileged).
fn sandbox_for(serving: &Serving, session_id: &str) -> Sandbox {
    let dir = session_dir(&serving.workdir, session_id);
    Sandbox {
        session: session_id.to_owned(),
        workspace: dir.join("workspace"),
        outputs: dir.join("outputs"),
        mounts: Vec::new(),
        memory: Vec::new(),
        repositories: Vec::new(),
        egress: Egress::Public,
        tool_runner: serving.tool_runner.clone(),
        limits: serving.limits,
        cgroups: None,
        disk: None,
        packages: Value::Null,
        mirrors: Mirrors::default(),
        trusted: Vec::new(),
        install_lock: serving.install_lock.clone(),
    }
}

/// A session's folder under the worker's: its id is the API's (`sesn_` and base-62), anything
/// else is refused a folder of its own by being flattened.
fn session_dir(workdir: &Path, session_id: &str) -> PathBuf {
    let safe: String = session_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    workdir.join(safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_custom_tools_command_reads_its_input_and_its_output_is_kept_to_its_end() {
        let folder = std::env::temp_dir().join(format!("switchboard-custom-tool-{}", std::process::id()));
        let run = |command: &str, input: Value| {
            let (command, folder) = (command.to_owned(), folder.clone());
            async move { run_custom_tool("lookup", &command, &input, &folder).await }
        };
        let echoed = run("cat; echo \" in $SWITCHBOARD_TOOL_NAME\"", json!({ "order": "A-17" })).await;
        assert_eq!((echoed.text.as_str(), echoed.is_error), (r#"{"order":"A-17"} in lookup"#, false));
        let failed = run("echo half; echo broken >&2; exit 3", json!({})).await;
        assert_eq!((failed.text.as_str(), failed.is_error), ("half\nbroken", true));
        // A command that never reads a large input, and one that prints far more than is kept.
        let big = json!({ "text": "x".repeat(1 << 20) });
        assert_eq!(run("echo ignored", big).await.text, "ignored");
        let long = run("yes 0123456789 | head -c 1000000", json!({})).await;
        assert!(
            long.text.starts_with("[output truncated]\n") && long.text.len() <= CUSTOM_TOOL_OUTPUT + 20,
            "{}",
            long.text.len()
        );
        let _ = std::fs::remove_dir_all(folder);
    }

    #[test]
    fn a_session_id_cannot_name_a_folder_outside_the_workdir() {
        let dir = session_dir(Path::new("/srv/worker"), "../../etc");
        assert_eq!(dir, Path::new("/srv/worker/etc"));
        assert_eq!(session_dir(Path::new("/w"), "sesn_01Ab"), Path::new("/w/sesn_01Ab"));
    }
}
