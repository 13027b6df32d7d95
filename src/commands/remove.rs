//! `sls remove`: deletes everything this service and stage own; reports look-alikes it leaves.

use std::io::Write;

use serde_json::json;

use crate::cli::Context;
use crate::commands::deploy::{Observation, observe_only};

pub fn run(cx: &Context) -> anyhow::Result<()> {
    let Observation {
        desired: d,
        rt,
        aws,
        observed: o,
    } = observe_only(cx)?;
    let r = rt.block_on(crate::provider::aws::remove::remove(&aws, &d, &o))?;
    if cx.global.json {
        println!(
            "{:#}",
            json!({ "service": d.service, "stage": d.stage, "removed": r.removed,
                                 "leftAlone": r.left_alone, "awsCalls": aws.calls.tally() })
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    if r.removed.is_empty() {
        writeln!(
            out,
            "Nothing of {} (stage {}) to remove",
            d.service, d.stage
        )?;
    }
    for x in &r.removed {
        writeln!(out, "  - {x}")?;
    }
    for x in &r.left_alone {
        writeln!(
            out,
            "  ! {x}: left alone (it lacks this service's sls:service/sls:stage tags)"
        )?;
    }
    Ok(())
}
