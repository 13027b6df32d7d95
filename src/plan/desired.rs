//! What the config asks for, as AWS will hold it: names, tags, the role's policies, each
//! function's configuration and code digest, and the routes. Built from the config and the
//! package manifest; no AWS calls.

use std::collections::BTreeMap;

use serde::Serialize;

use super::alb::{ListenerRuleSpec, TargetGroupSpec};
use super::alexa::AlexaGrant;
use super::bucket::BucketSpec;
use super::event_source::MappingSpec;
use super::events::Events;
use super::function::FunctionSpec;
use super::http_api::HttpApiSpec;
use super::log_group::LogGroupSpec;
use super::log_subscription::LogSubscriptionSpec;
use super::naming::{MANAGED_BY, TAG_MANAGED_BY, TAG_SERVICE, TAG_STAGE};
use super::notification::EventBucketSpec;
use super::rest_api::RestApiSpec;
use super::role::RoleSpec;
use super::schedule::RuleSpec;
use super::scheduler::ScheduleSpec;
use super::topic::{SubscriptionSpec, TopicSpec};
use super::user_pool::UserPoolSpec;
use super::websocket::WebsocketSpec;
use crate::config::Config;
use crate::package::Manifest;

pub const DEFAULT_ALIAS: &str = "live";
/// What an unversioned service (`versionFunctions: false`) runs and names: the unqualified
/// function.
pub const LATEST: &str = "$LATEST";
#[derive(Debug, Clone, Serialize)]
pub struct Desired {
    pub service: String,
    pub stage: String,
    pub region: String,
    /// The alias this deploy moves to the versions it publishes: `live`, or `--alias NAME`.
    pub alias: String,
    /// The alias the APIs route to (`provider.alias`, default `live`).
    pub live: String,
    /// `provider.versionFunctions` (default true): versions are published and everything
    /// names the live alias; `false`, nothing is published and everything names the
    /// unqualified function (its `$LATEST`), as Serverless v3 deploys it.
    pub versioned: bool,
    /// The live alias' name whether versioned or not: where an unversioned service's triggers
    /// were before it turned versioning off (read to move them).
    pub alias_name: String,
    /// `provider.versionRetention`: unaliased versions kept after a deploy (`None`: all).
    pub version_retention: Option<u32>,
    /// Ownership tags plus `provider.tags`.
    pub tags: BTreeMap<String, String>,
    /// The role sls keeps for the service: `None` in [`Desired::nothing`], and when every
    /// function runs as a role the config names.
    pub role: Option<RoleSpec>,
    /// `iam.role` (or `provider.role`) as an existing role's ARN.
    pub existing_role: Option<String>,
    /// The roles of functions with their own statements (`iamRoleStatements`), by role name.
    pub function_roles: Vec<RoleSpec>,
    pub bucket: Option<BucketSpec>,
    pub functions: Vec<FunctionSpec>,
    pub http_api: Option<HttpApiSpec>,
    pub rest_api: Option<RestApiSpec>,
    /// One per function that logs (not `disableLogs`).
    pub log_groups: Vec<LogGroupSpec>,
    /// `sqs` and `stream` events: what polls each function's live alias.
    pub mappings: Vec<MappingSpec>,
    /// `schedule` and `eventBridge` events: one EventBridge rule per expression or pattern.
    pub rules: Vec<RuleSpec>,
    /// The event buses the rules name (not ARNs, not `default`): created when missing.
    pub buses: Vec<String>,
    /// `sns` events: the topics they name, and each function alias' subscriptions.
    pub topics: Vec<TopicSpec>,
    pub subscriptions: Vec<SubscriptionSpec>,
    /// Narrowed by [`Desired::only_function`]: grants of kinds left out (APIs, buckets) are
    /// neither made nor revoked.
    pub function_only: bool,
    /// `s3` events: per bucket, our notification entries.
    pub event_buckets: Vec<EventBucketSpec>,
    /// `cloudwatchLog` events: a subscription filter per function and log group.
    pub log_subscriptions: Vec<LogSubscriptionSpec>,
    /// `alexaSkill` and `alexaSmartHome` events: a grant per function and skill.
    pub alexa: Vec<AlexaGrant>,
    /// The WebSocket API of the `websocket` events.
    pub websocket: Option<WebsocketSpec>,
    /// The Cognito user pools of the `cognitoUserPool` events, with their triggers.
    pub user_pools: Vec<UserPoolSpec>,
    /// `schedule` events with `method: scheduler`.
    pub schedules: Vec<ScheduleSpec>,
    /// The role EventBridge Scheduler invokes them through.
    pub scheduler_role: Option<RoleSpec>,
    /// `alb` events: a target group per function, load balancer and header mode, and the rules.
    pub target_groups: Vec<TargetGroupSpec>,
    pub listener_rules: Vec<ListenerRuleSpec>,
    /// The side stack of `resources:`; set by a deploy once its template is built.
    pub stack: Option<super::stack::StackSpec>,
    /// `layers:`.
    pub layers: Vec<super::LayerSpec>,
    /// serverless-domain-manager's `custom.customDomain`.
    pub domain: Option<super::DomainSpec>,
}

