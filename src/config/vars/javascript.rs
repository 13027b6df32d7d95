//! `${file(./config.js)}` and `${file(./config.js):key}`: Serverless runs such modules with node
//! and uses what they export; sls does the same when node is on PATH. The module's export is
//! taken as it is, or called when it is a function (awaited when it returns a promise) with
//! `{ options }`; along the address, a property that is a function is called the same way. The
//! result travels back as JSON.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A module that takes longer than this is stopped and reported.
const LIMIT: Duration = Duration::from_secs(30);

/// The program node runs: argv = [module path, address, options as JSON].
const RUNNER: &str = r#"
const [file, address, options] = process.argv.slice(1);
const context = {
  options: JSON.parse(options),
  resolveVariable: async (v) => { throw new Error(`resolveVariable(${v}) is not available when sls runs a variables file`); },
  resolveConfigurationProperty: async (p) => { throw new Error(`resolveConfigurationProperty(${p}) is not available when sls runs a variables file`); },
};
const settle = async (v) => (typeof v === 'function' ? await v(context) : await v);
(async () => {
  let mod;
  if (file.endsWith('.mjs')) {
    mod = await import(require('url').pathToFileURL(file).href);
    mod = mod.default !== undefined ? mod.default : mod;
  } else {
    try {
      mod = require(file);
    } catch (e) {
      if (e.code !== 'ERR_REQUIRE_ESM') throw e;
      const m = await import(require('url').pathToFileURL(file).href);
      mod = m.default !== undefined ? m.default : m;
    }
  }
  let value = await settle(mod);
  for (const key of address ? address.split('.') : []) {
    if (value === null || value === undefined) break;
    value = await settle(value[key]);
  }
  process.stdout.write(JSON.stringify(value === undefined ? { missing: true } : { value }));
})().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
"#;

/// Runs `file` with node from the environment's PATH.
pub(super) fn run(
    file: &Path,
    address: Option<&str>,
    options: &serde_json::Value,
    env: &std::collections::HashMap<String, String>,
) -> Result<Option<serde_json::Value>, String> {
    // None: nothing at the address (fallbacks apply).
    let node = find_node(env).ok_or_else(|| {
        "node is not on PATH; Serverless runs JavaScript variable files with node: install Node.js, or export the values to a .yml or .json file".to_string()
    })?;
    let mut child = Command::new(node)
        .arg("-e")
        .arg(RUNNER)
        .arg(file)
        .arg(address.unwrap_or(""))
        .arg(options.to_string())
        .env_clear()
        .envs(env)
        .current_dir(file.parent().unwrap_or(Path::new(".")))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start node: {e}"))?;
    // Read both pipes while waiting, so a chatty module cannot fill one and stall.
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = stdout.as_mut() {
            let _ = p.read_to_end(&mut s);
        }
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = stderr.as_mut() {
            let _ = p.read_to_end(&mut s);
        }
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if started.elapsed() > LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the module did not finish within {} s",
                    LIMIT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for node: {e}")),
        }
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if !status.success() {
        let text = String::from_utf8_lossy(&err);
        let first: Vec<&str> = text.lines().take(3).collect();
        return Err(format!("the module failed: {}", first.join(" / ")));
    }
    let doc: serde_json::Value = serde_json::from_slice(&out)
        .map_err(|e| format!("the module's value is not JSON-serialisable: {e}"))?;
    Ok(doc.get("value").cloned())
}

fn find_node(env: &std::collections::HashMap<String, String>) -> Option<std::path::PathBuf> {
    crate::config::runtime::on_path(env.get("PATH")?.as_ref(), "node")
}
