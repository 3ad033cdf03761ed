//! Upload requests (file drops): a secret URL through which named recipients
//! send files into one folder of a room.
//!
//! A request is made by someone who may upload in the room
//! (`upload_request.create`, the seam's proof) for one recipient or a list:
//! its end is never later than the creator's grant nor the admin's maximum
//! for links, each file is at most a size, and the request takes at most a
//! number of files (taken by a conditional UPDATE, so the limit holds under
//! concurrency; a file that stores nothing gives its place back). There are
//! no anonymous drops: every recipient proves their address with a one-time
//! code mailed through the outbox (the share links' way, with the same
//! back-off for wrong codes, `guesses.rs`).
//!
//! Every file is decided again as the request's creator (`file.upload`
//! through the seam, the request and the recipient in the request's
//! `UploadVia`), so a request takes nothing its creator may no longer upload,
//! and goes through the room's inbound pipeline as any upload does
//! (`Files::upload_new_file`: data-loss prevention, and whatever inspection
//! the store path runs). A file never becomes a version of a file already
//! there: a taken name gets the first free `name (n)`.
//!
//! One submission of the form is one batch: its files are recorded as they
//! arrive, and once the submission ends the creator gets one digest e-mail
//! listing every file and its outcome (stored, held for review, refused) and
//! one notification. A batch cut short (the browser went away) still sends
//! the digest of what arrived.

use bytes::Bytes;
use futures_util::Stream;
use kernel::events::{Fact, RequestMeta, UploadVia, record};
use kernel::facts::principal_for;
use kernel::secrets::{ct_eq, new_token, random, sha256};
use kernel::{Action, AppError, Authorized, ErrorCode, EventName, Principal, RoomInfo, act};
use model::*;
use serde_json::json;

use crate::files::Uploaded;
use crate::{Files, UploadRequests, guesses};

/// Attempts at one mailed code before it is spent.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// Files a request takes when its creator sets no limit.
pub const DEFAULT_FILES: i64 = 10;

/// What a new upload request is to be.
#[derive(Clone, Debug)]
pub struct NewUploadRequest {
    /// The folder, as typed (`""` or `/`: the room's top).
    pub folder: String,
    /// The end asked for; cut to the creator's grant and the admin's maximum.
    pub expires_ms: Option<i64>,
    /// Largest file; `None`: the server's upload limit.
    pub max_file_bytes: Option<i64>,
    /// Most files; `None`: [`DEFAULT_FILES`].
    pub max_files: Option<i64>,
    /// At least one recipient.
    pub recipients: Vec<MailAddress>,
    pub message: Option<String>,
}

/// A request just made, with its secret (shown once; only its SHA-256 is kept).
#[derive(Clone, Debug)]
pub struct CreatedUploadRequest {
    pub request: UploadRequest,
    pub token: String,
}

/// A request with the files it received, newest first.
#[derive(Clone, Debug)]
pub struct RequestWithFiles {
    pub request: UploadRequest,
    pub files: Vec<store::ReceivedFile>,
}

/// What the page of a request asks of the person holding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DropStep {
    /// The address to mail a code to.
    Address,
    /// The code mailed to `recipient`.
    Code { recipient: String },
    /// Verified as `recipient`: files may be sent.
    Ready { recipient: String },
}

/// The page of an open request.
#[derive(Clone, Debug)]
pub struct DropPage {
    pub request: UploadRequest,
    /// Who asked (their name).
    pub sender: String,
    /// The room's name.
    pub room: String,
    pub step: DropStep,
}

/// One submission of files by a verified recipient: opened once, each file
/// dropped into it, then finished (the digest).
pub struct DropBatch {
    request: UploadRequest,
    recipient: String,
    creator: Principal,
    meta: RequestMeta,
    id: UploadBatchId,
    received: i64,
}

impl DropBatch {
    /// The files received so far in this batch.
    pub fn received(&self) -> i64 {
        self.received
    }
}

/// What became of one dropped file, as its sender may know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// The name it was stored under, or as sent when refused.
    pub name: String,
    pub outcome: DropOutcome,
}

/// The browser's verification state on a request.
enum Session {
    None,
    Waiting(String),
    Verified(String),
}

