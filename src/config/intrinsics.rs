//! CloudFormation functions outside `resources:` (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`,
//! `Fn::Select`, `Fn::Split`, `Fn::ImportValue` and the pseudo parameters), replaced by values
//! before the config is typed: sls deploys functions, roles and event sources itself, so nothing
//! later could resolve them. [`needs`] tells the caller what to look up (the side stack's
//! outputs, the values of what sls manages under Serverless v3's logical ids, the account id);
//! [`substitute`] puts the values in. `resources:` itself is CloudFormation's to resolve, and
//! `custom:` belongs to plugins: both are left as written.

use std::collections::{BTreeSet, HashMap};

use super::model::is_intrinsic;
use super::yaml::{Entry, Node, Value};
use crate::diag::Problem;

/// Top-level keys whose intrinsics are not ours to resolve.
const LEFT_AS_WRITTEN: &[&str] = &["resources", "custom"];

/// What the intrinsics outside `resources:` refer to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Logical ids used with `Ref` (pseudo parameters apart).
    pub refs: BTreeSet<String>,
    /// `(logical id, attribute)` used with `Fn::GetAtt`.
    pub atts: BTreeSet<(String, String)>,
    /// Export names used with `Fn::ImportValue`.
    pub imports: BTreeSet<String>,
    /// `AWS::AccountId` is used.
    pub account: bool,
}

impl Needs {
    pub fn is_empty(&self) -> bool {
        *self == Needs::default()
    }
}

/// The values [`substitute`] puts in.
#[derive(Debug, Clone, Default)]
pub struct Values {
    pub region: String,
    pub account: Option<String>,
    /// The side stack's name (`AWS::StackName`).
    pub stack_name: String,
    pub refs: HashMap<String, String>,
    pub atts: HashMap<(String, String), String>,
    pub imports: HashMap<String, String>,
    /// Logical id → CloudFormation type of what `resources:` declares.
    pub types: HashMap<String, String>,
    /// Values not known yet (the side stack is not deployed, or no AWS is at hand) are given
    /// stand-ins of the right shape instead of an error: for `print`, `package` and dry runs.
    pub stand_ins: bool,
    /// Why a reference to something `resources:` declares has no value, for the error.
    pub missing_why: String,
}

/// Everything outside `resources:` and `custom:` that refers to something.
pub fn needs(root: &Node) -> Needs {
    let mut n = Needs::default();
    for_each_outside(root, &mut |node| collect(node, &mut n));
    n
}

/// Everything outside `custom:` that refers to something, `resources:` included (its references
/// to what sls deploys are given values too).
pub fn needs_everywhere(root: &Node) -> Needs {
    let mut n = Needs::default();
    if let Value::Map(entries) = &root.value {
        for e in entries.iter().filter(|e| e.key != "custom") {
            collect(&e.value, &mut n);
        }
    }
    n
}

impl Needs {
    /// Whether `id` is used with `Ref`, `Fn::GetAtt` or in a `Fn::Sub`.
    pub fn names(&self, id: &str) -> bool {
        self.refs.contains(id) || self.atts.iter().any(|(i, _)| i == id)
    }
}

/// Replaces every intrinsic outside `resources:` and `custom:` with its value.
pub fn substitute(root: &mut Node, v: &Values) -> Result<(), Problem> {
    let Value::Map(entries) = &mut root.value else {
        return Ok(());
    };
    for e in entries
        .iter_mut()
        .filter(|e| !LEFT_AS_WRITTEN.contains(&e.key.as_str()))
    {
        replace(&mut e.value, v)?;
    }
    Ok(())
}

fn for_each_outside(root: &Node, f: &mut dyn FnMut(&Node)) {
    if let Value::Map(entries) = &root.value {
        for e in entries
            .iter()
            .filter(|e| !LEFT_AS_WRITTEN.contains(&e.key.as_str()))
        {
            f(&e.value);
        }
    }
}

