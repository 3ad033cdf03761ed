//! The quarantine page in a real headless Chromium over HTTPS: an upload held
//! by the room's data-loss policy is listed with its findings' summary, and
//! the security reviewer's click on "Release" makes it the file's newest
//! version and empties the page.

use app::dlp_policy::{CustomKind, CustomRule, DirectionPolicy, DlpAction, DlpPolicy, Severity};
use app::{RequestMeta, Uploaded};

use crate::util::{self, EMAIL, PASSWORD};
use crate::webdriver::{self, Driver};

fn direction(high: DlpAction) -> DirectionPolicy {
    DirectionPolicy {
        low: DlpAction::Allow,
        medium: DlpAction::Allow,
        high,
        critical: DlpAction::Block,
        uninspectable: DlpAction::Allow,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_upload_is_released_from_the_quarantine_page() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let rule = CustomRule {
        id: "acme.zebra".into(),
        message: "a project code name".into(),
        severity: Severity::High,
        kind: CustomKind::Keywords(vec!["zebracorn".into()]),
    };
    let rooms = app::Rooms(&site.app);
    let auth = site
        .app
        .system(&meta, &admin, app::act::PolicyApply)
        .await
        .unwrap();
    rooms.add_dlp_rule(auth, rule).await.unwrap();
    let policy = DlpPolicy {
        inbound: direction(DlpAction::Quarantine),
        outbound: direction(DlpAction::Allow),
        infected: DlpAction::Quarantine,
    };
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::DlpPolicy)
        .await
        .unwrap();
    rooms.set_room_dlp(auth, policy).await.unwrap();
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
        b"the zebracorn schedule\n",
    ))]);
    let files = app::Files(&site.app);
    let path = model::FilePath::parse("plans/held.txt").unwrap();
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileUpload)
        .await
        .unwrap();
    let uploaded = files
        .upload_with(auth, &path, None, body, None)
        .await
        .unwrap();
    let Uploaded::Held(held) = uploaded else {
        panic!("the upload was not held: {uploaded:?}");
    };
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileList)
        .await
        .unwrap();
    assert!(files.list_files(auth).await.unwrap().is_empty());

    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let b = driver
        .session(&scratch.path().join("profile"), scratch.path())
        .await;
    b.goto(&site.url("/login")).await;
    b.type_into(&b.find("#email").await, EMAIL).await;
    b.type_into(&b.find("#password").await, PASSWORD).await;
    b.type_into(&b.find("#totp").await, &util::next_code(&site.totp_secret))
        .await;
    b.click(&b.find("#sign-in").await).await;
    b.wait_until(
        "the rooms list",
        "return document.querySelector('#rooms') !== null",
    )
    .await;

    b.goto(&site.url("/quarantine")).await;
    b.assert_accessible("the quarantine page").await;
    let row = format!("#held-{}", held.version_id);
    let text = b.text(&b.find(&row).await).await;
    assert!(
        text.contains("plans/held.txt") && text.contains("acme.zebra") && text.contains("high"),
        "row: {text}"
    );
    // The room by its name and who uploaded it.
    assert!(
        text.contains(util::ROOM) && text.contains(EMAIL),
        "row: {text}"
    );
    assert!(
        !text.contains("zebracorn"),
        "the row shows the matched value: {text}"
    );
    b.type_into(
        &b.find(&format!("{row} input[name=note]")).await,
        "cleared by legal",
    )
    .await;
    b.click(&b.find(&format!("{row} button.release")).await)
        .await;
    b.wait_until(
        "the emptied quarantine",
        "return document.querySelector('#quarantine-empty') !== null",
    )
    .await;

    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileList)
        .await
        .unwrap();
    let files = app::Files(&site.app).list_files(auth).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0].path.as_str(), files[0].version_id),
        ("plans/held.txt", held.version_id)
    );
    let auth = site
        .app
        .system(&meta, &admin, app::act::DlpReview)
        .await
        .unwrap();
    let decided = app::Rooms(&site.app)
        .list_quarantine(auth, true)
        .await
        .unwrap();
    assert_eq!(decided[0].note.as_deref(), Some("cleared by legal"));
}
