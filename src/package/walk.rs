//! Lists the files under the service directory, as Serverless' `globby('**', { follow: true,
//! dot: true })` would, with what packaging needs to know about each: size, executable bit and
//! a change stamp. Anything that cannot be packaged safely is listed with the reason, so that it
//! becomes an error only if the patterns include it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One file found under the service directory.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Relative to the service directory, `/`-separated: the name inside the zip.
    pub rel: String,
    /// Where to read it from (through symlinks inside the service directory).
    pub path: PathBuf,
    pub size: u64,
    pub executable: bool,
    /// Modification and status-change times in nanoseconds: a change to either means the
    /// content may have changed.
    pub stamp: (i128, i128),
    /// Set when the entry cannot be packaged; an error only when the entry is included.
    pub problem: Option<Problem>,
}

/// Why an entry cannot be packaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A symlink whose target is outside the service directory; `dir` when it is a directory,
    /// so that any file below it counts as included.
    Outside { target: PathBuf, dir: bool },
    /// A symlink whose target does not exist.
    Broken { target: PathBuf },
    /// A directory symlink that leads back to one of its own parents.
    Loop { target: PathBuf },
    /// The name is not valid UTF-8, which zip file names must be.
    NotUtf8,
    /// The file or directory could not be read.
    Unreadable(String),
}

/// Lists every file under `root`, sorted by `rel`, skipping the directory named `skip`
/// (relative to `root`: our own output directory is never packaged) and every directory for
/// which `prune` (given its relative name) says nothing below it is wanted.
pub fn walk(
    root: &Path,
    skip: Option<&Path>,
    prune: &dyn Fn(&str) -> bool,
) -> io::Result<Vec<Entry>> {
    let root_real = fs::canonicalize(root)?;
    let skip_real = skip.and_then(|s| fs::canonicalize(root.join(s)).ok());
    let mut out = Vec::new();
    // (directory to read, its relative name with trailing `/` or empty, its real path)
    let mut stack = vec![(root.to_path_buf(), String::new(), root_real.clone())];
    while let Some((dir, prefix, real)) = stack.pop() {
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if prefix.is_empty() => return Err(e),
            Err(e) => {
                out.push(unreadable(&prefix, &dir, &e));
                continue;
            }
        };
        for item in rd {
            let item = match item {
                Ok(i) => i,
                Err(e) => {
                    out.push(unreadable(&prefix, &dir, &e));
                    continue;
                }
            };
            let path = item.path();
            let name = item.file_name();
            let Some(name) = name.to_str() else {
                let rel = format!("{prefix}{}", name.to_string_lossy());
                out.push(problem_entry(&rel, &path, Problem::NotUtf8));
                continue;
            };
            let rel = format!("{prefix}{name}");
            let child_real = real.join(name);
            if skip_real.as_deref() == Some(child_real.as_path()) {
                continue;
            }
            let ft = match item.file_type() {
                Ok(ft) => ft,
                Err(e) => {
                    out.push(unreadable(&rel, &path, &e));
                    continue;
                }
            };
            if (ft.is_dir() || ft.is_symlink()) && prune(&rel) {
                continue;
            }
            if ft.is_dir() {
                stack.push((path, format!("{rel}/"), child_real));
            } else if ft.is_file() {
                out.push(file_entry(rel, path, item.metadata()));
            } else if ft.is_symlink() {
                symlink(&root_real, rel, path, &real, &mut out, &mut stack);
            }
            // Sockets, FIFOs and devices are not files Lambda could use; they are skipped.
        }
    }
    out.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

fn symlink(
    root_real: &Path,
    rel: String,
    path: PathBuf,
    parent_real: &Path,
    out: &mut Vec<Entry>,
    stack: &mut Vec<(PathBuf, String, PathBuf)>,
) {
    let shown = fs::read_link(&path).unwrap_or_default();
    let target = match fs::canonicalize(&path) {
        Ok(t) => t,
        Err(_) => {
            out.push(problem_entry(
                &rel,
                &path,
                Problem::Broken { target: shown },
            ));
            return;
        }
    };
    let meta = fs::metadata(&path);
    let is_dir = meta.as_ref().is_ok_and(fs::Metadata::is_dir);
    if !target.starts_with(root_real) {
        let problem = Problem::Outside {
            target: shown,
            dir: is_dir,
        };
        out.push(problem_entry(&rel, &path, problem));
    } else if is_dir {
        if parent_real.starts_with(&target) {
            out.push(problem_entry(&rel, &path, Problem::Loop { target: shown }));
        } else {
            stack.push((path, format!("{rel}/"), target));
        }
    } else if meta.as_ref().is_ok_and(fs::Metadata::is_file) {
        out.push(file_entry(rel, path, meta));
    }
}

fn file_entry(rel: String, path: PathBuf, meta: io::Result<fs::Metadata>) -> Entry {
    match meta {
        Ok(m) => Entry {
            rel,
            path,
            size: m.len(),
            executable: executable(&m),
            stamp: stamp(&m),
            problem: None,
        },
        Err(e) => unreadable(&rel, &path, &e),
    }
}

fn unreadable(rel: &str, path: &Path, e: &dyn std::fmt::Display) -> Entry {
    problem_entry(rel, path, Problem::Unreadable(e.to_string()))
}

fn problem_entry(rel: &str, path: &Path, problem: Problem) -> Entry {
    Entry {
        rel: rel.trim_end_matches('/').to_string(),
        path: path.to_path_buf(),
        size: 0,
        executable: false,
        stamp: (0, 0),
        problem: Some(problem),
    }
}

#[cfg(unix)]
fn executable(m: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_: &fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
fn stamp(m: &fs::Metadata) -> (i128, i128) {
    use std::os::unix::fs::MetadataExt;
    let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
    (ns(m.mtime(), m.mtime_nsec()), ns(m.ctime(), m.ctime_nsec()))
}

#[cfg(not(unix))]
fn stamp(m: &fs::Metadata) -> (i128, i128) {
    let t = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    (t, 0)
}
