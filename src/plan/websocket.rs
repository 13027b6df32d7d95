//! The WebSocket API (API Gateway v2) of the `websocket` events: the API, one integration per
//! function (on its live alias), a route per event (with a `$default` route response when the
//! handler answers) and a stage named after the service's stage, which deploys every change
//! itself. AWS side: `provider::aws::websocket`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::events::Of;
use super::{Conflict, Desired, NOT_OURS, Observed, Phase, Plan, alias_arn_suffix};
use crate::config::Config;
use crate::config::model::WebsocketEvent;

/// Serverless v3's defaults.
pub const ROUTE_SELECTION: &str = "$request.body.action";
pub const DESCRIPTION: &str = "Serverless Websockets";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebsocketSpec {
    pub name: String,
    pub description: String,
    /// `provider.websocketsApiRouteSelectionExpression`.
    pub route_selection: String,
    /// The stage clients connect to: `wss://…/{stage}`.
    pub stage: String,
    pub routes: BTreeMap<String, WebsocketRoute>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebsocketRoute {
    /// The function key.
    pub function: String,
    /// `routeResponseSelectionExpression: $default`: what the handler returns goes back to the
    /// client.
    pub responds: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedWebsocketRoute {
    pub id: String,
    /// The integration it targets.
    pub integration: Option<String>,
    pub responds: bool,
}

#[derive(Debug, Clone)]
pub struct ObservedWebsocket {
    pub id: String,
    pub name: String,
    pub owned: bool,
    pub description: String,
    pub route_selection: String,
    pub routes: BTreeMap<String, ObservedWebsocketRoute>,
    /// Integration id → the URI it invokes.
    pub integrations: BTreeMap<String, String>,
    pub has_stage: bool,
}

/// Whether an integration URI invokes `target` (an alias ARN's `function:…:alias` end): WebSocket
/// integrations name the function through Lambda's invocation path.
pub fn invokes(uri: &str, target: &str) -> bool {
    uri.ends_with(&format!(":{target}/invocations"))
}

/// `wss://{id}.execute-api.{region}.{suffix}/{stage}`: where clients connect.
pub fn url(id: &str, region: &str, stage: &str) -> String {
    let (_, suffix) = super::partition(region);
    format!("wss://{id}.execute-api.{region}.{suffix}/{stage}")
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum WebsocketStep {
    CreateWebsocketApi {
        api: String,
    },
    /// Sets the description and the route selection expression to the config's.
    UpdateWebsocketApi {
        api: String,
    },
    CreateWebsocketIntegration {
        function: String,
    },
    CreateWebsocketRoute {
        route: String,
        function: String,
    },
    /// Points a route at another function's integration.
    UpdateWebsocketRoute {
        route: String,
        function: String,
    },
    /// A route whose answering changes is made again: API Gateway keeps a route response once
    /// made, so the route goes with it.
    ReplaceWebsocketRoute {
        route: String,
        function: String,
    },
    DeleteWebsocketRoute {
        route: String,
    },
    /// An integration no route uses: left by an interrupted run, or for a function no longer
    /// routed.
    DeleteWebsocketIntegration {
        integration: String,
    },
    CreateWebsocketStage {
        api: String,
        stage: String,
    },
    #[serde(rename_all = "camelCase")]
    DeleteWebsocketApi {
        api: String,
        api_id: String,
    },
}

impl super::KindStep for WebsocketStep {
    fn phase(&self) -> Phase {
        match self {
            WebsocketStep::CreateWebsocketApi { .. }
            | WebsocketStep::UpdateWebsocketApi { .. }
            | WebsocketStep::CreateWebsocketIntegration { .. }
            | WebsocketStep::CreateWebsocketRoute { .. }
            | WebsocketStep::UpdateWebsocketRoute { .. }
            | WebsocketStep::ReplaceWebsocketRoute { .. }
            | WebsocketStep::DeleteWebsocketRoute { .. }
            | WebsocketStep::DeleteWebsocketIntegration { .. }
            | WebsocketStep::CreateWebsocketStage { .. } => Phase::Apis,
            WebsocketStep::DeleteWebsocketApi { .. } => Phase::DeleteApis,
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            WebsocketStep::DeleteWebsocketApi { api, api_id } => {
                Some(format!("WebSocket API {api} ({api_id})"))
            }
            WebsocketStep::CreateWebsocketApi { .. }
            | WebsocketStep::UpdateWebsocketApi { .. }
            | WebsocketStep::CreateWebsocketIntegration { .. }
            | WebsocketStep::CreateWebsocketRoute { .. }
            | WebsocketStep::UpdateWebsocketRoute { .. }
            | WebsocketStep::ReplaceWebsocketRoute { .. }
            | WebsocketStep::DeleteWebsocketRoute { .. }
            | WebsocketStep::DeleteWebsocketIntegration { .. }
            | WebsocketStep::CreateWebsocketStage { .. } => None,
        }
    }

    fn lane(&self) -> String {
        "websocket api".into()
    }
}

impl fmt::Display for WebsocketStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebsocketStep::CreateWebsocketApi { api } => write!(f, "+ WebSocket API {api}"),
            WebsocketStep::UpdateWebsocketApi { api } => {
                write!(
                    f,
                    "~ WebSocket API {api}: description, route selection expression"
                )
            }
            WebsocketStep::CreateWebsocketIntegration { function } => {
                write!(f, "+ websocket integration → {function}")
            }
            WebsocketStep::CreateWebsocketRoute { route, function } => {
                write!(f, "+ websocket route {route} → {function}")
            }
            WebsocketStep::UpdateWebsocketRoute { route, function } => {
                write!(f, "~ websocket route {route} → {function}")
            }
            WebsocketStep::ReplaceWebsocketRoute { route, function } => write!(
                f,
                "± websocket route {route} → {function} (its route response changes)"
            ),
            WebsocketStep::DeleteWebsocketRoute { route } => {
                write!(f, "- websocket route {route}")
            }
            WebsocketStep::DeleteWebsocketIntegration { integration } => {
                write!(
                    f,
                    "- websocket integration {integration} (no route uses it)"
                )
            }
            WebsocketStep::CreateWebsocketStage { api, stage } => {
                write!(f, "+ WebSocket API {api}: stage {stage}")
            }
            WebsocketStep::DeleteWebsocketApi { api, api_id } => {
                write!(f, "- WebSocket API {api} ({api_id})")
            }
        }
    }
}

