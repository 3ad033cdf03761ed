//! File transfers in constant memory. Uploads stream the local file as the request
//! body and check the server's digest against the one computed on the way out.
//! Downloads stream into a temporary file beside the target, hash while writing,
//! and only an intact, digest-checked, fsynced file is renamed into place; on any
//! failure (wrong digest, body cut short, cancellation) the temporary file is removed.

use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::BytesMut;
use futures_util::StreamExt as _;
use indicatif::ProgressBar;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use reqwest::{Body, Method};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::oneshot;

use crate::api::{FileId, FileInfo, RoomId};
use crate::client::decode;
use crate::path::{encode_path, encode_segment};
use crate::progress::{Progress, bar};
use crate::{Client, ClientError};

/// Size of each read from disk during an upload.
const CHUNK: usize = 256 * 1024;

/// The RFC 9530 header carrying the digest of the whole representation.
const REPR_DIGEST: &str = "repr-digest";

impl Client {
    /// Upload `local` to `remote_path` in a room, streaming it from disk, and check
    /// that the server stored exactly the bytes sent.
    pub async fn put_file(
        &self,
        room: &RoomId,
        remote_path: &str,
        local: &Path,
        progress: impl Into<Progress>,
    ) -> Result<FileInfo, ClientError> {
        let route = format!(
            "/rooms/{}/files/{}",
            encode_segment(room.as_str()),
            encode_path(remote_path)?
        );
        let file = tokio::fs::File::open(local)
            .await
            .map_err(|e| ClientError::io(local, e))?;
        let len = file
            .metadata()
            .await
            .map_err(|e| ClientError::io(local, e))?
            .len();
        let bar = bar(progress.into(), Some(len), remote_path);
        let (digest_tx, digest_rx) = oneshot::channel();
        let body = Body::wrap_stream(upload_stream(file, len, bar.clone(), digest_tx));
        let request = self
            .request(Method::PUT, &route)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, len)
            .body(body);
        let result = self.send(request).await;
        bar.finish_and_clear();
        let response = result?;
        if response.status() == reqwest::StatusCode::ACCEPTED {
            let held: serde_json::Value = decode(response).await?;
            let why = held_reason(&held["reason"]);
            return Err(ClientError::Held {
                version: held["version_id"].as_str().unwrap_or("?").to_owned(),
                why,
            });
        }
        let info: FileInfo = decode(response).await?;
        let sent = match digest_rx.await {
            Ok(sent) => sent,
            // An empty body is never polled.
            Err(_) if len == 0 => to_array(digest::digest(&digest::SHA256, b"")),
            Err(_) => {
                return Err(ClientError::Integrity {
                    detail: "the upload finished before the whole file was read".to_owned(),
                });
            }
        };
        if info.size != len {
            return Err(ClientError::Integrity {
                detail: format!("sent {len} bytes but the server stored {}", info.size),
            });
        }
        check_hex_digest(&sent, &info.sha256, "the server's stored sha256")?;
        Ok(info)
    }

    /// Download the current version of a file to `out`, replacing it atomically and
    /// only when the content matches the server's digests.
    pub async fn get_file(
        &self,
        file: &FileId,
        out: &Path,
        progress: impl Into<Progress>,
    ) -> Result<FileInfo, ClientError> {
        let info = self.get_file_info(file).await?;
        let route = format!("/files/{}/content", encode_segment(file.as_str()));
        let response = self.send(self.request(Method::GET, &route)).await?;
        let announced = repr_digest(response.headers())?;
        let response_marked = response.headers().contains_key("custody-mark-id");
        let length = response.content_length();

        let mut partial = Partial::create(out).await?;
        let bar = bar(progress.into(), length, &info.path);
        let streamed = stream_to(&mut partial, response, &bar).await;
        bar.finish_and_clear();
        let (received, computed) = streamed?;

        if let Some(expected) = length.filter(|expected| *expected != received) {
            return Err(ClientError::Integrity {
                detail: format!("received {received} of {expected} bytes"),
            });
        }
        if computed != announced {
            return Err(ClientError::Integrity {
                detail: format!(
                    "content sha256 {} differs from the announced Repr-Digest {}",
                    hex::encode(computed),
                    hex::encode(announced)
                ),
            });
        }
        // A copy marked for its recipient differs from the listed content by
        // design; the announced digest above covers it.
        if !response_marked {
            check_hex_digest(&computed, &info.sha256, "the file's listed sha256")?;
        }
        partial.commit(out).await?;
        Ok(info)
    }
}

