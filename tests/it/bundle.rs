//! TypeScript and bundling with esbuild: a `.ts` handler importing a dependency is bundled (the
//! dependency inside, the sources out), an `external` package is copied with its own
//! dependencies, an ES module handler becomes `.mjs`, and the bundles answer under `invoke
//! local` and `offline`. esbuild comes from the test script (pinned, in target/test-tools).

use crate::common;

use std::io::Read;
use std::path::Path;

const SERVICE: &str = "service: ts
provider:
  name: aws
  runtime: nodejs22.x
functions:
  create:
    handler: src/create.handler
    events:
      - httpApi: GET /hello
  esm:
    handler: src/esm.handler
  scoped:
    handler: src/scoped/top.handler
custom:
  esbuild:
    external: [ext-dep]
    sourcemap: false
";

fn esbuild() -> std::path::PathBuf {
    let p = common::root().join("target/test-tools/node_modules/.bin/esbuild");
    assert!(
        p.is_file(),
        "esbuild is missing: run scripts/test, which installs it"
    );
    p
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn service() -> tempfile::TempDir {
    let dir = common::service(SERVICE);
    let d = dir.path();
    write(
        d,
        "src/create.ts",
        "import { pad } from \"tiny-pad\";\nconst { tag } = require(\"ext-dep\");\n\ninterface Ev { queryStringParameters?: { name?: string } }\n\nexport const handler = async (event: Ev) => {\n  const who: string = event?.queryStringParameters?.name ?? \"world\";\n  return { statusCode: 200, body: JSON.stringify({ hello: pad(who), tag: tag() }) };\n};\n",
    );
    write(
        d,
        "src/esm.mts",
        "import { pad } from \"tiny-pad\";\nexport const handler = async (): Promise<string> => pad(typeof import.meta.url);\n",
    );
    // A `.ts` file under a package.json of `"type": "module"`: Node.js (and Lambda) loads its
    // bundle as an ES module, top-level await and all.
    write(
        d,
        "src/scoped/top.ts",
        "const n: number = await Promise.resolve(2);\nexport const handler = async () => typeof import.meta.url + n;\n",
    );
    write(d, "src/scoped/package.json", "{\"type\": \"module\"}");
    write(
        d,
        "node_modules/tiny-pad/package.json",
        "{\"name\":\"tiny-pad\",\"version\":\"1.0.0\",\"main\":\"index.js\"}",
    );
    write(
        d,
        "node_modules/tiny-pad/index.js",
        "exports.pad = (s) => '[' + s + ']';\n",
    );
    write(
        d,
        "node_modules/ext-dep/package.json",
        "{\"name\":\"ext-dep\",\"version\":\"1.0.0\",\"main\":\"index.js\",\"dependencies\":{\"ext-sub\":\"1\"}}",
    );
    write(
        d,
        "node_modules/ext-dep/index.js",
        "exports.tag = () => require('ext-sub').name;\n",
    );
    write(
        d,
        "node_modules/ext-sub/package.json",
        "{\"name\":\"ext-sub\",\"version\":\"1.0.0\",\"main\":\"index.js\"}",
    );
    write(
        d,
        "node_modules/ext-sub/index.js",
        "exports.name = 'external';\n",
    );
    write(
        d,
        "package.json",
        "{\"name\":\"ts\",\"dependencies\":{\"tiny-pad\":\"1\",\"ext-dep\":\"1\"}}",
    );
    std::fs::create_dir_all(d.join("node_modules/.bin")).unwrap();
    std::os::unix::fs::symlink(esbuild(), d.join("node_modules/.bin/esbuild")).unwrap();
    dir
}

fn zip_names(zip: &Path) -> Vec<String> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    (0..z.len())
        .map(|i| z.by_index(i).unwrap().name().unwrap().to_string())
        .collect()
}

#[test]
fn typescript_is_bundled_and_answers_under_invoke_local_and_offline() {
    let dir = service();
    let d = dir.path();
    common::sls_in(d).arg("package").assert().success();
    let zip = d.join(".serverless/ts.zip");
    let names = zip_names(&zip);
    for want in [
        "src/create.js",
        "src/esm.mjs",
        "src/scoped/top.mjs",
        "node_modules/ext-dep/index.js",
        "node_modules/ext-sub/index.js",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    for gone in [
        "src/create.ts",
        "src/esm.mts",
        "node_modules/tiny-pad/index.js",
        "package.json",
    ] {
        assert!(!names.iter().any(|n| n == gone), "{gone} in {names:?}");
    }
    let mut bundle = String::new();
    zip::ZipArchive::new(std::fs::File::open(&zip).unwrap())
        .unwrap()
        .by_name("src/create.js")
        .unwrap()
        .read_to_string(&mut bundle)
        .unwrap();
    assert!(
        bundle.contains("'[' + s + ']'") || bundle.contains("\"[\" + s + \"]\""),
        "the dependency is inside: {bundle}"
    );
    assert!(
        bundle.contains("require(\"ext-dep\")"),
        "the external stays a require"
    );

    // Unchanged sources: the zip is reused, byte for byte.
    let again = common::sls_in(d)
        .arg("package")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(again).unwrap().contains("unchanged"));

    let run = |f: &str, data: &str| -> serde_json::Value {
        let out = common::sls_in(d)
            .env("PATH", std::env::var("PATH").unwrap())
            .args(["invoke", "local", "-f", f, "--data", data])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out).unwrap()
    };
    let created = run("create", r#"{"queryStringParameters":{"name":"ts"}}"#);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(created["body"].as_str().unwrap()).unwrap(),
        serde_json::json!({"hello": "[ts]", "tag": "external"})
    );
    // An ES module: `import.meta.url` is there (esbuild empties `import.meta` in CommonJS).
    assert_eq!(run("esm", "{}"), serde_json::json!("[string]"));
    assert_eq!(run("scoped", "{}"), serde_json::json!("string2"));

    let offline = common::offline::Offline::start(d, &[]);
    let (status, _, body) = offline.request("GET", "/hello?name=web", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"hello": "[web]", "tag": "external"})
    );
}

