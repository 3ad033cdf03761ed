//! Onboarding a supplier before the first byte, in a real headless Chromium,
//! one browser per person: the owner admin writes a questionnaire, creates
//! the party (prospective), its contact and engineer, and sends the
//! questionnaire; the contact enrols a second factor, uploads a policy to the
//! party's evidence room and answers with it, a knock-out answer among them;
//! the reviewer signs off the tier `high` and activates the party; in a
//! `restricted` room the engineer views a drawing but its download is
//! refused with the sharing risk matrix's reason; a re-assessment with a
//! remediation reply is signed off `medium` and the download goes through;
//! the admin writes a course and requires it for `confidential` rooms, and
//! the engineer, refused such a room naming the course, fails its quiz once,
//! passes, and only then reaches the room.
//! Each page is checked by axe-core.

use app::{Assessments, RequestMeta};
use model::PartyId;

use crate::account::enrol_in_browser;
use crate::admin::{choose, set_date, submit_and_confirm, wait_for};
use crate::browser::{Scratch, drawing_pdf};
use crate::courses::{answer as take_quiz, fill};
use crate::util::{self, EMAIL, PASSWORD, Site};
use crate::webdriver::{self, Browser, Driver};

const CONTACT: &str = "security@vane.example";
const ENGINEER: &str = "engineer@vane.example";
const DRAWING: &str = "impeller-r2.pdf";
const POLICY: &str = "security-policy.txt";

/// The id at the end of the page's address after `marker`.
async fn id_after(b: &Browser, marker: &str) -> String {
    let url = b.url().await;
    url.split(marker)
        .nth(1)
        .and_then(|rest| rest.split(['/', '?']).next())
        .unwrap_or_else(|| panic!("no id after {marker} in {url}"))
        .to_owned()
}

/// A signed-in browser of its own for `email` (enrolling a second factor
/// when the account has none yet).
async fn person(site: &Site, driver: &Driver, scratch: &Scratch, email: &str) -> Browser {
    let b = scratch.browser(driver).await;
    b.set_window(1400, 2400).await;
    b.goto(&site.url("/login")).await;
    b.type_into(&b.find("#email").await, email).await;
    b.type_into(&b.find("#password").await, PASSWORD).await;
    if email == EMAIL {
        b.type_into(&b.find("#totp").await, &util::next_code(&site.totp_secret))
            .await;
    }
    b.click(&b.find("#sign-in").await).await;
    if email != EMAIL {
        enrol_in_browser(&b).await;
    }
    wait_for(&b, "the signed-in header", ".account .email").await;
    b
}

/// Creates a user of the party chosen by its name, on the admin's users page.
async fn create_user(site: &Site, b: &Browser, email: &str, name: &str, party: &str) {
    b.goto(&site.url("/admin/users")).await;
    wait_for(b, "the user form", "#user-email").await;
    b.type_into(&b.find("#user-email").await, email).await;
    b.type_into(&b.find("#user-name").await, name).await;
    choose(b, "#user-party", party).await;
    b.type_into(&b.find("#user-password").await, PASSWORD).await;
    b.click(&b.find("#user-create").await).await;
    wait_for(b, "the confirmation", "#confirmation").await;
}

/// The value of the option of `select` whose text contains `text`.
async fn option_with(b: &Browser, select: &str, text: &str) -> String {
    let v = b
        .script(&format!(
            "const o = [...document.querySelectorAll('{select} option')].find(o => o.textContent.includes({})); return o ? o.value : null;",
            serde_json::to_string(text).unwrap()
        ))
        .await;
    v.as_str()
        .unwrap_or_else(|| panic!("no option with `{text}` in {select}"))
        .to_owned()
}

/// The assessments of the party, newest first, through the use-case (for
/// their ids: the pages name fields after them).
async fn assessment_ids(site: &Site, party: PartyId) -> Vec<model::AssessmentId> {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .party(&meta, &admin, party, app::act::AssessmentReview)
        .await
        .unwrap();
    let mut views = Assessments(&site.app).of_party(auth).await.unwrap();
    views.sort_by_key(|v| std::cmp::Reverse(v.assessment.sent_ms));
    views.iter().map(|v| v.assessment.id).collect()
}

