//! The destinations: a JSON-lines file (appended, fsynced per batch, opened
//! afresh for each batch so that log rotation just works), standard output,
//! and a syslog collector over TCP or TLS (one connection, kept between
//! batches, re-opened after any failure).
//!
//! A batch counts as sent once it is written and flushed (and for a file,
//! fsynced). Plain syslog over TCP or TLS has no acknowledgement: bytes the
//! kernel accepted just before the collector went away can be lost. Before each
//! batch the sink therefore checks whether the collector closed the
//! connection, and reconnects, which closes that window for a collector that
//! restarted between batches but not for one that dies mid-batch.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::syslog::{self, Origin};
use crate::tls::{self, Trust};
use crate::{Item, SiemError, SyslogUrl, Transport, json};

/// How long connecting (and the TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long writing one batch may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where JSON lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonTarget {
    /// Appended to this file (created with mode 0600: events name people).
    File(PathBuf),
    Stdout,
}

/// One destination and its encoding.
pub struct Sink {
    kind: Kind,
}

enum Kind {
    Json(JsonTarget),
    Syslog {
        url: SyslogUrl,
        origin: Origin,
        tls: Option<TlsConnector>,
        conn: Option<Conn>,
    },
}

enum Conn {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Sink {
    /// A JSON-lines sink.
    pub fn json(target: JsonTarget) -> Sink {
        Sink {
            kind: Kind::Json(target),
        }
    }

    /// A syslog sink (RFC 5424, octet-counted). A `tls://` url needs `trust`;
    /// the CA file is read now, so a bad one fails at start.
    pub fn syslog(
        url: SyslogUrl,
        trust: Option<&Trust>,
        origin: Origin,
    ) -> Result<Sink, SiemError> {
        let tls = match (url.transport, trust) {
            (Transport::Tcp, _) => None,
            (Transport::Tls, Some(trust)) => {
                Some(TlsConnector::from(Arc::new(tls::client_config(trust)?)))
            }
            (Transport::Tls, None) => {
                return Err(SiemError::InvalidUrl {
                    url: url.to_string(),
                    reason: "a tls url needs a ca file or a certificate fingerprint".into(),
                });
            }
        };
        Ok(Sink {
            kind: Kind::Syslog {
                url,
                origin,
                tls,
                conn: None,
            },
        })
    }

    /// A short stable name for the sink's kind: `json` or `syslog`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Json(_) => "json",
            Kind::Syslog { .. } => "syslog",
        }
    }

    /// Where the sink writes, for logs.
    pub fn target(&self) -> String {
        match &self.kind {
            Kind::Json(JsonTarget::File(path)) => path.display().to_string(),
            Kind::Json(JsonTarget::Stdout) => "stdout".into(),
            Kind::Syslog { url, .. } => url.to_string(),
        }
    }

    /// The bytes one item becomes on this sink: a JSON line, or a framed
    /// syslog message.
    pub fn encode(&self, item: Item<'_>) -> Result<Vec<u8>, SiemError> {
        match &self.kind {
            Kind::Json(_) => Ok(json::line(item)?.into_bytes()),
            Kind::Syslog { origin, .. } => Ok(syslog::frame(&syslog::message(item, origin))),
        }
    }

    /// Sends a batch; on success every item has been written and flushed
    /// (fsynced for a file). On failure some may have been: the caller sends
    /// the batch again (at-least-once).
    pub async fn send(&mut self, items: &[Item<'_>]) -> Result<(), SiemError> {
        let mut bytes = Vec::new();
        for item in items {
            bytes.extend(self.encode(*item)?);
        }
        let target = self.target();
        let io = |source| SiemError::Io {
            target: target.clone(),
            source,
        };
        match &mut self.kind {
            Kind::Json(JsonTarget::File(path)) => append(path, &bytes).await.map_err(io),
            Kind::Json(JsonTarget::Stdout) => {
                let mut out = tokio::io::stdout();
                out.write_all(&bytes).await.map_err(io)?;
                out.flush().await.map_err(io)
            }
            Kind::Syslog { url, tls, conn, .. } => {
                if let Some(open) = conn
                    && open.peer_closed().await
                {
                    *conn = None;
                }
                let stream = match conn {
                    Some(open) => open,
                    None => conn.insert(connect(url, tls.as_ref(), &target).await?),
                };
                let written = tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&bytes)).await;
                let result = match written {
                    Ok(result) => result.map_err(io),
                    Err(_) => Err(io(std::io::Error::from(std::io::ErrorKind::TimedOut))),
                };
                if result.is_err() {
                    *conn = None;
                }
                result
            }
        }
    }
}

async fn append(path: &PathBuf, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .await?;
    file.write_all(bytes).await?;
    file.sync_data().await
}

async fn connect(
    url: &SyslogUrl,
    tls: Option<&TlsConnector>,
    target: &str,
) -> Result<Conn, SiemError> {
    let io = |source| SiemError::Io {
        target: target.to_owned(),
        source,
    };
    let tls_error = |detail: String| SiemError::Tls {
        target: target.to_owned(),
        detail,
    };
    let handshake = async {
        let tcp = TcpStream::connect(url.authority()).await.map_err(io)?;
        tcp.set_nodelay(true).map_err(io)?;
        let Some(connector) = tls else {
            return Ok(Conn::Tcp(tcp));
        };
        let name = ServerName::try_from(url.host.clone())
            .map_err(|_| tls_error(format!("`{}` is not a valid server name", url.host)))?;
        let stream = connector
            .connect(name, tcp)
            .await
            .map_err(|e| tls_error(e.to_string()))?;
        Ok(Conn::Tls(Box::new(stream)))
    };
    tokio::time::timeout(CONNECT_TIMEOUT, handshake)
        .await
        .map_err(|_| io(std::io::Error::from(std::io::ErrorKind::TimedOut)))?
}

impl Conn {
    /// Whether the collector has closed the connection (or broken it). A
    /// collector sends nothing on these transports, so anything readable is
    /// the end of the stream or an error.
    async fn peer_closed(&mut self) -> bool {
        let mut buf = [0u8; 64];
        let read = match self {
            Conn::Tcp(s) => probe(s, &mut buf).await,
            Conn::Tls(s) => probe(s.as_mut(), &mut buf).await,
        };
        // Pending: still open. Data: unexpected, but the connection lives.
        !matches!(read, None | Some(Ok(1..)))
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => write_flush(s, bytes).await,
            Conn::Tls(s) => write_flush(s.as_mut(), bytes).await,
        }
    }
}

/// Polls one read without waiting: `None` when nothing is ready.
async fn probe<S: AsyncRead + Unpin>(s: &mut S, buf: &mut [u8]) -> Option<std::io::Result<usize>> {
    tokio::time::timeout(Duration::ZERO, s.read(buf)).await.ok()
}

async fn write_flush<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) -> std::io::Result<()> {
    s.write_all(bytes).await?;
    s.flush().await
}
