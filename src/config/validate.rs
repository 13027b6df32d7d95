//! Checks across values that the types alone cannot make: handler syntax per runtime, known
//! runtimes, routes (methods, paths, duplicates), schedule expressions, event sources, IAM
//! statements, environment limits, and Serverless features sls does not support.
//! Every problem points at the key or value it is about, found by path in the expanded tree.

use super::runtime::Family;
use std::collections::HashMap;

use crate::diag::{Problem, Span, did_you_mean};

use super::model::{Config, CustomDomain, Event, Function, Statement};
use super::yaml::Node;

/// Runtimes Lambda accepts for new functions.
const HTTP_API_METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY", "*",
];
const REST_METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

/// Lambda refuses these environment variable names: the runtime sets them.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Lambda's limit on the total size of a function's environment variables.
const ENV_LIMIT_BYTES: usize = 4096;

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

/// serverless-domain-manager's `custom.customDomain`: what sls builds (a custom domain, its API
/// mapping and Route 53 alias records), and the keys it would not honour, refused.
fn custom_domain(c: &mut Checker, config: &Config) {
    if c.tree.at_path(&["custom", "customDomains"]).is_some() {
        c.error_key(
            &["custom", "customDomains"],
            "several custom domains (`customDomains`) are not built into sls yet",
        )
        .help = Some("use one `custom.customDomain`".into());
    }
    let at = ["custom", "customDomain"];
    let Some(Node {
        value: super::yaml::Value::Map(entries),
        ..
    }) = c.tree.at_path(&at)
    else {
        if c.tree.at_path(&at).is_some() {
            c.error(
                &at,
                "`customDomain` is a mapping with at least `domainName`",
            );
        }
        return;
    };
    let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
    for key in &keys {
        let path = ["custom", "customDomain", key.as_str()];
        match key.as_str() {
            "domainName"
            | "basePath"
            | "stage"
            | "certificateName"
            | "certificateArn"
            | "createRoute53Record"
            | "createRoute53IPv6Record"
            | "endpointType"
            | "apiType"
            | "securityPolicy"
            | "hostedZoneId"
            | "hostedZonePrivate"
            | "enabled" => {}
            // sls makes the domain with the deploy and keeps it only while no one else maps it.
            "autoDomain" | "autoDomainWaitFor" | "preserveExternalPathMappings" => {}
            other => {
                c.error_key(
                    &path,
                    format!("`customDomain.{other}` is not built into sls"),
                )
                .help = Some("sls builds domainName, basePath, stage, certificateName/certificateArn, endpointType (EDGE or REGIONAL), apiType, securityPolicy, createRoute53Record, createRoute53IPv6Record, hostedZoneId and hostedZonePrivate; remove the key or keep the plugin and deploy with it".into());
            }
        }
    }
    let Some(d) = CustomDomain::of(config.custom.as_ref()) else {
        return;
    };
    let name = d.domain_name.clone().unwrap_or_default();
    let good = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
    };
    if name.is_empty() {
        c.error_key(&at, "`customDomain` has no `domainName`");
    } else if name.len() > 253 || !name.contains('.') || !name.split('.').all(good) {
        c.error(
            &["custom", "customDomain", "domainName"],
            format!("`{name}` is not a domain name"),
        );
    }
    let api = d.api_type.as_deref().unwrap_or("rest").to_ascii_lowercase();
    let endpoint = d
        .endpoint_type
        .as_deref()
        .unwrap_or("EDGE")
        .to_ascii_uppercase();
    if !["rest", "http", "websocket"].contains(&api.as_str()) {
        c.error(
            &["custom", "customDomain", "apiType"],
            format!("`{api}` is not rest, http or websocket"),
        );
    }
    match endpoint.as_str() {
        "REGIONAL" => {}
        "EDGE" if api == "rest" => {}
        "EDGE" => {
            c.error(
                &["custom", "customDomain", "endpointType"],
                format!("{api} APIs take regional custom domains only"),
            )
            .help = Some("set `endpointType: regional`".into());
        }
        other => {
            c.error(
                &["custom", "customDomain", "endpointType"],
                format!("`{other}` custom domains are not built into sls"),
            )
            .help = Some("use EDGE or REGIONAL".into());
        }
    }
    let events = |kind: &str| {
        config.functions.iter().flatten().any(|(_, f)| {
            f.events.iter().flatten().any(|e| {
                matches!(
                    (kind, e),
                    ("rest", Event::Http(_))
                        | ("http", Event::HttpApi(_))
                        | ("websocket", Event::Websocket(_))
                )
            })
        })
    };
    if ["rest", "http", "websocket"].contains(&api.as_str()) && !events(&api) {
        c.error(
            &["custom", "customDomain", "apiType"],
            format!("the custom domain maps the {api} API, and no function has an event of it"),
        )
        .help = Some("set `apiType` to the API the domain serves (rest: `http` events, http: `httpApi`, websocket: `websocket`)".into());
    }
    if let Some(stage) = d.stage.as_ref().filter(|s| **s != c.stage) {
        c.error(
            &["custom", "customDomain", "stage"],
            format!(
                "the domain would map stage `{stage}`, and this deploy is of stage `{}`",
                c.stage
            ),
        )
        .help =
            Some("sls maps the stage it deploys: remove `stage` or deploy with `--stage`".into());
    }
    if let Some(p) = d.security_policy.as_deref()
        && !["TLS_1_0", "TLS_1_2"].contains(&p)
    {
        c.error(
            &["custom", "customDomain", "securityPolicy"],
            format!("`{p}` is not TLS_1_0 or TLS_1_2"),
        );
    }
    if let Some(b) = d.base_path.as_deref()
        && b != "(none)"
        && (b.starts_with('/') || b.ends_with('/') || b.contains("//") || b.contains(' '))
    {
        c.error(
            &["custom", "customDomain", "basePath"],
            format!("`{b}` is not a base path"),
        )
        .help = Some("write it without slashes at either end, e.g. `v1`; `(none)` or no key maps the domain's root".into());
    }
}

/// `build.esbuild` (Serverless v4) and `custom.esbuild` (serverless-esbuild): the keys sls
/// honours when it bundles; any other would change what is deployed and is refused here.
fn esbuild_settings(c: &mut Checker) {
    for at in [["build", "esbuild"], ["custom", "esbuild"]] {
        let Some(Node {
            value: super::yaml::Value::Map(entries),
            ..
        }) = c.tree.at_path(&at)
        else {
            continue;
        };
        let unknown: Vec<String> = entries
            .iter()
            .map(|e| e.key.clone())
            .filter(|k| !super::plugins::ESBUILD_KEYS.contains(&k.as_str()))
            .collect();
        for key in unknown {
            let p = c.error_key(
                &[at[0], at[1], key.as_str()],
                format!("`{}.{}.{key}` is not honoured by sls", at[0], at[1]),
            );
            p.help = Some(format!(
                "sls honours {}; remove this key",
                super::plugins::ESBUILD_KEYS.join(", ")
            ));
            p.deploy_only = true;
        }
    }
    if let Some(b) = c.tree.get("build")
        && let super::yaml::Value::Map(entries) = &b.value
    {
        let other: Vec<String> = entries
            .iter()
            .map(|e| e.key.clone())
            .filter(|k| k != "esbuild")
            .collect();
        for key in other {
            let p = c.error_key(
                &["build", key.as_str()],
                format!("`build.{key}` is not honoured by sls, which reads `build.esbuild` only"),
            );
            p.help = Some("remove this key".into());
            p.deploy_only = true;
        }
    }
}

