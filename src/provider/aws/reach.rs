//! Whether AWS can be reached at all, said early and plainly. A connection that cannot be made
//! (refused, no such host, the connect timeout) is not retried: the SDK would retry it as a
//! transient fault with growing waits, call after call (a wrong `AWS_ENDPOINT_URL` made
//! `deploy --dry-run` take 62–77 s and `info` 96 s, silently). Such a failure becomes a
//! "user" connector error, which the SDK does not retry, naming the endpoint; a connection
//! that breaks once made (a lost answer) stays a transient fault and is retried as before.
//! While the first answer from an endpoint is slow in coming, one line says which endpoint sls
//! is waiting for; an attempt that stays unanswered is given up after [`attempt_timeout`].

use std::time::Duration;

use aws_smithy_runtime_api::client::result::ConnectorError;

/// How long the first request may go unanswered before sls says which endpoint it waits for.
pub const NOTICE_AFTER: Duration = Duration::from_secs(1);

/// The connect timeout: the SDK's default (3.1 s), set here so that the docs can name it.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// How long one attempt of a call may go unanswered before it is given up, as a transient
/// fault the client's retry policy retries: a minute, plus the time to send its body at 64 KiB/s
/// (an inline 50 MB zip on a slow link). Every call sls makes answers in seconds; waiting for
/// AWS (a function to become active, a stack to settle) is polling by sls, each poll a short
/// call. So an attempt past this is a hung connection, not a slow AWS.
pub fn attempt_timeout(body_bytes: u64) -> Duration {
    Duration::from_secs(60) + Duration::from_secs(body_bytes / (64 * 1024))
}

/// A connection to `endpoint` could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {endpoint} ({why})")]
pub struct Unreachable {
    pub endpoint: String,
    pub why: String,
}

/// `scheme://host[:port]` of a request's URI, for messages.
pub fn endpoint_of(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or(rest);
            format!("{scheme}://{host}")
        }
        None => uri.to_string(),
    }
}

/// Why the connection was never made, when that is what `e` says; None for a connection that
/// broke after it was made, or any other fault.
pub fn never_connected(e: &ConnectorError) -> Option<String> {
    let mut texts = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        texts.push(c.to_string());
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionRefused | AddrNotAvailable | HostUnreachable | NetworkUnreachable
            ) {
                return Some(lowercase_first(&io.to_string()));
            }
        }
        cause = c.source();
    }
    let all = texts.join(": ").to_lowercase();
    if all.contains("dns error") || all.contains("failed to lookup address") {
        return Some("no such host".into());
    }
    if e.is_timeout() && all.contains("connect") {
        return Some(format!(
            "no connection within {:.1} s",
            CONNECT_TIMEOUT.as_secs_f64()
        ));
    }
    if all.contains("client error (connect)") {
        return Some(texts.last().cloned().unwrap_or_default());
    }
    None
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_scheme_and_host() {
        assert_eq!(
            endpoint_of("https://lambda.us-east-1.amazonaws.com/2015-03-31/functions?x=1"),
            "https://lambda.us-east-1.amazonaws.com"
        );
        assert_eq!(endpoint_of("http://127.0.0.1:9/"), "http://127.0.0.1:9");
    }

    #[test]
    fn a_refused_connection_is_never_connected_and_a_reset_one_is_not() {
        let refused = ConnectorError::io(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert!(never_connected(&refused).is_some());
        let reset = ConnectorError::io(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        assert_eq!(never_connected(&reset), None);
    }
}