/// The admin sends the questionnaire to the contact from the party's review page.
async fn send_questionnaire(site: &Site, b: &Browser, party: &str, contact: &str) {
    b.goto(&site.url(&format!("/admin/parties/{party}/assessments")))
        .await;
    wait_for(b, "the send form", "#send-form").await;
    let q = option_with(b, "#send-questionnaire", "Supplier security").await;
    choose(b, "#send-questionnaire", &q).await;
    choose(b, "#send-contact", contact).await;
    submit_and_confirm(
        b,
        "#send-questionnaire-button",
        "Questionnaire sent to the contact.",
    )
    .await;
}

/// The contact answers the open questionnaire `aid` (encrypting at rest:
/// `encrypts`), the policy file as evidence, and submits it.
async fn answer(site: &Site, b: &Browser, aid: model::AssessmentId, encrypts: &str) {
    b.goto(&site.url("/assessments")).await;
    wait_for(b, "the questionnaire", "form.answers").await;
    b.assert_accessible("the contact's questionnaire").await;
    let q = |key: &str| format!("#q-{aid}-{key}");
    b.click(&b.find(&format!("{}-{encrypts}", q("encrypts"))).await)
        .await;
    choose(b, &q("iso"), "in progress").await;
    let file = option_with(b, &q("policy"), POLICY).await;
    choose(b, &q("policy"), &file).await;
    b.script(&format!(
        "document.querySelector('{}').value = '';",
        q("staff")
    ))
    .await;
    b.type_into(&b.find(&q("staff")).await, "40").await;
    set_date(b, &q("audited"), "2026-09-01").await;
    submit_and_confirm(b, "button.submit-answers", "Answers submitted for review.").await;
}

/// The reviewer signs off `aid` with `tier` and reasons.
async fn sign_off(site: &Site, b: &Browser, party: &str, aid: model::AssessmentId, tier: &str) {
    b.goto(&site.url(&format!("/admin/parties/{party}/assessments")))
        .await;
    wait_for(b, "the review page", "form.decision").await;
    choose(b, &format!("#assessment-{aid} #tier-{aid}"), tier).await;
    b.type_into(
        &b.find(&format!("#reasons-{aid}")).await,
        &format!("Signed off {tier} after reading the answers and the policy."),
    )
    .await;
    submit_and_confirm(
        b,
        &format!("#assessment-{aid} button.decide"),
        "Assessment signed off.",
    )
    .await;
    b.assert_accessible("the signed-off assessment").await;
}

/// The message of the page the browser shows for `/files/{file}/download`
/// when the download is refused.
async fn refused_download(site: &Site, b: &Browser, file: &str) -> String {
    b.goto(&site.url(&format!("/files/{file}/download"))).await;
    wait_for(b, "the error page", "p.error").await;
    b.text(&b.find("p.error").await).await
}

