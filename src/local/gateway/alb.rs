//! `sls offline`'s Application Load Balancer on `--alb-port`: the `alb` events' listener rules,
//! tried in priority order with their conditions as ELB matches them, in front of the local
//! workers, with the event ELB sends a Lambda target and its answer turned into HTTP.

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use super::events::{Incoming1, body_of, header_values};
use super::responses::proxy_response;
use super::{Gateway, wildcard};
use crate::local::Outcome;
use crate::local::http::json as json_response;
use crate::plan::Desired;
use crate::plan::alb::Condition;

/// One listener rule, with what its target group asks of the event.
#[derive(Debug, Clone)]
pub struct AlbRoute {
    pub priority: i32,
    pub conditions: Vec<Condition>,
    pub function: String,
    pub target_group: String,
    pub multi_value: bool,
}

/// The rules of `d`, lowest priority number first (ELB's order).
pub fn routes(d: &Desired) -> Vec<AlbRoute> {
    let mut out: Vec<AlbRoute> = d
        .listener_rules
        .iter()
        .filter_map(|r| {
            let g = d.target_groups.iter().find(|g| g.name == r.target_group)?;
            Some(AlbRoute {
                priority: r.priority,
                conditions: r.conditions.clone(),
                function: g.function.clone(),
                target_group: g.name.clone(),
                multi_value: g.multi_value,
            })
        })
        .collect();
    out.sort_by_key(|r| r.priority);
    out
}

/// Whether `inc` meets one condition (a value of it, for lists: any).
fn meets(c: &Condition, inc: &Incoming1, query: &[(String, String)]) -> bool {
    let header = |name: &str| {
        inc.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    match c.field.as_str() {
        "path-pattern" => c.values.iter().any(|p| wildcard(p, &inc.path, false)),
        "http-request-method" => c.values.contains(&inc.method),
        "host-header" => {
            let host = header("host").into_iter().next().unwrap_or_default();
            let host = host.split(':').next().unwrap_or_default().to_string();
            c.values.iter().any(|p| wildcard(p, &host, true))
        }
        "http-header" => {
            let got = header(c.name.as_deref().unwrap_or_default());
            c.values
                .iter()
                .any(|p| got.iter().any(|v| wildcard(p, v, true)))
        }
        "query-string" => c.values.iter().any(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or(("", pair));
            query
                .iter()
                .any(|(qk, qv)| (k.is_empty() || wildcard(k, qk, true)) && wildcard(v, qv, true))
        }),
        // Locally every client is this machine.
        "source-ip" => c
            .values
            .iter()
            .any(|cidr| cidr.starts_with("127.") || cidr == "0.0.0.0/0" || cidr.starts_with("::1")),
        _ => false,
    }
}

/// The query string's pairs as ELB compares them: decoded.
fn decoded_query(q: &str) -> Vec<(String, String)> {
    super::events::query_pairs(q)
        .into_iter()
        .flat_map(|(k, vs)| vs.into_iter().map(move |v| (k.clone(), v)))
        .collect()
}

/// The event ELB sends a Lambda target: headers and query values as they came (ELB does not
/// decode the query string), multi-value forms when the target group asks for them.
fn event(inc: &Incoming1, r: &AlbRoute, region: &str) -> Value {
    let (body, b64) = body_of(inc);
    let raw: Vec<(String, String)> = inc
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let mut e = Map::new();
    e.insert(
        "requestContext".into(),
        json!({"elb": {"targetGroupArn": format!(
            "arn:aws:elasticloadbalancing:{region}:000000000000:targetgroup/{}/0000000000000000",
            r.target_group
        )}}),
    );
    e.insert("httpMethod".into(), json!(inc.method));
    e.insert("path".into(), json!(inc.path));
    let headers = header_values(&inc.headers);
    if r.multi_value {
        let mut q = Map::new();
        for (k, v) in &raw {
            if let Some(a) = q
                .entry(k.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
            {
                a.push(json!(v));
            }
        }
        e.insert("multiValueQueryStringParameters".into(), Value::Object(q));
        let h: Map<String, Value> = headers.into_iter().map(|(k, vs)| (k, json!(vs))).collect();
        e.insert("multiValueHeaders".into(), Value::Object(h));
    } else {
        // The last value of a repeated key or header, as ELB passes it.
        let mut q = Map::new();
        for (k, v) in &raw {
            q.insert(k.clone(), json!(v));
        }
        e.insert("queryStringParameters".into(), Value::Object(q));
        let h: Map<String, Value> = headers
            .into_iter()
            .map(|(k, vs)| (k, json!(vs.last().cloned().unwrap_or_default())))
            .collect();
        e.insert("headers".into(), Value::Object(h));
    }
    e.insert("body".into(), json!(body.unwrap_or_default()));
    e.insert("isBase64Encoded".into(), json!(b64));
    Value::Object(e)
}

/// ELB's own answers carry an HTML body.
fn elb_error(status: StatusCode) -> Response<Full<Bytes>> {
    let text = format!(
        "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n</body>\r\n</html>\r\n",
        format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or_default()
        )
    );
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", "text/html".parse().unwrap());
    r
}

