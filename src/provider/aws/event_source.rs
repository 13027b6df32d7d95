//! Event source mappings in Lambda: read (every mapping on a function's live alias, paged) and
//! created, updated or deleted step by step; before a deploy changes anything, the queues
//! they poll are looked up ([`check_sources`]). Planning: `plan::event_source`.

use std::time::{Duration, Instant};

use aws_sdk_lambda::types::{
    AmazonManagedKafkaEventSourceConfig, DestinationConfig, EndPointType,
    EventSourceMappingConfiguration, EventSourcePosition, Filter, FilterCriteria,
    FunctionResponseType, OnFailure, ScalingConfig, SelfManagedEventSource,
    SelfManagedKafkaEventSourceConfig, SourceAccessConfiguration, SourceAccessType,
};

use super::context::Applying;
use super::{Aws, AwsError, NOT_FOUND, all_pages, call_err, compact_json, is_code};
use crate::plan::event_source::{
    MappingSettings, MappingSpec, SourceKind, bootstrap_servers, self_managed_source,
};
use crate::plan::{Desired, MappingStep, ObservedMapping};

/// The preflight of the queues `sqs` events name: each is looked up (GetQueueUrl, side by side)
/// before anything is changed, so that a placeholder ARN (the aws-python3-sqs template's) fails
/// the deploy before the function is made rather than at CreateEventSourceMapping, after it.
/// A queue these credentials may not look up (no `sqs:GetQueueUrl`) is taken to exist, and so
/// is another account's: SQS answers "does not exist or you do not have access to it" alike
/// for a missing queue and for one not shared with us. Lambda's own check still stands behind
/// this one. `stand_ins`: the logical
/// ids of `resources:`, whose ARNs a dry run only stands in for (not made yet).
pub async fn check_sources(
    aws: &Aws,
    d: &Desired,
    stand_ins: &std::collections::BTreeSet<String>,
) -> Result<(), AwsError> {
    let mut queues: Vec<(&str, &str)> = d
        .mappings
        .iter()
        .filter(|m| m.kind == SourceKind::Sqs)
        .filter(|m| {
            !m.source
                .rsplit(':')
                .next()
                .is_some_and(|n| stand_ins.contains(n))
        })
        .map(|m| (m.source.as_str(), m.function.as_str()))
        .collect();
    queues.sort();
    queues.dedup_by(|a, b| a.0 == b.0);
    if queues.is_empty() {
        return Ok(());
    }
    let ours = super::stack::account(aws).await?;
    let ours = ours.as_str();
    let reads: Vec<super::Boxed<'_, Option<String>>> = queues
        .into_iter()
        .map(|(arn, function)| {
            Box::pin(async move {
                Ok((!queue_exists(aws, arn, ours).await?).then(|| {
                    format!("the queue {arn}, which the `sqs` event of function `{function}` names, does not exist")
                }))
            }) as super::Boxed<'_, Option<String>>
        })
        .collect();
    let mut missing = Vec::new();
    for r in super::bounded(reads, 8).await {
        missing.extend(r?);
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AwsError::MissingSources(missing))
    }
}

/// Whether the queue of `arn` exists, as far as these credentials (of account `ours`) can tell.
async fn queue_exists(aws: &Aws, arn: &str, ours: &str) -> Result<bool, AwsError> {
    let parts: Vec<&str> = arn.split(':').collect();
    // A stand-in (a dry run's value of what is not made yet) or a queue of another region
    // (which Lambda refuses itself, with its own message) is not looked up.
    let [_, _, "sqs", region, account, name] = parts[..] else {
        return Ok(true);
    };
    if region != aws.region || name.is_empty() || account.len() != 12 {
        return Ok(true);
    }
    match aws
        .sqs
        .get_queue_url()
        .queue_name(name)
        .queue_owner_aws_account_id(account)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if is_code(
                &e,
                &[
                    "AWS.SimpleQueueService.NonExistentQueue",
                    "QueueDoesNotExist",
                ],
            ) =>
        {
            Ok(account != ours)
        }
        Err(e) if is_code(&e, &["AccessDenied", "AccessDeniedException"]) => Ok(true),
        Err(e) => Err(call_err("GetQueueUrl", &format!("SQS queue {arn}"))(e)),
    }
}

