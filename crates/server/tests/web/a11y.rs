//! Accessibility in a real headless Chromium (issue 14): an external user
//! signs the NDA a room asks for, uploads a drawing and reads it in the
//! viewer with the keyboard alone — Tab to reach each control, Space and
//! Enter to use it, the zoom and arrow keys in the viewer; no click and no
//! script setting a field. The one step a test cannot take by keyboard is
//! the operating system's file chooser: the file is handed to the focused
//! file field as WebDriver does. And the axe-core check the browser tests
//! run on each page is itself shown to fail on what breaks WCAG 2.1 AA.

use app::{NewGrant, RequestMeta};
use futures_util::FutureExt;
use model::{RoomRole, SubjectKind};

use crate::account::enrol_in_browser;
use crate::browser::{Scratch, drawing_pdf, external_user, sign_in, wait_for};
use crate::util::{self, Site};
use crate::webdriver::{self, Browser, Driver};

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = "\u{E00D}";
const RIGHT: &str = "\u{E014}";
const DRAWING: &str = "bracket-b7.pdf";

/// Presses Tab until the focus is on the element `css`; fails naming where
/// the focus went on the way.
async fn tab_to(b: &Browser, css: &str) {
    let probe = format!(
        "const e = document.activeElement, want = {};\
         if (e && e.matches(want)) return true;\
         return e ? e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +\
             (e.className ? '.' + String(e.className).replace(/ +/g, '.') : '') : 'nothing';",
        serde_json::to_string(css).unwrap()
    );
    let mut visited = Vec::new();
    for _ in 0..150 {
        b.press(TAB).await;
        let here = b.script(&probe).await;
        if here == true {
            return;
        }
        visited.push(here.as_str().unwrap_or_default().to_owned());
    }
    panic!(
        "Tab never reached `{css}` on {}; the focus went through {visited:?}",
        b.url().await
    );
}

/// Waits until the viewer's zoom level reads `want`.
async fn zoom_level(b: &Browser, want: &str) {
    let probe = format!(
        "return document.getElementById('zoom-level').textContent === {};",
        serde_json::to_string(want).unwrap()
    );
    b.wait_until(&format!("the zoom level `{want}`"), &probe)
        .await;
}

