//! Share links: a secret URL to one file for people without an account.
//!
//! A link is made by someone who may share in the room (`link.create`, the
//! seam's proof): its end is never later than the creator's grant nor the
//! admin's maximum, and cannot be extended; it may need a password (argon2id,
//! the account rules), allow a number of downloads (taken by a conditional
//! UPDATE, so the limit holds under concurrency), and be bound to recipients'
//! addresses: a recipient asks for a one-time code mailed to their address
//! through the outbox, types it, and their browser session is verified.
//!
//! The secret is the permission to ask; what the link hands out is decided
//! again at every access as its creator (`file.download` through the seam),
//! so a link never gives more than its creator may still take — a grant that
//! ends or a file that is deleted closes it. Every access is recorded: the
//! link's own `link.open` events, and the download's event with the link and
//! the verified recipient in its detail (the request's `Via`); a marked copy
//! is marked for the recipient (their address in the stamp) with a fresh mark
//! id in that event.

use kernel::events::{Fact, RequestMeta, Via, record};
use kernel::facts::principal_for;
use kernel::secrets::{ct_eq, new_token, random, sha256};
use kernel::{Action, AppError, Authorized, ErrorCode, EventName, FileAccess, RoomInfo, act};
use model::*;
use serde_json::json;

use crate::files::Download;
use crate::guesses;
use crate::viewer::{OpenedView, PageImage};
use crate::{Files, Links};

/// Attempts at one mailed code before it is spent.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// What a new link is to be.
#[derive(Clone, Debug)]
pub struct NewLink {
    /// The end asked for; cut to the creator's grant and the admin's maximum.
    pub expires_ms: Option<i64>,
    pub password: Option<String>,
    pub max_downloads: Option<i64>,
    pub mode: LinkMode,
    /// Bound recipients; empty: whoever holds the link.
    pub recipients: Vec<MailAddress>,
}

/// A link just made, with its secret (shown once; only its SHA-256 is kept).
#[derive(Clone, Debug)]
pub struct CreatedLink {
    pub link: Link,
    pub token: String,
}

/// What the page of a link asks of the person holding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkStep {
    /// The address to mail a code to (a recipient-bound link, no verified session).
    Address,
    /// The code mailed to `recipient` (a session waiting for its code).
    Code { recipient: String },
    /// One of the room's required agreements, to be signed click-through
    /// by the verified recipient before the first byte (`left` counts it).
    Agreement {
        recipient: String,
        agreement: LinkAgreement,
        left: usize,
    },
    /// The password (asked with the download or the view itself).
    Password { recipient: Option<String> },
    /// Nothing more: the file may be taken.
    Ready { recipient: Option<String> },
}

/// A room's required agreement as a link's recipient is shown it: a
/// requirement naming a template is that template; one naming a kind is the
/// most recently updated template of that kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkAgreement {
    /// The room's requirement (an agreement kind or a template name).
    pub requirement: String,
    /// The template whose text is shown.
    pub template: String,
    pub title: String,
    pub text: String,
    /// Lowercase hex SHA-256 of `text`: the browser sends it back to sign.
    pub text_sha256: String,
}

/// The page of an open link.
#[derive(Clone, Debug)]
pub struct LinkPage {
    pub link: Link,
    /// The file's name (its last path segment).
    pub name: String,
    pub size: i64,
    pub step: LinkStep,
}

/// The browser's verification state on a recipient-bound link.
enum Session {
    None,
    Waiting(String),
    Verified(String),
}

fn closed_error(c: LinkClosed) -> AppError {
    match c {
        LinkClosed::Revoked => AppError::invalid(ErrorCode::LinkRevoked, "this link was revoked"),
        LinkClosed::Expired => AppError::invalid(ErrorCode::LinkExpired, "this link has expired"),
        LinkClosed::Exhausted => AppError::invalid(
            ErrorCode::LinkExhausted,
            "this link's downloads are used up",
        ),
    }
}

fn unavailable() -> AppError {
    AppError::invalid(
        ErrorCode::LinkUnavailable,
        "the file of this link is not available",
    )
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::invalid(ErrorCode::LinkInvalid, message)
}

/// The last path segment of `path`.
fn file_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

