//! What the config asks for, as AWS will hold it: names, tags, the role's policies, each
//! function's configuration and code digest, and the routes. Built from the config and the
//! package manifest; no AWS calls.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::alb::{Condition, HealthCheck, ListenerRuleSpec, TargetGroupSpec};
use super::alexa::AlexaGrant;
use super::bucket::BucketSpec;
use super::event_source::{MappingSettings, MappingSpec, SourceKind};
use super::function::{AsyncInvoke, FunctionConfig, FunctionSpec, UrlSpec};
use super::http_api::{CorsSpec, HttpApiSpec, route_key};
use super::log_group::{LogGroupSpec, name_of as log_group_of};
use super::log_subscription::LogSubscriptionSpec;
use super::notification::{EntrySpec, EventBucketSpec, id_prefix};
use super::rest_api::{RestApiSpec, RestSettings, RestStageSettings};
use super::role::RoleSpec;
use super::schedule::{RuleSpec, TargetInput};
use super::scheduler::ScheduleSpec;
use super::topic::{SubscriptionSpec, TopicSpec};
use super::user_pool::UserPoolSpec;
use super::websocket::{WebsocketRoute, WebsocketSpec};
use crate::config::Config;
use crate::config::model::{
    Event, Function, LambdaLogs, RestCors, SqsEvent, Statement, StreamEvent,
};
use crate::config::validate::arn_service;
use crate::package::{INLINE_UPLOAD_LIMIT, Manifest};

pub const TAG_SERVICE: &str = "sls:service";
pub const TAG_STAGE: &str = "sls:stage";
pub const TAG_MANAGED_BY: &str = "sls:managed-by";
pub const MANAGED_BY: &str = "sls";
pub const DEFAULT_ALIAS: &str = "live";
#[derive(Debug, Clone, Serialize)]
pub struct Desired {
    pub service: String,
    pub stage: String,
    pub region: String,
    /// The alias this deploy moves to the versions it publishes: `live`, or `--alias NAME`.
    pub alias: String,
    /// The alias the APIs route to (`provider.alias`, default `live`).
    pub live: String,
    /// `provider.versionRetention`: unaliased versions kept after a deploy (`None`: all).
    pub version_retention: Option<u32>,
    /// Ownership tags plus `provider.tags`.
    pub tags: BTreeMap<String, String>,
    /// The role sls keeps for the service: `None` in [`Desired::nothing`], and when every
    /// function runs as a role the config names.
    pub role: Option<RoleSpec>,
    /// `iam.role` (or `provider.role`) as an existing role's ARN.
    pub existing_role: Option<String>,
    /// The roles of functions with their own statements (`iamRoleStatements`), by role name.
    pub function_roles: Vec<RoleSpec>,
    pub bucket: Option<BucketSpec>,
    pub functions: Vec<FunctionSpec>,
    pub http_api: Option<HttpApiSpec>,
    pub rest_api: Option<RestApiSpec>,
    /// One per function that logs (not `disableLogs`).
    pub log_groups: Vec<LogGroupSpec>,
    /// `sqs` and `stream` events: what polls each function's live alias.
    pub mappings: Vec<MappingSpec>,
    /// `schedule` and `eventBridge` events: one EventBridge rule per expression or pattern.
    pub rules: Vec<RuleSpec>,
    /// The event buses the rules name (not ARNs, not `default`): created when missing.
    pub buses: Vec<String>,
    /// `sns` events: the topics they name, and each function alias' subscriptions.
    pub topics: Vec<TopicSpec>,
    pub subscriptions: Vec<SubscriptionSpec>,
    /// Narrowed by [`Desired::only_function`]: grants of kinds left out (APIs, buckets) are
    /// neither made nor revoked.
    pub function_only: bool,
    /// `s3` events: per bucket, our notification entries.
    pub event_buckets: Vec<EventBucketSpec>,
    /// `cloudwatchLog` events: a subscription filter per function and log group.
    pub log_subscriptions: Vec<LogSubscriptionSpec>,
    /// `alexaSkill` and `alexaSmartHome` events: a grant per function and skill.
    pub alexa: Vec<AlexaGrant>,
    /// The WebSocket API of the `websocket` events.
    pub websocket: Option<WebsocketSpec>,
    /// The Cognito user pools of the `cognitoUserPool` events, with their triggers.
    pub user_pools: Vec<UserPoolSpec>,
    /// `schedule` events with `method: scheduler`.
    pub schedules: Vec<ScheduleSpec>,
    /// The role EventBridge Scheduler invokes them through.
    pub scheduler_role: Option<RoleSpec>,
    /// `alb` events: a target group per function, load balancer and header mode, and the rules.
    pub target_groups: Vec<TargetGroupSpec>,
    pub listener_rules: Vec<ListenerRuleSpec>,
    /// The side stack of `resources:`; set by a deploy once its template is built.
    pub stack: Option<super::stack::StackSpec>,
    /// `layers:`.
    pub layers: Vec<super::LayerSpec>,
    /// serverless-domain-manager's `custom.customDomain`.
    pub domain: Option<super::DomainSpec>,
}

/// The integration response headers of a CORS `OPTIONS` method, as Serverless v3 sets them.
fn rest_cors(c: &RestCors, methods: &[String]) -> BTreeMap<String, String> {
    let origin = c
        .origins
        .as_ref()
        .map(|o| o.join(","))
        .or_else(|| c.origin.clone())
        .unwrap_or_else(|| "*".into());
    let headers = c.headers.as_ref().map_or_else(
        || {
            "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent,X-Amzn-Trace-Id"
                .to_string()
        },
        |h| h.join(","),
    );
    let mut allowed: Vec<&str> = methods.iter().map(String::as_str).collect();
    allowed.push("OPTIONS");
    allowed.sort_unstable();
    allowed.dedup();
    let mut m = BTreeMap::new();
    m.insert("Access-Control-Allow-Origin".into(), origin);
    m.insert("Access-Control-Allow-Headers".into(), headers);
    m.insert("Access-Control-Allow-Methods".into(), allowed.join(","));
    if c.allow_credentials == Some(true) {
        m.insert("Access-Control-Allow-Credentials".into(), "true".into());
    }
    if let Some(age) = c.max_age {
        m.insert("Access-Control-Max-Age".into(), age.to_string());
    }
    m
}

/// `provider.httpApi.cors`: `true` (an empty mapping) allows every origin and method with the
/// headers Serverless v3 allows; each key of a mapping replaces its part.
fn http_api_cors(c: &crate::config::model::Cors) -> CorsSpec {
    CorsSpec {
        allow_origins: c
            .allowed_origins
            .clone()
            .unwrap_or_else(|| vec!["*".into()]),
        allow_headers: c.allowed_headers.clone().unwrap_or_else(|| {
            super::http_api::CORS_HEADERS
                .iter()
                .map(|h| h.to_string())
                .collect()
        }),
        allow_methods: c
            .allowed_methods
            .clone()
            .unwrap_or_else(|| vec!["*".into()]),
        allow_credentials: c.allow_credentials == Some(true),
        expose_headers: c.exposed_response_headers.clone().unwrap_or_default(),
        max_age: c.max_age.map(|m| m as i32),
    }
    .normalised()
}

/// `Active` when the function's `tracing` (else `provider.tracing.lambda`) is `true` or
/// `Active`, else Lambda's default `PassThrough`.
pub fn tracing_mode(config: &Config, f: &Function) -> &'static str {
    let setting = f.tracing.as_ref().or_else(|| {
        config
            .provider
            .tracing
            .as_ref()
            .and_then(|t| t.lambda.as_ref())
    });
    match setting {
        Some(serde_json::Value::Bool(true)) => "Active",
        Some(serde_json::Value::String(s)) if s == "Active" => "Active",
        _ => "PassThrough",
    }
}

