//! `sls offline`'s API Gateway: the service's `httpApi` routes (payload 2.0, at `/path` as on
//! the HTTP API's `$default` stage) and `http` routes (payload 1.0, at `/{stage}/path` as on the
//! REST API), with path parameters, query strings, headers, base64 bodies and CORS as
//! configured, in front of the local workers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_smithy_types::base64;
use aws_smithy_types::date_time::{DateTime, Format};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use super::http::json as json_response;
use super::{Outcome, Pool};
use crate::plan::{Desired, http_api::CORS_HEADERS as HTTP_API_CORS_HEADERS, split_route};
use crate::provider::aws::percent_decode;

/// Which API Gateway a route belongs to, and so the event shape its function receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// HTTP API, payload format 2.0.
    V2,
    /// REST API proxy integration, payload format 1.0.
    V1,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub payload: Payload,
    /// `GET`, or `ANY`.
    pub method: String,
    /// The path as configured (`/users/{id}`); for REST, without the stage.
    pub path: String,
    /// The route key (`GET /users/{id}`, `$default`) for the event.
    pub key: String,
    pub function: String,
}

/// The routes of `d`, most specific first, and the REST stage prefix (`/dev`).
pub fn routes(d: &Desired) -> Vec<Route> {
    let mut out = Vec::new();
    for (key, f) in d.http_api.iter().flat_map(|a| &a.routes) {
        let (method, path) = if key == "$default" {
            ("ANY", "/{proxy+}")
        } else {
            split_route(key)
        };
        out.push(Route {
            payload: Payload::V2,
            method: method.to_string(),
            path: path.to_string(),
            key: key.clone(),
            function: f.clone(),
        });
    }
    for (key, f) in d.rest_api.iter().flat_map(|a| &a.routes) {
        let (method, path) = split_route(key);
        out.push(Route {
            payload: Payload::V1,
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
fn matches(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
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
pub fn endpoints(d: &Desired, base: &str) -> Vec<String> {
    let stage = d.rest_api.as_ref().map(|a| a.stage.as_str()).unwrap_or("");
    routes(d)
        .iter()
        .map(|r| match r.payload {
            Payload::V2 if r.key == "$default" => format!("ANY - {base}/"),
            Payload::V2 => format!("{} - {base}{}", r.method, r.path),
            Payload::V1 => format!("{} - {base}/{stage}{}", r.method, r.path),
        })
        .collect()
}

/// What the gateway serves; replaced whole when `--watch` repackages.
pub struct Served {
    pub routes: Vec<Route>,
    pub stage: String,
    pub http_cors: bool,
    pub rest_cors: BTreeMap<String, BTreeMap<String, String>>,
    pub pools: HashMap<String, Arc<Pool>>,
}

pub struct Gateway {
    current: std::sync::RwLock<Arc<Served>>,
}

impl Gateway {
    pub fn new(d: &Desired, pools: HashMap<String, Arc<Pool>>) -> Gateway {
        Gateway {
            current: std::sync::RwLock::new(Arc::new(Served::new(d, pools))),
        }
    }

    /// Serves `d` with `pools` from the next request on; requests in flight finish on the old
    /// workers, which stop when their last invocation drops them.
    pub fn replace(&self, d: &Desired, pools: HashMap<String, Arc<Pool>>) {
        *self.current.write().unwrap() = Arc::new(Served::new(d, pools));
    }
}

impl Served {
    fn new(d: &Desired, pools: HashMap<String, Arc<Pool>>) -> Served {
        Served {
            routes: routes(d),
            stage: d
                .rest_api
                .as_ref()
                .map(|a| a.stage.clone())
                .unwrap_or_default(),
            http_cors: d.http_api.as_ref().is_some_and(|a| a.cors),
            rest_cors: d
                .rest_api
                .as_ref()
                .map(|a| a.cors.clone())
                .unwrap_or_default(),
            pools,
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
struct Incoming1 {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Bytes,
}

async fn handle(gw: &Gateway, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let served = gw.current.read().unwrap().clone();
    let gw = &*served;
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return json_response(StatusCode::BAD_REQUEST, r#"{"message":"Bad Request"}"#),
    };
    let inc = Incoming1 {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts.headers,
        body,
    };
    let rest_prefix = format!("/{}", gw.stage);
    let rest_path = inc
        .path
        .strip_prefix(&rest_prefix)
        .filter(|p| p.is_empty() || p.starts_with('/'))
        .map(|p| if p.is_empty() { "/" } else { p });
    let preflight =
        inc.method == "OPTIONS" && inc.headers.contains_key("access-control-request-method");
    for r in &gw.routes {
        let path = match r.payload {
            Payload::V2 => inc.path.as_str(),
            Payload::V1 => match rest_path {
                Some(p) => p,
                None => continue,
            },
        };
        let Some(params) = matches(&r.path, path) else {
            continue;
        };
        if preflight {
            match r.payload {
                Payload::V2 if gw.http_cors => return http_api_preflight(),
                Payload::V1 => {
                    if let Some(h) = gw.rest_cors.get(&r.path) {
                        let mut resp = json_response(StatusCode::OK, "");
                        for (k, v) in h {
                            if let (Ok(k), Ok(v)) =
                                (k.parse::<hyper::header::HeaderName>(), v.parse())
                            {
                                resp.headers_mut().insert(k, v);
                            }
                        }
                        return resp;
                    }
                }
                Payload::V2 => {}
            }
        }
        if r.method != "ANY" && r.method != inc.method {
            continue;
        }
        let Some(pool) = gw.pools.get(&r.function) else {
            continue;
        };
        let event = match r.payload {
            Payload::V2 => event_v2(&inc, r, &params),
            Payload::V1 => event_v1(&inc, r, &params, &gw.stage, path),
        };
        let payload = Bytes::from(event.to_string());
        let mut resp = match pool.invoke(payload, None).await {
            Ok(done) => match (&done.outcome, r.payload) {
                (Outcome::Ok(b), Payload::V2) => response_v2(b),
                (Outcome::Ok(b), Payload::V1) => response_v1(b),
                (Outcome::Error(_), Payload::V2) => json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    r#"{"message":"Internal Server Error"}"#,
                ),
                (Outcome::Error(_), Payload::V1) => json_response(
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
        if r.payload == Payload::V2 && gw.http_cors && inc.headers.contains_key("origin") {
            resp.headers_mut()
                .insert("access-control-allow-origin", "*".parse().unwrap());
        }
        return resp;
    }
    if rest_path.is_some() && gw.routes.iter().any(|r| r.payload == Payload::V1) {
        return json_response(
            StatusCode::FORBIDDEN,
            r#"{"message":"Missing Authentication Token"}"#,
        );
    }
    json_response(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#)
}

fn http_api_preflight() -> Response<Full<Bytes>> {
    let mut r = json_response(StatusCode::NO_CONTENT, "");
    let h = r.headers_mut();
    h.remove("content-type");
    h.insert("access-control-allow-origin", "*".parse().unwrap());
    h.insert("access-control-allow-methods", "*".parse().unwrap());
    if let Ok(v) = HTTP_API_CORS_HEADERS.join(",").to_lowercase().parse() {
        h.insert("access-control-allow-headers", v);
    }
    r
}

/// Text stays text; anything else travels base64-encoded, as API Gateway does for binary.
fn body_of(inc: &Incoming1) -> (Option<String>, bool) {
    if inc.body.is_empty() {
        return (None, false);
    }
    let ct = inc
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let textual = ct.is_empty()
        || ct.starts_with("text/")
        || [
            "json",
            "xml",
            "javascript",
            "x-www-form-urlencoded",
            "yaml",
            "graphql",
        ]
        .iter()
        .any(|t| ct.contains(t));
    match std::str::from_utf8(&inc.body) {
        Ok(s) if textual => (Some(s.to_string()), false),
        _ => (Some(base64::encode(&inc.body)), true),
    }
}

/// Query parameters in order, each name with its values, decoded.
fn query_pairs(q: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (
            percent_decode(&k.replace('+', " ")),
            percent_decode(&v.replace('+', " ")),
        );
        match out.iter_mut().find(|(name, _)| *name == k) {
            Some((_, vs)) => vs.push(v),
            None => out.push((k, vec![v])),
        }
    }
    out
}

fn header_values(h: &HeaderMap) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in h {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        match out.iter_mut().find(|(name, _)| name == k.as_str()) {
            Some((_, vs)) => vs.push(v),
            None => out.push((k.as_str().to_string(), vec![v])),
        }
    }
    out
}

fn now() -> (u128, String) {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    // API Gateway writes the request time like a web server log: 24/Nov/2026:19:03:58 +0000.
    let http = DateTime::from_secs(epoch.as_secs() as i64)
        .fmt(Format::HttpDate)
        .unwrap_or_default();
    let p: Vec<&str> = http.split([' ', ',']).filter(|s| !s.is_empty()).collect();
    let clf = match p.as_slice() {
        [_, day, month, year, time, _] => format!("{day:0>2}/{month}/{year}:{time} +0000"),
        _ => http,
    };
    (epoch.as_millis(), clf)
}

fn request_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{:x}", nanos)
}

/// The HTTP API's payload format 2.0.
fn event_v2(inc: &Incoming1, r: &Route, params: &BTreeMap<String, String>) -> Value {
    let (epoch, time) = now();
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (k, vs) in header_values(&inc.headers) {
        if k == "cookie" {
            cookies.extend(vs.iter().flat_map(|v| v.split("; ").map(str::to_string)));
            continue;
        }
        headers.insert(k, Value::String(vs.join(",")));
    }
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("localhost")
        .to_string();
    let mut e = json!({
        "version": "2.0",
        "routeKey": r.key,
        "rawPath": inc.path,
        "rawQueryString": inc.query,
    });
    if !cookies.is_empty() {
        e["cookies"] = json!(cookies);
    }
    e["headers"] = Value::Object(headers.clone());
    let q = query_pairs(&inc.query);
    if !q.is_empty() {
        let m: Map<String, Value> = q
            .into_iter()
            .map(|(k, vs)| (k, Value::String(vs.join(","))))
            .collect();
        e["queryStringParameters"] = Value::Object(m);
    }
    e["requestContext"] = json!({
        "accountId": "offlineContext_accountId",
        "apiId": "offlineContext_apiId",
        "domainName": host,
        "domainPrefix": host.split('.').next().unwrap_or(&host),
        "http": {
            "method": inc.method,
            "path": inc.path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::String(String::new())),
        },
        "requestId": request_id(),
        "routeKey": r.key,
        "stage": "$default",
        "time": time,
        "timeEpoch": epoch as u64,
    });
    let (body, b64) = body_of(inc);
    if let Some(b) = body {
        e["body"] = Value::String(b);
    }
    if !params.is_empty() {
        e["pathParameters"] = json!(params);
    }
    e["isBase64Encoded"] = Value::Bool(b64);
    e
}

/// The REST API's proxy integration payload (format 1.0).
fn event_v1(
    inc: &Incoming1,
    r: &Route,
    params: &BTreeMap<String, String>,
    stage: &str,
    path: &str,
) -> Value {
    let (epoch, time) = now();
    let pairs = header_values(&inc.headers);
    let headers: Map<String, Value> = pairs
        .iter()
        .map(|(k, vs)| {
            (
                k.clone(),
                Value::String(vs.last().cloned().unwrap_or_default()),
            )
        })
        .collect();
    let multi: Map<String, Value> = pairs.iter().map(|(k, vs)| (k.clone(), json!(vs))).collect();
    let q = query_pairs(&inc.query);
    let (qs, mqs) = if q.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (
            Value::Object(
                q.iter()
                    .map(|(k, vs)| {
                        (
                            k.clone(),
                            Value::String(vs.last().cloned().unwrap_or_default()),
                        )
                    })
                    .collect(),
            ),
            Value::Object(q.iter().map(|(k, vs)| (k.clone(), json!(vs))).collect()),
        )
    };
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("localhost")
        .to_string();
    let (body, b64) = body_of(inc);
    json!({
        "resource": r.path,
        "path": path,
        "httpMethod": inc.method,
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": qs,
        "multiValueQueryStringParameters": mqs,
        "pathParameters": if params.is_empty() { Value::Null } else { json!(params) },
        "stageVariables": Value::Null,
        "requestContext": {
            "accountId": "offlineContext_accountId",
            "apiId": "offlineContext_apiId",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or(&host),
            "extendedRequestId": request_id(),
            "httpMethod": inc.method,
            "identity": {
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::Null),
            },
            "path": format!("/{stage}{path}"),
            "protocol": "HTTP/1.1",
            "requestId": request_id(),
            "requestTime": time,
            "requestTimeEpoch": epoch as u64,
            "resourceId": "offlineContext_resourceId",
            "resourcePath": r.path,
            "stage": stage,
        },
        "body": body,
        "isBase64Encoded": b64,
    })
}

/// A proxy response object (`statusCode`, `headers`, `multiValueHeaders`, `cookies`, `body`,
/// `isBase64Encoded`) as an HTTP response.
fn proxy_response(v: &Value, cookies: bool) -> Response<Full<Bytes>> {
    let status = v["statusCode"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let body = match &v["body"] {
        Value::Null => Bytes::new(),
        Value::String(s) if v["isBase64Encoded"] == Value::Bool(true) => {
            base64::decode(s).map(Bytes::from).unwrap_or_default()
        }
        Value::String(s) => Bytes::from(s.clone()),
        other => Bytes::from(other.to_string()),
    };
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    let mut add = |k: &str, val: &Value| {
        let text = match val {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let (Ok(k), Ok(val)) = (k.parse::<hyper::header::HeaderName>(), text.parse()) {
            h.append(k, val);
        }
    };
    if let Some(m) = v["multiValueHeaders"].as_object() {
        for (k, vs) in m {
            for x in vs.as_array().into_iter().flatten() {
                add(k, x);
            }
        }
    }
    if let Some(m) = v["headers"].as_object() {
        for (k, x) in m {
            add(k, x);
        }
    }
    if cookies {
        for c in v["cookies"].as_array().into_iter().flatten() {
            add("set-cookie", c);
        }
    }
    r
}

/// Format 2.0 responses: a proxy object, or any other JSON taken as a 200 JSON body.
fn response_v2(b: &Bytes) -> Response<Full<Bytes>> {
    match serde_json::from_slice::<Value>(b) {
        Ok(v) if v.get("statusCode").is_some() => proxy_response(&v, true),
        Ok(v) => {
            let body = match &v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            json_response(StatusCode::OK, &body)
        }
        Err(_) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal Server Error"}"#,
        ),
    }
}

/// Format 1.0 responses must be proxy objects; anything else is API Gateway's 502.
fn response_v1(b: &Bytes) -> Response<Full<Bytes>> {
    match serde_json::from_slice::<Value>(b) {
        Ok(v) if v.get("statusCode").is_some() => proxy_response(&v, false),
        _ => json_response(
            StatusCode::BAD_GATEWAY,
            r#"{"message": "Internal server error"}"#,
        ),
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
        let r = response_v1(&Bytes::from(r#"{"hello":"world"}"#));
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let r = response_v1(&Bytes::from(
            r#"{"statusCode":404,"multiValueHeaders":{"x-b":["1","2"]},"body":"no"}"#,
        ));
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
