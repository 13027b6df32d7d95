//! One function's settings: handler and runtime, environment, logs, VPC, role; its events go
//! to [`super::events`].

// The checker and the helpers every topic shares.
use super::*;

/// Lambda refuses these environment variable names: the runtime sets them.
pub(super) const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Lambda's limit on the total size of a function's environment variables.
pub(super) const ENV_LIMIT_BYTES: usize = 4096;

pub(super) fn function(
    c: &mut Checker,
    config: &Config,
    name: &str,
    f: &Function,
    routes: &mut HashMap<String, (String, Option<Span>)>,
) {
    if let Some(m) = &f.module {
        let path = ["functions", name, "module"];
        let m = m.trim_end_matches('/');
        if m.starts_with('/') || m.split('/').any(|part| part == "..") {
            c.error(
                &path,
                format!("`{m}` is not a directory inside the service"),
            );
        } else if crate::config::runtime::module_of(config, f).is_none()
            && !m.is_empty()
            && m != "."
        {
            // As serverless-python-requirements: a module means something only for a Python
            // function packaged on its own.
            c.out.push(Problem::new(
                crate::diag::Severity::Note,
                format!("`module` of `{name}` has no effect: as with serverless-python-requirements, it applies to Python functions packaged individually (`package.individually: true`)"),
                c.key_span(&path),
            ));
        }
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        let span = c.key_span(&["functions", name]);
        c.out.push(
            Problem::error(format!("function name `{name}` is not valid"), span)
                .help("use only letters, digits, `-` and `_` (it becomes part of the Lambda function name)"),
        );
    }
    if f.image.is_some() {
        let p = c.error(
            &["functions", name, "image"],
            format!("function `{name}` uses a container image, which sls does not deploy"),
        );
        p.help = Some("give it a `handler` and a `runtime` instead".into());
        p.deploy_only = true;
        return;
    }
    let rt = crate::config::runtime::of(config, f);
    if let Some(own) = &f.runtime {
        runtime(c, &["functions", name, "runtime"], own);
    }
    match &f.handler {
        None => {
            c.error_key(&["functions", name], format!("function `{name}` has no `handler`"))
                .help = Some("add one, for example `handler: src/handler.main` (file src/handler.js, export main)".into());
        }
        Some(h) => {
            if let Err(why) = handler_syntax(h, rt) {
                c.error(
                    &["functions", name, "handler"],
                    format!("handler `{h}` is not valid for runtime {rt}: {why}"),
                )
                .help = Some(handler_help(rt).into());
            }
        }
    }
    let mut env_size = 0;
    for env in [config.provider.environment.as_ref(), f.environment.as_ref()]
        .into_iter()
        .flatten()
    {
        env_size += env.iter().map(|(k, v)| k.len() + v.0.len()).sum::<usize>();
    }
    if let Some(env) = &f.environment {
        env_names(c, &["functions", name, "environment"], env);
    }
    if env_size > ENV_LIMIT_BYTES {
        c.error_key(&["functions", name, "environment"], format!(
            "the environment of function `{name}` is {env_size} bytes; Lambda allows {ENV_LIMIT_BYTES} in total (provider and function together)"
        ))
        .help = Some("move large values to SSM Parameter Store or a file in the package".into());
    }
    if let Some(p) = &f.package {
        let individually = config
            .package
            .as_ref()
            .is_some_and(|sp| sp.individually == Some(true));
        package_section(c, &["functions", name, "package"], p, individually);
    }
    if let Some(target) = &f.on_error
        && !matches!(arn_service(target), Some("sns" | "sqs"))
    {
        c.error(
            &["functions", name, "onError"],
            format!("onError must be the ARN of an SNS topic or an SQS queue, got `{target}`"),
        )
        .help = Some("e.g. arn:aws:sqs:us-east-1:123456789012:failed-events".into());
    }
    for (key, target) in f
        .destinations
        .iter()
        .flat_map(|d| [("onSuccess", &d.on_success), ("onFailure", &d.on_failure)])
    {
        let Some(target) = target else { continue };
        let known = config
            .functions
            .as_ref()
            .is_some_and(|fs| fs.contains_key(target.as_str()));
        if !known
            && !matches!(
                arn_service(target),
                Some("sns" | "sqs" | "lambda" | "events")
            )
        {
            c.error(
                &["functions", name, "destinations", key],
                format!("destination `{target}` is neither a function of this service nor the ARN of an SNS topic, SQS queue, Lambda function or EventBridge bus"),
            );
        }
    }
    if let Some(role) = &f.role {
        role_arn(c, &["functions", name, "role"], role);
    }
    if let Some(st) = &f.iam_role_statements {
        statements(c, &["functions", name, "iamRoleStatements"], st);
    }
    if let Some(st) = f
        .iam
        .as_ref()
        .and_then(|i| i.role.as_ref())
        .and_then(|r| r.statements.as_ref())
    {
        statements(c, &["functions", name, "iam", "role", "statements"], st);
    }
    if f.role.is_some() && f.asks_own_role() {
        c.error(
            &["functions", name, "role"],
            format!("function `{name}` names an existing role and asks for a role of its own"),
        )
        .help = Some("keep `role` (and give that role the permissions) or the function's statements, not both".into());
    }
    if let Some(v) = &f.tracing {
        tracing_value(c, &["functions", name, "tracing"], v);
    }
    if let Some(l) = &f.logs {
        let provider_format = config
            .provider
            .logs
            .as_ref()
            .and_then(|p| p.lambda.as_ref())
            .and_then(|l| l.log_format.as_deref());
        lambda_logs(c, &["functions", name, "logs"], l, provider_format);
    }
    if let Some(v) = &f.vpc {
        vpc(c, &["functions", name, "vpc"], v);
    }
    if let Some(u) = &f.url {
        if let Some(a) = u.authorizer.as_deref().filter(|a| *a != "aws_iam") {
            c.error(
                &["functions", name, "url", "authorizer"],
                format!("a function URL's authorizer is `aws_iam` or nothing, got `{a}`"),
            );
        }
        if let Some(m) = u
            .invoke_mode
            .as_deref()
            .filter(|m| !matches!(*m, "BUFFERED" | "RESPONSE_STREAM"))
        {
            c.error(
                &["functions", name, "url", "invokeMode"],
                format!("invokeMode is BUFFERED or RESPONSE_STREAM, got `{m}`"),
            );
        }
    }
    // Provisioned concurrency is set on a published version (through the live alias).
    if config.provider.version_functions == Some(false) && f.provisioned_concurrency.is_some() {
        let p = c.error_key(
            &["functions", name, "provisionedConcurrency"],
            "provisionedConcurrency needs published versions, and `provider.versionFunctions` is false",
        );
        p.help = Some("remove `provisionedConcurrency`, or `versionFunctions: false`".into());
        p.deploy_only = true;
    }
    let timeout = f.timeout.or(config.provider.timeout).map_or(6, |t| t.0);
    for (i, ev) in f.events.iter().flatten().enumerate() {
        let idx = i.to_string();
        let base = ["functions", name, "events", idx.as_str()];
        event(c, name, &base, ev, timeout, routes);
    }
}

