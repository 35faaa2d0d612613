//! What each process of a tool call may use ([`SandboxLimits`]): the rlimits the sandbox sets,
//! and the process and memory caps its control groups ([`super::cgroups`]) hold a call to.

use crate::config::ConfigError;

/// The longest a `bash` call may run, and so the CPU seconds a process gets by default.
pub const MAX_BASH_TIMEOUT_MS: u64 = 600_000;
/// A mebibyte.
pub const MIB: u64 = 1024 * 1024;

/// What each process of a tool call may use. Defaults in docs/configuration.md; each is settable per engine
/// (`SWITCHBOARD_SANDBOX_*`, see [`SandboxLimits::from_env`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Address space per process (`RLIMIT_AS`): an allocation past it fails.
    pub memory_bytes: u64,
    /// CPU seconds per process (`RLIMIT_CPU`): past it the process is killed.
    pub cpu_seconds: u64,
    /// The largest file a process may write (`RLIMIT_FSIZE`): a write past it fails.
    pub file_bytes: u64,
    /// Open files per process (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// The size of the sandbox's `/tmp` (a tmpfs, in memory).
    pub tmp_bytes: u64,
    /// Processes of one call at once (its control group's `pids.max`); also the limit of the
    /// memory of all of them together (`memory.max`) is `memory_bytes`.
    pub processes: u64,
    /// The size of a session's disk: its workspace, outputs and mounted memory stores together
    /// ([`super::disks`], where the engine can mount them).
    pub disk_bytes: u64,
    /// How long a session's disk stays mounted with nothing happening in the session: then it
    /// is unmounted (its image kept) and mounted again by its next tool call, so that idle
    /// sessions hold no mount or loop device.
    pub disk_idle_seconds: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 4096 * MIB,
            cpu_seconds: MAX_BASH_TIMEOUT_MS / 1000,
            file_bytes: 1024 * MIB,
            open_files: 1024,
            tmp_bytes: 256 * MIB,
            processes: 256,
            disk_bytes: 10 * 1024 * MIB,
            disk_idle_seconds: 300,
        }
    }
}

impl SandboxLimits {
    /// The defaults, with `SWITCHBOARD_SANDBOX_MEMORY_MB`, `_CPU_SECONDS`, `_FILE_MB`,
    /// `_OPEN_FILES`, `_TMP_MB`, `_PROCESSES`, `_DISK_MB` and `_DISK_IDLE_SECONDS` applied where
    /// `get` has them.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut limits = Self::default();
        for (name, field, unit) in [
            ("SWITCHBOARD_SANDBOX_MEMORY_MB", &mut limits.memory_bytes, MIB),
            ("SWITCHBOARD_SANDBOX_CPU_SECONDS", &mut limits.cpu_seconds, 1),
            ("SWITCHBOARD_SANDBOX_FILE_MB", &mut limits.file_bytes, MIB),
            ("SWITCHBOARD_SANDBOX_OPEN_FILES", &mut limits.open_files, 1),
            ("SWITCHBOARD_SANDBOX_TMP_MB", &mut limits.tmp_bytes, MIB),
            ("SWITCHBOARD_SANDBOX_PROCESSES", &mut limits.processes, 1),
            ("SWITCHBOARD_SANDBOX_DISK_MB", &mut limits.disk_bytes, MIB),
            ("SWITCHBOARD_SANDBOX_DISK_IDLE_SECONDS", &mut limits.disk_idle_seconds, 1),
        ] {
            if let Some(value) = get(name) {
                *field = value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .and_then(|n| n.checked_mul(unit))
                    .ok_or_else(|| ConfigError::NotACount { name, value: value.clone() })?;
            }
        }
        Ok(limits)
    }
}
