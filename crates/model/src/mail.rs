//! E-mail as values: a checked recipient address (plus-addressing, Unicode and
//! a display name accepted; anything that could break out of a header refused)
//! and the messages the platform sends, each rendered from its template into a
//! subject, a text part and an HTML part. Whatever reaches a header (the
//! subject, a display name) has its control characters and line breaks turned
//! into spaces here, so no name typed by a user can add a header; the HTML part
//! escapes everything it is given. Pure: no I/O.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest address accepted (RFC 5321's path limit less the brackets).
pub const MAX_ADDRESS: usize = 254;
/// Longest display name kept.
pub const MAX_DISPLAY_NAME: usize = 100;
/// Longest subject sent (longer ones are cut at a character boundary).
pub const MAX_SUBJECT: usize = 200;

/// Why a recipient is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadAddress(pub &'static str);

impl fmt::Display for BadAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A recipient: an address (`local@domain`, the domain lowercased) and an
/// optional display name, both safe to put in a header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MailAddress {
    addr: String,
    name: Option<String>,
}

impl MailAddress {
    /// Parses `a@b.example` or `Name <a@b.example>` (the name may be quoted).
    pub fn parse(raw: &str) -> Result<MailAddress, BadAddress> {
        let raw = raw.trim();
        if raw.chars().any(|c| c.is_control()) {
            return Err(BadAddress(
                "the address holds a control character or a line break",
            ));
        }
        let (name, addr) = match raw.rfind('<') {
            Some(open) => {
                let Some(inner) = raw[open + 1..].strip_suffix('>') else {
                    return Err(BadAddress("the address has `<` without a closing `>`"));
                };
                let name = raw[..open].trim().trim_matches('"').trim();
                let name = (!name.is_empty()).then(|| header_text(name, MAX_DISPLAY_NAME));
                (name, inner.trim())
            }
            None => (None, raw),
        };
        Ok(MailAddress {
            addr: check_addr(addr)?,
            name,
        })
    }

    /// The address alone, `local@domain` (the domain lowercased).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The display name, if one was given.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The address with the display name dropped.
    pub fn bare(&self) -> MailAddress {
        MailAddress {
            addr: self.addr.clone(),
            name: None,
        }
    }
}

impl fmt::Display for MailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "\"{}\" <{}>", name.replace(['"', '\\'], ""), self.addr),
            None => f.write_str(&self.addr),
        }
    }
}

