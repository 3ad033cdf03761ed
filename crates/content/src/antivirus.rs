//! Antivirus: every inbound file is streamed to clamd while it is sealed, over
//! clamd's `INSTREAM` command (spoken here, on a blocking socket with
//! timeouts: `zINSTREAM\0`, then chunks each led by its length as four bytes
//! big-endian, then a chunk of length zero; clamd answers `stream: OK`,
//! `stream: <signature> FOUND`, or an error such as `INSTREAM size limit
//! exceeded. ERROR`). The pieces reach clamd from a thread of their own, fed
//! the same pieces the sealer seals, so the file is read once.
//!
//! The verdict is clean, infected (with the signature's name) or
//! uninspectable (with why: [`UNREACHABLE`], [`TIMEOUT`], [`TOO_LARGE`],
//! [`ERROR`]); a clamd that cannot be reached never fails an upload by itself:
//! the room's policy decides what an uninspectable file becomes
//! (docs/antivirus.md).

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use kernel::authz::Principal;
use kernel::events::{Fact, RequestMeta, record};
use kernel::{AntivirusSettings, App, AppError, ClamdAddress, EventName};
use model::{MailAddress, MailTemplate, RoomId, VersionId};
use serde_json::json;

use crate::dlp_policy::DlpAction;

/// clamd could not be reached (no socket, connection refused).
pub const UNREACHABLE: &str = "av_unreachable";
/// clamd did not take the stream or answer within the timeout.
pub const TIMEOUT: &str = "av_timeout";
/// The file is larger than clamd's `StreamMaxLength`.
pub const TOO_LARGE: &str = "av_too_large";
/// clamd answered something else than a verdict.
pub const ERROR: &str = "av_error";

/// Largest chunk sent to clamd at once.
const CHUNK: usize = 64 << 10;
/// Longest reply read from clamd.
const MAX_REPLY: u64 = 4 << 10;

/// What clamd says of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// clamd found the signature named.
    Infected(String),
    /// The file could not be scanned, and why ([`UNREACHABLE`] …).
    Uninspectable(String),
}

impl Verdict {
    /// The stable name: `clean`, `infected` or `uninspectable`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Infected(_) => "infected",
            Verdict::Uninspectable(_) => "uninspectable",
        }
    }

    /// As stored for `version`.
    pub(crate) fn stored(&self, version: model::VersionId, now: i64) -> store::AvVerdict {
        let (signature, reason) = match self {
            Verdict::Clean => (None, None),
            Verdict::Infected(s) => (Some(s.clone()), None),
            Verdict::Uninspectable(r) => (None, Some(r.clone())),
        };
        store::AvVerdict {
            version_id: version,
            verdict: self.as_str().to_owned(),
            signature,
            reason,
            scanned_ms: now,
        }
    }

    /// The event detail.
    pub(crate) fn detail(&self) -> serde_json::Value {
        match self {
            Verdict::Clean => serde_json::json!({"verdict": "clean"}),
            Verdict::Infected(s) => serde_json::json!({"verdict": "infected", "signature": s}),
            Verdict::Uninspectable(r) => {
                serde_json::json!({"verdict": "uninspectable", "reason": r})
            }
        }
    }
}

/// A connection to clamd, either kind of socket.
enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.flush(),
            Conn::Tcp(s) => s.flush(),
        }
    }
}

