//! The pages every role shares, in a real headless Chromium: a file's history
//! with restore and deletion, search over what the user may see, a download
//! justified in the browser, the controls oversight roles are (not) offered,
//! and error pages that keep the header.

use app::{NewGrant, NewUser, RequestMeta};
use model::{RoomRole, SubjectKind, SystemRole};
use serde_json::{Value, json};

use crate::account::enrol_in_browser;
use crate::browser::{Scratch, external_user, sign_in, wait_for};
use crate::util::{self, EMAIL, PASSWORD, Site};
use crate::webdriver::{self, Browser, Driver};

/// One API call as the admin (for setting up what the page then shows).
pub(crate) async fn api(
    site: &Site,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let r = http
        .request(method, site.url(&format!("/api/v1{path}")))
        .bearer_auth(&site.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Stores `bytes` at `path` in `room` as the admin.
pub(crate) async fn upload(
    site: &Site,
    room: model::RoomId,
    path: &str,
    bytes: &[u8],
) -> app::FileInfo {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .room(&meta, &admin, room, app::act::FileUpload)
        .await
        .unwrap();
    let body =
        futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes.to_vec()))]);
    app::Files(&site.app)
        .upload(
            auth,
            &model::FilePath::parse(path).unwrap(),
            Some(bytes.len() as u64),
            body,
        )
        .await
        .unwrap()
}

