//! The web UI in a real headless Chromium: sign in with password and TOTP,
//! see the room, upload a file through the progress-bar script, download it
//! byte for byte; a wrong code is refused with a clear message; an external
//! user who must use TOTP is led through enrolment first.

use app::{NewGrant, NewParty, NewUser, RequestMeta};
use model::{RoomRole, SubjectKind, SystemRole};

use crate::util::{self, EMAIL, PASSWORD, ROOM, Site};
use crate::webdriver::{self, Browser, Driver};

/// A fresh browser profile and download directory, removed at the end.
pub(crate) struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub(crate) fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("downloads")).unwrap();
        Scratch { dir }
    }

    pub(crate) async fn browser(&self, driver: &Driver) -> Browser {
        let (profile, downloads) = (self.dir.path().join("profile"), self.downloads());
        driver.session(&profile, &downloads).await
    }

    pub(crate) fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub(crate) fn downloads(&self) -> std::path::PathBuf {
        self.dir.path().join("downloads")
    }
}

pub(crate) async fn sign_in(b: &Browser, site: &Site, email: &str, code: &str) {
    b.goto(&site.url("/login")).await;
    b.type_into(&b.find("#email").await, email).await;
    b.type_into(&b.find("#password").await, PASSWORD).await;
    if !code.is_empty() {
        b.type_into(&b.find("#totp").await, code).await;
    }
    b.click(&b.find("#sign-in").await).await;
}

