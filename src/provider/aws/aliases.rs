//! The aliases of a service's functions: listing them (each alias, its version, weighted
//! routing, and that version's code digest and deploy time), reading and moving one under
//! its `RevisionId`, and the versions aliases hold.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_lambda::types::{AliasConfiguration, AliasRoutingConfiguration};
use serde::Serialize;

use super::{Aws, AwsError, call_err, is_code};
use crate::plan::Desired;
use crate::plan::function::ObservedVersions;
use crate::release::{AliasState, Target};

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
        let listed = all_aliases(aws, &f.name).await?;
        let mut entry = FunctionAliases {
            function: f.key.clone(),
            name: f.name.clone(),
            deployed: listed.is_some(),
            aliases: Vec::new(),
        };
        let aliases = listed.unwrap_or_default();
        if entry.deployed && !aliases.is_empty() {
            let versions = versions(aws, &f.name).await?;
            for a in aliases {
                let version = a.function_version().unwrap_or_default().to_string();
                let v = versions.get(&version);
                entry.aliases.push(AliasInfo {
                    alias: a.name().unwrap_or_default().to_string(),
                    weights: weights_of(a.routing_config()),
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

/// Every alias of a function, through the pages; `None` when the function does not exist.
async fn all_aliases(aws: &Aws, name: &str) -> Result<Option<Vec<AliasConfiguration>>, AwsError> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = match aws
            .lambda
            .list_aliases()
            .function_name(name)
            .set_marker(marker)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
            Err(e) => {
                return Err(call_err("ListAliases", &format!("Lambda function {name}"))(
                    e,
                ));
            }
        };
        out.extend(page.aliases().iter().cloned());
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            return Ok(Some(out));
        }
    }
}

/// Version → share of the traffic, from an alias' routing configuration.
fn weights_of(r: Option<&AliasRoutingConfiguration>) -> BTreeMap<String, f64> {
    r.and_then(|r| r.additional_version_weights())
        .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default()
}

/// Version number → its digest and time, in one paginated listing.
async fn versions(aws: &Aws, name: &str) -> Result<BTreeMap<String, Version>, AwsError> {
    let all = super::all_pages(|marker| async {
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
        Ok((
            page.versions().to_vec(),
            page.next_marker().map(str::to_string),
        ))
    })
    .await?;
    Ok(all
        .iter()
        .map(|v| {
            let version = Version {
                sha256: v.code_sha256().unwrap_or_default().to_string(),
                modified: v.last_modified().unwrap_or_default().to_string(),
            };
            (v.version().unwrap_or_default().to_string(), version)
        })
        .collect())
}

/// An alias' current state; `None` when the function or the alias does not exist.
pub async fn get(aws: &Aws, name: &str, alias: &str) -> Result<Option<AliasState>, AwsError> {
    match aws
        .lambda
        .get_alias()
        .function_name(name)
        .name(alias)
        .send()
        .await
    {
        Ok(a) => Ok(Some(AliasState {
            version: a.function_version().unwrap_or_default().to_string(),
            weights: weights_of(a.routing_config()),
            description: a.description().unwrap_or_default().to_string(),
            revision_id: a.revision_id().map(str::to_string),
        })),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
        Err(e) => Err(call_err(
            "GetAlias",
            &format!("Lambda function {name}:{alias}"),
        )(e)),
    }
}

/// Points an existing alias at `t`, only if it still has `revision` (what this command read):
/// Lambda refuses the update when someone moved the alias since, which becomes
/// [`AwsError::AliasChanged`] instead of a silent overwrite. Returns the new revision.
pub async fn set(
    aws: &Aws,
    name: &str,
    alias: &str,
    t: &Target,
    revision: Option<&str>,
) -> Result<Option<String>, AwsError> {
    let routing = AliasRoutingConfiguration::builder()
        .set_additional_version_weights(Some(t.weights.clone().into_iter().collect()))
        .build();
    let out = aws
        .lambda
        .update_alias()
        .function_name(name)
        .name(alias)
        .function_version(&t.version)
        .description(&t.description)
        .routing_config(routing)
        .set_revision_id(revision.map(str::to_string))
        .send()
        .await
        .map_err(alias_err("UpdateAlias", name, alias))?;
    Ok(out.revision_id().map(str::to_string))
}

