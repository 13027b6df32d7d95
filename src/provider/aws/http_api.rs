//! The HTTP API in API Gateway v2: found by name (ours preferred among look-alikes), read
//! (routes, integrations and stages side by side), and changed step by step. Planning:
//! `plan::http_api`.

use std::collections::BTreeMap;

use aws_sdk_apigatewayv2::types::{
    Api, Cors, Integration as V2Integration, IntegrationType, ProtocolType, Route, Stage,
};

use super::context::{Applying, HttpIds};
use super::once::{create_once, unretried};
use super::{Aws, AwsError, NOT_FOUND, all_pages, call_err, prefer_ours, tolerate};
use crate::plan::http_api::{Integration, integration_for};
use crate::plan::naming::api_name;
use crate::plan::{Desired, HttpApiStep, Observed, ObservedHttpApi, alias_arn_suffix};
use aws_sdk_apigatewayv2::Config;

/// Every API Gateway v2 API of the region (HTTP and WebSocket), read once for both kinds: ours
/// may be on a later page than a look-alike of the same name.
pub async fn list(aws: &Aws) -> Result<Vec<Api>, AwsError> {
    all_pages(|token| async {
        let p = aws
            .apigw2
            .get_apis()
            .set_next_token(token)
            .send()
            .await
            .map_err(call_err("GetApis", "API Gateway v2 APIs"))?;
        Ok((p.items().to_vec(), p.next_token().map(str::to_string)))
    })
    .await
}

pub async fn observe(
    aws: &Aws,
    d: &Desired,
    apis: &[Api],
) -> Result<Option<ObservedHttpApi>, AwsError> {
    let name = d
        .http_api
        .as_ref()
        .map_or_else(|| api_name(&d.service, &d.stage), |a| a.name.clone());
    let res = format!("HTTP API {name}");
    let http: Vec<Api> = apis
        .iter()
        .filter(|a| a.protocol_type() == Some(&ProtocolType::Http))
        .cloned()
        .collect();
    let found = prefer_ours(&http, &name, d, |a| a.name(), |a| a.tags())
        .map(|(a, is_owned)| (a.clone(), is_owned));
    let Some((api, owned)) = found else {
        return Ok(None);
    };
    let id = api.api_id().unwrap_or_default().to_string();
    let mut o = ObservedHttpApi {
        id: id.clone(),
        name,
        endpoint: api.api_endpoint().unwrap_or_default().to_string(),
        owned,
        cors: api.cors_configuration().map(cors_of),
        routes: BTreeMap::new(),
        integrations: BTreeMap::new(),
        has_default_stage: false,
        default_endpoint_disabled: api.disable_execute_api_endpoint().unwrap_or(false),
        metrics: false,
    };
    if !owned {
        return Ok(Some(o));
    }
    // Each listing is paged (AWS answers at most 100 items a page by default).
    let (routes, integrations, stages) = parts(aws, &id, &res).await?;
    for r in &routes {
        let integration = r
            .target()
            .and_then(|t| t.strip_prefix("integrations/"))
            .map(str::to_string);
        o.routes.insert(
            r.route_key().unwrap_or_default().to_string(),
            (r.route_id().unwrap_or_default().to_string(), integration),
        );
    }
    for i in &integrations {
        o.integrations.insert(
            i.integration_id().unwrap_or_default().to_string(),
            Integration {
                uri: i.integration_uri().unwrap_or_default().to_string(),
                payload: i.payload_format_version().unwrap_or_default().to_string(),
            },
        );
    }
    let default = stages.iter().find(|s| s.stage_name() == Some("$default"));
    o.has_default_stage = default.is_some();
    o.metrics = default
        .and_then(|s| s.default_route_settings())
        .and_then(|r| r.detailed_metrics_enabled())
        .unwrap_or(false);
    Ok(Some(o))
}

/// Our API of this name and protocol, if there is one: what a create whose answer was lost
/// made.
pub async fn ours_named(
    aws: &Aws,
    d: &Desired,
    name: &str,
    protocol: ProtocolType,
) -> Result<Option<Api>, AwsError> {
    let all: Vec<Api> = list(aws)
        .await?
        .into_iter()
        .filter(|a| a.protocol_type() == Some(&protocol))
        .collect();
    Ok(prefer_ours(&all, name, d, |a| a.name(), |a| a.tags())
        .filter(|(_, ours)| *ours)
        .map(|(a, _)| a.clone()))
}

/// The id of the integration of an API of ours that calls `uri` (what a create whose answer
/// was lost made), if there is one.
pub async fn integration_calling(
    aws: &Aws,
    api_id: &str,
    uri: &str,
    res: &str,
) -> Result<Option<Option<String>>, AwsError> {
    let (_, integrations, _) = parts(aws, api_id, res).await?;
    Ok(integrations
        .into_iter()
        .find(|i| i.integration_uri() == Some(uri))
        .map(|i| i.integration_id))
}