/// Every event the admin may read, as the API lists them.
async fn events(site: &Site) -> Vec<Value> {
    let (status, body) = api(site, reqwest::Method::GET, "/events?limit=500", Value::Null).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn admin_browser(site: &Site, scratch: &Scratch, driver: &Driver) -> Browser {
    let b = scratch.browser(driver).await;
    sign_in(&b, site, EMAIL, &util::next_code(&site.totp_secret)).await;
    wait_for(&b, "the rooms list", "#rooms").await;
    b
}

/// The text of `css` in the page, or "" when nothing matches.
async fn text_of(b: &Browser, css: &str) -> String {
    let script = format!("const e = document.querySelector('{css}'); return e ? e.innerText : '';");
    b.script(&script)
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_restores_an_earlier_version_and_deletes_the_file() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let first = upload(&site, site.room, "specs/gearbox.txt", b"revision A\n").await;
    upload(
        &site,
        site.room,
        "specs/gearbox.txt",
        b"revision B, wrong\n",
    )
    .await;
    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = admin_browser(&site, &scratch, &driver).await;

    b.goto(&site.url(&format!("/rooms/{}?prefix=specs/", site.room)))
        .await;
    b.click(&b.find("a.history").await).await;
    wait_for(&b, "the history", "#versions").await;
    b.assert_accessible("a file's history").await;
    assert!(text_of(&b, "#version-2").await.contains("(current)"));
    assert!(text_of(&b, "#version-1").await.contains("you"));
    // The current version offers no restore; the earlier one does.
    let restores = b
        .script("return document.querySelectorAll('#versions button.restore').length;")
        .await;
    assert_eq!(restores, 1);
    b.click(&b.find("#version-1 button.restore").await).await;
    wait_for(&b, "the third version", "#version-3").await;
    assert!(text_of(&b, "#version-3").await.contains("(current)"));

    // The restored version holds the first one's bytes, and says so in the log.
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .file(&meta, &admin, first.id, app::act::FileList)
        .await
        .unwrap();
    let now = app::Files(&site.app).get_file(auth).await.unwrap();
    assert_eq!((now.version, now.sha256.clone()), (3, first.sha256.clone()));
    let restored = events(&site)
        .await
        .into_iter()
        .find(|e| e["action"] == "file.upload" && e["detail"]["restored_from"] == 1);
    assert!(
        restored.is_some(),
        "no upload event names the restored version"
    );

    // Deleting takes the file out of the room's listing.
    b.click(&b.find("#delete-file").await).await;
    wait_for(&b, "the room", "#upload-form").await;
    assert!(
        b.source().await.contains("This folder is empty"),
        "the deleted file is still listed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_rooms_and_files_the_user_may_see() {
    webdriver::require_browser();
    let site = util::start_site().await;
    // Two rooms the external user's party works with at different depths: a
    // grant in one, none in the other.
    let mut rooms = Vec::new();
    for name in ["Blade redesign share", "Blade costing"] {
        let (status, room) = api(
            &site,
            reqwest::Method::POST,
            "/rooms",
            json!({"name": name, "classification": "internal"}),
        )
        .await;
        assert_eq!(status, 201, "{room}");
        rooms.push(
            room["id"]
                .as_str()
                .unwrap()
                .parse::<model::RoomId>()
                .unwrap(),
        );
    }
    upload(&site, rooms[0], "blades/profile-rev-c.step", b"solid\n").await;
    upload(&site, rooms[1], "blades/costing.xlsx", b"costs\n").await;

    let email = "engineer@bladeworks.example";
    let (_, user) = external_user(&site, "Blade Works Ltd", email, "Vendor Engineer").await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .room(&meta, &admin, rooms[0], app::act::GrantCreate)
        .await
        .unwrap();
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: user.id.0,
        role: RoomRole::Downloader,
        expires_ms: None,
        reason: "blade redesign".into(),
    };
    app::Rooms(&site.app)
        .create_grant(auth, grant)
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
    // The recovery codes are shown once, then the rooms.
    wait_for(&b, "the recovery codes", "#recovery-saved").await;
    b.click(&b.find("#recovery-saved").await).await;
    wait_for(&b, "the rooms list", "#rooms").await;

    b.click(&b.find("nav.pages a[href='/search']").await).await;
    wait_for(&b, "the search form", "#search-q").await;
    b.type_into(&b.find("#search-q").await, "blade").await;
    b.click(&b.find("#search-go").await).await;
    wait_for(&b, "the results", "#file-results").await;
    b.assert_accessible("search results").await;
    let found = text_of(&b, "#file-results").await;
    assert!(found.contains("blades/profile-rev-c.step"), "{found}");
    assert!(
        !found.contains("costing"),
        "a file of a room without a grant: {found}"
    );
    let found_rooms = text_of(&b, "#room-results").await;
    assert!(
        found_rooms.contains("Blade redesign share"),
        "{found_rooms}"
    );
    assert!(
        !found_rooms.contains("Blade costing"),
        "a room without a grant: {found_rooms}"
    );
    // Looking is not a refusal: nothing was denied on the way.
    let denied: Vec<Value> = events(&site)
        .await
        .into_iter()
        .filter(|e| {
            let action = e["action"].as_str().unwrap_or_default();
            e["outcome"] == "denied" && (action.starts_with("file.") || action.starts_with("room."))
        })
        .collect();
    assert!(denied.is_empty(), "{denied:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_justify_a_download_in_the_browser() {
    webdriver::require_browser();
    let site = util::start_site().await;
    // A room shared with an outside party: its default outbound policy asks a
    // justification for high findings.
    let (status, room) = api(
        &site,
        reqwest::Method::POST,
        "/rooms",
        json!({"name": "Supplier share", "classification": "internal"}),
    )
    .await;
    assert_eq!(status, 201, "{room}");
    let room_id: model::RoomId = room["id"].as_str().unwrap().parse().unwrap();
    let (status, party) = api(
        &site,
        reqwest::Method::POST,
        "/parties",
        json!({"name": "Gear Supplier", "active_reason": "a test fixture, onboarded before the test"}),
    )
    .await;
    assert_eq!(status, 201, "{party}");
    let grant = json!({"subject_kind": "party", "subject_id": party["id"], "role": "viewer", "reason": "rfq"});
    let (status, body) = api(
        &site,
        reqwest::Method::POST,
        &format!("/rooms/{room_id}/grants"),
        grant,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    upload(
        &site,
        room_id,
        "notes.txt",
        b"Part list for project zebracorn.\n",
    )
    .await;
    let rule = json!({"id": "acme.zebra", "message": "a project code name", "severity": "high",
        "kind": {"keywords": ["zebracorn"]}});
    let (status, body) = api(&site, reqwest::Method::POST, "/dlp/rules", rule).await;
    assert_eq!(status, 201, "{body}");

    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = admin_browser(&site, &scratch, &driver).await;
    b.goto(&site.url(&format!("/rooms/{room_id}"))).await;
    b.click(&b.find("a.download").await).await;
    wait_for(&b, "the justification form", "#justify-form").await;
    b.assert_accessible("the justification page").await;
    let why = text_of(&b, "#justify-why").await;
    assert!(why.contains("justification"), "{why}");
    assert!(
        !why.to_lowercase().contains("header"),
        "the page names a header: {why}"
    );
    // The header still shows where the user can go.
    assert!(b.source().await.contains("Sign out"));
    b.type_into(
        &b.find("#justification").await,
        "the supplier quotes from this list",
    )
    .await;
    b.click(&b.find("#justify-download").await).await;
    let got = webdriver::wait_for_download(&scratch.downloads(), "notes.txt").await;
    assert_eq!(
        std::fs::read(got).unwrap(),
        b"Part list for project zebracorn.\n"
    );
    let justified = events(&site)
        .await
        .into_iter()
        .find(|e| e["action"] == "dlp.justified")
        .unwrap_or(Value::Null);
    assert!(
        justified
            .to_string()
            .contains("the supplier quotes from this list"),
        "{justified}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_oversight_roles_see_no_controls_that_refuse() {
    webdriver::require_browser();
    let site = util::start_site().await;
    upload(&site, site.room, "drawing.txt", b"bracket\n").await;
    let driver = Driver::start().await;
    // (role, e-mail, the header's pages they must find)
    let table = [
        (
            SystemRole::SecurityOfficer,
            "officer@owner.example",
            &["Audit log", "Quarantine"][..],
        ),
        (
            SystemRole::Auditor,
            "auditor@owner.example",
            &["Audit log"][..],
        ),
    ];
    for (role, email, pages) in table {
        oversight_sees_no_refused_controls(&site, &driver, role, email, pages).await;
    }
}

/// A user of the oversight `role` opens the site's room: none of the
/// controls that would answer 403 is offered, and `pages` are in the header.
async fn oversight_sees_no_refused_controls(
    site: &Site,
    driver: &Driver,
    role: SystemRole,
    email: &str,
    pages: &[&str],
) {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserCreate)
        .await
        .unwrap();
    app::Identity(&site.app)
        .create_user(
            auth,
            NewUser {
                email: email.into(),
                display_name: "Olive Oversight".into(),
                party_id: admin.party_id,
                system_role: role,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap();

    let scratch = Scratch::new();
    let b = scratch.browser(driver).await;
    sign_in(&b, site, email, "").await;
    // An account that must enrol a second factor (a security officer) does
    // so first; the page it lands on says which.
    b.wait_until(
        "the enrolment page or the rooms list",
        "return document.querySelector('#totp-start, #rooms') !== null",
    )
    .await;
    let enrol = b
        .script("return document.querySelector('#totp-start') !== null;")
        .await;
    if enrol == true {
        enrol_in_browser(&b).await;
    }
    wait_for(&b, "the rooms list", "#rooms").await;
    b.goto(&site.url(&format!("/rooms/{}", site.room))).await;
    wait_for(&b, "the room", "#files").await;
    b.assert_accessible(&format!("the room page of a {role:?}"))
        .await;
    for (css, what) in [
        ("a.view", "View"),
        ("a.download", "Download"),
        ("#upload-form", "the upload form"),
        ("#room-settings", "the room's settings"),
    ] {
        let shown = b
            .script(&format!(
                "return document.querySelector(\"{css}\") !== null;"
            ))
            .await;
        assert_eq!(shown, false, "a {role:?} is offered {what}");
    }
    // What they may do is there: the file's history, the audit pages.
    assert!(b.source().await.contains("History"), "{role:?}");
    let nav = text_of(&b, "nav.pages").await;
    for page in pages {
        assert!(nav.contains(page), "{role:?} lacks {page}: {nav}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_error_pages_keep_the_header() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = admin_browser(&site, &scratch, &driver).await;
    b.goto(&site.url("/rooms/00000000-0000-4000-8000-000000000000"))
        .await;
    wait_for(&b, "the error page", "p.error").await;
    assert_eq!(text_of(&b, "p.error").await, "not found");
    b.assert_accessible("an error page").await;
    assert_eq!(text_of(&b, ".account .email").await, EMAIL);
    let nav = text_of(&b, "nav.pages").await;
    assert!(nav.contains("Rooms"), "{nav}");
    // Signing out works from the error page.
    b.click(&b.find(".account button").await).await;
    wait_for(&b, "the sign-in page", "#sign-in").await;
}
