//! Training courses in the browser. The owner's staff: `/admin/courses` (the
//! courses, a new one with its pages and quiz, and which courses each
//! classification requires) and a course's page `/admin/courses/{id}` (its
//! versions, completions, the editor that publishes a new version, and a
//! course completed elsewhere recorded with evidence). Everyone: `/courses`
//! (the courses required of them, where they stand, until when) and
//! `/courses/{id}` (the pages, rendered from Markdown with an allow-list,
//! and the quiz; the result after answering, never the correct answers).
//!
//! The quiz editor needs no script: the form shows every page and question
//! of the version edited plus empty ones to fill; empty ones are left out.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, PreEscaped, html};

use app::authz::Action;
use app::{App, CourseStatus, Courses, ExternalCompletion, Identity, RequestMeta, act};
use model::{
    Classification, CourseContent, CourseId, CoursePage, FileId, MAX_PAGES, MAX_QUESTIONS,
    Question, UserId, render_markdown, utc_date,
};

use super::admin::{Done, Failed, Fields, again, csrf_field, done, may, path_id, refusal};
use super::{Viewer, WebError, check_csrf, layout};
use crate::auth::{FormCsrf, Meta};

/// Empty page and question slots the editor offers beyond those written.
const SPARE_PAGES: usize = 2;
const SPARE_QUESTIONS: usize = 3;

/// The course pages and their form posts (CSRF-checked).
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/admin/courses", post(create))
        .route("/admin/courses/{id}", post(publish_version))
        .route("/admin/courses/{id}/completions", post(record))
        .route(
            "/admin/courses/classifications/{name}",
            post(classification),
        )
        .route("/courses/{id}", post(answer))
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/admin/courses", get(list))
        .route("/admin/courses/{id}", get(course_page))
        .route("/courses", get(mine))
        .route("/courses/{id}", get(take))
        .merge(forms)
}

fn status_text(s: CourseStatus) -> &'static str {
    match s {
        CourseStatus::Passed => "passed",
        CourseStatus::Lapsed => "lapsed",
        CourseStatus::Due => "to take",
    }
}

/// The editor's fields for `content` (or an empty course), inside a form.
fn editor(content: Option<&CourseContent>, failed: Option<&Failed<'_>>, form: &str) -> Markup {
    let v = |name: &str, current: &str| Failed::value(failed, form, name, current);
    let pages: &[CoursePage] = content.map_or(&[], |c| &c.pages);
    let questions: &[Question] = content.map_or(&[], |c| &c.questions);
    let page_slots = (pages.len() + SPARE_PAGES).min(MAX_PAGES);
    let question_slots = (questions.len() + SPARE_QUESTIONS).min(MAX_QUESTIONS);
    let pass = content.map_or("80".to_owned(), |c| c.pass_percent.to_string());
    let days = content.map_or("365".to_owned(), |c| c.validity_days.to_string());
    html! {
        label { "Title" input type="text" name="title" id=(format!("{form}-title")) required maxlength="200"
            value=(v("title", content.map_or("", |c| c.title.as_str()))); }
        div.row {
            label { "Pass mark (percent)" input type="number" name="pass_percent" id=(format!("{form}-pass")) min="1" max="100" required value=(v("pass_percent", &pass)); }
            label { "Valid for (days)" input type="number" name="validity_days" id=(format!("{form}-days")) min="1" max="3660" required value=(v("validity_days", &days)); }
        }
        fieldset {
            legend { "Pages (Markdown: # headings, - lists, **bold**, *italic*, `code`, [links](https://…); no images, HTML is shown as text)" }
            @for i in 0..page_slots {
                @let p = pages.get(i);
                div.slot {
                    label { "Page " (i + 1) " title" input type="text" name=(format!("page_title_{i}")) id=(format!("{form}-page-title-{i}")) maxlength="200"
                        value=(v(&format!("page_title_{i}"), p.map_or("", |p| p.title.as_str()))); }
                    label { "Page " (i + 1) " text" textarea name=(format!("page_body_{i}")) id=(format!("{form}-page-body-{i}")) rows="6" maxlength="20000" {
                        (v(&format!("page_body_{i}"), p.map_or("", |p| p.body.as_str())))
                    } }
                }
            }
        }
        fieldset {
            legend { "Quiz (choices one per line; the correct ones by number, e.g. 1, 3)" }
            @for i in 0..question_slots {
                @let q = questions.get(i);
                @let correct = q.map_or(String::new(), |q| q.correct.iter().map(|c| (c + 1).to_string()).collect::<Vec<_>>().join(", "));
                div.slot {
                    label { "Question " (i + 1) input type="text" name=(format!("q_text_{i}")) id=(format!("{form}-q-text-{i}")) maxlength="2000"
                        value=(v(&format!("q_text_{i}"), q.map_or("", |q| q.text.as_str()))); }
                    label { "Choices of question " (i + 1) textarea name=(format!("q_choices_{i}")) id=(format!("{form}-q-choices-{i}")) rows="4" {
                        (v(&format!("q_choices_{i}"), &q.map_or(String::new(), |q| q.choices.join("\n"))))
                    } }
                    label { "Correct choices of question " (i + 1) input type="text" name=(format!("q_correct_{i}")) id=(format!("{form}-q-correct-{i}")) maxlength="40"
                        value=(v(&format!("q_correct_{i}"), &correct)); }
                    label.check { input type="checkbox" name=(format!("q_multiple_{i}")) id=(format!("{form}-q-multiple-{i}")) checked[q.is_some_and(|q| q.multiple)]; " several choices may be ticked" }
                }
            }
        }
    }
}

