//! Counts every request sent to AWS (retries included), by service and operation, so that
//! `--json` can report them and tests can prove that a no-op deploy changes nothing.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

/// The tally reported with `--json`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub total: usize,
    pub mutating: usize,
    pub operations: Vec<String>,
}

impl CallLog {
    pub fn tally(&self) -> Tally {
        let ops = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Tally {
            total: ops.len(),
            mutating: ops.iter().filter(|o| is_mutating(o)).count(),
            operations: ops,
        }
    }
}

/// Reads are Get*, List*, Describe*; everything else changes something.
pub fn is_mutating(op: &str) -> bool {
    let name = op.rsplit('.').next().unwrap_or(op);
    !["Get", "List", "Describe"]
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
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{}.{}", m.service(), m.name()));
        }
        Ok(())
    }
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
    }
}
