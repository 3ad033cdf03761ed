//! A room's destruction in the browser: the admin (its manager) sets a
//! retention period and asks for the destruction of the confidential room,
//! and sees exactly what would be destroyed; a security officer puts the room
//! under a legal hold, is refused the approval while it holds (the page says
//! why), releases it, approves — the room's key is gone — and downloads the
//! certificate of destruction, which `custody certificate verify` accepts.
//! Each page checked by axe-core.

use model::SystemRole;

use crate::admin::{sign_in, submit_and_confirm, wait_for};
use crate::audit::{custody_binary, enrolled, new_user};
use crate::browser::Scratch;
use crate::util::{self, EMAIL};
use crate::webdriver::{self, Driver};

const OFFICER: &str = "olga@owner.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_destroyed_with_four_eyes_past_a_legal_hold_and_certified() {
    webdriver::require_browser();
    let custody = custody_binary();
    let site = util::start_site().await;
    let admin = site.admin().await;
    new_user(&site, admin.party_id, OFFICER, SystemRole::SecurityOfficer).await;
    let (officer_secret, _) = enrolled(&site, OFFICER).await;
    let room = site.room;
    let key = site.dir().join("keys/rooms").join(format!("{room}.key"));
    assert!(key.is_file());

    let scratch = Scratch::new();
    let driver = Driver::start().await;

    // The admin asks for the destruction from the room's settings.
    let a = scratch.browser(&driver).await;
    a.set_window(1400, 2200).await;
    sign_in(&a, &site, EMAIL, Some(&util::next_code(&site.totp_secret))).await;
    a.goto(&site.url(&format!("/rooms/{room}/settings"))).await;
    wait_for(&a, "the settings", "#room-destroy-link").await;
    a.click(&a.find("#room-destroy-link").await).await;
    wait_for(&a, "the destruction page", "#destroy-form").await;
    a.assert_accessible("a room's destruction page").await;
    assert!(
        a.text(&a.find("#four-eyes-note").await)
            .await
            .contains("confidential")
    );
    a.type_into(&a.find("#retention-days").await, "3650").await;
    submit_and_confirm(&a, "#retention-save", "Retention period saved.").await;
    assert!(
        a.text(&a.find("#retention-current").await)
            .await
            .contains("3650 days")
    );
    a.type_into(
        &a.find("#destroy-reason").await,
        "the bracket programme ended",
    )
    .await;
    submit_and_confirm(
        &a,
        "#destroy-request",
        "Destruction requested: check what would be destroyed below.",
    )
    .await;
    wait_for(&a, "the manifest", "#open-destruction").await;
    assert!(
        a.text(&a.find("#awaiting-approval").await)
            .await
            .contains("other than the requester")
    );
    let digest = a.text(&a.find("#manifest-sha").await).await;
    assert_eq!(digest.len(), 64, "{digest}");
    a.assert_accessible("a requested destruction").await;
    let d = {
        let mut tx = site.app.store().read().await.unwrap();
        tx.list_destructions(Some(room), None)
            .await
            .unwrap()
            .remove(0)
    };
    assert_eq!(
        (d.state.as_str(), d.manifest_sha256.as_str()),
        ("requested", digest.as_str())
    );

    // The officer holds the room, is refused, releases it and approves.
    let officer_scratch = Scratch::new();
    let o = officer_scratch.browser(&driver).await;
    o.set_window(1400, 2200).await;
    sign_in(&o, &site, OFFICER, Some(&util::next_code(&officer_secret))).await;
    o.goto(&site.url("/legal-holds")).await;
    wait_for(&o, "the hold form", "#hold-form").await;
    o.assert_accessible("the legal holds page").await;
    o.click(
        &o.find(&format!("#hold-room option[value=\"{room}\"]"))
            .await,
    )
    .await;
    o.type_into(&o.find("#hold-reason").await, "dispute with the supplier")
        .await;
    submit_and_confirm(&o, "#hold-set", "Legal hold set.").await;
    o.click(&o.find("nav.pages a[href=\"/destructions\"]").await)
        .await;
    wait_for(&o, "the requests", "#destructions").await;
    o.assert_accessible("the destruction requests").await;
    o.goto(&site.url(&format!("/destructions/{}", d.id))).await;
    wait_for(&o, "the approval form", "#approve-form").await;
    o.click(&o.find("#destruction-approve").await).await;
    wait_for(&o, "the refusal", "#approve-form-error").await;
    let refusal = o.text(&o.find("#approve-form-error").await).await;
    assert!(refusal.contains("legal hold"), "{refusal}");
    assert!(key.is_file(), "nothing destroyed under the hold");
    o.assert_accessible("an approval refused by a legal hold")
        .await;
    o.goto(&site.url("/legal-holds")).await;
    wait_for(&o, "the holds", "#holds").await;
    o.type_into(
        &o.find("#holds input[name=\"reason\"]").await,
        "dispute settled",
    )
    .await;
    submit_and_confirm(&o, "#holds button.release", "Legal hold released.").await;
    o.goto(&site.url(&format!("/destructions/{}", d.id))).await;
    wait_for(&o, "the approval form", "#approve-form").await;
    submit_and_confirm(
        &o,
        "#destruction-approve",
        "Approved: the destruction ran, and its key is gone for good.",
    )
    .await;
    assert_eq!(
        o.text(&o.find("#destruction-state").await).await,
        "destroyed"
    );
    assert!(!key.exists(), "the room's key is destroyed");
    o.assert_accessible("a destroyed room's request").await;

    // The certificate, downloaded by the browser, passes the real verifier.
    let downloads = officer_scratch.downloads();
    o.click(&o.find("#certificate-link").await).await;
    let name = format!("certificate-of-destruction-{}.json", d.id);
    let cert = webdriver::wait_for_download(&downloads, &name).await;
    let verifier = site.app.ledger_signer().unwrap().verifier().to_key_text();
    let out = std::process::Command::new(custody)
        .args(["certificate", "verify"])
        .arg(&cert)
        .args(["--key", &verifier])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(OFFICER) && said.contains(EMAIL),
        "approver and requester: {said}"
    );
}

