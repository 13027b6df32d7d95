//! Lambda layers: their versions (ListLayerVersions), this service's record of the versions it
//! published (an SSM parameter per layer name), grants on the version in use; publish, adopt,
//! grant, revoke, delete. Planning and the record's meaning: `plan::layer`.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, LayerVersionContentInput, Runtime};

use super::context::Applying;
use super::{Aws, AwsError, bucket, call_err, is_code};
use crate::plan::layer::{
    LayerRecord, LayerSpec, ObservedLayerVersion, record_name, record_prefix,
};
use crate::plan::{Desired, LayerStep, ObservedLayer};

/// What a grant's statement id is made of: `sls-{account}`, `sls-all` for `*`.
fn statement_id(account: &str) -> String {
    if account == "*" {
        "sls-all".into()
    } else {
        format!("sls-{account}")
    }
}

/// The wanted layers and those this service and stage has a record of, with their versions.
pub async fn observe(
    aws: &Aws,
    d: &Desired,
    all: &super::records::Records,
) -> Result<BTreeMap<String, ObservedLayer>, AwsError> {
    let records = records(d, all)?;
    let mut names: BTreeSet<String> = records.keys().cloned().collect();
    names.extend(d.layers.iter().map(|l| l.name.clone()));
    let mut out = BTreeMap::new();
    for name in names {
        let versions = versions(aws, &name).await?;
        let record = records.get(&name).cloned();
        let mut o = ObservedLayer {
            versions,
            ..Default::default()
        };
        if let Some(r) = &record {
            if let Some(pending) = &r.pending {
                o.unrecorded = unrecorded(aws, &name, r, &o.versions, pending).await?;
            }
            let wanted = d.layers.iter().any(|l| l.name == name);
            if let Some(c) = r.current.filter(|c| wanted && o.versions.contains_key(c)) {
                o.grants = grants(aws, &name, c).await?;
            }
        }
        o.record = record;
        out.insert(name, o);
    }
    Ok(out)
}

/// This service and stage's layer records, by layer name.
fn records(
    d: &Desired,
    all: &super::records::Records,
) -> Result<BTreeMap<String, LayerRecord>, AwsError> {
    let prefix = record_prefix(&d.service, &d.stage);
    let mut out = BTreeMap::new();
    for (layer, value) in super::records::under(all, &prefix) {
        let record: LayerRecord = serde_json::from_str(value).map_err(|e| {
            AwsError::Other(format!(
                "the record {prefix}{layer} of the layer's versions is not what sls writes ({e}); delete it with `aws ssm delete-parameter --name {prefix}{layer}` and deploy again (versions it listed are then left alone)"
            ))
        })?;
        out.insert(layer.to_string(), record);
    }
    Ok(out)
}

/// Every version of a layer name that exists.
async fn versions(aws: &Aws, name: &str) -> Result<BTreeMap<i64, ObservedLayerVersion>, AwsError> {
    let res = format!("layer {name}");
    let items = super::all_pages(|marker| {
        let call = aws
            .lambda
            .list_layer_versions()
            .layer_name(name)
            .set_marker(marker);
        let res = res.clone();
        async move {
            let page = call
                .send()
                .await
                .map_err(call_err("ListLayerVersions", &res))?;
            let next = page.next_marker().map(str::to_string);
            Ok((page.layer_versions.unwrap_or_default(), next))
        }
    })
    .await?;
    Ok(items
        .into_iter()
        .map(|v| {
            (
                v.version,
                ObservedLayerVersion {
                    arn: v.layer_version_arn().unwrap_or_default().to_string(),
                    description: v.description().unwrap_or_default().to_string(),
                    runtimes: v
                        .compatible_runtimes()
                        .iter()
                        .map(|r| r.as_str().to_string())
                        .collect(),
                    architectures: v
                        .compatible_architectures()
                        .iter()
                        .map(|a| a.as_str().to_string())
                        .collect(),
                    license: v.license_info().unwrap_or_default().to_string(),
                },
            )
        })
        .collect())
}

/// Versions newer than every one the record lists whose zip is the `pending` one: published by
/// a run that stopped (or lost the answer) before writing them down.
async fn unrecorded(
    aws: &Aws,
    name: &str,
    r: &LayerRecord,
    versions: &BTreeMap<i64, ObservedLayerVersion>,
    pending: &str,
) -> Result<Vec<i64>, AwsError> {
    let newest = r
        .current
        .into_iter()
        .chain(r.old.iter().copied())
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for &v in versions.keys().filter(|&&v| v > newest) {
        let got = aws
            .lambda
            .get_layer_version()
            .layer_name(name)
            .version_number(v)
            .send()
            .await;
        match got {
            Ok(g) => {
                if g.content().and_then(|c| c.code_sha256()) == Some(pending) {
                    out.push(v);
                }
            }
            Err(e) if is_code(&e, super::NOT_FOUND) => {}
            Err(e) => {
                return Err(call_err(
                    "GetLayerVersion",
                    &format!("layer {name} version {v}"),
                )(e));
            }
        }
    }
    Ok(out)
}

