//! Packaging: which files go into which zip (Serverless v3 rules), written deterministically and
//! in parallel, with a manifest that lets `deploy` reuse the artifacts and lets the next run skip
//! artifacts whose inputs did not change.

pub mod archive;
pub mod bundle;
mod checks;
pub mod devdeps;
pub mod layer;
pub mod manifest;
pub mod python;
pub mod walk;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::config::model::{PYTHON_LAYER, Package};
use crate::config::patterns::{PatternError, Patterns};
use crate::config::runtime::{self, Family};
use checks::{
    bootstrap_message, check_bootstrap, check_handlers, handler_message, largest, largest_lines,
    unsafe_message,
};
pub use checks::{elf_machine, handler_files, human_bytes};
pub use manifest::{ArtifactInfo, FunctionInfo, Manifest};
use walk::{Entry, Problem};

/// Serverless v3's default excludes; the config file and `.env*` (with `useDotenv`) follow.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    ".git/**",
    ".gitignore",
    ".DS_Store",
    "npm-debug.log",
    "yarn-*.log",
    ".serverless/**",
    ".serverless_plugins/**",
];

/// The output directory when `--package` is not given, relative to the service directory.
pub const DEFAULT_OUT_DIR: &str = ".serverless";

/// The largest zip sent in the API call itself; larger ones go through S3. Lambda documents
/// 50 MB, but what it measures is the request: a body of 69,905,067 bytes or more is refused,
/// and the zip travels in base64 (4 bytes for every 3) inside JSON with the function's other
/// fields (environment up to 4 KB, tags, description). 52,000,000 bytes of zip make 69,333,336
/// of base64, leaving over 500 KB for the rest.
pub const INLINE_UPLOAD_LIMIT: u64 = 52_000_000;

/// Lambda's size limits for a zip deployment package.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Code and layers, unzipped: 250 MB.
    pub unzipped: u64,
    /// A zip sent in the API call itself; larger ones go through S3: 50 MB.
    pub direct_upload: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            unzipped: 262_144_000,
            direct_upload: INLINE_UPLOAD_LIMIT,
        }
    }
}

/// What to package and where.
pub struct Request<'a> {
    pub config: &'a Config,
    pub service_dir: &'a Path,
    /// The config file's name relative to the service directory: never packaged.
    pub config_file: &'a str,
    pub out_dir: PathBuf,
    pub stage: &'a str,
    pub region: &'a str,
    pub limits: Limits,
    /// Where installed Python dependencies are kept (`custom.pythonRequirements.cacheLocation`
    /// wins).
    pub python_cache: PathBuf,
    /// Where tools sls fetches for itself are kept (esbuild).
    pub tools_cache: PathBuf,
}

/// The result: the manifest written, which artifacts were (re)built, and what to warn about.
#[derive(Debug)]
pub struct Packaged {
    pub manifest: Manifest,
    pub rebuilt: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{0}")]
    Pattern(#[from] PatternError),
    #[error("cannot list the files of `{}`: {source}", dir.display())]
    Walk { dir: PathBuf, source: io::Error },
    #[error("{}", unsafe_message(path, problem))]
    Unsafe { path: String, problem: Problem },
    #[error("no file matches the include/exclude patterns for `{artifact}`")]
    NoFiles { artifact: String },
    /// A custom runtime's zip without the `bootstrap` Lambda runs, or with one built for the
    /// other instruction set (Lambda would fail at the first start-up, after the deploy).
    #[error("{}", bootstrap_message(.function, .runtime, .arch, .built_for.as_deref(), .artifact))]
    Bootstrap {
        function: String,
        runtime: String,
        arch: &'static str,
        /// The instruction set the file was built for; None when there is no file.
        built_for: Option<&'static str>,
        artifact: String,
    },
    /// Another error, with where in the config its cause is written.
    #[error("{0}")]
    At(Box<PackageError>, Box<crate::diag::Location>),
    #[error("{}", handler_message(.function, .handler, .candidates, *.excluded, .artifact))]
    Handler {
        function: String,
        handler: String,
        candidates: Vec<String>,
        excluded: bool,
        artifact: String,
    },
    #[error(
        "`{artifact}` would be {} unzipped, over Lambda's limit of {}; the largest paths:\n{}",
        human_bytes(*.size), human_bytes(*.limit), largest_lines(.largest)
    )]
    TooLarge {
        artifact: String,
        size: u64,
        limit: u64,
        largest: Vec<(String, u64)>,
    },
    #[error(
        "`custom.pythonRequirements.layer` is set, but no Python function has requirements to put in it"
    )]
    NoPythonLayer,
    #[error("cannot use the artifact `{path}` for {owner}: {reason}")]
    Prebuilt {
        owner: String,
        path: String,
        reason: String,
    },
    #[error("cannot write to `{}`: {source}", path.display())]
    Output { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    #[error(transparent)]
    Python(#[from] python::PythonError),
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
    #[error(
        "the functions in `{artifact}` need Python dependencies for different runtimes or architectures ({})",
        .wants.join(", ")
    )]
    MixedPython {
        artifact: String,
        wants: Vec<String>,
    },
    #[error(
        "`{found}` holds the Python dependencies but has no lock file, and there is no `{file}`: lock it (`uv lock`, `poetry lock` or `pipenv lock`) or write `{file}`"
    )]
    UnexportedPython { found: String, file: String },
}

