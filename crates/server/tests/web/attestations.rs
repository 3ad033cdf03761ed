//! A destruction attestation in a real headless Chromium over HTTPS: the owner
//! admin offboards a party from its page naming the officer who is to sign;
//! the officer, in a browser without an account, opens the signing page
//! (`/a/{secret}`), asks for a code, types it (read from the outbox), reads
//! the declaration and signs with their name; the admin then sees the request
//! signed on the attestations page and its detail. Every page passes axe.

use app::{Attestations, RequestMeta};

use crate::admin::{external_with_nda, sign_in, submit_and_confirm, wait_for};
use crate::util::{self, EMAIL};
use crate::webdriver::{self, Driver};

const OFFICER: &str = "officer@rotor.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officer_signs_through_the_secret_page_and_the_admin_sees_it_signed() {
    webdriver::require_browser();
    let site = util::start_site().await;
    external_with_nda(&site).await;
    let meta = RequestMeta::default();
    let admin = site.admin().await;
    let auth = site
        .app
        .system(&meta, &admin, app::act::PartyList)
        .await
        .unwrap();
    let party = app::Identity(&site.app)
        .list_parties(auth)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "Rotor Design GmbH")
        .unwrap()
        .id;
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;

    // The admin offboards the party, naming its officer.
    let a = driver
        .session(&scratch.path().join("admin"), scratch.path())
        .await;
    a.set_window(1400, 3000).await;
    sign_in(&a, &site, EMAIL, Some(&util::next_code(&site.totp_secret))).await;
    a.goto(&site.url(&format!("/admin/parties/{party}"))).await;
    wait_for(&a, "the offboarding form", "#party-offboard").await;
    a.type_into(
        &a.find("#party-offboard-reason").await,
        "the subcontract ended",
    )
    .await;
    a.type_into(&a.find("#party-offboard-officer").await, OFFICER)
        .await;
    a.click(&a.find("#party-offboard-confirm").await).await;
    submit_and_confirm(
        &a,
        "#party-offboard-submit",
        "Party offboarded: all its access has ended.",
    )
    .await;
    wait_for(&a, "the attestations link", "#party-attestations-link").await;

    // Mail is off on this site: the admin sends the request again, which
    // shows the signing page's link once.
    let auth = site
        .app
        .system(&meta, &admin, app::act::AttestationRead)
        .await
        .unwrap();
    let listed = Attestations(&site.app)
        .list(auth, Some(party))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let id = listed[0].id;
    assert_eq!(listed[0].officer_email.as_deref(), Some(OFFICER));
    a.goto(&site.url(&format!("/attestations/{id}"))).await;
    wait_for(&a, "the send form", "#attestation-send").await;
    a.click(&a.find("#attestation-send-submit").await).await;
    wait_for(&a, "the new link", "#attestation-link").await;
    let path = a.text(&a.find("#attestation-link").await).await;
    assert!(path.starts_with("/a/"), "{path}");

    // The officer, without an account.
    let o = driver
        .session(&scratch.path().join("officer"), scratch.path())
        .await;
    o.set_window(1400, 2400).await;
    o.goto(&site.url(&path)).await;
    wait_for(&o, "the code request", "#attest-send-code").await;
    o.assert_accessible("the attestation's address page").await;
    o.click(&o.find("#attest-send-code").await).await;
    wait_for(&o, "the code form", "#attest-code").await;
    o.assert_accessible("the attestation's code page").await;
    let code = {
        let mut tx = site.app.store().read().await.unwrap();
        let mut found = None;
        let until = site.clock_now() + 86_400_000;
        for m in tx.due_mail(until, 1000).await.unwrap() {
            let mail = tx.get_mail(m).await.unwrap().unwrap();
            if mail.recipient == OFFICER
                && let Some(rest) = mail.body_text.split("Your code: ").nth(1)
            {
                found = Some(rest.chars().take(6).collect::<String>());
            }
        }
        found.expect("a code in the outbox")
    };
    o.type_into(&o.find("#attest-code").await, &code).await;
    o.click(&o.find("#attest-verify").await).await;
    wait_for(&o, "the declaration", "#attest-text").await;
    o.assert_accessible("the attestation's signing page").await;
    let text = o.text(&o.find("#attest-text").await).await;
    assert!(text.contains("On behalf of Rotor Design GmbH"), "{text}");
    o.type_into(&o.find("#attest-name").await, "Rosa Rotor")
        .await;
    o.click(&o.find("#attest-accept").await).await;
    o.click(&o.find("#attest-sign").await).await;
    wait_for(&o, "the signed page", "[data-code=\"signed\"]").await;
    o.assert_accessible("the attestation signed").await;

    // The admin sees it signed.
    a.goto(&site.url("/attestations")).await;
    wait_for(&a, "the attestations", "#attestations").await;
    a.assert_accessible("the attestations page").await;
    let row = a
        .text(&a.find(&format!("#attestation-{id} .state")).await)
        .await;
    // Shown as a badge (upper case by the style sheet).
    assert_eq!(row.to_lowercase(), "signed");
    a.goto(&site.url(&format!("/attestations/{id}"))).await;
    wait_for(&a, "the signature", "#attestation-signer").await;
    let state = a.text(&a.find("#attestation-state").await).await;
    assert_eq!(state.to_lowercase(), "signed");
    assert_eq!(
        a.text(&a.find("#attestation-signer").await).await,
        "Rosa Rotor"
    );
    assert!(!a.source().await.contains("id=\"attestation-send\""));
    a.assert_accessible("a signed attestation").await;
}
