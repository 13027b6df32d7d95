//! Lambda functions: code, configuration, tags, reserved concurrency, the version behind the
//! alias, the alias' function URL (for a staged alias) and version retention. AWS side:
//! `provider::aws::function`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::{Change, Conflict, Desired, NOT_OURS, Observed, Phase, Plan};

mod desired;
pub(super) use desired::desired;
pub use desired::tracing_mode;

/// The statement ids of the two grants that open an alias' function URL to everyone: since
/// October 2025 Lambda wants `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction` (the latter
/// only through the URL) both.
pub const URL_STATEMENT: &str = "sls-url";
pub const URL_INVOKE_STATEMENT: &str = "sls-url-invoke";

/// A function URL on an alias: `url:` on the live alias, or the public preview URL of a staged
/// alias (no auth, buffered, no CORS).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlSpec {
    /// `NONE` (public: the two grants above) or `AWS_IAM`.
    pub auth: String,
    pub cors: Option<super::http_api::CorsSpec>,
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: String,
}

impl UrlSpec {
    pub fn public() -> UrlSpec {
        UrlSpec {
            auth: "NONE".into(),
            cors: None,
            invoke_mode: "BUFFERED".into(),
        }
    }
}

/// An alias' function URL as AWS holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedUrl {
    pub url: String,
    pub spec: UrlSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionConfig {
    pub runtime: String,
    pub handler: String,
    pub memory_size: i32,
    pub timeout: i32,
    pub environment: BTreeMap<String, String>,
    pub architecture: String,
    pub ephemeral_storage: i32,
    pub description: String,
    /// Layer version ARNs, in order (`layers`, function over provider).
    pub layers: Vec<String>,
    /// `onError`: the dead-letter queue or topic of failed asynchronous events; empty for none.
    pub dead_letter_target: String,
    /// The execution role as `/path/name` (an ARN's part after `:role`): the service's role or
    /// the one `role:` names. Compared without the account, which the plan does not know.
    pub role: String,
    /// X-Ray: `Active` or `PassThrough` (Lambda's default).
    pub tracing: String,
    /// `kmsKeyArn`: the key that encrypts the environment; empty for Lambda's own.
    pub kms_key_arn: String,
    /// `vpc`: subnets and security groups (sorted; both empty for none).
    pub vpc_subnets: Vec<String>,
    pub vpc_security_groups: Vec<String>,
    pub vpc_ipv6: bool,
    /// `logs.logFormat`: `Text` (Lambda's default) or `JSON`.
    pub log_format: String,
    /// With JSON logs: the levels (Lambda's default for both is `INFO`); empty with text logs.
    pub application_log_level: String,
    pub system_log_level: String,
    /// `logs.logGroup`: a group of the user's; empty for Lambda's `/aws/lambda/{name}`.
    pub log_group: String,
}

/// Asynchronous invocation of the live alias (where every event source sends): how often Lambda
/// retries a failed event, how old an event may get, and where results go. A destination is an
/// ARN, or `function:NAME` for a function of this service (its ARN needs the account).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AsyncInvoke {
    pub maximum_retry_attempts: Option<i32>,
    pub maximum_event_age: Option<i32>,
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
}

