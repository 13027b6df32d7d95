//! `sls deploy`, `info` and `remove` against a real AWS API: a moto server per test. What a
//! deploy did is checked independently through the AWS SDK, and the request log proves that a
//! redeploy without changes makes no changing call.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::actions;
use common::moto::Moto;
use serde_json::Value;

/// Runs `sls ARGS --json` and returns the document.
fn json(moto: &Moto, dir: &Path, args: &[&str]) -> Value {
    common::json_of(moto.sls(dir).args(args).arg("--json"))
}

/// The same, with every AWS request going through the test proxy at `proxy`.
fn json_via(moto: &Moto, proxy: &common::faults::Faults, dir: &Path, args: &[&str]) -> Value {
    common::json_of(
        moto.sls(dir)
            .env("AWS_ENDPOINT_URL", &proxy.url)
            .args(args)
            .arg("--json"),
    )
}

/// The resource policy of a function's live alias as JSON text; empty when it has none.
async fn live_policy(cfg: &aws_config::SdkConfig, function: &str) -> String {
    aws_sdk_lambda::Client::new(cfg)
        .get_policy()
        .function_name(function)
        .qualifier("live")
        .send()
        .await
        .map(|p| p.policy().unwrap_or_default().to_string())
        .unwrap_or_default()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn example() -> tempfile::TempDir {
    common::example()
}

const SMALL: &str = "service: small
provider:
  name: aws
  runtime: nodejs22.x
package:
  individually: true
functions:
  a:
    handler: a.main
    package:
      patterns: ['!b.js']
    events:
      - httpApi: 'GET /a'
  b:
    handler: b.main
    package:
      patterns: ['!a.js']
    events:
      - httpApi: 'GET /b'
";

fn small() -> tempfile::TempDir {
    let dir = common::service(SMALL);
    write(dir.path(), "a.js", "exports.main = async () => 'a';\n");
    write(dir.path(), "b.js", "exports.main = async () => 'b';\n");
    dir
}

fn mutating(doc: &Value) -> u64 {
    doc["awsCalls"]["mutating"].as_u64().unwrap()
}

#[test]
fn first_deploy_of_the_example_creates_everything_and_a_redeploy_changes_nothing() {
    let moto = Moto::start();
    let dir = example();
    let first = json(&moto, dir.path(), &["deploy"]);
    let endpoints: Vec<&str> = first["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(endpoints.len(), 4, "{endpoints:?}");
    assert!(
        endpoints
            .iter()
            .any(|e| e.starts_with("GET - https://") && e.ends_with("/users/{id}")),
        "{endpoints:?}"
    );
    // The REST API's stage is named after the stage, as Serverless v3 does.
    assert!(
        endpoints.iter().any(|e| e.starts_with("POST - https://")
            && e.ends_with(".execute-api.us-east-1.amazonaws.com/dev/users")),
        "{endpoints:?}"
    );

    rt().block_on(async {
        let cfg = moto.sdk().await;
        let iam = aws_sdk_iam::Client::new(&cfg);
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        let v2 = aws_sdk_apigatewayv2::Client::new(&cfg);

        let role = iam
            .get_role()
            .role_name("sls-example-dev-us-east-1-lambdaRole")
            .send()
            .await
            .unwrap();
        let role = role.role().unwrap();
        let tags: Vec<(&str, &str)> = role.tags().iter().map(|t| (t.key(), t.value())).collect();
        assert!(
            tags.contains(&("sls:service", "sls-example")) && tags.contains(&("sls:stage", "dev")),
            "{tags:?}"
        );
        let policy = iam
            .get_role_policy()
            .role_name(role.role_name())
            .policy_name("sls-example-dev-lambda")
            .send()
            .await
            .unwrap();
        assert!(
            policy.policy_document().contains("logs"),
            "{}",
            policy.policy_document()
        );

        for (key, runtime) in [("listUsers", "nodejs22.x"), ("report", "python3.12")] {
            let name = format!("sls-example-dev-{key}");
            let f = lambda
                .get_function()
                .function_name(&name)
                .send()
                .await
                .unwrap();
            let c = f.configuration().unwrap();
            assert_eq!(c.runtime().unwrap().as_str(), runtime);
            assert_eq!(c.role(), Some(role.arn()));
            assert_eq!(f.tags().unwrap()["sls:service"], "sls-example");
            let alias = lambda
                .get_alias()
                .function_name(&name)
                .name("live")
                .send()
                .await
                .unwrap();
            assert_eq!(alias.function_version(), Some("1"));
            let versions = lambda
                .list_versions_by_function()
                .function_name(&name)
                .send()
                .await
                .unwrap();
            assert_eq!(versions.versions().len(), 2, "$LATEST and 1");
            // API Gateway may invoke the alias, not $LATEST.
            let p = lambda
                .get_policy()
                .function_name(&name)
                .qualifier("live")
                .send()
                .await
                .unwrap();
            assert!(p.policy().unwrap().contains("apigateway.amazonaws.com"));
        }

        let apis = v2.get_apis().send().await.unwrap();
        let api = apis
            .items()
            .iter()
            .find(|a| a.name() == Some("dev-sls-example"))
            .unwrap();
        let id = api.api_id().unwrap();
        let routes = v2.get_routes().api_id(id).send().await.unwrap();
        let mut keys: Vec<&str> = routes
            .items()
            .iter()
            .filter_map(|r| r.route_key())
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            ["GET /reports/latest", "GET /users", "GET /users/{id}"]
        );
        let integrations = v2.get_integrations().api_id(id).send().await.unwrap();
        for i in integrations.items() {
            let uri = i.integration_uri().unwrap();
            assert!(
                uri.ends_with(":live"),
                "integration targets the alias: {uri}"
            );
            assert_eq!(i.payload_format_version(), Some("2.0"));
        }
        let stages = v2.get_stages().api_id(id).send().await.unwrap();
        assert!(
            stages
                .items()
                .iter()
                .any(|s| s.stage_name() == Some("$default"))
        );

        // The REST API: tagged, POST /users → createUser's alias through AWS_PROXY, deployed
        // to stage `dev`, and createUser's alias lets API Gateway invoke it.
        let v1 = aws_sdk_apigateway::Client::new(&cfg);
        let apis = v1.get_rest_apis().send().await.unwrap();
        let api = apis
            .items()
            .iter()
            .find(|a| a.name() == Some("dev-sls-example"))
            .unwrap();
        assert_eq!(api.tags().unwrap()["sls:stage"], "dev");
        let id = api.id().unwrap();
        let resources = v1.get_resources().rest_api_id(id).send().await.unwrap();
        let users = resources
            .items()
            .iter()
            .find(|r| r.path() == Some("/users"))
            .unwrap();
        let method = v1
            .get_method()
            .rest_api_id(id)
            .resource_id(users.id().unwrap())
            .http_method("POST")
            .send()
            .await
            .unwrap();
        let integ = method.method_integration().unwrap();
        assert_eq!(integ.r#type().unwrap().as_str(), "AWS_PROXY");
        assert_eq!(integ.http_method(), Some("POST"));
        let uri = integ.uri().unwrap();
        assert!(
            uri.starts_with("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:")
                && uri.ends_with(":function:sls-example-dev-createUser:live/invocations"),
            "{uri}"
        );
        let stages = v1.get_stages().rest_api_id(id).send().await.unwrap();
        assert!(stages.item().iter().any(|s| s.stage_name() == Some("dev")));
        let p = lambda
            .get_policy()
            .function_name("sls-example-dev-createUser")
            .qualifier("live")
            .send()
            .await
            .unwrap();
        let p = p.policy().unwrap();
        assert!(p.contains("sls-restapi") && p.contains(&format!(":{id}/")), "{p}");
    });

    // The example's schedule: a rule on the report function's live alias.
    rt().block_on(async {
        let events = aws_sdk_eventbridge::Client::new(&moto.sdk().await);
        let rules = events.list_rules().send().await.unwrap();
        let names: Vec<&str> = rules.rules().iter().filter_map(|r| r.name()).collect();
        assert_eq!(names, ["sls-example-dev-report-schedule-1"]);
        let targets = events
            .list_targets_by_rule()
            .rule("sls-example-dev-report-schedule-1")
            .send()
            .await
            .unwrap();
        assert!(
            targets.targets()[0]
                .arn()
                .ends_with(":sls-example-dev-report:live")
        );
    });

    // The same config again: nothing to change, and not one changing request.
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&again), Vec::<String>::new());
    assert_eq!(mutating(&again), 0, "{:#}", again["awsCalls"]);
    assert_eq!(again["endpoints"], first["endpoints"]);
    println!(
        "first deploy: {} calls ({} changing); no-op: {} calls",
        first["awsCalls"]["total"],
        mutating(&first),
        again["awsCalls"]["total"]
    );
}

#[test]
fn a_code_change_updates_one_function_and_moves_its_alias() {
    let moto = Moto::start();
    let dir = small();
    json(&moto, dir.path(), &["deploy"]);
    write(dir.path(), "a.js", "exports.main = async () => 'a2';\n");
    let doc = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&doc), ["updateFunctionCode", "publishVersion"]);
    assert_eq!(doc["plan"]["steps"][0]["functionName"], "small-dev-a");
    assert_eq!(doc["functions"]["a"]["version"], "2");
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        let alias = lambda
            .get_alias()
            .function_name("small-dev-a")
            .name("live")
            .send()
            .await
            .unwrap();
        assert_eq!(alias.function_version(), Some("2"));
        let b = lambda
            .get_alias()
            .function_name("small-dev-b")
            .name("live")
            .send()
            .await
            .unwrap();
        assert_eq!(b.function_version(), Some("1"));
    });
    println!(
        "one-function code change: {} calls ({} changing)",
        doc["awsCalls"]["total"],
        mutating(&doc)
    );
}

#[test]
fn a_config_change_updates_configuration_only_and_never_prints_env_values() {
    let moto = Moto::start();
    let dir = small();
    json(&moto, dir.path(), &["deploy"]);
    let yaml = SMALL.replace("  b:\n    handler: b.main\n", "  b:\n    handler: b.main\n    memorySize: 256\n    environment:\n      TOKEN: hunter2-secret\n");
    fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
    let out = moto
        .sls(dir.path())
        .arg("deploy")
        .assert()
        .success()
        .get_output()
        .clone();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("memorySize 1024 → 256"), "{all}");
    assert!(all.contains("TOKEN") && !all.contains("hunter2"), "{all}");
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        let c = lambda
            .get_function_configuration()
            .function_name("small-dev-b")
            .qualifier("live")
            .send()
            .await
            .unwrap();
        assert_eq!(c.memory_size(), Some(256));
        assert_eq!(c.version(), Some("2"));
    });
}

#[test]
fn removed_functions_and_routes_are_deleted() {
    let moto = Moto::start();
    let dir = small();
    json(&moto, dir.path(), &["deploy"]);
    let yaml = SMALL.split("  b:\n").next().unwrap().to_string();
    fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
    let doc = json(&moto, dir.path(), &["deploy"]);
    let acts = actions(&doc);
    assert!(
        acts.contains(&"deleteRoute".to_string()) && acts.contains(&"deleteFunction".to_string()),
        "{acts:?}"
    );
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        assert!(
            lambda
                .get_function()
                .function_name("small-dev-b")
                .send()
                .await
                .is_err()
        );
        let v2 = aws_sdk_apigatewayv2::Client::new(&cfg);
        let apis = v2.get_apis().send().await.unwrap();
        let id = apis.items()[0].api_id().unwrap();
        let routes = v2.get_routes().api_id(id).send().await.unwrap();
        let keys: Vec<&str> = routes
            .items()
            .iter()
            .filter_map(|r| r.route_key())
            .collect();
        assert_eq!(keys, ["GET /a"]);
    });
}

#[test]
fn dry_run_changes_nothing_and_deploy_function_touches_one_function() {
    let moto = Moto::start();
    let dir = small();
    let dry = json(&moto, dir.path(), &["deploy", "--dry-run"]);
    assert_eq!(dry["dryRun"], true);
    assert!(actions(&dry).contains(&"createFunction".to_string()));
    assert_eq!(mutating(&dry), 0);

    // Not deployed yet: deploy function says what to do.
    let out = moto
        .sls(dir.path())
        .args(["deploy", "function", "-f", "a"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `sls deploy` first"));

    json(&moto, dir.path(), &["deploy"]);
    write(dir.path(), "a.js", "exports.main = async () => 'a3';\n");
    let doc = json(&moto, dir.path(), &["deploy", "function", "-f", "a"]);
    assert_eq!(actions(&doc), ["updateFunctionCode", "publishVersion"]);
    assert!(
        doc["awsCalls"]["operations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| !o.as_str().unwrap().starts_with("ApiGatewayV2"))
    );
}

#[test]
fn info_shows_endpoints_and_versions() {
    let moto = Moto::start();
    let dir = small();
    let out = moto
        .sls(dir.path())
        .arg("info")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stdout).contains("a: small-dev-a (not deployed)"));
    json(&moto, dir.path(), &["deploy"]);
    let info = json(&moto, dir.path(), &["info"]);
    assert_eq!(info["functions"][0]["version"], "1");
    assert_eq!(info["endpoints"].as_array().unwrap().len(), 2);
}

#[test]
fn remove_deletes_what_we_own_and_leaves_look_alikes_alone() {
    let moto = Moto::start();
    let dir = small();
    json(&moto, dir.path(), &["deploy"]);
    // Someone else's function with a name in our range, without our tags.
    someone_elses_function(&moto, dir.path(), "small-dev-theirs");
    let doc = json(&moto, dir.path(), &["remove"]);
    let removed: Vec<&str> = doc["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        removed.contains(&"Lambda function small-dev-a")
            && removed.iter().any(|r| r.starts_with("IAM role")),
        "{removed:?}"
    );
    // Functions are found by our tags, so an untagged one in our name range is not even read.
    assert!(
        !removed.iter().any(|r| r.contains("theirs")) && doc["leftAlone"] == serde_json::json!([]),
        "{doc}"
    );
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        assert!(
            lambda
                .get_function()
                .function_name("small-dev-a")
                .send()
                .await
                .is_err()
        );
        assert!(
            lambda
                .get_function()
                .function_name("small-dev-theirs")
                .send()
                .await
                .is_ok()
        );
    });
    // Safe to re-run.
    let again = json(&moto, dir.path(), &["remove"]);
    assert_eq!(again["removed"], serde_json::json!([]));
}

#[test]
fn a_function_with_our_name_but_not_our_tags_is_a_conflict() {
    let moto = Moto::start();
    let dir = small();
    json(&moto, dir.path(), &["deploy"]);
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        lambda
            .untag_resource()
            .resource("arn:aws:lambda:us-east-1:123456789012:function:small-dev-b")
            .tag_keys("sls:service")
            .send()
            .await
            .unwrap();
    });
    let out = moto
        .sls(dir.path())
        .arg("deploy")
        .assert()
        .code(6)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Lambda function small-dev-b")
            && err.contains("without the sls:service/sls:stage tags"),
        "{err}"
    );
}

#[test]
fn an_interrupted_deploy_converges_when_run_again() {
    let moto = Moto::start();
    let dir = small();
    json(&moto, dir.path(), &["deploy"]);
    // What a deploy stopped half way leaves: new code in $LATEST, no version published, the
    // alias still on the old one, and a route not created yet.
    write(dir.path(), "a.js", "exports.main = async () => 'a4';\n");
    moto.sls(dir.path()).arg("package").assert().success();
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        lambda
            .update_function_code()
            .function_name("small-dev-a")
            .zip_file(aws_sdk_lambda::primitives::Blob::new(
                fs::read(dir.path().join(".serverless/a.zip")).unwrap(),
            ))
            .send()
            .await
            .unwrap();
        let v2 = aws_sdk_apigatewayv2::Client::new(&cfg);
        let apis = v2.get_apis().send().await.unwrap();
        let id = apis.items()[0].api_id().unwrap();
        let routes = v2.get_routes().api_id(id).send().await.unwrap();
        let b = routes
            .items()
            .iter()
            .find(|r| r.route_key() == Some("GET /b"))
            .unwrap();
        v2.delete_route()
            .api_id(id)
            .route_id(b.route_id().unwrap())
            .send()
            .await
            .unwrap();
    });
    let doc = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&doc), ["publishVersion", "createRoute"]);
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(mutating(&again), 0);
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let v2 = aws_sdk_apigatewayv2::Client::new(&cfg);
        let apis = v2.get_apis().send().await.unwrap();
        assert_eq!(apis.items().len(), 1, "no duplicate API");
        let id = apis.items()[0].api_id().unwrap();
        assert_eq!(
            v2.get_routes()
                .api_id(id)
                .send()
                .await
                .unwrap()
                .items()
                .len(),
            2
        );
        assert_eq!(
            v2.get_integrations()
                .api_id(id)
                .send()
                .await
                .unwrap()
                .items()
                .len(),
            2,
            "no duplicate integration"
        );
    });
}

