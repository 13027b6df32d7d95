//! `sls remove`: deletes everything this service and stage own; reports look-alikes it leaves.

use std::io::Write;

use serde_json::json;

use crate::cli::Context;
use crate::commands::deploy::runtime;
use crate::package::Manifest;
use crate::plan::desired;
use crate::provider::aws::{self, Aws};

pub fn run(cx: &Context) -> anyhow::Result<()> {
    let loaded = cx.load_config()?;
    let empty = Manifest {
        format: crate::package::manifest::FORMAT,
        service: loaded.config.service.clone(),
        stage: loaded.stage.clone(),
        region: loaded.region.clone(),
        artifacts: Default::default(),
        functions: Default::default(),
    };
    let d = desired::desired(&loaded.config, &loaded.stage, &loaded.region, &empty);
    let rt = runtime()?;
    let aws = rt.block_on(Aws::connect(
        &loaded.region,
        cx.global.aws_profile.as_deref(),
    ))?;
    let o = rt.block_on(aws::observe::observe(&aws, &d, true))?;
    let r = rt.block_on(aws::remove::remove(&aws, &d, &o))?;
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
