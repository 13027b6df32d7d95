//! Pacing within AWS's fixed control-plane quotas, so that a deploy of many routes and functions
//! is not throttled rather than throttled and retried. Every request — retries included — waits
//! for a token of each quota it counts against before it leaves: API Gateway's per-account
//! quotas (10 requests per second with a burst of 40 over all its management calls;
//! CreateRestApi one per 3 s, DeleteRestApi one per 30 s, CreateDeployment one per 5 s,
//! CreateResource and DeleteResource 5 per second, GetResources 5 per 2 s — fixed, not raisable)
//! and Lambda's control plane (15 per second, GetPolicy 15 per second, GetFunction 100). The
//! first wait for each quota is said on the progress line.
//!
//! It sits in the HTTP client under the SDK, where the request is known: the service from the
//! signature's credential scope, the operation from the method and path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use super::CallLog;

/// A quota: `count` requests per `per`, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub name: &'static str,
    pub count: u32,
    pub per: Duration,
    pub burst: u32,
}

const fn quota(name: &'static str, count: u32, per_secs: u64, burst: u32) -> Quota {
    Quota {
        name,
        count,
        per: Duration::from_secs(per_secs),
        burst,
    }
}

const APIGW_ALL: Quota = quota("API Gateway's 10 requests per second", 10, 1, 40);
const CREATE_REST_API: Quota = quota("API Gateway's one CreateRestApi per 3 s", 1, 3, 1);
const DELETE_REST_API: Quota = quota("API Gateway's one DeleteRestApi per 30 s", 1, 30, 1);
const CREATE_DEPLOYMENT: Quota = quota("API Gateway's one CreateDeployment per 5 s", 1, 5, 1);
const CREATE_RESOURCE: Quota = quota("API Gateway's 5 CreateResource per second", 5, 1, 5);
const DELETE_RESOURCE: Quota = quota("API Gateway's 5 DeleteResource per second", 5, 1, 5);
const GET_RESOURCES: Quota = quota("API Gateway's 5 GetResources per 2 s", 5, 2, 5);
const LAMBDA_CONTROL: Quota = quota("Lambda's 15 control-plane requests per second", 15, 1, 15);
const LAMBDA_GET_POLICY: Quota = quota("Lambda's 15 GetPolicy per second", 15, 1, 15);
const LAMBDA_GET_FUNCTION: Quota = quota("Lambda's 100 GetFunction per second", 100, 1, 100);

/// The quotas a request counts against, by the service that signs it and its method and path.
pub fn quotas_of(service: &str, method: &str, path: &str) -> Vec<Quota> {
    let path = path.split('?').next().unwrap_or(path);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match service {
        "apigateway" => {
            let mut q = vec![APIGW_ALL];
            // REST API management paths: /restapis/{id}/...; HTTP APIs (/v2/...) have only the
            // account's rate.
            match (method, parts.as_slice()) {
                ("POST", ["restapis"]) => q.push(CREATE_REST_API),
                ("DELETE", ["restapis", _]) => q.push(DELETE_REST_API),
                ("POST", ["restapis", _, "deployments"]) => q.push(CREATE_DEPLOYMENT),
                ("POST", ["restapis", _, "resources", _]) => q.push(CREATE_RESOURCE),
                ("DELETE", ["restapis", _, "resources", _]) => q.push(DELETE_RESOURCE),
                ("GET", ["restapis", _, "resources"]) => q.push(GET_RESOURCES),
                _ => {}
            }
            q
        }
        "lambda" => match (method, parts.as_slice()) {
            // Invocations are not control-plane calls.
            (_, [_, "functions", _, "invocations"]) => vec![],
            ("GET", [_, "functions", _, "policy"]) => vec![LAMBDA_GET_POLICY],
            ("GET", [_, "functions", _]) => vec![LAMBDA_GET_FUNCTION],
            _ => vec![LAMBDA_CONTROL],
        },
        _ => vec![],
    }
}

