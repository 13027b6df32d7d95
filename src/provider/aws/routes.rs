//! The steps after the functions: the HTTP API (v2) and the REST API (v1) that route to the
//! functions' aliases, the permissions that let them invoke the aliases, and deletions.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigateway::types::IntegrationType as RestIntegration;
use aws_sdk_apigatewayv2::types::{Cors, IntegrationType, ProtocolType};

use super::execute::{delete_function, function_arn};
use super::{Aws, AwsError, account_of, call_err, is_code};
use crate::plan::{self, ApiKind, Desired, Observed, Step, split_route};

/// What the API steps learn as they go: ids of what they create, on top of what was observed.
pub struct State {
    role_arn: Option<String>,
    http_id: Option<String>,
    http_endpoint: Option<String>,
    /// Function key → HTTP API integration id.
    integrations: HashMap<String, String>,
    /// Route key → HTTP API route id.
    routes: HashMap<String, String>,
    rest_id: Option<String>,
    /// REST resource path → resource id.
    resources: BTreeMap<String, String>,
}

impl State {
    pub fn new(d: &Desired, o: &Observed, role_arn: Option<String>) -> State {
        let http = o.http_api.as_ref().filter(|a| a.owned);
        let rest = o.rest_api.as_ref().filter(|a| a.owned);
        let mut integrations = HashMap::new();
        if let Some(api) = http {
            for f in &d.functions {
                let suffix = plan::alias_arn_suffix(d, &f.key);
                if let Some((id, _)) = api.integrations.iter().find(|(_, u)| u.ends_with(&suffix)) {
                    integrations.insert(f.key.clone(), id.clone());
                }
            }
        }
        State {
            role_arn,
            http_id: http.map(|a| a.id.clone()),
            http_endpoint: http.map(|a| a.endpoint.clone()),
            integrations,
            routes: http
                .map(|a| {
                    a.routes
                        .iter()
                        .map(|(k, (id, _))| (k.clone(), id.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            rest_id: rest.map(|a| a.id.clone()),
            resources: rest
                .map(|a| {
                    a.resources
                        .iter()
                        .map(|(p, r)| (p.clone(), r.id.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Every endpoint as `METHOD - URL`: the HTTP API's, then the REST API stage's.
    pub fn endpoints(&self, aws: &Aws, d: &Desired) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(api), Some(base)) = (&d.http_api, &self.http_endpoint) {
            out.extend(plan::endpoints(api.routes.keys(), base));
        }
        if let (Some(api), Some(id)) = (&d.rest_api, &self.rest_id) {
            out.extend(plan::endpoints(
                api.routes.keys(),
                &rest_base(id, &aws.region, &api.stage),
            ));
        }
        out
    }

    /// The ARN of a function's alias, which every integration targets.
    fn alias_arn(&self, aws: &Aws, d: &Desired, key: &str) -> String {
        let name = d
            .functions
            .iter()
            .find(|f| f.key == key)
            .map_or(key, |f| f.name.as_str());
        format!(
            "{}:{}",
            function_arn(aws, self.role_arn.as_deref(), name),
            d.live
        )
    }

    fn account(&self) -> &str {
        self.role_arn
            .as_deref()
            .and_then(account_of)
            .unwrap_or("000000000000")
    }

    fn http_id(&self) -> String {
        self.http_id.clone().unwrap_or_default()
    }

    fn rest_id(&self) -> String {
        self.rest_id.clone().unwrap_or_default()
    }

    fn resource(&self, path: &str) -> String {
        self.resources.get(path).cloned().unwrap_or_default()
    }
}

/// The invoke URL of a REST API stage.
pub fn rest_base(id: &str, region: &str, stage: &str) -> String {
    format!("https://{id}.execute-api.{region}.amazonaws.com/{stage}")
}

/// Treats "already there" (a re-run after an interruption) as done.
fn tolerate<T, E>(r: Result<T, E>, codes: &[&str], op: &str, res: &str) -> Result<(), AwsError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::fmt::Display,
{
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, codes) => Ok(()),
        Err(e) => Err(call_err(op, res)(e)),
    }
}

const GONE: &[&str] = &["NotFoundException", "ResourceNotFoundException"];

pub async fn run(
    aws: &Aws,
    d: &Desired,
    o: &Observed,
    step: &Step,
    st: &mut State,
) -> Result<(), AwsError> {
    match step {
        Step::CreateHttpApi { name } => {
            let mut call = aws
                .apigw2
                .create_api()
                .name(name)
                .protocol_type(ProtocolType::Http)
                .set_tags(Some(d.tags.clone().into_iter().collect()));
            if d.http_api.as_ref().is_some_and(|a| a.cors) {
                call = call.cors_configuration(
                    Cors::builder()
                        .allow_origins("*")
                        .set_allow_headers(Some(
                            crate::plan::desired::HTTP_API_CORS_HEADERS
                                .iter()
                                .map(|h| h.to_string())
                                .collect(),
                        ))
                        .allow_methods("*")
                        .build(),
                );
            }
            let api = call
                .send()
                .await
                .map_err(call_err("CreateApi", &format!("HTTP API {name}")))?;
            st.http_id = api.api_id().map(str::to_string);
            st.http_endpoint = api.api_endpoint().map(str::to_string);
        }
        Step::CreateHttpStage { api } => {
            let r = aws
                .apigw2
                .create_stage()
                .api_id(st.http_id())
                .stage_name("$default")
                .auto_deploy(true)
                .send()
                .await;
            tolerate(
                r,
                &["ConflictException"],
                "CreateStage",
                &format!("HTTP API {api}"),
            )?;
        }
        Step::CreateIntegration { function } => {
            let uri = st.alias_arn(aws, d, function);
            let id = st.http_id();
            let integ = aws
                .apigw2
                .create_integration()
                .api_id(&id)
                .integration_type(IntegrationType::AwsProxy)
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
            let id = st.http_id();
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
            let id = st.http_id();
            if let Some(route_id) = st.routes.remove(route) {
                let r = aws
                    .apigw2
                    .delete_route()
                    .api_id(&id)
                    .route_id(route_id)
                    .send()
                    .await;
                tolerate(
                    r,
                    GONE,
                    "DeleteRoute",
                    &format!("route {route} of HTTP API {id}"),
                )?;
            }
        }
        Step::DeleteHttpApi { name } => {
            if let Some(api) = &o.http_api {
                delete_http_api(aws, &api.id, name).await?;
            }
        }
        Step::CreateRestApi { name } => {
            let api = aws
                .apigw
                .create_rest_api()
                .name(name)
                .set_tags(Some(d.tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(call_err("CreateRestApi", &format!("REST API {name}")))?;
            st.rest_id = api.id().map(str::to_string);
            if let Some(root) = api.root_resource_id() {
                st.resources.insert("/".into(), root.to_string());
            }
        }
        Step::CreateRestResource { path } => {
            let (parent, part) = path.rsplit_once('/').unwrap_or(("", path));
            let parent = if parent.is_empty() { "/" } else { parent };
            let id = st.rest_id();
            let r = aws
                .apigw
                .create_resource()
                .rest_api_id(&id)
                .parent_id(st.resource(parent))
                .path_part(part)
                .send()
                .await
                .map_err(call_err(
                    "CreateResource",
                    &format!("resource {path} of REST API {id}"),
                ))?;
            st.resources
                .insert(path.clone(), r.id().unwrap_or_default().to_string());
        }
        Step::PutRestMethod { route, function } => {
            let (method, path) = split_route(route);
            let (id, resource) = (st.rest_id(), st.resource(path));
            let res = format!("method {route} of REST API {id}");
            let r = aws
                .apigw
                .put_method()
                .rest_api_id(&id)
                .resource_id(&resource)
                .http_method(method)
                .authorization_type("NONE")
                .send()
                .await;
            tolerate(r, &["ConflictException"], "PutMethod", &res)?;
            let target = st.alias_arn(aws, d, function);
            aws.apigw
                .put_integration()
                .rest_api_id(&id)
                .resource_id(&resource)
                .http_method(method)
                .r#type(RestIntegration::AwsProxy)
                .integration_http_method("POST")
                .uri(format!(
                    "arn:aws:apigateway:{}:lambda:path/2015-03-31/functions/{target}/invocations",
                    aws.region
                ))
                .send()
                .await
                .map_err(call_err("PutIntegration", &res))?;
        }
        Step::PutRestCors { path } => put_cors(aws, d, st, path).await?,
        Step::DeleteRestMethod { route } => {
            let (method, path) = split_route(route);
            let id = st.rest_id();
            let r = aws
                .apigw
                .delete_method()
                .rest_api_id(&id)
                .resource_id(st.resource(path))
                .http_method(method)
                .send()
                .await;
            tolerate(
                r,
                GONE,
                "DeleteMethod",
                &format!("method {route} of REST API {id}"),
            )?;
        }
        Step::DeleteRestResource { path } => {
            let id = st.rest_id();
            let r = aws
                .apigw
                .delete_resource()
                .rest_api_id(&id)
                .resource_id(st.resource(path))
                .send()
                .await;
            tolerate(
                r,
                GONE,
                "DeleteResource",
                &format!("resource {path} of REST API {id}"),
            )?;
        }
        Step::DeployRestApi { name, stage } => {
            aws.apigw
                .create_deployment()
                .rest_api_id(st.rest_id())
                .stage_name(stage)
                .description(plan::rest_deployment_description(d))
                .send()
                .await
                .map_err(call_err("CreateDeployment", &format!("REST API {name}")))?;
        }
        Step::DeleteRestApi { name } => {
            if let Some(api) = &o.rest_api {
                delete_rest_api(aws, &api.id, name).await?;
            }
        }
        Step::AddPermission { name, api, .. } => {
            let res = format!("Lambda function {name}:{}", d.live);
            let api_id = match api {
                ApiKind::HttpApi => st.http_id(),
                ApiKind::RestApi => st.rest_id(),
            };
            let source = format!(
                "arn:aws:execute-api:{}:{}:{api_id}/*",
                aws.region,
                st.account()
            );
            // Replace rather than add twice: the statement id is fixed.
            remove_permission(aws, name, &d.live, *api).await?;
            aws.lambda
                .add_permission()
                .function_name(name)
                .qualifier(&d.live)
                .statement_id(api.statement_id())
                .action("lambda:InvokeFunction")
                .principal("apigateway.amazonaws.com")
                .source_arn(source)
                .send()
                .await
                .map_err(call_err("AddPermission", &res))?;
        }
        Step::RemovePermission { name, api, .. } => {
            remove_permission(aws, name, &d.live, *api).await?
        }
        Step::DeleteFunction { name } => delete_function(aws, name, None).await?,
        other => unreachable!("{other} is run in an earlier phase"),
    }
    Ok(())
}

async fn remove_permission(
    aws: &Aws,
    name: &str,
    alias: &str,
    api: ApiKind,
) -> Result<(), AwsError> {
    let r = aws
        .lambda
        .remove_permission()
        .function_name(name)
        .qualifier(alias)
        .statement_id(api.statement_id())
        .send()
        .await;
    tolerate(
        r,
        GONE,
        "RemovePermission",
        &format!("Lambda function {name}:{alias}"),
    )
}

/// An `OPTIONS` method answered by API Gateway itself (a mock) with the CORS headers, as
/// Serverless v3 does for `cors:` on an `http` event.
async fn put_cors(aws: &Aws, d: &Desired, st: &State, path: &str) -> Result<(), AwsError> {
    let headers = d
        .rest_api
        .as_ref()
        .and_then(|a| a.cors.get(path))
        .cloned()
        .unwrap_or_default();
    let (id, resource) = (st.rest_id(), st.resource(path));
    let res = format!("method OPTIONS {path} of REST API {id}");
    let param = |h: &String| format!("method.response.header.{h}");
    let r = aws
        .apigw
        .put_method()
        .rest_api_id(&id)
        .resource_id(&resource)
        .http_method("OPTIONS")
        .authorization_type("NONE")
        .send()
        .await;
    tolerate(r, &["ConflictException"], "PutMethod", &res)?;
    let r = aws
        .apigw
        .put_method_response()
        .rest_api_id(&id)
        .resource_id(&resource)
        .http_method("OPTIONS")
        .status_code("200")
        .set_response_parameters(Some(headers.keys().map(|h| (param(h), false)).collect()))
        .send()
        .await;
    tolerate(r, &["ConflictException"], "PutMethodResponse", &res)?;
    aws.apigw
        .put_integration()
        .rest_api_id(&id)
        .resource_id(&resource)
        .http_method("OPTIONS")
        .r#type(RestIntegration::Mock)
        .request_templates("application/json", "{\"statusCode\": 200}")
        .send()
        .await
        .map_err(call_err("PutIntegration", &res))?;
    aws.apigw
        .put_integration_response()
        .rest_api_id(&id)
        .resource_id(&resource)
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

pub async fn delete_http_api(aws: &Aws, id: &str, name: &str) -> Result<(), AwsError> {
    let r = aws.apigw2.delete_api().api_id(id).send().await;
    tolerate(r, GONE, "DeleteApi", &format!("HTTP API {name} ({id})"))
}

pub async fn delete_rest_api(aws: &Aws, id: &str, name: &str) -> Result<(), AwsError> {
    let r = aws.apigw.delete_rest_api().rest_api_id(id).send().await;
    tolerate(r, GONE, "DeleteRestApi", &format!("REST API {name} ({id})"))
}