/// The integration routes to `target` go through: one a route already uses, else the first;
/// the executor uses the same.
pub fn integration_for<'a>(a: &'a ObservedWebsocket, target: &str) -> Option<&'a String> {
    let mut candidates = a
        .integrations
        .iter()
        .filter(|(_, uri)| invokes(uri, target))
        .map(|(id, _)| id)
        .peekable();
    let first = *candidates.peek()?;
    let used = |id: &&String| {
        a.routes
            .values()
            .any(|r| r.integration.as_ref() == Some(*id))
    };
    Some(candidates.find(used).unwrap_or(first))
}

/// The API, its integrations, routes and stage; without `websocket` events, ours is deleted.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    let observed = o.websocket.as_ref().filter(|a| a.owned);
    let Some(api) = &d.websocket else {
        match &o.websocket {
            Some(a) if a.owned => p.push(WebsocketStep::DeleteWebsocketApi {
                api: a.name.clone(),
                api_id: a.id.clone(),
            }),
            Some(a) => p.leave_alone(format!("WebSocket API {} ({})", a.name, a.id)),
            None => {}
        }
        return;
    };
    if let Some(a) = o.websocket.as_ref().filter(|a| !a.owned) {
        p.conflicts.push(Conflict {
            resource: format!("WebSocket API {} ({})", api.name, a.id),
            reason: NOT_OURS.into(),
        });
        return;
    }
    match observed {
        None => p.push(WebsocketStep::CreateWebsocketApi {
            api: api.name.clone(),
        }),
        Some(a) if a.description != api.description || a.route_selection != api.route_selection => {
            p.push(WebsocketStep::UpdateWebsocketApi {
                api: api.name.clone(),
            })
        }
        Some(_) => {}
    }
    let target = |fk: &str| alias_arn_suffix(d, fk);
    let wanted: BTreeSet<&String> = api.routes.values().map(|r| &r.function).collect();
    for fk in wanted {
        if !observed.is_some_and(|a| a.integrations.values().any(|u| invokes(u, &target(fk)))) {
            p.push(WebsocketStep::CreateWebsocketIntegration {
                function: fk.clone(),
            });
        }
    }
    let points = |a: &ObservedWebsocket, r: &ObservedWebsocketRoute, fk: &str| {
        r.integration
            .as_ref()
            .and_then(|i| a.integrations.get(i))
            .is_some_and(|u| invokes(u, &target(fk)))
    };
    for (route, want) in &api.routes {
        let (route, function) = (route.clone(), want.function.clone());
        match observed.and_then(|a| a.routes.get(&route).map(|r| (a, r))) {
            None => p.push(WebsocketStep::CreateWebsocketRoute { route, function }),
            Some((_, r)) if r.responds != want.responds => {
                p.push(WebsocketStep::ReplaceWebsocketRoute { route, function })
            }
            Some((a, r)) if !points(a, r, &want.function) => {
                p.push(WebsocketStep::UpdateWebsocketRoute { route, function })
            }
            Some(_) => {}
        }
    }
    if let Some(a) = observed {
        for route in a.routes.keys() {
            if !api.routes.contains_key(route) {
                p.push(WebsocketStep::DeleteWebsocketRoute {
                    route: route.clone(),
                });
            }
        }
        // Kept: the integration each routed function goes through and whatever an untouched
        // route still uses.
        let mut keep: BTreeSet<&String> = BTreeSet::new();
        for r in api.routes.values() {
            keep.extend(integration_for(a, &target(&r.function)));
        }
        for (route, r) in &a.routes {
            if api
                .routes
                .get(route)
                .is_some_and(|w| w.responds == r.responds && points(a, r, &w.function))
            {
                keep.extend(r.integration.as_ref());
            }
        }
        for id in a.integrations.keys() {
            if !keep.contains(id) {
                p.push(WebsocketStep::DeleteWebsocketIntegration {
                    integration: id.clone(),
                });
            }
        }
    }
    if !observed.is_some_and(|a| a.has_stage) {
        p.push(WebsocketStep::CreateWebsocketStage {
            api: api.name.clone(),
            stage: api.stage.clone(),
        });
    }
}