/// The id of the route of an API of ours with this key, if there is one.
pub async fn route_keyed(
    aws: &Aws,
    api_id: &str,
    key: &str,
    res: &str,
) -> Result<Option<Option<String>>, AwsError> {
    let (routes, _, _) = parts(aws, api_id, res).await?;
    Ok(routes
        .into_iter()
        .find(|r| r.route_key() == Some(key))
        .map(|r| r.route_id))
}

/// An API Gateway v2 API's routes, integrations and stages, each listing to its last page, side
/// by side (AWS answers at most 100 items a page by default).
pub async fn parts(
    aws: &Aws,
    id: &str,
    res: &str,
) -> Result<(Vec<Route>, Vec<V2Integration>, Vec<Stage>), AwsError> {
    let routes = all_pages(|token| async {
        let p = aws
            .apigw2
            .get_routes()
            .api_id(id)
            .set_next_token(token)
            .send()
            .await
            .map_err(call_err("GetRoutes", res))?;
        Ok((p.items().to_vec(), p.next_token().map(str::to_string)))
    });
    let integrations = all_pages(|token| async {
        let p = aws
            .apigw2
            .get_integrations()
            .api_id(id)
            .set_next_token(token)
            .send()
            .await
            .map_err(call_err("GetIntegrations", res))?;
        Ok((p.items().to_vec(), p.next_token().map(str::to_string)))
    });
    let stages = all_pages(|token| async {
        let p = aws
            .apigw2
            .get_stages()
            .api_id(id)
            .set_next_token(token)
            .send()
            .await
            .map_err(call_err("GetStages", res))?;
        Ok((p.items().to_vec(), p.next_token().map(str::to_string)))
    });
    let (routes, integrations, stages) = tokio::join!(routes, integrations, stages);
    Ok((routes?, integrations?, stages?))
}

super::cors_conversions!(Cors);

/// The ids of ours as observed, for the steps that add to it.
pub fn known(d: &Desired, o: &Observed) -> HttpIds {
    let Some(api) = o.http_api.as_ref().filter(|a| a.owned) else {
        return HttpIds::default();
    };
    let mut integrations = std::collections::HashMap::new();
    for f in &d.functions {
        let suffix = alias_arn_suffix(d, &f.key);
        let payload = d.http_api.as_ref().map_or("2.0", |a| a.payload_of(&f.key));
        if let Some(id) = integration_for(api, &suffix, payload) {
            integrations.insert(f.key.clone(), id.clone());
        }
    }
    HttpIds {
        id: Some(api.id.clone()),
        endpoint: Some(api.endpoint.clone()),
        integrations,
        routes: api
            .routes
            .iter()
            .map(|(k, (id, _))| (k.clone(), id.clone()))
            .collect(),
    }
}

