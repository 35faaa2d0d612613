//! The tools an agent runs, executed for real inside a bubblewrap sandbox, one per session.
//!
//! The sandbox sees a read-only `/usr` (with the usual `/bin`, `/lib` links), a fresh `/proc`,
//! `/dev` and `/tmp`, the session's workspace at `/workspace`, its outputs at
//! `/mnt/session/outputs`, the environment's packages at `/opt/packages` ([`packages`]), each
//! mounted file read-only at its `mount_path`, each custom skill of
//! its agent read-only at `/workspace/skills/<name>`, and each memory store at
//! `/mnt/memory/<slug>` (read-only or not, as attached). Nothing else of
//! the host is there: not `/etc/shadow`, not `/root`, not the engine's data directory. Every
//! namespace is unshared, the network's too: what the environment's networking allows goes
//! through the engine's egress proxy ([`egress`]), never straight out. Every capability is
//! dropped. `bash` runs `/bin/bash -c`; the file tools run this crate's own [`tool_main`] inside
//! the sandbox (the `sandbox-tool` command of the `switchboard` binary), so path handling never
//! happens on the host.
//!
//! **Limits** ([`SandboxLimits`], per engine): every process of a tool call gets rlimits on its
//! memory (address space), CPU time, the size of any file it writes, and its open files, set
//! before bubblewrap starts so everything the call runs inherits them; the call's processes
//! together are held to a number of processes and an amount of memory by a control group of
//! their own ([`cgroups`], where the machine has them); `/tmp` is a tmpfs of a fixed size. The
//! file tools read at most [`MAX_FILE_BYTES`] of a file and refuse anything but regular files
//! (`/dev/zero`, pipes), and the host never keeps more of a tool's output than it shows.

pub mod beneath;
pub mod cgroups;
pub mod disks;
pub mod egress;
mod limits;
pub mod packages;
pub mod tunnel;

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{io::AsyncReadExt, io::AsyncWriteExt, process::Command};

pub use self::limits::SandboxLimits;
use self::{
    beneath::Beneath,
    cgroups::{CallGroup, Cgroups},
    disks::Disks,
    egress::{Egress, Proxy},
    limits::{MAX_BASH_TIMEOUT_MS, MIB},
    tunnel::Tunnel,
};

/// Output beyond this many bytes is cut, with a note saying how much was left out.
pub const MAX_OUTPUT_BYTES: usize = 30_000;
const DEFAULT_BASH_TIMEOUT_MS: u64 = 120_000;
const FILE_TOOL_TIMEOUT: Duration = Duration::from_secs(60);
const TOOL_PATH_IN_SANDBOX: &str = "/run/switchboard/tool";
/// The most of one file the file tools read (`read`, `grep`, `edit`).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// The most the host reads of a file tool's answer (its text is cut to [`MAX_OUTPUT_BYTES`]
/// inside the sandbox already; JSON escaping can make it up to six times longer).
const MAX_ANSWER_BYTES: usize = 6 * MAX_OUTPUT_BYTES + 1024;

/// What a tool call produced: the text the agent sees, and whether it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub text: String,
    pub is_error: bool,
}

impl ToolOutput {
    pub fn ok(text: impl Into<String>) -> Self {
        Self { text: text.into(), is_error: false }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self { text: text.into(), is_error: true }
    }
}

/// Why a file tool's call failed: its words are the tool result the model reads.
#[derive(Debug, thiserror::Error)]
pub enum ToolFailure {
    #[error("The tool input could not be read: {0}")]
    InputUnread(std::io::Error),
    #[error("The tool input is not JSON: {0}")]
    InputNotJson(serde_json::Error),
    #[error("Unknown file tool {0:?}.")]
    UnknownTool(String),
    /// `read needs file_path.`
    #[error("{tool} needs {needs}.")]
    MissingInput { tool: &'static str, needs: &'static str },
    #[error("{} does not exist.", .0.display())]
    NotFound(PathBuf),
    #[error("{} cannot be accessed: permission denied.", .0.display())]
    PermissionDenied(PathBuf),
    #[error("{}: {error}", .path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{} is a directory; use glob or bash ls to list it.", .0.display())]
    IsDirectory(PathBuf),
    #[error("{} is not a regular file (a device, pipe or socket); {tool} works on files only.", .path.display())]
    NotRegularFile { path: PathBuf, tool: &'static str },
    #[error("view_range starts at line {start}, but {} has {lines} lines.", .path.display())]
    ViewRangeOutside { start: usize, path: PathBuf, lines: usize },
    #[error("old_string must not be empty; use write to create a file.")]
    EmptyOldString,
    #[error("old_string and new_string are the same; nothing to change.")]
    NothingToChange,
    #[error("{} is {size} bytes, more than edit works on ({MAX_FILE_BYTES}); use bash (sed) instead.", .path.display())]
    TooLargeToEdit { path: PathBuf, size: u64 },
    #[error("{} is not UTF-8 text; edit works on text.", .0.display())]
    NotText(PathBuf),
    #[error("old_string was not found in {}.", .0.display())]
    OldStringMissing(PathBuf),
    #[error(
        "old_string appears {count} times in {}; include more context to make it unique, or set replace_all.",
        .path.display()
    )]
    OldStringAmbiguous { path: PathBuf, count: usize },
    #[error("The pattern {pattern:?} is not a valid glob: {error}")]
    BadGlob { pattern: String, error: globset::Error },
    #[error("The pattern {pattern:?} is not a valid regex: {error}")]
    BadRegex { pattern: String, error: regex::Error },
    #[error("{} is not a directory.", .0.display())]
    NotADirectory(PathBuf),
}

