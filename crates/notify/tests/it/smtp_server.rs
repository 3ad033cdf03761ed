//! A real SMTP server process on the loopback for the tests: aiosmtpd (PyPI)
//! run by `scripts/smtp-test-server.py`, which writes every message it accepts
//! to a directory. Missing aiosmtpd fails the test under `CI=true`; elsewhere
//! the test says NOT RUN and returns.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The Python with aiosmtpd: `CUSTODY_SMTP_PYTHON`, else scripts/test's venv.
fn python() -> PathBuf {
    std::env::var_os("CUSTODY_SMTP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/custody-smtp-venv/bin/python"))
}

/// Whether aiosmtpd can run; `false` (after saying so) when it cannot and
/// `CI` is not `true`; panics under `CI=true`.
pub fn available(test: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let message = format!(
            "{test}: NOT RUN: aiosmtpd is not installed (scripts/test installs it into /var/tmp/custody-smtp-venv)"
        );
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{message}: required when CI=true"
        );
        eprintln!("{message}");
    }
    ok
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// How the server is run.
#[derive(Clone, Default)]
pub struct Options {
    /// `(cert, key)` PEM files: STARTTLS required.
    pub starttls: Option<(PathBuf, PathBuf)>,
    /// `(cert, key)` PEM files: TLS from the first byte.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `(user, password)` for AUTH.
    pub auth: Option<(String, String)>,
}

/// A running server.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    child: Child,
}

impl SmtpServer {
    /// Starts the server on `port`, writing into `maildir`; returns once it listens.
    pub fn start(port: u16, maildir: &Path, o: &Options) -> SmtpServer {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-test-server.py");
        let mut cmd = Command::new(python());
        cmd.arg(script)
            .args(["--port", &port.to_string()])
            .arg("--maildir")
            .arg(maildir);
        if let Some((c, k)) = &o.starttls {
            cmd.arg("--starttls").arg(c).arg(k);
        }
        if let Some((c, k)) = &o.tls {
            cmd.arg("--tls").arg(c).arg(k);
        }
        if let Some((u, p)) = &o.auth {
            cmd.args(["--auth", u, p]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY", "the SMTP server did not start");
        SmtpServer {
            port,
            maildir: maildir.to_owned(),
            child,
        }
    }

    /// Every message received so far, in the order received.
    pub fn messages(&self) -> Vec<String> {
        messages(&self.maildir)
    }
}

/// Every message in `maildir`, in the order received.
pub fn messages(maildir: &Path) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(maildir) else {
        return vec![];
    };
    let mut names: Vec<PathBuf> = dir
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
        .collect()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of every header line named `name` (case-insensitive) in the head
/// of `message` (continuation lines joined).
pub fn headers(message: &str, name: &str) -> Vec<String> {
    let head = message.split("\r\n\r\n").next().unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(c) = current.as_mut() {
                c.push_str(line);
            }
            continue;
        }
        if let Some(c) = current.take() {
            out.push(c);
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            current = Some(v.trim().to_owned());
        }
    }
    out.extend(current);
    out
}