pub async fn apply(cx: &Applying<'_>, step: &HttpApiStep) -> Result<(), AwsError> {
    let (aws, d) = (cx.aws, cx.d);
    let id = || cx.known().http.id.clone().unwrap_or_default();
    match step {
        HttpApiStep::CreateHttpApi { api } => {
            let mut call = aws
                .apigw2
                .create_api()
                .name(api)
                .protocol_type(ProtocolType::Http)
                .set_tags(Some(d.tags.clone().into_iter().collect()))
                .disable_execute_api_endpoint(
                    d.http_api
                        .as_ref()
                        .is_some_and(|a| a.disable_default_endpoint),
                );
            if let Some(c) = d.http_api.as_ref().and_then(|a| a.cors.as_ref()) {
                call = call.cors_configuration(cors(c));
            }
            let (made_id, endpoint) = create_once(
                "CreateApi",
                &format!("HTTP API {api}"),
                || async {
                    unretried!(call, Config)
                        .await
                        .map(|a| (a.api_id, a.api_endpoint))
                },
                || async {
                    let found = ours_named(aws, d, api, ProtocolType::Http).await?;
                    Ok(found.map(|a| (a.api_id, a.api_endpoint)))
                },
            )
            .await?;
            let mut k = cx.known();
            k.http.id = made_id;
            k.http.endpoint = endpoint;
        }
        HttpApiStep::UpdateHttpApiCors { api } => {
            let res = format!("HTTP API {api}");
            match d.http_api.as_ref().and_then(|a| a.cors.as_ref()) {
                Some(c) => {
                    aws.apigw2
                        .update_api()
                        .api_id(id())
                        .cors_configuration(cors(c))
                        .send()
                        .await
                        .map_err(call_err("UpdateApi", &res))?;
                }
                None => {
                    let r = aws
                        .apigw2
                        .delete_cors_configuration()
                        .api_id(id())
                        .send()
                        .await;
                    tolerate(r, NOT_FOUND, "DeleteCorsConfiguration", &res)?;
                }
            }
        }
        HttpApiStep::UpdateHttpApiEndpoint { api, disabled } => {
            aws.apigw2
                .update_api()
                .api_id(id())
                .disable_execute_api_endpoint(*disabled)
                .send()
                .await
                .map_err(call_err("UpdateApi", &format!("HTTP API {api}")))?;
        }
        HttpApiStep::UpdateHttpStageMetrics { api, enabled } => {
            aws.apigw2
                .update_stage()
                .api_id(id())
                .stage_name("$default")
                .default_route_settings(metrics_settings(*enabled))
                .send()
                .await
                .map_err(call_err("UpdateStage", &format!("HTTP API {api}")))?;
        }
        HttpApiStep::CreateHttpStage { api } => {
            let r = aws
                .apigw2
                .create_stage()
                .api_id(id())
                .stage_name("$default")
                .auto_deploy(true)
                .default_route_settings(metrics_settings(
                    d.http_api.as_ref().is_some_and(|a| a.metrics),
                ))
                .send()
                .await;
            tolerate(
                r,
                &["ConflictException"],
                "CreateStage",
                &format!("HTTP API {api}"),
            )?;
        }
        HttpApiStep::CreateIntegration { function } => {
            let api_id = id();
            let uri = cx.alias_arn(function);
            let res = format!("HTTP API {api_id}");
            let call = aws
                .apigw2
                .create_integration()
                .api_id(&api_id)
                .integration_type(IntegrationType::AwsProxy)
                .integration_uri(&uri)
                .payload_format_version(
                    d.http_api
                        .as_ref()
                        .map_or("2.0", |a| a.payload_of(function)),
                );
            let integration = create_once(
                "CreateIntegration",
                &res,
                || async { unretried!(call, Config).await.map(|i| i.integration_id) },
                || integration_calling(aws, &api_id, &uri, &res),
            )
            .await?;
            cx.known()
                .http
                .integrations
                .insert(function.clone(), integration.unwrap_or_default());
        }
        HttpApiStep::CreateRoute { route, function }
        | HttpApiStep::UpdateRoute { route, function } => {
            let api_id = id();
            let (integration, route_id) = {
                let k = cx.known();
                (
                    k.http
                        .integrations
                        .get(function)
                        .cloned()
                        .unwrap_or_default(),
                    k.http.routes.get(route).cloned(),
                )
            };
            let target = format!("integrations/{integration}");
            let res = format!("route {route} of HTTP API {api_id}");
            match route_id {
                Some(route_id) => {
                    aws.apigw2
                        .update_route()
                        .api_id(&api_id)
                        .route_id(route_id)
                        .target(target)
                        .send()
                        .await
                        .map_err(call_err("UpdateRoute", &res))?;
                }
                None => {
                    let call = aws
                        .apigw2
                        .create_route()
                        .api_id(&api_id)
                        .route_key(route)
                        .target(target);
                    let route_id = create_once(
                        "CreateRoute",
                        &res,
                        || async { unretried!(call, Config).await.map(|r| r.route_id) },
                        || route_keyed(aws, &api_id, route, &res),
                    )
                    .await?;
                    cx.known()
                        .http
                        .routes
                        .insert(route.clone(), route_id.unwrap_or_default());
                }
            }
        }
        HttpApiStep::DeleteRoute { route } => {
            let api_id = id();
            let route_id = cx.known().http.routes.remove(route);
            if let Some(route_id) = route_id {
                let res = format!("route {route} of HTTP API {api_id}");
                delete_route(aws, &api_id, &route_id, &res).await?;
            }
        }
        HttpApiStep::DeleteIntegration { integration } => {
            let api_id = id();
            let res = format!("integration {integration} of HTTP API {api_id}");
            delete_integration(aws, &api_id, integration, &res).await?;
        }
        HttpApiStep::DeleteHttpApi { api, api_id } => {
            let r = aws.apigw2.delete_api().api_id(api_id).send().await;
            tolerate(
                r,
                NOT_FOUND,
                "DeleteApi",
                &format!("HTTP API {api} ({api_id})"),
            )?;
        }
    }
    Ok(())
}

/// Deletes a route of an API Gateway v2 API (HTTP or WebSocket); one already gone counts.
pub async fn delete_route(
    aws: &Aws,
    api_id: &str,
    route_id: &str,
    res: &str,
) -> Result<(), AwsError> {
    let r = aws
        .apigw2
        .delete_route()
        .api_id(api_id)
        .route_id(route_id)
        .send()
        .await;
    tolerate(r, NOT_FOUND, "DeleteRoute", res)
}

/// Deletes an integration of an API Gateway v2 API; one already gone counts.
pub async fn delete_integration(
    aws: &Aws,
    api_id: &str,
    integration: &str,
    res: &str,
) -> Result<(), AwsError> {
    let r = aws
        .apigw2
        .delete_integration()
        .api_id(api_id)
        .integration_id(integration)
        .send()
        .await;
    tolerate(r, NOT_FOUND, "DeleteIntegration", res)
}

/// The `$default` stage's route settings: detailed metrics on or off.
fn metrics_settings(enabled: bool) -> aws_sdk_apigatewayv2::types::RouteSettings {
    aws_sdk_apigatewayv2::types::RouteSettings::builder()
        .detailed_metrics_enabled(enabled)
        .build()
}
