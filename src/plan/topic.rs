//! `sns` events: the topics sls makes (by `topicName`) or uses (by `arn`), a subscription of each
//! function's live alias, and a grant per topic that lets SNS invoke the alias. AWS side:
//! `provider::aws::topic`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::events::Of;
use super::{Conflict, Desired, NOT_OURS, Observed, Phase, Plan};
use crate::config::model::SnsEvent;

/// A topic an `sns` event names: made and kept by sls (`topicName`), or the user's (`arn`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicSpec {
    pub name: String,
    /// Given as an ARN: used as it is, never created or deleted.
    pub arn: Option<String>,
    pub display_name: String,
}

/// A function's alias subscribed to a topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionSpec {
    /// The function's key under `functions:`.
    pub function: String,
    pub topic: String,
    /// Subscription attributes as SNS holds them (`FilterPolicy`, `FilterPolicyScope`,
    /// `RedrivePolicy`), each as compact JSON or text; absent ones are cleared.
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedTopic {
    pub arn: String,
    pub owned: bool,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedSubscription {
    pub arn: String,
    /// The endpoint: a function alias ARN.
    pub endpoint: String,
    pub attributes: BTreeMap<String, String>,
}

/// The attributes sls manages on a subscription.
pub const SUBSCRIPTION_ATTRIBUTES: &[&str] =
    &["FilterPolicy", "FilterPolicyScope", "RedrivePolicy"];

/// The statement id of the grant for one topic on a function's alias.
pub fn statement_id(topic: &str) -> String {
    let id = format!("sls-sns-{topic}");
    id.chars().take(100).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum TopicStep {
    CreateTopic {
        topic: String,
    },
    SetTopicDisplayName {
        topic: String,
    },
    #[serde(rename_all = "camelCase")]
    GrantTopic {
        function: String,
        function_name: String,
        topic: String,
    },
    #[serde(rename_all = "camelCase")]
    Subscribe {
        function: String,
        function_name: String,
        topic: String,
    },
    #[serde(rename_all = "camelCase")]
    SetSubscriptionAttributes {
        function: String,
        function_name: String,
        topic: String,
        subscription: String,
    },
    #[serde(rename_all = "camelCase")]
    Unsubscribe {
        function_name: String,
        topic: String,
        subscription: String,
    },
    #[serde(rename_all = "camelCase")]
    RevokeTopic {
        function_name: String,
        statement: String,
    },
    DeleteTopic {
        topic: String,
        arn: String,
    },
}

impl super::KindStep for TopicStep {
    fn phase(&self) -> Phase {
        match self {
            TopicStep::CreateTopic { .. } | TopicStep::SetTopicDisplayName { .. } => Phase::Apis,
            TopicStep::GrantTopic { .. } => Phase::Permissions,
            TopicStep::Subscribe { .. } | TopicStep::SetSubscriptionAttributes { .. } => {
                Phase::Triggers
            }
            TopicStep::Unsubscribe { .. } | TopicStep::RevokeTopic { .. } => Phase::DeleteTriggers,
            TopicStep::DeleteTopic { .. } => Phase::DeleteFunctions,
        }
    }

    /// Steps of one topic (or one function's subscriptions) run in order.
    fn lane(&self) -> String {
        match self {
            TopicStep::CreateTopic { topic }
            | TopicStep::SetTopicDisplayName { topic }
            | TopicStep::DeleteTopic { topic, .. } => format!("topic {topic}"),
            TopicStep::GrantTopic { function_name, .. }
            | TopicStep::Subscribe { function_name, .. }
            | TopicStep::SetSubscriptionAttributes { function_name, .. }
            | TopicStep::Unsubscribe { function_name, .. }
            | TopicStep::RevokeTopic { function_name, .. } => format!("function {function_name}"),
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            TopicStep::DeleteTopic { topic, .. } => Some(format!("SNS topic {topic}")),
            TopicStep::Unsubscribe {
                function_name,
                topic,
                ..
            } => Some(format!("SNS subscription {topic} → {function_name}")),
            TopicStep::CreateTopic { .. }
            | TopicStep::SetTopicDisplayName { .. }
            | TopicStep::GrantTopic { .. }
            | TopicStep::Subscribe { .. }
            | TopicStep::SetSubscriptionAttributes { .. }
            | TopicStep::RevokeTopic { .. } => None,
        }
    }
}

impl fmt::Display for TopicStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicStep::CreateTopic { topic } => write!(f, "+ SNS topic {topic}"),
            TopicStep::SetTopicDisplayName { topic } => {
                write!(f, "~ SNS topic {topic}: display name")
            }
            TopicStep::GrantTopic {
                function_name,
                topic,
                ..
            } => write!(
                f,
                "+ permission: SNS topic {topic} may invoke {function_name}"
            ),
            TopicStep::Subscribe {
                function_name,
                topic,
                ..
            } => write!(f, "+ SNS subscription {topic} → {function_name}"),
            TopicStep::SetSubscriptionAttributes {
                function_name,
                topic,
                ..
            } => write!(
                f,
                "~ SNS subscription {topic} → {function_name}: filter and redrive policies"
            ),
            TopicStep::Unsubscribe {
                function_name,
                topic,
                ..
            } => write!(f, "- SNS subscription {topic} → {function_name}"),
            TopicStep::RevokeTopic {
                function_name,
                statement,
            } => write!(f, "- permission {statement} on {function_name}"),
            TopicStep::DeleteTopic { topic, .. } => write!(f, "- SNS topic {topic}"),
        }
    }
}

