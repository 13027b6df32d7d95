//! `sls offline`'s API Gateway: the service's `httpApi` routes (payload 2.0, at `/path` as on
//! the HTTP API's `$default` stage) and `http` routes (payload 1.0, at `/{stage}/path` as on the
//! REST API), with path parameters, query strings, headers, base64 bodies and CORS as
//! configured, in front of the local workers.
pub mod alb;
pub mod auth;
mod events;
mod responses;
mod routes;
pub mod validate;
pub mod websocket;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Request, Response, StatusCode};
use tokio::net::TcpListener;

use super::http::json as json_response;
use super::settings::{RestCors, Settings};
use super::{Outcome, Pool};
use crate::plan::Desired;
use crate::plan::http_api::CorsSpec;
use crate::plan::websocket::WebsocketSpec;

use events::*;
use responses::*;
use routes::matches;
pub use routes::{Api, Payload, Route, endpoints, routes};

/// What the gateway serves; replaced whole when `--watch` repackages.
pub struct Served {
    pub routes: Vec<Route>,
    pub stage: String,
    pub http_cors: Option<CorsSpec>,
    pub rest_cors: BTreeMap<String, BTreeMap<String, String>>,
    pub pools: HashMap<String, Arc<Pool>>,
    /// The `websocket` routes, served on their own port.
    pub websocket: Option<WebsocketSpec>,
    /// The `alb` events' listener rules, served on their own port.
    pub alb: Vec<alb::AlbRoute>,
    /// The deployed stage (`--stage`), which serverless-offline put before ALB paths.
    pub service_stage: String,
    pub region: String,
    /// The routes' Lambda authorizers that run here, and the API keys of private routes.
    pub access: auth::Access,
}

pub struct Gateway {
    current: std::sync::RwLock<Arc<Served>>,
    settings: Settings,
}

impl Gateway {
    pub fn new(
        d: &Desired,
        pools: HashMap<String, Arc<Pool>>,
        settings: &Settings,
        access: auth::Access,
    ) -> Gateway {
        Gateway {
            current: std::sync::RwLock::new(Arc::new(Served::new(d, pools, access))),
            settings: settings.clone(),
        }
    }

    /// The current workers of every function, by deployed name (the Lambda API's view).
    pub fn pool_named(&self, name: &str) -> Option<Arc<Pool>> {
        let served = self.current.read().unwrap().clone();
        served
            .pools
            .values()
            .find(|p| p.function().name == name)
            .cloned()
    }

    /// The current workers of a function.
    pub fn pool(&self, function: &str) -> Option<Arc<Pool>> {
        self.current.read().unwrap().pools.get(function).cloned()
    }

    /// The WebSocket routes now served.
    pub fn websocket(&self) -> Option<WebsocketSpec> {
        self.current.read().unwrap().websocket.clone()
    }

    /// Serves `d` with `pools` from the next request on; requests in flight finish on the old
    /// workers, which stop when their last invocation drops them.
    pub fn replace(&self, d: &Desired, pools: HashMap<String, Arc<Pool>>, access: auth::Access) {
        *self.current.write().unwrap() = Arc::new(Served::new(d, pools, access));
    }
}

impl Served {
    fn new(d: &Desired, pools: HashMap<String, Arc<Pool>>, access: auth::Access) -> Served {
        Served {
            routes: routes(d),
            stage: d
                .rest_api
                .as_ref()
                .map(|a| a.stage.clone())
                .unwrap_or_default(),
            http_cors: d.http_api.as_ref().and_then(|a| a.cors.clone()),
            rest_cors: d
                .rest_api
                .as_ref()
                .map(|a| a.cors.clone())
                .unwrap_or_default(),
            pools,
            websocket: d.websocket.clone(),
            alb: alb::routes(d),
            service_stage: d.stage.clone(),
            region: d.region.clone(),
            access,
        }
    }
}

/// Serves the gateway on `listener` until the process ends.
pub async fn serve(listener: TcpListener, gw: Arc<Gateway>) {
    while let Ok((stream, _)) = listener.accept().await {
        let gw = gw.clone();
        super::http::spawn_connection(stream, move |req| {
            let gw = gw.clone();
            async move { handle(&gw, req).await }
        });
    }
}

