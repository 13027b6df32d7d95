//! `resources:` as the template of the service's side stack: the mapping form or the list form
//! (several templates, often `${file(…)}`s, merged in order as Serverless v3 merges them),
//! checked before any AWS call. Two things are added, both needed because sls keeps functions,
//! roles and APIs out of CloudFormation:
//! - references inside `resources:` to what sls deploys (`HelloLambdaFunction`,
//!   `IamRoleLambdaExecution`, …) become the values, as the stack does not hold them;
//! - an output for every `Ref X` and `Fn::GetAtt X.Attr` that the rest of the config makes to a
//!   resource here, so that those values can be read back after the stack is deployed.

use std::collections::BTreeSet;

use serde_json::{Map, Value as J, json};

use super::intrinsics::{Needs, Values, as_intrinsic, get_att_args, sub_rewrite};
use super::yaml::{Entry, Node, Value};
use crate::diag::Problem;

/// Top-level template sections AWS accepts.
const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
];

/// The template sls sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub body: J,
    /// Logical id → type, in template order.
    pub resources: Vec<(String, String)>,
    /// Logical ids kept when the stack is deleted (`DeletionPolicy: Retain`).
    pub retained: Vec<String>,
}

/// The merged `resources:` node, or None when there is nothing to deploy.
pub fn merged(root: &Node) -> Result<Option<Node>, Problem> {
    let Some(node) = root.get("resources") else {
        return Ok(None);
    };
    let merged = match &node.value {
        Value::Null => return Ok(None),
        Value::Map(_) => node.clone(),
        Value::Seq(items) => {
            let mut acc = Node::new(Value::Map(Vec::new()), node.span);
            for item in items {
                match &item.value {
                    Value::Map(_) => merge(&mut acc, item),
                    Value::Null => {}
                    _ => {
                        return Err(Problem::error(
                            format!(
                                "each entry of `resources` must be a template (a mapping), found {}",
                                item.kind()
                            ),
                            Some(item.span),
                        ));
                    }
                }
            }
            acc
        }
        _ => {
            return Err(Problem::error(
                format!(
                    "`resources` must be a template (a mapping) or a list of them, found {}",
                    node.kind()
                ),
                Some(node.span),
            ));
        }
    };
    let empty = matches!(&merged.value, Value::Map(e) if e.is_empty());
    Ok((!empty).then_some(merged))
}

/// Deep merge: mappings key by key, anything else replaced (lodash's `merge` for templates).
fn merge(into: &mut Node, from: &Node) {
    match (&mut into.value, &from.value) {
        (Value::Map(a), Value::Map(b)) => {
            for e in b {
                match a.iter_mut().find(|x| x.key == e.key) {
                    Some(x) => merge(&mut x.value, &e.value),
                    None => a.push(e.clone()),
                }
            }
        }
        _ => *into = from.clone(),
    }
}

/// The output key that carries `Ref id` (or `Fn::GetAtt id.att`) out of the stack.
pub fn output_key(id: &str, att: Option<&str>) -> String {
    let alnum = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    };
    match att {
        None => format!("SlsRef{}", alnum(id)),
        Some(a) => format!("SlsAtt{}{}", alnum(id), alnum(a)),
    }
}

/// True for the outputs sls adds (not shown by `info`).
pub fn is_own_output(key: &str) -> bool {
    key.starts_with("SlsRef") || key.starts_with("SlsAtt")
}

