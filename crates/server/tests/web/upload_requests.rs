//! An upload request in a real headless Chromium over HTTPS with a real SMTP
//! server (aiosmtpd) on the loopback: the owner admin asks a supplier for
//! files on the room's "Request files" page; the supplier opens the link
//! without an account, asks for a code, reads it from the message the SMTP
//! server received, types it and sends three files in one submission (one of
//! them named like a file the room holds); the owner sees them in the room,
//! none overwritten, and exactly one digest arrives. Every page passes axe.

use std::time::Duration;

use app::{NewGrant, RequestMeta};
use model::{MailAddress, RoomRole, SubjectKind};

use crate::admin::{sign_in, wait_for};
use crate::browser::Scratch;
use crate::smtp_server::{self, Options, SmtpServer};
use crate::util::{self, EMAIL};
use crate::webdriver::{self, Driver};

const SUPPLIER: &str = "quotes+bolts@supplier.example";

/// The messages received, once `n` have arrived.
async fn messages(server: &SmtpServer, n: usize) -> Vec<String> {
    for _ in 0..300 {
        let got = server.messages();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} of {n} messages arrived", server.messages().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_sends_three_files_and_the_owner_gets_one_digest() {
    webdriver::require_browser();
    if !smtp_server::available("a_supplier_sends_three_files_and_the_owner_gets_one_digest") {
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

    // The owner admin manages the room, which already holds quotes/bolts.txt.
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: admin.user_id.0,
        role: RoomRole::Manager,
        expires_ms: None,
        reason: "collects the quotes".into(),
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
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
        b"our own bolt list\n",
    ))]);
    let path = model::FilePath::parse("quotes/bolts.txt").unwrap();
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileUpload)
        .await
        .unwrap();
    app::Files(&site.app)
        .upload(auth, &path, None, body)
        .await
        .unwrap();

    // The owner asks for files on the room's page.
    let driver = Driver::start().await;
    let owner_scratch = Scratch::new();
    let owner = owner_scratch.browser(&driver).await;
    owner.set_window(1400, 2400).await;
    sign_in(&owner, &site, EMAIL, Some(&site.admin_code())).await;
    owner
        .goto(&site.url(&format!("/rooms/{}", site.room)))
        .await;
    wait_for(&owner, "the room's Request files link", "#room-requests").await;
    owner.click(&owner.find("#room-requests").await).await;
    wait_for(&owner, "the request form", "#request-recipients").await;
    owner.assert_accessible("the room's upload requests").await;
    owner
        .type_into(&owner.find("#request-folder").await, "quotes")
        .await;
    owner
        .type_into(
            &owner.find("#request-recipients").await,
            &format!("Bolt Supplier <{SUPPLIER}>"),
        )
        .await;
    owner
        .type_into(&owner.find("#request-files").await, "5")
        .await;
    owner
        .type_into(
            &owner.find("#request-message").await,
            "Please send this week's quotes.",
        )
        .await;
    owner.click(&owner.find("#request button").await).await;
    wait_for(&owner, "the request's link", "#request-url").await;
    owner.assert_accessible("the request made").await;
    let url = owner.value(&owner.find("#request-url").await).await;
    assert!(url.contains("/u/"), "{url}");

    // The supplier, in a browser without an account.
    let supplier = scratch.browser(&driver).await;
    supplier.goto(&url).await;
    wait_for(&supplier, "the address form", "#drop-email").await;
    assert!(supplier.source().await.contains("this week's quotes"));
    supplier
        .assert_accessible("the request's address page")
        .await;
    supplier
        .type_into(&supplier.find("#drop-email").await, SUPPLIER)
        .await;
    supplier
        .click(&supplier.find("#address button").await)
        .await;
    wait_for(&supplier, "the code form", "#drop-code").await;
    supplier.assert_accessible("the request's code page").await;
    let first = messages(&server, 1).await;
    assert_eq!(smtp_server::headers(&first[0], "X-Envelope-To"), [SUPPLIER]);
    let code: String = first[0]
        .split("Your code: ")
        .nth(1)
        .map(|rest| rest.chars().take(6).collect())
        .unwrap();
    supplier
        .type_into(&supplier.find("#drop-code").await, &code)
        .await;
    supplier.click(&supplier.find("#code button").await).await;
    wait_for(&supplier, "the files form", "#drop-files").await;
    supplier.assert_accessible("the request's files page").await;
    let mut locals = Vec::new();
    for (name, text) in [
        ("bolts.txt", "M8 bolts: 0.12 EUR\n"),
        ("nuts.txt", "M8 nuts: 0.05 EUR\n"),
        ("washers.txt", "M8 washers: 0.02 EUR\n"),
    ] {
        let local = scratch.dir().join(name);
        std::fs::write(&local, text).unwrap();
        locals.push(local.display().to_string());
    }
    supplier
        .type_into(&supplier.find("#drop-files").await, &locals.join("\n"))
        .await;
    supplier.click(&supplier.find("#files button").await).await;
    wait_for(&supplier, "the results", "#drop-results").await;
    supplier.assert_accessible("the files sent").await;
    let sent = supplier.source().await;
    assert!(sent.contains("bolts (2).txt"), "{sent}");
    assert_eq!(
        sent.matches(": <span class=\"outcome\">received</span>")
            .count(),
        3,
        "{sent}"
    );

    // The owner sees the three files in the folder, the room's own untouched.
    owner
        .goto(&site.url(&format!("/rooms/{}?prefix=quotes/", site.room)))
        .await;
    wait_for(&owner, "the listing", "#files").await;
    let listing = owner.source().await;
    for name in ["bolts.txt", "bolts (2).txt", "nuts.txt", "washers.txt"] {
        assert!(listing.contains(name), "{name}: {listing}");
    }
    owner.assert_accessible("the room with the files").await;
    owner
        .goto(&site.url(&format!("/rooms/{}/upload-requests", site.room)))
        .await;
    wait_for(&owner, "the requests", "#requests").await;
    assert!(owner.source().await.contains("3 of 5 files taken"));
    owner.assert_accessible("the room's requests").await;

    // Exactly one digest, to the owner, naming the three files.
    let all = messages(&server, 2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = if server.messages().len() > all.len() {
        server.messages()
    } else {
        all
    };
    assert_eq!(all.len(), 2, "{all:?}");
    let digest = &all[1];
    assert_eq!(smtp_server::headers(digest, "X-Envelope-To"), [EMAIL]);
    for line in [
        "bolts (2).txt: stored",
        "nuts.txt: stored",
        "washers.txt: stored",
    ] {
        assert!(digest.contains(line), "{line}: {digest}");
    }

    // Revoked, the request's page says so.
    owner.click(&owner.find("#requests button").await).await;
    wait_for(&owner, "the requests", "#requests").await;
    supplier.goto(&url).await;
    wait_for(&supplier, "the state", "#drop-state").await;
    assert!(supplier.source().await.contains("revoked"));
    supplier.assert_accessible("a revoked request").await;
}
