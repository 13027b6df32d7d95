//! The function kind's planner tests.

use super::super::tests::{actions, desired};
use super::*;

/// What AWS holds for `d`'s functions once deployed: each behind the alias at version 3.
pub fn converged(d: &Desired) -> BTreeMap<String, ObservedFunction> {
    d.functions
        .iter()
        .map(|f| {
            let of = ObservedFunction {
                arn: String::new(),
                owned: true,
                sha256: f.sha256.clone(),
                config: f.config.clone(),
                role: String::new(),
                tags: f.tags.clone(),
                alias: Some(ObservedVersion {
                    version: "3".into(),
                    sha256: f.sha256.clone(),
                    config: f.config.clone(),
                }),
                reserved_concurrency: None,
                async_invoke: f.async_invoke.clone(),
                provisioned_concurrency: f.provisioned_concurrency,
                url: f.url.clone().map(|spec| ObservedUrl {
                    url: format!("https://{}.lambda-url.eu-west-1.on.aws/", f.key),
                    spec,
                }),
                versions: None,
            };
            (f.name.clone(), of)
        })
        .collect()
}

fn run(d: &Desired, functions: BTreeMap<String, ObservedFunction>) -> Plan {
    let o = Observed {
        functions,
        ..Default::default()
    };
    let mut p = Plan::default();
    plan(d, &o, &mut p);
    p
}

#[test]
fn converged_functions_need_nothing() {
    let d = desired();
    assert!(run(&d, converged(&d)).is_empty());
}

#[test]
fn an_alias_behind_latest_is_moved_without_touching_code() {
    let d = desired();
    let mut o = converged(&d);
    o.get_mut("svc-dev-a")
        .unwrap()
        .alias
        .as_mut()
        .unwrap()
        .sha256 = "old".into();
    assert_eq!(actions(&run(&d, o)), ["publishVersion"]);
}

#[test]
fn code_and_config_changes_name_fields_but_never_environment_values() {
    let mut d = desired();
    let o = converged(&d);
    d.functions[0].sha256 = "new".into();
    d.functions[0].config.memory_size = 256;
    d.functions[0]
        .config
        .environment
        .insert("TOKEN".into(), "n3w-s3cret".into());
    let p = run(&d, o);
    assert_eq!(
        actions(&p),
        [
            "updateFunctionCode",
            "updateFunctionConfiguration",
            "publishVersion",
        ]
    );
    let shown: Vec<String> = p.steps.iter().map(|s| s.to_string()).collect();
    let all = format!("{shown:?}{}", serde_json::to_string(&p).unwrap());
    assert!(all.contains("memorySize 1024 → 256") && all.contains("changed: TOKEN"));
    assert!(!all.contains("s3cret"), "{all}");
}

#[test]
fn an_architecture_change_travels_with_the_code() {
    let mut d = desired();
    let o = converged(&d);
    d.functions[0].config.architecture = "arm64".into();
    let p = run(&d, o);
    assert_eq!(actions(&p), ["updateFunctionCode", "publishVersion"]);
    assert_eq!(
        p.steps[0].to_string(),
        "~ function svc-dev-a: architecture x86_64 → arm64"
    );
}

#[test]
fn asynchronous_invocation_is_set_changed_and_removed_on_the_live_alias() {
    let mut d = desired();
    let o = converged(&d);
    d.functions[0].async_invoke = Some(AsyncInvoke {
        maximum_retry_attempts: Some(0),
        on_failure: Some("function:svc-dev-b".into()),
        ..Default::default()
    });
    let p = run(&d, o);
    assert_eq!(actions(&p), ["putAsyncInvokeConfig"]);
    assert_eq!(
        p.steps[0].to_string(),
        "~ function svc-dev-a:live: asynchronous invocation maximumRetryAttempts default → 0, destinations.onFailure none → function:svc-dev-b"
    );
    // AWS answers with the destination's ARN: the same setting, nothing to do.
    let mut o = converged(&d);
    o.get_mut("svc-dev-a").unwrap().async_invoke = Some(AsyncInvoke {
        maximum_retry_attempts: Some(0),
        on_failure: Some("arn:aws:lambda:eu-west-1:1:function:svc-dev-b".into()),
        ..Default::default()
    });
    assert!(run(&d, o.clone()).is_empty());
    // Left out of the config: removed. On a staged deploy: untouched.
    d.functions[0].async_invoke = None;
    assert_eq!(actions(&run(&d, o.clone())), ["deleteAsyncInvokeConfig"]);
    d.alias = "next".into();
    assert!(!actions(&run(&d, o)).contains(&"deleteAsyncInvokeConfig".to_string()));
}

