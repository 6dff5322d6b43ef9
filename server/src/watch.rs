//! Continuous landing: `server ingest watch DIR` loads the export files a records or dispatch
//! system drops into a folder, as they arrive, with the same idempotent ingest as a one-off
//! load (upsert by source and id; an unchanged file changes nothing).
//!
//! A file is loaded once it has *settled* — the same size and modification time on two scans in
//! a row, so a file still being written is never read half-way — and again whenever it changes
//! after that. Hidden and partial files (`.name`, `*.tmp`, `*.part`) are left alone; files are
//! taken in name order (exports are usually named by time).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What a scan remembers of a file.
type Stamp = (u64, Option<SystemTime>);

/// Remembers what each scan saw and what was loaded.
#[derive(Debug, Default)]
pub struct Scanner {
    seen: HashMap<PathBuf, Stamp>,
    loaded: HashMap<PathBuf, Stamp>,
}

/// Whether a file name is one the watcher takes.
pub fn is_export(path: &Path, extension: &str) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return false };
    !name.starts_with('.')
        && !name.ends_with(".tmp")
        && !name.ends_with(".part")
        && path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case(extension))
}

impl Scanner {
    /// The files of `dir` ready to load now: settled since the last scan (or, with `trust_now`,
    /// as they are: a one-off pass) and not loaded in this state before.
    ///
    /// # Errors
    /// The folder cannot be read.
    pub fn ready(&mut self, dir: &Path, extension: &str, trust_now: bool) -> std::io::Result<Vec<PathBuf>> {
        let mut now: HashMap<PathBuf, Stamp> = HashMap::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_file() && is_export(&path, extension) {
                now.insert(path, (meta.len(), meta.modified().ok()));
            }
        }
        let mut ready: Vec<PathBuf> = now
            .iter()
            .filter(|(path, stamp)| trust_now || self.seen.get(*path) == Some(stamp))
            .filter(|(path, stamp)| self.loaded.get(*path) != Some(stamp))
            .map(|(path, _)| path.clone())
            .collect();
        ready.sort();
        self.seen = now;
        Ok(ready)
    }

    /// Records that `path` was loaded as the last scan saw it.
    pub fn mark_loaded(&mut self, path: &Path) {
        if let Some(stamp) = self.seen.get(path) {
            self.loaded.insert(path.to_path_buf(), *stamp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_taken_once_it_settles_and_again_when_it_changes() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = Scanner::default();
        let a = dir.path().join("2020-12-01.csv");
        std::fs::write(&a, "id,occurred_at\n").expect("write");
        std::fs::write(dir.path().join(".hidden.csv"), "x").expect("write");
        std::fs::write(dir.path().join("half.csv.part"), "x").expect("write");
        std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
        // First sight: not settled yet.
        assert!(s.ready(dir.path(), "csv", false).expect("scan").is_empty());
        // Same size and time on the next scan: ready; once loaded, not again.
        assert_eq!(s.ready(dir.path(), "csv", false).expect("scan"), vec![a.clone()]);
        s.mark_loaded(&a);
        assert!(s.ready(dir.path(), "csv", false).expect("scan").is_empty());
        // Still being written (it grows between scans): wait until it stops.
        std::fs::write(&a, "id,occurred_at\n1,2020-12-01T10:00\n").expect("write");
        assert!(s.ready(dir.path(), "csv", false).expect("scan").is_empty());
        assert_eq!(s.ready(dir.path(), "csv", false).expect("scan"), vec![a.clone()]);
        // A one-off pass takes what is there, in name order.
        let b = dir.path().join("2020-11-30.csv");
        std::fs::write(&b, "id\n").expect("write");
        let mut once = Scanner::default();
        assert_eq!(once.ready(dir.path(), "CSV", true).expect("scan"), vec![b, a]);
    }
}
