//! Local runs through the Runtime API emulator: `sls invoke local` and `sls offline`, with
//! Node.js and Python workers (the Rust `lambda_runtime` one is in template_rust.rs).

use crate::common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::offline::Offline;
use serde_json::Value;

const SERVICE: &str = "service: loc
provider:
  name: aws
  runtime: nodejs20.x
  stage: test
  environment:
    GREETING: hello
  httpApi:
    cors: true
functions:
  echo:
    handler: handler.echo
    events:
      - httpApi: 'GET /echo/{id}'
      - httpApi: 'POST /echo'
      - http:
          method: post
          path: legacy/{id}
          cors: true
  slow:
    handler: handler.slow
    timeout: 1
    events:
      - httpApi: 'GET /slow'
  fail:
    handler: handler.fail
  crashy:
    handler: handler.crashy
    events:
      - httpApi: 'GET /crashy'
  missing:
    handler: handler.nothere
  broken:
    handler: broken.main
  py:
    handler: handler_py.main
    runtime: python3.11
    events:
      - httpApi: 'GET /py'
  pyfail:
    handler: handler_py.fail
    runtime: python3.11
";

const NODE: &str = r#"
let count = 0;
exports.echo = async (event, context) => {
  count += 1;
  return {
    statusCode: 200,
    headers: { 'x-count': String(count) },
    body: JSON.stringify({
      event, count, pid: process.pid,
      env: { greeting: process.env.GREETING, name: process.env.AWS_LAMBDA_FUNCTION_NAME,
             memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, region: process.env.AWS_REGION,
             api: process.env.AWS_LAMBDA_RUNTIME_API, handler: process.env._HANDLER,
             root: process.env.LAMBDA_TASK_ROOT, version: process.env.AWS_LAMBDA_FUNCTION_VERSION },
      context: { requestId: context.awsRequestId, arn: context.invokedFunctionArn,
                 remaining: context.getRemainingTimeInMillis(), client: context.clientContext },
    }),
  };
};
exports.slow = async (event) => {
  await new Promise((r) => setTimeout(r, (event && event.ms) || 300));
  return { statusCode: 200, body: String(process.pid) };
};
exports.crashy = async () => {
  setTimeout(() => process.exit(3), 20);
  return { statusCode: 200, body: String(process.pid) };
};
exports.fail = async () => {
  throw new TypeError('no such user');
};
"#;

const PYTHON: &str = r#"
import os
calls = 0

def main(event, context):
    global calls
    calls += 1
    return {"statusCode": 200, "body": f"py {calls} {os.environ['GREETING']} {context.function_name}"}

def fail(event, context):
    raise ValueError("bad input")
"#;

fn service() -> tempfile::TempDir {
    let dir = common::service(SERVICE);
    std::fs::write(dir.path().join("handler.js"), NODE).unwrap();
    std::fs::write(dir.path().join("handler_py.py"), PYTHON).unwrap();
    std::fs::write(
        dir.path().join("broken.js"),
        "throw new Error('cannot start');\n",
    )
    .unwrap();
    dir
}

fn invoke(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = common::sls_in(dir)
        .env("PATH", std::env::var("PATH").unwrap())
        .args(["invoke", "local"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), doc, stderr)
}

fn body_of(result: &Value) -> Value {
    serde_json::from_str(result["body"].as_str().unwrap()).unwrap()
}

