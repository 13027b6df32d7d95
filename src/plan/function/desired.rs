//! Each function's desired state: its configuration as Lambda holds it, its code's digest
//! from the package manifest, its tags, URL and role.

use std::collections::BTreeMap;

use super::{AsyncInvoke, FunctionConfig, FunctionSpec, UrlSpec};
use crate::config::Config;
use crate::config::model::Function;
use crate::package::{INLINE_UPLOAD_LIMIT, Manifest};
use crate::plan::http_api::http_api_cors;
use crate::plan::log_group::lambda_logs;
use crate::plan::naming::{self, function_name, role_ref, sorted};
use crate::plan::role::Roles;

/// The functions of `functions:`, in config order. `tags` are the service's.
pub(in crate::plan) fn desired(
    config: &Config,
    stage: &str,
    manifest: &Manifest,
    tags: &BTreeMap<String, String>,
    roles: &Roles,
) -> Vec<FunctionSpec> {
    let p = &config.provider;
    let own_role = format!("{}{}", roles.service.path, roles.service.name);
    let source_maps = crate::package::bundle::settings(config).is_ok_and(|s| s.sourcemap);
    let mut functions = Vec::new();
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
            role: match roles.own.get(key) {
                Some(r) => format!("{}{}", r.path, r.name),
                None => f
                    .role
                    .as_ref()
                    .or(roles.existing.as_ref())
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
        if p.version_functions == Some(false) {
            ftags.insert(naming::TAG_UNVERSIONED.into(), "none".into());
        }
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
            .unwrap_or_else(|| function_name(&config.service, stage, key));
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
            role_arn: match roles.own.contains_key(key) {
                true => None,
                false => f.role.clone().or_else(|| roles.existing.clone()),
            },
            own_role: roles.own.get(key).map(|r| r.name.clone()),
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
    }
    functions
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
