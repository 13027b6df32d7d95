//! Taking over a stage that Serverless v3 deployed (its CloudFormation stack `{service}-{stage}`),
//! and what is left of v3's way once sls deploys it: pure planning. AWS side:
//! `provider::aws::adopt`.
//!
//! Adoption moves ownership, not resources: every resource of the stack is first retained by
//! CloudFormation (`DeletionPolicy`/`UpdateReplacePolicy: Retain`), what sls deploys is tagged as
//! sls's, and the stack is then reduced to the user's `resources:` — it stays, under its own
//! name, as the service's side stack (see decisions.md) — or deleted when there are none. Nothing
//! is recreated: the functions, the role, the APIs (their ids, hence their URLs) and the tables
//! are the same resources before, during and after.
//!
//! A few v3 resources are not taken over but replaced by what sls makes on the first deploy:
//! grants on the unqualified function (sls grants on the live alias), event source mappings on it
//! (sls maps to the alias) and rules with generated names. They keep working until then; records
//! (`adopted/{function}`) tell that deploy to delete them once sls's replacements are in place —
//! the [`AdoptedStep`] kind below.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Desired, Observed, Phase, Plan};

/// The record that says a stage was adopted, and where the adoption stands.
pub fn adoption_record(service: &str, stage: &str) -> String {
    format!("{}adoption", super::record_root(service, stage))
}

/// The prefix of the records of v3's leftovers, one per function.
pub fn leftover_prefix(service: &str, stage: &str) -> String {
    format!("{}adopted/", super::record_root(service, stage))
}

/// The record of v3's leftovers of one function.
pub fn leftover_record(service: &str, stage: &str, function_name: &str) -> String {
    format!("{}{function_name}", leftover_prefix(service, stage))
}

/// Where the adoption stands, as its record holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Adoption {
    /// The v3 stack's name: the side stack's from now on (until it is deleted).
    pub stack: String,
    /// `started` until every step ran, then `done`.
    pub phase: AdoptionPhase,
    /// Where the stack's original template was saved (`s3://bucket/key`): the way back.
    pub original: String,
    /// Whether the stack still exists once adopted (it is deleted when the config has no
    /// `resources:`).
    pub kept: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AdoptionPhase {
    Started,
    Done,
}

/// What v3 made for a function that sls replaces, to delete once sls's replacements exist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Leftovers {
    /// Statement ids on the unqualified function's resource policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
    /// Event source mapping UUIDs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mappings: Vec<String>,
    /// EventBridge rule names (on the default bus).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

impl Leftovers {
    fn is_empty(&self) -> bool {
        self.grants.is_empty() && self.mappings.is_empty() && self.rules.is_empty()
    }
}

/// One resource of the v3 stack: ListStackResources' ids, the template's type and properties.
#[derive(Debug, Clone, PartialEq)]
pub struct V3Resource {
    pub logical: String,
    pub kind: String,
    pub physical: String,
    pub properties: Value,
}

/// The v3 stack as read before adopting it.
#[derive(Debug, Clone, Default)]
pub struct V3Stack {
    pub name: String,
    pub status: String,
    /// The template as deployed (`Original` stage), parsed.
    pub template: Value,
    pub resources: Vec<V3Resource>,
    /// Output key → export name, of the outputs v3 made (the user's stay with their resources).
    pub exports: BTreeMap<String, String>,
    /// Export name → the stacks that import it.
    pub imported: BTreeMap<String, Vec<String>>,
    /// Function name → the statement ids of its unqualified resource policy.
    pub policies: BTreeMap<String, BTreeSet<String>>,
    /// Whether the original template was saved already (a re-run after a stop).
    pub original_saved: bool,
    /// The adoption record, when an earlier run wrote one.
    pub record: Option<Adoption>,
}