impl ToolFailure {
    /// An I/O failure on `path`, in the words a model acts on for the common ones.
    fn io(path: &Path, error: std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::NotFound => Self::NotFound(path.to_owned()),
            std::io::ErrorKind::PermissionDenied => Self::PermissionDenied(path.to_owned()),
            _ => Self::Io { path: path.to_owned(), error },
        }
    }
}

impl From<ToolFailure> for ToolOutput {
    fn from(failure: ToolFailure) -> Self {
        Self::error(failure.to_string())
    }
}

/// One session's sandbox.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The session's id: its calls share its control group.
    pub session: String,
    pub workspace: PathBuf,
    pub outputs: PathBuf,
    /// (file or directory on the host, path inside the sandbox), mounted read-only: files and
    /// skills.
    pub mounts: Vec<(PathBuf, String)>,
    /// (directory on the host, path inside, writable): the session's memory stores.
    pub memory: Vec<(PathBuf, String, bool)>,
    /// (directory on the host, path inside), writable: the session's repositories' checkouts.
    pub repositories: Vec<(PathBuf, String)>,
    /// What its network reaches, through the egress proxy.
    pub egress: Egress,
    pub tool_runner: PathBuf,
    pub limits: SandboxLimits,
    /// Where each call gets its control group; `None`: rlimits only.
    pub cgroups: Option<std::sync::Arc<Cgroups>>,
    /// The namespace of the session's disk, mounted on the folder of `workspace` and `outputs`;
    /// `None`: the host's folder, uncapped.
    pub disk: Option<std::sync::Arc<Disks>>,
    /// The environment's `packages` (as the API returns them), installed before the first call.
    pub packages: Value,
    /// The engine's package mirrors.
    pub mirrors: packages::Mirrors,
    /// The mirrors' (host, port), reached at any address, when package managers may go out.
    pub trusted: Vec<(String, u16)>,
    /// Held while packages install: one install at a time.
    pub install_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Sandbox {
    pub async fn run(&self, name: &str, input: &Value) -> ToolOutput {
        let made = [&self.workspace, &self.outputs, &self.packages_dir()]
            .into_iter()
            .try_for_each(|dir| std::fs::create_dir_all(self.host(dir)));
        if let Err(error) = made {
            return ToolOutput::error(format!("The sandbox could not be prepared: {error}"));
        }
        let (sandbox, refused) = self.with_mount_points();
        let installed = sandbox.install_packages().await;
        let mut output = sandbox.run_tool(name, input).await;
        if let Some(installed) = installed {
            output.text.insert_str(0, &installed);
        }
        if !refused.is_empty() {
            output.text.insert_str(0, &refused);
        }
        output
    }

    /// The folders the sandbox can write: (where the sandbox sees it, where bubblewrap binds it
    /// from), `packages` being [`Self::packages_dir`].
    fn writable<'a>(&'a self, packages: &'a Path) -> Vec<(&'a str, &'a Path)> {
        let mut writable = vec![
            ("/workspace", self.workspace.as_path()),
            ("/mnt/session/outputs", self.outputs.as_path()),
            (packages::PREFIX, packages),
        ];
        let memory = self.memory.iter().filter(|(_, _, writable)| *writable);
        writable.extend(memory.map(|(host, inside, _)| (inside.as_str(), host.as_path())));
        writable
    }

    /// This sandbox with a mount point made, by the host, for each mount that lies in a folder
    /// the sandbox can write (a skill at `/workspace/skills/<name>`, a file or a repository
    /// mounted under `/workspace`): bubblewrap would otherwise make it itself, following any link
    /// the agent planted on the way, onto the host. A mount whose way passes through a link is
    /// left out of this call, logged with the session, and told to the agent (the returned text),
    /// so that the agent can remove the link and have it mounted at its next call.
    fn with_mount_points(&self) -> (Sandbox, String) {
        let packages = self.packages_dir();
        let writable = self.writable(&packages);
        let mut told = String::new();
        let mut keep = |mounts: &[(PathBuf, String)]| {
            let mut kept = Vec::with_capacity(mounts.len());
            for (source, inside) in mounts {
                let below = writable.iter().find_map(|(root, dir)| {
                    Path::new(inside).strip_prefix(root).ok().map(|relative| (*dir, relative.to_owned()))
                });
                let Some((dir, relative)) = below else {
                    kept.push((source.clone(), inside.clone()));
                    continue;
                };
                let is_dir = source.is_dir() || self.host(source).is_dir();
                let made = Beneath::open(&self.host(dir)).map_err(beneath::Error::Io).and_then(|dir| {
                    if is_dir { dir.make_folders(&relative).map(drop) } else { dir.make_file(&relative) }
                });
                match made {
                    Ok(()) => kept.push((source.clone(), inside.clone())),
                    Err(error) => {
                        tracing::warn!(session_id = self.session, mount = inside, "mount refused: {error}");
                        told.push_str(&format!(
                            "[{inside} is not mounted in this call: its path in the sandbox passes through a symbolic link, which the host never follows. Remove the link (rm) and it is mounted at the next call.]\n"
                        ));
                    }
                }
            }
            kept
        };
        let mounts = keep(&self.mounts);
        let repositories = keep(&self.repositories);
        (Sandbox { mounts, repositories, ..self.clone() }, told)
    }

    /// Where the engine reaches a path of the sandbox's folder (through the disks' namespace).
    fn host(&self, path: &Path) -> PathBuf {
        self.disk.as_ref().map_or_else(|| path.to_owned(), |disk| disk.host(path))
    }

    /// The session's packages, at [`packages::PREFIX`] in the sandbox.
    fn packages_dir(&self) -> PathBuf {
        self.workspace.with_file_name("packages")
    }

    /// Installs the environment's packages when they are not yet (or the list changed), and says
    /// what came of it, for the agent. A failed install is told once, not tried at every call.
    async fn install_packages(&self) -> Option<String> {
        let steps = packages::steps(&self.packages, &self.mirrors);
        if steps.is_empty() {
            return None;
        }
        let _one_at_a_time = self.install_lock.lock().await;
        // The record lies in a folder the sandbox writes (`/opt/packages`): read and written
        // beneath it, never through a link the agent put in its place.
        let folder = match Beneath::open(&self.host(&self.packages_dir())) {
            Ok(folder) => folder,
            Err(error) => return Some(format!("[the environment's packages could not be checked: {error}]\n")),
        };
        let record = Path::new(packages::RECORD);
        let wanted = self.packages.to_string();
        match folder.read(record, wanted.len() as u64 + 1) {
            Ok(done) if done == wanted.as_bytes() => return None,
            Ok(_) => {}
            Err(error) if error.is_not_found() => {}
            Err(error) => {
                tracing::warn!(session_id = self.session, "packages record refused, installing again: {error}");
            }
        }
        let mut told = Vec::new();
        for step in steps {
            match step {
                packages::Step::Refuse { manager, specs, why } => {
                    told.push(format!("{manager}: {} not installed: {why}", specs.join(", ")));
                }
                packages::Step::Run { manager, specs, script } => {
                    let input = json!({ "command": script, "timeout_ms": MAX_BASH_TIMEOUT_MS });
                    let ran = self.bash(&input).await;
                    if ran.is_error {
                        let lines: Vec<&str> = ran.text.trim_end().lines().collect();
                        let last = lines[lines.len().saturating_sub(6)..].join(" | ");
                        told.push(format!("{manager}: {} could not be installed: {last}", specs.join(", ")));
                    } else {
                        told.push(format!("{manager}: installed {}", specs.join(", ")));
                    }
                }
            }
        }
        tracing::info!("sandbox packages: {}", told.join("; "));
        if let Err(error) = folder.write(record, wanted.as_bytes()) {
            tracing::warn!(session_id = self.session, "packages record not written: {error}");
        }
        Some(format!(
            "[the environment's packages, installed in {} before this call: {}]\n",
            packages::PREFIX,
            told.join("; ")
        ))
    }

    async fn run_tool(&self, name: &str, input: &Value) -> ToolOutput {
        match name {
            "bash" => self.bash(input).await,
            "read" | "write" | "edit" | "glob" | "grep" => self.file_tool(name, input).await,
            "web_fetch" | "web_search" => ToolOutput::error(format!(
                "{name} is not available in the embedded engine: it has no web access. Use Anthropic's API for web tools."
            )),
            other => ToolOutput::error(format!("Unknown tool {other:?}.")),
        }
    }

    /// The bubblewrap command of one call, and the control group its processes run in. With a
    /// `proxy`, the proxy's socket and variables are in the sandbox, and the command must run
    /// under the tool runner's `net` (see [`egress`]); with a `tunnel`, the sandbox runs in the
    /// tunnel's network namespace rather than one of its own ([`tunnel`]).
    fn command(
        &self,
        with_tool_runner: bool,
        proxy: Option<&Proxy>,
        tunnel: Option<&Tunnel>,
    ) -> Result<(Command, Option<CallGroup>), ToolOutput> {
        let group = match &self.cgroups {
            Some(cgroups) => Some(cgroups.group(&self.session, &self.limits).map_err(|error| {
                ToolOutput::error(format!("The sandbox's control group could not be made: {error}"))
            })?),
            None => None,
        };
        let mut command = Command::new("bwrap");
        command.args(["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]);
        if tunnel.is_some() {
            // The network namespace is the tunnel's, joined before bubblewrap starts.
            command.arg("--share-net");
        }
        bind_system(&mut command, proxy.is_some(), tunnel.is_some());
        self.bind_session(&mut command, with_tool_runner, proxy);
        set_environment(&mut command, proxy.is_some());
        command.kill_on_drop(true);
        self.before_exec(&mut command, group.as_ref(), tunnel);
        Ok((command, group))
    }

    /// Binds what the session's calls see of their own: the workspace, the outputs, mounted
    /// files, skills and memory stores, the packages, and the tool runner and the proxy's socket
    /// when the call needs them.
    fn bind_session(&self, command: &mut Command, with_tool_runner: bool, proxy: Option<&Proxy>) {
        command.arg("--size").arg(self.limits.tmp_bytes.to_string()).args(["--tmpfs", "/tmp"]);
        command.arg("--bind").arg(&self.workspace).arg("/workspace");
        command.arg("--bind").arg(&self.outputs).arg("/mnt/session/outputs");
        for (host, inside) in &self.mounts {
            command.arg("--ro-bind").arg(host).arg(inside);
        }
        for (host, inside, writable) in &self.memory {
            command.arg(if *writable { "--bind-try" } else { "--ro-bind-try" }).arg(host).arg(inside);
        }
        for (host, inside) in &self.repositories {
            command.arg("--bind").arg(host).arg(inside);
        }
        command.arg("--bind").arg(self.packages_dir()).arg(packages::PREFIX);
        if with_tool_runner || proxy.is_some() {
            command.arg("--ro-bind").arg(&self.tool_runner).arg(TOOL_PATH_IN_SANDBOX);
        }
        if let Some(proxy) = proxy {
            command.arg("--ro-bind").arg(proxy.socket()).arg(egress::SOCKET_IN_SANDBOX);
        }
    }

    /// Has the child, between fork and exec, join the call's control group, take the limits,
    /// and enter the tunnel's network and the disks' mount namespaces.
    fn before_exec(&self, command: &mut Command, group: Option<&CallGroup>, tunnel: Option<&Tunnel>) {
        let limits = self.limits;
        let procs = group.map(CallGroup::joiner);
        let namespace = self.disk.as_ref().map(|disk| disk.namespace());
        let network = tunnel.map(Tunnel::namespace);
        // SAFETY: runs in the child between fork and exec; it only makes setrlimit, open, write,
        // close and setns system calls, which are async-signal-safe, and allocates nothing. The
        // namespaces' descriptors live in `self.disk` and the tunnel, which outlive the spawn.
        unsafe {
            command.pre_exec(move || {
                if let Some(procs) = &procs {
                    procs.join()?;
                }
                limit(&limits)?;
                if let Some(network) = network {
                    tunnel::enter(network)?;
                }
                match namespace {
                    Some(namespace) => disks::enter(namespace),
                    None => Ok(()),
                }
            });
        }
    }

    async fn bash(&self, input: &Value) -> ToolOutput {
        let command_text = input.get("command").and_then(Value::as_str);
        let restart = input.get("restart").and_then(Value::as_bool).unwrap_or(false);
        let Some(command_text) = command_text else {
            return if restart {
                ToolOutput::ok("The shell was restarted.")
            } else {
                ToolOutput::error("bash needs a command.")
            };
        };
        let timeout_ms = input
            .get("timeout_ms")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_BASH_TIMEOUT_MS)
            .clamp(1, MAX_BASH_TIMEOUT_MS);
        let (proxy, tunnel) = match self.network() {
            Ok(network) => network,
            Err(output) => return output,
        };
        let (mut command, group) = match self.command(false, proxy.as_ref(), tunnel.as_ref()) {
            Ok(made) => made,
            Err(output) => return output,
        };
        command.arg("--");
        if proxy.is_some() {
            command.args([TOOL_PATH_IN_SANDBOX, "sandbox-tool", "net"]);
        }
        command.arg("/bin/bash").arg("-c").arg(format!("exec 2>&1\n{command_text}"));
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => return spawn_failure(error),
        };
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let run = async {
            let output = read_capped(&mut stdout).await;
            let status = child.wait().await;
            (output, status)
        };
        let ran = tokio::time::timeout(Duration::from_millis(timeout_ms), run).await;
        let stopped = group.as_ref().and_then(|g| g.report(&self.limits));
        drop(group);
        drop(tunnel);
        let refused = proxy.map(|proxy| proxy.refusals().lines()).unwrap_or_default();
        let mut output = match ran {
            Ok((output, Ok(status))) => self.exited(output, status),
            Ok((_, Err(error))) => ToolOutput::error(format!("The command could not be waited for: {error}")),
            Err(_) => {
                crate::meters::sandbox_limit("timeout");
                ToolOutput::error(format!(
                    "The command did not finish within {timeout_ms} ms and was stopped. Set timeout_ms (up to {MAX_BASH_TIMEOUT_MS}) for longer commands."
                ))
            }
        };
        self.add_notes(&mut output, stopped, &refused).await;
        output
    }

    /// The network of a `bash` call: the egress proxy (none when the sandbox has no network)
    /// and, when the proxy has one, its tunnel.
    fn network(&self) -> Result<(Option<Proxy>, Option<Tunnel>), ToolOutput> {
        let proxy = match &self.egress {
            Egress::None => None,
            egress => match Proxy::start(egress.clone(), self.trusted.clone(), &egress_dir()) {
                Ok(proxy) => Some(proxy),
                Err(error) => {
                    return Err(ToolOutput::error(format!("The sandbox's network proxy could not start: {error}")));
                }
            },
        };
        let tunnel = proxy.as_ref().and_then(|proxy| start_tunnel(&self.egress, proxy));
        Ok((proxy, tunnel))
    }

    /// A finished command's output, with its exit code when not 0 (the two signals the limits
    /// send named).
    fn exited(&self, mut text: String, status: std::process::ExitStatus) -> ToolOutput {
        let code = status.code();
        if code != Some(0) {
            push_line(&mut text, "");
            // 128 + the signal: the two the limits send are named.
            let limits = &self.limits;
            match code {
                Some(152) => {
                    crate::meters::sandbox_limit("cpu");
                    text.push_str(&format!(
                        "[exit code 152: SIGXCPU, the sandbox's CPU time limit of {} s per process]",
                        limits.cpu_seconds
                    ))
                }
                Some(153) => {
                    crate::meters::sandbox_limit("file_size");
                    text.push_str(&format!(
                        "[exit code 153: SIGXFSZ, the sandbox's limit of {} MiB per file]",
                        limits.file_bytes / MIB
                    ))
                }
                Some(code) => text.push_str(&format!("[exit code {code}]")),
                None => text.push_str("[killed by a signal]"),
            }
        }
        ToolOutput { text, is_error: code != Some(0) }
    }

    /// Adds what the agent should know beside the output: a limit that `stopped` the call
    /// (which makes it an error), a full disk, and what the network `refused`.
    async fn add_notes(&self, output: &mut ToolOutput, stopped: Option<String>, refused: &[String]) {
        // What the limits stopped makes the call an error, whatever the shell's exit code.
        if let Some(stopped) = stopped {
            push_line(&mut output.text, &stopped);
            output.is_error = true;
        }
        // A full disk makes commands fail in many ways: say which limit it was.
        let full = match (&self.disk, self.workspace.parent()) {
            (Some(disk), Some(dir)) => disk.free_bytes(dir).await.filter(|free| *free < MIB).map(|_| disk.bytes()),
            _ => None,
        };
        if let Some(bytes) = full {
            crate::meters::sandbox_limit("disk");
            let note = "delete files in /workspace or /mnt/session/outputs";
            push_line(&mut output.text, &format!("[the session's disk of {} MiB is full: {note}]", bytes / MIB));
        }
        if !refused.is_empty() {
            push_line(&mut output.text, &format!("[the sandbox's network refused: {}]", refused.join("; ")));
        }
    }

    async fn file_tool(&self, name: &str, input: &Value) -> ToolOutput {
        let (mut command, _group) = match self.command(true, None, None) {
            Ok(made) => made,
            Err(output) => return output,
        };
        command.arg("--").arg(TOOL_PATH_IN_SANDBOX).arg("sandbox-tool").arg(name);
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => return spawn_failure(error),
        };
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let input = input.to_string();
        let run = async move {
            let _ = stdin.write_all(input.as_bytes()).await;
            drop(stdin);
            // Never more than the answer can be: a tool that prints without end is cut off.
            let (answer, errors) =
                tokio::join!(read_at_most(&mut stdout, MAX_ANSWER_BYTES), read_at_most(&mut stderr, 8192));
            child.wait().await.map(|_| (answer, errors))
        };
        match tokio::time::timeout(FILE_TOOL_TIMEOUT, run).await {
            Ok(Ok(((answer, _), (errors, _)))) => match serde_json::from_slice::<Value>(&answer) {
                Ok(answer) => ToolOutput {
                    text: truncate(answer["text"].as_str().unwrap_or_default().to_owned()),
                    is_error: answer["is_error"].as_bool().unwrap_or(true),
                },
                Err(_) => ToolOutput::error(format!(
                    "The {name} tool failed in the sandbox: {}",
                    String::from_utf8_lossy(&errors).trim()
                )),
            },
            Ok(Err(error)) => ToolOutput::error(format!("The {name} tool could not run: {error}")),
            Err(_) => {
                crate::meters::sandbox_limit("timeout");
                ToolOutput::error(format!("The {name} tool did not finish within {} s.", FILE_TOOL_TIMEOUT.as_secs()))
            }
        }
    }
}