/// The mappings on `alias_arn` (a function's live alias, or the function itself).
pub async fn observe(aws: &Aws, alias_arn: &str) -> Result<Vec<ObservedMapping>, AwsError> {
    let res = format!("event source mappings of {alias_arn}");
    let all = all_pages(|marker| async {
        let page = aws
            .lambda
            .list_event_source_mappings()
            .function_name(alias_arn)
            .set_marker(marker)
            .send()
            .await
            .map_err(call_err("ListEventSourceMappings", &res))?;
        Ok((
            page.event_source_mappings().to_vec(),
            page.next_marker().map(str::to_string),
        ))
    })
    .await?;
    Ok(all.iter().filter_map(observed).collect())
}

fn observed(m: &EventSourceMappingConfiguration) -> Option<ObservedMapping> {
    // A self-managed cluster has no ARN: it is named by its bootstrap servers.
    let servers = m
        .self_managed_event_source()
        .and_then(|s| s.endpoints())
        .and_then(|e| e.get(&EndPointType::KafkaBootstrapServers));
    let source = match (m.event_source_arn(), servers) {
        (Some(arn), _) => arn.to_string(),
        (None, Some(servers)) => self_managed_source(servers),
        (None, None) => return None,
    };
    let kind = SourceKind::of(&source)?;
    let mut patterns: Vec<String> = m
        .filter_criteria()
        .map(|c| c.filters())
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f.pattern())
        // Compared as compact JSON, however AWS spaces it.
        .map(compact_json)
        .collect();
    patterns.sort();
    let state = m.state().unwrap_or_default();
    let stream = kind != SourceKind::Sqs;
    let mut access: Vec<(String, String)> = m
        .source_access_configurations()
        .iter()
        .filter_map(|a| Some((a.r#type()?.as_str().to_string(), a.uri()?.to_string())))
        .collect();
    access.sort();
    let target = match kind {
        SourceKind::Kafka | SourceKind::SelfManagedKafka => m.topics().first().cloned(),
        SourceKind::Mq => m.queues().first().cloned(),
        SourceKind::Sqs | SourceKind::Dynamodb | SourceKind::Kinesis => None,
    };
    Some(ObservedMapping {
        uuid: m.uuid()?.to_string(),
        source,
        target,
        // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        qualifier: m
            .function_arn()
            .and_then(|a| a.split(':').nth(7))
            .map(str::to_string),
        settings: MappingSettings {
            access,
            consumer_group: m
                .amazon_managed_kafka_event_source_config()
                .and_then(|c| c.consumer_group_id())
                .or_else(|| {
                    m.self_managed_kafka_event_source_config()
                        .and_then(|c| c.consumer_group_id())
                })
                .map(str::to_string),
            batch_size: m.batch_size().unwrap_or(kind.default_batch_size()),
            maximum_batching_window: m.maximum_batching_window_in_seconds().unwrap_or(0),
            // Enabling and Creating lead to Enabled; Disabling to Disabled.
            enabled: !matches!(state, "Disabled" | "Disabling"),
            function_response_types: m
                .function_response_types()
                .iter()
                .map(|t| t.as_str().to_string())
                .collect(),
            filter_patterns: patterns,
            maximum_concurrency: m.scaling_config().and_then(|s| s.maximum_concurrency()),
            starting_position: stream
                .then(|| m.starting_position().map(|p| p.as_str().to_string()))
                .flatten(),
            starting_position_timestamp: m.starting_position_timestamp().map(|t| t.secs()),
            maximum_retry_attempts: m.maximum_retry_attempts(),
            maximum_record_age: m.maximum_record_age_in_seconds(),
            bisect_batch_on_function_error: m.bisect_batch_on_function_error(),
            parallelization_factor: m.parallelization_factor(),
            tumbling_window: m.tumbling_window_in_seconds(),
            on_failure: m
                .destination_config()
                .and_then(|d| d.on_failure())
                .and_then(|f| f.destination())
                .map(str::to_string),
        },
    })
}

pub async fn apply(cx: &Applying<'_>, step: &MappingStep) -> Result<(), AwsError> {
    let aws = cx.aws;
    match step {
        MappingStep::CreateEventSourceMapping {
            function,
            source,
            target,
            ..
        } => {
            let spec = spec(cx.d, function, source, target)?;
            let alias = cx.alias_arn(function);
            let res = format!("event source mapping {source} → {alias}");
            let s = &spec.settings;
            let self_managed = spec.kind == SourceKind::SelfManagedKafka;
            let created = aws
                .lambda
                .create_event_source_mapping()
                .function_name(&alias)
                .set_event_source_arn((!self_managed).then(|| source.clone()))
                .set_self_managed_event_source(self_managed.then(|| {
                    SelfManagedEventSource::builder()
                        .endpoints(
                            EndPointType::KafkaBootstrapServers,
                            bootstrap_servers(source),
                        )
                        .build()
                }))
                .batch_size(s.batch_size)
                .maximum_batching_window_in_seconds(s.maximum_batching_window)
                .enabled(s.enabled)
                .set_function_response_types(response_types(s))
                .set_filter_criteria(filters(s))
                .set_scaling_config(scaling(s))
                .set_starting_position(
                    s.starting_position
                        .as_deref()
                        .map(EventSourcePosition::from),
                )
                .set_starting_position_timestamp(
                    s.starting_position_timestamp
                        .map(aws_sdk_lambda::primitives::DateTime::from_secs),
                )
                .set_maximum_retry_attempts(s.maximum_retry_attempts)
                .set_maximum_record_age_in_seconds(s.maximum_record_age)
                .set_bisect_batch_on_function_error(s.bisect_batch_on_function_error)
                .set_parallelization_factor(s.parallelization_factor)
                .set_tumbling_window_in_seconds(s.tumbling_window)
                .set_destination_config(destination(s))
                .set_topics(
                    matches!(spec.kind, SourceKind::Kafka | SourceKind::SelfManagedKafka)
                        .then(|| target.iter().cloned().collect()),
                )
                .set_queues((spec.kind == SourceKind::Mq).then(|| target.iter().cloned().collect()))
                .set_source_access_configurations(access(s))
                .set_amazon_managed_kafka_event_source_config(
                    s.consumer_group
                        .as_ref()
                        .filter(|_| !self_managed)
                        .map(|g| {
                            AmazonManagedKafkaEventSourceConfig::builder()
                                .consumer_group_id(g)
                                .build()
                        }),
                )
                .set_self_managed_kafka_event_source_config(
                    s.consumer_group.as_ref().filter(|_| self_managed).map(|g| {
                        SelfManagedKafkaEventSourceConfig::builder()
                            .consumer_group_id(g)
                            .build()
                    }),
                )
                .send()
                .await;
            let uuid = match created {
                Ok(m) => m.uuid().unwrap_or_default().to_string(),
                // Made by an interrupted run of ours, or another mapping of this alias and
                // source: Lambda allows one. The next deploy's plan converges it.
                Err(e) if is_code(&e, &["ResourceConflictException"]) => {
                    match observe(aws, &alias)
                        .await?
                        .into_iter()
                        .find(|m| &m.source == source && &m.target == target)
                    {
                        Some(m) => m.uuid,
                        None => return Err(call_err("CreateEventSourceMapping", &res)(e)),
                    }
                }
                Err(e) => return Err(call_err("CreateEventSourceMapping", &res)(e)),
            };
            wait_settled(aws, &uuid, &res).await?;
        }
        MappingStep::UpdateEventSourceMapping {
            function,
            source,
            target,
            uuid,
            ..
        } => {
            let spec = spec(cx.d, function, source, target)?;
            let res = format!("event source mapping {uuid} ({source})");
            let s = &spec.settings;
            // Every updatable setting is sent, so that one left out of the config returns to
            // Lambda's default (empty lists and objects clear them).
            let streams = matches!(spec.kind, SourceKind::Dynamodb | SourceKind::Kinesis);
            let broker = matches!(
                spec.kind,
                SourceKind::Kafka | SourceKind::SelfManagedKafka | SourceKind::Mq
            );
            aws.lambda
                .update_event_source_mapping()
                .uuid(uuid)
                .batch_size(s.batch_size)
                .maximum_batching_window_in_seconds(s.maximum_batching_window)
                .enabled(s.enabled)
                .set_function_response_types(Some(response_types(s).unwrap_or_default()))
                .filter_criteria(filters(s).unwrap_or_else(|| FilterCriteria::builder().build()))
                .set_scaling_config(
                    (spec.kind == SourceKind::Sqs)
                        .then(|| scaling(s).unwrap_or_else(|| ScalingConfig::builder().build())),
                )
                .set_maximum_retry_attempts(s.maximum_retry_attempts)
                .set_maximum_record_age_in_seconds(s.maximum_record_age)
                .set_bisect_batch_on_function_error(s.bisect_batch_on_function_error)
                .set_parallelization_factor(s.parallelization_factor)
                .set_tumbling_window_in_seconds(s.tumbling_window)
                // Sent as configured; an empty list is not sent (Lambda keeps a broker's access
                // configurations unless given new ones).
                .set_source_access_configurations(access(s).filter(|_| broker))
                .set_destination_config(streams.then(|| {
                    destination(s).unwrap_or_else(|| {
                        DestinationConfig::builder()
                            .on_failure(OnFailure::builder().build())
                            .build()
                    })
                }))
                .send()
                .await
                .map_err(call_err("UpdateEventSourceMapping", &res))?;
            wait_settled(aws, uuid, &res).await?;
        }
        MappingStep::DeleteEventSourceMapping { uuid, source, .. } => {
            let res = format!("event source mapping {uuid} ({source})");
            match aws
                .lambda
                .delete_event_source_mapping()
                .uuid(uuid)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, NOT_FOUND) => {}
                Err(e) => return Err(call_err("DeleteEventSourceMapping", &res)(e)),
            }
            wait_gone(aws, uuid, &res).await?;
        }
    }
    Ok(())
}

