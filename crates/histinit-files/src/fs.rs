//! Writing files so that an interruption never leaves a half-written one.
//!
//! [`write_atomically`]: to a temporary file beside the target, flushed to disk, renamed
//! into place, and the rename flushed too (the folder synced), so that after a crash or
//! a power loss readers see the old file or the whole new one. The temporaries a killed
//! writer leaves are removed by the next writer of the same file, and by a sweep when it
//! starts. [`write_file`]: the folder created first, then a plain write.
//!
//! [`FileError`] is the one error for a file that cannot be read or written, with its
//! path; the other libraries wrap it.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// A file or folder that cannot be read or written, and why.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

impl FileError {
    /// A read of `path` that failed.
    pub fn read(path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::Read { path, source }
    }

    /// A write of `path` that failed.
    pub fn write(path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::Write { path, source }
    }
}

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(FileError::read(path))
}

/// Creates the folder `path` lies in (if it names one), then writes `bytes` to `path`.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    create_parent(path)?;
    std::fs::write(path, bytes).map_err(FileError::write(path))
}

/// Creates the folder `path` lies in, if it names one.
pub fn create_parent(path: &Path) -> Result<(), FileError> {
    match path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(FileError::write(dir)),
        None => Ok(()),
    }
}

/// [`write_atomically`] after creating the folder `path` lies in, with the path in the
/// error.
pub fn write_atomically_in(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    create_parent(path)?;
    write_atomically(path, bytes).map_err(FileError::write(path))
}

