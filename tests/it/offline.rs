//! What a serverless-offline user brings to `sls offline`: ES-module services, nested exports,
//! callback-style handlers, the settings of `custom.serverless-offline` and their flags, the
//! `IS_OFFLINE` environment, and the Lambda API that handlers invoke other functions through.
//! The behaviours are the ones serverless-offline's own integration tests check, on fixtures of
//! our own; where API Gateway or Lambda answer otherwise, they win (docs/src/local.md).

use crate::common;

use common::offline::Offline;
use serde_json::{Value, json};

/// A service whose package.json says `"type": "module"`: every `.js` file is an ES module.
const SERVICE: &str = "service: compat
provider:
  name: aws
  runtime: nodejs20.x
  stage: dev
  versionFunctions: false
  deploymentMethod: direct
custom:
  serverless-offline:
    noPrependStageInUrl: true
    prefix: api
    useDocker: true
functions:
  nested:
    handler: src/handler.namespace.inner.fn
    events:
      - http:
          method: get
          path: nested
  tla:
    handler: src/tla.bar
    events:
      - http:
          method: get
          path: tla
  mjs:
    handler: src/other.foo
  cjs:
    handler: src/legacy.main
  deferred:
    handler: src/handler.deferred
  sync:
    handler: src/handler.sync
  callback:
    handler: src/handler.cb
  env:
    handler: src/handler.env
    events:
      - httpApi: 'GET /env'
  fail:
    handler: src/handler.fail
";

const HANDLER: &str = r#"
export const namespace = {
  inner: {
    async fn() {
      return { statusCode: 200, body: JSON.stringify('nested') };
    },
  },
};
export function deferred(event, context) {
  setTimeout(() => context.done(null, { late: true }), 50);
}
export function sync() {
  return { statusCode: 200 };
}
export function cb(event, context, callback) {
  setTimeout(() => callback(null, 'late'), 30);
}
export async function env() {
  const e = process.env;
  return {
    statusCode: 200,
    body: JSON.stringify({
      offline: e.IS_OFFLINE ?? null, local: e.IS_LOCAL ?? null,
      aws: e.AWS_SOMETHING ?? null, other: e.OTHER_VAR ?? null,
    }),
  };
}
export async function fail() {
  throw new RangeError('boom');
}
"#;

fn service() -> tempfile::TempDir {
    let dir = common::service(SERVICE);
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(dir.path().join("package.json"), r#"{"type": "module"}"#).unwrap();
    std::fs::write(src.join("handler.js"), HANDLER).unwrap();
    std::fs::write(
        src.join("tla.js"),
        "const { foo } = await import('./foo.js');\nexport async function bar() {\n  return { statusCode: 200, body: JSON.stringify(foo) };\n}\n",
    )
    .unwrap();
    std::fs::write(src.join("foo.js"), "export const foo = 'foo';\n").unwrap();
    std::fs::write(
        src.join("other.mjs"),
        "export const foo = async () => 'mjs';\n",
    )
    .unwrap();
    std::fs::write(
        src.join("legacy.cjs"),
        "exports.main = async () => 'cjs';\n",
    )
    .unwrap();
    dir
}

fn invoke_local(dir: &std::path::Path, function: &str, env: &[(&str, &str)]) -> (bool, Value) {
    let out = common::sls_in(dir)
        .env("PATH", std::env::var("PATH").unwrap())
        .envs(env.iter().copied())
        .args(["invoke", "local", "-f", function])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{function}: {e}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), doc)
}

#[test]
fn node_handlers_load_and_answer_as_lambdas_node_runtime_does() {
    let dir = service();
    let cases = [
        // A path of nested exports after the file's first dot.
        ("nested", json!({"statusCode": 200, "body": "\"nested\""})),
        // An ES module with top-level await, in a "type": "module" package.
        ("tla", json!({"statusCode": 200, "body": "\"foo\""})),
        ("mjs", json!("mjs")),
        ("cjs", json!("cjs")),
        // Answers given later, through context.done or the callback.
        ("deferred", json!({"late": true})),
        ("callback", json!("late")),
        // A non-async handler's return value is not its answer: Lambda answers null.
        ("sync", Value::Null),
    ];
    for (function, want) in cases {
        let (ok, got) = invoke_local(dir.path(), function, &[]);
        assert!(ok, "{function}: {got}");
        assert_eq!(got, want, "{function}");
    }
    let (ok, got) = invoke_local(dir.path(), "fail", &[]);
    assert!(!ok);
    assert_eq!(got["errorType"], "RangeError");
    assert_eq!(got["errorMessage"], "boom");
}