/// The service that signed a request, from its credential scope
/// (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`).
fn service_of(request: &HttpRequest) -> Option<String> {
    let auth = request.headers().get("authorization")?;
    let scope = auth.split("Credential=").nth(1)?;
    scope.split('/').nth(3).map(str::to_string)
}

/// The path of a request's URI, which the client holds whole (`https://host/path?query`).
fn path_of(uri: &str) -> &str {
    match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => uri,
    }
}

/// Buckets refill a little slower than AWS's, and hold a fifth less than its burst: requests
/// leave in order but reach AWS a moment apart — a burst whose first requests were slow to
/// connect arrives bunched up against the next ones.
const MARGIN: f64 = 0.9;

/// The burst this client allows itself: 80% of AWS's, at least one.
fn burst_of(q: &Quota) -> f64 {
    (q.burst as f64 * 0.8).floor().max(1.0)
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The token buckets of one run's clients, shared by all of them.
#[derive(Clone)]
pub struct Pacer {
    buckets: Arc<Mutex<HashMap<&'static str, Bucket>>>,
    calls: CallLog,
    /// Some request has been answered: AWS is reachable (see [`super::reach`]).
    answered: Arc<std::sync::atomic::AtomicBool>,
}

impl Pacer {
    pub fn new(calls: CallLog) -> Pacer {
        Pacer {
            buckets: Arc::default(),
            calls,
            answered: Arc::default(),
        }
    }

    /// Waits until every quota has a token, then takes one of each.
    pub async fn wait(&self, quotas: &[Quota]) {
        loop {
            let (longest, which) = self.take(quotas, Instant::now());
            if longest.is_zero() {
                return;
            }
            if let Some(q) = which {
                self.calls.say_once(
                    q.name,
                    format!("  … waiting out {} (a fixed AWS quota)", q.name),
                );
            }
            tokio::time::sleep(longest).await;
        }
    }

    /// Takes a token of each quota when all have one (zero wait), else takes nothing and says
    /// how long until the scarcest has one.
    fn take(&self, quotas: &[Quota], now: Instant) -> (Duration, Option<Quota>) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let mut longest = (Duration::ZERO, None);
        for q in quotas {
            let rate = MARGIN * q.count as f64 / q.per.as_secs_f64();
            let burst = burst_of(q);
            let b = buckets.entry(q.name).or_insert(Bucket {
                tokens: burst,
                at: now,
            });
            b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
            b.at = now;
            if b.tokens < 1.0 {
                let wait = Duration::from_secs_f64((1.0 - b.tokens) / rate);
                if wait > longest.0 {
                    longest = (wait, Some(*q));
                }
            }
        }
        if longest.0.is_zero() {
            for q in quotas {
                if let Some(b) = buckets.get_mut(q.name) {
                    b.tokens -= 1.0;
                }
            }
        }
        longest
    }
}

/// The SDK's own HTTPS client (rustls, proxies from the environment) behind the pacer.
#[derive(Clone)]
pub struct PacedClient {
    inner: SharedHttpClient,
    pacer: Pacer,
}

impl std::fmt::Debug for PacedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PacedClient")
    }
}

