//! `sls invoke -f`: calls the deployed function's live alias (or `--alias`) and prints its answer.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use aws_sdk_lambda::types::InvocationType;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::local::FunctionError;
use crate::ops::report;
use crate::plan::{Desired, FunctionSpec};
use crate::provider::aws::remote::{self};
use crate::session::{Connection, Context, UsageError};

/// Lambda's payload limits: 6 MB synchronous, 1 MB asynchronous (AWS raised the latter from
/// 256 KB in 2025).
pub const SYNC_LIMIT: usize = 6 * 1024 * 1024;
pub const ASYNC_LIMIT: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Wait for the result
    #[default]
    #[value(name = "RequestResponse")]
    RequestResponse,
    /// Queue the event (HTTP 202); failures are retried by Lambda
    #[value(name = "Event")]
    Event,
    /// Only check that the call would be allowed (HTTP 204)
    #[value(name = "DryRun")]
    DryRun,
}

#[derive(Debug, Args)]
pub struct RemoteInvoke {
    /// The function's key under `functions:`
    #[arg(short, long)]
    pub function: Option<String>,
    /// The event: JSON, or any other text passed as a string (else --path, else stdin when piped)
    #[arg(short, long, conflicts_with = "path")]
    pub data: Option<String>,
    /// A file holding the event
    #[arg(short, long, value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// The alias or version to call [default: the live alias]
    #[arg(short, long)]
    pub qualifier: Option<String>,
    /// Invocation type
    #[arg(short = 't', long = "type", value_enum, default_value_t = Kind::RequestResponse)]
    pub kind: Kind,
    /// Show the end of the invocation's log (on stderr) after the result
    #[arg(short, long)]
    pub log: bool,
    /// Print the result as it came, not re-indented
    #[arg(long)]
    pub raw: bool,
}

pub(super) fn function<'a>(d: &'a Desired, key: &str) -> Result<&'a FunctionSpec, UsageError> {
    d.functions.iter().find(|f| f.key == key).ok_or_else(|| {
        crate::session::no_such_function(key, d.functions.iter().map(|f| f.key.as_str()))
    })
}

/// The event as Serverless passes it: JSON as JSON, other text as a string, nothing as `{}`.
pub(super) fn event_text(
    cx: &Context,
    data: &Option<String>,
    path: &Option<PathBuf>,
) -> anyhow::Result<Vec<u8>> {
    let text = match (data, path) {
        (Some(d), _) => d.clone(),
        (None, Some(p)) => std::fs::read_to_string(cx.cwd.join(p)).map_err(|e| {
            UsageError(format!("cannot read the event file `{}`: {e}", p.display()))
        })?,
        (None, None) if !std::io::stdin().is_terminal() => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
        (None, None) => String::new(),
    };
    let value: Value = if text.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok(value.to_string().into_bytes())
}

pub fn invoke(cx: &Context, a: &RemoteInvoke) -> anyhow::Result<()> {
    let key = a.function.as_deref().ok_or_else(|| {
        UsageError(
            "`sls invoke` needs -f/--function NAME (or `sls invoke local -f NAME` to run it here)"
                .into(),
        )
    })?;
    let payload = event_text(cx, &a.data, &a.path)?;
    let (limit, what) = match a.kind {
        Kind::Event => (ASYNC_LIMIT, "1 MB for an asynchronous (Event) call"),
        Kind::RequestResponse | Kind::DryRun => (SYNC_LIMIT, "6 MB for a synchronous call"),
    };
    if payload.len() > limit {
        return Err(UsageError(format!(
            "the event is {} bytes; Lambda takes at most {what}: pass a reference (an S3 key) instead",
            payload.len()
        ))
        .into());
    }
    let d = cx.desired()?;
    let name = function(&d, key)?.name.clone();
    let qualifier = a.qualifier.clone().unwrap_or_else(|| d.live.clone());
    let Connection { rt, aws, .. } = cx.connect(d)?;
    let kind = match a.kind {
        Kind::RequestResponse => InvocationType::RequestResponse,
        Kind::Event => InvocationType::Event,
        Kind::DryRun => InvocationType::DryRun,
    };
    let out = rt.block_on(remote::invoke(
        &aws, &name, &qualifier, kind, payload, a.log,
    ))?;
    let mut stdout = std::io::stdout().lock();
    match a.kind {
        Kind::Event => {
            let h = rt.block_on(remote::async_handling(&aws, &name, &qualifier))?;
            if cx.global.json {
                writeln!(
                    stdout,
                    "{:#}",
                    json!({ "statusCode": out.status, "function": name, "qualifier": qualifier, "asyncHandling": h })
                )?;
            } else {
                writeln!(
                    stdout,
                    "accepted ({}): {name}:{qualifier} runs the event on its own",
                    out.status
                )?;
                writeln!(
                    stdout,
                    "if it fails: retried up to {} more time(s) within {} s, then {}",
                    h.retries,
                    h.max_age_seconds,
                    match (&h.on_failure, &h.dead_letter) {
                        (Some(d), _) => format!("sent to {d}"),
                        (None, Some(q)) => format!("sent to the dead-letter target {q}"),
                        (None, None) =>
                            "dropped (no failure destination or dead-letter queue)".into(),
                    }
                )?;
            }
            return Ok(());
        }
        Kind::DryRun => {
            if cx.global.json {
                writeln!(
                    stdout,
                    "{:#}",
                    json!({ "statusCode": out.status, "function": name, "qualifier": qualifier })
                )?;
            } else {
                writeln!(
                    stdout,
                    "permitted ({}): {name}:{qualifier} may be invoked with these credentials",
                    out.status
                )?;
            }
            return Ok(());
        }
        Kind::RequestResponse => {}
    }
    let result: Value = serde_json::from_slice(&out.payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&out.payload).into_owned()));
    if cx.global.json {
        let field = if out.function_error.is_some() {
            "error"
        } else {
            "result"
        };
        writeln!(
            stdout,
            "{:#}",
            json!({ "statusCode": out.status, field: result, "executedVersion": out.executed_version, "log": out.log_tail })
        )?;
    } else if a.raw {
        stdout.write_all(&out.payload)?;
        writeln!(stdout)?;
    } else {
        writeln!(stdout, "{result:#}")?;
    }
    if let (Some(log), false) = (&out.log_tail, cx.global.json) {
        let mut err = std::io::stderr().lock();
        for line in log.lines() {
            match report::parse(line) {
                Some(r) => writeln!(err, "{}", cx.style.paint("2", &report::compact(&r)))?,
                None => writeln!(err, "{line}")?,
            }
        }
    }
    if out.function_error.is_some() {
        return Err(
            FunctionError(result["errorType"].as_str().unwrap_or("Error").to_string()).into(),
        );
    }
    Ok(())
}