pub(crate) async fn wait_for(b: &Browser, what: &str, css: &str) {
    let probe = format!("return document.querySelector('{css}') !== null");
    b.wait_until(what, &probe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_in_with_totp_uploads_and_downloads_a_file() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;

    // Pages need a session: the rooms list redirects to the sign-in form.
    b.goto(&site.url("/")).await;
    assert!(b.url().await.ends_with("/login"), "at {}", b.url().await);

    sign_in(&b, &site, EMAIL, &util::next_code(&site.totp_secret)).await;
    wait_for(&b, "the rooms list", "#rooms").await;
    assert_eq!(b.text(&b.find(".account .email").await).await, EMAIL);
    let room_link = b.find("a.room-link").await;
    assert_eq!(b.text(&room_link).await, ROOM);
    let badge = b.text(&b.find("#rooms .badge").await).await;
    assert_eq!(badge.to_lowercase(), "confidential");

    b.assert_accessible("the rooms list").await;

    b.click(&room_link).await;
    wait_for(&b, "the room page", "#upload-form").await;
    assert!(b.source().await.contains("This folder is empty"));
    b.assert_accessible("the room page").await;

    let data = util::content(3 * 1024 * 1024 + 123);
    let name = "blade-profile-v3.step";
    let local = scratch.dir.path().join(name);
    std::fs::write(&local, &data).unwrap();
    let input = b.find("#file-input").await;
    b.type_into(&input, &local.display().to_string()).await;
    b.click(&b.find("#upload-button").await).await;
    // The script PUTs the file, fills the bar, then reloads the listing and
    // says the upload finished.
    let listed = format!(
        "return Array.from(document.querySelectorAll('#files td.name')).some(td => td.textContent === '{name}')"
    );
    b.wait_until("the uploaded file in the listing", &listed)
        .await;
    let status = b.text(&b.find("#upload-status").await).await;
    assert_eq!(status, format!("Uploaded {name}."));
    let progress = b
        .script("const p = document.querySelector('#upload-progress'); return [p.hidden, p.value];")
        .await;
    assert_eq!(progress, serde_json::json!([false, 100]), "progress bar");
    let row = b.text(&b.find("#files tr.file").await).await;
    assert!(row.contains("3.1 MB") && row.contains("v1"), "row: {row}");

    let png = b.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::create_dir_all(util::target_dir()).unwrap();
    std::fs::write(util::target_dir().join("web-ui-room.png"), &png).unwrap();

    b.click(&b.find("a.download").await).await;
    let got = webdriver::wait_for_download(&scratch.downloads(), name).await;
    let bytes = std::fs::read(&got).unwrap();
    assert!(
        bytes == data,
        "the {} downloaded bytes differ from the {} uploaded",
        bytes.len(),
        data.len()
    );

    // The upload went through the use-case: the room holds one version.
    let admin = site.admin().await;
    let meta = RequestMeta::default();
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileList)
        .await
        .unwrap();
    let files = app::Files(&site.app).list_files(auth).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!((files[0].path.as_str(), files[0].version), (name, 1));

    // Signing out ends the session: the rooms list asks to sign in again.
    b.click(&b.find(".account button").await).await;
    wait_for(&b, "the sign-in page", "#sign-in").await;
    b.goto(&site.url("/")).await;
    assert!(b.url().await.ends_with("/login"), "at {}", b.url().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_totp_code_shows_a_clear_message() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;

    sign_in(&b, &site, EMAIL, &util::wrong_code(&site.totp_secret)).await;
    wait_for(&b, "the error", "#login-error").await;
    let message = b.text(&b.find("#login-error").await).await;
    assert!(
        message.starts_with("The one-time code is wrong"),
        "message: {message}"
    );
    assert_eq!(b.value(&b.find("#email").await).await, EMAIL, "e-mail kept");
    // No session was opened: the rooms list still asks to sign in.
    b.goto(&site.url("/")).await;
    assert!(b.url().await.ends_with("/login"), "at {}", b.url().await);

    // Without the code the form says one is needed.
    sign_in(&b, &site, EMAIL, "").await;
    wait_for(&b, "the error", "#login-error").await;
    let message = b.text(&b.find("#login-error").await).await;
    assert!(message.contains("needs the one-time code"), "{message}");

    // An unknown e-mail reads like a wrong password.
    sign_in(&b, &site, "nobody@else.example", "").await;
    wait_for(&b, "the error", "#login-error").await;
    let message = b.text(&b.find("#login-error").await).await;
    assert_eq!(message, "The e-mail or password is wrong.");
}

/// A new external party and one member of it (password [`PASSWORD`]), made by the admin.
pub(crate) async fn external_user(
    site: &Site,
    party: &str,
    email: &str,
    name: &str,
) -> (model::Party, model::User) {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let new_party = NewParty {
        name: party.into(),
        country: Some("DE".into()),
        active_reason: Some("a test fixture, onboarded before the test".into()),
    };
    let auth = site
        .app
        .system(&meta, &admin, app::act::PartyCreate)
        .await
        .unwrap();
    let party = app::Identity(&site.app)
        .create_party(auth, new_party)
        .await
        .unwrap();
    let new_user = NewUser {
        email: email.into(),
        display_name: name.into(),
        party_id: party.id,
        system_role: SystemRole::Member,
        password: Some(PASSWORD.into()),
    };
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserCreate)
        .await
        .unwrap();
    let user = app::Identity(&site.app)
        .create_user(auth, new_user)
        .await
        .unwrap();
    (party, user)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_user_enrols_totp_before_seeing_rooms() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let email = "engineer@bladeworks.example";
    let (_, user) = external_user(&site, "Blade Works Ltd", email, "Vendor Engineer").await;
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: user.id.0,
        role: RoomRole::Downloader,
        expires_ms: None,
        reason: "blade redesign work package".into(),
    };
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::GrantCreate)
        .await
        .unwrap();
    app::Rooms(&site.app)
        .create_grant(auth, grant)
        .await
        .unwrap();

    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    sign_in(&b, &site, email, "").await;
    wait_for(&b, "the enrolment page", "#totp-start").await;
    // Nothing else is open until the account has enrolled.
    b.goto(&site.url("/")).await;
    wait_for(&b, "the enrolment page", "#totp-start").await;
    assert!(b.url().await.ends_with("/totp"), "at {}", b.url().await);

    b.click(&b.find("#totp-start").await).await;
    wait_for(&b, "the secret", "#totp-secret").await;
    let secret = util::base32_decode(&b.text(&b.find("#totp-secret").await).await);
    assert!(b.source().await.contains("otpauth://totp/Custody:"));
    b.type_into(&b.find("#code").await, &util::current_code(&secret))
        .await;
    b.click(&b.find("#totp-confirm").await).await;
    // The recovery codes are shown once, then the rooms.
    wait_for(&b, "the recovery codes", "#recovery-codes").await;
    assert_eq!(
        b.script("return document.querySelectorAll('#recovery-codes li').length")
            .await,
        10
    );
    b.click(&b.find("#recovery-saved").await).await;
    wait_for(&b, "the rooms list", "#rooms").await;
    let role = b.text(&b.find("#rooms tbody tr").await).await;
    assert!(role.contains(ROOM) && role.contains("downloader"), "{role}");
}

