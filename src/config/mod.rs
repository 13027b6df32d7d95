//! `serverless.yml` → a validated, typed [`Config`], in layers (as ripgrep layers its flags):
//! text → span-carrying tree (`yaml`) → variables resolved (`vars`) → short forms expanded
//! (`shorthand`) → typed model with unknown keys reported (`de`, `model`) → cross-checks
//! (`validate`). Nothing here touches AWS; errors are [`Diagnostic`]s with file, line and column.

pub mod de;
pub mod dotenv;
pub mod intrinsics;
pub mod model;
pub mod patterns;
pub mod plugins;
pub mod resources;
pub mod runtime;
pub mod shorthand;
pub mod validate;
pub mod vars;
pub mod yaml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Problem, Severity, Sources, Span};

pub use model::Config;
pub use vars::VarOptions;
use yaml::{Node, Value};

/// Config file names looked for, in order, when `--config` is not given.
pub const DEFAULT_FILES: &[&str] = &["serverless.yml", "serverless.yaml", "serverless.json"];

/// What the config is read for. Only deploying refuses a key sls does not deploy yet; every
/// other command works on any config Serverless v3 reads and shows such keys as warnings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Purpose {
    /// `deploy`, `deploy function`, `package`.
    #[default]
    Deploy,
    /// `print`, `offline`, `invoke local`, `info`, `logs`, `invoke`, `remove` and the rest.
    Read,
}

/// What the command line and environment contribute to reading a config.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub purpose: Purpose,
    /// `--config`; when absent the default names are tried in `cwd`.
    pub config: Option<PathBuf>,
    pub cwd: PathBuf,
    pub stage: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub params: Vec<(String, String)>,
    pub env: HashMap<String, String>,
}

/// A config that passed every check.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// The config with every variable resolved, as the user wrote it otherwise (for `print`).
    pub resolved: Node,
    pub warnings: Vec<Diagnostic>,
    /// The config file as given or found (relative to the working directory when found there).
    pub path: PathBuf,
    /// The directory the config lives in: handler paths and `${file(…)}` are relative to it.
    pub service_dir: PathBuf,
    pub stage: String,
    pub region: String,
    /// SecureString values the variables read: never shown unless asked.
    pub secrets: Vec<String>,
    /// The side stack's template, when `resources:` declares something and the values of what
    /// sls deploys were given ([`Read::finish`]).
    pub template: Option<resources::Template>,
    /// The files read, for locating what later stages find wrong (a handler file missing).
    pub sources: Sources,
    /// Listed plugins whose job sls cannot do: `deploy` and `package` refuse them.
    pub unhonoured: Vec<plugins::Unhonoured>,
}

/// The config could not be used; holds every error (and the warnings found before them).
#[derive(Debug, thiserror::Error)]
#[error("{}", summary(.diagnostics))]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

fn summary(ds: &[Diagnostic]) -> String {
    let errors = ds.iter().filter(|d| d.severity == Severity::Error).count();
    let first = ds
        .iter()
        .find(|d| d.severity == Severity::Error)
        .map_or("invalid configuration", |d| d.message.as_str());
    if errors > 1 {
        format!("{first} (and {} more errors)", errors - 1)
    } else {
        first.to_string()
    }
}

impl Loaded {
    /// The environment values of the provider and of every function: output masks the long
    /// ones, as it masks [`Loaded::secrets`].
    pub fn environment_values(&self) -> impl Iterator<Item = &String> {
        let c = &self.config;
        let provider = c.provider.environment.iter().flatten();
        let functions = c
            .functions
            .iter()
            .flat_map(|fs| fs.values())
            .flat_map(|f| f.environment.iter().flatten());
        provider.chain(functions).map(|(_, v)| &v.0)
    }

    /// Where the value at `path` (`["functions", "hello", "handler"]`) is written: for a
    /// problem found after validation, such as a handler file that packaging cannot find.
    pub fn locate(&self, path: &[&str]) -> Option<crate::diag::Location> {
        self.resolved
            .at_path(path)
            .map(|n| self.sources.locate(n.span))
    }

    /// Stops `deploy` and `package` when a listed plugin's job cannot be done and the user has
    /// not let it go ([`plugins::refusal`]).
    pub fn refuse_plugins(&self, ignored: &[String]) -> Result<(), ConfigError> {
        match plugins::refusal(&self.unhonoured, ignored) {
            Some(d) => Err(ConfigError::one(d)),
            None => Ok(()),
        }
    }
}

