//! `sls offline` for one test: started on a free port (`--port 0`), its URL read from the first
//! line it prints, killed on drop. Requests go over a plain TCP connection (HTTP/1.1).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Offline {
    child: Child,
    pub port: u16,
    /// The Lambda API's port (`--lambda-port 0` picks it).
    pub lambda_port: u16,
    /// The load balancer's port, when the service has `alb` events (`--alb-port 0`).
    pub alb_port: u16,
    /// The endpoint lines it printed (`GET - http://127.0.0.1:PORT/path`).
    pub endpoints: Vec<String>,
    /// Every line it printed before "Ctrl-C stops".
    pub lines: Vec<String>,
    _out: BufReader<std::process::ChildStdout>,
}

impl Offline {
    pub fn start(dir: &Path, extra: &[&str]) -> Offline {
        Offline::start_with(dir, extra, &[])
    }

    /// Started with these variables in its environment too. A first `extra` of `start` goes
    /// right after `offline`, as serverless-offline users write it.
    pub fn start_with(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Offline {
        let (start, extra) = match extra.split_first() {
            Some((&"start", rest)) => (Some("start"), rest),
            _ => (None, extra),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_sls"))
            .arg("offline")
            .args(start)
            .args(["--port", "0", "--lambda-port", "0", "--alb-port", "0"])
            .args(extra)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut endpoints = Vec::new();
        let mut lines = Vec::new();
        let mut lambda_port = 0;
        let mut alb_port = 0;
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let port: u16 = first
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|s| s.split(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no URL in `{first}`"));
        // Then the endpoints, up to the closing "Ctrl-C stops" line.
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 || line.starts_with("Ctrl-C") {
                break;
            }
            if line.contains(" - ") {
                endpoints.push(line.trim().to_string());
            }
            if let Some(rest) = line.strip_prefix("alb: http://127.0.0.1:") {
                alb_port = rest
                    .split(' ')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
            }
            if let Some(rest) = line.strip_prefix("lambda: http://127.0.0.1:") {
                lambda_port = rest
                    .split('/')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
            }
            lines.push(line.trim_end().to_string());
        }
        Offline {
            child,
            port,
            lambda_port,
            alb_port,
            endpoints,
            lines,
            _out: out,
        }
    }

    /// One request; returns the status, the headers (lower-cased names) and the body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        request_to(self.port, method, path, headers, body)
    }

    /// One request to the Lambda API.
    pub fn lambda(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        request_to(self.lambda_port, "POST", path, headers, body)
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port`.
pub fn request_to(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
        port,
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v == "chunked")
    {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

impl Drop for Offline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