#[test]
fn without_credentials_one_clear_line_before_any_work() {
    let dir = small();
    let out = common::sls_in(dir.path())
        .args(["deploy"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .assert()
        .code(5)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no AWS credentials found") && err.contains("--aws-profile"),
        "{err}"
    );
}

const REST: &str = "service: rest
provider:
  name: aws
  runtime: nodejs22.x
functions:
  a:
    handler: a.main
    reservedConcurrency: 5
    events:
      - http:
          method: get
          path: items/{id}
          cors: true
      - http: POST items
  b:
    handler: b.main
    events:
      - http: ANY /
";

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn rest_routes_cors_and_concurrency_are_deployed_changed_and_removed() {
    let moto = Moto::start();
    let dir = common::service(REST);
    write(dir.path(), "a.js", "exports.main = async () => 'a';\n");
    write(dir.path(), "b.js", "exports.main = async () => 'b';\n");
    let first = json(&moto, dir.path(), &["deploy"]);
    let acts = actions(&first);
    for a in [
        "createRestApi",
        "createRestResource",
        "putRestMethod",
        "putRestCors",
        "deployRestApi",
        "setReservedConcurrency",
        "addPermission",
    ] {
        assert!(acts.contains(&a.to_string()), "{a} missing from {acts:?}");
    }
    let endpoints: Vec<&str> = first["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert_eq!(endpoints.len(), 3, "{endpoints:?}");
    assert!(
        endpoints
            .iter()
            .any(|e| e.starts_with("ANY - ") && e.ends_with("/dev/"))
    );

    let id = rt().block_on(async {
        let cfg = moto.sdk().await;
        let v1 = aws_sdk_apigateway::Client::new(&cfg);
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        let apis = v1.get_rest_apis().send().await.unwrap();
        assert_eq!(apis.items().len(), 1);
        let id = apis.items()[0].id().unwrap().to_string();
        let resources = v1.get_resources().rest_api_id(&id).send().await.unwrap();
        let item = resources
            .items()
            .iter()
            .find(|r| r.path() == Some("/items/{id}"))
            .unwrap();
        let options = v1
            .get_integration()
            .rest_api_id(&id)
            .resource_id(item.id().unwrap())
            .http_method("OPTIONS")
            .send()
            .await
            .unwrap();
        assert_eq!(options.r#type().unwrap().as_str(), "MOCK");
        let response = v1
            .get_integration_response()
            .rest_api_id(&id)
            .resource_id(item.id().unwrap())
            .http_method("OPTIONS")
            .status_code("200")
            .send()
            .await
            .unwrap();
        let headers = response.response_parameters().unwrap();
        assert_eq!(
            headers["method.response.header.Access-Control-Allow-Methods"],
            "'GET,OPTIONS'"
        );
        assert_eq!(
            headers["method.response.header.Access-Control-Allow-Origin"],
            "'*'"
        );
        let concurrency = lambda
            .get_function_concurrency()
            .function_name("rest-dev-a")
            .send()
            .await
            .unwrap();
        assert_eq!(concurrency.reserved_concurrent_executions(), Some(5));
        id
    });

    // Everything read back as deployed: nothing to do.
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&again), Vec::<String>::new());
    assert_eq!(mutating(&again), 0, "{:#}", again["awsCalls"]);

    // Someone deployed another state to the stage (or a run stopped before deploying): the
    // stage no longer serves this config, so the next deploy deploys it again.
    rt().block_on(async {
        let v1 = aws_sdk_apigateway::Client::new(&moto.sdk().await);
        v1.create_deployment()
            .rest_api_id(&id)
            .stage_name("dev")
            .description("by hand")
            .send()
            .await
            .unwrap();
    });
    let redeploy = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&redeploy), ["deployRestApi"]);

    // Routes moved, one resource tree gone, the concurrency limit dropped.
    let moved = REST
        .replace(
            "      - http:\n          method: get\n          path: items/{id}\n          cors: true\n      - http: POST items\n",
            "      - http: GET things\n",
        )
        .replace("    reservedConcurrency: 5\n", "");
    fs::write(dir.path().join("serverless.yml"), moved).unwrap();
    let doc = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(
        sorted(actions(&doc)),
        [
            "createRestResource",
            "deleteRestResource",
            "deleteRestResource",
            "deployRestApi",
            "putRestMethod",
            "setReservedConcurrency"
        ]
    );
    rt().block_on(async {
        let v1 = aws_sdk_apigateway::Client::new(&moto.sdk().await);
        let resources = v1.get_resources().rest_api_id(&id).send().await.unwrap();
        let mut paths: Vec<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
        paths.sort();
        assert_eq!(paths, ["/", "/things"]);
    });

    // No http events left: the API and the permissions go, the functions stay.
    let bare = "service: rest\nprovider:\n  name: aws\n  runtime: nodejs22.x\nfunctions:\n  a:\n    handler: a.main\n  b:\n    handler: b.main\n";
    fs::write(dir.path().join("serverless.yml"), bare).unwrap();
    let doc = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(
        sorted(actions(&doc)),
        ["deleteRestApi", "removePermission", "removePermission"]
    );
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let v1 = aws_sdk_apigateway::Client::new(&cfg);
        assert!(v1.get_rest_apis().send().await.unwrap().items().is_empty());
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        let policy = lambda
            .get_policy()
            .function_name("rest-dev-b")
            .qualifier("live")
            .send()
            .await;
        assert!(
            policy.as_ref().map_or(true, |p| !p
                .policy()
                .unwrap_or_default()
                .contains("sls-restapi")),
            "{policy:?}"
        );
    });
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
}

#[test]
fn throttling_and_503_answers_are_retried_and_the_deploy_converges() {
    let moto = Moto::start();
    let faults = common::faults::Faults::start(moto.port, 3);
    let dir = small();
    let through = |args: &[&str]| -> Value { json_via(&moto, &faults, dir.path(), args) };
    let first = through(&["deploy"]);
    let injected = faults.injected();
    assert!(injected >= 5, "only {injected} faults injected");
    // Every fault was answered by a retry: more requests sent than a clean run needs — one
    // per fault, and for a 503 to a create AWS does not make idempotent, the reads that look
    // for what it may have made before it is sent again.
    let clean = json(&Moto::start(), small().path(), &["deploy"]);
    let (sent, needed) = (
        first["awsCalls"]["total"].as_u64().unwrap(),
        clean["awsCalls"]["total"].as_u64().unwrap(),
    );
    assert!(
        sent >= needed + injected as u64 && sent <= needed + 4 * injected as u64,
        "{sent} sent, {needed} needed, {injected} faults: {:#}",
        first["awsCalls"]
    );
    let again = through(&["deploy"]);
    assert_eq!(actions(&again), Vec::<String>::new());
    assert_eq!(mutating(&again), 0);
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        for name in ["small-dev-a", "small-dev-b"] {
            let alias = lambda
                .get_alias()
                .function_name(name)
                .name("live")
                .send()
                .await
                .unwrap();
            assert_eq!(alias.function_version(), Some("1"), "{name}");
        }
        let v2 = aws_sdk_apigatewayv2::Client::new(&cfg);
        let apis = v2.get_apis().send().await.unwrap();
        assert_eq!(apis.items().len(), 1, "no duplicate API");
        let id = apis.items()[0].api_id().unwrap();
        let routes = v2.get_routes().api_id(id).send().await.unwrap();
        assert_eq!(routes.items().len(), 2);
    });
    println!("{injected} faults injected, all retried");
}

/// An S3 client for moto, which has no per-bucket host names.
fn s3(cfg: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(cfg)
            .force_path_style(true)
            .build(),
    )
}

#[test]
fn an_artifact_over_50_mb_goes_through_a_tagged_bucket_that_remove_deletes() {
    let moto = Moto::start();
    let dir = common::service(
        "service: big\nprovider:\n  name: aws\n  runtime: nodejs22.x\nfunctions:\n  a:\n    handler: a.main\n",
    );
    write(dir.path(), "a.js", "exports.main = async () => 'a';\n");
    // Incompressible bytes, so the zip stays over Lambda's 50 MB inline limit.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..51 * 1024 * 1024 / 8)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect();
    fs::write(dir.path().join("model.bin"), noise).unwrap();

    // Through the proxy, to see that every S3 call names the account that must own the bucket.
    let proxy = common::faults::Faults::delayed(moto.port, std::time::Duration::ZERO);
    let first = json_via(&moto, &proxy, dir.path(), &["deploy"]);
    let put = proxy.heads("PUT /big-dev-sls-123456789012-us-east-1/serverless/");
    assert_eq!(put.len(), 1);
    assert!(
        put[0]
            .to_ascii_lowercase()
            .contains("x-amz-expected-bucket-owner: 123456789012"),
        "{}",
        put[0]
    );
    assert_eq!(
        actions(&first)[..4],
        [
            "createRole",
            "createLogGroup",
            "prepareDeploymentBucket",
            "createFunction"
        ]
    );
    let bucket = "big-dev-sls-123456789012-us-east-1";
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let s3 = s3(&cfg);
        let tags = s3.get_bucket_tagging().bucket(bucket).send().await.unwrap();
        assert!(
            tags.tag_set()
                .iter()
                .any(|t| t.key() == "sls:service" && t.value() == "big")
        );
        let objects = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
        assert_eq!(objects.contents().len(), 1);
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        let f = lambda
            .get_function_configuration()
            .function_name("big-dev-a")
            .send()
            .await
            .unwrap();
        let manifest: Value = serde_json::from_slice(
            &fs::read(dir.path().join(".serverless/sls-manifest.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            f.code_sha256(),
            manifest["artifacts"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()["sha256"]
                .as_str()
        );
    });
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(mutating(&again), 0);

    // The fast path takes the same road for a large artifact.
    write(dir.path(), "a.js", "exports.main = async () => 'a2';\n");
    let fast = json(&moto, dir.path(), &["deploy", "function", "-f", "a"]);
    assert_eq!(
        actions(&fast),
        [
            "prepareDeploymentBucket",
            "updateFunctionCode",
            "publishVersion"
        ]
    );
    rt().block_on(async {
        let s3 = s3(&moto.sdk().await);
        let objects = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
        assert_eq!(objects.contents().len(), 2);
    });

    let removed = json(&moto, dir.path(), &["remove"]);
    let removed = removed["removed"].to_string();
    assert!(
        removed.contains(&format!("S3 bucket {bucket}")),
        "{removed}"
    );
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let s3 = s3(&cfg);
        assert!(s3.head_bucket().bucket(bucket).send().await.is_err());
        // Someone else's bucket under the name sls would give. Tagged with theirs: moto keeps a
        // deleted bucket's tags for a new bucket of the same name (AWS starts it with none).
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        let theirs = aws_sdk_s3::types::Tag::builder()
            .key("owner")
            .value("someone-else")
            .build()
            .unwrap();
        s3.put_bucket_tagging()
            .bucket(bucket)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(theirs)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    // Never used: the deploy stops before the upload, as for every other resource not ours.
    let err = common::stderr_of(moto.sls(dir.path()).arg("deploy"), 6);
    assert!(
        err.contains(&format!(
            "S3 bucket {bucket} exists without the sls:service/sls:stage tags of this service"
        )) && err.contains("provider.deploymentBucket.name"),
        "{err}"
    );
}

#[test]
fn an_architecture_change_goes_with_the_code() {
    // UpdateFunctionConfiguration has no Architectures field: AWS would keep the old one and run
    // the code on the wrong CPU. moto ignores Architectures on UpdateFunctionCode, so what is
    // checked is the request itself, through the test proxy.
    let moto = Moto::start();
    let proxy = common::faults::Faults::delayed(moto.port, std::time::Duration::ZERO);
    let dir = small();
    let via_proxy = |args: &[&str]| json_via(&moto, &proxy, dir.path(), args);
    via_proxy(&["deploy"]);
    let yaml = SMALL.replace(
        "  b:\n    handler: b.main\n",
        "  b:\n    handler: b.main\n    architecture: arm64\n",
    );
    fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
    let doc = via_proxy(&["deploy"]);
    assert_eq!(actions(&doc), ["updateFunctionCode", "publishVersion"]);
    assert_eq!(
        doc["plan"]["steps"][0]["changes"][0]["field"],
        "architecture"
    );
    let sent = proxy.bodies("PUT /2015-03-31/functions/small-dev-b/code");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].contains(r#""Architectures":["arm64"]"#),
        "{}",
        &sent[0][..200.min(sent[0].len())]
    );
    let configured = proxy.bodies("PUT /2015-03-31/functions/small-dev-b/configuration");
    assert!(configured.is_empty(), "{configured:?}");
}

#[test]
fn http_api_listings_are_read_to_the_last_page_and_unused_integrations_go() {
    let moto = Moto::start();
    let dir = small();
    json(&moto, dir.path(), &["deploy"]);
    // AWS pages GetRoutes; moto does not. A proxy answers the first GetRoutes with a page of
    // one route and a nextToken; the next request goes to moto, which answers with every route.
    // Reading the first page only would plan a second `GET /b` route.
    let (api, page) = rt().block_on(async {
        let v2 = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await);
        let apis = v2.get_apis().send().await.unwrap();
        let api = apis
            .items()
            .iter()
            .find(|a| a.name() == Some("dev-small"))
            .unwrap()
            .api_id()
            .unwrap()
            .to_string();
        let routes = v2.get_routes().api_id(&api).send().await.unwrap();
        let a = routes
            .items()
            .iter()
            .find(|r| r.route_key() == Some("GET /a"))
            .unwrap();
        let page = serde_json::json!({
            "items": [{ "routeId": a.route_id(), "routeKey": "GET /a", "target": a.target() }],
            "nextToken": "page-2"
        });
        // An integration no route uses, as an interrupted run leaves one.
        v2.create_integration()
            .api_id(&api)
            .integration_type(aws_sdk_apigatewayv2::types::IntegrationType::AwsProxy)
            .integration_uri("arn:aws:lambda:us-east-1:123456789012:function:small-dev-a:live")
            .payload_format_version("2.0")
            .send()
            .await
            .unwrap();
        (api, page.to_string())
    });
    let proxy =
        common::faults::Faults::answer(moto.port, format!("GET /v2/apis/{api}/routes HTTP"), page);
    let doc = json_via(&moto, &proxy, dir.path(), &["deploy"]);
    assert_eq!(proxy.injected(), 1);
    assert_eq!(actions(&doc), ["deleteIntegration"]);
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&again), Vec::<String>::new());
    assert_eq!(mutating(&again), 0);
}

#[test]
fn on_error_sends_a_dead_letter_config_and_lets_the_role_send_there() {
    // moto does not model DeadLetterConfig: what is checked is the request, through the proxy.
    let moto = Moto::start();
    let proxy = common::faults::Faults::delayed(moto.port, std::time::Duration::ZERO);
    let dir = small();
    let dlq = "arn:aws:sqs:us-east-1:123456789012:failed";
    let yaml = SMALL.replace(
        "  a:\n    handler: a.main\n",
        &format!("  a:\n    handler: a.main\n    onError: {dlq}\n"),
    );
    fs::write(dir.path().join("serverless.yml"), &yaml).unwrap();
    json_via(&moto, &proxy, dir.path(), &["deploy"]);
    let created = proxy.bodies("POST /2015-03-31/functions ");
    let a: Vec<&String> = created
        .iter()
        .filter(|b| b.contains("small-dev-a"))
        .collect();
    assert_eq!(a.len(), 1);
    assert!(
        a[0].contains(&format!(r#""DeadLetterConfig":{{"TargetArn":"{dlq}"}}"#)),
        "{}",
        &a[0][..300.min(a[0].len())]
    );
    let b: Vec<&String> = created
        .iter()
        .filter(|b| b.contains("small-dev-b"))
        .collect();
    assert!(!b[0].contains("DeadLetterConfig"));
    let policy = proxy.bodies("POST / ");
    assert!(
        policy
            .iter()
            .any(|p| p.contains("Action=PutRolePolicy") && p.contains("sqs%3ASendMessage")),
        "{policy:?}"
    );
}

#[test]
fn layers_and_asynchronous_invocation_are_deployed_and_removed() {
    let moto = Moto::start();
    let dir = small();
    let layer = rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        let zip = fs::read(common::root().join("tests/fixtures/layer.zip"))
            .unwrap_or_else(|_| minimal_zip());
        lambda
            .publish_layer_version()
            .layer_name("shared")
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .layer_version_arn()
            .unwrap()
            .to_string()
    });
    let yaml = SMALL
        .replace(
            "  runtime: nodejs22.x\n",
            &format!("  runtime: nodejs22.x\n  layers:\n    - {layer}\n"),
        )
        .replace(
            "  a:\n    handler: a.main\n",
            "  a:\n    handler: a.main\n    maximumRetryAttempts: 0\n    maximumEventAge: 3600\n    destinations:\n      onFailure: b\n",
        );
    fs::write(dir.path().join("serverless.yml"), &yaml).unwrap();
    let first = json(&moto, dir.path(), &["deploy"]);
    assert!(
        actions(&first).contains(&"putAsyncInvokeConfig".to_string()),
        "{:?}",
        actions(&first)
    );
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        for name in ["small-dev-a", "small-dev-b"] {
            let c = lambda
                .get_function_configuration()
                .function_name(name)
                .qualifier("live")
                .send()
                .await
                .unwrap();
            let layers: Vec<&str> = c.layers().iter().filter_map(|l| l.arn()).collect();
            assert_eq!(layers, [layer.as_str()], "{name}");
        }
        let e = lambda
            .get_function_event_invoke_config()
            .function_name("small-dev-a")
            .qualifier("live")
            .send()
            .await
            .unwrap();
        assert_eq!(e.maximum_retry_attempts(), Some(0));
        assert_eq!(e.maximum_event_age_in_seconds(), Some(3600));
        let target = e
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|f| f.destination())
            .unwrap();
        assert!(target.ends_with(":function:small-dev-b"), "{target}");
    });
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&again), Vec::<String>::new());
    assert_eq!(mutating(&again), 0, "{:#}", again["awsCalls"]);

    // Taken out of the config: taken out of AWS.
    fs::write(dir.path().join("serverless.yml"), SMALL).unwrap();
    let removed = json(&moto, dir.path(), &["deploy"]);
    assert!(
        actions(&removed).contains(&"deleteAsyncInvokeConfig".to_string()),
        "{:?}",
        actions(&removed)
    );
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        let a = lambda
            .get_function_configuration()
            .function_name("small-dev-a")
            .send()
            .await
            .unwrap();
        assert!(a.layers().is_empty());
        assert!(
            lambda
                .get_function_event_invoke_config()
                .function_name("small-dev-a")
                .qualifier("live")
                .send()
                .await
                .is_err()
        );
    });
    let settled = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(mutating(&settled), 0, "{:?}", actions(&settled));
}

/// A zip with one file, for a layer's content.
fn minimal_zip() -> Vec<u8> {
    let dir = small();
    common::json_of(common::sls_in(dir.path()).args(["package", "--json"]));
    fs::read(dir.path().join(".serverless/small.zip"))
        .or_else(|_| fs::read(dir.path().join(".serverless/a.zip")))
        .unwrap()
}

#[test]
fn http_api_payload_version_is_deployed_and_changed() {
    let moto = Moto::start();
    let dir = small();
    let v1 = SMALL.replace(
        "  runtime: nodejs22.x\n",
        "  runtime: nodejs22.x\n  httpApi:\n    payload: '1.0'\n",
    );
    fs::write(dir.path().join("serverless.yml"), &v1).unwrap();
    json(&moto, dir.path(), &["deploy"]);
    let versions = || {
        rt().block_on(async {
            let v2 = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await);
            let apis = v2.get_apis().send().await.unwrap();
            let id = apis.items()[0].api_id().unwrap().to_string();
            let all = v2.get_integrations().api_id(&id).send().await.unwrap();
            let mut v: Vec<String> = all
                .items()
                .iter()
                .filter_map(|i| i.payload_format_version().map(str::to_string))
                .collect();
            v.sort();
            v
        })
    };
    assert_eq!(versions(), ["1.0", "1.0"]);
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
    // Back to the default: new integrations, routes moved to them, the old ones deleted.
    fs::write(dir.path().join("serverless.yml"), SMALL).unwrap();
    let doc = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(
        sorted(actions(&doc)),
        sorted(
            [
                "createIntegration",
                "createIntegration",
                "updateRoute",
                "updateRoute",
                "deleteIntegration",
                "deleteIntegration"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    assert_eq!(versions(), ["2.0", "2.0"]);
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
    // A function's own `httpApi.payload` wins for its integration only.
    let own = SMALL.replace(
        "  a:\n    handler: a.main\n",
        "  a:\n    handler: a.main\n    httpApi:\n      payload: '1.0'\n",
    );
    fs::write(dir.path().join("serverless.yml"), &own).unwrap();
    let doc = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(
        sorted(actions(&doc)),
        sorted(
            ["createIntegration", "updateRoute", "deleteIntegration"]
                .map(String::from)
                .to_vec()
        )
    );
    assert_eq!(versions(), ["1.0", "2.0"]);
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
}

#[test]
fn http_api_cors_mapping_is_deployed_and_follows_the_config() {
    let moto = Moto::start();
    let dir = small();
    let with = |cors: &str| {
        SMALL.replace(
            "  runtime: nodejs22.x\n",
            &format!("  runtime: nodejs22.x\n  httpApi:\n    cors:\n{cors}"),
        )
    };
    fs::write(
        dir.path().join("serverless.yml"),
        with("      allowedOrigins: ['https://example.com']\n      allowCredentials: true\n      maxAge: 600\n"),
    )
    .unwrap();
    json(&moto, dir.path(), &["deploy"]);
    let cors = || {
        rt().block_on(async {
            let v2 = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await);
            let apis = v2.get_apis().send().await.unwrap();
            apis.items()[0].cors_configuration().cloned()
        })
    };
    let c = cors().unwrap();
    assert_eq!(c.allow_origins(), ["https://example.com"]);
    assert_eq!(c.allow_credentials(), Some(true));
    assert_eq!(c.max_age(), Some(600));
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
    // Changed on a redeploy, not only at creation.
    fs::write(
        dir.path().join("serverless.yml"),
        with("      allowedOrigins: ['https://a.example', 'https://b.example']\n"),
    )
    .unwrap();
    let doc = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&doc), ["updateHttpApiCors"]);
    let c = cors().unwrap();
    assert_eq!(
        c.allow_origins(),
        ["https://a.example", "https://b.example"]
    );
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
    // Taken out of the config: taken off the API.
    fs::write(dir.path().join("serverless.yml"), SMALL).unwrap();
    assert_eq!(
        actions(&json(&moto, dir.path(), &["deploy"])),
        ["updateHttpApiCors"]
    );
    assert!(cors().is_none_or(|c| c.allow_origins().is_empty()));
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
}

