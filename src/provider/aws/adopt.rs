//! Adopting a Serverless v3 stack in AWS: reading it (DescribeStacks, ListStackResources,
//! GetTemplate, the functions' policies, the imports of its exports, the adoption record) and
//! carrying out each step of `plan::adopt`; and deleting v3's leftovers on a later deploy (the
//! `Adopted` kind). Planning: `plan::adopt`.
//!
//! Every step is safe to run again: the original template is saved only when absent, the retain
//! update (which also tags, through CloudFormation, what sls takes over) is skipped once the
//! template retains and tags everything, records are overwritten, and a reduce or delete whose
//! stack already got there is skipped by the planner.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudformation::types::Tag as StackTag;
use serde_json::Value;

use super::context::Applying;
use super::stack::{capabilities, describe, missing, wait};
use super::{Aws, AwsError, NOT_FOUND, call_err, is_code, records, tolerate};
use crate::plan::adopt::{
    AdoptStep, AdoptedStep, Adoption, AdoptionPhase, V3Resource, V3Stack, adoption_record,
    function_of, leftover_record, original_key, ownership_tags, physical_ids, retained_template,
};
use crate::plan::{Desired, StackSpec};

/// The adoption record of the service and stage, when there is one.
pub async fn record(aws: &Aws, d: &Desired) -> Result<Option<Adoption>, AwsError> {
    let name = adoption_record(&d.service, &d.stage);
    match aws.ssm.get_parameter().name(&name).send().await {
        Ok(p) => Ok(p
            .parameter
            .and_then(|p| p.value)
            .and_then(|v| serde_json::from_str(&v).ok())),
        Err(e) if is_code(&e, &["ParameterNotFound"]) => Ok(None),
        Err(e) => Err(call_err("ssm:GetParameter", &name)(e)),
    }
}

/// Reads the v3 stack named `name`: None when neither it nor an adoption record exists. Every
/// export is checked for imports (the caller leaves out those of the user's outputs).
pub async fn read(
    aws: &Aws,
    d: &Desired,
    name: &str,
) -> Result<Option<(V3Stack, String)>, AwsError> {
    let (stack, recorded) = tokio::join!(describe(aws, name), record(aws, d));
    let recorded = recorded?;
    let Some(stack) = stack? else {
        return Ok(recorded.map(|r| {
            (
                V3Stack {
                    name: name.to_string(),
                    status: "DELETE_COMPLETE".into(),
                    record: Some(r),
                    ..V3Stack::default()
                },
                String::new(),
            )
        }));
    };
    let status = stack
        .stack_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let (body, listed) = tokio::join!(
        super::stack::template(aws, name),
        super::stack::resources(aws, name)
    );
    let body = body?;
    // v3 writes JSON; a YAML template is no stack of v3's and is refused as such.
    let template: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let resources: Vec<V3Resource> = listed?
        .into_iter()
        .map(|(logical, kind, physical)| V3Resource {
            properties: template["Resources"][&logical]["Properties"].clone(),
            logical,
            kind,
            physical,
        })
        .collect();
    let exports: BTreeMap<String, String> = stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.export_name()?.to_string())))
        .collect();
    let mut imported = BTreeMap::new();
    for export in exports.values() {
        let stacks = imports(aws, export).await?;
        if !stacks.is_empty() {
            imported.insert(export.clone(), stacks);
        }
    }
    // The unqualified policies of the functions v3 granted on, to record only statements that
    // exist.
    let physical = physical_ids(&resources);
    let granted: BTreeSet<String> = resources
        .iter()
        .filter(|r| r.kind == "AWS::Lambda::Permission")
        .filter_map(|r| function_of(&r.properties["FunctionName"], &physical))
        .collect();
    let mut policies = BTreeMap::new();
    for function in granted {
        // The unqualified function's policy (`$LATEST` names no qualifier).
        let statements =
            super::permission::observe(aws, &function, crate::plan::desired::LATEST).await?;
        policies.insert(function, statements.into_keys().collect());
    }
    let mut s = V3Stack {
        name: name.to_string(),
        status,
        template,
        resources,
        exports,
        imported,
        policies,
        original_saved: false,
        record: recorded,
    };
    if let Some(bucket) = crate::plan::adopt::deployment_bucket(&s, d) {
        let head = aws
            .s3
            .head_object()
            .bucket(bucket)
            .key(original_key(name))
            .send()
            .await;
        s.original_saved = match head {
            Ok(_) => true,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
            Err(e) => {
                return Err(call_err(
                    "s3:HeadObject",
                    &format!("s3://{bucket}/{}", original_key(name)),
                )(e));
            }
        };
    }
    Ok(Some((s, body)))
}

