//! Destruction attestations (docs/attestations.md). Offboarding a party opens
//! one in the offboarding's transaction ([`open`]): every copy the party
//! received through Custody — the allowed downloads, marked copies and views
//! of its users, and those through share links to recipients who are its
//! users — read from the events, frozen with the declaration into one text,
//! and a secret page (`/a/{token}`, only the secret's SHA-256 kept) mailed to
//! the party's officer. The officer proves the address with a one-time code
//! mailed to it (wrong codes wait, `kernel::guesses`), then signs click-through
//! with the SHA-256 of the text shown, their typed name and a ticked box.
//! Overdue requests are mailed again to the officer and escalated to the
//! owner's security officers (else its admins), each at most once a week, by
//! [`Attestations::sweep_attestations`], which the background sweeper runs.

use std::collections::{HashMap, HashSet};

use model::*;
use serde_json::json;

use kernel::authz::{Authorized, System, act};
use kernel::events::{Fact, RequestMeta, notify, record};
use kernel::guesses::{Count, address_key};
use kernel::secrets::{ct_eq, new_token, random, sha256};
use kernel::{App, AppError, EventName};

/// How long a code mailed to the officer stays valid.
pub const CODE_TTL_MS: i64 = 15 * 60 * 1000;
/// How long the officer's verified browser session lasts.
pub const SESSION_TTL_MS: i64 = 8 * 3600 * 1000;
/// Wrong tries at one code.
const MAX_CODE_ATTEMPTS: i64 = 5;
/// Requests looked at per sweep.
const SWEEP_BATCH: i64 = 200;

/// Destruction attestations: read by the owner's staff, sent again by its
/// admins, signed on their public page by the party's officer.
#[derive(Clone, Copy)]
pub struct Attestations<'a>(pub &'a App);

impl std::ops::Deref for Attestations<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

/// What an offboarding asks of the party's attestation.
#[derive(Clone, Debug, Default)]
pub struct AttestationRequest {
    /// The officer asked to sign; none: the party's first admin or security
    /// officer, else its first user (by creation).
    pub officer: Option<MailAddress>,
    /// Days to sign; none: [`DEFAULT_ATTESTATION_DAYS`].
    pub due_days: Option<i64>,
}

/// A signed attestation, for a certificate of destruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedAttestation {
    pub id: AttestationId,
    /// The declaration and the list, as signed.
    pub text: String,
    /// Lowercase hex SHA-256 of `text`.
    pub text_sha256: String,
    pub signer_name: String,
    pub signer_email: String,
    pub signed_ms: i64,
}

/// Where the signing page stands for a browser.
#[derive(Clone, Debug)]
pub enum AttestationStep {
    /// Ask for a code to the officer's address.
    Address,
    /// A code was mailed; type it.
    Code,
    /// Verified: read and sign.
    Sign { email: String },
    /// Signed already.
    Signed,
}

/// The public page of an attestation.
#[derive(Clone, Debug)]
pub struct AttestationPage {
    pub attestation: Attestation,
    /// The officer's address with most of it hidden (`a***@vendor.example`).
    pub officer_hint: String,
    pub step: AttestationStep,
}

/// What the officer sends to sign.
#[derive(Clone, Debug)]
pub struct Signing<'a> {
    pub name: &'a str,
    pub text_sha256: &'a str,
    /// Whether the declaration's box was ticked.
    pub accepted: bool,
}

/// The days an offboarding gives, checked.
fn due_days(raw: Option<i64>) -> Result<i64, AppError> {
    match raw {
        None => Ok(DEFAULT_ATTESTATION_DAYS),
        Some(d) if (1..=MAX_ATTESTATION_DAYS).contains(&d) => Ok(d),
        Some(_) => Err(AppError::invalid(
            ErrorCode::BadAttestationDays,
            format!("give the party 1 to {MAX_ATTESTATION_DAYS} days to sign"),
        )),
    }
}

/// The signing page's address in mail, only from the configured address
/// (never a request's `Host`), and only when mail is on.
fn page_link(app: &App, token: &str) -> Option<String> {
    match (&app.settings().public_url, app.settings().mail_enabled) {
        (Some(base), true) => Some(format!("{}/a/{token}", base.trim_end_matches('/'))),
        _ => None,
    }
}

