//! `sls deploy` (and `--dry-run`), `sls deploy function -f NAME`: package, read what exists,
//! plan, show the plan, carry it out, print the endpoints.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};

use crate::config::{self, Loaded};
use crate::output::summary;
use crate::plan::{self, ConflictError, desired};
use crate::provider::aws::{self, Aws, Progress, Scope};
use crate::session::{self, Context, UsageError};

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Use the artifacts and manifest already in DIR (from `sls package --package DIR`)
    #[arg(short = 'p', long = "package", value_name = "DIR")]
    pub package: Option<PathBuf>,
    /// Publish versions and move only this alias (created if missing), with a function URL
    /// to call it by; the live alias and the APIs keep serving the current versions
    #[arg(long, global = true, value_name = "NAME", value_parser = crate::release::check_alias_name)]
    pub alias: Option<String>,
    #[command(flatten)]
    pub lease: session::LeaseArgs,
    /// Deploy although the config lists this plugin, whose job sls cannot do (repeatable)
    #[arg(long = "ignore-plugin", global = true, value_name = "NAME")]
    pub ignore_plugin: Vec<String>,
    #[command(subcommand)]
    pub what: Option<DeployWhat>,
}

#[derive(Debug, Subcommand)]
pub enum DeployWhat {
    /// Update one function's code and configuration only (the fast path)
    Function {
        /// The function's key under `functions:`
        #[arg(short, long)]
        function: String,
    },
}

pub fn run(cx: &Context, args: &DeployArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let r = cx.read_config()?;
    let first = session::finish(&r, &r.stand_ins(), None)?;
    first.refuse_plugins(&args.ignore_plugin)?;
    let rt = session::runtime()?;
    let aws = rt.block_on(Aws::connect(r.region(), cx.global.aws_profile.as_deref()))?;
    if args.dry_run {
        return deploy(cx, args, started, &r, first, &rt, &aws, &mut None);
    }
    let (service, stage) = (first.config.service.clone(), r.stage().to_string());
    cx.leased(
        &rt,
        &aws,
        (&service, &stage),
        "deploy",
        &args.lease,
        |lease| deploy(cx, args, started, &r, first, &rt, &aws, lease),
    )
}