/// What happens to one resource of the stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "fate", rename_all = "camelCase")]
pub enum Fate {
    /// sls deploys it from now on: tagged as sls's.
    TakenOver {
        owner: Owner,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Comes with what it belongs to (an API's routes, a function's versions): nothing to tag.
    Part { of: String },
    /// sls makes its own on the first deploy, which then deletes this one.
    Replaced { by: String },
    /// The user's `resources:`: stays in CloudFormation, in the stack sls manages.
    Stays,
    /// Left in AWS outside CloudFormation, and why.
    Kept { why: String },
    /// Named with `--leave`: retained, out of the stack, managed by nothing.
    Left,
    /// Cannot be adopted, and why.
    Refused { why: String },
}

/// What sls tags as its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
pub enum Owner {
    Function(String),
    Role(String),
    LogGroup(String),
    HttpApi(String),
    RestApi(String),
    Rule(String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Function(n) => write!(f, "function {n}"),
            Owner::Role(n) => write!(f, "role {n}"),
            Owner::LogGroup(n) => write!(f, "log group {n}"),
            Owner::HttpApi(id) => write!(f, "HTTP API {id}"),
            Owner::RestApi(id) => write!(f, "REST API {id}"),
            Owner::Rule(n) => write!(f, "rule {n}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub physical_id: String,
    #[serde(flatten)]
    pub fate: Fate,
}

/// One step of an adoption, in the order they run; each is safe to run again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum AdoptStep {
    /// The stack's template as it is, kept for the way back (never overwritten).
    SaveTemplate { bucket: String, key: String },
    /// One stack update: every resource retained by CloudFormation, and sls's ownership tags
    /// on what it takes over (logical id, what it is) — set by CloudFormation, so on exactly
    /// the resources the stack names.
    Retain {
        stack: String,
        resources: usize,
        tagged: Vec<(String, Owner)>,
    },
    /// The record that the adoption started (a deploy refuses until it is done).
    Begin { stack: String },
    /// The record of what the first deploy deletes for a function.
    Record {
        function_name: String,
        leftovers: Leftovers,
    },
    /// The stack's template becomes the side stack's (the user's `resources:`); the rest leaves
    /// it, retained.
    Reduce { stack: String, keeps: Vec<String> },
    /// No `resources:`: the stack is deleted, every resource retained.
    DeleteStack { stack: String },
    /// The record says the adoption is done.
    Finish { stack: String },
}

impl fmt::Display for AdoptStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdoptStep::SaveTemplate { bucket, key } => {
                write!(f, "+ copy of the stack's template: s3://{bucket}/{key}")
            }
            AdoptStep::Retain {
                stack,
                resources,
                tagged,
            } => write!(
                f,
                "~ CloudFormation stack {stack}: DeletionPolicy and UpdateReplacePolicy Retain on all {resources} resources, sls's tags on the {} it takes over",
                tagged.len()
            ),
            AdoptStep::Begin { stack } => write!(f, "+ record: adoption of {stack} started"),
            AdoptStep::Record {
                function_name,
                leftovers,
            } => write!(
                f,
                "+ record: v3's {} of {function_name}, deleted by the first deploy",
                leftover_words(leftovers)
            ),
            AdoptStep::Reduce { stack, keeps } => write!(
                f,
                "~ CloudFormation stack {stack}: keeps {} ({}), the rest leaves it retained",
                plural(keeps.len(), "resource"),
                keeps.join(", ")
            ),
            AdoptStep::DeleteStack { stack } => write!(
                f,
                "- CloudFormation stack {stack}: deleted, every resource retained"
            ),
            AdoptStep::Finish { stack } => write!(f, "~ record: adoption of {stack} done"),
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn leftover_words(l: &Leftovers) -> String {
    let mut parts = Vec::new();
    if !l.grants.is_empty() {
        parts.push(plural(l.grants.len(), "grant"));
    }
    if !l.mappings.is_empty() {
        parts.push(plural(l.mappings.len(), "event source mapping"));
    }
    if !l.rules.is_empty() {
        parts.push(plural(l.rules.len(), "rule"));
    }
    parts.join(", ")
}

/// An adoption's plan: the fate of every resource, the steps, and what the first deploy changes.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdoptPlan {
    pub stack: String,
    pub items: Vec<Item>,
    pub steps: Vec<AdoptStep>,
    /// What the first `sls deploy` after the adoption changes, in words.
    pub first_deploy: Vec<String>,
    /// Why the stack cannot be adopted as it is; nothing is done while there is any.
    pub refusals: Vec<String>,
}

/// Why an adoption did not start. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct Refused(pub Vec<String>);

/// Whether a stack is one Serverless v3 made: its template's description, or its deployment
/// bucket.
pub fn is_v3(s: &V3Stack) -> bool {
    let described = s.template["Description"]
        .as_str()
        .is_some_and(|d| d.contains("Serverless application"));
    described
        || s.resources
            .iter()
            .any(|r| r.logical == "ServerlessDeploymentBucket")
}

/// The key the original template is saved under in v3's deployment bucket.
pub fn original_key(stack: &str) -> String {
    format!("sls-adoption/{stack}/cloudformation-template-original.json")
}

/// v3's deployment bucket: the one it made, else the config's `provider.deploymentBucket`.
pub fn deployment_bucket<'a>(s: &'a V3Stack, d: &'a Desired) -> Option<&'a str> {
    s.resources
        .iter()
        .find(|r| r.logical == "ServerlessDeploymentBucket")
        .map(|r| r.physical.as_str())
        .or_else(|| d.bucket.as_ref().and_then(|b| b.user.as_deref()))
}

/// Whether a template retains every resource on removal and replacement, and carries `tags`
/// on each of `tagged` (logical ids).
pub fn all_retained(template: &Value, tagged: &[String], tags: &[(&str, &str)]) -> bool {
    let Some(rs) = template["Resources"].as_object() else {
        return false;
    };
    let retained = rs.values().all(|r| {
        r["DeletionPolicy"].as_str() == Some("Retain")
            && r["UpdateReplacePolicy"].as_str() == Some("Retain")
    });
    retained
        && tagged.iter().all(|id| {
            let have = &rs
                .get(id)
                .map_or(Value::Null, |r| r["Properties"]["Tags"].clone());
            tags.iter().all(|(k, v)| tag_value(have, k) == Some(*v))
        })
}

fn r_is_v2(kind: &str) -> bool {
    kind.starts_with("AWS::ApiGatewayV2::")
}

/// A tag's value in a CloudFormation `Tags` property: a list of `{Key, Value}` (most types) or a
/// map (API Gateway v2).
fn tag_value<'a>(tags: &'a Value, key: &str) -> Option<&'a str> {
    match tags {
        Value::Array(list) => list
            .iter()
            .find(|t| t["Key"].as_str() == Some(key))
            .and_then(|t| t["Value"].as_str()),
        Value::Object(map) => map.get(key).and_then(Value::as_str),
        _ => None,
    }
}

