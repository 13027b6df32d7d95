//! EventBridge rules of `schedule` and `eventBridge` events, and the buses sls makes for them:
//! read (the rules in this service's names on each bus, their tags and our target, paged) and
//! put, targeted or deleted step by step. Planning: `plan::schedule`.

use std::collections::BTreeMap;

use aws_sdk_eventbridge::types::{
    DeadLetterConfig, InputTransformer, RetryPolicy, RuleState, Tag, Target,
};

use super::context::Applying;
use super::{
    Aws, AwsError, Boxed, NOT_FOUND, all_pages, bounded, call_err, compact_json, is_code, owned,
    tolerate,
};
use crate::plan::rule_prefix;
use crate::plan::schedule::{RuleSpec, TargetInput, rule_key, split_key, target_id};
use crate::plan::{Desired, ObservedRule, ScheduleStep};

/// The buses the config names and those tagged as ours (name → ours?), and on the default bus
/// and each of those, every rule named with the service's prefix (ours, and look-alikes to
/// leave alone) with our target. Rules are few, so each one's tags and targets are read side
/// by side. A rule sls made on a bus of the user's that the config no longer names is not seen.
pub async fn observe(
    aws: &Aws,
    d: &Desired,
) -> Result<(BTreeMap<String, ObservedRule>, BTreeMap<String, bool>), AwsError> {
    // The default bus is listed while the buses are looked up.
    let (tagged, on_default) = tokio::join!(ours(aws, d), list(aws, d, None));
    let mut buses: BTreeMap<String, bool> = BTreeMap::new();
    for name in tagged? {
        buses.insert(name, true);
    }
    for name in &d.buses {
        if buses.contains_key(name) {
            continue;
        }
        match aws.events.describe_event_bus().name(name).send().await {
            Ok(_) => {
                buses.insert(name.clone(), false);
            }
            Err(e) if is_code(&e, NOT_FOUND) => {}
            Err(e) => {
                return Err(call_err(
                    "DescribeEventBus",
                    &format!("EventBridge bus {name}"),
                )(e));
            }
        }
    }
    let mut on: Vec<Option<String>> = buses.keys().cloned().map(Some).collect();
    on.extend(
        d.rules
            .iter()
            .filter_map(|r| r.bus.clone())
            .filter(|b| b.starts_with("arn:"))
            .map(Some),
    );
    on.sort();
    on.dedup();
    let mut rules = BTreeMap::new();
    let mut listings = vec![(None, on_default?)];
    for bus in on {
        let listed = list(aws, d, bus.as_deref()).await?;
        listings.push((bus, listed));
    }
    for (bus, listed) in listings {
        let reads: Vec<Boxed<'_, ObservedRule>> = listed
            .iter()
            .map(|r| Box::pin(read(aws, d, r, bus.clone())) as Boxed<'_, _>)
            .collect();
        for r in bounded(reads, 8).await {
            let r = r?;
            rules.insert(rule_key(r.bus.as_deref(), &r.name), r);
        }
    }
    Ok((rules, buses))
}

/// The rules in the service's names on a bus (the default one for `None`).
async fn list(
    aws: &Aws,
    d: &Desired,
    bus: Option<&str>,
) -> Result<Vec<aws_sdk_eventbridge::types::Rule>, AwsError> {
    let prefix = rule_prefix(&d.service, &d.stage);
    let res = format!(
        "EventBridge rules {prefix}* on bus {}",
        bus.unwrap_or("default")
    );
    all_pages(|token| async {
        let page = aws
            .events
            .list_rules()
            .name_prefix(&prefix)
            .set_event_bus_name(bus.map(str::to_string))
            .set_next_token(token)
            .send()
            .await
            .map_err(call_err("ListRules", &res))?;
        Ok((page.rules().to_vec(), page.next_token().map(str::to_string)))
    })
    .await
}

/// The names of the buses tagged for this service and stage (made by sls).
async fn ours(aws: &Aws, d: &Desired) -> Result<Vec<String>, AwsError> {
    let arns = super::tagged(
        aws,
        d,
        "events:event-bus",
        &[],
        "EventBridge buses tagged for this service",
    )
    .await?;
    Ok(arns
        .iter()
        .filter_map(|arn| arn.rsplit('/').next().map(str::to_string))
        .collect())
}

/// One rule's tags and, when it is ours, our target.
async fn read(
    aws: &Aws,
    d: &Desired,
    r: &aws_sdk_eventbridge::types::Rule,
    bus: Option<String>,
) -> Result<ObservedRule, AwsError> {
    {
        let name = r.name().unwrap_or_default().to_string();
        let res = format!("EventBridge rule {name}");
        // Tags and targets side by side: the targets of a rule that is not ours go unused.
        let (tags, targets) = tokio::join!(
            aws.events
                .list_tags_for_resource()
                .resource_arn(r.arn().unwrap_or_default())
                .send(),
            aws.events
                .list_targets_by_rule()
                .rule(&name)
                .set_event_bus_name(bus.clone())
                .send()
        );
        let tags = tags.map_err(call_err("ListTagsForResource", &res))?;
        let tags: BTreeMap<String, String> = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        let is_ours = owned(&tags, d);
        let target = if is_ours {
            let targets = targets.map_err(call_err("ListTargetsByRule", &res))?;
            let function = d
                .rules
                .iter()
                .find(|s| s.name == name && s.bus == bus)
                .map(|s| target_id(&s.function));
            targets
                .targets()
                .iter()
                .find(|t| Some(t.id()) == function.as_deref())
                .map(|t| (t.arn().to_string(), input_of(t)))
        } else {
            None
        };
        Ok(ObservedRule {
            name: name.clone(),
            bus,
            owned: is_ours,
            expression: r.schedule_expression().unwrap_or_default().to_string(),
            pattern: r.event_pattern().map(compact_json),
            enabled: r.state() != Some(&RuleState::Disabled),
            description: r.description().unwrap_or_default().to_string(),
            target,
        })
    }
}

fn input_of(t: &Target) -> TargetInput {
    TargetInput {
        input: t.input().map(compact_json),
        input_path: t.input_path().map(str::to_string),
        transformer: t.input_transformer().map(|x| {
            let paths = x
                .input_paths_map()
                .map(|m| {
                    serde_json::to_string(&m.iter().collect::<BTreeMap<_, _>>()).unwrap_or_default()
                })
                .unwrap_or_else(|| "{}".into());
            (compact_json(&paths), x.input_template().to_string())
        }),
        retry: t.retry_policy().map(|r| {
            (
                r.maximum_event_age_in_seconds().unwrap_or(86_400),
                r.maximum_retry_attempts().unwrap_or(185),
            )
        }),
        dead_letter: t
            .dead_letter_config()
            .and_then(|c| c.arn())
            .map(str::to_string),
    }
}

pub async fn apply(cx: &Applying<'_>, step: &ScheduleStep) -> Result<(), AwsError> {
    let aws = cx.aws;
    match step {
        ScheduleStep::PutRule { rule, .. } => {
            let spec = spec(cx.d, rule)?;
            let (bus, name) = split_key(rule);
            let tags: Vec<Tag> =
                cx.d.tags
                    .iter()
                    .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                    .collect();
            aws.events
                .put_rule()
                .name(name)
                .set_event_bus_name(bus.map(str::to_string))
                .set_schedule_expression(
                    (!spec.expression.is_empty()).then(|| spec.expression.clone()),
                )
                .set_event_pattern(spec.pattern.clone())
                .state(if spec.enabled {
                    RuleState::Enabled
                } else {
                    RuleState::Disabled
                })
                .description(&spec.description)
                // Tags apply when the rule is created; an existing rule of ours has them.
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(call_err("PutRule", &format!("EventBridge rule {name}")))?;
        }
        ScheduleStep::PutTargets { rule, function } => {
            let spec = spec(cx.d, rule)?;
            let (bus, name) = split_key(rule);
            let i = &spec.input;
            let transformer = match &i.transformer {
                Some((paths, template)) => {
                    let map: BTreeMap<String, String> =
                        serde_json::from_str(paths).unwrap_or_default();
                    Some(
                        InputTransformer::builder()
                            .set_input_paths_map(Some(map.into_iter().collect()))
                            .input_template(template)
                            .build()
                            .map_err(|e| AwsError::Other(e.to_string()))?,
                    )
                }
                None => None,
            };
            let target = Target::builder()
                .id(target_id(function))
                .arn(cx.alias_arn(function))
                .set_input(i.input.clone())
                .set_input_path(i.input_path.clone())
                .set_input_transformer(transformer)
                .set_retry_policy(i.retry.map(|(age, attempts)| {
                    RetryPolicy::builder()
                        .maximum_event_age_in_seconds(age)
                        .maximum_retry_attempts(attempts)
                        .build()
                }))
                .set_dead_letter_config(
                    i.dead_letter
                        .as_ref()
                        .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
                )
                .build()
                .map_err(|e| AwsError::Other(e.to_string()))?;
            let res = format!("EventBridge rule {name}");
            let put = aws
                .events
                .put_targets()
                .rule(name)
                .set_event_bus_name(bus.map(str::to_string))
                .targets(target)
                .send()
                .await
                .map_err(call_err("PutTargets", &res))?;
            // PutTargets answers 200 with per-target failures.
            if let Some(f) = put.failed_entries().first() {
                return Err(AwsError::Other(format!(
                    "PutTargets for {res} failed: {} {}",
                    f.error_code().unwrap_or_default(),
                    f.error_message().unwrap_or_default()
                )));
            }
        }
        ScheduleStep::DeleteRule { rule } => {
            let (bus, rule) = split_key(rule);
            delete_rule(aws, bus, rule).await?;
        }
        ScheduleStep::CreateEventBus { bus } => {
            let res = format!("EventBridge bus {bus}");
            let tags: Vec<Tag> =
                cx.d.tags
                    .iter()
                    .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                    .collect();
            match aws
                .events
                .create_event_bus()
                .name(bus)
                .set_tags(Some(tags))
                .send()
                .await
            {
                Ok(_) => {}
                // Made meanwhile (an interrupted run): a bus is used whoever made it.
                Err(e) if is_code(&e, &["ResourceAlreadyExistsException"]) => {}
                Err(e) => return Err(call_err("CreateEventBus", &res)(e)),
            }
        }
        ScheduleStep::DeleteEventBus { bus } => {
            let res = format!("EventBridge bus {bus}");
            match aws.events.delete_event_bus().name(bus).send().await {
                Ok(_) => {}
                Err(e) if is_code(&e, NOT_FOUND) => {}
                Err(e) => return Err(call_err("DeleteEventBus", &res)(e)),
            }
        }
    }
    Ok(())
}

fn spec<'d>(d: &'d Desired, rule: &str) -> Result<&'d RuleSpec, AwsError> {
    d.rules
        .iter()
        .find(|r| rule_key(r.bus.as_deref(), &r.name) == rule)
        .ok_or_else(|| {
            AwsError::Other(format!(
                "the plan puts EventBridge rule {rule}, which the config does not name"
            ))
        })
}

