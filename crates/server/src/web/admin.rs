//! Administration in the browser: parties, users and invitations, rooms (new,
//! settings, grants), agreements and their templates, and the platform's
//! settings (network zones, DLP rules, key facts). Pages for owner admins and,
//! for their rooms' settings and grants, room managers; who may do what is the
//! seam's decision in each handler (the pages only choose what to show with
//! `permits_*`).
//!
//! Every form is a POST carrying the CSRF token; a success redirects back to
//! the page with a short confirmation (`?ok=<key>`, a fixed sentence of
//! [`CONFIRMATIONS`], never text from the request); a refused or malformed
//! input renders the form again with the message (`role=alert`) and the
//! values typed. Forms are read as name/value pairs ([`Fields`]) and parsed
//! here, so a missing or malformed field is a message, never a bare 4xx.

mod agreements;
mod grants;
mod overview;
mod parties;
mod rooms;
mod settings;
mod users;

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{Markup, html};
use serde::Deserialize;

use app::{App, AppError, ErrorCode};

use super::WebError;
use crate::auth::FormCsrf;

/// The administration routes: pages, and the form posts (CSRF-checked).
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/admin/parties", post(parties::create))
        .route("/admin/parties/{id}", post(parties::update))
        .route("/admin/parties/{id}/certification", post(parties::certify))
        .route("/admin/parties/{id}/activate", post(parties::activate))
        .route("/admin/parties/{id}/offboard", post(parties::offboard))
        .route("/admin/parties/{id}/reonboard", post(parties::reonboard))
        .route("/admin/users", post(users::create))
        .route("/admin/users/invite", post(users::invite))
        .route("/admin/users/{id}", post(users::update))
        .route("/admin/users/{id}/sessions", post(users::revoke_sessions))
        .route("/admin/users/{id}/training", post(users::training))
        .route("/admin/users/{id}/offboard", post(users::offboard))
        .route("/rooms/new", post(rooms::create))
        .route("/rooms/{id}/settings", post(rooms::update))
        .route("/rooms/{id}/delivery", post(rooms::delivery))
        .route("/rooms/{id}/certifications", post(rooms::certifications))
        .route("/rooms/{id}/courses", post(rooms::courses))
        .route("/rooms/{id}/dlp", post(rooms::dlp))
        .route("/rooms/{id}/delete", post(rooms::delete))
        .route("/rooms/{id}/grants", post(grants::create))
        .route("/rooms/{id}/grants/{grant}/revoke", post(grants::revoke))
        .route("/agreements", post(agreements::issue))
        .route(
            "/agreements/from-template",
            post(agreements::issue_from_template),
        )
        .route("/agreements/{id}/offer", post(agreements::offer))
        .route("/agreements/{id}/terminate", post(agreements::terminate))
        .route("/admin/templates", post(agreements::put_template))
        .route("/admin/settings/zones", post(settings::zones))
        .route("/admin/settings/rules", post(settings::add_rule))
        .route("/admin/settings/rules/import", post(settings::import_rules))
        .route(
            "/admin/settings/rules/{id}/remove",
            post(settings::remove_rule),
        )
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/admin/parties", get(parties::list))
        .route("/admin/parties/{id}", get(parties::show))
        .route("/admin/users", get(users::list))
        .route("/admin/users/invite", get(users::invite_page))
        .route("/admin/users/{id}", get(users::show))
        .route("/rooms/new", get(rooms::new_page))
        .route("/rooms/{id}/settings", get(rooms::settings))
        .route("/rooms/{id}/delete", get(rooms::delete_page))
        .route("/rooms/{id}/grants", get(grants::page))
        .route("/agreements", get(agreements::list))
        .route("/agreements/{id}", get(agreements::show))
        .route(
            "/agreements/{id}/terminate",
            get(agreements::terminate_page),
        )
        .route("/admin/templates", get(agreements::templates))
        .route("/admin/templates/{name}", get(agreements::template))
        .route("/admin/settings", get(settings::page))
        .merge(forms)
}

