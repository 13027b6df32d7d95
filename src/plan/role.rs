//! The execution role every function of the service runs as: its desired spec, what AWS holds,
//! its steps and how they are planned. AWS side: `provider::aws::role`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::{Conflict, NOT_OURS, Phase, Plan};

#[derive(Debug, Clone, Serialize)]
pub struct RoleSpec {
    pub name: String,
    /// The inline policy: CloudWatch Logs plus `iam.role.statements`.
    pub policy: Value,
    /// The inline policy's name (Serverless v3: `{service}-{stage}-lambda`).
    pub policy_name: String,
    pub managed_policies: Vec<String>,
    /// `iam.role.path` (default `/`): set at creation; IAM cannot move a role.
    pub path: String,
    /// `iam.role.permissionsBoundary` (or `provider.rolePermissionsBoundary`).
    pub permissions_boundary: Option<String>,
    /// Ownership tags, `provider.tags` and `iam.role.tags`.
    pub tags: BTreeMap<String, String>,
    /// The service that assumes it: Lambda, or EventBridge Scheduler for the scheduler's role.
    pub trust: String,
}

/// Who assumes the functions' roles.
pub const LAMBDA_TRUST: &str = "lambda.amazonaws.com";

#[derive(Debug, Clone)]
pub struct ObservedRole {
    pub name: String,
    pub arn: String,
    pub owned: bool,
    pub path: String,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The name our inline policy has on it, and that policy when it exists.
    pub policy_name: String,
    pub policy: Option<Value>,
    pub managed_policies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum RoleStep {
    CreateRole {
        role: String,
    },
    UpdateRolePolicy {
        role: String,
    },
    AttachRolePolicy {
        role: String,
        policy: String,
    },
    DetachRolePolicy {
        role: String,
        policy: String,
    },
    PutRolePermissionsBoundary {
        role: String,
        boundary: String,
    },
    DeleteRolePermissionsBoundary {
        role: String,
    },
    TagRole {
        role: String,
    },
    /// Detaches the managed policies, deletes the inline one, then the role.
    #[serde(rename_all = "camelCase")]
    DeleteRole {
        role: String,
        detach: Vec<String>,
        inline_policy: Option<String>,
    },
}

impl super::KindStep for RoleStep {
    fn phase(&self) -> Phase {
        match self {
            RoleStep::CreateRole { .. }
            | RoleStep::UpdateRolePolicy { .. }
            | RoleStep::AttachRolePolicy { .. }
            | RoleStep::DetachRolePolicy { .. }
            | RoleStep::PutRolePermissionsBoundary { .. }
            | RoleStep::DeleteRolePermissionsBoundary { .. }
            | RoleStep::TagRole { .. } => Phase::Role,
            RoleStep::DeleteRole { .. } => Phase::DeleteRole,
        }
    }

    /// What a removal reports as gone.
    fn removes(&self) -> Option<String> {
        match self {
            RoleStep::DeleteRole { role, .. } => Some(format!("IAM role {role}")),
            RoleStep::CreateRole { .. }
            | RoleStep::UpdateRolePolicy { .. }
            | RoleStep::AttachRolePolicy { .. }
            | RoleStep::DetachRolePolicy { .. }
            | RoleStep::PutRolePermissionsBoundary { .. }
            | RoleStep::DeleteRolePermissionsBoundary { .. }
            | RoleStep::TagRole { .. } => None,
        }
    }

    fn lane(&self) -> String {
        "role".into()
    }
}

impl fmt::Display for RoleStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleStep::CreateRole { role } => write!(f, "+ role {role}"),
            RoleStep::UpdateRolePolicy { role } => write!(f, "~ role {role}: inline policy"),
            RoleStep::AttachRolePolicy { role, policy } => {
                write!(f, "~ role {role}: attach {policy}")
            }
            RoleStep::DetachRolePolicy { role, policy } => {
                write!(f, "~ role {role}: detach {policy}")
            }
            RoleStep::PutRolePermissionsBoundary { role, boundary } => {
                write!(f, "~ role {role}: permissions boundary {boundary}")
            }
            RoleStep::DeleteRolePermissionsBoundary { role } => {
                write!(f, "~ role {role}: no permissions boundary")
            }
            RoleStep::TagRole { role } => write!(f, "~ role {role}: tags"),
            RoleStep::DeleteRole { role, .. } => write!(f, "- role {role}"),
        }
    }
}

