//! Artifacts over Lambda's inline limit go through S3: a bucket per service and stage, tagged
//! as ours (or the user's `provider.deploymentBucket`, used but never created or deleted).
//! Objects are keyed by their sha256, so a re-run uploads nothing twice. Every call names the
//! account that must own the bucket (`ExpectedBucketOwner`): a bucket of that name in another
//! account is refused, never written to. Planning: `plan::bucket`.

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration, Tag,
    Tagging,
};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::context::Applying;
use super::{Aws, AwsError, account_of, call_err, is_code};
use crate::plan::naming::{TAG_SERVICE, TAG_STAGE, bucket_name};
use crate::plan::{BucketStep, Desired, ObservedBucket};

const MISSING: &[&str] = &["NotFound", "NoSuchBucket", "NoSuchKey", "404"];

/// HEAD answers carry no body, so "not found" may be only the status code.
pub(super) fn missing<E>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>,
) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    is_code(e, MISSING) || e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
}

fn user_bucket(d: &Desired) -> Option<&String> {
    d.bucket.as_ref().and_then(|b| b.user.as_ref())
}

/// The bucket's name for this deploy; the account comes from an ARN of the account (the role's).
pub fn name(d: &Desired, arn: Option<&str>) -> Option<String> {
    if let Some(b) = user_bucket(d) {
        return Some(b.clone());
    }
    let account = arn.and_then(account_of)?;
    Some(bucket_name(&d.service, &d.stage, account, &d.region))
}

/// Our bucket, when it exists; the user's is never observed (never ours to delete).
pub async fn observe(
    aws: &Aws,
    d: &Desired,
    arn: Option<&str>,
) -> Result<Option<ObservedBucket>, AwsError> {
    if user_bucket(d).is_some() {
        return Ok(None);
    }
    let Some(bucket) = name(d, arn) else {
        return Ok(None);
    };
    let owner = arn.and_then(account_of).unwrap_or_default();
    match aws
        .s3
        .head_bucket()
        .bucket(&bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if missing(&e) => return Ok(None),
        Err(e) => return Err(call_err("HeadBucket", &format!("S3 bucket {bucket}"))(e)),
    }
    let owned = owned(aws, d, &bucket, owner).await?;
    Ok(Some(ObservedBucket { bucket, owned }))
}

pub async fn apply(cx: &Applying<'_>, step: &BucketStep) -> Result<(), AwsError> {
    match step {
        BucketStep::PrepareDeploymentBucket { .. } => {
            let arn = cx.known().role_arn.clone();
            let bucket = name(cx.d, arn.as_deref()).ok_or_else(|| {
                AwsError::Other("the deployment bucket's name needs the role's account".into())
            })?;
            prepare(cx.aws, cx.d, &bucket, &cx.account()).await?;
            cx.known().bucket = Some(bucket);
            Ok(())
        }
        BucketStep::DeleteDeploymentBucket { bucket } => {
            delete(cx.aws, bucket, &cx.account()).await
        }
    }
}

/// Creates our bucket when missing (private, tagged); refuses one with our name that is not
/// ours. The user's bucket is only checked to exist.
async fn prepare(aws: &Aws, d: &Desired, bucket: &str, owner: &str) -> Result<(), AwsError> {
    let res = format!("S3 bucket {bucket}");
    match aws
        .s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
    {
        Ok(_) if user_bucket(d).is_some() => return Ok(()),
        Ok(_) => {
            return if owned(aws, d, bucket, owner).await? {
                Ok(())
            } else {
                Err(AwsError::Foreign {
                    resource: res,
                    fix: "remove it or set provider.deploymentBucket.name",
                })
            };
        }
        Err(e) if user_bucket(d).is_some() => return Err(call_err("HeadBucket", &res)(e)),
        Err(e) if missing(&e) => {}
        Err(e) => return Err(call_err("HeadBucket", &res)(e)),
    }
    create_private(aws, &d.region, bucket, owner, &d.tags).await
}