#[test]
fn function_urls_on_the_live_alias_are_deployed_with_their_grants_and_removed() {
    let moto = Moto::start();
    let dir = small();
    let yaml = SMALL
        .replace(
            "  a:\n    handler: a.main\n",
            "  a:\n    handler: a.main\n    url: true\n",
        )
        .replace(
            "  b:\n    handler: b.main\n",
            "  b:\n    handler: b.main\n    url:\n      authorizer: aws_iam\n      invokeMode: RESPONSE_STREAM\n",
        );
    fs::write(dir.path().join("serverless.yml"), &yaml).unwrap();
    let first = json(&moto, dir.path(), &["deploy"]);
    let url = first["functions"]["a"]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("https://"), "{url}");
    let grants = |name: &str| -> String {
        rt().block_on(async {
            let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
            lambda
                .get_policy()
                .function_name(name)
                .qualifier("live")
                .send()
                .await
                .map(|p| p.policy().unwrap_or_default().to_string())
                .unwrap_or_default()
        })
    };
    // Public: both grants Lambda wants since October 2025.
    let a = grants("small-dev-a");
    assert!(
        a.contains("sls-url")
            && a.contains("sls-url-invoke")
            && a.contains("lambda:InvokeFunctionUrl"),
        "{a}"
    );
    // Behind IAM: none.
    assert!(!grants("small-dev-b").contains("sls-url"));
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        let b = lambda
            .get_function_url_config()
            .function_name("small-dev-b")
            .qualifier("live")
            .send()
            .await
            .unwrap();
        assert_eq!(b.auth_type().as_str(), "AWS_IAM");
        assert_eq!(b.invoke_mode().map(|m| m.as_str()), Some("RESPONSE_STREAM"));
    });
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&again), Vec::<String>::new());
    assert_eq!(mutating(&again), 0);
    assert_eq!(again["functions"]["a"]["url"], url.as_str());
    // Taken out of the config: the URLs and their grants go.
    fs::write(dir.path().join("serverless.yml"), SMALL).unwrap();
    let removed = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(
        actions(&removed),
        ["deleteFunctionUrl", "deleteFunctionUrl"]
    );
    assert!(!grants("small-dev-a").contains("sls-url"));
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
}

#[test]
fn the_role_is_named_placed_bounded_and_tagged_as_configured_or_an_existing_one_is_used() {
    let moto = Moto::start();
    let dir = small();
    let boundary = "arn:aws:iam::aws:policy/PowerUserAccess";
    let custom = SMALL.replace(
        "  runtime: nodejs22.x\n",
        &format!(
            "  runtime: nodejs22.x\n  iam:\n    role:\n      name: small-custom\n      path: /team/\n      permissionsBoundary: {boundary}\n      tags:\n        team: a\n"
        ),
    );
    fs::write(dir.path().join("serverless.yml"), &custom).unwrap();
    json(&moto, dir.path(), &["deploy"]);
    let role_of = |name: &str| {
        rt().block_on(async {
            let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
            let c = lambda
                .get_function_configuration()
                .function_name(name)
                .qualifier("live")
                .send()
                .await
                .unwrap();
            c.role().unwrap().to_string()
        })
    };
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
        let r = iam
            .get_role()
            .role_name("small-custom")
            .send()
            .await
            .unwrap();
        let r = r.role().unwrap();
        assert_eq!(r.path(), "/team/");
        assert_eq!(
            r.permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn()),
            Some(boundary)
        );
        let tags: Vec<(&str, &str)> = r.tags().iter().map(|t| (t.key(), t.value())).collect();
        assert!(
            tags.contains(&("team", "a")) && tags.contains(&("sls:stage", "dev")),
            "{tags:?}"
        );
    });
    assert!(role_of("small-dev-a").ends_with(":role/team/small-custom"));
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
    // Renamed (here: back to the default name): a new role, the functions move, the old goes.
    fs::write(dir.path().join("serverless.yml"), SMALL).unwrap();
    let renamed = actions(&json(&moto, dir.path(), &["deploy"]));
    assert_eq!(renamed.first().map(String::as_str), Some("createRole"));
    assert_eq!(renamed.last().map(String::as_str), Some("deleteRole"));
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
        assert!(
            iam.get_role()
                .role_name("small-custom")
                .send()
                .await
                .is_err()
        );
    });
    assert!(role_of("small-dev-a").ends_with(":role/small-dev-us-east-1-lambdaRole"));

    // An existing role: the functions move to it, and the role sls made goes.
    let theirs = rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
        iam.create_role()
            .role_name("platform-lambda")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_string()
    });
    let existing = SMALL.replace(
        "  runtime: nodejs22.x\n",
        &format!("  runtime: nodejs22.x\n  iam:\n    role: {theirs}\n"),
    );
    fs::write(dir.path().join("serverless.yml"), &existing).unwrap();
    let doc = json(&moto, dir.path(), &["deploy"]);
    let acts = actions(&doc);
    assert!(acts.contains(&"deleteRole".to_string()), "{acts:?}");
    assert!(!acts.contains(&"createRole".to_string()), "{acts:?}");
    assert_eq!(role_of("small-dev-a"), theirs);
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
        assert!(
            iam.get_role()
                .role_name("small-custom")
                .send()
                .await
                .is_err()
        );
        assert!(
            iam.get_role()
                .role_name("platform-lambda")
                .send()
                .await
                .is_ok()
        );
    });
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
    // `remove` never touches the role it did not make.
    json(&moto, dir.path(), &["remove"]);
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
        assert!(
            iam.get_role()
                .role_name("platform-lambda")
                .send()
                .await
                .is_ok()
        );
    });
}

#[test]
fn tracing_kms_key_and_vpc_are_deployed_and_cleared() {
    let moto = Moto::start();
    let proxy = common::faults::Faults::delayed(moto.port, std::time::Duration::ZERO);
    let dir = small();
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let yaml = SMALL.replace(
        "  runtime: nodejs22.x\n",
        &format!(
            "  runtime: nodejs22.x\n  tracing:\n    lambda: true\n  kmsKeyArn: {key}\n  vpc:\n    securityGroupIds: [sg-1]\n    subnetIds: [subnet-2, subnet-1]\n"
        ),
    );
    fs::write(dir.path().join("serverless.yml"), &yaml).unwrap();
    let via_proxy = |args: &[&str]| json_via(&moto, &proxy, dir.path(), args);
    via_proxy(&["deploy"]);
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        let c = lambda
            .get_function_configuration()
            .function_name("small-dev-a")
            .qualifier("live")
            .send()
            .await
            .unwrap();
        assert_eq!(
            c.tracing_config()
                .and_then(|t| t.mode())
                .map(|m| m.as_str()),
            Some("Active")
        );
        assert_eq!(c.kms_key_arn(), Some(key));
        let mut subnets = c.vpc_config().unwrap().subnet_ids().to_vec();
        subnets.sort();
        assert_eq!(subnets, ["subnet-1", "subnet-2"]);
        let attached = aws_sdk_iam::Client::new(&cfg)
            .list_attached_role_policies()
            .role_name("small-dev-us-east-1-lambdaRole")
            .send()
            .await
            .unwrap();
        assert!(
            attached.attached_policies().iter().any(|p| p.policy_arn()
                == Some(sls::plan::naming::vpc_access_policy("us-east-1").as_str()))
        );
    });
    let again = via_proxy(&["deploy"]);
    assert_eq!(actions(&again), Vec::<String>::new());
    assert_eq!(mutating(&again), 0);
    // Taken out of the config: cleared. moto keeps tracing and the key on update, so what is
    // checked is the request.
    fs::write(dir.path().join("serverless.yml"), SMALL).unwrap();
    via_proxy(&["deploy"]);
    let sent = proxy.bodies("PUT /2015-03-31/functions/small-dev-a/configuration");
    let last = sent.last().unwrap();
    assert!(
        last.contains(r#""TracingConfig":{"Mode":"PassThrough"}"#),
        "{last}"
    );
    assert!(last.contains(r#""KMSKeyArn":"""#), "{last}");
    assert!(last.contains(r#""SubnetIds":[]"#), "{last}");
}

#[test]
fn log_groups_are_made_with_their_retention_and_removed_with_the_service() {
    let moto = Moto::start();
    let dir = example();
    json(&moto, dir.path(), &["deploy"]);
    let groups = || {
        rt().block_on(async {
            let logs = aws_sdk_cloudwatchlogs::Client::new(&moto.sdk().await);
            let all = logs
                .describe_log_groups()
                .log_group_name_prefix("/aws/lambda/sls-example-dev-")
                .send()
                .await
                .unwrap();
            all.log_groups()
                .iter()
                .map(|g| {
                    (
                        g.log_group_name().unwrap().to_string(),
                        g.retention_in_days(),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    // serverless.example.yml sets provider.logRetentionInDays: 14.
    let made = groups();
    assert_eq!(made.len(), 4, "{made:?}");
    assert!(made.iter().all(|(_, days)| *days == Some(14)), "{made:?}");
    json(&moto, dir.path(), &["remove"]);
    assert_eq!(groups(), Vec::new());
}

#[test]
fn disable_logs_means_no_group_and_no_permission_and_custom_names_can_log() {
    let moto = Moto::start();
    let dir = small();
    let yaml = SMALL
        .replace(
            "  a:\n    handler: a.main\n",
            "  a:\n    handler: a.main\n    disableLogs: true\n",
        )
        .replace(
            "  b:\n    handler: b.main\n",
            "  b:\n    handler: b.main\n    name: custom-b\n    logRetentionInDays: 7\n",
        );
    fs::write(dir.path().join("serverless.yml"), &yaml).unwrap();
    json(&moto, dir.path(), &["deploy"]);
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let logs = aws_sdk_cloudwatchlogs::Client::new(&cfg);
        let all = logs.describe_log_groups().send().await.unwrap();
        let names: Vec<(&str, Option<i32>)> = all
            .log_groups()
            .iter()
            .map(|g| (g.log_group_name().unwrap(), g.retention_in_days()))
            .collect();
        assert_eq!(names, [("/aws/lambda/custom-b", Some(7))]);
        let policy = aws_sdk_iam::Client::new(&cfg)
            .get_role_policy()
            .role_name("small-dev-us-east-1-lambdaRole")
            .policy_name("small-dev-lambda")
            .send()
            .await
            .unwrap();
        let doc = sls::provider::aws::percent_decode(policy.policy_document());
        assert!(doc.contains("log-group:/aws/lambda/custom-b:"), "{doc}");
        assert!(!doc.contains("small-dev-a"), "{doc}");
    });
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
}

#[test]
fn a_function_made_by_someone_else_during_the_deploy_is_never_adopted() {
    // The plan saw no function (the proxy hides it), CreateFunction then meets one without our
    // tags: the deploy stops with a conflict and leaves it untouched.
    let moto = Moto::start();
    let dir = small();
    common::json_of(common::sls_in(dir.path()).args(["package", "--json"]));
    someone_elses_function(&moto, dir.path(), "small-dev-a");
    let proxy = common::faults::Faults::refuse(
        moto.port,
        "GET /2015-03-31/functions/small-dev-a HTTP",
        "404 Not Found",
        "ResourceNotFoundException",
    );
    let (doc, stderr) = common::json_of_exit(
        moto.sls(dir.path())
            .env("AWS_ENDPOINT_URL", &proxy.url)
            .args(["deploy", "--json"]),
        6,
    );
    assert_eq!(doc["error"]["kind"], "conflict", "{doc}");
    assert!(stderr.contains("small-dev-a"), "{stderr}");
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        let f = lambda
            .get_function()
            .function_name("small-dev-a")
            .send()
            .await
            .unwrap();
        assert_eq!(f.configuration().unwrap().handler(), Some("x.main"));
    });
}

#[test]
fn provisioned_concurrency_is_set_on_the_live_alias_waited_for_and_removed() {
    // moto does not model provisioned concurrency: the proxy answers as AWS does (IN_PROGRESS on
    // the put, READY once allocated) and forwards everything else.
    use common::faults::{Canned, Faults};
    let moto = Moto::start();
    let dir = small();
    let path = "/2019-09-30/functions/small-dev-a/provisioned-concurrency";
    let ready = r#"{"RequestedProvisionedConcurrentExecutions":2,"AvailableProvisionedConcurrentExecutions":2,"AllocatedProvisionedConcurrentExecutions":2,"Status":"READY"}"#;
    let proxy = Faults::answers(
        moto.port,
        vec![
            Canned {
                request: format!("PUT {path}"),
                json: r#"{"RequestedProvisionedConcurrentExecutions":2,"AllocatedProvisionedConcurrentExecutions":0,"Status":"IN_PROGRESS"}"#.into(),
                after: None,
                with: None,
            },
            Canned {
                request: format!("GET {path}"),
                json: ready.into(),
                after: Some(format!("PUT {path}")),
                with: None,
            },
            Canned {
                request: format!("DELETE {path}"),
                json: "{}".into(),
                after: None,
                with: None,
            },
        ],
    );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json_via(&moto, &proxy, dir.path(), &["deploy"])
    };
    let with = SMALL.replace(
        "  a:\n    handler: a.main\n",
        "  a:\n    handler: a.main\n    provisionedConcurrency: 2\n",
    );
    let first = deploy(&with);
    let step = first["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"] == "setProvisionedConcurrency")
        .unwrap()
        .clone();
    assert_eq!(step["alias"], "live");
    assert!(step["hourlyCostUsd"].as_f64().unwrap() > 0.0, "{step}");
    let put = proxy.bodies(&format!("PUT {path}?Qualifier=live"));
    assert_eq!(put.len(), 1);
    assert!(
        put[0].contains(r#""ProvisionedConcurrentExecutions":2"#),
        "{}",
        put[0]
    );
    // Waited for: the deploy read it back until READY.
    assert!(!proxy.bodies(&format!("GET {path}")).is_empty());
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", actions(&again));
    let without = deploy(SMALL);
    assert!(actions(&without).contains(&"setProvisionedConcurrency".to_string()));
    assert_eq!(
        proxy.bodies(&format!("DELETE {path}?Qualifier=live")).len(),
        1
    );
}

/// A function made without sls (no tags of ours), running the packaged `a.zip` of `dir`, as
/// another team's function with a name in our range.
fn someone_elses_function(moto: &Moto, dir: &Path, name: &str) {
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let iam = aws_sdk_iam::Client::new(&cfg);
        let role = match iam.get_role().role_name("someone").send().await {
            Ok(r) => r.role().unwrap().arn().to_string(),
            Err(_) => iam
                .create_role()
                .role_name("someone")
                .assume_role_policy_document("{}")
                .send()
                .await
                .unwrap()
                .role()
                .unwrap()
                .arn()
                .to_string(),
        };
        aws_sdk_lambda::Client::new(&cfg)
            .create_function()
            .function_name(name)
            .runtime(aws_sdk_lambda::types::Runtime::Nodejs22x)
            .role(role)
            .handler("x.main")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(
                        fs::read(dir.join(".serverless/a.zip")).unwrap(),
                    ))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn a_new_role_is_waited_for_by_one_function_while_the_others_wait_their_turn() {
    // IAM is eventually consistent: Lambda refuses a role made a moment ago. One function retries
    // (re-sending its code); the others wait for it instead of each re-sending theirs.
    let moto = Moto::start();
    let proxy = common::faults::Faults::refuse_first(
        moto.port,
        "POST /2015-03-31/functions ",
        2,
        "400 Bad Request",
        "InvalidParameterValueException",
        "The role defined for the function cannot be assumed by Lambda.",
    );
    let dir = small();
    let doc = json_via(&moto, &proxy, dir.path(), &["deploy"]);
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
    let ops: Vec<&str> = doc["awsCalls"]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o.as_str())
        .filter(|o| o.ends_with("CreateFunction"))
        .collect();
    assert_eq!(ops.len(), 4, "two refused, two created");
    let sent = proxy.bodies("POST /2015-03-31/functions ");
    let named = |b: &String| if b.contains("small-dev-a") { 'a' } else { 'b' };
    let order: String = sent.iter().map(named).collect();
    // The first three requests (two refused, one through) are the same function's.
    assert!(
        order.starts_with("aaa") || order.starts_with("bbb"),
        "{order}"
    );
}

#[test]
fn api_gateway_quotas_are_waited_out_within_one_run() {
    // API Gateway allows about one CreateRestApi per 30 s per account and answers 429 beyond
    // it; its clients retry more often and longer than the SDK's default three attempts.
    let moto = Moto::start();
    let proxy = common::faults::Faults::refuse_first(
        moto.port,
        "POST /restapis ",
        4,
        "429 Too Many Requests",
        "TooManyRequestsException",
        "Too Many Requests",
    );
    let dir = example();
    let doc = json_via(&moto, &proxy, dir.path(), &["deploy"]);
    assert_eq!(proxy.injected(), 5, "four refused, then one through");
    assert!(actions(&doc).contains(&"createRestApi".to_string()));
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
}

#[test]
fn a_function_urls_cors_is_changed_and_cleared_in_place() {
    let moto = Moto::start();
    let dir = small();
    let with = SMALL.replace(
        "  a:\n    handler: a.main\n",
        "  a:\n    handler: a.main\n    url:\n      cors:\n        allowedOrigins: ['https://example.com']\n",
    );
    fs::write(dir.path().join("serverless.yml"), &with).unwrap();
    json(&moto, dir.path(), &["deploy"]);
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
    let plain = SMALL.replace(
        "  a:\n    handler: a.main\n",
        "  a:\n    handler: a.main\n    url: true\n",
    );
    fs::write(dir.path().join("serverless.yml"), &plain).unwrap();
    let cleared = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&cleared), ["updateFunctionUrl"]);
    assert_eq!(cleared["plan"]["steps"][0]["changes"][0]["field"], "cors");
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
}

#[test]
fn logging_configuration_is_sent_and_a_group_of_the_users_is_written_to_not_created() {
    // moto does not keep LoggingConfig: what is checked is the request, through the proxy (the
    // read back is covered by the provider's unit tests).
    let moto = Moto::start();
    let proxy = common::faults::Faults::delayed(moto.port, std::time::Duration::ZERO);
    let dir = small();
    let yaml = SMALL
        .replace(
            "  runtime: nodejs22.x\n",
            "  runtime: nodejs22.x\n  logs:\n    lambda:\n      logFormat: JSON\n      systemLogLevel: WARN\n",
        )
        .replace(
            "  a:\n    handler: a.main\n",
            "  a:\n    handler: a.main\n    logs:\n      applicationLogLevel: DEBUG\n      logGroup: /shared/app\n",
        );
    fs::write(dir.path().join("serverless.yml"), &yaml).unwrap();
    json_via(&moto, &proxy, dir.path(), &["deploy"]);
    let created = proxy.bodies("POST /2015-03-31/functions ");
    let body = |name: &str| {
        created
            .iter()
            .find(|b| b.contains(&format!(r#""FunctionName":"{name}""#)))
            .unwrap()
            .clone()
    };
    let a = body("small-dev-a");
    assert!(
        a.contains(r#""LoggingConfig":{"LogFormat":"JSON","ApplicationLogLevel":"DEBUG","SystemLogLevel":"WARN","LogGroup":"/shared/app"}"#),
        "{a}"
    );
    let b = body("small-dev-b");
    assert!(
        b.contains(r#""LoggingConfig":{"LogFormat":"JSON","ApplicationLogLevel":"INFO","SystemLogLevel":"WARN","LogGroup":"/aws/lambda/small-dev-b"}"#),
        "{b}"
    );
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let logs = aws_sdk_cloudwatchlogs::Client::new(&cfg);
        let all = logs.describe_log_groups().send().await.unwrap();
        let names: Vec<&str> = all
            .log_groups()
            .iter()
            .map(|g| g.log_group_name().unwrap())
            .collect();
        // The user's group is theirs: not created, and never removed.
        assert_eq!(names, ["/aws/lambda/small-dev-b"]);
        let policy = aws_sdk_iam::Client::new(&cfg)
            .get_role_policy()
            .role_name("small-dev-us-east-1-lambdaRole")
            .policy_name("small-dev-lambda")
            .send()
            .await
            .unwrap();
        let doc = sls::provider::aws::percent_decode(policy.policy_document());
        assert!(doc.contains("log-group:/shared/app:"), "{doc}");
        assert!(!doc.contains("log-group:/aws/lambda/small-dev-a:"), "{doc}");
    });
}

#[test]
fn a_function_with_its_own_statements_gets_its_own_role_which_follows_the_config() {
    let moto = Moto::start();
    let dir = small();
    let own = SMALL
        .replace(
            "  runtime: nodejs22.x\n",
            "  runtime: nodejs22.x\n  iamManagedPolicies: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n  rolePermissionsBoundary: arn:aws:iam::aws:policy/PowerUserAccess\n  iamRoleStatements:\n    - Effect: Allow\n      Action: sqs:SendMessage\n      Resource: arn:aws:sqs:us-east-1:123456789012:q\n",
        )
        .replace(
            "  a:\n    handler: a.main\n",
            "  a:\n    handler: a.main\n    iamRoleStatementsInherit: true\n    iamRoleStatements:\n      - Effect: Allow\n        Action: s3:GetObject\n        Resource: arn:aws:s3:::bucket/*\n",
        );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json(&moto, dir.path(), &["deploy"])
    };
    let state = || {
        rt().block_on(async {
            let cfg = moto.sdk().await;
            let iam = aws_sdk_iam::Client::new(&cfg);
            let lambda = aws_sdk_lambda::Client::new(&cfg);
            let mut roles = Vec::new();
            for r in iam.list_roles().send().await.unwrap().roles() {
                let doc = iam
                    .get_role_policy()
                    .role_name(r.role_name())
                    .policy_name("small-dev-lambda")
                    .send()
                    .await
                    .map(|p| sls::provider::aws::percent_decode(p.policy_document()))
                    .unwrap_or_default();
                roles.push((r.role_name().to_string(), doc));
            }
            let mut runs_as = Vec::new();
            for f in ["small-dev-a", "small-dev-b"] {
                let c = lambda.get_function().function_name(f).send().await.unwrap();
                let role = c.configuration().unwrap().role().unwrap().to_string();
                runs_as.push(role.rsplit('/').next().unwrap().to_string());
            }
            (roles, runs_as)
        })
    };
    deploy(&own);
    let (roles, runs_as) = state();
    assert_eq!(
        runs_as,
        [
            "small-dev-a-us-east-1-lambdaRole",
            "small-dev-us-east-1-lambdaRole"
        ]
    );
    let policy = |name: &str| {
        roles
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("no role {name} in {roles:?}"))
    };
    let a = policy("small-dev-a-us-east-1-lambdaRole");
    assert!(a.contains("log-group:/aws/lambda/small-dev-a:"), "{a}");
    assert!(!a.contains("small-dev-b"), "{a}");
    assert!(
        a.contains("s3:GetObject") && a.contains("sqs:SendMessage"),
        "{a}"
    );
    let shared = policy("small-dev-us-east-1-lambdaRole");
    assert!(
        shared.contains("log-group:/aws/lambda/small-dev-b:"),
        "{shared}"
    );
    assert!(
        !shared.contains("small-dev-a") && !shared.contains("s3:GetObject"),
        "{shared}"
    );
    // The service role is the template: its managed policies and boundary.
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
        let role = "small-dev-a-us-east-1-lambdaRole";
        let got = iam.get_role().role_name(role).send().await.unwrap();
        let boundary = got.role().unwrap().permissions_boundary().unwrap();
        assert_eq!(
            boundary.permissions_boundary_arn(),
            Some("arn:aws:iam::aws:policy/PowerUserAccess")
        );
        let attached = iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
            .unwrap();
        let arns: Vec<&str> = attached
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn())
            .collect();
        assert_eq!(arns, ["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
    });
    let again = deploy(&own);
    assert_eq!(mutating(&again), 0, "{:?}", actions(&again));
    // Without its statements the function moves to the service's role; its own is deleted.
    let back = deploy(&own.replace("    iamRoleStatementsInherit: true\n    iamRoleStatements:\n      - Effect: Allow\n        Action: s3:GetObject\n        Resource: arn:aws:s3:::bucket/*\n", ""));
    assert!(
        actions(&back).contains(&"deleteRole".to_string()),
        "{:?}",
        actions(&back)
    );
    let (roles, runs_as) = state();
    assert_eq!(runs_as, ["small-dev-us-east-1-lambdaRole"; 2]);
    assert_eq!(roles.len(), 1, "{roles:?}");
    deploy(&own);
    json(&moto, dir.path(), &["remove"]);
    let roles = rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
        iam.list_roles().send().await.unwrap().roles().len()
    });
    assert_eq!(roles, 0);
}

