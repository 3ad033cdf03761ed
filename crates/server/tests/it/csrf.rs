//! CSRF protection: a browser session sent as the `custody_session` cookie may
//! change state only with its `x-csrf-token`; the same secret as a bearer token
//! needs none; an API token is not accepted as a cookie.

use model::SessionKind;
use serde_json::json;

use crate::util::*;

fn post_room(
    cookie: Option<&str>,
    bearer: Option<&str>,
    csrf: Option<&str>,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    let mut headers = Vec::new();
    if let Some(c) = cookie {
        headers.push(("cookie", format!("theme=dark; custody_session={c}")));
    }
    if let Some(c) = csrf {
        headers.push(("x-csrf-token", c.to_owned()));
    }
    Case {
        label: format!("cookie {} csrf {}", cookie.is_some(), csrf.is_some()),
        who: bearer.map(str::to_owned),
        method: "POST",
        path: format!("{V1}/rooms"),
        body: Payload::Json(json!({"name": format!("R{status}"), "classification": "internal"})),
        headers,
        want_status: status,
        want_code: code,
        ..Case::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_sessions_need_the_csrf_token() {
    let ctx = Ctx::new().await;
    let meta = app::RequestMeta::default();
    let browser = ctx
        .app
        .login(&meta, ADMIN_EMAIL, PASSWORD, None, SessionKind::Browser)
        .await
        .expect("browser login");
    let (token, csrf) = (browser.token.as_str(), browser.csrf.clone().expect("csrf"));
    let table = [
        post_room(Some(token), None, None, 403, Some("csrf_failed")),
        post_room(
            Some(token),
            None,
            Some("not-the-token"),
            403,
            Some("csrf_failed"),
        ),
        post_room(Some(token), None, Some(""), 403, Some("csrf_failed")),
        post_room(Some(token), None, Some(&csrf), 201, None),
        post_room(None, Some(token), None, 201, None),
        // An API token is no cookie session, with or without CSRF header.
        post_room(
            Some(&ctx.admin),
            None,
            Some(&csrf),
            401,
            Some("unauthenticated"),
        ),
        post_room(
            Some("forged"),
            None,
            Some(&csrf),
            401,
            Some("unauthenticated"),
        ),
    ];
    for case in table {
        check(&ctx, case).await;
    }
    // Safe methods need no CSRF token.
    let get = Case {
        label: "cookie GET".into(),
        method: "GET",
        path: format!("{V1}/rooms"),
        headers: vec![("cookie", format!("custody_session={token}"))],
        want_status: 200,
        ..Case::default()
    };
    let rooms = check(&ctx, get).await.json();
    assert_eq!(rooms["items"].as_array().map(Vec::len), Some(2), "{rooms}");
}
