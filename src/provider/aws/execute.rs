//! Carries out a plan. Every step is safe to repeat, so a deploy interrupted anywhere converges
//! when it is run again.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, EphemeralStorage, FunctionCode, Runtime};
use serde::Serialize;

use super::observe::policy_name;
use super::{Aws, AwsError, account_of, call_err, is_code};
use super::{aliases, bucket, routes};
use crate::plan::{Desired, FunctionSpec, INLINE_UPLOAD_LIMIT, Observed, Step};

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com"]},"Action":["sts:AssumeRole"]}]}"#;
/// How long to wait for a new role to become usable by Lambda (IAM is eventually consistent).
const IAM_WAIT: Duration = Duration::from_secs(150);
/// How many functions are created or updated at once: enough to hide latency, few enough to
/// stay far from Lambda's control-plane rate limits.
const FUNCTION_PARALLELISM: usize = 4;

/// What a deploy leaves behind, for the summary and `--json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub endpoints: Vec<String>,
    /// Function key → the version its alias points at, when this run published one.
    pub versions: BTreeMap<String, String>,
    /// Function key → the function URL of the alias deployed to, when it is not the live one.
    pub urls: BTreeMap<String, String>,
}

/// What one function's steps produced.
#[derive(Default)]
struct FunctionDone {
    version: Option<String>,
    url: Option<String>,
}

/// Told when each step starts and ends, to show progress. Called from one thread.
pub trait Progress {
    fn started(&self, index: usize, step: &Step);
    fn finished(&self, index: usize, step: &Step, took: Duration);
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, AwsError>> + 'a>>;

/// Runs the plan in three phases: the role; each function's steps (functions in parallel, a
/// function's own steps in order); then the APIs, permissions and deletions in plan order.
pub async fn execute(
    aws: &Aws,
    d: &Desired,
    o: &Observed,
    steps: &[Step],
    artifacts_dir: &Path,
    progress: &dyn Progress,
) -> Result<Outcome, AwsError> {
    let mut role_arn = o.role.as_ref().map(|r| r.arn.clone());
    let mut deployment_bucket = None;
    let mut functions: Vec<(String, Vec<(usize, &Step)>)> = Vec::new();
    let mut later = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if let Some(key) = function_of(step) {
            match functions.iter_mut().find(|(k, _)| k == key) {
                Some((_, g)) => g.push((i, step)),
                None => functions.push((key.to_string(), vec![(i, step)])),
            }
        } else if let Step::PrepareDeploymentBucket { .. } = step {
            let name = bucket::name(d, role_arn.as_deref()).ok_or_else(|| {
                AwsError::Other("the deployment bucket's name needs the role's account".into())
            })?;
            timed(progress, i, step, bucket::prepare(aws, d, &name)).await?;
            deployment_bucket = Some(name);
        } else if let Step::CreateRole { name } = step {
            role_arn = Some(timed(progress, i, step, create_role(aws, d, name)).await?);
        } else if step.is_role_step() {
            timed(progress, i, step, role_step(aws, d, step)).await?;
        } else {
            later.push((i, step));
        }
    }

    let fx = FunctionContext {
        aws,
        d,
        dir: artifacts_dir,
        role_arn: role_arn.clone(),
        bucket: deployment_bucket,
    };
    let fx = &fx;
    let pipelines: Vec<Boxed<'_, FunctionDone>> = functions
        .iter()
        .map(|(_, group)| {
            Box::pin(async move {
                let mut done = FunctionDone::default();
                for &(i, step) in group {
                    timed(progress, i, step, function_step(fx, step, &mut done)).await?;
                }
                Ok(done)
            }) as Boxed<'_, FunctionDone>
        })
        .collect();
    let mut outcome = Outcome::default();
    for ((key, _), result) in functions
        .iter()
        .zip(bounded(pipelines, FUNCTION_PARALLELISM).await)
    {
        let done = result?;
        if let Some(v) = done.version {
            outcome.versions.insert(key.clone(), v);
        }
        if let Some(u) = done.url {
            outcome.urls.insert(key.clone(), u);
        }
    }

