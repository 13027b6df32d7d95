//! `cognitoUserPool` events: Lambda triggers of a Cognito user pool, on the functions' live
//! aliases. A pool the config does not mark `existing` is made by sls (named `pool`, tagged) and
//! deleted when no event names it; an `existing` pool is the user's: only the triggers that call
//! this service's functions are set or cleared, every other setting and trigger is kept. Each
//! function gets a grant per pool. AWS side: `provider::aws::user_pool`.
//!
//! Pools that left the config are found through the grants their functions hold (the grant's
//! source is the pool's ARN), as the bucket and topic kinds find theirs.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::events::Of;
use super::{Conflict, Desired, NOT_OURS, Observed, Phase, Plan, alias_arn_suffix};
use crate::config::model::CognitoUserPoolEvent;

/// The statement ids of this kind start so.
pub const GRANT_PREFIX: &str = "sls-cognito-";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPoolSpec {
    pub name: String,
    /// The user's pool: never made or deleted, only its triggers of ours change.
    pub existing: bool,
    /// Trigger (`PreSignUp`, …) → function key.
    pub triggers: BTreeMap<String, String>,
    /// The KMS key of the custom sender triggers.
    pub kms_key: Option<String>,
}

impl UserPoolSpec {
    /// The grant's statement id for this pool: its name in the characters statement ids allow.
    pub fn statement_id(&self) -> String {
        statement_id(&self.name)
    }
}

pub fn statement_id(pool: &str) -> String {
    super::permission::statement_id(GRANT_PREFIX, pool)
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedUserPool {
    pub id: String,
    pub name: String,
    pub arn: String,
    /// Tagged for this service and stage: made by sls.
    pub owned: bool,
    /// Trigger → the ARN it calls.
    pub triggers: BTreeMap<String, String>,
    pub kms_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum UserPoolStep {
    /// Made with its triggers and tags.
    CreateUserPool { pool: String },
    /// Read again and written back whole (UpdateUserPool resets what it is not given), with
    /// these triggers set to the functions' live aliases and those cleared.
    #[serde(rename_all = "camelCase")]
    SetUserPoolTriggers {
        pool: String,
        pool_id: String,
        set: BTreeMap<String, String>,
        clear: Vec<String>,
    },
    #[serde(rename_all = "camelCase")]
    DeleteUserPool { pool: String, pool_id: String },
    /// Lets Cognito invoke the function's alias for this pool.
    #[serde(rename_all = "camelCase")]
    GrantUserPool {
        pool: String,
        function: String,
        function_name: String,
    },
    #[serde(rename_all = "camelCase")]
    RevokeUserPool {
        function_name: String,
        statement: String,
    },
}

impl super::KindStep for UserPoolStep {
    fn phase(&self) -> Phase {
        match self {
            UserPoolStep::CreateUserPool { .. }
            | UserPoolStep::SetUserPoolTriggers { .. }
            | UserPoolStep::GrantUserPool { .. } => Phase::Triggers,
            UserPoolStep::DeleteUserPool { .. } | UserPoolStep::RevokeUserPool { .. } => {
                Phase::DeleteTriggers
            }
        }
    }

    /// A pool's steps run in order (its grants need its ARN); revokes go with their function.
    fn lane(&self) -> String {
        match self {
            UserPoolStep::CreateUserPool { pool }
            | UserPoolStep::SetUserPoolTriggers { pool, .. }
            | UserPoolStep::DeleteUserPool { pool, .. }
            | UserPoolStep::GrantUserPool { pool, .. } => format!("user pool {pool}"),
            UserPoolStep::RevokeUserPool { function_name, .. } => {
                format!("function {function_name}")
            }
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            UserPoolStep::DeleteUserPool { pool, pool_id } => {
                Some(format!("Cognito user pool {pool} ({pool_id})"))
            }
            UserPoolStep::CreateUserPool { .. }
            | UserPoolStep::SetUserPoolTriggers { .. }
            | UserPoolStep::GrantUserPool { .. }
            | UserPoolStep::RevokeUserPool { .. } => None,
        }
    }
}

impl fmt::Display for UserPoolStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserPoolStep::CreateUserPool { pool } => write!(f, "+ Cognito user pool {pool}"),
            UserPoolStep::SetUserPoolTriggers {
                pool, set, clear, ..
            } => {
                let mut parts: Vec<String> =
                    set.iter().map(|(t, fk)| format!("{t} → {fk}")).collect();
                parts.extend(clear.iter().map(|t| format!("{t} cleared")));
                write!(
                    f,
                    "~ Cognito user pool {pool}: triggers {} (other settings kept)",
                    parts.join(", ")
                )
            }
            UserPoolStep::DeleteUserPool { pool, pool_id } => {
                write!(f, "- Cognito user pool {pool} ({pool_id}) and its users")
            }
            UserPoolStep::GrantUserPool {
                pool,
                function_name,
                ..
            } => write!(
                f,
                "+ permission: user pool {pool} may invoke {function_name}"
            ),
            UserPoolStep::RevokeUserPool {
                function_name,
                statement,
            } => write!(f, "- permission {statement} on {function_name}"),
        }
    }
}

