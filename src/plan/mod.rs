//! The plan: desired state (config + artifacts) against observed state (read from AWS) →
//! ordered steps, each with the reason and the field-level changes. Pure data: nothing here
//! calls AWS, so every decision is unit-tested and `deploy --dry-run` prints exactly what
//! `deploy` would do. A removal is the same planning against [`Desired::nothing`].
//!
//! One module per resource kind (`role`, `bucket`, `function`, `http_api`, `rest_api`,
//! `websocket`, `permission`, the event kinds from `event_source` to `alb`): its spec, its
//! observed state, its step enum and its `plan`. Naming every kind shares (`fit`,
//! `rule_prefix`, `partition`) lives here. [`Step`] wraps the
//! kinds' enums; [`Step::phase`] orders them and tells `deploy function` what to keep. Adding a
//! kind: see docs/src/contributing.md.

pub mod adopt;
pub mod alb;
pub mod alexa;
pub mod bucket;
pub mod desired;
pub mod domain;
pub mod event_source;
pub mod events;
pub mod function;
pub mod http_api;
pub mod layer;
pub mod log_group;
pub mod log_subscription;
pub mod naming;
pub mod notification;
pub mod permission;
pub mod rest_api;
pub mod role;
pub mod schedule;
pub mod scheduler;
pub mod stack;
pub mod topic;
pub mod user_pool;
pub mod websocket;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use adopt::AdoptedStep;
pub use alb::{
    AlbStep, ListenerRuleSpec, ObservedListenerRule, ObservedTargetGroup, TargetGroupSpec,
};
pub use alexa::AlexaStep;
pub use bucket::{BucketSpec, BucketStep, ObservedBucket};
pub use desired::{Desired, LATEST, qualifier};
pub use domain::{DomainSpec, DomainStep, ObservedDomain};
pub use event_source::{MappingSpec, MappingStep, ObservedMapping};
pub use function::{FunctionConfig, FunctionSpec, FunctionStep, ObservedFunction};
pub use http_api::{HttpApiSpec, HttpApiStep, ObservedHttpApi};
pub use layer::{LayerSpec, LayerStep, ObservedLayer};
pub use log_group::{LogGroupSpec, LogGroupStep, ObservedLogGroup};
pub use log_subscription::{LogSubscriptionStep, ObservedLogSubscription};
pub use notification::{NotificationStep, ObservedEventBucket};
pub use permission::{ApiKind, PermissionStep, Statements};
pub use rest_api::{ObservedRestApi, RestApiSpec, RestApiStep};
pub use role::{ObservedRole, RoleSpec, RoleStep};
pub use schedule::{ObservedRule, RuleSpec, ScheduleStep};
pub use scheduler::{ObservedScheduleGroup, ScheduleSpec, SchedulerStep};
pub use stack::{ObservedStack, StackSpec, StackStep};
pub use topic::{ObservedSubscription, ObservedTopic, TopicStep};
pub use user_pool::{ObservedUserPool, UserPoolSpec, UserPoolStep};
pub use websocket::{ObservedWebsocket, WebsocketSpec, WebsocketStep};

