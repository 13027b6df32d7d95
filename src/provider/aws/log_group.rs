//! The functions' log groups in CloudWatch Logs: read (DescribeLogGroups on the exact name)
//! and changed step by step. Planning: `plan::log_group`.

use super::context::Applying;
use super::{Aws, AwsError, call_err, tolerate};
use crate::plan::{LogGroupStep, ObservedLogGroup};

const GONE: &[&str] = &["ResourceNotFoundException"];

/// The group with exactly this name, if it exists.
pub async fn observe(aws: &Aws, log_group: &str) -> Result<Option<ObservedLogGroup>, AwsError> {
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
            return Ok(Some(ObservedLogGroup {
                retention_days: g.retention_in_days(),
            }));
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
