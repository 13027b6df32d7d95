//! The AWS side of `${ssm:…}`, `${cf:…}`, `${s3:…}` and `${aws:accountId}`: every value the
//! resolver wants, read at once with the command's credentials, each in the region it names.
//! What the answers mean (lists, JSON, fallbacks) is the resolver's business.

use std::collections::HashMap;

use aws_config::BehaviorVersion;
use aws_sdk_ssm::types::ParameterType;

use super::{AwsError, Boxed, bounded, call_err, is_code};
use crate::config::vars::{Answer, Fetch, ParameterKind, Remote};

/// Reads variables' values with the credentials of `--aws-profile` (or the default chain).
pub struct AwsValues {
    pub profile: Option<String>,
}

/// Values read side by side: SSM's GetParameter allows 40 calls a second by default.
const AT_ONCE: usize = 16;

impl Fetch for AwsValues {
    fn fetch(&self, keys: &[Remote], region: &str) -> Vec<Result<Answer, String>> {
        // Its own short-lived runtime: the config is read before the command's runtime exists,
        // and only configs that use these variables get here.
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return keys.iter().map(|_| Err(e.to_string())).collect(),
        };
        rt.block_on(fetch_all(keys, region, self.profile.as_deref()))
    }
}

async fn fetch_all(
    keys: &[Remote],
    region: &str,
    profile: Option<&str>,
) -> Vec<Result<Answer, String>> {
    let mut configs: HashMap<String, aws_config::SdkConfig> = HashMap::new();
    for key in keys {
        let r = key_region(key).unwrap_or(region).to_string();
        if let std::collections::hash_map::Entry::Vacant(slot) = configs.entry(r.clone()) {
            let mut loader =
                aws_config::defaults(BehaviorVersion::latest()).region(aws_config::Region::new(r));
            if let Some(p) = profile {
                loader = loader.profile_name(p);
            }
            slot.insert(loader.load().await);
        }
    }
    let futures: Vec<Boxed<'_, Answer>> = keys
        .iter()
        .map(|key| {
            let cfg = &configs[key_region(key).unwrap_or(region)];
            Box::pin(read(cfg, key)) as Boxed<'_, Answer>
        })
        .collect();
    bounded(futures, AT_ONCE)
        .await
        .into_iter()
        .map(|r| r.map_err(|e| e.to_string()))
        .collect()
}

fn key_region(key: &Remote) -> Option<&str> {
    match key {
        Remote::Parameter { region, .. } | Remote::Output { region, .. } => region.as_deref(),
        Remote::Object { .. } | Remote::AccountId => None,
    }
}

async fn read(cfg: &aws_config::SdkConfig, key: &Remote) -> Result<Answer, AwsError> {
    match key {
        Remote::Parameter { name, decrypt, .. } => {
            let ssm = aws_sdk_ssm::Client::new(cfg);
            let out = match ssm
                .get_parameter()
                .name(name)
                .with_decryption(*decrypt)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if is_code(&e, &["ParameterNotFound"]) => return Ok(Answer::Absent),
                Err(e) => {
                    return Err(call_err("ssm:GetParameter", &format!("parameter {name}"))(
                        e,
                    ));
                }
            };
            let Some(p) = out.parameter else {
                return Ok(Answer::Absent);
            };
            let kind = match p.r#type {
                Some(ParameterType::StringList) => ParameterKind::StringList,
                Some(ParameterType::SecureString) => ParameterKind::SecureString,
                _ => ParameterKind::String,
            };
            Ok(Answer::Parameter {
                kind,
                value: p.value.unwrap_or_default(),
            })
        }
        Remote::Output { stack, output, .. } => {
            let cfn = aws_sdk_cloudformation::Client::new(cfg);
            let out = match cfn.describe_stacks().stack_name(stack).send().await {
                Ok(out) => out,
                Err(e)
                    if is_code(&e, &["ValidationError"])
                        && e.as_service_error()
                            .and_then(|s| s.meta().message())
                            .is_some_and(|m| m.contains("does not exist")) =>
                {
                    return Ok(Answer::Absent);
                }
                Err(e) => {
                    return Err(call_err(
                        "cloudformation:DescribeStacks",
                        &format!("stack {stack}"),
                    )(e));
                }
            };
            let value = out
                .stacks()
                .first()
                .and_then(|s| s.outputs().iter().find(|o| o.output_key() == Some(output)))
                .and_then(|o| o.output_value().map(str::to_string));
            Ok(value.map_or(Answer::Absent, Answer::Text))
        }
        Remote::Object { bucket, key } => {
            let s3 = aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(cfg)
                    .force_path_style(cfg.endpoint_url().is_some())
                    .build(),
            );
            let out = match s3.get_object().bucket(bucket).key(key).send().await {
                Ok(out) => out,
                Err(e) if is_code(&e, &["NoSuchKey"]) => return Ok(Answer::Absent),
                Err(e) => return Err(call_err("s3:GetObject", &format!("s3://{bucket}/{key}"))(e)),
            };
            let bytes = out.body.collect().await.map_err(|e| AwsError::Call {
                operation: "s3:GetObject".into(),
                resource: format!("s3://{bucket}/{key}"),
                code: "ReadError".into(),
                message: e.to_string(),
            })?;
            Ok(Answer::Text(
                String::from_utf8_lossy(&bytes.into_bytes()).into_owned(),
            ))
        }
        Remote::AccountId => {
            let sts = aws_sdk_sts::Client::new(cfg);
            let out = sts
                .get_caller_identity()
                .send()
                .await
                .map_err(call_err("sts:GetCallerIdentity", "your credentials"))?;
            Ok(Answer::Text(out.account.unwrap_or_default()))
        }
    }
}