/// The call's tunnel, for programs that ignore the proxy; `None` (with a warning, once) where the
/// engine cannot make one, and the proxy alone serves.
fn start_tunnel(egress: &Egress, proxy: &Proxy) -> Option<Tunnel> {
    static WARNED: std::sync::Once = std::sync::Once::new();
    let started = write_resolv_conf().and_then(|()| Tunnel::start(egress.clone(), proxy.refusals().clone()));
    match started {
        Ok(tunnel) => Some(tunnel),
        Err(error) => {
            WARNED.call_once(|| {
                tracing::warn!(
                    "sandboxes get no tunnel ({error}): only programs that use the proxy variables reach the network"
                );
            });
            None
        }
    }
}

/// The `resolv.conf` of sandboxes with a tunnel, beside the proxies' sockets (a folder only the
/// engine's user may write, checked by [`Proxy::start`]).
fn resolv_conf() -> PathBuf {
    egress_dir().join("resolv.conf")
}

/// Writes [`resolv_conf`] when it is not there yet, whole (a call binding it meanwhile sees the
/// old file or the new one, never half of one).
fn write_resolv_conf() -> std::io::Result<()> {
    let path = resolv_conf();
    if std::fs::read_to_string(&path).is_ok_and(|text| text == tunnel::RESOLV_CONF) {
        return Ok(());
    }
    let part = path.with_extension(format!("{:016x}", rand::random::<u64>()));
    std::fs::write(&part, tunnel::RESOLV_CONF)?;
    std::fs::rename(&part, &path)
}

