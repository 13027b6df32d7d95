//! The command line: clap definitions, one place that turns the parsed flags into a [`Context`],
//! dispatch to a command, and the single path that reports failures and picks the exit code.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::commands;
use crate::config::{self, ConfigError, LoadOptions, Loaded};
use crate::exit;
use crate::output::{self, Style};

#[derive(Debug, Parser)]
#[command(
    name = "sls",
    version,
    about = "Deploy AWS Lambda services from serverless.yml: no CloudFormation, a plan before every change",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy the service: package, show the plan, create or update what changed
    Deploy(commands::deploy::DeployArgs),
    /// Show what is deployed: endpoints, functions, versions behind the alias
    Info,
    /// Remove everything this service and stage own in AWS
    Remove,
    /// Build the deployment artifacts (zips and a manifest) without deploying
    Package(commands::package::PackageArgs),
    /// Print the configuration with every variable resolved
    Print(commands::print::PrintArgs),
    /// Run a function: `invoke local` runs it on this machine
    Invoke(commands::local::InvokeArgs),
    /// Serve the service's HTTP routes on this machine, on local workers
    Offline(commands::local::OfflineArgs),
    /// Aliases for release scripts: list, promote, shift traffic, roll back
    Alias(commands::alias::AliasArgs),
    /// Create a new service from a template (--list shows them)
    Create(commands::create::CreateArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// What every command gets: the global flags, the environment snapshot and the output style.
pub struct Context {
    pub global: GlobalArgs,
    pub style: Style,
    pub cwd: PathBuf,
    pub env: std::collections::HashMap<String, String>,
}

impl Context {
    /// Loads the config and shows its warnings.
    pub fn load_config(&self) -> Result<Loaded, ConfigError> {
        let g = &self.global;
        let loaded = config::load(&LoadOptions {
            config: g.config.clone(),
            cwd: self.cwd.clone(),
            stage: g.stage.clone(),
            region: g.region.clone(),
            profile: g.aws_profile.clone(),
            params: g.params.clone(),
            env: self.env.clone(),
        })?;
        let mut err = std::io::stderr().lock();
        for w in &loaded.warnings {
            let _ = write!(err, "{}", output::render(w, self.style));
        }
        Ok(loaded)
    }
}

/// A mistake in how the command was called (exit code 2), found after clap's own checks.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Parses `args`, runs the command, reports any failure and returns the exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let style = Style::detect(
        cli.global.no_color,
        env.get("NO_COLOR").is_some_and(|v| !v.is_empty()),
    );
    let cx = Context {
        global: cli.global.clone(),
        style,
        cwd: std::env::current_dir().unwrap_or_default(),
        env,
    };
    let result = match &cli.command {
        Command::Deploy(args) => commands::deploy::run(&cx, args),
        Command::Info => commands::info::run(&cx),
        Command::Remove => commands::remove::run(&cx),
        Command::Package(args) => commands::package::run(&cx, args),
        Command::Create(args) => commands::create::run(&cx, args),
        Command::Alias(args) => commands::alias::run(&cx, args),
        Command::Invoke(args) => commands::local::invoke(&cx, args),
        Command::Offline(args) => commands::local::offline(&cx, args),
        Command::Print(args) => commands::print::run(&cx, args),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "sls", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => ExitCode::from(report(&cx, &e)),
    }
}

fn report(cx: &Context, e: &anyhow::Error) -> u8 {
    let mut err = std::io::stderr().lock();
    if let Some(ce) = e.downcast_ref::<ConfigError>() {
        for d in &ce.diagnostics {
            let _ = write!(err, "{}", output::render(d, cx.style));
        }
        if cx.global.json {
            let doc =
                serde_json::json!({ "error": { "kind": "config", "diagnostics": ce.diagnostics } });
            println!("{doc:#}");
        }
        return exit::CONFIG;
    }
    // Outcomes whose report is the command's own output, already printed (on stdout with
    // --json): a rolled-back promote, a function that returned an error.
    let printed = if e.downcast_ref::<crate::release::RolledBack>().is_some() {
        Some(exit::ROLLED_BACK)
    } else if e.downcast_ref::<commands::local::FunctionError>().is_some() {
        Some(exit::FUNCTION_ERROR)
    } else {
        None
    };
    if let Some(code) = printed {
        let _ = writeln!(err, "{}: {e}", cx.style.paint("1;31", "error"));
        return code;
    }
    let changed = matches!(
        e.downcast_ref::<crate::provider::aws::AwsError>(),
        Some(crate::provider::aws::AwsError::AliasChanged { .. })
    );
    let code = if e.downcast_ref::<UsageError>().is_some() {
        exit::USAGE
    } else if e.downcast_ref::<crate::package::PackageError>().is_some() {
        exit::PACKAGE
    } else if changed {
        exit::CONFLICT
    } else if e.downcast_ref::<crate::provider::aws::AwsError>().is_some() {
        exit::AWS
    } else if e
        .downcast_ref::<commands::deploy::ConflictError>()
        .is_some()
    {
        exit::CONFLICT
    } else {
        exit::FAILURE
    };
    let _ = writeln!(err, "{}: {e}", cx.style.paint("1;31", "error"));
    for cause in e.chain().skip(1) {
        let _ = writeln!(err, "  caused by: {cause}");
    }
    if cx.global.json {
        let kind = match code {
            exit::USAGE => "usage",
            exit::PACKAGE => "package",
            exit::AWS => "aws",
            exit::CONFLICT => "conflict",
            _ => "failure",
        };
        let doc = serde_json::json!({ "error": { "kind": kind, "message": format!("{e:#}") } });
        println!("{doc:#}");
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        // clap checks flag names, ids and relations only when a command is built: do it for
        // every subcommand here rather than at a user's first use of one.
        Cli::command().debug_assert();
    }
}
