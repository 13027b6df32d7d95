//! Checks across values that the types alone cannot make: handler syntax per runtime, known
//! runtimes, routes (methods, paths, duplicates), schedule expressions, event sources, IAM
//! statements, environment limits, and Serverless features sls does not support.
//! Every problem points at the key or value it is about, found by path in the expanded tree.

use super::runtime::Family;
use std::collections::HashMap;

use crate::diag::{Problem, Span, did_you_mean};

use super::model::{Config, CustomDomain, Event, Function, Statement};
use super::yaml::Node;

mod domain;
mod events;
mod functions;
mod packaging;
mod sources;
mod triggers;

use domain::custom_domain;
use events::event;
pub use events::route_path;
pub use functions::handler_syntax;
use functions::{env_names, function, lambda_logs, runtime, unknown_runtime};
use packaging::{esbuild_settings, layer, layer_uses, package_section, python_requirements};
pub use triggers::schedule_expression;
use triggers::{s3_buckets, user_pools};

struct Checker<'a> {
    tree: &'a Node,
    out: Vec<Problem>,
    stage: String,
    service: String,
}

impl Checker<'_> {
    fn span(&self, path: &[&str]) -> Option<Span> {
        // Fall back to the nearest existing parent so a problem always has a place.
        (0..=path.len())
            .rev()
            .find_map(|i| self.tree.at_path(&path[..i]).map(|n| n.span))
    }

    fn key_span(&self, path: &[&str]) -> Option<Span> {
        let (last, parent) = path.split_last()?;
        self.tree
            .at_path(parent)
            .and_then(|p| p.entry(last))
            .map(|e| e.key_span)
            .or_else(|| self.span(path))
    }

    fn error(&mut self, path: &[&str], msg: impl Into<String>) -> &mut Problem {
        let span = self.span(path);
        self.out.push(Problem::error(msg, span));
        self.out.last_mut().expect("just pushed")
    }

    fn error_key(&mut self, path: &[&str], msg: impl Into<String>) -> &mut Problem {
        let span = self.key_span(path);
        self.out.push(Problem::error(msg, span));
        self.out.last_mut().expect("just pushed")
    }

    fn warn_key(&mut self, path: &[&str], msg: impl Into<String>) -> &mut Problem {
        let span = self.key_span(path);
        self.out.push(Problem::warning(msg, span));
        self.out.last_mut().expect("just pushed")
    }
}

/// Returns every problem found (errors and warnings).
/// `stage` is the one this run deploys to (rule names must start with the service's prefix).
pub fn check(config: &Config, tree: &Node, stage: &str) -> Vec<Problem> {
    let mut c = Checker {
        tree,
        out: Vec::new(),
        stage: stage.to_string(),
        service: config.service.clone(),
    };
    top_level(&mut c, config);
    let mut routes: HashMap<String, (String, Option<Span>)> = HashMap::new();
    for (name, f) in config.functions.iter().flatten() {
        function(&mut c, config, name, f, &mut routes);
    }
    s3_buckets(&mut c, config);
    user_pools(&mut c, config);
    python_requirements(&mut c);
    esbuild_settings(&mut c);
    custom_domain(&mut c, config);
    c.out
}

