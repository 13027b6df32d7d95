//! Workers for one function, with Lambda's semantics: a warm worker is reused (module state
//! survives between invocations), a concurrent invocation gets another worker, the timeout kills
//! the worker, errors come back as `errorMessage`/`errorType`/`stackTrace`, and every invocation
//! logs `START`, `END` and `REPORT` lines as Lambda does.

use crate::config::runtime::Family;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

use super::runtime_api::{self, Event, Invocation};

/// Lambda's limit on the init phase.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// Everything needed to start workers for one function.
#[derive(Debug, Clone)]
pub struct LocalFunction {
    pub key: String,
    pub name: String,
    pub runtime: String,
    pub handler: String,
    /// The unpacked deployment package (Lambda's `/var/task`).
    pub code_dir: PathBuf,
    /// The function's layers of `layers:`, unpacked, in order (Lambda's `/opt`).
    pub layers: Vec<PathBuf>,
    /// Where the Node.js and Python bootstrap shims are.
    pub shim_dir: PathBuf,
    pub memory_size: i32,
    pub timeout: i32,
    pub environment: BTreeMap<String, String>,
    pub region: String,
    /// Variables passed through from sls's own environment (PATH, credentials).
    pub inherited: Vec<(String, String)>,
    /// How this run differs from Lambda (serverless-offline's settings).
    pub running: super::Running,
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "runtime {runtime} of function {function} cannot run locally: sls runs nodejs*, python3* and provided* runtimes"
    )]
    Unsupported { function: String, runtime: String },
    #[error(
        "cannot start a worker for {function} ({program}): {source}; is it installed and on PATH?"
    )]
    Spawn {
        function: String,
        program: String,
        source: std::io::Error,
    },
    #[error("cannot serve the Runtime API for {function}: {source}")]
    Api {
        function: String,
        source: std::io::Error,
    },
}

/// How an invocation ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The handler's result, as the runtime posted it.
    Ok(Bytes),
    /// `errorMessage`, `errorType` and (when the runtime sent one) `stackTrace`.
    Error(Value),
}

#[derive(Debug, Clone)]
pub struct Report {
    pub duration: Duration,
    pub billed_ms: u64,
    pub memory_size: i32,
    pub max_memory_mb: Option<u64>,
    /// Set on a cold start: how long the worker took to ask for its first invocation.
    pub init: Option<Duration>,
}

impl Report {
    /// The line Lambda writes to the function's log after each invocation.
    pub fn line(&self, request_id: &str) -> String {
        let mut s = format!(
            "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            self.duration.as_secs_f64() * 1000.0,
            self.billed_ms,
            self.memory_size,
            self.max_memory_mb.unwrap_or(0)
        );
        if let Some(i) = self.init {
            s.push_str(&format!(
                "\tInit Duration: {:.2} ms",
                i.as_secs_f64() * 1000.0
            ));
        }
        s
    }
}

#[derive(Debug, Clone)]
pub struct Invoked {
    pub request_id: String,
    pub outcome: Outcome,
    pub report: Report,
    /// The worker's process id: equal for two invocations served by the same warm worker.
    pub worker: u32,
}

struct Worker {
    invocations: mpsc::Sender<Invocation>,
    events: mpsc::UnboundedReceiver<Event>,
    kill: Option<oneshot::Sender<()>>,
    pid: u32,
    spawned: Instant,
    initialized: bool,
    alive: bool,
}

