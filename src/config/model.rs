//! The typed `serverless.yml` model: what Serverless v3 users write for AWS, after variables are
//! resolved and shorthand forms are expanded (see `shorthand`). Field names follow the YAML keys.
//!
//! Checks that concern one value (memory 128–10240 MB, timeout 1–900 s, …) live in the value's
//! type, so that the error points at the value. Checks across values live in `validate`.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value as Json;

pub type Environment = IndexMap<String, Text>;
pub type Tags = IndexMap<String, Text>;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub service: String,
    pub framework_version: Option<String>,
    pub config_validation_mode: Option<ValidationMode>,
    pub provider: Provider,
    pub functions: Option<IndexMap<String, Function>>,
    pub package: Option<Package>,
    pub custom: Option<Json>,
    pub params: Option<IndexMap<String, Option<IndexMap<String, Json>>>>,
    /// Reported as unsupported; kept so the warning can name them.
    pub plugins: Option<Json>,
    pub resources: Option<Json>,
    pub layers: Option<IndexMap<String, Layer>>,
    /// Serverless v4's build settings: `build.esbuild` bundles the Node handlers.
    pub build: Option<Json>,
    // Accepted and ignored: they concern the Serverless dashboard or the Node loader.
    pub org: Option<Json>,
    pub app: Option<Json>,
    pub console: Option<Json>,
    pub dashboard: Option<Json>,
    pub use_dotenv: Option<Json>,
    pub variables_resolution_mode: Option<Json>,
    pub disabled_deprecations: Option<Json>,
    pub deprecation_notification_mode: Option<Json>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationMode {
    Error,
    Warn,
    Off,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub name: String,
    pub runtime: Option<String>,
    pub stage: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub memory_size: Option<MemorySize>,
    pub timeout: Option<Timeout>,
    pub environment: Option<Environment>,
    pub architecture: Option<Architecture>,
    pub tags: Option<Tags>,
    pub iam: Option<Iam>,
    pub iam_role_statements: Option<Vec<Statement>>,
    pub iam_managed_policies: Option<Vec<String>>,
    /// Older form of `iam.role` as an existing role's ARN or name.
    pub role: Option<String>,
    /// Older form of `iam.role.permissionsBoundary`.
    pub role_permissions_boundary: Option<String>,
    /// `tracing: {lambda: true | Active | PassThrough, apiGateway: bool}`.
    pub tracing: Option<Tracing>,
    pub kms_key_arn: Option<String>,
    pub vpc: Option<Vpc>,
    pub http_api: Option<HttpApi>,
    pub api_gateway: Option<ApiGateway>,
    pub log_retention_in_days: Option<LogRetention>,
    pub deployment_bucket: Option<DeploymentBucket>,
    /// The alias that receives traffic (sls extension; default `live`).
    pub alias: Option<String>,
    /// How many versions no alias points at survive a deploy (sls extension; default: all).
    pub version_retention: Option<VersionRetention>,
    /// `false`: no versions are published; every trigger, grant and URL names the unqualified
    /// function, as Serverless v3 deploys it (default `true`).
    pub version_functions: Option<bool>,
    pub layers: Option<Vec<String>>,
    pub logs: Option<ProviderLogs>,
    /// The WebSocket API's name (default `{stage}-{service}-websockets`).
    pub websockets_api_name: Option<String>,
    /// Where API Gateway reads a message's route (default `$request.body.action`).
    pub websockets_api_route_selection_expression: Option<String>,
    /// The WebSocket API's description (default `Serverless Websockets`).
    pub websockets_description: Option<String>,
    pub websocket: Option<ProviderWebsocket>,
}

/// `provider.logs`: Lambda's logging configuration for every function (`lambda`), and the API
/// access logs (refused by validation until they are deployed).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderLogs {
    pub lambda: Option<LambdaLogs>,
    pub rest_api: Option<Json>,
    pub http_api: Option<Json>,
    pub websocket: Option<Json>,
    /// Logging of the Framework's own helper functions; sls deploys none.
    pub framework_lambda: Option<Json>,
}