/// A one-page PDF with a few lines of text, assembled by hand.
pub(crate) fn drawing_pdf() -> Vec<u8> {
    let text = "BT /F1 28 Tf 72 700 Td (Bracket B-7, rev C) Tj 0 -40 Td (Tolerance 0.02 mm) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
         /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = vec![];
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 6\n0000000000 65535 f \n");
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_of_the_viewer_traces_back_to_its_viewer() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let meta = RequestMeta::default();
    let admin = site.admin().await;
    // A member of the owner's staff who may only view the room.
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserCreate)
        .await
        .unwrap();
    let viewer = app::Identity(&site.app)
        .create_user(
            auth,
            NewUser {
                email: "reviewer@owner.example".into(),
                display_name: "Rita Reviewer".into(),
                party_id: admin.party_id,
                system_role: SystemRole::Member,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap();
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: viewer.id.0,
        role: RoomRole::Viewer,
        expires_ms: None,
        reason: "design review".into(),
    };
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::GrantCreate)
        .await
        .unwrap();
    app::Rooms(&site.app)
        .create_grant(auth, grant)
        .await
        .unwrap();
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileUpload)
        .await
        .unwrap();
    let file = app::Files(&site.app)
        .upload(
            auth,
            &model::FilePath::parse("drawings/bracket.pdf").unwrap(),
            None,
            futures_util::stream::iter([Ok::<_, std::io::Error>(
                bytes::Bytes::from(drawing_pdf()),
            )]),
        )
        .await
        .unwrap();

    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    b.set_window(1400, 2100).await;
    sign_in(&b, &site, "reviewer@owner.example", "").await;
    wait_for(&b, "the rooms list", "#rooms").await;
    b.goto(&site.url(&format!("/files/{}/view", file.id))).await;
    b.wait_until(
        "the first page to load",
        "const i = document.querySelector('img.page'); return i !== null && i.complete && i.naturalWidth > 0",
    )
    .await;
    let shot = b.screenshot().await;

    // The screenshot (not the served image) carries the page's mark.
    let key = site.app.mark_key().unwrap();
    let found = mark::trace(&shot, Some(key), &mark::Limits::default())
        .unwrap()
        .expect("the screenshot carries a readable mark");
    let filter = app::events::EventFilter {
        mark_id: Some(found.mark_id.to_string()),
        limit: 10,
        ..Default::default()
    };
    let auth = site
        .app
        .system(&meta, &admin, app::act::EventRead)
        .await
        .unwrap();
    let events = app::Audit(&site.app)
        .search_events(auth, filter)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].action, "file.view");
    assert_eq!(events[0].actor_user, Some(viewer.id));
    assert_eq!(events[0].target, format!("file:{}", file.id));

    // The same screenshot through the web UI's trace page, by the admin in a
    // browser of their own: it names the viewer, with the ledger evidence.
    let officer = Scratch::new();
    let ob = officer.browser(&driver).await;
    sign_in(&ob, &site, util::EMAIL, &util::next_code(&site.totp_secret)).await;
    wait_for(&ob, "the admin's rooms list", "#rooms").await;
    ob.goto(&site.url("/trace")).await;
    wait_for(&ob, "the trace form", "#trace-file").await;
    ob.assert_accessible("the trace page").await;
    let leaked = officer.dir.path().join("leaked-screenshot.png");
    std::fs::write(&leaked, &shot).unwrap();
    ob.type_into(&ob.find("#trace-file").await, &leaked.display().to_string())
        .await;
    ob.click(&ob.find("#trace-button").await).await;
    wait_for(&ob, "the trace report", "#trace-result").await;
    ob.assert_accessible("the trace report").await;
    let mark_id = ob.text(&ob.find("#trace-mark-id").await).await;
    assert_eq!(mark_id, found.mark_id.to_string());
    let issues = ob.text(&ob.find("#trace-issues tbody").await).await;
    for want in [
        "Rita Reviewer <reviewer@owner.example>",
        "file.view",
        &file.id.to_string(),
    ] {
        assert!(
            issues.contains(want),
            "`{want}` missing from the report: {issues}"
        );
    }
    let entries = ob.text(&ob.find("#trace-entries").await).await;
    assert!(entries.contains("inclusion proof of"), "{entries}");
    let href = ob
        .script("return document.querySelector('#trace-evidence').getAttribute('href')")
        .await;
    assert!(
        href.as_str()
            .unwrap_or_default()
            .starts_with("data:application/json;base64,"),
        "{href}"
    );
}