/// What exists in AWS for this service and stage.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub role: Option<ObservedRole>,
    /// Other roles of ours that our functions run as: the service's role under an earlier
    /// `iam.role.name`, deleted once no function needs it.
    pub former_roles: Vec<ObservedRole>,
    /// EventBridge rules in this service's names, by [`schedule::rule_key`].
    pub rules: BTreeMap<String, ObservedRule>,
    /// Event buses the config names, and those sls made: name → whether it is ours.
    pub buses: BTreeMap<String, bool>,
    /// SNS topics the config names by name, and those sls made, by name.
    pub topics: BTreeMap<String, ObservedTopic>,
    /// Subscriptions of this service's function aliases, by topic name.
    pub subscriptions: BTreeMap<String, Vec<ObservedSubscription>>,
    /// Our subscription filters, by log group.
    pub log_subscriptions: BTreeMap<String, Vec<ObservedLogSubscription>>,
    /// Buckets of `s3` events (named by the config, or made by sls), by name.
    pub event_buckets: BTreeMap<String, ObservedEventBucket>,
    /// Event source mappings on each function's live alias, by Lambda function name.
    pub mappings: BTreeMap<String, Vec<ObservedMapping>>,
    /// The functions' own roles (`iamRoleStatements`) the config names, as they exist.
    pub function_roles: Vec<ObservedRole>,
    /// Read only for a removal: a deploy prepares the bucket when it needs it.
    pub bucket: Option<ObservedBucket>,
    /// Keyed by Lambda function name: the desired functions that exist, and every other
    /// function tagged for this service and stage.
    pub functions: BTreeMap<String, ObservedFunction>,
    /// Keyed by Lambda function name: the resource policy of its alias.
    pub permissions: BTreeMap<String, Statements>,
    /// Keyed by group name: the log groups of the desired functions and of the other
    /// functions of ours, where they exist.
    pub log_groups: BTreeMap<String, ObservedLogGroup>,
    pub http_api: Option<ObservedHttpApi>,
    pub rest_api: Option<ObservedRestApi>,
    pub websocket: Option<ObservedWebsocket>,
    /// Cognito user pools the config names, and those our functions' grants name.
    pub user_pools: Vec<ObservedUserPool>,
    /// The service's EventBridge Scheduler group and its schedules.
    pub schedule_group: Option<ObservedScheduleGroup>,
    /// The role Scheduler invokes through.
    pub scheduler_role: Option<ObservedRole>,
    /// ALB target groups the config names, and ours found by tags.
    pub target_groups: Vec<ObservedTargetGroup>,
    /// Rules on the listeners the config names, and on those our target groups are behind.
    pub listener_rules: Vec<ObservedListenerRule>,
    /// The side stack, read by a removal (a deploy plans it first, on its own).
    pub stack: Option<ObservedStack>,
    /// Keyed by layer name: the wanted layers and those this service and stage has a record of.
    pub layers: BTreeMap<String, ObservedLayer>,
    /// The custom domain the config names, and those of ours it no longer names.
    pub domains: Vec<ObservedDomain>,
    /// The ACM certificate the wanted custom domain is to use.
    pub certificate: Option<String>,
    /// The hosted zone the wanted custom domain's records go in, found by its name.
    pub domain_zone: Option<String>,
    /// The custom domains our records say this service and stage made.
    pub domain_records: Vec<String>,
    /// What Serverless v3 made that sls replaced, by function name (from the adoption's
    /// records): deleted once sls's replacements are in place.
    pub adopted: BTreeMap<String, adopt::Leftovers>,
    /// The record of `sls adopt`, when the stage was (or is being) adopted.
    pub adoption: Option<adopt::Adoption>,
}

/// When a step runs. Phases run in this order; within a phase, the steps of one lane (one
/// function, one API) run in plan order and lanes run side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Phase {
    /// The side stack of `resources:`, whose outputs the rest of the config may use.
    Stack,
    /// The execution role, which every function names.
    Role,
    /// The functions' log groups, made before Lambda makes them untagged at the first call.
    LogGroups,
    /// The bucket large artifacts go through.
    Bucket,
    /// The layers' versions, which the functions name.
    Layers,
    /// Each function's code, configuration, version and alias.
    Functions,
    /// The APIs that route to the aliases.
    Apis,
    /// The custom domain, mapped to an API's stage once the stage exists.
    Domains,
    /// Grants naming the APIs' ids.
    Permissions,
    /// What sends events to the aliases (event source mappings), once the role may read them.
    Triggers,
    /// Deletions come last, so nothing still routed disappears before its route.
    DeleteDomains,
    DeleteApis,
    DeleteTriggers,
    /// What Serverless v3 made that sls replaced on an adopted stage: after sls's replacements
    /// (and the deletion of triggers), before the functions may go.
    Tidy,
    DeleteFunctions,
    /// After the functions moved to (or went with) the versions that replace them.
    DeleteLayers,
    DeleteLogGroups,
    DeleteBucket,
    DeleteRole,
    /// Last: the functions that used its tables and queues are gone by then.
    DeleteStack,
}

impl Phase {
    /// What `deploy function -f` carries out: that function's own steps (its log group, the
    /// bucket its code may need, its event sources and their grants) and the role.
    pub fn in_function_deploy(self) -> bool {
        match self {
            // The role too: its policy is the whole service's, and a new queue or stream of this
            // function needs its statements before the mapping is made.
            Phase::Role
            | Phase::LogGroups
            | Phase::Bucket
            | Phase::Layers
            | Phase::Functions
            | Phase::Permissions
            | Phase::Triggers
            | Phase::DeleteTriggers => true,
            Phase::Apis
            | Phase::Domains
            | Phase::DeleteDomains
            | Phase::DeleteApis
            | Phase::Tidy
            | Phase::DeleteFunctions
            | Phase::DeleteLayers
            | Phase::DeleteLogGroups
            | Phase::DeleteBucket
            | Phase::DeleteRole
            | Phase::Stack
            | Phase::DeleteStack => false,
        }
    }
}