pub(super) fn env_names(c: &mut Checker, path: &[&str], env: &crate::config::model::Environment) {
    for key in env.keys() {
        let mut full = path.to_vec();
        full.push(key);
        let valid = key
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphabetic())
            && key
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if RESERVED_ENV.contains(&key.as_str()) {
            let span = c.key_span(&full);
            c.out.push(
                Problem::error(
                    format!("environment variable `{key}` is reserved by Lambda"),
                    span,
                )
                .help("Lambda sets it for every function; choose another name"),
            );
        } else if !valid {
            let span = c.key_span(&full);
            c.out.push(
                Problem::error(
                    format!("environment variable name `{key}` is not valid"),
                    span,
                )
                .help("start with a letter and use only letters, digits and `_`"),
            );
        }
    }
}

pub(super) const LOG_FORMATS: &[&str] = &["Text", "JSON"];

pub(super) const APPLICATION_LOG_LEVELS: &[&str] =
    &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

pub(super) const SYSTEM_LOG_LEVELS: &[&str] = &["DEBUG", "INFO", "WARN"];

/// Lambda's logging configuration: known values, levels only with JSON (Lambda refuses them on
/// text logs), and a log group name Logs accepts. `inherited_format` is the provider's, which a
/// function's own `logs` falls back to.
pub(super) fn lambda_logs(
    c: &mut Checker,
    path: &[&str],
    l: &crate::config::model::LambdaLogs,
    inherited_format: Option<&str>,
) {
    let at = |key: &'static str| {
        let mut p = path.to_vec();
        p.push(key);
        p
    };
    let one_of = |c: &mut Checker, key: &'static str, v: &Option<String>, allowed: &[&str]| {
        if let Some(v) = v
            && !allowed.contains(&v.as_str())
        {
            let mut msg = format!("`{key}` must be one of {}, got `{v}`", allowed.join(", "));
            if let Some(s) = did_you_mean(v, allowed.iter().copied()) {
                msg.push_str(&format!(" (did you mean `{s}`?)"));
            }
            c.error(&at(key), msg);
        }
    };
    one_of(c, "logFormat", &l.log_format, LOG_FORMATS);
    one_of(
        c,
        "applicationLogLevel",
        &l.application_log_level,
        APPLICATION_LOG_LEVELS,
    );
    one_of(c, "systemLogLevel", &l.system_log_level, SYSTEM_LOG_LEVELS);
    let format = l
        .log_format
        .as_deref()
        .or(inherited_format)
        .unwrap_or("Text");
    for (key, set) in [
        ("applicationLogLevel", l.application_log_level.is_some()),
        ("systemLogLevel", l.system_log_level.is_some()),
    ] {
        if set && format != "JSON" {
            c.error(&at(key), format!("`{key}` applies only to JSON logs"))
                .help = Some("set `logFormat: JSON` beside it, or remove the level".into());
        }
    }
    if let Some(g) = &l.log_group {
        let ok = !g.is_empty()
            && g.len() <= 512
            && g.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "._-/#".contains(ch));
        if !ok {
            c.error(&at("logGroup"), format!("`{g}` is not a log group name"))
                .help =
                Some("1–512 letters, digits and `. _ - / #`, e.g. /aws/lambda/shared".into());
        }
    }
    if let Some(class) = &l.log_group_class
        && !class.eq_ignore_ascii_case("standard")
    {
        refuse(
            c,
            &at("logGroupClass"),
            "log group classes other than standard",
        );
    }
}