const NDA_TEXT: &str = "Mutual non-disclosure agreement.\nEach party keeps the other's drawings secret for five years.";

/// A room that requires an NDA shows the NDA to sign instead of an error;
/// signing it in the browser records the hash of the exact text shown and
/// opens the room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_user_signs_the_nda_the_room_page_shows_instead_of_an_error() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let email = "designer@rotor.example";
    let (party, user) = external_user(&site, "Rotor Design GmbH", email, "Rotor Designer").await;
    let auth = site
        .app
        .system(&meta, &admin, app::act::RoomCreate)
        .await
        .unwrap();
    let room = app::Rooms(&site.app)
        .create_room(auth, "Turbine RFQ", model::Classification::Internal)
        .await
        .unwrap()
        .room
        .id;
    let patch = app::RoomPatch {
        required_agreements: Some(vec!["nda".into()]),
        ..app::RoomPatch::default()
    };
    let auth = site
        .app
        .room(&meta, &admin, room, app::act::RoomUpdate)
        .await
        .unwrap();
    app::Rooms(&site.app)
        .update_room(auth, patch)
        .await
        .unwrap();
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: user.id.0,
        role: RoomRole::Downloader,
        expires_ms: None,
        reason: "turbine quote".into(),
    };
    let auth = site
        .app
        .room(&meta, &admin, room, app::act::GrantCreate)
        .await
        .unwrap();
    app::Rooms(&site.app)
        .create_grant(auth, grant)
        .await
        .unwrap();
    let nda = app::NewAgreement {
        party_id: party.id,
        kind: model::AgreementKind::Nda,
        template: "mutual-nda-2026".into(),
        title: "Mutual NDA 2026".into(),
        text: NDA_TEXT.into(),
        terms: model::AgreementTerms::default(),
        effective_ms: None,
        end_ms: None,
        draft: false,
    };
    let auth = site
        .app
        .system(&meta, &admin, app::act::AgreementCreate)
        .await
        .unwrap();
    let nda = app::Agreements(&site.app)
        .create_agreement(auth, nda)
        .await
        .unwrap();

    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    sign_in(&b, &site, email, "").await;
    wait_for(&b, "the enrolment page", "#totp-start").await;
    b.click(&b.find("#totp-start").await).await;
    wait_for(&b, "the secret", "#totp-secret").await;
    let secret = util::base32_decode(&b.text(&b.find("#totp-secret").await).await);
    b.type_into(&b.find("#code").await, &util::current_code(&secret))
        .await;
    b.click(&b.find("#totp-confirm").await).await;
    wait_for(&b, "the recovery codes", "#recovery-codes").await;
    b.click(&b.find("#recovery-saved").await).await;
    wait_for(&b, "the rooms list", "#rooms").await;

    // The room's page: the agreement to sign, not an error.
    b.goto(&site.url(&format!("/rooms/{room}"))).await;
    wait_for(&b, "the agreement to sign", "#sign-required").await;
    let denial = b.text(&b.find("#denial").await).await;
    assert_eq!(
        denial,
        "your party has not signed the agreement `Mutual NDA 2026`"
    );
    assert_eq!(
        b.text(&b.find(".agreement-title").await).await,
        "Mutual NDA 2026"
    );
    let shown = b.text(&b.find(".agreement-text").await).await;
    assert_eq!(shown, NDA_TEXT);
    b.assert_accessible("the agreement to sign").await;
    // regression: the tick box rendered above its words; it sits on their line, before them.
    let beside = b
        .script(
            "const box = document.querySelector('.agree');\
             const words = [...box.closest('label').childNodes]\
                 .find(n => n.nodeType === 3 && n.textContent.trim() !== '');\
             const range = document.createRange(); range.selectNodeContents(words);\
             const line = range.getClientRects()[0], b = box.getBoundingClientRect();\
             return line.top < b.bottom && b.top < line.bottom && b.right <= line.left;",
        )
        .await;
    assert_eq!(beside, true, "the tick box is not beside its label");
    // The box must be ticked: the browser keeps the form until it is.
    b.click(&b.find(".sign-button").await).await;
    assert!(
        b.url().await.ends_with(&format!("/rooms/{room}")),
        "still on the room page"
    );
    assert!(b.source().await.contains("sign-required"), "not signed yet");
    b.click(&b.find(".agree").await).await;
    b.click(&b.find(".sign-button").await).await;
    wait_for(&b, "the room's files", "#no-files").await;

    // The signature names the signer and the hash of the text shown.
    let auth = site
        .app
        .agreement(&meta, &admin, nda.id, app::act::AgreementView)
        .await
        .unwrap();
    let signed = app::Agreements(&site.app)
        .get_agreement(auth)
        .await
        .unwrap();
    let signature = signed.signature.expect("signed");
    assert_eq!(signature.user_id, user.id);
    assert_eq!(signature.text_sha256, nda.text_sha256);
    assert_eq!(signature.source_addr.as_deref(), Some("127.0.0.1"));
}

