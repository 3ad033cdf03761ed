//! The view-only viewer: opening a file is one view (one outbound data-loss
//! decision, one mark id, one `file.view` event) whose pages are each drawn
//! once and carry the view's mark; a view belongs to its user and file; a
//! server without poppler says so (503 `render_unavailable`) instead of
//! answering 200 then 500; and the web page performs the same operations.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::util::*;

/// A Letter-size PDF whose page `n` shows `lines` and its number, assembled
/// by hand (objects, then a cross-reference table with their byte offsets).
fn pdf(pages: usize, lines: &[&str]) -> Vec<u8> {
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        String::new(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut kids = vec![];
    for n in 0..pages {
        let page_obj = objects.len() + 1;
        let mut text = format!(
            "BT /F1 18 Tf 72 720 Td 24 TL (Gearbox housing, page {}) Tj",
            n + 1
        );
        for line in lines {
            text.push_str(&format!(" ({line}) '"));
        }
        text.push_str(" ET");
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

/// A stand-in for pdftoppm that logs each page it is asked to draw (not
/// its `-v` checks) to `drawn.log` beside it, then runs the real one.
fn counting_pdftoppm(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("counting-pdftoppm");
    let log = dir.join("drawn.log");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = -v ] || echo \"$*\" >> '{}'\nexec pdftoppm \"$@\"\n",
        log.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn drawn(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("drawn.log"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

async fn events_of(ctx: &Ctx, action: &str) -> Vec<Value> {
    ctx.events()
        .await
        .into_iter()
        .filter(|e| e["action"] == action)
        .collect()
}

/// A browser session of `user` (password sign-in): its cookie header value.
async fn browser_cookie(ctx: &Ctx, user: &User) -> String {
    let login = app::Identity(&ctx.app)
        .login(
            &app::RequestMeta::default(),
            &user.email,
            PASSWORD,
            None,
            model::SessionKind::Browser,
        )
        .await
        .expect("browser login");
    format!("custody_session={}", login.token)
}

/// A web page (not the API) fetched with a session cookie.
async fn web_get(ctx: &Ctx, cookie: &str, path: &str) -> Resp {
    ctx.send(&Case {
        method: "GET",
        path: path.to_owned(),
        headers: vec![("cookie", cookie.to_owned())],
        ..Case::default()
    })
    .await
}

/// The `src` of every page image of a viewer page.
fn page_sources(html: &str) -> Vec<String> {
    html.split("<img ")
        .skip(1)
        .filter_map(|tag| {
            let src = tag.split("src=\"").nth(1)?.split('"').next()?;
            Some(src.replace("&amp;", "&"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_page_of_a_view_is_drawn_once_and_carries_the_views_mark() {
    let tools = tempfile::tempdir().unwrap();
    let tool = counting_pdftoppm(tools.path());
    let ctx = Ctx::with(Backend::Sqlite, |s| s.viewer.pdftoppm = Some(tool)).await;
    let room = ctx.room(&ctx.admin, "Gearbox").await;
    let party = ctx.party("Acme").await;
    let ext = ctx.external(&party).await;
    let grant = ctx
        .grant(&ctx.admin, &room, "user", &ext.id, "viewer", None)
        .await;
    let other = ctx.external(&party).await;
    ctx.grant(&ctx.admin, &room, "user", &other.id, "viewer", None)
        .await;
    let f = ctx
        .upload(&ctx.admin, &room, "housing/gearbox.pdf", &pdf(3, &[]))
        .await;
    let file = f["id"].as_str().unwrap();

    let opened = ctx
        .must(
            &ext.token,
            "GET",
            &format!("/files/{file}/pages"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(opened["pages"], 3, "{opened}");
    // Letter at the reading resolution (120 dpi).
    assert_eq!(
        opened["sizes"],
        json!([[1020, 1320], [1020, 1320], [1020, 1320]])
    );
    let (view, mark_id) = (
        opened["view"].as_str().unwrap().to_owned(),
        opened["mark_id"].as_str().unwrap().to_owned(),
    );
    let key = ctx.app.mark_key().unwrap().clone();
    let mut bodies = std::collections::HashMap::new();
    for page in [1, 2, 1, 2, 3, 1] {
        let path = format!("/files/{file}/pages/{page}?view={view}");
        let r = ctx.call(&ext.token, "GET", &path, Value::Null).await;
        assert_eq!(r.status.as_u16(), 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("image/jpeg"), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(
            r.header("custody-mark-id"),
            Some(mark_id.as_str()),
            "{path}"
        );
        let found = mark::trace(&r.body, Some(&key), &mark::Limits::default())
            .unwrap()
            .unwrap_or_else(|| panic!("{path}: no readable mark"));
        assert_eq!(found.mark_id.to_string(), mark_id, "{path}");
        let first = bodies.entry(page).or_insert_with(|| r.body.clone());
        assert!(
            *first == r.body,
            "{path}: a page of a view is sent as it was drawn"
        );
    }
    assert_eq!(drawn(tools.path()), 3, "each of the 3 pages drawn once");
    let views = events_of(&ctx, "file.view").await;
    assert_eq!(views.len(), 1, "one view, one event: {views:?}");
    assert_eq!(views[0]["mark_id"], mark_id.as_str());
    assert_eq!(views[0]["actor_user"], ext.id.as_str());
    assert_eq!(views[0]["detail"]["pages"], 3);
    assert_eq!(views[0]["detail"]["view"], view.as_str());

    // A view is its user's and its file's; an unknown view is one that ended.
    let g = ctx
        .upload(&ctx.admin, &room, "housing/cover.pdf", &pdf(1, &[]))
        .await;
    let another_file = g["id"].as_str().unwrap();
    let rows = [
        (
            &other.token,
            format!("/files/{file}/pages/1?view={view}"),
            409,
            "view_expired",
        ),
        (
            &ext.token,
            format!("/files/{another_file}/pages/1?view={view}"),
            409,
            "view_expired",
        ),
        (
            &ext.token,
            format!("/files/{file}/pages/1?view=not-a-view"),
            409,
            "view_expired",
        ),
        (
            &ext.token,
            format!(
                "/files/{file}/pages/1?view={}",
                model::ViewId::from_random([7; 16])
            ),
            409,
            "view_expired",
        ),
        (
            &ext.token,
            format!("/files/{file}/pages/4?view={view}"),
            400,
            "render_no_such_page",
        ),
        (
            &ext.token,
            format!("/files/{file}/pages/0?view={view}"),
            400,
            "render_no_such_page",
        ),
    ];
    for (who, path, status, code) in rows {
        let r = ctx.call(who, "GET", &path, Value::Null).await;
        assert_eq!(
            (r.status.as_u16(), r.json()["error"]["code"].clone()),
            (status, json!(code)),
            "{path}: {}",
            r.text()
        );
    }
    assert_eq!(drawn(tools.path()), 3, "refusals draw nothing");

    // A revoked grant stops an open view at once: the seam decides each page.
    ctx.must(
        &ctx.admin,
        "DELETE",
        &format!("/rooms/{room}/grants/{grant}"),
        Value::Null,
        204,
    )
    .await;
    let r = ctx
        .call(
            &ext.token,
            "GET",
            &format!("/files/{file}/pages/1?view={view}"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_viewer_without_pdftoppm_says_so_instead_of_500() {
    let tools = tempfile::tempdir().unwrap();
    let missing = tools.path().join("no-such-pdftoppm");
    for pdftoppm in [Some(missing), None] {
        let label = format!("pdftoppm {pdftoppm:?}");
        let ctx = Ctx::with(Backend::Sqlite, |s| s.viewer.pdftoppm = pdftoppm).await;
        let room = ctx.room(&ctx.admin, "Drawings").await;
        let reader = ctx.staff("member").await;
        ctx.grant(&ctx.admin, &room, "user", &reader.id, "viewer", None)
            .await;
        let f = ctx
            .upload(&ctx.admin, &room, "bracket.pdf", &pdf(2, &[]))
            .await;
        let file = f["id"].as_str().unwrap();
        for path in [
            format!("/files/{file}/pages"),
            format!("/files/{file}/pages/1"),
        ] {
            let r = ctx.call(&reader.token, "GET", &path, Value::Null).await;
            assert_eq!(r.status.as_u16(), 503, "{label} {path}: {}", r.text());
            let error = &r.json()["error"];
            assert_eq!(error["code"], "render_unavailable", "{label} {path}");
            let message = error["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("pdftoppm") && message.contains("poppler-utils"),
                "{label} {path}: {message}"
            );
            assert_eq!(
                r.header("retry-after"),
                None,
                "{label}: retrying will not help"
            );
        }
        // The web page says the same, as a page.
        let cookie = browser_cookie(&ctx, &reader).await;
        let r = web_get(&ctx, &cookie, &format!("/files/{file}/view")).await;
        assert_eq!(r.status.as_u16(), 503, "{label}");
        let html = String::from_utf8_lossy(&r.body);
        assert!(html.contains("poppler-utils"), "{label}: {html}");
        // Refusals are recorded as refused views, with the reason.
        let refused: Vec<Value> = events_of(&ctx, "file.view")
            .await
            .into_iter()
            .filter(|e| e["outcome"] == "denied")
            .collect();
        assert_eq!(refused.len(), 3, "{label}: {refused:?}");
        assert!(
            refused.iter().all(|e| e["reason"] == "render_tool_missing"),
            "{label}: {refused:?}"
        );
        // Images need no pdftoppm: the viewer still shows them.
        let png = {
            let p = mark::image::Pixels {
                width: 64,
                height: 48,
                channels: 3,
                data: (0..64 * 48 * 3).map(|i| (i % 251) as u8).collect(),
                format: mark::image::ImageFormat::Png,
            };
            mark::image::encode(&p, mark::image::ImageFormat::Png).unwrap()
        };
        let g = ctx.upload(&ctx.admin, &room, "photo.png", &png).await;
        let image = g["id"].as_str().unwrap();
        let opened = ctx
            .must(
                &reader.token,
                "GET",
                &format!("/files/{image}/pages"),
                Value::Null,
                200,
            )
            .await;
        assert_eq!(opened["sizes"], json!([[64, 48]]), "{label}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_viewing_a_confidential_pdf_notifies_once() {
    let ctx = Ctx::new().await;
    let room = ctx.room(&ctx.admin, "Programme").await;
    // Classification markings are of medium severity: notify on the way out.
    let allow = json!({"low": "allow", "medium": "allow", "high": "allow", "critical": "block",
        "uninspectable": "allow"});
    let notify = json!({"low": "allow", "medium": "notify", "high": "notify", "critical": "block",
        "uninspectable": "allow"});
    let policy = json!({"inbound": allow, "outbound": notify});
    ctx.must(
        &ctx.admin,
        "PUT",
        &format!("/rooms/{room}/dlp"),
        policy,
        200,
    )
    .await;
    let reader = ctx.staff("member").await;
    ctx.grant(&ctx.admin, &room, "user", &reader.id, "viewer", None)
        .await;
    let doc = pdf(3, &["CONFIDENTIAL", "Gear ratios for the 2027 programme"]);
    let f = ctx.upload(&ctx.admin, &room, "gearbox.pdf", &doc).await;
    let file = f["id"].as_str().unwrap();
    assert_eq!(events_of(&ctx, "dlp.notify").await.len(), 0);

    // The browser opens the viewer page, then loads each page image.
    let cookie = browser_cookie(&ctx, &reader).await;
    let r = web_get(&ctx, &cookie, &format!("/files/{file}/view")).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let sources = page_sources(&String::from_utf8_lossy(&r.body));
    assert_eq!(sources.len(), 3, "{sources:?}");
    for src in &sources {
        let page = web_get(&ctx, &cookie, src).await;
        assert_eq!(page.status.as_u16(), 200, "{src}: {}", page.text());
        assert_eq!(page.header("content-type"), Some("image/jpeg"), "{src}");
    }
    let notified = events_of(&ctx, "dlp.notify").await;
    assert_eq!(
        notified.len(),
        1,
        "one view, one notification: {notified:?}"
    );
    assert_eq!(notified[0]["actor_user"], reader.id.as_str());
    assert_eq!(notified[0]["detail"]["via"], "file.view");
    let found = &notified[0]["detail"]["detectors"]["marking.confidential"];
    assert!(found.as_u64() >= Some(1), "{:?}", notified[0]);
    assert_eq!(events_of(&ctx, "file.view").await.len(), 1);
}
