//! Running functions on this machine, without Docker: the code is the deployment package
//! (unpacked), the processes speak the real Lambda Runtime API to an in-process server, and
//! `sls offline` puts API Gateway's two payload formats in front of them.

pub mod gateway;
mod http;
pub mod lambda_api;
pub mod notes;
pub mod pool;
pub mod runtime_api;
pub mod samples;
pub mod schedules;
pub mod settings;
pub mod watch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use pool::{Invoked, LocalError, LocalFunction, Outcome, Pool};

use crate::plan::Desired;

/// `.cjs`: a service whose package.json says `"type": "module"` must not make the shim an ES module.
pub const NODE_SHIM: &str = "node-bootstrap.cjs";
pub const PYTHON_SHIM: &str = "python-bootstrap.py";
const NODE_SOURCE: &str = include_str!("shims/node-bootstrap.cjs");
const PYTHON_SOURCE: &str = include_str!("shims/python-bootstrap.py");

/// Variables a local worker inherits from sls's environment besides every `AWS_*` one (the
/// developer's credentials, profile, endpoints): what finds programs and the user's files.
const INHERITED: &[&str] = &["PATH", "HOME"];

/// How the local workers of a run differ from Lambda's.
#[derive(Debug, Clone)]
pub struct Running {
    /// Set to `true` in every worker: `IS_LOCAL` for `invoke local` (as Serverless v3 sets it),
    /// `IS_OFFLINE` for `offline` (as serverless-offline sets it).
    pub marker: &'static str,
    /// serverless-offline's `localEnvironment`: the worker inherits sls's whole environment.
    pub whole_environment: bool,
    /// serverless-offline's `noTimeout`: no invocation is stopped at the function's timeout.
    pub no_timeout: bool,
    /// serverless-offline's `reloadHandler`: each invocation gets a new worker, loading the
    /// handler's code anew (no warm state).
    pub fresh_workers: bool,
}

impl Running {
    pub fn invoke_local() -> Running {
        Running {
            marker: "IS_LOCAL",
            whole_environment: false,
            no_timeout: false,
            fresh_workers: false,
        }
    }
}

/// The function ran and returned an error (exit code 8); its document is already printed.
#[derive(Debug, thiserror::Error)]
#[error("the function returned an error ({0})")]
pub struct FunctionError(pub String);

#[derive(Debug, thiserror::Error)]
#[error("cannot prepare {what} for a local run: {source}")]
pub struct PrepareError {
    what: String,
    source: std::io::Error,
}

/// The local form of each function in `d`: its package unpacked under `{out}/local/`, and the
/// bootstrap shims written next to it.
pub fn prepare(
    d: &Desired,
    out_dir: &Path,
    env: &HashMap<String, String>,
    running: &Running,
) -> Result<Vec<LocalFunction>, PrepareError> {
    let local = out_dir.join("local");
    let shim_dir = local.join("runtime");
    let err = |what: &str| {
        let what = what.to_string();
        move |source| PrepareError { what, source }
    };
    write_shims(&shim_dir).map_err(err("the bootstrap shims"))?;
    let mut inherited: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| {
            running.whole_environment || k.starts_with("AWS_") || INHERITED.contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    inherited.sort();
    d.functions
        .iter()
        .map(|f| {
            let code_dir = unpack(out_dir, &local, &f.zip, &f.sha256).map_err(err(&f.zip))?;
            // The function's layers of `layers:`, unpacked as its code is (Lambda's `/opt`).
            let mut layers = Vec::new();
            for l in &f.config.layers {
                let Some(key) = l.strip_prefix(crate::config::model::LAYER_REF) else {
                    continue;
                };
                if let Some(spec) = d.layers.iter().find(|s| s.key == key) {
                    layers.push(
                        unpack(out_dir, &local, &spec.zip, &spec.sha256).map_err(err(&spec.zip))?,
                    );
                }
            }
            Ok(LocalFunction {
                key: f.key.clone(),
                name: f.name.clone(),
                runtime: f.config.runtime.clone(),
                handler: f.config.handler.clone(),
                code_dir,
                layers,
                shim_dir: shim_dir.clone(),
                memory_size: f.config.memory_size,
                timeout: f.config.timeout,
                environment: f.config.environment.clone(),
                region: d.region.clone(),
                inherited: inherited.clone(),
                running: running.clone(),
            })
        })
        .collect()
}

/// Writes the Node.js and Python bootstrap shims into `dir` (unless already there).
pub fn write_shims(dir: &Path) -> std::io::Result<()> {
    // Renamed into place: a worker started by another run never reads half a shim.
    for (name, source) in [(NODE_SHIM, NODE_SOURCE), (PYTHON_SHIM, PYTHON_SOURCE)] {
        crate::package::write_if_changed(&dir.join(name), source.as_bytes())?;
    }
    Ok(())
}

/// Unpacks a function's or layer's zip once per digest, so what runs locally is exactly what
/// deploys.
fn unpack(out_dir: &Path, local: &Path, zip: &str, sha256: &str) -> std::io::Result<PathBuf> {
    let name: String = sha256
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let target = local.join(name);
    if target.is_dir() {
        return Ok(target);
    }
    let partial = local.join(format!(".partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let file = std::fs::File::open(out_dir.join(zip))?;
    zip::ZipArchive::new(file)
        .and_then(|mut z| z.extract(&partial))
        .map_err(std::io::Error::other)?;
    // Another run may have unpacked the same digest meanwhile: theirs is as good as ours.
    if std::fs::rename(&partial, &target).is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    Ok(target)
}
