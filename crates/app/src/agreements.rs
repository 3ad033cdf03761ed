//! Agreements (NDA, IP assignment, licence) issued to a party: created by the
//! owner's admins, signed click-through by a user of that party — who proves
//! what was shown by sending the SHA-256 of the exact text — and terminated at
//! once by an admin. Expiry is not a stored transition: an active agreement is
//! expired from its end date on, so every decision sees the live state and no
//! sweep is needed. Also the facts the policy needs about a room's required
//! agreements (docs/policy.md).

use model::*;
use serde_json::json;

use crate::authz::{Action, Principal, Requirement, Resource};
use crate::events::{Fact, RequestMeta, record};
use crate::secrets::{ct_eq, random, sha256};
use crate::{App, AppError};

/// Most requirements a room may declare.
const MAX_REQUIREMENTS: usize = 20;
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
            "invalid_terms",
            "at most 250 territories",
        ));
    }
    if let Some(bad) = terms.territories.iter().find(|c| !is_country(c)) {
        return Err(AppError::invalid(
            "invalid_terms",
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
            "invalid_terms",
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

/// What the policy needs about a room's required agreements for one party.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AgreementFacts {
    pub requirements: Vec<Requirement>,
    pub in_force: Vec<String>,
    pub lapsed: Vec<String>,
}

/// For each requirement (a kind or a template name): whether one of the party's
/// agreements meeting it is in force at `now_ms`, else whether one was signed
/// and has ended or been terminated; and the title a denial names — the newest
/// such agreement the party was offered, else the requirement itself.
pub(crate) fn agreement_facts(
    required: &[String],
    agreements: &[Agreement],
    now_ms: i64,
) -> AgreementFacts {
    let mut facts = AgreementFacts::default();
    for key in required {
        let offered = agreements
            .iter()
            .filter(|a| a.satisfies(key) && a.status != AgreementStatus::Draft);
        let title = offered
            .clone()
            .max_by_key(|a| (a.created_ms, a.id))
            .map_or_else(|| key.clone(), |a| a.title.clone());
        if offered.clone().any(|a| a.in_force(now_ms)) {
            facts.in_force.push(key.clone());
        } else if offered.clone().any(|a| {
            a.signature.is_some()
                && matches!(
                    a.status_at(now_ms),
                    AgreementStatus::Expired | AgreementStatus::Terminated
                )
        }) {
            facts.lapsed.push(key.clone());
        }
        facts.requirements.push(Requirement {
            key: key.clone(),
            title,
        });
    }
    facts
}

/// Checks a room's requirement list: kinds or template names, no repeats.
pub(crate) fn requirements_valid(required: Vec<String>) -> Result<Vec<String>, AppError> {
    if required.len() > MAX_REQUIREMENTS {
        return Err(AppError::invalid(
            "too_many_requirements",
            format!("a room may require at most {MAX_REQUIREMENTS} agreements"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(required.len());
    for key in required {
        if AgreementKind::parse(&key).is_err() && !is_template_name(&key) {
            return Err(AppError::invalid(
                "invalid_requirement",
                format!(
                    "`{}` is neither an agreement kind (`nda`, `ip_assignment`, `licence`) nor a template name",
                    key.chars().take(64).collect::<String>()
                ),
            ));
        }
        if out.contains(&key) {
            return Err(AppError::invalid(
                "duplicate_requirement",
                format!("`{key}` is required twice"),
            ));
        }
        out.push(key);
    }
    Ok(out)
}

/// A template name: 1 to 64 of `a-z`, `0-9`, `-`, starting with a letter or digit.
fn is_template_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn text_field(value: &str, field: &str, max: usize) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "invalid_field",
            format!("`{field}` must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(v.to_owned())
}

impl App {
    /// The agreements the caller may see: every agreement for the owner's
    /// staff, the offered agreements of their own party for anyone else.
    pub async fn list_agreements(
        &self,
        meta: &RequestMeta,
        p: &Principal,
    ) -> Result<Vec<Agreement>, AppError> {
        self.check_system(meta, p, Action::AgreementList).await?;
        let scope = (p.party_kind != PartyKind::Owner).then_some(p.party_id);
        let all = self.store().read().await?.list_agreements(scope).await?;
        let policies = self.policies()?;
        let ctx = self.context(meta);
        Ok(all
            .into_iter()
            .filter(|a| {
                policies.decide(p, Action::AgreementView.as_str(), &resource(a), &ctx)
                    == crate::authz::Decision::Allow
            })
            .collect())
    }

    /// Issues an agreement to a party (awaiting its signature, or as a draft).
    pub async fn create_agreement(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        new: NewAgreement,
    ) -> Result<Agreement, AppError> {
        self.check_system(meta, p, Action::AgreementCreate).await?;
        let now = self.now();
        if !is_template_name(&new.template) || AgreementKind::parse(&new.template).is_ok() {
            return Err(AppError::invalid(
                "invalid_template",
                "`template` must be 1 to 64 of `a-z`, `0-9` and `-`, and not an agreement kind",
            ));
        }
        let title = text_field(&new.title, "title", 200)?;
        if new.text.trim().is_empty() || new.text.len() > MAX_TEXT {
            return Err(AppError::invalid(
                "invalid_field",
                format!("`text` must be 1 to {MAX_TEXT} bytes"),
            ));
        }
        let terms = terms_valid(new.terms)?;
        let effective_ms = new.effective_ms.unwrap_or(now);
        if new.end_ms.is_some_and(|end| end <= effective_ms) {
            return Err(AppError::invalid(
                "invalid_term",
                "`end_at` must be after `effective_at`",
            ));
        }
        let mut tx = self.store().begin().await?;
        let party = tx.get_party(new.party_id).await?;
        if party.is_none_or(|party| party.kind == PartyKind::Owner) {
            return Err(AppError::invalid(
                "unknown_party",
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
            Fact::allowed(Some(p), "agreement.create", target).with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(agreement)
    }

    /// The agreement templates (owner staff).
    pub async fn list_templates(
        &self,
        meta: &RequestMeta,
        p: &Principal,
    ) -> Result<Vec<AgreementTemplate>, AppError> {
        self.check_system(meta, p, Action::TemplateList).await?;
        Ok(self.store().read().await?.list_templates().await?)
    }

    /// Creates a template, or replaces the one of the same name (admins).
    /// Agreements already issued keep the text they were issued with.
    pub async fn put_template(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        new: NewTemplate,
    ) -> Result<AgreementTemplate, AppError> {
        self.check_system(meta, p, Action::TemplateUpdate).await?;
        if !is_template_name(&new.name) || AgreementKind::parse(&new.name).is_ok() {
            return Err(AppError::invalid(
                "invalid_template",
                "`name` must be 1 to 64 of `a-z`, `0-9` and `-`, and not an agreement kind",
            ));
        }
        let title = text_field(&new.title, "title", 200)?;
        if new.text.trim().is_empty() || new.text.len() > MAX_TEXT {
            return Err(AppError::invalid(
                "invalid_field",
                format!("`text` must be 1 to {MAX_TEXT} bytes"),
            ));
        }
        if new
            .duration_days
            .is_some_and(|d| !(1..=MAX_DURATION_DAYS).contains(&d))
        {
            return Err(AppError::invalid(
                "invalid_term",
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
                "template.update",
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
        meta: &RequestMeta,
        p: &Principal,
        party_id: PartyId,
        template: &str,
        effective_ms: Option<i64>,
        draft: bool,
    ) -> Result<Agreement, AppError> {
        self.check_system(meta, p, Action::AgreementCreate).await?;
        let found = self.store().read().await?.get_template(template).await?;
        let t = found.ok_or_else(|| {
            AppError::invalid(
                "unknown_template",
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
        self.create_agreement(meta, p, new).await
    }

    /// Offers a draft agreement for signature (admins).
    pub async fn offer_agreement(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: AgreementId,
    ) -> Result<Agreement, AppError> {
        self.check_system(meta, p, Action::AgreementCreate).await?;
        let mut agreement = self
            .agreement_access(meta, p, id, Action::AgreementView)
            .await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if !tx.offer_agreement(id).await? {
            return Err(AppError::invalid(
                "not_a_draft",
                format!("this agreement is `{}`", agreement.status_at(now)),
            ));
        }
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), "agreement.offer", format!("agreement:{id}"))
                .with(json!({"party": agreement.party_id, "title": agreement.title})),
        )
        .await?;
        tx.commit().await?;
        agreement.status = AgreementStatus::AwaitingSignature;
        Ok(agreement)
    }

    /// The agreements awaiting the signature of the caller's party that a
    /// room requires and that are not yet met: what the web UI shows instead
    /// of an error. Owner staff and parties with nothing to sign get none.
    pub async fn agreements_to_sign(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        room: RoomId,
    ) -> Result<Vec<Agreement>, AppError> {
        if p.party_kind == PartyKind::Owner {
            return Ok(vec![]);
        }
        // Seeing the room is what entitles the caller to know what it requires.
        let info = self.room_access(meta, p, room, Action::RoomView).await?;
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
        meta: &RequestMeta,
        p: &Principal,
        id: AgreementId,
    ) -> Result<Agreement, AppError> {
        self.agreement_access(meta, p, id, Action::AgreementView)
            .await
    }

    /// Signs an agreement awaiting signature, for the caller's party. The
    /// caller sends the SHA-256 of the text it was shown; it must be the
    /// agreement's. The signer, time, address and hash are recorded as an event.
    pub async fn sign_agreement(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: AgreementId,
        text_sha256: &str,
    ) -> Result<Agreement, AppError> {
        let mut agreement = self
            .agreement_access(meta, p, id, Action::AgreementSign)
            .await?;
        let shown = text_sha256.trim().to_ascii_lowercase();
        if !ct_eq(shown.as_bytes(), agreement.text_sha256.as_bytes()) {
            return Err(AppError::invalid(
                "text_mismatch",
                "`text_sha256` is not the SHA-256 of this agreement's text",
            ));
        }
        if agreement.status != AgreementStatus::AwaitingSignature {
            return Err(AppError::invalid(
                "not_awaiting_signature",
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
            Fact::allowed(Some(p), "agreement.sign", format!("agreement:{id}")).with(detail),
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
        meta: &RequestMeta,
        p: &Principal,
        id: AgreementId,
    ) -> Result<Agreement, AppError> {
        let mut agreement = self
            .agreement_access(meta, p, id, Action::AgreementTerminate)
            .await?;
        if agreement.status == AgreementStatus::Terminated {
            return Err(AppError::invalid(
                "already_terminated",
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
            Fact::allowed(Some(p), "agreement.terminate", format!("agreement:{id}"))
                .with(json!({"party": agreement.party_id, "title": agreement.title})),
        )
        .await?;
        tx.commit().await?;
        agreement.status = AgreementStatus::Terminated;
        agreement.terminated_ms = Some(now);
        Ok(agreement)
    }

    /// Loads an agreement and checks `action` on it; unknown agreements and
    /// those the caller may not see are both `NotFound`.
    async fn agreement_access(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: AgreementId,
        action: Action,
    ) -> Result<Agreement, AppError> {
        let found = self.store().read().await?.get_agreement(id).await?;
        let target = format!("agreement:{id}");
        let ctx = self.context(meta);
        let Some(agreement) = found else {
            self.enforce(
                meta,
                p,
                Action::RoomList,
                &Resource::System,
                &ctx,
                target.clone(),
            )
            .await?;
            let fact = Fact::denied(Some(p), action.as_str(), target, "not_found");
            self.record_alone(meta, fact).await?;
            return Err(AppError::NotFound);
        };
        self.enforce(meta, p, action, &resource(&agreement), &ctx, target)
            .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    /// Requirement keys in force, lapsed, and the titles a denial would name.
    type Want<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str]);

    fn agreement(
        key: (AgreementKind, &str),
        status: AgreementStatus,
        signed: bool,
        term: (i64, Option<i64>),
        created_ms: i64,
    ) -> Agreement {
        Agreement {
            id: AgreementId::from_random([created_ms as u8; 16]),
            party_id: PartyId::from_random([1; 16]),
            kind: key.0,
            template: key.1.to_owned(),
            title: format!("{} from day {}", key.1, created_ms / DAY),
            text: "text".into(),
            text_sha256: String::new(),
            terms: AgreementTerms::default(),
            status,
            effective_ms: term.0,
            end_ms: term.1,
            created_by: UserId::from_random([2; 16]),
            created_ms,
            signature: signed.then(|| Signature {
                user_id: UserId::from_random([3; 16]),
                text_sha256: String::new(),
                signed_ms: created_ms,
                source_addr: None,
            }),
            terminated_ms: None,
        }
    }

    /// `(in force, lapsed, titles)` for `required` at day 10.
    fn check(required: &[&str], agreements: &[Agreement], want: Want) {
        let required: Vec<String> = required.iter().map(|s| (*s).to_owned()).collect();
        let got = agreement_facts(&required, agreements, 10 * DAY);
        let titles: Vec<&str> = got.requirements.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            (
                got.in_force.as_slice(),
                got.lapsed.as_slice(),
                titles.as_slice()
            ),
            (
                want.0
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>()
                    .as_slice(),
                want.1
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>()
                    .as_slice(),
                want.2
            ),
            "{required:?}"
        );
    }

    #[test]
    fn a_requirement_is_met_by_a_signed_agreement_in_term_only() {
        use AgreementStatus::*;
        let nda = (AgreementKind::Nda, "mutual-nda-2026");
        let lic = (AgreementKind::Licence, "eu-licence");
        let open = (0, None);
        let table: Vec<(&[&str], Vec<Agreement>, Want)> = vec![
            // nothing offered: missing, named by the requirement itself
            (&["nda"], vec![], (&[], &[], &["nda"])),
            // offered, not signed yet: missing, named by the agreement's title
            (
                &["nda"],
                vec![agreement(nda, AwaitingSignature, false, open, DAY)],
                (&[], &[], &["mutual-nda-2026 from day 1"]),
            ),
            // a draft is not offered
            (
                &["nda"],
                vec![agreement(nda, Draft, false, open, DAY)],
                (&[], &[], &["nda"]),
            ),
            // signed, by kind or by template name
            (
                &["nda", "mutual-nda-2026"],
                vec![agreement(nda, Active, true, open, DAY)],
                (
                    &["nda", "mutual-nda-2026"],
                    &[],
                    &["mutual-nda-2026 from day 1"; 2],
                ),
            ),
            // signed but not yet effective
            (
                &["nda"],
                vec![agreement(nda, Active, true, (11 * DAY, None), DAY)],
                (&[], &[], &["mutual-nda-2026 from day 1"]),
            ),
            // the end date is exclusive: ending at day 10 is lapsed at day 10
            (
                &["nda"],
                vec![agreement(nda, Active, true, (0, Some(10 * DAY)), DAY)],
                (&[], &["nda"], &["mutual-nda-2026 from day 1"]),
            ),
            (
                &["nda"],
                vec![agreement(nda, Active, true, (0, Some(10 * DAY + 1)), DAY)],
                (&["nda"], &[], &["mutual-nda-2026 from day 1"]),
            ),
            // terminated: lapsed; a newer one in force wins
            (
                &["nda"],
                vec![agreement(nda, Terminated, true, open, DAY)],
                (&[], &["nda"], &["mutual-nda-2026 from day 1"]),
            ),
            (
                &["nda"],
                vec![
                    agreement(nda, Terminated, true, open, DAY),
                    agreement(nda, Active, true, open, 2 * DAY),
                ],
                (&["nda"], &[], &["mutual-nda-2026 from day 2"]),
            ),
            // the wrong kind meets nothing
            (
                &["nda", "licence"],
                vec![agreement(lic, Active, true, open, DAY)],
                (&["licence"], &[], &["nda", "eu-licence from day 1"]),
            ),
        ];
        for (required, agreements, want) in table {
            check(required, &agreements, want);
        }
    }

    #[test]
    fn room_requirements_are_kinds_or_template_names() {
        let check = |input: &[&str], want: Result<(), &str>| {
            let got = requirements_valid(input.iter().map(|s| (*s).to_owned()).collect())
                .map(|_| ())
                .map_err(|e| e.code());
            assert_eq!(got, want, "{input:?}");
        };
        check(&[], Ok(()));
        check(&["nda", "ip_assignment", "mutual-nda-2026"], Ok(()));
        check(&["NDA"], Err("invalid_requirement"));
        check(&["-x"], Err("invalid_requirement"));
        check(&["nda", "nda"], Err("duplicate_requirement"));
        check(&["a"; 21], Err("too_many_requirements"));
    }
}