/// A list in the one order (sorted, without repeats) in which desired and observed lists are
/// compared.
pub fn sorted(v: Option<Vec<String>>) -> Vec<String> {
    let mut v = v.unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

/// The managed policy Lambda needs to attach a function to a VPC (Serverless v3 adds it), in
/// the region's partition.
pub fn vpc_access_policy(region: &str) -> String {
    let (partition, _) = super::partition(region);
    format!("arn:{partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
}

/// A role ARN's `/path/name` (`arn:aws:iam::1:role/team/r` → `/team/r`), as a function's
/// configuration is compared.
pub fn role_ref(arn: &str) -> String {
    arn.split_once(":role")
        .map_or_else(|| arn.to_string(), |(_, r)| r.to_string())
}

/// Serverless v3's default function name: `{service}-{stage}-{function}`, shortened
/// deterministically when over Lambda's 64 characters.
pub fn function_name(service: &str, stage: &str, key: &str) -> String {
    super::fit(&format!("{service}-{stage}-{key}"), 64)
}

/// Serverless v3's role name: `{service}-{stage}-{region}-lambdaRole` (IAM allows 64).
pub fn role_name(service: &str, stage: &str, region: &str) -> String {
    super::fit(&format!("{service}-{stage}-{region}-lambdaRole"), 64)
}

/// The name serverless-iam-roles-per-function gives a function's own role:
/// `{service}-{stage}-{function}-{region}-lambdaRole`, without `-lambdaRole` when that is over
/// IAM's 64 characters (validation refuses a name still too long).
pub fn function_role_name(service: &str, stage: &str, key: &str, region: &str) -> String {
    let full = format!("{service}-{stage}-{key}-{region}-lambdaRole");
    if full.len() <= 64 {
        return full;
    }
    super::fit(&format!("{service}-{stage}-{key}-{region}"), 64)
}

/// Serverless v3's API name: `{stage}-{service}`.
pub fn api_name(service: &str, stage: &str) -> String {
    format!("{stage}-{service}")
}

/// The S3 bucket sls keeps for a service and stage's large artifacts: `{service}-{stage}-sls-
/// {account}-{region}`, in the characters S3 allows (bucket names are global, hence the
/// account and region).
pub fn bucket_name(service: &str, stage: &str, account: &str, region: &str) -> String {
    let raw: String = format!("{service}-{stage}-sls-{account}-{region}")
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    super::fit(&raw, 63)
}

/// A function's logging configuration: its own `logs` over the provider's `logs.lambda`.
fn lambda_logs(config: &Config, f: &Function) -> LambdaLogs {
    let provider = config
        .provider
        .logs
        .as_ref()
        .and_then(|l| l.lambda.as_ref());
    LambdaLogs::over(f.logs.as_ref(), provider)
}

/// The log group sls creates for every function that logs (not `disableLogs`) to Lambda's own
/// group (no `logs.logGroup` of the user's), custom `name:`s included, with its retention (the
/// function's, else the provider's).
fn log_groups(config: &Config, stage: &str) -> Vec<LogGroupSpec> {
    config
        .functions
        .iter()
        .flatten()
        .filter(|(_, f)| f.disable_logs != Some(true))
        .filter(|(_, f)| lambda_logs(config, f).log_group.is_none())
        .map(|(key, f)| {
            let name = f
                .name
                .clone()
                .unwrap_or_else(|| function_name(&config.service, stage, key));
            LogGroupSpec {
                log_group: log_group_of(&name),
                retention_days: f
                    .log_retention_in_days
                    .or(config.provider.log_retention_in_days)
                    .map(|r| r.0 as i32),
            }
        })
        .collect()
}

/// A function's `schedule` events as rules, one per expression: named
/// `{service}-{stage}-{function}-schedule-{n}` (n from 1 over the function's expressions) unless
/// the event names it.
fn rules_of(service: &str, stage: &str, key: &str, f: &Function) -> Vec<RuleSpec> {
    let mut out = Vec::new();
    let mut n = 0;
    let mut rule_n = 0;
    for ev in f.events.iter().flatten() {
        if let Event::CloudwatchEvent(e) = ev {
            rule_n += 1;
            out.push(RuleSpec {
                function: key.to_string(),
                name: e.name.clone().unwrap_or_else(|| {
                    super::fit(
                        &format!("{}{key}-rule-{rule_n}", super::rule_prefix(service, stage)),
                        64,
                    )
                }),
                bus: None,
                expression: String::new(),
                pattern: e.event.as_ref().map(Value::to_string),
                enabled: e.enabled.unwrap_or(true),
                description: e.description.clone().unwrap_or_default(),
                input: target_input(&e.input, &e.input_path, &e.input_transformer),
            });
            continue;
        }
        if let Event::EventBridge(e) = ev {
            rule_n += 1;
            let bus = e.event_bus.clone().filter(|b| b != "default");
            out.push(RuleSpec {
                function: key.to_string(),
                name: e.name.clone().unwrap_or_else(|| {
                    super::fit(
                        &format!("{}{key}-rule-{rule_n}", super::rule_prefix(service, stage)),
                        64,
                    )
                }),
                bus,
                expression: e.schedule.clone().unwrap_or_default(),
                pattern: e.pattern.as_ref().map(Value::to_string),
                enabled: e.enabled.unwrap_or(true),
                description: e.description.clone().unwrap_or_default(),
                input: TargetInput {
                    retry: e.retry_policy.as_ref().map(|r| {
                        (
                            r.maximum_event_age.unwrap_or(86_400) as i32,
                            r.maximum_retry_attempts.unwrap_or(185) as i32,
                        )
                    }),
                    dead_letter: e.dead_letter_queue_arn.clone(),
                    ..target_input(&e.input, &e.input_path, &e.input_transformer)
                },
            });
            continue;
        }
        let Event::Schedule(s) = ev else { continue };
        if s.method.as_deref() == Some("scheduler") {
            // Numbered with the rules: `scheduler_of` counts the same way.
            n += s.rate.len();
            continue;
        }
        let input = target_input(&s.input, &s.input_path, &s.input_transformer);
        for (i, expression) in s.rate.iter().enumerate() {
            n += 1;
            let name = match &s.name {
                // A list of expressions under one name: numbered after the first.
                Some(given) if i == 0 => given.clone(),
                Some(given) => format!("{given}-{}", i + 1),
                None => super::fit(
                    &format!("{}{key}-schedule-{n}", super::rule_prefix(service, stage)),
                    64,
                ),
            };
            out.push(RuleSpec {
                function: key.to_string(),
                name,
                bus: None,
                expression: expression.clone(),
                pattern: None,
                enabled: s.enabled.unwrap_or(true),
                description: s.description.clone().unwrap_or_default(),
                input: input.clone(),
            });
        }
    }
    out
}

/// The pools of the `cognitoUserPool` events, in the order the config first names them.
fn user_pools_of(config: &Config) -> Vec<UserPoolSpec> {
    let mut out: Vec<UserPoolSpec> = Vec::new();
    for (key, f) in config.functions.iter().flatten() {
        for ev in f.events.iter().flatten() {
            let Event::CognitoUserPool(e) = ev else {
                continue;
            };
            let i = match out.iter().position(|p| p.name == e.pool) {
                Some(i) => i,
                None => {
                    out.push(UserPoolSpec {
                        name: e.pool.clone(),
                        existing: e.existing == Some(true),
                        triggers: BTreeMap::new(),
                        kms_key: None,
                    });
                    out.len() - 1
                }
            };
            out[i].triggers.insert(e.trigger.clone(), key.clone());
            if e.kms_key_id.is_some() {
                out[i].kms_key = e.kms_key_id.clone();
            }
        }
    }
    out
}

/// The target groups and listener rules of the `alb` events, named and defaulted as Serverless
/// v3 does: a group per function, load balancer and header mode.
fn alb_of(config: &Config, stage: &str) -> (Vec<TargetGroupSpec>, Vec<ListenerRuleSpec>) {
    let mut groups: Vec<TargetGroupSpec> = Vec::new();
    let mut rules = Vec::new();
    for (key, f) in config.functions.iter().flatten() {
        for ev in f.events.iter().flatten() {
            let Event::Alb(e) = ev else { continue };
            let multi_value = e.multi_value_headers == Some(true);
            // listener/app/{load balancer}/{its id}/{listener id}
            let lb = e.listener_arn.split('/').nth(3).unwrap_or_default();
            let name = e.target_group_name.clone().unwrap_or_else(|| {
                let raw: String = format!(
                    "{}-{stage}-{key}-{lb}{}",
                    config.service,
                    if multi_value { "-mv" } else { "" }
                )
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
                super::fit(raw.trim_matches('-'), 32)
            });
            if !groups.iter().any(|g| g.name == name) {
                groups.push(TargetGroupSpec {
                    name: name.clone(),
                    function: key.clone(),
                    multi_value,
                    health: alb_health(e.health_check.as_ref()),
                });
            }
            rules.push(ListenerRuleSpec {
                listener: e.listener_arn.clone(),
                priority: e.priority as i32,
                target_group: name,
                conditions: alb_conditions(&e.conditions),
            });
        }
    }
    (groups, rules)
}

/// `healthCheck: true` turns checks on with the defaults; a mapping sets them one by one.
fn alb_health(h: Option<&Value>) -> HealthCheck {
    let mut out = HealthCheck::default();
    let Some(h) = h else { return out };
    if h.as_bool() == Some(true) || h.is_object() {
        out.enabled = h.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    }
    let int = |k: &str| h.get(k).and_then(Value::as_i64).map(|n| n as i32);
    if let Some(p) = h.get("path").and_then(Value::as_str) {
        out.path = p.to_string();
    }
    out.interval = int("intervalSeconds").unwrap_or(out.interval);
    out.timeout = int("timeoutSeconds").unwrap_or(out.timeout);
    out.healthy = int("healthyThresholdCount").unwrap_or(out.healthy);
    out.unhealthy = int("unhealthyThresholdCount").unwrap_or(out.unhealthy);
    if let Some(m) = h
        .get("matcher")
        .and_then(|m| m.get("httpCode"))
        .and_then(Value::as_str)
    {
        out.matcher = m.to_string();
    }
    out
}

/// A rule's conditions, sorted as they are compared.
fn alb_conditions(c: &crate::config::model::AlbConditions) -> Vec<Condition> {
    let plain = |field: &str, v: &Option<Vec<String>>| {
        v.as_ref().map(|values| Condition {
            field: field.into(),
            name: None,
            values: values.clone(),
        })
    };
    let mut out: Vec<Condition> = [
        plain("path-pattern", &c.path),
        plain("host-header", &c.host),
        plain("http-request-method", &c.method),
        plain("source-ip", &c.ip),
    ]
    .into_iter()
    .flatten()
    .collect();
    let headers: Vec<&Value> = match &c.header {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => vec![],
    };
    for h in headers {
        out.push(Condition {
            field: "http-header".into(),
            name: h.get("name").and_then(Value::as_str).map(str::to_string),
            values: h
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        });
    }
    if let Some(q) = &c.query {
        out.push(Condition {
            field: "query-string".into(),
            name: None,
            values: q.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        });
    }
    for c in &mut out {
        c.values.sort();
    }
    out.sort();
    out
}

/// The WebSocket API of the `websocket` events, named and described as Serverless v3 does.
fn websocket_of(config: &Config, stage: &str) -> Option<WebsocketSpec> {
    let p = &config.provider;
    let mut routes = BTreeMap::new();
    for (key, f) in config.functions.iter().flatten() {
        for ev in f.events.iter().flatten() {
            if let Event::Websocket(w) = ev {
                let route = WebsocketRoute {
                    function: key.clone(),
                    responds: w.route_response_selection_expression.is_some(),
                };
                routes.insert(w.route.trim().to_string(), route);
            }
        }
    }
    (!routes.is_empty()).then(|| WebsocketSpec {
        name: p
            .websockets_api_name
            .clone()
            .unwrap_or_else(|| format!("{stage}-{}-websockets", config.service)),
        description: p
            .websockets_description
            .clone()
            .unwrap_or_else(|| super::websocket::DESCRIPTION.into()),
        route_selection: p
            .websockets_api_route_selection_expression
            .clone()
            .unwrap_or_else(|| super::websocket::ROUTE_SELECTION.into()),
        stage: stage.into(),
        routes,
    })
}

/// A function's `schedule` events with `method: scheduler`, one schedule per expression, named
/// and numbered as [`rules_of`] names rules (the two share the count).
fn scheduler_of(service: &str, stage: &str, key: &str, f: &Function) -> Vec<ScheduleSpec> {
    let mut out = Vec::new();
    let mut n = 0;
    for ev in f.events.iter().flatten() {
        let Event::Schedule(s) = ev else { continue };
        for (i, expression) in s.rate.iter().enumerate() {
            n += 1;
            if s.method.as_deref() != Some("scheduler") {
                continue;
            }
            let name = match &s.name {
                Some(given) if i == 0 => given.clone(),
                Some(given) => format!("{given}-{}", i + 1),
                None => super::fit(
                    &format!("{}{key}-schedule-{n}", super::rule_prefix(service, stage)),
                    64,
                ),
            };
            out.push(ScheduleSpec {
                name,
                function: key.to_string(),
                expression: expression.clone(),
                timezone: s.timezone.clone(),
                enabled: s.enabled.unwrap_or(true),
                description: s.description.clone().unwrap_or_default(),
                input: target_input(&s.input, &None, &None).input,
            });
        }
    }
    out
}

/// The buckets `s3` events name, each with our entries: `event` (default
/// `s3:ObjectCreated:*`) and `rules` (`prefix`, `suffix`) per event, ids
/// `sls/{service}/{stage}/{function}/{n}`.
fn event_buckets_of(config: &Config, stage: &str) -> Vec<EventBucketSpec> {
    let mut out: Vec<EventBucketSpec> = Vec::new();
    for (key, f) in config.functions.iter().flatten() {
        let mut n = 0;
        for ev in f.events.iter().flatten() {
            let Event::S3(e) = ev else { continue };
            n += 1;
            let rule = |k: &str| {
                e.rules
                    .iter()
                    .flatten()
                    .find_map(|r| r.get(k).and_then(Value::as_str).map(str::to_string))
            };
            let entry = EntrySpec {
                id: format!("{}{key}/{n}", id_prefix(&config.service, stage)),
                function: key.clone(),
                events: vec![
                    e.event
                        .clone()
                        .unwrap_or_else(|| "s3:ObjectCreated:*".into()),
                ],
                prefix: rule("prefix"),
                suffix: rule("suffix"),
            };
            match out.iter_mut().find(|b| b.bucket == e.bucket) {
                Some(b) => b.entries.push(entry),
                None => out.push(EventBucketSpec {
                    bucket: e.bucket.clone(),
                    existing: e.existing == Some(true),
                    entries: vec![entry],
                }),
            }
        }
    }
    for b in &mut out {
        b.entries.sort();
    }
    out
}

/// The topics `sns` events name and each function's subscription, as SNS holds the attributes
/// (policies as compact JSON).
fn topics_of(config: &Config) -> (Vec<TopicSpec>, Vec<SubscriptionSpec>) {
    let mut topics: Vec<TopicSpec> = Vec::new();
    let mut subs = Vec::new();
    for (key, f) in config.functions.iter().flatten() {
        for ev in f.events.iter().flatten() {
            let Event::Sns(e) = ev else { continue };
            let name = e
                .topic_name
                .clone()
                .or_else(|| {
                    e.arn
                        .as_deref()
                        .map(|a| super::topic::name_of(a).to_string())
                })
                .unwrap_or_default();
            if !topics.iter().any(|t| t.name == name) {
                topics.push(TopicSpec {
                    name: name.clone(),
                    arn: e.arn.clone(),
                    display_name: e.display_name.clone().unwrap_or_default(),
                });
            }
            let mut attributes = BTreeMap::new();
            if let Some(p) = &e.filter_policy {
                attributes.insert("FilterPolicy".to_string(), p.to_string());
                attributes.insert(
                    "FilterPolicyScope".to_string(),
                    e.filter_policy_scope
                        .clone()
                        .unwrap_or_else(|| "MessageAttributes".into()),
                );
            }
            if let Some(r) = &e.redrive_policy {
                attributes.insert("RedrivePolicy".to_string(), r.to_string());
            }
            subs.push(SubscriptionSpec {
                function: key.clone(),
                topic: name,
                attributes,
            });
        }
    }
    (topics, subs)
}

/// What a rule's target sends: `input` (a string as it is, anything else as compact JSON),
/// `inputPath`, or `inputTransformer`.
fn target_input(
    input: &Option<Value>,
    input_path: &Option<String>,
    transformer: &Option<Value>,
) -> TargetInput {
    TargetInput {
        input: input.as_ref().map(|v| match v {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }),
        input_path: input_path.clone(),
        transformer: transformer.as_ref().map(|t| {
            (
                t.get("inputPathsMap")
                    .map_or_else(|| "{}".to_string(), Value::to_string),
                t.get("inputTemplate")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            )
        }),
        retry: None,
        dead_letter: None,
    }
}

/// A function's `sqs` and `stream` events as mappings, with Lambda's defaults filled in where
/// the config leaves a setting out (so that a mapping read back compares equal).
fn mappings_of(key: &str, f: &Function) -> Vec<MappingSpec> {
    let patterns = |p: &Option<Value>| {
        let mut out: Vec<String> = p
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(Value::to_string)
            .collect();
        out.sort();
        out
    };
    let response = |t: &Option<String>| t.iter().cloned().collect::<Vec<_>>();
    let mut out = Vec::new();
    for ev in f.events.iter().flatten() {
        let spec = match ev {
            Event::Sqs(SqsEvent {
                arn,
                batch_size,
                maximum_batching_window,
                maximum_concurrency,
                enabled,
                function_response_type,
                filter_patterns,
            }) => MappingSpec {
                function: key.to_string(),
                source: arn.clone(),
                target: None,
                kind: SourceKind::Sqs,
                settings: MappingSettings {
                    maximum_batching_window: maximum_batching_window.unwrap_or(0) as i32,
                    enabled: enabled.unwrap_or(true),
                    function_response_types: response(function_response_type),
                    filter_patterns: patterns(filter_patterns),
                    maximum_concurrency: maximum_concurrency.map(|n| n as i32),
                    ..MappingSettings::new(batch_size.map_or(10, |n| n as i32))
                },
            },
            Event::Stream(s) => stream_mapping(key, s, patterns(&s.filter_patterns)),
            Event::Msk(m) => {
                let mut access = Vec::new();
                if let Some(secret) = &m.sasl_scram512 {
                    access.push(("SASL_SCRAM_512_AUTH".to_string(), secret.clone()));
                }
                let mut spec = broker_mapping(
                    key,
                    &m.arn,
                    &m.topic,
                    SourceKind::Kafka,
                    access,
                    (m.batch_size, m.maximum_batching_window, m.enabled),
                    patterns(&m.filter_patterns),
                );
                kafka_reading(
                    &mut spec.settings,
                    &m.starting_position,
                    m.starting_position_timestamp,
                    &m.consumer_group_id,
                );
                spec
            }
            Event::Kafka(k) => {
                let access = k
                    .access_configurations
                    .iter()
                    .flat_map(|(name, values)| {
                        let (kind, prefix) = match name.as_str() {
                            "saslPlainAuth" => ("BASIC_AUTH", ""),
                            "saslScram256Auth" => ("SASL_SCRAM_256_AUTH", ""),
                            "saslScram512Auth" => ("SASL_SCRAM_512_AUTH", ""),
                            "clientCertificateTlsAuth" => ("CLIENT_CERTIFICATE_TLS_AUTH", ""),
                            "serverRootCaCertificate" => ("SERVER_ROOT_CA_CERTIFICATE", ""),
                            "vpcSubnet" => ("VPC_SUBNET", "subnet:"),
                            _ => ("VPC_SECURITY_GROUP", "security_group:"),
                        };
                        values
                            .iter()
                            .map(move |v| (kind.to_string(), format!("{prefix}{v}")))
                    })
                    .collect();
                let mut spec = broker_mapping(
                    key,
                    &super::event_source::self_managed_source(&k.bootstrap_servers),
                    &k.topic,
                    SourceKind::SelfManagedKafka,
                    access,
                    (k.batch_size, k.maximum_batching_window, k.enabled),
                    patterns(&k.filter_patterns),
                );
                kafka_reading(
                    &mut spec.settings,
                    &k.starting_position,
                    k.starting_position_timestamp,
                    &k.consumer_group_id,
                );
                spec
            }
            Event::Activemq(m) | Event::Rabbitmq(m) => {
                let mut access = vec![("BASIC_AUTH".to_string(), m.basic_auth_arn.clone())];
                if let Some(host) = &m.virtual_host {
                    access.push(("VIRTUAL_HOST".to_string(), host.clone()));
                }
                broker_mapping(
                    key,
                    &m.arn,
                    &m.queue,
                    SourceKind::Mq,
                    access,
                    (m.batch_size, m.maximum_batching_window, m.enabled),
                    patterns(&m.filter_patterns),
                )
            }
            _ => continue,
        };
        out.push(spec);
    }
    out
}

/// Where a Kafka mapping (MSK or self-managed) starts reading — Serverless v3's default
/// `TRIM_HORIZON`, as for streams — and the consumer group it joins.
fn kafka_reading(
    s: &mut MappingSettings,
    position: &Option<String>,
    timestamp: Option<i64>,
    group: &Option<String>,
) {
    s.starting_position = Some(position.clone().unwrap_or_else(|| "TRIM_HORIZON".into()));
    s.starting_position_timestamp = timestamp;
    s.consumer_group = group.clone();
}

/// A mapping from a broker (a Kafka topic, an Amazon MQ broker's queue) with Lambda's defaults.
fn broker_mapping(
    key: &str,
    arn: &str,
    target: &str,
    kind: SourceKind,
    mut access: Vec<(String, String)>,
    (batch_size, window, enabled): (Option<u32>, Option<u32>, Option<bool>),
    filter_patterns: Vec<String>,
) -> MappingSpec {
    access.sort();
    let settings = MappingSettings {
        maximum_batching_window: window.unwrap_or(0) as i32,
        enabled: enabled.unwrap_or(true),
        filter_patterns,
        access,
        ..MappingSettings::new(batch_size.map_or(kind.default_batch_size(), |n| n as i32))
    };
    MappingSpec {
        function: key.to_string(),
        source: arn.to_string(),
        target: Some(target.to_string()),
        kind,
        settings,
    }
}

fn stream_mapping(key: &str, s: &StreamEvent, filter_patterns: Vec<String>) -> MappingSpec {
    let kind = SourceKind::of(&s.arn).unwrap_or(SourceKind::Kinesis);
    MappingSpec {
        function: key.to_string(),
        source: s.arn.clone(),
        target: None,
        kind,
        settings: MappingSettings {
            batch_size: s.batch_size.map_or(kind.default_batch_size(), |n| n as i32),
            maximum_batching_window: s.batch_window.unwrap_or(0) as i32,
            enabled: s.enabled.unwrap_or(true),
            function_response_types: s.function_response_type.iter().cloned().collect(),
            filter_patterns,
            maximum_concurrency: None,
            // Serverless v3's default: read the stream from its oldest record.
            starting_position: Some(
                s.starting_position
                    .clone()
                    .unwrap_or_else(|| "TRIM_HORIZON".into()),
            ),
            starting_position_timestamp: s.starting_position_timestamp,
            maximum_retry_attempts: s.maximum_retry_attempts.map(|n| n as i32),
            maximum_record_age: s.maximum_record_age_in_seconds.map(|n| n as i32),
            bisect_batch_on_function_error: s.bisect_batch_on_function_error,
            parallelization_factor: s.parallelization_factor.map(|n| n as i32),
            tumbling_window: s.tumbling_window_in_seconds.map(|n| n as i32),
            on_failure: stream_on_failure(s),
            access: Vec::new(),
            consumer_group: None,
        },
    }
}

/// A stream's `destinations.onFailure`: an ARN, or `{arn, type}`.
fn stream_on_failure(s: &StreamEvent) -> Option<String> {
    let v = s.destinations.as_ref()?.on_failure.as_ref()?;
    v.as_str()
        .or_else(|| v.get("arn").and_then(Value::as_str))
        .map(str::to_string)
}

/// What the members' event sources need of the role, as Serverless v3 grants it: reading
/// their queues and streams, and sending failed stream batches on.
fn event_source_statements(members: &Members<'_>) -> Vec<Value> {
    let mut queues = Vec::new();
    let mut dynamodb = Vec::new();
    let mut kinesis = Vec::new();
    let mut clusters = Vec::new();
    let mut brokers = Vec::new();
    let mut secrets = Vec::new();
    let mut in_vpc = false;
    let mut failures = Vec::new();
    for (key, f) in members {
        for m in mappings_of(key, f) {
            let list = match m.kind {
                SourceKind::Sqs => &mut queues,
                SourceKind::Dynamodb => &mut dynamodb,
                SourceKind::Kinesis => &mut kinesis,
                SourceKind::Kafka => &mut clusters,
                SourceKind::Mq => &mut brokers,
                // Reached by address: no resource to name, only its secrets and VPC.
                SourceKind::SelfManagedKafka => &mut Vec::new(),
            };
            if !list.contains(&m.source) {
                list.push(m.source.clone());
            }
            for (kind, uri) in &m.settings.access {
                match kind.as_str() {
                    "VIRTUAL_HOST" => {}
                    "VPC_SUBNET" | "VPC_SECURITY_GROUP" => in_vpc = true,
                    _ if !secrets.contains(uri) => secrets.push(uri.clone()),
                    _ => {}
                }
            }
            if let Some(t) = m.settings.on_failure
                && !failures.contains(&t)
            {
                failures.push(t);
            }
        }
    }
    let mut out = Vec::new();
    for (actions, resources) in [
        (
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ]
            .as_slice(),
            &queues,
        ),
        (
            &[
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:DescribeStream",
                "dynamodb:ListStreams",
            ],
            &dynamodb,
        ),
        (
            &[
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:ListShards",
                "kinesis:ListStreams",
            ],
            &kinesis,
        ),
        (
            &[
                "kafka:DescribeCluster",
                "kafka:DescribeClusterV2",
                "kafka:GetBootstrapBrokers",
            ],
            &clusters,
        ),
        (&["mq:DescribeBroker"], &brokers),
        (&["secretsmanager:GetSecretValue"], &secrets),
    ] {
        if !resources.is_empty() {
            out.push(json!({ "Effect": "Allow", "Action": actions, "Resource": resources }));
        }
    }
    // Lambda reaches brokers from their VPC through network interfaces it makes as the role.
    if !clusters.is_empty() || !brokers.is_empty() || in_vpc {
        out.push(json!({
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DeleteNetworkInterface",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups"
            ],
            "Resource": ["*"]
        }));
    }
    for t in failures {
        let action = if arn_service(&t) == Some("sns") {
            "sns:Publish"
        } else {
            "sqs:SendMessage"
        };
        out.push(json!({ "Effect": "Allow", "Action": [action], "Resource": [t] }));
    }
    out
}

