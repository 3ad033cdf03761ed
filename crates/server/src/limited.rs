//! Reading a request body or one multipart field into memory, never more than
//! a cap: the read stops at the first chunk past the cap, so a caller who
//! sends more costs the server at most the cap plus one chunk.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// Largest text field of a web form (CSRF token, folder prefix, justification).
pub const MAX_FORM_TEXT: usize = 4096;

/// Why a capped read stopped short.
#[derive(Debug)]
pub enum Short {
    /// More than the cap was sent (or declared in `Content-Length`).
    TooLarge,
    /// The body failed: the client went away, stalled, or sent a malformed form.
    Failed(String),
}

/// Reads `stream` to its end into memory; [`Short::TooLarge`] past `max` bytes.
/// `declared` (the `Content-Length`, when known) is refused before any read
/// when it is already past `max`, and sizes the buffer otherwise.
pub async fn read<S, E>(stream: S, declared: Option<u64>, max: u64) -> Result<Vec<u8>, Short>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    if declared.is_some_and(|n| n > max) {
        return Err(Short::TooLarge);
    }
    let capacity = declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let mut content = Vec::with_capacity(capacity);
    let mut stream = std::pin::pin!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Short::Failed(e.to_string()))?;
        if (content.len() + chunk.len()) as u64 > max {
            return Err(Short::TooLarge);
        }
        content.extend_from_slice(&chunk);
    }
    Ok(content)
}

/// Reads a text field of a web form: at most [`MAX_FORM_TEXT`] bytes of UTF-8.
pub async fn text<S, E>(stream: S) -> Result<String, Short>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let bytes = read(stream, None, MAX_FORM_TEXT as u64).await?;
    String::from_utf8(bytes).map_err(|_| Short::Failed("a text field is not UTF-8".into()))
}

/// A multipart field as a stream whose errors say what went wrong: axum's
/// `MultipartError` displays one generic sentence for every cause, and the
/// cause (a stalled body, a client that went away, a broken boundary) is what
/// a user and a log reader need.
pub fn field(
    field: axum::extract::multipart::Field<'_>,
) -> impl Stream<Item = Result<Bytes, String>> + '_ {
    field.map(|chunk| chunk.map_err(|e| multipart_reason(&e)))
}

/// What went wrong with a multipart body, in words (see [`field`]).
pub fn multipart_reason(e: &axum::extract::multipart::MultipartError) -> String {
    use std::error::Error as _;
    let mut text = e.body_text();
    // The parser's own error is `body_text`; below it, the body's.
    let mut cause = e.source().and_then(|parser| parser.source());
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The `Content-Length` of a request, when it is a number.
pub fn declared(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn check(chunks: &[&str], declared: Option<u64>, max: u64, want: Result<&str, &str>) {
        let items: Vec<Result<Bytes, String>> = chunks
            .iter()
            .map(|c| {
                if *c == "!" {
                    Err("gone".to_owned())
                } else {
                    Ok(Bytes::from(c.to_string()))
                }
            })
            .collect();
        let got = read(futures_util::stream::iter(items), declared, max).await;
        let got = match got {
            Ok(v) => Ok(String::from_utf8(v).unwrap_or_default()),
            Err(Short::TooLarge) => Err("too large".to_owned()),
            Err(Short::Failed(e)) => Err(e),
        };
        assert_eq!(
            got.as_deref().map_err(String::as_str),
            want,
            "{chunks:?} declared {declared:?} max {max}"
        );
    }

    /// Chunks (`!`: a failure), the declared length, the cap, what is read.
    type Row = (
        &'static [&'static str],
        Option<u64>,
        u64,
        Result<&'static str, &'static str>,
    );

    #[tokio::test]
    async fn reads_stop_at_the_cap() {
        let table: [Row; 7] = [
            (&["ab", "cd"], None, 4, Ok("abcd")),
            (&["ab", "cd"], Some(4), 4, Ok("abcd")),
            (&["ab", "cde"], None, 4, Err("too large")),
            (&["ab"], Some(5), 4, Err("too large")),
            (&[], None, 0, Ok("")),
            (&["ab", "!"], None, 4, Err("gone")),
            // The chunk past the cap is the last one read.
            (&["abcde", "!"], None, 4, Err("too large")),
        ];
        for (chunks, declared, max, want) in table {
            check(chunks, declared, max, want).await;
        }
    }
}
