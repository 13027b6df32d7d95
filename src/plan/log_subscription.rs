//! `cloudwatchLog` events: a subscription filter on a log group that sends matching log events
//! to the function's live alias, with a grant per function and group that lets CloudWatch Logs
//! invoke it. Filters are ours by their exact name `sls/{service}/{stage}/{function}` (service
//! and stage cannot contain `/`). AWS side: `provider::aws::log_subscription`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::events::Of;
use super::{Desired, Observed, Phase, Plan};
use crate::config::model::CloudwatchLogEvent;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSubscriptionSpec {
    /// The function's key under `functions:`.
    pub function: String,
    pub log_group: String,
    /// The filter pattern; empty matches every event.
    pub filter: String,
}

/// One of our filters as CloudWatch Logs holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedLogSubscription {
    pub name: String,
    pub destination: String,
    pub filter: String,
}

/// The name of our filter for a function.
pub fn filter_name(service: &str, stage: &str, function: &str) -> String {
    format!("sls/{service}/{stage}/{function}")
}

/// The statement id of the grant for one log group (group names hold characters statement ids
/// cannot): `sls-logs-` and 8 hex digits of the group's sha256.
pub fn statement_id(log_group: &str) -> String {
    let digest = Sha256::digest(log_group.as_bytes());
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("sls-logs-{hex}")
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum LogSubscriptionStep {
    #[serde(rename_all = "camelCase")]
    GrantLogGroup {
        function: String,
        function_name: String,
        log_group: String,
    },
    #[serde(rename_all = "camelCase")]
    PutSubscriptionFilter {
        function: String,
        function_name: String,
        log_group: String,
    },
    #[serde(rename_all = "camelCase")]
    DeleteSubscriptionFilter { log_group: String, filter: String },
    #[serde(rename_all = "camelCase")]
    RevokeLogGroup {
        function_name: String,
        statement: String,
    },
}

impl super::KindStep for LogSubscriptionStep {
    fn phase(&self) -> Phase {
        match self {
            LogSubscriptionStep::GrantLogGroup { .. } => Phase::Permissions,
            LogSubscriptionStep::PutSubscriptionFilter { .. } => Phase::Triggers,
            LogSubscriptionStep::DeleteSubscriptionFilter { .. }
            | LogSubscriptionStep::RevokeLogGroup { .. } => Phase::DeleteTriggers,
        }
    }

    fn lane(&self) -> String {
        match self {
            LogSubscriptionStep::PutSubscriptionFilter { log_group, .. }
            | LogSubscriptionStep::DeleteSubscriptionFilter { log_group, .. } => {
                format!("log group {log_group}")
            }
            LogSubscriptionStep::GrantLogGroup { function_name, .. }
            | LogSubscriptionStep::RevokeLogGroup { function_name, .. } => {
                format!("function {function_name}")
            }
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            LogSubscriptionStep::DeleteSubscriptionFilter { log_group, filter } => Some(format!(
                "subscription filter {filter} of log group {log_group}"
            )),
            LogSubscriptionStep::GrantLogGroup { .. }
            | LogSubscriptionStep::PutSubscriptionFilter { .. }
            | LogSubscriptionStep::RevokeLogGroup { .. } => None,
        }
    }
}

impl fmt::Display for LogSubscriptionStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogSubscriptionStep::GrantLogGroup {
                function_name,
                log_group,
                ..
            } => write!(
                f,
                "+ permission: log group {log_group} may invoke {function_name}"
            ),
            LogSubscriptionStep::PutSubscriptionFilter {
                function_name,
                log_group,
                ..
            } => write!(f, "~ log group {log_group}: subscription → {function_name}"),
            LogSubscriptionStep::DeleteSubscriptionFilter { log_group, filter } => {
                write!(f, "- log group {log_group}: subscription {filter}")
            }
            LogSubscriptionStep::RevokeLogGroup {
                function_name,
                statement,
            } => write!(f, "- permission {statement} on {function_name}"),
        }
    }
}