/// Connects to clamd with `timeout` on the connection and on every read and write.
fn connect(address: &ClamdAddress, timeout: Duration) -> io::Result<Conn> {
    match address {
        ClamdAddress::Unix(path) => {
            let s = UnixStream::connect(path)?;
            s.set_read_timeout(Some(timeout))?;
            s.set_write_timeout(Some(timeout))?;
            Ok(Conn::Unix(s))
        }
        ClamdAddress::Tcp(hostport) => {
            let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
            for addr in hostport.to_socket_addrs()? {
                match TcpStream::connect_timeout(&addr, timeout) {
                    Ok(s) => {
                        s.set_read_timeout(Some(timeout))?;
                        s.set_write_timeout(Some(timeout))?;
                        s.set_nodelay(true)?;
                        return Ok(Conn::Tcp(s));
                    }
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
    }
}

/// Why an I/O failure makes a file uninspectable.
fn reason_of(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TIMEOUT,
        _ => UNREACHABLE,
    }
}

/// Reads clamd's reply (up to its terminating NUL, or the end).
fn reply(conn: &mut Conn) -> io::Result<String> {
    let mut bytes = Vec::new();
    Read::take(&mut *conn, MAX_REPLY)
        .read_to_end(&mut bytes)
        .or_else(|e| {
            // A reply that ended with its NUL before the peer closed is whole.
            if bytes.ends_with(b"\0") {
                Ok(0)
            } else {
                Err(e)
            }
        })?;
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Ok(String::from_utf8_lossy(&bytes[..end]).trim().to_owned())
}

/// The verdict of an `INSTREAM` reply.
fn verdict_of(reply: &str) -> Verdict {
    let body = reply.strip_prefix("stream:").map(str::trim);
    match body {
        Some("OK") => Verdict::Clean,
        Some(found) if found.ends_with(" FOUND") => {
            let name = found.trim_end_matches(" FOUND").trim();
            Verdict::Infected(name.chars().filter(|c| !c.is_control()).take(200).collect())
        }
        _ if reply.contains("size limit exceeded") => Verdict::Uninspectable(TOO_LARGE.into()),
        _ => Verdict::Uninspectable(ERROR.into()),
    }
}

/// Asks clamd at `settings` whether it answers (`PING` → `PONG`); the error
/// says what went wrong, for the operator.
pub fn ping(settings: &AntivirusSettings) -> Result<(), String> {
    let at = &settings.clamd;
    let mut conn = connect(at, settings.timeout).map_err(|e| format!("clamd at {at}: {e}"))?;
    conn.write_all(b"zPING\0")
        .map_err(|e| format!("clamd at {at}: {e}"))?;
    let got = reply(&mut conn).map_err(|e| format!("clamd at {at}: {e}"))?;
    if got == "PONG" {
        Ok(())
    } else {
        Err(format!("clamd at {at} answered `{got}` to PING, not PONG"))
    }
}

/// One file on its way to clamd.
struct Instream {
    conn: Option<Conn>,
    /// Why the scan already failed, if it did.
    failed: Option<&'static str>,
}

impl Instream {
    fn open(settings: &AntivirusSettings) -> Instream {
        match connect(&settings.clamd, settings.timeout)
            .and_then(|mut c| c.write_all(b"zINSTREAM\0").map(|()| c))
        {
            Ok(conn) => Instream {
                conn: Some(conn),
                failed: None,
            },
            Err(e) => Instream {
                conn: None,
                failed: Some(reason_of(&e)),
            },
        }
    }

    fn push(&mut self, piece: &[u8]) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        for chunk in piece.chunks(CHUNK) {
            let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX).to_be_bytes();
            if let Err(e) = conn.write_all(&len).and_then(|()| conn.write_all(chunk)) {
                self.stopped(&e);
                return;
            }
        }
    }

    /// clamd stopped taking the stream: its reply (a size limit) says why,
    /// else the write's error does.
    fn stopped(&mut self, e: &io::Error) {
        let said = self.conn.take().and_then(|mut c| reply(&mut c).ok());
        self.failed = Some(match said.as_deref().map(verdict_of) {
            Some(Verdict::Uninspectable(r)) if r == TOO_LARGE => TOO_LARGE,
            _ => reason_of(e),
        });
    }

    fn finish(mut self) -> Verdict {
        if let Some(conn) = self.conn.as_mut() {
            match conn.write_all(&[0, 0, 0, 0]) {
                Ok(()) => {
                    return match reply(conn) {
                        Ok(text) => verdict_of(&text),
                        Err(e) => Verdict::Uninspectable(reason_of(&e).into()),
                    };
                }
                Err(e) => self.stopped(&e),
            }
        }
        Verdict::Uninspectable(self.failed.unwrap_or(UNREACHABLE).into())
    }
}

