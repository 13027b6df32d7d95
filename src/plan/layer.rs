//! Lambda layers of `layers:`: a version published when the layer's zip or its settings
//! changed, the functions moved to it, superseded versions deleted (kept with `retain`).
//!
//! Lambda cannot tag a layer version, so what this service and stage published is written down
//! in a record of its own, a tagged SSM parameter per layer ([`record_name`]): the version in
//! use with its zip's digest, the superseded versions still to delete, and — while a publish is
//! under way — the digest being published, by which a version whose answer was lost is known
//! as ours. Versions the record does not name are never deleted (several services may publish
//! to one layer name, as Serverless v3's bare-key names often do). AWS side:
//! `provider::aws::layer`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Change, Desired, Observed, Phase, Plan};
use crate::config::Config;
use crate::package::{INLINE_UPLOAD_LIMIT, Manifest};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerSpec {
    /// The key in `layers:`.
    pub key: String,
    /// The layer's name in Lambda.
    pub name: String,
    pub description: String,
    pub runtimes: Vec<String>,
    pub architectures: Vec<String>,
    pub license: String,
    pub retain: bool,
    /// Account ids or `*`, sorted.
    pub allowed_accounts: Vec<String>,
    /// The zip, relative to the artifacts' directory.
    pub zip: String,
    /// Base64 of the zip's sha256, as Lambda reports `CodeSha256`.
    pub sha256: String,
    /// Over the inline limit: published from the deployment bucket.
    pub via_s3: bool,
}

/// What this service and stage published under one layer name (the SSM parameter's value).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerRecord {
    /// The version the functions use.
    #[serde(default)]
    pub current: Option<i64>,
    /// Its zip's digest.
    #[serde(default)]
    pub sha256: String,
    /// Superseded versions of ours still to delete.
    #[serde(default)]
    pub old: Vec<i64>,
    /// The digest of a publish under way: an unlisted version with it is ours.
    #[serde(default)]
    pub pending: Option<String>,
    /// `retain`: a removal leaves the versions.
    #[serde(default)]
    pub retain: bool,
}

/// The record's parameter for a layer name.
pub fn record_name(service: &str, stage: &str, layer: &str) -> String {
    format!("{}{layer}", record_prefix(service, stage))
}