fn closed_error(c: RequestClosed) -> AppError {
    match c {
        RequestClosed::Revoked => AppError::invalid(
            ErrorCode::UploadRequestRevoked,
            "this upload request was revoked",
        ),
        RequestClosed::Expired => AppError::invalid(
            ErrorCode::UploadRequestExpired,
            "this upload request has expired",
        ),
        RequestClosed::Full => AppError::invalid(
            ErrorCode::UploadRequestFull,
            "this upload request has taken all the files it allows",
        ),
    }
}

fn unavailable() -> AppError {
    AppError::invalid(
        ErrorCode::UploadRequestUnavailable,
        "this upload request is not available",
    )
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::invalid(ErrorCode::UploadRequestInvalid, message)
}

fn wrong_code() -> AppError {
    AppError::invalid(
        ErrorCode::UploadRequestCode,
        "the code is wrong or has expired",
    )
}

/// The throttle's refusal, with this request's code.
fn throttled(e: AppError) -> AppError {
    match e.code() {
        ErrorCode::LinkThrottled => {
            AppError::invalid(ErrorCode::UploadRequestThrottled, e.to_string())
        }
        _ => e,
    }
}

/// The latest end of `p`'s unexpired grants in `room`; `None` when one never
/// ends or there is none (the request is then bounded by the maximum).
async fn grant_end(
    app: &kernel::App,
    p: &Principal,
    room: RoomId,
    now: i64,
) -> Result<Option<i64>, AppError> {
    let mut tx = app.store().read().await?;
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

/// The first of `path`, `name (2)`, `name (3)` … that no live file of `room`
/// holds (for a file held for review, which takes its name only when
/// released).
pub(crate) async fn free_name(
    tx: &mut store::Tx,
    room: RoomId,
    path: &FilePath,
) -> Result<FilePath, AppError> {
    for n in 1..=MAX_NAME_TRIES {
        let candidate = numbered(path, n)?;
        if !tx.live_file_at(room, candidate.as_str()).await? {
            return Ok(candidate);
        }
    }
    Err(bad("too many files of this name in the folder"))
}

/// A new live file at the first of `path`, `name (2)` … that no live file
/// holds, made in `tx` (a concurrent maker of the same name is waited for,
/// so two uploads of one name make two files).
pub(crate) async fn new_file(
    tx: &mut store::Tx,
    room: RoomId,
    path: &FilePath,
    now: i64,
) -> Result<(FilePath, FileId), AppError> {
    for n in 1..=MAX_NAME_TRIES {
        let candidate = numbered(path, n)?;
        let id = FileId::from_random(random()?);
        if tx.create_file(room, candidate.as_str(), id, now).await? {
            return Ok((candidate, id));
        }
    }
    Err(bad("too many files of this name in the folder"))
}

/// `path` with its last segment numbered `n` (`n` < 2: `path` itself).
fn numbered(path: &FilePath, n: u32) -> Result<FilePath, AppError> {
    let name = numbered_name(path.file_name(), n);
    let folder = &path.as_str()[..path.as_str().len() - path.file_name().len()];
    Ok(FilePath::parse(&format!("{folder}{name}"))?)
}

/// A file name as a browser sends it: its last segment (some send a path).
pub fn base_name(raw: &str) -> &str {
    raw.rsplit(['/', '\\']).next().unwrap_or_default()
}

impl UploadRequests<'_> {
    /// Makes an upload request into a folder of the room of `auth`; recorded
    /// as `upload_request.create`.
    pub async fn create_request(
        &self,
        auth: Authorized<'_, act::UploadRequestCreate, RoomInfo>,
        new: NewUploadRequest,
    ) -> Result<CreatedUploadRequest, AppError> {
        let (meta, p, info) = auth.into_parts();
        let folder = folder_prefix(&new.folder)?;
        let server_max = i64::try_from(self.settings().max_upload_bytes).unwrap_or(i64::MAX);
        let max_file_bytes = new.max_file_bytes.unwrap_or(server_max);
        if !(1..=server_max).contains(&max_file_bytes) {
            return Err(bad(format!(
                "the largest file is from 1 to {server_max} bytes"
            )));
        }
        let max_files = new.max_files.unwrap_or(DEFAULT_FILES);
        if !(1..=MAX_REQUEST_FILES).contains(&max_files) {
            return Err(bad(format!(
                "a request takes from 1 to {MAX_REQUEST_FILES} files"
            )));
        }
        if new.recipients.is_empty() || new.recipients.len() > MAX_LINK_RECIPIENTS {
            return Err(bad(format!(
                "a request is for 1 to {MAX_LINK_RECIPIENTS} recipients"
            )));
        }
        let message = new
            .message
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty());
        if let Some(m) = &message
            && (m.chars().count() > MAX_REQUEST_MESSAGE
                || m.chars().any(|c| c.is_control() && c != '\n' && c != '\r'))
        {
            return Err(bad(format!(
                "the message is at most {MAX_REQUEST_MESSAGE} characters of text"
            )));
        }
        if !self.settings().mail_enabled {
            return Err(AppError::invalid(
                ErrorCode::MailUnavailable,
                "an upload request needs e-mail, and no SMTP server is configured",
            ));
        }
        let now = self.now();
        let grant_end = grant_end(self.0, p, info.room.id, now).await?;
        let Some(expires_ms) = link_end(
            now,
            new.expires_ms,
            self.settings().links.max_lifetime_ms,
            &[grant_end],
        ) else {
            return Err(AppError::invalid(
                ErrorCode::ExpiryInPast,
                "the request's end is already past",
            ));
        };
        let mut recipients: Vec<String> =
            new.recipients.iter().map(|r| r.addr().to_owned()).collect();
        recipients.sort();
        recipients.dedup();
        let (token, token_sha256) = new_token()?;
        let request = UploadRequest {
            id: UploadRequestId::from_random(random()?),
            token_sha256,
            room_id: info.room.id,
            folder,
            created_by: p.user_id,
            created_mfa: p.mfa,
            created_ms: now,
            expires_ms,
            max_file_bytes,
            max_files,
            files: 0,
            recipients,
            message,
            revoked_ms: None,
            revoked_by: None,
        };
        let mut tx = self.store().begin().await?;
        tx.insert_upload_request(&request).await?;
        let detail = json!({
            "room": request.room_id.to_string(), "folder": request.folder,
            "expires_ms": request.expires_ms, "max_file_bytes": request.max_file_bytes,
            "max_files": request.max_files, "recipients": request.recipients,
        });
        let fact = Fact::allowed(
            Some(p),
            Action::UploadRequestCreate,
            format!("upload_request:{}", request.id),
        )
        .with(detail);
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        Ok(CreatedUploadRequest { request, token })
    }

    /// Every upload request of a room (its managers, the owner's admins).
    pub async fn room_requests(
        &self,
        auth: Authorized<'_, act::UploadRequestManage, RoomInfo>,
    ) -> Result<Vec<UploadRequest>, AppError> {
        let (_, _, info) = auth.into_parts();
        let mut tx = self.store().read().await?;
        Ok(tx.list_upload_requests(info.room.id, None).await?)
    }

    /// The upload requests the caller made in a room.
    pub async fn own_requests(
        &self,
        auth: Authorized<'_, act::UploadRequestCreate, RoomInfo>,
    ) -> Result<Vec<UploadRequest>, AppError> {
        let (_, p, info) = auth.into_parts();
        let mut tx = self.store().read().await?;
        Ok(tx
            .list_upload_requests(info.room.id, Some(p.user_id))
            .await?)
    }

    /// Any upload request of the room, with what it received.
    pub async fn room_request(
        &self,
        auth: Authorized<'_, act::UploadRequestManage, RoomInfo>,
        id: UploadRequestId,
    ) -> Result<RequestWithFiles, AppError> {
        let (_, _, info) = auth.into_parts();
        self.with_files(info.room.id, id, None).await
    }

    /// One of the caller's upload requests, with what it received.
    pub async fn own_request(
        &self,
        auth: Authorized<'_, act::UploadRequestCreate, RoomInfo>,
        id: UploadRequestId,
    ) -> Result<RequestWithFiles, AppError> {
        let (_, p, info) = auth.into_parts();
        self.with_files(info.room.id, id, Some(p.user_id)).await
    }

    async fn with_files(
        &self,
        room: RoomId,
        id: UploadRequestId,
        creator: Option<UserId>,
    ) -> Result<RequestWithFiles, AppError> {
        let mut tx = self.store().read().await?;
        let request = tx
            .get_upload_request(id)
            .await?
            .filter(|r| r.room_id == room && creator.is_none_or(|c| c == r.created_by))
            .ok_or(AppError::NotFound)?;
        let files = tx.received_files(id).await?;
        Ok(RequestWithFiles { request, files })
    }

    /// Revokes any upload request of the room (managers, admins);
    /// `upload_request.revoke`.
    pub async fn revoke_request(
        &self,
        auth: Authorized<'_, act::UploadRequestManage, RoomInfo>,
        id: UploadRequestId,
    ) -> Result<UploadRequest, AppError> {
        let (meta, p, info) = auth.into_parts();
        self.revoke(meta, p, info.room.id, id, None).await
    }

    /// Revokes an upload request the caller made; `upload_request.revoke`.
    pub async fn revoke_own_request(
        &self,
        auth: Authorized<'_, act::UploadRequestCreate, RoomInfo>,
        id: UploadRequestId,
    ) -> Result<UploadRequest, AppError> {
        let (meta, p, info) = auth.into_parts();
        self.revoke(meta, p, info.room.id, id, Some(p.user_id))
            .await
    }

    async fn revoke(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        room: RoomId,
        id: UploadRequestId,
        creator: Option<UserId>,
    ) -> Result<UploadRequest, AppError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.get_upload_request(id)
            .await?
            .filter(|r| r.room_id == room && creator.is_none_or(|c| c == r.created_by))
            .ok_or(AppError::NotFound)?;
        tx.revoke_upload_request(id, p.user_id, now).await?;
        let fact = Fact::allowed(
            Some(p),
            EventName::UploadRequestRevoke,
            format!("upload_request:{id}"),
        );
        record(&mut tx, meta, now, fact).await?;
        let request = tx.get_upload_request(id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(request)
    }

    // ---- the recipient's side: the secret is the permission to ask

    /// The request whose secret is `token`, refused (and recorded) when it
    /// is closed. An unknown secret is `NotFound`.
    async fn open(&self, meta: &RequestMeta, token: &str) -> Result<UploadRequest, AppError> {
        let request = self
            .store()
            .read()
            .await?
            .upload_request_by_token(&sha256(token.as_bytes()))
            .await?
            .ok_or(AppError::NotFound)?;
        if let Some(c) = request.closed(self.now()) {
            self.refuse(meta, &request, None, c.reason()).await?;
            return Err(closed_error(c));
        }
        Ok(request)
    }

    /// Records a refused access to `request` (`upload_request.open`, denied).
    async fn refuse(
        &self,
        meta: &RequestMeta,
        request: &UploadRequest,
        recipient: Option<&str>,
        reason: &str,
    ) -> Result<(), AppError> {
        let fact = Fact::denied(
            None,
            EventName::UploadRequestOpen,
            format!("upload_request:{}", request.id),
            reason,
        )
        .with(json!({"upload_request": request.id.to_string(), "recipient": recipient}));
        self.record_alone(meta, fact).await?;
        Ok(())
    }

    /// Where the browser holding `session` stands on `request`.
    async fn session(
        &self,
        request: &UploadRequest,
        session: Option<&str>,
    ) -> Result<Session, AppError> {
        let Some(secret) = session else {
            return Ok(Session::None);
        };
        let mut tx = self.store().read().await?;
        let Some(code) = tx
            .upload_code_by_session(&sha256(secret.as_bytes()))
            .await?
        else {
            return Ok(Session::None);
        };
        let now = self.now();
        if code.request_id != request.id {
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

    /// The creator as they stand now, if they may still upload into the
    /// request's room (asked of the policy without recording: the upload
    /// itself is decided through the seam).
    async fn creator(
        &self,
        meta: &RequestMeta,
        request: &UploadRequest,
    ) -> Result<Option<Principal>, AppError> {
        let creator = {
            let mut tx = self.store().read().await?;
            match tx.get_user(request.created_by).await? {
                Some(user) => Some(principal_for(&mut tx, &user, request.created_mfa).await?),
                None => None,
            }
        };
        let Some(creator) = creator else {
            return Ok(None);
        };
        let may = self
            .permits_in_room(meta, &creator, request.room_id, &[Action::FileUpload])
            .await?;
        Ok((may == [true]).then_some(creator))
    }

    /// What the page of a request shows to the browser holding `session`;
    /// recorded as `upload_request.open`.
    pub async fn request_page(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: Option<&str>,
    ) -> Result<DropPage, AppError> {
        let request = self.open(meta, token).await?;
        if self.creator(meta, &request).await?.is_none() {
            self.refuse(meta, &request, None, "upload_request_unavailable")
                .await?;
            return Err(unavailable());
        }
        let step = match self.session(&request, session).await? {
            Session::None => DropStep::Address,
            Session::Waiting(r) => DropStep::Code { recipient: r },
            Session::Verified(r) => DropStep::Ready { recipient: r },
        };
        let recipient = match &step {
            DropStep::Ready { recipient } => Some(recipient.clone()),
            DropStep::Address | DropStep::Code { .. } => None,
        };
        let (sender, room) = self.names(&request).await?;
        let fact = Fact::allowed(
            None,
            EventName::UploadRequestOpen,
            format!("upload_request:{}", request.id),
        )
        .with(
            json!({"upload_request": request.id.to_string(), "recipient": recipient, "page": true}),
        );
        self.record_alone(meta, fact).await?;
        Ok(DropPage {
            request,
            sender,
            room,
            step,
        })
    }

    /// The creator's name and the room's name.
    async fn names(&self, request: &UploadRequest) -> Result<(String, String), AppError> {
        let mut tx = self.store().read().await?;
        let sender = tx
            .get_user(request.created_by)
            .await?
            .map(|u| u.display_name)
            .unwrap_or_default();
        let room = tx
            .get_room(request.room_id)
            .await?
            .map(|r| r.name)
            .unwrap_or_default();
        Ok((sender, room))
    }

    /// Mails a one-time code to `address` if it is one of the request's
    /// recipients, for a new browser session whose secret is returned. An
    /// address that is not a recipient gets the same answer and no mail.
    pub async fn request_send_code(
        &self,
        meta: &RequestMeta,
        token: &str,
        address: &MailAddress,
    ) -> Result<String, AppError> {
        let request = self.open(meta, token).await?;
        let now = self.now();
        let addr = address.addr().to_owned();
        let known = request
            .recipients
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&addr));
        let code = format!("{:06}", u32::from_be_bytes(random::<4>()?) % 1_000_000);
        let (session, session_sha256) = new_token()?;
        let row = store::UploadCode {
            id: UploadCodeId::from_random(random()?),
            request_id: request.id,
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
        let (sender, room) = self.names(&request).await?;
        let mut tx = self.store().begin().await?;
        tx.insert_upload_code(&row).await?;
        if known {
            let template = MailTemplate::UploadCode {
                sender,
                room,
                code,
                minutes: self.settings().links.code_ttl_ms / 60_000,
            };
            kernel::outbox::enqueue(&mut tx, now, &address.bare(), &template).await?;
            let fact = Fact::allowed(
                None,
                EventName::UploadRequestCode,
                format!("upload_request:{}", request.id),
            )
            .with(json!({"upload_request": request.id.to_string(), "recipient": addr}));
            record(&mut tx, meta, now, fact).await?;
        }
        tx.commit().await?;
        Ok(session)
    }

    /// Checks the code typed in the browser holding `session`; the session is
    /// verified when it matches. Recorded as `upload_request.verify`; wrong
    /// codes wait as a share link's do (`guesses.rs`).
    pub async fn request_verify_code(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: &str,
        code: &str,
    ) -> Result<String, AppError> {
        let request = self.open(meta, token).await?;
        let address = guesses::address_key(meta.source_addr.as_deref());
        if let Err(e) = guesses::check(self.0, request.id, &address, false).await {
            self.refuse(meta, &request, None, "upload_request_throttled")
                .await?;
            return Err(throttled(e));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let row = tx
            .upload_code_by_session(&sha256(session.as_bytes()))
            .await?
            .filter(|c| c.request_id == request.id && c.verified_ms.is_none());
        let Some(row) = row else {
            drop(tx);
            return Err(wrong_code());
        };
        let fresh = now < row.expires_ms && row.attempts < MAX_CODE_ATTEMPTS;
        let matches = ct_eq(&sha256(code.trim().as_bytes()), &row.code_sha256);
        let ok = fresh && matches;
        tx.upload_code_attempt(row.id, ok, now).await?;
        let target = format!("upload_request:{}", request.id);
        let detail = json!({"upload_request": request.id.to_string(), "recipient": row.recipient});
        let fact = if ok {
            Fact::allowed(None, EventName::UploadRequestVerify, target)
        } else {
            Fact::denied(
                None,
                EventName::UploadRequestVerify,
                target,
                "upload_request_code",
            )
        };
        record(&mut tx, meta, now, fact.with(detail)).await?;
        tx.commit().await?;
        if ok {
            guesses::succeed(self.0, request.id, &address).await?;
            Ok(row.recipient)
        } else {
            guesses::fail(self.0, request.id, &address, false).await?;
            Err(wrong_code())
        }
    }

    /// Opens a batch (one submission of files) for the verified recipient
    /// of the browser holding `session`.
    pub async fn open_batch(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: Option<&str>,
    ) -> Result<DropBatch, AppError> {
        let request = self.open(meta, token).await?;
        let Session::Verified(recipient) = self.session(&request, session).await? else {
            self.refuse(meta, &request, None, "upload_request_code")
                .await?;
            return Err(AppError::invalid(
                ErrorCode::UploadRequestCode,
                "this upload request is for named recipients: verify your address first",
            ));
        };
        let Some(creator) = self.creator(meta, &request).await? else {
            self.refuse(
                meta,
                &request,
                Some(&recipient),
                "upload_request_unavailable",
            )
            .await?;
            return Err(unavailable());
        };
        let meta = RequestMeta {
            upload_via: Some(UploadVia {
                request: request.id,
                recipient: recipient.clone(),
            }),
            ..meta.clone()
        };
        Ok(DropBatch {
            request,
            recipient,
            creator,
            meta,
            id: UploadBatchId::from_random(random()?),
            received: 0,
        })
    }

    /// Receives one file of `batch` named `name` (its last segment is kept):
    /// one of the request's files is taken, then the file is uploaded as the
    /// request's creator would upload it now, under a fresh name when the
    /// name is taken. A file the room's policy or the request's limits refuse
    /// is `Refused` (the batch goes on); a request that closed, or whose
    /// creator lost access, ends the batch with its error.
    pub async fn drop_file<S, E>(
        &self,
        batch: &mut DropBatch,
        name: &str,
        body: S,
    ) -> Result<Dropped, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let name = base_name(name).to_owned();
        let request = batch.request.clone();
        let path = match FilePath::parse(&format!("{}{name}", request.folder)) {
            Ok(path) => path,
            Err(e) => {
                let e = AppError::from(e);
                return self.received(batch, &name, None, Err(&e)).await;
            }
        };
        // Decided as the creator, now: a refusal is recorded by the seam
        // (with the request and recipient), and the recipient is told only
        // "not available".
        let (meta, creator) = (batch.meta.clone(), batch.creator.clone());
        let auth = match self
            .room(&meta, &creator, request.room_id, act::FileUpload)
            .await
        {
            Ok(auth) => auth,
            Err(AppError::NotFound | AppError::Forbidden { .. }) => return Err(unavailable()),
            Err(e) => return Err(e),
        };
        let mut tx = self.store().begin().await?;
        let taken = tx.take_upload_slot(request.id, self.now()).await?;
        tx.commit().await?;
        if !taken {
            let now_closed = self
                .store()
                .read()
                .await?
                .get_upload_request(request.id)
                .await?
                .and_then(|r| r.closed(self.now()))
                .unwrap_or(RequestClosed::Full);
            let e = closed_error(now_closed);
            // Recorded, but not a file of the batch: a closed request sends
            // no digest.
            let fact = Fact::denied(
                None,
                EventName::UploadRequestUpload,
                format!("upload_request:{}", request.id),
                now_closed.reason(),
            )
            .with(json!({"name": name}));
            self.record_alone(&batch.meta, fact).await?;
            return Err(e);
        }
        let limit = u64::try_from(request.max_file_bytes).unwrap_or(0);
        let stored = Files(self.0)
            .upload_new_file(auth, &path, limit, body)
            .await;
        match stored {
            Ok(Uploaded::Stored(info)) => {
                let name = base_name(&info.path).to_owned();
                self.received(batch, &name, Some(info.size), Ok(DropOutcome::Stored))
                    .await
            }
            Ok(Uploaded::Held(held)) => {
                let name = base_name(&held.path).to_owned();
                self.received(batch, &name, Some(held.size), Ok(DropOutcome::Held))
                    .await
            }
            Err(e) => {
                let mut tx = self.store().begin().await?;
                tx.give_back_upload_slot(request.id).await?;
                tx.commit().await?;
                match e {
                    AppError::TooLarge { .. }
                    | AppError::Blocked { .. }
                    | AppError::Infected { .. }
                    | AppError::JustificationRequired { .. }
                    | AppError::Path(_)
                    | AppError::Invalid { .. } => self.received(batch, &name, None, Err(&e)).await,
                    e => Err(e),
                }
            }
        }
    }

    /// Records one file of `batch` (its outcome, or the refusal `Err`) with
    /// `upload_request.upload`.
    async fn received(
        &self,
        batch: &mut DropBatch,
        name: &str,
        size: Option<i64>,
        outcome: Result<DropOutcome, &AppError>,
    ) -> Result<Dropped, AppError> {
        let now = self.now();
        let id = batch.request.id;
        let row = store::ReceivedFile {
            batch_id: batch.id,
            seq: batch.received,
            request_id: id,
            recipient: batch.recipient.clone(),
            name: name.to_owned(),
            outcome: outcome.unwrap_or(DropOutcome::Refused),
            size,
            created_ms: now,
        };
        let target = format!("upload_request:{id}");
        let detail = json!({"name": name, "outcome": row.outcome.as_str(), "size": size});
        let fact = match outcome {
            Ok(_) => Fact::allowed(None, EventName::UploadRequestUpload, target),
            Err(e) => Fact::denied(
                None,
                EventName::UploadRequestUpload,
                target,
                e.code().as_str(),
            ),
        };
        let mut tx = self.store().begin().await?;
        tx.insert_received_file(&row).await?;
        record(&mut tx, &batch.meta, now, fact.with(detail)).await?;
        tx.commit().await?;
        batch.received += 1;
        Ok(Dropped {
            name: row.name,
            outcome: row.outcome,
        })
    }

    /// Ends `batch`: when it received any file, the creator gets one digest
    /// e-mail listing each file and its outcome, and one notification.
    pub async fn finish_batch(&self, batch: DropBatch) -> Result<(), AppError> {
        if batch.received == 0 {
            return Ok(());
        }
        let now = self.now();
        let request = &batch.request;
        let (_, room) = self.names(request).await?;
        let mut tx = self.store().begin().await?;
        let files = tx.received_batch(batch.id).await?;
        let creator = tx.get_user(request.created_by).await?;
        let place = format!("{room} / {}", request.folder);
        let message = format!(
            "{} sent {} file(s) into {place} through your upload request: {}",
            batch.recipient,
            files.len(),
            files
                .iter()
                .map(|f| format!("{} ({})", f.name, f.outcome.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(user) = creator
            && !user.disabled
        {
            let mailed = if let Ok(to) = MailAddress::parse(&user.email) {
                let template = MailTemplate::UploadDigest {
                    sender: batch.recipient.clone(),
                    place: place.clone(),
                    files: files
                        .iter()
                        .map(|f| (f.name.clone(), f.outcome.as_str().to_owned()))
                        .collect(),
                };
                kernel::outbox::enqueue(&mut tx, now, &to, &template).await?;
                true
            } else {
                false
            };
            let note = kernel::events::notify(
                &mut tx,
                user.id,
                now,
                EventName::UploadRequestUpload.as_str(),
                format!("upload_request:{}", request.id),
                message,
            )
            .await?;
            // The digest above is its e-mail: the notification is not mailed again.
            if mailed {
                tx.mark_notification_mailed(note, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
