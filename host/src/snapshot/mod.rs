//! Warm restarts: every live entry of a set of backends, with when it expires, written to
//! one file atomically and read back whole.
//!
//! [`save`] lists each backend's entries (the contract's `listing.entries`, or 0.1's
//! `handover`) page by page, one thread per backend, into a temporary file beside the
//! target, hashing as it writes, then flushes it to disk and renames it over the target,
//! so a crash mid-save leaves the previous snapshot intact. Entries written while a save
//! runs may or may not be in it; each entry in it is whole. Expiry is stored as a Unix
//! time, so time spent down counts.
//!
//! [`Snapshot::read`] checks the whole file (magic, version, checksum, every length)
//! before handing out a single entry; [`restore`] puts the entries still live into the
//! backends, each key to the backend `route` names, in batches, one thread per backend.
//! The format is in [`format`](self) (see `format.rs`).

mod error;
mod format;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub use self::error::SnapshotError;
pub use self::format::SnapshotEntry;
use self::format::{Checked, Encoder, Reader};
use crate::backend::{Backend, PutItem};

/// Entries listed, or put, per backend call.
const PAGE: u32 = 1024;
/// Pages listed ahead of the one being written.
const LISTED_AHEAD: usize = 4;

/// What [`save`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveReport {
    /// Entries written.
    pub entries: u64,
    /// The file's size in bytes.
    pub bytes: u64,
    /// How long it took.
    pub elapsed: std::time::Duration,
}