/// The course written in the editor's fields (empty slots left out). Bad
/// numbers are refused here; everything else by the model's checks.
fn posted(f: &Fields) -> Result<CourseContent, app::AppError> {
    let bad = |m: String| app::AppError::invalid(model::ErrorCode::InvalidCourse, m);
    let number = |name: &str, label: &str| {
        f.get(name)
            .trim()
            .parse::<i64>()
            .map_err(|_| bad(format!("{label} must be a whole number")))
    };
    let mut pages = Vec::new();
    for i in 0..MAX_PAGES + SPARE_PAGES {
        let (title, body) = (
            f.get(&format!("page_title_{i}")),
            f.get(&format!("page_body_{i}")),
        );
        if title.trim().is_empty() && body.trim().is_empty() {
            continue;
        }
        pages.push(CoursePage {
            title: title.to_owned(),
            body: body.to_owned(),
        });
    }
    let mut questions = Vec::new();
    for i in 0..MAX_QUESTIONS + SPARE_QUESTIONS {
        let text = f.get(&format!("q_text_{i}"));
        let choices = f.get(&format!("q_choices_{i}"));
        if text.trim().is_empty() && choices.trim().is_empty() {
            continue;
        }
        let n = questions.len() + 1;
        let correct = f
            .get(&format!("q_correct_{i}"))
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<usize>()
                    .ok()
                    .filter(|k| *k >= 1)
                    .map(|k| k - 1)
                    .ok_or_else(|| {
                        bad(format!(
                            "the correct choices of question {n} are numbers from 1"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        questions.push(Question {
            text: text.to_owned(),
            choices: choices
                .lines()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            multiple: f.checked(&format!("q_multiple_{i}")),
            correct,
        });
    }
    Ok(CourseContent {
        title: f.get("title").to_owned(),
        pages,
        questions,
        pass_percent: number("pass_percent", "the pass mark")?,
        validity_days: number("validity_days", "the validity")?,
        requires_retake: f.checked("requires_retake"),
    })
}

/// `GET /admin/courses`.
async fn list(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_list(&app, &meta, &viewer, &ok, None).await
}

async fn render_list(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::CourseList).await?;
    let courses = Courses(app).list(auth).await?;
    let auth = app.system(meta, p, act::CourseList).await?;
    let required = Courses(app).classifications(auth).await?;
    let may_publish = may(app, meta, viewer, Action::CourseUpdate);
    let title_of = |key: &str| {
        courses
            .iter()
            .find(|c| c.id.to_string() == key)
            .map_or_else(|| key.to_owned(), |c| c.title.clone())
    };
    let body = html! {
        section.card {
            h1 { "Courses" }
            (ok.notice())
            p.muted { "Training external users take in Custody. A room whose classification (or the room itself) requires a course is closed to an external user until they pass it, and again once their completion lapses." }
            @if courses.is_empty() {
                p.empty #no-courses { "No course yet." }
            } @else {
                table.listing #courses {
                    thead { tr { th { "Course" } th { "Version" } th { "Completions count from version" } th { "Updated" } } }
                    tbody {
                        @for c in &courses {
                            tr id=(format!("course-{}", c.id)) {
                                td { a href=(format!("/admin/courses/{}", c.id)) { (c.title) } }
                                td { (c.version) }
                                td { (c.retake_from) }
                                td { (utc_date(c.updated_ms)) }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Courses by classification" }
            table.listing #course-requirements {
                thead { tr { th { "Classification" } th { "Required courses" } } }
                tbody {
                    @for (c, keys) in &required {
                        tr id=(format!("course-class-{c}")) {
                            td { (c.as_str()) }
                            td.required {
                                @if keys.is_empty() { "none" }
                                @else { (keys.iter().map(|k| title_of(k)).collect::<Vec<_>>().join(", ")) }
                            }
                        }
                    }
                }
            }
            @if may_publish && !courses.is_empty() {
                @for (c, keys) in &required {
                    @let fid = class_form(*c);
                    (Failed::alert_for(failed, fid))
                    form.stack id=(fid) method="post" action=(format!("/admin/courses/classifications/{c}")) {
                        (csrf_field(&viewer.csrf))
                        fieldset {
                            legend { "Courses rooms classified " (c.as_str()) " require" }
                            @for course in &courses {
                                label.check {
                                    input type="checkbox" name="course" value=(course.id)
                                        id=(format!("{fid}-{}", course.id))
                                        checked[keys.iter().any(|k| *k == course.id.to_string())];
                                    " " (course.title)
                                }
                            }
                        }
                        div { button.secondary type="submit" id=(format!("{fid}-save")) { "Save for " (c.as_str()) } }
                    }
                }
            }
        }
        @if may_publish {
            section.card {
                h2 { "New course" }
                (Failed::alert_for(failed, "course-form"))
                form.stack #course-form method="post" action="/admin/courses" {
                    (csrf_field(&viewer.csrf))
                    (editor(None, failed, "course-form"))
                    div { button.primary #course-publish type="submit" { "Publish course" } }
                }
            }
        }
    };
    Ok(layout::page("Courses", Some(viewer.header()), body))
}

/// The form id of a classification's required courses.
fn class_form(c: Classification) -> &'static str {
    match c {
        Classification::Public => "course-class-form-public",
        Classification::Internal => "course-class-form-internal",
        Classification::Confidential => "course-class-form-confidential",
        Classification::Restricted => "course-class-form-restricted",
    }
}

/// `POST /admin/courses`: a new course.
async fn create(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let made = async {
        let content = posted(&f)?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::CourseUpdate)
            .await?;
        Courses(&app).publish(auth, None, content).await
    }
    .await;
    match made {
        Ok(v) => Ok(done(
            &format!("/admin/courses/{}", v.course_id),
            "course-published",
        )),
        Err(e) => {
            let failed = Failed {
                form: "course-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page = render_list(&app, &meta, &viewer, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `POST /admin/courses/classifications/{name}`.
async fn classification(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let c = Classification::parse(&raw).map_err(|e| WebError::from(app::AppError::from(e)))?;
    let courses: Vec<String> = f.all("course").into_iter().map(str::to_owned).collect();
    let saved = async {
        let auth = app
            .system(&meta, &viewer.authed.principal, act::CourseUpdate)
            .await?;
        Courses(&app).set_classification(auth, c, &courses).await
    }
    .await;
    match saved {
        Ok(_) => Ok(done("/admin/courses", "course-requirements-saved")),
        Err(e) => {
            let failed = Failed {
                form: class_form(c),
                refusal: refusal(e)?,
                fields: &f,
            };
            let page = render_list(&app, &meta, &viewer, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `GET /admin/courses/{id}`: versions, completions, the editor.
async fn course_page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_course(&app, &meta, &viewer, path_id(&raw)?, &ok, None).await
}

async fn render_course(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: CourseId,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::CourseList).await?;
    let r = Courses(app).get(auth, id).await?;
    let may_publish = may(app, meta, viewer, Action::CourseUpdate);
    let may_record = may(app, meta, viewer, Action::CourseRecord);
    // Users to record for: every enabled user of an external party.
    let users = if may_record {
        let auth = app.system(meta, p, act::UserList).await?;
        let all = Identity(app).list_users(auth, None).await?;
        all.into_iter()
            .filter(|u| !u.disabled && u.party_id != p.party_id)
            .collect()
    } else {
        vec![]
    };
    let email = |u: UserId| {
        users
            .iter()
            .find(|x| x.id == u)
            .map_or_else(|| u.to_string(), |x| x.email.clone())
    };
    let current = r.versions.first();
    let now = app.now();
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" {
                a href="/admin/courses" { "Courses" } span.sep { "/" } (r.course.title)
            }
            h1 { (r.course.title) }
            (ok.notice())
            p.muted #course-state { "Version " (r.course.version) "; completions of version " (r.course.retake_from) " on count." }
            h2 { "Versions" }
            table.listing #course-versions {
                thead { tr { th { "Version" } th { "Published" } th { "Pages" } th { "Questions" } th { "Pass mark" } th { "Valid for" } th { "Requires retaking" } } }
                tbody {
                    @for v in &r.versions {
                        tr {
                            td { (v.version) }
                            td { (utc_date(v.published_ms)) }
                            td { (v.content.pages.len()) }
                            td { (v.content.questions.len()) }
                            td { (v.content.pass_percent) " %" }
                            td { (v.content.validity_days) " days" }
                            td { @if v.content.requires_retake { "yes" } @else { "no" } }
                        }
                    }
                }
            }
            h2 { "Completions" }
            @if r.completions.is_empty() {
                p.empty #no-completions { "Nobody has completed this course yet." }
            } @else {
                table.listing #course-completions {
                    thead { tr { th { "User" } th { "Version" } th { "Score" } th { "Completed" } th { "Valid until" } th { "State" } } }
                    tbody {
                        @for c in &r.completions {
                            tr {
                                td { (email(c.user_id)) }
                                td { (c.version) }
                                td { @match c.score_percent { Some(s) => { (s) " %" } None => { "recorded" @if let Some(f) = c.evidence { " (" a href=(format!("/files/{f}/download")) { "evidence" } ")" } } } }
                                td { (utc_date(c.completed_ms)) }
                                td { (utc_date(c.valid_until_ms)) }
                                td { @if !c.counts_for(&r.course) { "superseded" } @else if c.in_term(&r.course, now) { "in term" } @else { "lapsed" } }
                            }
                        }
                    }
                }
            }
        }
        @if may_publish {
            section.card {
                h2 { "Publish a new version" }
                p.muted { "Editing publishes a new version. Completions of earlier versions keep counting unless the new version requires retaking." }
                (Failed::alert_for(failed, "version-form"))
                form.stack #version-form method="post" action=(format!("/admin/courses/{id}")) {
                    (csrf_field(&viewer.csrf))
                    (editor(current.map(|v| &v.content), failed, "version-form"))
                    label.check { input type="checkbox" name="requires_retake" #version-form-retake; " everyone must take this version again (earlier completions stop counting)" }
                    div { button.primary #version-publish type="submit" { "Publish version " (r.course.version + 1) } }
                }
            }
        }
        @if may_record {
            section.card {
                h2 { "Record a course completed elsewhere" }
                (Failed::alert_for(failed, "record-form"))
                form.stack #record-form method="post" action=(format!("/admin/courses/{id}/completions")) {
                    (csrf_field(&viewer.csrf))
                    label { "User"
                        select #record-user name="user" required {
                            @for u in &users { option value=(u.id) { (u.email) } }
                        }
                    }
                    label { "Completed on (00:00 UTC of the date)" input #record-date type="date" name="completed" required; }
                    label { "Evidence (the id of a file in a room shared with the user's party)" input #record-evidence type="text" name="evidence" maxlength="36"; }
                    div { button.primary #record-save type="submit" { "Record completion" } }
                }
            }
        }
    };
    Ok(layout::page(&r.course.title, Some(viewer.header()), body))
}

/// Back to the course's page with `key`, or the page again with the refusal.
async fn finish(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: CourseId,
    result: Result<&str, app::AppError>,
    form: &'static str,
    f: &Fields,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done(&format!("/admin/courses/{id}"), key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: f,
            };
            let page =
                render_course(app, meta, viewer, id, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `POST /admin/courses/{id}`: a new version.
async fn publish_version(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: CourseId = path_id(&raw)?;
    let made = async {
        let content = posted(&f)?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::CourseUpdate)
            .await?;
        Courses(&app).publish(auth, Some(id), content).await
    }
    .await;
    let result = made.map(|_| "course-published");
    finish(&app, &meta, &viewer, id, result, "version-form", &f).await
}

/// `POST /admin/courses/{id}/completions`.
async fn record(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: CourseId = path_id(&raw)?;
    let made = async {
        let bad = |code, m: &str| app::AppError::invalid(code, m);
        let user = f
            .get("user")
            .parse::<UserId>()
            .map_err(|_| bad(model::ErrorCode::InvalidCourse, "choose a listed user"))?;
        let completed_ms = super::admin::parse_date("Completed on", f.get("completed"))?
            .ok_or_else(|| bad(model::ErrorCode::InvalidTime, "Completed on: give a date"))?;
        let evidence = match f.opt("evidence") {
            None => None,
            Some(raw) => Some(
                raw.parse::<FileId>()
                    .map_err(|_| bad(model::ErrorCode::InvalidEvidence, "not a file id"))?,
            ),
        };
        let auth = app
            .system(&meta, &viewer.authed.principal, act::CourseRecord)
            .await?;
        let new = ExternalCompletion {
            course: id,
            user,
            completed_ms,
            evidence,
        };
        Courses(&app).record_external(auth, new).await
    }
    .await;
    let result = made.map(|_| "completion-recorded");
    finish(&app, &meta, &viewer, id, result, "record-form", &f).await
}

/// `GET /courses`: the courses required of the viewer, where they stand.
async fn mine(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
) -> Result<Markup, WebError> {
    let auth = app
        .system(&meta, &viewer.authed.principal, act::CourseTake)
        .await?;
    let courses = Courses(&app).mine(auth).await?;
    let body = html! {
        section.card {
            h1 { "Your courses" }
            p.muted { "Rooms shared with you may require courses. Take each one here; a pass counts for the course's validity, after which the rooms that require it close until you pass it again." }
            @if courses.is_empty() {
                p.empty #no-courses { "No course is required of you." }
            } @else {
                table.listing #my-courses {
                    thead { tr { th { "Course" } th { "Required" } th { "State" } th { "Valid until" } } }
                    tbody {
                        @for c in &courses {
                            tr id=(format!("my-course-{}", c.course.id)) {
                                td { a href=(format!("/courses/{}", c.course.id)) { (c.course.title) } }
                                td { @if c.required { "yes" } @else { "no" } }
                                td.state { (status_text(c.status)) }
                                td { @match c.valid_until_ms { Some(u) => { (utc_date(u)) } None => { "—" } } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Your courses", Some(viewer.header()), body))
}

/// The result of the viewer's attempt, for the page after answering.
struct Outcome {
    score: i64,
    passed: bool,
    valid_until: Option<i64>,
}

/// `GET /courses/{id}`: the pages and the quiz.
async fn take(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Markup, WebError> {
    render_take(&app, &meta, &viewer, path_id(&raw)?, None, None).await
}

async fn render_take(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: CourseId,
    outcome: Option<&Outcome>,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let auth = app
        .system(meta, &viewer.authed.principal, act::CourseTake)
        .await?;
    let t = Courses(app).to_take(auth, id).await?;
    let questions = t.questions();
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" {
                a href="/courses" { "Your courses" } span.sep { "/" } (t.content.title)
            }
            h1 { (t.content.title) }
            p #course-status {
                @match t.status {
                    CourseStatus::Passed => { "Passed; valid until " (t.valid_until_ms.map(utc_date).unwrap_or_default()) "." }
                    CourseStatus::Lapsed => { "Your completion lapsed on " (t.valid_until_ms.map(utc_date).unwrap_or_default()) ": take it again." }
                    CourseStatus::Due => { "Not passed yet. Pass mark: " (t.content.pass_percent) " %." }
                }
            }
            @if let Some(o) = outcome {
                @if o.passed {
                    p.notice #quiz-result role="status" { "Passed with " (o.score) " %. Valid until " (o.valid_until.map(utc_date).unwrap_or_default()) "." }
                } @else {
                    p.error #quiz-result role="alert" { "Not passed: " (o.score) " %, the pass mark is " (t.content.pass_percent) " %. Read the pages again and retry." }
                }
            }
        }
        @for (i, page) in t.content.pages.iter().enumerate() {
            section.card.course-page id=(format!("page-{}", i + 1)) {
                h2 { (page.title) }
                // Rendered with an allow-list: raw HTML is escaped.
                (PreEscaped(render_markdown(&page.body)))
            }
        }
        section.card {
            h2 { "Quiz" }
            (Failed::alert_for(failed, "quiz"))
            form.stack #quiz method="post" action=(format!("/courses/{id}")) {
                (csrf_field(&viewer.csrf))
                input type="hidden" name="version" value=(t.course.version);
                @for (i, q) in questions.iter().enumerate() {
                    fieldset id=(format!("question-{}", i + 1)) {
                        legend { (i + 1) ". " (q.text) @if q.multiple { " (tick every right answer)" } }
                        @for (j, c) in q.choices.iter().enumerate() {
                            label.check {
                                @if q.multiple {
                                    input type="checkbox" name=(format!("q{i}")) value=(j) id=(format!("q{i}-{j}"));
                                } @else {
                                    input type="radio" name=(format!("q{i}")) value=(j) id=(format!("q{i}-{j}")) required;
                                }
                                " " (c)
                            }
                        }
                    }
                }
                div { button.primary #quiz-submit type="submit" { "Submit answers" } }
            }
        }
    };
    Ok(layout::page(&t.content.title, Some(viewer.header()), body))
}

/// `POST /courses/{id}`: the answers, scored on the server.
async fn answer(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: CourseId = path_id(&raw)?;
    let got = async {
        let version = f.get("version").parse::<i64>().map_err(|_| {
            app::AppError::invalid(model::ErrorCode::InvalidQuizAnswers, "reload the course")
        })?;
        // The questions shown: each one's ticked choices, in order (an
        // unanswered one is empty, which the model refuses).
        let shown = app
            .system(&meta, &viewer.authed.principal, act::CourseTake)
            .await?;
        let n = Courses(&app)
            .to_take(shown, id)
            .await?
            .content
            .questions
            .len();
        let answers: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                f.all(&format!("q{i}"))
                    .iter()
                    .map(|t| t.parse::<usize>().unwrap_or(usize::MAX))
                    .collect()
            })
            .collect();
        let auth = app
            .system(&meta, &viewer.authed.principal, act::CourseTake)
            .await?;
        Courses(&app).attempt(auth, id, version, &answers).await
    }
    .await;
    match got {
        Ok(a) => {
            let outcome = Outcome {
                score: a.result.score_percent,
                passed: a.result.passed,
                valid_until: a.completion.map(|c| c.valid_until_ms),
            };
            let page = render_take(&app, &meta, &viewer, id, Some(&outcome), None).await?;
            Ok(again(axum::http::StatusCode::OK, page))
        }
        Err(e) => {
            let failed = Failed {
                form: "quiz",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page = render_take(&app, &meta, &viewer, id, None, Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// A room closed to the viewer for want of a course: the refusal and the
/// way to the courses.
pub fn take_instead(viewer: &Viewer, message: &str) -> Markup {
    let body = html! {
        section.card {
            h1 { "A course is required" }
            p.error #course-required role="alert" { (message) }
            p { a #take-course href="/courses" { "Take it on your courses page" } }
        }
    };
    layout::page("A course is required", Some(viewer.header()), body)
}

/// Whether the header shows "Courses" to `viewer`: an external user with a
/// course required of them or completed (the owner's staff have
/// `/admin/courses`).
pub async fn has_courses(app: &App, meta: &RequestMeta, p: &app::authz::Principal) -> bool {
    if p.party_kind == model::PartyKind::Owner {
        return false;
    }
    match app.system(meta, p, act::CourseTake).await {
        Ok(auth) => Courses(app).mine(auth).await.is_ok_and(|c| !c.is_empty()),
        Err(_) => false,
    }
}
