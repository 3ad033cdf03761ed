//! The SMTP side of the outbox: the admin's settings (server, port, STARTTLS
//! or implicit TLS, credentials, sender, extra CA certificates) and the
//! [`Mailer`] that hands one claimed message to the server through lettre.
//! The password never appears in a `Debug` output or a log line. Each attempt
//! is sent with its attempt id as the `Message-ID`, so a receiver sees two
//! deliveries of one attempt as one message, and with the outbox message's id
//! in `X-Custody-Message`.

use std::fmt;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use model::MailAddress;

/// The header naming the outbox message (the same in every attempt at it,
/// unlike the `Message-ID`, which names the attempt).
pub const MESSAGE_HEADER: &str = "X-Custody-Message";

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with `STARTTLS`, which the server must offer (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS at all: only for a relay on the same host or a test server.
    None,
}

impl Security {
    /// Parses `starttls`, `tls` or `none`.
    pub fn parse(s: &str) -> Option<Security> {
        match s {
            "starttls" => Some(Security::StartTls),
            "tls" => Some(Security::Tls),
            "none" => Some(Security::None),
            _ => None,
        }
    }
}

/// Replies about authentication (RFC 4954): required, too weak, refused.
const CREDENTIALS: [&str; 3] = ["530", "534", "535"];

/// A secret kept out of logs: its `Debug` says only that it is there.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `s`.
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The SMTP server messages go through.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// Host name (also the name its certificate must carry).
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// User name and password for `AUTH`, when the server wants them.
    pub credentials: Option<(String, Secret)>,
    /// The sender of every message.
    pub from: MailAddress,
    /// PEM CA certificates trusted beside the system's, for a server with a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// Longest one SMTP command may take.
    pub timeout: Duration,
}

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// The server refused the message for good (5xx), or it cannot be built:
    /// trying again would not help.
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            permanent: true,
            message: message.into(),
        }
    }
}

/// Sends messages through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of the `Message-ID`s (the sender's).
    domain: String,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// A lettre mailbox of `a`.
fn mailbox(a: &MailAddress) -> Result<Mailbox, SendError> {
    let addr = a
        .addr()
        .parse()
        .map_err(|e| SendError::permanent(format!("the address `{}` is refused: {e}", a.addr())))?;
    Ok(Mailbox::new(a.name().map(str::to_owned), addr))
}

impl Mailer {
    /// A mailer for `settings`; fails on an unusable CA file or sender.
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, SendError> {
        let mut tls = TlsParameters::builder(settings.host.clone());
        if let Some(pem) = &settings.ca_pem {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| SendError::permanent(format!("the SMTP CA file is unusable: {e}")))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = || {
            tls.clone()
                .build_rustls()
                .map_err(|e| SendError::permanent(format!("TLS settings: {e}")))
        };
        let tls = match settings.security {
            Security::StartTls => Tls::Required(tls()?),
            Security::Tls => Tls::Wrapper(tls()?),
            Security::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some((user, Secret(password))) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let domain = settings
            .from
            .addr()
            .rsplit_once('@')
            .map_or("custody.invalid", |(_, d)| d)
            .to_owned();
        Ok(Mailer {
            transport: builder.build(),
            from: mailbox(&settings.from)?,
            domain,
        })
    }

    /// Sends `mail` as attempt `attempt`.
    pub(crate) async fn send(
        &self,
        mail: &store::NewMail,
        attempt: model::MailAttemptId,
    ) -> Result<(), SendError> {
        let to = MailAddress::parse(&mail.recipient)
            .map_err(|e| SendError::permanent(format!("the recipient is refused: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(mailbox(&to)?)
            .subject(model::mail::header_text(
                &mail.subject,
                model::mail::MAX_SUBJECT,
            ))
            .message_id(Some(format!("<{attempt}@{}>", self.domain)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(MESSAGE_HEADER),
                mail.id.to_string(),
            ))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.body_text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.body_html.clone()),
                    ),
            )
            .map_err(|e| SendError::permanent(format!("the message cannot be built: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(SendError {
                // Refused credentials are the admin's to fix: retried.
                permanent: e.is_permanent()
                    && !e
                        .status()
                        .is_some_and(|c| CREDENTIALS.contains(&c.to_string().as_str())),
                message: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_stays_out_of_debug_output() {
        let settings = SmtpSettings {
            host: "mail.example".into(),
            port: 587,
            security: Security::StartTls,
            credentials: Some(("custody".into(), Secret::new("hunter2-very-secret".into()))),
            from: MailAddress::parse("custody@owner.example").unwrap(),
            ca_pem: None,
            timeout: Duration::from_secs(5),
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("Secret(…)"), "{shown}");
    }

    #[test]
    fn security_names() {
        for (name, want) in [
            ("starttls", Some(Security::StartTls)),
            ("tls", Some(Security::Tls)),
            ("none", Some(Security::None)),
            ("ssl", None),
            ("", None),
        ] {
            assert_eq!(Security::parse(name), want, "`{name}`");
        }
    }
}
