//! `alb` events: an Application Load Balancer's listener rules forwarding to a Lambda target
//! group whose one target is the function's live alias. The load balancer and its listener are
//! the user's; the target groups and rules are ours (tagged). Each target group has one grant
//! on the function (statement `sls-alb-{target group}`). AWS side: `provider::aws::alb`.

use std::fmt;

use serde::Serialize;

use super::events::Of;
use super::{Change, Conflict, Desired, NOT_OURS, Observed, Phase, Plan, alias_arn_suffix};
use crate::config::Config;
use crate::config::model::AlbEvent;
use serde_json::Value;

/// The statement ids of this kind start so.
pub const GRANT_PREFIX: &str = "sls-alb-";

/// A target group's health check, as ELB holds it (Serverless v3's defaults: off, `/`, 35 s,
/// 30 s, 5 healthy, 5 unhealthy, `200`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub enabled: bool,
    pub path: String,
    pub interval: i32,
    pub timeout: i32,
    pub healthy: i32,
    pub unhealthy: i32,
    pub matcher: String,
}

impl Default for HealthCheck {
    fn default() -> HealthCheck {
        HealthCheck {
            enabled: false,
            path: "/".into(),
            interval: 35,
            timeout: 30,
            healthy: 5,
            unhealthy: 5,
            matcher: "200".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupSpec {
    pub name: String,
    /// The function key.
    pub function: String,
    /// `multiValueHeaders`: requests carry every value of repeated headers and query keys.
    pub multi_value: bool,
    pub health: HealthCheck,
}

impl TargetGroupSpec {
    pub fn statement_id(&self) -> String {
        statement_id(&self.name)
    }
}

pub fn statement_id(target_group: &str) -> String {
    format!("{GRANT_PREFIX}{target_group}")
}

/// One condition of a rule, in a canonical order so that rules read back compare equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `path-pattern`, `host-header`, `http-request-method`, `source-ip`, `http-header`,
    /// `query-string`.
    pub field: String,
    /// `http-header`: the header's name.
    pub name: Option<String>,
    /// The values; for `query-string`, `key=value` pairs.
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerRuleSpec {
    pub listener: String,
    pub priority: i32,
    /// The target group's name.
    pub target_group: String,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedTargetGroup {
    pub name: String,
    pub arn: String,
    pub owned: bool,
    pub multi_value: bool,
    pub health: HealthCheck,
    /// The registered targets' ids (ARNs).
    pub targets: Vec<String>,
    /// The load balancers whose listeners may forward to it.
    pub load_balancers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedListenerRule {
    pub arn: String,
    pub listener: String,
    pub priority: i32,
    pub owned: bool,
    /// The target groups it forwards to.
    pub target_groups: Vec<String>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum AlbStep {
    #[serde(rename_all = "camelCase")]
    CreateTargetGroup { target_group: String },
    /// Health check and attributes to the config's.
    #[serde(rename_all = "camelCase")]
    UpdateTargetGroup {
        target_group: String,
        changes: Vec<Change>,
    },
    /// Lets ELB invoke the alias for this target group (before the alias is registered: ELB
    /// checks it may).
    #[serde(rename_all = "camelCase")]
    GrantTargetGroup {
        target_group: String,
        function: String,
        function_name: String,
    },
    /// Registers the alias as the group's one target (others are deregistered).
    #[serde(rename_all = "camelCase")]
    RegisterTarget {
        target_group: String,
        function: String,
    },
    #[serde(rename_all = "camelCase")]
    CreateListenerRule {
        listener: String,
        priority: i32,
        target_group: String,
    },
    #[serde(rename_all = "camelCase")]
    ModifyListenerRule {
        listener: String,
        priority: i32,
        target_group: String,
        rule_arn: String,
    },
    #[serde(rename_all = "camelCase")]
    DeleteListenerRule {
        listener: String,
        priority: i32,
        rule_arn: String,
    },
    #[serde(rename_all = "camelCase")]
    DeleteTargetGroup { target_group: String, arn: String },
    #[serde(rename_all = "camelCase")]
    RevokeTargetGroup {
        function_name: String,
        statement: String,
    },
}

impl super::KindStep for AlbStep {
    fn phase(&self) -> Phase {
        match self {
            AlbStep::CreateTargetGroup { .. }
            | AlbStep::UpdateTargetGroup { .. }
            | AlbStep::GrantTargetGroup { .. }
            | AlbStep::RegisterTarget { .. }
            | AlbStep::CreateListenerRule { .. }
            | AlbStep::ModifyListenerRule { .. } => Phase::Triggers,
            AlbStep::DeleteListenerRule { .. }
            | AlbStep::DeleteTargetGroup { .. }
            | AlbStep::RevokeTargetGroup { .. } => Phase::DeleteTriggers,
        }
    }

    /// Rules need their target groups, target groups their grants: one lane, in plan order;
    /// a revoke goes with its function, after the group that used it is gone.
    fn lane(&self) -> String {
        match self {
            AlbStep::RevokeTargetGroup { function_name, .. } => {
                format!("function {function_name}")
            }
            AlbStep::CreateTargetGroup { .. }
            | AlbStep::UpdateTargetGroup { .. }
            | AlbStep::GrantTargetGroup { .. }
            | AlbStep::RegisterTarget { .. }
            | AlbStep::CreateListenerRule { .. }
            | AlbStep::ModifyListenerRule { .. }
            | AlbStep::DeleteListenerRule { .. }
            | AlbStep::DeleteTargetGroup { .. } => "alb".into(),
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            AlbStep::DeleteTargetGroup { target_group, .. } => {
                Some(format!("ALB target group {target_group}"))
            }
            AlbStep::DeleteListenerRule { priority, .. } => {
                Some(format!("ALB listener rule (priority {priority})"))
            }
            AlbStep::CreateTargetGroup { .. }
            | AlbStep::UpdateTargetGroup { .. }
            | AlbStep::GrantTargetGroup { .. }
            | AlbStep::RegisterTarget { .. }
            | AlbStep::CreateListenerRule { .. }
            | AlbStep::ModifyListenerRule { .. }
            | AlbStep::RevokeTargetGroup { .. } => None,
        }
    }
}

impl fmt::Display for AlbStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlbStep::CreateTargetGroup { target_group } => {
                write!(f, "+ ALB target group {target_group}")
            }
            AlbStep::UpdateTargetGroup {
                target_group,
                changes,
            } => {
                let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
                write!(
                    f,
                    "~ ALB target group {target_group}: {}",
                    fields.join(", ")
                )
            }
            AlbStep::GrantTargetGroup {
                target_group,
                function_name,
                ..
            } => write!(
                f,
                "+ permission: ALB target group {target_group} may invoke {function_name}"
            ),
            AlbStep::RegisterTarget {
                target_group,
                function,
            } => write!(f, "~ ALB target group {target_group}: target → {function}"),
            AlbStep::CreateListenerRule {
                priority,
                target_group,
                ..
            } => write!(
                f,
                "+ ALB listener rule (priority {priority}) → {target_group}"
            ),
            AlbStep::ModifyListenerRule {
                priority,
                target_group,
                ..
            } => write!(
                f,
                "~ ALB listener rule (priority {priority}) → {target_group}"
            ),
            AlbStep::DeleteListenerRule { priority, .. } => {
                write!(f, "- ALB listener rule (priority {priority})")
            }
            AlbStep::DeleteTargetGroup { target_group, .. } => {
                write!(f, "- ALB target group {target_group}")
            }
            AlbStep::RevokeTargetGroup {
                function_name,
                statement,
            } => write!(f, "- permission {statement} on {function_name}"),
        }
    }
}

fn health_changes(want: &HealthCheck, have: &HealthCheck) -> Vec<Change> {
    let mut out = Vec::new();
    let mut cmp = |field: &str, from: String, to: String| Change::note(&mut out, field, from, to);
    cmp(
        "healthCheck.enabled",
        have.enabled.to_string(),
        want.enabled.to_string(),
    );
    // The other settings matter only while checks run.
    if want.enabled {
        cmp("healthCheck.path", have.path.clone(), want.path.clone());
        cmp(
            "healthCheck.intervalSeconds",
            have.interval.to_string(),
            want.interval.to_string(),
        );
        cmp(
            "healthCheck.timeoutSeconds",
            have.timeout.to_string(),
            want.timeout.to_string(),
        );
        cmp(
            "healthCheck.healthyThresholdCount",
            have.healthy.to_string(),
            want.healthy.to_string(),
        );
        cmp(
            "healthCheck.unhealthyThresholdCount",
            have.unhealthy.to_string(),
            want.unhealthy.to_string(),
        );
        cmp(
            "healthCheck.matcher",
            have.matcher.clone(),
            want.matcher.clone(),
        );
    }
    out
}

/// Target groups, their grants and targets, then the rules; what left the config goes, rules
/// before the groups they forward to.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    for tg in &d.target_groups {
        let have = o.target_groups.iter().find(|t| t.name == tg.name);
        if let Some(t) = have.filter(|t| !t.owned) {
            p.conflicts.push(Conflict {
                resource: format!("ALB target group {}", t.name),
                reason: NOT_OURS.into(),
            });
            continue;
        }
        let Some(f) = d.function(&tg.function) else {
            continue;
        };
        match have {
            None => p.push(AlbStep::CreateTargetGroup {
                target_group: tg.name.clone(),
            }),
            Some(t) => {
                let mut changes = health_changes(&tg.health, &t.health);
                if t.multi_value != tg.multi_value {
                    changes.push(Change {
                        field: "multiValueHeaders".into(),
                        from: t.multi_value.to_string(),
                        to: tg.multi_value.to_string(),
                    });
                }
                if !changes.is_empty() {
                    p.push(AlbStep::UpdateTargetGroup {
                        target_group: tg.name.clone(),
                        changes,
                    });
                }
            }
        }
        let granted = have.is_some_and(|t| {
            o.permissions
                .get(&f.name)
                .and_then(|s| s.get(&tg.statement_id()))
                .is_some_and(|source| source == &t.arn)
        });
        if !granted {
            p.push(AlbStep::GrantTargetGroup {
                target_group: tg.name.clone(),
                function: tg.function.clone(),
                function_name: f.name.clone(),
            });
        }
        let target = alias_arn_suffix(d, &tg.function);
        let registered = have
            .is_some_and(|t| t.targets.len() == 1 && t.targets[0].ends_with(&format!(":{target}")));
        if !registered {
            p.push(AlbStep::RegisterTarget {
                target_group: tg.name.clone(),
                function: tg.function.clone(),
            });
        }
    }
    let arn_of = |name: &str| {
        o.target_groups
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.arn.clone())
    };
    for r in &d.listener_rules {
        let have = o
            .listener_rules
            .iter()
            .find(|h| h.listener == r.listener && h.priority == r.priority);
        match have {
            Some(h) if !h.owned => p.conflicts.push(Conflict {
                resource: format!("ALB listener rule (priority {})", r.priority),
                reason: format!("{NOT_OURS}: choose another priority"),
            }),
            None => p.push(AlbStep::CreateListenerRule {
                listener: r.listener.clone(),
                priority: r.priority,
                target_group: r.target_group.clone(),
            }),
            Some(h) => {
                let forwards = arn_of(&r.target_group).is_some_and(|a| h.target_groups == [a]);
                if !forwards || h.conditions != r.conditions {
                    p.push(AlbStep::ModifyListenerRule {
                        listener: r.listener.clone(),
                        priority: r.priority,
                        target_group: r.target_group.clone(),
                        rule_arn: h.arn.clone(),
                    });
                }
            }
        }
    }
    for h in o.listener_rules.iter().filter(|h| h.owned) {
        if !d
            .listener_rules
            .iter()
            .any(|r| r.listener == h.listener && r.priority == h.priority)
        {
            p.push(AlbStep::DeleteListenerRule {
                listener: h.listener.clone(),
                priority: h.priority,
                rule_arn: h.arn.clone(),
            });
        }
    }
    for t in o.target_groups.iter().filter(|t| t.owned) {
        if !d.target_groups.iter().any(|tg| tg.name == t.name) {
            p.push(AlbStep::DeleteTargetGroup {
                target_group: t.name.clone(),
                arn: t.arn.clone(),
            });
        }
    }
    let stale = super::permission::stale_grants(d, o, GRANT_PREFIX, |f, rest| {
        d.target_groups
            .iter()
            .any(|tg| tg.name == rest && tg.function == f.key)
    });
    for (function_name, statement) in stale {
        p.push(AlbStep::RevokeTargetGroup {
            function_name,
            statement,
        });
    }
}

