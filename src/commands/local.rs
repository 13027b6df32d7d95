//! `sls invoke local` and `sls offline`: package, unpack, and run the functions on this machine
//! through the local Runtime API (see `crate::local`).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use clap::{Args, Subcommand};
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::local::{self, FunctionError, Outcome, Pool, gateway};
use crate::plan::{Desired, desired};
use crate::session::{Context, UsageError, runtime};

/// `sls invoke -f NAME` calls the deployed function; `sls invoke local -f NAME` runs it here.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InvokeArgs {
    #[command(subcommand)]
    pub what: Option<InvokeWhat>,
    #[command(flatten)]
    pub remote: super::invoke::RemoteInvoke,
}

#[derive(Debug, Subcommand)]
pub enum InvokeWhat {
    /// Run one function on this machine from its deployment package, through a local Lambda
    /// Runtime API: the result on stdout, logs on stderr
    Local {
        /// The function's key under `functions:`
        #[arg(short, long)]
        function: String,
        /// The event: JSON, or any other text passed as a string
        #[arg(short, long, conflicts_with = "path")]
        data: Option<String>,
        /// A file holding the event (JSON)
        #[arg(short, long, value_name = "FILE", conflicts_with = "event")]
        path: Option<std::path::PathBuf>,
        /// A sample event of this kind, filled from the function's own event sources:
        /// schedule, eventbridge, sqs, sns, s3:put, s3:delete, dynamodb, kinesis
        #[arg(short, long, value_name = "KIND", conflicts_with = "data")]
        event: Option<String>,
        /// The client context (JSON), as `context.clientContext`
        #[arg(long, value_name = "JSON")]
        context: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct OfflineArgs {
    /// Port of the API routes on the host (0 picks a free one) [default: 3000]
    #[arg(long, visible_alias = "httpPort", value_name = "N")]
    pub port: Option<u16>,
    /// Address to listen on [default: 127.0.0.1]
    #[arg(long, value_name = "ADDR")]
    pub host: Option<String>,
    /// Repackage and restart the workers when a file of the service changes
    #[arg(long)]
    pub watch: bool,
    /// Port of the WebSocket routes and their `@connections` API (0 picks a free one) [default: 3001]
    #[arg(long, visible_alias = "websocketPort", value_name = "N")]
    pub websocket_port: Option<u16>,
    /// Port of the Lambda API (Invoke), for handlers that invoke other functions through an
    /// AWS SDK (0 picks a free one) [default: 3002]
    #[arg(long, visible_alias = "lambdaPort", value_name = "N")]
    pub lambda_port: Option<u16>,
    /// Port of the `alb` events' listener rules (0 picks a free one) [default: 3003]
    #[arg(long, visible_alias = "albPort", value_name = "N")]
    pub alb_port: Option<u16>,
    /// Also fire the `schedule` rules on their schedule (rate and cron, UTC)
    #[arg(long)]
    pub schedules: bool,
    /// Serve every route under /PREFIX
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Serve REST routes without their stage before the path
    #[arg(long, visible_alias = "noPrependStageInUrl")]
    pub no_prepend_stage_in_url: bool,
    /// Never stop an invocation at the function's timeout
    #[arg(long, visible_alias = "noTimeout")]
    pub no_timeout: bool,
    /// Turn authorizers off (sls offline does not run them in any case)
    #[arg(long, visible_alias = "noAuth")]
    pub no_auth: bool,
    /// Give the handlers sls's whole environment, not only PATH, HOME and AWS_*
    #[arg(long, visible_alias = "localEnvironment")]
    pub local_environment: bool,
    /// Load the handler anew for every request (no warm workers)
    #[arg(long, visible_alias = "reloadHandler")]
    pub reload_handler: bool,
    /// Origins the preflights of REST routes with `cors` allow (comma-separated)
    #[arg(long, visible_alias = "corsAllowOrigin", value_name = "LIST")]
    pub cors_allow_origin: Option<String>,
    /// Headers the preflights of REST routes with `cors` allow (comma-separated)
    #[arg(long, visible_alias = "corsAllowHeaders", value_name = "LIST")]
    pub cors_allow_headers: Option<String>,
    /// Headers the answers of REST routes with `cors` expose (comma-separated)
    #[arg(long, visible_alias = "corsExposedHeaders", value_name = "LIST")]
    pub cors_exposed_headers: Option<String>,
    /// REST routes with `cors` do not allow credentials
    #[arg(long, visible_alias = "corsDisallowCredentials")]
    pub cors_disallow_credentials: bool,
    /// serverless-offline's flags that sls does not act on, each said in a note at start
    #[arg(long, hide = true, value_name = "NAME")]
    pub ignored: Vec<String>,
}

impl OfflineArgs {
    /// What the command line says, for `Settings::resolve` (a switch not given says nothing).
    fn given(&self) -> local::settings::Given {
        let on = |b: bool| b.then_some(true);
        local::settings::Given {
            host: self.host.clone(),
            http_port: self.port,
            websocket_port: self.websocket_port,
            lambda_port: self.lambda_port,
            alb_port: self.alb_port,
            prefix: self.prefix.clone(),
            no_prepend_stage_in_url: on(self.no_prepend_stage_in_url),
            no_timeout: on(self.no_timeout),
            no_auth: on(self.no_auth),
            local_environment: on(self.local_environment),
            reload_handler: on(self.reload_handler),
            cors_allow_origin: self.cors_allow_origin.clone(),
            cors_allow_headers: self.cors_allow_headers.clone(),
            cors_exposed_headers: self.cors_exposed_headers.clone(),
            cors_disallow_credentials: on(self.cors_disallow_credentials),
            ignored: self.ignored.clone(),
        }
    }
}

/// Which local run the functions are prepared for.
#[derive(Clone, Copy)]
enum Run<'a> {
    InvokeLocal,
    Offline(&'a local::settings::Given),
}

/// The config's functions, packaged, with their local form.
struct Prepared {
    desired: Desired,
    functions: Vec<local::LocalFunction>,
    service_dir: std::path::PathBuf,
    /// `offline`'s settings (flags over `custom.serverless-offline`) and the lines about the
    /// settings it does not act on.
    settings: local::settings::Settings,
    notes: Vec<String>,
    /// The routes' authorizers that run locally, the private routes and their API keys.
    access: gateway::auth::Access,
}

fn prepared(cx: &Context, run: Run) -> anyhow::Result<Prepared> {
    // The code runs here: `Ref`s in its environment need their real values.
    let loaded = match run {
        Run::Offline(_) => cx.load_config_live_brief()?,
        Run::InvokeLocal => cx.load_config_live()?,
    };
    let none = local::settings::Given::default();
    let given = match run {
        Run::Offline(given) => given,
        Run::InvokeLocal => &none,
    };
    let (settings, mut notes) =
        local::settings::Settings::resolve(given, loaded.config.custom.as_ref());
    if let Run::Offline(_) = run {
        notes.extend(local::notes::not_emulated(
            &loaded.config,
            &loaded.stage,
            &settings,
        ));
    }
    let running = match run {
        Run::Offline(_) => settings.running(),
        Run::InvokeLocal => local::Running::invoke_local(),
    };
    let out_dir = cx.out_dir(&loaded, None);
    let manifest = cx.package(&loaded, &out_dir)?.manifest;
    let desired = desired::desired(&loaded.config, &loaded.stage, &loaded.region, &manifest);
    let functions = local::prepare(&desired, &out_dir, &cx.env, &running)?;
    Ok(Prepared {
        desired,
        functions,
        service_dir: loaded.service_dir.clone(),
        settings,
        notes,
        access: gateway::auth::Access::of(&loaded.config, &loaded.stage),
    })
}

fn pools(functions: Vec<local::LocalFunction>) -> HashMap<String, Arc<Pool>> {
    functions
        .into_iter()
        .map(|f| (f.key.clone(), Arc::new(Pool::new(f))))
        .collect()
}

/// Polls the service's files; on a change, packages again and swaps in new workers. A broken
/// edit is reported and the previous package keeps serving.
async fn watch(
    cx: &Context,
    given: &local::settings::Given,
    dir: &std::path::Path,
    gw: &gateway::Gateway,
) {
    let mut seen = local::watch::fingerprint(dir);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = local::watch::fingerprint(dir);
        if now == seen {
            continue;
        }
        seen = now;
        match prepared(cx, Run::Offline(given)) {
            Ok(p) => {
                gw.replace(&p.desired, pools(p.functions), p.access);
                eprintln!("repackaged: new requests run the changed code");
            }
            Err(e) => eprintln!(
                "error: {e:#}
  (still serving the previous package)"
            ),
        }
    }
}

pub fn invoke(cx: &Context, args: &InvokeArgs) -> anyhow::Result<()> {
    let Some(InvokeWhat::Local {
        function,
        data,
        path,
        event: kind,
        context,
    }) = &args.what
    else {
        return super::invoke::invoke(cx, &args.remote);
    };
    if let Some(kind) = kind
        && !crate::local::samples::KINDS.contains(&kind.as_str())
    {
        return Err(UsageError(format!(
            "unknown event kind `{kind}`; one of {}",
            crate::local::samples::KINDS.join(", ")
        ))
        .into());
    }
    let event = match (data, path) {
        (Some(d), _) => d.clone(),
        (None, Some(p)) => std::fs::read_to_string(cx.cwd.join(p)).map_err(|e| {
            UsageError(format!("cannot read the event file `{}`: {e}", p.display()))
        })?,
        (None, None) => String::new(),
    };
    // As in Serverless: JSON is passed as JSON, other text as a string, nothing as `{}`.
    let event: Value = if event.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&event).unwrap_or(Value::String(event))
    };
    let client_context = match context {
        Some(c) => Some(
            serde_json::from_str::<Value>(c)
                .map_err(|e| UsageError(format!("--context is not JSON: {e}")))?
                .to_string(),
        ),
        None => None,
    };
    let prepared = prepared(cx, Run::InvokeLocal)?;
    let event = match kind {
        Some(kind) => {
            let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default();
            let id = format!(
                "{:x}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos()
            );
            crate::local::samples::sample(&prepared.desired, function, kind, &now, &id)
                .map_err(UsageError)?
        }
        None => event,
    };
    let keys: Vec<String> = prepared.functions.iter().map(|f| f.key.clone()).collect();
    let Some(f) = prepared.functions.into_iter().find(|f| &f.key == function) else {
        return Err(
            crate::session::no_such_function(function, keys.iter().map(String::as_str)).into(),
        );
    };
    let pool = Pool::new(f);
    let rt = runtime()?;
    let done = rt.block_on(pool.invoke(Bytes::from(event.to_string()), client_context))?;
    let mut out = std::io::stdout().lock();
    let (result, failed) = match &done.outcome {
        Outcome::Ok(b) => (
            serde_json::from_slice::<Value>(b)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned())),
            false,
        ),
        Outcome::Error(doc) => (doc.clone(), true),
    };
    if cx.global.json {
        let r = &done.report;
        let doc = json!({
            "requestId": done.request_id,
            if failed { "error" } else { "result" }: result,
            "report": {
                "durationMs": r.duration.as_secs_f64() * 1000.0,
                "billedDurationMs": r.billed_ms,
                "memorySizeMb": r.memory_size,
                "maxMemoryUsedMb": r.max_memory_mb,
                "initDurationMs": r.init.map(|i| i.as_secs_f64() * 1000.0),
            },
        });
        writeln!(out, "{doc:#}")?;
    } else {
        writeln!(out, "{result:#}")?;
    }
    if failed {
        return Err(
            FunctionError(result["errorType"].as_str().unwrap_or("Error").to_string()).into(),
        );
    }
    Ok(())
}

