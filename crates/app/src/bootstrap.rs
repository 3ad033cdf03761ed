//! First start and every start: create the owner party and first admin on an
//! empty database, and clean what an interrupted upload left behind.

use std::collections::HashSet;

use model::*;
use serde_json::json;

use crate::events::{Fact, RequestMeta, record};
use crate::secrets::random;
use crate::{App, AppError, passwords};

/// What the first start created.
#[derive(Debug)]
pub struct Bootstrap {
    /// Whether this start created the owner party and the first admin.
    pub created: bool,
    pub admin_email: Option<String>,
    /// A password generated because none was supplied: shown once, never stored in clear.
    pub generated_password: Option<String>,
}

impl App {
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
            None => Some(crate::secrets::base32(&random::<15>()?)),
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
                    certification: None,
                    certified_until_ms: None,
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
        let p = self.principal_for(&mut tx, &user, false).await?;
        let detail = json!({"owner_party": owner.id, "admin": user.email});
        record(
            &mut tx,
            &RequestMeta::default(),
            now,
            Fact::allowed(Some(&p), "system.bootstrap", format!("user:{}", user.id)).with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(Bootstrap {
            created: true,
            admin_email: Some(user.email),
            generated_password: generated,
        })
    }

    /// Deletes partial blobs of interrupted uploads and committed blobs that no
    /// version references (an upload killed between its fsync and its commit).
    /// Run at start, before serving. Returns how many were removed.
    pub async fn remove_orphans(&self) -> Result<usize, AppError> {
        let referenced: HashSet<[u8; 16]> = self
            .store()
            .read()
            .await?
            .blob_ids()
            .await?
            .into_iter()
            .map(|b| *b.0.as_bytes())
            .collect();
        let blobs = self.blobs();
        tokio::task::spawn_blocking(move || {
            let mut removed = blobs.clean_partial()?;
            for id in blobs.list()? {
                if !referenced.contains(&id) {
                    blobs.remove(id)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
        .map_err(AppError::internal)?
    }
}
