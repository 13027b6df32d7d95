//! Resource-policy statements on a function's live alias that let an API invoke it, one fixed
//! statement id per API kind. AWS side: `provider::aws::permission`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::{Desired, Observed, Phase, Plan};

/// A function alias' resource policy: statement id → its source ARN (empty when unconditioned).
pub type Statements = BTreeMap<String, String>;

/// Which API a permission lets invoke a function's alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ApiKind {
    HttpApi,
    RestApi,
    WebsocketApi,
    /// The service's EventBridge rules on the default bus (`schedule`, `eventBridge` events).
    Schedule,
    /// The service's rules on other buses (`eventBridge` events with `eventBus`).
    EventBus,
}

impl ApiKind {
    /// The permission's statement id: fixed, so granting again replaces rather than adds.
    pub fn statement_id(self) -> &'static str {
        match self {
            ApiKind::HttpApi => "sls-httpapi",
            ApiKind::RestApi => "sls-restapi",
            ApiKind::WebsocketApi => "sls-websocket",
            ApiKind::Schedule => "sls-schedule",
            ApiKind::EventBus => "sls-eventbus",
        }
    }

    fn label(self) -> &'static str {
        match self {
            ApiKind::HttpApi => "HTTP API",
            ApiKind::RestApi => "REST API",
            ApiKind::WebsocketApi => "WebSocket API",
            ApiKind::Schedule => "EventBridge rules",
            ApiKind::EventBus => "EventBridge rules on other buses",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum PermissionStep {
    #[serde(rename_all = "camelCase")]
    AddPermission {
        function: String,
        function_name: String,
        api: ApiKind,
    },
    #[serde(rename_all = "camelCase")]
    RemovePermission {
        function: String,
        function_name: String,
        api: ApiKind,
    },
}

impl PermissionStep {
    pub fn function_name(&self) -> &str {
        match self {
            PermissionStep::AddPermission { function_name, .. }
            | PermissionStep::RemovePermission { function_name, .. } => function_name,
        }
    }
}

impl super::KindStep for PermissionStep {
    fn phase(&self) -> Phase {
        match self {
            PermissionStep::AddPermission { .. } | PermissionStep::RemovePermission { .. } => {
                Phase::Permissions
            }
        }
    }

    fn lane(&self) -> String {
        format!("function {}", self.function_name())
    }
}

impl fmt::Display for PermissionStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PermissionStep::AddPermission {
                function_name, api, ..
            } => write!(
                f,
                "+ permission: {} may invoke {function_name}",
                api.label()
            ),
            PermissionStep::RemovePermission {
                function_name, api, ..
            } => write!(
                f,
                "- permission: {} may invoke {function_name}",
                api.label()
            ),
        }
    }
}

/// For each desired function and API kind: granted when the API routes to it (again when the
/// grant names an API replaced since), revoked when it no longer does. Only on a deploy to the
/// live alias: the APIs route to it alone.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    if d.alias != d.live {
        return;
    }
    let routed = |routes: Option<&BTreeMap<String, String>>| -> BTreeSet<String> {
        routes
            .into_iter()
            .flat_map(|r| r.values().cloned())
            .collect()
    };
    let apis = [
        (
            ApiKind::HttpApi,
            routed(d.http_api.as_ref().map(|a| &a.routes)),
            o.http_api
                .as_ref()
                .filter(|a| a.owned)
                .map(|a| a.id.as_str()),
        ),
        (
            ApiKind::RestApi,
            routed(d.rest_api.as_ref().map(|a| &a.routes)),
            o.rest_api
                .as_ref()
                .filter(|a| a.owned)
                .map(|a| a.id.as_str()),
        ),
        (
            ApiKind::WebsocketApi,
            d.websocket
                .iter()
                .flat_map(|w| w.routes.values().map(|r| r.function.clone()))
                .collect(),
            o.websocket
                .as_ref()
                .filter(|a| a.owned)
                .map(|a| a.id.as_str()),
        ),
    ];
    let on = |other_bus: bool| -> BTreeSet<String> {
        d.rules
            .iter()
            .filter(|r| r.bus.is_some() == other_bus)
            .map(|r| r.function.clone())
            .collect()
    };
    // The grants cover every rule named with the service's prefix: on the default bus, and on
    // any other (`rule/{bus}/{name}`).
    let prefix = super::rule_prefix(&d.service, &d.stage);
    let rules_source = format!(":rule/{prefix}*");
    let bus_rules_source = format!(":rule/*/{prefix}*");
    for f in &d.functions {
        // A function that is not ours is a conflict of the function room, never touched.
        if o.functions.get(&f.name).is_some_and(|of| !of.owned) {
            continue;
        }
        let statements = o.permissions.get(&f.name);
        let schedule = (ApiKind::Schedule, on(false), None);
        let buses = (ApiKind::EventBus, on(true), None);
        // `deploy function` leaves the APIs (and their grants) to `deploy`.
        let apis = if d.function_only {
            &apis[..0]
        } else {
            &apis[..]
        };
        for (api, keys, api_id) in apis.iter().chain([&schedule, &buses]) {
            let granted = statements.and_then(|s| s.get(api.statement_id()));
            let current = granted.is_some_and(|source| match api {
                ApiKind::Schedule => source.ends_with(&rules_source),
                ApiKind::EventBus => source.ends_with(&bus_rules_source),
                ApiKind::HttpApi | ApiKind::RestApi | ApiKind::WebsocketApi => {
                    api_id.is_some_and(|id| source.contains(&format!(":{id}/")))
                }
            });
            let (function, function_name, api) = (f.key.clone(), f.name.clone(), *api);
            if keys.contains(&f.key) && !current {
                p.push(PermissionStep::AddPermission {
                    function,
                    function_name,
                    api,
                });
            } else if !keys.contains(&f.key) && granted.is_some() {
                p.push(PermissionStep::RemovePermission {
                    function,
                    function_name,
                    api,
                });
            }
        }
    }
}

