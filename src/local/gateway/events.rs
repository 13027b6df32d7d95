//! The events a function receives: API Gateway's payload 2.0 (HTTP API) and 1.0 (REST API)
//! built from one incoming request, field by field as AWS builds them.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_smithy_types::base64;
use aws_smithy_types::date_time::{DateTime, Format};
use hyper::HeaderMap;
use hyper::body::Bytes;
use serde_json::{Map, Value, json};

use super::routes::Route;
use crate::provider::aws::percent_decode;

/// What came in, read once for both payload formats.
pub(super) struct Incoming1 {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: String,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

pub(super) fn body_of(inc: &Incoming1) -> (Option<String>, bool) {
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
pub(super) fn query_pairs(q: &str) -> Vec<(String, Vec<String>)> {
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

pub(super) fn header_values(h: &HeaderMap) -> Vec<(String, Vec<String>)> {
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

pub(super) fn now() -> (u128, String) {
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

pub(super) fn request_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{:x}", nanos)
}

/// The HTTP API's payload format 2.0.
pub(super) fn event_v2(inc: &Incoming1, r: &Route, params: &BTreeMap<String, String>) -> Value {
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

/// Payload format 1.0: the REST API's proxy integration (`context_path` with the stage), or an
/// HTTP API's with `payload: '1.0'` (stage `$default`, the path as requested).
pub(super) fn event_v1(
    inc: &Incoming1,
    r: &Route,
    params: &BTreeMap<String, String>,
    stage: &str,
    context_path: &str,
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
    let mut event = json!({
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
            "path": context_path,
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
    });
    if let Some(op) = &r.operation_name {
        event["requestContext"]["operationName"] = json!(op);
    }
    event
}

/// The event Serverless' default request template makes for an `integration: lambda` route:
/// the body as JSON (a form's fields as an object), the method, stage, headers, query string
/// and path parameters as plain maps, the caller's identity and the resource path.
pub(super) fn event_lambda(
    inc: &Incoming1,
    r: &Route,
    params: &BTreeMap<String, String>,
    stage: &str,
) -> Value {
    let headers: Map<String, Value> = header_values(&inc.headers)
        .into_iter()
        .map(|(k, vs)| (k, json!(vs.last().cloned().unwrap_or_default())))
        .collect();
    let query: Map<String, Value> = query_pairs(&inc.query)
        .into_iter()
        .map(|(k, vs)| (k, json!(vs.last().cloned().unwrap_or_default())))
        .collect();
    let form = inc
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let text = String::from_utf8_lossy(&inc.body);
    let body = if form {
        Value::Object(
            query_pairs(&text)
                .into_iter()
                .map(|(k, vs)| (k, json!(vs.last().cloned().unwrap_or_default())))
                .collect(),
        )
    } else if text.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text.into_owned()))
    };
    json!({
        "body": body,
        "method": inc.method,
        "principalId": "",
        "stage": stage,
        "cognitoPoolClaims": {"sub": ""},
        "enhancedAuthContext": {},
        "headers": headers,
        "query": query,
        "path": params,
        "identity": {
            "sourceIp": "127.0.0.1",
            "userAgent": headers.get("user-agent").cloned().unwrap_or(json!("")),
        },
        "stageVariables": {},
        "requestPath": r.path,
    })
}