#[test]
fn workers_see_aws_variables_and_the_run_they_are_in_but_not_the_rest() {
    let dir = service();
    let env = [("AWS_SOMETHING", "x"), ("OTHER_VAR", "y")];
    let (ok, got) = invoke_local(dir.path(), "env", &env);
    assert!(ok, "{got}");
    let body: Value = serde_json::from_str(got["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"offline": null, "local": "true", "aws": "x", "other": null})
    );

    let off = Offline::start_with(dir.path(), &[], &env);
    let (status, _, b) = off.request("GET", "/api/env", &[], b"");
    assert_eq!(status, 200);
    let body: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        body,
        json!({"offline": "true", "local": null, "aws": "x", "other": null})
    );
    drop(off);

    // `--localEnvironment` hands over the whole environment.
    let off = Offline::start_with(dir.path(), &["--localEnvironment"], &env);
    let (_, _, b) = off.request("GET", "/api/env", &[], b"");
    let body: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(body["other"], "y");
}

#[test]
fn custom_serverless_offline_settings_shape_the_urls_and_unused_ones_are_named() {
    let dir = service();
    let off = Offline::start(dir.path(), &[]);
    // `prefix: api` and `noPrependStageInUrl: true`: REST routes at /api/PATH, not /dev/PATH.
    assert!(
        off.endpoints
            .iter()
            .any(|e| e.ends_with(&format!("127.0.0.1:{}/api/nested", off.port))),
        "{:?}",
        off.endpoints
    );
    let (status, _, b) = off.request("GET", "/api/nested", &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&b));
    assert_eq!(b, b"\"nested\"");
    let (status, _, b) = off.request("GET", "/api/tla", &[], b"");
    assert_eq!((status, b.as_slice()), (200, b"\"foo\"".as_slice()));
    // Outside the prefix nothing is served.
    let (status, _, _) = off.request("GET", "/nested", &[], b"");
    assert_eq!(status, 404);
    let (status, _, _) = off.request("GET", "/api/dev/nested", &[], b"");
    assert_eq!(status, 403, "a REST path that is no route");
    assert!(
        off.lines
            .iter()
            .any(|l| l.starts_with("note: custom.serverless-offline.useDocker has no effect")),
        "{:?}",
        off.lines
    );
    drop(off);

    // A flag wins over the file: --prefix v1 instead of api. A serverless-offline command
    // line starts as it is (`offline start`, flags sls does not act on named in a note).
    let off = Offline::start(
        dir.path(),
        &[
            "start",
            "--prefix",
            "v1",
            "--useChildProcesses",
            "--dockerHost",
            "h",
        ],
    );
    let (status, _, _) = off.request("GET", "/v1/nested", &[], b"");
    assert_eq!(status, 200);
    for flag in ["useChildProcesses", "dockerHost"] {
        assert!(
            off.lines
                .iter()
                .any(|l| l.starts_with(&format!("note: --{flag} has no effect"))),
            "{:?}",
            off.lines
        );
    }
}

#[test]
fn the_lambda_api_invokes_local_functions_as_lambda_answers() {
    let dir = service();
    let off = Offline::start(dir.path(), &[]);
    let path = |f: &str| format!("/2015-03-31/functions/{f}/invocations");

    let (status, headers, body) = off.lambda(&path("compat-dev-mjs"), &[], b"{}");
    assert_eq!(status, 200);
    assert_eq!(body, b"\"mjs\"");
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-amz-executed-version" && v == "$LATEST")
    );

    // An ARN, URL-encoded as the SDKs send it, with a qualifier.
    let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Acompat-dev-cjs%3Alive";
    let (status, _, body) = off.lambda(&path(arn), &[], b"");
    assert_eq!((status, body.as_slice()), (200, b"\"cjs\"".as_slice()));

    let (status, headers, body) = off.lambda(&path("compat-dev-fail"), &[], b"{}");
    assert_eq!(
        status, 200,
        "a function's error is a 200 with X-Amz-Function-Error"
    );
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-amz-function-error" && v == "Unhandled")
    );
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["errorType"], "RangeError");

    let (status, headers, body) = off.lambda(&path("compat-dev-nothere"), &[], b"{}");
    assert_eq!(status, 404);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-amzn-errortype" && v == "ResourceNotFoundException")
    );
    assert!(String::from_utf8_lossy(&body).contains("Function not found"));

    let (status, _, body) = off.lambda(
        &path("compat-dev-mjs"),
        &[("X-Amz-Invocation-Type", "Event")],
        b"{}",
    );
    assert_eq!((status, body.len()), (202, 0));
    let (status, _, _) = off.lambda(
        &path("compat-dev-mjs"),
        &[("X-Amz-Invocation-Type", "DryRun")],
        b"{}",
    );
    assert_eq!(status, 204);
    let (status, headers, _) = off.lambda(&path("compat-dev-mjs"), &[], b"{not json");
    assert_eq!(status, 400);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-amzn-errortype" && v == "InvalidRequestContentException")
    );
}