/// Checks the `local@domain` part; returns it with the domain lowercased.
fn check_addr(addr: &str) -> Result<String, BadAddress> {
    if addr.len() > MAX_ADDRESS {
        return Err(BadAddress("the address is longer than 254 bytes"));
    }
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Err(BadAddress("the address has no `@`"));
    };
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\@".contains(c);
    if local.is_empty() || local.len() > 64 || local.chars().any(forbidden) {
        return Err(BadAddress(
            "the part before `@` is empty, too long or holds a forbidden character",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(BadAddress("the part before `@` has a misplaced dot"));
    }
    let domain = domain.to_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if !domain.contains('.') || !domain.split('.').all(label_ok) {
        return Err(BadAddress("the domain is not a host name with a dot"));
    }
    Ok(format!("{local}@{domain}"))
}

/// `s` made safe for a header: control characters and Unicode line and
/// paragraph separators become spaces, runs of spaces one, cut to `max` chars.
pub fn header_text(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut space = false;
    for c in s.chars() {
        let c = if c.is_control() || c == '\u{2028}' || c == '\u{2029}' || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && (space || out.is_empty()) {
            continue;
        }
        space = c == ' ';
        out.push(c);
        if out.chars().count() >= max {
            break;
        }
    }
    out.trim_end().to_owned()
}

/// `s` escaped for HTML text and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A message the platform sends: which template, with what to fill it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailTemplate {
    /// The one-time code that proves a share link's recipient holds the address.
    LinkCode {
        /// Who shared the file (their name, as the platform knows it).
        sender: String,
        /// The shared file's name.
        file: String,
        /// The code to type.
        code: String,
        /// Minutes the code stays valid.
        minutes: i64,
    },
    /// An invitation to an account: the link to accept it.
    Invitation {
        /// Who invites (their name).
        inviter: String,
        /// The organization the account belongs to.
        party: String,
        /// The address of the invitation's page (`https://…/invite/<secret>`).
        link: String,
        /// Days the invitation stays open.
        days: i64,
    },
    /// The one-time code that proves an upload request's recipient holds the address.
    UploadCode {
        /// Who asked for the files (their name, as the platform knows it).
        sender: String,
        /// The room the files go into.
        room: String,
        /// The code to type.
        code: String,
        /// Minutes the code stays valid.
        minutes: i64,
    },
    /// What one submission through an upload request brought: one message per
    /// batch, to the person who asked for the files.
    UploadDigest {
        /// The verified recipient who sent them.
        sender: String,
        /// The room and folder they went into (`Room / folder/`).
        place: String,
        /// Each file's name (as stored, or as sent when refused) and outcome
        /// (`stored`, `held`, `refused`).
        files: Vec<(String, String)>,
    },
    /// One of the notifications the platform already shows in its pages.
    Notification {
        /// What it is about, short.
        subject: String,
        /// The sentence shown on the notifications page.
        message: String,
    },
    /// The notifications of a day that are not security-critical, for a user
    /// who asked for a daily digest.
    Digest {
        /// Each notification's subject and sentence, oldest first.
        items: Vec<(String, String)>,
    },
    /// A destruction attestation asked of an offboarded party's officer:
    /// the link to the signing page (sent again, as a reminder, when overdue).
    AttestationRequest {
        /// The party asked to sign.
        party: String,
        /// The owner organization that asks.
        owner: String,
        /// The signing page (`https://…/a/<secret>`).
        link: String,
        /// The due date (`2026-11-30`).
        due: String,
        /// Copies listed.
        copies: usize,
        /// Whether this is a reminder of an overdue request.
        reminder: bool,
    },
    /// The one-time code that proves an attestation's officer holds the address.
    AttestationCode {
        /// The party asked to sign.
        party: String,
        /// The code to type.
        code: String,
        /// Minutes the code stays valid.
        minutes: i64,
    },
    /// A test message an admin sends to check the SMTP settings.
    Test {
        /// Who asked for it.
        requested_by: String,
    },
}

/// How a user wants the notifications that are not security-critical
/// mailed to them (security-critical ones are always mailed at once).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailDigest {
    /// Each one as it is made.
    Immediate,
    /// At most one digest a day.
    Daily,
}

impl MailDigest {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            MailDigest::Immediate => "immediate",
            MailDigest::Daily => "daily",
        }
    }

    /// The choice of a stable name.
    pub fn parse(s: &str) -> Result<MailDigest, crate::UnknownName> {
        match s {
            "immediate" => Ok(MailDigest::Immediate),
            "daily" => Ok(MailDigest::Daily),
            _ => Err(crate::UnknownName {
                kind: "mail digest",
                value: s.to_owned(),
            }),
        }
    }
}

/// A message rendered from its template: what the outbox stores and sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedMail {
    /// The template's stable name (`link.code` …).
    pub kind: &'static str,
    /// One line, header-safe, at most [`MAX_SUBJECT`] characters.
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part; every value in it is escaped.
    pub html: String,
}

