//! `custody serve` and poppler's `pdftoppm`, which draws the viewer's PDF
//! pages: a server that cannot run it refuses to start, before it touches
//! its data directory, and says what to install or set; one told to run
//! without PDF viewing starts and says so.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::*;

/// Runs `custody serve` with `env` until it exits or prints its address;
/// returns whether it listened, its standard output so far and (if it
/// exited) its standard error.
pub(crate) fn serve_with(scratch: &Scratch, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = serve_command(&scratch.data());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _test_done = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = String::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                out.push_str(&line);
                out.push('\n');
                if line.starts_with("listening on ") {
                    let _ = child.kill();
                    let _ = child.wait();
                    return (true, out, String::new());
                }
            }
            Err(_) if child.try_wait().unwrap().is_some() => {
                let mut err = String::new();
                stderr.read_to_string(&mut err).unwrap();
                while let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                    out.push_str(&line);
                    out.push('\n');
                }
                return (false, out, err);
            }
            Err(_) => assert!(
                Instant::now() < deadline,
                "the server neither started nor exited: {out}"
            ),
        }
    }
}

/// Environment variables of a start.
type Env<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn serve_refuses_to_start_without_pdftoppm_unless_told_to_run_without_pdfs() {
    let missing = "/nonexistent/poppler/pdftoppm";
    let refusals: [(&str, Env, &[&str]); 3] = [
        (
            "no such program",
            &[("CUSTODY_PDFTOPPM", missing)],
            &[missing, "poppler-utils", "pdf_viewer = false"],
        ),
        (
            "a program that is not pdftoppm",
            &[("CUSTODY_PDFTOPPM", "true")],
            &["did not answer as poppler's pdftoppm does", "poppler-utils"],
        ),
        (
            "an empty path",
            &[("CUSTODY_PDFTOPPM", "")],
            &["`pdftoppm` must name a program"],
        ),
    ];
    for (case, env, says) in refusals {
        let scratch = Scratch::new();
        let (listened, out, err) = serve_with(&scratch, env);
        assert!(!listened, "{case}: the server started:\n{out}");
        for piece in says {
            assert!(err.contains(piece), "{case}: no `{piece}` in:\n{err}");
        }
        assert_eq!(err.lines().count(), 1, "{case}: one line:\n{err}");
        assert!(
            !scratch.data().exists(),
            "{case}: the data directory was made before the refusal"
        );
    }
    let starts: [(&str, Env, &str); 2] = [
        (
            "turned off",
            &[
                ("CUSTODY_PDFTOPPM", missing),
                ("CUSTODY_PDF_VIEWER", "false"),
            ],
            "pdf viewer: off",
        ),
        ("installed", &[], "listening on"),
    ];
    for (case, env, says) in starts {
        let scratch = Scratch::new();
        let (listened, out, err) = serve_with(&scratch, env);
        assert!(listened, "{case}: the server did not start:\n{out}\n{err}");
        assert!(out.contains(says), "{case}: no `{says}` in:\n{out}");
    }
}
