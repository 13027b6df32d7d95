//! Creates that AWS does not make idempotent — no client token, no unique name: an HTTP API, a
//! REST API, an integration, a route, a REST resource, a user pool, a statement added to a
//! resource policy. When AWS carries one out and its answer is lost (a dropped connection, a
//! 5xx from a front end, a timeout), sending it again makes a second one. So the SDK does not
//! retry these calls itself ([`no_retries`]); [`create_once`] retries them, and before resending
//! after an answer that may hide a success it looks for what the first call may have made.

use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{AwsError, call_err};

/// As many tries as the API Gateway clients allow otherwise, since its creates are the ones
/// throttled hardest (CreateRestApi: about one per 3 s per account).
const ATTEMPTS: u32 = 10;
const FIRST_DELAY: Duration = Duration::from_millis(200);
const LONGEST_DELAY: Duration = Duration::from_secs(20);

/// For a call's `config_override`: this call is retried by [`create_once`], not the SDK.
pub fn no_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::disabled()
}

/// Sends a clone of a fluent call with the SDK's retries off — `unretried!(call, Config)`, with
/// the service's `Config` type — for [`create_once`] to retry.
macro_rules! unretried {
    ($call:expr, $config:ty) => {
        $call
            .clone()
            .customize()
            .config_override(
                <$config>::builder().retry_config($crate::provider::aws::once::no_retries()),
            )
            .send()
    };
}
pub(crate) use unretried;

/// What a failed send means for sending it again.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// Refused before it was carried out (throttled): send again.
    Throttled,
    /// May have been carried out (no answer, or a server error): look first.
    Unknown,
    /// Refused for a reason a retry does not change.
    Final,
}

const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];

fn classify<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Failure {
    match e {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            if status == 429 || s.err().code().is_some_and(|c| THROTTLED.contains(&c)) {
                Failure::Throttled
            } else if status >= 500 {
                Failure::Unknown
            } else {
                Failure::Final
            }
        }
        // Sent, or maybe sent: no answer that says what happened.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Failure::Unknown
        }
        _ => Failure::Final,
    }
}

/// Sends a create (whose SDK retries are off) until it succeeds, throttling waited out with
/// growing pauses; after an answer that may hide a success, `look` is asked first for what the
/// lost call made (found by name and this service's tags, or by key within an API of ours),
/// and what it finds is taken as the create's result.
pub async fn create_once<T, E, S, SF, L, LF>(
    op: &str,
    res: &str,
    mut send: S,
    mut look: L,
) -> Result<T, AwsError>
where
    S: FnMut() -> SF,
    SF: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    L: FnMut() -> LF,
    LF: Future<Output = Result<Option<T>, AwsError>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1;
    loop {
        let e = match send().await {
            Ok(made) => return Ok(made),
            Err(e) => e,
        };
        let failure = classify(&e);
        if failure == Failure::Unknown
            && let Some(made) = look().await?
        {
            return Ok(made);
        }
        if failure == Failure::Final || attempt == ATTEMPTS {
            return Err(call_err(op, res)(e));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(LONGEST_DELAY);
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ServiceError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    use std::cell::Cell;

    #[derive(Debug)]
    struct Refused(ErrorMetadata);
    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0.code())
        }
    }
    impl std::error::Error for Refused {}
    impl ProvideErrorMetadata for Refused {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn answer(status: u16, code: &str) -> SdkError<Refused, HttpResponse> {
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        SdkError::ServiceError(
            ServiceError::builder()
                .source(Refused(ErrorMetadata::builder().code(code).build()))
                .raw(raw)
                .build(),
        )
    }

    #[test]
    fn answers_are_classified_by_whether_the_call_may_have_happened() {
        assert_eq!(
            classify(&answer(429, "TooManyRequestsException")),
            Failure::Throttled
        );
        assert_eq!(classify(&answer(400, "Throttling")), Failure::Throttled);
        assert_eq!(classify(&answer(500, "InternalFailure")), Failure::Unknown);
        assert_eq!(
            classify(&answer(503, "ServiceUnavailable")),
            Failure::Unknown
        );
        assert_eq!(classify(&answer(409, "ConflictException")), Failure::Final);
        assert_eq!(
            classify(&answer(400, "BadRequestException")),
            Failure::Final
        );
    }

    #[test]
    fn a_lost_answer_is_looked_for_before_sending_again_and_a_throttle_is_not() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        // Throttled once, then an answer lost; the look finds what the second send made.
        let (sent, looked) = (Cell::new(0), Cell::new(0));
        let made = rt.block_on(create_once(
            "CreateApi",
            "HTTP API x",
            || {
                sent.set(sent.get() + 1);
                let n = sent.get();
                async move {
                    match n {
                        1 => Err(answer(429, "TooManyRequestsException")),
                        _ => Err(answer(500, "InternalFailure")),
                    }
                }
            },
            || {
                looked.set(looked.get() + 1);
                async { Ok(Some("api-1")) }
            },
        ));
        assert_eq!(made.unwrap(), "api-1");
        assert_eq!((sent.get(), looked.get()), (2, 1));
        // Nothing found: sent again, and a final refusal is reported without another try.
        let sent = Cell::new(0);
        let made: Result<&str, _> = rt.block_on(create_once(
            "CreateApi",
            "HTTP API x",
            || {
                sent.set(sent.get() + 1);
                let n = sent.get();
                async move {
                    match n {
                        1 => Err(answer(502, "BadGateway")),
                        _ => Err(answer(400, "BadRequestException")),
                    }
                }
            },
            || async { Ok(None) },
        ));
        assert!(
            made.unwrap_err()
                .to_string()
                .contains("BadRequestException")
        );
        assert_eq!(sent.get(), 2);
    }
}
