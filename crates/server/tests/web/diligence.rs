//! Due diligence in the browser: the party's contact answers the
//! questionnaire sent to them — every question kind, a file question picking
//! a file of the party's evidence room — saves a draft, is told above the
//! form what was refused, submits, and replies to a reviewer's follow-up with
//! a new answer; each page checked by axe-core.

use app::{Assessments, Identity, NewParty, NewUser, RequestMeta};
use model::diligence::{AssessmentStatus, TemplateBody};
use model::{PartyId, SessionKind, SystemRole};
use serde_json::json;

use crate::admin::{choose, set_date, submit_and_confirm};
use crate::util::{self, PASSWORD, Site};
use crate::webdriver::{self, Driver};

const CONTACT: &str = "security@vane.example";

/// The template: one question of every kind.
pub(crate) fn template() -> TemplateBody {
    serde_json::from_value(json!({
        "sections": [
            {"title": "Security", "questions": [
                {"key": "encrypts", "text": "Do you encrypt data at rest?", "kind": "yes_no",
                 "required": true, "score": {"rule": "yes_no", "yes": 40, "no": 0},
                 "knock_out": {"answers": ["no"], "min_tier": "high"}},
                {"key": "iso", "text": "ISO/IEC 27001?", "kind": "choice",
                 "choices": ["certified", "in progress", "no"],
                 "score": {"rule": "choices", "points": [40, 10, 0]}},
                {"key": "policy", "text": "Your security policy", "kind": "file",
                 "score": {"rule": "answered", "points": 20}}
            ]},
            {"title": "Company", "questions": [
                {"key": "staff", "text": "How many staff?", "kind": "number",
                 "score": {"rule": "ranges", "ranges": [{"max": 9, "points": 0}, {"min": 10, "points": 10}]}},
                {"key": "audited", "text": "Date of the last audit", "kind": "date"},
                {"key": "notes", "text": "Anything else we should know", "kind": "text"}
            ]}
        ],
        "thresholds": {"low": 90, "medium": 60, "high": 20}
    }))
    .unwrap()
}