/// The function of a `{Fn::X: args}` mapping.
pub fn as_intrinsic(node: &Node) -> Option<(&str, &Node)> {
    match &node.value {
        Value::Map(entries) => match entries.as_slice() {
            [e] if is_intrinsic(&e.key) && e.key != "Condition" => Some((&e.key, &e.value)),
            _ => None,
        },
        _ => None,
    }
}

fn collect(node: &Node, n: &mut Needs) {
    if let Some((f, args)) = as_intrinsic(node) {
        match (f, &args.value) {
            ("Ref", Value::Str(id)) => note_ref(id, n),
            ("Fn::GetAtt", _) => {
                if let Some((id, att)) = get_att_args(args) {
                    n.atts.insert((id, att));
                }
            }
            ("Fn::Sub", Value::Str(text)) => sub_refs(text, &[], n),
            ("Fn::Sub", Value::Seq(items)) => {
                if let [t, vars] = items.as_slice() {
                    let names: Vec<&str> = match &vars.value {
                        Value::Map(es) => es.iter().map(|e| e.key.as_str()).collect(),
                        _ => Vec::new(),
                    };
                    if let Value::Str(text) = &t.value {
                        sub_refs(text, &names, n);
                    }
                    collect(vars, n);
                }
            }
            ("Fn::ImportValue", Value::Str(name)) => {
                n.imports.insert(name.clone());
            }
            _ => collect(args, n),
        }
        return;
    }
    match &node.value {
        Value::Map(entries) => entries.iter().for_each(|e| collect(&e.value, n)),
        Value::Seq(items) => items.iter().for_each(|i| collect(i, n)),
        _ => {}
    }
}

fn note_ref(id: &str, n: &mut Needs) {
    if id == "AWS::AccountId" {
        n.account = true;
    } else if !id.starts_with("AWS::") {
        n.refs.insert(id.to_string());
    }
}

fn sub_refs(text: &str, local: &[&str], n: &mut Needs) {
    for name in sub_names(text) {
        if local.contains(&name) {
            continue;
        }
        match name.split_once('.') {
            Some((id, att)) if !id.starts_with("AWS::") => {
                n.atts.insert((id.to_string(), att.to_string()));
            }
            _ => note_ref(name, n),
        }
    }
}

/// The `${Name}` references of a `Fn::Sub` text (`${!Literal}` is not one).
fn sub_names(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let Ok(_) = sub_rewrite(text, |name| {
        let name = name.trim();
        if !name.starts_with('!') && !name.is_empty() {
            out.push(name);
        }
        Ok::<_, std::convert::Infallible>(None)
    });
    out
}