/// One artifact the functions will use.
#[derive(Debug)]
struct Plan {
    /// The zip's file name in the output directory, or the prebuilt path as written.
    name: String,
    functions: Vec<String>,
    /// `None` for a prebuilt artifact.
    patterns: Option<Vec<String>>,
    exclude_dev: bool,
}

/// Works out the artifacts, builds the ones whose inputs changed and writes the manifest.
pub fn package(
    req: &Request<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Packaged, PackageError> {
    let plans = plan(req.config, req.config_file)?;
    let mut warnings = Vec::new();
    let out_dir = &req.out_dir;
    fs::create_dir_all(out_dir).map_err(|source| PackageError::Output {
        path: out_dir.clone(),
        source,
    })?;
    let previous = Manifest::read(out_dir);

    let mut artifacts = IndexMap::new();
    let any_dev = plans.iter().any(|p| p.exclude_dev && p.patterns.is_some());
    // The top-level lockfile is known before listing files: its dev packages need not be listed.
    let early_dev = if any_dev {
        devdeps::excludes(req.service_dir, &["package.json"])
    } else {
        Vec::new()
    };
    let prune_with = plans
        .iter()
        .filter_map(|p| Some(Patterns::new(&with_dev(p, &early_dev)?)))
        .collect::<Result<Vec<_>, _>>()?;
    let entries = if prune_with.is_empty() {
        Vec::new()
    } else {
        let skip = out_dir.strip_prefix(req.service_dir).unwrap_or(out_dir);
        let prune = |dir: &str| prune_with.iter().all(|m| m.excludes_tree(dir));
        walk::walk(req.service_dir, Some(skip), &prune).map_err(|source| PackageError::Walk {
            dir: req.service_dir.to_path_buf(),
            source,
        })?
    };
    let dev_excludes = if any_dev {
        let names: Vec<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
        devdeps::excludes(req.service_dir, &names)
    } else {
        Vec::new()
    };

    // Python dependencies, installed once per set and listed after the service's files.
    let mut entries = entries;
    let service_files = entries.len();
    let python = python_wants(req, &plans)?;
    let mut installed: HashMap<python::Want, std::ops::Range<usize>> = HashMap::new();
    if !python.is_empty() {
        let opts = python_options(req);
        let mut wants: Vec<&python::Want> = python.values().collect();
        wants.sort();
        wants.dedup();
        for want in wants {
            let start = entries.len();
            if let Some(dir) = python::install(want, &opts)? {
                entries.extend(walk_whole(&dir)?);
            }
            installed.insert(want.clone(), start..entries.len());
        }
    }

    // With `layer: true` the dependencies make a layer instead: one set for every function.
    let python_layer = match req.config.layers.as_ref().and_then(|l| l.get(PYTHON_LAYER)) {
        None => None,
        Some(_) => {
            let mut ranges: Vec<&std::ops::Range<usize>> = installed.values().collect();
            ranges.sort_by_key(|r| r.start);
            ranges.dedup();
            match ranges.as_slice() {
                [] => return Err(PackageError::NoPythonLayer),
                [one] => Some((*one).clone()),
                _ => {
                    let mut wants: Vec<String> = installed
                        .keys()
                        .map(|w| format!("{} on {}", w.runtime, w.arch))
                        .collect();
                    wants.sort();
                    return Err(PackageError::MixedPython {
                        artifact: layer::artifact_name(PYTHON_LAYER),
                        wants,
                    });
                }
            }
        }
    };

    // Bundles of the Node handlers that need one, in `{out}/build`, listed after the rest.
    let bundling = bundle::settings(req.config)?;
    // Function → (handler file to bundle, runtime).
    let mut bundled: HashMap<String, (String, String)> = HashMap::new();
    for p in plans.iter().filter(|p| p.patterns.is_some()) {
        for name in &p.functions {
            let Some(f) = req.config.functions.as_ref().and_then(|fs| fs.get(name)) else {
                continue;
            };
            if let Some(entry) = bundle::entry(req.service_dir, req.config, f, &bundling) {
                let rt = runtime::of(req.config, f).to_string();
                bundled.insert(name.clone(), (entry, rt));
            }
        }
    }
    let build_dir = out_dir.join("build");
    let bundles_start = entries.len();
    if !bundled.is_empty() {
        let mut wanted: Vec<(String, String)> = bundled.values().cloned().collect();
        wanted.sort();
        wanted.dedup_by(|a, b| a.0 == b.0);
        bundle::bundle(
            req.service_dir,
            &build_dir,
            &wanted,
            &bundling,
            &req.tools_cache,
        )?;
        entries.extend(walk_whole(&build_dir)?);
    } else {
        let _ = fs::remove_dir_all(&build_dir);
    }
    let bundles_end = entries.len();
    let externals = bundle::external_dirs(req.service_dir, &bundling.external);

    // Which entries each built artifact holds, as indices into `entries`.
    let mut to_build: Vec<(Vec<usize>, String)> = Vec::new();
    for p in &plans {
        let Some(all) = with_dev(p, &dev_excludes) else {
            artifacts.insert(p.name.clone(), prebuilt(req, p)?);
            continue;
        };
        let ours: Vec<&String> = p
            .functions
            .iter()
            .filter(|f| bundled.contains_key(*f))
            .collect();
        let all_bundled = !ours.is_empty() && ours.len() == p.functions.len();
        // A bundle holds its handler's code and dependencies: the sources stay out, and when
        // every function is bundled only what the user's patterns name explicitly goes in.
        let all = if all_bundled {
            let mut only = vec!["!**".to_string()];
            only.extend(user_includes(req.config, p));
            only
        } else if ours.is_empty() {
            all
        } else {
            let mut all = all;
            all.extend(TS_SOURCES.iter().map(|s| s.to_string()));
            all
        };
        let matcher = Patterns::new(&all)?;
        let mut chosen = select(&entries[..service_files], &matcher)?;
        if !ours.is_empty() {
            let stems: Vec<&str> = ours
                .iter()
                .map(|f| bundled[*f].0.rsplit_once('.').map_or("", |(stem, _)| stem))
                .collect();
            chosen.extend((bundles_start..bundles_end).filter(|&i| {
                let rel = &entries[i].rel;
                stems.iter().any(|stem| {
                    rel.strip_prefix(stem)
                        .is_some_and(|ext| [".js", ".mjs", ".js.map", ".mjs.map"].contains(&ext))
                })
            }));
            let have: std::collections::HashSet<usize> = chosen.iter().copied().collect();
            chosen.extend((0..service_files).filter(|&i| {
                !have.contains(&i)
                    && externals
                        .iter()
                        .any(|d| entries[i].rel.starts_with(&format!("{d}/")))
            }));
        }
        // serverless-python-requirements' `module`: that directory's files, at the root.
        if let Some(m) = module_of_plan(req.config, p) {
            let prefix = format!("{m}/");
            let moved: Vec<Entry> = chosen
                .iter()
                .filter_map(|&i| {
                    let rest = entries[i].rel.strip_prefix(&prefix)?;
                    Some(Entry {
                        rel: rest.to_string(),
                        ..entries[i].clone()
                    })
                })
                .collect();
            let start = entries.len();
            entries.extend(moved);
            chosen = (start..entries.len()).collect();
        }
        check_bootstrap(req.config, p, chosen.iter().map(|&i| &entries[i]))?;
        if chosen.is_empty() {
            return Err(PackageError::NoFiles {
                artifact: p.name.clone(),
            });
        }
        let mut names: Vec<&str> = chosen.iter().map(|&i| entries[i].rel.as_str()).collect();
        names.sort_unstable();
        check_handlers(req.config, p, &names, &entries[..service_files], &matcher)?;
        if let Some(range) = python
            .get(&p.name)
            .and_then(|w| installed.get(w))
            .filter(|_| python_layer.is_none())
        {
            // The service's own file wins over a dependency's of the same name.
            let own: std::collections::HashSet<&str> =
                chosen.iter().map(|&i| entries[i].rel.as_str()).collect();
            let deps: Vec<usize> = range
                .clone()
                .filter(|&i| entries[i].problem.is_none() && !own.contains(entries[i].rel.as_str()))
                .collect();
            chosen.extend(deps);
        }
        let unzipped: u64 = chosen.iter().map(|&i| entries[i].size).sum();
        if unzipped > req.limits.unzipped {
            return Err(PackageError::TooLarge {
                artifact: p.name.clone(),
                size: unzipped,
                limit: req.limits.unzipped,
                largest: largest(chosen.iter().map(|&i| &entries[i])),
            });
        }
        let fingerprint = fingerprint(&p.name, chosen.iter().map(|&i| &entries[i]));
        let reusable = previous
            .as_ref()
            .and_then(|m| m.artifacts.get(&p.name))
            .filter(|old| old.fingerprint.as_deref() == Some(fingerprint.as_str()))
            .filter(|old| still_on_disk(&out_dir.join(&old.path), old));
        match reusable {
            Some(old) => {
                let mut info = old.clone();
                info.functions = p.functions.clone();
                artifacts.insert(p.name.clone(), info);
            }
            None => {
                artifacts.insert(
                    p.name.clone(),
                    ArtifactInfo {
                        path: p.name.clone(),
                        prebuilt: false,
                        sha256: String::new(),
                        size: 0,
                        files: chosen.len(),
                        unzipped_size: unzipped,
                        fingerprint: Some(fingerprint),
                        functions: p.functions.clone(),
                    },
                );
                to_build.push((chosen, p.name.clone()));
            }
        }
    }

    let layers = layer::add(
        req,
        previous.as_ref(),
        &mut entries,
        python_layer,
        &mut artifacts,
        &mut to_build,
    )?;

    if !to_build.is_empty() {
        let mut dests: HashMap<usize, Vec<usize>> = HashMap::new();
        for (d, (chosen, _)) in to_build.iter().enumerate() {
            for &i in chosen {
                dests.entry(i).or_default().push(d);
            }
        }
        let mut order: Vec<usize> = dests.keys().copied().collect();
        order.sort_unstable();
        let sources: Vec<archive::Source> = order
            .iter()
            .map(|&i| {
                let e = &entries[i];
                archive::Source {
                    name: e.rel.clone(),
                    path: e.path.clone(),
                    size: e.size,
                    executable: e.executable || e.rel.rsplit('/').next() == Some("bootstrap"),
                    dests: dests.remove(&i).unwrap_or_default(),
                }
            })
            .collect();
        let total: u64 = sources.iter().map(|s| s.size).sum();
        let outputs: Vec<PathBuf> = to_build.iter().map(|(_, n)| out_dir.join(n)).collect();
        let written = archive::write(&sources, &outputs, out_dir, &|done| progress(done, total))?;
        for ((_, name), w) in to_build.iter().zip(written) {
            let info = artifacts.get_mut(name).expect("planned above");
            info.sha256 = archive::base64(&w.sha256);
            info.size = w.size;
            info.files = w.files;
            info.unzipped_size = w.unzipped_size;
        }
    }

    for (name, info) in &artifacts {
        if info.size > req.limits.direct_upload {
            let mut msg = format!(
                "`{name}` is {} zipped, over the {} Lambda accepts in one upload: deploy will \
                 send it through S3",
                human_bytes(info.size),
                human_bytes(req.limits.direct_upload)
            );
            if let Some((chosen, _)) = to_build.iter().find(|(_, n)| n == name) {
                msg.push_str("; the largest paths:\n");
                msg.push_str(&largest_lines(&largest(
                    chosen.iter().map(|&i| &entries[i]),
                )));
            }
            warnings.push(msg);
        }
    }

    let functions = functions_info(req.config, &plans);
    let manifest = Manifest {
        format: manifest::FORMAT,
        service: req.config.service.clone(),
        stage: req.stage.to_string(),
        region: req.region.to_string(),
        artifacts,
        functions,
        layers,
    };
    if let Some(old) = &previous {
        manifest.remove_stale(old, out_dir);
    }
    manifest
        .write(out_dir)
        .map_err(|source| PackageError::Output {
            path: out_dir.join(manifest::FILE_NAME),
            source,
        })?;
    let rebuilt = to_build.into_iter().map(|(_, n)| n).collect();
    Ok(Packaged {
        manifest,
        rebuilt,
        warnings,
    })
}

/// Writes `bytes` to `path` unless it holds them already (an unchanged file keeps its time, and
/// what depends on it is not redone), through a file of this process's own renamed into place:
/// another process never reads half of it.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = archive::partial(path);
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

/// Every file under `dir` (installed dependencies, bundles), named relative to it.
fn walk_whole(dir: &Path) -> Result<Vec<Entry>, PackageError> {
    walk::walk(dir, None, &|_| false).map_err(|source| PackageError::Walk {
        dir: dir.to_path_buf(),
        source,
    })
}

/// Left out of an artifact whose functions are partly bundled: the bundles replace them.
const TS_SOURCES: &[&str] = &["!**/*.ts", "!**/*.tsx", "!**/*.mts", "!**/*.cts"];

/// The module directory an artifact of one Python function is made from, if any.
fn module_of_plan<'a>(config: &'a Config, p: &Plan) -> Option<&'a str> {
    let [name] = p.functions.as_slice() else {
        return None;
    };
    let f = config.functions.as_ref()?.get(name)?;
    crate::config::runtime::module_of(config, f)
}