impl MailTemplate {
    /// The template's stable name.
    pub fn kind(&self) -> &'static str {
        match self {
            MailTemplate::LinkCode { .. } => "link.code",
            MailTemplate::Invitation { .. } => "invitation",
            MailTemplate::UploadCode { .. } => "upload_request.code",
            MailTemplate::UploadDigest { .. } => "upload_request.digest",
            MailTemplate::Notification { .. } => "notification",
            MailTemplate::Digest { .. } => "digest",
            MailTemplate::AttestationRequest { .. } => "attestation.request",
            MailTemplate::AttestationCode { .. } => "attestation.code",
            MailTemplate::Test { .. } => "test",
        }
    }

    /// The subject, text and HTML of the message.
    pub fn render(&self) -> RenderedMail {
        let (subject, paragraphs) = match self {
            MailTemplate::LinkCode {
                sender,
                file,
                code,
                minutes,
            } => (
                format!("Your code to open {file}"),
                vec![
                    format!("{sender} shared {file} with you through Custody."),
                    format!("Your code: {code}"),
                    format!(
                        "Type it on the page of the link within {minutes} minutes. \
                         If you did not ask for it, ignore this message."
                    ),
                ],
            ),
            MailTemplate::Invitation {
                inviter,
                party,
                link,
                days,
            } => (
                format!("{inviter} invites you to Custody"),
                vec![
                    format!(
                        "{inviter} invites you to an account of {party} on Custody, where files are shared under control."
                    ),
                    format!("Open this link to set your password: {link}"),
                    format!(
                        "It works once, for {days} days. If you did not expect it, ignore this message."
                    ),
                ],
            ),
            MailTemplate::UploadCode {
                sender,
                room,
                code,
                minutes,
            } => (
                format!("Your code to send files to {sender}"),
                vec![
                    format!("{sender} asked you to send files into {room} through Custody."),
                    format!("Your code: {code}"),
                    format!(
                        "Type it on the page of the request within {minutes} minutes. \
                         If you did not ask for it, ignore this message."
                    ),
                ],
            ),
            MailTemplate::UploadDigest {
                sender,
                place,
                files,
            } => {
                let mut lines = vec![format!(
                    "{sender} sent {} through your upload request into {place}:",
                    match files.len() {
                        1 => "1 file".to_owned(),
                        n => format!("{n} files"),
                    }
                )];
                lines.extend(files.iter().map(|(name, outcome)| {
                    let said = match outcome.as_str() {
                        "stored" => "stored",
                        "held" => "held for review",
                        _ => "refused",
                    };
                    format!("- {name}: {said}")
                }));
                (format!("Files received from {sender}"), lines)
            }
            MailTemplate::Notification { subject, message } => {
                (subject.clone(), vec![message.clone()])
            }
            MailTemplate::Digest { items } => {
                let mut paragraphs = vec![format!(
                    "{} notification(s) since your last digest:",
                    items.len()
                )];
                paragraphs.extend(
                    items
                        .iter()
                        .map(|(subject, message)| format!("{subject}: {message}")),
                );
                paragraphs.push(
                    "You chose a daily digest on your account page; security notices still come at once."
                        .to_owned(),
                );
                (
                    "Your Custody notifications of the day".to_owned(),
                    paragraphs,
                )
            }
            MailTemplate::AttestationRequest {
                party,
                owner,
                link,
                due,
                copies,
                reminder,
            } => (
                if *reminder {
                    format!("Reminder: {owner} awaits {party}'s declaration of destruction")
                } else {
                    format!(
                        "{owner} asks {party} to declare the return or destruction of its copies"
                    )
                },
                vec![
                    format!(
                        "{party}'s access to {owner}'s files through Custody has ended. {owner} asks you, as {party}'s officer, to declare that every copy {party} received ({copies} listed) has been returned or destroyed, with any copy made from them."
                    ),
                    format!("Read the declaration and the list, and sign, here: {link}"),
                    if *reminder {
                        format!(
                            "The declaration was due on {due} and is overdue; {owner}'s security officers have been told."
                        )
                    } else {
                        format!(
                            "Please sign by {due}. The page asks for a code that it mails to this address."
                        )
                    },
                ],
            ),
            MailTemplate::AttestationCode {
                party,
                code,
                minutes,
            } => (
                format!("Your code to sign {party}'s declaration"),
                vec![
                    format!(
                        "A code was asked to sign {party}'s declaration of destruction on Custody."
                    ),
                    format!("Your code: {code}"),
                    format!(
                        "Type it on the signing page within {minutes} minutes. \
                         If you did not ask for it, ignore this message."
                    ),
                ],
            ),
            MailTemplate::Test { requested_by } => (
                "Custody test message".to_owned(),
                vec![format!(
                    "{requested_by} asked Custody to send this message to check its mail settings."
                )],
            ),
        };
        let text = paragraphs.join("\n\n") + "\n";
        let mut html = String::from("<!DOCTYPE html><html><body>");
        for p in &paragraphs {
            html.push_str("<p>");
            html.push_str(&html_escape(p));
            html.push_str("</p>");
        }
        html.push_str("</body></html>");
        RenderedMail {
            kind: self.kind(),
            subject: header_text(&subject, MAX_SUBJECT),
            text,
            html,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `raw` parses to `(addr, name)`, or is refused when `want` is `None`.
    fn check(raw: &str, want: Option<(&str, Option<&str>)>) {
        let got = MailAddress::parse(raw);
        match want {
            Some((addr, name)) => {
                let got = got.unwrap_or_else(|e| panic!("`{raw}` refused: {e}"));
                assert_eq!((got.addr(), got.name()), (addr, name), "`{raw}`");
            }
            None => assert!(got.is_err(), "`{raw}` accepted as {got:?}"),
        }
    }

    #[test]
    fn addresses() {
        check("a@b.example", Some(("a@b.example", None)));
        check(
            " Ana+quotes@Vendor.EXAMPLE ",
            Some(("Ana+quotes@vendor.example", None)),
        );
        check(
            "Ana Lima <ana@vendor.example>",
            Some(("ana@vendor.example", Some("Ana Lima"))),
        );
        check(
            "\"Lima, Ana\" <ana@vendor.example>",
            Some(("ana@vendor.example", Some("Lima, Ana"))),
        );
        check("jörg@müller.example", Some(("jörg@müller.example", None)));
        check("<ana@vendor.example>", Some(("ana@vendor.example", None)));
        check("ana@vendor.example\r\nBcc: x@evil.example", None);
        check("Ana\r\nBcc: x@evil.example <ana@vendor.example>", None);
        check("ana", None);
        check("ana@localhost", None);
        check("@vendor.example", None);
        check("a b@vendor.example", None);
        check("ana@vendor.example>", None);
        check("Ana <ana@vendor.example", None);
        check("a..b@vendor.example", None);
        check("ana@-vendor.example", None);
        check(&format!("{}@vendor.example", "a".repeat(65)), None);
    }

    #[test]
    fn header_text_cannot_break_a_line() {
        for (raw, want) in [
            (
                "Report\r\nBcc: x@evil.example",
                "Report Bcc: x@evil.example",
            ),
            ("a\nb\rc\u{2028}d\u{2029}e\u{0}f\tg", "a b c d e f g"),
            ("  spaced   out  ", "spaced out"),
        ] {
            assert_eq!(header_text(raw, 100), want);
        }
        assert_eq!(header_text(&"é".repeat(300), 200).chars().count(), 200);
    }

    #[test]
    fn templates_escape_and_keep_headers_to_one_line() {
        let mail = MailTemplate::LinkCode {
            sender: "Eve <script>alert(1)</script>".into(),
            file: "drawing.pdf\r\nBcc: x@evil.example".into(),
            code: "123456".into(),
            minutes: 15,
        }
        .render();
        assert_eq!(mail.kind, "link.code");
        assert_eq!(
            mail.subject,
            "Your code to open drawing.pdf Bcc: x@evil.example"
        );
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(mail.text.contains("Your code: 123456"));
        assert!(mail.html.contains("Your code: 123456"));
    }

    #[test]
    fn a_digest_lists_every_file_escaped_in_one_message() {
        let mail = MailTemplate::UploadDigest {
            sender: "ana@vendor.example\r\nBcc: x@evil.example".into(),
            place: "Quotes / 2025/".into(),
            files: vec![
                ("a.pdf".into(), "stored".into()),
                ("<img src=x onerror=alert(1)>.txt".into(), "held".into()),
                ("c.exe".into(), "refused".into()),
            ],
        }
        .render();
        assert_eq!(mail.kind, "upload_request.digest");
        assert!(!mail.subject.contains('\n') && !mail.subject.contains('\r'));
        assert!(mail.text.contains("sent 3 files"), "{}", mail.text);
        assert!(mail.text.contains("- a.pdf: stored"));
        assert!(mail.text.contains(": held for review"));
        assert!(mail.text.contains("- c.exe: refused"));
        assert!(!mail.html.contains("<img"), "{}", mail.html);
        assert!(mail.html.contains("&lt;img src=x"));
    }

    #[test]
    fn display_quotes_the_name() {
        let a = MailAddress::parse("\"Lima, Ana\" <ana@vendor.example>").unwrap();
        assert_eq!(a.to_string(), "\"Lima, Ana\" <ana@vendor.example>");
        assert_eq!(a.bare().to_string(), "ana@vendor.example");
    }
}
