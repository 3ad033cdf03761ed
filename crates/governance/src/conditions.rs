//! The facts behind the access conditions that are not agreements, as an
//! admin sets them: where a request comes from (network zones, each CIDR
//! ranges with a country code), a user's security training — each recorded
//! as an event (certifications are records of their own: `certifications.rs`). (How a request is
//! placed in a zone, and what a party's agreements in force allow, are the
//! kernel's: `App::locate`, `kernel::facts`.)

use model::*;
use serde_json::json;

use kernel::events::{Fact, record};
use kernel::{Action, AppError, Authorized, EventName, System, act};

use crate::Policies;

/// Checks a training or certification end: after `now_ms`' epoch start and
/// before the year 10000.
fn until_valid(until_ms: i64) -> Result<i64, AppError> {
    if (0..253_402_300_800_000).contains(&until_ms) {
        Ok(until_ms)
    } else {
        Err(AppError::invalid(
            ErrorCode::InvalidTime,
            "`valid_until` must be between 1970 and 9999",
        ))
    }
}

impl Policies<'_> {
    /// The network zones (owner staff).
    pub async fn list_zones(
        &self,
        _auth: Authorized<'_, act::ZoneList, System>,
    ) -> Result<Vec<NetworkZone>, AppError> {
        Ok(self.store().read().await?.list_zones().await?)
    }

    /// Replaces the network zones (admins): each validated, names unique.
    pub async fn set_zones(
        &self,
        auth: Authorized<'_, act::ZoneUpdate, System>,
        zones: Vec<NetworkZone>,
    ) -> Result<Vec<NetworkZone>, AppError> {
        let (meta, p, _) = auth.into_parts();
        if zones.len() > MAX_ZONES {
            return Err(AppError::invalid(
                ErrorCode::ZoneInvalid,
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
                ErrorCode::ZoneInvalid,
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
            Fact::allowed(Some(p), Action::ZoneUpdate, "system".into()).with(detail),
        )
        .await?;
        tx.commit().await?;
        self.install_zones(zones.clone());
        Ok(zones)
    }

    /// Records (or clears, with `None`) until when a user's security training
    /// is current (admins).
    pub async fn set_training(
        &self,
        auth: Authorized<'_, act::UserUpdate, System>,
        id: UserId,
        until_ms: Option<i64>,
    ) -> Result<User, AppError> {
        let (meta, p, _) = auth.into_parts();
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
            Fact::allowed(Some(p), EventName::UserTraining, format!("user:{id}"))
                .with(json!({"training_until_ms": until_ms})),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }
}
