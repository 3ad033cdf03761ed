//! Training courses: the courses and their published versions, quiz attempts,
//! users' completions, and the reminders due before a completion's end. What
//! rooms and classifications require is in the qualification tables (kind
//! `course`, see `certifications.rs`).

use sqlx::any::AnyRow;

use super::{Tx, sql};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

fn corrupt(col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column `{col}`: {e}"))
}

fn course(row: &AnyRow) -> Result<Course, StoreError> {
    Ok(Course {
        id: row.parsed("id")?,
        title: row.text("title")?,
        version: row.int("version")?,
        retake_from: row.int("retake_from")?,
        created_by: row.parsed("created_by")?,
        created_ms: row.int("created_ms")?,
        updated_ms: row.int("updated_ms")?,
    })
}

fn version(row: &AnyRow) -> Result<CourseVersion, StoreError> {
    Ok(CourseVersion {
        course_id: row.parsed("course_id")?,
        version: row.int("version")?,
        content: serde_json::from_str(&row.text("content")?).map_err(|e| corrupt("content", e))?,
        published_by: row.parsed("published_by")?,
        published_ms: row.int("published_ms")?,
    })
}

fn completion(row: &AnyRow) -> Result<CourseCompletion, StoreError> {
    Ok(CourseCompletion {
        id: row.parsed("id")?,
        course_id: row.parsed("course_id")?,
        version: row.int("version")?,
        user_id: row.parsed("user_id")?,
        score_percent: row.opt_int("score_percent")?,
        completed_ms: row.int("completed_ms")?,
        valid_until_ms: row.int("valid_until_ms")?,
        evidence: row.opt_parsed("evidence_file")?,
        recorded_by: row.opt_parsed("recorded_by")?,
    })
}

/// The completions that still count (of a version from the course's
/// `retake_from` on) and are the latest-ending of their user and course.
pub(crate) const LATEST_COUNTING: &str = "c.version >= (SELECT k.retake_from FROM courses k \
       WHERE k.id = c.course_id) \
     AND NOT EXISTS (SELECT 1 FROM course_completions d WHERE d.user_id = c.user_id \
       AND d.course_id = c.course_id AND d.valid_until_ms > c.valid_until_ms)";

impl Tx {
    // ---- courses and versions

