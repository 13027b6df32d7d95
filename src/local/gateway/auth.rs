//! Lambda authorizers run by `sls offline` before a route's function, as API Gateway runs them:
//! REST `TOKEN` and `REQUEST` authorizers (`http.authorizer`) and HTTP API `request` authorizers
//! (`provider.httpApi.authorizers`), with their identity sources, events, IAM policies or
//! simple responses, and the context they hand the route; HTTP API `jwt` authorizers check a
//! token's claims (not its signature, which needs the issuer's keys: said at start). What
//! cannot run here (`aws_iam`, Cognito, an authorizer by ARN) is said by `local::notes`, and
//! the route is open.

use std::collections::HashMap;

use hyper::StatusCode;
use serde_json::{Map, Value, json};

use super::events::{Incoming1, query_pairs};
use crate::config::Config;
use crate::config::model::{Event, HttpApiEvent, HttpEvent, http_api_route_key};

/// Where an identity source is read from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Header(String),
    Query(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// REST `TOKEN`: the token of one header.
    Token,
    /// REST `REQUEST`: the whole request.
    Request,
    /// HTTP API `request`, payload `1.0` or `2.0`, maybe answering with simple responses.
    HttpRequest { v2: bool, simple: bool },
    /// HTTP API `jwt`: the token's claims checked against the issuer and audience, and the
    /// route's scopes; its signature is not verified locally (that needs the issuer's keys).
    Jwt {
        issuer: String,
        audience: Vec<String>,
        scopes: Vec<String>,
    },
}

/// One route's authorizer.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorizer {
    pub name: String,
    /// The function key that decides.
    pub function: String,
    pub kind: Kind,
    pub identity: Vec<Source>,
}

/// The authorizers of a config's routes, by `rest GET /path` or `http GET /path`.
pub type Authorizers = HashMap<String, Authorizer>;

/// Who may call the local API, and with what: the routes' authorizers, the REST routes that
/// need an API key (`private: true`) with the keys that open them, and the REST routes'
/// request validation.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub authorizers: Authorizers,
    /// What the REST routes' request validator checks (`request.parameters`, `request.schemas`).
    pub validation: std::sync::Arc<super::validate::Validation>,
    /// `rest GET /path` of each `private: true` route.
    pub private: std::collections::HashSet<String>,
    pub keys: Vec<ApiKey>,
}

/// A key of `provider.apiGateway.apiKeys`; one without a `value` gets a local one, printed at
/// start (API Gateway generates it on deploy).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub name: String,
    pub value: String,
    pub generated: bool,
}

impl Access {
    pub fn of(config: &Config, stage: &str) -> Access {
        let mut private = std::collections::HashSet::new();
        for (_, f) in config.functions.iter().flatten() {
            for e in f.events.iter().flatten() {
                if let Event::Http(h) = e
                    && h.private == Some(true)
                {
                    private.insert(rest_key(&h.method, &h.path));
                }
            }
        }
        Access {
            authorizers: of(config),
            validation: std::sync::Arc::new(super::validate::Validation::of(config).0),
            private,
            keys: api_keys(config, stage),
        }
    }
}

