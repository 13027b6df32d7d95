//! `plugins:` — what each Serverless plugin a service lists did, and what sls does about it.
//!
//! A plugin whose job sls does itself is accepted with a one-line note naming the built-in, and
//! the settings it read from `custom:` are read as that built-in's ([`apply`]). Any other plugin
//! stops `deploy` and `package` before any work ([`refusal`]): the service would otherwise go
//! live without what the plugin did. The user may say that is fine, per plugin, with
//! `--ignore-plugin NAME` or `custom.sls.ignorePlugins`.

use std::collections::HashMap;
use std::path::Path;

use super::dotenv;
use super::yaml::{Entry, Node, Value};
use crate::diag::{Diagnostic, Location, Problem, Severity, Sources, Span};

/// The esbuild settings sls honours (the rest are refused with their location).
pub const ESBUILD_KEYS: &[&str] = &[
    "bundle",
    "minify",
    "sourcemap",
    "target",
    "platform",
    "format",
    "external",
    "exclude",
    "keepNames",
    "packager",
    "config",
];

/// What sls does about a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cover {
    /// Its job is built in; the text says how.
    Builtin(&'static str),
    /// sls cannot do it; the text says what it did.
    Not(&'static str),
}

struct Known {
    name: &'static str,
    /// Where its settings live (dotted paths from the top of the config).
    settings: &'static [&'static str],
    cover: Cover,
}

