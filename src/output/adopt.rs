//! What `sls adopt` shows: the fate of every resource of the v3 stack, the steps, what the first
//! deploy will change; each step as it ends; the closing summary (or its JSON document).

use std::time::Duration;

use serde_json::json;

use super::Style;
use super::steps::counted;
use crate::plan::adopt::{AdoptPlan, AdoptStep, Fate};
use crate::provider::aws::calls::Tally;

/// The plan's text, for stderr.
pub fn plan_text(p: &AdoptPlan, style: Style) -> String {
    let mut out = format!(
        "Adoption of CloudFormation stack {} ({}):\n",
        p.stack,
        counted(p.items.len(), "resource")
    );
    for i in &p.items {
        let (mark, what) = match &i.fate {
            Fate::TakenOver { owner, note } => (
                "~",
                match note {
                    Some(n) => format!("taken over by sls as {owner}; {n}"),
                    None => format!("taken over by sls as {owner}"),
                },
            ),
            Fate::Part { of } => ("=", format!("comes with {of}")),
            Fate::Replaced { by } => ("~", format!("replaced by {by} on the first deploy")),
            Fate::Stays => (
                "=",
                "stays in CloudFormation (your `resources:`)".to_string(),
            ),
            Fate::Kept { why } => ("=", format!("kept in AWS, out of CloudFormation: {why}")),
            Fate::Left => (
                "=",
                "left in AWS outside any stack, unmanaged (--leave)".to_string(),
            ),
            Fate::Refused { why } => ("!", format!("cannot be adopted: {why}")),
        };
        let line = format!("{mark} {} ({}): {what}", i.logical_id, i.kind);
        let colour = match mark {
            "!" => "1;31",
            "~" => "33",
            _ => "0",
        };
        out.push_str(&format!("  {}\n", style.paint(colour, &line)));
    }
    if p.refusals.is_empty() {
        out.push_str(&format!("Steps: {}\n", counted(p.steps.len(), "step")));
        for s in &p.steps {
            out.push_str(&format!("  {s}\n"));
        }
    }
    if !p.first_deploy.is_empty() {
        out.push_str("The first `sls deploy` after it changes:\n");
        for l in &p.first_deploy {
            out.push_str(&format!("  {l}\n"));
        }
    }
    out
}

/// One finished step, above the next.
pub fn step_done(step: &AdoptStep, took: Duration, style: Style) {
    eprintln!(
        "  {} {step} ({:.2} s)",
        style.paint("32", "✓"),
        took.as_secs_f64()
    );
}

/// A CloudFormation event heard while a stack operation runs.
pub fn event(line: &str) {
    eprintln!("    {line}");
}

/// How an adoption ended, for its report.
pub struct Adopted<'a> {
    pub plan: &'a AdoptPlan,
    pub service: &'a str,
    pub stage: &'a str,
    pub calls: Tally,
    pub took: Duration,
    pub dry_run: bool,
}

/// The closing report: one line (and what to do next), or the JSON document on stdout.
pub fn adopted(a: &Adopted<'_>, json: bool) {
    let Adopted {
        plan: p,
        service,
        stage,
        took,
        dry_run,
        ..
    } = *a;
    let calls = &a.calls;
    if json {
        println!(
            "{:#}",
            json!({ "service": service, "stage": stage, "stack": p.stack, "dryRun": dry_run,
                    "resources": p.items, "steps": p.steps, "firstDeploy": p.first_deploy,
                    "awsCalls": calls })
        );
        return;
    }
    if dry_run {
        println!(
            "Dry run: nothing changed. `sls adopt` carries out the {} above.",
            counted(p.steps.len(), "step")
        );
    } else if p.steps.is_empty() {
        println!("{service} (stage {stage}) was adopted already: `sls deploy` manages it");
    } else {
        println!(
            "Adopted {service} (stage {stage}) from CloudFormation stack {}: {} in {:.1} s. Next: `sls deploy --dry-run` shows the changes announced above, `sls deploy` makes them",
            p.stack,
            counted(p.steps.len(), "step"),
            took.as_secs_f64()
        );
    }
}