/// Appends `line` to a tool's text on a line of its own.
fn push_line(text: &mut String, line: &str) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
}

/// Where the egress proxies' sockets are: a short path, as a Unix socket's must be.
fn egress_dir() -> PathBuf {
    std::env::temp_dir().join("switchboard-egress")
}

/// Binds what every call sees of the host, read-only: `/usr` (and the links to it), what
/// programs need of `/etc`, TLS and name resolution when the call has a network (`proxy`), the
/// tunnel's `resolv.conf`, and fresh `/proc` and `/dev`.
fn bind_system(command: &mut Command, proxy: bool, tunnel: bool) {
    command.args(["--ro-bind", "/usr", "/usr"]);
    for (link, target) in [("usr/bin", "/bin"), ("usr/lib", "/lib"), ("usr/lib64", "/lib64"), ("usr/sbin", "/sbin")] {
        command.args(["--symlink", link, target]);
    }
    // What programs need from /etc, and nothing with secrets in it.
    for file in ["/etc/alternatives", "/etc/passwd", "/etc/group", "/etc/localtime", "/etc/ld.so.cache"] {
        command.args(["--ro-bind-try", file, file]);
    }
    if proxy {
        // TLS needs the certificate authorities. Names are resolved by the proxy, or by the
        // tunnel's DNS, which the tunnel's resolv.conf names; never by the host's servers.
        for file in ["/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl", "/etc/ca-certificates"] {
            command.args(["--ro-bind-try", file, file]);
        }
    }
    if tunnel {
        command.arg("--ro-bind").arg(resolv_conf()).arg("/etc/resolv.conf");
    }
    command.args(["--proc", "/proc", "--dev", "/dev"]);
}

