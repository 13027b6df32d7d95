//! Cognito user pools of `cognitoUserPool` events: found by name (ListUserPools, paged) and
//! through our functions' grants, read with DescribeUserPool, made with their triggers, and
//! changed by writing the whole pool back — UpdateUserPool resets every setting it is not
//! given, so the pool is read again right before and every field is sent as read, with only our
//! triggers changed. Planning: `plan::user_pool`.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cognitoidentityprovider::types::{
    CustomEmailLambdaVersionConfigType, CustomEmailSenderLambdaVersionType,
    CustomSmsLambdaVersionConfigType, CustomSmsSenderLambdaVersionType, LambdaConfigType,
    PreTokenGenerationLambdaVersionType, PreTokenGenerationVersionConfigType, UserPoolType,
};

use super::context::Applying;
use super::{Aws, AwsError, NOT_FOUND, all_pages, call_err, is_code, owned, remove_statement};
use crate::plan::user_pool::{GRANT_PREFIX, ObservedUserPool, statement_id};
use crate::plan::{Desired, Statements, UserPoolStep};

/// The pools the config names and those the functions' grants name, each read once.
pub async fn observe(
    aws: &Aws,
    d: &Desired,
    grants: &BTreeMap<String, Statements>,
) -> Result<Vec<ObservedUserPool>, AwsError> {
    let mut ids: BTreeSet<String> = grants
        .values()
        .flat_map(|s| s.iter())
        .filter(|(sid, _)| sid.starts_with(GRANT_PREFIX))
        .filter_map(|(_, source)| source.split(":userpool/").nth(1).map(str::to_string))
        .collect();
    let names: BTreeSet<&str> = d.user_pools.iter().map(|p| p.name.as_str()).collect();
    if !names.is_empty() {
        let all = all_pages(|token| async {
            let page = aws
                .cognito
                .list_user_pools()
                .max_results(60)
                .set_next_token(token)
                .send()
                .await
                .map_err(call_err("ListUserPools", "Cognito user pools"))?;
            Ok((
                page.user_pools().to_vec(),
                page.next_token().map(str::to_string),
            ))
        })
        .await?;
        ids.extend(
            all.iter()
                .filter(|p| p.name().is_some_and(|n| names.contains(n)))
                .filter_map(|p| p.id().map(str::to_string)),
        );
    }
    let reads = ids.into_iter().map(|id| async move {
        let r = aws
            .cognito
            .describe_user_pool()
            .user_pool_id(&id)
            .send()
            .await;
        match r {
            Ok(out) => Ok(out.user_pool().map(|p| observed(p, d))),
            // Deleted since the grant was made.
            Err(e) if is_code(&e, NOT_FOUND) => Ok(None),
            Err(e) => Err(call_err(
                "DescribeUserPool",
                &format!("Cognito user pool {id}"),
            )(e)),
        }
    });
    let mut out = Vec::new();
    for r in futures_util::future::join_all(reads).await {
        out.extend(r?);
    }
    Ok(out)
}

fn observed(p: &UserPoolType, d: &Desired) -> ObservedUserPool {
    let tags: BTreeMap<String, String> = p
        .user_pool_tags()
        .map(|t| t.clone().into_iter().collect())
        .unwrap_or_default();
    let lambda = p.lambda_config();
    ObservedUserPool {
        id: p.id().unwrap_or_default().to_string(),
        name: p.name().unwrap_or_default().to_string(),
        arn: p.arn().unwrap_or_default().to_string(),
        owned: owned(&tags, d),
        triggers: lambda.map(triggers).unwrap_or_default(),
        kms_key: lambda.and_then(|l| l.kms_key_id()).map(str::to_string),
    }
}

/// Trigger name → ARN, for every trigger set.
fn triggers(l: &LambdaConfigType) -> BTreeMap<String, String> {
    let pairs = [
        ("PreSignUp", l.pre_sign_up()),
        ("CustomMessage", l.custom_message()),
        ("PostConfirmation", l.post_confirmation()),
        ("PreAuthentication", l.pre_authentication()),
        ("PostAuthentication", l.post_authentication()),
        ("DefineAuthChallenge", l.define_auth_challenge()),
        ("CreateAuthChallenge", l.create_auth_challenge()),
        (
            "VerifyAuthChallengeResponse",
            l.verify_auth_challenge_response(),
        ),
        ("PreTokenGeneration", l.pre_token_generation()),
        ("UserMigration", l.user_migration()),
        (
            "CustomSMSSender",
            l.custom_sms_sender().map(|c| c.lambda_arn()),
        ),
        (
            "CustomEmailSender",
            l.custom_email_sender().map(|c| c.lambda_arn()),
        ),
    ];
    pairs
        .into_iter()
        .filter_map(|(t, arn)| Some((t.to_string(), arn?.to_string())))
        .collect()
}

