//! Low-level file-system steps shared by every writer, so that each guarantee is made once:
//!
//! - [`write_atomic`]: a file is written to a temporary name beside it, synced, renamed over
//!   the target, and the directory synced. The temporary file is created with `create_new`
//!   (`O_EXCL`, which never follows a symbolic link, so a link planted under the temporary
//!   name cannot redirect the write), and it is removed on every failure path, the final
//!   rename included. A rename replaces a link at the target instead of writing through it.
//! - [`replace_dir`]: a staged directory swapped into place in one step (Linux
//!   `renameat2(RENAME_EXCHANGE)`), so a crash leaves the old directory or the new one.
//! - [`remove_stale_staging`]: staging directories are named `.NAME.tmp-PID`; those of
//!   processes that no longer exist are debris of a killed save and are removed, but only
//!   when their contents are what the caller's staging holds (a directory of its files), so
//!   a directory of the user's that happens to match the name pattern is left alone.
//! - [`open_regular`]: reading a file that must be a regular file, not a symbolic link
//!   (files of our own: a corpus cache, a run's staging, where a link is a planted one).
//! - [`open_input`]: reading a file the user named, through links (users link their data
//!   in), but only a regular file: a FIFO blocks the open and then every read, a device such
//!   as `/dev/zero` never ends, a directory is not data.
//! - [`lock_dir`]: one writer per run directory: an exclusive `flock` on the directory
//!   itself (nothing is written into it), released by the kernel when the process ends,
//!   however it ends.
//! - [`Provisional`]: what a command creates before it knows it will go ahead (a run's
//!   directory, its `scratch-bert/`), removed again if it is refused, so that a refused
//!   command leaves nothing behind.
//!
//! std and rustix suffice here; the `tempfile` crate's persist step does not sync the
//! directory and gives no way to name the temporary file beside a target we choose.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically (see the module comment).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] with the content streamed by `write` into a buffered writer.
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let (tmp, file) = create_temp(dir, name)?;
    let result = (|| {
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// The directory a path lives in (`.` for a bare file name).
pub fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A new file `.NAME.PID-N.tmp` in `dir`; N counts up past names that are taken (debris of
/// a killed writer, or a link someone planted), which `create_new` refuses to open.
fn create_temp(dir: &Path, name: &OsStr) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = name.to_string_lossy();
    for _ in 0..1000 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free temporary name for {name} in {}", dir.display()),
    ))
}

/// Makes a rename or a new entry in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Opens the regular file at `path` for reading. A symbolic link there is an error
/// (`ELOOP`), not followed; a FIFO or device is an error too, and opening one does not
/// block (`O_NONBLOCK`, which changes nothing for a regular file).
pub fn open_regular(path: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = File::from(rustix::fs::open(path, flags, Mode::empty())?);
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok(file)
}

/// Opens a file the user named, for reading. Symbolic links are followed; what they lead
/// to must be a regular file, or the error is [`NotRegular`] (kind `InvalidInput`), whose
/// message names the kind of file found: "not a regular file (a FIFO)". Checked on the
/// path first (a socket cannot be opened at all, and deserves the same message), then on
/// the opened file, so that what is read is what was checked; the open is `O_NONBLOCK`,
/// so a FIFO put there between the two does not block it (no effect on a regular file).
pub fn open_input(path: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    check_input(path)?;
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = File::from(rustix::fs::open(path, flags, Mode::empty())?);
    regular(&file.metadata()?)?;
    Ok(file)
}

/// Checks, without opening it, that `path` leads to a regular file, as [`open_input`]
/// does. For readers that a library opens by path (candle's safetensors loader, the
/// tokenizers vocabulary reader): they could still be raced, but a FIFO or a device the
/// user named no longer hangs them.
pub fn check_input(path: &Path) -> io::Result<()> {
    regular(&fs::metadata(path)?)
}