impl Worker {
    fn stop(&mut self) {
        self.alive = false;
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The workers of one function: idle ones wait here between invocations.
pub struct Pool {
    f: LocalFunction,
    idle: std::sync::Mutex<Vec<Worker>>,
    count: AtomicU64,
}

impl Pool {
    pub fn new(f: LocalFunction) -> Pool {
        Pool {
            f,
            idle: std::sync::Mutex::new(Vec::new()),
            count: AtomicU64::new(0),
        }
    }

    pub fn function(&self) -> &LocalFunction {
        &self.f
    }

    /// How many workers are idle (warm).
    pub fn warm(&self) -> usize {
        self.idle.lock().unwrap().len()
    }

    /// Runs one invocation on a warm worker, or on a new one (a cold start).
    pub async fn invoke(
        &self,
        payload: Bytes,
        client_context: Option<String>,
    ) -> Result<Invoked, LocalError> {
        let warm = self.take_idle();
        let mut w = match warm {
            Some(w) => w,
            None => self.spawn().await?,
        };
        let request_id = self.request_id();
        eprintln!("START RequestId: {request_id} Version: $LATEST");
        let mut init = None;
        let mut outcome = None;
        if !w.initialized {
            match tokio::time::timeout(INIT_LIMIT, ready(&mut w)).await {
                Ok(Ok(())) => {
                    w.initialized = true;
                    init = Some(w.spawned.elapsed());
                }
                Ok(Err(doc)) => outcome = Some(Outcome::Error(doc)),
                Err(_) => {
                    outcome = Some(Outcome::Error(json!({
                        "errorMessage": format!("init did not finish within {} s", INIT_LIMIT.as_secs()),
                        "errorType": "Runtime.InitTimeout",
                    })))
                }
            }
            if outcome.is_some() {
                w.stop();
            }
        }
        let started = Instant::now();
        if outcome.is_none() {
            outcome = Some(self.run(&mut w, &request_id, payload, client_context).await);
        }
        let duration = started.elapsed();
        let report = Report {
            duration,
            billed_ms: (duration.as_secs_f64() * 1000.0).ceil().max(1.0) as u64,
            memory_size: self.f.memory_size,
            max_memory_mb: max_memory_mb(w.pid),
            init,
        };
        eprintln!("END RequestId: {request_id}");
        eprintln!("{}", report.line(&request_id));
        let worker = w.pid;
        if self.f.running.fresh_workers {
            w.stop();
        }
        if w.alive {
            self.idle.lock().unwrap().push(w);
        }
        Ok(Invoked {
            request_id,
            outcome: outcome.expect("set above"),
            report,
            worker,
        })
    }

    async fn run(
        &self,
        w: &mut Worker,
        request_id: &str,
        payload: Bytes,
        client_context: Option<String>,
    ) -> Outcome {
        let timeout = Duration::from_secs(self.f.timeout.max(1) as u64);
        // `noTimeout`: the deadline the handler sees stays the function's, nothing is stopped.
        let limit = match self.f.running.no_timeout {
            true => Duration::from_secs(365 * 24 * 3600),
            false => timeout,
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let inv = Invocation {
            request_id: request_id.to_string(),
            deadline_ms: (now + timeout).as_millis(),
            function_arn: format!(
                "arn:aws:lambda:{}:000000000000:function:{}",
                self.f.region, self.f.name
            ),
            trace_id: format!(
                "Root=1-{:08x}-{};Parent={};Sampled=0",
                now.as_secs(),
                &request_id.replace('-', "")[..24],
                &request_id.replace('-', "")[8..24]
            ),
            client_context,
            payload,
        };
        if w.invocations.send(inv).await.is_err() {
            w.stop();
            return exited(request_id, None);
        }
        let answer = tokio::time::timeout(limit, async {
            while let Some(e) = w.events.recv().await {
                match e {
                    Event::Response(id, body) if id == request_id => {
                        return Some(Outcome::Ok(body));
                    }
                    Event::Error(id, doc) if id == request_id => return Some(Outcome::Error(doc)),
                    Event::InitError(doc) => return Some(Outcome::Error(doc)),
                    Event::Exited(code) => return Some(exited(request_id, code)),
                    _ => {}
                }
            }
            None
        })
        .await;
        match answer {
            Ok(Some(o @ Outcome::Ok(_))) => o,
            Ok(Some(o)) => {
                // A runtime that reported an error may still be usable; one that exited is not.
                if let Outcome::Error(doc) = &o
                    && doc["errorType"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("Runtime.") || t == "InitError")
                {
                    w.stop();
                }
                o
            }
            Ok(None) => {
                w.stop();
                exited(request_id, None)
            }
            Err(_) => {
                w.stop();
                Outcome::Error(json!({
                    "errorMessage": format!(
                        "{request_id} Task timed out after {:.2} seconds",
                        timeout.as_secs_f64()
                    ),
                    "errorType": "Sandbox.Timedout",
                }))
            }
        }
    }

    /// The most recently used idle worker that is still alive (one may have crashed while idle).
    fn take_idle(&self) -> Option<Worker> {
        let mut idle = self.idle.lock().unwrap();
        while let Some(mut w) = idle.pop() {
            let mut exited = false;
            while let Ok(e) = w.events.try_recv() {
                exited |= matches!(e, Event::Exited(_));
            }
            if !exited {
                return Some(w);
            }
        }
        None
    }

    fn request_id(&self) -> String {
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let h = Sha256::digest(format!("{}{n}{now}{}", self.f.name, std::process::id()));
        let x: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-4{}-a{}-{}",
            &x[0..8],
            &x[8..12],
            &x[13..16],
            &x[17..20],
            &x[20..32]
        )
    }

    async fn spawn(&self) -> Result<Worker, LocalError> {
        let f = &self.f;
        let (program, args): (PathBuf, Vec<PathBuf>) = match Family::of(&f.runtime) {
            Family::Node => ("node".into(), vec![f.shim_dir.join(super::NODE_SHIM)]),
            Family::Python => ("python3".into(), vec![f.shim_dir.join(super::PYTHON_SHIM)]),
            Family::Provided => (f.code_dir.join("bootstrap"), vec![]),
            Family::Ruby | Family::Java | Family::Dotnet | Family::Other => {
                return Err(LocalError::Unsupported {
                    function: f.key.clone(),
                    runtime: f.runtime.clone(),
                });
            }
        };
        let (inv_tx, inv_rx) = mpsc::channel(1);
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let api = runtime_api::start(inv_rx, ev_tx.clone())
            .await
            .map_err(|source| LocalError::Api {
                function: f.key.clone(),
                source,
            })?;
        let mut cmd = Command::new(&program);
        cmd.args(&args)
            .current_dir(&f.code_dir)
            .env_clear()
            .envs(f.inherited.iter().map(|(k, v)| (k, v)))
            .envs(lambda_env(f, &api))
            .envs(&f.environment)
            .env(f.running.marker, "true")
            .stdin(Stdio::null())
            .stdout(log_sink())
            .stderr(log_sink())
            .kill_on_drop(true);
        let spawned = Instant::now();
        let mut child = cmd.spawn().map_err(|source| LocalError::Spawn {
            function: f.key.clone(),
            program: program.display().to_string(),
            source,
        })?;
        let pid = child.id().unwrap_or(0);
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            tokio::select! {
                status = child.wait() => {
                    let _ = ev_tx.send(Event::Exited(status.ok().and_then(|s| s.code())));
                }
                _ = kill_rx => {
                    let _ = child.kill().await;
                }
            }
        });
        Ok(Worker {
            invocations: inv_tx,
            events: ev_rx,
            kill: Some(kill_tx),
            pid,
            spawned,
            initialized: false,
            alive: true,
        })
    }
}

