//! `alexaSkill` and `alexaSmartHome` events: nothing but a grant on the function's live alias
//! that lets the Alexa service invoke it for one skill (its id as the event source token).
//! AWS side: `provider::aws::alexa`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::events::{Alexa, Of};
use super::{Desired, Observed, Phase, Plan};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlexaGrant {
    /// The function's key under `functions:`.
    pub function: String,
    /// `alexa-appkit.amazon.com` (skills) or `alexa-connectedhome.amazon.com` (smart home).
    pub principal: String,
    /// The skill id, sent as the event source token; none for a skill without one (any skill).
    pub app_id: Option<String>,
}

impl AlexaGrant {
    /// The statement id: the kind and the skill id in the characters statement ids allow.
    pub fn statement_id(&self) -> String {
        let kind = if self.principal.contains("connectedhome") {
            "home"
        } else {
            "skill"
        };
        super::permission::statement_id(
            &format!("sls-alexa-{kind}-"),
            self.app_id.as_deref().unwrap_or("any"),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum AlexaStep {
    #[serde(rename_all = "camelCase")]
    GrantAlexa {
        function: String,
        function_name: String,
        statement: String,
    },
    #[serde(rename_all = "camelCase")]
    RevokeAlexa {
        function_name: String,
        statement: String,
    },
}

impl AlexaStep {
    pub fn function_name(&self) -> &str {
        match self {
            AlexaStep::GrantAlexa { function_name, .. }
            | AlexaStep::RevokeAlexa { function_name, .. } => function_name,
        }
    }
}

impl super::KindStep for AlexaStep {
    fn phase(&self) -> Phase {
        match self {
            AlexaStep::GrantAlexa { .. } => Phase::Permissions,
            AlexaStep::RevokeAlexa { .. } => Phase::DeleteTriggers,
        }
    }

    fn lane(&self) -> String {
        format!("function {}", self.function_name())
    }
}

impl fmt::Display for AlexaStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlexaStep::GrantAlexa {
                function_name,
                statement,
                ..
            } => write!(
                f,
                "+ permission {statement}: Alexa may invoke {function_name}"
            ),
            AlexaStep::RevokeAlexa {
                function_name,
                statement,
            } => write!(f, "- permission {statement} on {function_name}"),
        }
    }
}

/// Grants made for each skill a function serves, and those no event asks for revoked.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    for f in &d.functions {
        let wanted: BTreeMap<String, &AlexaGrant> = d
            .alexa
            .iter()
            .filter(|g| g.function == f.key)
            .map(|g| (g.statement_id(), g))
            .collect();
        let held = o.permissions.get(&f.name);
        for sid in wanted.keys() {
            if !held.is_some_and(|s| s.contains_key(sid)) {
                p.push(AlexaStep::GrantAlexa {
                    function: f.key.clone(),
                    function_name: f.name.clone(),
                    statement: sid.clone(),
                });
            }
        }
    }
    let stale = super::permission::stale_grants(d, o, "sls-alexa-", |f, rest| {
        d.alexa
            .iter()
            .any(|g| g.function == f.key && g.statement_id() == format!("sls-alexa-{rest}"))
    });
    for (function_name, statement) in stale {
        p.push(AlexaStep::RevokeAlexa {
            function_name,
            statement,
        });
    }
}

/// A grant per `alexaSkill` or `alexaSmartHome` event that is not disabled.
pub(super) fn desired(events: &[Of<'_, Alexa<'_>>]) -> Vec<AlexaGrant> {
    events
        .iter()
        .filter(|(_, e)| e.event.enabled != Some(false))
        .map(|(key, e)| AlexaGrant {
            function: key.to_string(),
            principal: e.principal.into(),
            app_id: e.event.app_id.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::desired;

    #[test]
    fn a_skill_is_granted_once_and_revoked_when_it_leaves() {
        let mut d = desired();
        d.alexa = vec![AlexaGrant {
            function: "a".into(),
            principal: "alexa-appkit.amazon.com".into(),
            app_id: Some("amzn1.ask.skill.12-ab".into()),
        }];
        let mut p = Plan::default();
        plan(&d, &Observed::default(), &mut p);
        assert_eq!(
            p.steps[0].to_string(),
            "+ permission sls-alexa-skill-amzn1-ask-skill-12-ab: Alexa may invoke svc-dev-a"
        );
        let mut o = Observed::default();
        o.permissions.entry("svc-dev-a".into()).or_default().insert(
            "sls-alexa-skill-amzn1-ask-skill-12-ab".into(),
            String::new(),
        );
        let mut p = Plan::default();
        plan(&d, &o, &mut p);
        assert!(p.steps.is_empty());
        d.alexa.clear();
        let mut p = Plan::default();
        plan(&d, &o, &mut p);
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].phase(), Phase::DeleteTriggers);
    }
}
