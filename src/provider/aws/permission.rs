//! Grants on a function's live alias that let an API invoke it: read from the alias' resource
//! policy (GetPolicy), added and removed under a fixed statement id. Planning:
//! `plan::permission`.

use serde_json::Value;

use super::context::Applying;
use super::{Aws, AwsError, NOT_FOUND, call_err, is_code};
use crate::plan::{ApiKind, PermissionStep, Statements};

/// The statements of `name:alias`'s resource policy; none when it has no policy (or no alias).
pub async fn observe(aws: &Aws, name: &str, alias: &str) -> Result<Statements, AwsError> {
    match aws
        .lambda
        .get_policy()
        .function_name(name)
        .set_qualifier(crate::provider::aws::qualifier(alias))
        .send()
        .await
    {
        Ok(p) => Ok(statements(p.policy().unwrap_or_default())),
        Err(e) if is_code(&e, NOT_FOUND) => Ok(Statements::new()),
        Err(e) => Err(call_err(
            "GetPolicy",
            &format!("Lambda function {name}:{alias}"),
        )(e)),
    }
}

/// Statement id → source ARN of a Lambda resource policy document.
fn statements(policy: &str) -> Statements {
    let Ok(v) = serde_json::from_str::<Value>(policy) else {
        return Statements::new();
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

pub async fn apply(cx: &Applying<'_>, step: &PermissionStep) -> Result<(), AwsError> {
    let (aws, live) = (cx.aws, &cx.d.live);
    match step {
        PermissionStep::AddPermission {
            function_name, api, ..
        } => {
            let (partition, _) = crate::plan::partition(&aws.region);
            let api_source = |id: Option<String>| {
                (
                    format!(
                        "arn:{partition}:execute-api:{}:{}:{}/*",
                        aws.region,
                        cx.account(),
                        id.unwrap_or_default()
                    ),
                    "apigateway.amazonaws.com",
                )
            };
            // Read before `api_source` locks what is known again for the account.
            let ids = {
                let k = cx.known();
                (k.http.id.clone(), k.rest.id.clone(), k.websocket.id.clone())
            };
            let (source, principal) = match api {
                ApiKind::HttpApi => api_source(ids.0),
                ApiKind::RestApi => api_source(ids.1),
                ApiKind::WebsocketApi => api_source(ids.2),
                // One grant for every rule of the service, however many (a statement per rule
                // overflows Lambda's 20 KB policy at about 30 schedules).
                ApiKind::Schedule | ApiKind::EventBus => (
                    format!(
                        "arn:{partition}:events:{}:{}:rule/{}{}*",
                        aws.region,
                        cx.account(),
                        if *api == ApiKind::EventBus { "*/" } else { "" },
                        crate::plan::rule_prefix(&cx.d.service, &cx.d.stage)
                    ),
                    "events.amazonaws.com",
                ),
            };
            // The statement id is fixed: replace a grant that names another API. A grant made
            // since it was observed (an interrupted run) is a conflict: replace it too.
            let held =
                cx.o.permissions
                    .get(function_name)
                    .is_some_and(|s| s.contains_key(api.statement_id()));
            if held {
                remove(aws, function_name, live, *api).await?;
            }
            super::grant(
                aws,
                &super::Grant {
                    function_name,
                    alias: live,
                    sid: api.statement_id(),
                    principal,
                    source_arn: Some(source),
                    source_account: None,
                    event_source_token: None,
                },
            )
            .await?;
        }
        PermissionStep::RemovePermission {
            function_name, api, ..
        } => remove(aws, function_name, live, *api).await?,
    }
    Ok(())
}

async fn remove(aws: &Aws, name: &str, alias: &str, api: ApiKind) -> Result<(), AwsError> {
    super::remove_statement(aws, name, alias, api.statement_id()).await
}