/// The template with every resource retained, `tags` on each of `tagged` (beside the tags it
/// has), and the output that makes the update a change even when nothing else is
/// (CloudFormation has historically answered "no updates" to a policy-only change).
pub fn retained_template(template: &Value, tagged: &[String], tags: &[(&str, &str)]) -> Value {
    let mut t = template.clone();
    if let Some(rs) = t["Resources"].as_object_mut() {
        for (id, r) in rs.iter_mut() {
            let kind = r["Type"].as_str().unwrap_or_default().to_string();
            r["DeletionPolicy"] = Value::from("Retain");
            r["UpdateReplacePolicy"] = Value::from("Retain");
            if tagged.contains(id) {
                if !r["Properties"].is_object() {
                    r["Properties"] = Value::Object(Default::default());
                }
                let have = &mut r["Properties"]["Tags"];
                for (k, v) in tags {
                    match &mut *have {
                        Value::Object(map) => {
                            map.insert(k.to_string(), Value::from(*v));
                        }
                        Value::Array(list) => {
                            list.retain(|t| t["Key"].as_str() != Some(k));
                            list.push(serde_json::json!({"Key": k, "Value": v}));
                        }
                        // API Gateway v2 takes a map, every other type a list.
                        other if r_is_v2(&kind) => {
                            let mut map = serde_json::Map::new();
                            map.insert(k.to_string(), Value::from(*v));
                            *other = Value::Object(map);
                        }
                        other => *other = serde_json::json!([{"Key": k, "Value": v}]),
                    }
                }
            }
        }
    }
    if !t["Outputs"].is_object() {
        t["Outputs"] = Value::Object(Default::default());
    }
    t["Outputs"]["SlsAdoption"] = serde_json::json!({
        "Description": "Every resource retained: the stage is being adopted by sls",
        "Value": "retained",
    });
    t
}

/// The tags that make a resource sls's.
pub fn ownership_tags(d: &Desired) -> [(&str, &str); 3] {
    use super::naming::{MANAGED_BY, TAG_MANAGED_BY, TAG_SERVICE, TAG_STAGE};
    [
        (TAG_SERVICE, d.service.as_str()),
        (TAG_STAGE, d.stage.as_str()),
        (TAG_MANAGED_BY, MANAGED_BY),
    ]
}

/// Logical id → physical id of a stack's resources.
pub fn physical_ids(resources: &[V3Resource]) -> BTreeMap<&str, &str> {
    resources
        .iter()
        .map(|r| (r.logical.as_str(), r.physical.as_str()))
        .collect()
}

/// The function a v3 property names: `Fn::GetAtt [X, Arn]`, `Ref X`, a name or an ARN.
pub fn function_of(value: &Value, physical: &BTreeMap<&str, &str>) -> Option<String> {
    let logical = value["Fn::GetAtt"][0].as_str().or(value["Ref"].as_str());
    if let Some(l) = logical {
        return physical.get(l).map(|p| p.to_string());
    }
    let s = value.as_str()?;
    let name = match s.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => s,
    };
    Some(name.to_string())
}

