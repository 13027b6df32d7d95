//! What a function's result becomes on the wire: a proxy response (status, headers, cookies,
//! base64 bodies) for either payload format, as API Gateway turns it into HTTP.

use aws_smithy_types::base64;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::local::http::json as json_response;

/// The `Content-Type` API Gateway gives a proxy response that names none: a REST API's is JSON,
/// an HTTP API's plain text.
const REST_TYPE: &str = "application/json";
const HTTP_API_TYPE: &str = "text/plain; charset=utf-8";

/// A proxy response object (`statusCode`, `headers`, `multiValueHeaders`, `cookies`, `body`,
/// `isBase64Encoded`) as an HTTP response. `content_type` is the gateway's default for a
/// response that sets none (ELB sets none).
pub(super) fn proxy_response(
    v: &Value,
    cookies: bool,
    content_type: Option<&'static str>,
) -> Response<Full<Bytes>> {
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
    if let Some(t) = content_type
        && !h.contains_key("content-type")
    {
        h.insert("content-type", hyper::header::HeaderValue::from_static(t));
    }
    r
}

/// Format 2.0 responses: a proxy object, or any other JSON taken as a 200 JSON body.
pub(super) fn response_v2(b: &Bytes) -> Response<Full<Bytes>> {
    match serde_json::from_slice::<Value>(b) {
        Ok(v) if v.get("statusCode").is_some() => proxy_response(&v, true, Some(HTTP_API_TYPE)),
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

/// Format 1.0 responses must be proxy objects; anything else is a REST API's 502, an HTTP
/// API's 500.
pub(super) fn response_v1(b: &Bytes, rest: bool) -> Response<Full<Bytes>> {
    match serde_json::from_slice::<Value>(b) {
        Ok(v) if v.get("statusCode").is_some() => proxy_response(
            &v,
            false,
            Some(if rest { REST_TYPE } else { HTTP_API_TYPE }),
        ),
        _ if rest => json_response(
            StatusCode::BAD_GATEWAY,
            r#"{"message": "Internal server error"}"#,
        ),
        _ => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal Server Error"}"#,
        ),
    }
}

/// An `integration: lambda` route's answer, with Serverless' default integration responses:
/// the result passes through as JSON with a 200; an error's message picks the status by the
/// `[400]`-style code in it (a timeout is a 504), and one that names none is still a 200, as
/// API Gateway's default response takes it.
pub(super) fn response_lambda(outcome: &crate::local::Outcome) -> Response<Full<Bytes>> {
    match outcome {
        crate::local::Outcome::Ok(b) => {
            let text = String::from_utf8_lossy(b);
            json_response(StatusCode::OK, if text.is_empty() { "null" } else { &text })
        }
        crate::local::Outcome::Error(doc) => {
            let message = doc["errorMessage"].as_str().unwrap_or_default();
            let status = [400u16, 401, 403, 404, 422, 500, 502, 504]
                .into_iter()
                .find(|code| message.contains(&format!("[{code}]")))
                .or_else(|| (message.contains("Task timed out after")).then_some(504))
                .or_else(|| {
                    let exited = message.contains("Process exited before completing request");
                    exited.then_some(500)
                })
                .unwrap_or(200);
            json_response(
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                &doc.to_string(),
            )
        }
    }
}
