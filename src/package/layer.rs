//! The layers of `layers:`: each its own zip of its `path` directory (what Lambda unpacks under
//! `/opt`), built and reused as the functions' artifacts are, or a prebuilt `package.artifact`.

use indexmap::IndexMap;

use super::{
    ArtifactInfo, DEFAULT_EXCLUDES, PackageError, Plan, Request, fingerprint, largest, ordered,
    prebuilt, select, still_on_disk, walk_whole,
};
use crate::config::patterns::Patterns;
use crate::package::manifest::Manifest;
use crate::package::walk::Entry;

/// The zip a layer is built into, in the output directory: apart from the functions' names.
pub fn artifact_name(key: &str) -> String {
    format!("layer-{key}.zip")
}

/// Adds each layer's artifact: reused from `previous` when its inputs did not change, else its
/// files appended to `entries` and the zip to `to_build`. Returns layer key → artifact name.
pub(super) fn add(
    req: &Request<'_>,
    previous: Option<&Manifest>,
    entries: &mut Vec<Entry>,
    python: Option<std::ops::Range<usize>>,
    artifacts: &mut IndexMap<String, ArtifactInfo>,
    to_build: &mut Vec<(Vec<usize>, String)>,
) -> Result<IndexMap<String, String>, PackageError> {
    let mut out = IndexMap::new();
    for (key, l) in req.config.layers.iter().flatten() {
        let pkg = l.package.clone().unwrap_or_default();
        if let Some(path) = &pkg.artifact {
            let p = Plan {
                name: path.clone(),
                functions: Vec::new(),
                patterns: None,
                exclude_dev: false,
            };
            // Copied beside the built artifacts, where deploy reads them.
            let mut info = prebuilt(req, &p)?;
            let name = artifact_name(key);
            let copy = |e: std::io::Error| PackageError::Output {
                path: req.out_dir.join(&name),
                source: e,
            };
            let bytes = std::fs::read(req.service_dir.join(path)).map_err(copy)?;
            super::write_if_changed(&req.out_dir.join(&name), &bytes).map_err(copy)?;
            info.path = name.clone();
            info.prebuilt = false;
            artifacts.insert(name.clone(), info);
            out.insert(key.clone(), name);
            continue;
        }
        let name = artifact_name(key);
        let start = entries.len();
        let chosen: Vec<usize> = match (&python, l.python_requirements) {
            // The installed dependencies, where Lambda's Python looks in `/opt`.
            (Some(range), true) => {
                let deps: Vec<Entry> = entries[range.clone()]
                    .iter()
                    .filter(|e| e.problem.is_none())
                    .map(|e| Entry {
                        rel: format!("python/{}", e.rel),
                        ..e.clone()
                    })
                    .collect();
                entries.extend(deps);
                (start..entries.len()).collect()
            }
            _ => {
                let dir = req.service_dir.join(l.path.as_deref().unwrap_or("."));
                let excludes: Vec<String> =
                    DEFAULT_EXCLUDES.iter().map(|s| s.to_string()).collect();
                let matcher = Patterns::new(&ordered(&excludes, &[&pkg]))?;
                entries.extend(walk_whole(&dir)?);
                select(&entries[start..], &matcher)?
                    .into_iter()
                    .map(|i| i + start)
                    .collect()
            }
        };
        if chosen.is_empty() {
            return Err(PackageError::NoFiles { artifact: name });
        }
        let unzipped: u64 = chosen.iter().map(|&i| entries[i].size).sum();
        if unzipped > req.limits.unzipped {
            return Err(PackageError::TooLarge {
                artifact: name,
                size: unzipped,
                limit: req.limits.unzipped,
                largest: largest(chosen.iter().map(|&i| &entries[i])),
            });
        }
        let print = fingerprint(&name, chosen.iter().map(|&i| &entries[i]));
        let reusable = previous
            .and_then(|m| m.artifacts.get(&name))
            .filter(|old| old.fingerprint.as_deref() == Some(print.as_str()))
            .filter(|old| still_on_disk(&req.out_dir.join(&old.path), old));
        match reusable {
            Some(old) => {
                artifacts.insert(name.clone(), old.clone());
            }
            None => {
                artifacts.insert(
                    name.clone(),
                    ArtifactInfo {
                        path: name.clone(),
                        prebuilt: false,
                        sha256: String::new(),
                        size: 0,
                        files: chosen.len(),
                        unzipped_size: unzipped,
                        fingerprint: Some(print),
                        functions: Vec::new(),
                    },
                );
                to_build.push((chosen, name.clone()));
            }
        }
        out.insert(key.clone(), name);
    }
    Ok(out)
}
