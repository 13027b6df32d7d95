//! The REST API (API Gateway v1) of the `http` events: the API, its resource tree, a Lambda
//! proxy method per route (on the function's live alias), CORS mocks, and a deployment to the
//! stage named after the stage. AWS side: `provider::aws::rest_api`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::events::Of;
use super::naming::{api_name, sorted};
use super::{Conflict, Desired, NOT_OURS, Observed, Phase, Plan, alias_arn_suffix, split_route};
use crate::config::Config;
use crate::config::model::{HttpEvent, RestCors};

/// One stage named after the stage.
#[derive(Debug, Clone, Serialize)]
pub struct RestApiSpec {
    pub name: String,
    pub stage: String,
    /// Route (`POST /users/{id}`, `ANY /`) → function key.
    pub routes: BTreeMap<String, String>,
    /// Resource path → the headers its `OPTIONS` method answers with (`cors:` on an event).
    pub cors: BTreeMap<String, BTreeMap<String, String>>,
    pub settings: RestSettings,
    /// The stage's settings: `apiGateway.metrics` (CloudWatch metrics of every method) and
    /// `tracing.apiGateway` (X-Ray).
    pub stage_settings: RestStageSettings,
    /// Routes with `integration: lambda` (no proxy): deploying refuses them for now; `sls
    /// offline` serves them with Serverless' default templates.
    pub lambda_integration: BTreeSet<String>,
    /// `operationId` by route: deploying refuses it for now; `sls offline` puts it in the
    /// event's `requestContext.operationName`, as API Gateway does.
    pub operation_names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestStageSettings {
    pub metrics: bool,
    pub tracing: bool,
}

/// The API's own settings (`provider.apiGateway`): they take effect with the next deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestSettings {
    /// Empty for none.
    pub description: String,
    /// Sorted, as compared.
    pub binary_media_types: Vec<String>,
    /// Bytes above which responses are compressed; `None`: never.
    pub minimum_compression_size: Option<i32>,
}

impl RestSettings {
    /// The names of the settings that differ.
    pub fn changed(&self, have: &RestSettings) -> Vec<String> {
        let mut out = Vec::new();
        if self.description != have.description {
            out.push("description".to_string());
        }
        if self.binary_media_types != have.binary_media_types {
            out.push("binaryMediaTypes".to_string());
        }
        if self.minimum_compression_size != have.minimum_compression_size {
            out.push("minimumCompressionSize".to_string());
        }
        out
    }
}

impl RestApiSpec {
    /// Every resource path the routes need, parents included, parents first ("/" excluded).
    pub fn paths(&self) -> Vec<String> {
        let mut all = BTreeSet::new();
        for route in self.routes.keys() {
            let (_, path) = split_route(route);
            let mut at = String::new();
            for part in path.split('/').filter(|p| !p.is_empty()) {
                at.push('/');
                at.push_str(part);
                all.insert(at.clone());
            }
        }
        // Sorted by depth then name, so a parent always precedes its children.
        let mut v: Vec<String> = all.into_iter().collect();
        v.sort_by_key(|p| (p.matches('/').count(), p.clone()));
        v
    }
}

#[derive(Debug, Clone)]
pub struct ObservedRestApi {
    pub id: String,
    pub name: String,
    pub owned: bool,
    /// Resource path (`/` for the root) → its id and methods.
    pub resources: BTreeMap<String, ObservedResource>,
    /// The description of the deployment the stage serves; `None` when there is no stage.
    pub deployed: Option<String>,
    pub settings: RestSettings,
    /// The stage's, when there is a stage.
    pub stage_settings: Option<RestStageSettings>,
}

