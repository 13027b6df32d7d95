//! End-to-end tests of the built `sls` binary: each reads like a usage example.

use crate::common;

use common::{root, service, sls, sls_in, stdout};

#[test]
fn print_resolves_the_example_for_prod() {
    let text = stdout(sls().args(["print", "-c", "serverless.example.yml", "--stage", "prod"]));
    insta::assert_snapshot!(text);
}

#[test]
fn print_json_is_valid_json_with_typed_values() {
    let text = stdout(sls().args([
        "print",
        "-c",
        "serverless.example.yml",
        "--stage",
        "prod",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["provider"]["memorySize"], 1024,
        "params.prod wins and stays a number"
    );
    assert_eq!(v["provider"]["environment"]["STAGE"], "prod");
    assert_eq!(v["provider"]["environment"]["LOG_LEVEL"], "info");
    assert_eq!(v["custom"]["reportBucket"], "sls-example-reports-prod");
    let same = stdout(sls().args([
        "print",
        "-c",
        "serverless.example.yml",
        "--stage",
        "prod",
        "--format",
        "json",
    ]));
    assert_eq!(text, same, "--json and --format json agree");
}

#[test]
fn default_stage_and_environment_fallbacks() {
    let text = stdout(
        sls()
            .args([
                "print",
                "-c",
                "serverless.example.yml",
                "--json",
                "--path",
                "provider.environment",
            ])
            .env("LOG_LEVEL", "trace"),
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["STAGE"], "dev");
    assert_eq!(
        v["LOG_LEVEL"], "trace",
        "${{env:LOG_LEVEL, …}} prefers the environment"
    );
}

#[test]
fn print_path_text_and_keys() {
    let stage = stdout(sls().args([
        "print",
        "-c",
        "serverless.example.yml",
        "--path",
        "provider.stage",
        "--format",
        "text",
        "-s",
        "qa",
    ]));
    assert_eq!(stage, "qa\n");
    let keys = stdout(sls().args([
        "print",
        "-c",
        "serverless.example.yml",
        "--path",
        "functions",
        "--transform",
        "keys",
        "--format",
        "text",
    ]));
    assert_eq!(keys, "listUsers\ngetUser\ncreateUser\nreport\n");
    let param = stdout(sls().args([
        "print",
        "-c",
        "serverless.example.yml",
        "--param",
        "memorySize=2048",
        "--path",
        "provider.memorySize",
    ]));
    assert_eq!(
        param, "'2048'\n",
        "a --param value is text, like in Serverless"
    );
}

#[test]
fn missing_print_path_is_a_usage_error() {
    sls()
        .args([
            "print",
            "-c",
            "serverless.example.yml",
            "--path",
            "provider.nope",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("`provider.nope` does not exist"));
}

#[test]
fn finds_serverless_yml_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("serverless.yaml"),
        "service: found\nprovider:\n  name: aws\n",
    )
    .unwrap();
    let out = stdout(sls_in(dir.path()).args(["print", "--path", "service", "--format", "text"]));
    assert_eq!(out, "found\n");
}

#[test]
fn no_config_is_a_config_error_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = sls_in(dir.path())
        .arg("print")
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn unknown_keys_warn_but_succeed() {
    let dir = service(
        "service: svc\nprovider:\n  name: aws\n  stackTags:\n    team: a\nplugins:\n  - serverless-offline\nfunctions:\n  f:\n    handler: h.main\n    timout: 10\n",
    );
    let out = sls_in(dir.path())
        .arg("print")
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn validation_mode_off_silences_unknown_keys() {
    let dir = service(
        "configValidationMode: off\nservice: svc\nprovider:\n  name: aws\n  colour: blue\n",
    );
    sls_in(dir.path())
        .arg("print")
        .assert()
        .success()
        .stderr("");
}

#[test]
fn deprecated_runtime_warns() {
    let dir = service("service: svc\nprovider:\n  name: aws\n  runtime: nodejs18.x\n");
    sls_in(dir.path())
        .arg("print")
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "warning: runtime `nodejs18.x` is deprecated",
        ));
}

