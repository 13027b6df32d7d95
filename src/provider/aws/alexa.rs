//! Grants of `alexaSkill` and `alexaSmartHome` events on a function's live alias, with the
//! skill id as event source token. Planning: `plan::alexa`.

use super::context::Applying;
use super::{AwsError, remove_statement};
use crate::plan::AlexaStep;

pub async fn apply(cx: &Applying<'_>, step: &AlexaStep) -> Result<(), AwsError> {
    let (aws, live) = (cx.aws, &cx.d.live);
    match step {
        AlexaStep::GrantAlexa {
            function,
            function_name,
            statement,
        } => {
            let grant =
                cx.d.alexa
                    .iter()
                    .find(|g| &g.function == function && &g.statement_id() == statement)
                    .ok_or_else(|| {
                        AwsError::Other(format!(
                            "the plan grants {statement}, which the config does not ask for"
                        ))
                    })?;
            super::grant(
                aws,
                &super::Grant {
                    function_name,
                    alias: live,
                    sid: statement,
                    principal: &grant.principal,
                    source_arn: None,
                    source_account: None,
                    event_source_token: grant.app_id.clone(),
                },
            )
            .await?;
        }
        AlexaStep::RevokeAlexa {
            function_name,
            statement,
        } => remove_statement(aws, function_name, live, statement).await?,
    }
    Ok(())
}
