//! The side stack in AWS: read it (status, tags, outputs, whether its template is the desired
//! one, and if not the change set AWS computes for the desired one), create, update through
//! that change set, delete, and wait for each with progress from the stack's events.
//!
//! CloudFormation answers slowly and asynchronously: every operation is followed by polling
//! DescribeStacks (from 1 s, doubling to 10 s) until the status leaves `*_IN_PROGRESS`. A
//! failure is reported with the first resource that failed and its reason, and the stack is left
//! as CloudFormation's rollback leaves it; the next deploy plans from there.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Tag, TemplateStage};

use super::{Aws, AwsError, call_err, is_code};
use crate::config::intrinsics::Needs;
use crate::config::resources::output_key;
use crate::plan::naming::{TAG_SERVICE, TAG_STAGE};
use crate::plan::short_digest;
use crate::plan::stack::{
    ChangeSet, ObservedStack, ResourceChange, StackSpec, StackStep, stack_name, v3_stack_name,
};

/// A stack operation that takes longer than this is reported as failed (it goes on in AWS).
const WAIT_LIMIT: Duration = Duration::from_secs(2 * 60 * 60);

pub(super) fn capabilities() -> [Capability; 3] {
    [
        Capability::CapabilityIam,
        Capability::CapabilityNamedIam,
        Capability::CapabilityAutoExpand,
    ]
}

pub(super) fn missing<E: aws_sdk_cloudformation::error::ProvideErrorMetadata>(e: &E) -> bool {
    is_code(e, &["ValidationError"]) && e.message().is_some_and(|m| m.contains("does not exist"))
}

/// The stack under `name`, or None.
pub(super) async fn describe(
    aws: &Aws,
    name: &str,
) -> Result<Option<aws_sdk_cloudformation::types::Stack>, AwsError> {
    match aws.cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out.stacks.and_then(|s| s.into_iter().next())),
        Err(e) if missing(&e) => Ok(None),
        Err(e) => Err(call_err(
            "cloudformation:DescribeStacks",
            &format!("stack {name}"),
        )(e)),
    }
}

/// Whether a stack's tags name this service and stage.
fn carries_ours(s: &aws_sdk_cloudformation::types::Stack, service: &str, stage: &str) -> bool {
    let tag = |k: &str| {
        s.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
    };
    tag(TAG_SERVICE) == Some(service) && tag(TAG_STAGE) == Some(stage)
}

/// The side stack: sls's own (`{service}-{stage}-sls-resources`), else the stack of an adopted
/// Serverless v3 deployment (`{service}-{stage}`), which `sls adopt` reduced to the user's
/// `resources:` and tagged as sls's. The second value is that v3 stack's name when it exists and
/// is not (yet) ours.
async fn find(
    aws: &Aws,
    service: &str,
    stage: &str,
) -> Result<
    (
        Option<(String, aws_sdk_cloudformation::types::Stack)>,
        Option<String>,
    ),
    AwsError,
> {
    let name = stack_name(service, stage);
    let v3 = v3_stack_name(service, stage);
    let (ours, theirs) = tokio::join!(describe(aws, &name), describe(aws, &v3));
    let theirs = theirs?;
    let adopted = theirs
        .as_ref()
        .is_some_and(|s| carries_ours(s, service, stage));
    match (ours?, theirs) {
        (Some(s), theirs) => Ok((Some((name, s)), theirs.filter(|_| !adopted).map(|_| v3))),
        (None, Some(t)) if adopted => Ok((Some((v3, t)), None)),
        (None, theirs) => Ok((None, theirs.map(|_| v3))),
    }
}