#[derive(Debug, Clone, Default)]
pub struct ObservedResource {
    pub id: String,
    /// HTTP method → what it runs: a Lambda integration URI, or [`cors_signature`] of a
    /// CORS mock.
    pub methods: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum RestApiStep {
    CreateRestApi {
        api: String,
    },
    CreateRestResource {
        path: String,
    },
    /// Brings `description`, `binaryMediaTypes`, `minimumCompressionSize` to the config's.
    UpdateRestApiSettings {
        api: String,
        settings: Vec<String>,
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
        api: String,
        stage: String,
    },
    /// Brings the stage's metrics and tracing to the config (after a deployment made it).
    UpdateRestStage {
        api: String,
        stage: String,
    },
    #[serde(rename_all = "camelCase")]
    DeleteRestApi {
        api: String,
        api_id: String,
    },
}

impl super::KindStep for RestApiStep {
    fn phase(&self) -> Phase {
        match self {
            RestApiStep::CreateRestApi { .. }
            | RestApiStep::CreateRestResource { .. }
            | RestApiStep::UpdateRestApiSettings { .. }
            | RestApiStep::PutRestMethod { .. }
            | RestApiStep::PutRestCors { .. }
            | RestApiStep::DeleteRestMethod { .. }
            | RestApiStep::DeleteRestResource { .. }
            | RestApiStep::DeployRestApi { .. }
            | RestApiStep::UpdateRestStage { .. } => Phase::Apis,
            RestApiStep::DeleteRestApi { .. } => Phase::DeleteApis,
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            RestApiStep::DeleteRestApi { api, api_id } => {
                Some(format!("REST API {api} ({api_id})"))
            }
            RestApiStep::CreateRestApi { .. }
            | RestApiStep::CreateRestResource { .. }
            | RestApiStep::UpdateRestApiSettings { .. }
            | RestApiStep::PutRestMethod { .. }
            | RestApiStep::PutRestCors { .. }
            | RestApiStep::DeleteRestMethod { .. }
            | RestApiStep::DeleteRestResource { .. }
            | RestApiStep::DeployRestApi { .. }
            | RestApiStep::UpdateRestStage { .. } => None,
        }
    }

    fn lane(&self) -> String {
        "rest api".into()
    }
}

impl fmt::Display for RestApiStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestApiStep::CreateRestApi { api } => write!(f, "+ REST API {api}"),
            RestApiStep::CreateRestResource { path } => write!(f, "+ REST resource {path}"),
            RestApiStep::UpdateRestApiSettings { api, settings } => {
                write!(f, "~ REST API {api}: {}", settings.join(", "))
            }
            RestApiStep::PutRestMethod { route, function } => {
                write!(f, "+ REST method {route} → {function}")
            }
            RestApiStep::PutRestCors { path } => write!(f, "+ REST method OPTIONS {path} (CORS)"),
            RestApiStep::DeleteRestMethod { route } => write!(f, "- REST method {route}"),
            RestApiStep::DeleteRestResource { path } => write!(f, "- REST resource {path}"),
            RestApiStep::DeployRestApi { api, stage } => {
                write!(f, "+ REST API {api}: deployment to stage {stage}")
            }
            RestApiStep::UpdateRestStage { api, stage } => {
                write!(f, "~ REST API {api}: stage {stage} metrics and tracing")
            }
            RestApiStep::DeleteRestApi { api, api_id } => write!(f, "- REST API {api} ({api_id})"),
        }
    }
}

