//! Secrets never shown: a service whose environment holds marked secret values — written in the
//! config, from `${env:…}`, from an SSM SecureString — is deployed, changed, planned, looked at
//! and made to fail, and every output (human, `--json`, `-v`, `-vv`, `--dry-run`, `info`, the
//! error report of a failing call whose AWS error text quotes what was sent) is scanned for
//! those values.

use crate::common;

use common::faults::Faults;
use common::moto::Moto;

const SERVICE: &str = "service: hush
provider:
  name: aws
  runtime: nodejs22.x
  environment:
    PLAIN: plain-secret-GEN
    FROM_ENV: ${env:HUSH_TOKEN}
    FROM_SSM: ${ssm:/hush/password-GEN}
functions:
  api:
    handler: h.api
    environment:
      OWN: own-secret-GEN
    events:
      - httpApi: 'GET /a'
";

/// The secret values of one generation of the config.
fn secrets(generation: u32) -> Vec<String> {
    ["plain-secret", "env-secret", "ssm-secret", "own-secret"]
        .iter()
        .map(|s| format!("{s}-{generation}"))
        .collect()
}

/// Writes generation `g` of the config and its SecureString.
fn generation(moto: &Moto, dir: &std::path::Path, g: u32) {
    std::fs::write(
        dir.join("serverless.yml"),
        SERVICE.replace("GEN", &g.to_string()),
    )
    .unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let cfg = moto.sdk().await;
            aws_sdk_ssm::Client::new(&cfg)
                .put_parameter()
                .name(format!("/hush/password-{g}"))
                .value(format!("ssm-secret-{g}"))
                .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                .send()
                .await
                .unwrap();
        });
}

#[test]
fn no_output_of_any_command_shows_a_secret_value() {
    let moto = Moto::start();
    let dir = common::service("");
    std::fs::write(dir.path().join("h.js"), "exports.api = async () => 'a';\n").unwrap();
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut run = |label: &str, g: u32, args: &[&str], proxy: Option<&Faults>| {
        let mut c = moto.sls(dir.path());
        c.env("HUSH_TOKEN", format!("env-secret-{g}")).args(args);
        if let Some(p) = proxy {
            c.env("AWS_ENDPOINT_URL", &p.url);
        }
        let out = c.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((format!("{label}: sls {}", args.join(" ")), text.clone()));
        (out.status.code(), text)
    };

    generation(&moto, dir.path(), 1);
    let (code, text) = run("first deploy", 1, &["deploy"], None);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Deployed hush"), "{text}");
    run("info", 1, &["info"], None);
    run("info", 1, &["info", "--json", "-vv"], None);

    // Every value changes: the plans say that the environment changes, never to what.
    generation(&moto, dir.path(), 2);
    let (_, text) = run("plan", 2, &["deploy", "--dry-run", "-vv"], None);
    assert!(text.contains("environment"), "{text}");
    run("plan", 2, &["deploy", "--dry-run", "--json"], None);
    run("deploy", 2, &["deploy", "-v"], None);
    generation(&moto, dir.path(), 3);
    let (code, _) = run("deploy", 3, &["deploy", "-vv", "--json"], None);
    assert_eq!(code, Some(0));
    run("info", 3, &["info", "-v"], None);

    // A failing call whose AWS error text quotes the whole request, environment included.
    generation(&moto, dir.path(), 4);
    let quoting = Faults::refuse_quoting(
        moto.port,
        "PUT /2015-03-31/functions/hush-dev-api/configuration",
        "400 Bad Request",
        "InvalidParameterValueException",
    );
    let (code, text) = run("failing deploy", 4, &["deploy"], Some(&quoting));
    assert_ne!(code, Some(0), "{text}");
    assert!(quoting.injected() > 0);
    assert!(
        text.contains("String measured"),
        "the AWS text is shown: {text}"
    );
    assert!(
        text.contains("********"),
        "its secret values masked: {text}"
    );
    let (code, text) = run(
        "failing deploy",
        4,
        &["deploy", "--json", "-vv"],
        Some(&quoting),
    );
    assert_ne!(code, Some(0), "{text}");

    let all: Vec<String> = (1..=4).flat_map(secrets).collect();
    let mut scanned = 0;
    for (label, text) in &outputs {
        for secret in &all {
            assert!(
                !text.contains(secret.as_str()),
                "{label} shows the secret value {secret}:\n{text}"
            );
        }
        scanned += text.len();
    }
    println!(
        "{} outputs ({scanned} bytes) scanned for {} secret values: none shown",
        outputs.len(),
        all.len()
    );
}
