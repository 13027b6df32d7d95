//! `sls alias …` against moto: what a release script reads before it moves traffic.

use crate::common;

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

/// What an alias holds, read through the SDK: (version, weights, description).
type Held = (String, Vec<(String, f64)>, String);

struct Check {
    rt: tokio::runtime::Runtime,
    lambda: aws_sdk_lambda::Client,
}

impl Check {
    fn new(moto: &Moto) -> Check {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let lambda = aws_sdk_lambda::Client::new(&rt.block_on(moto.sdk()));
        Check { rt, lambda }
    }

    fn alias(&self, function: &str, alias: &str) -> Held {
        let a = self
            .rt
            .block_on(
                self.lambda
                    .get_alias()
                    .function_name(function)
                    .name(alias)
                    .send(),
            )
            .unwrap();
        let mut weights: Vec<(String, f64)> = a
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        weights.sort_by(|x, y| x.0.cmp(&y.0));
        (
            a.function_version().unwrap().to_string(),
            weights,
            a.description().unwrap_or_default().to_string(),
        )
    }

    fn version(&self, function: &str, alias: &str) -> String {
        self.alias(function, alias).0
    }

    fn versions(&self, function: &str) -> Vec<String> {
        let v = self
            .rt
            .block_on(
                self.lambda
                    .list_versions_by_function()
                    .function_name(function)
                    .send(),
            )
            .unwrap();
        v.versions()
            .iter()
            .filter_map(|v| v.version().map(str::to_string))
            .filter(|v| v != "$LATEST")
            .collect()
    }

    fn url(&self, function: &str, alias: &str) -> Option<String> {
        self.rt
            .block_on(
                self.lambda
                    .get_function_url_config()
                    .function_name(function)
                    .qualifier(alias)
                    .send(),
            )
            .ok()
            .map(|u| u.function_url().to_string())
    }
}

fn write_code(dir: &std::path::Path, generation: u32) {
    for f in ["a", "b"] {
        std::fs::write(
            dir.join(format!("{f}.js")),
            format!("exports.main = async () => '{f}{generation}';\n"),
        )
        .unwrap();
    }
}

fn both(check: &Check) -> (String, String) {
    (
        check.version("small-dev-a", "live"),
        check.version("small-dev-b", "live"),
    )
}

