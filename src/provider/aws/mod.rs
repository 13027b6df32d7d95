//! AWS through the SDK for Rust: one connection (credentials from the standard chain, region,
//! `AWS_ENDPOINT_URL` honoured), the errors every call maps to, and one module per resource
//! kind — `role`, `bucket`, `function`, `log_group`, `http_api`, `rest_api`, `permission` — each with its
//! `observe` and its `apply(step)`. `engine` runs them; `context` is what their steps share.
//! `aliases` and `release` move aliases for the release commands.

pub mod adopt;
pub mod alb;
pub mod alexa;
pub mod aliases;
pub mod bucket;
pub mod calls;
pub mod context;
pub mod domain;
pub mod engine;
pub mod event_source;
pub mod function;
pub mod http_api;
pub mod layer;
pub mod lease;
pub mod log_group;
pub mod log_subscription;
pub mod notification;
pub mod once;
pub mod pace;
pub mod permission;
pub mod reach;
pub mod records;
pub mod release;
pub mod remote;
pub mod rest_api;
pub mod role;
pub mod schedule;
pub mod scheduler;
pub mod stack;
pub mod topic;
pub mod user_pool;
pub mod variables;
pub mod websocket;

use std::collections::{BTreeMap, HashMap};

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use calls::{CallLog, Tally};
pub use engine::{Outcome, Progress, Scope, execute, observe};

use crate::plan::Desired;
use crate::plan::naming::{TAG_SERVICE, TAG_STAGE};

/// The clients for one region and profile, sharing one call log.
pub struct Aws {
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
    pub apigw2: aws_sdk_apigatewayv2::Client,
    pub apigw: aws_sdk_apigateway::Client,
    pub s3: aws_sdk_s3::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// EventBridge: the rules of `schedule` events.
    pub events: aws_sdk_eventbridge::Client,
    /// SNS: the topics and subscriptions of `sns` events.
    pub sns: aws_sdk_sns::Client,
    /// The Resource Groups Tagging API: what we own, found by our tags.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// Cognito user pools: the triggers of `cognitoUserPool` events.
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    /// EventBridge Scheduler: `schedule` events with `method: scheduler`.
    pub scheduler: aws_sdk_scheduler::Client,
    /// Elastic Load Balancing: the target groups and rules of `alb` events.
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// CloudFormation: the side stack of `resources:`.
    pub cfn: aws_sdk_cloudformation::Client,
    /// STS: the account, for the values of CloudFormation functions.
    pub sts: aws_sdk_sts::Client,
    /// CloudWatch: the functions' and APIs' metrics for `metrics` and `cost`.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// SSM Parameter Store: the lease that lets one changing command run at a time.
    pub ssm: aws_sdk_ssm::Client,
    /// Certificate Manager: the certificate of a custom domain.
    pub acm: aws_sdk_acm::Client,
    /// Route 53: a custom domain's alias records.
    pub route53: aws_sdk_route53::Client,
    /// SQS: the preflight of the queues `sqs` events poll.
    pub sqs: aws_sdk_sqs::Client,
    pub region: String,
    pub calls: CallLog,
}

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "no AWS credentials found: {0}\nSave an access key with `sls config credentials --provider aws --key KEY --secret SECRET`, pick a profile with AWS_PROFILE=NAME or --aws-profile NAME (for SSO, after `aws sso login --profile NAME`), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials(String),
    #[error("{operation} for {resource} failed: {code}: {message}{}", advice(code))]
    Call {
        operation: String,
        resource: String,
        code: String,
        message: String,
    },
    #[error("cannot read the artifact `{path}`: {source}")]
    Artifact {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "alias {alias} of {function} changed while this command ran (another deploy or release script?); nothing was overwritten: look with `sls alias list` and run the command again"
    )]
    AliasChanged { function: String, alias: String },
    #[error(
        "{0} appeared while this command ran, without the sls:service/sls:stage tags of this service; nothing of it was changed: rename yours in the config or remove that one yourself"
    )]
    NotOurs(String),
    /// A resource of the name sls would give that is not ours, found before anything is made.
    #[error(
        "{resource} exists without the sls:service/sls:stage tags of this service; nothing of it was changed: {fix}"
    )]
    Foreign { resource: String, fix: &'static str },
    #[error(
        "{service} (stage {stage}) is being changed by {holder}; nothing was done: run the command again when it has finished, wait longer with --lock-wait SECONDS, or, if it is certainly not running, use --force-unlock"
    )]
    Locked {
        service: String,
        stage: String,
        holder: String,
    },
    /// Event sources the config names that do not exist (found before any change).
    #[error(
        "{}; nothing was changed: create them (in `resources:`, or beforehand) or correct the ARNs",
        .0.join("; ")
    )]
    MissingSources(Vec<String>),
    /// Ctrl-C: stopped between steps.
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
    #[error("{0}")]
    Other(String),
}