impl AsyncInvoke {
    /// The fields that differ from `have`, as a plan shows them.
    fn changes(&self, have: &AsyncInvoke) -> Vec<Change> {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
        let num = |v: Option<i32>| v.map_or_else(|| "default".into(), |n| n.to_string());
        // A destination of this service is written `function:NAME`; AWS answers with its ARN.
        let same = |want: &Option<String>, got: &Option<String>| match (want, got) {
            (Some(w), Some(g)) if w.starts_with("function:") => g.ends_with(&format!(":{w}")),
            (w, g) => w == g,
        };
        let mut out = Vec::new();
        let mut cmp = |field: &str, changed: bool, from: String, to: String| {
            if changed {
                out.push(Change {
                    field: field.into(),
                    from,
                    to,
                });
            }
        };
        cmp(
            "maximumRetryAttempts",
            self.maximum_retry_attempts != have.maximum_retry_attempts,
            num(have.maximum_retry_attempts),
            num(self.maximum_retry_attempts),
        );
        cmp(
            "maximumEventAge",
            self.maximum_event_age != have.maximum_event_age,
            num(have.maximum_event_age),
            num(self.maximum_event_age),
        );
        cmp(
            "destinations.onSuccess",
            !same(&self.on_success, &have.on_success),
            show(&have.on_success),
            show(&self.on_success),
        );
        cmp(
            "destinations.onFailure",
            !same(&self.on_failure, &have.on_failure),
            show(&have.on_failure),
            show(&self.on_failure),
        );
        out
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionSpec {
    /// The key under `functions:`.
    pub key: String,
    /// The Lambda function name.
    pub name: String,
    pub config: FunctionConfig,
    pub tags: BTreeMap<String, String>,
    /// The zip to upload, relative to the service directory, and its `CodeSha256`.
    pub zip: String,
    pub sha256: String,
    pub size: u64,
    /// Whether the zip is too large for the API call and goes through the deployment bucket.
    pub via_s3: bool,
    /// `reservedConcurrency`: a setting of the function, not of its versions.
    pub reserved_concurrency: Option<i32>,
    /// `None` when the config sets none of the asynchronous invocation keys.
    pub async_invoke: Option<AsyncInvoke>,
    /// `url:`: a function URL on the live alias.
    pub url: Option<UrlSpec>,
    /// The ARN of an existing role to run as (`role:`, else `provider.iam.role`); `None`: the
    /// role sls keeps for the service.
    pub role_arn: Option<String>,
    /// The name of the function's own role (`iamRoleStatements`), which sls keeps.
    pub own_role: Option<String>,
    /// `provisionedConcurrency`: instances kept initialised on the live alias.
    pub provisioned_concurrency: Option<i32>,
}

/// What provisioned concurrency costs an hour at `rates` (see [`crate::ops::price`]).
pub fn provisioned_hourly_cost(
    instances: i32,
    memory_mb: i32,
    architecture: &str,
    rates: &crate::ops::price::Rates,
) -> f64 {
    f64::from(instances) * f64::from(memory_mb) / 1024.0
        * rates.provisioned(crate::ops::price::Arch::of(architecture))
        * 3600.0
}

#[derive(Debug, Clone)]
pub struct ObservedFunction {
    pub arn: String,
    pub owned: bool,
    pub sha256: String,
    pub config: FunctionConfig,
    pub role: String,
    pub tags: BTreeMap<String, String>,
    /// The version the alias points at, with its code and configuration.
    pub alias: Option<ObservedVersion>,
    pub reserved_concurrency: Option<i32>,
    /// The live alias' asynchronous invocation settings, when it has any (read on live deploys).
    pub async_invoke: Option<AsyncInvoke>,
    /// The live alias' requested provisioned concurrency (read on live deploys).
    pub provisioned_concurrency: Option<i32>,
    /// The function URL of the alias deployed to.
    pub url: Option<ObservedUrl>,
    /// Published versions and what points at them, read only with `versionRetention`.
    pub versions: Option<ObservedVersions>,
}

/// A function's published versions and the versions each alias routes to.
#[derive(Debug, Clone, Default)]
pub struct ObservedVersions {
    pub published: Vec<String>,
    /// Alias → its version and any weighted extra versions.
    pub by_alias: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone)]
pub struct ObservedVersion {
    pub version: String,
    pub sha256: String,
    pub config: FunctionConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum FunctionStep {
    #[serde(rename_all = "camelCase")]
    CreateFunction {
        function: String,
        function_name: String,
    },
    /// New code, or the same code for another architecture: Lambda takes the architecture with
    /// the code (UpdateFunctionConfiguration has no such field).
    #[serde(rename_all = "camelCase")]
    UpdateFunctionCode {
        function: String,
        function_name: String,
        changes: Vec<Change>,
    },
    #[serde(rename_all = "camelCase")]
    UpdateFunctionConfiguration {
        function: String,
        function_name: String,
        changes: Vec<Change>,
    },
    #[serde(rename_all = "camelCase")]
    TagFunction {
        function: String,
        function_name: String,
    },
    #[serde(rename_all = "camelCase")]
    SetReservedConcurrency {
        function: String,
        function_name: String,
        change: Change,
    },
    #[serde(rename_all = "camelCase")]
    PublishVersion {
        function: String,
        function_name: String,
        alias: String,
    },
    /// Sets the live alias' asynchronous invocation settings (all of them: AWS drops any left out).
    #[serde(rename_all = "camelCase")]
    PutAsyncInvokeConfig {
        function: String,
        function_name: String,
        alias: String,
        changes: Vec<Change>,
    },
    #[serde(rename_all = "camelCase")]
    DeleteAsyncInvokeConfig {
        function: String,
        function_name: String,
        alias: String,
    },
    /// Sets (and waits until READY) or removes the live alias' provisioned concurrency.
    #[serde(rename_all = "camelCase")]
    SetProvisionedConcurrency {
        function: String,
        function_name: String,
        alias: String,
        change: Change,
        /// What the new setting costs an hour (us-east-1 prices), for the plan.
        hourly_cost_usd: f64,
        /// The region whose prices the cost is at.
        prices_of: String,
    },
    #[serde(rename_all = "camelCase")]
    CreateFunctionUrl {
        function: String,
        function_name: String,
        alias: String,
    },
    /// Sets an existing URL's auth, CORS and invoke mode, and its public grants to match.
    #[serde(rename_all = "camelCase")]
    UpdateFunctionUrl {
        function: String,
        function_name: String,
        alias: String,
        changes: Vec<Change>,
    },
    #[serde(rename_all = "camelCase")]
    DeleteFunctionUrl {
        function: String,
        function_name: String,
        alias: String,
    },
    #[serde(rename_all = "camelCase")]
    DeleteVersion {
        function: String,
        function_name: String,
        version: String,
    },
    /// A function we own that the config no longer has (or every one, on removal).
    #[serde(rename_all = "camelCase")]
    DeleteFunction { function_name: String },
}

impl FunctionStep {
    /// The Lambda function the step acts on: a function's steps run in order, functions in
    /// parallel.
    pub fn function_name(&self) -> &str {
        match self {
            FunctionStep::CreateFunction { function_name, .. }
            | FunctionStep::UpdateFunctionCode { function_name, .. }
            | FunctionStep::UpdateFunctionConfiguration { function_name, .. }
            | FunctionStep::TagFunction { function_name, .. }
            | FunctionStep::SetReservedConcurrency { function_name, .. }
            | FunctionStep::PublishVersion { function_name, .. }
            | FunctionStep::PutAsyncInvokeConfig { function_name, .. }
            | FunctionStep::DeleteAsyncInvokeConfig { function_name, .. }
            | FunctionStep::SetProvisionedConcurrency { function_name, .. }
            | FunctionStep::CreateFunctionUrl { function_name, .. }
            | FunctionStep::UpdateFunctionUrl { function_name, .. }
            | FunctionStep::DeleteFunctionUrl { function_name, .. }
            | FunctionStep::DeleteVersion { function_name, .. }
            | FunctionStep::DeleteFunction { function_name } => function_name,
        }
    }

