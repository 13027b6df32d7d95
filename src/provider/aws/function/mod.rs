//! Lambda functions: read (configuration, tags, concurrency, the alias' version, its URL, the
//! versions in use) and changed step by step — create, code, configuration, tags,
//! concurrency, publish and move the alias, URL, version pruning, delete. Planning:
//! `plan::function`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    ApplicationLogLevel, Architecture, DeadLetterConfig, DestinationConfig, Environment,
    EphemeralStorage, FunctionCode, FunctionConfiguration, LogFormat, LoggingConfig, OnFailure,
    OnSuccess, Runtime, SystemLogLevel, TracingConfig, TracingMode, VpcConfig,
};

use super::context::Applying;

mod url;
use super::{Aws, AwsError, NOT_FOUND, aliases, bucket, call_err, is_code, owned, tolerate};
use crate::plan::function::{AsyncInvoke, ObservedVersion};
use crate::plan::naming::{role_ref, sorted};
use crate::plan::{Desired, FunctionConfig, FunctionSpec, FunctionStep, ObservedFunction};
use url::{grant_url, put_url, url, url_spec};

/// How long to wait for a new role to become usable by Lambda (IAM is eventually consistent).
const IAM_WAIT: Duration = Duration::from_secs(150);

/// One function: `GetFunction`, then — for ours — the alias' version, the staged alias' URL and
/// the versions in use, side by side.
pub async fn observe(
    aws: &Aws,
    d: &Desired,
    name: &str,
) -> Result<Option<ObservedFunction>, AwsError> {
    let res = format!("Lambda function {name}");
    let got = match aws.lambda.get_function().function_name(name).send().await {
        Ok(f) => f,
        Err(e) if is_code(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(call_err("GetFunction", &res)(e)),
    };
    let Some(c) = got.configuration() else {
        return Ok(None);
    };
    let tags: BTreeMap<String, String> = got
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut of = ObservedFunction {
        arn: c.function_arn().unwrap_or_default().to_string(),
        owned: owned(&tags, d),
        sha256: c.code_sha256().unwrap_or_default().to_string(),
        config: config_of(c),
        role: c.role().unwrap_or_default().to_string(),
        tags,
        alias: None,
        reserved_concurrency: got
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        async_invoke: None,
        provisioned_concurrency: None,
        url: None,
        versions: None,
    };
    if !of.owned {
        return Ok(Some(of));
    }
    let alias = async {
        match aws
            .lambda
            .get_function()
            .function_name(name)
            .set_qualifier(crate::provider::aws::qualifier(&d.alias))
            .send()
            .await
        {
            Ok(v) => Ok(v.configuration().map(|vc| ObservedVersion {
                version: vc.version().unwrap_or_default().to_string(),
                sha256: vc.code_sha256().unwrap_or_default().to_string(),
                config: config_of(vc),
            })),
            Err(e) if is_code(&e, NOT_FOUND) => Ok(None),
            Err(e) => Err(call_err("GetFunction", &format!("{res}:{}", d.alias))(e)),
        }
    };
    let url = url(aws, name, &d.alias);
    let versions = async {
        match d.version_retention {
            Some(_) => aliases::versions_in_use(aws, name).await.map(Some),
            None => Ok(None),
        }
    };
    let async_invoke = async {
        if d.alias != d.live {
            return Ok(None);
        }
        match aws
            .lambda
            .get_function_event_invoke_config()
            .function_name(name)
            .set_qualifier(crate::provider::aws::qualifier(&d.live))
            .send()
            .await
        {
            Ok(c) => Ok(Some(AsyncInvoke {
                maximum_retry_attempts: c.maximum_retry_attempts(),
                maximum_event_age: c.maximum_event_age_in_seconds(),
                on_success: c
                    .destination_config()
                    .and_then(|d| d.on_success())
                    .and_then(|s| s.destination())
                    .map(str::to_string),
                on_failure: c
                    .destination_config()
                    .and_then(|d| d.on_failure())
                    .and_then(|s| s.destination())
                    .map(str::to_string),
            })),
            Err(e) if is_code(&e, NOT_FOUND) => Ok(None),
            Err(e) => Err(call_err(
                "GetFunctionEventInvokeConfig",
                &format!("{res}:{}", d.live),
            )(e)),
        }
    };
    let provisioned = async {
        // Unversioned, there is no alias to hold any.
        if d.alias != d.live || !d.versioned {
            return Ok(None);
        }
        provisioned(aws, name, &d.live)
            .await
            .map(|p| p.map(|(n, _, _)| n))
    };
    let (alias, url, versions, async_invoke, provisioned) =
        tokio::join!(alias, url, versions, async_invoke, provisioned);
    of.provisioned_concurrency = provisioned?;
    of.alias = alias?;
    of.url = url?;
    of.versions = versions?;
    of.async_invoke = async_invoke?;
    Ok(Some(of))
}

/// The functions tagged for this service and stage, by name: found through the Resource Groups
/// Tagging API, so that the cost does not grow with the number of functions in the region
/// (ListFunctions has no tag filter). Custom `name:`s are found too. The API is eventually
/// consistent: a function deleted a moment ago may still be listed (reading it finds nothing),
/// and one created a moment ago by an interrupted run may be missed until the next run.
pub async fn list_ours(aws: &Aws, d: &Desired) -> Result<Vec<String>, AwsError> {
    let arns = super::tagged(
        aws,
        d,
        "lambda:function",
        &[],
        "Lambda functions tagged for this service",
    )
    .await?;
    Ok(arns
        .iter()
        .filter_map(|arn| arn.split(":function:").nth(1))
        .map(|n| n.split(':').next().unwrap_or(n).to_string())
        .collect())
}

pub async fn apply(cx: &Applying<'_>, step: &FunctionStep) -> Result<(), AwsError> {
    let aws = cx.aws;
    let spec = |key: &str| {
        cx.d.function(key).ok_or_else(|| {
            AwsError::Other(format!("the plan names `{key}`, which the config lacks"))
        })
    };
    match step {
        FunctionStep::CreateFunction {
            function,
            function_name,
        } => create(cx, spec(function)?, function_name).await?,
        FunctionStep::UpdateFunctionCode {
            function,
            function_name,
            ..
        } => {
            let f = spec(function)?;
            let call = aws
                .lambda
                .update_function_code()
                .function_name(function_name)
                .architectures(Architecture::from(f.config.architecture.as_str()));
            let call = match code(cx, f).await? {
                Code::Inline(zip) => call.zip_file(zip),
                Code::S3 { bucket, key } => call.s3_bucket(bucket).s3_key(key),
            };
            call.send().await.map_err(call_err(
                "UpdateFunctionCode",
                &format!("Lambda function {function_name}"),
            ))?;
            wait_updated(aws, function_name).await?;
        }
        FunctionStep::UpdateFunctionConfiguration {
            function,
            function_name,
            ..
        } => {
            let f = spec(function)?;
            let c = &f.config;
            let res = format!("Lambda function {function_name}");
            let role = role_of(cx, f);
            let call = aws
                .lambda
                .update_function_configuration()
                .function_name(function_name)
                .runtime(Runtime::from(c.runtime.as_str()))
                .handler(&c.handler)
                .memory_size(c.memory_size)
                .timeout(c.timeout)
                .description(&c.description)
                .environment(env(c))
                .ephemeral_storage(storage(c)?)
                .set_layers(Some(layers_of(cx, c)?))
                .dead_letter_config(dead_letter(c))
                .tracing_config(tracing(c))
                .logging_config(logging(c, function_name))
                // Empty values clear a key or a VPC set earlier.
                .kms_key_arn(&c.kms_key_arn)
                .vpc_config(vpc(c))
                .set_role(role);
            retry_iam(|| call.clone().send(), "UpdateFunctionConfiguration", &res).await?;
            wait_updated(aws, function_name).await?;
        }
        FunctionStep::TagFunction {
            function,
            function_name,
        } => {
            aws.lambda
                .tag_resource()
                .resource(cx.function_arn(function_name))
                .set_tags(Some(spec(function)?.tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(call_err(
                    "TagResource",
                    &format!("Lambda function {function_name}"),
                ))?;
        }
        FunctionStep::SetReservedConcurrency {
            function,
            function_name,
            ..
        } => {
            let res = format!("Lambda function {function_name}");
            match spec(function)?.reserved_concurrency {
                Some(n) => {
                    aws.lambda
                        .put_function_concurrency()
                        .function_name(function_name)
                        .reserved_concurrent_executions(n)
                        .send()
                        .await
                        .map_err(call_err("PutFunctionConcurrency", &res))?;
                }
                None => {
                    aws.lambda
                        .delete_function_concurrency()
                        .function_name(function_name)
                        .send()
                        .await
                        .map_err(call_err("DeleteFunctionConcurrency", &res))?;
                }
            }
        }
        FunctionStep::PublishVersion {
            function,
            function_name,
            alias,
        } => {
            let v = aws
                .lambda
                .publish_version()
                .function_name(function_name)
                .code_sha256(&spec(function)?.sha256)
                .send()
                .await
                .map_err(call_err(
                    "PublishVersion",
                    &format!("Lambda function {function_name}"),
                ))?;
            let version = v.version().unwrap_or("1").to_string();
            super::release::point(aws, function_name, alias, &version).await?;
            cx.known().versions.insert(function.clone(), version);
        }
        FunctionStep::PutAsyncInvokeConfig {
            function,
            function_name,
            alias,
            ..
        } => {
            let a = spec(function)?.async_invoke.clone().unwrap_or_default();
            // A destination of this service is `function:NAME`: its ARN, in this account.
            let arn = |t: Option<String>| {
                t.map(|t| match t.strip_prefix("function:") {
                    Some(name) => cx.function_arn(name),
                    None => t,
                })
            };
            let destinations = DestinationConfig::builder()
                .set_on_success(
                    arn(a.on_success).map(|d| OnSuccess::builder().destination(d).build()),
                )
                .set_on_failure(
                    arn(a.on_failure).map(|d| OnFailure::builder().destination(d).build()),
                )
                .build();
            aws.lambda
                .put_function_event_invoke_config()
                .function_name(function_name)
                .set_qualifier(crate::provider::aws::qualifier(alias))
                .set_maximum_retry_attempts(a.maximum_retry_attempts)
                .set_maximum_event_age_in_seconds(a.maximum_event_age)
                .destination_config(destinations)
                .send()
                .await
                .map_err(call_err(
                    "PutFunctionEventInvokeConfig",
                    &format!("Lambda function {function_name}:{alias}"),
                ))?;
        }
        FunctionStep::SetProvisionedConcurrency {
            function,
            function_name,
            alias,
            ..
        } => {
            let res = format!("Lambda function {function_name}:{alias}");
            match spec(function)?.provisioned_concurrency {
                Some(n) => {
                    aws.lambda
                        .put_provisioned_concurrency_config()
                        .function_name(function_name)
                        .set_qualifier(crate::provider::aws::qualifier(alias))
                        .provisioned_concurrent_executions(n)
                        .send()
                        .await
                        .map_err(call_err("PutProvisionedConcurrencyConfig", &res))?;
                    wait_provisioned(aws, function_name, alias).await?;
                }
                None => {
                    let r = aws
                        .lambda
                        .delete_provisioned_concurrency_config()
                        .function_name(function_name)
                        .set_qualifier(crate::provider::aws::qualifier(alias))
                        .send()
                        .await;
                    tolerate(
                        r,
                        &[
                            "ResourceNotFoundException",
                            "ProvisionedConcurrencyConfigNotFoundException",
                        ],
                        "DeleteProvisionedConcurrencyConfig",
                        &res,
                    )?;
                }
            }
        }
        FunctionStep::DeleteAsyncInvokeConfig {
            function_name,
            alias,
            ..
        } => {
            let r = aws
                .lambda
                .delete_function_event_invoke_config()
                .function_name(function_name)
                .set_qualifier(crate::provider::aws::qualifier(alias))
                .send()
                .await;
            tolerate(
                r,
                NOT_FOUND,
                "DeleteFunctionEventInvokeConfig",
                &format!("Lambda function {function_name}:{alias}"),
            )?;
        }
        FunctionStep::CreateFunctionUrl {
            function,
            function_name,
            alias,
        }
        | FunctionStep::UpdateFunctionUrl {
            function,
            function_name,
            alias,
            ..
        } => {
            let want = url_spec(cx, function, alias)?;
            // The URL as this run observed it: an earlier run's is in there already.
            let have =
                cx.o.functions
                    .get(function_name)
                    .and_then(|of| of.url.clone());
            let url = put_url(aws, function_name, alias, &want, have).await?;
            cx.known().urls.insert(function.clone(), url);
        }
        FunctionStep::DeleteFunctionUrl {
            function_name,
            alias,
            ..
        } => {
            let r = aws
                .lambda
                .delete_function_url_config()
                .function_name(function_name)
                .set_qualifier(crate::provider::aws::qualifier(alias))
                .send()
                .await;
            tolerate(
                r,
                NOT_FOUND,
                "DeleteFunctionUrlConfig",
                &format!("Lambda function {function_name}:{alias}"),
            )?;
            grant_url(aws, function_name, alias, false).await?;
        }
        FunctionStep::DeleteVersion {
            function,
            function_name,
            version,
        } => {
            // Publishing returns the existing version when nothing changed since it was
            // published; the alias has just moved to it, so it is no longer free.
            let published = cx.known().versions.get(function) == Some(version);
            if !published {
                aliases::delete_version(aws, function_name, version).await?;
            }
        }
        FunctionStep::DeleteFunction { function_name } => {
            match aws
                .lambda
                .delete_function()
                .function_name(function_name)
                .send()
                .await
            {
                Ok(_) => {}
                // Gone already: a re-run after an interruption.
                Err(e) if is_code(&e, NOT_FOUND) => {}
                Err(e) => {
                    return Err(call_err(
                        "DeleteFunction",
                        &format!("Lambda function {function_name}"),
                    )(e));
                }
            }
        }
    }
    Ok(())
}

/// The requested provisioned concurrency of `alias` and its status; `None` when it has none.
/// Any 404 counts as none: AWS answers ProvisionedConcurrencyConfigNotFoundException, and an
/// endpoint that does not model the call (moto) answers a bare 404.
async fn provisioned(
    aws: &Aws,
    name: &str,
    alias: &str,
) -> Result<Option<(i32, String, String)>, AwsError> {
    match aws
        .lambda
        .get_provisioned_concurrency_config()
        .function_name(name)
        .set_qualifier(crate::provider::aws::qualifier(alias))
        .send()
        .await
    {
        Ok(c) => Ok(Some((
            c.requested_provisioned_concurrent_executions().unwrap_or(0),
            c.status().map_or("", |s| s.as_str()).to_string(),
            c.status_reason().unwrap_or_default().to_string(),
        ))),
        Err(e)
            if is_code(&e, &["ProvisionedConcurrencyConfigNotFoundException"])
                || is_code(&e, NOT_FOUND)
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
        {
            Ok(None)
        }
        Err(e) => Err(call_err(
            "GetProvisionedConcurrencyConfig",
            &format!("Lambda function {name}:{alias}"),
        )(e)),
    }
}

/// Waits until the alias' instances are READY (allocating takes minutes), bounded.
async fn wait_provisioned(aws: &Aws, name: &str, alias: &str) -> Result<(), AwsError> {
    let res = format!("Lambda function {name}:{alias}");
    let started = Instant::now();
    loop {
        match provisioned(aws, name, alias).await? {
            Some((_, status, _)) if status == "READY" => return Ok(()),
            Some((_, status, reason)) if status == "FAILED" => {
                return Err(AwsError::Other(format!(
                    "{res}: provisioned concurrency failed: {reason}"
                )));
            }
            _ if started.elapsed() > Duration::from_secs(15 * 60) => {
                return Err(AwsError::Other(format!(
                    "{res}: provisioned concurrency is not READY after 15 minutes; run the deploy again to keep waiting"
                )));
            }
            _ => tokio::time::sleep(Duration::from_secs(5)).await,
        }
    }
}

fn config_of(c: &FunctionConfiguration) -> FunctionConfig {
    let logging = c.logging_config();
    let json = logging
        .and_then(|l| l.log_format())
        .is_some_and(|f| *f == LogFormat::Json);
    // Levels mean something only with JSON logs; text logs read as none.
    let level = |l: Option<&str>| {
        if json {
            l.unwrap_or("INFO").to_string()
        } else {
            String::new()
        }
    };
    FunctionConfig {
        runtime: c
            .runtime()
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        handler: c.handler().unwrap_or_default().to_string(),
        memory_size: c.memory_size().unwrap_or_default(),
        timeout: c.timeout().unwrap_or_default(),
        environment: c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        architecture: c
            .architectures()
            .first()
            .map_or("x86_64".to_string(), |a| a.as_str().to_string()),
        ephemeral_storage: c.ephemeral_storage().map_or(512, |e| e.size()),
        description: c.description().unwrap_or_default().to_string(),
        layers: c
            .layers()
            .iter()
            .filter_map(|l| l.arn().map(str::to_string))
            .collect(),
        dead_letter_target: c
            .dead_letter_config()
            .and_then(|d| d.target_arn())
            .unwrap_or_default()
            .to_string(),
        role: role_ref(c.role().unwrap_or_default()),
        tracing: c
            .tracing_config()
            .and_then(|t| t.mode())
            .map_or("PassThrough", |m| m.as_str())
            .to_string(),
        kms_key_arn: c.kms_key_arn().unwrap_or_default().to_string(),
        vpc_subnets: sorted(c.vpc_config().map(|v| v.subnet_ids().to_vec())),
        vpc_security_groups: sorted(c.vpc_config().map(|v| v.security_group_ids().to_vec())),
        vpc_ipv6: c
            .vpc_config()
            .and_then(|v| v.ipv6_allowed_for_dual_stack())
            .unwrap_or(false),
        log_format: logging
            .and_then(|l| l.log_format())
            .map_or("Text", |f| f.as_str())
            .to_string(),
        application_log_level: level(
            logging
                .and_then(|l| l.application_log_level())
                .map(|l| l.as_str()),
        ),
        system_log_level: level(
            logging
                .and_then(|l| l.system_log_level())
                .map(|l| l.as_str()),
        ),
        // Lambda's own group reads as none, as the config leaves it unnamed.
        log_group: logging
            .and_then(|l| l.log_group())
            .filter(|g| {
                *g != crate::plan::log_group::name_of(c.function_name().unwrap_or_default())
            })
            .unwrap_or_default()
            .to_string(),
    }
}

/// Where a function's code comes from: the zip itself, or an object in the deployment bucket.
enum Code {
    Inline(Blob),
    S3 { bucket: String, key: String },
}

async fn code(cx: &Applying<'_>, f: &FunctionSpec) -> Result<Code, AwsError> {
    if !f.via_s3 {
        return zip_bytes(cx, f).map(Code::Inline);
    }
    let bucket = cx.known().bucket.clone().ok_or_else(|| {
        AwsError::Other(format!(
            "{} is over the inline limit but no deployment bucket was prepared",
            f.zip
        ))
    })?;
    let key = bucket::upload(
        cx.aws,
        cx.d,
        &bucket,
        &cx.account(),
        cx.dir,
        &f.zip,
        &f.sha256,
    )
    .await?;
    Ok(Code::S3 { bucket, key })
}

fn zip_bytes(cx: &Applying<'_>, f: &FunctionSpec) -> Result<Blob, AwsError> {
    let path = cx.dir.join(&f.zip);
    std::fs::read(&path)
        .map(Blob::new)
        .map_err(|source| AwsError::Artifact {
            path: path.display().to_string(),
            source,
        })
}

fn env(c: &FunctionConfig) -> Environment {
    Environment::builder()
        .set_variables(Some(c.environment.clone().into_iter().collect()))
        .build()
}

fn tracing(c: &FunctionConfig) -> TracingConfig {
    TracingConfig::builder()
        .mode(TracingMode::from(c.tracing.as_str()))
        .build()
}

/// Lambda's logging configuration, stated in full: the group is named even when it is
/// Lambda's own, so that a deploy moves a function back from a group of the user's.
fn logging(c: &FunctionConfig, function_name: &str) -> LoggingConfig {
    let json = c.log_format == "JSON";
    let group = if c.log_group.is_empty() {
        crate::plan::log_group::name_of(function_name)
    } else {
        c.log_group.clone()
    };
    LoggingConfig::builder()
        .log_format(LogFormat::from(c.log_format.as_str()))
        .set_application_log_level(
            json.then(|| ApplicationLogLevel::from(c.application_log_level.as_str())),
        )
        .set_system_log_level(json.then(|| SystemLogLevel::from(c.system_log_level.as_str())))
        .log_group(group)
        .build()
}

fn vpc(c: &FunctionConfig) -> VpcConfig {
    VpcConfig::builder()
        .set_subnet_ids(Some(c.vpc_subnets.clone()))
        .set_security_group_ids(Some(c.vpc_security_groups.clone()))
        // Only with subnets: an empty VpcConfig detaches the function and carries nothing else.
        .set_ipv6_allowed_for_dual_stack((!c.vpc_subnets.is_empty()).then_some(c.vpc_ipv6))
        .build()
}

/// An empty target clears the dead-letter configuration.
fn dead_letter(c: &FunctionConfig) -> DeadLetterConfig {
    DeadLetterConfig::builder()
        .target_arn(&c.dead_letter_target)
        .build()
}

fn storage(c: &FunctionConfig) -> Result<EphemeralStorage, AwsError> {
    EphemeralStorage::builder()
        .size(c.ephemeral_storage)
        .build()
        .map_err(|e| AwsError::Other(e.to_string()))
}

/// The function's layers, those of `layers:` as the version ARNs this run found or published.
fn layers_of(cx: &Applying<'_>, c: &FunctionConfig) -> Result<Vec<String>, AwsError> {
    let known = cx.known();
    c.layers
        .iter()
        .map(|l| match l.strip_prefix(crate::config::model::LAYER_REF) {
            None => Ok(l.clone()),
            Some(key) => {
                known.layers.get(key).cloned().ok_or_else(|| {
                    AwsError::Other(format!("layer `{key}` has no published version"))
                })
            }
        })
        .collect()
}

/// The ARN a function runs as: the existing role it names, its own, or the service's.
fn role_of(cx: &Applying<'_>, f: &FunctionSpec) -> Option<String> {
    let known = cx.known();
    f.role_arn.clone().or_else(|| match &f.own_role {
        Some(own) => known.role_arns.get(own).cloned(),
        None => known.role_arn.clone(),
    })
}

async fn create(cx: &Applying<'_>, f: &FunctionSpec, name: &str) -> Result<(), AwsError> {
    let aws = cx.aws;
    let res = format!("Lambda function {name}");
    let c = &f.config;
    let role = role_of(cx, f).ok_or_else(|| AwsError::Other(format!("no role for {res}")))?;
    let call = aws
        .lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::from(c.runtime.as_str()))
        .role(role)
        .handler(&c.handler)
        .code(match code(cx, f).await? {
            Code::Inline(zip) => FunctionCode::builder().zip_file(zip).build(),
            Code::S3 { bucket, key } => FunctionCode::builder()
                .s3_bucket(bucket)
                .s3_key(key)
                .build(),
        })
        .memory_size(c.memory_size)
        .timeout(c.timeout)
        .description(&c.description)
        .environment(env(c))
        .architectures(Architecture::from(c.architecture.as_str()))
        .ephemeral_storage(storage(c)?)
        .set_layers(Some(layers_of(cx, c)?))
        .set_dead_letter_config((!c.dead_letter_target.is_empty()).then(|| dead_letter(c)))
        .tracing_config(tracing(c))
        .logging_config(logging(c, name))
        .set_kms_key_arn((!c.kms_key_arn.is_empty()).then(|| c.kms_key_arn.clone()))
        .set_vpc_config((!c.vpc_subnets.is_empty()).then(|| vpc(c)))
        .set_tags(Some(f.tags.clone().into_iter().collect()))
        .publish(false);
    // A role made by this run: one function waits for IAM, holding the gate; the rest follow
    // once it got through, side by side.
    let mut gate = cx.role_ready.lock().await;
    let created = if *gate {
        drop(gate);
        retry_iam(|| call.clone().send(), "CreateFunction", &res).await
    } else {
        let created = retry_iam(|| call.clone().send(), "CreateFunction", &res).await;
        *gate = created.is_ok();
        created
    };
    match created {
        Ok(_) => {}
        // Made meanwhile: by an interrupted run of ours (the next deploy's plan updates it), or
        // by someone else, whose function is never touched.
        Err(AwsError::Call { code, .. }) if code == "ResourceConflictException" => {
            if !observe(aws, cx.d, name).await?.is_some_and(|of| of.owned) {
                return Err(AwsError::NotOurs(res));
            }
        }
        Err(e) => return Err(e),
    }
    wait_updated(aws, name).await
}

/// Lambda refuses a role IAM has not propagated yet; retry only on that message, bounded.
async fn retry_iam<T, E, F, Fut>(mut call: F, op: &str, res: &str) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: crate::provider::aws::CallError,
{
    let started = Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e)
                if e.message().is_some_and(|m| {
                    m.contains("cannot be assumed") || m.contains("role defined for the function")
                }) && started.elapsed() < IAM_WAIT =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(call_err(op, res)(e)),
        }
    }
}

