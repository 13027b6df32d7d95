//! The plan: desired state (config + artifacts) against observed state (read from AWS) →
//! ordered steps, each with the reason and the field-level changes. Pure data: nothing here
//! calls AWS, so every decision is unit-tested and `deploy --dry-run` prints exactly what
//! `deploy` would do.

pub mod desired;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

pub use desired::{Desired, FunctionConfig, FunctionSpec, split_route};

/// What exists in AWS for this service and stage.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub role: Option<ObservedRole>,
    /// Keyed by Lambda function name: the desired functions that exist, and every other
    /// function tagged for this service and stage.
    pub functions: BTreeMap<String, ObservedFunction>,
    pub http_api: Option<ObservedApi>,
    pub rest_api: Option<ObservedRestApi>,
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
    pub reserved_concurrency: Option<i32>,
    /// The alias' function URL, read only when deploying to an alias other than the live one.
    pub url: Option<String>,
    /// Published versions and what points at them, read only with `versionRetention`.
    pub versions: Option<ObservedVersions>,
}

/// A function's published versions and the versions each alias routes to.
#[derive(Debug, Clone, Default)]
pub struct ObservedVersions {
    pub published: Vec<String>,
    /// Alias → its version and any weighted extra versions.
    pub by_alias: BTreeMap<String, BTreeSet<String>>,
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

#[derive(Debug, Clone)]
pub struct ObservedRestApi {
    pub id: String,
    pub owned: bool,
    /// Resource path (`/` for the root) → its id and methods.
    pub resources: BTreeMap<String, ObservedResource>,
    /// The description of the deployment the stage serves; `None` when there is no stage.
    pub deployed: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ObservedResource {
    pub id: String,
    /// HTTP method → what it runs: a Lambda integration URI, or [`cors_signature`] of a
    /// CORS mock.
    pub methods: BTreeMap<String, String>,
}

/// Which API a permission lets invoke a function's alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ApiKind {
    HttpApi,
    RestApi,
}

impl ApiKind {
    /// The permission's statement id: fixed, so granting again replaces rather than adds.
    pub fn statement_id(self) -> &'static str {
        match self {
            ApiKind::HttpApi => "sls-httpapi",
            ApiKind::RestApi => "sls-restapi",
        }
    }

