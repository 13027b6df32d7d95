//! Python dependencies: a Python function's `requirements.txt` installed for Lambda's platform —
//! the function's runtime and architecture, not the host's — without Docker, and kept in a
//! cache keyed by what decides the result.
//!
//! Binary wheels only: a package with no wheel for the platform is an error naming it, never a
//! build for the host. The manylinux ceiling follows the runtime's OS: glibc 2.26 on Amazon
//! Linux 2 (python3.8–3.11) takes `manylinux2014`/`_2_17`; Amazon Linux 2023 (python3.12 on)
//! has glibc 2.34. `uv` is used when it is on PATH (`--python-platform`), pip's
//! `--platform`/`--only-binary` otherwise.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// `custom.pythonRequirements`, as serverless-python-requirements reads it (the keys sls honours).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `slim`: leave out `__pycache__`, `*.pyc`, `*.dist-info` (and `slimPatterns`).
    pub slim: bool,
    pub slim_patterns: Vec<String>,
    /// `noDeploy`: packages not installed (boto3 and friends are in the runtime already).
    pub no_deploy: Vec<String>,
    /// `invalidateCaches`: install again even when the cache has the set.
    pub invalidate_caches: bool,
    /// `cacheLocation`, else the user's cache directory.
    pub cache_dir: PathBuf,
}

/// Which lock files may stand in for a missing requirements file (`usePipenv`, `useUv`,
/// `usePoetry`, all true unless set false), with poetry's group selection.
#[derive(Debug, Clone)]
pub struct Locks {
    pub pipenv: bool,
    pub uv: bool,
    pub poetry: bool,
    /// `poetryWithGroups`, `poetryWithoutGroups`, `poetryOnlyGroups`.
    pub poetry_with: Vec<String>,
    pub poetry_without: Vec<String>,
    pub poetry_only: Vec<String>,
}

impl Default for Locks {
    fn default() -> Self {
        Locks {
            pipenv: true,
            uv: true,
            poetry: true,
            poetry_with: Vec::new(),
            poetry_without: Vec::new(),
            poetry_only: Vec::new(),
        }
    }
}

/// Writes `into` from the service's lock file when there is no requirements file, as the plugin
/// exports one: `Pipfile.lock`'s `default` packages (read here: the pins are in it), `uv.lock`
/// through `uv export`, `poetry.lock` through `poetry export` — the project's runtime
/// dependencies only, pinned, without hashes. Returns which lock was used, `None` when none is
/// there; `into` is rewritten only when its text changes.
pub fn export(
    service_dir: &Path,
    locks: &Locks,
    into: &Path,
) -> Result<Option<&'static str>, PythonError> {
    let (text, lock) = if locks.pipenv && service_dir.join("Pipfile.lock").is_file() {
        let lock = service_dir.join("Pipfile.lock");
        let json = fs::read_to_string(&lock).map_err(|source| PythonError::Lock {
            lock: lock.clone(),
            why: source.to_string(),
        })?;
        (
            pipfile_requirements(&json).map_err(|why| PythonError::Lock { lock, why })?,
            "Pipfile.lock",
        )
    } else if locks.uv && service_dir.join("uv.lock").is_file() {
        let args = [
            "export",
            "--frozen",
            "--no-hashes",
            "--no-dev",
            "--no-emit-project",
            "--no-header",
            "--format",
            "requirements-txt",
        ];
        (
            exported(service_dir, "uv", &args.map(str::to_string))?,
            "uv.lock",
        )
    } else if locks.poetry && service_dir.join("poetry.lock").is_file() {
        let mut args: Vec<String> = ["export", "--format", "requirements.txt", "--without-hashes"]
            .map(str::to_string)
            .to_vec();
        for (flag, groups) in [
            ("--with", &locks.poetry_with),
            ("--without", &locks.poetry_without),
            ("--only", &locks.poetry_only),
        ] {
            if !groups.is_empty() {
                args.extend([flag.to_string(), groups.join(",")]);
            }
        }
        (exported(service_dir, "poetry", &args)?, "poetry.lock")
    } else {
        return Ok(None);
    };
    super::write_if_changed(into, text.as_bytes()).map_err(|source| PythonError::Cache {
        path: into.to_path_buf(),
        source,
    })?;
    Ok(Some(lock))
}