#[test]
fn invoke_local_runs_node_and_python_from_the_package_with_lambdas_environment() {
    let dir = service();
    let (code, result, stderr) = invoke(
        dir.path(),
        &[
            "-f",
            "echo",
            "--data",
            r#"{"hello":"world"}"#,
            "--context",
            r#"{"app":"t"}"#,
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let body = body_of(&result);
    assert_eq!(body["event"], serde_json::json!({"hello": "world"}));
    assert_eq!(body["env"]["greeting"], "hello");
    assert_eq!(body["env"]["name"], "loc-test-echo");
    assert_eq!(body["env"]["memory"], "1024");
    assert_eq!(body["env"]["region"], "us-east-1");
    assert_eq!(body["env"]["handler"], "handler.echo");
    assert_eq!(body["env"]["version"], "$LATEST");
    assert!(
        body["env"]["api"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    // What runs is the unpacked deployment package, not the source tree.
    let root = body["env"]["root"].as_str().unwrap();
    assert!(root.contains(".serverless/local/"), "{root}");
    assert_eq!(body["context"]["client"]["app"], "t");
    assert!(
        body["context"]["arn"]
            .as_str()
            .unwrap()
            .ends_with(":function:loc-test-echo")
    );
    let remaining = body["context"]["remaining"].as_i64().unwrap();
    assert!(remaining > 5000 && remaining <= 6000, "{remaining}");
    let report = stderr
        .lines()
        .find(|l| l.starts_with("REPORT RequestId: "))
        .unwrap();
    for field in [
        "Duration: ",
        "Billed Duration: ",
        "Memory Size: 1024 MB",
        "Max Memory Used: ",
        "Init Duration: ",
    ] {
        assert!(report.contains(field), "{report}");
    }
    assert!(stderr.contains(&format!(
        "START RequestId: {}",
        body["context"]["requestId"].as_str().unwrap()
    )));

    // An event file; text that is not JSON arrives as a string.
    std::fs::write(dir.path().join("event.json"), r#"{"from":"file"}"#).unwrap();
    let (_, result, _) = invoke(dir.path(), &["-f", "echo", "--path", "event.json"]);
    assert_eq!(body_of(&result)["event"]["from"], "file");
    let (_, result, _) = invoke(dir.path(), &["-f", "echo", "-d", "plain text"]);
    assert_eq!(body_of(&result)["event"], "plain text");

    let (code, doc, _) = invoke(dir.path(), &["-f", "echo", "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(doc["result"]["statusCode"], 200);
    assert!(doc["requestId"].as_str().unwrap().len() == 36, "{doc}");
    assert!(doc["report"]["initDurationMs"].as_f64().unwrap() > 0.0);
    assert_eq!(doc["report"]["memorySizeMb"], 1024);
    let (code, doc, _) = invoke(dir.path(), &["-f", "fail", "--json"]);
    assert_eq!(code, Some(8));
    assert_eq!(doc["error"]["errorType"], "TypeError");

    let (code, result, stderr) = invoke(dir.path(), &["-f", "py"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(result["body"], "py 1 hello loc-test-py");
    assert!(stderr.contains("Init Duration: "), "{stderr}");
}

#[test]
fn errors_come_back_as_lambda_reports_them() {
    let dir = service();
    let (code, doc, stderr) = invoke(dir.path(), &["-f", "fail"]);
    assert_eq!(code, Some(8), "{stderr}");
    assert_eq!(doc["errorType"], "TypeError");
    assert_eq!(doc["errorMessage"], "no such user");
    assert!(
        doc["stackTrace"][0]
            .as_str()
            .unwrap()
            .contains("handler.js"),
        "{doc}"
    );
    assert!(stderr.contains("REPORT RequestId: "));

    let (code, doc, _) = invoke(dir.path(), &["-f", "pyfail"]);
    assert_eq!(code, Some(8));
    assert_eq!(doc["errorType"], "ValueError");
    assert_eq!(doc["errorMessage"], "bad input");
    assert!(
        doc["stackTrace"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("handler_py.py"))
    );

    // Init errors: the module throws while loading; the export does not exist.
    let (code, doc, _) = invoke(dir.path(), &["-f", "broken"]);
    assert_eq!(code, Some(8));
    assert_eq!(doc["errorType"], "Error");
    assert_eq!(doc["errorMessage"], "cannot start");
    let (code, doc, _) = invoke(dir.path(), &["-f", "missing"]);
    assert_eq!(code, Some(8));
    assert_eq!(doc["errorType"], "Runtime.HandlerNotFound");

    // The timeout kills the worker: 1 s configured, the handler wants 5.
    let started = Instant::now();
    let (code, doc, _) = invoke(dir.path(), &["-f", "slow", "--data", r#"{"ms":5000}"#]);
    assert_eq!(code, Some(8));
    assert_eq!(doc["errorType"], "Sandbox.Timedout");
    assert!(
        doc["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 1.00 seconds")
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    let out = common::sls_in(dir.path())
        .args(["invoke", "local", "-f", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_malformed_handler_is_reported_before_anything_runs() {
    let dir = common::service(&SERVICE.replace("handler: handler.fail", "handler: handlerfail"));
    std::fs::write(dir.path().join("handler.js"), NODE).unwrap();
    std::fs::write(dir.path().join("handler_py.py"), PYTHON).unwrap();
    std::fs::write(dir.path().join("broken.js"), "").unwrap();
    let out = common::sls_in(dir.path())
        .args(["invoke", "local", "-f", "fail"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr.contains("serverless.yml:"), "{stderr}");
    assert!(stderr.contains("handler"), "{stderr}");
}

#[test]
fn offline_serves_http_api_v2_events_field_by_field() {
    let dir = service();
    let off = Offline::start(dir.path(), &[]);
    let base = format!("http://127.0.0.1:{}", off.port);
    assert!(
        off.endpoints.contains(&format!("GET - {base}/echo/{{id}}")),
        "{:?}",
        off.endpoints
    );
    assert!(
        off.endpoints
            .contains(&format!("POST - {base}/test/legacy/{{id}}")),
        "{:?}",
        off.endpoints
    );

    let (status, headers, body) = off.request(
        "GET",
        "/echo/a%20b?x=1&y=2&x=3",
        &[
            ("Cookie", "c1=v1; c2=v2"),
            ("X-Multi", "a"),
            ("X-Multi", "b"),
            ("User-Agent", "t/1"),
        ],
        b"",
    );
    assert_eq!(status, 200);
    assert!(headers.contains(&("x-count".into(), "1".into())));
    let r: Value = serde_json::from_slice(&body).unwrap();
    let e = &r["event"];
    // The keys of AWS's documented 2.0 example, less those only an authorizer or a stage
    // variable adds.
    let keys: BTreeSet<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    let documented: BTreeSet<&str> = [
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "cookies",
        "headers",
        "queryStringParameters",
        "requestContext",
        "pathParameters",
        "isBase64Encoded",
    ]
    .into();
    assert_eq!(keys, documented);
    assert_eq!(e["version"], "2.0");
    assert_eq!(e["routeKey"], "GET /echo/{id}");
    assert_eq!(e["rawPath"], "/echo/a%20b");
    assert_eq!(e["rawQueryString"], "x=1&y=2&x=3");
    assert_eq!(e["cookies"], serde_json::json!(["c1=v1", "c2=v2"]));
    assert_eq!(e["headers"]["x-multi"], "a,b");
    assert_eq!(e["headers"]["user-agent"], "t/1");
    assert_eq!(
        e["queryStringParameters"],
        serde_json::json!({"x": "1,3", "y": "2"})
    );
    assert_eq!(e["pathParameters"], serde_json::json!({"id": "a b"}));
    assert_eq!(e["isBase64Encoded"], false);
    let rc = &e["requestContext"];
    let rc_keys: BTreeSet<&str> = rc.as_object().unwrap().keys().map(String::as_str).collect();
    let documented: BTreeSet<&str> = [
        "accountId",
        "apiId",
        "domainName",
        "domainPrefix",
        "http",
        "requestId",
        "routeKey",
        "stage",
        "time",
        "timeEpoch",
    ]
    .into();
    assert_eq!(rc_keys, documented);
    assert_eq!(rc["http"]["method"], "GET");
    assert_eq!(rc["http"]["path"], "/echo/a%20b");
    assert_eq!(rc["http"]["protocol"], "HTTP/1.1");
    assert_eq!(rc["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(rc["http"]["userAgent"], "t/1");
    assert_eq!(rc["stage"], "$default");
    assert_eq!(rc["routeKey"], "GET /echo/{id}");
    assert!(rc["timeEpoch"].as_u64().unwrap() > 1_700_000_000_000);

    // Warm reuse: the same worker, its module state kept.
    let (_, headers, body2) = off.request("GET", "/echo/2", &[], b"");
    assert!(headers.contains(&("x-count".into(), "2".into())));
    let r2: Value = serde_json::from_slice(&body2).unwrap();
    assert_eq!(r2["pid"], r["pid"]);

    // Binary bodies travel base64-encoded; text stays text.
    let (_, _, body) = off.request(
        "POST",
        "/echo",
        &[("Content-Type", "application/octet-stream")],
        &[0, 159, 146, 150],
    );
    let e: Value = serde_json::from_slice::<Value>(&body).unwrap()["event"].clone();
    assert_eq!(e["isBase64Encoded"], true);
    assert_eq!(e["body"], "AJ+Slg==");
    let (_, _, body) = off.request(
        "POST",
        "/echo",
        &[("Content-Type", "application/json")],
        br#"{"a":1}"#,
    );
    let e: Value = serde_json::from_slice::<Value>(&body).unwrap()["event"].clone();
    assert_eq!(
        (e["body"].as_str(), &e["isBase64Encoded"]),
        (Some(r#"{"a":1}"#), &Value::Bool(false))
    );
    assert!(e.get("pathParameters").is_none());

    // CORS as configured (httpApi.cors: true): preflight answered, responses marked.
    let (status, headers, _) = off.request(
        "OPTIONS",
        "/echo/1",
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
        b"",
    );
    assert_eq!(status, 204);
    assert!(headers.contains(&("access-control-allow-origin".into(), "*".into())));
    let (_, headers, _) = off.request("GET", "/echo/1", &[("Origin", "https://app.example")], b"");
    assert!(headers.contains(&("access-control-allow-origin".into(), "*".into())));

    // Python behind the same server; unknown paths get API Gateway's answer.
    let (status, _, body) = off.request("GET", "/py", &[], b"");
    assert_eq!(
        (status, String::from_utf8_lossy(&body).as_ref()),
        (200, "py 1 hello loc-test-py")
    );
    let (status, _, body) = off.request("GET", "/nowhere", &[], b"");
    assert_eq!(status, 404);
    assert_eq!(String::from_utf8_lossy(&body), r#"{"message":"Not Found"}"#);
}

#[test]
fn offline_serves_rest_v1_events_field_by_field() {
    let dir = service();
    let off = Offline::start(dir.path(), &[]);
    let (status, _, body) = off.request(
        "POST",
        "/test/legacy/42?q=a&q=b",
        &[
            ("Content-Type", "text/plain"),
            ("X-Multi", "a"),
            ("X-Multi", "b"),
        ],
        b"hi",
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let e = serde_json::from_slice::<Value>(&body).unwrap()["event"].clone();
    let keys: BTreeSet<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    let documented: BTreeSet<&str> = [
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    ]
    .into();
    assert_eq!(keys, documented);
    assert_eq!(e["resource"], "/legacy/{id}");
    assert_eq!(e["path"], "/legacy/42");
    assert_eq!(e["httpMethod"], "POST");
    assert_eq!(e["headers"]["x-multi"], "b");
    assert_eq!(
        e["multiValueHeaders"]["x-multi"],
        serde_json::json!(["a", "b"])
    );
    assert_eq!(e["queryStringParameters"], serde_json::json!({"q": "b"}));
    assert_eq!(
        e["multiValueQueryStringParameters"],
        serde_json::json!({"q": ["a", "b"]})
    );
    assert_eq!(e["pathParameters"], serde_json::json!({"id": "42"}));
    assert_eq!(e["stageVariables"], Value::Null);
    assert_eq!(e["body"], "hi");
    assert_eq!(e["isBase64Encoded"], false);
    let rc = &e["requestContext"];
    assert_eq!(rc["stage"], "test");
    assert_eq!(rc["path"], "/test/legacy/42");
    assert_eq!(rc["resourcePath"], "/legacy/{id}");
    assert_eq!(rc["httpMethod"], "POST");
    assert_eq!(rc["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(rc["protocol"], "HTTP/1.1");
    assert_eq!(rc["requestTime"].as_str().unwrap().len(), 26);

    // CORS on the event: the OPTIONS method answers with the configured headers.
    let (status, headers, _) = off.request(
        "OPTIONS",
        "/test/legacy/42",
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "access-control-allow-methods" && v.contains("POST")),
        "{headers:?}"
    );
    // REST answers a wrong method or path as API Gateway does.
    let (status, _, _) = off.request("GET", "/test/legacy/42", &[], b"");
    assert_eq!(status, 403);
}

#[test]
fn concurrent_requests_get_their_own_workers_and_warm_ones_are_reused() {
    let dir = service();
    let off = std::sync::Arc::new(Offline::start(dir.path(), &[]));
    let started = Instant::now();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let off = off.clone();
            std::thread::spawn(move || off.request("GET", "/slow", &[], b""))
        })
        .collect();
    let pids: BTreeSet<String> = threads
        .into_iter()
        .map(|t| {
            let (status, _, body) = t.join().unwrap();
            assert_eq!(status, 200);
            String::from_utf8(body).unwrap()
        })
        .collect();
    assert_eq!(
        pids.len(),
        3,
        "three concurrent requests, three workers: {pids:?}"
    );
    // Each handler sleeps 300 ms; run one after another they would take 900 ms or more
    // (plus three cold starts), so allow for slow machines without accepting serial runs.
    assert!(
        started.elapsed() < Duration::from_millis(3000),
        "{:?}",
        started.elapsed()
    );
    // Now warm: a sequential request reuses one of them.
    let (_, _, body) = off.request("GET", "/slow", &[], b"");
    assert!(pids.contains(&String::from_utf8(body).unwrap()));
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let dir = service();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = common::sls_in(dir.path())
        .args(["offline", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("--port"), "{stderr}");
}

#[test]
fn offline_watch_serves_edited_code_without_a_restart() {
    let dir = service();
    let off = Offline::start(dir.path(), &["--watch"]);
    let (_, _, body) = off.request("GET", "/py", &[], b"");
    assert_eq!(String::from_utf8_lossy(&body), "py 1 hello loc-test-py");
    std::fs::write(
        dir.path().join("handler_py.py"),
        PYTHON.replace("f\"py {calls}", "f\"edited {calls}"),
    )
    .unwrap();
    let started = Instant::now();
    loop {
        let (_, _, body) = off.request("GET", "/py", &[], b"");
        let text = String::from_utf8_lossy(&body).to_string();
        if text.starts_with("edited 1 ") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still {text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_worker_that_dies_while_idle_is_replaced_not_reused() {
    let dir = service();
    let off = Offline::start(dir.path(), &[]);
    let (status, _, first) = off.request("GET", "/crashy", &[], b"");
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(300));
    let (status, _, second) = off.request("GET", "/crashy", &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&second));
    assert_ne!(first, second, "a new worker serves the second request");
}

#[test]
fn offline_sends_payload_1_0_from_an_http_api_that_asks_for_it() {
    // `provider.httpApi.payload: '1.0'`: the HTTP API's routes, at /path, with format 1.0 events.
    let dir = service();
    let yaml = SERVICE.replace(
        "  httpApi:\n    cors: true\n",
        "  httpApi:\n    cors: true\n    payload: '1.0'\n",
    );
    std::fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
    let off = Offline::start(dir.path(), &[]);
    let (status, _, body) = off.request("GET", "/echo/7?x=1", &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let e = serde_json::from_slice::<Value>(&body).unwrap()["event"].clone();
    assert_eq!(e["httpMethod"], "GET");
    assert_eq!(e["path"], "/echo/7");
    assert_eq!(e["resource"], "/echo/{id}");
    assert_eq!(e["pathParameters"]["id"], "7");
    assert_eq!(e["queryStringParameters"]["x"], "1");
    assert_eq!(e["requestContext"]["stage"], "$default");
    assert_eq!(e["requestContext"]["path"], "/echo/7");
    assert!(e.get("rawPath").is_none(), "{e}");
}

#[test]
fn offline_answers_cors_as_the_http_api_is_configured() {
    let dir = service();
    let yaml = SERVICE.replace(
        "  httpApi:\n    cors: true\n",
        "  httpApi:\n    cors:\n      allowedOrigins: ['https://example.com']\n      allowCredentials: true\n      maxAge: 600\n",
    );
    std::fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
    let off = Offline::start(dir.path(), &[]);
    let header = |headers: &[(String, String)], name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let preflight = [
        ("Origin", "https://example.com"),
        ("Access-Control-Request-Method", "GET"),
    ];
    let (status, headers, _) = off.request("OPTIONS", "/echo/1", &preflight, b"");
    assert_eq!(status, 204);
    assert_eq!(
        header(&headers, "access-control-allow-origin").as_deref(),
        Some("https://example.com")
    );
    assert_eq!(
        header(&headers, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert_eq!(
        header(&headers, "access-control-max-age").as_deref(),
        Some("600")
    );
    // An origin the API does not allow gets no CORS header.
    let (_, headers, _) = off.request("GET", "/echo/1", &[("Origin", "https://evil.example")], b"");
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
}

#[test]
fn invoke_local_feeds_sample_events_filled_from_the_functions_sources() {
    let yaml = SERVICE.replace(
        "  fail:\n    handler: handler.fail\n",
        "  fail:\n    handler: handler.fail\n  worker:\n    handler: handler.echo\n    events:\n      - sqs: arn:aws:sqs:us-east-1:123456789012:jobs\n      - s3:\n          bucket: loc-photos\n          rules:\n            - prefix: uploads/\n            - suffix: .jpg\n      - schedule: rate(1 hour)\n      - websocket: sendMessage\n      - msk:\n          arn: arn:aws:kafka:us-east-1:123456789012:cluster/orders/abc\n          topic: orders\n      - cognitoUserPool:\n          pool: members\n          trigger: PostConfirmation\n      - alb:\n          listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/front/0123456789abcdef/fedcba9876543210\n          priority: 3\n          conditions:\n            path: /orders/*\n            method: POST\n",
    );
    let dir = common::service(&yaml);
    std::fs::write(dir.path().join("handler.js"), NODE).unwrap();
    std::fs::write(dir.path().join("handler_py.py"), PYTHON).unwrap();
    std::fs::write(dir.path().join("broken.js"), "throw new Error('x');\n").unwrap();
    let event = |kind: &str| {
        let (code, result, stderr) = invoke(dir.path(), &["-f", "worker", "--event", kind]);
        assert_eq!(code, Some(0), "{stderr}");
        body_of(&result)["event"].clone()
    };
    let sqs = event("sqs");
    assert_eq!(
        sqs["Records"][0]["eventSourceARN"],
        "arn:aws:sqs:us-east-1:123456789012:jobs"
    );
    assert_eq!(sqs["Records"][0]["eventSource"], "aws:sqs");
    let s3 = event("s3:put");
    assert_eq!(s3["Records"][0]["s3"]["bucket"]["name"], "loc-photos");
    assert_eq!(
        s3["Records"][0]["s3"]["object"]["key"],
        "uploads/example.jpg"
    );
    assert_eq!(s3["Records"][0]["eventName"], "ObjectCreated:Put");
    let tick = event("schedule");
    assert_eq!(tick["detail-type"], "Scheduled Event");
    assert!(
        tick["resources"][0]
            .as_str()
            .unwrap()
            .ends_with(":rule/loc-test-worker-schedule-1"),
        "{tick}"
    );
    let connect = event("websocket:connect");
    assert_eq!(connect["requestContext"]["eventType"], "CONNECT");
    assert_eq!(connect["requestContext"]["routeKey"], "$connect");
    assert_eq!(connect["requestContext"]["stage"], "test");
    let message = event("websocket:message");
    assert_eq!(message["requestContext"]["routeKey"], "sendMessage");
    let body: Value = serde_json::from_str(message["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body["action"], "sendMessage",
        "the body selects the route: {body}"
    );
    let msk = event("msk");
    assert_eq!(msk["eventSource"], "aws:kafka");
    assert_eq!(msk["records"]["orders-0"][0]["topic"], "orders");
    let cognito = event("cognito");
    assert_eq!(cognito["triggerSource"], "PostConfirmation_ConfirmSignUp");
    assert_eq!(cognito["userPoolId"], "us-east-1_members");
    let alb = event("alb");
    assert_eq!(
        (alb["httpMethod"].as_str(), alb["path"].as_str()),
        (Some("POST"), Some("/orders/sample"))
    );
    assert!(
        alb["requestContext"]["elb"]["targetGroupArn"]
            .as_str()
            .unwrap()
            .contains(":targetgroup/loc-test-worker-"),
        "{alb}"
    );
    // An unknown kind is a usage error naming the kinds.
    let out = common::sls_in(dir.path())
        .args([
            "invoke",
            "local",
            "-f",
            "worker",
            "--event",
            "carrier-pigeon",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("s3:put"));
}

#[test]
fn offline_with_schedules_serves_a_service_that_only_has_schedules() {
    let dir = common::service(
        "service: ticks\nprovider:\n  name: aws\n  runtime: nodejs22.x\nfunctions:\n  tick:\n    handler: handler.echo\n    events:\n      - schedule: cron(0 9 ? * MON-FRI *)\n      - schedule:\n          rate: rate(1 hour)\n          enabled: false\n",
    );
    std::fs::write(dir.path().join("handler.js"), NODE).unwrap();
    // Without --schedules there is nothing to serve.
    let out = common::sls_in(dir.path())
        .args(["offline", "--port", "0", "--lambda-port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--schedules"));
    let offline = Offline::start(dir.path(), &["--schedules"]);
    assert!(
        offline
            .lines
            .iter()
            .any(|l| l.trim() == "ticks-dev-tick-schedule-1 → tick: cron(0 9 ? * MON-FRI *)"),
        "{:?}",
        offline.lines
    );
    // A disabled rule is not fired.
    assert!(!offline.lines.iter().any(|l| l.contains("schedule-2")));
}

const SOCKETS: &str = r#"
const http = require('http');
const fs = require('fs');

exports.connect = async (e) => {
  if (e.queryStringParameters && e.queryStringParameters.throw) throw new Error('no');
  fs.appendFileSync(process.env.MARKS, `connect ${e.requestContext.connectionId}\n`);
  return { statusCode: e.queryStringParameters && e.queryStringParameters.deny ? 403 : 200 };
};

exports.disconnect = async (e) => {
  fs.appendFileSync(process.env.MARKS, `disconnect ${e.requestContext.eventType}\n`);
  return { statusCode: 200 };
};

exports.echo = async (e) => ({
  statusCode: 200,
  body: JSON.stringify({ echo: JSON.parse(e.body).text, route: e.requestContext.routeKey }),
});

// Posts back through the @connections API, as a handler does with the management API client.
exports.fallback = async (e) => {
  const { domainName, stage, connectionId } = e.requestContext;
  const [host, port] = domainName.split(':');
  const data = `got ${e.body}`;
  await new Promise((ok, fail) => {
    const req = http.request(
      { host, port, method: 'POST', path: `/${stage}/@connections/${encodeURIComponent(connectionId)}`,
        headers: { 'content-length': Buffer.byteLength(data) } },
      (res) => { res.resume(); res.on('end', ok); });
    req.on('error', fail);
    req.end(data);
  });
  return { statusCode: 200 };
};
"#;

#[test]
fn offline_serves_websocket_routes_with_connect_answers_and_the_connections_api() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let marks = tempfile::NamedTempFile::new().unwrap();
    let yaml = format!(
        "service: chat\nprovider:\n  name: aws\n  runtime: nodejs22.x\n  environment:\n    MARKS: {}\nfunctions:\n  conn:\n    handler: sockets.connect\n    events:\n      - websocket: $connect\n  gone:\n    handler: sockets.disconnect\n    events:\n      - websocket: $disconnect\n  echo:\n    handler: sockets.echo\n    events:\n      - websocket:\n          route: echo\n          routeResponseSelectionExpression: $default\n  fallback:\n    handler: sockets.fallback\n    events:\n      - websocket: $default\n",
        marks.path().display()
    );
    let dir = common::service(&yaml);
    std::fs::write(dir.path().join("sockets.js"), SOCKETS).unwrap();
    let offline = Offline::start(dir.path(), &["--websocket-port", "0"]);
    let line = offline
        .lines
        .iter()
        .find(|l| l.starts_with("websocket: ws://"))
        .unwrap_or_else(|| panic!("{:?}", offline.lines));
    let base = line.split_whitespace().nth(1).unwrap().to_string();
    assert!(
        offline
            .lines
            .iter()
            .any(|l| l.trim().starts_with("@connections: http://")),
        "{:?}",
        offline.lines
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // $connect refuses: the handshake fails with the handler's status.
        let refused = tokio_tungstenite::connect_async(format!("{base}/?deny=1")).await;
        match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
            other => panic!("expected a refusal: {other:?}"),
        }
        // A $connect that fails is API Gateway's 502.
        match tokio_tungstenite::connect_async(format!("{base}/?throw=1")).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 502),
            other => panic!("expected a refusal: {other:?}"),
        }
        let (mut ws, _) = tokio_tungstenite::connect_async(&base).await.unwrap();
        // A route that answers sends the handler's body back.
        ws.send(Message::text(r#"{"action":"echo","text":"hi"}"#))
            .await
            .unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(20), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let doc: Value = serde_json::from_str(got.to_text().unwrap()).unwrap();
        assert_eq!(doc, serde_json::json!({"echo": "hi", "route": "echo"}));
        // Anything else goes to $default, whose handler posts back through @connections.
        ws.send(Message::text("plain words")).await.unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(20), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(got.to_text().unwrap(), "got plain words");
        ws.close(None).await.unwrap();
        // $disconnect runs after the close.
        for _ in 0..200 {
            if std::fs::read_to_string(marks.path())
                .unwrap()
                .contains("disconnect DISCONNECT")
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    });
    let marks = std::fs::read_to_string(marks.path()).unwrap();
    let connects = marks.lines().filter(|l| l.starts_with("connect ")).count();
    assert_eq!(
        connects, 2,
        "the refused client and the accepted one: {marks}"
    );
    assert!(marks.contains("disconnect DISCONNECT"), "{marks}");
    // A connection that is gone answers 410, as API Gateway does.
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"POST /@connections/nobody HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 410"), "{answer}");
}

#[test]
fn invoke_local_sees_the_functions_layers_where_lambda_puts_them() {
    let dir = common::service(
        "service: layered
provider:
  name: aws
  runtime: nodejs22.x
layers:
  shared:
    path: shared
  pylib:
    path: pylib
  tools:
    path: tools
functions:
  node:
    handler: node.main
    layers:
      - Ref: SharedLambdaLayer
      - Ref: ToolsLambdaLayer
  py:
    handler: py.main
    runtime: python3.12
    layers:
      - !Ref PylibLambdaLayer
",
    );
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "shared/nodejs/node_modules/greeting/index.js",
        "exports.hello = (n) => `hello ${n}`;\n",
    );
    write("tools/bin/say", "#!/bin/sh\necho from-the-tools-layer\n");
    write(
        "node.js",
        "const { execFileSync } = require('child_process');\n\
         exports.main = async (e) => ({ text: require('greeting').hello(e.name), tool: execFileSync('say').toString().trim() });\n",
    );
    write(
        "pylib/python/lib/python3.12/site-packages/shout.py",
        "def shout(s):\n    return s.upper()\n",
    );
    write(
        "py.py",
        "import shout\n\ndef main(event, context):\n    return {'text': shout.shout(event['name'])}\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.path().join("tools/bin/say"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let (code, result, stderr) = invoke(dir.path(), &["-f", "node", "-d", r#"{"name":"ann"}"#]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        result,
        serde_json::json!({ "text": "hello ann", "tool": "from-the-tools-layer" })
    );
    let (code, result, stderr) = invoke(dir.path(), &["-f", "py", "-d", r#"{"name":"bo"}"#]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(result, serde_json::json!({ "text": "BO" }));
    // The layers' files are in the layers, not in the service's package.
    let zip = std::fs::File::open(dir.path().join(".serverless/layered.zip")).unwrap();
    let mut z = zip::ZipArchive::new(zip).unwrap();
    let names: Vec<String> = (0..z.len())
        .map(|i| z.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["node.js", "py.py"]);
}
