//! What every command starts from: the global options, the [`Context`] built from them (style,
//! environment, working directory), usage errors, and the shared plumbing — config → package →
//! desired state → AWS connection → observed state — so that commands stay thin and never
//! borrow from each other. `cli` builds a context; commands use it.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::{self, ConfigError, LoadOptions, Loaded};
use crate::output::{self, Style};
use crate::package::{self, Limits, Manifest, Packaged, Request};
use crate::plan::{Desired, Observed, desired};
use crate::provider::aws::{self, Aws, Scope};

/// Options every command accepts, before or after the command name (as in Serverless).
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file [default: serverless.yml, serverless.yaml or serverless.json]
    #[arg(short = 'c', long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Stage of the service [default: provider.stage, else dev]
    #[arg(short, long, global = true)]
    pub stage: Option<String>,
    /// AWS region [default: provider.region, else us-east-1]
    #[arg(short, long, global = true)]
    pub region: Option<String>,
    /// AWS profile to use from your AWS config and credentials files
    #[arg(long = "aws-profile", global = true, value_name = "NAME")]
    pub aws_profile: Option<String>,
    /// A parameter for ${param:key}, as key=value (repeatable)
    #[arg(long = "param", global = true, value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Machine-readable JSON on stdout (errors included)
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail about what is happening
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No colours (also: the NO_COLOR environment variable)
    #[arg(long, global = true)]
    pub no_color: bool,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected key=value, got `{s}`")),
    }
}

/// A mistake in how the command was called (exit code 2), found after clap's own checks.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// What a service with `provider.versionFunctions: false` cannot do: it publishes no version
/// for an alias to point at.
pub fn unversioned(what: &str) -> UsageError {
    UsageError(format!(
        "{what} moves aliases between published versions, and this service sets `provider.versionFunctions: false`: nothing is published, everything runs $LATEST; remove the setting (the next deploy publishes a version behind the live alias) to use aliases"
    ))
}

/// `-f NAME` names no function of the config: the likely one (a typo), else the ones there are.
pub fn no_such_function<'a>(name: &str, keys: impl IntoIterator<Item = &'a str>) -> UsageError {
    let keys: Vec<&str> = keys.into_iter().collect();
    let hint = match crate::diag::did_you_mean(name, keys.iter().copied()) {
        Some(k) => format!(" (did you mean `{k}`?)"),
        None if keys.is_empty() => " (it has none)".to_string(),
        None => format!(
            "; it has {}",
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    UsageError(format!("function `{name}` is not in the config{hint}"))
}

/// What every command gets: the global flags, the environment snapshot and the output style.
pub struct Context {
    pub global: GlobalArgs,
    /// Whether the command deploys (then keys sls does not deploy are refused) or only reads.
    pub purpose: config::Purpose,
    pub style: Style,
    pub cwd: PathBuf,
    pub env: std::collections::HashMap<String, String>,
}

/// The desired state, the one runtime and the AWS connection: what commands that read or
/// change existing resources start from.
pub struct Connection {
    pub desired: Desired,
    pub rt: tokio::runtime::Runtime,
    pub aws: Aws,
}

/// How a changing command (deploy, remove, an alias move) waits for another of the same service
/// and stage (see [`aws::lease`]).
#[derive(Debug, Clone, clap::Args)]
pub struct LeaseArgs {
    /// Wait up to this long for another deploy, remove or alias move of this service and stage
    #[arg(
        long = "lock-wait",
        value_name = "SECONDS",
        default_value_t = 30,
        global = true
    )]
    pub lock_wait: u64,
    /// Remove the lease another command holds first (only when it is certainly not running)
    #[arg(long = "force-unlock", global = true)]
    pub force_unlock: bool,
}

/// A [`Connection`] with what exists for the service and stage.
pub struct Observation {
    pub desired: Desired,
    pub rt: tokio::runtime::Runtime,
    pub aws: Aws,
    pub observed: Observed,
}

/// One tokio runtime for the whole command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

impl Context {
    /// Reads the config and resolves its variables (`${ssm:…}` and the like read from AWS).
    pub fn read_config(&self) -> Result<config::Read, ConfigError> {
        let g = &self.global;
        let fetch = aws::variables::AwsValues {
            profile: g.aws_profile.clone(),
        };
        config::read(
            &LoadOptions {
                purpose: self.purpose,
                config: g.config.clone(),
                cwd: self.cwd.clone(),
                stage: g.stage.clone(),
                region: g.region.clone(),
                profile: g.aws_profile.clone(),
                params: g.params.clone(),
                env: self.env.clone(),
            },
            &fetch,
        )
    }

    /// Loads the config and shows its warnings. CloudFormation functions outside `resources:`
    /// get stand-ins: for commands that neither run nor change the functions.
    pub fn load_config(&self) -> Result<Loaded, ConfigError> {
        let r = self.read_config()?;
        let stand_ins = r.stand_ins();
        // The template is built too, so that its mistakes are found without AWS.
        let loaded = finish(&r, &stand_ins, Some((&stand_ins, "")))?;
        self.show_warnings(&loaded);
        Ok(loaded)
    }

