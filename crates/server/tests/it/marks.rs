//! Watermarked delivery, the view-only viewer and tracing: downloads follow
//! the room's delivery policy per role (marked copies carry a fresh mark id
//! recorded in the download's ledger event), a file that cannot be marked is
//! refused by default, a traced copy names its recipient with ledger evidence
//! that verifies, and viewer pages are rendered and marked per view.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::util::*;

/// A PDF of `pages` pages, each with one line of text, assembled by hand
/// (objects, then a cross-reference table with their byte offsets).
pub(crate) fn pdf(pages: usize) -> Vec<u8> {
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        String::new(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut kids = vec![];
    for n in 0..pages {
        let page_obj = objects.len() + 1;
        let text = format!(
            "BT /F1 24 Tf 72 720 Td (Bracket drawing page {}) Tj ET",
            n + 1
        );
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            page_obj + 1
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{text}\nendstream",
            text.len()
        ));
        kids.push(format!("{page_obj} 0 R"));
    }
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {pages} >>",
        kids.join(" ")
    );
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = vec![];
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A 640×480 PNG of a smooth scene.
fn png() -> Vec<u8> {
    let (w, h) = (640usize, 480usize);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let v =
                (96.0 + 60.0 * ((x as f32) / 70.0).sin() + 40.0 * ((y as f32) / 50.0).cos()) as u8;
            rgb.extend_from_slice(&[v, v.wrapping_add(20), v / 2 + 60]);
        }
    }
    let pixels = mark::image::Pixels {
        width: w,
        height: h,
        channels: 3,
        data: rgb,
        format: mark::image::ImageFormat::Png,
    };
    mark::image::encode(&pixels, mark::image::ImageFormat::Png).unwrap()
}

fn mark_key(ctx: &Ctx) -> mark::MarkKey {
    let text = std::fs::read_to_string(ctx.dir.path().join("keys/mark.key")).unwrap();
    mark::MarkKey::derive(text.trim().as_bytes())
}