/// A posted form as its name/value pairs, in order (a name may repeat, as
/// the boxes of a group of checkboxes do).
#[derive(Deserialize, Default)]
#[serde(transparent)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed; `None` when empty.
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name).trim()).filter(|v| !v.is_empty())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Every name/value pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether a (checked) box `name` was posted.
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// The form's CSRF token.
    pub fn csrf(&self) -> &str {
        self.get("csrf")
    }
}

/// The confirmations a page shows after a successful form, by key.
const CONFIRMATIONS: &[(&str, &str)] = &[
    ("party-created", "Party created."),
    ("party-activated", "Party activated."),
    ("party-saved", "Party saved."),
    ("certification-saved", "Certification recorded."),
    ("certification-cleared", "Certification cleared."),
    (
        "certificate-recorded",
        "Certificate recorded; it counts once verified.",
    ),
    ("certificate-verified", "Certificate verified."),
    ("sponsor-saved", "Sponsor saved."),
    ("classification-saved", "Requirements saved."),
    ("room-certs-saved", "Required certifications saved."),
    ("room-courses-saved", "Required courses saved."),
    (
        "user-offboarded",
        "User offboarded: all their access has ended.",
    ),
    (
        "party-offboarded",
        "Party offboarded: all its access has ended.",
    ),
    (
        "party-reonboarded",
        "Onboarding started again: the party is prospective.",
    ),
    ("user-created", "User created."),
    ("user-saved", "User saved."),
    (
        "sessions-revoked",
        "Every session and token of this user was revoked.",
    ),
    ("training-saved", "Training recorded."),
    ("training-cleared", "Training record cleared."),
    (
        "room-created",
        "Room created. You manage it; set it up below.",
    ),
    ("room-saved", "Room settings saved."),
    ("delivery-saved", "Delivery policy saved."),
    ("dlp-saved", "Data-loss policy saved."),
    ("room-deleted", "Room deleted."),
    ("grant-created", "Access granted."),
    ("grant-revoked", "Grant revoked."),
    ("agreement-issued", "Agreement issued."),
    ("agreement-offered", "Agreement offered for signature."),
    ("agreement-terminated", "Agreement terminated."),
    ("template-saved", "Template saved."),
    ("zones-saved", "Network zones saved."),
    ("rule-added", "Rule added."),
    ("rule-removed", "Rule removed."),
    ("answers-saved", "Draft answers saved."),
    ("answers-submitted", "Answers submitted for review."),
    ("reply-sent", "Reply sent."),
    ("follow-up-asked", "Follow-up question sent to the contact."),
    ("assessment-decided", "Assessment signed off."),
    ("questionnaire-saved", "Questionnaire version saved."),
    ("questionnaire-sent", "Questionnaire sent to the contact."),
    ("risk-saved", "Sharing risk matrix saved."),
    ("course-published", "Course published."),
    ("course-requirements-saved", "Required courses saved."),
    (
        "campaign-created",
        "Campaign made; when its start has come, its reviewers were told.",
    ),
    ("review-decided", "Decision recorded."),
    (
        "destruction-requested",
        "Destruction requested: check what would be destroyed below.",
    ),
    ("retention-saved", "Retention period saved."),
    (
        "room-destroyed",
        "The room was destroyed: its key is gone for good.",
    ),
    (
        "destruction-approved",
        "Approved: the destruction ran, and its key is gone for good.",
    ),
    ("grace-saved", "Grace period of deleted files saved."),
    ("destruction-rejected", "Destruction rejected."),
    ("hold-set", "Legal hold set."),
    ("hold-released", "Legal hold released."),
    ("jewel-removed", "Crown jewel removed from the registry."),
    (
        "scim-token-revoked",
        "SCIM token revoked: its next request is refused.",
    ),
    (
        "scim-mapped",
        "Group mapped; its current members have what it gives.",
    ),
    (
        "scim-unmapped",
        "Mapping removed; the group's members lost what it gave.",
    ),
    (
        "completion-recorded",
        "Completion recorded; it counts like a pass.",
    ),
];