/// What came in, read once for both payload formats.
async fn handle(gateway: &Gateway, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let served = gateway.current.read().unwrap().clone();
    let gw = &*served;
    let settings = &gateway.settings;
    let (parts, body) = req.into_parts();
    // serverless-offline's `prefix` comes before every route.
    let Some(path) = parts
        .uri
        .path()
        .strip_prefix(settings.prefix.as_str())
        .filter(|p| p.is_empty() || p.starts_with('/'))
        .map(|p| if p.is_empty() { "/" } else { p })
        .map(str::to_string)
    else {
        return json_response(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#);
    };
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return json_response(StatusCode::BAD_REQUEST, r#"{"message":"Bad Request"}"#),
    };
    let inc = Incoming1 {
        method: parts.method.as_str().to_string(),
        path,
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts.headers,
        body,
    };
    // REST routes are under their stage, as on the stage's URL, unless `noPrependStageInUrl`.
    let rest_prefix = match settings.stage_in_url {
        true => format!("/{}", gw.stage),
        false => String::new(),
    };
    let rest_path = inc
        .path
        .strip_prefix(&rest_prefix)
        .filter(|p| p.is_empty() || p.starts_with('/'))
        .map(|p| if p.is_empty() { "/" } else { p });
    let preflight =
        inc.method == "OPTIONS" && inc.headers.contains_key("access-control-request-method");
    for r in &gw.routes {
        let path = match r.api {
            Api::Http => inc.path.as_str(),
            Api::Rest => match rest_path {
                Some(p) => p,
                None => continue,
            },
        };
        let Some(params) = matches(&r.path, path) else {
            continue;
        };
        if preflight {
            match r.api {
                Api::Http => {
                    if let Some(c) = &gw.http_cors {
                        return http_api_preflight(c, &inc.headers);
                    }
                }
                Api::Rest => {
                    if let Some(h) = gw.rest_cors.get(&r.path) {
                        let mut resp = json_response(StatusCode::OK, "");
                        for (k, v) in h {
                            if let (Ok(k), Ok(v)) =
                                (k.parse::<hyper::header::HeaderName>(), v.parse())
                            {
                                resp.headers_mut().insert(k, v);
                            }
                        }
                        rest_cors_overrides(&settings.rest_cors, &inc.headers, resp.headers_mut());
                        return resp;
                    }
                }
            }
        }
        if r.method != "ANY" && r.method != inc.method {
            continue;
        }
        let Some(pool) = gw.pools.get(&r.function) else {
            continue;
        };
        let event = match (r.payload, r.api) {
            (Payload::Lambda, _) => event_lambda(&inc, r, &params, &gw.stage),
            (Payload::V2, _) => event_v2(&inc, r, &params),
            (Payload::V1, Api::Rest) => event_v1(
                &inc,
                r,
                &params,
                &gw.stage,
                &format!("/{}{path}", gw.stage),
                path,
            ),
            (Payload::V1, Api::Http) => event_v1(&inc, r, &params, "$default", path, path),
        };
        let mut event = event;
        // The route's authorizer decides first, unless `noAuth`.
        let lookup = match r.api {
            Api::Rest => format!("rest {}", r.key),
            Api::Http => format!("http {}", r.key),
        };
        // A private route needs one of the API keys, before any authorizer.
        if r.api == Api::Rest && !settings.no_auth && !gw.access.key_ok(&lookup, &inc.headers) {
            return json_response(StatusCode::FORBIDDEN, r#"{"message":"Forbidden"}"#);
        }
        if let Some(a) = gw
            .access
            .authorizers
            .get(&lookup)
            .filter(|_| !settings.no_auth)
        {
            let Some(values) = auth::identity(a, &inc) else {
                return json_response(StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#);
            };
            let verdict = match &a.kind {
                auth::Kind::Jwt { .. } => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs();
                    let token = values.first().map_or("", String::as_str);
                    auth::jwt(a, token, now, r.payload == Payload::V2)
                }
                auth::Kind::Token | auth::Kind::Request | auth::Kind::HttpRequest { .. } => {
                    let (stage, method) = match r.api {
                        Api::Rest => (gw.stage.as_str(), inc.method.as_str()),
                        Api::Http => ("$default", r.method.as_str()),
                    };
                    let arn = format!(
                        "arn:aws:execute-api:{}:000000000000:offlineContext_apiId/{stage}/{method}{path}",
                        gw.region
                    );
                    // A REQUEST authorizer sees the request in its own payload format, whatever
                    // the route's.
                    let base = match a.kind {
                        auth::Kind::HttpRequest { v2: true, .. } => event_v2(&inc, r, &params),
                        auth::Kind::HttpRequest { v2: false, .. } => {
                            let mut e = event_v1(&inc, r, &params, "$default", path, path);
                            e["version"] = serde_json::json!("1.0");
                            e
                        }
                        auth::Kind::Token | auth::Kind::Request | auth::Kind::Jwt { .. } => {
                            event_v1(
                                &inc,
                                r,
                                &params,
                                &gw.stage,
                                &format!("/{}{path}", gw.stage),
                                path,
                            )
                        }
                    };
                    let asked = auth::event(a, &values, &arn, &base);
                    auth::ask(gw.pools.get(&a.function), a, &asked, &arn).await
                }
            };
            match verdict {
                auth::Verdict::Allow(context) => event["requestContext"]["authorizer"] = context,
                auth::Verdict::Refuse(status, body) => return json_response(status, body),
            }
        }
        // The request validator, after the authorizer, as in API Gateway.
        if r.api == Api::Rest {
            let query: HashMap<String, Vec<String>> =
                events::query_pairs(&inc.query).into_iter().collect();
            let asked = validate::Asked {
                content_type: inc
                    .headers
                    .get(hyper::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
                body: &inc.body,
                query: &query,
                headers: &inc.headers,
                path: &params,
            };
            if let Err((message, why)) = gw.access.validation.check(&lookup, &asked) {
                eprintln!("{} {}: 400 ({why})", inc.method, inc.path);
                return json_response(
                    StatusCode::BAD_REQUEST,
                    &serde_json::json!({ "message": message }).to_string(),
                );
            }
        }
        let payload = Bytes::from(event.to_string());
        // API Gateway stops waiting for the function at its integration timeout (the function
        // may run on, to its own); `noTimeout` waits as long as it takes.
        let invoked = match settings.no_timeout {
            true => Some(pool.invoke(payload, None).await),
            false => tokio::time::timeout(integration_limit(r.api), pool.invoke(payload, None))
                .await
                .ok(),
        };
        let Some(invoked) = invoked else {
            return match r.api {
                Api::Rest => json_response(
                    StatusCode::GATEWAY_TIMEOUT,
                    r#"{"message": "Endpoint request timed out"}"#,
                ),
                Api::Http => json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    r#"{"message":"Service Unavailable"}"#,
                ),
            };
        };
        let mut resp = match invoked {
            Ok(done) => match (&done.outcome, r.payload, r.api) {
                (o, Payload::Lambda, _) => response_lambda(o),
                (Outcome::Ok(b), Payload::V2, _) => response_v2(b),
                (Outcome::Ok(b), Payload::V1, api) => response_v1(b, api == Api::Rest),
                (Outcome::Error(_), _, Api::Http) => json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    r#"{"message":"Internal Server Error"}"#,
                ),
                (Outcome::Error(_), _, Api::Rest) => json_response(
                    StatusCode::BAD_GATEWAY,
                    r#"{"message": "Internal server error"}"#,
                ),
            },
            Err(e) => {
                eprintln!("error: {e}");
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    r#"{"message":"Internal Server Error"}"#,
                )
            }
        };
        match r.api {
            Api::Http => {
                if let Some(c) = &gw.http_cors {
                    cors_headers(c, &inc.headers, resp.headers_mut());
                }
            }
            // The function answers CORS itself behind a REST API; the `cors*` settings, when
            // given, add what serverless-offline adds.
            Api::Rest => {
                if settings.rest_cors.any() && gw.rest_cors.contains_key(&r.path) {
                    rest_cors_overrides(&settings.rest_cors, &inc.headers, resp.headers_mut());
                }
            }
        }
        return resp;
    }
    // An HTTP API with CORS answers every preflight itself, whether a route has the path or not.
    if preflight
        && let Some(c) = &gw.http_cors
        && !(rest_path.is_some() && gw.routes.iter().any(|r| r.api == Api::Rest))
    {
        return http_api_preflight(c, &inc.headers);
    }
    if rest_path.is_some() && gw.routes.iter().any(|r| r.api == Api::Rest) {
        return json_response(
            StatusCode::FORBIDDEN,
            r#"{"message":"Missing Authentication Token"}"#,
        );
    }
    json_response(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#)
}

/// AWS's wildcard match (ELB conditions, IAM policy resources): `*` any run of characters, `?`
/// one; `fold_case` for the case-insensitive ones.
pub(super) fn wildcard(pattern: &str, text: &str, fold_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = match fold_case {
        true => (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        ),
        false => (pattern.chars().collect(), text.chars().collect()),
    };
    // Greedy with one backtrack point, enough for `*` and `?`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

/// How long API Gateway waits for a Lambda integration: 29 s on a REST API, 30 s on an HTTP API
/// (their default and maximum).
fn integration_limit(api: Api) -> std::time::Duration {
    std::time::Duration::from_secs(match api {
        Api::Rest => 29,
        Api::Http => 30,
    })
}

/// An HTTP API's answer to a CORS preflight: API Gateway answers it itself, from the API's
/// CORS configuration.
fn http_api_preflight(c: &CorsSpec, request: &HeaderMap) -> Response<Full<Bytes>> {
    let mut r = json_response(StatusCode::NO_CONTENT, "");
    let h = r.headers_mut();
    h.remove("content-type");
    cors_headers(c, request, h);
    let mut set = |name: &'static str, v: String| {
        if let Ok(v) = v.parse() {
            h.insert(name, v);
        }
    };
    set("access-control-allow-methods", c.allow_methods.join(","));
    set("access-control-allow-headers", c.allow_headers.join(","));
    if let Some(age) = c.max_age {
        set("access-control-max-age", age.to_string());
    }
    r
}

/// The CORS headers of an answer to a request with an `Origin` it allows.
fn cors_headers(c: &CorsSpec, request: &HeaderMap, h: &mut HeaderMap) {
    let Some(origin) = request.get("origin").and_then(|o| o.to_str().ok()) else {
        return;
    };
    let allowed = if c.allow_origins.iter().any(|o| o == "*") {
        "*"
    } else if c.allow_origins.iter().any(|o| o == origin) {
        origin
    } else {
        return;
    };
    let mut set = |name: &'static str, v: &str| {
        if let Ok(v) = v.parse() {
            h.insert(name, v);
        }
    };
    set("access-control-allow-origin", allowed);
    if c.allow_credentials {
        set("access-control-allow-credentials", "true");
    }
    if !c.expose_headers.is_empty() {
        set("access-control-expose-headers", &c.expose_headers.join(","));
    }
}

