//! End-to-end tests of `sls package`: what goes into the zips, that they are byte-for-byte
//! reproducible and valid, and that unsafe or oversized input is refused with a clear message.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command as Std;

use common::{root, service, sls_in, stdout};

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// Entry name → (unix mode, content) of a zip, read with the zip crate.
fn entries(zip: &Path) -> BTreeMap<String, (u32, String)> {
    let mut a = zip::ZipArchive::new(fs::File::open(zip).unwrap()).unwrap();
    (0..a.len())
        .map(|i| {
            let mut f = a.by_index(i).unwrap();
            let mut s = String::new();
            f.read_to_string(&mut s).unwrap();
            (
                f.name().unwrap().into_owned(),
                (f.unix_mode().unwrap() & 0o7777, s),
            )
        })
        .collect()
}

fn names(zip: &Path) -> Vec<String> {
    entries(zip).into_keys().collect()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join(".serverless/sls-manifest.json")).unwrap()).unwrap()
}

/// Info-ZIP's own integrity check, so validity is not judged by the code that wrote the zip.
fn unzip_t(zip: &Path) {
    let out =
        Std::new("unzip").arg("-tq").arg(zip).output().expect(
            "`unzip` is needed by the packaging tests (scripts/test installs it when missing)",
        );
    assert!(out.status.success(), "unzip -t {}: {out:?}", zip.display());
}

/// Lambda's CodeSha256, computed by Python's hashlib rather than by the code under test.
fn code_sha256(zip: &Path) -> String {
    let out = Std::new("python3")
        .args([
            "-c",
            "import base64,hashlib,sys;print(base64.b64encode(hashlib.sha256(open(sys.argv[1],'rb').read()).digest()).decode())",
        ])
        .arg(zip)
        .output()
        .expect("python3");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

const NODE: &str = "service: svc
provider:
  name: aws
  runtime: nodejs22.x
functions:
  api:
    handler: src/api.main
  worker:
    handler: src/worker.main
";

fn node_service(yaml: &str) -> tempfile::TempDir {
    let dir = service(yaml);
    let d = dir.path();
    write(
        d,
        "src/api.js",
        "exports.main = async () => ({ statusCode: 200 });\n",
    );
    write(d, "src/worker.js", "exports.main = async () => {};\n");
    write(d, "src/lib/util.js", "module.exports = {};\n");
    write(d, "tests/api.test.js", "test('x', () => {});\n");
    write(d, ".git/config", "[core]\n");
    write(d, ".gitignore", "node_modules\n");
    write(d, "README.md", "# svc\n");
    dir
}

#[test]
fn the_example_packages_into_one_valid_zip() {
    let out = tempfile::tempdir().unwrap();
    let text = stdout(
        sls_in(&root())
            .args(["package", "-c", "serverless.example.yml", "--package"])
            .arg(out.path()),
    );
    assert!(text.contains("sls-example.zip  2 files"), "{text}");
    let zip = out.path().join("sls-example.zip");
    assert_eq!(names(&zip), ["example/report.py", "example/users.js"]);
    unzip_t(&zip);
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(out.path().join("sls-manifest.json")).unwrap()).unwrap();
    assert_eq!(
        m["artifacts"]["sls-example.zip"]["sha256"],
        code_sha256(&zip)
    );
    assert_eq!(m["functions"]["report"]["artifact"], "sls-example.zip");
    assert_eq!(m["functions"]["report"]["runtime"], "python3.12");
}

#[test]
fn default_excludes_and_patterns_apply_in_order() {
    let dir = node_service(&format!(
        "{NODE}package:\n  patterns:\n    - '!tests/**'\n    - '!*.md'\n    - '!src/lib/**'\n    - 'src/lib/util.js'\n"
    ));
    sls_in(dir.path()).arg("package").assert().success();
    let zip = dir.path().join(".serverless/svc.zip");
    // .git/**, .gitignore and serverless.yml are Serverless' default excludes.
    assert_eq!(
        names(&zip),
        ["src/api.js", "src/lib/util.js", "src/worker.js"]
    );
    unzip_t(&zip);
}