fn advice(code: &str) -> &'static str {
    match code {
        "AccessDenied" | "AccessDeniedException" | "UnrecognizedClientException" => {
            " (check that the credentials in use may manage Lambda, IAM and API Gateway)"
        }
        "ResourceConflictException" => " (another update is in progress: run the deploy again)",
        "TooManyRequestsException" | "Throttling" | "ThrottlingException" => {
            " (AWS is throttling requests: wait a moment and run the deploy again)"
        }
        NO_ANSWER => " (check the network, the region, and AWS_ENDPOINT_URL if it is set)",
        _ => "",
    }
}

/// What an SDK error can say of itself: AWS's code and message when AWS answered, else the
/// HTTP status, else the chain of causes (no connection, a timeout) that `Display` alone hides
/// behind "dispatch failure" or "service error".
pub trait CallError: ProvideErrorMetadata + std::fmt::Display {
    fn status(&self) -> Option<u16>;
    fn causes(&self) -> String;
}

impl<E> CallError
    for aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn status(&self) -> Option<u16> {
        self.raw_response().map(|r| r.status().as_u16())
    }

    fn causes(&self) -> String {
        chain_text(self)
    }
}

/// An error and its sources as one line, `a: b: c`, leaving out texts a source repeats and
/// the SDK's wrappers ("dispatch failure", "user error") when a source says more; a
/// [`reach::Unreachable`] is the whole story when it is there.
pub fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut texts: Vec<String> = Vec::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(u) = c.downcast_ref::<reach::Unreachable>() {
            return u.to_string();
        }
        let text = c.to_string();
        if !texts.iter().any(|t| t.contains(&text)) {
            texts.push(text);
        }
        cause = c.source();
    }
    let wrappers = [
        "dispatch failure",
        "user error",
        "io error",
        "other",
        "service error",
    ];
    let said: Vec<&String> = texts
        .iter()
        .filter(|t| !wrappers.contains(&t.as_str()))
        .collect();
    if said.is_empty() {
        texts.join(": ")
    } else {
        said.iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(": ")
    }
}

/// An error already reduced to AWS's code and message (as replayed answers and unit tests
/// give them).
impl CallError for aws_smithy_types::error::ErrorMetadata {
    fn status(&self) -> Option<u16> {
        None
    }

    fn causes(&self) -> String {
        self.to_string()
    }
}

/// The code an error without an AWS error code is reported under when no answer came.
pub const NO_ANSWER: &str = "no answer";

/// Maps an SDK error to an [`AwsError`] naming the call and the resource.
pub fn call_err<E>(operation: &str, resource: &str) -> impl FnOnce(E) -> AwsError
where
    E: CallError,
{
    let (operation, resource) = (operation.to_string(), resource.to_string());
    move |e| {
        let (code, message) = match (e.code(), e.status()) {
            (Some(code), status) => (
                code.to_string(),
                e.message().map_or_else(
                    || status.map_or_else(|| e.causes(), |s| format!("HTTP {s}")),
                    str::to_string,
                ),
            ),
            (None, Some(status)) => (
                format!("HTTP {status}"),
                "the answer carries no AWS error code: is the endpoint an AWS one (AWS_ENDPOINT_URL, the region)?".to_string(),
            ),
            (None, None) => (NO_ANSWER.to_string(), e.causes()),
        };
        AwsError::Call {
            operation,
            resource,
            code,
            message,
        }
    }
}

/// The codes AWS's services use for "no such thing".
pub const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NotFoundException",
    // SNS.
    "NotFound",
];

/// The `Qualifier` a Lambda call names for `alias`: none for `$LATEST`, the unqualified
/// function of an unversioned service ([`crate::plan::qualifier`]).
pub fn qualifier(alias: &str) -> Option<String> {
    crate::plan::qualifier(alias).map(str::to_string)
}