/// The path under which the service and stage's layer records are.
pub fn record_prefix(service: &str, stage: &str) -> String {
    format!("{}layers/", super::record_root(service, stage))
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedLayerVersion {
    pub arn: String,
    pub description: String,
    pub runtimes: Vec<String>,
    pub architectures: Vec<String>,
    pub license: String,
}

#[derive(Debug, Clone, Default)]
pub struct ObservedLayer {
    /// This service and stage's record for the name, if any.
    pub record: Option<LayerRecord>,
    /// Every version of the name that exists, whoever published it.
    pub versions: BTreeMap<i64, ObservedLayerVersion>,
    /// Versions the record does not list whose digest is its `pending` one: published by a
    /// run that stopped before writing them down.
    pub unrecorded: Vec<i64>,
    /// Accounts (or `*`) our grants on the current version name.
    pub grants: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum LayerStep {
    /// A new version from the zip; `superseded` versions of ours are to be deleted after it.
    #[serde(rename_all = "camelCase")]
    PublishLayerVersion {
        layer: String,
        layer_name: String,
        changes: Vec<Change>,
        superseded: Vec<i64>,
    },
    /// A version a stopped run published (and did not write down) is the one wanted.
    #[serde(rename_all = "camelCase")]
    AdoptLayerVersion {
        layer: String,
        layer_name: String,
        version: i64,
        superseded: Vec<i64>,
    },
    /// `version: None`: the version this run published or adopted.
    #[serde(rename_all = "camelCase")]
    GrantLayerVersion {
        layer_name: String,
        version: Option<i64>,
        account: String,
    },
    #[serde(rename_all = "camelCase")]
    RevokeLayerVersion {
        layer_name: String,
        version: i64,
        account: String,
    },
    #[serde(rename_all = "camelCase")]
    DeleteLayerVersion { layer_name: String, version: i64 },
    /// Deletes the record once nothing of ours is left to delete (or all is retained).
    #[serde(rename_all = "camelCase")]
    ForgetLayer { layer_name: String },
}

impl LayerStep {
    pub fn layer_name(&self) -> &str {
        match self {
            LayerStep::PublishLayerVersion { layer_name, .. }
            | LayerStep::AdoptLayerVersion { layer_name, .. }
            | LayerStep::GrantLayerVersion { layer_name, .. }
            | LayerStep::RevokeLayerVersion { layer_name, .. }
            | LayerStep::DeleteLayerVersion { layer_name, .. }
            | LayerStep::ForgetLayer { layer_name } => layer_name,
        }
    }

    /// Whether the step sends the layer's zip (through the bucket when it is large).
    pub fn uploads(&self) -> bool {
        match self {
            LayerStep::PublishLayerVersion { .. } => true,
            LayerStep::AdoptLayerVersion { .. }
            | LayerStep::GrantLayerVersion { .. }
            | LayerStep::RevokeLayerVersion { .. }
            | LayerStep::DeleteLayerVersion { .. }
            | LayerStep::ForgetLayer { .. } => false,
        }
    }
}

impl super::KindStep for LayerStep {
    fn phase(&self) -> Phase {
        match self {
            LayerStep::PublishLayerVersion { .. }
            | LayerStep::AdoptLayerVersion { .. }
            | LayerStep::GrantLayerVersion { .. }
            | LayerStep::RevokeLayerVersion { .. } => Phase::Layers,
            LayerStep::DeleteLayerVersion { .. } | LayerStep::ForgetLayer { .. } => {
                Phase::DeleteLayers
            }
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            LayerStep::DeleteLayerVersion {
                layer_name,
                version,
            } => Some(format!("layer {layer_name} version {version}")),
            LayerStep::PublishLayerVersion { .. }
            | LayerStep::AdoptLayerVersion { .. }
            | LayerStep::GrantLayerVersion { .. }
            | LayerStep::RevokeLayerVersion { .. }
            | LayerStep::ForgetLayer { .. } => None,
        }
    }

    fn lane(&self) -> String {
        format!("layer {}", self.layer_name())
    }

    fn uploads_via_s3(&self, d: &super::Desired) -> bool {
        self.uploads()
            && d.layers
                .iter()
                .any(|s| s.name == self.layer_name() && s.via_s3)
    }
}

fn who(account: &str) -> &str {
    if account == "*" {
        "every account"
    } else {
        account
    }
}

impl fmt::Display for LayerStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerStep::PublishLayerVersion {
                layer_name,
                changes,
                ..
            } => {
                if changes.is_empty() {
                    write!(f, "+ layer {layer_name}: first version")
                } else {
                    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
                    write!(
                        f,
                        "+ layer {layer_name}: new version ({})",
                        fields.join(", ")
                    )
                }
            }
            LayerStep::AdoptLayerVersion {
                layer_name,
                version,
                ..
            } => write!(
                f,
                "~ layer {layer_name}: version {version}, published by a run that stopped, is the one wanted"
            ),
            LayerStep::GrantLayerVersion {
                layer_name,
                version,
                account,
            } => {
                let v = version.map_or("the new version".to_string(), |v| format!("version {v}"));
                write!(f, "+ layer {layer_name} {v}: usable by {}", who(account))
            }
            LayerStep::RevokeLayerVersion {
                layer_name,
                version,
                account,
            } => write!(
                f,
                "- layer {layer_name} version {version}: usable by {}",
                who(account)
            ),
            LayerStep::DeleteLayerVersion {
                layer_name,
                version,
            } => write!(f, "- layer {layer_name} version {version}"),
            LayerStep::ForgetLayer { layer_name } => {
                write!(f, "- layer {layer_name}: the record of its versions")
            }
        }
    }
}

