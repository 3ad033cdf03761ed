//! Crown jewels through the API: a source file registered (uploaded for
//! registration only, from a file in a room, from a folder) is recognised in
//! a 50-line excerpt with its identifiers renamed — an upload of it into a
//! room shared with an external party is held, the hold and the events name
//! the document and the share; a download of a file already in such a room
//! asks for a justification once a document it holds is registered; the
//! export carries fingerprints, never content; removal ends it all. Bad
//! input and callers who may not are refused with stable codes.

use serde_json::{Value, json};

use crate::util::*;

const SOURCE: &str = include_str!("../../../dlp/tests/corpus/crown-jewel/blade_scheduler.rs.txt");
const EXCERPT: &str =
    include_str!("../../../dlp/tests/corpus/crown-jewel/blade_scheduler_excerpt.rs.txt");

/// `POST /jewels/uploads?name=…` of `content`, as `who`.
fn register_upload(
    who: &str,
    name: &str,
    content: &[u8],
    status: u16,
    code: Option<&'static str>,
) -> Case {
    Case {
        label: format!("register {name} ({} bytes)", content.len()),
        who: Some(who.to_owned()),
        method: "POST",
        path: format!("{V1}/jewels/uploads?name={}", name.replace(' ', "%20")),
        body: Payload::Raw(Some("application/octet-stream"), content.to_vec()),
        want_status: status,
        want_code: code,
        ..Case::default()
    }
}

fn call(
    who: &str,
    method: &'static str,
    path: String,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    Case {
        label: format!("{method} {path}"),
        who: Some(who.to_owned()),
        method,
        path: format!("{V1}{path}"),
        body: if method == "POST" {
            Payload::Json(json!({}))
        } else {
            Payload::None
        },
        want_status: status,
        want_code: code,
        ..Case::default()
    }
}

/// A room shared with an external party.
async fn shared_room(ctx: &Ctx, name: &str) -> String {
    let room = ctx.room(&ctx.admin, name).await;
    let party = ctx.party(&format!("{name} Partner")).await;
    ctx.grant(&ctx.admin, &room, "party", &party, "viewer", None)
        .await;
    room
}

fn events_named<'a>(events: &'a [Value], action: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["action"] == action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_excerpt_of_a_registered_upload_is_held_naming_the_document() {
    let ctx = Ctx::new().await;
    let officer = ctx.staff("security_officer").await;
    let shared = shared_room(&ctx, "Supplier drop").await;

    // A security officer registers the source uploaded for registration only.
    let name = "src/blade_scheduler.rs";
    let r = check(
        &ctx,
        register_upload(&officer.token, name, SOURCE.as_bytes(), 201, None),
    )
    .await;
    let jewel = r.json();
    assert_eq!(jewel["name"], name, "{jewel}");
    assert_eq!(jewel["source"], "upload");
    assert_eq!(jewel["size"], SOURCE.len());
    assert!(jewel["prints"].as_i64().unwrap_or(0) > 100, "{jewel}");
    let id = jewel["id"].as_str().unwrap_or_default().to_owned();
    let list = ctx
        .must(&ctx.admin, "GET", "/jewels", Value::Null, 200)
        .await;
    assert_eq!(list["items"][0]["id"], id.as_str(), "{list}");
    assert_eq!(
        list["items"][0]["registered_by_email"],
        officer.email.as_str()
    );
    // It is not stored anywhere as content: no room holds it, no blob was written.
    assert_eq!(committed_blobs(ctx.dir.path()), 0);

    // The renamed excerpt, uploaded into the shared room: held, naming it.
    let r = ctx
        .put(
            &ctx.admin,
            &shared,
            "vendor/planner.rs",
            EXCERPT.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.text());
    let held = r.json();
    let reason = &held["reason"];
    assert_eq!(reason["action"], "quarantine", "{held}");
    assert_eq!(reason["detectors"]["fingerprint.crown_jewel"], 1, "{held}");
    assert_eq!(reason["crown_jewels"][0]["name"], name, "{held}");
    assert_eq!(reason["crown_jewels"][0]["id"], id.as_str(), "{held}");
    let share = reason["crown_jewels"][0]["share"].as_f64().unwrap_or(0.0);
    assert!((0.5..=1.0).contains(&share), "share {share}");
    let events = ctx.events().await;
    let holds = events_named(&events, "dlp.hold");
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[0]["detail"]["crown_jewels"][0]["name"], name);
    let registered = events_named(&events, "jewel.register");
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0]["target"], format!("jewel:{id}"));
    assert_eq!(registered[0]["detail"]["name"], name);

    // The same excerpt in a room only the owner party holds: stored.
    let internal = ctx.room(&ctx.admin, "Internal").await;
    let owner = ctx.owner_party.clone();
    ctx.grant(&ctx.admin, &internal, "party", &owner, "viewer", None)
        .await;
    ctx.upload(&ctx.admin, &internal, "planner.rs", EXCERPT.as_bytes())
        .await;

    // Exported: the fingerprints and the name, no line of the source.
    let r = check(
        &ctx,
        call(&officer.token, "GET", "/jewels/export".into(), 200, None),
    )
    .await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    let text = String::from_utf8_lossy(&r.body).into_owned();
    let export: Value = serde_json::from_str(&text).unwrap_or_default();
    assert_eq!(export["format"], "custody-crown-jewels");
    assert_eq!(export["version"], 1);
    assert_eq!(export["documents"][0]["name"], name);
    for line in SOURCE.lines().map(str::trim).filter(|l| l.len() > 24) {
        assert!(!text.contains(line), "the export holds `{line}`");
    }
    assert_eq!(events_named(&ctx.events().await, "jewel.export").len(), 1);

    // Removed: the excerpt is just code again.
    check(
        &ctx,
        call(&officer.token, "DELETE", format!("/jewels/{id}"), 204, None),
    )
    .await;
    let r = ctx
        .put(
            &ctx.admin,
            &shared,
            "vendor/planner2.rs",
            EXCERPT.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text());
    let gone = events_named(&ctx.events().await, "jewel.unregister").len();
    assert_eq!(gone, 1);
}

