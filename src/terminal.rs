//! The terminal's echo, off while spinners are drawn. indicatif redraws its lines by moving the
//! cursor up over what it drew; a key the terminal echoes meanwhile (the `^C` of Ctrl-C, or
//! anything typed) moves the cursor and leaves a stale spinner line behind. So the echo is
//! turned off for as long as a [`EchoOff`] lives, and turned back on when it drops — or, from
//! the signal handler, before the process stops at once (`tcsetattr` is async-signal-safe).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The settings before the echo was turned off, kept for the signal handler.
static SAVED: OnceLock<libc::termios> = OnceLock::new();
static OFF: AtomicBool = AtomicBool::new(false);

/// Keeps the echo off while it lives; does nothing when stdin is not a terminal.
pub struct EchoOff(bool);

impl EchoOff {
    pub fn new() -> EchoOff {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios owned here.
        unsafe {
            if libc::isatty(0) != 1 || OFF.load(Ordering::SeqCst) {
                return EchoOff(false);
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return EchoOff(false);
            }
            let saved = *SAVED.get_or_init(|| t);
            let mut quiet = saved;
            quiet.c_lflag &= !(libc::ECHO | libc::ECHOCTL);
            if libc::tcsetattr(0, libc::TCSANOW, &quiet) != 0 {
                return EchoOff(false);
            }
        }
        OFF.store(true, Ordering::SeqCst);
        EchoOff(true)
    }
}

impl Default for EchoOff {
    fn default() -> Self {
        EchoOff::new()
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if self.0 {
            restore();
        }
    }
}

/// Puts the terminal's settings back if the echo is off; safe to call from a signal handler
/// (atomics, a lock-free read of an initialised cell, and tcsetattr).
pub fn restore() {
    if OFF.swap(false, Ordering::SeqCst)
        && let Some(saved) = SAVED.get()
    {
        // SAFETY: fd 0 and a termios read from it earlier.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, saved);
        }
    }
}