/// Creates or converges the role; with no spec (a removal), deletes the one we own.
pub fn plan(spec: Option<&RoleSpec>, observed: Option<&ObservedRole>, p: &mut Plan) {
    let Some(spec) = spec else {
        match observed {
            Some(r) if r.owned => p.push(delete(r)),
            Some(r) => p.leave_alone(format!("IAM role {}", r.name)),
            None => {}
        }
        return;
    };
    let role = &spec.name;
    let attached: &[String] = match observed {
        None => {
            p.push(RoleStep::CreateRole { role: role.clone() });
            &[]
        }
        Some(r) if !r.owned => {
            p.conflicts.push(Conflict {
                resource: format!("IAM role {role}"),
                reason: NOT_OURS.into(),
            });
            return;
        }
        Some(r) if r.path != spec.path => {
            p.conflicts.push(Conflict {
                resource: format!("IAM role {role}"),
                reason: format!(
                    "has the path {}, the config says {}; IAM cannot move a role: keep the path, or remove the role (`sls remove`) and deploy again",
                    r.path, spec.path
                ),
            });
            return;
        }
        Some(r) => {
            if r.policy.as_ref() != Some(&spec.policy) {
                p.push(RoleStep::UpdateRolePolicy { role: role.clone() });
            }
            match (&spec.permissions_boundary, &r.permissions_boundary) {
                (Some(want), have) if have.as_ref() != Some(want) => {
                    p.push(RoleStep::PutRolePermissionsBoundary {
                        role: role.clone(),
                        boundary: want.clone(),
                    })
                }
                (None, Some(_)) => {
                    p.push(RoleStep::DeleteRolePermissionsBoundary { role: role.clone() })
                }
                _ => {}
            }
            if spec.tags.iter().any(|(k, v)| r.tags.get(k) != Some(v)) {
                p.push(RoleStep::TagRole { role: role.clone() });
            }
            &r.managed_policies
        }
    };
    for m in &spec.managed_policies {
        if !attached.contains(m) {
            p.push(RoleStep::AttachRolePolicy {
                role: role.clone(),
                policy: m.clone(),
            });
        }
    }
    for m in attached {
        if !spec.managed_policies.contains(m) {
            p.push(RoleStep::DetachRolePolicy {
                role: role.clone(),
                policy: m.clone(),
            });
        }
    }
}

/// Roles of ours the service no longer names (see [`super::Observed::former_roles`]): deleted
/// last, once the functions run as the role they name now.
pub fn plan_former(former: &[ObservedRole], p: &mut Plan) {
    for r in former.iter().filter(|r| r.owned) {
        p.push(delete(r));
    }
}

