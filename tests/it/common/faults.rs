//! A proxy in front of the moto server that answers some requests itself with the errors AWS
//! sends under load — throttling and 503 — instead of forwarding them. The request never
//! reaches moto, as with a real throttle, so a correct client retries and converges.
//!
//! Which requests: every `every`-th distinct request (method, path and body), and never the
//! same request twice, so each faulted request succeeds on its first retry whatever the
//! interleaving of parallel calls. Or ([`Faults::refuse`]): every request whose request line
//! starts with a given text, answered with a given error, as AWS does when a precondition
//! fails. Or ([`Faults::delayed`]): no fault, every request held for a while before it is
//! forwarded — the latency model of a real AWS round trip (about 60 ms from a laptop).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct Faults {
    pub url: String,
    counts: Arc<Counts>,
}

#[derive(Clone)]
enum Rule {
    Every(usize),
    /// Request line prefix, HTTP status line, `x-amzn-ErrorType`.
    Refuse(&'static str, &'static str, &'static str),
    /// Request line prefix, how many to refuse, HTTP status line, error type, message: the
    /// first `n` such requests are refused, later ones forwarded (as IAM propagation does).
    RefuseFirst(
        &'static str,
        usize,
        &'static str,
        &'static str,
        &'static str,
    ),
    /// Request line prefix, HTTP status line, error type: refused with a message that quotes
    /// the request's body, as Lambda's "environment variables exceeded 4KB" error quotes them.
    Quote(&'static str, &'static str, &'static str),
    /// Hold every request this long, then forward it.
    Delay(std::time::Duration),
    /// AWS's fixed control-plane quotas enforced as AWS does: a request over one is answered
    /// 429 TooManyRequestsException and never forwarded.
    Quotas(Arc<Mutex<std::collections::HashMap<&'static str, (f64, std::time::Instant)>>>),
    /// Canned answers (status 200, JSON), the first that applies; the rest are forwarded.
    Answer(Vec<Canned>),
    /// The `k`-th request (1-based, every request counted) is forwarded and carried out, then
    /// the process whose id is in the cell is killed (SIGKILL) before it hears the answer.
    Kill(usize, Arc<AtomicU32>),
    /// The first request whose head (request line, `X-Amz-Target`) or body (query-protocol
    /// services) contains the text (`*` standing for anything) is forwarded and carried out, and its answer lost: a 500 is
    /// sent instead.
    Lose(String),
}

/// One canned answer: to requests whose request line starts with `request`, and — with `after` —
/// only once a request starting with that was seen (forwarded before).
#[derive(Clone)]
pub struct Canned {
    pub request: String,
    pub json: String,
    pub after: Option<String>,
    /// Only requests whose headers or body contain this (e.g. an `X-Amz-Target`, a token).
    pub with: Option<String>,
}

#[derive(Default)]
struct Counts {
    seen: AtomicUsize,
    injected: AtomicUsize,
    faulted: Mutex<HashSet<Vec<u8>>>,
    /// Every request line with its body, and its header block, in arrival order.
    log: Mutex<Vec<(String, Vec<u8>)>>,
    heads: Mutex<Vec<String>>,
}

impl Faults {
    pub fn start(upstream_port: u16, every: usize) -> Faults {
        Faults::with(upstream_port, Rule::Every(every))
    }

    /// Answers every request whose request line starts with `request` (e.g. `PUT /path`)
    /// with `status` (e.g. `412 Precondition Failed`) and the error type `code`.
    pub fn refuse(
        upstream_port: u16,
        request: &'static str,
        status: &'static str,
        code: &'static str,
    ) -> Faults {
        Faults::with(upstream_port, Rule::Refuse(request, status, code))
    }

    /// Answers requests whose request line starts with `request` with `json` (status 200), and
    /// forwards every other: to give a client a page that moto, which does not page, never sends.
    pub fn answer(upstream_port: u16, request: String, json: String) -> Faults {
        Faults::answers(
            upstream_port,
            vec![Canned {
                request,
                json,
                after: None,
                with: None,
            }],
        )
    }

    /// Several canned answers: for calls moto does not model at all, in the order AWS answers.
    pub fn answers(upstream_port: u16, canned: Vec<Canned>) -> Faults {
        Faults::with(upstream_port, Rule::Answer(canned))
    }

    /// Refuses the first `n` requests whose request line starts with `request` with `status`,
    /// error type `code` and `message`, then forwards them.
    pub fn refuse_first(
        upstream_port: u16,
        request: &'static str,
        n: usize,
        status: &'static str,
        code: &'static str,
        message: &'static str,
    ) -> Faults {
        Faults::with(
            upstream_port,
            Rule::RefuseFirst(request, n, status, code, message),
        )
    }

    /// Refuses every request whose request line starts with `request` with an error message
    /// that quotes what the request sent.
    pub fn refuse_quoting(
        upstream_port: u16,
        request: &'static str,
        status: &'static str,
        code: &'static str,
    ) -> Faults {
        Faults::with(upstream_port, Rule::Quote(request, status, code))
    }

    /// Enforces API Gateway's and Lambda's control-plane quotas (see [`quotas`]); [`Faults::injected`]
    /// counts the requests refused for going over one.
    pub fn quotas(upstream_port: u16) -> Faults {
        Faults::with(upstream_port, Rule::Quotas(Arc::default()))
    }

    /// Kills the process whose id is (or will be) in `pid` right after AWS carried out its
    /// `k`-th request, before the answer reaches it: a deploy interrupted at the worst moment.
    pub fn kill_after(upstream_port: u16, k: usize, pid: Arc<AtomicU32>) -> Faults {
        Faults::with(upstream_port, Rule::Kill(k, pid))
    }

    /// Carries out the first request that contains `request` (in its request line or headers,
    /// or its body for query-protocol services, e.g. `Action=CreateRole`) and answers it with a 500, as
    /// when a connection drops after AWS acted: the client cannot know that the create happened.
    pub fn lose_answer(upstream_port: u16, request: &str) -> Faults {
        Faults::with(upstream_port, Rule::Lose(request.to_string()))
    }

    /// Runs `sls ARGS` in `dir` with `env` (a test AWS's), its calls going through this proxy;
    /// the process id goes into `pid` (for [`Faults::kill_after`]). Its exit code, `None` when
    /// killed.
    pub fn run_sls(
        &self,
        dir: &std::path::Path,
        env: &[(&'static str, String)],
        args: &[&str],
        pid: &AtomicU32,
    ) -> Option<i32> {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sls"));
        c.current_dir(dir).env_clear().env("NO_COLOR", "1");
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c
            .env("AWS_ENDPOINT_URL", &self.url)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        pid.store(child.id(), Ordering::SeqCst);
        child.wait().unwrap().code()
    }

    /// How many requests arrived.
    pub fn requests(&self) -> usize {
        self.counts.log.lock().unwrap().len()
    }

    /// Forwards every request after holding it for `delay`, as a distant endpoint would.
    pub fn delayed(upstream_port: u16, delay: std::time::Duration) -> Faults {
        Faults::with(upstream_port, Rule::Delay(delay))
    }

    /// The bodies of the requests whose request line starts with `request` (e.g. `PUT /path`),
    /// to check what was sent where the server cannot show it.
    pub fn bodies(&self, request: &str) -> Vec<String> {
        self.counts
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|(line, _)| line.starts_with(request))
            .map(|(_, body)| String::from_utf8_lossy(body).into_owned())
            .collect()
    }

    /// The header blocks (request line included) of the requests whose request line starts
    /// with `request`.
    pub fn heads(&self, request: &str) -> Vec<String> {
        self.counts
            .heads
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.starts_with(request))
            .cloned()
            .collect()
    }

    fn with(upstream_port: u16, rule: Rule) -> Faults {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (c, rule) = (c.clone(), rule.clone());
                std::thread::spawn(move || serve(conn, upstream_port, &rule, &c));
            }
        });
        Faults {
            url: format!("http://127.0.0.1:{port}"),
            counts,
        }
    }