/// `l` with `trigger` calling `arn` (or cleared). PreTokenGeneration is mirrored in its versioned
/// form, which Cognito keeps beside it.
fn with_trigger(
    mut l: LambdaConfigType,
    trigger: &str,
    arn: Option<String>,
) -> Result<LambdaConfigType, AwsError> {
    match trigger {
        "PreSignUp" => l.pre_sign_up = arn,
        "CustomMessage" => l.custom_message = arn,
        "PostConfirmation" => l.post_confirmation = arn,
        "PreAuthentication" => l.pre_authentication = arn,
        "PostAuthentication" => l.post_authentication = arn,
        "DefineAuthChallenge" => l.define_auth_challenge = arn,
        "CreateAuthChallenge" => l.create_auth_challenge = arn,
        "VerifyAuthChallengeResponse" => l.verify_auth_challenge_response = arn,
        "UserMigration" => l.user_migration = arn,
        "PreTokenGeneration" => {
            l.pre_token_generation_config = arn
                .as_ref()
                .map(|a| {
                    PreTokenGenerationVersionConfigType::builder()
                        .lambda_arn(a)
                        .lambda_version(PreTokenGenerationLambdaVersionType::V10)
                        .build()
                })
                .transpose()
                .map_err(build_err)?;
            l.pre_token_generation = arn;
        }
        "CustomSMSSender" => {
            l.custom_sms_sender = arn
                .map(|a| {
                    CustomSmsLambdaVersionConfigType::builder()
                        .lambda_arn(a)
                        .lambda_version(CustomSmsSenderLambdaVersionType::V10)
                        .build()
                })
                .transpose()
                .map_err(build_err)?;
        }
        "CustomEmailSender" => {
            l.custom_email_sender = arn
                .map(|a| {
                    CustomEmailLambdaVersionConfigType::builder()
                        .lambda_arn(a)
                        .lambda_version(CustomEmailSenderLambdaVersionType::V10)
                        .build()
                })
                .transpose()
                .map_err(build_err)?;
        }
        other => {
            return Err(AwsError::Other(format!(
                "`{other}` is not a Cognito user pool trigger"
            )));
        }
    }
    Ok(l)
}

fn build_err(e: aws_sdk_cognitoidentityprovider::error::BuildError) -> AwsError {
    AwsError::Other(format!("a user pool trigger could not be written: {e}"))
}

/// The desired LambdaConfig of a pool, starting from `current`: the config's triggers on the
/// live aliases, `clear` removed, the custom senders' key set when the config gives one.
fn lambda_config(
    cx: &Applying<'_>,
    pool: &str,
    current: LambdaConfigType,
    set: &BTreeMap<String, String>,
    clear: &[String],
) -> Result<LambdaConfigType, AwsError> {
    let mut l = current;
    for t in clear {
        l = with_trigger(l, t, None)?;
    }
    for (t, fk) in set {
        l = with_trigger(l, t, Some(cx.alias_arn(fk)))?;
    }
    if let Some(key) =
        cx.d.user_pools
            .iter()
            .find(|p| p.name == pool)
            .and_then(|p| p.kms_key.clone())
    {
        l.kms_key_id = Some(key);
    }
    Ok(l)
}

