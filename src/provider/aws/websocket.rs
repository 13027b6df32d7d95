//! The WebSocket API in API Gateway v2: found by name among the region's APIs (ours preferred
//! among look-alikes), read (routes, their route responses, integrations, stages), and changed
//! step by step. The stage deploys every change itself (`AutoDeploy`), so no step makes a
//! deployment. Planning: `plan::websocket`.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigatewayv2::types::{Api, IntegrationType, ProtocolType};

use super::context::{Applying, HttpIds};
use super::once::{create_once, unretried};
use super::{Aws, AwsError, NOT_FOUND, call_err, prefer_ours, tolerate};
use crate::plan::websocket::{ObservedWebsocketRoute, integration_for};
use crate::plan::{Desired, Observed, ObservedWebsocket, WebsocketStep, alias_arn_suffix};
use aws_sdk_apigatewayv2::Config;

/// The route response every answering route has: API Gateway supports only this key.
const RESPONSE_KEY: &str = "$default";

/// Ours, found in `apis` (the region's API Gateway v2 APIs) by the name the config gives.
pub async fn observe(
    aws: &Aws,
    d: &Desired,
    apis: &[Api],
) -> Result<Option<ObservedWebsocket>, AwsError> {
    let name = d.websocket.as_ref().map_or_else(
        || format!("{}-{}-websockets", d.stage, d.service),
        |w| w.name.clone(),
    );
    let res = format!("WebSocket API {name}");
    let sockets: Vec<Api> = apis
        .iter()
        .filter(|a| a.protocol_type() == Some(&ProtocolType::Websocket))
        .cloned()
        .collect();
    let Some((api, owned)) = prefer_ours(&sockets, &name, d, |a| a.name(), |a| a.tags()) else {
        return Ok(None);
    };
    let id = api.api_id().unwrap_or_default().to_string();
    let mut o = ObservedWebsocket {
        id: id.clone(),
        name: name.clone(),
        owned,
        description: api.description().unwrap_or_default().to_string(),
        route_selection: api
            .route_selection_expression()
            .unwrap_or_default()
            .to_string(),
        routes: BTreeMap::new(),
        integrations: BTreeMap::new(),
        has_stage: false,
    };
    if !owned {
        return Ok(Some(o));
    }
    let (routes, integrations, stages) = super::http_api::parts(aws, &id, &res).await?;
    for r in &routes {
        let integration = r
            .target()
            .and_then(|t| t.strip_prefix("integrations/"))
            .map(str::to_string);
        o.routes.insert(
            r.route_key().unwrap_or_default().to_string(),
            ObservedWebsocketRoute {
                id: r.route_id().unwrap_or_default().to_string(),
                integration,
                responds: r
                    .route_response_selection_expression()
                    .is_some_and(|x| !x.is_empty()),
            },
        );
    }
    for i in &integrations {
        o.integrations.insert(
            i.integration_id().unwrap_or_default().to_string(),
            i.integration_uri().unwrap_or_default().to_string(),
        );
    }
    let stage = d.websocket.as_ref().map_or(d.stage.as_str(), |w| &w.stage);
    o.has_stage = stages.iter().any(|s| s.stage_name() == Some(stage));
    Ok(Some(o))
}

/// The ids of ours as observed, for the steps that add to it.
pub fn known(d: &Desired, o: &Observed) -> HttpIds {
    let Some(api) = o.websocket.as_ref().filter(|a| a.owned) else {
        return HttpIds::default();
    };
    let integrations: HashMap<String, String> = d
        .functions
        .iter()
        .filter_map(|f| {
            integration_for(api, &alias_arn_suffix(d, &f.key)).map(|id| (f.key.clone(), id.clone()))
        })
        .collect();
    HttpIds {
        id: Some(api.id.clone()),
        endpoint: None,
        integrations,
        routes: api
            .routes
            .iter()
            .map(|(k, r)| (k.clone(), r.id.clone()))
            .collect(),
    }
}

