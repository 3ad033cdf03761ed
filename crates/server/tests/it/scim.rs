//! SCIM 2.0 provisioning through `/scim/v2`, driven by requests shaped as
//! Okta's and Entra ID's provisioning clients send them (their published
//! request shapes, written out below as fixtures): users created, changed,
//! deactivated (their session and API token that worked before fail after)
//! and reactivated; groups whose membership gives and takes a room role
//! and a system role; a party's token refused the users of another party;
//! filters, pagination and ETags; and every bad input refused through one
//! table with its status, code and `scimType`, each recorded. Runs on SQLite,
//! and on PostgreSQL when one is reachable.

use serde_json::{Value, json};

use crate::util::*;

const SCIM: &str = "/scim/v2";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

// ---- Okta's requests (developer.okta.com, "SCIM 2.0 protocol reference")

fn okta_user(email: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": email,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

fn okta_active(active: bool) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": active}}]})
}

fn okta_rename(given: &str) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"name.givenName": given}}]})
}

fn okta_group(name: &str) -> Value {
    json!({"schemas": [GROUP], "displayName": name, "members": []})
}

fn okta_add_member(user: &str, email: &str) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": user, "display": email}]}]})
}

fn okta_remove_member(user: &str) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]})
}

// ---- Entra ID's requests (learn.microsoft.com, "Tutorial: Develop and
// plan provisioning for a SCIM endpoint", request examples)

fn entra_user(user_name: &str, email: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    })
}

fn entra_update(email: &str) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": email},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
    ]})
}

fn entra_disable() -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
}

fn entra_group(name: &str) -> Value {
    json!({"schemas": [GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": name, "meta": {"resourceType": "Group"}})
}

fn entra_members(op: &str, user: &str) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "members", "value": [{"value": user}]}]})
}

/// An identity provider: a party's SCIM token.
struct Idp<'a> {
    ctx: &'a Ctx,
    token: String,
    party: String,
}

