//! The aws-rust template: the generated crate's own tests pass, it builds, the built binary
//! packaged as `bootstrap` runs locally (`invoke local`, `offline`) and deploys (against moto). Slower than the other template tests
//! (it compiles lambda_runtime and tokio), so it has a test binary of its own; CI runs it.

use crate::common;

use std::fs;
use std::process::Command as Process;

use common::moto::Moto;

#[test]
fn the_rust_template_tests_builds_packages_and_deploys() {
    let tmp = tempfile::tempdir().unwrap();
    common::sls_in(tmp.path())
        .args(["create", "--template", "aws-rust", "--path", "rusty"])
        .assert()
        .success();
    let dir = tmp.path().join("rusty");
    assert!(
        fs::read_to_string(dir.join("Cargo.toml"))
            .unwrap()
            .contains("name = \"rusty\"")
    );
    // Shared between runs, so only the first one compiles the dependencies.
    let target = common::root().join("target/template-rust");
    for args in [
        &["test", "--quiet", "--locked"][..],
        &["build", "--quiet", "--locked"][..],
    ] {
        let out = Process::new(env!("CARGO"))
            .args(args)
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fs::copy(target.join("debug/rusty"), dir.join("bootstrap")).unwrap();
    // Built for this machine, not for Lambda's arm64: the architecture says so, or sls refuses
    // the binary (Lambda could not start it).
    if std::env::consts::ARCH == "x86_64" {
        let config = dir.join("serverless.yml");
        let text = fs::read_to_string(&config).unwrap();
        fs::write(
            &config,
            text.replace("architecture: arm64", "architecture: x86_64"),
        )
        .unwrap();
    }

    common::sls_in(&dir).arg("package").assert().success();
    let listing = Process::new("unzip")
        .args(["-Z"])
        .arg(dir.join(".serverless/rusty.zip"))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout).to_string();
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with(" bootstrap")),
        "{listing}"
    );

    // The same package runs locally: lambda_runtime speaks to sls's Runtime API unmodified.
    let out = common::sls_in(&dir)
        .args([
            "invoke",
            "local",
            "-f",
            "hello",
            "--data",
            r#"{"rawPath":"/local"}"#,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["statusCode"], 200);
    let body: serde_json::Value = serde_json::from_str(result["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["path"], "/local");
    assert!(stderr.contains("Init Duration:"), "{stderr}");
    let offline = common::offline::Offline::start(&dir, &[]);
    let (status, _, body) = offline.request("GET", "/", &[], b"");
    assert_eq!(status, 200);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["path"], "/");
    drop(offline);

    let moto = Moto::start();
    let doc = common::json_of(moto.sls(&dir).args(["deploy", "--json"]));
    assert!(
        doc["endpoints"][0]
            .as_str()
            .unwrap()
            .starts_with("GET - https://")
    );
    assert_eq!(doc["functions"]["hello"]["version"], "1");
}
