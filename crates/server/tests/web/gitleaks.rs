//! A gitleaks configuration imported on the settings page in a real headless
//! Chromium over HTTPS: the page reports the rules imported and what it
//! could not honour, then an upload carrying what the imported rule finds
//! is held (the quarantine page names the rule) while an upload of a value
//! the configuration's allowlist allows is stored.

use app::dlp_policy::{DirectionPolicy, DlpAction, DlpPolicy};
use app::{RequestMeta, Uploaded};

use crate::util::{self, EMAIL, PASSWORD};
use crate::webdriver::{self, Driver};

/// A custom rule with a secret group and keywords, a global allowlist, and
/// a setting the import reports.
const CONFIG: &str = r#"title = "acme"

[extend]
useDefault = true

[allowlist]
description = "documented examples"
regexes = ['''^ACME-EXAMPLE''']

[[rules]]
id = "acme-deploy-token"
description = "Acme deploy token"
regex = '''\b(ACME-[A-Z0-9]{16})\b'''
secretGroup = 1
keywords = ["acme-"]
"#;

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
async fn an_imported_gitleaks_rule_holds_uploads_and_its_allowlist_lets_examples_through() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let rooms = app::Rooms(&site.app);
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::DlpPolicy)
        .await
        .unwrap();
    let policy = DlpPolicy {
        inbound: direction(DlpAction::Quarantine),
        outbound: direction(DlpAction::Allow),
        infected: DlpAction::Quarantine,
    };
    rooms.set_room_dlp(auth, policy).await.unwrap();

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

    b.goto(&site.url("/admin/settings")).await;
    let config = serde_json::to_string(CONFIG).unwrap();
    b.script(&format!(
        "document.querySelector('#import-config').value = {config};"
    ))
    .await;
    b.click(&b.find("#import-rules").await).await;
    b.wait_until(
        "the import's report",
        "return document.querySelector('#import-report') !== null",
    )
    .await;
    b.assert_accessible("the settings page with an import's report")
        .await;
    let imported = b.text(&b.find("#imported-rules").await).await;
    assert!(imported.contains("acme-deploy-token"), "{imported}");
    let unsupported = b.text(&b.find("#import-unsupported").await).await;
    assert!(unsupported.contains("extend.useDefault"), "{unsupported}");
    let listed = b.text(&b.find("#rule-acme-deploy-token").await).await;
    assert!(
        listed.contains("Acme deploy token") && listed.contains("1 allowlists"),
        "{listed}"
    );

    // An upload the rule finds is held; the allow-listed example is stored.
    let files = app::Files(&site.app);
    let upload = |path: &'static str, text: &'static [u8]| {
        let files = &files;
        let (site, meta, admin) = (&site, &meta, &admin);
        async move {
            let auth = site
                .app
                .room(meta, admin, site.room, app::act::FileUpload)
                .await
                .unwrap();
            let body = futures_util::stream::iter([Ok::<_, std::io::Error>(
                bytes::Bytes::from_static(text),
            )]);
            let path = model::FilePath::parse(path).unwrap();
            files
                .upload_with(auth, &path, None, body, None)
                .await
                .unwrap()
        }
    };
    let held = upload("ci/deploy.txt", b"token ACME-7QX2LP9RT4YB8NC3\n").await;
    let Uploaded::Held(held) = held else {
        panic!("the upload was not held: {held:?}");
    };
    let stored = upload("docs/example.txt", b"example ACME-EXAMPLE0000000\n").await;
    assert!(
        !matches!(stored, Uploaded::Held(_)),
        "the allow-listed example was held: {stored:?}"
    );

    b.goto(&site.url("/quarantine")).await;
    let row = format!("#held-{}", held.version_id);
    let text = b.text(&b.find(&row).await).await;
    assert!(
        text.contains("ci/deploy.txt") && text.contains("acme-deploy-token"),
        "row: {text}"
    );
    assert!(!text.contains("7QX2LP9RT4YB8NC3"), "row: {text}");
    let page = b.source().await;
    assert!(!page.contains("docs/example.txt"), "the example is held");
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileList)
        .await
        .unwrap();
    let listed = files.list_files(auth).await.unwrap();
    let paths: Vec<&str> = listed.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["docs/example.txt"]);
}