/// A room `name` of `classification` made in the browser by the admin,
/// granted to the party for downloads, with a drawing uploaded: the room's
/// id and the drawing's.
async fn room_with_drawing(
    site: &Site,
    admin: &Browser,
    scratch: &Scratch,
    (name, classification): (&str, &str),
    party: &str,
) -> (String, String) {
    admin.goto(&site.url("/")).await;
    admin.click(&admin.find("#new-room").await).await;
    wait_for(admin, "the new room form", "#new-room-name").await;
    admin
        .type_into(&admin.find("#new-room-name").await, name)
        .await;
    choose(admin, "#new-room-classification", classification).await;
    submit_and_confirm(
        admin,
        "#room-create",
        "Room created. You manage it; set it up below.",
    )
    .await;
    let room = id_after(admin, "/rooms/").await;
    admin.click(&admin.find("#room-grants-link").await).await;
    wait_for(admin, "the grant form", "#grant-form").await;
    choose(admin, "#grant-subject", &format!("party:{party}")).await;
    choose(admin, "#grant-role", "downloader").await;
    admin
        .type_into(&admin.find("#grant-reason").await, "impeller work package")
        .await;
    submit_and_confirm(admin, "#grant-submit", "Access granted.").await;
    admin.goto(&site.url(&format!("/rooms/{room}"))).await;
    let local = scratch.dir().join(DRAWING);
    std::fs::write(&local, drawing_pdf()).unwrap();
    admin
        .type_into(
            &admin.find("#file-input").await,
            &local.display().to_string(),
        )
        .await;
    admin.click(&admin.find("#upload-button").await).await;
    wait_for(admin, "the uploaded drawing", "#files tr.file").await;
    let href = admin
        .script("return document.querySelector('#files tr.file a.view').getAttribute('href')")
        .await;
    let file = href
        .as_str()
        .unwrap()
        .split("/files/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    (room, file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_is_onboarded_assessed_and_its_tier_decides_downloads_in_the_browser() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let driver = Driver::start().await;
    let (admin_scratch, contact_scratch, engineer_scratch) =
        (Scratch::new(), Scratch::new(), Scratch::new());
    let admin = person(&site, &driver, &admin_scratch, EMAIL).await;

    // The questionnaire, written in the browser.
    admin.goto(&site.url("/admin/questionnaires")).await;
    wait_for(&admin, "the questionnaires", "#questionnaire-form").await;
    admin
        .type_into(
            &admin.find("#questionnaire-name").await,
            "supplier-security",
        )
        .await;
    admin
        .type_into(
            &admin.find("#questionnaire-title").await,
            "Supplier security",
        )
        .await;
    let body = serde_json::to_string_pretty(&crate::diligence::template()).unwrap();
    admin
        .script(&format!(
            "document.querySelector('#questionnaire-body').value = {};",
            serde_json::to_string(&body).unwrap()
        ))
        .await;
    submit_and_confirm(
        &admin,
        "#save-questionnaire",
        "Questionnaire version saved.",
    )
    .await;

    // The party, prospective: no reason to activate it at once.
    admin.goto(&site.url("/admin/parties")).await;
    admin
        .type_into(&admin.find("#party-name").await, "Vane Works Ltd")
        .await;
    admin
        .type_into(&admin.find("#party-country").await, "gb")
        .await;
    submit_and_confirm(&admin, "#party-create", "Party created.").await;
    assert_eq!(
        admin.text(&admin.find("#party-status").await).await,
        "prospective"
    );
    let party = id_after(&admin, "/admin/parties/").await;
    let party_id: PartyId = party.parse().unwrap();
    // Restricted rooms ask for a certified party.
    admin
        .type_into(
            &admin.find("#certification-name").await,
            "ISO/IEC 27001:2022",
        )
        .await;
    set_date(&admin, "#certification-until", "2099-06-30").await;
    submit_and_confirm(&admin, "#certification-save", "Certification recorded.").await;
    create_user(&site, &admin, CONTACT, "Vane Security", &party).await;
    create_user(&site, &admin, ENGINEER, "Vane Engineer", &party).await;
    let contact_id = {
        admin
            .goto(&site.url(&format!("/admin/parties/{party}/assessments")))
            .await;
        wait_for(&admin, "the send form", "#send-form").await;
        option_with(&admin, "#send-contact", CONTACT).await
    };
    send_questionnaire(&site, &admin, &party, &contact_id).await;

    // The contact: a policy into the evidence room, and the answers, with a
    // knock-out `no` to encryption at rest.
    let contact = person(&site, &driver, &contact_scratch, CONTACT).await;
    contact.goto(&site.url("/assessments")).await;
    wait_for(&contact, "the questionnaire", "#evidence-room a").await;
    contact.click(&contact.find("#evidence-room a").await).await;
    wait_for(&contact, "the evidence room", "#file-input").await;
    let local = contact_scratch.dir().join(POLICY);
    std::fs::write(
        &local,
        b"We back up nightly; laptops are not encrypted yet.",
    )
    .unwrap();
    contact
        .type_into(
            &contact.find("#file-input").await,
            &local.display().to_string(),
        )
        .await;
    contact.click(&contact.find("#upload-button").await).await;
    wait_for(&contact, "the uploaded policy", "#files tr.file").await;
    let first = assessment_ids(&site, party_id).await[0];
    answer(&site, &contact, first, "no").await;

    // The reviewer: the knock-out makes it `high`; signed off; the party activated.
    admin
        .goto(&site.url(&format!("/admin/parties/{party}/assessments")))
        .await;
    wait_for(&admin, "the review page", "form.decision").await;
    b_assert_text(
        &admin,
        &format!("#assessment-{first} .computed-tier"),
        "high",
    )
    .await;
    sign_off(&site, &admin, &party, first, "high").await;
    admin
        .goto(&site.url(&format!("/admin/parties/{party}")))
        .await;
    submit_and_confirm(&admin, "#party-activate-submit", "Party activated.").await;
    assert_eq!(
        admin.text(&admin.find("#party-status").await).await,
        "active"
    );

    // A restricted room with a drawing, granted to the party for downloads.
    let (room, file) = room_with_drawing(
        &site,
        &admin,
        &admin_scratch,
        ("Impeller tooling", "restricted"),
        &party,
    )
    .await;
    // Owner staff need no training; the engineer's is recorded.
    record_training(&site, &admin).await;

    // The engineer: `high` × restricted is view-only. The room offers the
    // viewer and no download; asked for anyway, the download is refused
    // with the matrix's reason.
    let engineer = person(&site, &driver, &engineer_scratch, ENGINEER).await;
    engineer.goto(&site.url(&format!("/rooms/{room}"))).await;
    wait_for(&engineer, "the room's files", "#files tr.file").await;
    engineer.assert_accessible("a view-only room").await;
    let offered = engineer
        .script("return [document.querySelectorAll('#files a.view').length, document.querySelectorAll('#files a.download').length]")
        .await;
    assert_eq!(offered, serde_json::json!([1, 0]), "view only");
    engineer.click(&engineer.find("#files a.view").await).await;
    wait_for(&engineer, "the viewer's page", "img.page").await;
    engineer
        .wait_until(
            "the page image",
            "const i = document.querySelector('img.page'); return i.complete && i.naturalWidth > 0;",
        )
        .await;
    let refused = refused_download(&site, &engineer, &file).await;
    assert!(
        refused.contains("the party's risk tier `high` allows `restricted` rooms only view-only"),
        "{refused}"
    );
    engineer.assert_accessible("the refused download").await;

    // A re-assessment: the contact answers, the reviewer asks about the
    // knock-out, the contact replies with a remediation; signed off `medium`.
    send_questionnaire(&site, &admin, &party, &contact_id).await;
    let second = assessment_ids(&site, party_id).await[0];
    assert_ne!(second, first);
    answer(&site, &contact, second, "no").await;
    admin
        .goto(&site.url(&format!("/admin/parties/{party}/assessments")))
        .await;
    wait_for(&admin, "the review page", "form.decision").await;
    admin
        .type_into(
            &admin.find(&format!("#ask-{second}-encrypts")).await,
            "Has encryption at rest been rolled out since?",
        )
        .await;
    submit_and_confirm(
        &admin,
        &format!("#assessment-{second} tr[data-key=encrypts] button.ask"),
        "Follow-up question sent to the contact.",
    )
    .await;
    contact.goto(&site.url("/assessments")).await;
    wait_for(&contact, "the follow-up", "form.reply").await;
    contact
        .type_into(
            &contact.find(&format!("#reply-{second}-0")).await,
            "Rolled out to every laptop and backup last week.",
        )
        .await;
    contact
        .type_into(
            &contact.find(&format!("#remediation-{second}-0")).await,
            "yes",
        )
        .await;
    submit_and_confirm(&contact, "button.send-reply", "Reply sent.").await;
    sign_off(&site, &admin, &party, second, "medium").await;
    admin
        .goto(&site.url(&format!("/admin/parties/{party}")))
        .await;
    let tier = admin.text(&admin.find("#diligence-tier").await).await;
    assert!(tier.starts_with("medium, until "), "{tier}");

    // `medium` × restricted: the room offers the download, and it arrives marked.
    engineer.goto(&site.url(&format!("/rooms/{room}"))).await;
    wait_for(&engineer, "the download link", "#files a.download").await;
    engineer
        .click(&engineer.find("#files a.download").await)
        .await;
    let got = webdriver::wait_for_download(&engineer_scratch.downloads(), DRAWING).await;
    let copy = std::fs::read(got).unwrap();
    assert!(copy.starts_with(b"%PDF"), "not a PDF");
    assert_ne!(copy, drawing_pdf(), "the copy handed out is not marked");

    // A course, written by the admin and required for `confidential` rooms.
    admin.goto(&site.url("/admin/courses")).await;
    wait_for(&admin, "the courses", "#course-form").await;
    fill(&admin, "#course-form-title", "Handling drawings").await;
    fill(&admin, "#course-form-pass", "100").await;
    fill(&admin, "#course-form-days", "365").await;
    fill(&admin, "#course-form-page-title-0", "Why").await;
    fill(
        &admin,
        "#course-form-page-body-0",
        "Drawings are **confidential**: they leave only through Custody.",
    )
    .await;
    fill(
        &admin,
        "#course-form-q-text-0",
        "May drawings go by e-mail?",
    )
    .await;
    admin
        .type_into(&admin.find("#course-form-q-choices-0").await, "Yes\nNo")
        .await;
    fill(&admin, "#course-form-q-correct-0", "2").await;
    submit_and_confirm(&admin, "#course-publish", "Course published.").await;
    let course = id_after(&admin, "/admin/courses/").await;
    admin.goto(&site.url("/admin/courses")).await;
    wait_for(&admin, "the courses", "#courses").await;
    admin
        .click(
            &admin
                .find(&format!("#course-class-form-confidential-{course}"))
                .await,
        )
        .await;
    submit_and_confirm(
        &admin,
        "#course-class-form-confidential-save",
        "Required courses saved.",
    )
    .await;
    let (drawings, _) = room_with_drawing(
        &site,
        &admin,
        &admin_scratch,
        ("Impeller drawings", "confidential"),
        &party,
    )
    .await;

    // The engineer is refused the confidential room, naming the course;
    // fails the quiz once and is still refused; passes, and only then
    // reaches the room.
    let refused = |what: &'static str| {
        let (engineer, url) = (&engineer, site.url(&format!("/rooms/{drawings}")));
        async move {
            engineer.goto(&url).await;
            wait_for(engineer, what, "#course-required").await;
            let refusal = engineer
                .text(&engineer.find("#course-required").await)
                .await;
            assert!(
                refusal.contains("require the course “Handling drawings”; you have not passed it"),
                "{refusal}"
            );
        }
    };
    refused("the refusal naming the course").await;
    engineer.assert_accessible("the course refusal").await;
    engineer
        .goto(&site.url(&format!("/courses/{course}")))
        .await;
    wait_for(&engineer, "the course", "#quiz").await;
    let failed = take_quiz(&engineer, &["q0-0"]).await;
    assert!(failed.contains("Not passed: 0 %"), "{failed}");
    refused("the refusal after a failed attempt").await;
    engineer
        .goto(&site.url(&format!("/courses/{course}")))
        .await;
    wait_for(&engineer, "the course", "#quiz").await;
    let passed = take_quiz(&engineer, &["q0-1"]).await;
    assert!(passed.contains("Passed with 100 %"), "{passed}");
    engineer
        .goto(&site.url(&format!("/rooms/{drawings}")))
        .await;
    wait_for(&engineer, "the confidential room's files", "#files tr.file").await;
    engineer
        .assert_accessible("the confidential room after the course")
        .await;
}

/// Asserts the text of `css`.
async fn b_assert_text(b: &Browser, css: &str, want: &str) {
    assert_eq!(b.text(&b.find(css).await).await, want, "{css}");
}

/// The owner admin records the engineer's security training (rooms
/// classified confidential or above require it).
async fn record_training(site: &Site, b: &Browser) {
    b.goto(&site.url("/admin/users")).await;
    let link = format!("//a[contains(@class, 'user-link') and text()='{ENGINEER}']");
    let href = b
        .script(&format!(
            "return document.evaluate(\"{link}\", document, null, 9, null).singleNodeValue.getAttribute('href');"
        ))
        .await;
    b.goto(&site.url(href.as_str().unwrap())).await;
    wait_for(b, "the user's page", "#training-form").await;
    set_date(b, "#training-until", "2099-06-30").await;
    submit_and_confirm(b, "#training-save", "Training recorded.").await;
}
