//! Administration in the browser: an owner admin sets up a party, invites its
//! engineer, writes an NDA template, creates a confidential room requiring it
//! with marked delivery and grants the party, issuing and offering the NDA —
//! all through the pages, each checked by axe-core; a room manager reaches
//! their room's settings and grants but not the parties; an external user
//! sees no administration and signs their agreement from its page. And, with
//! a plain HTTPS client, the forms' CSRF check and their messages for bad
//! input.

use app::{Identity, NewGrant, NewParty, NewUser, RequestMeta};
use model::{AgreementStatus, Delivery, RoomRole, SessionKind, SubjectKind, SystemRole};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};

use crate::util::{self, EMAIL, PASSWORD, Site};
use crate::webdriver::{self, Browser, Driver};

pub(crate) async fn wait_for(b: &Browser, what: &str, css: &str) {
    let probe = format!("return document.querySelector('{css}') !== null");
    b.wait_until(what, &probe).await;
}

pub(crate) async fn sign_in(b: &Browser, site: &Site, email: &str, code: Option<&str>) {
    b.goto(&site.url("/login")).await;
    b.type_into(&b.find("#email").await, email).await;
    b.type_into(&b.find("#password").await, PASSWORD).await;
    if let Some(code) = code {
        b.type_into(&b.find("#totp").await, code).await;
    }
    b.click(&b.find("#sign-in").await).await;
    wait_for(b, "the signed-in header", ".account .email").await;
}

/// Chooses the option of value `value` in the select `css`.
pub(crate) async fn choose(b: &Browser, css: &str, value: &str) {
    b.click(&b.find(&format!("{css} option[value=\"{value}\"]")).await)
        .await;
}

/// Sets a date field. Typing into one depends on the browser's locale (the
/// field shows mm/dd/yyyy or dd.mm.yyyy); its value is always `YYYY-MM-DD`.
pub(crate) async fn set_date(b: &Browser, css: &str, value: &str) {
    b.script(&format!(
        "document.querySelector('{css}').value = '{value}';"
    ))
    .await;
}

/// Clicks `button` and waits for the page's confirmation to say `want`.
pub(crate) async fn submit_and_confirm(b: &Browser, button: &str, want: &str) {
    b.click(&b.find(button).await).await;
    let probe = format!(
        "const c = document.querySelector('#confirmation'); return c !== null && c.textContent === '{want}';"
    );
    b.wait_until(&format!("the confirmation `{want}`"), &probe)
        .await;
}

/// The hrefs of the header's links.
async fn header_links(b: &Browser) -> Vec<String> {
    let v = b
        .script("return Array.from(document.querySelectorAll('nav.pages a')).map(a => a.getAttribute('href'));")
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect()
}

