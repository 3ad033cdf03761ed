//! The facts behind the access conditions that are not agreements: where a
//! request comes from (admin-defined network zones, each CIDR ranges with a
//! country code), a user's security training, a party's security
//! certification — each set by an admin and recorded as an event — and what a
//! party's agreements in force allow (field of use, territories).

use std::net::IpAddr;
use std::sync::Arc;

use model::*;
use serde_json::json;

use crate::authz::{Action, Context, Principal};
use crate::events::{Fact, RequestMeta, record};
use crate::{App, AppError};

/// What a party's agreements in force allow, for one room.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LicenceFacts {
    /// Field-of-use tags of every agreement in force.
    pub fields_of_use: Vec<String>,
    /// Whether an agreement in force that meets a requirement of the room
    /// names territories.
    pub territory_limited: bool,
    /// The countries every such agreement allows.
    pub territories: Vec<String>,
    /// Whether an agreement in force that meets a requirement of the room
    /// names the actions it permits.
    pub actions_limited: bool,
    /// The actions every such agreement permits.
    pub permitted_actions: Vec<String>,
    /// Each requirement met by an agreement in force that limits territories
    /// or actions, with what it allows (for a denial's message).
    pub territory_limits: Vec<(String, Vec<String>)>,
    pub action_limits: Vec<(String, Vec<String>)>,
}

/// The licence facts of `agreements` (one party's) at `now_ms` for a room
/// requiring `required`.
pub(crate) fn licence_facts(
    required: &[String],
    agreements: &[Agreement],
    now_ms: i64,
) -> LicenceFacts {
    let mut facts = LicenceFacts::default();
    let mut territories: Option<Vec<String>> = None;
    let mut actions: Option<Vec<String>> = None;
    for a in agreements.iter().filter(|a| a.in_force(now_ms)) {
        facts
            .fields_of_use
            .extend(a.terms.field_of_use.iter().cloned());
        let Some(key) = required.iter().find(|r| a.satisfies(r)) else {
            continue;
        };
        if !a.terms.territories.is_empty() {
            facts
                .territory_limits
                .push((key.clone(), a.terms.territories.clone()));
        }
        if !a.terms.permitted_actions.is_empty() {
            facts
                .action_limits
                .push((key.clone(), a.terms.permitted_actions.clone()));
        }
        intersect(&mut territories, &a.terms.territories);
        intersect(&mut actions, &a.terms.permitted_actions);
    }
    facts.actions_limited = actions.is_some();
    facts.permitted_actions = actions.unwrap_or_default();
    facts.fields_of_use.sort();
    facts.fields_of_use.dedup();
    facts.territory_limited = territories.is_some();
    facts.territories = territories.unwrap_or_default();
    facts
}

/// Narrows `acc` to the items of `limit`, when `limit` names any (an empty
/// list limits nothing).
fn intersect(acc: &mut Option<Vec<String>>, limit: &[String]) {
    if limit.is_empty() {
        return;
    }
    *acc = Some(match acc.take() {
        None => limit.to_vec(),
        Some(have) => have.into_iter().filter(|x| limit.contains(x)).collect(),
    });
}

/// Puts the room-specific facts of `room` into `ctx`: the licence facts and
/// whether now is outside the room's access window.
pub(crate) fn room_conditions(
    ctx: &mut Context,
    room: &Room,
    required: &[String],
    agreements: &[Agreement],
) {
    let licence = licence_facts(required, agreements, ctx.now_ms);
    ctx.fields_of_use = licence.fields_of_use;
    ctx.territory_limited = licence.territory_limited;
    ctx.territories = licence.territories;
    ctx.actions_limited = licence.actions_limited;
    ctx.permitted_actions = licence.permitted_actions;
    ctx.territory_limits = licence.territory_limits;
    ctx.action_limits = licence.action_limits;
    ctx.outside_access_window = room
        .access_window
        .as_ref()
        .is_some_and(|w| !w.contains(ctx.now_ms));
}