/// `custom.pythonRequirements`: the serverless-python-requirements keys sls honours when it
/// installs a Python function's dependencies; the Docker ones are not needed (wheels for Lambda's
/// platform are fetched directly); the rest would change what is deployed and are refused.
fn python_requirements(c: &mut Checker) {
    let Some(Node {
        value: super::yaml::Value::Map(entries),
        ..
    }) = c.tree.at_path(&["custom", "pythonRequirements"])
    else {
        return;
    };
    let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
    for key in keys {
        let path = ["custom", "pythonRequirements", key.as_str()];
        match key.as_str() {
            "fileName"
            | "slim"
            | "slimPatterns"
            | "noDeploy"
            | "invalidateCaches"
            | "cacheLocation"
            | "useStaticCache"
            | "useDownloadCache"
            | "staticCacheMaxVersions"
            | "strip" => {}
            "slimPatternsAppendDefaults" => {
                if c.tree
                    .at_path(&path)
                    .is_some_and(|n| matches!(n.value, super::yaml::Value::Bool(false)))
                {
                    c.error(&path, "sls always leaves out the default slim patterns (`__pycache__`, `*.pyc`, `*.dist-info`) with `slim: true`")
                        .help = Some("remove `slimPatternsAppendDefaults: false`, or `slim`".into());
                }
            }
            "dockerizePip"
            | "dockerImage"
            | "dockerFile"
            | "dockerSsh"
            | "dockerPrivateKey"
            | "dockerBuildCmdExtraArgs"
            | "dockerRunCmdExtraArgs"
            | "dockerEnv"
            | "dockerRootless"
            | "useDocker" => {
                c.out.push(Problem::new(
                    crate::diag::Severity::Note,
                    format!("custom.pythonRequirements.{key} is not needed: sls installs wheels built for Lambda's platform without Docker"),
                    c.key_span(&path),
                ));
            }
            // Honoured when there is no requirements file: which lock file is exported.
            "usePoetry" | "usePipenv" | "useUv" => {
                if !c
                    .tree
                    .at_path(&path)
                    .is_some_and(|n| matches!(n.value, super::yaml::Value::Bool(_)))
                {
                    c.error(&path, format!("`{key}` is true or false"));
                }
            }
            "poetryWithGroups" | "poetryWithoutGroups" | "poetryOnlyGroups" => {
                let strings = c.tree.at_path(&path).is_some_and(|n| match &n.value {
                    super::yaml::Value::Seq(items) => items
                        .iter()
                        .all(|i| matches!(i.value, super::yaml::Value::Str(_))),
                    _ => false,
                });
                if !strings {
                    c.error(&path, format!("`{key}` is a list of poetry group names"));
                }
            }
            // The dependencies as a layer of their own (see `model::python_layer`).
            "layer" => {
                let ok = match c.tree.at_path(&path).map(|n| &n.value) {
                    Some(super::yaml::Value::Bool(_)) => true,
                    Some(super::yaml::Value::Map(es)) => es.iter().all(|e| {
                        [
                            "name",
                            "description",
                            "compatibleRuntimes",
                            "compatibleArchitectures",
                            "licenseInfo",
                            "allowedAccounts",
                            "retain",
                        ]
                        .contains(&e.key.as_str())
                    }),
                    _ => false,
                };
                if !ok {
                    c.error(&path, "`layer` is true, false, or a mapping of the layer's settings")
                        .help = Some("use `name`, `description`, `compatibleRuntimes`, `compatibleArchitectures`, `licenseInfo`, `allowedAccounts` or `retain`, as under `layers:`".into());
                }
            }
            "zip" => {
                c.error_key(
                    &path,
                    "zipped dependencies (`unzip_requirements`) are not built into sls",
                )
                .help = Some(
                    "remove `zip`; with `slim: true` most services fit Lambda's 250 MB".into(),
                );
            }
            other => {
                let p = c.error_key(
                    &path,
                    format!("`custom.pythonRequirements.{other}` is not honoured by sls"),
                );
                p.help = Some("sls honours fileName, slim, slimPatterns, noDeploy, invalidateCaches and cacheLocation; remove this key".into());
                p.deploy_only = true;
            }
        }
    }
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
    if let Some(payload) = config
        .provider
        .http_api
        .as_ref()
        .and_then(|h| h.payload.as_deref())
    {
        if payload != "1.0" && payload != "2.0" {
            c.error(
                &["provider", "httpApi", "payload"],
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

/// A layer of `layers:`: what Lambda's PublishLayerVersion accepts.
fn layer(c: &mut Checker, key: &str, l: &super::model::Layer) {
    let name = l.name.clone().unwrap_or_else(|| key.to_string());
    let good = |ch: char| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_';
    if name.is_empty() || name.len() > 140 || !name.chars().all(good) {
        let msg = format!("`{name}` cannot name a Lambda layer");
        let p = if l.name.is_some() {
            c.error(&["layers", key, "name"], msg)
        } else {
            c.error_key(&["layers", key], msg)
        };
        p.help = Some(
            "use 1 to 140 letters, digits, hyphens and underscores (set `name:` to keep the key)"
                .into(),
        );
    }
    let prebuilt = l
        .package
        .as_ref()
        .and_then(|p| p.artifact.as_ref())
        .is_some();
    if l.path.is_none() && !prebuilt && !l.python_requirements {
        c.error_key(&["layers", key], format!("layer `{key}` has no `path`"))
            .help = Some("set `path:` to the directory whose files the layer holds (they appear under /opt), or `package.artifact:` to a zip".into());
    }
    for (k, text, most) in [
        ("description", &l.description, 256),
        ("licenseInfo", &l.license_info, 512),
    ] {
        if let Some(t) = text.as_ref().filter(|t| t.chars().count() > most) {
            c.error(
                &["layers", key, k],
                format!(
                    "is {} characters; Lambda takes at most {most}",
                    t.chars().count()
                ),
            );
        }
    }
    if let Some(rts) = &l.compatible_runtimes {
        let p = ["layers", key, "compatibleRuntimes"];
        if rts.len() > 15 {
            c.error(
                &p,
                format!("lists {} runtimes; Lambda takes at most 15", rts.len()),
            );
        }
        // Deprecated runtimes may be listed: only unknown ones are refused.
        for (i, rt) in rts.iter().enumerate() {
            if super::runtime::Lifecycle::find(rt).is_none() {
                let idx = i.to_string();
                unknown_runtime(c, &["layers", key, "compatibleRuntimes", &idx], rt);
            }
        }
    }
    for (i, acct) in l.allowed_accounts.iter().flatten().enumerate() {
        let ok = acct == "*" || (acct.len() == 12 && acct.chars().all(|ch| ch.is_ascii_digit()));
        if !ok {
            let idx = i.to_string();
            c.error(
                &["layers", key, "allowedAccounts", &idx],
                format!("`{acct}` is not an AWS account id"),
            )
            .help = Some("list 12-digit account ids, or `*` for every account".into());
        }
    }
    if let Some(p) = &l.package {
        package_section(c, &["layers", key, "package"], p, false);
    }
}

/// A function's (or the provider's) `layers`: version ARNs, or `Ref`s to `layers:`.
fn layer_uses(
    c: &mut Checker,
    path: &[&str],
    list: &[String],
    ours: Option<&indexmap::IndexMap<String, super::model::Layer>>,
) {
    if list.len() > 5 {
        c.error(
            path,
            format!("lists {} layers; Lambda takes at most 5", list.len()),
        );
    }
    for (i, l) in list.iter().enumerate() {
        let idx = i.to_string();
        let mut at = path.to_vec();
        at.push(&idx);
        if let Some(key) = l.strip_prefix(super::model::LAYER_REF) {
            if !ours.is_some_and(|o| o.contains_key(key)) {
                c.error(&at, format!("layer `{key}` is not in `layers:`"));
            }
            continue;
        }
        let parts: Vec<&str> = l.split(':').collect();
        let versioned = parts.len() == 8
            && parts[0] == "arn"
            && parts[2] == "lambda"
            && parts[5] == "layer"
            && parts[7].parse::<u64>().is_ok();
        if !versioned {
            c.error(&at, format!("`{l}` is not a layer version ARN")).help = Some(
                "write `arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`, or `{Ref: NameLambdaLayer}` for a layer of `layers:`"
                    .into(),
            );
        }
    }
}

/// `package` at service or function level: pattern syntax, the v2 forms, and function patterns
/// that Serverless would ignore because the function is not packaged on its own.
fn package_section(
    c: &mut Checker,
    path: &[&str],
    p: &super::model::Package,
    service_individually: bool,
) {
    let with = |key: &'static str| {
        let mut full = path.to_vec();
        full.push(key);
        full
    };
    for (key, list) in [
        ("patterns", &p.patterns),
        ("include", &p.include),
        ("exclude", &p.exclude),
    ] {
        for (i, pat) in list.iter().flatten().enumerate() {
            if let Err(e) = crate::package::patterns::check(pat) {
                let idx = i.to_string();
                let mut at = path.to_vec();
                at.extend([key, idx.as_str()]);
                c.error(&at, e.to_string()).help = Some(
                    "patterns are globs relative to the service directory, e.g. `src/**` or `!tests/**`"
                        .into(),
                );
            }
        }
    }
    for (key, v) in [("include", &p.include), ("exclude", &p.exclude)] {
        if v.is_some() {
            c.warn_key(
                &with(key),
                format!("`package.{key}` is the deprecated Serverless v2 form of `patterns`"),
            )
            .help = Some(format!(
                "it still works; move its entries to `patterns` ({})",
                if key == "exclude" {
                    "excluded entries are written `!pattern`"
                } else {
                    "as they are"
                }
            ));
        }
    }
    let is_function = path.first() == Some(&"functions");
    if is_function
        && p.patterns.is_some()
        && p.individually != Some(true)
        && !service_individually
        && p.artifact.is_none()
    {
        c.warn_key(
            &with("patterns"),
            "function-level `package.patterns` apply only when the function is packaged on its own, so they are ignored",
        )
        .help = Some(
            "set `package.individually: true` for this function or for the service".into(),
        );
    }
}

/// A runtime Lambda does not know: refused with a did-you-mean and the supported ones.
fn unknown_runtime(c: &mut Checker, path: &[&str], rt: &str) {
    use super::runtime::Stage;
    let mut msg = format!("unknown runtime `{rt}`");
    let supported = super::runtime::LIFECYCLES.iter().map(|l| l.id);
    if let Some(s) = did_you_mean(rt, supported) {
        msg.push_str(&format!(" (did you mean `{s}`?)"));
    }
    let today = super::runtime::today();
    let current: Vec<&str> = super::runtime::LIFECYCLES
        .iter()
        .filter(|l| l.stage(&today) == Stage::Supported)
        .map(|l| l.id)
        .collect();
    c.error(path, msg).help = Some(format!("supported runtimes: {}", current.join(", ")));
}

/// A runtime Lambda knows, with a warning once AWS has deprecated it (with its dates, so that a
/// deploy says before any call that Lambda will refuse to create or update the function). Old
/// runtimes are warned, not refused: `print` and `package` work on any service Serverless reads.
fn runtime(c: &mut Checker, path: &[&str], rt: &str) {
    use super::runtime::{Lifecycle, Stage};
    let Some(life) = Lifecycle::find(rt) else {
        unknown_runtime(c, path, rt);
        return;
    };
    let today = super::runtime::today();
    let date = |d: Option<&str>| d.unwrap_or("a date AWS has not published").to_string();
    let msg = match life.stage(&today) {
        Stage::Supported => return,
        Stage::Deprecated => format!(
            "runtime `{rt}` is deprecated by AWS Lambda since {}; Lambda stops creating functions with it on {} and updating them on {}",
            date(life.deprecated),
            date(life.create_blocked),
            date(life.update_blocked)
        ),
        Stage::CreateBlocked => format!(
            "runtime `{rt}` is deprecated by AWS Lambda: it creates no new functions with it since {}, and stops updating them on {}",
            date(life.create_blocked),
            date(life.update_blocked)
        ),
        Stage::UpdateBlocked => format!(
            "runtime `{rt}` is deprecated by AWS Lambda: it neither creates nor updates functions with it since {} (they still run)",
            date(life.update_blocked)
        ),
    };
    let help = match life.successor(&today) {
        Some(next) => format!(
            "move to `{next}`; a deploy that creates or changes a function on `{rt}` is refused by AWS once those dates have passed"
        ),
        None => "move to a supported runtime".to_string(),
    };
    let span = c.span(path);
    c.out.push(Problem::warning(msg, span).help(help));
}

fn function(
    c: &mut Checker,
    config: &Config,
    name: &str,
    f: &Function,
    routes: &mut HashMap<String, (String, Option<Span>)>,
) {
    if let Some(m) = &f.module {
        let path = ["functions", name, "module"];
        let m = m.trim_end_matches('/');
        if m.starts_with('/') || m.split('/').any(|part| part == "..") {
            c.error(
                &path,
                format!("`{m}` is not a directory inside the service"),
            );
        } else if super::model::module_of(config, f).is_none() && !m.is_empty() && m != "." {
            // As serverless-python-requirements: a module means something only for a Python
            // function packaged on its own.
            c.out.push(Problem::new(
                crate::diag::Severity::Note,
                format!("`module` of `{name}` has no effect: as with serverless-python-requirements, it applies to Python functions packaged individually (`package.individually: true`)"),
                c.key_span(&path),
            ));
        }
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        let span = c.key_span(&["functions", name]);
        c.out.push(
            Problem::error(format!("function name `{name}` is not valid"), span)
                .help("use only letters, digits, `-` and `_` (it becomes part of the Lambda function name)"),
        );
    }
    if f.image.is_some() {
        let p = c.error(
            &["functions", name, "image"],
            format!("function `{name}` uses a container image, which sls does not deploy"),
        );
        p.help = Some("give it a `handler` and a `runtime` instead".into());
        p.deploy_only = true;
        return;
    }
    let rt = super::runtime::of(config, f);
    if let Some(own) = &f.runtime {
        runtime(c, &["functions", name, "runtime"], own);
    }
    match &f.handler {
        None => {
            c.error_key(&["functions", name], format!("function `{name}` has no `handler`"))
                .help = Some("add one, for example `handler: src/handler.main` (file src/handler.js, export main)".into());
        }
        Some(h) => {
            if let Err(why) = handler_syntax(h, rt) {
                c.error(
                    &["functions", name, "handler"],
                    format!("handler `{h}` is not valid for runtime {rt}: {why}"),
                )
                .help = Some(handler_help(rt).into());
            }
        }
    }
    let mut env_size = 0;
    for env in [config.provider.environment.as_ref(), f.environment.as_ref()]
        .into_iter()
        .flatten()
    {
        env_size += env.iter().map(|(k, v)| k.len() + v.0.len()).sum::<usize>();
    }
    if let Some(env) = &f.environment {
        env_names(c, &["functions", name, "environment"], env);
    }
    if env_size > ENV_LIMIT_BYTES {
        c.error_key(&["functions", name, "environment"], format!(
            "the environment of function `{name}` is {env_size} bytes; Lambda allows {ENV_LIMIT_BYTES} in total (provider and function together)"
        ))
        .help = Some("move large values to SSM Parameter Store or a file in the package".into());
    }
    if let Some(p) = &f.package {
        let individually = config
            .package
            .as_ref()
            .is_some_and(|sp| sp.individually == Some(true));
        package_section(c, &["functions", name, "package"], p, individually);
    }
    if let Some(target) = &f.on_error
        && !matches!(arn_service(target), Some("sns" | "sqs"))
    {
        c.error(
            &["functions", name, "onError"],
            format!("onError must be the ARN of an SNS topic or an SQS queue, got `{target}`"),
        )
        .help = Some("e.g. arn:aws:sqs:us-east-1:123456789012:failed-events".into());
    }
    for (key, target) in f
        .destinations
        .iter()
        .flat_map(|d| [("onSuccess", &d.on_success), ("onFailure", &d.on_failure)])
    {
        let Some(target) = target else { continue };
        let known = config
            .functions
            .as_ref()
            .is_some_and(|fs| fs.contains_key(target.as_str()));
        if !known
            && !matches!(
                arn_service(target),
                Some("sns" | "sqs" | "lambda" | "events")
            )
        {
            c.error(
                &["functions", name, "destinations", key],
                format!("destination `{target}` is neither a function of this service nor the ARN of an SNS topic, SQS queue, Lambda function or EventBridge bus"),
            );
        }
    }
    if let Some(role) = &f.role {
        role_arn(c, &["functions", name, "role"], role);
    }
    if let Some(st) = &f.iam_role_statements {
        statements(c, &["functions", name, "iamRoleStatements"], st);
    }
    if let Some(st) = f
        .iam
        .as_ref()
        .and_then(|i| i.role.as_ref())
        .and_then(|r| r.statements.as_ref())
    {
        statements(c, &["functions", name, "iam", "role", "statements"], st);
    }
    if f.role.is_some() && f.asks_own_role() {
        c.error(
            &["functions", name, "role"],
            format!("function `{name}` names an existing role and asks for a role of its own"),
        )
        .help = Some("keep `role` (and give that role the permissions) or the function's statements, not both".into());
    }
    if let Some(v) = &f.tracing {
        tracing_value(c, &["functions", name, "tracing"], v);
    }
    if let Some(l) = &f.logs {
        let provider_format = config
            .provider
            .logs
            .as_ref()
            .and_then(|p| p.lambda.as_ref())
            .and_then(|l| l.log_format.as_deref());
        lambda_logs(c, &["functions", name, "logs"], l, provider_format);
    }
    if let Some(v) = &f.vpc {
        vpc(c, &["functions", name, "vpc"], v);
    }
    if let Some(u) = &f.url {
        if let Some(a) = u.authorizer.as_deref().filter(|a| *a != "aws_iam") {
            c.error(
                &["functions", name, "url", "authorizer"],
                format!("a function URL's authorizer is `aws_iam` or nothing, got `{a}`"),
            );
        }
        if let Some(m) = u
            .invoke_mode
            .as_deref()
            .filter(|m| !matches!(*m, "BUFFERED" | "RESPONSE_STREAM"))
        {
            c.error(
                &["functions", name, "url", "invokeMode"],
                format!("invokeMode is BUFFERED or RESPONSE_STREAM, got `{m}`"),
            );
        }
    }
    let timeout = f.timeout.or(config.provider.timeout).map_or(6, |t| t.0);
    for (i, ev) in f.events.iter().flatten().enumerate() {
        let idx = i.to_string();
        let base = ["functions", name, "events", idx.as_str()];
        event(c, name, &base, ev, timeout, routes);
    }
}

fn env_names(c: &mut Checker, path: &[&str], env: &super::model::Environment) {
    for key in env.keys() {
        let mut full = path.to_vec();
        full.push(key);
        let valid = key
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphabetic())
            && key
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if RESERVED_ENV.contains(&key.as_str()) {
            let span = c.key_span(&full);
            c.out.push(
                Problem::error(
                    format!("environment variable `{key}` is reserved by Lambda"),
                    span,
                )
                .help("Lambda sets it for every function; choose another name"),
            );
        } else if !valid {
            let span = c.key_span(&full);
            c.out.push(
                Problem::error(
                    format!("environment variable name `{key}` is not valid"),
                    span,
                )
                .help("start with a letter and use only letters, digits and `_`"),
            );
        }
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

const LOG_FORMATS: &[&str] = &["Text", "JSON"];
const APPLICATION_LOG_LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
const SYSTEM_LOG_LEVELS: &[&str] = &["DEBUG", "INFO", "WARN"];

/// Lambda's logging configuration: known values, levels only with JSON (Lambda refuses them on
/// text logs), and a log group name Logs accepts. `inherited_format` is the provider's, which a
/// function's own `logs` falls back to.
fn lambda_logs(
    c: &mut Checker,
    path: &[&str],
    l: &super::model::LambdaLogs,
    inherited_format: Option<&str>,
) {
    let at = |key: &'static str| {
        let mut p = path.to_vec();
        p.push(key);
        p
    };
    let one_of = |c: &mut Checker, key: &'static str, v: &Option<String>, allowed: &[&str]| {
        if let Some(v) = v
            && !allowed.contains(&v.as_str())
        {
            let mut msg = format!("`{key}` must be one of {}, got `{v}`", allowed.join(", "));
            if let Some(s) = did_you_mean(v, allowed.iter().copied()) {
                msg.push_str(&format!(" (did you mean `{s}`?)"));
            }
            c.error(&at(key), msg);
        }
    };
    one_of(c, "logFormat", &l.log_format, LOG_FORMATS);
    one_of(
        c,
        "applicationLogLevel",
        &l.application_log_level,
        APPLICATION_LOG_LEVELS,
    );
    one_of(c, "systemLogLevel", &l.system_log_level, SYSTEM_LOG_LEVELS);
    let format = l
        .log_format
        .as_deref()
        .or(inherited_format)
        .unwrap_or("Text");
    for (key, set) in [
        ("applicationLogLevel", l.application_log_level.is_some()),
        ("systemLogLevel", l.system_log_level.is_some()),
    ] {
        if set && format != "JSON" {
            c.error(&at(key), format!("`{key}` applies only to JSON logs"))
                .help = Some("set `logFormat: JSON` beside it, or remove the level".into());
        }
    }
    if let Some(g) = &l.log_group {
        let ok = !g.is_empty()
            && g.len() <= 512
            && g.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "._-/#".contains(ch));
        if !ok {
            c.error(&at("logGroup"), format!("`{g}` is not a log group name"))
                .help =
                Some("1–512 letters, digits and `. _ - / #`, e.g. /aws/lambda/shared".into());
        }
    }
    if let Some(class) = &l.log_group_class
        && !class.eq_ignore_ascii_case("standard")
    {
        refuse(
            c,
            &at("logGroupClass"),
            "log group classes other than standard",
        );
    }
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

/// Checks the handler's form for the runtime's family.
pub fn handler_syntax(h: &str, runtime: &str) -> Result<(), &'static str> {
    if h.trim() != h || h.is_empty() || h.contains(char::is_whitespace) {
        return Err("it must not be empty or contain spaces");
    }
    let family = Family::of(runtime);
    if family == Family::Provided {
        return Ok(());
    }
    if matches!(family, Family::Java | Family::Dotnet) {
        return if h.contains("..") {
            Err("it contains `..`")
        } else {
            Ok(())
        };
    }
    if h.starts_with('/') || h.contains('\\') {
        return Err("the file part must be a relative path with `/` separators");
    }
    let Some((file, func)) = h.rsplit_once('.') else {
        return Err("expected `path/file.function`");
    };
    if file.is_empty() || file.ends_with('/') {
        return Err("the file part before the last `.` is empty");
    }
    if file.split('/').any(|seg| seg == ".." || seg.is_empty()) {
        return Err("the file part must stay inside the service directory");
    }
    let ident = func
        .chars()
        .next()
        .is_some_and(|ch| ch.is_alphabetic() || ch == '_' || ch == '$')
        && func
            .chars()
            .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '$');
    if !ident {
        return Err("the part after the last `.` must be the exported function's name");
    }
    Ok(())
}