/// A runtime Lambda does not know: refused with a did-you-mean and the supported ones.
pub(super) fn unknown_runtime(c: &mut Checker, path: &[&str], rt: &str) {
    use crate::config::runtime::Stage;
    let mut msg = format!("unknown runtime `{rt}`");
    let supported = crate::config::runtime::LIFECYCLES.iter().map(|l| l.id);
    if let Some(s) = did_you_mean(rt, supported) {
        msg.push_str(&format!(" (did you mean `{s}`?)"));
    }
    let today = crate::config::runtime::today();
    let current: Vec<&str> = crate::config::runtime::LIFECYCLES
        .iter()
        .filter(|l| l.stage(&today) == Stage::Supported)
        .map(|l| l.id)
        .collect();
    c.error(path, msg).help = Some(format!("supported runtimes: {}", current.join(", ")));
}

/// A runtime Lambda knows, with a warning once AWS has deprecated it (with its dates, so that a
/// deploy says before any call that Lambda will refuse to create or update the function). Old
/// runtimes are warned, not refused: `print` and `package` work on any service Serverless reads.
pub(super) fn runtime(c: &mut Checker, path: &[&str], rt: &str) {
    use crate::config::runtime::{Lifecycle, Stage};
    let Some(life) = Lifecycle::find(rt) else {
        unknown_runtime(c, path, rt);
        return;
    };
    let today = crate::config::runtime::today();
    let date = |d: Option<&str>| d.unwrap_or("a date AWS has not published").to_string();
    let msg = match life.stage(&today) {
        Stage::Supported => return,
        Stage::Deprecated => format!(
            "runtime `{rt}` is deprecated by AWS Lambda since {}; Lambda stops creating functions with it on {} and updating them on {}",
            date(life.deprecated),
            date(life.create_blocked),
            date(life.update_blocked)
        ),
        Stage::CreateBlocked => format!(
            "runtime `{rt}` is deprecated by AWS Lambda: it creates no new functions with it since {}, and stops updating them on {}",
            date(life.create_blocked),
            date(life.update_blocked)
        ),
        Stage::UpdateBlocked => format!(
            "runtime `{rt}` is deprecated by AWS Lambda: it neither creates nor updates functions with it since {} (they still run)",
            date(life.update_blocked)
        ),
    };
    let help = match life.successor(&today) {
        Some(next) => format!(
            "move to `{next}`; a deploy that creates or changes a function on `{rt}` is refused by AWS once those dates have passed"
        ),
        None => "move to a supported runtime".to_string(),
    };
    let span = c.span(path);
    c.out.push(Problem::warning(msg, span).help(help));
}

