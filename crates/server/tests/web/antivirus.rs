//! Antivirus in a real headless Chromium against a real clamd (scripts/test
//! starts it with the EICAR signature): an external user uploads the EICAR
//! test file in the browser and is told it is held as malware; the security
//! officer, notified, sees the signature on the quarantine page, with no way
//! to read or release the file, only to reject it.

use app::{NewGrant, RequestMeta};
use model::{RoomRole, SubjectKind, SystemRole};

use crate::browser::{Scratch, external_user, sign_in, wait_for};
use crate::util::{self, PASSWORD};
use crate::webdriver::{self, Driver};

/// The test clamd's settings when it answers; NOT RUN (a failure under `CI=true`) when not.
fn clamd() -> Option<app::AntivirusSettings> {
    let socket = std::env::var_os("CUSTODY_CLAMD_SOCKET")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/var/tmp/custody-clamd/clamd.sock".into());
    let settings = app::AntivirusSettings::new(app::ClamdAddress::Unix(socket));
    match app::antivirus::ping(&settings) {
        Ok(()) => Some(settings),
        Err(why) => {
            let message = format!("NOT RUN: clamd unreachable ({why}): the antivirus web test");
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{message}: required when CI=true"
            );
            eprintln!("{message}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_eicar_upload_shows_its_signature_in_quarantine() {
    webdriver::require_browser();
    let Some(av) = clamd() else { return };
    let settings = app::Settings {
        antivirus: Some(av),
        external_mfa_required: false,
        ..app::Settings::default()
    };
    let site = util::start_site_with(settings).await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);

    // An internal room, a supplier who may upload into it, and a security officer.
    let auth = site
        .app
        .system(&meta, &admin, app::act::RoomCreate)
        .await
        .unwrap();
    let room = app::Rooms(&site.app)
        .create_room(auth, "Supplier quotes", model::Classification::Internal)
        .await
        .unwrap()
        .room
        .id;
    let supplier = "quotes@supplier.example";
    let (_, user) = external_user(&site, "Supplier Ltd", supplier, "Supplier Sales").await;
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: user.id.0,
        role: RoomRole::Contributor,
        expires_ms: None,
        reason: "sends quotes".into(),
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
    let officer_email = "officer@owner.example";
    let owner = site
        .app
        .store()
        .read()
        .await
        .unwrap()
        .owner_party()
        .await
        .unwrap()
        .unwrap();
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserCreate)
        .await
        .unwrap();
    let officer = app::Identity(&site.app)
        .create_user(
            auth,
            app::NewUser {
                email: officer_email.into(),
                display_name: "Security Officer".into(),
                party_id: owner.id,
                system_role: SystemRole::SecurityOfficer,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap();

    // The supplier uploads EICAR in the browser and is told why it is held.
    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    sign_in(&b, &site, supplier, "").await;
    wait_for(&b, "the rooms list", "#rooms").await;
    b.goto(&site.url(&format!("/rooms/{room}"))).await;
    wait_for(&b, "the room page", "#upload-form").await;
    let local = scratch.dir().join("quote.com");
    let eicar = format!(
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}}${}",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    );
    std::fs::write(&local, eicar).unwrap();
    b.type_into(&b.find("#file-input").await, &local.display().to_string())
        .await;
    b.click(&b.find("#upload-button").await).await;
    b.wait_until(
        "the upload's verdict",
        "return document.querySelector('#upload-status').textContent.includes('malware')",
    )
    .await;
    let status = b.text(&b.find("#upload-status").await).await;
    assert!(status.contains("Eicar-Test-Signature"), "{status}");
    b.assert_accessible("the room page after a held upload")
        .await;

    // The officer was notified.
    let notes = site
        .app
        .store()
        .read()
        .await
        .unwrap()
        .list_notifications(officer.id, false, 10)
        .await
        .unwrap();
    assert!(
        notes.iter().any(|n| n.kind == "av.infected"
            && n.message.contains("Eicar-Test-Signature")
            && n.message.contains(supplier)),
        "{notes:?}"
    );

    // The officer enrols TOTP, then sees the signature on the quarantine page.
    let scratch2 = Scratch::new();
    let o = scratch2.browser(&driver).await;
    sign_in(&o, &site, officer_email, "").await;
    wait_for(&o, "the enrolment page", "#totp-start").await;
    o.click(&o.find("#totp-start").await).await;
    wait_for(&o, "the secret", "#totp-secret").await;
    let secret = util::base32_decode(&o.text(&o.find("#totp-secret").await).await);
    o.type_into(&o.find("#code").await, &util::current_code(&secret))
        .await;
    o.click(&o.find("#totp-confirm").await).await;
    wait_for(&o, "the recovery codes", "#recovery-codes").await;
    o.click(&o.find("#recovery-saved").await).await;
    wait_for(&o, "the rooms list", "#rooms").await;
    o.goto(&site.url("/quarantine")).await;
    wait_for(&o, "the quarantine", "#quarantine").await;
    o.assert_accessible("the quarantine page with an infected upload")
        .await;
    let row = o.text(&o.find("#quarantine tbody tr").await).await;
    assert!(
        row.contains("quote.com") && row.contains("Eicar-Test-Signature") && row.contains(supplier),
        "row: {row}"
    );
    let (links, releases) = (
        o.script("return document.querySelectorAll('#quarantine a.held-content').length")
            .await,
        o.script("return document.querySelectorAll('#quarantine button.release').length")
            .await,
    );
    assert_eq!((links, releases), (0.into(), 0.into()));
    o.click(&o.find("#quarantine button.reject").await).await;
    wait_for(&o, "the emptied quarantine", "#quarantine-empty").await;
}
