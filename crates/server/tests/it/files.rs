//! Files through the API: upload, list, metadata, versions, full and ranged
//! downloads across chunk boundaries with their headers, concurrent uploads to
//! one path becoming successive versions, and deletion.

use base64::Engine;
use serde_json::Value;

use crate::util::*;

/// Deterministic content of `len` bytes that differs for each `seed`.
fn content(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// `GET /files/{id}/content` with an optional `Range` and `?version=`.
fn download(
    who: &str,
    file: &str,
    version: Option<&str>,
    range: Option<&str>,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    let query = version.map(|v| format!("?version={v}")).unwrap_or_default();
    Case {
        label: format!("download {range:?}"),
        who: Some(who.to_owned()),
        method: "GET",
        path: format!("{V1}/files/{file}/content{query}"),
        headers: range
            .map(|r| vec![("range", r.to_owned())])
            .unwrap_or_default(),
        want_status: status,
        want_code: code,
        ..Case::default()
    }
}

async fn room_with_manager(ctx: &Ctx) -> (String, User) {
    let room = ctx.room(&ctx.admin, "Files").await;
    let party = ctx.party("Acme").await;
    let u = ctx.external(&party).await;
    ctx.grant(&ctx.admin, &room, "user", &u.id, "manager", None)
        .await;
    (room, u)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_list_get_and_ranged_download() {
    let ctx = Ctx::new().await;
    let (room, u) = room_with_manager(&ctx).await;
    let data = content(1, 20_000);
    let f = ctx
        .upload(&u.token, &room, "drawings/rev%20b/part.step", &data)
        .await;
    let id = f["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(f["path"], "drawings/rev b/part.step");
    assert_eq!(f["size"], 20_000);
    assert_eq!(f["version"], 1);
    assert_eq!(f["sha256"], hex::encode(sha256(&data)));
    let list = ctx
        .must(
            &u.token,
            "GET",
            &format!("/rooms/{room}/files"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["items"][0]["id"], f["id"]);
    let meta = ctx
        .must(&u.token, "GET", &format!("/files/{id}"), Value::Null, 200)
        .await;
    assert_eq!(meta, f);
    let versions = ctx
        .must(
            &u.token,
            "GET",
            &format!("/files/{id}/versions"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(versions["items"][0]["number"], 1);
    assert_eq!(versions["items"][0]["id"], f["version_id"]);
    assert_eq!(versions["items"][0]["uploaded_by"], serde_json::json!(u.id));

    // (range header, status, expected slice, content-range)
    type Row = (
        Option<&'static str>,
        u16,
        Option<(usize, usize)>,
        Option<&'static str>,
    );
    let table: Vec<Row> = vec![
        (None, 200, Some((0, 20_000)), None),
        (
            Some("bytes=5000-9000"),
            206,
            Some((5000, 9001)),
            Some("bytes 5000-9000/20000"),
        ),
        (
            Some("bytes=0-0"),
            206,
            Some((0, 1)),
            Some("bytes 0-0/20000"),
        ),
        (
            Some("bytes=4095-4096"),
            206,
            Some((4095, 4097)),
            Some("bytes 4095-4096/20000"),
        ),
        (
            Some("bytes=19990-"),
            206,
            Some((19_990, 20_000)),
            Some("bytes 19990-19999/20000"),
        ),
        (
            Some("bytes=-100"),
            206,
            Some((19_900, 20_000)),
            Some("bytes 19900-19999/20000"),
        ),
        (
            Some("bytes=-50000"),
            206,
            Some((0, 20_000)),
            Some("bytes 0-19999/20000"),
        ),
        (
            Some("bytes=12000-99999"),
            206,
            Some((12_000, 20_000)),
            Some("bytes 12000-19999/20000"),
        ),
        // Not a single byte range: the whole content.
        (Some("bytes=0-1,5-6"), 200, Some((0, 20_000)), None),
        (Some("bytes=20000-"), 416, None, Some("bytes */20000")),
        (Some("bytes=25000-26000"), 416, None, Some("bytes */20000")),
    ];
    for (range, status, slice, content_range) in table {
        let code = (status == 416).then_some("range_not_satisfiable");
        let r = check(&ctx, download(&u.token, &id, None, range, status, code)).await;
        if let Some((a, b)) = slice {
            assert_eq!(r.body.len(), b - a, "{range:?}");
            assert!(r.body == data[a..b], "{range:?}: wrong bytes");
            assert_eq!(
                r.header("content-length"),
                Some((b - a).to_string().as_str())
            );
            assert_eq!(r.header("accept-ranges"), Some("bytes"));
        }
        assert_eq!(r.header("content-range"), content_range, "{range:?}");
        if status == 200 {
            let digest = base64::engine::general_purpose::STANDARD.encode(sha256(&data));
            assert_eq!(
                r.header("repr-digest"),
                Some(format!("sha-256=:{digest}:").as_str())
            );
            assert_eq!(r.header("content-type"), Some("application/octet-stream"));
            assert_eq!(
                r.header("content-disposition"),
                Some("attachment; filename*=UTF-8''part.step")
            );
        }
    }
    // An empty file downloads as zero bytes.
    let empty = ctx.upload(&u.token, &room, "empty.txt", b"").await;
    let r = check(
        &ctx,
        download(
            &u.token,
            empty["id"].as_str().unwrap_or_default(),
            None,
            None,
            200,
            None,
        ),
    )
    .await;
    assert!(r.body.is_empty());
    // A version id of another file, or garbage, is not found.
    let other = ctx.upload(&u.token, &room, "other.txt", b"other").await;
    let foreign = other["version_id"].as_str().unwrap_or_default();
    check(
        &ctx,
        download(&u.token, &id, Some(foreign), None, 404, Some("not_found")),
    )
    .await;
    check(
        &ctx,
        download(&u.token, &id, Some("nope"), None, 404, Some("not_found")),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_become_successive_versions() {
    let ctx = std::sync::Arc::new(Ctx::new().await);
    let (room, u) = room_with_manager(&ctx).await;
    let mut tasks = Vec::new();
    for seed in 0..8u8 {
        let (ctx, room, token) = (ctx.clone(), room.clone(), u.token.clone());
        tasks.push(tokio::spawn(async move {
            let data = content(seed, 5000 + usize::from(seed) * 1000);
            let f = ctx.upload(&token, &room, "shared/report.pdf", &data).await;
            (data, f)
        }));
    }
    let mut uploads = Vec::new();
    for t in tasks {
        uploads.push(t.await.expect("task"));
    }
    let ids: std::collections::BTreeSet<_> =
        uploads.iter().map(|(_, f)| f["id"].to_string()).collect();
    assert_eq!(ids.len(), 1, "one file for one path");
    let mut numbers: Vec<i64> = uploads
        .iter()
        .map(|(_, f)| f["version"].as_i64().unwrap_or(0))
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    let file = uploads[0].1["id"].as_str().unwrap_or_default().to_owned();
    let versions = ctx
        .must(
            &u.token,
            "GET",
            &format!("/files/{file}/versions"),
            Value::Null,
            200,
        )
        .await;
    let listed: Vec<i64> = versions["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["number"].as_i64())
        .collect();
    assert_eq!(listed, (1..=8).rev().collect::<Vec<_>>(), "newest first");
    for (data, f) in &uploads {
        let v = f["version_id"].as_str().unwrap_or_default();
        let r = check(&ctx, download(&u.token, &file, Some(v), None, 200, None)).await;
        assert!(
            r.body == *data,
            "version {} has another's content",
            f["version"]
        );
    }
    // The newest version is what the file shows and serves.
    let newest = uploads.iter().find(|(_, f)| f["version"] == 8).expect("v8");
    let r = check(&ctx, download(&u.token, &file, None, None, 200, None)).await;
    assert!(r.body == newest.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_file_is_gone() {
    let ctx = Ctx::new().await;
    let (room, u) = room_with_manager(&ctx).await;
    let f = ctx.upload(&u.token, &room, "gone.txt", b"bye").await;
    let id = f["id"].as_str().unwrap_or_default().to_owned();
    ctx.must(
        &u.token,
        "DELETE",
        &format!("/files/{id}"),
        Value::Null,
        204,
    )
    .await;
    for suffix in ["", "/content", "/versions"] {
        let case = Case {
            label: "manager after delete".into(),
            who: Some(u.token.clone()),
            method: "GET",
            path: format!("{V1}/files/{id}{suffix}"),
            want_status: 404,
            want_code: Some("not_found"),
            ..Case::default()
        };
        check(&ctx, case).await;
    }
    check(
        &ctx,
        Case {
            method: "DELETE",
            label: "again".into(),
            who: Some(u.token.clone()),
            path: format!("{V1}/files/{id}"),
            want_status: 404,
            want_code: Some("not_found"),
            ..Case::default()
        },
    )
    .await;
    let list = ctx
        .must(
            &u.token,
            "GET",
            &format!("/rooms/{room}/files"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(list["items"], serde_json::json!([]));
    // The same path again starts a new file.
    let again = ctx.upload(&u.token, &room, "gone.txt", b"back").await;
    assert_ne!(again["id"], f["id"]);
    assert_eq!(again["version"], 1);
}