/// The functions of the config, by key.
type Members<'a> = Vec<(&'a String, &'a Function)>;

/// A role's inline policy, as Serverless v3 writes it for the functions that run as it
/// (`members`): CloudWatch Logs on each one's group, then the user's `statements`, then what
/// the members' settings need (X-Ray, where asynchronous results go).
fn role_policy(
    config: &Config,
    stage: &str,
    region: &str,
    members: &Members<'_>,
    user: &[&Statement],
) -> Value {
    let prefix = format!("{}-{stage}", config.service);
    let (partition, _) = super::partition(region);
    // The groups they write to: Lambda's own per function, or the user's `logs.logGroup`.
    let mut names: Vec<String> = Vec::new();
    for (key, f) in members {
        if f.disable_logs == Some(true) {
            continue;
        }
        let g = lambda_logs(config, f).log_group.unwrap_or_else(|| {
            log_group_of(
                &f.name
                    .clone()
                    .unwrap_or_else(|| function_name(&config.service, stage, key)),
            )
        });
        if !names.contains(&g) {
            names.push(g);
        }
    }
    let groups: Vec<String> = names
        .iter()
        .map(|g| format!("arn:{partition}:logs:{region}:*:log-group:{g}:*"))
        .collect();
    let mut statements = Vec::new();
    if !groups.is_empty() {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:TagResource", "logs:PutLogEvents"],
            "Resource": groups
        }));
    }
    statements.extend(user.iter().map(|s| statement(s)));
    statements.extend(event_source_statements(members));
    // Handlers of any function may answer WebSocket clients through the `@connections` API, as
    // Serverless v3 allows whenever the service has websocket routes.
    let websockets = config.functions.iter().flatten().any(|(_, f)| {
        f.events
            .iter()
            .flatten()
            .any(|e| matches!(e, Event::Websocket(_)))
    });
    if websockets && !members.is_empty() {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["execute-api:ManageConnections"],
            "Resource": [format!("arn:{partition}:execute-api:*:*:*/@connections/*")]
        }));
    }
    if members
        .iter()
        .any(|(_, f)| tracing_mode(config, f) == "Active")
    {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": ["*"]
        }));
    }
    // Where failed (and succeeded) asynchronous events go: the role must be allowed to send
    // there, as Serverless v3 grants it.
    let mut targets: Vec<&str> = Vec::new();
    for (_, f) in members {
        targets.extend(f.on_error.as_deref());
        if let Some(d) = &f.destinations {
            targets.extend(d.on_success.as_deref());
            targets.extend(d.on_failure.as_deref());
        }
    }
    targets.sort_unstable();
    targets.dedup();
    let mut to_own_functions = false;
    for arn in targets {
        let action = match arn_service(arn) {
            Some("sns") => "sns:Publish",
            Some("sqs") => "sqs:SendMessage",
            Some("lambda") => "lambda:InvokeFunction",
            Some("events") => "events:PutEvents",
            // A function of this service, named by its key.
            _ => {
                to_own_functions = true;
                continue;
            }
        };
        statements.push(json!({ "Effect": "Allow", "Action": [action], "Resource": [arn] }));
    }
    if to_own_functions {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [format!("arn:{partition}:lambda:{region}:*:function:{prefix}-*")]
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

fn statement(s: &Statement) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(sid) = &s.sid {
        m.insert("Sid".into(), json!(sid));
    }
    m.insert("Effect".into(), json!(format!("{:?}", s.effect)));
    for (k, v) in [
        ("Action", &s.action),
        ("NotAction", &s.not_action),
        ("Resource", &s.resource),
        ("NotResource", &s.not_resource),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    if let Some(c) = &s.condition {
        m.insert("Condition".into(), c.clone());
    }
    Value::Object(m)
}

/// `maximumRetryAttempts`, `maximumEventAge` and `destinations`, when any is set. A destination
/// naming a function of this service becomes `function:{its Lambda name}`.
fn async_invoke(config: &Config, stage: &str, f: &Function) -> Option<AsyncInvoke> {
    let destination = |target: &Option<String>| {
        target.as_ref().map(
            |t| match config.functions.as_ref().and_then(|fs| fs.get(t.as_str())) {
                Some(other) => format!(
                    "function:{}",
                    other
                        .name
                        .clone()
                        .unwrap_or_else(|| function_name(&config.service, stage, t))
                ),
                None => t.clone(),
            },
        )
    };
    let d = f.destinations.clone().unwrap_or_default();
    let a = AsyncInvoke {
        maximum_retry_attempts: f.maximum_retry_attempts.map(|r| r.0 as i32),
        maximum_event_age: f.maximum_event_age.map(|a| a.0 as i32),
        on_success: destination(&d.on_success),
        on_failure: destination(&d.on_failure),
    };
    (a != AsyncInvoke::default()).then_some(a)
}

/// Builds the desired state. `manifest` says which zip each function runs.
pub fn desired(config: &Config, stage: &str, region: &str, manifest: &Manifest) -> Desired {
    let service = config.service.clone();
    let mut tags: BTreeMap<String, String> = config
        .provider
        .tags
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    tags.insert(TAG_SERVICE.into(), service.clone());
    tags.insert(TAG_STAGE.into(), stage.into());
    tags.insert(TAG_MANAGED_BY.into(), MANAGED_BY.into());

    let p = &config.provider;
    let mut managed_policies = p
        .iam
        .as_ref()
        .and_then(|i| i.role.as_ref())
        .and_then(|r| r.managed_policies.clone())
        .or_else(|| p.iam_managed_policies.clone())
        .unwrap_or_default();
    let in_vpc = p.vpc.is_some()
        || config
            .functions
            .iter()
            .flatten()
            .any(|(_, f)| f.vpc.is_some());
    let vpc_policy = vpc_access_policy(region);
    if in_vpc && !managed_policies.contains(&vpc_policy) {
        managed_policies.push(vpc_policy);
    }
    let log_groups = log_groups(config, stage);
    let iam_role = p.iam.as_ref().and_then(|i| i.role.as_ref());
    // An existing role (`iam.role: arn:…`, or the older `provider.role`): none is created.
    let existing_role = iam_role
        .and_then(|r| r.arn.clone())
        .or_else(|| p.role.clone());
    let mut role_tags = tags.clone();
    role_tags.extend(
        iam_role
            .and_then(|r| r.tags.as_ref())
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone())),
    );
    let provider_statements: Vec<&Statement> = iam_role
        .and_then(|r| r.statements.as_ref())
        .or(p.iam_role_statements.as_ref())
        .into_iter()
        .flatten()
        .collect();
    let all: Members<'_> = config.functions.iter().flatten().collect();
    let (with_own, shared): (Members<'_>, Members<'_>) =
        all.iter().partition(|(_, f)| f.asks_own_role());
    let role = RoleSpec {
        name: iam_role
            .and_then(|r| r.name.clone())
            .unwrap_or_else(|| role_name(&service, stage, region)),
        policy: role_policy(config, stage, region, &shared, &provider_statements),
        policy_name: format!("{service}-{stage}-lambda"),
        managed_policies,
        path: iam_role
            .and_then(|r| r.path.clone())
            .unwrap_or_else(|| "/".into()),
        permissions_boundary: iam_role
            .and_then(|r| r.permissions_boundary.clone())
            .or_else(|| p.role_permissions_boundary.clone()),
        tags: role_tags,
        trust: super::role::LAMBDA_TRUST.into(),
    };
    let own_role = format!("{}{}", role.path, role.name);
    // Roles of their own (serverless-iam-roles-per-function): the service role as a template
    // (path, boundary, tags, managed policies) with only this function's logs and statements.
    let inherit_default = config
        .custom
        .as_ref()
        .and_then(|c| c.get("serverless-iam-roles-per-function"))
        .and_then(|c| c.get("defaultInherit"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut function_roles: BTreeMap<String, RoleSpec> = BTreeMap::new();
    for (key, f) in &with_own {
        let iam = f.iam.as_ref().and_then(|i| i.role.as_ref());
        let mut user: Vec<&Statement> = Vec::new();
        if f.iam_role_statements_inherit.unwrap_or(inherit_default) {
            user.extend(provider_statements.iter().copied());
        }
        user.extend(f.iam_role_statements.iter().flatten());
        user.extend(
            iam.and_then(|r| r.statements.as_ref())
                .into_iter()
                .flatten(),
        );
        let mut managed = role.managed_policies.clone();
        managed.retain(|m| *m != vpc_access_policy(region) || f.vpc.is_some() || p.vpc.is_some());
        for m in iam
            .and_then(|r| r.managed_policies.as_ref())
            .into_iter()
            .flatten()
        {
            if !managed.contains(m) {
                managed.push(m.clone());
            }
        }
        let name = f
            .iam_role_statements_name
            .clone()
            .or_else(|| iam.and_then(|r| r.name.clone()))
            .unwrap_or_else(|| function_role_name(&service, stage, key, region));
        function_roles.insert(
            (*key).clone(),
            RoleSpec {
                name,
                policy: role_policy(config, stage, region, &vec![(*key, *f)], &user),
                policy_name: role.policy_name.clone(),
                managed_policies: managed,
                path: role.path.clone(),
                permissions_boundary: role.permissions_boundary.clone(),
                tags: role.tags.clone(),
                trust: super::role::LAMBDA_TRUST.into(),
            },
        );
    }
    let schedules: Vec<ScheduleSpec> = config
        .functions
        .iter()
        .flatten()
        .flat_map(|(key, f)| scheduler_of(&service, stage, key, f))
        .collect();
    // EventBridge Scheduler invokes through a role that trusts it and may invoke those functions.
    let scheduler_role = (!schedules.is_empty()).then(|| {
        let (partition, _) = super::partition(region);
        let mut arns: Vec<String> = Vec::new();
        for s in &schedules {
            let name = config
                .functions
                .as_ref()
                .and_then(|fs| fs.get(s.function.as_str()))
                .and_then(|f| f.name.clone())
                .unwrap_or_else(|| function_name(&service, stage, &s.function));
            let arn = format!("arn:{partition}:lambda:{region}:*:function:{name}");
            for a in [arn.clone(), format!("{arn}:*")] {
                if !arns.contains(&a) {
                    arns.push(a);
                }
            }
        }
        RoleSpec {
            name: super::scheduler::role_name(&service, stage, region).0,
            policy: json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": arns
            }]}),
            policy_name: super::scheduler::role_name(&service, stage, region).1,
            managed_policies: Vec::new(),
            path: role.path.clone(),
            permissions_boundary: role.permissions_boundary.clone(),
            tags: role.tags.clone(),
            trust: "scheduler.amazonaws.com".into(),
        }
    });

    let (topics, subscriptions) = topics_of(config);
    let rules: Vec<RuleSpec> = config
        .functions
        .iter()
        .flatten()
        .flat_map(|(key, f)| rules_of(&service, stage, key, f))
        .collect();
    let mappings: Vec<MappingSpec> = config
        .functions
        .iter()
        .flatten()
        .flat_map(|(key, f)| mappings_of(key, f))
        .collect();
    let source_maps = crate::package::bundle::settings(config).is_ok_and(|s| s.sourcemap);
    let mut functions = Vec::new();
    let mut routes = BTreeMap::new();
    let mut rest = BTreeMap::new();
    let mut rest_cors_of: BTreeMap<String, (RestCors, Vec<String>)> = BTreeMap::new();
    for (key, f) in config.functions.iter().flatten() {
        let mut environment: BTreeMap<String, String> = p
            .environment
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect();
        environment.extend(
            f.environment
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.0.clone())),
        );
        // Bundled with source maps: Node reads them only when told (the function's own
        // NODE_OPTIONS wins).
        if source_maps
            && crate::config::runtime::Family::of(crate::config::runtime::of(config, f))
                == crate::config::runtime::Family::Node
        {
            environment
                .entry("NODE_OPTIONS".into())
                .or_insert_with(|| "--enable-source-maps".into());
        }
        // A function's own `vpc` replaces the provider's, as in Serverless v3.
        let vpc = f.vpc.as_ref().or(p.vpc.as_ref());
        let logs = lambda_logs(config, f);
        let json_level = |level: &Option<String>| match logs.log_format.as_deref() {
            // Lambda answers INFO for a level JSON logs leave unset.
            Some("JSON") => level.clone().unwrap_or_else(|| "INFO".into()),
            _ => String::new(),
        };
        let config_fields = FunctionConfig {
            runtime: crate::config::runtime::of(config, f).to_string(),
            handler: f.handler.clone().unwrap_or_default(),
            memory_size: f.memory_size.or(p.memory_size).map_or(1024, |m| m.0 as i32),
            timeout: f.timeout.or(p.timeout).map_or(6, |t| t.0 as i32),
            environment,
            architecture: crate::config::runtime::architecture_of(config, f).into(),
            ephemeral_storage: f.ephemeral_storage_size.map_or(512, |e| e.0 as i32),
            description: f.description.clone().unwrap_or_default(),
            // As Serverless v3: a function's own list replaces the provider's.
            layers: f
                .layers
                .clone()
                .or_else(|| p.layers.clone())
                .unwrap_or_default(),
            dead_letter_target: f.on_error.clone().unwrap_or_default(),
            role: match function_roles.get(key) {
                Some(r) => format!("{}{}", r.path, r.name),
                None => f
                    .role
                    .as_ref()
                    .or(existing_role.as_ref())
                    .map_or_else(|| own_role.clone(), |arn| role_ref(arn)),
            },
            tracing: tracing_mode(config, f).into(),
            kms_key_arn: f
                .kms_key_arn
                .clone()
                .or_else(|| p.kms_key_arn.clone())
                .unwrap_or_default(),
            vpc_subnets: sorted(vpc.and_then(|v| v.subnet_ids.clone())),
            vpc_security_groups: sorted(vpc.and_then(|v| v.security_group_ids.clone())),
            vpc_ipv6: vpc.and_then(|v| v.ipv6_allowed_for_dual_stack) == Some(true),
            log_format: logs.log_format.clone().unwrap_or_else(|| "Text".into()),
            application_log_level: json_level(&logs.application_log_level),
            system_log_level: json_level(&logs.system_log_level),
            log_group: logs.log_group.clone().unwrap_or_default(),
        };
        let mut ftags = tags.clone();
        ftags.extend(
            f.tags
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.0.clone())),
        );
        let (zip, sha256, size) = manifest
            .functions
            .get(key)
            .and_then(|fi| {
                let a = manifest.artifacts.get(&fi.artifact)?;
                Some((a.path.clone(), a.sha256.clone(), a.size))
            })
            .unwrap_or_default();
        let name = f
            .name
            .clone()
            .unwrap_or_else(|| function_name(&service, stage, key));
        functions.push(FunctionSpec {
            key: key.clone(),
            name,
            config: config_fields,
            tags: ftags,
            zip,
            sha256,
            size,
            via_s3: size > INLINE_UPLOAD_LIMIT,
            reserved_concurrency: f.reserved_concurrency.map(|c| c as i32),
            async_invoke: async_invoke(config, stage, f),
            role_arn: match function_roles.contains_key(key) {
                true => None,
                false => f.role.clone().or_else(|| existing_role.clone()),
            },
            own_role: function_roles.get(key).map(|r| r.name.clone()),
            provisioned_concurrency: f.provisioned_concurrency.map(|c| c as i32),
            url: f.url.as_ref().map(|u| UrlSpec {
                auth: match u.authorizer.as_deref() {
                    Some("aws_iam") => "AWS_IAM".into(),
                    _ => "NONE".into(),
                },
                cors: u.cors.as_ref().map(http_api_cors),
                invoke_mode: u.invoke_mode.clone().unwrap_or_else(|| "BUFFERED".into()),
            }),
        });
        for ev in f.events.iter().flatten() {
            if let Event::Http(h) = ev {
                let method = match h.method.to_uppercase().as_str() {
                    "*" => "ANY".to_string(),
                    m => m.to_string(),
                };
                let path = format!("/{}", h.path.trim_matches('/'));
                if let Some(c) = &h.cors {
                    let entry = rest_cors_of
                        .entry(path.clone())
                        .or_insert_with(|| (c.clone(), Vec::new()));
                    entry.1.push(method.clone());
                }
                rest.insert(format!("{method} {path}"), key.clone());
            }
            if let Event::HttpApi(h) = ev {
                routes.insert(route_key(&h.method, &h.path), key.clone());
            }
        }
    }
    let http_api = (!routes.is_empty()).then(|| HttpApiSpec {
        name: p
            .http_api
            .as_ref()
            .and_then(|h| h.name.clone())
            .unwrap_or_else(|| api_name(&service, stage)),
        disable_default_endpoint: p.http_api.as_ref().and_then(|h| h.disable_default_endpoint)
            == Some(true),
        metrics: p.http_api.as_ref().and_then(|h| h.metrics) == Some(true),
        routes,
        cors: p
            .http_api
            .as_ref()
            .and_then(|h| h.cors.as_ref())
            .map(http_api_cors),
        payload: p
            .http_api
            .as_ref()
            .and_then(|h| h.payload.clone())
            .unwrap_or_else(|| "2.0".into()),
    });
    let gateway = p.api_gateway.as_ref();
    let rest_api = (!rest.is_empty()).then(|| RestApiSpec {
        name: if gateway.and_then(|g| g.should_start_name_with_service) == Some(true) {
            format!("{service}-{stage}")
        } else {
            api_name(&service, stage)
        },
        stage: stage.into(),
        routes: rest,
        cors: rest_cors_of
            .into_iter()
            .map(|(path, (c, methods))| (path, rest_cors(&c, &methods)))
            .collect(),
        stage_settings: RestStageSettings {
            metrics: gateway.and_then(|g| g.metrics) == Some(true),
            tracing: p.tracing.as_ref().and_then(|t| t.api_gateway) == Some(true),
        },
        settings: RestSettings {
            description: gateway
                .and_then(|g| g.description.clone())
                .unwrap_or_default(),
            binary_media_types: sorted(gateway.and_then(|g| g.binary_media_types.clone())),
            minimum_compression_size: gateway
                .and_then(|g| g.minimum_compression_size)
                .map(|n| n as i32),
        },
    });
    let websocket = websocket_of(config, stage);
    let domain = domain_of(config, stage, rest_api.as_ref(), websocket.as_ref());
    let (target_groups, listener_rules) = alb_of(config, stage);
    Desired {
        service,
        stage: stage.into(),
        region: region.into(),
        alias: p.alias.clone().unwrap_or_else(|| DEFAULT_ALIAS.into()),
        live: p.alias.clone().unwrap_or_else(|| DEFAULT_ALIAS.into()),
        version_retention: p.version_retention.map(|v| v.0),
        tags,
        // The service's role, unless every function runs as a role the config names or one
        // of its own.
        role: (existing_role.is_none()
            && (functions.is_empty()
                || functions
                    .iter()
                    .any(|f| f.role_arn.is_none() && f.own_role.is_none())))
        .then_some(role),
        existing_role,
        function_roles: function_roles.into_values().collect(),
        bucket: Some(BucketSpec {
            user: p.deployment_bucket.as_ref().and_then(|b| b.name.clone()),
        }),
        functions,
        http_api,
        rest_api,
        websocket,
        user_pools: user_pools_of(config),
        schedules,
        scheduler_role,
        target_groups,
        stack: None,
        layers: layers_of(config, stage, manifest),
        domain,
        listener_rules,
        log_groups,
        mappings,
        topics,
        subscriptions,
        function_only: false,
        event_buckets: event_buckets_of(config, stage),
        alexa: config
            .functions
            .iter()
            .flatten()
            .flat_map(|(key, f)| {
                f.events.iter().flatten().filter_map(move |ev| {
                    let (principal, e) = match ev {
                        Event::AlexaSkill(e) => ("alexa-appkit.amazon.com", e),
                        Event::AlexaSmartHome(e) => ("alexa-connectedhome.amazon.com", e),
                        _ => return None,
                    };
                    (e.enabled != Some(false)).then(|| AlexaGrant {
                        function: key.clone(),
                        principal: principal.into(),
                        app_id: e.app_id.clone(),
                    })
                })
            })
            .collect(),
        log_subscriptions: config
            .functions
            .iter()
            .flatten()
            .flat_map(|(key, f)| {
                f.events.iter().flatten().filter_map(move |ev| match ev {
                    Event::CloudwatchLog(l) => Some(LogSubscriptionSpec {
                        function: key.clone(),
                        log_group: l.log_group.clone(),
                        filter: l.filter.clone().unwrap_or_default(),
                    }),
                    _ => None,
                })
            })
            .collect(),
        buses: {
            let mut b: Vec<String> = rules
                .iter()
                .filter_map(|r| r.bus.clone())
                .filter(|b| !b.starts_with("arn:"))
                .collect();
            b.sort();
            b.dedup();
            b
        },
        rules,
    }
}

