//! `sls offline`'s settings, as serverless-offline users give them: flags on the command line,
//! or the same names under `custom.serverless-offline` in serverless.yml (a flag wins). Each
//! setting serverless-offline has and sls does not act on is named in one line, never dropped.

use serde_json::Value;

/// The settings a command line gives; `None` where it gave none.
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub host: Option<String>,
    pub http_port: Option<u16>,
    pub websocket_port: Option<u16>,
    pub lambda_port: Option<u16>,
    pub alb_port: Option<u16>,
    pub prefix: Option<String>,
    pub no_prepend_stage_in_url: Option<bool>,
    pub no_timeout: Option<bool>,
    pub no_auth: Option<bool>,
    pub local_environment: Option<bool>,
    pub reload_handler: Option<bool>,
    pub cors_allow_origin: Option<String>,
    pub cors_allow_headers: Option<String>,
    pub cors_exposed_headers: Option<String>,
    pub cors_disallow_credentials: Option<bool>,
    /// serverless-offline flags given that sls does not act on.
    pub ignored: Vec<String>,
}

/// What `sls offline` runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub host: String,
    pub http_port: u16,
    pub websocket_port: u16,
    /// The Lambda API (`Invoke`), for handlers that invoke other functions with an AWS SDK.
    pub lambda_port: u16,
    /// The `alb` events' rules, as a load balancer's listener.
    pub alb_port: u16,
    /// `/{prefix}` before every route, or empty.
    pub prefix: String,
    /// REST routes under `/{stage}`, as on the deployed stage's URL.
    pub stage_in_url: bool,
    pub no_timeout: bool,
    pub no_auth: bool,
    pub local_environment: bool,
    pub reload_handler: bool,
    /// Overrides of the CORS answers of REST routes with `cors`, where given.
    pub rest_cors: RestCors,
}

/// serverless-offline's `corsAllowOrigin`, `corsAllowHeaders`, `corsExposedHeaders` and
/// `corsDisallowCredentials`, as far as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestCors {
    pub allow_origins: Option<Vec<String>>,
    pub allow_headers: Option<String>,
    pub exposed_headers: Option<String>,
    pub allow_credentials: Option<bool>,
}

impl RestCors {
    pub fn any(&self) -> bool {
        *self != RestCors::default()
    }
}

/// serverless-offline's settings that sls reads, by their name in `custom.serverless-offline`.
const READ: &[&str] = &[
    "host",
    "httpPort",
    "websocketPort",
    "lambdaPort",
    "albPort",
    "prefix",
    "noPrependStageInUrl",
    "noTimeout",
    "noAuth",
    "localEnvironment",
    "reloadHandler",
    "corsAllowOrigin",
    "corsAllowHeaders",
    "corsExposedHeaders",
    "corsDisallowCredentials",
];

/// Its flags among [`NOT_USED`] that take a value.
const VALUED: &[&str] = &[
    "dockerHost",
    "dockerHostServicePath",
    "dockerNetwork",
    "layersDir",
    "terminateIdleLambdaTime",
    "httpsProtocol",
    "preLoadModules",
    "webSocketHardTimeout",
    "webSocketIdleTimeout",
    "rubyWatchDirs",
];

/// The flag sls's command line takes in place of any of [`NOT_USED`] (`--useDocker` becomes
/// `--ignored=useDocker`), so that a serverless-offline command line still starts.
pub const IGNORED_FLAG: &str = "--ignored";

