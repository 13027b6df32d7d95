//! `excludeDevDependencies`: the packages in `node_modules` that only devDependencies need, found
//! without running npm. The lockfile (`package-lock.json`, `npm-shrinkwrap.json` or npm's hidden
//! `node_modules/.package-lock.json`) marks them `"dev": true`; without one, the dependency graph
//! is followed from `package.json` through each package's own `package.json`, resolving names
//! the way Node does, and every installed package it does not reach is dev-only.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::Path;

use serde_json::Value;

/// Exclude patterns (without the leading `!`) for dev-only packages of every `package.json`
/// among `files` that is not itself inside `node_modules`.
pub fn excludes(root: &Path, files: &[&str]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for rel in files {
        let Some(dir) = rel.strip_suffix("package.json") else {
            continue;
        };
        if !(dir.is_empty() || dir.ends_with('/')) || dir.contains("node_modules/") {
            continue;
        }
        let base = root.join(dir);
        let dev = match lockfile(&base) {
            Some(lock) => from_lockfile(&lock),
            None => from_graph(&base, files, dir),
        };
        out.extend(dev.into_iter().map(|p| format!("{dir}{}", escape(&p))));
    }
    out.into_iter().collect()
}

fn lockfile(dir: &Path) -> Option<Value> {
    [
        "package-lock.json",
        "npm-shrinkwrap.json",
        "node_modules/.package-lock.json",
    ]
    .iter()
    .find_map(|name| {
        let text = fs::read(dir.join(name)).ok()?;
        serde_json::from_slice(&text).ok()
    })
}

/// Patterns relative to the lockfile's directory.
fn from_lockfile(lock: &Value) -> Vec<String> {
    let dev = |v: &Value| v.get("dev").and_then(Value::as_bool) == Some(true);
    let mut out = Vec::new();
    if let Some(packages) = lock.get("packages").and_then(Value::as_object) {
        // lockfileVersion 2 and 3: keys are install paths such as `node_modules/a/node_modules/b`.
        for (key, v) in packages {
            if key.is_empty() || !dev(v) || !key.contains("node_modules/") {
                continue;
            }
            out.push(format!("{key}/**"));
            if let Some(name) = key.strip_prefix("node_modules/")
                && !name.contains("node_modules/")
            {
                out.extend(bins(v, name));
            }
        }
    } else if let Some(deps) = lock.get("dependencies") {
        // lockfileVersion 1: nested `dependencies` mirror the node_modules tree.
        fn walk(deps: &Value, prefix: &str, out: &mut Vec<String>) {
            let Some(map) = deps.as_object() else { return };
            for (name, v) in map {
                let path = format!("{prefix}node_modules/{name}");
                if v.get("dev").and_then(Value::as_bool) == Some(true) {
                    out.push(format!("{path}/**"));
                } else if let Some(inner) = v.get("dependencies") {
                    walk(inner, &format!("{path}/"), out);
                }
            }
        }
        walk(deps, "", &mut out);
    }
    out
}

/// `node_modules/.bin` links of a top-level dev package.
fn bins(v: &Value, name: &str) -> Vec<String> {
    match v.get("bin") {
        Some(Value::Object(m)) => m.keys().map(|b| format!("node_modules/.bin/{b}")).collect(),
        Some(Value::String(_)) => {
            let short = name.rsplit('/').next().unwrap_or(name);
            vec![format!("node_modules/.bin/{short}")]
        }
        _ => Vec::new(),
    }
}

/// Follows dependencies from the project's `package.json` (`dir` relative to `root`, `base`
/// absolute) and returns every installed package not reached, as patterns relative to `dir`.
fn from_graph(base: &Path, files: &[&str], dir: &str) -> Vec<String> {
    let Some(manifest) = read_json(&base.join("package.json")) else {
        return Vec::new();
    };
    let installed: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(dir)?.strip_suffix("/package.json"))
        .filter(|p| is_package_dir(p))
        .map(str::to_string)
        .collect();
    if installed.is_empty() {
        return Vec::new();
    }
    let mut reached = HashSet::new();
    let mut queue: Vec<(String, String)> = deps(&manifest)
        .into_iter()
        .map(|name| (String::new(), name))
        .collect();
    while let Some((from, name)) = queue.pop() {
        let Some(found) = resolve(&installed, &from, &name) else {
            continue;
        };
        if !reached.insert(found.clone()) {
            continue;
        }
        if let Some(pkg) = read_json(&base.join(&found).join("package.json")) {
            queue.extend(deps(&pkg).into_iter().map(|n| (found.clone(), n)));
        }
    }
    installed
        .into_iter()
        .filter(|p| !reached.contains(p))
        .map(|p| format!("{p}/**"))
        .collect()
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// Names a package needs at run time. A dependency's own devDependencies are never installed,
/// so only the project's are left out; peers count, as the installed tree provides them.
fn deps(pkg: &Value) -> Vec<String> {
    ["dependencies", "optionalDependencies", "peerDependencies"]
        .iter()
        .filter_map(|k| pkg.get(k)?.as_object())
        .flat_map(|m| m.keys().cloned())
        .collect()
}