    fn label(self) -> &'static str {
        match self {
            ApiKind::HttpApi => "HTTP API",
            ApiKind::RestApi => "REST API",
        }
    }
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
    PrepareDeploymentBucket {
        /// The user's bucket, or `None` for the one sls keeps for this service and stage.
        bucket: Option<String>,
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
    SetReservedConcurrency {
        function: String,
        name: String,
        change: Change,
    },
    DeleteHttpApi {
        name: String,
    },
    CreateRestApi {
        name: String,
    },
    CreateRestResource {
        path: String,
    },
    PutRestMethod {
        route: String,
        function: String,
    },
    PutRestCors {
        path: String,
    },
    DeleteRestMethod {
        route: String,
    },
    DeleteRestResource {
        path: String,
    },
    DeployRestApi {
        name: String,
        stage: String,
    },
    DeleteRestApi {
        name: String,
    },
    AddPermission {
        function: String,
        name: String,
        api: ApiKind,
    },
    CreateFunctionUrl {
        function: String,
        name: String,
        alias: String,
    },
    DeleteVersion {
        function: String,
        name: String,
        version: String,
    },
    RemovePermission {
        function: String,
        name: String,
        api: ApiKind,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::CreateRole { name } => write!(f, "+ role {name}"),
            Step::UpdateRolePolicy { name } => write!(f, "~ role {name}: inline policy"),
            Step::AttachRolePolicy { name, policy } => write!(f, "~ role {name}: attach {policy}"),
            Step::DetachRolePolicy { name, policy } => write!(f, "~ role {name}: detach {policy}"),
            Step::PrepareDeploymentBucket { bucket } => match bucket {
                Some(b) => write!(
                    f,
                    "~ deployment bucket {b}: artifacts over 50 MB go through it"
                ),
                None => write!(
                    f,
                    "+ deployment bucket (artifacts over 50 MB go through S3)"
                ),
            },
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
            Step::SetReservedConcurrency { name, change, .. } => {
                write!(
                    f,
                    "~ function {name}: reservedConcurrency {} → {}",
                    change.from, change.to
                )
            }
            Step::DeleteHttpApi { name } => {
                write!(f, "- HTTP API {name} (no httpApi events left)")
            }
            Step::CreateRestApi { name } => write!(f, "+ REST API {name}"),
            Step::CreateRestResource { path } => write!(f, "+ REST resource {path}"),
            Step::PutRestMethod { route, function } => {
                write!(f, "+ REST method {route} → {function}")
            }
            Step::PutRestCors { path } => write!(f, "+ REST method OPTIONS {path} (CORS)"),
            Step::DeleteRestMethod { route } => write!(f, "- REST method {route}"),
            Step::DeleteRestResource { path } => write!(f, "- REST resource {path}"),
            Step::DeployRestApi { name, stage } => {
                write!(f, "+ REST API {name}: deployment to stage {stage}")
            }
            Step::DeleteRestApi { name } => write!(f, "- REST API {name} (no http events left)"),
            Step::AddPermission { name, api, .. } => {
                write!(f, "+ permission: {} may invoke {name}", api.label())
            }
            Step::RemovePermission { name, api, .. } => {
                write!(f, "- permission: {} may invoke {name}", api.label())
            }
            Step::CreateFunctionUrl { name, alias, .. } => {
                write!(f, "+ function URL for {name}:{alias} (public, no auth)")
            }
            Step::DeleteVersion { name, version, .. } => {
                write!(f, "- version {version} of {name} (beyond versionRetention)")
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

/// The largest zip Lambda accepts in the API call itself; larger ones go through S3.
pub const INLINE_UPLOAD_LIMIT: u64 = 52_428_800;

impl Step {
    /// Steps on the execution role, which everything else waits for.
    pub fn is_role_step(&self) -> bool {
        matches!(
            self,
            Step::CreateRole { .. }
                | Step::UpdateRolePolicy { .. }
                | Step::AttachRolePolicy { .. }
                | Step::DetachRolePolicy { .. }
        )
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// The statement id of the permission that opens an alias' function URL to everyone.
pub const URL_STATEMENT: &str = "sls-url";

const NOT_OURS: &str = "exists without the sls:service/sls:stage tags of this service";

/// Compares and orders: role, functions (code, configuration, tags, version and alias), the
/// HTTP API (API, integrations, routes, stage), the REST API (API, resources, methods,
/// deployment), permissions, then deletions.
pub fn plan(d: &Desired, o: &Observed) -> Plan {
    let mut p = Plan::default();
    plan_role(d, o, &mut p);
    plan_functions(d, o, &mut p);
    // Uploads too large for the API call itself go through S3: have the bucket first.
    let via_s3 = p.steps.iter().any(|s| match s {
        Step::CreateFunction { function, .. } | Step::UpdateFunctionCode { function, .. } => d
            .functions
            .iter()
            .any(|f| &f.key == function && f.size > INLINE_UPLOAD_LIMIT),
        _ => false,
    });
    if via_s3 {
        let at = p.steps.iter().take_while(|s| s.is_role_step()).count();
        p.steps.insert(
            at,
            Step::PrepareDeploymentBucket {
                bucket: d.deployment_bucket.clone(),
            },
        );
    }
    // A deploy to another alias ships code and configuration only: the APIs route to the live
    // alias, and a function left out of the config stays until a live deploy removes it.
    if d.alias != d.live {
        return p;
    }
    plan_http_api(d, o, &mut p);
    plan_rest_api(d, o, &mut p);
    let wanted: BTreeSet<&str> = d.functions.iter().map(|f| f.name.as_str()).collect();
    for (name, of) in &o.functions {
        if of.owned && !wanted.contains(name.as_str()) {
            p.steps.push(Step::DeleteFunction { name: name.clone() });
        }
    }
    // Permissions come after the APIs exist (they name their ids); deletions come last, so
    // nothing still routed to a function disappears before its route.
    let rank = |s: &Step| match s {
        Step::AddPermission { .. } | Step::RemovePermission { .. } => 1,
        Step::DeleteHttpApi { .. } | Step::DeleteRestApi { .. } => 2,
        Step::DeleteFunction { .. } => 3,
        _ => 0,
    };
    p.steps.sort_by_key(rank);
    p
}

fn plan_role(d: &Desired, o: &Observed, p: &mut Plan) {
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
            return;
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

/// For each API kind: the function keys it routes to, and the id of the API we own (`None`
/// when it will be created, so every permission is granted afresh).
fn routed<'a>(d: &'a Desired, o: &Observed) -> [(ApiKind, BTreeSet<&'a str>, Option<String>); 2] {
    let http: BTreeSet<&str> = d
        .http_api
        .iter()
        .flat_map(|a| a.routes.values().map(String::as_str))
        .collect();
    let rest: BTreeSet<&str> = d
        .rest_api
        .iter()
        .flat_map(|a| a.routes.values().map(String::as_str))
        .collect();
    [
        (
            ApiKind::HttpApi,
            http,
            o.http_api
                .as_ref()
                .filter(|a| a.owned)
                .map(|a| a.id.clone()),
        ),
        (
            ApiKind::RestApi,
            rest,
            o.rest_api
                .as_ref()
                .filter(|a| a.owned)
                .map(|a| a.id.clone()),
        ),
    ]
}

fn plan_functions(d: &Desired, o: &Observed, p: &mut Plan) {
    let routed = routed(d, o);
    for f in &d.functions {
        let key = f.key.clone();
        let name = f.name.clone();
        let of = o.functions.get(&f.name);
        if of.is_some_and(|of| !of.owned) {
            p.conflicts.push(Conflict {
                resource: format!("Lambda function {name}"),
                reason: NOT_OURS.into(),
            });
            continue;
        }
        match of {
            None => p.steps.push(Step::CreateFunction {
                function: key.clone(),
                name: name.clone(),
            }),
            Some(of) => {
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
            }
        }
        let reserved = of.and_then(|of| of.reserved_concurrency);
        if reserved != f.reserved_concurrency {
            let show = |c: Option<i32>| c.map_or_else(|| "none".to_string(), |c| c.to_string());
            p.steps.push(Step::SetReservedConcurrency {
                function: key.clone(),
                name: name.clone(),
                change: Change {
                    field: "reservedConcurrency".into(),
                    from: show(reserved),
                    to: show(f.reserved_concurrency),
                },
            });
        }
        // The alias' version, not $LATEST, is what runs: a deploy interrupted after updating
        // $LATEST still publishes and moves the alias when re-run.
        let current = of
            .and_then(|of| of.alias.as_ref())
            .is_some_and(|v| v.sha256 == f.sha256 && v.config == f.config);
        if !current {
            p.steps.push(Step::PublishVersion {
                function: key.clone(),
                name: name.clone(),
                alias: d.alias.clone(),
            });
        }
        if let Some(keep) = d.version_retention {
            for version in prunable(d, of, !current, keep) {
                p.steps.push(Step::DeleteVersion {
                    function: key.clone(),
                    name: name.clone(),
                    version,
                });
            }
        }
        if d.alias != d.live {
            let open =
                of.is_some_and(|of| of.url.is_some() && of.permissions.contains_key(URL_STATEMENT));
            if !open {
                p.steps.push(Step::CreateFunctionUrl {
                    function: key.clone(),
                    name: name.clone(),
                    alias: d.alias.clone(),
                });
            }
            continue;
        }
        for (api, keys, api_id) in &routed {
            let granted = of.and_then(|of| of.permissions.get(api.statement_id()));
            // Missing, or naming another API (one replaced since): grant it again.
            let current = granted.is_some_and(|source| {
                api_id
                    .as_ref()
                    .is_some_and(|id| source.contains(&format!(":{id}/")))
            });
            if keys.contains(f.key.as_str()) && !current {
                p.steps.push(Step::AddPermission {
                    function: key.clone(),
                    name: name.clone(),
                    api: *api,
                });
            } else if !keys.contains(f.key.as_str()) && granted.is_some() {
                p.steps.push(Step::RemovePermission {
                    function: key.clone(),
                    name: name.clone(),
                    api: *api,
                });
            }
        }
    }
}

/// The versions no alias will point at once this deploy has run, oldest first, beyond the
/// newest `keep` of them. Publishing moves `d.alias` to a new version, freeing its old one.
fn prunable(
    d: &Desired,
    of: Option<&ObservedFunction>,
    publishing: bool,
    keep: u32,
) -> Vec<String> {
    let Some(v) = of.and_then(|of| of.versions.as_ref()) else {
        return Vec::new();
    };
    let held: BTreeSet<&String> = v
        .by_alias
        .iter()
        .filter(|(alias, _)| !(publishing && **alias == d.alias))
        .flat_map(|(_, versions)| versions)
        .collect();
    let mut free: Vec<&String> = v.published.iter().filter(|x| !held.contains(x)).collect();
    free.sort_by_key(|x| std::cmp::Reverse(x.parse::<u64>().unwrap_or(0)));
    let mut out: Vec<String> = free.into_iter().skip(keep as usize).cloned().collect();
    out.reverse();
    out
}

fn plan_http_api(d: &Desired, o: &Observed, p: &mut Plan) {
    let observed = o.http_api.as_ref().filter(|a| a.owned);
    let Some(api) = &d.http_api else {
        if observed.is_some() {
            p.steps.push(Step::DeleteHttpApi {
                name: desired::api_name(&d.service, &d.stage),
            });
        }
        return;
    };
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
        let has = observed.is_some_and(|a| a.integrations.values().any(|u| u.ends_with(&target)));
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

fn plan_rest_api(d: &Desired, o: &Observed, p: &mut Plan) {
    let observed = o.rest_api.as_ref().filter(|a| a.owned);
    let Some(api) = &d.rest_api else {
        if observed.is_some() {
            p.steps.push(Step::DeleteRestApi {
                name: desired::api_name(&d.service, &d.stage),
            });
        }
        return;
    };
    if let Some(a) = o.rest_api.as_ref().filter(|a| !a.owned) {
        p.conflicts.push(Conflict {
            resource: format!("REST API {} ({})", api.name, a.id),
            reason: NOT_OURS.into(),
        });
    }
    let before = p.steps.len();
    if observed.is_none() {
        p.steps.push(Step::CreateRestApi {
            name: api.name.clone(),
        });
    }
    let resource = |path: &str| observed.and_then(|a| a.resources.get(path));
    let paths = api.paths();
    for path in &paths {
        if resource(path).is_none() {
            p.steps
                .push(Step::CreateRestResource { path: path.clone() });
        }
    }
    for (route, fk) in &api.routes {
        let (method, path) = split_route(route);
        let target = format!("{}/invocations", alias_arn_suffix(d, fk));
        let current = resource(path)
            .and_then(|r| r.methods.get(method))
            .is_some_and(|uri| uri.ends_with(&target));
        if !current {
            p.steps.push(Step::PutRestMethod {
                route: route.clone(),
                function: fk.clone(),
            });
        }
    }
    for (path, headers) in &api.cors {
        if resource(path).and_then(|r| r.methods.get("OPTIONS")) != Some(&cors_signature(headers)) {
            p.steps.push(Step::PutRestCors { path: path.clone() });
        }
    }
    if let Some(a) = observed {
        let mut wanted: BTreeSet<&str> = paths.iter().map(String::as_str).collect();
        wanted.insert("/");
        // Children before parents: API Gateway deletes a resource's children with it, but
        // naming each one keeps every step meaningful on endpoints that do not (moto).
        let mut gone: Vec<&String> = a
            .resources
            .keys()
            .filter(|path| !wanted.contains(path.as_str()))
            .collect();
        gone.sort_by_key(|path| std::cmp::Reverse((path.matches('/').count(), *path)));
        for path in gone {
            p.steps
                .push(Step::DeleteRestResource { path: path.clone() });
        }
        for (path, r) in &a.resources {
            if !wanted.contains(path.as_str()) {
                continue;
            }
            for method in r.methods.keys() {
                let route = format!("{method} {path}");
                let keep = if method == "OPTIONS" {
                    api.cors.contains_key(path) || api.routes.contains_key(&route)
                } else {
                    api.routes.contains_key(&route)
                };
                if !keep {
                    p.steps.push(Step::DeleteRestMethod { route });
                }
            }
        }
    }
    // A REST API serves only what was deployed: deploy after any change, and whenever the
    // stage serves something other than this config (an interrupted run, a manual deploy).
    let deployed = observed.and_then(|a| a.deployed.as_deref());
    if p.steps.len() > before || deployed != Some(rest_deployment_description(d).as_str()) {
        p.steps.push(Step::DeployRestApi {
            name: api.name.clone(),
            stage: api.stage.clone(),
        });
    }
}

/// How a CORS mock method is recognised: its response headers, in a stable order.
pub fn cors_signature(headers: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("MOCK {}", parts.join(";"))
}

/// The description given to a REST deployment: a digest of the routes, their targets and the
/// CORS headers, so a plan can tell whether the stage serves the current config.
pub fn rest_deployment_description(d: &Desired) -> String {
    use sha2::{Digest, Sha256};
    let Some(api) = &d.rest_api else {
        return String::new();
    };
    let mut h = Sha256::new();
    for (route, fk) in &api.routes {
        h.update(format!("{route}\t{}\n", alias_arn_suffix(d, fk)));
    }
    for (path, headers) in &api.cors {
        h.update(format!("{path}\t{}\n", cors_signature(headers)));
    }
    let hex: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sls {hex}")
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
    format!("function:{name}:{}", d.live)
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

#[cfg(test)]
mod tests {
    use super::desired::{HttpApiSpec, RestApiSpec, RoleSpec};
    use super::*;

    fn function(key: &str) -> FunctionSpec {
        FunctionSpec {
            key: key.into(),
            name: format!("svc-dev-{key}"),
            config: FunctionConfig {
                runtime: "nodejs22.x".into(),
                handler: format!("{key}.main"),
                memory_size: 1024,
                timeout: 6,
                environment: BTreeMap::from([("TOKEN".into(), "s3cret".into())]),
                architecture: "x86_64".into(),
                ephemeral_storage: 512,
                description: String::new(),
            },
            tags: BTreeMap::from([("sls:service".into(), "svc".into())]),
            zip: format!(".serverless/{key}.zip"),
            sha256: format!("sha-{key}"),
            size: 100,
            reserved_concurrency: None,
        }
    }

    fn desired() -> Desired {
        Desired {
            service: "svc".into(),
            stage: "dev".into(),
            region: "eu-west-1".into(),
            alias: "live".into(),
            live: "live".into(),
            version_retention: None,
            tags: BTreeMap::new(),
            role: RoleSpec {
                name: "svc-dev-eu-west-1-lambdaRole".into(),
                policy: serde_json::json!({"Statement": []}),
                managed_policies: vec![],
            },
            functions: vec![function("a"), function("b")],
            http_api: Some(HttpApiSpec {
                name: "dev-svc".into(),
                routes: BTreeMap::from([("GET /a".into(), "a".into())]),
                cors: false,
            }),
            rest_api: Some(RestApiSpec {
                name: "dev-svc".into(),
                stage: "dev".into(),
                routes: BTreeMap::from([("POST /b/{id}".into(), "b".into())]),
                cors: BTreeMap::new(),
            }),
            deployment_bucket: None,
            events_not_deployed: vec![],
        }
    }

    /// What AWS holds after `d` was deployed completely.
    fn deployed(d: &Desired) -> Observed {
        let mut o = Observed {
            role: Some(ObservedRole {
                arn: "arn:aws:iam::123456789012:role/r".into(),
                owned: true,
                policy: Some(d.role.policy.clone()),
                managed_policies: d.role.managed_policies.clone(),
            }),
            ..Default::default()
        };
        for f in &d.functions {
            let mut permissions = BTreeMap::new();
            if f.key == "a" {
                permissions.insert("sls-httpapi".into(), "arn:...:h1/*".into());
            } else {
                permissions.insert("sls-restapi".into(), "arn:...:r1/*".into());
            }
            o.functions.insert(
                f.name.clone(),
                ObservedFunction {
                    arn: String::new(),
                    owned: true,
                    sha256: f.sha256.clone(),
                    config: f.config.clone(),
                    role: String::new(),
                    tags: f.tags.clone(),
                    alias: Some(ObservedVersion {
                        version: "3".into(),
                        sha256: f.sha256.clone(),
                        config: f.config.clone(),
                    }),
                    permissions,
                    reserved_concurrency: None,
                    url: None,
                    versions: None,
                },
            );
        }
        o.http_api = Some(ObservedApi {
            id: "h1".into(),
            endpoint: "https://h1".into(),
            owned: true,
            routes: BTreeMap::from([("GET /a".into(), ("r1".into(), Some("i1".into())))]),
            integrations: BTreeMap::from([(
                "i1".into(),
                "arn:aws:lambda:eu-west-1:1:function:svc-dev-a:live".into(),
            )]),
            has_default_stage: true,
        });
        let target = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:function:svc-dev-b:live/invocations";
        o.rest_api = Some(ObservedRestApi {
            id: "r1".into(),
            owned: true,
            resources: BTreeMap::from([
                ("/".into(), ObservedResource::default()),
                ("/b".into(), ObservedResource::default()),
                (
                    "/b/{id}".into(),
                    ObservedResource {
                        id: "x".into(),
                        methods: BTreeMap::from([("POST".into(), target.into())]),
                    },
                ),
            ]),
            deployed: Some(rest_deployment_description(d)),
        });
        o
    }

    fn actions(p: &Plan) -> Vec<String> {
        p.steps
            .iter()
            .map(|s| {
                serde_json::to_value(s).unwrap()["action"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn nothing_deployed_creates_everything_in_dependency_order() {
        let d = desired();
        let p = plan(&d, &Observed::default());
        assert_eq!(
            actions(&p),
            [
                "createRole",
                "createFunction",
                "publishVersion",
                "createFunction",
                "publishVersion",
                "createHttpApi",
                "createIntegration",
                "createRoute",
                "createHttpStage",
                "createRestApi",
                "createRestResource",
                "createRestResource",
                "putRestMethod",
                "deployRestApi",
                "addPermission",
                "addPermission",
            ]
        );
        // Parents before children.
        let paths: Vec<String> = p
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::CreateRestResource { path } => Some(path.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(paths, ["/b", "/b/{id}"]);
    }

    #[test]
    fn what_is_deployed_needs_no_step() {
        let d = desired();
        let p = plan(&d, &deployed(&d));
        assert!(p.is_empty() && p.conflicts.is_empty(), "{:?}", p.steps);
    }

    #[test]
    fn an_alias_behind_latest_is_moved_without_touching_code() {
        let d = desired();
        let mut o = deployed(&d);
        let a = o.functions.get_mut("svc-dev-a").unwrap();
        a.alias.as_mut().unwrap().sha256 = "old".into();
        assert_eq!(actions(&plan(&d, &o)), ["publishVersion"]);
    }

    #[test]
    fn a_deploy_to_another_alias_ships_code_only_and_opens_a_url() {
        let mut d = desired();
        d.alias = "next".into();
        d.functions[0].sha256 = "new".into();
        // The APIs changed too, and a function left the config: none of it is touched.
        d.http_api.as_mut().unwrap().routes.clear();
        let mut o = deployed(&desired());
        o.functions
            .get_mut("svc-dev-b")
            .unwrap()
            .permissions
            .insert(URL_STATEMENT.into(), String::new());
        o.functions.get_mut("svc-dev-b").unwrap().url = Some("https://b".into());
        d.functions.pop();
        let p = plan(&d, &o);
        assert_eq!(
            actions(&p),
            ["updateFunctionCode", "publishVersion", "createFunctionUrl"]
        );
        assert!(matches!(&p.steps[1], Step::PublishVersion { alias, .. } if alias == "next"));
        // Integrations keep naming the live alias.
        assert_eq!(alias_arn_suffix(&d, "a"), "function:svc-dev-a:live");
    }

    #[test]
    fn retention_prunes_the_oldest_free_versions_counting_the_one_the_alias_leaves() {
        let mut d = desired();
        d.version_retention = Some(2);
        d.functions[0].sha256 = "new".into();
        let mut o = deployed(&desired());
        let versions = ObservedVersions {
            published: ["1", "2", "3", "4", "5", "10"].map(String::from).to_vec(),
            by_alias: BTreeMap::from([
                ("live".into(), BTreeSet::from(["3".into()])),
                ("next".into(), BTreeSet::from(["4".into(), "1".into()])),
            ]),
        };
        o.functions.get_mut("svc-dev-a").unwrap().versions = Some(versions.clone());
        o.functions.get_mut("svc-dev-b").unwrap().versions = Some(versions);
        let p = plan(&d, &o);
        let deleted = |f: &str| -> Vec<&str> {
            p.steps
                .iter()
                .filter_map(|s| match s {
                    Step::DeleteVersion {
                        function, version, ..
                    } if function == f => Some(version.as_str()),
                    _ => None,
                })
                .collect()
        };
        // a publishes, so live's 3 is freed: free 2, 3, 5, 10 → keep 10 and 5.
        assert_eq!(deleted("a"), ["2", "3"]);
        // b is unchanged: live keeps 3; free 2, 5, 10 → keep 10 and 5.
        assert_eq!(deleted("b"), ["2"]);
        d.version_retention = None;
        assert!(deleted_none(&plan(&d, &o)));
    }

    fn deleted_none(p: &Plan) -> bool {
        !p.steps
            .iter()
            .any(|s| matches!(s, Step::DeleteVersion { .. }))
    }

    #[test]
    fn code_and_config_changes_name_fields_but_never_environment_values() {
        let mut d = desired();
        d.functions[0].sha256 = "new".into();
        d.functions[0].config.memory_size = 256;
        d.functions[0]
            .config
            .environment
            .insert("TOKEN".into(), "n3w-s3cret".into());
        let p = plan(&d, &deployed(&desired()));
        assert_eq!(
            actions(&p),
            [
                "updateFunctionCode",
                "updateFunctionConfiguration",
                "publishVersion",
            ]
        );
        let shown: Vec<String> = p.steps.iter().map(|s| s.to_string()).collect();
        let all = format!("{shown:?}{}", serde_json::to_string(&p).unwrap());
        assert!(all.contains("memorySize 1024 → 256") && all.contains("changed: TOKEN"));
        assert!(!all.contains("s3cret"), "{all}");
    }

    #[test]
    fn resources_we_do_not_own_are_conflicts_and_never_steps() {
        let d = desired();
        let mut o = deployed(&d);
        o.role.as_mut().unwrap().owned = false;
        o.functions.get_mut("svc-dev-b").unwrap().owned = false;
        o.rest_api.as_mut().unwrap().owned = false;
        let p = plan(&d, &o);
        let resources: Vec<&str> = p.conflicts.iter().map(|c| c.resource.as_str()).collect();
        assert_eq!(
            resources,
            [
                "IAM role svc-dev-eu-west-1-lambdaRole",
                "Lambda function svc-dev-b",
                "REST API dev-svc (r1)"
            ]
        );
        assert!(!actions(&p).iter().any(|a| a.contains("Role")));
    }

    #[test]
    fn a_permission_for_a_replaced_api_is_granted_again() {
        let d = desired();
        let mut o = deployed(&d);
        o.functions
            .get_mut("svc-dev-a")
            .unwrap()
            .permissions
            .insert("sls-httpapi".into(), "arn:...:old/*".into());
        assert_eq!(actions(&plan(&d, &o)), ["addPermission"]);
    }

    #[test]
    fn removed_things_go_last_children_before_parents() {
        let mut d = desired();
        let o = deployed(&d);
        d.functions.truncate(1);
        d.rest_api = None;
        d.http_api.as_mut().unwrap().routes.clear();
        d.http_api
            .as_mut()
            .unwrap()
            .routes
            .insert("GET /z".into(), "a".into());
        let p = plan(&d, &o);
        assert_eq!(
            actions(&p),
            [
                "createRoute",
                "deleteRoute",
                "deleteRestApi",
                "deleteFunction"
            ]
        );

        let mut d = desired();
        d.rest_api.as_mut().unwrap().routes = BTreeMap::from([("GET /c".into(), "b".into())]);
        let p = plan(&d, &deployed(&desired()));
        let gone: Vec<String> = p
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::DeleteRestResource { path } => Some(path.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(gone, ["/b/{id}", "/b"]);
        assert_eq!(actions(&p).last().unwrap(), "deployRestApi");
    }

    #[test]
    fn a_stage_serving_another_deployment_is_deployed_again() {
        let d = desired();
        let mut o = deployed(&d);
        o.rest_api.as_mut().unwrap().deployed = Some("by hand".into());
        assert_eq!(actions(&plan(&d, &o)), ["deployRestApi"]);
        o.rest_api.as_mut().unwrap().deployed = None;
        assert_eq!(actions(&plan(&d, &o)), ["deployRestApi"]);
    }
}
