//! EventBridge rules of `schedule` and `eventBridge` events: a rule per expression or pattern,
//! on the default bus or a named one (created when it does not exist), targeting the function's
//! live alias (so a promote or rollback moves where events go). The grant that lets EventBridge
//! invoke the alias is one statement per function and kind of bus (`plan::permission`), whatever
//! the number of rules. AWS side: `provider::aws::schedule`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::events::{Of, Rule};
use super::{Conflict, Desired, NOT_OURS, Observed, Phase, Plan};
use crate::config::model::ScheduleEvent;

/// What the target sends: the event itself, a constant `input`, a part of the event
/// (`inputPath`) or a transformation of it (`inputTransformer`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetInput {
    /// Compact JSON.
    pub input: Option<String>,
    pub input_path: Option<String>,
    /// The paths map as compact JSON, and the template.
    pub transformer: Option<(String, String)>,
    /// `retryPolicy`: the most age (seconds) and retries of an event the target fails.
    pub retry: Option<(i32, i32)>,
    /// `deadLetterQueueArn`: where events the target never took go.
    pub dead_letter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    /// The function's key under `functions:`.
    pub function: String,
    pub name: String,
    /// The bus (name or ARN); `None` for the default one.
    pub bus: Option<String>,
    /// `rate(…)` or `cron(…)`; empty for a pattern rule.
    pub expression: String,
    /// The event pattern as compact JSON.
    pub pattern: Option<String>,
    pub enabled: bool,
    pub description: String,
    pub input: TargetInput,
}

/// A rule as EventBridge holds it, with the target sls gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRule {
    pub name: String,
    pub bus: Option<String>,
    pub owned: bool,
    pub expression: String,
    pub pattern: Option<String>,
    pub enabled: bool,
    pub description: String,
    /// Our target (id [`target_id`]): its ARN and input; `None` when the rule has none.
    pub target: Option<(String, TargetInput)>,
}

/// How plans and observations key a rule: its name, after its bus when not the default one.
pub fn rule_key(bus: Option<&str>, name: &str) -> String {
    match bus {
        Some(b) => format!("{b}|{name}"),
        None => name.to_string(),
    }
}

/// A rule key's bus and name.
pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.rsplit_once('|') {
        Some((bus, name)) => (Some(bus), name),
        None => (None, key),
    }
}

/// The id of the one target sls puts on a rule.
pub fn target_id(function: &str) -> String {
    let id = format!("sls-{function}");
    id.chars().take(64).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum ScheduleStep {
    /// Creates the rule (tagged) or brings its expression, state and description to the config.
    PutRule {
        rule: String,
        function: String,
        expression: String,
        /// Whether the rule is new (for the plan's `+`/`~`).
        create: bool,
    },
    /// Points the rule at the function's live alias, with the configured input.
    PutTargets { rule: String, function: String },
    /// Removes its targets, then the rule.
    DeleteRule { rule: String },
    /// A bus the config names that does not exist: created, tagged.
    CreateEventBus { bus: String },
    /// A bus sls created that the config no longer names (its rules go first).
    DeleteEventBus { bus: String },
}

impl ScheduleStep {
    pub fn rule(&self) -> &str {
        match self {
            ScheduleStep::PutRule { rule, .. }
            | ScheduleStep::PutTargets { rule, .. }
            | ScheduleStep::DeleteRule { rule } => rule,
            ScheduleStep::CreateEventBus { bus } | ScheduleStep::DeleteEventBus { bus } => bus,
        }
    }
}

impl super::KindStep for ScheduleStep {
    fn phase(&self) -> Phase {
        match self {
            ScheduleStep::PutRule { .. } | ScheduleStep::PutTargets { .. } => Phase::Triggers,
            ScheduleStep::DeleteRule { .. } => Phase::DeleteTriggers,
            ScheduleStep::CreateEventBus { .. } => Phase::Apis,
            ScheduleStep::DeleteEventBus { .. } => Phase::DeleteFunctions,
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            ScheduleStep::DeleteRule { rule } => Some(format!("EventBridge rule {}", shown(rule))),
            ScheduleStep::DeleteEventBus { bus } => Some(format!("EventBridge bus {bus}")),
            ScheduleStep::PutRule { .. }
            | ScheduleStep::PutTargets { .. }
            | ScheduleStep::CreateEventBus { .. } => None,
        }
    }

    fn lane(&self) -> String {
        format!("rule {}", self.rule())
    }
}

impl fmt::Display for ScheduleStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleStep::PutRule {
                rule,
                expression,
                create,
                ..
            } => {
                let (kind, what) = if expression.is_empty() {
                    ("event", "event pattern")
                } else {
                    ("schedule", expression.as_str())
                };
                write!(
                    f,
                    "{} {kind} rule {}: {what}",
                    if *create { "+" } else { "~" },
                    shown(rule)
                )
            }
            ScheduleStep::PutTargets { rule, function } => {
                write!(f, "~ rule {}: target {function} (live alias)", shown(rule))
            }
            ScheduleStep::DeleteRule { rule } => write!(f, "- rule {}", shown(rule)),
            ScheduleStep::CreateEventBus { bus } => write!(f, "+ event bus {bus}"),
            ScheduleStep::DeleteEventBus { bus } => write!(f, "- event bus {bus}"),
        }
    }
}