/// Starts calls in `/workspace` with a clean environment: home, locale, terminal, the packages'
/// variables, and the proxy's when the call has a network (`proxy`).
fn set_environment(command: &mut Command, proxy: bool) {
    command.args(["--chdir", "/workspace", "--clearenv"]);
    for (key, value) in [("HOME", "/workspace"), ("LANG", "C.UTF-8"), ("TERM", "dumb")] {
        command.args(["--setenv", key, value]);
    }
    for (key, value) in packages::variables() {
        command.arg("--setenv").arg(key).arg(value);
    }
    let proxy_variables = if proxy { egress::proxy_variables() } else { Vec::new() };
    for (key, value) in proxy_variables {
        command.arg("--setenv").arg(key).arg(value);
    }
}

/// Sets a tool call's rlimits on the calling process (the child, before bubblewrap starts).
fn limit(limits: &SandboxLimits) -> std::io::Result<()> {
    // CPU: SIGXCPU at the limit (the shell says "CPU time limit exceeded"), SIGKILL a second
    // later for a process that catches it.
    for (resource, soft, hard) in [
        (libc::RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (libc::RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1),
        (libc::RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes),
        (libc::RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (libc::RLIMIT_CORE, 0, 0),
    ] {
        let limit = libc::rlimit { rlim_cur: soft as libc::rlim_t, rlim_max: hard as libc::rlim_t };
        // SAFETY: a plain system call with a valid pointer to a local value.
        if unsafe { libc::setrlimit(resource, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn spawn_failure(error: std::io::Error) -> ToolOutput {
    if error.kind() == std::io::ErrorKind::NotFound {
        ToolOutput::error(
            "The sandbox is not installed on the engine's machine: install the bubblewrap package (bwrap).",
        )
    } else {
        ToolOutput::error(format!("The sandbox could not start: {error}"))
    }
}

async fn read_capped(stdout: &mut tokio::process::ChildStdout) -> String {
    let (kept, dropped) = read_at_most(stdout, MAX_OUTPUT_BYTES + 4).await;
    truncate_noting(String::from_utf8_lossy(&kept).into_owned(), dropped)
}

/// Reads `from` to its end, keeping its first `cap` bytes; answers them and how many more came.
async fn read_at_most(from: &mut (impl tokio::io::AsyncRead + Unpin), cap: usize) -> (Vec<u8>, usize) {
    let mut kept = Vec::new();
    let mut dropped = 0usize;
    let mut buffer = [0u8; 8192];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
                dropped += n.saturating_sub(room);
            }
        }
    }
    (kept, dropped)
}

/// Cuts a tool's text to [`MAX_OUTPUT_BYTES`] with a note.
pub fn truncate(text: String) -> String {
    truncate_noting(text, 0)
}

/// Cuts `text` to [`MAX_OUTPUT_BYTES`] (on a character boundary); the note counts what was cut
/// and the `unread` bytes that never made it into `text`.
fn truncate_noting(text: String, unread: usize) -> String {
    cut_to(text, MAX_OUTPUT_BYTES, unread)
}

/// `text` cut to `max` bytes (on a character boundary), with a note counting what was cut and
/// the `unread` bytes that never made it into `text`.
fn cut_to(text: String, max: usize, unread: usize) -> String {
    if text.len() <= max && unread == 0 {
        return text;
    }
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let extra = text.len() - end + unread;
    format!("{}\n[output truncated: {extra} more bytes not shown]", &text[..end])
}

/// A file tool's `text` followed by its `note` (a file read only in part): the text is cut so
/// that the note survives the cut to [`MAX_OUTPUT_BYTES`] the answer gets.
fn with_note(text: String, note: &str) -> String {
    if note.is_empty() {
        return text;
    }
    // Room for the note and for the truncation's own line.
    let room = MAX_OUTPUT_BYTES.saturating_sub(note.len() + 64);
    let mut text = cut_to(text, room, 0);
    text.push_str(note);
    text
}

// ---------------------------------------------------------------------------------------------
// Inside the sandbox
// ---------------------------------------------------------------------------------------------

/// Runs one file tool inside the sandbox: the input JSON on stdin, `{"text", "is_error"}` on
/// stdout. Paths are the sandbox's own; relative ones are under `/workspace`.
pub fn tool_main(name: &str) -> i32 {
    let mut input = String::new();
    let output = match std::io::stdin().read_to_string(&mut input) {
        Err(error) => ToolFailure::InputUnread(error).into(),
        Ok(_) => match serde_json::from_str::<Value>(&input) {
            Err(error) => ToolFailure::InputNotJson(error).into(),
            Ok(input) => run_file_tool(name, &input, Path::new("/workspace")),
        },
    };
    // Cut here already: the host reads no more than this of the answer.
    println!("{}", json!({ "text": truncate(output.text), "is_error": output.is_error }));
    0
}

/// The file tools, against `workspace` as the base of relative paths.
pub fn run_file_tool(name: &str, input: &Value, workspace: &Path) -> ToolOutput {
    let text = |key: &str| input.get(key).and_then(Value::as_str);
    let path = |key: &str| text(key).map(|p| workspace.join(p));
    let missing = |tool, needs| ToolFailure::MissingInput { tool, needs };
    let result = match name {
        "read" => match path("file_path") {
            None => Err(missing("read", "file_path")),
            Some(file) => read(&file, input.get("view_range")),
        },
        "write" => match (path("file_path"), text("content")) {
            (Some(file), Some(content)) => write(&file, content),
            _ => Err(missing("write", "file_path and content")),
        },
        "edit" => match (path("file_path"), text("old_string"), text("new_string")) {
            (Some(file), Some(old), Some(new)) => {
                edit(&file, old, new, input.get("replace_all").and_then(Value::as_bool).unwrap_or(false))
            }
            _ => Err(missing("edit", "file_path, old_string and new_string")),
        },
        "glob" => match text("pattern") {
            None => Err(missing("glob", "a pattern")),
            Some(pattern) => glob(pattern, &path("path").unwrap_or_else(|| workspace.to_owned())),
        },
        "grep" => match text("pattern") {
            None => Err(missing("grep", "a pattern")),
            Some(pattern) => grep(pattern, &path("path").unwrap_or_else(|| workspace.to_owned())),
        },
        other => Err(ToolFailure::UnknownTool(other.to_owned())),
    };
    result.map_or_else(ToolOutput::from, ToolOutput::ok)
}

/// The first [`MAX_FILE_BYTES`] of a regular file, and its whole size. Anything else (a
/// directory, a device such as `/dev/zero`, a pipe, a socket) is refused in words.
fn read_file(path: &Path, tool: &'static str) -> Result<(Vec<u8>, u64), ToolFailure> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so that opening a named pipe returns at once (to be refused below) instead
    // of waiting for a writer; it changes nothing for a regular file.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| ToolFailure::io(path, e))?;
    let metadata = file.metadata().map_err(|e| ToolFailure::io(path, e))?;
    if metadata.is_dir() {
        return Err(ToolFailure::IsDirectory(path.to_owned()));
    }
    if !metadata.is_file() {
        return Err(ToolFailure::NotRegularFile { path: path.to_owned(), tool });
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES).read_to_end(&mut bytes).map_err(|e| ToolFailure::io(path, e))?;
    Ok((bytes, metadata.len()))
}

fn read(path: &Path, view_range: Option<&Value>) -> Result<String, ToolFailure> {
    let (bytes, size) = read_file(path, "read")?;
    let cut = size > bytes.len() as u64;
    let content = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = content.lines().collect();
    let (start, end) = match view_range.and_then(Value::as_array) {
        None => (1, lines.len()),
        Some(range) => {
            let start = range.first().and_then(Value::as_i64).unwrap_or(1).max(1) as usize;
            let end = range.get(1).and_then(Value::as_i64).unwrap_or(0);
            let end = if end <= 0 { lines.len() } else { (end as usize).min(lines.len()) };
            (start, end)
        }
    };
    if lines.is_empty() {
        return Ok(String::new());
    }
    if start > lines.len() || start > end {
        return Err(ToolFailure::ViewRangeOutside { start, path: path.to_owned(), lines: lines.len() });
    }
    let text: String =
        lines[start - 1..end].iter().enumerate().map(|(i, line)| format!("{:6}\t{line}\n", start + i)).collect();
    let note = if cut {
        format!(
            "\n[{} is {size} bytes; read shows its first {MAX_FILE_BYTES}. Use bash (head, tail, sed -n) for the rest.]\n",
            path.display()
        )
    } else {
        String::new()
    };
    Ok(with_note(text, &note))
}

fn write(path: &Path, content: &str) -> Result<String, ToolFailure> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ToolFailure::io(parent, e))?;
    }
    std::fs::write(path, content).map_err(|e| ToolFailure::io(path, e))?;
    Ok(format!("Wrote {} bytes to {}.", content.len(), path.display()))
}

