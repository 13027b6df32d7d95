//! `schedule` events with `method: scheduler`: EventBridge Scheduler schedules (time zones,
//! no rule quota) on the functions' live aliases. Schedules cannot carry tags, so they live in a
//! schedule group of their own, tagged and named for the service and stage: every schedule in it
//! is ours. Scheduler invokes through a role that trusts it (the role kind makes it, named
//! `{service}-{stage}-{region}-scheduler`). AWS side: `provider::aws::scheduler`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::json;

use super::events::{Of, Rule};
use super::naming::function_name;
use super::role::RoleSpec;
use super::schedule::{expression_name, target_input};
use super::{Change, Conflict, Desired, NOT_OURS, Observed, Phase, Plan, alias_arn_suffix};
use crate::config::Config;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    pub name: String,
    /// The function key.
    pub function: String,
    pub expression: String,
    /// IANA time zone of a cron expression; none is UTC.
    pub timezone: Option<String>,
    pub enabled: bool,
    pub description: String,
    /// The event sent (compact JSON); none sends Scheduler's empty input.
    pub input: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedSchedule {
    pub expression: String,
    pub timezone: Option<String>,
    pub enabled: bool,
    pub description: String,
    pub target: String,
    pub role: String,
    pub input: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ObservedScheduleGroup {
    pub name: String,
    pub owned: bool,
    /// Schedule name → what it is.
    pub schedules: BTreeMap<String, ObservedSchedule>,
}

/// The role Scheduler invokes through: `{service}-{stage}-{region}-scheduler`, within IAM's 64
/// characters, and its inline policy's name.
pub fn role_name(service: &str, stage: &str, region: &str) -> (String, String) {
    (
        super::fit(&format!("{service}-{stage}-{region}-scheduler"), 64),
        format!("{service}-{stage}-scheduler"),
    )
}

/// The group of the service's schedules: `{service}-{stage}`, within Scheduler's 64 characters.
pub fn group_name(service: &str, stage: &str) -> String {
    super::fit(&format!("{service}-{stage}"), 64)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum SchedulerStep {
    CreateScheduleGroup {
        group: String,
    },
    CreateSchedule {
        schedule: String,
        function: String,
    },
    UpdateSchedule {
        schedule: String,
        function: String,
        changes: Vec<Change>,
    },
    DeleteSchedule {
        schedule: String,
    },
    /// Deletes the group once its schedules are gone.
    DeleteScheduleGroup {
        group: String,
    },
}

impl super::KindStep for SchedulerStep {
    fn phase(&self) -> Phase {
        match self {
            SchedulerStep::CreateScheduleGroup { .. }
            | SchedulerStep::CreateSchedule { .. }
            | SchedulerStep::UpdateSchedule { .. } => Phase::Triggers,
            SchedulerStep::DeleteSchedule { .. } | SchedulerStep::DeleteScheduleGroup { .. } => {
                Phase::DeleteTriggers
            }
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            SchedulerStep::DeleteScheduleGroup { group } => {
                Some(format!("Scheduler schedule group {group}"))
            }
            SchedulerStep::DeleteSchedule { schedule } => {
                Some(format!("Scheduler schedule {schedule}"))
            }
            SchedulerStep::CreateScheduleGroup { .. }
            | SchedulerStep::CreateSchedule { .. }
            | SchedulerStep::UpdateSchedule { .. } => None,
        }
    }

    fn lane(&self) -> String {
        "schedule group".into()
    }
}

impl fmt::Display for SchedulerStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchedulerStep::CreateScheduleGroup { group } => {
                write!(f, "+ Scheduler schedule group {group}")
            }
            SchedulerStep::CreateSchedule { schedule, function } => {
                write!(f, "+ Scheduler schedule {schedule} → {function}")
            }
            SchedulerStep::UpdateSchedule {
                schedule,
                function,
                changes,
            } => {
                let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
                write!(
                    f,
                    "~ Scheduler schedule {schedule} → {function} ({})",
                    fields.join(", ")
                )
            }
            SchedulerStep::DeleteSchedule { schedule } => {
                write!(f, "- Scheduler schedule {schedule}")
            }
            SchedulerStep::DeleteScheduleGroup { group } => {
                write!(f, "- Scheduler schedule group {group}")
            }
        }
    }
}