/// A real AWS SDK (boto3, installed with moto by scripts/test) pointed at the Lambda API.
#[test]
fn an_aws_sdk_invokes_through_the_lambda_api() {
    let python = common::root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} missing: run scripts/test, which installs moto and boto3 into .venv",
        python.display()
    );
    let dir = service();
    let off = Offline::start(dir.path(), &[]);
    let script = format!(
        r#"
import json, boto3
c = boto3.client("lambda", endpoint_url="http://127.0.0.1:{port}", region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x")
r = c.invoke(FunctionName="compat-dev-deferred", Payload=b"{{}}")
out = {{"status": r["StatusCode"], "payload": json.loads(r["Payload"].read())}}
f = c.invoke(FunctionName="compat-dev-fail")
out["error"] = f.get("FunctionError")
try:
    c.invoke(FunctionName="compat-dev-nothere")
except c.exceptions.ResourceNotFoundException:
    out["missing"] = "ResourceNotFoundException"
e = c.invoke(FunctionName="compat-dev-mjs", InvocationType="Event")
out["event"] = e["StatusCode"]
print(json.dumps(out))
"#,
        port = off.lambda_port
    );
    let out = std::process::Command::new(&python)
        .args(["-c", &script])
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        got,
        json!({"status": 200, "payload": {"late": true}, "error": "Unhandled",
               "missing": "ResourceNotFoundException", "event": 202})
    );
}

const CORS: &str = "service: cors
provider:
  name: aws
  runtime: nodejs20.x
  stage: dev
  httpApi:
    cors:
      allowedOrigins: [http://a.example]
      allowedHeaders: [authorization, content-type]
      allowedMethods: [GET, POST]
      exposedResponseHeaders: [status, origin]
      allowCredentials: true
      maxAge: 60
functions:
  user:
    handler: h.user
    timeout: 1
    events:
      - httpApi: 'GET /user'
      - http:
          method: get
          path: legacy
          cors: true
";

fn cors_service() -> tempfile::TempDir {
    let dir = common::service(CORS);
    std::fs::write(
        dir.path().join("h.js"),
        "exports.user = async (e) => {\n  const ms = Number((e.queryStringParameters || {}).ms || 0);\n  await new Promise((r) => setTimeout(r, ms));\n  return { statusCode: 200, body: String(process.pid) };\n};\n",
    )
    .unwrap();
    dir
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn preflights_and_content_types_are_api_gateways() {
    let dir = cors_service();
    let off = Offline::start(dir.path(), &[]);
    let ask = [
        ("Origin", "http://a.example"),
        ("Access-Control-Request-Method", "GET"),
        ("Access-Control-Request-Headers", "authorization"),
    ];
    // The HTTP API answers every preflight itself, on a route's path or not; lists in the
    // config's order.
    for path in ["/user", "/nowhere"] {
        let (status, h, _) = off.request("OPTIONS", path, &ask, b"");
        assert_eq!(status, 204, "{path}");
        assert_eq!(
            header(&h, "access-control-allow-origin"),
            Some("http://a.example")
        );
        assert_eq!(
            header(&h, "access-control-expose-headers"),
            Some("status,origin")
        );
        assert_eq!(header(&h, "access-control-allow-methods"), Some("GET,POST"));
        assert_eq!(
            header(&h, "access-control-allow-headers"),
            Some("authorization,content-type")
        );
        assert_eq!(header(&h, "access-control-max-age"), Some("60"));
        assert_eq!(header(&h, "access-control-allow-credentials"), Some("true"));
    }
    let (_, h, _) = off.request(
        "OPTIONS",
        "/user",
        &[("Origin", "http://else.example"), ask[1]],
        b"",
    );
    assert_eq!(header(&h, "access-control-allow-origin"), None);

    // A proxy result without Content-Type: an HTTP API's is text, a REST API's JSON.
    let (status, h, _) = off.request("GET", "/user", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    let (status, h, _) = off.request("GET", "/dev/legacy", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), Some("application/json"));
    // HEAD is not GET: API Gateway has no route for it.
    let (status, _, _) = off.request("HEAD", "/user", &[], b"");
    assert_eq!(status, 404);

    // A REST route's preflight answers what its mock method returns...
    let rest_ask = [("Origin", "http://b.example"), ask[1]];
    let (status, h, _) = off.request("OPTIONS", "/dev/legacy", &rest_ask, b"");
    assert_eq!(status, 200);
    assert_eq!(header(&h, "access-control-allow-origin"), Some("*"));
    drop(off);
    // ...unless serverless-offline's cors settings say otherwise.
    let off = Offline::start(
        dir.path(),
        &[
            "--corsAllowOrigin",
            "http://b.example,http://c.example",
            "--corsAllowHeaders",
            "x-a",
            "--corsDisallowCredentials",
        ],
    );
    let (_, h, _) = off.request("OPTIONS", "/dev/legacy", &rest_ask, b"");
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://b.example")
    );
    assert_eq!(header(&h, "access-control-allow-headers"), Some("x-a"));
    assert_eq!(header(&h, "access-control-allow-credentials"), None);
}

#[test]
fn no_timeout_and_reload_handler_change_what_lambda_would_do() {
    let dir = cors_service();
    let off = Offline::start(dir.path(), &[]);
    // Timeout 1 s: the function is stopped, the HTTP API answers 500.
    let (status, _, _) = off.request("GET", "/user?ms=1500", &[], b"");
    assert_eq!(status, 500);
    // A warm worker serves the next requests.
    let (_, _, a) = off.request("GET", "/user", &[], b"");
    let (_, _, b) = off.request("GET", "/user", &[], b"");
    assert_eq!(a, b, "the same warm worker");
    drop(off);

    let off = Offline::start(dir.path(), &["--noTimeout", "--reloadHandler"]);
    let (status, _, _) = off.request("GET", "/user?ms=1500", &[], b"");
    assert_eq!(status, 200);
    let (_, _, a) = off.request("GET", "/user", &[], b"");
    let (_, _, b) = off.request("GET", "/user", &[], b"");
    assert_ne!(a, b, "a new worker for every request");
}

#[test]
fn what_offline_does_not_emulate_is_said_in_one_line_each() {
    let dir = common::service(
        "service: guarded
provider:
  name: aws
  runtime: nodejs22.x
functions:
  hello:
    handler: h.hello
    events:
      - http:
          method: get
          path: hello
          authorizer: aws_iam
          private: true
      - httpApi:
          method: get
          path: /x
          authorizer:
            name: jwt
      - sqs: arn:aws:sqs:us-east-1:123456789012:jobs
  auth:
    handler: h.auth
",
    );
    std::fs::write(
        dir.path().join("h.js"),
        "exports.hello = async () => ({ statusCode: 200, body: 'hi' });\nexports.auth = async () => ({});\n",
    )
    .unwrap();
    let off = Offline::start(dir.path(), &[]);
    let notes: Vec<&str> = off
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("note: "))
        .collect();
    assert_eq!(
        notes,
        [
            "GET /dev/hello: authorizer not run: `aws_iam` is not checked locally; the route is open",
            "GET /x: authorizer not run: `jwt` is not in `provider.httpApi.authorizers`; the route is open",
            "sqs events (hello) are not fired locally: run one with `sls invoke local -f hello --event sqs`",
        ]
    );
    // Served all the same, open but for its API key.
    let (status, _, _) = off.request("GET", "/dev/hello", &[], b"");
    assert_eq!(status, 403, "private: no key, no call");
    drop(off);
    let off = Offline::start(dir.path(), &["--noAuth"]);
    let (status, _, body) = off.request("GET", "/dev/hello", &[], b"");
    assert_eq!((status, body.as_slice()), (200, b"hi".as_slice()));
}

