//! JavaScript and TypeScript bundling with esbuild: a Node function whose handler is TypeScript
//! (`.ts`, `.tsx`, `.mts`, `.cts` with no `.js` beside it) is bundled always; every Node function
//! when `build.esbuild` (Serverless v4) or `custom.esbuild` (serverless-esbuild) asks.
//!
//! One esbuild run per output format bundles every entry; the bundles mirror the handlers' paths
//! (`src/create.ts` → `src/create.js`, or `.mjs` for ES modules) so the handler setting stays as
//! written. Outputs are written only when their bytes change, which keeps unchanged artifacts'
//! fingerprints — and their zips — as they were.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::config::Config;
use crate::config::plugins::ESBUILD_KEYS;
use crate::config::runtime::{self, Family};

/// The esbuild settings of serverless-esbuild's `custom.esbuild` and v4's `build.esbuild` that
/// sls honours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Asked for explicitly: every Node function is bundled, not only TypeScript ones.
    pub explicit: bool,
    pub minify: bool,
    pub sourcemap: bool,
    pub keep_names: bool,
    pub target: Option<String>,
    pub format: Option<String>,
    /// Left out of the bundle and copied from `node_modules` with their dependencies.
    pub external: Vec<String>,
    /// Left out of the bundle and not copied (provided by the runtime).
    pub exclude: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "esbuild is needed to bundle {what} but is neither in the service's node_modules/.bin nor on PATH, and there is no npm on PATH to fetch it with: install it with `npm install --save-dev esbuild`"
    )]
    Missing { what: String },
    #[error(
        "esbuild is needed to bundle {what}; fetching esbuild@{ESBUILD_VERSION} with npm failed:\n{output}\ninstall it with `npm install --save-dev esbuild`"
    )]
    Fetch { what: String, output: String },
    #[error("esbuild failed bundling {what}:\n{output}")]
    Failed { what: String, output: String },
    #[error("cannot write the bundles to `{}`: {source}", path.display())]
    Output { path: PathBuf, source: io::Error },
    #[error("`{key}`: {message}")]
    Setting { key: String, message: String },
}

/// The settings, when the config has any; `Err` for a value of the wrong kind.
pub fn settings(config: &Config) -> Result<Settings, BundleError> {
    let from_build = config.build.as_ref().and_then(|b| b.get("esbuild"));
    let from_custom = config.custom.as_ref().and_then(|c| c.get("esbuild"));
    let (key, v) = match (from_build, from_custom) {
        (Some(v), _) => ("build.esbuild", v),
        (None, Some(v)) => ("custom.esbuild", v),
        (None, None) => return Ok(Settings::default()),
    };
    let obj = match v {
        Value::Bool(on) => {
            return Ok(Settings {
                explicit: *on,
                ..Settings::default()
            });
        }
        Value::Object(o) => o,
        _ => {
            return Err(BundleError::Setting {
                key: key.into(),
                message: "must be `true`, `false` or a mapping of esbuild settings".into(),
            });
        }
    };
    let flag = |k: &str| obj.get(k).and_then(Value::as_bool) == Some(true);
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let list = |k: &str| -> Option<Vec<String>> {
        match obj.get(k)? {
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            Value::String(s) => Some(vec![s.clone()]),
            _ => None,
        }
    };
    if obj.get("bundle").and_then(Value::as_bool) == Some(false) {
        return Err(BundleError::Setting {
            key: format!("{key}.bundle"),
            message: "sls always bundles when esbuild is asked for; remove `bundle: false` and the esbuild settings to package the files as they are".into(),
        });
    }
    if let Some(p) = text("platform").filter(|p| p != "node") {
        return Err(BundleError::Setting {
            key: format!("{key}.platform"),
            message: format!("Lambda runs Node: platform `{p}` cannot be deployed"),
        });
    }
    if let Some(bad) = obj.keys().find(|k| !ESBUILD_KEYS.contains(&k.as_str())) {
        return Err(BundleError::Setting {
            key: format!("{key}.{bad}"),
            message: format!(
                "not honoured by sls, which honours {}",
                ESBUILD_KEYS.join(", ")
            ),
        });
    }
    Ok(Settings {
        explicit: true,
        minify: flag("minify"),
        sourcemap: obj
            .get("sourcemap")
            .is_some_and(|v| v.as_bool() != Some(false)),
        keep_names: flag("keepNames"),
        target: text("target"),
        format: text("format"),
        external: list("external").unwrap_or_default(),
        exclude: list("exclude"),
    })
}

const TS: &[&str] = &["ts", "tsx", "mts", "cts"];
const JS: &[&str] = &["js", "mjs", "cjs"];

/// The file a Node function's handler names, when it is to be bundled: the TypeScript one when
/// there is no JavaScript beside it, or any when bundling is asked for.
pub fn entry(
    service_dir: &Path,
    config: &Config,
    f: &crate::config::model::Function,
    s: &Settings,
) -> Option<String> {
    if Family::of(runtime::of(config, f)) != Family::Node {
        return None;
    }
    let (module, _) = Family::Node.split_handler(f.handler.as_deref()?)?;
    let found = |exts: &[&str]| {
        exts.iter()
            .map(|e| format!("{module}.{e}"))
            .find(|p| service_dir.join(p).is_file())
    };
    match found(JS) {
        Some(js) => s.explicit.then_some(js),
        None => found(TS),
    }
}