/// The names of room `room`'s key files (not its carry file), sorted.
fn key_files(site: &util::Site, room: model::RoomId) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(site.dir().join("keys/rooms"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(&room.to_string()) && n.ends_with(".key"))
        .collect();
    names.sort();
    names
}

/// Files purged from the browser: the admin sets the grace period of deleted
/// files and a file's retention period, and deletes another file; at the due
/// date the deleted file is purged at once (the room re-keyed) and the
/// confidential room's retention purge waits for the security officer, who
/// sees what it purges and approves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_purged_after_the_grace_period_and_their_retention() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let admin = site.admin().await;
    new_user(&site, admin.party_id, OFFICER, SystemRole::SecurityOfficer).await;
    let (officer_secret, _) = enrolled(&site, OFFICER).await;
    let room = site.room;
    let expiring = crate::pages::upload(&site, room, "expiring.txt", b"for a day").await;
    let deleted = crate::pages::upload(&site, room, "deleted.txt", b"superseded").await;
    let kept = crate::pages::upload(&site, room, "kept.txt", b"kept").await;

    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let a = scratch.browser(&driver).await;
    a.set_window(1400, 2200).await;
    sign_in(&a, &site, EMAIL, Some(&util::next_code(&site.totp_secret))).await;
    a.goto(&site.url("/destructions")).await;
    wait_for(&a, "the grace form", "#purge-grace-form").await;
    a.assert_accessible("the destruction page with the grace period")
        .await;
    a.type_into(&a.find("#purge-grace-days").await, "0").await;
    submit_and_confirm(
        &a,
        "#purge-grace-save",
        "Grace period of deleted files saved.",
    )
    .await;
    assert!(
        a.text(&a.find("#purge-grace-current").await)
            .await
            .contains("purged 0 days after their deletion")
    );
    a.goto(&site.url(&format!("/files/{}/versions", expiring.id)))
        .await;
    wait_for(&a, "the retention form", "#file-retention-form").await;
    a.assert_accessible("a file's history with its retention")
        .await;
    a.type_into(&a.find("#file-retention-days").await, "1")
        .await;
    a.click(&a.find("#file-retention-save").await).await;
    a.wait_until(
        "the saved retention",
        "const p = document.querySelector('#file-retention-current'); \
         return p && p.textContent.includes('purged 1 days after its creation');",
    )
    .await;
    a.goto(&site.url(&format!("/files/{}/versions", deleted.id)))
        .await;
    wait_for(&a, "the delete button", "#delete-file").await;
    a.click(&a.find("#delete-file").await).await;
    wait_for(&a, "the room", "#files").await;

    // The due date: the deleted file is purged at once, the retention of a
    // file in this confidential room waits for a second person.
    site.advance(86_400_000 + 1);
    assert_eq!(app::purge::purge_sweep(&site.app).await.unwrap(), 2);
    assert_eq!(key_files(&site, room), [format!("{room}-g1.key")]);
    let o_scratch = Scratch::new();
    let o = o_scratch.browser(&driver).await;
    o.set_window(1400, 2200).await;
    // The server's clock moved a day on: the officer's code is of its time.
    let step = app::totp::step_of(site.clock_now()) + 1;
    let code = format!("{:06}", app::totp::code_at(&officer_secret, step, 6));
    sign_in(&o, &site, OFFICER, Some(&code)).await;
    o.goto(&site.url("/destructions")).await;
    wait_for(&o, "the requests", "#destructions").await;
    let kinds = o.text(&o.find("#destructions").await).await;
    assert_eq!(kinds.matches("files purged").count(), 2, "{kinds}");
    let pending = {
        let mut tx = site.app.store().read().await.unwrap();
        tx.list_destructions(Some(room), Some("requested"))
            .await
            .unwrap()
            .remove(0)
    };
    o.goto(&site.url(&format!("/destructions/{}", pending.id)))
        .await;
    wait_for(&o, "the approval form", "#approve-form").await;
    assert!(
        o.text(&o.find("#purge-rekey").await)
            .await
            .contains(&format!("room-{room}-g2"))
    );
    assert!(
        o.text(&o.find("#destruction-manifest").await)
            .await
            .contains("expiring.txt")
    );
    o.assert_accessible("a requested purge").await;
    submit_and_confirm(
        &o,
        "#destruction-approve",
        "Approved: the destruction ran, and its key is gone for good.",
    )
    .await;
    assert_eq!(
        o.text(&o.find("#destruction-state").await).await,
        "destroyed"
    );
    assert_eq!(key_files(&site, room), [format!("{room}-g2.key")]);
    // What stays reads back; what was purged is gone.
    let files = {
        let mut tx = site.app.store().read().await.unwrap();
        tx.list_files(room).await.unwrap()
    };
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["kept.txt"]);
    assert_eq!(files[0].id, kept.id);
}
