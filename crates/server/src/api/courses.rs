//! Training courses: publishing (a new course or a new version), reading a
//! course with its versions and completions (the owner's staff), the courses
//! required of the caller, taking one (pages and questions without the
//! correct answers) and answering its quiz, recording a course completed
//! elsewhere, and which courses rooms and classifications require.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{App, CourseRecord, CourseToTake, Courses, ExternalCompletion, UserCourse, act};
use model::{
    Classification, CourseCompletion, CourseContent, CourseId, CoursePage, CourseVersion, FileId,
    Question, RoomId, UserId, render_markdown,
};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::{parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// One page of a course.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageDto {
    pub title: String,
    /// Markdown: headings, paragraphs, lists, emphasis, code, links
    /// (http, https, mailto, relative). Raw HTML is shown as text.
    pub body: String,
}

/// One quiz question, as an admin writes it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionDto {
    pub text: String,
    pub choices: Vec<String>,
    /// Whether several choices may be ticked (otherwise exactly one).
    #[serde(default)]
    pub multiple: bool,
    /// The indexes (from 0) of the correct choices. Never sent to a user
    /// taking the course.
    pub correct: Vec<usize>,
}

/// A course version as an admin writes it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseContentDto {
    pub title: String,
    pub pages: Vec<PageDto>,
    pub questions: Vec<QuestionDto>,
    /// The least score that passes, in percent (1 to 100).
    pub pass_percent: i64,
    /// How long a completion counts, in days.
    pub validity_days: i64,
    /// Whether completions of older versions stop counting from this one on.
    #[serde(default)]
    pub requires_retake: bool,
}

impl From<CourseContentDto> for CourseContent {
    fn from(d: CourseContentDto) -> Self {
        CourseContent {
            title: d.title,
            pages: d
                .pages
                .into_iter()
                .map(|p| CoursePage {
                    title: p.title,
                    body: p.body,
                })
                .collect(),
            questions: d
                .questions
                .into_iter()
                .map(|q| Question {
                    text: q.text,
                    choices: q.choices,
                    multiple: q.multiple,
                    correct: q.correct,
                })
                .collect(),
            pass_percent: d.pass_percent,
            validity_days: d.validity_days,
            requires_retake: d.requires_retake,
        }
    }
}

impl From<&CourseContent> for CourseContentDto {
    fn from(c: &CourseContent) -> Self {
        CourseContentDto {
            title: c.title.clone(),
            pages: c
                .pages
                .iter()
                .map(|p| PageDto {
                    title: p.title.clone(),
                    body: p.body.clone(),
                })
                .collect(),
            questions: c
                .questions
                .iter()
                .map(|q| QuestionDto {
                    text: q.text.clone(),
                    choices: q.choices.clone(),
                    multiple: q.multiple,
                    correct: q.correct.clone(),
                })
                .collect(),
            pass_percent: c.pass_percent,
            validity_days: c.validity_days,
            requires_retake: c.requires_retake,
        }
    }
}

