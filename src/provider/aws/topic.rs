//! SNS topics and subscriptions of `sns` events: read (the topics tagged as ours, those the
//! config names, and on each the subscriptions of lambda endpoints, paged) and created, changed
//! or deleted step by step, with the per-topic grant on the alias. Planning: `plan::topic`.

use std::collections::BTreeMap;

use super::context::Applying;
use super::{
    Aws, AwsError, NOT_FOUND, all_pages, call_err, compact_json, is_code, remove_statement,
};
use crate::plan::topic::{SUBSCRIPTION_ATTRIBUTES, name_of, statement_id};
use crate::plan::{Desired, ObservedSubscription, ObservedTopic, TopicStep};

type Topics = BTreeMap<String, ObservedTopic>;
type Subscriptions = BTreeMap<String, Vec<ObservedSubscription>>;

/// `account`: the account's id when a run already knows it (from the role or a function), to
/// look up a topic the config names that is not ours; without it, a topic of that name made by
/// someone else is found at creation (SNS refuses to create it with other tags). `granted`:
/// topics our functions hold a grant for (`sls-sns-{topic}`), whose subscriptions of ours are
/// read even once the config no longer names them.
/// `tagged`: what [`ours`] found (read beforehand, side by side with the functions).
pub async fn observe(
    aws: &Aws,
    d: &Desired,
    account: Option<&str>,
    granted: Vec<String>,
    tagged: Vec<String>,
) -> Result<(Topics, Subscriptions), AwsError> {
    let mut topics = Topics::new();
    for arn in tagged {
        topics.insert(
            name_of(&arn).to_string(),
            ObservedTopic {
                display_name: display_name(aws, &arn).await?,
                arn,
                owned: true,
            },
        );
    }
    let (partition, _) = crate::plan::partition(&aws.region);
    let mut arns: Vec<String> = topics.values().map(|t| t.arn.clone()).collect();
    for t in &d.topics {
        if let Some(arn) = &t.arn {
            arns.push(arn.clone());
            continue;
        }
        if topics.contains_key(&t.name) {
            continue;
        }
        let Some(account) = account else { continue };
        let arn = format!("arn:{partition}:sns:{}:{account}:{}", aws.region, t.name);
        match aws.sns.get_topic_attributes().topic_arn(&arn).send().await {
            Ok(a) => {
                let shown = a
                    .attributes()
                    .and_then(|m| m.get("DisplayName"))
                    .cloned()
                    .unwrap_or_default();
                topics.insert(
                    t.name.clone(),
                    ObservedTopic {
                        arn: arn.clone(),
                        owned: false,
                        display_name: shown,
                    },
                );
            }
            Err(e) if is_code(&e, NOT_FOUND) => {}
            Err(e) => {
                return Err(call_err(
                    "GetTopicAttributes",
                    &format!("SNS topic {}", t.name),
                )(e));
            }
        }
    }
    if let Some(account) = account {
        arns.extend(
            granted
                .iter()
                .map(|t| format!("arn:{partition}:sns:{}:{account}:{t}", aws.region)),
        );
    }
    arns.sort();
    arns.dedup();
    let mut subs = Subscriptions::new();
    for arn in arns {
        let found = subscriptions(aws, d, &arn).await?;
        if !found.is_empty() {
            subs.insert(name_of(&arn).to_string(), found);
        }
    }
    Ok((topics, subs))
}

/// The topics tagged for this service and stage.
pub async fn ours(aws: &Aws, d: &Desired) -> Result<Vec<String>, AwsError> {
    super::tagged(
        aws,
        d,
        "sns:topic",
        &[],
        "SNS topics tagged for this service",
    )
    .await
}

async fn display_name(aws: &Aws, arn: &str) -> Result<String, AwsError> {
    let a = aws
        .sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .map_err(call_err("GetTopicAttributes", &format!("SNS topic {arn}")))?;
    Ok(a.attributes()
        .and_then(|m| m.get("DisplayName"))
        .cloned()
        .unwrap_or_default())
}

/// The lambda subscriptions of a topic that name one of this service's functions, with the
/// attributes sls manages.
async fn subscriptions(
    aws: &Aws,
    d: &Desired,
    topic: &str,
) -> Result<Vec<ObservedSubscription>, AwsError> {
    let res = format!("SNS topic {topic}");
    let listed = all_pages(|token| async {
        let page = match aws
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(p) => p,
            // A topic a grant still names, deleted since: nothing of ours on it.
            Err(e) if is_code(&e, NOT_FOUND) => return Ok((Vec::new(), None)),
            Err(e) => return Err(call_err("ListSubscriptionsByTopic", &res)(e)),
        };
        Ok((
            page.subscriptions().to_vec(),
            page.next_token().map(str::to_string),
        ))
    })
    .await?;
    let ours = format!(":function:{}-{}-", d.service, d.stage);
    let mut out = Vec::new();
    for s in listed {
        let endpoint = s.endpoint().unwrap_or_default().to_string();
        let named = d
            .functions
            .iter()
            .any(|f| endpoint.contains(&format!(":function:{}:", f.name)));
        if s.protocol() != Some("lambda") || !(endpoint.contains(&ours) || named) {
            continue;
        }
        let arn = s.subscription_arn().unwrap_or_default().to_string();
        // A subscription still being confirmed has no ARN yet: nothing to read or change.
        if !arn.starts_with("arn:") {
            continue;
        }
        let got = aws
            .sns
            .get_subscription_attributes()
            .subscription_arn(&arn)
            .send()
            .await
            .map_err(call_err("GetSubscriptionAttributes", &res))?;
        let attributes = got
            .attributes()
            .into_iter()
            .flatten()
            .filter(|(k, v)| SUBSCRIPTION_ATTRIBUTES.contains(&k.as_str()) && !v.is_empty())
            .map(|(k, v)| (k.clone(), compact_json(v)))
            .collect();
        out.push(ObservedSubscription {
            arn,
            endpoint,
            attributes,
        });
    }
    Ok(out)
}

