//! Reads what exists for a service and stage: the role, the functions (their $LATEST and the
//! version behind the alias), the functions tagged for the service that the config no longer
//! has, and the HTTP API. Only Get/List calls.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Aws, AwsError, aliases, call_err, is_code, percent_decode};
use crate::plan::desired::{TAG_SERVICE, TAG_STAGE, api_name};
use crate::plan::{
    Desired, FunctionConfig, Observed, ObservedApi, ObservedFunction, ObservedResource,
    ObservedRestApi, ObservedRole, ObservedVersion, cors_signature,
};

const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NotFoundException",
];

/// The inline policy's name on the role (Serverless v3 names it `{service}-{stage}-lambda`).
pub fn policy_name(d: &Desired) -> String {
    format!("{}-{}-lambda", d.service, d.stage)
}

fn owned(tags: &BTreeMap<String, String>, d: &Desired) -> bool {
    tags.get(TAG_SERVICE) == Some(&d.service) && tags.get(TAG_STAGE) == Some(&d.stage)
}

/// Reads the observed state. `whole` also looks for functions the config no longer has and
/// for the HTTP API; `deploy function` leaves it off and reads only its function and the role.
pub async fn observe(aws: &Aws, d: &Desired, whole: bool) -> Result<Observed, AwsError> {
    let mut o = Observed {
        role: role(aws, d).await?,
        ..Default::default()
    };
    for f in &d.functions {
        if let Some(of) = function(aws, d, &f.name).await? {
            o.functions.insert(f.name.clone(), of);
        }
    }
    if !whole {
        return Ok(o);
    }
    for name in tagged_functions(aws, d).await? {
        if !o.functions.contains_key(&name)
            && let Some(of) = function(aws, d, &name).await?
        {
            o.functions.insert(name, of);
        }
    }
    let api = d
        .http_api
        .as_ref()
        .map_or_else(|| api_name(&d.service, &d.stage), |a| a.name.clone());
    o.http_api = http_api(aws, d, &api).await?;
    let rest = d
        .rest_api
        .as_ref()
        .map_or_else(|| api_name(&d.service, &d.stage), |a| a.name.clone());
    o.rest_api = rest_api(aws, d, &rest).await?;
    Ok(o)
}

async fn role(aws: &Aws, d: &Desired) -> Result<Option<ObservedRole>, AwsError> {
    let name = &d.role.name;
    let got = match aws.iam.get_role().role_name(name).send().await {
        Ok(r) => r,
        Err(e) if is_code(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(call_err("GetRole", &format!("IAM role {name}"))(e)),
    };
    let Some(r) = got.role() else { return Ok(None) };
    let mut tags: BTreeMap<String, String> = r
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    if tags.is_empty() {
        // Some endpoints leave tags out of GetRole.
        let listed = aws
            .iam
            .list_role_tags()
            .role_name(name)
            .send()
            .await
            .map_err(call_err("ListRoleTags", &format!("IAM role {name}")))?;
        tags = listed
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
    }
    let policy = match aws
        .iam
        .get_role_policy()
        .role_name(name)
        .policy_name(policy_name(d))
        .send()
        .await
    {
        Ok(p) => serde_json::from_str::<Value>(&percent_decode(p.policy_document())).ok(),
        Err(e) if is_code(&e, NOT_FOUND) => None,
        Err(e) => return Err(call_err("GetRolePolicy", &format!("IAM role {name}"))(e)),
    };
    let attached = aws
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(call_err(
            "ListAttachedRolePolicies",
            &format!("IAM role {name}"),
        ))?;
    Ok(Some(ObservedRole {
        arn: r.arn().to_string(),
        owned: owned(&tags, d),
        policy,
        managed_policies: attached
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect(),
    }))
}

fn config_of(c: &aws_sdk_lambda::types::FunctionConfiguration) -> FunctionConfig {
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
    }
}