/// Checks a training or certification end: after `now_ms`' epoch start and
/// before the year 10000.
fn until_valid(until_ms: i64) -> Result<i64, AppError> {
    if (0..253_402_300_800_000).contains(&until_ms) {
        Ok(until_ms)
    } else {
        Err(AppError::invalid(
            "invalid_time",
            "`valid_until` must be between 1970 and 9999",
        ))
    }
}

impl App {
    /// The network zones in force on this node.
    pub fn zones(&self) -> Arc<Vec<NetworkZone>> {
        self.inner.zones.load_full()
    }

    /// Re-reads the zones from the store (another node may have changed them).
    pub async fn load_zones(&self) -> Result<(), AppError> {
        let zones = self.store().read().await?.list_zones().await?;
        self.inner.zones.store(Arc::new(zones));
        Ok(())
    }

    /// Puts the zone of the request's address into `ctx`.
    pub(crate) fn locate(&self, ctx: &mut Context) {
        let ip: Option<IpAddr> = ctx.source_addr.as_deref().and_then(|a| a.parse().ok());
        let zones = self.inner.zones.load();
        let zone = ip.and_then(|ip| zone_of(&zones, ip));
        ctx.zone = zone.map(|z| z.name.clone());
        ctx.zone_country = zone.map(|z| z.country.clone());
    }

    /// The network zones (owner staff).
    pub async fn list_zones(
        &self,
        meta: &RequestMeta,
        p: &Principal,
    ) -> Result<Vec<NetworkZone>, AppError> {
        self.check_system(meta, p, Action::ZoneList).await?;
        Ok(self.store().read().await?.list_zones().await?)
    }