/// A room requiring an NDA, an external user granted contributor in it, and
/// the NDA issued to their party: returns the room and the user.
async fn room_with_nda(site: &Site) -> (model::RoomId, model::User) {
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let (party, user) =
        external_user(site, "Keyboard Works", "keys@keyboard.example", "Kim Keys").await;
    let auth = site
        .app
        .system(&meta, &admin, app::act::RoomCreate)
        .await
        .unwrap();
    let room = app::Rooms(&site.app)
        .create_room(auth, "Keyboard RFQ", model::Classification::Internal)
        .await
        .unwrap()
        .room
        .id;
    let auth = site
        .app
        .room(&meta, &admin, room, app::act::RoomUpdate)
        .await
        .unwrap();
    let patch = app::RoomPatch {
        required_agreements: Some(vec!["nda".into()]),
        ..app::RoomPatch::default()
    };
    app::Rooms(&site.app)
        .update_room(auth, patch)
        .await
        .unwrap();
    let auth = site
        .app
        .room(&meta, &admin, room, app::act::GrantCreate)
        .await
        .unwrap();
    let grant = NewGrant {
        subject_kind: SubjectKind::User,
        subject_id: user.id.0,
        role: RoomRole::Contributor,
        expires_ms: None,
        reason: "bracket quote".into(),
    };
    app::Rooms(&site.app)
        .create_grant(auth, grant)
        .await
        .unwrap();
    let auth = site
        .app
        .system(&meta, &admin, app::act::AgreementCreate)
        .await
        .unwrap();
    let nda = app::NewAgreement {
        party_id: party.id,
        kind: model::AgreementKind::Nda,
        template: "mutual-nda-2026".into(),
        title: "Mutual NDA 2026".into(),
        text: crate::admin::NDA_TEXT.into(),
        terms: model::AgreementTerms::default(),
        effective_ms: None,
        end_ms: None,
        draft: false,
    };
    app::Agreements(&site.app)
        .create_agreement(auth, nda)
        .await
        .unwrap();
    (room, user)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_uploading_and_the_viewer_work_from_the_keyboard_alone() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (room, user) = room_with_nda(&site).await;
    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    b.set_window(1280, 900).await;
    sign_in(&b, &site, &user.email, "").await;
    enrol_in_browser(&b).await;
    wait_for(&b, "the rooms list", "#rooms").await;

    // Signing: tick the box with Space, send the form with Enter.
    b.goto(&site.url(&format!("/rooms/{room}"))).await;
    wait_for(&b, "the agreement to sign", "#sign-required").await;
    tab_to(&b, ".agree").await;
    b.press(SPACE).await;
    assert_eq!(
        b.script("return document.querySelector('.agree').checked")
            .await,
        true,
        "Space did not tick the box"
    );
    tab_to(&b, ".sign-button").await;
    b.press(ENTER).await;
    wait_for(&b, "the room's upload form", "#upload-form").await;
    b.assert_accessible("the room page after signing by keyboard")
        .await;

    // Uploading: the file field, then the Upload button with Enter.
    let local = scratch.dir().join(DRAWING);
    std::fs::write(&local, drawing_pdf()).unwrap();
    tab_to(&b, "#file-input").await;
    b.type_into(&b.find("#file-input").await, &local.display().to_string())
        .await;
    tab_to(&b, "#upload-button").await;
    b.press(ENTER).await;
    let listed = format!(
        "return Array.from(document.querySelectorAll('#files td.name')).some(td => td.textContent === '{DRAWING}')"
    );
    b.wait_until("the uploaded drawing in the listing", &listed)
        .await;
    assert_eq!(
        b.text(&b.find("#upload-status").await).await,
        format!("Uploaded {DRAWING}.")
    );

    // The viewer: opened with Enter on its link, zoomed with a focused
    // button and with the keys, the zoomed page scrolled with the arrows.
    tab_to(&b, "a.view").await;
    b.press(ENTER).await;
    b.wait_until(
        "the page image",
        "const i = document.querySelector('img.page'); return i !== null && i.complete && i.naturalWidth > 0;",
    )
    .await;
    zoom_level(&b, "Fit width (100 %)").await;
    tab_to(&b, "#zoom-in").await;
    b.press(ENTER).await;
    zoom_level(&b, "125 % of the width").await;
    tab_to(&b, "#pages").await;
    b.press("+").await;
    zoom_level(&b, "150 % of the width").await;
    b.press(&RIGHT.repeat(5)).await;
    b.wait_until(
        "the zoomed page scrolled sideways",
        "return document.getElementById('pages').scrollLeft > 0",
    )
    .await;
    b.press("-").await;
    zoom_level(&b, "125 % of the width").await;
    b.press("0").await;
    zoom_level(&b, "Fit width (100 %)").await;
    b.assert_accessible("the viewer used by keyboard").await;
}

/// Pages broken on purpose, one WCAG 2.1 AA rule each: axe-core names the
/// rule and the check the browser tests run fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accessibility_check_fails_on_a_wcag_violation() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    let login = site.url("/login");
    b.goto(&login).await;
    wait_for(&b, "the sign-in form", "#sign-in").await;
    b.assert_accessible("the sign-in page as served").await;
    // (what is broken, the script that breaks it, the rule axe-core names)
    let table = [
        (
            "an image without a text alternative",
            "const i = document.createElement('img'); \
             i.src = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7'; \
             document.querySelector('main').appendChild(i);",
            "image-alt",
        ),
        (
            "a text field without a label",
            "const f = document.createElement('input'); f.type = 'text'; \
             document.querySelector('main').appendChild(f);",
            "label",
        ),
        (
            "pale text on white",
            "const p = document.createElement('p'); p.textContent = 'Pale words'; \
             p.style.color = '#ddd'; p.style.background = '#fff'; \
             document.querySelector('main').appendChild(p);",
            "color-contrast",
        ),
        (
            "a page without a language",
            "document.documentElement.removeAttribute('lang');",
            "html-has-lang",
        ),
    ];
    for (what, script, rule) in table {
        b.goto(&login).await;
        wait_for(&b, "the sign-in form", "#sign-in").await;
        b.script(script).await;
        let found = b.axe_violations().await;
        assert!(
            found.iter().any(|v| v.starts_with(&format!("{rule}: "))),
            "{what}: axe-core did not name `{rule}`: {found:?}"
        );
        let check = std::panic::AssertUnwindSafe(b.assert_accessible(what))
            .catch_unwind()
            .await;
        assert!(check.is_err(), "{what}: the accessibility check passed");
    }
}