/// The user's own include patterns for an artifact (service and function level, not negated).
fn user_includes(config: &Config, p: &Plan) -> Vec<String> {
    let service = config.package.as_ref().and_then(|pk| pk.patterns.clone());
    let own = p.functions.iter().filter_map(|name| {
        config
            .functions
            .as_ref()?
            .get(name)?
            .package
            .as_ref()?
            .patterns
            .clone()
    });
    service
        .into_iter()
        .chain(own)
        .flatten()
        .filter(|pat| !pat.starts_with('!'))
        .collect()
}

/// The Python dependencies each built artifact needs: its Python functions' runtime and
/// architecture, and the requirements file at the service's root.
fn python_wants(
    req: &Request<'_>,
    plans: &[Plan],
) -> Result<HashMap<String, python::Want>, PackageError> {
    let c = req.config;
    let mut out = HashMap::new();
    let any_python = c
        .functions
        .iter()
        .flatten()
        .any(|(_, f)| Family::of(runtime::of(c, f)) == Family::Python);
    if !any_python {
        return Ok(out);
    }
    let root = python_requirements(req, req.service_dir, &req.out_dir)?;
    for p in plans.iter().filter(|p| p.patterns.is_some()) {
        let mut wants: Vec<python::Want> = Vec::new();
        for name in &p.functions {
            let Some(f) = c.functions.as_ref().and_then(|fs| fs.get(name)) else {
                continue;
            };
            let runtime = runtime::of(c, f).to_string();
            if Family::of(&runtime) != Family::Python {
                continue;
            }
            // A module's own requirements (serverless-python-requirements' `module`).
            let requirements = match crate::config::runtime::module_of(c, f) {
                Some(m) => {
                    python_requirements(req, &req.service_dir.join(m), &req.out_dir.join(m))?
                }
                None => root.clone(),
            };
            if let Some(requirements) = requirements {
                wants.push(python::Want {
                    requirements,
                    runtime,
                    arch: runtime::architecture_of(c, f).into(),
                });
            }
        }
        wants.sort();
        wants.dedup();
        match wants.len() {
            0 => {}
            1 => {
                out.insert(p.name.clone(), wants.remove(0));
            }
            _ => {
                return Err(PackageError::MixedPython {
                    artifact: p.name.clone(),
                    wants: wants
                        .iter()
                        .map(|w| format!("{} on {}", w.runtime, w.arch))
                        .collect(),
                });
            }
        }
    }
    Ok(out)
}

