//! What the steps of one run share: the connection, the desired and observed states, and what
//! earlier steps learnt (ids and ARNs of what they created) for later steps of other kinds.
//! Plain data, so that every kind's module may use it without using each other.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use super::{Aws, account_of};
use crate::plan::{Desired, Observed};

/// The context every `apply` gets.
pub struct Applying<'a> {
    pub aws: &'a Aws,
    pub d: &'a Desired,
    pub o: &'a Observed,
    /// Where the artifacts named by the manifest are.
    pub dir: &'a Path,
    known: Mutex<Known>,
    /// Whether Lambda may already use the role: false after this run created it. The first
    /// function created waits out IAM's propagation holding it; the others wait on it instead of
    /// each re-sending its code until IAM catches up.
    pub role_ready: tokio::sync::Mutex<bool>,
}

/// Ids and ARNs: observed at the start, completed by the steps that create things.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The service's role (or the existing one the config names).
    pub role_arn: Option<String>,
    /// Functions' own roles: name → ARN.
    pub role_arns: BTreeMap<String, String>,
    /// Set when the plan prepared a bucket for artifacts over the inline limit.
    pub bucket: Option<String>,
    pub http: HttpIds,
    pub rest: RestIds,
    /// The WebSocket API's: the same kinds of ids as the HTTP API's.
    pub websocket: HttpIds,
    /// Cognito user pools: name → ARN, of those made or written this run.
    pub user_pools: BTreeMap<String, String>,
    /// ALB target groups: name → ARN, of those made this run.
    pub target_groups: BTreeMap<String, String>,
    /// Function key → the version this run published and moved the alias to.
    pub versions: BTreeMap<String, String>,
    /// Function key → the function URL of a staged alias.
    pub urls: BTreeMap<String, String>,
    /// Layer key → the version ARN its functions use.
    pub layers: BTreeMap<String, String>,
    /// Layer name → the version this run published or adopted.
    pub layer_versions: BTreeMap<String, i64>,
    /// The custom domain's target, once made (or as observed).
    pub domain_target: Option<crate::plan::domain::Target>,
    /// Layer name → its record as this run last wrote it.
    pub layer_records: BTreeMap<String, crate::plan::layer::LayerRecord>,
}

#[derive(Debug, Clone, Default)]
pub struct HttpIds {
    pub id: Option<String>,
    pub endpoint: Option<String>,
    /// Function key → integration id.
    pub integrations: HashMap<String, String>,
    /// Route key → route id.
    pub routes: HashMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct RestIds {
    pub id: Option<String>,
    /// Resource path → resource id.
    pub resources: BTreeMap<String, String>,
}

impl<'a> Applying<'a> {
    pub fn new(
        aws: &'a Aws,
        d: &'a Desired,
        o: &'a Observed,
        dir: &'a Path,
        known: Known,
    ) -> Applying<'a> {
        Applying {
            aws,
            d,
            o,
            dir,
            known: Mutex::new(known),
            role_ready: tokio::sync::Mutex::new(true),
        }
    }

    /// What is known so far. Held only between awaits, never across one.
    pub fn known(&self) -> MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The account: the role's (same account, and known without a call).
    pub fn account(&self) -> String {
        self.known()
            .role_arn
            .as_deref()
            .and_then(account_of)
            .unwrap_or("000000000000")
            .to_string()
    }

    pub fn function_arn(&self, name: &str) -> String {
        let (partition, _) = crate::plan::partition(&self.aws.region);
        format!(
            "arn:{partition}:lambda:{}:{}:function:{name}",
            self.aws.region,
            self.account()
        )
    }

    /// The ARN of a function's live alias, which every integration and grant names.
    pub fn alias_arn(&self, key: &str) -> String {
        let name = self.d.function(key).map_or(key, |f| f.name.as_str());
        self.d.qualified(&self.function_arn(name))
    }
}