/// Deleting a role of ours: its managed policies detached and its inline policy deleted first.
fn delete(r: &ObservedRole) -> RoleStep {
    RoleStep::DeleteRole {
        role: r.name.clone(),
        detach: r.managed_policies.clone(),
        inline_policy: r.policy.as_ref().map(|_| r.policy_name.clone()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn spec() -> RoleSpec {
        spec_named("svc-dev-eu-west-1-lambdaRole")
    }

    pub fn spec_named(name: &str) -> RoleSpec {
        RoleSpec {
            name: name.into(),
            policy: serde_json::json!({"Statement": []}),
            policy_name: "svc-dev-lambda".into(),
            managed_policies: vec!["arn:aws:iam::aws:policy/A".into()],
            path: "/".into(),
            permissions_boundary: None,
            tags: BTreeMap::from([("sls:service".into(), "svc".into())]),
            trust: LAMBDA_TRUST.into(),
        }
    }

    /// What AWS holds once `spec` is deployed.
    fn converged(s: &RoleSpec) -> ObservedRole {
        ObservedRole {
            name: s.name.clone(),
            arn: format!("arn:aws:iam::123456789012:role/{}", s.name),
            owned: true,
            policy_name: s.policy_name.clone(),
            policy: Some(s.policy.clone()),
            managed_policies: s.managed_policies.clone(),
            path: s.path.clone(),
            permissions_boundary: s.permissions_boundary.clone(),
            tags: s.tags.clone(),
        }
    }

    fn steps(spec: Option<&RoleSpec>, o: Option<&ObservedRole>) -> Plan {
        let mut p = Plan::default();
        plan(spec, o, &mut p);
        p
    }

    #[test]
    fn converged_needs_nothing_and_missing_is_created_with_its_policies() {
        let s = spec();
        assert!(steps(Some(&s), Some(&converged(&s))).is_empty());
        let p = steps(Some(&s), None);
        assert_eq!(p.steps.len(), 2);
        assert_eq!(
            p.steps[0].to_string(),
            "+ role svc-dev-eu-west-1-lambdaRole"
        );
        assert!(
            p.steps[1]
                .to_string()
                .contains("attach arn:aws:iam::aws:policy/A")
        );
    }

    #[test]
    fn a_changed_policy_is_put_and_managed_policies_follow_the_config() {
        let mut s = spec();
        let o = converged(&s);
        s.policy = serde_json::json!({"Statement": [{"Effect": "Allow"}]});
        s.managed_policies = vec!["arn:aws:iam::aws:policy/B".into()];
        let shown: Vec<String> = steps(Some(&s), Some(&o))
            .steps
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shown,
            [
                "~ role svc-dev-eu-west-1-lambdaRole: inline policy",
                "~ role svc-dev-eu-west-1-lambdaRole: attach arn:aws:iam::aws:policy/B",
                "~ role svc-dev-eu-west-1-lambdaRole: detach arn:aws:iam::aws:policy/A",
            ]
        );
    }

    #[test]
    fn boundary_and_tags_follow_the_config_and_a_new_path_is_refused() {
        let mut s = spec();
        let o = converged(&s);
        s.permissions_boundary = Some("arn:aws:iam::1:policy/boundary".into());
        s.tags.insert("team".into(), "a".into());
        let shown: Vec<String> = steps(Some(&s), Some(&o))
            .steps
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shown,
            [
                "~ role svc-dev-eu-west-1-lambdaRole: permissions boundary arn:aws:iam::1:policy/boundary",
                "~ role svc-dev-eu-west-1-lambdaRole: tags",
            ]
        );
        let mut o = converged(&s);
        s.permissions_boundary = None;
        assert_eq!(steps(Some(&s), Some(&o)).steps.len(), 1);
        o.path = "/team/".into();
        let p = steps(Some(&s), Some(&o));
        assert!(p.is_empty() && p.conflicts[0].reason.contains("cannot move"));
    }

    #[test]
    fn removal_deletes_ours_and_leaves_a_look_alike_alone() {
        let s = spec();
        let p = steps(None, Some(&converged(&s)));
        assert!(matches!(
            &p.steps[..],
            [super::super::Step::Role(RoleStep::DeleteRole { detach, inline_policy: Some(_), .. })] if detach.len() == 1
        ));
        let mut theirs = converged(&s);
        theirs.owned = false;
        let p = steps(None, Some(&theirs));
        assert!(p.is_empty());
        assert_eq!(p.left_alone, ["IAM role svc-dev-eu-west-1-lambdaRole"]);
        let p = steps(Some(&s), Some(&theirs));
        assert!(p.is_empty() && p.conflicts.len() == 1);
    }
}
