//! Buckets of `s3` events and their notification configuration: read (the buckets the config
//! names and those sls made for events, found by tags; on each, our entries by id) and changed
//! step by step. Every call names the account that must own the bucket. Planning:
//! `plan::notification`.

use std::collections::BTreeMap;

use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput;
use aws_sdk_s3::types::{
    FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
    NotificationConfigurationFilter, S3KeyFilter,
};

use super::context::Applying;
use super::{Aws, AwsError, NOT_FOUND, bucket, call_err, is_code, remove_statement};
use crate::plan::notification::{EntrySpec, ObservedEntry, id_prefix, statement_id};
use crate::plan::{Desired, NotificationStep, ObservedEventBucket};

/// The tag that tells a bucket made for events from the deployment bucket (both are ours).
pub const TAG_EVENTS: &str = "sls:events";

/// `owner`: the account (from the role or a function), required to read buckets safely;
/// without it (a first deploy) nothing of ours can exist yet and nothing is read. `granted`:
/// buckets our functions hold a grant for (`sls-s3-{bucket}`), so that our entries on a bucket
/// of the user's that left the config are still found and taken out.
/// `tagged`: what [`ours`] found (read beforehand, side by side with the functions).
pub async fn observe(
    aws: &Aws,
    d: &Desired,
    owner: Option<&str>,
    granted: Vec<String>,
    tagged: Vec<String>,
) -> Result<BTreeMap<String, ObservedEventBucket>, AwsError> {
    let Some(owner) = owner else {
        return Ok(BTreeMap::new());
    };
    let mut names: Vec<String> = tagged;
    names.extend(d.event_buckets.iter().map(|b| b.bucket.clone()));
    names.extend(granted);
    names.sort();
    names.dedup();
    let mut out = BTreeMap::new();
    for name in names {
        let res = format!("S3 bucket {name}");
        match aws
            .s3
            .head_bucket()
            .bucket(&name)
            .expected_bucket_owner(owner)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if bucket::missing(&e) => continue,
            Err(e) => return Err(call_err("HeadBucket", &res)(e)),
        }
        let is_ours = bucket::owned(aws, d, &name, owner).await?;
        let config = current(aws, &name, owner).await?;
        let prefix = id_prefix(&d.service, &d.stage);
        let mut entries: Vec<ObservedEntry> = config
            .lambda_function_configurations()
            .iter()
            .filter(|c| c.id().is_some_and(|id| id.starts_with(&prefix)))
            .map(|c| {
                let rule = |n: &FilterRuleName| {
                    c.filter()
                        .and_then(|f| f.key())
                        .map(|k| k.filter_rules())
                        .unwrap_or_default()
                        .iter()
                        .find(|r| r.name() == Some(n))
                        .and_then(|r| r.value().map(str::to_string))
                };
                ObservedEntry {
                    id: c.id().unwrap_or_default().to_string(),
                    function_arn: c.lambda_function_arn().to_string(),
                    events: c.events().iter().map(|e| e.as_str().to_string()).collect(),
                    prefix: rule(&FilterRuleName::Prefix),
                    suffix: rule(&FilterRuleName::Suffix),
                }
            })
            .collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        let empty = if is_ours {
            aws.s3
                .list_objects_v2()
                .bucket(&name)
                .expected_bucket_owner(owner)
                .max_keys(1)
                .send()
                .await
                .map_err(call_err("ListObjectsV2", &res))?
                .contents()
                .is_empty()
        } else {
            false
        };
        out.insert(
            name,
            ObservedEventBucket {
                owned: is_ours,
                empty,
                entries,
            },
        );
    }
    Ok(out)
}

/// A bucket's notification configuration. Some S3-compatible endpoints (moto among them) answer
/// a bucket without any with an empty element of another name, which the SDK cannot read: that
/// answer (status 200, nothing in it) is taken for the empty configuration it means.
async fn current(
    aws: &Aws,
    bucket: &str,
    owner: &str,
) -> Result<GetBucketNotificationConfigurationOutput, AwsError> {
    match aws
        .s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
    {
        Ok(c) => Ok(c),
        Err(e)
            if e.raw_response().is_some_and(|r| {
                r.status().as_u16() == 200
                    && r.body()
                        .bytes()
                        .and_then(|b| std::str::from_utf8(b).ok())
                        .is_some_and(|b| b.trim_end().ends_with("GetBucketNotificationResponse\"/>") || b.contains("<GetBucketNotificationResponse xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"))
            }) =>
        {
            Ok(GetBucketNotificationConfigurationOutput::builder().build())
        }
        Err(e) => Err(call_err(
            "GetBucketNotificationConfiguration",
            &format!("S3 bucket {bucket}"),
        )(e)),
    }
}

/// The buckets sls made for events, found by their tags.
pub async fn ours(aws: &Aws, d: &Desired) -> Result<Vec<String>, AwsError> {
    let arns = super::tagged(
        aws,
        d,
        "s3:bucket",
        &[(TAG_EVENTS, "true")],
        "S3 buckets tagged for this service's events",
    )
    .await?;
    Ok(arns
        .iter()
        .filter_map(|arn| arn.rsplit(':').next().map(str::to_string))
        .collect())
}