    /// Whether the step sends the function's code (and so may need the deployment bucket).
    pub fn uploads(&self) -> bool {
        match self {
            FunctionStep::CreateFunction { .. } | FunctionStep::UpdateFunctionCode { .. } => true,
            FunctionStep::UpdateFunctionConfiguration { .. }
            | FunctionStep::TagFunction { .. }
            | FunctionStep::SetReservedConcurrency { .. }
            | FunctionStep::PublishVersion { .. }
            | FunctionStep::PutAsyncInvokeConfig { .. }
            | FunctionStep::DeleteAsyncInvokeConfig { .. }
            | FunctionStep::SetProvisionedConcurrency { .. }
            | FunctionStep::CreateFunctionUrl { .. }
            | FunctionStep::UpdateFunctionUrl { .. }
            | FunctionStep::DeleteFunctionUrl { .. }
            | FunctionStep::DeleteVersion { .. }
            | FunctionStep::DeleteFunction { .. } => false,
        }
    }
}

impl super::KindStep for FunctionStep {
    fn phase(&self) -> Phase {
        match self {
            FunctionStep::CreateFunction { .. }
            | FunctionStep::UpdateFunctionCode { .. }
            | FunctionStep::UpdateFunctionConfiguration { .. }
            | FunctionStep::TagFunction { .. }
            | FunctionStep::SetReservedConcurrency { .. }
            | FunctionStep::PublishVersion { .. }
            | FunctionStep::PutAsyncInvokeConfig { .. }
            | FunctionStep::DeleteAsyncInvokeConfig { .. }
            | FunctionStep::SetProvisionedConcurrency { .. }
            | FunctionStep::CreateFunctionUrl { .. }
            | FunctionStep::UpdateFunctionUrl { .. }
            | FunctionStep::DeleteFunctionUrl { .. }
            | FunctionStep::DeleteVersion { .. } => Phase::Functions,
            FunctionStep::DeleteFunction { .. } => Phase::DeleteFunctions,
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            FunctionStep::DeleteFunction { function_name } => {
                Some(format!("Lambda function {function_name}"))
            }
            FunctionStep::CreateFunction { .. }
            | FunctionStep::UpdateFunctionCode { .. }
            | FunctionStep::UpdateFunctionConfiguration { .. }
            | FunctionStep::TagFunction { .. }
            | FunctionStep::SetReservedConcurrency { .. }
            | FunctionStep::PublishVersion { .. }
            | FunctionStep::PutAsyncInvokeConfig { .. }
            | FunctionStep::DeleteAsyncInvokeConfig { .. }
            | FunctionStep::SetProvisionedConcurrency { .. }
            | FunctionStep::CreateFunctionUrl { .. }
            | FunctionStep::UpdateFunctionUrl { .. }
            | FunctionStep::DeleteFunctionUrl { .. }
            | FunctionStep::DeleteVersion { .. } => None,
        }
    }

