//! Counts every request sent to AWS (retries included), by service and operation, so that
//! `--json` can report them and tests can prove that a no-op deploy changes nothing; and says
//! once per operation when AWS throttles it, so that a step waiting out a quota is explained.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

#[derive(Clone, Default)]
pub struct CallLog(Arc<Mutex<Calls>>);

/// Where a throttling notice goes (the progress display).
pub type Notify = Arc<dyn Fn(String) + Send + Sync>;

/// Notices as plain lines on stderr: before and after a progress display.
pub fn to_stderr() -> Notify {
    Arc::new(|line| eprintln!("{line}"))
}

#[derive(Default)]
struct Calls {
    ops: Vec<String>,
    /// Operations already said to be throttled in this run.
    throttled: BTreeSet<String>,
    notify: Option<Notify>,
}

impl std::fmt::Debug for CallLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CallLog").field(&self.tally()).finish()
    }
}

/// The tally reported with `--json`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub total: usize,
    pub mutating: usize,
    pub operations: Vec<String>,
}

impl CallLog {
    fn calls(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where to say that an operation is being throttled.
    pub fn on_throttle(&self, notify: Notify) {
        self.calls().notify = Some(notify);
    }

    /// Says `text` once per `key` in this run (a quota being waited out).
    pub fn say_once(&self, key: &str, text: String) {
        let notify = {
            let mut calls = self.calls();
            if !calls.throttled.insert(key.to_string()) {
                return;
            }
            calls.notify.clone()
        };
        // Before any progress display exists (the first reads), straight to stderr.
        notify.unwrap_or_else(to_stderr)(text);
    }

    pub fn tally(&self) -> Tally {
        let ops = self.calls().ops.clone();
        Tally {
            total: ops.len(),
            mutating: ops.iter().filter(|o| is_mutating(o)).count(),
            operations: ops,
        }
    }
}

/// Reads are Get*, List*, Describe*, Head*; everything else changes something — except SSM's
/// calls, which read variables or take and give back the lease: it guards the service and is
/// not part of it, so a no-op deploy still counts 0 changing calls.
pub fn is_mutating(op: &str) -> bool {
    let (service, name) = op.rsplit_once('.').unwrap_or(("", op));
    if service.eq_ignore_ascii_case("ssm") {
        return false;
    }
    !["Get", "List", "Describe", "Head"]
        .iter()
        .any(|p| name.starts_with(p))
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "sls-call-log"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            self.calls()
                .ops
                .push(format!("{}.{}", m.service(), m.name()));
        }
        Ok(())
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let r = context.response();
        let status = r.status().as_u16();
        // JSON services name their error in a header; 429 is API Gateway's and Lambda's answer.
        let kind = r.headers().get("x-amzn-errortype").unwrap_or_default();
        let throttled =
            status == 429 || kind.starts_with("TooManyRequests") || kind.starts_with("Throttling");
        let Some(m) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        if !throttled {
            return Ok(());
        }
        let op = format!("{}.{}", m.service(), m.name());
        let notify = {
            let mut calls = self.calls();
            if !calls.throttled.insert(op.clone()) {
                return Ok(());
            }
            calls.notify.clone()
        };
        if let Some(notify) = notify {
            notify(throttle_notice(m.service(), m.name()));
        }
        Ok(())
    }
}

/// What a user is told while a step waits out a quota.
fn throttle_notice(service: &str, op: &str) -> String {
    let api_gateway = service
        .to_ascii_lowercase()
        .replace(' ', "")
        .contains("apigateway");
    let why = match api_gateway {
        true => {
            "API Gateway's per-account quotas are slow (about one CreateRestApi per 30 s, one CreateDeployment per 5 s)"
        }
        false => "the account's request rate is over its quota",
    };
    format!("  … {service} is throttling {op}: waiting it out with backoff ({why})")
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_and_writes_are_told_apart() {
        assert!(!super::is_mutating("Lambda.GetFunction"));
        assert!(!super::is_mutating("ApiGatewayV2.GetApis"));
        assert!(!super::is_mutating("Iam.ListAttachedRolePolicies"));
        assert!(super::is_mutating("Lambda.UpdateFunctionCode"));
        assert!(super::is_mutating("Lambda.PublishVersion"));
        assert!(!super::is_mutating("S3.HeadBucket"));
        assert!(!super::is_mutating("SSM.PutParameter"), "the lease");
    }
}