/// The target groups and listener rules of the `alb` events, named and defaulted as Serverless
/// v3 does: a group per function, load balancer and header mode.
pub(super) fn desired(
    config: &Config,
    stage: &str,
    events: &[Of<'_, &AlbEvent>],
) -> (Vec<TargetGroupSpec>, Vec<ListenerRuleSpec>) {
    let mut groups: Vec<TargetGroupSpec> = Vec::new();
    let mut rules = Vec::new();
    for (key, e) in events {
        let multi_value = e.multi_value_headers == Some(true);
        // listener/app/{load balancer}/{its id}/{listener id}
        let lb = e.listener_arn.split('/').nth(3).unwrap_or_default();
        let name = e.target_group_name.clone().unwrap_or_else(|| {
            let raw: String = format!(
                "{}-{stage}-{key}-{lb}{}",
                config.service,
                if multi_value { "-mv" } else { "" }
            )
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
            super::fit(raw.trim_matches('-'), 32)
        });
        if !groups.iter().any(|g| g.name == name) {
            groups.push(TargetGroupSpec {
                name: name.clone(),
                function: key.to_string(),
                multi_value,
                health: alb_health(e.health_check.as_ref()),
            });
        }
        rules.push(ListenerRuleSpec {
            listener: e.listener_arn.clone(),
            priority: e.priority as i32,
            target_group: name,
            conditions: alb_conditions(&e.conditions),
        });
    }
    (groups, rules)
}

/// `healthCheck: true` turns checks on with the defaults; a mapping sets them one by one.
fn alb_health(h: Option<&Value>) -> HealthCheck {
    let mut out = HealthCheck::default();
    let Some(h) = h else { return out };
    if h.as_bool() == Some(true) || h.is_object() {
        out.enabled = h.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    }
    let int = |k: &str| h.get(k).and_then(Value::as_i64).map(|n| n as i32);
    if let Some(p) = h.get("path").and_then(Value::as_str) {
        out.path = p.to_string();
    }
    out.interval = int("intervalSeconds").unwrap_or(out.interval);
    out.timeout = int("timeoutSeconds").unwrap_or(out.timeout);
    out.healthy = int("healthyThresholdCount").unwrap_or(out.healthy);
    out.unhealthy = int("unhealthyThresholdCount").unwrap_or(out.unhealthy);
    if let Some(m) = h
        .get("matcher")
        .and_then(|m| m.get("httpCode"))
        .and_then(Value::as_str)
    {
        out.matcher = m.to_string();
    }
    out
}

/// A rule's conditions, sorted as they are compared.
fn alb_conditions(c: &crate::config::model::AlbConditions) -> Vec<Condition> {
    let plain = |field: &str, v: &Option<Vec<String>>| {
        v.as_ref().map(|values| Condition {
            field: field.into(),
            name: None,
            values: values.clone(),
        })
    };
    let mut out: Vec<Condition> = [
        plain("path-pattern", &c.path),
        plain("host-header", &c.host),
        plain("http-request-method", &c.method),
        plain("source-ip", &c.ip),
    ]
    .into_iter()
    .flatten()
    .collect();
    let headers: Vec<&Value> = match &c.header {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => vec![],
    };
    for h in headers {
        out.push(Condition {
            field: "http-header".into(),
            name: h.get("name").and_then(Value::as_str).map(str::to_string),
            values: h
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        });
    }
    if let Some(q) = &c.query {
        out.push(Condition {
            field: "query-string".into(),
            name: None,
            values: q.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        });
    }
    for c in &mut out {
        c.values.sort();
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{actions, desired};
    use super::*;

    const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb/0123456789abcdef/fedcba9876543210";

    fn with_alb() -> Desired {
        let mut d = desired();
        d.target_groups = vec![TargetGroupSpec {
            name: "svc-dev-a-0123456789abcdef".into(),
            function: "a".into(),
            multi_value: false,
            health: HealthCheck::default(),
        }];
        d.listener_rules = vec![ListenerRuleSpec {
            listener: LISTENER.into(),
            priority: 7,
            target_group: "svc-dev-a-0123456789abcdef".into(),
            conditions: vec![Condition {
                field: "path-pattern".into(),
                name: None,
                values: vec!["/hello".into()],
            }],
        }];
        d
    }

    fn converged(d: &Desired) -> Observed {
        let mut o = Observed::default();
        for tg in &d.target_groups {
            let arn = format!(
                "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/{}/x",
                tg.name
            );
            let f = d.function(&tg.function).unwrap();
            o.permissions
                .entry(f.name.clone())
                .or_default()
                .insert(tg.statement_id(), arn.clone());
            o.target_groups.push(ObservedTargetGroup {
                name: tg.name.clone(),
                arn,
                owned: true,
                multi_value: tg.multi_value,
                health: tg.health.clone(),
                targets: vec![format!(
                    "arn:aws:lambda:eu-west-1:1:{}",
                    alias_arn_suffix(d, &tg.function)
                )],
                load_balancers: vec![],
            });
        }
        for (i, r) in d.listener_rules.iter().enumerate() {
            let tg = o
                .target_groups
                .iter()
                .find(|t| t.name == r.target_group)
                .unwrap()
                .arn
                .clone();
            o.listener_rules.push(ObservedListenerRule {
                arn: format!("rule-{i}"),
                listener: r.listener.clone(),
                priority: r.priority,
                owned: true,
                target_groups: vec![tg],
                conditions: r.conditions.clone(),
            });
        }
        o
    }

    fn run(d: &Desired, o: &Observed) -> Plan {
        let mut p = Plan::default();
        plan(d, o, &mut p);
        p
    }

    #[test]
    fn a_group_its_grant_and_target_come_before_the_rule_and_nothing_once_converged() {
        let d = with_alb();
        assert_eq!(
            actions(&run(&d, &Observed::default())),
            [
                "createTargetGroup",
                "grantTargetGroup",
                "registerTarget",
                "createListenerRule"
            ]
        );
        let p = run(&d, &converged(&d));
        assert!(p.is_empty() && p.conflicts.is_empty(), "{:?}", p.steps);
    }

    #[test]
    fn changed_conditions_and_health_are_changed_in_place_and_what_left_goes_rules_first() {
        let d = with_alb();
        let o = converged(&d);
        let mut changed = d.clone();
        changed.listener_rules[0].conditions[0].values = vec!["/hi".into()];
        changed.target_groups[0].health.enabled = true;
        assert_eq!(
            actions(&run(&changed, &o)),
            ["updateTargetGroup", "modifyListenerRule"]
        );
        let mut none = d.clone();
        none.target_groups.clear();
        none.listener_rules.clear();
        assert_eq!(
            actions(&run(&none, &o)),
            [
                "deleteListenerRule",
                "deleteTargetGroup",
                "revokeTargetGroup"
            ]
        );
        let mut foreign = o;
        foreign.listener_rules[0].owned = false;
        let p = run(&d, &foreign);
        assert_eq!(p.conflicts.len(), 1);
        assert!(p.conflicts[0].reason.contains("another priority"));
    }
}