/// Flushes a rename in `dir` to disk (the folder's entry), where the platform can.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Renames the temporary `tmp` (written and synced) to `path`, then syncs the folder so
/// the rename survives a power loss.
pub fn rename_durably(tmp: &Path, path: &Path) -> io::Result<()> {
    std::fs::rename(tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Writes to a temporary file next to `path` ([`temporary_path`]), syncs it, renames it
/// into place and syncs the folder ([`rename_durably`]), so readers see the old file or
/// the whole new one, also after a power loss. First removes what writers
/// of the same file that died (`kill -9`, a crash, a full disk) left behind
/// ([`remove_stale_temporaries`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(name) = path.file_name().and_then(|name| name.to_str()) {
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty());
        remove_stale_temporaries(dir.unwrap_or(Path::new(".")), Some(name));
    }
    let tmp = temporary_path(path);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        rename_durably(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The name of a temporary file for `path`, beside it: `.NAME.tmp-WRITER-PID-TIME-N`.
/// Hidden (a leading dot) and recognizable, so [`remove_stale_temporaries`] finds it,
/// and unique: WRITER is this machine's boot and process-id namespace ([`writer_id`]),
/// TIME and N a clock and a count, so two processes writing the same file cannot
/// interleave, even on a file system shared by machines (where process ids repeat:
/// every container's first process is 1).
pub fn temporary_path(path: &Path) -> PathBuf {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |name| name.to_string_lossy().into_owned());
    path.with_file_name(format!(
        "{}{:016x}-{}-{nanos:x}-{}",
        temporary_prefix(&name),
        writer_id(),
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn temporary_prefix(name: &str) -> String {
    format!(".{name}.tmp-")
}

/// A temporary file whose writer cannot be checked (another machine or container, a
/// name from before temporaries named their writer) is left this long after its last
/// write before it counts as stale: a live writer's temporary is written in one go
/// (a download's as its bytes arrive), so an hour without a write means its writer is
/// gone.
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Who writes temporaries here: a hash of the boot id and the process-id namespace
/// (Linux), so that a temporary's process id is checked only where it means the same
/// process; 0 where either cannot be read (then only [`STALE_AFTER`] decides).
pub fn writer_id() -> u64 {
    static ID: OnceLock<u64> = OnceLock::new();
    *ID.get_or_init(|| {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id");
        let namespace = std::fs::read_link("/proc/self/ns/pid");
        match (boot, namespace) {
            (Ok(boot), Ok(namespace)) => {
                let text = format!("{} {}", boot.trim(), namespace.display());
                // Stable, and never 0 in practice (0 means unknown).
                histinit_histogram::fnv1a(text.as_bytes()).max(1)
            }
            _ => 0,
        }
    })
}

/// Whether a writer's temporary named `name` in `dir` is stale: its writer is a process
/// of this machine and namespace that has exited, or (a writer that cannot be checked)
/// nothing has written it for [`STALE_AFTER`]. This process's own are never stale.
fn is_stale(dir: &Path, name: &str, writer: Option<(u64, u32)>) -> bool {
    if let Some((id, pid)) = writer {
        if pid == std::process::id() && id == writer_id() {
            return false;
        }
        if id != 0 && id == writer_id() {
            return !Path::new("/proc").join(pid.to_string()).exists();
        }
    }
    std::fs::symlink_metadata(dir.join(name))
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|age| age >= STALE_AFTER)
}

/// The writer of a temporary named `name` (see [`temporary_path`]) of the file `of`, or
/// of any file: `Some(None)` for a temporary that names no writer (written by an older
/// histinit: [`legacy_temporary`]), `None` for a file that is no temporary.
fn temporary_writer(name: &str, of: Option<&str>) -> Option<Option<(u64, u32)>> {
    if legacy_temporary(name, of) {
        return Some(None);
    }
    let rest = match of {
        Some(of) => name.strip_prefix(&temporary_prefix(of))?,
        None => name.strip_prefix('.')?.rsplit_once(".tmp-")?.1,
    };
    let parts: Vec<&str> = rest.split('-').collect();
    let [id, pid, time, count] = parts[..] else {
        return None;
    };
    u64::from_str_radix(time, 16).ok()?;
    count.parse::<u64>().ok()?;
    Some(Some((u64::from_str_radix(id, 16).ok()?, pid.parse().ok()?)))
}

/// Whether `name` is a temporary (of the file `of`, or of any file) named the way
/// histinit named them before they named their writer: `STEM.tmpPID-TIME-N` (this
/// module, the extension replaced) or `FILE.PID-N-TIME.partial` (hub downloads).
fn legacy_temporary(name: &str, of: Option<&str>) -> bool {
    let numbers =
        |text: &str, radix: u32| !text.is_empty() && text.chars().all(|c| c.is_digit(radix));
    let stem = |name: &str| {
        name.rsplit_once('.')
            .map_or(name, |(stem, _)| stem)
            .to_string()
    };
    if let Some((file, id)) = name
        .strip_suffix(".partial")
        .and_then(|rest| rest.rsplit_once('.'))
    {
        let parts: Vec<&str> = id.split('-').collect();
        return parts.len() == 3
            && parts.iter().all(|part| numbers(part, 10))
            && of.is_none_or(|of| of == file);
    }
    let Some((file, extension)) = name.rsplit_once('.') else {
        return false;
    };
    let parts: Vec<&str> = extension
        .strip_prefix("tmp")
        .map_or_else(Vec::new, |rest| rest.split('-').collect());
    matches!(parts[..], [pid, time, count]
        if numbers(pid, 10) && numbers(time, 16) && numbers(count, 10))
        && of.is_none_or(|of| stem(of) == file)
}

/// Removes the stale temporaries ([`is_stale`]) in `dir`: those of the file `of`, or
/// with `None` every temporary there (a sweep's folders when it starts). Best effort:
/// what cannot be read or removed stays. Returns how many were removed.
pub fn remove_stale_temporaries(dir: &Path, of: Option<&str>) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(writer) = temporary_writer(name, of) else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && is_stale(dir, name, writer) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file at `path` last written `age` ago.
    fn touch(path: &Path, age: Duration) {
        let file = std::fs::File::create(path).unwrap();
        file.set_modified(std::time::SystemTime::now() - age)
            .unwrap();
    }

    /// The id of a process of this machine that has exited.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn temporaries_name_their_file_and_writer() {
        let path = Path::new("/out/runs.csv");
        let temp = temporary_path(path);
        assert_eq!(temp.parent(), path.parent());
        let name = temp.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".runs.csv.tmp-"), "{name}");
        let mine = Some(Some((writer_id(), std::process::id())));
        assert_eq!(temporary_writer(name, Some("runs.csv")), mine);
        assert_eq!(temporary_writer(name, None), mine);
        assert_eq!(temporary_writer(name, Some("runs.json")), None);
        assert_ne!(temp, temporary_path(path));
        // What is no temporary: the file itself, other hidden files, near misses.
        for other in [
            "runs.csv",
            ".runs.csv",
            ".runs.csv.tmp-",
            ".runs.csv.tmp-x-1-2-3",
            "a.tmp",
        ] {
            assert_eq!(temporary_writer(other, None), None, "{other}");
        }
        // Older histinit's names: this module's and the hub's downloads.
        assert_eq!(
            temporary_writer("kaiming-s1-ab.tmp123-1f-0", Some("kaiming-s1-ab.json")),
            Some(None)
        );
        assert_eq!(
            temporary_writer("kaiming-s1-ab.tmp123-1f-0", Some("other.json")),
            None
        );
        assert_eq!(
            temporary_writer("model.bin.12-0-345.partial", Some("model.bin")),
            Some(None)
        );
        assert_eq!(
            temporary_writer("model.bin.12-0-345.partial", None),
            Some(None)
        );
        #[cfg(target_os = "linux")]
        assert_ne!(
            writer_id(),
            0,
            "a Linux writer is known by its boot and namespace"
        );
    }

    /// What a killed writer left is removed by the next write of the same file; what a
    /// live writer, an unknown writer (recently) or another file's writer has is kept;
    /// a sweep's start removes every stale one.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_next_writer_removes_what_dead_writers_left() {
        let dir = std::env::temp_dir().join(format!("histinit-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let name = |file: &str, id: u64, pid: u32| format!(".{file}.tmp-{id:016x}-{pid}-1f-0");
        let (me, dead, foreign) = (writer_id(), dead_pid(), writer_id() ^ 0xff);
        let mut live = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let fresh = Duration::ZERO;
        let old = STALE_AFTER + Duration::from_secs(60);
        let files = [
            // (name, last written, removed by the next runs.csv, removed by a sweep's start)
            (name("runs.csv", me, dead), fresh, true, true),
            (name("runs.csv", me, live.id()), old, false, false),
            (name("runs.csv", me, std::process::id()), old, false, false),
            (name("runs.csv", foreign, dead), fresh, false, false),
            (name("runs.csv", foreign, dead), old, true, true),
            (name("runs.csv", 0, 7), old, true, true),
            ("runs.tmp99-abc-3".to_string(), old, true, true),
            ("runs.tmp99-abc-4".to_string(), fresh, false, false),
            (name("curves.csv", me, dead), fresh, false, true),
            ("kaiming-s1-ab.tmp5-1-0".to_string(), old, false, true),
            (".keep".to_string(), old, false, false),
            ("notes.tmp".to_string(), old, false, false),
        ];
        // Two of the same name differ by age: make them distinct.
        let files: Vec<(String, Duration, bool, bool)> = files
            .into_iter()
            .enumerate()
            .map(|(i, (name, age, a, b))| (name.replace("-1f-0", &format!("-1f-{i}")), age, a, b))
            .collect();
        for (file, age, _, _) in &files {
            touch(&dir.join(file), *age);
        }
        let exists = |file: &str| dir.join(file).exists();

        write_atomically(&dir.join("runs.csv"), b"a,b\n").unwrap();
        assert_eq!(std::fs::read(dir.join("runs.csv")).unwrap(), b"a,b\n");
        for (file, _, removed, _) in &files {
            assert_eq!(exists(file), !removed, "{file} after writing runs.csv");
        }
        // Only what was there before and the written file: no temporary of this write.
        let count = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(count, files.iter().filter(|f| !f.2).count() + 1);

        let removed = remove_stale_temporaries(&dir, None);
        assert_eq!(removed, files.iter().filter(|f| f.3 && !f.2).count());
        for (file, _, _, swept) in &files {
            assert_eq!(exists(file), !swept, "{file} after a sweep's start");
        }
        live.kill().unwrap();
        live.wait().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
