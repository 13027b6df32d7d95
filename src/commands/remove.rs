//! `sls remove`: plans against nothing desired and carries the plan out with the deploy's
//! executor, so deletion order, ownership checks and progress are the deploy's; reports
//! look-alikes it leaves alone.

use std::io::Write;

use serde_json::json;

use crate::plan;
use crate::provider::aws::{self, Scope};
use crate::session::{Connection, Context, LeaseArgs};

pub fn run(cx: &Context, lease: &LeaseArgs) -> anyhow::Result<()> {
    let Connection {
        desired: d,
        rt,
        aws,
    } = cx.connect(cx.desired()?)?;
    cx.leased(
        &rt,
        &aws,
        (&d.service, &d.stage),
        "remove",
        lease,
        |lease| remove(cx, &d, &rt, &aws, lease),
    )
}

fn remove(
    cx: &Context,
    d: &crate::plan::desired::Desired,
    rt: &tokio::runtime::Runtime,
    aws: &aws::Aws,
    lease: &mut Option<aws::lease::Lease>,
) -> anyhow::Result<()> {
    let o = rt.block_on(aws::observe(aws, d, Scope::Everything))?;
    let nothing = d.nothing();
    let the_plan = plan::plan(&nothing, &o);
    if !cx.global.json && !the_plan.is_empty() {
        crate::output::steps::print_plan(&the_plan, cx.style);
    }
    let progress = crate::output::steps::StepProgress::new(cx.global.json, cx.style)
        .with_notices_of(&aws.calls);
    let done = rt.block_on(aws::execute(
        aws,
        &nothing,
        &o,
        &the_plan.steps,
        &cx.cwd,
        &progress,
    ));
    // Its area is cleared before the lease's release or the report print anything.
    drop(progress);
    done?;
    cx.give_back(rt, aws, lease);
    let removed: Vec<String> = the_plan
        .steps
        .iter()
        .filter_map(plan::Step::removes)
        .collect();
    if cx.global.json {
        println!(
            "{:#}",
            json!({ "service": d.service, "stage": d.stage, "removed": removed,
                    "leftAlone": the_plan.left_alone, "awsCalls": aws.calls.tally() })
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    if removed.is_empty() {
        writeln!(
            out,
            "Nothing of {} (stage {}) to remove",
            d.service, d.stage
        )?;
    }
    // The plan above listed each of them, and the progress ticked each off: one line here.
    if !removed.is_empty() {
        writeln!(
            out,
            "Removed {} (stage {}): {}",
            d.service,
            d.stage,
            crate::output::steps::counted(removed.len(), "resource")
        )?;
    }
    for x in &the_plan.left_alone {
        writeln!(
            out,
            "  ! {x}: left alone (it lacks this service's sls:service/sls:stage tags)"
        )?;
    }
    Ok(())
}