/// `node22` of `nodejs22.x`.
fn node_target(runtime: &str) -> String {
    let major: String = runtime
        .trim_start_matches("nodejs")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if major.is_empty() {
        "node20".into()
    } else {
        format!("node{major}")
    }
}

/// Whether an entry is an ES module: `format: esm`, else `.mts`/`.mjs`, or one whose nearest
/// package.json says `"type": "module"` (`module_package`).
fn is_esm(entry: &str, s: &Settings, module_package: bool) -> bool {
    match &s.format {
        Some(f) => f == "esm",
        None => entry.ends_with(".mts") || entry.ends_with(".mjs") || module_package,
    }
}

/// Whether the package.json nearest to `entry` (in its directory or one above, up to the
/// service's) says `"type": "module"`: Node.js, and so Lambda, loads a `.js` file as its
/// package says.
fn module_package(service_dir: &Path, entry: &str) -> bool {
    let mut dir = service_dir.join(entry);
    while dir.pop() && dir.starts_with(service_dir) {
        let Ok(text) = fs::read_to_string(dir.join("package.json")) else {
            continue;
        };
        return serde_json::from_str::<Value>(&text)
            .ok()
            .is_some_and(|p| p.get("type").and_then(Value::as_str) == Some("module"));
    }
    false
}

/// The esbuild sls fetches when a service needs one and has none (the version the tests run).
pub const ESBUILD_VERSION: &str = "0.24.2";

