//! `sls offline`'s Lambda API on `--lambda-port`: the `Invoke` operation (and the old
//! `InvokeAsync`), so a handler that invokes another function of the service through an AWS SDK
//! pointed at this port runs that function's local workers — as serverless-offline offers it,
//! answering as Lambda answers (status codes, `X-Amz-Function-Error`, error types).

use std::sync::Arc;

use aws_smithy_types::base64;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use tokio::net::TcpListener;

use super::Outcome;
use super::gateway::Gateway;
use super::http::json as json_response;

/// Lambda's limits on a request's payload: synchronous, and asynchronous (raised to 1 MB in 2025).
const SYNC_LIMIT: usize = 6 * 1024 * 1024;
const ASYNC_LIMIT: usize = 1024 * 1024;

/// Serves the Lambda API on `listener` until the process ends.
pub async fn serve(listener: TcpListener, gw: Arc<Gateway>, region: String) {
    while let Ok((stream, _)) = listener.accept().await {
        let gw = gw.clone();
        let region = region.clone();
        super::http::spawn_connection(stream, move |req| {
            let gw = gw.clone();
            let region = region.clone();
            async move { handle(&gw, &region, req).await }
        });
    }
}

/// How a call names its function: a name, `NAME:QUALIFIER`, a partial ARN
/// (`ACCOUNT:function:NAME`) or a full one — every qualifier runs the same local code.
fn function_name(raw: &str) -> &str {
    let name = raw.rsplit_once("function:").map_or(raw, |(_, n)| n);
    name.split(':').next().unwrap_or(name)
}

/// A Lambda API error as the SDKs read it: the type in `x-amzn-ErrorType`, the text in the body.
fn error(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({ "Type": "User", "message": message }).to_string();
    let mut r = json_response(status, &body);
    if let Ok(v) = kind.parse() {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

async fn handle(gw: &Gateway, region: &str, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (raw, asynchronous) = match segments.as_slice() {
        ["2015-03-31", "functions", name, "invocations"] => (*name, false),
        ["2014-11-13", "functions", name, "invoke-async"] => (*name, true),
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                "sls offline's Lambda API serves Invoke and InvokeAsync only",
            );
        }
    };
    if req.method() != Method::POST {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnknownOperationException",
            "Invoke is a POST",
        );
    }
    let decoded = crate::provider::aws::percent_decode(raw);
    let name = function_name(&decoded).to_string();
    let header = |k: &str| {
        req.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let kind = match asynchronous {
        true => "Event".to_string(),
        false => header("x-amz-invocation-type").unwrap_or_else(|| "RequestResponse".into()),
    };
    let client_context = header("x-amz-client-context")
        .and_then(|c| base64::decode(c.trim()).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                "the request body could not be read",
            );
        }
    };
    let Some(pool) = gw.pool_named(&name) else {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: arn:aws:lambda:{region}:000000000000:function:{name}"),
        );
    };
    let limit = match kind.as_str() {
        "Event" => ASYNC_LIMIT,
        _ => SYNC_LIMIT,
    };
    if body.len() > limit {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            &format!("Request must be smaller than {limit} bytes for the {kind} invocation type"),
        );
    }
    // Lambda takes JSON only; no payload at all is the event `{}`, as the AWS CLI sends it.
    let payload = if body.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else if let Err(e) = serde_json::from_slice::<serde_json::Value>(&body) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            &format!("Could not parse request body into json: {e}"),
        );
    } else {
        body
    };
    match kind.as_str() {
        "RequestResponse" => {}
        "DryRun" => {
            let mut r = json_response(StatusCode::NO_CONTENT, "");
            r.headers_mut().remove("content-type");
            return r;
        }
        "Event" => {
            // Lambda queues it and answers at once; the run's logs show how it went.
            tokio::spawn(async move {
                match pool.invoke(payload, client_context).await {
                    Ok(done) => {
                        if let Outcome::Error(doc) = &done.outcome {
                            eprintln!(
                                "asynchronous invocation {} of {} failed: {}",
                                done.request_id,
                                pool.function().key,
                                doc["errorMessage"].as_str().unwrap_or_default()
                            );
                        }
                    }
                    Err(e) => eprintln!("error: {e}"),
                }
            });
            let body = match asynchronous {
                true => r#"{"Status":202}"#,
                false => "",
            };
            return json_response(StatusCode::ACCEPTED, body);
        }
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &format!(
                    "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
                ),
            );
        }
    }
    let done = match pool.invoke(payload, client_context).await {
        Ok(d) => d,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                &e.to_string(),
            );
        }
    };
    let mut r = match &done.outcome {
        Outcome::Ok(b) => {
            let mut r = Response::new(Full::new(b.clone()));
            r.headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            r
        }
        Outcome::Error(doc) => {
            let mut r = json_response(StatusCode::OK, &doc.to_string());
            r.headers_mut()
                .insert("x-amz-function-error", "Unhandled".parse().unwrap());
            r
        }
    };
    r.headers_mut()
        .insert("x-amz-executed-version", "$LATEST".parse().unwrap());
    if let Ok(v) = done.request_id.parse() {
        r.headers_mut().insert("x-amzn-requestid", v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::function_name;

    #[test]
    fn every_way_of_naming_a_function_finds_it() {
        for raw in [
            "svc-dev-hello",
            "svc-dev-hello:live",
            "123456789012:function:svc-dev-hello",
            "arn:aws:lambda:eu-west-1:123456789012:function:svc-dev-hello",
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:svc-dev-hello:7",
        ] {
            assert_eq!(function_name(raw), "svc-dev-hello", "{raw}");
        }
    }
}
