//! The outbox seam: a use-case that sends an e-mail writes it here, rendered
//! from its template, in the transaction of the change that causes it — so the
//! message exists exactly when the change does. The mail worker (`notify`)
//! hands it to the SMTP server later, retrying until it is taken.

use model::{MailAddress, MailId, MailTemplate};

use crate::AppError;
use crate::secrets::random;

/// Queues `template` for `to` in `tx`; returns the message's id.
pub async fn enqueue(
    tx: &mut store::Tx,
    now: i64,
    to: &MailAddress,
    template: &MailTemplate,
) -> Result<MailId, AppError> {
    let rendered = template.render();
    let mail = store::NewMail {
        id: MailId::from_random(random()?),
        created_ms: now,
        recipient: to.to_string(),
        kind: rendered.kind.to_owned(),
        subject: rendered.subject,
        body_text: rendered.text,
        body_html: rendered.html,
    };
    tx.insert_mail(&mail).await?;
    Ok(mail.id)
}
