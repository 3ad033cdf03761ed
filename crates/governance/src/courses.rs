//! Training inside Custody: the owner's admins publish courses (pages of
//! Markdown, a quiz, a pass mark, a validity period) in versions; users take
//! them (the server scores the quiz and never tells the correct answers;
//! attempts per hour are bounded); a pass is a completion valid for the
//! course's period, and the owner's staff may record a course completed
//! elsewhere with evidence. Rooms and classifications require courses
//! (qualification kind `course`); the policies read the completions at each
//! request (`kernel::facts::course_facts`). A version that requires
//! retaking makes completions of older versions stop counting.

use model::*;
use serde_json::json;

use kernel::events::{Fact, record};
use kernel::facts::COURSE;
use kernel::secrets::random;
use kernel::{App, AppError, Authorized, EventName, RoomInfo, System, act};

/// Most completions listed on a course's page.
pub const MAX_LISTED_COMPLETIONS: i64 = 500;

const HOUR_MS: i64 = 3_600_000;

/// Where a user stands with one course.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CourseStatus {
    /// A completion that counts is in term.
    Passed,
    /// The counting completions have all ended.
    Lapsed,
    /// No completion that counts (never passed, or a version requires retaking).
    Due,
}

impl CourseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CourseStatus::Passed => "passed",
            CourseStatus::Lapsed => "lapsed",
            CourseStatus::Due => "due",
        }
    }
}

/// One course as it stands for one user.
#[derive(Clone, Debug)]
pub struct UserCourse {
    pub course: Course,
    pub status: CourseStatus,
    /// The end of the latest counting completion (in term or lapsed).
    pub valid_until_ms: Option<i64>,
    /// Whether a room the user may reach requires it.
    pub required: bool,
}

/// Where `user`'s `completions` leave them with `course` at `now_ms`.
pub fn status_of(
    course: &Course,
    completions: &[CourseCompletion],
    now_ms: i64,
) -> (CourseStatus, Option<i64>) {
    let counting = completions.iter().filter(|c| c.counts_for(course));
    let latest = counting.clone().map(|c| c.valid_until_ms).max();
    if counting.clone().any(|c| c.in_term(course, now_ms)) {
        (CourseStatus::Passed, latest)
    } else if latest.is_some_and(|u| u <= now_ms) {
        (CourseStatus::Lapsed, latest)
    } else {
        (CourseStatus::Due, latest)
    }
}

/// A course as a user taking it sees it: the current version's pages and
/// questions, without the correct answers.
#[derive(Clone, Debug)]
pub struct CourseToTake {
    pub course: Course,
    pub content: CourseContent,
    pub status: CourseStatus,
    pub valid_until_ms: Option<i64>,
}

impl CourseToTake {
    /// The questions as shown (no correct answers).
    pub fn questions(&self) -> Vec<QuestionForTaker> {
        self.content.for_taker()
    }
}

/// The outcome of one quiz attempt.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub result: QuizResult,
    pub version: i64,
    /// The completion recorded when it passed.
    pub completion: Option<CourseCompletion>,
}

/// A course with its versions and its newest completions (the owner's staff).
#[derive(Clone, Debug)]
pub struct CourseRecord {
    pub course: Course,
    pub versions: Vec<CourseVersion>,
    pub completions: Vec<CourseCompletion>,
}

/// A course completed elsewhere, as the owner's staff record it.
#[derive(Clone, Debug)]
pub struct ExternalCompletion {
    pub course: CourseId,
    pub user: UserId,
    pub completed_ms: i64,
    pub evidence: Option<FileId>,
}

/// Courses, their versions, attempts, completions and requirements.
#[derive(Clone, Copy)]
pub struct Courses<'a>(pub &'a App);

impl std::ops::Deref for Courses<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

fn invalid(e: (ErrorCode, String)) -> AppError {
    AppError::invalid(e.0, e.1)
}

/// Checks required course ids against the stored courses.
async fn known_courses(tx: &mut store::Tx, raw: &[String]) -> Result<Vec<String>, AppError> {
    let ids = required_courses(raw).map_err(invalid)?;
    let mut keys = Vec::with_capacity(ids.len());
    for id in ids {
        if tx.get_course(id).await?.is_none() {
            return Err(AppError::invalid(
                ErrorCode::UnknownCourse,
                format!("no course `{id}`"),
            ));
        }
        keys.push(id.to_string());
    }
    keys.sort();
    Ok(keys)
}