/// The whole of a file the user named ([`open_input`]).
#[allow(clippy::verbose_file_reads)] // `fs::read` would open the path unchecked
pub fn read_input(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = open_input(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The whole of a file the user named ([`open_input`]), as UTF-8 text.
#[allow(clippy::verbose_file_reads)] // `fs::read` would open the path unchecked
pub fn read_input_to_string(path: &Path) -> io::Result<String> {
    use std::io::Read;
    let mut file = open_input(path)?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// Whether `path` holds something a reader would try (anything, a dangling link aside):
/// for a reader that looks for one of several file names, so that a FIFO or a directory
/// under the name is reported by [`open_input`] as what it is, not as a missing file.
pub fn input_present(path: &Path) -> bool {
    fs::metadata(path).is_ok()
}

/// Whether an error from [`open_input`] is [`NotRegular`].
pub fn is_not_regular(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<NotRegular>())
}

/// A file the user named is not a regular file: the kind found instead.
#[derive(Debug, thiserror::Error)]
#[error("not a regular file ({0})")]
pub struct NotRegular(pub &'static str);

fn regular(meta: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let kind = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "an unknown kind of file"
    };
    Err(io::Error::new(io::ErrorKind::InvalidInput, NotRegular(kind)))
}

/// Whether an error from [`open_regular`] means a symbolic link was found.
pub fn is_link_error(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
}

/// A new, empty staging directory `.NAME.tmp-PID` in `parent` for this process, after
/// removing the stale ones of dead processes that `is_staging` recognises.
pub fn new_staging_dir(parent: &Path, name: &str, is_staging: impl Fn(&Path) -> bool) -> io::Result<PathBuf> {
    remove_stale_staging(parent, name, is_staging);
    let staging = staging_path(parent, name, std::process::id());
    // Ours by name: left by an earlier failed attempt of this process, or by a dead process
    // whose id this one reuses. A link there is removed as a link, never followed.
    match fs::symlink_metadata(&staging) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(&staging)?,
        Ok(_) => fs::remove_file(&staging)?,
        Err(_) => {}
    }
    fs::create_dir(&staging)?;
    Ok(staging)
}

/// `.NAME.tmp-PID`: the staging directory of `NAME` for process `pid`.
pub fn staging_path(parent: &Path, name: &str, pid: u32) -> PathBuf {
    parent.join(format!(".{name}.tmp-{pid}"))
}

/// Removes the staging directories of `name` in `parent` left by processes that are gone,
/// when `is_staging` recognises their contents. Best effort: a staging directory that
/// cannot be removed does no harm beyond its space, so errors are ignored. Returns the
/// directories removed.
pub fn remove_stale_staging(parent: &Path, name: &str, is_staging: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let own = std::process::id();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|n| staging_pid(n, name)) else {
            continue;
        };
        let path = entry.path();
        // Our own staging is the caller's business; a live process's is in use.
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if pid == own || pid_alive(pid) || !is_dir || !is_staging(&path) {
            continue;
        }
        if fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// The PID in `.NAME.tmp-PID` or `.NAME.old-PID` (the previous directory during a swap
/// without exchange support).
fn staging_pid(file_name: &str, name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?.strip_prefix(name)?;
    let digits = rest.strip_prefix(".tmp-").or_else(|| rest.strip_prefix(".old-"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether a process with this id exists. `kill(pid, 0)` answers ESRCH only when there is
/// none; a process of another user (EPERM) exists. A recycled id keeps a directory that
/// could have gone, never the reverse.
pub fn pid_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else {
        return false;
    };
    !matches!(rustix::process::test_kill_process(pid), Err(rustix::io::Errno::SRCH))
}

/// A directory whose entries are all regular files accepted by `name_ok`, or the temporary
/// files [`write_atomic`] writes them through (a save killed mid-write leaves one): what a
/// staging directory of ours holds.
pub fn only_files_named(dir: &Path, name_ok: impl Fn(&str) -> bool) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    let ok = |name: &str| name_ok(name) || temp_target(name).is_some_and(&name_ok);
    entries
        .into_iter()
        .all(|e| e.is_ok_and(|e| e.file_type().is_ok_and(|t| t.is_file()) && e.file_name().to_str().is_some_and(ok)))
}

/// The file a temporary name of [`create_temp`] (`.NAME.PID-N.tmp`) is written for.
fn temp_target(name: &str) -> Option<&str> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, counters) = inner.rsplit_once('.')?;
    let (pid, n) = counters.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n) && !target.is_empty()).then_some(target)
}

