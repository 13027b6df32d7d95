//! Each function's events, handed to the checks of their kind; the API events (`httpApi`,
//! `http`, `websocket`, `alb`) and their routes are checked here.

// The checker and the helpers every topic shares.
use super::*;
use crate::config::model::{AlbEvent, HttpApiEvent, HttpEvent, WebsocketEvent};

/// Where an event sits and what the checks of its kind need of its function.
pub(super) struct On<'a> {
    pub func: &'a str,
    pub base: &'a [&'a str],
    pub timeout: u32,
    /// Every route so far, by route key: the function and where it is.
    pub routes: &'a mut Routes,
}

pub(super) type Routes = HashMap<String, (String, Option<Span>)>;

impl On<'_> {
    /// The path of the event's `kind` key, and of its `field` unless empty.
    pub fn at(&self, kind: &str, field: &str) -> Vec<String> {
        let mut v: Vec<String> = self.base.iter().map(|s| s.to_string()).collect();
        v.push(kind.into());
        if !field.is_empty() {
            v.push(field.into());
        }
        v
    }
}

pub(super) fn event(
    c: &mut Checker,
    func: &str,
    base: &[&str],
    ev: &Event,
    timeout: u32,
    routes: &mut Routes,
) {
    let on = &mut On {
        func,
        base,
        timeout,
        routes,
    };
    // An arm per kind, no wildcard: a kind added to the model is checked or refused here.
    match ev {
        Event::HttpApi(e) => http_api(c, on, e),
        Event::Http(e) => http(c, on, e),
        Event::Schedule(e) => triggers::schedule(c, on, e),
        Event::Sqs(e) => sources::sqs(c, on, e),
        Event::Alb(e) => alb(c, on, e),
        Event::Msk(e) => sources::msk(c, on, e),
        Event::Kafka(e) => sources::kafka(c, on, e),
        Event::Activemq(e) | Event::Rabbitmq(e) => sources::mq(c, on, ev.kind(), e),
        Event::Stream(e) => sources::stream(c, on, e),
        Event::AlexaSkill(e) | Event::AlexaSmartHome(e) => triggers::alexa(c, on, ev.kind(), e),
        Event::CognitoUserPool(e) => triggers::cognito_user_pool(c, on, e),
        Event::Websocket(e) => websocket(c, on, e),
        Event::CloudwatchLog(e) => triggers::cloudwatch_log(c, on, e),
        Event::CloudwatchEvent(e) => triggers::cloudwatch_event(c, on, e),
        Event::EventBridge(e) => triggers::event_bridge(c, on, e),
        Event::Sns(e) => triggers::sns(c, on, e),
        Event::S3(e) => triggers::s3(c, on, e),
        Event::Unsupported(_) => unsupported(c, on),
    }
}

pub(super) fn http_api(c: &mut Checker, on: &mut On<'_>, e: &HttpApiEvent) {
    let func = on.func;
    let timeout = on.timeout;
    let m = e.method.to_ascii_uppercase();
    let mp = on.at("httpApi", "method");
    if !HTTP_API_METHODS.contains(&m.as_str()) {
        c.error(&refs(&mp), format!("unknown HTTP method `{}`", e.method))
            .help = Some(format!("use one of {}", HTTP_API_METHODS.join(", ")));
    }
    let pp = on.at("httpApi", "path");
    if !(e.path == "*" && m == "*") {
        if let Err(why) = route_path(&e.path, true) {
            c.error(
                &refs(&pp),
                format!("route path `{}` is not valid: {why}", e.path),
            );
        }
    }
    let key = crate::config::model::http_api_route_key(&e.method, &e.path);
    duplicate_route(c, "httpApi", key, func, &refs(&pp), on.routes);
    if e.authorizer.is_some() {
        refuse(
            c,
            &refs(&on.at("httpApi", "authorizer")),
            "authorizers on HTTP API routes",
        );
    }
    if timeout > 30 {
        c.warn_key(&refs(&on.at("httpApi", "")), format!(
            "function `{func}` has a {timeout} s timeout, but HTTP API requests time out after 30 s"
        ));
    }
}

