//! An access review in the browser, as issue 16 asks: an admin starts a
//! campaign of every external grant with two named reviewers; one confirms a
//! grant, the other revokes another, a third is left unreviewed; at the due
//! date (the server's clock moved forward) the campaign applies itself — the
//! revoked and the unreviewed grants end, the confirmed one stays — and the
//! admin exports the report as CSV and as an evidence bundle that
//! `custody ledger verify --bundle` accepts. Each page checked by axe-core.

use app::{Identity, NewGrant, NewParty, NewUser, RequestMeta, Rooms};
use model::{RoomRole, SubjectKind, SystemRole, UserId};

use crate::admin::{choose, set_date, sign_in, submit_and_confirm, wait_for};
use crate::audit::verify_bundle;
use crate::util::{self, EMAIL, PASSWORD, Site};
use crate::webdriver::{self, Browser, Driver};

const DAY: i64 = 86_400_000;

async fn user(site: &Site, party: model::PartyId, email: &str, name: &str) -> UserId {
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
                display_name: name.into(),
                party_id: party,
                system_role: SystemRole::Member,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap()
        .id
}

async fn grant(site: &Site, who: UserId, role: RoomRole) -> model::GrantId {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::GrantCreate)
        .await
        .unwrap();
    let g = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: who.0,
        role,
        expires_ms: None,
        reason: "blade root work package".into(),
    };
    Rooms(&site.app).create_grant(auth, g).await.unwrap().id
}

/// Ticks the grant `g` and decides it with `justification`.
async fn decide(b: &Browser, g: model::GrantId, button: &str, justification: &str) {
    b.click(&b.find(&format!("#pick-{g}")).await).await;
    b.type_into(&b.find("#decide-justification").await, justification)
        .await;
    submit_and_confirm(b, button, "Decision recorded.").await;
}

