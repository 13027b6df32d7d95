//! The HTTP API (API Gateway v2) of the `httpApi` events: the API, one integration per function
//! (on its live alias), the routes and the `$default` stage. AWS side: `provider::aws::http_api`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::events::Of;
use super::naming::api_name;
use super::{Conflict, Desired, NOT_OURS, Observed, Phase, Plan, alias_arn_suffix};
use crate::config::Config;
use crate::config::model::HttpApiEvent;

/// The headers `provider.httpApi.cors: true` allows, as Serverless v3 configures them.
pub const CORS_HEADERS: &[&str] = &[
    "Content-Type",
    "Authorization",
    "X-Amz-Date",
    "X-Api-Key",
    "X-Amz-Security-Token",
];

/// `provider.httpApi.cors`, as API Gateway holds it: `true` allows any origin and method with
/// [`CORS_HEADERS`]; a mapping overrides each part. The desired lists keep the config's order
/// (`sls offline` answers in it); they are compared with what AWS answers once normalised.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CorsSpec {
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_credentials: bool,
    pub expose_headers: Vec<String>,
    pub max_age: Option<i32>,
}

impl CorsSpec {
    /// Puts lists in the one order and case used for comparing.
    pub fn normalised(mut self) -> CorsSpec {
        self = self.tidied();
        for v in [
            &mut self.allow_origins,
            &mut self.allow_headers,
            &mut self.allow_methods,
            &mut self.expose_headers,
        ] {
            v.sort();
        }
        self
    }

