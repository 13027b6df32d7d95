//! CloudWatch Logs groups of the functions (`/aws/lambda/{function name}`): created by sls,
//! tagged, with `logRetentionInDays`, and deleted with their function. A group named after a
//! function of ours belongs to that function, whoever created it (Lambda creates it at the
//! first invocation when nobody did). `disableLogs: true` means no group. AWS side:
//! `provider::aws::log_group`.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::naming::function_name;
use super::{Desired, Observed, Phase, Plan};
use crate::config::Config;
use crate::config::model::{Function, LambdaLogs};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupSpec {
    pub log_group: String,
    /// `logRetentionInDays` (function, else provider); `None`: kept forever.
    pub retention_days: Option<i32>,
}

/// The group a Lambda function writes to.
pub fn name_of(function_name: &str) -> String {
    format!("/aws/lambda/{function_name}")
}

#[derive(Debug, Clone)]
pub struct ObservedLogGroup {
    pub retention_days: Option<i32>,
    /// Whether it carries this service's and stage's tags. Read only for a group whose
    /// function is not a function of ours (the function says whose a group is otherwise): what a
    /// removal or a deploy stopped after deleting the function left behind.
    pub owned: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum LogGroupStep {
    #[serde(rename_all = "camelCase")]
    CreateLogGroup { log_group: String },
    #[serde(rename_all = "camelCase")]
    PutRetentionPolicy { log_group: String, days: i32 },
    #[serde(rename_all = "camelCase")]
    DeleteRetentionPolicy { log_group: String },
    #[serde(rename_all = "camelCase")]
    DeleteLogGroup { log_group: String },
}

impl LogGroupStep {
    pub fn log_group(&self) -> &str {
        match self {
            LogGroupStep::CreateLogGroup { log_group }
            | LogGroupStep::PutRetentionPolicy { log_group, .. }
            | LogGroupStep::DeleteRetentionPolicy { log_group }
            | LogGroupStep::DeleteLogGroup { log_group } => log_group,
        }
    }
}

impl super::KindStep for LogGroupStep {
    fn phase(&self) -> Phase {
        match self {
            LogGroupStep::CreateLogGroup { .. }
            | LogGroupStep::PutRetentionPolicy { .. }
            | LogGroupStep::DeleteRetentionPolicy { .. } => Phase::LogGroups,
            LogGroupStep::DeleteLogGroup { .. } => Phase::DeleteLogGroups,
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            LogGroupStep::DeleteLogGroup { log_group } => Some(format!("log group {log_group}")),
            LogGroupStep::CreateLogGroup { .. }
            | LogGroupStep::PutRetentionPolicy { .. }
            | LogGroupStep::DeleteRetentionPolicy { .. } => None,
        }
    }

    fn lane(&self) -> String {
        format!("log group {}", self.log_group())
    }
}

impl fmt::Display for LogGroupStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogGroupStep::CreateLogGroup { log_group } => write!(f, "+ log group {log_group}"),
            LogGroupStep::PutRetentionPolicy { log_group, days } => {
                write!(f, "~ log group {log_group}: kept {days} days")
            }
            LogGroupStep::DeleteRetentionPolicy { log_group } => {
                write!(f, "~ log group {log_group}: kept forever")
            }
            LogGroupStep::DeleteLogGroup { log_group } => write!(f, "- log group {log_group}"),
        }
    }
}

/// Each wanted group exists with its retention; on a deploy to the live alias (or a removal),
/// the groups of functions being deleted go too.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    for g in &d.log_groups {
        match o.log_groups.get(&g.log_group) {
            None => {
                p.push(LogGroupStep::CreateLogGroup {
                    log_group: g.log_group.clone(),
                });
                if let Some(days) = g.retention_days {
                    p.push(LogGroupStep::PutRetentionPolicy {
                        log_group: g.log_group.clone(),
                        days,
                    });
                }
            }
            Some(have) if have.retention_days != g.retention_days => match g.retention_days {
                Some(days) => p.push(LogGroupStep::PutRetentionPolicy {
                    log_group: g.log_group.clone(),
                    days,
                }),
                None => p.push(LogGroupStep::DeleteRetentionPolicy {
                    log_group: g.log_group.clone(),
                }),
            },
            Some(_) => {}
        }
    }
    if d.alias != d.live {
        return;
    }
    // Groups of functions of ours that the config no longer has: they go with the function.
    let wanted: BTreeSet<&str> = d.log_groups.iter().map(|g| g.log_group.as_str()).collect();
    let kept: BTreeSet<String> = d.functions.iter().map(|f| name_of(&f.name)).collect();
    let mut gone = BTreeSet::new();
    for (name, of) in &o.functions {
        let group = name_of(name);
        if of.owned
            && !kept.contains(&group)
            && !wanted.contains(group.as_str())
            && o.log_groups.contains_key(&group)
        {
            gone.insert(group);
        }
    }
    // Groups of ours whose function is gone already (a run stopped in between).
    for (group, og) in &o.log_groups {
        if og.owned && !kept.contains(group) && !wanted.contains(group.as_str()) {
            gone.insert(group.clone());
        }
    }
    for log_group in gone {
        p.push(LogGroupStep::DeleteLogGroup { log_group });
    }
}