/// A statement id of `prefix` and `text` in the characters Lambda allows (others become `-`),
/// within its 100 characters.
pub fn statement_id(prefix: &str, text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{prefix}{safe}").chars().take(100).collect()
}

/// The grants of an event kind (statement ids starting with `prefix`) that `d`'s functions hold
/// and the config no longer asks for: `(function name, statement id)`, for the kind to revoke.
/// `wanted(function, rest)` says whether the function still wants the grant whose id is
/// `prefix` + `rest`.
pub fn stale_grants(
    d: &Desired,
    o: &Observed,
    prefix: &str,
    wanted: impl Fn(&super::FunctionSpec, &str) -> bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in &d.functions {
        for sid in o
            .permissions
            .get(&f.name)
            .into_iter()
            .flat_map(|s| s.keys())
        {
            if let Some(rest) = sid.strip_prefix(prefix)
                && !wanted(f, rest)
            {
                out.push((f.name.clone(), sid.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::{actions, desired};
    use super::super::{http_api, rest_api};
    use super::*;

    /// The statements of `d`'s functions once deployed, for APIs `h1` (HTTP) and `r1` (REST).
    pub fn converged(d: &Desired) -> BTreeMap<String, Statements> {
        let mut out: BTreeMap<String, Statements> = BTreeMap::new();
        for (api, routes, id) in [
            (
                ApiKind::HttpApi,
                d.http_api.as_ref().map(|a| &a.routes),
                "h1",
            ),
            (
                ApiKind::RestApi,
                d.rest_api.as_ref().map(|a| &a.routes),
                "r1",
            ),
        ] {
            for fk in routes.into_iter().flat_map(|r| r.values()) {
                let name = d
                    .functions
                    .iter()
                    .find(|f| &f.key == fk)
                    .unwrap()
                    .name
                    .clone();
                out.entry(name).or_default().insert(
                    api.statement_id().into(),
                    format!("arn:aws:execute-api:eu-west-1:1:{id}/*"),
                );
            }
        }
        out
    }

    fn run(d: &Desired, permissions: BTreeMap<String, Statements>) -> Plan {
        let o = Observed {
            permissions,
            http_api: Some(http_api::tests::converged(d)),
            rest_api: Some(rest_api::tests::converged(d)),
            ..Default::default()
        };
        let mut p = Plan::default();
        plan(d, &o, &mut p);
        p
    }

    #[test]
    fn converged_needs_nothing_and_a_grant_for_a_replaced_api_is_made_again() {
        let d = desired();
        assert!(run(&d, converged(&d)).is_empty());
        let mut s = converged(&d);
        s.get_mut("svc-dev-a")
            .unwrap()
            .insert("sls-httpapi".into(), "arn:...:old/*".into());
        assert_eq!(actions(&run(&d, s)), ["addPermission"]);
    }

    #[test]
    fn an_unrouted_function_loses_its_grant_and_a_staged_deploy_touches_none() {
        let mut d = desired();
        let s = converged(&d);
        d.http_api.as_mut().unwrap().routes.clear();
        assert_eq!(actions(&run(&d, s.clone())), ["removePermission"]);
        d.alias = "next".into();
        assert!(run(&d, BTreeMap::new()).is_empty());
    }
}