/// `provider.apiGateway.apiKeys`: names, `{name, value}` mappings, or usage-plan groups of them.
fn api_keys(config: &Config, stage: &str) -> Vec<ApiKey> {
    let Some(list) = config
        .provider
        .api_gateway
        .as_ref()
        .and_then(|g| g.api_keys.as_ref())
    else {
        return Vec::new();
    };
    let mut flat = Vec::new();
    let walk = |v: &Value, flat: &mut Vec<Value>| match v {
        // `{planName: [keys]}` groups keys by usage plan.
        Value::Object(m) if !m.contains_key("name") && !m.contains_key("value") => {
            for (_, keys) in m {
                flat.extend(keys.as_array().into_iter().flatten().cloned());
            }
        }
        other => flat.push(other.clone()),
    };
    for v in list.as_array().into_iter().flatten() {
        walk(v, &mut flat);
    }
    flat.iter()
        .enumerate()
        .map(|(i, k)| {
            let name = match k {
                Value::String(s) => s.clone(),
                _ => k["name"].as_str().map_or_else(
                    || format!("{}-{stage}-{}", config.service, i + 1),
                    str::to_string,
                ),
            };
            match k["value"].as_str() {
                Some(v) => ApiKey {
                    name,
                    value: v.to_string(),
                    generated: false,
                },
                None => {
                    use sha2::Digest;
                    let seed = format!(
                        "{name}{}{:?}",
                        std::process::id(),
                        std::time::SystemTime::now()
                    );
                    let h = sha2::Sha256::digest(seed.as_bytes());
                    let value: String = h.iter().take(20).map(|b| format!("{b:02x}")).collect();
                    ApiKey {
                        name,
                        value,
                        generated: true,
                    }
                }
            }
        })
        .collect()
}

impl Access {
    /// Whether a request to REST route `key` with these headers may reach it (API Gateway's
    /// `x-api-key` check; `403 Forbidden` otherwise).
    pub(super) fn key_ok(&self, key: &str, headers: &hyper::HeaderMap) -> bool {
        if !self.private.contains(key) {
            return true;
        }
        let given = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        given.is_some_and(|g| self.keys.iter().any(|k| k.value == g))
    }
}

/// The key of the WebSocket API's `$connect` authorizer.
pub const WEBSOCKET_KEY: &str = "websocket $connect";

pub fn rest_key(method: &str, path: &str) -> String {
    let method = match method.to_uppercase().as_str() {
        "*" => "ANY".to_string(),
        m => m.to_string(),
    };
    format!("rest {method} /{}", path.trim_matches('/'))
}

pub fn http_key(method: &str, path: &str) -> String {
    format!("http {}", http_api_route_key(method, path))
}

/// Every route authorizer that runs here.
pub fn of(config: &Config) -> Authorizers {
    let mut out = Authorizers::new();
    for (_, f) in config.functions.iter().flatten() {
        for e in f.events.iter().flatten() {
            match e {
                Event::Http(h) if h.authorizer.is_some() => {
                    if let Ok(a) = rest(config, h) {
                        out.insert(rest_key(&h.method, &h.path), a);
                    }
                }
                Event::HttpApi(h) if h.authorizer.is_some() => {
                    if let Ok(a) = http(config, h) {
                        out.insert(http_key(&h.method, &h.path), a);
                    }
                }
                Event::Websocket(w) if w.route == "$connect" && w.authorizer.is_some() => {
                    if let Ok(a) = websocket(config, w) {
                        out.insert(WEBSOCKET_KEY.into(), a);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn function_key(config: &Config, name: &str) -> Option<String> {
    config
        .functions
        .as_ref()?
        .contains_key(name)
        .then(|| name.to_string())
}

/// `method.request.header.X` / `method.request.querystring.X` (REST) or `$request.header.X` /
/// `$request.querystring.X` (HTTP API), comma-separated.
fn sources(text: &str) -> Result<Vec<Source>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let s = s
                .strip_prefix("method.request.")
                .or_else(|| s.strip_prefix("$request."))
                .or_else(|| s.strip_prefix("route.request."))
                .unwrap_or(s);
            if let Some(h) = s.strip_prefix("header.") {
                Ok(Source::Header(h.to_ascii_lowercase()))
            } else if let Some(q) = s.strip_prefix("querystring.") {
                Ok(Source::Query(q.to_string()))
            } else {
                Err(format!("identity source `{s}` is not read locally"))
            }
        })
        .collect()
}

/// The function an authorizer mapping names (`name`), unless it names one by ARN.
fn named(m: &Map<String, Value>) -> Result<&str, String> {
    if m.contains_key("arn") {
        return Err("an authorizer by ARN is not run locally".into());
    }
    m.get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| "an authorizer without `name` is not run locally".into())
}

/// A REST route's authorizer, or why it does not run here.
pub fn rest(config: &Config, h: &HttpEvent) -> Result<Authorizer, String> {
    let a = h.authorizer.as_ref().ok_or("no authorizer")?;
    let (name, kind, identity) = match a {
        Value::String(s) if s == "aws_iam" => return Err("`aws_iam` is not checked locally".into()),
        Value::String(s) if s.starts_with("arn:") => {
            return Err("an authorizer by ARN is not run locally".into());
        }
        Value::String(s) => (s.clone(), "token", None),
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str).is_some_and(|t| {
                t.eq_ignore_ascii_case("aws_iam") || t.eq_ignore_ascii_case("COGNITO_USER_POOLS")
            }) || m.contains_key("authorizerId")
            {
                return Err("this authorizer type is not run locally".into());
            }
            let name = named(m)?;
            let kind = m.get("type").and_then(Value::as_str).unwrap_or("token");
            (
                name.to_string(),
                if kind.eq_ignore_ascii_case("request") {
                    "request"
                } else {
                    "token"
                },
                m.get("identitySource").and_then(Value::as_str),
            )
        }
        _ => return Err("this authorizer is not run locally".into()),
    };
    let function = function_key(config, &name)
        .ok_or_else(|| format!("`{name}` is not a function of this service"))?;
    let kind = match kind {
        "request" => Kind::Request,
        _ => Kind::Token,
    };
    let identity = match (identity, &kind) {
        (Some(text), _) => sources(text)?,
        (None, Kind::Token) => vec![Source::Header("authorization".into())],
        (None, _) => Vec::new(),
    };
    Ok(Authorizer {
        name,
        function,
        kind,
        identity,
    })
}