pub async fn apply(cx: &Applying<'_>, step: &NotificationStep) -> Result<(), AwsError> {
    let aws = cx.aws;
    let owner = cx.account();
    match step {
        NotificationStep::CreateEventBucket { bucket } => {
            let mut tags = cx.d.tags.clone();
            tags.insert(TAG_EVENTS.into(), "true".into());
            bucket::create_private(aws, &cx.d.region, bucket, &owner, &tags).await?;
        }
        NotificationStep::GrantBucket {
            function_name,
            bucket,
            ..
        } => {
            let (partition, _) = crate::plan::partition(&aws.region);
            super::grant(
                aws,
                &super::Grant {
                    function_name,
                    alias: &cx.d.live,
                    sid: &statement_id(bucket),
                    principal: "s3.amazonaws.com",
                    source_arn: Some(format!("arn:{partition}:s3:::{bucket}")),
                    // Bucket names are global: only this account's bucket may invoke.
                    source_account: Some(owner.clone()),
                    event_source_token: None,
                },
            )
            .await?;
        }
        NotificationStep::PutBucketNotification { bucket, .. } => {
            let res = format!("S3 bucket {bucket}");
            // Read again just before the PUT: it replaces the whole document, and another
            // service may have changed its own entries since this run observed them.
            let current = current(aws, bucket, &owner).await?;
            let prefix = id_prefix(&cx.d.service, &cx.d.stage);
            let mut lambdas: Vec<LambdaFunctionConfiguration> = current
                .lambda_function_configurations()
                .iter()
                .filter(|c| !c.id().is_some_and(|id| id.starts_with(&prefix)))
                .cloned()
                .collect();
            let wanted =
                cx.d.event_buckets
                    .iter()
                    .find(|b| &b.bucket == bucket)
                    .map(|b| b.entries.clone())
                    .unwrap_or_default();
            for e in &wanted {
                lambdas.push(entry(cx, e)?);
            }
            let config = NotificationConfiguration::builder()
                .set_lambda_function_configurations(Some(lambdas))
                .set_queue_configurations(Some(current.queue_configurations().to_vec()))
                .set_topic_configurations(Some(current.topic_configurations().to_vec()))
                .set_event_bridge_configuration(current.event_bridge_configuration().cloned())
                .build();
            match aws
                .s3
                .put_bucket_notification_configuration()
                .bucket(bucket)
                .expected_bucket_owner(&owner)
                .notification_configuration(config)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e)
                    if aws_smithy_types::error::metadata::ProvideErrorMetadata::message(&e)
                        .is_some_and(|m| m.contains("overlap")) =>
                {
                    return Err(AwsError::Other(format!(
                        "{res}: S3 refuses two notifications whose prefixes or suffixes overlap on the same event type (another function or service of the bucket already takes these keys); give the events disjoint `rules` (prefix/suffix)"
                    )));
                }
                Err(e) => return Err(call_err("PutBucketNotificationConfiguration", &res)(e)),
            }
        }
        NotificationStep::RevokeBucket {
            function_name,
            statement,
        } => remove_statement(aws, function_name, &cx.d.live, statement).await?,
        NotificationStep::DeleteEventBucket { bucket } => {
            let res = format!("S3 bucket {bucket}");
            match aws
                .s3
                .delete_bucket()
                .bucket(bucket)
                .expected_bucket_owner(&owner)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, NOT_FOUND) || bucket::missing(&e) => {}
                Err(e) if is_code(&e, &["BucketNotEmpty"]) => {
                    return Err(AwsError::Other(format!(
                        "{res} received objects since this run read it: empty it and delete it yourself, or run `sls remove` again"
                    )));
                }
                Err(e) => return Err(call_err("DeleteBucket", &res)(e)),
            }
        }
    }
    Ok(())
}

/// One of our entries, invoking the function's live alias.
fn entry(cx: &Applying<'_>, e: &EntrySpec) -> Result<LambdaFunctionConfiguration, AwsError> {
    let mut rules = Vec::new();
    for (name, value) in [
        (FilterRuleName::Prefix, &e.prefix),
        (FilterRuleName::Suffix, &e.suffix),
    ] {
        if let Some(v) = value {
            rules.push(FilterRule::builder().name(name).value(v).build());
        }
    }
    LambdaFunctionConfiguration::builder()
        .id(&e.id)
        .lambda_function_arn(cx.alias_arn(&e.function))
        .set_events(Some(
            e.events
                .iter()
                .map(|ev| aws_sdk_s3::types::Event::from(ev.as_str()))
                .collect(),
        ))
        .set_filter((!rules.is_empty()).then(|| {
            NotificationConfigurationFilter::builder()
                .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                .build()
        }))
        .build()
        .map_err(|err| AwsError::Other(err.to_string()))
}
