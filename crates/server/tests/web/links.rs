//! A share link bound to a recipient, in a real headless Chromium over HTTPS
//! with a real SMTP server (aiosmtpd) on the loopback: the owner admin makes
//! the link to a drawing in a room that hands out marked copies; the recipient
//! opens it without an account, asks for a code, reads it from the message the
//! SMTP server received, types it, signs the NDA the room requires
//! (click-through, before the first byte), views the drawing in the link's
//! viewer and downloads a copy marked for them; the view's and the
//! download's ledger events name the link and the recipient with their mark
//! ids, and `custody trace --online` on a screenshot of the viewer and on the
//! copy names them too. Every page passes axe.

use std::time::Duration;

use app::{NewGrant, RequestMeta};
use model::{Delivery, DeliveryPolicy, MailAddress, RoomRole, SubjectKind, Unmarkable};

use crate::audit::custody_binary;
use crate::browser::{Scratch, drawing_pdf, wait_for};
use crate::smtp_server::{self, Options, SmtpServer};
use crate::util;
use crate::webdriver::{self, Driver};

const RECIPIENT: &str = "ana+drawings@vendor.example";
const NDA: &str =
    "The recipient keeps the drawings confidential.\n\nThey are returned or destroyed on request.";

/// The code in the one message received so far, once it has arrived.
async fn mailed_code(server: &SmtpServer) -> String {
    for _ in 0..200 {
        if let Some(m) = server.messages().first() {
            let code = m
                .split("Your code: ")
                .nth(1)
                .map(|rest| rest.chars().take(6).collect::<String>())
                .unwrap_or_default();
            assert!(
                code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
                "{m}"
            );
            assert_eq!(smtp_server::headers(m, "X-Envelope-To"), [RECIPIENT]);
            return code;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no message reached the SMTP server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_bound_link_mails_a_code_and_hands_out_a_marked_copy() {
    webdriver::require_browser();
    if !smtp_server::available("a_recipient_bound_link_mails_a_code_and_hands_out_a_marked_copy") {
        return;
    }
    let scratch = Scratch::new();
    let server = SmtpServer::start(
        smtp_server::free_port(),
        &scratch.dir().join("mail"),
        &Options::default(),
    );
    let settings = app::Settings {
        mail_enabled: true,
        ..app::Settings::default()
    };
    let site = util::start_site_with(settings).await;
    let smtp = app::notify::SmtpSettings {
        host: "127.0.0.1".into(),
        port: server.port,
        security: app::notify::Security::None,
        credentials: None,
        from: MailAddress::parse("Custody <custody@owner.example>").unwrap(),
        ca_pem: None,
        timeout: Duration::from_secs(10),
    };
    let policy = app::notify::RetryPolicy {
        first_delay: Duration::from_secs(1),
        ..app::notify::RetryPolicy::default()
    };
    let _mailer = app::notify::spawn_mailer(
        site.app.clone(),
        app::notify::Mailer::new(&smtp).unwrap(),
        policy,
        Duration::from_millis(200),
    );

    // The owner admin: a grant in the room, marked copies, a drawing, the link.
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: admin.user_id.0,
        role: RoomRole::Manager,
        expires_ms: None,
        reason: "shares the drawings".into(),
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
    let marked = DeliveryPolicy {
        downloader: Delivery::Marked,
        contributor: Delivery::Marked,
        manager: Delivery::Marked,
        unmarkable: Unmarkable::Deny,
    };
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::RoomUpdate)
        .await
        .unwrap();
    app::Rooms(&site.app)
        .set_room_delivery(auth, marked)
        .await
        .unwrap();
    // The room requires an NDA: the newest template of that kind is shown.
    let auth = site
        .app
        .system(&meta, &admin, app::act::TemplateUpdate)
        .await
        .unwrap();
    let nda = app::NewTemplate {
        name: "visitor-nda".into(),
        kind: model::AgreementKind::Nda,
        title: "Visitor NDA".into(),
        text: NDA.into(),
        terms: model::AgreementTerms::default(),
        duration_days: None,
    };
    app::Agreements(&site.app)
        .put_template(auth, nda)
        .await
        .unwrap();
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::RoomUpdate)
        .await
        .unwrap();
    let patch = app::RoomPatch {
        required_agreements: Some(vec!["nda".into()]),
        ..app::RoomPatch::default()
    };
    app::Rooms(&site.app)
        .update_room(auth, patch)
        .await
        .unwrap();
    let body =
        futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(drawing_pdf()))]);
    let path = model::FilePath::parse("bracket.pdf").unwrap();
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileUpload)
        .await
        .unwrap();
    let uploaded = app::Files(&site.app)
        .upload_with(auth, &path, None, body, None)
        .await
        .unwrap();
    let app::Uploaded::Stored(file) = uploaded else {
        panic!("the drawing was held: {uploaded:?}");
    };
    let auth = site
        .app
        .file(&meta, &admin, file.id, app::act::LinkCreate)
        .await
        .unwrap();
    let new = app::NewLink {
        expires_ms: None,
        password: None,
        max_downloads: Some(3),
        mode: model::LinkMode::Download,
        recipients: vec![MailAddress::parse(&format!("Ana Lima <{RECIPIENT}>")).unwrap()],
    };
    let made = app::Links(&site.app).create_link(auth, new).await.unwrap();
    let link_url = site.url(&format!("/l/{}", made.token));

    // The recipient, in a browser without an account.
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    b.goto(&link_url).await;
    wait_for(&b, "the address form", "#link-email").await;
    b.assert_accessible("the link's address page").await;
    // Without a verified address the file is refused.
    b.goto(&format!("{link_url}/download")).await;
    assert!(
        b.source().await.contains("Wrong code"),
        "{}",
        b.source().await
    );
    b.goto(&link_url).await;
    wait_for(&b, "the address form", "#link-email").await;
    b.type_into(&b.find("#link-email").await, RECIPIENT).await;
    b.click(&b.find("#address button").await).await;
    wait_for(&b, "the code form", "#link-code").await;
    b.assert_accessible("the link's code page").await;
    let code = mailed_code(&server).await;
    b.type_into(&b.find("#link-code").await, &code).await;
    b.click(&b.find("#code button").await).await;

    // The NDA comes before the first byte: the viewer and the file wait.
    wait_for(&b, "the agreement", "#link-accept").await;
    b.assert_accessible("the link's agreement page").await;
    assert!(
        b.source()
            .await
            .contains("They are returned or destroyed on request.")
    );
    for refused in ["download", "view"] {
        b.goto(&format!("{link_url}/{refused}")).await;
        assert!(
            b.source().await.contains("Agreement needed"),
            "{refused}: {}",
            b.source().await
        );
    }
    b.goto(&link_url).await;
    wait_for(&b, "the agreement", "#link-accept").await;
    b.click(&b.find("#link-accept").await).await;
    b.click(&b.find("#link-sign").await).await;
    wait_for(&b, "the download link", "#link-download").await;
    b.assert_accessible("the link's download page").await;
    assert!(b.source().await.contains(RECIPIENT));
    let signed = events_of(&site, "link.sign").await;
    assert_eq!(signed.len(), 1, "{signed:?}");
    assert_eq!(signed[0].detail["recipient"], RECIPIENT);
    assert_eq!(signed[0].detail["template"], "visitor-nda");
    assert_eq!(
        signed[0].detail["text_sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(NDA.as_bytes()))
    );

    // The viewer: a screenshot of the page traces to the link and the recipient.
    b.set_window(1400, 2100).await;
    b.click(&b.find("#link-view").await).await;
    b.wait_until(
        "the first page to load",
        "const i = document.querySelector('img.page'); return i !== null && i.complete && i.naturalWidth > 0",
    )
    .await;
    b.assert_accessible("the link's viewer").await;
    let shot = scratch.dir().join("viewer-screenshot.png");
    std::fs::write(&shot, b.screenshot().await).unwrap();
    let found = mark::trace(
        &std::fs::read(&shot).unwrap(),
        Some(site.app.mark_key().unwrap()),
        &mark::Limits::default(),
    )
    .unwrap()
    .expect("the screenshot carries a readable mark");
    let viewed = events_of(&site, "file.view").await;
    let view = viewed
        .iter()
        .find(|e| e.mark_id.as_deref() == Some(found.mark_id.to_string().as_str()))
        .expect("a view event with the screenshot's mark id");
    assert_eq!(view.detail["link"], made.link.id.to_string());
    assert_eq!(view.detail["recipient"], RECIPIENT);
    trace_online(&site, &shot, &made.link.id.to_string());

    b.goto(&link_url).await;
    wait_for(&b, "the download link", "#link-download").await;
    b.click(&b.find("#link-download").await).await;
    let copy = webdriver::wait_for_download(&scratch.downloads(), "bracket.pdf").await;
    let bytes = std::fs::read(&copy).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    assert_ne!(bytes, drawing_pdf(), "the copy is not marked");

    // The ledger event names the link and the recipient with the copy's mark.
    let traced = mark::trace(&bytes, None, &mark::Limits::default())
        .unwrap()
        .expect("the copy carries a mark");
    let events = events_of(&site, "file.download").await;
    let event = events
        .iter()
        .find(|e| e.mark_id.as_deref() == Some(traced.mark_id.to_string().as_str()))
        .expect("a download event with the copy's mark id");
    assert_eq!(event.detail["link"], made.link.id.to_string());
    assert_eq!(event.detail["recipient"], RECIPIENT);

    // `custody trace --online` names them too.
    trace_online(&site, &copy, &made.link.id.to_string());
}

/// The newest events of `action`.
async fn events_of(site: &util::Site, action: &str) -> Vec<model::Event> {
    let filter = app::events::EventFilter {
        action: Some(action.into()),
        limit: 10,
        ..Default::default()
    };
    let mut tx = site.app.store().read().await.unwrap();
    tx.search_events(&filter).await.unwrap()
}

/// `custody trace --online` on `copy` names the recipient and the link.
fn trace_online(site: &util::Site, copy: &std::path::Path, link: &str) {
    let out = std::process::Command::new(custody_binary())
        .args(["trace", "--online"])
        .arg(copy)
        .env("CUSTODY_URL", &site.base)
        .env("CUSTODY_TOKEN", &site.admin_token)
        .env("CUSTODY_FINGERPRINT", site.fingerprint())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!(
            "recipient:  {RECIPIENT} through share link {link}"
        )),
        "{said}"
    );
}