/// The `$connect` route's authorizer (a REQUEST one, reading `Auth` by default as Serverless v3
/// sets it up), or why it does not run here.
pub fn websocket(
    config: &Config,
    w: &crate::config::model::WebsocketEvent,
) -> Result<Authorizer, String> {
    let (name, identity) = match w.authorizer.as_ref().ok_or("no authorizer")? {
        Value::String(s) if s.starts_with("arn:") => {
            return Err("an authorizer by ARN is not run locally".into());
        }
        Value::String(s) => (s.clone(), None),
        Value::Object(m) => {
            let name = named(m)?;
            let identity = match m.get("identitySource") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Array(a)) => Some(
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                _ => None,
            };
            (name.to_string(), identity)
        }
        _ => return Err("this authorizer is not run locally".into()),
    };
    let function = function_key(config, &name)
        .ok_or_else(|| format!("`{name}` is not a function of this service"))?;
    Ok(Authorizer {
        name,
        function,
        kind: Kind::Request,
        identity: sources(identity.as_deref().unwrap_or("route.request.header.Auth"))?,
    })
}

/// The identity values of a WebSocket handshake (headers by lower-case name).
pub(super) fn identity_of_handshake(
    a: &Authorizer,
    headers: &std::collections::BTreeMap<String, String>,
    query: &std::collections::BTreeMap<String, String>,
) -> Option<Vec<String>> {
    a.identity
        .iter()
        .map(|s| {
            match s {
                Source::Header(h) => headers.get(h),
                Source::Query(q) => query.get(q),
            }
            .filter(|v| !v.is_empty())
            .cloned()
        })
        .collect()
}

