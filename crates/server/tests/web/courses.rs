//! Training courses in the browser: an owner admin writes a course (pages
//! and a quiz) on `/admin/courses` and requires it for `confidential`; an
//! external engineer is refused the confidential room naming the course,
//! finds it in the header's "Courses", fails the quiz once (told the score,
//! never the answers), passes, and only then reaches the room; the admin then
//! makes the course the room's own requirement on its settings page. Each
//! page checked by axe-core.

use app::{Certifications, Identity, NewGrant, Policies, RequestMeta, RoomPatch};
use model::{Classification, RoomRole, SubjectKind};

use crate::admin::{external_with_nda, sign_in, submit_and_confirm, wait_for};
use crate::util::{self, EMAIL, Site};
use crate::webdriver::{self, Browser, Driver};

const ENGINEER: &str = "designer@rotor.example";

/// The admin's room made confidential and shared with the engineer (a
/// downloader, trained); confidential rooms ask no certificate here: only the
/// course decides.
async fn confidential_room_for_the_engineer(site: &Site) {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::RoomUpdate)
        .await
        .unwrap();
    let patch = RoomPatch {
        classification: Some(Classification::Confidential),
        ..RoomPatch::default()
    };
    app::Rooms(&site.app)
        .update_room(auth, patch)
        .await
        .unwrap();
    let auth = site
        .app
        .system(&meta, &admin, app::act::ClassificationUpdate)
        .await
        .unwrap();
    Certifications(&site.app)
        .set_classification(auth, Classification::Confidential, &[])
        .await
        .unwrap();
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserList)
        .await
        .unwrap();
    let engineer = Identity(&site.app)
        .list_users(auth, None)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email == ENGINEER)
        .unwrap();
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserUpdate)
        .await
        .unwrap();
    let year = site.app.now() + 365 * 86_400_000;
    Policies(&site.app)
        .set_training(auth, engineer.id, Some(year))
        .await
        .unwrap();
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::GrantCreate)
        .await
        .unwrap();
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: engineer.id.0,
        role: RoomRole::Downloader,
        expires_ms: None,
        reason: "designs the blades".into(),
    };
    app::Rooms(&site.app)
        .create_grant(auth, grant)
        .await
        .unwrap();
}

/// Types `text` into the field `css`.
pub(crate) async fn fill(b: &Browser, css: &str, text: &str) {
    let el = b.find(css).await;
    b.script(&format!("document.querySelector('{css}').value = '';"))
        .await;
    b.type_into(&el, text).await;
}