/// The `?ok=` of a page: which confirmation to show.
#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    ok: Option<String>,
}

impl Done {
    /// The confirmation to show, if the key is one of ours.
    fn message(&self) -> Option<&'static str> {
        let key = self.ok.as_deref()?;
        CONFIRMATIONS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, m)| *m)
    }

    /// The confirmation paragraph (`#confirmation`), or nothing.
    pub fn notice(&self) -> Markup {
        html! {
            @if let Some(m) = self.message() {
                p.notice #confirmation role="status" { (m) }
            }
        }
    }
}

/// Back to `path` with the confirmation `key` (POST/redirect/GET).
pub fn done(path: &str, key: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}ok={key}")).into_response()
}

/// A refused input, to show above its form.
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    /// The message paragraph with id `id` (`role=alert`).
    pub fn alert(&self, id: &str) -> Markup {
        html! { p.error id=(id) role="alert" { (self.message) } }
    }
}

/// What a form shows of a failure: a refusal of the input (invalid, a
/// conflict, a condition the seam or a data-loss policy refused) is a
/// message above the form; anything else (not found, internal, sign in or
/// enrol first) is the error page.
pub fn refusal(e: AppError) -> Result<Refusal, WebError> {
    let shown = match &e {
        AppError::Invalid { .. }
        | AppError::UnknownName(_)
        | AppError::Path(_)
        | AppError::Conflict(_)
        | AppError::Blocked { .. }
        | AppError::Infected { .. }
        | AppError::JustificationRequired { .. } => true,
        AppError::Forbidden { reason, .. } => *reason != "mfa_enrollment_required",
        _ => false,
    };
    if !shown {
        return Err(e.into());
    }
    let message = e.to_string();
    let status = crate::error::ApiError::from(e).into_response().status();
    Ok(Refusal { status, message })
}

/// Which form of a page failed, and why.
pub struct Failed<'a> {
    /// The form's id.
    pub form: &'static str,
    pub refusal: Refusal,
    /// What was posted, to show again.
    pub fields: &'a Fields,
}

impl Failed<'_> {
    /// The alert, when `form` is the form that failed.
    pub fn alert_for(failed: Option<&Failed<'_>>, form: &str) -> Markup {
        html! {
            @if let Some(f) = failed.filter(|f| f.form == form) {
                (f.refusal.alert(&format!("{form}-error")))
            }
        }
    }

    /// The value to show in field `name` of `form`: what was posted when this
    /// form failed, else `current`.
    pub fn value(failed: Option<&Failed<'_>>, form: &str, name: &str, current: &str) -> String {
        match failed.filter(|f| f.form == form) {
            Some(f) => f.fields.get(name).to_owned(),
            None => current.to_owned(),
        }
    }
}

/// A page rendered again after a refused form, with the refusal's status.
pub fn again(status: StatusCode, page: Markup) -> Response {
    (status, page).into_response()
}

/// Parses an id from a path; a malformed id is simply not found.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, WebError> {
    raw.parse().map_err(|_| WebError::App(AppError::NotFound))
}

/// A date (`YYYY-MM-DD`, the start of that day in UTC) or an RFC 3339 time
/// from a form, as Unix milliseconds; `None` when left empty.
pub fn parse_date(label: &str, raw: &str) -> Result<Option<i64>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let bad = || {
        AppError::invalid(
            ErrorCode::InvalidTime,
            format!(
                "{label}: `{}` is not a date (YYYY-MM-DD)",
                raw.chars().take(40).collect::<String>()
            ),
        )
    };
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let at = match time::Date::parse(raw, day) {
        Ok(d) => d.midnight().assume_utc(),
        Err(_) => time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
            .map_err(|_| bad())?,
    };
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map(Some)
        .map_err(|_| bad())
}