/// A prospective party and its future contact.
async fn prospect(site: &Site) -> (model::Party, model::User) {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let id = Identity(&site.app);
    let auth = site
        .app
        .system(&meta, &admin, app::act::PartyCreate)
        .await
        .unwrap();
    let party = id
        .create_party(
            auth,
            NewParty {
                name: "Vane Works Ltd".into(),
                country: Some("GB".into()),
                active_reason: None,
            },
        )
        .await
        .unwrap();
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserCreate)
        .await
        .unwrap();
    let user = id
        .create_user(
            auth,
            NewUser {
                email: CONTACT.into(),
                display_name: "Vane Security".into(),
                party_id: party.id,
                system_role: SystemRole::Member,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap();
    (party, user)
}

/// A prospective party, its contact (TOTP enrolled; returns an API token
/// and the secret), the questionnaire sent to them, and a policy file the
/// contact uploaded to the party's evidence room.
async fn sent(site: &Site) -> (PartyId, String, Vec<u8>, model::AssessmentId, model::FileId) {
    let (party, user) = prospect(site).await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let id = Identity(&site.app);
    let login = id
        .login(&meta, CONTACT, PASSWORD, None, SessionKind::Api)
        .await
        .unwrap();
    let (p, session) = id.authenticate(&login.token).await.unwrap();
    let auth = site
        .app
        .system(&meta, &p, app::act::TotpEnroll)
        .await
        .unwrap();
    let secret = util::base32_decode(&id.totp_begin(auth).await.unwrap().secret_base32);
    let auth = site
        .app
        .system(&meta, &p, app::act::TotpEnroll)
        .await
        .unwrap();
    let login = id
        .totp_confirm(auth, &session, &util::current_code(&secret))
        .await
        .unwrap();
    let (contact, _) = id.authenticate(&login.token).await.unwrap();

    let auth = site
        .app
        .system(&meta, &admin, app::act::QuestionnaireUpdate)
        .await
        .unwrap();
    let q = Assessments(&site.app)
        .save_questionnaire(auth, "supplier-security", "Supplier security", template())
        .await
        .unwrap();
    let auth = site
        .app
        .system(&meta, &admin, app::act::AssessmentSend)
        .await
        .unwrap();
    let a = Assessments(&site.app)
        .send(auth, party.id, q.id, user.id)
        .await
        .unwrap();
    let auth = site
        .app
        .party(&meta, &contact, party.id, app::act::AssessmentAnswer)
        .await
        .unwrap();
    let room = Assessments(&site.app)
        .evidence_room(auth)
        .await
        .unwrap()
        .unwrap();
    let auth = site
        .app
        .room(&meta, &contact, room, app::act::FileUpload)
        .await
        .unwrap();
    let file = app::Files(&site.app)
        .upload(
            auth,
            &model::FilePath::parse("security-policy.txt").unwrap(),
            None,
            futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
                b"We encrypt laptops and backups.",
            ))]),
        )
        .await
        .unwrap();
    (party.id, login.token, secret, a.id, file.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contact_answers_the_questionnaire_and_replies_to_a_follow_up_in_the_browser() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (party, _, secret, aid, file) = sent(&site).await;
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let b = driver
        .session(&scratch.path().join("profile"), scratch.path())
        .await;
    b.set_window(1400, 2400).await;
    crate::admin::sign_in(&b, &site, CONTACT, Some(&util::next_code(&secret))).await;

    // The contact finds the questionnaire from the notification it was sent with.
    b.goto(&site.url("/notifications")).await;
    b.assert_accessible("the contact's notifications").await;
    b.click(&b.find("#notifications a.subject").await).await;
    crate::admin::wait_for(&b, "the questionnaire", "form.answers").await;
    assert!(b.url().await.ends_with("/assessments"), "{}", b.url().await);
    b.assert_accessible("the contact's questionnaire").await;
    let href = b
        .script("return document.querySelector('#evidence-room a').getAttribute('href')")
        .await;
    assert!(href.as_str().unwrap().starts_with("/rooms/"), "{href}");

    // A draft: some answers, among them the evidence file.
    let q = |key: &str| format!("#q-{aid}-{key}");
    b.click(&b.find(&format!("{}-yes", q("encrypts"))).await)
        .await;
    choose(&b, &q("iso"), "in progress").await;
    choose(&b, &q("policy"), &file.to_string()).await;
    submit_and_confirm(&b, "button.save-draft", "Draft answers saved.").await;
    b.assert_accessible("the saved draft").await;
    assert_eq!(b.value(&b.find(&q("iso")).await).await, "in progress");
    assert_eq!(b.value(&b.find(&q("policy")).await).await, file.to_string());

    // A number that is not one is refused above the form, the values kept.
    b.type_into(&b.find(&q("staff")).await, "many").await;
    b.type_into(&b.find(&q("notes")).await, "Two sites.").await;
    b.click(&b.find("button.submit-answers").await).await;
    crate::admin::wait_for(&b, "the refusal", "#answers-error").await;
    b.assert_accessible("the refused answers").await;
    let error = b.text(&b.find("#answers-error").await).await;
    assert!(error.contains("many"), "{error}");
    assert_eq!(b.value(&b.find(&q("notes")).await).await, "Two sites.");
    assert_eq!(b.value(&b.find(&q("staff")).await).await, "many");

    // Fixed, and submitted.
    b.script(&format!(
        "document.querySelector('{}').value = '';",
        q("staff")
    ))
    .await;
    b.type_into(&b.find(&q("staff")).await, "25").await;
    set_date(&b, &q("audited"), "2026-03-01").await;
    submit_and_confirm(&b, "button.submit-answers", "Answers submitted for review.").await;
    let form = b
        .script("return document.querySelector('form.answers') === null")
        .await;
    assert_eq!(form, json!(true), "no answer form once submitted");
    b.assert_accessible("the submitted answers").await;

    // A reviewer asks a follow-up; the contact replies with a new answer.
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .party(&meta, &admin, party, app::act::AssessmentReview)
        .await
        .unwrap();
    Assessments(&site.app)
        .follow_up(auth, aid, "iso", "When do you expect the certificate?")
        .await
        .unwrap();
    b.goto(&site.url("/assessments")).await;
    crate::admin::wait_for(&b, "the follow-up", "form.reply").await;
    b.assert_accessible("the follow-up to reply to").await;
    // An empty reply is refused by the use-case, shown above the form.
    b.script("document.querySelector('form.reply textarea').removeAttribute('required');")
        .await;
    b.click(&b.find("button.send-reply").await).await;
    crate::admin::wait_for(&b, "the refused reply", "#reply-error").await;
    b.assert_accessible("the refused reply").await;
    b.type_into(
        &b.find(&format!("#reply-{aid}-0")).await,
        "Audit passed in May.",
    )
    .await;
    b.type_into(&b.find(&format!("#remediation-{aid}-0")).await, "certified")
        .await;
    submit_and_confirm(&b, "button.send-reply", "Reply sent.").await;
    b.assert_accessible("the replied follow-up").await;
    assert!(
        b.text(&b.find("li.follow-up").await)
            .await
            .contains("Audit passed in May.")
    );

    // Through the use-case: the answers, and the remediation scored.
    let auth = site
        .app
        .party(&meta, &admin, party, app::act::AssessmentReview)
        .await
        .unwrap();
    let views = Assessments(&site.app).of_party(auth).await.unwrap();
    let a = &views[0].assessment;
    assert_eq!(a.status, AssessmentStatus::Submitted);
    for (k, v) in [
        ("encrypts", "yes".to_owned()),
        ("iso", "certified".to_owned()),
        ("policy", file.to_string()),
        ("staff", "25".to_owned()),
        ("audited", "2026-03-01".to_owned()),
        ("notes", "Two sites.".to_owned()),
    ] {
        assert_eq!(a.answers.get(k), Some(&v), "{k}");
    }
    assert_eq!(a.follow_ups[0].replaced.as_deref(), Some("in progress"));
}