    /// Replaces the network zones (admins): each validated, names unique.
    pub async fn set_zones(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        zones: Vec<NetworkZone>,
    ) -> Result<Vec<NetworkZone>, AppError> {
        self.check_system(meta, p, Action::ZoneUpdate).await?;
        if zones.len() > MAX_ZONES {
            return Err(AppError::invalid(
                "zone_invalid",
                format!("at most {MAX_ZONES} network zones"),
            ));
        }
        let mut zones = zones;
        for z in &zones {
            z.validate()
                .map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
        }
        zones.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(w) = zones.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(AppError::invalid(
                "zone_invalid",
                format!("zone `{}` is defined twice", w[0].name),
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.replace_zones(&zones, now).await?;
        let detail = json!({"zones": zones});
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), "zone.update", "system".into()).with(detail),
        )
        .await?;
        tx.commit().await?;
        self.inner.zones.store(Arc::new(zones.clone()));
        Ok(zones)
    }

    /// Records (or clears, with `None`) until when a user's security training
    /// is current (admins).
    pub async fn set_training(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: UserId,
        until_ms: Option<i64>,
    ) -> Result<User, AppError> {
        self.check_system(meta, p, Action::UserUpdate).await?;
        let until_ms = until_ms.map(until_valid).transpose()?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut user = tx.get_user(id).await?.ok_or(AppError::NotFound)?;
        user.training_until_ms = until_ms;
        tx.update_user(&user).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), "user.training", format!("user:{id}"))
                .with(json!({"training_until_ms": until_ms})),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Records (or clears, with `None`) a party's security certification and
    /// until when it is valid (admins).
    pub async fn set_certification(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: PartyId,
        certification: Option<(String, i64)>,
    ) -> Result<Party, AppError> {
        self.check_system(meta, p, Action::PartyUpdate).await?;
        let certification = match certification {
            None => None,
            Some((name, until)) => {
                let name = name.trim().to_owned();
                if name.is_empty()
                    || name.chars().count() > 200
                    || name.chars().any(char::is_control)
                {
                    return Err(AppError::invalid(
                        "invalid_field",
                        "`name` must be 1 to 200 characters without control characters",
                    ));
                }
                Some((name, until_valid(until)?))
            }
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut party = tx.get_party(id).await?.ok_or(AppError::NotFound)?;
        party.certification = certification.as_ref().map(|(n, _)| n.clone());
        party.certified_until_ms = certification.as_ref().map(|(_, u)| *u);
        tx.update_party(&party).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), "party.certification", format!("party:{id}")).with(json!({
                "certification": party.certification,
                "certified_until_ms": party.certified_until_ms,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(party)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn licence(
        template: &str,
        fields: &[&str],
        territories: &[&str],
        end: Option<i64>,
    ) -> Agreement {
        let s = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        Agreement {
            id: AgreementId::from_random([template.len() as u8; 16]),
            party_id: PartyId::from_random([1; 16]),
            kind: AgreementKind::Licence,
            template: template.into(),
            title: template.into(),
            text: "text".into(),
            text_sha256: String::new(),
            terms: AgreementTerms {
                field_of_use: s(fields),
                territories: s(territories),
                permitted_actions: vec![],
            },
            status: AgreementStatus::Active,
            effective_ms: 0,
            end_ms: end,
            created_by: UserId::from_random([2; 16]),
            created_ms: 0,
            signature: None,
            terminated_ms: None,
        }
    }

    #[test]
    fn permitted_actions_intersect_over_required_licences() {
        let with = |template: &str, actions: &[&str]| {
            let mut a = licence(template, &[], &[], None);
            a.terms.permitted_actions = actions.iter().map(|x| (*x).to_owned()).collect();
            a
        };
        let a = with("lic-a", &["file.list", "file.view"]);
        let b = with("lic-bb", &["file.view", "file.download"]);
        let open = with("lic-ccc", &[]);
        let req = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        type Case<'a> = (&'a str, Vec<String>, Vec<Agreement>, Option<&'a [&'a str]>);
        let cases: [Case; 4] = [
            (
                "one licence",
                req(&["lic-a"]),
                vec![a.clone()],
                Some(&["file.list", "file.view"]),
            ),
            (
                "both required",
                req(&["lic-a", "lic-bb"]),
                vec![a.clone(), b.clone()],
                Some(&["file.view"]),
            ),
            ("not required", req(&["nda"]), vec![a.clone()], None),
            ("no limit named", req(&["lic-ccc"]), vec![open], None),
        ];
        for (case, required, agreements, want) in cases {
            let got = licence_facts(&required, &agreements, 0);
            let got = got.actions_limited.then_some(got.permitted_actions);
            let want = want.map(|w| w.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>());
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn licence_facts_union_fields_and_intersect_territories() {
        let now = 10 * DAY;
        let a = licence("lic-a", &["automotive"], &["DE", "FR"], None);
        let b = licence("lic-bb", &["rail"], &["FR", "IT"], None);
        let ended = licence("lic-ccc", &["defence"], &["US"], Some(5 * DAY));
        let s = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        // (case, required, agreements, fields, limited, territories)
        type Case<'a> = (
            &'a str,
            Vec<String>,
            Vec<Agreement>,
            Vec<String>,
            bool,
            Vec<String>,
        );
        let cases: Vec<Case> = vec![
            ("none", s(&["lic-a"]), vec![], vec![], false, vec![]),
            (
                "one",
                s(&["lic-a"]),
                vec![a.clone()],
                s(&["automotive"]),
                true,
                s(&["DE", "FR"]),
            ),
            (
                "not required: no territory limit",
                s(&["nda"]),
                vec![a.clone()],
                s(&["automotive"]),
                false,
                vec![],
            ),
            (
                "two required",
                s(&["lic-a", "lic-bb"]),
                vec![a.clone(), b.clone()],
                s(&["automotive", "rail"]),
                true,
                s(&["FR"]),
            ),
            (
                "ended agreements count for nothing",
                s(&["lic-ccc"]),
                vec![ended],
                vec![],
                false,
                vec![],
            ),
        ];
        for (case, required, agreements, fields, limited, territories) in cases {
            let got = licence_facts(&required, &agreements, now);
            assert_eq!(
                (got.fields_of_use, got.territory_limited, got.territories),
                (fields, limited, territories),
                "{case}"
            );
        }
    }
}