/// `args` with serverless-offline's flags that sls does not act on (and their values) turned
/// into [`IGNORED_FLAG`]s, when the command is `offline`; also drops serverless-offline's
/// `start` word (`serverless offline start`).
pub fn rewrite_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    // The subcommand: the first word that is neither a flag nor a flag's value.
    let mut at = None;
    let mut value_next = false;
    for (i, a) in args.iter().enumerate().skip(1) {
        let t = a.to_string_lossy();
        if t.starts_with('-') {
            value_next = !t.contains('=');
            continue;
        }
        if value_next {
            value_next = false;
            continue;
        }
        at = (t == "offline").then_some(i);
        break;
    }
    let Some(at) = at else {
        return args;
    };
    let mut out: Vec<std::ffi::OsString> = args[..=at].to_vec();
    let mut rest = args[at + 1..].iter();
    let mut first = true;
    while let Some(a) = rest.next() {
        let text = a.to_string_lossy();
        if first && text == "start" {
            first = false;
            continue;
        }
        first = false;
        let flag = text.strip_prefix("--").unwrap_or_default();
        let (name, inline) = match flag.split_once('=') {
            Some((n, _)) => (n, true),
            None => (flag, false),
        };
        if NOT_USED.iter().any(|(n, _)| *n == name) {
            if VALUED.contains(&name) && !inline {
                rest.next();
            }
            out.push(format!("{IGNORED_FLAG}={name}").into());
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// Its settings that sls has nothing to do with, and why: one line each when set.
const NOT_USED: &[(&str, &str)] = &[
    (
        "useDocker",
        "sls runs every function in a local process, never in Docker",
    ),
    (
        "useInProcess",
        "sls runs each function in its own process, as Lambda does",
    ),
    (
        "useChildProcesses",
        "sls runs each function in its own process already",
    ),
    (
        "useWorkerThreads",
        "sls runs each function in its own process, as Lambda does",
    ),
    ("dockerHost", "sls does not use Docker"),
    ("dockerHostServicePath", "sls does not use Docker"),
    ("dockerNetwork", "sls does not use Docker"),
    ("dockerReadOnly", "sls does not use Docker"),
    ("layersDir", "sls unpacks layers under .serverless/local"),
    (
        "terminateIdleLambdaTime",
        "idle workers stay warm until sls stops",
    ),
    ("httpsProtocol", "sls serves plain HTTP"),
    (
        "resourceRoutes",
        "proxy resources of `resources:` are not served",
    ),
    ("preLoadModules", "each worker loads its own modules"),
    (
        "printOutput",
        "handlers' output always goes to sls's stderr",
    ),
    ("noSponsor", "sls prints no sponsor message"),
    ("disableCookieValidation", "sls does not validate cookies"),
    ("enforceSecureCookies", "sls does not validate cookies"),
    (
        "ignoreJWTSignature",
        "authorizers are not emulated by sls offline",
    ),
    (
        "webSocketHardTimeout",
        "WebSocket connections are not timed out",
    ),
    (
        "webSocketIdleTimeout",
        "WebSocket connections are not timed out",
    ),
    ("rubyWatchDirs", "Ruby functions do not run locally"),
    ("noStripTrailingSlashInUrl", "paths are matched as given"),
];

impl Settings {
    /// The settings of `given` over `custom.serverless-offline` over serverless-offline's
    /// defaults (but the host: 127.0.0.1, so nothing listens beyond this machine unasked), with
    /// a line for each setting found that sls does not act on or cannot read.
    pub fn resolve(given: &Given, custom: Option<&Value>) -> (Settings, Vec<String>) {
        let mut notes = Vec::new();
        for name in &given.ignored {
            let why = NOT_USED
                .iter()
                .find(|(n, _)| n == name)
                .map_or("sls does not act on it", |(_, why)| why);
            notes.push(format!("--{name} has no effect: {why}"));
        }
        let section = custom
            .and_then(|c| c.get("serverless-offline"))
            .and_then(Value::as_object);
        if let Some(s) = section {
            for (k, _) in s {
                if READ.contains(&k.as_str()) {
                    continue;
                }
                match NOT_USED.iter().find(|(name, _)| name == k) {
                    Some((_, why)) => notes.push(format!(
                        "custom.serverless-offline.{k} has no effect: {why}"
                    )),
                    None => notes.push(format!(
                        "custom.serverless-offline.{k} is not a setting sls offline knows; ignored"
                    )),
                }
            }
        }
        let read = |key: &str| -> Option<&Value> { section.and_then(|s| s.get(key)) };
        let mut bad = Vec::new();
        let mut text = |key: &'static str, flag: &Option<String>| -> Option<String> {
            flag.clone().or_else(|| match read(key)? {
                Value::String(s) => Some(s.clone()),
                v @ (Value::Number(_) | Value::Bool(_)) => Some(v.to_string()),
                _ => {
                    bad.push(key);
                    None
                }
            })
        };
        let host = text("host", &given.host);
        let prefix = text("prefix", &given.prefix);
        let cors_origin = text("corsAllowOrigin", &given.cors_allow_origin);
        let cors_headers = text("corsAllowHeaders", &given.cors_allow_headers);
        let cors_exposed = text("corsExposedHeaders", &given.cors_exposed_headers);
        let mut port = |key: &'static str, flag: Option<u16>, default: u16| -> u16 {
            flag.or_else(|| {
                let v = read(key)?;
                let n = v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .and_then(|n| u16::try_from(n).ok());
                if n.is_none() {
                    bad.push(key);
                }
                n
            })
            .unwrap_or(default)
        };
        let http_port = port("httpPort", given.http_port, 3000);
        let websocket_port = port("websocketPort", given.websocket_port, 3001);
        let lambda_port = port("lambdaPort", given.lambda_port, 3002);
        let alb_port = port("albPort", given.alb_port, 3003);
        let mut switch = |key: &'static str, flag: Option<bool>| -> bool {
            flag.or_else(|| {
                let v = read(key)?;
                let b = v.as_bool().or_else(|| match v.as_str() {
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    _ => None,
                });
                if b.is_none() {
                    bad.push(key);
                }
                b
            })
            .unwrap_or(false)
        };
        let no_prepend = switch("noPrependStageInUrl", given.no_prepend_stage_in_url);
        let no_timeout = switch("noTimeout", given.no_timeout);
        let no_auth = switch("noAuth", given.no_auth);
        let local_environment = switch("localEnvironment", given.local_environment);
        let reload_handler = switch("reloadHandler", given.reload_handler);
        let disallow = given.cors_disallow_credentials.or_else(|| {
            section
                .and_then(|s| s.get("corsDisallowCredentials"))
                .and_then(Value::as_bool)
        });
        for key in bad {
            notes.push(format!(
                "custom.serverless-offline.{key} is not a value of the kind it takes; the default is used"
            ));
        }
        let list = |s: String| -> Vec<String> {
            s.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        };
        let prefix = prefix
            .map(|p| p.trim_matches('/').to_string())
            .filter(|p| !p.is_empty())
            .map(|p| format!("/{p}"))
            .unwrap_or_default();
        let host = match host.as_deref() {
            // serverless-offline's default name; sls listens on the address it stands for.
            None | Some("localhost") => "127.0.0.1".to_string(),
            Some(h) => h.to_string(),
        };
        let settings = Settings {
            host,
            http_port,
            websocket_port,
            lambda_port,
            alb_port,
            prefix,
            stage_in_url: !no_prepend,
            no_timeout,
            no_auth,
            local_environment,
            reload_handler,
            rest_cors: RestCors {
                allow_origins: cors_origin.map(list),
                allow_headers: cors_headers,
                exposed_headers: cors_exposed,
                allow_credentials: disallow.map(|d| !d),
            },
        };
        (settings, notes)
    }

    /// How the workers of this run differ from Lambda's.
    pub fn running(&self) -> super::Running {
        super::Running {
            marker: "IS_OFFLINE",
            whole_environment: self.local_environment,
            no_timeout: self.no_timeout,
            fresh_workers: self.reload_handler,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serverless_offline_command_lines_start() {
        let args = |s: &str| -> Vec<std::ffi::OsString> { s.split(' ').map(Into::into).collect() };
        assert_eq!(
            rewrite_args(args(
                "sls --stage dev offline start --useDocker --dockerHost h --httpPort 4000 --layersDir=x"
            )),
            args(
                "sls --stage dev offline --ignored=useDocker --ignored=dockerHost --httpPort 4000 --ignored=layersDir"
            )
        );
        // Another command's words are left alone.
        assert_eq!(
            rewrite_args(args("sls invoke local -f offline --useDocker")),
            args("sls invoke local -f offline --useDocker")
        );
    }

    #[test]
    fn defaults_are_serverless_offlines_but_the_host() {
        let (s, notes) = Settings::resolve(&Given::default(), None);
        assert_eq!(
            (
                s.host.as_str(),
                s.http_port,
                s.websocket_port,
                s.lambda_port
            ),
            ("127.0.0.1", 3000, 3001, 3002)
        );
        assert!(s.stage_in_url && s.prefix.is_empty() && !s.rest_cors.any());
        assert!(notes.is_empty());
    }

    #[test]
    fn flags_win_over_custom_settings_and_unknown_ones_are_named() {
        let custom = json!({"serverless-offline": {
            "httpPort": 4000, "lambdaPort": "4002", "noPrependStageInUrl": true,
            "prefix": "/api/", "useDocker": true, "colour": "blue", "noTimeout": "yes",
            "corsAllowOrigin": "http://a.example, http://b.example",
        }});
        let given = Given {
            http_port: Some(5000),
            ..Given::default()
        };
        let (s, notes) = Settings::resolve(&given, Some(&custom));
        assert_eq!((s.http_port, s.lambda_port), (5000, 4002));
        assert!(!s.stage_in_url);
        assert_eq!(s.prefix, "/api");
        assert!(!s.no_timeout);
        assert_eq!(
            s.rest_cors.allow_origins,
            Some(vec!["http://a.example".into(), "http://b.example".into()])
        );
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("useDocker has no effect")));
        assert!(notes.iter().any(|n| n.contains("colour is not a setting")));
        assert!(notes.iter().any(|n| n.contains("noTimeout is not a value")));
    }
}
