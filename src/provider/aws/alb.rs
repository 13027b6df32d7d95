//! ALB target groups and listener rules of `alb` events: target groups found by name (those
//! the config names, and those our functions' `sls-alb-` grants name), read with their tags,
//! attributes and targets; rules read from each listener the config names or that one of our
//! target groups is behind (paged), ours by their tags. Planning: `plan::alb`.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, HostHeaderConditionConfig, HttpHeaderConditionConfig,
    HttpRequestMethodConditionConfig, Matcher, PathPatternConditionConfig,
    QueryStringConditionConfig, QueryStringKeyValuePair, RuleCondition, SourceIpConditionConfig,
    Tag, TargetDescription, TargetGroup, TargetGroupAttribute, TargetTypeEnum,
};

use super::context::Applying;
use super::{Aws, AwsError, NOT_FOUND, all_pages, call_err, is_code, owned, remove_statement};
use crate::plan::alb::{
    Condition, GRANT_PREFIX, HealthCheck, ObservedListenerRule, ObservedTargetGroup, statement_id,
};
use crate::plan::{AlbStep, Desired, Statements};

const MULTI_VALUE: &str = "lambda.multi_value_headers.enabled";
const GONE: &[&str] = &["TargetGroupNotFound", "RuleNotFound", "ListenerNotFound"];

/// The target groups and rules of ours, and the rules at the priorities the config wants.
pub async fn observe(
    aws: &Aws,
    d: &Desired,
    grants: &BTreeMap<String, Statements>,
) -> Result<(Vec<ObservedTargetGroup>, Vec<ObservedListenerRule>), AwsError> {
    let mut names: BTreeSet<String> = d.target_groups.iter().map(|t| t.name.clone()).collect();
    names.extend(
        grants
            .values()
            .flat_map(|s| s.keys())
            .filter_map(|sid| sid.strip_prefix(GRANT_PREFIX).map(str::to_string)),
    );
    let reads = names.iter().map(|name| async move {
        let r = aws.elbv2.describe_target_groups().names(name).send().await;
        match r {
            Ok(out) => Ok(out.target_groups().first().cloned()),
            Err(e) if is_code(&e, GONE) || is_code(&e, NOT_FOUND) => Ok(None),
            Err(e) => Err(call_err(
                "DescribeTargetGroups",
                &format!("ALB target group {name}"),
            )(e)),
        }
    });
    let mut found: Vec<TargetGroup> = Vec::new();
    for r in futures_util::future::join_all(reads).await {
        found.extend(r?);
    }
    let arns: Vec<String> = found
        .iter()
        .filter_map(|t| t.target_group_arn().map(str::to_string))
        .collect();
    let tags = tags_of(aws, &arns).await?;
    let details = found.iter().map(|t| async move {
        let arn = t.target_group_arn().unwrap_or_default();
        let res = format!(
            "ALB target group {}",
            t.target_group_name().unwrap_or_default()
        );
        let attributes = aws
            .elbv2
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send();
        let health = aws
            .elbv2
            .describe_target_health()
            .target_group_arn(arn)
            .send();
        let (attributes, health) = tokio::join!(attributes, health);
        let attributes = attributes.map_err(call_err("DescribeTargetGroupAttributes", &res))?;
        let health = health.map_err(call_err("DescribeTargetHealth", &res))?;
        let multi_value = attributes
            .attributes()
            .iter()
            .any(|a| a.key() == Some(MULTI_VALUE) && a.value() == Some("true"));
        let targets = health
            .target_health_descriptions()
            .iter()
            .filter_map(|h| h.target().and_then(|t| t.id()).map(str::to_string))
            .collect();
        Ok::<_, AwsError>((multi_value, targets))
    });
    let mut groups = Vec::new();
    for (t, r) in found
        .iter()
        .zip(futures_util::future::join_all(details).await)
    {
        let (multi_value, targets) = r?;
        let arn = t.target_group_arn().unwrap_or_default().to_string();
        let defaults = HealthCheck::default();
        groups.push(ObservedTargetGroup {
            name: t.target_group_name().unwrap_or_default().to_string(),
            owned: tags.get(&arn).is_some_and(|tags| owned(tags, d)),
            arn,
            multi_value,
            health: HealthCheck {
                enabled: t.health_check_enabled().unwrap_or(false),
                path: t.health_check_path().map_or(defaults.path, str::to_string),
                interval: t
                    .health_check_interval_seconds()
                    .unwrap_or(defaults.interval),
                timeout: t.health_check_timeout_seconds().unwrap_or(defaults.timeout),
                healthy: t.healthy_threshold_count().unwrap_or(defaults.healthy),
                unhealthy: t.unhealthy_threshold_count().unwrap_or(defaults.unhealthy),
                matcher: t
                    .matcher()
                    .and_then(|m| m.http_code())
                    .map_or(defaults.matcher, str::to_string),
            },
            targets,
            load_balancers: t.load_balancer_arns().to_vec(),
        });
    }
    // The listeners to read: the config's, and those in front of our groups.
    let mut listeners: BTreeSet<String> = d
        .listener_rules
        .iter()
        .map(|r| r.listener.clone())
        .collect();
    let ours: Vec<&ObservedTargetGroup> = groups.iter().filter(|g| g.owned).collect();
    let lbs: BTreeSet<&String> = ours.iter().flat_map(|g| &g.load_balancers).collect();
    for lb in lbs {
        let page = aws
            .elbv2
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .map_err(call_err(
                "DescribeListeners",
                &format!("load balancer {lb}"),
            ))?;
        listeners.extend(
            page.listeners()
                .iter()
                .filter_map(|l| l.listener_arn().map(str::to_string)),
        );
    }
    let our_arns: BTreeSet<&str> = ours.iter().map(|g| g.arn.as_str()).collect();
    let mut rules = Vec::new();
    for listener in &listeners {
        let res = format!("ALB listener {listener}");
        let all = all_pages(|marker| async {
            let page = aws
                .elbv2
                .describe_rules()
                .listener_arn(listener)
                .set_marker(marker)
                .send()
                .await
                .map_err(call_err("DescribeRules", &res))?;
            Ok((
                page.rules().to_vec(),
                page.next_marker().map(str::to_string),
            ))
        })
        .await?;
        let wanted: BTreeSet<i32> = d
            .listener_rules
            .iter()
            .filter(|r| &r.listener == listener)
            .map(|r| r.priority)
            .collect();
        for r in all {
            let Some(priority) = r.priority().and_then(|p| p.parse::<i32>().ok()) else {
                continue; // the listener's default rule
            };
            let forwards: Vec<String> = r
                .actions()
                .iter()
                .filter_map(|a| a.target_group_arn().map(str::to_string))
                .collect();
            let relevant = wanted.contains(&priority)
                || forwards.iter().any(|a| our_arns.contains(a.as_str()));
            if relevant {
                rules.push(ObservedListenerRule {
                    arn: r.rule_arn().unwrap_or_default().to_string(),
                    listener: listener.clone(),
                    priority,
                    // Known once the tags are read below.
                    owned: false,
                    target_groups: forwards,
                    conditions: conditions_of(&r),
                });
            }
        }
    }
    let rule_arns: Vec<String> = rules.iter().map(|r| r.arn.clone()).collect();
    let rule_tags = tags_of(aws, &rule_arns).await?;
    for r in &mut rules {
        r.owned = rule_tags.get(&r.arn).is_some_and(|t| owned(t, d));
    }
    Ok((groups, rules))
}