/// Rewrites a `Fn::Sub` text: `each` gets what stands inside every `${…}` (as written, a
/// `!Literal` included) and answers its replacement, or None to keep it as written. An
/// unclosed `${` and what follows stay as they are.
pub fn sub_rewrite<'a, E>(
    text: &'a str,
    mut each: impl FnMut(&'a str) -> Result<Option<String>, E>,
) -> Result<String, E> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        out.push_str(&rest[..i]);
        let name = &after[..end];
        match each(name)? {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[i..i + 3 + end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The logical id and attribute of a `Fn::GetAtt`, in its `A.B` or `[A, B]` form.
pub fn get_att_args(args: &Node) -> Option<(String, String)> {
    match &args.value {
        Value::Str(s) => s
            .split_once('.')
            .map(|(a, b)| (a.to_string(), b.to_string())),
        Value::Seq(items) => match items.as_slice() {
            [a, b] => Some((a.as_str()?.to_string(), b.as_str()?.to_string())),
            _ => None,
        },
        _ => None,
    }
}

fn replace(node: &mut Node, v: &Values) -> Result<(), Problem> {
    if as_intrinsic(node).is_some() {
        let span = node.span;
        let mut value = eval(node, v)?;
        value.span = span;
        *node = value;
        return Ok(());
    }
    match &mut node.value {
        Value::Map(entries) => {
            // `Ref: AWS::NoValue` removes the key, as in CloudFormation.
            entries.retain(|e: &Entry| !is_no_value(&e.value));
            for e in entries.iter_mut() {
                replace(&mut e.value, v)?;
            }
        }
        Value::Seq(items) => {
            for i in items.iter_mut() {
                replace(i, v)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_no_value(n: &Node) -> bool {
    matches!(as_intrinsic(n), Some(("Ref", args)) if args.as_str() == Some("AWS::NoValue"))
}

fn text(s: String, at: &Node) -> Node {
    Node::new(Value::Str(s), at.span)
}

fn eval(node: &Node, v: &Values) -> Result<Node, Problem> {
    let Some((f, args)) = as_intrinsic(node) else {
        return match &node.value {
            Value::Seq(items) => Ok(Node::new(
                Value::Seq(items.iter().map(|i| eval(i, v)).collect::<Result<_, _>>()?),
                node.span,
            )),
            _ => Ok(node.clone()),
        };
    };
    let bad = |why: &str| {
        Problem::error(format!("`{f}` {why}"), Some(node.span))
            .help("see docs/src/resources.md for the CloudFormation functions sls resolves here")
    };
    match f {
        "Ref" => {
            let id = args.as_str().ok_or_else(|| bad("takes a logical id"))?;
            reference(id, None, node, v)
        }
        "Fn::GetAtt" => {
            let (id, att) = get_att_args(args)
                .ok_or_else(|| bad("takes `Resource.Attribute` or [Resource, Attribute]"))?;
            reference(&id, Some(&att), node, v)
        }
        "Fn::Sub" => {
            let (tpl, vars) = match &args.value {
                Value::Str(s) => (s.clone(), Vec::new()),
                Value::Seq(items) => match items.as_slice() {
                    [t, m] => {
                        let t = eval(t, v)?
                            .as_str()
                            .ok_or_else(|| bad("takes a text"))?
                            .to_string();
                        let mut vars = Vec::new();
                        if let Value::Map(es) = &m.value {
                            for e in es {
                                let val = eval(&e.value, v)?;
                                let s = val
                                    .scalar_text()
                                    .ok_or_else(|| bad("variables must be texts"))?;
                                vars.push((e.key.clone(), s));
                            }
                        }
                        (t, vars)
                    }
                    _ => return Err(bad("takes a text, or [text, {variables}]")),
                },
                _ => return Err(bad("takes a text, or [text, {variables}]")),
            };
            let out = sub_rewrite(&tpl, |name| {
                let name = name.trim();
                if let Some(lit) = name.strip_prefix('!') {
                    return Ok(Some(format!("${{{lit}}}")));
                }
                if let Some((_, val)) = vars.iter().find(|(k, _)| k == name) {
                    return Ok(Some(val.clone()));
                }
                let r = match name.split_once('.') {
                    Some((id, att)) if !id.starts_with("AWS::") => {
                        reference(id, Some(att), node, v)?
                    }
                    _ => reference(name, None, node, v)?,
                };
                Ok(Some(r.scalar_text().unwrap_or_default()))
            })?;
            Ok(text(out, node))
        }
        "Fn::Join" => {
            let [d, list] = seq(args).ok_or_else(|| bad("takes [delimiter, [values]]"))? else {
                return Err(bad("takes [delimiter, [values]]"));
            };
            let d = d.as_str().ok_or_else(|| bad("takes a text delimiter"))?;
            let list = eval(list, v)?;
            let Value::Seq(items) = &list.value else {
                return Err(bad("joins a list"));
            };
            let parts: Vec<String> = items
                .iter()
                .map(|i| eval(i, v).map(|n| n.scalar_text().unwrap_or_default()))
                .collect::<Result<_, _>>()?;
            Ok(text(parts.join(d), node))
        }
        "Fn::Select" => {
            let [i, list] = seq(args).ok_or_else(|| bad("takes [index, [values]]"))? else {
                return Err(bad("takes [index, [values]]"));
            };
            let i = eval(i, v)?;
            let idx = match &i.value {
                Value::Int(n) => usize::try_from(*n).ok(),
                Value::Str(s) => s.parse().ok(),
                _ => None,
            }
            .ok_or_else(|| bad("takes a whole-number index"))?;
            let list = eval(list, v)?;
            match &list.value {
                Value::Seq(items) => items
                    .get(idx)
                    .map(|n| eval(n, v))
                    .transpose()?
                    .ok_or_else(|| bad(&format!("index {idx} is past the end of the list"))),
                _ => Err(bad("selects from a list")),
            }
        }
        "Fn::Split" => {
            let [d, s] = seq(args).ok_or_else(|| bad("takes [delimiter, text]"))? else {
                return Err(bad("takes [delimiter, text]"));
            };
            let d = d.as_str().ok_or_else(|| bad("takes a text delimiter"))?;
            let s = eval(s, v)?;
            let s = s.as_str().ok_or_else(|| bad("splits a text"))?;
            Ok(Node::new(
                Value::Seq(s.split(d).map(|p| text(p.to_string(), node)).collect()),
                node.span,
            ))
        }
        "Fn::ImportValue" => {
            let name = eval(args, v)?;
            let name = name.as_str().ok_or_else(|| bad("takes an export name"))?;
            match v.imports.get(name) {
                Some(val) => Ok(text(val.clone(), node)),
                None if v.stand_ins => Ok(text(format!("{name}-stand-in"), node)),
                None => Err(bad(&format!(
                    "names the export `{name}`, which no stack in {} exports",
                    v.region
                ))
                .help("deploy the stack that exports it first, or check the name")),
            }
        }
        other => Err(Problem::error(
            format!("`{other}` cannot be resolved outside `resources:`"),
            Some(node.span),
        )
        .help("sls resolves Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split and Fn::ImportValue here; compute the value in a resource's output and use `${cf:…}`, or write it out")),
    }
}

fn seq(n: &Node) -> Option<&[Node]> {
    match &n.value {
        Value::Seq(items) => Some(items),
        _ => None,
    }
}

fn reference(id: &str, att: Option<&str>, at: &Node, v: &Values) -> Result<Node, Problem> {
    let (partition, suffix) = crate::config::model::partition(&v.region);
    if att.is_none() {
        let pseudo = match id {
            "AWS::Region" => Some(v.region.clone()),
            "AWS::Partition" => Some(partition.to_string()),
            "AWS::URLSuffix" => Some(suffix.to_string()),
            "AWS::StackName" => Some(v.stack_name.clone()),
            "AWS::AccountId" => Some(
                v.account
                    .clone()
                    .unwrap_or_else(|| STAND_IN_ACCOUNT.to_string()),
            ),
            "AWS::NoValue" => return Ok(Node::new(Value::Null, at.span)),
            _ => None,
        };
        if let Some(p) = pseudo {
            return Ok(text(p, at));
        }
    }
    let found = match att {
        None => v.refs.get(id),
        Some(a) => v.atts.get(&(id.to_string(), a.to_string())),
    };
    if let Some(val) = found {
        return Ok(text(val.clone(), at));
    }
    let shown = match att {
        None => format!("Ref {id}"),
        Some(a) => format!("Fn::GetAtt {id}.{a}"),
    };
    if let Some(ty) = v.types.get(id) {
        if v.stand_ins {
            return Ok(text(stand_in(id, att, ty, v), at));
        }
        return Err(Problem::error(
            format!("`{shown}` has no value: {}", v.missing_why),
            Some(at.span),
        )
        .label("from `resources:`"));
    }
    if v.stand_ins && looks_managed(id) {
        // Which functions there are is checked when the real values are put in.
        return Ok(text(
            stand_in(id, att, "AWS::CloudFormation::Unknown", v),
            at,
        ));
    }
    Err(Problem::error(
        format!("`{shown}` names nothing sls knows: `{id}` is neither in `resources:` nor something sls deploys"),
        Some(at.span),
    )
    .label("unknown logical id")
    .help("declare it under resources.Resources, or use one of Serverless v3's logical ids (e.g. HelloLambdaFunction, IamRoleLambdaExecution); see docs/src/resources.md"))
}

/// Serverless v3's logical ids for what sls deploys, by their shape (a stand-in load does not
/// know the functions yet).
fn looks_managed(id: &str) -> bool {
    id.ends_with("LambdaFunction")
        || id.ends_with("LogGroup")
        || matches!(
            id,
            "IamRoleLambdaExecution"
                | "ServerlessDeploymentBucket"
                | "ApiGatewayRestApi"
                | "HttpApi"
                | "WebsocketsApi"
        )
}

/// The account shown where the real one is not known yet.
pub const STAND_IN_ACCOUNT: &str = "000000000000";

/// A value of the right shape for something `resources:` declares, before it exists: an ARN
/// in the service its type belongs to, a queue's URL, else the logical id.
fn stand_in(id: &str, att: Option<&str>, ty: &str, v: &Values) -> String {
    let (partition, suffix) = crate::config::model::partition(&v.region);
    let account = v.account.as_deref().unwrap_or(STAND_IN_ACCOUNT);
    let region = &v.region;
    let service = ty
        .split("::")
        .nth(1)
        .unwrap_or("cloudformation")
        .to_ascii_lowercase();
    let arn = |res: String| format!("arn:{partition}:{service}:{region}:{account}:{res}");
    match (ty, att) {
        ("AWS::SQS::Queue", None) => format!("https://sqs.{region}.{suffix}/{account}/{id}"),
        ("AWS::S3::Bucket", Some("Arn")) => {
            format!("arn:{partition}:s3:::{}", id.to_ascii_lowercase())
        }
        ("AWS::S3::Bucket", None) => id.to_ascii_lowercase(),
        ("AWS::IAM::Role", Some("Arn")) => format!("arn:{partition}:iam::{account}:role/{id}"),
        ("AWS::DynamoDB::Table", Some("Arn")) => arn(format!("table/{id}")),
        ("AWS::DynamoDB::Table", Some("StreamArn")) => {
            arn(format!("table/{id}/stream/1970-01-01T00:00:00.000"))
        }
        ("AWS::Kinesis::Stream", Some("Arn")) => arn(format!("stream/{id}")),
        ("AWS::Cognito::UserPool", Some("Arn")) => arn(format!("userpool/{region}_{id}")),
        (_, Some("Arn")) => arn(id.to_string()),
        (_, Some(a)) => format!("{id}-{a}-stand-in"),
        (_, None) => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;
    use crate::diag::Sources;

    fn tree(text: &str) -> Node {
        let mut s = Sources::default();
        let f = s.add("serverless.yml", text);
        yaml::parse(&s, f).unwrap()
    }

    fn values() -> Values {
        let mut v = Values {
            region: "eu-west-1".into(),
            account: Some("123456789012".into()),
            stack_name: "svc-dev-resources".into(),
            ..Default::default()
        };
        v.refs.insert("Table".into(), "svc-dev-table".into());
        v.atts.insert(
            ("Table".into(), "Arn".into()),
            "arn:aws:dynamodb:eu-west-1:123456789012:table/svc-dev-table".into(),
        );
        v.imports.insert("shared-vpc".into(), "vpc-1".into());
        v.types
            .insert("Table".into(), "AWS::DynamoDB::Table".into());
        v.types.insert("Queue".into(), "AWS::SQS::Queue".into());
        v.missing_why = "the stack is not deployed".into();
        v
    }

    #[test]
    fn needs_name_what_is_referred_to_outside_resources_and_custom() {
        let t = tree(
            "provider:\n  environment:\n    T: !Ref Table\n    S: !Sub 'arn:${AWS::Partition}:x:${AWS::AccountId}:${Queue.Arn}/${!Lit}/${Mine}'\n    I: !ImportValue shared-vpc\n    M: !Sub ['${Mine}', {Mine: !Ref Other}]\nresources:\n  Resources:\n    X: {Properties: {A: !Ref Hidden}}\ncustom:\n  c: !Ref AlsoHidden\n",
        );
        let n = needs(&t);
        assert_eq!(
            n.refs.iter().cloned().collect::<Vec<_>>(),
            ["Mine", "Other", "Table"]
        );
        assert!(n.atts.contains(&("Queue".into(), "Arn".into())));
        assert!(n.imports.contains("shared-vpc"));
        assert!(n.account);
    }

    #[test]
    fn functions_resolve_to_values() {
        let mut t = tree(
            "provider:\n  environment:\n    T: !Ref Table\n    A: !GetAtt [Table, Arn]\n    S: !Sub 'arn:${AWS::Partition}:s3:::${Table}-${AWS::Region}/${!Keep}'\n    J: !Join ['-', [a, !Ref AWS::AccountId, !Select [1, !Split [',', 'x,y,z']]]]\n    I: !ImportValue shared-vpc\n    N: !Ref AWS::NoValue\n    V: !Sub ['${X}.${AWS::URLSuffix}', {X: !Ref Table}]\n",
        );
        substitute(&mut t, &values()).unwrap();
        let env = t.at_path(&["provider", "environment"]).unwrap();
        let get = |k: &str| env.get(k).and_then(Node::as_str).map(str::to_string);
        assert_eq!(get("T").as_deref(), Some("svc-dev-table"));
        assert!(get("A").unwrap().ends_with(":table/svc-dev-table"));
        assert_eq!(
            get("S").as_deref(),
            Some("arn:aws:s3:::svc-dev-table-eu-west-1/${Keep}")
        );
        assert_eq!(get("J").as_deref(), Some("a-123456789012-y"));
        assert_eq!(get("I").as_deref(), Some("vpc-1"));
        assert!(env.get("N").is_none(), "AWS::NoValue removes the key");
        assert_eq!(get("V").as_deref(), Some("svc-dev-table.amazonaws.com"));
    }

    #[test]
    fn unknown_and_unresolvable_references_are_located() {
        let mut t = tree("provider:\n  environment:\n    Q: !GetAtt Queue.Arn\n");
        let p = substitute(&mut t, &values()).unwrap_err();
        assert!(
            p.message.contains("the stack is not deployed"),
            "{}",
            p.message
        );
        assert_eq!(p.location.unwrap().start.line, 3);
        let mut t = tree("functions:\n  f:\n    environment:\n      Q: !Ref Nope\n");
        let p = substitute(&mut t, &values()).unwrap_err();
        assert!(p.message.contains("`Nope` is neither"), "{}", p.message);
        let mut t = tree("provider:\n  environment:\n    Q: !If [C, a, b]\n");
        let p = substitute(&mut t, &values()).unwrap_err();
        assert!(
            p.message.contains("`Fn::If` cannot be resolved"),
            "{}",
            p.message
        );
    }

    #[test]
    fn stand_ins_have_the_shape_validation_expects() {
        let mut v = values();
        v.stand_ins = true;
        v.account = None;
        let mut t = tree(
            "provider:\n  environment:\n    Q: !GetAtt Queue.Arn\n    U: !Ref Queue\n    S: !GetAtt [Table, StreamArn]\n",
        );
        substitute(&mut t, &v).unwrap();
        let env = t.at_path(&["provider", "environment"]).unwrap();
        assert_eq!(
            env.get("Q").and_then(Node::as_str),
            Some("arn:aws:sqs:eu-west-1:000000000000:Queue")
        );
        assert_eq!(
            env.get("U").and_then(Node::as_str),
            Some("https://sqs.eu-west-1.amazonaws.com/000000000000/Queue")
        );
        assert!(
            env.get("S")
                .and_then(Node::as_str)
                .unwrap()
                .contains(":table/Table/stream/")
        );
    }
}