pub fn offline(cx: &Context, args: &OfflineArgs) -> anyhow::Result<()> {
    let given = args.given();
    let Prepared {
        desired: d,
        functions,
        service_dir,
        settings,
        notes,
        access,
    } = prepared(cx, Run::Offline(&given))?;
    let scheduled = args.schedules
        && (d.rules.iter().any(|r| !r.expression.is_empty()) || !d.schedules.is_empty());
    let balanced = !d.listener_rules.is_empty();
    if d.http_api.is_none()
        && d.rest_api.is_none()
        && d.websocket.is_none()
        && !balanced
        && !scheduled
    {
        return Err(UsageError(
            "no httpApi, http, websocket or alb events in the config: nothing to serve (try `sls invoke local -f NAME`, or --schedules for schedule events)"
                .into(),
        )
        .into());
    }
    let rt = runtime()?;
    let host = settings.host.as_str();
    let bind = |port: u16, flag: &str| {
        rt.block_on(tokio::net::TcpListener::bind((host, port)))
            .map_err(|e| {
                UsageError(format!(
                    "cannot listen on {host}:{port}: {e}; choose another port with {flag} N (0 picks a free one)"
                ))
            })
    };
    let listener = bind(settings.http_port, "--port")?;
    let lambda = bind(settings.lambda_port, "--lambda-port")?;
    let sockets = match &d.websocket {
        Some(_) => Some(bind(settings.websocket_port, "--websocket-port")?),
        None => None,
    };
    let balancer = match balanced {
        true => Some(bind(settings.alb_port, "--alb-port")?),
        false => None,
    };
    let base = format!("http://{}", listener.local_addr()?);
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "Serving {} (stage {}) on {base}: local workers, no AWS",
            d.service, d.stage
        )?;
        writeln!(out, "endpoints:")?;
        for e in gateway::endpoints(&d, &base, &settings) {
            writeln!(out, "  {e}")?;
        }
        writeln!(
            out,
            "lambda: http://{}/2015-03-31/functions/{{FunctionName}}/invocations (Invoke, for an AWS SDK's endpoint)",
            lambda.local_addr()?
        )?;
        if let (Some(api), Some(l)) = (&d.websocket, &sockets) {
            let at = l.local_addr()?;
            writeln!(
                out,
                "websocket: ws://{at} (routes {})",
                api.routes
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
            writeln!(
                out,
                "  @connections: http://{at}/@connections/{{connectionId}}"
            )?;
        }
        if let Some(l) = &balancer {
            writeln!(
                out,
                "alb: http://{} (listener rules by priority)",
                l.local_addr()?
            )?;
            for r in gateway::alb::routes(&d) {
                let conditions: Vec<String> = r
                    .conditions
                    .iter()
                    .map(|c| match &c.name {
                        Some(n) => format!("{} {n}={}", c.field, c.values.join("|")),
                        None => format!("{} {}", c.field, c.values.join("|")),
                    })
                    .collect();
                writeln!(
                    out,
                    "  {}: {} → {}",
                    r.priority,
                    conditions.join(", "),
                    r.function
                )?;
            }
        }
        if scheduled {
            writeln!(out, "schedules:")?;
            for r in d
                .rules
                .iter()
                .filter(|r| !r.expression.is_empty() && r.enabled)
            {
                writeln!(out, "  {} → {}: {}", r.name, r.function, r.expression)?;
            }
            for s in d.schedules.iter().filter(|s| s.enabled) {
                let zone = s.timezone.as_deref().unwrap_or("UTC");
                writeln!(
                    out,
                    "  {} → {}: {} ({zone})",
                    s.name, s.function, s.expression
                )?;
            }
        }
        for k in &access.keys {
            match k.generated {
                true => writeln!(out, "api key {}: {} (x-api-key)", k.name, k.value)?,
                false => writeln!(out, "api key {}: as in the config (x-api-key)", k.name)?,
            }
        }
        for n in &notes {
            writeln!(out, "note: {n}")?;
        }
        writeln!(out, "Ctrl-C stops.")?;
        out.flush()?;
    }
    let gw = Arc::new(gateway::Gateway::new(
        &d,
        pools(functions),
        &settings,
        access,
    ));
    let serve = gateway::serve(listener, gw.clone());
    let invoke = local::lambda_api::serve(lambda, gw.clone(), d.region.clone());
    let fire = async {
        if scheduled {
            crate::local::schedules::run(d.clone(), gw.clone()).await;
        }
    };
    let sockets = async {
        if let Some(l) = sockets {
            gateway::websocket::serve(l, gw.clone()).await;
        }
    };
    let balance = async {
        if let Some(l) = balancer {
            gateway::alb::serve(l, gw.clone(), d.region.clone()).await;
        }
    };
    let watching = async {
        if args.watch {
            watch(cx, &given, &service_dir, &gw).await;
        }
    };
    rt.block_on(async { tokio::join!(serve, invoke, watching, fire, sockets, balance) });
    Ok(())
}