/// What happens to every resource, what to do, and what cannot be done.
pub fn plan(s: &V3Stack, d: &Desired, user: &[String], leave: &[String]) -> AdoptPlan {
    let mut p = AdoptPlan {
        stack: s.name.clone(),
        ..AdoptPlan::default()
    };
    if let Some(r) = &s.record
        && r.phase == AdoptionPhase::Done
    {
        return p;
    }
    // A stop after the stack was reduced: the tags and records were written before it.
    let reduced = s.record.is_some()
        && !s.resources.iter().any(|r| !user.contains(&r.logical))
        && !s.resources.is_empty();
    if s.record.is_some() && (reduced || s.resources.is_empty()) {
        p.steps.push(AdoptStep::Finish {
            stack: s.name.clone(),
        });
        return p;
    }
    if !s.status.ends_with("_COMPLETE") || s.status == "ROLLBACK_COMPLETE" {
        p.refusals.push(format!(
            "CloudFormation stack {} is in {}: adoption starts only from a stable state (CREATE_COMPLETE, UPDATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE); finish or fix what is under way (the console, or `aws cloudformation continue-update-rollback`) and run again",
            s.name, s.status
        ));
        return p;
    }
    if !is_v3(s) {
        p.refusals.push(format!(
            "CloudFormation stack {} was not made by Serverless v3 (no deployment bucket, not v3's template description): sls adopts only v3 deployments",
            s.name
        ));
        return p;
    }
    let physical = physical_ids(&s.resources);
    let functions: BTreeSet<&str> = d.functions.iter().map(|f| f.name.as_str()).collect();
    let log_groups: BTreeSet<&str> = d.log_groups.iter().map(|g| g.log_group.as_str()).collect();
    let rules: BTreeSet<&str> = d.rules.iter().map(|r| r.name.as_str()).collect();
    let mut leftovers: BTreeMap<String, Leftovers> = BTreeMap::new();
    let mut owners: Vec<(String, Owner)> = Vec::new();
    for r in &s.resources {
        let fate = if leave.contains(&r.logical) {
            Fate::Left
        } else if user.contains(&r.logical) {
            Fate::Stays
        } else {
            classify(
                r,
                d,
                &physical,
                &functions,
                &log_groups,
                &rules,
                s,
                &mut leftovers,
            )
        };
        if let Fate::TakenOver { owner, .. } = &fate {
            owners.push((r.logical.clone(), owner.clone()));
        }
        if let Fate::Refused { why } = &fate {
            p.refusals.push(format!(
                "{} ({}): {why}; pass --leave {} to leave it in AWS outside any stack, unmanaged",
                r.logical, r.kind, r.logical
            ));
        }
        p.items.push(Item {
            logical_id: r.logical.clone(),
            kind: r.kind.clone(),
            physical_id: r.physical.clone(),
            fate,
        });
    }
    for (export, stacks) in &s.imported {
        p.refusals.push(format!(
            "export {export} of stack {} is imported by {}: v3's outputs leave with the resources they name; replace the import with its value first",
            s.name,
            stacks.join(", ")
        ));
    }
    for l in leave {
        if !s.resources.iter().any(|r| &r.logical == l) {
            p.refusals
                .push(format!("--leave {l}: stack {} has no resource {l}", s.name));
        }
    }
    if !p.refusals.is_empty() {
        return p;
    }
    if let Some(bucket) = deployment_bucket(s, d)
        && !s.original_saved
    {
        p.steps.push(AdoptStep::SaveTemplate {
            bucket: bucket.to_string(),
            key: original_key(&s.name),
        });
    }
    if s.record.is_none() {
        p.steps.push(AdoptStep::Begin {
            stack: s.name.clone(),
        });
    }
    let ids: Vec<String> = owners.iter().map(|(id, _)| id.clone()).collect();
    if !all_retained(&s.template, &ids, &ownership_tags(d)) {
        p.steps.push(AdoptStep::Retain {
            stack: s.name.clone(),
            resources: s.resources.len(),
            tagged: owners,
        });
    }
    for (function_name, leftovers) in leftovers {
        if !leftovers.is_empty() {
            p.steps.push(AdoptStep::Record {
                function_name,
                leftovers,
            });
        }
    }
    let keeps: Vec<String> = s
        .resources
        .iter()
        .filter(|r| user.contains(&r.logical))
        .map(|r| r.logical.clone())
        .collect();
    p.steps.push(if keeps.is_empty() {
        AdoptStep::DeleteStack {
            stack: s.name.clone(),
        }
    } else {
        AdoptStep::Reduce {
            stack: s.name.clone(),
            keeps,
        }
    });
    p.steps.push(AdoptStep::Finish {
        stack: s.name.clone(),
    });
    p.first_deploy = first_deploy(&p.items, d);
    p
}