    /// Loads the config with the real values of its CloudFormation functions (the side stack's
    /// outputs, what sls deploys, the account), read from AWS when the config uses any: for
    /// local runs, whose code reads them.
    pub fn load_config_live(&self) -> anyhow::Result<Loaded> {
        self.load_live(false)
    }

    /// [`Context::load_config_live`], with each refusal that only deploying makes said in one
    /// line (for `sls offline`, whose own notes say what those keys mean locally).
    pub fn load_config_live_brief(&self) -> anyhow::Result<Loaded> {
        self.load_live(true)
    }

    fn load_live(&self, brief: bool) -> anyhow::Result<Loaded> {
        let show = |loaded: &Loaded| match brief {
            true => self.show_warnings_brief(loaded),
            false => self.show_warnings(loaded),
        };
        let r = self.read_config()?;
        let needs = r.needs();
        let first = finish(&r, &r.stand_ins(), None)?;
        if needs.is_empty() {
            show(&first);
            return Ok(first);
        }
        let rt = runtime()?;
        let aws = rt.block_on(Aws::connect(r.region(), self.global.aws_profile.as_deref()))?;
        let account = rt.block_on(aws::stack::account(&aws))?;
        let live = rt.block_on(aws::stack::live_values(
            &aws,
            &first.config.service,
            r.stage(),
            &needs,
            None,
        ))?;
        let mut values = values_of(
            &r,
            &first,
            &account,
            live,
            false,
            "the side stack does not have it: deploy the service first",
        );
        let want = aws::stack::WantedApis {
            rest: needs.names("ApiGatewayRestApi"),
            http: needs.names("HttpApi"),
            websocket: needs.names("WebsocketsApi"),
        };
        if want.any() {
            let quiet = crate::output::steps::StepProgress::new(true, self.style);
            let ids = rt.block_on(aws::stack::api_ids(
                &aws,
                &names_of(&first),
                want,
                false,
                &first.service_dir,
                &quiet,
            ))?;
            ids.add_to(&mut values);
        }
        let loaded = finish(&r, &values, None)?;
        show(&loaded);
        Ok(loaded)
    }

    /// The warnings, a refusal that only deploying makes in one line with its place.
    pub fn show_warnings_brief(&self, loaded: &Loaded) {
        let mut err = std::io::stderr().lock();
        for w in &loaded.warnings {
            if !w.deploy_only {
                let _ = write!(err, "{}", output::render(w, self.style));
                continue;
            }
            let at = w
                .location
                .as_ref()
                .map(|l| format!(" ({}:{}:{})", l.file, l.line, l.column))
                .unwrap_or_default();
            let _ = writeln!(
                err,
                "{}: {}{at}; `sls deploy` refuses it",
                self.style.paint("2", "note"),
                w.message
            );
        }
    }

    pub fn show_warnings(&self, loaded: &Loaded) {
        let mut err = std::io::stderr().lock();
        for w in &loaded.warnings {
            let _ = write!(err, "{}", output::render(w, self.style));
        }
    }

    /// `--package DIR` relative to the working directory, else `.serverless` in the service.
    pub fn out_dir(&self, loaded: &Loaded, given: Option<&Path>) -> PathBuf {
        match given {
            Some(d) => self.cwd.join(d),
            None => loaded.service_dir.join(package::DEFAULT_OUT_DIR),
        }
    }

    /// Packages the service (reusing unchanged artifacts) and prints the warnings.
    pub fn package(&self, loaded: &Loaded, out_dir: &Path) -> anyhow::Result<Packaged> {
        let config_file = loaded
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let req = Request {
            config: &loaded.config,
            service_dir: &loaded.service_dir,
            config_file: &config_file,
            out_dir: out_dir.to_path_buf(),
            stage: &loaded.stage,
            region: &loaded.region,
            limits: Limits::default(),
            python_cache: user_cache_dir().join("sls").join("python"),
            tools_cache: user_cache_dir().join("sls").join("tools"),
        };
        let bar = self.progress_bar();
        let result = package::package(&req, &|done, total| {
            if bar.length() != Some(total) {
                bar.set_length(total);
            }
            bar.set_position(done);
        });
        bar.finish_and_clear();
        // A handler file that is not there is a mistake in the config: said where it is written.
        let packaged = result.map_err(|e| match &e {
            package::PackageError::Handler { function, .. } => {
                match loaded.locate(&["functions", function, "handler"]) {
                    Some(at) => package::PackageError::At(Box::new(e), Box::new(at)),
                    None => e,
                }
            }
            _ => e,
        })?;
        let mut err = std::io::stderr().lock();
        for w in &packaged.warnings {
            writeln!(err, "{}: {w}", self.style.paint("1;33", "warning"))?;
        }
        Ok(packaged)
    }