/// Lambda's `LoggingConfig` (`provider.logs.lambda`, function `logs`); a function's own keys
/// take priority over the provider's, key by key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaLogs {
    /// `Text` (Lambda's default) or `JSON`.
    pub log_format: Option<String>,
    pub application_log_level: Option<String>,
    pub system_log_level: Option<String>,
    /// A log group of the user's, written to instead of `/aws/lambda/{name}` (not created).
    pub log_group: Option<String>,
    pub log_group_class: Option<String>,
}

impl LambdaLogs {
    /// A function's `logs` over the provider's `logs.lambda`, key by key.
    pub fn over(own: Option<&LambdaLogs>, provider: Option<&LambdaLogs>) -> LambdaLogs {
        let pick = |f: fn(&LambdaLogs) -> &Option<String>| {
            own.and_then(|l| f(l).clone())
                .or_else(|| provider.and_then(|l| f(l).clone()))
        };
        LambdaLogs {
            log_format: pick(|l| &l.log_format),
            application_log_level: pick(|l| &l.application_log_level),
            system_log_level: pick(|l| &l.system_log_level),
            log_group: pick(|l| &l.log_group),
            log_group_class: pick(|l| &l.log_group_class),
        }
    }
}

/// One entry of `layers:`: a Lambda layer sls packages and publishes (Serverless v3's keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    /// The directory whose files the layer holds (at `/opt` in the function).
    pub path: Option<String>,
    /// The layer's name in Lambda; the key when absent, as in Serverless v3.
    pub name: Option<String>,
    pub description: Option<String>,
    pub compatible_runtimes: Option<Vec<String>>,
    pub compatible_architectures: Option<Vec<Architecture>>,
    pub license_info: Option<String>,
    /// Keep superseded versions (and all versions on `remove`).
    pub retain: Option<bool>,
    /// Accounts (or `*`) that may use the layer's versions.
    pub allowed_accounts: Option<Vec<String>>,
    pub package: Option<Package>,
    /// The layer `custom.pythonRequirements.layer` asks for: the Python dependencies, packaged
    /// under `python/`, instead of a directory.
    #[serde(skip)]
    pub python_requirements: bool,
}

/// The key under which `custom.pythonRequirements.layer` adds its layer (v3's logical id
/// `PythonRequirementsLambdaLayer`).
pub const PYTHON_LAYER: &str = "pythonRequirements";