/// The stacks that import an export (none: AWS answers a ValidationError "not imported").
async fn imports(aws: &Aws, export: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .cfn
        .list_imports()
        .export_name(export)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => out.extend(p.imports().iter().cloned()),
            Err(e) if is_code(&e, &["ValidationError"]) => break,
            Err(e) => return Err(call_err("cloudformation:ListImports", export)(e)),
        }
    }
    Ok(out)
}

/// What carrying out the steps needs besides them.
pub struct Moving<'a> {
    pub aws: &'a Aws,
    pub d: &'a Desired,
    /// The template as GetTemplate gave it (saved as it is).
    pub original: &'a str,
    pub parsed: &'a Value,
    /// Where the original template is saved (`s3://bucket/key`).
    pub original_location: &'a str,
    /// v3's deployment bucket: templates over CloudFormation's inline limit go through it, as
    /// v3's own do.
    pub bucket: Option<&'a str>,
    /// The side stack's spec (the user's `resources:`), when there are any.
    pub spec: Option<&'a StackSpec>,
    /// Hears each resource's new status while CloudFormation works.
    pub report: &'a (dyn Fn(&str) + Sync),
}

/// Carries out one adoption step.
pub async fn run(m: &Moving<'_>, step: &AdoptStep) -> Result<(), AwsError> {
    let aws = m.aws;
    match step {
        AdoptStep::SaveTemplate { bucket, key } => put_template(aws, bucket, key, m.original).await,
        AdoptStep::Retain { stack, tagged, .. } => {
            let ids: Vec<String> = tagged.iter().map(|(id, _)| id.clone()).collect();
            let tags = ownership_tags(m.d);
            let body = serde_json::to_string(&retained_template(m.parsed, &ids, &tags))
                .map_err(|e| AwsError::Other(e.to_string()))?;
            update(m, stack, &body, None).await?;
            // Verified before anything leaves the stack: CloudFormation must hold Retain now.
            let now = super::stack::template(aws, stack).await?;
            let now: Value = serde_json::from_str(&now).unwrap_or_default();
            if !crate::plan::adopt::all_retained(&now, &ids, &tags) {
                return Err(AwsError::Call {
                    operation: "cloudformation:UpdateStack".into(),
                    resource: format!("stack {stack}"),
                    code: "NotRetained".into(),
                    message: "the stack's template does not retain and tag every resource after the update; nothing left the stack — run `sls adopt` again".into(),
                });
            }
            Ok(())
        }
        AdoptStep::Begin { stack } => write_record(m, stack, AdoptionPhase::Started, false).await,
        AdoptStep::Finish { stack } => {
            let kept = describe(aws, stack).await?.is_some();
            write_record(m, stack, AdoptionPhase::Done, kept).await
        }
        AdoptStep::Record {
            function_name,
            leftovers,
        } => {
            let value =
                serde_json::to_string(leftovers).map_err(|e| AwsError::Other(e.to_string()))?;
            records::write(
                aws,
                m.d,
                &leftover_record(&m.d.service, &m.d.stage, function_name),
                &value,
                "What Serverless v3 made that sls replaces; deleted by the next deploy",
                false,
            )
            .await
        }
        AdoptStep::Reduce { stack, .. } => {
            let Some(spec) = m.spec else {
                return Ok(());
            };
            let tags: Vec<StackTag> = spec
                .tags
                .iter()
                .map(|(k, v)| StackTag::builder().key(k).value(v).build())
                .collect();
            update(m, stack, &spec.template, Some(tags)).await
        }
        AdoptStep::DeleteStack { stack } => {
            let since = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
            aws.cfn
                .delete_stack()
                .stack_name(stack)
                .send()
                .await
                .map_err(call_err(
                    "cloudformation:DeleteStack",
                    &format!("stack {stack}"),
                ))?;
            wait(aws, stack, since, "DELETE_COMPLETE", m.report).await
        }
    }
}

