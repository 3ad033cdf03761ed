//! The syslog format checked against RFC 5424's grammar by a parser written
//! here from the ABNF of §6 (not from the formatter), plus tables for the
//! escaping, the framing, the severities and the facilities.

use model::{Event, Outcome, PartyId, UserId};
use uuid::Uuid;

use super::*;

/// A parsed RFC 5424 message.
#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    pri: u8,
    version: String,
    timestamp: String,
    hostname: String,
    app_name: String,
    procid: String,
    msgid: String,
    sd: Vec<Element>,
    msg: Option<String>,
}

/// `(SD-ID, [(PARAM-NAME, unescaped PARAM-VALUE)])`
type Element = (String, Vec<(String, String)>);

/// PRINTUSASCII = %d33-126
fn printusascii(c: char) -> bool {
    ('\u{21}'..='\u{7e}').contains(&c)
}

/// SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', %d34 (")
fn sd_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| printusascii(c) && !matches!(c, '=' | ' ' | ']' | '"'))
}

/// HOSTNAME / APP-NAME / PROCID / MSGID: NILVALUE or 1*max PRINTUSASCII.
fn header_token<'a>(rest: &mut &'a str, max: usize, what: &str) -> Result<&'a str, String> {
    let (token, after) = rest
        .split_once(' ')
        .ok_or_else(|| format!("no SP after {what}"))?;
    if token.is_empty() || token.len() > max || !token.chars().all(printusascii) {
        return Err(format!("bad {what} `{token}`"));
    }
    *rest = after;
    Ok(token)
}

/// TIMESTAMP = NILVALUE / FULL-DATE "T" FULL-TIME, with TIME-SECFRAC of 1-6
/// digits and TIME-OFFSET "Z" / ("+" / "-") hh ":" mm.
fn timestamp_ok(t: &str) -> bool {
    if t == "-" {
        return true;
    }
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
            && !r.is_empty()
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(digits(0..4) && at(4, b'-') && digits(5..7) && at(7, b'-') && digits(8..10)) {
        return false;
    }
    if !(at(10, b'T') && digits(11..13) && at(13, b':') && digits(14..16) && at(16, b':')) {
        return false;
    }
    if !digits(17..19) {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        let n = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=6).contains(&n) {
            return false;
        }
        i += 1 + n;
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            digits(i + 1..i + 3) && at(i + 3, b':') && digits(i + 4..i + 6) && i + 6 == b.len()
        }
        _ => false,
    }
}

/// SD-ELEMENTs: "[" SD-ID *(SP SD-PARAM) "]", SD-PARAM = PARAM-NAME "=" %d34
/// PARAM-VALUE %d34, where `"`, `\` and `]` appear only escaped.
fn structured(rest: &mut &str) -> Result<Vec<Element>, String> {
    if let Some(after) = rest.strip_prefix('-') {
        *rest = after;
        return Ok(Vec::new());
    }
    let mut elements = Vec::new();
    while let Some(after) = rest.strip_prefix('[') {
        let end = after.find([' ', ']']).ok_or("unterminated SD-ELEMENT")?;
        let id = &after[..end];
        if !sd_name(id) {
            return Err(format!("bad SD-ID `{id}`"));
        }
        let mut s = &after[end..];
        let mut params = Vec::new();
        while let Some(p) = s.strip_prefix(' ') {
            let eq = p.find('=').ok_or("PARAM-NAME without `=`")?;
            let name = &p[..eq];
            if !sd_name(name) {
                return Err(format!("bad PARAM-NAME `{name}`"));
            }
            let mut chars = p[eq + 1..].char_indices();
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!("PARAM-VALUE of `{name}` not quoted"));
            }
            let mut value = String::new();
            let close = loop {
                match chars.next().ok_or("unterminated PARAM-VALUE")? {
                    (_, '\\') => {
                        let (_, c) = chars.next().ok_or("dangling backslash")?;
                        if !matches!(c, '"' | '\\' | ']') {
                            // RFC 5424 keeps the backslash of any other pair.
                            value.push('\\');
                        }
                        value.push(c);
                    }
                    (i, '"') => break i,
                    (_, ']') => return Err(format!("unescaped `]` in `{name}`")),
                    (_, c) => value.push(c),
                }
            };
            params.push((name.to_owned(), value));
            s = &p[eq + 1 + close + 1..];
        }
        *rest = s.strip_prefix(']').ok_or("SD-ELEMENT not closed")?;
        elements.push((id.to_owned(), params));
    }
    if elements.is_empty() {
        return Err("STRUCTURED-DATA is neither `-` nor an SD-ELEMENT".into());
    }
    Ok(elements)
}

