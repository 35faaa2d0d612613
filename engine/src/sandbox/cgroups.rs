//! Control groups for tool calls: every call's processes together may run at most
//! [`SandboxLimits::processes`] processes (a fork bomb stops there) and use at most
//! [`SandboxLimits::memory_bytes`] of memory (the kernel's OOM killer ends the call's biggest
//! process past it).
//!
//! Detected at start ([`Cgroups::detect`]): the unified hierarchy (cgroup v2) when its `pids` and
//! `memory` controllers can be enabled below the engine's own group, else the legacy hierarchies
//! (cgroup v1) of those controllers when the engine may make groups in them. Each call gets a
//! group of its own inside its session's group, under `switchboard-sandbox/` in the engine's
//! group, joined by the call's first process before bubblewrap starts, and removed when the call
//! ends. Both carry the limits: the call's, so that its result can say what they stopped; the
//! session's, so that calls of one session at once (its threads') share one allowance. A session's
//! group stays [`LINGER`] after its last call ends, so that a working session does not pay for
//! making it at every call (a v1 memory group's mkdir and rmdir cost milliseconds), then goes.
//! Without either hierarchy, the rlimits alone apply, and the engine says so at start.

use std::{
    collections::HashMap,
    ffi::CString,
    io,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use super::limits::SandboxLimits;

/// The directory made under the engine's own group for its calls' groups.
const PARENT: &str = "switchboard-sandbox";
/// How long a session's group stays after its last call ended.
pub const LINGER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// Why tool calls get no control groups here: `/proc` could not be read, or neither hierarchy
/// can be used (each one's reason, for the log).
#[derive(Debug, Clone, thiserror::Error)]
pub enum CgroupsUnavailable {
    #[error("no /proc/self/mountinfo: {0}")]
    NoMountInfo(Arc<io::Error>),
    #[error("no /proc/self/cgroup: {0}")]
    NoOwnGroups(Arc<io::Error>),
    #[error("cgroup v2: {v2}; cgroup v1: {v1}")]
    Neither { v2: HierarchyUnusable, v1: HierarchyUnusable },
}

/// Why one hierarchy (v2, or v1's `pids` or `memory`) cannot hold the engine's calls.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HierarchyUnusable {
    #[error("not mounted")]
    NotMounted,
    #[error("the engine's group is not listed")]
    GroupNotListed,
    #[error("the {controller} controller is not available in {}", .base.display())]
    ControllerMissing { controller: &'static str, base: PathBuf },
    #[error(
        "the pids and memory controllers cannot be enabled below {} ({error}); run the engine in a delegated group of its own",
        .base.display()
    )]
    NotDelegated { base: PathBuf, error: Arc<io::Error> },
    #[error("no {controller} hierarchy")]
    NoHierarchy { controller: &'static str },
    #[error("the engine's {controller} group is not listed")]
    ControllerGroupNotListed { controller: &'static str },
    #[error("cannot make {}: {error}", .parent.display())]
    CannotMake { parent: PathBuf, error: Arc<io::Error> },
}

/// Where calls' groups are made.
#[derive(Debug, Clone)]
pub struct Cgroups {
    version: Version,
    /// v2: one directory for both controllers; v1: the `pids` one, then the `memory` one.
    parents: Vec<PathBuf>,
    /// The sessions whose groups exist, shared by every clone.
    sessions: Arc<Mutex<HashMap<String, SessionUse>>>,
    linger: Duration,
}

/// A session group's use: the calls in it, and which quiet spell may remove it.
#[derive(Debug, Default)]
struct SessionUse {
    calls: usize,
    quiet_since: u64,
}

impl Cgroups {
    fn new(version: Version, parents: Vec<PathBuf>) -> Self {
        Self { version, parents, sessions: Arc::default(), linger: LINGER }
    }

    /// The control groups this machine lets the engine use, or why there are none; looked for
    /// once per process.
    pub fn detect() -> Result<Self, CgroupsUnavailable> {
        static FOUND: std::sync::OnceLock<Result<Cgroups, CgroupsUnavailable>> = std::sync::OnceLock::new();
        FOUND.get_or_init(Self::look).clone()
    }

    fn look() -> Result<Self, CgroupsUnavailable> {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| CgroupsUnavailable::NoMountInfo(Arc::new(e)))?;
        let own =
            std::fs::read_to_string("/proc/self/cgroup").map_err(|e| CgroupsUnavailable::NoOwnGroups(Arc::new(e)))?;
        let v2 = match v2(&mounts, &own) {
            Ok(found) => return Ok(found),
            Err(why) => why,
        };
        v1(&mounts, &own).map_err(|v1| CgroupsUnavailable::Neither { v2, v1 })
    }

    /// Which hierarchy, in words for the log.
    pub fn describe(&self) -> String {
        match self.version {
            Version::V2 => format!("cgroup v2 ({})", self.parents[0].display()),
            Version::V1 => format!("cgroup v1 ({} and {})", self.parents[0].display(), self.parents[1].display()),
        }
    }

    /// A new group for one call of `session`, inside the session's group, with `limits` set on
    /// both.
    pub fn group(&self, session: &str, limits: &SandboxLimits) -> io::Result<CallGroup> {
        let session: String = session.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let session = format!("session-{}-{session}", std::process::id());
        let name = format!("call-{:016x}", rand::random::<u64>());
        let mut group = CallGroup {
            version: self.version,
            dirs: Vec::new(),
            sessions: Vec::new(),
            procs: Vec::new(),
            release: Some(Release { cgroups: self.clone(), session: session.clone() }),
        };
        // Held while the session's group is made, as its removal holds it: neither sees half of
        // the other. (A failed group gives its use back when dropped, after the lock.)
        let made = {
            let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            sessions.entry(session.clone()).or_default().calls += 1;
            self.make(&mut group, &session, &name, limits)
        };
        made.map(|()| group)
    }

    fn make(&self, group: &mut CallGroup, session: &str, name: &str, limits: &SandboxLimits) -> io::Result<()> {
        for (index, parent) in self.parents.iter().enumerate() {
            let session_dir = parent.join(session);
            match std::fs::create_dir(&session_dir) {
                Ok(()) => {
                    group.sessions.push(session_dir.clone());
                    if self.version == Version::V2 {
                        std::fs::write(session_dir.join("cgroup.subtree_control"), "+pids +memory")?;
                    }
                    write_limits(self.version, index, &session_dir, limits)?;
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => group.sessions.push(session_dir.clone()),
                Err(error) => return Err(error),
            }
            let dir = session_dir.join(name);
            std::fs::create_dir(&dir)?;
            group.dirs.push(dir.clone());
            // v1: the calling thread alone, through `tasks`; the child that joins is a
            // single-threaded fork, so this moves the whole process. Writing "0" there (the
            // writer itself) is the one move the kernel makes without its global
            // threadgroup lock, whose RCU grace period cost a busy engine 5–13 ms per hierarchy
            // through `cgroup.procs`. v2 has no `tasks` in a domain group.
            let file = match self.version {
                Version::V1 => "tasks",
                Version::V2 => "cgroup.procs",
            };
            let procs = CString::new(dir.join(file).as_os_str().as_bytes())
                .map_err(|_| io::Error::other("a cgroup path with a NUL byte"))?;
            group.procs.push(procs);
            write_limits(self.version, index, &dir, limits)?;
        }
        Ok(())
    }

    /// A call of `session` ended: when it was the last, the session's group goes after
    /// [`Cgroups::linger`] unless a call comes meanwhile (at once without a runtime to wait on).
    fn release(&self, session: &str, dirs: Vec<PathBuf>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(used) = sessions.get_mut(session) else { return };
        used.calls = used.calls.saturating_sub(1);
        if used.calls > 0 {
            return;
        }
        used.quiet_since += 1;
        let spell = used.quiet_since;
        drop(sessions);
        let (cgroups, session) = (self.clone(), session.to_owned());
        let remove = move || {
            let mut sessions = cgroups.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if sessions.get(&session).is_some_and(|used| used.calls == 0 && used.quiet_since == spell) {
                for dir in &dirs {
                    let _ = std::fs::remove_dir(dir);
                }
                sessions.remove(&session);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let linger = self.linger;
                runtime.spawn(async move {
                    tokio::time::sleep(linger).await;
                    remove();
                });
            }
            Err(_) => remove(),
        }
    }
}

/// Gives a call's use of its session's group back when the call's group goes.
#[derive(Debug)]
struct Release {
    cgroups: Cgroups,
    session: String,
}

/// Sets `limits` on a group: both controllers' on v2; on v1 those of the hierarchy at `index` of
/// [`Cgroups::parents`] (0: pids, 1: memory).
fn write_limits(version: Version, index: usize, dir: &Path, limits: &SandboxLimits) -> io::Result<()> {
    let processes = limits.processes.to_string();
    let memory = limits.memory_bytes.to_string();
    match (version, index) {
        (Version::V2, _) => {
            std::fs::write(dir.join("pids.max"), &processes)?;
            std::fs::write(dir.join("memory.max"), &memory)?;
            // Swap would let a call use more memory than the limit says.
            let _ = std::fs::write(dir.join("memory.swap.max"), "0");
        }
        (Version::V1, 0) => std::fs::write(dir.join("pids.max"), &processes)?,
        (Version::V1, _) => {
            std::fs::write(dir.join("memory.limit_in_bytes"), &memory)?;
            let _ = std::fs::write(dir.join("memory.memsw.limit_in_bytes"), &memory);
        }
    }
    Ok(())
}

/// One call's group; removed when dropped (any process left in it is killed first), and its
/// session's group with it when no other call is in it.
#[derive(Debug)]
pub struct CallGroup {
    version: Version,
    dirs: Vec<PathBuf>,
    /// The session's group in each hierarchy.
    sessions: Vec<PathBuf>,
    release: Option<Release>,
    /// The file of each directory the child writes itself into (`tasks` or `cgroup.procs`).
    procs: Vec<CString>,
}

impl CallGroup {
    /// What the call's first process needs to join the group, made before the fork.
    pub fn joiner(&self) -> Joiner {
        Joiner { procs: self.procs.clone() }
    }
}

/// The `tasks` (v1) or `cgroup.procs` (v2) files of a call's group, for its first process to
/// write itself into.
#[derive(Debug, Clone)]
pub struct Joiner {
    procs: Vec<CString>,
}

impl Joiner {
    /// Moves the calling process into the group ("0" names the writer). Runs in the child
    /// between fork and exec: it makes only `open`, `write` and `close` system calls, on memory
    /// made before the fork.
    pub fn join(&self) -> io::Result<()> {
        for path in &self.procs {
            // SAFETY: a valid NUL-terminated path, and a one-byte buffer.
            unsafe {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }
}

impl CallGroup {
    /// What the limits stopped during the call, in words for its tool result: forks refused at
    /// the process limit, processes the OOM killer ended at the memory limit.
    pub fn report(&self, limits: &SandboxLimits) -> Option<String> {
        let (pids_dir, memory_dir) = match self.version {
            Version::V2 => (&self.dirs[0], &self.dirs[0]),
            Version::V1 => (&self.dirs[0], &self.dirs[1]),
        };
        let count = |file: &Path, key: &str| -> u64 {
            std::fs::read_to_string(file)
                .ok()
                .and_then(|text| {
                    text.lines().find_map(|line| line.strip_prefix(key).and_then(|n| n.trim().parse().ok()))
                })
                .unwrap_or(0)
        };
        let refused = count(&pids_dir.join("pids.events"), "max ");
        let killed = match self.version {
            Version::V2 => count(&memory_dir.join("memory.events"), "oom_kill "),
            Version::V1 => count(&memory_dir.join("memory.oom_control"), "oom_kill "),
        };
        let mut notes = Vec::new();
        if refused > 0 {
            crate::meters::sandbox_limit("processes");
            notes.push(format!(
                "{refused} new process(es) were refused: the sandbox runs at most {} processes at once",
                limits.processes
            ));
        }
        if killed > 0 {
            crate::meters::sandbox_limit("memory");
            notes.push(format!(
                "{killed} process(es) were killed at the sandbox's memory limit of {} MiB",
                limits.memory_bytes / (1024 * 1024)
            ));
        }
        (!notes.is_empty()).then(|| format!("[{}]", notes.join("; ")))
    }
}

impl Drop for CallGroup {
    fn drop(&mut self) {
        for dir in &self.dirs {
            for _ in 0..50 {
                // A process left behind (the call timed out) is killed; the group goes once empty.
                if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                    for pid in procs.lines().filter_map(|p| p.trim().parse::<i32>().ok()) {
                        // SAFETY: a plain system call; the pid is one the kernel listed in the group.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        if let Some(release) = self.release.take() {
            release.cgroups.release(&release.session, std::mem::take(&mut self.sessions));
        }
    }
}

/// The mount point of a hierarchy in `/proc/self/mountinfo`: of type `fstype`, and for v1 with
/// `controller` among its options.
fn mount_point<'a>(mounts: &'a str, fstype: &str, controller: Option<&str>) -> Option<&'a str> {
    mounts.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let mut after = after.split(' ');
        if after.next()? != fstype {
            return None;
        }
        let options = after.nth(1).unwrap_or_default();
        if let Some(controller) = controller
            && !options.split(',').any(|o| o == controller)
        {
            return None;
        }
        before.split(' ').nth(4)
    })
}

/// The engine's own group in the hierarchy whose `/proc/self/cgroup` line matches `which`.
fn own_group(own: &str, which: impl Fn(&str) -> bool) -> Option<&str> {
    own.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        which(controllers).then_some(path)
    })
}

