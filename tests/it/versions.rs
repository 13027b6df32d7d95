//! `provider.versionFunctions: false`, deployed as Serverless v3 deploys it: no version is
//! published, and every trigger, grant and URL names the unqualified function ($LATEST).

use crate::common;

use common::actions;
use common::moto::Moto;
use serde_json::Value;

fn service(queue: &str) -> tempfile::TempDir {
    let dir = common::service(&format!(
        "service: flat
provider:
  name: aws
  runtime: nodejs22.x
  versionFunctions: false
functions:
  api:
    handler: a.main
    url: true
    events:
      - httpApi: 'GET /a'
      - http:
          method: get
          path: a
      - schedule: rate(1 hour)
      - sqs: {queue}
"
    ));
    std::fs::write(dir.path().join("a.js"), "exports.main = async () => 'a';\n").unwrap();
    dir
}

fn deploy(moto: &Moto, dir: &std::path::Path) -> Value {
    common::json_of(moto.sls(dir).args(["deploy", "--json"]))
}

#[test]
fn an_unversioned_service_deploys_on_latest_and_redeploys_with_no_change() {
    let moto = Moto::start();
    let queue = moto.create_queue("jobs");
    let dir = service(&queue);
    let first = deploy(&moto, dir.path());
    let acts = actions(&first);
    assert!(!acts.contains(&"publishVersion".to_string()), "{acts:?}");
    let fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:flat-dev-api";

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cfg = moto.sdk().await;
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        let versions = lambda
            .list_versions_by_function()
            .function_name("flat-dev-api")
            .send()
            .await
            .unwrap();
        let versions: Vec<&str> = versions
            .versions()
            .iter()
            .filter_map(|v| v.version())
            .collect();
        assert_eq!(versions, ["$LATEST"], "nothing published");
        let aliases = lambda
            .list_aliases()
            .function_name("flat-dev-api")
            .send()
            .await
            .unwrap();
        assert!(aliases.aliases().is_empty());
        // The grants are on the function itself.
        let policy = lambda
            .get_policy()
            .function_name("flat-dev-api")
            .send()
            .await
            .unwrap();
        let policy = policy.policy().unwrap_or_default();
        for principal in [
            "apigateway.amazonaws.com",
            "events.amazonaws.com",
            "lambda:InvokeFunctionUrl",
        ] {
            assert!(policy.contains(principal), "{principal}: {policy}");
        }
        let url = lambda
            .get_function_url_config()
            .function_name("flat-dev-api")
            .send()
            .await
            .unwrap();
        assert_eq!(url.function_arn(), fn_arn);
        let mappings = lambda
            .list_event_source_mappings()
            .function_name(fn_arn)
            .send()
            .await
            .unwrap();
        let targets: Vec<&str> = mappings
            .event_source_mappings()
            .iter()
            .filter_map(|m| m.function_arn())
            .collect();
        assert_eq!(targets, [fn_arn]);
        let events = aws_sdk_eventbridge::Client::new(&cfg);
        let t = events
            .list_targets_by_rule()
            .rule("flat-dev-api-schedule-1")
            .send()
            .await
            .unwrap();
        assert_eq!(t.targets()[0].arn(), fn_arn);
        let v2 = aws_sdk_apigatewayv2::Client::new(&cfg);
        let api = v2.get_apis().send().await.unwrap();
        let id = api.items()[0].api_id().unwrap().to_string();
        let integrations = v2.get_integrations().api_id(&id).send().await.unwrap();
        assert_eq!(integrations.items()[0].integration_uri(), Some(fn_arn));
    });

    let again = deploy(&moto, dir.path());
    assert_eq!(actions(&again), Vec::<String>::new());
    assert_eq!(again["awsCalls"]["mutating"], 0, "{:#}", again["awsCalls"]);

    // New code is deployed where it runs: no version to publish.
    std::fs::write(dir.path().join("a.js"), "exports.main = async () => 'b';\n").unwrap();
    let change = deploy(&moto, dir.path());
    assert_eq!(actions(&change), ["updateFunctionCode"]);
    println!(
        "unversioned: first deploy {} calls ({} changing); no-op {} calls; code change {} calls ({} changing)",
        first["awsCalls"]["total"],
        first["awsCalls"]["mutating"],
        again["awsCalls"]["total"],
        change["awsCalls"]["total"],
        change["awsCalls"]["mutating"]
    );

    // Aliases need published versions: said where they are asked for.
    for args in [
        &["deploy", "--alias", "next"][..],
        &["alias", "promote", "--from", "next"][..],
    ] {
        let out = moto.sls(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("`provider.versionFunctions: false`"),
            "{args:?}: {err}"
        );
    }
    // And it goes as it came.
    moto.sls(dir.path()).arg("remove").assert().success();
    rt.block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        let left = lambda.list_functions().send().await.unwrap();
        assert!(left.functions().is_empty());
    });
}

