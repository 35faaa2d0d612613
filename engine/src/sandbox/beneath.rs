//! The host's file work inside folders a sandbox can write.
//!
//! A session's workspace, outputs, packages and writable memory stores belong to its agent, and
//! agent-run code is hostile: it may have put a symbolic link anywhere in them, in an earlier call
//! or, through another thread's call, while the host works. `std::fs` follows links at every
//! component of a path, so a link at `/opt/packages/.installed.json` made the engine write a file
//! of the agent's choosing on the host. Here every path is resolved by the kernel beneath a
//! folder the host opened itself, with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS)`: a link anywhere on the way (the last component too), or a `..` that
//! leaves the folder, fails with [`Error::Link`] and is never followed. The kernel checks each
//! component as it walks, so a link swapped in after a check cannot slip through either.
//!
//! Callers log a refusal with the session's id (`tracing::warn!`) and tell the agent in words.

use std::{
    fmt,
    io::{self, Read, Write},
    os::fd::{AsFd, OwnedFd},
    path::{Component, Path, PathBuf},
};

use nix::{
    errno::Errno,
    fcntl::{OFlag, OpenHow, ResolveFlag, openat2, renameat},
    sys::stat::{Mode, SFlag, fstat, mkdirat},
};

/// Why a path beneath the folder was not opened.
#[derive(Debug)]
pub enum Error {
    /// The path (as given, relative to the folder) passes through a symbolic link, or leaves
    /// the folder: refused, not followed.
    Link(PathBuf),
    /// Anything else the file system said (not found, not a directory, no space).
    Io(io::Error),
}

impl Error {
    /// True when nothing is at the path (a missing record, say): not a refusal.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Io(error) if error.kind() == io::ErrorKind::NotFound)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Link(path) => write!(
                f,
                "{} passes through a symbolic link (or leaves its folder); the host never follows links the sandbox made",
                path.display()
            ),
            Error::Io(error) => error.fmt(f),
        }
    }
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Error::Io(error)
    }
}

/// A folder the sandbox can write, opened by the host; every path below it is resolved without
/// following links (see the module's documentation).
#[derive(Debug)]
pub struct Beneath {
    dir: OwnedFd,
}

impl Beneath {
    /// Opens `dir`, a folder the host made itself (the session's workspace, say). Its own path is
    /// the host's, so it is opened as usual; only what lies below it is the agent's.
    pub fn open(dir: &Path) -> io::Result<Self> {
        let file = std::fs::File::open(dir)?;
        if !file.metadata()?.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, format!("{} is not a folder", dir.display())));
        }
        Ok(Self { dir: file.into() })
    }

    /// Opens `relative` beneath the folder with `flags`; links refused.
    fn at(&self, relative: &Path, flags: OFlag, mode: Mode) -> Result<OwnedFd, Error> {
        open_beneath(&self.dir, relative, flags, mode)
    }

    /// The first `max` bytes of the regular file at `relative`. A device, pipe or folder there is
    /// refused as [`io::ErrorKind::InvalidInput`]; nothing there is [`Error::is_not_found`].
    pub fn read(&self, relative: &Path, max: u64) -> Result<Vec<u8>, Error> {
        // Non-blocking: a named pipe opens at once (and is refused below) instead of waiting.
        let fd = self.at(relative, OFlag::O_RDONLY | OFlag::O_NONBLOCK, Mode::empty())?;
        let mut file = regular(fd, relative)?;
        let mut bytes = Vec::new();
        (&mut file).take(max).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Opens the regular file at `relative` for reading (a device, pipe or folder refused).
    pub fn open_file(&self, relative: &Path) -> Result<std::fs::File, Error> {
        let fd = self.at(relative, OFlag::O_RDONLY | OFlag::O_NONBLOCK, Mode::empty())?;
        regular(fd, relative)
    }

    /// Replaces the file at `relative` (whose folder must exist) with `bytes`: written to a new
    /// file beside it, then renamed over it. A rename replaces a link the agent left there rather
    /// than writing through it.
    pub fn write(&self, relative: &Path, bytes: &[u8]) -> Result<(), Error> {
        let (parent, name) = split(relative)?;
        let folder = self.at(parent, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
        let temporary = PathBuf::from(format!(".{}.{:016x}.tmp", name.to_string_lossy(), rand::random::<u64>()));
        let fd = open_beneath(
            &folder,
            &temporary,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL,
            Mode::from_bits_truncate(0o644),
        )?;
        let written = std::fs::File::from(fd)
            .write_all(bytes)
            .map_err(Error::Io)
            .and_then(|()| renameat(folder.as_fd(), &temporary, folder.as_fd(), name).map_err(|e| Error::Io(e.into())));
        if written.is_err() {
            let _ = nix::unistd::unlinkat(folder.as_fd(), &temporary, nix::unistd::UnlinkatFlags::NoRemoveDir);
        }
        written
    }

    /// Makes the folder `relative` and those above it, as `mkdir -p` would, and opens it. A link
    /// on the way (one the agent made where a folder was expected) is refused.
    pub fn make_folders(&self, relative: &Path) -> Result<OwnedFd, Error> {
        let mut current = self.at(Path::new("."), OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
        for component in relative.components() {
            let name = match component {
                Component::Normal(name) => Path::new(name),
                Component::CurDir => continue,
                _ => return Err(Error::Link(relative.to_owned())),
            };
            match mkdirat(current.as_fd(), name, Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(error) => return Err(Error::Io(error.into())),
            }
            current =
                open_beneath(&current, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).map_err(|error| {
                    match error {
                        Error::Link(_) => Error::Link(relative.to_owned()),
                        other => other,
                    }
                })?;
        }
        Ok(current)
    }

    /// Makes an empty file at `relative` (and the folders above it) where none is, to mount a
    /// file on. A link there is refused; a file already there is kept.
    pub fn make_file(&self, relative: &Path) -> Result<(), Error> {
        let (parent, name) = split(relative)?;
        let folder = self.make_folders(parent)?;
        open_beneath(&folder, Path::new(name), OFlag::O_RDONLY | OFlag::O_CREAT, Mode::from_bits_truncate(0o444))
            .map(drop)
            .map_err(|error| match error {
                Error::Link(_) => Error::Link(relative.to_owned()),
                other => other,
            })
    }
}

/// `openat2` beneath `dir`, no link followed, the descriptor closed on exec.
fn open_beneath(dir: &OwnedFd, relative: &Path, flags: OFlag, mode: Mode) -> Result<OwnedFd, Error> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOCTTY)
        .mode(mode)
        .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let relative_or_here = if relative.as_os_str().is_empty() { Path::new(".") } else { relative };
    match openat2(dir.as_fd(), relative_or_here, how) {
        Ok(fd) => Ok(fd),
        // ELOOP: a link on the way; EXDEV: the path leaves the folder.
        Err(Errno::ELOOP | Errno::EXDEV) => Err(Error::Link(relative.to_owned())),
        Err(error) => Err(Error::Io(error.into())),
    }
}