/// Builds the desired state. `manifest` says which zip each function runs. Each kind builds its
/// own part; the events go to their kinds in one pass ([`Events::of`]).
pub fn desired(config: &Config, stage: &str, region: &str, manifest: &Manifest) -> Desired {
    let service = config.service.clone();
    let p = &config.provider;
    let mut tags: BTreeMap<String, String> = p
        .tags
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    tags.insert(TAG_SERVICE.into(), service.clone());
    tags.insert(TAG_STAGE.into(), stage.into());
    tags.insert(TAG_MANAGED_BY.into(), MANAGED_BY.into());
    let events = Events::of(config);
    let mappings = super::event_source::desired(&events.sources);
    let roles = super::role::desired(
        config,
        stage,
        region,
        &tags,
        &mappings,
        !events.websocket.is_empty(),
    );
    let functions = super::function::desired(config, stage, manifest, &tags, &roles);
    let schedules = super::scheduler::desired(&service, stage, &events.rules);
    let scheduler_role =
        super::scheduler::role_of(config, stage, region, &schedules, &roles.service);
    let (topics, subscriptions) = super::topic::desired(&events.sns);
    let rules = super::schedule::desired(&service, stage, &events.rules);
    let rest_api = super::rest_api::desired(config, stage, &events.http);
    let websocket = super::websocket::desired(config, stage, &events.websocket);
    let domain = super::domain::desired(config, stage, rest_api.as_ref(), websocket.as_ref());
    let (target_groups, listener_rules) = super::alb::desired(config, stage, &events.alb);
    let mut buses: Vec<String> = rules
        .iter()
        .filter_map(|r| r.bus.clone())
        .filter(|b| !b.starts_with("arn:"))
        .collect();
    buses.sort();
    buses.dedup();
    let versioned = p.version_functions != Some(false);
    let alias_name = p.alias.clone().unwrap_or_else(|| DEFAULT_ALIAS.into());
    // Unversioned, what runs and what every trigger names is the function itself: `$LATEST`.
    let live = match versioned {
        true => alias_name.clone(),
        false => LATEST.to_string(),
    };
    Desired {
        stage: stage.into(),
        region: region.into(),
        alias: live.clone(),
        live,
        versioned,
        alias_name,
        version_retention: p.version_retention.map(|v| v.0),
        // The service's role, unless every function runs as a role the config names or one
        // of its own.
        role: (roles.existing.is_none()
            && (functions.is_empty()
                || functions
                    .iter()
                    .any(|f| f.role_arn.is_none() && f.own_role.is_none())))
        .then_some(roles.service),
        existing_role: roles.existing,
        function_roles: roles.own.into_values().collect(),
        bucket: Some(BucketSpec {
            user: p.deployment_bucket.as_ref().and_then(|b| b.name.clone()),
        }),
        http_api: super::http_api::desired(config, stage, &events.http_api),
        functions,
        rest_api,
        websocket,
        user_pools: super::user_pool::desired(&events.cognito),
        schedules,
        scheduler_role,
        target_groups,
        stack: None,
        layers: super::layer::desired(config, stage, manifest),
        domain,
        listener_rules,
        log_groups: super::log_group::desired(config, stage),
        mappings,
        topics,
        subscriptions,
        function_only: false,
        event_buckets: super::notification::desired(&service, stage, &events.s3),
        alexa: super::alexa::desired(&events.alexa),
        log_subscriptions: super::log_subscription::desired(&events.cloudwatch_log),
        buses,
        rules,
        tags,
        service,
    }
}

