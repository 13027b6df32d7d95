//! What a deploy reports once it ran (or, for a dry run, would run): a summary in words on stdout
//! — the URLs and versions a release script or a person reads next — or one JSON document.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::plan::{Desired, Plan};
use crate::provider::aws::Tally;

/// A deploy's result, as the summary shows it.
pub struct Deployed<'a> {
    pub d: &'a Desired,
    /// The side stack's steps (`resources:`), shown apart from the rest.
    pub stack: &'a Plan,
    pub plan: &'a Plan,
    pub calls: Tally,
    /// The API endpoints (none for a staged alias: the APIs serve the live one).
    pub endpoints: &'a [String],
    /// Function key → the version its alias points at, when this run published one.
    pub versions: &'a BTreeMap<String, String>,
    /// Function key → its function URL.
    pub urls: &'a BTreeMap<String, String>,
    pub took: Duration,
}

/// A dry run: a line on stderr under the plan already shown, or the plan as JSON.
pub fn dry_run(d: &Desired, stack: &Plan, plan: &Plan, calls: Tally, json: bool) {
    if json {
        let doc = json!({ "dryRun": true, "service": d.service, "stage": d.stage, "region": d.region,
                          "stack": stack, "plan": plan, "awsCalls": calls });
        println!("{doc:#}");
    } else {
        eprintln!("Dry run: nothing was changed; `sls deploy` carries out this plan");
    }
}

/// What a deploy left: its counts and time, the endpoints, each function's alias, version and
/// URL, and how to move a staged alias live.
pub fn deployed(run: &Deployed<'_>, json: bool) -> std::io::Result<()> {
    let d = run.d;
    if json {
        let functions: serde_json::Map<String, serde_json::Value> = d
            .functions
            .iter()
            .map(|f| (f.key.clone(), json!({ "name": f.name, "alias": d.alias, "version": run.versions.get(&f.key), "url": run.urls.get(&f.key) })))
            .collect();
        let doc = json!({ "service": d.service, "stage": d.stage, "region": d.region, "stack": run.stack, "plan": run.plan,
                          "endpoints": run.endpoints, "functions": functions, "awsCalls": run.calls });
        println!("{doc:#}");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let changes = run.plan.steps.len() + run.stack.steps.len();
    let what = if changes == 0 {
        "no changes".to_string()
    } else {
        super::steps::counted(changes, "change")
    };
    writeln!(
        out,
        "Deployed {} (stage {}, {}): {what} in {:.1} s, {} AWS calls ({} changing)",
        d.service,
        d.stage,
        d.region,
        run.took.as_secs_f64(),
        run.calls.total,
        run.calls.mutating
    )?;
    if !run.endpoints.is_empty() {
        writeln!(out, "endpoints:")?;
        for e in run.endpoints {
            writeln!(out, "  {e}")?;
        }
    }
    writeln!(out, "functions:")?;
    for f in &d.functions {
        let v = run
            .versions
            .get(&f.key)
            .map_or(String::new(), |v| format!(", version {v}"));
        match d.versioned {
            true => writeln!(out, "  {}: {} (alias {}{v})", f.key, f.name, d.alias)?,
            false => writeln!(out, "  {}: {} (unversioned: $LATEST runs)", f.key, f.name)?,
        }
        if let Some(u) = run.urls.get(&f.key) {
            writeln!(out, "    {u}")?;
        }
    }
    if d.alias != d.live {
        writeln!(
            out,
            "alias {} takes no traffic from the APIs; move it live with `sls alias promote --from {} --to {}`",
            d.alias, d.alias, d.live
        )?;
    }
    Ok(())
}