    pub async fn insert_course(&mut self, c: &Course) -> Result<(), StoreError> {
        sql(
            "INSERT INTO courses (id, title, version, retake_from, created_by, created_ms, \
             updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.id.to_string())
        .bind(c.title.clone())
        .bind(c.version)
        .bind(c.retake_from)
        .bind(c.created_by.to_string())
        .bind(c.created_ms)
        .bind(c.updated_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Writes title, version, `retake_from` and `updated_ms` of a course.
    pub async fn update_course(&mut self, c: &Course) -> Result<(), StoreError> {
        sql(
            "UPDATE courses SET title = $2, version = $3, retake_from = $4, updated_ms = $5 \
             WHERE id = $1",
        )
        .bind(c.id.to_string())
        .bind(c.title.clone())
        .bind(c.version)
        .bind(c.retake_from)
        .bind(c.updated_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn insert_course_version(&mut self, v: &CourseVersion) -> Result<(), StoreError> {
        let content = serde_json::to_string(&v.content).map_err(|e| corrupt("content", e))?;
        sql(
            "INSERT INTO course_versions (course_id, version, content, published_by, \
             published_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(v.course_id.to_string())
        .bind(v.version)
        .bind(content)
        .bind(v.published_by.to_string())
        .bind(v.published_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn get_course(&mut self, id: CourseId) -> Result<Option<Course>, StoreError> {
        sql("SELECT * FROM courses WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(course)
            .transpose()
    }

    /// Every course, by title.
    pub async fn list_courses(&mut self) -> Result<Vec<Course>, StoreError> {
        sql("SELECT * FROM courses ORDER BY title, id")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(course)
            .collect()
    }

    pub async fn get_course_version(
        &mut self,
        id: CourseId,
        number: i64,
    ) -> Result<Option<CourseVersion>, StoreError> {
        sql("SELECT * FROM course_versions WHERE course_id = $1 AND version = $2")
            .bind(id.to_string())
            .bind(number)
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(version)
            .transpose()
    }

    /// Every version of a course, newest first.
    pub async fn list_course_versions(
        &mut self,
        id: CourseId,
    ) -> Result<Vec<CourseVersion>, StoreError> {
        sql("SELECT * FROM course_versions WHERE course_id = $1 ORDER BY version DESC")
            .bind(id.to_string())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(version)
            .collect()
    }

    // ---- attempts

    /// Records one quiz attempt.
    #[expect(clippy::too_many_arguments, reason = "the columns of one attempt")]
    pub async fn insert_course_attempt(
        &mut self,
        id: AttemptId,
        course: CourseId,
        version: i64,
        user: UserId,
        score_percent: i64,
        passed: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sql(
            "INSERT INTO course_attempts (id, course_id, version, user_id, score_percent, \
             passed, attempted_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(course.to_string())
        .bind(version)
        .bind(user.to_string())
        .bind(score_percent)
        .bind(i64::from(passed))
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// How many attempts `user` made at `course` from `since_ms` on.
    pub async fn count_course_attempts(
        &mut self,
        user: UserId,
        course: CourseId,
        since_ms: i64,
    ) -> Result<i64, StoreError> {
        let row = sql("SELECT COUNT(*) AS n FROM course_attempts \
             WHERE user_id = $1 AND course_id = $2 AND attempted_ms >= $3")
        .bind(user.to_string())
        .bind(course.to_string())
        .bind(since_ms)
        .fetch_one(self.conn())
        .await?;
        row.int("n")
    }

    // ---- completions

    pub async fn insert_completion(&mut self, c: &CourseCompletion) -> Result<(), StoreError> {
        sql(
            "INSERT INTO course_completions (id, course_id, version, user_id, score_percent, \
             completed_ms, valid_until_ms, evidence_file, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(c.id.to_string())
        .bind(c.course_id.to_string())
        .bind(c.version)
        .bind(c.user_id.to_string())
        .bind(c.score_percent)
        .bind(c.completed_ms)
        .bind(c.valid_until_ms)
        .bind(c.evidence.map(|f| f.to_string()))
        .bind(c.recorded_by.map(|u| u.to_string()))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn get_completion(
        &mut self,
        id: CompletionId,
    ) -> Result<Option<CourseCompletion>, StoreError> {
        sql("SELECT * FROM course_completions WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(completion)
            .transpose()
    }

    /// The completions of `user`, newest end first.
    pub async fn user_completions(
        &mut self,
        user: UserId,
    ) -> Result<Vec<CourseCompletion>, StoreError> {
        sql("SELECT * FROM course_completions WHERE user_id = $1 \
             ORDER BY valid_until_ms DESC, id")
        .bind(user.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(completion)
        .collect()
    }

    /// The completions of `course`, newest first (at most `limit`).
    pub async fn course_completions(
        &mut self,
        course: CourseId,
        limit: i64,
    ) -> Result<Vec<CourseCompletion>, StoreError> {
        sql("SELECT * FROM course_completions WHERE course_id = $1 \
             ORDER BY completed_ms DESC, id LIMIT $2")
        .bind(course.to_string())
        .bind(limit)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(completion)
        .collect()
    }

    /// The completions of the users of `party`.
    pub async fn party_completions(
        &mut self,
        party: PartyId,
    ) -> Result<Vec<CourseCompletion>, StoreError> {
        sql(
            "SELECT c.* FROM course_completions c JOIN users u ON u.id = c.user_id \
             WHERE u.party_id = $1 ORDER BY c.valid_until_ms DESC, c.id",
        )
        .bind(party.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(completion)
        .collect()
    }

    /// The courses any room or classification requires, each once.
    pub async fn required_course_ids(&mut self) -> Result<Vec<CourseId>, StoreError> {
        sql("SELECT key FROM room_qualifications WHERE kind = 'course' \
             UNION SELECT key FROM classification_qualifications WHERE kind = 'course' \
             ORDER BY key")
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| row.parsed("key"))
        .collect()
    }

    /// The courses required of `user` through the rooms granted to them or
    /// their party (the room's own requirements and its classification's).
    pub async fn courses_required_of(
        &mut self,
        user: UserId,
        party: PartyId,
    ) -> Result<Vec<CourseId>, StoreError> {
        sql(
            "SELECT q.key AS key FROM room_qualifications q JOIN rooms r ON r.id = q.room_id \
             WHERE q.kind = 'course' AND r.deleted_ms IS NULL AND r.id IN (SELECT g.room_id \
               FROM grants g WHERE g.revoked_ms IS NULL AND g.subject_id IN ($1, $2)) \
             UNION SELECT q.key AS key FROM classification_qualifications q JOIN rooms r \
               ON r.classification = q.classification \
             WHERE q.kind = 'course' AND r.deleted_ms IS NULL AND r.id IN (SELECT g.room_id \
               FROM grants g WHERE g.revoked_ms IS NULL AND g.subject_id IN ($1, $2)) \
             ORDER BY key",
        )
        .bind(user.to_string())
        .bind(party.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| row.parsed("key"))
        .collect()
    }
}
