//! Crown jewels in a real headless Chromium over HTTPS: the admin registers a
//! source file of a room on the Crown jewels page (by its path); then a
//! 50-line excerpt of it with its identifiers renamed, uploaded through the
//! API into that room — shared with an external party — is held, the answer
//! naming the registered document and the share, and the quarantine page
//! names it too; the page's export is the registry `custody scan` reads.

use app::{NewGrant, RequestMeta, Uploaded};
use model::{RoomRole, SubjectKind};

use crate::browser::{Scratch, sign_in, wait_for};
use crate::util::{self, EMAIL};
use crate::webdriver::{self, Driver};

const SOURCE: &str = include_str!("../../../dlp/tests/corpus/crown-jewel/blade_scheduler.rs.txt");
const EXCERPT: &str =
    include_str!("../../../dlp/tests/corpus/crown-jewel/blade_scheduler_excerpt.rs.txt");
const NAME: &str = "src/blade_scheduler.rs";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_registered_on_the_page_holds_its_renamed_excerpt_uploaded_through_the_api() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);

    // The source is in the room; then the room is shared with a supplier.
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileUpload)
        .await
        .unwrap();
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
        SOURCE.as_bytes(),
    ))]);
    let path = model::FilePath::parse(NAME).unwrap();
    let stored = app::Files(&site.app)
        .upload_with(auth, &path, None, body, None)
        .await
        .unwrap();
    assert!(matches!(stored, Uploaded::Stored(_)), "{stored:?}");
    let (party, _) = crate::browser::external_user(
        &site,
        "Blade Supplier Ltd",
        "engineer@blade-supplier.example",
        "Supplier Engineer",
    )
    .await;
    let grant = NewGrant {
        subject_kind: SubjectKind::Party,
        subject_id: party.id.0,
        role: RoomRole::Downloader,
        expires_ms: None,
        reason: "coating work package".into(),
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

    // The admin registers it on the Crown jewels page.
    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    sign_in(&b, &site, EMAIL, &util::next_code(&site.totp_secret)).await;
    wait_for(&b, "the rooms list", "#rooms").await;
    b.click(&b.find("nav a[href='/jewels']").await).await;
    b.wait_until(
        "the crown jewels page",
        "return document.querySelector('#jewel-room-form') !== null",
    )
    .await;
    b.assert_accessible("the empty crown jewels page").await;
    b.script(&format!(
        "document.querySelector('#jewel-room').value = '{}';",
        site.room
    ))
    .await;
    b.type_into(&b.find("#jewel-path").await, NAME).await;
    b.click(&b.find("#jewel-register").await).await;
    b.wait_until(
        "the registration's report",
        "return document.querySelector('#jewel-report') !== null",
    )
    .await;
    b.assert_accessible("the crown jewels page with a report")
        .await;
    let report = b.text(&b.find("#jewel-registered").await).await;
    assert!(report.contains(NAME), "{report}");
    let listed = b.text(&b.find("#jewels").await).await;
    assert!(
        listed.contains(NAME) && listed.contains(&format!("{} bytes", SOURCE.len())),
        "{listed}"
    );
    assert!(b.source().await.contains("/jewels/export.json"));

    // The renamed excerpt, uploaded through the API into the shared room.
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let r = http
        .put(site.url(&format!(
            "/api/v1/rooms/{}/files/vendor/planner.rs",
            site.room
        )))
        .bearer_auth(&site.admin_token)
        .body(EXCERPT)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "not held");
    let held: serde_json::Value = r.json().await.unwrap();
    let jewel = &held["reason"]["crown_jewels"][0];
    assert_eq!(jewel["name"], NAME, "{held}");
    let share = jewel["share"].as_f64().unwrap_or(0.0);
    assert!(share >= 0.5, "share {share}");
    assert_eq!(held["reason"]["action"], "quarantine", "{held}");

    // The quarantine page names the document.
    b.goto(&site.url("/quarantine")).await;
    let row = format!("#held-{}", held["version_id"].as_str().unwrap_or_default());
    let text = b.text(&b.find(&row).await).await;
    assert!(
        text.contains("vendor/planner.rs")
            && text.contains("fingerprint.crown_jewel")
            && text.contains(NAME),
        "row: {text}"
    );

    // The export: what `custody scan --registry` reads.
    let export = http
        .get(site.url("/api/v1/jewels/export"))
        .bearer_auth(&site.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let export: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(export["format"], "custody-crown-jewels", "{export}");
    assert_eq!(export["documents"][0]["name"], NAME, "{export}");
}
