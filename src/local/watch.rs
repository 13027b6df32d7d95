//! `sls offline --watch`: notices changes to the service's files by polling a fingerprint of
//! their names, sizes and modification times (no platform file-watching API needed).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

/// Directories whose changes never change the package sls builds, or that sls writes itself.
const SKIPPED: &[&str] = &[
    ".serverless",
    ".git",
    "node_modules",
    "target",
    "__pycache__",
    ".venv",
];

/// A digest of every file under `dir` (outside [`SKIPPED`]): equal digests, same tree.
pub fn fingerprint(dir: &Path) -> u64 {
    let mut h = DefaultHasher::new();
    walk(dir, dir, &mut h);
    h.finish()
}

fn walk(root: &Path, dir: &Path, h: &mut DefaultHasher) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            if !SKIPPED.iter().any(|s| e.file_name() == *s) {
                walk(root, &path, h);
            }
            continue;
        }
        path.strip_prefix(root).unwrap_or(&path).hash(h);
        meta.len().hash(h);
        meta.modified().ok().hash(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_change_the_fingerprint_and_build_output_does_not() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.js"), "1").unwrap();
        let first = fingerprint(d.path());
        assert_eq!(first, fingerprint(d.path()));
        std::fs::create_dir_all(d.path().join(".serverless/local")).unwrap();
        std::fs::write(d.path().join(".serverless/x.zip"), "zip").unwrap();
        assert_eq!(first, fingerprint(d.path()));
        std::fs::write(d.path().join("a.js"), "12").unwrap();
        assert_ne!(first, fingerprint(d.path()));
    }
}
