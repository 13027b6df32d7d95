//! Subscription filters of `cloudwatchLog` events: read (our filters on each log group the config
//! names or our functions are granted on) and put or deleted, with the grant that lets
//! CloudWatch Logs invoke the alias. Planning: `plan::log_subscription`.

use std::collections::BTreeMap;

use super::context::Applying;
use super::{Aws, AwsError, NOT_FOUND, all_pages, call_err, is_code, remove_statement};
use crate::plan::log_subscription::{filter_name, statement_id};
use crate::plan::{Desired, LogSubscriptionStep, ObservedLogSubscription};

/// `granted`: log groups named in our functions' `sls-logs-*` grants (from their source ARNs).
pub async fn observe(
    aws: &Aws,
    d: &Desired,
    granted: Vec<String>,
) -> Result<BTreeMap<String, Vec<ObservedLogSubscription>>, AwsError> {
    let mut groups: Vec<String> = d
        .log_subscriptions
        .iter()
        .map(|s| s.log_group.clone())
        .chain(granted)
        .collect();
    groups.sort();
    groups.dedup();
    let ours = format!("sls/{}/{}/", d.service, d.stage);
    let mut out = BTreeMap::new();
    for group in groups {
        let res = format!("log group {group}");
        let found = all_pages(|token| async {
            let page = match aws
                .logs
                .describe_subscription_filters()
                .log_group_name(&group)
                .set_next_token(token)
                .send()
                .await
            {
                Ok(p) => p,
                Err(e) if is_code(&e, NOT_FOUND) => return Ok((Vec::new(), None)),
                Err(e) => return Err(call_err("DescribeSubscriptionFilters", &res)(e)),
            };
            Ok((
                page.subscription_filters().to_vec(),
                page.next_token().map(str::to_string),
            ))
        })
        .await?;
        let mine: Vec<ObservedLogSubscription> = found
            .iter()
            .filter(|f| f.filter_name().is_some_and(|n| n.starts_with(&ours)))
            .map(|f| ObservedLogSubscription {
                name: f.filter_name().unwrap_or_default().to_string(),
                destination: f.destination_arn().unwrap_or_default().to_string(),
                filter: f.filter_pattern().unwrap_or_default().to_string(),
            })
            .collect();
        if !mine.is_empty() {
            out.insert(group, mine);
        }
    }
    Ok(out)
}

/// The log group a grant's source ARN names (`arn:…:log-group:NAME:*`).
pub fn group_of(source: &str) -> Option<String> {
    let rest = source.split(":log-group:").nth(1)?;
    Some(rest.strip_suffix(":*").unwrap_or(rest).to_string())
}

pub async fn apply(cx: &Applying<'_>, step: &LogSubscriptionStep) -> Result<(), AwsError> {
    let aws = cx.aws;
    match step {
        LogSubscriptionStep::GrantLogGroup {
            function_name,
            log_group,
            ..
        } => {
            let (partition, _) = crate::plan::partition(&aws.region);
            super::grant(
                aws,
                &super::Grant {
                    function_name,
                    alias: &cx.d.live,
                    sid: &statement_id(log_group),
                    principal: "logs.amazonaws.com",
                    source_arn: Some(format!(
                        "arn:{partition}:logs:{}:{}:log-group:{log_group}:*",
                        aws.region,
                        cx.account()
                    )),
                    source_account: Some(cx.account()),
                    event_source_token: None,
                },
            )
            .await?;
        }
        LogSubscriptionStep::PutSubscriptionFilter {
            function,
            log_group,
            ..
        } => {
            let filter =
                cx.d.log_subscriptions
                    .iter()
                    .find(|s| &s.function == function && &s.log_group == log_group)
                    .map(|s| s.filter.clone())
                    .unwrap_or_default();
            let res = format!("log group {log_group}");
            match aws
                .logs
                .put_subscription_filter()
                .log_group_name(log_group)
                .filter_name(filter_name(&cx.d.service, &cx.d.stage, function))
                .filter_pattern(filter)
                .destination_arn(cx.alias_arn(function))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, &["LimitExceededException"]) => {
                    return Err(AwsError::Other(format!(
                        "{res} already has the 2 subscription filters CloudWatch Logs allows; remove one of the others first"
                    )));
                }
                Err(e) => return Err(call_err("PutSubscriptionFilter", &res)(e)),
            }
        }
        LogSubscriptionStep::DeleteSubscriptionFilter { log_group, filter } => {
            match aws
                .logs
                .delete_subscription_filter()
                .log_group_name(log_group)
                .filter_name(filter)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, NOT_FOUND) => {}
                Err(e) => {
                    return Err(call_err(
                        "DeleteSubscriptionFilter",
                        &format!("log group {log_group}"),
                    )(e));
                }
            }
        }
        LogSubscriptionStep::RevokeLogGroup {
            function_name,
            statement,
        } => remove_statement(aws, function_name, &cx.d.live, statement).await?,
    }
    Ok(())
}