/// The requirements file of a directory (the service's, or a module's): `fileName`, else a lock
/// file exported into `out` as the plugin does; none when the directory lists no dependencies.
fn python_requirements(
    req: &Request<'_>,
    dir: &Path,
    out: &Path,
) -> Result<Option<PathBuf>, PackageError> {
    let c = req.config;
    let file = python_settings(c)
        .and_then(|p| {
            p.get("fileName")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "requirements.txt".into());
    let requirements = dir.join(&file);
    if requirements.is_file() {
        return Ok(Some(requirements));
    }
    let exported = out.join("python-requirements.txt");
    if python::export(dir, &python_locks(c), &exported)?.is_some() {
        return Ok(Some(exported));
    }
    let other = ["pyproject.toml", "Pipfile"].into_iter().find(|f| {
        // A pyproject.toml may only configure tools: it matters when it lists packages.
        std::fs::read_to_string(dir.join(f))
            .is_ok_and(|t| *f == "Pipfile" || t.contains("dependencies"))
    });
    match other {
        Some(other) => Err(PackageError::UnexportedPython {
            found: other.into(),
            file,
        }),
        None => Ok(None),
    }
}

fn python_settings(c: &Config) -> Option<&serde_json::Map<String, serde_json::Value>> {
    c.custom.as_ref()?.get("pythonRequirements")?.as_object()
}

/// The strings of a list under `custom.pythonRequirements.KEY`.
fn python_texts(c: &Config, key: &str) -> Vec<String> {
    python_settings(c)
        .and_then(|p| p.get(key))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `usePipenv`, `useUv`, `usePoetry` and poetry's groups from `custom.pythonRequirements`.
fn python_locks(c: &Config) -> python::Locks {
    let p = python_settings(c);
    let flag = |key: &str| p.and_then(|p| p.get(key)).and_then(|v| v.as_bool()) != Some(false);
    let groups = |key: &str| python_texts(c, key);
    python::Locks {
        pipenv: flag("usePipenv"),
        uv: flag("useUv"),
        poetry: flag("usePoetry"),
        poetry_with: groups("poetryWithGroups"),
        poetry_without: groups("poetryWithoutGroups"),
        poetry_only: groups("poetryOnlyGroups"),
    }
}

fn python_options(req: &Request<'_>) -> python::Options {
    let p = python_settings(req.config);
    let texts = |key: &str| python_texts(req.config, key);
    let flag = |key: &str| p.and_then(|p| p.get(key)).and_then(|v| v.as_bool()) == Some(true);
    python::Options {
        slim: flag("slim"),
        slim_patterns: texts("slimPatterns"),
        no_deploy: texts("noDeploy"),
        invalidate_caches: flag("invalidateCaches"),
        cache_dir: p
            .and_then(|p| p.get("cacheLocation"))
            .and_then(|v| v.as_str())
            .map(|d| req.service_dir.join(d))
            .unwrap_or_else(|| req.python_cache.clone()),
    }
}

/// Decides the artifacts as Serverless v3 does: a function's own `package.artifact`, else its
/// own zip when packaged individually, else the service's `package.artifact`, else the shared
/// service zip.
fn plan(config: &Config, config_file: &str) -> Result<Vec<Plan>, PackageError> {
    let service_pkg = config.package.clone().unwrap_or_default();
    let exclude_dev = service_pkg.exclude_dev_dependencies != Some(false);
    let mut excludes: Vec<String> = DEFAULT_EXCLUDES.iter().map(|s| s.to_string()).collect();
    excludes.push(config_file.to_string());
    if config
        .use_dotenv
        .as_ref()
        .is_some_and(|v| v.as_bool() == Some(true))
    {
        excludes.push(".env*".into());
    }
    // A layer's files are in the layer, not in the functions beside it (as in Serverless v3).
    for l in config.layers.iter().flatten().map(|(_, l)| l) {
        let dir = l.path.as_deref().unwrap_or_default();
        let dir = dir.trim_start_matches("./").trim_end_matches('/');
        if !dir.is_empty() && dir != "." {
            excludes.push(format!("{dir}/**"));
        }
    }
    let mut plans: Vec<Plan> = Vec::new();
    let mut shared: Vec<String> = Vec::new();
    for (name, f) in config.functions.iter().flatten() {
        let fpkg = f.package.clone().unwrap_or_default();
        let individually =
            fpkg.individually == Some(true) || service_pkg.individually == Some(true);
        let prebuilt = fpkg.artifact.clone().or_else(|| {
            (!individually)
                .then(|| service_pkg.artifact.clone())
                .flatten()
        });
        if let Some(path) = prebuilt {
            match plans.iter_mut().find(|p| p.name == path) {
                Some(p) => p.functions.push(name.clone()),
                None => plans.push(Plan {
                    name: path,
                    functions: vec![name.clone()],
                    patterns: None,
                    exclude_dev,
                }),
            }
        } else if individually {
            plans.push(Plan {
                name: format!("{name}.zip"),
                functions: vec![name.clone()],
                patterns: Some(ordered(&excludes, &[&service_pkg, &fpkg])),
                exclude_dev: fpkg.exclude_dev_dependencies.map_or(exclude_dev, |v| v),
            });
        } else {
            shared.push(name.clone());
        }
    }
    if !shared.is_empty() {
        plans.insert(
            0,
            Plan {
                name: format!("{}.zip", config.service),
                functions: shared,
                patterns: Some(ordered(&excludes, &[&service_pkg])),
                exclude_dev,
            },
        );
    }
    Ok(plans)
}

/// A built artifact's patterns followed by the dev-dependency excludes, which Serverless applies
/// last; `None` for a prebuilt artifact.
fn with_dev(p: &Plan, dev: &[String]) -> Option<Vec<String>> {
    let mut all = p.patterns.clone()?;
    if p.exclude_dev {
        all.extend(dev.iter().map(|d| format!("!{d}")));
    }
    Some(all)
}

/// The pattern list of a built artifact: `excludes` and each package's v2 `exclude` first (an
/// exclude is written `!x`; one written `!x` re-includes), then each package's v2 `include` and
/// `patterns`, service before function. Each entry is kept once, in first-seen order (lodash
/// `union`, as Serverless does).
fn ordered(excludes: &[String], packages: &[&Package]) -> Vec<String> {
    let extra = packages.iter().flat_map(|p| p.exclude.iter().flatten());
    let includes = packages.iter().flat_map(|p| {
        p.include
            .iter()
            .flatten()
            .chain(p.patterns.iter().flatten())
    });
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for e in excludes.iter().chain(extra) {
        if seen.insert(("x", e)) {
            out.push(match e.strip_prefix('!') {
                Some(rest) => rest.to_string(),
                None => format!("!{e}"),
            });
        }
    }
    for i in includes {
        if seen.insert(("i", i)) {
            out.push(i.clone());
        }
    }
    out
}

/// The entries the patterns include; an included entry that cannot be packaged is an error.
fn select(entries: &[Entry], matcher: &Patterns) -> Result<Vec<usize>, PackageError> {
    let mut scratch = Vec::new();
    let mut chosen = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let included = matcher.state(&globset::Candidate::new(&e.rel), &mut scratch);
        match &e.problem {
            None if included => chosen.push(i),
            None => {}
            Some(problem) => {
                // A directory symlink stands for everything below it.
                let below = format!("{}/x", e.rel);
                let dir = matches!(
                    problem,
                    Problem::Outside { dir: true, .. } | Problem::Loop { .. }
                );
                if included || (dir && matcher.includes(&below)) {
                    return Err(PackageError::Unsafe {
                        path: e.rel.clone(),
                        problem: problem.clone(),
                    });
                }
            }
        }
    }
    Ok(chosen)
}

/// `target` as a path from `dir` (`../build/api.zip` from `.serverless`), made lexically; the
/// absolute path where they share no root.
fn from_dir(dir: &Path, target: &Path) -> String {
    let (Ok(dir), Ok(target)) = (std::path::absolute(dir), std::path::absolute(target)) else {
        return target.display().to_string();
    };
    fn clean(p: &Path) -> Vec<std::path::Component<'_>> {
        let mut v = Vec::new();
        for c in p.components() {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir if v.len() > 1 => {
                    v.pop();
                }
                c => v.push(c),
            }
        }
        v
    }
    let (d, t) = (clean(&dir), clean(&target));
    let common = d.iter().zip(&t).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return target.display().to_string();
    }
    let mut rel = PathBuf::new();
    for _ in common..d.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    rel.display().to_string()
}

