//! Grants of `alexaSkill` and `alexaSmartHome` events on a function's live alias, with the
//! skill id as event source token. Planning: `plan::alexa`.

use super::context::Applying;
use super::{AwsError, call_err, is_code, remove_statement};
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
            let add = || {
                aws.lambda
                    .add_permission()
                    .function_name(function_name)
                    .qualifier(live)
                    .statement_id(statement)
                    .action("lambda:InvokeFunction")
                    .principal(&grant.principal)
                    .set_event_source_token(grant.app_id.clone())
                    .send()
            };
            let res = format!("Lambda function {function_name}:{live}");
            match add().await {
                Ok(_) => {}
                Err(e) if is_code(&e, &["ResourceConflictException"]) => {
                    remove_statement(aws, function_name, live, statement).await?;
                    add().await.map_err(call_err("AddPermission", &res))?;
                }
                Err(e) => return Err(call_err("AddPermission", &res)(e)),
            }
        }
        AlexaStep::RevokeAlexa {
            function_name,
            statement,
        } => remove_statement(aws, function_name, live, statement).await?,
    }
    Ok(())
}
