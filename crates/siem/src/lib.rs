//! Export of audit events to a SIEM (Splunk, Elastic, any syslog collector).
//! Two encodings: one JSON object per line ([`json`]) and RFC 5424 syslog
//! messages with Custody's structured data ([`syslog`]), octet-counted
//! (RFC 6587 / RFC 5425) on TCP and TLS. Four destinations ([`Sink`]): an
//! appended file fsynced per batch, standard output, TCP and TLS (rustls on
//! aws-lc-rs, trusting a CA file or a pinned certificate fingerprint).
//!
//! The encodings are pure: the event's own time is used, and the host name and
//! process id come from the caller. Only [`Sink::send`] does I/O.

mod endpoint;
mod error;
pub mod json;
mod sink;
pub mod syslog;
mod tls;

pub use endpoint::{SyslogUrl, Transport};
pub use error::SiemError;
pub use sink::{JsonTarget, Sink};
pub use syslog::{Facility, Origin, Severity};
pub use tls::{Trust, parse_fingerprint};

/// One event to export, with its index in the tamper-evident ledger when known.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    pub event: &'a model::Event,
    pub ledger_index: Option<u64>,
}

/// The RFC 3339 UTC time of `time_ms` (milliseconds since the Unix epoch) with
/// three fraction digits, e.g. `2023-11-14T22:13:20.000Z`; `None` outside the
/// years 0000-9999 that RFC 3339 can write.
pub fn rfc3339(time_ms: i64) -> Option<String> {
    let nanos = i128::from(time_ms).checked_mul(1_000_000)?;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    ))
}

#[cfg(test)]
mod tests {
    fn check(time_ms: i64, want: Option<&str>) {
        assert_eq!(super::rfc3339(time_ms).as_deref(), want, "{time_ms}");
    }

    #[test]
    fn rfc3339_times() {
        // Expected values worked out by hand from the Unix epoch.
        let table = [
            (0, Some("1970-01-01T00:00:00.000Z")),
            (1_700_000_000_000, Some("2023-11-14T22:13:20.000Z")),
            (1_700_000_000_007, Some("2023-11-14T22:13:20.007Z")),
            (951_782_400_999, Some("2000-02-29T00:00:00.999Z")),
            (-1, Some("1969-12-31T23:59:59.999Z")),
            (253_402_300_799_999, Some("9999-12-31T23:59:59.999Z")),
            (253_402_300_800_000, None),
            (i64::MAX, None),
        ];
        for (ms, want) in table {
            check(ms, want);
        }
    }
}
