//! The names and tags sls gives what it deploys, as Serverless v3 names them: shared by every
//! kind's desired state, so that none of them needs another kind for a name.

pub const TAG_SERVICE: &str = "sls:service";

pub const TAG_STAGE: &str = "sls:stage";

pub const TAG_MANAGED_BY: &str = "sls:managed-by";

/// On a function deployed unversioned (`versionFunctions: false`) at least once, value `none`,
/// kept when versioning is back on (tags are only added): such a function's versioned deploys
/// also look for triggers left on the function itself. Written before any trigger moves, so an
/// interrupted switch is finished by the next run.
pub const TAG_UNVERSIONED: &str = "sls:versions";

pub const MANAGED_BY: &str = "sls";

/// A list in the one order (sorted, without repeats) in which desired and observed lists are
/// compared.
pub fn sorted(v: Option<Vec<String>>) -> Vec<String> {
    let mut v = v.unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

/// The managed policy Lambda needs to attach a function to a VPC (Serverless v3 adds it), in
/// the region's partition.
pub fn vpc_access_policy(region: &str) -> String {
    let (partition, _) = super::partition(region);
    format!("arn:{partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
}

/// A role ARN's `/path/name` (`arn:aws:iam::1:role/team/r` → `/team/r`), as a function's
/// configuration is compared.
pub fn role_ref(arn: &str) -> String {
    arn.split_once(":role")
        .map_or_else(|| arn.to_string(), |(_, r)| r.to_string())
}

/// Serverless v3's default function name: `{service}-{stage}-{function}`, shortened
/// deterministically when over Lambda's 64 characters.
pub fn function_name(service: &str, stage: &str, key: &str) -> String {
    super::fit(&format!("{service}-{stage}-{key}"), 64)
}

/// Serverless v3's role name: `{service}-{stage}-{region}-lambdaRole` (IAM allows 64).
pub fn role_name(service: &str, stage: &str, region: &str) -> String {
    super::fit(&format!("{service}-{stage}-{region}-lambdaRole"), 64)
}

/// The name serverless-iam-roles-per-function gives a function's own role:
/// `{service}-{stage}-{function}-{region}-lambdaRole`, without `-lambdaRole` when that is over
/// IAM's 64 characters (validation refuses a name still too long).
pub fn function_role_name(service: &str, stage: &str, key: &str, region: &str) -> String {
    let full = format!("{service}-{stage}-{key}-{region}-lambdaRole");
    if full.len() <= 64 {
        return full;
    }
    super::fit(&format!("{service}-{stage}-{key}-{region}"), 64)
}

/// Serverless v3's API name: `{stage}-{service}`.
pub fn api_name(service: &str, stage: &str) -> String {
    format!("{stage}-{service}")
}

/// The S3 bucket sls keeps for a service and stage's large artifacts: `{service}-{stage}-sls-
/// {account}-{region}`, in the characters S3 allows (bucket names are global, hence the
/// account and region).
pub fn bucket_name(service: &str, stage: &str, account: &str, region: &str) -> String {
    let raw: String = format!("{service}-{stage}-sls-{account}-{region}")
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    super::fit(&raw, 63)
}