/// Deletes a rule (on `bus`, the default one for `None`): its targets first, as EventBridge
/// requires; a rule or targets already gone count as deleted.
pub(super) async fn delete_rule(aws: &Aws, bus: Option<&str>, rule: &str) -> Result<(), AwsError> {
    let bus = bus.map(str::to_string);
    let res = format!("EventBridge rule {rule}");
    let targets: Vec<String> = match aws
        .events
        .list_targets_by_rule()
        .rule(rule)
        .set_event_bus_name(bus.clone())
        .send()
        .await
    {
        Ok(t) => t.targets().iter().map(|t| t.id().to_string()).collect(),
        Err(e) if is_code(&e, NOT_FOUND) => return Ok(()),
        Err(e) => return Err(call_err("ListTargetsByRule", &res)(e)),
    };
    if !targets.is_empty() {
        let r = aws
            .events
            .remove_targets()
            .rule(rule)
            .set_event_bus_name(bus.clone())
            .set_ids(Some(targets))
            .send()
            .await;
        tolerate(r, NOT_FOUND, "RemoveTargets", &res)?;
    }
    let r = aws
        .events
        .delete_rule()
        .name(rule)
        .set_event_bus_name(bus)
        .send()
        .await;
    tolerate(r, NOT_FOUND, "DeleteRule", &res)
}