#[test]
fn a_release_moves_traffic_through_next_and_back_and_prunes_old_versions() {
    let moto = Moto::start();
    let dir = common::service(SMALL);
    let sls = |args: &[&str]| {
        let mut c = moto.sls(dir.path());
        c.args(args);
        c
    };
    let check = Check::new(&moto);
    let v = |s: &str| s.to_string();

    write_code(dir.path(), 1);
    sls(&["deploy"]).assert().success();
    assert_eq!(both(&check), (v("1"), v("1")));

    // A new build behind `next`: live keeps serving version 1; next has a URL to test it by.
    write_code(dir.path(), 2);
    let doc = common::json_of(&mut sls(&["deploy", "--alias", "next", "--json"]));
    assert_eq!(doc["functions"]["a"]["alias"], "next");
    assert_eq!(doc["functions"]["a"]["version"], "2");
    assert!(doc["endpoints"].as_array().unwrap().is_empty());
    let url = check
        .url("small-dev-a", "next")
        .expect("next has a function URL");
    assert_eq!(doc["functions"]["a"]["url"], url.as_str());
    assert_eq!(both(&check), (v("1"), v("1")));
    assert_eq!(check.version("small-dev-b", "next"), "2");
    // Re-deploying the same build to next changes nothing.
    let doc = common::json_of(&mut sls(&["deploy", "--alias", "next", "--json"]));
    assert!(doc["plan"]["steps"].as_array().unwrap().is_empty(), "{doc}");
    assert_eq!(doc["functions"]["a"]["url"], url.as_str());

    // Promote: every function's live alias onto next's version, the old one remembered.
    let doc = common::json_of(&mut sls(&[
        "alias", "promote", "--from", "next", "--to", "live", "--json",
    ]));
    assert_eq!(doc["outcome"], "changed");
    assert_eq!(doc["functions"][0]["before"]["version"], "1");
    assert_eq!(doc["functions"][0]["after"]["version"], "2");
    assert_eq!(both(&check), (v("2"), v("2")));
    assert_eq!(
        check.alias("small-dev-a", "live").2,
        "sls previous versions: 1"
    );
    // Re-running a finished promote is a no-op with exit 0.
    let doc = common::json_of(&mut sls(&["alias", "promote", "--from", "next", "--json"]));
    assert_eq!(doc["outcome"], "unchanged");
    assert_eq!(doc["functions"][0]["changed"], false);

    // 60/40: live keeps version 2 and sends 40% to next's version 3.
    write_code(dir.path(), 3);
    sls(&["deploy", "--alias", "next"]).assert().success();
    let text = common::stdout(&mut sls(&[
        "alias", "shift", "live", "--weight", "40", "--from", "next",
    ]));
    assert!(
        text.contains("a: live version 2 → version 2 60%, version 3 40%"),
        "{text}"
    );
    assert_eq!(check.alias("small-dev-a", "live").1, vec![(v("3"), 0.4)]);
    assert_eq!(check.alias("small-dev-b", "live").1, vec![(v("3"), 0.4)]);
    let doc = common::json_of(&mut sls(&[
        "alias", "shift", "live", "--weight", "40", "--from", "next", "--json",
    ]));
    assert_eq!(doc["outcome"], "unchanged");
    // Rolling back a split clears it; version 2 keeps all the traffic.
    sls(&["alias", "rollback", "live"]).assert().success();
    assert_eq!(check.alias("small-dev-a", "live").0, "2");
    assert!(check.alias("small-dev-a", "live").1.is_empty());

    // A gradual promote whose check fails at 50%: back to version 2 only, exit 7.
    let gradual = |check: &str, code: i32| {
        common::json_of_exit(
            &mut sls(&[
                "alias",
                "promote",
                "--from",
                "next",
                "--steps",
                "10,50,100",
                "--interval",
                "10ms",
                "--check",
                check,
                "--json",
            ]),
            code,
        )
    };
    let (doc, stderr) = gradual("test \"$SLS_WEIGHT\" -lt 50", 7);
    assert_eq!(doc["outcome"], "rolledBack");
    assert_eq!(doc["steps"][0]["weight"], 10);
    assert_eq!(doc["steps"][0]["check"], "passed");
    assert_eq!(doc["steps"][1]["weight"], 50);
    assert_eq!(doc["steps"][1]["check"], "failed");
    assert_eq!(doc["steps"].as_array().unwrap().len(), 2);
    assert!(stderr.contains("rolled back"));
    for f in ["small-dev-a", "small-dev-b"] {
        let (version, weights, history) = check.alias(f, "live");
        assert_eq!((version.as_str(), weights.len()), ("2", 0));
        assert_eq!(history, "sls previous versions: 1");
    }

    // A passing one walks every step and lands on version 3.
    let (doc, _) = gradual("true", 0);
    assert_eq!(doc["outcome"], "changed");
    assert_eq!(doc["steps"].as_array().unwrap().len(), 3);
    assert_eq!(both(&check), (v("3"), v("3")));
    assert_eq!(
        check.alias("small-dev-b", "live").2,
        "sls previous versions: 2 1"
    );
    let (doc, _) = gradual("false", 0);
    assert_eq!(
        doc["outcome"], "unchanged",
        "a finished promote does not walk again"
    );

    // Rollback with no local state: the history lives in the alias.
    let doc = common::json_of(&mut sls(&["alias", "rollback", "live", "--json"]));
    assert_eq!(doc["outcome"], "changed");
    assert_eq!(both(&check), (v("2"), v("2")));
    assert_eq!(
        check.alias("small-dev-a", "live").2,
        "sls previous versions: 1"
    );
    sls(&["alias", "rollback", "live", "-f", "a"])
        .assert()
        .success();
    assert_eq!(check.version("small-dev-a", "live"), "1");
    let out = sls(&["alias", "rollback", "live", "-f", "a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to roll back to"));

    // Pruning: keep one version no alias points at.
    std::fs::write(
        dir.path().join("serverless.yml"),
        SMALL.replace(
            "runtime: nodejs22.x",
            "runtime: nodejs22.x\n  versionRetention: 1",
        ),
    )
    .unwrap();
    write_code(dir.path(), 4);
    let text = common::stdout(&mut sls(&["deploy"]));
    assert!(text.contains("version 4"), "{text}");
    // a: live 4, next 3; 2 and 1 are free, 2 is the newest kept.
    assert_eq!(check.versions("small-dev-a"), ["2", "3", "4"]);
    // b: live was on 2: after the deploy live 4, next 3, and 2 and 1 free again.
    assert_eq!(check.versions("small-dev-b"), ["2", "3", "4"]);
    let doc = common::json_of(&mut sls(&["deploy", "--json"]));
    assert!(doc["plan"]["steps"].as_array().unwrap().is_empty(), "{doc}");
}