#[test]
fn a_config_with_most_documented_keys_deploys_and_redeploys_with_no_change() {
    let moto = Moto::start();
    let yaml = fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/every-key.yml"),
    )
    .unwrap();
    // The layer must exist: publish one and name it.
    let layer = rt().block_on(async {
        aws_sdk_lambda::Client::new(&moto.sdk().await)
            .publish_layer_version()
            .layer_name("shared")
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(minimal_zip()))
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .layer_version_arn()
            .unwrap()
            .to_string()
    });
    let yaml = yaml.replace(
        "arn:aws:lambda:us-east-1:123456789012:layer:shared:1",
        &layer,
    );
    let dir = common::service(&yaml);
    write(dir.path(), "api.js", "exports.main = async () => 'api';\n");
    write(
        dir.path(),
        "worker.js",
        "exports.main = async () => 'worker';\n",
    );
    let first = json(&moto, dir.path(), &["deploy"]);
    assert!(mutating(&first) > 20, "{:?}", actions(&first));
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
}

#[test]
fn a_step_waiting_out_a_quota_says_so_once() {
    let moto = Moto::start();
    let proxy = common::faults::Faults::refuse_first(
        moto.port,
        "POST /restapis ",
        2,
        "429 Too Many Requests",
        "TooManyRequestsException",
        "Too Many Requests",
    );
    let dir = example();
    let out = moto
        .sls(dir.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .arg("deploy")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let notices: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("is throttling"))
        .collect();
    assert_eq!(notices.len(), 1, "{stderr}");
    assert!(
        notices[0].contains(
            "CreateRestApi: waiting it out with backoff (API Gateway's per-account quotas"
        ),
        "{stderr}"
    );
}

#[test]
fn the_http_apis_default_endpoint_is_disabled_and_enabled_with_the_config() {
    let moto = Moto::start();
    let dir = small();
    let off = SMALL.replace(
        "  runtime: nodejs22.x\n",
        "  runtime: nodejs22.x\n  httpApi:\n    disableDefaultEndpoint: true\n",
    );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json(&moto, dir.path(), &["deploy"])
    };
    let disabled = || {
        rt().block_on(async {
            let apis = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await)
                .get_apis()
                .send()
                .await
                .unwrap();
            apis.items()[0].disable_execute_api_endpoint()
        })
    };
    let first = deploy(&off);
    assert_eq!(disabled(), Some(true));
    // Its URLs answer nothing: none is printed.
    assert_eq!(first["endpoints"], serde_json::json!([]), "{first}");
    assert_eq!(mutating(&deploy(&off)), 0);
    let on = deploy(SMALL);
    assert!(actions(&on).contains(&"updateHttpApiEndpoint".to_string()));
    assert_eq!(disabled(), Some(false));
    assert_eq!(on["endpoints"].as_array().unwrap().len(), 2, "{on}");
}