    fn lane(&self) -> String {
        format!("function {}", self.function_name())
    }

    fn uploads_via_s3(&self, d: &super::Desired) -> bool {
        self.uploads()
            && d.function_named(self.function_name())
                .is_some_and(|f| f.via_s3)
    }
}

fn short(sha: &str) -> &str {
    if sha.is_empty() {
        "(none)"
    } else {
        &sha[..sha.len().min(12)]
    }
}

impl fmt::Display for FunctionStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FunctionStep::CreateFunction { function_name, .. } => {
                write!(f, "+ function {function_name}")
            }
            FunctionStep::UpdateFunctionCode {
                function_name,
                changes,
                ..
            } => {
                let parts: Vec<String> = changes
                    .iter()
                    .map(|c| match c.field.as_str() {
                        "code" => format!("code {} → {}", short(&c.from), short(&c.to)),
                        _ => format!("{} {} → {}", c.field, c.from, c.to),
                    })
                    .collect();
                write!(f, "~ function {function_name}: {}", parts.join(", "))
            }
            FunctionStep::UpdateFunctionConfiguration {
                function_name,
                changes,
                ..
            } => {
                let parts: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{} {} → {}", c.field, c.from, c.to))
                    .collect();
                write!(f, "~ function {function_name}: {}", parts.join(", "))
            }
            FunctionStep::TagFunction { function_name, .. } => {
                write!(f, "~ function {function_name}: tags")
            }
            FunctionStep::SetReservedConcurrency {
                function_name,
                change,
                ..
            } => write!(
                f,
                "~ function {function_name}: reservedConcurrency {} → {}",
                change.from, change.to
            ),
            FunctionStep::PublishVersion {
                function_name,
                alias,
                ..
            } => write!(f, "+ version of {function_name}, alias {alias} moved to it"),
            FunctionStep::PutAsyncInvokeConfig {
                function_name,
                alias,
                changes,
                ..
            } => {
                let parts: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{} {} → {}", c.field, c.from, c.to))
                    .collect();
                write!(
                    f,
                    "~ function {function_name}:{alias}: asynchronous invocation {}",
                    parts.join(", ")
                )
            }
            FunctionStep::DeleteAsyncInvokeConfig {
                function_name,
                alias,
                ..
            } => write!(
                f,
                "- function {function_name}:{alias}: asynchronous invocation settings"
            ),
            FunctionStep::SetProvisionedConcurrency {
                function_name,
                alias,
                change,
                hourly_cost_usd,
                prices_of,
                ..
            } => write!(
                f,
                "~ function {function_name}:{alias}: provisionedConcurrency {} → {} (about ${hourly_cost_usd:.3} an hour at {prices_of} prices)",
                change.from, change.to
            ),
            FunctionStep::CreateFunctionUrl {
                function_name,
                alias,
                ..
            } => write!(f, "+ function URL for {function_name}:{alias}"),
            FunctionStep::UpdateFunctionUrl {
                function_name,
                alias,
                changes,
                ..
            } => {
                let parts: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{} {} → {}", c.field, c.from, c.to))
                    .collect();
                write!(
                    f,
                    "~ function URL for {function_name}:{alias}: {}",
                    parts.join(", ")
                )
            }
            FunctionStep::DeleteFunctionUrl {
                function_name,
                alias,
                ..
            } => write!(f, "- function URL for {function_name}:{alias}"),
            FunctionStep::DeleteVersion {
                function_name,
                version,
                ..
            } => write!(
                f,
                "- version {version} of {function_name} (beyond versionRetention)"
            ),
            FunctionStep::DeleteFunction { function_name } => {
                write!(f, "- function {function_name}")
            }
        }
    }
}

