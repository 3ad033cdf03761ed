//! Due diligence in the web UI. For now one fragment the party page shows:
//! the party's status and risk tier with until when it is in term (or that
//! it has lapsed, or was never assessed) — from the party record alone, so it
//! decides nothing and asks the policy nothing. The questionnaire, answer,
//! review and matrix pages are still to come (docs/ui.md lists their
//! operations as API-only for now).

use maud::{Markup, html};

use model::diligence::tier_in_term;
use model::{Party, PartyStatus};

use crate::web::layout;

/// The party's onboarding state and risk tier at `now_ms`, for its page.
pub fn party_section(party: &Party, now_ms: i64) -> Markup {
    let in_term = tier_in_term(party.tier, party.tier_until_ms, now_ms);
    html! {
        section.card #party-diligence {
            h2 { "Due diligence" }
            dl {
                dt { "Status" }
                dd #diligence-status {
                    (party.status.as_str())
                    @if party.status == PartyStatus::Prospective { " (being onboarded)" }
                }
                dt { "Risk tier" }
                dd #diligence-tier {
                    @match (in_term, party.tier, party.tier_until_ms) {
                        (Some(t), _, Some(until)) => { (t.as_str()) ", until " (layout::time(until)) }
                        (None, Some(t), Some(until)) => {
                            "unassessed (" (t.as_str()) " lapsed " (layout::time(until)) ")"
                        }
                        _ => { "unassessed" }
                    }
                }
            }
        }
    }
}
