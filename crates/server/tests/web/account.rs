//! Accounts that protect themselves, in a real headless Chromium over HTTPS:
//! the invitation link opens a page that accepts it (a password, then the
//! second factor and its recovery codes, then the rooms); a recovery code
//! signs in once and only once; an admin removes a user's second factor and
//! unlocks a locked account, each recorded with the reason typed; an owner
//! admin without a second factor is sent to enrol before anything else; and
//! a user ends another of their sessions, which stops working at once. Every
//! page visited passes axe-core's WCAG 2.1 AA rules.

use app::{Identity, NewGrant, RequestMeta, act};
use model::{MailDigest, PartyId, RoomRole, SessionKind, SubjectKind, SystemRole, UserId};
use reqwest::StatusCode;

use crate::util::{self, EMAIL, PASSWORD, ROOM, Site};
use crate::webdriver::{self, Browser, Driver};

/// A browser of its own: its profile and downloads in a temporary directory.
struct Tab {
    _scratch: tempfile::TempDir,
    _driver: Driver,
    b: Browser,
}

async fn tab() -> Tab {
    webdriver::require_browser();
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let b = driver
        .session(&scratch.path().join("profile"), scratch.path())
        .await;
    Tab {
        _scratch: scratch,
        _driver: driver,
        b,
    }
}

async fn wait_for(b: &Browser, what: &str, css: &str) {
    let probe = format!("return document.querySelector('{css}') !== null");
    b.wait_until(what, &probe).await;
}

/// Waits until the element `css` holds exactly `text` (a new page's, not the
/// one the click left).
async fn wait_text(b: &Browser, css: &str, text: &str) {
    let probe = format!(
        "const e = document.querySelector('{css}'); return e !== null && e.textContent.trim() === {};",
        serde_json::to_string(text).unwrap()
    );
    b.wait_until(&format!("`{text}` in {css}"), &probe).await;
}

/// Signs in through the form with a one-time code, or a recovery code, or neither.
async fn sign_in(b: &Browser, site: &Site, email: &str, password: &str, code: Code<'_>) {
    b.goto(&site.url("/login")).await;
    b.type_into(&b.find("#email").await, email).await;
    b.type_into(&b.find("#password").await, password).await;
    match code {
        Code::None => {}
        Code::Totp(code) => b.type_into(&b.find("#totp").await, code).await,
        Code::Recovery(code) => {
            b.click(&b.find("#use-recovery").await).await;
            b.type_into(&b.find("#recovery").await, code).await;
        }
    }
    b.click(&b.find("#sign-in").await).await;
}

enum Code<'a> {
    None,
    Totp(&'a str),
    Recovery(&'a str),
}

async fn sign_out(b: &Browser) {
    b.click(&b.find("form[action='/logout'] button").await)
        .await;
    wait_for(b, "the sign-in form", "#sign-in").await;
}

/// An external party made by the admin, with a downloader grant in the site's room.
async fn granted_party(site: &Site, name: &str) -> PartyId {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, act::PartyCreate)
        .await
        .unwrap();
    let new = app::NewParty {
        name: name.into(),
        country: Some("DE".into()),
        active_reason: Some("a test fixture, onboarded before the test".into()),
    };
    let party = Identity(&site.app).create_party(auth, new).await.unwrap();
    let grant = NewGrant {
        subject_kind: SubjectKind::Party,
        subject_id: party.id.0,
        role: RoomRole::Downloader,
        expires_ms: None,
        reason: "work package".into(),
    };
    let auth = site
        .app
        .room(&meta, &admin, site.room, act::GrantCreate)
        .await
        .unwrap();
    app::Rooms(&site.app)
        .create_grant(auth, grant)
        .await
        .unwrap();
    party.id
}

/// A user made by the admin with [`PASSWORD`].
async fn user(site: &Site, email: &str, party: PartyId, role: SystemRole) -> UserId {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, act::UserCreate)
        .await
        .unwrap();
    let new = app::NewUser {
        email: email.into(),
        display_name: "Some One".into(),
        party_id: party,
        system_role: role,
        password: Some(PASSWORD.into()),
    };
    Identity(&site.app).create_user(auth, new).await.unwrap().id
}