/// A marked PDF download, one page printed to an image (rendered by poppler
/// at 150 dpi, saved as JPEG 75), traced on the web UI's trace page: the
/// report names who downloaded it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_a_marked_pdf_printed_to_an_image_traces_in_the_browser() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let policy = serde_json::json!({"downloader": "marked", "contributor": "marked",
        "manager": "marked", "unmarkable": "deny"});
    let path = format!("/rooms/{}/delivery", site.room);
    let (status, body) = crate::pages::api(&site, reqwest::Method::PUT, &path, policy).await;
    assert_eq!(status, 200, "{body}");
    let file = crate::pages::upload(&site, site.room, "drawings/bracket.pdf", &drawing_pdf()).await;
    let copy = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
        .get(site.url(&format!("/api/v1/files/{}/content", file.id)))
        .bearer_auth(&site.admin_token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(copy.starts_with(b"%PDF"), "a PDF copy");

    // Printed to an image: poppler at 150 dpi, saved as JPEG 75.
    let scratch = Scratch::new();
    let pdf = scratch.dir.path().join("copy.pdf");
    std::fs::write(&pdf, &copy).unwrap();
    let prefix = scratch.dir.path().join("printed-page");
    let out = std::process::Command::new("pdftoppm")
        .args([
            "-r",
            "150",
            "-jpeg",
            "-jpegopt",
            "quality=75",
            "-singlefile",
        ])
        .arg(&pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (poppler-utils, which scripts/test installs)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leaked = prefix.with_extension("jpg");
    assert!(leaked.is_file());

    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    b.set_window(1400, 2100).await;
    sign_in(&b, &site, util::EMAIL, &util::next_code(&site.totp_secret)).await;
    wait_for(&b, "the rooms list", "#rooms").await;
    b.goto(&site.url("/trace")).await;
    wait_for(&b, "the trace form", "#trace-file").await;
    b.type_into(&b.find("#trace-file").await, &leaked.display().to_string())
        .await;
    b.click(&b.find("#trace-button").await).await;
    wait_for(&b, "the trace report", "#trace-result").await;
    let issues = b.text(&b.find("#trace-issues tbody").await).await;
    for want in [util::EMAIL, "file.download", &file.id.to_string()] {
        assert!(
            issues.contains(want),
            "`{want}` missing from the report: {issues}"
        );
    }
    b.assert_accessible("the trace report of a printed page")
        .await;
}
