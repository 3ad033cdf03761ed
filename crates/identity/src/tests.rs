//! The identity use-cases against a real store (SQLite in a temporary
//! directory): self-access through the seam (one's own user, party and
//! sessions), what a denial answers and records, sign-in's per-application
//! state, and the regressions, each named after its bug.

use std::sync::Arc;

use kernel::authz::Principal;
use kernel::facts::principal_for;
use kernel::{App, AppError, Kind, RequestMeta, Settings, act};
use model::*;

use crate::{Identity, NewParty, NewUser, PartyPatch};

const NOW: i64 = 1_700_000_000_000;
const PASSWORD: &str = "correct horse battery";
const ADMIN: &str = "admin@owner.example";

/// A fixed clock.
struct At(i64);

impl kernel::Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// The users of the tests, as principals of multi-factor sessions.
struct World {
    _dir: tempfile::TempDir,
    app: App,
    admin: Principal,
    auditor: Principal,
    member: Principal,
    /// A member of an external party.
    outsider: Principal,
}

async fn app(dir: &std::path::Path, settings: Settings) -> App {
    let url = format!("sqlite://{}", dir.join("meta.db").display());
    let store = store::Store::connect(&url).await.unwrap();
    let key_dir = dir.join("keys");
    let ring = vault::Keyring::init(&key_dir, "k1", [1; 32]).unwrap();
    let blobs = vault::DiskBlobs::open(&dir.join("blobs"), kernel::blocking_pool())
        .await
        .unwrap();
    App::new(
        store,
        ring,
        key_dir,
        Arc::new(blobs),
        Arc::new(At(NOW)),
        settings,
    )
}

/// The principal of the user with `email`, in a session with `mfa`.
async fn principal_of(app: &App, email: &str, mfa: bool) -> Principal {
    let mut tx = app.store().read().await.unwrap();
    let user = tx.get_user_by_email(email).await.unwrap().unwrap();
    principal_for(&mut tx, &user, mfa).await.unwrap()
}

/// Creates a user (no password) as the admin; returns its principal.
async fn user(
    app: &App,
    admin: &Principal,
    email: &str,
    party: PartyId,
    role: SystemRole,
) -> Principal {
    let meta = RequestMeta::default();
    let auth = app.system(&meta, admin, act::UserCreate).await.unwrap();
    let new = NewUser {
        email: email.into(),
        display_name: "Some One".into(),
        party_id: party,
        system_role: role,
        password: None,
    };
    Identity(app).create_user(auth, new).await.unwrap();
    principal_of(app, email, true).await
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), Settings::default()).await;
    let made = Identity(&app)
        .bootstrap("Owner Corp", ADMIN, Some(PASSWORD.into()))
        .await
        .unwrap();
    assert!(made.created);
    let admin = principal_of(&app, ADMIN, true).await;
    let owner = admin.party_id;
    let meta = RequestMeta::default();
    let auth = app.system(&meta, &admin, act::PartyCreate).await.unwrap();
    let new = NewParty {
        name: "Acme".into(),
        country: None,
        active_reason: Some("a test fixture, onboarded before the test".into()),
    };
    let acme = Identity(&app).create_party(auth, new).await.unwrap().id;
    let auditor = user(
        &app,
        &admin,
        "auditor@owner.example",
        owner,
        SystemRole::Auditor,
    )
    .await;
    let member = user(
        &app,
        &admin,
        "member@owner.example",
        owner,
        SystemRole::Member,
    )
    .await;
    let outsider = user(
        &app,
        &admin,
        "someone@acme.example",
        acme,
        SystemRole::Member,
    )
    .await;
    World {
        _dir: dir,
        app,
        admin,
        auditor,
        member,
        outsider,
    }
}

/// What is asked about one user or party.
#[derive(Clone, Copy, Debug)]
enum Ask {
    ViewUser(UserId),
    ViewParty(PartyId),
    RevokeSessions(UserId),
}