/// Why the server held an upload, in words: what could not be inspected, or
/// the severity and detectors of the findings (ids only, never the content).
fn held_reason(reason: &serde_json::Value) -> String {
    if let Some(why) = reason["uninspectable"].as_str() {
        return format!("it could not be inspected: {why}");
    }
    let mut detectors: Vec<String> = reason["detectors"]
        .as_object()
        .map(|m| m.iter().map(|(id, n)| format!("{id} x{n}")).collect())
        .unwrap_or_default();
    // Crown jewels are named: the registered document and the share.
    for j in reason["crown_jewels"].as_array().into_iter().flatten() {
        let share = j["share"].as_f64().unwrap_or(0.0) * 100.0;
        let name = j["name"].as_str().unwrap_or("?");
        detectors.push(format!(
            "an excerpt of the crown jewel `{name}` ({share:.0} %)"
        ));
    }
    match reason["max_severity"].as_str() {
        Some(severity) if !detectors.is_empty() => {
            format!("{severity} findings: {}", detectors.join(", "))
        }
        Some(severity) => format!("{severity} findings"),
        None => "the room's policy".to_owned(),
    }
}

/// A stream of exactly `len` bytes of the file that hashes them as they go and
/// hands the digest over through `done` with the last chunk (the HTTP layer stops
/// polling once `Content-Length` bytes are sent, so end-of-file is never seen).
fn upload_stream(
    file: tokio::fs::File,
    len: u64,
    bar: ProgressBar,
    done: oneshot::Sender<[u8; 32]>,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    struct State {
        file: tokio::io::Take<tokio::fs::File>,
        hasher: digest::Context,
        bar: ProgressBar,
        done: Option<oneshot::Sender<[u8; 32]>>,
    }
    let state = State {
        file: file.take(len),
        hasher: digest::Context::new(&digest::SHA256),
        bar,
        done: Some(done),
    };
    futures_util::stream::try_unfold(state, |mut state| async move {
        if state.file.limit() == 0 {
            finish(&mut state.hasher, &mut state.done);
            return Ok(None);
        }
        let mut buf = BytesMut::with_capacity(CHUNK);
        if state.file.read_buf(&mut buf).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file shrank during the upload",
            ));
        }
        state.hasher.update(&buf);
        state.bar.inc(buf.len() as u64);
        if state.file.limit() == 0 {
            finish(&mut state.hasher, &mut state.done);
        }
        Ok(Some((buf.freeze(), state)))
    })
}

/// Hand the digest over once; later calls do nothing.
fn finish(hasher: &mut digest::Context, done: &mut Option<oneshot::Sender<[u8; 32]>>) {
    if let Some(done) = done.take() {
        let _receiver_gone = done.send(to_array(hasher.clone().finish()));
    }
}

/// Write the response body to the partial file; returns the byte count and SHA-256.
async fn stream_to(
    partial: &mut Partial,
    response: reqwest::Response,
    bar: &ProgressBar,
) -> Result<(u64, [u8; 32]), ClientError> {
    let mut hasher = digest::Context::new(&digest::SHA256);
    let mut received = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|source| match ClientError::transport(source) {
            ClientError::Http { source } | ClientError::Connect { source } => {
                ClientError::Truncated { received, source }
            }
            other => other,
        })?;
        partial.write(&chunk).await?;
        hasher.update(&chunk);
        received += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    Ok((received, to_array(hasher.finish())))
}

fn to_array(digest: digest::Digest) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Compare a computed digest with a hex one from a JSON answer.
fn check_hex_digest(computed: &[u8; 32], listed: &str, what: &str) -> Result<(), ClientError> {
    let mut expected = [0u8; 32];
    hex::decode_to_slice(listed.trim(), &mut expected).map_err(|_| ClientError::BadResponse {
        detail: format!("{what} `{listed}` is not a hex sha256"),
    })?;
    if expected != *computed {
        return Err(ClientError::Integrity {
            detail: format!(
                "content sha256 {} differs from {what} {listed}",
                hex::encode(computed)
            ),
        });
    }
    Ok(())
}

/// The SHA-256 announced by `Repr-Digest: sha-256=:<base64>:` (RFC 9530); other
/// algorithms in the same header are ignored, a missing sha-256 is an error.
pub(crate) fn repr_digest(headers: &HeaderMap) -> Result<[u8; 32], ClientError> {
    let missing = || ClientError::Integrity {
        detail: "the server sent no sha-256 Repr-Digest".to_owned(),
    };
    for value in headers.get_all(REPR_DIGEST) {
        let text = value.to_str().map_err(|_| ClientError::BadResponse {
            detail: "Repr-Digest is not ascii".to_owned(),
        })?;
        if let Some(digest) = parse_repr_digest(text)? {
            return Ok(digest);
        }
    }
    Err(missing())
}