/// Tags of ELB resources, 20 ARNs a call (DescribeTags' limit).
async fn tags_of(
    aws: &Aws,
    arns: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
    let mut out = BTreeMap::new();
    for chunk in arns.chunks(20) {
        let page = aws
            .elbv2
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(call_err("DescribeTags", "ALB target groups and rules"))?;
        for t in page.tag_descriptions() {
            let tags = t
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            out.insert(t.resource_arn().unwrap_or_default().to_string(), tags);
        }
    }
    Ok(out)
}

/// A rule's conditions in the plan's canonical form.
fn conditions_of(r: &aws_sdk_elasticloadbalancingv2::types::Rule) -> Vec<Condition> {
    let mut out: Vec<Condition> = r
        .conditions()
        .iter()
        .filter_map(|c| {
            let field = c.field()?.to_string();
            let (name, values): (Option<String>, Vec<String>) = match field.as_str() {
                "path-pattern" => (
                    None,
                    c.path_pattern_config()
                        .map(|x| x.values().to_vec())
                        .unwrap_or_else(|| c.values().to_vec()),
                ),
                "host-header" => (
                    None,
                    c.host_header_config()
                        .map(|x| x.values().to_vec())
                        .unwrap_or_else(|| c.values().to_vec()),
                ),
                "http-request-method" => (
                    None,
                    c.http_request_method_config()
                        .map(|x| x.values().to_vec())
                        .unwrap_or_default(),
                ),
                "source-ip" => (
                    None,
                    c.source_ip_config()
                        .map(|x| x.values().to_vec())
                        .unwrap_or_default(),
                ),
                "http-header" => {
                    let h = c.http_header_config();
                    (
                        h.and_then(|h| h.http_header_name()).map(str::to_string),
                        h.map(|h| h.values().to_vec()).unwrap_or_default(),
                    )
                }
                "query-string" => (
                    None,
                    c.query_string_config()
                        .map(|q| {
                            q.values()
                                .iter()
                                .map(|kv| {
                                    format!(
                                        "{}={}",
                                        kv.key().unwrap_or_default(),
                                        kv.value().unwrap_or_default()
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                _ => (None, c.values().to_vec()),
            };
            let mut values = values;
            values.sort();
            Some(Condition {
                field,
                name,
                values,
            })
        })
        .collect();
    out.sort();
    out
}

/// The conditions as ELB takes them.
fn rule_conditions(conditions: &[Condition]) -> Vec<RuleCondition> {
    conditions
        .iter()
        .map(|c| {
            let b = RuleCondition::builder().field(&c.field);
            let v = c.values.clone();
            match c.field.as_str() {
                "path-pattern" => b.path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(v))
                        .build(),
                ),
                "host-header" => b.host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(v))
                        .build(),
                ),
                "http-request-method" => b.http_request_method_config(
                    HttpRequestMethodConditionConfig::builder()
                        .set_values(Some(v))
                        .build(),
                ),
                "source-ip" => b.source_ip_config(
                    SourceIpConditionConfig::builder()
                        .set_values(Some(v))
                        .build(),
                ),
                "http-header" => b.http_header_config(
                    HttpHeaderConditionConfig::builder()
                        .set_http_header_name(c.name.clone())
                        .set_values(Some(v))
                        .build(),
                ),
                "query-string" => b.query_string_config(
                    QueryStringConditionConfig::builder()
                        .set_values(Some(
                            c.values
                                .iter()
                                .map(|kv| {
                                    let (k, val) = kv.split_once('=').unwrap_or((kv, ""));
                                    QueryStringKeyValuePair::builder().key(k).value(val).build()
                                })
                                .collect(),
                        ))
                        .build(),
                ),
                _ => b.set_values(Some(v)),
            }
            .build()
        })
        .collect()
}

fn tags(d: &Desired) -> Vec<Tag> {
    d.tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// A target group's ARN: made by this run, or observed.
fn arn_of(cx: &Applying<'_>, name: &str) -> Result<String, AwsError> {
    let known = cx.known().target_groups.get(name).cloned();
    known
        .or_else(|| {
            cx.o.target_groups
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.arn.clone())
        })
        .ok_or_else(|| {
            AwsError::Other(format!(
                "ALB target group {name}: its ARN is unknown; run the deploy again"
            ))
        })
}

pub async fn apply(cx: &Applying<'_>, step: &AlbStep) -> Result<(), AwsError> {
    let (aws, d) = (cx.aws, cx.d);
    let spec = |name: &str| {
        d.target_groups
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| {
                AwsError::Other(format!(
                    "ALB target group {name}: the plan changes a group the config lacks"
                ))
            })
    };
    match step {
        AlbStep::CreateTargetGroup { target_group } => {
            let s = spec(target_group)?;
            let res = format!("ALB target group {target_group}");
            let h = &s.health;
            let made = aws
                .elbv2
                .create_target_group()
                .name(target_group)
                .target_type(TargetTypeEnum::Lambda)
                .health_check_enabled(h.enabled)
                .health_check_path(&h.path)
                .health_check_interval_seconds(h.interval)
                .health_check_timeout_seconds(h.timeout)
                .healthy_threshold_count(h.healthy)
                .unhealthy_threshold_count(h.unhealthy)
                .matcher(Matcher::builder().http_code(&h.matcher).build())
                .set_tags(Some(tags(d)))
                .send()
                .await
                .map_err(call_err("CreateTargetGroup", &res))?;
            let arn = made
                .target_groups()
                .first()
                .and_then(|t| t.target_group_arn())
                .unwrap_or_default()
                .to_string();
            set_multi_value(aws, &arn, s.multi_value, &res).await?;
            cx.known().target_groups.insert(target_group.clone(), arn);
        }
        AlbStep::UpdateTargetGroup { target_group, .. } => {
            let s = spec(target_group)?;
            let res = format!("ALB target group {target_group}");
            let arn = arn_of(cx, target_group)?;
            let h = &s.health;
            aws.elbv2
                .modify_target_group()
                .target_group_arn(&arn)
                .health_check_enabled(h.enabled)
                .health_check_path(&h.path)
                .health_check_interval_seconds(h.interval)
                .health_check_timeout_seconds(h.timeout)
                .healthy_threshold_count(h.healthy)
                .unhealthy_threshold_count(h.unhealthy)
                .matcher(Matcher::builder().http_code(&h.matcher).build())
                .send()
                .await
                .map_err(call_err("ModifyTargetGroup", &res))?;
            set_multi_value(aws, &arn, s.multi_value, &res).await?;
        }
        AlbStep::GrantTargetGroup {
            target_group,
            function_name,
            ..
        } => {
            let arn = arn_of(cx, target_group)?;
            // One naming another group of this name (made again since) is replaced by `grant`.
            let sid = statement_id(target_group);
            super::grant(
                aws,
                &super::Grant {
                    function_name,
                    alias: &d.live,
                    sid: &sid,
                    principal: "elasticloadbalancing.amazonaws.com",
                    source_arn: Some(arn),
                    source_account: None,
                    event_source_token: None,
                },
            )
            .await?;
        }
        AlbStep::RegisterTarget {
            target_group,
            function,
        } => {
            let arn = arn_of(cx, target_group)?;
            let res = format!("ALB target group {target_group}");
            let alias = cx.alias_arn(function);
            let old: Vec<TargetDescription> =
                cx.o.target_groups
                    .iter()
                    .filter(|t| &t.name == target_group)
                    .flat_map(|t| &t.targets)
                    .filter(|id| **id != alias)
                    .map(|id| TargetDescription::builder().id(id).build())
                    .collect();
            if !old.is_empty() {
                aws.elbv2
                    .deregister_targets()
                    .target_group_arn(&arn)
                    .set_targets(Some(old))
                    .send()
                    .await
                    .map_err(call_err("DeregisterTargets", &res))?;
            }
            let target = TargetDescription::builder().id(alias).build();
            aws.elbv2
                .register_targets()
                .target_group_arn(&arn)
                .targets(target)
                .send()
                .await
                .map_err(call_err("RegisterTargets", &res))?;
        }
        AlbStep::CreateListenerRule {
            listener,
            priority,
            target_group,
        }
        | AlbStep::ModifyListenerRule {
            listener,
            priority,
            target_group,
            ..
        } => {
            let res = format!("ALB listener rule (priority {priority}) of {listener}");
            let rule = d
                .listener_rules
                .iter()
                .find(|r| &r.listener == listener && r.priority == *priority)
                .ok_or_else(|| {
                    AwsError::Other(format!("{res}: the plan changes a rule the config lacks"))
                })?;
            let forward = Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(arn_of(cx, target_group)?)
                .build();
            match step {
                AlbStep::ModifyListenerRule { rule_arn, .. } => {
                    aws.elbv2
                        .modify_rule()
                        .rule_arn(rule_arn)
                        .set_conditions(Some(rule_conditions(&rule.conditions)))
                        .actions(forward)
                        .send()
                        .await
                        .map_err(call_err("ModifyRule", &res))?;
                }
                _ => {
                    aws.elbv2
                        .create_rule()
                        .listener_arn(listener)
                        .priority(*priority)
                        .set_conditions(Some(rule_conditions(&rule.conditions)))
                        .actions(forward)
                        .set_tags(Some(tags(d)))
                        .send()
                        .await
                        .map_err(call_err("CreateRule", &res))?;
                }
            }
        }
        AlbStep::DeleteListenerRule {
            priority, rule_arn, ..
        } => {
            let r = aws.elbv2.delete_rule().rule_arn(rule_arn).send().await;
            super::tolerate(
                r,
                GONE,
                "DeleteRule",
                &format!("ALB listener rule (priority {priority})"),
            )?;
        }
        AlbStep::DeleteTargetGroup { target_group, arn } => {
            let r = aws
                .elbv2
                .delete_target_group()
                .target_group_arn(arn)
                .send()
                .await;
            super::tolerate(
                r,
                GONE,
                "DeleteTargetGroup",
                &format!("ALB target group {target_group}"),
            )?;
        }
        AlbStep::RevokeTargetGroup {
            function_name,
            statement,
        } => remove_statement(aws, function_name, &d.live, statement).await?,
    }
    Ok(())
}

async fn set_multi_value(aws: &Aws, arn: &str, on: bool, res: &str) -> Result<(), AwsError> {
    aws.elbv2
        .modify_target_group_attributes()
        .target_group_arn(arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key(MULTI_VALUE)
                .value(on.to_string())
                .build(),
        )
        .send()
        .await
        .map_err(call_err("ModifyTargetGroupAttributes", res))?;
    Ok(())
}