/// Each desired function converged (code, configuration, tags, concurrency, a version behind
/// `d.alias`, retention, a URL for a staged alias); then, on a deploy to the live alias or a
/// removal, the functions we own that are no longer desired are deleted.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    for f in &d.functions {
        let of = o.functions.get(&f.name);
        if of.is_some_and(|of| !of.owned) {
            p.conflicts.push(Conflict {
                resource: format!("Lambda function {}", f.name),
                reason: NOT_OURS.into(),
            });
            continue;
        }
        plan_one(d, o, f, of, p);
    }
    // A deploy to another alias ships code and configuration only: a function left out of the
    // config stays until a live deploy removes it.
    if d.alias != d.live {
        return;
    }
    let wanted: BTreeSet<&str> = d.functions.iter().map(|f| f.name.as_str()).collect();
    for (name, of) in &o.functions {
        if wanted.contains(name.as_str()) {
            continue;
        }
        if of.owned {
            p.push(FunctionStep::DeleteFunction {
                function_name: name.clone(),
            });
        } else {
            p.leave_alone(format!("Lambda function {name}"));
        }
    }
}

fn plan_one(
    d: &Desired,
    o: &Observed,
    f: &FunctionSpec,
    of: Option<&ObservedFunction>,
    p: &mut Plan,
) {
    let (function, function_name) = (f.key.clone(), f.name.clone());
    match of {
        None => p.push(FunctionStep::CreateFunction {
            function: function.clone(),
            function_name: function_name.clone(),
        }),
        Some(of) => {
            let mut code = Vec::new();
            if of.sha256 != f.sha256 {
                code.push(Change {
                    field: "code".into(),
                    from: of.sha256.clone(),
                    to: f.sha256.clone(),
                });
            }
            if of.config.architecture != f.config.architecture {
                code.push(Change {
                    field: "architecture".into(),
                    from: of.config.architecture.clone(),
                    to: f.config.architecture.clone(),
                });
            }
            if !code.is_empty() {
                p.push(FunctionStep::UpdateFunctionCode {
                    function: function.clone(),
                    function_name: function_name.clone(),
                    changes: code,
                });
            }
            let changes = config_changes(&of.config, &f.config);
            if !changes.is_empty() {
                p.push(FunctionStep::UpdateFunctionConfiguration {
                    function: function.clone(),
                    function_name: function_name.clone(),
                    changes,
                });
            }
            if f.tags.iter().any(|(k, v)| of.tags.get(k) != Some(v)) {
                p.push(FunctionStep::TagFunction {
                    function: function.clone(),
                    function_name: function_name.clone(),
                });
            }
        }
    }
    let reserved = of.and_then(|of| of.reserved_concurrency);
    if reserved != f.reserved_concurrency {
        let show = |c: Option<i32>| c.map_or_else(|| "none".to_string(), |c| c.to_string());
        p.push(FunctionStep::SetReservedConcurrency {
            function: function.clone(),
            function_name: function_name.clone(),
            change: Change {
                field: "reservedConcurrency".into(),
                from: show(reserved),
                to: show(f.reserved_concurrency),
            },
        });
    }
    // The alias' version, not $LATEST, is what runs: a deploy interrupted after updating
    // $LATEST still publishes and moves the alias when re-run. Unversioned, $LATEST runs.
    let current = !d.versioned
        || of
            .and_then(|of| of.alias.as_ref())
            .is_some_and(|v| v.sha256 == f.sha256 && v.config == f.config);
    if !current {
        p.push(FunctionStep::PublishVersion {
            function: function.clone(),
            function_name: function_name.clone(),
            alias: d.alias.clone(),
        });
    }
    // The live alias is where asynchronous events arrive; a staged alias gets none of it.
    if d.alias == d.live {
        let have = of.and_then(|of| of.async_invoke.as_ref());
        match (&f.async_invoke, have) {
            (Some(want), have) => {
                let changes = want.changes(have.unwrap_or(&AsyncInvoke::default()));
                if have.is_none() || !changes.is_empty() {
                    p.push(FunctionStep::PutAsyncInvokeConfig {
                        function: function.clone(),
                        function_name: function_name.clone(),
                        alias: d.live.clone(),
                        changes,
                    });
                }
            }
            (None, Some(_)) => p.push(FunctionStep::DeleteAsyncInvokeConfig {
                function: function.clone(),
                function_name: function_name.clone(),
                alias: d.live.clone(),
            }),
            (None, None) => {}
        }
    }
    // Provisioned concurrency lives on the live alias, like the traffic it serves.
    if d.alias == d.live {
        let have = of.and_then(|of| of.provisioned_concurrency);
        if have != f.provisioned_concurrency {
            let show = |c: Option<i32>| c.map_or_else(|| "none".to_string(), |c| c.to_string());
            let rates = crate::ops::price::rates(&d.region);
            p.push(FunctionStep::SetProvisionedConcurrency {
                function: function.clone(),
                function_name: function_name.clone(),
                alias: d.live.clone(),
                change: Change {
                    field: "provisionedConcurrency".into(),
                    from: show(have),
                    to: show(f.provisioned_concurrency),
                },
                hourly_cost_usd: provisioned_hourly_cost(
                    f.provisioned_concurrency.unwrap_or(0),
                    f.config.memory_size,
                    &f.config.architecture,
                    &rates,
                ),
                prices_of: rates.region.to_string(),
            });
        }
    }
    if let Some(keep) = d.version_retention {
        for version in prunable(&d.alias, of, !current, keep) {
            p.push(FunctionStep::DeleteVersion {
                function: function.clone(),
                function_name: function_name.clone(),
                version,
            });
        }
    }
    plan_url(d, o, f, of, p);
}

