//! What sls writes down about resources AWS cannot tag or cannot find cheaply (layer versions,
//! the custom domain it made): SSM parameters under `/sls/{service}/{stage}/`, beside the lease,
//! tagged with the service and stage. One recursive read gives a run all of them.

use std::collections::BTreeMap;

use aws_sdk_ssm::types::{ParameterType, Tag};

use super::{Aws, AwsError, call_err, is_code};
use crate::plan::Desired;
use crate::plan::naming::{TAG_SERVICE, TAG_STAGE};

/// Parameter name → value, of this service and stage.
pub type Records = BTreeMap<String, String>;

/// Every record of the service and stage (the lease among them).
pub async fn read(aws: &Aws, d: &Desired) -> Result<Records, AwsError> {
    let path = crate::plan::record_root(&d.service, &d.stage);
    let params = super::all_pages(|token| {
        let call = aws
            .ssm
            .get_parameters_by_path()
            .path(&path)
            .recursive(true)
            .set_next_token(token);
        let path = path.clone();
        async move {
            let page = call
                .send()
                .await
                .map_err(call_err("GetParametersByPath", &path))?;
            let next = page.next_token().map(str::to_string);
            Ok((page.parameters.unwrap_or_default(), next))
        }
    })
    .await?;
    Ok(params
        .into_iter()
        .filter_map(|p| Some((p.name?, p.value?)))
        .collect())
}

/// The records under `prefix`, by the rest of their names.
pub fn under<'a>(records: &'a Records, prefix: &str) -> Vec<(&'a str, &'a str)> {
    records
        .iter()
        .filter_map(|(name, value)| Some((name.strip_prefix(prefix)?, value.as_str())))
        .collect()
}

/// Writes a record: made with the service's tags the first time (`exists` false), overwritten
/// after. One a stopped run made is overwritten too: its path says whose it is.
pub async fn write(
    aws: &Aws,
    d: &Desired,
    name: &str,
    value: &str,
    description: &str,
    exists: bool,
) -> Result<(), AwsError> {
    let put = || {
        aws.ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::String)
    };
    if !exists {
        let tag = |k: &str, v: &str| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError::Other(e.to_string()))
        };
        let first = put()
            .description(description)
            .overwrite(false)
            .tags(tag(TAG_SERVICE, &d.service)?)
            .tags(tag(TAG_STAGE, &d.stage)?)
            .send()
            .await;
        match first {
            Ok(_) => return Ok(()),
            Err(e) if is_code(&e, &["ParameterAlreadyExists"]) => {}
            Err(e) => return Err(call_err("PutParameter", name)(e)),
        }
    }
    put()
        .overwrite(true)
        .send()
        .await
        .map_err(call_err("PutParameter", name))?;
    Ok(())
}

/// Deletes a record (gone already is done).
pub async fn forget(aws: &Aws, name: &str) -> Result<(), AwsError> {
    let r = aws.ssm.delete_parameter().name(name).send().await;
    super::tolerate(r, &["ParameterNotFound"], "DeleteParameter", name)
}