/// A template into v3's deployment bucket.
async fn put_template(aws: &Aws, bucket: &str, key: &str, body: &str) -> Result<(), AwsError> {
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .map_err(call_err("s3:PutObject", &format!("s3://{bucket}/{key}")))?;
    Ok(())
}

/// UpdateStack with a template (and tags), waited for; "no updates" is done already.
async fn update(
    m: &Moving<'_>,
    stack: &str,
    body: &str,
    tags: Option<Vec<StackTag>>,
) -> Result<(), AwsError> {
    // Over CloudFormation's inline limit (most v3 stacks of a dozen functions or more), the
    // template goes through v3's deployment bucket, as v3's own templates do.
    let url = match m.bucket {
        Some(bucket) if body.len() > crate::plan::stack::MAX_TEMPLATE_BODY => {
            let key = format!(
                "sls-adoption/{stack}/template-{}.json",
                crate::plan::short_digest(body, 12)
            );
            put_template(m.aws, bucket, &key, body).await?;
            // Path-style: a bucket name with dots has no valid virtual-host certificate.
            let (_, suffix) = crate::plan::partition(&m.aws.region);
            Some(format!(
                "https://s3.{}.{suffix}/{bucket}/{key}",
                m.aws.region
            ))
        }
        _ => None,
    };
    // A stop while CloudFormation worked: its update is waited for first.
    super::stack::settle(m.aws, stack).await?;
    let since = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    let call = m.aws.cfn.update_stack().stack_name(stack);
    let call = match url {
        Some(u) => call.template_url(u),
        None => call.template_body(body),
    };
    let sent = call
        .set_capabilities(Some(capabilities().to_vec()))
        .set_tags(tags)
        .send()
        .await;
    match sent {
        Ok(_) => wait(m.aws, stack, since, "UPDATE_COMPLETE", m.report).await,
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                aws_sdk_cloudformation::error::ProvideErrorMetadata::message(s)
                    .is_some_and(|t| t.contains("No updates"))
            }) =>
        {
            Ok(())
        }
        Err(e) if missing(&e) => Err(AwsError::Call {
            operation: "cloudformation:UpdateStack".into(),
            resource: format!("stack {stack}"),
            code: "ValidationError".into(),
            message: "the stack no longer exists; run `sls adopt` again".into(),
        }),
        Err(e) => Err(call_err(
            "cloudformation:UpdateStack",
            &format!("stack {stack}"),
        )(e)),
    }
}

async fn write_record(
    m: &Moving<'_>,
    stack: &str,
    phase: AdoptionPhase,
    kept: bool,
) -> Result<(), AwsError> {
    let value = serde_json::to_string(&Adoption {
        stack: stack.to_string(),
        phase,
        original: m.original_location.to_string(),
        kept,
    })
    .map_err(|e| AwsError::Other(e.to_string()))?;
    records::write(
        m.aws,
        m.d,
        &adoption_record(&m.d.service, &m.d.stage),
        &value,
        "The Serverless v3 stack sls adopted for this stage",
        false,
    )
    .await
}

/// Deletes what v3 made for a function that sls replaced (each gone already is done), then the
/// record that named it.
pub async fn apply(cx: &Applying<'_>, step: &AdoptedStep) -> Result<(), AwsError> {
    let aws = cx.aws;
    match step {
        AdoptedStep::DeleteLeftovers {
            function_name,
            leftovers,
        } => {
            // v3 granted on the unqualified function (`$LATEST` names no qualifier).
            for sid in &leftovers.grants {
                super::remove_statement(aws, function_name, crate::plan::desired::LATEST, sid)
                    .await?;
            }
            for uuid in &leftovers.mappings {
                let r = aws
                    .lambda
                    .delete_event_source_mapping()
                    .uuid(uuid)
                    .send()
                    .await;
                tolerate(
                    r,
                    NOT_FOUND,
                    "DeleteEventSourceMapping",
                    &format!("event source mapping {uuid} of {function_name}"),
                )?;
            }
            for rule in &leftovers.rules {
                super::schedule::delete_rule(aws, None, rule).await?;
            }
            records::forget(
                aws,
                &leftover_record(&cx.d.service, &cx.d.stage, function_name),
            )
            .await
        }
    }
}