#[test]
fn a_long_retired_runtime_is_printed_and_packaged_with_its_dates() {
    // Serverless v3 prints a service on nodejs8.10; so does sls, saying what AWS will refuse.
    let dir = service(
        "service: svc\nprovider:\n  name: aws\n  runtime: nodejs8.10\nfunctions:\n  a:\n    handler: a.main\n",
    );
    std::fs::write(dir.path().join("a.js"), "exports.main = async () => 1;\n").unwrap();
    for cmd in ["print", "package"] {
        sls_in(dir.path())
            .arg(cmd)
            .assert()
            .success()
            .stderr(predicates::str::contains(
                "warning: runtime `nodejs8.10` is deprecated by AWS Lambda: it neither creates nor updates functions with it since 2020-03-06",
            ))
            .stderr(predicates::str::contains("move to `nodejs"));
    }
}

#[test]
fn file_variables_read_yaml_and_json_next_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let svc = dir.path().join("svc");
    std::fs::create_dir(&svc).unwrap();
    std::fs::write(svc.join("config.prod.yml"), "db:\n  port: 5432\n").unwrap();
    std::fs::write(svc.join("extra.json"), "{\"owner\": \"team-a\"}").unwrap();
    std::fs::write(
        svc.join("serverless.yml"),
        "service: svc\nprovider:\n  name: aws\ncustom:\n  port: ${file(./config.${sls:stage}.yml):db.port}\n  all: ${file(./extra.json)}\n",
    )
    .unwrap();
    let text = stdout(sls_in(dir.path()).args([
        "print",
        "-c",
        "svc/serverless.yml",
        "-s",
        "prod",
        "--json",
        "--path",
        "custom",
    ]));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["port"], 5432);
    assert_eq!(v["all"]["owner"], "team-a");
}

#[test]
fn help_lists_only_built_commands() {
    let help = stdout(sls().arg("--help"));
    insta::assert_snapshot!(help);
}

#[test]
fn version_and_completions() {
    let v = stdout(sls().arg("--version"));
    assert_eq!(v, format!("sls {}\n", env!("CARGO_PKG_VERSION")));
    let bash = stdout(sls().args(["completions", "bash"]));
    assert!(bash.contains("_sls()") && bash.contains("print"), "{bash}");
}

#[test]
fn bad_flags_are_usage_errors() {
    sls().args(["print", "--param", "novalue"]).assert().code(2);
    sls().args(["print", "--format", "xml"]).assert().code(2);
    sls().arg("deploy-everything").assert().code(2);
}

#[test]
fn no_colour_codes_without_a_terminal() {
    let out = sls_in(&root().join("tests/fixtures/bad"))
        .env_remove("NO_COLOR")
        .args(["print", "-c", "06-empty.yml"])
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    assert!(!out.contains(&0x1b), "escape codes in piped output");
}

#[test]
fn environment_values_do_not_leak_into_errors() {
    let dir = service("service: svc\nprovider:\n  name: aws\n  memorySize: ${env:SECRET_MEM}\n");
    let out = sls_in(dir.path())
        .env("SECRET_MEM", "hunter2-secret")
        .arg("print")
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("memorySize"), "{err}");
    assert!(
        err.contains("${env:SECRET_MEM}"),
        "points at the variable: {err}"
    );
    assert!(
        !err.contains("hunter2"),
        "the value of an environment variable leaked: {err}"
    );
}

