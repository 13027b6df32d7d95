//! Packaging settings: `package`, the esbuild and python-requirements plugins' `custom`
//! sections, and `layers`.

// The checker and the helpers every topic shares.
use super::*;

/// `build.esbuild` (Serverless v4) and `custom.esbuild` (serverless-esbuild): the keys sls
/// honours when it bundles; any other would change what is deployed and is refused here.
pub(super) fn esbuild_settings(c: &mut Checker) {
    for at in [["build", "esbuild"], ["custom", "esbuild"]] {
        let Some(Node {
            value: crate::config::yaml::Value::Map(entries),
            ..
        }) = c.tree.at_path(&at)
        else {
            continue;
        };
        let unknown: Vec<String> = entries
            .iter()
            .map(|e| e.key.clone())
            .filter(|k| !crate::config::plugins::ESBUILD_KEYS.contains(&k.as_str()))
            .collect();
        for key in unknown {
            let p = c.error_key(
                &[at[0], at[1], key.as_str()],
                format!("`{}.{}.{key}` is not honoured by sls", at[0], at[1]),
            );
            p.help = Some(format!(
                "sls honours {}; remove this key",
                crate::config::plugins::ESBUILD_KEYS.join(", ")
            ));
            p.deploy_only = true;
        }
    }
    if let Some(b) = c.tree.get("build")
        && let crate::config::yaml::Value::Map(entries) = &b.value
    {
        let other: Vec<String> = entries
            .iter()
            .map(|e| e.key.clone())
            .filter(|k| k != "esbuild")
            .collect();
        for key in other {
            let p = c.error_key(
                &["build", key.as_str()],
                format!("`build.{key}` is not honoured by sls, which reads `build.esbuild` only"),
            );
            p.help = Some("remove this key".into());
            p.deploy_only = true;
        }
    }
}

/// `custom.pythonRequirements`: the serverless-python-requirements keys sls honours when it
/// installs a Python function's dependencies; the Docker ones are not needed (wheels for Lambda's
/// platform are fetched directly); the rest would change what is deployed and are refused.
pub(super) fn python_requirements(c: &mut Checker) {
    let Some(Node {
        value: crate::config::yaml::Value::Map(entries),
        ..
    }) = c.tree.at_path(&["custom", "pythonRequirements"])
    else {
        return;
    };
    let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
    for key in keys {
        let path = ["custom", "pythonRequirements", key.as_str()];
        match key.as_str() {
            "fileName"
            | "slim"
            | "slimPatterns"
            | "noDeploy"
            | "invalidateCaches"
            | "cacheLocation"
            | "useStaticCache"
            | "useDownloadCache"
            | "staticCacheMaxVersions"
            | "strip" => {}
            "slimPatternsAppendDefaults" => {
                if c.tree
                    .at_path(&path)
                    .is_some_and(|n| matches!(n.value, crate::config::yaml::Value::Bool(false)))
                {
                    c.error(&path, "sls always leaves out the default slim patterns (`__pycache__`, `*.pyc`, `*.dist-info`) with `slim: true`")
                        .help = Some("remove `slimPatternsAppendDefaults: false`, or `slim`".into());
                }
            }
            "dockerizePip"
            | "dockerImage"
            | "dockerFile"
            | "dockerSsh"
            | "dockerPrivateKey"
            | "dockerBuildCmdExtraArgs"
            | "dockerRunCmdExtraArgs"
            | "dockerEnv"
            | "dockerRootless"
            | "useDocker" => {
                c.out.push(Problem::new(
                    crate::diag::Severity::Note,
                    format!("custom.pythonRequirements.{key} is not needed: sls installs wheels built for Lambda's platform without Docker"),
                    c.key_span(&path),
                ));
            }
            // Honoured when there is no requirements file: which lock file is exported.
            "usePoetry" | "usePipenv" | "useUv" => {
                if !c
                    .tree
                    .at_path(&path)
                    .is_some_and(|n| matches!(n.value, crate::config::yaml::Value::Bool(_)))
                {
                    c.error(&path, format!("`{key}` is true or false"));
                }
            }
            "poetryWithGroups" | "poetryWithoutGroups" | "poetryOnlyGroups" => {
                let strings = c.tree.at_path(&path).is_some_and(|n| match &n.value {
                    crate::config::yaml::Value::Seq(items) => items
                        .iter()
                        .all(|i| matches!(i.value, crate::config::yaml::Value::Str(_))),
                    _ => false,
                });
                if !strings {
                    c.error(&path, format!("`{key}` is a list of poetry group names"));
                }
            }
            // The dependencies as a layer of their own (see `model::python_layer`).
            "layer" => {
                let ok = match c.tree.at_path(&path).map(|n| &n.value) {
                    Some(crate::config::yaml::Value::Bool(_)) => true,
                    Some(crate::config::yaml::Value::Map(es)) => es.iter().all(|e| {
                        [
                            "name",
                            "description",
                            "compatibleRuntimes",
                            "compatibleArchitectures",
                            "licenseInfo",
                            "allowedAccounts",
                            "retain",
                        ]
                        .contains(&e.key.as_str())
                    }),
                    _ => false,
                };
                if !ok {
                    c.error(&path, "`layer` is true, false, or a mapping of the layer's settings")
                        .help = Some("use `name`, `description`, `compatibleRuntimes`, `compatibleArchitectures`, `licenseInfo`, `allowedAccounts` or `retain`, as under `layers:`".into());
                }
            }
            "zip" => {
                c.error_key(
                    &path,
                    "zipped dependencies (`unzip_requirements`) are not built into sls",
                )
                .help = Some(
                    "remove `zip`; with `slim: true` most services fit Lambda's 250 MB".into(),
                );
            }
            other => {
                let p = c.error_key(
                    &path,
                    format!("`custom.pythonRequirements.{other}` is not honoured by sls"),
                );
                p.help = Some("sls honours fileName, slim, slimPatterns, noDeploy, invalidateCaches and cacheLocation; remove this key".into());
                p.deploy_only = true;
            }
        }
    }
}

