//! A moto server for one test: started on 127.0.0.1 on a free port, stopped on drop. moto is
//! installed by scripts/test into `.venv`; a missing moto fails the test (never a skip).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub url: String,
    pub port: u16,
}

fn server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("SLS_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server")
}

impl Moto {
    pub fn start() -> Moto {
        let bin = server_bin();
        assert!(
            bin.exists(),
            "moto server not found at {}: run scripts/test, which installs the pinned moto[server] into .venv",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            // Requested certificates are issued at once (AWS validates them by DNS first).
            .env("MOTO_ACM_VALIDATION_WAIT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Lambda without Docker: functions are stored, not run.
        moto.post("/moto-api/config", r#"{"lambda": {"use_docker": false}}"#);
        moto
    }

    fn post(&self, path: &str, body: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(
            out.starts_with("HTTP/1.1 20") || out.starts_with("HTTP/1.0 20"),
            "{out}"
        );
        out
    }

    /// An SQS queue in moto (query protocol), for event source tests; returns its ARN.
    pub fn create_queue(&self, name: &str) -> String {
        self.call(
            "sqs",
            "application/x-www-form-urlencoded",
            "",
            &format!("Action=CreateQueue&QueueName={name}&Version=2012-11-05"),
        );
        format!("arn:aws:sqs:us-east-1:123456789012:{name}")
    }

    /// An SNS topic in moto, untagged (someone else's); returns its ARN.
    pub fn create_topic(&self, name: &str) -> String {
        self.call(
            "sns",
            "application/x-www-form-urlencoded",
            "",
            &format!("Action=CreateTopic&Name={name}&Version=2010-03-31"),
        );
        format!("arn:aws:sns:us-east-1:123456789012:{name}")
    }

    /// A Kinesis stream in moto (JSON protocol); returns its ARN.
    pub fn create_kinesis_stream(&self, name: &str) -> String {
        self.call(
            "kinesis",
            "application/x-amz-json-1.1",
            "X-Amz-Target: Kinesis_20131202.CreateStream\r\n",
            &format!(r#"{{"StreamName":"{name}","ShardCount":1}}"#),
        );
        format!("arn:aws:kinesis:us-east-1:123456789012:stream/{name}")
    }

    /// Builds moto's SSM backend, which loads AWS's public parameters on first use (about 2 s
    /// that real AWS does not spend): for benchmarks, before the lease's first call is timed.
    pub fn warm_ssm(&self) {
        self.call(
            "ssm",
            "application/x-amz-json-1.1",
            "X-Amz-Target: AmazonSSM.DescribeParameters\r\n",
            "{}",
        );
    }

    /// The names of moto's DynamoDB tables, as ListTables answers (JSON text).
    pub fn list_tables(&self) -> String {
        self.call(
            "dynamodb",
            "application/x-amz-json-1.0",
            "X-Amz-Target: DynamoDB_20120810.ListTables\r\n",
            "{}",
        )
    }

    /// A VPC with two subnets in moto (EC2's query protocol); returns the subnet ids, for a load
    /// balancer.
    pub fn create_subnets(&self) -> Vec<String> {
        let between = |text: &str, tag: &str| {
            let open = format!("<{tag}>");
            let start = text.find(&open).unwrap() + open.len();
            let end = start + text[start..].find('<').unwrap();
            text[start..end].to_string()
        };
        let vpc = self.call(
            "ec2",
            "application/x-www-form-urlencoded",
            "",
            "Action=CreateVpc&CidrBlock=10.0.0.0%2F16&Version=2016-11-15",
        );
        let vpc = between(&vpc, "vpcId");
        ["a", "b"]
            .iter()
            .enumerate()
            .map(|(i, zone)| {
                let out = self.call(
                    "ec2",
                    "application/x-www-form-urlencoded",
                    "",
                    &format!("Action=CreateSubnet&VpcId={vpc}&CidrBlock=10.0.{i}.0%2F24&AvailabilityZone=us-east-1{zone}&Version=2016-11-15"),
                );
                between(&out, "subnetId")
            })
            .collect()
    }

    /// One signed-looking request to moto, which finds the service and region in the
    /// credential scope.
    fn call(&self, service: &str, content_type: &str, extra: &str, body: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{extra}Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 20"), "{out}");
        out
    }

    /// `sls`, run in `dir`, pointed at this server.
    pub fn sls(&self, dir: &std::path::Path) -> assert_cmd::Command {
        let mut c = super::sls_in(dir);
        for (k, v) in self.env() {
            c.env(k, v);
        }
        c
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

    /// An SDK config pointing at this server, for checking what a deploy did independently.
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

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