/// SYSLOG-MSG = HEADER SP STRUCTURED-DATA [SP MSG]
fn parse(message: &str) -> Result<Parsed, String> {
    let rest = message.strip_prefix('<').ok_or("no `<`")?;
    let close = rest.find('>').ok_or("no `>`")?;
    let prival = &rest[..close];
    if prival.is_empty() || prival.len() > 3 || !prival.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("bad PRIVAL `{prival}`"));
    }
    let pri: u8 = prival.parse().map_err(|_| "PRIVAL overflow")?;
    if pri > 191 || (prival.len() > 1 && prival.starts_with('0')) {
        return Err(format!("PRIVAL `{prival}` out of range"));
    }
    let mut rest = &rest[close + 1..];
    let (version, after) = rest.split_once(' ').ok_or("no SP after VERSION")?;
    let version_ok = (1..=3).contains(&version.len())
        && version.chars().all(|c| c.is_ascii_digit())
        && !version.starts_with('0');
    if !version_ok {
        return Err(format!("bad VERSION `{version}`"));
    }
    rest = after;
    let (timestamp, after) = rest.split_once(' ').ok_or("no SP after TIMESTAMP")?;
    if !timestamp_ok(timestamp) {
        return Err(format!("bad TIMESTAMP `{timestamp}`"));
    }
    rest = after;
    let hostname = header_token(&mut rest, 255, "HOSTNAME")?.to_owned();
    let app_name = header_token(&mut rest, 48, "APP-NAME")?.to_owned();
    let procid = header_token(&mut rest, 128, "PROCID")?.to_owned();
    let msgid = header_token(&mut rest, 32, "MSGID")?.to_owned();
    let sd = structured(&mut rest)?;
    let msg = match rest {
        "" => None,
        _ => Some(rest.strip_prefix(' ').ok_or("no SP before MSG")?.to_owned()),
    };
    Ok(Parsed {
        pri,
        version: version.to_owned(),
        timestamp: timestamp.to_owned(),
        hostname,
        app_name,
        procid,
        msgid,
        sd,
        msg,
    })
}

fn event() -> Event {
    Event {
        seq: 42,
        time_ms: 1_700_000_000_123,
        actor_user: Some(UserId(Uuid::from_u128(
            0x0123_4567_89ab_4def_8123_4567_89ab_cdef,
        ))),
        actor_party: Some(PartyId(Uuid::from_u128(1))),
        action: "file.download".into(),
        target: "file:7".into(),
        outcome: Outcome::Denied,
        reason: Some("room_role_insufficient".into()),
        source_addr: Some("192.0.2.7".into()),
        user_agent: Some("curl/8.5".into()),
        request_id: Some("req-1".into()),
        mark_id: None,
        detail: serde_json::Value::Null,
    }
}

fn origin() -> Origin {
    Origin {
        hostname: "node1.example".into(),
        procid: "4242".into(),
        facility: Facility::parse("local4").unwrap(),
    }
}

/// Format-pinning known-answer test: this is the wire format SIEM parsers are
/// configured for. The expected text was written by hand from RFC 5424.
#[test]
fn message_known_answer() {
    let e = event();
    let got = message(
        Item {
            event: &e,
            ledger_index: Some(41),
        },
        &origin(),
    );
    let want = "<164>1 2023-11-14T22:13:20.123Z node1.example custody 4242 file.download \
        [custody@32473 seq=\"42\" ledger_index=\"41\" \
        actor=\"01234567-89ab-4def-8123-456789abcdef\" \
        party=\"00000000-0000-0000-0000-000000000001\" target=\"file:7\" \
        outcome=\"denied\" reason=\"room_role_insufficient\" request_id=\"req-1\" \
        source=\"192.0.2.7\" user_agent=\"curl/8.5\"] \
        denied file.download on file:7 (room_role_insufficient)";
    assert_eq!(got, want);
    // 164 = local4 (20) * 8 + warning (4)
    assert_eq!(parse(&got).unwrap().pri, 164);
}

/// Every variation of an event yields a message the grammar accepts, and the
/// structured data gives back the exact values.
#[test]
fn messages_follow_the_grammar() {
    let hostile = "a\"b\\c]d [x=\"y\"] é\u{1}\n";
    let mut cases = Vec::new();
    cases.push((event(), Some(7)));
    let mut e = event();
    e.target = hostile.into();
    e.reason = Some(hostile.into());
    e.user_agent = Some(hostile.into());
    e.action = "very.long.action.name.that.goes.beyond.thirty.two".into();
    cases.push((e, None));
    let mut e = event();
    e.actor_user = None;
    e.actor_party = None;
    e.reason = None;
    e.source_addr = None;
    e.user_agent = None;
    e.request_id = None;
    e.outcome = Outcome::Allowed;
    e.action = "ação".into();
    e.time_ms = i64::MAX;
    cases.push((e, None));
    for (e, index) in cases {
        let text = message(
            Item {
                event: &e,
                ledger_index: index,
            },
            &origin(),
        );
        let parsed = parse(&text).unwrap_or_else(|err| panic!("{err}: {text}"));
        assert_eq!(parsed.version, "1");
        assert_eq!(parsed.app_name, "custody");
        assert_eq!(parsed.procid, "4242");
        assert_eq!(parsed.hostname, "node1.example");
        assert_eq!(parsed.sd.len(), 1);
        let (id, params) = &parsed.sd[0];
        assert_eq!(id, "custody@32473");
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("seq"), Some("42"));
        assert_eq!(get("target"), Some(e.target.as_str()), "{text}");
        assert_eq!(get("reason"), e.reason.as_deref());
        assert_eq!(get("user_agent"), e.user_agent.as_deref());
        assert_eq!(get("actor"), e.actor_user.map(|u| u.to_string()).as_deref());
        assert_eq!(get("ledger_index"), index.map(|i| i.to_string()).as_deref());
        let msg = parsed.msg.unwrap();
        assert!(
            msg.chars().all(|c| c == ' ' || c.is_ascii_graphic()),
            "{msg}"
        );
        assert!(parsed.msgid.len() <= 32);
    }
}