impl Links<'_> {
    /// Makes a share link to the file of `auth`; recorded as `link.create`.
    pub async fn create_link(
        &self,
        auth: Authorized<'_, act::LinkCreate, FileAccess>,
        new: NewLink,
    ) -> Result<CreatedLink, AppError> {
        let (meta, p, access) = auth.into_parts();
        if new
            .max_downloads
            .is_some_and(|n| !(1..=MAX_LINK_DOWNLOADS).contains(&n))
        {
            return Err(bad(format!(
                "a download limit is from 1 to {MAX_LINK_DOWNLOADS}"
            )));
        }
        if new.recipients.len() > MAX_LINK_RECIPIENTS {
            return Err(bad(format!(
                "a link is bound to at most {MAX_LINK_RECIPIENTS} recipients"
            )));
        }
        if !new.recipients.is_empty() && !self.settings().mail_enabled {
            return Err(AppError::invalid(
                ErrorCode::MailUnavailable,
                "binding a link to recipients needs e-mail, and no SMTP server is configured",
            ));
        }
        {
            let mut tx = self.store().read().await?;
            let required = tx.room_requirements(access.file.room_id).await?;
            if !required.is_empty() && new.recipients.is_empty() {
                return Err(AppError::invalid(
                    ErrorCode::LinkRecipientsRequired,
                    "this room requires agreements of those who take its content: \
                     bind the link to recipients, who sign them before the first byte",
                ));
            }
            if let Err(missing) = shown_agreements(&mut tx, &required).await? {
                return Err(AppError::invalid(
                    ErrorCode::LinkAgreementUnavailable,
                    format!(
                        "the room requires `{missing}`, and no agreement template of that kind \
                         exists to show a link's recipient: write one first"
                    ),
                ));
            }
        }
        let password_hash = match new.password {
            Some(pw) if !pw.is_empty() => {
                kernel::passwords::check_rules(&pw)?;
                Some(kernel::passwords::hash(pw).await?)
            }
            _ => None,
        };
        let now = self.now();
        let grant_end = self.grant_end(p, access.file.room_id, now).await?;
        let Some(expires_ms) = link_end(
            now,
            new.expires_ms,
            self.settings().links.max_lifetime_ms,
            &[grant_end],
        ) else {
            return Err(AppError::invalid(
                ErrorCode::ExpiryInPast,
                "the link's end is already past",
            ));
        };
        let mut recipients: Vec<String> =
            new.recipients.iter().map(|r| r.addr().to_owned()).collect();
        recipients.sort();
        recipients.dedup();
        let (token, token_sha256) = new_token()?;
        let link = Link {
            id: LinkId::from_random(random()?),
            token_sha256,
            room_id: access.file.room_id,
            file_id: access.file.id,
            created_by: p.user_id,
            created_mfa: p.mfa,
            created_ms: now,
            expires_ms,
            password_hash,
            mode: new.mode,
            max_downloads: new.max_downloads,
            downloads: 0,
            recipients,
            revoked_ms: None,
            revoked_by: None,
        };
        let mut tx = self.store().begin().await?;
        tx.insert_link(&link).await?;
        let detail = json!({
            "file": link.file_id.to_string(), "room": link.room_id.to_string(),
            "expires_ms": link.expires_ms, "mode": link.mode.as_str(),
            "max_downloads": link.max_downloads, "password": link.password_hash.is_some(),
            "recipients": link.recipients,
        });
        let fact =
            Fact::allowed(Some(p), Action::LinkCreate, format!("link:{}", link.id)).with(detail);
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        Ok(CreatedLink { link, token })
    }

    /// The latest end of `p`'s unexpired grants in `room`; `None` when one
    /// never ends or there is none (the link is then bounded by the maximum).
    async fn grant_end(
        &self,
        p: &kernel::Principal,
        room: RoomId,
        now: i64,
    ) -> Result<Option<i64>, AppError> {
        let mut tx = self.store().read().await?;
        let grants = tx.grants_for(p.user_id, p.party_id).await?;
        let ends: Vec<Option<i64>> = grants
            .iter()
            .filter(|g| g.room_id == room && g.expires_ms.is_none_or(|e| e > now))
            .map(|g| g.expires_ms)
            .collect();
        if ends.is_empty() || ends.iter().any(Option::is_none) {
            return Ok(None);
        }
        Ok(ends.into_iter().flatten().max())
    }

    /// Every link of a room (its managers, the owner's admins).
    pub async fn room_links(
        &self,
        auth: Authorized<'_, act::LinkManage, RoomInfo>,
    ) -> Result<Vec<Link>, AppError> {
        let (_, _, info) = auth.into_parts();
        let mut tx = self.store().read().await?;
        Ok(tx.list_links(info.room.id, None).await?)
    }

    /// The links the caller made in a room.
    pub async fn own_links(
        &self,
        auth: Authorized<'_, act::LinkCreate, RoomInfo>,
    ) -> Result<Vec<Link>, AppError> {
        let (_, p, info) = auth.into_parts();
        let mut tx = self.store().read().await?;
        Ok(tx.list_links(info.room.id, Some(p.user_id)).await?)
    }

    /// Revokes any link of the room (managers, admins); `link.revoke`.
    pub async fn revoke_link(
        &self,
        auth: Authorized<'_, act::LinkManage, RoomInfo>,
        id: LinkId,
    ) -> Result<Link, AppError> {
        let (meta, p, info) = auth.into_parts();
        self.revoke(meta, p, info.room.id, id, None).await
    }

    /// Revokes a link the caller made; `link.revoke`.
    pub async fn revoke_own_link(
        &self,
        auth: Authorized<'_, act::LinkCreate, RoomInfo>,
        id: LinkId,
    ) -> Result<Link, AppError> {
        let (meta, p, info) = auth.into_parts();
        self.revoke(meta, p, info.room.id, id, Some(p.user_id))
            .await
    }

    async fn revoke(
        &self,
        meta: &RequestMeta,
        p: &kernel::Principal,
        room: RoomId,
        id: LinkId,
        creator: Option<UserId>,
    ) -> Result<Link, AppError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.get_link(id)
            .await?
            .filter(|l| l.room_id == room && creator.is_none_or(|c| c == l.created_by))
            .ok_or(AppError::NotFound)?;
        tx.revoke_link(id, p.user_id, now).await?;
        let fact = Fact::allowed(Some(p), EventName::LinkRevoke, format!("link:{id}"));
        record(&mut tx, meta, now, fact).await?;
        let link = tx.get_link(id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(link)
    }

    /// The link whose secret is `token`, refused (and recorded) when it is
    /// closed. An unknown secret is `NotFound`.
    async fn open(&self, meta: &RequestMeta, token: &str) -> Result<Link, AppError> {
        let link = self
            .store()
            .read()
            .await?
            .link_by_token(&sha256(token.as_bytes()))
            .await?
            .ok_or(AppError::NotFound)?;
        if let Some(c) = link.closed(self.now()) {
            self.refuse(meta, &link, None, c.reason()).await?;
            return Err(closed_error(c));
        }
        Ok(link)
    }

    /// Records a refused access to `link` (`link.open`, denied with `reason`).
    async fn refuse(
        &self,
        meta: &RequestMeta,
        link: &Link,
        recipient: Option<&str>,
        reason: &str,
    ) -> Result<(), AppError> {
        let fact = Fact::denied(
            None,
            EventName::LinkOpen,
            format!("link:{}", link.id),
            reason,
        )
        .with(json!({"link": link.id.to_string(), "recipient": recipient}));
        self.record_alone(meta, fact).await?;
        Ok(())
    }

    /// Where the browser holding `session` stands on a recipient-bound link.
    async fn session(&self, link: &Link, session: Option<&str>) -> Result<Session, AppError> {
        let Some(secret) = session else {
            return Ok(Session::None);
        };
        let mut tx = self.store().read().await?;
        let Some(code) = tx.link_code_by_session(&sha256(secret.as_bytes())).await? else {
            return Ok(Session::None);
        };
        let now = self.now();
        if code.link_id != link.id {
            return Ok(Session::None);
        }
        Ok(match code.verified_ms {
            Some(at) if now < at.saturating_add(self.settings().links.session_ttl_ms) => {
                Session::Verified(code.recipient)
            }
            Some(_) => Session::None,
            None if now < code.expires_ms && code.attempts < MAX_CODE_ATTEMPTS => {
                Session::Waiting(code.recipient)
            }
            None => Session::None,
        })
    }

    /// What the page of a link shows to the browser holding `session`;
    /// recorded as `link.open`.
    pub async fn link_page(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: Option<&str>,
    ) -> Result<LinkPage, AppError> {
        let link = self.open(meta, token).await?;
        let file = self
            .store()
            .read()
            .await?
            .get_file(link.file_id)
            .await?
            .filter(|f| f.current.is_some());
        let Some(file) = file else {
            self.refuse(meta, &link, None, "link_unavailable").await?;
            return Err(unavailable());
        };
        let size = file.current.as_ref().map_or(0, |v| v.size);
        let step = if link.recipients.is_empty() {
            self.unbound_agreements(meta, &link).await?;
            LinkStep::Ready { recipient: None }
        } else {
            match self.session(&link, session).await? {
                Session::None => LinkStep::Address,
                Session::Waiting(r) => LinkStep::Code { recipient: r },
                Session::Verified(r) => {
                    let mut unsigned = self.unsigned(meta, &link, &r).await?;
                    if unsigned.is_empty() {
                        LinkStep::Ready { recipient: Some(r) }
                    } else {
                        LinkStep::Agreement {
                            recipient: r,
                            left: unsigned.len(),
                            agreement: unsigned.swap_remove(0),
                        }
                    }
                }
            }
        };
        let step = match step {
            LinkStep::Ready { recipient } if link.password_hash.is_some() => {
                LinkStep::Password { recipient }
            }
            step => step,
        };
        let recipient = match &step {
            LinkStep::Ready { recipient } | LinkStep::Password { recipient } => recipient.clone(),
            LinkStep::Agreement { recipient, .. } => Some(recipient.clone()),
            LinkStep::Address | LinkStep::Code { .. } => None,
        };
        let fact = Fact::allowed(None, EventName::LinkOpen, format!("link:{}", link.id))
            .with(json!({"link": link.id.to_string(), "recipient": recipient, "page": true}));
        self.record_alone(meta, fact).await?;
        Ok(LinkPage {
            name: file_name(&file.path),
            size,
            link,
            step,
        })
    }

    /// The room's required agreements `recipient` has not signed on `link`
    /// yet, in the room's order. A requirement no template can show closes
    /// the link (recorded, "not available").
    async fn unsigned(
        &self,
        meta: &RequestMeta,
        link: &Link,
        recipient: &str,
    ) -> Result<Vec<LinkAgreement>, AppError> {
        let mut tx = self.store().read().await?;
        let required = tx.room_requirements(link.room_id).await?;
        if required.is_empty() {
            return Ok(Vec::new());
        }
        let shown = shown_agreements(&mut tx, &required).await?;
        let signed = tx
            .link_signatures(link.id, &recipient_key(recipient))
            .await?;
        drop(tx);
        let Ok(mut shown) = shown else {
            self.refuse(meta, link, Some(recipient), "link_agreement")
                .await?;
            return Err(unavailable());
        };
        shown.retain(|a| !signed.iter().any(|s| s.requirement == a.requirement));
        Ok(shown)
    }

    /// Refuses (and records) a link bound to nobody in a room that requires
    /// agreements: nobody could sign them (the room's requirements were set
    /// after the link was made).
    async fn unbound_agreements(&self, meta: &RequestMeta, link: &Link) -> Result<(), AppError> {
        let required = self
            .store()
            .read()
            .await?
            .room_requirements(link.room_id)
            .await?;
        if required.is_empty() {
            return Ok(());
        }
        self.refuse(meta, link, None, "link_agreement").await?;
        Err(AppError::invalid(
            ErrorCode::LinkAgreement,
            "the room of this link now requires agreements, which only named recipients \
             can sign: ask the sender for a link bound to your address",
        ))
    }

    /// The verified recipient of the browser holding `session`, with every
    /// agreement the room requires signed on this link (`None` for a link
    /// bound to nobody); refused (and recorded) otherwise.
    async fn admitted(
        &self,
        meta: &RequestMeta,
        link: &Link,
        session: Option<&str>,
    ) -> Result<Option<String>, AppError> {
        if link.recipients.is_empty() {
            self.unbound_agreements(meta, link).await?;
            return Ok(None);
        }
        let Session::Verified(recipient) = self.session(link, session).await? else {
            self.refuse(meta, link, None, "link_code").await?;
            return Err(AppError::invalid(
                ErrorCode::LinkCode,
                "this link is for named recipients: verify your address first",
            ));
        };
        if !self.unsigned(meta, link, &recipient).await?.is_empty() {
            self.refuse(meta, link, Some(&recipient), "link_agreement")
                .await?;
            return Err(AppError::invalid(
                ErrorCode::LinkAgreement,
                "the room requires agreements you have not signed yet: sign them on the link's page first",
            ));
        }
        Ok(Some(recipient))
    }

    /// Signs `requirement`, one of the room's required agreements, for the
    /// verified recipient of the browser holding `session`: `text_sha256`
    /// must be the SHA-256 of the text shown. The signature keeps the text,
    /// the time and the address; recorded as `link.sign`.
    pub async fn link_sign(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: Option<&str>,
        requirement: &str,
        text_sha256: &str,
    ) -> Result<(), AppError> {
        let link = self.open(meta, token).await?;
        let Session::Verified(recipient) = self.session(&link, session).await? else {
            self.refuse(meta, &link, None, "link_code").await?;
            return Err(AppError::invalid(
                ErrorCode::LinkCode,
                "verify your address with the code mailed to it before signing",
            ));
        };
        let unsigned = self.unsigned(meta, &link, &recipient).await?;
        let Some(agreement) = unsigned.into_iter().find(|a| a.requirement == requirement) else {
            // Signed already, or not required: nothing to sign.
            return Ok(());
        };
        let target = format!("link:{}", link.id);
        let shown = text_sha256.trim().to_ascii_lowercase();
        let mut detail = json!({
            "link": link.id.to_string(), "recipient": recipient,
            "requirement": agreement.requirement, "template": agreement.template,
            "title": agreement.title, "text_sha256": agreement.text_sha256,
        });
        if !ct_eq(shown.as_bytes(), agreement.text_sha256.as_bytes()) {
            let fact = Fact::denied(None, EventName::LinkSign, target, "text_mismatch");
            self.record_alone(meta, fact.with(detail)).await?;
            return Err(AppError::invalid(
                ErrorCode::TextMismatch,
                "the agreement's text changed since it was shown: read it again",
            ));
        }
        let now = self.now();
        let row = store::LinkSignature {
            link_id: link.id,
            recipient: recipient_key(&recipient),
            requirement: agreement.requirement,
            template: agreement.template,
            title: agreement.title,
            text: agreement.text,
            text_sha256: agreement.text_sha256,
            signed_ms: now,
            source_addr: meta.source_addr.clone(),
        };
        let mut tx = self.store().begin().await?;
        if tx.insert_link_signature(&row).await? {
            detail["source_addr"] = json!(meta.source_addr);
            let fact = Fact::allowed(None, EventName::LinkSign, target).with(detail);
            record(&mut tx, meta, now, fact).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Mails a one-time code to `address` if it is one of the link's
    /// recipients, for a new browser session whose secret is returned. An
    /// address that is not a recipient gets the same answer and no mail, so
    /// a guesser learns nothing.
    pub async fn link_send_code(
        &self,
        meta: &RequestMeta,
        token: &str,
        address: &MailAddress,
    ) -> Result<String, AppError> {
        let link = self.open(meta, token).await?;
        if link.recipients.is_empty() {
            return Err(bad("this link is not bound to recipients"));
        }
        let now = self.now();
        let addr = address.addr().to_owned();
        let known = link
            .recipients
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&addr));
        let code = format!("{:06}", u32::from_be_bytes(random::<4>()?) % 1_000_000);
        let (session, session_sha256) = new_token()?;
        let row = store::LinkCode {
            id: LinkCodeId::from_random(random()?),
            link_id: link.id,
            recipient: addr.clone(),
            session_sha256,
            // A stranger's session waits for a code that was never sent.
            code_sha256: if known {
                sha256(code.as_bytes())
            } else {
                random::<32>()?.to_vec()
            },
            created_ms: now,
            expires_ms: now.saturating_add(self.settings().links.code_ttl_ms),
            attempts: 0,
            verified_ms: None,
        };
        let mut tx = self.store().begin().await?;
        tx.insert_link_code(&row).await?;
        if known {
            let (sender, file) = self.names(&mut tx, &link).await?;
            let template = MailTemplate::LinkCode {
                sender,
                file,
                code,
                minutes: self.settings().links.code_ttl_ms / 60_000,
            };
            kernel::outbox::enqueue(&mut tx, now, &address.bare(), &template).await?;
            let fact = Fact::allowed(None, EventName::LinkCode, format!("link:{}", link.id))
                .with(json!({"link": link.id.to_string(), "recipient": addr}));
            record(&mut tx, meta, now, fact).await?;
        }
        tx.commit().await?;
        Ok(session)
    }

    /// The creator's name and the file's name, for the code's message.
    async fn names(&self, tx: &mut store::Tx, link: &Link) -> Result<(String, String), AppError> {
        let sender = tx
            .get_user(link.created_by)
            .await?
            .map(|u| u.display_name)
            .unwrap_or_default();
        let file = tx
            .get_file(link.file_id)
            .await?
            .map(|f| file_name(&f.path))
            .unwrap_or_default();
        Ok((sender, file))
    }

    /// Checks the code typed in the browser holding `session`; the session is
    /// verified when it matches. Recorded as `link.verify`.
    pub async fn link_verify_code(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: &str,
        code: &str,
    ) -> Result<String, AppError> {
        let link = self.open(meta, token).await?;
        let address = guesses::address_key(meta.source_addr.as_deref());
        if let Err(e) = guesses::check(self.0, link.id, &address, false).await {
            self.refuse(meta, &link, None, "link_throttled").await?;
            return Err(e);
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let row = tx
            .link_code_by_session(&sha256(session.as_bytes()))
            .await?
            .filter(|c| c.link_id == link.id && c.verified_ms.is_none());
        let wrong = || AppError::invalid(ErrorCode::LinkCode, "the code is wrong or has expired");
        let Some(row) = row else {
            drop(tx);
            return Err(wrong());
        };
        let fresh = now < row.expires_ms && row.attempts < MAX_CODE_ATTEMPTS;
        let matches = ct_eq(&sha256(code.trim().as_bytes()), &row.code_sha256);
        let ok = fresh && matches;
        tx.link_code_attempt(row.id, ok, now).await?;
        let target = format!("link:{}", link.id);
        let detail = json!({"link": link.id.to_string(), "recipient": row.recipient});
        let fact = if ok {
            Fact::allowed(None, EventName::LinkVerify, target)
        } else {
            Fact::denied(None, EventName::LinkVerify, target, "link_code")
        };
        record(&mut tx, meta, now, fact.with(detail)).await?;
        tx.commit().await?;
        if ok {
            guesses::succeed(self.0, link.id, &address).await?;
            Ok(row.recipient)
        } else {
            guesses::fail(self.0, link.id, &address, false).await?;
            Err(wrong())
        }
    }

    /// The file of the link, for the browser holding `session` (a verified
    /// recipient's who signed what the room requires, when the link is
    /// bound) with `password` when it has one: one of the link's downloads
    /// is taken, then the file is downloaded as its creator would take it
    /// now, the event naming the link and the recipient, a marked copy
    /// marked for the recipient.
    pub async fn link_download(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: Option<&str>,
        password: Option<String>,
    ) -> Result<Download, AppError> {
        let link = self.open(meta, token).await?;
        let recipient = self.admitted(meta, &link, session).await?;
        self.check_password(meta, &link, recipient.as_deref(), password)
            .await?;
        if link.mode == LinkMode::View {
            self.refuse(meta, &link, recipient.as_deref(), "link_view_only")
                .await?;
            return Err(AppError::invalid(
                ErrorCode::LinkViewOnly,
                "this link lets the file be viewed, not downloaded",
            ));
        }
        let (via, creator) = self.creator(meta, &link, recipient.clone()).await?;
        let auth = as_holder(
            self.file(&via, &creator, link.file_id, act::FileDownload)
                .await,
        )?;
        let mut tx = self.store().begin().await?;
        let taken = tx.take_link_download(link.id, self.now()).await?;
        tx.commit().await?;
        if !taken {
            self.refuse(meta, &link, recipient.as_deref(), "link_exhausted")
                .await?;
            return Err(closed_error(LinkClosed::Exhausted));
        }
        Files(self.0).download(auth, None, None).await
    }

    /// Opens the link's file in the viewer for the browser holding `session`
    /// (admitted as for a download, with `password` when the link has one),
    /// decided as its creator would view it now: every page is marked for
    /// the recipient, the `file.view` event names the link and the recipient.
    /// A view takes none of the link's downloads.
    pub async fn link_open_view(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: Option<&str>,
        password: Option<String>,
    ) -> Result<OpenedView, AppError> {
        let link = self.open(meta, token).await?;
        let recipient = self.admitted(meta, &link, session).await?;
        self.check_password(meta, &link, recipient.as_deref(), password)
            .await?;
        let (via, creator) = self.creator(meta, &link, recipient).await?;
        let auth = as_holder(self.file(&via, &creator, link.file_id, act::FileView).await)?;
        Files(self.0).open_view(auth).await
    }

    /// Page `page` of `view`, a view this link opened (its id, handed only
    /// to the browser that passed the link's password, is the permission),
    /// for the browser holding `session`, decided again as the creator.
    pub async fn link_view_page(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: Option<&str>,
        view: ViewId,
        page: u32,
    ) -> Result<PageImage, AppError> {
        let link = self.open(meta, token).await?;
        let recipient = self.admitted(meta, &link, session).await?;
        let (via, creator) = self.creator(meta, &link, recipient).await?;
        let auth = as_holder(self.file(&via, &creator, link.file_id, act::FileView).await)?;
        Files(self.0).view_page(auth, Some(view), page).await
    }

    /// Checks the link's password, when it has one; wrong guesses wait,
    /// counted in the database (guesses.rs).
    async fn check_password(
        &self,
        meta: &RequestMeta,
        link: &Link,
        recipient: Option<&str>,
        password: Option<String>,
    ) -> Result<(), AppError> {
        let Some(hash) = &link.password_hash else {
            return Ok(());
        };
        let address = guesses::address_key(meta.source_addr.as_deref());
        let verified = recipient.is_some();
        if let Err(e) = guesses::check(self.0, link.id, &address, verified).await {
            self.refuse(meta, link, recipient, "link_throttled").await?;
            return Err(e);
        }
        let given = password.unwrap_or_default();
        if !kernel::passwords::verify(given, Some(hash.clone())).await? {
            guesses::fail(self.0, link.id, &address, verified).await?;
            self.refuse(meta, link, recipient, "link_password").await?;
            return Err(AppError::invalid(
                ErrorCode::LinkPassword,
                "the password is wrong",
            ));
        }
        guesses::succeed(self.0, link.id, &address).await?;
        Ok(())
    }

    /// The request as the link's creator makes it now, naming the link and
    /// `recipient` (its `Via`), and the creator; refused (recorded, "not
    /// available") when the creator is gone.
    async fn creator(
        &self,
        meta: &RequestMeta,
        link: &Link,
        recipient: Option<String>,
    ) -> Result<(RequestMeta, kernel::Principal), AppError> {
        let creator = {
            let mut tx = self.store().read().await?;
            match tx.get_user(link.created_by).await? {
                Some(user) => Some(principal_for(&mut tx, &user, link.created_mfa).await?),
                None => None,
            }
        };
        let Some(creator) = creator else {
            self.refuse(meta, link, recipient.as_deref(), "link_unavailable")
                .await?;
            return Err(unavailable());
        };
        let via = RequestMeta {
            via: Some(Via {
                link: link.id,
                recipient,
            }),
            ..meta.clone()
        };
        Ok((via, creator))
    }
}