/// Committed blobs (`blobs/<2 hex>/<32 hex>`).
fn committed_blobs(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("blobs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().len() == 2)
        .map(|e| std::fs::read_dir(e.path()).map(|r| r.count()).unwrap_or(0))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_in_rooms_are_registered_and_checked_on_their_way_out() {
    let ctx = Ctx::new().await;
    let shared = shared_room(&ctx, "Programme").await;
    // Already in the shared room before anything is registered.
    let copy = ctx
        .upload(&ctx.admin, &shared, "drop/planner.rs", EXCERPT.as_bytes())
        .await;
    let copy = copy["id"].as_str().unwrap_or_default().to_owned();
    check(
        &ctx,
        call(
            &ctx.admin,
            "GET",
            format!("/files/{copy}/content"),
            200,
            None,
        ),
    )
    .await;

    // The source lives in an internal room, with an image and a stub.
    let sources = ctx.room(&ctx.admin, "Sources").await;
    let file = ctx
        .upload(
            &ctx.admin,
            &sources,
            "src/blade_scheduler.rs",
            SOURCE.as_bytes(),
        )
        .await;
    let file = file["id"].as_str().unwrap_or_default().to_owned();
    let png = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 600]].concat();
    ctx.upload(&ctx.admin, &sources, "src/logo.png", &png).await;
    ctx.upload(&ctx.admin, &sources, "src/empty.rs", b"").await;
    ctx.upload(
        &ctx.admin,
        &sources,
        "docs/readme.txt",
        SOURCE.to_uppercase().as_bytes(),
    )
    .await;

    let r = check(
        &ctx,
        call(
            &ctx.admin,
            "POST",
            format!("/jewels/files/{file}"),
            201,
            None,
        ),
    )
    .await;
    let jewel = r.json();
    assert_eq!(jewel["name"], "src/blade_scheduler.rs", "{jewel}");
    assert_eq!(jewel["source"], "file");
    assert_eq!(jewel["room_id"], sources.as_str());
    assert_eq!(jewel["file_id"], file.as_str());

    // The copy already in the shared room now needs a justification to
    // leave, and the refusal names the document.
    let r = check(
        &ctx,
        call(
            &ctx.admin,
            "GET",
            format!("/files/{copy}/content"),
            422,
            Some("dlp_justification_required"),
        ),
    )
    .await;
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("src/blade_scheduler.rs"), "{message}");
    let mut justified = call(
        &ctx.admin,
        "GET",
        format!("/files/{copy}/content"),
        200,
        None,
    );
    justified.headers.push((
        "custody-justification",
        "sent to the supplier's auditor".into(),
    ));
    check(&ctx, justified).await;
    let events = ctx.events().await;
    let last = events_named(&events, "dlp.justified");
    let last = last.last().copied().cloned().unwrap_or_default();
    assert_eq!(
        last["detail"]["crown_jewels"][0]["name"], "src/blade_scheduler.rs",
        "{last}"
    );
    let rescans = events_named(&events, "dlp.scan");
    assert!(!rescans.is_empty(), "no rescan after the registration");

    // The folder: what can be registered is, the rest is listed with why.
    let r = ctx
        .must(
            &ctx.admin,
            "POST",
            &format!("/jewels/rooms/{sources}"),
            json!({"folder": "src"}),
            200,
        )
        .await;
    let skipped: Vec<(String, String)> = r["skipped"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["path"].as_str().unwrap_or_default().to_owned(),
                s["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            (
                "src/blade_scheduler.rs".to_owned(),
                "jewel_duplicate".to_owned()
            ),
            ("src/empty.rs".to_owned(), "jewel_empty".to_owned()),
            ("src/logo.png".to_owned(), "jewel_not_text".to_owned()),
        ],
        "{r}"
    );
    assert_eq!(r["registered"].as_array().map(Vec::len), Some(0), "{r}");
    // The whole room: the readme is registered too.
    let r = ctx
        .must(
            &ctx.admin,
            "POST",
            &format!("/jewels/rooms/{sources}"),
            json!({}),
            200,
        )
        .await;
    let names: Vec<&str> = r["registered"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|j| j["name"].as_str())
        .collect();
    assert_eq!(names, ["docs/readme.txt"], "{r}");
    let list = ctx
        .must(&ctx.admin, "GET", "/jewels", Value::Null, 200)
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_documents_and_callers_who_may_not_are_refused() {
    let ctx = Ctx::new().await;
    let auditor = ctx.staff("auditor").await;
    let member = ctx.staff("member").await;
    let partner = ctx.party("Partner").await;
    let external = ctx.external(&partner).await;
    let admin = ctx.admin.clone();
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let too_large = vec![b'a'; (32 << 20) + 1];
    const NO_SUCH: &str = "00000000-0000-4000-8000-00000000beef";
    let cases = vec![
        register_upload(&admin, "blade.rs", SOURCE.as_bytes(), 201, None),
        register_upload(&admin, "empty.rs", b"", 400, Some("jewel_empty")),
        register_upload(&admin, "firmware.bin", &binary, 422, Some("jewel_not_text")),
        register_upload(
            &admin,
            "tiny.rs",
            b"fn main() {}\n",
            422,
            Some("jewel_too_small"),
        ),
        register_upload(
            &admin,
            "again.rs",
            SOURCE.as_bytes(),
            409,
            Some("jewel_duplicate"),
        ),
        register_upload(&admin, " ", SOURCE.as_bytes(), 400, Some("jewel_bad_name")),
        register_upload(
            &admin,
            "huge.txt",
            &too_large,
            413,
            Some("payload_too_large"),
        ),
        call(
            &admin,
            "POST",
            format!("/jewels/files/{NO_SUCH}"),
            404,
            Some("not_found"),
        ),
        call(
            &admin,
            "POST",
            "/jewels/files/not-an-id".into(),
            404,
            Some("not_found"),
        ),
        call(
            &admin,
            "POST",
            format!("/jewels/rooms/{NO_SUCH}"),
            404,
            Some("not_found"),
        ),
        call(
            &admin,
            "DELETE",
            format!("/jewels/{NO_SUCH}"),
            404,
            Some("not_found"),
        ),
        register_upload(
            &auditor.token,
            "a.rs",
            SOURCE.as_bytes(),
            403,
            Some("forbidden"),
        ),
        register_upload(
            &member.token,
            "a.rs",
            SOURCE.as_bytes(),
            403,
            Some("forbidden"),
        ),
        register_upload(
            &external.token,
            "a.rs",
            SOURCE.as_bytes(),
            403,
            Some("forbidden"),
        ),
        call(
            &auditor.token,
            "GET",
            "/jewels".into(),
            403,
            Some("forbidden"),
        ),
        call(
            &external.token,
            "GET",
            "/jewels/export".into(),
            403,
            Some("forbidden"),
        ),
    ];
    for case in cases {
        check(&ctx, case).await;
    }
    let list = ctx.must(&admin, "GET", "/jewels", Value::Null, 200).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    let denied = ctx
        .events()
        .await
        .into_iter()
        .filter(|e| e["action"] == "jewels.manage" && e["outcome"] == "denied")
        .count();
    assert_eq!(denied, 5);
}