/// An exclusive lock on a directory, held until dropped (see [`lock_dir`]).
#[derive(Debug)]
pub struct DirLock {
    _dir: File,
}

/// Locks `dir` (which must exist) for this process alone; `None` when another process holds
/// it. Advisory: it keeps out other writers that ask, which every writer of a run does.
/// A lock held for an instant ([`is_locked`] asking) is waited out: a few tries 50 ms apart.
pub fn lock_dir(dir: &Path) -> io::Result<Option<DirLock>> {
    use rustix::fs::{FlockOperation, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(dir, flags, Mode::empty())?;
    for attempt in 0..5 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Some(DirLock { _dir: File::from(fd) })),
            Err(rustix::io::Errno::WOULDBLOCK) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// Whether another process holds `dir`'s lock ([`lock_dir`]): a run is being written there.
/// Asks by taking a shared lock for an instant; anything that fails to ask says no.
pub fn is_locked(dir: &Path) -> bool {
    use rustix::fs::{FlockOperation, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(dir, flags, Mode::empty()) else {
        return false;
    };
    // Closing the descriptor (its drop) releases the shared lock at once.
    matches!(
        rustix::fs::flock(&fd, FlockOperation::NonBlockingLockShared),
        Err(rustix::io::Errno::WOULDBLOCK)
    )
}

/// Paths a command created before it was known to go ahead: removed again when the guard is
/// dropped without [`Provisional::keep`] (an early `?`), so that a refused command leaves
/// nothing behind. Only paths that did not exist when noted are removed; directories only
/// when empty (`remove_dir`), so nothing written there by anyone else is lost.
#[derive(Debug, Default)]
pub struct Provisional {
    /// In creation order: a directory before what it holds.
    created: Vec<PathBuf>,
}

impl Provisional {
    /// Notes `path` and each of its missing ancestors, if they do not exist yet: call it
    /// before creating them.
    pub fn note_missing(&mut self, path: &Path) {
        let missing: Vec<&Path> = path
            .ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .take_while(|p| fs::symlink_metadata(p).is_err())
            .collect();
        self.created.extend(missing.into_iter().rev().map(Path::to_path_buf));
    }

    /// Notes a directory this command has just created itself.
    pub fn note_created(&mut self, dir: &Path) {
        self.created.push(dir.to_path_buf());
    }

    /// The command goes ahead: what it created stays.
    pub fn keep(mut self) {
        self.created.clear();
    }
}

impl Drop for Provisional {
    fn drop(&mut self) {
        for path in self.created.iter().rev() {
            // Best effort on a path that is already failing; a file noted is ours, a
            // directory goes only if nothing else is in it.
            let _ = match fs::symlink_metadata(path) {
                Ok(m) if m.is_dir() => fs::remove_dir(path),
                Ok(_) => fs::remove_file(path),
                Err(_) => Ok(()),
            };
        }
    }
}

/// Swaps the synced directory `staging` into place at `dir` (which may exist), syncs the
/// parent, and removes the previous directory.
pub fn replace_dir(staging: &Path, dir: &Path) -> io::Result<()> {
    sync_dir(staging)?;
    let parent = parent_of(dir);
    if fs::symlink_metadata(dir).is_err() {
        fs::rename(staging, dir)?;
        return sync_dir(parent);
    }
    let old = exchange(staging, dir)?;
    sync_dir(parent)?;
    fs::remove_dir_all(old)
}

/// Atomically exchanges the two directories; returns where the previous one now is.
#[cfg(target_os = "linux")]
fn exchange(staging: &Path, dir: &Path) -> io::Result<PathBuf> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    match renameat_with(CWD, staging, CWD, dir, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(staging.to_path_buf()),
        // File systems without exchange support: fall back to two renames.
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => two_renames(staging, dir),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(staging: &Path, dir: &Path) -> io::Result<PathBuf> {
    two_renames(staging, dir)
}

/// Not atomic as a whole: between the renames the previous directory sits at
/// `.NAME.old-PID`, a name [`remove_stale_staging`] recognises if the process dies there.
fn two_renames(staging: &Path, dir: &Path) -> io::Result<PathBuf> {
    let name = dir.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let old = parent_of(dir).join(format!(".{name}.old-{}", std::process::id()));
    fs::rename(dir, &old)?;
    fs::rename(staging, dir)?;
    Ok(old)
}

/// The integration tests' FIFO maker, for the library's tests too.
#[cfg(test)]
#[path = "../tests/common/fifo.rs"]
mod test_fifo;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) use super::test_fifo::mkfifo;

    #[test]
    fn inputs_must_be_regular_files_but_links_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.tsv");
        mkfifo(&fifo);
        let zero = dir.path().join("zero.tsv");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let to_fifo = dir.path().join("to-fifo.tsv");
        std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
        // No writer ever opens the FIFO: a blocking open would hang this test.
        for (path, kind) in [
            (&fifo, "a FIFO"),
            (&to_fifo, "a FIFO"),
            (&zero, "a character device"),
            (&dir.path().to_path_buf(), "a directory"),
        ] {
            for e in [
                open_input(path).unwrap_err(),
                read_input(path).unwrap_err(),
                read_input_to_string(path).unwrap_err(),
                check_input(path).unwrap_err(),
            ] {
                assert!(is_not_regular(&e), "{}: {e}", path.display());
                assert_eq!(e.to_string(), format!("not a regular file ({kind})"));
                assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            }
            assert!(input_present(path));
        }
        let real = dir.path().join("real.tsv");
        fs::write(&real, "text\tlabel\n").unwrap();
        let link = dir.path().join("link.tsv");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(read_input_to_string(&link).unwrap(), "text\tlabel\n");
        assert_eq!(read_input(&real).unwrap(), b"text\tlabel\n");
        let missing = dir.path().join("missing.tsv");
        let e = open_input(&missing).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(!is_not_regular(&e));
        assert!(!input_present(&missing));
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_directory_is_locked_for_one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_dir(dir.path()).unwrap().expect("free");
        // flock locks belong to the open file description: a second open, as another
        // process's would be, is refused.
        assert!(lock_dir(dir.path()).unwrap().is_none(), "held");
        assert!(is_locked(dir.path()));
        drop(held);
        assert!(!is_locked(dir.path()));
        assert!(lock_dir(dir.path()).unwrap().is_some(), "free again");
        assert!(lock_dir(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn a_temporary_name_tells_the_file_it_was_written_for() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, _) = create_temp(dir.path(), OsStr::new("config.json")).unwrap();
        let name = tmp.file_name().unwrap().to_str().unwrap();
        assert_eq!(temp_target(name), Some("config.json"));
        for other in [
            ".config.json.tmp",
            "config.json.1-2.tmp",
            ".config.json.x-2.tmp",
            "..1-2.tmp",
            ".a.1-.tmp",
        ] {
            assert_eq!(temp_target(other), None, "{other}");
        }
        // A staging directory killed mid-write is still recognised as one.
        fs::write(dir.path().join("model.safetensors"), "x").unwrap();
        assert!(only_files_named(dir.path(), |n| n == "config.json" || n == "model.safetensors"));
        assert!(!only_files_named(dir.path(), |n| n == "model.safetensors"));
    }

    #[test]
    fn a_provisional_guard_removes_only_what_it_saw_created() {
        let root = std::env::temp_dir().join(format!("cmbert-provisional-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("kept")).unwrap();
        fs::write(root.join("kept/user.txt"), "mine").unwrap();
        let run = root.join("a/b/run");
        {
            let mut guard = Provisional::default();
            guard.note_missing(&run);
            guard.note_missing(&root.join("kept"));
            fs::create_dir_all(run.join("scratch")).unwrap();
            guard.note_created(&run.join("scratch"));
            fs::write(run.join("scratch/vocab.txt"), "x").unwrap();
            guard.note_missing(&run.join("scratch/vocab.txt"));
        }
        // Refused: the vocab was noted after it was written (so it stays), which keeps
        // `scratch/` and therefore `run`, `b` and `a` too: nothing non-empty is removed.
        assert!(run.join("scratch/vocab.txt").is_file());
        fs::remove_dir_all(root.join("a")).unwrap();
        {
            let mut guard = Provisional::default();
            guard.note_missing(&run);
            guard.note_missing(&run.join("scratch/vocab.txt"));
            fs::create_dir_all(run.join("scratch")).unwrap();
            fs::write(run.join("scratch/vocab.txt"), "x").unwrap();
        }
        assert_eq!(names(&root), ["kept"], "the refused run's directories are gone");
        assert_eq!(fs::read_to_string(root.join("kept/user.txt")).unwrap(), "mine");
        {
            let mut guard = Provisional::default();
            guard.note_missing(&run);
            fs::create_dir_all(&run).unwrap();
            guard.keep();
        }
        assert!(run.is_dir(), "a kept guard removes nothing");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn writes_replaces_and_leaves_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.jsonl");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(tmp.path()), ["out.jsonl"]);
    }

    #[test]
    fn a_failed_rename_or_writer_removes_the_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        // Renaming a file onto a non-empty directory fails (EISDIR).
        let target = tmp.path().join("taken");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), "x").unwrap();
        assert!(write_atomic(&target, b"data").is_err());
        let failing = write_atomic_with(&tmp.path().join("w"), |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("the writer failed"))
        });
        assert_eq!(failing.unwrap_err().to_string(), "the writer failed");
        assert_eq!(names(tmp.path()), ["taken"]);
        assert_eq!(names(&target), ["keep"]);
    }

    #[test]
    fn a_link_at_the_target_is_replaced_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let link = tmp.path().join("out.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = open_regular(&link).unwrap_err();
        assert!(is_link_error(&err), "a link is not opened: {err}");
        assert!(open_regular(tmp.path()).is_err(), "a directory is not a regular file");
        write_atomic(&link, b"new").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(fs::symlink_metadata(&link).unwrap().is_file());
    }

    #[test]
    fn staging_names_and_liveness() {
        assert_eq!(staging_pid(".last.tmp-123", "last"), Some(123));
        assert_eq!(staging_pid(".last.old-9", "last"), Some(9));
        for other in [
            ".last.tmp-",
            ".last.tmp-12x",
            ".best.tmp-1",
            "last.tmp-1",
            ".last.tmp-1.tmp",
        ] {
            assert_eq!(staging_pid(other, "last"), None, "{other}");
        }
        assert!(pid_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        assert!(!pid_alive(dead));
        assert!(!pid_alive(0) && !pid_alive(u32::MAX));
    }

    #[test]
    fn replace_dir_swaps_and_removes_the_previous_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("best");
        for content in ["old", "new"] {
            let staging = staging_path(tmp.path(), "best", std::process::id());
            fs::create_dir(&staging).unwrap();
            fs::write(staging.join("config.json"), content).unwrap();
            replace_dir(&staging, &dir).unwrap();
        }
        assert_eq!(fs::read_to_string(dir.join("config.json")).unwrap(), "new");
        assert_eq!(names(tmp.path()), ["best"]);
    }
}