fn edit(path: &Path, old: &str, new: &str, replace_all: bool) -> Result<String, ToolFailure> {
    if old.is_empty() {
        return Err(ToolFailure::EmptyOldString);
    }
    if old == new {
        return Err(ToolFailure::NothingToChange);
    }
    let (bytes, size) = read_file(path, "edit")?;
    if size > bytes.len() as u64 {
        return Err(ToolFailure::TooLargeToEdit { path: path.to_owned(), size });
    }
    let content = String::from_utf8(bytes).map_err(|_| ToolFailure::NotText(path.to_owned()))?;
    let count = content.matches(old).count();
    if count == 0 {
        return Err(ToolFailure::OldStringMissing(path.to_owned()));
    }
    if count > 1 && !replace_all {
        return Err(ToolFailure::OldStringAmbiguous { path: path.to_owned(), count });
    }
    let updated = if replace_all { content.replace(old, new) } else { content.replacen(old, new, 1) };
    std::fs::write(path, updated).map_err(|e| ToolFailure::io(path, e))?;
    Ok(format!("Replaced {count} occurrence(s) in {}.", path.display()))
}

const MAX_MATCHES: usize = 1000;

/// Every entry under `base`, symlinks not followed, the kernel's pseudo file systems left out
/// (a search from `/` would otherwise read `/proc` without end).
fn walk(base: &Path) -> impl Iterator<Item = walkdir::DirEntry> {
    walkdir::WalkDir::new(base)
        .follow_links(false)
        .into_iter()
        .filter_entry(|entry| !["/proc", "/sys", "/dev"].iter().any(|p| entry.path() == Path::new(p)))
        .filter_map(Result::ok)
}