/// The accounts our statements on a version name.
async fn grants(aws: &Aws, name: &str, version: i64) -> Result<BTreeSet<String>, AwsError> {
    let got = aws
        .lambda
        .get_layer_version_policy()
        .layer_name(name)
        .version_number(version)
        .send()
        .await;
    let policy = match got {
        Ok(p) => p.policy.unwrap_or_default(),
        Err(e) if is_code(&e, super::NOT_FOUND) => return Ok(BTreeSet::new()),
        Err(e) => {
            return Err(call_err(
                "GetLayerVersionPolicy",
                &format!("layer {name} version {version}"),
            )(e));
        }
    };
    let doc: serde_json::Value = serde_json::from_str(&policy).unwrap_or_default();
    Ok(doc["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Sid"].as_str())
        .filter_map(|sid| match sid.strip_prefix("sls-")? {
            "all" => Some("*".to_string()),
            account => Some(account.to_string()),
        })
        .collect())
}

/// The record as this run left it so far (the observed one before its first step).
fn record_of(cx: &Applying<'_>, name: &str) -> (LayerRecord, bool) {
    if let Some(r) = cx.known().layer_records.get(name) {
        return (r.clone(), true);
    }
    match cx.o.layers.get(name).and_then(|o| o.record.clone()) {
        Some(r) => (r, true),
        None => (LayerRecord::default(), false),
    }
}

/// Writes the record (made with the service's tags the first time, overwritten after).
async fn write_record(
    cx: &Applying<'_>,
    name: &str,
    record: LayerRecord,
    exists: bool,
) -> Result<(), AwsError> {
    let param = record_name(&cx.d.service, &cx.d.stage, name);
    let value = serde_json::to_string(&record).map_err(|e| AwsError::Other(e.to_string()))?;
    super::records::write(
        cx.aws,
        cx.d,
        &param,
        &value,
        "sls: the versions of this layer the service and stage published",
        exists,
    )
    .await?;
    cx.known().layer_records.insert(name.to_string(), record);
    Ok(())
}

fn spec<'a>(cx: &'a Applying<'_>, key: &str) -> Result<&'a LayerSpec, AwsError> {
    cx.d.layers
        .iter()
        .find(|l| l.key == key)
        .ok_or_else(|| AwsError::Other(format!("layer `{key}` is not in the config")))
}

