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
    ctx.advance(30_000);
    let code = ctx.code(&ctx.admin_totp);
    let browser = app::Identity(&ctx.app)
        .login(
            &meta,
            ADMIN_EMAIL,
            PASSWORD,
            Some(&code),
            SessionKind::Browser,
        )
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

/// Request headers of a table row.
type Headers = Vec<(&'static str, String)>;

/// Login CSRF: the sign-in form signs in unless the browser says it was posted
/// from a page of another site (`Sec-Fetch-Site`, else `Origin` against the
/// host the browser addressed); then it is refused and sets no cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_form_is_refused_from_other_sites() {
    const HOST: &str = "custody.example:8443";
    let ctx = Ctx::new().await;
    // A member, who signs in with a password alone (the admin needs a code,
    // which each sign-in would spend).
    let member = ctx.staff("member").await;
    let form = format!(
        "email={}&password={}",
        member.email.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    );
    let at_host = |origin: &str| vec![("host", HOST.to_owned()), ("origin", origin.to_owned())];
    let fetch_site = |site: &str| vec![("sec-fetch-site", site.to_owned())];
    let table: Vec<(&str, Headers, u16)> = vec![
        ("no browser headers", vec![], 303),
        ("same origin", at_host("https://custody.example:8443"), 303),
        (
            "same origin, other case",
            at_host("https://Custody.Example:8443"),
            303,
        ),
        (
            "fetch metadata: same origin",
            fetch_site("same-origin"),
            303,
        ),
        ("fetch metadata: typed by the user", fetch_site("none"), 303),
        (
            "fetch metadata: another site",
            fetch_site("cross-site"),
            403,
        ),
        (
            "fetch metadata: same site, other origin",
            fetch_site("same-site"),
            403,
        ),
        ("another origin", at_host("https://evil.example"), 403),
        ("another port", at_host("https://custody.example:9443"), 403),
        ("an opaque origin", at_host("null"), 403),
        (
            "an origin and no host",
            vec![("origin", "https://custody.example:8443".to_owned())],
            403,
        ),
    ];
    for (label, headers, want) in table {
        let case = Case {
            label: label.into(),
            method: "POST",
            path: "/login".into(),
            body: Payload::Raw(
                Some("application/x-www-form-urlencoded"),
                form.clone().into_bytes(),
            ),
            headers,
            ..Case::default()
        };
        let resp = ctx.send(&case).await;
        assert_eq!(resp.status.as_u16(), want, "{label}: {}", resp.text());
        assert_eq!(resp.header("set-cookie").is_some(), want == 303, "{label}");
        if want == 403 {
            assert!(resp.text().contains("from another site"), "{label}");
        }
    }
}