    /// How many answers were faults.
    pub fn injected(&self) -> usize {
        self.counts.injected.load(Ordering::SeqCst)
    }
}

/// One request per connection: the answer says `Connection: close`, so clients reconnect.
fn serve(conn: TcpStream, upstream_port: u16, rule: &Rule, c: &Counts) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut head = Vec::new();
    let mut length = 0usize;
    let mut form = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        assert!(
            !lower.starts_with("transfer-encoding:"),
            "the fault proxy reads Content-Length bodies only: {line}"
        );
        form |= lower.starts_with("content-type: application/x-www-form-urlencoded");
        if lower.starts_with("connection:") {
            continue;
        }
        if line == "\r\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        head.extend_from_slice(line.as_bytes());
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut out = conn;

    let request_line = head
        .split(|b| *b == b'\n')
        .next()
        .unwrap_or_default()
        .to_vec();
    let number = {
        let mut log = c.log.lock().unwrap();
        log.push((
            String::from_utf8_lossy(&request_line).into_owned(),
            body.clone(),
        ));
        log.len()
    };
    c.heads
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    if let Rule::Refuse(request, status, code) = rule
        && request_line.starts_with(request.as_bytes())
    {
        c.injected.fetch_add(1, Ordering::SeqCst);
        let json = r#"{"message":"refused by the test's fault proxy"}"#;
        let _ = out.write_all(json_answer(status, Some(code), json).as_bytes());
        return;
    }
    if let Rule::Quotas(buckets) = rule {
        let head_text = String::from_utf8_lossy(&head);
        let service = head_text
            .split("Credential=")
            .nth(1)
            .and_then(|s| s.split('/').nth(3))
            .unwrap_or("");
        let line = String::from_utf8_lossy(&request_line);
        let mut words = line.split(' ');
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let now = std::time::Instant::now();
        let mut b = buckets.lock().unwrap();
        let over = quotas(service, method, path)
            .into_iter()
            .any(|(name, rate, burst)| {
                let (tokens, at) = b.entry(name).or_insert((burst, now));
                *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
                *at = now;
                // A little slack for requests that left in order and arrived a moment apart.
                *tokens < 0.9
            });
        if over {
            drop(b);
            c.injected.fetch_add(1, Ordering::SeqCst);
            let json = r#"{"message":"Too Many Requests"}"#;
            let _ = out.write_all(
                json_answer(
                    "429 Too Many Requests",
                    Some("TooManyRequestsException"),
                    json,
                )
                .as_bytes(),
            );
            return;
        }
        for (name, _, _) in quotas(service, method, path) {
            b.get_mut(name).unwrap().0 -= 1.0;
        }
    }
    if let Rule::Quote(request, status, code) = rule
        && request_line.starts_with(request.as_bytes())
    {
        c.injected.fetch_add(1, Ordering::SeqCst);
        let message = serde_json::json!({
            "message": format!("Request too large. String measured: {}", String::from_utf8_lossy(&body))
        });
        let _ = out.write_all(json_answer(status, Some(code), &message.to_string()).as_bytes());
        return;
    }
    if let Rule::RefuseFirst(request, n, status, code, message) = rule
        && request_line.starts_with(request.as_bytes())
        && c.injected.fetch_add(1, Ordering::SeqCst) < *n
    {
        let json = format!(r#"{{"message":"{message}"}}"#);
        let _ = out.write_all(json_answer(status, Some(code), &json).as_bytes());
        return;
    }
    // A prefix of the request line, or (query-protocol services, whose request lines are all
    // `POST /`) a text of the body such as `Action=CreateStack`.
    let seen = |prefix: &str| {
        c.log.lock().unwrap().iter().any(|(line, body)| {
            line.starts_with(prefix) || String::from_utf8_lossy(body).contains(prefix)
        })
    };
    let canned = match rule {
        Rule::Answer(all) => all.iter().find(|a| {
            let has = |text: &str| {
                let (h, b) = (
                    String::from_utf8_lossy(&head),
                    String::from_utf8_lossy(&body),
                );
                h.contains(text) || b.contains(text)
            };
            request_line.starts_with(a.request.as_bytes())
                && a.after.as_deref().is_none_or(&seen)
                && a.with.as_deref().is_none_or(has)
        }),
        _ => None,
    };
    if let Some(Canned { json, .. }) = canned {
        c.injected.fetch_add(1, Ordering::SeqCst);
        let _ = out.write_all(json_answer("200 OK", None, json).as_bytes());
        return;
    }
    if let Rule::Delay(delay) = rule {
        std::thread::sleep(*delay);
    }
    if let Rule::Kill(k, pid) = rule
        && number == *k
    {
        forward(&head, &body, upstream_port);
        // The process may not be known yet when its first request is the one.
        let pid = loop {
            match pid.load(Ordering::SeqCst) {
                0 => std::thread::sleep(std::time::Duration::from_millis(1)),
                p => break p,
            }
        };
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        c.injected.fetch_add(1, Ordering::SeqCst);
        return;
    }
    if let Rule::Lose(text) = rule
        && (in_order(&String::from_utf8_lossy(&head), text)
            || in_order(&String::from_utf8_lossy(&body), text))
        && c.injected
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        forward(&head, &body, upstream_port);
        let json = r#"{"message":"the connection was lost (test's fault proxy)"}"#;
        let _ = out.write_all(
            json_answer("500 Internal Server Error", Some("InternalFailure"), json).as_bytes(),
        );
        return;
    }
    let fingerprint = [request_line, body.clone()].concat();
    let n = c.seen.fetch_add(1, Ordering::SeqCst) + 1;
    if let Rule::Every(every) = *rule
        && n % every == 0
        && c.faulted.lock().unwrap().insert(fingerprint)
    {
        let k = c.injected.fetch_add(1, Ordering::SeqCst);
        let answer = if k % 2 == 1 {
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_string()
        } else if form {
            // IAM speaks the query protocol: throttling is a 400 with an XML error.
            let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault</RequestId></ErrorResponse>";
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            )
        } else {
            json_answer(
                "429 Too Many Requests",
                Some("TooManyRequestsException"),
                r#"{"message":"Rate exceeded"}"#,
            )
        };
        let _ = out.write_all(answer.as_bytes());
        return;
    }

    let _ = out.write_all(&forward(&head, &body, upstream_port));
}