fn handler_help(rt: &str) -> &'static str {
    match Family::of(rt) {
        Family::Python => {
            "write `path/module.function`, e.g. `src/app.handler` for def handler() in src/app.py"
        }
        Family::Ruby => "write `path/file.method`, e.g. `handler.call` for def call in handler.rb",
        Family::Node | Family::Java | Family::Dotnet | Family::Provided | Family::Other => {
            "write `path/file.export`, e.g. `src/handler.main` for export main in src/handler.js"
        }
    }
}

fn event(
    c: &mut Checker,
    func: &str,
    base: &[&str],
    ev: &Event,
    timeout: u32,
    routes: &mut HashMap<String, (String, Option<Span>)>,
) {
    let at = |k: &str, f: &str| -> Vec<String> {
        let mut v: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        v.push(k.into());
        if !f.is_empty() {
            v.push(f.into());
        }
        v
    };
    match ev {
        Event::HttpApi(e) => {
            let m = e.method.to_ascii_uppercase();
            let mp = at("httpApi", "method");
            if !HTTP_API_METHODS.contains(&m.as_str()) {
                c.error(&refs(&mp), format!("unknown HTTP method `{}`", e.method))
                    .help = Some(format!("use one of {}", HTTP_API_METHODS.join(", ")));
            }
            let pp = at("httpApi", "path");
            if !(e.path == "*" && m == "*") {
                if let Err(why) = route_path(&e.path, true) {
                    c.error(
                        &refs(&pp),
                        format!("route path `{}` is not valid: {why}", e.path),
                    );
                }
            }
            let key = super::model::http_api_route_key(&e.method, &e.path);
            duplicate_route(c, "httpApi", key, func, &refs(&pp), routes);
            if e.authorizer.is_some() {
                refuse(
                    c,
                    &refs(&at("httpApi", "authorizer")),
                    "authorizers on HTTP API routes",
                );
            }
            if timeout > 30 {
                c.warn_key(&refs(&at("httpApi", "")), format!(
                    "function `{func}` has a {timeout} s timeout, but HTTP API requests time out after 30 s"
                ));
            }
        }
        Event::Http(e) => {
            let m = e.method.to_ascii_uppercase();
            let mp = at("http", "method");
            if !REST_METHODS.contains(&m.as_str()) {
                c.error(&refs(&mp), format!("unknown HTTP method `{}`", e.method))
                    .help = Some(format!("use one of {}", REST_METHODS.join(", ")));
            }
            let pp = at("http", "path");
            let path = format!("/{}", e.path.trim_start_matches('/'));
            if let Err(why) = route_path(&path, false) {
                c.error(
                    &refs(&pp),
                    format!("route path `{}` is not valid: {why}", e.path),
                );
            }
            duplicate_route(c, "http", format!("{m} {path}"), func, &refs(&pp), routes);
            for (key, set) in [
                ("private", e.private == Some(true)),
                ("authorizer", e.authorizer.is_some()),
                ("request", e.request.is_some()),
                ("async", e.is_async == Some(true)),
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
                        &refs(&at("http", key)),
                        &format!("`{key}` on REST routes"),
                    );
                }
            }
            if timeout > 29 {
                c.warn_key(&refs(&at("http", "")), format!(
                    "function `{func}` has a {timeout} s timeout, but REST API requests time out after 29 s"
                ));
            }
        }
        Event::Schedule(e) => {
            let prefix = format!("{}-{}-", c.service, c.stage);
            let scheduler = e.method.as_deref() == Some("scheduler");
            if let Some(name) = &e.name
                && scheduler
            {
                // In the service's own schedule group: no prefix needed.
                let ok = (1..=64).contains(&name.len())
                    && name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
                if !ok {
                    c.error(
                        &refs(&at("schedule", "name")),
                        format!("`{name}` is not a schedule name"),
                    )
                    .help = Some("1–64 letters, digits, `-`, `_` and `.`".into());
                }
            } else if let Some(name) = &e.name
                && (!name.starts_with(&prefix) || name.len() > 64)
            {
                c.error(
                    &refs(&at("schedule", "name")),
                    format!("rule name `{name}` must start with `{prefix}` and be at most 64 characters"),
                )
                .help = Some("one permission on the function covers every rule named with the service's prefix (a statement per rule overflows Lambda's 20 KB policy at about 30 schedules); leave `name` out for `{service}-{stage}-{function}-schedule-{n}`".into());
            }
            if let Some(m) = e.method.as_deref()
                && m != "eventBus"
                && m != "scheduler"
            {
                c.error(
                    &refs(&at("schedule", "method")),
                    format!("method is `eventBus` (an EventBridge rule, the default) or `scheduler` (EventBridge Scheduler), got `{m}`"),
                );
            }
            if let Some(tz) = &e.timezone {
                let ok = !tz.is_empty()
                    && tz
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "_-/+".contains(ch));
                if !scheduler {
                    c.error(
                        &refs(&at("schedule", "timezone")),
                        "a time zone needs `method: scheduler` (EventBridge rules run in UTC)",
                    );
                } else if !ok {
                    c.error(
                        &refs(&at("schedule", "timezone")),
                        format!("`{tz}` is not a time zone name"),
                    )
                    .help = Some("an IANA name such as Europe/Paris or America/New_York".into());
                }
            }
            if scheduler {
                for key in ["inputPath", "inputTransformer"] {
                    let set = match key {
                        "inputPath" => e.input_path.is_some(),
                        _ => e.input_transformer.is_some(),
                    };
                    if set {
                        c.error(
                            &refs(&at("schedule", key)),
                            format!("`{key}` is for EventBridge rules; EventBridge Scheduler sends `input` only"),
                        );
                    }
                }
            }
            if e.rate.is_empty() {
                c.error(
                    &refs(&at("schedule", "rate")),
                    "a schedule needs at least one rate or cron expression",
                );
            }
            for (i, r) in e.rate.iter().enumerate() {
                if let Err(why) = schedule_expression(r) {
                    let mut p = at("schedule", "rate");
                    p.push(i.to_string());
                    c.error(&refs(&p), format!("schedule `{r}` is not valid: {why}")).help =
                        Some("write `rate(5 minutes)`, `rate(1 hour)` or `cron(0 12 * * ? *)` (six fields)".into());
                }
            }
        }
        Event::Sqs(e) => {
            arn(c, &refs(&at("sqs", "arn")), &e.arn, &["sqs"]);
            let fifo = e.arn.ends_with(".fifo");
            let most = if fifo { 10 } else { 10_000 };
            let window = e.maximum_batching_window.unwrap_or(0);
            let checks = [
                (
                    "batchSize",
                    e.batch_size.is_some_and(|n| n < 1 || n > most),
                    format!("batchSize is 1–{most} for this queue"),
                ),
                (
                    "batchSize",
                    e.batch_size.is_some_and(|n| n > 10) && window == 0,
                    "a batchSize over 10 needs `maximumBatchingWindow` of at least 1 second (Lambda refuses it otherwise)".into(),
                ),
                (
                    "maximumBatchingWindow",
                    window > 300,
                    "maximumBatchingWindow is 0–300 seconds".into(),
                ),
                (
                    "maximumConcurrency",
                    e.maximum_concurrency.is_some_and(|n| !(2..=1000).contains(&n)),
                    "maximumConcurrency is 2–1000".into(),
                ),
            ];
            for (key, bad, msg) in checks {
                if bad {
                    c.error(&refs(&at("sqs", key)), msg);
                }
            }
            response_type(
                c,
                &refs(&at("sqs", "functionResponseType")),
                &e.function_response_type,
            );
            filter_patterns(c, &refs(&at("sqs", "filterPatterns")), &e.filter_patterns);
        }
        Event::Alb(e) => {
            let key = |k: &str| at("alb", k);
            let ok = e.listener_arn.starts_with("arn:")
                && e.listener_arn.split(':').nth(2) == Some("elasticloadbalancing")
                && e.listener_arn.contains(":listener/app/");
            if !ok {
                c.error(
                    &refs(&key("listenerArn")),
                    format!("`{}` is not an Application Load Balancer listener ARN", e.listener_arn),
                )
                .help = Some("arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/LB-ID/LISTENER-ID".into());
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
                            .is_some_and(|a| {
                                !a.is_empty() && a.iter().all(serde_json::Value::is_string)
                            })
                };
                let ok = match h {
                    serde_json::Value::Array(items) => !items.is_empty() && items.iter().all(one),
                    other => one(other),
                };
                if !ok {
                    let mut p = at("alb", "conditions");
                    p.push("header".into());
                    c.error(&refs(&p), "a header condition is `{name: X-Name, values: [a, b]}` (or a list of them)");
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
            duplicate_route(
                c,
                "alb",
                format!("{} priority {}", e.listener_arn, e.priority),
                func,
                &refs(&key("priority")),
                routes,
            );
        }
        Event::Msk(e) => {
            let key = |k: &str| at("msk", k);
            arn(c, &refs(&key("arn")), &e.arn, &["kafka"]);
            if e.topic.trim().is_empty() {
                c.error(
                    &refs(&key("topic")),
                    "an msk event needs the `topic` to read",
                );
            }
            broker_batching(c, &key, e.batch_size, e.maximum_batching_window);
            kafka_reading(
                c,
                &key,
                &e.starting_position,
                e.starting_position_timestamp,
                &e.consumer_group_id,
            );
            if let Some(s) = &e.sasl_scram512 {
                arn(c, &refs(&key("saslScram512")), s, &["secretsmanager"]);
            }
            filter_patterns(c, &refs(&key("filterPatterns")), &e.filter_patterns);
        }
        Event::Kafka(e) => {
            let key = |k: &str| at("kafka", k);
            if e.bootstrap_servers.is_empty() {
                c.error(
                    &refs(&key("bootstrapServers")),
                    "a kafka event needs its `bootstrapServers` (host:port)",
                );
            }
            for (i, s) in e.bootstrap_servers.iter().enumerate() {
                let ok = s
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
                if !ok {
                    let mut p = key("bootstrapServers");
                    p.push(i.to_string());
                    c.error(&refs(&p), format!("`{s}` is not host:port"));
                }
            }
            if e.topic.trim().is_empty() {
                c.error(
                    &refs(&key("topic")),
                    "a kafka event needs the `topic` to read",
                );
            }
            for (name, values) in &e.access_configurations {
                let mut p = key("accessConfigurations");
                p.push(name.clone());
                match name.as_str() {
                    "saslPlainAuth"
                    | "saslScram256Auth"
                    | "saslScram512Auth"
                    | "clientCertificateTlsAuth"
                    | "serverRootCaCertificate" => {
                        for v in values {
                            arn(c, &refs(&p), v, &["secretsmanager"]);
                        }
                    }
                    "vpcSubnet" | "vpcSecurityGroup" => {
                        let prefix = if name == "vpcSubnet" {
                            "subnet-"
                        } else {
                            "sg-"
                        };
                        if let Some(v) = values.iter().find(|v| !v.starts_with(prefix)) {
                            c.error(&refs(&p), format!("`{v}` is not a {prefix}… id"));
                        }
                    }
                    other => {
                        c.error(&refs(&p), format!("`{other}` is not an access configuration"))
                            .help = Some("saslPlainAuth, saslScram256Auth, saslScram512Auth, clientCertificateTlsAuth, serverRootCaCertificate, vpcSubnet, vpcSecurityGroup".into());
                    }
                }
            }
            let has = |k: &str| e.access_configurations.contains_key(k);
            if has("vpcSubnet") != has("vpcSecurityGroup") {
                c.error(
                    &refs(&key("accessConfigurations")),
                    "a cluster in a VPC needs both `vpcSubnet` and `vpcSecurityGroup`",
                );
            }
            broker_batching(c, &key, e.batch_size, e.maximum_batching_window);
            kafka_reading(
                c,
                &key,
                &e.starting_position,
                e.starting_position_timestamp,
                &e.consumer_group_id,
            );
            filter_patterns(c, &refs(&key("filterPatterns")), &e.filter_patterns);
        }
        Event::Activemq(e) | Event::Rabbitmq(e) => {
            let kind = ev.kind();
            let key = |k: &str| at(kind, k);
            arn(c, &refs(&key("arn")), &e.arn, &["mq"]);
            if e.queue.trim().is_empty() {
                c.error(
                    &refs(&key("queue")),
                    format!("an {kind} event needs the `queue` to read"),
                );
            }
            arn(
                c,
                &refs(&key("basicAuthArn")),
                &e.basic_auth_arn,
                &["secretsmanager"],
            );
            if kind == "activemq" && e.virtual_host.is_some() {
                c.error(
                    &refs(&key("virtualHost")),
                    "`virtualHost` is for RabbitMQ brokers (a `rabbitmq` event)",
                );
            }
            broker_batching(c, &key, e.batch_size, e.maximum_batching_window);
            filter_patterns(c, &refs(&key("filterPatterns")), &e.filter_patterns);
        }
        Event::Stream(e) => {
            arn(
                c,
                &refs(&at("stream", "arn")),
                &e.arn,
                &["dynamodb", "kinesis"],
            );
            stream_event(c, &|k: &str| at("stream", k), e);
        }
        Event::AlexaSkill(e) | Event::AlexaSmartHome(e) => {
            let kind = ev.kind();
            match &e.app_id {
                Some(id) if !id.starts_with("amzn1.") => {
                    c.error(
                        &refs(&at(kind, "appId")),
                        format!("`{id}` is not an Alexa skill id (amzn1.ask.skill.…)"),
                    );
                }
                None if kind == "alexaSmartHome" => {
                    c.error(
                        &refs(&at(kind, "")),
                        "an alexaSmartHome event needs the skill's `appId`",
                    );
                }
                _ => {}
            }
        }
        Event::CognitoUserPool(e) => {
            let key = |k: &str| at("cognitoUserPool", k);
            if !COGNITO_TRIGGERS.contains(&e.trigger.as_str()) {
                c.error(
                    &refs(&key("trigger")),
                    format!("`{}` is not a Cognito user pool trigger", e.trigger),
                )
                .help = Some(format!("use one of {}", COGNITO_TRIGGERS.join(", ")));
            }
            let ok = (1..=128).contains(&e.pool.len())
                && e.pool
                    .chars()
                    .all(|ch| ch.is_alphanumeric() || " _+=,.@-".contains(ch));
            if !ok {
                c.error(
                    &refs(&key("pool")),
                    format!("`{}` is not a user pool name", e.pool),
                )
                .help = Some("1–128 letters, digits, spaces and `_+=,.@-`".into());
            }
            if e.force_deploy.is_some() {
                c.warn_key(
                    &refs(&key("forceDeploy")),
                    "`forceDeploy` concerns Serverless' CloudFormation custom resource; sls compares the triggers on every deploy, so it changes nothing",
                );
            }
        }
        Event::Websocket(e) => {
            let rp = at("websocket", "route");
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
            duplicate_route(c, "websocket", r.to_string(), func, &refs(&rp), routes);
            if let Some(x) = &e.route_response_selection_expression
                && x != "$default"
            {
                c.error(
                    &refs(&at("websocket", "routeResponseSelectionExpression")),
                    format!("routeResponseSelectionExpression is `$default`, got `{x}`"),
                )
                .help = Some("API Gateway supports only `$default`: the handler's return value goes back to the client".into());
            }
            if e.authorizer.is_some() {
                refuse(
                    c,
                    &refs(&at("websocket", "authorizer")),
                    "authorizers on WebSocket routes",
                );
            }
        }
        Event::CloudwatchLog(e) => {
            let g = &e.log_group;
            let ok = !g.is_empty()
                && g.len() <= 512
                && g.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "._-/#".contains(ch));
            if !ok {
                c.error(
                    &refs(&at("cloudwatchLog", "logGroup")),
                    format!("`{g}` is not a log group name"),
                );
            }
        }
        Event::CloudwatchEvent(e) => {
            let key = |k: &str| at("cloudwatchEvent", k);
            if !e.event.as_ref().is_some_and(|p| p.is_object()) {
                c.error(
                    &refs(&at("cloudwatchEvent", "")),
                    "a cloudwatchEvent needs `event`, the event pattern (a mapping such as `{source: [aws.ec2]}`)",
                );
            }
            let prefix = format!("{}-{}-", c.service, c.stage);
            if let Some(name) = &e.name
                && (!name.starts_with(&prefix) || name.len() > 64)
            {
                c.error(
                    &refs(&key("name")),
                    format!(
                        "rule name `{name}` must start with `{prefix}` and be at most 64 characters"
                    ),
                );
            }
            let inputs = [
                e.input.is_some(),
                e.input_path.is_some(),
                e.input_transformer.is_some(),
            ];
            if inputs.iter().filter(|b| **b).count() > 1 {
                c.error(
                    &refs(&at("cloudwatchEvent", "")),
                    "give at most one of `input`, `inputPath` and `inputTransformer`",
                );
            }
        }
        Event::EventBridge(e) => {
            let key = |k: &str| at("eventBridge", k);
            match (&e.pattern, &e.schedule) {
                (None, None) => {
                    c.error(
                        &refs(&at("eventBridge", "")),
                        "an eventBridge event needs a `pattern` or a `schedule`",
                    );
                }
                (Some(p), _) if !p.is_object() => {
                    c.error(
                        &refs(&key("pattern")),
                        "`pattern` is a mapping, e.g. `{source: [my.app]}`",
                    );
                }
                _ => {}
            }
            if let Some(r) = &e.schedule
                && let Err(why) = schedule_expression(r)
            {
                c.error(
                    &refs(&key("schedule")),
                    format!("schedule `{r}` is not valid: {why}"),
                );
            }
            let prefix = format!("{}-{}-", c.service, c.stage);
            if let Some(name) = &e.name
                && (!name.starts_with(&prefix) || name.len() > 64)
            {
                c.error(
                    &refs(&key("name")),
                    format!("rule name `{name}` must start with `{prefix}` and be at most 64 characters"),
                )
                .help = Some("one permission on the function covers every rule named with the service's prefix; leave `name` out for `{service}-{stage}-{function}-rule-{n}`".into());
            }
            if let Some(bus) = &e.event_bus
                && bus.starts_with("arn:")
                && arn_service(bus) != Some("events")
            {
                c.error(
                    &refs(&key("eventBus")),
                    format!("`{bus}` is not an EventBridge bus ARN"),
                );
            }
            if let Some(r) = &e.retry_policy {
                if r.maximum_event_age
                    .is_some_and(|n| !(60..=86_400).contains(&n))
                {
                    c.error(
                        &refs(&[key("retryPolicy"), vec!["maximumEventAge".into()]].concat()),
                        "maximumEventAge is 60–86400 seconds",
                    );
                }
                if r.maximum_retry_attempts.is_some_and(|n| n > 185) {
                    c.error(
                        &refs(&[key("retryPolicy"), vec!["maximumRetryAttempts".into()]].concat()),
                        "maximumRetryAttempts is 0–185",
                    );
                }
            }
            if let Some(q) = &e.dead_letter_queue_arn
                && arn_service(q) != Some("sqs")
            {
                c.error(
                    &refs(&key("deadLetterQueueArn")),
                    format!("`{q}` is not an SQS queue ARN"),
                );
            }
            let inputs = [
                e.input.is_some(),
                e.input_path.is_some(),
                e.input_transformer.is_some(),
            ];
            if inputs.iter().filter(|b| **b).count() > 1 {
                c.error(
                    &refs(&at("eventBridge", "")),
                    "give at most one of `input`, `inputPath` and `inputTransformer`",
                );
            }
        }
        Event::Sns(e) => {
            let key = |k: &str| at("sns", k);
            let name = e.topic_name.clone().or_else(|| {
                e.arn
                    .as_deref()
                    .map(|a| a.rsplit(':').next().unwrap_or(a).to_string())
            });
            if let Some(n) = &name {
                let ok = !n.is_empty()
                    && n.len() <= 256
                    && n.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
                if n.ends_with(".fifo") {
                    c.error(
                        &refs(&at("sns", "")),
                        "Lambda cannot subscribe to a FIFO topic",
                    )
                    .help = Some(
                        "subscribe an SQS FIFO queue to the topic and use an `sqs` event".into(),
                    );
                } else if !ok {
                    c.error(
                        &refs(&at("sns", "")),
                        format!("`{n}` is not an SNS topic name (1–256 letters, digits, `-`, `_`)"),
                    );
                }
            }
            if e.filter_policy.as_ref().is_some_and(|p| !p.is_object()) {
                c.error(
                    &refs(&key("filterPolicy")),
                    "filterPolicy is a mapping, e.g. `{kind: [order]}`",
                );
            }
            if let Some(scope) = &e.filter_policy_scope
                && scope != "MessageAttributes"
                && scope != "MessageBody"
            {
                c.error(
                    &refs(&key("filterPolicyScope")),
                    format!("filterPolicyScope is MessageAttributes or MessageBody, got `{scope}`"),
                );
            }
            if let Some(r) = &e.redrive_policy {
                let target = r.get("deadLetterTargetArn").and_then(|v| v.as_str());
                if r.get("deadLetterTargetRef").is_some()
                    || r.get("deadLetterTargetImport").is_some()
                {
                    refuse(
                        c,
                        &refs(&key("redrivePolicy")),
                        "dead-letter targets given as CloudFormation references",
                    );
                } else if target.is_none_or(|t| arn_service(t) != Some("sqs")) {
                    c.error(
                        &refs(&key("redrivePolicy")),
                        "redrivePolicy needs `deadLetterTargetArn`, an SQS queue ARN",
                    );
                }
            }
            if e.arn.is_none() && e.topic_name.is_none() {
                c.error(
                    &refs(&at("sns", "")),
                    "an sns event needs `arn` or `topicName`",
                );
            }
            if let Some(a) = &e.arn {
                arn(c, &refs(&at("sns", "arn")), a, &["sns"]);
            }
        }
        Event::S3(e) => {
            if let Some(ev) = &e.event
                && !ev.starts_with("s3:")
            {
                c.error(
                    &refs(&at("s3", "event")),
                    format!("`{ev}` is not an S3 event type"),
                )
                .help = Some(
                    "e.g. s3:ObjectCreated:*, s3:ObjectCreated:Put, s3:ObjectRemoved:*".into(),
                );
            }
            for (i, r) in e.rules.iter().flatten().enumerate() {
                let ok = r.as_object().is_some_and(|m| {
                    m.len() == 1
                        && m.iter()
                            .all(|(k, v)| (k == "prefix" || k == "suffix") && v.is_string())
                });
                if !ok {
                    let mut p = at("s3", "rules");
                    p.push(i.to_string());
                    c.error(&refs(&p), "each rule is `prefix: …` or `suffix: …`");
                }
            }
            if e.force_deploy.is_some() {
                c.warn_key(
                    &refs(&at("s3", "forceDeploy")),
                    "`forceDeploy` concerns Serverless' CloudFormation custom resource; sls compares the notifications on every deploy, so it changes nothing",
                );
            }
            let ok = (3..=63).contains(&e.bucket.len())
                && e.bucket.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.'
                });
            if !ok {
                c.error(
                    &refs(&at("s3", "bucket")),
                    format!("`{}` is not a valid S3 bucket name", e.bucket),
                )
                .help = Some(
                    "bucket names are 3–63 characters of lowercase letters, digits, `-` and `.`"
                        .into(),
                );
            }
        }
        Event::Unsupported(_) => {
            let kind = c
                .tree
                .at_path(base)
                .and_then(|n| match &n.value {
                    super::yaml::Value::Map(e) => e.first().map(|e| e.key.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            refuse(
                c,
                &[base, &[kind.as_str()]].concat(),
                &format!("`{kind}` events"),
            );
        }
    }
}

/// A user pool is sls's or the user's (`existing`) in every event; each of its triggers calls one
/// function; the custom senders need the pool's one KMS key.
fn user_pools(c: &mut Checker, config: &Config) {
    // Pool name → (existing, kms key, trigger → function).
    type Seen = (bool, Option<String>, HashMap<String, String>);
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut senders: Vec<(String, Vec<String>)> = Vec::new();
    for (name, f) in config.functions.iter().flatten() {
        for (i, ev) in f.events.iter().flatten().enumerate() {
            let Event::CognitoUserPool(e) = ev else {
                continue;
            };
            let idx = i.to_string();
            let at = |k: &str| -> Vec<String> {
                [
                    "functions",
                    name.as_str(),
                    "events",
                    &idx,
                    "cognitoUserPool",
                    k,
                ]
                .map(String::from)
                .to_vec()
            };
            let existing = e.existing == Some(true);
            let entry = seen
                .entry(e.pool.clone())
                .or_insert_with(|| (existing, None, HashMap::new()));
            if entry.0 != existing {
                c.error(
                    &refs(&at("existing")),
                    format!("user pool `{}` is `existing` in one event and not in another", e.pool),
                )
                .help = Some("a pool is either made by sls for its triggers or yours: say the same in every event".into());
            }
            if let Some(k) = &e.kms_key_id {
                match &entry.1 {
                    Some(other) if other != k => {
                        c.error(
                            &refs(&at("kmsKeyId")),
                            format!(
                                "user pool `{}` has another kmsKeyId in another event",
                                e.pool
                            ),
                        )
                        .help = Some("a pool has one KMS key for its custom senders".into());
                    }
                    _ => entry.1 = Some(k.clone()),
                }
            }
            match entry.2.get(&e.trigger) {
                Some(other) if other != name => {
                    c.error(
                        &refs(&at("trigger")),
                        format!(
                            "trigger {} of user pool `{}` already calls function `{other}`",
                            e.trigger, e.pool
                        ),
                    )
                    .help = Some("a trigger calls one function".into());
                }
                _ => {
                    entry.2.insert(e.trigger.clone(), name.clone());
                }
            }
            if e.trigger.starts_with("Custom") && e.trigger.ends_with("Sender") {
                senders.push((e.pool.clone(), at("trigger")));
            }
        }
    }
    for (pool, path) in senders {
        if seen.get(&pool).is_some_and(|s| s.1.is_none()) {
            c.error(
                &refs(&path),
                format!("the custom sender triggers of user pool `{pool}` need `kmsKeyId`"),
            )
            .help =
                Some("Cognito encrypts the codes it sends them with this key: give its ARN".into());
        }
    }
}

/// A bucket is sls's (made for its events) or the user's (`existing: true`) for all its events.
fn s3_buckets(c: &mut Checker, config: &Config) {
    let mut seen: HashMap<String, bool> = HashMap::new();
    for (name, f) in config.functions.iter().flatten() {
        for (i, ev) in f.events.iter().flatten().enumerate() {
            let Event::S3(e) = ev else { continue };
            let existing = e.existing == Some(true);
            match seen.get(&e.bucket) {
                Some(other) if *other != existing => {
                    let idx = i.to_string();
                    c.error(
                        &["functions", name, "events", &idx, "s3", "existing"],
                        format!("bucket `{}` is `existing` in one event and not in another", e.bucket),
                    )
                    .help = Some("a bucket is either made by sls for its events or yours: say the same in every event".into());
                }
                _ => {
                    seen.insert(e.bucket.clone(), existing);
                }
            }
        }
    }
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

/// The routes API Gateway gives meaning to; every other route is a message's selected value.
const WEBSOCKET_SPECIAL_ROUTES: &[&str] = &["$connect", "$disconnect", "$default"];

/// Where a Kafka mapping starts reading, and its consumer group.
fn kafka_reading(
    c: &mut Checker,
    key: &dyn Fn(&str) -> Vec<String>,
    position: &Option<String>,
    timestamp: Option<i64>,
    group: &Option<String>,
) {
    if let Some(p) = position {
        if !STARTING_POSITIONS.contains(&p.as_str()) {
            c.error(
                &refs(&key("startingPosition")),
                format!(
                    "startingPosition is one of {}, got `{p}`",
                    STARTING_POSITIONS.join(", ")
                ),
            );
        } else if p == "AT_TIMESTAMP" && timestamp.is_none() {
            c.error(
                &refs(&key("startingPosition")),
                "AT_TIMESTAMP needs `startingPositionTimestamp` (seconds since the epoch)",
            );
        }
    }
    if let Some(g) = group {
        let ok = (1..=200).contains(&g.len())
            && g.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.:/".contains(ch));
        if !ok {
            c.error(
                &refs(&key("consumerGroupId")),
                format!("`{g}` is not a consumer group id"),
            )
            .help = Some("1–200 letters, digits and `-_.:/`".into());
        }
    }
}

/// Lambda's limits for brokers (MSK, Amazon MQ): batches of 1–10000, windows of 0–300 s.
fn broker_batching(
    c: &mut Checker,
    key: &dyn Fn(&str) -> Vec<String>,
    batch: Option<u32>,
    window: Option<u32>,
) {
    if batch.is_some_and(|n| !(1..=10_000).contains(&n)) {
        c.error(&refs(&key("batchSize")), "batchSize is 1–10000");
    }
    if window.is_some_and(|n| n > 300) {
        c.error(
            &refs(&key("maximumBatchingWindow")),
            "maximumBatchingWindow is 0–300 seconds",
        );
    }
}

const STARTING_POSITIONS: &[&str] = &["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"];

fn stream_event(c: &mut Checker, at: &dyn Fn(&str) -> Vec<String>, e: &super::model::StreamEvent) {
    let kinesis = e.arn.split(':').nth(2) == Some("kinesis");
    if let Some(kind) = e.kind {
        let said = matches!(kind, super::model::StreamKind::Kinesis);
        if said != kinesis && e.arn.starts_with("arn:") {
            c.error(
                &refs(&at("type")),
                format!(
                    "`type` says {}, but the ARN is a {} stream",
                    if said { "kinesis" } else { "dynamodb" },
                    if kinesis { "Kinesis" } else { "DynamoDB" }
                ),
            );
        }
    }
    if let Some(p) = &e.starting_position {
        if !STARTING_POSITIONS.contains(&p.as_str()) {
            c.error(
                &refs(&at("startingPosition")),
                format!(
                    "startingPosition is one of {}, got `{p}`",
                    STARTING_POSITIONS.join(", ")
                ),
            );
        } else if p == "AT_TIMESTAMP" && (!kinesis || e.starting_position_timestamp.is_none()) {
            c.error(
                &refs(&at("startingPosition")),
                "AT_TIMESTAMP is for Kinesis streams, with `startingPositionTimestamp` (seconds since the epoch)",
            );
        }
    }
    let checks = [
        (
            "batchSize",
            e.batch_size.is_some_and(|n| !(1..=10_000).contains(&n)),
            "batchSize is 1–10000",
        ),
        (
            "batchWindow",
            e.batch_window.is_some_and(|n| n > 300),
            "batchWindow is 0–300 seconds",
        ),
        (
            "maximumRetryAttempts",
            e.maximum_retry_attempts
                .is_some_and(|n| !(-1..=10_000).contains(&n)),
            "maximumRetryAttempts is -1 (until the record expires) to 10000",
        ),
        (
            "maximumRecordAgeInSeconds",
            e.maximum_record_age_in_seconds
                .is_some_and(|n| n != -1 && !(60..=604_800).contains(&n)),
            "maximumRecordAgeInSeconds is -1 (no limit) or 60–604800",
        ),
        (
            "parallelizationFactor",
            e.parallelization_factor
                .is_some_and(|n| !(1..=10).contains(&n)),
            "parallelizationFactor is 1–10",
        ),
        (
            "tumblingWindowInSeconds",
            e.tumbling_window_in_seconds.is_some_and(|n| n > 900),
            "tumblingWindowInSeconds is 0–900",
        ),
    ];
    for (key, bad, msg) in checks {
        if bad {
            c.error(&refs(&at(key)), msg);
        }
    }
    response_type(
        c,
        &refs(&at("functionResponseType")),
        &e.function_response_type,
    );
    filter_patterns(c, &refs(&at("filterPatterns")), &e.filter_patterns);
    if let Some(target) = e.destinations.as_ref().and_then(|d| d.on_failure.as_ref()) {
        let arn_of = target
            .as_str()
            .or_else(|| target.get("arn").and_then(|a| a.as_str()));
        if !matches!(arn_of.and_then(arn_service), Some("sqs" | "sns")) {
            c.error(
                &refs(&at("destinations")),
                "a stream's `destinations.onFailure` is the ARN of an SQS queue or SNS topic (or `{arn, type}`)",
            );
        }
    }
    if e.consumer.is_some() {
        refuse(
            c,
            &refs(&at("consumer")),
            "Kinesis enhanced fan-out consumers",
        );
    }
}

fn response_type(c: &mut Checker, path: &[&str], t: &Option<String>) {
    if let Some(t) = t
        && t != "ReportBatchItemFailures"
    {
        c.error(
            path,
            format!("functionResponseType is `ReportBatchItemFailures`, got `{t}`"),
        );
    }
}

/// Lambda's event filters: a list of patterns, each a mapping (`{body: {…}}`), at most 5.
fn filter_patterns(c: &mut Checker, path: &[&str], p: &Option<serde_json::Value>) {
    let Some(p) = p else { return };
    let ok = p
        .as_array()
        .is_some_and(|l| l.len() <= 5 && l.iter().all(serde_json::Value::is_object));
    if !ok {
        c.error(path, "filterPatterns is a list of at most 5 patterns, each a mapping such as `{body: {state: [ready]}}`");
    }
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn duplicate_route(
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
        c.out
            .push(p.help("each method and path can go to only one function"));
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

/// EventBridge schedule expressions: `rate(N unit)` or six-field `cron(…)`.
pub fn schedule_expression(e: &str) -> Result<(), String> {
    if let Some(inner) = e.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let mut parts = inner.split_whitespace();
        let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("expected `rate(<number> <unit>)`".into());
        };
        let n: u64 = n
            .parse()
            .map_err(|_| format!("`{n}` is not a positive whole number"))?;
        if n == 0 {
            return Err("the rate must be at least 1".into());
        }
        let singular = ["minute", "hour", "day"];
        let plural = ["minutes", "hours", "days"];
        return match (n == 1, singular.contains(&unit), plural.contains(&unit)) {
            (true, true, _) | (false, _, true) => Ok(()),
            (true, _, true) => Err(format!(
                "use the singular unit with 1: `rate(1 {})`",
                unit.trim_end_matches('s')
            )),
            (false, true, _) => Err(format!("use the plural unit: `rate({n} {unit}s)`")),
            _ => Err(format!("unknown unit `{unit}`; use minutes, hours or days")),
        };
    }
    if let Some(inner) = e.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
        let fields = inner.split_whitespace().count();
        return if fields == 6 {
            Ok(())
        } else {
            Err(format!(
                "a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), this one has {fields}"
            ))
        };
    }
    Err("expected `rate(…)` or `cron(…)`".into())
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
