//! The REST API in API Gateway v1: found by name (ours preferred among look-alikes), read (the
//! resource tree with its methods, the stage's deployment), and changed step by step.
//! Planning: `plan::rest_api`.

use std::collections::BTreeMap;

use aws_sdk_apigateway::types::{IntegrationType, Op, PatchOperation};

use super::context::{Applying, RestIds};
use super::once::{create_once, unretried};
use super::{Aws, AwsError, NOT_FOUND, all_pages, call_err, is_code, prefer_ours, tolerate};
use crate::plan::naming::{api_name, sorted};
use crate::plan::rest_api::{
    ObservedResource, RestSettings, RestStageSettings, cors_signature, deployment_description,
};
use crate::plan::{Desired, Observed, ObservedRestApi, RestApiStep, split_route};
use aws_sdk_apigateway::Config;
use aws_sdk_apigateway::types::RestApi;

pub async fn observe(aws: &Aws, d: &Desired) -> Result<Option<ObservedRestApi>, AwsError> {
    let name = d
        .rest_api
        .as_ref()
        .map_or_else(|| api_name(&d.service, &d.stage), |a| a.name.clone());
    let res = format!("REST API {name}");
    let all = all_rest_apis(aws, &res).await?;
    let found = prefer_ours(&all, &name, d, |a| a.name(), |a| a.tags()).map(|(a, is_owned)| {
        let settings = RestSettings {
            description: a.description().unwrap_or_default().to_string(),
            binary_media_types: sorted(Some(a.binary_media_types().to_vec())),
            minimum_compression_size: a.minimum_compression_size(),
        };
        (a.id().unwrap_or_default().to_string(), is_owned, settings)
    });
    let Some((id, owned, settings)) = found else {
        return Ok(None);
    };
    let mut o = ObservedRestApi {
        id: id.clone(),
        name,
        owned,
        resources: BTreeMap::new(),
        deployed: None,
        settings,
        stage_settings: None,
    };
    if !owned {
        return Ok(Some(o));
    }
    let (resources, deployed) =
        tokio::join!(resources(aws, &id, &res), deployed(aws, d, &id, &res));
    o.resources = resources?;
    (o.deployed, o.stage_settings) = deployed?;
    Ok(Some(o))
}

/// Every REST API of the region: ours may be on a later page than a look-alike of its name.
async fn all_rest_apis(aws: &Aws, res: &str) -> Result<Vec<RestApi>, AwsError> {
    all_pages(|position| async {
        let p = aws
            .apigw
            .get_rest_apis()
            .set_position(position)
            .limit(500)
            .send()
            .await
            .map_err(call_err("GetRestApis", res))?;
        Ok((p.items().to_vec(), p.position().map(str::to_string)))
    })
    .await
}

async fn resources(
    aws: &Aws,
    id: &str,
    res: &str,
) -> Result<BTreeMap<String, ObservedResource>, AwsError> {
    let all = all_pages(|position| async {
        let page = aws
            .apigw
            .get_resources()
            .rest_api_id(id)
            .embed("methods")
            .limit(500)
            .set_position(position)
            .send()
            .await
            .map_err(call_err("GetResources", res))?;
        Ok((page.items().to_vec(), page.position().map(str::to_string)))
    })
    .await?;
    Ok(all
        .iter()
        .map(|r| {
            let methods = r
                .resource_methods()
                .map(|m| {
                    m.iter()
                        .map(|(verb, method)| (verb.clone(), method_target(method)))
                        .collect()
                })
                .unwrap_or_default();
            let resource = ObservedResource {
                id: r.id().unwrap_or_default().to_string(),
                methods,
            };
            (r.path().unwrap_or("/").to_string(), resource)
        })
        .collect())
}