/// The ARN of a topic the config names.
fn topic_arn(cx: &Applying<'_>, topic: &str) -> String {
    if let Some(arn) =
        cx.d.topics
            .iter()
            .find(|t| t.name == topic)
            .and_then(|t| t.arn.clone())
    {
        return arn;
    }
    let (partition, _) = crate::plan::partition(&cx.aws.region);
    format!(
        "arn:{partition}:sns:{}:{}:{topic}",
        cx.aws.region,
        cx.account()
    )
}

pub async fn apply(cx: &Applying<'_>, step: &TopicStep) -> Result<(), AwsError> {
    let aws = cx.aws;
    match step {
        TopicStep::CreateTopic { topic } => {
            let res = format!("SNS topic {topic}");
            let spec = cx.d.topics.iter().find(|t| &t.name == topic);
            let tags: Vec<aws_sdk_sns::types::Tag> =
                cx.d.tags
                    .iter()
                    .filter_map(|(k, v)| {
                        aws_sdk_sns::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                            .ok()
                    })
                    .collect();
            let mut call = aws.sns.create_topic().name(topic).set_tags(Some(tags));
            if let Some(shown) = spec
                .map(|t| t.display_name.clone())
                .filter(|n| !n.is_empty())
            {
                call = call.attributes("DisplayName", shown);
            }
            match call.send().await {
                Ok(_) => {}
                // SNS refuses to "create" a topic that exists with other tags: someone else's.
                Err(e) if is_code(&e, &["InvalidParameter", "InvalidParameterException"]) => {
                    return Err(AwsError::NotOurs(res));
                }
                Err(e) => return Err(call_err("CreateTopic", &res)(e)),
            }
        }
        TopicStep::SetTopicDisplayName { topic } => {
            let shown =
                cx.d.topics
                    .iter()
                    .find(|t| &t.name == topic)
                    .map(|t| t.display_name.clone())
                    .unwrap_or_default();
            aws.sns
                .set_topic_attributes()
                .topic_arn(topic_arn(cx, topic))
                .attribute_name("DisplayName")
                .attribute_value(shown)
                .send()
                .await
                .map_err(call_err(
                    "SetTopicAttributes",
                    &format!("SNS topic {topic}"),
                ))?;
        }
        TopicStep::GrantTopic {
            function_name,
            topic,
            ..
        } => {
            super::grant(
                aws,
                &super::Grant {
                    function_name,
                    alias: &cx.d.live,
                    sid: &statement_id(topic),
                    principal: "sns.amazonaws.com",
                    source_arn: Some(topic_arn(cx, topic)),
                    source_account: None,
                    event_source_token: None,
                },
            )
            .await?;
        }
        TopicStep::Subscribe {
            function, topic, ..
        } => {
            let spec =
                cx.d.subscriptions
                    .iter()
                    .find(|s| &s.function == function && &s.topic == topic)
                    .ok_or_else(|| {
                        AwsError::Other(format!(
                            "the plan subscribes `{function}` to {topic}, which the config does not"
                        ))
                    })?;
            aws.sns
                .subscribe()
                .topic_arn(topic_arn(cx, topic))
                .protocol("lambda")
                .endpoint(cx.alias_arn(function))
                .set_attributes(
                    (!spec.attributes.is_empty())
                        .then(|| spec.attributes.clone().into_iter().collect()),
                )
                .return_subscription_arn(true)
                .send()
                .await
                .map_err(call_err("Subscribe", &format!("SNS topic {topic}")))?;
        }
        TopicStep::SetSubscriptionAttributes {
            function,
            topic,
            subscription,
            ..
        } => {
            let want =
                cx.d.subscriptions
                    .iter()
                    .find(|s| &s.function == function && &s.topic == topic)
                    .map(|s| s.attributes.clone())
                    .unwrap_or_default();
            let res = format!("SNS subscription {subscription}");
            // The scope goes before the policy it qualifies; an empty value removes one.
            for name in ["FilterPolicyScope", "FilterPolicy", "RedrivePolicy"] {
                let value = want.get(name).cloned().unwrap_or_default();
                if value.is_empty() && name == "FilterPolicyScope" {
                    continue;
                }
                aws.sns
                    .set_subscription_attributes()
                    .subscription_arn(subscription)
                    .attribute_name(name)
                    .attribute_value(value)
                    .send()
                    .await
                    .map_err(call_err("SetSubscriptionAttributes", &res))?;
            }
        }
        TopicStep::Unsubscribe { subscription, .. } => {
            match aws
                .sns
                .unsubscribe()
                .subscription_arn(subscription)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, NOT_FOUND) => {}
                Err(e) => {
                    return Err(call_err(
                        "Unsubscribe",
                        &format!("SNS subscription {subscription}"),
                    )(e));
                }
            }
        }
        TopicStep::RevokeTopic {
            function_name,
            statement,
        } => remove_statement(aws, function_name, &cx.d.live, statement).await?,
        TopicStep::DeleteTopic { topic, arn } => {
            aws.sns
                .delete_topic()
                .topic_arn(arn)
                .send()
                .await
                .map_err(call_err("DeleteTopic", &format!("SNS topic {topic}")))?;
        }
    }
    Ok(())
}
