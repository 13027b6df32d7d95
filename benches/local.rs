//! The local Runtime API emulator's cost: warm invoke latency (request in → worker → response
//! out) for Node.js and Python workers whose handlers return at once, so what is measured is the
//! emulator, its bootstrap shim and the loopback exchanges; and cold starts (spawn → ready).
//! Reference, in the same process: one bare request/response over loopback TCP, the floor of any
//! design whose workers talk HTTP. Run with `scripts/bench-local` (or `cargo bench --bench local`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use sls::local::{LocalFunction, Outcome, Pool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WARM: usize = 2000;
const COLD: usize = 10;

fn pct(mut v: Vec<Duration>, p: usize) -> Duration {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn function(dir: &std::path::Path, runtime: &str, handler: &str) -> LocalFunction {
    LocalFunction {
        key: "f".into(),
        name: "bench-f".into(),
        runtime: runtime.into(),
        handler: handler.into(),
        code_dir: dir.to_path_buf(),
        layers: Vec::new(),
        shim_dir: dir.join("runtime"),
        memory_size: 128,
        timeout: 30,
        environment: BTreeMap::new(),
        region: "us-east-1".into(),
        inherited: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        running: sls::local::Running::invoke_local(),
    }
}

async fn bare_round_trip() -> Vec<Duration> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = [0u8; 64];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.set_nodelay(true).unwrap();
    let mut buf = [0u8; 64];
    let mut out = Vec::new();
    for _ in 0..WARM {
        let t = Instant::now();
        c.write_all(b"ping").await.unwrap();
        let _ = c.read(&mut buf).await.unwrap();
        out.push(t.elapsed());
    }
    out
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.js"), "exports.h = async () => 1;\n").unwrap();
    std::fs::write(
        dir.path().join("h.py"),
        "def h(event, context):\n    return 1\n",
    )
    .unwrap();
    // The shims as sls writes them for a local run.
    sls::local::write_shims(&dir.path().join("runtime")).unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let floor = pct(bare_round_trip().await, 50);
        println!("reference: bare loopback round trip p50 {:.3} ms ({WARM} runs)", ms(floor));
        for (label, runtime, handler) in [("node", "nodejs20.x", "h.h"), ("python", "python3.11", "h.h")] {
            let mut cold = Vec::new();
            for _ in 0..COLD {
                let pool = Pool::new(function(dir.path(), runtime, handler));
                let t = Instant::now();
                let done = pool.invoke(Bytes::from_static(b"{}"), None).await.unwrap();
                assert!(matches!(done.outcome, Outcome::Ok(_)));
                cold.push(t.elapsed());
            }
            let pool = Pool::new(function(dir.path(), runtime, handler));
            pool.invoke(Bytes::from_static(b"{}"), None).await.unwrap();
            let mut warm = Vec::with_capacity(WARM);
            for _ in 0..WARM {
                let t = Instant::now();
                let done = pool.invoke(Bytes::from_static(b"{}"), None).await.unwrap();
                warm.push(t.elapsed());
                assert!(matches!(done.outcome, Outcome::Ok(_)));
            }
            let (p50, p99) = (pct(warm.clone(), 50), pct(warm, 99));
            println!(
                "{label:6}: warm invoke p50 {:.3} ms, p99 {:.3} ms ({:.1}× the bare round trip); cold start p50 {:.1} ms ({COLD} runs)",
                ms(p50),
                ms(p99),
                p50.as_secs_f64() / floor.as_secs_f64(),
                ms(pct(cold, 50)),
            );
        }
    });
}