    /// Each list trimmed, in the case API Gateway keeps, without repeats, in its order.
    fn tidied(mut self) -> CorsSpec {
        let tidy = |v: &mut Vec<String>, f: fn(&str) -> String| {
            let mut seen = std::collections::HashSet::new();
            *v = v
                .iter()
                .map(|s| f(s.trim()))
                .filter(|s| seen.insert(s.clone()))
                .collect();
        };
        tidy(&mut self.allow_origins, str::to_string);
        tidy(&mut self.allow_headers, str::to_ascii_lowercase);
        tidy(&mut self.allow_methods, str::to_ascii_uppercase);
        tidy(&mut self.expose_headers, str::to_ascii_lowercase);
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HttpApiSpec {
    pub name: String,
    /// Route key (`GET /users/{id}`, `$default`) → function key.
    pub routes: BTreeMap<String, String>,
    pub cors: Option<CorsSpec>,
    /// `provider.httpApi.payload`: the event format integrations send, `2.0` or `1.0`.
    pub payload: String,
    /// A function's own `httpApi.payload`, by function key, where it sets one.
    pub function_payloads: BTreeMap<String, String>,
    /// `disableDefaultEndpoint`: the `execute-api` URL answers nothing (a custom domain serves).
    pub disable_default_endpoint: bool,
    /// `metrics`: per-route detailed CloudWatch metrics on the `$default` stage.
    pub metrics: bool,
}

pub use crate::config::model::http_api_route_key as route_key;

impl HttpApiSpec {
    /// The event format the integration of function `fk` sends.
    pub fn payload_of(&self, fk: &str) -> &str {
        self.function_payloads.get(fk).unwrap_or(&self.payload)
    }
}

/// A Lambda proxy integration: the ARN it invokes and its payload format version.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub uri: String,
    pub payload: String,
}

impl Integration {
    /// Whether it invokes `target` (an alias ARN's `function:…:alias` end) with `payload`.
    pub fn serves(&self, target: &str, payload: &str) -> bool {
        self.uri.ends_with(target) && self.payload == payload
    }
}

#[derive(Debug, Clone)]
pub struct ObservedHttpApi {
    pub id: String,
    pub name: String,
    pub endpoint: String,
    pub owned: bool,
    /// Its CORS configuration, normalised.
    pub cors: Option<CorsSpec>,
    /// Route key → (route id, integration id it targets).
    pub routes: BTreeMap<String, (String, Option<String>)>,
    /// Integration id → what it invokes and how.
    pub integrations: BTreeMap<String, Integration>,
    pub has_default_stage: bool,
    pub default_endpoint_disabled: bool,
    /// Whether the `$default` stage has detailed metrics.
    pub metrics: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum HttpApiStep {
    CreateHttpApi {
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
    /// An integration no route will use: left by an interrupted run, or for a function no
    /// longer routed.
    DeleteIntegration {
        integration: String,
    },
    CreateHttpStage {
        api: String,
    },
    /// Sets the API's CORS configuration to the config's, or removes it.
    UpdateHttpApiCors {
        api: String,
    },
    /// Turns the default `execute-api` endpoint off or on again.
    UpdateHttpApiEndpoint {
        api: String,
        disabled: bool,
    },
    /// Turns the `$default` stage's detailed metrics on or off.
    UpdateHttpStageMetrics {
        api: String,
        enabled: bool,
    },
    #[serde(rename_all = "camelCase")]
    DeleteHttpApi {
        api: String,
        api_id: String,
    },
}

impl super::KindStep for HttpApiStep {
    fn phase(&self) -> Phase {
        match self {
            HttpApiStep::CreateHttpApi { .. }
            | HttpApiStep::CreateIntegration { .. }
            | HttpApiStep::CreateRoute { .. }
            | HttpApiStep::UpdateRoute { .. }
            | HttpApiStep::DeleteRoute { .. }
            | HttpApiStep::DeleteIntegration { .. }
            | HttpApiStep::CreateHttpStage { .. }
            | HttpApiStep::UpdateHttpApiCors { .. }
            | HttpApiStep::UpdateHttpApiEndpoint { .. }
            | HttpApiStep::UpdateHttpStageMetrics { .. } => Phase::Apis,
            HttpApiStep::DeleteHttpApi { .. } => Phase::DeleteApis,
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            HttpApiStep::DeleteHttpApi { api, api_id } => {
                Some(format!("HTTP API {api} ({api_id})"))
            }
            HttpApiStep::CreateHttpApi { .. }
            | HttpApiStep::CreateIntegration { .. }
            | HttpApiStep::CreateRoute { .. }
            | HttpApiStep::UpdateRoute { .. }
            | HttpApiStep::DeleteRoute { .. }
            | HttpApiStep::DeleteIntegration { .. }
            | HttpApiStep::CreateHttpStage { .. }
            | HttpApiStep::UpdateHttpApiCors { .. }
            | HttpApiStep::UpdateHttpApiEndpoint { .. }
            | HttpApiStep::UpdateHttpStageMetrics { .. } => None,
        }
    }

    fn lane(&self) -> String {
        "http api".into()
    }
}

impl fmt::Display for HttpApiStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpApiStep::CreateHttpApi { api } => write!(f, "+ HTTP API {api}"),
            HttpApiStep::CreateIntegration { function } => {
                write!(f, "+ integration → {function}")
            }
            HttpApiStep::CreateRoute { route, function } => {
                write!(f, "+ route {route} → {function}")
            }
            HttpApiStep::UpdateRoute { route, function } => {
                write!(f, "~ route {route} → {function}")
            }
            HttpApiStep::DeleteRoute { route } => write!(f, "- route {route}"),
            HttpApiStep::DeleteIntegration { integration } => {
                write!(f, "- integration {integration} (no route uses it)")
            }
            HttpApiStep::CreateHttpStage { api } => write!(f, "+ HTTP API {api}: stage $default"),
            HttpApiStep::UpdateHttpApiCors { api } => write!(f, "~ HTTP API {api}: CORS"),
            HttpApiStep::UpdateHttpStageMetrics { api, enabled } => write!(
                f,
                "~ HTTP API {api}: detailed metrics {}",
                if *enabled { "on" } else { "off" }
            ),
            HttpApiStep::UpdateHttpApiEndpoint { api, disabled } => write!(
                f,
                "~ HTTP API {api}: default endpoint {}",
                if *disabled { "disabled" } else { "enabled" }
            ),
            HttpApiStep::DeleteHttpApi { api, api_id } => write!(f, "- HTTP API {api} ({api_id})"),
        }
    }
}