impl Courses<'_> {
    /// Every course (the owner's staff).
    pub async fn list(
        &self,
        _auth: Authorized<'_, act::CourseList, System>,
    ) -> Result<Vec<Course>, AppError> {
        Ok(self.store().read().await?.list_courses().await?)
    }

    /// A course with its versions and newest completions (the owner's staff).
    pub async fn get(
        &self,
        _auth: Authorized<'_, act::CourseList, System>,
        id: CourseId,
    ) -> Result<CourseRecord, AppError> {
        let mut tx = self.store().read().await?;
        let course = tx.get_course(id).await?.ok_or(AppError::NotFound)?;
        Ok(CourseRecord {
            versions: tx.list_course_versions(id).await?,
            completions: tx.course_completions(id, MAX_LISTED_COMPLETIONS).await?,
            course,
        })
    }

    /// Publishes a course: a new one (`id` absent) or a new version of one.
    /// Nothing changes for completions unless the version requires retaking
    /// (admins).
    pub async fn publish(
        &self,
        auth: Authorized<'_, act::CourseUpdate, System>,
        id: Option<CourseId>,
        content: CourseContent,
    ) -> Result<CourseVersion, AppError> {
        let (meta, p, _) = auth.into_parts();
        let content = content.validated().map_err(invalid)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let course = match id {
            None => {
                let course = Course {
                    id: CourseId::from_random(random()?),
                    title: content.title.clone(),
                    version: 1,
                    retake_from: 1,
                    created_by: p.user_id,
                    created_ms: now,
                    updated_ms: now,
                };
                tx.insert_course(&course).await?;
                course
            }
            Some(id) => {
                let mut course = tx.get_course(id).await?.ok_or(AppError::NotFound)?;
                course.version += 1;
                if content.requires_retake {
                    course.retake_from = course.version;
                }
                course.title = content.title.clone();
                course.updated_ms = now;
                tx.update_course(&course).await?;
                course
            }
        };
        let version = CourseVersion {
            course_id: course.id,
            version: course.version,
            content,
            published_by: p.user_id,
            published_ms: now,
        };
        tx.insert_course_version(&version).await?;
        let c = &version.content;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                EventName::CoursePublish,
                format!("course:{}", course.id),
            )
            .with(json!({
                "title": c.title, "version": version.version, "pages": c.pages.len(),
                "questions": c.questions.len(), "pass_percent": c.pass_percent,
                "validity_days": c.validity_days, "requires_retake": c.requires_retake,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// The courses required of the caller through the rooms shared with them,
    /// and every other course they have completed, with where they stand.
    pub async fn mine(
        &self,
        auth: Authorized<'_, act::CourseTake, System>,
    ) -> Result<Vec<UserCourse>, AppError> {
        let (_, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().read().await?;
        let required = tx.courses_required_of(p.user_id, p.party_id).await?;
        let completions = tx.user_completions(p.user_id).await?;
        let mut ids = required.clone();
        ids.extend(completions.iter().map(|c| c.course_id));
        ids.sort();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(course) = tx.get_course(id).await? else {
                continue;
            };
            let (status, valid_until_ms) = status_of(&course, &completions, now);
            out.push(UserCourse {
                required: required.contains(&id),
                course,
                status,
                valid_until_ms,
            });
        }
        out.sort_by(|a, b| {
            (!a.required, &a.course.title, a.course.id).cmp(&(
                !b.required,
                &b.course.title,
                b.course.id,
            ))
        });
        Ok(out)
    }

    /// A course to take: its current version without the correct answers,
    /// and where the caller stands with it.
    pub async fn to_take(
        &self,
        auth: Authorized<'_, act::CourseTake, System>,
        id: CourseId,
    ) -> Result<CourseToTake, AppError> {
        let (_, p, _) = auth.into_parts();
        let mut tx = self.store().read().await?;
        let course = tx.get_course(id).await?.ok_or(AppError::NotFound)?;
        let version = tx
            .get_course_version(id, course.version)
            .await?
            .ok_or_else(|| AppError::internal("course without its version"))?;
        let completions = tx.user_completions(p.user_id).await?;
        let (status, valid_until_ms) = status_of(&course, &completions, self.now());
        Ok(CourseToTake {
            course,
            content: version.content,
            status,
            valid_until_ms,
        })
    }

    /// Scores the caller's answers to the current version's quiz and records
    /// the attempt (`course.attempt`); a pass records a completion valid for
    /// the course's period (`course.complete`). `version` is the one the
    /// caller was shown: a newer one is refused so that nobody answers
    /// questions they did not see. Attempts per hour are bounded
    /// (`quiz_attempts_exceeded`); the answers are never recorded.
    pub async fn attempt(
        &self,
        auth: Authorized<'_, act::CourseTake, System>,
        id: CourseId,
        version: i64,
        answers: &[Vec<usize>],
    ) -> Result<Attempt, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let course = tx.get_course(id).await?.ok_or(AppError::NotFound)?;
        if version != course.version {
            return Err(AppError::invalid(
                ErrorCode::InvalidQuizAnswers,
                format!(
                    "the course is now at version {}: read it again before answering",
                    course.version
                ),
            ));
        }
        let made = tx
            .count_course_attempts(p.user_id, id, now - HOUR_MS)
            .await?;
        if made >= MAX_ATTEMPTS_PER_HOUR {
            return Err(AppError::invalid(
                ErrorCode::QuizAttemptsExceeded,
                format!(
                    "at most {MAX_ATTEMPTS_PER_HOUR} attempts at a course an hour; try again later"
                ),
            ));
        }
        let content = tx
            .get_course_version(id, course.version)
            .await?
            .ok_or_else(|| AppError::internal("course without its version"))?
            .content;
        let result = content.score(answers).map_err(invalid)?;
        tx.insert_course_attempt(
            AttemptId::from_random(random()?),
            id,
            course.version,
            p.user_id,
            result.score_percent,
            result.passed,
            now,
        )
        .await?;
        let target = format!("course:{id}");
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), EventName::CourseAttempt, target.clone()).with(json!({
                "version": course.version, "score_percent": result.score_percent,
                "passed": result.passed,
            })),
        )
        .await?;
        let completion = if result.passed {
            let c = CourseCompletion {
                id: CompletionId::from_random(random()?),
                course_id: id,
                version: course.version,
                user_id: p.user_id,
                score_percent: Some(result.score_percent),
                completed_ms: now,
                valid_until_ms: content.valid_until(now),
                evidence: None,
                recorded_by: None,
            };
            tx.insert_completion(&c).await?;
            record(
                &mut tx,
                meta,
                now,
                Fact::allowed(Some(p), EventName::CourseComplete, target).with(json!({
                    "completion": c.id, "version": c.version,
                    "score_percent": result.score_percent, "valid_until_ms": c.valid_until_ms,
                })),
            )
            .await?;
            Some(c)
        } else {
            None
        };
        tx.commit().await?;
        Ok(Attempt {
            result,
            version: course.version,
            completion,
        })
    }

    /// Records a course a user completed elsewhere, as a completion of the
    /// current version valid for the course's period from when it was
    /// completed; the evidence is a file of a room shared with the user's
    /// party (the owner's admins and security officers).
    pub async fn record_external(
        &self,
        auth: Authorized<'_, act::CourseRecord, System>,
        new: ExternalCompletion,
    ) -> Result<CourseCompletion, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        if !(0..=now).contains(&new.completed_ms) {
            return Err(AppError::invalid(
                ErrorCode::InvalidCourse,
                "`completed_at` must be between 1970 and now",
            ));
        }
        let mut tx = self.store().begin().await?;
        let course = tx.get_course(new.course).await?.ok_or(AppError::NotFound)?;
        let user = tx.get_user(new.user).await?.ok_or(AppError::NotFound)?;
        if let Some(file) = new.evidence
            && !tx.file_shared_with(file, user.party_id).await?
        {
            return Err(AppError::invalid(
                ErrorCode::InvalidEvidence,
                format!("`{file}` is not a file of a room shared with the user's party"),
            ));
        }
        let content = tx
            .get_course_version(course.id, course.version)
            .await?
            .ok_or_else(|| AppError::internal("course without its version"))?
            .content;
        let c = CourseCompletion {
            id: CompletionId::from_random(random()?),
            course_id: course.id,
            version: course.version,
            user_id: user.id,
            score_percent: None,
            completed_ms: new.completed_ms,
            valid_until_ms: content.valid_until(new.completed_ms),
            evidence: new.evidence,
            recorded_by: Some(p.user_id),
        };
        tx.insert_completion(&c).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                EventName::CourseRecordExternal,
                format!("course:{}", course.id),
            )
            .with(json!({
                "completion": c.id, "user": user.id, "version": c.version,
                "completed_ms": c.completed_ms, "valid_until_ms": c.valid_until_ms,
                "evidence": c.evidence,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// The courses rooms of each classification require (the owner's staff).
    pub async fn classifications(
        &self,
        _auth: Authorized<'_, act::CourseList, System>,
    ) -> Result<Vec<(Classification, Vec<String>)>, AppError> {
        let mut tx = self.store().read().await?;
        let mut out = Vec::new();
        for c in Classification::ALL {
            out.push((*c, tx.classification_qualifications(*c, COURSE).await?));
        }
        Ok(out)
    }

    /// Sets the courses rooms of `classification` require of external users (admins).
    pub async fn set_classification(
        &self,
        auth: Authorized<'_, act::CourseUpdate, System>,
        classification: Classification,
        courses: &[String],
    ) -> Result<Vec<String>, AppError> {
        let (meta, p, _) = auth.into_parts();
        let mut tx = self.store().begin().await?;
        let keys = known_courses(&mut tx, courses).await?;
        tx.set_classification_qualifications(classification, COURSE, &keys)
            .await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(
                Some(p),
                EventName::CourseRequirements,
                format!("classification:{classification}"),
            )
            .with(json!({"required_courses": keys})),
        )
        .await?;
        tx.commit().await?;
        Ok(keys)
    }

    /// The courses a room itself requires (not by its classification).
    pub async fn room_requirements(
        &self,
        auth: Authorized<'_, act::RoomView, RoomInfo>,
    ) -> Result<Vec<String>, AppError> {
        let (_, _, info) = auth.into_parts();
        let mut tx = self.store().read().await?;
        Ok(tx.room_qualifications(info.room.id, COURSE).await?)
    }

    /// Sets the courses a room requires of external users (the owner's side:
    /// its managers of the room and its admins).
    pub async fn set_room_requirements(
        &self,
        auth: Authorized<'_, act::RoomConditions, RoomInfo>,
        courses: &[String],
    ) -> Result<Vec<String>, AppError> {
        let (meta, p, info) = auth.into_parts();
        let id = info.room.id;
        let mut tx = self.store().begin().await?;
        let keys = known_courses(&mut tx, courses).await?;
        tx.set_room_qualifications(id, COURSE, &keys).await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(Some(p), EventName::CourseRequirements, format!("room:{id}"))
                .with(json!({"required_courses": keys})),
        )
        .await?;
        tx.commit().await?;
        Ok(keys)
    }

    /// Where each user of `party` stands with each course (for the party
    /// page): `(user, course title, status, valid until)` (the owner's staff).
    pub async fn party_statuses(
        &self,
        _auth: Authorized<'_, act::CourseList, System>,
        party: PartyId,
    ) -> Result<Vec<(UserId, String, CourseStatus, Option<i64>)>, AppError> {
        party_statuses(self.0, party).await
    }
}

