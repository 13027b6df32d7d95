//! `sls info`: what is deployed for this service and stage, read from AWS.

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
    let endpoints: Vec<String> = match (&d.http_api, o.http_api.as_ref().filter(|a| a.owned)) {
        (_, Some(api)) => api
            .routes
            .keys()
            .map(|r| match r.split_once(' ') {
                Some((m, p)) => format!("{m} - {}{p}", api.endpoint),
                None => format!("ANY - {}", api.endpoint),
            })
            .collect(),
        _ => Vec::new(),
    };
    let functions: Vec<serde_json::Value> = d
        .functions
        .iter()
        .map(|f| {
            let of = o.functions.get(&f.name).filter(|of| of.owned);
            json!({
                "function": f.key,
                "name": f.name,
                "deployed": of.is_some(),
                "alias": d.alias,
                "version": of.and_then(|of| of.alias.as_ref()).map(|v| v.version.clone()),
            })
        })
        .collect();
    if cx.global.json {
        let doc = json!({ "service": d.service, "stage": d.stage, "region": d.region,
                          "endpoints": endpoints, "functions": functions });
        println!("{doc:#}");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "service: {}\nstage: {}\nregion: {}",
        d.service, d.stage, d.region
    )?;
    writeln!(
        out,
        "endpoints:{}",
        if endpoints.is_empty() { " none" } else { "" }
    )?;
    for e in &endpoints {
        writeln!(out, "  {e}")?;
    }
    writeln!(out, "functions:")?;
    for f in &functions {
        let state = match (f["deployed"].as_bool(), f["version"].as_str()) {
            (Some(true), Some(v)) => format!("alias {} → version {v}", d.alias),
            (Some(true), None) => format!("deployed, no {} alias", d.alias),
            _ => "not deployed".into(),
        };
        writeln!(
            out,
            "  {}: {} ({state})",
            f["function"].as_str().unwrap_or(""),
            f["name"].as_str().unwrap_or("")
        )?;
    }
    Ok(())
}