/// `a***@vendor.example`.
fn hint(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// The party's officer when the offboarding names none: its first admin or
/// security officer, else its first user, by creation.
fn default_officer(users: &[User]) -> Option<String> {
    let mut sorted: Vec<&User> = users.iter().collect();
    sorted.sort_by_key(|u| (u.created_ms, u.email.clone()));
    let admin_like = sorted.iter().copied().find(|u| {
        matches!(
            u.system_role,
            SystemRole::Admin | SystemRole::SecurityOfficer
        )
    });
    admin_like
        .or(sorted.first().copied())
        .map(|u| u.email.clone())
}

/// The copies `party` received, from the events, in ledger order.
async fn gather(tx: &mut store::Tx, party: PartyId) -> Result<Vec<ReceivedCopy>, AppError> {
    let users = tx.list_users(Some(party)).await?;
    let emails: HashMap<UserId, String> = users.iter().map(|u| (u.id, u.email.clone())).collect();
    let by_email: HashMap<String, UserId> = users
        .iter()
        .map(|u| (u.email.to_ascii_lowercase(), u.id))
        .collect();
    let mut places: HashMap<FileId, Option<store::FilePlace>> = HashMap::new();
    let mut out = Vec::new();
    for e in tx.copy_events(party).await? {
        let Some(file_id) = e
            .target
            .strip_prefix("file:")
            .and_then(|id| id.parse::<FileId>().ok())
        else {
            continue;
        };
        let d = &e.detail;
        let link = d.get("link").and_then(|v| v.as_str()).map(str::to_owned);
        let recipient = d
            .get("recipient")
            .and_then(|v| v.as_str())
            .map(str::to_ascii_lowercase);
        let (by, user_id, through_link) = if e.actor_party == Some(party) {
            let who = e.actor_user.and_then(|u| emails.get(&u).cloned());
            (who.unwrap_or_default(), e.actor_user, false)
        } else if let Some(r) = recipient.filter(|r| by_email.contains_key(r)) {
            let id = by_email.get(&r).copied();
            (r, id, true)
        } else {
            continue;
        };
        let marked = d.get("delivery").and_then(|v| v.as_str()) == Some("marked");
        let kind = match (e.action.as_str(), marked, through_link) {
            ("file.view", _, false) => CopyKind::View,
            ("file.view", _, true) => CopyKind::LinkView,
            (_, true, false) => CopyKind::Marked,
            (_, true, true) => CopyKind::LinkMarked,
            (_, false, false) => CopyKind::Download,
            (_, false, true) => CopyKind::LinkDownload,
        };
        let place = match places.entry(file_id) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(tx.file_place(file_id).await?)
            }
        };
        let place = place.as_ref();
        out.push(ReceivedCopy {
            seq: e.seq,
            kind,
            file_id,
            room_id: place.map(|p| p.room_id),
            room_name: place.map(|p| p.room_name.clone()).unwrap_or_default(),
            path: place.map(|p| p.path.clone()).unwrap_or_default(),
            version: d.get("version").and_then(serde_json::Value::as_i64),
            sha256: d
                .get("sha256")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            mark_id: e.mark_id.clone(),
            range: d.get("range").and_then(|v| v.as_str()).map(str::to_owned),
            time_ms: e.time_ms,
            by,
            user_id,
            link: if through_link { link } else { None },
        });
    }
    Ok(out)
}

/// Opens the destruction attestation of `party` in the offboarding's
/// transaction `tx`: the copies it received, the text to sign, a secret page
/// mailed to its officer (when mail and the public address are set). The
/// offboarding's caller opens it; recorded as `attestation.open`.
pub(crate) async fn open(
    app: &App,
    tx: &mut store::Tx,
    meta: &RequestMeta,
    p: &kernel::authz::Principal,
    party: &Party,
    request: AttestationRequest,
) -> Result<AttestationId, AppError> {
    let days = due_days(request.due_days)?;
    let now = app.now();
    let officer = match request.officer {
        Some(a) => Some(a.addr().to_owned()),
        None => default_officer(&tx.list_users(Some(party.id)).await?),
    };
    let copies = gather(tx, party.id).await?;
    let text = attestation_text(DEFAULT_DECLARATION, &party.name, &copies);
    let text_sha256 = hex::encode(sha256(text.as_bytes()));
    let (token, token_sha256) = new_token()?;
    let mut a = Attestation {
        id: AttestationId::from_random(random()?),
        party_id: party.id,
        party_name: party.name.clone(),
        officer_email: officer,
        copies,
        text,
        text_sha256,
        opened_ms: now,
        opened_by: p.user_id,
        due_ms: now.saturating_add(days.saturating_mul(86_400_000)),
        mailed_ms: None,
        reminded_ms: None,
        reminders: 0,
        escalated_ms: None,
        escalations: 0,
        signature: None,
    };
    let mailed = mail_request(app, tx, &a, &token, false).await?;
    if mailed {
        a.mailed_ms = Some(now);
    }
    tx.insert_attestation(&a, &token_sha256).await?;
    let fact = Fact::allowed(Some(p), EventName::AttestationOpen, target(a.id)).with(json!({
        "party": party.id, "officer": a.officer_email, "due_ms": a.due_ms,
        "copies": a.copies.len(), "text_sha256": a.text_sha256, "mailed": mailed,
    }));
    record(tx, meta, now, fact).await?;
    Ok(a.id)
}

