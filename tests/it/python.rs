//! Python dependencies: `requirements.txt` installed for each function's runtime and
//! architecture (binary wheels for Lambda's Linux, not the host's), cached, and usable under
//! `invoke local`; a package without such a wheel is named. These tests reach the Python
//! package index (through pip's own configuration, as CI's machines have it).

use crate::common;

use std::io::Read;
use std::path::Path;

const SERVICE: &str = "service: py
provider:
  name: aws
  runtime: python3.11
package:
  individually: true
functions:
  onX86:
    handler: handler.main
  onArm:
    handler: handler.main
    runtime: python3.12
    architecture: arm64
custom:
  pythonRequirements:
    noDeploy: [boto3]
    dockerizePip: true
";

const HANDLER: &str = "import markupsafe\n\ndef main(event, context):\n    return {'escaped': str(markupsafe.escape('<b>'))}\n";

/// `sls` with what pip needs from the environment and a cache of the test's own.
fn sls(dir: &Path, cache: &Path) -> assert_cmd::Command {
    let mut c = common::sls_in(dir);
    c.env("XDG_CACHE_HOME", cache);
    for (k, v) in std::env::vars() {
        if k == "PATH" || k == "HOME" || k.starts_with("PIP_") || k.starts_with("UV_") {
            c.env(k, v);
        }
    }
    c
}

fn zip_text(zip: &Path, suffix: &str) -> Option<(String, String)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let name = (0..z.len())
        .map(|i| z.by_index(i).unwrap().name().unwrap().to_string())
        .find(|n| n.ends_with(suffix))?;
    let mut bytes = Vec::new();
    z.by_name(&name).unwrap().read_to_end(&mut bytes).unwrap();
    Some((name, String::from_utf8_lossy(&bytes).into_owned()))
}

#[test]
fn requirements_are_installed_per_runtime_and_architecture_cached_and_run_locally() {
    let dir = common::service(SERVICE);
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("handler.py"), HANDLER).unwrap();
    std::fs::write(
        dir.path().join("requirements.txt"),
        "# escaping\nmarkupsafe==3.0.2\nboto3\n",
    )
    .unwrap();
    let out = sls(dir.path(), cache.path())
        .arg("package")
        .assert()
        .success()
        .get_output()
        .clone();
    let notes = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(notes.contains("dockerizePip is not needed"), "{notes}");
    let built = dir.path().join(".serverless");
    for (zip, tag, so) in [
        (
            "onX86.zip",
            "cp311-cp311-manylinux_2_17_x86_64",
            "cpython-311-x86_64-linux-gnu.so",
        ),
        (
            "onArm.zip",
            "cp312-cp312-manylinux_2_17_aarch64",
            "cpython-312-aarch64-linux-gnu.so",
        ),
    ] {
        let (name, wheel) = zip_text(&built.join(zip), ".dist-info/WHEEL").unwrap();
        assert!(
            name.starts_with("markupsafe-3.0.2.dist-info/")
                || name.starts_with("MarkupSafe-3.0.2.dist-info/"),
            "{name}"
        );
        assert!(wheel.contains(tag), "{zip}: {wheel}");
        assert!(
            zip_text(&built.join(zip), so).is_some(),
            "{zip} has the compiled module"
        );
        assert!(zip_text(&built.join(zip), "handler.py").is_some());
        assert!(
            zip_text(&built.join(zip), "boto3/__init__.py").is_none(),
            "noDeploy"
        );
    }
    // Two sets in the cache, and a second package reuses them and the zips.
    let sets = std::fs::read_dir(cache.path().join("sls/python"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .count();
    assert_eq!(sets, 2);
    let again = sls(dir.path(), cache.path())
        .arg("package")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let again = String::from_utf8(again).unwrap();
    assert_eq!(again.matches("unchanged").count(), 2, "{again}");

    // The host runs python3.11: the x86_64 function's dependencies load under invoke local.
    let run = sls(dir.path(), cache.path())
        .args(["invoke", "local", "-f", "onX86"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&run).unwrap();
    assert_eq!(doc, serde_json::json!({"escaped": "&lt;b&gt;"}));
}

#[test]
fn a_package_without_a_wheel_for_lambda_is_named_and_nothing_is_built_for_the_host() {
    let dir = common::service(
        "service: py\nprovider:\n  name: aws\n  runtime: python3.12\nfunctions:\n  f:\n    handler: handler.main\n",
    );
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("handler.py"), HANDLER).unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "pycrypto==2.6.1\n").unwrap();
    let err = common::stderr_of(sls(dir.path(), cache.path()).arg("package"), 4);
    assert!(
        err.contains("no wheel of `pycrypto` for python3.12 on x86_64"),
        "{err}"
    );
    assert!(!dir.path().join(".serverless/py.zip").exists());
}

