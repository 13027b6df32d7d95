//! The functions' log groups in CloudWatch Logs: read (DescribeLogGroups on the exact name)
//! and changed step by step. Planning: `plan::log_group`.

use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::types::LogGroup;

use super::context::Applying;
use super::{Aws, AwsError, call_err, owned, tolerate};
use crate::plan::{Desired, LogGroupStep, ObservedLogGroup};

const GONE: &[&str] = &["ResourceNotFoundException"];

/// The group with exactly this name, if it exists.
pub async fn observe(aws: &Aws, log_group: &str) -> Result<Option<ObservedLogGroup>, AwsError> {
    Ok(find(aws, log_group).await?.map(|g| ObservedLogGroup {
        retention_days: g.retention_in_days(),
        owned: false,
    }))
}

/// The group with exactly this name, and whether its tags say it is this service's and
/// stage's: for a group whose function is gone.
pub async fn observe_tagged(
    aws: &Aws,
    log_group: &str,
    d: &Desired,
) -> Result<Option<ObservedLogGroup>, AwsError> {
    let Some(g) = find(aws, log_group).await? else {
        return Ok(None);
    };
    // `arn` ends in `:*`; tags are read by the group's ARN without it.
    let arn = g
        .log_group_arn()
        .map(str::to_string)
        .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_string()))
        .unwrap_or_default();
    let tags = aws
        .logs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(call_err(
            "ListTagsForResource",
            &format!("log group {log_group}"),
        ))?;
    let tags: BTreeMap<String, String> = tags
        .tags()
        .map(|t| t.clone().into_iter().collect())
        .unwrap_or_default();
    Ok(Some(ObservedLogGroup {
        retention_days: g.retention_in_days(),
        owned: owned(&tags, d),
    }))
}

async fn find(aws: &Aws, log_group: &str) -> Result<Option<LogGroup>, AwsError> {
    // A prefix search: `/aws/lambda/a` also finds `/aws/lambda/ab`, so page until the name.
    let mut token = None;
    loop {
        let page = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(log_group)
            .set_next_token(token)
            .send()
            .await
            .map_err(call_err(
                "DescribeLogGroups",
                &format!("log group {log_group}"),
            ))?;
        if let Some(g) = page
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(log_group))
        {
            return Ok(Some(g.clone()));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(None);
        }
    }
}

pub async fn apply(cx: &Applying<'_>, step: &LogGroupStep) -> Result<(), AwsError> {
    let logs = &cx.aws.logs;
    let res = |g: &str| format!("log group {g}");
    match step {
        LogGroupStep::CreateLogGroup { log_group } => {
            let r = logs
                .create_log_group()
                .log_group_name(log_group)
                .set_tags(Some(cx.d.tags.clone().into_iter().collect()))
                .send()
                .await;
            // Made meanwhile (by Lambda, at a first call): the next steps set it up.
            tolerate(
                r,
                &["ResourceAlreadyExistsException"],
                "CreateLogGroup",
                &res(log_group),
            )?;
        }
        LogGroupStep::PutRetentionPolicy { log_group, days } => {
            logs.put_retention_policy()
                .log_group_name(log_group)
                .retention_in_days(*days)
                .send()
                .await
                .map_err(call_err("PutRetentionPolicy", &res(log_group)))?;
        }
        LogGroupStep::DeleteRetentionPolicy { log_group } => {
            let r = logs
                .delete_retention_policy()
                .log_group_name(log_group)
                .send()
                .await;
            tolerate(r, GONE, "DeleteRetentionPolicy", &res(log_group))?;
        }
        LogGroupStep::DeleteLogGroup { log_group } => {
            let r = logs
                .delete_log_group()
                .log_group_name(log_group)
                .send()
                .await;
            tolerate(r, GONE, "DeleteLogGroup", &res(log_group))?;
        }
    }
    Ok(())
}
