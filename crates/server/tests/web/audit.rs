//! The audit pages in a real headless Chromium over HTTPS, as a security
//! officer uses them: the audit log explorer filtered to an external user's
//! download shows its ledger index; "Check proof" verifies the inclusion
//! proof in the page against the latest signed checkpoint, and fails when the
//! proof, the entry or the checkpoint is altered on its way to the page (a
//! wrapper around the page's `fetch`, installed by the test: the server has no
//! switch for it); the exported evidence bundle is accepted by the real
//! `custody ledger verify --bundle`; the checkpoints page lists verified
//! checkpoints and serves the verifier key. Every page visited passes axe-core.

use std::path::{Path, PathBuf};

use app::{NewGrant, NewParty, NewUser, RequestMeta};
use model::{RoomRole, SessionKind, SubjectKind, SystemRole};
use sha2::Digest;

use crate::browser::{Scratch, sign_in};
use crate::util::{self, PASSWORD, Site};
use crate::webdriver::{self, Browser, Driver};

const OFFICER: &str = "officer@owner.example";
const ENGINEER: &str = "engineer@bladeworks.example";
const PATH: &str = "drawings/blade-root-notes.txt";

/// Signs `email` in through the API with TOTP enrolled (as the web tests'
/// admin is); returns the secret and the principal with its second factor.
pub(crate) async fn enrolled(site: &Site, email: &str) -> (Vec<u8>, app::authz::Principal) {
    let id = app::Identity(&site.app);
    let meta = RequestMeta::default();
    let login = id
        .login(&meta, email, PASSWORD, None, SessionKind::Api)
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
    (secret, id.authenticate(&login.token).await.unwrap().0)
}

pub(crate) async fn new_user(
    site: &Site,
    party: model::PartyId,
    email: &str,
    role: SystemRole,
) -> model::User {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserCreate)
        .await
        .unwrap();
    let user = NewUser {
        email: email.into(),
        display_name: email.into(),
        party_id: party,
        system_role: role,
        password: Some(PASSWORD.into()),
    };
    app::Identity(&site.app)
        .create_user(auth, user)
        .await
        .unwrap()
}

/// An internal room with one file, granted to an external engineer who
/// downloads it; returns the file and the download's event `seq`.
async fn downloaded_by_an_external_user(site: &Site) -> (model::FileId, i64) {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, app::act::PartyCreate)
        .await
        .unwrap();
    let party = app::Identity(&site.app)
        .create_party(
            auth,
            NewParty {
                name: "Blade Works Ltd".into(),
                country: Some("DE".into()),
                active_reason: Some("a test fixture, onboarded before the test".into()),
            },
        )
        .await
        .unwrap();
    let engineer = new_user(site, party.id, ENGINEER, SystemRole::Member).await;
    let auth = site
        .app
        .system(&meta, &admin, app::act::RoomCreate)
        .await
        .unwrap();
    let room = app::Rooms(&site.app)
        .create_room(auth, "Blade root redesign", model::Classification::Internal)
        .await
        .unwrap()
        .room
        .id;
    // Uploaded before the room is shared: clean text, stored as it is.
    let auth = site
        .app
        .room(&meta, &admin, room, app::act::FileUpload)
        .await
        .unwrap();
    let text = "Blade root section B-B, fillet radius 4 mm, rev C\n".repeat(200);
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(text))]);
    let file = app::Files(&site.app)
        .upload(auth, &model::FilePath::parse(PATH).unwrap(), None, body)
        .await
        .unwrap();
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: engineer.id.0,
        role: RoomRole::Downloader,
        expires_ms: None,
        reason: "blade root work package".into(),
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
    let (_, p) = enrolled(site, ENGINEER).await;
    let from = RequestMeta {
        source_addr: Some("203.0.113.9".into()),
        ..RequestMeta::default()
    };
    let auth = site
        .app
        .file(&from, &p, file.id, app::act::FileDownload)
        .await
        .unwrap();
    drop(
        app::Files(&site.app)
            .download(auth, None, None)
            .await
            .unwrap(),
    );
    let filter = app::events::EventFilter {
        actor: Some(engineer.id),
        action: Some("file.download".into()),
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
    (file.id, events[0].seq)
}