/// Filters put where missing or different, ours deleted where the config no longer has them;
/// grants per function and group made and revoked alike.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    let mut wanted: BTreeMap<(String, String), &LogSubscriptionSpec> = BTreeMap::new();
    for s in &d.log_subscriptions {
        wanted.insert(
            (
                s.log_group.clone(),
                filter_name(&d.service, &d.stage, &s.function),
            ),
            s,
        );
    }
    for ((group, name), spec) in &wanted {
        let Some(f) = d.function(&spec.function) else {
            continue;
        };
        let target = d.qualified(&format!("function:{}", f.name));
        let current = o
            .log_subscriptions
            .get(group)
            .into_iter()
            .flatten()
            .any(|s| {
                &s.name == name && s.destination.ends_with(&target) && s.filter == spec.filter
            });
        if !current {
            p.push(LogSubscriptionStep::PutSubscriptionFilter {
                function: spec.function.clone(),
                function_name: f.name.clone(),
                log_group: group.clone(),
            });
        }
        let granted = o
            .permissions
            .get(&f.name)
            .is_some_and(|s| s.contains_key(&statement_id(group)));
        if !granted {
            p.push(LogSubscriptionStep::GrantLogGroup {
                function: spec.function.clone(),
                function_name: f.name.clone(),
                log_group: group.clone(),
            });
        }
    }
    for (group, filters) in &o.log_subscriptions {
        for s in filters {
            if !wanted.contains_key(&(group.clone(), s.name.clone())) {
                p.push(LogSubscriptionStep::DeleteSubscriptionFilter {
                    log_group: group.clone(),
                    filter: s.name.clone(),
                });
            }
        }
    }
    // Statement ids carry a digest of the group: compared whole.
    let stale = super::permission::stale_grants(d, o, "sls-logs-", |f, rest| {
        wanted
            .iter()
            .any(|((g, _), s)| s.function == f.key && statement_id(g) == format!("sls-logs-{rest}"))
    });
    for (function_name, statement) in stale {
        p.push(LogSubscriptionStep::RevokeLogGroup {
            function_name,
            statement,
        });
    }
}

/// A subscription filter per `cloudwatchLog` event.
pub(super) fn desired(events: &[Of<'_, &CloudwatchLogEvent>]) -> Vec<LogSubscriptionSpec> {
    events
        .iter()
        .map(|(key, l)| LogSubscriptionSpec {
            function: key.to_string(),
            log_group: l.log_group.clone(),
            filter: l.filter.clone().unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::desired;

    #[test]
    fn a_filter_is_granted_and_put_then_left_alone_then_deleted() {
        let mut d = desired();
        d.log_subscriptions = vec![LogSubscriptionSpec {
            function: "a".into(),
            log_group: "/app/orders".into(),
            filter: "ERROR".into(),
        }];
        let mut p = Plan::default();
        plan(&d, &Observed::default(), &mut p);
        p.steps.sort_by_key(|s| s.phase());
        let shown: Vec<String> = p.steps.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            shown,
            [
                "+ permission: log group /app/orders may invoke svc-dev-a",
                "~ log group /app/orders: subscription → svc-dev-a",
            ]
        );
        let mut o = Observed::default();
        o.log_subscriptions.insert(
            "/app/orders".into(),
            vec![ObservedLogSubscription {
                name: "sls/svc/dev/a".into(),
                destination: "arn:aws:lambda:eu-west-1:1:function:svc-dev-a:live".into(),
                filter: "ERROR".into(),
            }],
        );
        o.permissions.entry("svc-dev-a".into()).or_default().insert(
            statement_id("/app/orders"),
            "arn:aws:logs:eu-west-1:1:log-group:/app/orders:*".into(),
        );
        let mut p = Plan::default();
        plan(&d, &o, &mut p);
        assert!(p.steps.is_empty());
        let mut p = Plan::default();
        plan(&d.nothing(), &o, &mut p);
        assert_eq!(
            p.steps[0].to_string(),
            "- log group /app/orders: subscription sls/svc/dev/a"
        );
    }
}