/// Asks through the seam and runs the use-case; the outcome in short: `ok`,
/// or the error's kind and code (`NotFound not_found`, `Forbidden
/// forbidden`, `Internal internal`, …).
async fn ask(app: &App, who: &Principal, what: Ask) -> String {
    let meta = RequestMeta::default();
    let id = Identity(app);
    let result: Result<(), AppError> = match what {
        Ask::ViewUser(u) => match app.user(&meta, who, u, act::UserList).await {
            Ok(auth) => id.get_user(auth).await.map(|_| ()),
            Err(e) => Err(e),
        },
        Ask::ViewParty(party) => match app.party(&meta, who, party, act::PartyList).await {
            Ok(auth) => id.get_party(auth).await.map(|_| ()),
            Err(e) => Err(e),
        },
        Ask::RevokeSessions(u) => match app.user(&meta, who, u, act::UserUpdate).await {
            Ok(auth) => id.revoke_sessions(auth).await.map(|_| ()),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("{:?} {}", e.kind(), e.code()),
    }
}

/// The newest event: `<action> <target> <outcome> <reason>`.
async fn newest_event(app: &App) -> String {
    let events = app
        .store()
        .read()
        .await
        .unwrap()
        .list_events(0, 100_000)
        .await
        .unwrap();
    let Some(e) = events.last() else {
        return "-".into();
    };
    let reason = e.reason.as_deref().unwrap_or("-");
    format!("{} {} {:?} {reason}", e.action, e.target, e.outcome)
}

/// Each question by `who` must answer `want` and, when `event` is given,
/// leave it as the newest event (`None`: no event recorded at all).
async fn check(app: &App, table: &[(&Principal, Ask, &str, Option<&str>)]) {
    for (who, what, want, event) in table {
        let before = newest_event(app).await;
        let got = ask(app, who, *what).await;
        assert_eq!(&got, want, "{:?} {what:?}", who.email);
        let after = newest_event(app).await;
        match event {
            Some(event) => assert_eq!(&after, event, "{:?} {what:?}", who.email),
            None => assert_eq!(after, before, "{:?} {what:?} recorded", who.email),
        }
    }
}

const OK: &str = "ok";
const NF: &str = "NotFound not_found";
const FORBIDDEN: &str = "Forbidden forbidden";
const VIEW_DENIED: Option<&str> = Some("user.list system Denied role_forbids");

#[tokio::test]
async fn self_access_goes_through_the_seam_with_its_own_policies() {
    let w = world().await;
    let (admin, auditor, member, outsider) = (&w.admin, &w.auditor, &w.member, &w.outsider);
    let nobody = UserId::from_random([9; 16]);
    let no_party = PartyId::from_random([9; 16]);
    let revoked =
        |user: &Principal| format!("user.sessions_revoked user:{} Allowed -", user.user_id);
    let (own, outsiders) = (revoked(member), revoked(outsider));
    let owner_viewed = Some("party.list system Denied role_forbids");
    let revoke_denied = Some("user.update system Denied role_forbids");
    let table = [
        // Oneself: one's account, one's party, one's sessions.
        (member, Ask::ViewUser(member.user_id), OK, None),
        (outsider, Ask::ViewUser(outsider.user_id), OK, None),
        (outsider, Ask::ViewParty(outsider.party_id), OK, None),
        (
            member,
            Ask::RevokeSessions(member.user_id),
            OK,
            Some(own.as_str()),
        ),
        // Others: hidden from viewing (as before, the denial recorded
        // against `system`), refused for their sessions.
        (outsider, Ask::ViewUser(member.user_id), NF, VIEW_DENIED),
        (member, Ask::ViewUser(outsider.user_id), NF, VIEW_DENIED),
        (member, Ask::ViewUser(auditor.user_id), NF, VIEW_DENIED),
        (outsider, Ask::ViewParty(member.party_id), NF, owner_viewed),
        (
            outsider,
            Ask::RevokeSessions(member.user_id),
            FORBIDDEN,
            revoke_denied,
        ),
        (
            auditor,
            Ask::RevokeSessions(member.user_id),
            FORBIDDEN,
            revoke_denied,
        ),
        // Nobody: decided on the platform, as before.
        (member, Ask::ViewUser(nobody), NF, VIEW_DENIED),
        (outsider, Ask::ViewParty(no_party), NF, owner_viewed),
        (auditor, Ask::ViewUser(nobody), NF, None),
        // The owner's staff view anyone; admins end anyone's sessions.
        (auditor, Ask::ViewUser(outsider.user_id), OK, None),
        (auditor, Ask::ViewParty(outsider.party_id), OK, None),
        (
            admin,
            Ask::RevokeSessions(outsider.user_id),
            OK,
            Some(outsiders.as_str()),
        ),
    ];
    check(&w.app, &table).await;
}

/// A user who has yet to enrol TOTP, or whose party is suspended, still sees
/// its own account and party and ends its own sessions (as before these went
/// through the policies), and nothing else.
#[tokio::test]
async fn self_access_is_open_before_totp_enrolment_and_while_suspended() {
    let w = world().await;
    let meta = RequestMeta::default();
    let pre_totp = principal_of(&w.app, &w.outsider.email, false).await;
    assert!(
        pre_totp.mfa_required,
        "external users must use TOTP by default"
    );
    let (member, outsider) = (&w.member, &w.outsider);
    let own = format!("user.sessions_revoked user:{} Allowed -", outsider.user_id);
    let mfa_denied = Some("user.list system Denied mfa_enrollment_required");
    let revoke_mfa = Some("user.update system Denied mfa_enrollment_required");
    let table = [
        (&pre_totp, Ask::ViewUser(pre_totp.user_id), OK, None),
        (&pre_totp, Ask::ViewParty(pre_totp.party_id), OK, None),
        (&pre_totp, Ask::ViewUser(member.user_id), NF, mfa_denied),
        (
            &pre_totp,
            Ask::RevokeSessions(member.user_id),
            FORBIDDEN,
            revoke_mfa,
        ),
        (
            &pre_totp,
            Ask::RevokeSessions(pre_totp.user_id),
            OK,
            Some(own.as_str()),
        ),
    ];
    check(&w.app, &table).await;

    let auth = w
        .app
        .system(&meta, &w.admin, act::PartyUpdate)
        .await
        .unwrap();
    let suspend = PartyPatch {
        status: Some(PartyStatus::Suspended),
        ..PartyPatch::default()
    };
    Identity(&w.app)
        .update_party(auth, outsider.party_id, suspend)
        .await
        .unwrap();
    let suspended = principal_of(&w.app, &outsider.email, true).await;
    assert_eq!(suspended.party_status, PartyStatus::Suspended);
    let inactive = Some("user.list system Denied party_inactive");
    let revoke_inactive = Some("user.update system Denied party_inactive");
    let table = [
        (&suspended, Ask::ViewUser(suspended.user_id), OK, None),
        (&suspended, Ask::ViewParty(suspended.party_id), OK, None),
        (&suspended, Ask::ViewUser(member.user_id), NF, inactive),
        (
            &suspended,
            Ask::RevokeSessions(member.user_id),
            FORBIDDEN,
            revoke_inactive,
        ),
        (
            &suspended,
            Ask::RevokeSessions(suspended.user_id),
            OK,
            Some(own.as_str()),
        ),
    ];
    check(&w.app, &table).await;
}

/// `get_user` and `get_party` turned every error of the platform-wide check
/// into 404, a store that failed while the denial was recorded included:
/// a broken store looked like a user who does not exist.
#[tokio::test]
async fn a_store_failure_while_reading_a_user_is_an_internal_error_not_404() {
    let w = world().await;
    w.app.store().close().await;
    let (member, outsider) = (&w.member, &w.outsider);
    for (who, what) in [
        (outsider, Ask::ViewUser(member.user_id)),
        (member, Ask::ViewUser(member.user_id)),
        (outsider, Ask::ViewParty(member.party_id)),
        (member, Ask::RevokeSessions(outsider.user_id)),
    ] {
        let got = ask(&w.app, who, what).await;
        assert_eq!(got, "Internal internal", "{:?} {what:?}", who.email);
    }
}

/// An address with no account locks after as many failures as an account
/// does, with the same answer; the counters are the application's (a slot),
/// shared by every `Identity` over it.
#[tokio::test]
async fn an_unknown_address_locks_like_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        max_failed_logins: 2,
        ..Settings::default()
    };
    let app = app(dir.path(), settings).await;
    let meta = RequestMeta::default();
    let mut got = Vec::new();
    for _ in 0..3 {
        let login = Identity(&app)
            .login(
                &meta,
                "nobody@example.com",
                PASSWORD,
                None,
                SessionKind::Api,
            )
            .await;
        got.push(login.err().map_or("signed in", |e| e.code().as_str()));
    }
    assert_eq!(
        got,
        ["invalid_credentials", "account_locked", "account_locked"]
    );
    let other = Identity(&app)
        .login(&meta, "other@example.com", PASSWORD, None, SessionKind::Api)
        .await;
    assert_eq!(
        other.err().map(|e| e.code().as_str()),
        Some("invalid_credentials")
    );
}

#[tokio::test]
async fn sign_in_then_authenticate_and_log_out() {
    let w = world().await;
    let meta = RequestMeta::default();
    let id = Identity(&w.app);
    let login = id
        .login(&meta, ADMIN, PASSWORD, None, SessionKind::Browser)
        .await
        .unwrap();
    let (p, session) = id.authenticate(&login.token).await.unwrap();
    assert_eq!(p.user_id, w.admin.user_id);
    let csrf = login.csrf.as_deref().unwrap_or_default();
    assert!(Identity::csrf_matches(&session, csrf));
    assert!(!Identity::csrf_matches(&session, "forged"));
    id.logout(&meta, &p, &session).await.unwrap();
    let after = id.authenticate(&login.token).await.err().map(|e| e.kind());
    assert_eq!(after, Some(Kind::Unauthenticated));
}