/// What functions are given for a layer that this run publishes: shown in the plan, replaced by
/// the version's ARN when it exists.
pub fn stand_in(name: &str) -> String {
    format!("(new version of layer {name})")
}

/// The version of ours that already is what `spec` asks for: the current one, else one a
/// stopped run published.
fn kept(spec: &LayerSpec, o: &ObservedLayer) -> Option<(i64, bool)> {
    let record = o.record.as_ref()?;
    // The digest is among the differences compared.
    let same = |v: i64, sha: &str| {
        o.versions
            .get(&v)
            .is_some_and(|have| differences(spec, have, sha).is_empty())
    };
    if let Some(c) = record.current.filter(|&c| same(c, &record.sha256)) {
        return Some((c, false));
    }
    let pending = record.pending.as_deref().unwrap_or_default();
    o.unrecorded
        .iter()
        .rev()
        .find(|&&v| same(v, pending))
        .map(|&v| (v, true))
}

fn differences(spec: &LayerSpec, have: &ObservedLayerVersion, sha: &str) -> Vec<Change> {
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.join(",")
    };
    let mut out = Vec::new();
    let mut cmp = |field: &str, from: String, to: String| Change::note(&mut out, field, from, to);
    cmp("content", sha.to_string(), spec.sha256.clone());
    cmp(
        "description",
        have.description.clone(),
        spec.description.clone(),
    );
    cmp(
        "compatibleRuntimes",
        sorted(&have.runtimes),
        sorted(&spec.runtimes),
    );
    cmp(
        "compatibleArchitectures",
        sorted(&have.architectures),
        sorted(&spec.architectures),
    );
    cmp("licenseInfo", have.license.clone(), spec.license.clone());
    out
}

/// Layer key → the version ARN its functions use: the version of ours that is what the config
/// asks for, or [`stand_in`] when a step publishes it.
pub fn arns(d: &Desired, o: &Observed) -> BTreeMap<String, String> {
    d.layers
        .iter()
        .map(|spec| {
            let arn = o
                .layers
                .get(&spec.name)
                .and_then(|ol| kept(spec, ol).and_then(|(v, _)| ol.versions.get(&v)))
                .map_or_else(|| stand_in(&spec.name), |v| v.arn.clone());
            (spec.key.clone(), arn)
        })
        .collect()
}

/// `d` with the functions' references to `layers:` replaced by [`arns`].
pub fn with_versions(d: &Desired, o: &Observed) -> Desired {
    let arns = arns(d, o);
    let mut d = d.clone();
    for f in &mut d.functions {
        for l in &mut f.config.layers {
            if let Some(arn) = l
                .strip_prefix(crate::config::model::LAYER_REF)
                .and_then(|k| arns.get(k))
            {
                *l = arn.clone();
            }
        }
    }
    d
}