pub(super) fn http(c: &mut Checker, on: &mut On<'_>, e: &HttpEvent) {
    let func = on.func;
    let timeout = on.timeout;
    let m = e.method.to_ascii_uppercase();
    let mp = on.at("http", "method");
    if !REST_METHODS.contains(&m.as_str()) {
        c.error(&refs(&mp), format!("unknown HTTP method `{}`", e.method))
            .help = Some(format!("use one of {}", REST_METHODS.join(", ")));
    }
    let pp = on.at("http", "path");
    let path = format!("/{}", e.path.trim_start_matches('/'));
    if let Err(why) = route_path(&path, false) {
        c.error(
            &refs(&pp),
            format!("route path `{}` is not valid: {why}", e.path),
        );
    }
    duplicate_route(
        c,
        "http",
        format!("{m} {path}"),
        func,
        &refs(&pp),
        on.routes,
    );
    for (key, set) in [
        ("private", e.private == Some(true)),
        ("authorizer", e.authorizer.is_some()),
        ("request", e.request.is_some()),
        ("async", e.is_async == Some(true)),
        ("operationId", e.operation_id.is_some()),
        (
            "integration",
            e.integration.as_deref().is_some_and(|i| {
                !matches!(
                    i.to_ascii_lowercase().as_str(),
                    "lambda-proxy" | "aws_proxy"
                )
            }),
        ),
    ] {
        if set {
            refuse(
                c,
                &refs(&on.at("http", key)),
                &format!("`{key}` on REST routes"),
            );
        }
    }
    if timeout > 29 {
        c.warn_key(&refs(&on.at("http", "")), format!(
            "function `{func}` has a {timeout} s timeout, but REST API requests time out after 29 s"
        ));
    }
}

pub(super) fn websocket(c: &mut Checker, on: &mut On<'_>, e: &WebsocketEvent) {
    let func = on.func;
    let rp = on.at("websocket", "route");
    let r = e.route.trim();
    if r.is_empty() {
        c.error(&refs(&rp), "a websocket event needs a `route`")
            .help = Some("`$connect`, `$disconnect`, `$default` or the value of the route selection expression, e.g. `sendMessage`".into());
    } else if r.starts_with('$') && !WEBSOCKET_SPECIAL_ROUTES.contains(&r) {
        c.error(&refs(&rp), format!("`{r}` is not a WebSocket route"))
            .help = Some(format!(
            "routes starting with `$` are {}; other routes are the values messages carry",
            WEBSOCKET_SPECIAL_ROUTES.join(", ")
        ));
    }
    duplicate_route(c, "websocket", r.to_string(), func, &refs(&rp), on.routes);
    if let Some(x) = &e.route_response_selection_expression
        && x != "$default"
    {
        c.error(
            &refs(&on.at("websocket", "routeResponseSelectionExpression")),
            format!("routeResponseSelectionExpression is `$default`, got `{x}`"),
        )
        .help = Some("API Gateway supports only `$default`: the handler's return value goes back to the client".into());
    }
    if e.authorizer.is_some() {
        refuse(
            c,
            &refs(&on.at("websocket", "authorizer")),
            "authorizers on WebSocket routes",
        );
    }
}

pub(super) fn alb(c: &mut Checker, on: &mut On<'_>, e: &AlbEvent) {
    let func = on.func;
    let key = |k: &str| on.at("alb", k);
    let ok = e.listener_arn.starts_with("arn:")
        && e.listener_arn.split(':').nth(2) == Some("elasticloadbalancing")
        && e.listener_arn.contains(":listener/app/");
    if !ok {
        c.error(
            &refs(&key("listenerArn")),
            format!(
                "`{}` is not an Application Load Balancer listener ARN",
                e.listener_arn
            ),
        )
        .help = Some(
            "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/LB-ID/LISTENER-ID"
                .into(),
        );
    }
    if !(1..=50_000).contains(&e.priority) {
        c.error(&refs(&key("priority")), "priority is 1–50000");
    }
    let cond = &e.conditions;
    let any = cond.path.is_some()
        || cond.host.is_some()
        || cond.method.is_some()
        || cond.ip.is_some()
        || cond.header.is_some()
        || cond.query.is_some();
    if !any {
        c.error(
            &refs(&key("conditions")),
            "an alb event needs at least one condition: path, host, method, header, query or ip",
        );
    }
    if let Some(h) = &cond.header {
        let one = |v: &serde_json::Value| {
            v.get("name").and_then(serde_json::Value::as_str).is_some()
                && v.get("values")
                    .and_then(serde_json::Value::as_array)
                    .is_some_and(|a| !a.is_empty() && a.iter().all(serde_json::Value::is_string))
        };
        let ok = match h {
            serde_json::Value::Array(items) => !items.is_empty() && items.iter().all(one),
            other => one(other),
        };
        if !ok {
            let mut p = on.at("alb", "conditions");
            p.push("header".into());
            c.error(
                &refs(&p),
                "a header condition is `{name: X-Name, values: [a, b]}` (or a list of them)",
            );
        }
    }
    if let Some(h) = &e.health_check {
        const KEYS: &[&str] = &[
            "enabled",
            "path",
            "intervalSeconds",
            "timeoutSeconds",
            "healthyThresholdCount",
            "unhealthyThresholdCount",
            "matcher",
        ];
        let ok = h.is_boolean()
            || h.as_object()
                .is_some_and(|m| m.keys().all(|k| KEYS.contains(&k.as_str())));
        if !ok {
            c.error(
                &refs(&key("healthCheck")),
                format!("healthCheck is `true` or a mapping of {}", KEYS.join(", ")),
            );
        }
    }
    if let Some(n) = &e.target_group_name {
        let ok = (1..=32).contains(&n.len())
            && n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
            && !n.starts_with('-')
            && !n.ends_with('-')
            && !n.starts_with("internal-");
        if !ok {
            c.error(
                &refs(&key("targetGroupName")),
                format!("`{n}` is not a target group name"),
            )
            .help = Some("1–32 letters, digits and `-`, not at either end".into());
        }
    }
    if e.authorizer.is_some() {
        refuse(c, &refs(&key("authorizer")), "authorizers on ALB rules");
    }
    // ELB compares a path pattern with the whole path, which starts with `/`.
    for p in e.conditions.path.iter().flatten() {
        if !p.starts_with('/') && !p.starts_with('*') {
            c.warn_key(
                &refs(&key("conditions")),
                format!(
                    "ALB path pattern `{p}` does not start with `/`: the load balancer compares it with whole paths, so it matches no request (write `/{p}`)"
                ),
            );
        }
    }
    duplicate_route(
        c,
        "alb",
        format!("{} priority {}", e.listener_arn, e.priority),
        func,
        &refs(&key("priority")),
        on.routes,
    );
}