/// Waits for a new worker's first `next`: its init is done. An init error or an early exit
/// comes back as the error document.
async fn ready(w: &mut Worker) -> Result<(), Value> {
    while let Some(e) = w.events.recv().await {
        match e {
            Event::Ready => return Ok(()),
            Event::InitError(doc) => return Err(doc),
            Event::Exited(code) => {
                return Err(json!({
                    "errorMessage": format!("the runtime exited during init ({})", describe_exit(code)),
                    "errorType": "Runtime.ExitError",
                }));
            }
            _ => {}
        }
    }
    Err(
        json!({ "errorMessage": "the runtime went away during init", "errorType": "Runtime.ExitError" }),
    )
}

fn exited(request_id: &str, code: Option<i32>) -> Outcome {
    Outcome::Error(json!({
        "errorMessage": format!("RequestId: {request_id} Error: Runtime exited ({})", describe_exit(code)),
        "errorType": "Runtime.ExitError",
    }))
}

fn describe_exit(code: Option<i32>) -> String {
    code.map_or_else(
        || "killed by a signal".into(),
        |c| format!("exit status {c}"),
    )
}

/// Lambda's standard environment for a function's process.
fn lambda_env(f: &LocalFunction, api: &str) -> Vec<(String, String)> {
    let task_root = f.code_dir.display().to_string();
    let mut v: Vec<(&str, String)> = vec![
        ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
        ("_HANDLER", f.handler.clone()),
        ("LAMBDA_TASK_ROOT", task_root),
        ("LAMBDA_RUNTIME_DIR", f.shim_dir.display().to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", f.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", f.memory_size.to_string()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", f.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", f.runtime)),
        ("AWS_REGION", f.region.clone()),
        ("AWS_DEFAULT_REGION", f.region.clone()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
    ];
    if Family::of(&f.runtime) == Family::Python {
        v.push(("PYTHONUNBUFFERED", "1".into()));
    }
    let mut v: Vec<(String, String)> = v.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    v.extend(opt_paths(f));
    v
}

/// Where Lambda's runtimes look in `/opt` for what layers hold, with each layer's own directory
/// for `/opt`: a later layer comes first, as its files overwrite an earlier one's in `/opt`.
fn opt_paths(f: &LocalFunction) -> Vec<(String, String)> {
    if f.layers.is_empty() {
        return Vec::new();
    }
    let under = |rels: &[String]| -> Vec<String> {
        f.layers
            .iter()
            .rev()
            .flat_map(|dir| rels.iter().map(move |r| dir.join(r).display().to_string()))
            .collect()
    };
    let joined = |mut parts: Vec<String>, tail: Option<String>| {
        parts.extend(tail);
        parts.join(":")
    };
    let inherited = |k: &str| {
        f.inherited
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let mut v = vec![
        (
            "PATH".to_string(),
            joined(under(&["bin".into()]), inherited("PATH")),
        ),
        (
            "LD_LIBRARY_PATH".to_string(),
            joined(under(&["lib".into()]), None),
        ),
    ];
    match Family::of(&f.runtime) {
        Family::Node => {
            let major: String = f
                .runtime
                .trim_start_matches("nodejs")
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let rels = [
                format!("nodejs/node{major}/node_modules"),
                "nodejs/node_modules".to_string(),
            ];
            v.push(("NODE_PATH".into(), joined(under(&rels), None)));
        }
        Family::Python => {
            let version = f.runtime.trim_start_matches("python");
            let rels = [
                format!("python/lib/python{version}/site-packages"),
                "python".to_string(),
            ];
            v.push(("PYTHONPATH".into(), joined(under(&rels), None)));
        }
        Family::Ruby | Family::Java | Family::Dotnet | Family::Provided | Family::Other => {}
    }
    v
}

/// Worker output goes to sls's stderr, as function logs: stdout stays for results.
fn log_sink() -> Stdio {
    use std::os::fd::AsFd;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_or_else(|_| Stdio::inherit(), Stdio::from)
}

/// The worker's peak resident memory (Linux: `VmHWM`), in MB.
fn max_memory_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb.div_ceil(1024))
}