/// The topic's name in an ARN (`arn:aws:sns:r:a:name` → `name`).
pub fn name_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// Topics made, converged or deleted (ours only); each function alias subscribed once per topic
/// with its attributes and granted once per topic; subscriptions and grants that left the
/// config removed.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    for t in &d.topics {
        if t.arn.is_some() {
            continue;
        }
        match o.topics.get(&t.name) {
            None => p.push(TopicStep::CreateTopic {
                topic: t.name.clone(),
            }),
            Some(have) if !have.owned => p.conflicts.push(Conflict {
                resource: format!("SNS topic {}", t.name),
                reason: format!(
                    "{NOT_OURS}; to use a topic of yours, give its `arn` instead of `topicName`"
                ),
            }),
            Some(have) if have.display_name != t.display_name => {
                p.push(TopicStep::SetTopicDisplayName {
                    topic: t.name.clone(),
                })
            }
            Some(_) => {}
        }
    }
    for (name, have) in &o.topics {
        if have.owned && !d.topics.iter().any(|t| &t.name == name) {
            p.push(TopicStep::DeleteTopic {
                topic: name.clone(),
                arn: have.arn.clone(),
            });
        }
    }
    // Subscriptions, keyed by (function name, topic name).
    let mut wanted: BTreeMap<(String, String), &SubscriptionSpec> = BTreeMap::new();
    for s in &d.subscriptions {
        if let Some(f) = d.function(&s.function) {
            wanted.insert((f.name.clone(), s.topic.clone()), s);
        }
    }
    let endpoint_of = |function_name: &str| d.qualified(&format!("function:{function_name}"));
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for (topic, subs) in &o.subscriptions {
        for sub in subs {
            // The function an endpoint names: one of the config's or ours by name or prefix.
            let ours = format!("{}-{}-", d.service, d.stage);
            let Some(f) = sub
                .endpoint
                .split(":function:")
                .nth(1)
                .map(|rest| rest.split(':').next().unwrap_or(rest))
                .filter(|n| {
                    sub.endpoint.ends_with(&endpoint_of(n))
                        && (n.starts_with(&ours)
                            || d.functions.iter().any(|f| f.name == *n)
                            || o.functions.contains_key(*n))
                })
            else {
                continue;
            };
            let key = (f.to_string(), topic.clone());
            match wanted.get(&key) {
                Some(spec) if !seen.contains(&key) => {
                    seen.insert(key);
                    if spec.attributes != sub.attributes {
                        p.push(TopicStep::SetSubscriptionAttributes {
                            function: spec.function.clone(),
                            function_name: f.to_string(),
                            topic: topic.clone(),
                            subscription: sub.arn.clone(),
                        });
                    }
                }
                // Not wanted, or a second subscription of the same alias: removed.
                _ => p.push(TopicStep::Unsubscribe {
                    function_name: f.to_string(),
                    topic: topic.clone(),
                    subscription: sub.arn.clone(),
                }),
            }
        }
    }
    for ((function_name, topic), spec) in &wanted {
        if !seen.contains(&(function_name.clone(), topic.clone())) {
            p.push(TopicStep::Subscribe {
                function: spec.function.clone(),
                function_name: function_name.clone(),
                topic: topic.clone(),
            });
        }
        let granted = o
            .permissions
            .get(function_name)
            .and_then(|s| s.get(&statement_id(topic)))
            .is_some_and(|source| name_of(source) == topic);
        if !granted {
            p.push(TopicStep::GrantTopic {
                function: spec.function.clone(),
                function_name: function_name.clone(),
                topic: topic.clone(),
            });
        }
    }
    // Grants for topics a function no longer subscribes to.
    let stale = super::permission::stale_grants(d, o, "sls-sns-", |f, topic| {
        wanted.contains_key(&(f.name.clone(), topic.to_string()))
    });
    for (function_name, statement) in stale {
        p.push(TopicStep::RevokeTopic {
            function_name,
            statement,
        });
    }
}