impl Desired {
    /// Narrowed to one function, for `deploy function`: that function and its log group, no APIs.
    /// `None` when the config has no such function.
    pub fn only_function(mut self, key: &str) -> Option<Desired> {
        self.functions.retain(|f| f.key == key);
        let group = super::log_group::name_of(&self.functions.first()?.name);
        self.log_groups.retain(|g| g.log_group == group);
        self.mappings.retain(|m| m.function == key);
        self.rules.retain(|r| r.function == key);
        self.subscriptions.retain(|s| s.function == key);
        self.log_subscriptions.retain(|s| s.function == key);
        self.alexa.retain(|g| g.function == key);
        let topics: Vec<String> = self.subscriptions.iter().map(|s| s.topic.clone()).collect();
        self.topics.retain(|t| topics.contains(&t.name));
        // A bucket's notifications are one document: `deploy function` leaves them to `deploy`.
        self.event_buckets.clear();
        let own = self.functions.first()?.own_role.clone();
        self.function_roles
            .retain(|r| Some(&r.name) == own.as_ref());
        self.http_api = None;
        self.rest_api = None;
        self.websocket = None;
        // A pool's triggers are one configuration: `deploy function` leaves them to `deploy`.
        self.user_pools.clear();
        self.schedules.retain(|s| s.function == key);
        // Rules of one listener are ordered together: `deploy function` leaves them to `deploy`.
        self.target_groups.clear();
        self.listener_rules.clear();
        self.function_only = true;
        Some(self)
    }

