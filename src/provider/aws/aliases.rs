//! Reading the aliases of a service's functions: each alias, the version it points at, its
//! weighted routing, and that version's code digest and time of deployment.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Aws, AwsError, call_err, is_code};
use crate::plan::Desired;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionAliases {
    pub function: String,
    pub name: String,
    pub deployed: bool,
    pub aliases: Vec<AliasInfo>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasInfo {
    pub alias: String,
    pub version: String,
    /// Extra versions and the share of traffic each receives (0.4 = 40%).
    pub weights: BTreeMap<String, f64>,
    pub code_sha256: Option<String>,
    /// When the version was published (Lambda's LastModified).
    pub deployed_at: Option<String>,
    pub description: String,
    pub revision_id: Option<String>,
}

struct Version {
    sha256: String,
    modified: String,
}

/// Every alias of every function in `d` (or of the one function `only`).
pub async fn list(
    aws: &Aws,
    d: &Desired,
    only: Option<&str>,
) -> Result<Vec<FunctionAliases>, AwsError> {
    let mut out = Vec::new();
    for f in d
        .functions
        .iter()
        .filter(|f| only.is_none_or(|o| o == f.key))
    {
        let res = format!("Lambda function {}", f.name);
        let mut entry = FunctionAliases {
            function: f.key.clone(),
            name: f.name.clone(),
            deployed: true,
            aliases: Vec::new(),
        };
        let mut aliases = Vec::new();
        let mut marker = None;
        loop {
            let page = match aws
                .lambda
                .list_aliases()
                .function_name(&f.name)
                .set_marker(marker)
                .send()
                .await
            {
                Ok(p) => p,
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => {
                    entry.deployed = false;
                    break;
                }
                Err(e) => return Err(call_err("ListAliases", &res)(e)),
            };
            aliases.extend(page.aliases().iter().cloned());
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        if entry.deployed && !aliases.is_empty() {
            let versions = versions(aws, &f.name).await?;
            for a in aliases {
                let version = a.function_version().unwrap_or_default().to_string();
                let v = versions.get(&version);
                entry.aliases.push(AliasInfo {
                    alias: a.name().unwrap_or_default().to_string(),
                    weights: a
                        .routing_config()
                        .and_then(|r| r.additional_version_weights())
                        .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
                        .unwrap_or_default(),
                    code_sha256: v.map(|v| v.sha256.clone()),
                    deployed_at: v.map(|v| v.modified.clone()),
                    description: a.description().unwrap_or_default().to_string(),
                    revision_id: a.revision_id().map(str::to_string),
                    version,
                });
            }
            entry.aliases.sort_by(|a, b| a.alias.cmp(&b.alias));
        }
        out.push(entry);
    }
    Ok(out)
}

/// Version number → its digest and time, in one paginated listing.
async fn versions(aws: &Aws, name: &str) -> Result<BTreeMap<String, Version>, AwsError> {
    let mut out = BTreeMap::new();
    let mut marker = None;
    loop {
        let page = aws
            .lambda
            .list_versions_by_function()
            .function_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(call_err(
                "ListVersionsByFunction",
                &format!("Lambda function {name}"),
            ))?;
        for v in page.versions() {
            out.insert(
                v.version().unwrap_or_default().to_string(),
                Version {
                    sha256: v.code_sha256().unwrap_or_default().to_string(),
                    modified: v.last_modified().unwrap_or_default().to_string(),
                },
            );
        }
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            return Ok(out);
        }
    }
}