/// The topics `sns` events name and each function's subscription, as SNS holds the attributes
/// (policies as compact JSON).
pub(super) fn desired(events: &[Of<'_, &SnsEvent>]) -> (Vec<TopicSpec>, Vec<SubscriptionSpec>) {
    let mut topics: Vec<TopicSpec> = Vec::new();
    let mut subs = Vec::new();
    for (key, e) in events {
        let name = e
            .topic_name
            .clone()
            .or_else(|| {
                e.arn
                    .as_deref()
                    .map(|a| super::topic::name_of(a).to_string())
            })
            .unwrap_or_default();
        if !topics.iter().any(|t| t.name == name) {
            topics.push(TopicSpec {
                name: name.clone(),
                arn: e.arn.clone(),
                display_name: e.display_name.clone().unwrap_or_default(),
            });
        }
        let mut attributes = BTreeMap::new();
        if let Some(p) = &e.filter_policy {
            attributes.insert("FilterPolicy".to_string(), p.to_string());
            attributes.insert(
                "FilterPolicyScope".to_string(),
                e.filter_policy_scope
                    .clone()
                    .unwrap_or_else(|| "MessageAttributes".into()),
            );
        }
        if let Some(r) = &e.redrive_policy {
            attributes.insert("RedrivePolicy".to_string(), r.to_string());
        }
        subs.push(SubscriptionSpec {
            function: key.to_string(),
            topic: name,
            attributes,
        });
    }
    (topics, subs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::desired;

    fn with_topic(d: &mut Desired) {
        d.topics = vec![TopicSpec {
            name: "orders".into(),
            arn: None,
            display_name: String::new(),
        }];
        d.subscriptions = vec![SubscriptionSpec {
            function: "a".into(),
            topic: "orders".into(),
            attributes: BTreeMap::new(),
        }];
    }

    fn converged(d: &Desired) -> Observed {
        let mut o = Observed::default();
        for t in &d.topics {
            o.topics.insert(
                t.name.clone(),
                ObservedTopic {
                    arn: format!("arn:aws:sns:eu-west-1:1:{}", t.name),
                    owned: true,
                    display_name: t.display_name.clone(),
                },
            );
        }
        for s in &d.subscriptions {
            let f = d.function(&s.function).unwrap();
            o.subscriptions
                .entry(s.topic.clone())
                .or_default()
                .push(ObservedSubscription {
                    arn: format!("arn:aws:sns:eu-west-1:1:{}:sub", s.topic),
                    endpoint: format!("arn:aws:lambda:eu-west-1:1:function:{}:{}", f.name, d.live),
                    attributes: s.attributes.clone(),
                });
            o.permissions.entry(f.name.clone()).or_default().insert(
                statement_id(&s.topic),
                format!("arn:aws:sns:eu-west-1:1:{}", s.topic),
            );
        }
        o
    }

    fn shown(d: &Desired, o: &Observed) -> Vec<String> {
        let mut p = Plan::default();
        plan(d, o, &mut p);
        p.steps.sort_by_key(|s| s.phase());
        p.steps.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_topic_is_made_subscribed_and_granted_then_left_alone() {
        let mut d = desired();
        with_topic(&mut d);
        assert_eq!(
            shown(&d, &Observed::default()),
            [
                "+ SNS topic orders",
                "+ permission: SNS topic orders may invoke svc-dev-a",
                "+ SNS subscription orders → svc-dev-a",
            ]
        );
        assert!(shown(&d, &converged(&d)).is_empty());
    }

    #[test]
    fn a_changed_filter_is_set_and_a_topic_that_left_is_undone() {
        let mut d = desired();
        with_topic(&mut d);
        let o = converged(&d);
        d.subscriptions[0]
            .attributes
            .insert("FilterPolicy".into(), r#"{"kind":["big"]}"#.into());
        assert_eq!(
            shown(&d, &o),
            ["~ SNS subscription orders → svc-dev-a: filter and redrive policies"]
        );
        let shown = shown(&d.nothing(), &o);
        assert_eq!(
            shown,
            [
                "- SNS subscription orders → svc-dev-a",
                "- SNS topic orders"
            ]
        );
    }

    #[test]
    fn a_topic_of_our_name_that_is_not_ours_is_a_conflict() {
        let mut d = desired();
        with_topic(&mut d);
        let mut o = converged(&d);
        o.topics.get_mut("orders").unwrap().owned = false;
        let mut p = Plan::default();
        plan(&d, &o, &mut p);
        assert_eq!(p.conflicts.len(), 1);
        assert!(p.conflicts[0].reason.contains("give its `arn`"));
    }
}
