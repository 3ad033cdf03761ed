//! The whole deal in a real headless Chromium, one browser per role and no call
//! to the API on the way: the owner admin sets up a party, invites its
//! engineer, writes the NDA, creates a confidential room requiring it with
//! marked delivery, uploads a drawing and grants the party; the engineer
//! accepts the invitation from its link, sets a password, enrols a second
//! factor, saves the recovery codes, signs the NDA, views the drawing and
//! downloads a marked copy; a security officer finds the download in the
//! audit log explorer, checks its inclusion proof in the page, exports the
//! evidence bundle, and `custody ledger verify --bundle` accepts it.
//! `scripts/screenshots` runs these tests to save the main pages for README.

use crate::account::enrol_in_browser;
use crate::admin::{NDA_TEXT, choose, set_date, submit_and_confirm};
use crate::audit::{custody_binary, proof_result, verify_bundle};
use crate::browser::{Scratch, drawing_pdf, wait_for};
use crate::util::{self, EMAIL, PASSWORD, Site};
use crate::webdriver::{self, Browser, Driver};

const ENGINEER: &str = "engineer@bladeworks.example";
const OFFICER: &str = "officer@owner.example";
const DRAWING: &str = "bracket-b7.pdf";

/// What the owner admin made, for the others to use.
struct Deal {
    room: String,
    invitation: String,
    /// The owner admin's browser, still signed in.
    admin: Browser,
}

/// The id at the end of the page's address after `marker` (`/rooms/<id>/…`).
async fn id_after(b: &Browser, marker: &str) -> String {
    let url = b.url().await;
    url.split(marker)
        .nth(1)
        .and_then(|rest| rest.split(['/', '?']).next())
        .unwrap_or_else(|| panic!("no id after {marker} in {url}"))
        .to_owned()
}

/// Signs in with a password and, when given, a one-time code.
async fn sign_in(b: &Browser, site: &Site, email: &str, code: Option<&str>) {
    b.goto(&site.url("/login")).await;
    b.type_into(&b.find("#email").await, email).await;
    b.type_into(&b.find("#password").await, PASSWORD).await;
    if let Some(code) = code {
        b.type_into(&b.find("#totp").await, code).await;
    }
    b.click(&b.find("#sign-in").await).await;
    wait_for(b, "the signed-in header", ".account .email").await;
}

/// Enrols an authenticator from the enrolment page the account was sent to
/// and saves the ten recovery codes it shows once.
async fn enrol(b: &Browser) {
    let codes = enrol_in_browser(b).await;
    assert_eq!(codes.len(), 10, "{codes:?}");
    wait_for(b, "the signed-in header", ".account .email").await;
}

