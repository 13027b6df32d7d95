//! The execution role in IAM: read (GetRole, its inline policy, its managed policies) and
//! changed step by step. Planning: `plan::role`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::context::Applying;
use super::{Aws, AwsError, NOT_FOUND, call_err, is_code, owned, percent_decode, tolerate};
use crate::plan::naming::role_name;
use crate::plan::{Desired, ObservedRole, RoleSpec, RoleStep};

/// Who may assume a role of ours: the service its spec names (Lambda, or Scheduler).
fn trust_policy(service: &str) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": [service]}, "Action": ["sts:AssumeRole"]
    }]})
    .to_string()
}

/// The service's role: the one `d` names, else the default name (a role left from before the
/// config named an existing one, to be deleted).
pub async fn observe(aws: &Aws, d: &Desired) -> Result<Option<ObservedRole>, AwsError> {
    let name = match &d.role {
        Some(spec) => spec.name.clone(),
        None => role_name(&d.service, &d.stage, &d.region),
    };
    observe_named(aws, d, name.as_str(), &policy_name(d)).await
}

/// The name of the inline policy sls puts on its roles.
pub fn policy_name(d: &Desired) -> String {
    d.role.as_ref().map_or_else(
        || format!("{}-{}-lambda", d.service, d.stage),
        |s| s.policy_name.clone(),
    )
}

/// A role by name, with what the plan needs of it.
pub async fn observe_named(
    aws: &Aws,
    d: &Desired,
    name: &str,
    policy_name: &str,
) -> Result<Option<ObservedRole>, AwsError> {
    let policy_name = policy_name.to_string();
    let res = format!("IAM role {name}");
    let got = match aws.iam.get_role().role_name(name).send().await {
        Ok(r) => r,
        Err(e) if is_code(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(call_err("GetRole", &res)(e)),
    };
    let Some(r) = got.role() else { return Ok(None) };
    let pairs = |tags: &[aws_sdk_iam::types::Tag]| -> BTreeMap<String, String> {
        tags.iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    };
    let tags: BTreeMap<String, String> = if !r.tags().is_empty() {
        pairs(r.tags())
    } else {
        // Some endpoints leave tags out of GetRole.
        let listed = aws
            .iam
            .list_role_tags()
            .role_name(name)
            .send()
            .await
            .map_err(call_err("ListRoleTags", &res))?;
        pairs(listed.tags())
    };
    let mut o = ObservedRole {
        name: name.to_string(),
        arn: r.arn().to_string(),
        owned: owned(&tags, d),
        path: r.path().to_string(),
        permissions_boundary: r
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags,
        policy_name: policy_name.clone(),
        policy: None,
        managed_policies: Vec::new(),
    };
    // Nothing more of a role that is not ours: it is only reported.
    if !o.owned {
        return Ok(Some(o));
    }
    let policy = async {
        match aws
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy_name)
            .send()
            .await
        {
            Ok(p) => Ok(serde_json::from_str::<Value>(&percent_decode(p.policy_document())).ok()),
            Err(e) if is_code(&e, NOT_FOUND) => Ok(None),
            Err(e) => Err(call_err("GetRolePolicy", &res)(e)),
        }
    };
    let attached = async {
        aws.iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(call_err("ListAttachedRolePolicies", &res))
    };
    let (policy, attached) = tokio::join!(policy, attached);
    o.policy = policy?;
    o.managed_policies = attached?
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    Ok(Some(o))
}