/// Ticks the quiz choices `ids` and submits; waits for the result.
pub(crate) async fn answer(b: &Browser, ids: &[&str]) -> String {
    for id in ids {
        b.click(&b.find(&format!("#{id}")).await).await;
    }
    b.click(&b.find("#quiz-submit").await).await;
    wait_for(b, "the quiz result", "#quiz-result").await;
    b.text(&b.find("#quiz-result").await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engineer_takes_the_required_course_fails_once_passes_and_reaches_the_room() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (secret, _) = external_with_nda(&site).await;
    confidential_room_for_the_engineer(&site).await;
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;

    // The admin writes the course and requires it for `confidential`.
    let a = driver
        .session(&scratch.path().join("admin"), scratch.path())
        .await;
    a.set_window(1400, 3000).await;
    sign_in(&a, &site, EMAIL, Some(&util::next_code(&site.totp_secret))).await;
    a.goto(&site.url("/admin/courses")).await;
    wait_for(&a, "the courses", "#course-form").await;
    a.assert_accessible("the courses of an admin").await;
    fill(&a, "#course-form-title", "Handling drawings").await;
    fill(&a, "#course-form-pass", "100").await;
    fill(&a, "#course-form-days", "365").await;
    fill(&a, "#course-form-page-title-0", "Why").await;
    fill(
        &a,
        "#course-form-page-body-0",
        "Drawings are **confidential**. <b>Not bold</b>",
    )
    .await;
    fill(&a, "#course-form-q-text-0", "May drawings go by e-mail?").await;
    a.type_into(&a.find("#course-form-q-choices-0").await, "Yes\nNo")
        .await;
    fill(&a, "#course-form-q-correct-0", "2").await;
    fill(&a, "#course-form-q-text-1", "Which channels are allowed?").await;
    a.type_into(
        &a.find("#course-form-q-choices-1").await,
        "Custody\nUSB stick\nThe viewer",
    )
    .await;
    fill(&a, "#course-form-q-correct-1", "1, 3").await;
    a.click(&a.find("#course-form-q-multiple-1").await).await;
    submit_and_confirm(&a, "#course-publish", "Course published.").await;
    a.assert_accessible("the course's page").await;
    let url = a.url().await;
    let course = url
        .split("/admin/courses/")
        .nth(1)
        .and_then(|r| r.split('?').next())
        .unwrap()
        .to_owned();
    a.goto(&site.url("/admin/courses")).await;
    wait_for(&a, "the courses", "#courses").await;
    a.click(
        &a.find(&format!("#course-class-form-confidential-{course}"))
            .await,
    )
    .await;
    submit_and_confirm(
        &a,
        "#course-class-form-confidential-save",
        "Required courses saved.",
    )
    .await;
    let required = a.text(&a.find("#course-class-confidential").await).await;
    assert!(required.contains("Handling drawings"), "{required}");

    // The engineer is refused the room, naming the course.
    let b = driver
        .session(&scratch.path().join("engineer"), scratch.path())
        .await;
    b.set_window(1400, 2400).await;
    sign_in(&b, &site, ENGINEER, Some(&util::next_code(&secret))).await;
    b.goto(&site.url(&format!("/rooms/{}", site.room))).await;
    wait_for(&b, "the refusal", "#course-required").await;
    let refusal = b.text(&b.find("#course-required").await).await;
    assert!(
        refusal.contains(
            "rooms classified `confidential` require the course “Handling drawings”; you have not passed it"
        ),
        "{refusal}"
    );
    b.assert_accessible("the course refusal").await;

    // The header leads to the courses; the course is due.
    b.click(&b.find("nav.pages a[href=\"/courses\"]").await)
        .await;
    wait_for(&b, "the engineer's courses", "#my-courses").await;
    b.assert_accessible("the engineer's courses").await;
    let row = b.text(&b.find(&format!("#my-course-{course}")).await).await;
    assert!(row.contains("to take"), "{row}");
    b.click(&b.find(&format!("#my-course-{course} a")).await)
        .await;
    wait_for(&b, "the course", "#quiz").await;
    b.assert_accessible("the course to take").await;
    let page = b.source().await;
    assert!(
        page.contains("<strong>confidential</strong>"),
        "Markdown rendered"
    );
    assert!(page.contains("&lt;b&gt;Not bold&lt;/b&gt;"), "HTML escaped");
    assert!(!page.contains("correct"), "no correct answers in the page");

    // Failed once: the score, not the answers; still refused.
    let failed = answer(&b, &["q0-0", "q1-0"]).await;
    assert!(failed.contains("Not passed: 0 %"), "{failed}");
    b.assert_accessible("a failed attempt").await;
    assert!(!b.source().await.contains("correct"), "no answers told");
    b.goto(&site.url(&format!("/rooms/{}", site.room))).await;
    wait_for(&b, "the refusal again", "#course-required").await;

    // Passed: the room opens.
    b.goto(&site.url(&format!("/courses/{course}"))).await;
    wait_for(&b, "the course", "#quiz").await;
    let passed = answer(&b, &["q0-1", "q1-0", "q1-2"]).await;
    assert!(passed.contains("Passed with 100 %"), "{passed}");
    b.assert_accessible("a passed attempt").await;
    b.goto(&site.url(&format!("/rooms/{}", site.room))).await;
    wait_for(&b, "the room", "#files, #no-files").await;
    b.assert_accessible("the room after the course").await;

    // The admin sees the completion on the course's page and the party's.
    a.goto(&site.url(&format!("/admin/courses/{course}"))).await;
    wait_for(&a, "the completions", "#course-completions").await;
    let done = a.text(&a.find("#course-completions").await).await;
    assert!(done.contains(ENGINEER) && done.contains("100 %"), "{done}");
    a.assert_accessible("the course with a completion").await;

    // The room requires the course of its own, from its settings page.
    a.goto(&site.url(&format!("/rooms/{}/settings", site.room)))
        .await;
    wait_for(&a, "the room's settings", "#room-courses-form").await;
    let tick = format!("#room-course-{course}");
    let ticked = format!("return document.querySelector('{tick}').checked");
    assert_eq!(a.script(&ticked).await, false, "not required yet");
    a.click(&a.find(&tick).await).await;
    submit_and_confirm(&a, "#room-courses-save", "Required courses saved.").await;
    assert_eq!(a.script(&ticked).await, true, "shown as required");
    a.assert_accessible("the room's required courses").await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::RoomView)
        .await
        .unwrap();
    let own = app::Courses(&site.app)
        .room_requirements(auth)
        .await
        .unwrap();
    assert_eq!(own, vec![course.clone()]);
}