const KNOWN: &[Known] = &[
    Known {
        name: "serverless-offline",
        settings: &["custom.serverless-offline"],
        cover: Cover::Builtin("built in as `sls offline`"),
    },
    Known {
        name: "serverless-plugin-aws-alias",
        settings: &["custom.alias"],
        cover: Cover::Builtin(
            "aliases are built in: the live alias, `deploy --alias NAME` and `sls alias`",
        ),
    },
    Known {
        name: "serverless-iam-roles-per-function",
        settings: &["custom.serverless-iam-roles-per-function"],
        cover: Cover::Builtin(
            "built in: a function's own `iamRoleStatements` give it a role of its own (`defaultInherit` is read)",
        ),
    },
    Known {
        name: "serverless-prune-plugin",
        settings: &["custom.prune"],
        cover: Cover::Builtin(
            "built in as `provider.versionRetention`: `custom.prune.number` is read as it when `automatic: true`",
        ),
    },
    Known {
        name: "serverless-plugin-log-retention",
        settings: &["custom.logRetentionInDays"],
        cover: Cover::Builtin(
            "built in as `provider.logRetentionInDays`: `custom.logRetentionInDays` is read as it",
        ),
    },
    Known {
        name: "serverless-dotenv-plugin",
        settings: &["custom.dotenv"],
        cover: Cover::Builtin(
            "built in: the `.env` files are read as the plugin reads them and their variables put in every function's environment",
        ),
    },
    Known {
        name: "serverless-deployment-bucket",
        settings: &["custom.deploymentBucket"],
        cover: Cover::Builtin(
            "sls makes and keeps its own deployment bucket; a `provider.deploymentBucket.name` you give must exist already",
        ),
    },
    Known {
        name: "serverless-plugin-split-stacks",
        settings: &["custom.splitStacks"],
        cover: Cover::Builtin(
            "not needed: sls deploys functions and routes without CloudFormation, whose resource limit the plugin worked around",
        ),
    },
    Known {
        name: "serverless-plugin-tracing",
        settings: &[],
        cover: Cover::Builtin("built in as `provider.tracing`"),
    },
    Known {
        name: "serverless-plugin-include-dependencies",
        settings: &["custom.includeDependencies"],
        cover: Cover::Builtin(
            "built in: sls packages the production dependencies (devDependencies left out), which hold what the plugin traced",
        ),
    },
    Known {
        name: "serverless-python-requirements",
        settings: &["custom.pythonRequirements"],
        cover: Cover::Builtin(
            "built in: a Python function's requirements.txt is installed for its runtime and architecture, without Docker (see `custom.pythonRequirements`)",
        ),
    },
    Known {
        name: "serverless-esbuild",
        settings: &["custom.esbuild"],
        cover: Cover::Builtin(
            "built in: the Node handlers are bundled with esbuild; `custom.esbuild` is read",
        ),
    },
    Known {
        name: "serverless-webpack",
        settings: &["custom.webpack"],
        cover: Cover::Not(
            "bundled the handlers with webpack and its config; sls bundles with esbuild instead: replace the plugin with `custom.esbuild` (or `build.esbuild`)",
        ),
    },
    Known {
        name: "serverless-plugin-typescript",
        settings: &[],
        cover: Cover::Builtin(
            "built in: TypeScript handlers are bundled with esbuild (types are not checked: run `tsc --noEmit` for that)",
        ),
    },
    Known {
        name: "serverless-bundle",
        settings: &["custom.bundle"],
        cover: Cover::Not(
            "bundled the handlers with webpack and Babel; sls bundles with esbuild instead: replace the plugin with `custom.esbuild`",
        ),
    },
    Known {
        name: "serverless-domain-manager",
        settings: &["custom.customDomain", "custom.customDomains"],
        cover: Cover::Builtin(
            "built in: `custom.customDomain` is deployed (the domain, its API mapping and Route 53 records)",
        ),
    },
    Known {
        name: "serverless-step-functions",
        settings: &["stepFunctions"],
        cover: Cover::Not("deployed Step Functions state machines"),
    },
    Known {
        name: "serverless-appsync-plugin",
        settings: &["appSync", "custom.appSync"],
        cover: Cover::Not("deployed AppSync GraphQL APIs"),
    },
    Known {
        name: "serverless-plugin-warmup",
        settings: &["custom.warmup"],
        cover: Cover::Not(
            "deployed a function that invokes the others on a schedule to keep them warm; provisionedConcurrency is built in",
        ),
    },
    Known {
        name: "serverless-s3-sync",
        settings: &["custom.s3Sync"],
        cover: Cover::Not("uploaded local folders to S3 buckets after each deploy"),
    },
    Known {
        name: "serverless-plugin-canary-deployments",
        settings: &["custom.deploymentSettings"],
        cover: Cover::Not(
            "shifted traffic gradually with CodeDeploy (`deploymentSettings`); `sls alias promote --steps` is the built-in way",
        ),
    },
    Known {
        name: "serverless-pseudo-parameters",
        settings: &[],
        cover: Cover::Not(
            "turned `#{AWS::Region}`-style text into Fn::Sub; write `${aws:region}`, `${aws:accountId}` or `!Sub` instead",
        ),
    },
    Known {
        name: "serverless-api-gateway-caching",
        settings: &["custom.apiGatewayCaching"],
        cover: Cover::Not("turned on REST API caching per endpoint"),
    },
    Known {
        name: "serverless-localstack",
        settings: &["custom.localstack"],
        cover: Cover::Not("sent the deploy to LocalStack; set `AWS_ENDPOINT_URL` instead"),
    },
    Known {
        name: "serverless-plugin-datadog",
        settings: &["custom.datadog"],
        cover: Cover::Not("added the Datadog layers, handler wrapper and forwarders"),
    },
    Known {
        name: "serverless-associate-waf",
        settings: &["custom.associateWaf"],
        cover: Cover::Not("attached a WAF web ACL to the REST API stage"),
    },
    Known {
        name: "serverless-add-api-key",
        settings: &["custom.apiKeys"],
        cover: Cover::Not("made API keys and usage plans shared between services"),
    },
    Known {
        name: "serverless-plugin-scripts",
        settings: &["custom.scripts"],
        cover: Cover::Not("ran shell commands at deploy hooks"),
    },
    Known {
        name: "serverless-apigw-binary",
        settings: &["custom.apigwBinary"],
        cover: Cover::Not(
            "set the REST API's binary media types; use `provider.apiGateway.binaryMediaTypes`",
        ),
    },
    Known {
        name: "serverless-export-env",
        settings: &["custom.export-env"],
        cover: Cover::Not("wrote the functions' environment to a .env file"),
    },
];

/// One plugin as listed, with where.
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub span: Span,
}

