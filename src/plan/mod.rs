//! The plan: desired state (config + artifacts) against observed state (read from AWS) →
//! ordered steps, each with the reason and the field-level changes. Pure data: nothing here
//! calls AWS, so every decision is unit-tested and `deploy --dry-run` prints exactly what
//! `deploy` would do.

pub mod desired;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

pub use desired::{Desired, FunctionConfig, FunctionSpec};

/// What exists in AWS for this service and stage.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub role: Option<ObservedRole>,
    /// Keyed by Lambda function name: the desired functions that exist, and every other
    /// function tagged for this service and stage.
    pub functions: BTreeMap<String, ObservedFunction>,
    pub http_api: Option<ObservedApi>,
}

#[derive(Debug, Clone)]
pub struct ObservedRole {
    pub arn: String,
    pub owned: bool,
    pub policy: Option<Value>,
    pub managed_policies: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ObservedFunction {
    pub arn: String,
    pub owned: bool,
    pub sha256: String,
    pub config: FunctionConfig,
    pub role: String,
    pub tags: BTreeMap<String, String>,
    /// The version the alias points at, with its code and configuration.
    pub alias: Option<ObservedVersion>,
    /// Statement ids in the alias' resource policy, with their source ARN.
    pub permissions: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct ObservedVersion {
    pub version: String,
    pub sha256: String,
    pub config: FunctionConfig,
}

#[derive(Debug, Clone)]
pub struct ObservedApi {
    pub id: String,
    pub endpoint: String,
    pub owned: bool,
    /// Route key → (route id, integration id it targets).
    pub routes: BTreeMap<String, (String, Option<String>)>,
    /// Integration id → its target (an alias ARN).
    pub integrations: BTreeMap<String, String>,
    pub has_default_stage: bool,
}

/// One field that changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Step {
    CreateRole {
        name: String,
    },
    UpdateRolePolicy {
        name: String,
    },
    AttachRolePolicy {
        name: String,
        policy: String,
    },
    DetachRolePolicy {
        name: String,
        policy: String,
    },
    CreateFunction {
        function: String,
        name: String,
    },
    UpdateFunctionCode {
        function: String,
        name: String,
        change: Change,
    },
    UpdateFunctionConfiguration {
        function: String,
        name: String,
        changes: Vec<Change>,
    },
    TagFunction {
        function: String,
        name: String,
    },
    PublishVersion {
        function: String,
        name: String,
        alias: String,
    },
    DeleteFunction {
        name: String,
    },
    CreateHttpApi {
        name: String,
    },
    CreateHttpStage {
        api: String,
    },
    CreateIntegration {
        function: String,
    },
    CreateRoute {
        route: String,
        function: String,
    },
    UpdateRoute {
        route: String,
        function: String,
    },
    DeleteRoute {
        route: String,
    },
    AddPermission {
        function: String,
        name: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::CreateRole { name } => write!(f, "+ role {name}"),
            Step::UpdateRolePolicy { name } => write!(f, "~ role {name}: inline policy"),
            Step::AttachRolePolicy { name, policy } => write!(f, "~ role {name}: attach {policy}"),
            Step::DetachRolePolicy { name, policy } => write!(f, "~ role {name}: detach {policy}"),
            Step::CreateFunction { name, .. } => write!(f, "+ function {name}"),
            Step::UpdateFunctionCode { name, change, .. } => {
                write!(
                    f,
                    "~ function {name}: code {} → {}",
                    short(&change.from),
                    short(&change.to)
                )
            }
            Step::UpdateFunctionConfiguration { name, changes, .. } => {
                write!(f, "~ function {name}: ")?;
                let parts: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{} {} → {}", c.field, c.from, c.to))
                    .collect();
                write!(f, "{}", parts.join(", "))
            }
            Step::TagFunction { name, .. } => write!(f, "~ function {name}: tags"),
            Step::PublishVersion { name, alias, .. } => {
                write!(f, "+ version of {name}, alias {alias} moved to it")
            }
            Step::DeleteFunction { name } => {
                write!(f, "- function {name} (no longer in the config)")
            }
            Step::CreateHttpApi { name } => write!(f, "+ HTTP API {name}"),
            Step::CreateHttpStage { api } => write!(f, "+ HTTP API {api}: stage $default"),
            Step::CreateIntegration { function } => write!(f, "+ integration → {function}"),
            Step::CreateRoute { route, function } => write!(f, "+ route {route} → {function}"),
            Step::UpdateRoute { route, function } => write!(f, "~ route {route} → {function}"),
            Step::DeleteRoute { route } => write!(f, "- route {route}"),
            Step::AddPermission { name, .. } => {
                write!(f, "+ permission: API Gateway may invoke {name}")
            }
        }
    }
}

