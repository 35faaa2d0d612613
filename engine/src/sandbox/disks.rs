//! A disk of its own for each session's sandbox, so that a session cannot fill the host's: its
//! folder (`<data>/sandboxes/<session>`: workspace, outputs, mounted memory stores) is an ext4
//! image of [`SandboxLimits::disk_bytes`](super::SandboxLimits) (`<data>/disks/<session>.img`,
//! sparse: it takes on the host only what is written), loop-mounted on its folder.
//!
//! The mounts live in a mount namespace of the engine's own, never in the host's: at start the
//! engine runs a keeper (`unshare --mount --propagation slave cat`, reading the engine's pipe)
//! and holds its namespace open. Sandboxes start in that namespace (`setns` before bubblewrap),
//! and the engine reaches a session's folder through the keeper's root
//! (`/proc/<keeper>/root/<folder>`, [`Disks::host`]). When the engine's process ends, however it
//! ends, the namespace goes with it, and with it every mount and loop device: nothing is left
//! mounted on the host, and the images stay for the next start, which mounts them again.
//!
//! It needs root (mounting), `unshare`, `mount`, `umount`, `mkfs.ext4` and loop devices; without
//! them (or when the engine's first mount fails) the engine warns and a session's disk use is not
//! capped.

use std::{
    collections::HashSet,
    io,
    os::fd::{AsRawFd, OwnedFd, RawFd},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

/// Why sessions' disks cannot be capped here (the engine warns, and goes on without).
#[derive(Debug, thiserror::Error)]
pub enum DisksUnavailable {
    #[error("mounting a disk per session needs root")]
    NotRoot,
    #[error("{tool} is not installed (util-linux, e2fsprogs)")]
    ToolMissing { tool: &'static str },
    #[error("{}: {error}", .images.display())]
    ImagesFolder { images: PathBuf, error: io::Error },
    #[error("unshare could not start: {0}")]
    UnshareSpawn(io::Error),
    /// The engine's own mount namespace, or the keeper's, could not be read.
    #[error("{0}")]
    Namespace(io::Error),
    #[error("unshare --mount failed ({0})")]
    UnshareFailed(std::process::ExitStatus),
    #[error("unshare --mount did not start within 5 s")]
    UnshareSlow,
}

/// The engine's mount namespace for session disks, and its keeper process.
#[derive(Debug)]
pub struct Disks {
    keeper: std::sync::Mutex<Child>,
    namespace: OwnedFd,
    root: PathBuf,
    images: PathBuf,
    bytes: u64,
    tools: Tools,
    state: tokio::sync::Mutex<State>,
}

/// What the engine has mounted, or left as it was.
#[derive(Debug, Default)]
struct State {
    /// Folders with their disk mounted.
    mounted: HashSet<PathBuf>,
    /// Folders left as they are: of sessions from before disks, or all of them once mounting
    /// proved impossible here.
    uncapped: HashSet<PathBuf>,
    /// Whether a disk was ever mounted by this engine.
    worked: bool,
    /// Why mounting is off (the first mount failed: no loop devices in a container, say).
    off: bool,
}

/// Where the mount tools are.
#[derive(Debug)]
struct Tools {
    mkfs: PathBuf,
    mount: PathBuf,
    umount: PathBuf,
}

impl Disks {
    /// Starts the keeper, or says why session disks cannot be capped here.
    pub fn start(images: PathBuf, bytes: u64) -> Result<Self, DisksUnavailable> {
        // SAFETY: geteuid only reads the process's user id.
        if unsafe { libc::geteuid() } != 0 {
            return Err(DisksUnavailable::NotRoot);
        }
        // Found where Debian puts them, whatever the engine's PATH (sbin is often not in it).
        let find = |tool: &'static str| {
            ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
                .iter()
                .map(|dir| Path::new(dir).join(tool))
                .find(|path| path.exists())
                .ok_or(DisksUnavailable::ToolMissing { tool })
        };
        let tools = Tools { mkfs: find("mkfs.ext4")?, mount: find("mount")?, umount: find("umount")? };
        let unshare = find("unshare")?;
        if let Err(error) = std::fs::create_dir_all(&images) {
            return Err(DisksUnavailable::ImagesFolder { images, error });
        }
        let mut keeper = Command::new(unshare)
            .args(["--mount", "--propagation", "slave", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(DisksUnavailable::UnshareSpawn)?;
        // The keeper has its namespace once it runs `cat` (unshare made it and set its
        // propagation first).
        let pid = keeper.id();
        let ours = std::fs::read_link("/proc/self/ns/mnt").map_err(DisksUnavailable::Namespace)?;
        let mut waited = Duration::ZERO;
        loop {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let theirs = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).ok();
            if comm.trim() == "cat" && theirs.as_ref().is_some_and(|t| *t != ours) {
                break;
            }
            if let Ok(Some(status)) = keeper.try_wait() {
                return Err(DisksUnavailable::UnshareFailed(status));
            }
            if waited > Duration::from_secs(5) {
                let _ = keeper.kill();
                let _ = keeper.wait();
                return Err(DisksUnavailable::UnshareSlow);
            }
            std::thread::sleep(Duration::from_millis(2));
            waited += Duration::from_millis(2);
        }
        let namespace = std::fs::File::open(format!("/proc/{pid}/ns/mnt")).map_err(DisksUnavailable::Namespace)?.into();
        Ok(Self {
            keeper: std::sync::Mutex::new(keeper),
            namespace,
            root: PathBuf::from(format!("/proc/{pid}/root")),
            images,
            bytes,
            tools,
            state: tokio::sync::Mutex::default(),
        })
    }

    /// The size of each session's disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Where the engine reaches `path` as the sandboxes see it (through the keeper's root).
    pub fn host(&self, path: &Path) -> PathBuf {
        self.root.join(path.strip_prefix("/").unwrap_or(path))
    }

    /// The namespace to enter (`setns`) before a sandbox starts; valid while `self` lives.
    pub fn namespace(&self) -> RawFd {
        self.namespace.as_raw_fd()
    }

    fn image(&self, session_id: &str) -> PathBuf {
        self.images.join(format!("{session_id}.img"))
    }

    /// Mounts the session's disk on `dir` (an absolute path), making it on first use. A folder
    /// that already holds files and has no image (a session from before disks) is left as it is.
    /// If the engine's first mount fails, disks are off for it, with a warning: sessions' folders
    /// are then the host's, uncapped, as without root.
    pub async fn mount(&self, dir: &Path, session_id: &str) -> io::Result<()> {
        let mut state = self.state.lock().await;
        if state.mounted.contains(dir) || state.uncapped.contains(dir) {
            return Ok(());
        }
        tokio::fs::create_dir_all(dir).await?;
        let image = self.image(session_id);
        if state.off || (!image.exists() && std::fs::read_dir(dir)?.next().is_some()) {
            state.uncapped.insert(dir.to_owned());
            return Ok(());
        }
        let made = !image.exists();
        let mounted = self.make_and_mount(&image, dir, made).await;
        match mounted {
            Ok(()) => {
                state.worked = true;
                state.mounted.insert(dir.to_owned());
                Ok(())
            }
            Err(error) if !state.worked => {
                tracing::warn!(
                    "sandbox: no disk per session: the first could not be mounted ({error}); a session's files can fill the host's disk"
                );
                if made {
                    let _ = std::fs::remove_file(&image);
                }
                state.off = true;
                state.uncapped.insert(dir.to_owned());
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    async fn make_and_mount(&self, image: &Path, dir: &Path, make: bool) -> io::Result<()> {
        if make {
            let file = std::fs::File::create_new(image)?;
            file.set_len(self.bytes)?;
            drop(file);
            let mut mkfs = tokio::process::Command::new(&self.tools.mkfs);
            mkfs.args(["-q", "-F", "-m", "0", "-E", "root_owner=0:0,lazy_itable_init=1,lazy_journal_init=1,nodiscard"])
                .arg(image);
            if let Err(error) = run(mkfs, None).await {
                let _ = std::fs::remove_file(image);
                return Err(error);
            }
        }
        let mut mount = tokio::process::Command::new(&self.tools.mount);
        mount.args(["-t", "ext4", "-o", "loop,nosuid,nodev,noatime"]).arg(image).arg(dir);
        run(mount, Some(self.namespace())).await
    }

    /// Unmounts the session's disk from `dir` and deletes its image.
    pub async fn release(&self, dir: &Path, session_id: &str) -> io::Result<()> {
        let mut state = self.state.lock().await;
        state.uncapped.remove(dir);
        let image = self.image(session_id);
        if state.mounted.remove(dir) && image.exists() {
            // Lazily: a call still running in it lets go when it ends.
            self.umount(dir, true).await?;
        }
        match std::fs::remove_file(&image) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// Unmounts the disk mounted on `dir`, keeping its image, so that it holds no mount and no
    /// loop device (the kernel frees the device with the mount); the next [`Disks::mount`]
    /// mounts it again. Not lazily: a disk something still uses stays mounted, and `umount`'s
    /// refusal is the error. `Ok(false)` when none was mounted there.
    pub async fn unmount(&self, dir: &Path) -> io::Result<bool> {
        let mut state = self.state.lock().await;
        if !state.mounted.contains(dir) {
            return Ok(false);
        }
        self.umount(dir, false).await?;
        state.mounted.remove(dir);
        Ok(true)
    }

    /// How many sessions' disks are mounted now.
    pub async fn mounted(&self) -> usize {
        self.state.lock().await.mounted.len()
    }

    /// The keeper's process id: its `/proc/<pid>/mountinfo` lists the disks' mounts.
    pub fn keeper_pid(&self) -> Option<u32> {
        self.keeper.lock().ok().map(|keeper| keeper.id())
    }

    async fn umount(&self, dir: &Path, lazy: bool) -> io::Result<()> {
        let mut umount = tokio::process::Command::new(&self.tools.umount);
        if lazy {
            umount.arg("--lazy");
        }
        umount.arg(dir);
        run(umount, Some(self.namespace())).await
    }

    /// Free bytes on the disk mounted at `dir`, if one is.
    pub async fn free_bytes(&self, dir: &Path) -> Option<u64> {
        if !self.state.lock().await.mounted.contains(dir) {
            return None;
        }
        let path = std::ffi::CString::new(self.host(dir).as_os_str().as_encoded_bytes()).ok()?;
        // SAFETY: a valid NUL-terminated path and a zeroed statvfs for the kernel to fill.
        unsafe {
            let mut stat: libc::statvfs = std::mem::zeroed();
            (libc::statvfs(path.as_ptr(), &mut stat) == 0).then(|| stat.f_bavail as u64 * stat.f_frsize as u64)
        }
    }
}

impl Drop for Disks {
    fn drop(&mut self) {
        if let Ok(mut keeper) = self.keeper.lock() {
            let _ = keeper.kill();
            let _ = keeper.wait();
        }
    }
}

/// Runs a mount tool to its end (in `namespace`, when given), its error output the error.
async fn run(mut command: tokio::process::Command, namespace: Option<RawFd>) -> io::Result<()> {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    if let Some(fd) = namespace {
        // SAFETY: runs in the child between fork and exec, and makes only the setns system call.
        unsafe {
            command.pre_exec(move || enter(fd));
        }
    }
    let output = command.output().await?;
    if output.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(String::from_utf8_lossy(&output.stderr).trim().to_owned()))
    }
}

/// Moves the calling (single-threaded, forked) process into the disks' mount namespace.
pub fn enter(namespace: RawFd) -> io::Result<()> {
    // SAFETY: setns on a descriptor that stays open while the fork runs.
    if unsafe { libc::setns(namespace, libc::CLONE_NEWNS) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