fn v2(mounts: &str, own: &str) -> Result<Cgroups, HierarchyUnusable> {
    let mount = mount_point(mounts, "cgroup2", None).ok_or(HierarchyUnusable::NotMounted)?;
    let path = own_group(own, str::is_empty).ok_or(HierarchyUnusable::GroupNotListed)?;
    let base = Path::new(mount).join(path.trim_start_matches('/'));
    let available = std::fs::read_to_string(base.join("cgroup.controllers")).unwrap_or_default();
    for controller in ["pids", "memory"] {
        if !available.split_whitespace().any(|c| c == controller) {
            return Err(HierarchyUnusable::ControllerMissing { controller, base });
        }
    }
    let parent = base.join(PARENT);
    prepare(&parent)?;
    // The engine's own group may hold processes (its own); enabling controllers for its children
    // is refused then, unless it is the root.
    std::fs::write(base.join("cgroup.subtree_control"), "+pids +memory")
        .and_then(|_| std::fs::write(parent.join("cgroup.subtree_control"), "+pids +memory"))
        .map_err(|e| HierarchyUnusable::NotDelegated { base, error: Arc::new(e) })?;
    Ok(Cgroups::new(Version::V2, vec![parent]))
}

fn v1(mounts: &str, own: &str) -> Result<Cgroups, HierarchyUnusable> {
    let mut parents = Vec::new();
    for controller in ["pids", "memory"] {
        let mount =
            mount_point(mounts, "cgroup", Some(controller)).ok_or(HierarchyUnusable::NoHierarchy { controller })?;
        let path = own_group(own, |c| c.split(',').any(|c| c == controller))
            .ok_or(HierarchyUnusable::ControllerGroupNotListed { controller })?;
        let parent = Path::new(mount).join(path.trim_start_matches('/')).join(PARENT);
        prepare(&parent)?;
        parents.push(parent);
    }
    Ok(Cgroups::new(Version::V1, parents))
}