/// Whether `arn` calls one of this service's functions (any qualifier): what sls may set or
/// clear in a pool that is not its own.
fn ours(d: &Desired, o: &Observed, arn: &str) -> bool {
    let Some(rest) = arn.split(":function:").nth(1) else {
        return false;
    };
    let name = rest.split(':').next().unwrap_or(rest);
    d.functions.iter().any(|f| f.name == name) || o.functions.get(name).is_some_and(|of| of.owned)
}

/// Each pool's triggers and grants made to match the config; pools no event names any more are
/// deleted (ours) or cleared of our triggers (the user's).
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    for spec in &d.user_pools {
        let named: Vec<&ObservedUserPool> = o
            .user_pools
            .iter()
            .filter(|u| u.name == spec.name)
            .collect();
        let pool = if spec.existing {
            match named.as_slice() {
                [one] => Some(*one),
                [] => {
                    p.conflicts.push(Conflict {
                        resource: format!("Cognito user pool {}", spec.name),
                        reason: "does not exist, and the config says it is `existing`".into(),
                    });
                    continue;
                }
                many => {
                    let ids: Vec<&str> = many.iter().map(|u| u.id.as_str()).collect();
                    p.conflicts.push(Conflict {
                        resource: format!("Cognito user pool {}", spec.name),
                        reason: format!(
                            "names several pools ({}), and sls cannot tell which one is meant",
                            ids.join(", ")
                        ),
                    });
                    continue;
                }
            }
        } else {
            match named.iter().find(|u| u.owned) {
                Some(u) => Some(*u),
                None if !named.is_empty() => {
                    p.conflicts.push(Conflict {
                        resource: format!("Cognito user pool {} ({})", spec.name, named[0].id),
                        reason: format!("{NOT_OURS}; say `existing: true` to add triggers to it"),
                    });
                    continue;
                }
                None => None,
            }
        };
        match pool {
            None => p.push(UserPoolStep::CreateUserPool {
                pool: spec.name.clone(),
            }),
            Some(u) => {
                let mut set = BTreeMap::new();
                for (trigger, fk) in &spec.triggers {
                    let target = alias_arn_suffix(d, fk);
                    let current = u
                        .triggers
                        .get(trigger)
                        .is_some_and(|a| a.ends_with(&format!(":{target}")));
                    if !current {
                        set.insert(trigger.clone(), fk.clone());
                    }
                }
                // In our pool every trigger is ours; in the user's, those calling our functions.
                let clear: Vec<String> = u
                    .triggers
                    .iter()
                    .filter(|(t, arn)| {
                        !spec.triggers.contains_key(*t) && (u.owned || ours(d, o, arn))
                    })
                    .map(|(t, _)| t.clone())
                    .collect();
                let sends = spec
                    .triggers
                    .keys()
                    .any(|t| t.starts_with("Custom") && t.ends_with("Sender"));
                let key_moves = sends && u.kms_key != spec.kms_key;
                if !set.is_empty() || !clear.is_empty() || key_moves {
                    p.push(UserPoolStep::SetUserPoolTriggers {
                        pool: spec.name.clone(),
                        pool_id: u.id.clone(),
                        set,
                        clear,
                    });
                }
            }
        }
        let mut functions: Vec<&String> = spec.triggers.values().collect();
        functions.sort();
        functions.dedup();
        for fk in functions {
            let Some(f) = d.function(fk) else { continue };
            let held = o
                .permissions
                .get(&f.name)
                .and_then(|s| s.get(&spec.statement_id()));
            let current = match (pool, held) {
                (Some(u), Some(source)) => source == &u.arn,
                _ => false,
            };
            if !current {
                p.push(UserPoolStep::GrantUserPool {
                    pool: spec.name.clone(),
                    function: fk.clone(),
                    function_name: f.name.clone(),
                });
            }
        }
    }
    // Found through grants, no longer in the config.
    for u in &o.user_pools {
        if d.user_pools.iter().any(|s| s.name == u.name) {
            continue;
        }
        if u.owned {
            p.push(UserPoolStep::DeleteUserPool {
                pool: u.name.clone(),
                pool_id: u.id.clone(),
            });
        } else {
            let clear: Vec<String> = u
                .triggers
                .iter()
                .filter(|(_, arn)| ours(d, o, arn))
                .map(|(t, _)| t.clone())
                .collect();
            if !clear.is_empty() {
                p.push(UserPoolStep::SetUserPoolTriggers {
                    pool: u.name.clone(),
                    pool_id: u.id.clone(),
                    set: BTreeMap::new(),
                    clear,
                });
            }
        }
    }
    let stale = super::permission::stale_grants(d, o, GRANT_PREFIX, |f, rest| {
        d.user_pools.iter().any(|s| {
            s.statement_id() == format!("{GRANT_PREFIX}{rest}")
                && s.triggers.values().any(|fk| fk == &f.key)
        })
    });
    for (function_name, statement) in stale {
        p.push(UserPoolStep::RevokeUserPool {
            function_name,
            statement,
        });
    }
}