/// The seam's decision as a link's holder sees it: a refusal (recorded by
/// the seam, with the link and the recipient) is only "not available".
fn as_holder<T>(decided: Result<T, AppError>) -> Result<T, AppError> {
    match decided {
        Err(AppError::NotFound | AppError::Forbidden { .. }) => Err(unavailable()),
        other => other,
    }
}

/// How a recipient's address is kept with their signatures.
fn recipient_key(recipient: &str) -> String {
    recipient.to_ascii_lowercase()
}

/// The room's required agreements as a link's recipient is shown them, in
/// the room's order; `Err(requirement)` for the first that no template can
/// show.
async fn shown_agreements(
    tx: &mut store::Tx,
    required: &[String],
) -> Result<Result<Vec<LinkAgreement>, String>, AppError> {
    if required.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let templates = tx.list_templates().await?;
    let mut shown = Vec::with_capacity(required.len());
    for requirement in required {
        let template = match AgreementKind::parse(requirement) {
            Ok(kind) => templates
                .iter()
                .filter(|t| t.kind == kind)
                .max_by(|a, b| a.updated_ms.cmp(&b.updated_ms).then(b.name.cmp(&a.name))),
            Err(_) => templates.iter().find(|t| &t.name == requirement),
        };
        let Some(t) = template else {
            return Ok(Err(requirement.clone()));
        };
        shown.push(LinkAgreement {
            requirement: requirement.clone(),
            template: t.name.clone(),
            title: t.title.clone(),
            text: t.text.clone(),
            text_sha256: hex::encode(sha256(t.text.as_bytes())),
        });
    }
    Ok(Ok(shown))
}