fn glob(pattern: &str, base: &Path) -> Result<String, ToolFailure> {
    let matcher = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|error| ToolFailure::BadGlob { pattern: pattern.to_owned(), error })?
        .compile_matcher();
    if !base.is_dir() {
        return Err(ToolFailure::NotADirectory(base.to_owned()));
    }
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = walk(base)
        .filter(|entry| entry.file_type().is_file())
        .filter(|entry| entry.path().strip_prefix(base).is_ok_and(|relative| matcher.is_match(relative)))
        .map(|entry| {
            let modified = entry.metadata().ok().and_then(|m| m.modified().ok()).unwrap_or(std::time::UNIX_EPOCH);
            (modified, entry.into_path())
        })
        .collect();
    found.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    if found.is_empty() {
        return Ok(format!("No files match {pattern:?} under {}.", base.display()));
    }
    let total = found.len();
    let mut text: String = found.iter().take(MAX_MATCHES).map(|(_, p)| format!("{}\n", p.display())).collect();
    if total > MAX_MATCHES {
        text.push_str(&format!("[{} more files not shown]\n", total - MAX_MATCHES));
    }
    Ok(text)
}

fn grep(pattern: &str, base: &Path) -> Result<String, ToolFailure> {
    let regex =
        regex::Regex::new(pattern).map_err(|error| ToolFailure::BadRegex { pattern: pattern.to_owned(), error })?;
    if !base.exists() {
        return Err(ToolFailure::NotFound(base.to_owned()));
    }
    let mut lines = Vec::new();
    let mut total = 0usize;
    let mut cut = Vec::new();
    for entry in walk(base) {
        // Regular files only: a device or a pipe (or a symlink to one) is never read.
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok((bytes, size)) = read_file(entry.path(), "grep") else { continue };
        if size > bytes.len() as u64 {
            cut.push(entry.path().display().to_string());
        }
        if bytes[..bytes.len().min(8192)].contains(&0) {
            continue; // binary
        }
        for (number, line) in String::from_utf8_lossy(&bytes).lines().enumerate() {
            if regex.is_match(line) {
                total += 1;
                if lines.len() < MAX_MATCHES {
                    lines.push(format!("{}:{}:{line}", entry.path().display(), number + 1));
                }
            }
        }
    }
    let searched_part = if cut.is_empty() {
        String::new()
    } else {
        // Named up to 20 of them, so that the note stays short.
        let more = if cut.len() > 20 { format!(" and {} more", cut.len() - 20) } else { String::new() };
        format!("\n[searched only the first {MAX_FILE_BYTES} bytes of: {}{more}]", cut[..cut.len().min(20)].join(", "))
    };
    if total == 0 {
        return Ok(format!("No lines match {pattern:?} under {}.{searched_part}", base.display()));
    }
    let mut note = String::new();
    if total > MAX_MATCHES {
        note.push_str(&format!("\n[{} more matching lines not shown]", total - MAX_MATCHES));
    }
    note.push_str(&searched_part);
    Ok(with_note(lines.join("\n"), &note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    #[test]
    fn limits_come_from_the_environment_in_whole_units_and_bad_values_are_named() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert_eq!(SandboxLimits::from_env(env(&[])).unwrap(), SandboxLimits::default());
        let limits = SandboxLimits::from_env(env(&[
            ("SWITCHBOARD_SANDBOX_MEMORY_MB", "512"),
            ("SWITCHBOARD_SANDBOX_TMP_MB", "64"),
        ]))
        .unwrap();
        assert_eq!((limits.memory_bytes, limits.tmp_bytes), (512 * MIB, 64 * MIB));
        assert_eq!(limits.cpu_seconds, SandboxLimits::default().cpu_seconds);
        for bad in ["0", "-1", "lots", "1.5", "99999999999999999999"] {
            let refused = SandboxLimits::from_env(move |name: &str| {
                (name == "SWITCHBOARD_SANDBOX_FILE_MB").then(|| bad.to_owned())
            })
            .unwrap_err();
            assert_eq!(refused, ConfigError::NotACount { name: "SWITCHBOARD_SANDBOX_FILE_MB", value: bad.to_owned() });
        }
        // What the operator reads at start.
        let refused = SandboxLimits::from_env(env(&[("SWITCHBOARD_SANDBOX_TMP_MB", "lots")])).unwrap_err();
        assert_eq!(refused.to_string(), "SWITCHBOARD_SANDBOX_TMP_MB must be a whole number above 0, not \"lots\".");
    }

    fn temp() -> PathBuf {
        let dir = std::env::temp_dir().join(crate::ids::new_id("sandbox-test"));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn edit_needs_a_unique_old_string_unless_replace_all() {
        let dir = temp();
        let input = |replace_all| json!({"file_path": "a.txt", "old_string": "x", "new_string": "y", "replace_all": replace_all});
        run_file_tool("write", &json!({"file_path": "a.txt", "content": "x x"}), &dir);
        let refused = edit(&dir.join("a.txt"), "x", "y", false);
        assert!(matches!(refused, Err(ToolFailure::OldStringAmbiguous { count: 2, .. })), "{refused:?}");
        assert!(run_file_tool("edit", &input(false), &dir).is_error);
        assert!(!run_file_tool("edit", &input(true), &dir).is_error);
        assert_eq!(std::fs::read_to_string(dir.join("a.txt")).unwrap(), "y y");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn read_numbers_lines_and_honours_view_range() {
        let dir = temp();
        std::fs::write(dir.join("f"), "one\ntwo\nthree\n").unwrap();
        let out = run_file_tool("read", &json!({"file_path": "f", "view_range": [2, 0]}), &dir);
        assert_eq!(out.text, "     2\ttwo\n     3\tthree\n");
        let missing = read(&dir.join("missing"), None);
        assert!(matches!(&missing, Err(ToolFailure::NotFound(path)) if *path == dir.join("missing")), "{missing:?}");
        // The tool result the model reads.
        let out = run_file_tool("read", &json!({"file_path": "missing"}), &dir);
        assert_eq!(out, ToolOutput::error(format!("{} does not exist.", dir.join("missing").display())));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn glob_and_grep_find_files_and_lines() {
        let dir = temp();
        std::fs::create_dir_all(dir.join("src/deep")).unwrap();
        std::fs::write(dir.join("src/deep/a.rs"), "fn main() {}\n").unwrap();
        std::fs::write(dir.join("b.txt"), "hello\n").unwrap();
        let out = run_file_tool("glob", &json!({"pattern": "**/*.rs"}), &dir);
        assert!(out.text.contains("src/deep/a.rs") && !out.text.contains("b.txt"), "{out:?}");
        let out = run_file_tool("grep", &json!({"pattern": "fn \\w+"}), &dir);
        assert!(out.text.contains("a.rs:1:fn main() {}"), "{out:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn long_output_is_cut_with_a_note() {
        let text = truncate("é".repeat(MAX_OUTPUT_BYTES));
        assert!(text.len() < MAX_OUTPUT_BYTES + 100);
        assert!(text.ends_with(&format!("[output truncated: {} more bytes not shown]", MAX_OUTPUT_BYTES)));
    }
}