/// The description of the deployment the stage serves, and the stage's metrics and tracing.
async fn deployed(
    aws: &Aws,
    d: &Desired,
    id: &str,
    res: &str,
) -> Result<(Option<String>, Option<RestStageSettings>), AwsError> {
    let stages = aws
        .apigw
        .get_stages()
        .rest_api_id(id)
        .send()
        .await
        .map_err(call_err("GetStages", res))?;
    let stage = stages
        .item()
        .iter()
        .find(|s| s.stage_name() == Some(d.stage.as_str()));
    let settings = stage.map(|s| RestStageSettings {
        metrics: s
            .method_settings()
            .and_then(|m| m.get("*/*"))
            .is_some_and(|m| m.metrics_enabled()),
        tracing: s.tracing_enabled(),
    });
    let deployment = stage.and_then(|s| s.deployment_id().map(str::to_string));
    let Some(deployment) = deployment else {
        return Ok((None, settings));
    };
    match aws
        .apigw
        .get_deployment()
        .rest_api_id(id)
        .deployment_id(&deployment)
        .send()
        .await
    {
        Ok(got) => Ok((
            Some(got.description().unwrap_or_default().to_string()),
            settings,
        )),
        Err(e) if is_code(&e, NOT_FOUND) => Ok((None, settings)),
        Err(e) => Err(call_err("GetDeployment", res)(e)),
    }
}