/// Queues the request's mail to its officer with the page of `token`;
/// false when there is no officer, no mail or no public address.
async fn mail_request(
    app: &App,
    tx: &mut store::Tx,
    a: &Attestation,
    token: &str,
    reminder: bool,
) -> Result<bool, AppError> {
    let (Some(officer), Some(link)) = (&a.officer_email, page_link(app, token)) else {
        return Ok(false);
    };
    let Ok(to) = MailAddress::parse(officer) else {
        return Ok(false);
    };
    let owner = tx.owner_party().await?.map(|o| o.name).unwrap_or_default();
    let template = MailTemplate::AttestationRequest {
        party: a.party_name.clone(),
        owner,
        link,
        due: utc_date(a.due_ms),
        copies: a.copies.len(),
        reminder,
    };
    kernel::outbox::enqueue(tx, app.now(), &to.bare(), &template).await?;
    Ok(true)
}

fn target(id: AttestationId) -> String {
    format!("attestation:{id}")
}

/// The counts a guess at attestation `id` from `address` is made in.
fn counts(id: AttestationId, address: &str) -> Vec<Count> {
    vec![
        Count {
            scope: "attestation_address",
            key: format!("{id}/{address}"),
            free: 5,
        },
        Count {
            scope: "attestation",
            key: id.to_string(),
            free: 50,
        },
    ]
}

/// The signed attestations of `party`, oldest first: what a certificate of
/// destruction attaches. Read in the caller's transaction (no proof: the
/// caller's own use-case holds it).
pub async fn signed_attestations(
    tx: &mut store::Tx,
    party: PartyId,
) -> Result<Vec<SignedAttestation>, AppError> {
    let mut all = tx.list_attestations(Some(party)).await?;
    all.reverse();
    Ok(all
        .into_iter()
        .filter_map(|a| {
            let s = a.signature?;
            Some(SignedAttestation {
                id: a.id,
                text: a.text,
                text_sha256: a.text_sha256,
                signer_name: s.name,
                signer_email: s.email,
                signed_ms: s.signed_ms,
            })
        })
        .collect())
}