/// Each wanted layer has a version of ours that is what the config asks for, usable by the
/// accounts it names; superseded versions of ours go (unless retained), and so do the layers
/// the config no longer has.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    let empty = ObservedLayer::default();
    for spec in &d.layers {
        let ol = o.layers.get(&spec.name).unwrap_or(&empty);
        let record = ol.record.clone().unwrap_or_default();
        let exists = |v: &i64| ol.versions.contains_key(v);
        let current = record.current.filter(exists);
        let found = kept(spec, ol);
        let (version, grants, stale) = match found {
            Some((v, false)) => {
                // Left over from earlier runs.
                let mut stale: BTreeSet<i64> = record.old.iter().copied().collect();
                stale.extend(&ol.unrecorded);
                (Some(v), ol.grants.clone(), stale)
            }
            Some((_, true)) | None => {
                let adopted = found.map(|(v, _)| v);
                // Ours and no longer wanted: the old ones, strays of stopped runs, and the
                // current one unless retained.
                let mut superseded: BTreeSet<i64> = record.old.iter().copied().collect();
                superseded.extend(ol.unrecorded.iter().filter(|&&v| Some(v) != adopted));
                if !spec.retain {
                    superseded.extend(current);
                }
                superseded.retain(exists);
                let list: Vec<i64> = superseded.iter().copied().collect();
                match adopted {
                    Some(version) => p.push(LayerStep::AdoptLayerVersion {
                        layer: spec.key.clone(),
                        layer_name: spec.name.clone(),
                        version,
                        superseded: list,
                    }),
                    None => p.push(LayerStep::PublishLayerVersion {
                        layer: spec.key.clone(),
                        layer_name: spec.name.clone(),
                        changes: current
                            .and_then(|c| ol.versions.get(&c))
                            .map(|have| differences(spec, have, &record.sha256))
                            .unwrap_or_default(),
                        superseded: list,
                    }),
                }
                (adopted, BTreeSet::new(), superseded)
            }
        };
        let wanted: BTreeSet<String> = spec.allowed_accounts.iter().cloned().collect();
        for account in wanted.difference(&grants) {
            p.push(LayerStep::GrantLayerVersion {
                layer_name: spec.name.clone(),
                version,
                account: account.clone(),
            });
        }
        if let Some(v) = version.filter(|_| found.is_some_and(|(_, adopted)| !adopted)) {
            for account in grants.difference(&wanted) {
                p.push(LayerStep::RevokeLayerVersion {
                    layer_name: spec.name.clone(),
                    version: v,
                    account: account.clone(),
                });
            }
        }
        for v in stale.into_iter().filter(exists) {
            p.push(LayerStep::DeleteLayerVersion {
                layer_name: spec.name.clone(),
                version: v,
            });
        }
    }
    if d.alias != d.live {
        return;
    }
    // Layers of ours the config no longer has (or a removal).
    let wanted: BTreeSet<&str> = d.layers.iter().map(|l| l.name.as_str()).collect();
    for (name, ol) in &o.layers {
        let Some(record) = &ol.record else { continue };
        if wanted.contains(name.as_str()) {
            continue;
        }
        let mut ours: BTreeSet<i64> = record.old.iter().copied().collect();
        ours.extend(&ol.unrecorded);
        if !record.retain {
            ours.extend(record.current);
        }
        for v in ours.into_iter().filter(|v| ol.versions.contains_key(v)) {
            p.push(LayerStep::DeleteLayerVersion {
                layer_name: name.clone(),
                version: v,
            });
        }
        p.push(LayerStep::ForgetLayer {
            layer_name: name.clone(),
        });
    }
}