#[allow(clippy::too_many_arguments)]
fn classify(
    r: &V3Resource,
    d: &Desired,
    physical: &BTreeMap<&str, &str>,
    functions: &BTreeSet<&str>,
    log_groups: &BTreeSet<&str>,
    rules: &BTreeSet<&str>,
    s: &V3Stack,
    leftovers: &mut BTreeMap<String, Leftovers>,
) -> Fate {
    let refused = |why: &str| Fate::Refused { why: why.into() };
    let gone_note = || Some("not in serverless.yml: the first deploy deletes it".to_string());
    match r.kind.as_str() {
        "AWS::Lambda::Function" => Fate::TakenOver {
            owner: Owner::Function(r.physical.clone()),
            note: (!functions.contains(r.physical.as_str()))
                .then(gone_note)
                .flatten(),
        },
        "AWS::Lambda::Version" => Fate::Part {
            of: function_of(&r.properties["FunctionName"], physical)
                .map_or_else(|| "its function".into(), |f| format!("function {f}")),
        },
        "AWS::Logs::LogGroup" if log_groups.contains(r.physical.as_str()) => Fate::TakenOver {
            owner: Owner::LogGroup(r.physical.clone()),
            note: None,
        },
        "AWS::Logs::LogGroup" if r.physical.starts_with("/aws/lambda/") => Fate::TakenOver {
            owner: Owner::LogGroup(r.physical.clone()),
            note: gone_note(),
        },
        "AWS::IAM::Role"
            if r.logical == "IamRoleLambdaExecution"
                && d.role.as_ref().is_some_and(|x| x.name == r.physical) =>
        {
            Fate::TakenOver {
                owner: Owner::Role(r.physical.clone()),
                note: None,
            }
        }
        "AWS::IAM::Role" if r.logical == "IamRoleLambdaExecution" => refused(
            "the config no longer uses the service's default role (another `iam.role` or a function role): sls would not manage it",
        ),
        "AWS::ApiGatewayV2::Api" if r.properties["ProtocolType"].as_str() == Some("HTTP") => {
            Fate::TakenOver {
                owner: Owner::HttpApi(r.physical.clone()),
                note: d.http_api.is_none().then(gone_note).flatten(),
            }
        }
        "AWS::ApiGatewayV2::Stage"
        | "AWS::ApiGatewayV2::Integration"
        | "AWS::ApiGatewayV2::Route"
            if r.properties["ApiId"]["Ref"].as_str() == Some("HttpApi") =>
        {
            Fate::Part {
                of: "the HTTP API".into(),
            }
        }
        "AWS::ApiGateway::RestApi" => Fate::TakenOver {
            owner: Owner::RestApi(r.physical.clone()),
            note: d.rest_api.is_none().then(gone_note).flatten(),
        },
        "AWS::ApiGateway::Resource" | "AWS::ApiGateway::Method" | "AWS::ApiGateway::Deployment" => {
            Fate::Part {
                of: "the REST API".into(),
            }
        }
        "AWS::Lambda::Permission" => {
            let Some(function) = function_of(&r.properties["FunctionName"], physical) else {
                return refused("its function is not one of this stack's");
            };
            // CloudFormation's physical id is the statement id (some answers prefix it with
            // the function's ARN and `|`); only a statement the policy holds is recorded.
            let sid = r.physical.rsplit('|').next().unwrap_or_default().to_string();
            if s.policies.get(&function).is_some_and(|p| p.contains(&sid)) {
                leftovers.entry(function.clone()).or_default().grants.push(sid);
            }
            Fate::Replaced {
                by: format!("sls's grant on {function}'s live alias"),
            }
        }
        "AWS::Lambda::EventSourceMapping" => {
            let Some(function) = function_of(&r.properties["FunctionName"], physical) else {
                return refused("its function is not one of this stack's");
            };
            if !r.physical.is_empty() {
                leftovers
                    .entry(function.clone())
                    .or_default()
                    .mappings
                    .push(r.physical.clone());
            }
            Fate::Replaced {
                by: format!("sls's mapping to {function}'s live alias (the source's messages wait for it; a stream restarts at its configured position)"),
            }
        }
        "AWS::Events::Rule" if rules.contains(r.physical.as_str()) => Fate::TakenOver {
            owner: Owner::Rule(r.physical.clone()),
            note: Some("its target moves to the live alias on the first deploy".into()),
        },
        "AWS::Events::Rule" => {
            let target = r.properties["Targets"][0]["Arn"].clone();
            let Some(function) = function_of(&target, physical) else {
                return refused("its target is not one of this stack's functions");
            };
            leftovers
                .entry(function.clone())
                .or_default()
                .rules
                .push(r.physical.clone());
            Fate::Replaced {
                by: format!("sls's rule for {function} (both fire until the first deploy ends)"),
            }
        }
        "AWS::S3::Bucket" if r.logical == "ServerlessDeploymentBucket" => Fate::Kept {
            why: "v3's deployment bucket: its artifacts and the saved template are the way back to v3; delete it once you no longer need that".into(),
        },
        "AWS::S3::BucketPolicy" if r.logical == "ServerlessDeploymentBucketPolicy" => Fate::Kept {
            why: "the deployment bucket's policy".into(),
        },
        kind if kind.starts_with("Custom::") || kind == "AWS::CloudFormation::CustomResource" => {
            refused("a custom resource: sls cannot run its handler's create or delete")
        }
        "AWS::ApiGatewayV2::Api" => refused("sls adopt does not take over WebSocket APIs yet"),
        // Most often a resource of `resources:` that serverless.yml no longer has (v3 kept it):
        // back in `resources:` it stays in CloudFormation.
        kind => Fate::Refused {
            why: format!(
                "not in serverless.yml's `resources:`, and sls adopt does not take over {kind} yet; to keep it in CloudFormation, put it back in `resources:` under this logical id"
            ),
        },
    }
}

