//! The first start: create the owner party and first admin on an empty
//! database.

use model::*;
use serde_json::json;

use kernel::events::{Fact, RequestMeta, record};
use kernel::facts::principal_for;
use kernel::secrets::random;
use kernel::{AppError, EventName};

use crate::{Identity, passwords};

/// What the first start created.
#[derive(Debug)]
pub struct Bootstrap {
    /// Whether this start created the owner party and the first admin.
    pub created: bool,
    pub admin_email: Option<String>,
    /// A password generated because none was supplied: shown once, never stored in clear.
    pub generated_password: Option<String>,
}

impl Identity<'_> {
    /// On an empty database: creates the owner party `owner_name` and the first
    /// admin. `password` `None` generates one.
    pub async fn bootstrap(
        &self,
        owner_name: &str,
        email: &str,
        password: Option<String>,
    ) -> Result<Bootstrap, AppError> {
        let mut tx = self.store().begin().await?;
        if tx.count_users().await? > 0 {
            return Ok(Bootstrap {
                created: false,
                admin_email: None,
                generated_password: None,
            });
        }
        let generated = match password {
            Some(_) => None,
            None => Some(kernel::secrets::base32(&random::<15>()?)),
        };
        let password = password.or_else(|| generated.clone()).unwrap_or_default();
        passwords::check_rules(&password)?;
        let now = self.now();
        let owner = match tx.owner_party().await? {
            Some(p) => p,
            None => {
                let party = Party {
                    id: PartyId::from_random(random()?),
                    name: owner_name.to_owned(),
                    kind: PartyKind::Owner,
                    country: None,
                    status: PartyStatus::Active,
                    created_ms: now,
                    tier: None,
                    tier_until_ms: None,
                };
                tx.insert_party(&party).await?;
                party
            }
        };
        let hash = passwords::hash(password).await?;
        let user = self
            .insert_user(
                &mut tx,
                email,
                "Administrator",
                owner.id,
                SystemRole::Admin,
                Some(hash),
            )
            .await?;
        let p = principal_for(&mut tx, &user, false).await?;
        let detail = json!({"owner_party": owner.id, "admin": user.email});
        record(
            &mut tx,
            &RequestMeta::default(),
            now,
            Fact::allowed(
                Some(&p),
                EventName::SystemBootstrap,
                format!("user:{}", user.id),
            )
            .with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(Bootstrap {
            created: true,
            admin_email: Some(user.email),
            generated_password: generated,
        })
    }
}
