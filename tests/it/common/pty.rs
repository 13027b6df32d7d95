//! `sls` under a pseudo-terminal, as a person runs it: stdin, stdout and stderr are the terminal,
//! so progress is drawn and colours are on. What it wrote is kept twice: the raw bytes (escape
//! codes and all, to look for colours) and the screen a terminal shows after them (rendered by
//! vt100: a spinner left behind or a line drawn over shows there).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// Tall enough that a whole deploy of the example stays on the screen (no scrolling to model).
pub const ROWS: u16 = 400;
pub const COLS: u16 = 140;

pub struct Pty {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
    // Kept open so that the child's terminal stays until it has ended.
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Pty {
    /// Runs `sls ARGS` in `dir` with exactly `env` (and TERM), on a fresh terminal.
    pub fn sls(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_sls"));
        cmd.args(args);
        cmd.cwd(dir);
        cmd.env_clear();
        cmd.env("TERM", "xterm-256color");
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair
            .slave
            .spawn_command(cmd)
            .expect("start sls on the terminal");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            writer,
            output,
            _master: pair.master,
        }
    }

    /// Everything written so far, escape codes included.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// The screen as a terminal of [`ROWS`]×[`COLS`] shows it now, trailing blank lines cut.
    pub fn screen(&self) -> String {
        let size = |n| std::num::NonZeroU16::new(n).unwrap();
        let mut parser = vt100::Parser::new(size(ROWS), size(COLS), 0);
        parser.process(&self.output.lock().unwrap());
        // Row by row: a full-width row followed by another is one "wrapped" line to
        // `contents()`, though the program wrote two.
        let rows: Vec<String> = parser
            .screen()
            .rows(0, COLS)
            .map(|r| r.trim_end().to_string())
            .collect();
        let end = rows
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        rows[..end].join("\n")
    }

    /// Waits until the screen (as plain text) contains `text`; panics with the screen after
    /// `within`.
    pub fn expect(&mut self, text: &str, within: Duration) {
        let started = Instant::now();
        while !strip(&self.raw()).contains(text) {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The last bytes may still be on their way from the reader thread.
                std::thread::sleep(Duration::from_millis(200));
                assert!(
                    strip(&self.raw()).contains(text),
                    "sls ended ({status:?}) without writing {text:?}:\n{}",
                    self.screen()
                );
                return;
            }
            assert!(
                started.elapsed() < within,
                "no {text:?} within {within:?}:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `bytes` at the terminal (`b"\x03"` is Ctrl-C: the terminal sends SIGINT).
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits for the exit code; the process is killed and the test fails after `within` (a
    /// hang is what these tests are for).
    pub fn wait(&mut self, within: Duration) -> u32 {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(200));
                return status.exit_code();
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                panic!("sls did not finish within {within:?}:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

/// Text without its escape sequences (CSI and OSC), for looking for words in raw output.
pub fn strip(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                for c in chars.by_ref() {
                    if c == '\x07' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}
