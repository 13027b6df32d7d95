//! `sls create`: every embedded template creates a service that prints, packages, answers
//! when its handler is run, and deploys (against moto).

use crate::common;

use std::fs;
use std::path::Path;
use std::process::Command as Process;

use common::moto::Moto;

/// Runs the created handler with node or python directly (until `sls invoke local` exists) on
/// an event of the kind it serves, and returns its answer.
fn run_handler(dir: &Path, template: &str) -> serde_json::Value {
    let http = r#"{"rawPath": "/", "requestContext": {"http": {"method": "GET"}}}"#;
    let (program, code) = match template {
        "aws-nodejs" => (
            "node",
            format!("require('./handler').hello({http}).then(r => console.log(JSON.stringify(r)))"),
        ),
        "aws-nodejs-schedule" => (
            "node",
            r#"require('./handler').tick({"time": "2026-11-24T10:00:00Z", "detail-type": "Scheduled Event"}).then(r => console.log(JSON.stringify(r)))"#.to_string(),
        ),
        "aws-python3" => (
            "python3",
            format!("import json, handler; print(json.dumps(handler.hello({http}, None)))"),
        ),
        "aws-python3-sqs" => (
            "python3",
            r#"import json, handler; print(json.dumps(handler.worker({"Records": [{"messageId": "m1", "body": '{"id": 7}'}, {"messageId": "m2", "body": "{}"}]}, None)))"#.to_string(),
        ),
        other => panic!("no runner for {other}"),
    };
    let flag = if program == "node" { "-e" } else { "-c" };
    let out = Process::new(program)
        .current_dir(dir)
        .env("STAGE", "dev")
        .args([flag, &code])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{template}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    serde_json::from_str(&last).unwrap()
}

/// The body of an HTTP answer, after checking its status.
fn http_body(answer: &serde_json::Value) -> serde_json::Value {
    assert_eq!(answer["statusCode"], 200, "{answer}");
    serde_json::from_str(answer["body"].as_str().unwrap()).unwrap()
}

#[test]
fn list_names_every_template() {
    let out = common::stdout(common::sls().args(["create", "--list"]));
    insta::assert_snapshot!(out);
}

