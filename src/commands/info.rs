//! `sls info`: what is deployed for this service and stage, read from AWS.

use std::io::Write;

use serde_json::json;

use crate::plan;
use crate::provider::aws::Scope;
use crate::session::{Context, Observation};

pub fn run(cx: &Context) -> anyhow::Result<()> {
    let Observation {
        desired: d,
        observed: o,
        rt,
        aws,
    } = cx.observe(Scope::Service)?;
    let (stack, outputs) = rt
        .block_on(crate::provider::aws::stack::outputs(
            &aws, &d.service, &d.stage,
        ))?
        .unwrap_or_default();
    let mut endpoints: Vec<String> = o
        .http_api
        .iter()
        .filter(|a| a.owned && !a.default_endpoint_disabled)
        .flat_map(|api| plan::endpoints(api.routes.keys(), &api.endpoint))
        .collect();
    // A REST API serves what its stage was deployed with; Lambda-backed methods only.
    if let Some(api) = o
        .rest_api
        .as_ref()
        .filter(|a| a.owned && a.deployed.is_some())
    {
        let routes: Vec<String> = api
            .resources
            .iter()
            .flat_map(|(path, r)| {
                r.methods
                    .iter()
                    .filter(|(_, target)| target.ends_with("/invocations"))
                    .map(move |(m, _)| format!("{m} {path}"))
            })
            .collect();
        let base = plan::rest_api::invoke_url(&api.id, &d.region, &d.stage);
        endpoints.extend(plan::endpoints(routes.iter(), &base));
    }
    if let Some(ws) = o.websocket.as_ref().filter(|w| w.owned && w.has_stage) {
        let stage = d.websocket.as_ref().map_or(d.stage.as_str(), |w| &w.stage);
        endpoints.push(plan::websocket::url(&ws.id, &d.region, stage));
    }
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
                          "endpoints": endpoints, "functions": functions, "outputs": outputs });
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
            (Some(true), _) if !d.versioned => "unversioned: $LATEST runs".to_string(),
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
    if !outputs.is_empty() {
        writeln!(out, "stack outputs ({stack}):")?;
        for (k, v) in &outputs {
            writeln!(out, "  {k}: {v}")?;
        }
    }
    Ok(())
}