fn top_level(c: &mut Checker, config: &Config) {
    let s = &config.service;
    let valid = s.chars().next().is_some_and(|ch| ch.is_ascii_alphabetic())
        && s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    if !valid {
        c.error(&["service"], format!("service name `{s}` is not valid"))
            .help = Some("start with a letter and use only letters, digits and hyphens (AWS resource names are built from it)".into());
    }
    if config.provider.name != "aws" {
        c.error(
            &["provider", "name"],
            format!("provider `{}` is not supported", config.provider.name),
        )
        .help = Some("sls deploys to AWS only: set `provider.name: aws`".into());
    }
    if let Some(rt) = &config.provider.runtime {
        runtime(c, &["provider", "runtime"], rt);
    }
    c.out.extend(super::plugins::notes(c.tree));
    for (key, l) in config.layers.iter().flatten() {
        layer(c, key, l);
    }
    let mut uses: Vec<(Vec<&str>, &Vec<String>)> = Vec::new();
    if let Some(l) = &config.provider.layers {
        uses.push((vec!["provider", "layers"], l));
    }
    for (name, f) in config.functions.iter().flatten() {
        if let Some(l) = &f.layers {
            uses.push((vec!["functions", name.as_str(), "layers"], l));
        }
    }
    for (path, list) in uses {
        layer_uses(c, &path, list, config.layers.as_ref());
    }
    for (key, st) in [("iamRoleStatements", &config.provider.iam_role_statements)] {
        if let Some(st) = st {
            statements(c, &["provider", key], st);
        }
    }
    if let Some(st) = config
        .provider
        .iam
        .as_ref()
        .and_then(|i| i.role.as_ref())
        .and_then(|r| r.statements.as_ref())
    {
        statements(c, &["provider", "iam", "role", "statements"], st);
    }
    let p = &config.provider;
    if let Some(h) = &p.http_api {
        for (key, set) in [
            ("id", h.id.is_some()),
            ("authorizers", h.authorizers.is_some()),
        ] {
            if set {
                refuse(
                    c,
                    &["provider", "httpApi", key],
                    &format!("`httpApi.{key}`"),
                );
            }
        }
    }
    if let Some(g) = &p.api_gateway {
        for (key, set) in [
            ("apiKeys", g.api_keys.is_some()),
            ("request", g.request.is_some()),
            ("restApiId", g.rest_api_id.is_some()),
            ("websocketApiId", g.websocket_api_id.is_some()),
            (
                "disableDefaultEndpoint",
                g.disable_default_endpoint == Some(true),
            ),
        ] {
            if set {
                refuse(
                    c,
                    &["provider", "apiGateway", key],
                    &format!("`apiGateway.{key}`"),
                );
            }
        }
    }
    if let Some(size) = p
        .api_gateway
        .as_ref()
        .and_then(|g| g.minimum_compression_size)
        && size > 10_485_760
    {
        c.error(
            &["provider", "apiGateway", "minimumCompressionSize"],
            format!("minimumCompressionSize is at most 10485760 bytes (10 MiB), got {size}"),
        );
    }
    if let Some(types) = p
        .api_gateway
        .as_ref()
        .and_then(|g| g.binary_media_types.as_ref())
    {
        for (i, t) in types.iter().enumerate() {
            if !t.contains('/') {
                let idx = i.to_string();
                c.error(
                    &["provider", "apiGateway", "binaryMediaTypes", &idx],
                    format!("`{t}` is not a media type"),
                )
                .help = Some("write `type/subtype`, e.g. image/png or */*".into());
            }
        }
    }
    if let Some(b) = &p.deployment_bucket {
        for (key, set) in [
            ("serverSideEncryption", b.server_side_encryption.is_some()),
            ("blockPublicAccess", b.block_public_access == Some(false)),
            (
                "maxPreviousDeploymentArtifacts",
                b.max_previous_deployment_artifacts.is_some(),
            ),
            ("tags", b.tags.is_some()),
        ] {
            if set {
                refuse(
                    c,
                    &["provider", "deploymentBucket", key],
                    &format!("`deploymentBucket.{key}`"),
                );
            }
        }
    }
    if let Some(t) = &config.provider.tracing {
        if let Some(v) = &t.lambda {
            tracing_value(c, &["provider", "tracing", "lambda"], v);
        }
    }
    if let Some(v) = &config.provider.vpc {
        vpc(c, &["provider", "vpc"], v);
    }
    if let Some(logs) = &config.provider.logs {
        if let Some(l) = &logs.lambda {
            lambda_logs(c, &["provider", "logs", "lambda"], l, None);
        }
        for (key, set) in [
            ("restApi", logs.rest_api.is_some()),
            ("httpApi", logs.http_api.is_some()),
            ("websocket", logs.websocket.is_some()),
        ] {
            if set {
                refuse(
                    c,
                    &["provider", "logs", key],
                    &format!("access logs of the {key} (`logs.{key}`)"),
                );
            }
        }
        if logs.framework_lambda.is_some() {
            c.warn_key(
                &["provider", "logs", "frameworkLambda"],
                "`logs.frameworkLambda` concerns the Framework's own helper functions; sls deploys none, so it changes nothing",
            );
        }
    }
    let iam_role = config.provider.iam.as_ref().and_then(|i| i.role.as_ref());
    let existing = [
        (
            &["provider", "iam", "role"][..],
            iam_role.and_then(|r| r.arn.as_ref()),
        ),
        (&["provider", "role"][..], config.provider.role.as_ref()),
    ];
    for (path, role) in existing {
        if let Some(role) = role {
            role_arn(c, path, role);
        }
    }
    if existing.iter().any(|(_, r)| r.is_some()) {
        let given = [
            (
                "statements",
                iam_role.is_some_and(|r| r.statements.is_some()),
            ),
            (
                "managedPolicies",
                iam_role.is_some_and(|r| r.managed_policies.is_some()),
            ),
            (
                "iamRoleStatements",
                config.provider.iam_role_statements.is_some(),
            ),
            (
                "iamManagedPolicies",
                config.provider.iam_managed_policies.is_some(),
            ),
        ];
        for (key, _) in given.iter().filter(|(_, set)| *set) {
            let path: &[&str] = match *key {
                "statements" | "managedPolicies" => &["provider", "iam", "role", key],
                _ => &["provider", key],
            };
            c.error(
                path,
                format!(
                    "`{key}` shape the role sls creates, but the config names an existing role"
                ),
            )
            .help = Some(
                "give that role these permissions yourself, or let sls create the role".into(),
            );
        }
    }
    let provider_payload = config
        .provider
        .http_api
        .as_ref()
        .and_then(|h| h.payload.as_deref())
        .map(|p| (vec!["provider", "httpApi", "payload"], p));
    let function_payloads = config.functions.iter().flatten().filter_map(|(name, f)| {
        let p = f.http_api.as_ref()?.payload.as_deref()?;
        Some((vec!["functions", name.as_str(), "httpApi", "payload"], p))
    });
    for (path, payload) in provider_payload.into_iter().chain(function_payloads) {
        if payload != "1.0" && payload != "2.0" {
            c.error(
                &path,
                format!("httpApi payload must be '1.0' or '2.0', got `{payload}`"),
            );
        }
    }
    if let Some(env) = &config.provider.environment {
        env_names(c, &["provider", "environment"], env);
    }
    if let Some(p) = &config.package {
        package_section(c, &["package"], p, false);
    }
}