async fn function(
    aws: &Aws,
    d: &Desired,
    name: &str,
) -> Result<Option<ObservedFunction>, AwsError> {
    let resource = format!("Lambda function {name}");
    let got = match aws.lambda.get_function().function_name(name).send().await {
        Ok(f) => f,
        Err(e) if is_code(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(call_err("GetFunction", &resource)(e)),
    };
    let Some(c) = got.configuration() else {
        return Ok(None);
    };
    let tags: BTreeMap<String, String> = got
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let is_owned = owned(&tags, d);
    let mut of = ObservedFunction {
        arn: c.function_arn().unwrap_or_default().to_string(),
        owned: is_owned,
        sha256: c.code_sha256().unwrap_or_default().to_string(),
        config: config_of(c),
        role: c.role().unwrap_or_default().to_string(),
        tags,
        alias: None,
        permissions: BTreeMap::new(),
        reserved_concurrency: got
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        url: None,
        versions: None,
    };
    if !is_owned {
        return Ok(Some(of));
    }
    match aws
        .lambda
        .get_function()
        .function_name(name)
        .qualifier(&d.alias)
        .send()
        .await
    {
        Ok(v) => {
            if let Some(vc) = v.configuration() {
                of.alias = Some(ObservedVersion {
                    version: vc.version().unwrap_or_default().to_string(),
                    sha256: vc.code_sha256().unwrap_or_default().to_string(),
                    config: config_of(vc),
                });
            }
        }
        Err(e) if is_code(&e, NOT_FOUND) => {}
        Err(e) => {
            return Err(call_err("GetFunction", &format!("{resource}:{}", d.alias))(
                e,
            ));
        }
    }
    if of.alias.is_some() {
        match aws
            .lambda
            .get_policy()
            .function_name(name)
            .qualifier(&d.alias)
            .send()
            .await
        {
            Ok(p) => of.permissions = statements(p.policy().unwrap_or_default()),
            Err(e) if is_code(&e, NOT_FOUND) => {}
            Err(e) => return Err(call_err("GetPolicy", &format!("{resource}:{}", d.alias))(e)),
        }
        if d.alias != d.live {
            of.url = aliases::url(aws, name, &d.alias).await?;
        }
    }
    if d.version_retention.is_some() {
        of.versions = Some(aliases::versions_in_use(aws, name).await?);
    }
    Ok(Some(of))
}

/// Statement id → source ARN of a Lambda resource policy document.
fn statements(policy: &str) -> BTreeMap<String, String> {
    let Ok(v) = serde_json::from_str::<Value>(policy) else {
        return BTreeMap::new();
    };
    v["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let sid = s["Sid"].as_str()?.to_string();
            let source = s["Condition"]["ArnLike"]["AWS:SourceArn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Some((sid, source))
        })
        .collect()
}

/// Functions named like this service and stage's (`{service}-{stage}-…`) whose tags say
/// they are ours.
async fn tagged_functions(aws: &Aws, d: &Desired) -> Result<Vec<String>, AwsError> {
    let prefix = format!("{}-{}-", d.service, d.stage);
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let page = aws
            .lambda
            .list_functions()
            .set_marker(marker)
            .send()
            .await
            .map_err(call_err("ListFunctions", "Lambda functions"))?;
        names.extend(
            page.functions()
                .iter()
                .filter_map(|f| f.function_name())
                .filter(|n| n.starts_with(&prefix))
                .map(str::to_string),
        );
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            return Ok(names);
        }
    }
}

/// Among the items named `name`, ours when several share the name, else the first; with
/// whether it is ours.
fn prefer_ours<'a, T>(
    items: &'a [T],
    name: &str,
    d: &Desired,
    name_of: impl Fn(&T) -> Option<&str>,
    tags_of: impl Fn(&T) -> Option<&std::collections::HashMap<String, String>>,
) -> Option<(&'a T, bool)> {
    let is_ours = |item: &T| {
        let tags: BTreeMap<String, String> = tags_of(item)
            .map(|t| t.clone().into_iter().collect())
            .unwrap_or_default();
        owned(&tags, d)
    };
    let named = || items.iter().filter(|i| name_of(i) == Some(name));
    named()
        .find(|i| is_ours(i))
        .map(|i| (i, true))
        .or_else(|| named().next().map(|i| (i, false)))
}

