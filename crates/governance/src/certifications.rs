//! Parties' security certifications as records: an admin records a
//! certificate (standard, issuer, scope, number, term, optional evidence file
//! from a room shared with the party), one of the owner's admins or security
//! officers verifies it — only then does it count — and the policies read
//! the verified ones in term at each request (`kernel::facts`). Also what
//! rooms and classifications require (standards), and each party's sponsor
//! on the owner's side, who is reminded with the party before an end.

use model::*;
use serde_json::json;

use kernel::events::{Fact, record};
use kernel::facts::{CERTIFICATION, COURSE};
use kernel::secrets::random;
use kernel::{Action, App, AppError, Authorized, EventName, RoomInfo, System, act};
use store::SharedFile;

/// Most files listed as possible evidence.
pub const MAX_EVIDENCE_FILES: i64 = 500;

/// The latest end a certificate may have (the year 10000, exclusive).
const MAX_END_MS: i64 = 253_402_300_800_000;

/// A certificate as an admin records it.
#[derive(Clone, Debug)]
pub struct NewCertification {
    pub party: PartyId,
    /// A standard key or known name (`iso_27001`, `ISO/IEC 27001`, `custom:BSI C5`).
    pub standard: String,
    pub issuer: String,
    pub scope: String,
    pub number: String,
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    pub evidence: Option<FileId>,
}

/// What each classification requires of external parties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassificationRequirements {
    pub classification: Classification,
    /// Standard keys (`any`: a certificate of any standard).
    pub certifications: Vec<String>,
    /// Course ids (set with `Courses::set_classification`).
    pub courses: Vec<String>,
}

/// Certifications, what rooms and classifications require, parties' sponsors.
#[derive(Clone, Copy)]
pub struct Certifications<'a>(pub &'a App);

impl std::ops::Deref for Certifications<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

fn invalid(e: (ErrorCode, String)) -> AppError {
    AppError::invalid(e.0, e.1)
}

fn field(what: &str, raw: &str) -> Result<String, AppError> {
    text_field(what, raw).map_err(|m| AppError::invalid(ErrorCode::InvalidCertification, m))
}