/// What to do about a key sls does not deploy yet.
pub const NOT_DEPLOYED_HELP: &str =
    "remove it, or keep deploying this service with the Serverless Framework for now";

/// A key Serverless deploys and sls does not yet: refused, so that nothing of the config is
/// silently left out of AWS (an authorizer left out would leave a route open).
fn refuse(c: &mut Checker, path: &[&str], what: &str) {
    let p = c.error_key(path, format!("{what} are not deployed by sls yet"));
    p.help = Some(NOT_DEPLOYED_HELP.into());
    p.deploy_only = true;
}

fn tracing_value(c: &mut Checker, path: &[&str], v: &serde_json::Value) {
    let ok = matches!(v, serde_json::Value::Bool(_))
        || matches!(v.as_str(), Some("Active" | "PassThrough"));
    if !ok {
        c.error(path, "tracing is `Active`, `PassThrough`, true or false");
    }
}

/// Lambda attaches a function to a VPC through both subnets and security groups.
fn vpc(c: &mut Checker, path: &[&str], v: &super::model::Vpc) {
    let empty = |l: &Option<Vec<String>>| l.as_ref().is_none_or(Vec::is_empty);
    if empty(&v.subnet_ids) || empty(&v.security_group_ids) {
        c.error(path, "a vpc needs both `subnetIds` and `securityGroupIds`")
            .help = Some("list at least one of each, or leave `vpc` out".into());
    }
}