/// Treats the given codes (an "already there" or "already gone" on a re-run) as done.
pub fn tolerate<T, E>(r: Result<T, E>, codes: &[&str], op: &str, res: &str) -> Result<(), AwsError>
where
    E: CallError,
{
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, codes) => Ok(()),
        Err(e) => Err(call_err(op, res)(e)),
    }
}

/// Every item of a listing AWS pages with a next token: `page(token)` answers one page and the
/// next token.
pub async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), AwsError>>,
{
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let (items, next) = page(token).await?;
        all.extend(items);
        token = next;
        if token.is_none() {
            return Ok(all);
        }
    }
}

/// The ARNs of the resources of `resource_type` (`lambda:function`, `sns:topic`, …) tagged for
/// this service and stage, and with the `extra` tags: what sls made, found through the Resource
/// Groups Tagging API instead of listing the whole account. Paged; the last page answers an
/// empty token. `what` names them in an error.
pub async fn tagged(
    aws: &Aws,
    d: &Desired,
    resource_type: &str,
    extra: &[(&str, &str)],
    what: &str,
) -> Result<Vec<String>, AwsError> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let filter = |k: &str, v: &str| TagFilter::builder().key(k).values(v).build();
    all_pages(|token| async {
        let mut call = aws
            .tagging
            .get_resources()
            .resource_type_filters(resource_type)
            .tag_filters(filter(TAG_SERVICE, &d.service))
            .tag_filters(filter(TAG_STAGE, &d.stage));
        for (k, v) in extra {
            call = call.tag_filters(filter(k, v));
        }
        let page = call
            .resources_per_page(100)
            .set_pagination_token(token)
            .send()
            .await
            .map_err(call_err("GetResources", what))?;
        let arns = page
            .resource_tag_mapping_list()
            .iter()
            .filter_map(|m| m.resource_arn().map(str::to_string))
            .collect();
        let next = page.pagination_token().filter(|t| !t.is_empty());
        Ok((arns, next.map(str::to_string)))
    })
    .await
}

/// JSON text as compact JSON, however it was spaced (policies and patterns AWS answers back);
/// anything else as it is.
pub fn compact_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .map_or_else(|_| text.to_string(), |v| v.to_string())
}

/// `cors(&CorsSpec) -> T` and `cors_of(&T) -> CorsSpec` for an SDK's CORS type: API Gateway v2
/// and Lambda function URLs hold CORS in the same shape, in types of their own.
macro_rules! cors_conversions {
    ($cors:ty) => {
        fn cors(c: &crate::plan::http_api::CorsSpec) -> $cors {
            <$cors>::builder()
                .set_allow_origins(Some(c.allow_origins.clone()))
                .set_allow_headers(Some(c.allow_headers.clone()))
                .set_allow_methods(Some(c.allow_methods.clone()))
                .allow_credentials(c.allow_credentials)
                .set_expose_headers(Some(c.expose_headers.clone()))
                .set_max_age(c.max_age)
                .build()
        }

        /// What AWS holds, in the form the plan compares.
        fn cors_of(c: &$cors) -> crate::plan::http_api::CorsSpec {
            crate::plan::http_api::CorsSpec {
                allow_origins: c.allow_origins().to_vec(),
                allow_headers: c.allow_headers().to_vec(),
                allow_methods: c.allow_methods().to_vec(),
                allow_credentials: c.allow_credentials().unwrap_or(false),
                expose_headers: c.expose_headers().to_vec(),
                max_age: c.max_age(),
            }
            .normalised()
        }
    };
}
pub(crate) use cors_conversions;

/// A statement of a function alias' resource policy that lets a service invoke it.
pub struct Grant<'a> {
    pub function_name: &'a str,
    pub alias: &'a str,
    pub sid: &'a str,
    pub principal: &'a str,
    pub source_arn: Option<String>,
    /// Bucket names are global: S3 and CloudWatch Logs grants name the account too.
    pub source_account: Option<String>,
    /// Alexa: the skill id.
    pub event_source_token: Option<String>,
}

