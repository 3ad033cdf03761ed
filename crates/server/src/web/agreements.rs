//! Agreements in the browser: when a room is closed to the user's party for
//! want of a signature, the room page shows the agreement to sign — its whole
//! text, the SHA-256 of that text carried by the form, a box to tick — instead
//! of an error; signing records the hash of the exact text shown. And the
//! user's notifications (what the expiry sweep had to say).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use app::{Agreements, App, AppError, ErrorCode, RequestMeta, act};
use model::{Agreement, AgreementId, NotificationId, PartyKind, RoomId};

use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::Meta;

/// The page for a room the user's party has yet to sign for: the denial in
/// words and each agreement awaiting the party's signature that would open
/// it; `None` when there is nothing the user could sign (the error page then
/// says what is missing).
pub async fn sign_instead(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    room: RoomId,
    message: &str,
) -> Result<Option<Markup>, WebError> {
    let p = &viewer.authed.principal;
    // Owner staff sign nothing: the room is not even asked about.
    if p.party_kind == PartyKind::Owner {
        return Ok(None);
    }
    let auth = app.room(meta, p, room, act::RoomView).await?;
    let to_sign = Agreements(app).agreements_to_sign(auth).await?;
    if to_sign.is_empty() {
        return Ok(None);
    }
    let header = viewer.header();
    let body = html! {
        section.card #sign-required {
            h1 { "An agreement needs your signature" }
            p.notice role="status" #denial { (message) }
            p { "Read the agreement below. Signing it binds your organization; the exact text you see is recorded with your name, the time and your address." }
        }
        @for a in &to_sign {
            (agreement_form(a, room, &viewer.csrf))
        }
    };
    Ok(Some(layout::page("Sign the agreement", Some(header), body)))
}

fn agreement_form(a: &Agreement, room: RoomId, csrf: &str) -> Markup {
    let action = format!("/agreements/{}/sign", a.id);
    html! {
        section.card.agreement data-agreement=(a.id.to_string()) {
            h2.agreement-title { (a.title) }
            p.muted {
                "In force from " (layout::time(a.effective_ms))
                @if let Some(end) = a.end_ms { " until " (layout::time(end)) }
                @if !a.terms.field_of_use.is_empty() { " · field of use: " (a.terms.field_of_use.join(", ")) }
                @if !a.terms.territories.is_empty() { " · territories: " (a.terms.territories.join(", ")) }
            }
            pre.agreement-text tabindex="0" { (a.text) }
            form.sign method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="text_sha256" value=(a.text_sha256);
                input type="hidden" name="room" value=(room.to_string());
                label {
                    input.agree type="checkbox" name="agree" value="yes" required;
                    " I have read this agreement and sign it for my organization"
                }
                button.primary.sign-button type="submit" { "Sign" }
            }
        }
    }
}

/// The sign form's fields.
#[derive(Deserialize)]
pub struct SignForm {
    csrf: String,
    text_sha256: String,
    room: String,
    #[serde(default)]
    agree: String,
}

/// `POST /agreements/{id}/sign`: signs, then back to the room it opens.
pub async fn sign(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<SignForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let id: AgreementId = raw.parse().map_err(|_| WebError::App(AppError::NotFound))?;
    if form.agree != "yes" {
        return Err(WebError::App(AppError::invalid(
            ErrorCode::NotAgreed,
            "tick the box to confirm that you have read the agreement",
        )));
    }
    let auth = app
        .agreement(&meta, &viewer.authed.principal, id, act::AgreementSign)
        .await?;
    Agreements(&app)
        .sign_agreement(auth, &form.text_sha256)
        .await?;
    // Only a room id goes into the redirect: never an address from the form.
    // Signed from the agreement's own page (no room): back to it.
    let back = form
        .room
        .parse::<RoomId>()
        .map_or_else(|_| format!("/agreements/{id}"), |r| format!("/rooms/{r}"));
    Ok(Redirect::to(&back).into_response())
}

/// `GET /notifications`: the user's notifications, newest first.
pub async fn notifications(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(&meta, p, act::Notifications).await?;
    let items = Agreements(&app).notifications(auth, false).await?;
    let header = viewer.header();
    let body = html! {
        section.card {
            h1 { "Notifications" }
            @if items.is_empty() {
                p.empty #no-notifications { "Nothing new." }
            } @else {
                ul.notifications #notifications {
                    @for n in &items {
                        li class=(if n.read_ms.is_some() { "read" } else { "unread" }) data-kind=(n.kind) {
                            span.muted { (layout::time(n.created_ms)) " · " }
                            span.message { (n.message) }
                            @if let Some((href, label)) = subject_link(&n.subject) {
                                " · " a.subject href=(href) { (label) }
                            }
                            @if n.read_ms.is_none() {
                                form.inline method="post" action=(format!("/notifications/{}/read", n.id)) {
                                    input type="hidden" name="csrf" value=(viewer.csrf);
                                    button.link type="submit" { "Mark read" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Notifications", Some(header), body))
}

/// The page a notification about `subject` (`kind:id`) leads to, and its
/// link's words: the questionnaires to answer, an agreement.
fn subject_link(subject: &str) -> Option<(String, &'static str)> {
    let (kind, id) = subject.split_once(':')?;
    match kind {
        "assessment" => Some(("/assessments".to_owned(), "Answer the questionnaire")),
        "agreement" if id.parse::<model::AgreementId>().is_ok() => {
            Some((format!("/agreements/{id}"), "Open the agreement"))
        }
        "review" if id.parse::<model::ReviewId>().is_ok() => {
            Some((format!("/reviews/{id}"), "Open the access review"))
        }
        _ => None,
    }
}

/// A form carrying only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /notifications/{id}/read`.
pub async fn read(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let id: NotificationId = raw.parse().map_err(|_| WebError::App(AppError::NotFound))?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::Notifications)
        .await?;
    Agreements(&app).read_notification(auth, id).await?;
    Ok(Redirect::to("/notifications").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_link_to_what_they_are_about() {
        let agreement = "6f1c2d3e-0000-4000-8000-000000000001";
        for (subject, want) in [
            (
                "assessment:6f1c2d3e-0000-4000-8000-000000000002",
                Some("/assessments".to_owned()),
            ),
            (
                &*format!("agreement:{agreement}"),
                Some(format!("/agreements/{agreement}")),
            ),
            ("agreement:../../admin", None),
            (
                "review:6f1c2d3e-0000-4000-8000-000000000004",
                Some("/reviews/6f1c2d3e-0000-4000-8000-000000000004".to_owned()),
            ),
            ("review:../x", None),
            ("grant:6f1c2d3e-0000-4000-8000-000000000003", None),
            ("nonsense", None),
        ] {
            assert_eq!(subject_link(subject).map(|(h, _)| h), want, "{subject}");
        }
    }
}