fn short(sha: &str) -> &str {
    if sha.is_empty() {
        "(none)"
    } else {
        &sha[..sha.len().min(12)]
    }
}

/// A resource with our name that we do not own: never changed, reported instead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub resource: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub conflicts: Vec<Conflict>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

const NOT_OURS: &str = "exists without the sls:service/sls:stage tags of this service";

/// The statement id of the permission that lets the HTTP API invoke a function's alias.
pub const HTTP_API_PERMISSION: &str = "sls-httpapi";

/// Compares and orders: role, functions (code, configuration, tags, version and alias), the
/// HTTP API (API, integrations, routes, stage), permissions, then deletions.
pub fn plan(d: &Desired, o: &Observed) -> Plan {
    let mut p = Plan::default();
    let role_name = &d.role.name;
    let attached: &[String] = match &o.role {
        None => {
            p.steps.push(Step::CreateRole {
                name: role_name.clone(),
            });
            &[]
        }
        Some(r) if !r.owned => {
            p.conflicts.push(Conflict {
                resource: format!("IAM role {role_name}"),
                reason: NOT_OURS.into(),
            });
            &[]
        }
        Some(r) => {
            if r.policy.as_ref() != Some(&d.role.policy) {
                p.steps.push(Step::UpdateRolePolicy {
                    name: role_name.clone(),
                });
            }
            &r.managed_policies
        }
    };
    if o.role.as_ref().is_none_or(|r| r.owned) {
        for m in &d.role.managed_policies {
            if !attached.contains(m) {
                p.steps.push(Step::AttachRolePolicy {
                    name: role_name.clone(),
                    policy: m.clone(),
                });
            }
        }
        for m in attached {
            if !d.role.managed_policies.contains(m) {
                p.steps.push(Step::DetachRolePolicy {
                    name: role_name.clone(),
                    policy: m.clone(),
                });
            }
        }
    }

    let routed: BTreeSet<&String> = d.http_api.iter().flat_map(|a| a.routes.values()).collect();
    let api_new = d.http_api.is_some() && o.http_api.as_ref().is_none_or(|a| !a.owned);
    for f in &d.functions {
        let key = f.key.clone();
        let name = f.name.clone();
        let Some(of) = o.functions.get(&f.name) else {
            p.steps.push(Step::CreateFunction {
                function: key.clone(),
                name: name.clone(),
            });
            p.steps.push(Step::PublishVersion {
                function: key.clone(),
                name: name.clone(),
                alias: d.alias.clone(),
            });
            if routed.contains(&f.key) {
                p.steps.push(Step::AddPermission {
                    function: key,
                    name,
                });
            }
            continue;
        };
        if !of.owned {
            p.conflicts.push(Conflict {
                resource: format!("Lambda function {name}"),
                reason: NOT_OURS.into(),
            });
            continue;
        }
        if of.sha256 != f.sha256 {
            p.steps.push(Step::UpdateFunctionCode {
                function: key.clone(),
                name: name.clone(),
                change: Change {
                    field: "code".into(),
                    from: of.sha256.clone(),
                    to: f.sha256.clone(),
                },
            });
        }
        let changes = config_changes(&of.config, &f.config);
        if !changes.is_empty() {
            p.steps.push(Step::UpdateFunctionConfiguration {
                function: key.clone(),
                name: name.clone(),
                changes,
            });
        }
        if f.tags.iter().any(|(k, v)| of.tags.get(k) != Some(v)) {
            p.steps.push(Step::TagFunction {
                function: key.clone(),
                name: name.clone(),
            });
        }
        // The alias' version, not $LATEST, is what runs: a deploy interrupted after updating
        // $LATEST still publishes and moves the alias when re-run.
        let current = of
            .alias
            .as_ref()
            .is_some_and(|v| v.sha256 == f.sha256 && v.config == f.config);
        if !current {
            p.steps.push(Step::PublishVersion {
                function: key.clone(),
                name: name.clone(),
                alias: d.alias.clone(),
            });
        }
        // Missing, or naming another API (one replaced since): grant it again.
        let api_id = o.http_api.as_ref().map_or("", |a| a.id.as_str());
        let granted = !api_new
            && of
                .permissions
                .get(HTTP_API_PERMISSION)
                .is_some_and(|source| source.contains(&format!(":{api_id}/")));
        if routed.contains(&f.key) && !granted {
            p.steps.push(Step::AddPermission {
                function: key,
                name,
            });
        }
    }

    if let Some(api) = &d.http_api {
        let observed = o.http_api.as_ref().filter(|a| a.owned);
        if let Some(a) = o.http_api.as_ref().filter(|a| !a.owned) {
            p.conflicts.push(Conflict {
                resource: format!("HTTP API {} ({})", api.name, a.id),
                reason: NOT_OURS.into(),
            });
        }
        if observed.is_none() {
            p.steps.push(Step::CreateHttpApi {
                name: api.name.clone(),
            });
        }
        let wanted_fns: BTreeSet<&String> = api.routes.values().collect();
        for fk in &wanted_fns {
            let target = alias_arn_suffix(d, fk);
            let has =
                observed.is_some_and(|a| a.integrations.values().any(|u| u.ends_with(&target)));
            if !has {
                p.steps.push(Step::CreateIntegration {
                    function: (*fk).clone(),
                });
            }
        }
        for (route, fk) in &api.routes {
            let target = alias_arn_suffix(d, fk);
            match observed.and_then(|a| a.routes.get(route).map(|r| (a, r))) {
                None => p.steps.push(Step::CreateRoute {
                    route: route.clone(),
                    function: fk.clone(),
                }),
                Some((a, (_, integ))) => {
                    let points = integ
                        .as_ref()
                        .and_then(|i| a.integrations.get(i))
                        .is_some_and(|u| u.ends_with(&target));
                    if !points {
                        p.steps.push(Step::UpdateRoute {
                            route: route.clone(),
                            function: fk.clone(),
                        });
                    }
                }
            }
        }
        if let Some(a) = observed {
            for route in a.routes.keys() {
                if !api.routes.contains_key(route) {
                    p.steps.push(Step::DeleteRoute {
                        route: route.clone(),
                    });
                }
            }
        }
        if !observed.is_some_and(|a| a.has_default_stage) {
            p.steps.push(Step::CreateHttpStage {
                api: api.name.clone(),
            });
        }
    }

    let wanted: BTreeSet<&str> = d.functions.iter().map(|f| f.name.as_str()).collect();
    for (name, of) in &o.functions {
        if of.owned && !wanted.contains(name.as_str()) {
            p.steps.push(Step::DeleteFunction { name: name.clone() });
        }
    }
    // Permissions come after the API exists: they name its id.
    let (perms, rest): (Vec<Step>, Vec<Step>) = p
        .steps
        .into_iter()
        .partition(|s| matches!(s, Step::AddPermission { .. }));
    let (deletes, mut rest): (Vec<Step>, Vec<Step>) = rest
        .into_iter()
        .partition(|s| matches!(s, Step::DeleteFunction { .. }));
    rest.extend(perms);
    rest.extend(deletes);
    p.steps = rest;
    p
}