#[test]
fn private_routes_need_one_of_the_api_keys() {
    let dir = common::service(
        "service: keyed
provider:
  name: aws
  runtime: nodejs22.x
  apiGateway:
    apiKeys:
      - name: given
        value: givenValuegivenValuegivenValue
      - made
functions:
  hello:
    handler: h.hello
    events:
      - http:
          method: get
          path: hello
          private: true
      - http:
          method: get
          path: open
",
    );
    std::fs::write(
        dir.path().join("h.js"),
        "exports.hello = async () => ({ statusCode: 200, body: 'hi' });\n",
    )
    .unwrap();
    let off = Offline::start(dir.path(), &[]);
    assert!(
        off.lines
            .iter()
            .any(|l| l == "api key given: as in the config (x-api-key)"),
        "a key of the config is not printed: {:?}",
        off.lines
    );
    let made = off
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("api key made: "))
        .and_then(|l| l.strip_suffix(" (x-api-key)"))
        .expect("the generated key is printed")
        .to_string();
    let status = |key: Option<&str>, path: &str| {
        let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
        off.request("GET", path, &headers, b"").0
    };
    assert_eq!(status(None, "/dev/hello"), 403);
    assert_eq!(status(Some("wrong"), "/dev/hello"), 403);
    assert_eq!(
        status(Some("givenValuegivenValuegivenValue"), "/dev/hello"),
        200
    );
    assert_eq!(status(Some(&made), "/dev/hello"), 200);
    assert_eq!(status(None, "/dev/open"), 200);
}

