//! The execution role every function of the service runs as: its desired spec, what AWS holds,
//! its steps and how they are planned. AWS side: `provider::aws::role`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

use super::event_source::MappingSpec;
use super::function::tracing_mode;
use super::log_group::{lambda_logs, name_of as log_group_of};
use super::naming::{function_name, function_role_name, role_name, vpc_access_policy};
use super::{Conflict, NOT_OURS, Phase, Plan};
use crate::config::Config;
use crate::config::model::{Function, Statement};
use crate::config::validate::arn_service;

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

/// The functions of the config, by key.
type Members<'a> = Vec<(&'a String, &'a Function)>;

/// A role's inline policy, as Serverless v3 writes it for the functions that run as it
/// (`members`): CloudWatch Logs on each one's group, then the user's `statements`, then what
/// the members' settings need (X-Ray, where asynchronous results go).
fn role_policy(
    config: &Config,
    stage: &str,
    region: &str,
    members: &Members<'_>,
    user: &[&Statement],
    mappings: &[MappingSpec],
    websockets: bool,
) -> Value {
    let prefix = format!("{}-{stage}", config.service);
    let (partition, _) = super::partition(region);
    // The groups they write to: Lambda's own per function, or the user's `logs.logGroup`.
    let mut names: Vec<String> = Vec::new();
    for (key, f) in members {
        if f.disable_logs == Some(true) {
            continue;
        }
        let g = lambda_logs(config, f).log_group.unwrap_or_else(|| {
            log_group_of(
                &f.name
                    .clone()
                    .unwrap_or_else(|| function_name(&config.service, stage, key)),
            )
        });
        if !names.contains(&g) {
            names.push(g);
        }
    }
    let groups: Vec<String> = names
        .iter()
        .map(|g| format!("arn:{partition}:logs:{region}:*:log-group:{g}:*"))
        .collect();
    let mut statements = Vec::new();
    if !groups.is_empty() {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:TagResource", "logs:PutLogEvents"],
            "Resource": groups
        }));
    }
    statements.extend(user.iter().map(|s| statement(s)));
    statements.extend(super::event_source::statements(
        mappings
            .iter()
            .filter(|m| members.iter().any(|(key, _)| **key == m.function)),
    ));
    // Handlers of any function may answer WebSocket clients through the `@connections` API, as
    // Serverless v3 allows whenever the service has websocket routes.
    if websockets && !members.is_empty() {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["execute-api:ManageConnections"],
            "Resource": [format!("arn:{partition}:execute-api:*:*:*/@connections/*")]
        }));
    }
    if members
        .iter()
        .any(|(_, f)| tracing_mode(config, f) == "Active")
    {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": ["*"]
        }));
    }
    // Where failed (and succeeded) asynchronous events go: the role must be allowed to send
    // there, as Serverless v3 grants it.
    let mut targets: Vec<&str> = Vec::new();
    for (_, f) in members {
        targets.extend(f.on_error.as_deref());
        if let Some(d) = &f.destinations {
            targets.extend(d.on_success.as_deref());
            targets.extend(d.on_failure.as_deref());
        }
    }
    targets.sort_unstable();
    targets.dedup();
    let mut to_own_functions = false;
    for arn in targets {
        let action = match arn_service(arn) {
            Some("sns") => "sns:Publish",
            Some("sqs") => "sqs:SendMessage",
            Some("lambda") => "lambda:InvokeFunction",
            Some("events") => "events:PutEvents",
            // A function of this service, named by its key.
            _ => {
                to_own_functions = true;
                continue;
            }
        };
        statements.push(json!({ "Effect": "Allow", "Action": [action], "Resource": [arn] }));
    }
    if to_own_functions {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [format!("arn:{partition}:lambda:{region}:*:function:{prefix}-*")]
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

fn statement(s: &Statement) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(sid) = &s.sid {
        m.insert("Sid".into(), json!(sid));
    }
    m.insert("Effect".into(), json!(format!("{:?}", s.effect)));
    for (k, v) in [
        ("Action", &s.action),
        ("NotAction", &s.not_action),
        ("Resource", &s.resource),
        ("NotResource", &s.not_resource),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    if let Some(c) = &s.condition {
        m.insert("Condition".into(), c.clone());
    }
    Value::Object(m)
}

/// The roles the config asks for: the service's, the one it names instead, and those of the
/// functions with their own statements.
#[derive(Debug, Clone)]
pub struct Roles {
    /// The role sls keeps for the service (wanted unless no function runs as it).
    pub service: RoleSpec,
    /// `iam.role` (or `provider.role`) as an existing role's ARN: none is created.
    pub existing: Option<String>,
    /// Functions with roles of their own (serverless-iam-roles-per-function), by key.
    pub own: BTreeMap<String, RoleSpec>,
}

/// The service's role, as Serverless v3 writes it (`tags` are the service's), and the roles of
/// the functions that ask for their own; `mappings` are the service's event sources, whose
/// reads each role grants for its functions.
pub(super) fn desired(
    config: &Config,
    stage: &str,
    region: &str,
    tags: &BTreeMap<String, String>,
    mappings: &[MappingSpec],
    websockets: bool,
) -> Roles {
    let service = config.service.as_str();
    let p = &config.provider;
    let mut managed_policies = p
        .iam
        .as_ref()
        .and_then(|i| i.role.as_ref())
        .and_then(|r| r.managed_policies.clone())
        .or_else(|| p.iam_managed_policies.clone())
        .unwrap_or_default();
    let in_vpc = p.vpc.is_some()
        || config
            .functions
            .iter()
            .flatten()
            .any(|(_, f)| f.vpc.is_some());
    let vpc_policy = vpc_access_policy(region);
    if in_vpc && !managed_policies.contains(&vpc_policy) {
        managed_policies.push(vpc_policy);
    }
    let iam_role = p.iam.as_ref().and_then(|i| i.role.as_ref());
    // An existing role (`iam.role: arn:…`, or the older `provider.role`): none is created.
    let existing_role = iam_role
        .and_then(|r| r.arn.clone())
        .or_else(|| p.role.clone());
    let mut role_tags = tags.clone();
    role_tags.extend(
        iam_role
            .and_then(|r| r.tags.as_ref())
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone())),
    );
    let provider_statements: Vec<&Statement> = iam_role
        .and_then(|r| r.statements.as_ref())
        .or(p.iam_role_statements.as_ref())
        .into_iter()
        .flatten()
        .collect();
    let all: Members<'_> = config.functions.iter().flatten().collect();
    let (with_own, shared): (Members<'_>, Members<'_>) =
        all.iter().partition(|(_, f)| f.asks_own_role());
    let role = RoleSpec {
        name: iam_role
            .and_then(|r| r.name.clone())
            .unwrap_or_else(|| role_name(service, stage, region)),
        policy: role_policy(
            config,
            stage,
            region,
            &shared,
            &provider_statements,
            mappings,
            websockets,
        ),
        policy_name: format!("{service}-{stage}-lambda"),
        managed_policies,
        path: iam_role
            .and_then(|r| r.path.clone())
            .unwrap_or_else(|| "/".into()),
        permissions_boundary: iam_role
            .and_then(|r| r.permissions_boundary.clone())
            .or_else(|| p.role_permissions_boundary.clone()),
        tags: role_tags,
        trust: LAMBDA_TRUST.into(),
    };
    // Roles of their own (serverless-iam-roles-per-function): the service role as a template
    // (path, boundary, tags, managed policies) with only this function's logs and statements.
    let inherit_default = config
        .custom
        .as_ref()
        .and_then(|c| c.get("serverless-iam-roles-per-function"))
        .and_then(|c| c.get("defaultInherit"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut function_roles: BTreeMap<String, RoleSpec> = BTreeMap::new();
    for (key, f) in &with_own {
        let iam = f.iam.as_ref().and_then(|i| i.role.as_ref());
        let mut user: Vec<&Statement> = Vec::new();
        if f.iam_role_statements_inherit.unwrap_or(inherit_default) {
            user.extend(provider_statements.iter().copied());
        }
        user.extend(f.iam_role_statements.iter().flatten());
        user.extend(
            iam.and_then(|r| r.statements.as_ref())
                .into_iter()
                .flatten(),
        );
        let mut managed = role.managed_policies.clone();
        managed.retain(|m| *m != vpc_access_policy(region) || f.vpc.is_some() || p.vpc.is_some());
        for m in iam
            .and_then(|r| r.managed_policies.as_ref())
            .into_iter()
            .flatten()
        {
            if !managed.contains(m) {
                managed.push(m.clone());
            }
        }
        let name = f
            .iam_role_statements_name
            .clone()
            .or_else(|| iam.and_then(|r| r.name.clone()))
            .unwrap_or_else(|| function_role_name(service, stage, key, region));
        function_roles.insert(
            (*key).clone(),
            RoleSpec {
                name,
                policy: role_policy(
                    config,
                    stage,
                    region,
                    &vec![(*key, *f)],
                    &user,
                    mappings,
                    websockets,
                ),
                policy_name: role.policy_name.clone(),
                managed_policies: managed,
                path: role.path.clone(),
                permissions_boundary: role.permissions_boundary.clone(),
                tags: role.tags.clone(),
                trust: LAMBDA_TRUST.into(),
            },
        );
    }
    Roles {
        service: role,
        existing: existing_role,
        own: function_roles,
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