/// The deploy once connected (and, unless it is a dry run, holding the service's lease, which
/// it gives back before its report so that the report counts every call).
#[allow(clippy::too_many_arguments)]
fn deploy(
    cx: &Context,
    args: &DeployArgs,
    started: Instant,
    r: &config::Read,
    first: Loaded,
    rt: &tokio::runtime::Runtime,
    aws: &Aws,
    lease: &mut Option<aws::lease::Lease>,
) -> anyhow::Result<()> {
    let needs = r.needs();
    // The side stack first: the rest of the config may use its outputs.
    let early = if r.has_resources()? || !needs.is_empty() {
        let account = rt.block_on(aws::stack::account(aws))?;
        let names = session::names_of(&first);
        let mut managed = plan::stack::managed_values(&names, &account);
        // The APIs' ids, when referred to: the functions (deployed before the APIs) and the
        // stack may need them, so missing APIs are made first (not in a dry run).
        let everywhere = r.needs_everywhere();
        let want = aws::stack::WantedApis {
            rest: everywhere.names("ApiGatewayRestApi"),
            http: everywhere.names("HttpApi"),
            websocket: everywhere.names("WebsocketsApi"),
        };
        if want.any() {
            let progress = crate::output::steps::StepProgress::new(cx.global.json, cx.style);
            let dir = cx.out_dir(&first, args.package.as_deref());
            let ids = rt.block_on(aws::stack::api_ids(
                aws,
                &names,
                want,
                !args.dry_run && args.what.is_none(),
                &dir,
                &progress,
            ))?;
            ids.add_to(&mut managed);
        }
        // `deploy function` leaves the stack as it is and reads its outputs.
        let stack_run = if args.what.is_none() {
            Some(side_stack(cx, args, r, &first, &managed, rt, aws)?)
        } else {
            None
        };
        let outputs = stack_run.as_ref().and_then(|s| s.outputs.clone());
        let live = rt.block_on(aws::stack::live_values(
            aws,
            &first.config.service,
            r.stage(),
            &needs,
            outputs.as_ref(),
        ))?;
        let mut values = session::values_of(
            r,
            &first,
            &account,
            live,
            // A dry run shows stand-ins for what is not made yet.
            args.dry_run,
            "the side stack has no output for it; deploy again",
        );
        values.refs.extend(managed.refs.clone());
        values.atts.extend(managed.atts.clone());
        let loaded = session::finish(r, &values, None)?;
        Some((loaded, stack_run.map(|s| s.plan).unwrap_or_default()))
    } else {
        None
    };
    let (loaded, stack_plan) = early.unwrap_or_else(|| (first, plan::Plan::default()));
    cx.show_warnings(&loaded);
    let out_dir = cx.out_dir(&loaded, args.package.as_deref());
    let manifest = if args.package.is_some() {
        crate::package::Manifest::read(&out_dir).ok_or_else(|| {
            UsageError(format!(
                "no package manifest in `{}`: run `sls package --package DIR` first",
                out_dir.display()
            ))
        })?
    } else {
        cx.package(&loaded, &out_dir)?.manifest
    };
    let mut d = desired::desired(&loaded.config, &loaded.stage, &loaded.region, &manifest);
    if let Some(a) = &args.alias {
        if !d.versioned {
            return Err(session::unversioned("`deploy --alias`").into());
        }
        d.alias = a.clone();
    }
    let only = match &args.what {
        Some(DeployWhat::Function { function }) => {
            let keys: Vec<String> = d.functions.iter().map(|f| f.key.clone()).collect();
            d = d.only_function(function).ok_or_else(|| {
                session::no_such_function(function, keys.iter().map(String::as_str))
            })?;
            Some(function.clone())
        }
        None => None,
    };
    let scope = if only.is_some() {
        Scope::Functions
    } else {
        Scope::Service
    };
    // Nothing is changed while a queue the config's events name is missing (read beside the
    // rest; `deploy function` touches no event source). A dry run's queues of `resources:`
    // are stand-ins, not looked up.
    let stand_ins: std::collections::BTreeSet<String> = if args.dry_run {
        r.stand_ins().types.into_keys().collect()
    } else {
        Default::default()
    };
    let (observed, sources) = rt.block_on(async {
        tokio::join!(aws::observe(aws, &d, scope), async {
            match scope {
                Scope::Service => aws::event_source::check_sources(aws, &d, &stand_ins).await,
                Scope::Functions | Scope::Everything => Ok(()),
            }
        })
    });
    sources?;
    let observed = observed?;
    let mut the_plan = plan::plan(&d, &observed);
    if let Some(f) = &only {
        if !observed.functions.contains_key(&d.functions[0].name) {
            return Err(UsageError(format!(
                "function `{f}` has not been deployed yet: run `sls deploy` first"
            ))
            .into());
        }
        the_plan.steps.retain(|s| s.phase().in_function_deploy());
    }
    // Resources of ours taken: when a Serverless v3 stack of the stage holds them, `sls adopt`
    // is what to do (looked for only then; a service with `resources:` looked already).
    if !the_plan.conflicts.is_empty() && !r.has_resources()? {
        let (_, v3) = rt.block_on(aws::stack::observe(aws, None, &d.service, &d.stage))?;
        // What v3 holds is taken over, not renamed: its conflicts are that one.
        if let Some(v3) = v3 {
            the_plan.conflicts = vec![plan::stack::v3_conflict(&v3)];
        }
    }
    if !cx.global.json {
        crate::output::steps::print_plan(&the_plan, cx.style);
    }
    if !the_plan.conflicts.is_empty() {
        return Err(ConflictError(the_plan.conflicts.clone()).into());
    }
    if args.dry_run {
        summary::dry_run(
            &d,
            &stack_plan,
            &the_plan,
            aws.calls.tally(),
            cx.global.json,
        );
        return Ok(());
    }
    let progress = crate::output::steps::StepProgress::new(cx.global.json, cx.style)
        .with_notices_of(&aws.calls);
    let outcome = rt.block_on(aws::execute(
        aws,
        &d,
        &observed,
        &the_plan.steps,
        &out_dir,
        &progress,
    ));
    // Its area is cleared before the lease's release or the report print anything.
    drop(progress);
    let outcome = outcome?;
    cx.give_back(rt, aws, lease);
    let staged = d.alias != d.live;
    // A staged alias is called through its function URL; the APIs serve the live alias.
    let mut urls = outcome.urls.clone();
    for f in &d.functions {
        if let Some(u) = observed
            .functions
            .get(&f.name)
            .and_then(|o| o.url.as_ref())
            .map(|u| u.url.clone())
        {
            urls.entry(f.key.clone()).or_insert(u);
        }
    }
    let endpoints: &[String] = if staged { &[] } else { &outcome.endpoints };
    let run = summary::Deployed {
        d: &d,
        stack: &stack_plan,
        plan: &the_plan,
        calls: aws.calls.tally(),
        endpoints,
        versions: &outcome.versions,
        urls: &urls,
        took: started.elapsed(),
    };
    summary::deployed(&run, cx.global.json)?;
    Ok(())
}

