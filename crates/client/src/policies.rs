//! The policy administration endpoints (admins): the set in force, the stored
//! versions, a what-if replay of a proposed set, and applying a new version.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::decode;
use crate::{Client, ClientError};

/// One policy of the set in force.
#[derive(Debug, Clone, Deserialize)]
pub struct Policy {
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: String,
    /// `default`, `custom` or `explanation`.
    pub origin: String,
    /// The Cedar text.
    pub text: String,
}

/// `GET /policies`.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicySet {
    /// The stored version in force (0: the defaults, never changed).
    pub version: i64,
    /// Ids of the default policies switched off.
    pub disabled: Vec<String>,
    pub items: Vec<Policy>,
}

/// One stored version of the policy set.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyVersion {
    pub version: i64,
    pub custom: String,
    pub custom_sha256: String,
    pub disabled: Vec<String>,
    pub author: String,
    pub created_at: String,
    pub comment: String,
}

/// A decision as the caller would meet it.
#[derive(Debug, Clone, Deserialize)]
pub struct Decision {
    /// `allow`, `deny` or `hide`.
    pub decision: String,
    pub reason: Option<String>,
    pub policies: Vec<String>,
}

/// One recorded request whose decision would change.
#[derive(Debug, Clone, Deserialize)]
pub struct DecisionChange {
    pub seq: i64,
    pub time: String,
    pub user: String,
    pub action: String,
    pub target: String,
    pub before: Decision,
    pub after: Decision,
}

/// `POST /policies/whatif`.
#[derive(Debug, Clone, Deserialize)]
pub struct WhatIfReport {
    pub from: String,
    pub replayed: u64,
    pub skipped: u64,
    pub changes: Vec<DecisionChange>,
}

#[derive(Deserialize)]
struct Items<T> {
    items: Vec<T>,
}

#[derive(Serialize)]
struct ApplyRequest<'a> {
    custom: &'a str,
    disabled: &'a [String],
    comment: &'a str,
    expected_version: i64,
}

#[derive(Serialize)]
struct WhatIfRequest<'a> {
    custom: &'a str,
    disabled: &'a [String],
    days: i64,
}

impl Client {
    /// The policy set in force.
    pub async fn policies(&self) -> Result<PolicySet, ClientError> {
        let response = self.send(self.request(Method::GET, "/policies")).await?;
        decode(response).await
    }

    /// The stored versions, newest first.
    pub async fn policy_versions(&self) -> Result<Vec<PolicyVersion>, ClientError> {
        let response = self
            .send(self.request(Method::GET, "/policies/versions"))
            .await?;
        let items: Items<PolicyVersion> = decode(response).await?;
        Ok(items.items)
    }

    /// Stored version `number`.
    pub async fn policy_version(&self, number: i64) -> Result<PolicyVersion, ClientError> {
        let route = format!("/policies/versions/{number}");
        let response = self.send(self.request(Method::GET, &route)).await?;
        decode(response).await
    }

    /// Applies `custom` with the default policies `disabled` switched off, as
    /// the version after `expected_version`.
    pub async fn apply_policies(
        &self,
        custom: &str,
        disabled: &[String],
        comment: &str,
        expected_version: i64,
    ) -> Result<PolicyVersion, ClientError> {
        let body = ApplyRequest {
            custom,
            disabled,
            comment,
            expected_version,
        };
        let response = self
            .send(self.request(Method::PUT, "/policies").json(&body))
            .await?;
        decode(response).await
    }

    /// The recorded decisions of the last `days` days that the proposed set would change.
    pub async fn policy_what_if(
        &self,
        custom: &str,
        disabled: &[String],
        days: i64,
    ) -> Result<WhatIfReport, ClientError> {
        let body = WhatIfRequest {
            custom,
            disabled,
            days,
        };
        let response = self
            .send(self.request(Method::POST, "/policies/whatif").json(&body))
            .await?;
        decode(response).await
    }
}