/// The function URL of the alias deployed to: `url:` on the live alias, a public preview URL on
/// a staged one; public URLs carry both grants, IAM ones neither.
fn plan_url(
    d: &Desired,
    o: &Observed,
    f: &FunctionSpec,
    of: Option<&ObservedFunction>,
    p: &mut Plan,
) {
    let want = if d.alias == d.live {
        f.url.clone()
    } else {
        Some(UrlSpec::public())
    };
    let have = of.and_then(|of| of.url.as_ref());
    let granted = |sid: &str| {
        o.permissions
            .get(&f.name)
            .is_some_and(|s| s.contains_key(sid))
    };
    let grants = (granted(URL_STATEMENT), granted(URL_INVOKE_STATEMENT));
    let (function, function_name, alias) = (f.key.clone(), f.name.clone(), d.alias.clone());
    match (want, have) {
        (Some(_), None) => p.push(FunctionStep::CreateFunctionUrl {
            function,
            function_name,
            alias,
        }),
        (Some(want), Some(have)) => {
            let mut changes = Vec::new();
            let mut cmp =
                |field: &str, from: String, to: String| Change::note(&mut changes, field, from, to);
            cmp("authorizer", have.spec.auth.clone(), want.auth.clone());
            cmp(
                "invokeMode",
                have.spec.invoke_mode.clone(),
                want.invoke_mode.clone(),
            );
            let cors = |c: &Option<super::http_api::CorsSpec>| {
                c.as_ref()
                    .map_or_else(|| "none".to_string(), |c| c.allow_origins.join(","))
            };
            if have.spec.cors != want.cors {
                cmp("cors", cors(&have.spec.cors), cors(&want.cors));
            }
            let public = want.auth == "NONE";
            if grants != (public, public) {
                let show = |g: (bool, bool)| match g {
                    (true, true) => "public",
                    (false, false) => "none",
                    _ => "partial",
                };
                cmp("grants", show(grants).into(), show((public, public)).into());
            }
            if !changes.is_empty() {
                p.push(FunctionStep::UpdateFunctionUrl {
                    function,
                    function_name,
                    alias,
                    changes,
                });
            }
        }
        (None, Some(_)) => p.push(FunctionStep::DeleteFunctionUrl {
            function,
            function_name,
            alias,
        }),
        (None, None) => {}
    }
}