#[test]
fn functions_that_left_the_config_are_found_by_tags_across_pages() {
    use common::faults::{Canned, Faults};
    let moto = Moto::start();
    let dir = small();
    let three = SMALL.replace(
        "  b:\n    handler: b.main\n",
        "  b:\n    handler: b.main\n  c:\n    handler: b.main\n",
    );
    fs::write(dir.path().join("serverless.yml"), &three).unwrap();
    json(&moto, dir.path(), &["deploy"]);
    fs::write(
        dir.path().join("serverless.yml"),
        SMALL.replace("  b:\n    handler: b.main\n    package:\n      patterns: ['!a.js']\n    events:\n      - httpApi: 'GET /b'\n", ""),
    )
    .unwrap();
    // The tagging API answers b on the first page and c on the second, as AWS pages it.
    let arn = |name: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
    let page = |name: &str, token: &str| {
        format!(
            r#"{{"PaginationToken":"{token}","ResourceTagMappingList":[{{"ResourceARN":"{}","Tags":[]}}]}}"#,
            arn(name)
        )
    };
    let target = "ResourceGroupsTaggingAPI_20170126.GetResources";
    let proxy = Faults::answers(
        moto.port,
        vec![
            Canned {
                request: "POST / ".into(),
                json: page("small-dev-c", ""),
                after: None,
                with: Some("\"PaginationToken\":\"page-2\"".into()),
            },
            Canned {
                request: "POST / ".into(),
                json: page("small-dev-b", "page-2"),
                after: None,
                with: Some("\"lambda:function\"".into()),
            },
        ],
    );
    let doc = json_via(&moto, &proxy, dir.path(), &["deploy"]);
    let deleted: Vec<String> = doc["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "deleteFunction")
        .map(|s| s["functionName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(deleted, ["small-dev-b", "small-dev-c"], "{doc}");
    let listings = proxy
        .bodies("POST / ")
        .into_iter()
        .filter(|b| b.contains("\"lambda:function\""))
        .count();
    assert_eq!(listings, 2);
    assert!(proxy.heads("POST / ").iter().any(|h| h.contains(target)));
}

#[test]
fn rest_api_settings_are_deployed_and_changed_with_a_new_deployment() {
    let moto = Moto::start();
    // moto fails on API Gateway's JSON Pointer patches of binaryMediaTypes: the proxy answers those
    // as AWS does, and the request is checked as sent.
    let proxy = common::faults::Faults::answers(
        moto.port,
        vec![common::faults::Canned {
            request: "PATCH /restapis/".into(),
            json: "{}".into(),
            after: None,
            with: Some("binaryMediaTypes".into()),
        }],
    );
    let dir = small();
    let with = |settings: &str| {
        SMALL
            .replace(
                "  runtime: nodejs22.x\n",
                &format!("  runtime: nodejs22.x\n  apiGateway:\n{settings}"),
            )
            .replace("      - httpApi: 'GET /a'\n", "      - http: GET a\n")
    };
    let first = with(
        "    description: the items API\n    binaryMediaTypes: [image/png]\n    minimumCompressionSize: 1024\n",
    );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json_via(&moto, &proxy, dir.path(), &["deploy"])
    };
    deploy(&first);
    let created = proxy.bodies("POST /restapis ");
    assert!(
        created[0].contains(r#""binaryMediaTypes":["image/png"]"#),
        "{}",
        created[0]
    );
    let api = rt().block_on(async {
        let gw = aws_sdk_apigateway::Client::new(&moto.sdk().await);
        let api = gw.get_rest_apis().send().await.unwrap().items()[0].clone();
        // moto drops binaryMediaTypes at creation; give it what AWS holds after that request.
        gw.update_rest_api()
            .rest_api_id(api.id().unwrap())
            .patch_operations(
                aws_sdk_apigateway::types::PatchOperation::builder()
                    .op(aws_sdk_apigateway::types::Op::Replace)
                    .path("/binaryMediaTypes")
                    .value("image/png")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        api
    });
    assert_eq!(api.description(), Some("the items API"));
    assert_eq!(api.minimum_compression_size(), Some(1024));
    let again = deploy(&first);
    assert_eq!(mutating(&again), 0, "{:?}", actions(&again));
    // The change: API Gateway's JSON Pointer paths, then a deployment so the stage serves it.
    let changed = deploy(&with("    binaryMediaTypes: ['*/*']\n"));
    let acts = actions(&changed);
    assert!(
        acts.contains(&"updateRestApiSettings".to_string())
            && acts.contains(&"deployRestApi".to_string()),
        "{acts:?}"
    );
    let patch: Vec<String> = proxy
        .bodies("PATCH /restapis/")
        .into_iter()
        .filter(|b| b.contains("binaryMediaTypes"))
        .collect();
    assert_eq!(patch.len(), 1, "{patch:?}");
    for part in [
        r#"{"op":"replace","path":"/description","value":""}"#,
        r#"{"op":"replace","path":"/minimumCompressionSize","value":""}"#,
        r#"{"op":"remove","path":"/binaryMediaTypes/image~1png"}"#,
        r#"{"op":"add","path":"/binaryMediaTypes/*~1*"}"#,
    ] {
        assert!(patch[0].contains(part), "{part} not in {}", patch[0]);
    }
}

#[test]
fn queue_and_stream_events_poll_the_live_alias_and_follow_the_config() {
    let moto = Moto::start();
    let queue = moto.create_queue("jobs");
    let stream = moto.create_kinesis_stream("clicks");
    let dir = small();
    let events = format!(
        "    events:\n      - sqs:\n          arn: {queue}\n          batchSize: 5\n          functionResponseType: ReportBatchItemFailures\n          filterPatterns:\n            - body: {{kind: [job]}}\n      - stream:\n          arn: {stream}\n          startingPosition: LATEST\n          maximumRetryAttempts: 3\n"
    );
    let with = SMALL.replace(
        "  b:\n    handler: b.main\n    package:\n      patterns: ['!a.js']\n    events:\n      - httpApi: 'GET /b'\n",
        &format!("  b:\n    handler: b.main\n    package:\n      patterns: ['!a.js']\n{events}"),
    );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json(&moto, dir.path(), &["deploy"])
    };
    let mappings = || {
        rt().block_on(async {
            let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
            let listed = lambda
                .list_event_source_mappings()
                .function_name("arn:aws:lambda:us-east-1:123456789012:function:small-dev-b:live")
                .send()
                .await
                .unwrap();
            let mut out: Vec<(String, i32, String)> = listed
                .event_source_mappings()
                .iter()
                .map(|m| {
                    (
                        m.event_source_arn().unwrap().to_string(),
                        m.batch_size().unwrap(),
                        m.state().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            out.sort();
            out
        })
    };
    let first = deploy(&with);
    assert_eq!(
        actions(&first)
            .iter()
            .filter(|a| *a == "createEventSourceMapping")
            .count(),
        2
    );
    assert_eq!(
        mappings(),
        [
            (stream.clone(), 100, "Enabled".to_string()),
            (queue.clone(), 5, "Enabled".to_string())
        ]
    );
    // The role may read the queue and the stream.
    let policy = rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
        let p = iam
            .get_role_policy()
            .role_name("small-dev-us-east-1-lambdaRole")
            .policy_name("small-dev-lambda")
            .send()
            .await
            .unwrap();
        sls::provider::aws::percent_decode(p.policy_document())
    });
    assert!(
        policy.contains("sqs:ReceiveMessage") && policy.contains(&queue),
        "{policy}"
    );
    assert!(
        policy.contains("kinesis:GetRecords") && policy.contains(&stream),
        "{policy}"
    );
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
    // A change in place, then the queue leaves the config.
    let changed = deploy(&with.replace("batchSize: 5", "batchSize: 7\n          enabled: false"));
    assert_eq!(actions(&changed), ["updateEventSourceMapping"]);
    assert_eq!(mappings()[1], (queue.clone(), 7, "Disabled".to_string()));
    let fewer = with.replace(
        &format!("      - sqs:\n          arn: {queue}\n          batchSize: 5\n          functionResponseType: ReportBatchItemFailures\n          filterPatterns:\n            - body: {{kind: [job]}}\n"),
        "",
    );
    let gone = deploy(&fewer);
    assert!(actions(&gone).contains(&"deleteEventSourceMapping".to_string()));
    assert_eq!(mappings().len(), 1);
    json(&moto, dir.path(), &["remove"]);
    assert!(mappings().is_empty());
}

#[test]
fn schedules_are_rules_targeting_the_live_alias_under_one_grant() {
    let moto = Moto::start();
    let dir = small();
    let with = SMALL.replace(
        "  a:\n    handler: a.main\n",
        "  a:\n    handler: a.main\n    events:\n      - schedule: rate(5 minutes)\n      - schedule:\n          rate: ['cron(0 12 * * ? *)', 'rate(1 hour)']\n          enabled: false\n          input: {k: 1}\n",
    )
    .replace("    events:\n      - httpApi: 'GET /a'\n", "");
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json(&moto, dir.path(), &["deploy"])
    };
    let state = || {
        rt().block_on(async {
            let cfg = moto.sdk().await;
            let events = aws_sdk_eventbridge::Client::new(&cfg);
            let mut rules = Vec::new();
            for r in events.list_rules().send().await.unwrap().rules() {
                let name = r.name().unwrap().to_string();
                let targets = events
                    .list_targets_by_rule()
                    .rule(&name)
                    .send()
                    .await
                    .unwrap();
                let t = &targets.targets()[0];
                rules.push((
                    name,
                    r.schedule_expression().unwrap().to_string(),
                    r.state().unwrap().as_str().to_string(),
                    t.arn().to_string(),
                    t.input().map(str::to_string),
                ));
            }
            rules.sort();
            let policy = live_policy(&cfg, "small-dev-a").await;
            (rules, policy)
        })
    };
    deploy(&with);
    let (rules, policy) = state();
    let alias = "arn:aws:lambda:us-east-1:123456789012:function:small-dev-a:live";
    let names: Vec<&str> = rules.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "small-dev-a-schedule-1",
            "small-dev-a-schedule-2",
            "small-dev-a-schedule-3"
        ]
    );
    assert!(rules.iter().all(|r| r.3 == alias), "{rules:?}");
    assert_eq!(rules[0].2, "ENABLED");
    assert_eq!(
        (
            rules[1].1.as_str(),
            rules[1].2.as_str(),
            rules[1].4.as_deref()
        ),
        ("cron(0 12 * * ? *)", "DISABLED", Some(r#"{"k":1}"#))
    );
    // One grant covers every rule of the service.
    assert_eq!(policy.matches("\"sls-schedule\"").count(), 1, "{policy}");
    assert!(policy.contains("rule/small-dev-*"), "{policy}");
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
    let changed = deploy(&with.replace("rate(5 minutes)", "rate(10 minutes)"));
    assert_eq!(actions(&changed), ["putRule"]);
    let without = deploy(SMALL);
    let acts = actions(&without);
    assert_eq!(
        acts.iter().filter(|a| *a == "deleteRule").count(),
        3,
        "{acts:?}"
    );
    assert!(acts.contains(&"removePermission".to_string()), "{acts:?}");
    let (rules, _) = state();
    assert!(rules.is_empty(), "{rules:?}");
    deploy(&with);
    json(&moto, dir.path(), &["remove"]);
    assert!(state().0.is_empty());
}

#[test]
fn forty_schedules_share_one_grant_and_stay_far_below_the_policy_limit() {
    let moto = Moto::start();
    let dir = small();
    let rates: String = (1..=40)
        .map(|n| format!("      - schedule: rate({n} minutes)\n"))
        .collect::<String>()
        .replace("rate(1 minutes)", "rate(1 minute)");
    let yaml = SMALL.replace(
        "    events:\n      - httpApi: 'GET /a'\n",
        &format!("    events:\n{rates}"),
    );
    fs::write(dir.path().join("serverless.yml"), &yaml).unwrap();
    let doc = json(&moto, dir.path(), &["deploy"]);
    let puts = actions(&doc).iter().filter(|a| *a == "putRule").count();
    assert_eq!(puts, 40);
    let policy = rt().block_on(async { live_policy(&moto.sdk().await, "small-dev-a").await });
    assert_eq!(policy.matches("sls-schedule").count(), 1, "{policy}");
    // Lambda's resource policy holds 20 KB.
    assert!(policy.len() < 2_000, "{} bytes", policy.len());
}

#[test]
fn event_bridge_rules_match_patterns_on_the_default_bus_and_on_a_bus_sls_makes() {
    let moto = Moto::start();
    let dir = small();
    let with = SMALL
        .replace(
            "  a:\n    handler: a.main\n",
            "  a:\n    handler: a.main\n    events:\n      - eventBridge:\n          pattern: {source: [shop.orders]}\n      - eventBridge:\n          eventBus: orders\n          pattern: {detail-type: [created]}\n          retryPolicy: {maximumEventAge: 3600, maximumRetryAttempts: 2}\n          deadLetterQueueArn: arn:aws:sqs:us-east-1:123456789012:dead\n      - cloudwatchEvent:\n          event: {source: [aws.ec2]}\n",
        )
        .replace("    events:\n      - httpApi: 'GET /a'\n", "");
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json(&moto, dir.path(), &["deploy"])
    };
    let state = || {
        rt().block_on(async {
            let cfg = moto.sdk().await;
            let events = aws_sdk_eventbridge::Client::new(&cfg);
            let buses: Vec<String> = events
                .list_event_buses()
                .send()
                .await
                .unwrap()
                .event_buses()
                .iter()
                .filter_map(|b| b.name().map(str::to_string))
                .filter(|n| n != "default")
                .collect();
            let mut rules = Vec::new();
            for bus in ["default", "orders"] {
                let Ok(listed) = events.list_rules().event_bus_name(bus).send().await else {
                    continue;
                };
                for r in listed.rules() {
                    let targets = events
                        .list_targets_by_rule()
                        .rule(r.name().unwrap())
                        .event_bus_name(bus)
                        .send()
                        .await
                        .unwrap();
                    let t = targets.targets()[0].clone();
                    rules.push((bus.to_string(), r.name().unwrap().to_string(), t));
                }
            }
            rules.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            let policy = live_policy(&cfg, "small-dev-a").await;
            (buses, rules, policy)
        })
    };
    deploy(&with);
    let (buses, rules, policy) = state();
    assert_eq!(buses, ["orders"]);
    let names: Vec<(&str, &str)> = rules
        .iter()
        .map(|(b, n, _)| (b.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("default", "small-dev-a-rule-1"),
            ("default", "small-dev-a-rule-3"),
            ("orders", "small-dev-a-rule-2")
        ]
    );
    // (rule-3 is the older `cloudwatchEvent` form: a rule on the default bus too.)
    let on_bus = &rules[2].2;
    assert!(on_bus.arn().ends_with(":small-dev-a:live"));
    assert_eq!(
        on_bus.retry_policy().unwrap().maximum_retry_attempts(),
        Some(2)
    );
    assert_eq!(
        on_bus.dead_letter_config().unwrap().arn(),
        Some("arn:aws:sqs:us-east-1:123456789012:dead")
    );
    assert!(
        policy.contains("rule/small-dev-*") && policy.contains("rule/*/small-dev-*"),
        "{policy}"
    );
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
    json(&moto, dir.path(), &["remove"]);
    let (buses, rules, _) = state();
    assert!(buses.is_empty() && rules.is_empty(), "{buses:?} {rules:?}");
}

#[test]
fn sns_topics_are_made_or_used_and_the_live_alias_subscribed_and_granted() {
    let moto = Moto::start();
    let theirs = moto.create_topic("theirs");
    let dir = small();
    let with = SMALL
        .replace(
            "  a:\n    handler: a.main\n",
            &format!("  a:\n    handler: a.main\n    events:\n      - sns: orders\n      - sns:\n          arn: {theirs}\n          filterPolicy: {{kind: [big]}}\n"),
        )
        .replace("    events:\n      - httpApi: 'GET /a'\n", "");
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json(&moto, dir.path(), &["deploy"])
    };
    let state = || {
        rt().block_on(async {
            let cfg = moto.sdk().await;
            let sns = aws_sdk_sns::Client::new(&cfg);
            let mut topics: Vec<String> = sns
                .list_topics()
                .send()
                .await
                .unwrap()
                .topics()
                .iter()
                .filter_map(|t| {
                    t.topic_arn()
                        .map(|a| a.rsplit(':').next().unwrap().to_string())
                })
                .collect();
            topics.sort();
            let mut subs = Vec::new();
            for s in sns
                .list_subscriptions()
                .send()
                .await
                .unwrap()
                .subscriptions()
            {
                let attrs = sns
                    .get_subscription_attributes()
                    .subscription_arn(s.subscription_arn().unwrap())
                    .send()
                    .await
                    .unwrap();
                let filter = attrs
                    .attributes()
                    .and_then(|a| a.get("FilterPolicy"))
                    .cloned()
                    .unwrap_or_default();
                subs.push((
                    s.topic_arn()
                        .unwrap()
                        .rsplit(':')
                        .next()
                        .unwrap()
                        .to_string(),
                    s.endpoint().unwrap().to_string(),
                    filter,
                ));
            }
            subs.sort();
            let policy = live_policy(&cfg, "small-dev-a").await;
            (topics, subs, policy)
        })
    };
    deploy(&with);
    let (topics, subs, policy) = state();
    assert_eq!(topics, ["orders", "theirs"]);
    let alias = "arn:aws:lambda:us-east-1:123456789012:function:small-dev-a:live";
    assert_eq!(subs.len(), 2, "{subs:?}");
    assert!(subs.iter().all(|s| s.1 == alias), "{subs:?}");
    assert_eq!(subs[1].0, "theirs");
    assert!(subs[1].2.contains("big"), "{subs:?}");
    assert!(
        policy.contains("sls-sns-orders") && policy.contains("sls-sns-theirs"),
        "{policy}"
    );
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
    let unfiltered = deploy(&with.replace("          filterPolicy: {kind: [big]}\n", ""));
    assert_eq!(actions(&unfiltered), ["setSubscriptionAttributes"]);
    json(&moto, dir.path(), &["remove"]);
    let (topics, subs, _) = state();
    // Ours is deleted, theirs kept; no subscription of ours is left.
    assert_eq!(topics, ["theirs"]);
    assert!(subs.is_empty(), "{subs:?}");
}

#[test]
fn s3_events_replace_only_our_entries_and_keep_every_other_notification() {
    use aws_sdk_s3::types::{
        LambdaFunctionConfiguration, NotificationConfiguration, QueueConfiguration,
        TopicConfiguration,
    };
    let moto = Moto::start();
    let queue = moto.create_queue("their-queue");
    let topic = moto.create_topic("their-topic");
    let dir = small();
    // Someone else's bucket, with a Lambda, a queue and a topic notification of their own.
    common::sls_in(dir.path()).arg("package").assert().success();
    someone_elses_function(&moto, dir.path(), "their-function");
    let s3 = |cfg: &aws_config::SdkConfig| s3(cfg);
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let s3 = s3(&cfg);
        s3.create_bucket()
            .bucket("shared-uploads")
            .send()
            .await
            .unwrap();
        let config = NotificationConfiguration::builder()
            .lambda_function_configurations(
                LambdaFunctionConfiguration::builder()
                    .id("theirs")
                    .lambda_function_arn(
                        "arn:aws:lambda:us-east-1:123456789012:function:their-function",
                    )
                    .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                    .build()
                    .unwrap(),
            )
            .queue_configurations(
                QueueConfiguration::builder()
                    .id("their-queue")
                    .queue_arn(&queue)
                    .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                    .build()
                    .unwrap(),
            )
            .topic_configurations(
                TopicConfiguration::builder()
                    .id("their-topic")
                    .topic_arn(&topic)
                    .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                    .build()
                    .unwrap(),
            )
            .build();
        s3.put_bucket_notification_configuration()
            .bucket("shared-uploads")
            .notification_configuration(config)
            .send()
            .await
            .unwrap();
    });
    let with = SMALL
        .replace(
            "  a:\n    handler: a.main\n",
            "  a:\n    handler: a.main\n    events:\n      - s3:\n          bucket: small-photos\n          rules:\n            - prefix: uploads/\n",
        )
        .replace("    events:\n      - httpApi: 'GET /a'\n", "")
        .replace(
            "    events:\n      - httpApi: 'GET /b'\n",
            "    events:\n      - s3:\n          bucket: shared-uploads\n          existing: true\n          event: s3:ObjectRemoved:*\n",
        );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json(&moto, dir.path(), &["deploy"])
    };
    let notifications = |bucket: &str| {
        rt().block_on(async {
            let cfg = moto.sdk().await;
            let Ok(n) = s3(&cfg)
                .get_bucket_notification_configuration()
                .bucket(bucket)
                .send()
                .await
            else {
                return None;
            };
            let mut ids: Vec<String> = n
                .lambda_function_configurations()
                .iter()
                .map(|c| format!("{} {}", c.id().unwrap_or_default(), c.lambda_function_arn()))
                .chain(
                    n.queue_configurations()
                        .iter()
                        .map(|c| c.id().unwrap_or_default().to_string()),
                )
                .chain(
                    n.topic_configurations()
                        .iter()
                        .map(|c| c.id().unwrap_or_default().to_string()),
                )
                .collect();
            ids.sort();
            Some(ids)
        })
    };
    deploy(&with);
    assert_eq!(
        notifications("small-photos").unwrap(),
        ["sls/small/dev/a/1 arn:aws:lambda:us-east-1:123456789012:function:small-dev-a:live"]
    );
    assert_eq!(
        notifications("shared-uploads").unwrap(),
        [
            "sls/small/dev/b/1 arn:aws:lambda:us-east-1:123456789012:function:small-dev-b:live",
            "their-queue",
            "their-topic",
            "theirs arn:aws:lambda:us-east-1:123456789012:function:their-function",
        ]
    );
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
    // b's event leaves: only our entry goes; theirs all stay.
    deploy(&with.replace(
        "    events:\n      - s3:\n          bucket: shared-uploads\n          existing: true\n          event: s3:ObjectRemoved:*\n",
        "",
    ));
    assert_eq!(
        notifications("shared-uploads").unwrap(),
        [
            "their-queue",
            "their-topic",
            "theirs arn:aws:lambda:us-east-1:123456789012:function:their-function",
        ]
    );
    json(&moto, dir.path(), &["remove"]);
    // Our (empty) bucket is deleted; theirs is kept with its three entries.
    assert!(notifications("small-photos").is_none());
    assert_eq!(notifications("shared-uploads").unwrap().len(), 3);
}

#[test]
fn deploy_function_also_converges_that_functions_triggers() {
    let moto = Moto::start();
    let queue = moto.create_queue("work");
    let dir = small();
    json(&moto, dir.path(), &["deploy"]);
    let with = SMALL.replace(
        "  a:\n    handler: a.main\n",
        &format!("  a:\n    handler: a.main\n    events:\n      - schedule: rate(1 hour)\n      - sqs: {queue}\n"),
    )
    .replace("    events:\n      - httpApi: 'GET /a'\n", "");
    fs::write(dir.path().join("serverless.yml"), &with).unwrap();
    let doc = json(&moto, dir.path(), &["deploy", "function", "-f", "a"]);
    let acts = actions(&doc);
    for a in [
        "putRule",
        "putTargets",
        "addPermission",
        "createEventSourceMapping",
    ] {
        assert!(acts.contains(&a.to_string()), "{a} missing from {acts:?}");
    }
    // The HTTP API's grant of the other function, and the API, are left alone.
    assert!(
        !acts
            .iter()
            .any(|a| a.contains("Http") || a == "removePermission"),
        "{acts:?}"
    );
    let again = json(&moto, dir.path(), &["deploy", "function", "-f", "a"]);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
}