/// What the side stack's part of a deploy did.
struct StackRun {
    /// Its steps, as shown.
    plan: plan::Plan,
    /// Its outputs after the run (None when nothing ran: they are read with the other values).
    outputs: Option<std::collections::BTreeMap<String, String>>,
}

/// The side stack's desired state: the template built from `resources:` (with `managed`, the
/// values of what sls deploys), None without any.
pub(crate) fn stack_spec(
    r: &config::Read,
    first: &Loaded,
    managed: &config::intrinsics::Values,
) -> anyhow::Result<Option<plan::StackSpec>> {
    let service = &first.config.service;
    let description = format!("Resources of {service} ({}), deployed by sls", first.stage);
    let with_template = session::finish(r, &r.stand_ins(), Some((managed, &description)))?;
    let names = session::names_of(first);
    let Some(t) = with_template.template else {
        return Ok(None);
    };
    let template = serde_json::to_string(&t.body)?;
    if template.len() > plan::stack::MAX_TEMPLATE_BODY {
        return Err(UsageError(format!(
            "the template built from `resources:` is {} bytes; CloudFormation takes at most {} inline, and sls does not upload larger ones yet: move some resources to a stack of their own and use ${{cf:…}}",
            template.len(),
            plan::stack::MAX_TEMPLATE_BODY
        ))
        .into());
    }
    Ok(Some(plan::StackSpec {
        name: plan::stack::stack_name(service, &first.stage),
        template,
        resources: t.resources,
        retained: t.retained,
        tags: names.tags.clone(),
    }))
}

/// Plans the side stack, shows the plan and (unless a dry run) carries it out with progress.
fn side_stack(
    cx: &Context,
    args: &DeployArgs,
    r: &config::Read,
    first: &Loaded,
    managed: &config::intrinsics::Values,
    rt: &tokio::runtime::Runtime,
    aws: &Aws,
) -> anyhow::Result<StackRun> {
    let service = &first.config.service;
    let spec = stack_spec(r, first, managed)?;
    let (observed, v3) = rt.block_on(aws::stack::observe(
        aws,
        spec.as_ref(),
        service,
        &first.stage,
    ))?;
    let mut p = plan::Plan::default();
    match plan::stack::plan(spec.as_ref(), observed.as_ref(), v3.as_deref()) {
        Ok(steps) => steps.into_iter().for_each(|s| p.push(s)),
        Err(c) => p.conflicts.push(c),
    }
    if !cx.global.json && !p.is_empty() {
        eprintln!("Side stack (resources:)");
        crate::output::steps::print_plan(&p, cx.style);
    }
    if !p.conflicts.is_empty() {
        if !cx.global.json && p.is_empty() {
            crate::output::steps::print_plan(&p, cx.style);
        }
        return Err(ConflictError(p.conflicts.clone()).into());
    }
    if args.dry_run || p.is_empty() {
        return Ok(StackRun {
            outputs: observed.map(|o| o.outputs),
            plan: p,
        });
    }
    // Nothing is changed while a name of ours is taken by someone else's resource: the rest's
    // conflicts are looked for before the stack is made or changed (names never depend on the
    // stack's values, so the stand-ins do).
    let unpackaged = crate::package::Manifest::unpackaged(service, &first.stage, &first.region);
    let rest = desired::desired(&first.config, &first.stage, &first.region, &unpackaged);
    let conflicts = plan::plan(
        &rest,
        &rt.block_on(aws::observe(aws, &rest, Scope::Service))?,
    )
    .conflicts;
    if !conflicts.is_empty() {
        return Err(ConflictError(conflicts).into());
    }
    let progress = crate::output::steps::StepProgress::new(cx.global.json, cx.style);
    // CloudFormation's events go above the spinners, never beside them.
    let notify = progress.notifier();
    let report = |line: &str| notify(format!("    {line}"));
    for (i, step) in p.steps.iter().enumerate() {
        if crate::interrupt::requested() {
            return Err(aws::AwsError::Interrupted(crate::interrupt::Interrupted {
                done: i,
                total: p.steps.len(),
                rolled_back: false,
            })
            .into());
        }
        progress.started(i, step);
        let t = Instant::now();
        let plan::Step::Stack(s) = step else {
            continue;
        };
        rt.block_on(aws::stack::apply_reporting(aws, spec.as_ref(), s, &report))?;
        progress.finished(i, step, t.elapsed());
    }
    drop(progress);
    Ok(StackRun {
        plan: p,
        outputs: None,
    })
}