/// Enrols `email`'s authenticator through the use-cases; returns the secret
/// and the recovery codes.
async fn enrolled(site: &Site, email: &str) -> (Vec<u8>, Vec<String>) {
    let (meta, id) = (RequestMeta::default(), Identity(&site.app));
    let login = id
        .login(&meta, email, PASSWORD, None, SessionKind::Api)
        .await
        .unwrap();
    let (p, session) = id.authenticate(&login.token).await.unwrap();
    let auth = site.app.system(&meta, &p, act::TotpEnroll).await.unwrap();
    let secret = util::base32_decode(&id.totp_begin(auth).await.unwrap().secret_base32);
    let auth = site.app.system(&meta, &p, act::TotpEnroll).await.unwrap();
    let login = id
        .totp_confirm(auth, &session, &util::current_code(&secret))
        .await
        .unwrap();
    (secret, login.recovery_codes)
}

/// The events of `action` about `target`, read as the admin.
async fn events(site: &Site, action: &str, target: &str) -> Vec<model::Event> {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, act::EventRead)
        .await
        .unwrap();
    let filter = app::events::EventFilter {
        action: Some(action.into()),
        limit: 1000,
        ..Default::default()
    };
    let all = app::Audit(&site.app)
        .search_events(auth, filter)
        .await
        .unwrap();
    all.into_iter().filter(|e| e.target == target).collect()
}

