//! The one error type of the render crate: what can be wrong with content handed
//! in to be shown page by page (an unsupported, malformed, encrypted or oversized
//! file, a page that does not exist, a renderer that takes too long) or with the
//! renderer itself, each with a stable machine-readable code.

use std::time::Duration;

use mark::MarkError;
use thiserror::Error;

/// Everything that can go wrong rendering a page.
///
/// Every variant except [`RenderError::ToolMissing`] and [`RenderError::Failed`]
/// is caused by the content (or the page number) the caller handed in.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// The content is none of the formats this crate renders.
    #[error("unsupported content: {0}")]
    Unsupported(String),
    /// The PDF is encrypted; it cannot be shown without its password.
    #[error("the pdf is encrypted: decrypt it before viewing it through custody")]
    Encrypted,
    /// The content does not parse, or the renderer gave up on it.
    #[error("malformed content: {0}")]
    Malformed(String),
    /// The content, or the page as declared, is over one of the configured limits.
    #[error("{what} is over the limit: {actual} > {limit}")]
    TooLarge {
        /// What was measured (input bytes, pixels, pages, rendered bytes).
        what: &'static str,
        /// The configured limit.
        limit: u64,
        /// What the content declares or holds (at least this much).
        actual: u64,
    },
    /// The renderer did not finish within the configured time and was killed.
    #[error("rendering the page took longer than {} s", .0.as_secs_f32())]
    Timeout(Duration),
    /// The page number is not in `1..=pages`.
    #[error("page {page} does not exist: the document has {pages} page(s)")]
    NoSuchPage {
        /// The page asked for (1-based).
        page: u32,
        /// How many pages the content has.
        pages: u32,
    },
    /// The external renderer could not be started (internal: a deployment problem).
    #[error("the pdf renderer `{tool}` cannot be started: {detail}")]
    ToolMissing {
        /// The program that was run.
        tool: String,
        /// Why it could not be started.
        detail: String,
    },
    /// Anything else that failed on our side (internal).
    #[error("rendering failed: {0}")]
    Failed(String),
}

impl RenderError {
    /// A stable code naming the kind of error; do not change.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsupported(_) => "render_unsupported",
            Self::Encrypted => "render_encrypted",
            Self::Malformed(_) => "render_malformed",
            Self::TooLarge { .. } => "render_too_large",
            Self::Timeout(_) => "render_timeout",
            Self::NoSuchPage { .. } => "render_no_such_page",
            Self::ToolMissing { .. } => "render_tool_missing",
            Self::Failed(_) => "render_failed",
        }
    }

    /// Whether the caller's content or request caused the error (as opposed to
    /// an internal failure).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::ToolMissing { .. } | Self::Failed(_))
    }
}

impl From<MarkError> for RenderError {
    fn from(e: MarkError) -> Self {
        match e {
            MarkError::Unsupported(m) => Self::Unsupported(m),
            MarkError::TooLarge {
                what,
                limit,
                actual,
            } => Self::TooLarge {
                what,
                limit,
                actual,
            },
            MarkError::BadImage(m) | MarkError::BadPdf(m) => Self::Malformed(m),
            MarkError::EncryptedPdf => Self::Encrypted,
            MarkError::BadText => Self::Unsupported("text content is not valid utf-8".into()),
            // A bad style is the server's configuration, not the caller's content.
            e @ (MarkError::BadStyle(_) | MarkError::Encode(_)) => Self::Failed(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_prefixed_and_messages_lowercase() {
        let all = [
            RenderError::Unsupported("x".into()),
            RenderError::Encrypted,
            RenderError::Malformed("x".into()),
            RenderError::TooLarge {
                what: "pixels",
                limit: 1,
                actual: 2,
            },
            RenderError::Timeout(Duration::from_secs(20)),
            RenderError::NoSuchPage { page: 3, pages: 2 },
            RenderError::ToolMissing {
                tool: "pdftoppm".into(),
                detail: "x".into(),
            },
            RenderError::Failed("x".into()),
        ];
        let mut codes: Vec<_> = all.iter().map(RenderError::code).collect();
        for e in &all {
            let msg = e.to_string();
            assert!(e.code().starts_with("render_"), "{}", e.code());
            assert!(!msg.ends_with('.'), "{msg}");
            assert_eq!(msg.chars().next().map(char::is_lowercase), Some(true));
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