pub(crate) const NDA_TEXT: &str = "Mutual non-disclosure agreement.\nEach party keeps the other's drawings secret for five years.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_admin_sets_up_a_party_a_room_and_its_grant_in_the_browser() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let b = driver
        .session(&scratch.path().join("profile"), scratch.path())
        .await;
    sign_in(&b, &site, EMAIL, Some(&util::next_code(&site.totp_secret))).await;
    let links = header_links(&b).await;
    for want in [
        "/admin/parties",
        "/admin/users",
        "/admin/settings",
        "/agreements",
    ] {
        assert!(links.iter().any(|l| l == want), "{want} not in {links:?}");
    }

    // A party.
    b.goto(&site.url("/admin/parties")).await;
    b.assert_accessible("the parties page").await;
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
    assert_eq!(
        b.text(&b.find("#party-title").await).await,
        "Blade Works Ltd"
    );
    assert_eq!(b.text(&b.find("#party-status").await).await, "active");
    b.assert_accessible("a party's page").await;
    let party_id: model::PartyId = b
        .url()
        .await
        .split("/admin/parties/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .unwrap()
        .parse()
        .unwrap();

    // An invitation to its engineer: the link is shown once, and it works.
    b.click(&b.find("#invite-link").await).await;
    wait_for(&b, "the invitation form", "#invite-form").await;
    b.assert_accessible("the invitation page").await;
    let chosen = b.value(&b.find("#invite-party").await).await;
    assert_eq!(chosen, party_id.to_string(), "the party is chosen");
    b.type_into(
        &b.find("#invite-email").await,
        "engineer@bladeworks.example",
    )
    .await;
    b.type_into(&b.find("#invite-name").await, "Blade Engineer")
        .await;
    b.click(&b.find("#invite-submit").await).await;
    wait_for(&b, "the invitation link", "#invitation-link").await;
    b.assert_accessible("the invitation link").await;
    let link = b.value(&b.find("#invitation-link").await).await;
    let token = link
        .strip_prefix(&format!("{}/invite/", site.base))
        .unwrap_or_else(|| panic!("link: {link}"));
    let meta = RequestMeta::default();
    let engineer = Identity(&site.app)
        .accept_invitation(&meta, token, PASSWORD)
        .await
        .unwrap();
    assert_eq!(engineer.party_id, party_id);
    assert_eq!(engineer.email, "engineer@bladeworks.example");

    // An NDA template, so that a room can require it by name.
    b.goto(&site.url("/admin/templates")).await;
    b.assert_accessible("the templates page").await;
    b.type_into(&b.find("#template-name").await, "mutual-nda-2026")
        .await;
    b.type_into(&b.find("#template-title").await, "Mutual NDA 2026")
        .await;
    b.type_into(&b.find("#template-text").await, NDA_TEXT).await;
    b.type_into(&b.find("#template-duration").await, "730")
        .await;
    submit_and_confirm(&b, "#template-save", "Template saved.").await;
    wait_for(&b, "the template", "#template-mutual-nda-2026").await;
    b.assert_accessible("the templates page with a template")
        .await;

    // A confidential room requiring it, with marked copies for everyone.
    b.goto(&site.url("/rooms/new")).await;
    b.assert_accessible("the new room page").await;
    b.type_into(&b.find("#new-room-name").await, "Rotor blade RFQ")
        .await;
    choose(&b, "#new-room-classification", "confidential").await;
    submit_and_confirm(
        &b,
        "#room-create",
        "Room created. You manage it; set it up below.",
    )
    .await;
    assert_eq!(
        b.text(&b.find("#room-title").await).await,
        "Rotor blade RFQ"
    );
    b.assert_accessible("the room settings").await;
    let room: model::RoomId = b
        .url()
        .await
        .split("/rooms/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    b.click(&b.find("#required-mutual-nda-2026").await).await;
    submit_and_confirm(&b, "#room-save", "Room settings saved.").await;
    let checked = b
        .script("return document.querySelector('#required-mutual-nda-2026').checked")
        .await;
    assert_eq!(checked, true, "the requirement shows as saved");
    choose(&b, "#delivery-downloader", "marked").await;
    choose(&b, "#delivery-manager", "marked").await;
    submit_and_confirm(&b, "#delivery-save", "Delivery policy saved.").await;
    assert_eq!(b.value(&b.find("#delivery-manager").await).await, "marked");

    // The party's access: downloader until a date, with a reason.
    b.click(&b.find("#room-grants-link").await).await;
    wait_for(&b, "the grant form", "#grant-form").await;
    b.assert_accessible("the grants page").await;
    choose(&b, "#grant-subject", &format!("party:{party_id}")).await;
    choose(&b, "#grant-role", "downloader").await;
    set_date(&b, "#grant-expires", "2099-06-30").await;
    b.type_into(&b.find("#grant-reason").await, "rotor blade quote")
        .await;
    submit_and_confirm(&b, "#grant-submit", "Access granted.").await;
    let rows = b.text(&b.find("#grants tbody").await).await;
    for want in [
        "party: Blade Works Ltd",
        "downloader",
        "2099-06-30 00:00 UTC",
        "rotor blade quote",
    ] {
        assert!(rows.contains(want), "`{want}` not in {rows}");
    }
    b.assert_accessible("the grants page with a grant").await;

    // The NDA for the party, from the template, as a draft, then offered.
    b.goto(&site.url("/agreements")).await;
    b.assert_accessible("the agreements page").await;
    choose(&b, "#issue-from-template", "mutual-nda-2026").await;
    choose(&b, "#issue-template-party", &party_id.to_string()).await;
    b.click(&b.find("#issue-template-draft").await).await;
    submit_and_confirm(&b, "#issue-template-submit", "Agreement issued.").await;
    let row = b.text(&b.find("#agreements tbody tr").await).await;
    assert!(
        row.contains("Mutual NDA 2026") && row.contains("draft"),
        "{row}"
    );
    b.click(&b.find("#agreements button.offer").await).await;
    b.wait_until(
        "the offered agreement",
        "const c = document.querySelector('#confirmation'); return c !== null && c.textContent === 'Agreement offered for signature.';",
    )
    .await;
    let row = b.text(&b.find("#agreements tbody tr").await).await;
    assert!(row.contains("awaiting_signature"), "{row}");
    b.assert_accessible("the agreements page with an agreement")
        .await;

    // The party's page gathers it: its agreement, its access and what ends.
    b.goto(&site.url(&format!("/admin/parties/{party_id}")))
        .await;
    let agreements = b.text(&b.find("#party-agreements").await).await;
    assert!(
        agreements.contains("Mutual NDA 2026") && agreements.contains("awaiting_signature"),
        "{agreements}"
    );
    let access = b.text(&b.find("#party-access").await).await;
    for want in [
        "Rotor blade RFQ",
        "all of Blade Works Ltd",
        "downloader",
        "2099-06-30 00:00 UTC",
        "rotor blade quote",
    ] {
        assert!(access.contains(want), "`{want}` not in {access}");
    }
    let activity = b.text(&b.find("#party-activity").await).await;
    assert!(activity.contains("party.create"), "{activity}");
    let ending = b.text(&b.find("#party-ending").await).await;
    assert!(ending.contains("Nothing of this party ends"), "{ending}");
    let users = b.text(&b.find("#party-users").await).await;
    assert!(
        users.contains("engineer@bladeworks.example") && users.contains("none recorded"),
        "{users}"
    );
    b.assert_accessible("a party's page with its overview")
        .await;

    // Everything went through the use-cases.
    let admin = site.admin().await;
    let auth = site
        .app
        .room(&meta, &admin, room, app::act::RoomUpdate)
        .await
        .unwrap();
    let info = auth.target().clone();
    assert_eq!(
        info.room.classification,
        model::Classification::Confidential
    );
    assert_eq!(info.required_agreements, vec!["mutual-nda-2026".to_owned()]);
    let delivery = app::Rooms(&site.app).room_delivery(auth).await.unwrap();
    assert_eq!(
        (delivery.downloader, delivery.manager),
        (Delivery::Marked, Delivery::Marked)
    );
    let auth = site
        .app
        .room(&meta, &admin, room, app::act::GrantList)
        .await
        .unwrap();
    let grants = app::Rooms(&site.app).list_grants(auth).await.unwrap();
    let grant = grants
        .iter()
        .find(|g| g.subject_kind == SubjectKind::Party)
        .expect("the party's grant");
    assert_eq!(
        (grant.subject_id, grant.role),
        (party_id.0, RoomRole::Downloader)
    );
    assert_eq!(grant.reason, "rotor blade quote");
    assert_eq!(
        grant.expires_ms,
        Some(4_086_460_800_000),
        "2099-06-30T00:00Z"
    );
    let auth = site
        .app
        .system(&meta, &admin, app::act::AgreementList)
        .await
        .unwrap();
    let agreements = app::Agreements(&site.app)
        .list_agreements(auth)
        .await
        .unwrap();
    assert_eq!(agreements.len(), 1);
    assert_eq!(agreements[0].party_id, party_id);
    assert_eq!(agreements[0].status, AgreementStatus::AwaitingSignature);
    assert_eq!(agreements[0].template, "mutual-nda-2026");
}

/// A user of the owner party with the password [`PASSWORD`], made by the admin.
async fn owner_member(site: &Site, email: &str) -> model::User {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserCreate)
        .await
        .unwrap();
    Identity(&site.app)
        .create_user(
            auth,
            NewUser {
                email: email.into(),
                display_name: "Mia Manager".into(),
                party_id: admin.party_id,
                system_role: SystemRole::Member,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_manager_sets_up_their_room_but_is_refused_the_parties() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let manager = owner_member(&site, "mia@owner.example").await;
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: manager.id.0,
        role: RoomRole::Manager,
        expires_ms: None,
        reason: "runs the programme".into(),
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

    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let b = driver
        .session(&scratch.path().join("profile"), scratch.path())
        .await;
    sign_in(&b, &site, "mia@owner.example", None).await;
    let links = header_links(&b).await;
    assert!(!links.iter().any(|l| l.starts_with("/admin/")), "{links:?}");

    b.goto(&site.url(&format!("/rooms/{}/settings", site.room)))
        .await;
    wait_for(&b, "the room settings", "#room-form").await;
    b.assert_accessible("the room settings of a manager").await;
    for form in ["#delivery-form", "#dlp-form", "#room-delete-link"] {
        b.find(form).await;
    }
    choose(&b, "#delivery-contributor", "view_only").await;
    submit_and_confirm(&b, "#delivery-save", "Delivery policy saved.").await;
    choose(&b, "#dlp-outbound-critical", "block").await;
    submit_and_confirm(&b, "#dlp-save", "Data-loss policy saved.").await;
    assert!(
        b.text(&b.find("#dlp-source").await)
            .await
            .starts_with("Set for this room.")
    );

    b.goto(&site.url(&format!("/rooms/{}/grants", site.room)))
        .await;
    wait_for(&b, "the grant form", "#grant-form").await;
    b.assert_accessible("the grants page of a manager").await;
    let rows = b.text(&b.find("#grants tbody").await).await;
    assert!(rows.contains("runs the programme"), "{rows}");

    // The parties are not a manager's: the refusal page, with the header.
    b.goto(&site.url("/admin/parties")).await;
    wait_for(&b, "the refusal", "p.error[role=alert]").await;
    assert_eq!(b.text(&b.find("main h1").await).await, "Forbidden");
    b.find(".account .email").await;
    assert!(!b.source().await.contains("party-form"));
    b.assert_accessible("the refusal page").await;

    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::RoomUpdate)
        .await
        .unwrap();
    let delivery = app::Rooms(&site.app).room_delivery(auth).await.unwrap();
    assert_eq!(delivery.contributor, Delivery::ViewOnly);
}

/// An external party, a member of it who has enrolled TOTP (its secret
/// returned), and an NDA offered to the party.
pub(crate) async fn external_with_nda(site: &Site) -> (Vec<u8>, model::Agreement) {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let id = Identity(&site.app);
    let auth = site
        .app
        .system(&meta, &admin, app::act::PartyCreate)
        .await
        .unwrap();
    let party = id
        .create_party(
            auth,
            NewParty {
                name: "Rotor Design GmbH".into(),
                country: Some("DE".into()),
                active_reason: Some("a test fixture, onboarded before the test".into()),
            },
        )
        .await
        .unwrap();
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserCreate)
        .await
        .unwrap();
    id.create_user(
        auth,
        NewUser {
            email: "designer@rotor.example".into(),
            display_name: "Rotor Designer".into(),
            party_id: party.id,
            system_role: SystemRole::Member,
            password: Some(PASSWORD.into()),
        },
    )
    .await
    .unwrap();
    let login = id
        .login(
            &meta,
            "designer@rotor.example",
            PASSWORD,
            None,
            SessionKind::Api,
        )
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
    id.totp_confirm(auth, &session, &util::current_code(&secret))
        .await
        .unwrap();
    let nda = app::NewAgreement {
        party_id: party.id,
        kind: model::AgreementKind::Nda,
        template: "mutual-nda-2026".into(),
        title: "Mutual NDA 2026".into(),
        text: NDA_TEXT.into(),
        terms: model::AgreementTerms::default(),
        effective_ms: None,
        end_ms: Some(4_086_460_800_000),
        draft: false,
    };
    let auth = site
        .app
        .system(&meta, &admin, app::act::AgreementCreate)
        .await
        .unwrap();
    let nda = app::Agreements(&site.app)
        .create_agreement(auth, nda)
        .await
        .unwrap();
    (secret, nda)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_user_sees_no_administration_and_signs_from_the_agreements_page() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (secret, nda) = external_with_nda(&site).await;
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let b = driver
        .session(&scratch.path().join("profile"), scratch.path())
        .await;
    sign_in(
        &b,
        &site,
        "designer@rotor.example",
        Some(&util::next_code(&secret)),
    )
    .await;
    let links = header_links(&b).await;
    assert!(links.iter().any(|l| l == "/agreements"), "{links:?}");
    for admin_only in ["/admin/", "/policies", "/quarantine", "/trace"] {
        assert!(
            !links.iter().any(|l| l.starts_with(admin_only)),
            "{admin_only} in {links:?}"
        );
    }

    b.goto(&site.url("/agreements")).await;
    b.assert_accessible("an external user's agreements").await;
    assert!(
        !b.source().await.contains("issue-form"),
        "no issuing for them"
    );
    let row = b
        .text(&b.find(&format!("#agreement-{}", nda.id)).await)
        .await;
    for want in [
        "Mutual NDA 2026",
        "your party",
        "awaiting_signature",
        "2099-06-30 00:00 UTC",
    ] {
        assert!(row.contains(want), "`{want}` not in {row}");
    }
    b.click(
        &b.find(&format!("#agreement-{} a.agreement-link", nda.id))
            .await,
    )
    .await;
    wait_for(&b, "the agreement", "#sign-form").await;
    b.assert_accessible("the agreement to sign").await;
    assert_eq!(b.text(&b.find(".agreement-text").await).await, NDA_TEXT);
    b.click(&b.find("#agree").await).await;
    b.click(&b.find("#sign").await).await;
    b.wait_until(
        "the signed agreement",
        "const s = document.querySelector('#agreement-status'); return s !== null && s.textContent === 'active';",
    )
    .await;
    b.find("#agreement-signed").await;
    assert!(!b.source().await.contains("sign-form"), "signed once");
    b.assert_accessible("the signed agreement").await;

    // The administration pages answer an error page, never a form.
    for path in [
        "/admin/users",
        "/admin/settings",
        "/admin/templates",
        "/rooms/new",
    ] {
        b.goto(&site.url(path)).await;
        wait_for(&b, "the refusal", "p.error[role=alert]").await;
        b.assert_accessible(&format!("the refusal of {path}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_admin_keeps_users_parties_settings_and_agreements_in_the_browser() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (_, nda) = external_with_nda(&site).await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserList)
        .await
        .unwrap();
    let designer = Identity(&site.app)
        .list_users(auth, Some(nda.party_id))
        .await
        .unwrap()
        .remove(0);
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let b = driver
        .session(&scratch.path().join("profile"), scratch.path())
        .await;
    sign_in(&b, &site, EMAIL, Some(&util::next_code(&site.totp_secret))).await;

    // A user: training, disabling, sessions; the link to their security page.
    b.goto(&site.url("/admin/users")).await;
    b.assert_accessible("the users page").await;
    let row = b
        .text(&b.find(&format!("#user-{}", designer.id)).await)
        .await;
    for want in [
        "designer@rotor.example",
        "Rotor Design GmbH",
        "member",
        "enrolled",
    ] {
        assert!(row.contains(want), "`{want}` not in {row}");
    }
    b.click(&b.find(&format!("#user-{} a.user-link", designer.id)).await)
        .await;
    wait_for(&b, "the user's page", "#training-form").await;
    b.assert_accessible("a user's page").await;
    let security = b
        .script("return document.querySelector('a#user-security').getAttribute('href')")
        .await;
    assert_eq!(
        security,
        format!("/admin/users/{}/security", designer.id).as_str()
    );
    set_date(&b, "#training-until", "2099-06-30").await;
    submit_and_confirm(&b, "#training-save", "Training recorded.").await;
    assert!(
        b.text(&b.find("#user-training").await)
            .await
            .contains("2099-06-30")
    );
    submit_and_confirm(&b, "#user-disable", "User saved.").await;
    assert_eq!(b.text(&b.find("#user-state").await).await, "disabled");
    submit_and_confirm(
        &b,
        "#revoke-sessions",
        "Every session and token of this user was revoked.",
    )
    .await;
    b.assert_accessible("a disabled user's page").await;

    // The party's certification.
    b.goto(&site.url(&format!("/admin/parties/{}", nda.party_id)))
        .await;
    b.type_into(&b.find("#certification-name").await, "ISO/IEC 27001:2022")
        .await;
    set_date(&b, "#certification-until", "2099-06-30").await;
    submit_and_confirm(&b, "#certification-save", "Certification recorded.").await;
    let cert = b.text(&b.find("#party-certification").await).await;
    assert_eq!(cert, "ISO/IEC 27001:2022, until 2099-06-30 00:00 UTC");
    let users = b.text(&b.find("#party-users").await).await;
    assert!(users.contains("designer@rotor.example"), "{users}");

    // The party's certificates one by one: recorded, verified, with its sponsor.
    b.click(&b.find("#party-certifications").await).await;
    wait_for(&b, "the certifications page", "#cert-form").await;
    b.assert_accessible("a party's certifications").await;
    choose(&b, "#cert-standard", "tisax").await;
    b.type_into(&b.find("#cert-issuer").await, "ENX Association")
        .await;
    b.type_into(&b.find("#cert-scope").await, "Rotor design")
        .await;
    b.type_into(&b.find("#cert-number").await, "TX-2026-7")
        .await;
    set_date(&b, "#cert-from", "2026-01-01").await;
    set_date(&b, "#cert-until", "2099-01-01").await;
    submit_and_confirm(
        &b,
        "#cert-record",
        "Certificate recorded; it counts once verified.",
    )
    .await;
    let table = b.text(&b.find("#certifications").await).await;
    assert!(
        table.contains("TISAX") && table.contains("not verified"),
        "{table}"
    );
    b.assert_accessible("a recorded certificate").await;
    submit_and_confirm(&b, "button.verify", "Certificate verified.").await;
    let table = b.text(&b.find("#certifications").await).await;
    assert!(!table.contains("not verified"), "{table}");
    assert!(table.contains("verified, in term"), "{table}");
    let sponsor = b
        .script("return document.querySelector('#sponsor-user option:nth-child(2)').value;")
        .await;
    choose(&b, "#sponsor-user", sponsor.as_str().unwrap()).await;
    submit_and_confirm(&b, "#sponsor-save", "Sponsor saved.").await;
    let named = b.text(&b.find("#party-sponsor").await).await;
    assert!(
        named.starts_with("Sponsor: ") && !named.ends_with("none"),
        "{named}"
    );
    // A certificate that ends before it starts is refused above the form.
    set_date(&b, "#cert-from", "2027-01-01").await;
    set_date(&b, "#cert-until", "2026-01-01").await;
    b.type_into(&b.find("#cert-issuer").await, "ENX").await;
    b.type_into(&b.find("#cert-scope").await, "Rotor").await;
    b.type_into(&b.find("#cert-number").await, "TX-bad").await;
    b.click(&b.find("#cert-record").await).await;
    wait_for(&b, "the refusal", "#cert-form-error").await;
    let error = b.text(&b.find("#cert-form-error").await).await;
    assert!(error.contains("must be after"), "{error}");

    // What each classification requires: restricted rooms also ask for TISAX.
    b.goto(&site.url("/admin/classifications")).await;
    b.assert_accessible("the certifications by classification")
        .await;
    b.click(&b.find("#class-restricted-tisax").await).await;
    submit_and_confirm(&b, "#class-restricted-save", "Requirements saved.").await;
    let row = b.text(&b.find("#class-restricted .required").await).await;
    assert!(
        row.contains("TISAX") && row.contains("any security certification"),
        "{row}"
    );

    // Settings: a zone, a rule added and removed, the key facts.
    b.goto(&site.url("/admin/settings")).await;
    b.assert_accessible("the settings page").await;
    assert_eq!(b.text(&b.find("#kek-current").await).await, "k1");
    assert!(
        b.text(&b.find("#last-rotation").await)
            .await
            .starts_with("never rotated")
    );
    b.type_into(
        &b.find("#zones-text").await,
        "office de 192.0.2.0/24 2001:db8::/32",
    )
    .await;
    submit_and_confirm(&b, "#zones-save", "Network zones saved.").await;
    let zone = b.text(&b.find("#zone-office").await).await;
    assert!(
        zone.contains("DE") && zone.contains("2001:db8::/32"),
        "{zone}"
    );
    b.type_into(&b.find("#rule-id").await, "acme.codename")
        .await;
    b.type_into(&b.find("#rule-message").await, "a project code name")
        .await;
    b.type_into(&b.find("#rule-pattern").await, "zebracorn")
        .await;
    submit_and_confirm(&b, "#rule-add", "Rule added.").await;
    let rule = b.text(&b.find("[id='rule-acme.codename']").await).await;
    assert!(
        rule.contains("keywords: zebracorn") && rule.contains("high"),
        "{rule}"
    );
    b.assert_accessible("the settings page with a zone and a rule")
        .await;
    submit_and_confirm(&b, "[id='remove-rule-acme.codename']", "Rule removed.").await;
    b.find("#no-rules").await;
    let auth = site
        .app
        .system(&meta, &admin, app::act::ZoneList)
        .await
        .unwrap();
    let zones = app::Policies(&site.app).list_zones(auth).await.unwrap();
    assert_eq!((zones.len(), zones[0].country.as_str()), (1, "DE"));

    // Terminating the NDA, after the confirmation.
    b.goto(&site.url("/agreements")).await;
    b.click(&b.find(&format!("#terminate-{}", nda.id)).await)
        .await;
    wait_for(&b, "the confirmation", "#terminate-confirm").await;
    b.assert_accessible("the termination's confirmation").await;
    submit_and_confirm(&b, "#terminate-confirm", "Agreement terminated.").await;
    let row = b
        .text(&b.find(&format!("#agreement-{}", nda.id)).await)
        .await;
    assert!(row.contains("terminated"), "{row}");

    // Deleting a room, after the confirmation.
    b.goto(&site.url(&format!("/rooms/{}/settings", site.room)))
        .await;
    b.click(&b.find("#room-delete-link").await).await;
    wait_for(&b, "the confirmation", "#room-delete-confirm").await;
    b.assert_accessible("the deletion's confirmation").await;
    b.click(&b.find("#room-delete-confirm").await).await;
    b.wait_until("the rooms list", "return location.pathname === '/'")
        .await;
    let gone = site
        .app
        .room(&meta, &admin, site.room, app::act::RoomView)
        .await;
    assert!(
        matches!(gone, Err(app::AppError::NotFound)),
        "{:?}",
        gone.map(|_| ())
    );
    let auth = site
        .app
        .user(&meta, &admin, designer.id, app::act::UserList)
        .await
        .unwrap();
    let designer = Identity(&site.app).get_user(auth).await.unwrap();
    assert!(designer.disabled);
    assert_eq!(designer.training_until_ms, Some(4_086_460_800_000));
}

// ---------------------------------------------------------------- plain HTTP

fn client() -> Client {
    Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs the admin in through the form; returns the cookie header and the
/// CSRF token.
async fn http_sign_in(http: &Client, site: &Site) -> (String, String) {
    http_sign_in_as(http, site, EMAIL, &util::next_code(&site.totp_secret)).await
}

async fn http_sign_in_as(http: &Client, site: &Site, email: &str, code: &str) -> (String, String) {
    let body = format!(
        "email={}&password={}&totp={code}",
        email.replace('@', "%40"),
        PASSWORD.replace(' ', "+"),
    );
    let r = http
        .post(site.url("/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<String> = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let csrf = cookies
        .iter()
        .find_map(|c| c.strip_prefix("custody_csrf="))
        .unwrap()
        .to_owned();
    (cookies.join("; "), csrf)
}

async fn post_form(
    http: &Client,
    site: &Site,
    cookies: &str,
    path: &str,
    body: &str,
) -> reqwest::Response {
    http.post(site.url(path))
        .header(COOKIE, cookies)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn party_names(site: &Site) -> Vec<String> {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, app::act::PartyList)
        .await
        .unwrap();
    let parties = Identity(&site.app).list_parties(auth).await.unwrap();
    parties.into_iter().map(|p| p.name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administration_forms_need_the_csrf_token() {
    let site = util::start_site().await;
    let http = client();
    let (cookies, csrf) = http_sign_in(&http, &site).await;
    let before = party_names(&site).await;
    let room = site.room;
    let delete = format!("/rooms/{room}/delete");
    let forged = [
        ("/admin/parties", "name=Forged+Ltd".to_owned()),
        (
            "/admin/parties",
            "name=Forged+Ltd&csrf=not-the-token".to_owned(),
        ),
        (
            "/admin/users/invite",
            "email=x%40y.example&display_name=X&party=x&system_role=member".to_owned(),
        ),
        ("/rooms/new", "name=Forged&classification=public".to_owned()),
        (delete.as_str(), String::new()),
        ("/admin/settings/zones", "zones=".to_owned()),
    ];
    for (path, body) in &forged {
        let r = post_form(&http, &site, &cookies, path, body).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} {body}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains("did not come from this site"),
            "{path}: {page}"
        );
    }
    assert_eq!(party_names(&site).await, before, "nothing was created");
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let kept = site
        .app
        .room(&meta, &admin, room, app::act::RoomView)
        .await
        .unwrap();
    assert_eq!(kept.target().room.id, room, "the room was not deleted");

    // With the token the same form works, and redirects back with a confirmation.
    let r = post_form(
        &http,
        &site,
        &cookies,
        "/admin/parties",
        &format!("name=Real+Ltd&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        to.starts_with("/admin/parties/") && to.ends_with("?ok=party-created"),
        "{to}"
    );
    assert!(party_names(&site).await.contains(&"Real Ltd".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_said_above_its_form_with_the_values_kept() {
    let site = util::start_site().await;
    let http = client();
    let (cookies, csrf) = http_sign_in(&http, &site).await;
    let room = site.room;
    // (path, form body, the failed form's id, what the message says, a value kept)
    let cases = [
        ("/admin/parties".to_owned(), "name=+".to_owned(), "party-form", "`name` must be 1 to 200 characters", ""),
        ("/admin/parties".to_owned(), "name=Acme&country=Germany".to_owned(), "party-form", "ISO 3166-1 alpha-2", "Germany"),
        ("/admin/users".to_owned(), "email=not-an-address&display_name=X&party=nope&system_role=member".to_owned(), "user-form", "choose the party", "not-an-address"),
        ("/rooms/new".to_owned(), "name=Vault&classification=secret".to_owned(), "room-new-form", "unknown classification `secret`", "Vault"),
        (format!("/rooms/{room}/grants"), "subject=party%3Anope&role=viewer&reason=x".to_owned(), "grant-form", "choose a party or a user", ""),
        (format!("/rooms/{room}/grants"), format!("subject=user%3A{}&role=viewer&expires=tomorrow&reason=because", uuid::Uuid::nil()), "grant-form", "Expires: `tomorrow` is not a date", "because"),
        (format!("/rooms/{room}/grants"), format!("subject=user%3A{}&role=viewer&reason=because", uuid::Uuid::nil()), "grant-form", "no user with id", "because"),
        (format!("/rooms/{room}/settings"), "name=Turbine+blade+programme&classification=confidential&window=on&day=1&start=18%3A00&end=08%3A00".to_owned(), "room-form", "must start before it ends", "18:00"),
        (format!("/rooms/{room}/dlp"), "inbound_low=allow&inbound_medium=allow&inbound_high=block&inbound_critical=allow&inbound_uninspectable=allow&outbound_low=allow&outbound_medium=allow&outbound_high=allow&outbound_critical=allow&outbound_uninspectable=allow".to_owned(), "dlp-form", "milder than", ""),
        (format!("/rooms/{room}/certifications"), "standard=nope".to_owned(), "room-certs-form", "is not a standard", ""),
        ("/admin/classifications/restricted".to_owned(), "standard=tisax&standard=tisax".to_owned(), "class-form-restricted", "required twice", ""),
        ("/admin/settings/zones".to_owned(), "zones=office+DE+192.0.2.0%2F33".to_owned(), "zones-form", "zone `office`", "192.0.2.0/33"),
        ("/admin/settings/rules".to_owned(), "id=Bad+Id&message=m&severity=high&kind=keywords&pattern=zebra".to_owned(), "rule-form", "", "Bad Id"),
        ("/admin/templates".to_owned(), "name=nda&kind=nda&title=T&text=x".to_owned(), "template-form", "not an agreement kind", ""),
        ("/agreements".to_owned(), "party=nope&kind=nda&template=t&title=T&text=x".to_owned(), "issue-form", "choose the party", ""),
    ];
    for (path, body, form, says, kept) in &cases {
        let r = post_form(&http, &site, &cookies, path, &format!("{body}&csrf={csrf}")).await;
        let status = r.status();
        let page = r.text().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {page}");
        let alert = format!("id=\"{form}-error\" role=\"alert\"");
        assert!(page.contains(&alert), "{path} {body}: no {alert} in {page}");
        let message = page
            .split(&alert)
            .nth(1)
            .and_then(|rest| rest.split("</p>").next())
            .unwrap_or_default();
        let message = message.replace("&#96;", "`").replace("&quot;", "\"");
        assert!(
            message.contains(says),
            "{path} {body}: `{says}` not in {message}"
        );
        assert!(page.contains(kept), "{path} {body}: `{kept}` not kept");
        assert!(
            page.contains("<header class=\"topbar\">"),
            "{path}: the page has its header"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_who_may_only_read_get_the_lists_without_the_forms() {
    let site = util::start_site().await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, app::act::UserCreate)
        .await
        .unwrap();
    Identity(&site.app)
        .create_user(
            auth,
            NewUser {
                email: "audrey@owner.example".into(),
                display_name: "Audrey Auditor".into(),
                party_id: admin.party_id,
                system_role: SystemRole::Auditor,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap();
    let http = client();
    let (cookies, _) = http_sign_in_as(&http, &site, "audrey@owner.example", "").await;
    let get = |path: String| {
        let (http, cookies) = (&http, &cookies);
        let url = site.url(&path);
        async move {
            let r = http.get(url).header(COOKIE, cookies).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // (page, what it shows, the forms it must not show)
    let pages = [
        (
            "/admin/users".to_owned(),
            "id=\"users\"",
            vec!["user-form", "invite-user"],
        ),
        (
            format!("/admin/users/{}", admin.user_id),
            "id=\"user-facts\"",
            vec!["user-role-form", "training-form", "sessions-form"],
        ),
        (
            "/admin/parties".to_owned(),
            "id=\"parties\"",
            vec!["party-form"],
        ),
        (
            format!("/admin/parties/{}", admin.party_id),
            "id=\"party-users\"",
            vec!["party-edit", "certification-form", "invite-link"],
        ),
        (
            "/admin/settings".to_owned(),
            "id=\"keys\"",
            vec!["zones-form", "rule-form"],
        ),
        (
            "/admin/questionnaires".to_owned(),
            "Questionnaires",
            vec!["questionnaire-form"],
        ),
        (
            "/admin/courses".to_owned(),
            "id=\"course-requirements\"",
            vec!["course-form", "course-class-form-"],
        ),
        (
            "/admin/risk".to_owned(),
            "id=\"risk-matrix\"",
            vec!["save-risk"],
        ),
        (
            "/agreements".to_owned(),
            "Agreements",
            vec!["issue-form", "issue-template-form"],
        ),
        (
            format!("/rooms/{}/grants", site.room),
            "id=\"grants\"",
            vec!["grant-form", "class=\"secondary revoke\""],
        ),
    ];
    for (path, shows, hidden) in &pages {
        let (status, page) = get(path.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        assert!(page.contains(shows), "{path}: no {shows}");
        for form in hidden {
            assert!(!page.contains(form), "{path} shows {form}");
        }
    }
    for path in ["/admin/users/invite", "/rooms/new"] {
        let (status, _) = get(path.to_owned()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}
