//! One changing command at a time per service and stage: a lease held in AWS as an SSM
//! parameter, `/sls/{service}/{stage}/lease`, made with PutParameter without overwrite — an
//! atomic create: of two commands started together exactly one gets it. Its value says who holds
//! it (user, host, process), for which command, since when and until when.
//!
//! The second command waits a bounded time, polling, then stops naming the holder. A lease is
//! taken over, with a warning, when it has expired or when its holder ran on this host and its
//! process is gone (a deploy killed at any point is re-run at once, not an hour later);
//! `--force-unlock` removes it first. The holder deletes it at the end, only if it is still its
//! own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_ssm::types::{ParameterType, Tag};
use serde::{Deserialize, Serialize};

use super::{Aws, AwsError, call_err, is_code};
use crate::plan::naming::{TAG_SERVICE, TAG_STAGE};

/// How long a lease lasts when its holder never releases it (and cannot be seen to be gone).
pub const EXPIRY: Duration = Duration::from_secs(3600);
/// How often a waiting command asks again.
const POLL: Duration = Duration::from_secs(2);

/// What the parameter holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    /// Unique to one acquisition: release deletes only its own lease.
    pub token: String,
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub command: String,
    /// Unix seconds.
    pub started: u64,
    pub expires: u64,
}

impl Holder {
    pub fn describe(&self) -> String {
        format!(
            "`sls {}` by {}@{} (process {}) since {}",
            self.command,
            self.user,
            self.host,
            self.pid,
            aws_smithy_types::DateTime::from_secs(self.started as i64)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default()
        )
    }
}

/// What to do about a lease someone else holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Wait,
    TakeOver(&'static str),
}

/// Pure: expired, or held by a process of this host that no longer runs → take it over.
pub fn decide(h: &Holder, now: u64, this_host: &str, alive: impl Fn(u32) -> bool) -> Decision {
    if now >= h.expires {
        Decision::TakeOver("it has expired")
    } else if h.host == this_host && !alive(h.pid) {
        Decision::TakeOver("its process on this host is gone")
    } else {
        Decision::Wait
    }
}

pub fn parameter_name(service: &str, stage: &str) -> String {
    format!("{}lease", crate::plan::record_root(service, stage))
}

/// A held lease; [`release`] gives it back.
#[derive(Debug)]
pub struct Lease {
    name: String,
    token: String,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn this_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Whether a process of this host runs (Linux's /proc; elsewhere assumed to, so only expiry
/// frees the lease).
fn alive(pid: u32) -> bool {
    let proc_dir = std::path::Path::new("/proc");
    !proc_dir.is_dir() || proc_dir.join(pid.to_string()).exists()
}

async fn read(aws: &Aws, name: &str) -> Result<Option<(Holder, String)>, AwsError> {
    match aws.ssm.get_parameter().name(name).send().await {
        Ok(out) => {
            let raw = out
                .parameter()
                .and_then(|p| p.value())
                .unwrap_or_default()
                .to_string();
            let holder = serde_json::from_str::<Holder>(&raw).map_err(|_| {
                AwsError::Other(format!(
                    "the SSM parameter {name} holds no sls lease; it is not ours: remove or rename it"
                ))
            })?;
            Ok(Some((holder, raw)))
        }
        Err(e) if is_code(&e, &["ParameterNotFound"]) => Ok(None),
        Err(e) => Err(call_err("GetParameter", name)(e)),
    }
}

async fn delete(aws: &Aws, name: &str) -> Result<(), AwsError> {
    match aws.ssm.delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, &["ParameterNotFound"]) => Ok(()),
        Err(e) => Err(call_err("DeleteParameter", name)(e)),
    }
}