/// What a download must hand out.
#[derive(Debug)]
enum Want {
    /// A copy whose mark (read with the key) is the announced mark id.
    Marked,
    /// The original bytes, no mark id.
    Original,
    /// A refusal with this status and code.
    Refused(u16, &'static str),
}

/// Downloads `file` as `who` and checks the answer against `want`; returns
/// the mark id of a marked copy.
async fn download(ctx: &Ctx, who: &str, file: &str, original: &[u8], want: Want) -> Option<String> {
    let r = ctx
        .call(who, "GET", &format!("/files/{file}/content"), Value::Null)
        .await;
    let label = format!("download {file} expecting {want:?}");
    match want {
        Want::Refused(status, code) => {
            assert_eq!(r.status.as_u16(), status, "{label}: {}", r.text());
            assert_eq!(r.json()["error"]["code"], code, "{label}");
            None
        }
        Want::Original => {
            assert_eq!(r.status.as_u16(), 200, "{label}: {}", r.text());
            assert_eq!(r.header("custody-mark-id"), None, "{label}");
            assert!(r.body == original, "{label}: bytes differ");
            None
        }
        Want::Marked => {
            assert_eq!(r.status.as_u16(), 200, "{label}: {}", r.text());
            let id = r
                .header("custody-mark-id")
                .expect("mark id header")
                .to_owned();
            assert!(r.body != original, "{label}: unmarked bytes");
            let digest = STANDARD.encode(sha256(&r.body));
            assert_eq!(
                r.header("repr-digest"),
                Some(format!("sha-256=:{digest}:").as_str())
            );
            let found = mark::trace(&r.body, Some(&mark_key(ctx)), &mark::Limits::default())
                .unwrap()
                .expect("a readable mark");
            assert_eq!(found.mark_id.to_string(), id, "{label}");
            Some(id)
        }
    }
}

/// The `file.download` / `file.view` events, newest last.
async fn issue_events(ctx: &Ctx, action: &str) -> Vec<Value> {
    ctx.events()
        .await
        .into_iter()
        .filter(|e| e["action"] == action)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_follow_the_rooms_delivery_policy() {
    let ctx = Ctx::new().await;
    let room = ctx.room(&ctx.admin, "Supplier drawings").await;
    let party = ctx.party("Acme").await;
    let ext = ctx.external(&party).await;
    ctx.grant(&ctx.admin, &room, "user", &ext.id, "downloader", None)
        .await;
    let files = [
        ("doc.pdf", pdf(2)),
        (
            "notes.rs",
            b"fn main() {\n    println!(\"bracket\");\n}\n".repeat(20),
        ),
        ("photo.png", png()),
        ("data.bin", [0u8, 159, 146, 150, 255, 0, 1, 2].repeat(64)),
        (
            "drawing.step",
            include_bytes!("../../../mark/tests/formats/drawing.step").to_vec(),
        ),
        // Text of a format with no registered marker: never altered.
        (
            "Gearbox.kt",
            b"fun main() {\n    println(\"gearbox\")\n}\n".repeat(20),
        ),
    ];
    let mut ids = vec![];
    for (name, content) in &files {
        let f = ctx.upload(&ctx.admin, &room, name, content).await;
        ids.push(f["id"].as_str().unwrap().to_owned());
    }
    let (pdf_id, data_id) = (&ids[0], &ids[3]);
    // Defaults: downloaders get marked copies, an unmarkable file is refused,
    // the admin (no grant: the manager's setting) gets the original.
    let rows: Vec<(&str, usize, Want)> = vec![
        (&ext.token, 0, Want::Marked),
        (&ext.token, 1, Want::Marked),
        (&ext.token, 2, Want::Marked),
        (&ext.token, 3, Want::Refused(403, "forbidden")),
        (&ext.token, 4, Want::Marked),
        (&ext.token, 5, Want::Refused(403, "forbidden")),
        (&ctx.admin, 0, Want::Original),
    ];
    let mut marks = vec![];
    for (who, i, want) in rows {
        marks.extend(download(&ctx, who, &ids[i], &files[i].1, want).await);
    }
    // The same version twice gives two mark ids.
    marks.extend(download(&ctx, &ext.token, pdf_id, &files[0].1, Want::Marked).await);
    assert_eq!(marks.len(), 5);
    let mut unique = marks.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), marks.len(), "{marks:?}");
    // Each mark id is in its download's event.
    let downloads = issue_events(&ctx, "file.download").await;
    let recorded: Vec<&str> = downloads
        .iter()
        .filter_map(|e| e["mark_id"].as_str())
        .collect();
    assert_eq!(
        recorded,
        marks.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let refused = downloads
        .iter()
        .find(|e| e["reason"] == "unmarkable")
        .unwrap();
    assert_eq!(refused["actor_user"], ext.id.as_str());
    // A marked STEP model is still a STEP model: its first line untouched,
    // every line of the original kept in order.
    let r = ctx
        .call(
            &ext.token,
            "GET",
            &format!("/files/{}/content", ids[4]),
            Value::Null,
        )
        .await;
    let copy = String::from_utf8(r.body.clone()).unwrap();
    assert!(copy.starts_with("ISO-10303-21;\n"), "{copy}");
    let original = String::from_utf8(files[4].1.clone()).unwrap();
    let mut kept = copy.lines();
    for line in original.lines() {
        assert!(kept.any(|l| l == line), "`{line}` lost or moved in {copy}");
    }

    // The room's policy changes what leaves; only a manager may change it.
    let path = format!("/rooms/{room}/delivery");
    let got = ctx.must(&ctx.admin, "GET", &path, Value::Null, 200).await;
    assert_eq!(
        got,
        json!({"downloader": "marked", "contributor": "marked", "manager": "original", "unmarkable": "deny"})
    );
    let policy = |downloader: &str, unmarkable: &str| json!({"downloader": downloader, "contributor": "marked", "manager": "original", "unmarkable": unmarkable});
    let bad = ctx
        .call(&ctx.admin, "PUT", &path, policy("shred", "deny"))
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.json()["error"]["code"].clone()),
        (400, json!("unknown_name"))
    );
    let not_theirs = ctx
        .call(&ext.token, "PUT", &path, policy("original", "deny"))
        .await;
    assert!(
        matches!(not_theirs.status.as_u16(), 403 | 404),
        "{}",
        not_theirs.text()
    );

    ctx.must(&ctx.admin, "PUT", &path, policy("marked", "original"), 200)
        .await;
    download(&ctx, &ext.token, data_id, &files[3].1, Want::Original).await;
    let last = issue_events(&ctx, "file.download").await.pop().unwrap();
    assert_eq!(last["detail"]["unmarkable"], "mark_unsupported");
    download(&ctx, &ext.token, &ids[5], &files[5].1, Want::Original).await;
    let last = issue_events(&ctx, "file.download").await.pop().unwrap();
    assert_eq!(last["detail"]["unmarkable"], "mark_unsupported");

    ctx.must(&ctx.admin, "PUT", &path, policy("view_only", "deny"), 200)
        .await;
    download(
        &ctx,
        &ext.token,
        pdf_id,
        &files[0].1,
        Want::Refused(403, "forbidden"),
    )
    .await;
    let last = issue_events(&ctx, "file.download").await.pop().unwrap();
    assert_eq!(last["reason"], "view_only");
    let changes = issue_events(&ctx, "room.delivery").await;
    assert_eq!(changes.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_copy_names_its_recipient_with_evidence_that_verifies() {
    let ctx = Ctx::new().await;
    let room = ctx.room(&ctx.admin, "Tooling").await;
    let party = ctx.party("Acme").await;
    let ext = ctx.external(&party).await;
    ctx.grant(&ctx.admin, &room, "user", &ext.id, "downloader", None)
        .await;
    let original = pdf(3);
    let f = ctx.upload(&ctx.admin, &room, "spec.pdf", &original).await;
    let file = f["id"].as_str().unwrap();
    let r = ctx
        .call(
            &ext.token,
            "GET",
            &format!("/files/{file}/content"),
            Value::Null,
        )
        .await;
    let mark_id = r.header("custody-mark-id").unwrap().to_owned();
    let leaked = r.body.clone();
    let officer = ctx.staff("security_officer").await;

    let trace = |who: &str, body: Vec<u8>| Case {
        label: format!("trace {} bytes", body.len()),
        who: Some(who.to_owned()),
        method: "POST",
        path: format!("{V1}/trace"),
        body: Payload::Raw(Some("application/octet-stream"), body),
        ..Case::default()
    };
    let found = ctx.send(&trace(&officer.token, leaked.clone())).await;
    assert_eq!(found.status.as_u16(), 200, "{}", found.text());
    let t = found.json();
    assert_eq!(t["mark_id"], mark_id.as_str());
    let issued = &t["issued_by"][0];
    assert_eq!(issued["actor_user"], ext.id.as_str());
    assert_eq!(issued["actor_party"], party.as_str());
    assert_eq!(issued["action"], "file.download");
    assert_eq!(issued["target"], format!("file:{file}"));

    // The evidence verifies with nothing but itself.
    let evidence = &t["evidence"];
    let verifier = ledger::Verifier::parse(evidence["verifier_key"].as_str().unwrap()).unwrap();
    let body = verifier
        .verify(evidence["checkpoint"].as_str().unwrap())
        .unwrap();
    let checkpoint = ledger::Checkpoint::parse(&body).unwrap();
    let entry = &evidence["entries"][0];
    let leaf = STANDARD.decode(entry["leaf"].as_str().unwrap()).unwrap();
    let proof: Vec<[u8; 32]> = entry["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    let index = entry["index"].as_u64().unwrap();
    ledger::verify_inclusion(
        &ledger::leaf_hash(&leaf),
        index,
        checkpoint.size,
        &proof,
        &checkpoint.root,
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&leaf).contains(&mark_id));

    // Refusals: no mark, an external user asking.
    let rows = [
        (trace(&officer.token, original), 400, "no_mark"),
        (trace(&ext.token, leaked), 403, "forbidden"),
    ];
    for (case, status, code) in rows {
        let r = ctx.send(&case).await;
        assert_eq!(r.status.as_u16(), status, "{}: {}", case.label, r.text());
        assert_eq!(r.json()["error"]["code"], code, "{}", case.label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_pages_are_rendered_and_marked_per_view() {
    let ctx = Ctx::new().await;
    let room = ctx.room(&ctx.admin, "Drawings").await;
    let party = ctx.party("Acme").await;
    let ext = ctx.external(&party).await;
    ctx.grant(&ctx.admin, &room, "user", &ext.id, "viewer", None)
        .await;
    let original = pdf(3);
    let f = ctx
        .upload(&ctx.admin, &room, "bracket.pdf", &original)
        .await;
    let file = f["id"].as_str().unwrap();
    let pages = ctx
        .must(
            &ext.token,
            "GET",
            &format!("/files/{file}/pages"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(pages["pages"], 3);
    // Opening the viewer is a view with a mark id of its own; a page asked
    // without naming that view opens one more each time.
    let mut seen = vec![pages["mark_id"].as_str().unwrap().to_owned()];
    for page in [2, 2] {
        let r = ctx
            .call(
                &ext.token,
                "GET",
                &format!("/files/{file}/pages/{page}"),
                Value::Null,
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text());
        assert_eq!(r.header("content-type"), Some("image/jpeg"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let id = r.header("custody-mark-id").unwrap().to_owned();
        let found = mark::trace(&r.body, Some(&mark_key(&ctx)), &mark::Limits::default())
            .unwrap()
            .expect("a readable page mark");
        assert_eq!(found.mark_id.to_string(), id);
        seen.push(id);
    }
    assert_ne!(seen[1], seen[2], "each view gets its own mark id");
    assert_ne!(seen[0], seen[1], "each view gets its own mark id");
    let views = issue_events(&ctx, "file.view").await;
    let marked: Vec<&str> = views.iter().filter_map(|e| e["mark_id"].as_str()).collect();
    assert_eq!(marked, seen.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(views.iter().all(|e| e["actor_user"] == ext.id.as_str()));

    let rows = [
        (format!("/files/{file}/pages/4"), 400, "render_no_such_page"),
        (format!("/files/{file}/pages/0"), 400, "render_no_such_page"),
        (format!("/files/{file}/content"), 403, "forbidden"),
    ];
    for (path, status, code) in rows {
        let r = ctx.call(&ext.token, "GET", &path, Value::Null).await;
        assert_eq!(
            (r.status.as_u16(), r.json()["error"]["code"].clone()),
            (status, json!(code)),
            "{path}: {}",
            r.text()
        );
    }
}
