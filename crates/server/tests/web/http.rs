//! The web UI through a plain HTTPS client, for what a browser does not show:
//! the assets' content types, the session cookies' attributes, the no-JS
//! multipart upload (streamed into the use-case) and its CSRF check.

use app::RequestMeta;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};

use crate::util::{self, EMAIL, PASSWORD, Site};

fn client() -> Client {
    Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the form; returns the `Set-Cookie` headers.
async fn sign_in(http: &Client, site: &Site) -> Vec<String> {
    let code = util::next_code(&site.totp_secret);
    let body = format!(
        "email={}&password={}&totp={code}",
        EMAIL.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    );
    let r = http
        .post(site.url("/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/");
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The value of cookie `name` among `Set-Cookie` headers.
fn cookie_value<'a>(set_cookies: &'a [String], name: &str) -> &'a str {
    set_cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no cookie `{name}` in {set_cookies:?}"))
}

fn multipart(csrf: &str, file_name: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "custody-test-boundary-7d2f";
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf), ("prefix", "specs/")] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_served_with_their_content_types() {
    let site = util::start_site().await;
    let http = client();
    for (path, want) in [
        ("/assets/app.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
    ] {
        let r = http.get(site.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let ct = r.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(ct.starts_with(want), "{path}: {ct}");
    }
    let r = http.get(site.url("/rooms/x")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_upload_streams_the_file_and_needs_the_csrf_token() {
    let site = util::start_site().await;
    let http = client();
    let set_cookies = sign_in(&http, &site).await;
    let session = set_cookies
        .iter()
        .find(|c| c.starts_with("custody_session="))
        .unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attribute), "{session}");
    }
    let csrf_cookie = set_cookies
        .iter()
        .find(|c| c.starts_with("custody_csrf="))
        .unwrap();
    assert!(
        !csrf_cookie.contains("HttpOnly"),
        "the page script reads it"
    );
    let token = cookie_value(&set_cookies, "custody_session");
    let csrf = cookie_value(&set_cookies, "custody_csrf");
    let cookies = format!("custody_session={token}; custody_csrf={csrf}");
    let upload = site.url(&format!("/rooms/{}/upload", site.room));
    let data = util::content(200_000);

    // A forged form (no valid token) is refused and stores nothing. The server
    // answers before reading the file, so the body is kept small enough to be
    // written whole before the connection closes.
    let (ct, body) = multipart("not-the-token", "forged.bin", &data[..1000]);
    let r = http
        .post(&upload)
        .header(COOKIE, &cookies)
        .header(CONTENT_TYPE, ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (meta, admin) = (RequestMeta::default(), site.admin().await);
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileList)
        .await
        .unwrap();
    let files = app::Files(&site.app).list_files(auth).await.unwrap();
    assert!(files.is_empty(), "{files:?}");

    let (ct, body) = multipart(csrf, "wing spar.bin", &data);
    let r = http
        .post(&upload)
        .header(COOKIE, &cookies)
        .header(CONTENT_TYPE, ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let want = format!("/rooms/{}?prefix=specs%2F", site.room);
    assert_eq!(r.headers()[LOCATION], want.as_str());
    let auth = site
        .app
        .room(&meta, &admin, site.room, app::act::FileList)
        .await
        .unwrap();
    let files = app::Files(&site.app).list_files(auth).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "specs/wing spar.bin");
    assert_eq!(files[0].size, 200_000);

    // The folder shows in the room and the file downloads as an attachment.
    let page = http
        .get(site.url(&format!("/rooms/{}", site.room)))
        .header(COOKIE, &cookies)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("specs/"), "{page}");
    let r = http
        .get(site.url(&format!("/files/{}/download", files[0].id)))
        .header(COOKIE, &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let disposition = r.headers()["content-disposition"].to_str().unwrap();
    assert_eq!(disposition, "attachment; filename*=UTF-8''wing%20spar.bin");
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());
}
