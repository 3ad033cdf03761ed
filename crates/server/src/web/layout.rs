//! The page shell every page shares (header with the product name, the user's
//! e-mail and a sign-out button), the error page, and small formatting helpers.
//! maud escapes every interpolated value.

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

/// Who is signed in, for the header.
pub struct Header<'a> {
    pub email: &'a str,
    pub csrf: &'a str,
}

/// A whole page.
pub fn page(title: &str, header: Option<Header<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Custody" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header.topbar {
                    a.brand href="/" { span.logo { "◆" } " Custody" }
                    @if let Some(h) = header {
                        div.account {
                            a.notifications-link href="/notifications" { "Notifications" }
                            span.email { (h.email) }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(h.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The page shown for a refused or failed request.
pub fn error(status: StatusCode, message: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        title,
        None,
        html! {
            section.card.narrow {
                h1 { (title) }
                p.error role="alert" { (message) }
                p { a href="/" { "Back to your rooms" } }
            }
        },
    )
}

/// A byte count for people: `1.5 MB`.
pub fn size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("B");
    if unit == 0 {
        format!("{bytes} {name}")
    } else {
        format!("{value:.1} {name}")
    }
}

/// A Unix-milliseconds time for people, in UTC: `2026-11-22 20:13 UTC`.
pub fn time(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        for (bytes, want) in [
            (0, "0 B"),
            (999, "999 B"),
            (1_500, "1.5 KB"),
            (2_000_000, "2.0 MB"),
        ] {
            assert_eq!(size(bytes), want, "{bytes}");
        }
    }

    #[test]
    fn page_escapes_user_text() {
        let html = error(StatusCode::BAD_REQUEST, "<script>x</script>").into_string();
        assert!(!html.contains("<script>x"));
        assert!(html.contains("&lt;script&gt;x"));
    }
}