/// `METHOD - URL` lines, as Serverless v3 prints endpoints, for the route keys of an HTTP API.
pub fn endpoints<'a>(routes: impl Iterator<Item = &'a String>, base: &str) -> Vec<String> {
    routes
        .map(|r| match r.split_once(' ') {
            Some((m, p)) => format!("{m} - {base}{p}"),
            None => format!("ANY - {base}"),
        })
        .collect()
}

/// `function:{name}:{alias}`: how an integration URI or permission names a function's alias.
pub fn alias_arn_suffix(d: &Desired, key: &str) -> String {
    let name = d
        .functions
        .iter()
        .find(|f| f.key == key)
        .map_or(key, |f| f.name.as_str());
    format!("function:{name}:{}", d.alias)
}

fn config_changes(have: &FunctionConfig, want: &FunctionConfig) -> Vec<Change> {
    let mut out = Vec::new();
    let mut cmp = |field: &str, a: String, b: String| {
        if a != b {
            out.push(Change {
                field: field.into(),
                from: a,
                to: b,
            });
        }
    };
    cmp("runtime", have.runtime.clone(), want.runtime.clone());
    cmp("handler", have.handler.clone(), want.handler.clone());
    cmp(
        "memorySize",
        have.memory_size.to_string(),
        want.memory_size.to_string(),
    );
    cmp(
        "timeout",
        have.timeout.to_string(),
        want.timeout.to_string(),
    );
    cmp(
        "architecture",
        have.architecture.clone(),
        want.architecture.clone(),
    );
    cmp(
        "ephemeralStorageSize",
        have.ephemeral_storage.to_string(),
        want.ephemeral_storage.to_string(),
    );
    cmp(
        "description",
        have.description.clone(),
        want.description.clone(),
    );
    if have.environment != want.environment {
        // Names only: values may be secrets.
        let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>().join(",");
        let changed: Vec<&String> = want
            .environment
            .iter()
            .filter(|(k, v)| have.environment.get(*k) != Some(v))
            .map(|(k, _)| k)
            .chain(
                have.environment
                    .keys()
                    .filter(|k| !want.environment.contains_key(*k)),
            )
            .collect();
        out.push(Change {
            field: "environment".into(),
            from: names(&have.environment),
            to: format!(
                "{} (changed: {})",
                names(&want.environment),
                changed
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        });
    }
    out
}
