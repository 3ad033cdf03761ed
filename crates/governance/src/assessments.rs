//! Due diligence: questionnaire templates (versioned: a change is a new
//! version, old versions never change), assessments (a template version sent
//! to a party's contact, answered in drafts and submitted, follow-ups per
//! answer with remediations, the reviewer's sign-off with a decided tier and
//! reasons, which sets the party's tier and until when it is in term), each
//! party's evidence room, and the sharing risk matrix with the re-assessment
//! periods. The pure rules (validation, scoring, tiers, the matrix) are
//! `model::diligence`'s; every step is an event in the same transaction.

use model::diligence::*;
use model::*;
use serde_json::json;

use kernel::events::{Fact, notify, record};
use kernel::secrets::random;
use kernel::{Action, App, AppError, Authorized, EventName, System, act};

/// Longest reviewer's reasons for a decided tier, in characters.
pub const MAX_REASONS: usize = 2_000;

/// Due diligence over the kernel's [`App`]: questionnaires, assessments,
/// the risk matrix.
#[derive(Clone, Copy)]
pub struct Assessments<'a>(pub &'a App);

impl std::ops::Deref for Assessments<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

/// An assessment with the template version its answers bind to, and the
/// score and tier those answers compute to now.
#[derive(Clone, Debug, PartialEq)]
pub struct AssessmentView {
    pub assessment: Assessment,
    pub questionnaire: Questionnaire,
    pub scored: Scored,
}

fn template_error(e: TemplateError) -> AppError {
    AppError::invalid(ErrorCode::InvalidQuestionnaire, e.0)
}

fn answer_error(e: AnswerError) -> AppError {
    AppError::invalid(ErrorCode::InvalidAnswer, e.0)
}

fn state_error(what: &str, a: &Assessment) -> AppError {
    AppError::invalid(
        ErrorCode::AssessmentState,
        format!("the assessment is `{}`: {what}", a.status),
    )
}

/// Checks free text (a follow-up question or reply, reasons): 1 to `max`
/// characters after trimming, no control characters but line breaks.
fn text(code: ErrorCode, what: &str, s: &str, max: usize) -> Result<String, AppError> {
    check_text(what, s, max).map_err(|e| AppError::invalid(code, e.0))
}