/// The plugins a config lists: `plugins: [..]` or `plugins: {localPath, modules: [..]}`.
pub fn listed(tree: &Node) -> Vec<Listed> {
    let Some(p) = tree.get("plugins") else {
        return Vec::new();
    };
    let items = match &p.value {
        Value::Seq(items) => items,
        Value::Map(_) => match p.get("modules").map(|m| &m.value) {
            Some(Value::Seq(items)) => items,
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    items
        .iter()
        .filter_map(|n| {
            n.as_str().map(|s| Listed {
                name: s.to_string(),
                span: n.span,
            })
        })
        .collect()
}

fn known(name: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.name == name)
}

/// The one-line notes of the plugins whose job is built in.
pub fn notes(tree: &Node) -> Vec<Problem> {
    listed(tree)
        .into_iter()
        .filter_map(|l| match known(&l.name)?.cover {
            Cover::Builtin(how) => Some(Problem::new(
                Severity::Note,
                format!("plugin {}: {how}", l.name),
                Some(l.span),
            )),
            Cover::Not(_) => None,
        })
        .collect()
}

/// A plugin sls cannot honour: the refusal names it and what it did.
#[derive(Debug, Clone)]
pub struct Unhonoured {
    pub name: String,
    pub what: String,
    pub location: Location,
}

/// The listed plugins sls cannot honour, less those `custom.sls.ignorePlugins` lets go.
pub fn unhonoured(tree: &Node, sources: &Sources) -> Vec<Unhonoured> {
    let ignored: Vec<String> = match tree.at_path(&["custom", "sls", "ignorePlugins"]) {
        Some(Node {
            value: Value::Seq(items),
            ..
        }) => items.iter().filter_map(Node::scalar_text).collect(),
        _ => Vec::new(),
    };
    listed(tree)
        .into_iter()
        .filter(|l| !ignored.contains(&l.name))
        .filter_map(|l| {
            let what = match known(&l.name) {
                Some(Known {
                    cover: Cover::Builtin(_),
                    ..
                }) => return None,
                Some(
                    k @ Known {
                        cover: Cover::Not(what),
                        ..
                    },
                ) => {
                    let set: Vec<String> = k
                        .settings
                        .iter()
                        .filter_map(|path| settings_of(tree, path))
                        .collect();
                    if set.is_empty() {
                        (*what).to_string()
                    } else {
                        format!("{what} ({})", set.join("; "))
                    }
                }
                None => "not known to sls: what it did cannot be done here".to_string(),
            };
            Some(Unhonoured {
                name: l.name,
                what,
                location: sources.locate(l.span),
            })
        })
        .collect()
}

/// `custom.customDomain: domainName, basePath` — a setting's keys, to say what the plugin did.
fn settings_of(tree: &Node, dotted: &str) -> Option<String> {
    let path: Vec<&str> = dotted.split('.').collect();
    let n = tree.at_path(&path)?;
    Some(match &n.value {
        Value::Map(entries) => {
            let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).take(6).collect();
            format!("{dotted}: {}", keys.join(", "))
        }
        Value::Seq(items) => format!("{dotted}: {} entries", items.len()),
        _ => format!("{dotted}: {}", n.scalar_text().unwrap_or_default()),
    })
}

/// The error that stops `deploy` and `package` when plugins sls cannot honour are listed and
/// not let go with `--ignore-plugin`.
pub fn refusal(unhonoured: &[Unhonoured], ignored: &[String]) -> Option<Diagnostic> {
    let left: Vec<&Unhonoured> = unhonoured
        .iter()
        .filter(|u| !ignored.contains(&u.name))
        .collect();
    let first = left.first()?;
    let names: Vec<&str> = left.iter().map(|u| u.name.as_str()).collect();
    let mut d = Diagnostic::new(
        Severity::Error,
        format!(
            "sls cannot do what {} did: {}",
            if left.len() == 1 { "this plugin" } else { "these plugins" },
            names.join(", ")
        ),
        Some(first.location.clone()),
    )
    .help(
        "deploying without it would leave the service without what it did: remove it from `plugins`, or let it go with `--ignore-plugin NAME` (repeatable) or `custom.sls.ignorePlugins: [NAME]`; `print` and `invoke local` work meanwhile",
    );
    for u in left {
        d = d.note(format!("{}: {}", u.name, u.what));
    }
    Some(d)
}

/// What the built-in plugins' settings mean, written into the tree as the keys sls reads:
/// `custom.prune` → `provider.versionRetention`, `custom.logRetentionInDays` →
/// `provider.logRetentionInDays` (each unless the provider key is set), and the dotenv plugin's
/// variables into `provider.environment` (over what is there, as the plugin does).
/// `env_name` is the dotenv plugin's environment name; `env` the process environment.
pub fn apply(
    tree: &mut Node,
    service_dir: &Path,
    env_name: &str,
    env: &HashMap<String, String>,
) -> Result<(), Problem> {
    let names: Vec<Listed> = listed(tree);
    let has = |n: &str| names.iter().find(|l| l.name == n).map(|l| l.span);
    if has("serverless-prune-plugin").is_some() {
        let automatic = tree
            .at_path(&["custom", "prune", "automatic"])
            .is_some_and(|n| matches!(n.value, Value::Bool(true)));
        if let (true, Some(number)) = (
            automatic,
            tree.at_path(&["custom", "prune", "number"]).cloned(),
        ) {
            set_provider_default(tree, "versionRetention", number);
        }
    }
    if has("serverless-plugin-log-retention").is_some()
        && let Some(days) = tree.at_path(&["custom", "logRetentionInDays"]).cloned()
    {
        set_provider_default(tree, "logRetentionInDays", days);
    }
    if let Some(span) = has("serverless-dotenv-plugin") {
        dotenv_into_environment(tree, span, service_dir, env_name, env)?;
    }
    Ok(())
}