#[test]
fn without_esbuild_the_error_says_how_to_install_it() {
    let dir = common::service(
        "service: ts\nprovider:\n  name: aws\n  runtime: nodejs22.x\nfunctions:\n  f:\n    handler: h.main\n",
    );
    write(dir.path(), "h.ts", "export const main = async () => 1;\n");
    let err = common::stderr_of(
        common::sls_in(dir.path())
            .env("PATH", "/nonexistent")
            .arg("package"),
        4,
    );
    assert!(
        err.contains("esbuild is needed to bundle h.ts")
            && err.contains("npm install --save-dev esbuild"),
        "{err}"
    );
}

#[test]
fn source_maps_go_in_and_node_is_told_to_read_them() {
    let dir = common::service(
        "service: ts\nprovider:\n  name: aws\n  runtime: nodejs22.x\nfunctions:\n  f:\n    handler: h.main\nbuild:\n  esbuild:\n    sourcemap: true\n    minify: true\n",
    );
    let d = dir.path();
    write(
        d,
        "h.js",
        "exports.main = async () => process.env.NODE_OPTIONS;\n",
    );
    std::fs::create_dir_all(d.join("node_modules/.bin")).unwrap();
    std::os::unix::fs::symlink(esbuild(), d.join("node_modules/.bin/esbuild")).unwrap();
    common::sls_in(d).arg("package").assert().success();
    let names = zip_names(&d.join(".serverless/ts.zip"));
    assert_eq!(
        names,
        ["h.js", "h.js.map"],
        "a .js handler is bundled when build.esbuild asks"
    );
    let out = common::sls_in(d)
        .env("PATH", std::env::var("PATH").unwrap())
        .args(["invoke", "local", "-f", "f"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
        serde_json::json!("--enable-source-maps")
    );
}

/// A service with a `.ts` handler and no esbuild anywhere: sls fetches the pinned esbuild with
/// the npm beside node, once, into its cache. npm runs offline here, from the cache the test
/// script's own install of that version filled: no network.
#[test]
fn esbuild_is_fetched_with_npm_once_when_none_is_installed() {
    let path = std::env::var_os("PATH").unwrap();
    let find = |name: &str| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{name} is needed by this test"))
    };
    let bin = tempfile::tempdir().unwrap();
    // npm runs esbuild's install script with `sh`.
    for tool in ["node", "npm", "sh"] {
        std::os::unix::fs::symlink(find(tool), bin.path().join(tool)).unwrap();
    }
    let cache = tempfile::tempdir().unwrap();
    let dir = common::service(
        "service: ts\nprovider:\n  name: aws\n  runtime: nodejs22.x\nfunctions:\n  f:\n    handler: h.main\n",
    );
    write(
        dir.path(),
        "h.ts",
        "export const main = async (): Promise<number> => 1;\n",
    );
    let run = || {
        common::sls_in(dir.path())
            .env("PATH", bin.path())
            .env("HOME", std::env::var_os("HOME").unwrap())
            .env("XDG_CACHE_HOME", cache.path())
            .env("npm_config_offline", "true")
            .arg("package")
            .output()
            .unwrap()
    };
    let first = run();
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "fetching esbuild {} with npm",
            sls::package::bundle::ESBUILD_VERSION
        )),
        "{err}"
    );
    assert!(zip_names(&dir.path().join(".serverless/ts.zip")).contains(&"h.js".to_string()));
    let installed = cache
        .path()
        .join("sls/tools")
        .join(format!("esbuild-{}", sls::package::bundle::ESBUILD_VERSION))
        .join("node_modules/.bin/esbuild");
    assert!(installed.is_file());
    // The next run uses it: nothing fetched again.
    std::fs::write(
        dir.path().join("h.ts"),
        "export const main = async () => 2;\n",
    )
    .unwrap();
    let second = run();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{err}");
    assert!(!err.contains("fetching esbuild"), "{err}");
}

/// The test script installs the esbuild sls fetches.
#[test]
fn the_test_script_pins_the_esbuild_sls_fetches() {
    let script = std::fs::read_to_string(common::root().join("scripts/test")).unwrap();
    assert!(
        script.contains(&format!(
            "ESBUILD_VERSION={}",
            sls::package::bundle::ESBUILD_VERSION
        )),
        "scripts/test and package::bundle::ESBUILD_VERSION disagree"
    );
}