/// Reads a prebuilt zip's size, sha256, file count and unzipped size.
fn prebuilt(req: &Request<'_>, p: &Plan) -> Result<ArtifactInfo, PackageError> {
    let owner = if p.functions.len() == 1 {
        format!("function `{}`", p.functions[0])
    } else if p.functions.is_empty() {
        "a layer".to_string()
    } else {
        "the service".to_string()
    };
    let err = |reason: String| PackageError::Prebuilt {
        owner: owner.clone(),
        path: p.name.clone(),
        reason,
    };
    if p.name.starts_with("s3://") || p.name.starts_with("https://") {
        return Err(err(
            "artifacts in S3 are not supported yet; download it and give a local path".into(),
        ));
    }
    let path = req.service_dir.join(&p.name);
    let file = fs::File::open(&path).map_err(|e| err(e.to_string()))?;
    let archive = zip::ZipArchive::new(io::BufReader::new(file))
        .map_err(|e| err(format!("it is not a readable zip ({e})")))?;
    let unzipped = archive.decompressed_size().unwrap_or(0);
    let unzipped = u64::try_from(unzipped).unwrap_or(u64::MAX);
    if unzipped > req.limits.unzipped {
        return Err(err(format!(
            "it is {} unzipped, over Lambda's limit of {}",
            human_bytes(unzipped),
            human_bytes(req.limits.unzipped)
        )));
    }
    let mut names: Vec<&str> = archive
        .file_names_raw()
        .filter_map(|n| std::str::from_utf8(n).ok())
        .filter(|n| !n.ends_with('/'))
        .collect();
    names.sort_unstable();
    check_handlers(req.config, p, &names, &[], &Patterns::new::<&str>(&[])?)?;
    let files = names.len();
    let (size, sha) = archive::hash_file(&path).map_err(|e| err(e.to_string()))?;
    Ok(ArtifactInfo {
        // Whoever reads the artifact joins its path to the manifest's directory.
        path: from_dir(&req.out_dir, &path),
        prebuilt: true,
        sha256: archive::base64(&sha),
        size,
        files,
        unzipped_size: unzipped,
        fingerprint: None,
        functions: p.functions.clone(),
    })
}

