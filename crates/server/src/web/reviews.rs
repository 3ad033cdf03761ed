//! Access reviews in the browser (docs/reviews.md). `/reviews`: the open
//! campaigns in which the viewer reviews grants, and — for the owner's admins
//! and security officers (`review.manage`) — every campaign and the form that
//! makes one. `/reviews/{id}`: the grants under review with the decision
//! helpers (last access, downloads and views, agreements in force and their
//! ends, certificates, training, tier), a form to confirm or revoke the ones
//! the viewer reviews (one or many at once, with a justification), and for
//! managers the whole report with its CSV and evidence-bundle exports.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};

use app::{
    Action, App, AppError, CampaignSummary, CampaignView, Identity, NewCampaign, Reviews, Rooms,
    act,
};
use model::{
    Classification, ErrorCode, GrantId, PartyKind, ReviewDecision, ReviewId, ReviewScopeKind,
    ReviewStatus, Unreviewed, UserId,
};

use super::admin::{
    Done, Failed, Fields, again, csrf_field, date_value, done, may, parse_date, path_id, refusal,
    select,
};
use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::{FormCsrf, Meta};

const DAY_MS: i64 = 86_400_000;

/// The review pages' routes.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/reviews", post(create))
        .route("/reviews/{id}/decide", post(decide))
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/reviews", get(page))
        .route("/reviews/{id}", get(show))
        .route("/reviews/{id}/report.csv", get(csv))
        .merge(forms)
}

/// `GET /reviews`.
pub async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_list(&app, &meta, &viewer, &ok, None).await
}

/// Owner users for the reviewer choices, and the scope's choices.
struct Choices {
    staff: Vec<(String, String)>,
    parties: Vec<(String, String)>,
    rooms: Vec<(String, String)>,
}

async fn choices(app: &App, meta: &app::RequestMeta, viewer: &Viewer) -> Result<Choices, AppError> {
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::UserList).await?;
    let staff = Identity(app)
        .list_users(auth, Some(p.party_id))
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| {
            (
                u.id.to_string(),
                format!("{} <{}>", u.display_name, u.email),
            )
        })
        .collect();
    let auth = app.system(meta, p, act::PartyList).await?;
    let parties = Identity(app)
        .list_parties(auth)
        .await?
        .into_iter()
        .filter(|x| x.kind == PartyKind::External)
        .map(|x| (x.id.to_string(), x.name))
        .collect();
    let auth = app.system(meta, p, act::RoomList).await?;
    let rooms = Rooms(app)
        .list_rooms(auth)
        .await?
        .into_iter()
        .map(|r| (r.room.id.to_string(), r.room.name))
        .collect();
    Ok(Choices {
        staff,
        parties,
        rooms,
    })
}