/// A function's logging configuration: its own `logs` over the provider's `logs.lambda`.
pub fn lambda_logs(config: &Config, f: &Function) -> LambdaLogs {
    let provider = config
        .provider
        .logs
        .as_ref()
        .and_then(|l| l.lambda.as_ref());
    LambdaLogs::over(f.logs.as_ref(), provider)
}

/// The log group sls creates for every function that logs (not `disableLogs`) to Lambda's own
/// group (no `logs.logGroup` of the user's), custom `name:`s included, with its retention (the
/// function's, else the provider's).
pub(super) fn desired(config: &Config, stage: &str) -> Vec<LogGroupSpec> {
    config
        .functions
        .iter()
        .flatten()
        .filter(|(_, f)| f.disable_logs != Some(true))
        .filter(|(_, f)| lambda_logs(config, f).log_group.is_none())
        .map(|(key, f)| {
            let name = f
                .name
                .clone()
                .unwrap_or_else(|| function_name(&config.service, stage, key));
            LogGroupSpec {
                log_group: name_of(&name),
                retention_days: f
                    .log_retention_in_days
                    .or(config.provider.log_retention_in_days)
                    .map(|r| r.0 as i32),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::function::tests::converged as functions;
    use super::super::tests::{actions, desired};
    use super::*;

    /// What AWS holds once `d`'s groups exist.
    fn converged(d: &Desired) -> BTreeMap<String, ObservedLogGroup> {
        d.log_groups
            .iter()
            .map(|g| {
                let o = ObservedLogGroup {
                    retention_days: g.retention_days,
                    owned: true,
                };
                (g.log_group.clone(), o)
            })
            .collect()
    }

    fn run(d: &Desired, groups: BTreeMap<String, ObservedLogGroup>) -> Plan {
        let o = Observed {
            functions: functions(&desired()),
            log_groups: groups,
            ..Default::default()
        };
        let mut p = Plan::default();
        plan(d, &o, &mut p);
        p
    }

    #[test]
    fn groups_are_created_with_their_retention_and_follow_the_config() {
        let mut d = desired();
        d.log_groups[0].retention_days = Some(14);
        assert!(run(&d, converged(&d)).is_empty());
        assert_eq!(
            actions(&run(&d, BTreeMap::new())),
            ["createLogGroup", "putRetentionPolicy", "createLogGroup"]
        );
        let o = converged(&d);
        d.log_groups[0].retention_days = None;
        assert_eq!(actions(&run(&d, o)), ["deleteRetentionPolicy"]);
    }

    #[test]
    fn a_deleted_functions_group_goes_and_a_staged_deploy_keeps_it() {
        let mut d = desired();
        let o = converged(&d);
        d.functions.truncate(1);
        d.log_groups.truncate(1);
        let p = run(&d, o.clone());
        assert_eq!(p.steps[0].to_string(), "- log group /aws/lambda/svc-dev-b");
        d.alias = "next".into();
        assert!(run(&d, o).is_empty());
    }

    #[test]
    fn a_group_whose_function_is_gone_goes_when_its_tags_say_ours() {
        let d = desired();
        let mut groups = converged(&d);
        let o = Observed {
            log_groups: groups.clone(),
            ..Default::default()
        };
        // A removal stopped after deleting the functions: their tagged groups go.
        let mut p = Plan::default();
        plan(&d.nothing(), &o, &mut p);
        assert_eq!(actions(&p), ["deleteLogGroup", "deleteLogGroup"]);
        // Untagged (made by Lambda, or someone else's): left alone.
        groups.values_mut().for_each(|g| g.owned = false);
        let o = Observed {
            log_groups: groups,
            ..Default::default()
        };
        let mut p = Plan::default();
        plan(&d.nothing(), &o, &mut p);
        assert!(p.is_empty());
    }
}