#[test]
fn an_alias_moved_by_someone_else_is_a_conflict_not_an_overwrite() {
    // moto ignores a stale RevisionId, so the proxy answers UpdateAlias as Lambda does when
    // the alias changed after sls read it.
    let moto = Moto::start();
    let dir = common::service(SMALL);
    let check = Check::new(&moto);
    let sls = |args: &[&str]| {
        let mut c = moto.sls(dir.path());
        c.args(args);
        c
    };
    write_code(dir.path(), 1);
    sls(&["deploy"]).assert().success();
    write_code(dir.path(), 2);
    sls(&["deploy", "--alias", "next"]).assert().success();

    let faults = common::faults::Faults::refuse(
        moto.port,
        "PUT /2015-03-31/functions/small-dev-a/aliases/live",
        "412 Precondition Failed",
        "PreconditionFailedException",
    );
    let (doc, _) = common::json_of_exit(
        sls(&["alias", "promote", "--from", "next", "--json"]).env("AWS_ENDPOINT_URL", &faults.url),
        6,
    );
    assert_eq!(doc["error"]["kind"], "conflict");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("alias live of small-dev-a changed"),
        "{message}"
    );
    assert_eq!(faults.injected(), 1, "refused once, never retried blindly");
    assert_eq!(check.version("small-dev-a", "live"), "1");

    // A deploy moving the alias under the same race is refused the same way.
    write_code(dir.path(), 3);
    let out = sls(&["deploy", "function", "-f", "a"])
        .env("AWS_ENDPOINT_URL", &faults.url)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn release_commands_reject_bad_requests_before_touching_aws() {
    // No AWS endpoint at all: each of these must fail on its arguments first.
    let dir = common::service(SMALL);
    let sls = |args: &[&str]| {
        let mut c = common::sls_in(dir.path());
        c.args(args);
        c
    };
    for args in [
        &["alias", "promote", "--from", "next", "--steps", "10,50"][..],
        &["alias", "promote", "--from", "next", "--steps", "50,10,100"],
        &["alias", "promote", "--from", "next", "--interval", "5s"],
        &["alias", "promote", "--from", "12"],
        &[
            "alias", "shift", "live", "--weight", "140", "--from", "next",
        ],
        &["alias", "shift", "live", "--weight", "40"],
        &["alias", "shift", "live", "--weight", "40", "--version", "3"],
        &["alias", "promote", "--from", "live"],
        &["alias", "rollback", "live", "-f", "nope"],
        &["deploy", "--alias", "a/b"],
    ] {
        let out = sls(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The bash script of docs/src/release-scripts.md, as a user would copy it.
fn release_script() -> String {
    let page = std::fs::read_to_string(common::root().join("docs/src/release-scripts.md")).unwrap();
    let start = page
        .find("```bash\n#!/usr/bin/env bash")
        .expect("the script's code block")
        + 8;
    let len = page[start..].find("```").unwrap();
    page[start..start + len].to_string()
}

#[test]
fn the_documented_release_script_releases_rolls_back_and_reruns_cleanly() {
    let moto = Moto::start();
    let dir = common::service(SMALL);
    let script = dir.path().join("release.sh");
    std::fs::write(&script, release_script()).unwrap();
    let check = Check::new(&moto);
    let release = |check_cmd: &str| {
        let mut c = std::process::Command::new("bash");
        c.arg(&script)
            .arg("dev")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("NO_COLOR", "1")
            .env("SLS", env!("CARGO_BIN_EXE_sls"))
            // moto stores function URLs but does not serve them.
            .env("SMOKE", "true")
            .env("STEPS", "50,100")
            .env("INTERVAL", "0s")
            .env("CHECK", check_cmd);
        for (k, v) in moto.env() {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    write_code(dir.path(), 1);
    moto.sls(dir.path()).arg("deploy").assert().success();

    write_code(dir.path(), 2);
    let (code, err) = release("true");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("a: live 1 -> 2"), "{err}");
    assert_eq!(both(&check), ("2".to_string(), "2".to_string()));

    write_code(dir.path(), 3);
    let (code, err) = release("false");
    assert_eq!(code, Some(7), "{err}");
    assert!(err.contains("the check failed at 50%"), "{err}");
    assert_eq!(both(&check), ("2".to_string(), "2".to_string()));
    assert!(check.alias("small-dev-a", "live").1.is_empty());

    let (code, err) = release("true");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(both(&check), ("3".to_string(), "3".to_string()));
    let (code, err) = release("false");
    assert_eq!(code, Some(0), "nothing new: no step, no check: {err}");
    assert!(err.contains("released: unchanged"), "{err}");
}