/// A Unix-milliseconds time as the value of a date field (`YYYY-MM-DD`, UTC).
pub fn date_value(ms: Option<i64>) -> String {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    ms.and_then(|ms| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
    })
    .and_then(|t| t.format(day).ok())
    .unwrap_or_default()
}

/// A comma- or line-separated list from a form, trimmed, empties dropped.
pub fn list(raw: &str) -> Vec<String> {
    raw.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The absolute address of `path` on this site, from the request's `Host`
/// (or HTTP/2 authority). A host that is not a plain host name or address
/// gives the path alone.
pub fn site_url(headers: &HeaderMap, uri: &Uri, path: &str) -> String {
    let host = uri.authority().map(|a| a.as_str().to_owned()).or_else(|| {
        headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    });
    let plain = |h: &str| {
        !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    };
    match host.filter(|h| plain(h)) {
        Some(h) => format!("https://{h}{path}"),
        None => path.to_owned(),
    }
}

/// A `select` of `options` (value, label) with `selected` chosen.
pub fn select(id: &str, name: &str, options: &[(&str, &str)], selected: &str) -> Markup {
    html! {
        select id=(id) name=(name) {
            @for (value, label) in options {
                option value=(value) selected[*value == selected] { (label) }
            }
        }
    }
}

/// The options of a closed vocabulary, labelled by their names.
pub fn names<T: Copy>(
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|v| (name(*v), name(*v))).collect()
}

/// Whether the policy in force lets the viewer do `action` on the platform:
/// for choosing which forms a page shows, never for doing.
pub fn may(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &super::Viewer,
    action: app::authz::Action,
) -> bool {
    app.permits_system(meta, &viewer.authed.principal, &[action]) == [true]
}

/// A hidden CSRF field.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_as_the_start_of_the_day_in_utc() {
        for (raw, want) in [
            ("", None),
            ("  ", None),
            ("1970-01-02", Some(86_400_000)),
            ("1970-01-01T00:00:01Z", Some(1_000)),
        ] {
            assert_eq!(parse_date("date", raw).unwrap(), want, "{raw}");
        }
        for bad in ["tomorrow", "2026-13-01", "01/02/2026"] {
            let e = parse_date("Expires", bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidTime, "{bad}");
            assert!(e.to_string().starts_with("Expires: "), "{e}");
        }
        assert_eq!(date_value(Some(86_400_000)), "1970-01-02");
        assert_eq!(date_value(None), "");
    }

    #[test]
    fn the_invitation_link_names_only_a_plain_host() {
        let check = |host: &str, want: &str| {
            let mut h = HeaderMap::new();
            h.insert(axum::http::header::HOST, host.parse().unwrap());
            assert_eq!(
                site_url(&h, &Uri::from_static("/x"), "/invite/t"),
                want,
                "{host}"
            );
        };
        check(
            "custody.example:8443",
            "https://custody.example:8443/invite/t",
        );
        check("[::1]:8443", "https://[::1]:8443/invite/t");
        check("evil.example/path", "/invite/t");
        check("a b", "/invite/t");
    }

    #[test]
    fn only_known_confirmations_are_shown() {
        let done = |ok: &str| {
            Done {
                ok: Some(ok.into()),
            }
            .message()
        };
        assert_eq!(done("party-created"), Some("Party created."));
        assert_eq!(done("<script>"), None);
        let keys: std::collections::BTreeSet<_> = CONFIRMATIONS.iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), CONFIRMATIONS.len(), "a key is repeated");
    }

    #[test]
    fn lists_split_on_commas_and_lines() {
        assert_eq!(list(" a, b\n\nc ,"), vec!["a", "b", "c"]);
        assert!(list(" , ").is_empty());
    }
}