#[test]
fn log_subscriptions_send_a_groups_events_to_the_live_alias() {
    let moto = Moto::start();
    let dir = small();
    rt().block_on(async {
        aws_sdk_cloudwatchlogs::Client::new(&moto.sdk().await)
            .create_log_group()
            .log_group_name("/app/orders")
            .send()
            .await
            .unwrap();
    });
    let with = SMALL
        .replace(
            "  a:\n    handler: a.main\n",
            "  a:\n    handler: a.main\n    events:\n      - cloudwatchLog:\n          logGroup: /app/orders\n          filter: ERROR\n",
        )
        .replace("    events:\n      - httpApi: 'GET /a'\n", "");
    fs::write(dir.path().join("serverless.yml"), &with).unwrap();
    let filters = || {
        rt().block_on(async {
            let got = aws_sdk_cloudwatchlogs::Client::new(&moto.sdk().await)
                .describe_subscription_filters()
                .log_group_name("/app/orders")
                .send()
                .await
                .unwrap();
            got.subscription_filters()
                .iter()
                .map(|f| {
                    (
                        f.filter_name().unwrap().to_string(),
                        f.filter_pattern().unwrap_or_default().to_string(),
                        f.destination_arn().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    json(&moto, dir.path(), &["deploy"]);
    assert_eq!(
        filters(),
        [(
            "sls/small/dev/a".to_string(),
            "ERROR".to_string(),
            "arn:aws:lambda:us-east-1:123456789012:function:small-dev-a:live".to_string()
        )]
    );
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
    json(&moto, dir.path(), &["remove"]);
    assert!(filters().is_empty());
}

#[test]
fn alexa_skills_get_a_grant_with_their_skill_id_and_lose_it_with_the_event() {
    let moto = Moto::start();
    // moto keeps no event source token: the request is checked through the proxy.
    let proxy = common::faults::Faults::delayed(moto.port, std::time::Duration::ZERO);
    let dir = small();
    let with = SMALL
        .replace(
            "  a:\n    handler: a.main\n",
            "  a:\n    handler: a.main\n    events:\n      - alexaSkill: amzn1.ask.skill.1234-abcd\n      - alexaSmartHome:\n          appId: amzn1.ask.skill.home-1\n",
        )
        .replace("    events:\n      - httpApi: 'GET /a'\n", "");
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json_via(&moto, &proxy, dir.path(), &["deploy"])
    };
    let policy = || rt().block_on(async { live_policy(&moto.sdk().await, "small-dev-a").await });
    deploy(&with);
    let p = policy();
    assert!(
        p.contains("sls-alexa-skill-amzn1-ask-skill-1234-abcd"),
        "{p}"
    );
    assert!(
        p.contains("alexa-appkit.amazon.com") && p.contains("alexa-connectedhome.amazon.com"),
        "{p}"
    );
    let granted = proxy.bodies("POST /2015-03-31/functions/small-dev-a/policy");
    assert!(
        granted
            .iter()
            .any(|b| b.contains(r#""EventSourceToken":"amzn1.ask.skill.1234-abcd""#)),
        "the skill id is the token: {granted:?}"
    );
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
    deploy(SMALL);
    assert!(!policy().contains("sls-alexa-"));
}

#[test]
fn a_rollback_moves_where_the_schedule_and_the_queue_deliver() {
    let moto = Moto::start();
    let queue = moto.create_queue("rolls");
    let dir = small();
    let with = SMALL
        .replace(
            "  a:\n    handler: a.main\n",
            &format!("  a:\n    handler: a.main\n    events:\n      - schedule: rate(1 hour)\n      - sqs: {queue}\n"),
        )
        .replace("    events:\n      - httpApi: 'GET /a'\n", "");
    fs::write(dir.path().join("serverless.yml"), &with).unwrap();
    json(&moto, dir.path(), &["deploy"]);
    // A release of both functions (rollback moves every function of the service).
    write(dir.path(), "a.js", "exports.main = async () => 'a2';\n");
    write(dir.path(), "b.js", "exports.main = async () => 'b2';\n");
    json(&moto, dir.path(), &["deploy"]);
    let delivery = || {
        rt().block_on(async {
            let cfg = moto.sdk().await;
            let lambda = aws_sdk_lambda::Client::new(&cfg);
            let version = lambda
                .get_alias()
                .function_name("small-dev-a")
                .name("live")
                .send()
                .await
                .unwrap()
                .function_version()
                .unwrap()
                .to_string();
            let target = aws_sdk_eventbridge::Client::new(&cfg)
                .list_targets_by_rule()
                .rule("small-dev-a-schedule-1")
                .send()
                .await
                .unwrap()
                .targets()[0]
                .arn()
                .to_string();
            let mapped = lambda
                .list_event_source_mappings()
                .function_name(&target)
                .send()
                .await
                .unwrap()
                .event_source_mappings()
                .len();
            (version, target, mapped)
        })
    };
    let alias = "arn:aws:lambda:us-east-1:123456789012:function:small-dev-a:live";
    assert_eq!(delivery(), ("2".to_string(), alias.to_string(), 1));
    // The schedule and the queue deliver to the alias, so the rollback alone moves them.
    common::json_of(
        moto.sls(dir.path())
            .args(["alias", "rollback", "live", "--json"]),
    );
    assert_eq!(delivery(), ("1".to_string(), alias.to_string(), 1));
    let again = json(&moto, dir.path(), &["deploy", "--dry-run"]);
    assert!(
        !actions(&again)
            .iter()
            .any(|a| a.contains("Rule") || a.contains("Mapping")),
        "{:?}",
        actions(&again)
    );
}

#[test]
fn http_api_detailed_metrics_are_set_on_the_stage_and_follow_the_config() {
    use common::faults::{Canned, Faults};
    let moto = Moto::start();
    // moto has no UpdateStage: the proxy answers it as AWS does, and the request is checked.
    let proxy = Faults::answers(
        moto.port,
        vec![Canned {
            request: "PATCH /v2/apis/".into(),
            json: "{}".into(),
            after: None,
            with: Some("detailedMetricsEnabled".into()),
        }],
    );
    let dir = small();
    let on = SMALL.replace(
        "  runtime: nodejs22.x\n",
        "  runtime: nodejs22.x\n  httpApi:\n    metrics: true\n",
    );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json_via(&moto, &proxy, dir.path(), &["deploy"])
    };
    deploy(&on);
    let enabled = rt().block_on(async {
        let v2 = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await);
        let api = v2.get_apis().send().await.unwrap().items()[0]
            .api_id()
            .unwrap()
            .to_string();
        let stages = v2.get_stages().api_id(api).send().await.unwrap();
        stages.items()[0]
            .default_route_settings()
            .and_then(|r| r.detailed_metrics_enabled())
    });
    assert_eq!(enabled, Some(true));
    assert_eq!(mutating(&deploy(&on)), 0);
    let off = deploy(SMALL);
    assert_eq!(actions(&off), ["updateHttpStageMetrics"]);
    let sent = proxy.bodies("PATCH /v2/apis/");
    assert!(
        sent.iter()
            .any(|b| b.contains(r#""detailedMetricsEnabled":false"#)),
        "{sent:?}"
    );
}

#[test]
fn rest_stage_metrics_and_tracing_follow_the_config() {
    let moto = Moto::start();
    let dir = small();
    let with = |extra: &str| {
        SMALL
            .replace(
                "  runtime: nodejs22.x\n",
                &format!("  runtime: nodejs22.x\n{extra}"),
            )
            .replace("      - httpApi: 'GET /a'\n", "      - http: GET a\n")
    };
    let on = with("  apiGateway:\n    metrics: true\n  tracing:\n    apiGateway: true\n");
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json(&moto, dir.path(), &["deploy"])
    };
    let stage = || {
        rt().block_on(async {
            let gw = aws_sdk_apigateway::Client::new(&moto.sdk().await);
            let api = gw.get_rest_apis().send().await.unwrap().items()[0]
                .id()
                .unwrap()
                .to_string();
            let s = gw
                .get_stage()
                .rest_api_id(api)
                .stage_name("dev")
                .send()
                .await
                .unwrap();
            (
                s.method_settings()
                    .and_then(|m| m.get("*/*"))
                    .is_some_and(|m| m.metrics_enabled()),
                s.tracing_enabled(),
            )
        })
    };
    let first = deploy(&on);
    assert!(actions(&first).contains(&"updateRestStage".to_string()));
    assert_eq!(stage(), (true, true));
    assert_eq!(mutating(&deploy(&on)), 0);
    let off = deploy(&with(""));
    assert_eq!(actions(&off), ["updateRestStage"]);
    assert_eq!(stage(), (false, false));
}

#[test]
fn websocket_routes_reach_the_live_alias_answer_when_asked_and_follow_the_config() {
    let moto = Moto::start();
    let proxy = common::faults::Faults::delayed(moto.port, std::time::Duration::ZERO);
    let dir = small();
    let with = SMALL
        .replace(
            "    events:\n      - httpApi: 'GET /a'\n",
            "    events:\n      - websocket: $connect\n      - websocket: $disconnect\n",
        )
        .replace(
            "    events:\n      - httpApi: 'GET /b'\n",
            "    events:\n      - websocket:\n          route: echo\n          routeResponseSelectionExpression: $default\n",
        );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json_via(&moto, &proxy, dir.path(), &["deploy"])
    };
    // Each API: protocol, name, route selection, its routes as (route key, target uri,
    // answers) and its stages as (name, deploys itself).
    type Routes = Vec<(String, String, bool)>;
    type Apis = Vec<(String, String, String, Routes, Vec<(String, bool)>)>;
    let read = || -> Apis {
        rt().block_on(async {
            let v2 = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await);
            let mut out = Vec::new();
            for api in v2.get_apis().send().await.unwrap().items() {
                let id = api.api_id().unwrap();
                let integrations = v2.get_integrations().api_id(id).send().await.unwrap();
                let uri = |target: Option<&str>| {
                    let i = target
                        .unwrap_or_default()
                        .trim_start_matches("integrations/");
                    integrations
                        .items()
                        .iter()
                        .find(|x| x.integration_id() == Some(i))
                        .and_then(|x| x.integration_uri())
                        .unwrap_or_default()
                        .to_string()
                };
                let mut routes: Routes = Vec::new();
                for r in v2.get_routes().api_id(id).send().await.unwrap().items() {
                    // moto lists no route responses: the requests are checked instead.
                    let answers = r.route_response_selection_expression() == Some("$default");
                    routes.push((r.route_key().unwrap().to_string(), uri(r.target()), answers));
                }
                routes.sort();
                let stages = v2.get_stages().api_id(id).send().await.unwrap();
                let stages = stages
                    .items()
                    .iter()
                    .map(|s| {
                        (
                            s.stage_name().unwrap().to_string(),
                            s.auto_deploy() == Some(true),
                        )
                    })
                    .collect();
                out.push((
                    api.protocol_type().unwrap().as_str().to_string(),
                    api.name().unwrap().to_string(),
                    api.route_selection_expression()
                        .unwrap_or_default()
                        .to_string(),
                    routes,
                    stages,
                ));
            }
            out
        })
    };
    let invokes = |f: &str| {
        format!(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:small-dev-{f}:live/invocations"
        )
    };
    let first = deploy(&with);
    let apis = read();
    assert_eq!(apis.len(), 1, "{apis:?}");
    let (protocol, name, selection, routes, stages) = &apis[0];
    assert_eq!(
        (protocol.as_str(), name.as_str(), selection.as_str()),
        ("WEBSOCKET", "dev-small-websockets", "$request.body.action")
    );
    assert_eq!(
        routes,
        &[
            ("$connect".to_string(), invokes("a"), false),
            ("$disconnect".to_string(), invokes("a"), false),
            ("echo".to_string(), invokes("b"), true),
        ]
    );
    assert_eq!(stages, &[("dev".to_string(), true)]);
    let (id, echo) = rt().block_on(async {
        let v2 = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await);
        let apis = v2.get_apis().send().await.unwrap();
        let id = apis.items()[0].api_id().unwrap().to_string();
        let routes = v2.get_routes().api_id(&id).send().await.unwrap();
        let echo = routes
            .items()
            .iter()
            .find(|r| r.route_key() == Some("echo"))
            .unwrap();
        (id, echo.route_id().unwrap().to_string())
    });
    let responses = proxy.bodies(&format!("POST /v2/apis/{id}/routes/{echo}/routeresponses"));
    assert!(
        responses.len() == 1 && responses[0].contains(r#""routeResponseKey":"$default""#),
        "{responses:?}"
    );
    assert_eq!(
        first["endpoints"],
        serde_json::json!([format!(
            "wss://{id}.execute-api.us-east-1.amazonaws.com/dev"
        )])
    );
    for f in ["a", "b"] {
        let p = rt()
            .block_on(async { live_policy(&moto.sdk().await, &format!("small-dev-{f}")).await });
        assert!(
            p.contains("sls-websocket") && p.contains(&format!(":{id}/*")),
            "{p}"
        );
    }
    // Any function may post back to clients.
    let policy = rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
        let p = iam
            .get_role_policy()
            .role_name("small-dev-us-east-1-lambdaRole")
            .policy_name("small-dev-lambda")
            .send()
            .await
            .unwrap();
        sls::provider::aws::percent_decode(p.policy_document())
    });
    assert!(
        policy.contains("execute-api:ManageConnections")
            && policy.contains("arn:aws:execute-api:*:*:*/@connections/*"),
        "{policy}"
    );
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
    let info = json(&moto, dir.path(), &["info"]);
    assert_eq!(info["endpoints"], first["endpoints"]);

    // echo moves to a and stops answering; $disconnect goes; the route selection changes.
    let changed = with
        .replace("      - websocket: $disconnect\n", "      - websocket: echo\n")
        .replace(
            "      - websocket:\n          route: echo\n          routeResponseSelectionExpression: $default\n",
            "      - websocket: $default\n",
        )
        .replace(
            "provider:\n  name: aws\n",
            "provider:\n  name: aws\n  websocketsApiRouteSelectionExpression: $request.body.type\n",
        );
    let doc = deploy(&changed);
    assert_eq!(
        sorted(actions(&doc)),
        sorted(
            [
                "updateWebsocketApi",
                "replaceWebsocketRoute",
                "createWebsocketRoute",
                "deleteWebsocketRoute"
            ]
            .map(String::from)
            .to_vec()
        ),
        "{:?}",
        doc["plan"]["steps"]
    );
    let apis = read();
    assert_eq!(apis[0].2, "$request.body.type");
    assert_eq!(
        apis[0].3,
        [
            ("$connect".to_string(), invokes("a"), false),
            ("$default".to_string(), invokes("b"), false),
            ("echo".to_string(), invokes("a"), false),
        ]
    );
    let again = deploy(&changed);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);

    // Without websocket events the API goes, and so do the grants.
    deploy(SMALL);
    assert!(read().iter().all(|a| a.0 != "WEBSOCKET"), "{:?}", read());
    let p = rt().block_on(async { live_policy(&moto.sdk().await, "small-dev-b").await });
    assert!(!p.contains("sls-websocket"), "{p}");
    deploy(&with);
    json(&moto, dir.path(), &["remove"]);
    assert!(read().is_empty(), "{:?}", read());
}

#[test]
fn cognito_triggers_are_set_on_our_pool_and_a_users_pool_keeps_every_other_setting() {
    use aws_sdk_cognitoidentityprovider::types::{
        LambdaConfigType, PasswordPolicyType, UserPoolPolicyType, VerificationMessageTemplateType,
    };
    let moto = Moto::start();
    let proxy = common::faults::Faults::delayed(moto.port, std::time::Duration::ZERO);
    let foreign = "arn:aws:lambda:us-east-1:123456789012:function:someone-elses-messages";
    let staff = rt().block_on(async {
        let cognito = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk().await);
        let made = cognito
            .create_user_pool()
            .pool_name("staff")
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(
                        PasswordPolicyType::builder()
                            .minimum_length(12)
                            .require_symbols(true)
                            .temporary_password_validity_days(3)
                            .build(),
                    )
                    .build(),
            )
            .email_verification_message("Your staff code is {####}")
            .email_verification_subject("Staff code")
            .verification_message_template(
                VerificationMessageTemplateType::builder()
                    .email_message("Your staff code is {####}")
                    .email_subject("Staff code")
                    .build(),
            )
            .lambda_config(LambdaConfigType::builder().custom_message(foreign).build())
            .send()
            .await
            .unwrap();
        made.user_pool().unwrap().id().unwrap().to_string()
    });
    let dir = small();
    let with = SMALL
        .replace(
            "    events:\n      - httpApi: 'GET /a'\n",
            "    events:\n      - cognitoUserPool:\n          pool: members\n          trigger: PreSignUp\n      - cognitoUserPool:\n          pool: members\n          trigger: PostConfirmation\n",
        )
        .replace(
            "    events:\n      - httpApi: 'GET /b'\n",
            "    events:\n      - cognitoUserPool:\n          pool: staff\n          trigger: PostConfirmation\n          existing: true\n",
        );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json_via(&moto, &proxy, dir.path(), &["deploy"])
    };
    // Each pool: name → (its triggers, tags, password minimum length).
    let pools = || {
        rt().block_on(async {
            let cognito = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk().await);
            let list = cognito
                .list_user_pools()
                .max_results(60)
                .send()
                .await
                .unwrap();
            let mut out = BTreeMap::new();
            for p in list.user_pools() {
                let d = cognito
                    .describe_user_pool()
                    .user_pool_id(p.id().unwrap())
                    .send()
                    .await
                    .unwrap();
                let u = d.user_pool().unwrap().clone();
                let l = u
                    .lambda_config()
                    .cloned()
                    .unwrap_or_else(|| LambdaConfigType::builder().build());
                let triggers: BTreeMap<&str, String> = [
                    ("PreSignUp", l.pre_sign_up.clone()),
                    ("PostConfirmation", l.post_confirmation.clone()),
                    ("CustomMessage", l.custom_message.clone()),
                ]
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect();
                let tags = u.user_pool_tags().cloned().unwrap_or_default();
                let min = u
                    .policies()
                    .and_then(|p| p.password_policy())
                    .and_then(|p| p.minimum_length());
                out.insert(
                    u.name().unwrap().to_string(),
                    (triggers, tags, min, u.arn().unwrap().to_string()),
                );
            }
            out
        })
    };
    let alias =
        |f: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:small-dev-{f}:live");
    deploy(&with);
    let got = pools();
    let members = &got["members"];
    assert_eq!(
        members.0,
        BTreeMap::from([("PostConfirmation", alias("a")), ("PreSignUp", alias("a"))])
    );
    assert_eq!(
        members.1.get("sls:service").map(String::as_str),
        Some("small")
    );
    let staff_now = &got["staff"];
    assert_eq!(
        staff_now.0,
        BTreeMap::from([
            ("CustomMessage", foreign.to_string()),
            ("PostConfirmation", alias("b"))
        ])
    );
    assert_eq!(staff_now.2, Some(12), "the password policy survives");
    assert!(
        !staff_now.1.contains_key("sls:service"),
        "the user's pool is not tagged as ours"
    );
    // UpdateUserPool resets what it is not given, and moto does not: the request itself must
    // carry every setting as it was read.
    let updates: Vec<String> = proxy
        .bodies("POST / ")
        .into_iter()
        .filter(|b| b.contains(&staff) && b.contains("LambdaConfig"))
        .collect();
    assert_eq!(updates.len(), 1, "{updates:?}");
    for kept in [
        r#""MinimumLength":12"#,
        r#""RequireSymbols":true"#,
        r#""TemporaryPasswordValidityDays":3"#,
        "Your staff code is {####}",
        r#""EmailVerificationSubject":"Staff code""#,
        foreign,
        r#""PoolName":"staff""#,
    ] {
        assert!(
            updates[0].contains(kept),
            "{kept} not sent back: {}",
            updates[0]
        );
    }
    assert!(
        !updates[0].contains("UnusedAccountValidityDays"),
        "{}",
        updates[0]
    );
    for (f, pool) in [("a", "members"), ("b", "staff")] {
        let p = rt()
            .block_on(async { live_policy(&moto.sdk().await, &format!("small-dev-{f}")).await });
        assert!(
            p.contains(&format!("sls-cognito-{pool}"))
                && p.contains("cognito-idp.amazonaws.com")
                && p.contains(&got[pool].3),
            "{p}"
        );
    }
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);

    // The events go: our pool is deleted, the user's keeps everything but our trigger.
    deploy(SMALL);
    let got = pools();
    assert!(!got.contains_key("members"), "{got:?}");
    assert_eq!(
        got["staff"].0,
        BTreeMap::from([("CustomMessage", foreign.to_string())])
    );
    assert_eq!(got["staff"].2, Some(12));
    let p = rt().block_on(async { live_policy(&moto.sdk().await, "small-dev-b").await });
    assert!(!p.contains("sls-cognito-"), "{p}");
    deploy(&with);
    json_via(&moto, &proxy, dir.path(), &["remove"]);
    let got = pools();
    assert_eq!(got.keys().collect::<Vec<_>>(), ["staff"]);
    assert_eq!(
        got["staff"].0,
        BTreeMap::from([("CustomMessage", foreign.to_string())])
    );
}

#[test]
fn scheduler_schedules_run_in_their_time_zone_through_a_role_that_trusts_scheduler() {
    let moto = Moto::start();
    let dir = small();
    let with = SMALL.replace(
        "    events:\n      - httpApi: 'GET /a'\n",
        "    events:\n      - schedule:\n          rate: cron(0 9 ? * MON-FRI *)\n          method: scheduler\n          timezone: Europe/Paris\n          input: {kind: digest}\n      - schedule: rate(1 hour)\n",
    );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json(&moto, dir.path(), &["deploy"])
    };
    // name → (expression, zone, target, role, input), or None without the group.
    type Schedules = Option<BTreeMap<String, (String, String, String, String, String)>>;
    let schedules = || -> Schedules {
        rt().block_on(async {
            let s = aws_sdk_scheduler::Client::new(&moto.sdk().await);
            let group = s.get_schedule_group().name("small-dev").send().await.ok()?;
            let tags = s
                .list_tags_for_resource()
                .resource_arn(group.arn().unwrap())
                .send()
                .await
                .unwrap();
            assert!(
                tags.tags()
                    .iter()
                    .any(|t| t.key() == "sls:service" && t.value() == "small"),
                "{tags:?}"
            );
            let list = s
                .list_schedules()
                .group_name("small-dev")
                .send()
                .await
                .unwrap();
            let mut out = BTreeMap::new();
            for item in list.schedules() {
                let g = s
                    .get_schedule()
                    .group_name("small-dev")
                    .name(item.name().unwrap())
                    .send()
                    .await
                    .unwrap();
                let t = g.target().unwrap();
                out.insert(
                    item.name().unwrap().to_string(),
                    (
                        g.schedule_expression().unwrap().to_string(),
                        g.schedule_expression_timezone()
                            .unwrap_or_default()
                            .to_string(),
                        t.arn.clone(),
                        t.role_arn.clone(),
                        t.input.clone().unwrap_or_default(),
                    ),
                );
            }
            Some(out)
        })
    };
    deploy(&with);
    let got = schedules().expect("the schedule group");
    assert_eq!(
        got["small-dev-a-schedule-1"],
        (
            "cron(0 9 ? * MON-FRI *)".to_string(),
            "Europe/Paris".to_string(),
            "arn:aws:lambda:us-east-1:123456789012:function:small-dev-a:live".to_string(),
            "arn:aws:iam::123456789012:role/small-dev-us-east-1-scheduler".to_string(),
            r#"{"kind":"digest"}"#.to_string(),
        )
    );
    assert_eq!(got.len(), 1, "{got:?}");
    let (trust, policy, rules) = rt().block_on(async {
        let cfg = moto.sdk().await;
        let iam = aws_sdk_iam::Client::new(&cfg);
        let role = iam
            .get_role()
            .role_name("small-dev-us-east-1-scheduler")
            .send()
            .await
            .unwrap();
        let trust = sls::provider::aws::percent_decode(
            role.role().unwrap().assume_role_policy_document().unwrap(),
        );
        let policy = iam
            .get_role_policy()
            .role_name("small-dev-us-east-1-scheduler")
            .policy_name("small-dev-scheduler")
            .send()
            .await
            .unwrap();
        let rules = aws_sdk_eventbridge::Client::new(&cfg)
            .list_rules()
            .name_prefix("small-dev-")
            .send()
            .await
            .unwrap();
        let rules: Vec<String> = rules
            .rules()
            .iter()
            .map(|r| r.name().unwrap().to_string())
            .collect();
        (
            trust,
            sls::provider::aws::percent_decode(policy.policy_document()),
            rules,
        )
    });
    assert!(
        trust.contains("scheduler.amazonaws.com") && !trust.contains("lambda.amazonaws.com"),
        "{trust}"
    );
    assert!(
        policy.contains("lambda:InvokeFunction")
            && policy.contains("function:small-dev-a\"")
            && policy.contains("function:small-dev-a:*"),
        "{policy}"
    );
    // The other expression stays an EventBridge rule, numbered after the first.
    assert_eq!(rules, ["small-dev-a-schedule-2"]);
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);

    let moved = deploy(&with.replace("Europe/Paris", "America/New_York"));
    assert_eq!(
        actions(&moved),
        ["updateSchedule"],
        "{:?}",
        moved["plan"]["steps"]
    );
    assert_eq!(
        schedules().unwrap()["small-dev-a-schedule-1"].1,
        "America/New_York"
    );

    // Without scheduler schedules the group and the role go.
    deploy(SMALL);
    assert_eq!(schedules(), None);
    let role = rt().block_on(async {
        aws_sdk_iam::Client::new(&moto.sdk().await)
            .get_role()
            .role_name("small-dev-us-east-1-scheduler")
            .send()
            .await
            .is_ok()
    });
    assert!(!role, "the scheduler's role is deleted");
    deploy(&with);
    json(&moto, dir.path(), &["remove"]);
    assert_eq!(schedules(), None);
}