#[test]
fn config_credentials_writes_a_private_profile_keeps_the_others_and_never_prints_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aws/credentials");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "# team keys\n[ops]\naws_access_key_id = AKIAOPSOPSOPSOPSOPS1\naws_secret_access_key = ops-secret\n").unwrap();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sls"))
            .env_clear()
            .env("AWS_SHARED_CREDENTIALS_FILE", &file)
            .args([
                "config",
                "credentials",
                "--provider",
                "aws",
                "--key",
                "AKIAIOSFODNN7EXAMPLE",
                "--secret",
                secret,
            ])
            .args(extra)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(secret), "the secret was printed: {text}");
        (out.status.code(), text)
    };
    let (code, text) = run(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Saved profile `default`") && text.contains("AKIA…MPLE"),
        "{text}"
    );
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.starts_with("# team keys\n[ops]\n"), "{saved}");
    assert!(saved.contains(&format!(
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {secret}\n"
    )));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Again: refused without --overwrite, and nothing changes.
    let (code, text) = run(&[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--overwrite"), "{text}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), saved);
    let (code, text) = run(&["--overwrite", "--profile", "ops"]);
    assert_eq!(code, Some(0), "{text}");
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        !after.contains("ops-secret") && after.contains("# team keys"),
        "{after}"
    );
    // A wrong provider is a usage error from the command line itself.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sls"))
        .args([
            "config",
            "credentials",
            "--provider",
            "gcp",
            "--key",
            "AKIAIOSFODNN7EXAMPLE",
            "--secret",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// One file per CloudFormation short tag: `print` shows `custom.short` (the tag) exactly as
/// `custom.long` (the long form written out), as Serverless v3 reads them.
#[test]
fn every_cloudformation_short_tag_prints_as_its_long_form() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cfn-tags");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sls"))
            .current_dir(&dir)
            .args(["print", "--format", "json", "--path", "custom", "-c", &name])
            .env_clear()
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["short"], v["long"], "{name}");
        assert!(v["short"].is_object(), "{name}: {v}");
        count += 1;
    }
    assert_eq!(count, 19, "one file per short tag (GetAtt and Sub twice)");
}

/// `plugins:` — the built-in ones get a note and their settings take effect (dotenv's variables
/// reach the function under `invoke local`); any other stops `package` and `deploy` before any
/// work, naming what it did, until it is let go with `--ignore-plugin` or
/// `custom.sls.ignorePlugins`; `print` and `invoke local` work meanwhile.
#[test]
fn plugins_are_built_in_or_refused_until_let_go() {
    let dir = service(
        "service: svc\nprovider:\n  name: aws\n  runtime: nodejs20.x\n  environment:\n    FROM_CONFIG: kept\nplugins:\n  - serverless-dotenv-plugin\n  - serverless-plugin-warmup\n  - serverless-step-functions\ncustom:\n  warmup:\n    default:\n      enabled: true\n  dotenv:\n    exclude: [NOT_THIS]\nfunctions:\n  f:\n    handler: h.main\n",
    );
    std::fs::write(
        dir.path().join("h.js"),
        "exports.main = async () => ({ a: process.env.FROM_DOTENV, b: process.env.NOT_THIS || null, c: process.env.FROM_CONFIG });\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "FROM_DOTENV=yes\nNOT_THIS=secret\n",
    )
    .unwrap();
    let refused = sls_in(dir.path())
        .arg("package")
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    insta::assert_snapshot!("plugins_refused", String::from_utf8(refused).unwrap());
    // Letting one go leaves the other.
    let still = common::stderr_of(
        sls_in(dir.path()).args(["package", "--ignore-plugin", "serverless-plugin-warmup"]),
        3,
    );
    assert!(
        still.contains("serverless-step-functions") && !still.contains("custom.warmup"),
        "{still}"
    );
    // deploy refuses before any AWS call: no credentials are needed to be told.
    let deploy = sls_in(dir.path())
        .args(["deploy", "--dry-run"])
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    assert!(
        String::from_utf8(deploy)
            .unwrap()
            .contains("sls cannot do what these plugins did")
    );
    sls_in(dir.path())
        .args([
            "package",
            "--ignore-plugin",
            "serverless-plugin-warmup",
            "--ignore-plugin",
            "serverless-step-functions",
        ])
        .assert()
        .success();
    // The same through the config; invoke local sees the .env variables less the excluded one.
    std::fs::write(
        dir.path().join("serverless.yml"),
        std::fs::read_to_string(dir.path().join("serverless.yml")).unwrap().replace(
            "  dotenv:\n",
            "  sls:\n    ignorePlugins: [serverless-plugin-warmup, serverless-step-functions]\n  dotenv:\n",
        ),
    )
    .unwrap();
    sls_in(dir.path()).arg("package").assert().success();
    let out = sls_in(dir.path())
        .env("PATH", std::env::var("PATH").unwrap())
        .args(["invoke", "local", "-f", "f"])
        .assert()
        .success()
        .get_output()
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc, serde_json::json!({"a": "yes", "b": null, "c": "kept"}));
    let notes = String::from_utf8(out.stderr).unwrap();
    assert!(
        notes.contains("note: plugin serverless-dotenv-plugin: built in"),
        "{notes}"
    );
}