/// Waits until the function is Active and its last update Successful, so that the next call
/// does not meet "an update is in progress".
pub(super) async fn wait_updated(aws: &Aws, name: &str) -> Result<(), AwsError> {
    let res = format!("Lambda function {name}");
    let started = Instant::now();
    loop {
        // GetFunction, not GetFunctionConfiguration: it has a quota of its own (100 a second),
        // where polls of the other would take from the 15 a second every other change shares.
        let got = aws
            .lambda
            .get_function()
            .function_name(name)
            .send()
            .await
            .map_err(call_err("GetFunction", &res))?;
        let Some(c) = got.configuration() else {
            return Err(AwsError::Other(format!(
                "{res}: GetFunction gave no configuration"
            )));
        };
        let state = c
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let update = c
            .last_update_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if state == "Failed" || update == "Failed" {
            return Err(AwsError::Other(format!(
                "{res} failed to update: {}",
                c.last_update_status_reason()
                    .or(c.state_reason())
                    .unwrap_or("no reason given")
            )));
        }
        if (state.is_empty() || state == "Active") && (update.is_empty() || update == "Successful")
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(300) {
            return Err(AwsError::Other(format!(
                "{res} is still {state}/{update} after 5 minutes"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_lambda::types::{
        ApplicationLogLevel, FunctionConfiguration, LogFormat, LoggingConfig, SystemLogLevel,
    };

    use super::{config_of, logging};

    fn answered(logging: Option<LoggingConfig>) -> FunctionConfiguration {
        FunctionConfiguration::builder()
            .function_name("svc-dev-a")
            .set_logging_config(logging)
            .build()
    }

    #[test]
    fn lambdas_default_logging_reads_as_the_configs_default() {
        // What GetFunction answers for a function created without LoggingConfig.
        let c = config_of(&answered(Some(
            LoggingConfig::builder()
                .log_format(LogFormat::Text)
                .log_group("/aws/lambda/svc-dev-a")
                .build(),
        )));
        assert_eq!(
            (
                c.log_format.as_str(),
                c.application_log_level.as_str(),
                c.system_log_level.as_str(),
                c.log_group.as_str()
            ),
            ("Text", "", "", "")
        );
        // An answer without the field (older accounts, emulators) means the same.
        let none = config_of(&answered(None));
        assert_eq!(none.log_format, "Text");
        assert_eq!(none.log_group, "");
    }

    #[test]
    fn json_logging_reads_back_with_its_levels_and_the_users_group() {
        let c = config_of(&answered(Some(
            LoggingConfig::builder()
                .log_format(LogFormat::Json)
                .application_log_level(ApplicationLogLevel::Debug)
                .system_log_level(SystemLogLevel::Warn)
                .log_group("/shared/app")
                .build(),
        )));
        assert_eq!(c.log_format, "JSON");
        assert_eq!(c.application_log_level, "DEBUG");
        assert_eq!(c.system_log_level, "WARN");
        assert_eq!(c.log_group, "/shared/app");
        // And what is sent is what was read: the next deploy compares equal.
        let sent = logging(&c, "svc-dev-a");
        assert_eq!(config_of(&answered(Some(sent))), c);
    }

    #[test]
    fn text_logging_sends_no_levels_and_names_lambdas_own_group() {
        let c = config_of(&answered(None));
        let sent = logging(&c, "svc-dev-a");
        assert_eq!(sent.log_format(), Some(&LogFormat::Text));
        assert_eq!(sent.application_log_level(), None);
        assert_eq!(sent.log_group(), Some("/aws/lambda/svc-dev-a"));
    }
}