/// What differs between a schedule and the config, field by field.
fn changes(d: &Desired, want: &ScheduleSpec, have: &ObservedSchedule) -> Vec<Change> {
    let target = alias_arn_suffix(d, &want.function);
    let mut out = Vec::new();
    let mut diff = |field: &str, from: String, to: String| {
        if from != to {
            out.push(Change {
                field: field.into(),
                from,
                to,
            });
        }
    };
    diff(
        "expression",
        have.expression.clone(),
        want.expression.clone(),
    );
    diff(
        "timezone",
        have.timezone.clone().unwrap_or_else(|| "UTC".into()),
        want.timezone.clone().unwrap_or_else(|| "UTC".into()),
    );
    diff(
        "state",
        state(have.enabled).into(),
        state(want.enabled).into(),
    );
    diff(
        "description",
        have.description.clone(),
        want.description.clone(),
    );
    diff(
        "input",
        have.input.clone().unwrap_or_default(),
        want.input.clone().unwrap_or_default(),
    );
    if !have.target.ends_with(&format!(":{target}")) {
        diff("target", have.target.clone(), target);
    }
    if let Some(role) = &d.scheduler_role
        && !have.role.ends_with(&format!("/{}", role.name))
    {
        diff("role", have.role.clone(), role.name.clone());
    }
    out
}

pub fn state(enabled: bool) -> &'static str {
    if enabled { "ENABLED" } else { "DISABLED" }
}

/// The group, then each schedule made, changed or deleted; without scheduler schedules, the
/// group goes with what is in it.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    let group = o.schedule_group.as_ref();
    if let Some(g) = group.filter(|g| !g.owned) {
        if d.schedules.is_empty() {
            p.leave_alone(format!("Scheduler schedule group {}", g.name));
        } else {
            p.conflicts.push(Conflict {
                resource: format!("Scheduler schedule group {}", g.name),
                reason: NOT_OURS.into(),
            });
        }
        return;
    }
    // `deploy function` sees only that function's schedules, and never the group go.
    if d.schedules.is_empty() && !d.function_only {
        if let Some(g) = group {
            for name in g.schedules.keys() {
                p.push(SchedulerStep::DeleteSchedule {
                    schedule: name.clone(),
                });
            }
            p.push(SchedulerStep::DeleteScheduleGroup {
                group: g.name.clone(),
            });
        }
        return;
    }
    if group.is_none() && !d.schedules.is_empty() {
        p.push(SchedulerStep::CreateScheduleGroup {
            group: group_name(&d.service, &d.stage),
        });
    }
    for s in &d.schedules {
        match group.and_then(|g| g.schedules.get(&s.name)) {
            None => p.push(SchedulerStep::CreateSchedule {
                schedule: s.name.clone(),
                function: s.function.clone(),
            }),
            Some(have) => {
                let changes = changes(d, s, have);
                if !changes.is_empty() {
                    p.push(SchedulerStep::UpdateSchedule {
                        schedule: s.name.clone(),
                        function: s.function.clone(),
                        changes,
                    });
                }
            }
        }
    }
    for name in group.iter().flat_map(|g| g.schedules.keys()) {
        if !d.schedules.iter().any(|s| &s.name == name) {
            p.push(SchedulerStep::DeleteSchedule {
                schedule: name.clone(),
            });
        }
    }
}

/// The `schedule` events with `method: scheduler`, one schedule per expression, named and
/// numbered as the schedule kind names rules (the two share the count).
pub(super) fn desired(
    service: &str,
    stage: &str,
    events: &[Of<'_, Rule<'_>>],
) -> Vec<ScheduleSpec> {
    let mut out = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let prefix = super::rule_prefix(service, stage);
    for (key, ev) in events {
        let s = match ev {
            Rule::Schedule(s) => s,
            // Numbered apart from the schedules.
            Rule::EventBridge(_) | Rule::CloudwatchEvent(_) => continue,
        };
        let n = counts.entry(key.as_str()).or_default();
        for (i, expression) in s.rate.iter().enumerate() {
            *n += 1;
            if s.method.as_deref() != Some("scheduler") {
                continue;
            }
            let name = expression_name(&prefix, key, s, i, *n);
            out.push(ScheduleSpec {
                name,
                function: key.to_string(),
                expression: expression.clone(),
                timezone: s.timezone.clone(),
                enabled: s.enabled.unwrap_or(true),
                description: s.description.clone().unwrap_or_default(),
                input: target_input(&s.input, &None, &None).input,
            });
        }
    }
    out
}

