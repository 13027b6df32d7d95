//! `sls adopt`: takes over a stage Serverless v3 deployed (its stack `{service}-{stage}`) so that
//! `sls deploy` manages it, recreating nothing. Reads the stack, shows the plan
//! (`plan::adopt`), then carries the steps out one by one holding the service's lease.

use std::time::Instant;

use clap::Args;

use crate::output::adopt as out;
use crate::plan::adopt::{Refused, plan};
use crate::plan::stack::v3_stack_name;
use crate::provider::aws::{self, Aws, AwsError};
use crate::session::{self, Context};

#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// Show the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Leave this resource of the v3 stack (its logical id) in AWS outside any stack,
    /// managed by nothing (repeatable)
    #[arg(long = "leave", value_name = "LOGICAL_ID")]
    pub leave: Vec<String>,
    #[command(flatten)]
    pub lease: session::LeaseArgs,
}

pub fn run(cx: &Context, args: &AdoptArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let r = cx.read_config()?;
    let first = session::finish(&r, &r.stand_ins(), None)?;
    cx.show_warnings(&first);
    let rt = session::runtime()?;
    let aws = rt.block_on(Aws::connect(r.region(), cx.global.aws_profile.as_deref()))?;
    let names = session::names_of(&first);
    let name = v3_stack_name(&names.service, &names.stage);
    let (account, read) = rt.block_on(async {
        tokio::join!(
            aws::stack::account(&aws),
            aws::adopt::read(&aws, &names, &name)
        )
    });
    let account = account?;
    let Some((mut stack, original)) = read? else {
        return Err(Refused(vec![format!(
            "there is no CloudFormation stack {name} in {}: nothing to adopt (Serverless v3 names a service's stack {{service}}-{{stage}}; check --stage and --region)",
            names.region
        )])
        .into());
    };
    // The user's `resources:` as the side stack will hold them, with the values of what sls
    // takes over (the APIs' ids are the v3 stack's).
    let mut managed = crate::plan::stack::managed_values(&names, &account);
    for id in ["HttpApi", "ApiGatewayRestApi", "WebsocketsApi"] {
        if let Some(res) = stack.resources.iter().find(|x| x.logical == id) {
            managed.refs.insert(id.to_string(), res.physical.clone());
        }
    }
    let spec = crate::commands::deploy::stack_spec(&r, &first, &managed)?.map(|mut s| {
        s.name = name.clone();
        s
    });
    let user: Vec<String> = spec
        .as_ref()
        .map(|s| s.resources.iter().map(|(id, _)| id.clone()).collect())
        .unwrap_or_default();
    // The user's outputs stay with their resources: only v3's exports must be free to go.
    let user_outputs: Vec<String> = spec
        .as_ref()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s.template).ok())
        .and_then(|t| {
            t["Outputs"]
                .as_object()
                .map(|o| o.keys().cloned().collect())
        })
        .unwrap_or_default();
    let user_exports: Vec<String> = stack
        .exports
        .iter()
        .filter(|(k, _)| user_outputs.contains(k))
        .map(|(_, e)| e.clone())
        .collect();
    stack.imported.retain(|e, _| !user_exports.contains(e));
    let p = plan(&stack, &names, &user, &args.leave);
    if !cx.global.json {
        eprint!("{}", out::plan_text(&p, cx.style));
    }
    if !p.refusals.is_empty() {
        return Err(Refused(p.refusals.clone()).into());
    }
    let report = || out::Adopted {
        plan: &p,
        service: &names.service,
        stage: &names.stage,
        calls: aws.calls.tally(),
        took: started.elapsed(),
        dry_run: args.dry_run,
    };
    if args.dry_run || p.steps.is_empty() {
        out::adopted(&report(), cx.global.json);
        return Ok(());
    }
    let location = match crate::plan::adopt::deployment_bucket(&stack, &names) {
        Some(b) => format!("s3://{b}/{}", crate::plan::adopt::original_key(&name)),
        None => stack
            .record
            .as_ref()
            .map(|r| r.original.clone())
            .unwrap_or_default(),
    };
    let quiet = cx.global.json;
    let heard = move |line: &str| {
        if !quiet {
            out::event(line);
        }
    };
    let moving = aws::adopt::Moving {
        aws: &aws,
        d: &names,
        original: &original,
        parsed: &stack.template,
        original_location: &location,
        bucket: crate::plan::adopt::deployment_bucket(&stack, &names),
        spec: spec.as_ref(),
        report: &heard,
    };
    cx.leased(
        &rt,
        &aws,
        (&names.service, &names.stage),
        "adopt",
        &args.lease,
        |lease| {
            for (done, step) in p.steps.iter().enumerate() {
                // Each step is whole: a stop between two leaves nothing half done.
                if crate::interrupt::requested() {
                    return Err(AwsError::Interrupted(crate::interrupt::Interrupted {
                        done,
                        total: p.steps.len(),
                        rolled_back: false,
                    })
                    .into());
                }
                let t = Instant::now();
                rt.block_on(aws::adopt::run(&moving, step))?;
                if !quiet {
                    out::step_done(step, t.elapsed(), cx.style);
                }
            }
            cx.give_back(&rt, &aws, lease);
            out::adopted(&report(), cx.global.json);
            Ok(())
        },
    )
}