/// What the room's policy does with a verdict while the upload can still be
/// refused (before its blob is committed).
pub(crate) struct Gate {
    pub settings: AntivirusSettings,
    /// The room's action for infected files (`quarantine` or `block`).
    pub infected: DlpAction,
    /// The room's inbound action for content it cannot inspect.
    pub uninspectable: DlpAction,
    /// Whether the uploader gave a justification.
    pub justified: bool,
}

impl Gate {
    /// The action a verdict calls for; `Err` for a refusal.
    pub(crate) fn decide(&self, verdict: &Verdict) -> Result<DlpAction, AppError> {
        match verdict {
            Verdict::Clean => Ok(DlpAction::Allow),
            Verdict::Infected(signature) if self.infected == DlpAction::Block => {
                Err(AppError::Infected {
                    signature: signature.clone(),
                    message: format!(
                        "the upload was refused: the antivirus found malware in it \
                         (`{signature}`); the security officers were told"
                    ),
                })
            }
            Verdict::Infected(_) => Ok(DlpAction::Quarantine),
            Verdict::Uninspectable(why) => match self.uninspectable {
                DlpAction::Block => Err(AppError::invalid(
                    kernel::ErrorCode::AvUninspectable,
                    format!(
                        "the upload was blocked: it could not be scanned for malware \
                         (`{why}`), and the room's policy blocks what it cannot inspect"
                    ),
                )),
                DlpAction::Justify if !self.justified => Err(AppError::JustificationRequired {
                    message: format!(
                        "this upload needs a justification: it could not be scanned for \
                         malware (`{why}`); give the reason for it as a justification"
                    ),
                }),
                other => Ok(other),
            },
        }
    }
}

/// An infected upload to report.
pub(crate) struct Infected<'a> {
    pub room: RoomId,
    pub path: &'a str,
    pub signature: &'a str,
    pub uploader: &'a Principal,
    /// The held version, when the room quarantines (else it was refused).
    pub held: Option<VersionId>,
}

/// Records `av.infected` in `tx` and tells the security officers (else the
/// admins) of the owner party: a notification each, and an e-mail through
/// the outbox at once when mail is configured (the notification marked
/// mailed, so the mail worker does not send it again).
pub(crate) async fn report_infected(
    app: &App,
    tx: &mut store::Tx,
    meta: &RequestMeta,
    now: i64,
    i: &Infected<'_>,
) -> Result<(), AppError> {
    let room_name = tx
        .get_room(i.room)
        .await?
        .map(|r| r.name)
        .unwrap_or_default();
    let uploader = tx
        .get_user(i.uploader.user_id)
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    let (action, what) = match i.held {
        Some(_) => (
            "quarantine",
            "It is held in quarantine, where it can only be rejected.",
        ),
        None => ("block", "It was refused; nothing was stored."),
    };
    let target = match i.held {
        Some(v) => format!("version:{v}"),
        None => format!("room:{}/{}", i.room, i.path),
    };
    let detail = json!({
        "room": i.room.to_string(), "path": i.path, "signature": i.signature,
        "action": action, "version_id": i.held.map(|v| v.to_string()),
    });
    let fact = Fact::allowed(Some(i.uploader), EventName::AvInfected, target.clone());
    record(tx, meta, now, fact.with(detail)).await?;
    let subject = format!("Malware found in an upload to {room_name}");
    let message = format!(
        "The antivirus found {signature} in {path}, uploaded by {uploader} to the room \
         {room_name}. {what}",
        signature = i.signature,
        path = i.path,
    );
    let mail = app.settings().mail_enabled;
    for officer in kernel::events::officers(tx).await? {
        let kind = EventName::AvInfected.as_str();
        let note =
            kernel::events::notify(tx, officer.id, now, kind, target.clone(), message.clone())
                .await?;
        // Mailed at once, in this transaction: the mail worker's pass over
        // notifications then leaves this one alone.
        if mail && let Ok(to) = MailAddress::parse(&officer.email) {
            let template = MailTemplate::Notification {
                subject: subject.clone(),
                message: message.clone(),
            };
            kernel::outbox::enqueue(tx, now, &to, &template).await?;
            tx.mark_notification_mailed(note, now).await?;
        }
    }
    Ok(())
}