/// `layers:`, with each layer's artifact from the manifest (none before packaging).
pub(super) fn desired(config: &Config, stage: &str, manifest: &Manifest) -> Vec<super::LayerSpec> {
    config
        .layers
        .iter()
        .flatten()
        .map(|(key, l)| {
            let artifact = manifest
                .layers
                .get(key)
                .and_then(|a| manifest.artifacts.get(a));
            let mut allowed: Vec<String> = l.allowed_accounts.clone().unwrap_or_default();
            allowed.sort();
            allowed.dedup();
            super::LayerSpec {
                key: key.clone(),
                name: l
                    .name
                    .clone()
                    .unwrap_or_else(|| match l.python_requirements {
                        // serverless-python-requirements' name.
                        true => format!("{}-{stage}-python-requirements", config.service),
                        false => key.clone(),
                    }),
                description: l.description.clone().unwrap_or_default(),
                runtimes: l.compatible_runtimes.clone().unwrap_or_default(),
                architectures: l
                    .compatible_architectures
                    .iter()
                    .flatten()
                    .map(|a| a.as_str().to_string())
                    .collect(),
                license: l.license_info.clone().unwrap_or_default(),
                retain: l.retain == Some(true),
                allowed_accounts: allowed,
                zip: artifact.map(|a| a.path.clone()).unwrap_or_default(),
                sha256: artifact.map(|a| a.sha256.clone()).unwrap_or_default(),
                via_s3: artifact.is_some_and(|a| a.size > INLINE_UPLOAD_LIMIT),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Step, tests::desired};

    const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:layer:common";

    fn spec() -> LayerSpec {
        LayerSpec {
            key: "common".into(),
            name: "common".into(),
            description: "shared code".into(),
            runtimes: vec!["nodejs22.x".into()],
            architectures: vec![],
            license: String::new(),
            retain: false,
            allowed_accounts: vec!["111122223333".into()],
            zip: "layer-common.zip".into(),
            sha256: "new=".into(),
            via_s3: false,
        }
    }

    fn version(v: i64) -> ObservedLayerVersion {
        ObservedLayerVersion {
            arn: format!("{ARN}:{v}"),
            description: "shared code".into(),
            runtimes: vec!["nodejs22.x".into()],
            architectures: vec![],
            license: String::new(),
        }
    }

    /// The service with one function using the layer.
    fn wanting(s: LayerSpec) -> Desired {
        let mut d = desired();
        d.functions[0].config.layers = vec![format!("{}common", crate::config::model::LAYER_REF)];
        d.layers = vec![s];
        d
    }

    /// Version 3 of ours is the layer as `spec()` asks, granted as asked.
    fn converged(sha: &str) -> Observed {
        let mut o = Observed::default();
        o.layers.insert(
            "common".into(),
            ObservedLayer {
                record: Some(LayerRecord {
                    current: Some(3),
                    sha256: sha.into(),
                    ..Default::default()
                }),
                versions: BTreeMap::from([(1, version(1)), (3, version(3))]),
                unrecorded: vec![],
                grants: BTreeSet::from(["111122223333".to_string()]),
            },
        );
        o
    }

    fn steps(d: &Desired, o: &Observed) -> Vec<LayerStep> {
        let mut p = Plan::default();
        plan(d, o, &mut p);
        p.steps
            .into_iter()
            .map(|s| match s {
                Step::Layer(l) => l,
                other => panic!("not a layer step: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_converged_layer_plans_nothing_and_its_functions_name_its_version() {
        let d = wanting(spec());
        let o = converged("new=");
        assert_eq!(steps(&d, &o), vec![]);
        let resolved = with_versions(&d, &o);
        assert_eq!(resolved.functions[0].config.layers, [format!("{ARN}:3")]);
        // Version 1 is not ours (not in the record): never touched.
        assert!(!format!("{:?}", steps(&d, &o)).contains("version: 1"));
    }

    #[test]
    fn a_first_deploy_publishes_grants_and_gives_functions_a_stand_in() {
        let d = wanting(spec());
        let o = Observed::default();
        assert_eq!(
            steps(&d, &o),
            vec![
                LayerStep::PublishLayerVersion {
                    layer: "common".into(),
                    layer_name: "common".into(),
                    changes: vec![],
                    superseded: vec![],
                },
                LayerStep::GrantLayerVersion {
                    layer_name: "common".into(),
                    version: None,
                    account: "111122223333".into(),
                },
            ]
        );
        assert_eq!(
            with_versions(&d, &o).functions[0].config.layers,
            [stand_in("common")]
        );
    }

    #[test]
    fn new_content_publishes_and_deletes_the_superseded_version_unless_retained() {
        let d = wanting(spec());
        let o = converged("old=");
        let s = steps(&d, &o);
        assert_eq!(
            s[0],
            LayerStep::PublishLayerVersion {
                layer: "common".into(),
                layer_name: "common".into(),
                changes: vec![Change {
                    field: "content".into(),
                    from: "old=".into(),
                    to: "new=".into()
                }],
                superseded: vec![3],
            }
        );
        assert_eq!(
            s.last(),
            Some(&LayerStep::DeleteLayerVersion {
                layer_name: "common".into(),
                version: 3
            })
        );
        assert_eq!(
            s.last().map(<LayerStep as crate::plan::KindStep>::phase),
            Some(Phase::DeleteLayers)
        );
        let kept = wanting(LayerSpec {
            retain: true,
            ..spec()
        });
        let s = steps(&kept, &o);
        assert!(
            matches!(&s[0], LayerStep::PublishLayerVersion { superseded, .. } if superseded.is_empty())
        );
        assert!(
            !s.iter()
                .any(|s| matches!(s, LayerStep::DeleteLayerVersion { .. }))
        );
    }

    #[test]
    fn a_new_setting_publishes_a_version() {
        let d = wanting(LayerSpec {
            description: "other".into(),
            ..spec()
        });
        let s = steps(&d, &converged("new="));
        assert!(
            matches!(&s[0], LayerStep::PublishLayerVersion { changes, .. }
            if changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>() == ["description"])
        );
    }

    #[test]
    fn a_version_a_stopped_run_published_is_adopted_not_published_again() {
        let d = wanting(spec());
        let mut o = converged("old=");
        let ol = o.layers.get_mut("common").unwrap();
        ol.record.as_mut().unwrap().pending = Some("new=".into());
        ol.versions.insert(4, version(4));
        ol.unrecorded = vec![4];
        let s = steps(&d, &o);
        assert_eq!(
            s[0],
            LayerStep::AdoptLayerVersion {
                layer: "common".into(),
                layer_name: "common".into(),
                version: 4,
                superseded: vec![3],
            }
        );
        assert_eq!(
            with_versions(&d, &o).functions[0].config.layers,
            [format!("{ARN}:4")]
        );
        // The grants go on the adopted version, and version 3 goes.
        assert!(s.contains(&LayerStep::GrantLayerVersion {
            layer_name: "common".into(),
            version: Some(4),
            account: "111122223333".into()
        }));
        assert!(s.contains(&LayerStep::DeleteLayerVersion {
            layer_name: "common".into(),
            version: 3
        }));
    }

    #[test]
    fn strays_and_old_versions_of_ours_are_deleted_while_the_current_one_stays() {
        let d = wanting(spec());
        let mut o = converged("new=");
        let ol = o.layers.get_mut("common").unwrap();
        ol.record.as_mut().unwrap().old = vec![2];
        ol.record.as_mut().unwrap().pending = Some("other=".into());
        ol.versions.insert(2, version(2));
        ol.versions.insert(5, version(5));
        ol.unrecorded = vec![5];
        assert_eq!(
            steps(&d, &o),
            vec![
                LayerStep::DeleteLayerVersion {
                    layer_name: "common".into(),
                    version: 2
                },
                LayerStep::DeleteLayerVersion {
                    layer_name: "common".into(),
                    version: 5
                },
            ]
        );
    }

    #[test]
    fn changed_accounts_are_granted_and_revoked_on_the_current_version() {
        let d = wanting(LayerSpec {
            allowed_accounts: vec!["*".into()],
            ..spec()
        });
        assert_eq!(
            steps(&d, &converged("new=")),
            vec![
                LayerStep::GrantLayerVersion {
                    layer_name: "common".into(),
                    version: Some(3),
                    account: "*".into()
                },
                LayerStep::RevokeLayerVersion {
                    layer_name: "common".into(),
                    version: 3,
                    account: "111122223333".into()
                },
            ]
        );
    }

    #[test]
    fn a_removal_deletes_our_versions_then_the_record_and_retained_ones_stay() {
        let d = wanting(spec()).nothing();
        let mut o = converged("new=");
        o.layers
            .get_mut("common")
            .unwrap()
            .record
            .as_mut()
            .unwrap()
            .old = vec![1];
        assert_eq!(
            steps(&d, &o),
            vec![
                LayerStep::DeleteLayerVersion {
                    layer_name: "common".into(),
                    version: 1
                },
                LayerStep::DeleteLayerVersion {
                    layer_name: "common".into(),
                    version: 3
                },
                LayerStep::ForgetLayer {
                    layer_name: "common".into()
                },
            ]
        );
        o.layers
            .get_mut("common")
            .unwrap()
            .record
            .as_mut()
            .unwrap()
            .retain = true;
        let s = steps(&d, &o);
        assert!(!s.contains(&LayerStep::DeleteLayerVersion {
            layer_name: "common".into(),
            version: 3
        }));
        assert_eq!(
            s.last(),
            Some(&LayerStep::ForgetLayer {
                layer_name: "common".into()
            })
        );
    }
}