pub async fn apply(cx: &Applying<'_>, step: &WebsocketStep) -> Result<(), AwsError> {
    let (aws, d) = (cx.aws, cx.d);
    let id = || cx.known().websocket.id.clone().unwrap_or_default();
    let spec = d.websocket.as_ref();
    match step {
        WebsocketStep::CreateWebsocketApi { api } => {
            let Some(spec) = spec else { return Ok(()) };
            let call = aws
                .apigw2
                .create_api()
                .name(api)
                .protocol_type(ProtocolType::Websocket)
                .route_selection_expression(&spec.route_selection)
                .description(&spec.description)
                .set_tags(Some(d.tags.clone().into_iter().collect()));
            let made = create_once(
                "CreateApi",
                &format!("WebSocket API {api}"),
                || async { unretried!(call, Config).await.map(|a| a.api_id) },
                || async {
                    let found =
                        super::http_api::ours_named(aws, d, api, ProtocolType::Websocket).await?;
                    Ok(found.map(|a| a.api_id))
                },
            )
            .await?;
            cx.known().websocket.id = made;
        }
        WebsocketStep::UpdateWebsocketApi { api } => {
            let Some(spec) = spec else { return Ok(()) };
            aws.apigw2
                .update_api()
                .api_id(id())
                .route_selection_expression(&spec.route_selection)
                .description(&spec.description)
                .send()
                .await
                .map_err(call_err("UpdateApi", &format!("WebSocket API {api}")))?;
        }
        WebsocketStep::CreateWebsocketIntegration { function } => {
            let api_id = id();
            let (partition, _) = crate::plan::partition(&aws.region);
            // WebSocket integrations name Lambda through its invocation path, not the bare ARN.
            let uri = format!(
                "arn:{partition}:apigateway:{}:lambda:path/2015-03-31/functions/{}/invocations",
                aws.region,
                cx.alias_arn(function)
            );
            let res = format!("WebSocket API {api_id}");
            let call = aws
                .apigw2
                .create_integration()
                .api_id(&api_id)
                .integration_type(IntegrationType::AwsProxy)
                .integration_method("POST")
                .integration_uri(&uri);
            let made = create_once(
                "CreateIntegration",
                &res,
                || async { unretried!(call, Config).await.map(|i| i.integration_id) },
                || super::http_api::integration_calling(aws, &api_id, &uri, &res),
            )
            .await?;
            cx.known()
                .websocket
                .integrations
                .insert(function.clone(), made.unwrap_or_default());
        }
        WebsocketStep::CreateWebsocketRoute { route, function } => {
            create_route(cx, route, function).await?;
        }
        WebsocketStep::ReplaceWebsocketRoute { route, function } => {
            delete_route(cx, route).await?;
            create_route(cx, route, function).await?;
        }
        WebsocketStep::UpdateWebsocketRoute { route, function } => {
            let api_id = id();
            let (integration, route_id) = {
                let k = cx.known();
                (
                    k.websocket.integrations.get(function).cloned(),
                    k.websocket.routes.get(route).cloned(),
                )
            };
            aws.apigw2
                .update_route()
                .api_id(&api_id)
                .route_id(route_id.unwrap_or_default())
                .target(format!("integrations/{}", integration.unwrap_or_default()))
                .send()
                .await
                .map_err(call_err(
                    "UpdateRoute",
                    &format!("route {route} of WebSocket API {api_id}"),
                ))?;
        }
        WebsocketStep::DeleteWebsocketRoute { route } => delete_route(cx, route).await?,
        WebsocketStep::DeleteWebsocketIntegration { integration } => {
            let api_id = id();
            let res = format!("integration {integration} of WebSocket API {api_id}");
            super::http_api::delete_integration(aws, &api_id, integration, &res).await?;
        }
        WebsocketStep::CreateWebsocketStage { api, stage } => {
            let r = aws
                .apigw2
                .create_stage()
                .api_id(id())
                .stage_name(stage)
                .auto_deploy(true)
                .description(spec.map_or("", |s| s.description.as_str()))
                .set_tags(Some(d.tags.clone().into_iter().collect()))
                .send()
                .await;
            // Made by an interrupted run: it deploys itself, nothing more to do.
            tolerate(
                r,
                &["ConflictException"],
                "CreateStage",
                &format!("WebSocket API {api}"),
            )?;
        }
        WebsocketStep::DeleteWebsocketApi { api, api_id } => {
            let r = aws.apigw2.delete_api().api_id(api_id).send().await;
            tolerate(
                r,
                NOT_FOUND,
                "DeleteApi",
                &format!("WebSocket API {api} ({api_id})"),
            )?;
        }
    }
    Ok(())
}

/// The route to the function's integration, with its `$default` route response when the
/// handler answers.
async fn create_route(cx: &Applying<'_>, route: &str, function: &str) -> Result<(), AwsError> {
    let aws = cx.aws;
    let (api_id, integration) = {
        let k = cx.known();
        (
            k.websocket.id.clone().unwrap_or_default(),
            k.websocket.integrations.get(function).cloned(),
        )
    };
    let responds =
        cx.d.websocket
            .as_ref()
            .and_then(|w| w.routes.get(route))
            .is_some_and(|r| r.responds);
    let res = format!("route {route} of WebSocket API {api_id}");
    let call = aws
        .apigw2
        .create_route()
        .api_id(&api_id)
        .route_key(route)
        .target(format!("integrations/{}", integration.unwrap_or_default()));
    let made = create_once(
        "CreateRoute",
        &res,
        || async { unretried!(call, Config).await.map(|r| r.route_id) },
        || super::http_api::route_keyed(aws, &api_id, route, &res),
    )
    .await?;
    let route_id = made.unwrap_or_default();
    cx.known()
        .websocket
        .routes
        .insert(route.to_string(), route_id.clone());
    if responds {
        // The selection expression is set last: a route that has it has its response too, so a
        // run interrupted in between sees a route that does not answer and makes it again.
        aws.apigw2
            .create_route_response()
            .api_id(&api_id)
            .route_id(&route_id)
            .route_response_key(RESPONSE_KEY)
            .send()
            .await
            .map_err(call_err("CreateRouteResponse", &res))?;
        aws.apigw2
            .update_route()
            .api_id(&api_id)
            .route_id(&route_id)
            .route_response_selection_expression(RESPONSE_KEY)
            .send()
            .await
            .map_err(call_err("UpdateRoute", &res))?;
    }
    Ok(())
}

async fn delete_route(cx: &Applying<'_>, route: &str) -> Result<(), AwsError> {
    let (api_id, route_id) = {
        let mut k = cx.known();
        (
            k.websocket.id.clone().unwrap_or_default(),
            k.websocket.routes.remove(route),
        )
    };
    let Some(route_id) = route_id else {
        return Ok(());
    };
    let res = format!("route {route} of WebSocket API {api_id}");
    super::http_api::delete_route(cx.aws, &api_id, &route_id, &res).await
}