#[test]
fn rest_routes_validate_bodies_and_required_parameters_as_api_gateway_does() {
    let dir = common::service(
        "service: valid
provider:
  name: aws
  runtime: nodejs22.x
  apiGateway:
    request:
      schemas:
        item:
          name: ItemModel
          schema: {type: object, required: [id]}
functions:
  create:
    handler: h.echo
    events:
      - http:
          method: post
          path: items
          request:
            schemas:
              application/json:
                type: object
                properties:
                  name: {type: string}
                  age: {type: integer, minimum: 0}
                required: [name]
            parameters:
              querystrings:
                mode: true
      - http:
          method: put
          path: items
          request:
            schemas:
              application/json: item
      # serverless-offline's own case: `integration: lambda`, a schema naming draft-07.
      - http:
          integration: lambda
          method: post
          path: /payload
          request:
            schemas:
              application/json:
                $schema: http://json-schema.org/draft-07/schema
                properties:
                  foo: {type: string}
                required: [foo]
                type: object
",
    );
    std::fs::write(
        dir.path().join("h.js"),
        "exports.echo = async (e) => ({ statusCode: 200, body: 'got ' + e.body });\n",
    )
    .unwrap();
    let off = Offline::start(dir.path(), &[]);
    assert!(
        !off.lines.iter().any(|l| l.contains("not applied locally")),
        "{:?}",
        off.lines
    );
    let json = [("content-type", "application/json")];
    let (status, _, body) = off.request(
        "POST",
        "/dev/items?mode=a",
        &json,
        br#"{"name":"x","age":2}"#,
    );
    assert_eq!(
        (status, String::from_utf8_lossy(&body).as_ref()),
        (200, r#"got {"name":"x","age":2}"#)
    );
    let (status, headers, body) = off.request("POST", "/dev/items?mode=a", &json, br#"{"age":-2}"#);
    assert_eq!(status, 400);
    assert_eq!(body, br#"{"message":"Invalid request body"}"#);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/json"),
        "{headers:?}"
    );
    let (status, _, body) = off.request("POST", "/dev/items", &json, br#"{"name":"x"}"#);
    assert_eq!(status, 400);
    assert_eq!(
        body,
        br#"{"message":"Missing required request parameters: [mode]"}"#
    );
    // A model of provider.apiGateway.request.schemas, by its key.
    assert_eq!(
        off.request("PUT", "/dev/items", &json, br#"{"id":1}"#).0,
        200
    );
    assert_eq!(off.request("PUT", "/dev/items", &json, b"{}").0, 400);
    assert_eq!(
        off.request("POST", "/dev/payload", &json, br#"{"foo":"bar"}"#)
            .0,
        200
    );
    assert_eq!(off.request("POST", "/dev/payload", &json, b"{}").0, 400);
}

const ALB: &str = "service: shop
provider:
  name: aws
  runtime: nodejs22.x
functions:
  create:
    handler: h.create
    events:
      - alb:
          listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/2
          priority: 1
          conditions:
            path: /order
            method: POST
            header:
              name: x-function
              values: [CREATE]
  cancel:
    handler: h.cancel
    events:
      - alb:
          listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/2
          priority: 2
          conditions:
            path: /order
            method: POST
            header:
              name: x-function
              values: [CANCEL]
  archived:
    handler: h.archived
    events:
      - alb:
          listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/2
          priority: 3
          multiValueHeaders: true
          conditions:
            path: /basket
            query:
              archived: 'true'
  basket:
    handler: h.basket
    events:
      - alb:
          listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/2
          priority: 4
          conditions:
            path: /basket*
  broken:
    handler: h.broken
    events:
      - alb:
          listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/2
          priority: 5
          conditions:
            path: /broken
";

const ALB_HANDLERS: &str = r#"
const answer = (name, event) => ({
  statusCode: 200,
  statusDescription: '200 OK',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ name, event }),
});
exports.create = async (e) => answer('create', e);
exports.cancel = async (e) => answer('cancel', e);
exports.archived = async (e) => ({
  statusCode: 200,
  multiValueHeaders: { 'content-type': ['application/json'], 'x-a': ['1', '2'] },
  body: JSON.stringify({ name: 'archived', event: e }),
});
exports.basket = async (e) => answer('basket', e);
exports.broken = async () => ({ body: 'no status' });
"#;

#[test]
fn alb_rules_route_by_priority_and_conditions_with_elbs_event() {
    let dir = common::service(ALB);
    std::fs::write(dir.path().join("h.js"), ALB_HANDLERS).unwrap();
    let off = Offline::start(dir.path(), &[]);
    assert_ne!(off.alb_port, 0, "{:?}", off.lines);
    let alb = |method: &str, path: &str, headers: &[(&str, &str)]| {
        let (status, h, body) =
            common::offline::request_to(off.alb_port, method, path, headers, b"");
        let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, h, doc, String::from_utf8_lossy(&body).to_string())
    };
    // The header condition picks between two rules on one path; header values fold case.
    let (status, _, doc, _) = alb("POST", "/order", &[("x-function", "CREATE")]);
    assert_eq!((status, doc["name"].as_str()), (200, Some("create")));
    let (_, _, doc, _) = alb("POST", "/order", &[("X-Function", "cancel")]);
    assert_eq!(doc["name"], "cancel");
    // No rule matches: the listener's default action is not in the config, a 404.
    let (status, _, _, _) = alb("POST", "/order", &[("x-function", "DELETE")]);
    assert_eq!(status, 404);
    let (status, _, _, _) = alb("GET", "/order", &[("x-function", "CREATE")]);
    assert_eq!(status, 404);
    // serverless-offline's URL, under the stage: served by the rule of its real path.
    let (status, _, doc, _) = alb("POST", "/dev/order", &[("x-function", "CREATE")]);
    assert_eq!((status, doc["name"].as_str()), (200, Some("create")));
    assert_eq!(doc["event"]["path"], "/order");

    // Priority: the query condition's rule comes before the wildcard one.
    let (_, h, doc, _) = alb("GET", "/basket?archived=true&q=a%20b&q=c", &[]);
    assert_eq!(doc["name"], "archived");
    let e = &doc["event"];
    assert_eq!(
        e["multiValueQueryStringParameters"]["q"],
        json!(["a%20b", "c"]),
        "ELB passes the query string as it came"
    );
    assert!(e["multiValueHeaders"]["host"].is_array());
    assert_eq!(h.iter().filter(|(k, _)| k == "x-a").count(), 2);
    let (_, _, doc, _) = alb("GET", "/basket/items?archived=false&q=a%20b", &[]);
    assert_eq!(doc["name"], "basket");
    let e = &doc["event"];
    assert_eq!(e["httpMethod"], "GET");
    assert_eq!(e["path"], "/basket/items");
    assert_eq!(e["queryStringParameters"]["q"], "a%20b");
    assert_eq!(e["body"], "");
    assert_eq!(e["isBase64Encoded"], false);
    assert!(
        e["requestContext"]["elb"]["targetGroupArn"]
            .as_str()
            .unwrap()
            .contains(":targetgroup/"),
        "{e}"
    );

    // A result without a status code is ELB's 502, in HTML.
    let (status, h, _, text) = alb("GET", "/broken", &[]);
    assert_eq!(status, 502);
    assert!(text.contains("502 Bad Gateway"), "{text}");
    assert!(
        h.iter()
            .any(|(k, v)| k == "content-type" && v == "text/html")
    );
}

#[test]
fn rest_lambda_integrations_get_serverless_default_templates() {
    let dir = common::service(
        "service: plain
provider:
  name: aws
  runtime: nodejs22.x
  stage: dev
functions:
  json:
    handler: h.json
    events:
      - http:
          method: post
          path: items/{id}
          integration: lambda
  failing:
    handler: h.failing
    events:
      - http:
          method: get
          path: failing
          integration: lambda
  named:
    handler: h.named
    events:
      - http:
          method: get
          path: named
          operationId: getNamed
",
    );
    std::fs::write(
        dir.path().join("h.js"),
        "exports.json = async (e) => ({ got: e });\nexports.failing = async (e) => { throw new Error(e.query.code ? `[${e.query.code}] no` : 'plain'); };\nexports.named = async (e) => ({ statusCode: 200, body: e.requestContext.operationName });\n",
    )
    .unwrap();
    let off = Offline::start(dir.path(), &[]);
    assert!(
        off.lines
            .iter()
            .any(|l| l.contains("`integration: lambda` served with Serverless' default templates")),
        "{:?}",
        off.lines
    );
    let (status, h, body) = off.request(
        "POST",
        "/dev/items/7?q=1",
        &[("content-type", "application/json"), ("x-a", "b")],
        br#"{"n": 1}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), Some("application/json"));
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let e = &doc["got"];
    assert_eq!(e["body"], json!({"n": 1}));
    assert_eq!(e["method"], "POST");
    assert_eq!(e["stage"], "dev");
    assert_eq!(e["path"], json!({"id": "7"}));
    assert_eq!(e["query"], json!({"q": "1"}));
    assert_eq!(e["headers"]["x-a"], "b");
    assert_eq!(e["requestPath"], "/items/{id}");
    // An error's `[code]` picks the status; one without is API Gateway's default 200.
    let (status, _, body) = off.request("GET", "/dev/failing?code=404", &[], b"");
    assert_eq!(status, 404);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["errorMessage"], "[404] no");
    let (status, _, _) = off.request("GET", "/dev/failing", &[], b"");
    assert_eq!(status, 200);
    // `operationId` is the event's operation name.
    let (_, _, body) = off.request("GET", "/dev/named", &[], b"");
    assert_eq!(body, b"getNamed");
}

const GUARDED: &str = "service: guarded
provider:
  name: aws
  runtime: nodejs22.x
  stage: dev
  httpApi:
    authorizers:
      simple:
        type: request
        functionName: simple
        identitySource: $request.header.Authorization
        enableSimpleResponses: true
      policy:
        type: request
        functionName: policy
        identitySource: $request.querystring.token
        payloadVersion: '1.0'
      jwtAuth:
        identitySource: $request.header.Authorization
        issuerUrl: https://issuer.example
        audience: [app]
functions:
  token:
    handler: auth.token
  request:
    handler: auth.request
  simple:
    handler: auth.simple
  policy:
    handler: auth.policy
  api:
    handler: api.main
    events:
      - http:
          method: get
          path: token
          authorizer: token
      - http:
          method: get
          path: request
          authorizer:
            name: request
            type: request
            identitySource: method.request.header.X-Key, method.request.querystring.user
      - httpApi:
          method: get
          path: /simple
          authorizer:
            name: simple
      - httpApi:
          method: get
          path: /policy
          authorizer:
            name: policy
      - httpApi:
          method: get
          path: /jwt
          authorizer:
            name: jwtAuth
            scopes: [email]
";

const AUTH_JS: &str = r#"
const policy = (principalId, effect, resource, context) =>
  ({ principalId, context, policyDocument: { Version: '2012-10-17',
     Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] } });
exports.token = async (e) => {
  if (e.type !== 'TOKEN') throw new Error('not a token event');
  if (e.authorizationToken === 'allow') return policy('u1', 'Allow', e.methodArn, { n: 1, ok: true });
  if (e.authorizationToken === 'deny') return policy('u1', 'Deny', e.methodArn);
  if (e.authorizationToken === 'nested') return policy('u1', 'Allow', '*', { o: { x: 1 } });
  throw new Error('Unauthorized');
};
exports.request = async (e) =>
  policy(e.queryStringParameters.user, e.headers['x-key'] === 'k' ? 'Allow' : 'Deny', e.methodArn);
exports.simple = async (e) =>
  ({ isAuthorized: e.identitySource[0] === 'yes', context: { who: e.routeKey } });
exports.policy = async (e) =>
  policy('p', e.identitySource === 'good' ? 'Allow' : 'Deny', e.methodArn, { v: e.version });
"#;

#[test]
fn lambda_authorizers_decide_before_the_route_as_api_gateway_runs_them() {
    let dir = common::service(GUARDED);
    std::fs::write(dir.path().join("auth.js"), AUTH_JS).unwrap();
    std::fs::write(
        dir.path().join("api.js"),
        "exports.main = async (e) => ({ statusCode: 200, body: JSON.stringify(e.requestContext.authorizer || null) });\n",
    )
    .unwrap();
    let off = Offline::start(dir.path(), &[]);
    assert!(
        !off.lines.iter().any(|l| l.contains("authorizer not run")),
        "every authorizer here runs: {:?}",
        off.lines
    );
    assert!(
        off.lines.iter().any(|l| l
            == "note: GET /jwt: JWT authorizer `jwtAuth` checks the token's issuer, audience, expiry and scopes, not its signature"),
        "{:?}",
        off.lines
    );
    let get = |path: &str, headers: &[(&str, &str)]| {
        let (status, _, body) = off.request("GET", path, headers, b"");
        (
            status,
            serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
        )
    };
    // REST TOKEN: the context reaches the route as strings, with the principal.
    let (status, ctx) = get("/dev/token", &[("Authorization", "allow")]);
    assert_eq!(status, 200);
    assert_eq!(ctx["principalId"], "u1");
    assert_eq!(
        (ctx["n"].as_str(), ctx["ok"].as_str()),
        (Some("1"), Some("true"))
    );
    assert_eq!(get("/dev/token", &[("Authorization", "deny")]).0, 403);
    assert_eq!(get("/dev/token", &[("Authorization", "other")]).0, 401);
    assert_eq!(get("/dev/token", &[]).0, 401, "no token: not even asked");
    assert_eq!(get("/dev/token", &[("Authorization", "nested")]).0, 500);
    // REST REQUEST: every identity source must be there.
    let (status, ctx) = get("/dev/request?user=ann", &[("X-Key", "k")]);
    assert_eq!((status, ctx["principalId"].as_str()), (200, Some("ann")));
    assert_eq!(get("/dev/request?user=ann", &[("X-Key", "bad")]).0, 403);
    assert_eq!(get("/dev/request", &[("X-Key", "k")]).0, 401);
    // HTTP API: a simple response, and a 1.0 policy.
    let (status, ctx) = get("/simple", &[("Authorization", "yes")]);
    assert_eq!(status, 200);
    assert_eq!(ctx["lambda"]["who"], "GET /simple");
    let (status, body) = get("/simple", &[("Authorization", "no")]);
    assert_eq!((status, body), (403, json!({"message": "Forbidden"})));
    let (status, ctx) = get("/policy?token=good", &[]);
    assert_eq!((status, ctx["v"].as_str()), (200, Some("1.0")));
    assert_eq!(get("/policy?token=bad", &[]).0, 403);
    // JWT: the claims are checked, and go to the route.
    let jwt = |claims: Value| {
        let b = aws_smithy_types::base64::encode(claims.to_string());
        let b = b.trim_end_matches('=').replace('+', "-").replace('/', "_");
        format!("Bearer eyJhbGciOiJSUzI1NiJ9.{b}.c2ln")
    };
    let good = json!({"iss": "https://issuer.example", "aud": "app", "scope": "email", "sub": "s1", "exp": 4102444800u64});
    let (status, ctx) = get("/jwt", &[("Authorization", &jwt(good.clone()))]);
    assert_eq!(status, 200);
    assert_eq!(ctx["jwt"]["claims"]["sub"], "s1");
    assert_eq!(ctx["jwt"]["scopes"], json!(["email"]));
    let mut other = good.clone();
    other["aud"] = json!("else");
    assert_eq!(get("/jwt", &[("Authorization", &jwt(other))]).0, 401);
    let mut scopeless = good;
    scopeless["scope"] = json!("openid");
    assert_eq!(get("/jwt", &[("Authorization", &jwt(scopeless))]).0, 403);
    drop(off);

    // --noAuth opens every route, and says so.
    let off = Offline::start(dir.path(), &["--noAuth"]);
    assert!(
        off.lines
            .iter()
            .any(|l| l == "note: GET /dev/token: authorizer not run (--noAuth): the route is open"),
        "{:?}",
        off.lines
    );
    let (status, _, _) = off.request("GET", "/dev/token", &[], b"");
    assert_eq!(status, 200);
}

#[test]
fn a_websocket_connect_authorizer_decides_the_handshake() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

    let dir = common::service(
        "service: chat
provider:
  name: aws
  runtime: nodejs22.x
functions:
  auth:
    handler: ws.auth
  conn:
    handler: ws.connect
    events:
      - websocket:
          route: $connect
          authorizer: auth
  echo:
    handler: ws.echo
    events:
      - websocket:
          route: $default
          routeResponseSelectionExpression: $default
",
    );
    std::fs::write(
        dir.path().join("ws.js"),
        r#"
exports.auth = async (e) => {
  if (e.headers.auth === 'crash') throw new Error('boom');
  const effect = e.headers.auth === 'ok' ? 'Allow' : 'Deny';
  return { principalId: 'p1', context: { who: 'ann' },
    policyDocument: { Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: e.methodArn }] } };
};
exports.connect = async (e) => {
  require('fs').writeFileSync(process.env.LAMBDA_TASK_ROOT + '/../seen.json', JSON.stringify(e.requestContext.authorizer));
  return { statusCode: 200 };
};
exports.echo = async (e) => ({ statusCode: 200, body: e.body });
"#,
    )
    .unwrap();
    let off = Offline::start(dir.path(), &["--websocket-port", "0"]);
    assert!(
        !off.lines.iter().any(|l| l.contains("authorizer not run")),
        "{:?}",
        off.lines
    );
    let base = off
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("websocket: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let with = |auth: Option<&str>| {
            let mut req = base.as_str().into_client_request().unwrap();
            if let Some(a) = auth {
                req.headers_mut().insert("Auth", a.parse().unwrap());
            }
            req
        };
        for (auth, status) in [(None, 401), (Some("no"), 403), (Some("crash"), 500)] {
            match tokio_tungstenite::connect_async(with(auth)).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                    assert_eq!(r.status(), status, "{auth:?}")
                }
                other => panic!("{auth:?}: expected a refusal: {other:?}"),
            }
        }
        let (mut ws, _) = tokio_tungstenite::connect_async(with(Some("ok")))
            .await
            .unwrap();
        ws.send(Message::text("hi")).await.unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(20), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(got.to_text().unwrap(), "hi");
    });
    // The $connect handler saw the authorizer's principal and context (written beside the
    // unpacked packages: its LAMBDA_TASK_ROOT is one of them).
    let seen = std::fs::read_to_string(dir.path().join(".serverless/local/seen.json"))
        .expect("the $connect handler ran");
    let seen: Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(
        (seen["principalId"].as_str(), seen["who"].as_str()),
        (Some("p1"), Some("ann"))
    );
}