#[test]
fn kafka_msk_and_amazon_mq_sources_are_mapped_per_topic_and_queue_with_their_secrets() {
    use common::faults::Canned;
    // moto refuses mappings from brokers: Lambda's answers are replayed, the requests checked.
    let cluster = "arn:aws:kafka:us-east-1:123456789012:cluster/orders/abcd-1234";
    let broker = "arn:aws:mq:us-east-1:123456789012:broker:jobs:b-1234";
    let scram = "arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-user";
    let basic = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mq-user";
    let alias = "arn:aws:lambda:us-east-1:123456789012:function:small-dev-a:live";
    let msk = format!(
        r#"{{"UUID":"u-msk","EventSourceArn":"{cluster}","FunctionArn":"{alias}","Topics":["orders"],"BatchSize":50,"MaximumBatchingWindowInSeconds":0,"State":"Enabled","StartingPosition":"LATEST","SourceAccessConfigurations":[{{"Type":"SASL_SCRAM_512_AUTH","URI":"{scram}"}}],"AmazonManagedKafkaEventSourceConfig":{{"ConsumerGroupId":"billing"}}}}"#
    );
    let mq = format!(
        r#"{{"UUID":"u-mq","EventSourceArn":"{broker}","FunctionArn":"{alias}","Queues":["jobs"],"BatchSize":100,"MaximumBatchingWindowInSeconds":0,"State":"Enabled","SourceAccessConfigurations":[{{"Type":"BASIC_AUTH","URI":"{basic}"}},{{"Type":"VIRTUAL_HOST","URI":"/prod"}}]}}"#
    );
    let kafka_source = format!(
        r#"{{"UUID":"u-kafka","FunctionArn":"{alias}","SelfManagedEventSource":{{"Endpoints":{{"KAFKA_BOOTSTRAP_SERVERS":["b-1.example.com:9092","b-2.example.com:9092"]}}}},"Topics":["clicks"],"BatchSize":100,"MaximumBatchingWindowInSeconds":0,"State":"Enabled","StartingPosition":"TRIM_HORIZON","SourceAccessConfigurations":[{{"Type":"SASL_SCRAM_256_AUTH","URI":"{scram}"}},{{"Type":"VPC_SECURITY_GROUP","URI":"security_group:sg-1"}},{{"Type":"VPC_SUBNET","URI":"subnet:subnet-1"}}],"SelfManagedKafkaEventSourceConfig":{{"ConsumerGroupId":"clicks-reader"}}}}"#
    );
    let created = "POST /2015-03-31/event-source-mappings";
    let proxy = |moto: &Moto| {
        common::faults::Faults::answers(
            moto.port,
            vec![
                Canned {
                    request: created.into(),
                    json: kafka_source.clone(),
                    after: None,
                    with: Some("SelfManagedEventSource".into()),
                },
                Canned {
                    request: "GET /2015-03-31/event-source-mappings/u-kafka".into(),
                    json: kafka_source.clone(),
                    after: None,
                    with: None,
                },
                Canned {
                    request: created.into(),
                    json: msk.clone(),
                    after: None,
                    with: Some("\"Topics\"".into()),
                },
                Canned {
                    request: created.into(),
                    json: mq.clone(),
                    after: None,
                    with: Some("\"Queues\"".into()),
                },
                Canned {
                    request: "GET /2015-03-31/event-source-mappings/u-msk".into(),
                    json: msk.clone(),
                    after: None,
                    with: None,
                },
                Canned {
                    request: "GET /2015-03-31/event-source-mappings/u-mq".into(),
                    json: mq.clone(),
                    after: None,
                    with: None,
                },
                // Once made, Lambda lists them on the alias.
                Canned {
                    request: "GET /2015-03-31/event-source-mappings".into(),
                    json: format!(r#"{{"EventSourceMappings":[{msk},{mq},{kafka_source}]}}"#),
                    after: Some(created.into()),
                    with: Some("small-dev-a".into()),
                },
            ],
        )
    };
    let moto = Moto::start();
    let faults = proxy(&moto);
    let dir = small();
    let with = SMALL.replace(
        "    events:\n      - httpApi: 'GET /a'\n",
        &format!("    events:\n      - msk:\n          arn: {cluster}\n          topic: orders\n          batchSize: 50\n          startingPosition: LATEST\n          saslScram512: {scram}\n          consumerGroupId: billing\n      - rabbitmq:\n          arn: {broker}\n          queue: jobs\n          basicAuthArn: {basic}\n          virtualHost: /prod\n      - kafka:\n          bootstrapServers: [b-2.example.com:9092, b-1.example.com:9092]\n          topic: clicks\n          consumerGroupId: clicks-reader\n          accessConfigurations:\n            saslScram256Auth: {scram}\n            vpcSubnet: subnet-1\n            vpcSecurityGroup: [sg-1]\n"),
    );
    fs::write(dir.path().join("serverless.yml"), &with).unwrap();
    let first = json_via(&moto, &faults, dir.path(), &["deploy"]);
    let made = faults.bodies(created);
    assert_eq!(made.len(), 3, "{:?}", first["plan"]["steps"]);
    let own: Value = serde_json::from_str(
        made.iter()
            .find(|b| b.contains("SelfManagedEventSource"))
            .unwrap(),
    )
    .unwrap();
    assert!(own.get("EventSourceArn").is_none(), "{own}");
    assert_eq!(
        own["SelfManagedEventSource"]["Endpoints"]["KAFKA_BOOTSTRAP_SERVERS"],
        serde_json::json!(["b-1.example.com:9092", "b-2.example.com:9092"])
    );
    assert_eq!(own["Topics"], serde_json::json!(["clicks"]));
    assert_eq!(own["StartingPosition"], "TRIM_HORIZON");
    assert_eq!(
        own["SelfManagedKafkaEventSourceConfig"]["ConsumerGroupId"],
        "clicks-reader"
    );
    assert_eq!(
        own["SourceAccessConfigurations"],
        serde_json::json!([
            {"Type": "SASL_SCRAM_256_AUTH", "URI": scram},
            {"Type": "VPC_SECURITY_GROUP", "URI": "security_group:sg-1"},
            {"Type": "VPC_SUBNET", "URI": "subnet:subnet-1"}
        ])
    );
    let kafka: Value = serde_json::from_str(
        made.iter()
            .find(|b| b.contains("Topics") && !b.contains("SelfManagedEventSource"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(kafka["FunctionName"], alias);
    assert_eq!(kafka["EventSourceArn"], cluster);
    assert_eq!(kafka["Topics"], serde_json::json!(["orders"]));
    assert_eq!(kafka["StartingPosition"], "LATEST");
    assert_eq!(kafka["BatchSize"], 50);
    assert_eq!(
        kafka["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"],
        "billing"
    );
    assert_eq!(
        kafka["SourceAccessConfigurations"],
        serde_json::json!([{"Type": "SASL_SCRAM_512_AUTH", "URI": scram}])
    );
    let rabbit: Value =
        serde_json::from_str(made.iter().find(|b| b.contains("Queues")).unwrap()).unwrap();
    assert_eq!(rabbit["Queues"], serde_json::json!(["jobs"]));
    assert!(rabbit.get("StartingPosition").is_none(), "{rabbit}");
    assert_eq!(
        rabbit["SourceAccessConfigurations"],
        serde_json::json!([{"Type": "BASIC_AUTH", "URI": basic}, {"Type": "VIRTUAL_HOST", "URI": "/prod"}])
    );
    // The role may read the cluster and the broker, their secrets, and reach their VPC.
    let policy = rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
        let p = iam
            .get_role_policy()
            .role_name("small-dev-us-east-1-lambdaRole")
            .policy_name("small-dev-lambda")
            .send()
            .await
            .unwrap();
        sls::provider::aws::percent_decode(p.policy_document())
    });
    for needed in [
        "kafka:GetBootstrapBrokers",
        cluster,
        "mq:DescribeBroker",
        broker,
        "secretsmanager:GetSecretValue",
        scram,
        basic,
        "ec2:CreateNetworkInterface",
    ] {
        assert!(policy.contains(needed), "{needed} missing: {policy}");
    }
    let again = json_via(&moto, &faults, dir.path(), &["deploy"]);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);
}

#[test]
fn alb_rules_forward_to_a_target_group_of_the_live_alias_and_follow_the_config() {
    let moto = Moto::start();
    let subnets = moto.create_subnets();
    let listener = rt().block_on(async {
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&moto.sdk().await);
        let lb = elb
            .create_load_balancer()
            .name("front")
            .set_subnets(Some(subnets))
            .send()
            .await
            .unwrap();
        let lb = lb.load_balancers()[0]
            .load_balancer_arn()
            .unwrap()
            .to_string();
        let l = elb
            .create_listener()
            .load_balancer_arn(&lb)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(80)
            .default_actions(
                aws_sdk_elasticloadbalancingv2::types::Action::builder()
                    .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::FixedResponse)
                    .fixed_response_config(
                        aws_sdk_elasticloadbalancingv2::types::FixedResponseActionConfig::builder()
                            .status_code("404")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        l.listeners()[0].listener_arn().unwrap().to_string()
    });
    let dir = small();
    let with = SMALL.replace(
        "    events:\n      - httpApi: 'GET /a'\n",
        &format!("    events:\n      - alb:\n          listenerArn: {listener}\n          priority: 7\n          conditions:\n            path: /hello\n            method: [GET, POST]\n            header:\n              name: X-Team\n              values: [blue]\n          multiValueHeaders: true\n          healthCheck:\n            path: /health\n            intervalSeconds: 60\n"),
    );
    let deploy = |yaml: &str| {
        fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        json(&moto, dir.path(), &["deploy"])
    };
    // (target group name, targets, multi-value, health path) and each rule's (priority,
    // condition fields, forwards to ours).
    let read = || {
        rt().block_on(async {
            let elb = aws_sdk_elasticloadbalancingv2::Client::new(&moto.sdk().await);
            let groups = elb.describe_target_groups().send().await.unwrap();
            let mut out = Vec::new();
            for g in groups.target_groups() {
                let arn = g.target_group_arn().unwrap();
                let health = elb
                    .describe_target_health()
                    .target_group_arn(arn)
                    .send()
                    .await
                    .unwrap();
                let attrs = elb
                    .describe_target_group_attributes()
                    .target_group_arn(arn)
                    .send()
                    .await
                    .unwrap();
                let multi = attrs.attributes().iter().any(|a| {
                    a.key() == Some("lambda.multi_value_headers.enabled")
                        && a.value() == Some("true")
                });
                let targets: Vec<String> = health
                    .target_health_descriptions()
                    .iter()
                    .map(|h| h.target().unwrap().id().unwrap().to_string())
                    .collect();
                out.push((
                    g.target_group_name().unwrap().to_string(),
                    targets,
                    multi,
                    (
                        g.health_check_enabled(),
                        g.health_check_path().map(str::to_string),
                        g.health_check_interval_seconds(),
                    ),
                ));
            }
            let rules = elb
                .describe_rules()
                .listener_arn(&listener)
                .send()
                .await
                .unwrap();
            let rules: Vec<(String, Vec<String>)> = rules
                .rules()
                .iter()
                .filter(|r| r.priority() != Some("default"))
                .map(|r| {
                    let mut fields: Vec<String> = r
                        .conditions()
                        .iter()
                        .map(|c| c.field().unwrap().to_string())
                        .collect();
                    fields.sort();
                    (r.priority().unwrap().to_string(), fields)
                })
                .collect();
            (out, rules)
        })
    };
    deploy(&with);
    let (groups, rules) = read();
    assert_eq!(groups.len(), 1, "{groups:?}");
    let (name, targets, multi, health) = &groups[0];
    assert!(
        name.len() <= 32 && name.starts_with("small-dev-a-"),
        "{name}"
    );
    assert_eq!(
        targets,
        &["arn:aws:lambda:us-east-1:123456789012:function:small-dev-a:live".to_string()]
    );
    assert!(*multi);
    assert_eq!(health, &(Some(true), Some("/health".into()), Some(60)));
    assert_eq!(
        rules,
        [(
            "7".to_string(),
            ["http-header", "http-request-method", "path-pattern"]
                .map(String::from)
                .to_vec()
        )]
    );
    let p = rt().block_on(async { live_policy(&moto.sdk().await, "small-dev-a").await });
    assert!(
        p.contains(&format!("sls-alb-{name}")) && p.contains("elasticloadbalancing.amazonaws.com"),
        "{p}"
    );
    let again = deploy(&with);
    assert_eq!(mutating(&again), 0, "{:?}", again["plan"]["steps"]);

    // A new path changes the rule in place.
    let moved = deploy(&with.replace("path: /hello", "path: /hi"));
    assert_eq!(
        actions(&moved),
        ["modifyListenerRule"],
        "{:?}",
        moved["plan"]["steps"]
    );

    // Without the event, the rule and the group go, and the grant.
    deploy(SMALL);
    let (groups, rules) = read();
    assert!(
        groups.is_empty() && rules.is_empty(),
        "{groups:?} {rules:?}"
    );
    let p = rt().block_on(async { live_policy(&moto.sdk().await, "small-dev-a").await });
    assert!(!p.contains("sls-alb-"), "{p}");
    deploy(&with);
    json(&moto, dir.path(), &["remove"]);
    let (groups, rules) = read();
    assert!(
        groups.is_empty() && rules.is_empty(),
        "{groups:?} {rules:?}"
    );
}

#[test]
fn credentials_without_scheduler_rights_still_deploy_a_service_without_scheduler_schedules() {
    let moto = Moto::start();
    let proxy = common::faults::Faults::refuse(
        moto.port,
        "GET /schedule-groups/",
        "403 Forbidden",
        "AccessDeniedException",
    );
    let dir = small();
    let doc = json_via(&moto, &proxy, dir.path(), &["deploy"]);
    assert!(proxy.injected() > 0, "the group was asked for");
    assert!(mutating(&doc) > 0);
    // With a scheduler schedule, the refusal is the user's to see.
    let with = SMALL.replace(
        "    events:\n      - httpApi: 'GET /a'\n",
        "    events:\n      - schedule:\n          rate: rate(1 hour)\n          method: scheduler\n",
    );
    fs::write(dir.path().join("serverless.yml"), with).unwrap();
    let out = moto
        .sls(dir.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args(["deploy"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("GetScheduleGroup") && err.contains("AccessDenied"),
        "{err}"
    );
}

#[test]
fn a_service_of_30_rest_routes_and_20_functions_deploys_within_aws_quotas_in_one_run() {
    // The proxy enforces API Gateway's and Lambda's fixed quotas as AWS does (429 beyond
    // them); the deploy paces itself within them, says so, and is never refused.
    let moto = Moto::start();
    let proxy = common::faults::Faults::quotas(moto.port);
    let mut yaml =
        String::from("service: wide\nprovider:\n  name: aws\n  runtime: nodejs22.x\nfunctions:\n");
    let mut routes = 0;
    for f in 0..20 {
        yaml.push_str(&format!("  f{f}:\n    handler: h.main\n    events:\n"));
        for r in 0..(if f < 10 { 2 } else { 1 }) {
            yaml.push_str(&format!("      - http: GET items{f}/part{r}\n"));
            routes += 1;
        }
    }
    assert_eq!(routes, 30);
    let dir = common::service(&yaml);
    write(dir.path(), "h.js", "exports.main = async () => 'ok';\n");
    let started = std::time::Instant::now();
    let out = moto
        .sls(dir.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .arg("deploy")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let took = started.elapsed();
    assert_eq!(
        proxy.injected(),
        0,
        "requests over a quota were sent:\n{stderr}"
    );
    assert!(
        stderr.contains("waiting out API Gateway's"),
        "the wait is said:\n{stderr}"
    );
    println!(
        "30 routes, 20 functions: {} AWS calls in {took:?}, none over a quota",
        proxy.requests()
    );
    rt().block_on(async {
        let cfg = moto.sdk().await;
        let v1 = aws_sdk_apigateway::Client::new(&cfg);
        let apis = v1.get_rest_apis().send().await.unwrap();
        let id = apis.items()[0].id().unwrap();
        let resources = v1
            .get_resources()
            .rest_api_id(id)
            .limit(500)
            .send()
            .await
            .unwrap();
        let methods = resources
            .items()
            .iter()
            .filter(|r| r.resource_methods().is_some_and(|m| m.contains_key("GET")))
            .count();
        assert_eq!(methods, 30);
    });
    // Quotas are the account's, and a new process cannot know what the last one used: its
    // buckets start full. Once AWS's have refilled (CreateDeployment's takes 5 s), a no-op
    // redeploy stays within them too.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let again = json_via(&moto, &proxy, dir.path(), &["deploy"]);
    assert_eq!(mutating(&again), 0);
    assert_eq!(proxy.injected(), 0);
}

#[test]
fn the_example_converges_in_one_run_under_20_percent_throttling_and_5xx() {
    let moto = Moto::start();
    let faults = common::faults::Faults::start(moto.port, 5);
    let dir = example();
    let doc = json_via(&moto, &faults, dir.path(), &["deploy"]);
    let injected = faults.injected();
    assert!(injected >= 10, "only {injected} faults injected");
    assert!(!actions(&doc).is_empty());
    assert_eq!(mutating(&json(&moto, dir.path(), &["deploy"])), 0);
    println!(
        "{injected} faults in {} requests, converged in one run",
        doc["awsCalls"]["total"]
    );
}

#[test]
fn layers_of_the_config_are_published_once_followed_by_their_functions_and_removed() {
    let moto = Moto::start();
    let dir = small();
    write(
        dir.path(),
        "layer/nodejs/node_modules/shared/index.js",
        "exports.greet = () => 'hi';\n",
    );
    write(dir.path(), "tools/bin/tool", "#!/bin/sh\necho tool\n");
    let yaml = format!(
        "{}layers:
  common:
    path: layer
    description: shared code
    compatibleRuntimes: [nodejs22.x]
    compatibleArchitectures: [x86_64]
    licenseInfo: MIT
    allowedAccounts: ['111122223333']
  tools:
    path: tools
    name: small-dev-tools
    retain: true
",
        SMALL
            .replace(
                "  runtime: nodejs22.x\n",
                "  runtime: nodejs22.x\n  layers:\n    - Ref: ToolsLambdaLayer\n",
            )
            .replace(
                "  a:\n    handler: a.main\n",
                "  a:\n    handler: a.main\n    layers:\n      - !Ref CommonLambdaLayer\n",
            )
    );
    fs::write(dir.path().join("serverless.yml"), &yaml).unwrap();
    let dry = moto
        .sls(dir.path())
        .args(["deploy", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let dry = String::from_utf8(dry).unwrap();
    assert!(dry.contains("+ layer common: first version"), "{dry}");
    assert!(
        dry.contains("+ layer common the new version: usable by 111122223333"),
        "{dry}"
    );
    let first = json(&moto, dir.path(), &["deploy"]);
    let acts = actions(&first);
    assert_eq!(
        acts.iter().filter(|a| *a == "publishLayerVersion").count(),
        2,
        "{acts:?}"
    );
    rt().block_on(async {
        let common = layer_arns(&moto, "common").await;
        assert_eq!(common.len(), 1);
        assert!(common[0].ends_with(":layer:common:1"), "{common:?}");
        assert_eq!(layers_used(&moto, "small-dev-a").await, common);
        let tools = layer_arns(&moto, "small-dev-tools").await;
        assert_eq!(layers_used(&moto, "small-dev-b").await, tools);
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        let v = lambda
            .get_layer_version()
            .layer_name("common")
            .version_number(1)
            .send()
            .await
            .unwrap();
        assert_eq!(v.description(), Some("shared code"));
        assert_eq!(v.license_info(), Some("MIT"));
        // The zip Lambda holds is the one in the artifacts' directory.
        let zip = fs::File::open(dir.path().join(".serverless/layer-common.zip")).unwrap();
        let mut z = zip::ZipArchive::new(zip).unwrap();
        let names: Vec<String> = (0..z.len())
            .map(|i| z.by_index(i).unwrap().name().unwrap().to_string())
            .collect();
        assert_eq!(names, ["nodejs/node_modules/shared/index.js"]);
        let policy = lambda
            .get_layer_version_policy()
            .layer_name("common")
            .version_number(1)
            .send()
            .await
            .unwrap();
        assert!(
            policy.policy().unwrap().contains("sls-111122223333"),
            "{policy:?}"
        );
        let ssm = aws_sdk_ssm::Client::new(&moto.sdk().await);
        let record = ssm
            .get_parameter()
            .name("/sls/small/dev/layers/common")
            .send()
            .await
            .unwrap();
        assert!(
            record
                .parameter()
                .unwrap()
                .value()
                .unwrap()
                .contains("\"current\":1"),
            "{record:?}"
        );
    });
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&again), Vec::<String>::new());
    assert_eq!(mutating(&again), 0, "{:#}", again["awsCalls"]);

    // New content: a new version, the function moved to it, the old version deleted.
    write(
        dir.path(),
        "layer/nodejs/node_modules/shared/index.js",
        "exports.greet = () => 'hello';\n",
    );
    let changed = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(
        actions(&changed),
        [
            "publishLayerVersion",
            "grantLayerVersion",
            "updateFunctionConfiguration",
            "publishVersion",
            "deleteLayerVersion"
        ]
    );
    rt().block_on(async {
        let common = layer_arns(&moto, "common").await;
        assert_eq!(common.len(), 1);
        assert!(common[0].ends_with(":layer:common:2"), "{common:?}");
        assert_eq!(layers_used(&moto, "small-dev-a").await, common);
    });
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(mutating(&again), 0, "{:#}", again["awsCalls"]);

    // A removal deletes our versions, but leaves the retained layer's.
    moto.sls(dir.path()).arg("remove").assert().success();
    rt().block_on(async {
        assert_eq!(layer_arns(&moto, "common").await, Vec::<String>::new());
        assert_eq!(layer_arns(&moto, "small-dev-tools").await.len(), 1);
        let ssm = aws_sdk_ssm::Client::new(&moto.sdk().await);
        let left = ssm
            .get_parameters_by_path()
            .path("/sls/small/dev/layers/")
            .send()
            .await
            .unwrap();
        assert!(left.parameters().is_empty(), "{left:?}");
    });
}

/// The version ARNs of a layer name, sorted.
async fn layer_arns(moto: &Moto, layer: &str) -> Vec<String> {
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
    let listed = lambda
        .list_layer_versions()
        .layer_name(layer)
        .send()
        .await
        .unwrap();
    let mut v: Vec<String> = listed
        .layer_versions()
        .iter()
        .filter_map(|v| v.layer_version_arn().map(str::to_string))
        .collect();
    v.sort();
    v
}

/// The layers a function's live alias runs with.
async fn layers_used(moto: &Moto, function: &str) -> Vec<String> {
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
    let c = lambda
        .get_function_configuration()
        .function_name(function)
        .qualifier("live")
        .send()
        .await
        .unwrap();
    c.layers()
        .iter()
        .filter_map(|l| l.arn().map(str::to_string))
        .collect()
}

/// A certificate for `*.example.com` issued in `region`, and the hosted zone `example.com`.
async fn domain_fixtures(moto: &Moto, region: &str) -> String {
    let cfg = moto.sdk().await;
    let acm = aws_sdk_acm::Client::from_conf(
        aws_sdk_acm::config::Builder::from(&cfg)
            .region(aws_sdk_acm::config::Region::new(region.to_string()))
            .build(),
    );
    let arn = acm
        .request_certificate()
        .domain_name("*.example.com")
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_string();
    aws_sdk_route53::Client::new(&cfg)
        .create_hosted_zone()
        .name("example.com")
        .caller_reference("sls-test")
        .send()
        .await
        .unwrap();
    arn
}

/// The alias records at `name` in the only hosted zone: (type, target).
async fn alias_records(moto: &Moto, name: &str) -> Vec<(String, String)> {
    let r53 = aws_sdk_route53::Client::new(&moto.sdk().await);
    let zone = r53.list_hosted_zones().send().await.unwrap().hosted_zones()[0]
        .id()
        .to_string();
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    let mut out: Vec<(String, String)> = sets
        .resource_record_sets()
        .iter()
        .filter(|r| r.name().trim_end_matches('.') == name)
        .filter_map(|r| {
            let a = r.alias_target()?;
            Some((
                r.r#type().as_str().to_string(),
                a.dns_name().trim_end_matches('.').to_string(),
            ))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn an_http_api_custom_domain_is_made_mapped_moved_and_removed_with_the_service() {
    let moto = Moto::start();
    let certificate = rt().block_on(domain_fixtures(&moto, "us-east-1"));
    let dir = small();
    // moto's v2 domains have no target name to alias records to (AWS's always have one): the
    // records are tested with the REST domain below.
    let yaml = format!(
        "{SMALL}plugins:\n  - serverless-domain-manager\ncustom:\n  customDomain:\n    domainName: api.example.com\n    basePath: v1\n    apiType: http\n    endpointType: regional\n    createRoute53Record: false\n"
    );
    fs::write(dir.path().join("serverless.yml"), &yaml).unwrap();
    let first = json(&moto, dir.path(), &["deploy"]);
    let acts = actions(&first);
    assert!(acts.contains(&"createDomainName".to_string()), "{acts:?}");
    assert!(acts.contains(&"createApiMapping".to_string()), "{acts:?}");
    let api_id = rt().block_on(async {
        let gw = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await);
        let d = gw
            .get_domain_name()
            .domain_name("api.example.com")
            .send()
            .await
            .unwrap();
        let c = &d.domain_name_configurations()[0];
        assert_eq!(c.certificate_arn(), Some(certificate.as_str()));
        assert_eq!(
            d.tags().unwrap().get("sls:service").map(String::as_str),
            Some("small")
        );
        let m = gw
            .get_api_mappings()
            .domain_name("api.example.com")
            .send()
            .await
            .unwrap();
        let m = &m.items()[0];
        assert_eq!(m.api_mapping_key(), Some("v1"));
        assert_eq!(m.stage(), Some("$default"));
        m.api_id().unwrap().to_string()
    });
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&again), Vec::<String>::new());
    assert_eq!(mutating(&again), 0, "{:#}", again["awsCalls"]);

    // The root instead of `v1`.
    fs::write(
        dir.path().join("serverless.yml"),
        yaml.replace("    basePath: v1\n", "    basePath: (none)\n"),
    )
    .unwrap();
    let moved = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(
        actions(&moved),
        ["createApiMapping", "deleteApiMapping"],
        "{:#}",
        moved["plan"]
    );
    rt().block_on(async {
        let gw = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await);
        let m = gw
            .get_api_mappings()
            .domain_name("api.example.com")
            .send()
            .await
            .unwrap();
        let keys: Vec<(Option<&str>, Option<&str>)> = m
            .items()
            .iter()
            .map(|m| (m.api_mapping_key(), m.api_id()))
            .collect();
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert!(
            keys.iter()
                .all(|(k, id)| k.unwrap_or_default().is_empty() && *id == Some(api_id.as_str())),
            "{keys:?}"
        );
    });

    // Taken out of the config: found by its record, and deleted with it.
    let record = |moto: &Moto| {
        rt().block_on(async {
            aws_sdk_ssm::Client::new(&moto.sdk().await)
                .get_parameter()
                .name("/sls/small/dev/domains/api.example.com")
                .send()
                .await
                .is_ok()
        })
    };
    assert!(record(&moto));
    fs::write(dir.path().join("serverless.yml"), SMALL).unwrap();
    let dropped = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(
        actions(&dropped),
        ["deleteApiMapping", "deleteDomainName"],
        "{:#}",
        dropped["plan"]
    );
    assert!(!record(&moto));
    rt().block_on(async {
        let gw = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await);
        assert!(
            gw.get_domain_name()
                .domain_name("api.example.com")
                .send()
                .await
                .is_err()
        );
    });
    moto.sls(dir.path()).arg("remove").assert().success();
}
#[test]
fn a_rest_custom_domain_gets_records_and_someone_elses_domain_is_only_mapped() {
    let moto = Moto::start();
    rt().block_on(domain_fixtures(&moto, "us-east-1"));
    let dir = small();
    let yaml = SMALL
        .replace("httpApi: 'GET /a'", "http: GET a")
        .replace("httpApi: 'GET /b'", "http: GET b");
    // No certificate for another domain: said before anything is made.
    fs::write(
        dir.path().join("serverless.yml"),
        format!("{yaml}custom:\n  customDomain:\n    domainName: api.other.org\n"),
    )
    .unwrap();
    let err = common::stderr_of(moto.sls(dir.path()).arg("deploy"), 5);
    assert!(
        err.contains("no issued ACM certificate in us-east-1 for api.other.org"),
        "{err}"
    );
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        assert!(
            lambda
                .list_functions()
                .send()
                .await
                .unwrap()
                .functions()
                .is_empty()
        );
    });
    // An edge-optimized domain for the REST API, with the wildcard certificate, and its records.
    let with = format!(
        "{yaml}custom:\n  customDomain:\n    domainName: rest.example.com\n    basePath: api\n"
    );
    fs::write(dir.path().join("serverless.yml"), &with).unwrap();
    let first = json(&moto, dir.path(), &["deploy"]);
    let acts = actions(&first);
    for a in ["createDomainName", "createApiMapping", "upsertAliasRecords"] {
        assert!(acts.contains(&a.to_string()), "{acts:?}");
    }
    let target = rt().block_on(async {
        let gw = aws_sdk_apigateway::Client::new(&moto.sdk().await);
        let m = gw
            .get_base_path_mappings()
            .domain_name("rest.example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(m.items()[0].base_path(), Some("api"));
        assert_eq!(m.items()[0].stage(), Some("dev"));
        let d = gw
            .get_domain_name()
            .domain_name("rest.example.com")
            .send()
            .await
            .unwrap();
        d.distribution_domain_name().unwrap().to_string()
    });
    assert_eq!(
        rt().block_on(alias_records(&moto, "rest.example.com")),
        [
            ("A".to_string(), target.clone()),
            ("AAAA".to_string(), target.clone())
        ]
    );
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(mutating(&again), 0, "{:#}", again["awsCalls"]);
    // No IPv6 record any more: ours goes.
    fs::write(
        dir.path().join("serverless.yml"),
        format!("{with}    createRoute53IPv6Record: false\n"),
    )
    .unwrap();
    let less = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(actions(&less), ["deleteAliasRecords"]);
    assert_eq!(
        rt().block_on(alias_records(&moto, "rest.example.com")),
        [("A".to_string(), target.clone())]
    );
    moto.sls(dir.path()).arg("remove").assert().success();
    assert_eq!(rt().block_on(alias_records(&moto, "rest.example.com")), []);
    rt().block_on(async {
        let gw = aws_sdk_apigateway::Client::new(&moto.sdk().await);
        assert!(
            gw.get_domain_name()
                .domain_name("rest.example.com")
                .send()
                .await
                .is_err()
        );
    });

    // A domain the plugin made (no tags of ours) with another API mapped: ours is added beside
    // it, nothing else changes, and a removal takes only ours away.
    rt().block_on(async {
        let gw = aws_sdk_apigateway::Client::new(&moto.sdk().await);
        gw.create_domain_name()
            .domain_name("theirs.example.com")
            .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/theirs")
            .send()
            .await
            .unwrap();
        let other = gw.create_rest_api().name("other").send().await.unwrap();
        let root = gw
            .get_resources()
            .rest_api_id(other.id().unwrap())
            .send()
            .await
            .unwrap();
        let root = root.items()[0].id().unwrap().to_string();
        gw.put_method()
            .rest_api_id(other.id().unwrap())
            .resource_id(&root)
            .http_method("GET")
            .authorization_type("NONE")
            .send()
            .await
            .unwrap();
        gw.put_integration()
            .rest_api_id(other.id().unwrap())
            .resource_id(&root)
            .http_method("GET")
            .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
            .send()
            .await
            .unwrap();
        gw.create_deployment()
            .rest_api_id(other.id().unwrap())
            .stage_name("prod")
            .send()
            .await
            .unwrap();
        gw.create_base_path_mapping()
            .domain_name("theirs.example.com")
            .rest_api_id(other.id().unwrap())
            .stage("prod")
            .base_path("other")
            .send()
            .await
            .unwrap();
    });
    fs::write(
        dir.path().join("serverless.yml"),
        format!("{yaml}custom:\n  customDomain:\n    domainName: theirs.example.com\n"),
    )
    .unwrap();
    let mapped = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(
        actions(&mapped)
            .iter()
            .filter(|a| a.contains("Domain") || a.contains("Mapping") || a.contains("Records"))
            .collect::<Vec<_>>(),
        ["createApiMapping"]
    );
    moto.sls(dir.path()).arg("remove").assert().success();
    rt().block_on(async {
        let gw = aws_sdk_apigateway::Client::new(&moto.sdk().await);
        gw.get_domain_name()
            .domain_name("theirs.example.com")
            .send()
            .await
            .unwrap();
        let m = gw
            .get_base_path_mappings()
            .domain_name("theirs.example.com")
            .send()
            .await
            .unwrap();
        let paths: Vec<Option<&str>> = m.items().iter().map(|m| m.base_path()).collect();
        assert_eq!(paths, [Some("other")]);
    });
}

#[test]
fn a_python_module_deploys_as_its_own_package() {
    let moto = Moto::start();
    let dir = common::service(
        "service: mods
provider:
  name: aws
  runtime: python3.12
package:
  individually: true
functions:
  api:
    handler: app.main
    module: api
",
    );
    write(
        dir.path(),
        "api/app.py",
        "def main(event, context):\n    return 'api'\n",
    );
    write(
        dir.path(),
        "other/app.py",
        "def main(event, context):\n    return 'other'\n",
    );
    let first = json(&moto, dir.path(), &["deploy"]);
    assert!(actions(&first).contains(&"createFunction".to_string()));
    let manifest: Value = serde_json::from_str(
        &fs::read_to_string(dir.path().join(".serverless/sls-manifest.json")).unwrap(),
    )
    .unwrap();
    let sha = manifest["artifacts"]["api.zip"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        let c = lambda
            .get_function_configuration()
            .function_name("mods-dev-api")
            .send()
            .await
            .unwrap();
        assert_eq!(c.handler(), Some("app.main"));
        assert_eq!(c.code_sha256(), Some(sha.as_str()));
    });
    let zip = fs::File::open(dir.path().join(".serverless/api.zip")).unwrap();
    let mut z = zip::ZipArchive::new(zip).unwrap();
    let names: Vec<String> = (0..z.len())
        .map(|i| z.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["app.py"]);
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(mutating(&again), 0, "{:#}", again["awsCalls"]);
}