/// A course.
#[derive(Serialize, ToSchema)]
pub struct CourseDto {
    pub id: String,
    pub title: String,
    /// The latest published version.
    pub version: i64,
    /// Completions of versions before this one no longer count.
    pub retake_from: i64,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&model::Course> for CourseDto {
    fn from(c: &model::Course) -> Self {
        CourseDto {
            id: c.id.to_string(),
            title: c.title.clone(),
            version: c.version,
            retake_from: c.retake_from,
            created_by: c.created_by.to_string(),
            created_at: rfc3339(c.created_ms),
            updated_at: rfc3339(c.updated_ms),
        }
    }
}

/// Every course.
#[derive(Serialize, ToSchema)]
pub struct CourseList {
    pub items: Vec<CourseDto>,
}

/// One published version of a course (with the correct answers: the owner's staff).
#[derive(Serialize, ToSchema)]
pub struct CourseVersionDto {
    pub course_id: String,
    pub version: i64,
    pub content: CourseContentDto,
    pub published_by: String,
    pub published_at: String,
}

impl From<&CourseVersion> for CourseVersionDto {
    fn from(v: &CourseVersion) -> Self {
        CourseVersionDto {
            course_id: v.course_id.to_string(),
            version: v.version,
            content: CourseContentDto::from(&v.content),
            published_by: v.published_by.to_string(),
            published_at: rfc3339(v.published_ms),
        }
    }
}

/// A user's completion of a course.
#[derive(Serialize, ToSchema)]
pub struct CompletionDto {
    pub id: String,
    pub course_id: String,
    pub version: i64,
    pub user_id: String,
    /// The quiz score in percent; absent for a course completed elsewhere.
    pub score_percent: Option<i64>,
    pub completed_at: String,
    /// The end of its validity (exclusive).
    pub valid_until: String,
    pub evidence_file: Option<String>,
    /// Who of the owner's staff recorded it (a course completed elsewhere).
    pub recorded_by: Option<String>,
}

impl From<&CourseCompletion> for CompletionDto {
    fn from(c: &CourseCompletion) -> Self {
        CompletionDto {
            id: c.id.to_string(),
            course_id: c.course_id.to_string(),
            version: c.version,
            user_id: c.user_id.to_string(),
            score_percent: c.score_percent,
            completed_at: rfc3339(c.completed_ms),
            valid_until: rfc3339(c.valid_until_ms),
            evidence_file: c.evidence.map(|f| f.to_string()),
            recorded_by: c.recorded_by.map(|u| u.to_string()),
        }
    }
}

/// A course with its versions (newest first) and newest completions.
#[derive(Serialize, ToSchema)]
pub struct CourseDetail {
    pub course: CourseDto,
    pub versions: Vec<CourseVersionDto>,
    pub completions: Vec<CompletionDto>,
}

impl From<&CourseRecord> for CourseDetail {
    fn from(r: &CourseRecord) -> Self {
        CourseDetail {
            course: CourseDto::from(&r.course),
            versions: r.versions.iter().map(CourseVersionDto::from).collect(),
            completions: r.completions.iter().map(CompletionDto::from).collect(),
        }
    }
}

/// Where the caller stands with one course.
#[derive(Serialize, ToSchema)]
pub struct MyCourseDto {
    pub course: CourseDto,
    /// `passed`, `lapsed` or `due`.
    pub status: String,
    /// The end of the latest completion that counts.
    pub valid_until: Option<String>,
    /// Whether a room shared with the caller requires it.
    pub required: bool,
}

impl From<&UserCourse> for MyCourseDto {
    fn from(u: &UserCourse) -> Self {
        MyCourseDto {
            course: CourseDto::from(&u.course),
            status: u.status.as_str().to_owned(),
            valid_until: u.valid_until_ms.map(rfc3339),
            required: u.required,
        }
    }
}

/// The courses required of the caller, and those they completed.
#[derive(Serialize, ToSchema)]
pub struct MyCourseList {
    pub items: Vec<MyCourseDto>,
}

/// A page as a user taking the course reads it.
#[derive(Serialize, ToSchema)]
pub struct PageToRead {
    pub title: String,
    /// The body rendered to HTML with an allow-list (raw HTML escaped).
    pub html: String,
}

/// A question as a user taking the course sees it: no correct answers.
#[derive(Serialize, ToSchema)]
pub struct QuestionToAnswer {
    pub text: String,
    pub choices: Vec<String>,
    pub multiple: bool,
}

/// A course to take: its current version.
#[derive(Serialize, ToSchema)]
pub struct CourseToTakeDto {
    pub id: String,
    pub title: String,
    /// The version to answer (send it back with the answers).
    pub version: i64,
    pub pages: Vec<PageToRead>,
    pub questions: Vec<QuestionToAnswer>,
    pub pass_percent: i64,
    pub validity_days: i64,
    /// `passed`, `lapsed` or `due`.
    pub status: String,
    pub valid_until: Option<String>,
}

impl From<&CourseToTake> for CourseToTakeDto {
    fn from(t: &CourseToTake) -> Self {
        CourseToTakeDto {
            id: t.course.id.to_string(),
            title: t.content.title.clone(),
            version: t.course.version,
            pages: t
                .content
                .pages
                .iter()
                .map(|p| PageToRead {
                    title: p.title.clone(),
                    html: render_markdown(&p.body),
                })
                .collect(),
            questions: t
                .questions()
                .into_iter()
                .map(|q| QuestionToAnswer {
                    text: q.text,
                    choices: q.choices,
                    multiple: q.multiple,
                })
                .collect(),
            pass_percent: t.content.pass_percent,
            validity_days: t.content.validity_days,
            status: t.status.as_str().to_owned(),
            valid_until: t.valid_until_ms.map(rfc3339),
        }
    }
}

/// Answers to a course's quiz.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// The version answered (as `GET /courses/{id}/take` gave it).
    pub version: i64,
    /// For each question in order, the indexes (from 0) of the ticked choices.
    pub answers: Vec<Vec<usize>>,
}