fn spec<'d>(
    d: &'d Desired,
    function: &str,
    source: &str,
    target: &Option<String>,
) -> Result<&'d MappingSpec, AwsError> {
    d.mappings
        .iter()
        .find(|m| m.function == function && m.source == source && &m.target == target)
        .ok_or_else(|| {
            AwsError::Other(format!(
                "the plan maps {source} to `{function}`, which the config does not"
            ))
        })
}

fn response_types(s: &MappingSettings) -> Option<Vec<FunctionResponseType>> {
    (!s.function_response_types.is_empty()).then(|| {
        s.function_response_types
            .iter()
            .map(|t| FunctionResponseType::from(t.as_str()))
            .collect()
    })
}

fn filters(s: &MappingSettings) -> Option<FilterCriteria> {
    (!s.filter_patterns.is_empty()).then(|| {
        FilterCriteria::builder()
            .set_filters(Some(
                s.filter_patterns
                    .iter()
                    .map(|p| Filter::builder().pattern(p).build())
                    .collect(),
            ))
            .build()
    })
}

fn access(s: &MappingSettings) -> Option<Vec<SourceAccessConfiguration>> {
    (!s.access.is_empty()).then(|| {
        s.access
            .iter()
            .map(|(kind, uri)| {
                SourceAccessConfiguration::builder()
                    .r#type(SourceAccessType::from(kind.as_str()))
                    .uri(uri)
                    .build()
            })
            .collect()
    })
}

