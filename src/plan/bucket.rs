//! The deployment bucket: artifacts too large for Lambda's API call go through S3, in a tagged
//! bucket sls keeps per service and stage, or in the user's `provider.deploymentBucket` (used,
//! never created or deleted). AWS side: `provider::aws::bucket`.

use std::fmt;

use serde::Serialize;

use super::{Phase, Plan};

/// Wanted by every deploy (so a deploy never deletes it); `None` only for a removal.
#[derive(Debug, Clone, Serialize)]
pub struct BucketSpec {
    /// `provider.deploymentBucket.name`: the user's bucket, used and never created or deleted.
    pub user: Option<String>,
}

/// What AWS holds: our bucket (found by name), and whether its tags say it is ours.
#[derive(Debug, Clone)]
pub struct ObservedBucket {
    pub bucket: String,
    pub owned: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum BucketStep {
    PrepareDeploymentBucket {
        /// The user's bucket, or `None` for the one sls keeps for this service and stage.
        bucket: Option<String>,
    },
    /// Empties our bucket, then deletes it.
    DeleteDeploymentBucket { bucket: String },
}

impl super::KindStep for BucketStep {
    fn phase(&self) -> Phase {
        match self {
            BucketStep::PrepareDeploymentBucket { .. } => Phase::Bucket,
            BucketStep::DeleteDeploymentBucket { .. } => Phase::DeleteBucket,
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            BucketStep::DeleteDeploymentBucket { bucket } => Some(format!("S3 bucket {bucket}")),
            BucketStep::PrepareDeploymentBucket { .. } => None,
        }
    }

    fn lane(&self) -> String {
        "bucket".into()
    }
}

impl fmt::Display for BucketStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BucketStep::PrepareDeploymentBucket { bucket: Some(b) } => write!(
                f,
                "~ deployment bucket {b}: artifacts over 50 MB go through it"
            ),
            BucketStep::PrepareDeploymentBucket { bucket: None } => write!(
                f,
                "+ deployment bucket (artifacts over 50 MB go through S3)"
            ),
            BucketStep::DeleteDeploymentBucket { bucket } => {
                write!(f, "- deployment bucket {bucket} and its artifacts")
            }
        }
    }
}

/// `uploads`: whether some code step of this plan goes through S3. Without a spec (a
/// removal), our bucket is emptied and deleted; the user's is never observed, so never touched.
pub fn plan(
    spec: Option<&BucketSpec>,
    uploads: bool,
    observed: Option<&ObservedBucket>,
    p: &mut Plan,
) {
    if let Some(spec) = spec {
        if uploads {
            p.push(BucketStep::PrepareDeploymentBucket {
                bucket: spec.user.clone(),
            });
        }
        return;
    }
    match observed {
        Some(b) if b.owned => p.push(BucketStep::DeleteDeploymentBucket {
            bucket: b.bucket.clone(),
        }),
        Some(b) => p.leave_alone(format!("S3 bucket {}", b.bucket)),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(spec: Option<&BucketSpec>, uploads: bool, o: Option<&ObservedBucket>) -> Plan {
        let mut p = Plan::default();
        plan(spec, uploads, o, &mut p);
        p
    }

    #[test]
    fn prepared_only_for_large_uploads_and_deleted_only_by_a_removal_of_ours() {
        let ours = ObservedBucket {
            bucket: "svc-dev-sls-1-us-east-1".into(),
            owned: true,
        };
        let spec = BucketSpec { user: None };
        assert!(run(Some(&spec), false, Some(&ours)).is_empty());
        assert_eq!(run(Some(&spec), true, Some(&ours)).steps.len(), 1);
        assert_eq!(
            run(None, false, Some(&ours)).steps[0].to_string(),
            "- deployment bucket svc-dev-sls-1-us-east-1 and its artifacts"
        );
        let theirs = ObservedBucket {
            owned: false,
            ..ours
        };
        let p = run(None, false, Some(&theirs));
        assert!(p.is_empty() && p.left_alone == ["S3 bucket svc-dev-sls-1-us-east-1"]);
    }
}