/// serverless-offline's `cors*` settings over a REST route's CORS headers.
fn rest_cors_overrides(c: &RestCors, request: &HeaderMap, h: &mut HeaderMap) {
    let mut set = |name: &'static str, v: Option<&str>| match v.and_then(|v| v.parse().ok()) {
        Some(v) => {
            h.insert(name, v);
        }
        None => {
            h.remove(name);
        }
    };
    if let Some(origins) = &c.allow_origins {
        let origin = request.get("origin").and_then(|o| o.to_str().ok());
        let allowed = if origins.iter().any(|o| o == "*") {
            Some("*")
        } else {
            origin.filter(|o| origins.iter().any(|a| a == o))
        };
        set("access-control-allow-origin", allowed);
    }
    if let Some(headers) = &c.allow_headers {
        set("access-control-allow-headers", Some(headers));
    }
    if let Some(exposed) = &c.exposed_headers {
        set("access-control-expose-headers", Some(exposed));
    }
    if let Some(credentials) = c.allow_credentials {
        set(
            "access-control-allow-credentials",
            credentials.then_some("true"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_literals_parameters_and_greedy_tails() {
        assert_eq!(matches("/users", "/users"), Some(BTreeMap::new()));
        assert_eq!(matches("/users", "/users/1"), None);
        let p = matches("/users/{id}", "/users/a%20b").unwrap();
        assert_eq!(p["id"], "a b");
        let p = matches("/files/{path+}", "/files/a/b/c").unwrap();
        assert_eq!(p["path"], "a/b/c");
        assert_eq!(matches("/files/{path+}", "/files"), None);
        assert_eq!(matches("/", "/"), Some(BTreeMap::new()));
    }

    #[test]
    fn query_strings_keep_every_value_in_order() {
        let q = query_pairs("a=1&b=x%2By&a=2&c&d=hello+world");
        assert_eq!(q[0], ("a".into(), vec!["1".into(), "2".into()]));
        assert_eq!(q[1], ("b".into(), vec!["x+y".into()]));
        assert_eq!(q[2], ("c".into(), vec![String::new()]));
        assert_eq!(q[3], ("d".into(), vec!["hello world".into()]));
    }

    #[test]
    fn responses_follow_each_payload_format() {
        let r = response_v2(&Bytes::from(r#"{"hello":"world"}"#));
        assert_eq!(r.status(), StatusCode::OK);
        let r = response_v2(&Bytes::from(
            r#"{"statusCode":201,"headers":{"x-a":"1"},"cookies":["a=1","b=2"],"body":"aGk=","isBase64Encoded":true}"#,
        ));
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()["x-a"], "1");
        assert_eq!(r.headers().get_all("set-cookie").iter().count(), 2);
        let r = response_v1(&Bytes::from(r#"{"hello":"world"}"#), true);
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let r = response_v1(&Bytes::from(r#"{"hello":"world"}"#), false);
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // API Gateway's own Content-Type where the function names none.
        let r = response_v1(&Bytes::from(r#"{"statusCode":200,"body":"x"}"#), true);
        assert_eq!(r.headers()["content-type"], "application/json");
        let r = response_v2(&Bytes::from(r#"{"statusCode":200,"body":"x"}"#));
        assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
        let r = response_v1(
            &Bytes::from(r#"{"statusCode":404,"multiValueHeaders":{"x-b":["1","2"]},"body":"no"}"#),
            true,
        );
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers().get_all("x-b").iter().count(), 2);
    }

    #[test]
    fn request_time_is_in_api_gateways_log_format() {
        let (_, t) = now();
        // 25/Nov/2026:22:48:12 +0000
        assert_eq!(t.len(), 26, "{t}");
        assert_eq!(&t[2..3], "/");
        assert!(t.ends_with(" +0000"));
    }
}