pub async fn apply(cx: &Applying<'_>, step: &RoleStep) -> Result<(), AwsError> {
    let (aws, d) = (cx.aws, cx.d);
    match step {
        RoleStep::CreateRole { role } => {
            let arn = create(aws, d, role).await?;
            if d.role.as_ref().is_some_and(|s| &s.name == role) {
                cx.known().role_arn = Some(arn);
            } else {
                cx.known().role_arns.insert(role.clone(), arn);
            }
            // Functions wait out IAM's propagation of a role they run as.
            if spec(d, role)?.trust == crate::plan::role::LAMBDA_TRUST {
                *cx.role_ready.lock().await = false;
            }
        }
        RoleStep::UpdateRolePolicy { role } => put_policy(aws, spec(d, role)?).await?,
        RoleStep::AttachRolePolicy { role, policy } => {
            aws.iam
                .attach_role_policy()
                .role_name(role)
                .policy_arn(policy)
                .send()
                .await
                .map_err(call_err("AttachRolePolicy", &format!("IAM role {role}")))?;
        }
        RoleStep::DetachRolePolicy { role, policy } => detach(aws, role, policy).await?,
        RoleStep::PutRolePermissionsBoundary { role, boundary } => {
            aws.iam
                .put_role_permissions_boundary()
                .role_name(role)
                .permissions_boundary(boundary)
                .send()
                .await
                .map_err(call_err(
                    "PutRolePermissionsBoundary",
                    &format!("IAM role {role}"),
                ))?;
        }
        RoleStep::DeleteRolePermissionsBoundary { role } => {
            let r = aws
                .iam
                .delete_role_permissions_boundary()
                .role_name(role)
                .send()
                .await;
            tolerate(
                r,
                NOT_FOUND,
                "DeleteRolePermissionsBoundary",
                &format!("IAM role {role}"),
            )?;
        }
        RoleStep::TagRole { role } => {
            let tags = iam_tags(&spec(d, role)?.tags);
            aws.iam
                .tag_role()
                .role_name(role)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(call_err("TagRole", &format!("IAM role {role}")))?;
        }
        RoleStep::DeleteRole {
            role,
            detach: policies,
            inline_policy,
        } => {
            let res = format!("IAM role {role}");
            for p in policies {
                detach(aws, role, p).await?;
            }
            if let Some(policy) = inline_policy {
                match aws
                    .iam
                    .delete_role_policy()
                    .role_name(role)
                    .policy_name(policy)
                    .send()
                    .await
                {
                    Ok(_) => {}
                    Err(e) if is_code(&e, NOT_FOUND) => {}
                    Err(e) => return Err(call_err("DeleteRolePolicy", &res)(e)),
                }
            }
            match aws.iam.delete_role().role_name(role).send().await {
                Ok(_) => {}
                Err(e) if is_code(&e, NOT_FOUND) => {}
                Err(e) => return Err(call_err("DeleteRole", &res)(e)),
            }
        }
    }
    Ok(())
}

/// A policy already detached (a re-run after an interruption) counts as detached.
async fn detach(aws: &Aws, role: &str, policy: &str) -> Result<(), AwsError> {
    match aws
        .iam
        .detach_role_policy()
        .role_name(role)
        .policy_arn(policy)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, NOT_FOUND) => Ok(()),
        Err(e) => Err(call_err("DetachRolePolicy", &format!("IAM role {role}"))(e)),
    }
}

/// The role's ARN after creating it (or finding it created by an interrupted run), with its
/// inline policy in place.
async fn create(aws: &Aws, d: &Desired, name: &str) -> Result<String, AwsError> {
    let res = format!("IAM role {name}");
    let spec = spec(d, name)?;
    let created = aws
        .iam
        .create_role()
        .role_name(name)
        .path(&spec.path)
        .set_permissions_boundary(spec.permissions_boundary.clone())
        .assume_role_policy_document(trust_policy(&spec.trust))
        .set_tags(Some(iam_tags(&spec.tags)))
        .send()
        .await;
    let arn = match created {
        Ok(r) => r.role().map(|r| r.arn().to_string()),
        // Made meanwhile: ours (an interrupted run) is used, anyone else's never touched.
        Err(e) if is_code(&e, &["EntityAlreadyExists"]) => {
            match observe_named(aws, d, name, &spec.policy_name).await? {
                Some(r) if r.owned => Some(r.arn),
                _ => return Err(AwsError::NotOurs(res)),
            }
        }
        Err(e) => return Err(call_err("CreateRole", &res)(e)),
    };
    put_policy(aws, spec).await?;
    arn.ok_or_else(|| AwsError::Other(format!("{res}: no ARN in the answer")))
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_iam::types::Tag> {
    tags.iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

/// The spec of a role the config names: the service's or a function's own.
fn spec<'d>(d: &'d Desired, name: &str) -> Result<&'d RoleSpec, AwsError> {
    d.role
        .iter()
        .chain(&d.function_roles)
        .chain(&d.scheduler_role)
        .find(|s| s.name == name)
        .ok_or_else(|| {
            AwsError::Other(format!(
                "IAM role {name}: the plan changes a role the config lacks"
            ))
        })
}

async fn put_policy(aws: &Aws, spec: &RoleSpec) -> Result<(), AwsError> {
    let name = &spec.name;
    aws.iam
        .put_role_policy()
        .role_name(name)
        .policy_name(&spec.policy_name)
        .policy_document(spec.policy.to_string())
        .send()
        .await
        .map_err(call_err("PutRolePolicy", &format!("IAM role {name}")))?;
    Ok(())
}