/// Enrols the authenticator in the browser from `/totp`; returns the
/// recovery codes the page shows once, having continued past them.
pub(crate) async fn enrol_in_browser(b: &Browser) -> Vec<String> {
    wait_for(b, "the enrolment page", "#totp-start").await;
    b.assert_accessible("the enrolment page").await;
    b.click(&b.find("#totp-start").await).await;
    wait_for(b, "the secret", "#totp-secret").await;
    b.assert_accessible("the secret to enter").await;
    let secret = util::base32_decode(&b.text(&b.find("#totp-secret").await).await);
    b.type_into(&b.find("#code").await, &util::current_code(&secret))
        .await;
    b.click(&b.find("#totp-confirm").await).await;
    wait_for(b, "the recovery codes", "#recovery-codes").await;
    b.assert_accessible("the recovery codes").await;
    let codes = b
        .script("return [...document.querySelectorAll('#recovery-codes li')].map(li => li.textContent.trim())")
        .await;
    let codes: Vec<String> = codes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    b.click(&b.find("#recovery-saved").await).await;
    codes
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Defect 1: the `accept_path` of an invitation (`/invite/<token>`) answered
/// a JSON 404; no page accepted an invitation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_invitation_link_opens_a_page_that_accepts_it() {
    let site = util::start_site().await;
    let party = granted_party(&site, "Blade Works Ltd").await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, act::InvitationCreate)
        .await
        .unwrap();
    let email = "newcomer@bladeworks.example";
    let (_, token) = Identity(&site.app)
        .invite(auth, email, "Nina Newcomer", party, SystemRole::Member)
        .await
        .unwrap();
    let link = site.url(&format!("/invite/{token}"));

    let t = tab().await;
    let b = &t.b;
    b.goto(&link).await;
    wait_for(b, "the invitation", "#invitation").await;
    b.assert_accessible("the invitation page").await;
    let who = b.text(&b.find("#invite-who").await).await;
    assert!(
        who.contains("Administrator")
            && who.contains("Nina Newcomer")
            && who.contains(email)
            && who.contains("Blade Works Ltd"),
        "{who}"
    );

    // Two different passwords, then one too short: a clear message each.
    let table = [
        (
            "correct horse battery",
            "correct horse batterx",
            "The two passwords differ. Type the same password twice.",
        ),
        ("short", "short", "A password needs at least 12 characters."),
    ];
    for (password, confirm, message) in table {
        b.type_into(&b.find("#new-password").await, password).await;
        b.type_into(&b.find("#confirm-password").await, confirm)
            .await;
        // The browser checks `minlength` itself; the server's rule is what is tested.
        b.script("document.querySelector('#new-password').removeAttribute('minlength')")
            .await;
        b.click(&b.find("#accept-invitation").await).await;
        wait_text(b, "#invite-error", message).await;
        b.assert_accessible("the refused invitation form").await;
    }

    b.type_into(&b.find("#new-password").await, PASSWORD).await;
    b.type_into(&b.find("#confirm-password").await, PASSWORD)
        .await;
    b.click(&b.find("#accept-invitation").await).await;
    // Signed in; an external account enrols a second factor first.
    let codes = enrol_in_browser(b).await;
    assert_eq!(codes.len(), 10, "{codes:?}");
    wait_for(b, "the rooms list", "#rooms").await;
    b.assert_accessible("the rooms after joining").await;
    let row = b.text(&b.find("#rooms tbody tr").await).await;
    assert!(row.contains(ROOM) && row.contains("downloader"), "{row}");

    // The link is spent: a page that says so (410), never JSON.
    let answer = http().get(&link).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::GONE);
    let kind = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");
    b.goto(&link).await;
    wait_for(b, "the spent invitation", "#invitation-spent").await;
    b.assert_accessible("the spent invitation").await;
    let unknown = site.url("/invite/not-a-real-token");
    let answer = http().get(&unknown).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    assert!(answer.text().await.unwrap().contains("invitation-unknown"));
    b.goto(&unknown).await;
    wait_for(b, "the unknown invitation", "#invitation-unknown").await;
    b.assert_accessible("the unknown invitation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_code_signs_in_once() {
    let site = util::start_site().await;
    let party = granted_party(&site, "Recovery Co").await;
    let email = "lost.phone@recovery.example";
    user(&site, email, party, SystemRole::Member).await;
    let (_, codes) = enrolled(&site, email).await;
    assert_eq!(codes.len(), 10);
    let code = &codes[3];

    let t = tab().await;
    let b = &t.b;
    b.goto(&site.url("/login")).await;
    b.click(&b.find("#use-recovery").await).await;
    b.assert_accessible("the sign-in form with the recovery field")
        .await;
    sign_in(b, &site, email, PASSWORD, Code::Recovery(code)).await;
    wait_for(b, "the rooms list", "#rooms").await;
    let used = events(
        &site,
        "auth.recovery_code_used",
        &format!("user:{}", user_of(&site, email).await),
    )
    .await;
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].detail["left"], 9);
    sign_out(b).await;

    sign_in(b, &site, email, PASSWORD, Code::Recovery(code)).await;
    let refusal = "The recovery code is wrong or was already used: each code works once.";
    wait_text(b, "#login-error", refusal).await;
    b.assert_accessible("the refused recovery code").await;
    // Another code still works, typed without its dashes.
    sign_in(
        b,
        &site,
        email,
        PASSWORD,
        Code::Recovery(&codes[4].replace('-', "")),
    )
    .await;
    wait_for(b, "the rooms list", "#rooms").await;

    // New codes from the account page: shown once; the old ones die.
    b.goto(&site.url("/account")).await;
    wait_text(b, "#recovery-left", "8 of 10 recovery codes left.").await;
    b.click(&b.find("#renew-recovery").await).await;
    wait_for(b, "the new recovery codes", "#recovery-codes").await;
    b.assert_accessible("the new recovery codes").await;
    let fresh = b
        .script("return [...document.querySelectorAll('#recovery-codes li')].map(li => li.textContent.trim())")
        .await;
    assert_eq!(fresh.as_array().map(Vec::len), Some(10), "{fresh}");
    b.click(&b.find("#recovery-saved").await).await;
    wait_text(b, "#recovery-left", "10 of 10 recovery codes left.").await;
    sign_out(b).await;
    sign_in(b, &site, email, PASSWORD, Code::Recovery(&codes[5])).await;
    wait_text(b, "#login-error", refusal).await;
    let new_code = fresh[0].as_str().unwrap();
    sign_in(b, &site, email, PASSWORD, Code::Recovery(new_code)).await;
    wait_for(b, "the rooms list", "#rooms").await;
}