    /// The same service and stage with nothing wanted: what `sls remove` plans against.
    pub fn nothing(&self) -> Desired {
        Desired {
            role: None,
            function_roles: Vec::new(),
            bucket: None,
            functions: Vec::new(),
            http_api: None,
            rest_api: None,
            websocket: None,
            user_pools: Vec::new(),
            schedules: Vec::new(),
            scheduler_role: None,
            target_groups: Vec::new(),
            stack: None,
            layers: Vec::new(),
            // Kept, so that a removal reads the domain it names (someone else's domain
            // keeps no tag of ours): with no API wanted, the planner wants no domain.
            listener_rules: Vec::new(),
            log_groups: Vec::new(),
            mappings: Vec::new(),
            rules: Vec::new(),
            buses: Vec::new(),
            topics: Vec::new(),
            subscriptions: Vec::new(),
            function_only: false,
            event_buckets: Vec::new(),
            log_subscriptions: Vec::new(),
            alexa: Vec::new(),
            alias: self.live.clone(),
            ..self.clone()
        }
    }

    /// The function under this key in `functions:`.
    pub fn function(&self, key: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.key == key)
    }

    /// The function with this Lambda name.
    pub fn function_named(&self, name: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.name == name)
    }
}

/// `custom.customDomain` (validated: its values are known to be among the accepted ones).
fn domain_of(
    config: &Config,
    stage: &str,
    rest: Option<&super::RestApiSpec>,
    websocket: Option<&super::WebsocketSpec>,
) -> Option<super::DomainSpec> {
    use super::domain::{DomainApi, RecordsSpec};
    use crate::config::model::{CustomDomain, flag};
    let c = CustomDomain::of(config.custom.as_ref())?;
    let api = match c
        .api_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("http") => DomainApi::Http,
        Some("websocket") => DomainApi::Websocket,
        _ => DomainApi::Rest,
    };
    let stage = match api {
        DomainApi::Rest => rest.map_or_else(|| stage.to_string(), |r| r.stage.clone()),
        DomainApi::Http => "$default".to_string(),
        DomainApi::Websocket => websocket.map_or_else(|| stage.to_string(), |w| w.stage.clone()),
    };
    Some(super::DomainSpec {
        name: c.domain_name.clone()?.to_ascii_lowercase(),
        api,
        regional: c
            .endpoint_type
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("regional")),
        certificate_arn: c.certificate_arn.clone(),
        certificate_name: c.certificate_name.clone(),
        security_policy: c
            .security_policy
            .clone()
            .unwrap_or_else(|| "TLS_1_2".into()),
        base_path: c
            .base_path
            .clone()
            .filter(|b| b != "(none)")
            .unwrap_or_default(),
        stage,
        records: flag(c.create_route53_record.as_ref(), true).then(|| RecordsSpec {
            zone_id: c.hosted_zone_id.clone(),
            private: c.hosted_zone_private.as_ref().map(|v| flag(Some(v), false)),
            ipv6: flag(c.create_route53_ipv6_record.as_ref(), true),
        }),
    })
}