/// A role the config names must be an IAM role's ARN: a bare name is, in Serverless, a
/// CloudFormation resource of the stack, which sls does not deploy.
fn role_arn(c: &mut Checker, path: &[&str], role: &str) {
    if arn_service(role) != Some("iam") || !role.contains(":role/") {
        c.error(path, format!("`{role}` is not an IAM role's ARN"))
            .help = Some(
            "give the role's ARN (arn:aws:iam::ACCOUNT:role/NAME); to have sls create the role, leave this out"
                .into(),
        );
    }
}

/// The service of an ARN (`arn:aws:sqs:…` → `sqs`), in any partition.
pub fn arn_service(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next() == Some("arn") && parts.next().is_some_and(|p| !p.is_empty()))
        .then(|| parts.next())
        .flatten()
        .filter(|s| !s.is_empty())
}

/// The Lambda triggers of a user pool, as Serverless v3 names them (LambdaConfig's fields).
pub const COGNITO_TRIGGERS: &[&str] = &[
    "PreSignUp",
    "PostConfirmation",
    "PreAuthentication",
    "PostAuthentication",
    "PreTokenGeneration",
    "CustomMessage",
    "DefineAuthChallenge",
    "CreateAuthChallenge",
    "VerifyAuthChallengeResponse",
    "UserMigration",
    "CustomSMSSender",
    "CustomEmailSender",
];

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn arn(c: &mut Checker, path: &[&str], value: &str, services: &[&str]) {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = parts.len() == 6 && parts[0] == "arn" && services.contains(&parts[2]);
    if !ok {
        c.error(
            path,
            format!("`{value}` is not an ARN of {}", services.join(" or ")),
        )
        .help = Some(format!(
            "write the full ARN, e.g. arn:aws:{}:us-east-1:123456789012:name",
            services[0]
        ));
    }
}

fn statements(c: &mut Checker, path: &[&str], list: &[Statement]) {
    for (i, st) in list.iter().enumerate() {
        let idx = i.to_string();
        let mut p = path.to_vec();
        p.push(&idx);
        if st.action.is_none() && st.not_action.is_none() {
            c.error(&p, "an IAM statement needs `Action` (or `NotAction`)");
        }
        if st.resource.is_none() && st.not_resource.is_none() {
            c.error(&p, "an IAM statement needs `Resource` (or `NotResource`)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_forms() {
        assert!(handler_syntax("src/handler.main", "nodejs22.x").is_ok());
        assert!(handler_syntax("app.handler", "python3.12").is_ok());
        assert!(handler_syntax("bootstrap", "provided.al2023").is_ok());
        assert!(handler_syntax("com.example.Handler::handleRequest", "java21").is_ok());
        assert!(handler_syntax("handler", "nodejs22.x").is_err());
        assert!(handler_syntax("../x.main", "nodejs22.x").is_err());
        assert!(handler_syntax("/abs/x.main", "nodejs22.x").is_err());
        assert!(handler_syntax("src/x.", "nodejs22.x").is_err());
        assert!(handler_syntax("src/x.1abc", "nodejs22.x").is_err());
    }

    #[test]
    fn route_paths() {
        assert!(route_path("/users/{id}", true).is_ok());
        assert!(route_path("/", true).is_ok());
        assert!(route_path("/files/{proxy+}", true).is_ok());
        assert!(route_path("users", true).is_err());
        assert!(route_path("/a/{proxy+}/b", true).is_err());
        assert!(route_path("/a//b", true).is_err());
        assert!(route_path("/a/x{id}", true).is_err());
        assert!(route_path("/a b", true).is_err());
        assert!(route_path("/users/", false).is_ok());
    }

    #[test]
    fn schedules() {
        for ok in [
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(2 hours)",
            "cron(0 12 * * ? *)",
        ] {
            assert!(schedule_expression(ok).is_ok(), "{ok}");
        }
        for bad in [
            "rate(1 minutes)",
            "rate(5 minute)",
            "rate(0 days)",
            "rate(x days)",
            "rate(5 weeks)",
            "cron(0 12 * * ?)",
            "every 5 min",
        ] {
            assert!(schedule_expression(bad).is_err(), "{bad}");
        }
    }
}