/// The owner admin, in the browser: the party, the invitation, the NDA, the
/// room with its requirement and marked delivery, a drawing, the grant, the
/// NDA offered, and a security officer's account.
async fn owner_admin(site: &Site, driver: &Driver, scratch: &Scratch) -> Deal {
    let b = scratch.browser(driver).await;
    b.set_window(1280, 900).await;
    sign_in(&b, site, EMAIL, Some(&util::next_code(&site.totp_secret))).await;
    b.save_screenshot("rooms").await;

    b.click(&b.find("nav.pages a[href='/admin/parties']").await)
        .await;
    wait_for(&b, "the parties page", "#party-name").await;
    b.type_into(&b.find("#party-name").await, "Blade Works Ltd")
        .await;
    b.type_into(&b.find("#party-country").await, "de").await;
    // Onboarding is not what this test is about: active at once, with the reason.
    b.type_into(
        &b.find("#party-active-reason").await,
        "assessed before Custody was introduced",
    )
    .await;
    submit_and_confirm(&b, "#party-create", "Party created.").await;
    let party = id_after(&b, "/admin/parties/").await;
    // Confidential rooms ask for a party certified and people trained.
    b.type_into(&b.find("#certification-name").await, "ISO/IEC 27001:2022")
        .await;
    set_date(&b, "#certification-until", "2099-06-30").await;
    submit_and_confirm(&b, "#certification-save", "Certification recorded.").await;

    b.click(&b.find("#invite-link").await).await;
    wait_for(&b, "the invitation form", "#invite-form").await;
    b.type_into(&b.find("#invite-email").await, ENGINEER).await;
    b.type_into(&b.find("#invite-name").await, "Blade Engineer")
        .await;
    b.click(&b.find("#invite-submit").await).await;
    wait_for(&b, "the invitation link", "#invitation-link").await;
    let invitation = b.value(&b.find("#invitation-link").await).await;

    b.goto(&site.url("/admin/templates")).await;
    b.type_into(&b.find("#template-name").await, "mutual-nda-2026")
        .await;
    b.type_into(&b.find("#template-title").await, "Mutual NDA 2026")
        .await;
    b.type_into(&b.find("#template-text").await, NDA_TEXT).await;
    b.type_into(&b.find("#template-duration").await, "730")
        .await;
    submit_and_confirm(&b, "#template-save", "Template saved.").await;

    b.goto(&site.url("/")).await;
    b.click(&b.find("#new-room").await).await;
    wait_for(&b, "the new room form", "#new-room-name").await;
    b.type_into(&b.find("#new-room-name").await, "Rotor blade RFQ")
        .await;
    choose(&b, "#new-room-classification", "confidential").await;
    submit_and_confirm(
        &b,
        "#room-create",
        "Room created. You manage it; set it up below.",
    )
    .await;
    let room = id_after(&b, "/rooms/").await;
    b.click(&b.find("#required-mutual-nda-2026").await).await;
    submit_and_confirm(&b, "#room-save", "Room settings saved.").await;
    choose(&b, "#delivery-downloader", "marked").await;
    submit_and_confirm(&b, "#delivery-save", "Delivery policy saved.").await;
    b.save_screenshot("room-settings").await;

    b.click(&b.find("#room-grants-link").await).await;
    wait_for(&b, "the grant form", "#grant-form").await;
    choose(&b, "#grant-subject", &format!("party:{party}")).await;
    choose(&b, "#grant-role", "downloader").await;
    set_date(&b, "#grant-expires", "2099-06-30").await;
    b.type_into(&b.find("#grant-reason").await, "rotor blade quote")
        .await;
    submit_and_confirm(&b, "#grant-submit", "Access granted.").await;

    // The drawing, through the room page's upload form.
    b.goto(&site.url(&format!("/rooms/{room}"))).await;
    let local = scratch.dir().join(DRAWING);
    std::fs::write(&local, drawing_pdf()).unwrap();
    b.type_into(&b.find("#file-input").await, &local.display().to_string())
        .await;
    b.click(&b.find("#upload-button").await).await;
    wait_for(&b, "the uploaded drawing", "#files tr.file").await;
    b.save_screenshot("room").await;

    b.goto(&site.url("/agreements")).await;
    choose(&b, "#issue-from-template", "mutual-nda-2026").await;
    choose(&b, "#issue-template-party", &party).await;
    submit_and_confirm(&b, "#issue-template-submit", "Agreement issued.").await;

    // A security officer's account, with a first password.
    b.goto(&site.url("/admin/users")).await;
    b.type_into(&b.find("#user-email").await, OFFICER).await;
    b.type_into(&b.find("#user-name").await, "Sam Security")
        .await;
    b.click(&b.find("#user-party option:last-child").await)
        .await;
    let party = b
        .script("const s = document.querySelector('#user-party'); return s.options[s.selectedIndex].text;")
        .await;
    assert!(
        party.as_str().unwrap_or_default().ends_with("(owner)"),
        "{party}"
    );
    choose(&b, "#user-role", "security_officer").await;
    b.type_into(&b.find("#user-password").await, PASSWORD).await;
    b.click(&b.find("#user-create").await).await;
    wait_for(&b, "the confirmation", "#confirmation").await;
    Deal {
        room,
        invitation,
        admin: b,
    }
}

/// The owner admin records the engineer's security training once they have
/// joined.
async fn record_training(site: &Site, b: &Browser) {
    b.goto(&site.url("/admin/users")).await;
    let link = format!("//a[contains(@class, 'user-link') and text()='{ENGINEER}']");
    let href = b
        .script(&format!(
            "return document.evaluate(\"{link}\", document, null, 9, null).singleNodeValue.getAttribute('href');"
        ))
        .await;
    b.goto(&site.url(href.as_str().unwrap())).await;
    wait_for(b, "the user's page", "#training-form").await;
    set_date(b, "#training-until", "2099-06-30").await;
    submit_and_confirm(b, "#training-save", "Training recorded.").await;
}