/// The qualifier an AWS call names for `alias`: none for [`LATEST`], the unqualified function.
pub fn qualifier(alias: &str) -> Option<&str> {
    (alias != LATEST).then_some(alias)
}

impl Desired {
    /// `arn` (or `function:NAME`) as every trigger, grant and URL names it: with the live
    /// alias, or unqualified for an unversioned service.
    pub fn qualified(&self, arn: &str) -> String {
        match qualifier(&self.live) {
            Some(q) => format!("{arn}:{q}"),
            None => arn.to_string(),
        }
    }

    /// Narrowed to one function, for `deploy function`: that function and its log group, no APIs.
    /// `None` when the config has no such function.
    pub fn only_function(mut self, key: &str) -> Option<Desired> {
        self.functions.retain(|f| f.key == key);
        let group = super::log_group::name_of(&self.functions.first()?.name);
        self.log_groups.retain(|g| g.log_group == group);
        self.mappings.retain(|m| m.function == key);
        self.rules.retain(|r| r.function == key);
        self.subscriptions.retain(|s| s.function == key);
        self.log_subscriptions.retain(|s| s.function == key);
        self.alexa.retain(|g| g.function == key);
        let topics: Vec<String> = self.subscriptions.iter().map(|s| s.topic.clone()).collect();
        self.topics.retain(|t| topics.contains(&t.name));
        // A bucket's notifications are one document: `deploy function` leaves them to `deploy`.
        self.event_buckets.clear();
        let own = self.functions.first()?.own_role.clone();
        self.function_roles
            .retain(|r| Some(&r.name) == own.as_ref());
        self.http_api = None;
        self.rest_api = None;
        self.websocket = None;
        // A pool's triggers are one configuration: `deploy function` leaves them to `deploy`.
        self.user_pools.clear();
        self.schedules.retain(|s| s.function == key);
        // Rules of one listener are ordered together: `deploy function` leaves them to `deploy`.
        self.target_groups.clear();
        self.listener_rules.clear();
        self.function_only = true;
        Some(self)
    }

    /// The same service and stage with nothing wanted: what `sls remove` plans against.
    pub fn nothing(&self) -> Desired {
        Desired {
            role: None,
            function_roles: Vec::new(),
            bucket: None,
            functions: Vec::new(),
            http_api: None,
            rest_api: None,
            websocket: None,
            user_pools: Vec::new(),
            schedules: Vec::new(),
            scheduler_role: None,
            target_groups: Vec::new(),
            stack: None,
            layers: Vec::new(),
            // Kept, so that a removal reads the domain it names (someone else's domain
            // keeps no tag of ours): with no API wanted, the planner wants no domain.
            listener_rules: Vec::new(),
            log_groups: Vec::new(),
            mappings: Vec::new(),
            rules: Vec::new(),
            buses: Vec::new(),
            topics: Vec::new(),
            subscriptions: Vec::new(),
            function_only: false,
            event_buckets: Vec::new(),
            log_subscriptions: Vec::new(),
            alexa: Vec::new(),
            alias: self.live.clone(),
            ..self.clone()
        }
    }