/// The versions no alias will point at once this deploy has run, oldest first, beyond the
/// newest `keep` of them. Publishing moves `alias` to a new version, freeing its old one.
fn prunable(
    alias: &str,
    of: Option<&ObservedFunction>,
    publishing: bool,
    keep: u32,
) -> Vec<String> {
    let Some(v) = of.and_then(|of| of.versions.as_ref()) else {
        return Vec::new();
    };
    let held: BTreeSet<&String> = v
        .by_alias
        .iter()
        .filter(|(a, _)| !(publishing && a.as_str() == alias))
        .flat_map(|(_, versions)| versions)
        .collect();
    let mut free: Vec<&String> = v.published.iter().filter(|x| !held.contains(x)).collect();
    free.sort_by_key(|x| std::cmp::Reverse(x.parse::<u64>().unwrap_or(0)));
    let mut out: Vec<String> = free.into_iter().skip(keep as usize).cloned().collect();
    out.reverse();
    out
}

/// What UpdateFunctionConfiguration changes; the architecture goes with the code.
fn config_changes(have: &FunctionConfig, want: &FunctionConfig) -> Vec<Change> {
    let mut out = Vec::new();
    let mut cmp = |field: &str, from: String, to: String| Change::note(&mut out, field, from, to);
    cmp("runtime", have.runtime.clone(), want.runtime.clone());
    cmp("handler", have.handler.clone(), want.handler.clone());
    cmp(
        "memorySize",
        have.memory_size.to_string(),
        want.memory_size.to_string(),
    );
    cmp(
        "timeout",
        have.timeout.to_string(),
        want.timeout.to_string(),
    );
    cmp(
        "ephemeralStorageSize",
        have.ephemeral_storage.to_string(),
        want.ephemeral_storage.to_string(),
    );
    cmp(
        "description",
        have.description.clone(),
        want.description.clone(),
    );
    cmp("layers", have.layers.join(","), want.layers.join(","));
    cmp("role", have.role.clone(), want.role.clone());
    cmp("tracing", have.tracing.clone(), want.tracing.clone());
    cmp(
        "kmsKeyArn",
        have.kms_key_arn.clone(),
        want.kms_key_arn.clone(),
    );
    cmp(
        "vpc.subnetIds",
        have.vpc_subnets.join(","),
        want.vpc_subnets.join(","),
    );
    cmp(
        "vpc.securityGroupIds",
        have.vpc_security_groups.join(","),
        want.vpc_security_groups.join(","),
    );
    cmp(
        "vpc.ipv6AllowedForDualStack",
        have.vpc_ipv6.to_string(),
        want.vpc_ipv6.to_string(),
    );
    cmp(
        "onError",
        have.dead_letter_target.clone(),
        want.dead_letter_target.clone(),
    );
    cmp(
        "logs.logFormat",
        have.log_format.clone(),
        want.log_format.clone(),
    );
    cmp(
        "logs.applicationLogLevel",
        have.application_log_level.clone(),
        want.application_log_level.clone(),
    );
    cmp(
        "logs.systemLogLevel",
        have.system_log_level.clone(),
        want.system_log_level.clone(),
    );
    cmp(
        "logs.logGroup",
        have.log_group.clone(),
        want.log_group.clone(),
    );
    if have.environment != want.environment {
        // Names only: values may be secrets.
        let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>().join(",");
        let changed: Vec<&str> = want
            .environment
            .iter()
            .filter(|(k, v)| have.environment.get(*k) != Some(v))
            .map(|(k, _)| k.as_str())
            .chain(
                have.environment
                    .keys()
                    .filter(|k| !want.environment.contains_key(*k))
                    .map(String::as_str),
            )
            .collect();
        out.push(Change {
            field: "environment".into(),
            from: names(&have.environment),
            to: format!(
                "{} (changed: {})",
                names(&want.environment),
                changed.join(",")
            ),
        });
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