/// The role EventBridge Scheduler invokes the `schedules` through: it trusts Scheduler and may
/// invoke those functions (any version). Path, boundary and tags are the service role's.
pub(super) fn role_of(
    config: &Config,
    stage: &str,
    region: &str,
    schedules: &[ScheduleSpec],
    service_role: &RoleSpec,
) -> Option<RoleSpec> {
    if schedules.is_empty() {
        return None;
    }
    let service = &config.service;
    let (partition, _) = super::partition(region);
    let mut arns: Vec<String> = Vec::new();
    for s in schedules {
        let name = config
            .functions
            .as_ref()
            .and_then(|fs| fs.get(s.function.as_str()))
            .and_then(|f| f.name.clone())
            .unwrap_or_else(|| function_name(service, stage, &s.function));
        let arn = format!("arn:{partition}:lambda:{region}:*:function:{name}");
        for a in [arn.clone(), format!("{arn}:*")] {
            if !arns.contains(&a) {
                arns.push(a);
            }
        }
    }
    let (name, policy_name) = role_name(service, stage, region);
    Some(RoleSpec {
        name,
        policy: json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": arns
        }]}),
        policy_name,
        managed_policies: Vec::new(),
        path: service_role.path.clone(),
        permissions_boundary: service_role.permissions_boundary.clone(),
        tags: service_role.tags.clone(),
        trust: "scheduler.amazonaws.com".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{actions, desired};
    use super::*;

    fn with_schedules() -> Desired {
        let mut d = desired();
        d.schedules = vec![ScheduleSpec {
            name: "svc-dev-a-schedule-1".into(),
            function: "a".into(),
            expression: "cron(0 9 ? * MON-FRI *)".into(),
            timezone: Some("Europe/Paris".into()),
            enabled: true,
            description: String::new(),
            input: Some(r#"{"kind":"digest"}"#.into()),
        }];
        d.scheduler_role = Some(super::super::role::tests::spec_named(
            "svc-dev-eu-west-1-scheduler",
        ));
        d
    }

    fn converged(d: &Desired) -> ObservedScheduleGroup {
        ObservedScheduleGroup {
            name: "svc-dev".into(),
            owned: true,
            schedules: d
                .schedules
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        ObservedSchedule {
                            expression: s.expression.clone(),
                            timezone: s.timezone.clone(),
                            enabled: s.enabled,
                            description: s.description.clone(),
                            target: format!(
                                "arn:aws:lambda:eu-west-1:1:{}",
                                alias_arn_suffix(d, &s.function)
                            ),
                            role: "arn:aws:iam::1:role/svc-dev-eu-west-1-scheduler".into(),
                            input: s.input.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    fn run(d: &Desired, g: Option<ObservedScheduleGroup>) -> Plan {
        let o = Observed {
            schedule_group: g,
            ..Default::default()
        };
        let mut p = Plan::default();
        plan(d, &o, &mut p);
        p
    }

    #[test]
    fn the_group_then_its_schedules_and_nothing_once_converged() {
        let d = with_schedules();
        assert_eq!(
            actions(&run(&d, None)),
            ["createScheduleGroup", "createSchedule"]
        );
        assert!(run(&d, Some(converged(&d))).is_empty());
    }

    #[test]
    fn a_changed_zone_updates_and_leaving_the_config_empties_then_deletes_the_group() {
        let d = with_schedules();
        let g = converged(&d);
        let mut moved = d.clone();
        moved.schedules[0].timezone = None;
        let p = run(&moved, Some(g.clone()));
        assert_eq!(actions(&p), ["updateSchedule"]);
        assert!(
            matches!(&p.steps[0], super::super::Step::Scheduler(SchedulerStep::UpdateSchedule { changes, .. })
                if changes.len() == 1 && changes[0].to == "UTC")
        );
        let mut none = d.clone();
        none.schedules.clear();
        assert_eq!(
            actions(&run(&none, Some(g.clone()))),
            ["deleteSchedule", "deleteScheduleGroup"]
        );
        let mut foreign = g;
        foreign.owned = false;
        let p = run(&d, Some(foreign));
        assert!(p.steps.is_empty() && p.conflicts.len() == 1);
    }
}
