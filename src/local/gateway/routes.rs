//! The route table: which API Gateway payload each route gets, routes ordered most specific
//! first, path templates matched with their parameters, and the local endpoints as printed.

use std::collections::BTreeMap;

use crate::plan::{Desired, split_route};
use crate::provider::aws::percent_decode;

/// Which API Gateway a route belongs to: where it is served and how errors and CORS look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The HTTP API, at `/path` as on its `$default` stage.
    Http,
    /// The REST API, at `/{stage}/path`.
    Rest,
}

/// The event shape a route's function receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// Payload format 2.0: the HTTP API's default.
    V2,
    /// Payload format 1.0: the REST API's proxy integration, and an HTTP API with
    /// `httpApi.payload: '1.0'` (the function's, else the provider's).
    V1,
    /// A REST route with `integration: lambda`: Serverless' default request template makes the
    /// event, the result passes through, errors are mapped to statuses by their message.
    Lambda,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub api: Api,
    pub payload: Payload,
    /// `GET`, or `ANY`.
    pub method: String,
    /// The path as configured (`/users/{id}`); for REST, without the stage.
    pub path: String,
    /// The route key (`GET /users/{id}`, `$default`) for the event.
    pub key: String,
    pub function: String,
    /// A REST route's `operationId`.
    pub operation_name: Option<String>,
}

/// The routes of `d`, most specific first, and the REST stage prefix (`/dev`).
pub fn routes(d: &Desired) -> Vec<Route> {
    let mut out = Vec::new();
    for (key, f) in d.http_api.iter().flat_map(|a| &a.routes) {
        let http_payload = match d.http_api.as_ref().map(|a| a.payload_of(f)) {
            Some("1.0") => Payload::V1,
            _ => Payload::V2,
        };
        let (method, path) = if key == "$default" {
            ("ANY", "/{proxy+}")
        } else {
            split_route(key)
        };
        out.push(Route {
            api: Api::Http,
            payload: http_payload,
            method: method.to_string(),
            path: path.to_string(),
            key: key.clone(),
            function: f.clone(),
            operation_name: None,
        });
    }
    for (key, f) in d.rest_api.iter().flat_map(|a| &a.routes) {
        let (method, path) = split_route(key);
        let lambda = d
            .rest_api
            .as_ref()
            .is_some_and(|a| a.lambda_integration.contains(key));
        out.push(Route {
            api: Api::Rest,
            payload: if lambda { Payload::Lambda } else { Payload::V1 },
            operation_name: d
                .rest_api
                .as_ref()
                .and_then(|a| a.operation_names.get(key).cloned()),
            method: method.to_string(),
            path: path.to_string(),
            key: key.clone(),
            function: f.clone(),
        });
    }
    // Literal segments beat parameters, which beat greedy ones; `$default` comes last.
    out.sort_by_key(|r| {
        let segs: Vec<&str> = r.path.split('/').filter(|s| !s.is_empty()).collect();
        let greedy = segs.iter().any(|s| s.ends_with("+}"));
        let params = segs.iter().filter(|s| s.starts_with('{')).count();
        (
            r.key == "$default",
            greedy,
            params,
            std::cmp::Reverse(segs.len()),
            r.method == "ANY",
        )
    });
    out
}

/// The path parameters when `path` matches the route's template.
pub(super) fn matches(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let t: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let p: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut params = BTreeMap::new();
    for (i, seg) in t.iter().enumerate() {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
            if i >= p.len() {
                return None;
            }
            params.insert(name.to_string(), percent_decode(&p[i..].join("/")));
            return Some(params);
        }
        let got = p.get(i)?;
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                params.insert(name.to_string(), percent_decode(got));
            }
            None if seg == got => {}
            None => return None,
        }
    }
    (t.len() == p.len()).then_some(params)
}

/// The local invoke URLs, printed like deploy prints the real endpoints.
pub fn endpoints(d: &Desired, base: &str, s: &crate::local::settings::Settings) -> Vec<String> {
    let base = format!("{base}{}", s.prefix);
    let stage = match (&d.rest_api, s.stage_in_url) {
        (Some(a), true) => format!("/{}", a.stage),
        _ => String::new(),
    };
    routes(d)
        .iter()
        .map(|r| match r.api {
            Api::Http if r.key == "$default" => format!("ANY - {base}/"),
            Api::Http => format!("{} - {base}{}", r.method, r.path),
            Api::Rest => format!("{} - {base}{stage}{}", r.method, r.path),
        })
        .collect()
}
