//! Carries out a plan, step by step in the plan's order. Every step is safe to repeat, so a
//! deploy interrupted anywhere converges when it is run again.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, EphemeralStorage, FunctionCode, Runtime};
use serde::Serialize;

use super::observe::policy_name;
use super::{Aws, AwsError, account_of, call_err, is_code};
use crate::plan::{Desired, FunctionSpec, HTTP_API_PERMISSION, Observed, Step};

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com"]},"Action":["sts:AssumeRole"]}]}"#;
/// How long to wait for a new role to become usable by Lambda (IAM is eventually consistent).
const IAM_WAIT: Duration = Duration::from_secs(150);

/// What a deploy leaves behind, for the summary and `--json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub endpoints: Vec<String>,
    /// Function key → the version its alias points at, when this run published one.
    pub versions: BTreeMap<String, String>,
}

struct State {
    role_arn: Option<String>,
    api_id: Option<String>,
    endpoint: Option<String>,
    /// Function key → integration id.
    integrations: HashMap<String, String>,
    routes: HashMap<String, String>,
    has_alias: HashMap<String, bool>,
}

pub async fn execute(
    aws: &Aws,
    d: &Desired,
    o: &Observed,
    steps: &[Step],
    artifacts_dir: &Path,
    on_step: &mut dyn FnMut(&Step, Duration),
) -> Result<Outcome, AwsError> {
    let mut st = State {
        role_arn: o.role.as_ref().map(|r| r.arn.clone()),
        api_id: o
            .http_api
            .as_ref()
            .filter(|a| a.owned)
            .map(|a| a.id.clone()),
        endpoint: o
            .http_api
            .as_ref()
            .filter(|a| a.owned)
            .map(|a| a.endpoint.clone()),
        integrations: HashMap::new(),
        routes: HashMap::new(),
        has_alias: o
            .functions
            .iter()
            .map(|(n, f)| (n.clone(), f.alias.is_some()))
            .collect(),
    };
    if let Some(api) = o.http_api.as_ref().filter(|a| a.owned) {
        for f in &d.functions {
            let suffix = crate::plan::alias_arn_suffix(d, &f.key);
            if let Some((id, _)) = api.integrations.iter().find(|(_, u)| u.ends_with(&suffix)) {
                st.integrations.insert(f.key.clone(), id.clone());
            }
        }
        st.routes = api
            .routes
            .iter()
            .map(|(k, (id, _))| (k.clone(), id.clone()))
            .collect();
    }
    let mut outcome = Outcome::default();
    for step in steps {
        let started = Instant::now();
        run(aws, d, step, artifacts_dir, &mut st, &mut outcome).await?;
        on_step(step, started.elapsed());
    }
    if let (Some(api), Some(endpoint)) = (&d.http_api, &st.endpoint) {
        outcome.endpoints = crate::plan::endpoints(api.routes.keys(), endpoint);
    }
    Ok(outcome)
}

fn spec<'a>(d: &'a Desired, key: &str) -> &'a FunctionSpec {
    d.functions
        .iter()
        .find(|f| f.key == key)
        .expect("the plan names desired functions")
}

fn function_arn(aws: &Aws, st: &State, name: &str) -> String {
    let account = st
        .role_arn
        .as_deref()
        .and_then(account_of)
        .unwrap_or("000000000000");
    format!("arn:aws:lambda:{}:{account}:function:{name}", aws.region)
}

