//! `sls print`: the configuration with every variable resolved, as Serverless v3 prints it.

use std::io::Write;

use clap::{Args, ValueEnum};

use crate::output;
use crate::session::{Context, UsageError};

#[derive(Debug, Args)]
pub struct PrintArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = PrintFormat::Yaml)]
    pub format: PrintFormat,
    /// Print only the value at this dotted path (e.g. provider.environment)
    #[arg(long, value_name = "DOTTED.PATH")]
    pub path: Option<String>,
    /// Transform the output: `keys` prints only the keys of the selected mapping
    #[arg(long, value_enum)]
    pub transform: Option<Transform>,
    /// Show the decrypted values of SSM SecureStrings (hidden as ******** otherwise)
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrintFormat {
    Yaml,
    Json,
    /// Scalars as bare text; lists and mappings as YAML
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transform {
    Keys,
}

pub fn run(cx: &Context, args: &PrintArgs) -> anyhow::Result<()> {
    let loaded = cx.load_config()?;
    let mut value = loaded.resolved.to_json();
    if !args.show_secrets {
        hide(&mut value, &loaded.secrets);
    }
    if let Some(path) = &args.path {
        value = path
            .split('.')
            .try_fold(&value, |v, seg| match v {
                serde_json::Value::Object(m) => m.get(seg),
                serde_json::Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            })
            .cloned()
            .ok_or_else(|| {
                UsageError(format!(
                    "`{path}` does not exist in the resolved configuration"
                ))
            })?;
    }
    if args.transform == Some(Transform::Keys) {
        let serde_json::Value::Object(m) = &value else {
            return Err(UsageError(
                "--transform keys needs a mapping; the selected value is not one".into(),
            )
            .into());
        };
        value =
            serde_json::Value::Array(m.keys().cloned().map(serde_json::Value::String).collect());
    }
    let format = if cx.global.json {
        PrintFormat::Json
    } else {
        args.format
    };
    let text = match (format, &value) {
        (PrintFormat::Json, v) => format!("{}\n", serde_json::to_string_pretty(v)?),
        (PrintFormat::Text, serde_json::Value::String(s)) => format!("{s}\n"),
        (PrintFormat::Text, serde_json::Value::Array(a))
            if a.iter().all(|v| !v.is_object() && !v.is_array()) =>
        {
            a.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string) + "\n")
                .collect()
        }
        (PrintFormat::Text, v) if !v.is_object() && !v.is_array() => format!("{v}\n"),
        (_, v) => output::yaml::to_string(v),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// Replaces every secret inside a string with `********`, wherever the variable put it.
fn hide(value: &mut serde_json::Value, secrets: &[String]) {
    match value {
        serde_json::Value::String(s) => {
            for secret in secrets.iter().filter(|x| !x.is_empty()) {
                if s.contains(secret.as_str()) {
                    *s = s.replace(secret.as_str(), "********");
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| hide(v, secrets)),
        serde_json::Value::Object(m) => m.values_mut().for_each(|v| hide(v, secrets)),
        _ => {}
    }
}
