//! The Lambda Runtime API, served to one worker process: the real protocol (`invocation/next`
//! with its headers, `response`, `error`, `init/error`), so AWS's runtime interface clients and
//! `lambda_runtime` binaries work unmodified. Each worker gets its own listener, as each Lambda
//! execution environment gets its own API.

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

use super::http::json;

const PREFIX: &str = "/2018-06-01/runtime/";

/// One invocation handed to the worker.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub deadline_ms: u128,
    pub function_arn: String,
    pub trace_id: String,
    pub client_context: Option<String>,
    pub payload: Bytes,
}

/// What the worker told the API.
#[derive(Debug)]
pub enum Event {
    /// The worker asked for its next invocation (after init, or after answering one).
    Ready,
    Response(String, Bytes),
    Error(String, Value),
    InitError(Value),
    /// The worker process ended (sent by the pool's watcher, not the API).
    Exited(Option<i32>),
}

struct Api {
    invocations: Mutex<mpsc::Receiver<Invocation>>,
    events: mpsc::UnboundedSender<Event>,
}

/// A listener on 127.0.0.1 (a free port) serving one worker. Returns the `host:port` for
/// `AWS_LAMBDA_RUNTIME_API`; the server stops when `invocations`' sender is dropped and the
/// worker disconnects.
pub async fn start(
    invocations: mpsc::Receiver<Invocation>,
    events: mpsc::UnboundedSender<Event>,
) -> std::io::Result<String> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?.to_string();
    let api = Arc::new(Api {
        invocations: Mutex::new(invocations),
        events,
    });
    tokio::spawn(async move {
        loop {
            // The pool dropping the worker closes the events channel: stop listening then.
            let stream = tokio::select! {
                r = listener.accept() => match r {
                    Ok((stream, _)) => stream,
                    Err(_) => break,
                },
                () = api.events.closed() => break,
            };
            let api = api.clone();
            super::http::spawn_connection(stream, move |req| handle(api.clone(), req));
        }
    });
    Ok(addr)
}

fn accepted() -> Response<Full<Bytes>> {
    json(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

/// An error document as the runtime sent it; a body that is not JSON becomes its message.
fn error_doc(body: &Bytes, error_type: Option<&str>) -> Value {
    let mut v = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| serde_json::json!({ "errorMessage": String::from_utf8_lossy(body) }));
    if v.get("errorType").is_none() {
        v["errorType"] = Value::String(error_type.unwrap_or("Unhandled").to_string());
    }
    v
}

async fn handle(api: Arc<Api>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return json(StatusCode::NOT_FOUND, r#"{"errorMessage":"unknown path"}"#);
    };
    let method = req.method().clone();
    let error_type = req
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if method == Method::GET && rest == "invocation/next" {
        let _ = api.events.send(Event::Ready);
        let next = api.invocations.lock().await.recv().await;
        let Some(inv) = next else {
            // The pool let this worker go: it will be killed; answer so the request ends.
            return json(StatusCode::GONE, r#"{"errorMessage":"shutting down"}"#);
        };
        let mut r = Response::new(Full::new(inv.payload));
        let h = r.headers_mut();
        let mut set = |k: &'static str, v: &str| {
            if let Ok(v) = v.parse() {
                h.insert(k, v);
            }
        };
        set("content-type", "application/json");
        set("lambda-runtime-aws-request-id", &inv.request_id);
        set("lambda-runtime-deadline-ms", &inv.deadline_ms.to_string());
        set("lambda-runtime-invoked-function-arn", &inv.function_arn);
        set("lambda-runtime-trace-id", &inv.trace_id);
        if let Some(c) = &inv.client_context {
            set("lambda-runtime-client-context", c);
        }
        return r;
    }
    if method != Method::POST {
        return json(StatusCode::NOT_FOUND, r#"{"errorMessage":"unknown path"}"#);
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return json(StatusCode::BAD_REQUEST, r#"{"errorMessage":"bad body"}"#);
        }
    };
    if rest == "init/error" {
        let _ = api
            .events
            .send(Event::InitError(error_doc(&body, error_type.as_deref())));
        return accepted();
    }
    if let Some(id_and_what) = rest.strip_prefix("invocation/")
        && let Some((id, what)) = id_and_what.split_once('/')
    {
        let event = match what {
            "response" => Event::Response(id.to_string(), body),
            "error" => Event::Error(id.to_string(), error_doc(&body, error_type.as_deref())),
            _ => {
                return json(StatusCode::NOT_FOUND, r#"{"errorMessage":"unknown path"}"#);
            }
        };
        let _ = api.events.send(event);
        return accepted();
    }
    json(StatusCode::NOT_FOUND, r#"{"errorMessage":"unknown path"}"#)
}