/// What a REST method runs: its Lambda integration URI, or the CORS headers of a mock.
fn method_target(m: &aws_sdk_apigateway::types::Method) -> String {
    let Some(i) = m.method_integration() else {
        return String::new();
    };
    if i.r#type() == Some(&IntegrationType::Mock) {
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

/// The ids of ours as observed, for the steps that add to it.
pub fn known(o: &Observed) -> RestIds {
    let Some(api) = o.rest_api.as_ref().filter(|a| a.owned) else {
        return RestIds::default();
    };
    RestIds {
        id: Some(api.id.clone()),
        resources: api
            .resources
            .iter()
            .map(|(p, r)| (p.clone(), r.id.clone()))
            .collect(),
    }
}

pub async fn apply(cx: &Applying<'_>, step: &RestApiStep) -> Result<(), AwsError> {
    let (aws, d) = (cx.aws, cx.d);
    let id = || cx.known().rest.id.clone().unwrap_or_default();
    let resource = |path: &str| {
        cx.known()
            .rest
            .resources
            .get(path)
            .cloned()
            .unwrap_or_default()
    };
    match step {
        RestApiStep::CreateRestApi { api } => {
            let settings = d
                .rest_api
                .as_ref()
                .map(|a| a.settings.clone())
                .unwrap_or_default();
            let call = aws
                .apigw
                .create_rest_api()
                .name(api)
                .set_description((!settings.description.is_empty()).then_some(settings.description))
                .set_binary_media_types(
                    (!settings.binary_media_types.is_empty())
                        .then_some(settings.binary_media_types),
                )
                .set_minimum_compression_size(settings.minimum_compression_size)
                .set_tags(Some(d.tags.clone().into_iter().collect()));
            let res = format!("REST API {api}");
            let (made_id, root) = create_once(
                "CreateRestApi",
                &res,
                || async {
                    unretried!(call, Config)
                        .await
                        .map(|a| (a.id, a.root_resource_id))
                },
                || async {
                    let all = all_rest_apis(aws, &res).await?;
                    Ok(prefer_ours(&all, api, d, |a| a.name(), |a| a.tags())
                        .filter(|(_, ours)| *ours)
                        .map(|(a, _)| (a.id.clone(), a.root_resource_id.clone())))
                },
            )
            .await?;
            let mut k = cx.known();
            k.rest.id = made_id;
            if let Some(root) = root {
                k.rest.resources.insert("/".into(), root);
            }
        }
        RestApiStep::UpdateRestApiSettings { api, .. } => {
            let want = d
                .rest_api
                .as_ref()
                .map(|a| a.settings.clone())
                .unwrap_or_default();
            let have =
                cx.o.rest_api
                    .as_ref()
                    .map(|a| a.settings.clone())
                    .unwrap_or_default();
            aws.apigw
                .update_rest_api()
                .rest_api_id(id())
                .set_patch_operations(Some(settings_patch(&want, &have)))
                .send()
                .await
                .map_err(call_err("UpdateRestApi", &format!("REST API {api}")))?;
        }
        RestApiStep::CreateRestResource { path } => {
            let (parent, part) = path.rsplit_once('/').unwrap_or(("", path));
            let parent = if parent.is_empty() { "/" } else { parent };
            let api_id = id();
            let res = format!("resource {path} of REST API {api_id}");
            let call = aws
                .apigw
                .create_resource()
                .rest_api_id(&api_id)
                .parent_id(resource(parent))
                .path_part(part);
            let made = create_once(
                "CreateResource",
                &res,
                || async { unretried!(call, Config).await.map(|r| r.id) },
                || async {
                    let have = resources(aws, &api_id, &res).await?;
                    Ok(have.get(path).map(|r| Some(r.id.clone())))
                },
            )
            .await?;
            cx.known()
                .rest
                .resources
                .insert(path.clone(), made.unwrap_or_default());
        }
        RestApiStep::PutRestMethod { route, function } => {
            let (method, path) = split_route(route);
            let (api_id, resource_id) = (id(), resource(path));
            let res = format!("method {route} of REST API {api_id}");
            let r = aws
                .apigw
                .put_method()
                .rest_api_id(&api_id)
                .resource_id(&resource_id)
                .http_method(method)
                .authorization_type("NONE")
                .send()
                .await;
            tolerate(r, &["ConflictException"], "PutMethod", &res)?;
            aws.apigw
                .put_integration()
                .rest_api_id(&api_id)
                .resource_id(&resource_id)
                .http_method(method)
                .r#type(IntegrationType::AwsProxy)
                .integration_http_method("POST")
                .uri(format!(
                    "arn:{}:apigateway:{}:lambda:path/2015-03-31/functions/{}/invocations",
                    crate::plan::partition(&aws.region).0,
                    aws.region,
                    cx.alias_arn(function)
                ))
                .send()
                .await
                .map_err(call_err("PutIntegration", &res))?;
        }
        RestApiStep::PutRestCors { path } => {
            let headers = d
                .rest_api
                .as_ref()
                .and_then(|a| a.cors.get(path))
                .cloned()
                .unwrap_or_default();
            put_cors(aws, &id(), &resource(path), path, &headers).await?;
        }
        RestApiStep::DeleteRestMethod { route } => {
            let (method, path) = split_route(route);
            let api_id = id();
            let r = aws
                .apigw
                .delete_method()
                .rest_api_id(&api_id)
                .resource_id(resource(path))
                .http_method(method)
                .send()
                .await;
            tolerate(
                r,
                NOT_FOUND,
                "DeleteMethod",
                &format!("method {route} of REST API {api_id}"),
            )?;
        }
        RestApiStep::DeleteRestResource { path } => {
            let api_id = id();
            let r = aws
                .apigw
                .delete_resource()
                .rest_api_id(&api_id)
                .resource_id(resource(path))
                .send()
                .await;
            tolerate(
                r,
                NOT_FOUND,
                "DeleteResource",
                &format!("resource {path} of REST API {api_id}"),
            )?;
        }
        RestApiStep::DeployRestApi { api, stage } => {
            aws.apigw
                .create_deployment()
                .rest_api_id(id())
                .stage_name(stage)
                .description(deployment_description(d))
                .send()
                .await
                .map_err(call_err("CreateDeployment", &format!("REST API {api}")))?;
        }
        RestApiStep::UpdateRestStage { api, stage } => {
            let want = d
                .rest_api
                .as_ref()
                .map(|a| a.stage_settings)
                .unwrap_or_default();
            let op = |path: &str, on: bool| {
                PatchOperation::builder()
                    .op(Op::Replace)
                    .path(path)
                    .value(on.to_string())
                    .build()
            };
            aws.apigw
                .update_stage()
                .rest_api_id(id())
                .stage_name(stage)
                .patch_operations(op("/*/*/metrics/enabled", want.metrics))
                .patch_operations(op("/tracingEnabled", want.tracing))
                .send()
                .await
                .map_err(call_err("UpdateStage", &format!("REST API {api}")))?;
        }
        RestApiStep::DeleteRestApi { api, api_id } => {
            let r = aws.apigw.delete_rest_api().rest_api_id(api_id).send().await;
            tolerate(
                r,
                NOT_FOUND,
                "DeleteRestApi",
                &format!("REST API {api} ({api_id})"),
            )?;
        }
    }
    Ok(())
}

/// An `OPTIONS` method answered by API Gateway itself (a mock) with the CORS headers, as
/// Serverless v3 does for `cors:` on an `http` event.
async fn put_cors(
    aws: &Aws,
    id: &str,
    resource: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let res = format!("method OPTIONS {path} of REST API {id}");
    let param = |h: &String| format!("method.response.header.{h}");
    let r = aws
        .apigw
        .put_method()
        .rest_api_id(id)
        .resource_id(resource)
        .http_method("OPTIONS")
        .authorization_type("NONE")
        .send()
        .await;
    tolerate(r, &["ConflictException"], "PutMethod", &res)?;
    let r = aws
        .apigw
        .put_method_response()
        .rest_api_id(id)
        .resource_id(resource)
        .http_method("OPTIONS")
        .status_code("200")
        .set_response_parameters(Some(headers.keys().map(|h| (param(h), false)).collect()))
        .send()
        .await;
    tolerate(r, &["ConflictException"], "PutMethodResponse", &res)?;
    aws.apigw
        .put_integration()
        .rest_api_id(id)
        .resource_id(resource)
        .http_method("OPTIONS")
        .r#type(IntegrationType::Mock)
        .request_templates("application/json", "{\"statusCode\": 200}")
        .send()
        .await
        .map_err(call_err("PutIntegration", &res))?;
    aws.apigw
        .put_integration_response()
        .rest_api_id(id)
        .resource_id(resource)
        .http_method("OPTIONS")
        .status_code("200")
        .set_response_parameters(Some(
            headers
                .iter()
                .map(|(h, v)| (param(h), format!("'{v}'")))
                .collect(),
        ))
        .response_templates("application/json", "")
        .send()
        .await
        .map_err(call_err("PutIntegrationResponse", &res))?;
    Ok(())
}

/// The patch operations that take the API's settings from `have` to `want`. A media type sits in
/// the path with `/` written `~1` (JSON Pointer), as API Gateway expects; an empty value
/// removes the description or turns compression off.
fn settings_patch(want: &RestSettings, have: &RestSettings) -> Vec<PatchOperation> {
    let op = |op: Op, path: String, value: Option<String>| {
        PatchOperation::builder()
            .op(op)
            .path(path)
            .set_value(value)
            .build()
    };
    let mut ops = Vec::new();
    if want.description != have.description {
        ops.push(op(
            Op::Replace,
            "/description".into(),
            Some(want.description.clone()),
        ));
    }
    if want.minimum_compression_size != have.minimum_compression_size {
        let value = want
            .minimum_compression_size
            .map_or_else(String::new, |n| n.to_string());
        ops.push(op(
            Op::Replace,
            "/minimumCompressionSize".into(),
            Some(value),
        ));
    }
    let pointer = |t: &str| {
        format!(
            "/binaryMediaTypes/{}",
            t.replace('~', "~0").replace('/', "~1")
        )
    };
    for t in &have.binary_media_types {
        if !want.binary_media_types.contains(t) {
            ops.push(op(Op::Remove, pointer(t), None));
        }
    }
    for t in &want.binary_media_types {
        if !have.binary_media_types.contains(t) {
            ops.push(op(Op::Add, pointer(t), None));
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_become_api_gateways_patch_operations() {
        let have = RestSettings {
            description: "old".into(),
            binary_media_types: vec!["image/png".into()],
            minimum_compression_size: Some(1024),
        };
        let want = RestSettings {
            description: String::new(),
            binary_media_types: vec!["application/octet-stream".into()],
            minimum_compression_size: None,
        };
        let shown: Vec<String> = settings_patch(&want, &have)
            .iter()
            .map(|o| {
                format!(
                    "{} {} {}",
                    o.op().map_or("", |o| o.as_str()),
                    o.path().unwrap_or_default(),
                    o.value().unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "replace /description ",
                "replace /minimumCompressionSize ",
                "remove /binaryMediaTypes/image~1png -",
                "add /binaryMediaTypes/application~1octet-stream -",
            ]
        );
        assert!(settings_patch(&want, &want).is_empty());
    }
}