impl Idp<'_> {
    /// An external party (`party` when given, else a new one) and a SCIM token for it.
    async fn of<'a>(ctx: &'a Ctx, party: Option<&str>) -> Idp<'a> {
        let party = match party {
            Some(p) => p.to_owned(),
            None => ctx.party(&format!("Supplier {}", ctx.unique())).await,
        };
        let made = ctx
            .must(
                &ctx.admin,
                "POST",
                &format!("/parties/{party}/scim/tokens"),
                json!({"name": "IdP"}),
                201,
            )
            .await;
        assert!(
            made["secret"]
                .as_str()
                .is_some_and(|s| s.starts_with("scim_")),
            "{made}"
        );
        Idp {
            ctx,
            token: made["secret"].as_str().unwrap_or_default().to_owned(),
            party,
        }
    }

    async fn send(
        &self,
        method: &'static str,
        path: &str,
        body: Option<Value>,
        headers: Vec<(&'static str, String)>,
    ) -> Resp {
        let body = match body {
            Some(v) => Payload::Raw(Some("application/scim+json"), v.to_string().into_bytes()),
            None => Payload::None,
        };
        self.ctx
            .send(&Case {
                who: Some(self.token.clone()),
                method,
                path: format!("{SCIM}{path}"),
                body,
                headers,
                ..Case::default()
            })
            .await
    }

    /// A request that must answer `status`; its body.
    async fn must(
        &self,
        method: &'static str,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let r = self.send(method, path, body, vec![]).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.text());
        if status != 204 {
            assert_eq!(
                r.header("content-type"),
                Some("application/scim+json"),
                "{method} {path}"
            );
        }
        r.json()
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

fn q(filter: &str) -> String {
    let mut out = String::new();
    for b in filter.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Gives a provisioned user the test password (an IdP sends none we keep),
/// signs them in with a second factor, and makes them an API token too.
async fn signed_in(ctx: &Ctx, id: &str, email: &str) -> (String, String) {
    let hash = app::passwords::hash(PASSWORD.to_owned())
        .await
        .expect("hash");
    let mut tx = ctx.app.store().begin().await.expect("tx");
    let mut user = tx
        .get_user(id.parse().expect("id"))
        .await
        .expect("get")
        .expect("user");
    user.password_hash = Some(hash);
    tx.update_user(&user).await.expect("update");
    tx.commit().await.expect("commit");
    let login = ctx.login_ok(email, None).await;
    let (session, _) = ctx
        .enrol_totp(login["token"].as_str().unwrap_or_default())
        .await;
    let made = ctx
        .must(
            &session,
            "POST",
            "/auth/tokens",
            json!({"name": "ci", "days": 1}),
            201,
        )
        .await;
    (
        session,
        made["token"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn role_of(ctx: &Ctx, id: &str) -> Value {
    ctx.must(&ctx.admin, "GET", &format!("/users/{id}"), Value::Null, 200)
        .await["system_role"]
        .clone()
}

async fn works(ctx: &Ctx, token: &str) -> u16 {
    ctx.call(token, "GET", "/auth/me", Value::Null)
        .await
        .status
        .as_u16()
}

/// The newest event of `action`.
async fn newest(ctx: &Ctx, action: &str) -> Value {
    ctx.events()
        .await
        .into_iter()
        .rev()
        .find(|e| e["action"] == action)
        .unwrap_or(Value::Null)
}

/// Okta: look up, create, rename, deactivate (session and token end),
/// reactivate; a group mapped to a room role and one to a system role.
async fn okta(ctx: &Ctx) {
    let idp = Idp::of(ctx, None).await;
    let email = format!("okta{}@supplier.example", ctx.unique());
    let found = idp
        .must(
            "GET",
            &format!(
                "/Users?filter={}&startIndex=1&count=100",
                q(&format!("userName eq \"{email}\""))
            ),
            None,
            200,
        )
        .await;
    assert_eq!(found["totalResults"], 0, "{found}");
    assert_eq!(
        found["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    let r = idp
        .send("POST", "/Users", Some(okta_user(&email)), vec![])
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text());
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let user = r.json();
    let id = id_of(&user);
    assert_eq!(
        r.header("location").map(str::to_owned),
        Some(format!("/scim/v2/Users/{id}"))
    );
    assert_eq!(
        (
            user["active"].clone(),
            user["userName"].clone(),
            user["meta"]["version"].clone()
        ),
        (json!(true), json!(email), json!("W/\"1\""))
    );
    assert_eq!(
        newest(ctx, "scim.user_create").await["target"],
        format!("user:{id}")
    );
    let found = idp
        .must(
            "GET",
            &format!(
                "/Users?filter={}",
                q(&format!("userName eq \"{}\"", email.to_uppercase()))
            ),
            None,
            200,
        )
        .await;
    assert_eq!(
        (found["totalResults"].clone(), id_of(&found["Resources"][0])),
        (json!(1), id.clone())
    );
    let renamed = idp
        .must(
            "PATCH",
            &format!("/Users/{id}"),
            Some(okta_rename("Ada")),
            200,
        )
        .await;
    assert_eq!(renamed["name"]["givenName"], "Ada");

    // Deactivation ends the session and the API token at once.
    let (session, token) = signed_in(ctx, &id, &email).await;
    assert_eq!(
        (works(ctx, &session).await, works(ctx, &token).await),
        (200, 200)
    );
    let off = idp
        .must(
            "PATCH",
            &format!("/Users/{id}"),
            Some(okta_active(false)),
            200,
        )
        .await;
    assert_eq!(off["active"], false);
    assert_eq!(
        (works(ctx, &session).await, works(ctx, &token).await),
        (401, 401)
    );
    let event = newest(ctx, "scim.user_deprovision").await;
    assert_eq!(event["target"], format!("user:{id}"), "{event}");
    assert!(
        event["detail"]["ended"]["sessions"].as_u64() >= Some(2),
        "{event}"
    );
    let r = ctx.login(&email, PASSWORD, None).await;
    assert_eq!(
        r.json()["error"]["code"],
        "invalid_credentials",
        "{}",
        r.text()
    );
    // Reactivated, the account signs in again.
    let on = idp
        .must(
            "PATCH",
            &format!("/Users/{id}"),
            Some(okta_active(true)),
            200,
        )
        .await;
    assert_eq!(on["active"], true);
    assert_eq!(
        newest(ctx, "scim.user_reactivate").await["target"],
        format!("user:{id}")
    );
    // (The password is right again: the enrolled account asks for its code.)
    let r = ctx.login(&email, PASSWORD, None).await;
    assert_eq!(r.json()["error"]["code"], "mfa_required", "{}", r.text());

    // A group mapped to a room role: joining grants it, leaving revokes it.
    let room = ctx
        .room(&ctx.admin, &format!("SCIM room {}", ctx.unique()))
        .await;
    let group = idp
        .must("POST", "/Groups", Some(okta_group("Engineering")), 201)
        .await;
    let gid = id_of(&group);
    ctx.must(
        &ctx.admin,
        "POST",
        &format!("/parties/{}/scim/mappings", idp.party),
        json!({"group": "engineering", "room_id": room, "room_role": "downloader"}),
        201,
    )
    .await;
    let grants_of = |list: Value| -> Vec<String> {
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["subject_id"] == json!(id) && g["revoked"] != json!(true))
            .map(|g| g["role"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let joined = idp
        .must(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(okta_add_member(&id, &email)),
            200,
        )
        .await;
    assert_eq!(joined["members"][0]["value"], json!(id), "{joined}");
    let grants = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{room}/grants"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(grants_of(grants.clone()), ["downloader"], "{grants}");
    let member = idp.must("GET", &format!("/Users/{id}"), None, 200).await;
    assert_eq!(member["groups"][0]["display"], "Engineering");
    idp.must(
        "PATCH",
        &format!("/Groups/{gid}"),
        Some(okta_remove_member(&id)),
        200,
    )
    .await;
    let grants = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{room}/grants"),
            Value::Null,
            200,
        )
        .await;
    assert!(grants_of(grants.clone()).is_empty(), "{grants}");
    let left = idp.must("GET", &format!("/Groups/{gid}"), None, 200).await;
    assert_eq!(left["members"], json!([]));

    // An external party's group cannot give an owner's system role.
    let r = ctx
        .call(
            &ctx.admin,
            "POST",
            &format!("/parties/{}/scim/mappings", idp.party),
            json!({"group": "Engineering", "system_role": "security_officer"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["error"]["code"].clone()),
        (400, json!("scim_role_not_allowed")),
        "{}",
        r.text()
    );
    // Deleted: deprovisioned, gone from SCIM, the rows kept.
    idp.must("DELETE", &format!("/Users/{id}"), None, 204).await;
    idp.must("GET", &format!("/Users/{id}"), None, 404).await;
    let kept = ctx
        .must(&ctx.admin, "GET", &format!("/users/{id}"), Value::Null, 200)
        .await;
    assert_eq!(kept["disabled"], true, "{kept}");
    assert_eq!(
        newest(ctx, "scim.user_deprovision").await["detail"]["deleted"],
        true
    );
}

/// Entra ID: create, filter, update e-mail and name, disable with the
/// string `"False"`, and group membership by `Add`/`Remove` with a value
/// list; the owner's own IdP maps a group to a system role.
async fn entra(ctx: &Ctx) {
    let idp = Idp::of(ctx, Some(&ctx.owner_party.clone())).await;
    let n = ctx.unique();
    let user_name = format!("Test_User_{n}");
    let email = format!("Test_User_{n}@owner.example");
    let user = idp
        .must("POST", "/Users", Some(entra_user(&user_name, &email)), 201)
        .await;
    let id = id_of(&user);
    assert_eq!(user["emails"][0]["value"], email.to_lowercase());
    let found = idp
        .must(
            "GET",
            &format!(
                "/Users?filter={}",
                q(&format!("userName eq \"{user_name}\""))
            ),
            None,
            200,
        )
        .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    let none = idp
        .must(
            "GET",
            &format!("/Users?filter={}", q("userName eq \"Test_User_00000000\"")),
            None,
            200,
        )
        .await;
    assert_eq!(none["totalResults"], 0);
    let moved = format!("updated{n}@owner.example");
    let updated = idp
        .must(
            "PATCH",
            &format!("/Users/{id}"),
            Some(entra_update(&moved)),
            200,
        )
        .await;
    assert_eq!(
        (
            updated["emails"][0]["value"].clone(),
            updated["name"]["familyName"].clone()
        ),
        (json!(moved), json!("updatedFamilyName")),
        "{updated}"
    );
    let (session, _) = signed_in(ctx, &id, &moved).await;
    assert_eq!(works(ctx, &session).await, 200);

    // A group mapped to a system role of the owner's.
    ctx.must(
        &ctx.admin,
        "POST",
        &format!("/parties/{}/scim/mappings", idp.party),
        json!({"group": "Custody Auditors", "system_role": "auditor"}),
        201,
    )
    .await;
    let group = idp
        .must(
            "POST",
            "/Groups",
            Some(entra_group("Custody Auditors")),
            201,
        )
        .await;
    let gid = id_of(&group);
    idp.must(
        "PATCH",
        &format!("/Groups/{gid}"),
        Some(entra_members("Add", &id)),
        200,
    )
    .await;
    assert_eq!(role_of(ctx, &id).await, "auditor");
    assert_eq!(
        newest(ctx, "scim.role_change").await["detail"]["to"],
        "auditor"
    );
    idp.must(
        "PATCH",
        &format!("/Groups/{gid}"),
        Some(entra_members("Remove", &id)),
        200,
    )
    .await;
    assert_eq!(role_of(ctx, &id).await, "member");

    let off = idp
        .must("PATCH", &format!("/Users/{id}"), Some(entra_disable()), 200)
        .await;
    assert_eq!(off["active"], false);
    assert_eq!(works(ctx, &session).await, 401);
    let listed = idp
        .must(
            "GET",
            &format!("/Users?filter={}", q("active eq false")),
            None,
            200,
        )
        .await;
    assert_eq!(id_of(&listed["Resources"][0]), id, "{listed}");
}

/// Party A's token never reaches party B's users or groups: "not found",
/// recorded as `other_party`.
async fn cross_party(ctx: &Ctx) {
    let a = Idp::of(ctx, None).await;
    let b = Idp::of(ctx, None).await;
    let email = format!("a{}@a.example", ctx.unique());
    let user = a.must("POST", "/Users", Some(okta_user(&email)), 201).await;
    let id = id_of(&user);
    let group = a
        .must("POST", "/Groups", Some(okta_group("A team")), 201)
        .await;
    let gid = id_of(&group);
    let theirs = b
        .must("POST", "/Groups", Some(okta_group("B team")), 201)
        .await;
    let bid = id_of(&theirs);
    for (method, path, body) in [
        ("GET", format!("/Users/{id}"), None),
        ("PUT", format!("/Users/{id}"), Some(okta_user(&email))),
        ("PATCH", format!("/Users/{id}"), Some(okta_active(false))),
        ("DELETE", format!("/Users/{id}"), None),
        ("GET", format!("/Groups/{gid}"), None),
        (
            "PATCH",
            format!("/Groups/{gid}"),
            Some(okta_add_member(&id, &email)),
        ),
        ("DELETE", format!("/Groups/{gid}"), None),
        (
            "PATCH",
            format!("/Groups/{bid}"),
            Some(okta_add_member(&id, &email)),
        ),
    ] {
        let r = b.send(method, &path, body, vec![]).await;
        assert_eq!(
            (r.status.as_u16(), r.json()["code"].clone()),
            (404, json!("not_found")),
            "{method} {path}: {}",
            r.text()
        );
        let event = newest(ctx, "scim.refused").await;
        assert_eq!(event["reason"], "other_party", "{method} {path}: {event}");
    }
    let listed = b.must("GET", "/Users", None, 200).await;
    assert_eq!(listed["totalResults"], 0, "{listed}");
    // A's user is untouched.
    assert_eq!(
        a.must("GET", &format!("/Users/{id}"), None, 200).await["active"],
        true
    );
}

/// Pages by `startIndex` and `count` with `totalResults`; ETags move with
/// every change and `If-Match` holds a stale writer off.
async fn pages_and_etags(ctx: &Ctx) {
    let idp = Idp::of(ctx, None).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let email = format!("p{i}x{}@pages.example", ctx.unique());
        ctx.advance(1000);
        ids.push(id_of(
            &idp.must("POST", "/Users", Some(okta_user(&email)), 201)
                .await,
        ));
    }
    for (query, total, start, got) in [
        ("", 5, 1, ids.clone()),
        ("?startIndex=2&count=2", 5, 2, ids[1..3].to_vec()),
        ("?startIndex=5&count=10", 5, 5, ids[4..].to_vec()),
        ("?startIndex=6", 5, 6, vec![]),
        ("?count=0", 5, 1, vec![]),
        ("?startIndex=0&count=1", 5, 1, ids[..1].to_vec()),
        ("?count=-3", 5, 1, vec![]),
    ] {
        let page = idp.must("GET", &format!("/Users{query}"), None, 200).await;
        let listed: Vec<String> = page["Resources"]
            .as_array()
            .into_iter()
            .flatten()
            .map(id_of)
            .collect();
        assert_eq!(
            (
                page["totalResults"].clone(),
                page["startIndex"].clone(),
                page["itemsPerPage"].clone(),
                listed
            ),
            (json!(total), json!(start), json!(got.len()), got),
            "{query}"
        );
    }
    let id = &ids[0];
    let r = idp.send("GET", &format!("/Users/{id}"), None, vec![]).await;
    let v1 = r.header("etag").unwrap_or_default().to_owned();
    assert_eq!(v1, "W/\"1\"");
    let r = idp
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            Some(okta_rename("Bo")),
            vec![("if-match", v1.clone())],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.header("etag")),
        (200, Some("W/\"2\"")),
        "{}",
        r.text()
    );
    let r = idp
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            Some(okta_rename("Cy")),
            vec![("if-match", v1.clone())],
        )
        .await;
    assert_eq!(
        (
            r.status.as_u16(),
            r.json()["code"].clone(),
            r.json()["status"].clone()
        ),
        (412, json!("scim_version_mismatch"), json!("412")),
        "{}",
        r.text()
    );
    assert_eq!(
        idp.must("GET", &format!("/Users/{id}"), None, 200).await["name"]["givenName"],
        "Bo"
    );
    let r = idp
        .send(
            "DELETE",
            &format!("/Users/{id}"),
            None,
            vec![("if-match", v1)],
        )
        .await;
    assert_eq!(r.status.as_u16(), 412);
    let r = idp
        .send(
            "DELETE",
            &format!("/Users/{id}"),
            None,
            vec![("if-match", "W/\"2\"".into())],
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    // Filters, through HTTP.
    for (filter, total) in [
        ("userName sw \"p\"", 4),
        ("userName ew \"@pages.example\" and active eq true", 4),
        ("name.givenName eq \"test\"", 4),
        ("not (userName co \"p1x\")", 3),
        ("emails[type eq \"work\" and value co \"p2x\"]", 1),
        ("meta.version eq \"W/\\\"1\\\"\"", 4),
        ("externalId pr", 4),
        ("title pr", 0),
    ] {
        let page = idp
            .must("GET", &format!("/Users?filter={}", q(filter)), None, 200)
            .await;
        assert_eq!(page["totalResults"], total, "{filter}: {page}");
    }
    let discovery = idp.must("GET", "/ServiceProviderConfig", None, 200).await;
    assert_eq!(
        (
            discovery["patch"]["supported"].clone(),
            discovery["etag"]["supported"].clone(),
            discovery["bulk"]["supported"].clone()
        ),
        (json!(true), json!(true), json!(false))
    );
    assert_eq!(
        idp.must("GET", "/ResourceTypes", None, 200).await["totalResults"],
        2
    );
    assert_eq!(
        idp.must("GET", &format!("/Schemas/{USER}"), None, 200)
            .await["id"],
        USER
    );
}

/// One bad SCIM request: what it sends and must answer.
struct Bad {
    label: &'static str,
    method: &'static str,
    path: String,
    /// The body and its content type.
    body: Option<(&'static str, Vec<u8>)>,
    headers: Vec<(&'static str, String)>,
    /// The token to send (`None`: the party's own).
    token: Option<String>,
    status: u16,
    code: &'static str,
    scim_type: Option<&'static str>,
}

fn bad(
    label: &'static str,
    method: &'static str,
    path: String,
    body: Value,
    status: u16,
    code: &'static str,
    scim_type: Option<&'static str>,
) -> Bad {
    Bad {
        label,
        method,
        path,
        body: (!body.is_null()).then(|| ("application/scim+json", body.to_string().into_bytes())),
        headers: vec![],
        token: None,
        status,
        code,
        scim_type,
    }
}

/// Sends `row` and checks its SCIM error and that a refusal was recorded.
async fn check_bad(ctx: &Ctx, idp: &Idp<'_>, row: Bad) -> Result<(), String> {
    let before = ctx
        .events()
        .await
        .iter()
        .filter(|e| e["action"] == "scim.refused")
        .count();
    let r = ctx
        .send(&Case {
            who: Some(row.token.clone().unwrap_or_else(|| idp.token.clone())),
            method: row.method,
            path: format!("{SCIM}{}", row.path),
            body: row
                .body
                .map_or(Payload::None, |(ct, b)| Payload::Raw(Some(ct), b)),
            headers: row.headers.clone(),
            ..Case::default()
        })
        .await;
    let body = r.json();
    let got = (
        r.status.as_u16(),
        body["code"].as_str().unwrap_or_default().to_owned(),
        body["scimType"].as_str().map(str::to_owned),
    );
    let want = (
        row.status,
        row.code.to_owned(),
        row.scim_type.map(str::to_owned),
    );
    if got != want {
        return Err(format!(
            "{}: got {got:?}, want {want:?} — {}",
            row.label,
            r.text()
        ));
    }
    let shaped = body["schemas"][0] == "urn:ietf:params:scim:api:messages:2.0:Error"
        && body["status"].as_str() == Some(row.status.to_string().as_str())
        && body["detail"].is_string()
        && r.header("content-type") == Some("application/scim+json")
        && body["request_id"].as_str() == r.header("x-request-id");
    if !shaped {
        return Err(format!("{}: not a SCIM error — {}", row.label, r.text()));
    }
    let after = ctx
        .events()
        .await
        .iter()
        .filter(|e| e["action"] == "scim.refused")
        .count();
    if after <= before {
        return Err(format!("{}: no `scim.refused` event", row.label));
    }
    Ok(())
}

/// Every bad input, each with its status, code and `scimType`, recorded.
async fn bad_inputs(ctx: &Ctx) {
    let idp = Idp::of(ctx, None).await;
    let email = format!("b{}@bad.example", ctx.unique());
    let id = id_of(
        &idp.must("POST", "/Users", Some(okta_user(&email)), 201)
            .await,
    );
    let gid = id_of(
        &idp.must("POST", "/Groups", Some(okta_group("Taken")), 201)
            .await,
    );
    ctx.advance(1000);
    let revoked = Idp::of(ctx, Some(&idp.party.clone())).await;
    let tokens = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/parties/{}/scim/tokens", idp.party),
            Value::Null,
            200,
        )
        .await;
    let newest_token = tokens["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ctx.must(
        &ctx.admin,
        "DELETE",
        &format!("/parties/{}/scim/tokens/{newest_token}", idp.party),
        Value::Null,
        204,
    )
    .await;
    let user_path = format!("/Users/{id}");
    let patch = |ops: Value| json!({"schemas": [PATCH_OP], "Operations": ops});
    let mut rows = vec![];
    for filter in [
        "userName",
        "userName eq",
        "userName xx \"a\"",
        "(userName eq \"a\"",
        "userName eq \"a\" and",
        "emails[type eq \"work\"",
        "active gt true",
        "userName eq bob",
        "\"a\" eq userName",
    ] {
        rows.push(bad(
            "invalid filter",
            "GET",
            format!("/Users?filter={}", q(filter)),
            Value::Null,
            400,
            "scim_invalid_filter",
            Some("invalidFilter"),
        ));
    }
    rows.push(bad(
        "invalid group filter",
        "GET",
        format!("/Groups?filter={}", q("displayName zz \"x\"")),
        Value::Null,
        400,
        "scim_invalid_filter",
        Some("invalidFilter"),
    ));
    rows.push(bad(
        "startIndex not a number",
        "GET",
        "/Users?startIndex=abc".into(),
        Value::Null,
        400,
        "invalid_query",
        Some("invalidValue"),
    ));
    rows.extend([
        bad(
            "no schemas",
            "POST",
            "/Users".into(),
            json!({"userName": "x@y.example"}),
            400,
            "scim_invalid_syntax",
            Some("invalidSyntax"),
        ),
        bad(
            "no userName",
            "POST",
            "/Users".into(),
            json!({"schemas": [USER]}),
            400,
            "scim_invalid_value",
            Some("invalidValue"),
        ),
        bad(
            "userName not an address",
            "POST",
            "/Users".into(),
            json!({"schemas": [USER], "userName": "not-an-address"}),
            400,
            "scim_invalid_value",
            Some("invalidValue"),
        ),
        bad(
            "userName taken",
            "POST",
            "/Users".into(),
            okta_user(&email),
            409,
            "scim_uniqueness",
            Some("uniqueness"),
        ),
        bad(
            "e-mail taken by the admin",
            "POST",
            "/Users".into(),
            okta_user(ADMIN_EMAIL),
            409,
            "scim_uniqueness",
            Some("uniqueness"),
        ),
        bad(
            "active not a boolean",
            "PUT",
            user_path.clone(),
            json!({"schemas": [USER], "userName": email, "active": "maybe"}),
            400,
            "scim_invalid_value",
            Some("invalidValue"),
        ),
        bad(
            "patch without PatchOp",
            "PATCH",
            user_path.clone(),
            json!({"Operations": [{"op": "replace", "value": {"active": false}}]}),
            400,
            "scim_invalid_syntax",
            Some("invalidSyntax"),
        ),
        bad(
            "patch unknown op",
            "PATCH",
            user_path.clone(),
            patch(json!([{"op": "move", "path": "active", "value": false}])),
            400,
            "scim_invalid_syntax",
            Some("invalidSyntax"),
        ),
        bad(
            "patch bad path",
            "PATCH",
            user_path.clone(),
            patch(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])),
            400,
            "scim_invalid_path",
            Some("invalidPath"),
        ),
        bad(
            "patch remove without path",
            "PATCH",
            user_path.clone(),
            patch(json!([{"op": "remove"}])),
            400,
            "scim_no_target",
            Some("noTarget"),
        ),
        bad(
            "patch changes id",
            "PATCH",
            user_path.clone(),
            patch(json!([{"op": "replace", "path": "id", "value": "other"}])),
            400,
            "scim_mutability",
            Some("mutability"),
        ),
        bad(
            "patch active nonsense",
            "PATCH",
            user_path.clone(),
            patch(json!([{"op": "Replace", "path": "active", "value": "Perhaps"}])),
            400,
            "scim_invalid_value",
            Some("invalidValue"),
        ),
        bad(
            "unknown user",
            "GET",
            "/Users/00000000-0000-4000-8000-000000000000".into(),
            Value::Null,
            404,
            "not_found",
            None,
        ),
        bad(
            "malformed user id",
            "PATCH",
            "/Users/nope".into(),
            okta_active(false),
            404,
            "not_found",
            None,
        ),
        bad(
            "unknown group",
            "DELETE",
            "/Groups/nope".into(),
            Value::Null,
            404,
            "not_found",
            None,
        ),
        bad(
            "group name taken",
            "POST",
            "/Groups".into(),
            okta_group("taken"),
            409,
            "scim_uniqueness",
            Some("uniqueness"),
        ),
        bad(
            "group member unknown",
            "PATCH",
            format!("/Groups/{gid}"),
            okta_add_member("00000000-0000-4000-8000-000000000000", "x"),
            404,
            "not_found",
            None,
        ),
        bad(
            "group without displayName",
            "PUT",
            format!("/Groups/{gid}"),
            json!({"schemas": [GROUP]}),
            400,
            "scim_invalid_value",
            Some("invalidValue"),
        ),
    ]);
    let mut stale = bad(
        "stale If-Match",
        "PATCH",
        user_path.clone(),
        okta_active(false),
        412,
        "scim_version_mismatch",
        None,
    );
    stale.headers = vec![("if-match", "W/\"7\"".into())];
    rows.push(stale);
    let mut not_json = bad(
        "not JSON",
        "POST",
        "/Users".into(),
        Value::Null,
        400,
        "invalid_json",
        Some("invalidSyntax"),
    );
    not_json.body = Some(("application/scim+json", b"{\"schemas\": [".to_vec()));
    rows.push(not_json);
    let mut wrong_type = bad(
        "wrong content type",
        "POST",
        "/Users".into(),
        Value::Null,
        415,
        "unsupported_media_type",
        None,
    );
    wrong_type.body = Some((
        "text/plain",
        okta_user("t@t.example").to_string().into_bytes(),
    ));
    rows.push(wrong_type);
    for (label, token) in [
        ("a wrong token", "scim_wrong".to_owned()),
        ("a revoked token", revoked.token.clone()),
        ("a session token", ctx.admin.clone()),
    ] {
        let mut row = bad(
            label,
            "GET",
            "/Users".into(),
            Value::Null,
            401,
            "unauthenticated",
            None,
        );
        row.token = Some(token);
        rows.push(row);
    }
    let mut failures = Vec::new();
    for row in rows {
        if let Err(e) = check_bad(ctx, &idp, row).await {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing changed the user.
    let user = idp.must("GET", &user_path, None, 200).await;
    assert_eq!(
        (user["active"].clone(), user["meta"]["version"].clone()),
        (json!(true), json!("W/\"1\""))
    );
}

async fn run(ctx: &Ctx) {
    okta(ctx).await;
    entra(ctx).await;
    cross_party(ctx).await;
    pages_and_etags(ctx).await;
    bad_inputs(ctx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_sqlite() {
    run(&Ctx::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_postgres() {
    if let Some(url) = postgres().await {
        run(&Ctx::on(Backend::Postgres(url)).await).await;
    }
}