/// `node_modules/a`, `node_modules/@s/a`, `node_modules/a/node_modules/b`, …
fn is_package_dir(p: &str) -> bool {
    let Some(idx) = p.rfind("node_modules/") else {
        return false;
    };
    let name = &p[idx + "node_modules/".len()..];
    let ok = match name.split_once('/') {
        Some((scope, rest)) => scope.starts_with('@') && !rest.is_empty() && !rest.contains('/'),
        None => !name.is_empty() && !name.starts_with('.'),
    };
    ok && (idx == 0 || p[..idx].ends_with('/'))
}

/// Node's lookup: `from/node_modules/name`, then each enclosing package's `node_modules`.
fn resolve(installed: &BTreeSet<String>, from: &str, name: &str) -> Option<String> {
    let mut dir = from.to_string();
    loop {
        let candidate = if dir.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{dir}/node_modules/{name}")
        };
        if installed.contains(&candidate) {
            return Some(candidate);
        }
        if dir.is_empty() {
            return None;
        }
        // Up one package: drop `/node_modules/<name>` (scoped names have two segments).
        let idx = dir.rfind("node_modules/")?;
        dir = dir[..idx].trim_end_matches('/').to_string();
    }
}

fn escape(p: &str) -> String {
    match p.strip_suffix("/**") {
        Some(body) => format!("{}/**", globset::escape(body)),
        None => globset::escape(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockfile_v3_marks_dev_packages_and_their_bins() {
        let lock = serde_json::json!({
            "lockfileVersion": 3,
            "packages": {
                "": { "name": "svc" },
                "node_modules/lodash": { "version": "4.17.21" },
                "node_modules/jest": { "dev": true, "bin": { "jest": "bin/jest.js" } },
                "node_modules/jest/node_modules/ci-info": { "dev": true },
                "node_modules/fsevents": { "devOptional": true },
                "node_modules/@babel/core": { "dev": true }
            }
        });
        assert_eq!(
            from_lockfile(&lock),
            [
                "node_modules/jest/**",
                "node_modules/.bin/jest",
                "node_modules/jest/node_modules/ci-info/**",
                "node_modules/@babel/core/**",
            ]
        );
    }

    #[test]
    fn lockfile_v1_nests() {
        let lock = serde_json::json!({
            "lockfileVersion": 1,
            "dependencies": {
                "a": { "version": "1", "dependencies": { "b": { "dev": true } } },
                "c": { "dev": true }
            }
        });
        assert_eq!(
            from_lockfile(&lock),
            ["node_modules/a/node_modules/b/**", "node_modules/c/**"]
        );
    }

    #[test]
    fn package_dirs_and_resolution() {
        assert!(is_package_dir("node_modules/a"));
        assert!(is_package_dir("node_modules/@s/a"));
        assert!(is_package_dir("node_modules/a/node_modules/b"));
        assert!(!is_package_dir("node_modules/a/lib"));
        assert!(!is_package_dir("node_modules/.bin"));
        assert!(!is_package_dir("xnode_modules/a"));
        let installed: BTreeSet<String> = [
            "node_modules/a",
            "node_modules/a/node_modules/b",
            "node_modules/b",
        ]
        .map(String::from)
        .into();
        let r = |from: &str, n: &str| resolve(&installed, from, n);
        assert_eq!(
            r("node_modules/a", "b").as_deref(),
            Some("node_modules/a/node_modules/b")
        );
        assert_eq!(
            r("node_modules/a/node_modules/b", "a").as_deref(),
            Some("node_modules/a")
        );
        assert_eq!(r("", "b").as_deref(), Some("node_modules/b"));
        assert_eq!(r("", "zzz"), None);
    }
}