/// The WebSocket API of the `websocket` events, named and described as Serverless v3 does.
pub(super) fn desired(
    config: &Config,
    stage: &str,
    events: &[Of<'_, &WebsocketEvent>],
) -> Option<WebsocketSpec> {
    let p = &config.provider;
    let mut routes = BTreeMap::new();
    for (key, w) in events {
        let route = WebsocketRoute {
            function: key.to_string(),
            responds: w.route_response_selection_expression.is_some(),
        };
        routes.insert(w.route.trim().to_string(), route);
    }
    (!routes.is_empty()).then(|| WebsocketSpec {
        name: p
            .websockets_api_name
            .clone()
            .unwrap_or_else(|| format!("{stage}-{}-websockets", config.service)),
        description: p
            .websockets_description
            .clone()
            .unwrap_or_else(|| super::websocket::DESCRIPTION.into()),
        route_selection: p
            .websockets_api_route_selection_expression
            .clone()
            .unwrap_or_else(|| super::websocket::ROUTE_SELECTION.into()),
        stage: stage.into(),
        routes,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::{actions, desired};
    use super::*;

    pub fn spec() -> WebsocketSpec {
        WebsocketSpec {
            name: "dev-svc-websockets".into(),
            description: DESCRIPTION.into(),
            route_selection: ROUTE_SELECTION.into(),
            stage: "dev".into(),
            routes: BTreeMap::from([
                (
                    "$connect".into(),
                    WebsocketRoute {
                        function: "a".into(),
                        responds: false,
                    },
                ),
                (
                    "echo".into(),
                    WebsocketRoute {
                        function: "b".into(),
                        responds: true,
                    },
                ),
            ]),
        }
    }

    /// What AWS holds once `d`'s WebSocket API is deployed.
    pub fn converged(d: &Desired) -> ObservedWebsocket {
        let api = d.websocket.as_ref().unwrap();
        let uri = |fk: &str| {
            format!(
                "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:{}/invocations",
                alias_arn_suffix(d, fk)
            )
        };
        let mut integrations = BTreeMap::new();
        let mut routes = BTreeMap::new();
        for (i, (route, r)) in api.routes.iter().enumerate() {
            let id = format!("i-{}", r.function);
            integrations.insert(id.clone(), uri(&r.function));
            routes.insert(
                route.clone(),
                ObservedWebsocketRoute {
                    id: format!("r{i}"),
                    integration: Some(id),
                    responds: r.responds,
                },
            );
        }
        ObservedWebsocket {
            id: "w1".into(),
            name: api.name.clone(),
            owned: true,
            description: api.description.clone(),
            route_selection: api.route_selection.clone(),
            routes,
            integrations,
            has_stage: true,
        }
    }

    fn with_ws() -> Desired {
        let mut d = desired();
        d.websocket = Some(spec());
        d
    }

    fn run(d: &Desired, ws: Option<ObservedWebsocket>) -> Plan {
        let o = Observed {
            websocket: ws,
            ..Default::default()
        };
        let mut p = Plan::default();
        plan(d, &o, &mut p);
        p
    }

    #[test]
    fn nothing_deployed_makes_the_api_integrations_routes_then_the_stage() {
        let d = with_ws();
        assert_eq!(
            actions(&run(&d, None)),
            [
                "createWebsocketApi",
                "createWebsocketIntegration",
                "createWebsocketIntegration",
                "createWebsocketRoute",
                "createWebsocketRoute",
                "createWebsocketStage"
            ]
        );
        assert!(run(&d, Some(converged(&d))).is_empty());
    }

    #[test]
    fn a_route_moves_answers_or_goes_and_unused_integrations_go_with_it() {
        let d = with_ws();
        let o = converged(&d);
        let mut moved = d.clone();
        let ws = moved.websocket.as_mut().unwrap();
        ws.routes.get_mut("$connect").unwrap().function = "b".into();
        assert_eq!(
            actions(&run(&moved, Some(o.clone()))),
            ["updateWebsocketRoute", "deleteWebsocketIntegration"]
        );
        let mut answers = d.clone();
        let ws = answers.websocket.as_mut().unwrap();
        ws.routes.get_mut("echo").unwrap().responds = false;
        ws.route_selection = "$request.body.type".into();
        assert_eq!(
            actions(&run(&answers, Some(o.clone()))),
            ["updateWebsocketApi", "replaceWebsocketRoute"]
        );
        let mut fewer = d.clone();
        fewer.websocket.as_mut().unwrap().routes.remove("echo");
        assert_eq!(
            actions(&run(&fewer, Some(o.clone()))),
            ["deleteWebsocketRoute", "deleteWebsocketIntegration"]
        );
        let mut none = d.clone();
        none.websocket = None;
        let p = run(&none, Some(o));
        assert_eq!(actions(&p), ["deleteWebsocketApi"]);
        assert_eq!(
            p.steps[0].removes().as_deref(),
            Some("WebSocket API dev-svc-websockets (w1)")
        );
    }

    #[test]
    fn an_api_of_our_name_that_is_not_ours_is_a_conflict_and_never_touched() {
        let d = with_ws();
        let mut o = converged(&d);
        o.owned = false;
        let p = run(&d, Some(o.clone()));
        assert!(p.steps.is_empty());
        assert_eq!(p.conflicts.len(), 1);
        let mut none = d;
        none.websocket = None;
        let p = run(&none, Some(o));
        assert!(p.steps.is_empty());
        assert_eq!(p.left_alone, ["WebSocket API dev-svc-websockets (w1)"]);
    }

    #[test]
    fn urls_follow_the_partition() {
        assert_eq!(
            url("w1", "cn-north-1", "dev"),
            "wss://w1.execute-api.cn-north-1.amazonaws.com.cn/dev"
        );
        assert!(invokes(
            "arn:aws:apigateway:r:lambda:path/2015-03-31/functions/arn:aws:lambda:r:1:function:f:live/invocations",
            "function:f:live"
        ));
        assert!(!invokes(
            "arn:aws:apigateway:r:lambda:path/2015-03-31/functions/arn:aws:lambda:r:1:function:f:live2/invocations",
            "function:f:live"
        ));
    }
}
