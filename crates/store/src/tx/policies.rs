//! The versions of the custom policy set. A version is never changed: a change
//! is a new version whose number is the previous one plus one, so that two
//! administrators editing the same version cannot both succeed.

use sqlx::any::AnyRow;

use super::{Tx, sql, unique};
use crate::StoreError;
use crate::row::RowExt;
use model::UserId;

/// One stored version of the custom policy set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersion {
    /// 1 for the first version, then one more for each change.
    pub number: i64,
    /// The custom policies, as Cedar text.
    pub custom: String,
    /// The ids of the default policies this version switches off.
    pub disabled: Vec<String>,
    pub author: UserId,
    pub created_ms: i64,
    pub comment: String,
}

fn version(row: &AnyRow) -> Result<PolicyVersion, StoreError> {
    let disabled: Vec<String> = serde_json::from_str(&row.text("disabled")?)
        .map_err(|e| StoreError::Corrupt(format!("column `disabled`: {e}")))?;
    Ok(PolicyVersion {
        number: row.int("number")?,
        custom: row.text("custom")?,
        disabled,
        author: row.parsed("author")?,
        created_ms: row.int("created_ms")?,
        comment: row.text("comment")?,
    })
}

impl Tx {
    /// Records version `number` of the custom policy set. Fails with
    /// [`StoreError::Conflict`] (`policy version`) when that number exists,
    /// i.e. when another change was recorded since the caller read the latest.
    pub async fn insert_policy_version(
        &mut self,
        number: i64,
        custom: &str,
        disabled: &[String],
        author: UserId,
        created_ms: i64,
        comment: &str,
    ) -> Result<(), StoreError> {
        let disabled = serde_json::to_string(disabled)
            .map_err(|e| StoreError::Corrupt(format!("disabled: {e}")))?;
        let query = sql(
            "INSERT INTO policy_versions (number, custom, disabled, author, created_ms, comment) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(number)
        .bind(custom.to_owned())
        .bind(disabled)
        .bind(author.to_string())
        .bind(created_ms)
        .bind(comment.to_owned());
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "policy version")]))?;
        Ok(())
    }

    /// The newest version, the one in force; `None` before the first change.
    pub async fn latest_policy_version(&mut self) -> Result<Option<PolicyVersion>, StoreError> {
        sql("SELECT * FROM policy_versions ORDER BY number DESC LIMIT 1")
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(version)
            .transpose()
    }

    /// Version `number`, if it exists.
    pub async fn policy_version(
        &mut self,
        number: i64,
    ) -> Result<Option<PolicyVersion>, StoreError> {
        sql("SELECT * FROM policy_versions WHERE number = $1")
            .bind(number)
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(version)
            .transpose()
    }

    /// Every version, newest first.
    pub async fn list_policy_versions(&mut self) -> Result<Vec<PolicyVersion>, StoreError> {
        sql("SELECT * FROM policy_versions ORDER BY number DESC")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(version)
            .collect()
    }
}