#[test]
fn a_websocket_custom_domain_maps_the_websocket_stage() {
    let moto = Moto::start();
    rt().block_on(domain_fixtures(&moto, "us-east-1"));
    let dir = common::service(
        "service: ws
provider:
  name: aws
  runtime: nodejs22.x
functions:
  connect:
    handler: h.main
    events:
      - websocket: $connect
custom:
  customDomain:
    domainName: ws.example.com
    apiType: websocket
    endpointType: REGIONAL
    createRoute53Record: false
",
    );
    write(
        dir.path(),
        "h.js",
        "exports.main = async () => ({ statusCode: 200 });\n",
    );
    json(&moto, dir.path(), &["deploy"]);
    rt().block_on(async {
        let gw = aws_sdk_apigatewayv2::Client::new(&moto.sdk().await);
        let apis = gw.get_apis().send().await.unwrap();
        let ws = apis
            .items()
            .iter()
            .find(|a| a.protocol_type().map(|p| p.as_str()) == Some("WEBSOCKET"))
            .unwrap();
        let m = gw
            .get_api_mappings()
            .domain_name("ws.example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(m.items().len(), 1);
        assert_eq!(m.items()[0].api_id(), ws.api_id());
        assert_eq!(m.items()[0].stage(), Some("dev"));
    });
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(mutating(&again), 0, "{:#}", again["awsCalls"]);
    moto.sls(dir.path()).arg("remove").assert().success();
}