/// `layers:`, with each layer's artifact from the manifest (none before packaging).
fn layers_of(config: &Config, stage: &str, manifest: &Manifest) -> Vec<super::LayerSpec> {
    config
        .layers
        .iter()
        .flatten()
        .map(|(key, l)| {
            let artifact = manifest
                .layers
                .get(key)
                .and_then(|a| manifest.artifacts.get(a));
            let mut allowed: Vec<String> = l.allowed_accounts.clone().unwrap_or_default();
            allowed.sort();
            allowed.dedup();
            super::LayerSpec {
                key: key.clone(),
                name: l
                    .name
                    .clone()
                    .unwrap_or_else(|| match l.python_requirements {
                        // serverless-python-requirements' name.
                        true => format!("{}-{stage}-python-requirements", config.service),
                        false => key.clone(),
                    }),
                description: l.description.clone().unwrap_or_default(),
                runtimes: l.compatible_runtimes.clone().unwrap_or_default(),
                architectures: l
                    .compatible_architectures
                    .iter()
                    .flatten()
                    .map(|a| a.as_str().to_string())
                    .collect(),
                license: l.license_info.clone().unwrap_or_default(),
                retain: l.retain == Some(true),
                allowed_accounts: allowed,
                zip: artifact.map(|a| a.path.clone()).unwrap_or_default(),
                sha256: artifact.map(|a| a.sha256.clone()).unwrap_or_default(),
                via_s3: artifact.is_some_and(|a| a.size > INLINE_UPLOAD_LIMIT),
            }
        })
        .collect()
}