/// The template for `resources` (from [`merged`]), with `managed` holding the values of what sls
/// deploys and `needs` what the rest of the config refers to.
pub fn template(
    resources: &Node,
    needs: &Needs,
    managed: &Values,
    description: &str,
) -> Result<Template, Problem> {
    let Value::Map(sections) = &resources.value else {
        return Err(Problem::error(
            "`resources` must be a mapping",
            Some(resources.span),
        ));
    };
    for s in sections {
        if s.key == "extensions" {
            return Err(Problem::error(
                "`resources.extensions` changes resources Serverless v3 generates; sls does not deploy them through CloudFormation",
                Some(s.key_span),
            )
            .help("set the same thing through sls's own keys (e.g. `logRetentionInDays`, `iam.role`); see docs/src/resources.md"));
        }
        if !SECTIONS.contains(&s.key.as_str()) {
            return Err(Problem::error(
                format!(
                    "`resources.{}` is not a CloudFormation template section",
                    s.key
                ),
                Some(s.key_span),
            )
            .help(format!("the sections are {}", SECTIONS.join(", "))));
        }
    }
    let mut declared = BTreeSet::new();
    let mut types = Vec::new();
    let mut retained = Vec::new();
    if let Some(Value::Map(rs)) = resources.get("Resources").map(|n| &n.value) {
        for r in rs {
            let ty = r.value.get("Type").and_then(Node::as_str).ok_or_else(|| {
                Problem::error(
                    format!("resource `{}` needs a `Type`", r.key),
                    Some(r.key_span),
                )
                .help("e.g. Type: AWS::DynamoDB::Table")
            })?;
            if !r.key.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(Problem::error(
                    format!(
                        "`{}` is not a CloudFormation logical id: only letters and digits are allowed",
                        r.key
                    ),
                    Some(r.key_span),
                ));
            }
            declared.insert(r.key.clone());
            types.push((r.key.clone(), ty.to_string()));
            if matches!(
                r.value.get("DeletionPolicy").and_then(Node::as_str),
                Some("Retain" | "RetainExceptOnCreate")
            ) {
                retained.push(r.key.clone());
            }
        }
    }
    if types.is_empty() {
        let at = resources
            .get("Resources")
            .map_or(resources.span, |n| n.span);
        return Err(Problem::error(
            "`resources` declares no resources: a CloudFormation template needs at least one under `Resources`",
            Some(at),
        ));
    }
    if let Some(Value::Map(ps)) = resources.get("Parameters").map(|n| &n.value) {
        for p in ps {
            declared.insert(p.key.clone());
            if p.value.get("Default").is_none() {
                return Err(Problem::error(
                    format!("template parameter `{}` has no `Default`: sls passes no parameters to the stack", p.key),
                    Some(p.key_span),
                )
                .help("give it a Default, or write the value in place with a variable such as ${param:…}"));
            }
        }
    }
    let mut body = resources.clone();
    foreign(&mut body, &declared, managed)?;
    let mut json = body.to_json();
    let obj = json.as_object_mut().expect("checked to be a mapping above");
    let mut out = Map::new();
    out.insert(
        "AWSTemplateFormatVersion".into(),
        obj.remove("AWSTemplateFormatVersion")
            .unwrap_or_else(|| json!("2010-09-09")),
    );
    out.insert(
        "Description".into(),
        obj.remove("Description")
            .unwrap_or_else(|| json!(description)),
    );
    out.extend(std::mem::take(obj));
    let condition = |id: &str| {
        resources
            .at_path(&["Resources", id, "Condition"])
            .map(Node::to_json)
    };
    let mut added = Map::new();
    for id in needs.refs.iter().filter(|id| declared.contains(*id)) {
        if types.iter().any(|(t, _)| t == id) {
            let mut o = json!({ "Value": { "Ref": id } });
            if let Some(c) = condition(id) {
                o["Condition"] = c;
            }
            added.insert(output_key(id, None), o);
        }
    }
    for (id, att) in needs.atts.iter().filter(|(id, _)| declared.contains(id)) {
        let mut o = json!({ "Value": { "Fn::GetAtt": [id, att] } });
        if let Some(c) = condition(id) {
            o["Condition"] = c;
        }
        added.insert(output_key(id, Some(att)), o);
    }
    if !added.is_empty() {
        let outputs = out
            .entry("Outputs")
            .or_insert_with(|| J::Object(Map::new()));
        if let J::Object(m) = outputs {
            m.extend(added);
        }
    }
    Ok(Template {
        body: J::Object(out),
        resources: types,
        retained,
    })
}