/// One field that changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub from: String,
    pub to: String,
}

impl Change {
    /// Adds to `out` the change of `field`, when `from` and `to` differ.
    pub fn note(out: &mut Vec<Change>, field: &str, from: String, to: String) {
        if from != to {
            out.push(Change {
                field: field.into(),
                from,
                to,
            });
        }
    }
}

/// What every kind's step says of itself; [`Step`] hands each question to its kind.
pub trait KindStep: fmt::Display {
    /// When the step runs.
    fn phase(&self) -> Phase;
    /// Steps of one lane run in order; lanes of one phase run side by side.
    fn lane(&self) -> String;
    /// The resource a removal reports as gone once the step ran.
    fn removes(&self) -> Option<String> {
        None
    }
    /// Whether the step sends an artifact through the deployment bucket, which must be
    /// prepared first.
    fn uploads_via_s3(&self, _d: &Desired) -> bool {
        false
    }
}

/// The resource kinds, written once: `Variant(its step type) in its module`. [`Step`] and its
/// dispatch are made from it here, and the provider's dispatch to each kind's `apply` (a module
/// of the same name under `provider::aws`) from the same list, so a kind added here is a
/// compile error wherever it is not handled.
macro_rules! with_kinds {
    ($then:ident) => {
        $then! {
            Role(RoleStep) in role,
            Bucket(BucketStep) in bucket,
            Function(FunctionStep) in function,
            HttpApi(HttpApiStep) in http_api,
            RestApi(RestApiStep) in rest_api,
            Permission(PermissionStep) in permission,
            LogGroup(LogGroupStep) in log_group,
            Mapping(MappingStep) in event_source,
            Schedule(ScheduleStep) in schedule,
            Topic(TopicStep) in topic,
            Notification(NotificationStep) in notification,
            LogSubscription(LogSubscriptionStep) in log_subscription,
            Alexa(AlexaStep) in alexa,
            Websocket(WebsocketStep) in websocket,
            UserPool(UserPoolStep) in user_pool,
            Scheduler(SchedulerStep) in scheduler,
            Alb(AlbStep) in alb,
            Stack(StackStep) in stack,
            Layer(LayerStep) in layer,
            Domain(DomainStep) in domain,
            Adopted(AdoptedStep) in adopt,
        }
    };
}
pub(crate) use with_kinds;

macro_rules! steps {
    ($($kind:ident($t:ident) in $module:ident,)*) => {
        /// One step of a plan: a step of one resource kind. Serialised as the kind's step, whose
        /// `action` names it.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Step {
            $($kind($t),)*
        }

        impl Step {
            /// The kind's own step, which answers for it.
            pub fn of_kind(&self) -> &dyn KindStep {
                match self {
                    $(Step::$kind(s) => s,)*
                }
            }
        }

        $(impl From<$t> for Step {
            fn from(s: $t) -> Step {
                Step::$kind(s)
            }
        })*
    };
}
with_kinds!(steps);

impl Step {
    pub fn phase(&self) -> Phase {
        self.of_kind().phase()
    }

    /// Steps of one lane run in order; lanes of one phase run side by side.
    pub fn lane(&self) -> String {
        self.of_kind().lane()
    }

    /// The resource a removal reports as gone once the step ran.
    pub fn removes(&self) -> Option<String> {
        self.of_kind().removes()
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.of_kind().fmt(f)
    }
}

/// A resource with our name that we do not own: never changed, reported instead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub resource: String,
    pub reason: String,
}

/// Resources with our names that we do not own block a deploy (exit code 6).
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(Conflict::advice).collect::<Vec<_>>().join("\n"))]
pub struct ConflictError(pub Vec<Conflict>);