#[test]
fn provisioned_concurrency_without_versions_is_refused_before_any_call() {
    let dir = common::service(
        "service: flat
provider:
  name: aws
  runtime: nodejs22.x
  versionFunctions: false
functions:
  api:
    handler: a.main
    provisionedConcurrency: 2
",
    );
    std::fs::write(dir.path().join("a.js"), "exports.main = async () => 'a';\n").unwrap();
    let out = common::sls_in(dir.path())
        .args(["deploy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("serverless.yml:9:5"), "{err}");
    assert!(
        err.contains("provisionedConcurrency needs published versions"),
        "{err}"
    );
    // Reading it is fine.
    common::sls_in(dir.path()).arg("print").assert().success();
}

/// The mappings of `queue`, as (function ARN) they invoke.
async fn mapped(cfg: &aws_config::SdkConfig, queue: &str) -> Vec<String> {
    let lambda = aws_sdk_lambda::Client::new(cfg);
    let all = lambda
        .list_event_source_mappings()
        .event_source_arn(queue)
        .send()
        .await
        .unwrap();
    all.event_source_mappings()
        .iter()
        .filter_map(|m| m.function_arn().map(str::to_string))
        .collect()
}

/// One mapping, on the live alias. AWS names the alias in its `FunctionArn`; moto names the
/// version the alias points at.
fn on_the_alias(arns: &[String], fn_arn: &str) {
    let [arn] = arns else {
        panic!("one mapping expected: {arns:?}")
    };
    let qualifier = arn.strip_prefix(&format!("{fn_arn}:")).unwrap_or_default();
    assert!(
        qualifier == "live"
            || qualifier.chars().all(|c| c.is_ascii_digit()) && !qualifier.is_empty(),
        "{arn}"
    );
}

#[test]
fn turning_versioning_off_and_on_moves_the_triggers_and_leaves_no_mapping_behind() {
    let moto = Moto::start();
    let queue = moto.create_queue("jobs");
    let dir = service(&queue);
    let yaml = std::fs::read_to_string(dir.path().join("serverless.yml")).unwrap();
    let versioned = yaml.replace("  versionFunctions: false\n", "");
    let fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:flat-dev-api";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    std::fs::write(dir.path().join("serverless.yml"), &versioned).unwrap();
    deploy(&moto, dir.path());
    let cfg = rt.block_on(moto.sdk());
    on_the_alias(&rt.block_on(mapped(&cfg, &queue)), fn_arn);

    std::fs::write(dir.path().join("serverless.yml"), &yaml).unwrap();
    let off = deploy(&moto, dir.path());
    let acts = actions(&off);
    assert!(
        acts.contains(&"deleteEventSourceMapping".to_string()),
        "{acts:?}"
    );
    assert_eq!(rt.block_on(mapped(&cfg, &queue)), [fn_arn.to_string()]);
    let again = deploy(&moto, dir.path());
    assert_eq!(actions(&again), Vec::<String>::new());

    std::fs::write(dir.path().join("serverless.yml"), &versioned).unwrap();
    // The alias left from before still points at a version with this code: nothing to publish,
    // the triggers move back to it.
    let on = deploy(&moto, dir.path());
    assert!(
        actions(&on).contains(&"deleteEventSourceMapping".to_string()),
        "{:?}",
        actions(&on)
    );
    on_the_alias(&rt.block_on(mapped(&cfg, &queue)), fn_arn);
    let again = deploy(&moto, dir.path());
    assert_eq!(actions(&again), Vec::<String>::new());
}
