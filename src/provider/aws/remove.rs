//! `sls remove`: deletes what this service and stage own, in reverse order of creation — the
//! APIs, the functions, the deployment bucket, then the role. Anything with our names but without our tags is
//! left alone and reported.

use serde::Serialize;

use super::observe::policy_name;
use super::{Aws, AwsError, bucket, call_err, is_code, routes};
use crate::plan::{Desired, Observed};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Removed {
    pub removed: Vec<String>,
    /// Resources with our names that lack our tags: never touched.
    pub left_alone: Vec<String>,
}

pub async fn remove(aws: &Aws, d: &Desired, o: &Observed) -> Result<Removed, AwsError> {
    let mut r = Removed::default();
    let api_name = crate::plan::desired::api_name(&d.service, &d.stage);
    if let Some(api) = &o.http_api {
        let name = d
            .http_api
            .as_ref()
            .map_or(api_name.as_str(), |a| a.name.as_str());
        let res = format!("HTTP API {name} ({})", api.id);
        if api.owned {
            routes::delete_http_api(aws, &api.id, name).await?;
            r.removed.push(res);
        } else {
            r.left_alone.push(res);
        }
    }
    if let Some(api) = &o.rest_api {
        let name = d
            .rest_api
            .as_ref()
            .map_or(api_name.as_str(), |a| a.name.as_str());
        let res = format!("REST API {name} ({})", api.id);
        if api.owned {
            routes::delete_rest_api(aws, &api.id, name).await?;
            r.removed.push(res);
        } else {
            r.left_alone.push(res);
        }
    }
    for (name, f) in &o.functions {
        let res = format!("Lambda function {name}");
        if !f.owned {
            r.left_alone.push(res);
            continue;
        }
        super::execute::delete_function(aws, name, None).await?;
        r.removed.push(res);
    }
    let role_arn = o.role.as_ref().map(|r| r.arn.as_str());
    match bucket::remove(aws, d, role_arn).await? {
        Some((b, true)) => r.removed.push(format!("S3 bucket {b}")),
        Some((b, false)) => r.left_alone.push(format!("S3 bucket {b}")),
        None => {}
    }
    if let Some(role) = &o.role {
        let name = &d.role.name;
        let res = format!("IAM role {name}");
        if !role.owned {
            r.left_alone.push(res);
            return Ok(r);
        }
        for p in &role.managed_policies {
            aws.iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(p)
                .send()
                .await
                .map_err(call_err("DetachRolePolicy", &res))?;
        }
        if role.policy.is_some() {
            match aws
                .iam
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy_name(d))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, &["NoSuchEntity"]) => {}
                Err(e) => return Err(call_err("DeleteRolePolicy", &res)(e)),
            }
        }
        match aws.iam.delete_role().role_name(name).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["NoSuchEntity"]) => {}
            Err(e) => return Err(call_err("DeleteRole", &res)(e)),
        }
        r.removed.push(res);
    }
    Ok(r)
}