/// The custody binary of this target directory: the bundle is checked by
/// the real command, not by the library it is made of.
pub(crate) fn custody_binary() -> PathBuf {
    let bin = util::target_dir().join("debug").join("custody");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p custody`; `scripts/test` builds the \
         whole workspace before it tests)",
        bin.display()
    );
    bin
}

pub(crate) fn verify_bundle(bundle: &Path, key: Option<&Path>) -> String {
    let mut command = std::process::Command::new(custody_binary());
    command.args(["ledger", "verify", "--bundle"]).arg(bundle);
    if let Some(key) = key {
        command.arg("--key").arg(key);
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "custody ledger verify --bundle refused the export: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The text of `#proof-result-<index>` once the check has finished.
pub(crate) async fn proof_result(b: &Browser, index: u64) -> (bool, String) {
    check_result(b, &format!("proof-result-{index}")).await
}

/// Whether the check whose result is shown in `#<id>` verified, and its
/// text, once it has finished.
pub(crate) async fn check_result(b: &Browser, id: &str) -> (bool, String) {
    let probe = format!(
        "const r = document.getElementById('{id}');\
         return r.classList.contains('verified') || r.classList.contains('failed')"
    );
    b.wait_until("the proof check", &probe).await;
    let verified = b
        .script(&format!(
            "return document.getElementById('{id}').classList.contains('verified')"
        ))
        .await;
    (
        verified == true,
        b.text(&b.find(&format!("#{id}")).await).await,
    )
}

/// A wrapper around the page's `fetch` that alters the answers of `url_part`
/// with `change` (a JS function body over the response text `t`, returning
/// the new text): what a man in the middle, or a lying server, would send.
fn tamper(url_part: &str, change: &str) -> String {
    format!(
        "const real = window.fetch;\
         window.fetch = async (url, options) => {{\
           const r = await real(url, options);\
           if (!String(url).includes('{url_part}')) return r;\
           const t = await r.text();\
           const changed = ((t) => {{ {change} }})(t);\
           return new Response(changed, {{status: r.status, headers: r.headers}});\
         }};\
         return true;"
    )
}

/// Flips the lowest bit of the first byte of base64 text `b`.
const FLIP: &str = "const flip = (b) => { const s = atob(b); \
    return btoa(String.fromCharCode(s.charCodeAt(0) ^ 1) + s.slice(1)); };";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_officer_checks_a_download_in_the_browser_and_exports_its_evidence() {
    webdriver::require_browser();
    custody_binary();
    let site = util::start_site().await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let owner = admin.party_id;
    new_user(&site, owner, OFFICER, SystemRole::SecurityOfficer).await;
    let (officer_secret, _) = enrolled(&site, OFFICER).await;
    let (file, seq) = downloaded_by_an_external_user(&site).await;
    let index = {
        let mut tx = site.app.store().read().await.unwrap();
        let rows = tx.ledger_leaves_of_events(&[seq]).await.unwrap();
        rows[0].index
    };

    let scratch = Scratch::new();
    let downloads = scratch.downloads();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    sign_in(&b, &site, OFFICER, &util::next_code(&officer_secret)).await;
    b.wait_until(
        "the signed-in page",
        "return document.querySelector('#sign-in') === null",
    )
    .await;

    // The header leads to the explorer; the officer filters it to the
    // engineer's downloads.
    b.click(&b.find("nav.pages a[href='/audit']").await).await;
    b.wait_until(
        "the explorer",
        "return document.querySelector('#audit-filters') !== null",
    )
    .await;
    b.assert_accessible("the audit log").await;
    b.type_into(&b.find("#filter-actor").await, ENGINEER).await;
    b.click(&b.find("#filter-action option[value='file.download']").await)
        .await;
    b.click(&b.find("#filter-outcome option[value='allowed']").await)
        .await;
    b.click(&b.find("#filter-apply").await).await;
    b.wait_until(
        "the filtered log",
        "return location.search.includes('actor=')",
    )
    .await;
    b.assert_accessible("the filtered audit log").await;
    let rows = b
        .script("return document.querySelectorAll('#events tbody tr.event').length")
        .await;
    assert_eq!(rows, 1, "one download by the engineer");
    let row = format!("#event-{seq}");
    let text = b.text(&b.find(&row).await).await;
    for want in [
        ENGINEER,
        "file.download",
        PATH,
        "Blade root redesign",
        "allowed",
    ] {
        assert!(text.contains(want), "the row lacks `{want}`: {text}");
    }
    let shown = b.text(&b.find(&format!("{row} .ledger-index")).await).await;
    assert_eq!(shown, index.to_string(), "the row's ledger index");
    let href = b
        .script(&format!(
            "return document.querySelector('{row} a.target').getAttribute('href')"
        ))
        .await;
    assert_eq!(href, format!("/audit?file={file}"), "the file's own events");

    // Verified in the page.
    let check = format!("#check-proof-{index}");
    b.click(&b.find(&check).await).await;
    let (verified, message) = proof_result(&b, index).await;
    assert!(verified, "not verified: {message}");
    let key = {
        let auth = site
            .app
            .system(&meta, &admin, app::act::EventRead)
            .await
            .unwrap();
        app::Audit(&site.app)
            .ledger_verifier_key(auth)
            .await
            .unwrap()
    };
    // `name+id`: the key's base64 may itself hold a `+`.
    let key_name_id = key.splitn(3, '+').take(2).collect::<Vec<_>>().join("+");
    assert!(
        message.starts_with(&format!("Verified: entry {index} is in the ledger"))
            && message.contains("verified against checkpoint of size ")
            && message.ends_with(&format!("signed by key {key_name_id}.")),
        "{message}"
    );

    b.save_screenshot("audit-log").await;

    // Anything altered on its way to the page fails the check.
    let filtered = b.url().await;
    let cases = [
        (
            "an inclusion proof hash",
            "/ledger/proof/inclusion",
            format!("{FLIP} const p = JSON.parse(t); p.hashes[0] = flip(p.hashes[0]); return JSON.stringify(p);"),
            "the inclusion proof does not lead to the checkpoint's root",
        ),
        (
            "the entry's leaf bytes",
            "/ledger/entries",
            format!(
                "{FLIP} const e = JSON.parse(t); const s = atob(e.leaf); \
                 e.leaf = btoa(s.slice(0, -1) + String.fromCharCode(s.charCodeAt(s.length - 1) ^ 1)); \
                 return JSON.stringify(e) + '\\n';"
            ),
            "the inclusion proof does not lead to the checkpoint's root",
        ),
        (
            "the entry's action",
            "/ledger/entries",
            "const e = JSON.parse(t); const s = atob(e.leaf); \
             e.leaf = btoa(s.replace('file.download', 'file.downloaX')); return JSON.stringify(e) + '\\n';"
                .to_owned(),
            "the ledger entry does not record the event shown",
        ),
        (
            "the checkpoint's size",
            "/ledger/checkpoint",
            "return t.replace(/\\n([0-9]+)\\n/, (m, n) => '\\n' + (BigInt(n) + 1n) + '\\n');".to_owned(),
            "the checkpoint's signature does not verify with the key",
        ),
    ];
    for (what, url_part, change, want) in cases {
        b.goto(&filtered).await;
        b.wait_until(
            "the explorer",
            "return document.querySelector('#events') !== null",
        )
        .await;
        assert_eq!(b.script(&tamper(url_part, &change)).await, true);
        b.click(&b.find(&check).await).await;
        let (verified, message) = proof_result(&b, index).await;
        assert!(!verified, "altered {what}, still verified: {message}");
        assert!(
            message.starts_with("Not verified: ") && message.contains(want),
            "altered {what}: {message}"
        );
    }
    b.goto(&filtered).await;
    b.wait_until(
        "the explorer",
        "return document.querySelector('#events') !== null",
    )
    .await;
    b.click(&b.find(&check).await).await;
    assert!(
        proof_result(&b, index).await.0,
        "verified again without the wrapper"
    );

    // The filter's evidence bundle, downloaded by the browser, passes the
    // real offline verifier.
    b.click(&b.find("#export-bundle").await).await;
    let bundle = webdriver::wait_for_download(&downloads, "custody-evidence.json").await;
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{json}");
    assert_eq!(entries[0]["index"], index);
    assert_eq!(entries[0]["event"]["action"], "file.download");
    let out = verify_bundle(&bundle, None);
    assert!(
        out.starts_with("ok: 1 entries (0 redacted) verify against checkpoint of size"),
        "{out}"
    );

    // The checkpoints page: verified checkpoints, the key and its download.
    // The export was recorded: the log grew past the proofs' checkpoint, and
    // the next one signed (the background task's job in `custody serve`)
    // gives the checkpoints page two to compare.
    site.app.sign_checkpoint().await.unwrap();
    let sizes = {
        let mut tx = site.app.store().read().await.unwrap();
        let stored = tx.latest_checkpoints(None, 2).await.unwrap();
        assert_eq!(stored.len(), 2, "{stored:?}");
        (stored[1].size, stored[0].size)
    };
    b.click(&b.find("#checkpoints-link").await).await;
    b.wait_until(
        "the checkpoints",
        "return document.querySelector('#checkpoints') !== null",
    )
    .await;
    b.assert_accessible("the ledger checkpoints").await;
    b.save_screenshot("audit-checkpoints").await;
    let first = b.text(&b.find("#checkpoints tbody tr").await).await;
    assert!(
        first.contains("verified") && !first.contains("does not verify"),
        "{first}"
    );
    // The newer checkpoint extends the older one, checked in the page; a
    // consistency proof altered on its way fails.
    let (older, newer) = sizes;
    let check = format!("#check-consistency-{newer}");
    let result = format!("consistency-result-{newer}");
    b.click(&b.find(&check).await).await;
    let (verified, message) = check_result(&b, &result).await;
    assert!(verified, "not consistent: {message}");
    assert_eq!(
        message,
        format!(
            "Consistent: the log of size {newer} extends the log of size {older}, both \
             checkpoints signed by key {key_name_id}."
        )
    );
    let checkpoints = b.url().await;
    let flip = format!(
        "{FLIP} const p = JSON.parse(t); p.hashes[p.hashes.length - 1] = \
         flip(p.hashes[p.hashes.length - 1]); return JSON.stringify(p);"
    );
    b.goto(&checkpoints).await;
    assert_eq!(
        b.script(&tamper("/ledger/proof/consistency", &flip)).await,
        true
    );
    b.click(&b.find(&check).await).await;
    let (verified, message) = check_result(&b, &result).await;
    assert!(
        !verified,
        "an altered consistency proof verified: {message}"
    );
    assert!(
        message.contains("the consistency proof does not lead to both checkpoints' roots"),
        "{message}"
    );
    b.goto(&checkpoints).await;
    assert_eq!(b.text(&b.find("#verifier-key").await).await, key);
    let fingerprint = hex::encode(sha2::Sha256::digest(format!("{key}\n")));
    assert_eq!(
        b.text(&b.find("#verifier-key-fingerprint").await).await,
        fingerprint
    );
    b.click(&b.find("#verifier-key-download").await).await;
    let key_file = webdriver::wait_for_download(&downloads, "custody-verifier.key").await;
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        format!("{key}\n")
    );
    verify_bundle(&bundle, Some(&key_file));
}