/// A digest of everything that decides an artifact's bytes: the format, the entry names, and
/// each file's size, mode and change stamps.
fn fingerprint<'a>(name: &str, entries: impl Iterator<Item = &'a Entry>) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "sls-package/{}/{}\0{name}\0",
        manifest::FORMAT,
        env!("CARGO_PKG_VERSION")
    ));
    for e in entries {
        h.update(e.rel.as_bytes());
        h.update([0, u8::from(e.executable)]);
        h.update(e.size.to_le_bytes());
        h.update(e.stamp.0.to_le_bytes());
        h.update(e.stamp.1.to_le_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the zip a manifest describes is still there, unchanged.
fn still_on_disk(path: &Path, info: &ArtifactInfo) -> bool {
    archive::hash_file(path)
        .is_ok_and(|(size, sha)| size == info.size && archive::base64(&sha) == info.sha256)
}

fn functions_info(config: &Config, plans: &[Plan]) -> IndexMap<String, FunctionInfo> {
    let mut out = IndexMap::new();
    for (name, f) in config.functions.iter().flatten() {
        let Some(plan) = plans.iter().find(|p| p.functions.contains(name)) else {
            continue;
        };
        out.insert(
            name.clone(),
            FunctionInfo {
                artifact: plan.name.clone(),
                handler: f.handler.clone(),
                runtime: runtime::of(config, f).to_string(),
            },
        );
    }
    out
}
