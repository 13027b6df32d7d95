//! The package manifest (`.serverless/sls-manifest.json`): which artifact each function uses,
//! with the size and the sha256 Lambda will report as `CodeSha256`. `deploy --package DIR`
//! reads it instead of packaging again, and the next `package` uses it to skip artifacts whose
//! inputs did not change.

use std::fs;
use std::io;
use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Bumped when the manifest or the zip layout changes, so older artifacts are rebuilt.
pub const FORMAT: u32 = 1;
pub const FILE_NAME: &str = "sls-manifest.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: u32,
    pub service: String,
    pub stage: String,
    pub region: String,
    /// Keyed by artifact name: the zip's file name, or a prebuilt artifact's path as written.
    pub artifacts: IndexMap<String, ArtifactInfo>,
    pub functions: IndexMap<String, FunctionInfo>,
    /// Keyed by the layer's key in `layers:`: the name of its artifact.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub layers: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactInfo {
    /// Relative to the manifest's directory (a prebuilt artifact's too: `../build/api.zip`).
    pub path: String,
    pub prebuilt: bool,
    /// Base64 of the zip's sha256: what Lambda returns as `CodeSha256`.
    pub sha256: String,
    pub size: u64,
    pub files: usize,
    pub unzipped_size: u64,
    /// Digest of the inputs (built artifacts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub functions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionInfo {
    pub artifact: String,
    pub handler: Option<String>,
    pub runtime: String,
}

impl Manifest {
    /// A manifest of nothing packaged: for planning what exists by name before anything is built.
    pub fn unpackaged(service: &str, stage: &str, region: &str) -> Manifest {
        Manifest {
            format: FORMAT,
            service: service.to_string(),
            stage: stage.to_string(),
            region: region.to_string(),
            artifacts: IndexMap::new(),
            functions: IndexMap::new(),
            layers: IndexMap::new(),
        }
    }

    /// The manifest in `dir`, if there is a readable one of this format.
    pub fn read(dir: &Path) -> Option<Manifest> {
        let text = fs::read(dir.join(FILE_NAME)).ok()?;
        serde_json::from_slice::<Manifest>(&text)
            .ok()
            .filter(|m| m.format == FORMAT)
    }

    /// Writes the manifest atomically (a reader never sees half of it), through a file of this
    /// process's own so that two runs in one directory never rename each other's away.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let tmp = dir.join(format!("{FILE_NAME}.{}.partial", std::process::id()));
        let mut text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        text.push(b'\n');
        fs::write(&tmp, text)?;
        fs::rename(tmp, dir.join(FILE_NAME))
    }

    /// Removes zips that `old` listed as built here and this manifest no longer has: only files
    /// this tool wrote are ever removed.
    pub fn remove_stale(&self, old: &Manifest, dir: &Path) {
        for (name, info) in &old.artifacts {
            let kept = self.artifacts.get(name).is_some_and(|n| !n.prebuilt);
            if !info.prebuilt && !kept && is_plain_name(&info.path) {
                let _ = fs::remove_file(dir.join(&info.path));
            }
        }
    }
}

/// A bare file name: a manifest edited by hand cannot make us delete elsewhere.
fn is_plain_name(p: &str) -> bool {
    !p.is_empty() && !p.contains(['/', '\\']) && p != "." && p != ".."
}