/// The service's own esbuild, else one on PATH, else the one sls fetched into `tools` before,
/// else one fetched now with npm (said on stderr): a TypeScript service packages with nothing
/// installed but Node.js, as Serverless v4 bundles its own esbuild.
fn esbuild(service_dir: &Path, tools: &Path, what: &str) -> Result<PathBuf, BundleError> {
    let local = service_dir.join("node_modules/.bin/esbuild");
    if local.is_file() {
        return Ok(local);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(p) = runtime::on_path(&path, "esbuild") {
        return Ok(p);
    }
    let home = tools.join(format!("esbuild-{ESBUILD_VERSION}"));
    let exe = |dir: &Path| dir.join("node_modules/.bin/esbuild");
    if exe(&home).is_file() {
        return Ok(exe(&home));
    }
    let Some(npm) = runtime::on_path(&path, "npm") else {
        return Err(BundleError::Missing { what: what.into() });
    };
    eprintln!(
        "fetching esbuild {ESBUILD_VERSION} with npm into {} (once: later runs use it)",
        home.display()
    );
    // Installed beside, then renamed into place: a run interrupted half-way leaves no half
    // esbuild, and two runs fetching at once both end with a whole one.
    let partial = tools.join(format!(".esbuild-{ESBUILD_VERSION}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&partial);
    let fetch_err = |output: String| BundleError::Fetch {
        what: what.into(),
        output,
    };
    fs::create_dir_all(&partial).map_err(|e| fetch_err(e.to_string()))?;
    let out = Command::new(npm)
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--prefix",
        ])
        .arg(&partial)
        .arg(format!("esbuild@{ESBUILD_VERSION}"))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| fetch_err(e.to_string()))?;
    if !out.status.success() || !exe(&partial).is_file() {
        let _ = fs::remove_dir_all(&partial);
        return Err(fetch_err(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    if fs::rename(&partial, &home).is_err() {
        // Another run put its own in place meanwhile.
        let _ = fs::remove_dir_all(&partial);
    }
    Ok(exe(&home))
}

/// What the runtime provides and need not be bundled or copied: the AWS SDK of its generation.
fn provided(runtime: &str, s: &Settings) -> Vec<String> {
    if let Some(e) = &s.exclude {
        return e.clone();
    }
    let major: u32 = node_target(runtime)
        .trim_start_matches("node")
        .parse()
        .unwrap_or(20);
    if major >= 18 {
        vec!["@aws-sdk/*".into()]
    } else {
        vec!["aws-sdk".into()]
    }
}

/// Bundles `entries` (service-relative handler files, with each one's runtime) into `out`,
/// mirroring their paths; returns the bundle files written or kept (service-relative, as they
/// go into the zip). Files in `out` from earlier runs that are no longer produced are removed.
pub fn bundle(
    service_dir: &Path,
    out: &Path,
    entries: &[(String, String)],
    s: &Settings,
    tools: &Path,
) -> Result<Vec<String>, BundleError> {
    let what = entries
        .iter()
        .map(|(e, _)| e.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let exe = esbuild(service_dir, tools, &what)?;
    let tmp = out.with_extension(format!("partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let out_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BundleError::Output { path, source }
    };
    // One run per (format, target, what is left out): esbuild takes many entries at once.
    let mut groups: BTreeMap<(bool, String, Vec<String>), Vec<&str>> = BTreeMap::new();
    for (e, rt) in entries {
        let esm = is_esm(e, s, module_package(service_dir, e));
        let target = s.target.clone().unwrap_or_else(|| node_target(rt));
        groups
            .entry((esm, target, provided(rt, s)))
            .or_default()
            .push(e);
    }
    for ((esm, target, provided), files) in &groups {
        let mut cmd = Command::new(&exe);
        cmd.current_dir(service_dir)
            .args(files)
            .args([
                "--bundle",
                "--platform=node",
                "--log-level=error",
                "--charset=utf8",
            ])
            .arg(format!("--target={target}"))
            .arg(format!("--format={}", if *esm { "esm" } else { "cjs" }))
            .arg(format!("--outdir={}", tmp.display()))
            .arg(format!("--outbase={}", service_dir.display()));
        if *esm {
            cmd.arg("--out-extension:.js=.mjs");
        }
        for x in provided.iter().chain(&s.external) {
            cmd.arg(format!("--external:{x}"));
        }
        if s.minify {
            cmd.arg("--minify");
        }
        if s.sourcemap {
            cmd.arg("--sourcemap");
        }
        if s.keep_names {
            cmd.arg("--keep-names");
        }
        let run = cmd.output().map_err(|e| BundleError::Failed {
            what: what.clone(),
            output: e.to_string(),
        })?;
        if !run.status.success() {
            let _ = fs::remove_dir_all(&tmp);
            return Err(BundleError::Failed {
                what: files.join(", "),
                output: String::from_utf8_lossy(&run.stderr).trim().to_string(),
            });
        }
    }
    // Into place, only what changed.
    let mut produced = Vec::new();
    let mut stack = vec![tmp.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).map_err(out_err(&d))? {
            let e = e.map_err(out_err(&d))?;
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p
                .strip_prefix(&tmp)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            let dest = out.join(&rel);
            let bytes = fs::read(&p).map_err(out_err(&p))?;
            super::write_if_changed(&dest, &bytes).map_err(out_err(&dest))?;
            produced.push(rel);
        }
    }
    let _ = fs::remove_dir_all(&tmp);
    produced.sort();
    remove_others(out, out, &produced).map_err(out_err(out))?;
    Ok(produced)
}

fn remove_others(root: &Path, dir: &Path, keep: &[String]) -> io::Result<()> {
    let Ok(list) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in list {
        let p = e?.path();
        if p.is_dir() {
            remove_others(root, &p, keep)?;
            if fs::read_dir(&p)?.next().is_none() {
                fs::remove_dir(&p)?;
            }
        } else {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            if keep.binary_search(&rel).is_err() {
                fs::remove_file(&p)?;
            }
        }
    }
    Ok(())
}

/// The packages under `node_modules` that `names` need at run time: each, and what its
/// `dependencies` need, found as Node finds them (nested first, then the top level).
pub fn external_dirs(service_dir: &Path, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut todo: Vec<(String, String)> =
        names.iter().map(|n| (String::new(), n.clone())).collect();
    while let Some((from, name)) = todo.pop() {
        let candidates = [
            format!("{from}node_modules/{name}"),
            format!("node_modules/{name}"),
        ];
        let Some(dir) = candidates
            .into_iter()
            .find(|c| service_dir.join(c).join("package.json").is_file())
        else {
            continue;
        };
        if out.contains(&dir) {
            continue;
        }
        let deps = fs::read_to_string(service_dir.join(&dir).join("package.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|p| p.get("dependencies").and_then(Value::as_object).cloned())
            .unwrap_or_default();
        for dep in deps.keys() {
            todo.push((format!("{dir}/"), dep.clone()));
        }
        out.push(dir);
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_what_the_runtime_provides() {
        assert_eq!(node_target("nodejs22.x"), "node22");
        assert_eq!(provided("nodejs22.x", &Settings::default()), ["@aws-sdk/*"]);
        assert_eq!(provided("nodejs16.x", &Settings::default()), ["aws-sdk"]);
    }

    #[test]
    fn externals_bring_their_dependencies_nested_or_hoisted() {
        let d = tempfile::tempdir().unwrap();
        let pkg = |dir: &str, deps: &str| {
            fs::create_dir_all(d.path().join(dir)).unwrap();
            fs::write(
                d.path().join(dir).join("package.json"),
                format!("{{\"name\":\"x\",\"dependencies\":{{{deps}}}}}"),
            )
            .unwrap();
        };
        pkg("node_modules/sharp", "\"color\":\"1\",\"detect\":\"1\"");
        pkg("node_modules/sharp/node_modules/color", "");
        pkg("node_modules/detect", "\"color\":\"2\"");
        pkg("node_modules/color", "");
        pkg("node_modules/unrelated", "");
        assert_eq!(
            external_dirs(d.path(), &["sharp".into()]),
            [
                "node_modules/color",
                "node_modules/detect",
                "node_modules/sharp",
                "node_modules/sharp/node_modules/color"
            ]
        );
    }
}
