//! `sls offline`'s WebSocket API: the service's `websocket` routes on a port of their own, as
//! API Gateway runs them — `$connect` decides whether a client may connect, each message goes to
//! the route its body selects (`$default` otherwise), a route that answers sends the handler's
//! `body` back, `$disconnect` follows the close — and the `@connections` API handlers post back
//! through (`POST`, `GET`, `DELETE /@connections/{id}`, with or without the `/{stage}` prefix).

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::Gateway;
use super::events::{now, request_id};
use crate::local::Outcome;
use crate::local::http::json as json_response;

/// What kind of WebSocket event a handler gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Connect,
    Message,
    Disconnect,
}

/// One WebSocket event's facts; [`event`] shapes them as API Gateway delivers them.
pub struct Frame<'a> {
    pub kind: EventType,
    pub route: &'a str,
    pub connection_id: &'a str,
    pub stage: &'a str,
    pub domain: &'a str,
    /// Milliseconds since the epoch.
    pub connected_at: u128,
    /// The handshake's headers (`$connect` and `$disconnect`).
    pub headers: &'a BTreeMap<String, String>,
    /// The handshake's query string (`$connect`).
    pub query: &'a BTreeMap<String, String>,
    /// The message (`MESSAGE`).
    pub body: Option<&'a str>,
}

/// The Lambda event of a WebSocket route, in API Gateway's shape.
pub fn event(f: &Frame<'_>) -> Value {
    let (epoch, time) = now();
    let mut context = json!({
        "routeKey": f.route,
        "eventType": match f.kind {
            EventType::Connect => "CONNECT",
            EventType::Message => "MESSAGE",
            EventType::Disconnect => "DISCONNECT",
        },
        "extendedRequestId": request_id(),
        "requestTime": time,
        "messageDirection": "IN",
        "stage": f.stage,
        "connectedAt": f.connected_at as u64,
        "requestTimeEpoch": epoch as u64,
        "identity": {
            "sourceIp": "127.0.0.1",
            "userAgent": f.headers.get("user-agent").cloned().unwrap_or_default(),
        },
        "requestId": request_id(),
        "domainName": f.domain,
        "connectionId": f.connection_id,
        "apiId": "offlineContext_apiId",
    });
    let mut e = Map::new();
    match f.kind {
        EventType::Connect => {
            e.insert("headers".into(), json!(f.headers));
            let multi: BTreeMap<&String, [&String; 1]> =
                f.headers.iter().map(|(k, v)| (k, [v])).collect();
            e.insert("multiValueHeaders".into(), json!(multi));
            if !f.query.is_empty() {
                e.insert("queryStringParameters".into(), json!(f.query));
                let multi: BTreeMap<&String, [&String; 1]> =
                    f.query.iter().map(|(k, v)| (k, [v])).collect();
                e.insert("multiValueQueryStringParameters".into(), json!(multi));
            }
        }
        EventType::Message => {
            context["messageId"] = json!(request_id());
            e.insert("body".into(), json!(f.body.unwrap_or_default()));
        }
        EventType::Disconnect => {
            e.insert("headers".into(), json!(f.headers));
            context["disconnectStatusCode"] = json!(1000);
            context["disconnectReason"] = json!("Client closed the connection");
        }
    }
    e.insert("requestContext".into(), context);
    e.insert("isBase64Encoded".into(), json!(false));
    Value::Object(e)
}