/// A layer of `layers:`: what Lambda's PublishLayerVersion accepts.
pub(super) fn layer(c: &mut Checker, key: &str, l: &crate::config::model::Layer) {
    let name = l.name.clone().unwrap_or_else(|| key.to_string());
    let good = |ch: char| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_';
    if name.is_empty() || name.len() > 140 || !name.chars().all(good) {
        let msg = format!("`{name}` cannot name a Lambda layer");
        let p = if l.name.is_some() {
            c.error(&["layers", key, "name"], msg)
        } else {
            c.error_key(&["layers", key], msg)
        };
        p.help = Some(
            "use 1 to 140 letters, digits, hyphens and underscores (set `name:` to keep the key)"
                .into(),
        );
    }
    let prebuilt = l
        .package
        .as_ref()
        .and_then(|p| p.artifact.as_ref())
        .is_some();
    if l.path.is_none() && !prebuilt && !l.python_requirements {
        c.error_key(&["layers", key], format!("layer `{key}` has no `path`"))
            .help = Some("set `path:` to the directory whose files the layer holds (they appear under /opt), or `package.artifact:` to a zip".into());
    }
    for (k, text, most) in [
        ("description", &l.description, 256),
        ("licenseInfo", &l.license_info, 512),
    ] {
        if let Some(t) = text.as_ref().filter(|t| t.chars().count() > most) {
            c.error(
                &["layers", key, k],
                format!(
                    "is {} characters; Lambda takes at most {most}",
                    t.chars().count()
                ),
            );
        }
    }
    if let Some(rts) = &l.compatible_runtimes {
        let p = ["layers", key, "compatibleRuntimes"];
        if rts.len() > 15 {
            c.error(
                &p,
                format!("lists {} runtimes; Lambda takes at most 15", rts.len()),
            );
        }
        // Deprecated runtimes may be listed: only unknown ones are refused.
        for (i, rt) in rts.iter().enumerate() {
            if crate::config::runtime::Lifecycle::find(rt).is_none() {
                let idx = i.to_string();
                unknown_runtime(c, &["layers", key, "compatibleRuntimes", &idx], rt);
            }
        }
    }
    for (i, acct) in l.allowed_accounts.iter().flatten().enumerate() {
        let ok = acct == "*" || (acct.len() == 12 && acct.chars().all(|ch| ch.is_ascii_digit()));
        if !ok {
            let idx = i.to_string();
            c.error(
                &["layers", key, "allowedAccounts", &idx],
                format!("`{acct}` is not an AWS account id"),
            )
            .help = Some("list 12-digit account ids, or `*` for every account".into());
        }
    }
    if let Some(p) = &l.package {
        package_section(c, &["layers", key, "package"], p, false);
    }
}

