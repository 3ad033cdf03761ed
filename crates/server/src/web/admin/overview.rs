//! The party page's overview, below its header: the agreements with their
//! terms and end dates, the access its people hold, what ends within the next
//! thirty days, and its recent activity (for those who may read the log).
//! Each section is read through the use-case and proof of what it shows.

use maud::{Markup, html};

use app::authz::Action;
use app::events::EventFilter;
use app::{App, RequestMeta, act};
use model::*;

use super::super::layout;
use super::super::rooms::badge;
use super::super::{Viewer, WebError};
use super::may;

/// How far ahead "ends soon" looks.
const SOON_MS: i64 = 30 * 86_400_000;
/// How many events the activity section shows.
const ACTIVITY: i64 = 15;

/// Something of the party that ends within [`SOON_MS`].
struct Ending {
    what: String,
    href: Option<String>,
    end_ms: i64,
}

/// The overview sections of party `party`, whose users are `users`.
pub async fn sections(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    party: &Party,
    users: &[User],
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let now = app.now_ms();
    let auth = app.system(meta, p, act::AgreementList).await?;
    let mut agreements: Vec<Agreement> = app::Agreements(app)
        .list_agreements(auth)
        .await?
        .into_iter()
        .filter(|a| a.party_id == party.id)
        .collect();
    agreements.sort_by_key(|a| std::cmp::Reverse(a.created_ms));
    let auth = app.party(meta, p, party.id, act::PartyList).await?;
    let grants = app::Rooms(app).party_grants(auth).await?;
    let activity = if may(app, meta, viewer, Action::EventRead) {
        let auth = app.system(meta, p, act::EventRead).await?;
        let filter = EventFilter {
            party: Some(party.id),
            newest_first: true,
            limit: ACTIVITY,
            ..EventFilter::default()
        };
        Some(app::Audit(app).search_events(auth, filter).await?)
    } else {
        None
    };
    let certs = if may(app, meta, viewer, Action::CertificationList) {
        let auth = app.system(meta, p, act::CertificationList).await?;
        app::Certifications(app).list(auth, party.id).await?
    } else {
        Vec::new()
    };
    let ending = ending_soon(now, party, users, &agreements, &grants, &certs);
    Ok(html! {
        section.card #party-ending {
            h2 { "Ends within 30 days" }
            @if ending.is_empty() {
                p.empty { "Nothing of this party ends within 30 days." }
            } @else {
                ul {
                    @for e in &ending {
                        li {
                            @match &e.href { Some(h) => { a href=(h) { (e.what) } } None => { (e.what) } }
                            " — " (layout::time(e.end_ms))
                        }
                    }
                }
            }
        }
        section.card #party-agreements {
            h2 { "Agreements" }
            @if agreements.is_empty() {
                p.empty { "No agreement with this party." }
            } @else {
                table.listing {
                    thead { tr { th { "Agreement" } th { "Kind" } th { "Status" } th { "Term" } th { "Terms" } } }
                    tbody {
                        @for a in &agreements {
                            tr {
                                td { a href=(format!("/agreements/{}", a.id)) { (a.title) } }
                                td { (a.kind.as_str()) }
                                td { (a.status_at(now).as_str()) }
                                td.muted {
                                    (layout::time(a.effective_ms)) " – "
                                    @match a.end_ms { Some(end) => { (layout::time(end)) } None => { "open-ended" } }
                                }
                                td { (terms(&a.terms)) }
                            }
                        }
                    }
                }
            }
        }
        section.card #party-access {
            h2 { "Access" }
            @if grants.is_empty() {
                p.empty { "This party holds no grant in any room." }
            } @else {
                table.listing {
                    thead { tr { th { "Room" } th { "Holder" } th { "Role" } th { "Expires" } th { "Reason" } } }
                    tbody {
                        @for g in &grants {
                            tr {
                                td { a href=(format!("/rooms/{}", g.grant.room_id)) { (g.room_name) } " " (badge(g.classification)) }
                                td { (holder(&g.grant, party, users)) }
                                td { (g.grant.role.as_str()) }
                                td.muted {
                                    @match g.grant.expires_ms {
                                        Some(end) if end <= now => { "expired " (layout::time(end)) }
                                        Some(end) => { (layout::time(end)) }
                                        None => { "never" }
                                    }
                                }
                                td { (g.grant.reason) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(events) = &activity {
            section.card #party-activity {
                h2 { "Recent activity" }
                @if events.is_empty() {
                    p.empty { "No event of this party yet." }
                } @else {
                    table.listing {
                        thead { tr { th { "When" } th { "Action" } th { "Outcome" } th { "About" } } }
                        tbody {
                            @for e in events {
                                tr {
                                    td.muted { (layout::time(e.time_ms)) }
                                    td { code { (e.action) } }
                                    td {
                                        (e.outcome.as_str())
                                        @if let Some(r) = &e.reason { " (" (r) ")" }
                                    }
                                    td { code { (e.target) } }
                                }
                            }
                        }
                    }
                    p { a href=(format!("/audit?party={}", party.id)) { "All of this party's events" } }
                }
            }
        }
    })
}

/// Who holds `grant`: the whole party or one of its users.
fn holder(grant: &Grant, party: &Party, users: &[User]) -> String {
    match grant.subject_kind {
        SubjectKind::Party => format!("all of {}", party.name),
        SubjectKind::User => users
            .iter()
            .find(|u| u.id.0 == grant.subject_id)
            .map_or_else(|| grant.subject_id.to_string(), |u| u.email.clone()),
    }
}

/// An agreement's terms in a few words.
fn terms(t: &AgreementTerms) -> String {
    let mut parts = Vec::new();
    if !t.field_of_use.is_empty() {
        parts.push(format!("field of use: {}", t.field_of_use.join(", ")));
    }
    if !t.territories.is_empty() {
        parts.push(format!("territories: {}", t.territories.join(", ")));
    }
    if !t.permitted_actions.is_empty() {
        parts.push(format!("permits: {}", t.permitted_actions.join(", ")));
    }
    if parts.is_empty() {
        "—".to_owned()
    } else {
        parts.join("; ")
    }
}

/// What of the party ends after `now` and within [`SOON_MS`], soonest first:
/// agreements in term, grants, its verified certificates in term, its risk
/// tier, its users' training.
fn ending_soon(
    now: i64,
    party: &Party,
    users: &[User],
    agreements: &[Agreement],
    grants: &[app::PartyGrant],
    certs: &[Certification],
) -> Vec<Ending> {
    let soon = |end: i64| end > now && end - now <= SOON_MS;
    let mut out = Vec::new();
    for a in agreements {
        if let Some(end) = a.end_ms.filter(|&e| soon(e))
            && a.status_at(now) == AgreementStatus::Active
        {
            out.push(Ending {
                what: format!("agreement {}", a.title),
                href: Some(format!("/agreements/{}", a.id)),
                end_ms: end,
            });
        }
    }
    for g in grants {
        if let Some(end) = g.grant.expires_ms.filter(|&e| soon(e)) {
            out.push(Ending {
                what: format!(
                    "{} grant of {} in {}",
                    g.grant.role.as_str(),
                    holder(&g.grant, party, users),
                    g.room_name
                ),
                href: Some(format!("/rooms/{}/grants", g.grant.room_id)),
                end_ms: end,
            });
        }
    }
    for c in certs {
        if c.in_term(now) && soon(c.valid_until_ms) {
            out.push(Ending {
                what: format!("certificate {} {}", c.title(), c.number),
                href: Some(format!("/admin/parties/{}/certifications", party.id)),
                end_ms: c.valid_until_ms,
            });
        }
    }
    if let (Some(tier), Some(end)) = (party.tier, party.tier_until_ms)
        && soon(end)
    {
        out.push(Ending {
            what: format!("risk tier {} (re-assessment due)", tier.as_str()),
            href: None,
            end_ms: end,
        });
    }
    for u in users {
        if let Some(end) = u.training_until_ms.filter(|&e| soon(e)) {
            out.push(Ending {
                what: format!("security training of {}", u.email),
                href: Some(format!("/admin/users/{}", u.id)),
                end_ms: end,
            });
        }
    }
    out.sort_by_key(|e| e.end_ms);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_ends_within_thirty_days_is_listed_soonest_first() {
        const DAY: i64 = 86_400_000;
        let now = 1_000 * DAY;
        let party = Party {
            id: PartyId(uuid::Uuid::from_u128(1)),
            name: "Acme".into(),
            kind: PartyKind::External,
            country: None,
            status: PartyStatus::Active,
            created_ms: 0,
            tier: Some(model::diligence::RiskTier::High),
            tier_until_ms: Some(now + 20 * DAY),
        };
        let user = |n: u128, until: Option<i64>| User {
            id: UserId(uuid::Uuid::from_u128(n)),
            party_id: party.id,
            email: format!("u{n}@acme.test"),
            display_name: String::new(),
            system_role: SystemRole::Member,
            password_hash: None,
            totp_secret_sealed: None,
            totp_enabled: false,
            totp_last_step: 0,
            mfa_required: false,
            disabled: false,
            failed_logins: 0,
            locked_until_ms: None,
            created_ms: 0,
            training_until_ms: until,
        };
        let users = [
            user(2, Some(now + 3 * DAY)),
            user(3, Some(now + 31 * DAY)),
            user(4, Some(now - DAY)),
            user(5, None),
        ];
        let cert = |n: u128, until: i64, verified: bool| Certification {
            id: CertificationId(uuid::Uuid::from_u128(n)),
            party_id: party.id,
            standard: "iso_27001".into(),
            issuer: "TÜV".into(),
            scope: "all".into(),
            number: format!("C-{n}"),
            valid_from_ms: 0,
            valid_until_ms: until,
            evidence: None,
            verified_by: verified.then_some(users[0].id),
            verified_ms: verified.then_some(0),
            recorded_by: users[0].id,
            recorded_ms: 0,
        };
        let certs = [
            cert(10, now + 10 * DAY, true),
            cert(11, now + 5 * DAY, false),
            cert(12, now + 40 * DAY, true),
        ];
        let names: Vec<String> = ending_soon(now, &party, &users, &[], &[], &certs)
            .into_iter()
            .map(|e| e.what)
            .collect();
        assert_eq!(
            names,
            [
                "security training of u2@acme.test",
                "certificate ISO/IEC 27001 C-10",
                "risk tier high (re-assessment due)"
            ]
        );
    }
}