/// A reviewer signs in, finds the campaign with `pending` grants still
/// undecided, and opens it.
async fn reviewer_decides(
    driver: &Driver,
    dir: &std::path::Path,
    site: &Site,
    email: &str,
    campaign: &str,
    pending: &str,
) -> Browser {
    let b = driver.session(&dir.join(email), dir).await;
    b.set_window(1500, 2400).await;
    sign_in(&b, site, email, None).await;
    b.goto(&site.url("/reviews")).await;
    wait_for(&b, "the campaigns to review", "#assigned").await;
    b.assert_accessible("a reviewer's list").await;
    let shown = b.text(&b.find("#assigned .pending").await).await;
    assert_eq!(shown, pending, "the grants still undecided");
    b.goto(&site.url(&format!("/reviews/{campaign}"))).await;
    wait_for(&b, "the grants under review", "#review-items").await;
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reviewers_confirm_and_revoke_and_the_due_date_ends_the_rest() {
    webdriver::require_browser();
    crate::audit::custody_binary();
    let site = util::start_site().await;
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .system(&meta, &admin, app::act::PartyCreate)
        .await
        .unwrap();
    let party = Identity(&site.app)
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
    let owner = admin.party_id;
    let rita = user(&site, owner, "rita@owner.example", "Rita Reviewer").await;
    let sam = user(&site, owner, "sam@owner.example", "Sam Second").await;
    let e1 = user(&site, party.id, "ana@rotor.example", "Ana Kept").await;
    let e2 = user(&site, party.id, "ben@rotor.example", "Ben Revoked").await;
    let e3 = user(&site, party.id, "cem@rotor.example", "Cem Unreviewed").await;
    let g1 = grant(&site, e1, RoomRole::Downloader).await;
    let g2 = grant(&site, e2, RoomRole::Viewer).await;
    let g3 = grant(&site, e3, RoomRole::Viewer).await;

    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;

    // The admin starts the campaign: every external grant, Rita and Sam.
    let a = driver
        .session(&scratch.path().join("admin"), scratch.path())
        .await;
    a.set_window(1500, 2400).await;
    sign_in(&a, &site, EMAIL, Some(&util::next_code(&site.totp_secret))).await;
    a.goto(&site.url("/reviews")).await;
    wait_for(&a, "the campaign form", "#campaign-form").await;
    a.assert_accessible("the reviews page of an admin").await;
    a.type_into(&a.find("#campaign-name").await, "Q4 external access")
        .await;
    choose(&a, "#campaign-scope", "external").await;
    a.click(&a.find("#campaign-managers").await).await;
    a.click(&a.find("#campaign-sponsors").await).await;
    choose(&a, "#campaign-staff", &rita.to_string()).await;
    choose(&a, "#campaign-staff", &sam.to_string()).await;
    let tomorrow = model::utc_date(site.clock_now() + DAY);
    set_date(&a, "#campaign-due", &tomorrow).await;
    choose(&a, "#campaign-unreviewed", "remove").await;
    submit_and_confirm(
        &a,
        "#campaign-create",
        "Campaign made; when its start has come, its reviewers were told.",
    )
    .await;
    assert_eq!(a.text(&a.find("#campaign-status").await).await, "open");
    a.assert_accessible("a campaign just started").await;
    let campaign = a
        .url()
        .await
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    // Rita confirms Ana's grant; Sam revokes Ben's; nobody decides Cem's.
    let r = reviewer_decides(
        &driver,
        scratch.path(),
        &site,
        "rita@owner.example",
        &campaign,
        "3",
    )
    .await;
    let helpers = r
        .text(&r.find(&format!("#item-{g1} .activity")).await)
        .await;
    assert!(helpers.contains("last access: never"), "{helpers}");
    r.assert_accessible("the grants a reviewer decides").await;
    decide(
        &r,
        g1,
        "#decide-confirm",
        "Ana still works on the blade root",
    )
    .await;
    let s = reviewer_decides(
        &driver,
        scratch.path(),
        &site,
        "sam@owner.example",
        &campaign,
        "2",
    )
    .await;
    decide(&s, g2, "#decide-revoke", "Ben left the project in November").await;
    let row = s
        .text(&s.find(&format!("#item-{g2} .decision")).await)
        .await;
    assert!(
        row.contains("revoke by Sam Second") && row.contains("Ben left the project"),
        "{row}"
    );
    s.assert_accessible("a decision recorded").await;

    // The due date passes: the campaign applies itself.
    site.advance(2 * DAY + 3_600_000);
    assert_eq!(app::Reviews(&site.app).sweep().await.unwrap(), 1);
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::GrantList)
        .await
        .unwrap();
    let live: Vec<_> = Rooms(&site.app)
        .list_grants(auth)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert!(live.contains(&g1), "the confirmed grant stays");
    assert!(
        !live.contains(&g2) && !live.contains(&g3),
        "the revoked and the unreviewed end"
    );

    // The admin (signed in again: two days went by) reads the report and
    // exports it.
    let a = driver
        .session(&scratch.path().join("admin-later"), scratch.path())
        .await;
    a.set_window(1500, 2400).await;
    sign_in(&a, &site, EMAIL, Some(&site.admin_code())).await;
    a.goto(&site.url(&format!("/reviews/{campaign}"))).await;
    wait_for(&a, "the report", "#review-items").await;
    assert_eq!(a.text(&a.find("#campaign-status").await).await, "applied");
    for (g, want) in [(g1, "kept"), (g2, "ended"), (g3, "ended")] {
        let outcome = a.text(&a.find(&format!("#item-{g} .outcome")).await).await;
        assert_eq!(outcome, want, "grant {g}");
    }
    a.assert_accessible("an applied campaign").await;
    // The party's page shows the campaign and what it did to the party's grants.
    a.goto(&site.url(&format!("/admin/parties/{}", party.id)))
        .await;
    wait_for(&a, "the party's reviews", "#party-reviews").await;
    let row = a.text(&a.find("#party-reviews tbody tr").await).await;
    assert!(row.starts_with("Q4 external access applied"), "{row}");
    let counts: Vec<String> = [".grants", ".decided", ".ended"]
        .iter()
        .map(|c| format!("#party-reviews tbody tr {c}"))
        .collect();
    let mut got = Vec::new();
    for css in &counts {
        got.push(a.text(&a.find(css).await).await);
    }
    assert_eq!(got, ["3", "2", "2"], "three grants, two decided, two ended");
    a.goto(&site.url(&format!("/reviews/{campaign}"))).await;
    wait_for(&a, "the report", "#review-items").await;
    a.click(&a.find("#export-csv").await).await;
    let csv =
        webdriver::wait_for_download(scratch.path(), &format!("access-review-{campaign}.csv"))
            .await;
    let csv = std::fs::read_to_string(csv).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.contains("Ana still works on the blade root") && csv.contains(",kept,"),
        "{csv}"
    );
    a.click(&a.find("#export-review-bundle").await).await;
    let bundle =
        webdriver::wait_for_download(scratch.path(), &format!("access-review-{campaign}.json"))
            .await;
    let out = verify_bundle(&bundle, None);
    // Made, opened, two decisions, three outcomes, applied.
    assert!(out.starts_with("ok: 8 entries"), "{out}");
}