/// AWS's published fixed quotas a request counts against: (name, requests per second, burst).
/// API Gateway (per account, not raisable): 10 per second with a burst of 40 over all its
/// management calls, CreateRestApi one per 3 s, DeleteRestApi one per 30 s, CreateDeployment one
/// per 5 s, CreateResource and DeleteResource 5 per second, GetResources 5 per 2 s. Lambda:
/// 15 control-plane requests per second; GetFunction 100; GetPolicy 15.
fn quotas(service: &str, method: &str, path: &str) -> Vec<(&'static str, f64, f64)> {
    let path = path.split('?').next().unwrap_or(path);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut q = Vec::new();
    if service == "apigateway" {
        q.push(("apigateway", 10.0, 40.0));
        if parts.first() == Some(&"restapis") {
            match (method, parts.len()) {
                ("POST", 1) => q.push(("CreateRestApi", 1.0 / 3.0, 1.0)),
                ("DELETE", 2) => q.push(("DeleteRestApi", 1.0 / 30.0, 1.0)),
                ("POST", 3) if parts[2] == "deployments" => {
                    q.push(("CreateDeployment", 1.0 / 5.0, 1.0))
                }
                ("POST", 4) if parts[2] == "resources" => q.push(("CreateResource", 5.0, 5.0)),
                ("DELETE", 4) if parts[2] == "resources" => q.push(("DeleteResource", 5.0, 5.0)),
                ("GET", 3) if parts[2] == "resources" => q.push(("GetResources", 2.5, 5.0)),
                _ => {}
            }
        }
    }
    if service == "lambda" && !path.ends_with("/invocations") {
        let is = |m: &str, n: usize, last: Option<&str>| {
            method == m && parts.len() == n && last.is_none_or(|l| parts.last() == Some(&l))
        };
        if is("GET", 3, None) {
            q.push(("GetFunction", 100.0, 100.0));
        } else if is("GET", 4, Some("policy")) {
            q.push(("GetPolicy", 15.0, 15.0));
        } else {
            q.push(("lambda", 15.0, 15.0));
        }
    }
    q
}

/// Whether `text` holds the `*`-separated parts of `pattern`, in order.
fn in_order(text: &str, pattern: &str) -> bool {
    let mut rest = text;
    pattern.split('*').all(|part| match rest.find(part) {
        Some(at) => {
            rest = &rest[at + part.len()..];
            true
        }
        None => false,
    })
}

/// Sends one request upstream and returns the whole answer.
fn forward(head: &[u8], body: &[u8], upstream_port: u16) -> Vec<u8> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream_port)).unwrap();
    up.write_all(head).unwrap();
    up.write_all(body).unwrap();
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).unwrap();
    answer
}

/// A JSON answer as AWS's REST-JSON services send it, with the error type header for errors.
fn json_answer(status: &str, error_type: Option<&str>, json: &str) -> String {
    let error = error_type.map_or_else(String::new, |t| format!("x-amzn-ErrorType: {t}\r\n"));
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{error}Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    )
}