pub async fn apply(cx: &Applying<'_>, step: &LayerStep) -> Result<(), AwsError> {
    let aws = cx.aws;
    match step {
        LayerStep::PublishLayerVersion {
            layer,
            layer_name,
            superseded,
            ..
        } => {
            let s = spec(cx, layer)?;
            let (mut record, exists) = record_of(cx, layer_name);
            // Said before publishing: a version whose answer is lost is then known as ours.
            record.pending = Some(s.sha256.clone());
            write_record(cx, layer_name, record.clone(), exists).await?;
            let content = match s.via_s3 {
                false => {
                    let path = cx.dir.join(&s.zip);
                    let bytes = std::fs::read(&path).map_err(|source| AwsError::Artifact {
                        path: path.display().to_string(),
                        source,
                    })?;
                    LayerVersionContentInput::builder()
                        .zip_file(Blob::new(bytes))
                        .build()
                }
                true => {
                    let b = cx.known().bucket.clone().ok_or_else(|| {
                        AwsError::Other(format!(
                            "{} is over the inline limit but no deployment bucket was prepared",
                            s.zip
                        ))
                    })?;
                    let key =
                        bucket::upload(aws, cx.d, &b, &cx.account(), cx.dir, &s.zip, &s.sha256)
                            .await?;
                    LayerVersionContentInput::builder()
                        .s3_bucket(b)
                        .s3_key(key)
                        .build()
                }
            };
            let call = aws
                .lambda
                .publish_layer_version()
                .layer_name(layer_name)
                .content(content)
                .set_description((!s.description.is_empty()).then(|| s.description.clone()))
                .set_license_info((!s.license.is_empty()).then(|| s.license.clone()))
                .set_compatible_runtimes((!s.runtimes.is_empty()).then(|| {
                    s.runtimes
                        .iter()
                        .map(|r| Runtime::from(r.as_str()))
                        .collect()
                }))
                .set_compatible_architectures((!s.architectures.is_empty()).then(|| {
                    s.architectures
                        .iter()
                        .map(|a| Architecture::from(a.as_str()))
                        .collect()
                }));
            let res = format!("layer {layer_name}");
            let (version, arn) = super::once::create_once(
                "PublishLayerVersion",
                &res,
                || async {
                    super::once::unretried!(call, aws_sdk_lambda::Config)
                        .await
                        .map(|p| (p.version, p.layer_version_arn.unwrap_or_default()))
                },
                || async {
                    // A version of this zip the record does not list: what the lost call made.
                    let versions = versions(aws, layer_name).await?;
                    let found = unrecorded(aws, layer_name, &record, &versions, &s.sha256).await?;
                    Ok(found
                        .last()
                        .and_then(|v| versions.get(v).map(|o| (*v, o.arn.clone()))))
                },
            )
            .await?;
            let old = merged(&record.old, superseded);
            let done = LayerRecord {
                current: Some(version),
                sha256: s.sha256.clone(),
                old,
                pending: None,
                retain: s.retain,
            };
            write_record(cx, layer_name, done, true).await?;
            let mut k = cx.known();
            k.layers.insert(layer.clone(), arn);
            k.layer_versions.insert(layer_name.clone(), version);
        }
        LayerStep::AdoptLayerVersion {
            layer,
            layer_name,
            version,
            superseded,
        } => {
            let s = spec(cx, layer)?;
            let (record, exists) = record_of(cx, layer_name);
            let done = LayerRecord {
                current: Some(*version),
                sha256: s.sha256.clone(),
                old: merged(&record.old, superseded),
                pending: None,
                retain: s.retain,
            };
            write_record(cx, layer_name, done, exists).await?;
            let arn =
                cx.o.layers
                    .get(layer_name)
                    .and_then(|o| o.versions.get(version))
                    .map(|v| v.arn.clone())
                    .unwrap_or_default();
            let mut k = cx.known();
            k.layers.insert(layer.clone(), arn);
            k.layer_versions.insert(layer_name.clone(), *version);
        }
        LayerStep::GrantLayerVersion {
            layer_name,
            version,
            account,
        } => {
            let v = match version {
                Some(v) => *v,
                None => *cx.known().layer_versions.get(layer_name).ok_or_else(|| {
                    AwsError::Other(format!("no new version of layer {layer_name} to grant on"))
                })?,
            };
            let res = format!("layer {layer_name} version {v}");
            let r = aws
                .lambda
                .add_layer_version_permission()
                .layer_name(layer_name)
                .version_number(v)
                .statement_id(statement_id(account))
                .action("lambda:GetLayerVersion")
                .principal(account)
                .send()
                .await;
            // The same statement id: granted by an earlier run.
            super::tolerate(
                r,
                &["ResourceConflictException"],
                "AddLayerVersionPermission",
                &res,
            )?;
        }
        LayerStep::RevokeLayerVersion {
            layer_name,
            version,
            account,
        } => {
            let res = format!("layer {layer_name} version {version}");
            let r = aws
                .lambda
                .remove_layer_version_permission()
                .layer_name(layer_name)
                .version_number(*version)
                .statement_id(statement_id(account))
                .send()
                .await;
            super::tolerate(r, super::NOT_FOUND, "RemoveLayerVersionPermission", &res)?;
        }
        LayerStep::DeleteLayerVersion {
            layer_name,
            version,
        } => {
            let res = format!("layer {layer_name} version {version}");
            let r = aws
                .lambda
                .delete_layer_version()
                .layer_name(layer_name)
                .version_number(*version)
                .send()
                .await;
            super::tolerate(r, super::NOT_FOUND, "DeleteLayerVersion", &res)?;
            let (mut record, exists) = record_of(cx, layer_name);
            if exists {
                if !record.old.contains(version) {
                    // A stray of a stopped publish: its digest need not be looked for again.
                    record.pending = None;
                }
                record.old.retain(|v| v != version);
                if record.current == Some(*version) {
                    record.current = None;
                }
                write_record(cx, layer_name, record, true).await?;
            }
        }
        LayerStep::ForgetLayer { layer_name } => {
            super::records::forget(aws, &record_name(&cx.d.service, &cx.d.stage, layer_name))
                .await?;
        }
    }
    Ok(())
}

fn merged(a: &[i64], b: &[i64]) -> Vec<i64> {
    let all: BTreeSet<i64> = a.iter().chain(b).copied().collect();
    all.into_iter().collect()
}