/// The values of what sls deploys, under the logical ids Serverless v3 gives them, for `Ref`
/// and `Fn::GetAtt`: functions (`{Fn}LambdaFunction`: name, Arn), their log groups
/// (`{Fn}LogGroup`), the service's role (`IamRoleLambdaExecution`) and the deployment bucket
/// (`ServerlessDeploymentBucket`).
pub fn managed_values(d: &Desired, account: &str) -> crate::config::intrinsics::Values {
    let (partition, _) = super::partition(&d.region);
    let region = &d.region;
    let mut v = crate::config::intrinsics::Values {
        region: d.region.clone(),
        account: Some(account.to_string()),
        stack_name: super::stack::stack_name(&d.service, &d.stage),
        ..Default::default()
    };
    let mut both = |id: String, name: String, arn: String| {
        v.atts.insert((id.clone(), "Arn".into()), arn);
        v.refs.insert(id, name);
    };
    for f in &d.functions {
        let n = super::stack::normalized(&f.key);
        both(
            format!("{n}LambdaFunction"),
            f.name.clone(),
            format!(
                "arn:{partition}:lambda:{region}:{account}:function:{}",
                f.name
            ),
        );
        let group = super::log_group::name_of(&f.name);
        both(
            format!("{n}LogGroup"),
            group.clone(),
            format!("arn:{partition}:logs:{region}:{account}:log-group:{group}:*"),
        );
    }
    if let Some(r) = &d.role {
        both(
            "IamRoleLambdaExecution".into(),
            r.name.clone(),
            format!("arn:{partition}:iam::{account}:role{}{}", r.path, r.name),
        );
    }
    if let Some(b) = &d.bucket {
        let name = b
            .user
            .clone()
            .unwrap_or_else(|| bucket_name(&d.service, &d.stage, account, region));
        both(
            "ServerlessDeploymentBucket".into(),
            name.clone(),
            format!("arn:{partition}:s3:::{name}"),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_shortened_without_collisions() {
        let a = function_name(&"s".repeat(40), "prod", &"a".repeat(30));
        let b = function_name(&"s".repeat(40), "prod", &format!("{}b", "a".repeat(29)));
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(function_name("svc", "dev", "api"), "svc-dev-api");
        assert_eq!(
            role_name("svc", "dev", "eu-west-1"),
            "svc-dev-eu-west-1-lambdaRole"
        );
    }

    fn desired_of(yaml: &str) -> Desired {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        let loaded = crate::config::load(&crate::config::LoadOptions {
            cwd: dir.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap();
        let manifest = Manifest::unpackaged("svc", "dev", "us-east-1");
        desired(&loaded.config, "dev", "us-east-1", &manifest)
    }

    #[test]
    fn layers_are_named_as_v3_and_the_python_requirements_plugin_name_them() {
        let d = desired_of(
            "service: svc
provider:
  name: aws
  runtime: python3.12
layers:
  common:
    path: common
  tools:
    path: tools
    name: team-tools
    allowedAccounts: ['222233334444', '111122223333', '111122223333']
functions:
  f:
    handler: h.main
    layers: [{Ref: CommonLambdaLayer}, {Ref: PythonRequirementsLambdaLayer}]
custom:
  pythonRequirements:
    layer: true
",
        );
        let names: Vec<(&str, &str)> = d
            .layers
            .iter()
            .map(|l| (l.key.as_str(), l.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("common", "common"),
                ("tools", "team-tools"),
                ("pythonRequirements", "svc-dev-python-requirements")
            ]
        );
        assert_eq!(
            d.layers[1].allowed_accounts,
            ["111122223333", "222233334444"]
        );
        let py = &d.layers[2];
        assert_eq!(
            py.description,
            "Python requirements generated by serverless-python-requirements."
        );
        assert_eq!(py.runtimes, ["python3.12"]);
        assert_eq!(
            d.functions[0].config.layers,
            ["sls:layer:common", "sls:layer:pythonRequirements"]
        );
    }

    #[test]
    fn own_roles_take_the_service_role_as_template_and_inherit_only_when_asked() {
        let d = desired_of(
            "service: svc
provider:
  name: aws
  iam:
    role:
      path: /team/
      managedPolicies: [arn:aws:iam::aws:policy/P]
      statements:
        - {Effect: Allow, Action: 'sqs:*', Resource: '*'}
custom:
  serverless-iam-roles-per-function:
    defaultInherit: true
functions:
  a:
    handler: a.main
    iamRoleStatements: []
  b:
    handler: b.main
    iamRoleStatementsInherit: false
    iamRoleStatementsName: b-role
    iamRoleStatements:
      - {Effect: Allow, Action: 's3:GetObject', Resource: '*'}
",
        );
        // Every function has its own role: none for the service.
        assert!(d.role.is_none());
        let names: Vec<&str> = d.function_roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["svc-dev-a-us-east-1-lambdaRole", "b-role"]);
        let text = |i: usize| d.function_roles[i].policy.to_string();
        // `a` inherits (the custom default), `b` opted out.
        assert!(text(0).contains("sqs:*") && !text(0).contains("s3:GetObject"));
        assert!(!text(1).contains("sqs:*") && text(1).contains("s3:GetObject"));
        for r in &d.function_roles {
            assert_eq!(r.path, "/team/");
            assert_eq!(r.managed_policies, ["arn:aws:iam::aws:policy/P"]);
        }
        assert_eq!(d.functions[1].config.role, "/team/b-role");
        assert_eq!(d.functions[1].own_role.as_deref(), Some("b-role"));
        // `deploy function -f b` keeps b's role only.
        let only = d.only_function("b").unwrap();
        assert_eq!(only.function_roles.len(), 1);
        assert_eq!(only.function_roles[0].name, "b-role");
    }

    #[test]
    fn an_own_role_name_over_64_characters_drops_its_suffix_then_shortens() {
        let n = function_role_name("service", "production", "handler", "ap-southeast-2");
        assert_eq!(n, "service-production-handler-ap-southeast-2-lambdaRole");
        let long = function_role_name(&"s".repeat(30), "production", "handler", "ap-southeast-2");
        assert!(!long.ends_with("lambdaRole") && long.len() <= 64, "{long}");
    }
}