#[test]
fn keys_sls_cannot_honour_and_an_unexported_pyproject_are_refused() {
    let dir = common::service(
        "service: py\nprovider:\n  name: aws\n  runtime: python3.12\nfunctions:\n  f:\n    handler: handler.main\ncustom:\n  pythonRequirements:\n    layer: {path: deps}\n",
    );
    std::fs::write(dir.path().join("handler.py"), HANDLER).unwrap();
    let err = common::stderr_of(common::sls_in(dir.path()).arg("package"), 3);
    assert!(
        err.contains("serverless.yml:10:12")
            && err.contains("`layer` is true, false, or a mapping"),
        "{err}"
    );

    let dir = common::service(
        "service: py\nprovider:\n  name: aws\n  runtime: python3.12\nfunctions:\n  f:\n    handler: handler.main\n",
    );
    std::fs::write(dir.path().join("handler.py"), HANDLER).unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"x\"\ndependencies = [\"markupsafe\"]\n",
    )
    .unwrap();
    let err = common::stderr_of(common::sls_in(dir.path()).arg("package"), 4);
    assert!(
        err.contains("has no lock file") && err.contains("uv lock"),
        "{err}"
    );
    // With uv.lock, uv exports it; without uv on PATH the error says to install it.
    std::fs::write(
        dir.path().join("uv.lock"),
        "version = 1
",
    )
    .unwrap();
    let err = common::stderr_of(common::sls_in(dir.path()).arg("package"), 4);
    assert!(err.contains("cannot run `uv`"), "{err}");
    // `useUv: false` lets it be: then nothing stands in for requirements.txt.
    let no_uv = "service: py\nprovider:\n  name: aws\n  runtime: python3.12\nfunctions:\n  f:\n    handler: handler.main\ncustom:\n  pythonRequirements:\n    useUv: false\n    poetryWithGroups: main\n";
    std::fs::write(dir.path().join("serverless.yml"), no_uv).unwrap();
    let err = common::stderr_of(common::sls_in(dir.path()).arg("package"), 3);
    assert!(
        err.contains("serverless.yml:11:23") && err.contains("list of poetry group names"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("serverless.yml"),
        no_uv.replace("    poetryWithGroups: main\n", ""),
    )
    .unwrap();
    let err = common::stderr_of(common::sls_in(dir.path()).arg("package"), 4);
    assert!(err.contains("has no lock file"), "{err}");
}

#[test]
fn a_pipfile_lock_stands_in_for_requirements_txt() {
    let dir = common::service(
        "service: py\nprovider:\n  name: aws\n  runtime: python3.12\nfunctions:\n  f:\n    handler: handler.main\n",
    );
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("handler.py"), HANDLER).unwrap();
    std::fs::write(
        dir.path().join("Pipfile"),
        "[packages]\nmarkupsafe = \"*\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("Pipfile.lock"),
        r#"{"_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}]},
            "default": {"markupsafe": {"hashes": [], "markers": "python_version >= '3.9'", "version": "==3.0.2"}},
            "develop": {"pytest": {"hashes": [], "version": "==8.3.4"}}}"#,
    )
    .unwrap();
    sls(dir.path(), cache.path())
        .arg("package")
        .assert()
        .success();
    let zip = dir.path().join(".serverless/py.zip");
    let (name, _) = zip_text(&zip, "-3.0.2.dist-info/METADATA").expect("markupsafe installed");
    assert!(
        name.eq_ignore_ascii_case("markupsafe-3.0.2.dist-info/METADATA"),
        "{name}"
    );
    assert!(
        zip_text(&zip, "pytest/__init__.py").is_none(),
        "develop packages stay out"
    );
    let exported =
        std::fs::read_to_string(dir.path().join(".serverless/python-requirements.txt")).unwrap();
    assert_eq!(exported, "markupsafe==3.0.2 ; python_version >= '3.9'\n");
}