/// The integration that routes to `target` (an alias ARN's `function:…:alias` end) with
/// `payload` go through: one a route already uses, else the first; the executor uses the same.
pub fn integration_for<'a>(
    a: &'a ObservedHttpApi,
    target: &str,
    payload: &str,
) -> Option<&'a String> {
    let mut candidates = a
        .integrations
        .iter()
        .filter(|(_, i)| i.serves(target, payload))
        .map(|(id, _)| id)
        .peekable();
    let first = *candidates.peek()?;
    let used = |id: &&String| a.routes.values().any(|(_, i)| i.as_ref() == Some(*id));
    Some(candidates.find(used).unwrap_or(first))
}

/// The API, its integrations, routes and stage; without `httpApi` events, ours is deleted.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    let observed = o.http_api.as_ref().filter(|a| a.owned);
    let Some(api) = &d.http_api else {
        match &o.http_api {
            Some(a) if a.owned => p.push(HttpApiStep::DeleteHttpApi {
                api: a.name.clone(),
                api_id: a.id.clone(),
            }),
            Some(a) => p.leave_alone(format!("HTTP API {} ({})", a.name, a.id)),
            None => {}
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
        p.push(HttpApiStep::CreateHttpApi {
            api: api.name.clone(),
        });
    }
    let targets = |fk: &str| alias_arn_suffix(d, fk);
    let wanted: BTreeSet<&String> = api.routes.values().collect();
    for fk in wanted {
        let target = targets(fk);
        if !observed.is_some_and(|a| {
            a.integrations
                .values()
                .any(|i| i.serves(&target, api.payload_of(fk)))
        }) {
            p.push(HttpApiStep::CreateIntegration {
                function: fk.clone(),
            });
        }
    }
    for (route, fk) in &api.routes {
        let target = targets(fk);
        match observed.and_then(|a| a.routes.get(route).map(|r| (a, r))) {
            None => p.push(HttpApiStep::CreateRoute {
                route: route.clone(),
                function: fk.clone(),
            }),
            Some((a, (_, integration))) => {
                let points = integration
                    .as_ref()
                    .and_then(|i| a.integrations.get(i))
                    .is_some_and(|i| i.serves(&target, api.payload_of(fk)));
                if !points {
                    p.push(HttpApiStep::UpdateRoute {
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
                p.push(HttpApiStep::DeleteRoute {
                    route: route.clone(),
                });
            }
        }
        // Kept: the integration each function's routes go through (the first one targeting its
        // alias, as the executor picks it) and whatever a route left as it is still uses.
        let mut keep: BTreeSet<&String> = BTreeSet::new();
        for fk in api.routes.values() {
            keep.extend(integration_for(a, &targets(fk), api.payload_of(fk)));
        }
        for (route, (_, integration)) in &a.routes {
            let untouched = api.routes.get(route).is_some_and(|fk| {
                integration
                    .as_ref()
                    .and_then(|i| a.integrations.get(i))
                    .is_some_and(|i| i.serves(&targets(fk), api.payload_of(fk)))
            });
            if untouched {
                keep.extend(integration.as_ref());
            }
        }
        for id in a.integrations.keys() {
            if !keep.contains(id) {
                p.push(HttpApiStep::DeleteIntegration {
                    integration: id.clone(),
                });
            }
        }
    }
    // Created with its CORS configuration; an existing API follows the config.
    if let Some(a) = observed
        && a.cors.clone().map(CorsSpec::normalised) != api.cors.clone().map(CorsSpec::normalised)
    {
        p.push(HttpApiStep::UpdateHttpApiCors {
            api: api.name.clone(),
        });
    }
    if let Some(a) = observed
        && a.default_endpoint_disabled != api.disable_default_endpoint
    {
        p.push(HttpApiStep::UpdateHttpApiEndpoint {
            api: api.name.clone(),
            disabled: api.disable_default_endpoint,
        });
    }
    // The stage is created with its metrics; an existing one follows the config.
    if let Some(a) = observed.filter(|a| a.has_default_stage)
        && a.metrics != api.metrics
    {
        p.push(HttpApiStep::UpdateHttpStageMetrics {
            api: api.name.clone(),
            enabled: api.metrics,
        });
    }
    if !observed.is_some_and(|a| a.has_default_stage) {
        p.push(HttpApiStep::CreateHttpStage {
            api: api.name.clone(),
        });
    }
}

/// `provider.httpApi.cors`: `true` (an empty mapping) allows every origin and method with the
/// headers Serverless v3 allows; each key of a mapping replaces its part.
pub(super) fn http_api_cors(c: &crate::config::model::Cors) -> CorsSpec {
    CorsSpec {
        allow_origins: c
            .allowed_origins
            .clone()
            .unwrap_or_else(|| vec!["*".into()]),
        allow_headers: c.allowed_headers.clone().unwrap_or_else(|| {
            super::http_api::CORS_HEADERS
                .iter()
                .map(|h| h.to_string())
                .collect()
        }),
        allow_methods: c
            .allowed_methods
            .clone()
            .unwrap_or_else(|| vec!["*".into()]),
        allow_credentials: c.allow_credentials == Some(true),
        expose_headers: c.exposed_response_headers.clone().unwrap_or_default(),
        max_age: c.max_age.map(|m| m as i32),
    }
    .tidied()
}

/// The HTTP API of the `httpApi` events, named and set up by `provider.httpApi`.
pub(super) fn desired(
    config: &Config,
    stage: &str,
    events: &[Of<'_, &HttpApiEvent>],
) -> Option<HttpApiSpec> {
    let p = &config.provider;
    let routes: BTreeMap<String, String> = events
        .iter()
        .map(|(key, h)| (route_key(&h.method, &h.path), key.to_string()))
        .collect();
    (!routes.is_empty()).then(|| HttpApiSpec {
        name: p
            .http_api
            .as_ref()
            .and_then(|h| h.name.clone())
            .unwrap_or_else(|| api_name(&config.service, stage)),
        disable_default_endpoint: p.http_api.as_ref().and_then(|h| h.disable_default_endpoint)
            == Some(true),
        metrics: p.http_api.as_ref().and_then(|h| h.metrics) == Some(true),
        routes,
        cors: p
            .http_api
            .as_ref()
            .and_then(|h| h.cors.as_ref())
            .map(http_api_cors),
        payload: p
            .http_api
            .as_ref()
            .and_then(|h| h.payload.clone())
            .unwrap_or_else(|| "2.0".into()),
        function_payloads: config
            .functions
            .iter()
            .flatten()
            .filter_map(|(k, f)| Some((k.clone(), f.http_api.as_ref()?.payload.clone()?)))
            .collect(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::{actions, desired};
    use super::*;

    /// What AWS holds once `d`'s HTTP API is deployed.
    pub fn converged(d: &Desired) -> ObservedHttpApi {
        let api = d.http_api.as_ref().unwrap();
        let mut o = ObservedHttpApi {
            id: "h1".into(),
            name: api.name.clone(),
            endpoint: "https://h1".into(),
            owned: true,
            cors: api.cors.clone(),
            routes: BTreeMap::new(),
            integrations: BTreeMap::new(),
            has_default_stage: true,
            default_endpoint_disabled: api.disable_default_endpoint,
            metrics: api.metrics,
        };
        for (route, fk) in &api.routes {
            let id = format!("i-{fk}");
            o.integrations.insert(
                id.clone(),
                Integration {
                    uri: format!("arn:aws:lambda:eu-west-1:1:{}", alias_arn_suffix(d, fk)),
                    payload: api.payload.clone(),
                },
            );
            o.routes
                .insert(route.clone(), (format!("r-{route}"), Some(id)));
        }
        o
    }

    fn run(d: &Desired, api: Option<ObservedHttpApi>) -> Plan {
        let o = Observed {
            http_api: api,
            ..Default::default()
        };
        let mut p = Plan::default();
        plan(d, &o, &mut p);
        p
    }

    #[test]
    fn route_keys_follow_api_gateway() {
        assert_eq!(route_key("get", "/a/{id}"), "GET /a/{id}");
        assert_eq!(route_key("*", "/a"), "ANY /a");
        assert_eq!(route_key("*", "*"), "$default");
    }

    #[test]
    fn converged_needs_nothing_and_nothing_creates_all_in_order() {
        let d = desired();
        assert!(run(&d, Some(converged(&d))).is_empty());
        assert_eq!(
            actions(&run(&d, None)),
            [
                "createHttpApi",
                "createIntegration",
                "createRoute",
                "createHttpStage"
            ]
        );
    }

    #[test]
    fn integrations_no_route_uses_are_deleted_after_the_routes_move() {
        let mut d = desired();
        let mut o = converged(&d);
        // A duplicate left by an interrupted run, and one for a function no longer routed.
        o.integrations
            .insert("i-dup".into(), o.integrations["i-a"].clone());
        // A duplicate that sorts first is not the one the route uses: it goes too.
        o.integrations
            .insert("i-0".into(), o.integrations["i-a"].clone());
        o.integrations.insert(
            "i-gone".into(),
            Integration {
                uri: "arn:aws:lambda:eu-west-1:1:function:svc-dev-gone:live".into(),
                payload: "2.0".into(),
            },
        );
        let shown: Vec<String> = run(&d, Some(o.clone()))
            .steps
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shown,
            [
                "- integration i-0 (no route uses it)",
                "- integration i-dup (no route uses it)",
                "- integration i-gone (no route uses it)"
            ]
        );
        // A route moved to another function: its old integration goes once the route moved.
        d.http_api
            .as_mut()
            .unwrap()
            .routes
            .insert("GET /a".into(), "b".into());
        let p = run(&d, Some(converged(&desired())));
        assert_eq!(
            actions(&p),
            ["createIntegration", "updateRoute", "deleteIntegration"]
        );
    }

    #[test]
    fn a_new_payload_version_means_new_integrations_and_the_old_ones_go() {
        let mut d = desired();
        let o = converged(&d);
        d.http_api.as_mut().unwrap().payload = "1.0".into();
        assert_eq!(
            actions(&run(&d, Some(o))),
            ["createIntegration", "updateRoute", "deleteIntegration"]
        );
    }

    #[test]
    fn cors_follows_the_config_on_an_existing_api() {
        let mut d = desired();
        let o = converged(&d);
        d.http_api.as_mut().unwrap().cors = Some(CorsSpec {
            allow_origins: vec!["https://example.com".into()],
            ..Default::default()
        });
        assert_eq!(actions(&run(&d, Some(o.clone()))), ["updateHttpApiCors"]);
        let mut now = o;
        now.cors = d.http_api.as_ref().unwrap().cors.clone();
        assert!(run(&d, Some(now.clone())).is_empty());
        d.http_api.as_mut().unwrap().cors = None;
        assert_eq!(actions(&run(&d, Some(now))), ["updateHttpApiCors"]);
    }

    #[test]
    fn routes_follow_the_config_and_no_events_delete_ours_only() {
        let mut d = desired();
        let o = converged(&d);
        let routes = &mut d.http_api.as_mut().unwrap().routes;
        routes.clear();
        routes.insert("GET /z".into(), "a".into());
        assert_eq!(
            actions(&run(&d, Some(o.clone()))),
            ["createRoute", "deleteRoute"]
        );
        d.http_api = None;
        assert_eq!(actions(&run(&d, Some(o.clone()))), ["deleteHttpApi"]);
        let theirs = ObservedHttpApi { owned: false, ..o };
        let p = run(&d, Some(theirs));
        assert!(p.is_empty() && p.left_alone == ["HTTP API dev-svc (h1)"]);
    }
}