/// What exists for the side stack; with a spec, also whether it is current or the change set
/// that would make it so. The second value names a Serverless v3 stack of this service and
/// stage that is not sls's (`sls adopt` makes it so).
pub async fn observe(
    aws: &Aws,
    spec: Option<&StackSpec>,
    service: &str,
    stage: &str,
) -> Result<(Option<ObservedStack>, Option<String>), AwsError> {
    let (found, v3) = find(aws, service, stage).await?;
    let Some((name, s)) = found else {
        return Ok((None, v3));
    };
    let mut o = ObservedStack {
        name: name.clone(),
        status: s
            .stack_status()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        ours: carries_ours(&s, service, stage),
        outputs: outputs_of(&s),
        ..Default::default()
    };
    if !o.ours {
        return Ok((Some(o), v3));
    }
    if o.status.ends_with("_IN_PROGRESS") && o.status != "REVIEW_IN_PROGRESS" {
        // An earlier run stopped while CloudFormation worked (or one runs now): its work is
        // waited for, then planned from.
        let settled = settle(aws, &name).await?;
        match settled {
            Some(status) => o.status = status,
            None => return Ok((None, v3)),
        }
    }
    if o.status == "REVIEW_IN_PROGRESS" {
        return Ok((Some(o), v3));
    }
    match spec {
        // A removal's plan lists them.
        None => {
            o.resources = resources(aws, &name)
                .await?
                .into_iter()
                .map(|(id, kind, _)| (id, kind))
                .collect()
        }
        Some(spec) if !o.status.starts_with("ROLLBACK_") => {
            let deployed = template(aws, &name).await?;
            let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).ok();
            o.current = parse(&deployed).is_some() && parse(&deployed) == parse(&spec.template);
            if !o.current {
                o.change_set = Some(change_set(aws, &name, spec).await?);
            }
        }
        Some(_) => {}
    }
    Ok((Some(o), v3))
}

/// A stack's template as it was sent (`Original`: before transforms), as text.
pub(super) async fn template(aws: &Aws, name: &str) -> Result<String, AwsError> {
    let t = aws
        .cfn
        .get_template()
        .stack_name(name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(call_err(
            "cloudformation:GetTemplate",
            &format!("stack {name}"),
        ))?;
    Ok(t.template_body.unwrap_or_default())
}

/// A stack's outputs by key.
fn outputs_of(s: &aws_sdk_cloudformation::types::Stack) -> BTreeMap<String, String> {
    s.outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect()
}

/// The side stack's name and its outputs as the user declared them (not those sls adds), when
/// it exists.
pub async fn outputs(
    aws: &Aws,
    service: &str,
    stage: &str,
) -> Result<Option<(String, BTreeMap<String, String>)>, AwsError> {
    Ok(find(aws, service, stage).await?.0.map(|(name, s)| {
        let mut all = outputs_of(&s);
        all.retain(|k, _| !crate::config::resources::is_own_output(k));
        (name, all)
    }))
}

/// The resources a stack holds (logical id, type, physical id), every page.
pub(super) async fn resources(
    aws: &Aws,
    name: &str,
) -> Result<Vec<(String, String, String)>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .cfn
        .list_stack_resources()
        .stack_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(call_err(
            "cloudformation:ListStackResources",
            &format!("stack {name}"),
        ))?;
        for r in page.stack_resource_summaries() {
            out.push((
                r.logical_resource_id().unwrap_or_default().to_string(),
                r.resource_type().unwrap_or_default().to_string(),
                r.physical_resource_id().unwrap_or_default().to_string(),
            ));
        }
    }
    Ok(out)
}