impl Certifications<'_> {
    /// The certifications of `party`, newest end first (the owner's staff).
    pub async fn list(
        &self,
        _auth: Authorized<'_, act::CertificationList, System>,
        party: PartyId,
    ) -> Result<Vec<Certification>, AppError> {
        let mut tx = self.store().read().await?;
        tx.get_party(party).await?.ok_or(AppError::NotFound)?;
        Ok(tx.list_certifications(party).await?)
    }

    /// The files of the rooms shared with `party`: what a certificate's
    /// evidence may be (the owner's staff).
    pub async fn evidence_files(
        &self,
        _auth: Authorized<'_, act::CertificationList, System>,
        party: PartyId,
    ) -> Result<Vec<SharedFile>, AppError> {
        let mut tx = self.store().read().await?;
        Ok(tx.files_shared_with(party, MAX_EVIDENCE_FILES).await?)
    }

    /// Records a certificate of an external party, unverified (admins).
    pub async fn record(
        &self,
        auth: Authorized<'_, act::CertificationRecord, System>,
        new: NewCertification,
    ) -> Result<Certification, AppError> {
        let (meta, p, _) = auth.into_parts();
        let standard = standard_key(&new.standard, false).map_err(invalid)?;
        let issuer = field("issuer", &new.issuer)?;
        let scope = field("scope", &new.scope)?;
        let number = field("certificate number", &new.number)?;
        if !(0..MAX_END_MS).contains(&new.valid_from_ms)
            || !(0..MAX_END_MS).contains(&new.valid_until_ms)
            || new.valid_until_ms <= new.valid_from_ms
        {
            return Err(AppError::invalid(
                ErrorCode::InvalidCertification,
                "`valid_until` must be after `valid_from`, both between 1970 and 9999",
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let party = tx.get_party(new.party).await?.ok_or(AppError::NotFound)?;
        if party.kind == PartyKind::Owner {
            return Err(AppError::invalid(
                ErrorCode::InvalidCertification,
                "the owner's certificates are not recorded: rooms ask them of external parties",
            ));
        }
        if let Some(file) = new.evidence
            && !tx.file_shared_with(file, party.id).await?
        {
            return Err(AppError::invalid(
                ErrorCode::InvalidEvidence,
                format!(
                    "`{file}` is not a file of a room shared with {}",
                    party.name
                ),
            ));
        }
        let cert = Certification {
            id: CertificationId::from_random(random()?),
            party_id: party.id,
            standard,
            issuer,
            scope,
            number,
            valid_from_ms: new.valid_from_ms,
            valid_until_ms: new.valid_until_ms,
            evidence: new.evidence,
            verified_by: None,
            verified_ms: None,
            recorded_by: p.user_id,
            recorded_ms: now,
        };
        tx.insert_certification(&cert).await?;
        let detail = json!({
            "party": party.id, "standard": cert.standard, "issuer": cert.issuer,
            "number": cert.number, "valid_from_ms": cert.valid_from_ms,
            "valid_until_ms": cert.valid_until_ms, "evidence": cert.evidence,
        });
        let target = format!("certification:{}", cert.id);
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::CertificationRecord, target).with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(cert)
    }

    /// Verifies a recorded certificate: from now on it counts (the owner's
    /// admins and security officers). Verifying one already verified changes nothing.
    pub async fn verify(
        &self,
        auth: Authorized<'_, act::CertificationVerify, System>,
        id: CertificationId,
    ) -> Result<Certification, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let cert = tx.get_certification(id).await?.ok_or(AppError::NotFound)?;
        if !tx.verify_certification(id, p.user_id, now).await? {
            return Ok(cert);
        }
        let detail = json!({"party": cert.party_id, "standard": cert.standard,
            "valid_until_ms": cert.valid_until_ms});
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                Action::CertificationVerify,
                format!("certification:{id}"),
            )
            .with(detail),
        )
        .await?;
        let cert = tx.get_certification(id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(cert)
    }

    /// Replaces every certificate of a party by one, verified by the caller
    /// (or, with `None`, removes them): `PUT`/`DELETE /parties/{id}/certification`,
    /// kept from before certificates were records (admins).
    pub async fn replace(
        &self,
        auth: Authorized<'_, act::PartyUpdate, System>,
        id: PartyId,
        certification: Option<(String, i64)>,
    ) -> Result<Party, AppError> {
        let (meta, p, _) = auth.into_parts();
        let certification = match certification {
            None => None,
            Some((name, until)) => {
                let name = name.trim().to_owned();
                if name.is_empty()
                    || name.chars().count() > MAX_CERT_FIELD
                    || name.chars().any(char::is_control)
                {
                    return Err(AppError::invalid(
                        ErrorCode::InvalidField,
                        format!(
                            "`name` must be 1 to {MAX_CERT_FIELD} characters without control characters"
                        ),
                    ));
                }
                if !(0..MAX_END_MS).contains(&until) {
                    return Err(AppError::invalid(
                        ErrorCode::InvalidTime,
                        "`valid_until` must be between 1970 and 9999",
                    ));
                }
                let standard =
                    standard_key(&name, false).unwrap_or_else(|_| format!("{CUSTOM_PREFIX}{name}"));
                Some((standard, until))
            }
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let party = tx.get_party(id).await?.ok_or(AppError::NotFound)?;
        tx.delete_certifications(id).await?;
        if let Some((standard, until)) = &certification {
            let cert = Certification {
                id: CertificationId::from_random(random()?),
                party_id: id,
                standard: standard.clone(),
                issuer: String::new(),
                scope: String::new(),
                number: String::new(),
                valid_from_ms: 0,
                valid_until_ms: *until,
                evidence: None,
                verified_by: Some(p.user_id),
                verified_ms: Some(now),
                recorded_by: p.user_id,
                recorded_ms: now,
            };
            tx.insert_certification(&cert).await?;
        }
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                EventName::PartyCertification,
                format!("party:{id}"),
            )
            .with(json!({
                "certification": certification.as_ref().map(|(s, _)| s),
                "certified_until_ms": certification.as_ref().map(|(_, u)| u),
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(party)
    }

    /// The standards a room requires of external parties, itself (not by
    /// its classification).
    pub async fn room_requirements(
        &self,
        auth: Authorized<'_, act::RoomView, RoomInfo>,
    ) -> Result<Vec<String>, AppError> {
        let (_, _, info) = auth.into_parts();
        let mut tx = self.store().read().await?;
        Ok(tx.room_qualifications(info.room.id, CERTIFICATION).await?)
    }

    /// Sets the standards a room requires of external parties (the owner's
    /// side: its managers of the room and its admins).
    pub async fn set_room_requirements(
        &self,
        auth: Authorized<'_, act::RoomConditions, RoomInfo>,
        standards: &[String],
    ) -> Result<Vec<String>, AppError> {
        let (meta, p, info) = auth.into_parts();
        let keys = required_standards(standards).map_err(invalid)?;
        let id = info.room.id;
        let mut tx = self.store().begin().await?;
        tx.set_room_qualifications(id, CERTIFICATION, &keys).await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(Some(p), EventName::RoomCertifications, format!("room:{id}"))
                .with(json!({"required_certifications": keys})),
        )
        .await?;
        tx.commit().await?;
        Ok(keys)
    }

    /// What each classification requires of external parties (the owner's staff).
    pub async fn classifications(
        &self,
        _auth: Authorized<'_, act::CertificationList, System>,
    ) -> Result<Vec<ClassificationRequirements>, AppError> {
        let mut tx = self.store().read().await?;
        let mut out = Vec::new();
        for c in Classification::ALL {
            out.push(ClassificationRequirements {
                classification: *c,
                certifications: tx.classification_qualifications(*c, CERTIFICATION).await?,
                courses: tx.classification_qualifications(*c, COURSE).await?,
            });
        }
        Ok(out)
    }

    /// Sets the standards rooms of `classification` require of external parties (admins).
    pub async fn set_classification(
        &self,
        auth: Authorized<'_, act::ClassificationUpdate, System>,
        classification: Classification,
        standards: &[String],
    ) -> Result<ClassificationRequirements, AppError> {
        let (meta, p, _) = auth.into_parts();
        let keys = required_standards(standards).map_err(invalid)?;
        let mut tx = self.store().begin().await?;
        tx.set_classification_qualifications(classification, CERTIFICATION, &keys)
            .await?;
        let courses = tx
            .classification_qualifications(classification, COURSE)
            .await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(
                Some(p),
                Action::ClassificationUpdate,
                format!("classification:{classification}"),
            )
            .with(json!({"required_certifications": keys})),
        )
        .await?;
        tx.commit().await?;
        Ok(ClassificationRequirements {
            classification,
            certifications: keys,
            courses,
        })
    }

    /// The sponsor of a party: the owner's user who answers for it (the owner's staff).
    pub async fn sponsor(
        &self,
        _auth: Authorized<'_, act::CertificationList, System>,
        party: PartyId,
    ) -> Result<Option<User>, AppError> {
        let mut tx = self.store().read().await?;
        let Some(id) = tx.party_sponsor(party).await? else {
            return Ok(None);
        };
        Ok(tx.get_user(id).await?)
    }

    /// Sets (or removes) the sponsor of an external party: an active user of
    /// the owner (admins).
    pub async fn set_sponsor(
        &self,
        auth: Authorized<'_, act::PartyUpdate, System>,
        party: PartyId,
        sponsor: Option<UserId>,
    ) -> Result<Option<User>, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.get_party(party).await?.ok_or(AppError::NotFound)?;
        let user = match sponsor {
            None => None,
            Some(id) => {
                let user = tx.get_user(id).await?;
                let owner = tx.owner_party().await?.map(|o| o.id);
                match user {
                    Some(u) if Some(u.party_id) == owner && !u.disabled => Some(u),
                    _ => {
                        return Err(AppError::invalid(
                            ErrorCode::InvalidSponsor,
                            format!("`{id}` is not an active user of the owner"),
                        ));
                    }
                }
            }
        };
        tx.set_party_sponsor(party, sponsor, now).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), EventName::PartySponsor, format!("party:{party}"))
                .with(json!({"sponsor": sponsor})),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }
}
