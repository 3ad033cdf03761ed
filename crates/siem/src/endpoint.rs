//! Where a syslog collector listens: `tcp://HOST:PORT` (RFC 6587 octet
//! counting) or `tls://HOST:PORT` (RFC 5425). The port defaults to 514 for TCP
//! and 6514 for TLS; an IPv6 address goes in brackets.

use crate::SiemError;

/// The transport of a syslog url.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Tls,
}

/// A parsed syslog url.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogUrl {
    pub transport: Transport,
    /// Host name or address, without brackets.
    pub host: String,
    pub port: u16,
}

impl SyslogUrl {
    /// Parses `tcp://HOST[:PORT]` or `tls://HOST[:PORT]`.
    pub fn parse(url: &str) -> Result<SyslogUrl, SiemError> {
        let invalid = |reason: &str| SiemError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let (transport, rest) = if let Some(rest) = url.strip_prefix("tcp://") {
            (Transport::Tcp, rest)
        } else if let Some(rest) = url.strip_prefix("tls://") {
            (Transport::Tls, rest)
        } else {
            return Err(invalid("the scheme must be `tcp://` or `tls://`"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| invalid("unclosed `[`"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| invalid("junk after `]`"))?,
                    ),
                ),
            }
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let host_ok = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
        if !host_ok {
            return Err(invalid("the host has characters a host name cannot have"));
        }
        let port = match port {
            None => match transport {
                Transport::Tcp => 514,
                Transport::Tls => 6514,
            },
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| invalid("the port must be a number from 1 to 65535"))?,
        };
        Ok(SyslogUrl {
            transport,
            host: host.to_owned(),
            port,
        })
    }

    /// `host:port` as a socket address string (brackets around IPv6).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl std::fmt::Display for SyslogUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.transport {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        };
        write!(f, "{scheme}://{}", self.authority())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Want = Result<(Transport, &'static str, u16), &'static str>;

    fn check(input: &str, want: Want) {
        match (SyslogUrl::parse(input), want) {
            (Ok(u), Ok((t, host, port))) => {
                assert_eq!(
                    (u.transport, u.host.as_str(), u.port),
                    (t, host, port),
                    "{input}"
                );
            }
            (Err(e), Err(needle)) => {
                let text = e.to_string();
                assert!(text.contains(needle), "{input}: {text}");
                assert_eq!(e.code(), "siem_invalid_url");
            }
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn urls() {
        use Transport::*;
        let table: &[(&str, Want)] = &[
            ("tcp://siem.example:514", Ok((Tcp, "siem.example", 514))),
            ("tcp://siem.example", Ok((Tcp, "siem.example", 514))),
            ("tls://siem.example", Ok((Tls, "siem.example", 6514))),
            ("tls://10.0.0.7:10514/", Ok((Tls, "10.0.0.7", 10514))),
            ("tls://[2001:db8::1]:6514", Ok((Tls, "2001:db8::1", 6514))),
            ("tcp://[::1]", Ok((Tcp, "::1", 514))),
            ("udp://siem.example:514", Err("scheme")),
            ("siem.example:514", Err("scheme")),
            ("tcp://:514", Err("no host")),
            ("tcp://siem.example:0", Err("port")),
            ("tcp://siem.example:65536", Err("port")),
            ("tcp://siem.example:http", Err("port")),
            ("tcp://[::1", Err("unclosed")),
            ("tcp://[::1]x", Err("junk")),
            ("tcp://user@siem.example", Err("characters")),
        ];
        for (input, want) in table {
            check(input, *want);
        }
    }

    #[test]
    fn authority_brackets_ipv6() {
        let url = SyslogUrl::parse("tls://[::1]:7000").unwrap();
        assert_eq!(url.authority(), "[::1]:7000");
        assert_eq!(url.to_string(), "tls://[::1]:7000");
    }
}