/// Adds a grant under its fixed statement id; one of that id already there (naming another
/// source, or made by an interrupted run) is replaced.
pub async fn grant(aws: &Aws, g: &Grant<'_>) -> Result<(), AwsError> {
    let call = aws
        .lambda
        .add_permission()
        .function_name(g.function_name)
        .set_qualifier(crate::provider::aws::qualifier(g.alias))
        .statement_id(g.sid)
        .action("lambda:InvokeFunction")
        .principal(g.principal)
        .set_source_arn(g.source_arn.clone())
        .set_source_account(g.source_account.clone())
        .set_event_source_token(g.event_source_token.clone());
    let res = format!("Lambda function {}:{}", g.function_name, g.alias);
    let add = || add_statement(aws, &call, g.function_name, g.alias, g.sid, &res);
    match add().await {
        Ok(()) => Ok(()),
        Err(AwsError::Call { code, .. }) if code == "ResourceConflictException" => {
            remove_statement(aws, g.function_name, g.alias, g.sid).await?;
            add().await
        }
        Err(e) => Err(e),
    }
}

/// Sends an AddPermission once ([`once::create_once`]): statement ids are unique in AWS, but a
/// retried add whose first answer was lost would be refused, or doubled where ids are not
/// checked; after a lost answer the policy is read for the statement first.
pub async fn add_statement(
    aws: &Aws,
    call: &aws_sdk_lambda::operation::add_permission::builders::AddPermissionFluentBuilder,
    name: &str,
    alias: &str,
    sid: &str,
    res: &str,
) -> Result<(), AwsError> {
    once::create_once(
        "AddPermission",
        res,
        || async {
            once::unretried!(call, aws_sdk_lambda::Config)
                .await
                .map(|_| ())
        },
        || async {
            let have = permission::observe(aws, name, alias).await?;
            Ok(have.contains_key(sid).then_some(()))
        },
    )
    .await
}

/// Removes one statement of `name:alias`'s resource policy; one already gone counts as removed.
pub async fn remove_statement(
    aws: &Aws,
    name: &str,
    alias: &str,
    sid: &str,
) -> Result<(), AwsError> {
    let r = aws
        .lambda
        .remove_permission()
        .function_name(name)
        .set_qualifier(crate::provider::aws::qualifier(alias))
        .statement_id(sid)
        .send()
        .await;
    tolerate(
        r,
        NOT_FOUND,
        "RemovePermission",
        &format!("Lambda function {name}:{alias}"),
    )
}

/// Whether a resource's tags say it belongs to this service and stage.
pub fn owned(tags: &BTreeMap<String, String>, d: &Desired) -> bool {
    tags.get(TAG_SERVICE) == Some(&d.service) && tags.get(TAG_STAGE) == Some(&d.stage)
}

/// Among the items named `name`, ours when several share the name, else the first; with
/// whether it is ours.
pub fn prefer_ours<'a, T>(
    items: &'a [T],
    name: &str,
    d: &Desired,
    name_of: impl Fn(&T) -> Option<&str>,
    tags_of: impl Fn(&T) -> Option<&HashMap<String, String>>,
) -> Option<(&'a T, bool)> {
    let is_ours = |item: &T| {
        let tags: BTreeMap<String, String> = tags_of(item)
            .map(|t| t.clone().into_iter().collect())
            .unwrap_or_default();
        owned(&tags, d)
    };
    let named = || items.iter().filter(|i| name_of(i) == Some(name));
    named()
        .find(|i| is_ours(i))
        .map(|i| (i, true))
        .or_else(|| named().next().map(|i| (i, false)))
}

/// Whether an SDK error is this error code (e.g. a typed "not found").
pub fn is_code<E: ProvideErrorMetadata>(e: &E, codes: &[&str]) -> bool {
    e.code().is_some_and(|c| codes.contains(&c))
}