#[test]
fn with_layer_true_the_dependencies_are_a_layer_the_functions_name() {
    let dir = common::service(
        "service: py
provider:
  name: aws
  runtime: python3.11
functions:
  f:
    handler: handler.main
    layers:
      - Ref: PythonRequirementsLambdaLayer
custom:
  pythonRequirements:
    layer:
      description: deps
",
    );
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("handler.py"), HANDLER).unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "markupsafe==3.0.2\n").unwrap();
    sls(dir.path(), cache.path())
        .arg("package")
        .assert()
        .success();
    let built = dir.path().join(".serverless");
    let layer = built.join("layer-pythonRequirements.zip");
    let (name, wheel) = zip_text(&layer, ".dist-info/WHEEL").unwrap();
    assert!(
        name.to_lowercase()
            .starts_with("python/markupsafe-3.0.2.dist-info/"),
        "{name}"
    );
    assert!(
        wheel.contains("cp311-cp311-manylinux_2_17_x86_64"),
        "{wheel}"
    );
    assert!(zip_text(&layer, "python/markupsafe/__init__.py").is_some());
    // The function's own zip holds its code only.
    assert!(zip_text(&built.join("py.zip"), "handler.py").is_some());
    assert!(zip_text(&built.join("py.zip"), "markupsafe/__init__.py").is_none());
    let manifest = std::fs::read_to_string(built.join("sls-manifest.json")).unwrap();
    assert!(
        manifest.contains("\"pythonRequirements\": \"layer-pythonRequirements.zip\""),
        "{manifest}"
    );
    // Under invoke local the function finds them where Lambda puts a layer's Python packages.
    let run = sls(dir.path(), cache.path())
        .args(["invoke", "local", "-f", "f"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&run).unwrap();
    assert_eq!(doc, serde_json::json!({"escaped": "&lt;b&gt;"}));
}

#[test]
fn a_module_is_its_functions_package_with_its_own_requirements() {
    let dir = common::service(
        "service: py
provider:
  name: aws
  runtime: python3.11
package:
  individually: true
functions:
  one:
    handler: index.main
    module: function1
  two:
    handler: index.main
    module: function2/
",
    );
    let cache = tempfile::tempdir().unwrap();
    for m in ["function1", "function2"] {
        std::fs::create_dir_all(dir.path().join(m)).unwrap();
    }
    std::fs::write(dir.path().join("function1/index.py"), HANDLER).unwrap();
    std::fs::write(
        dir.path().join("function1/requirements.txt"),
        "markupsafe==3.0.2\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("function2/index.py"),
        "def main(event, context):\n    return 'two'\n",
    )
    .unwrap();
    sls(dir.path(), cache.path())
        .arg("package")
        .assert()
        .success();
    let built = dir.path().join(".serverless");
    let one = built.join("one.zip");
    assert!(zip_text(&one, "index.py").is_some_and(|(n, _)| n == "index.py"));
    assert!(zip_text(&one, "markupsafe/__init__.py").is_some());
    assert!(zip_text(&one, "requirements.txt").is_some_and(|(n, _)| n == "requirements.txt"));
    let two = built.join("two.zip");
    assert!(
        zip_text(&two, "index.py").is_some_and(|(n, t)| n == "index.py" && t.contains("'two'"))
    );
    assert!(zip_text(&two, "markupsafe/__init__.py").is_none());
    assert!(zip_text(&two, "function1/index.py").is_none());
    let run = sls(dir.path(), cache.path())
        .args(["invoke", "local", "-f", "one"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&run).unwrap();
    assert_eq!(doc, serde_json::json!({"escaped": "&lt;b&gt;"}));
    // Without `package.individually` the module means nothing, as with the plugin: said, and
    // the handler is then looked for at the service's root.
    std::fs::write(
        dir.path().join("serverless.yml"),
        std::fs::read_to_string(dir.path().join("serverless.yml"))
            .unwrap()
            .replace("package:\n  individually: true\n", ""),
    )
    .unwrap();
    let out = sls(dir.path(), cache.path())
        .arg("package")
        .assert()
        .code(4)
        .get_output()
        .stderr
        .clone();
    let notes = String::from_utf8_lossy(&out);
    assert!(notes.contains("`module` of `one` has no effect"), "{notes}");
    assert!(notes.contains("needs `index.py`"), "{notes}");
}