/// A rule key as the plan shows it: `name` or `name (bus B)`.
fn shown(key: &str) -> String {
    match split_key(key) {
        (Some(bus), name) => format!("{name} (bus {bus})"),
        (None, name) => name.to_string(),
    }
}

/// Rules created or converged, their target on the live alias, and ours that left the config
/// deleted; a rule of our name without our tags is a conflict.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    for bus in &d.buses {
        // A bus that exists is used, whoever made it: rules on it are ours by their tags.
        if !o.buses.contains_key(bus) {
            p.push(ScheduleStep::CreateEventBus { bus: bus.clone() });
        }
    }
    for (bus, owned) in &o.buses {
        if *owned && !d.buses.contains(bus) {
            p.push(ScheduleStep::DeleteEventBus { bus: bus.clone() });
        }
    }
    let wanted: BTreeMap<String, &RuleSpec> = d
        .rules
        .iter()
        .map(|r| (rule_key(r.bus.as_deref(), &r.name), r))
        .collect();
    for (name, spec) in &wanted {
        let Some(fspec) = d.function(&spec.function) else {
            continue;
        };
        let (rule, function) = (name.to_string(), spec.function.clone());
        let Some(have) = o.rules.get(name) else {
            p.push(ScheduleStep::PutRule {
                rule: rule.clone(),
                function: function.clone(),
                expression: spec.expression.clone(),
                create: true,
            });
            p.push(ScheduleStep::PutTargets { rule, function });
            continue;
        };
        if !have.owned {
            p.conflicts.push(Conflict {
                resource: format!("EventBridge rule {name}"),
                reason: NOT_OURS.into(),
            });
            continue;
        }
        if have.expression != spec.expression
            || have.pattern != spec.pattern
            || have.enabled != spec.enabled
            || have.description != spec.description
        {
            p.push(ScheduleStep::PutRule {
                rule: rule.clone(),
                function: function.clone(),
                expression: spec.expression.clone(),
                create: false,
            });
        }
        let target = d.qualified(&format!("function:{}", fspec.name));
        let current = have
            .target
            .as_ref()
            .is_some_and(|(arn, input)| arn.ends_with(&target) && *input == spec.input);
        if !current {
            p.push(ScheduleStep::PutTargets { rule, function });
        }
    }
    for (name, have) in &o.rules {
        if have.owned && !wanted.contains_key(name) {
            p.push(ScheduleStep::DeleteRule { rule: name.clone() });
        }
    }
}