fn provider_mut(tree: &mut Node, span: Span) -> Option<&mut Vec<Entry>> {
    let Value::Map(top) = &mut tree.value else {
        return None;
    };
    if !top.iter().any(|e| e.key == "provider") {
        top.push(Entry {
            key: "provider".into(),
            key_span: span,
            value: Node::new(Value::Map(Vec::new()), span),
        });
    }
    match &mut top.iter_mut().find(|e| e.key == "provider")?.value.value {
        Value::Map(p) => Some(p),
        _ => None,
    }
}

fn set_provider_default(tree: &mut Node, key: &str, value: Node) {
    let span = value.span;
    if let Some(p) = provider_mut(tree, span)
        && !p.iter().any(|e| e.key == key)
    {
        p.push(Entry {
            key: key.into(),
            key_span: span,
            value,
        });
    }
}

fn dotenv_into_environment(
    tree: &mut Node,
    span: Span,
    service_dir: &Path,
    env_name: &str,
    env: &HashMap<String, String>,
) -> Result<(), Problem> {
    let cfg = tree.at_path(&["custom", "dotenv"]).cloned();
    let at = |key: &str| cfg.as_ref().and_then(|c| c.get(key));
    let texts = |n: Option<&Node>| -> Option<Vec<String>> {
        match &n?.value {
            Value::Seq(items) => Some(items.iter().filter_map(Node::scalar_text).collect()),
            _ => n?.scalar_text().map(|s| vec![s]),
        }
    };
    if let Some(parser) = at("dotenvParser") {
        return Err(Problem::error(
            "`custom.dotenv.dotenvParser` runs JavaScript of its own, which sls does not",
            Some(parser.span),
        )
        .help("remove it and keep the variables in plain `.env` files"));
    }
    let files = match texts(at("path")) {
        Some(paths) => paths.iter().map(|p| service_dir.join(p)).collect(),
        None => {
            let base = at("basePath")
                .and_then(Node::scalar_text)
                .unwrap_or_default();
            dotenv::plugin_files(service_dir, env_name)
                .into_iter()
                .map(|p| {
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                    service_dir.join(format!("{base}{}", name.unwrap_or_default()))
                })
                .collect::<Vec<_>>()
        }
    };
    let found = files.iter().any(|f| f.is_file());
    let required = |key: &str| at("required").and_then(|r| r.get(key));
    if !found && required("file").is_some_and(|n| matches!(n.value, Value::Bool(true))) {
        return Err(Problem::error(
            "serverless-dotenv-plugin: no .env file found and `custom.dotenv.required.file` is true",
            Some(span),
        )
        .help("create the .env file (or the one `custom.dotenv.path` names) next to the config"));
    }
    let mut vars = dotenv::read_files(&files, env).map_err(|(f, e)| {
        Problem::error(format!("cannot read `{}`: {e}", f.display()), Some(span))
    })?;
    if let Some(needed) = texts(required("env")) {
        let missing: Vec<&String> = needed
            .iter()
            .filter(|n| {
                !vars.iter().any(|(k, v)| k == *n && !v.is_empty())
                    && env.get(*n).is_none_or(String::is_empty)
            })
            .collect();
        if !missing.is_empty() {
            let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(Problem::error(
                format!(
                    "serverless-dotenv-plugin: required variables missing: {}",
                    missing.join(", ")
                ),
                required("env").map(|n| n.span).or(Some(span)),
            )
            .help("set them in the .env file or the environment"));
        }
    }
    // `include` (when given) wins over `exclude`, as in the plugin.
    match (texts(at("include")), texts(at("exclude"))) {
        (Some(include), _) if include != ["*"] => vars.retain(|(k, _)| include.contains(k)),
        (_, Some(exclude)) => vars.retain(|(k, _)| !exclude.contains(k)),
        _ => {}
    }
    if vars.is_empty() {
        return Ok(());
    }
    let Some(p) = provider_mut(tree, span) else {
        return Ok(());
    };
    if !p.iter().any(|e| e.key == "environment") {
        p.push(Entry {
            key: "environment".into(),
            key_span: span,
            value: Node::new(Value::Map(Vec::new()), span),
        });
    }
    let Some(Value::Map(envs)) = p
        .iter_mut()
        .find(|e| e.key == "environment")
        .map(|e| &mut e.value.value)
    else {
        return Ok(());
    };
    for (k, v) in vars {
        let value = Node::new(Value::Str(v), span);
        match envs.iter_mut().find(|e| e.key == k) {
            Some(e) => e.value = value,
            None => envs.push(Entry {
                key: k,
                key_span: span,
                value,
            }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Sources;

    fn tree(text: &str) -> (Node, Sources) {
        let mut sources = Sources::default();
        let id = sources.add("serverless.yml", text);
        (super::super::yaml::parse(&sources, id).unwrap(), sources)
    }

    #[test]
    fn builtins_get_a_note_and_the_rest_a_refusal_naming_what_they_did() {
        let (t, sources) = tree(
            "service: s\nplugins:\n  - serverless-offline\n  - serverless-step-functions\n  - ./local-plugin\nstepFunctions:\n  stateMachines:\n    flow: {}\n  validate: true\n",
        );
        let notes = notes(&t);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].message.contains("sls offline"));
        let un = unhonoured(&t, &sources);
        assert_eq!(un.len(), 2);
        assert_eq!(un[0].location.line, 4);
        assert!(
            un[0]
                .what
                .contains("stepFunctions: stateMachines, validate"),
            "{}",
            un[0].what
        );
        assert!(un[1].what.contains("not known"));
        let d = refusal(&un, &[]).unwrap();
        assert!(
            d.message
                .contains("serverless-step-functions, ./local-plugin")
        );
        assert_eq!(d.notes.len(), 2);
        let d = refusal(&un, &["./local-plugin".into()]).unwrap();
        assert_eq!(d.notes.len(), 1);
        assert!(
            refusal(
                &un,
                &["./local-plugin".into(), "serverless-step-functions".into()]
            )
            .is_none()
        );
    }

    #[test]
    fn custom_sls_ignore_plugins_and_the_modules_form() {
        let (t, sources) = tree(
            "service: s\nplugins:\n  localPath: ./p\n  modules:\n    - serverless-step-functions\ncustom:\n  sls:\n    ignorePlugins: [serverless-step-functions]\n",
        );
        assert_eq!(listed(&t).len(), 1);
        assert!(unhonoured(&t, &sources).is_empty());
    }

    #[test]
    fn prune_log_retention_and_dotenv_become_provider_keys() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "A=1\nB=2\nSECRET=x\n").unwrap();
        std::fs::write(dir.path().join(".env.prod"), "A=from-prod\nC=3\n").unwrap();
        let (mut t, _) = tree(
            "service: s\nplugins: [serverless-prune-plugin, serverless-plugin-log-retention, serverless-dotenv-plugin]\nprovider:\n  name: aws\n  environment:\n    B: kept?\ncustom:\n  prune: {automatic: true, number: 3}\n  logRetentionInDays: 14\n  dotenv:\n    exclude: [SECRET]\n",
        );
        apply(&mut t, dir.path(), "prod", &HashMap::new()).unwrap();
        let p = t.get("provider").unwrap();
        assert_eq!(p.get("versionRetention").unwrap().value, Value::Int(3));
        assert_eq!(p.get("logRetentionInDays").unwrap().value, Value::Int(14));
        let env = p.get("environment").unwrap();
        // `.env` is merged last in the plugin, so its A wins over `.env.prod`'s.
        assert_eq!(env.get("A").unwrap().as_str(), Some("1"));
        assert_eq!(
            env.get("B").unwrap().as_str(),
            Some("2"),
            "the plugin overwrites"
        );
        assert_eq!(env.get("C").unwrap().as_str(), Some("3"));
        assert!(env.get("SECRET").is_none());

        let (mut t, _) = tree(
            "service: s\nplugins: [serverless-dotenv-plugin, serverless-prune-plugin]\nprovider:\n  name: aws\n  versionRetention: 9\ncustom:\n  prune: {automatic: true, number: 3}\n  dotenv:\n    include: [B]\n    required: {env: [B, NOPE]}\n",
        );
        let err = apply(&mut t, dir.path(), "prod", &HashMap::new()).unwrap_err();
        assert!(err.message.contains("NOPE"), "{}", err.message);
        assert_eq!(
            t.at_path(&["provider", "versionRetention"]).unwrap().value,
            Value::Int(9),
            "the provider's own key wins"
        );
    }
}