/// A function's (or the provider's) `layers`: version ARNs, or `Ref`s to `layers:`.
pub(super) fn layer_uses(
    c: &mut Checker,
    path: &[&str],
    list: &[String],
    ours: Option<&indexmap::IndexMap<String, crate::config::model::Layer>>,
) {
    if list.len() > 5 {
        c.error(
            path,
            format!("lists {} layers; Lambda takes at most 5", list.len()),
        );
    }
    for (i, l) in list.iter().enumerate() {
        let idx = i.to_string();
        let mut at = path.to_vec();
        at.push(&idx);
        if let Some(key) = l.strip_prefix(crate::config::model::LAYER_REF) {
            if !ours.is_some_and(|o| o.contains_key(key)) {
                c.error(&at, format!("layer `{key}` is not in `layers:`"));
            }
            continue;
        }
        let parts: Vec<&str> = l.split(':').collect();
        let versioned = parts.len() == 8
            && parts[0] == "arn"
            && parts[2] == "lambda"
            && parts[5] == "layer"
            && parts[7].parse::<u64>().is_ok();
        if !versioned {
            c.error(&at, format!("`{l}` is not a layer version ARN")).help = Some(
                "write `arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`, or `{Ref: NameLambdaLayer}` for a layer of `layers:`"
                    .into(),
            );
        }
    }
}

/// `package` at service or function level: pattern syntax, the v2 forms, and function patterns
/// that Serverless would ignore because the function is not packaged on its own.
pub(super) fn package_section(
    c: &mut Checker,
    path: &[&str],
    p: &crate::config::model::Package,
    service_individually: bool,
) {
    let with = |key: &'static str| {
        let mut full = path.to_vec();
        full.push(key);
        full
    };
    for (key, list) in [
        ("patterns", &p.patterns),
        ("include", &p.include),
        ("exclude", &p.exclude),
    ] {
        for (i, pat) in list.iter().flatten().enumerate() {
            if let Err(e) = crate::config::patterns::check(pat) {
                let idx = i.to_string();
                let mut at = path.to_vec();
                at.extend([key, idx.as_str()]);
                c.error(&at, e.to_string()).help = Some(
                    "patterns are globs relative to the service directory, e.g. `src/**` or `!tests/**`"
                        .into(),
                );
            }
        }
    }
    for (key, v) in [("include", &p.include), ("exclude", &p.exclude)] {
        if v.is_some() {
            c.warn_key(
                &with(key),
                format!("`package.{key}` is the deprecated Serverless v2 form of `patterns`"),
            )
            .help = Some(format!(
                "it still works; move its entries to `patterns` ({})",
                if key == "exclude" {
                    "excluded entries are written `!pattern`"
                } else {
                    "as they are"
                }
            ));
        }
    }
    let is_function = path.first() == Some(&"functions");
    if is_function
        && p.patterns.is_some()
        && p.individually != Some(true)
        && !service_individually
        && p.artifact.is_none()
    {
        c.warn_key(
            &with("patterns"),
            "function-level `package.patterns` apply only when the function is packaged on its own, so they are ignored",
        )
        .help = Some(
            "set `package.individually: true` for this function or for the service".into(),
        );
    }
}
