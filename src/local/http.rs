//! What the two local HTTP servers (the per-worker Runtime API and `sls offline`'s gateway)
//! share: serving one connection with hyper, and a JSON answer.

use std::convert::Infallible;
use std::future::Future;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Serves the requests of one accepted connection with `handle`, on a task of its own.
pub fn spawn_connection<F, Fut>(stream: TcpStream, handle: F)
where
    F: Fn(Request<Incoming>) -> Fut + Send + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    // Small request/response exchanges: waiting to fill packets only adds latency.
    let _ = stream.set_nodelay(true);
    tokio::spawn(async move {
        let svc = service_fn(move |req| {
            let answer = handle(req);
            async move { Ok::<_, Infallible>(answer.await) }
        });
        let _ = http1::Builder::new()
            .serve_connection(TokioIo::new(stream), svc)
            .await;
    });
}

/// A response with `status` and a JSON `body`.
pub fn json(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}