impl Attestations<'_> {
    /// Every attestation, newest first, or one party's.
    pub async fn list(
        &self,
        _auth: Authorized<'_, act::AttestationRead, System>,
        party: Option<PartyId>,
    ) -> Result<Vec<Attestation>, AppError> {
        Ok(self.store().read().await?.list_attestations(party).await?)
    }

    /// One attestation, with its copies and signature.
    pub async fn get(
        &self,
        _auth: Authorized<'_, act::AttestationRead, System>,
        id: AttestationId,
    ) -> Result<Attestation, AppError> {
        self.store()
            .read()
            .await?
            .get_attestation(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Sends an unsigned request to its officer again (to `officer` when
    /// given, which becomes its officer) with a fresh secret page: the old
    /// page stops working. Returns the request and the new page's path,
    /// to show once (it is mailed when mail and the public address are set).
    pub async fn send(
        &self,
        auth: Authorized<'_, act::AttestationSend, System>,
        id: AttestationId,
        officer: Option<MailAddress>,
    ) -> Result<(Attestation, String), AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut a = tx.get_attestation(id).await?.ok_or(AppError::NotFound)?;
        if a.signature.is_some() {
            return Err(AppError::invalid(
                ErrorCode::AttestationSigned,
                "the attestation is signed already",
            ));
        }
        if let Some(o) = officer {
            a.officer_email = Some(o.addr().to_owned());
        }
        let Some(email) = a.officer_email.clone() else {
            return Err(AppError::invalid(
                ErrorCode::AttestationOfficer,
                "the party has no officer to send the request to: give an address",
            ));
        };
        let (token, token_sha256) = new_token()?;
        tx.reissue_attestation(id, &token_sha256, &email, now)
            .await?;
        let mailed = mail_request(self.0, &mut tx, &a, &token, false).await?;
        a.mailed_ms = Some(now);
        let fact = Fact::allowed(Some(p), EventName::AttestationMail, target(id))
            .with(json!({"officer": email, "mailed": mailed}));
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        Ok((a, format!("/a/{token}")))
    }

    /// The attestation of the page secret `token`; an unknown secret is
    /// not found, whatever it looks like.
    async fn by_token(&self, token: &str) -> Result<Attestation, AppError> {
        self.store()
            .read()
            .await?
            .attestation_by_token(&sha256(token.as_bytes()))
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The verified address of the browser holding `session` on `a`, or
    /// whether it waits for a code.
    async fn session(
        &self,
        a: &Attestation,
        session: Option<&str>,
    ) -> Result<Option<Result<String, ()>>, AppError> {
        let Some(secret) = session else {
            return Ok(None);
        };
        let code = self
            .store()
            .read()
            .await?
            .attestation_code_by_session(&sha256(secret.as_bytes()))
            .await?;
        let Some(code) = code.filter(|c| c.attestation_id == a.id) else {
            return Ok(None);
        };
        let now = self.now();
        // Only the current officer's address counts (a request sent to
        // someone else since makes older sessions void).
        let current = a
            .officer_email
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case(&code.recipient));
        Ok(match code.verified_ms {
            Some(at) if current && now < at.saturating_add(SESSION_TTL_MS) => {
                Some(Ok(code.recipient))
            }
            None if current && now < code.expires_ms && code.attempts < MAX_CODE_ATTEMPTS => {
                Some(Err(()))
            }
            _ => None,
        })
    }

    /// What the signing page of `token` shows to the browser holding `session`.
    pub async fn attestation_page(
        &self,
        token: &str,
        session: Option<&str>,
    ) -> Result<AttestationPage, AppError> {
        let a = self.by_token(token).await?;
        let step = if a.signature.is_some() {
            AttestationStep::Signed
        } else {
            match self.session(&a, session).await? {
                Some(Ok(email)) => AttestationStep::Sign { email },
                Some(Err(())) => AttestationStep::Code,
                None => AttestationStep::Address,
            }
        };
        Ok(AttestationPage {
            officer_hint: a.officer_email.as_deref().map(hint).unwrap_or_default(),
            attestation: a,
            step,
        })
    }

    /// Mails a one-time code to the request's officer, for a new browser
    /// session whose secret is returned. Recorded as `attestation.code`.
    pub async fn attestation_send_code(
        &self,
        meta: &RequestMeta,
        token: &str,
    ) -> Result<String, AppError> {
        let a = self.by_token(token).await?;
        if a.signature.is_some() {
            return Err(AppError::invalid(
                ErrorCode::AttestationSigned,
                "the attestation is signed already",
            ));
        }
        let Some(officer) = a.officer_email.clone() else {
            return Err(AppError::invalid(
                ErrorCode::AttestationOfficer,
                "the request names no officer: ask the sender to send it again",
            ));
        };
        let address = address_key(meta.source_addr.as_deref());
        throttled(self.0, a.id, &address).await?;
        let now = self.now();
        let code = format!("{:06}", u32::from_be_bytes(random::<4>()?) % 1_000_000);
        let (session, session_sha256) = new_token()?;
        let row = store::AttestationCode {
            id: AttestationCodeId::from_random(random()?),
            attestation_id: a.id,
            recipient: officer.clone(),
            session_sha256,
            code_sha256: sha256(code.as_bytes()),
            created_ms: now,
            expires_ms: now.saturating_add(CODE_TTL_MS),
            attempts: 0,
            verified_ms: None,
        };
        let mut tx = self.store().begin().await?;
        tx.insert_attestation_code(&row).await?;
        if let Ok(to) = MailAddress::parse(&officer) {
            let template = MailTemplate::AttestationCode {
                party: a.party_name.clone(),
                code,
                minutes: CODE_TTL_MS / 60_000,
            };
            kernel::outbox::enqueue(&mut tx, now, &to.bare(), &template).await?;
        }
        let fact = Fact::allowed(None, EventName::AttestationCode, target(a.id))
            .with(json!({"officer": officer}));
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Checks the code typed in the browser holding `session`; the session
    /// is verified when it matches. Recorded as `attestation.verify`.
    pub async fn attestation_verify_code(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: &str,
        code: &str,
    ) -> Result<(), AppError> {
        let a = self.by_token(token).await?;
        let address = address_key(meta.source_addr.as_deref());
        throttled(self.0, a.id, &address).await?;
        let now = self.now();
        let wrong = || {
            AppError::invalid(
                ErrorCode::AttestationCode,
                "the code is wrong or has expired",
            )
        };
        let mut tx = self.store().begin().await?;
        let Some(row) = tx
            .attestation_code_by_session(&sha256(session.as_bytes()))
            .await?
            .filter(|c| c.attestation_id == a.id && c.verified_ms.is_none())
        else {
            drop(tx);
            return Err(wrong());
        };
        let fresh = now < row.expires_ms && row.attempts < MAX_CODE_ATTEMPTS;
        let ok = fresh && ct_eq(&sha256(code.trim().as_bytes()), &row.code_sha256);
        tx.attestation_code_attempt(row.id, ok, now).await?;
        let detail = json!({"officer": row.recipient});
        let fact = if ok {
            Fact::allowed(None, EventName::AttestationVerify, target(a.id))
        } else {
            Fact::denied(
                None,
                EventName::AttestationVerify,
                target(a.id),
                "attestation_code",
            )
        };
        record(&mut tx, meta, now, fact.with(detail)).await?;
        tx.commit().await?;
        let counts = counts(a.id, &address);
        if ok {
            kernel::guesses::clear(self.0, counts[0].scope, &counts[0].key).await?;
            Ok(())
        } else {
            kernel::guesses::fail(self.0, &counts).await?;
            Err(wrong())
        }
    }

    /// The verified officer of the browser holding `session` signs: the
    /// name typed, the box ticked, and `text_sha256` the SHA-256 of the text
    /// shown. The signature keeps the signer's name and address, the hash,
    /// the time and the source address (the text is the request's);
    /// recorded as `attestation.sign`.
    pub async fn attestation_sign(
        &self,
        meta: &RequestMeta,
        token: &str,
        session: Option<&str>,
        signing: Signing<'_>,
    ) -> Result<Attestation, AppError> {
        let mut a = self.by_token(token).await?;
        if a.signature.is_some() {
            return Err(AppError::invalid(
                ErrorCode::AttestationSigned,
                "the attestation is signed already",
            ));
        }
        let Some(Ok(email)) = self.session(&a, session).await? else {
            return Err(AppError::invalid(
                ErrorCode::AttestationCode,
                "verify your address with the code mailed to it before signing",
            ));
        };
        let name = signer_name(signing.name).filter(|_| signing.accepted);
        let Some(name) = name else {
            return Err(AppError::invalid(
                ErrorCode::BadAttestation,
                format!(
                    "type your name (1 to {MAX_SIGNER_NAME} characters) and tick the box to sign"
                ),
            ));
        };
        let shown = signing.text_sha256.trim().to_ascii_lowercase();
        let mut detail = json!({
            "party": a.party_id, "officer": email, "name": name,
            "text_sha256": a.text_sha256, "copies": a.copies.len(),
        });
        if !ct_eq(shown.as_bytes(), a.text_sha256.as_bytes()) {
            let fact = Fact::denied(
                None,
                EventName::AttestationSign,
                target(a.id),
                "text_mismatch",
            );
            self.record_alone(meta, fact.with(detail)).await?;
            return Err(AppError::invalid(
                ErrorCode::TextMismatch,
                "the text signed is not the text of this request: read it again",
            ));
        }
        let now = self.now();
        let signature = AttestationSignature {
            name,
            email,
            text_sha256: shown,
            signed_ms: now,
            source_addr: meta.source_addr.clone(),
        };
        let mut tx = self.store().begin().await?;
        if !tx.sign_attestation(a.id, &signature).await? {
            return Err(AppError::invalid(
                ErrorCode::AttestationSigned,
                "the attestation is signed already",
            ));
        }
        detail["source_addr"] = json!(meta.source_addr);
        let fact = Fact::allowed(None, EventName::AttestationSign, target(a.id)).with(detail);
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        a.signature = Some(signature);
        Ok(a)
    }

    /// Reminds the officer of every overdue request and escalates it to the
    /// owner's security officers (else its admins), each at most once per
    /// [`ATTESTATION_PERIOD_MS`]; one node does each (conditional updates).
    /// The reminder mails a fresh page (the officer's old link stops
    /// working). Returns how many reminders and escalations it recorded.
    pub async fn sweep_attestations(&self) -> Result<usize, AppError> {
        let now = self.now();
        let due = self
            .store()
            .read()
            .await?
            .overdue_attestations(now, SWEEP_BATCH)
            .await?;
        let meta = RequestMeta::default();
        let mut done = 0;
        for a in due {
            let mut tx = self.store().begin().await?;
            if tx
                .take_attestation_reminder(a.id, now, ATTESTATION_PERIOD_MS)
                .await?
            {
                let (token, token_sha256) = new_token()?;
                let mailed = match &a.officer_email {
                    Some(email) => {
                        let mailed = mail_request(self.0, &mut tx, &a, &token, true).await?;
                        if mailed {
                            tx.reissue_attestation(a.id, &token_sha256, email, now)
                                .await?;
                        }
                        mailed
                    }
                    None => false,
                };
                let fact = Fact::allowed(None, EventName::AttestationRemind, target(a.id)).with(
                    json!({"officer": a.officer_email, "mailed": mailed, "due_ms": a.due_ms}),
                );
                record(&mut tx, &meta, now, fact).await?;
                done += 1;
            }
            if tx
                .take_attestation_escalation(a.id, now, ATTESTATION_PERIOD_MS)
                .await?
            {
                let told = escalate(&mut tx, &a, now).await?;
                let fact = Fact::allowed(None, EventName::AttestationEscalate, target(a.id))
                    .with(json!({"told": told, "due_ms": a.due_ms}));
                record(&mut tx, &meta, now, fact).await?;
                done += 1;
            }
            tx.commit().await?;
        }
        Ok(done)
    }
}

/// Starts the background task that runs [`Attestations::sweep_attestations`]
/// every `every` (the expiry sweep's period). A failure is logged and the
/// next sweep tries again.
pub fn spawn_attestation_sweeper(
    app: App,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let swept = Attestations(&app).sweep_attestations().await;
            kernel::jobs::ran("attestation_sweep", &swept);
            match swept {
                Ok(0) => {}
                Ok(n) => tracing::info!(recorded = n, "attestation sweep"),
                Err(e) => tracing::error!(error = %e, "attestation sweep failed"),
            }
        }
    })
}