/// Serves the rules on `listener` until the process ends.
pub async fn serve(listener: TcpListener, gw: Arc<Gateway>, region: String) {
    while let Ok((stream, _)) = listener.accept().await {
        let gw = gw.clone();
        let region = region.clone();
        crate::local::http::spawn_connection(stream, move |req| {
            let gw = gw.clone();
            let region = region.clone();
            async move { handle(&gw, &region, req).await }
        });
    }
}

async fn handle(gw: &Gateway, region: &str, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let served = gw.current.read().unwrap().clone();
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return elb_error(StatusCode::BAD_REQUEST);
    };
    let inc = Incoming1 {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts.headers,
        body,
    };
    let query = decoded_query(&inc.query);
    let find = |inc: &Incoming1| {
        served
            .alb
            .iter()
            .find(|r| r.conditions.iter().all(|c| meets(c, inc, &query)))
    };
    let mut inc = inc;
    let mut found = find(&inc);
    // serverless-offline served ALB paths under the stage: such a URL that no rule takes as it
    // is goes to the rule its path without the stage matches, and says so.
    if found.is_none()
        && let Some(rest) = inc
            .path
            .strip_prefix(&format!("/{}", served.service_stage))
            .filter(|r| r.is_empty() || r.starts_with('/'))
    {
        let real = if rest.is_empty() { "/" } else { rest }.to_string();
        let stripped = Incoming1 {
            path: real.clone(),
            ..inc
        };
        found = find(&stripped);
        if found.is_some() {
            eprintln!(
                "note: ALB request {} {}: served as {real}, its path on the load balancer (an ALB path has no stage)",
                stripped.method,
                format_args!("/{}{real}", served.service_stage)
            );
        }
        inc = stripped;
    }
    let Some(r) = found else {
        // The listener's default action is not in the config: sls answers as a fixed 404.
        return json_response(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#);
    };
    let Some(pool) = served.pools.get(&r.function) else {
        return elb_error(StatusCode::SERVICE_UNAVAILABLE);
    };
    let payload = Bytes::from(event(&inc, r, region).to_string());
    match pool.invoke(payload, None).await {
        Ok(done) => match &done.outcome {
            Outcome::Ok(b) => match serde_json::from_slice::<Value>(b) {
                Ok(v) if v.get("statusCode").is_some() => proxy_response(&v, false, None),
                // ELB needs a status code; anything else is its 502.
                _ => elb_error(StatusCode::BAD_GATEWAY),
            },
            Outcome::Error(_) => elb_error(StatusCode::BAD_GATEWAY),
        },
        Err(e) => {
            eprintln!("error: {e}");
            elb_error(StatusCode::BAD_GATEWAY)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::wildcard;

    #[test]
    fn wildcards_match_as_elb_matches_them() {
        assert!(wildcard("/order", "/order", false));
        assert!(!wildcard("/order", "/Order", false));
        assert!(wildcard("/api/*", "/api/a/b", false));
        assert!(wildcard("/a?c", "/abc", false));
        assert!(!wildcard("/a?c", "/ac", false));
        assert!(wildcard("*.example.com", "WWW.example.com", true));
        assert!(wildcard("CANCEL", "cancel", true));
        assert!(!wildcard("/api/*/x", "/api/y", false));
    }
}
