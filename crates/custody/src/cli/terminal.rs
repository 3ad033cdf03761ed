//! Talking to the person at the terminal: prompts (the password without echo,
//! through `stty`), and aligned text tables for the list commands.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Reads one line from stdin (without its line ending), after showing `prompt`
/// on stderr when stdin is a terminal.
pub fn prompt_line(prompt: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}");
        std::io::stderr()
            .flush()
            .context("cannot write to the terminal")?;
    }
    read_line()
}

/// Reads a secret: from the terminal without echo, or one line of stdin when
/// stdin is not a terminal.
pub fn prompt_secret(prompt: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        return read_line();
    }
    eprint!("{prompt}");
    std::io::stderr()
        .flush()
        .context("cannot write to the terminal")?;
    let line = {
        let _echo = EchoOff::new()?;
        read_line()
    };
    eprintln!();
    line
}

fn read_line() -> anyhow::Result<String> {
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read from stdin")?;
    if n == 0 {
        bail!("no input: stdin is closed");
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Terminal echo switched off until dropped.
struct EchoOff;

impl EchoOff {
    fn new() -> anyhow::Result<EchoOff> {
        stty("-echo").context("cannot switch off the terminal echo (is `stty` installed?)")?;
        Ok(EchoOff)
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _best_effort = stty("echo");
    }
}

fn stty(setting: &str) -> anyhow::Result<()> {
    let status = Command::new("stty")
        .arg(setting)
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("`stty {setting}` failed");
    }
    Ok(())
}

/// Left-aligned columns separated by two spaces, a header line first.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(header: &[&str], rows: &[&[&str]], expected: &str) {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect();
        assert_eq!(table(header, &rows), expected);
    }

    #[test]
    fn tables() {
        check(&["ID", "NAME"], &[], "ID  NAME\n");
        check(
            &["ID", "NAME", "ROLE"],
            &[&["1", "designs", "manager"], &["22", "é", "-"]],
            "ID  NAME     ROLE\n1   designs  manager\n22  é        -\n",
        );
    }
}