impl Assessments<'_> {
    // ------------------------------------------------------ templates

    /// Every version of every questionnaire template (owner staff).
    pub async fn list_questionnaires(
        &self,
        _auth: Authorized<'_, act::QuestionnaireList, System>,
    ) -> Result<Vec<Questionnaire>, AppError> {
        Ok(self.store().read().await?.list_questionnaires().await?)
    }

    /// One questionnaire version (owner staff).
    pub async fn get_questionnaire(
        &self,
        _auth: Authorized<'_, act::QuestionnaireList, System>,
        id: QuestionnaireId,
    ) -> Result<Questionnaire, AppError> {
        self.store()
            .read()
            .await?
            .get_questionnaire(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Writes a questionnaire template (admins): a new version of `name`
    /// (the first when new). Versions already stored never change, so the
    /// answers given to them keep their meaning and score.
    pub async fn save_questionnaire(
        &self,
        auth: Authorized<'_, act::QuestionnaireUpdate, System>,
        name: &str,
        title: &str,
        body: TemplateBody,
    ) -> Result<Questionnaire, AppError> {
        let (meta, p, _) = auth.into_parts();
        if !kernel::facts::is_template_name(name) {
            return Err(AppError::invalid(
                ErrorCode::InvalidQuestionnaire,
                "a questionnaire's name is 1 to 64 of a-z, 0-9, `-`",
            ));
        }
        let title = check_text("title", title, MAX_TITLE).map_err(template_error)?;
        let body = body.validate().map_err(template_error)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let version = tx
            .latest_questionnaire(name)
            .await?
            .map_or(1, |q| q.version + 1);
        let q = Questionnaire {
            id: QuestionnaireId::from_random(random()?),
            name: name.to_owned(),
            version,
            title,
            body,
            created_by: p.user_id,
            created_ms: now,
        };
        tx.insert_questionnaire(&q).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                Action::QuestionnaireUpdate,
                format!("questionnaire:{}", q.id),
            )
            .with(json!({"name": q.name, "version": q.version,
                "questions": q.body.questions().count()})),
        )
        .await?;
        tx.commit().await?;
        Ok(q)
    }

    // ------------------------------------------------------ sending

    /// Sends a questionnaire version to `contact`, a user of `party` (admins):
    /// the party's evidence room is made with the first (classification
    /// `internal`, the contact a contributor), and the contact is told.
    pub async fn send(
        &self,
        auth: Authorized<'_, act::AssessmentSend, System>,
        party: PartyId,
        questionnaire: QuestionnaireId,
        contact: UserId,
    ) -> Result<Assessment, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let target = tx.get_party(party).await?.ok_or(AppError::NotFound)?;
        if target.kind == PartyKind::Owner {
            return Err(AppError::invalid(
                ErrorCode::InvalidContact,
                "the owner party is not assessed",
            ));
        }
        let q = tx.get_questionnaire(questionnaire).await?.ok_or_else(|| {
            AppError::invalid(
                ErrorCode::UnknownQuestionnaire,
                format!("no questionnaire with id `{questionnaire}`"),
            )
        })?;
        let user = tx.get_user(contact).await?;
        let Some(user) = user.filter(|u| u.party_id == party && !u.disabled) else {
            return Err(AppError::invalid(
                ErrorCode::InvalidContact,
                format!("`{contact}` is not an enabled user of `{}`", target.name),
            ));
        };
        let a = Assessment {
            id: AssessmentId::from_random(random()?),
            party_id: party,
            questionnaire_id: q.id,
            contact_id: user.id,
            status: AssessmentStatus::Sent,
            answers: Answers::new(),
            follow_ups: vec![],
            sent_by: p.user_id,
            sent_ms: now,
            submitted_ms: None,
            score: None,
            computed_tier: None,
            decision: None,
        };
        tx.insert_assessment(&a).await?;
        let room = self
            .evidence_room_in(&mut tx, meta, p, &target, user.id, now)
            .await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                Action::AssessmentSend,
                format!("assessment:{}", a.id),
            )
            .with(
                json!({"party": party, "questionnaire": q.name, "version": q.version,
                    "contact": user.id, "evidence_room": room}),
            ),
        )
        .await?;
        let message = format!(
            "{} asks you to answer the questionnaire “{}” for {}",
            p.email, q.title, target.name
        );
        let subject = format!("assessment:{}", a.id);
        let kind = Action::AssessmentSend.as_str();
        notify(&mut tx, user.id, now, kind, subject, message).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// The party's evidence room, made (with its event and the contact's
    /// `contributor` grant) when it has none; the contact is granted it when
    /// the room exists but they have no grant in it yet.
    async fn evidence_room_in(
        &self,
        tx: &mut store::Tx,
        meta: &kernel::events::RequestMeta,
        p: &kernel::authz::Principal,
        party: &Party,
        contact: UserId,
        now: i64,
    ) -> Result<RoomId, AppError> {
        let room = match tx.evidence_room(party.id).await? {
            Some(id) => id,
            None => {
                let room = Room {
                    id: RoomId::from_random(random()?),
                    name: format!("Due diligence evidence: {}", party.name),
                    classification: Classification::Internal,
                    created_by: p.user_id,
                    created_ms: now,
                    tags: vec![],
                    access_window: None,
                };
                self.create_room_key(room.id)?;
                tx.insert_room(&room).await?;
                tx.set_evidence_room(party.id, room.id).await?;
                record(
                    tx,
                    meta,
                    now,
                    Fact::allowed(Some(p), Action::RoomCreate, format!("room:{}", room.id)).with(
                        json!({"name": room.name, "classification": room.classification,
                            "evidence_of": party.id}),
                    ),
                )
                .await?;
                room.id
            }
        };
        let held = tx
            .grants_for(contact, party.id)
            .await?
            .iter()
            .any(|g| g.room_id == room && g.subject_id == contact.0);
        if !held {
            let grant = Grant {
                id: GrantId::from_random(random()?),
                room_id: room,
                subject_kind: SubjectKind::User,
                subject_id: contact.0,
                role: RoomRole::Contributor,
                expires_ms: None,
                granted_by: p.user_id,
                reason: "due diligence evidence".to_owned(),
                created_ms: now,
            };
            tx.insert_grant(&grant).await?;
            record(
                tx,
                meta,
                now,
                Fact::allowed(Some(p), Action::GrantCreate, format!("grant:{}", grant.id))
                    .with(json!({"room": room, "subject": contact, "role": grant.role})),
            )
            .await?;
        }
        Ok(room)
    }

    // ------------------------------------------------------ reading

    /// The assessments of a party with their templates and current scores:
    /// for its reviewers (`assessment.review`) or its own users
    /// (`assessment.answer`; the reviewer's decision reasons left out).
    pub async fn of_party<A: kernel::authz::Act>(
        &self,
        auth: Authorized<'_, A, PartyId>,
    ) -> Result<Vec<AssessmentView>, AppError> {
        let (_, p, party) = auth.into_parts();
        let reviewer = A::ACTION == Action::AssessmentReview;
        let mut tx = self.store().read().await?;
        let list = tx.list_assessments(Some(party)).await?;
        let mut out = Vec::with_capacity(list.len());
        for mut a in list {
            if !reviewer && a.contact_id != p.user_id {
                continue;
            }
            let Some(q) = tx.get_questionnaire(a.questionnaire_id).await? else {
                return Err(AppError::internal("assessment without its questionnaire"));
            };
            if !reviewer && let Some(d) = &mut a.decision {
                d.reasons.clear();
            }
            let scored = score(&q.body, &a.answers);
            out.push(AssessmentView {
                assessment: a,
                questionnaire: q,
                scored,
            });
        }
        Ok(out)
    }

    /// Loads an assessment of `party` for a change, in `tx`.
    async fn load(
        tx: &mut store::Tx,
        party: PartyId,
        id: AssessmentId,
    ) -> Result<(Assessment, Questionnaire), AppError> {
        let a = tx
            .get_assessment(id)
            .await?
            .filter(|a| a.party_id == party)
            .ok_or(AppError::NotFound)?;
        let q = tx
            .get_questionnaire(a.questionnaire_id)
            .await?
            .ok_or_else(|| AppError::internal("assessment without its questionnaire"))?;
        Ok((a, q))
    }

    // ------------------------------------------------------ answering

    /// Checks that every file-evidence answer names a file of the party's
    /// evidence room (uploaded there, so inspected like any upload).
    async fn evidence_in_room(
        tx: &mut store::Tx,
        q: &Questionnaire,
        party: PartyId,
        answers: &Answers,
    ) -> Result<(), AppError> {
        let room = tx.evidence_room(party).await?;
        for question in q.body.questions().filter(|q| q.kind == QuestionKind::File) {
            let Some(value) = answers.get(&question.key) else {
                continue;
            };
            let file = match value.parse::<FileId>() {
                Ok(id) => tx.get_file(id).await?,
                Err(_) => None,
            };
            if file.is_none_or(|f| Some(f.room_id) != room) {
                return Err(AppError::invalid(
                    ErrorCode::InvalidAnswer,
                    format!(
                        "question `{}`: the file `{value}` is not in your party's evidence room",
                        question.key
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The contact saves answers (a draft), or submits them (`submit`: every
    /// required question answered; the score and tier are computed and
    /// recorded). Answers bind to the assessment's template version.
    pub async fn answer(
        &self,
        auth: Authorized<'_, act::AssessmentAnswer, PartyId>,
        id: AssessmentId,
        answers: Answers,
        submit: bool,
    ) -> Result<Assessment, AppError> {
        let (meta, p, party) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let (mut a, q) = Self::load(&mut tx, party, id).await?;
        if a.contact_id != p.user_id {
            return Err(AppError::invalid(
                ErrorCode::NotAssessmentContact,
                "only the contact this questionnaire was sent to answers it",
            ));
        }
        if !matches!(a.status, AssessmentStatus::Sent) {
            return Err(state_error(
                "answers are changed through follow-ups now",
                &a,
            ));
        }
        let mut merged = a.answers.clone();
        merged.extend(answers);
        merged.retain(|_, v| !v.trim().is_empty());
        a.answers = check_answers(&q.body, &merged, submit).map_err(answer_error)?;
        Self::evidence_in_room(&mut tx, &q, party, &a.answers).await?;
        let name = if submit {
            let scored = score(&q.body, &a.answers);
            a.status = AssessmentStatus::Submitted;
            a.submitted_ms = Some(now);
            a.score = Some(scored.score);
            a.computed_tier = Some(scored.tier);
            EventName::AssessmentSubmit
        } else {
            EventName::AssessmentSave
        };
        tx.update_assessment(&a).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), name, format!("assessment:{id}")).with(json!({
                "answered": a.answers.len(), "score": a.score, "tier": a.computed_tier,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// The contact replies to follow-up `index`; `remediation`, when given,
    /// replaces the scored answer of its question (the replaced one is kept
    /// in the follow-up) and the score and tier are computed again.
    pub async fn reply(
        &self,
        auth: Authorized<'_, act::AssessmentAnswer, PartyId>,
        id: AssessmentId,
        index: usize,
        reply: &str,
        remediation: Option<&str>,
    ) -> Result<Assessment, AppError> {
        let (meta, p, party) = auth.into_parts();
        let now = self.now();
        let reply = text(ErrorCode::InvalidAnswer, "reply", reply, MAX_ANSWER)?;
        let mut tx = self.store().begin().await?;
        let (mut a, q) = Self::load(&mut tx, party, id).await?;
        if a.contact_id != p.user_id {
            return Err(AppError::invalid(
                ErrorCode::NotAssessmentContact,
                "only the contact this questionnaire was sent to answers it",
            ));
        }
        if a.status != AssessmentStatus::FollowUp {
            return Err(state_error("no follow-up is waiting for a reply", &a));
        }
        let Some(f) = a.follow_ups.get(index).cloned() else {
            return Err(AppError::NotFound);
        };
        if f.reply.is_some() {
            return Err(state_error("that follow-up has been answered", &a));
        }
        let question = q
            .body
            .question(&f.key)
            .ok_or_else(|| AppError::internal("follow-up about a question its template lacks"))?;
        let remediation = remediation
            .filter(|r| !r.trim().is_empty())
            .map(|r| question.check(r))
            .transpose()
            .map_err(answer_error)?;
        if let Some(new) = &remediation {
            let one = Answers::from([(f.key.clone(), new.clone())]);
            Self::evidence_in_room(&mut tx, &q, party, &one).await?;
        }
        let mut f = f;
        if let Some(new) = &remediation {
            f.replaced = a.answers.insert(f.key.clone(), new.clone());
            f.remediation = Some(new.clone());
        }
        f.reply = Some(reply);
        f.replied_ms = Some(now);
        if let Some(slot) = a.follow_ups.get_mut(index) {
            *slot = f.clone();
        }
        let scored = score(&q.body, &a.answers);
        a.score = Some(scored.score);
        a.computed_tier = Some(scored.tier);
        if a.follow_ups.iter().all(|f| f.reply.is_some()) {
            a.status = AssessmentStatus::Submitted;
        }
        tx.update_assessment(&a).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                EventName::AssessmentReply,
                format!("assessment:{id}"),
            )
            .with(
                json!({"question": f.key, "remediation": f.remediation.is_some(),
                    "score": a.score, "tier": a.computed_tier}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    // ------------------------------------------------------ reviewing

    /// A reviewer asks a follow-up question about the answer to `key`.
    pub async fn follow_up(
        &self,
        auth: Authorized<'_, act::AssessmentReview, PartyId>,
        id: AssessmentId,
        key: &str,
        question: &str,
    ) -> Result<Assessment, AppError> {
        let (meta, p, party) = auth.into_parts();
        let now = self.now();
        let question = text(ErrorCode::InvalidAnswer, "question", question, MAX_ANSWER)?;
        let mut tx = self.store().begin().await?;
        let (mut a, q) = Self::load(&mut tx, party, id).await?;
        if !matches!(
            a.status,
            AssessmentStatus::Submitted | AssessmentStatus::FollowUp
        ) {
            return Err(state_error(
                "follow-ups are asked after submission and before sign-off",
                &a,
            ));
        }
        if q.body.question(key).is_none() {
            return Err(AppError::invalid(
                ErrorCode::InvalidAnswer,
                format!(
                    "`{}` is not a question of this questionnaire",
                    key.chars().take(64).collect::<String>()
                ),
            ));
        }
        if a.follow_ups.len() >= MAX_FOLLOW_UPS {
            return Err(state_error("it has as many follow-ups as it may", &a));
        }
        a.follow_ups.push(FollowUp {
            key: key.to_owned(),
            question,
            asked_by: p.user_id,
            asked_ms: now,
            reply: None,
            remediation: None,
            replaced: None,
            replied_ms: None,
        });
        a.status = AssessmentStatus::FollowUp;
        tx.update_assessment(&a).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                EventName::AssessmentFollowUp,
                format!("assessment:{id}"),
            )
            .with(json!({"question": key, "index": a.follow_ups.len() - 1})),
        )
        .await?;
        let message = format!("a reviewer asks a follow-up question about “{key}”");
        let kind = EventName::AssessmentFollowUp.as_str();
        notify(
            &mut tx,
            a.contact_id,
            now,
            kind,
            format!("assessment:{id}"),
            message,
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// A reviewer signs off a submitted assessment with a decided tier (it
    /// may differ from the computed one) and reasons: the party's tier is set,
    /// in term until the decision plus the tier's re-assessment period.
    pub async fn decide(
        &self,
        auth: Authorized<'_, act::AssessmentReview, PartyId>,
        id: AssessmentId,
        tier: RiskTier,
        reasons: &str,
    ) -> Result<Assessment, AppError> {
        let (meta, p, party) = auth.into_parts();
        let now = self.now();
        let reasons = text(ErrorCode::InvalidDecision, "reasons", reasons, MAX_REASONS)?;
        let periods = self.risk().periods;
        let mut tx = self.store().begin().await?;
        let (mut a, _) = Self::load(&mut tx, party, id).await?;
        if a.status != AssessmentStatus::Submitted {
            return Err(state_error(
                "a sign-off needs submitted answers and no follow-up waiting",
                &a,
            ));
        }
        let until_ms = periods.until(tier, now);
        a.decision = Some(TierDecision {
            tier,
            reasons: reasons.clone(),
            decided_by: p.user_id,
            decided_ms: now,
            until_ms,
        });
        a.status = AssessmentStatus::Decided;
        tx.update_assessment(&a).await?;
        let mut target = tx.get_party(party).await?.ok_or(AppError::NotFound)?;
        target.tier = Some(tier);
        target.tier_until_ms = Some(until_ms);
        tx.update_party(&target).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                EventName::AssessmentDecide,
                format!("assessment:{id}"),
            )
            .with(
                json!({"party": party, "tier": tier, "computed_tier": a.computed_tier,
                    "score": a.score, "tier_until_ms": until_ms, "reasons": reasons}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// The evidence room of the caller's own party, if one was made
    /// (`assessment.answer`).
    pub async fn evidence_room(
        &self,
        auth: Authorized<'_, act::AssessmentAnswer, PartyId>,
    ) -> Result<Option<RoomId>, AppError> {
        let (_, _, party) = auth.into_parts();
        Ok(self.store().read().await?.evidence_room(party).await?)
    }

    // ------------------------------------------------------ the matrix

    /// The risk settings in force (owner staff).
    pub fn risk_settings(&self, _auth: Authorized<'_, act::RiskRead, System>) -> RiskSettings {
        (*self.risk()).clone()
    }

    /// Replaces the sharing risk matrix and the re-assessment periods
    /// (admins); in force on this node at once, on the others within the
    /// refresh period.
    pub async fn set_risk_settings(
        &self,
        auth: Authorized<'_, act::RiskUpdate, System>,
        settings: RiskSettings,
    ) -> Result<RiskSettings, AppError> {
        let (meta, p, _) = auth.into_parts();
        let invalid = |e: TemplateError| AppError::invalid(ErrorCode::InvalidRiskSettings, e.0);
        let settings = RiskSettings {
            matrix: settings.matrix.validate().map_err(invalid)?,
            periods: settings.periods.validate().map_err(invalid)?,
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.put_risk_settings(&settings, p.user_id, now).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::RiskUpdate, "risk:matrix".to_owned())
                .with(json!({"matrix": settings.matrix, "periods": settings.periods})),
        )
        .await?;
        tx.commit().await?;
        self.install_risk(settings.clone());
        Ok(settings)
    }
}
