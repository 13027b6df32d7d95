//! `schedule` rules in EventBridge: read (the rules in this service's names, their tags and our
//! target, paged) and put, targeted or deleted step by step. Planning: `plan::schedule`.

use std::collections::BTreeMap;

use aws_sdk_eventbridge::types::{InputTransformer, RuleState, Tag, Target};

use super::context::Applying;
use super::{Aws, AwsError, Boxed, NOT_FOUND, all_pages, bounded, call_err, is_code, owned};
use crate::plan::desired::rule_prefix;
use crate::plan::schedule::{RuleSpec, TargetInput, target_id};
use crate::plan::{Desired, ObservedRule, ScheduleStep};

/// Every rule named with the service's prefix (ours, and look-alikes to leave alone), with our
/// target. Rules are few per service, so each one's tags and targets are read side by side.
pub async fn observe(aws: &Aws, d: &Desired) -> Result<BTreeMap<String, ObservedRule>, AwsError> {
    let prefix = rule_prefix(&d.service, &d.stage);
    let res = format!("EventBridge rules {prefix}*");
    let listed = all_pages(|token| async {
        let page = aws
            .events
            .list_rules()
            .name_prefix(&prefix)
            .set_next_token(token)
            .send()
            .await
            .map_err(call_err("ListRules", &res))?;
        Ok((page.rules().to_vec(), page.next_token().map(str::to_string)))
    })
    .await?;
    let reads: Vec<Boxed<'_, ObservedRule>> = listed
        .iter()
        .map(|r| Box::pin(read(aws, d, r)) as Boxed<'_, _>)
        .collect();
    let mut out = BTreeMap::new();
    for r in bounded(reads, 8).await {
        let r = r?;
        out.insert(r.name.clone(), r);
    }
    Ok(out)
}

/// One rule's tags and, when it is ours, our target.
async fn read(
    aws: &Aws,
    d: &Desired,
    r: &aws_sdk_eventbridge::types::Rule,
) -> Result<ObservedRule, AwsError> {
    {
        let name = r.name().unwrap_or_default().to_string();
        let res = format!("EventBridge rule {name}");
        let tags = aws
            .events
            .list_tags_for_resource()
            .resource_arn(r.arn().unwrap_or_default())
            .send()
            .await
            .map_err(call_err("ListTagsForResource", &res))?;
        let tags: BTreeMap<String, String> = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        let is_ours = owned(&tags, d);
        let target = if is_ours {
            let targets = aws
                .events
                .list_targets_by_rule()
                .rule(&name)
                .send()
                .await
                .map_err(call_err("ListTargetsByRule", &res))?;
            let function = d
                .rules
                .iter()
                .find(|s| s.name == name)
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
            owned: is_ours,
            expression: r.schedule_expression().unwrap_or_default().to_string(),
            enabled: r.state() != Some(&RuleState::Disabled),
            description: r.description().unwrap_or_default().to_string(),
            target,
        })
    }
}

fn input_of(t: &Target) -> TargetInput {
    TargetInput {
        input: t.input().map(compact),
        input_path: t.input_path().map(str::to_string),
        transformer: t.input_transformer().map(|x| {
            let paths = x
                .input_paths_map()
                .map(|m| {
                    serde_json::to_string(&m.iter().collect::<BTreeMap<_, _>>()).unwrap_or_default()
                })
                .unwrap_or_else(|| "{}".into());
            (compact(&paths), x.input_template().to_string())
        }),
    }
}

/// JSON as compact text, however it was spaced; anything else as it is.
fn compact(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .map_or_else(|_| text.to_string(), |v| v.to_string())
}

pub async fn apply(cx: &Applying<'_>, step: &ScheduleStep) -> Result<(), AwsError> {
    let aws = cx.aws;
    match step {
        ScheduleStep::PutRule { rule, .. } => {
            let spec = spec(cx.d, rule)?;
            let tags: Vec<Tag> =
                cx.d.tags
                    .iter()
                    .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                    .collect();
            aws.events
                .put_rule()
                .name(rule)
                .schedule_expression(&spec.expression)
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
                .map_err(call_err("PutRule", &format!("EventBridge rule {rule}")))?;
        }
        ScheduleStep::PutTargets { rule, function } => {
            let spec = spec(cx.d, rule)?;
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
                .build()
                .map_err(|e| AwsError::Other(e.to_string()))?;
            let res = format!("EventBridge rule {rule}");
            let put = aws
                .events
                .put_targets()
                .rule(rule)
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
            let res = format!("EventBridge rule {rule}");
            let targets = match aws.events.list_targets_by_rule().rule(rule).send().await {
                Ok(t) => t.targets().iter().map(|t| t.id().to_string()).collect(),
                Err(e) if is_code(&e, NOT_FOUND) => return Ok(()),
                Err(e) => return Err(call_err("ListTargetsByRule", &res)(e)),
            };
            let targets: Vec<String> = targets;
            if !targets.is_empty() {
                aws.events
                    .remove_targets()
                    .rule(rule)
                    .set_ids(Some(targets))
                    .send()
                    .await
                    .map_err(call_err("RemoveTargets", &res))?;
            }
            match aws.events.delete_rule().name(rule).send().await {
                Ok(_) => {}
                Err(e) if is_code(&e, NOT_FOUND) => {}
                Err(e) => return Err(call_err("DeleteRule", &res)(e)),
            }
        }
    }
    Ok(())
}

fn spec<'d>(d: &'d Desired, rule: &str) -> Result<&'d RuleSpec, AwsError> {
    d.rules.iter().find(|r| r.name == rule).ok_or_else(|| {
        AwsError::Other(format!(
            "the plan puts EventBridge rule {rule}, which the config does not name"
        ))
    })
}