async fn render_list(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::ReviewDecide).await?;
    let assigned = Reviews(app).assigned(auth).await?;
    let manage = may(app, meta, viewer, Action::ReviewManage);
    let (all, choices) = if manage {
        let auth = app.system(meta, p, act::ReviewManage).await?;
        let all = Reviews(app).list(auth).await?;
        (all, Some(choices(app, meta, viewer).await?))
    } else {
        (Vec::new(), None)
    };
    let v = |name: &str, current: &str| Failed::value(failed, "campaign-form", name, current);
    let today = date_value(Some(app.now()));
    let body = html! {
        section.card {
            h1 { "Access reviews" }
            (ok.notice())
            p { "Access that was right when it was granted is checked again: each reviewer confirms or revokes the grants they review, with a justification. At the due date the campaign applies itself." }
            h2 { "Grants you review" }
            @if assigned.is_empty() {
                p #assigned-empty { "No open campaign asks you to review a grant." }
            } @else {
                table #assigned {
                    thead { tr { th { "Campaign" } th { "Due" } th { "Still to decide" } } }
                    tbody {
                        @for s in &assigned {
                            tr {
                                td { a href=(format!("/reviews/{}", s.campaign.id)) { (s.campaign.name) } }
                                td { (layout::time(s.campaign.due_ms)) }
                                td.pending { (s.pending_for_caller) }
                            }
                        }
                    }
                }
            }
        }
        @if manage {
            section.card {
                h2 { "Campaigns" }
                @if all.is_empty() {
                    p #campaigns-empty { "No campaign yet." }
                } @else {
                    table #campaigns {
                        thead { tr { th { "Name" } th { "Scope" } th { "Status" } th { "Start" } th { "Due" } th { "Decided" } } }
                        tbody {
                            @for s in &all {
                                (campaign_row(s))
                            }
                        }
                    }
                }
            }
            @if let Some(c) = &choices {
                section.card {
                    h2 { "New campaign" }
                    (Failed::alert_for(failed, "campaign-form"))
                    form.stack #campaign-form method="post" action="/reviews" {
                        (csrf_field(&viewer.csrf))
                        label for="campaign-name" { "Name" }
                        input #campaign-name type="text" name="name" maxlength="200" required value=(v("name", ""));
                        fieldset {
                            legend { "What to review" }
                            label for="campaign-scope" { "Scope" }
                            (select("campaign-scope", "scope", &[
                                ("external", "every grant to an external party or its users"),
                                ("party", "the grants of one party"),
                                ("room", "the grants of one room"),
                                ("classification", "the grants of rooms of one classification"),
                            ], &v("scope", "external")))
                            label for="campaign-party" { "Party (scope: one party)" }
                            (select_owned("campaign-party", "scope_party", &c.parties, &v("scope_party", ""), true))
                            label for="campaign-room" { "Room (scope: one room)" }
                            (select_owned("campaign-room", "scope_room", &c.rooms, &v("scope_room", ""), true))
                            label for="campaign-class" { "Classification (scope: one classification)" }
                            (select("campaign-class", "scope_class", &Classification::ALL.iter().map(|k| (k.as_str(), k.as_str())).collect::<Vec<_>>(), &v("scope_class", "confidential")))
                        }
                        fieldset {
                            legend { "Who reviews" }
                            label.check {
                                input #campaign-managers type="checkbox" name="room_managers" value="yes" checked[failed.is_none() || v("room_managers", "") == "yes"];
                                " each room's managers (on our side)"
                            }
                            label.check {
                                input #campaign-sponsors type="checkbox" name="sponsors" value="yes" checked[failed.is_none() || v("sponsors", "") == "yes"];
                                " each party's sponsor"
                            }
                            label for="campaign-staff" { "Named staff who review every grant (optional)" }
                            select #campaign-staff name="staff" multiple size="4" {
                                @for (id, label) in &c.staff {
                                    option value=(id) selected[failed.is_some_and(|f| f.fields.all("staff").contains(&id.as_str()))] { (label) }
                                }
                            }
                            label for="campaign-fallback" { "Fallback reviewer (reviews a grant no one else would)" }
                            (select_owned("campaign-fallback", "fallback", &c.staff, &v("fallback", &viewer.authed.principal.user_id.to_string()), false))
                        }
                        fieldset {
                            legend { "When" }
                            label for="campaign-start" { "Starts on (UTC; today opens it now)" }
                            input #campaign-start type="date" name="starts" value=(v("starts", &today));
                            label for="campaign-due" { "Due at the end of (UTC)" }
                            input #campaign-due type="date" name="due" required value=(v("due", ""));
                            label for="campaign-unreviewed" { "At the due date, a grant nobody reviewed is" }
                            (select("campaign-unreviewed", "unreviewed", &[
                                ("remove", "removed"),
                                ("keep", "kept"),
                                ("flag", "kept and flagged for follow-up"),
                            ], &v("unreviewed", "remove")))
                            label for="campaign-every" { "Repeat every … days (empty: once; 91 is quarterly)" }
                            input #campaign-every type="number" name="every_days" min="1" max="3660" value=(v("every_days", ""));
                        }
                        button.primary #campaign-create type="submit" { "Start the campaign" }
                    }
                }
            }
        }
    };
    Ok(layout::page("Access reviews", Some(viewer.header()), body))
}

fn select_owned(
    id: &str,
    name: &str,
    options: &[(String, String)],
    selected: &str,
    none: bool,
) -> Markup {
    html! {
        select id=(id) name=(name) {
            @if none { option value="" { "—" } }
            @for (value, label) in options {
                option value=(value) selected[value == selected] { (label) }
            }
        }
    }
}

fn campaign_row(s: &CampaignSummary) -> Markup {
    let c = &s.campaign;
    html! {
        tr id=(format!("campaign-{}", c.id)) {
            td { a href=(format!("/reviews/{}", c.id)) { (c.name) } }
            td { (s.scope_label) }
            td.status { (c.status.as_str()) }
            td { (layout::time(c.starts_ms)) }
            td { (layout::time(c.due_ms)) }
            td { (s.decided) " of " (s.grants) }
        }
    }
}