/// Takes the lease of `service`/`stage` for `command`, waiting up to `wait` for its holder;
/// `force` removes a held lease first. `say` gets the progress lines (waiting, taking over).
pub async fn acquire(
    aws: &Aws,
    service: &str,
    stage: &str,
    command: &str,
    wait: Duration,
    force: bool,
    say: &(dyn Fn(String) + Sync),
) -> Result<Lease, AwsError> {
    let name = parameter_name(service, stage);
    if force {
        if let Some((h, _)) = read(aws, &name).await? {
            say(format!(
                "removing the lease held by {} (--force-unlock)",
                h.describe()
            ));
        }
        delete(aws, &name).await?;
    }
    let started = now();
    let me = Holder {
        token: format!("{:016x}", rand_token()),
        user: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
        host: this_host(),
        pid: std::process::id(),
        command: command.to_string(),
        started,
        expires: started + EXPIRY.as_secs(),
    };
    let value = serde_json::to_string(&me).map_err(|e| AwsError::Other(e.to_string()))?;
    let deadline = std::time::Instant::now() + wait;
    let mut said_waiting = false;
    loop {
        let put = aws
            .ssm
            .put_parameter()
            .name(&name)
            .value(&value)
            .r#type(ParameterType::String)
            .description("sls: one changing command at a time for this service and stage")
            .overwrite(false)
            .tags(tag(TAG_SERVICE, service))
            .tags(tag(TAG_STAGE, stage))
            .send()
            .await;
        match put {
            Ok(_) => {
                return Ok(Lease {
                    name,
                    token: me.token,
                });
            }
            Err(e) if is_code(&e, &["ParameterAlreadyExists"]) => {}
            Err(e) => return Err(call_err("PutParameter", &name)(e)),
        }
        let Some((held, _)) = read(aws, &name).await? else {
            continue;
        };
        // Our own put, carried out, whose answer was lost: the SDK's retry found it made.
        if held.token == me.token {
            return Ok(Lease {
                name,
                token: me.token,
            });
        }
        match decide(&held, now(), &me.host, alive) {
            Decision::TakeOver(why) => {
                say(format!(
                    "warning: taking over the lease held by {}: {why}",
                    held.describe()
                ));
                delete(aws, &name).await?;
            }
            Decision::Wait if std::time::Instant::now() >= deadline => {
                return Err(AwsError::Locked {
                    service: service.to_string(),
                    stage: stage.to_string(),
                    holder: held.describe(),
                });
            }
            Decision::Wait => {
                if !said_waiting {
                    say(format!(
                        "waiting up to {} s for the lease held by {}",
                        wait.as_secs(),
                        held.describe()
                    ));
                    said_waiting = true;
                }
                tokio::time::sleep(POLL.min(deadline - std::time::Instant::now())).await;
            }
        }
    }
}

/// Gives the lease back: deleted only when it is still this command's (a taker-over's is kept).
pub async fn release(aws: &Aws, lease: Lease) -> Result<(), AwsError> {
    match read(aws, &lease.name).await? {
        Some((h, _)) if h.token == lease.token => delete(aws, &lease.name).await,
        _ => Ok(()),
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .expect("key and value are set")
}

/// 64 bits that differ between processes and calls: time, process and a counter, mixed.
fn rand_token() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one((now(), std::process::id(), std::time::Instant::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(host: &str, pid: u32, expires: u64) -> Holder {
        Holder {
            token: "t".into(),
            user: "u".into(),
            host: host.into(),
            pid,
            command: "deploy".into(),
            started: 0,
            expires,
        }
    }

    #[test]
    fn a_lease_is_taken_over_only_when_expired_or_its_local_process_is_gone() {
        let live = |_| true;
        let gone = |_| false;
        assert_eq!(decide(&holder("a", 1, 100), 50, "a", live), Decision::Wait);
        assert_eq!(
            decide(&holder("a", 1, 100), 100, "b", live),
            Decision::TakeOver("it has expired")
        );
        assert_eq!(
            decide(&holder("a", 1, 100), 50, "a", gone),
            Decision::TakeOver("its process on this host is gone")
        );
        // Another host's process cannot be seen: only expiry frees its lease.
        assert_eq!(decide(&holder("a", 1, 100), 50, "b", gone), Decision::Wait);
        assert_ne!(rand_token(), rand_token());
        assert_eq!(parameter_name("svc", "dev"), "/sls/svc/dev/lease");
    }
}