async fn user_of(site: &Site, email: &str) -> UserId {
    let mut tx = site.app.store().read().await.unwrap();
    tx.get_user_by_email(email).await.unwrap().unwrap().id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_an_admin_removes_a_second_factor_and_unlocks_an_account_for_a_reason() {
    let site = util::start_site().await;
    let party = granted_party(&site, "Locked Out Ltd").await;
    let email = "locked@lockedout.example";
    let id = user(&site, email, party, SystemRole::Member).await;
    enrolled(&site, email).await;
    let meta = RequestMeta::default();
    for _ in 0..app::Settings::default().max_failed_logins {
        let refused = Identity(&site.app)
            .login(&meta, email, "not the password", None, SessionKind::Api)
            .await;
        assert!(refused.is_err());
    }
    let locked = Identity(&site.app)
        .login(&meta, email, PASSWORD, None, SessionKind::Api)
        .await;
    assert_eq!(
        locked.err().map(|e| e.code().as_str()),
        Some("account_locked")
    );

    let t = tab().await;
    let b = &t.b;
    sign_in(
        b,
        &site,
        EMAIL,
        PASSWORD,
        Code::Totp(&util::next_code(&site.totp_secret)),
    )
    .await;
    wait_for(b, "the rooms list", "#rooms").await;
    let page = site.url(&format!("/admin/users/{id}/security"));
    b.goto(&page).await;
    wait_for(b, "the security page", "#security-state").await;
    b.assert_accessible("the security page").await;
    assert!(
        b.text(&b.find("#lock-state").await)
            .await
            .starts_with("Locked until")
    );
    assert!(
        b.text(&b.find("#mfa-state").await)
            .await
            .contains("10 recovery codes left")
    );

    b.type_into(
        &b.find("#unlock-reason").await,
        "called the helpdesk, identity checked",
    )
    .await;
    b.click(&b.find("#unlock").await).await;
    wait_text(b, "#security-done", "The account was unlocked.").await;
    b.assert_accessible("the unlocked account").await;
    assert_eq!(b.text(&b.find("#lock-state").await).await, "Not locked");

    b.type_into(
        &b.find("#reset-reason").await,
        "lost the phone and the codes",
    )
    .await;
    b.click(&b.find("#reset-mfa").await).await;
    b.wait_until(
        "the second factor removed",
        "return (document.querySelector('#mfa-state') || {}).textContent?.startsWith('None enrolled')",
    )
    .await;
    b.assert_accessible("the removed second factor").await;

    let target = format!("user:{id}");
    let unlocked = events(&site, "user.unlock", &target).await;
    assert_eq!(unlocked.len(), 1, "{unlocked:?}");
    assert_eq!(
        unlocked[0].detail["reason"],
        "called the helpdesk, identity checked"
    );
    assert_eq!(unlocked[0].detail["was_locked"], true);
    let reset = events(&site, "user.mfa_reset", &target).await;
    assert_eq!(reset.len(), 1, "{reset:?}");
    assert_eq!(reset[0].detail["reason"], "lost the phone and the codes");
    assert_eq!(reset[0].detail["had_totp"], true);
    assert_eq!(reset[0].detail["recovery_codes_removed"], 10);
    assert_eq!(reset[0].actor_user, Some(site.admin().await.user_id));

    // The user signs in with the password alone, and enrols again first.
    sign_out(b).await;
    sign_in(b, &site, email, PASSWORD, Code::None).await;
    wait_for(b, "the enrolment page", "#totp-start").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_owner_admin_with_a_password_alone_enrols_a_second_factor_first() {
    let site = util::start_site().await;
    let owner = site.admin().await.party_id;
    let email = "second.admin@owner.example";
    user(&site, email, owner, SystemRole::Admin).await;

    let t = tab().await;
    let b = &t.b;
    sign_in(b, &site, email, PASSWORD, Code::None).await;
    wait_for(b, "the enrolment page", "#totp-start").await;
    assert!(b.url().await.ends_with("/totp"), "at {}", b.url().await);
    for path in [
        "/",
        "/search",
        "/policies",
        "/quarantine",
        "/trace",
        "/notifications",
    ] {
        b.goto(&site.url(path)).await;
        wait_for(b, "the enrolment page", "#totp-start").await;
        assert!(
            b.url().await.ends_with("/totp"),
            "{path} led to {}",
            b.url().await
        );
    }
    enrol_in_browser(b).await;
    wait_for(b, "the rooms list", "#rooms").await;
    b.goto(&site.url("/policies")).await;
    assert!(b.url().await.ends_with("/policies"), "at {}", b.url().await);
    b.assert_accessible("the policies page").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_ends_another_session_and_manages_tokens() {
    let site = util::start_site().await;
    let owner = site.admin().await.party_id;
    let email = "engineer@owner.example";
    user(&site, email, owner, SystemRole::Member).await;
    let id = Identity(&site.app);
    let meta = RequestMeta {
        source_addr: Some("198.51.100.23".into()),
        ..RequestMeta::default()
    };
    let elsewhere = id
        .login(&meta, email, PASSWORD, None, SessionKind::Api)
        .await
        .unwrap();
    assert!(id.authenticate(&elsewhere.token).await.is_ok());

    let t = tab().await;
    let b = &t.b;
    sign_in(b, &site, email, PASSWORD, Code::None).await;
    wait_for(b, "the rooms page", "a[href=\"/account\"]").await;
    b.click(&b.find("a[href='/account']").await).await;
    wait_for(b, "the account page", "#session-list").await;
    b.assert_accessible("the account page").await;
    let other_row = format!("#session-{}", elsewhere.session.id);
    let row = b.text(&b.find(&other_row).await).await;
    assert!(
        row.contains("API sign-in") && row.contains("198.51.100.23"),
        "{row}"
    );
    let mine = b.text(&b.find("#session-list strong.current").await).await;
    assert_eq!(mine, "(this session)");

    b.click(&b.find(&format!("{other_row} button.end")).await)
        .await;
    b.wait_until(
        "the ended session gone",
        &format!("return document.querySelector('#session-list') && !document.querySelector('{other_row}')"),
    )
    .await;
    let ended = id.authenticate(&elsewhere.token).await;
    assert_eq!(
        ended.err().map(|e| e.code().as_str()),
        Some("unauthenticated")
    );

    // A named token, shown once; it works until revoked.
    b.type_into(&b.find("#token-name").await, "build server")
        .await;
    b.script("document.querySelector('#token-days').value = '7'")
        .await;
    b.click(&b.find("#create-token").await).await;
    wait_for(b, "the new token", "#new-token").await;
    b.assert_accessible("the new token").await;
    let token = b.text(&b.find("#new-token").await).await;
    let (_, session) = id.authenticate(&token).await.unwrap();
    assert_eq!(session.name.as_deref(), Some("build server"));
    assert_eq!(session.expires_ms - session.created_ms, 7 * 86_400_000);
    let token_row = format!("#token-list #session-{}", session.id);
    b.click(&b.find(&format!("{token_row} button.end")).await)
        .await;
    wait_for(b, "no token left", "#no-tokens").await;
    assert!(id.authenticate(&token).await.is_err());

    // Every other session ends; this one stays.
    let third = id
        .login(&meta, email, PASSWORD, None, SessionKind::Browser)
        .await
        .unwrap();
    b.goto(&site.url("/account")).await;
    let rows = "return document.querySelectorAll('#session-list tbody tr').length";
    assert_eq!(b.script(rows).await, 2);
    b.click(&b.find("#end-others").await).await;
    b.wait_until(
        "one session left",
        &format!("{}=== 1", rows.trim_end_matches(';')),
    )
    .await;
    assert!(id.authenticate(&third.token).await.is_err());

    // Notifications by e-mail: a daily digest instead of each at once.
    let user = user_of(&site, email).await;
    let mut tx = site.app.store().read().await.unwrap();
    assert_eq!(
        tx.mail_preference(user).await.unwrap().0,
        MailDigest::Immediate
    );
    drop(tx);
    assert_eq!(
        b.script("return document.querySelector('#mail-immediate').checked")
            .await,
        true
    );
    b.click(&b.find("#mail-daily").await).await;
    b.click(&b.find("#mail-save").await).await;
    b.wait_until(
        "the choice saved",
        "return location.hash === '#mail' && document.querySelector('#mail-daily').checked",
    )
    .await;
    b.assert_accessible("the account page's mail choice").await;
    let mut tx = site.app.store().read().await.unwrap();
    assert_eq!(tx.mail_preference(user).await.unwrap().0, MailDigest::Daily);
}