/// Replaces references to what the template does not declare by the values of what sls deploys.
fn foreign(node: &mut Node, declared: &BTreeSet<String>, v: &Values) -> Result<(), Problem> {
    let local = |id: &str| declared.contains(id) || id.starts_with("AWS::");
    if let Some((f, args)) = as_intrinsic(node) {
        let target = match (f, &args.value) {
            ("Ref", Value::Str(id)) if !local(id) => Some((id.clone(), None)),
            ("Fn::GetAtt", _) => get_att_args(args)
                .filter(|(id, _)| !local(id))
                .map(|(id, att)| (id, Some(att))),
            _ => None,
        };
        if let Some((id, att)) = target {
            let found = match &att {
                None => v.refs.get(&id),
                Some(a) => v.atts.get(&(id.clone(), a.clone())),
            };
            let Some(val) = found else {
                if v.stand_ins {
                    // Checked when the real values are given.
                    return Ok(());
                }
                let shown = att
                    .as_ref()
                    .map_or_else(|| format!("Ref {id}"), |a| format!("Fn::GetAtt {id}.{a}"));
                return Err(Problem::error(
                    format!("`{shown}` in `resources` names nothing in the template nor anything sls deploys"),
                    Some(node.span),
                )
                .label("unknown logical id")
                .help("declare it under Resources or Parameters, or use one of Serverless v3's logical ids that sls resolves (see docs/src/resources.md)"));
            };
            node.value = Value::Str(val.clone());
            return Ok(());
        }
        if f == "Fn::Sub" {
            sub_foreign(node, declared, v);
        }
    }
    match &mut node.value {
        Value::Map(entries) => {
            for Entry { value, .. } in entries.iter_mut() {
                foreign(value, declared, v)?;
            }
        }
        Value::Seq(items) => {
            for i in items.iter_mut() {
                foreign(i, declared, v)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// In a `Fn::Sub` text, `${HelloLambdaFunction.Arn}` and the like become their values; the
/// template's own names and unknown ones stay for CloudFormation.
fn sub_foreign(node: &mut Node, declared: &BTreeSet<String>, v: &Values) {
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    let Some(e) = entries.first_mut() else {
        return;
    };
    let text = match &mut e.value.value {
        Value::Str(s) => s,
        Value::Seq(items) => match items.first_mut().map(|n| &mut n.value) {
            Some(Value::Str(s)) => s,
            _ => return,
        },
        _ => return,
    };
    let Ok(out) = sub_rewrite(text, |name| {
        let (id, att) = match name.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (name, None),
        };
        if declared.contains(id) || id.starts_with("AWS::") || id.starts_with('!') {
            return Ok::<_, std::convert::Infallible>(None);
        }
        Ok(match att {
            None => v.refs.get(id),
            Some(a) => v.atts.get(&(id.to_string(), a.to_string())),
        }
        .cloned())
    });
    *text = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{intrinsics, yaml};
    use crate::diag::Sources;

    fn tree(text: &str) -> Node {
        let mut s = Sources::default();
        let f = s.add("serverless.yml", text);
        yaml::parse(&s, f).unwrap()
    }

    fn managed() -> Values {
        let mut v = Values::default();
        v.refs
            .insert("HelloLambdaFunction".into(), "svc-dev-hello".into());
        v.atts.insert(
            ("HelloLambdaFunction".into(), "Arn".into()),
            "arn:aws:lambda:us-east-1:1:function:svc-dev-hello".into(),
        );
        v
    }

    #[test]
    fn list_form_merges_and_outputs_carry_what_functions_use() {
        let t = tree(
            "provider:\n  environment:\n    T: !Ref Table\n    A: !GetAtt Table.Arn\nresources:\n  - Resources:\n      Table:\n        Type: AWS::DynamoDB::Table\n        DeletionPolicy: Retain\n        Properties: {TableName: t}\n  - Resources:\n      Topic:\n        Type: AWS::SNS::Topic\n        Properties:\n          Subscription:\n            - Endpoint: !GetAtt HelloLambdaFunction.Arn\n              Protocol: lambda\n          DisplayName: !Sub '${HelloLambdaFunction}-${AWS::Region}-${Table}'\n    Outputs:\n      Mine: {Value: !Ref Topic}\n",
        );
        let needs = intrinsics::needs(&t);
        let r = merged(&t).unwrap().unwrap();
        let tpl = template(&r, &needs, &managed(), "d").unwrap();
        assert_eq!(
            tpl.resources,
            [
                ("Table".to_string(), "AWS::DynamoDB::Table".to_string()),
                ("Topic".to_string(), "AWS::SNS::Topic".to_string())
            ]
        );
        assert_eq!(tpl.retained, ["Table"]);
        let b = &tpl.body;
        assert_eq!(b["AWSTemplateFormatVersion"], "2010-09-09");
        assert_eq!(
            b["Resources"]["Topic"]["Properties"]["Subscription"][0]["Endpoint"],
            "arn:aws:lambda:us-east-1:1:function:svc-dev-hello"
        );
        assert_eq!(
            b["Resources"]["Topic"]["Properties"]["DisplayName"]["Fn::Sub"],
            "svc-dev-hello-${AWS::Region}-${Table}"
        );
        assert_eq!(b["Outputs"]["Mine"]["Value"]["Ref"], "Topic");
        assert_eq!(b["Outputs"]["SlsRefTable"]["Value"]["Ref"], "Table");
        assert_eq!(
            b["Outputs"]["SlsAttTableArn"]["Value"]["Fn::GetAtt"],
            json!(["Table", "Arn"])
        );
    }

    #[test]
    fn mistakes_are_located_before_any_call() {
        let cases = [
            (
                "resources:\n  extensions:\n    X: {}\n",
                "resources.extensions",
                2,
            ),
            (
                "resources:\n  Resource:\n    X: {}\n",
                "not a CloudFormation template section",
                2,
            ),
            (
                "resources:\n  Resources:\n    X:\n      Properties: {}\n",
                "needs a `Type`",
                3,
            ),
            (
                "resources:\n  Resources:\n    X:\n      Type: AWS::SNS::Topic\n      Properties: {DisplayName: !Ref Nope}\n",
                "names nothing",
                5,
            ),
            (
                "resources:\n  Parameters:\n    P: {Type: String}\n  Resources:\n    X: {Type: AWS::SNS::Topic}\n",
                "has no `Default`",
                3,
            ),
            ("resources:\n  Outputs: {}\n", "declares no resources", 2),
        ];
        for (text, want, line) in cases {
            let t = tree(text);
            let r = merged(&t).unwrap().unwrap();
            let p = template(&r, &Needs::default(), &managed(), "d").unwrap_err();
            assert!(p.message.contains(want), "{text}: {}", p.message);
            assert_eq!(p.location.unwrap().start.line, line, "{text}");
        }
        assert!(merged(&tree("resources: []\n")).unwrap().is_none());
        assert!(merged(&tree("resources:\n  - 3\n")).is_err());
    }
}
