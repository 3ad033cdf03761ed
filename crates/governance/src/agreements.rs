//! Agreements (NDA, IP assignment, licence) issued to a party: created by the
//! owner's admins, signed click-through by a user of that party — who proves
//! what was shown by sending the SHA-256 of the exact text — and terminated at
//! once by an admin. Expiry is not a stored transition: an active agreement is
//! expired from its end date on, so every decision sees the live state and no
//! sweep is needed. (The facts the policy needs about a room's required
//! agreements are the kernel's: `kernel::facts`.)

use model::*;
use serde_json::json;

use kernel::authz::{Decision, Resource};
use kernel::events::{Fact, record};
use kernel::facts::{agreement_facts, is_template_name};
use kernel::secrets::{ct_eq, random, sha256};
use kernel::{Action, App, AppError, Authorized, EventName, RoomInfo, System, act};

/// Largest agreement text, in bytes.
const MAX_TEXT: usize = 1024 * 1024;

/// An agreement about to be issued.
#[derive(Clone, Debug)]
pub struct NewAgreement {
    pub party_id: PartyId,
    pub kind: AgreementKind,
    /// The template the text comes from: lowercase letters, digits and `-`.
    pub template: String,
    pub title: String,
    pub text: String,
    pub terms: AgreementTerms,
    /// Defaults to now.
    pub effective_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Kept as a draft (not yet offered for signature).
    pub draft: bool,
}

/// A template about to be written (created, or replacing the one of its name).
#[derive(Clone, Debug)]
pub struct NewTemplate {
    pub name: String,
    pub kind: AgreementKind,
    pub title: String,
    pub text: String,
    pub terms: AgreementTerms,
    /// Term of an agreement issued from it, in days; open-ended when `None`.
    pub duration_days: Option<i64>,
}

/// Longest term of a template, in days (100 years).
const MAX_DURATION_DAYS: i64 = 36_500;
const DAY_MS: i64 = 86_400_000;

/// Checks an agreement's terms: field-of-use tags, ISO country codes and the
/// names of room actions; returns them normalised (sorted, no repeats).
fn terms_valid(mut terms: AgreementTerms) -> Result<AgreementTerms, AppError> {
    terms.field_of_use =
        tags(&terms.field_of_use).map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
    if terms.territories.len() > 250 {
        return Err(AppError::invalid(
            ErrorCode::InvalidTerms,
            "at most 250 territories",
        ));
    }
    if let Some(bad) = terms.territories.iter().find(|c| !is_country(c)) {
        return Err(AppError::invalid(
            ErrorCode::InvalidTerms,
            format!(
                "territory `{}` is not an ISO 3166-1 alpha-2 country code (two capital letters)",
                bad.chars().take(8).collect::<String>()
            ),
        ));
    }
    terms.territories.sort();
    terms.territories.dedup();
    if let Some(bad) = terms
        .permitted_actions
        .iter()
        .find(|a| Action::parse(a).is_none())
    {
        return Err(AppError::invalid(
            ErrorCode::InvalidTerms,
            format!(
                "`{}` is not an action",
                bad.chars().take(64).collect::<String>()
            ),
        ));
    }
    terms.permitted_actions.sort();
    terms.permitted_actions.dedup();
    Ok(terms)
}