/// The `schedule` (`rate`, the default method), `eventBridge` and `cloudwatchEvent` events as
/// EventBridge rules, one per expression or pattern: named
/// `{service}-{stage}-{function}-schedule-{n}` (n from 1 over the function's expressions, those
/// of `method: scheduler` counted too) or `…-rule-{n}` unless the event names it.
pub(super) fn desired(service: &str, stage: &str, events: &[Of<'_, Rule<'_>>]) -> Vec<RuleSpec> {
    let mut out = Vec::new();
    // Per function: (schedule expressions, rules) seen so far.
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let prefix = super::rule_prefix(service, stage);
    for (key, ev) in events {
        let (n, rule_n) = counts.entry(key.as_str()).or_default();
        let rule_name = |n: usize| super::fit(&format!("{prefix}{key}-rule-{n}"), 64);
        match ev {
            Rule::CloudwatchEvent(e) => {
                *rule_n += 1;
                out.push(RuleSpec {
                    function: key.to_string(),
                    name: e.name.clone().unwrap_or_else(|| rule_name(*rule_n)),
                    bus: None,
                    expression: String::new(),
                    pattern: e.event.as_ref().map(Value::to_string),
                    enabled: e.enabled.unwrap_or(true),
                    description: e.description.clone().unwrap_or_default(),
                    input: target_input(&e.input, &e.input_path, &e.input_transformer),
                });
            }
            Rule::EventBridge(e) => {
                *rule_n += 1;
                let bus = e.event_bus.clone().filter(|b| b != "default");
                out.push(RuleSpec {
                    function: key.to_string(),
                    name: e.name.clone().unwrap_or_else(|| rule_name(*rule_n)),
                    bus,
                    expression: e.schedule.clone().unwrap_or_default(),
                    pattern: e.pattern.as_ref().map(Value::to_string),
                    enabled: e.enabled.unwrap_or(true),
                    description: e.description.clone().unwrap_or_default(),
                    input: TargetInput {
                        retry: e.retry_policy.as_ref().map(|r| {
                            (
                                r.maximum_event_age.unwrap_or(86_400) as i32,
                                r.maximum_retry_attempts.unwrap_or(185) as i32,
                            )
                        }),
                        dead_letter: e.dead_letter_queue_arn.clone(),
                        ..target_input(&e.input, &e.input_path, &e.input_transformer)
                    },
                });
            }
            Rule::Schedule(s) if s.method.as_deref() == Some("scheduler") => {
                // Numbered with the rules: the scheduler kind counts the same way.
                *n += s.rate.len();
            }
            Rule::Schedule(s) => {
                let input = target_input(&s.input, &s.input_path, &s.input_transformer);
                for (i, expression) in s.rate.iter().enumerate() {
                    *n += 1;
                    let name = expression_name(&prefix, key, s, i, *n);
                    out.push(RuleSpec {
                        function: key.to_string(),
                        name,
                        bus: None,
                        expression: expression.clone(),
                        pattern: None,
                        enabled: s.enabled.unwrap_or(true),
                        description: s.description.clone().unwrap_or_default(),
                        input: input.clone(),
                    });
                }
            }
        }
    }
    out
}

/// The name of a `schedule` event's `i`-th expression, its function's `n`-th: the event's `name`
/// (a list of expressions under one name is numbered after the first), else
/// `{prefix}{function}-schedule-{n}`. Rules and Scheduler's schedules are named by it alike, over
/// one count.
pub(super) fn expression_name(
    prefix: &str,
    key: &str,
    s: &ScheduleEvent,
    i: usize,
    n: usize,
) -> String {
    match &s.name {
        Some(given) if i == 0 => given.clone(),
        Some(given) => format!("{given}-{}", i + 1),
        None => super::fit(&format!("{prefix}{key}-schedule-{n}"), 64),
    }
}