/// Checks the handler's form for the runtime's family.
pub fn handler_syntax(h: &str, runtime: &str) -> Result<(), &'static str> {
    if h.trim() != h || h.is_empty() || h.contains(char::is_whitespace) {
        return Err("it must not be empty or contain spaces");
    }
    let family = Family::of(runtime);
    // An OS-only runtime's handler is any word; so is an unknown family's (`go1.x` named an
    // executable, `bin/hello`).
    if matches!(family, Family::Provided | Family::Other) {
        return Ok(());
    }
    if matches!(family, Family::Java | Family::Dotnet) {
        return if h.contains("..") {
            Err("it contains `..`")
        } else {
            Ok(())
        };
    }
    if h.starts_with('/') || h.contains('\\') {
        return Err("the file part must be a relative path with `/` separators");
    }
    let Some((file, func)) = family.split_handler(h) else {
        return Err("expected `path/file.function`");
    };
    if file.is_empty() || file.ends_with('/') {
        return Err("the file part before the `.` is empty");
    }
    if file.split('/').any(|seg| seg == ".." || seg.is_empty()) {
        return Err("the file part must stay inside the service directory");
    }
    let ident = |name: &str| {
        name.chars()
            .next()
            .is_some_and(|ch| ch.is_alphabetic() || ch == '_' || ch == '$')
            && name
                .chars()
                .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '$')
    };
    // Node.js resolves `file.a.b` as export `a`'s property `b`; the others name one function.
    let names_ok = match family {
        Family::Node => func.split('.').all(ident),
        _ => ident(func),
    };
    if !names_ok {
        return Err("the part after the file's `.` must be the exported function's name");
    }
    Ok(())
}

pub(super) fn handler_help(rt: &str) -> &'static str {
    match Family::of(rt) {
        Family::Python => {
            "write `path/module.function`, e.g. `src/app.handler` for def handler() in src/app.py"
        }
        Family::Ruby => "write `path/file.method`, e.g. `handler.call` for def call in handler.rb",
        Family::Node | Family::Java | Family::Dotnet | Family::Provided | Family::Other => {
            "write `path/file.export`, e.g. `src/handler.main` for export main in src/handler.js"
        }
    }
}