/// The campaign a form asks for.
fn campaign_of(f: &Fields, now: i64) -> Result<NewCampaign, AppError> {
    let scope = ReviewScopeKind::parse(f.get("scope"))?;
    let scope_value = match scope {
        ReviewScopeKind::External => None,
        ReviewScopeKind::Party => f.opt("scope_party").map(str::to_owned),
        ReviewScopeKind::Room => f.opt("scope_room").map(str::to_owned),
        ReviewScopeKind::Classification => f.opt("scope_class").map(str::to_owned),
    };
    let user = |raw: &str| -> Result<UserId, AppError> {
        raw.parse().map_err(|_| {
            AppError::invalid(ErrorCode::InvalidCampaign, format!("`{raw}` is not a user"))
        })
    };
    let staff = f
        .all("staff")
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(user)
        .collect::<Result<_, _>>()?;
    let starts_ms = match parse_date("Starts on", f.get("starts"))? {
        // Today (or earlier) opens it now.
        Some(day) if day + DAY_MS > now => day.max(now),
        Some(_) | None => now,
    };
    let due_ms = parse_date("Due", f.get("due"))?
        .map(|day| day + DAY_MS)
        .ok_or_else(|| AppError::invalid(ErrorCode::InvalidCampaign, "give the due date"))?;
    let every_days = match f.opt("every_days") {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            AppError::invalid(
                ErrorCode::InvalidCampaign,
                "the repetition is a whole number of days",
            )
        })?),
    };
    Ok(NewCampaign {
        name: f.get("name").to_owned(),
        scope,
        scope_value,
        room_managers: f.checked("room_managers"),
        sponsors: f.checked("sponsors"),
        staff,
        fallback: user(f.get("fallback"))?,
        starts_ms,
        due_ms,
        unreviewed: Unreviewed::parse(f.get("unreviewed"))?,
        every_days,
    })
}