impl PacedClient {
    pub fn new(pacer: Pacer) -> PacedClient {
        use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig, tls};
        let inner = Builder::new().build_with_connector_fn(|settings, components| {
            let mut b = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ));
            b.set_connector_settings(settings.cloned());
            if let Some(c) = components {
                b.set_sleep_impl(c.sleep_impl());
            }
            b.set_proxy_config(Some(ProxyConfig::from_env()));
            b.build()
        });
        PacedClient { inner, pacer }
    }
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pacer: self.pacer.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacer: Pacer,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pacer")
    }
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, pacer) = (self.inner.clone(), self.pacer.clone());
        HttpConnectorFuture::new(async move {
            if let Some(service) = service_of(&request) {
                let quotas = quotas_of(&service, request.method(), path_of(request.uri()));
                pacer.wait(&quotas).await;
            }
            let endpoint = super::reach::endpoint_of(request.uri());
            let answered = pacer.answered.load(std::sync::atomic::Ordering::Relaxed);
            let size = request
                .headers()
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let limit = super::reach::attempt_timeout(size);
            let call = async move {
                match tokio::time::timeout(limit, inner.call(request)).await {
                    Ok(r) => r,
                    Err(_) => Err(ConnectorError::timeout(
                        format!("no answer within {} s", limit.as_secs()).into(),
                    )),
                }
            };
            tokio::pin!(call);
            let result = if answered {
                call.await
            } else {
                tokio::select! {
                    r = &mut call => r,
                    () = tokio::time::sleep(super::reach::NOTICE_AFTER) => {
                        pacer.calls.say_once("connecting", format!("  … waiting for {endpoint} to answer"));
                        call.await
                    }
                }
            };
            match result {
                Ok(response) => {
                    pacer
                        .answered
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    Ok(response)
                }
                Err(e) => match super::reach::never_connected(&e) {
                    Some(why) => Err(ConnectorError::user(Box::new(super::reach::Unreachable {
                        endpoint,
                        why,
                    }))),
                    None => Err(e),
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_count_against_their_quotas() {
        let q = |s, m, p| -> Vec<&str> { quotas_of(s, m, p).iter().map(|q| q.name).collect() };
        assert_eq!(
            q("apigateway", "POST", "/restapis"),
            [APIGW_ALL.name, CREATE_REST_API.name]
        );
        assert_eq!(
            q("apigateway", "POST", "/restapis/abc/resources/def"),
            [APIGW_ALL.name, CREATE_RESOURCE.name]
        );
        assert_eq!(
            q(
                "apigateway",
                "GET",
                "/restapis/abc/resources?embed=methods&limit=500"
            ),
            [APIGW_ALL.name, GET_RESOURCES.name]
        );
        assert_eq!(q("apigateway", "POST", "/v2/apis"), [APIGW_ALL.name]);
        assert_eq!(
            q("lambda", "POST", "/2015-03-31/functions"),
            [LAMBDA_CONTROL.name]
        );
        assert_eq!(
            q("lambda", "GET", "/2015-03-31/functions/f"),
            [LAMBDA_GET_FUNCTION.name]
        );
        assert!(q("lambda", "POST", "/2015-03-31/functions/f/invocations").is_empty());
        assert!(q("iam", "POST", "/").is_empty());
        assert_eq!(
            path_of("https://apigateway.us-east-1.amazonaws.com/restapis/a/resources?limit=5"),
            "/restapis/a/resources?limit=5"
        );
        assert_eq!(path_of("http://127.0.0.1:5000"), "/");
    }

    #[test]
    fn a_bucket_lets_its_burst_through_then_paces_to_its_rate() {
        let pacer = Pacer::new(CallLog::default());
        let t0 = Instant::now();
        // One CreateDeployment at once, the next after 5 s.
        assert_eq!(pacer.take(&[CREATE_DEPLOYMENT], t0).0, Duration::ZERO);
        let (wait, which) = pacer.take(&[CREATE_DEPLOYMENT], t0);
        let five = Duration::from_secs_f64(5.0 / MARGIN);
        assert_eq!(which, Some(CREATE_DEPLOYMENT));
        assert!(wait.abs_diff(five) < Duration::from_millis(1), "{wait:?}");
        assert_eq!(
            pacer.take(&[CREATE_DEPLOYMENT], t0 + five).0,
            Duration::ZERO
        );
        // Thirty-two API Gateway calls at once (80% of AWS's burst of 40), the next waits a
        // tenth of a second; a request that waits on one quota takes no token of the other.
        for _ in 0..32 {
            assert_eq!(pacer.take(&[APIGW_ALL], t0).0, Duration::ZERO);
        }
        let (wait, _) = pacer.take(&[APIGW_ALL, CREATE_RESOURCE], t0);
        assert!(wait.abs_diff(Duration::from_secs_f64(0.1 / MARGIN)) < Duration::from_millis(1));
        assert_eq!(pacer.take(&[CREATE_RESOURCE], t0).0, Duration::ZERO);
    }
}