/// An HTTP API route's authorizer, or why it does not run here.
pub fn http(config: &Config, h: &HttpApiEvent) -> Result<Authorizer, String> {
    let a = h.authorizer.as_ref().ok_or("no authorizer")?;
    let name = match a {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.get("type").and_then(Value::as_str) == Some("aws_iam") => {
            return Err("`aws_iam` is not checked locally".into());
        }
        Value::Object(m) => match m.get("name").and_then(Value::as_str) {
            Some(n) => n.to_string(),
            None => return Err("an authorizer by id is not run locally".into()),
        },
        _ => return Err("this authorizer is not run locally".into()),
    };
    let spec = config
        .provider
        .http_api
        .as_ref()
        .and_then(|h| h.authorizers.as_ref())
        .and_then(|all| all.get(&name))
        .ok_or_else(|| format!("`{name}` is not in `provider.httpApi.authorizers`"))?;
    let identity_of = |default: &str| -> Result<Vec<Source>, String> {
        match spec.get("identitySource") {
            Some(Value::String(s)) => sources(s),
            Some(Value::Array(list)) => {
                let joined: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                sources(&joined.join(","))
            }
            _ => sources(default),
        }
    };
    // `type: jwt` is the default when an issuer is given, as in Serverless v3.
    let kind = spec.get("type").and_then(Value::as_str);
    if kind == Some("jwt") || (kind.is_none() && spec.get("issuerUrl").is_some()) {
        let texts = |v: Option<&Value>| -> Vec<String> {
            match v {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect(),
                _ => Vec::new(),
            }
        };
        let scopes = match a {
            Value::Object(m) => texts(m.get("scopes")),
            _ => Vec::new(),
        };
        return Ok(Authorizer {
            name,
            function: String::new(),
            kind: Kind::Jwt {
                issuer: spec
                    .get("issuerUrl")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                audience: texts(spec.get("audience")),
                scopes,
            },
            identity: identity_of("$request.header.Authorization")?,
        });
    }
    if kind != Some("request") {
        return Err("this authorizer type is not run locally".into());
    }
    let function = spec
        .get("functionName")
        .and_then(Value::as_str)
        .and_then(|f| function_key(config, f))
        .ok_or("a request authorizer by ARN, or of another service, is not run locally")?;
    let identity = identity_of("")?;
    Ok(Authorizer {
        name,
        function,
        kind: Kind::HttpRequest {
            v2: spec.get("payloadVersion").and_then(Value::as_str) != Some("1.0"),
            simple: spec.get("enableSimpleResponses").and_then(Value::as_bool) == Some(true),
        },
        identity,
    })
}

/// The identity values of `inc`, in order; `None` when one is missing (API Gateway then answers
/// 401 without calling the authorizer).
pub(super) fn identity(a: &Authorizer, inc: &Incoming1) -> Option<Vec<String>> {
    let query = query_pairs(&inc.query);
    a.identity
        .iter()
        .map(|s| match s {
            Source::Header(h) => inc
                .headers
                .get(h.as_str())
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            Source::Query(q) => query
                .iter()
                .find(|(k, _)| k == q)
                .and_then(|(_, vs)| vs.last().cloned())
                .filter(|v| !v.is_empty()),
        })
        .collect()
}

/// The event the authorizer function gets. `route_event` is the request in the authorizer's
/// payload format (a REQUEST authorizer's event is that request, and more).
pub(super) fn event(a: &Authorizer, values: &[String], arn: &str, route_event: &Value) -> Value {
    match a.kind {
        Kind::Token => json!({
            "type": "TOKEN",
            "authorizationToken": values.first().cloned().unwrap_or_default(),
            "methodArn": arn,
        }),
        Kind::Request | Kind::HttpRequest { v2: false, .. } => {
            let mut e = route_event.clone();
            e["type"] = json!("REQUEST");
            e["methodArn"] = json!(arn);
            if let Kind::HttpRequest { .. } = a.kind {
                e["identitySource"] = json!(values.join(","));
            }
            e
        }
        // Decided without a function: see `jwt`.
        Kind::Jwt { .. } => Value::Null,
        Kind::HttpRequest { v2: true, .. } => {
            let mut e = route_event.clone();
            if let Some(m) = e.as_object_mut() {
                m.remove("body");
                m.remove("isBase64Encoded");
            }
            e["type"] = json!("REQUEST");
            e["routeArn"] = json!(arn);
            e["identitySource"] = json!(values);
            e
        }
    }
}

/// What the authorizer said.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Go on, with what the route's event gets in `requestContext.authorizer`.
    Allow(Value),
    /// API Gateway's answer instead of the route's.
    Refuse(StatusCode, &'static str),
}