async fn run(
    aws: &Aws,
    d: &Desired,
    step: &Step,
    dir: &Path,
    st: &mut State,
    out: &mut Outcome,
) -> Result<(), AwsError> {
    match step {
        Step::CreateRole { name } => {
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
                // Created by an interrupted run: carry on with it.
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
            st.role_arn = arn;
            put_policy(aws, d).await?;
        }
        Step::UpdateRolePolicy { .. } => put_policy(aws, d).await?,
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
        Step::CreateFunction { function, name } => {
            create_function(aws, spec(d, function), name, dir, st).await?
        }
        Step::UpdateFunctionCode { function, name, .. } => {
            let f = spec(d, function);
            let res = format!("Lambda function {name}");
            aws.lambda
                .update_function_code()
                .function_name(name)
                .zip_file(zip_bytes(dir, f)?)
                .send()
                .await
                .map_err(call_err("UpdateFunctionCode", &res))?;
            wait_updated(aws, name).await?;
        }
        Step::UpdateFunctionConfiguration { function, name, .. } => {
            let f = spec(d, function);
            let c = &f.config;
            let res = format!("Lambda function {name}");
            let mut call = aws
                .lambda
                .update_function_configuration()
                .function_name(name)
                .runtime(Runtime::from(c.runtime.as_str()))
                .handler(&c.handler)
                .memory_size(c.memory_size)
                .timeout(c.timeout)
                .description(&c.description)
                .environment(env(c))
                .ephemeral_storage(storage(c)?);
            if let Some(arn) = &st.role_arn {
                call = call.role(arn);
            }
            retry_iam(|| call.clone().send(), "UpdateFunctionConfiguration", &res).await?;
            wait_updated(aws, name).await?;
        }
        Step::TagFunction { function, name } => {
            let f = spec(d, function);
            aws.lambda
                .tag_resource()
                .resource(function_arn(aws, st, name))
                .set_tags(Some(f.tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(call_err("TagResource", &format!("Lambda function {name}")))?;
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
            let alias_res = format!("{res}:{alias}");
            // Update when the alias exists, or when an interrupted run created it after we
            // looked; create it otherwise.
            let update = if st.has_alias.get(name).copied().unwrap_or(false) {
                true
            } else {
                match aws
                    .lambda
                    .create_alias()
                    .function_name(name)
                    .name(alias)
                    .function_version(&version)
                    .send()
                    .await
                {
                    Ok(_) => false,
                    Err(e) if is_code(&e, &["ResourceConflictException"]) => true,
                    Err(e) => return Err(call_err("CreateAlias", &alias_res)(e)),
                }
            };
            if update {
                aws.lambda
                    .update_alias()
                    .function_name(name)
                    .name(alias)
                    .function_version(&version)
                    .send()
                    .await
                    .map_err(call_err("UpdateAlias", &alias_res))?;
            }
            st.has_alias.insert(name.clone(), true);
            out.versions.insert(function.clone(), version);
        }
        Step::DeleteFunction { name } => delete_function(aws, name).await?,
        Step::CreateHttpApi { name } => {
            let mut call = aws
                .apigw2
                .create_api()
                .name(name)
                .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
                .set_tags(Some(d.tags.clone().into_iter().collect()));
            if d.http_api.as_ref().is_some_and(|a| a.cors) {
                call = call.cors_configuration(
                    aws_sdk_apigatewayv2::types::Cors::builder()
                        .allow_origins("*")
                        .allow_headers("Content-Type")
                        .allow_headers("Authorization")
                        .allow_headers("X-Amz-Date")
                        .allow_headers("X-Api-Key")
                        .allow_headers("X-Amz-Security-Token")
                        .allow_methods("*")
                        .build(),
                );
            }
            let api = call
                .send()
                .await
                .map_err(call_err("CreateApi", &format!("HTTP API {name}")))?;
            st.api_id = api.api_id().map(str::to_string);
            st.endpoint = api.api_endpoint().map(str::to_string);
        }
        Step::CreateHttpStage { api } => {
            let id = st.api_id.clone().unwrap_or_default();
            match aws
                .apigw2
                .create_stage()
                .api_id(&id)
                .stage_name("$default")
                .auto_deploy(true)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, &["ConflictException"]) => {}
                Err(e) => return Err(call_err("CreateStage", &format!("HTTP API {api}"))(e)),
            }
        }
        Step::CreateIntegration { function } => {
            let f = spec(d, function);
            let id = st.api_id.clone().unwrap_or_default();
            let uri = format!("{}:{}", function_arn(aws, st, &f.name), d.alias);
            let integ = aws
                .apigw2
                .create_integration()
                .api_id(&id)
                .integration_type(aws_sdk_apigatewayv2::types::IntegrationType::AwsProxy)
                .integration_uri(uri)
                .payload_format_version("2.0")
                .send()
                .await
                .map_err(call_err("CreateIntegration", &format!("HTTP API {id}")))?;
            st.integrations.insert(
                function.clone(),
                integ.integration_id().unwrap_or_default().to_string(),
            );
        }
        Step::CreateRoute { route, function } | Step::UpdateRoute { route, function } => {
            let id = st.api_id.clone().unwrap_or_default();
            let target = format!(
                "integrations/{}",
                st.integrations.get(function).cloned().unwrap_or_default()
            );
            let res = format!("route {route} of HTTP API {id}");
            match st.routes.get(route) {
                Some(route_id) => {
                    aws.apigw2
                        .update_route()
                        .api_id(&id)
                        .route_id(route_id)
                        .target(target)
                        .send()
                        .await
                        .map_err(call_err("UpdateRoute", &res))?;
                }
                None => {
                    let r = aws
                        .apigw2
                        .create_route()
                        .api_id(&id)
                        .route_key(route)
                        .target(target)
                        .send()
                        .await
                        .map_err(call_err("CreateRoute", &res))?;
                    st.routes
                        .insert(route.clone(), r.route_id().unwrap_or_default().to_string());
                }
            }
        }
        Step::DeleteRoute { route } => {
            let id = st.api_id.clone().unwrap_or_default();
            if let Some(route_id) = st.routes.remove(route) {
                aws.apigw2
                    .delete_route()
                    .api_id(&id)
                    .route_id(route_id)
                    .send()
                    .await
                    .map_err(call_err(
                        "DeleteRoute",
                        &format!("route {route} of HTTP API {id}"),
                    ))?;
            }
        }
        Step::AddPermission { name, .. } => {
            let res = format!("Lambda function {name}:{}", d.alias);
            let account = st
                .role_arn
                .as_deref()
                .and_then(account_of)
                .unwrap_or("000000000000")
                .to_string();
            let source = format!(
                "arn:aws:execute-api:{}:{account}:{}/*",
                aws.region,
                st.api_id.clone().unwrap_or_default()
            );
            // Replace rather than add twice: the statement id is fixed.
            match aws
                .lambda
                .remove_permission()
                .function_name(name)
                .qualifier(&d.alias)
                .statement_id(HTTP_API_PERMISSION)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => {}
                Err(e) => return Err(call_err("RemovePermission", &res)(e)),
            }
            aws.lambda
                .add_permission()
                .function_name(name)
                .qualifier(&d.alias)
                .statement_id(HTTP_API_PERMISSION)
                .action("lambda:InvokeFunction")
                .principal("apigateway.amazonaws.com")
                .source_arn(source)
                .send()
                .await
                .map_err(call_err("AddPermission", &res))?;
        }
    }
    Ok(())
}

/// Deletes a function; one already gone counts as deleted (a re-run after an interruption).
pub async fn delete_function(aws: &Aws, name: &str) -> Result<(), AwsError> {
    match aws
        .lambda
        .delete_function()
        .function_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
        Err(e) => Err(call_err(
            "DeleteFunction",
            &format!("Lambda function {name}"),
        )(e)),
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
    aws: &Aws,
    f: &FunctionSpec,
    name: &str,
    dir: &Path,
    st: &State,
) -> Result<(), AwsError> {
    let res = format!("Lambda function {name}");
    let c = &f.config;
    let role = st
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
        .code(FunctionCode::builder().zip_file(zip_bytes(dir, f)?).build())
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
