//! RFC 5424 syslog messages, and their octet-counting frame (RFC 6587 §3.4.1,
//! RFC 5425 §4.3: `MSG-LEN SP SYSLOG-MSG`).
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME custody PROCID MSGID [custody@32473 seq="…" …] MSG
//! ```
//!
//! PRI is `facility * 8 + severity`, the severity derived from the event
//! ([`Severity::of`]). MSGID is the event's action. The structured data carries
//! the event's fields under the SD-ID [`SD_ID`]; a parameter whose value is
//! absent is left out. MSG is a short ASCII sentence (MSG-ANY, no BOM): the
//! exact, possibly non-ASCII values are in the structured data.

use model::{Event, Outcome};

use crate::{Item, SiemError};

/// The APP-NAME of every message. Do not change: SIEM searches match on it.
pub const APP_NAME: &str = "custody";
/// The SD-ID of Custody's structured data, in the enterprise form `name@PEN`.
/// 32473 is the Private Enterprise Number that RFC 5612 reserves for
/// documentation. Do not change without a version bump of the export.
pub const SD_ID: &str = "custody@32473";
/// The syslog protocol version written in every header.
pub const VERSION: u8 = 1;
/// The NILVALUE of RFC 5424.
const NIL: &str = "-";

/// A syslog facility (RFC 5424 §6.2.1), 0-23.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facility(u8);

/// The facility names, as rsyslog and syslog.conf spell them.
const FACILITIES: &[(&str, u8)] = &[
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("ntp", 12),
    ("audit", 13),
    ("alert", 14),
    ("clock", 15),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

impl Facility {
    /// `authpriv` (10): security messages that may name people.
    pub const AUTHPRIV: Facility = Facility(10);

    /// Parses a facility name (`authpriv`, `local0` …, any case) or number 0-23.
    pub fn parse(input: &str) -> Result<Facility, SiemError> {
        let wanted = input.trim().to_ascii_lowercase();
        let by_name = FACILITIES
            .iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, code)| *code);
        by_name
            .or_else(|| wanted.parse::<u8>().ok().filter(|n| *n <= 23))
            .map(Facility)
            .ok_or_else(|| SiemError::InvalidFacility {
                input: input.to_owned(),
            })
    }

    /// The facility's number.
    pub fn code(self) -> u8 {
        self.0
    }
}

impl Default for Facility {
    fn default() -> Self {
        Facility::AUTHPRIV
    }
}

/// A syslog severity (RFC 5424 §6.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Informational = 6,
    Debug = 7,
}

impl Severity {
    /// The severity of an event: `alert` for an integrity failure (a reason
    /// mentioning `integrity` or `tamper`: stored content or the log itself no
    /// longer checks out), `warning` for any other denial or failure,
    /// `informational` for an allowed action.
    pub fn of(event: &Event) -> Severity {
        let reason = event.reason.as_deref().unwrap_or_default();
        if reason.contains("integrity") || reason.contains("tamper") {
            Severity::Alert
        } else if event.outcome == Outcome::Denied {
            Severity::Warning
        } else {
            Severity::Informational
        }
    }

    /// The severity's number.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The keyword of RFC 5424's table, as the JSON export writes it.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Emergency => "emergency",
            Severity::Alert => "alert",
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
            Severity::Informational => "informational",
            Severity::Debug => "debug",
        }
    }
}

/// Who sends: the header fields that describe the sender, not the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// HOSTNAME: the node's host name (or address); empty for NILVALUE.
    pub hostname: String,
    /// PROCID: the process id; empty for NILVALUE.
    pub procid: String,
    pub facility: Facility,
}

/// The RFC 5424 message of `item`, unframed.
pub fn message(item: Item<'_>, origin: &Origin) -> String {
    let event = item.event;
    let pri = origin.facility.code() * 8 + Severity::of(event).code();
    let timestamp = crate::rfc3339(event.time_ms).unwrap_or_else(|| NIL.to_owned());
    format!(
        "<{pri}>{VERSION} {timestamp} {} {APP_NAME} {} {} {} {}",
        header_field(&origin.hostname, 255),
        header_field(&origin.procid, 128),
        header_field(&event.action, 32),
        structured_data(item),
        sentence(event),
    )
}

/// The octet-counting frame of a message: its length in bytes, a space, the
/// message.
pub fn frame(message: &str) -> Vec<u8> {
    let mut out = format!("{} ", message.len()).into_bytes();
    out.extend_from_slice(message.as_bytes());
    out
}

/// A PARAM-VALUE with `"`, `\` and `]` escaped by a backslash (RFC 5424 §6.3.3).
pub fn escape_param_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A header field: PRINTUSASCII only (others become `_`), at most `max`
/// characters, NILVALUE when empty.
fn header_field(value: &str, max: usize) -> String {
    let field: String = value
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if field.is_empty() {
        NIL.to_owned()
    } else {
        field
    }
}

/// The one SD-ELEMENT, with the parameters whose values are known.
fn structured_data(item: Item<'_>) -> String {
    let e = item.event;
    let params: [(&str, Option<String>); 11] = [
        ("seq", Some(e.seq.to_string())),
        ("ledger_index", item.ledger_index.map(|i| i.to_string())),
        ("actor", e.actor_user.map(|id| id.to_string())),
        ("party", e.actor_party.map(|id| id.to_string())),
        ("target", Some(e.target.clone())),
        ("outcome", Some(e.outcome.as_str().to_owned())),
        ("reason", e.reason.clone()),
        ("request_id", e.request_id.clone()),
        ("source", e.source_addr.clone()),
        ("user_agent", e.user_agent.clone()),
        ("mark_id", e.mark_id.clone()),
    ];
    let mut out = format!("[{SD_ID}");
    for (name, value) in params {
        if let Some(value) = value {
            out.push_str(&format!(" {name}=\"{}\"", escape_param_value(&value)));
        }
    }
    out.push(']');
    out
}

/// The MSG: e.g. `denied file.download on file:… (room_role_insufficient)`,
/// printable ASCII only (others become `?`).
fn sentence(event: &Event) -> String {
    let mut text = format!(
        "{} {} on {}",
        event.outcome.as_str(),
        event.action,
        event.target
    );
    if let Some(reason) = &event.reason {
        text.push_str(&format!(" ({reason})"));
    }
    text.chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