/// Where each user of `party` stands with each course any room requires or
/// they completed (behind [`Courses::party_statuses`]'s proof).
async fn party_statuses(
    app: &App,
    party: PartyId,
) -> Result<Vec<(UserId, String, CourseStatus, Option<i64>)>, AppError> {
    let now = app.now();
    let mut tx = app.store().read().await?;
    let completions = tx.party_completions(party).await?;
    let mut ids = tx.required_course_ids().await?;
    ids.extend(completions.iter().map(|c| c.course_id));
    ids.sort();
    ids.dedup();
    let mut courses = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(c) = tx.get_course(id).await? {
            courses.push(c);
        }
    }
    let users = tx.list_users(Some(party)).await?;
    let mut out = Vec::new();
    for u in users {
        let mine: Vec<CourseCompletion> = completions
            .iter()
            .filter(|c| c.user_id == u.id)
            .cloned()
            .collect();
        for course in &courses {
            let (status, until) = status_of(course, &mine, now);
            out.push((u.id, course.title.clone(), status, until));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_standing_follows_counting_completions() {
        let course = Course {
            id: CourseId::from_random([1; 16]),
            title: "Handling drawings".into(),
            version: 2,
            retake_from: 2,
            created_by: UserId::from_random([2; 16]),
            created_ms: 0,
            updated_ms: 0,
        };
        let done = |version, until| CourseCompletion {
            id: CompletionId::from_random([until as u8; 16]),
            course_id: course.id,
            version,
            user_id: UserId::from_random([3; 16]),
            score_percent: Some(100),
            completed_ms: 0,
            valid_until_ms: until,
            evidence: None,
            recorded_by: None,
        };
        type Case<'a> = (&'a str, Vec<CourseCompletion>, (CourseStatus, Option<i64>));
        let cases: Vec<Case> = vec![
            ("none", vec![], (CourseStatus::Due, None)),
            (
                "in term",
                vec![done(2, 100)],
                (CourseStatus::Passed, Some(100)),
            ),
            ("ended", vec![done(2, 40)], (CourseStatus::Lapsed, Some(40))),
            (
                "only before the retake",
                vec![done(1, 100)],
                (CourseStatus::Due, None),
            ),
            (
                "one ended, one in term",
                vec![done(2, 40), done(2, 90)],
                (CourseStatus::Passed, Some(90)),
            ),
        ];
        for (case, completions, want) in cases {
            assert_eq!(status_of(&course, &completions, 50), want, "{case}");
        }
    }
}