    /// The function under this key in `functions:`.
    pub fn function(&self, key: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.key == key)
    }

    /// The function with this Lambda name.
    pub fn function_named(&self, name: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::naming::{function_name, function_role_name, role_name};

    #[test]
    fn long_names_are_shortened_without_collisions() {
        let a = function_name(&"s".repeat(40), "prod", &"a".repeat(30));
        let b = function_name(&"s".repeat(40), "prod", &format!("{}b", "a".repeat(29)));
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(function_name("svc", "dev", "api"), "svc-dev-api");
        assert_eq!(
            role_name("svc", "dev", "eu-west-1"),
            "svc-dev-eu-west-1-lambdaRole"
        );
    }

    /// The desired state of a config written out as serverless.yml (shared by planner tests).
    pub(crate) fn desired_of(yaml: &str) -> Desired {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        let loaded = crate::config::load(&crate::config::LoadOptions {
            cwd: dir.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap();
        let manifest = Manifest::unpackaged("svc", "dev", "us-east-1");
        desired(&loaded.config, "dev", "us-east-1", &manifest)
    }

    #[test]
    fn layers_are_named_as_v3_and_the_python_requirements_plugin_name_them() {
        let d = desired_of(
            "service: svc
provider:
  name: aws
  runtime: python3.12
layers:
  common:
    path: common
  tools:
    path: tools
    name: team-tools
    allowedAccounts: ['222233334444', '111122223333', '111122223333']
functions:
  f:
    handler: h.main
    layers: [{Ref: CommonLambdaLayer}, {Ref: PythonRequirementsLambdaLayer}]
custom:
  pythonRequirements:
    layer: true
",
        );
        let names: Vec<(&str, &str)> = d
            .layers
            .iter()
            .map(|l| (l.key.as_str(), l.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("common", "common"),
                ("tools", "team-tools"),
                ("pythonRequirements", "svc-dev-python-requirements")
            ]
        );
        assert_eq!(
            d.layers[1].allowed_accounts,
            ["111122223333", "222233334444"]
        );
        let py = &d.layers[2];
        assert_eq!(
            py.description,
            "Python requirements generated by serverless-python-requirements."
        );
        assert_eq!(py.runtimes, ["python3.12"]);
        assert_eq!(
            d.functions[0].config.layers,
            ["sls:layer:common", "sls:layer:pythonRequirements"]
        );
    }

    #[test]
    fn own_roles_take_the_service_role_as_template_and_inherit_only_when_asked() {
        let d = desired_of(
            "service: svc
provider:
  name: aws
  iam:
    role:
      path: /team/
      managedPolicies: [arn:aws:iam::aws:policy/P]
      statements:
        - {Effect: Allow, Action: 'sqs:*', Resource: '*'}
custom:
  serverless-iam-roles-per-function:
    defaultInherit: true
functions:
  a:
    handler: a.main
    iamRoleStatements: []
  b:
    handler: b.main
    iamRoleStatementsInherit: false
    iamRoleStatementsName: b-role
    iamRoleStatements:
      - {Effect: Allow, Action: 's3:GetObject', Resource: '*'}
",
        );
        // Every function has its own role: none for the service.
        assert!(d.role.is_none());
        let names: Vec<&str> = d.function_roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["svc-dev-a-us-east-1-lambdaRole", "b-role"]);
        let text = |i: usize| d.function_roles[i].policy.to_string();
        // `a` inherits (the custom default), `b` opted out.
        assert!(text(0).contains("sqs:*") && !text(0).contains("s3:GetObject"));
        assert!(!text(1).contains("sqs:*") && text(1).contains("s3:GetObject"));
        for r in &d.function_roles {
            assert_eq!(r.path, "/team/");
            assert_eq!(r.managed_policies, ["arn:aws:iam::aws:policy/P"]);
        }
        assert_eq!(d.functions[1].config.role, "/team/b-role");
        assert_eq!(d.functions[1].own_role.as_deref(), Some("b-role"));
        // `deploy function -f b` keeps b's role only.
        let only = d.only_function("b").unwrap();
        assert_eq!(only.function_roles.len(), 1);
        assert_eq!(only.function_roles[0].name, "b-role");
    }

    #[test]
    fn an_own_role_name_over_64_characters_drops_its_suffix_then_shortens() {
        let n = function_role_name("service", "production", "handler", "ap-southeast-2");
        assert_eq!(n, "service-production-handler-ap-southeast-2-lambdaRole");
        let long = function_role_name(&"s".repeat(30), "production", "handler", "ap-southeast-2");
        assert!(!long.ends_with("lambdaRole") && long.len() <= 64, "{long}");
    }
}
