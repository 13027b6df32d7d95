//! A MiniStack server for one test: a test AWS that runs the deployed functions and serves their
//! routes (moto stores functions without running them), started on 127.0.0.1 on a free port and
//! stopped on drop. scripts/test installs it (pinned) into `target/test-tools/ministack`; a
//! missing MiniStack fails the test (never a skip).
//!
//! Where it differs from AWS (checked by running it), so that no test depends on it: GetApis and
//! GetRestApis show only the tags an API was made with (TagResource's go to a store that only
//! GetTags reads); ListEventSourceMappings by an alias ARN also lists the unqualified function's
//! mappings; the events of one stack operation are listed again with the next.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct MiniStack {
    child: Child,
    /// Its working directory: only what it writes while running.
    _data: tempfile::TempDir,
    pub url: String,
    pub port: u16,
}

fn server_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/ministack/bin/ministack")
}

impl MiniStack {
    pub fn start() -> MiniStack {
        let bin = server_bin();
        assert!(
            bin.exists(),
            "MiniStack not found at {}: run scripts/test, which installs the pinned ministack into target/test-tools",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = tempfile::tempdir().unwrap();
        let child = Command::new(&bin)
            .env("BIND_HOST", "127.0.0.1")
            .env("GATEWAY_PORT", port.to_string())
            .env("MINISTACK_HOST", "127.0.0.1")
            .current_dir(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ministack");
        let ms = MiniStack {
            child,
            _data: data,
            url: format!("http://127.0.0.1:{port}"),
            port,
        };
        let started = Instant::now();
        while !ms
            .get("/_localstack/health", None)
            .starts_with("HTTP/1.1 200")
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "MiniStack did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        ms
    }

    /// A GET, with `host` as the Host header (API Gateway routes by it); the whole answer, or
    /// an empty string when nothing listens yet.
    pub fn get(&self, path: &str, host: Option<&str>) -> String {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let host = host.map_or_else(|| format!("127.0.0.1:{}", self.port), str::to_string);
        let _ = write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        );
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    /// The body of what the HTTP API `api_id` answers at `path` (status 200 asserted).
    pub fn http_api(&self, api_id: &str, path: &str) -> String {
        let host = format!("{api_id}.execute-api.127.0.0.1:{}", self.port);
        let out = self.get(path, Some(&host));
        assert!(out.starts_with("HTTP/1.1 200"), "{api_id} {path}: {out}");
        out.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default()
    }

    /// One JSON-protocol request (DynamoDB and the like), which MiniStack routes by the target
    /// and the credential scope.
    pub fn call(&self, service: &str, target: &str, body: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: {target}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{target}: {out}");
        out.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default()
    }

    /// Environment for `sls` and the SDK: this server, dummy credentials, no instance metadata.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// `sls` in `dir` against this server.
    pub fn sls(&self, dir: &std::path::Path) -> assert_cmd::Command {
        let mut c = super::sls_in(dir);
        for (k, v) in self.env() {
            c.env(k, v);
        }
        c
    }

    /// An SDK config pointing at this server.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }
}

impl Drop for MiniStack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
