//! Transfer progress bars on stderr (bytes, rate, time left), shown when asked and
//! stderr is a terminal, or always when forced; hidden otherwise.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

/// Whether a transfer shows a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// Never draw.
    Hidden,
    /// Draw when stderr is a terminal.
    #[default]
    Auto,
    /// Draw on stderr even when it is not a terminal.
    Always,
}

impl From<bool> for Progress {
    /// `true` means [`Progress::Auto`], `false` [`Progress::Hidden`].
    fn from(show: bool) -> Self {
        if show { Self::Auto } else { Self::Hidden }
    }
}

const TEMPLATE: &str = "{msg} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}";
const TEMPLATE_UNKNOWN_LENGTH: &str = "{msg} {spinner} {bytes} {binary_bytes_per_sec}";

/// A bar for a transfer of `len` bytes (unknown when `None`), labelled `label`.
pub(crate) fn bar(mode: Progress, len: Option<u64>, label: &str) -> ProgressBar {
    let target = match mode {
        Progress::Hidden => return ProgressBar::hidden(),
        Progress::Auto if !std::io::stderr().is_terminal() => return ProgressBar::hidden(),
        Progress::Auto => ProgressDrawTarget::stderr(),
        Progress::Always => ProgressDrawTarget::term_like(Box::new(ForcedStderr)),
    };
    let template = if len.is_some() {
        TEMPLATE
    } else {
        TEMPLATE_UNKNOWN_LENGTH
    };
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::with_draw_target(len, target).with_style(style);
    bar.set_message(label.to_owned());
    bar
}

/// stderr driven with ANSI escapes whether or not it is a terminal, for `Always`.
#[derive(Debug)]
struct ForcedStderr;

impl ForcedStderr {
    fn put(&self, s: &str) -> std::io::Result<()> {
        std::io::stderr().lock().write_all(s.as_bytes())
    }
}

impl TermLike for ForcedStderr {
    fn width(&self) -> u16 {
        100
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}A"))
        }
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}B"))
        }
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}C"))
        }
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}D"))
        }
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(&format!("{s}\n"))
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.put("\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