/// Tells the owner's security officers (else its admins) that `a` is
/// overdue: a notification each, mailed at once (`attestation.` is a
/// security notice). Returns how many were told.
async fn escalate(tx: &mut store::Tx, a: &Attestation, now: i64) -> Result<usize, AppError> {
    let Some(owner) = tx.owner_party().await? else {
        return Ok(0);
    };
    let staff: Vec<User> = tx
        .list_users(Some(owner.id))
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .collect();
    let officers: Vec<&User> = staff
        .iter()
        .filter(|u| u.system_role == SystemRole::SecurityOfficer)
        .collect();
    let tell: Vec<&User> = if officers.is_empty() {
        staff
            .iter()
            .filter(|u| u.system_role == SystemRole::Admin)
            .collect()
    } else {
        officers
    };
    let message = format!(
        "{}'s declaration of return or destruction was due on {} and is not signed ({} copies listed; officer: {}). See the attestation.",
        a.party_name,
        utc_date(a.due_ms),
        a.copies.len(),
        a.officer_email.as_deref().unwrap_or("none named"),
    );
    let seen: HashSet<UserId> = tell.iter().map(|u| u.id).collect();
    for u in &tell {
        notify(
            tx,
            u.id,
            now,
            EventName::AttestationEscalate.as_str(),
            target(a.id),
            message.clone(),
        )
        .await?;
    }
    Ok(seen.len())
}

/// Refuses a guess from `address` at attestation `id` that must still wait.
async fn throttled(app: &App, id: AttestationId, address: &str) -> Result<(), AppError> {
    let wait = kernel::guesses::wait_ms(app, &counts(id, address)).await?;
    if wait > 0 {
        let seconds = (wait + 999) / 1000;
        return Err(AppError::invalid(
            ErrorCode::AttestationThrottled,
            format!("too many wrong codes from your address: wait {seconds} s before the next"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_officer_hint_hides_the_address() {
        for (email, want) in [("ada@vendor.example", "a***@vendor.example"), ("x", "***")] {
            assert_eq!(hint(email), want);
        }
    }

    #[test]
    fn due_days_are_checked() {
        for (raw, ok) in [
            (None, true),
            (Some(1), true),
            (Some(365), true),
            (Some(0), false),
            (Some(366), false),
        ] {
            assert_eq!(due_days(raw).is_ok(), ok, "{raw:?}");
        }
    }
}