/// The pools of the `cognitoUserPool` events, in the order the config first names them.
pub(super) fn desired(events: &[Of<'_, &CognitoUserPoolEvent>]) -> Vec<UserPoolSpec> {
    let mut out: Vec<UserPoolSpec> = Vec::new();
    for (key, e) in events {
        let i = match out.iter().position(|p| p.name == e.pool) {
            Some(i) => i,
            None => {
                out.push(UserPoolSpec {
                    name: e.pool.clone(),
                    existing: e.existing == Some(true),
                    triggers: BTreeMap::new(),
                    kms_key: None,
                });
                out.len() - 1
            }
        };
        out[i].triggers.insert(e.trigger.clone(), key.to_string());
        if e.kms_key_id.is_some() {
            out[i].kms_key = e.kms_key_id.clone();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{actions, desired};
    use super::*;

    fn with_pools() -> Desired {
        let mut d = desired();
        d.user_pools = vec![
            UserPoolSpec {
                name: "members".into(),
                existing: false,
                triggers: BTreeMap::from([("PreSignUp".into(), "a".into())]),
                kms_key: None,
            },
            UserPoolSpec {
                name: "staff".into(),
                existing: true,
                triggers: BTreeMap::from([("PostConfirmation".into(), "b".into())]),
                kms_key: None,
            },
        ];
        d
    }

    fn alias(name: &str) -> String {
        format!("arn:aws:lambda:eu-west-1:1:function:{name}:live")
    }

    /// The pools once deployed: ours, and the user's with a foreign trigger of its own.
    fn converged(d: &Desired) -> Observed {
        let pool = |id: &str, name: &str, owned, triggers: &[(&str, String)]| ObservedUserPool {
            id: id.into(),
            name: name.into(),
            arn: format!("arn:aws:cognito-idp:eu-west-1:1:userpool/{id}"),
            owned,
            triggers: triggers
                .iter()
                .map(|(t, a)| (t.to_string(), a.clone()))
                .collect(),
            kms_key: None,
        };
        let mut o = Observed {
            user_pools: vec![
                pool("p1", "members", true, &[("PreSignUp", alias("svc-dev-a"))]),
                pool(
                    "p2",
                    "staff",
                    false,
                    &[
                        ("PostConfirmation", alias("svc-dev-b")),
                        ("CustomMessage", alias("someone-elses")),
                    ],
                ),
            ],
            ..Default::default()
        };
        for f in &d.functions {
            o.functions.insert(
                f.name.clone(),
                super::super::function::tests::converged(d)[&f.name].clone(),
            );
        }
        o.permissions.insert(
            "svc-dev-a".into(),
            BTreeMap::from([(
                statement_id("members"),
                "arn:aws:cognito-idp:eu-west-1:1:userpool/p1".into(),
            )]),
        );
        o.permissions.insert(
            "svc-dev-b".into(),
            BTreeMap::from([(
                statement_id("staff"),
                "arn:aws:cognito-idp:eu-west-1:1:userpool/p2".into(),
            )]),
        );
        o
    }

    fn run(d: &Desired, o: &Observed) -> Plan {
        let mut p = Plan::default();
        plan(d, o, &mut p);
        p
    }

    #[test]
    fn our_pool_is_made_and_the_users_pool_only_gets_our_trigger() {
        let d = with_pools();
        let mut o = Observed {
            user_pools: converged(&d).user_pools,
            ..Default::default()
        };
        o.user_pools[0] = ObservedUserPool {
            id: "x".into(),
            ..o.user_pools[1].clone()
        };
        o.user_pools.truncate(1);
        o.user_pools[0].triggers.remove("PostConfirmation");
        let p = run(&d, &o);
        assert_eq!(
            actions(&p),
            [
                "createUserPool",
                "grantUserPool",
                "setUserPoolTriggers",
                "grantUserPool"
            ]
        );
        assert!(
            matches!(&p.steps[2], Step::UserPool(UserPoolStep::SetUserPoolTriggers { set, clear, .. })
            if set.keys().collect::<Vec<_>>() == ["PostConfirmation"] && clear.is_empty())
        );
        assert!(run(&d, &converged(&d)).is_empty());
    }

    #[test]
    fn leaving_the_config_deletes_our_pool_and_clears_only_our_triggers_from_the_users() {
        let d = with_pools();
        let o = converged(&d);
        let mut none = d.clone();
        none.user_pools.clear();
        let p = run(&none, &o);
        assert_eq!(
            actions(&p),
            [
                "deleteUserPool",
                "setUserPoolTriggers",
                "revokeUserPool",
                "revokeUserPool"
            ]
        );
        assert!(
            matches!(&p.steps[1], Step::UserPool(UserPoolStep::SetUserPoolTriggers { clear, .. })
            if clear == &["PostConfirmation"]),
            "{:?}",
            p.steps[1]
        );
        assert_eq!(
            p.steps[0].removes().as_deref(),
            Some("Cognito user pool members (p1)")
        );
    }

    #[test]
    fn an_existing_pool_must_be_one_and_a_made_one_must_be_ours() {
        let d = with_pools();
        let mut o = converged(&d);
        o.user_pools[0].owned = false;
        let twin = ObservedUserPool {
            id: "p3".into(),
            ..o.user_pools[1].clone()
        };
        o.user_pools.push(twin);
        let p = run(&d, &o);
        let reasons: Vec<&str> = p.conflicts.iter().map(|c| c.reason.as_str()).collect();
        assert_eq!(p.conflicts.len(), 2, "{reasons:?}");
        assert!(reasons[0].contains("existing: true"), "{reasons:?}");
        assert!(reasons[1].contains("p2, p3"), "{reasons:?}");
    }

    use super::super::Step;
}