/// The API, its resources and methods, then a deployment when anything changed or the stage
/// serves something else; without `http` events, ours is deleted.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    let observed = o.rest_api.as_ref().filter(|a| a.owned);
    let Some(api) = &d.rest_api else {
        match &o.rest_api {
            Some(a) if a.owned => p.push(RestApiStep::DeleteRestApi {
                api: a.name.clone(),
                api_id: a.id.clone(),
            }),
            Some(a) => p.leave_alone(format!("REST API {} ({})", a.name, a.id)),
            None => {}
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
        p.push(RestApiStep::CreateRestApi {
            api: api.name.clone(),
        });
    }
    if let Some(a) = observed {
        let settings = api.settings.changed(&a.settings);
        if !settings.is_empty() {
            p.push(RestApiStep::UpdateRestApiSettings {
                api: api.name.clone(),
                settings,
            });
        }
    }
    let resource = |path: &str| observed.and_then(|a| a.resources.get(path));
    let paths = api.paths();
    for path in &paths {
        if resource(path).is_none() {
            p.push(RestApiStep::CreateRestResource { path: path.clone() });
        }
    }
    for (route, fk) in &api.routes {
        let (method, path) = split_route(route);
        let target = format!("{}/invocations", alias_arn_suffix(d, fk));
        let current = resource(path)
            .and_then(|r| r.methods.get(method))
            .is_some_and(|uri| uri.ends_with(&target));
        if !current {
            p.push(RestApiStep::PutRestMethod {
                route: route.clone(),
                function: fk.clone(),
            });
        }
    }
    for (path, headers) in &api.cors {
        if resource(path).and_then(|r| r.methods.get("OPTIONS")) != Some(&cors_signature(headers)) {
            p.push(RestApiStep::PutRestCors { path: path.clone() });
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
            p.push(RestApiStep::DeleteRestResource { path: path.clone() });
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
                    p.push(RestApiStep::DeleteRestMethod { route });
                }
            }
        }
    }
    // A REST API serves only what was deployed: deploy after any change, and whenever the
    // stage serves something other than this config (an interrupted run, a manual deploy).
    let deployed = observed.and_then(|a| a.deployed.as_deref());
    if p.steps.len() > before || deployed != Some(deployment_description(d).as_str()) {
        p.push(RestApiStep::DeployRestApi {
            api: api.name.clone(),
            stage: api.stage.clone(),
        });
    }
    // A stage made by that deployment has the defaults (off, off).
    let have = observed.and_then(|a| a.stage_settings).unwrap_or_default();
    if have != api.stage_settings {
        p.push(RestApiStep::UpdateRestStage {
            api: api.name.clone(),
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
pub fn deployment_description(d: &Desired) -> String {
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
    // Settings count only when set, so that digests of configs without them stay as they were.
    if api.settings != RestSettings::default() {
        h.update(serde_json::to_string(&api.settings).unwrap_or_default());
    }
    let hex: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sls {hex}")
}

/// The invoke URL of a REST API stage.
pub fn invoke_url(id: &str, region: &str, stage: &str) -> String {
    let (_, dns) = super::partition(region);
    format!("https://{id}.execute-api.{region}.{dns}/{stage}")
}

/// The integration response headers of a CORS `OPTIONS` method, as Serverless v3 sets them.
fn rest_cors(c: &RestCors, methods: &[String]) -> BTreeMap<String, String> {
    let origin = c
        .origins
        .as_ref()
        .map(|o| o.join(","))
        .or_else(|| c.origin.clone())
        .unwrap_or_else(|| "*".into());
    let headers = c.headers.as_ref().map_or_else(
        || {
            "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent,X-Amzn-Trace-Id"
                .to_string()
        },
        |h| h.join(","),
    );
    let mut allowed: Vec<&str> = methods.iter().map(String::as_str).collect();
    allowed.push("OPTIONS");
    allowed.sort_unstable();
    allowed.dedup();
    let mut m = BTreeMap::new();
    m.insert("Access-Control-Allow-Origin".into(), origin);
    m.insert("Access-Control-Allow-Headers".into(), headers);
    m.insert("Access-Control-Allow-Methods".into(), allowed.join(","));
    if c.allow_credentials == Some(true) {
        m.insert("Access-Control-Allow-Credentials".into(), "true".into());
    }
    if let Some(age) = c.max_age {
        m.insert("Access-Control-Max-Age".into(), age.to_string());
    }
    m
}

/// The REST API of the `http` events, named and set up by `provider.apiGateway`, with the CORS
/// answer of each path some event turns CORS on for.
pub(super) fn desired(
    config: &Config,
    stage: &str,
    events: &[Of<'_, &HttpEvent>],
) -> Option<RestApiSpec> {
    let p = &config.provider;
    let mut rest = BTreeMap::new();
    let mut lambda_integration = BTreeSet::new();
    let mut operation_names = BTreeMap::new();
    let mut rest_cors_of: BTreeMap<String, (RestCors, Vec<String>)> = BTreeMap::new();
    for (key, h) in events {
        let method = match h.method.to_uppercase().as_str() {
            "*" => "ANY".to_string(),
            m => m.to_string(),
        };
        let path = format!("/{}", h.path.trim_matches('/'));
        if let Some(c) = &h.cors {
            let entry = rest_cors_of
                .entry(path.clone())
                .or_insert_with(|| (c.clone(), Vec::new()));
            entry.1.push(method.clone());
        }
        let route = format!("{method} {path}");
        if h.integration
            .as_deref()
            .is_some_and(|i| matches!(i.to_ascii_lowercase().as_str(), "lambda" | "aws"))
        {
            lambda_integration.insert(route.clone());
        }
        if let Some(op) = &h.operation_id {
            operation_names.insert(route.clone(), op.clone());
        }
        rest.insert(route, key.to_string());
    }
    let gateway = p.api_gateway.as_ref();
    (!rest.is_empty()).then(|| RestApiSpec {
        name: if gateway.and_then(|g| g.should_start_name_with_service) == Some(true) {
            format!("{}-{stage}", config.service)
        } else {
            api_name(&config.service, stage)
        },
        stage: stage.into(),
        routes: rest,
        lambda_integration,
        operation_names,
        cors: rest_cors_of
            .into_iter()
            .map(|(path, (c, methods))| (path, rest_cors(&c, &methods)))
            .collect(),
        stage_settings: RestStageSettings {
            metrics: gateway.and_then(|g| g.metrics) == Some(true),
            tracing: p.tracing.as_ref().and_then(|t| t.api_gateway) == Some(true),
        },
        settings: RestSettings {
            description: gateway
                .and_then(|g| g.description.clone())
                .unwrap_or_default(),
            binary_media_types: sorted(gateway.and_then(|g| g.binary_media_types.clone())),
            minimum_compression_size: gateway
                .and_then(|g| g.minimum_compression_size)
                .map(|n| n as i32),
        },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::{actions, desired};
    use super::*;

    /// What AWS holds once `d`'s REST API is deployed.
    pub fn converged(d: &Desired) -> ObservedRestApi {
        let api = d.rest_api.as_ref().unwrap();
        let mut resources = BTreeMap::from([("/".to_string(), ObservedResource::default())]);
        for path in api.paths() {
            resources.insert(path, ObservedResource::default());
        }
        for (route, fk) in &api.routes {
            let (method, path) = split_route(route);
            let target = format!(
                "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:{}/invocations",
                alias_arn_suffix(d, fk)
            );
            resources
                .get_mut(path)
                .unwrap()
                .methods
                .insert(method.into(), target);
        }
        ObservedRestApi {
            id: "r1".into(),
            name: api.name.clone(),
            owned: true,
            resources,
            deployed: Some(deployment_description(d)),
            settings: api.settings.clone(),
            stage_settings: Some(api.stage_settings),
        }
    }

    fn run(d: &Desired, api: Option<ObservedRestApi>) -> Plan {
        let o = Observed {
            rest_api: api,
            ..Default::default()
        };
        let mut p = Plan::default();
        plan(d, &o, &mut p);
        p
    }

    #[test]
    fn converged_needs_nothing_and_parents_come_before_children() {
        let d = desired();
        assert!(run(&d, Some(converged(&d))).is_empty());
        let p = run(&d, None);
        assert_eq!(
            actions(&p),
            [
                "createRestApi",
                "createRestResource",
                "createRestResource",
                "putRestMethod",
                "deployRestApi"
            ]
        );
        assert_eq!(p.steps[1].to_string(), "+ REST resource /b");
        assert_eq!(p.steps[2].to_string(), "+ REST resource /b/{id}");
    }

    #[test]
    fn removed_resources_go_children_first_then_a_deployment() {
        let mut d = desired();
        let o = converged(&d);
        d.rest_api.as_mut().unwrap().routes = BTreeMap::from([("GET /c".into(), "b".into())]);
        let shown: Vec<String> = run(&d, Some(o))
            .steps
            .iter()
            .map(|s| s.to_string())
            .collect();
        let gone: Vec<&String> = shown
            .iter()
            .filter(|s| s.starts_with("- REST resource"))
            .collect();
        assert_eq!(gone, ["- REST resource /b/{id}", "- REST resource /b"]);
        assert!(shown.last().unwrap().contains("deployment to stage dev"));
    }

    #[test]
    fn a_stage_serving_another_deployment_is_deployed_again() {
        let d = desired();
        let mut o = converged(&d);
        o.deployed = Some("by hand".into());
        assert_eq!(actions(&run(&d, Some(o.clone()))), ["deployRestApi"]);
        o.deployed = None;
        assert_eq!(actions(&run(&d, Some(o))), ["deployRestApi"]);
    }
}