/// Serverless v3's command lines get what sls says instead, not clap's "unexpected argument".
#[test]
fn serverless_v3_habits_get_a_hint() {
    let hint = |args: &[&str]| common::stderr_of(sls().args(args), 2);
    insta::assert_snapshot!(
        "v3-habits",
        [
            hint(&["rollback", "--timestamp", "1700000000"]),
            hint(&["deploy", "-f", "hello"]),
            hint(&["deploy", "list"]),
            hint(&[
                "config",
                "credentials",
                "--provider",
                "aws",
                "--key",
                "AKIAEXAMPLE",
                "-s",
                "s3cr3t-value"
            ]),
        ]
        .join("")
    );
    // The secret given with v3's `-s` is never echoed back.
    let err = hint(&[
        "config",
        "credentials",
        "--provider",
        "aws",
        "--key",
        "K",
        "-s",
        "s3cr3t-value",
    ]);
    assert!(!err.contains("s3cr3t-value"), "{err}");
}

/// One HTTP server on loopback that answers every request with `status` and no AWS error
/// (as a wrong endpoint does); returns its URL.
fn answering(status: u16) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 {status} Nope\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
            );
        }
    });
    url
}

/// A port nothing listens on: bound, then let go.
fn refused() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

/// `sls` against `endpoint` with dummy credentials; fails the test if it runs over `bound`
/// (the regression was a minute and more of silent retries).
fn against(endpoint: &str, args: &[&str], bound: std::time::Duration) -> (i32, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sls"));
    c.current_dir(root())
        .args(["-c", "serverless.example.yml"])
        .args(args)
        .env_clear()
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (
                status.code().unwrap_or(-1),
                err.replace(endpoint, "[ENDPOINT]"),
            );
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            panic!(
                "`sls {}` against {endpoint} ran over {bound:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn aws_errors_say_their_cause_and_an_unreachable_endpoint_fails_at_once() {
    let bound = std::time::Duration::from_secs(10);
    let down = refused();
    let mut shown = Vec::new();
    for args in [
        &["deploy", "--dry-run"][..],
        &["info"],
        &["logs", "-f", "listUsers"],
    ] {
        let (code, err) = against(&down, args, bound);
        assert_eq!(code, 5, "{err}");
        assert!(err.contains("cannot connect to [ENDPOINT]"), "{err}");
        shown.push(format!("$ sls {}\n{err}", args.join(" ")));
    }
    let wrong = answering(404);
    let (code, err) = against(&wrong, &["logs", "-f", "listUsers"], bound);
    assert_eq!(code, 5, "{err}");
    shown.push(format!(
        "$ sls logs -f listUsers   # an endpoint answering 404\n{err}"
    ));
    insta::assert_snapshot!("aws-error-causes", shown.join("\n"));
}

#[test]
fn without_credentials_the_message_says_what_was_tried_and_how_to_set_them_up() {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sls"))
        .current_dir(root())
        .args(["-c", "serverless.example.yml", "info"])
        .env_clear()
        .env("NO_COLOR", "1")
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let err =
        String::from_utf8_lossy(&out.stderr).replace(&home.path().display().to_string(), "[HOME]");
    insta::assert_snapshot!("no-credentials", err);
}

/// Only deploying refuses a key sls does not deploy yet (issue: `print` and `offline` refused
/// serverless-offline's own fixtures for `versionFunctions`, now deployed, and authorizers). `configValidationMode:
/// error` makes unknown keys errors, not keys without effect such as `deploymentMethod`.
#[test]
fn keys_sls_does_not_deploy_stop_only_deploying() {
    let dir = service(
        "service: svc\nconfigValidationMode: error\nprovider:\n  name: aws\n  runtime: nodejs24.x\n  deploymentMethod: direct\n  versionFunctions: false\nfunctions:\n  f:\n    handler: h.main\n    events:\n      - http:\n          path: hello\n          method: get\n          authorizer: aws_iam\n",
    );
    std::fs::write(
        dir.path().join("h.js"),
        "exports.main = async () => ({ statusCode: 200, body: 'hi' });\n",
    )
    .unwrap();
    let out = sls_in(dir.path()).arg("print").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("versionFunctions: false"),
        "{err}"
    );
    insta::assert_snapshot!("refused-only-when-deploying-print", err);
    let invoked = stdout(sls_in(dir.path()).args(["invoke", "local", "-f", "f"]));
    assert!(invoked.contains("\"statusCode\": 200"), "{invoked}");
    let refused = common::stderr_of(sls_in(dir.path()).arg("package"), 3);
    // `versionFunctions: false` is deployed; the authorizer is what stops it.
    assert!(
        !refused.contains("versionFunctions")
            && refused.contains("`authorizer` on REST routes are not deployed by sls yet")
            && refused.contains("serverless.yml:15:11")
            && !refused.contains("error: `deploymentMethod`"),
        "{refused}"
    );
}