pub async fn apply(cx: &Applying<'_>, step: &UserPoolStep) -> Result<(), AwsError> {
    let (aws, d) = (cx.aws, cx.d);
    match step {
        UserPoolStep::CreateUserPool { pool } => {
            let spec = d.user_pools.iter().find(|p| &p.name == pool);
            let set = spec.map(|s| s.triggers.clone()).unwrap_or_default();
            let l = lambda_config(cx, pool, LambdaConfigType::builder().build(), &set, &[])?;
            let call = aws
                .cognito
                .create_user_pool()
                .pool_name(pool)
                .lambda_config(l)
                .set_user_pool_tags(Some(d.tags.clone().into_iter().collect()));
            let made = super::once::create_once(
                "CreateUserPool",
                &format!("Cognito user pool {pool}"),
                || async {
                    super::once::unretried!(call, aws_sdk_cognitoidentityprovider::Config)
                        .await
                        .map(|m| m.user_pool.and_then(|p| p.arn))
                },
                || async {
                    // A pool of this name with our tags: what the lost create made.
                    let found = observe(aws, d, &BTreeMap::new()).await?;
                    Ok(found
                        .into_iter()
                        .find(|p| &p.name == pool && p.owned)
                        .map(|p| Some(p.arn)))
                },
            )
            .await?;
            if let Some(arn) = made {
                cx.known().user_pools.insert(pool.clone(), arn);
            }
        }
        UserPoolStep::SetUserPoolTriggers {
            pool,
            pool_id,
            set,
            clear,
        } => {
            let res = format!("Cognito user pool {pool} ({pool_id})");
            // Read right before writing: the narrowest window for a change made meanwhile.
            let read = aws
                .cognito
                .describe_user_pool()
                .user_pool_id(pool_id)
                .send()
                .await
                .map_err(call_err("DescribeUserPool", &res))?;
            let Some(current) = read.user_pool() else {
                return Err(AwsError::Other(format!(
                    "{res}: DescribeUserPool returned no pool"
                )));
            };
            let l = lambda_config(
                cx,
                pool,
                current
                    .lambda_config()
                    .cloned()
                    .unwrap_or_else(|| LambdaConfigType::builder().build()),
                set,
                clear,
            )?;
            update_whole(aws, pool_id, current, l)
                .await
                .map_err(call_err("UpdateUserPool", &res))?;
            cx.known()
                .user_pools
                .insert(pool.clone(), current.arn().unwrap_or_default().to_string());
        }
        UserPoolStep::GrantUserPool {
            pool,
            function_name,
            ..
        } => {
            let arn = {
                let known = cx.known().user_pools.get(pool).cloned();
                known.or_else(|| {
                    cx.o.user_pools
                        .iter()
                        .find(|u| {
                            &u.name == pool
                                && (u.owned
                                    || d.user_pools.iter().any(|s| &s.name == pool && s.existing))
                        })
                        .map(|u| u.arn.clone())
                })
            };
            let Some(arn) = arn else {
                return Err(AwsError::Other(format!(
                    "Cognito user pool {pool}: its ARN is unknown, so {function_name} cannot be granted to it; run the deploy again"
                )));
            };
            // One naming another pool of this name (made again since) is replaced by `grant`.
            let sid = statement_id(pool);
            super::grant(
                aws,
                &super::Grant {
                    function_name,
                    alias: &d.live,
                    sid: &sid,
                    principal: "cognito-idp.amazonaws.com",
                    source_arn: Some(arn),
                    source_account: None,
                    event_source_token: None,
                },
            )
            .await?;
        }
        UserPoolStep::DeleteUserPool { pool, pool_id } => {
            let r = aws
                .cognito
                .delete_user_pool()
                .user_pool_id(pool_id)
                .send()
                .await;
            super::tolerate(
                r,
                NOT_FOUND,
                "DeleteUserPool",
                &format!("Cognito user pool {pool} ({pool_id})"),
            )?;
        }
        UserPoolStep::RevokeUserPool {
            function_name,
            statement,
        } => remove_statement(aws, function_name, &d.live, statement).await?,
    }
    Ok(())
}

/// UpdateUserPool with every updatable field of `p` as read, and `lambda` as its triggers.
async fn update_whole(
    aws: &Aws,
    id: &str,
    p: &UserPoolType,
    lambda: LambdaConfigType,
) -> Result<
    aws_sdk_cognitoidentityprovider::operation::update_user_pool::UpdateUserPoolOutput,
    aws_sdk_cognitoidentityprovider::error::SdkError<
        aws_sdk_cognitoidentityprovider::operation::update_user_pool::UpdateUserPoolError,
    >,
> {
    // Cognito refuses the deprecated UnusedAccountValidityDays beside the password policy's
    // TemporaryPasswordValidityDays, which replaced it and which it reports both of.
    let temporary_days = p
        .policies()
        .and_then(|x| x.password_policy())
        .is_some_and(|x| x.temporary_password_validity_days() != 0);
    let admin = p.admin_create_user_config().cloned().map(|mut a| {
        if temporary_days {
            // Zero is not sent.
            a.unused_account_validity_days = 0;
        }
        a
    });
    aws.cognito
        .update_user_pool()
        .user_pool_id(id)
        .set_policies(p.policies().cloned())
        .set_deletion_protection(p.deletion_protection().cloned())
        .lambda_config(lambda)
        .set_auto_verified_attributes(
            (!p.auto_verified_attributes().is_empty())
                .then(|| p.auto_verified_attributes().to_vec()),
        )
        .set_sms_verification_message(p.sms_verification_message().map(str::to_string))
        .set_email_verification_message(p.email_verification_message().map(str::to_string))
        .set_email_verification_subject(p.email_verification_subject().map(str::to_string))
        .set_verification_message_template(p.verification_message_template().cloned())
        .set_sms_authentication_message(p.sms_authentication_message().map(str::to_string))
        .set_user_attribute_update_settings(p.user_attribute_update_settings().cloned())
        .set_mfa_configuration(p.mfa_configuration().cloned())
        .set_device_configuration(p.device_configuration().cloned())
        .set_email_configuration(p.email_configuration().cloned())
        .set_sms_configuration(p.sms_configuration().cloned())
        .set_user_pool_tags(p.user_pool_tags().cloned())
        .set_admin_create_user_config(admin)
        .set_user_pool_add_ons(p.user_pool_add_ons().cloned())
        .set_account_recovery_setting(p.account_recovery_setting().cloned())
        .set_pool_name(p.name().map(str::to_string))
        .set_user_pool_tier(p.user_pool_tier().cloned())
        .send()
        .await
}