impl Aws {
    /// Loads credentials and region from the standard chain and checks, before any work, that
    /// credentials exist.
    pub async fn connect(region: &str, profile: Option<&str>) -> Result<Aws, AwsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()));
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let cfg = loader.load().await;
        let creds = cfg
            .credentials_provider()
            .ok_or_else(|| AwsError::NoCredentials("no credential provider".into()))?;
        creds
            .provide_credentials()
            .await
            .map_err(|e| AwsError::NoCredentials(chain_text(&e)))?;
        let calls = CallLog::default();
        // Every client's requests paced within AWS's quotas, through one set of buckets.
        let cfg = cfg
            .into_builder()
            .http_client(pace::PacedClient::new(pace::Pacer::new(calls.clone())))
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(reach::CONNECT_TIMEOUT)
                    .build(),
            )
            .build();
        let lambda = aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let apigw2 = aws_sdk_apigatewayv2::Client::from_conf(
            aws_sdk_apigatewayv2::config::Builder::from(&cfg)
                .retry_config(retries(10, 35))
                .interceptor(calls.clone())
                .build(),
        );
        let apigw = aws_sdk_apigateway::Client::from_conf(
            aws_sdk_apigateway::config::Builder::from(&cfg)
                .retry_config(retries(10, 35))
                .interceptor(calls.clone())
                .build(),
        );
        // A local endpoint (moto, LocalStack) has no per-bucket host names.
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&cfg)
                .force_path_style(cfg.endpoint_url().is_some())
                // A plain Content-Length upload: the sha256 in the object key already names
                // the content, and streamed checksum trailers are not understood everywhere.
                .request_checksum_calculation(
                    aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
                )
                .interceptor(calls.clone())
                .build(),
        );
        let logs = aws_sdk_cloudwatchlogs::Client::from_conf(
            aws_sdk_cloudwatchlogs::config::Builder::from(&cfg)
                .interceptor(calls.clone())
                .build(),
        );
        let events = aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let sns = aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let tagging = aws_sdk_resourcegroupstagging::Client::from_conf(
            aws_sdk_resourcegroupstagging::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let cognito = aws_sdk_cognitoidentityprovider::Client::from_conf(
            aws_sdk_cognitoidentityprovider::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let scheduler = aws_sdk_scheduler::Client::from_conf(
            aws_sdk_scheduler::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let elbv2 = aws_sdk_elasticloadbalancingv2::Client::from_conf(
            aws_sdk_elasticloadbalancingv2::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let cfn = aws_sdk_cloudformation::Client::from_conf(
            aws_sdk_cloudformation::config::Builder::from(&cfg)
                .retry_config(retries(8, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&cfg)
                .interceptor(calls.clone())
                .build(),
        );
        let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&cfg)
                .interceptor(calls.clone())
                .build(),
        );
        let ssm = aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let acm = aws_sdk_acm::Client::from_conf(
            aws_sdk_acm::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let route53 = aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&cfg)
                .retry_config(retries(6, 20))
                .interceptor(calls.clone())
                .build(),
        );
        Ok(Aws {
            sqs,
            acm,
            route53,
            ssm,
            cloudwatch,
            cfn,
            sts,
            elbv2,
            scheduler,
            cognito,
            s3,
            logs,
            events,
            sns,
            tagging,
            lambda,
            iam,
            apigw2,
            apigw,
            region: region.to_string(),
            calls,
        })
    }
}

/// Retries with exponential backoff for throttling and 5xx, per service: API Gateway's quotas
/// are fixed per account and slow (CreateRestApi and DeleteRestApi about one per 30 s,
/// CreateDeployment one per 5 s), so its clients wait longer and more often than the SDK's
/// default of 3 attempts; Lambda and IAM throttle by rate and recover within seconds.
fn retries(attempts: u32, max_backoff_secs: u64) -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_max_backoff(std::time::Duration::from_secs(max_backoff_secs))
}

/// A boxed future of one read or step, as [`bounded`] runs them.
pub type Boxed<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, AwsError>> + 'a>>;

/// Polls the futures on the current task, at most `limit` at a time, and returns their
/// results in order. Every started future runs to its end, so no function is left midway.
pub async fn bounded<'a, T>(futures: Vec<Boxed<'a, T>>, limit: usize) -> Vec<Result<T, AwsError>> {
    let n = futures.len();
    let mut waiting = futures.into_iter().enumerate();
    let mut running: Vec<(usize, Boxed<'a, T>)> = Vec::new();
    let mut results: Vec<Option<Result<T, AwsError>>> = (0..n).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        loop {
            while running.len() < limit.max(1) {
                match waiting.next() {
                    Some(f) => running.push(f),
                    None => break,
                }
            }
            let before = running.len();
            let mut i = 0;
            while i < running.len() {
                if let std::task::Poll::Ready(r) = running[i].1.as_mut().poll(cx) {
                    results[running[i].0] = Some(r);
                    drop(running.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            // Something finished: start the next ones at once rather than on the next wake.
            if running.len() == before || waiting.len() == 0 {
                break;
            }
        }
        if running.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// The account id in an ARN (`arn:aws:iam::123456789012:role/x`).
pub fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Decodes the `%XX` escapes IAM puts in policy documents.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn helpers() {
        assert_eq!(
            super::account_of("arn:aws:iam::123456789012:role/x"),
            Some("123456789012")
        );
        assert_eq!(super::percent_decode("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(super::percent_decode("{\"a\":1}"), "{\"a\":1}");
    }
}
