//! Ctrl-C (SIGINT) and SIGTERM. Outside a changing command they end the process at once, as
//! they would without a handler: nothing in AWS is being changed. While a command holds the
//! service's lease ([`Guard`]), the first one asks it to stop at a safe point — the executor
//! starts no further step, lets the ones under way finish, gives the lease back and says what was
//! done (exit 130, [`crate::exit::INTERRUPTED`]) — and a second one stops the process at once (the lease is then taken over by
//! the next command on this host, see `provider::aws::lease`).
//!
//! The handler only touches atomics and calls `tcsetattr(3)`, `write(2)` and `_exit(2)`, safe in a
//! signal handler; everything else (the message above the spinners, the report) is done by the
//! code that notices the request, so that nothing writes to the terminal behind indicatif's back.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// Set while a changing command holds the lease: only then is a signal a request to stop.
static ARMED: AtomicBool = AtomicBool::new(false);
/// Signals received while armed.
static RECEIVED: AtomicU32 = AtomicU32::new(0);
static INSTALL: Once = Once::new();

const FORCED: &[u8] = b"\nstopped at once: a step may be half done; run the command again: it converges (it takes over this run's lease)\n";

/// The command was asked to stop and stopped at a safe point.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted: {done} of {total} steps done{}, none half done; the lease was given back. Run the command again: it converges",
    if *rolled_back { ", then the traffic was moved back" } else { "" }
)]
pub struct Interrupted {
    pub done: usize,
    pub total: usize,
    /// A gradual promote's traffic went back to where it was before.
    pub rolled_back: bool,
}

/// Armed for as long as it lives (a changing command's lease).
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        ARMED.store(false, Ordering::SeqCst);
        RECEIVED.store(0, Ordering::SeqCst);
    }
}

/// Installs the handler: from then on, unarmed, a signal ends the process at once with
/// 128 + its number (130 for Ctrl-C) after putting the terminal's echo back. Called first
/// thing, so that every command ends the same way.
pub fn listen() {
    INSTALL.call_once(install);
}

/// Makes SIGINT and SIGTERM requests to stop at a safe point until the guard is dropped.
pub fn arm() -> Guard {
    listen();
    RECEIVED.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    Guard(())
}

/// Whether a stop was asked for since the command was armed.
pub fn requested() -> bool {
    ARMED.load(Ordering::SeqCst) && RECEIVED.load(Ordering::SeqCst) > 0
}

/// Resolves once a stop is asked for: polled beside long waits (a signal handler cannot wake a
/// future safely; 50 ms is below what a person notices).
pub async fn wait() {
    while !requested() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the action only uses atomics, tcsetattr(3), write(2) and _exit(2), all
        // async-signal-safe.
        // Should registering fail, the default action stays: the process ends at once.
        let _ = unsafe { signal_hook_registry::register(signal, move || on_signal(signal)) };
    }
}

/// What a shell reports for a process a signal ended: 128 + its number (130 for Ctrl-C).
fn on_signal(signal: libc::c_int) {
    let armed = ARMED.load(Ordering::SeqCst);
    if armed && RECEIVED.fetch_add(1, Ordering::SeqCst) == 0 {
        return;
    }
    let message: &[u8] = if armed { FORCED } else { b"\n" };
    // The echo the progress display turned off comes back (tcsetattr is async-signal-safe).
    crate::terminal::restore();
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is static.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::_exit(128 + signal);
    }
}