/// Forms found in serverless/examples that Serverless v3 prints: a bare `alexaSkill`, a Go
/// handler naming an executable, a placeholder bucket name (only S3 minds it: deploying refuses).
#[test]
fn configs_serverless_v3_prints_print() {
    let dir = service(
        "service: svc\nprovider:\n  name: aws\n  runtime: nodejs22.x\ncustom:\n  bucket: <your-bucket-name>\nfunctions:\n  skill:\n    handler: h.main\n    events:\n      - alexaSkill\n  upload:\n    handler: h.main\n    events:\n      - s3:\n          bucket: ${self:custom.bucket}\n  go:\n    runtime: go1.x\n    handler: bin/hello\n  lb:\n    handler: h.main\n    events:\n      - alb:\n          listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/2\n          priority: 1\n          conditions:\n            path: orders\n",
    );
    std::fs::write(dir.path().join("h.js"), "exports.main = async () => 1;\n").unwrap();
    let out = sls_in(dir.path()).arg("print").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(printed.contains("- alexaSkill\n"), "{printed}");
    assert!(err.contains("is not a valid S3 bucket name"), "{err}");
    assert!(
        err.contains("ALB path pattern `orders` does not start with `/`"),
        "{err}"
    );
    let refused = common::stderr_of(sls_in(dir.path()).arg("package"), 3);
    assert!(
        refused.contains("error: `<your-bucket-name>` is not a valid S3 bucket name"),
        "{refused}"
    );
}

#[test]
fn a_misspelt_function_name_gets_a_did_you_mean() {
    let err = common::stderr_of(
        sls().args([
            "invoke",
            "local",
            "-c",
            "serverless.example.yml",
            "-f",
            "listUser",
        ]),
        2,
    );
    assert!(
        err.contains("function `listUser` is not in the config (did you mean `listUsers`?)"),
        "{err}"
    );
    let err = common::stderr_of(
        sls().args([
            "invoke",
            "local",
            "-c",
            "serverless.example.yml",
            "-f",
            "zzz",
        ]),
        2,
    );
    assert!(
        err.contains("it has `listUsers`, `getUser`, `createUser`, `report`"),
        "{err}"
    );
}