/// The result of an attempt: the score only, never the correct answers.
#[derive(Serialize, ToSchema)]
pub struct AttemptDto {
    pub version: i64,
    pub score_percent: i64,
    pub passed: bool,
    /// The completion's end, when it passed.
    pub valid_until: Option<String>,
}

/// A course completed elsewhere.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordCompletion {
    pub user_id: String,
    /// RFC 3339: when it was completed (the validity runs from then).
    pub completed_at: String,
    /// The certificate of completion: a file of a room shared with the user's party.
    pub evidence_file: Option<String>,
}

/// Courses (ids) required of external users.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredCourses {
    pub courses: Vec<String>,
}

/// Every course (the owner's staff).
#[utoipa::path(get, path = "/courses", tag = "courses", security(("bearer" = [])), responses((status = 200, body = CourseList), (status = 403, body = ErrorBody)))]
pub async fn list_courses(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<CourseList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::CourseList).await?;
    let items = Courses(&app).list(auth).await?;
    Ok(Json(CourseList {
        items: items.iter().map(CourseDto::from).collect(),
    }))
}

/// Publishes a new course: version 1 (admins).
#[utoipa::path(post, path = "/courses", request_body = CourseContentDto, tag = "courses", security(("bearer" = [])), responses((status = 201, body = CourseVersionDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn publish_course(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<CourseContentDto>,
) -> Result<(StatusCode, Json<CourseVersionDto>), ApiError> {
    let auth = app.system(&meta, &a.principal, act::CourseUpdate).await?;
    let v = Courses(&app).publish(auth, None, req.into()).await?;
    Ok((StatusCode::CREATED, Json(CourseVersionDto::from(&v))))
}

/// A course with its versions and newest completions (the owner's staff).
#[utoipa::path(get, path = "/courses/{id}", tag = "courses", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = CourseDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_course(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<CourseDetail>, ApiError> {
    let course = id::<CourseId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::CourseList).await?;
    let r = Courses(&app).get(auth, course).await?;
    Ok(Json(CourseDetail::from(&r)))
}

/// Publishes a new version of a course; with `requires_retake`, completions
/// of older versions stop counting (admins).
#[utoipa::path(put, path = "/courses/{id}", request_body = CourseContentDto, tag = "courses", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = CourseVersionDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn publish_version(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<CourseContentDto>,
) -> Result<Json<CourseVersionDto>, ApiError> {
    let course = id::<CourseId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::CourseUpdate).await?;
    let v = Courses(&app)
        .publish(auth, Some(course), req.into())
        .await?;
    Ok(Json(CourseVersionDto::from(&v)))
}

/// The courses required of the caller through the rooms shared with them,
/// and those they completed, with where they stand.
#[utoipa::path(get, path = "/courses/mine", tag = "courses", security(("bearer" = [])), responses((status = 200, body = MyCourseList), (status = 403, body = ErrorBody)))]
pub async fn my_courses(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<MyCourseList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::CourseTake).await?;
    let items = Courses(&app).mine(auth).await?;
    Ok(Json(MyCourseList {
        items: items.iter().map(MyCourseDto::from).collect(),
    }))
}