/// The route a message selects: the value at `expression`'s `$request.body.…` path in the
/// message's JSON, when a route of that name exists; `$default` otherwise (if it exists).
pub fn select<'a>(
    expression: &str,
    body: &str,
    routes: impl Iterator<Item = &'a String> + Clone,
) -> Option<&'a String> {
    let picked = expression
        .strip_prefix("$request.body.")
        .and_then(|path| {
            let doc: Value = serde_json::from_str(body).ok()?;
            path.split('.')
                .try_fold(&doc, |v, k| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .and_then(|key| routes.clone().find(|r| **r == key && !r.starts_with('$')));
    picked.or_else(|| routes.clone().find(|r| *r == "$default"))
}

/// A connected client: where its outgoing messages go, and what `GET @connections` tells.
struct Client {
    tx: mpsc::UnboundedSender<Message>,
    connected_at: u128,
    last_active: u128,
    user_agent: String,
}

struct State {
    gw: Arc<Gateway>,
    clients: Mutex<HashMap<String, Client>>,
}

/// Serves WebSocket clients and the `@connections` API on `listener` until the process ends.
pub async fn serve(listener: TcpListener, gw: Arc<Gateway>) {
    let state = Arc::new(State {
        gw,
        clients: Mutex::new(HashMap::new()),
    });
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(state, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}

fn millis() -> u128 {
    now().0
}

async fn handle(state: Arc<State>, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
    let Some(api) = state.gw.websocket() else {
        return json_response(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#);
    };
    let path = req.uri().path().to_string();
    let callback = path
        .strip_prefix(&format!("/{}", api.stage))
        .unwrap_or(&path)
        .strip_prefix("/@connections/")
        .map(crate::provider::aws::percent_decode);
    if let Some(id) = callback {
        let method = req.method().as_str().to_string();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return connections(&state, &method, &id, body);
    }
    let upgrade = req
        .headers()
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let key = req.headers().get("sec-websocket-key").cloned();
    let (true, Some(key)) = (upgrade, key) else {
        return json_response(
            StatusCode::UPGRADE_REQUIRED,
            r#"{"message":"a WebSocket handshake is expected here"}"#,
        );
    };
    let headers = header_map(req.headers());
    let query: BTreeMap<String, String> = req
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                crate::provider::aws::percent_decode(k),
                crate::provider::aws::percent_decode(v),
            )
        })
        .collect();
    let id = connection_id();
    let connected_at = millis();
    let domain = headers
        .get("host")
        .cloned()
        .unwrap_or_else(|| "localhost".into());
    let mut protocol = None;
    if let Some(route) = api.routes.get("$connect") {
        let mut e = event(&Frame {
            kind: EventType::Connect,
            route: "$connect",
            connection_id: &id,
            stage: &api.stage,
            domain: &domain,
            connected_at,
            headers: &headers,
            query: &query,
            body: None,
        });
        // The `$connect` authorizer decides first, as on a REQUEST authorizer.
        let served = state.gw.current.read().unwrap().clone();
        if let Some(a) = served
            .access
            .authorizers
            .get(super::auth::WEBSOCKET_KEY)
            .filter(|_| !state.gw.settings.no_auth)
        {
            let Some(values) = super::auth::identity_of_handshake(a, &headers, &query) else {
                return json_response(StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#);
            };
            let arn = format!(
                "arn:aws:execute-api:{}:000000000000:offlineContext_apiId/{}/$connect",
                served.region, api.stage
            );
            let asked = super::auth::event(a, &values, &arn, &e);
            let verdict = super::auth::ask(served.pools.get(&a.function), a, &asked, &arn).await;
            match verdict {
                super::auth::Verdict::Allow(context) => e["requestContext"]["authorizer"] = context,
                super::auth::Verdict::Refuse(status, body) => return json_response(status, body),
            }
        }
        match invoke(&state.gw, &route.function, &e).await {
            Ok(result) => {
                let status = result
                    .get("statusCode")
                    .and_then(Value::as_u64)
                    .unwrap_or(200);
                if !(200..300).contains(&status) {
                    let code = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::FORBIDDEN);
                    return json_response(code, r#"{"message":"Forbidden"}"#);
                }
                protocol = result
                    .get("headers")
                    .and_then(|h| h.get("Sec-WebSocket-Protocol"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            // API Gateway refuses the handshake with a 502 when $connect's function fails.
            Err(_) => {
                return json_response(
                    StatusCode::BAD_GATEWAY,
                    r#"{"message":"Internal server error"}"#,
                );
            }
        }
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (tx, rx) = mpsc::unbounded_channel();
    state.clients.lock().unwrap().insert(
        id.clone(),
        Client {
            tx,
            connected_at,
            last_active: connected_at,
            user_agent: headers.get("user-agent").cloned().unwrap_or_default(),
        },
    );
    let conn = Connection {
        state: state.clone(),
        id,
        connected_at,
        domain,
        headers,
    };
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                conn.run(ws, rx).await;
            }
            Err(_) => {
                conn.state.clients.lock().unwrap().remove(&conn.id);
            }
        }
    });
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert("upgrade", "websocket".parse().unwrap());
    h.insert("connection", "Upgrade".parse().unwrap());
    if let Ok(v) = derive_accept_key(key.as_bytes()).parse() {
        h.insert("sec-websocket-accept", v);
    }
    if let Some(v) = protocol.and_then(|p| p.parse().ok()) {
        h.insert("sec-websocket-protocol", v);
    }
    r
}

/// One client's life after the handshake.
struct Connection {
    state: Arc<State>,
    id: String,
    connected_at: u128,
    domain: String,
    headers: BTreeMap<String, String>,
}

impl Connection {
    async fn run<S>(self, ws: WebSocketStream<S>, mut rx: mpsc::UnboundedReceiver<Message>)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let (mut sink, mut stream) = ws.split();
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(m) => {
                        let close = matches!(m, Message::Close(_));
                        if sink.send(m).await.is_err() || close {
                            break;
                        }
                    }
                    None => break,
                },
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(t))) => self.message(t.as_str()).await,
                    Some(Ok(Message::Binary(b))) => {
                        self.message(&String::from_utf8_lossy(&b)).await
                    }
                    Some(Ok(Message::Ping(p))) => {
                        let _ = sink.send(Message::Pong(p)).await;
                    }
                    Some(Ok(Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                },
            }
        }
        let _ = sink.close().await;
        self.state.clients.lock().unwrap().remove(&self.id);
        let Some(api) = self.state.gw.websocket() else {
            return;
        };
        if let Some(route) = api.routes.get("$disconnect") {
            let e = event(&Frame {
                kind: EventType::Disconnect,
                route: "$disconnect",
                connection_id: &self.id,
                stage: &api.stage,
                domain: &self.domain,
                connected_at: self.connected_at,
                headers: &self.headers,
                query: &BTreeMap::new(),
                body: None,
            });
            let _ = invoke(&self.state.gw, &route.function, &e).await;
        }
    }

    /// A message to the route it selects; an answering route's result goes back.
    async fn message(&self, body: &str) {
        if let Some(c) = self.state.clients.lock().unwrap().get_mut(&self.id) {
            c.last_active = millis();
        }
        let Some(api) = self.state.gw.websocket() else {
            return;
        };
        let send = |m: String| self.send(Message::Text(m.into()));
        let Some(route) = select(&api.route_selection, body, api.routes.keys()) else {
            // What API Gateway answers when no route matches and there is no `$default`.
            send(
                json!({"message": "Forbidden", "connectionId": self.id, "requestId": request_id()})
                    .to_string(),
            );
            return;
        };
        let r = &api.routes[route];
        let e = event(&Frame {
            kind: EventType::Message,
            route,
            connection_id: &self.id,
            stage: &api.stage,
            domain: &self.domain,
            connected_at: self.connected_at,
            headers: &BTreeMap::new(),
            query: &BTreeMap::new(),
            body: Some(body),
        });
        match invoke(&self.state.gw, &r.function, &e).await {
            Ok(result) if r.responds => match result.get("body") {
                Some(Value::String(b)) => send(b.clone()),
                Some(other) => send(other.to_string()),
                None if result.is_null() => {}
                None => send(result.to_string()),
            },
            Ok(_) => {}
            Err(_) => send(
                json!({"message": "Internal server error", "connectionId": self.id, "requestId": request_id()})
                    .to_string(),
            ),
        }
    }

    fn send(&self, m: Message) {
        if let Some(c) = self.state.clients.lock().unwrap().get(&self.id) {
            let _ = c.tx.send(m);
        }
    }
}

