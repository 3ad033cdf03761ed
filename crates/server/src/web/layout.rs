//! The page shell every page shares (header with the product name, the pages
//! the user's role may use, the user's e-mail and a sign-out button), the error
//! page, and small formatting helpers. maud escapes every interpolated value.

use app::authz::Action;
use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

/// One page in the header: shown to those whom the policy in force allows
/// `action` on the platform (`None`: to everyone signed in).
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub action: Option<Action>,
}

/// The pages of the header, in order. A page that acts on one room or file
/// is reached from the room, not from here.
pub const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label: "Rooms",
        action: Some(Action::RoomList),
    },
    NavItem {
        href: "/search",
        label: "Search",
        action: Some(Action::RoomList),
    },
    NavItem {
        href: "/agreements",
        label: "Agreements",
        action: Some(Action::AgreementList),
    },
    NavItem {
        href: "/admin/parties",
        label: "Parties",
        action: Some(Action::PartyList),
    },
    NavItem {
        href: "/admin/users",
        label: "Users",
        action: Some(Action::UserList),
    },
    NavItem {
        href: "/admin/questionnaires",
        label: "Questionnaires",
        action: Some(Action::QuestionnaireList),
    },
    NavItem {
        href: "/admin/courses",
        label: "Courses",
        action: Some(Action::CourseList),
    },
    NavItem {
        href: "/courses",
        label: "Courses",
        action: Some(Action::CourseTake),
    },
    NavItem {
        href: "/admin/risk",
        label: "Risk matrix",
        action: Some(Action::RiskRead),
    },
    NavItem {
        href: "/admin/settings",
        label: "Settings",
        action: Some(Action::ZoneList),
    },
    NavItem {
        href: "/audit",
        label: "Audit log",
        action: Some(Action::EventRead),
    },
    NavItem {
        href: "/trace",
        label: "Trace",
        action: Some(Action::EventRead),
    },
    NavItem {
        href: "/quarantine",
        label: "Quarantine",
        action: Some(Action::DlpReview),
    },
    NavItem {
        href: "/jewels",
        label: "Crown jewels",
        action: Some(Action::JewelsManage),
    },
    NavItem {
        href: "/alerts",
        label: "Alerts",
        action: Some(Action::AlertRead),
    },
    NavItem {
        href: "/incidents",
        label: "Incidents",
        action: Some(Action::IncidentRead),
    },
    NavItem {
        href: "/reviews",
        label: "Reviews",
        action: Some(Action::ReviewDecide),
    },
    NavItem {
        href: "/attestations",
        label: "Attestations",
        action: Some(Action::AttestationRead),
    },
    NavItem {
        href: "/destructions",
        label: "Destruction",
        action: Some(Action::DestructionRead),
    },
    NavItem {
        href: "/legal-holds",
        label: "Legal holds",
        action: Some(Action::LegalHoldManage),
    },
    NavItem {
        href: "/policies",
        label: "Policies",
        action: Some(Action::PolicyRead),
    },
    NavItem {
        href: "/report",
        label: "Report a leak",
        action: Some(Action::IncidentReport),
    },
    NavItem {
        href: "/notifications",
        label: "Notifications",
        action: None,
    },
    NavItem {
        href: "/account",
        label: "Account",
        action: None,
    },
];

/// Who is signed in, for the header: the e-mail, the form token of the
/// sign-out button, and the header's pages this user may use.
pub struct Header<'a> {
    pub email: &'a str,
    pub csrf: &'a str,
    pub nav: &'a [&'static NavItem],
}

/// A whole page.
pub fn page(title: &str, header: Option<Header<'_>>, body: Markup) -> Markup {
    page_with(title, header, &[], body)
}

/// A whole page that also loads the scripts `scripts` (names under
/// `/assets/`, loaded after `app.js`).
pub fn page_with(
    title: &str,
    header: Option<Header<'_>>,
    scripts: &[&str],
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Custody" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
                @for name in scripts {
                    script src=(format!("/assets/{name}")) defer {}
                }
            }
            body {
                header.topbar {
                    a.brand href="/" { span.logo { "◆" } " Custody" }
                    @if let Some(h) = &header {
                        nav.pages aria-label="Pages" {
                            ul {
                                @for item in h.nav {
                                    li { a href=(item.href) { (item.label) } }
                                }
                            }
                        }
                        div.account {
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

/// The page shown for a refused or failed request, with the header when the
/// user is known (so that they can go elsewhere or sign out).
pub fn error(status: StatusCode, message: &str, header: Option<Header<'_>>) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        title,
        header,
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
        let html = error(StatusCode::BAD_REQUEST, "<script>x</script>", None).into_string();
        assert!(!html.contains("<script>x"));
        assert!(html.contains("&lt;script&gt;x"));
    }
}
