//! Notify: the e-mail the platform sends. Use-cases queue messages through the
//! kernel's outbox seam (`kernel::outbox::enqueue`, in the transaction of the
//! change that causes them); this crate hands them to the admin's SMTP server
//! (`smtp.rs`: STARTTLS or implicit TLS, authentication, through lettre) from a
//! worker on every node (`worker.rs`: claims by attempt id and lease, retries
//! with growing delays, gives up after a permanent refusal), so a crash or an
//! SMTP outage loses nothing and no attempt is sent twice. The same worker
//! mails the notifications the platform makes (`digest.rs`: at once, or in a
//! daily digest by the user's choice; security notices always at once).

pub mod digest;
pub mod smtp;
pub mod worker;

pub use digest::{Queued, mail_notifications};
pub use smtp::{Mailer, Secret, Security, SendError, SmtpSettings};
pub use worker::{Drained, RetryPolicy, drain_outbox, spawn_mailer};
