//! The side stack: the CloudFormation stack that holds what `resources:` declares, and nothing
//! else. Named `{service}-{stage}-sls-resources` and tagged as ours; Serverless v3 names its
//! stack `{service}-{stage}` and keeps the service's functions in it, so a stack of that name
//! stops a deploy that has `resources:` (updating or replacing it is not ours to do).
//!
//! A new stack is created whole (every resource shown as added); an existing one is changed
//! through a change set that AWS computes from the template ([`ObservedStack::change_set`]), so
//! the plan shows what CloudFormation will add, modify, replace or remove. The values of what sls
//! deploys under Serverless v3's logical ids are `managed_values`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::Desired;
use super::naming::bucket_name;
use super::{Conflict, Phase};

/// The stack the config asks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackSpec {
    pub name: String,
    /// The template as sent (compact JSON).
    pub template: String,
    /// Logical id → type, in template order.
    pub resources: Vec<(String, String)>,
    /// Logical ids kept when the stack is deleted.
    pub retained: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// What AWS holds under the side stack's name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedStack {
    pub name: String,
    pub status: String,
    /// It carries our service and stage tags.
    pub ours: bool,
    pub outputs: BTreeMap<String, String>,
    /// The resources it holds (for a removal's plan).
    pub resources: Vec<(String, String)>,
    /// The deployed template equals the desired one.
    pub current: bool,
    /// The change set AWS computed for the desired template, when it differs.
    pub change_set: Option<ChangeSet>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSet {
    pub name: String,
    pub changes: Vec<ResourceChange>,
}

/// One resource's change, as a change set describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceChange {
    /// Add, Modify, Remove, Import or Dynamic.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// For a Modify: True (the resource is replaced: a new one, the old one's data gone),
    /// Conditional, or False.
    pub replacement: Option<String>,
}

