//! `sls config credentials`: saves an IAM user's access key as a profile of the shared
//! credentials file (see `credentials`).

use std::io::Write;

use clap::{Args, Subcommand, ValueEnum};

use crate::credentials::{self, CredentialsError};
use crate::session::{Context, UsageError};

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Save an access key as a profile of the AWS shared credentials file
    Credentials(CredentialsArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Provider {
    Aws,
}

#[derive(Debug, Args)]
pub struct CredentialsArgs {
    /// The cloud provider (only aws)
    #[arg(long, value_enum)]
    pub provider: Provider,
    /// The access key id (AKIA…)
    #[arg(short, long)]
    pub key: String,
    /// The secret access key (never printed; `-s` is the stage, as everywhere)
    #[arg(long)]
    pub secret: String,
    /// The profile to write
    #[arg(short, long, default_value = "default")]
    pub profile: String,
    /// Replace the keys of a profile that exists
    #[arg(short, long)]
    pub overwrite: bool,
}

pub fn run(cx: &Context, args: &ConfigArgs) -> anyhow::Result<()> {
    let ConfigCommand::Credentials(a) = &args.command;
    let Provider::Aws = a.provider;
    credentials::check(&a.key, &a.secret, &a.profile).map_err(usage)?;
    let file = credentials::file(&cx.env).ok_or_else(|| {
        UsageError(
            "cannot tell where the credentials file is: set HOME or AWS_SHARED_CREDENTIALS_FILE"
                .into(),
        )
    })?;
    let replaced =
        credentials::save(&file, &a.profile, &a.key, &a.secret, a.overwrite).map_err(usage)?;
    let what = if replaced { "Replaced" } else { "Saved" };
    let line = format!(
        "{what} profile `{}` in {} (key {})",
        a.profile,
        file.display(),
        credentials::masked(&a.key)
    );
    if cx.global.json {
        let doc = serde_json::json!({
            "profile": a.profile,
            "file": file.display().to_string(),
            "replaced": replaced,
            "key": credentials::masked(&a.key),
        });
        println!("{doc:#}");
    } else {
        writeln!(std::io::stdout().lock(), "{line}")?;
    }
    Ok(())
}

/// A refusal is the user's to fix (exit 2); a write that fails stays an I/O error.
fn usage(e: CredentialsError) -> anyhow::Error {
    match e {
        CredentialsError::Exists { .. } | CredentialsError::Invalid(_) => {
            UsageError(e.to_string()).into()
        }
        CredentialsError::Write { .. } => e.into(),
    }
}