/// The file behind `fd` if it is a regular one.
fn regular(fd: OwnedFd, relative: &Path) -> Result<std::fs::File, Error> {
    let stat = fstat(fd.as_fd()).map_err(|e| Error::Io(e.into()))?;
    if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", relative.display()),
        )));
    }
    Ok(std::fs::File::from(fd))
}

/// (the folder, the name) of a relative path with a name at its end.
fn split(relative: &Path) -> Result<(&Path, &std::ffi::OsStr), Error> {
    match (relative.parent(), relative.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => {
            Err(Error::Io(io::Error::new(io::ErrorKind::InvalidInput, format!("{} names no file", relative.display()))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn folders() -> (PathBuf, PathBuf) {
        let root = std::env::temp_dir().join(crate::ids::new_id("beneath-test"));
        let (inside, outside) = (root.join("inside"), root.join("outside"));
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("canary"), "CANARY").unwrap();
        (inside, outside)
    }

    #[test]
    fn links_absolute_and_relative_are_refused_not_followed() {
        let (inside, outside) = folders();
        symlink(outside.join("canary"), inside.join("absolute")).unwrap();
        symlink("../outside/canary", inside.join("relative")).unwrap();
        symlink(outside.join("new"), inside.join("dangling")).unwrap();
        symlink(&outside, inside.join("folder")).unwrap();
        let beneath = Beneath::open(&inside).unwrap();
        for name in ["absolute", "relative", "folder/canary"] {
            assert!(matches!(beneath.read(Path::new(name), 100), Err(Error::Link(_))), "{name} was followed");
        }
        assert!(matches!(beneath.read(Path::new("../outside/canary"), 100), Err(Error::Link(_))));
        assert!(matches!(beneath.make_file(Path::new("dangling")), Err(Error::Link(_))));
        assert!(matches!(beneath.make_folders(Path::new("folder/sub")), Err(Error::Link(_))));
        assert!(matches!(beneath.make_file(Path::new("folder/file")), Err(Error::Link(_))));
        // A write replaces the link itself, never the file it points at.
        beneath.write(Path::new("absolute"), b"mine").unwrap();
        assert_eq!(std::fs::read_to_string(outside.join("canary")).unwrap(), "CANARY");
        assert_eq!(std::fs::read_to_string(inside.join("absolute")).unwrap(), "mine");
        assert!(matches!(beneath.write(Path::new("folder/x"), b"x"), Err(Error::Link(_))));
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1, "nothing was made outside");
        std::fs::remove_dir_all(inside.parent().unwrap()).unwrap();
    }

    #[test]
    fn plain_paths_read_write_and_make_mount_points() {
        let (inside, _) = folders();
        let beneath = Beneath::open(&inside).unwrap();
        assert!(beneath.read(Path::new("missing"), 10).unwrap_err().is_not_found());
        beneath.make_folders(Path::new("a/b/c")).unwrap();
        beneath.make_file(Path::new("a/b/c/file")).unwrap();
        beneath.make_file(Path::new("a/b/c/file")).unwrap();
        assert!(inside.join("a/b/c/file").is_file());
        beneath.write(Path::new("a/record"), b"{}").unwrap();
        assert_eq!(beneath.read(Path::new("a/record"), 10).unwrap(), b"{}");
        assert_eq!(beneath.read(Path::new("a/record"), 1).unwrap(), b"{");
        assert!(
            matches!(beneath.read(Path::new("a/b"), 10), Err(Error::Io(e)) if e.kind() == io::ErrorKind::InvalidInput)
        );
        std::fs::remove_dir_all(inside.parent().unwrap()).unwrap();
    }
}