fn scaling(s: &MappingSettings) -> Option<ScalingConfig> {
    s.maximum_concurrency
        .map(|n| ScalingConfig::builder().maximum_concurrency(n).build())
}

fn destination(s: &MappingSettings) -> Option<DestinationConfig> {
    s.on_failure.as_ref().map(|arn| {
        DestinationConfig::builder()
            .on_failure(OnFailure::builder().destination(arn).build())
            .build()
    })
}

/// Lambda refuses to change a mapping while it is Creating, Updating, Enabling or Disabling:
/// wait (bounded) until it settles, so that a following step or run finds it usable.
async fn wait_settled(aws: &Aws, uuid: &str, res: &str) -> Result<(), AwsError> {
    let started = Instant::now();
    loop {
        let m = aws
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .map_err(call_err("GetEventSourceMapping", res))?;
        let state = m.state().unwrap_or_default();
        if !matches!(state, "Creating" | "Updating" | "Enabling" | "Disabling") {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err(AwsError::Other(format!(
                "{res} is still {state} after 2 minutes; run the deploy again"
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// A deleted mapping goes through Deleting: wait until it is gone, so that a mapping of the
/// same source and alias can be created (a replacement) without a conflict.
async fn wait_gone(aws: &Aws, uuid: &str, res: &str) -> Result<(), AwsError> {
    let started = Instant::now();
    loop {
        match aws
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Err(e) if is_code(&e, NOT_FOUND) => return Ok(()),
            Err(e) => return Err(call_err("GetEventSourceMapping", res)(e)),
            Ok(_) if started.elapsed() > Duration::from_secs(120) => {
                return Err(AwsError::Other(format!(
                    "{res} is still being deleted after 2 minutes; run the deploy again"
                )));
            }
            Ok(_) => tokio::time::sleep(Duration::from_secs(2)).await,
        }
    }
}