/// A policy's resource (`*` and `?` wildcards) against the ARN called.
fn matches(pattern: &str, arn: &str) -> bool {
    super::wildcard(pattern, arn, false)
}

fn as_list(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A REST authorizer's context values reach the route as strings; an object or a list in it is
/// an authorizer misconfiguration (API Gateway's 500).
fn context(v: &Value, rest: bool) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    for (k, x) in v.as_object().into_iter().flatten() {
        let x = match x {
            Value::String(_) | Value::Number(_) | Value::Bool(_) if rest => {
                json!(x.as_str().map_or_else(|| x.to_string(), str::to_string))
            }
            Value::Object(_) | Value::Array(_) if rest => return None,
            x => x.clone(),
        };
        out.insert(k.clone(), x);
    }
    if !v.is_null() && !v.is_object() {
        return None;
    }
    Some(out)
}

/// The authorizer's result (or error) judged as API Gateway judges it for `arn`.
pub(super) fn verdict(a: &Authorizer, outcome: &crate::local::Outcome, arn: &str) -> Verdict {
    let http = matches!(a.kind, Kind::HttpRequest { .. } | Kind::Jwt { .. });
    let error = match http {
        true => Verdict::Refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal Server Error"}"#,
        ),
        false => Verdict::Refuse(StatusCode::INTERNAL_SERVER_ERROR, r#"{"message":null}"#),
    };
    let forbidden = match http {
        true => r#"{"message":"Forbidden"}"#,
        false => r#"{"Message":"User is not authorized to access this resource"}"#,
    };
    let v = match outcome {
        crate::local::Outcome::Error(doc) => {
            return match doc["errorMessage"].as_str() {
                Some("Unauthorized") => {
                    Verdict::Refuse(StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#)
                }
                _ => error,
            };
        }
        crate::local::Outcome::Ok(b) => match serde_json::from_slice::<Value>(b) {
            Ok(v) => v,
            Err(_) => return error,
        },
    };
    if let Kind::HttpRequest { simple: true, .. } = a.kind {
        let Some(ok) = v.get("isAuthorized").and_then(Value::as_bool) else {
            return error;
        };
        if !ok {
            return Verdict::Refuse(StatusCode::FORBIDDEN, forbidden);
        }
        let Some(ctx) = context(&v["context"], false) else {
            return error;
        };
        return Verdict::Allow(json!({ "lambda": ctx }));
    }
    let statements: Vec<&Value> = match &v["policyDocument"]["Statement"] {
        Value::Array(s) => s.iter().collect(),
        s @ Value::Object(_) => vec![s],
        _ => return error,
    };
    let applies = |s: &Value| {
        let actions = as_list(&s["Action"]);
        let action = actions
            .iter()
            .any(|x| matches!(*x, "*" | "execute-api:*" | "execute-api:Invoke"));
        action && as_list(&s["Resource"]).iter().any(|r| matches(r, arn))
    };
    let effect = |e: &str| {
        statements.iter().any(|s| {
            applies(s)
                && s["Effect"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(e))
        })
    };
    if effect("Deny") {
        return Verdict::Refuse(
            StatusCode::FORBIDDEN,
            match http {
                true => r#"{"message":"Forbidden"}"#,
                false => {
                    r#"{"Message":"User is not authorized to access this resource with an explicit deny"}"#
                }
            },
        );
    }
    if !effect("Allow") {
        return Verdict::Refuse(StatusCode::FORBIDDEN, forbidden);
    }
    let Some(mut ctx) = context(&v["context"], !http) else {
        return error;
    };
    let principal = v.get("principalId").cloned().unwrap_or(Value::Null);
    match a.kind {
        Kind::HttpRequest { v2: true, .. } => {
            Verdict::Allow(json!({ "lambda": ctx, "principalId": principal }))
        }
        Kind::Token | Kind::Request | Kind::HttpRequest { v2: false, .. } | Kind::Jwt { .. } => {
            ctx.insert("principalId".into(), principal);
            if !http {
                ctx.insert("integrationLatency".into(), json!(0));
            }
            Verdict::Allow(Value::Object(ctx))
        }
    }
}

/// Runs the authorizer's function (`pool`, its current workers) on `event` and judges its
/// answer for `arn`; no function or no worker is API Gateway's 500.
pub(super) async fn ask(
    pool: Option<&std::sync::Arc<crate::local::Pool>>,
    a: &Authorizer,
    event: &Value,
    arn: &str,
) -> Verdict {
    let failed = Verdict::Refuse(StatusCode::INTERNAL_SERVER_ERROR, r#"{"message":null}"#);
    let Some(pool) = pool else {
        return failed;
    };
    let asked = hyper::body::Bytes::from(event.to_string());
    match pool.invoke(asked, None).await {
        Ok(done) => verdict(a, &done.outcome, arn),
        Err(e) => {
            eprintln!("authorizer {}: {e}", a.name);
            failed
        }
    }
}

/// A JWT authorizer's answer, as API Gateway checks a token — but for its signature: the
/// `Bearer ` token decoded, `iss` the issuer, `aud` (or an access token's `client_id`) one of
/// the audience, not expired; then the route's scopes, one of which `scope`/`scp` must hold.
/// Allowed, the claims (as strings) and scopes go to the route: under `jwt` for payload 2.0.
pub(super) fn jwt(a: &Authorizer, token: &str, now_secs: u64, v2: bool) -> Verdict {
    let Kind::Jwt {
        issuer,
        audience,
        scopes,
    } = &a.kind
    else {
        return Verdict::Refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal Server Error"}"#,
        );
    };
    let unauthorized = Verdict::Refuse(StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#);
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    let Some(claims) = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            let mut b64: String = p.replace('-', "+").replace('_', "/");
            while b64.len() % 4 != 0 {
                b64.push('=');
            }
            aws_smithy_types::base64::decode(&b64).ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(Value::is_object)
    else {
        return unauthorized;
    };
    if claims["iss"].as_str() != Some(issuer.as_str()) {
        return unauthorized;
    }
    let auds = as_list(&claims["aud"]);
    let client = claims["client_id"].as_str();
    if !audience.is_empty()
        && !audience
            .iter()
            .any(|want| auds.contains(&want.as_str()) || client == Some(want.as_str()))
    {
        return unauthorized;
    }
    if claims["exp"].as_u64().is_some_and(|exp| exp <= now_secs)
        || claims["nbf"].as_u64().is_some_and(|nbf| nbf > now_secs)
    {
        return unauthorized;
    }
    let held: Vec<String> = match (&claims["scope"], &claims["scp"]) {
        (Value::String(s), _) => s.split_whitespace().map(String::from).collect(),
        (_, Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        (_, Value::String(s)) => s.split_whitespace().map(String::from).collect(),
        _ => Vec::new(),
    };
    if !scopes.is_empty() && !scopes.iter().any(|s| held.contains(s)) {
        return Verdict::Refuse(StatusCode::FORBIDDEN, r#"{"message":"Forbidden"}"#);
    }
    let claims: Map<String, Value> = claims
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.clone(), json!(text))
        })
        .collect();
    let granted = if scopes.is_empty() {
        Value::Null
    } else {
        json!(held)
    };
    let context = json!({ "claims": claims, "scopes": granted });
    Verdict::Allow(match v2 {
        true => json!({ "jwt": context }),
        false => context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::Outcome;
    use hyper::body::Bytes;

    fn auth(kind: Kind) -> Authorizer {
        Authorizer {
            name: "a".into(),
            function: "a".into(),
            kind,
            identity: vec![Source::Header("authorization".into())],
        }
    }

    fn ok(v: Value) -> Outcome {
        Outcome::Ok(Bytes::from(v.to_string()))
    }

    const ARN: &str = "arn:aws:execute-api:us-east-1:000000000000:api/dev/GET/users/1";

    #[test]
    fn policies_are_judged_as_api_gateway_judges_them() {
        let a = auth(Kind::Token);
        let policy = |effect: &str, resource: &str| {
            ok(json!({"principalId": "u1", "context": {"n": 1, "b": true},
                "policyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}}))
        };
        assert_eq!(
            verdict(
                &a,
                &policy("Allow", "arn:aws:execute-api:*:*:api/dev/*"),
                ARN
            ),
            Verdict::Allow(
                json!({"principalId": "u1", "n": "1", "b": "true", "integrationLatency": 0})
            )
        );
        assert!(matches!(
            verdict(&a, &policy("Deny", "*"), ARN),
            Verdict::Refuse(StatusCode::FORBIDDEN, _)
        ));
        assert!(matches!(
            verdict(&a, &policy("Allow", "arn:other"), ARN),
            Verdict::Refuse(StatusCode::FORBIDDEN, _)
        ));
        let unauthorized = Outcome::Error(json!({"errorMessage": "Unauthorized"}));
        assert_eq!(
            verdict(&a, &unauthorized, ARN),
            Verdict::Refuse(StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#)
        );
        let nested = ok(json!({"principalId": "u", "context": {"o": {"x": 1}},
            "policyDocument": {"Statement": [{"Action": "*", "Effect": "Allow", "Resource": "*"}]}}));
        assert!(matches!(
            verdict(&a, &nested, ARN),
            Verdict::Refuse(StatusCode::INTERNAL_SERVER_ERROR, _)
        ));
        let simple = auth(Kind::HttpRequest {
            v2: true,
            simple: true,
        });
        assert_eq!(
            verdict(
                &simple,
                &ok(json!({"isAuthorized": true, "context": {"o": {"x": 1}}})),
                ARN
            ),
            Verdict::Allow(json!({"lambda": {"o": {"x": 1}}}))
        );
        assert!(matches!(
            verdict(&simple, &ok(json!({"isAuthorized": false})), ARN),
            Verdict::Refuse(StatusCode::FORBIDDEN, _)
        ));
    }

    #[test]
    fn jwt_claims_are_checked_as_api_gateway_checks_them() {
        let a = Authorizer {
            name: "jwt".into(),
            function: String::new(),
            kind: Kind::Jwt {
                issuer: "https://issuer.example".into(),
                audience: vec!["app".into()],
                scopes: vec!["email".into()],
            },
            identity: vec![Source::Header("authorization".into())],
        };
        let token = |claims: Value| {
            let b = aws_smithy_types::base64::encode(claims.to_string());
            let b = b.trim_end_matches('=').replace('+', "-").replace('/', "_");
            format!("Bearer eyJhbGciOiJub25lIn0.{b}.sig")
        };
        let good = json!({"iss": "https://issuer.example", "aud": ["app"], "exp": 2000, "scope": "openid email", "n": 1});
        let Verdict::Allow(ctx) = jwt(&a, &token(good.clone()), 1000, true) else {
            panic!("allowed")
        };
        assert_eq!(ctx["jwt"]["claims"]["n"], "1");
        assert_eq!(ctx["jwt"]["scopes"], json!(["openid", "email"]));
        let refused = |claims: Value| match jwt(&a, &token(claims), 1000, true) {
            Verdict::Refuse(s, _) => s.as_u16(),
            Verdict::Allow(_) => 200,
        };
        let mut expired = good.clone();
        expired["exp"] = json!(999);
        assert_eq!(refused(expired), 401);
        let mut other = good.clone();
        other["iss"] = json!("https://else.example");
        assert_eq!(refused(other), 401);
        let mut aud = good.clone();
        aud["aud"] = json!("nope");
        assert_eq!(refused(aud), 401);
        let mut scopes = good.clone();
        scopes["scope"] = json!("openid");
        assert_eq!(refused(scopes), 403);
        assert!(matches!(
            jwt(&a, "Bearer junk", 1000, true),
            Verdict::Refuse(StatusCode::UNAUTHORIZED, _)
        ));
    }
}