#[test]
fn two_runs_on_different_trees_give_the_same_bytes() {
    let a = node_service(NODE);
    let b = node_service(NODE);
    // Another directory, and other modification times.
    Std::new("touch")
        .args(["-d", "2001-02-03"])
        .arg(b.path().join("src/api.js"))
        .status()
        .unwrap();
    for dir in [&a, &b] {
        sls_in(dir.path()).arg("package").assert().success();
    }
    let za = fs::read(a.path().join(".serverless/svc.zip")).unwrap();
    let zb = fs::read(b.path().join(".serverless/svc.zip")).unwrap();
    assert!(za == zb, "the zips differ");
    // And again in the same place, from scratch.
    fs::remove_dir_all(a.path().join(".serverless")).unwrap();
    sls_in(a.path()).arg("package").assert().success();
    assert!(fs::read(a.path().join(".serverless/svc.zip")).unwrap() == za);
    let m = manifest(a.path());
    assert_eq!(
        m["artifacts"]["svc.zip"]["sha256"],
        code_sha256(&a.path().join(".serverless/svc.zip"))
    );
    assert_eq!(m["artifacts"]["svc.zip"]["size"], za.len());
}

#[cfg(unix)]
#[test]
fn modes_are_normalized_and_exec_bits_kept() {
    use std::os::unix::fs::PermissionsExt;
    let dir = service(
        "service: svc\nprovider:\n  name: aws\n  runtime: provided.al2023\nfunctions:\n  f:\n    handler: bootstrap\n",
    );
    let d = dir.path();
    write(d, "bootstrap", "#!/bin/sh\n");
    write(d, "bin/tool", "#!/bin/sh\n");
    write(d, "data/private.json", "{}\n");
    fs::set_permissions(d.join("bin/tool"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(
        d.join("data/private.json"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    // bootstrap is made executable even when the checkout lost the bit.
    fs::set_permissions(d.join("bootstrap"), fs::Permissions::from_mode(0o644)).unwrap();
    sls_in(d).arg("package").assert().success();
    let e = entries(&d.join(".serverless/svc.zip"));
    let modes: Vec<(&str, u32)> = e.iter().map(|(k, v)| (k.as_str(), v.0)).collect();
    assert_eq!(
        modes,
        [
            ("bin/tool", 0o755),
            ("bootstrap", 0o755),
            ("data/private.json", 0o644)
        ]
    );
    let listing = Std::new("unzip")
        .arg("-Z")
        .arg(d.join(".serverless/svc.zip"))
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    assert!(
        listing.contains("-rwxr-xr-x") && listing.contains("80-Jan-01 00:00"),
        "{listing}"
    );
}

#[test]
fn individually_gives_one_zip_per_function_with_its_own_patterns() {
    let dir = node_service(
        "service: svc
provider:
  name: aws
  runtime: nodejs22.x
package:
  individually: true
  patterns: ['!**', 'src/lib/**']
functions:
  api:
    handler: src/api.main
    package:
      patterns: ['src/api.js']
  worker:
    handler: src/worker.main
    package:
      patterns: ['src/worker.js']
",
    );
    sls_in(dir.path()).arg("package").assert().success();
    let out = dir.path().join(".serverless");
    assert_eq!(
        names(&out.join("api.zip")),
        ["src/api.js", "src/lib/util.js"]
    );
    assert_eq!(
        names(&out.join("worker.zip")),
        ["src/lib/util.js", "src/worker.js"]
    );
    unzip_t(&out.join("api.zip"));
    let m = manifest(dir.path());
    assert_eq!(m["functions"]["worker"]["artifact"], "worker.zip");
    assert_eq!(
        m["artifacts"]["api.zip"]["functions"],
        serde_json::json!(["api"])
    );

    // Back to one service zip: the per-function zips this tool wrote are removed.
    fs::write(dir.path().join("serverless.yml"), NODE).unwrap();
    sls_in(dir.path()).arg("package").assert().success();
    assert!(!out.join("api.zip").exists() && out.join("svc.zip").exists());
}

#[test]
fn function_patterns_without_individually_are_reported_as_ignored() {
    let dir = node_service(
        "service: svc\nprovider:\n  name: aws\nfunctions:\n  api:\n    handler: src/api.main\n    package:\n      patterns: ['!src/lib/**']\n",
    );
    let out = sls_in(dir.path())
        .arg("package")
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("only when the function is packaged on its own"),
        "{err}"
    );
    assert!(
        names(&dir.path().join(".serverless/svc.zip")).contains(&"src/lib/util.js".to_string())
    );
}

#[test]
fn prebuilt_artifacts_are_used_as_they_are() {
    let dir = node_service(
        "service: svc
provider:
  name: aws
  runtime: nodejs22.x
functions:
  api:
    handler: src/api.main
    package:
      artifact: build/api.zip
  worker:
    handler: src/worker.main
",
    );
    let d = dir.path();
    // Build the prebuilt zip with Info-ZIP, as a user's own build step might.
    fs::create_dir_all(d.join("build")).unwrap();
    let ok = Std::new("zip")
        .current_dir(d)
        .args(["-q", "build/api.zip", "src/api.js"])
        .status();
    assert!(
        ok.expect("`zip` (Info-ZIP) is needed by this test")
            .success()
    );
    let text = stdout(sls_in(d).arg("package"));
    assert!(
        text.contains("build/api.zip  1 file,") && text.contains("[prebuilt]"),
        "{text}"
    );
    let m = manifest(d);
    assert_eq!(m["functions"]["api"]["artifact"], "build/api.zip");
    assert_eq!(
        m["artifacts"]["build/api.zip"]["sha256"],
        code_sha256(&d.join("build/api.zip"))
    );
    assert_eq!(m["functions"]["worker"]["artifact"], "svc.zip");
    // Found from the manifest's directory, as every reader of the manifest looks for it.
    assert_eq!(m["artifacts"]["build/api.zip"]["path"], "../build/api.zip");
    let out = sls_in(d)
        .env("PATH", std::env::var("PATH").unwrap())
        .args(["invoke", "local", "-f", "api"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!({"statusCode": 200})
    );

    // A prebuilt zip without the handler's file is refused.
    fs::write(d.join("serverless.yml"), "service: svc\nprovider:\n  name: aws\npackage:\n  artifact: build/api.zip\nfunctions:\n  worker:\n    handler: src/worker.main\n").unwrap();
    let out = sls_in(d)
        .arg("package")
        .assert()
        .code(4)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("`src/worker.js`") && err.contains("build/api.zip"),
        "{err}"
    );

    // A missing one too, naming the path.
    fs::write(d.join("serverless.yml"), "service: svc\nprovider:\n  name: aws\npackage:\n  artifact: build/nope.zip\nfunctions:\n  worker:\n    handler: src/worker.main\n").unwrap();
    let out = sls_in(d)
        .arg("package")
        .assert()
        .code(4)
        .get_output()
        .clone();
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("`build/nope.zip`")
    );
}

fn npm_project(dir: &Path, lockfile: bool) {
    write(
        dir,
        "package.json",
        r#"{"name":"svc","dependencies":{"a":"1"},"devDependencies":{"jest":"1"}}"#,
    );
    write(
        dir,
        "node_modules/a/package.json",
        r#"{"name":"a","dependencies":{"b":"1"}}"#,
    );
    write(dir, "node_modules/a/index.js", "");
    write(dir, "node_modules/b/package.json", r#"{"name":"b"}"#);
    write(dir, "node_modules/b/index.js", "");
    write(
        dir,
        "node_modules/jest/package.json",
        r#"{"name":"jest","dependencies":{"c":"1"}}"#,
    );
    write(dir, "node_modules/jest/index.js", "");
    write(dir, "node_modules/c/package.json", r#"{"name":"c"}"#);
    write(dir, "node_modules/c/index.js", "");
    if lockfile {
        write(
            dir,
            "package-lock.json",
            r#"{"lockfileVersion":3,"packages":{"":{"name":"svc"},
               "node_modules/a":{"version":"1"},"node_modules/b":{"version":"1"},
               "node_modules/jest":{"version":"1","dev":true},"node_modules/c":{"version":"1","dev":true}}}"#,
        );
    }
}

#[test]
fn dev_dependencies_are_left_out_from_the_lockfile_or_the_package_graph() {
    for lockfile in [true, false] {
        let dir = service(NODE);
        let d = dir.path();
        write(d, "src/api.js", "");
        write(d, "src/worker.js", "");
        npm_project(d, lockfile);
        sls_in(d).arg("package").assert().success();
        let n = names(&d.join(".serverless/svc.zip"));
        let modules: Vec<&str> = n
            .iter()
            .filter_map(|p| p.strip_prefix("node_modules/")?.split('/').next())
            .collect();
        assert_eq!(modules, ["a", "a", "b", "b"], "lockfile: {lockfile}");

        // excludeDevDependencies: false keeps them.
        fs::write(
            d.join("serverless.yml"),
            format!("{NODE}package:\n  excludeDevDependencies: false\n"),
        )
        .unwrap();
        sls_in(d).arg("package").assert().success();
        let n = names(&d.join(".serverless/svc.zip"));
        assert!(
            n.contains(&"node_modules/jest/index.js".to_string()),
            "{n:?}"
        );
    }
}

#[test]
fn unchanged_inputs_reuse_the_artifact_and_changes_rebuild_it() {
    let dir = node_service(NODE);
    let d = dir.path();
    assert!(stdout(sls_in(d).arg("package")).contains("[built]"));
    let zip = d.join(".serverless/svc.zip");
    let before = fs::metadata(&zip).unwrap().modified().unwrap();
    assert!(stdout(sls_in(d).arg("package")).contains("[unchanged]"));
    assert_eq!(fs::metadata(&zip).unwrap().modified().unwrap(), before);

    write(
        d,
        "src/api.js",
        "exports.main = async () => ({ statusCode: 204 });\n",
    );
    assert!(stdout(sls_in(d).arg("package")).contains("[built]"));
    assert!(entries(&zip)["src/api.js"].1.contains("204"));

    // A damaged artifact is noticed and rebuilt.
    fs::write(&zip, b"not a zip").unwrap();
    assert!(stdout(sls_in(d).arg("package")).contains("[built]"));
    unzip_t(&zip);
}

#[test]
fn json_output_is_the_manifest() {
    let dir = node_service(NODE);
    let text = stdout(sls_in(dir.path()).args(["package", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["service"], "svc");
    assert_eq!(v["stage"], "dev");
    // src/{api,worker,lib/util}.js, tests/api.test.js, README.md: the rest is excluded by default.
    assert_eq!(v["artifacts"]["svc.zip"]["files"], 5);
    assert_eq!(v, manifest(dir.path()));
}

#[test]
fn large_files_are_streamed_and_still_valid() {
    let dir = node_service(NODE);
    // Over the in-memory threshold; text so that it compresses.
    let big: String = (0..400_000)
        .map(|i| format!("line {i:08}\n"))
        .collect::<String>()
        .repeat(2);
    write(dir.path(), "src/data.txt", &big);
    sls_in(dir.path()).arg("package").assert().success();
    let zip = dir.path().join(".serverless/svc.zip");
    unzip_t(&zip);
    assert_eq!(entries(&zip)["src/data.txt"].1.len(), big.len());
    let leftovers: Vec<_> = fs::read_dir(dir.path().join(".serverless"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

fn package_err(dir: &Path) -> String {
    let out = sls_in(dir)
        .arg("package")
        .assert()
        .code(4)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[cfg(unix)]
#[test]
fn symlinks_outside_the_service_and_broken_ones_are_refused_when_included() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.txt", "s3cret");
    let dir = node_service(NODE);
    let d = dir.path();
    symlink(outside.path().join("secret.txt"), d.join("src/secret.txt")).unwrap();
    let err = package_err(d);
    assert!(
        err.contains("`src/secret.txt` is a symlink")
            && err.contains("outside the service directory"),
        "{err}"
    );
    assert!(err.contains("`!src/secret.txt`"), "{err}");
    assert!(!d.join(".serverless/svc.zip").exists());

    // Excluded, it is no problem.
    fs::write(
        d.join("serverless.yml"),
        format!("{NODE}package:\n  patterns: ['!src/secret.txt']\n"),
    )
    .unwrap();
    sls_in(d).arg("package").assert().success();
    fs::remove_file(d.join("src/secret.txt")).unwrap();

    // A directory pointing outside counts for everything below it.
    symlink(outside.path(), d.join("shared")).unwrap();
    let err = package_err(d);
    assert!(
        err.contains("`shared` is a symlink") && err.contains("`!shared/**`"),
        "{err}"
    );
    fs::remove_file(d.join("shared")).unwrap();

    // Inside the service, a symlink is packaged as the file it points to.
    symlink("api.js", d.join("src/alias.js")).unwrap();
    sls_in(d).arg("package").assert().success();
    let e = entries(&d.join(".serverless/svc.zip"));
    assert_eq!(e["src/alias.js"].1, e["src/api.js"].1);

    symlink("gone.js", d.join("src/broken.js")).unwrap();
    let err = package_err(d);
    assert!(err.contains("`src/broken.js` is a broken symlink"), "{err}");
}

#[test]
fn a_missing_handler_file_names_the_path() {
    let dir = service(NODE);
    write(dir.path(), "src/api.js", "");
    let err = package_err(dir.path());
    assert!(err.contains("`src/worker.main` of function `worker` needs `src/worker.js` or `src/worker.mjs` or `src/worker.cjs`"), "{err}");

    // Present but excluded is said so.
    write(dir.path(), "src/worker.mjs", "");
    fs::write(
        dir.path().join("serverless.yml"),
        format!("{NODE}package:\n  patterns: ['!src/worker.mjs']\n"),
    )
    .unwrap();
    let err = package_err(dir.path());
    assert!(err.contains("package.patterns leave out"), "{err}");
}

#[test]
fn no_matching_file_is_an_error() {
    let dir = node_service(&format!("{NODE}package:\n  patterns: ['!**']\n"));
    let err = package_err(dir.path());
    assert!(
        err.contains("no file matches the include/exclude patterns for `svc.zip`"),
        "{err}"
    );
}

#[test]
fn over_250_mb_unzipped_is_refused_before_compressing_and_lists_the_largest_paths() {
    let dir = node_service(NODE);
    let f = fs::File::create(dir.path().join("src/huge.bin")).unwrap();
    // Sparse: no disk used, but 260 MB to Lambda.
    f.set_len(260 << 20).unwrap();
    let err = package_err(dir.path());
    assert!(
        err.contains("`svc.zip` would be 260.0 MB unzipped, over Lambda's limit of 250.0 MB"),
        "{err}"
    );
    assert!(err.contains("260.0 MB  src/huge.bin"), "{err}");
    // Refused from the file sizes alone: nothing was compressed or written.
    assert!(!dir.path().join(".serverless/svc.zip").exists());
}

#[test]
fn json_errors_name_the_package_kind() {
    let dir = service(NODE);
    let out = sls_in(dir.path())
        .args(["package", "--json"])
        .assert()
        .code(4)
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "package");
}

/// The library entry point with lowered limits, so that the limit paths run on small trees.
fn package_with(
    dir: &Path,
    limits: sls::package::Limits,
) -> Result<sls::package::Packaged, sls::package::PackageError> {
    let loaded = sls::config::load(&sls::config::LoadOptions {
        cwd: dir.to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    sls::package::package(
        &sls::package::Request {
            config: &loaded.config,
            service_dir: &loaded.service_dir,
            config_file: "serverless.yml",
            out_dir: dir.join(".serverless"),
            stage: &loaded.stage,
            region: &loaded.region,
            limits,
            python_cache: dir.join(".python-cache"),
            tools_cache: dir.join(".tools-cache"),
        },
        &|_, _| {},
    )
}

#[test]
fn over_the_direct_upload_size_warns_that_deploy_goes_through_s3() {
    let dir = node_service(NODE);
    npm_project(dir.path(), true);
    write(
        dir.path(),
        "node_modules/@scope/big/index.js",
        &"x = 1;\n".repeat(5000),
    );
    let limits = sls::package::Limits {
        direct_upload: 300,
        ..Default::default()
    };
    let p = package_with(dir.path(), limits).unwrap();
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let w = &p.warnings[0];
    assert!(
        w.contains("`svc.zip` is") && w.contains("deploy will send it through S3"),
        "{w}"
    );
    // Sizes are summed per package (scoped ones included), the largest first.
    let first = w.lines().nth(1).unwrap();
    assert!(first.ends_with("node_modules/@scope/big"), "{w}");

    let limits = sls::package::Limits {
        unzipped: 1000,
        ..Default::default()
    };
    let e = package_with(dir.path(), limits).unwrap_err();
    assert!(
        matches!(e, sls::package::PackageError::TooLarge { .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("34.2 KB  node_modules/@scope/big"),
        "{e}"
    );
}

#[test]
fn two_runs_started_together_in_one_directory_both_succeed() {
    let dir = common::example();
    for round in 0..8 {
        // A fresh start each round: both runs make the output directory and every file in it.
        let _ = fs::remove_dir_all(dir.path().join(".serverless"));
        let runs: Vec<std::process::Child> = (0..2)
            .map(|_| {
                Std::new(env!("CARGO_BIN_EXE_sls"))
                    .current_dir(dir.path())
                    .env_clear()
                    .arg("package")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for r in runs {
            let out = r.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let m = manifest(dir.path());
        let zip = dir.path().join(".serverless/sls-example.zip");
        assert_eq!(
            m["artifacts"]["sls-example.zip"]["sha256"],
            code_sha256(&zip)
        );
        let left: Vec<String> = fs::read_dir(dir.path().join(".serverless"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("partial"))
            .collect();
        assert!(left.is_empty(), "round {round}: {left:?}");
    }
}

/// The first bytes of a 64-bit little-endian ELF executable for `machine` (0x3e x86_64, 0xb7
/// aarch64): what the check reads of a `bootstrap`.
fn elf(machine: u16) -> Vec<u8> {
    let mut head = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    head.resize(16, 0);
    head.extend_from_slice(&2u16.to_le_bytes());
    head.extend_from_slice(&machine.to_le_bytes());
    head.resize(64, 0);
    head
}

#[test]
fn a_custom_runtime_without_its_bootstrap_says_to_build_it_first() {
    // The aws-rust template as created, before `cargo lambda build`.
    let dir = tempfile::tempdir().unwrap();
    sls_in(dir.path())
        .args(["create", "--template", "aws-rust", "--path", "svc"])
        .assert()
        .success();
    let svc = dir.path().join("svc");
    let err = common::stderr_of(sls_in(&svc).arg("package"), 4);
    assert!(
        err.contains("has no `bootstrap` at its root")
            && err.contains("cargo lambda build --release --arm64"),
        "{err}"
    );
    // Built for the other instruction set: refused before Lambda would fail to start it.
    fs::write(svc.join("bootstrap"), elf(0x3e)).unwrap();
    let err = common::stderr_of(sls_in(&svc).arg("package"), 4);
    assert!(
        err.contains("is built for x86_64, but function `hello` runs on arm64")
            && err.contains("architecture: x86_64"),
        "{err}"
    );
    fs::write(svc.join("bootstrap"), elf(0xb7)).unwrap();
    sls_in(&svc).arg("package").assert().success();
    // A script is not an ELF binary: left to its shebang.
    fs::write(svc.join("bootstrap"), "#!/bin/sh\necho hi\n").unwrap();
    sls_in(&svc).arg("package").assert().success();
}

#[test]
fn a_handler_file_that_is_not_there_is_located_in_the_config() {
    let dir = service(
        "service: svc\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  hello:\n    handler: src/missing.main\n",
    );
    write(
        dir.path(),
        "src/other.js",
        "exports.main = async () => 1;\n",
    );
    let err = common::stderr_of(sls_in(dir.path()).arg("package"), 4);
    assert!(
        err.contains("the handler `src/missing.main` of function `hello` needs `src/missing.js`")
            && err.contains("--> serverless.yml:7:14"),
        "{err}"
    );
}