/// What [`restore`] did with a snapshot's entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Entries put back.
    pub restored: u64,
    /// Entries that expired while the snapshot sat on disk (skipped).
    pub expired: u64,
    /// Entries a backend refused (a key or value over its limits); the first reason.
    pub refused: u64,
    /// Why the first refused entry was refused.
    pub first_refusal: Option<String>,
    /// How long it took.
    pub elapsed: std::time::Duration,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes every live entry of `backends` to `path`, atomically (a temporary file beside
/// it, flushed to disk, then renamed over it).
pub fn save(path: &Path, backends: &[&dyn Backend]) -> Result<SaveReport, SnapshotError> {
    let started = Instant::now();
    remove_abandoned_temporaries(path);
    let temporary = temporary_path(path);
    let result = write_to(&temporary, backends).and_then(|(entries, bytes)| {
        std::fs::rename(&temporary, path).map_err(io_error(path))?;
        // The rename itself reaches the disk with the directory.
        if let Ok(dir) = std::fs::File::open(directory_of(path)) {
            let _ = dir.sync_all();
        }
        Ok(SaveReport {
            entries,
            bytes,
            elapsed: started.elapsed(),
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// `dir/.name.tmp-PID`: beside the target, so the rename stays on one filesystem.
fn temporary_path(path: &Path) -> PathBuf {
    path.with_file_name(format!("{}{}", temporary_prefix(path), std::process::id()))
}

/// The name of a temporary file of `path` up to the PID: `.name.tmp-`.
fn temporary_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "snapshot".into(), |n| n.to_string_lossy().into_owned());
    format!(".{name}.tmp-")
}

/// The directory `path` is in (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Removes the temporary files of saves to `path` by processes that no longer run (a
/// server killed mid-save leaves its `.name.tmp-PID` behind, as large as a snapshot).
/// Another live process's file is left alone, and so is anything that is not one.
fn remove_abandoned_temporaries(path: &Path) {
    let prefix = temporary_prefix(path);
    let Ok(entries) = std::fs::read_dir(directory_of(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !process_runs(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` exists (on systems without `/proc`, assume it does).
fn process_runs(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

fn write_to(temporary: &Path, backends: &[&dyn Backend]) -> Result<(u64, u64), SnapshotError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    // The cache's contents may be anyone's data: only the server's user reads the file.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(temporary).map_err(io_error(temporary))?;
    let now = unix_ms();
    let mut encoder = Encoder::new(file, now);
    // Each backend is listed page by page on a thread of its own while this one encodes,
    // hashes and writes: the guest calls overlap each other and the file's work. Few
    // pages wait in between, and a write error ends the listing (its sends fail once the
    // receiver is gone).
    std::thread::scope(|scope| {
        let (pages, received) = std::sync::mpsc::sync_channel(LISTED_AHEAD * backends.len());
        for (index, backend) in backends.iter().enumerate() {
            let pages = pages.clone();
            scope.spawn(move || list(index, *backend, &pages));
        }
        drop(pages);
        for page in received {
            for entry in &page? {
                let expires_at_ms = entry
                    .ttl_remaining_ms
                    .map(|ttl| now.saturating_add(ttl).max(1));
                encoder
                    .entry(SnapshotEntry {
                        key: &entry.key,
                        value: &entry.value,
                        expires_at_ms,
                    })
                    .map_err(io_error(temporary))?;
            }
        }
        Ok::<(), SnapshotError>(())
    })?;
    let (entries, file) = encoder.finish().map_err(io_error(temporary))?;
    file.sync_all().map_err(io_error(temporary))?;
    let bytes = file.metadata().map_err(io_error(temporary))?.len();
    Ok((entries, bytes))
}

/// A page of listed entries, or why listing stopped.
type Listed = Result<Vec<crate::backend::HandoverEntry>, SnapshotError>;

/// Sends `backend`'s entries (it is number `index`) page by page to `pages`, until the
/// last page, a fault, or the receiver is gone.
fn list(index: usize, backend: &dyn Backend, pages: &std::sync::mpsc::SyncSender<Listed>) {
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let page = backend
            .entries(cursor.as_deref(), PAGE)
            .map_err(|source| SnapshotError::Backend { index, source })
            .and_then(|page| page.ok_or(SnapshotError::CannotList { index }));
        let (entries, next) = match page {
            Ok(page) => (page.entries, page.next),
            Err(error) => {
                let _ = pages.send(Err(error));
                return;
            }
        };
        if pages.send(Ok(entries)).is_err() {
            return;
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return,
        }
    }
}

/// A snapshot read from disk and checked whole.
#[derive(Debug)]
pub struct Snapshot {
    checked: Checked,
}

impl Snapshot {
    /// Reads and checks the file at `path`: a torn, truncated, altered or foreign file is
    /// an error, and nothing of it is handed out.
    pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
        let bytes = std::fs::read(path).map_err(io_error(path))?;
        let checked = format::check(&path.display().to_string(), bytes)?;
        Ok(Snapshot { checked })
    }

    /// How many entries it holds.
    pub fn len(&self) -> u64 {
        self.checked.entries
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.checked.entries == 0
    }

    /// When it was written, in Unix milliseconds.
    pub fn saved_at_ms(&self) -> u64 {
        self.checked.saved_at_ms
    }

    /// Its entries, in the order they were written.
    pub fn entries(&self) -> impl Iterator<Item = SnapshotEntry<'_>> {
        let mut reader = Reader::of(&self.checked);
        // Checked whole when read, so the walk cannot fail.
        std::iter::from_fn(move || reader.next().ok().flatten())
    }
}

/// Puts `snapshot`'s live entries into `backends`, each key into `backends[route(key)]`,
/// with the time it has left; entries that expired meanwhile are skipped. One thread per
/// backend, 1 024 entries per `put_many`. A backend's fault stops the restore with an
/// error; an entry it refuses is counted and skipped.
pub fn restore(
    snapshot: &Snapshot,
    backends: &[&dyn Backend],
    route: impl Fn(&[u8]) -> usize + Sync,
) -> Result<RestoreReport, SnapshotError> {
    let started = Instant::now();
    let now = unix_ms();
    let mut report = RestoreReport::default();
    let mut routed: Vec<Vec<PutItem<'_>>> = vec![Vec::new(); backends.len()];
    for entry in snapshot.entries() {
        let ttl_ms = match entry.expires_at_ms {
            None => None,
            Some(at) if at <= now => {
                report.expired += 1;
                continue;
            }
            Some(at) => Some(at - now),
        };
        let index = route(entry.key).min(backends.len().saturating_sub(1));
        routed[index].push(PutItem {
            key: entry.key,
            value: entry.value,
            ttl_ms,
        });
    }
    let tallies: Vec<Result<RestoreReport, SnapshotError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = routed
            .iter()
            .zip(backends)
            .enumerate()
            .map(|(index, (items, backend))| scope.spawn(move || put_all(index, *backend, items)))
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    for tally in tallies {
        let tally = tally?;
        report.restored += tally.restored;
        report.refused += tally.refused;
        if report.first_refusal.is_none() {
            report.first_refusal = tally.first_refusal;
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Puts `items` into `backend` (number `index`) in pages; what was put and refused.
fn put_all(
    index: usize,
    backend: &dyn Backend,
    items: &[PutItem<'_>],
) -> Result<RestoreReport, SnapshotError> {
    let mut tally = RestoreReport::default();
    for page in items.chunks(PAGE as usize) {
        let results = backend
            .put_many(page)
            .map_err(|source| SnapshotError::Backend { index, source })?;
        for result in results {
            match result {
                Ok(()) => tally.restored += 1,
                Err(error) => {
                    tally.refused += 1;
                    tally.first_refusal.get_or_insert_with(|| error.to_string());
                }
            }
        }
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryBackend;
    use crate::clock::SystemClock;

    fn filled(entries: usize) -> MemoryBackend {
        let backend = MemoryBackend::new(SystemClock::shared());
        for i in 0..entries {
            let ttl = (i % 3 == 0).then_some(60_000);
            backend
                .put(
                    format!("key{i}").as_bytes(),
                    format!("value{i}").as_bytes(),
                    ttl,
                )
                .expect("put");
        }
        backend
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_save_removes_temporaries_abandoned_by_dead_processes_only() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cache.snap");
        // A process that has exited: a child that ran and was waited for.
        let dead = std::process::Command::new("true")
            .spawn()
            .and_then(|mut child| child.wait().map(|_| child.id()))
            .expect("run `true`");
        let abandoned = dir.path().join(format!(".cache.snap.tmp-{dead}"));
        let live = dir.path().join(format!(
            ".cache.snap.tmp-{}",
            std::os::unix::process::parent_id()
        ));
        let unrelated = dir.path().join(".other.snap.tmp-1");
        for file in [&abandoned, &live, &unrelated] {
            std::fs::write(file, b"half a snapshot").expect("write");
        }
        save(&path, &[&filled(10)]).expect("save");
        assert!(!abandoned.exists(), "a dead process's temporary is removed");
        assert!(live.exists(), "a live process's temporary is kept");
        assert!(unrelated.exists(), "another file's temporary is kept");
        assert_eq!(Snapshot::read(&path).expect("read").len(), 10);
    }

    #[test]
    fn entries_and_expiries_survive_a_save_and_a_restore_into_other_shards() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cache.snap");
        let (one, two) = (filled(1500), MemoryBackend::new(SystemClock::shared()));
        two.put(b"other", b"x", None).expect("put");
        let saved = save(&path, &[&one, &two]).expect("save");
        assert_eq!(saved.entries, 1501);
        assert_eq!(saved.bytes, std::fs::metadata(&path).expect("file").len());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "readable by the server's user only");
        }

        let snapshot = Snapshot::read(&path).expect("read");
        assert_eq!(snapshot.len(), 1501);
        let targets: Vec<MemoryBackend> = (0..3)
            .map(|_| MemoryBackend::new(SystemClock::shared()))
            .collect();
        let backends: Vec<&dyn Backend> = targets.iter().map(|b| b as &dyn Backend).collect();
        let route = |key: &[u8]| key.len() % 3;
        let report = restore(&snapshot, &backends, route).expect("restore");
        assert_eq!(
            (report.restored, report.expired, report.refused),
            (1501, 0, 0)
        );
        for i in [0usize, 1, 2, 1499] {
            let key = format!("key{i}");
            let owner = &targets[route(key.as_bytes())];
            assert_eq!(
                owner.get(key.as_bytes()).expect("get"),
                Some(format!("value{i}").into_bytes())
            );
            let ttl = owner.ttl(key.as_bytes()).expect("ttl").expect("live");
            match ttl.remaining_ms() {
                Some(ms) => assert!(i % 3 == 0 && (59_000..=60_000).contains(&ms), "{key}: {ms}"),
                None => assert!(i % 3 != 0, "{key} lost its expiry"),
            }
        }
    }

    #[test]
    fn an_expired_entry_is_not_restored() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cache.snap");
        let backend = MemoryBackend::new(SystemClock::shared());
        backend.put(b"soon", b"v", Some(30)).expect("put");
        backend.put(b"kept", b"v", None).expect("put");
        save(&path, &[&backend]).expect("save");
        std::thread::sleep(std::time::Duration::from_millis(60));
        let target = MemoryBackend::new(SystemClock::shared());
        let report =
            restore(&Snapshot::read(&path).expect("read"), &[&target], |_| 0).expect("restore");
        assert_eq!((report.restored, report.expired), (1, 1));
        assert_eq!(target.get(b"soon").expect("get"), None);
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_refused_whole() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cache.snap");
        save(&path, &[&filled(5)]).expect("save");
        let good = std::fs::read(&path).expect("bytes");
        for cut in 0..good.len() {
            let result = format::check("t", good[..cut].to_vec());
            assert!(
                result.is_err(),
                "cut at {cut} of {} was accepted",
                good.len()
            );
        }
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            let error = format::check("t", bad).expect_err("a flipped byte");
            let text = error.to_string();
            assert!(
                text.contains("damaged")
                    || text.contains("not a wasmcache snapshot")
                    || text.contains("version"),
                "byte {at}: {text}"
            );
        }
        let foreign = format::check("t", b"*1\r\n$4\r\nPING\r\n".to_vec()).expect_err("foreign");
        assert!(
            matches!(foreign, SnapshotError::Foreign { .. }),
            "{foreign}"
        );
    }

    #[test]
    fn a_version_1_snapshot_with_its_sha256_checksum_is_still_read_and_a_newer_one_is_not() {
        use sha2::Digest as _;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cache.snap");
        save(&path, &[&filled(40)]).expect("save");
        let current = std::fs::read(&path).expect("bytes");
        assert_eq!(current[8..12], 2u32.to_le_bytes(), "version 2 is written");
        // The same entries as version 1 wrote them: a SHA-256 where XXH3-128 is now.
        let mut old = current[..current.len() - 16].to_vec();
        old[8..12].copy_from_slice(&1u32.to_le_bytes());
        let digest = sha2::Sha256::digest(&old);
        old.extend_from_slice(&digest);
        std::fs::write(&path, &old).expect("write");
        let snapshot = Snapshot::read(&path).expect("a version 1 file is read");
        assert_eq!(snapshot.len(), 40);
        let target = MemoryBackend::new(SystemClock::shared());
        let report = restore(&snapshot, &[&target], |_| 0).expect("restore");
        assert_eq!(report.restored, 40);
        assert_eq!(
            target.get(b"key39").expect("get"),
            Some(b"value39".to_vec())
        );

        let mut newer = current.clone();
        newer[8..12].copy_from_slice(&3u32.to_le_bytes());
        let error = format::check("t", newer).expect_err("version 3");
        assert!(
            matches!(
                error,
                SnapshotError::Version {
                    found: 3,
                    supported: 2,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn a_backend_that_cannot_list_cannot_be_saved_and_the_old_file_stays() {
        struct Opaque(MemoryBackend);
        impl Backend for Opaque {
            fn get(&self, key: &[u8]) -> crate::Result<Option<Vec<u8>>> {
                self.0.get(key)
            }
            fn put(&self, key: &[u8], value: &[u8], ttl: Option<u64>) -> crate::Result<()> {
                self.0.put(key, value, ttl)
            }
            fn invalidate(&self, key: Option<&[u8]>) -> crate::Result<()> {
                self.0.invalidate(key)
            }
            fn stats(&self) -> crate::Result<crate::BackendStats> {
                self.0.stats()
            }
            fn size_limits(&self) -> crate::SizeLimits {
                self.0.size_limits()
            }
        }
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cache.snap");
        save(&path, &[&filled(3)]).expect("save");
        let before = std::fs::read(&path).expect("bytes");
        let error = save(&path, &[&Opaque(filled(2))]).expect_err("cannot list");
        assert!(
            matches!(error, SnapshotError::CannotList { index: 0 }),
            "{error}"
        );
        assert_eq!(
            std::fs::read(&path).expect("bytes"),
            before,
            "the old snapshot is intact"
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    }
}