/// Creates an alias; one created meanwhile (a re-run after an interruption, or a racing
/// script) is a conflict for the caller to resolve by reading it again — unless it is exactly
/// this one: our own create, carried out, whose answer was lost and which the SDK retried.
pub async fn create(aws: &Aws, name: &str, alias: &str, t: &Target) -> Result<(), AwsError> {
    let created = aws
        .lambda
        .create_alias()
        .function_name(name)
        .name(alias)
        .function_version(&t.version)
        .description(&t.description)
        .send()
        .await;
    let Err(e) = created else {
        return Ok(());
    };
    let ours = is_code(&e, &["ResourceConflictException", "ConflictException"])
        && get(aws, name, alias).await?.is_some_and(|a| {
            a.version == t.version && a.weights.is_empty() && a.description == t.description
        });
    if ours {
        return Ok(());
    }
    Err(alias_err("CreateAlias", name, alias)(e))
}

/// Maps Lambda's answers to a stale `RevisionId` (or an alias created under us) to
/// [`AwsError::AliasChanged`]; everything else names the call as usual.
pub fn alias_err<E>(operation: &str, name: &str, alias: &str) -> impl FnOnce(E) -> AwsError
where
    E: crate::provider::aws::CallError,
{
    let (operation, name, alias) = (operation.to_string(), name.to_string(), alias.to_string());
    move |e| {
        if is_code(
            &e,
            &["PreconditionFailedException", "ResourceConflictException"],
        ) {
            AwsError::AliasChanged {
                function: name,
                alias,
            }
        } else {
            call_err(&operation, &format!("Lambda function {name}:{alias}"))(e)
        }
    }
}

/// A function's published versions and the versions each alias routes to.
pub async fn versions_in_use(aws: &Aws, name: &str) -> Result<ObservedVersions, AwsError> {
    let published = versions(aws, name)
        .await?
        .into_keys()
        .filter(|v| v != "$LATEST")
        .collect();
    let mut by_alias = BTreeMap::new();
    for a in all_aliases(aws, name).await?.unwrap_or_default() {
        let mut held: BTreeSet<String> = weights_of(a.routing_config()).into_keys().collect();
        held.extend(a.function_version().map(str::to_string));
        by_alias.insert(a.name().unwrap_or_default().to_string(), held);
    }
    Ok(ObservedVersions {
        published,
        by_alias,
    })
}

/// Deletes one published version; one already gone counts as deleted.
pub async fn delete_version(aws: &Aws, name: &str, version: &str) -> Result<(), AwsError> {
    match aws
        .lambda
        .delete_function()
        .function_name(name)
        .qualifier(version)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
        Err(e) => Err(call_err(
            "DeleteFunction",
            &format!("Lambda function {name}:{version}"),
        )(e)),
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn err(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(code)
            .message("The Revision Id provided does not match the latest Revision Id")
            .build()
    }

    #[test]
    fn a_stale_revision_is_a_conflict_not_an_overwrite() {
        let e = alias_err("UpdateAlias", "svc-dev-a", "live")(err("PreconditionFailedException"));
        assert!(
            matches!(&e, AwsError::AliasChanged { function, alias } if function == "svc-dev-a" && alias == "live")
        );
        assert!(e.to_string().contains("nothing was overwritten"));
        let e = alias_err("CreateAlias", "svc-dev-a", "live")(err("ResourceConflictException"));
        assert!(matches!(e, AwsError::AliasChanged { .. }));
    }

    #[test]
    fn other_failures_name_the_call_and_the_alias() {
        let e = alias_err("UpdateAlias", "svc-dev-a", "live")(err("ServiceException"));
        let text = e.to_string();
        assert!(matches!(e, AwsError::Call { .. }));
        assert!(text.contains("UpdateAlias for Lambda function svc-dev-a:live"));
    }
}