/// The requirement lines of `Pipfile.lock`'s `default` section: `name[extras]==version ;
/// markers`. A package pinned to a VCS URL or a path has no version to install a wheel of.
fn pipfile_requirements(json: &str) -> Result<String, String> {
    let doc: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let default = doc
        .get("default")
        .and_then(|d| d.as_object())
        .ok_or("it has no `default` section")?;
    let mut out = String::new();
    for (name, pin) in default {
        let Some(version) = pin.get("version").and_then(|v| v.as_str()) else {
            return Err(format!(
                "`{name}` is not pinned to a version from an index (a VCS or path dependency): sls installs published wheels only"
            ));
        };
        out.push_str(name);
        let extras: Vec<&str> = pin
            .get("extras")
            .and_then(|e| e.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if !extras.is_empty() {
            out.push_str(&format!("[{}]", extras.join(",")));
        }
        out.push_str(version);
        if let Some(m) = pin.get("markers").and_then(|m| m.as_str()) {
            out.push_str(&format!(" ; {m}"));
        }
        out.push('\n');
    }
    Ok(out)
}

/// The requirements a tool exports (run in the service directory, output on stdout).
fn exported(
    service_dir: &Path,
    tool: &'static str,
    args: &[String],
) -> Result<String, PythonError> {
    let out = Command::new(tool)
        .args(args)
        .current_dir(service_dir)
        .output()
        .map_err(|source| PythonError::NoTool { tool, source })?;
    if !out.status.success() {
        return Err(PythonError::Failed {
            requirements: service_dir.join(format!("{tool} export")),
            runtime: String::new(),
            arch: String::new(),
            tool,
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One set of dependencies to install.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Want {
    pub requirements: PathBuf,
    /// `python3.12`.
    pub runtime: String,
    /// `x86_64` or `arm64`.
    pub arch: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    #[error("`{}`: no wheel of `{package}` for {runtime} on {arch} (Lambda's Linux); sls installs binary wheels only", requirements.display())]
    NoWheel {
        requirements: PathBuf,
        package: String,
        runtime: String,
        arch: String,
    },
    #[error("installing `{}` for {runtime} on {arch} failed ({tool}):\n{output}", requirements.display())]
    Failed {
        requirements: PathBuf,
        runtime: String,
        arch: String,
        tool: &'static str,
        output: String,
    },
    #[error(
        "cannot run `{tool}` for the Python dependencies: {source} (install it, or write a requirements.txt)"
    )]
    NoTool {
        tool: &'static str,
        source: io::Error,
    },
    #[error("cannot read the lock file `{}`: {why}", lock.display())]
    Lock { lock: PathBuf, why: String },
    #[error("cannot use the dependency cache `{}`: {source}", path.display())]
    Cache { path: PathBuf, source: io::Error },
}

/// The glibc ceiling of the runtime's OS: Amazon Linux 2 up to python3.11, 2023 after.
fn glibc_minor(runtime: &str) -> u32 {
    let minor: u32 = runtime
        .strip_prefix("python3.")
        .and_then(|m| m.parse().ok())
        .unwrap_or(12);
    if minor <= 11 { 17 } else { 34 }
}

fn machine(arch: &str) -> &'static str {
    if arch == "arm64" { "aarch64" } else { "x86_64" }
}

/// pip's `--platform` tags, every one the runtime accepts (pip does not widen them itself).
pub fn pip_platforms(runtime: &str, arch: &str) -> Vec<String> {
    let m = machine(arch);
    let mut tags: Vec<String> = (17..=glibc_minor(runtime))
        .rev()
        .map(|minor| format!("manylinux_2_{minor}_{m}"))
        .collect();
    tags.push(format!("manylinux2014_{m}"));
    if m == "x86_64" {
        tags.extend(["manylinux2010_x86_64".into(), "manylinux1_x86_64".into()]);
    }
    tags
}

/// `3.12` of `python3.12`.
fn version(runtime: &str) -> &str {
    runtime.strip_prefix("python").unwrap_or(runtime)
}

/// The requirement lines less comments, blanks and the `noDeploy` packages.
fn wanted_lines(text: &str, no_deploy: &[String]) -> Vec<String> {
    text.lines()
        .map(|l| l.split(" #").next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| {
            let name: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            !no_deploy.iter().any(|n| normalise(n) == normalise(&name))
        })
        .map(str::to_string)
        .collect()
}

/// PEP 503 names: case and `-_.` runs do not matter.
fn normalise(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn uv_on_path() -> bool {
    Command::new("uv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The directory holding `want`'s dependencies, installed now unless the cache has them.
/// Returns `None` when the requirements name nothing to install.
pub fn install(want: &Want, opts: &Options) -> Result<Option<PathBuf>, PythonError> {
    let text = fs::read_to_string(&want.requirements).map_err(|source| PythonError::Cache {
        path: want.requirements.clone(),
        source,
    })?;
    let lines = wanted_lines(&text, &opts.no_deploy);
    if lines.is_empty() {
        return Ok(None);
    }
    let uv = uv_on_path();
    let tool = if uv { "uv" } else { "pip" };
    let mut h = Sha256::new();
    for part in [
        lines.join("\n").as_str(),
        &want.runtime,
        &want.arch,
        tool,
        if opts.slim { "slim" } else { "" },
        &opts.slim_patterns.join("\n"),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let key: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = opts
        .cache_dir
        .join(format!("{}-{}-{key}", want.runtime, want.arch));
    let done = dir.with_extension("done");
    let cache_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PythonError::Cache { path, source }
    };
    if done.is_file() && dir.is_dir() && !opts.invalidate_caches {
        return Ok(Some(dir));
    }
    fs::create_dir_all(&opts.cache_dir).map_err(cache_err(&opts.cache_dir))?;
    // Installed beside and renamed into place: a process reading the cache never sees half.
    let tmp = opts
        .cache_dir
        .join(format!(".{key}.{}.partial", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let filtered = tmp.with_extension("txt");
    fs::write(&filtered, lines.join("\n") + "\n").map_err(cache_err(&filtered))?;
    let mut cmd = if uv {
        let mut c = Command::new("uv");
        c.args(["pip", "install", "--quiet", "--no-config", "--target"])
            .arg(&tmp)
            .args([
                "--python-platform",
                &format!(
                    "{}-manylinux_2_{}",
                    machine(&want.arch),
                    glibc_minor(&want.runtime)
                ),
                "--python-version",
                version(&want.runtime),
                "--only-binary",
                ":all:",
                "-r",
            ])
            .arg(&filtered);
        c
    } else {
        let mut c = Command::new("python3");
        c.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--target",
        ])
        .arg(&tmp)
        .args([
            "--implementation",
            "cp",
            "--python-version",
            version(&want.runtime),
            "--only-binary=:all:",
        ]);
        for p in pip_platforms(&want.runtime, &want.arch) {
            c.args(["--platform", &p]);
        }
        c.arg("-r").arg(&filtered);
        c
    };
    let out = cmd
        .output()
        .map_err(|source| PythonError::NoTool { tool, source })?;
    let _ = fs::remove_file(&filtered);
    if !out.status.success() {
        let _ = fs::remove_dir_all(&tmp);
        let output = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(match missing_wheel(&output) {
            Some(package) => PythonError::NoWheel {
                requirements: want.requirements.clone(),
                package,
                runtime: want.runtime.clone(),
                arch: want.arch.clone(),
            },
            None => PythonError::Failed {
                requirements: want.requirements.clone(),
                runtime: want.runtime.clone(),
                arch: want.arch.clone(),
                tool,
                output,
            },
        });
    }
    // Installed scripts carry the host's interpreter path and are of no use in Lambda.
    let _ = fs::remove_dir_all(tmp.join("bin"));
    if opts.slim {
        slim(&tmp, &opts.slim_patterns).map_err(cache_err(&tmp))?;
    }
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&tmp, &dir).map_err(cache_err(&dir))?;
    fs::write(&done, tool).map_err(cache_err(&done))?;
    Ok(Some(dir))
}

/// The package pip or uv found no wheel for, from their messages.
fn missing_wheel(output: &str) -> Option<String> {
    let name_after = |marker: &str| {
        output.find(marker).map(|i| {
            output[i + marker.len()..]
                .trim_start_matches(['`', '\'', '"', ' '])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect::<String>()
        })
    };
    // pip: "No matching distribution found for NAME==1.0"; uv: "Because NAME==1.0 has no
    // wheels with a matching platform tag" / "there is no version of NAME".
    name_after("No matching distribution found for ")
        .or_else(|| name_after("Because "))
        .or_else(|| name_after("there is no version of "))
        .filter(|n| !n.is_empty())
}

/// serverless-python-requirements' `slim`: compiled files and package metadata out, and the
/// user's `slimPatterns` (globs relative to the install directory).
fn slim(dir: &Path, patterns: &[String]) -> io::Result<()> {
    let globs: Vec<globset::GlobMatcher> = patterns
        .iter()
        .filter_map(|p| {
            globset::Glob::new(p.trim_start_matches("**/"))
                .ok()
                .map(|g| g.compile_matcher())
        })
        .collect();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d)? {
            let e = e?;
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = path.strip_prefix(dir).unwrap_or(&path);
            let by_user = globs.iter().any(|g| g.is_match(rel) || g.is_match(&name));
            let is_dir = e.file_type()?.is_dir();
            if is_dir && (name == "__pycache__" || name.ends_with(".dist-info") || by_user) {
                fs::remove_dir_all(&path)?;
            } else if is_dir {
                stack.push(path);
            } else if name.ends_with(".pyc") || name.ends_with(".pyo") || by_user {
                fs::remove_file(&path)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_follow_the_runtime_os_and_architecture() {
        let al2 = pip_platforms("python3.11", "x86_64");
        assert_eq!(al2[0], "manylinux_2_17_x86_64");
        assert!(al2.contains(&"manylinux2014_x86_64".to_string()));
        assert!(al2.contains(&"manylinux1_x86_64".to_string()));
        let al2023 = pip_platforms("python3.13", "arm64");
        assert_eq!(al2023[0], "manylinux_2_34_aarch64");
        assert!(al2023.contains(&"manylinux_2_28_aarch64".to_string()));
        assert!(
            !al2023
                .iter()
                .any(|t| t.contains("x86_64") || t.contains("manylinux1"))
        );
        assert_eq!(version("python3.12"), "3.12");
    }

    #[test]
    fn pipfile_lock_gives_its_default_pins_with_extras_and_markers() {
        let lock = r#"{"_meta": {"sources": []},
            "default": {
                "pydantic": {"version": "==2.10.4", "extras": ["email"], "markers": "python_version >= '3.8'"},
                "six": {"hashes": ["sha256:x"], "version": "==1.16.0"}
            },
            "develop": {"pytest": {"version": "==8.0.0"}}}"#;
        assert_eq!(
            pipfile_requirements(lock).unwrap(),
            "pydantic[email]==2.10.4 ; python_version >= '3.8'\nsix==1.16.0\n"
        );
        let git = r#"{"default": {"mine": {"git": "https://example.com/mine.git", "ref": "abc"}}}"#;
        assert!(pipfile_requirements(git).unwrap_err().contains("`mine`"));
    }

    #[test]
    fn requirement_lines_and_no_deploy() {
        let text =
            "# deps\nboto3==1.0\nMarkupSafe>=2  # escaping\n\nrequests[socks]\n-r other.txt\n";
        assert_eq!(
            wanted_lines(text, &["boto3".into(), "markup_safe".into()]),
            ["MarkupSafe>=2", "requests[socks]", "-r other.txt"]
        );
        assert_eq!(normalise("Markup__Safe.x"), "markup-safe-x");
    }

    #[test]
    fn the_package_without_a_wheel_is_named() {
        let pip = "ERROR: Could not find a version that satisfies the requirement pycrypto==2.6.1 (from versions: none)\nERROR: No matching distribution found for pycrypto==2.6.1";
        assert_eq!(missing_wheel(pip).as_deref(), Some("pycrypto"));
        let uv = "  × No solution found when resolving dependencies:\n  ╰─▶ Because pycrypto==2.6.1 has no usable wheels and you require pycrypto==2.6.1, we can conclude that your requirements are unsatisfiable.";
        assert_eq!(missing_wheel(uv).as_deref(), Some("pycrypto"));
        assert_eq!(missing_wheel("network unreachable"), None);
    }

    #[test]
    fn slim_leaves_out_compiled_files_metadata_and_the_users_patterns() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        fs::create_dir_all(p.join("pkg/__pycache__")).unwrap();
        fs::create_dir_all(p.join("pkg/tests")).unwrap();
        fs::create_dir_all(p.join("pkg-1.0.dist-info")).unwrap();
        for f in [
            "pkg/__init__.py",
            "pkg/__pycache__/x.pyc",
            "pkg/a.pyc",
            "pkg/tests/t.py",
            "pkg-1.0.dist-info/WHEEL",
        ] {
            fs::write(p.join(f), "x").unwrap();
        }
        slim(p, &["**/tests".into()]).unwrap();
        assert!(p.join("pkg/__init__.py").is_file());
        for gone in [
            "pkg/__pycache__",
            "pkg/a.pyc",
            "pkg/tests",
            "pkg-1.0.dist-info",
        ] {
            assert!(!p.join(gone).exists(), "{gone}");
        }
    }
}