async fn http_api(aws: &Aws, d: &Desired, name: &str) -> Result<Option<ObservedApi>, AwsError> {
    let resource = format!("HTTP API {name}");
    let mut token = None;
    let found = loop {
        let page = aws
            .apigw2
            .get_apis()
            .set_next_token(token)
            .send()
            .await
            .map_err(call_err("GetApis", &resource))?;
        if let Some((a, is_owned)) = prefer_ours(page.items(), name, d, |a| a.name(), |a| a.tags())
        {
            break Some((a.clone(), is_owned));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break None;
        }
    };
    let Some((api, is_owned)) = found else {
        return Ok(None);
    };
    let id = api.api_id().unwrap_or_default().to_string();
    let mut o = ObservedApi {
        id: id.clone(),
        endpoint: api.api_endpoint().unwrap_or_default().to_string(),
        owned: is_owned,
        routes: BTreeMap::new(),
        integrations: BTreeMap::new(),
        has_default_stage: false,
    };
    if !o.owned {
        return Ok(Some(o));
    }
    let routes = aws
        .apigw2
        .get_routes()
        .api_id(&id)
        .send()
        .await
        .map_err(call_err("GetRoutes", &resource))?;
    for r in routes.items() {
        let integ = r
            .target()
            .and_then(|t| t.strip_prefix("integrations/"))
            .map(str::to_string);
        o.routes.insert(
            r.route_key().unwrap_or_default().to_string(),
            (r.route_id().unwrap_or_default().to_string(), integ),
        );
    }
    let integs = aws
        .apigw2
        .get_integrations()
        .api_id(&id)
        .send()
        .await
        .map_err(call_err("GetIntegrations", &resource))?;
    for i in integs.items() {
        o.integrations.insert(
            i.integration_id().unwrap_or_default().to_string(),
            i.integration_uri().unwrap_or_default().to_string(),
        );
    }
    let stages = aws
        .apigw2
        .get_stages()
        .api_id(&id)
        .send()
        .await
        .map_err(call_err("GetStages", &resource))?;
    o.has_default_stage = stages
        .items()
        .iter()
        .any(|s| s.stage_name() == Some("$default"));
    Ok(Some(o))
}

async fn rest_api(aws: &Aws, d: &Desired, name: &str) -> Result<Option<ObservedRestApi>, AwsError> {
    let resource = format!("REST API {name}");
    let mut position = None;
    let found = loop {
        let page = aws
            .apigw
            .get_rest_apis()
            .set_position(position)
            .limit(500)
            .send()
            .await
            .map_err(call_err("GetRestApis", &resource))?;
        if let Some((a, is_owned)) = prefer_ours(page.items(), name, d, |a| a.name(), |a| a.tags())
        {
            break Some((a.id().unwrap_or_default().to_string(), is_owned));
        }
        position = page.position().map(str::to_string);
        if position.is_none() {
            break None;
        }
    };
    let Some((id, is_owned)) = found else {
        return Ok(None);
    };
    let mut o = ObservedRestApi {
        id: id.clone(),
        owned: is_owned,
        resources: BTreeMap::new(),
        deployed: None,
    };
    if !is_owned {
        return Ok(Some(o));
    }
    let mut position = None;
    loop {
        let page = aws
            .apigw
            .get_resources()
            .rest_api_id(&id)
            .embed("methods")
            .limit(500)
            .set_position(position)
            .send()
            .await
            .map_err(call_err("GetResources", &resource))?;
        for r in page.items() {
            let methods = r
                .resource_methods()
                .map(|m| {
                    m.iter()
                        .map(|(verb, method)| (verb.clone(), method_target(method)))
                        .collect()
                })
                .unwrap_or_default();
            o.resources.insert(
                r.path().unwrap_or("/").to_string(),
                ObservedResource {
                    id: r.id().unwrap_or_default().to_string(),
                    methods,
                },
            );
        }
        position = page.position().map(str::to_string);
        if position.is_none() {
            break;
        }
    }
    let stage = d.stage.as_str();
    let stages = aws
        .apigw
        .get_stages()
        .rest_api_id(&id)
        .send()
        .await
        .map_err(call_err("GetStages", &resource))?;
    let deployment = stages
        .item()
        .iter()
        .find(|s| s.stage_name() == Some(stage))
        .and_then(|s| s.deployment_id().map(str::to_string));
    if let Some(deployment) = deployment {
        match aws
            .apigw
            .get_deployment()
            .rest_api_id(&id)
            .deployment_id(&deployment)
            .send()
            .await
        {
            Ok(got) => o.deployed = Some(got.description().unwrap_or_default().to_string()),
            Err(e) if is_code(&e, NOT_FOUND) => {}
            Err(e) => return Err(call_err("GetDeployment", &resource)(e)),
        }
    }
    Ok(Some(o))
}

/// What a REST method runs: its Lambda integration URI, or the CORS headers of a mock.
fn method_target(m: &aws_sdk_apigateway::types::Method) -> String {
    let Some(i) = m.method_integration() else {
        return String::new();
    };
    if i.r#type() == Some(&aws_sdk_apigateway::types::IntegrationType::Mock) {
        let headers: BTreeMap<String, String> = i
            .integration_responses()
            .and_then(|r| r.get("200"))
            .and_then(|r| r.response_parameters())
            .map(|p| {
                p.iter()
                    .filter_map(|(k, v)| {
                        let name = k.strip_prefix("method.response.header.")?;
                        Some((name.to_string(), v.trim_matches('\'').to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        return cors_signature(&headers);
    }
    i.uri().unwrap_or_default().to_string()
}
