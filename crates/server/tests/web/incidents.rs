//! Watch and respond, end to end in a real headless Chromium over HTTPS: an
//! external user's burst of downloads while the party's NDA ends in five days
//! raises an alert within a minute; the security officer opens a case from
//! it on the alerts page, contains it (the party is suspended, and the
//! engineer's next request is refused), traces the leaked copy into the case,
//! sets the legal hold (the destruction of a room the party worked in and the
//! redaction of the engineer's events are refused), records the
//! notification, exports the evidence bundle — which `custody ledger verify
//! --bundle` accepts — and closes the case with its lessons learned. The
//! engineer's party, meanwhile, reports a suspected leak on `/report`. Every
//! page visited passes axe-core.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::alerts::{ENGINEER, OFFICER, call, client, departing, user};
use crate::audit::{custody_binary, verify_bundle};
use crate::browser::{Scratch, drawing_pdf, sign_in, wait_for};
use crate::util::{self, Site};
use crate::webdriver::{self, Browser, Driver};

const WITNESS: &str = "witness@departing.example";

/// Clicks the first element matching `css` and waits for the case page's
/// record to show `want`.
async fn act_and_see(b: &Browser, css: &str, want: &str) {
    b.click(&b.find(css).await).await;
    let probe = format!(
        "const r = document.querySelector('#entries'); \
         return r !== null && r.textContent.includes({})",
        serde_json::to_string(want).unwrap()
    );
    b.wait_until(want, &probe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alerted_burst_becomes_a_contained_case_with_evidence_that_verifies() {
    webdriver::require_browser();
    let custody = custody_binary();
    let site = util::start_site().await;
    let options = app::alerts::WatchOptions {
        period: Duration::from_millis(200),
        ..Default::default()
    };
    let _watcher = app::alerts::spawn(site.app.clone(), options);
    let d = departing(&site, |i| {
        if i == 0 {
            ("drawing.pdf".to_owned(), drawing_pdf())
        } else {
            (
                format!("part-{i}.txt"),
                format!("part {i} of the blade root design\n").into_bytes(),
            )
        }
    })
    .await;
    let (officer_secret, officer_token) = (d.officer_secret, d.officer_token);
    let (engineer_id, engineer_secret, engineer) = (d.engineer_id, d.engineer_secret, d.engineer);
    let (room, files) = (d.room, d.files);

    // The burst, over HTTPS as the engineer; the marked drawing is the leaked copy.
    let started = Instant::now();
    let mut leaked = Vec::new();
    for f in &files {
        let resp = client()
            .get(site.url(&format!("/api/v1/files/{f}/content")))
            .bearer_auth(&engineer)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let bytes = resp.bytes().await.unwrap();
        if leaked.is_empty() {
            leaked = bytes.to_vec();
        }
    }
    let alert = loop {
        let listed = call(&site, &officer_token, "GET", "/alerts", Value::Null, 200).await;
        let items = listed["items"].as_array().cloned().unwrap_or_default();
        if let Some(a) = items
            .iter()
            .find(|a| a["kind"] == "mass_before_end" && a["entity"] == "user")
        {
            break a.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no alert within a minute: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // The officer opens a case from the alert.
    let scratch = Scratch::new();
    let copy = scratch.dir().join("found-on-a-forum.pdf");
    std::fs::write(&copy, &leaked).unwrap();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    b.set_window(1400, 2400).await;
    sign_in(&b, &site, OFFICER, &util::next_code(&officer_secret)).await;
    wait_for(&b, "the signed-in page", "nav.pages").await;
    b.goto(&site.url("/alerts")).await;
    let row = format!("#alert-{}", alert["id"].as_str().unwrap());
    wait_for(&b, "the alert's row", &row).await;
    b.click(&b.find(&format!("{row} button.open-case")).await)
        .await;
    wait_for(&b, "the case page", "#case").await;
    let facts = b.text(&b.find("#case").await).await;
    for want in [
        ENGINEER,
        "Departing Vendor",
        "mass_before_end",
        "Identification and reporting",
    ] {
        assert!(facts.contains(want), "the case lacks `{want}`: {facts}");
    }
    b.assert_accessible("the case page").await;
    let case_url = b.url().await;
    let case_id = case_url
        .split("/incidents/")
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_owned();

    // Assessed; containment: the party suspended, the engineer refused at once.
    b.script("document.querySelector('#severity').value = 'high'; document.querySelector('#category').value = 'exfiltration'; return true").await;
    act_and_see(
        &b,
        "#assess-form button",
        "assessed: severity high, category exfiltration",
    )
    .await;
    act_and_see(
        &b,
        "button.contain.suspend_party",
        "Departing Vendor suspended",
    )
    .await;
    let ended = call(&site, &engineer, "GET", "/rooms", Value::Null, 401).await;
    assert_eq!(
        ended["error"]["code"], "unauthenticated",
        "the session ended"
    );
    let login = json!({"email": ENGINEER, "password": util::PASSWORD,
        "totp": util::next_code(&engineer_secret)});
    let again = call(&site, "", "POST", "/auth/login", login, 200).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = call(&site, &again, "GET", "/rooms", Value::Null, 403).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("suspended"),
        "{refused}"
    );

    // The leaked copy traced into the case names the engineer.
    b.type_into(
        &b.find("#case-trace-file").await,
        &copy.display().to_string(),
    )
    .await;
    act_and_see(&b, "#case-trace-form button", "carries mark").await;
    let record = b.text(&b.find("#entries").await).await;
    assert!(
        record.contains(ENGINEER),
        "the trace names the recipient: {record}"
    );

    // The legal hold: destruction and redaction of the case's items refused.
    b.click(&b.find("#set-hold").await).await;
    b.wait_until(
        "the hold",
        "const h = document.querySelector('#case-holds'); return h !== null && !h.textContent.includes('none')",
    )
    .await;
    let r = call(
        &site,
        &site.admin_token,
        "POST",
        &format!("/rooms/{room}/destructions"),
        json!({"reason": "the redesign is over"}),
        409,
    )
    .await;
    assert_eq!(r["error"]["code"], "legal_hold");
    let downloads = call(
        &site,
        &site.admin_token,
        "GET",
        &format!("/events?action=file.download&actor={engineer_id}&limit=1"),
        Value::Null,
        200,
    )
    .await;
    let seq = downloads["items"][0]["seq"]
        .as_i64()
        .expect("the engineer's download event");
    let r = call(
        &site,
        &site.admin_token,
        "POST",
        &format!("/events/{seq}/redact"),
        json!({"reason": "a privacy request"}),
        409,
    )
    .await;
    assert_eq!(r["error"]["code"], "legal_hold");

    // The legal clock stops.
    b.type_into(
        &b.find("#notified-form input[name=to]").await,
        "the customer's CISO",
    )
    .await;
    b.type_into(
        &b.find("#notified-form textarea").await,
        "Drawings were taken; the vendor is suspended.",
    )
    .await;
    act_and_see(&b, "#notified-form button", "notified the customer's CISO").await;
    b.assert_accessible("the case after containment, trace, hold and notification")
        .await;

    // The evidence bundle, exported by the browser, passes the real verifier.
    b.click(&b.find("#export-bundle").await).await;
    let bundle =
        webdriver::wait_for_download(&scratch.downloads(), &format!("incident-{case_id}.json"))
            .await;
    let out = verify_bundle(&bundle, None);
    assert!(out.starts_with("ok"), "{out}");
    let text = std::fs::read_to_string(&bundle).unwrap();
    for want in [
        "incident.open",
        "incident.contain",
        "incident.trace",
        "incident.hold",
        "file.download",
        "watch.alert",
    ] {
        assert!(text.contains(want), "the bundle lacks `{want}`");
    }
    assert!(custody.exists());

    // Closed with its lessons learned.
    b.type_into(
        &b.find("#close-form textarea").await,
        "Mass downloads near an NDA's end now need a manager's approval.",
    )
    .await;
    b.click(&b.find("#close-form button").await).await;
    b.wait_until(
        "the closed case",
        "const s = document.querySelector('#case-status'); return s !== null && s.textContent.includes('Closed')",
    )
    .await;
    b.assert_accessible("the closed case").await;
    b.goto(&site.url("/incidents")).await;
    wait_for(&b, "the case list", "#incidents").await;
    let listed = b.text(&b.find(&format!("#incident-{case_id}")).await).await;
    assert!(listed.contains("closed"), "{listed}");
    b.assert_accessible("the incidents page").await;
}

/// A user of an external party reports a suspected leak on `/report`; the
/// security officers get the case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_user_reports_a_suspected_leak() {
    webdriver::require_browser();
    let site: Site = util::start_site().await;
    let admin = site.admin().await;
    let owner = admin.party_id.to_string();
    let (_, _, officer_token) = user(&site, &owner, OFFICER, "security_officer").await;
    let body = json!({"name": "Careful Castings", "active_reason": "a test fixture"});
    let party = call(&site, &site.admin_token, "POST", "/parties", body, 201).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, witness_secret, _) = user(&site, &party, WITNESS, "member").await;
    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    sign_in(&b, &site, WITNESS, &util::next_code(&witness_secret)).await;
    wait_for(&b, "the signed-in page", "nav.pages").await;
    b.click(&b.find("nav.pages a[href='/report']").await).await;
    wait_for(&b, "the report form", "#report-form").await;
    b.assert_accessible("the report form").await;
    b.type_into(
        &b.find("#report-form input[name=what]").await,
        "Casting drawings seen at a trade fair",
    )
    .await;
    b.type_into(
        &b.find("#report-form textarea").await,
        "A competitor's stand showed our client's casting drawing, hall 4.",
    )
    .await;
    b.click(&b.find("#report-button").await).await;
    wait_for(&b, "the receipt", "#report-done").await;
    b.assert_accessible("the report's receipt").await;
    let listed = call(&site, &officer_token, "GET", "/incidents", Value::Null, 200).await;
    let case = &listed["items"][0];
    assert_eq!(case["source"], "report");
    assert_eq!(case["title"], "Casting drawings seen at a trade fair");
    assert!(
        case["summary"].as_str().unwrap().contains(WITNESS),
        "{case}"
    );
}