/// A course to take: its current version's pages (rendered) and questions,
/// without the correct answers.
#[utoipa::path(get, path = "/courses/{id}/take", tag = "courses", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = CourseToTakeDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn take_course(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<CourseToTakeDto>, ApiError> {
    let course = id::<CourseId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::CourseTake).await?;
    let t = Courses(&app).to_take(auth, course).await?;
    Ok(Json(CourseToTakeDto::from(&t)))
}

/// Answers a course's quiz: the server scores it and records the attempt; a
/// pass records a completion. The answer never tells which were wrong.
#[utoipa::path(post, path = "/courses/{id}/attempts", request_body = Answers, tag = "courses", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = AttemptDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn attempt_course(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<Answers>,
) -> Result<Json<AttemptDto>, ApiError> {
    let course = id::<CourseId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::CourseTake).await?;
    let got = Courses(&app)
        .attempt(auth, course, req.version, &req.answers)
        .await?;
    Ok(Json(AttemptDto {
        version: got.version,
        score_percent: got.result.score_percent,
        passed: got.result.passed,
        valid_until: got.completion.map(|c| rfc3339(c.valid_until_ms)),
    }))
}

/// Records a course a user completed elsewhere, with evidence; it counts as
/// a completion of the current version (the owner's admins and security officers).
#[utoipa::path(post, path = "/courses/{id}/completions", request_body = RecordCompletion, tag = "courses", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 201, body = CompletionDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn record_completion(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<RecordCompletion>,
) -> Result<(StatusCode, Json<CompletionDto>), ApiError> {
    let course = id::<CourseId>(&raw)?;
    let user = req.user_id.parse::<UserId>().map_err(|_| {
        app::AppError::invalid(app::ErrorCode::InvalidCourse, "`user_id` is not a user id")
    })?;
    let evidence = match &req.evidence_file {
        None => None,
        Some(raw) => Some(raw.parse::<FileId>().map_err(|_| {
            app::AppError::invalid(
                app::ErrorCode::InvalidEvidence,
                "`evidence_file` is not a file id",
            )
        })?),
    };
    let new = ExternalCompletion {
        course,
        user,
        completed_ms: parse_rfc3339("completed_at", &req.completed_at)?,
        evidence,
    };
    let auth = app.system(&meta, &a.principal, act::CourseRecord).await?;
    let c = Courses(&app).record_external(auth, new).await?;
    Ok((StatusCode::CREATED, Json(CompletionDto::from(&c))))
}

/// Sets the courses rooms of a classification require of external users
/// (admins); `GET /classifications` lists them.
#[utoipa::path(put, path = "/classifications/{classification}/courses", request_body = RequiredCourses, tag = "courses", security(("bearer" = [])), params(("classification" = String, Path)), responses((status = 200, body = RequiredCourses), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_classification_courses(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<RequiredCourses>,
) -> Result<Json<RequiredCourses>, ApiError> {
    let classification = name(Classification::parse, &raw)?;
    let auth = app.system(&meta, &a.principal, act::CourseUpdate).await?;
    let courses = Courses(&app)
        .set_classification(auth, classification, &req.courses)
        .await?;
    Ok(Json(RequiredCourses { courses }))
}

/// The courses a room itself requires of external users (its classification
/// may require more: `GET /classifications`).
#[utoipa::path(get, path = "/rooms/{id}/courses", tag = "courses", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = RequiredCourses), (status = 404, body = ErrorBody)))]
pub async fn get_room_courses(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<RequiredCourses>, ApiError> {
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::RoomView)
        .await?;
    let courses = Courses(&app).room_requirements(auth).await?;
    Ok(Json(RequiredCourses { courses }))
}

/// Sets the courses a room requires of external users (the owner's managers
/// of the room and its admins).
#[utoipa::path(put, path = "/rooms/{id}/courses", request_body = RequiredCourses, tag = "courses", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = RequiredCourses), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_room_courses(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<RequiredCourses>,
) -> Result<Json<RequiredCourses>, ApiError> {
    let auth = app
        .room(
            &meta,
            &a.principal,
            id::<RoomId>(&raw)?,
            act::RoomConditions,
        )
        .await?;
    let courses = Courses(&app)
        .set_room_requirements(auth, &req.courses)
        .await?;
    Ok(Json(RequiredCourses { courses }))
}