fn text_field(value: &str, field: &str, max: usize) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(AppError::invalid(
            ErrorCode::InvalidField,
            format!("`{field}` must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(v.to_owned())
}

/// Agreements issued to parties, their templates, and each user's
/// notifications (with the sweep that writes them when an end passes).
#[derive(Clone, Copy)]
pub struct Agreements<'a>(pub &'a App);

impl std::ops::Deref for Agreements<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

impl Agreements<'_> {
    /// The agreements the caller may see: every agreement for the owner's
    /// staff, the offered agreements of their own party for anyone else.
    pub async fn list_agreements(
        &self,
        auth: Authorized<'_, act::AgreementList, System>,
    ) -> Result<Vec<Agreement>, AppError> {
        let (meta, p, _) = auth.into_parts();
        let scope = (p.party_kind != PartyKind::Owner).then_some(p.party_id);
        let all = self.store().read().await?.list_agreements(scope).await?;
        let policies = self.policies()?;
        let ctx = self.context(meta);
        Ok(all
            .into_iter()
            .filter(|a| {
                policies.decide(p, Action::AgreementView.as_str(), &resource(a), &ctx)
                    == Decision::Allow
            })
            .collect())
    }

    /// Issues an agreement to a party (awaiting its signature, or as a draft).
    pub async fn create_agreement(
        &self,
        auth: Authorized<'_, act::AgreementCreate, System>,
        new: NewAgreement,
    ) -> Result<Agreement, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        if !is_template_name(&new.template) || AgreementKind::parse(&new.template).is_ok() {
            return Err(AppError::invalid(
                ErrorCode::InvalidTemplate,
                "`template` must be 1 to 64 of `a-z`, `0-9` and `-`, and not an agreement kind",
            ));
        }
        let title = text_field(&new.title, "title", 200)?;
        if new.text.trim().is_empty() || new.text.len() > MAX_TEXT {
            return Err(AppError::invalid(
                ErrorCode::InvalidField,
                format!("`text` must be 1 to {MAX_TEXT} bytes"),
            ));
        }
        let terms = terms_valid(new.terms)?;
        let effective_ms = new.effective_ms.unwrap_or(now);
        if new.end_ms.is_some_and(|end| end <= effective_ms) {
            return Err(AppError::invalid(
                ErrorCode::InvalidTerm,
                "`end_at` must be after `effective_at`",
            ));
        }
        let mut tx = self.store().begin().await?;
        let party = tx.get_party(new.party_id).await?;
        if party.is_none_or(|party| party.kind == PartyKind::Owner) {
            return Err(AppError::invalid(
                ErrorCode::UnknownParty,
                format!("no external party with id `{}`", new.party_id),
            ));
        }
        let agreement = Agreement {
            id: AgreementId::from_random(random()?),
            party_id: new.party_id,
            kind: new.kind,
            template: new.template,
            title,
            text_sha256: hex::encode(sha256(new.text.as_bytes())),
            text: new.text,
            terms,
            status: if new.draft {
                AgreementStatus::Draft
            } else {
                AgreementStatus::AwaitingSignature
            },
            effective_ms,
            end_ms: new.end_ms,
            created_by: p.user_id,
            created_ms: now,
            signature: None,
            terminated_ms: None,
        };
        tx.insert_agreement(&agreement).await?;
        let detail = json!({
            "party": agreement.party_id, "kind": agreement.kind, "template": agreement.template,
            "title": agreement.title, "text_sha256": agreement.text_sha256,
            "status": agreement.status, "effective_ms": effective_ms, "end_ms": agreement.end_ms,
        });
        let target = format!("agreement:{}", agreement.id);
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::AgreementCreate, target).with(detail),
        )
        .await?;
        if agreement.status == AgreementStatus::AwaitingSignature {
            tell_party(&mut tx, &agreement, now).await?;
        }
        tx.commit().await?;
        Ok(agreement)
    }

    /// The agreement templates (owner staff).
    pub async fn list_templates(
        &self,
        _auth: Authorized<'_, act::TemplateList, System>,
    ) -> Result<Vec<AgreementTemplate>, AppError> {
        Ok(self.store().read().await?.list_templates().await?)
    }

    /// Creates a template, or replaces the one of the same name (admins).
    /// Agreements already issued keep the text they were issued with.
    pub async fn put_template(
        &self,
        auth: Authorized<'_, act::TemplateUpdate, System>,
        new: NewTemplate,
    ) -> Result<AgreementTemplate, AppError> {
        let (meta, p, _) = auth.into_parts();
        if !is_template_name(&new.name) || AgreementKind::parse(&new.name).is_ok() {
            return Err(AppError::invalid(
                ErrorCode::InvalidTemplate,
                "`name` must be 1 to 64 of `a-z`, `0-9` and `-`, and not an agreement kind",
            ));
        }
        let title = text_field(&new.title, "title", 200)?;
        if new.text.trim().is_empty() || new.text.len() > MAX_TEXT {
            return Err(AppError::invalid(
                ErrorCode::InvalidField,
                format!("`text` must be 1 to {MAX_TEXT} bytes"),
            ));
        }
        if new
            .duration_days
            .is_some_and(|d| !(1..=MAX_DURATION_DAYS).contains(&d))
        {
            return Err(AppError::invalid(
                ErrorCode::InvalidTerm,
                format!("`duration_days` must be 1 to {MAX_DURATION_DAYS}"),
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let existing = tx.get_template(&new.name).await?;
        let template = AgreementTemplate {
            name: new.name,
            kind: new.kind,
            title,
            text: new.text,
            terms: terms_valid(new.terms)?,
            duration_days: new.duration_days,
            created_by: existing.as_ref().map_or(p.user_id, |t| t.created_by),
            created_ms: existing.as_ref().map_or(now, |t| t.created_ms),
            updated_ms: now,
        };
        if existing.is_some() {
            tx.update_template(&template).await?;
        } else {
            tx.insert_template(&template).await?;
        }
        let detail = json!({
            "kind": template.kind, "title": template.title,
            "text_sha256": hex::encode(sha256(template.text.as_bytes())),
            "terms": template.terms, "duration_days": template.duration_days,
        });
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                Action::TemplateUpdate,
                format!("template:{}", template.name),
            )
            .with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(template)
    }

    /// Issues an agreement to a party from a template: its kind, title, text
    /// and terms, in term from `effective_ms` (default now) for the template's
    /// duration.
    pub async fn issue_from_template(
        &self,
        auth: Authorized<'_, act::AgreementCreate, System>,
        party_id: PartyId,
        template: &str,
        effective_ms: Option<i64>,
        draft: bool,
    ) -> Result<Agreement, AppError> {
        let found = self.store().read().await?.get_template(template).await?;
        let t = found.ok_or_else(|| {
            AppError::invalid(
                ErrorCode::UnknownTemplate,
                format!(
                    "no agreement template named `{}`",
                    template.chars().take(64).collect::<String>()
                ),
            )
        })?;
        let effective = effective_ms.unwrap_or_else(|| self.now());
        let end_ms = t
            .duration_days
            .map(|d| effective.saturating_add(d.saturating_mul(DAY_MS)));
        let new = NewAgreement {
            party_id,
            kind: t.kind,
            template: t.name,
            title: t.title,
            text: t.text,
            terms: t.terms,
            effective_ms: Some(effective),
            end_ms,
            draft,
        };
        // Issuing is creating: the decision that allowed the one serves the other.
        self.create_agreement(auth, new).await
    }

    /// Offers a draft agreement for signature (admins).
    pub async fn offer_agreement(
        &self,
        auth: Authorized<'_, act::AgreementCreate, System>,
        id: AgreementId,
    ) -> Result<Agreement, AppError> {
        let (meta, p, _) = auth.into_parts();
        let (_, _, mut agreement) = self
            .agreement(meta, p, id, act::AgreementView)
            .await?
            .into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if !tx.offer_agreement(id).await? {
            return Err(AppError::invalid(
                ErrorCode::NotADraft,
                format!("this agreement is `{}`", agreement.status_at(now)),
            ));
        }
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                EventName::AgreementOffer,
                format!("agreement:{id}"),
            )
            .with(json!({"party": agreement.party_id, "title": agreement.title})),
        )
        .await?;
        tell_party(&mut tx, &agreement, now).await?;
        tx.commit().await?;
        agreement.status = AgreementStatus::AwaitingSignature;
        Ok(agreement)
    }

    /// The agreements awaiting the signature of the caller's party that a
    /// room requires and that are not yet met: what the web UI shows instead
    /// of an error. Owner staff and parties with nothing to sign get none.
    /// Seeing the room is what entitles the caller to know what it requires;
    /// owner staff sign nothing, so the edge need not ask the seam for them.
    pub async fn agreements_to_sign(
        &self,
        auth: Authorized<'_, act::RoomView, RoomInfo>,
    ) -> Result<Vec<Agreement>, AppError> {
        let (_, p, info) = auth.into_parts();
        if p.party_kind == PartyKind::Owner {
            return Ok(vec![]);
        }
        let now = self.now();
        let mine = self
            .store()
            .read()
            .await?
            .list_agreements(Some(p.party_id))
            .await?;
        let facts = agreement_facts(&info.required_agreements, &mine, now);
        let unmet: Vec<&String> = info
            .required_agreements
            .iter()
            .filter(|k| !facts.in_force.contains(k))
            .collect();
        Ok(mine
            .into_iter()
            .filter(|a| {
                a.status == AgreementStatus::AwaitingSignature
                    && a.end_ms.is_none_or(|end| end > now)
                    && unmet.iter().any(|k| a.satisfies(k))
            })
            .collect())
    }

    /// One agreement, with its text.
    pub async fn get_agreement(
        &self,
        auth: Authorized<'_, act::AgreementView, Agreement>,
    ) -> Result<Agreement, AppError> {
        let (_, _, agreement) = auth.into_parts();
        Ok(agreement)
    }

    /// Signs an agreement awaiting signature, for the caller's party. The
    /// caller sends the SHA-256 of the text it was shown; it must be the
    /// agreement's. The signer, time, address and hash are recorded as an event.
    pub async fn sign_agreement(
        &self,
        auth: Authorized<'_, act::AgreementSign, Agreement>,
        text_sha256: &str,
    ) -> Result<Agreement, AppError> {
        let (meta, p, mut agreement) = auth.into_parts();
        let id = agreement.id;
        let shown = text_sha256.trim().to_ascii_lowercase();
        if !ct_eq(shown.as_bytes(), agreement.text_sha256.as_bytes()) {
            return Err(AppError::invalid(
                ErrorCode::TextMismatch,
                "`text_sha256` is not the SHA-256 of this agreement's text",
            ));
        }
        if agreement.status != AgreementStatus::AwaitingSignature {
            return Err(AppError::invalid(
                ErrorCode::NotAwaitingSignature,
                format!("this agreement is `{}`", agreement.status_at(self.now())),
            ));
        }
        let now = self.now();
        let signature = Signature {
            user_id: p.user_id,
            text_sha256: shown,
            signed_ms: now,
            source_addr: meta.source_addr.clone(),
        };
        let mut tx = self.store().begin().await?;
        if !tx.sign_agreement(id, &signature).await? {
            return Err(AppError::Conflict("signature"));
        }
        let detail = json!({
            "party": agreement.party_id, "title": agreement.title,
            "text_sha256": signature.text_sha256,
        });
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::AgreementSign, format!("agreement:{id}")).with(detail),
        )
        .await?;
        tx.commit().await?;
        agreement.status = AgreementStatus::Active;
        agreement.signature = Some(signature);
        Ok(agreement)
    }

    /// Terminates an agreement at once: from the next request on, it meets no
    /// room requirement.
    pub async fn terminate_agreement(
        &self,
        auth: Authorized<'_, act::AgreementTerminate, Agreement>,
    ) -> Result<Agreement, AppError> {
        let (meta, p, mut agreement) = auth.into_parts();
        let id = agreement.id;
        if agreement.status == AgreementStatus::Terminated {
            return Err(AppError::invalid(
                ErrorCode::AlreadyTerminated,
                "this agreement is already terminated",
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.terminate_agreement(id, now).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                Action::AgreementTerminate,
                format!("agreement:{id}"),
            )
            .with(json!({"party": agreement.party_id, "title": agreement.title})),
        )
        .await?;
        tx.commit().await?;
        agreement.status = AgreementStatus::Terminated;
        agreement.terminated_ms = Some(now);
        Ok(agreement)
    }
}

/// An agreement as the policy sees it.
fn resource(a: &Agreement) -> Resource {
    Resource::Agreement {
        id: a.id,
        party_id: a.party_id,
        kind: a.kind.as_str().to_owned(),
        status: a.status.as_str().to_owned(),
    }
}

/// Tells every active user of the agreement's party that it awaits their
/// signature (a notification, mailed when mail is on).
async fn tell_party(tx: &mut store::Tx, agreement: &Agreement, now: i64) -> Result<(), AppError> {
    let message = format!(
        "\u{201c}{}\u{201d} awaits your organization's signature: read and sign it on the Agreements page.",
        agreement.title
    );
    for user in tx.list_users(Some(agreement.party_id)).await? {
        if user.disabled {
            continue;
        }
        kernel::events::notify(
            tx,
            user.id,
            now,
            EventName::AgreementOffer.as_str(),
            format!("agreement:{}", agreement.id),
            message.clone(),
        )
        .await?;
    }
    Ok(())
}
