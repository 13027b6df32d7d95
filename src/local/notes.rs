//! What `sls offline` does not emulate in a config, one line each, said at start: what a route
//! would do on AWS that it does not do here, and the events that only AWS fires.

use std::collections::BTreeMap;

use super::settings::Settings;
use crate::config::Config;
use crate::config::model::Event;

/// The lines, in config order; events of the same kind that only AWS fires are counted in one.
pub fn not_emulated(config: &Config, stage: &str, s: &Settings) -> Vec<String> {
    // Models that do not compile leave their route unvalidated: said, never a stop.
    let mut lines = super::gateway::validate::Validation::of(config).1;
    let mut fired_by_aws: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
    let rest = |method: &str, path: &str| {
        let stage = match s.stage_in_url {
            true => format!("/{stage}"),
            false => String::new(),
        };
        format!(
            "{} {}{stage}/{}",
            method.to_uppercase(),
            s.prefix,
            path.trim_start_matches('/')
        )
    };
    let http = |method: &str, path: &str| {
        let method = if method == "*" { "ANY" } else { method };
        format!("{} {}{path}", method.to_uppercase(), s.prefix)
    };
    // An authorizer that runs here needs no line, unless `noAuth` turns it off.
    let says = |runs: Result<super::gateway::auth::Authorizer, String>| match (runs, s.no_auth) {
        (_, true) => Some("authorizer not run (--noAuth): the route is open".to_string()),
        (Ok(_), false) => None,
        (Err(why), false) => Some(format!("authorizer not run: {why}; the route is open")),
    };
    for (key, f) in config.functions.iter().flatten() {
        for e in f.events.iter().flatten() {
            match e {
                Event::Http(h) => {
                    let route = rest(&h.method, &h.path);
                    if h.authorizer.is_some()
                        && let Some(line) = says(super::gateway::auth::rest(config, h))
                    {
                        lines.push(format!("{route}: {line}"));
                    }
                    if h.private == Some(true) && s.no_auth {
                        lines.push(format!("{route}: API key not checked (--noAuth)"));
                    }
                    if h.integration
                        .as_deref()
                        .is_some_and(|i| i.eq_ignore_ascii_case("lambda"))
                    {
                        lines.push(format!(
                            "{route}: `integration: lambda` served with Serverless' default templates (custom ones not applied)"
                        ));
                    }
                    // Schemas and required parameters are validated (gateway::validate).
                    if h.request.as_ref().is_some_and(|r| !r["template"].is_null()) {
                        lines.push(format!(
                            "{route}: `request.template` not applied locally (Serverless' default templates are)"
                        ));
                    }
                    if h.is_async == Some(true) {
                        lines.push(format!(
                            "{route}: `async` not emulated: answered when the function returns"
                        ));
                    }
                }
                Event::HttpApi(h) => {
                    let route = http(&h.method, &h.path);
                    let found = h
                        .authorizer
                        .as_ref()
                        .map(|_| super::gateway::auth::http(config, h));
                    if let Some(Ok(a)) = &found
                        && let super::gateway::auth::Kind::Jwt { .. } = a.kind
                        && !s.no_auth
                    {
                        lines.push(format!(
                            "{route}: JWT authorizer `{}` checks the token's issuer, audience, expiry and scopes, not its signature",
                            a.name
                        ));
                    } else if let Some(line) = found.and_then(&says) {
                        lines.push(format!("{route}: {line}"));
                    }
                }
                Event::Websocket(w) => {
                    if w.authorizer.is_some() {
                        let runs = match w.route.as_str() {
                            "$connect" => super::gateway::auth::websocket(config, w),
                            _ => Err("API Gateway runs authorizers on `$connect` only".into()),
                        };
                        if let Some(line) = says(runs) {
                            lines.push(format!("websocket {}: {line}", w.route));
                        }
                    }
                }
                // Served, or fired with --schedules.
                Event::Schedule(_) => {}
                Event::Sqs(_) => fired_by_aws.entry("sqs").or_default().push(key),
                Event::Sns(_) => fired_by_aws.entry("sns").or_default().push(key),
                Event::S3(_) => fired_by_aws.entry("s3").or_default().push(key),
                Event::Stream(_) => fired_by_aws.entry("stream").or_default().push(key),
                Event::EventBridge(_) | Event::CloudwatchEvent(_) => {
                    fired_by_aws.entry("eventBridge").or_default().push(key)
                }
                Event::AlexaSkill(_) | Event::AlexaSmartHome(_) => {
                    fired_by_aws.entry("alexa").or_default().push(key)
                }
                Event::CloudwatchLog(_) => {
                    fired_by_aws.entry("cloudwatchLog").or_default().push(key)
                }
                Event::CognitoUserPool(_) => {
                    fired_by_aws.entry("cognitoUserPool").or_default().push(key)
                }
                Event::Msk(_) | Event::Kafka(_) => {
                    fired_by_aws.entry("kafka").or_default().push(key)
                }
                Event::Activemq(_) | Event::Rabbitmq(_) => {
                    fired_by_aws.entry("mq").or_default().push(key)
                }
                // Served on --alb-port.
                Event::Alb(_) => {}
                Event::Unsupported(_) => fired_by_aws.entry("other").or_default().push(key),
            }
        }
    }
    for (kind, mut functions) in fired_by_aws {
        functions.dedup();
        let sample = match kind {
            "sqs" | "sns" | "eventBridge" | "kafka" => {
                format!(" --event {}", kind.to_lowercase())
            }
            "s3" => " --event s3:put".to_string(),
            "stream" => " --event dynamodb".to_string(),
            "cognitoUserPool" => " --event cognito".to_string(),
            "mq" => " --event rabbitmq".to_string(),
            _ => String::new(),
        };
        let first = functions[0];
        lines.push(format!(
            "{kind} events ({}) are not fired locally: run one with `sls invoke local -f {first}{sample}`",
            functions.join(", ")
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::settings::Given;

    fn config(yaml: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        crate::config::load(&crate::config::LoadOptions {
            purpose: crate::config::Purpose::Read,
            cwd: dir.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap()
        .config
    }

    #[test]
    fn each_thing_not_emulated_is_one_line() {
        let c = config(
            "service: s\nprovider:\n  name: aws\nfunctions:\n  a:\n    handler: h.a\n    events:\n      - http:\n          method: get\n          path: hello\n          authorizer: auth\n          private: true\n      - httpApi:\n          method: '*'\n          path: /x\n          authorizer:\n            name: jwt\n      - sqs: arn:aws:sqs:us-east-1:1:q\n  b:\n    handler: h.b\n    events:\n      - sqs: arn:aws:sqs:us-east-1:1:r\n",
        );
        let (s, _) = Settings::resolve(&Given::default(), None);
        assert_eq!(
            not_emulated(&c, "dev", &s),
            [
                "GET /dev/hello: authorizer not run: `auth` is not a function of this service; the route is open",
                "ANY /x: authorizer not run: `jwt` is not in `provider.httpApi.authorizers`; the route is open",
                "sqs events (a, b) are not fired locally: run one with `sls invoke local -f a --event sqs`",
            ]
        );
    }
}