    /// A bar on a terminal, for runs long enough to need one; nothing otherwise.
    fn progress_bar(&self) -> ProgressBar {
        if self.global.json || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
        bar.set_style(
            ProgressStyle::with_template("Packaging {bar:30} {binary_bytes}/{binary_total_bytes}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        // Short runs finish before the first frame: no flicker for small services.
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    }

    /// The config's desired state without artifacts: names, aliases, routes.
    pub fn desired(&self) -> anyhow::Result<Desired> {
        Ok(names_of(&self.load_config()?))
    }

    /// The runtime and AWS clients for `desired`'s region (check arguments first, then this).
    pub fn connect(&self, desired: Desired) -> anyhow::Result<Connection> {
        let rt = runtime()?;
        let aws = rt.block_on(Aws::connect(
            &desired.region,
            self.global.aws_profile.as_deref(),
        ))?;
        Ok(Connection { desired, rt, aws })
    }

    /// Takes the lease of `service`/`stage` (see [`aws::lease`]), waiting as `args` say.
    fn take_lease(
        &self,
        rt: &tokio::runtime::Runtime,
        aws: &Aws,
        (service, stage): (&str, &str),
        command: &str,
        args: &LeaseArgs,
    ) -> anyhow::Result<aws::lease::Lease> {
        let quiet = self.global.json;
        let say = move |s: String| {
            if !quiet {
                eprintln!("{s}");
            }
        };
        Ok(rt.block_on(aws::lease::acquire(
            aws,
            service,
            stage,
            command,
            std::time::Duration::from_secs(args.lock_wait),
            args.force_unlock,
            &say,
        ))?)
    }

    /// Gives the lease back, if it is still held; a failure is a warning (the next command takes
    /// the lease over).
    pub fn give_back(
        &self,
        rt: &tokio::runtime::Runtime,
        aws: &Aws,
        lease: &mut Option<aws::lease::Lease>,
    ) {
        if let Some(l) = lease.take()
            && let Err(e) = rt.block_on(aws::lease::release(aws, l))
        {
            eprintln!(
                "warning: the lease was not given back ({e}); the next command takes it over"
            );
        }
    }

    /// Runs `f` holding the lease of `service`/`stage`, which is given back however `f` ends
    /// (a killed process leaves it; the next command takes it over, see [`aws::lease`]). `f`
    /// may give it back itself once its changes are made, so that its report counts every call.
    pub fn leased<T>(
        &self,
        rt: &tokio::runtime::Runtime,
        aws: &Aws,
        who: (&str, &str),
        command: &str,
        args: &LeaseArgs,
        f: impl FnOnce(&mut Option<aws::lease::Lease>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut lease = Some(self.take_lease(rt, aws, who, command, args)?);
        // While the lease is held, Ctrl-C stops at a safe point rather than mid-change.
        let _armed = crate::interrupt::arm();
        let out = f(&mut lease);
        self.give_back(rt, aws, &mut lease);
        out
    }

    /// The config's desired state, connected, with what exists in AWS.
    pub fn observe(&self, scope: Scope) -> anyhow::Result<Observation> {
        let Connection { desired, rt, aws } = self.connect(self.desired()?)?;
        let observed = rt.block_on(aws::observe(&aws, &desired, scope))?;
        Ok(Observation {
            desired,
            rt,
            aws,
            observed,
        })
    }
}

/// Finishes a read config ([`config::Read::finish`]) and tells the output what it must never
/// show: the secrets the config read and its environment values.
pub fn finish(
    r: &config::Read,
    values: &crate::config::intrinsics::Values,
    managed: Option<(&crate::config::intrinsics::Values, &str)>,
) -> Result<Loaded, ConfigError> {
    let loaded = r.finish(values, managed)?;
    output::secrets::keep_hidden(&loaded.secrets, loaded.environment_values());
    Ok(loaded)
}

/// A loaded config's desired state without artifacts: names, aliases, routes.
pub fn names_of(loaded: &Loaded) -> Desired {
    let empty = Manifest::unpackaged(&loaded.config.service, &loaded.stage, &loaded.region);
    desired::desired(&loaded.config, &loaded.stage, &loaded.region, &empty)
}

/// The values of CloudFormation functions: what sls deploys (named from `first`, the config
/// loaded with stand-ins), and what AWS answered; stand-ins for the rest when `stand_ins`.
pub fn values_of(
    r: &config::Read,
    first: &Loaded,
    account: &str,
    live: aws::stack::LiveValues,
    stand_ins: bool,
    missing_why: &str,
) -> config::intrinsics::Values {
    let mut v = crate::plan::stack::managed_values(&names_of(first), account);
    v.types = r.stand_ins().types;
    v.refs.extend(live.refs);
    v.atts.extend(live.atts);
    v.imports = live.imports;
    v.stand_ins = stand_ins;
    v.missing_why = missing_why.to_string();
    v
}

/// `$XDG_CACHE_HOME`, else `~/.cache`: shared by the services of one user.
fn user_cache_dir() -> PathBuf {
    match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(".cache"),
    }
}
