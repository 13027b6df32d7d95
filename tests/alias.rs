//! `sls alias …` against moto: what a release script reads before it moves traffic.

mod common;

use common::moto::Moto;
use serde_json::Value;

const SMALL: &str = "service: small
provider:
  name: aws
  runtime: nodejs22.x
functions:
  a:
    handler: a.main
  b:
    handler: b.main
";

#[test]
fn list_shows_each_alias_its_version_weights_digest_and_time() {
    let moto = Moto::start();
    let dir = common::service(SMALL);
    std::fs::write(dir.path().join("a.js"), "exports.main = async () => 1;\n").unwrap();
    std::fs::write(dir.path().join("b.js"), "exports.main = async () => 2;\n").unwrap();
    let sls = |args: &[&str]| {
        let mut c = moto.sls(dir.path());
        c.args(args);
        c
    };
    sls(&["deploy"]).assert().success();
    // A release in progress: version 2 behind `next`, and `live` sending it 40%.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
            lambda
                .update_function_configuration()
                .function_name("small-dev-a")
                .description("v2")
                .send()
                .await
                .unwrap();
            let v = lambda
                .publish_version()
                .function_name("small-dev-a")
                .send()
                .await
                .unwrap();
            assert_eq!(v.version(), Some("2"));
            lambda
                .create_alias()
                .function_name("small-dev-a")
                .name("next")
                .function_version("2")
                .send()
                .await
                .unwrap();
            lambda
                .update_alias()
                .function_name("small-dev-a")
                .name("live")
                .routing_config(
                    aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
                        .additional_version_weights("2", 0.4)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        });

    let doc = common::json_of(&mut sls(&["alias", "list", "--json"]));
    let a = &doc["functions"][0];
    assert_eq!(a["function"], "a");
    let aliases = a["aliases"].as_array().unwrap();
    assert_eq!(aliases.len(), 2);
    assert_eq!(aliases[0]["alias"], "live");
    assert_eq!(aliases[0]["version"], "1");
    assert_eq!(aliases[0]["weights"]["2"], 0.4);
    assert_eq!(aliases[1]["alias"], "next");
    assert_eq!(aliases[1]["version"], "2");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(".serverless/sls-manifest.json")).unwrap(),
    )
    .unwrap();
    let sha = manifest["artifacts"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["sha256"]
        .clone();
    assert_eq!(aliases[0]["codeSha256"], sha);
    assert!(aliases[0]["deployedAt"].as_str().unwrap().starts_with("20"));
    assert!(aliases[0]["revisionId"].is_string());
    assert_eq!(doc["functions"][1]["aliases"][0]["alias"], "live");

    let text = common::stdout(&mut sls(&["alias", "list", "-f", "a"]));
    assert!(
        text.contains("live → version 1 60%, version 2 40%"),
        "{text}"
    );
    assert!(!text.contains("b (small-dev-b)"), "{text}");
    sls(&["alias", "list", "-f", "nope"]).assert().code(2);
}