    let mut st = routes::State::new(d, o, role_arn);
    for (i, step) in later {
        timed(progress, i, step, routes::run(aws, d, o, step, &mut st)).await?;
    }
    outcome.endpoints = st.endpoints(aws, d);
    Ok(outcome)
}

/// Runs one step's work between its start and end reports.
async fn timed<T>(
    progress: &dyn Progress,
    index: usize,
    step: &Step,
    work: impl Future<Output = Result<T, AwsError>>,
) -> Result<T, AwsError> {
    progress.started(index, step);
    let started = Instant::now();
    let value = work.await?;
    progress.finished(index, step, started.elapsed());
    Ok(value)
}

/// Polls the futures on the current task, at most `limit` at a time, and returns their
/// results in order. Every started future runs to its end, so no function is left midway.
async fn bounded<'a, T>(futures: Vec<Boxed<'a, T>>, limit: usize) -> Vec<Result<T, AwsError>> {
    let n = futures.len();
    let mut waiting = futures.into_iter().enumerate();
    let mut running: Vec<(usize, Boxed<'a, T>)> = Vec::new();
    let mut results: Vec<Option<Result<T, AwsError>>> = (0..n).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        loop {
            while running.len() < limit.max(1) {
                match waiting.next() {
                    Some(f) => running.push(f),
                    None => break,
                }
            }
            let before = running.len();
            let mut i = 0;
            while i < running.len() {
                if let Poll::Ready(r) = running[i].1.as_mut().poll(cx) {
                    results[running[i].0] = Some(r);
                    drop(running.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            // Something finished: start the next ones at once rather than on the next wake.
            if running.len() == before || waiting.len() == 0 {
                break;
            }
        }
        if running.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// The function key of a step that changes one function only (and nothing else).
fn function_of(s: &Step) -> Option<&str> {
    match s {
        Step::CreateFunction { function, .. }
        | Step::UpdateFunctionCode { function, .. }
        | Step::UpdateFunctionConfiguration { function, .. }
        | Step::TagFunction { function, .. }
        | Step::SetReservedConcurrency { function, .. }
        | Step::PublishVersion { function, .. }
        | Step::CreateFunctionUrl { function, .. }
        | Step::DeleteVersion { function, .. } => Some(function),
        _ => None,
    }
}

fn spec<'a>(d: &'a Desired, key: &str) -> &'a FunctionSpec {
    d.functions
        .iter()
        .find(|f| f.key == key)
        .expect("the plan names desired functions")
}

/// The role's ARN after creating it (or finding it created by an interrupted run), with its
/// inline policy in place.
async fn create_role(aws: &Aws, d: &Desired, name: &str) -> Result<String, AwsError> {
    let res = format!("IAM role {name}");
    let tags: Vec<aws_sdk_iam::types::Tag> = d
        .tags
        .iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect();
    let created = aws
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(TRUST_POLICY)
        .set_tags(Some(tags))
        .send()
        .await;
    let arn = match created {
        Ok(r) => r.role().map(|r| r.arn().to_string()),
        Err(e) if is_code(&e, &["EntityAlreadyExists"]) => aws
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(call_err("GetRole", &res))?
            .role()
            .map(|r| r.arn().to_string()),
        Err(e) => return Err(call_err("CreateRole", &res)(e)),
    };
    put_policy(aws, d).await?;
    arn.ok_or_else(|| AwsError::Other(format!("{res}: no ARN in the answer")))
}

async fn role_step(aws: &Aws, d: &Desired, step: &Step) -> Result<(), AwsError> {
    match step {
        Step::AttachRolePolicy { name, policy } => {
            aws.iam
                .attach_role_policy()
                .role_name(name)
                .policy_arn(policy)
                .send()
                .await
                .map_err(call_err("AttachRolePolicy", &format!("IAM role {name}")))?;
        }
        Step::DetachRolePolicy { name, policy } => {
            aws.iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(policy)
                .send()
                .await
                .map_err(call_err("DetachRolePolicy", &format!("IAM role {name}")))?;
        }
        _ => put_policy(aws, d).await?,
    }
    Ok(())
}

struct FunctionContext<'a> {
    aws: &'a Aws,
    d: &'a Desired,
    dir: &'a Path,
    role_arn: Option<String>,
    /// Set when the plan prepared a bucket for artifacts over the inline limit.
    bucket: Option<String>,
}

/// Where a function's code comes from: the zip itself, or an object in the deployment bucket.
enum Code {
    Inline(Blob),
    S3 { bucket: String, key: String },
}

async fn code(fx: &FunctionContext<'_>, f: &FunctionSpec) -> Result<Code, AwsError> {
    if f.size <= INLINE_UPLOAD_LIMIT {
        return zip_bytes(fx.dir, f).map(Code::Inline);
    }
    let bucket = fx.bucket.clone().ok_or_else(|| {
        AwsError::Other(format!(
            "{} is over the inline limit but no deployment bucket was prepared",
            f.zip
        ))
    })?;
    let key = bucket::upload(fx.aws, fx.d, &bucket, fx.dir, f).await?;
    Ok(Code::S3 { bucket, key })
}

/// One function step; a published version or a function URL goes into `done`.
async fn function_step(
    fx: &FunctionContext<'_>,
    step: &Step,
    done: &mut FunctionDone,
) -> Result<(), AwsError> {
    let (aws, d) = (fx.aws, fx.d);
    match step {
        Step::CreateFunction { function, name } => {
            create_function(fx, spec(d, function), name).await?
        }
        Step::UpdateFunctionCode { function, name, .. } => {
            let call = aws.lambda.update_function_code().function_name(name);
            let call = match code(fx, spec(d, function)).await? {
                Code::Inline(zip) => call.zip_file(zip),
                Code::S3 { bucket, key } => call.s3_bucket(bucket).s3_key(key),
            };
            call.send().await.map_err(call_err(
                "UpdateFunctionCode",
                &format!("Lambda function {name}"),
            ))?;
            wait_updated(aws, name).await?;
        }
        Step::UpdateFunctionConfiguration { function, name, .. } => {
            let c = &spec(d, function).config;
            let res = format!("Lambda function {name}");
            let call = aws
                .lambda
                .update_function_configuration()
                .function_name(name)
                .runtime(Runtime::from(c.runtime.as_str()))
                .handler(&c.handler)
                .memory_size(c.memory_size)
                .timeout(c.timeout)
                .description(&c.description)
                .environment(env(c))
                .ephemeral_storage(storage(c)?)
                .set_role(fx.role_arn.clone());
            retry_iam(|| call.clone().send(), "UpdateFunctionConfiguration", &res).await?;
            wait_updated(aws, name).await?;
        }
        Step::TagFunction { function, name } => {
            let f = spec(d, function);
            aws.lambda
                .tag_resource()
                .resource(function_arn(aws, fx.role_arn.as_deref(), name))
                .set_tags(Some(f.tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(call_err("TagResource", &format!("Lambda function {name}")))?;
        }
        Step::SetReservedConcurrency { function, name, .. } => {
            let res = format!("Lambda function {name}");
            match spec(d, function).reserved_concurrency {
                Some(n) => {
                    aws.lambda
                        .put_function_concurrency()
                        .function_name(name)
                        .reserved_concurrent_executions(n)
                        .send()
                        .await
                        .map_err(call_err("PutFunctionConcurrency", &res))?;
                }
                None => {
                    aws.lambda
                        .delete_function_concurrency()
                        .function_name(name)
                        .send()
                        .await
                        .map_err(call_err("DeleteFunctionConcurrency", &res))?;
                }
            }
        }
        Step::PublishVersion {
            function,
            name,
            alias,
        } => {
            let f = spec(d, function);
            let res = format!("Lambda function {name}");
            let v = aws
                .lambda
                .publish_version()
                .function_name(name)
                .code_sha256(&f.sha256)
                .send()
                .await
                .map_err(call_err("PublishVersion", &res))?;
            let version = v.version().unwrap_or("1").to_string();
            super::release::point(aws, name, alias, &version).await?;
            done.version = Some(version);
        }
        Step::CreateFunctionUrl { name, alias, .. } => {
            done.url = Some(aliases::open_url(aws, name, alias).await?);
        }
        Step::DeleteVersion { name, version, .. } => {
            // Publishing returns the existing version when nothing changed since it was
            // published; the alias has just moved to it, so it is no longer free.
            if done.version.as_deref() != Some(version) {
                aliases::delete_version(aws, name, version).await?;
            }
        }
        _ => unreachable!("only function steps reach function_step"),
    }
    Ok(())
}

/// A function's ARN: the account is the role's (same account, and known without a call).
pub fn function_arn(aws: &Aws, role_arn: Option<&str>, name: &str) -> String {
    let account = role_arn.and_then(account_of).unwrap_or("000000000000");
    format!("arn:aws:lambda:{}:{account}:function:{name}", aws.region)
}

/// Deletes a function, or one version of it; one already gone counts as deleted (a re-run
/// after an interruption).
pub async fn delete_function(aws: &Aws, name: &str, version: Option<&str>) -> Result<(), AwsError> {
    match aws
        .lambda
        .delete_function()
        .function_name(name)
        .set_qualifier(version.map(str::to_string))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
        Err(e) => {
            let what = version.map_or_else(|| name.to_string(), |v| format!("{name}:{v}"));
            Err(call_err(
                "DeleteFunction",
                &format!("Lambda function {what}"),
            )(e))
        }
    }
}

async fn put_policy(aws: &Aws, d: &Desired) -> Result<(), AwsError> {
    let name = &d.role.name;
    aws.iam
        .put_role_policy()
        .role_name(name)
        .policy_name(policy_name(d))
        .policy_document(d.role.policy.to_string())
        .send()
        .await
        .map_err(call_err("PutRolePolicy", &format!("IAM role {name}")))?;
    Ok(())
}

fn zip_bytes(dir: &Path, f: &FunctionSpec) -> Result<Blob, AwsError> {
    let path = dir.join(&f.zip);
    std::fs::read(&path)
        .map(Blob::new)
        .map_err(|source| AwsError::Artifact {
            path: path.display().to_string(),
            source,
        })
}

fn env(c: &crate::plan::FunctionConfig) -> Environment {
    Environment::builder()
        .set_variables(Some(c.environment.clone().into_iter().collect()))
        .build()
}

fn storage(c: &crate::plan::FunctionConfig) -> Result<EphemeralStorage, AwsError> {
    EphemeralStorage::builder()
        .size(c.ephemeral_storage)
        .build()
        .map_err(|e| AwsError::Other(e.to_string()))
}

async fn create_function(
    fx: &FunctionContext<'_>,
    f: &FunctionSpec,
    name: &str,
) -> Result<(), AwsError> {
    let aws = fx.aws;
    let res = format!("Lambda function {name}");
    let c = &f.config;
    let role = fx
        .role_arn
        .clone()
        .ok_or_else(|| AwsError::Other(format!("no role for {res}")))?;
    let call = aws
        .lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::from(c.runtime.as_str()))
        .role(role)
        .handler(&c.handler)
        .code(match code(fx, f).await? {
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
        .set_tags(Some(f.tags.clone().into_iter().collect()))
        .publish(false);
    match retry_iam(|| call.clone().send(), "CreateFunction", &res).await {
        Ok(_) => {}
        // Created by an interrupted run: the next deploy's plan updates it.
        Err(AwsError::Call { code, .. }) if code == "ResourceConflictException" => {}
        Err(e) => return Err(e),
    }
    wait_updated(aws, name).await
}

/// Lambda refuses a role IAM has not propagated yet; retry only on that message, bounded.
async fn retry_iam<T, E, F, Fut>(mut call: F, op: &str, res: &str) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::fmt::Display,
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
async fn wait_updated(aws: &Aws, name: &str) -> Result<(), AwsError> {
    let res = format!("Lambda function {name}");
    let started = Instant::now();
    loop {
        let c = aws
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(call_err("GetFunctionConfiguration", &res))?;
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