/// What the first deploy after the adoption changes, in words, from what was taken over.
fn first_deploy(items: &[Item], d: &Desired) -> Vec<String> {
    let mut out = Vec::new();
    let has = |pred: &dyn Fn(&Fate) -> bool| items.iter().any(|i| pred(&i.fate));
    if has(&|f| {
        matches!(
            f,
            Fate::TakenOver {
                owner: Owner::Function(_),
                ..
            }
        )
    }) {
        out.push(format!(
            "functions: code and configuration as sls packages them, a new version each, and the `{}` alias made on it",
            d.live
        ));
    }
    if has(&|f| {
        matches!(
            f,
            Fate::TakenOver {
                owner: Owner::Role(_),
                ..
            }
        )
    }) {
        out.push("role: its inline policy rewritten as sls writes it (the same statements)".into());
    }
    if has(&|f| {
        matches!(
            f,
            Fate::TakenOver {
                owner: Owner::HttpApi(_),
                ..
            }
        )
    }) {
        out.push(format!(
            "HTTP API: same id and URL; its integrations move from the unqualified functions to the `{}` alias",
            d.live
        ));
    }
    if has(&|f| {
        matches!(
            f,
            Fate::TakenOver {
                owner: Owner::RestApi(_),
                ..
            }
        )
    }) {
        out.push(format!(
            "REST API: same id and URL; its methods move to the `{}` alias and a new deployment is made",
            d.live
        ));
    }
    if has(&|f| {
        matches!(
            f,
            Fate::TakenOver {
                owner: Owner::LogGroup(_),
                ..
            }
        )
    }) {
        out.push("log groups: sls's tags and retention".into());
    }
    if has(&|f| matches!(f, Fate::Replaced { .. })) {
        out.push("v3's grants, event source mappings and rules on the unqualified functions: sls's are made on the alias, then v3's deleted".into());
    }
    if has(&|f| matches!(f, Fate::Stays)) {
        out.push("the side stack: nothing, when serverless.yml is unchanged (the adoption wrote its template)".into());
    }
    out
}

/// v3's leftovers as a deploy reads them from the records: function name → leftovers.
pub fn leftovers_of(
    records: &BTreeMap<String, String>,
    prefix: &str,
) -> BTreeMap<String, Leftovers> {
    records
        .iter()
        .filter_map(|(name, value)| {
            let function = name.strip_prefix(prefix)?;
            let l: Leftovers = serde_json::from_str(value).ok()?;
            Some((function.to_string(), l))
        })
        .collect()
}

/// Deletes what v3 made for a function that sls replaced, then its record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum AdoptedStep {
    #[serde(rename_all = "camelCase")]
    DeleteLeftovers {
        function_name: String,
        leftovers: Leftovers,
    },
}

impl super::KindStep for AdoptedStep {
    fn phase(&self) -> Phase {
        match self {
            AdoptedStep::DeleteLeftovers { .. } => Phase::Tidy,
        }
    }

    fn lane(&self) -> String {
        match self {
            AdoptedStep::DeleteLeftovers { function_name, .. } => {
                format!("function {function_name}")
            }
        }
    }
}

impl fmt::Display for AdoptedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdoptedStep::DeleteLeftovers {
                function_name,
                leftovers,
            } => write!(
                f,
                "- v3's {} of {function_name} (replaced by sls's)",
                leftover_words(leftovers)
            ),
        }
    }
}

