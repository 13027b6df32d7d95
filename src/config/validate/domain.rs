//! serverless-domain-manager's `custom.customDomain`.

// The checker and the helpers every topic shares.
use super::*;

/// serverless-domain-manager's `custom.customDomain`: what sls builds (a custom domain, its API
/// mapping and Route 53 alias records), and the keys it would not honour, refused.
pub(super) fn custom_domain(c: &mut Checker, config: &Config) {
    if c.tree.at_path(&["custom", "customDomains"]).is_some() {
        c.error_key(
            &["custom", "customDomains"],
            "several custom domains (`customDomains`) are not built into sls yet",
        )
        .help = Some("use one `custom.customDomain`".into());
    }
    let at = ["custom", "customDomain"];
    let Some(Node {
        value: crate::config::yaml::Value::Map(entries),
        ..
    }) = c.tree.at_path(&at)
    else {
        if c.tree.at_path(&at).is_some() {
            c.error(
                &at,
                "`customDomain` is a mapping with at least `domainName`",
            );
        }
        return;
    };
    let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
    for key in &keys {
        let path = ["custom", "customDomain", key.as_str()];
        match key.as_str() {
            "domainName"
            | "basePath"
            | "stage"
            | "certificateName"
            | "certificateArn"
            | "createRoute53Record"
            | "createRoute53IPv6Record"
            | "endpointType"
            | "apiType"
            | "securityPolicy"
            | "hostedZoneId"
            | "hostedZonePrivate"
            | "enabled" => {}
            // sls makes the domain with the deploy and keeps it only while no one else maps it.
            "autoDomain" | "autoDomainWaitFor" | "preserveExternalPathMappings" => {}
            other => {
                c.error_key(
                    &path,
                    format!("`customDomain.{other}` is not built into sls"),
                )
                .help = Some("sls builds domainName, basePath, stage, certificateName/certificateArn, endpointType (EDGE or REGIONAL), apiType, securityPolicy, createRoute53Record, createRoute53IPv6Record, hostedZoneId and hostedZonePrivate; remove the key or keep the plugin and deploy with it".into());
            }
        }
    }
    let Some(d) = CustomDomain::of(config.custom.as_ref()) else {
        return;
    };
    let name = d.domain_name.clone().unwrap_or_default();
    let good = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
    };
    if name.is_empty() {
        c.error_key(&at, "`customDomain` has no `domainName`");
    } else if name.len() > 253 || !name.contains('.') || !name.split('.').all(good) {
        c.error(
            &["custom", "customDomain", "domainName"],
            format!("`{name}` is not a domain name"),
        );
    }
    let api = d.api_type.as_deref().unwrap_or("rest").to_ascii_lowercase();
    let endpoint = d
        .endpoint_type
        .as_deref()
        .unwrap_or("EDGE")
        .to_ascii_uppercase();
    if !["rest", "http", "websocket"].contains(&api.as_str()) {
        c.error(
            &["custom", "customDomain", "apiType"],
            format!("`{api}` is not rest, http or websocket"),
        );
    }
    match endpoint.as_str() {
        "REGIONAL" => {}
        "EDGE" if api == "rest" => {}
        "EDGE" => {
            c.error(
                &["custom", "customDomain", "endpointType"],
                format!("{api} APIs take regional custom domains only"),
            )
            .help = Some("set `endpointType: regional`".into());
        }
        other => {
            c.error(
                &["custom", "customDomain", "endpointType"],
                format!("`{other}` custom domains are not built into sls"),
            )
            .help = Some("use EDGE or REGIONAL".into());
        }
    }
    let events = |kind: &str| {
        config.functions.iter().flatten().any(|(_, f)| {
            f.events.iter().flatten().any(|e| {
                matches!(
                    (kind, e),
                    ("rest", Event::Http(_))
                        | ("http", Event::HttpApi(_))
                        | ("websocket", Event::Websocket(_))
                )
            })
        })
    };
    if ["rest", "http", "websocket"].contains(&api.as_str()) && !events(&api) {
        c.error(
            &["custom", "customDomain", "apiType"],
            format!("the custom domain maps the {api} API, and no function has an event of it"),
        )
        .help = Some("set `apiType` to the API the domain serves (rest: `http` events, http: `httpApi`, websocket: `websocket`)".into());
    }
    if let Some(stage) = d.stage.as_ref().filter(|s| **s != c.stage) {
        c.error(
            &["custom", "customDomain", "stage"],
            format!(
                "the domain would map stage `{stage}`, and this deploy is of stage `{}`",
                c.stage
            ),
        )
        .help =
            Some("sls maps the stage it deploys: remove `stage` or deploy with `--stage`".into());
    }
    if let Some(p) = d.security_policy.as_deref()
        && !["TLS_1_0", "TLS_1_2"].contains(&p)
    {
        c.error(
            &["custom", "customDomain", "securityPolicy"],
            format!("`{p}` is not TLS_1_0 or TLS_1_2"),
        );
    }
    if let Some(b) = d.base_path.as_deref()
        && b != "(none)"
        && (b.starts_with('/') || b.ends_with('/') || b.contains("//") || b.contains(' '))
    {
        c.error(
            &["custom", "customDomain", "basePath"],
            format!("`{b}` is not a base path"),
        )
        .help = Some("write it without slashes at either end, e.g. `v1`; `(none)` or no key maps the domain's root".into());
    }
}