#[test]
fn nil_header_fields() {
    let mut e = event();
    e.time_ms = i64::MAX;
    e.action = String::new();
    let bare = Origin {
        hostname: String::new(),
        procid: String::new(),
        facility: Facility::AUTHPRIV,
    };
    let parsed = parse(&message(
        Item {
            event: &e,
            ledger_index: None,
        },
        &bare,
    ))
    .unwrap();
    let header = [
        parsed.timestamp,
        parsed.hostname,
        parsed.procid,
        parsed.msgid,
    ];
    assert_eq!(header, ["-", "-", "-", "-"]);
    assert_eq!(parsed.pri, 10 * 8 + 4);
}

#[test]
fn escaping() {
    fn check(input: &str, want: &str) {
        assert_eq!(escape_param_value(input), want, "{input}");
    }
    let table = [
        ("plain", "plain"),
        ("", ""),
        ("a\"b", "a\\\"b"),
        ("a\\b", "a\\\\b"),
        ("a]b", "a\\]b"),
        ("[x]", "[x\\]"),
        ("\\\"]", "\\\\\\\"\\]"),
        ("é=ü ok", "é=ü ok"),
    ];
    for (input, want) in table {
        check(input, want);
    }
}

#[test]
fn framing() {
    fn check(message: &str, want: &[u8]) {
        assert_eq!(frame(message), want, "{message}");
    }
    let table: [(&str, &[u8]); 4] = [
        ("", b"0 "),
        ("<14>1 - - - - - -", b"17 <14>1 - - - - - -"),
        // Octets, not characters: `é` is two bytes.
        ("é", b"2 \xc3\xa9"),
        ("a\nb", b"3 a\nb"),
    ];
    for (message, want) in table {
        check(message, want);
    }
}

#[test]
fn severities() {
    fn check(outcome: Outcome, reason: Option<&str>, want: Severity, code: u8) {
        let mut e = event();
        e.outcome = outcome;
        e.reason = reason.map(str::to_owned);
        assert_eq!(Severity::of(&e), want, "{outcome:?} {reason:?}");
        assert_eq!(want.code(), code);
    }
    let table = [
        (Outcome::Allowed, None, Severity::Informational, 6),
        (Outcome::Denied, Some("no_grant"), Severity::Warning, 4),
        (Outcome::Denied, None, Severity::Warning, 4),
        (Outcome::Denied, Some("integrity_error"), Severity::Alert, 1),
        (Outcome::Denied, Some("ledger_tampered"), Severity::Alert, 1),
    ];
    for (outcome, reason, want, code) in table {
        check(outcome, reason, want, code);
    }
}

#[test]
fn facilities() {
    fn check(input: &str, want: Option<u8>) {
        let got = Facility::parse(input).ok().map(Facility::code);
        assert_eq!(got, want, "{input}");
    }
    let table = [
        ("kern", Some(0)),
        ("auth", Some(4)),
        ("AuthPriv", Some(10)),
        ("local0", Some(16)),
        ("local7", Some(23)),
        ("13", Some(13)),
        ("23", Some(23)),
        ("24", None),
        ("local8", None),
        ("", None),
        ("-1", None),
    ];
    for (input, want) in table {
        check(input, want);
    }
}

#[test]
fn pri_stays_in_range() {
    let mut e = event();
    e.reason = Some("integrity_error".into());
    let mut o = origin();
    o.facility = Facility::parse("local7").unwrap();
    let parsed = parse(&message(
        Item {
            event: &e,
            ledger_index: None,
        },
        &o,
    ))
    .unwrap();
    assert_eq!(parsed.pri, 23 * 8 + 1);
}

/// The checker itself rejects what the grammar forbids, so a pass above means something.
#[test]
fn checker_rejects_bad_messages() {
    let bad = [
        "<192>1 - - - - - -",
        "<014>1 - - - - - -",
        "<14>0 - - - - - -",
        "<14>1 2023-11-14 - - - - -",
        "<14>1 2023-11-14T22:13:20.1234567Z - - - - -",
        "<14>1 - - - - 012345678901234567890123456789012 -",
        "<14>1 - - - - - [a b=\"x]\"]",
        "<14>1 - - - - - [a b=\"x\"",
        "<14>1 - - - - - [a=b c=\"x\"]",
        "<14>1 - - - - - x",
    ];
    for text in bad {
        assert!(parse(text).is_err(), "accepted {text}");
    }
    assert!(parse("<14>1 2023-11-14T22:13:20+01:00 h a p m - hi").is_ok());
}