/// An adoption that started and did not finish stops every other change; otherwise, on a
/// deploy to the live alias and on a removal, v3's leftovers go once sls's replacements are in
/// place (their phase comes after the triggers').
pub fn plan_adopted(d: &Desired, o: &Observed, p: &mut Plan) {
    if let Some(a) = o
        .adoption
        .as_ref()
        .filter(|a| a.phase == AdoptionPhase::Started)
    {
        p.conflicts.push(super::Conflict {
            resource: format!("CloudFormation stack {}", a.stack),
            reason: "`sls adopt` started taking this stage over and did not finish: run `sls adopt` again (nothing else changes it meanwhile)".into(),
        });
    }
    if d.alias != d.live {
        return;
    }
    for (function_name, leftovers) in &o.adopted {
        p.push(AdoptedStep::DeleteLeftovers {
            function_name: function_name.clone(),
            leftovers: leftovers.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(logical: &str, kind: &str, physical: &str, properties: Value) -> V3Resource {
        V3Resource {
            logical: logical.into(),
            kind: kind.into(),
            physical: physical.into(),
            properties,
        }
    }

    fn desired() -> Desired {
        let yaml = "service: svc\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  api:\n    handler: h.api\n    events:\n      - httpApi: 'GET /x'\n";
        crate::plan::desired::tests::desired_of(yaml)
    }

    fn stack(resources: Vec<V3Resource>) -> V3Stack {
        let mut template = json!({"Description": "The AWS CloudFormation template for this Serverless application", "Resources": {}});
        for r in &resources {
            template["Resources"][&r.logical] = json!({"Type": r.kind, "Properties": r.properties});
        }
        V3Stack {
            name: "svc-dev".into(),
            status: "UPDATE_COMPLETE".into(),
            template,
            resources,
            ..V3Stack::default()
        }
    }

    fn v3() -> Vec<V3Resource> {
        vec![
            res(
                "ServerlessDeploymentBucket",
                "AWS::S3::Bucket",
                "svc-dev-serverlessdeploymentbucket-x",
                json!({}),
            ),
            res(
                "ApiLambdaFunction",
                "AWS::Lambda::Function",
                "svc-dev-api",
                json!({}),
            ),
            res(
                "ApiLambdaVersionAbc",
                "AWS::Lambda::Version",
                "arn:aws:lambda:us-east-1:1:function:svc-dev-api:1",
                json!({"FunctionName": {"Ref": "ApiLambdaFunction"}}),
            ),
            res(
                "ApiLogGroup",
                "AWS::Logs::LogGroup",
                "/aws/lambda/svc-dev-api",
                json!({}),
            ),
            res(
                "IamRoleLambdaExecution",
                "AWS::IAM::Role",
                "svc-dev-us-east-1-lambdaRole",
                json!({}),
            ),
            res(
                "HttpApi",
                "AWS::ApiGatewayV2::Api",
                "abc123",
                json!({"ProtocolType": "HTTP"}),
            ),
            res(
                "HttpApiRouteGetX",
                "AWS::ApiGatewayV2::Route",
                "abc123/r1",
                json!({"ApiId": {"Ref": "HttpApi"}}),
            ),
            res(
                "ApiLambdaPermissionHttpApi",
                "AWS::Lambda::Permission",
                "svc-dev-ApiLambdaPermissionHttpApi-XYZ",
                json!({"FunctionName": {"Fn::GetAtt": ["ApiLambdaFunction", "Arn"]}}),
            ),
            res(
                "ApiEventsRuleSchedule1",
                "AWS::Events::Rule",
                "svc-dev-ApiEventsRuleSchedule1-Q",
                json!({"Targets": [{"Arn": {"Fn::GetAtt": ["ApiLambdaFunction", "Arn"]}}]}),
            ),
            res(
                "ItemsTable",
                "AWS::DynamoDB::Table",
                "svc-dev-items",
                json!({}),
            ),
        ]
    }

    #[test]
    fn a_v3_stack_is_taken_over_by_physical_id_and_reduced_to_the_users_resources() {
        let mut s = stack(v3());
        s.policies.insert(
            "svc-dev-api".into(),
            ["svc-dev-ApiLambdaPermissionHttpApi-XYZ".to_string()].into(),
        );
        let p = plan(&s, &desired(), &["ItemsTable".into()], &[]);
        assert!(p.refusals.is_empty(), "{:?}", p.refusals);
        let fate = |id: &str| {
            p.items
                .iter()
                .find(|i| i.logical_id == id)
                .unwrap()
                .fate
                .clone()
        };
        assert_eq!(fate("ItemsTable"), Fate::Stays);
        assert!(
            matches!(fate("HttpApi"), Fate::TakenOver { owner: Owner::HttpApi(id), note: None } if id == "abc123")
        );
        assert!(matches!(fate("HttpApiRouteGetX"), Fate::Part { .. }));
        assert!(matches!(
            fate("ApiLambdaPermissionHttpApi"),
            Fate::Replaced { .. }
        ));
        assert!(matches!(
            fate("ServerlessDeploymentBucket"),
            Fate::Kept { .. }
        ));
        let lines: Vec<String> = p.steps.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "+ copy of the stack's template: s3://svc-dev-serverlessdeploymentbucket-x/sls-adoption/svc-dev/cloudformation-template-original.json",
                "+ record: adoption of svc-dev started",
                "~ CloudFormation stack svc-dev: DeletionPolicy and UpdateReplacePolicy Retain on all 10 resources, sls's tags on the 4 it takes over",
                "+ record: v3's 1 grant, 1 rule of svc-dev-api, deleted by the first deploy",
                "~ CloudFormation stack svc-dev: keeps 1 resource (ItemsTable), the rest leaves it retained",
                "~ record: adoption of svc-dev done",
            ]
        );
    }

    #[test]
    fn custom_resources_unknown_kinds_and_imported_exports_are_refused_unless_left() {
        let mut r = v3();
        r.push(res("CustomThing", "Custom::S3", "x", json!({})));
        r.push(res(
            "Machine",
            "AWS::StepFunctions::StateMachine",
            "arn:m",
            json!({}),
        ));
        let mut s = stack(r);
        s.imported
            .insert("sls-svc-dev-HttpApiUrl".into(), vec!["other".into()]);
        let p = plan(&s, &desired(), &["ItemsTable".into()], &[]);
        assert_eq!(p.refusals.len(), 3, "{:?}", p.refusals);
        assert!(
            p.refusals[0].contains("custom resource")
                && p.refusals[0].contains("--leave CustomThing")
        );
        assert!(p.refusals[1].contains("AWS::StepFunctions::StateMachine yet"));
        assert!(p.refusals[1].contains("put it back in `resources:`"));
        assert!(p.refusals[2].contains("imported by other"));
        assert!(p.steps.is_empty());
        s.imported.clear();
        let p = plan(
            &s,
            &desired(),
            &["ItemsTable".into()],
            &["CustomThing".into(), "Machine".into()],
        );
        assert!(p.refusals.is_empty(), "{:?}", p.refusals);
        assert!(
            p.items
                .iter()
                .any(|i| i.logical_id == "Machine" && i.fate == Fate::Left)
        );
    }

    #[test]
    fn unstable_and_foreign_stacks_are_refused() {
        let mut s = stack(v3());
        s.status = "UPDATE_ROLLBACK_FAILED".into();
        let p = plan(&s, &desired(), &[], &[]);
        assert!(
            p.refusals[0].contains("UPDATE_ROLLBACK_FAILED"),
            "{:?}",
            p.refusals
        );
        let mut s = stack(vec![res("Q", "AWS::SQS::Queue", "q", json!({}))]);
        s.template["Description"] = json!("mine");
        let p = plan(&s, &desired(), &[], &[]);
        assert!(
            p.refusals[0].contains("not made by Serverless v3"),
            "{:?}",
            p.refusals
        );
    }

    #[test]
    fn a_rerun_skips_what_was_done_and_a_reduced_stack_only_finishes() {
        let mut s = stack(v3());
        let d = desired();
        let ids: Vec<String> = [
            "ApiLambdaFunction",
            "IamRoleLambdaExecution",
            "ApiLogGroup",
            "HttpApi",
        ]
        .map(String::from)
        .to_vec();
        assert!(!all_retained(&s.template, &ids, &ownership_tags(&d)));
        s.template = retained_template(&s.template, &ids, &ownership_tags(&d));
        assert!(all_retained(&s.template, &ids, &ownership_tags(&d)));
        // API Gateway v2 takes its tags as a map, the others as a list.
        assert_eq!(
            s.template["Resources"]["HttpApi"]["Properties"]["Tags"]["sls:stage"],
            "dev"
        );
        assert_eq!(
            s.template["Resources"]["ApiLogGroup"]["Properties"]["Tags"][1]["Key"],
            "sls:stage"
        );
        s.original_saved = true;
        s.record = Some(Adoption {
            stack: "svc-dev".into(),
            phase: AdoptionPhase::Started,
            original: "s3://b/k".into(),
            kept: true,
        });
        let p = plan(&s, &d, &["ItemsTable".into()], &[]);
        assert!(
            matches!(p.steps[0], AdoptStep::Record { .. }),
            "{:?}",
            p.steps
        );
        s.resources.retain(|r| r.logical == "ItemsTable");
        let p = plan(&s, &desired(), &["ItemsTable".into()], &[]);
        assert_eq!(
            p.steps,
            [AdoptStep::Finish {
                stack: "svc-dev".into()
            }]
        );
        s.record.as_mut().unwrap().phase = AdoptionPhase::Done;
        assert!(
            plan(&s, &desired(), &["ItemsTable".into()], &[])
                .steps
                .is_empty()
        );
    }

    #[test]
    fn leftover_records_are_read_back_by_function() {
        let l = Leftovers {
            grants: vec!["a".into()],
            mappings: vec!["u".into()],
            rules: vec![],
        };
        let mut records = BTreeMap::new();
        records.insert(
            "/sls/s/d/adopted/s-d-api".to_string(),
            serde_json::to_string(&l).unwrap(),
        );
        records.insert("/sls/s/d/lease".to_string(), "{}".to_string());
        let got = leftovers_of(&records, &leftover_prefix("s", "d"));
        assert_eq!(got.len(), 1);
        assert_eq!(got["s-d-api"], l);
    }
}