/// The layer `custom.pythonRequirements.layer` asks for, with serverless-python-requirements'
/// defaults under the settings given (its name, when not given, is named in `plan::desired`).
pub fn python_layer(custom: Option<&Json>, runtime: Option<&str>) -> Option<Layer> {
    let setting = custom?.get("pythonRequirements")?.get("layer")?;
    let given: Layer = match setting {
        Json::Bool(true) => serde_json::from_value(serde_json::json!({})).ok()?,
        Json::Object(_) => serde_json::from_value(setting.clone()).ok()?,
        _ => return None,
    };
    Some(Layer {
        description: given.description.or_else(|| {
            Some("Python requirements generated by serverless-python-requirements.".into())
        }),
        compatible_runtimes: given
            .compatible_runtimes
            .or_else(|| runtime.map(|r| vec![r.to_string()])),
        python_requirements: true,
        ..given
    })
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Iam {
    pub role: Option<IamRole>,
    pub deployment_role: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamRole {
    /// An existing role to use instead of creating one (`iam.role: arn:aws:iam::…`).
    pub arn: Option<String>,
    pub name: Option<String>,
    pub path: Option<String>,
    pub statements: Option<Vec<Statement>>,
    pub managed_policies: Option<Vec<String>>,
    pub permissions_boundary: Option<String>,
    pub tags: Option<Tags>,
}

impl Function {
    /// Whether the function asks for a role of its own: `iamRoleStatements` (even empty) or
    /// `iam.role` statements or managed policies.
    pub fn asks_own_role(&self) -> bool {
        self.iam_role_statements.is_some()
            || self
                .iam
                .as_ref()
                .and_then(|i| i.role.as_ref())
                .is_some_and(|r| r.statements.is_some() || r.managed_policies.is_some())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionIam {
    pub role: Option<FunctionIamRole>,
}

/// A function's own role: `statements` (over the provider's only if inherited), a `name`
/// (default `{service}-{stage}-{function}-{region}-lambdaRole`) and `managedPolicies` added to
/// the provider's.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionIamRole {
    pub name: Option<String>,
    pub statements: Option<Vec<Statement>>,
    pub managed_policies: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub action: Option<Vec<String>>,
    pub not_action: Option<Vec<String>>,
    pub resource: Option<Vec<String>>,
    pub not_resource: Option<Vec<String>>,
    pub condition: Option<Json>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApi {
    pub id: Option<String>,
    pub name: Option<String>,
    pub payload: Option<String>,
    pub cors: Option<Cors>,
    pub disable_default_endpoint: Option<bool>,
    pub metrics: Option<bool>,
    pub authorizers: Option<Json>,
}

/// CORS for HTTP APIs and function URLs; `cors: true` is expanded to an empty one (allow all).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    pub allowed_origins: Option<Vec<String>>,
    pub allowed_headers: Option<Vec<String>>,
    pub allowed_methods: Option<Vec<String>>,
    pub allow_credentials: Option<bool>,
    pub exposed_response_headers: Option<Vec<String>>,
    pub max_age: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiGateway {
    pub description: Option<String>,
    pub binary_media_types: Option<Vec<String>>,
    pub minimum_compression_size: Option<u32>,
    pub should_start_name_with_service: Option<bool>,
    pub disable_default_endpoint: Option<bool>,
    pub metrics: Option<bool>,
    pub api_keys: Option<Json>,
    /// `request.schemas`: models REST routes' `request.schemas` name by key (offline validates
    /// against them; deploying refuses them for now).
    pub request: Option<Json>,
    /// An API made elsewhere to add routes to: refused by validation.
    pub rest_api_id: Option<Json>,
    pub websocket_api_id: Option<Json>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentBucket {
    pub name: Option<String>,
    pub server_side_encryption: Option<String>,
    pub block_public_access: Option<bool>,
    pub max_previous_deployment_artifacts: Option<u32>,
    pub tags: Option<Tags>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    pub handler: Option<String>,
    /// `httpApi.payload`: the event format of this function's HTTP API integration (Serverless
    /// v3's function-level setting over `provider.httpApi.payload`).
    pub http_api: Option<FunctionHttpApi>,
    /// Container images are refused by validation; kept to say so clearly.
    pub image: Option<Json>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub runtime: Option<String>,
    pub memory_size: Option<MemorySize>,
    pub timeout: Option<Timeout>,
    pub environment: Option<Environment>,
    pub architecture: Option<Architecture>,
    pub ephemeral_storage_size: Option<EphemeralStorage>,
    pub layers: Option<Vec<String>>,
    pub reserved_concurrency: Option<u32>,
    pub provisioned_concurrency: Option<u32>,
    pub maximum_retry_attempts: Option<RetryAttempts>,
    pub maximum_event_age: Option<EventAge>,
    pub destinations: Option<Destinations>,
    pub on_error: Option<String>,
    /// serverless-python-requirements' per-function module: with `package.individually`, the
    /// function's zip holds that directory's files at its root and its own requirements.
    pub module: Option<String>,
    pub url: Option<FunctionUrl>,
    /// An existing role (its ARN) this function runs as instead of the service's.
    pub role: Option<String>,
    /// A role of its own with these statements (serverless-iam-roles-per-function's keys).
    pub iam_role_statements: Option<Vec<Statement>>,
    pub iam_role_statements_name: Option<String>,
    /// Whether the provider's statements are added to the function's own (default: no, or
    /// `custom.serverless-iam-roles-per-function.defaultInherit`).
    pub iam_role_statements_inherit: Option<bool>,
    /// `iam.role`: the same own role in the provider's shape.
    pub iam: Option<FunctionIam>,
    /// `Active`, `PassThrough`, or a boolean.
    pub tracing: Option<Json>,
    pub disable_logs: Option<bool>,
    pub log_retention_in_days: Option<LogRetention>,
    pub logs: Option<LambdaLogs>,
    pub kms_key_arn: Option<String>,
    pub vpc: Option<Vpc>,
    pub package: Option<Package>,
    pub events: Option<Vec<Event>>,
    pub tags: Option<Tags>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tracing {
    /// `true`, `Active`, `PassThrough`.
    pub lambda: Option<Json>,
    pub api_gateway: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vpc {
    pub security_group_ids: Option<Vec<String>>,
    pub subnet_ids: Option<Vec<String>>,
    pub ipv6_allowed_for_dual_stack: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Destinations {
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionUrl {
    pub cors: Option<Cors>,
    pub authorizer: Option<String>,
    pub invoke_mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    pub patterns: Option<Vec<String>>,
    pub individually: Option<bool>,
    pub artifact: Option<String>,
    pub exclude_dev_dependencies: Option<bool>,
    /// Serverless v2 forms, replaced by `patterns`; reported as deprecated.
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
}

/// One entry of a function's `events` list: a mapping with one key naming the kind.
#[derive(Debug, Clone, Deserialize)]
pub enum Event {
    #[serde(rename = "httpApi")]
    HttpApi(HttpApiEvent),
    #[serde(rename = "http")]
    Http(HttpEvent),
    #[serde(rename = "schedule")]
    Schedule(ScheduleEvent),
    #[serde(rename = "sqs")]
    Sqs(SqsEvent),
    #[serde(rename = "sns")]
    Sns(SnsEvent),
    #[serde(rename = "s3")]
    S3(S3Event),
    #[serde(rename = "stream")]
    Stream(StreamEvent),
    #[serde(rename = "eventBridge")]
    EventBridge(EventBridgeEvent),
    #[serde(rename = "alexaSkill")]
    AlexaSkill(AlexaEvent),
    #[serde(rename = "alexaSmartHome")]
    AlexaSmartHome(AlexaEvent),
    #[serde(rename = "cloudwatchLog")]
    CloudwatchLog(CloudwatchLogEvent),
    /// The older form of `eventBridge` on the default bus.
    #[serde(rename = "cloudwatchEvent")]
    CloudwatchEvent(CloudwatchEvent),
    #[serde(rename = "websocket")]
    Websocket(WebsocketEvent),
    #[serde(rename = "cognitoUserPool")]
    CognitoUserPool(CognitoUserPoolEvent),
    #[serde(rename = "msk")]
    Msk(MskEvent),
    #[serde(rename = "alb")]
    Alb(AlbEvent),
    #[serde(rename = "kafka")]
    Kafka(KafkaEvent),
    #[serde(rename = "activemq")]
    Activemq(MqEvent),
    #[serde(rename = "rabbitmq")]
    Rabbitmq(MqEvent),
    /// Serverless event kinds sls does not deploy: refused by validation with their location.
    #[serde(rename = "iot", alias = "iotFleetProvisioning", alias = "cloudFront")]
    Unsupported(Json),
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::HttpApi(_) => "httpApi",
            Event::Http(_) => "http",
            Event::Schedule(_) => "schedule",
            Event::Sqs(_) => "sqs",
            Event::Sns(_) => "sns",
            Event::S3(_) => "s3",
            Event::Stream(_) => "stream",
            Event::EventBridge(_) => "eventBridge",
            Event::CloudwatchEvent(_) => "cloudwatchEvent",
            Event::CloudwatchLog(_) => "cloudwatchLog",
            Event::AlexaSkill(_) => "alexaSkill",
            Event::AlexaSmartHome(_) => "alexaSmartHome",
            Event::Websocket(_) => "websocket",
            Event::CognitoUserPool(_) => "cognitoUserPool",
            Event::Msk(_) => "msk",
            Event::Alb(_) => "alb",
            Event::Kafka(_) => "kafka",
            Event::Activemq(_) => "activemq",
            Event::Rabbitmq(_) => "rabbitmq",
            Event::Unsupported(_) => "unsupported",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionHttpApi {
    pub payload: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiEvent {
    pub method: String,
    pub path: String,
    pub authorizer: Option<Json>,
}

/// The route key of an `httpApi` event, as API Gateway v2 names it: `*` for both method and
/// path is the `$default` route, a `*` method alone is `ANY`.
pub fn http_api_route_key(method: &str, path: &str) -> String {
    let method = method.to_uppercase();
    if method == "*" && path == "*" {
        return "$default".into();
    }
    let method = if method == "*" { "ANY" } else { &method };
    format!("{method} {path}")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpEvent {
    pub method: String,
    pub path: String,
    pub cors: Option<RestCors>,
    pub private: Option<bool>,
    pub authorizer: Option<Json>,
    pub integration: Option<String>,
    pub request: Option<Json>,
    #[serde(rename = "async")]
    pub is_async: Option<bool>,
    /// The method's `OperationName` (refused by deploying until it is deployed).
    pub operation_id: Option<String>,
}

/// CORS of a REST (`http`) route, in Serverless' REST shape.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestCors {
    pub origin: Option<String>,
    pub origins: Option<Vec<String>>,
    pub headers: Option<Vec<String>>,
    pub allow_credentials: Option<bool>,
    pub max_age: Option<u32>,
    pub cache_control: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleEvent {
    pub rate: Vec<String>,
    pub enabled: Option<bool>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub input: Option<Json>,
    pub input_path: Option<String>,
    pub input_transformer: Option<Json>,
    /// `scheduler` (EventBridge Scheduler) is refused by validation until it is deployed.
    pub method: Option<String>,
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsEvent {
    pub arn: String,
    pub batch_size: Option<u32>,
    pub maximum_batching_window: Option<u32>,
    pub maximum_concurrency: Option<u32>,
    pub enabled: Option<bool>,
    pub function_response_type: Option<String>,
    pub filter_patterns: Option<Json>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnsEvent {
    pub arn: Option<String>,
    pub topic_name: Option<String>,
    pub display_name: Option<String>,
    pub filter_policy: Option<Json>,
    pub filter_policy_scope: Option<String>,
    pub redrive_policy: Option<Json>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Event {
    pub bucket: String,
    pub event: Option<String>,
    pub rules: Option<Vec<Json>>,
    pub existing: Option<bool>,
    pub force_deploy: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamEvent {
    pub arn: String,
    #[serde(rename = "type")]
    pub kind: Option<StreamKind>,
    pub batch_size: Option<u32>,
    pub batch_window: Option<u32>,
    pub starting_position: Option<String>,
    pub enabled: Option<bool>,
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_record_age_in_seconds: Option<i64>,
    pub bisect_batch_on_function_error: Option<bool>,
    pub parallelization_factor: Option<u32>,
    pub function_response_type: Option<String>,
    pub filter_patterns: Option<Json>,
    /// With `startingPosition: AT_TIMESTAMP` (Kinesis): seconds since the epoch.
    pub starting_position_timestamp: Option<i64>,
    pub tumbling_window_in_seconds: Option<u32>,
    /// `onFailure`: an SQS queue or SNS topic ARN (or `{arn, type}`) for failed batches.
    pub destinations: Option<StreamDestinations>,
    /// Kinesis enhanced fan-out: refused by validation until it is deployed.
    pub consumer: Option<Json>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamDestinations {
    pub on_failure: Option<Json>,
}

/// An EventBridge rule on a bus: matching a `pattern`, or on a `schedule`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventBridgeEvent {
    /// `default`, a bus name (created when it does not exist) or a bus ARN (used as it is).
    pub event_bus: Option<String>,
    pub pattern: Option<Json>,
    pub schedule: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub input: Option<Json>,
    pub input_path: Option<String>,
    pub input_transformer: Option<Json>,
    pub retry_policy: Option<RetryPolicy>,
    pub dead_letter_queue_arn: Option<String>,
}

/// `alexaSkill` / `alexaSmartHome`: the skill id (`appId`, or the short form's string).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlexaEvent {
    pub app_id: Option<String>,
    pub enabled: Option<bool>,
}

/// A route of the service's WebSocket API (`- websocket: $connect` is `{route: $connect}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebsocketEvent {
    pub route: String,
    /// `$default`: the handler's return value is sent back to the client.
    pub route_response_selection_expression: Option<String>,
    /// Refused by validation until authorizers are deployed.
    pub authorizer: Option<Json>,
}

/// A trigger of a Cognito user pool: the pool sls makes (named `pool`), or one of yours
/// (`existing: true`), whose other settings and triggers are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CognitoUserPoolEvent {
    pub pool: String,
    pub trigger: String,
    pub existing: Option<bool>,
    /// Serverless' custom-resource switch; sls compares the triggers on every deploy.
    pub force_deploy: Option<bool>,
    /// The KMS key of the custom sender triggers.
    pub kms_key_id: Option<String>,
}

/// A listener rule of an Application Load Balancer forwarding to the function's live alias.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlbEvent {
    pub listener_arn: String,
    pub priority: u32,
    pub conditions: AlbConditions,
    pub multi_value_headers: Option<bool>,
    /// `true` or the health check's settings.
    pub health_check: Option<Json>,
    pub target_group_name: Option<String>,
    /// Refused by validation until ALB authentication is deployed.
    pub authorizer: Option<Json>,
}

/// What a request must match (all of them). Lists may be written as one string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlbConditions {
    pub path: Option<Vec<String>>,
    pub host: Option<Vec<String>>,
    pub method: Option<Vec<String>>,
    pub ip: Option<Vec<String>>,
    /// `{name, values}`, or a list of them.
    pub header: Option<Json>,
    /// Query string key → value.
    pub query: Option<IndexMap<String, String>>,
}

/// A topic of a self-managed Apache Kafka cluster, reached by its bootstrap servers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaEvent {
    pub bootstrap_servers: Vec<String>,
    pub topic: String,
    /// `saslPlainAuth`, `saslScram256Auth`, `saslScram512Auth`, `clientCertificateTlsAuth`,
    /// `serverRootCaCertificate` (secrets), `vpcSubnet`, `vpcSecurityGroup` → values (one or a
    /// list).
    pub access_configurations: IndexMap<String, Vec<String>>,
    pub batch_size: Option<u32>,
    pub maximum_batching_window: Option<u32>,
    pub enabled: Option<bool>,
    pub starting_position: Option<String>,
    pub starting_position_timestamp: Option<i64>,
    pub consumer_group_id: Option<String>,
    pub filter_patterns: Option<Json>,
}

/// A topic of an Amazon MSK cluster, polled by Lambda for the function's live alias.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MskEvent {
    pub arn: String,
    pub topic: String,
    pub batch_size: Option<u32>,
    pub maximum_batching_window: Option<u32>,
    pub enabled: Option<bool>,
    pub starting_position: Option<String>,
    pub starting_position_timestamp: Option<i64>,
    /// The Secrets Manager secret of SASL/SCRAM-512 authentication.
    pub sasl_scram512: Option<String>,
    pub consumer_group_id: Option<String>,
    pub filter_patterns: Option<Json>,
}

/// A queue of an Amazon MQ broker (`activemq`, `rabbitmq`), polled by Lambda.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MqEvent {
    pub arn: String,
    pub queue: String,
    /// The Secrets Manager secret with the broker's user name and password.
    pub basic_auth_arn: String,
    /// RabbitMQ only.
    pub virtual_host: Option<String>,
    pub batch_size: Option<u32>,
    pub maximum_batching_window: Option<u32>,
    pub enabled: Option<bool>,
    pub filter_patterns: Option<Json>,
}

/// `provider.websocket`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderWebsocket {
    /// Serverless v3's opt-in to tagging the API with `provider.tags`; sls always tags it.
    pub use_provider_tags: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudwatchLogEvent {
    pub log_group: String,
    /// The filter pattern; none matches every event.
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudwatchEvent {
    /// The event pattern.
    pub event: Option<Json>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub input: Option<Json>,
    pub input_path: Option<String>,
    pub input_transformer: Option<Json>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    pub maximum_event_age: Option<u32>,
    pub maximum_retry_attempts: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    Dynamodb,
    Kinesis,
}

/// A CloudFormation function's key in its long form (what `!Ref`, `!GetAtt`, … are read as).
pub fn is_intrinsic(key: &str) -> bool {
    key == "Ref" || key == "Condition" || key.starts_with("Fn::")
}

/// A scalar read as text: environment values and tags may be written as numbers or booleans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'v> serde::de::Visitor<'v> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            // `!Ref X` arrives as `{Ref: X}`: said as what it is.
            fn visit_map<A: serde::de::MapAccess<'v>>(self, mut map: A) -> Result<Text, A::Error> {
                let key: Option<String> = map.next_key()?;
                let found = match &key {
                    Some(k) if is_intrinsic(k) => serde::de::Unexpected::Other(k),
                    _ => serde::de::Unexpected::Map,
                };
                Err(serde::de::Error::invalid_type(found, &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A whole number that must lie in a range; the message names the setting and its unit.
macro_rules! ranged {
    ($name:ident, $lo:expr, $hi:expr, $what:literal, $unit:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
        #[serde(try_from = "i64")]
        pub struct $name(pub u32);

        impl $name {
            pub const MIN: u32 = $lo;
            pub const MAX: u32 = $hi;
        }

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(v: i64) -> Result<Self, String> {
                if (i64::from(Self::MIN)..=i64::from(Self::MAX)).contains(&v) {
                    Ok($name(v as u32))
                } else {
                    Err(format!(
                        "{} must be between {} and {}{}, got {v}",
                        $what,
                        Self::MIN,
                        Self::MAX,
                        $unit
                    ))
                }
            }
        }
    };
}

ranged!(MemorySize, 128, 10240, "memorySize", " MB");
ranged!(
    Timeout,
    1,
    900,
    "timeout",
    " seconds (Lambda's limit is 15 minutes)"
);
ranged!(EphemeralStorage, 512, 10240, "ephemeralStorageSize", " MB");
ranged!(RetryAttempts, 0, 2, "maximumRetryAttempts", "");
ranged!(EventAge, 60, 21600, "maximumEventAge", " seconds");
ranged!(VersionRetention, 0, 1000, "versionRetention", " versions");

/// CloudWatch Logs only accepts these retention periods.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct LogRetention(pub u32);

impl TryFrom<i64> for LogRetention {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match u32::try_from(v) {
            Ok(d) if LOG_RETENTION_DAYS.contains(&d) => Ok(LogRetention(d)),
            _ => Err(format!(
                "logRetentionInDays must be one of {} (CloudWatch Logs accepts no other value), got {v}",
                LOG_RETENTION_DAYS
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// The AWS partition of a region, which every ARN names, and the DNS suffix of its endpoints:
/// `aws` and `amazonaws.com`, except in China (`aws-cn`, `amazonaws.com.cn`) and GovCloud
/// (`aws-us-gov`).
pub fn partition(region: &str) -> (&'static str, &'static str) {
    if region.starts_with("cn-") {
        ("aws-cn", "amazonaws.com.cn")
    } else if region.starts_with("us-gov-") {
        ("aws-us-gov", "amazonaws.com")
    } else {
        ("aws", "amazonaws.com")
    }
}

/// Serverless v3's logical id part for a function or layer key: `hello-world_x` →
/// `HelloDashworldUnderscorex`.
pub fn normalized(key: &str) -> String {
    let replaced = key.replace('-', "Dash").replace('_', "Underscore");
    let mut chars = replaced.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What `{Ref: NameLambdaLayer}` becomes in the config: the layer's key behind a prefix no ARN
/// has. The planner puts in the version ARN (the one that exists, or the one a step publishes).
pub const LAYER_REF: &str = "sls:layer:";

/// The logical id Serverless v3 gives a layer of `layers:`, and what it stands for.
pub fn layer_ref(key: &str) -> (String, String) {
    (
        format!("{}LambdaLayer", normalized(key)),
        format!("{LAYER_REF}{key}"),
    )
}

/// serverless-domain-manager's `custom.customDomain`, as far as sls builds it (the checks with
/// locations are in `validate::custom_domain`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomain {
    pub domain_name: Option<String>,
    pub base_path: Option<String>,
    pub stage: Option<String>,
    pub certificate_name: Option<String>,
    pub certificate_arn: Option<String>,
    pub create_route53_record: Option<Json>,
    #[serde(rename = "createRoute53IPv6Record")]
    pub create_route53_ipv6_record: Option<Json>,
    pub endpoint_type: Option<String>,
    pub api_type: Option<String>,
    pub security_policy: Option<String>,
    pub hosted_zone_id: Option<String>,
    pub hosted_zone_private: Option<Json>,
    pub enabled: Option<Json>,
}

/// A plugin's flag: a boolean, or `"true"`/`"false"` as `${env:…}` gives it.
pub fn flag(v: Option<&Json>, default: bool) -> bool {
    match v {
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => default,
    }
}

impl CustomDomain {
    /// `custom.customDomain`, when set and `enabled`.
    pub fn of(custom: Option<&Json>) -> Option<CustomDomain> {
        let d: CustomDomain = serde_json::from_value(custom?.get("customDomain")?.clone()).ok()?;
        flag(d.enabled.as_ref(), true).then_some(d)
    }
}
