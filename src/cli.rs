//! The command line: clap definitions, one place that turns the parsed flags into a [`Context`],
//! dispatch to a command, and the single path that reports failures (with the exit code
//! `exit` assigns). Commands never import from here.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands;
use crate::config::ConfigError;
use crate::exit;
use crate::output::{self, Style};
use crate::session::{Context, GlobalArgs};

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy the service: package, show the plan, create or update what changed
    Deploy(commands::deploy::DeployArgs),
    /// Show what is deployed: endpoints, functions, versions behind the alias
    Info,
    /// Remove everything this service and stage own in AWS
    Remove(crate::session::LeaseArgs),
    /// Take over a stage Serverless v3 deployed, recreating nothing
    Adopt(commands::adopt::AdoptArgs),
    /// Build the deployment artifacts (zips and a manifest) without deploying
    Package(commands::package::PackageArgs),
    /// Print the configuration with every variable resolved
    Print(commands::print::PrintArgs),
    /// Call a deployed function (-f NAME), or run it on this machine (`invoke local`)
    Invoke(commands::local::InvokeArgs),
    /// Show a deployed function's logs (--tail follows them)
    Logs(commands::logs::LogsArgs),
    /// Show invocations, errors, throttles, duration and concurrency over a period
    Metrics(commands::metrics::PeriodArgs),
    /// What the service cost over a period (from its metrics), or --estimate a month
    Cost(commands::cost::CostArgs),
    /// Find the memory size that is cheapest and fastest by running the function at each
    Tune(commands::tune::TuneArgs),
    /// Serve the service's HTTP and WebSocket routes on this machine, on local workers
    Offline(commands::local::OfflineArgs),
    /// Aliases for release scripts: list, promote, shift traffic, roll back
    Alias(commands::alias::AliasArgs),
    /// Create a new service from a template (--list shows them)
    Create(commands::create::CreateArgs),
    /// Set up this machine: `config credentials` saves an access key as an AWS profile
    Config(commands::config::ConfigArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Parses `args`, runs the command, reports any failure and returns the exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    crate::interrupt::listen();
    let args = crate::local::settings::rewrite_args(args.into_iter().collect());
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            if e.use_stderr()
                && let Some(hint) = v3_habit(&args)
            {
                let style = Style::detect(
                    args.iter().any(|a| a == "--no-color"),
                    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
                );
                eprintln!("{}: {hint}", style.paint("1;31", "error"));
                return ExitCode::from(exit::USAGE);
            }
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
        purpose: match &cli.command {
            // Adopting writes the side stack's template and hands the stage to `sls deploy`.
            Command::Deploy(_) | Command::Package(_) | Command::Adopt(_) => {
                crate::config::Purpose::Deploy
            }
            _ => crate::config::Purpose::Read,
        },
        global: cli.global.clone(),
        style,
        cwd: std::env::current_dir().unwrap_or_default(),
        env,
    };
    let result = match &cli.command {
        Command::Deploy(args) => commands::deploy::run(&cx, args),
        Command::Info => commands::info::run(&cx),
        Command::Remove(lease) => commands::remove::run(&cx, lease),
        Command::Adopt(args) => commands::adopt::run(&cx, args),
        Command::Package(args) => commands::package::run(&cx, args),
        Command::Create(args) => commands::create::run(&cx, args),
        Command::Alias(args) => commands::alias::run(&cx, args),
        Command::Invoke(args) => commands::local::invoke(&cx, args),
        Command::Offline(args) => commands::local::offline(&cx, args),
        Command::Logs(args) => commands::logs::logs(&cx, args),
        Command::Metrics(args) => commands::metrics::metrics(&cx, args),
        Command::Cost(args) => commands::cost::cost(&cx, args),
        Command::Tune(args) => commands::tune::tune(&cx, args),
        Command::Print(args) => commands::print::run(&cx, args),
        Command::Config(args) => commands::config::run(&cx, args),
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

/// What to type instead, for a command line Serverless v3 takes and sls does not (clap would
/// only say "unexpected argument"). Looked at only once clap has refused the line.
fn v3_habit(args: &[OsString]) -> Option<String> {
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let has = |w: &str| words.contains(&w);
    let command = words.iter().find(|w| !w.starts_with('-')).copied();
    match command? {
        "rollback" => Some(
            "`sls rollback` is Serverless v3's; sls rolls back by alias: `sls alias rollback` (history is kept in the alias; see `sls alias rollback --help`)".into(),
        ),
        "deploy" if has("list") => Some(
            "`sls deploy list` is Serverless v3's; the versions behind each alias are shown by `sls alias list`".into(),
        ),
        "deploy" if has("-f") || has("--function") => Some(
            "to deploy one function, sls says `sls deploy function -f NAME` (`-f` belongs to `deploy function`)".into(),
        ),
        "config" if has("credentials") && has("-s") => Some(
            "in sls, `-s` is the stage everywhere; give the secret as `--secret SECRET` (Serverless v3's `-s` for the secret would clash)".into(),
        ),
        _ => None,
    }
}

/// The one place failures are reported: the message and its causes on stderr, a JSON error
/// document on stdout with `--json`, and the exit code [`exit::code`] gives.
fn report(cx: &Context, e: &anyhow::Error) -> u8 {
    let mut err = std::io::stderr().lock();
    let failure = exit::classify(e);
    if let Some(ce) = e.downcast_ref::<ConfigError>() {
        for d in &ce.diagnostics {
            let _ = write!(err, "{}", output::render(d, cx.style));
        }
        if cx.global.json {
            let doc =
                serde_json::json!({ "error": { "kind": "config", "diagnostics": ce.diagnostics } });
            println!("{doc:#}");
        }
        return failure.code;
    }
    if let Some(crate::package::PackageError::At(inner, at)) =
        e.downcast_ref::<crate::package::PackageError>()
    {
        let d = crate::diag::Diagnostic::new(
            crate::diag::Severity::Error,
            inner.to_string(),
            Some((**at).clone()),
        );
        let _ = write!(err, "{}", output::render(&d, cx.style));
        if cx.global.json {
            let doc = serde_json::json!({ "error": { "kind": failure.kind, "diagnostics": [d] } });
            println!("{doc:#}");
        }
        return failure.code;
    }
    // AWS's error text can quote what was sent, environment values included.
    let _ = writeln!(
        err,
        "{}: {}",
        cx.style.paint("1;31", "error"),
        output::secrets::hide(&e.to_string())
    );
    // Outcomes whose report is the command's own output, already printed (on stdout with
    // --json): a rolled-back promote, a function that returned an error.
    if failure.printed {
        return failure.code;
    }
    // An answer that is not AWS's, or none: where the calls went is half the story.
    if let Some(crate::provider::aws::AwsError::Call { code, .. }) =
        e.downcast_ref::<crate::provider::aws::AwsError>()
        && (code.starts_with("HTTP ") || code == crate::provider::aws::NO_ANSWER)
        && let Some(url) = cx.env.get("AWS_ENDPOINT_URL")
    {
        let _ = writeln!(
            err,
            "  note: AWS_ENDPOINT_URL is set: every AWS call goes to {url}"
        );
    }
    for cause in e.chain().skip(1) {
        let _ = writeln!(
            err,
            "  caused by: {}",
            output::secrets::hide(&cause.to_string())
        );
    }
    if cx.global.json {
        let doc = serde_json::json!({ "error": { "kind": failure.kind, "message": output::secrets::hide(&format!("{e:#}")) } });
        println!("{doc:#}");
    }
    failure.code
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
