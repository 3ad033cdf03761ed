//! SCIM provisioning administered in a real headless Chromium over HTTPS:
//! the admin opens a party's SCIM page from the party's page, makes a token
//! (its secret shown once), which the party's identity provider then uses
//! to create a user and a group; maps the group to a role in a room on the
//! page, so that the user joining the group through SCIM is granted that
//! role; and revokes the token, which the next SCIM request finds refused.

use serde_json::{Value, json};

use crate::browser::{Scratch, sign_in, wait_for};
use crate::util::{self, EMAIL};
use crate::webdriver::{self, Driver};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn scim(
    http: &reqwest::Client,
    site: &util::Site,
    secret: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let r = http
        .request(method, site.url(&format!("/scim/v2{path}")))
        .bearer_auth(secret)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_makes_a_scim_token_and_maps_a_group_to_a_room_role() {
    webdriver::require_browser();
    let site = util::start_site().await;
    let (party, _) = crate::browser::external_user(
        &site,
        "Okta Supplier GmbH",
        "lead@okta-supplier.example",
        "Supplier Lead",
    )
    .await;

    // The admin makes a token on the party's SCIM page.
    let scratch = Scratch::new();
    let driver = Driver::start().await;
    let b = scratch.browser(&driver).await;
    sign_in(&b, &site, EMAIL, &util::next_code(&site.totp_secret)).await;
    wait_for(&b, "the rooms list", "#rooms").await;
    b.goto(&site.url(&format!("/admin/parties/{}", party.id)))
        .await;
    b.click(&b.find("#party-scim").await).await;
    b.wait_until(
        "the SCIM page",
        "return document.querySelector('#scim-token-form') !== null",
    )
    .await;
    b.assert_accessible("the SCIM page").await;
    b.type_into(&b.find("#scim-token-name").await, "Okta").await;
    b.click(&b.find("#scim-token-create").await).await;
    b.wait_until(
        "the new token's secret",
        "return document.querySelector('#scim-secret') !== null",
    )
    .await;
    b.assert_accessible("the SCIM page with a secret").await;
    let secret = b
        .text(&b.find("#scim-secret").await)
        .await
        .trim()
        .to_owned();
    assert!(secret.starts_with("scim_"), "{secret}");
    let listed = b.text(&b.find("#scim-tokens").await).await;
    assert!(
        listed.contains("Okta") && listed.contains("live"),
        "{listed}"
    );

    // The identity provider creates a user and a group with it.
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let (status, user) = scim(
        &http,
        &site,
        &secret,
        reqwest::Method::POST,
        "/Users",
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@okta-supplier.example",
            "name": {"givenName": "Ada", "familyName": "Byron"},
            "emails": [{"primary": true, "value": "ada@okta-supplier.example", "type": "work"}],
            "active": true
        }),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let user_id = user["id"].as_str().unwrap_or_default().to_owned();
    let (status, group) = scim(&http, &site, &secret, reqwest::Method::POST, "/Groups", json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": []
    })).await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().unwrap_or_default().to_owned();

    // The admin maps the group to the viewer role in the room.
    b.type_into(&b.find("#scim-group").await, "Engineering")
        .await;
    b.script(&format!(
        "document.querySelector('#scim-target').value = 'room:{}'; document.querySelector('#scim-room-role').value = 'viewer';",
        site.room
    ))
    .await;
    b.click(&b.find("#scim-mapping-create").await).await;
    wait_for(&b, "the confirmation", "#confirmation").await;
    let maps = b.text(&b.find("#scim-mappings").await).await;
    assert!(
        maps.contains("Engineering") && maps.contains("viewer"),
        "{maps}"
    );
    b.assert_accessible("the SCIM page with a mapping").await;

    // Joining the group through SCIM grants the role.
    let (status, joined) = scim(
        &http,
        &site,
        &secret,
        reqwest::Method::PATCH,
        &format!("/Groups/{group_id}"),
        json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]
        }),
    )
    .await;
    assert_eq!(status, 200, "{joined}");
    let grants: Value = http
        .get(site.url(&format!("/api/v1/rooms/{}/grants", site.room)))
        .bearer_auth(&site.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let granted = grants["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|g| g["subject_id"] == json!(user_id) && g["role"] == "viewer");
    assert!(granted, "{grants}");

    // Revoked on the page, the token is refused.
    b.click(&b.find("#scim-tokens button.revoke").await).await;
    wait_for(&b, "the confirmation", "#confirmation").await;
    let listed = b.text(&b.find("#scim-tokens").await).await;
    assert!(listed.contains("revoked"), "{listed}");
    let (status, refused) = scim(
        &http,
        &site,
        &secret,
        reqwest::Method::GET,
        "/Users",
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, refused["code"].clone()),
        (401, json!("unauthenticated")),
        "{refused}"
    );
}