/// Creates a bucket (a re-run finds its own), tags it and blocks public access.
pub(super) async fn create_private(
    aws: &Aws,
    region: &str,
    bucket: &str,
    owner: &str,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let res = format!("S3 bucket {bucket}");
    let mut create = aws.s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that refuses its own name as a location constraint.
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if is_code(&e, &["BucketAlreadyOwnedByYou"]) => {}
        Err(e) => return Err(call_err("CreateBucket", &res)(e)),
    }
    let tags: Vec<Tag> = tags
        .iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    let tagging = Tagging::builder()
        .set_tag_set(Some(tags))
        .build()
        .map_err(|e| AwsError::Other(e.to_string()))?;
    aws.s3
        .put_bucket_tagging()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .tagging(tagging)
        .send()
        .await
        .map_err(call_err("PutBucketTagging", &res))?;
    aws.s3
        .put_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(call_err("PutPublicAccessBlock", &res))?;
    Ok(())
}

/// Whether the bucket carries this service's and stage's tags.
pub(super) async fn owned(
    aws: &Aws,
    d: &Desired,
    bucket: &str,
    owner: &str,
) -> Result<bool, AwsError> {
    match aws
        .s3
        .get_bucket_tagging()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
    {
        Ok(t) => {
            let has = |k: &str, v: &str| t.tag_set().iter().any(|t| t.key() == k && t.value() == v);
            Ok(has(TAG_SERVICE, &d.service) && has(TAG_STAGE, &d.stage))
        }
        Err(e) if is_code(&e, &["NoSuchTagSet"]) => Ok(false),
        Err(e) => Err(call_err("GetBucketTagging", &format!("S3 bucket {bucket}"))(e)),
    }
}

/// Uploads a function's zip unless an object with its digest is there already; returns the key.
pub async fn upload(
    aws: &Aws,
    d: &Desired,
    bucket: &str,
    owner: &str,
    dir: &Path,
    zip: &str,
    sha256: &str,
) -> Result<String, AwsError> {
    // base64 may hold `/` and `+`: make the digest a safe key segment.
    let digest: String = sha256
        .chars()
        .map(|c| match c {
            '/' => '_',
            '+' => '-',
            '=' => '.',
            c => c,
        })
        .collect();
    let file = Path::new(zip)
        .file_name()
        .map_or("artifact.zip".into(), |n| n.to_string_lossy().into_owned());
    let key = format!("serverless/{}/{}/{digest}/{file}", d.service, d.stage);
    let res = format!("s3://{bucket}/{key}");
    match aws
        .s3
        .head_object()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .key(&key)
        .send()
        .await
    {
        Ok(_) => return Ok(key),
        Err(e) if missing(&e) => {}
        Err(e) => return Err(call_err("HeadObject", &res)(e)),
    }
    let path = dir.join(zip);
    let body = ByteStream::from_path(&path)
        .await
        .map_err(|e| AwsError::Artifact {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
    aws.s3
        .put_object()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .key(&key)
        .body(body)
        .send()
        .await
        .map_err(call_err("PutObject", &res))?;
    Ok(key)
}

/// Empties and deletes our bucket; one already gone counts as deleted.
async fn delete(aws: &Aws, bucket: &str, owner: &str) -> Result<(), AwsError> {
    let res = format!("S3 bucket {bucket}");
    let mut token = None;
    loop {
        let page = match aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .set_continuation_token(token)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if missing(&e) => return Ok(()),
            Err(e) => return Err(call_err("ListObjectsV2", &res)(e)),
        };
        for o in page.contents() {
            if let Some(key) = o.key() {
                aws.s3
                    .delete_object()
                    .bucket(bucket)
                    .expected_bucket_owner(owner)
                    .key(key)
                    .send()
                    .await
                    .map_err(call_err("DeleteObject", &format!("s3://{bucket}/{key}")))?;
            }
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    match aws
        .s3
        .delete_bucket()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if missing(&e) => Ok(()),
        Err(e) => Err(call_err("DeleteBucket", &res)(e)),
    }
}
