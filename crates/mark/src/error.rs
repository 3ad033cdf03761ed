//! The one error type of the mark crate: what can be wrong with content handed
//! in to be marked or traced (an unsupported format, a corrupt or hostile file,
//! a file over a limit) or with a style, each with a stable machine-readable code.

use thiserror::Error;

/// Everything that can go wrong marking or tracing a file.
///
/// Every variant except [`MarkError::Encode`] is caused by the caller's input.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MarkError {
    /// The content is none of the formats this crate marks.
    #[error("unsupported content: {0}")]
    Unsupported(String),
    /// The content is over one of the configured limits.
    #[error("{what} is over the limit: {actual} > {limit}")]
    TooLarge {
        /// What was measured (pixels, pages, bytes, decompressed bytes).
        what: &'static str,
        /// The configured limit.
        limit: u64,
        /// What the content declares or holds (at least this much).
        actual: u64,
    },
    /// An image does not decode.
    #[error("invalid image: {0}")]
    BadImage(String),
    /// A PDF does not parse, or its page tree is broken.
    #[error("invalid pdf: {0}")]
    BadPdf(String),
    /// The PDF is encrypted; it cannot be stamped without its password.
    #[error("the pdf is encrypted: decrypt it before sharing it through custody")]
    EncryptedPdf,
    /// A text file is not UTF-8.
    #[error("text content is not valid utf-8")]
    BadText,
    /// A style setting is out of range.
    #[error("invalid style: {0}")]
    BadStyle(String),
    /// Re-encoding the marked content failed (internal).
    #[error("cannot encode the marked content: {0}")]
    Encode(String),
}

impl MarkError {
    /// A stable code naming the kind of error; do not change.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsupported(_) => "mark_unsupported",
            Self::TooLarge { .. } => "mark_too_large",
            Self::BadImage(_) => "mark_bad_image",
            Self::BadPdf(_) => "mark_bad_pdf",
            Self::EncryptedPdf => "mark_encrypted_pdf",
            Self::BadText => "mark_bad_text",
            Self::BadStyle(_) => "mark_bad_style",
            Self::Encode(_) => "mark_encode_failed",
        }
    }

    /// Whether the caller's input caused the error (as opposed to an internal failure).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Encode(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_prefixed_and_messages_lowercase() {
        let all = [
            MarkError::Unsupported("x".into()),
            MarkError::TooLarge {
                what: "pixels",
                limit: 1,
                actual: 2,
            },
            MarkError::BadImage("x".into()),
            MarkError::BadPdf("x".into()),
            MarkError::EncryptedPdf,
            MarkError::BadText,
            MarkError::BadStyle("x".into()),
            MarkError::Encode("x".into()),
        ];
        let mut codes: Vec<_> = all.iter().map(MarkError::code).collect();
        for e in &all {
            let msg = e.to_string();
            assert!(e.code().starts_with("mark_"), "{}", e.code());
            assert!(!msg.ends_with('.'), "{msg}");
            assert_eq!(msg.chars().next().map(char::is_lowercase), Some(true));
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