/// The engineer, from the invitation link to a marked copy in their downloads.
async fn engineer(site: &Site, driver: &Driver, scratch: &Scratch, deal: &Deal) {
    let b = scratch.browser(driver).await;
    b.set_window(1280, 900).await;
    b.goto(&deal.invitation).await;
    wait_for(&b, "the invitation page", "#invitation").await;
    b.assert_accessible("the invitation page").await;
    b.type_into(&b.find("#new-password").await, "a long engineer passphrase")
        .await;
    b.type_into(
        &b.find("#confirm-password").await,
        "a long engineer passphrase",
    )
    .await;
    b.click(&b.find("#accept-invitation").await).await;
    enrol(&b).await;
    record_training(site, &deal.admin).await;

    // The room asks for the NDA first; signing it opens the room.
    b.goto(&site.url(&format!("/rooms/{}", deal.room))).await;
    wait_for(&b, "the agreement to sign", "#sign-required").await;
    b.save_screenshot("sign-nda").await;
    b.click(&b.find(".agree").await).await;
    b.click(&b.find(".sign-button").await).await;
    wait_for(&b, "the room's files", "#files tr.file").await;

    b.click(&b.find("a.view").await).await;
    wait_for(&b, "the viewer's page", "img.page").await;
    b.wait_until(
        "the page image",
        "const i = document.querySelector('img.page'); return i.complete && i.naturalWidth > 0;",
    )
    .await;
    b.assert_accessible("the viewer").await;
    b.save_screenshot("viewer").await;

    b.goto(&site.url(&format!("/rooms/{}", deal.room))).await;
    b.click(&b.find("a.download").await).await;
    let got = webdriver::wait_for_download(&scratch.downloads(), DRAWING).await;
    let copy = std::fs::read(got).unwrap();
    assert!(copy.starts_with(b"%PDF"), "not a PDF");
    assert_ne!(copy, drawing_pdf(), "the copy handed out is not marked");
}

/// The security officer: the download in the audit log, its proof checked in
/// the page, the evidence exported and verified offline.
async fn security_officer(site: &Site, driver: &Driver, scratch: &Scratch) {
    let b = scratch.browser(driver).await;
    b.set_window(1280, 900).await;
    sign_in(&b, site, OFFICER, None).await;
    enrol(&b).await;
    b.click(&b.find("nav.pages a[href='/audit']").await).await;
    wait_for(&b, "the explorer", "#audit-filters").await;
    b.type_into(&b.find("#filter-actor").await, ENGINEER).await;
    b.click(&b.find("#filter-action option[value='file.download']").await)
        .await;
    b.click(&b.find("#filter-apply").await).await;
    b.wait_until(
        "the filtered log",
        "return location.search.includes('actor=')",
    )
    .await;
    let rows = b
        .script("return document.querySelectorAll('#events tbody tr.event').length")
        .await;
    assert_eq!(rows, 1, "one download by the engineer");
    let index: u64 = b
        .text(&b.find("#events tr.event .ledger-index").await)
        .await
        .parse()
        .unwrap();
    b.click(&b.find(&format!("#check-proof-{index}")).await)
        .await;
    let (verified, message) = proof_result(&b, index).await;
    assert!(verified, "not verified: {message}");
    // The picture shows the row with its proof checked.
    b.script(&format!(
        "document.getElementById('proof-result-{index}').scrollIntoView({{block: 'center'}})"
    ))
    .await;
    b.save_screenshot("audit").await;

    b.click(&b.find("#export-bundle").await).await;
    let bundle = webdriver::wait_for_download(&scratch.downloads(), "custody-evidence.json").await;
    let out = verify_bundle(&bundle, None);
    assert!(out.starts_with("ok: 1 entries"), "{out}");
    let _ = site;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_deal_runs_in_the_browser_for_every_role() {
    webdriver::require_browser();
    custody_binary();
    let site = util::start_site().await;
    let driver = Driver::start().await;
    let (admin, eng, officer) = (Scratch::new(), Scratch::new(), Scratch::new());
    let deal = owner_admin(&site, &driver, &admin).await;
    engineer(&site, &driver, &eng, &deal).await;
    security_officer(&site, &driver, &officer).await;
}