fn parse_repr_digest(header: &str) -> Result<Option<[u8; 32]>, ClientError> {
    let bad = || ClientError::BadResponse {
        detail: format!("malformed Repr-Digest `{header}`"),
    };
    for member in header.split(',') {
        let Some((name, value)) = member.trim().split_once('=') else {
            return Err(bad());
        };
        if !name.trim().eq_ignore_ascii_case("sha-256") {
            continue;
        }
        let encoded = value
            .trim()
            .strip_prefix(':')
            .and_then(|v| v.strip_suffix(':'))
            .ok_or_else(bad)?;
        let bytes = BASE64.decode(encoded).map_err(|_| bad())?;
        return <[u8; 32]>::try_from(bytes.as_slice())
            .map(Some)
            .map_err(|_| bad());
    }
    Ok(None)
}

/// A temporary file beside the target; removed on drop unless committed.
struct Partial {
    path: PathBuf,
    file: Option<tokio::fs::File>,
}

impl Partial {
    async fn create(out: &Path) -> Result<Self, ClientError> {
        let name = out
            .file_name()
            .ok_or_else(|| {
                ClientError::io(
                    out,
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
                )
            })?
            .to_string_lossy();
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| {
            ClientError::io(
                out,
                std::io::Error::other("no randomness for a temporary name"),
            )
        })?;
        let path = out.with_file_name(format!(".{name}.{}.partial", hex::encode(nonce)));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(|e| ClientError::io(&path, e))?;
        Ok(Self {
            path,
            file: Some(file),
        })
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<(), ClientError> {
        match self.file.as_mut() {
            Some(file) => file
                .write_all(chunk)
                .await
                .map_err(|e| ClientError::io(&self.path, e)),
            None => Err(ClientError::io(
                &self.path,
                std::io::Error::other("the temporary file is closed"),
            )),
        }
    }

    /// fsync, rename over `out`, fsync the directory; the temp file is gone after.
    async fn commit(mut self, out: &Path) -> Result<(), ClientError> {
        if let Some(mut file) = self.file.take() {
            file.flush()
                .await
                .map_err(|e| ClientError::io(&self.path, e))?;
            file.sync_all()
                .await
                .map_err(|e| ClientError::io(&self.path, e))?;
        }
        tokio::fs::rename(&self.path, out)
            .await
            .map_err(|e| ClientError::io(out, e))?;
        self.path = PathBuf::new();
        sync_parent(out).await
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.path.as_os_str().is_empty() {
            let _already_gone = std::fs::remove_file(&self.path);
        }
    }
}

/// Make the rename durable (directories can be fsynced on Unix only).
async fn sync_parent(out: &Path) -> Result<(), ClientError> {
    if cfg!(unix) {
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let handle = tokio::fs::File::open(dir)
            .await
            .map_err(|e| ClientError::io(dir, e))?;
        handle
            .sync_all()
            .await
            .map_err(|e| ClientError::io(dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC_B64: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
    const ABC_HEX: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn check(header: &str, expected: Result<Option<&str>, ()>) {
        let got = parse_repr_digest(header)
            .map(|d| d.map(hex::encode))
            .map_err(|_| ());
        assert_eq!(
            got,
            expected.map(|d| d.map(str::to_owned)),
            "header `{header}`"
        );
    }

    #[test]
    fn parse_repr_digest_table() {
        let cases = [
            (format!("sha-256=:{ABC_B64}:"), Ok(Some(ABC_HEX))),
            (format!("SHA-256=:{ABC_B64}:"), Ok(Some(ABC_HEX))),
            (
                format!("sha-512=:AAAA:, sha-256=:{ABC_B64}:"),
                Ok(Some(ABC_HEX)),
            ),
            ("sha-512=:AAAA:".to_owned(), Ok(None)),
            (format!("sha-256={ABC_B64}"), Err(())),
            ("sha-256=:AAAA:".to_owned(), Err(())),
            ("sha-256=:!!:".to_owned(), Err(())),
            ("garbage".to_owned(), Err(())),
        ];
        for (header, expected) in cases {
            check(&header, expected);
        }
    }
}