/// `POST /reviews`.
pub async fn create(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let made = async {
        let new = campaign_of(&f, app.now())?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::ReviewManage)
            .await?;
        Reviews(&app).create(auth, new).await
    }
    .await;
    match made {
        Ok(s) => Ok(done(
            &format!("/reviews/{}", s.campaign.id),
            "campaign-created",
        )),
        Err(e) => {
            let failed = Failed {
                form: "campaign-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page = render_list(&app, &meta, &viewer, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// The campaign as the viewer may see it: the whole report for those who
/// manage reviews, else the grants they review.
async fn view_of(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    id: ReviewId,
) -> Result<(CampaignView, bool), AppError> {
    let p = &viewer.authed.principal;
    if may(app, meta, viewer, Action::ReviewManage) {
        let auth = app.system(meta, p, act::ReviewManage).await?;
        Ok((Reviews(app).report(auth, id).await?, true))
    } else {
        let auth = app.system(meta, p, act::ReviewDecide).await?;
        Ok((Reviews(app).for_reviewer(auth, id).await?, false))
    }
}

/// `GET /reviews/{id}`.
pub async fn show(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    let id: ReviewId = path_id(&raw)?;
    render_campaign(&app, &meta, &viewer, id, &ok, None).await
}

/// `GET /reviews/{id}/report.csv`.
pub async fn csv(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id: ReviewId = path_id(&raw)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::ReviewManage)
        .await?;
    let view = Reviews(&app).report(auth, id).await?;
    Ok(crate::api::review_csv_response(&view))
}

fn ends(items: &[(String, Option<i64>)]) -> Markup {
    html! {
        @if items.is_empty() {
            span.muted { "none" }
        } @else {
            @for (i, (title, end)) in items.iter().enumerate() {
                @if i > 0 { br; }
                (title)
                @if let Some(end) = end { " (to " (model::utc_date(*end)) ")" }
            }
        }
    }
}

async fn render_campaign(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    id: ReviewId,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let (view, manage) = view_of(app, meta, viewer, id).await?;
    let s = &view.summary;
    let c = &s.campaign;
    let decides = view.rows.iter().any(|r| r.caller_decides);
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" { a href="/reviews" { "Access reviews" } span.sep { "/" } (c.name) }
            h1 #campaign-title { (c.name) }
            (ok.notice())
            p.muted {
                "Scope: " (s.scope_label) " · status " span #campaign-status { (c.status.as_str()) }
                " · starts " (layout::time(c.starts_ms)) " · due " span #campaign-due-at { (layout::time(c.due_ms)) }
                " · unreviewed grants are " (match c.unreviewed { Unreviewed::Remove => "removed", Unreviewed::Keep => "kept", Unreviewed::Flag => "kept and flagged" })
                @if let Some(days) = c.every_days { " · repeats every " (days) " days" }
            }
            p.muted {
                "Reviewers: "
                @if c.room_managers { "each room's managers; " }
                @if c.sponsors { "each party's sponsor; " }
                @for l in &view.staff_labels { (l) "; " }
                "fallback " (view.fallback_label) "."
            }
            p #campaign-progress { (s.decided) " of " (s.grants) " grants decided." }
            @if manage {
                p {
                    a.button #export-csv href=(format!("/reviews/{id}/report.csv")) download=(format!("access-review-{id}.csv")) { "Export the report (CSV)" }
                    " "
                    a.button #export-review-bundle href=(format!("/api/v1/reviews/{id}/bundle")) download=(format!("access-review-{id}.json")) { "Export the evidence bundle" }
                }
                p.muted { "The evidence bundle holds every event of the campaign — made, opened, each decision, each grant's outcome — with its ledger proof; check it offline with " code { "custody ledger verify --bundle" } "." }
            }
        }
        section.card {
            h2 { "Grants under review" }
            (Failed::alert_for(failed, "decide-form"))
            @if view.rows.is_empty() {
                p #review-empty { "The campaign covers no grant." }
            } @else {
                form #decide-form method="post" action=(format!("/reviews/{id}/decide")) {
                    (csrf_field(&viewer.csrf))
                    table #review-items {
                        thead {
                            tr {
                                @if decides { th { span.visually-hidden { "Choose" } } }
                                th { "Who" } th { "Room and role" } th { "Activity" }
                                th { "Agreements in force" } th { "Certificates, training, tier" }
                                th { "Reviewers" } th { "Decision" }
                                @if c.status == ReviewStatus::Applied { th { "Outcome" } }
                            }
                        }
                        tbody {
                            @for r in &view.rows {
                                @let g = r.item.grant_id;
                                tr id=(format!("item-{g}")) data-grant=(g) {
                                    @if decides {
                                        td {
                                            @if r.caller_decides {
                                                input id=(format!("pick-{g}")) type="checkbox" name="grant" value=(g) aria-label=(format!("choose {} in {}", r.subject_label, r.room_name));
                                            }
                                        }
                                    }
                                    td.subject { (r.subject_label) @if !r.party_name.is_empty() { br; span.muted { (r.party_name) } } }
                                    td { (r.room_name) " (" (r.room_classification.as_str()) ")" br; (r.item.role.as_str()) }
                                    td.activity {
                                        "last access: " (r.last_access_ms.map(layout::time).unwrap_or_else(|| "never".into()))
                                        br; (r.downloads) " downloads, " (r.views) " views since " (model::utc_date(r.activity_since_ms))
                                    }
                                    td { (ends(&r.agreements)) }
                                    td {
                                        "certificates: "
                                        @if r.certifications.is_empty() { "none" }
                                        @for (t, end) in &r.certifications { (t) " (to " (model::utc_date(*end)) ") " }
                                        @if let Some(t) = r.training_until_ms { br; "training to " (model::utc_date(t)) }
                                        br; "tier: " (r.tier.map(|t| t.as_str()).unwrap_or("unassessed"))
                                        @if let Some(u) = r.tier_until_ms { " (to " (model::utc_date(u)) ")" }
                                    }
                                    td.reviewers { @for (i, l) in r.reviewer_labels.iter().enumerate() { @if i > 0 { br; } (l) } }
                                    td.decision {
                                        @match r.item.decision {
                                            Some(d) => {
                                                span.verdict { (d.as_str()) }
                                                @if let Some(by) = &r.decided_by_label { " by " (by) }
                                                @if let Some(t) = r.item.decided_ms { " at " (layout::time(t)) }
                                                @if let Some(j) = &r.item.justification { br; q { (j) } }
                                            }
                                            None => { span.verdict.muted { "undecided" } }
                                        }
                                    }
                                    @if c.status == ReviewStatus::Applied {
                                        td.outcome { (r.item.outcome.map(|o| o.as_str()).unwrap_or("")) }
                                    }
                                }
                            }
                        }
                    }
                    @if decides {
                        fieldset.stack {
                            legend { "Decide the grants you ticked" }
                            label for="decide-justification" { "Justification (required)" }
                            input #decide-justification type="text" name="justification" maxlength="500" required value=(Failed::value(failed, "decide-form", "justification", ""));
                            div {
                                button.primary #decide-confirm type="submit" name="decision" value="confirm" { "Confirm access" }
                                " "
                                button.danger #decide-revoke type="submit" name="decision" value="revoke" { "Revoke access" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&c.name, Some(viewer.header()), body))
}

/// `POST /reviews/{id}/decide`: confirm or revoke the ticked grants.
pub async fn decide(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: ReviewId = path_id(&raw)?;
    let decided = async {
        let decision = ReviewDecision::parse(f.get("decision"))?;
        let grants = f
            .all("grant")
            .into_iter()
            .map(|g| {
                g.parse::<GrantId>().map_err(|_| {
                    AppError::invalid(ErrorCode::NotUnderReview, "tick the grants to decide")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if grants.is_empty() {
            return Err(AppError::invalid(
                ErrorCode::NotUnderReview,
                "tick the grants to decide",
            ));
        }
        let auth = app
            .system(&meta, &viewer.authed.principal, act::ReviewDecide)
            .await?;
        Reviews(&app)
            .decide(auth, id, &grants, decision, f.get("justification"))
            .await
    }
    .await;
    match decided {
        Ok(_) => Ok(done(&format!("/reviews/{id}"), "review-decided")),
        Err(e) => {
            let failed = Failed {
                form: "decide-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page =
                render_campaign(&app, &meta, &viewer, id, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}
