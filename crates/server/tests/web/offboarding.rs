//! Offboarding in the browser: an owner admin offboards a party from its page
//! (a reason and a confirmation; refused without the confirmation), sees it
//! offboarded with no status to pick that would bring it back, and starts its
//! onboarding again from `prospective`; the engineer's session ends at once.
//! One user is offboarded alone from the user's page. Each page checked by
//! axe-core.

use app::{Identity, RequestMeta};

use crate::admin::{external_with_nda, sign_in, submit_and_confirm, wait_for};
use crate::util::{self, EMAIL, Site};
use crate::webdriver::{self, Browser, Driver};

const ENGINEER: &str = "designer@rotor.example";

/// The id of the party and of its engineer.
async fn party_and_engineer(site: &Site) -> (String, String) {
    let meta = RequestMeta::default();
    let admin = site.admin().await;
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserList)
        .await
        .unwrap();
    let user = Identity(&site.app)
        .list_users(auth, None)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email == ENGINEER)
        .unwrap();
    (user.party_id.to_string(), user.id.to_string())
}

async fn fill(b: &Browser, css: &str, text: &str) {
    b.type_into(&b.find(css).await, text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_offboards_the_party_and_starts_its_onboarding_again() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (secret, _) = external_with_nda(&site).await;
    let (party, engineer) = party_and_engineer(&site).await;
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;

    // The engineer is signed in.
    let e = driver
        .session(&scratch.path().join("engineer"), scratch.path())
        .await;
    sign_in(&e, &site, ENGINEER, Some(&util::next_code(&secret))).await;

    let a = driver
        .session(&scratch.path().join("admin"), scratch.path())
        .await;
    a.set_window(1400, 3000).await;
    sign_in(&a, &site, EMAIL, Some(&util::next_code(&site.totp_secret))).await;

    // The party: offboarding needs the confirmation.
    a.goto(&site.url(&format!("/admin/parties/{party}"))).await;
    wait_for(&a, "the offboarding form", "#party-offboard").await;
    a.assert_accessible("a party that can be offboarded").await;
    let statuses = a.text(&a.find("#party-edit-status").await).await;
    assert!(
        !statuses.contains("offboarded"),
        "not a status to pick: {statuses}"
    );
    fill(&a, "#party-offboard-reason", "the subcontract ended").await;
    a.script("document.querySelector('#party-offboard-confirm').required = false;")
        .await;
    a.click(&a.find("#party-offboard-submit").await).await;
    wait_for(&a, "the refusal", "#party-offboard-error").await;
    let refusal = a.source().await;
    assert!(
        refusal.contains("tick the box"),
        "refused without the confirmation"
    );
    assert_eq!(
        a.text(&a.find("#party-status").await).await,
        "active",
        "nothing ended"
    );

    // With it, everything ends.
    a.goto(&site.url(&format!("/admin/parties/{party}"))).await;
    wait_for(&a, "the offboarding form", "#party-offboard").await;
    fill(&a, "#party-offboard-reason", "the subcontract ended").await;
    a.click(&a.find("#party-offboard-confirm").await).await;
    submit_and_confirm(
        &a,
        "#party-offboard-submit",
        "Party offboarded: all its access has ended.",
    )
    .await;
    assert_eq!(a.text(&a.find("#party-status").await).await, "offboarded");
    a.assert_accessible("an offboarded party").await;
    assert!(
        !a.source().await.contains("id=\"party-offboard\""),
        "no second offboarding"
    );

    // The engineer's session ended with it.
    e.goto(&site.url("/")).await;
    wait_for(&e, "the sign-in page", "form[action=\"/login\"]").await;

    // The user's page says so and offers no offboarding any more.
    a.goto(&site.url(&format!("/admin/users/{engineer}"))).await;
    wait_for(&a, "the user", "#user-state").await;
    assert_eq!(a.text(&a.find("#user-state").await).await, "disabled");
    assert!(!a.source().await.contains("id=\"user-offboard\""));
    a.assert_accessible("an offboarded user").await;

    // Its onboarding starts again from prospective.
    a.goto(&site.url(&format!("/admin/parties/{party}"))).await;
    wait_for(&a, "the re-onboarding form", "#party-reonboard").await;
    fill(&a, "#party-reonboard-reason", "a new contract").await;
    submit_and_confirm(
        &a,
        "#party-reonboard-submit",
        "Onboarding started again: the party is prospective.",
    )
    .await;
    assert_eq!(a.text(&a.find("#party-status").await).await, "prospective");
    a.assert_accessible("a party being onboarded again").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_offboards_one_user_from_the_users_page() {
    webdriver::require_browser();
    let site = util::start_site().await;
    external_with_nda(&site).await;
    let (party, engineer) = party_and_engineer(&site).await;
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let a = driver
        .session(&scratch.path().join("admin"), scratch.path())
        .await;
    a.set_window(1400, 3000).await;
    sign_in(&a, &site, EMAIL, Some(&util::next_code(&site.totp_secret))).await;
    a.goto(&site.url(&format!("/admin/users/{engineer}"))).await;
    wait_for(&a, "the offboarding form", "#user-offboard").await;
    a.assert_accessible("a user that can be offboarded").await;
    fill(&a, "#user-offboard-reason", "moved to another customer").await;
    submit_and_confirm(
        &a,
        "#user-offboard-submit",
        "User offboarded: all their access has ended.",
    )
    .await;
    assert_eq!(a.text(&a.find("#user-state").await).await, "disabled");
    a.goto(&site.url(&format!("/admin/parties/{party}"))).await;
    wait_for(&a, "the party", "#party-status").await;
    assert_eq!(
        a.text(&a.find("#party-status").await).await,
        "active",
        "the party stays"
    );
}