pub(super) fn unsupported(c: &mut Checker, on: &mut On<'_>) {
    let base = on.base;
    let kind = c
        .tree
        .at_path(base)
        .and_then(|n| match &n.value {
            crate::config::yaml::Value::Map(e) => e.first().map(|e| e.key.clone()),
            _ => None,
        })
        .unwrap_or_default();
    refuse(
        c,
        &[base, &[kind.as_str()]].concat(),
        &format!("`{kind}` events"),
    );
}

/// Runtimes Lambda accepts for new functions.
pub(super) const HTTP_API_METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY", "*",
];

pub(super) const REST_METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

/// The routes API Gateway gives meaning to; every other route is a message's selected value.
pub(super) const WEBSOCKET_SPECIAL_ROUTES: &[&str] = &["$connect", "$disconnect", "$default"];

pub(super) fn duplicate_route(
    c: &mut Checker,
    kind: &str,
    key: String,
    func: &str,
    path: &[&str],
    routes: &mut HashMap<String, (String, Option<Span>)>,
) {
    let span = c.span(path);
    let full = format!("{kind}:{key}");
    if let Some((other, first)) = routes.get(&full) {
        let mut p = Problem::error(format!("route `{key}` ({kind}) is defined twice"), span)
            .label("second definition");
        if let Some(s) = first {
            p = p.note(format!(
                "first defined for function `{other}` on line {}",
                s.start.line
            ));
        }
        // Two rules of one priority on a listener only stop ELB; the local balancer takes
        // them in config order.
        if kind == "alb" {
            p = p
                .help("each listener rule needs a priority of its own")
                .only_when_deploying();
        } else {
            p = p.help("each method and path can go to only one function");
        }
        c.out.push(p);
    } else {
        routes.insert(full, (func.to_string(), span));
    }
}

/// API Gateway path rules: `/a/{id}`, a greedy `{proxy+}` only at the end.
pub fn route_path(p: &str, http_api: bool) -> Result<(), String> {
    if http_api && !p.starts_with('/') {
        return Err("it must start with `/`".into());
    }
    let segs: Vec<&str> = p.trim_start_matches('/').split('/').collect();
    let n = segs.len();
    for (i, s) in segs.iter().enumerate() {
        if s.is_empty() {
            if n == 1 || (i == n - 1 && !http_api) {
                continue;
            }
            return Err("it has an empty segment (`//` or a trailing `/`)".into());
        }
        if let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            let name = inner.strip_suffix('+').unwrap_or(inner);
            if inner.ends_with('+') && i != n - 1 {
                return Err(format!(
                    "the greedy parameter `{s}` must be the last segment"
                ));
            }
            if name.is_empty()
                || !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
            {
                return Err(format!("`{s}` is not a valid path parameter"));
            }
        } else if s.contains(['{', '}']) {
            return Err(format!(
                "`{s}`: a parameter must be a whole segment, like `{{id}}`"
            ));
        } else if !s
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-._~:@!$&'()*+,;=%".contains(ch))
        {
            return Err(format!(
                "`{s}` contains characters that are not allowed in a URL path"
            ));
        }
    }
    Ok(())
}