impl Conflict {
    /// The conflict with what to do; a v3 deployment is adopted, never removed by hand (its
    /// stack holds the tables and the API the clients call).
    fn advice(&self) -> String {
        if self.reason.contains("sls adopt") {
            format!("{}: {}", self.resource, self.reason)
        } else {
            format!(
                "{}: {}; rename it in the config or remove it yourself",
                self.resource, self.reason
            )
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub steps: Vec<Step>,
    pub conflicts: Vec<Conflict>,
    /// Resources in this service's names that lack its tags and are not wanted: never
    /// touched, reported by `remove`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_alone: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn push(&mut self, step: impl Into<Step>) {
        self.steps.push(step.into());
    }

    pub fn leave_alone(&mut self, resource: String) {
        self.left_alone.push(resource);
    }
}

const NOT_OURS: &str = "exists without the sls:service/sls:stage tags of this service";

/// Every kind planned, then ordered by phase (a stable sort: each kind's own order holds).
pub fn plan(d: &Desired, o: &Observed) -> Plan {
    let mut p = Plan::default();
    role::plan(d.role.as_ref(), o.role.as_ref(), &mut p);
    for spec in &d.function_roles {
        let have = o.function_roles.iter().find(|r| r.name == spec.name);
        role::plan(Some(spec), have, &mut p);
    }
    // Own roles the config no longer names (a removal): deleted when ours.
    for r in &o.function_roles {
        if !d.function_roles.iter().any(|s| s.name == r.name) {
            role::plan(None, Some(r), &mut p);
        }
    }
    role::plan_former(&o.former_roles, &mut p);
    // Scheduler's role: planned on a deploy to the live alias only, as the schedules are.
    if d.alias == d.live {
        role::plan(d.scheduler_role.as_ref(), o.scheduler_role.as_ref(), &mut p);
    }
    layer::plan(d, o, &mut p);
    // The functions name the layers' versions: those that exist, or those the plan publishes.
    function::plan(&layer::with_versions(d, o), o, &mut p);
    let uploads = p.steps.iter().any(|s| s.of_kind().uploads_via_s3(d));
    bucket::plan(d.bucket.as_ref(), uploads, o.bucket.as_ref(), &mut p);
    // A deploy to another alias ships code and configuration only: the APIs route to the
    // live alias, and so do the event sources.
    if d.alias == d.live {
        http_api::plan(d, o, &mut p);
        rest_api::plan(d, o, &mut p);
        websocket::plan(d, o, &mut p);
        event_source::plan(d, o, &mut p);
        schedule::plan(d, o, &mut p);
        topic::plan(d, o, &mut p);
        notification::plan(d, o, &mut p);
        log_subscription::plan(d, o, &mut p);
        alexa::plan(d, o, &mut p);
        user_pool::plan(d, o, &mut p);
        scheduler::plan(d, o, &mut p);
        alb::plan(d, o, &mut p);
    }
    domain::plan(d, o, &mut p);
    permission::plan(d, o, &mut p);
    adopt::plan_adopted(d, o, &mut p);
    log_group::plan(d, o, &mut p);
    // Only a removal reads the stack here: a deploy plans and applies it before the rest.
    match stack::plan(None, o.stack.as_ref(), None) {
        Ok(steps) => steps.into_iter().for_each(|s| p.push(s)),
        Err(c) => p.conflicts.push(c),
    }
    p.steps.sort_by_key(Step::phase);
    p
}

pub use crate::config::model::partition;

/// Keeps names within `max` characters: a prefix and 8 hex digits of the full name's sha256,
/// so two long names never collide by truncation.
pub fn fit(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let hex = short_digest(name, 4);
    let mut cut = max - 9;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{hex}", &name[..cut])
}

/// The first `bytes` bytes of the text's sha256, in hex: names and tokens derived from content.
pub fn short_digest(text: &str, bytes: usize) -> String {
    Sha256::digest(text.as_bytes())[..bytes]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where sls keeps the records of a service and stage (SSM parameters: the lease, what it
/// published of layers, the custom domain it made).
pub fn record_root(service: &str, stage: &str) -> String {
    format!("/sls/{service}/{stage}/")
}

/// The prefix of every rule name sls gives: `{service}-{stage}-`. The schedule grant on each
/// function covers `rule/{prefix}*`, so one statement serves every rule of the service.
pub fn rule_prefix(service: &str, stage: &str) -> String {
    format!("{service}-{stage}-")
}

/// `POST /users` → (`POST`, `/users`).
pub fn split_route(route: &str) -> (&str, &str) {
    route.split_once(' ').unwrap_or(("ANY", route))
}

/// `METHOD - URL` lines, as Serverless v3 prints endpoints, for the route keys of an API.
pub fn endpoints<'a>(routes: impl Iterator<Item = &'a String>, base: &str) -> Vec<String> {
    routes
        .map(|r| match r.split_once(' ') {
            Some((m, p)) => format!("{m} - {base}{p}"),
            None => format!("ANY - {base}"),
        })
        .collect()
}

/// `function:{name}:{alias}`: how an integration URI or permission names a function's live
/// alias.
pub fn alias_arn_suffix(d: &Desired, key: &str) -> String {
    let name = d.function(key).map_or(key, |f| f.name.as_str());
    d.qualified(&format!("function:{name}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn function(key: &str) -> FunctionSpec {
        FunctionSpec {
            key: key.into(),
            name: format!("svc-dev-{key}"),
            config: FunctionConfig {
                runtime: "nodejs22.x".into(),
                handler: format!("{key}.main"),
                memory_size: 1024,
                timeout: 6,
                environment: BTreeMap::from([("TOKEN".into(), "s3cret".into())]),
                architecture: "x86_64".into(),
                ephemeral_storage: 512,
                description: String::new(),
                layers: vec![],
                dead_letter_target: String::new(),
                role: "/svc-dev-eu-west-1-lambdaRole".into(),
                tracing: "PassThrough".into(),
                kms_key_arn: String::new(),
                vpc_subnets: vec![],
                vpc_security_groups: vec![],
                vpc_ipv6: false,
                log_format: "Text".into(),
                application_log_level: String::new(),
                system_log_level: String::new(),
                log_group: String::new(),
            },
            tags: BTreeMap::from([("sls:service".into(), "svc".into())]),
            zip: format!(".serverless/{key}.zip"),
            sha256: format!("sha-{key}"),
            size: 100,
            via_s3: false,
            reserved_concurrency: None,
            async_invoke: None,
            url: None,
            role_arn: None,
            own_role: None,
            provisioned_concurrency: None,
        }
    }

    /// Two functions: `a` behind `GET /a` of the HTTP API, `b` behind `POST /b/{id}` of the
    /// REST API.
    pub fn desired() -> Desired {
        Desired {
            service: "svc".into(),
            stage: "dev".into(),
            region: "eu-west-1".into(),
            alias: "live".into(),
            live: "live".into(),
            versioned: true,
            alias_name: "live".into(),
            version_retention: None,
            tags: BTreeMap::new(),
            role: Some(RoleSpec {
                name: "svc-dev-eu-west-1-lambdaRole".into(),
                policy: serde_json::json!({"Statement": []}),
                policy_name: "svc-dev-lambda".into(),
                managed_policies: vec![],
                path: "/".into(),
                permissions_boundary: None,
                tags: BTreeMap::new(),
                trust: role::LAMBDA_TRUST.into(),
            }),
            existing_role: None,
            function_roles: Vec::new(),
            bucket: Some(BucketSpec { user: None }),
            functions: vec![function("a"), function("b")],
            http_api: Some(HttpApiSpec {
                name: "dev-svc".into(),
                routes: BTreeMap::from([("GET /a".into(), "a".into())]),
                cors: None,
                payload: "2.0".into(),
                function_payloads: BTreeMap::new(),
                disable_default_endpoint: false,
                metrics: false,
            }),
            rest_api: Some(RestApiSpec {
                name: "dev-svc".into(),
                stage: "dev".into(),
                routes: BTreeMap::from([("POST /b/{id}".into(), "b".into())]),
                cors: BTreeMap::new(),
                settings: Default::default(),
                stage_settings: Default::default(),
                lambda_integration: Default::default(),
                operation_names: Default::default(),
            }),
            log_groups: ["a", "b"]
                .map(|k| LogGroupSpec {
                    log_group: log_group::name_of(&format!("svc-dev-{k}")),
                    retention_days: None,
                })
                .to_vec(),
            mappings: vec![],
            rules: vec![],
            buses: vec![],
            topics: vec![],
            subscriptions: vec![],
            function_only: false,
            event_buckets: vec![],
            log_subscriptions: vec![],
            alexa: vec![],
            websocket: None,
            user_pools: vec![],
            schedules: vec![],
            scheduler_role: None,
            target_groups: vec![],
            listener_rules: vec![],
            stack: None,
            layers: vec![],
            domain: None,
        }
    }

    /// What AWS holds after `d` was deployed completely: each kind's converged fixture.
    pub(crate) fn deployed(d: &Desired) -> Observed {
        let role = d.role.as_ref().unwrap();
        Observed {
            role: Some(ObservedRole {
                name: role.name.clone(),
                arn: "arn:aws:iam::123456789012:role/r".into(),
                owned: true,
                policy_name: role.policy_name.clone(),
                policy: Some(role.policy.clone()),
                managed_policies: role.managed_policies.clone(),
                path: role.path.clone(),
                permissions_boundary: None,
                tags: role.tags.clone(),
            }),
            former_roles: vec![],
            function_roles: vec![],
            mappings: BTreeMap::new(),
            rules: BTreeMap::new(),
            buses: BTreeMap::new(),
            topics: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            event_buckets: BTreeMap::new(),
            log_subscriptions: BTreeMap::new(),
            bucket: None,
            functions: function::tests::converged(d),
            permissions: permission::tests::converged(d),
            http_api: Some(http_api::tests::converged(d)),
            rest_api: Some(rest_api::tests::converged(d)),
            websocket: None,
            user_pools: vec![],
            schedule_group: None,
            scheduler_role: None,
            target_groups: vec![],
            layers: BTreeMap::new(),
            domains: vec![],
            certificate: None,
            domain_zone: None,
            domain_records: vec![],
            adopted: BTreeMap::new(),
            adoption: None,
            listener_rules: vec![],
            stack: None,
            log_groups: d
                .log_groups
                .iter()
                .map(|g| {
                    let o = ObservedLogGroup {
                        retention_days: g.retention_days,
                        owned: true,
                    };
                    (g.log_group.clone(), o)
                })
                .collect(),
        }
    }

    pub fn actions(p: &Plan) -> Vec<String> {
        p.steps
            .iter()
            .map(|s| {
                serde_json::to_value(s).unwrap()["action"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn nothing_deployed_creates_everything_in_dependency_order() {
        let d = desired();
        let p = plan(&d, &Observed::default());
        assert_eq!(
            actions(&p),
            [
                "createRole",
                "createLogGroup",
                "createLogGroup",
                "createFunction",
                "publishVersion",
                "createFunction",
                "publishVersion",
                "createHttpApi",
                "createIntegration",
                "createRoute",
                "createHttpStage",
                "createRestApi",
                "createRestResource",
                "createRestResource",
                "putRestMethod",
                "deployRestApi",
                "addPermission",
                "addPermission",
            ]
        );
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition("eu-west-1"), ("aws", "amazonaws.com"));
        assert_eq!(partition("cn-north-1"), ("aws-cn", "amazonaws.com.cn"));
        assert_eq!(partition("us-gov-west-1"), ("aws-us-gov", "amazonaws.com"));
        assert_eq!(
            rest_api::invoke_url("x", "cn-north-1", "dev"),
            "https://x.execute-api.cn-north-1.amazonaws.com.cn/dev"
        );
    }

    #[test]
    fn deploy_function_narrows_to_the_function_and_its_log_group() {
        let d = desired().only_function("b").unwrap();
        assert_eq!(d.functions.len(), 1);
        assert_eq!(d.log_groups[0].log_group, "/aws/lambda/svc-dev-b");
        assert_eq!(d.log_groups.len(), 1);
        assert!(d.http_api.is_none() && d.rest_api.is_none());
        assert!(desired().only_function("nope").is_none());
    }

    #[test]
    fn what_is_deployed_needs_no_step() {
        let d = desired();
        let p = plan(&d, &deployed(&d));
        assert!(p.is_empty() && p.conflicts.is_empty(), "{:?}", p.steps);
    }

    #[test]
    fn steps_serialise_as_their_kind_with_fields_named_for_what_they_hold() {
        let mut d = desired();
        let o = deployed(&d);
        d.functions[0].sha256 = "new".into();
        let p = plan(&d, &o);
        let doc = serde_json::to_value(&p).unwrap();
        assert_eq!(doc["steps"][0]["action"], "updateFunctionCode");
        assert_eq!(doc["steps"][0]["functionName"], "svc-dev-a");
        assert_eq!(doc["steps"][0]["function"], "a");
        assert!(doc.get("leftAlone").is_none(), "{doc}");
    }

    #[test]
    fn a_large_artifact_prepares_the_bucket_after_the_role_and_before_functions() {
        let mut d = desired();
        d.functions[1].via_s3 = true;
        let p = plan(&d, &Observed::default());
        assert_eq!(
            &actions(&p)[..5],
            [
                "createRole",
                "createLogGroup",
                "createLogGroup",
                "prepareDeploymentBucket",
                "createFunction"
            ]
        );
    }

    #[test]
    fn a_deploy_to_another_alias_ships_code_only_and_opens_a_url() {
        let mut d = desired();
        d.alias = "next".into();
        d.functions[0].sha256 = "new".into();
        // The APIs changed too, and a function left the config: none of it is touched.
        d.http_api.as_mut().unwrap().routes.clear();
        let mut o = deployed(&desired());
        o.permissions
            .entry("svc-dev-b".into())
            .or_default()
            .insert(function::URL_STATEMENT.into(), String::new());
        o.functions.get_mut("svc-dev-b").unwrap().url = Some(function::ObservedUrl {
            url: "https://b".into(),
            spec: function::UrlSpec::public(),
        });
        d.functions.pop();
        let p = plan(&d, &o);
        assert_eq!(
            actions(&p),
            ["updateFunctionCode", "publishVersion", "createFunctionUrl"]
        );
        assert!(
            matches!(&p.steps[1], Step::Function(FunctionStep::PublishVersion { alias, .. }) if alias == "next")
        );
        // Integrations keep naming the live alias.
        assert_eq!(alias_arn_suffix(&d, "a"), "function:svc-dev-a:live");
    }

    #[test]
    fn resources_we_do_not_own_are_conflicts_and_never_steps() {
        let d = desired();
        let mut o = deployed(&d);
        o.role.as_mut().unwrap().owned = false;
        o.functions.get_mut("svc-dev-b").unwrap().owned = false;
        o.rest_api.as_mut().unwrap().owned = false;
        let p = plan(&d, &o);
        let resources: Vec<&str> = p.conflicts.iter().map(|c| c.resource.as_str()).collect();
        assert_eq!(
            resources,
            [
                "IAM role svc-dev-eu-west-1-lambdaRole",
                "Lambda function svc-dev-b",
                "REST API dev-svc (r1)"
            ]
        );
        assert!(!actions(&p).iter().any(|a| a.contains("Role")));
    }

    #[test]
    fn removed_things_go_last_children_before_parents() {
        let mut d = desired();
        let o = deployed(&d);
        d.functions.truncate(1);
        d.rest_api = None;
        let routes = &mut d.http_api.as_mut().unwrap().routes;
        routes.clear();
        routes.insert("GET /z".into(), "a".into());
        let p = plan(&d, &o);
        assert_eq!(
            actions(&p),
            [
                "createRoute",
                "deleteRoute",
                "deleteRestApi",
                "deleteFunction"
            ]
        );
    }

    #[test]
    fn a_removal_is_a_plan_against_nothing_in_reverse_order_of_creation() {
        let d = desired();
        let mut o = deployed(&d);
        o.bucket = Some(ObservedBucket {
            bucket: "svc-dev-sls-1-eu-west-1".into(),
            owned: true,
        });
        let p = plan(&d.nothing(), &o);
        assert_eq!(
            actions(&p),
            [
                "deleteHttpApi",
                "deleteRestApi",
                "deleteFunction",
                "deleteFunction",
                "deleteLogGroup",
                "deleteLogGroup",
                "deleteDeploymentBucket",
                "deleteRole"
            ]
        );
        let removed: Vec<String> = p.steps.iter().filter_map(Step::removes).collect();
        assert_eq!(
            removed,
            [
                "HTTP API dev-svc (h1)",
                "REST API dev-svc (r1)",
                "Lambda function svc-dev-a",
                "Lambda function svc-dev-b",
                "log group /aws/lambda/svc-dev-a",
                "log group /aws/lambda/svc-dev-b",
                "S3 bucket svc-dev-sls-1-eu-west-1",
                "IAM role svc-dev-eu-west-1-lambdaRole"
            ]
        );
        // Removed already: nothing left to do.
        assert!(plan(&d.nothing(), &Observed::default()).is_empty());
    }
}