/// The `@connections` API: post to, describe or close a connection; 410 once it is gone, as
/// API Gateway answers.
fn connections(state: &State, method: &str, id: &str, body: Bytes) -> Response<Full<Bytes>> {
    let mut clients = state.clients.lock().unwrap();
    let Some(c) = clients.get_mut(id) else {
        return json_response(StatusCode::GONE, r#"{"message":"GoneException"}"#);
    };
    match method {
        "POST" => {
            let m = match String::from_utf8(body.to_vec()) {
                Ok(text) => Message::Text(text.into()),
                Err(e) => Message::Binary(e.into_bytes().into()),
            };
            let _ = c.tx.send(m);
            json_response(StatusCode::OK, "{}")
        }
        "GET" => json_response(
            StatusCode::OK,
            &json!({
                "connectedAt": iso(c.connected_at),
                "lastActiveAt": iso(c.last_active),
                "identity": {"sourceIp": "127.0.0.1", "userAgent": c.user_agent},
            })
            .to_string(),
        ),
        "DELETE" => {
            let _ = c.tx.send(Message::Close(None));
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        _ => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"message":"use POST, GET or DELETE"}"#,
        ),
    }
}

fn iso(ms: u128) -> String {
    aws_smithy_types::DateTime::from_millis(ms as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

fn header_map(h: &HeaderMap) -> BTreeMap<String, String> {
    h.iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

/// An id shaped like API Gateway's (base64-ish, ends with `=`), unique per process.
fn connection_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let seed = format!("{:x}{n:04x}", millis());
    aws_smithy_types::base64::encode(seed.as_bytes())
        .trim_end_matches('=')
        .chars()
        .rev()
        .take(15)
        .collect::<String>()
        + "="
}

/// Runs the route's function with `e`; its result as JSON (a string result as a JSON string).
async fn invoke(gw: &Gateway, function: &str, e: &Value) -> Result<Value, ()> {
    let pool = gw.pool(function).ok_or(())?;
    match pool.invoke(Bytes::from(e.to_string()), None).await {
        Ok(done) => match done.outcome {
            Outcome::Ok(b) => Ok(serde_json::from_slice(&b)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&b).into_owned()))),
            Outcome::Error(doc) => {
                eprintln!("websocket {function}: {doc}");
                Err(())
            }
        },
        Err(err) => {
            eprintln!("websocket {function}: {err}");
            Err(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_selects_its_route_else_default_else_none() {
        let routes: Vec<String> = ["$connect", "$default", "send", "nested"]
            .map(String::from)
            .to_vec();
        let pick = |expr: &str, body: &str| select(expr, body, routes.iter()).cloned();
        let e = "$request.body.action";
        assert_eq!(pick(e, r#"{"action":"send"}"#).as_deref(), Some("send"));
        assert_eq!(
            pick(e, r#"{"action":"other"}"#).as_deref(),
            Some("$default")
        );
        assert_eq!(pick(e, "not json").as_deref(), Some("$default"));
        // A message cannot select a special route by naming it.
        assert_eq!(
            pick(e, r#"{"action":"$connect"}"#).as_deref(),
            Some("$default")
        );
        assert_eq!(
            pick("$request.body.a.b", r#"{"a":{"b":"nested"}}"#).as_deref(),
            Some("nested")
        );
        let no_default: Vec<String> = vec!["send".into()];
        assert_eq!(select(e, r#"{"action":"x"}"#, no_default.iter()), None);
    }

    #[test]
    fn events_have_api_gateways_shape() {
        let headers = BTreeMap::from([("user-agent".to_string(), "t".to_string())]);
        let query = BTreeMap::from([("token".to_string(), "x".to_string())]);
        let f = |kind, route, body| Frame {
            kind,
            route,
            connection_id: "abc=",
            stage: "dev",
            domain: "localhost:3001",
            connected_at: 5,
            headers: &headers,
            query: &query,
            body,
        };
        let c = event(&f(EventType::Connect, "$connect", None));
        assert_eq!(c["requestContext"]["eventType"], "CONNECT");
        assert_eq!(c["queryStringParameters"]["token"], "x");
        assert_eq!(c["multiValueHeaders"]["user-agent"][0], "t");
        let m = event(&f(EventType::Message, "send", Some("hi")));
        assert_eq!(m["body"], "hi");
        assert_eq!(m["requestContext"]["routeKey"], "send");
        assert!(m["requestContext"]["messageId"].is_string());
        assert!(m.get("headers").is_none());
        let d = event(&f(EventType::Disconnect, "$disconnect", None));
        assert_eq!(d["requestContext"]["disconnectStatusCode"], 1000);
        assert_eq!(d["requestContext"]["connectionId"], "abc=");
    }
}