/// Makes `parent`, and removes the groups that processes no longer running left in it (an engine
/// that was killed): `session-<pid>-…` with the calls' groups in it (and stop 29's
/// `call-<pid>-…`); those of running engines are theirs.
fn prepare(parent: &Path) -> Result<(), HierarchyUnusable> {
    std::fs::create_dir_all(parent)
        .map_err(|e| HierarchyUnusable::CannotMake { parent: parent.to_owned(), error: Arc::new(e) })?;
    if let Ok(entries) = std::fs::read_dir(parent) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let owner = name
                .strip_prefix("session-")
                .or_else(|| name.strip_prefix("call-"))
                .and_then(|rest| rest.split('-').next());
            if let Some(pid) = owner
                && !Path::new("/proc").join(pid).exists()
            {
                if let Ok(calls) = std::fs::read_dir(entry.path()) {
                    for call in calls.flatten().filter(|call| call.path().is_dir()) {
                        let _ = std::fs::remove_dir(call.path());
                    }
                }
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchies_are_found_in_mountinfo_and_the_engines_group_in_proc_cgroup() {
        let mounts = "\
35 25 0:30 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
36 25 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 25 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";
        assert_eq!(mount_point(mounts, "cgroup", Some("memory")), Some("/sys/fs/cgroup/memory"));
        assert_eq!(mount_point(mounts, "cgroup", Some("cpu")), None);
        assert_eq!(mount_point(mounts, "cgroup2", None), Some("/sys/fs/cgroup/unified"));
        let own = "8:pids:/\n4:memory:/process_api/abc\n0::/";
        assert_eq!(own_group(own, |c| c == "memory"), Some("/process_api/abc"));
        assert_eq!(own_group(own, str::is_empty), Some("/"));
    }

    #[tokio::test]
    async fn calls_of_one_session_share_its_group_with_the_limits_and_it_goes_after_the_last() {
        let detected = Cgroups::detect().expect("control groups, as CI has (root)");
        let cgroups =
            Cgroups { linger: Duration::from_millis(200), ..Cgroups::new(detected.version, detected.parents) };
        let limits = SandboxLimits { processes: 77, memory_bytes: 123 * 1024 * 1024, ..SandboxLimits::default() };
        let first = cgroups.group("sesn_shared", &limits).unwrap();
        let second = cgroups.group("sesn_shared", &limits).unwrap();
        let other = cgroups.group("sesn_other", &limits).unwrap();
        assert_eq!(first.sessions, second.sessions);
        assert_ne!(first.sessions, other.sessions);
        for group in [&first, &second] {
            for (call, session) in group.dirs.iter().zip(&group.sessions) {
                assert_eq!(call.parent(), Some(session.as_path()), "a call's group is inside its session's");
            }
        }
        let read = |dir: &Path, file: &str| std::fs::read_to_string(dir.join(file)).unwrap().trim().to_owned();
        let (pids, memory, memory_file) = match cgroups.version {
            Version::V2 => (&first.sessions[0], &first.sessions[0], "memory.max"),
            Version::V1 => (&first.sessions[0], &first.sessions[1], "memory.limit_in_bytes"),
        };
        assert_eq!(read(pids, "pids.max"), "77");
        assert_eq!(read(memory, memory_file), (123 * 1024 * 1024).to_string());

        let sessions = first.sessions.clone();
        drop(first);
        drop(second);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(sessions.iter().all(|dir| dir.is_dir()), "it lingers after the last call");
        // A call meanwhile keeps it, past the first quiet spell's end.
        let third = cgroups.group("sesn_shared", &limits).unwrap();
        assert_eq!(third.sessions, sessions);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(sessions.iter().all(|dir| dir.is_dir()), "in use again");
        drop(third);
        drop(other);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(sessions.iter().all(|dir| !dir.exists()), "gone once quiet for the linger");
        assert!(cgroups.sessions.lock().unwrap().is_empty());
    }
}