impl ConfigError {
    fn one(d: Diagnostic) -> Self {
        ConfigError {
            diagnostics: vec![d],
        }
    }
}

/// Finds, reads, resolves and validates the config; values only AWS has are refused, and
/// CloudFormation functions get stand-ins.
pub fn load(opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    let r = read(opts, &vars::NoAws)?;
    let values = r.stand_ins();
    r.finish(&values, None)
}

/// A config read and its variables resolved, before CloudFormation functions outside
/// `resources:` are given values and the whole is typed and checked ([`Read::finish`]).
pub struct Read {
    /// The tree with every variable resolved (CloudFormation functions still in long form).
    pub resolved: Node,
    sources: Sources,
    path: PathBuf,
    service_dir: PathBuf,
    secrets: Vec<String>,
    stage: String,
    region: String,
    /// The process environment with the `.env` files' variables added.
    env: HashMap<String, String>,
    /// serverless-dotenv-plugin's environment name (`NODE_ENV`, else `--stage`, else
    /// `development`).
    dotenv_name: String,
    purpose: Purpose,
}

impl Read {
    pub fn stage(&self) -> &str {
        &self.stage
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// What the CloudFormation functions outside `resources:` refer to.
    pub fn needs(&self) -> intrinsics::Needs {
        self.without_layers(intrinsics::needs(&self.resolved))
    }

    /// What the whole config (`resources:` included, `custom:` not) refers to.
    pub fn needs_everywhere(&self) -> intrinsics::Needs {
        self.without_layers(intrinsics::needs_everywhere(&self.resolved))
    }

    /// The layers of `layers:`: key → (v3's logical id, what a `Ref` to it becomes).
    fn layer_refs(&self) -> Vec<(String, String)> {
        let mut refs: Vec<(String, String)> = match self.resolved.get("layers").map(|n| &n.value) {
            Some(Value::Map(es)) => es.iter().map(|e| model::layer_ref(&e.key)).collect(),
            _ => Vec::new(),
        };
        let python = self
            .resolved
            .at_path(&["custom", "pythonRequirements", "layer"])
            .map(|n| &n.value);
        if matches!(python, Some(Value::Bool(true) | Value::Map(_))) {
            refs.push(model::layer_ref(model::PYTHON_LAYER));
        }
        refs
    }

    /// References to the layers are the planner's to fill in: nothing to read from AWS.
    fn without_layers(&self, mut n: intrinsics::Needs) -> intrinsics::Needs {
        for (id, _) in self.layer_refs() {
            n.refs.remove(&id);
        }
        n
    }

    /// Whether `resources:` declares anything (then there is a side stack).
    pub fn has_resources(&self) -> Result<bool, ConfigError> {
        resources::merged(&self.resolved)
            .map(|r| r.is_some())
            .map_err(|p| ConfigError::one(p.into_diagnostic(&self.sources)))
    }

    /// Values for everything, as stand-ins where AWS would be needed: the logical ids of
    /// `resources:` are known (with their types), the account and outputs are not.
    pub fn stand_ins(&self) -> intrinsics::Values {
        let mut types = HashMap::new();
        if let Ok(Some(r)) = resources::merged(&self.resolved) {
            if let Some(Value::Map(rs)) = r.get("Resources").map(|n| &n.value) {
                for e in rs {
                    if let Some(t) = e.value.get("Type").and_then(Node::as_str) {
                        types.insert(e.key.clone(), t.to_string());
                    }
                }
            }
        }
        intrinsics::Values {
            region: self.region.clone(),
            types,
            stand_ins: true,
            ..Default::default()
        }
    }

    /// Puts `values` in for the CloudFormation functions outside `resources:`, builds the side
    /// stack's template when `managed` (the values of what sls deploys) is given, then types
    /// and checks the config.
    pub fn finish(
        &self,
        values: &intrinsics::Values,
        managed: Option<(&intrinsics::Values, &str)>,
    ) -> Result<Loaded, ConfigError> {
        let sources = &self.sources;
        let fail = |p: Problem| ConfigError::one(p.into_diagnostic(sources));
        let template = match managed {
            Some((m, description)) => match resources::merged(&self.resolved).map_err(fail)? {
                Some(r) => {
                    Some(resources::template(&r, &self.needs(), m, description).map_err(fail)?)
                }
                None => None,
            },
            None => None,
        };
        let mut expanded = self.resolved.clone();
        let mut values = values.clone();
        for (id, marker) in self.layer_refs() {
            values.refs.entry(id).or_insert(marker);
        }
        intrinsics::substitute(&mut expanded, &values).map_err(fail)?;
        plugins::apply(
            &mut expanded,
            &self.service_dir,
            &self.dotenv_name,
            &self.env,
        )
        .map_err(fail)?;
        let mut loaded = typed(self, expanded)?;
        loaded.secrets = self.secrets.clone();
        loaded.template = template;
        Ok(loaded)
    }
}

/// Finds and reads the config and resolves its variables, reading `${ssm:…}` and the other
/// values only AWS has through `fetch`.
pub fn read(opts: &LoadOptions, fetch: &dyn vars::Fetch) -> Result<Read, ConfigError> {
    let path = find(opts)?;
    let full = opts.cwd.join(&path);
    let shown = path.display().to_string();
    let bytes = std::fs::read(&full).map_err(|e| {
        ConfigError::one(
            Diagnostic::error(format!("cannot read `{shown}`: {e}"))
                .help("check the path given with --config and the file's permissions"),
        )
    })?;
    let mut sources = Sources::default();
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let valid = std::str::from_utf8(valid).unwrap_or("");
            let line = valid.matches('\n').count() as u32 + 1;
            let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
            let id = sources.add(shown.clone(), valid.to_string());
            let p = Problem::error(
                "the config file is not UTF-8 text (is it a binary file?)",
                Some(Span::point(id, line, col)),
            )
            .help("serverless.yml must be UTF-8 encoded YAML or JSON");
            return Err(ConfigError::one(p.into_diagnostic(&sources)));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    let file = sources.add(shown, text);
    let service_dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
    let rel_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let fail = |p: Problem, sources: &Sources| ConfigError::one(p.into_diagnostic(sources));

    let root = yaml::parse(&sources, file).map_err(|p| fail(p, &sources))?;
    if !matches!(root.value, Value::Map(_)) {
        let p = Problem::error(
            format!(
                "the config must be a mapping of keys at the top level, found {}",
                root.kind()
            ),
            Some(root.span),
        )
        .help("start with `service: my-service`, then `provider:` and `functions:`");
        return Err(fail(p, &sources));
    }

    let dotenv_name = opts
        .env
        .get("NODE_ENV")
        .cloned()
        .or_else(|| opts.stage.clone())
        .unwrap_or_else(|| "development".into());
    let env =
        with_dotenv(&root, opts, &service_dir, &dotenv_name).map_err(|p| fail(p, &sources))?;
    let var_opts = VarOptions {
        stage: opts.stage.clone(),
        region: opts.region.clone(),
        profile: opts.profile.clone(),
        config: Some(path.display().to_string()),
        params: opts.params.clone(),
        env: env.clone(),
        base_dir: service_dir.clone(),
        display_dir: rel_dir,
    };
    let vars::Resolved {
        root: resolved,
        secrets,
    } = vars::resolve_with(root, &mut sources, &var_opts, fetch).map_err(|p| fail(p, &sources))?;
    let text_at = |key: &str| {
        resolved
            .at_path(&["provider", key])
            .filter(|n| !matches!(n.value, Value::Null))
            .and_then(Node::scalar_text)
    };
    let stage = opts
        .stage
        .clone()
        .or_else(|| text_at("stage"))
        .unwrap_or_else(|| vars::DEFAULT_STAGE.to_string());
    let region = opts
        .region
        .clone()
        .or_else(|| text_at("region"))
        .unwrap_or_else(|| vars::DEFAULT_REGION.to_string());
    Ok(Read {
        resolved,
        sources,
        path,
        service_dir,
        secrets,
        stage,
        region,
        env,
        dotenv_name,
        purpose: opts.purpose,
    })
}

/// The process environment plus the variables of the `.env` files the config asks for — with
/// `useDotenv: true` (Serverless v3: `.env.{stage}`, else `.env`) or serverless-dotenv-plugin
/// (its files, which v3 loads before resolving) — never over a variable already set. Read from
/// the config as written: these decide how its variables resolve.
fn with_dotenv(
    root: &Node,
    opts: &LoadOptions,
    service_dir: &Path,
    dotenv_name: &str,
) -> Result<HashMap<String, String>, Problem> {
    let mut env = opts.env.clone();
    let mut files = Vec::new();
    let mut span = None;
    if let Some(e) = root.entry("useDotenv")
        && matches!(e.value.value, Value::Bool(true))
    {
        let literal = |n: &Node| n.as_str().filter(|s| !s.contains("${")).map(str::to_string);
        let stage = opts
            .stage
            .clone()
            .or_else(|| root.at_path(&["provider", "stage"]).and_then(literal))
            .unwrap_or_else(|| vars::DEFAULT_STAGE.to_string());
        files.push(dotenv::use_dotenv_file(service_dir, &stage));
        span = Some(e.key_span);
    }
    if let Some(l) = plugins::listed(root)
        .into_iter()
        .find(|l| l.name == "serverless-dotenv-plugin")
    {
        match root
            .at_path(&["custom", "dotenv", "path"])
            .and_then(Node::as_str)
        {
            Some(p) if !p.contains("${") => files.push(service_dir.join(p)),
            _ => files.extend(dotenv::plugin_files(service_dir, dotenv_name)),
        }
        span = span.or(Some(l.span));
    }
    if files.is_empty() {
        return Ok(env);
    }
    let read = dotenv::read_files(&files, &opts.env).map_err(|(f, e)| {
        Problem::error(format!("cannot read `{}`: {e}", f.display()), span)
            .help("check the file's permissions")
    })?;
    for (k, v) in read {
        env.entry(k).or_insert(v);
    }
    Ok(env)
}

/// The resolved tree (`expanded`: with the values of CloudFormation functions and plugins'
/// effects) typed and checked.
fn typed(read: &Read, mut expanded: Node) -> Result<Loaded, ConfigError> {
    let sources = &read.sources;
    let stage = read.stage.clone();
    let purpose = read.purpose;
    let fail = |p: Problem, sources: &Sources| ConfigError::one(p.into_diagnostic(sources));
    shorthand::expand(&mut expanded).map_err(|p| fail(p, sources))?;
    let unhonoured = plugins::unhonoured(&expanded, sources);
    let (config, unknown, fixed): (Config, Vec<Problem>, Vec<Problem>) =
        de::from_node(&expanded).map_err(|p| fail(p, sources))?;
    let off = config.config_validation_mode == Some(model::ValidationMode::Off);

    let mut problems = match config.config_validation_mode {
        Some(model::ValidationMode::Off) => Vec::new(),
        Some(model::ValidationMode::Error) => unknown
            .into_iter()
            .map(|mut p| {
                p.severity = Severity::Error;
                p
            })
            .collect(),
        _ => unknown,
    };
    problems.extend(
        fixed
            .into_iter()
            .filter(|p| !(off && p.severity == Severity::Warning)),
    );
    let mut config = config;
    if let Some(l) = model::python_layer(config.custom.as_ref(), config.provider.runtime.as_deref())
    {
        config
            .layers
            .get_or_insert_with(Default::default)
            .insert(model::PYTHON_LAYER.to_string(), l);
    }
    problems.extend(validate::check(&config, &expanded, &stage));
    if purpose == Purpose::Read {
        for p in problems.iter_mut().filter(|p| p.deploy_only) {
            if p.severity == Severity::Error {
                p.severity = Severity::Warning;
                p.notes
                    .push("`sls deploy` and `sls package` refuse it; this command goes on".into());
            }
        }
    }
    let diagnostics: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| p.into_diagnostic(sources))
        .collect();
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(ConfigError { diagnostics });
    }
    Ok(Loaded {
        config,
        resolved: read.resolved.clone(),
        warnings: diagnostics,
        path: read.path.clone(),
        service_dir: read.service_dir.clone(),
        stage,
        region: read.region.clone(),
        secrets: Vec::new(),
        template: None,
        unhonoured,
        sources: sources.clone(),
    })
}

fn find(opts: &LoadOptions) -> Result<PathBuf, ConfigError> {
    if let Some(p) = &opts.config {
        if !opts.cwd.join(p).is_file() {
            return Err(ConfigError::one(
                Diagnostic::error(format!("config file `{}` does not exist", p.display()))
                    .help("check the path given with -c/--config"),
            ));
        }
        return Ok(p.clone());
    }
    DEFAULT_FILES
        .iter()
        .map(PathBuf::from)
        .find(|p| opts.cwd.join(p).is_file())
        .ok_or_else(|| {
            ConfigError::one(
                Diagnostic::error(format!("no {} in this directory", DEFAULT_FILES.join(", ")))
                    .help("run sls inside a service directory, or pass -c/--config FILE"),
            )
        })
}