/// The change set for `spec`'s template, named after it: one made by an earlier run (a dry run,
/// or a deploy stopped before executing it) is used again.
async fn change_set(aws: &Aws, name: &str, spec: &StackSpec) -> Result<ChangeSet, AwsError> {
    let cs = format!("sls-{}", short_digest(&spec.template, 8));
    let what = format!("change set {cs} of stack {name}");
    let existing = aws
        .cfn
        .describe_change_set()
        .stack_name(name)
        .change_set_name(&cs)
        .send()
        .await;
    let fresh = match existing {
        Ok(d) => {
            let usable = d.status().map(|s| s.as_str()) == Some("CREATE_COMPLETE")
                && d.execution_status().map(|s| s.as_str()) == Some("AVAILABLE");
            if !usable {
                // Failed or spent: made again.
                aws.cfn
                    .delete_change_set()
                    .stack_name(name)
                    .change_set_name(&cs)
                    .send()
                    .await
                    .map_err(call_err("cloudformation:DeleteChangeSet", &what))?;
            }
            !usable
        }
        // AWS answers ChangeSetNotFound; some emulators a ValidationError.
        Err(e)
            if is_code(&e, &["ChangeSetNotFound", "ChangeSetNotFoundException"]) || missing(&e) =>
        {
            true
        }
        Err(e) => return Err(call_err("cloudformation:DescribeChangeSet", &what)(e)),
    };
    if fresh {
        aws.cfn
            .create_change_set()
            .stack_name(name)
            .change_set_name(&cs)
            .change_set_type(ChangeSetType::Update)
            .template_body(&spec.template)
            .set_capabilities(Some(capabilities().to_vec()))
            .set_tags(Some(tags(spec)))
            .description("sls deploy")
            .send()
            .await
            .map_err(call_err("cloudformation:CreateChangeSet", &what))?;
    }
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        let mut changes = Vec::new();
        let mut token = None;
        let (status, reason) = loop {
            let d = aws
                .cfn
                .describe_change_set()
                .stack_name(name)
                .change_set_name(&cs)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(call_err("cloudformation:DescribeChangeSet", &what))?;
            for c in d.changes() {
                if let Some(r) = c.resource_change() {
                    changes.push(ResourceChange {
                        action: r
                            .action()
                            .map(|a| a.as_str().to_string())
                            .unwrap_or_default(),
                        logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                        resource_type: r.resource_type().unwrap_or_default().to_string(),
                        replacement: r.replacement().map(|x| x.as_str().to_string()),
                    });
                }
            }
            token = d.next_token().map(str::to_string);
            if token.is_none() {
                break (
                    d.status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    d.status_reason().unwrap_or_default().to_string(),
                );
            }
        };
        match status.as_str() {
            "CREATE_COMPLETE" => return Ok(ChangeSet { name: cs, changes }),
            // Only the text differs (formatting, key order): nothing to do.
            "FAILED"
                if reason.contains("didn't contain changes") || reason.contains("No updates") =>
            {
                return Ok(ChangeSet {
                    name: cs,
                    changes: Vec::new(),
                });
            }
            "FAILED" => {
                return Err(AwsError::Call {
                    operation: "cloudformation:CreateChangeSet".into(),
                    resource: what,
                    code: "FAILED".into(),
                    message: format!("{reason} — check the template under `resources:`"),
                });
            }
            _ if started.elapsed() > WAIT_LIMIT => {
                return Err(AwsError::Call {
                    operation: "cloudformation:DescribeChangeSet".into(),
                    resource: what,
                    code: "Timeout".into(),
                    message: format!("still {status}"),
                });
            }
            _ => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn tags(spec: &StackSpec) -> Vec<Tag> {
    spec.tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// A removal's stack step, handed over by the executor like any kind's (a deploy applies its
/// stack steps with [`apply_reporting`] before the rest is planned).
pub async fn apply(cx: &super::context::Applying<'_>, step: &StackStep) -> Result<(), AwsError> {
    apply_reporting(cx.aws, cx.d.stack.as_ref(), step, &|_| {}).await?;
    // An adopted v3 stack removed: its adoption record goes with it, so that a later v3
    // deployment of the stage can be adopted afresh.
    if let StackStep::Delete { name, .. } = step
        && *name == v3_stack_name(&cx.d.service, &cx.d.stage)
    {
        let record = crate::plan::adopt::adoption_record(&cx.d.service, &cx.d.stage);
        super::records::forget(cx.aws, &record).await?;
    }
    Ok(())
}

/// Carries out one step; `spec` is the desired stack (needed to create it). `report` hears
/// each resource's new status as the stack's events tell it.
pub async fn apply_reporting(
    aws: &Aws,
    spec: Option<&StackSpec>,
    step: &StackStep,
    report: &(dyn Fn(&str) + Sync),
) -> Result<(), AwsError> {
    let since = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    match step {
        StackStep::Create { name, .. } => {
            let Some(spec) = spec else {
                return Ok(());
            };
            let created = aws
                .cfn
                .create_stack()
                .stack_name(name)
                .template_body(&spec.template)
                .set_capabilities(Some(capabilities().to_vec()))
                .set_tags(Some(tags(spec)))
                // A create whose answer was lost is not made twice.
                .client_request_token(format!("sls-create-{}", short_digest(&spec.template, 8)))
                .send()
                .await;
            if let Err(e) = created {
                // Where the token is not honoured, the retried create finds the first one:
                // carried on when it is ours, this service's and stage's tags on it.
                let tag = |k: &str| spec.tags.get(k).map_or("", String::as_str);
                let ours = is_code(&e, &["AlreadyExistsException"])
                    && describe(aws, name)
                        .await?
                        .is_some_and(|s| carries_ours(&s, tag(TAG_SERVICE), tag(TAG_STAGE)));
                if !ours {
                    return Err(call_err(
                        "cloudformation:CreateStack",
                        &format!("stack {name}"),
                    )(e));
                }
            }
            wait(aws, name, since, "CREATE_COMPLETE", report).await
        }
        StackStep::Update { name, change_set } => {
            aws.cfn
                .execute_change_set()
                .stack_name(name)
                .change_set_name(&change_set.name)
                .send()
                .await
                .map_err(call_err(
                    "cloudformation:ExecuteChangeSet",
                    &format!("change set {} of stack {name}", change_set.name),
                ))?;
            wait(aws, name, since, "UPDATE_COMPLETE", report).await
        }
        StackStep::Delete { name, .. } => {
            aws.cfn
                .delete_stack()
                .stack_name(name)
                .send()
                .await
                .map_err(call_err(
                    "cloudformation:DeleteStack",
                    &format!("stack {name}"),
                ))?;
            wait(aws, name, since, "DELETE_COMPLETE", report).await
        }
    }
}

/// Waits until the stack leaves `*_IN_PROGRESS`: its status then, or None once it is gone.
pub(super) async fn settle(aws: &Aws, name: &str) -> Result<Option<String>, AwsError> {
    let started = Instant::now();
    let mut pause = Duration::from_secs(1);
    loop {
        let Some(s) = describe(aws, name).await? else {
            return Ok(None);
        };
        let status = s
            .stack_status()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default();
        if status == "DELETE_COMPLETE" {
            return Ok(None);
        }
        if !status.ends_with("_IN_PROGRESS") || started.elapsed() > WAIT_LIMIT {
            return Ok(Some(status));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// Polls the stack until it leaves `*_IN_PROGRESS`, reporting resources' new statuses.
pub(super) async fn wait(
    aws: &Aws,
    name: &str,
    since: aws_smithy_types::DateTime,
    success: &str,
    report: &(dyn Fn(&str) + Sync),
) -> Result<(), AwsError> {
    let started = Instant::now();
    let mut pause = Duration::from_secs(1);
    let mut seen: std::collections::HashSet<String> = Default::default();
    loop {
        let status = match describe(aws, name).await? {
            Some(s) => s
                .stack_status()
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            // Deleted stacks are not found by name.
            None if success == "DELETE_COMPLETE" => return Ok(()),
            None => String::new(),
        };
        let events = recent_events(aws, name, since).await?;
        for e in events.iter().rev() {
            if seen.insert(e.id.clone()) && e.logical_id != name {
                report(&format!(
                    "{} ({}): {}",
                    e.logical_id, e.resource_type, e.status
                ));
            }
        }
        if status == success {
            return Ok(());
        }
        if !status.ends_with("_IN_PROGRESS") {
            let first = events
                .iter()
                .rev()
                .find(|e| e.status.ends_with("_FAILED") && !e.reason.is_empty())
                .map_or_else(
                    || "no resource gave a reason; see the stack's events".to_string(),
                    |e| {
                        format!(
                            "{} ({}): {}: {}",
                            e.logical_id, e.resource_type, e.status, e.reason
                        )
                    },
                );
            return Err(AwsError::Call {
                operation: format!("CloudFormation ({success} expected)"),
                resource: format!("stack {name}"),
                code: status,
                message: format!(
                    "{first}; the stack is left as CloudFormation's rollback left it, and the next deploy plans from there"
                ),
            });
        }
        if started.elapsed() > WAIT_LIMIT {
            return Err(AwsError::Call {
                operation: "cloudformation:DescribeStacks".into(),
                resource: format!("stack {name}"),
                code: "Timeout".into(),
                message: format!("still {status} after {} minutes", WAIT_LIMIT.as_secs() / 60),
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

struct Event {
    id: String,
    logical_id: String,
    resource_type: String,
    status: String,
    reason: String,
}

/// The stack's events since `since`, newest first (pages are read until an older event).
async fn recent_events(
    aws: &Aws,
    name: &str,
    since: aws_smithy_types::DateTime,
) -> Result<Vec<Event>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = match aws
            .cfn
            .describe_stack_events()
            .stack_name(name)
            .set_next_token(token.take())
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if missing(&e) => return Ok(out),
            Err(e) => {
                return Err(call_err(
                    "cloudformation:DescribeStackEvents",
                    &format!("stack {name}"),
                )(e));
            }
        };
        let mut older = false;
        for e in page.stack_events() {
            if e.timestamp().is_some_and(|t| t.secs() < since.secs()) {
                older = true;
                break;
            }
            out.push(Event {
                id: e.event_id().unwrap_or_default().to_string(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().unwrap_or_default().to_string(),
            });
        }
        token = page.next_token().map(str::to_string);
        if older || token.is_none() {
            return Ok(out);
        }
    }
}

/// Values the config's CloudFormation functions need that only AWS has: the side stack's outputs (as `Ref`/`Fn::GetAtt` values) and other stacks' exports.
pub async fn live_values(
    aws: &Aws,
    service: &str,
    stage: &str,
    needs: &Needs,
    outputs: Option<&BTreeMap<String, String>>,
) -> Result<LiveValues, AwsError> {
    let mut v = LiveValues::default();
    let read;
    let outputs = match outputs {
        Some(o) => o,
        None => {
            read = find(aws, service, stage)
                .await?
                .0
                .map(|(_, s)| outputs_of(&s))
                .unwrap_or_default();
            &read
        }
    };
    for id in &needs.refs {
        if let Some(val) = outputs.get(&output_key(id, None)) {
            v.refs.insert(id.clone(), val.clone());
        }
    }
    for (id, att) in &needs.atts {
        if let Some(val) = outputs.get(&output_key(id, Some(att))) {
            v.atts.insert((id.clone(), att.clone()), val.clone());
        }
    }
    if !needs.imports.is_empty() {
        let mut pages = aws.cfn.list_exports().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(call_err("cloudformation:ListExports", "exports"))?;
            for e in page.exports() {
                if let (Some(n), Some(val)) = (e.name(), e.value()) {
                    if needs.imports.contains(n) {
                        v.imports.insert(n.to_string(), val.to_string());
                    }
                }
            }
        }
    }
    Ok(v)
}

#[derive(Debug, Default)]
pub struct LiveValues {
    pub refs: HashMap<String, String>,
    pub atts: HashMap<(String, String), String>,
    pub imports: HashMap<String, String>,
}

/// The account of the credentials in use.
pub async fn account(aws: &Aws) -> Result<String, AwsError> {
    let out = aws
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(call_err("sts:GetCallerIdentity", "your credentials"))?;
    Ok(out.account.unwrap_or_default())
}

/// The ids of the service's APIs, for `Ref ApiGatewayRestApi` (and its `RootResourceId`),
/// `Ref HttpApi` and `Ref WebsocketsApi`.
#[derive(Debug, Default)]
pub struct ApiIds {
    /// The REST API's id and its root resource's id.
    pub rest: Option<(String, String)>,
    pub http: Option<String>,
    pub websocket: Option<String>,
}

/// Which of the service's APIs the config refers to by Serverless v3's logical ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WantedApis {
    pub rest: bool,
    pub http: bool,
    pub websocket: bool,
}

impl WantedApis {
    pub fn any(&self) -> bool {
        self.rest || self.http || self.websocket
    }
}

/// Reads the ids of the wanted APIs; with `create`, makes those that do not exist yet first
/// (bare, as the API steps of a deploy make them: the rest of the deploy fills them in), since
/// the functions deployed before the APIs may need their ids.
pub async fn api_ids(
    aws: &Aws,
    d: &crate::plan::Desired,
    want: WantedApis,
    create: bool,
    dir: &std::path::Path,
    progress: &dyn super::Progress,
) -> Result<ApiIds, AwsError> {
    use crate::plan::{HttpApiStep, RestApiStep, Step, WebsocketStep};
    let read = || async {
        let rest = if want.rest {
            super::rest_api::observe(aws, d).await?
        } else {
            None
        };
        let (http, ws) = if want.http || want.websocket {
            let apis = super::http_api::list(aws).await?;
            (
                super::http_api::observe(aws, d, &apis).await?,
                super::websocket::observe(aws, d, &apis).await?,
            )
        } else {
            (None, None)
        };
        Ok::<_, AwsError>(crate::plan::Observed {
            rest_api: rest.filter(|a| a.owned),
            http_api: http.filter(|a| a.owned),
            websocket: ws.filter(|a| a.owned),
            ..Default::default()
        })
    };
    let mut o = read().await?;
    let missing = (want.rest && o.rest_api.is_none())
        || (want.http && o.http_api.is_none())
        || (want.websocket && o.websocket.is_none());
    if create && missing {
        let mut steps = crate::plan::plan(d, &o).steps;
        steps.retain(|s| match s {
            Step::RestApi(RestApiStep::CreateRestApi { .. }) => want.rest,
            Step::HttpApi(HttpApiStep::CreateHttpApi { .. }) => want.http,
            Step::Websocket(WebsocketStep::CreateWebsocketApi { .. }) => want.websocket,
            _ => false,
        });
        if !steps.is_empty() {
            super::execute(aws, d, &o, &steps, dir, progress).await?;
            o = read().await?;
        }
    }
    Ok(ApiIds {
        rest: o.rest_api.map(|a| {
            let root = a
                .resources
                .get("/")
                .map(|r| r.id.clone())
                .unwrap_or_default();
            (a.id, root)
        }),
        http: o.http_api.map(|a| a.id),
        websocket: o.websocket.map(|a| a.id),
    })
}

impl ApiIds {
    /// Adds the ids to `v` under Serverless v3's logical ids.
    pub fn add_to(&self, v: &mut crate::config::intrinsics::Values) {
        if let Some((id, root)) = &self.rest {
            v.refs.insert("ApiGatewayRestApi".into(), id.clone());
            v.atts.insert(
                ("ApiGatewayRestApi".into(), "RootResourceId".into()),
                root.clone(),
            );
        }
        if let Some(id) = &self.http {
            v.refs.insert("HttpApi".into(), id.clone());
        }
        if let Some(id) = &self.websocket {
            v.refs.insert("WebsocketsApi".into(), id.clone());
        }
    }
}