#[test]
fn every_template_prints_packages_answers_and_deploys() {
    let moto = Moto::start();
    for template in [
        "aws-nodejs",
        "aws-python3",
        "aws-nodejs-schedule",
        "aws-python3-sqs",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let name = format!("svc-{}", template.trim_start_matches("aws-"));
        common::sls_in(tmp.path())
            .args(["create", "--template", template, "--path", &name])
            .assert()
            .success();
        let dir = tmp.path().join(&name);
        for f in ["serverless.yml", "README.md", ".gitignore"] {
            assert!(dir.join(f).is_file(), "{template}: {f} missing");
        }
        let yml = fs::read_to_string(dir.join("serverless.yml")).unwrap();
        assert!(yml.contains(&format!("service: {name}")) && !yml.contains("my-service"));

        let printed = common::stdout(common::sls_in(&dir).args(["print", "--path", "service"]));
        assert_eq!(printed.trim(), name);
        common::sls_in(&dir).arg("package").assert().success();
        let answer = run_handler(&dir, template);
        match template {
            "aws-nodejs-schedule" => {
                assert_eq!(answer["job"], name);
                assert_eq!(answer["dryRun"], true);
                assert_eq!(answer["firedAt"], "2026-11-24T10:00:00Z");
            }
            "aws-python3-sqs" => {
                // Only the message that failed comes back.
                assert_eq!(
                    answer["batchItemFailures"],
                    serde_json::json!([{ "itemIdentifier": "m2" }])
                );
            }
            _ => {
                let body = http_body(&answer);
                assert_eq!(body["message"], format!("Hello from {name}"));
                assert_eq!(body["stage"], "dev");
            }
        }

        if template == "aws-python3-sqs" {
            // Before the queue exists the deploy is refused before any change (exit 3), not
            // after making the function, at CreateEventSourceMapping.
            let (doc, err) = common::json_of_exit(moto.sls(&dir).args(["deploy", "--json"]), 3);
            assert!(
                err.contains(&format!("the queue arn:aws:sqs:us-east-1:123456789012:{name}-jobs, which the `sqs` event of function"))
                    && err.contains("does not exist; nothing was changed"),
                "{err}"
            );
            assert_eq!(doc["error"]["kind"], "config", "{doc:#}");
            let info = common::stdout(moto.sls(&dir).args(["info"]));
            assert!(info.contains("not deployed"), "{info}");
            // The queue is the user's: the params' placeholder, made in moto.
            moto.create_queue(&format!("{name}-jobs"));
        }
        let doc = common::json_of(moto.sls(&dir).args(["deploy", "--json"]));
        let actions: Vec<&str> = doc["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["action"].as_str())
            .collect();
        // The templates' triggers are deployed with them.
        match template {
            "aws-nodejs-schedule" => assert!(actions.contains(&"putRule"), "{actions:?}"),
            "aws-python3-sqs" => {
                assert!(actions.contains(&"createEventSourceMapping"), "{actions:?}")
            }
            _ => {}
        }
        let function = doc["functions"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap();
        assert_eq!(function["version"], "1", "{template}: {doc:#}");
        if template == "aws-nodejs" || template == "aws-python3" {
            let endpoint = doc["endpoints"][0].as_str().unwrap();
            assert!(endpoint.starts_with("GET - https://"), "{endpoint}");
        }
    }
}

#[test]
fn a_non_empty_directory_is_refused_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    common::sls_in(tmp.path())
        .args(["create", "--template", "aws-nodejs", "--name", "shop"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not empty"));
    assert!(!tmp.path().join("serverless.yml").exists());
    common::sls_in(tmp.path())
        .args(["create", "-t", "aws-nodejs", "--name", "shop", "--force"])
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(tmp.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(
        fs::read_to_string(tmp.path().join("package.json"))
            .unwrap()
            .contains("\"name\": \"shop\"")
    );
}

#[test]
fn bad_names_unknown_templates_and_no_tty_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    common::sls_in(tmp.path())
        .args(["create", "-t", "aws-nodejs", "--name", "my_service"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("`_` is not allowed"));
    common::sls_in(tmp.path())
        .args(["create", "-t", "aws-cobol"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "aws-nodejs, aws-python3, aws-rust",
        ));
    // No terminal: never a prompt, a clear line instead.
    common::sls_in(tmp.path())
        .arg("create")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("pass --template NAME"));
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn a_local_template_directory_is_copied_with_the_name_substituted() {
    let mine = tempfile::tempdir().unwrap();
    fs::write(
        mine.path().join("serverless.yml"),
        "service: my-service\nprovider:\n  name: aws\n",
    )
    .unwrap();
    fs::create_dir_all(mine.path().join("src")).unwrap();
    fs::write(mine.path().join("src/app.js"), "// my-service\n").unwrap();
    fs::create_dir_all(mine.path().join("node_modules/x")).unwrap();
    fs::write(mine.path().join("node_modules/x/index.js"), "").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    common::sls_in(tmp.path())
        .args(["create", "--template-path"])
        .arg(mine.path())
        .args(["--path", "orders"])
        .assert()
        .success();
    let dir = tmp.path().join("orders");
    assert_eq!(
        fs::read_to_string(dir.join("src/app.js")).unwrap(),
        "// orders\n"
    );
    assert!(!dir.join("node_modules").exists());
}

#[test]
fn on_a_terminal_without_a_template_a_menu_asks() {
    let tmp = tempfile::tempdir().unwrap();
    // `script` (util-linux) gives sls a pseudo-terminal; the answer `2` picks aws-python3.
    let mut c = std::process::Command::new("script");
    c.current_dir(tmp.path())
        .args(["-qec"])
        .arg(format!(
            "{} create --name tty-svc",
            env!("CARGO_BIN_EXE_sls")
        ))
        .arg("/dev/null")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().expect("`script` from util-linux");
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"2\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("5) aws-python3-sqs") && shown.contains("Template [1-5]"),
        "{shown}"
    );
    assert!(
        fs::read_to_string(tmp.path().join("serverless.yml"))
            .unwrap()
            .contains("service: tty-svc\n")
    );
    assert!(tmp.path().join("handler.py").is_file());
}