/// A scan on a thread of its own, fed the pieces the writer seals.
pub(crate) struct Scan {
    feed: Option<std::sync::mpsc::SyncSender<bytes::Bytes>>,
    worker: Option<std::thread::JoinHandle<Verdict>>,
}

impl Scan {
    /// Connects to clamd and starts its thread; at most `depth` pieces wait.
    pub(crate) fn start(settings: AntivirusSettings, depth: usize) -> Result<Scan, AppError> {
        let (feed, pieces) = std::sync::mpsc::sync_channel::<bytes::Bytes>(depth);
        let worker = std::thread::Builder::new()
            .name("av-scan".into())
            .spawn(move || {
                let mut stream = Instream::open(&settings);
                for piece in pieces {
                    stream.push(&piece);
                }
                stream.finish()
            })
            .map_err(AppError::internal)?;
        Ok(Scan {
            feed: Some(feed),
            worker: Some(worker),
        })
    }

    /// Hands over the next piece (the thread takes every piece, whatever
    /// clamd does).
    pub(crate) fn push(&mut self, piece: bytes::Bytes) {
        if let Some(feed) = &self.feed {
            // A thread that ended early (it cannot) is seen at `finish`.
            let _ = feed.send(piece);
        }
    }

    /// Waits for clamd's verdict on the whole file.
    pub(crate) fn finish(mut self) -> Result<Verdict, AppError> {
        self.feed = None;
        match self.worker.take().map(std::thread::JoinHandle::join) {
            Some(Ok(v)) => Ok(v),
            _ => Err(AppError::internal("the antivirus scan panicked")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_as_verdicts() {
        let cases = [
            ("stream: OK", Verdict::Clean),
            (
                "stream: Eicar-Test-Signature FOUND",
                Verdict::Infected("Eicar-Test-Signature".into()),
            ),
            (
                "stream: Custody.Test.Custom-1.UNOFFICIAL FOUND",
                Verdict::Infected("Custody.Test.Custom-1.UNOFFICIAL".into()),
            ),
            (
                "INSTREAM size limit exceeded. ERROR",
                Verdict::Uninspectable(TOO_LARGE.into()),
            ),
            ("UNKNOWN COMMAND", Verdict::Uninspectable(ERROR.into())),
            ("", Verdict::Uninspectable(ERROR.into())),
        ];
        for (reply, want) in cases {
            assert_eq!(verdict_of(reply), want, "{reply:?}");
        }
    }

    #[test]
    fn addresses_are_parsed() {
        let cases: [(&str, Result<ClamdAddress, ()>); 6] = [
            (
                "/run/clamav/clamd.ctl",
                Ok(ClamdAddress::Unix("/run/clamav/clamd.ctl".into())),
            ),
            (
                "unix:/tmp/c.sock",
                Ok(ClamdAddress::Unix("/tmp/c.sock".into())),
            ),
            (
                "127.0.0.1:3310",
                Ok(ClamdAddress::Tcp("127.0.0.1:3310".into())),
            ),
            (
                "tcp://av.internal:3310",
                Ok(ClamdAddress::Tcp("av.internal:3310".into())),
            ),
            ("clamd", Err(())),
            ("host:0", Err(())),
        ];
        for (text, want) in cases {
            assert_eq!(ClamdAddress::parse(text).map_err(|_| ()), want, "{text}");
        }
    }

    #[test]
    fn an_absent_clamd_makes_the_file_uninspectable() {
        let dir = std::env::temp_dir().join(format!("custody-no-clamd-{}", std::process::id()));
        let settings = AntivirusSettings::new(ClamdAddress::Unix(dir.join("none.sock")));
        let mut scan = Scan::start(settings.clone(), 2).unwrap();
        scan.push(bytes::Bytes::from_static(b"anything"));
        assert_eq!(
            scan.finish().unwrap(),
            Verdict::Uninspectable(UNREACHABLE.into())
        );
        assert!(ping(&settings).unwrap_err().contains("clamd at unix:"));
    }
}
