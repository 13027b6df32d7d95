//! `schedule` events: an EventBridge rule per expression, targeting the function's live alias
//! (so a promote or rollback moves where the schedule delivers). The grant that lets
//! EventBridge invoke the alias is one statement per function (`plan::permission`), whatever
//! the number of rules. AWS side: `provider::aws::schedule`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{Conflict, Desired, NOT_OURS, Observed, Phase, Plan};

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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    /// The function's key under `functions:`.
    pub function: String,
    pub name: String,
    /// `rate(…)` or `cron(…)`.
    pub expression: String,
    pub enabled: bool,
    pub description: String,
    pub input: TargetInput,
}

/// A rule as EventBridge holds it, with the target sls gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRule {
    pub name: String,
    pub owned: bool,
    pub expression: String,
    pub enabled: bool,
    pub description: String,
    /// Our target (id [`target_id`]): its ARN and input; `None` when the rule has none.
    pub target: Option<(String, TargetInput)>,
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
}

impl ScheduleStep {
    pub fn phase(&self) -> Phase {
        match self {
            ScheduleStep::PutRule { .. } | ScheduleStep::PutTargets { .. } => Phase::Triggers,
            ScheduleStep::DeleteRule { .. } => Phase::DeleteTriggers,
        }
    }

    pub fn rule(&self) -> &str {
        match self {
            ScheduleStep::PutRule { rule, .. }
            | ScheduleStep::PutTargets { rule, .. }
            | ScheduleStep::DeleteRule { rule } => rule,
        }
    }

    pub fn removes(&self) -> Option<String> {
        match self {
            ScheduleStep::DeleteRule { rule } => Some(format!("EventBridge rule {rule}")),
            ScheduleStep::PutRule { .. } | ScheduleStep::PutTargets { .. } => None,
        }
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
            } => write!(
                f,
                "{} schedule rule {rule}: {expression}",
                if *create { "+" } else { "~" }
            ),
            ScheduleStep::PutTargets { rule, function } => {
                write!(f, "~ schedule rule {rule}: target {function} (live alias)")
            }
            ScheduleStep::DeleteRule { rule } => write!(f, "- schedule rule {rule}"),
        }
    }
}

/// Rules created or converged, their target on the live alias, and ours that left the config
/// deleted; a rule of our name without our tags is a conflict.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    let wanted: BTreeMap<&str, &RuleSpec> = d.rules.iter().map(|r| (r.name.as_str(), r)).collect();
    for (name, spec) in &wanted {
        let Some(fspec) = d.function(&spec.function) else {
            continue;
        };
        let (rule, function) = (name.to_string(), spec.function.clone());
        let Some(have) = o.rules.get(*name) else {
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
        let target = format!("function:{}:{}", fspec.name, d.live);
        let current = have
            .target
            .as_ref()
            .is_some_and(|(arn, input)| arn.ends_with(&target) && *input == spec.input);
        if !current {
            p.push(ScheduleStep::PutTargets { rule, function });
        }
    }
    for (name, have) in &o.rules {
        if have.owned && !wanted.contains_key(name.as_str()) {
            p.push(ScheduleStep::DeleteRule { rule: name.clone() });
        }
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
                r.name.clone(),
                ObservedRule {
                    name: r.name.clone(),
                    owned: true,
                    expression: r.expression.clone(),
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

    fn shown(d: &Desired, o: &Observed) -> Vec<String> {
        let mut p = Plan::default();
        plan(d, o, &mut p);
        p.steps.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_new_rule_is_put_and_targeted_and_a_converged_one_left_alone() {
        let mut d = desired();
        d.rules = vec![rule("a", "svc-dev-a-schedule-1")];
        assert_eq!(
            shown(&d, &Observed::default()),
            [
                "+ schedule rule svc-dev-a-schedule-1: rate(5 minutes)",
                "~ schedule rule svc-dev-a-schedule-1: target a (live alias)"
            ]
        );
        assert!(shown(&d, &converged(&d)).is_empty());
    }

    #[test]
    fn a_changed_expression_or_input_touches_only_what_changed() {
        let mut d = desired();
        d.rules = vec![rule("a", "r1")];
        let o = converged(&d);
        d.rules[0].expression = "cron(0 12 * * ? *)".into();
        assert_eq!(shown(&d, &o), ["~ schedule rule r1: cron(0 12 * * ? *)"]);
        d.rules[0].expression = "rate(5 minutes)".into();
        d.rules[0].input.input = Some(r#"{"k":1}"#.into());
        assert_eq!(shown(&d, &o), ["~ schedule rule r1: target a (live alias)"]);
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
}