#[test]
fn a_function_url_is_created_changed_and_removed_with_its_grants() {
    let mut d = desired();
    let o = converged(&d);
    d.functions[0].url = Some(UrlSpec::public());
    let p = run(&d, o);
    assert_eq!(actions(&p), ["createFunctionUrl"]);
    // Public, with only the older grant (made before October 2025): both are made.
    let mut o = converged(&d);
    o.get_mut("svc-dev-a").unwrap().url = Some(ObservedUrl {
        url: "https://a".into(),
        spec: UrlSpec::public(),
    });
    let mut p = Plan::default();
    let mut observed = Observed {
        functions: o,
        ..Default::default()
    };
    observed.permissions.insert(
        "svc-dev-a".into(),
        [(URL_STATEMENT.to_string(), String::new())].into(),
    );
    plan(&d, &observed, &mut p);
    assert_eq!(
        p.steps[0].to_string(),
        "~ function URL for svc-dev-a:live: grants partial → public"
    );
    // Behind IAM: no public grant at all.
    d.functions[0].url.as_mut().unwrap().auth = "AWS_IAM".into();
    let mut p = Plan::default();
    plan(&d, &observed, &mut p);
    assert_eq!(
        p.steps[0].to_string(),
        "~ function URL for svc-dev-a:live: authorizer NONE → AWS_IAM, grants partial → none"
    );
    d.functions[0].url = None;
    let mut p = Plan::default();
    plan(&d, &observed, &mut p);
    assert_eq!(actions(&p), ["deleteFunctionUrl"]);
}

#[test]
fn provisioned_concurrency_is_planned_on_the_live_alias_with_its_cost() {
    let mut d = desired();
    let o = converged(&d);
    d.functions[0].provisioned_concurrency = Some(5);
    let p = run(&d, o);
    assert_eq!(
        p.steps[0].to_string(),
        // 5 instances of 1 GB for 3600 s at Ireland's $0.0000046460 per GB-s.
        "~ function svc-dev-a:live: provisionedConcurrency none → 5 (about $0.084 an hour at eu-west-1 prices)"
    );
    let mut o = converged(&d);
    assert!(run(&d, o.clone()).is_empty());
    d.functions[0].provisioned_concurrency = None;
    assert_eq!(actions(&run(&d, o.clone())), ["setProvisionedConcurrency"]);
    // A staged deploy leaves the live alias' instances alone.
    d.alias = "next".into();
    o.get_mut("svc-dev-a").unwrap().provisioned_concurrency = Some(5);
    assert!(!actions(&run(&d, o)).contains(&"setProvisionedConcurrency".to_string()));
}

#[test]
fn retention_prunes_the_oldest_free_versions_counting_the_one_the_alias_leaves() {
    let mut d = desired();
    let mut o = converged(&d);
    d.version_retention = Some(2);
    d.functions[0].sha256 = "new".into();
    let versions = ObservedVersions {
        published: ["1", "2", "3", "4", "5", "10"].map(String::from).to_vec(),
        by_alias: BTreeMap::from([
            ("live".into(), BTreeSet::from(["3".into()])),
            ("next".into(), BTreeSet::from(["4".into(), "1".into()])),
        ]),
    };
    for of in o.values_mut() {
        of.versions = Some(versions.clone());
    }
    let p = run(&d, o.clone());
    let deleted = |name: &str| -> Vec<String> {
        p.steps
            .iter()
            .filter_map(|s| match s {
                super::super::Step::Function(FunctionStep::DeleteVersion {
                    function,
                    version,
                    ..
                }) if function == name => Some(version.clone()),
                _ => None,
            })
            .collect()
    };
    // a publishes, so live's 3 is freed: free 2, 3, 5, 10 → keep 10 and 5.
    assert_eq!(deleted("a"), ["2", "3"]);
    // b is unchanged: live keeps 3; free 2, 5, 10 → keep 10 and 5.
    assert_eq!(deleted("b"), ["2"]);
    d.version_retention = None;
    assert!(!actions(&run(&d, o)).contains(&"deleteVersion".to_string()));
}

#[test]
fn functions_left_out_are_deleted_if_ours_and_left_alone_if_not() {
    let mut d = desired();
    let mut o = converged(&d);
    o.insert(
        "svc-dev-theirs".into(),
        ObservedFunction {
            owned: false,
            ..o["svc-dev-a"].clone()
        },
    );
    d.functions.truncate(1);
    let p = run(&d, o);
    assert_eq!(actions(&p), ["deleteFunction"]);
    assert_eq!(p.left_alone, ["Lambda function svc-dev-theirs"]);
}