/// The contact's answers, through the use-case: a knock-out `no`. Returns
/// the contact's API token too.
async fn submitted(site: &Site) -> (PartyId, model::AssessmentId, String) {
    let (party, token, _, aid, file) = sent(site).await;
    let meta = RequestMeta::default();
    let (contact, _) = Identity(&site.app).authenticate(&token).await.unwrap();
    let auth = site
        .app
        .party(&meta, &contact, party, app::act::AssessmentAnswer)
        .await
        .unwrap();
    let answers = [
        ("encrypts", "no".to_owned()),
        ("iso", "certified".to_owned()),
        ("policy", file.to_string()),
        ("staff", "25".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Assessments(&site.app)
        .answer(auth, aid, answers, true)
        .await
        .unwrap();
    (party, aid, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_reads_the_score_asks_a_follow_up_and_signs_off_in_the_browser() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (party, aid, token) = submitted(&site).await;
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let b = driver
        .session(&scratch.path().join("profile"), scratch.path())
        .await;
    b.set_window(1400, 2400).await;
    crate::admin::sign_in(
        &b,
        &site,
        util::EMAIL,
        Some(&util::next_code(&site.totp_secret)),
    )
    .await;

    // From the party's page to its review.
    b.goto(&site.url(&format!("/admin/parties/{party}"))).await;
    b.click(&b.find("#diligence-review").await).await;
    crate::admin::wait_for(&b, "the review page", "form.decision").await;
    b.assert_accessible("the reviewer's page").await;
    let card = format!("#assessment-{aid}");
    let text = |css: &'static str| {
        let b = &b;
        let card = card.clone();
        async move { b.text(&b.find(&format!("{card} {css}")).await).await }
    };
    assert_eq!(text(".score").await, "70 of 110 (medium)");
    assert_eq!(text(".knock-outs").await, "encrypts → at least high");
    assert_eq!(text(".computed-tier").await, "high");

    // A follow-up about the knock-out answer.
    b.type_into(
        &b.find(&format!("#ask-{aid}-encrypts")).await,
        "Is a plan to encrypt in place?",
    )
    .await;
    submit_and_confirm(
        &b,
        "tr[data-key=encrypts] button.ask",
        "Follow-up question sent to the contact.",
    )
    .await;
    b.assert_accessible("the asked follow-up").await;
    assert!(
        b.text(&b.find("tr[data-key=encrypts] p.follow-up").await)
            .await
            .contains("Is a plan to encrypt in place?")
    );

    // Signing off while the follow-up waits is refused above the form, the
    // values kept.
    choose(&b, &format!("#tier-{aid}"), "medium").await;
    let reasons = format!("#reasons-{aid}");
    b.type_into(
        &b.find(&reasons).await,
        "Encryption rolled out by June; checked on site.",
    )
    .await;
    b.click(&b.find("button.decide").await).await;
    crate::admin::wait_for(&b, "the refused sign-off", "#decision-error").await;
    b.assert_accessible("the refused sign-off").await;
    let error = b.text(&b.find("#decision-error").await).await;
    assert!(error.contains("no follow-up waiting"), "{error}");
    assert_eq!(
        b.value(&b.find(&format!("#tier-{aid}")).await).await,
        "medium"
    );

    // The contact replies with a remediation; the reviewer sees it and signs off.
    let meta = RequestMeta::default();
    let (contact, _) = Identity(&site.app).authenticate(&token).await.unwrap();
    let auth = site
        .app
        .party(&meta, &contact, party, app::act::AssessmentAnswer)
        .await
        .unwrap();
    Assessments(&site.app)
        .reply(auth, aid, 0, "Rolled out last week.", Some("yes"))
        .await
        .unwrap();
    b.goto(&site.url(&format!("/admin/parties/{party}/assessments")))
        .await;
    crate::admin::wait_for(&b, "the review page", "form.decision").await;
    assert_eq!(text(".computed-tier").await, "low");
    assert!(
        b.text(&b.find("tr[data-key=encrypts] p.follow-up").await)
            .await
            .contains("Answer changed from no to yes")
    );
    choose(&b, &format!("#tier-{aid}"), "medium").await;
    b.type_into(
        &b.find(&reasons).await,
        "Encryption rolled out by June; checked on site.",
    )
    .await;
    submit_and_confirm(&b, "button.decide", "Assessment signed off.").await;
    b.assert_accessible("the signed-off assessment").await;
    assert!(text(".decided-tier").await.starts_with("medium, until "));
    assert_eq!(
        text(".decision-reasons").await,
        "Encryption rolled out by June; checked on site."
    );
    b.goto(&site.url(&format!("/admin/parties/{party}"))).await;
    let tier = b.text(&b.find("#diligence-tier").await).await;
    assert!(tier.starts_with("medium, until "), "{tier}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_writes_a_questionnaire_and_sends_it_to_a_party_in_the_browser() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (party, user) = prospect(&site).await;
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let b = driver
        .session(&scratch.path().join("profile"), scratch.path())
        .await;
    b.set_window(1400, 2400).await;
    crate::admin::sign_in(
        &b,
        &site,
        util::EMAIL,
        Some(&util::next_code(&site.totp_secret)),
    )
    .await;

    // From the header to the templates.
    b.click(&b.find("nav.pages a[href='/admin/questionnaires']").await)
        .await;
    crate::admin::wait_for(&b, "the questionnaires", "#questionnaire-form").await;
    b.assert_accessible("the questionnaires").await;
    assert!(
        b.text(&b.find("#template-example").await)
            .await
            .contains("knock_out")
    );

    // A template that is not JSON is refused above the form, values kept.
    let set_body = |json: String| {
        let b = &b;
        async move {
            b.script(&format!(
                "document.querySelector('#questionnaire-body').value = {};",
                serde_json::to_string(&json).unwrap()
            ))
            .await;
        }
    };
    b.type_into(&b.find("#questionnaire-name").await, "supplier-security")
        .await;
    b.type_into(&b.find("#questionnaire-title").await, "Supplier security")
        .await;
    set_body("{\"sections\": [".into()).await;
    b.click(&b.find("#save-questionnaire").await).await;
    crate::admin::wait_for(&b, "the refusal", "#questionnaire-form-error").await;
    b.assert_accessible("the refused template").await;
    assert_eq!(
        b.value(&b.find("#questionnaire-name").await).await,
        "supplier-security"
    );
    assert_eq!(
        b.value(&b.find("#questionnaire-body").await).await,
        "{\"sections\": ["
    );

    // The template of the other tests, saved: its page says it in words.
    set_body(serde_json::to_string_pretty(&template()).unwrap()).await;
    submit_and_confirm(&b, "#save-questionnaire", "Questionnaire version saved.").await;
    b.assert_accessible("the questionnaire version").await;
    let page = b.text(&b.find("#questionnaire").await).await;
    for want in [
        "supplier-security, version 1",
        "Do you encrypt data at rest?",
        "(choice: certified, in progress, no)",
        "low from 90",
    ] {
        assert!(page.contains(want), "`{want}` not in {page}");
    }

    // Sent from the party's review page to its contact.
    b.goto(&site.url(&format!("/admin/parties/{}/assessments", party.id)))
        .await;
    crate::admin::wait_for(&b, "the send form", "#send-form").await;
    b.assert_accessible("the review page with the send form")
        .await;
    b.click(&b.find("#send-questionnaire-button").await).await;
    crate::admin::wait_for(&b, "the refused send", "#send-form-error").await;
    b.assert_accessible("the refused send").await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, app::act::QuestionnaireList)
        .await
        .unwrap();
    let q = Assessments(&site.app)
        .list_questionnaires(auth)
        .await
        .unwrap();
    choose(&b, "#send-questionnaire", &q[0].id.to_string()).await;
    choose(&b, "#send-contact", &user.id.to_string()).await;
    submit_and_confirm(
        &b,
        "#send-questionnaire-button",
        "Questionnaire sent to the contact.",
    )
    .await;
    b.assert_accessible("the sent questionnaire").await;
    assert_eq!(
        b.text(&b.find(".assessment .assessment-status").await)
            .await,
        "sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_edits_the_sharing_risk_matrix_in_the_browser() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let b = driver
        .session(&scratch.path().join("profile"), scratch.path())
        .await;
    b.set_window(1600, 2400).await;
    crate::admin::sign_in(
        &b,
        &site,
        util::EMAIL,
        Some(&util::next_code(&site.totp_secret)),
    )
    .await;
    b.click(&b.find("nav.pages a[href='/admin/risk']").await)
        .await;
    crate::admin::wait_for(&b, "the matrix", "#risk-form").await;
    b.assert_accessible("the sharing risk matrix").await;

    // Confidential rooms for low-tier parties: with marked copies only; and
    // a period of 0 days, refused above the form with the values kept.
    choose(&b, "#verdict-confidential-low", "controls").await;
    let marked = "#control-confidential-low-marked";
    if b.script(&format!(
        "return document.querySelector('{marked}').checked"
    ))
    .await
        != json!(true)
    {
        b.click(&b.find(marked).await).await;
    }
    // (Past the browser's own check of the field's bounds.)
    b.script("document.querySelector('#risk-form').noValidate = true; document.querySelector('#period-high').value = '0';")
        .await;
    b.click(&b.find("#save-risk").await).await;
    crate::admin::wait_for(&b, "the refusal", "#risk-form-error").await;
    b.assert_accessible("the refused matrix").await;
    assert_eq!(
        b.value(&b.find("#verdict-confidential-low").await).await,
        "controls"
    );
    assert_eq!(b.value(&b.find("#period-high").await).await, "0");

    b.script("document.querySelector('#period-high').value = '60';")
        .await;
    submit_and_confirm(&b, "#save-risk", "Sharing risk matrix saved.").await;
    b.assert_accessible("the saved matrix").await;

    // In force: through the use-case.
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, app::act::RiskRead)
        .await
        .unwrap();
    let settings = Assessments(&site.app).risk_settings(auth);
    assert_eq!(settings.periods.high, 60);
    let cell = settings
        .matrix
        .cells
        .iter()
        .find(|c| c.classification == model::Classification::Confidential && c.tier == "low")
        .unwrap();
    assert_eq!(cell.verdict, model::diligence::MatrixVerdict::Controls);
    assert!(
        cell.controls
            .contains(&model::diligence::MatrixControl::Marked)
    );
}