/// What a rule's target sends: `input` (a string as it is, anything else as compact JSON),
/// `inputPath`, or `inputTransformer`.
pub(super) fn target_input(
    input: &Option<Value>,
    input_path: &Option<String>,
    transformer: &Option<Value>,
) -> TargetInput {
    TargetInput {
        input: input.as_ref().map(|v| match v {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }),
        input_path: input_path.clone(),
        transformer: transformer.as_ref().map(|t| {
            (
                t.get("inputPathsMap")
                    .map_or_else(|| "{}".to_string(), Value::to_string),
                t.get("inputTemplate")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            )
        }),
        retry: None,
        dead_letter: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::desired;

    fn rule(function: &str, name: &str) -> RuleSpec {
        RuleSpec {
            function: function.into(),
            name: name.into(),
            bus: None,
            pattern: None,
            expression: "rate(5 minutes)".into(),
            enabled: true,
            description: String::new(),
            input: TargetInput::default(),
        }
    }

    fn converged(d: &Desired) -> Observed {
        let mut o = Observed::default();
        for r in &d.rules {
            let f = d.function(&r.function).unwrap();
            o.rules.insert(
                rule_key(r.bus.as_deref(), &r.name),
                ObservedRule {
                    name: r.name.clone(),
                    bus: r.bus.clone(),
                    owned: true,
                    expression: r.expression.clone(),
                    pattern: r.pattern.clone(),
                    enabled: r.enabled,
                    description: r.description.clone(),
                    target: Some((
                        format!("arn:aws:lambda:eu-west-1:1:function:{}:{}", f.name, d.live),
                        r.input.clone(),
                    )),
                },
            );
        }
        o
    }

    fn steps(d: &Desired, o: &Observed) -> Vec<String> {
        let mut p = Plan::default();
        plan(d, o, &mut p);
        p.steps.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_new_rule_is_put_and_targeted_and_a_converged_one_left_alone() {
        let mut d = desired();
        d.rules = vec![rule("a", "svc-dev-a-schedule-1")];
        assert_eq!(
            steps(&d, &Observed::default()),
            [
                "+ schedule rule svc-dev-a-schedule-1: rate(5 minutes)",
                "~ rule svc-dev-a-schedule-1: target a (live alias)"
            ]
        );
        assert!(steps(&d, &converged(&d)).is_empty());
    }

    #[test]
    fn a_changed_expression_or_input_touches_only_what_changed() {
        let mut d = desired();
        d.rules = vec![rule("a", "r1")];
        let o = converged(&d);
        d.rules[0].expression = "cron(0 12 * * ? *)".into();
        assert_eq!(steps(&d, &o), ["~ schedule rule r1: cron(0 12 * * ? *)"]);
        d.rules[0].expression = "rate(5 minutes)".into();
        d.rules[0].input.input = Some(r#"{"k":1}"#.into());
        assert_eq!(steps(&d, &o), ["~ rule r1: target a (live alias)"]);
    }

    #[test]
    fn rules_that_left_the_config_are_deleted_and_look_alikes_conflict() {
        let mut d = desired();
        d.rules = vec![rule("a", "r1")];
        let mut o = converged(&d);
        d.rules.clear();
        let mut p = Plan::default();
        plan(&d, &o, &mut p);
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].phase(), Phase::DeleteTriggers);
        o.rules.get_mut("r1").unwrap().owned = false;
        d.rules = vec![rule("a", "r1")];
        let mut p = Plan::default();
        plan(&d, &o, &mut p);
        assert!(p.steps.is_empty() && p.conflicts.len() == 1);
    }

    #[test]
    fn a_named_bus_is_created_before_its_rules_and_deleted_after_them() {
        let mut d = desired();
        let mut r = rule("a", "svc-dev-a-rule-1");
        r.bus = Some("orders".into());
        r.expression = String::new();
        r.pattern = Some(r#"{"source":["shop"]}"#.into());
        d.rules = vec![r];
        d.buses = vec!["orders".into()];
        let mut p = Plan::default();
        plan(&d, &Observed::default(), &mut p);
        let shown: Vec<String> = p.steps.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            shown,
            [
                "+ event bus orders",
                "+ event rule svc-dev-a-rule-1 (bus orders): event pattern",
                "~ rule svc-dev-a-rule-1 (bus orders): target a (live alias)",
            ]
        );
        assert!(p.steps[0].phase() < p.steps[1].phase());
        let mut o = converged(&d);
        o.buses.insert("orders".into(), true);
        assert!(steps(&d, &o).is_empty());
        let mut p = Plan::default();
        plan(&d.nothing(), &o, &mut p);
        p.steps.sort_by_key(|s| s.phase());
        let shown: Vec<String> = p.steps.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            shown,
            ["- rule svc-dev-a-rule-1 (bus orders)", "- event bus orders"]
        );
    }
}