impl ResourceChange {
    /// A replacement of something that holds data loses that data.
    pub fn loses_data(&self) -> bool {
        self.replacement.as_deref() == Some("True")
            || self.replacement.as_deref() == Some("Conditional")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum StackStep {
    /// CreateStack with the whole template.
    Create {
        name: String,
        resources: Vec<(String, String)>,
    },
    /// ExecuteChangeSet.
    Update { name: String, change_set: ChangeSet },
    /// DeleteStack: no `resources:` any more (or a removal), or a first creation that rolled
    /// back (AWS keeps such a stack in ROLLBACK_COMPLETE, where it can only be deleted).
    Delete {
        name: String,
        resources: Vec<(String, String)>,
        retained: Vec<String>,
    },
}

impl super::KindStep for StackStep {
    fn phase(&self) -> Phase {
        match self {
            StackStep::Create { .. } | StackStep::Update { .. } => Phase::Stack,
            StackStep::Delete { .. } => Phase::DeleteStack,
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            StackStep::Delete { name, .. } => Some(format!("CloudFormation stack {name}")),
            StackStep::Create { .. } | StackStep::Update { .. } => None,
        }
    }

    fn lane(&self) -> String {
        "stack".into()
    }
}

impl fmt::Display for StackStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackStep::Create { name, resources } => {
                write!(f, "+ CloudFormation stack {name} (resources:)")?;
                for (id, ty) in resources {
                    write!(f, "\n      + {id} ({ty})")?;
                }
                Ok(())
            }
            StackStep::Update { name, change_set } => {
                write!(
                    f,
                    "~ CloudFormation stack {name} (change set {})",
                    change_set.name
                )?;
                for c in &change_set.changes {
                    let sign = match c.action.as_str() {
                        "Add" => "+",
                        "Remove" => "-",
                        _ => "~",
                    };
                    write!(f, "\n      {sign} {} ({})", c.logical_id, c.resource_type)?;
                    match c.replacement.as_deref() {
                        Some("True") => write!(
                            f,
                            " REPLACED: a new one is made and the old one deleted, with any data it holds"
                        )?,
                        Some("Conditional") => write!(
                            f,
                            " MAY BE REPLACED (depending on values known during the update): its data would be lost"
                        )?,
                        _ => {}
                    }
                }
                Ok(())
            }
            StackStep::Delete {
                name,
                resources,
                retained,
            } => {
                write!(f, "- CloudFormation stack {name}")?;
                for (id, ty) in resources {
                    if retained.contains(id) {
                        write!(f, "\n      = {id} ({ty}) kept: DeletionPolicy Retain")?;
                    } else {
                        write!(f, "\n      - {id} ({ty})")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// A Serverless v3 deployment of the stage that is not (yet) sls's.
pub fn v3_conflict(v3: &str) -> Conflict {
    Conflict {
        resource: format!("CloudFormation stack {v3}"),
        reason: "a Serverless v3 deployment of this service and stage exists (its stack holds its functions and maybe tables); sls will not deploy beside it. `sls adopt --dry-run` shows how sls takes it over without recreating anything, `sls adopt` does it (an adoption stopped half-way: run `sls adopt` again)".into(),
    }
}

/// The stack's steps, or why it cannot be touched.
pub fn plan(
    spec: Option<&StackSpec>,
    observed: Option<&ObservedStack>,
    v3_stack: Option<&str>,
) -> Result<Vec<StackStep>, Conflict> {
    if let (Some(_), Some(v3)) = (spec, v3_stack) {
        return Err(v3_conflict(v3));
    }
    let Some(o) = observed else {
        return Ok(spec
            .map(|s| StackStep::Create {
                name: s.name.clone(),
                resources: s.resources.clone(),
            })
            .into_iter()
            .collect());
    };
    if !o.ours {
        if spec.is_none() {
            // Not ours: a removal leaves it alone.
            return Ok(Vec::new());
        }
        return Err(Conflict {
            resource: format!("CloudFormation stack {}", o.name),
            reason: "it exists without this service's tags".into(),
        });
    }
    // REVIEW_IN_PROGRESS: a stack made by a change set never executed (not by sls); others
    // were waited for while observing.
    if o.status.ends_with("_IN_PROGRESS") {
        return Err(Conflict {
            resource: format!("CloudFormation stack {}", o.name),
            reason: format!(
                "it is in {}: another operation is under way; run again when it has finished",
                o.status
            ),
        });
    }
    if o.status == "UPDATE_ROLLBACK_FAILED" || o.status == "DELETE_FAILED" {
        return Err(Conflict {
            resource: format!("CloudFormation stack {}", o.name),
            reason: format!(
                "it is in {}; fix the resource named in its events (the console, or `aws cloudformation continue-update-rollback` / `delete-stack`) and run again",
                o.status
            ),
        });
    }
    let delete = StackStep::Delete {
        name: o.name.clone(),
        resources: o.resources.clone(),
        retained: spec.map(|s| s.retained.clone()).unwrap_or_default(),
    };
    let Some(s) = spec else {
        return Ok(vec![delete]);
    };
    // A stack whose creation failed holds nothing and can only be deleted.
    if o.status == "ROLLBACK_COMPLETE" || o.status == "ROLLBACK_FAILED" {
        return Ok(vec![
            delete,
            StackStep::Create {
                name: s.name.clone(),
                resources: s.resources.clone(),
            },
        ]);
    }
    if o.current {
        return Ok(Vec::new());
    }
    Ok(o.change_set
        .as_ref()
        .filter(|c| !c.changes.is_empty())
        // The observed stack's name: an adopted v3 stack keeps its own.
        .map(|c| StackStep::Update {
            name: o.name.clone(),
            change_set: c.clone(),
        })
        .into_iter()
        .collect())
}

/// CloudFormation's limit for a template sent in the request (TemplateBody).
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// The side stack's name for a service and stage.
pub fn stack_name(service: &str, stage: &str) -> String {
    super::fit(&format!("{service}-{stage}-sls-resources"), 128)
}

/// The name Serverless v3 gives a service and stage's stack.
pub fn v3_stack_name(service: &str, stage: &str) -> String {
    format!("{service}-{stage}")
}

pub use crate::config::model::normalized;

/// The values of what sls deploys, under the logical ids Serverless v3 gives them, for `Ref`
/// and `Fn::GetAtt`: functions (`{Fn}LambdaFunction`: name, Arn), their log groups
/// (`{Fn}LogGroup`), the service's role (`IamRoleLambdaExecution`) and the deployment bucket
/// (`ServerlessDeploymentBucket`).
pub fn managed_values(d: &Desired, account: &str) -> crate::config::intrinsics::Values {
    let (partition, _) = super::partition(&d.region);
    let region = &d.region;
    let mut v = crate::config::intrinsics::Values {
        region: d.region.clone(),
        account: Some(account.to_string()),
        stack_name: super::stack::stack_name(&d.service, &d.stage),
        ..Default::default()
    };
    let mut both = |id: String, name: String, arn: String| {
        v.atts.insert((id.clone(), "Arn".into()), arn);
        v.refs.insert(id, name);
    };
    for f in &d.functions {
        let n = super::stack::normalized(&f.key);
        both(
            format!("{n}LambdaFunction"),
            f.name.clone(),
            format!(
                "arn:{partition}:lambda:{region}:{account}:function:{}",
                f.name
            ),
        );
        let group = super::log_group::name_of(&f.name);
        both(
            format!("{n}LogGroup"),
            group.clone(),
            format!("arn:{partition}:logs:{region}:{account}:log-group:{group}:*"),
        );
    }
    if let Some(r) = &d.role {
        both(
            "IamRoleLambdaExecution".into(),
            r.name.clone(),
            format!("arn:{partition}:iam::{account}:role{}{}", r.path, r.name),
        );
    }
    if let Some(b) = &d.bucket {
        let name = b
            .user
            .clone()
            .unwrap_or_else(|| bucket_name(&d.service, &d.stage, account, region));
        both(
            "ServerlessDeploymentBucket".into(),
            name.clone(),
            format!("arn:{partition}:s3:::{name}"),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> StackSpec {
        StackSpec {
            name: "svc-dev-sls-resources".into(),
            template: "{}".into(),
            resources: vec![("Table".into(), "AWS::DynamoDB::Table".into())],
            retained: vec!["Table".into()],
            tags: BTreeMap::new(),
        }
    }

    fn observed(status: &str) -> ObservedStack {
        ObservedStack {
            name: "svc-dev-sls-resources".into(),
            status: status.into(),
            ours: true,
            resources: vec![("Table".into(), "AWS::DynamoDB::Table".into())],
            ..Default::default()
        }
    }

    #[test]
    fn new_current_changed_and_gone() {
        let s = spec();
        assert!(matches!(
            plan(Some(&s), None, None).unwrap().as_slice(),
            [StackStep::Create { .. }]
        ));
        let mut o = observed("UPDATE_COMPLETE");
        o.current = true;
        assert!(plan(Some(&s), Some(&o), None).unwrap().is_empty());
        o.current = false;
        o.change_set = Some(ChangeSet {
            name: "sls-1".into(),
            changes: vec![ResourceChange {
                action: "Modify".into(),
                logical_id: "Table".into(),
                resource_type: "AWS::DynamoDB::Table".into(),
                replacement: Some("True".into()),
            }],
        });
        let steps = plan(Some(&s), Some(&o), None).unwrap();
        let [StackStep::Update { change_set, .. }] = steps.as_slice() else {
            panic!("{steps:?}")
        };
        assert!(change_set.changes[0].loses_data());
        assert!(matches!(
            plan(None, Some(&o), None).unwrap().as_slice(),
            [StackStep::Delete { .. }]
        ));
        assert!(plan(None, None, None).unwrap().is_empty());
    }

    #[test]
    fn failed_creations_are_made_again_and_others_stop() {
        let s = spec();
        let steps = plan(Some(&s), Some(&observed("ROLLBACK_COMPLETE")), None).unwrap();
        assert!(matches!(
            steps.as_slice(),
            [StackStep::Delete { .. }, StackStep::Create { .. }]
        ));
        for status in ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED"] {
            let c = plan(Some(&s), Some(&observed(status)), None).unwrap_err();
            assert!(c.reason.contains(status), "{}", c.reason);
        }
        let mut foreign = observed("CREATE_COMPLETE");
        foreign.ours = false;
        assert!(plan(Some(&s), Some(&foreign), None).is_err());
        let c = plan(Some(&s), None, Some("svc-dev")).unwrap_err();
        assert!(c.reason.contains("Serverless v3"), "{}", c.reason);
    }

    #[test]
    fn logical_ids_as_serverless_v3_names_them() {
        assert_eq!(normalized("hello"), "Hello");
        assert_eq!(normalized("get-user_by"), "GetDashuserUnderscoreby");
    }
}
